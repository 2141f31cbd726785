/* libhessrt's classification: known matrices whose eigenvalues are known by construction,
 * inertia by dsytrf against dsyevr on a 200x200 matrix with a planted inertia, and the
 * lecture's weakest network through generated code (the saddle at the origin, its escape
 * direction (1,1)/sqrt(2), the degenerate valley point (1,1)). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <lapacke.h>

#include "hessrt.h"

extern const hessgen_model rtw_model; /* examples/weakest.hl, generated with --prefix rtw */

static void classify_matrix(int n, const double *h, int neg, int zero, int pos)
{
    double *w = malloc(sizeof(double) * (size_t)n);
    assert_int_equal(hessrt_eigen(n, h, w, NULL), 0);
    double scale = 0;
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(w[i]));
    int cn = 0, cz = 0, cp = 0;
    for (int i = 0; i < n; i++) {
        if (fabs(w[i]) <= 1e-9 * scale)
            cz++;
        else if (w[i] < 0)
            cn++;
        else
            cp++;
    }
    assert_int_equal(cn, neg);
    assert_int_equal(cz, zero);
    assert_int_equal(cp, pos);
    int in, iz, ip;
    assert_int_equal(hessrt_inertia(n, h, 1e-9, &in, &iz, &ip), 0);
    assert_int_equal(in, neg);
    assert_int_equal(iz, zero);
    assert_int_equal(ip, pos);
    free(w);
}

static void small_known_matrices(void **state)
{
    (void)state;
    const double definite[9] = {2, -1, 0, -1, 2, -1, 0, -1, 2}; /* eigenvalues 2-sqrt2, 2, 2+sqrt2 */
    classify_matrix(3, definite, 0, 0, 3);
    const double negdef[4] = {-3, 1, 1, -3}; /* -4, -2 */
    classify_matrix(2, negdef, 2, 0, 0);
    const double indefinite[4] = {0, -2, -2, 0}; /* the lecture's saddle: -2, 2 */
    classify_matrix(2, indefinite, 1, 0, 1);
    const double semidef[4] = {2, 2, 2, 2}; /* the valley: 0, 4 */
    classify_matrix(2, semidef, 0, 1, 1);
    const double zero[4] = {0, 0, 0, 0};
    int in, iz, ip;
    assert_int_equal(hessrt_inertia(2, zero, 1e-9, &in, &iz, &ip), 0);
    assert_int_equal(iz, 2);
    const double one[1] = {-5};
    classify_matrix(1, one, 1, 0, 0);
}

/* Q diag(lambda) Q^T with Q orthogonal from the QR factorization of a random matrix. */
static void planted_inertia_200(void **state)
{
    (void)state;
    enum { N = 200 };
    double *a = malloc(sizeof(double) * N * N), *h = calloc(N * N, sizeof(double)), tau[N], lam[N];
    srand(7);
    for (int k = 0; k < N * N; k++)
        a[k] = (double)rand() / RAND_MAX - 0.5;
    assert_int_equal(LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, N, N, a, N, tau), 0);
    assert_int_equal(LAPACKE_dorgqr(LAPACK_ROW_MAJOR, N, N, N, a, N, tau), 0);
    /* 60 negative, 15 zero, 125 positive, magnitudes between 0.5 and 10 */
    for (int i = 0; i < N; i++)
        lam[i] = i < 60 ? -(0.5 + (i % 20) * 0.5) : i < 75 ? 0.0 : 0.5 + (i % 19) * 0.5;
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++) {
            double s = 0;
            for (int k = 0; k < N; k++)
                s += a[i * N + k] * lam[k] * a[j * N + k];
            h[i * N + j] = h[j * N + i] = s;
        }
    classify_matrix(N, h, 60, 15, 125);
    free(a);
    free(h);
}

