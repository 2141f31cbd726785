/* main.c: the command line, and the pipeline as a straight list of phases.
 *
 *   hessgen FILE.hl [-o OUT.c] [--header OUT.h] [--prefix NAME] [--print]
 *           [--dump=ast|dag|grad|hess|sched|arrays] [--version] [--help]
 *
 * read -> parse -> sema (lower to the graph) -> diff (gradient, Hessian, Hv, row ranges) ->
 * the graph frozen -> sched (straight-line schedules and row loops) -> emit.
 * On any error nothing is written: output goes to a temporary file beside the target,
 * renamed over it only when all of it is written, so an existing file is never clobbered.
 * Exit status: 0 done, 1 errors in the input (or an output that cannot be written),
 * 2 a bad command line.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exact.h"
#include "hessgen.h"

enum { MAX_SOURCE = 64 << 20 };

static const char usage[] =
    "usage: hessgen FILE.hl [-o OUT.c] [--header OUT.h] [--prefix NAME] [--print] [--main]\n"
    "               [--dump=ast|dag|grad|hess|sched|arrays] [--checked] [--loops=auto|always|never]\n"
    "               [--max-nodes N] [--version] [--help]\n"
    "       hessgen --check FILE.hl [--order K] [--json]\n"
    "       hessgen --classify FILE.hl --at x=0,y=1/3 [--order K] [--json]\n"
    "       hessgen --classify FILE.hl --near x=3.5844,y=-1.8481 [--json]\n"
    "       hessgen run FILE.hl [--loops=auto|always|never] [--np P] classify|newton|gd|scan|plot [ARGS...]\n";

static const char help[] =
    "hessgen compiles a loss written in the .hl language into C for its exact value,\n"
    "gradient and Hessian.\n\n"
    "  FILE.hl          the loss; - reads standard input\n"
    "  -o OUT.c         write the C there (default: standard output)\n"
    "  --header OUT.h   also write the declarations as a header\n"
    "  --prefix NAME    the prefix of every generated symbol (default: the model's name,\n"
    "                   or the file's name made a C identifier)\n"
    "  --print          show the gradient and Hessian as formulas\n"
    "  --main           add the analyzer's main() (classify, newton, gd, scan): build\n"
    "                   with cc OUT.c $(pkg-config --cflags --libs hessrt)\n"
    "  --dump=WHAT      print a phase's representation: ast, dag, grad, hess or sched; arrays: the\n"
    "                   loss with its sums kept as loops, its gradient and Hessian-vector product\n"
    "  --checked        generated code that traces a value that is not finite (NaN, inf) to\n"
    "                   the quantity and entry it reached and the .hl line:column of the\n"
    "                   expression that made it: M_fault_get, M_fault_text, M_fault_handler\n"
    "                   (--checked=auto, as hessgen run does: only where every value is\n"
    "                   tested anyway: below 100 parameters, over data, or array loops)\n"
    "  --loops=WHEN     always: sums over array indices stay loops in the C (its size grows\n"
    "                   with the source; the Hessian is dense, computed a column at a time);\n"
    "                   never: every sum over fixed bounds is unrolled; auto (the default):\n"
    "                   loops where a sum couples 45 or more parameters, half of them or more\n"
    "  --max-nodes N    stop with an error where the expression graph (the loss, its\n"
    "                   derivatives, the sums and functions expanded) grows past N nodes\n"
    "                   (default 20000000, some 2.5 GB; 100000 parameters of a banded\n"
    "                   loss take 7 million)\n"
    "  run FILE.hl ...  generate, compile (cached) and run the analyzer in one step;\n"
    "                   with --np P, over P MPI processes that each hold a block of the\n"
    "                   data's rows (mpirun on this machine; libhessrt-mpi)\n"
    "  --check          classify every `at ... expect` point of the file exactly and say\n"
    "                   whether it is what the line expects (exit 1 if any is not)\n"
    "  --classify       classify the point given by --at exactly, with the reasoning\n"
    "  --at POINT       x=0,y=1/3,w={1,2}: exact rationals for every parameter\n"
    "  --near POINT     x=3.5844,y=-1.8481 (decimals, or values in order): an approximate\n"
    "                   critical point; prove a box near it that holds exactly one critical\n"
    "                   point (interval arithmetic, Krawczyk's test) and classify that point\n"
    "                   from the Hessian over the box, or say undetermined and why\n"
    "  --order K        the highest Taylor order the degenerate cases are examined to\n"
    "                   (default 10; lower orders first, the first that decides wins)\n"
    "  --json           print the result of --check or --classify as one JSON object\n"
    "  --version        print the version\n"
    "  --help           print this help\n";

typedef struct {
    const char *input, *output, *header, *prefix, *dump, *at, *near;
    bool print, with_main, check, classify, json;
    int order, checked;
    int loops; /* LOOPS_* */
} Options;

