/* The extended Rosenbrock function in 1000 parameters against a hand-written tridiagonal
 * Hessian:
 *   L = sum_i 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2,  i = 0..998
 *   d2L/dx[i]^2     = 1200 x[i]^2 - 400 x[i+1] + 2   (i < 999)   + 200   (i > 0)
 *   d2L/dx[i+1]dx[i] = -400 x[i]
 * The pattern must be exactly the diagonal and the subdiagonal: 1999 entries. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#define N 1000
double rosen_hess_sparse(const double *theta, double *grad, double *values);
double rosen_hess(const double *theta, double *grad, double *hess);
double rosen_grad(const double *theta, double *grad);
extern const int rosen_hess_nnz, rosen_hess_rows[], rosen_hess_cols[];
void rosen_start(double *theta);
int rosen_param_name(int k, char *buf, size_t cap);

static void pattern_is_tridiagonal(void **state)
{
    (void)state;
    assert_int_equal(rosen_hess_nnz, 1999);
    /* row-major lower triangle: (0,0), (1,0), (1,1), (2,1), (2,2), ... */
    assert_true(rosen_hess_rows[0] == 0 && rosen_hess_cols[0] == 0);
    for (int k = 1; k < rosen_hess_nnz; k++) {
        int i = (k + 1) / 2, j = k / 2;
        assert_int_equal(rosen_hess_rows[k], i);
        assert_int_equal(rosen_hess_cols[k], j);
    }
}

static void values_match_hand_written(void **state)
{
    (void)state;
    double *x = malloc(sizeof(double) * N), *vals = malloc(sizeof(double) * 1999), *g = malloc(sizeof(double) * N);
    for (int i = 0; i < N; i++)
        x[i] = i % 2 ? 1.25 - 0.001 * i : -0.75 + 0.0005 * i;
    rosen_hess_sparse(x, g, vals);
    for (int k = 0; k < rosen_hess_nnz; k++) {
        int i = rosen_hess_rows[k], j = rosen_hess_cols[k];
        double want;
        if (i == j)
            want = (i < N - 1 ? 1200 * x[i] * x[i] - 400 * x[i + 1] + 2 : 0) + (i > 0 ? 200 : 0);
        else
            want = -400 * x[j];
        assert_true(fabs(vals[k] - want) <= 1e-12 * (fabs(want) + 1));
    }
    double g2[N];
    rosen_grad(x, g2);
    for (int i = 0; i < N; i++)
        assert_true(g[i] == g2[i]);
    free(x);
    free(vals);
    free(g);
}

static void start_is_minus_1_2(void **state)
{
    (void)state;
    static double theta[N];
    rosen_start(theta);
    for (int i = 0; i < N; i++)
        assert_true(theta[i] == -1.2);
    char name[16];
    assert_int_equal(rosen_param_name(N - 1, name, sizeof name), 6);
    assert_string_equal(name, "x[999]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pattern_is_tridiagonal),
        cmocka_unit_test(values_match_hand_written),
        cmocka_unit_test(start_is_minus_1_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