static void weakest_origin_is_a_saddle(void **state)
{
    (void)state;
    const double theta[2] = {0, 0};
    hessrt_report r;
    assert_int_equal(hessrt_classify(&rtw_model, NULL, theta, NULL, &r), 0);
    assert_true(r.critical);
    assert_int_equal(r.verdict, HESSRT_SADDLE);
    assert_string_equal(hessrt_verdict_name(r.verdict), "saddle");
    assert_true(fabs(r.eigenvalues[0] + 2) < 1e-14 && fabs(r.eigenvalues[1] - 2) < 1e-14);
    assert_true(fabs(r.escape[0] - M_SQRT1_2) < 1e-14 && fabs(r.escape[1] - M_SQRT1_2) < 1e-14);
    assert_true(fabs(r.predicted_decrease - 1) < 1e-14); /* L = 1 - t^2 along the escape */
    assert_true(r.min_ratio == 0.5);
    hessrt_report_free(&r);
}

static void weakest_valley_is_degenerate(void **state)
{
    (void)state;
    const double theta[2] = {1, 1};
    hessrt_report r;
    assert_int_equal(hessrt_classify(&rtw_model, NULL, theta, NULL, &r), 0);
    assert_int_equal(r.verdict, HESSRT_DEGENERATE);
    assert_int_equal(r.zero, 1);
    assert_int_equal(r.positive, 1);
    assert_true(fabs(r.eigenvalues[1] - 4) < 1e-14);
    assert_null(r.escape);
    hessrt_report_free(&r);
    const double off[2] = {0.5, 0.5}; /* gradient 1.5*(-2)*0.5 = -0.75 per coordinate */
    assert_int_equal(hessrt_classify(&rtw_model, NULL, off, NULL, &r), 0);
    assert_int_equal(r.verdict, HESSRT_NOT_CRITICAL);
    assert_true(fabs(r.gradient_norm - 0.75 * M_SQRT2) < 1e-14);
    hessrt_report_free(&r);
}

/* The implied-step measure by hand: s_k = (|q_k| - rho) / max(|lambda_k|, 8 n eps max|lambda|),
 * 0 within rho. */
static void implied_step_by_hand(void **state)
{
    (void)state;
    const double lam[2] = {2, 4}, q[2] = {0.002, 0};
    assert_true(hessrt_implied_step(2, lam, q, 0) == 0.001);
    assert_true(fabs(hessrt_implied_step(2, lam, q, 1e-3) - 0.0005) < 1e-18);
    assert_true(hessrt_implied_step(2, lam, q, 0.002) == 0); /* all of it rounding */
    /* scaling the loss (g, H and so rho alike) changes nothing */
    const double lam6[2] = {2e6, 4e6}, q6[2] = {2e3, 0};
    assert_true(hessrt_implied_step(2, lam6, q6, 0) == 0.001);
    /* along a zero eigenvalue: a gradient within rho is zero, any other is divided by the
     * curvature the eigen-solver resolves, 8 n eps max|lambda| */
    const double flat[2] = {0, 4}, qf[2] = {1e-12, 0};
    assert_true(fabs(hessrt_implied_step(2, flat, qf, 1e-13) - 0.9e-12 / (64 * DBL_EPSILON)) < 1e-6);
    assert_true(hessrt_implied_step(2, flat, qf, 1e-12) == 0);
    /* H = 0: a zero gradient is zero, any other is no step away */
    const double zero[2] = {0, 0}, qz[2] = {1e-300, 0};
    assert_true(hessrt_implied_step(2, zero, zero, 0) == 0);
    assert_true(isinf(hessrt_implied_step(2, zero, qz, 0)));
}

/* The gradient's rounding: the floor is 8 n eps |g|; measured at a point of the weakest
 * network, where the generated gradient is a few roundings of values of order 1, it stays
 * within a few eps of |g|; at the saddle (g = 0 exactly) it is 0. */
