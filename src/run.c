/* run.c: `hessgen run FILE.hl SUBCOMMAND ...`, the analyzer in one step.
 *
 * Generates the model's C with --main (by running this same hessgen, so the diagnostics are
 * the compiler's own), compiles it with the system's cc against libhessrt, keeps the program
 * in a cache under a hash of the source, the hessgen version, the compile command and the
 * runtime's files (their sizes and times), and
 * runs it with the remaining arguments. A second run of the same source starts at once.
 * libhessrt is found by pkg-config where it is installed, else in the build tree hessgen was
 * built in. The cache is $HESSGEN_CACHE, else $XDG_CACHE_HOME/hessgen, else ~/.cache/hessgen.
 * Every file of an entry is written under a temporary name and renamed into place, and the
 * program's sum is checked before each run, so concurrent runs of one source each succeed and
 * leave one valid entry, and a damaged entry is built again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hessgen.h"

#ifndef HESSGEN_RUNTIME_INCLUDE
#define HESSGEN_RUNTIME_INCLUDE ""
#endif
#ifndef HESSGEN_RUNTIME_LIB
#define HESSGEN_RUNTIME_LIB ""
#endif
#ifndef HESSGEN_RUN_CFLAGS
#define HESSGEN_RUN_CFLAGS ""
#endif
#ifndef HESSGEN_RUNTIME_MPI_LIB
#define HESSGEN_RUNTIME_MPI_LIB "" /* built without MPI */
#endif

static int spawn(char *const argv[], Buf *out)
{
    return spawn_program(argv[0], argv, out, out != NULL);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 1099511628211ull;
    return h;
}

static char *cache_dir(void)
{
    const char *env = getenv("HESSGEN_CACHE"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    Buf b = {0};
    if (env && *env)
        buf_puts(&b, env);
    else if (xdg && *xdg)
        buf_printf(&b, "%s/hessgen", xdg);
    else
        buf_printf(&b, "%s/.cache/hessgen", home && *home ? home : "/tmp");
    /* mkdir -p */
    for (char *p = b.data + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(b.data, 0755);
            *p = '/';
        }
    }
    mkdir(b.data, 0755);
    return b.data;
}

/* The compiler and its flags for libhessrt (mpi: libhessrt-mpi), split into words:
 * pkg-config's with cc, else the build tree's (with mpicc for MPI). */
static int runtime_flags(char **words, int max, bool mpi)
{
    static Buf flags;
    flags.len = 0;
    char *pc[] = {"pkg-config", "--cflags", "--libs", mpi ? "hessrt-mpi" : "hessrt", NULL};
    int n = 0;
    if (spawn(pc, &flags) != 0 || flags.len == 0) {
        flags.len = 0;
        if (mpi)
            buf_printf(&flags, "mpicc %s -DHESSRT_MPI -I%s -I%s/mpi %s %s -llapacke -lm", HESSGEN_RUN_CFLAGS,
                       HESSGEN_RUNTIME_INCLUDE, HESSGEN_RUNTIME_INCLUDE, HESSGEN_RUNTIME_MPI_LIB, HESSGEN_RUNTIME_LIB);
        else
            buf_printf(&flags, "cc %s -I%s %s -llapacke -lm", HESSGEN_RUN_CFLAGS, HESSGEN_RUNTIME_INCLUDE,
                       HESSGEN_RUNTIME_LIB);
    } else {
        Buf cc = {0};
        buf_printf(&cc, "cc %s", flags.data);
        buf_free(&flags);
        flags = cc;
        Buf extra = {0};
        buf_printf(&extra, " %s", HESSGEN_RUN_CFLAGS);
        buf_put(&flags, extra.data, extra.len);
        buf_free(&extra);
    }
    for (char *save = NULL, *w = strtok_r(flags.data, " \t\n", &save); w && n < max; w = strtok_r(NULL, " \t\n", &save))
        words[n++] = w;
    return n;
}

/* A file's size and modification time into the hash: a rebuilt libhessrt or header is a new
 * analyzer, not a stale cached one. */
static uint64_t hash_file_stamp(uint64_t h, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return h;
    long long stamp[3] = {(long long)st.st_size, (long long)st.st_mtim.tv_sec, (long long)st.st_mtim.tv_nsec};
    return fnv(fnv(h, path, strlen(path)), stamp, sizeof stamp);
}

