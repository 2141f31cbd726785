/* Driver of bench/data/: times and checks the generated lr_hess against the hand-written
 * BLAS peer (lr_hand.c) and the information-only shapes (lr_loops.c, unrolled.py). Linked with
 * one build of the generated file (lr.c from `hessgen logreg50.hl --prefix lr`) and of the
 * shapes, compiled with whatever flags are being measured.
 *
 * METHOD is one of: gen (lr_hess), blas (hand_hess, OpenBLAS on 1 thread), blas2 (the same on
 * 2 threads), rank1, rank1x4 (lr_loops.c), unrolled (unrolled.py). Each call computes the loss,
 * the gradient and the dense Hessian.
 *
 *   lr_bench info                       OpenBLAS's configuration and core
 *   lr_bench time N REPS METHOD...      one warm-up call of each, then REPS rounds, each calling
 *                                       every METHOD once in turn (so that load from other
 *                                       processes hits them alike); per METHOD: median and runs
 *                                       of the wall time, median of the process's CPU time
 *   lr_bench check N                    every METHOD against gen: exit 1 unless loss, gradient
 *                                       and Hessian agree to 1e-10, entrywise and relative to
 *                                       the terms' scale (see compare())
 *   lr_bench dump N FILE                writes gen's loss, gradient, Hessian (binary)
 *   lr_bench cmp N FILE TOL             compares this build's lr_hess with a dump; exit 1 unless
 *                                       they agree to TOL relative to the terms' scale; the
 *                                       entrywise figure is printed (see compare())
 *   lr_bench calls METHOD N K           K untimed calls (what callgrind measures)
 *   lr_bench omp N REPS                 (a -fopenmp build only) lr_hess on 1 and 2 threads,
 *                                       alternating call by call; the two medians (wall and
 *                                       CPU time of both threads)
 *
 * OpenBLAS: openblas_set_num_threads(1 or 2) before each BLAS call; run with
 * OPENBLAS_NUM_THREADS=1 (bench.py does) unless blas2 is being timed, so that no OpenBLAS worker
 * thread exists to spin between calls and take CPU from the method timed next.
 *
 * Data and theta: common.h (deterministic). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "common.h"
#include "lr.h"
#include "lr_hand.h"

double loops_rank1(const double *th, size_t n, const double *X, const double *y, double *grad,
                   double *hess);
double loops_rank1x4(const double *th, size_t n, const double *X, const double *y,
                     double *grad, double *hess);
double unrolled_hess(const double *th, size_t n, const double *X, const double *y,
                     double *grad, double *hess);

/* OpenBLAS's own entry points (declared by its cblas.h, repeated here in case the cblas.h
   found first is another implementation's) */
void openblas_set_num_threads(int num_threads);
char *openblas_get_config(void);
char *openblas_get_corename(void);

typedef struct {
    size_t n;
    double *X, *y, *work;
    double theta[NP];
    lr_data data;
} problem;

static void setup(problem *P, size_t n, int want_work)
{
    P->n = n;
    P->X = malloc(n * NF * sizeof(double));
    P->y = malloc(n * sizeof(double));
    P->work = want_work ? malloc(n * (NP + 1) * sizeof(double)) : NULL;
    if (P->X == NULL || P->y == NULL || (want_work && P->work == NULL)) {
        fprintf(stderr, "lr_bench: out of memory for %zu rows\n", n);
        exit(2);
    }
    bd_make_data(n, P->X, P->y);
    bd_make_theta(P->theta);
    memset(&P->data, 0, sizeof P->data); /* hessgen_part zero: the rows are the whole data set */
    P->data.n = n;
    P->data.X = P->X;
    P->data.y = P->y;
    if (lr_data_check(&P->data) != 0) {
        fprintf(stderr, "lr_bench: %s\n", lr_data_error(lr_data_check(&P->data)));
        exit(2);
    }
}

static const char *const METHODS[] = {"gen", "blas", "blas2", "rank1", "rank1x4", "unrolled"};
#define NMETHODS 6

static int parse_method(const char *s)
{
    for (int k = 0; k < NMETHODS; k++)
        if (strcmp(s, METHODS[k]) == 0)
            return k;
    fprintf(stderr, "lr_bench: unknown method '%s'\n", s);
    exit(2);
}

static double run_one(problem *P, int method, double *grad, double *hess)
{
    switch (method) {
    case 0:
        return lr_hess(P->theta, &P->data, grad, hess);
    case 1:
    case 2:
        openblas_set_num_threads(method == 1 ? 1 : 2);
        return hand_hess(P->theta, P->n, P->X, P->y, grad, hess, P->work);
    case 3:
        return loops_rank1(P->theta, P->n, P->X, P->y, grad, hess);
    case 4:
        return loops_rank1x4(P->theta, P->n, P->X, P->y, grad, hess);
    default:
        return unrolled_hess(P->theta, P->n, P->X, P->y, grad, hess);
    }
}

