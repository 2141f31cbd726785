/* analyzer.c: the command line over a model that `hessgen --main` puts into a program.
 *
 *   PROGRAM classify [POINT] [--json]
 *   PROGRAM newton --method M [--from POINT] [--max-iter N] [--trace FILE.csv] [--json]
 *   PROGRAM gd [--from POINT] [--step S] [--max-iter N] [--trace FILE.csv] [--json]
 *   PROGRAM scan --box LO:HI [--starts K] [--seed S] [--method M] [--points FILE] [--json]
 *   PROGRAM plot surface|paths|convergence|slice -o FILE.png|FILE.svg ...   (plot.c)
 *
 * A model over data takes `--data NAME=FILE` for each of its data arrays, with any subcommand
 * (CSV, or raw little-endian float64 for a FILE ending in .f64).
 * A POINT is `w1=0,w2=0` (every parameter by name) or `0,0` (values in parameter order); the
 * default is the model's start values. --json prints one JSON object with the keys of
 * DESIGN.md and nothing else. Bad arguments get a message and exit status 2.
 */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "usage: %s classify [POINT] [--gtol G] [--json]\n"
    "       %s newton [--method trust-region|damped|saddle-free|pure] [--from POINT] [STOP] [--trace FILE.csv]\n"
    "              [--json]\n"
    "       %s gd [--from POINT] [--step S] [STOP] [--trace FILE.csv] [--json]\n"
    "       %s scan --box LO:HI [--starts K] [--seed S] [--method M] [--points FILE] [--json]\n"
    "       %s plot surface|paths|convergence|slice -o FILE.png|FILE.svg ...   (%s plot --help)\n"
    "POINT: w1=0,w2=0 (every parameter by name; an array as W={{1,2},{3,4}}, or W=0 for all of it) or 0,0\n"
    "       (values in parameter order, braces allowed)\n"
    "STOP: --max-iter N, --gtol G (the gradient is zero when the Newton step it implies is <= G (1 + |theta|);\n"
    "      default 1e-10, gd 1e-8), --xtol X (a step <= X (1 + |theta|) vanished; 1e-15), --ftol F (the loss\n"
    "      stopped changing: |dL| <= F |L| for 10 steps; 1e-15). Exit 0 only when converged.\n"
    "A model over data needs --data NAME=FILE for each data array (CSV, or raw float64 as .f64).\n"
    "scan --points FILE writes each entry's point, one line of values in parameter order; `hessgen run FILE.hl\n"
    "scan ... --certify` uses it to prove each entry (hessgen --classify FILE.hl --near POINT).\n";

typedef struct {
    const hessgen_model *m;
    const char *prog;
    const void *data; /* the model's data struct, from --data; NULL for a model without data */
    FILE *out, *err;  /* what the command prints, and its diagnostics (stdout and stderr, or memory) */
    bool usage;       /* a bad argument also prints the usage (the command line, not hessrt_run) */
} Ctx;

static int bad(const Ctx *c, const char *fmt, const char *arg)
{
    fprintf(c->err, "%s: ", c->prog);
    fprintf(c->err, fmt, arg);
    fprintf(c->err, "\n");
    if (c->usage)
        fprintf(c->err, usage, c->prog, c->prog, c->prog, c->prog, c->prog, c->prog);
    return 2;
}

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

/* A JSON string's body: quotes and backslashes escaped, control characters as spaces (a
 * --checked fault names the .hl file and quotes its source). */
static void json_text(FILE *f, const char *s)
{
    for (; *s; s++)
        fprintf(f, *s == '"' || *s == '\\' ? "\\%c" : (unsigned char)*s < 0x20 ? " " : "%c", *s);
}

static void json_array(FILE *f, const double *v, size_t n)
{
    fputc('[', f);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        json_number(f, v[i]);
    }
    fputc(']', f);
}

static void json_point(FILE *f, const hessgen_model *m, const double *theta)
{
    fputs("\"params\": [", f);
    for (int i = 0; i < m->nparam; i++) {
        char *name = cli_param_name(m, i);
        fprintf(f, "%s\"%s\"", i ? ", " : "", name ? name : "?");
        free(name);
    }
    fputs("], \"theta\": ", f);
    json_array(f, theta, m->nparam);
}

