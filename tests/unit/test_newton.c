/* Newton's methods on the lecture's examples, through generated code:
 *   - weakest network from (0.1, 0.05): pure Newton goes to the saddle at the origin (the
 *     nearest critical point); saddle-free, damped, trust-region Newton and gradient descent
 *     (step 0.1) reach the valley w1*w2 = 1 with loss below 1e-12;
 *   - from (0.01, -0.01) trust-region meets the hard case and still reaches the valley;
 *   - at (1, 1/3) the Hessian is singular and the gradient is not 0: pure Newton stops there;
 *   - Rosenbrock from (-1.2, 1): damped, saddle-free and trust-region reach (1, 1) to 1e-8;
 *   - a loss that is NaN at the start: the run stops as non_finite. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hessrt.h"

extern const hessgen_model rtw_model, rtr_model, rtl_model;

static hessrt_newton_result run(const hessgen_model *m, hessrt_method method, double a, double b)
{
    const double start[2] = {a, b};
    hessrt_newton_options o = hessrt_default_newton_options(method);
    hessrt_newton_result r;
    assert_int_equal(hessrt_newton(m, NULL, start, &o, &r), 0);
    return r;
}

static void pure_newton_goes_to_the_saddle(void **state)
{
    (void)state;
    hessrt_newton_result r = run(&rtw_model, HESSRT_PURE, 0.1, 0.05);
    assert_int_equal(r.status, HESSRT_CONVERGED);
    assert_true(fabs(r.theta[0]) < 1e-8 && fabs(r.theta[1]) < 1e-8);
    assert_true(fabs(r.loss - 1) < 1e-12);
    assert_true(r.iterations <= 6);
    /* the trace: the lecture's first row, loss 0.990025 and min eigenvalue -1.96751 */
    assert_true(fabs(r.trace[0].loss - 0.990025) < 1e-12);
    assert_true(fabs(r.trace[0].min_eigenvalue + 1.9675) < 1e-3);
    assert_true(r.trace[0].step == 0 && r.trace[1].step > 0);
    hessrt_newton_result_free(&r);
}

static void the_other_methods_reach_the_valley(void **state)
{
    (void)state;
    const hessrt_method methods[] = {HESSRT_SADDLE_FREE, HESSRT_DAMPED, HESSRT_TRUST_REGION, HESSRT_GD};
    for (int k = 0; k < 4; k++) {
        hessrt_newton_result r = run(&rtw_model, methods[k], 0.1, 0.05);
        printf("%-13s %-10s %3d iterations, loss %.3g at (%.6f, %.6f)\n", hessrt_method_name(methods[k]),
               hessrt_status_name(r.status), r.iterations, r.loss, r.theta[0], r.theta[1]);
        assert_int_equal(r.status, HESSRT_CONVERGED);
        assert_true(r.loss < 1e-12);
        assert_true(fabs(r.theta[0] * r.theta[1] - 1) < 1e-6);
        hessrt_newton_result_free(&r);
    }
}

/* At (a, -a) the gradient is along (1,-1), orthogonal to the lowest eigenvector (1,1): the
 * trust-region subproblem's hard case. The step must still leave the saddle's basin. */
static void trust_region_hard_case(void **state)
{
    (void)state;
    hessrt_newton_result r = run(&rtw_model, HESSRT_TRUST_REGION, 0.01, -0.01);
    printf("trust-region from (0.01, -0.01): %s in %d iterations, loss %.3g\n", hessrt_status_name(r.status),
           r.iterations, r.loss);
    assert_int_equal(r.status, HESSRT_CONVERGED);
    assert_true(r.loss < 1e-12);
    hessrt_newton_result_free(&r);
}

static void pure_newton_refuses_a_singular_hessian(void **state)
{
    (void)state;
    hessrt_newton_result r = run(&rtw_model, HESSRT_PURE, 1, 1.0 / 3);
    assert_int_equal(r.status, HESSRT_SINGULAR);
    assert_int_equal(r.iterations, 0);
    assert_non_null(strstr(r.reason, "singular"));
    hessrt_newton_result_free(&r);
}

static void rosenbrock_from_the_classic_start(void **state)
{
    (void)state;
    const hessrt_method methods[] = {HESSRT_DAMPED, HESSRT_SADDLE_FREE, HESSRT_TRUST_REGION};
    for (int k = 0; k < 3; k++) {
        hessrt_newton_result r = run(&rtr_model, methods[k], -1.2, 1);
        printf("%-13s %-10s %3d iterations to (%.10f, %.10f)\n", hessrt_method_name(methods[k]),
               hessrt_status_name(r.status), r.iterations, r.theta[0], r.theta[1]);
        assert_int_equal(r.status, HESSRT_CONVERGED);
        assert_true(fabs(r.theta[0] - 1) < 1e-8 && fabs(r.theta[1] - 1) < 1e-8);
        hessrt_newton_result_free(&r);
    }
}

static void outside_the_domain_is_non_finite(void **state)
{
    (void)state;
    const double start[1] = {-1};
    hessrt_newton_options o = hessrt_default_newton_options(HESSRT_DAMPED);
    hessrt_newton_result r;
    assert_int_equal(hessrt_newton(&rtl_model, NULL, start, &o, &r), 0);
    assert_int_equal(r.status, HESSRT_DIVERGED);
    assert_string_equal(hessrt_status_name(r.status), "diverged");
    hessrt_newton_result_free(&r);
}

static void method_names_round_trip(void **state)
{
    (void)state;
    hessrt_method m;
    for (int k = 0; k <= HESSRT_GD; k++) {
        assert_int_equal(hessrt_method_parse(hessrt_method_name((hessrt_method)k), &m), 0);
        assert_int_equal(m, k);
    }
    assert_int_equal(hessrt_method_parse("newton", &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pure_newton_goes_to_the_saddle),
        cmocka_unit_test(the_other_methods_reach_the_valley),
        cmocka_unit_test(trust_region_hard_case),
        cmocka_unit_test(pure_newton_refuses_a_singular_hessian),
        cmocka_unit_test(rosenbrock_from_the_classic_start),
        cmocka_unit_test(outside_the_domain_is_non_finite),
        cmocka_unit_test(method_names_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