/* The library and header that the flags name (a library file, or -L and -I directories). */
static uint64_t hash_runtime(uint64_t h, char *const *words, int n)
{
    static const char *const in_dir[] = {"libhessrt.a",     "libhessrt.so",     "hessrt.h",
                                         "libhessrt-mpi.a", "libhessrt-mpi.so", "hessrt_mpi.h"};
    for (int i = 0; i < n; i++) {
        const char *w = words[i];
        h = hash_file_stamp(h, w);
        if (w[0] == '-' && (w[1] == 'L' || w[1] == 'I'))
            for (size_t k = 0; k < sizeof in_dir / sizeof in_dir[0]; k++) {
                Buf path = {0};
                buf_printf(&path, "%s/%s", w + 2, in_dir[k]);
                h = hash_file_stamp(h, path.data);
                buf_free(&path);
            }
    }
    return h;
}

/* A file's size and content hash as text, "" if it cannot be read. */
static void file_sum(const char *path, char *out, size_t cap)
{
    *out = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    uint64_t h = 1469598103934665603ull;
    unsigned long long size = 0;
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        h = fnv(h, chunk, got);
        size += got;
    }
    if (!ferror(f))
        snprintf(out, cap, "%llu %016llx\n", size, (unsigned long long)h);
    fclose(f);
}

/* A cache entry is the program and, beside it, its sum (written after it): an entry whose
 * program does not match its sum (cut short, damaged, or still being written by another run)
 * is built again. Nothing is deleted, so a run that is using the entry is never disturbed. */
static bool cache_entry_valid(const char *exe, const char *sum)
{
    if (access(exe, X_OK) != 0)
        return false;
    char want[64] = "", have[64];
    FILE *f = fopen(sum, "rb");
    if (!f)
        return false;
    size_t got = fread(want, 1, sizeof want - 1, f);
    fclose(f);
    want[got] = 0;
    file_sum(exe, have, sizeof have);
    return *have && strcmp(want, have) == 0;
}

/* The sum of a new entry, written atomically. */
static void write_sum(const char *exe, const char *sum)
{
    char text[64];
    file_sum(exe, text, sizeof text);
    (void)write_file_atomically(sum, text, strlen(text)); /* no sum: the entry is built again */
}

/* The string value of the first "key": "..." in JSON that hessgen wrote (escapes undone). */
static void json_field(const char *json, const char *key, Buf *out)
{
    Buf pattern = {0};
    buf_printf(&pattern, "\"%s\": \"", key);
    const char *p = strstr(json, pattern.data);
    buf_free(&pattern);
    out->len = 0;
    buf_puts(out, "");
    if (!p)
        return;
    for (p = strstr(p, ": \"") + 3; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1])
            p++;
        buf_put(out, p, 1);
    }
}

/* `scan ... --certify`: the scan (its output as usual), then each entry it lists proved by
 * `hessgen --classify FILE.hl --near POINT` (certify.c). With --json, one object:
 * {"scan": the scan's object, "certified": [each --near object]}. */
static int scan_certified(const char *self, const char *src, const char *exe, char *name, int argc, char **argv,
                          int skip)
{
    bool json = false;
    for (int i = 1; i < argc; i++)
        json = json || (i != skip && strcmp(argv[i], "--json") == 0);
    const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    Buf path = {0};
    buf_printf(&path, "%s/hessgen-scan-XXXXXX", tmpdir);
    int fd = mkstemp(path.data);
    if (fd < 0) {
        fprintf(stderr, "hessgen: --certify: cannot create a file in %s: %s\n", tmpdir, strerror(errno));
        buf_free(&path);
        return 1;
    }
    close(fd);
    char **args = xcalloc((size_t)argc + 3, sizeof(char *));
    int k = 0;
    args[k++] = name;
    for (int i = 1; i < argc; i++)
        if (i != skip)
            args[k++] = argv[i];
    args[k++] = "--points";
    args[k++] = path.data;
    Buf scan = {0}, near = {0}, field = {0}, all = {0};
    fflush(stdout);
    int rc = spawn_program(exe, args, json ? &scan : NULL, false);
    free(args);
    FILE *f = rc == 0 ? fopen(path.data, "r") : NULL;
    if (rc != 0) {
        fwrite(scan.data ? scan.data : "", 1, scan.len, stdout);
        rc = rc < 0 ? 1 : rc;
    } else if (!f) {
        fprintf(stderr, "hessgen: --certify: cannot read the scan's points: %s\n", strerror(errno));
        rc = 1;
    } else {
        char *line = NULL;
        size_t cap = 0;
        int entry = 0;
        if (!json)
            printf("certified by interval arithmetic (hessgen --classify %s --near POINT shows the box and the "
                   "reasoning):\n",
                   src);
        for (ssize_t len; rc == 0 && (len = getline(&line, &cap, f)) > 0;) {
            line[strcspn(line, "\n")] = 0;
            char *cmd[] = {(char *)self, "--classify", (char *)src, "--near", line, "--json", NULL};
            near.len = 0;
            entry++;
            if (spawn_program(self, cmd, &near, false) != 0 || near.len == 0) {
                fprintf(stderr, "hessgen: --certify: entry %d (%s) could not be certified\n", entry, line);
                rc = 1;
                break;
            }
            near.data[--near.len] = 0; /* the newline */
            if (json) {
                buf_puts(&all, entry > 1 ? ", " : "");
                buf_put(&all, near.data, near.len);
            } else {
                json_field(near.data, "verdict", &field);
                printf("  %-3d %-13s", entry, field.data);
                json_field(near.data, "reason", &field);
                printf("%s\n", field.data);
            }
        }
        if (!json && entry == 0 && rc == 0)
            printf("  (no entries)\n");
        free(line);
        fclose(f);
        if (json && rc == 0) {
            while (scan.len && (scan.data[scan.len - 1] == '\n'))
                scan.data[--scan.len] = 0;
            printf("{\"scan\": %s, \"certified\": [%s]}\n", scan.data, all.data ? all.data : "");
        }
    }
    unlink(path.data);
    buf_free(&path);
    buf_free(&scan);
    buf_free(&near);
    buf_free(&field);
    buf_free(&all);
    return rc;
}