static void text_vector(FILE *f, const double *v, int n)
{
    fputc('(', f);
    for (int i = 0; i < n; i++)
        fprintf(f, "%s%.6g", i ? ", " : "", v[i] + 0.0);
    fputc(')', f);
}

static void print_report_text(FILE *out, const hessgen_model *m, const double *theta, const hessrt_report *r,
                              double gtol)
{
    int n = m->nparam;
    fprintf(out, "point        ");
    cli_text_point(out, m, theta);
    fprintf(out, "\nloss         %.10g\ngradient     ", r->loss);
    text_vector(out, r->gradient, n);
    fprintf(out, ", norm %.3g: %s\n", r->gradient_norm, r->critical ? "a critical point" : "not a critical point");
    double tn = 0;
    for (int i = 0; i < n; i++)
        tn += theta[i] * theta[i];
    fprintf(out, "             (the Newton step it implies, %.3g, is %s gtol (1 + |theta|) = %.3g)\n", r->implied_step,
            r->critical ? "within" : "beyond", gtol * (1 + sqrt(tn)));
    if (n <= 6) {
        fprintf(out, "Hessian      [");
        for (int i = 0; i < n; i++) {
            fprintf(out, "%s[", i ? ", " : "");
            for (int j = 0; j < n; j++)
                fprintf(out, "%s%.6g", j ? ", " : "", r->hessian[(size_t)i * n + j] + 0.0);
            fprintf(out, "]");
        }
        fprintf(out, "]\n");
    }
    fprintf(out, "eigenvalues  ");
    for (int i = 0; i < n && i < 12; i++)
        fprintf(out, "%s%.6g", i ? ", " : "", r->eigenvalues[i] + 0.0);
    if (n > 12)
        fprintf(out, ", ... %.6g", r->eigenvalues[n - 1]);
    fprintf(out, "   (%d negative, %d zero, %d positive; minimum ratio %.3g, the share of positive eigenvalues)\n",
            r->negative, r->zero, r->positive, r->min_ratio);
    fprintf(out, "verdict      ");
    switch (r->verdict) {
    case HESSRT_DEGENERATE:
        fprintf(out, "degenerate: the second-order test cannot decide (try hessgen --classify)\n");
        break;
    case HESSRT_NOT_CRITICAL:
        fprintf(out, "not critical: the gradient is not zero here\n");
        break;
    default:
        fprintf(out, "%s\n",
                r->verdict == HESSRT_MIN   ? "local minimum"
                : r->verdict == HESSRT_MAX ? "local maximum"
                                           : "saddle");
    }
    if (r->escape) {
        fprintf(out, "escape       along ");
        text_vector(out, r->escape, n);
        fprintf(out, " the loss falls as %.6g - %.6g t^2 to second order\n", r->loss, r->predicted_decrease);
    }
}

static void print_report_json(FILE *out, const hessgen_model *m, const double *theta, const hessrt_report *r)
{
    fprintf(out, "{");
    json_point(out, m, theta);
    fprintf(out, ", \"loss\": ");
    json_number(out, r->loss);
    fprintf(out, ", \"gradient\": ");
    json_array(out, r->gradient, m->nparam);
    fprintf(out, ", \"gradient_norm\": ");
    json_number(out, r->gradient_norm);
    fprintf(out, ", \"implied_step\": ");
    json_number(out, r->implied_step);
    fprintf(out, ", \"hessian\": ");
    json_array(out, r->hessian, (size_t)m->nparam * (size_t)m->nparam); /* N^2 overflows an int from N = 46341 */
    fprintf(out, ", \"critical\": %s, \"eigenvalues\": ", r->critical ? "true" : "false");
    json_array(out, r->eigenvalues, m->nparam);
    fprintf(out, ", \"inertia\": {\"negative\": %d, \"zero\": %d, \"positive\": %d}", r->negative, r->zero,
            r->positive);
    fprintf(out, ", \"verdict\": \"%s\", \"min_ratio\": ", hessrt_verdict_name(r->verdict));
    json_number(out, r->min_ratio);
    if (r->escape) {
        fprintf(out, ", \"escape_direction\": ");
        json_array(out, r->escape, m->nparam);
        fprintf(out, ", \"predicted_decrease\": ");
        json_number(out, r->predicted_decrease);
    }
    fprintf(out, "}\n");
}