static size_t parse_n(const char *s)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || v == 0) {
        fprintf(stderr, "lr_bench: bad row count '%s'\n", s);
        exit(2);
    }
    return (size_t)v;
}

/* 1 + 51 + 51*51 values: loss, gradient, Hessian */
#define NOUT (1 + NP + NP * NP)

static void pack(double loss, const double *grad, const double *hess, double *out)
{
    out[0] = loss;
    memcpy(out + 1, grad, NP * sizeof(double));
    memcpy(out + 1 + NP, hess, NP * NP * sizeof(double));
}

/* Passes when every value is within tol of the other relative to its scale S (bd_scales: the
   sum of the absolute values of its terms), which is what reordering a sum can change, and,
   if entrywise_too, also relative to itself (|a - b| <= tol max(|a|, |b|)); both are printed. */
static int compare(const double *a, const double *b, const double *S, double tol,
                   int entrywise_too, const char *what)
{
    double el = bd_rel(a[0], b[0]);
    double eg = bd_max_rel(a + 1, b + 1, NP);
    double eh = bd_max_rel(a + 1 + NP, b + 1 + NP, NP * NP);
    double nh = bd_max_abs_rel(a + 1 + NP, b + 1 + NP, NP * NP);
    double sl = bd_max_scaled(a, b, S, 1);
    double sg = bd_max_scaled(a + 1, b + 1, S + 1, NP);
    double sh = bd_max_scaled(a + 1 + NP, b + 1 + NP, S + 1 + NP, NP * NP);
    const int ok_e = el <= tol && eg <= tol && eh <= tol;
    printf("%s: entrywise relative: loss %.3g, gradient %.3g, Hessian %.3g; "
           "Hessian max|diff|/max|H| %.3g; tolerance %.3g: %s\n", what, el, eg, eh, nh, tol,
           ok_e ? "ok" : entrywise_too ? "FAIL" : "over (information)");
    printf("%s: relative to the sum of |terms|: loss %.3g, gradient %.3g, Hessian %.3g; "
           "tolerance %.3g: %s\n", what, sl, sg, sh, tol,
           sl <= tol && sg <= tol && sh <= tol ? "ok" : "FAIL");
    /* where the entrywise difference is largest */
    int kw = 0;
    for (int k = 1; k < NOUT; k++)
        if (bd_rel(a[k], b[k]) > bd_rel(a[kw], b[kw]))
            kw = k;
    printf("%s: largest entrywise difference at value %d: %.17g vs %.17g (scale %.3g)\n", what,
           kw, a[kw], b[kw], S[kw]);
    if (!(sl <= tol && sg <= tol && sh <= tol) || (entrywise_too && !ok_e)) {
        fprintf(stderr, "lr_bench: %s: DISAGREE beyond %.3g\n", what, tol);
        return 1;
    }
    return 0;
}

static double *scales(const problem *P)
{
    double *S = malloc(NOUT * sizeof(double));
    bd_scales(P->n, P->X, P->y, P->theta, S);
    return S;
}

