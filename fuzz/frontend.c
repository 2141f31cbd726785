/* fuzz/frontend.c: the whole front end on one input, in memory.
 *
 *   bytes -> parse -> check (sema) -> graph -> derivatives -> formulas, emitted C and header
 *
 * with HESSGEN_FUZZ_EXACT=1 the exact classifier instead of the C: every `at ... expect` line
 * decided (hessgen --check). Nothing is written but diagnostics on stderr.
 *
 *   fuzz_frontend FILE            one input, in this process (AFL++: fuzz_frontend @@)
 *   fuzz_frontend FILE FILE...    a replay: each input in a child process with a time limit;
 *                                 exits 1 if any crashed or ran out of time
 *
 * An input may be refused (exit 1, a diagnostic); it may never crash, hang or abort.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exact.h"
#include "hessgen.h"
#include "replay.h"

enum { INPUT_LIMIT = 1 << 20 };

static int front_end(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 2;
    char *text = xmalloc(INPUT_LIMIT + 1);
    size_t len = fread(text, 1, INPUT_LIMIT, f);
    fclose(f);
    text[len] = 0;
    bool exact = getenv("HESSGEN_FUZZ_EXACT") != NULL;
    FILE *sink = fopen("/dev/null", "w");
    if (!sink)
        return 2;
    diag_set_source("fuzz.hl", text, len);
    Program prog = {0};
    parse_program(&prog, text, len);
    if (diag_error_count() == 0)
        ast_dump(sink, &prog);
    dag_init();
    Model model = {0};
    Deriv deriv = {0};
    sema_const_loops = !exact;
    if (diag_error_count() == 0 || prog.first)
        sema_run(&prog, &model, "fuzz", false);
    int rc = 1;
    if (diag_error_count() == 0 && model.loss && !exact) {
        /* the array loops of --loops=always: a second lowering, its derivatives and C */
        ArrayModel a;
        if (arrays_build(&prog, "fuzz", false, &a)) {
            adiff_dump(sink, &a.model, &a.grad, "grad");
            EmitOptions eo = {a.model.name, "fuzz.hl", true, CHECKED_OFF};
            Buf c = {0};
            emit_c_arrays(&c, &a, &eo);
            buf_free(&c);
            arrays_free(&a);
        }
    }
    if (diag_error_count() == 0 && model.loss) {
        diff_gradient(&model, &deriv);
        diff_hessian(&model, &deriv);
        if (exact) {
            if (!model.ndata) {
                fflush(stdout);
                int saved = dup(1);
                dup2(fileno(sink), 1); /* the verdicts' text is not the point */
                rc = exact_check(&model, &deriv, "fuzz.hl", 10, false);
                fflush(stdout);
                dup2(saved, 1);
                close(saved);
            }
        } else {
            diff_hvp(&model, &deriv);
            diff_row_range(&model, &deriv);
            sched_share(&model, &deriv);
            dag_freeze();
            dag_dump(sink, model.loss);
            print_formulas(sink, &model, &deriv);
            ModelSchedules sched;
            sched_model(&model, &deriv, &sched);
            sched_dump(sink, &sched, &deriv);
            EmitOptions eo = {model.name, "fuzz.hl", true, CHECKED_AUTO};
            Buf c = {0}, h = {0};
            emit_c(&c, &model, &deriv, &sched, &eo);
            emit_header(&h, &model, &deriv, &eo);
            sched_model_free(&sched);
            buf_free(&c);
            buf_free(&h);
            rc = 0;
        }
    }
    deriv_free(&deriv);
    model_free(&model);
    sched_release();
    dag_free();
    ast_free_numbers();
    arena_free(prog.arena);
    diag_release();
    fclose(sink);
    free(text);
    return rc;
}

/* As hessgen does: the phases recurse as deep as the input nests, on a large stack. */
typedef struct {
    const char *path;
    int rc;
} Job;

static void *job_thread(void *arg)
{
    Job *job = arg;
    job->rc = front_end(job->path);
    return NULL;
}

static int one(const char *path)
{
    Job job = {path, 2};
    pthread_attr_t attr;
    pthread_t thread;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, 1024u << 20) != 0 ||
        pthread_create(&thread, &attr, job_thread, &job) != 0)
        return front_end(path);
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    return job.rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_frontend FILE [FILE...]\n");
        return 2;
    }
    if (argc == 2) {
        /* A campaign's run: a tenth of the graph, a hundredth of the parameters and an eighth
         * of the classifier's series steps. The same limits met sooner, so that an input's
         * work stays within AFL's 2 s (a valid loss over 810000 parameters took 2.9 s); a
         * replay keeps hessgen's own limits, so the regression inputs of hundreds of thousands
         * of parameters still reach the code they broke, and tests/test_limits.py meets each
         * limit at full size. */
        dag_max_nodes = 2000000;
        sema_max_params = 100000;
        series_work_limit = 5000000;
        return one(argv[1]);
    }
    return replay(argc - 1, argv + 1, one);
}
