/* Shared by the drivers of bench/data/: the data set, theta, timing and comparison.
 * C99 and C++ alike (lr_adolc.cpp includes it too). */
#ifndef BENCH_DATA_COMMON_H
#define BENCH_DATA_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NF 50 /* features: the columns of X */
#define NP 51 /* parameters: w[50], b */
#define LAMBDA 0.01

/* splitmix64: the same stream on every machine and compiler */
static inline uint64_t bd_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* uniform in [0, 1), 53 bits */
static inline double bd_unif(uint64_t *s)
{
    return (double)(bd_next(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* X[n][50] row-major, uniform in [-1, 1); y[i] = +1 with probability sigmoid(x_i . u + 0.3)
   for a fixed u (|u_j| <= 0.5), else -1. Deterministic: the same n gives the same rows, and
   the first m rows of a larger set are the set of m rows. */
static inline void bd_make_data(size_t n, double *X, double *y)
{
    double u[NF];
    for (int j = 0; j < NF; j++)
        u[j] = 0.5 * sin(1.7 * j + 0.3);
    uint64_t s = 20261201ULL;
    for (size_t i = 0; i < n; i++) {
        double z = 0.3;
        for (int j = 0; j < NF; j++) {
            double x = 2.0 * bd_unif(&s) - 1.0;
            X[i * NF + j] = x;
            z += u[j] * x;
        }
        double p = 1.0 / (1.0 + exp(-z));
        y[i] = bd_unif(&s) < p ? 1.0 : -1.0;
    }
}

/* theta = (w[0..49], b): a point away from the optimum, with no symmetry */
static inline void bd_make_theta(double *theta)
{
    for (int j = 0; j < NF; j++)
        theta[j] = 0.3 * sin(0.9 * j + 1.1);
    theta[NF] = -0.2;
}

static inline double bd_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of the whole process (all its threads): with other processes on the machine, the
   time a call got the CPU for, without its waits */
static inline double bd_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bd_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* median of k values (sorts a copy) */
static inline double bd_median(const double *a, int k)
{
    double *c = (double *)malloc((size_t)k * sizeof *c);
    memcpy(c, a, (size_t)k * sizeof *c);
    qsort(c, (size_t)k, sizeof *c, bd_cmp_double);
    double m = k % 2 ? c[k / 2] : 0.5 * (c[k / 2 - 1] + c[k / 2]);
    free(c);
    return m;
}

/* |a - b| / max(|a|, |b|), 0 when both are 0; +inf when either is not finite */
static inline double bd_rel(double a, double b)
{
    if (!isfinite(a) || !isfinite(b))
        return INFINITY;
    double m = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return m == 0.0 ? 0.0 : fabs(a - b) / m;
}

/* the largest entrywise relative difference of m values */
static inline double bd_max_rel(const double *a, const double *b, size_t m)
{
    double r = 0.0;
    for (size_t k = 0; k < m; k++) {
        double e = bd_rel(a[k], b[k]);
        if (!(e <= r))
            r = e;
    }
    return r;
}

/* the largest |a - b| over the largest |a| (a norm-wise figure) */
static inline double bd_max_abs_rel(const double *a, const double *b, size_t m)
{
    double d = 0.0, s = 0.0;
    for (size_t k = 0; k < m; k++) {
        if (fabs(a[k] - b[k]) > d)
            d = fabs(a[k] - b[k]);
        if (fabs(a[k]) > s)
            s = fabs(a[k]);
    }
    return s == 0.0 ? d : d / s;
}

/* The scale of each output as a sum over rows: S = sum_i |term_i| (plus the regulariser's
   |term|) for the loss, each gradient entry and each Hessian entry (both triangles). Summing
   the same n terms in another order (OpenMP's partial sums, BLAS's blocking, ADOL-C's sweeps)
   may change a value by a few eps * S: an entry that is a small difference of large terms (an
   off-diagonal Hessian entry of uncorrelated features) can then differ by much more than
   eps relative to itself. out holds 1 + 51 + 51*51 values, like the drivers' packed results. */
static inline void bd_scales(size_t n, const double *X, const double *y, const double *theta,
                             double *out)
{
    double *S = out;
    memset(S, 0, (1 + NP + NP * NP) * sizeof(double));
    double a[NP];
    for (size_t i = 0; i < n; i++) {
        double z = theta[NF];
        for (int j = 0; j < NF; j++)
            z += theta[j] * X[i * NF + j];
        double m = -y[i] * z;
        double sp = m > 0 ? m + log1p(exp(-m)) : log1p(exp(m));
        double s = 1.0 / (1.0 + exp(-m)), d = s * (1.0 - s) * y[i] * y[i];
        S[0] += fabs(sp);
        for (int j = 0; j < NF; j++)
            a[j] = fabs(X[i * NF + j]);
        a[NF] = 1.0;
        for (int j = 0; j < NP; j++) {
            S[1 + j] += fabs(y[i] * s) * a[j];
            for (int k = 0; k < NP; k++)
                S[1 + NP + j * NP + k] += d * a[j] * a[k];
        }
    }
    double reg = 0.0;
    for (int j = 0; j < NF; j++)
        reg += theta[j] * theta[j];
    S[0] = S[0] / (double)n + 0.5 * LAMBDA * reg;
    for (int j = 0; j < NP; j++)
        S[1 + j] = S[1 + j] / (double)n + (j < NF ? LAMBDA * fabs(theta[j]) : 0.0);
    for (int j = 0; j < NP; j++)
        for (int k = 0; k < NP; k++)
            S[1 + NP + j * NP + k] = S[1 + NP + j * NP + k] / (double)n +
                                     (j == k && j < NF ? LAMBDA : 0.0);
}

/* the largest |a - b| / S over m values */
static inline double bd_max_scaled(const double *a, const double *b, const double *S, size_t m)
{
    double r = 0.0;
    for (size_t k = 0; k < m; k++) {
        double e = !isfinite(a[k]) || !isfinite(b[k]) ? INFINITY
                   : S[k] == 0.0                      ? fabs(a[k] - b[k])
                                                      : fabs(a[k] - b[k]) / S[k];
        if (!(e <= r))
            r = e;
    }
    return r;
}

#endif
