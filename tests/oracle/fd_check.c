/* fd_check.c: a finite-difference sanity check for any file that hessgen generated.
 *
 * In:  a generated file, #included by name, whose symbols carry the prefix HG_PREFIX (default M)
 *      and which declares no data; points to check, one per line of a text file (N numbers for
 *      theta, optionally followed by N numbers for the direction v of the Hessian-vector
 *      product; decimal or C99 hexadecimal floats), or, without a file, the model's start point
 *      and three points deterministically perturbed from it.
 * Out: for every point, whether
 *        the gradient     matches central differences of the loss,
 *        the Hessian      matches central differences of the gradient (column by column, both
 *                         triangles),
 *        the HVP H*v      matches central differences of the gradient along v;
 *      a line for every failure, and last a line `fd_check: P passed, F failed`.
 *      Exit status 0 when nothing failed, 1 otherwise, 2 on a usage error.
 *
 * Build (from the repository root; gen.c has prefix M):
 *     cc -std=c99 -O1 -DHG_GEN='"/abs/path/gen.c"' tests/oracle/fd_check.c -o fd_check -lm
 *     ./fd_check [POINTS_FILE]
 * -DHG_PREFIX=foo checks a file generated with another prefix.
 *
 * The arithmetic: the generated functions take doubles, so the perturbed points x +- h*e_j are
 * formed in long double and rounded to double; the steps actually taken are recomputed in long
 * double from the rounded points (h+ = (double)(x+h) - x, h- = x - (double)(x-h)), and the
 * quotient (f(x+) - f(x-)) / (h+ + h-) is formed in long double. The step is
 * h_j = cbrt(DBL_EPSILON) * max(1, |x_j|): the values are doubles, so this balances the
 * truncation error (~h^2 f''') against the rounding error of the values (~eps |f| / h); both are
 * near 1e-10 relative for well-scaled losses.
 *
 * Tolerance (loose on purpose; the exact check is check_derivatives.py's job): normwise,
 *     max_k |fd_k - an_k| <= 1e-6 * max(1, max_k |an_k|, max_k |fd_k|)
 * over all entries of the gradient, of the Hessian, and of the HVP, separately.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HG_GEN
#error "compile with -DHG_GEN='\"path/to/gen.c\"'"
#endif
#include HG_GEN

#ifndef HG_PREFIX
#define HG_PREFIX M
#endif
#define HG_CAT2(a, b) a##b
#define HG_CAT(a, b) HG_CAT2(a, b)
#define HG(name) HG_CAT(HG_PREFIX, name)

#define N HG(_NPARAM)
#define FD_RTOL 1e-6L

static long double max3(long double a, long double b, long double c)
{
    long double m = a > b ? a : b;
    return m > c ? m : c;
}

/* The worst entry of |fd - an| against the normwise tolerance; reports and returns 1 on
 * failure. A NaN in either side fails. */
static int compare(const char *what, int point, const long double *fd, const double *an,
                   int n, int ncols)
{
    long double maxfd = 0, maxan = 0, worst = -1, scale;
    int k, wk = 0, bad = 0;
    for (k = 0; k < n; k++) {
        if (!(fabsl(fd[k]) <= LDBL_MAX) || !(fabs(an[k]) <= DBL_MAX))
            bad = 1;
        if (fabsl(fd[k]) > maxfd) maxfd = fabsl(fd[k]);
        if (fabs((double)an[k]) > maxan) maxan = fabs(an[k]);
    }
    scale = max3(1.0L, maxan, maxfd);
    for (k = 0; k < n; k++) {
        long double e = fabsl(fd[k] - (long double)an[k]);
        if (isnan(e)) {               /* a NaN is the worst entry there can be */
            worst = e;
            wk = k;
            break;
        }
        if (e > worst) {
            worst = e;
            wk = k;
        }
    }
    if (bad || !(worst <= FD_RTOL * scale)) {
        char row[HG(_NAME_MAX)], col[HG(_NAME_MAX)];
        HG(_param_name)(ncols > 0 ? wk / ncols : wk, row, sizeof row);
        HG(_param_name)(ncols > 0 ? wk % ncols : 0, col, sizeof col);
        if (ncols > 0)
            printf("fd_check: FAIL point %d %s[%d][%d] (%s, %s): generated %.17g, "
                   "differences %.17Lg, |err| %.3Lg > %.1Lg * %.3Lg\n",
                   point, what, wk / ncols, wk % ncols, row, col, an[wk], fd[wk], worst, FD_RTOL, scale);
        else
            printf("fd_check: FAIL point %d %s[%d] (%s): generated %.17g, differences %.17Lg, "
                   "|err| %.3Lg > %.1Lg * %.3Lg\n",
                   point, what, wk, row, an[wk], fd[wk], worst, FD_RTOL,
                   scale);
        return 1;
    }
    return 0;
}

/* out = x + s*dir, formed in long double and rounded to double. */
static void shifted(const double *x, const long double *dir, long double s, double *out)
{
    int k;
    for (k = 0; k < N; k++)
        out[k] = (double)((long double)x[k] + s * dir[k]);
}

