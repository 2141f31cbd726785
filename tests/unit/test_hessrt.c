/* libhessrt's classification: known matrices whose eigenvalues are known by construction,
 * inertia by dsytrf against dsyevr on a 200x200 matrix with a planted inertia, and the
 * lecture's weakest network through generated code (the saddle at the origin, its escape
 * direction (1,1)/sqrt(2), the degenerate valley point (1,1)). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(small_known_matrices),
        cmocka_unit_test(planted_inertia_200),
        cmocka_unit_test(weakest_origin_is_a_saddle),
        cmocka_unit_test(weakest_valley_is_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