static int cmd_classify(const Ctx *c, int argc, char **argv)
{
    const hessgen_model *m = c->m;
    FILE *out = c->out;
    bool json = false;
    const char *point = NULL;
    hessrt_options o = hessrt_default_options();
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--gtol") == 0 && i + 1 < argc) {
            if (!cli_parse_double(argv[++i], &o.grad_tol) || o.grad_tol < 0)
                return bad(c, "--gtol takes a non-negative number, not '%s'", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1] == '-')
            return bad(c, "classify: unknown option '%s'", argv[i]);
        else if (point)
            return bad(c, "classify: one point only, not also '%s'", argv[i]);
        else
            point = argv[i];
    }
    double *theta = malloc(sizeof(double) * (size_t)m->nparam);
    m->start(theta);
    char msg[256];
    if (point && !cli_parse_point(m, point, false, theta, msg, sizeof msg)) {
        free(theta);
        return bad(c, "classify: %s", msg);
    }
    hessrt_report r;
    int rc = hessrt_classify(m, c->data, theta, &o, &r);
    if (rc == 0) {
        if (json)
            print_report_json(c->out, m, theta, &r);
        else
            print_report_text(c->out, m, theta, &r, o.grad_tol);
    } else if (rc == HESSRT_NOT_FINITE) {
        if (json) {
            fprintf(out, "{");
            json_point(out, m, theta);
            fprintf(out, ", \"loss\": ");
            json_number(out, r.loss);
            fprintf(out, ", \"verdict\": null, \"fault\": \"");
            json_text(out, r.fault);
            fprintf(out, "\"}\n");
        } else {
            fprintf(out, "point        ");
            cli_text_point(out, m, theta);
            fprintf(out, "\nnot finite   %s\n", r.fault);
        }
    } else {
        fprintf(c->err, "%s: the eigen-solver failed (LAPACK info %d)\n", c->prog, rc);
    }
    hessrt_report_free(&r);
    free(theta);
    return rc == 0 ? 0 : 1;
}

/* The trace as CSV, written to a temporary file beside path and renamed into place: a run that
 * fails or is interrupted leaves no half-written trace, and an old one stays as it was. */
static bool write_trace(const hessrt_newton_result *r, const char *path)
{
    char *tmp;
    int fd = cli_temporary(path, &tmp);
    if (fd < 0)
        return false;
    FILE *f = fdopen(fd, "w");
    bool ok = f != NULL;
    if (ok) {
        fprintf(f, "iteration,loss,gradient_norm,step,min_eigenvalue\n");
        for (int i = 0; i < r->ntrace; i++)
            fprintf(f, "%d,%.17g,%.17g,%.17g,%.17g\n", r->trace[i].iteration, r->trace[i].loss,
                    r->trace[i].gradient_norm, r->trace[i].step, r->trace[i].min_eigenvalue);
        ok = !ferror(f);
        ok = fclose(f) == 0 && ok;
    } else {
        close(fd);
    }
    int saved = errno;
    if (ok && rename(tmp, path) != 0)
        ok = false, saved = errno;
    if (!ok)
        unlink(tmp);
    free(tmp);
    errno = saved;
    return ok;
}