/* Whether pkg-config knows a package. */
static bool pkg_config_has(const char *package)
{
    char *pc[] = {"pkg-config", "--exists", (char *)package, NULL};
    return spawn(pc, NULL) == 0;
}

/* mpirun -n ranks EXE ARGS (args[0] is the analyzer's name, which it takes from
 * HESSRT_PROGRAM_NAME: mpirun gives it the cached program's path). --oversubscribe: more ranks
 * than cores is a test, not an error; as root, Open MPI wants --allow-run-as-root. */
static int exec_mpirun(const char *exe, const char *name, long ranks, int argc, char **args)
{
    char np[32];
    snprintf(np, sizeof np, "%ld", ranks);
    char **argv = xcalloc((size_t)argc + 8, sizeof(char *));
    int k = 0;
    argv[k++] = "mpirun";
    argv[k++] = "-n";
    argv[k++] = np;
    argv[k++] = "--oversubscribe";
    argv[k++] = "-q"; /* no banner of mpirun's own on a status that is not 0 */
    if (geteuid() == 0)
        argv[k++] = "--allow-run-as-root";
    argv[k++] = (char *)exe;
    for (int i = 1; i < argc; i++)
        argv[k++] = args[i];
    argv[k] = NULL;
    setenv("HESSRT_PROGRAM_NAME", name, 1);
    setenv("OMPI_MCA_pml", "ob1", 0); /* one machine: shared memory, and no probing for UCX in MPI_Init */
    execvp("mpirun", argv);
    fprintf(stderr, "hessgen: cannot run mpirun: %s (Open MPI: openmpi-bin)\n", strerror(errno));
    free(argv);
    return 1;
}

