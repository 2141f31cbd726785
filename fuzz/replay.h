/* replay.h: runs a harness on each of many inputs, each in a child process with a time limit
 * (HESSGEN_FUZZ_SECONDS, default 60), and reports every input that crashed or timed out. */
#ifndef HESSGEN_FUZZ_REPLAY_H
#define HESSGEN_FUZZ_REPLAY_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* Under the sanitizers a finding must be a signal, which replay() counts, not an exit status
 * of 1, which it would take for a refused input. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__asan_default_options(void)
{
    return "abort_on_error=1";
}
const char *__ubsan_default_options(void)
{
    return "abort_on_error=1:halt_on_error=1:print_stacktrace=1";
}

static int replay(int n, char **paths, int (*run)(const char *path))
{
    const char *env = getenv("HESSGEN_FUZZ_SECONDS");
    unsigned seconds = env ? (unsigned)atoi(env) : 60;
    int bad = 0, refused = 0;
    for (int i = 0; i < n; i++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(seconds);
            if (!freopen("/dev/null", "w", stderr)) /* the inputs' diagnostics: not the point here */
                _exit(2);
            _exit(run(paths[i]));
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0) {
            fprintf(stderr, "replay: cannot run %s\n", paths[i]);
            bad++;
        } else if (WIFSIGNALED(status)) {
            int sig = WTERMSIG(status);
            fprintf(stderr, "replay: %s: %s (signal %d)\n", paths[i], sig == SIGALRM ? "out of time" : "crashed", sig);
            bad++;
        } else if (WEXITSTATUS(status) > 1) {
            fprintf(stderr, "replay: %s: exit status %d\n", paths[i], WEXITSTATUS(status));
            bad++;
        } else {
            refused += WEXITSTATUS(status) == 1;
        }
    }
    printf("replay: %d inputs, %d accepted, %d refused with a diagnostic, %d crashed or out of time\n", n,
           n - refused - bad, refused, bad);
    return bad ? 1 : 0;
}

#endif
