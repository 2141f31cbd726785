/* Shared by the drivers of bench/mlp/peers/: the network's shape, the data set, theta, timing
 * and comparison. C99 and C++ alike (mlp_adolc.cpp includes it too).
 *
 * The model is bench/mlp/run.py's mlp(widths): widths = [2, n_1, ..., n_{L-1}, 1], tanh hidden
 * layers, f_i = sum_k wL[k] h_{L-1}(i, k) + c, loss = mean_i (f_i - t_i)^2. The parameters in
 * the generated `param` order: W1[n_1][2] (row-major [out][in]), b1[n_1], W2, b2, ...,
 * wL[n_{L-1}], c. Seen as layers l = 1..L with W_L = wL (one row) and b_L = c, layer l's W_l
 * starts at mlp_off(l) and its b_l right after W_l. */
#ifndef BENCH_MLP_PEERS_COMMON_H
#define BENCH_MLP_PEERS_COMMON_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MLP_MAXL 32 /* at most 31 hidden layers */

typedef struct {
    int L;                 /* layers with parameters: widths has L + 1 entries */
    int n[MLP_MAXL + 1];   /* n[0] = 2 inputs, n[L] = 1 output */
    int off[MLP_MAXL + 1]; /* off[l]: index of W_l[0][0] in theta (l = 1..L) */
    int N;                 /* parameters */
} mlp_shape;

/* "2,8,8,1" -> shape; 0 on success */
static inline int mlp_parse(const char *s, mlp_shape *sh)
{
    int k = 0;
    const char *p = s;
    while (*p) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || v < 1 || v > 100000 || k > MLP_MAXL)
            return 1;
        sh->n[k++] = (int)v;
        p = *e == ',' ? e + 1 : e;
        if (*e && *e != ',')
            return 1;
    }
    if (k < 2 || sh->n[k - 1] != 1)
        return 1;
    sh->L = k - 1;
    int o = 0;
    for (int l = 1; l <= sh->L; l++) {
        sh->off[l] = o;
        o += sh->n[l] * sh->n[l - 1] + sh->n[l];
    }
    sh->N = o;
    return 0;
}

/* theta index of W_l[k][j] (j < n[l-1]) or of b_l[k] (j == n[l-1]) */
static inline int mlp_idx(const mlp_shape *sh, int l, int k, int j)
{
    return sh->off[l] + (j < sh->n[l - 1] ? k * sh->n[l - 1] + j : sh->n[l] * sh->n[l - 1] + k);
}

/* the name hessgen gives that coordinate: "W1[3][1]", "b1[3]", "w3[5]", "c" */
static inline void mlp_name(const mlp_shape *sh, int l, int k, int j, char *buf, size_t len)
{
    if (l == sh->L)
        j < sh->n[l - 1] ? snprintf(buf, len, "w%d[%d]", l, j) : snprintf(buf, len, "c");
    else if (j < sh->n[l - 1])
        snprintf(buf, len, "W%d[%d][%d]", l, k, j);
    else
        snprintf(buf, len, "b%d[%d]", l, k);
}

/* splitmix64: the same stream on every machine and compiler */
static inline uint64_t md_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* uniform in [-1, 1) */
static inline double md_unif(uint64_t *s)
{
    return 2.0 * ((double)(md_next(s) >> 11) * (1.0 / 9007199254740992.0)) - 1.0;
}

/* X[n][2] and t[n], uniform in [-1, 1), row by row from a fixed seed: the first m rows of a
   larger set are the set of m rows */
static inline void md_make_data(size_t n, double *X, double *t)
{
    uint64_t s = 20261215ULL;
    for (size_t i = 0; i < n; i++) {
        X[2 * i] = md_unif(&s);
        X[2 * i + 1] = md_unif(&s);
        t[i] = md_unif(&s);
    }
}

/* theta uniform in [-1, 1) from a fixed seed */
static inline void md_make_theta(int N, double *theta)
{
    uint64_t s = 77ULL;
    for (int k = 0; k < N; k++)
        theta[k] = md_unif(&s);
}

static inline double md_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline double md_cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int md_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double md_median(const double *a, int k)
{
    double *c = (double *)malloc((size_t)k * sizeof *c);
    memcpy(c, a, (size_t)k * sizeof *c);
    qsort(c, (size_t)k, sizeof *c, md_cmp_double);
    double m = k % 2 ? c[k / 2] : 0.5 * (c[k / 2 - 1] + c[k / 2]);
    free(c);
    return m;
}

/* max |a - b| over m values, its index, and max |ref| (the scale): the check is
   max|a - b| <= tol * max|ref|. A NaN anywhere gives an infinite difference. */
static inline double md_maxdiff(const double *a, const double *ref, size_t m, size_t *at,
                                double *scale)
{
    double d = 0.0, s = 0.0;
    size_t w = 0;
    for (size_t k = 0; k < m; k++) {
        double e = fabs(a[k] - ref[k]);
        if (!(e == e))
            e = INFINITY;
        if (e > d) {
            d = e;
            w = k;
        }
        if (fabs(ref[k]) > s)
            s = fabs(ref[k]);
    }
    if (at)
        *at = w;
    if (scale)
        *scale = s;
    return d;
}

#endif
