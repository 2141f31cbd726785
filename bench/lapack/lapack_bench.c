/* Inertia by dsytrf against the full eigen-decomposition by dsyevr, on random dense symmetric
 * matrices of 100, 1000 and 3000 rows; and the share of one Newton iteration (hessrt_newton,
 * trust-region, on the 1000-parameter Rosenbrock) spent outside LAPACK. Wall-clock medians,
 * quoted as ratios measured in the same run. Built and run by bench/lapack/run.sh. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hessrt.h"

extern const hessgen_model rosen_model;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

int main(void)
{
    const int sizes[3] = {100, 1000, 3000}, reps[3] = {9, 3, 1};
    printf("| n | dsytrf inertia (s) | dsyevr values+vectors (s) | dsyevr values only (s) | eigen/inertia |\n|---|---|---|---|---|\n");
    srand(1);
    for (int k = 0; k < 3; k++) {
        int n = sizes[k];
        double *h = malloc(sizeof(double) * (size_t)n * n), *w = malloc(sizeof(double) * n),
               *z = malloc(sizeof(double) * (size_t)n * n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
                h[(size_t)i * n + j] = h[(size_t)j * n + i] = (double)rand() / RAND_MAX - 0.5;
        double ti[9], te[9], tv[9];
        int neg, zero, pos;
        for (int r = 0; r < reps[k]; r++) {
            double t0 = now();
            hessrt_inertia(n, h, 1e-9, &neg, &zero, &pos);
            double t1 = now();
            hessrt_eigen(n, h, w, z);
            double t2 = now();
            hessrt_eigen(n, h, w, NULL);
            double t3 = now();
            ti[r] = t1 - t0;
            te[r] = t2 - t1;
            tv[r] = t3 - t2;
        }
        double mi = median(ti, reps[k]), me = median(te, reps[k]), mv = median(tv, reps[k]);
        printf("| %d | %.4f | %.4f | %.4f | %.1f |\n", n, mi, me, mv, me / mi);
        free(h);
        free(w);
        free(z);
    }

    /* trust-region Newton on Rosenbrock 1000, ITER iterations: ITER + 1 evaluations of the
     * dense Hessian, each with its eigen-decomposition; against dsyevr alone on ITER + 1
     * matrices already in place (no copies, no evaluation) */
    enum { ITER = 5, REPS = 5 };
    int n = rosen_model.nparam;
    size_t nn = (size_t)n * n;
    double *h = malloc(sizeof(double) * nn), *g = malloc(sizeof(double) * n), *w = malloc(sizeof(double) * n),
           *z = malloc(sizeof(double) * nn), *copies = malloc(sizeof(double) * nn * (ITER + 1));
    double *start = malloc(sizeof(double) * n);
    rosen_model.start(start);
    rosen_model.hess(start, NULL, g, h);
    double titer[REPS], teig[REPS], inside[REPS];
    int iterations = 0;
    for (int r = 0; r < REPS; r++) {
        hessrt_newton_options o = hessrt_default_newton_options(HESSRT_TRUST_REGION);
        o.max_iterations = ITER;
        hessrt_newton_result res;
        double t0 = now();
        hessrt_newton(&rosen_model, NULL, start, &o, &res);
        double t1 = now();
        iterations = res.iterations;
        inside[r] = 100 * (1 - res.lapack_seconds / (t1 - t0));
        hessrt_newton_result_free(&res);
        for (int c = 0; c <= ITER; c++)
            memcpy(copies + nn * c, h, sizeof(double) * nn);
        double t2 = now();
        for (int c = 0; c <= ITER; c++)
            hessrt_eigen_inplace(n, copies + nn * c, w, z);
        double t3 = now();
        titer[r] = t1 - t0;
        teig[r] = t3 - t2;
    }
    double mt = median(titer, REPS), mlap = median(teig, REPS), share = median(inside, REPS);
    printf("\nTrust-region Newton, Rosenbrock n = %d, %d iterations (%d Hessians and eigen-decompositions): "
           "%.4f s; dsyevr alone on as many matrices: %.4f s; outside LAPACK: %.1f%%\n",
           n, iterations, ITER + 1, mt, mlap, 100 * (mt - mlap) / mt);
    printf("The same run timed inside hessrt_newton (the dsyevr calls it made, on its own matrices): "
           "outside LAPACK %.1f%% (median of %d runs)\n", share, REPS);
    return 0;
}
