/* symmetry.c: the continuous symmetries of a polynomial loss that are affine in the parameters,
 * and the non-strict extrema they prove (the exact classifier's Morse-Bott step).
 *
 * In: the model (its loss and gradient nodes), a critical point p with exact coordinates, a
 * basis of the Hessian's null space there. Out: affine vector fields X(theta) = A theta + b with
 * grad L(theta) . X(theta) = 0 for every theta: the flows of X keep L constant (rescalings
 * between factors, u -> c u, v -> v / c; hyperbolic rotations of x^2 - y^2; the shear along
 * x + y^2 = const).
 *
 *  1. Candidates: the linear conditions grad L(theta_k) . (A theta_k + b) = 0 at random rational
 *     points theta_k (n^2 + n + 8 of them), solved exactly; their solutions contain every
 *     symmetry.
 *  2. Proof: for each candidate, D(theta) = grad L . X is a polynomial of degree <= deg L; its
 *     Taylor series at 0 through that degree, computed exactly (series.c), is D itself. All
 *     coefficients 0 proves D = 0. A candidate that fails is not used (and the sampling is
 *     retried once).
 *  3. At p: each X(p) lies in the Hessian's null space (differentiate grad L . X = 0 at a
 *     critical point: H X(p) = 0). When the X_k(p) span it, the flows carry p through a manifold
 *     of critical points with the loss's value whose tangent space is the null space (Sussmann's
 *     orbit theorem); a semidefinite Hessian is then definite across it (Morse-Bott), so p is a
 *     minimum (maximum), and not a strict one.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* at most 8 parameters (72 unknowns) and a Taylor polynomial of at most 4000 terms: a second at
 * most (ten parameters and degree 6 took 20 s: 110 unknowns over the rationals, 8008 terms) */
enum { SYM_MAX_PARAMS = 8, SYM_MAX_DEGREE = 12, SYM_MAX_TERMS = 4000, SYM_MAX_FIELDS = 12 };

int loss_poly_degree(Node root)
{
    int *deg = xmalloc(sizeof(int) * ((size_t)root + 1));
    for (Node n = 0; n <= root; n++) {
        const Node *a = dag_args(n);
        uint32_t na = dag_nargs(n);
        int d = -1;
        long e;
        switch (dag_op(n)) {
        case OP_CONST:
            d = 0;
            break;
        case OP_PARAM:
            d = 1;
            break;
        case OP_ADD:
            d = 0;
            for (uint32_t i = 0; i < na && d >= 0; i++)
                d = deg[a[i]] < 0 ? -1 : deg[a[i]] > d ? deg[a[i]] : d;
            break;
        case OP_MUL:
            d = 0;
            for (uint32_t i = 0; i < na && d >= 0; i++)
                d = deg[a[i]] < 0 || d + deg[a[i]] > 1000 ? -1 : d + deg[a[i]];
            break;
        case OP_POW:
            if (deg[a[0]] >= 0 && dag_is_int_const(a[1], &e) && e >= 0 && e <= 1000)
                d = deg[a[0]] * (int)e > 1000 ? -1 : deg[a[0]] * (int)e;
            break;
        default:
            break;
        }
        deg[n] = d;
    }
    int d = deg[root];
    free(deg);
    return d;
}

static unsigned long long lcg(unsigned long long *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return *s >> 33;
}

/* The gradient at a rational point, exactly; false where a value is not rational. */
static bool gradient_at(const Model *m, const Deriv *d, const SerCtx *c0, mpq_t *theta, mpq_t *g)
{
    uint32_t n = m->nparam;
    Ser *th = xmalloc(sizeof(Ser) * n);
    for (uint32_t i = 0; i < n; i++) {
        th[i] = ser_new(c0);
        num_set_q(&th[i][0], theta[i]);
    }
    SerEval e;
    sereval_init(&e, c0, th, n);
    bool ok = true;
    for (uint32_t i = 0; i < n && ok; i++) {
        const Num *v = sereval(&e, d->grad[i]);
        ok = v && v->exact;
        if (ok)
            mpq_set(g[i], v->q);
    }
    sereval_free(&e);
    for (uint32_t i = 0; i < n; i++)
        ser_free(c0, th[i]);
    free(th);
    return ok;
}

