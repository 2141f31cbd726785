/* Calls ONE function of a hessgen-generated model a given number of times, for callgrind.
 *
 *   cc -O2 -DM=PREFIX -DNPARAM=N [-DWITH_ROSEN_HAND] driver.c gen.c [rosen_hand.c] -lm
 *   ./driver OP [REPS]
 *
 * OP: loss grad hess hess_sparse hess_sparse_nograd hess_values hvp, and with -DWITH_ROSEN_HAND also
 * hand_hess hand_loss_hess hand_all; `check` compares the hand-written functions with the generated ones
 * (not for callgrind). The generated code and the hand-written peer live in their own
 * translation units (no LTO), so nothing is inlined into main and callgrind's
 * --toggle-collect=FUNCTION sees exactly one function call per repetition, callees (libm)
 * included. Link with -Wl,-z,now so that no lazy PLT binding is charged to the first call. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(M, name)

/* Weak: bench/callgrind.sh compiles only the functions it measures (see extract.py). */
#define WEAK __attribute__((weak))
WEAK double FN(loss)(const double *theta);
WEAK double FN(grad)(const double *theta, double *grad);
WEAK double FN(hess)(const double *theta, double *grad, double *hess);
WEAK void FN(hvp)(const double *theta, const double *v, double *hv);
WEAK double FN(hess_sparse)(const double *theta, double *grad, double *values);
WEAK void FN(hess_values)(const double *theta, double *values);
extern const int FN(hess_nnz);
extern const int FN(hess_rows)[];
extern const int FN(hess_cols)[];

#ifdef WITH_ROSEN_HAND
void rosen_hand_hess(const double *x, double *values);
double rosen_hand_loss_hess(const double *x, double *values);
double rosen_hand_all(const double *x, double *grad, double *values);
#endif

#ifndef BASE
#define BASE 0.1
#endif

static volatile double sink;

int main(int argc, char **argv)
{
    const int n = NPARAM;
    const char *op = argc > 1 ? argv[1] : "grad";
    int reps = argc > 2 ? atoi(argv[2]) : 1;
    double *theta = malloc(n * sizeof *theta), *v = malloc(n * sizeof *v);
    double *g = malloc(n * sizeof *g), *hv = malloc(n * sizeof *hv);
    double *vals = malloc((FN(hess_nnz) + 1) * sizeof *vals);
    double *dense = strcmp(op, "hess") == 0 ? malloc((size_t)n * n * sizeof *dense) : NULL;
    for (int i = 0; i < n; i++) {
        theta[i] = BASE + 0.01 * (double)((i * 37) % 17 - 8) / 8.0; /* fixed, irregular */
        v[i] = 1.0 / (1 + i % 5);
    }
    memset(g, 0, n * sizeof *g); /* touch every output page before the measured call */
    memset(hv, 0, n * sizeof *hv);
    memset(vals, 0, (FN(hess_nnz) + 1) * sizeof *vals);
    if (dense)
        memset(dense, 0, (size_t)n * n * sizeof *dense);
    void *need = !strcmp(op, "loss") ? (void *)FN(loss)
               : !strcmp(op, "grad") ? (void *)FN(grad)
               : !strcmp(op, "hess") ? (void *)FN(hess)
               : !strcmp(op, "hvp") ? (void *)FN(hvp)
               : !strcmp(op, "hess_values") ? (void *)FN(hess_values)
               : !strncmp(op, "hess_sparse", 11) || !strcmp(op, "check") ? (void *)FN(hess_sparse)
               : (void *)main;
    if (!need) {
        fprintf(stderr, "driver: the function for %s was not compiled in\n", op);
        return 2;
    }
    double acc = 0;
    for (int r = 0; r < reps; r++) {
        if (!strcmp(op, "loss"))
            acc += FN(loss)(theta);
        else if (!strcmp(op, "grad"))
            acc += FN(grad)(theta, g);
        else if (!strcmp(op, "hess"))
            acc += FN(hess)(theta, g, dense);
        else if (!strcmp(op, "hess_sparse"))
            acc += FN(hess_sparse)(theta, g, vals);
        else if (!strcmp(op, "hess_sparse_nograd"))
            acc += FN(hess_sparse)(theta, NULL, vals);
        else if (!strcmp(op, "hess_values"))
            FN(hess_values)(theta, vals);
        else if (!strcmp(op, "hvp"))
            FN(hvp)(theta, v, hv);
#ifdef WITH_ROSEN_HAND
        else if (!strcmp(op, "hand_hess"))
            rosen_hand_hess(theta, vals);
        else if (!strcmp(op, "hand_loss_hess"))
            acc += rosen_hand_loss_hess(theta, vals);
        else if (!strcmp(op, "hand_all"))
            acc += rosen_hand_all(theta, g, vals);
        else if (!strcmp(op, "check")) {
            double *g2 = malloc(n * sizeof *g2), *v2 = malloc(FN(hess_nnz) * sizeof *v2);
            double f1 = FN(hess_sparse)(theta, g, vals), err = 0;
            rosen_hand_hess(theta, v2);
            for (int k = 0; k < FN(hess_nnz); k++)
                err = fmax(err, fabs(v2[k] - vals[k]) / (1 + fabs(vals[k])));
            double f3 = rosen_hand_loss_hess(theta, v2);
            err = fmax(err, fabs(f3 - f1) / (1 + fabs(f1)));
            for (int k = 0; k < FN(hess_nnz); k++)
                err = fmax(err, fabs(v2[k] - vals[k]) / (1 + fabs(vals[k])));
            double f2 = rosen_hand_all(theta, g2, v2);
            err = fmax(err, fabs(f2 - f1) / (1 + fabs(f1)));
            for (int i = 0; i < n; i++)
                err = fmax(err, fabs(g2[i] - g[i]) / (1 + fabs(g[i])));
            for (int k = 0; k < FN(hess_nnz); k++)
                err = fmax(err, fabs(v2[k] - vals[k]) / (1 + fabs(vals[k])));
            if (FN(hess_values)) {
                FN(hess_values)(theta, v2);
                for (int k = 0; k < FN(hess_nnz); k++)
                    err = fmax(err, fabs(v2[k] - vals[k]) / (1 + fabs(vals[k])));
            }
            if (FN(hess_nnz) != 2 * n - 1)
                err = 1;
            for (int k = 0; k < FN(hess_nnz); k++) /* the order: (0,0), (1,0), (1,1), (2,1), ... */
                if (FN(hess_rows)[k] != (k + 1) / 2 || FN(hess_cols)[k] != k / 2)
                    err = 1;
            printf("hand-written vs generated: max relative difference %.3g\n", err);
            return err < 1e-12 ? 0 : 1;
        }
#endif
        else {
            fprintf(stderr, "driver: unknown op %s\n", op);
            return 2;
        }
    }
    sink = acc + g[0] + hv[0] + vals[0] + (dense ? dense[0] : 0);
    return 0;
}
