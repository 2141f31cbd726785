/* band_check.c: the generated code of a 100000-parameter model against hand-written
 * derivatives (tests/scale/test_scale.py builds it with -DROSEN or -DBROYDEN and the
 * generated file, prefix M).
 *   Rosenbrock: sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2; tridiagonal Hessian.
 *   Broyden tridiagonal: sum_i f_i^2, f_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1 with
 *   x_{-1} = x_N = 0; pentadiagonal Hessian 2 J^T J - 8 diag(f).
 * Checks the loss, the gradient, the sparse Hessian with its pattern (exactly the band),
 * M_hess_values and M_hvp, normwise relative 1e-12. Prints one line and exits 1 on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define N M_NPARAM
double M_loss(const double *theta);
double M_grad(const double *theta, double *grad);
void M_hvp(const double *theta, const double *v, double *hv);
double M_hess_sparse(const double *theta, double *grad, double *values);
void M_hess_values(const double *theta, double *values);
extern const int M_hess_nnz, M_hess_rows[], M_hess_cols[];

static double *x, *g, *gh, *val, *val2, *v, *hv, *ref_g, *band0, *band1, *band2;

/* band0[j] = H[j][j], band1[j] = H[j+1][j], band2[j] = H[j+2][j] */
static double reference(void)
{
    double f = 0;
#ifdef ROSEN
    for (int j = 0; j < N; j++) {
        ref_g[j] = 0;
        band0[j] = band1[j] = band2[j] = 0;
    }
    for (int i = 0; i + 1 < N; i++) {
        double a = x[i + 1] - x[i] * x[i], c = 1 - x[i];
        f += 100 * a * a + c * c;
        ref_g[i] += -400 * x[i] * a - 2 * c;
        ref_g[i + 1] += 200 * a;
        band0[i] += 1200 * x[i] * x[i] - 400 * x[i + 1] + 2;
        band0[i + 1] += 200;
        band1[i] = -400 * x[i];
    }
#else
    double *fi = malloc(sizeof(double) * N);
    for (int i = 0; i < N; i++) {
        double l = i > 0 ? x[i - 1] : 0, r = i + 1 < N ? x[i + 1] : 0;
        fi[i] = (3 - 2 * x[i]) * x[i] - l - 2 * r + 1;
        f += fi[i] * fi[i];
    }
    for (int j = 0; j < N; j++) {
        double d = 3 - 4 * x[j];
        ref_g[j] = 2 * fi[j] * d - (j + 1 < N ? 2 * fi[j + 1] : 0) - (j > 0 ? 4 * fi[j - 1] : 0);
        band0[j] = 2 * (d * d + (j + 1 < N ? 1 : 0) + (j > 0 ? 4 : 0)) - 8 * fi[j];
        band1[j] = j + 1 < N ? 2 * (-2 * d - (3 - 4 * x[j + 1])) : 0;
        band2[j] = j + 2 < N ? 4 : 0;
    }
    free(fi);
#endif
    return f;
}

static int failures;

#include "close.h"

int main(void)
{
    x = malloc(sizeof(double) * N);
    g = malloc(sizeof(double) * N);
    gh = malloc(sizeof(double) * N);
    v = malloc(sizeof(double) * N);
    hv = malloc(sizeof(double) * N);
    ref_g = malloc(sizeof(double) * N);
    band0 = malloc(sizeof(double) * N);
    band1 = malloc(sizeof(double) * N);
    band2 = malloc(sizeof(double) * N);
    val = malloc(sizeof(double) * (size_t)M_hess_nnz);
    val2 = malloc(sizeof(double) * (size_t)M_hess_nnz);
    double *want = malloc(sizeof(double) * (size_t)M_hess_nnz);
    double *ref_hv = malloc(sizeof(double) * N);
#ifdef ROSEN
    int expect_nnz = 2 * N - 1, width = 1;
#else
    int expect_nnz = 3 * N - 3, width = 2;
#endif
    if (M_hess_nnz != expect_nnz) {
        printf("FAIL pattern: %d nonzeros, expected %d\n", M_hess_nnz, expect_nnz);
        return 1;
    }
    unsigned long long s = 12345;
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            x[i] = ((double)(s >> 11) / 9007199254740992.0) * 3 - 1.5;
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            v[i] = ((double)(s >> 11) / 9007199254740992.0) * 2 - 1;
        }
        double f = reference(), fl = M_loss(x), fg = M_grad(x, g), fh = M_hess_sparse(x, gh, val);
        double fs[3] = {fl, fg, fh}, fw[3] = {f, f, f};
        expect_close(&failures, "loss", fs, fw, 3);
        expect_close(&failures, "gradient", g, ref_g, N);
        expect_close(&failures, "gradient of M_hess_sparse", gh, ref_g, N);
        int prev_r = -1, prev_c = -1;
        for (int t = 0; t < M_hess_nnz; t++) {
            int r = M_hess_rows[t], c = M_hess_cols[t];
            if (r < c || r - c > width || r >= N || c < 0 || (r < prev_r || (r == prev_r && c <= prev_c))) {
                printf("FAIL pattern: entry %d is (%d, %d)\n", t, r, c);
                return 1;
            }
            prev_r = r;
            prev_c = c;
            want[t] = r == c ? band0[c] : r == c + 1 ? band1[c] : band2[c];
        }
        expect_close(&failures, "sparse Hessian", val, want, M_hess_nnz);
        M_hess_values(x, val2);
        expect_close(&failures, "M_hess_values", val2, want, M_hess_nnz);
        for (int j = 0; j < N; j++)
            ref_hv[j] = 0;
        for (int t = 0; t < M_hess_nnz; t++) {
            int r = M_hess_rows[t], c = M_hess_cols[t];
            ref_hv[r] += want[t] * v[c];
            if (r != c)
                ref_hv[c] += want[t] * v[r];
        }
        M_hvp(x, v, hv);
        expect_close(&failures, "Hessian-vector product", hv, ref_hv, N);
    }
    printf("%s: %d parameters, %d nonzeros, %s\n", failures ? "FAIL" : "ok", N, M_hess_nnz,
           failures ? "mismatches above" : "loss, gradient, sparse Hessian and HVP match");
    return failures != 0;
}