int row_reduce(mpq_t *M, int rows, int cols, int *piv)
{
    int r = 0;
    mpq_t f, t;
    mpq_inits(f, t, NULL);
    for (int col = 0; col < cols && r < rows; col++) {
        int p = -1;
        for (int i = r; i < rows && p < 0; i++)
            if (mpq_sgn(M[(size_t)i * cols + col]))
                p = i;
        if (p < 0)
            continue;
        for (int j = 0; j < cols; j++)
            mpq_swap(M[(size_t)p * cols + j], M[(size_t)r * cols + j]);
        mpq_inv(f, M[(size_t)r * cols + col]);
        for (int j = 0; j < cols; j++)
            mpq_mul(M[(size_t)r * cols + j], M[(size_t)r * cols + j], f);
        for (int i = 0; i < rows; i++) {
            if (i == r || !mpq_sgn(M[(size_t)i * cols + col]))
                continue;
            mpq_set(f, M[(size_t)i * cols + col]);
            for (int j = 0; j < cols; j++) {
                mpq_mul(t, f, M[(size_t)r * cols + j]);
                mpq_sub(M[(size_t)i * cols + j], M[(size_t)i * cols + j], t);
            }
        }
        piv[r++] = col;
    }
    mpq_clears(f, t, NULL);
    return r;
}

/* The candidates: a basis of the (A, b) with grad L . (A theta + b) = 0 at the sample points
 * (A row-major, then b: n^2 + n numbers each); returns how many, or -1. */
static int candidates(const Model *m, const Deriv *d, unsigned long long seed, mpq_t **out)
{
    uint32_t n = m->nparam;
    int U = (int)(n * n + n), rows = U + 8;
    SerCtx c0;
    serctx_init(&c0, 0, 0);
    mpq_t *M = mpq_array((size_t)rows * U), *th = mpq_array(n), *g = mpq_array(n);
    bool ok = true;
    for (int k = 0; k < rows && ok; k++) {
        for (uint32_t i = 0; i < n; i++)
            mpq_set_si(th[i], (long)(lcg(&seed) % 19) - 9, 1); /* integers: the rows stay short */
        ok = gradient_at(m, d, &c0, th, g);
        for (uint32_t i = 0; i < n && ok; i++) {
            for (uint32_t j = 0; j < n; j++)
                mpq_mul(M[(size_t)k * U + i * n + j], g[i], th[j]);
            mpq_set(M[(size_t)k * U + n * n + i], g[i]);
        }
    }
    int count = -1;
    if (ok) {
        int *piv = xmalloc(sizeof(int) * (size_t)U);
        int rank = row_reduce(M, rows, U, piv);
        bool *is_piv = xcalloc((size_t)U, 1);
        for (int r = 0; r < rank; r++)
            is_piv[piv[r]] = true;
        count = 0;
        *out = mpq_array((size_t)(U - rank) * U);
        for (int free_col = 0; free_col < U; free_col++) {
            if (is_piv[free_col])
                continue;
            mpq_t *v = *out + (size_t)count * U;
            mpq_set_ui(v[free_col], 1, 1);
            for (int r = 0; r < rank; r++)
                mpq_neg(v[piv[r]], M[(size_t)r * U + free_col]);
            count++;
        }
        free(piv);
        free(is_piv);
    }
    mpq_array_free(M, (size_t)rows * U);
    mpq_array_free(th, n);
    mpq_array_free(g, n);
    serctx_free(&c0);
    return count;
}

/* grad L . (A theta + b) = 0 identically: its Taylor polynomial at 0 through the degree */
static bool proved(const Model *m, const Deriv *d, const SerCtx *c, const mpq_t *v)
{
    uint32_t n = m->nparam;
    Ser *th = xmalloc(sizeof(Ser) * n);
    for (uint32_t i = 0; i < n; i++) {
        th[i] = ser_new(c);
        unsigned char e[SER_MAX_VARS] = {0};
        e[i] = 1;
        num_set_si(&th[i][serctx_index(c, e)], 1, 1);
    }
    SerEval ev;
    sereval_init(&ev, c, th, n);
    Ser D = ser_new(c), X = ser_new(c), t = ser_new(c);
    Num q;
    num_init(&q);
    bool ok = true;
    for (uint32_t i = 0; i < n && ok; i++) {
        ser_zero(c, X); /* X_i = sum_j A_ij theta_j + b_i */
        num_set_q(&X[0], v[n * n + i]);
        for (uint32_t j = 0; j < n; j++) {
            num_set_q(&q, v[i * n + j]);
            ser_scale(c, t, th[j], &q);
            ser_add(c, X, X, t);
        }
        if (ser_is_zero(c, X))
            continue;
        const Num *gi = sereval(&ev, d->grad[i]);
        if (!(ok = gi != NULL))
            break;
        ser_mul(c, t, (Ser)gi, X);
        ser_add(c, D, D, t);
    }
    ok = ok && ser_is_zero(c, D);
    num_clear(&q);
    ser_free(c, D);
    ser_free(c, X);
    ser_free(c, t);
    sereval_free(&ev);
    for (uint32_t i = 0; i < n; i++)
        ser_free(c, th[i]);
    free(th);
    return ok;
}