static int cmd_iterate(const Ctx *c, int argc, char **argv, bool gd)
{
    const hessgen_model *m = c->m;
    FILE *out = c->out;
    int n = m->nparam;
    hessrt_method method = gd ? HESSRT_GD : HESSRT_TRUST_REGION;
    bool json = false;
    const char *from = NULL, *trace = NULL;
    double step = -1, max_iter = -1, tols[3] = {-1, -1, -1};
    static const char *const tol_names[3] = {"--gtol", "--xtol", "--ftol"};
    const char *name = gd ? "gd" : "newton";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--method") == 0 && !gd && has_value) {
            if (hessrt_method_parse(argv[++i], &method) != 0 || method == HESSRT_GD)
                return bad(c, "newton: unknown method '%s' (pure, damped, saddle-free, trust-region)", argv[i]);
        } else if (strcmp(a, "--from") == 0 && has_value) {
            from = argv[++i];
        } else if (strcmp(a, "--trace") == 0 && has_value) {
            trace = argv[++i];
        } else if (strcmp(a, "--step") == 0 && gd && has_value) {
            if (!cli_parse_double(argv[++i], &step) || step < 0)
                return bad(c, "gd: --step takes a non-negative number, not '%s'", argv[i]);
        } else if (strcmp(a, "--max-iter") == 0 && has_value) {
            if (!cli_parse_double(argv[++i], &max_iter) || max_iter < 0 || max_iter > 1e7 ||
                max_iter != floor(max_iter))
                return bad(c, "--max-iter takes a whole number up to 10000000, not '%s'", argv[i]);
        } else if ((strcmp(a, "--gtol") == 0 || strcmp(a, "--xtol") == 0 || strcmp(a, "--ftol") == 0) && has_value) {
            int t = a[2] == 'g' ? 0 : a[2] == 'x' ? 1 : 2;
            if (!cli_parse_double(argv[++i], &tols[t]) || tols[t] < 0) {
                char msg[96];
                snprintf(msg, sizeof msg, "%s takes a non-negative number, not '%%s'", tol_names[t]);
                return bad(c, msg, argv[i]);
            }
        } else {
            char msg[128];
            snprintf(msg, sizeof msg, "%s: unknown or incomplete argument '%%s'", name);
            return bad(c, msg, a);
        }
    }
    double *theta = malloc(sizeof(double) * (size_t)n);
    m->start(theta);
    char msg[256];
    if (from && !cli_parse_point(m, from, false, theta, msg, sizeof msg)) {
        free(theta);
        return bad(c, "--from: %s", msg);
    }
    hessrt_newton_options o = hessrt_default_newton_options(method);
    if (step >= 0)
        o.gd_step = step;
    if (max_iter >= 0)
        o.max_iterations = (int)max_iter;
    if (tols[0] >= 0)
        o.grad_tol = tols[0];
    if (tols[1] >= 0)
        o.step_tol = tols[1];
    if (tols[2] >= 0)
        o.loss_tol = tols[2];
    hessrt_newton_result r;
    if (hessrt_newton(m, c->data, theta, &o, &r) != 0) {
        free(theta);
        return bad(c, "%s: invalid options", name);
    }
    hessrt_report rep = {0};
    hessrt_options co = hessrt_default_options(); /* the verdict by the run's own zero-gradient test */
    co.grad_tol = o.grad_tol;
    co.eig_tol = o.eig_tol;
    bool classified = isfinite(r.loss) && hessrt_classify(m, c->data, r.theta, &co, &rep) == 0;
    if (!classified)
        hessrt_report_free(&rep); /* nothing, or what a point that is not finite left */
    if (trace && !write_trace(&r, trace)) {
        fprintf(c->err, "%s: cannot write the trace to '%s': %s\n", c->prog, trace, strerror(errno));
        hessrt_newton_result_free(&r);
        if (classified)
            hessrt_report_free(&rep);
        free(theta);
        return 1;
    }
    if (json) {
        fprintf(out, "{\"method\": \"%s\", \"status\": \"%s\", \"reason\": \"", hessrt_method_name(method),
                hessrt_status_name(r.status));
        json_text(out, r.reason);
        fprintf(out, "\", \"iterations\": %d, ", r.iterations);
        json_point(out, m, r.theta);
        fprintf(out, ", \"loss\": ");
        json_number(out, r.loss);
        fprintf(out, ", \"gradient_norm\": ");
        json_number(out, r.gradient_norm);
        fprintf(out, ", \"implied_step\": ");
        json_number(out, r.implied_step);
        fprintf(out, ", \"verdict\": %s%s%s", classified ? "\"" : "",
                classified ? hessrt_verdict_name(rep.verdict) : "null", classified ? "\"" : "");
        fprintf(out, ", \"trace\": [");
        for (int i = 0; i < r.ntrace; i++) {
            fprintf(out, "%s{\"iteration\": %d, \"loss\": ", i ? ", " : "", r.trace[i].iteration);
            json_number(out, r.trace[i].loss);
            fprintf(out, ", \"gradient_norm\": ");
            json_number(out, r.trace[i].gradient_norm);
            fprintf(out, ", \"step\": ");
            json_number(out, r.trace[i].step);
            fprintf(out, ", \"min_eigenvalue\": ");
            json_number(out, r.trace[i].min_eigenvalue);
            fprintf(out, "}");
        }
        fprintf(out, "]}\n");
    } else {
        fprintf(out, "iter  loss          |grad|        step          min eig\n");
        for (int i = 0; i < r.ntrace; i++) {
            fprintf(out, "%4d  %-12.6g  %-12.6g  %-12.3g  ", r.trace[i].iteration, r.trace[i].loss,
                    r.trace[i].gradient_norm, r.trace[i].step);
            if (isnan(r.trace[i].min_eigenvalue)) /* gd computes no Hessian */
                fprintf(out, "-\n");
            else
                fprintf(out, "%.6g\n", r.trace[i].min_eigenvalue);
        }
        fprintf(out, "%s: %s\nended at ", hessrt_status_name(r.status), r.reason);
        cli_text_point(out, m, r.theta);
        fprintf(out, ", loss ");
        cli_put_number(out, r.loss);
        if (classified)
            fprintf(out, ", %s", hessrt_verdict_name(rep.verdict));
        fprintf(out, "\n");
    }
    if (classified)
        hessrt_report_free(&rep);
    int rc = r.status == HESSRT_CONVERGED ? 0 : 1; /* a user's script must not take a failed run for an answer */
    hessrt_newton_result_free(&r);
    free(theta);
    return rc;
}