static void gradient_rounding_floor_and_measure(void **state)
{
    (void)state;
    const double theta[2] = {0.3, 0.7}, g[2] = {-2 * (1 - 0.21) * 0.7, -2 * (1 - 0.21) * 0.3};
    double gn = hypot(g[0], g[1]), floor_ = hessrt_gradient_rounding(&rtw_model, NULL, theta, g, 0);
    assert_true(floor_ == 8.0 * 2 * DBL_EPSILON * gn);
    double measured = hessrt_gradient_rounding(&rtw_model, NULL, theta, g, 1);
    assert_true(measured >= floor_ && measured <= 64 * DBL_EPSILON * gn);
    const double origin[2] = {0, 0}, zero[2] = {0, 0};
    assert_true(hessrt_gradient_rounding(&rtw_model, NULL, origin, zero, 1) < 1e-40);
}

/* Points 1e-8 off the valley w1*w2 = 1 pass the zero-gradient test, and the small eigenvalue
 * there (-2e-8 on one side, 2e-8 on the other: above eig_tol * scale, so once "saddle" and
 * "min") is not the valley's, which is 0: both are degenerate. */
static void near_the_valley_is_neither_saddle_nor_minimum(void **state)
{
    (void)state;
    for (int side = -1; side <= 1; side += 2) {
        const double theta[2] = {1 + side * 1e-8, 1};
        hessrt_report r;
        assert_int_equal(hessrt_classify(&rtw_model, NULL, theta, NULL, &r), 0);
        assert_true(r.critical);
        assert_true(fabs(r.eigenvalues[0]) > 1e-8 && fabs(r.eigenvalues[0]) < 3e-8);
        assert_true(side < 0 ? r.eigenvalues[0] > 0 : r.eigenvalues[0] < 0);
        assert_int_equal(r.verdict, HESSRT_DEGENERATE);
        assert_int_equal(r.zero, 1);
        hessrt_report_free(&r);
    }
}

/* hessrt_run: the analyzer's subcommands in process, their output and diagnostics as strings
 * (what bindings call); the exit statuses are the program's. */
static int run(const char *const *argv, int argc, char **out, char **err)
{
    return hessrt_run(&rtw_model, NULL, argc, argv, out, err);
}

static void subcommands_in_process(void **state)
{
    (void)state;
    char *out, *err;
    const char *classify[] = {"classify", "0,0", "--json"};
    assert_int_equal(run(classify, 3, &out, &err), 0);
    assert_non_null(strstr(out, "\"eigenvalues\": [-2, 2]"));
    assert_non_null(strstr(out, "\"verdict\": \"saddle\""));
    assert_string_equal(err, "");
    hessrt_free(out), hessrt_free(err);

    const char *pure[] = {"newton", "--method", "pure", "--from", "0.1,0.05", "--json"};
    assert_int_equal(run(pure, 6, &out, &err), 0);
    assert_non_null(strstr(out, "\"status\": \"converged\""));
    assert_non_null(strstr(out, "\"verdict\": \"saddle\""));
    hessrt_free(out), hessrt_free(err);

    const char *short_run[] = {"newton", "--method", "pure", "--from", "3,-2", "--max-iter", "1"};
    assert_int_equal(run(short_run, 7, &out, &err), 1); /* not converged: status 1, the text still printed */
    assert_non_null(strstr(out, "max_iterations"));
    hessrt_free(out), hessrt_free(err);

    const char *unknown[] = {"newton", "--method", "newtonian"};
    assert_int_equal(run(unknown, 3, &out, &err), 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "rtw: newton: unknown method 'newtonian'"));
    assert_null(strstr(err, "usage:")); /* the command line's usage is not a binding's business */
    hessrt_free(out), hessrt_free(err);

    assert_int_equal(run(NULL, 0, &out, &err), 2);
    assert_non_null(strstr(err, "a subcommand is needed"));
    hessrt_free(out), hessrt_free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_known_matrices),
        cmocka_unit_test(planted_inertia_200),
        cmocka_unit_test(weakest_origin_is_a_saddle),
        cmocka_unit_test(weakest_valley_is_degenerate),
        cmocka_unit_test(implied_step_by_hand),
        cmocka_unit_test(gradient_rounding_floor_and_measure),
        cmocka_unit_test(near_the_valley_is_neither_saddle_nor_minimum),
        cmocka_unit_test(subcommands_in_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
