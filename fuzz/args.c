/* fuzz/args.c: the analyzer's command line on one input, over examples/weakest.hl. The input
 * is the arguments, one per line (at most 64). The harness keeps the campaign from touching
 * anything outside a scratch directory and from asking for long computations: arguments with
 * a '/' are dropped, and so are inputs that give --max-iter, --starts, --grid or --points a
 * value over 200. gnuplot is kept off the PATH, so a plot computes, writes its data and script
 * at most (--keep-script), and stops; the scratch directory is emptied after each input.
 *
 *   fuzz_args FILE            one input (AFL++: fuzz_args @@)
 *   fuzz_args FILE FILE...    a replay, each in a child process (replay.h)
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hessrt.h"
#include "replay.h"

extern const hessgen_model fzw_model;

enum { MAX_ARGS = 64 };

static void empty_directory(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
}

static bool costly(char **argv, int argc)
{
    static const char *const bounded[] = {"--max-iter", "--starts", "--grid", "--points"};
    for (int i = 0; i + 1 < argc; i++)
        for (size_t k = 0; k < sizeof bounded / sizeof bounded[0]; k++)
            if (strcmp(argv[i], bounded[k]) == 0 && strtod(argv[i + 1], NULL) > 200)
                return true;
    return false;
}

static int analyze(const char *path)
{
    FILE *in = fopen(path, "rb");
    if (!in)
        return 2;
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[len] = 0;
    char *argv[MAX_ARGS + 2];
    int argc = 0;
    argv[argc++] = "fuzz_args";
    for (char *save = NULL, *line = strtok_r(text, "\n", &save); line && argc <= MAX_ARGS;
         line = strtok_r(NULL, "\n", &save))
        if (!strchr(line, '/'))
            argv[argc++] = line;
    argv[argc] = NULL;
    if (costly(argv, argc))
        return 0;
    char dir[] = "/tmp/fuzz_args_XXXXXX";
    if (!mkdtemp(dir) || chdir(dir) != 0)
        return 2;
    setenv("PATH", dir, 1); /* no gnuplot */
    fflush(stdout);
    if (!freopen("/dev/null", "w", stdout))
        return 2;
    int rc = hessrt_main(&fzw_model, argc, argv);
    empty_directory(dir);
    if (chdir("/") == 0)
        rmdir(dir);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_args FILE [FILE...]\n");
        return 2;
    }
    return argc == 2 ? analyze(argv[1]) : replay(argc - 1, argv + 1, analyze);
}