/* scan's starts: uniform in the box [lo, hi]^n */
typedef struct {
    int n;
    double lo, hi;
} Box;

static void draw_in_box(void *user, unsigned long long *state, double *theta)
{
    const Box *b = user;
    for (int i = 0; i < b->n; i++)
        theta[i] = b->lo + (b->hi - b->lo) * cli_uniform(state);
}

static int cmd_scan(const Ctx *c, int argc, char **argv)
{
    const hessgen_model *m = c->m;
    FILE *out = c->out;
    int n = m->nparam;
    double lo = 0, hi = 0, starts = 20, seed = 1;
    bool json = false, have_box = false;
    const char *points_file = NULL;
    hessrt_method method = HESSRT_PURE;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--box") == 0 && has_value) {
            if (!cli_parse_range(argv[++i], &lo, &hi))
                return bad(c, "scan: --box takes LO:HI with LO < HI, not '%s'", argv[i]);
            have_box = true;
        } else if (strcmp(a, "--starts") == 0 && has_value) {
            if (!cli_parse_double(argv[++i], &starts) || starts < 1 || starts > 1e6 || starts != floor(starts))
                return bad(c, "scan: --starts takes a whole number from 1 to 1000000, not '%s'", argv[i]);
        } else if (strcmp(a, "--seed") == 0 && has_value) {
            if (!cli_parse_double(argv[++i], &seed) || seed < 0 || seed >= 1.8e19 || seed != floor(seed))
                return bad(c, "scan: --seed takes a whole number, not '%s'", argv[i]);
        } else if (strcmp(a, "--method") == 0 && has_value) {
            if (hessrt_method_parse(argv[++i], &method) != 0 || method == HESSRT_GD)
                return bad(c, "scan: unknown method '%s'", argv[i]);
        } else if (strcmp(a, "--points") == 0 && has_value) {
            points_file = argv[++i];
        } else {
            return bad(c, "scan: unknown or incomplete argument '%s'", a);
        }
    }
    if (!have_box)
        return bad(c, "scan: --box LO:HI is required%s", "");
    FILE *points_out = NULL; /* a temporary file beside points_file, renamed into place at the end */
    char *points_tmp = NULL;
    if (points_file) {
        int fd = cli_temporary(points_file, &points_tmp);
        if (fd < 0 || !(points_out = fdopen(fd, "w"))) {
            fprintf(c->err, "%s: scan: cannot write '%s': %s\n", c->prog, points_file, strerror(errno));
            if (fd >= 0)
                close(fd), unlink(points_tmp);
            free(points_tmp);
            return 1;
        }
    }
    Box box = {n, lo, hi};
    cli_critical_points cp;
    cli_find_critical(m, c->data, method, (int)starts, draw_in_box, NULL, &box, (unsigned long long)seed, &cp);
    int found = cp.found, failed = cp.failed;
    double *points = cp.points;
    int *hits = cp.hits;
    if (json)
        fprintf(out, "{\"method\": \"%s\", \"starts\": %d, \"failed\": %d, \"points\": [", hessrt_method_name(method),
                (int)starts, failed);
    else
        fprintf(out,
                "%d starts in [%g, %g]^%d by %s Newton: %d critical set%s (points, or connected pieces of curves "
                "or surfaces of critical points), %d runs did not converge\n",
                (int)starts, lo, hi, n, hessrt_method_name(method), found, found == 1 ? "" : "s", failed);
    for (int k = 0, printed = 0; k < found; k++) {
        hessrt_report rep;
        if (hessrt_classify(m, c->data, points + (size_t)k * n, NULL, &rep) != 0) {
            hessrt_report_free(&rep);
            continue;
        }
        for (int i = 0; points_out && i < n; i++) /* round-trip digits, for --near */
            fprintf(points_out, "%.17g%s", points[(size_t)k * n + i], i + 1 < n ? "," : "\n");
        if (json) {
            fprintf(out, "%s{", printed++ ? ", " : "");
            json_point(out, m, points + (size_t)k * n);
            fprintf(out, ", \"loss\": ");
            json_number(out, rep.loss);
            fprintf(out, ", \"verdict\": \"%s\", \"reached\": %d, \"dimension\": %d, \"loss_range\": [",
                    hessrt_verdict_name(rep.verdict), hits[k], cp.dimension[k]);
            json_number(out, cp.loss_lo[k]);
            fprintf(out, ", ");
            json_number(out, cp.loss_hi[k]);
            fprintf(out, "], \"samples\": [");
            for (int j = 0; j < cp.nsamples[k]; j++) {
                fprintf(out, "%s", j ? ", " : "");
                json_array(out, cp.samples + ((size_t)k * CLI_SAMPLES + (size_t)j) * n, n);
            }
            fprintf(out, "]}");
        } else {
            fprintf(out, "  %-12s reached %4d times  loss %-12.6g at ", hessrt_verdict_name(rep.verdict), hits[k],
                    rep.loss);
            cli_text_point(out, m, points + (size_t)k * n);
            if (cp.dimension[k] > 0)
                fprintf(out,
                        "\n               on a connected set of critical points of dimension %d, loss %.6g to %.6g",
                        cp.dimension[k], cp.loss_lo[k], cp.loss_hi[k]);
            fprintf(out, "\n");
        }
        hessrt_report_free(&rep);
    }
    if (json)
        fprintf(out, "]}\n");
    cli_critical_points_free(&cp);
    int rc = 0;
    if (points_out) {
        bool ok = !ferror(points_out);
        ok = fclose(points_out) == 0 && ok;
        if (!ok || rename(points_tmp, points_file) != 0) {
            fprintf(c->err, "%s: scan: cannot write '%s': %s\n", c->prog, points_file, strerror(errno));
            unlink(points_tmp);
            rc = 1;
        }
        free(points_tmp);
    }
    return rc;
}

