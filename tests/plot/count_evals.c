/* count_evals.c: the analyzer's plots on a model of 10000 parameters call only what they need.
 *
 * The generated model (tests/plot/rosenbrock10000.hl, prefix plotr) is linked with libhessrt;
 * every function pointer of its hessgen_model is wrapped in a counter, and hessrt_main runs
 * `plot surface` (and `plot slice`) on the wrapped model, as the program `hessgen --main` makes
 * would. A surface over two parameters or two explicit directions is grid^2 loss evaluations and
 * not one derivative; the gradient axis adds exactly one gradient; escape and --starts, which
 * need dense Hessians, are refused before anything is evaluated; a slice is its points' losses
 * plus one gradient and one Hessian-vector product.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hessrt.h"

extern const hessgen_model plotr_model;

enum { N = 10000 };

static long n_loss, n_grad, n_hess, n_hvp, n_sparse, n_values;

static double count_loss(const double *theta, const void *data)
{
    n_loss++;
    return plotr_model.loss(theta, data);
}

static double count_grad(const double *theta, const void *data, double *grad)
{
    n_grad++;
    return plotr_model.grad(theta, data, grad);
}

static double count_hess(const double *theta, const void *data, double *grad, double *hess)
{
    n_hess++;
    return plotr_model.hess(theta, data, grad, hess);
}

static void count_hvp(const double *theta, const void *data, const double *v, double *hv)
{
    n_hvp++;
    plotr_model.hvp(theta, data, v, hv);
}

static double count_sparse(const double *theta, const void *data, double *grad, double *values)
{
    n_sparse++;
    return plotr_model.hess_sparse(theta, data, grad, values);
}

static void count_values(const double *theta, const void *data, double *values)
{
    n_values++;
    plotr_model.hess_values(theta, data, values);
}

static hessgen_model wrapped;
static char dir[4096], out[4200], dat[4200], gp[4200];
static int failures;

/* runs `count_evals plot ARGS...` (NULL-terminated) with the counters at zero; the exit status */
static int plot(const char *first, ...)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = "count_evals";
    argv[argc++] = "plot";
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a; a = va_arg(ap, const char *))
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    n_loss = n_grad = n_hess = n_hvp = n_sparse = n_values = 0;
    fflush(stdout);
    int rc = hessrt_main(&wrapped, argc, argv);
    fflush(stdout);
    return rc;
}

static void expect(const char *what, int rc, int want_rc, long loss, long grad, long hvp)
{
    bool ok = rc == want_rc && n_loss == loss && n_grad == grad && n_hvp == hvp && n_hess == 0 && n_sparse == 0 &&
              n_values == 0;
    printf("%s %s: exit %d (want %d); loss %ld (want %ld), grad %ld (want %ld), hvp %ld (want %ld), hess %ld, "
           "hess_sparse %ld, hess_values %ld (want 0 each)\n",
           ok ? "ok  " : "FAIL", what, rc, want_rc, n_loss, loss, n_grad, grad, n_hvp, hvp, n_hess, n_sparse, n_values);
    failures += !ok;
}

/* the image was written and is a PNG; the data file has the grid's rows */
static void expect_png(const char *what, long rows)
{
    unsigned char head[8] = {0};
    FILE *f = fopen(out, "rb");
    bool ok = f && fread(head, 1, 8, f) == 8 && memcmp(head, "\x89PNG\r\n\x1a\n", 8) == 0;
    if (f)
        fclose(f);
    long count = 0;
    f = fopen(dat, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        count += line[0] != '#' && line[0] != '\n';
    if (f)
        fclose(f);
    ok = ok && count == rows;
    printf("%s %s: a PNG, and %ld data rows (want %ld)\n", ok ? "ok  " : "FAIL", what, count, rows);
    failures += !ok;
    unlink(out);
    unlink(dat);
    unlink(gp);
}

int main(void)
{
    wrapped = plotr_model;
    wrapped.loss = count_loss;
    wrapped.grad = count_grad;
    wrapped.hess = count_hess;
    wrapped.hvp = count_hvp;
    wrapped.hess_sparse = count_sparse;
    wrapped.hess_values = count_values;
    if (wrapped.nparam != N) {
        printf("FAIL the model has %d parameters, not %d\n", wrapped.nparam, N);
        return 1;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/count_evals.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(out, sizeof out, "%s/s.png", dir);
    snprintf(dat, sizeof dat, "%s/s.dat", dir);
    snprintf(gp, sizeof gp, "%s/s.gp", dir);

    /* two parameters */
    int rc = plot("surface", "-o", out, "--x", "x[0]", "--y", "x[1]", "--grid", "200", "--keep-script", NULL);
    expect("surface over x[0], x[1]", rc, 0, 40000, 0, 0);
    expect_png("surface over x[0], x[1]", 40000);

    /* two directions: by name (the rest 0), and every value (an alternating vector of 10000) */
    static char every[N * 3 + 1];
    size_t len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(every + len, "%s%s", i ? "," : "", i % 2 ? "-1" : "1");
    rc = plot("surface", "-o", out, "--x", "x[0]=1,x[1]=1,x[9999]=0.5", "--y", every, "--grid", "200",
              "--keep-script", NULL);
    expect("surface over two directions", rc, 0, 40000, 0, 0);
    expect_png("surface over two directions", 40000);

    /* the gradient's direction: one gradient, no more */
    rc = plot("surface", "-o", out, "--x", "gradient", "--y", "x[5]", "--grid", "200", "--keep-script", NULL);
    expect("surface over the gradient and x[5]", rc, 0, 40000, 1, 0);
    expect_png("surface over the gradient and x[5]", 40000);

    /* what needs the dense Hessian is refused, before any evaluation */
    rc = plot("surface", "-o", out, "--x", "escape", "--y", "x[1]", NULL);
    expect("surface along escape (refused)", rc, 2, 0, 0, 0);
    rc = plot("surface", "-o", out, "--x", "x[0]", "--y", "x[1]", "--starts", "1", NULL);
    expect("surface with --starts 1 (refused)", rc, 2, 0, 0, 0);
    if (access(out, F_OK) == 0) {
        printf("FAIL a refused plot wrote %s\n", out);
        failures++;
    }

    /* a slice: its points' losses, one gradient and one Hessian-vector product */
    rc = plot("slice", "-o", out, "--along", "x[3]=1,x[4]=-2", "--points", "1000", "--keep-script", NULL);
    expect("slice along a direction", rc, 0, 1000, 1, 1);
    expect_png("slice along a direction", 1001);

    if (rmdir(dir) != 0) { /* a temporary file left behind */
        printf("FAIL %s is not empty after the plots\n", dir);
        failures++;
    }
    printf("%d failed\n", failures);
    return failures ? 1 : 0;
}
