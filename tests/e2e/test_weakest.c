/* The lecture's weakest network, L = (1 - w1*w2)^2: the values the notes give, exactly.
 * At the origin H = [[0,-2],[-2,0]] (a saddle, eigenvalues -2 and 2); at (1,1), on the
 * valley w1*w2 = 1, H = [[2,2],[2,2]] and the gradient is zero. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define WEAKEST_PARAMS 2
double weakest_loss(const double *theta);
double weakest_grad(const double *theta, double *grad);
double weakest_hess(const double *theta, double *grad, double *hess);
void weakest_hvp(const double *theta, const double *v, double *hv);
double weakest_hess_sparse(const double *theta, double *grad, double *values);
extern const int weakest_hess_nnz, weakest_hess_rows[], weakest_hess_cols[];
int weakest_param_name(int k, char *buf, size_t cap);
void weakest_start(double *theta);

static void hessian_at_origin(void **state)
{
    (void)state;
    const double theta[2] = {0, 0};
    double g[2] = {7, 7}, h[4] = {7, 7, 7, 7};
    assert_true(weakest_hess(theta, g, h) == 1.0);
    assert_true(g[0] == 0.0 && g[1] == 0.0);
    assert_true(h[0] == 0.0 && h[1] == -2.0 && h[2] == -2.0 && h[3] == 0.0);
}

static void hessian_on_the_valley(void **state)
{
    (void)state;
    const double theta[2] = {1, 1};
    double g[2] = {7, 7}, h[4];
    assert_true(weakest_hess(theta, g, h) == 0.0);
    assert_true(g[0] == 0.0 && g[1] == 0.0);
    assert_true(h[0] == 2.0 && h[1] == 2.0 && h[2] == 2.0 && h[3] == 2.0);
}

static void gradient_off_the_valley(void **state)
{
    (void)state;
    /* at (2, 3): r = 1 - 6 = -5, dL/dw1 = -2*w2*r = 30, dL/dw2 = -2*w1*r = 20 */
    const double theta[2] = {2, 3};
    double g[2];
    assert_true(weakest_grad(theta, g) == 25.0);
    assert_true(g[0] == 30.0 && g[1] == 20.0);
    assert_true(weakest_loss(theta) == 25.0);
}

static void sparse_matches_dense(void **state)
{
    (void)state;
    const double theta[2] = {0.5, -1.5};
    double h[4], vals[3];
    weakest_hess(theta, NULL, h);
    assert_int_equal(weakest_hess_nnz, 3);
    weakest_hess_sparse(theta, NULL, vals);
    for (int k = 0; k < weakest_hess_nnz; k++)
        assert_true(vals[k] == h[weakest_hess_rows[k] * 2 + weakest_hess_cols[k]]);
    const double v[2] = {1, -2};
    double hv[2];
    weakest_hvp(theta, v, hv);
    assert_true(hv[0] == h[0] * v[0] + h[1] * v[1]);
    assert_true(hv[1] == h[2] * v[0] + h[3] * v[1]);
}

static void names_and_start(void **state)
{
    (void)state;
    char name[8] = "xxxxxxx", cut[2] = "x";
    assert_int_equal(weakest_param_name(0, name, sizeof name), 2);
    assert_string_equal(name, "w1");
    assert_int_equal(weakest_param_name(1, name, sizeof name), 2);
    assert_string_equal(name, "w2");
    assert_int_equal(weakest_param_name(1, cut, sizeof cut), 2); /* cut to the buffer, length whole */
    assert_string_equal(cut, "w");
    assert_int_equal(weakest_param_name(2, name, sizeof name), -1);
    assert_int_equal(weakest_param_name(-1, name, sizeof name), -1);
    double theta[2] = {7, 7};
    weakest_start(theta);
    assert_true(theta[0] == 0.0 && theta[1] == 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hessian_at_origin),       cmocka_unit_test(hessian_on_the_valley),
        cmocka_unit_test(gradient_off_the_valley), cmocka_unit_test(sparse_matches_dense),
        cmocka_unit_test(names_and_start),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