/* --loops: whether sums over array indices stay loops in the generated C (array loops); auto:
 * where adiff.c's estimate says loops pay (a dense Hessian block of many parameters). */
enum { LOOPS_AUTO, LOOPS_ALWAYS, LOOPS_NEVER };

enum { DEFAULT_ORDER = 10, MAX_ORDER = 40 };

static bool is_identifier(const char *s)
{
    if (!*s || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return false;
    return true;
}

static int parse_args(int argc, char **argv, Options *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage, stdout);
            fputs(help, stdout);
            return -1;
        } else if (strcmp(a, "--version") == 0) {
            printf("hessgen %s\n", HESSGEN_VERSION);
            return -1;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--header") == 0 || strcmp(a, "--prefix") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hessgen: %s needs a value\n%s", a, usage);
                return 2;
            }
            const char **slot = a[1] == 'o' ? &o->output : a[2] == 'h' ? &o->header : &o->prefix;
            *slot = argv[++i];
        } else if (strcmp(a, "--check") == 0) {
            o->check = true;
        } else if (strcmp(a, "--classify") == 0) {
            o->classify = true;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "--checked") == 0 || strcmp(a, "--checked=auto") == 0) {
            o->checked = a[9] ? CHECKED_AUTO : CHECKED_ON;
        } else if (strcmp(a, "--max-nodes") == 0) {
            char *end;
            const char *v = i + 1 < argc ? argv[++i] : "";
            unsigned long long k = strtoull(v, &end, 10);
            if (*end || end == v || *v == '-' || k < 100 || k > 1000000000ull) {
                fprintf(stderr, "hessgen: --max-nodes takes a whole number from 100 to 1000000000, not '%s'\n", v);
                return 2;
            }
            dag_max_nodes = (uint32_t)k;
        } else if (strcmp(a, "--at") == 0 || strcmp(a, "--near") == 0 || strcmp(a, "--order") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "hessgen: %s needs a value\n%s", a, usage);
                return 2;
            }
            if (a[2] == 'a' || a[2] == 'n') {
                const char **slot = a[2] == 'a' ? &o->at : &o->near;
                if (*slot) {
                    fprintf(stderr, "hessgen: %s is given twice\n", a);
                    return 2;
                }
                *slot = argv[++i];
            } else {
                char *end;
                long k = strtol(argv[++i], &end, 10);
                if (*end || end == argv[i] || k < 3 || k > MAX_ORDER) {
                    fprintf(stderr, "hessgen: --order takes an integer from 3 to %d, not '%s'\n", MAX_ORDER, argv[i]);
                    return 2;
                }
                o->order = (int)k;
            }
        } else if (strncmp(a, "--loops=", 8) == 0) {
            const char *v = a + 8;
            o->loops = !strcmp(v, "auto")     ? LOOPS_AUTO
                       : !strcmp(v, "always") ? LOOPS_ALWAYS
                       : !strcmp(v, "never")  ? LOOPS_NEVER
                                              : -1;
            if (o->loops < 0) {
                fprintf(stderr, "hessgen: --loops takes auto, always or never, not '%s'\n", v);
                return 2;
            }
        } else if (strcmp(a, "--print") == 0) {
            o->print = true;
        } else if (strcmp(a, "--main") == 0) {
            o->with_main = true;
        } else if (strncmp(a, "--dump=", 7) == 0) {
            o->dump = a + 7;
            if (strcmp(o->dump, "ast") && strcmp(o->dump, "dag") && strcmp(o->dump, "grad") &&
                strcmp(o->dump, "hess") && strcmp(o->dump, "sched") && strcmp(o->dump, "arrays")) {
                fprintf(stderr, "hessgen: --dump takes ast, dag, grad, hess, sched or arrays, not '%s'\n", o->dump);
                return 2;
            }
        } else if (a[0] == '-' && a[1] != 0) {
            fprintf(stderr, "hessgen: unknown option '%s'\n%s", a, usage);
            return 2;
        } else if (o->input) {
            fprintf(stderr, "hessgen: more than one input file ('%s' and '%s')\n%s", o->input, a, usage);
            return 2;
        } else {
            o->input = a;
        }
    }
    if (!o->input) {
        fprintf(stderr, "hessgen: no input file\n%s", usage);
        return 2;
    }
    if (o->check && o->classify) {
        fprintf(stderr, "hessgen: --check and --classify are two different jobs; give one\n");
        return 2;
    }
    if (o->at && o->near) {
        fprintf(stderr, "hessgen: --at (an exact point) and --near (an approximate one) are two jobs; give one\n");
        return 2;
    }
    if (o->classify != (o->at || o->near)) {
        fprintf(stderr, "hessgen: %s\n",
                o->classify ? "--classify needs the point: --at x=0,y=1/3 (exact) or --near "
                              "x=3.5844,y=-1.8481 (approximate)"
                : o->at     ? "--at gives the point for --classify"
                            : "--near gives the point for --classify");
        return 2;
    }
    if (o->near && o->order) {
        fprintf(stderr, "hessgen: --order applies to --check and --classify --at; --near needs no Taylor order\n");
        return 2;
    }
    if ((o->json || o->order) && !o->check && !o->classify) {
        fprintf(stderr, "hessgen: %s applies to --check and --classify\n", o->json ? "--json" : "--order");
        return 2;
    }
    if ((o->check || o->classify) && (o->output || o->header || o->print || o->dump || o->with_main)) {
        fprintf(stderr, "hessgen: --check and --classify write no C; drop -o, --header, --print, --dump and --main\n");
        return 2;
    }
    if (!o->order)
        o->order = DEFAULT_ORDER;
    if (o->prefix && !is_identifier(o->prefix)) {
        fprintf(stderr, "hessgen: --prefix '%s' is not a C identifier\n", o->prefix);
        return 2;
    }
    if (o->prefix && strcmp(o->prefix, "hessgen") == 0) {
        fprintf(stderr, "hessgen: --prefix hessgen would name the descriptor hessgen_model, which would clash with "
                        "the type of that name\n");
        return 2;
    }
    return 0;
}