/* Runs one subcommand with the data set loaded (argv without the --data options). */
static int run_subcommand(const Ctx *c, int argc, char **argv)
{
    if (argc < 2)
        return bad(c, "a subcommand is needed%s", "");
    const char *cmd = argv[1];
    if (strcmp(cmd, "classify") == 0)
        return cmd_classify(c, argc - 2, argv + 2);
    if (strcmp(cmd, "newton") == 0)
        return cmd_iterate(c, argc - 2, argv + 2, false);
    if (strcmp(cmd, "gd") == 0)
        return cmd_iterate(c, argc - 2, argv + 2, true);
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(c, argc - 2, argv + 2);
    if (strcmp(cmd, "plot") == 0)
        return cli_plot(c->m, c->data, c->prog, c->out, c->err, c->usage, argc - 2, argv + 2);
    return bad(c, "unknown subcommand '%s'", cmd);
}

/* The model's layout is the one this libhessrt reads (nothing past version can be read otherwise). */
static bool readable(const Ctx *c)
{
    if (c->m->version >= 4 && c->m->version <= 6)
        return true;
    fprintf(c->err,
            "%s: the model was written by another hessgen (model version %d, this libhessrt reads 4 to 6): "
            "generate its C again\n",
            c->prog, c->m->version);
    return false;
}