#ifdef _OPENMP
#include <omp.h>
#endif

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: lr_bench info|time|check|dump|cmp|calls ...\n");
        return 2;
    }
    openblas_set_num_threads(1);
    const char *mode = argv[1];
    static double grad[NP], hess[NP * NP], grad2[NP], hess2[NP * NP];

    if (strcmp(mode, "info") == 0) {
        printf("openblas_config %s\nopenblas_core %s\n", openblas_get_config(),
               openblas_get_corename());
        return 0;
    }
    if (strcmp(mode, "time") == 0 && argc >= 5) {
        problem P;
        setup(&P, parse_n(argv[2]), 1);
        int reps = atoi(argv[3]);
        if (reps < 1 || reps > 1000)
            return 2;
        int nm = argc - 4, *m = malloc((size_t)nm * sizeof *m);
        double *t = malloc((size_t)nm * (size_t)reps * sizeof *t);
        double *u = malloc((size_t)nm * (size_t)reps * sizeof *u);
        for (int q = 0; q < nm; q++)
            m[q] = parse_method(argv[4 + q]);
        volatile double sink = 0.0;
        for (int q = 0; q < nm; q++) /* warm-up */
            sink += run_one(&P, m[q], grad, hess);
        for (int k = 0; k < reps; k++)
            for (int q = 0; q < nm; q++) {
                double u0 = bd_cpu_now(), t0 = bd_now();
                sink += run_one(&P, m[q], grad, hess);
                t[q * reps + k] = bd_now() - t0;
                u[q * reps + k] = bd_cpu_now() - u0;
            }
        (void)sink;
        for (int q = 0; q < nm; q++) {
            printf("%s median_s %.6g runs_s", METHODS[m[q]], bd_median(t + q * reps, reps));
            for (int k = 0; k < reps; k++)
                printf(" %.6g", t[q * reps + k]);
            printf("\n%s cpu_median_s %.6g\n", METHODS[m[q]], bd_median(u + q * reps, reps));
        }
        return 0;
    }
    if (strcmp(mode, "check") == 0 && argc == 3) {
        problem P;
        setup(&P, parse_n(argv[2]), 1);
        double *S = scales(&P);
        static double a[NOUT], b[NOUT];
        double lg = lr_hess(P.theta, &P.data, grad, hess);
        pack(lg, grad, hess, a);
        printf("gen: loss %.17g H[0][0] %.17g H[50][50] %.17g H[3][7] %.17g\n", lg, hess[0],
               hess[NP * NP - 1], hess[3 * NP + 7]);
        int bad = 0;
        for (int q = 1; q < NMETHODS; q++) {
            double l = run_one(&P, q, grad2, hess2);
            pack(l, grad2, hess2, b);
            char what[64];
            snprintf(what, sizeof what, "gen vs %s", METHODS[q]);
            bad |= compare(a, b, S, 1e-10, 1, what);
        }
        return bad;
    }
    if (strcmp(mode, "dump") == 0 && argc == 4) {
        problem P;
        setup(&P, parse_n(argv[2]), 0);
        static double a[NOUT];
        pack(lr_hess(P.theta, &P.data, grad, hess), grad, hess, a);
        FILE *f = fopen(argv[3], "wb");
        if (f == NULL || fwrite(a, sizeof(double), NOUT, f) != NOUT || fclose(f) != 0) {
            perror(argv[3]);
            return 2;
        }
        return 0;
    }
    if (strcmp(mode, "cmp") == 0 && argc == 5) {
        problem P;
        setup(&P, parse_n(argv[2]), 0);
        static double a[NOUT], b[NOUT];
        FILE *f = fopen(argv[3], "rb");
        if (f == NULL || fread(b, sizeof(double), NOUT, f) != NOUT) {
            perror(argv[3]);
            return 2;
        }
        fclose(f);
        pack(lr_hess(P.theta, &P.data, grad, hess), grad, hess, a);
        return compare(a, b, scales(&P), atof(argv[4]), 0, "this build vs the dump");
    }
#ifdef _OPENMP
    if (strcmp(mode, "omp") == 0 && argc == 4) {
        /* the generated lr_hess on 1 and on 2 threads, alternately, so that load from other
           processes hits both alike */
        problem P;
        setup(&P, parse_n(argv[2]), 0);
        int reps = atoi(argv[3]);
        if (reps < 1 || reps > 1000)
            return 2;
        double *t1 = malloc((size_t)reps * sizeof *t1), *t2 = malloc((size_t)reps * sizeof *t2);
        double *u1 = malloc((size_t)reps * sizeof *u1), *u2 = malloc((size_t)reps * sizeof *u2);
        volatile double sink = 0.0;
        for (int th = 1; th <= 2; th++) { /* warm-up: starts the thread pool */
            omp_set_num_threads(th);
            sink += lr_hess(P.theta, &P.data, grad, hess);
        }
        for (int k = 0; k < reps; k++)
            for (int th = 1; th <= 2; th++) {
                omp_set_num_threads(th);
                double u0 = bd_cpu_now(), t0 = bd_now();
                sink += lr_hess(P.theta, &P.data, grad, hess);
                (th == 1 ? t1 : t2)[k] = bd_now() - t0;
                (th == 1 ? u1 : u2)[k] = bd_cpu_now() - u0;
            }
        (void)sink;
        printf("median_1_s %.6g\nmedian_2_s %.6g\n", bd_median(t1, reps), bd_median(t2, reps));
        printf("cpu_median_1_s %.6g\ncpu_median_2_s %.6g\nruns_1_s", bd_median(u1, reps),
               bd_median(u2, reps));
        for (int k = 0; k < reps; k++)
            printf(" %.6g", t1[k]);
        printf("\nruns_2_s");
        for (int k = 0; k < reps; k++)
            printf(" %.6g", t2[k]);
        printf("\n");
        return 0;
    }
#endif
    if (strcmp(mode, "calls") == 0 && argc == 5) {
        int method = parse_method(argv[2]);
        problem P;
        setup(&P, parse_n(argv[3]), method == 1 || method == 2);
        int k = atoi(argv[4]);
        volatile double sink = 0.0;
        for (int c = 0; c < k; c++)
            sink += run_one(&P, method, grad, hess);
        (void)sink;
        return 0;
    }
    fprintf(stderr, "lr_bench: bad arguments (see the comment at the top of lr_bench.c)\n");
    return 2;
}
