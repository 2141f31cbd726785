/* Calls ONE function of a hessgen-generated model a given number of times, for callgrind
 * (bench/checked/run.sh).
 *
 *   cc -O2 -DM=PREFIX -DHEADER='"gen.h"' [-DWITH_DATA] [-DCHECKED] driver.c gen.o -lm -Wl,-z,now
 *   ./driver hess|grad REPS
 *
 * hess: M_hess(theta, [data,] grad, hess), the dense Hessian with the gradient; grad: M_grad.
 * The point is fixed and irregular (every entry different, none 0, so that no libm function
 * takes a special-value shortcut). With -DWITH_DATA the model takes a `const M_data *` and the
 * driver makes NROWS rows of its X[n][3], y[n] (logistic.hl) with its own generator: the same
 * numbers on every machine. With -DCHECKED (code from hessgen --checked) the driver fails if the
 * evaluation reported a fault. The last call's results are printed exactly (%a) on standard
 * output, for run.sh to compare between the three builds of one model.
 * The model lives in its own translation unit (no LTO), so nothing of it is inlined into main
 * and --toggle-collect=M_hess sees one call per repetition, its callees (row loops, the
 * checked code's helpers, libm) included. -Wl,-z,now: no lazy binding is charged to a call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include HEADER

#define CAT2(a, b) a##_##b
#define CAT(a, b) CAT2(a, b)
#define FN(name) CAT(M, name)
#define NP CAT(M, NPARAM) /* M_NPARAM, from the header */

#ifndef NROWS
#define NROWS 1000
#endif

#ifdef WITH_DATA
#define DATA_ARG &data,
#else
#define DATA_ARG
#endif

#ifdef WITH_DATA
static unsigned long long lcg_state = 20261201ull;
static double uniform(void) /* in [0, 1): Knuth's MMIX LCG, the top 53 bits */
{
    lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(lcg_state >> 11) / 9007199254740992.0;
}
#endif

int main(int argc, char **argv)
{
    const int n = NP;
    const char *op = argc > 1 ? argv[1] : "hess";
    int reps = argc > 2 ? atoi(argv[2]) : 1;
    int hess = !strcmp(op, "hess");
    if (!hess && strcmp(op, "grad")) {
        fprintf(stderr, "driver: OP is hess or grad, not %s\n", op);
        return 2;
    }
    double theta[NP], grad[NP];
    double *h = calloc((size_t)n * n, sizeof *h); /* touched before the measured calls */
    for (int i = 0; i < n; i++)
        theta[i] = 0.3 + 0.1 * (double)((i * 37) % 17 - 8) / 8.0; /* 0.2 .. 0.4, irregular */
    memset(grad, 0, sizeof grad);
#ifdef WITH_DATA
    static double X[NROWS * 3], y[NROWS];
    for (int r = 0; r < NROWS; r++) {
        double z = 0.25;
        for (int j = 0; j < 3; j++) {
            X[r * 3 + j] = 4.0 * uniform() - 2.0;
            z += (j == 0 ? 1.5 : j == 1 ? -2.0 : 0.5) * X[r * 3 + j];
        }
        y[r] = (z + uniform() - 0.5 > 0) ? 1.0 : -1.0; /* a noisy linear rule */
    }
    FN(data) data;
    size_t counts[1] = {NROWS};
    const double *arrays[2] = {X, y};
    if (FN(data_bind)(&data, counts, arrays) != 0) {
        fprintf(stderr, "driver: data_bind failed\n");
        return 2;
    }
#endif
    double loss = 0;
    for (int r = 0; r < reps; r++)
        loss = hess ? FN(hess)(theta, DATA_ARG grad, h) : FN(grad)(theta, DATA_ARG grad);
#ifdef CHECKED
    if (FN(fault_get)(NULL)) {
        fprintf(stderr, "driver: the checked code reported a fault: %s\n", FN(fault_text)());
        return 1;
    }
#endif
    printf("loss %a\n", loss);
    for (int i = 0; i < n; i++)
        printf("grad[%d] %a\n", i, grad[i]);
    if (hess)
        for (int i = 0; i < n * n; i++)
            printf("hess[%d] %a\n", i, h[i]);
    free(h);
    return 0;
}