int hessrt_main(const hessgen_model *m, int argc, char **argv)
{
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    Ctx c = {m, argc > 0 ? (slash ? slash + 1 : argv[0]) : "analyzer", NULL, stdout, stderr, true};
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf(usage, c.prog, c.prog, c.prog, c.prog, c.prog, c.prog);
        return 0;
    }
    if (!readable(&c))
        return 2;
    /* --data NAME=FILE (or --data=NAME=FILE) anywhere: taken out before the subcommand parses */
    char **rest = malloc(sizeof(char *) * ((size_t)argc + 1));
    const char **specs = malloc(sizeof(char *) * ((size_t)argc + 1));
    int nspecs = 0, rc = 0;
    int nrest = hessrt_data_args(argc, argv, rest, specs, &nspecs);
    if (nrest < 0)
        rc = bad(&c, "--data needs NAME=FILE%s", "");
    hessrt_data *loaded = NULL;
    if (rc == 0 && nrest < 2)
        rc = bad(&c, "a subcommand is needed%s", "");
    if (rc == 0 && (nspecs > 0 || m->ndata > 0)) {
        char err[1024];
        loaded = hessrt_data_load(m, nspecs, specs, err, sizeof err);
        if (!loaded) {
            fprintf(stderr, "%s: %s\n", c.prog, err);
            rc = 2;
        }
        c.data = hessrt_data_struct(loaded);
    }
    if (rc == 0)
        rc = run_subcommand(&c, nrest, rest);
    hessrt_data_free(loaded);
    free(rest);
    free(specs);
    return rc;
}

int hessrt_data_args(int argc, char **argv, char **rest, const char **specs, int *nspecs)
{
    int nrest = 0;
    *nspecs = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--data") == 0) {
            if (i + 1 >= argc)
                return -1;
            specs[(*nspecs)++] = argv[++i];
        } else if (i > 0 && strncmp(argv[i], "--data=", 7) == 0) {
            specs[(*nspecs)++] = argv[i] + 7;
        } else {
            rest[nrest++] = argv[i];
        }
    }
    rest[nrest] = NULL;
    return nrest;
}

int hessrt_main_bound(const hessgen_model *m, const void *data, int argc, char **argv)
{
    const char *slash = argc > 0 ? strrchr(argv[0], '/') : NULL;
    Ctx c = {m, argc > 0 ? (slash ? slash + 1 : argv[0]) : "analyzer", data, stdout, stderr, true};
    if (!readable(&c))
        return 2;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--data") == 0 || strncmp(argv[i], "--data=", 7) == 0)
            return bad(&c, "--data is read by the caller here: '%s'", argv[i]);
    return run_subcommand(&c, argc, argv);
}

int hessrt_run(const hessgen_model *m, const void *data, int argc, const char *const *argv, char **out, char **err)
{
    size_t out_len = 0, err_len = 0;
    *out = *err = NULL;
    FILE *o = open_memstream(out, &out_len), *e = open_memstream(err, &err_len);
    if (!o || !e) {
        if (o)
            fclose(o);
        if (e)
            fclose(e);
        free(*out), free(*err);
        *out = *err = NULL;
        return -1;
    }
    Ctx c = {m, m->name && *m->name ? m->name : "hessrt", data, o, e, false};
    int rc = 2;
    /* numbers are read and written in the C locale whatever the host program set (a comma for
     * the decimal point would make the JSON another list) */
    locale_t c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    locale_t host_locale = c_locale ? uselocale(c_locale) : (locale_t)0;
    /* the subcommand parsers take argv as main does: the program's name first */
    char **args = malloc(sizeof(char *) * ((size_t)(argc > 0 ? argc : 0) + 2));
    if (!args || !c_locale)
        rc = -1;
    else if (readable(&c)) {
        args[0] = (char *)c.prog;
        for (int i = 0; i < argc; i++)
            args[i + 1] = (char *)argv[i];
        args[argc > 0 ? argc + 1 : 1] = NULL;
        if (m->ndata > 0 && !data)
            fprintf(e, "%s: the model reads data (%d array%s), and none is bound\n", c.prog, m->ndata,
                    m->ndata == 1 ? "" : "s");
        else if (m->ndata > 0 && m->data_check(data) != 0)
            fprintf(e, "%s: %s\n", c.prog, m->data_error(m->data_check(data)));
        else
            rc = run_subcommand(&c, (argc > 0 ? argc : 0) + 1, args);
    }
    free(args);
    if (c_locale) {
        uselocale(host_locale);
        freelocale(c_locale);
    }
    bool lost = ferror(o) || ferror(e);
    bool closed_o = fclose(o) == 0, closed_e = fclose(e) == 0; /* both, whatever the first gives */
    if (!closed_o || !closed_e || lost || rc == -1) {          /* out of memory: the text is not whole */
        free(*out), free(*err);
        *out = *err = NULL;
        return -1;
    }
    return rc;
}

void hessrt_free(void *p)
{
    free(p);
}
