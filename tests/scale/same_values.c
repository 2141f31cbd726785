/* same_values.c: model A (loops over families) against model B (the same source, straight-line
 * code) at three pseudo-random points: every function, normwise relative 1e-12. Built by
 * tests/scale/test_scale.py with the two generated files (prefixes A and B). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "hessrt.h"

extern const hessgen_model A_model, B_model;
static int failures;

#include "close.h"

/* loops (a) against straight-line code (b) */
#define compare(what, a, b, n) expect_close(&failures, what, a, b, n)

int main(void)
{
    const hessgen_model *A = &A_model, *B = &B_model;
    size_t n = (size_t)A->nparam, nnz = (size_t)A->hess_nnz;
    if (A->nparam != B->nparam || A->hess_nnz != B->hess_nnz) {
        printf("FAIL: %d/%d parameters, %d/%d nonzeros\n", A->nparam, B->nparam, A->hess_nnz, B->hess_nnz);
        return 1;
    }
    for (size_t t = 0; t < nnz; t++)
        if (A->hess_rows[t] != B->hess_rows[t] || A->hess_cols[t] != B->hess_cols[t]) {
            printf("FAIL: pattern entry %zu differs\n", t);
            return 1;
        }
    double *x = malloc(sizeof(double) * n), *v = malloc(sizeof(double) * n);
    double *ga = malloc(sizeof(double) * n), *gb = malloc(sizeof(double) * n);
    double *ha = malloc(sizeof(double) * n * n), *hb = malloc(sizeof(double) * n * n);
    double *sa = malloc(sizeof(double) * (nnz + 1)), *sb = malloc(sizeof(double) * (nnz + 1));
    unsigned long long s = 99;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            x[i] = ((double)(s >> 11) / 9007199254740992.0) * 2 - 1;
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            v[i] = ((double)(s >> 11) / 9007199254740992.0) * 2 - 1;
        }
        double la[4], lb[4];
        la[0] = A->loss(x, NULL);
        lb[0] = B->loss(x, NULL);
        la[1] = A->grad(x, NULL, ga);
        lb[1] = B->grad(x, NULL, gb);
        compare("gradient", ga, gb, n);
        la[2] = A->hess(x, NULL, ga, ha);
        lb[2] = B->hess(x, NULL, gb, hb);
        compare("dense Hessian", ha, hb, n * n);
        compare("gradient of the Hessian function", ga, gb, n);
        la[3] = A->hess_sparse(x, NULL, ga, sa);
        lb[3] = B->hess_sparse(x, NULL, gb, sb);
        compare("sparse Hessian", sa, sb, nnz);
        compare("loss", la, lb, 4);
        A->hess(x, NULL, NULL, ha); /* grad may be NULL */
        compare("dense Hessian without the gradient", ha, hb, n * n);
        A->hess_values(x, NULL, sa);
        compare("hess_values", sa, sb, nnz);
        A->hvp(x, NULL, v, ga);
        B->hvp(x, NULL, v, gb);
        compare("Hessian-vector product", ga, gb, n);
    }
    printf("%s: %zu parameters, %zu nonzeros\n", failures ? "FAIL" : "ok", n, nnz);
    return failures != 0;
}