int run_command(const char *self, int argc, char **argv)
{
    if (argc < 1) {
        fprintf(stderr,
                "hessgen: usage: hessgen run FILE.hl [--loops=auto|always|never] [--np P] SUBCOMMAND [ARGS...]\n");
        return 2;
    }
    const char *src = argv[0];
    /* right after the file, in either order: --loops=MODE goes to the generator (array loops: a
     * model with thousands of parameters compiles in a second); --np P runs the analyzer over
     * MPI, its data's rows split across P ranks on this machine */
    char *loops = "--loops=auto";
    long ranks = 0;
    for (;;) {
        if (argc >= 2 && strncmp(argv[1], "--loops=", 8) == 0) {
            const char *v = argv[1] + 8;
            if (strcmp(v, "auto") && strcmp(v, "always") && strcmp(v, "never")) {
                fprintf(stderr, "hessgen: --loops takes auto, always or never, not '%s'\n", v);
                return 2;
            }
            loops = argv[1];
            argv[1] = argv[0]; /* the file stays the analyzer's name; the rest is its arguments */
            argv++;
            argc--;
        } else if (argc >= 2 && strcmp(argv[1], "--np") == 0) {
            char *end = NULL;
            ranks = argc >= 3 ? strtol(argv[2], &end, 10) : 0;
            if (argc < 3 || *argv[2] == 0 || *end || ranks < 1 || ranks > 4096) {
                fprintf(stderr, "hessgen: --np takes a number of processes from 1 to 4096, not '%s'\n",
                        argc >= 3 ? argv[2] : "");
                return 2;
            }
            if (!*HESSGEN_RUNTIME_MPI_LIB && !pkg_config_has("hessrt-mpi")) {
                fprintf(stderr, "hessgen: --np needs libhessrt-mpi, which this hessgen was built without (Open "
                                "MPI: libopenmpi-dev)\n");
                return 2;
            }
            argv[2] = argv[0];
            argv += 2;
            argc -= 2;
        } else {
            break;
        }
    }
    for (int i = 2; ranks > 0 && i < argc && argc > 1 && strcmp(argv[1], "scan") == 0; i++)
        if (strcmp(argv[i], "--certify") == 0) {
            fprintf(stderr, "hessgen: scan --certify runs on one process; leave out --np\n");
            return 2;
        }
    FILE *f = fopen(src, "rb");
    if (!f) {
        fprintf(stderr, "hessgen: cannot open '%s': %s\n", src, strerror(errno));
        return 1;
    }
    uint64_t h = fnv(1469598103934665603ull, HESSGEN_VERSION, sizeof HESSGEN_VERSION);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        h = fnv(h, chunk, got);
    fclose(f);
    char *words[64];
    int nflags = runtime_flags(words, 60, ranks > 0);
    for (int i = 0; i < nflags; i++)
        h = fnv(h, words[i], strlen(words[i]) + 1);
    h = fnv(h, loops, strlen(loops) + 1);
    h = hash_runtime(h, words, nflags);

    char *dir = cache_dir();
    Buf exe = {0}, csrc = {0}, tmp = {0}, sum = {0};
    buf_printf(&exe, "%s/%016llx", dir, (unsigned long long)h);
    buf_printf(&csrc, "%s.c", exe.data);
    buf_printf(&sum, "%s.sum", exe.data);
    buf_printf(&tmp, "%s.tmp%ld", exe.data, (long)getpid());
    int rc = 0;
    if (!cache_entry_valid(exe.data, sum.data)) {
        /* checked code: a NaN in the analyzer's output is traced to its source */
        char *gen[] = {(char *)self, (char *)src, "--main", "--checked=auto", loops, "-o", csrc.data, NULL};
        rc = spawn(gen, NULL);
        if (rc == 0) {
            char *cc[80];
            int k = 0;
            cc[k++] = words[0]; /* cc, or mpicc */
            cc[k++] = "-O1";
            cc[k++] = csrc.data;
            for (int i = 1; i < nflags; i++)
                cc[k++] = words[i];
            cc[k++] = "-o";
            cc[k++] = tmp.data;
            cc[k] = NULL;
            if (spawn(cc, NULL) != 0 || rename(tmp.data, exe.data) != 0) {
                fprintf(stderr, "hessgen: cannot compile the analyzer for '%s' (cc and libhessrt are needed)\n", src);
                unlink(tmp.data);
                rc = 1;
            } else {
                write_sum(exe.data, sum.data);
            }
        } else if (rc < 0) {
            rc = 1;
        }
    }
    if (rc == 0) {
        char **args = xcalloc((size_t)argc + 1, sizeof(char *));
        /* the analyzer names itself by argv[0] in its messages: the source, not the cache path */
        Buf name = {0};
        buf_printf(&name, "hessgen run %s", argv[0]);
        args[0] = name.data;
        int certify = 0; /* scan --certify: this process runs the scan, then proves its entries */
        for (int i = 2; i < argc && argc > 1 && strcmp(argv[1], "scan") == 0; i++)
            if (strcmp(argv[i], "--certify") == 0)
                certify = i;
        if (certify) {
            rc = scan_certified(self, src, exe.data, name.data, argc, argv, certify);
            free(args);
            buf_free(&name);
            goto done;
        }
        for (int i = 1; i < argc; i++)
            args[i] = argv[i];
        fflush(stdout);
        if (ranks > 0) {
            rc = exec_mpirun(exe.data, name.data, ranks, argc, args);
            free(args);
            buf_free(&name);
            goto done;
        }
        execv(exe.data, args);
        fprintf(stderr, "hessgen: cannot run '%s': %s\n", exe.data, strerror(errno));
        free(args);
        rc = 1;
    }
done:
    free(dir);
    buf_free(&exe);
    buf_free(&csrc);
    buf_free(&tmp);
    buf_free(&sum);
    return rc;
}