/* component i of X = A theta + b: "x", "-2*y + 1" */
static void put_component(Buf *b, const Model *m, const mpq_t *v, uint32_t i)
{
    uint32_t n = m->nparam;
    bool any = false;
    for (uint32_t j = 0; j <= n; j++) {
        mpq_srcptr c = j < n ? v[i * n + j] : v[n * n + i];
        if (!mpq_sgn(c))
            continue;
        bool unit = mpz_cmpabs_ui(mpq_numref(c), 1) == 0 && mpz_cmp_ui(mpq_denref(c), 1) == 0 && j < n;
        buf_puts(b, mpq_sgn(c) < 0 ? (any ? " - " : "-") : (any ? " + " : ""));
        if (!unit) {
            char *s = mpq_get_str(NULL, 10, c);
            buf_puts(b, s + (s[0] == '-'));
            free(s);
        }
        if (j < n)
            buf_printf(b, "%s%s", unit ? "" : "*", m->param_names[j]);
        any = true;
    }
    if (!any)
        buf_puts(b, "0");
}

bool symmetry_span(const Model *m, const Deriv *d, const Num *p, Num *const *null, int dnull, Buf *fields, Buf *json)
{
    uint32_t n = m->nparam;
    if (n == 0 || n > SYM_MAX_PARAMS || dnull < 1)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!p[i].exact)
            return false;
    for (int k = 0; k < dnull; k++)
        for (uint32_t i = 0; i < n; i++)
            if (!null[k][i].exact)
                return false;
    int deg = loss_poly_degree(m->loss);
    if (deg < 1 || deg > SYM_MAX_DEGREE)
        return false;
    long terms = 1; /* C(n + deg, deg), the Taylor polynomial's monomials */
    for (int k = 1; k <= deg && terms <= SYM_MAX_TERMS; k++)
        terms = terms * ((long)n + k) / k;
    SerCtx c;
    if (terms > SYM_MAX_TERMS || !serctx_init(&c, (int)n, deg))
        return false;
    int U = (int)(n * n + n);
    mpq_t *cand = NULL;
    int count = -1;
    bool all = false;
    for (int attempt = 0; attempt < 2 && !all; attempt++) {
        if (cand)
            mpq_array_free(cand, (size_t)count * U);
        cand = NULL;
        count = candidates(m, d, 0x5DEECE66Dull + (unsigned long long)attempt * 7919, &cand);
        all = count > 0 && count <= SYM_MAX_FIELDS; /* each is a series to prove */
        for (int k = 0; k < count && all; k++)
            all = proved(m, d, &c, cand + (size_t)k * U);
    }
    serctx_free(&c);
    bool ok = false;
    if (all) {
        /* the values X_k(p), then the null basis after them: the X_k(p) span the null space
         * when they have rank dnull and the null vectors add nothing */
        int rows = count + dnull;
        mpq_t *M = mpq_array((size_t)rows * n), *Mx = mpq_array((size_t)count * n);
        mpq_t t;
        mpq_init(t);
        for (int k = 0; k < count; k++) {
            const mpq_t *v = cand + (size_t)k * U;
            for (uint32_t i = 0; i < n; i++) {
                mpq_set(M[(size_t)k * n + i], v[n * n + i]);
                for (uint32_t j = 0; j < n; j++) {
                    mpq_mul(t, v[i * n + j], p[j].q);
                    mpq_add(M[(size_t)k * n + i], M[(size_t)k * n + i], t);
                }
                mpq_set(Mx[(size_t)k * n + i], M[(size_t)k * n + i]);
            }
        }
        for (int k = 0; k < dnull; k++)
            for (uint32_t i = 0; i < n; i++)
                mpq_set(M[(size_t)(count + k) * n + i], null[k][i].q);
        int *piv = xmalloc(sizeof(int) * (size_t)(rows > (int)n ? rows : (int)n));
        int rank_x = row_reduce(Mx, count, (int)n, piv);
        int rank_all = row_reduce(M, rows, (int)n, piv);
        ok = rank_x == dnull && rank_all == dnull;
        free(piv);
        mpq_clear(t);
        mpq_array_free(M, (size_t)rows * n);
        mpq_array_free(Mx, (size_t)count * n);
    }
    if (ok) {
        buf_puts(json, "[");
        for (int k = 0; k < count; k++) {
            const mpq_t *v = cand + (size_t)k * U;
            buf_puts(fields, k ? ", " : "");
            buf_puts(json, k ? ", [" : "[");
            buf_puts(fields, "(");
            for (uint32_t i = 0; i < n; i++) {
                Buf one = {0};
                put_component(&one, m, v, i);
                buf_printf(fields, "%s%s", i ? ", " : "", one.data);
                buf_puts(json, i ? ", " : "");
                json_string(json, one.data);
                buf_free(&one);
            }
            buf_puts(fields, ")");
            buf_puts(json, "]");
        }
        buf_puts(json, "]");
    }
    if (cand)
        mpq_array_free(cand, (size_t)(count > 0 ? count : 0) * U);
    return ok;
}