/* The whole input, or NULL after saying why. */
static char *read_source(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "hessgen: cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *text = xmalloc(cap);
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_SOURCE) {
                fprintf(stderr, "hessgen: '%s' is larger than %d MiB\n", path, MAX_SOURCE >> 20);
                free(text);
                if (f != stdin)
                    fclose(f);
                return NULL;
            }
            cap *= 2;
            text = xrealloc(text, cap);
        }
        size_t got = fread(text + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool failed = ferror(f);
    if (f != stdin)
        fclose(f);
    if (failed) {
        fprintf(stderr, "hessgen: cannot read '%s'\n", path);
        free(text);
        return NULL;
    }
    /* a UTF-8 byte-order mark, which some editors write first, is not part of the program (and
     * columns count from after it, as the editor shows them) */
    if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        memmove(text, text + 3, n - 3);
        n -= 3;
    }
    *len = n;
    return text;
}

/* The file's stem as a C identifier: "examples/weakest.hl" -> "weakest". */
static char *stem_identifier(const char *path)
{
    if (strcmp(path, "-") == 0)
        return strdup("model");
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        n = (size_t)(dot - base);
    char *s = xmalloc(n + 2);
    size_t k = 0;
    if (n == 0 || (base[0] >= '0' && base[0] <= '9'))
        s[k++] = '_';
    for (size_t i = 0; i < n; i++) {
        char c = base[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        s[k++] = ok ? c : '_';
    }
    s[k] = 0;
    return s;
}

static const char *base_name(const char *path)
{
    if (strcmp(path, "-") == 0)
        return "<stdin>";
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

/* Writes text to path through a temporary file and a rename, so that the path holds either
 * its old content or all of the new. "-" is standard output. */
static bool write_atomically(const char *path, const Buf *text)
{
    if (strcmp(path, "-") == 0) {
        fwrite(text->data, 1, text->len, stdout);
        return fflush(stdout) == 0;
    }
    if (write_file_atomically(path, text->data, text->len))
        return true;
    fprintf(stderr, "hessgen: cannot write '%s': %s\n", path, strerror(errno));
    return false;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (strcmp(a, "-") == 0 || strcmp(b, "-") == 0)
        return false;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The compiler's phases recurse over the syntax tree and the graph, as deep as the input
 * nests; they run on a thread with a large stack so that depth is bounded by the parser's
 * limit, never by the default 8 MiB. Untouched stack pages cost no memory. */
enum { COMPILER_STACK = 1024 << 20 };

typedef struct {
    int argc;
    char **argv;
    int rc;
} Job;

static int compile(int argc, char **argv);

/* A dense Hessian of many parameters is more memory than a caller may expect M_hess to fill:
 * say so where the loss is, with the sizes of the sparse form. */
enum { DENSE_WARNING_ENTRIES = 10000000 }; /* 80 MB of doubles */

static void warn_dense_hessian(const Model *m, const Deriv *d, const char *prefix)
{
    double entries = (double)m->nparam * m->nparam;
    if (entries < DENSE_WARNING_ENTRIES)
        return;
    double gb = entries * 8 / 1e9;
    diag_warning(dag_span(m->loss),
                 "%s_hess writes the dense Hessian: %u x %u = %.3g entries (%.3g %s of doubles); its %u nonzeros "
                 "(lower triangle) are %s_hess_sparse's, and %s_hvp multiplies by it without forming it",
                 prefix, m->nparam, m->nparam, entries, gb >= 1 ? gb : gb * 1000, gb >= 1 ? "GB" : "MB", d->nnz, prefix,
                 prefix);
}

static void *compile_thread(void *arg)
{
    Job *job = arg;
    job->rc = compile(job->argc, job->argv);
    return NULL;
}

int main(int argc, char **argv)
{
    Job job = {argc, argv, 1};
    pthread_attr_t attr;
    pthread_t thread;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, COMPILER_STACK) != 0 ||
        pthread_create(&thread, &attr, compile_thread, &job) != 0) {
        /* no thread to be had: compile on this one, with its smaller stack */
        return compile(argc, argv);
    }
    pthread_join(thread, NULL);
    pthread_attr_destroy(&attr);
    return job.rc;
}

/* --dump=arrays: the program lowered again with its sums kept as loops (array loops), then its
 * gradient and Hessian-vector product as scatters; or why its sums cannot stay loops. */
static void dump_arrays(const Program *prog, const char *stem, bool prefix_given)
{
    ArrayModel a;
    if (!arrays_build(prog, stem, prefix_given, &a)) {
        printf("no array loops: %s\n", a.why);
        return;
    }
    printf("# %u sums kept as loops\n", a.model.nvsums);
    printf("# --loops=auto: %u of %u parameters coupled by a sum that stayed a loop%s: %s\n", a.coupled, a.model.nparam,
           a.long_product ? ", a product of more than 8 factors" : "", a.loops_pay ? "loops" : "unrolled");
    printf("# M_hess_row_range: %s\n", a.split_vars ? "yes" : a.no_split);
    printf("# the Hessian's columns: %u block%s, %u of them a matrix\n", a.nblocks, a.nblocks == 1 ? "" : "s",
           a.nmatrices);
    adiff_dump(stdout, &a.model, &a.grad, "grad");
    printf("# Hessian times v\n");
    adiff_dump(stdout, &a.model, &a.hvp, "hvp");
    arrays_free(&a);
}

/* --loops=always (or auto, where the estimate says loops pay): the program lowered again with
 * its sums kept as loops, differentiated as scatters and emitted through aemit.c. -1 where its
 * sums cannot stay loops or do not pay (the caller goes on with the unrolled graph), else the
 * exit status. */
static int compile_arrays(const Program *prog, const char *stem, const Options *opt, const char *display)
{
    (void)display;
    ArrayModel a;
    if (!arrays_build(prog, stem, opt->prefix != NULL, &a))
        return -1;
    if (opt->loops == LOOPS_AUTO && !a.loops_pay) {
        arrays_free(&a);
        return -1;
    }
    const Model *am = &a.model;
    dag_freeze();
    EmitOptions eo = {opt->prefix ? opt->prefix : am->name, base_name(opt->input), opt->with_main, opt->checked};
    int rc = 0;
    Buf c_text = {0}, h_text = {0};
    bool want_c = opt->output || !opt->header;
    if (strcmp(eo.prefix, "hessgen") == 0) {
        fprintf(stderr, "hessgen: the prefix 'hessgen' (from the file's name) would clash with the type "
                        "hessgen_model; give another with --prefix or a 'model' statement\n");
        rc = 2;
    } else {
        if (!emit_c_arrays(&c_text, &a, &eo)) { /* (made even for a header alone: the two must agree) */
            /* no order of passes over rows computes it without a table over the rows: the
             * unrolled code, as where the sums cannot stay loops */
            buf_free(&c_text);
            arrays_free(&a);
            dag_unfreeze();
            return -1;
        }
        if (want_c && !write_atomically(opt->output ? opt->output : "-", &c_text))
            rc = 1;
        if (rc == 0 && opt->header) {
            emit_header_arrays(&h_text, &a, &eo);
            if (!write_atomically(opt->header, &h_text))
                rc = 1;
        }
    }
    buf_free(&c_text);
    buf_free(&h_text);
    arrays_free(&a);
    return rc;
}

static int compile(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "run") == 0)
        return run_command("/proc/self/exe", argc - 2, argv + 2);
    Options opt = {0};
    int rc = parse_args(argc, argv, &opt);
    if (rc)
        return rc < 0 ? 0 : rc;
    if ((opt.output && same_file(opt.input, opt.output)) || (opt.header && same_file(opt.input, opt.header))) {
        fprintf(stderr, "hessgen: the output would overwrite the input '%s'\n", opt.input);
        return 2;
    }
    size_t len;
    char *text = read_source(opt.input, &len);
    if (!text)
        return 1;

    const char *display = strcmp(opt.input, "-") == 0 ? "<stdin>" : opt.input;
    diag_set_source(display, text, len);

    Program prog = {0};
    parse_program(&prog, text, len);
    if (opt.dump && strcmp(opt.dump, "ast") == 0 && diag_error_count() == 0)
        ast_dump(stdout, &prog);

    dag_init();
    char *stem = stem_identifier(opt.input);
    Model model;
    /* the exact classifier needs every term; generated code loops over constant tables */
    sema_const_loops = !opt.check && !opt.classify;
    if (diag_error_count() == 0 || prog.first)
        sema_run(&prog, &model, stem, opt.prefix != NULL);
    else
        memset(&model, 0, sizeof model);
    Deriv deriv = {0};
    ModelSchedules sched = {0};
    Buf c_text = {0}, h_text = {0};
    rc = 1;
    if (diag_error_count() == 0 && !model.loss)
        fatal("internal error: the loss was not lowered, yet no error was reported");
    if (diag_error_count() == 0 && opt.dump && strcmp(opt.dump, "arrays") == 0) {
        dump_arrays(&prog, stem, opt.prefix != NULL);
        rc = 0;
        goto cleanup;
    }
    if (diag_error_count() == 0 && opt.loops != LOOPS_NEVER && !opt.check && !opt.classify && !opt.dump && !opt.print) {
        int arc = compile_arrays(&prog, stem, &opt, display);
        if (arc >= 0) {
            rc = arc;
            goto cleanup;
        }
    }
    if (diag_error_count() == 0) {
        diff_gradient(&model, &deriv);
        diff_hessian(&model, &deriv);
        if (!opt.check && !opt.classify)
            diff_hvp(&model, &deriv);

        if (opt.dump && strcmp(opt.dump, "dag") == 0) {
            dag_dump(stdout, model.loss);
            printf("loss = n%u\n", model.loss);
        } else if (opt.dump && strcmp(opt.dump, "grad") == 0) {
            dag_dump_nodes(stdout, deriv.grad, deriv.n);
            for (uint32_t i = 0; i < deriv.n; i++)
                printf("dL/d%s = n%u\n", model.param_names[i], deriv.grad[i]);
        } else if (opt.dump && strcmp(opt.dump, "hess") == 0) {
            dag_dump_nodes(stdout, deriv.hess, deriv.nnz);
            for (uint32_t t = 0; t < deriv.nnz; t++)
                printf("H[%u][%u] = n%u\n", deriv.rows[t], deriv.cols[t], deriv.hess[t]);
        }
        if (opt.print)
            print_formulas(stdout, &model, &deriv);
        /* the last nodes: M_hess_row_range's split and the products the schedules share (after
         * the dumps and formulas, which a limit met here then leaves whole) */
        if (!opt.check && !opt.classify) {
            diff_row_range(&model, &deriv);
            vanish_rewrite(&model, &deriv);
            sched_share(&model, &deriv);
        }
        dag_freeze(); /* the phases below only read the graph */
        bool want_c = opt.output || (!opt.print && !opt.dump);
        bool dump_sched = opt.dump && strcmp(opt.dump, "sched") == 0;
        if (!opt.check && !opt.classify && (want_c || dump_sched)) {
            sched_model(&model, &deriv, &sched);
            if (dump_sched)
                sched_dump(stdout, &sched, &deriv);
        }

        if ((opt.check || opt.classify) && model.ndata) {
            /* the rows are known only at run time: there is no exact point to decide */
            Buf names = {0};
            for (uint32_t a = 0; a < model.ndata; a++)
                buf_printf(&names, "%s%s", a ? ", " : "", model.data[a].name);
            fprintf(stderr,
                    "hessgen: %s reads data supplied at run time (%s): the exact classifier needs the whole "
                    "loss at compile time; put a fixed data set in 'const' arrays, or classify numerically with "
                    "the analyzer (hessgen run %s classify --data NAME=FILE ...)\n",
                    display, names.data, display);
            buf_free(&names);
            rc = 2;
            goto cleanup;
        }
        if (opt.check || opt.classify) {
            rc = opt.check  ? exact_check(&model, &deriv, display, opt.order, opt.json)
                 : opt.near ? exact_near(&model, &deriv, opt.near, opt.json)
                            : exact_classify(&model, &deriv, opt.at, opt.order, opt.json);
            goto cleanup;
        }
        EmitOptions eo = {opt.prefix ? opt.prefix : model.name, base_name(opt.input), opt.with_main, opt.checked};
        rc = 0;
        if ((want_c || opt.header) && strcmp(eo.prefix, "hessgen") == 0) {
            /* a file named hessgen.hl: its prefix would clash with the type hessgen_model */
            fprintf(stderr, "hessgen: the prefix 'hessgen' (from the file's name) would clash with the type "
                            "hessgen_model; give another with --prefix or a 'model' statement\n");
            rc = 2;
        } else if (want_c) {
            if (!opt.with_main) /* the analyzer asks for the dense Hessian knowingly */
                warn_dense_hessian(&model, &deriv, eo.prefix);
            emit_c(&c_text, &model, &deriv, &sched, &eo);
            if (!write_atomically(opt.output ? opt.output : "-", &c_text))
                rc = 1;
        }
        if (rc == 0 && opt.header) {
            emit_header(&h_text, &model, &deriv, &eo);
            if (!write_atomically(opt.header, &h_text))
                rc = 1;
        }
    }

cleanup:
    if (getenv("HESSGEN_STATS")) /* the graph's size, for choosing limits and for bench/ */
        fprintf(stderr, "hessgen: graph of %u nodes and %zu operands\n", dag_node_count(), dag_arg_count());
    buf_free(&c_text);
    buf_free(&h_text);
    sched_model_free(&sched);
    deriv_free(&deriv);
    model_free(&model);
    free(stem);
    sched_release();
    dag_free();
    ast_free_numbers();
    arena_free(prog.arena);
    diag_release();
    free(text);
    return rc;
}