/* Checks one point; returns the number of failed checks (0..3) and adds to *nchecks. */
static int check_point(int point, const double *x, const double *v, int *nchecks)
{
    static double xp[N], xm[N], gp[N], gm[N], g[N], hv[N];
    static double hess[N * N];
    static long double fdg[N], fdh[N * N], fdv[N], dir[N];
    const long double c = cbrtl((long double)DBL_EPSILON);
    long double vmax = 0, h;
    int i, j, fails = 0;

    if (!isfinite(HG(_loss)(x))) {
        printf("fd_check: point %d skipped: the loss is not finite there\n", point);
        return 0;
    }
    HG(_hess)(x, g, hess);
    HG(_hvp)(x, v, hv);
    for (j = 0; j < N; j++) {
        long double hj = c * (fabs(x[j]) > 1 ? fabs(x[j]) : 1.0), hp, hm;
        for (i = 0; i < N; i++)
            dir[i] = (i == j);
        shifted(x, dir, hj, xp);
        shifted(x, dir, -hj, xm);
        hp = (long double)xp[j] - x[j];
        hm = (long double)x[j] - xm[j];
        fdg[j] = ((long double)HG(_loss)(xp) - HG(_loss)(xm)) / (hp + hm);
        HG(_grad)(xp, gp);
        HG(_grad)(xm, gm);
        for (i = 0; i < N; i++)
            fdh[i * N + j] = ((long double)gp[i] - gm[i]) / (hp + hm);
    }
    /* along v: one common step; the rounding of x + h*v to double changes the direction by
     * at most an ulp of x per coordinate, far below the tolerance */
    for (i = 0; i < N; i++)
        if (fabs(v[i]) > vmax) vmax = fabs(v[i]);
    if (vmax > 0) {
        long double xmax = 1;
        for (i = 0; i < N; i++)
            if (fabs(x[i]) > xmax) xmax = fabs(x[i]);
        h = c * xmax / vmax;
        for (i = 0; i < N; i++)
            dir[i] = v[i];
        shifted(x, dir, h, xp);
        shifted(x, dir, -h, xm);
        HG(_grad)(xp, gp);
        HG(_grad)(xm, gm);
        for (i = 0; i < N; i++)
            fdv[i] = ((long double)gp[i] - gm[i]) / (2 * h);
    } else {
        for (i = 0; i < N; i++)
            fdv[i] = 0;
    }
    fails += compare("grad", point, fdg, g, N, 0);
    fails += compare("hess", point, fdh, hess, N * N, N);
    fails += compare("hvp", point, fdv, hv, N, 0);
    *nchecks += 3;
    return fails;
}

/* Reads up to 2N numbers from one line; returns how many. */
static int read_line(FILE *f, double *vals, int max, int *eof)
{
    char buf[1 << 16], *p, *end;
    int n = 0;
    if (!fgets(buf, sizeof buf, f)) {
        *eof = 1;
        return 0;
    }
    p = buf;
    while (n < max) {
        double d = strtod(p, &end);
        if (end == p) break;
        vals[n++] = d;
        p = end;
        while (*p == ' ' || *p == '\t' || *p == ',') p++;
    }
    return n;
}

int main(int argc, char **argv)
{
    static double x[N], v[N], vals[2 * N], start[N];
    int point = 0, fails = 0, nchecks = 0, i, k;
    unsigned long seed = 12345;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [POINTS_FILE]\n", argv[0]);
        return 2;
    }
    if (argc == 2) {
        FILE *f = strcmp(argv[1], "-") ? fopen(argv[1], "r") : stdin;
        int eof = 0;
        if (!f) {
            perror(argv[1]);
            return 2;
        }
        while (!eof) {
            int n = read_line(f, vals, 2 * N, &eof);
            if (n == 0) continue;
            if (n != N && n != 2 * N) {
                fprintf(stderr, "fd_check: a point needs %d or %d numbers, found %d\n", N,
                        2 * N, n);
                return 2;
            }
            for (i = 0; i < N; i++) {
                x[i] = vals[i];
                seed = seed * 6364136223846793005UL + 1442695040888963407UL;
                v[i] = n == 2 * N ? vals[N + i] : (double)((seed >> 33) % 2001) / 1000 - 1;
            }
            fails += check_point(point++, x, v, &nchecks);
        }
        if (f != stdin) fclose(f);
    } else {
        HG(_start)(start);
        for (k = 0; k < 4; k++) {
            for (i = 0; i < N; i++) {
                double s = start[i], r1, r2;
                seed = seed * 6364136223846793005UL + 1442695040888963407UL;
                r1 = (double)((seed >> 33) % 2001) / 1000 - 1;   /* in [-1, 1] */
                seed = seed * 6364136223846793005UL + 1442695040888963407UL;
                r2 = (double)((seed >> 33) % 2001) / 1000 - 1;
                x[i] = k == 0 ? s : s + 0.25 * r1 * (1 + fabs(s));
                v[i] = r2;
            }
            fails += check_point(point++, x, v, &nchecks);
        }
    }
    printf("fd_check: %d passed, %d failed\n", nchecks - fails, fails);
    return fails ? 1 : 0;
}
