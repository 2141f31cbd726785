/* reduce.c: deciding the reduced function of the splitting lemma, g(u) on the Hessian's null
 * space, whether it has a strict minimum at 0 (exact.c asks for minus g for a maximum).
 *
 * In: the Taylor coefficients of g through order K (no terms below degree 3), in d variables.
 * Out: a strict minimum (with the weights or Newton diagram that prove it), a curve on which g
 * is negative (so not a minimum), g = 0 through order K, or unknown; each with its sentence.
 *
 * Weighted initial forms g_w (w from the Newton polygon's edges, uniform weights, and the
 * weights that balance each variable's lowest pure power) decide: g_w negative at a rational
 * point gives the curve (t^w1 x1, ..., t^wd xd); g_w positive definite (univariate slices by
 * Sturm sequences for two variables, even positive monomials otherwise) gives a strict
 * minimum. A form is used only when no term beyond order K could reach its weighted degree.
 * A semidefinite binary form that vanishes along a rational curve y = y0*x^b is shifted to the
 * axis and g decided again. Last, the Newton diagram test: even positive monomials with a pure
 * power of each variable below every other term.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- univariate rational polynomials, for the signs of binary forms ---- */

typedef struct {
    int n; /* coefficients c[0..n-1], c[n-1] != 0 unless n == 0 */
    mpq_t *c;
} QPoly;

static QPoly qp_new(int n)
{
    QPoly p = {n, xmalloc(sizeof(mpq_t) * (size_t)(n ? n : 1))};
    for (int i = 0; i < n; i++)
        mpq_init(p.c[i]);
    return p;
}

static void qp_free(QPoly *p)
{
    for (int i = 0; i < p->n; i++)
        mpq_clear(p->c[i]);
    free(p->c);
    p->n = 0;
    p->c = NULL;
}

static void qp_trim(QPoly *p)
{
    while (p->n > 0 && mpq_sgn(p->c[p->n - 1]) == 0)
        mpq_clear(p->c[--p->n]);
}

static QPoly qp_copy(const QPoly *a)
{
    QPoly p = qp_new(a->n);
    for (int i = 0; i < a->n; i++)
        mpq_set(p.c[i], a->c[i]);
    return p;
}

static void qp_eval(mpq_t out, const QPoly *p, mpq_srcptr x)
{
    mpq_set_ui(out, 0, 1);
    for (int i = p->n - 1; i >= 0; i--) {
        mpq_mul(out, out, x);
        mpq_add(out, out, p->c[i]);
    }
}

static QPoly qp_deriv(const QPoly *a)
{
    QPoly p = qp_new(a->n > 1 ? a->n - 1 : 0);
    for (int i = 1; i < a->n; i++) {
        mpq_set_ui(p.c[i - 1], (unsigned long)i, 1);
        mpq_mul(p.c[i - 1], p.c[i - 1], a->c[i]);
    }
    qp_trim(&p);
    return p;
}

/* r = a mod b (b non-zero); with q when asked */
static QPoly qp_divrem(const QPoly *a, const QPoly *b, QPoly *quot)
{
    QPoly r = qp_copy(a);
    QPoly q = qp_new(a->n >= b->n ? a->n - b->n + 1 : 0);
    mpq_t f, t;
    mpq_inits(f, t, NULL);
    while (r.n >= b->n && r.n > 0) {
        int shift = r.n - b->n;
        mpq_div(f, r.c[r.n - 1], b->c[b->n - 1]);
        mpq_set(q.c[shift], f);
        for (int i = 0; i < b->n; i++) {
            mpq_mul(t, f, b->c[i]);
            mpq_sub(r.c[i + shift], r.c[i + shift], t);
        }
        mpq_set_ui(r.c[r.n - 1], 0, 1);
        qp_trim(&r);
    }
    mpq_clears(f, t, NULL);
    if (quot)
        *quot = q;
    else
        qp_free(&q);
    return r;
}

static QPoly qp_gcd(const QPoly *a, const QPoly *b)
{
    QPoly x = qp_copy(a), y = qp_copy(b);
    while (y.n > 0) {
        QPoly r = qp_divrem(&x, &y, NULL);
        qp_free(&x);
        x = y;
        y = r;
    }
    qp_free(&y);
    return x;
}

/* sign changes of a Sturm chain at x, or at +infinity (x NULL, at_minus false) / -infinity */
static int sturm_changes(QPoly *chain, int nchain, mpq_srcptr x, bool at_minus)
{
    int changes = 0, last = 0;
    mpq_t v;
    mpq_init(v);
    for (int i = 0; i < nchain; i++) {
        int s;
        if (x) {
            qp_eval(v, &chain[i], x);
            s = mpq_sgn(v);
        } else {
            s = mpq_sgn(chain[i].c[chain[i].n - 1]);
            if (at_minus && (chain[i].n - 1) % 2)
                s = -s;
        }
        if (s != 0) {
            if (last != 0 && s != last)
                changes++;
            last = s;
        }
    }
    mpq_clear(v);
    return changes;
}

/* The number of distinct real roots of p (p not zero). */
static int qp_real_roots(const QPoly *p)
{
    if (p->n <= 1)
        return 0;
    QPoly d = qp_deriv(p);
    QPoly g = qp_gcd(p, &d);
    QPoly sq;
    QPoly r = qp_divrem(p, &g, &sq); /* the square-free part */
    qp_free(&r);
    qp_free(&g);
    qp_free(&d);
    int cap = sq.n + 2, n = 0;
    QPoly *chain = xmalloc(sizeof(QPoly) * (size_t)cap);
    chain[n++] = qp_copy(&sq);
    chain[n++] = qp_deriv(&sq);
    while (chain[n - 1].n > 0) {
        QPoly rem = qp_divrem(&chain[n - 2], &chain[n - 1], NULL);
        for (int i = 0; i < rem.n; i++)
            mpq_neg(rem.c[i], rem.c[i]);
        chain[n++] = rem;
    }
    n--; /* the zero remainder */
    qp_free(&chain[n]);
    int roots = sturm_changes(chain, n, NULL, true) - sturm_changes(chain, n, NULL, false);
    for (int i = 0; i < n; i++)
        qp_free(&chain[i]);
    free(chain);
    qp_free(&sq);
    return roots;
}

/* Whether p >= 0 on all of R: an even degree with a positive leading coefficient and no real
 * root of odd multiplicity (Yun's square-free factorization, then a Sturm count). */
static bool qp_nonnegative(const QPoly *p)
{
    if (p->n == 0)
        return true;
    if ((p->n - 1) % 2 || mpq_sgn(p->c[p->n - 1]) < 0)
        return false;
    if (p->n == 1)
        return true;
    QPoly dp = qp_deriv(p);
    QPoly b = qp_gcd(p, &dp), c, d, r;
    r = qp_divrem(p, &b, &c);
    qp_free(&r);
    QPoly q;
    r = qp_divrem(&dp, &b, &q);
    qp_free(&r);
    QPoly cd = qp_deriv(&c);
    d = qp_new(q.n > cd.n ? q.n : cd.n);
    for (int i = 0; i < d.n; i++) {
        if (i < q.n)
            mpq_add(d.c[i], d.c[i], q.c[i]);
        if (i < cd.n)
            mpq_sub(d.c[i], d.c[i], cd.c[i]);
    }
    qp_trim(&d);
    qp_free(&q);
    qp_free(&cd);
    /* odd: the product of the factors of odd multiplicity */
    QPoly odd = qp_new(1);
    mpq_set_ui(odd.c[0], 1, 1);
    for (int mult = 1; c.n > 1 && mult < 256; mult++) {
        QPoly a = qp_gcd(&c, &d);
        if (mult % 2) {
            QPoly t = qp_new(odd.n + a.n - 1);
            for (int i = 0; i < odd.n; i++)
                for (int j = 0; j < a.n; j++) {
                    mpq_t m;
                    mpq_init(m);
                    mpq_mul(m, odd.c[i], a.c[j]);
                    mpq_add(t.c[i + j], t.c[i + j], m);
                    mpq_clear(m);
                }
            qp_free(&odd);
            odd = t;
        }
        QPoly c2, d2;
        r = qp_divrem(&c, &a, &c2);
        qp_free(&r);
        r = qp_divrem(&d, &a, &d2);
        qp_free(&r);
        QPoly c2d = qp_deriv(&c2);
        qp_free(&d);
        d = qp_new(d2.n > c2d.n ? d2.n : c2d.n);
        for (int i = 0; i < d.n; i++) {
            if (i < d2.n)
                mpq_add(d.c[i], d.c[i], d2.c[i]);
            if (i < c2d.n)
                mpq_sub(d.c[i], d.c[i], c2d.c[i]);
        }
        qp_trim(&d);
        qp_free(&d2);
        qp_free(&c2d);
        qp_free(&c);
        qp_free(&a);
        c = c2;
    }
    bool nonneg = qp_real_roots(&odd) == 0;
    qp_free(&odd);
    qp_free(&c);
    qp_free(&d);
    qp_free(&b);
    qp_free(&dp);
    return nonneg;
}

/* A number for the reader: exact when short, else its magnitude, as 3.48678e+59999 (a
 * 60000-digit rational). The JSON keeps every digit. */
void put_num(Buf *b, const Num *x)
{
    if (!x->exact || mpz_sizeinbase(mpq_numref(x->q), 10) + mpz_sizeinbase(mpq_denref(x->q), 10) <= 44) {
        num_put(b, x);
        return;
    }
    arb_t a;
    arb_init(a);
    fmpq_t f;
    fmpq_init(f);
    fmpq_set_mpq(f, x->q);
    arb_set_fmpq(a, f, 64);
    char *s = arb_get_str(a, 6, ARB_STR_NO_RADIUS);
    buf_printf(b, "~%s", s);
    flint_free(s);
    fmpq_clear(f);
    arb_clear(a);
}

/* A vector as "(1, -1)" */
void put_vec(Buf *b, const Num *v, uint32_t n)
{
    buf_puts(b, "(");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_puts(b, ", ");
        put_num(b, &v[i]);
    }
    buf_puts(b, ")");
}

/* ---- polynomials in the null coordinates, as text ---- */

void put_monomial(Buf *b, const SerCtx *c, int i, char **names)
{
    bool first = true;
    for (int v = 0; v < c->d; v++) {
        int e = c->exps[(size_t)i * c->d + v];
        if (!e)
            continue;
        if (!first)
            buf_puts(b, "*");
        buf_puts(b, names[v]);
        if (e > 1)
            buf_printf(b, "^%d", e);
        first = false;
    }
}

/* Terms of s whose (weighted) degree passes `keep`; at most `limit` terms, then "+ ...". */
void put_poly_from(Buf *b, const SerCtx *c, const Num *s, char **names, const int *w, long wdeg, int limit, int from)
{
    int shown = 0;
    size_t start = b->len;
    for (int i = from; i < c->M; i++) {
        if (num_is_zero(&s[i]))
            continue;
        if (w) {
            long d = 0;
            for (int v = 0; v < c->d; v++)
                d += (long)w[v] * c->exps[(size_t)i * c->d + v];
            if (d != wdeg)
                continue;
        }
        if (shown == limit) {
            buf_puts(b, " + ...");
            break;
        }
        int sg = num_sign(&s[i]);
        Num a;
        num_init(&a);
        if (sg == -1)
            num_neg(&a, &s[i]);
        else
            num_set(&a, &s[i]);
        if (b->len > start)
            buf_puts(b, sg == -1 ? " - " : " + ");
        else if (sg == -1)
            buf_puts(b, "-");
        bool one = a.exact && mpq_cmp_ui(a.q, 1, 1) == 0;
        if (i == 0) {
            put_num(b, &a);
        } else {
            if (!one) {
                put_num(b, &a);
                buf_puts(b, "*");
            }
            put_monomial(b, c, i, names);
        }
        num_clear(&a);
        shown++;
    }
    if (b->len == start)
        buf_puts(b, "0");
}

void put_poly(Buf *b, const SerCtx *c, const Num *s, char **names, const int *w, long wdeg, int limit)
{
    put_poly_from(b, c, s, names, w, wdeg, limit, 1);
}

/* ---- univariate polynomials in t, for certificate curves ---- */

TPoly tp_new(int n)
{
    TPoly p = {n, xmalloc(sizeof(Num) * (size_t)(n ? n : 1))};
    for (int i = 0; i < n; i++)
        num_init(&p.c[i]);
    return p;
}

void tp_free(TPoly *p)
{
    for (int i = 0; i < p->n; i++)
        num_clear(&p->c[i]);
    free(p->c);
}

TPoly tp_mul(const TPoly *a, const TPoly *b)
{
    TPoly r = tp_new(a->n + b->n > 0 ? a->n + b->n - 1 : 0);
    Num t;
    num_init(&t);
    for (int i = 0; i < a->n; i++)
        for (int j = 0; j < b->n; j++) {
            num_mul(&t, &a->c[i], &b->c[j]);
            num_add(&r.c[i + j], &r.c[i + j], &t);
        }
    num_clear(&t);
    return r;
}

void tp_addmul(TPoly *acc, const TPoly *a, const Num *k)
{
    if (a->n > acc->n) {
        acc->c = xrealloc(acc->c, sizeof(Num) * (size_t)a->n);
        for (int i = acc->n; i < a->n; i++)
            num_init(&acc->c[i]);
        acc->n = a->n;
    }
    Num t;
    num_init(&t);
    for (int i = 0; i < a->n; i++) {
        num_mul(&t, &a->c[i], k);
        num_add(&acc->c[i], &acc->c[i], &t);
    }
    num_clear(&t);
}

void tp_put(Buf *b, const TPoly *p, bool brief)
{
    size_t start = b->len;
    for (int i = p->n - 1; i >= 0; i--) {
        if (num_is_zero(&p->c[i]))
            continue;
        Buf nb = {0};
        if (brief)
            put_num(&nb, &p->c[i]);
        else
            num_put(&nb, &p->c[i]);
        char *s = nb.data;
        bool neg = s[0] == '-';
        if (b->len > start)
            buf_puts(b, neg ? " - " : " + ");
        else if (neg)
            buf_puts(b, "-");
        const char *mag = neg ? s + 1 : s;
        if (i == 0)
            buf_puts(b, mag);
        else {
            if (strcmp(mag, "1") != 0)
                buf_printf(b, "%s*", mag);
            buf_puts(b, "t");
            if (i > 1)
                buf_printf(b, "^%d", i);
        }
        free(s);
    }
    if (b->len == start)
        buf_puts(b, "0");
}

/* The multivariate polynomial s (in ctx c) at u(t): a polynomial in t. */
TPoly tp_compose(const SerCtx *c, const Num *s, const TPoly *u)
{
    TPoly acc = tp_new(1);
    for (int i = 0; i < c->M; i++) {
        if (num_is_zero(&s[i]))
            continue;
        TPoly mono = tp_new(1);
        num_set_si(&mono.c[0], 1, 1);
        for (int v = 0; v < c->d; v++)
            for (int e = 0; e < c->exps[(size_t)i * c->d + v]; e++) {
                TPoly t = tp_mul(&mono, &u[v]);
                tp_free(&mono);
                mono = t;
            }
        tp_addmul(&acc, &mono, &s[i]);
        tp_free(&mono);
    }
    return acc;
}

Num *vec_new(uint32_t n)
{
    Num *v = xmalloc(sizeof(Num) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++)
        num_init(&v[i]);
    return v;
}

void vec_free(Num *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        num_clear(&v[i]);
    free(v);
}

/* ---- deciding the reduced function ---- */

/* The form as the loss sees it (negated back when g is minus the loss). */
static void put_form(Buf *b, const RCtx *rc, const Num *g, const int *w, long D)
{
    if (!rc->negated) {
        put_poly(b, rc->c, g, rc->names, w, D, 8);
        return;
    }
    Ser neg = ser_new(rc->c);
    for (int i = 0; i < rc->c->M; i++)
        num_neg(&neg[i], &g[i]);
    put_poly(b, rc->c, neg, rc->names, w, D, 8);
    ser_free(rc->c, neg);
}

/* Weighted degree of monomial i. */
static long wdeg(const SerCtx *c, int i, const int *w)
{
    long d = 0;
    for (int v = 0; v < c->d; v++)
        d += (long)w[v] * c->exps[(size_t)i * c->d + v];
    return d;
}

/* The form's value at a rational point x. */
static void form_eval(Num *out, const SerCtx *c, const Num *g, const int *w, long D, mpq_t *x)
{
    num_set_si(out, 0, 1);
    Num t;
    num_init(&t);
    mpq_t m;
    mpq_init(m);
    for (int i = 1; i < c->M; i++) {
        if (num_is_zero(&g[i]) || wdeg(c, i, w) != D)
            continue;
        mpq_set_ui(m, 1, 1);
        for (int v = 0; v < c->d; v++)
            for (int e = 0; e < c->exps[(size_t)i * c->d + v]; e++)
                mpq_mul(m, m, x[v]);
        num_mul_q(&t, &g[i], m);
        num_add(out, out, &t);
    }
    mpq_clear(m);
    num_clear(&t);
}

/* The slice p(y) = form(s, y) of a binary form (s = +1, -1), or form(x, s) when `first` is
 * false... only for exact forms. */
static QPoly binary_slice(const SerCtx *c, const Num *g, const int *w, long D, int s, int fixed)
{
    int deg = c->K;
    QPoly p = qp_new(deg + 1);
    mpq_t m;
    mpq_init(m);
    for (int i = 1; i < c->M; i++) {
        if (num_is_zero(&g[i]) || wdeg(c, i, w) != D)
            continue;
        int ef = c->exps[(size_t)i * 2 + fixed], eo = c->exps[(size_t)i * 2 + 1 - fixed];
        mpq_set(m, g[i].q);
        if (s < 0 && ef % 2)
            mpq_neg(m, m);
        if (s == 0 && ef > 0)
            continue;
        mpq_add(p.c[eo], p.c[eo], m);
    }
    mpq_clear(m);
    qp_trim(&p);
    return p;
}

static bool form_exact(const SerCtx *c, const Num *g, const int *w, long D)
{
    for (int i = 1; i < c->M; i++)
        if (!num_is_zero(&g[i]) && wdeg(c, i, w) == D && !g[i].exact)
            return false;
    return true;
}

/* The form in doubles: F(y) = sum_t coef_t prod_v y_v^e_tv, and its gradient. */
typedef struct {
    int d, nt;
    double *coef;
    const unsigned char *const *exps; /* per term: d exponents */
} DForm;

static void dform_free(DForm *f)
{
    free(f->coef);
    free((void *)f->exps);
}

static double dform_eval(const DForm *f, const double *y, double *grad)
{
    double F = 0;
    if (grad)
        memset(grad, 0, sizeof(double) * (size_t)f->d);
    for (int t = 0; t < f->nt; t++) {
        const unsigned char *e = f->exps[t];
        double p = f->coef[t];
        for (int v = 0; v < f->d; v++)
            for (int k = 0; k < e[v]; k++)
                p *= y[v];
        F += p;
        for (int v = 0; grad && v < f->d; v++) {
            if (!e[v])
                continue;
            double q = f->coef[t] * e[v]; /* d/dy_v: y_v^(e-1) times the rest */
            for (int u = 0; u < f->d; u++)
                for (int k = 0; k < e[u] - (u == v); k++)
                    q *= y[u];
            grad[v] += q;
        }
    }
    return F;
}

static double uniform_pm1(unsigned long long *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*state >> 11) / 4503599627370496.0 - 1; /* [-1, 1) */
}

static double normalize(double *y, int d)
{
    double n = 0;
    for (int v = 0; v < d; v++)
        n += y[v] * y[v];
    n = sqrt(n);
    for (int v = 0; v < d && n > 0; v++)
        y[v] /= n;
    return n;
}

/* From y on the unit sphere, `iters` gradient steps projected on the sphere, each backtracking
 * to one that lowers F (gr and trial: d doubles of scratch). Returns F at the end. */
static double sphere_descend(const DForm *f, double *y, double scale, int iters, double *gr, double *trial)
{
    int d = f->d;
    double F = dform_eval(f, y, gr), step = 1 / scale;
    for (int it = 0; it < iters && step > 1e-18 / scale; it++) {
        double dot = 0;
        for (int v = 0; v < d; v++)
            dot += gr[v] * y[v];
        for (int v = 0; v < d; v++) /* the gradient along the sphere */
            gr[v] -= dot * y[v];
        for (;;) { /* backtracking: a step that lowers F on the sphere, or a smaller one */
            for (int v = 0; v < d; v++)
                trial[v] = y[v] - step * gr[v];
            normalize(trial, d);
            double Ft = dform_eval(f, trial, NULL);
            if (Ft < F) {
                memcpy(y, trial, sizeof(double) * (size_t)d);
                F = dform_eval(f, y, gr);
                step *= 2;
                break;
            }
            step /= 4;
            if (step <= 1e-18 / scale)
                break;
        }
    }
    return F;
}

bool small_fraction(double r, double tol, mpq_t out)
{
    double x = r;
    long p0 = 1, q0 = 0, p1 = (long)floor(x), q1 = 1;
    for (int k = 0; k < 40; k++) {
        if (fabs(r - (double)p1 / (double)q1) <= tol) {
            mpq_set_si(out, p1, (unsigned long)q1);
            mpq_canonicalize(out);
            return true;
        }
        double frac = x - floor(x);
        if (frac < 1e-15)
            return false;
        x = 1 / frac;
        long a = (long)floor(x), p2 = a * p1 + p0, q2 = a * q1 + q0;
        if (q2 > 1000000 || a < 0)
            return false;
        p0 = p1, q0 = q1, p1 = p2, q1 = q2;
    }
    return false;
}

int form_zero_directions(const SerCtx *c, const mpq_t *P, int D, mpq_t *dirs, int max)
{
    int d = c->d, found = 0;
    DForm f = {d, 0, xmalloc(sizeof(double) * (size_t)c->M), xmalloc(sizeof(unsigned char *) * (size_t)c->M)};
    double scale = 0;
    for (int i = 1; i < c->M; i++)
        if (mpq_sgn(P[i]) && c->deg[i] == D) {
            f.coef[f.nt] = mpq_get_d(P[i]);
            ((const unsigned char **)f.exps)[f.nt++] = c->exps + (size_t)i * d;
            scale = fmax(scale, fabs(f.coef[f.nt - 1]));
        }
    double *y = xmalloc(sizeof(double) * (size_t)d), *gr = xmalloc(sizeof(double) * (size_t)d);
    double *trial = xmalloc(sizeof(double) * (size_t)d);
    mpq_t *x = xmalloc(sizeof(mpq_t) * (size_t)d), value, t;
    for (int v = 0; v < d; v++)
        mpq_init(x[v]);
    mpq_inits(value, t, NULL);
    unsigned long long state = 0x2545F4914F6CDD1Dull ^ (unsigned long long)(d * 131 + f.nt);
    int starts = 16 + 8 * d;
    for (int s = 0; s < starts && found < max && f.nt > 0 && scale > 0; s++) {
        for (int v = 0; v < d; v++)
            y[v] = uniform_pm1(&state);
        if (normalize(y, d) == 0)
            continue;
        double F = sphere_descend(&f, y, scale, 2000, gr, trial);
        if (!(fabs(F) < 1e-9 * scale))
            continue;
        int big = 0; /* the ratios to the largest coordinate, as small fractions */
        for (int v = 1; v < d; v++)
            if (fabs(y[v]) > fabs(y[big]))
                big = v;
        for (double tol = 1e-1; tol >= 1e-9 && found < max; tol /= 10) {
            bool ok = true;
            for (int v = 0; v < d && ok; v++)
                ok = small_fraction(y[v] / y[big], tol, x[v]);
            if (!ok)
                continue;
            mpq_set_ui(value, 0, 1); /* P(x) exactly */
            for (int i = 1; i < c->M; i++) {
                if (!mpq_sgn(P[i]) || c->deg[i] != D)
                    continue;
                mpq_set(t, P[i]);
                for (int v = 0; v < d; v++)
                    for (int k = 0; k < c->exps[(size_t)i * d + v]; k++)
                        mpq_mul(t, t, x[v]);
                mpq_add(value, value, t);
            }
            if (mpq_sgn(value))
                continue;
            bool seen = false; /* proportional to one found: the same direction (both normalised at 1) */
            for (int k = 0; k < found && !seen; k++) {
                seen = true;
                for (int v = 0; v < d && seen; v++)
                    seen = mpq_equal(dirs[k * d + v], x[v]);
            }
            if (!seen) {
                for (int v = 0; v < d; v++)
                    mpq_set(dirs[found * d + v], x[v]);
                found++;
            }
            break;
        }
    }
    for (int v = 0; v < d; v++)
        mpq_clear(x[v]);
    mpq_clears(value, t, NULL);
    free(x);
    free(y);
    free(gr);
    free(trial);
    dform_free(&f);
    return found;
}

/* Local minimisation of the form on the unit sphere in floating point (gradient steps projected
 * on the sphere, from deterministic pseudo-random starts and the axes), then each minimiser with
 * a negative value rounded to dyadic rationals of growing precision until the exact form is
 * certainly negative there. Finds the narrow cones a grid misses, in any number of variables:
 * (3x - y)^2 (x^2 + y^2 + z^2) - x^4/100 is negative only within 0.6 degrees of 3x = y. */
static bool sphere_search(const SerCtx *c, const Num *g, const int *w, long D, mpq_t *x, Num *value, int *starts_out)
{
    int d = c->d;
    DForm f = {d, 0, xmalloc(sizeof(double) * (size_t)c->M), xmalloc(sizeof(unsigned char *) * (size_t)c->M)};
    double scale = 0;
    for (int i = 1; i < c->M; i++)
        if (!num_is_zero(&g[i]) && wdeg(c, i, w) == D) {
            f.coef[f.nt] = num_to_double(&g[i]);
            ((const unsigned char **)f.exps)[f.nt++] = c->exps + (size_t)i * d;
            scale = fmax(scale, fabs(num_to_double(&g[i])));
        }
    bool found = false;
    /* work: starts x steps x terms x d^2 within about 2e8 operations */
    long per = (long)f.nt * d * d * 60 + 1;
    int starts = (int)fmin(48 + 16 * d, fmax(4, 2e8 / (double)per));
    *starts_out = starts;
    double *y = xmalloc(sizeof(double) * (size_t)d), *gr = xmalloc(sizeof(double) * (size_t)d);
    double *trial = xmalloc(sizeof(double) * (size_t)d);
    unsigned long long state = 0x9E3779B97F4A7C15ull ^ (unsigned long long)(d * 131 + f.nt);
    for (int s = 0; s < starts && !found && f.nt > 0 && scale > 0; s++) {
        for (int v = 0; v < d; v++) /* the first d starts: the axes, then random directions */
            y[v] = s < d ? (v == s) : uniform_pm1(&state);
        if (normalize(y, d) == 0)
            continue;
        double F = sphere_descend(&f, y, scale, 60, gr, trial);
        if (!(F < -1e-13 * scale))
            continue;
        /* rationals near y: y rounded to multiples of 2^-b */
        for (int b = 1; b <= 52 && !found; b = b < 8 ? b * 2 : b + 11) {
            for (int v = 0; v < d; v++) {
                mpq_set_d(x[v], nearbyint(ldexp(y[v], b)));
                mpq_div_2exp(x[v], x[v], (mp_bitcnt_t)b);
            }
            form_eval(value, c, g, w, D, x);
            found = num_sign(value) == -1;
        }
    }
    free(y);
    free(gr);
    free(trial);
    dform_free(&f);
    return found;
}

/* Candidate points where a form may be negative: for a binary exact form, points on the slices
 * x = +-1 between and around the real roots (found by bisection with rational samples);
 * otherwise a small grid. Returns the first point where the form is certainly negative. */
static bool find_negative(const SerCtx *c, const Num *g, const int *w, long D, mpq_t *x, Num *value, int *starts)
{
    int d = c->d;
    if (d == 2 && form_exact(c, g, w, D)) {
        for (int fixed = 0; fixed < 2; fixed++)
            for (int s = 1; s >= -1; s -= 2) {
                QPoly p = binary_slice(c, g, w, D, s, fixed);
                bool found = false;
                if (p.n > 0 && !qp_nonnegative(&p)) { /* else there is nothing to find */
                    /* sample: 0, +-2^k, and a fine dyadic grid within the root bound */
                    mpq_t y, v, bound, t;
                    mpq_inits(y, v, bound, t, NULL);
                    mpq_set_ui(bound, 1, 1);
                    for (int i = 0; i + 1 < p.n; i++) {
                        mpq_div(t, p.c[i], p.c[p.n - 1]);
                        mpq_abs(t, t);
                        mpq_set_ui(v, 1, 1);
                        mpq_add(t, t, v);
                        if (mpq_cmp(t, bound) > 0)
                            mpq_set(bound, t);
                    }
                    /* small values first, for a readable certificate */
                    static const int simple[] = {0, 1, -1, 2, -2};
                    for (int k = 0; k < 5 && !found; k++) {
                        mpq_set_si(y, simple[k], 1);
                        qp_eval(v, &p, y);
                        if (mpq_sgn(v) < 0) {
                            mpq_set_si(x[fixed], s, 1);
                            mpq_set(x[1 - fixed], y);
                            found = true;
                        }
                    }
                    /* then y = bound * k / 2^j for j up to 12 */
                    for (int j = 0; j <= 12 && !found; j++) {
                        long steps = 1L << j;
                        for (long k = -steps; k <= steps && !found; k++) {
                            if (j > 0 && k % 2 == 0)
                                continue;
                            mpq_set_si(t, k, (unsigned long)steps);
                            mpq_canonicalize(t);
                            mpq_mul(y, bound, t);
                            qp_eval(v, &p, y);
                            if (mpq_sgn(v) < 0) {
                                mpq_set_si(x[fixed], s, 1);
                                mpq_set(x[1 - fixed], y);
                                found = true;
                            }
                        }
                    }
                    mpq_clears(y, v, bound, t, NULL);
                }
                qp_free(&p);
                if (found) {
                    form_eval(value, c, g, w, D, x);
                    return true;
                }
            }
        return false;
    }
    /* a grid {-2, -1, -1/2, 0, 1/2, 1, 2}^d, for up to 5 variables; then the sphere */
    static const int nums[] = {1, -1, 2, -2, 1, -1, 0}, dens[] = {1, 1, 1, 1, 2, 2, 1};
    if (d > 5)
        return sphere_search(c, g, w, D, x, value, starts);
    long total = 1;
    for (int v = 0; v < d; v++)
        total *= 7;
    for (long code = 0; code < total; code++) {
        long r = code;
        for (int v = 0; v < d; v++) {
            mpq_set_si(x[v], nums[r % 7], (unsigned long)dens[r % 7]);
            r /= 7;
        }
        form_eval(value, c, g, w, D, x);
        if (num_sign(value) == -1)
            return true;
    }
    return sphere_search(c, g, w, D, x, value, starts);
}

/* Whether the form is certainly positive definite. */
static bool positive_definite(const SerCtx *c, const Num *g, const int *w, long D)
{
    int d = c->d;
    if (d == 1) {
        for (int i = 1; i < c->M; i++)
            if (!num_is_zero(&g[i]) && wdeg(c, i, w) == D)
                return c->exps[i] % 2 == 0 && num_sign(&g[i]) == 1;
        return false;
    }
    /* every term an even monomial with a positive coefficient, and a pure power of each
     * variable among them */
    bool diagonal = true;
    bool *pure = xcalloc((size_t)d, 1);
    for (int i = 1; i < c->M && diagonal; i++) {
        if (num_is_zero(&g[i]) || wdeg(c, i, w) != D)
            continue;
        int nz = 0, last = 0;
        for (int v = 0; v < d; v++) {
            int e = c->exps[(size_t)i * d + v];
            if (e % 2)
                diagonal = false;
            if (e)
                nz++, last = v;
        }
        if (num_sign(&g[i]) != 1)
            diagonal = false;
        if (nz == 1)
            pure[last] = true;
    }
    for (int v = 0; v < d; v++)
        diagonal = diagonal && pure[v];
    free(pure);
    if (diagonal)
        return true;
    if (d != 2 || !form_exact(c, g, w, D))
        return false;
    /* a binary form: positive on the slices x = +-1 (no real root, positive at 0) and at
     * (0, +-1) */
    for (int s = -1; s <= 1; s += 2) {
        QPoly p = binary_slice(c, g, w, D, s, 0);
        mpq_t v, zero;
        mpq_inits(v, zero, NULL);
        bool ok = p.n > 0 && qp_real_roots(&p) == 0;
        if (ok) {
            qp_eval(v, &p, zero);
            ok = mpq_sgn(v) > 0;
        }
        mpq_clears(v, zero, NULL);
        qp_free(&p);
        if (!ok)
            return false;
        QPoly q = binary_slice(c, g, w, D, 0, 0); /* x = 0: the pure powers of y */
        mpq_t y;
        mpq_inits(y, v, NULL);
        mpq_set_si(y, s, 1);
        qp_eval(v, &q, y);
        ok = mpq_sgn(v) > 0;
        mpq_clears(y, v, NULL);
        qp_free(&q);
        if (!ok)
            return false;
    }
    return true;
}

static void add_weight(int (*ws)[SER_MAX_VARS], int *nw, int max, const int *w, int d)
{
    for (int k = 0; k < *nw; k++)
        if (memcmp(ws[k], w, sizeof(int) * (size_t)d) == 0)
            return;
    if (*nw < max)
        memcpy(ws[(*nw)++], w, sizeof(int) * (size_t)d);
}

static long gcdl(long a, long b)
{
    while (b) {
        long t = a % b;
        a = b;
        b = t;
    }
    return a < 0 ? -a : a;
}

/* Weights to try: uniform; for two variables the normals of the Newton polygon's edges;
 * the weights that make each variable's lowest pure power equally heavy. */
static int candidate_weights(const SerCtx *c, const Num *g, int (*ws)[SER_MAX_VARS], int max)
{
    int d = c->d, nw = 0;
    int w[SER_MAX_VARS];
    for (int v = 0; v < d; v++)
        w[v] = 1;
    add_weight(ws, &nw, max, w, d);
    if (d == 2) {
        for (int a = 1; a < c->M; a++) {
            if (num_is_zero(&g[a]))
                continue;
            for (int b = 1; b < c->M; b++) {
                if (num_is_zero(&g[b]))
                    continue;
                int ai = c->exps[a * 2], aj = c->exps[a * 2 + 1], bi = c->exps[b * 2], bj = c->exps[b * 2 + 1];
                if (!(ai < bi && aj > bj))
                    continue;
                long w0 = aj - bj, w1 = bi - ai, gg = gcdl(w0, w1);
                w0 /= gg, w1 /= gg;
                long base = w0 * ai + w1 * aj;
                bool support = true;
                for (int k = 1; k < c->M && support; k++)
                    if (!num_is_zero(&g[k]) && w0 * c->exps[k * 2] + w1 * c->exps[k * 2 + 1] < base)
                        support = false;
                if (support && w0 < 64 && w1 < 64) {
                    w[0] = (int)w0, w[1] = (int)w1;
                    add_weight(ws, &nw, max, w, d);
                }
            }
        }
    }
    if (d >= 2 && d <= 8) {
        long l = 1;
        int pure[8] = {0};
        for (int i = 1; i < c->M; i++) {
            if (num_is_zero(&g[i]))
                continue;
            int nz = 0, v0 = 0;
            for (int v = 0; v < d; v++)
                if (c->exps[(size_t)i * d + v])
                    nz++, v0 = v;
            if (nz == 1 && !pure[v0])
                pure[v0] = c->exps[(size_t)i * d + v0];
        }
        bool all = true;
        for (int v = 0; v < d; v++) {
            all = all && pure[v];
            if (pure[v])
                l = l / gcdl(l, pure[v]) * pure[v];
        }
        if (all && l < 4096) {
            for (int v = 0; v < d; v++)
                w[v] = (int)(l / pure[v]);
            add_weight(ws, &nw, max, w, d);
        }
    }
    return nw;
}

void decided_init(Decided *r, int d)
{
    memset(r, 0, sizeof *r);
    num_init(&r->lead);
    (void)d;
}

void decided_free(Decided *r, int d)
{
    if (r->curve) {
        for (int v = 0; v < d; v++)
            tp_free(&r->curve[v]);
        free(r->curve);
    }
    num_clear(&r->lead);
    buf_free(&r->why);
    for (int k = 0; k < r->nshift; k++)
        mpq_clear(r->shift[k].y0);
}

static void put_weights(Buf *b, const int *w, int d)
{
    buf_puts(b, "(");
    for (int v = 0; v < d; v++)
        buf_printf(b, "%s%d", v ? ", " : "", w[v]);
    buf_puts(b, ")");
}

/* Decides whether g (no terms below degree 3) has a local minimum at 0. `subst` records the
 * coordinate changes made so far, so that a curve found in the new coordinates can be
 * written in the original ones: u_orig = subst(u_new). */
static void decide_min(const RCtx *rc, const Num *g, Decided *out, int depth,
                       TPoly *(*to_orig)(const RCtx *, const TPoly *, void *), void *arg);

/* Identity mapping of curves, at the top level. */
TPoly *copy_curve(const RCtx *rc, const TPoly *u, void *arg)
{
    (void)arg;
    TPoly *r = xmalloc(sizeof(TPoly) * (size_t)rc->c->d);
    for (int v = 0; v < rc->c->d; v++) {
        r[v] = tp_new(u[v].n);
        for (int i = 0; i < u[v].n; i++)
            num_set(&r[v].c[i], &u[v].c[i]);
    }
    return r;
}

typedef struct {
    int var; /* the variable shifted */
    int other;
    Num y0;
    int b; /* u_var = u'_var + y0 * u_other^b */
    TPoly *(*outer)(const RCtx *, const TPoly *, void *);
    void *outer_arg;
} Shift;

static TPoly *shift_curve(const RCtx *rc, const TPoly *u, void *arg)
{
    Shift *s = arg;
    TPoly *r = copy_curve(rc, u, NULL);
    TPoly pw = tp_new(1);
    num_set_si(&pw.c[0], 1, 1);
    for (int e = 0; e < s->b; e++) {
        TPoly t = tp_mul(&pw, &u[s->other]);
        tp_free(&pw);
        pw = t;
    }
    tp_addmul(&r[s->var], &pw, &s->y0);
    tp_free(&pw);
    TPoly *o = s->outer(rc, r, s->outer_arg);
    for (int v = 0; v < rc->c->d; v++)
        tp_free(&r[v]);
    free(r);
    return o;
}

/* g(x, y) with u_var replaced by u_var + y0 * u_other^b (truncation stays exact: no
 * monomial's degree goes down). */
static Num *substitute(const SerCtx *c, const Num *g, const Shift *s)
{
    Ser X[2];
    Ser acc = ser_new(c), tmp = ser_new(c), mono = ser_new(c);
    for (int v = 0; v < 2; v++) {
        X[v] = ser_new(c);
        unsigned char e[2] = {0, 0};
        e[v] = 1;
        num_set_si(&X[v][serctx_index(c, e)], 1, 1);
    }
    unsigned char e[2] = {0, 0};
    e[s->other] = (unsigned char)s->b;
    int idx = serctx_index(c, e);
    if (idx >= 0)
        num_add(&X[s->var][idx], &X[s->var][idx], &s->y0);
    ser_zero(c, acc);
    for (int i = 1; i < c->M; i++) {
        if (num_is_zero(&g[i]))
            continue;
        ser_zero(c, mono);
        num_set_si(&mono[0], 1, 1);
        for (int v = 0; v < 2; v++)
            for (int k = 0; k < c->exps[i * 2 + v]; k++) {
                ser_mul(c, tmp, mono, X[v]);
                ser_set(c, mono, tmp);
            }
        ser_scale(c, mono, mono, &g[i]);
        ser_add(c, acc, acc, mono);
    }
    ser_free(c, X[0]);
    ser_free(c, X[1]);
    ser_free(c, tmp);
    ser_free(c, mono);
    return acc;
}

/* A rational double root of a slice: a root of gcd(p, p') that is a linear factor. */
static bool rational_double_root(const QPoly *p, mpq_t root)
{
    QPoly d = qp_deriv(p);
    QPoly g = qp_gcd(p, &d); /* the multiple roots, (y - y0)^(m-1) for one of multiplicity m */
    QPoly dg = qp_deriv(&g), gg = qp_gcd(&g, &dg), sq;
    QPoly r = qp_divrem(&g, &gg, &sq); /* square-free: each multiple root once */
    bool ok = false;
    if (sq.n == 2) {
        mpq_div(root, sq.c[0], sq.c[1]);
        mpq_neg(root, root);
        ok = true;
    }
    qp_free(&r);
    qp_free(&sq);
    qp_free(&dg);
    qp_free(&gg);
    qp_free(&d);
    qp_free(&g);
    return ok;
}

/* Whether gamma = lam*u + (1-lam)*v <= a for some lam in [0, 1] with gamma != a (exponents are
 * small integers; lam's bounds are kept as fractions num/den with den > 0). */
static bool dominated_by_pair(const unsigned char *u, const unsigned char *v, const unsigned char *a, int d)
{
    long lo_n = 0, lo_d = 1, hi_n = 1, hi_d = 1;
    for (int k = 0; k < d; k++) {
        long du = (long)u[k] - v[k], rhs = (long)a[k] - v[k];
        if (du == 0) {
            if (rhs < 0)
                return false;
        } else if (du > 0) { /* lam <= rhs/du */
            if (rhs * hi_d < hi_n * du)
                hi_n = rhs, hi_d = du;
        } else { /* lam >= rhs/du = (-rhs)/(-du) */
            if (-rhs * lo_d > lo_n * -du)
                lo_n = -rhs, lo_d = -du;
        }
    }
    if (lo_n * hi_d > hi_n * lo_d)
        return false; /* empty */
    if (lo_n * hi_d < hi_n * lo_d)
        return true;            /* an interval of lam: at most one of them gives gamma = a */
    for (int k = 0; k < d; k++) /* one lam: gamma = a? (gamma_k*lo_d = lo_n*u_k + (lo_d-lo_n)*v_k) */
        if (lo_n * u[k] + (lo_d - lo_n) * v[k] != (long)a[k] * lo_d)
            return true;
    return false;
}

/* A strict minimum by the Newton diagram: the even monomials with positive coefficients P
 * include a pure power of every variable (of degree <= K), and every other term, and every
 * term beyond order K, lies strictly above their convex hull (x^a = x^gamma * x^(a-gamma) with
 * gamma in conv(P), a - gamma >= 0 and not 0). Then |x^a| <= |x^(a-gamma)| * sum_P |x^v| (weighted
 * AM-GM), so near 0 the loss is at least half of sum_P c_v x^v > 0. */
static bool newton_diagram_positive(const RCtx *rc, const Num *g, Buf *why)
{
    const SerCtx *c = rc->c;
    int d = c->d;
    int *P = xmalloc(sizeof(int) * (size_t)c->M);
    int np = 0;
    bool *pure = xcalloc((size_t)d + 1, 1);
    for (int i = 1; i < c->M; i++) {
        if (num_is_zero(&g[i]) || num_sign(&g[i]) != 1)
            continue;
        const unsigned char *e = c->exps + (size_t)i * d;
        bool even = true;
        int nz = 0, last = 0;
        for (int v = 0; v < d; v++) {
            even = even && e[v] % 2 == 0;
            if (e[v])
                nz++, last = v;
        }
        if (!even)
            continue;
        P[np++] = i;
        if (nz == 1)
            pure[last] = true;
    }
    bool ok = np > 0;
    for (int v = 0; v < d; v++)
        ok = ok && pure[v];
    for (int i = 1; i < c->M && ok; i++) {
        if (num_is_zero(&g[i]))
            continue;
        bool in_p = false;
        for (int k = 0; k < np; k++)
            in_p |= P[k] == i;
        if (in_p)
            continue;
        const unsigned char *a = c->exps + (size_t)i * d;
        bool dom = false;
        for (int k = 0; k < np && !dom; k++)
            for (int l = k; l < np && !dom; l++)
                dom = dominated_by_pair(c->exps + (size_t)P[k] * d, c->exps + (size_t)P[l] * d, a, d);
        ok = dom;
    }
    if (ok) {
        buf_puts(why, "its Newton diagram is that of ");
        Ser part = ser_new(c);
        for (int k = 0; k < np; k++)
            num_set(&part[P[k]], &g[P[k]]);
        put_form(why, rc, part, NULL, 0);
        ser_free(c, part);
        buf_printf(why,
                   ", even monomials with %s coefficients and a pure power of each variable, and every other "
                   "term (through order %d, and beyond) lies above it",
                   rc->negated ? "negative" : "positive", rc->K);
    }
    free(P);
    free(pure);
    return ok;
}

static void decide_min(const RCtx *rc, const Num *g, Decided *out, int depth,
                       TPoly *(*to_orig)(const RCtx *, const TPoly *, void *), void *arg)
{
    const SerCtx *c = rc->c;
    int d = c->d;
    if (ser_is_zero(c, (Ser)g)) {
        out->kind = D_ZERO;
        buf_printf(&out->why, "the reduced function vanishes through order %d", rc->K);
        return;
    }
    int ws[24][SER_MAX_VARS]; /* d may be up to SER_MAX_VARS: 8 overflowed at a null space of 10 */
    int nw = candidate_weights(c, g, ws, 24);
    bool semidefinite_seen = false;
    int starts = 0; /* the sphere search's starts, for the sentence */
    for (int k = 0; k < nw; k++) {
        const int *w = ws[k];
        long D = -1, minw = w[0];
        for (int v = 1; v < d; v++)
            minw = w[v] < minw ? w[v] : minw;
        for (int i = 1; i < c->M; i++)
            if (!num_is_zero(&g[i]) && (D < 0 || wdeg(c, i, w) < D))
                D = wdeg(c, i, w);
        if (D < 0 || D >= minw * (rc->K + 1))
            continue; /* terms beyond the order examined could reach this weighted degree */
        mpq_t x[SER_MAX_VARS];
        for (int v = 0; v < d; v++)
            mpq_init(x[v]);
        Num value;
        num_init(&value);
        /* definiteness first: it is one Sturm count, the search for a negative value many
         * evaluations that find nothing when the form is definite */
        bool pd = positive_definite(c, g, w, D);
        bool neg = !pd && find_negative(c, g, w, D, x, &value, &starts);
        if (neg) {
            out->kind = D_NOT_MIN;
            TPoly *u = xmalloc(sizeof(TPoly) * (size_t)d);
            for (int v = 0; v < d; v++) {
                u[v] = tp_new(w[v] + 1);
                num_set_q(&u[v].c[w[v]], x[v]);
            }
            out->curve = to_orig(rc, u, arg);
            for (int v = 0; v < d; v++)
                tp_free(&u[v]);
            free(u);
            out->order = D;
            num_set(&out->lead, &value);
            buf_puts(&out->why, "its lowest ");
            if (k > 0 || d == 1)
                buf_puts(&out->why, d == 1 ? "term " : "weighted form ");
            else
                buf_puts(&out->why, "form ");
            put_form(&out->why, rc, g, w, D);
            if (d > 1 && k > 0) {
                buf_puts(&out->why, " (weights ");
                put_weights(&out->why, w, d);
                buf_puts(&out->why, ")");
            }
            buf_puts(&out->why, rc->negated ? " is positive at " : " is negative at ");
            Num *xv = vec_new((uint32_t)d);
            for (int v = 0; v < d; v++)
                num_set_q(&xv[v], x[v]);
            put_vec(&out->why, xv, (uint32_t)d);
            vec_free(xv, (uint32_t)d);
        } else if (pd) {
            out->kind = D_STRICT_MIN;
            out->weighted = true;
            memcpy(out->w, w, sizeof(int) * (size_t)d);
            out->wdeg = D;
            buf_puts(&out->why, d == 1 ? "its lowest term " : "its lowest ");
            if (d > 1)
                buf_puts(&out->why, k > 0 ? "weighted form " : "form ");
            put_form(&out->why, rc, g, w, D);
            if (d > 1 && k > 0) {
                buf_puts(&out->why, " (weights ");
                put_weights(&out->why, w, d);
                buf_puts(&out->why, ")");
            }
            buf_puts(&out->why, rc->negated ? " is negative definite" : " is positive definite");
        } else {
            semidefinite_seen = true;
        }
        for (int v = 0; v < d; v++)
            mpq_clear(x[v]);
        num_clear(&value);
        if (out->kind != D_UNKNOWN)
            return;
    }
    /* Two variables, a semidefinite weighted form vanishing along y = y0*x^b (weights (1, b))
     * or x = x0*y^a: shift that curve to the axis and decide again. */
    if (d == 2 && depth < 6) {
        for (int k = 0; k < nw; k++) {
            const int *w = ws[k];
            for (int var = 0; var < 2; var++) {
                int other = 1 - var;
                if (w[other] != 1 || w[var] % w[other] != 0)
                    continue;
                long D = -1;
                for (int i = 1; i < c->M; i++)
                    if (!num_is_zero(&g[i]) && (D < 0 || wdeg(c, i, w) < D))
                        D = wdeg(c, i, w);
                if (D < 0 || D >= (rc->K + 1) || !form_exact(c, g, w, D))
                    continue;
                QPoly p = binary_slice(c, g, w, D, 1, other); /* other = 1: a polynomial in var */
                mpq_t root;
                mpq_init(root);
                bool has = p.n > 2 && rational_double_root(&p, root) && mpq_sgn(root) != 0;
                qp_free(&p);
                if (has) {
                    Shift s;
                    s.var = var;
                    s.other = other;
                    s.b = w[var];
                    s.outer = to_orig;
                    s.outer_arg = arg;
                    num_init(&s.y0);
                    num_set_q(&s.y0, root);
                    Num *g2 = substitute(c, g, &s);
                    decide_min(rc, g2, out, depth + 1, shift_curve, &s);
                    if (out->kind == D_STRICT_MIN && out->weighted && out->nshift < 8) {
                        memmove(&out->shift[1], &out->shift[0], sizeof out->shift[0] * (size_t)out->nshift);
                        out->shift[0].var = var;
                        out->shift[0].other = other;
                        out->shift[0].b = w[var];
                        mpq_init(out->shift[0].y0);
                        mpq_set(out->shift[0].y0, root);
                        out->nshift++;
                    } else if (out->kind == D_STRICT_MIN) {
                        out->weighted = false; /* too many shifts to write down */
                    }
                    if (out->kind != D_UNKNOWN) {
                        Buf b = {0};
                        /* "after the change y -> y + 3/2*x^2, " */
                        Num a;
                        num_init(&a);
                        bool neg = num_sign(&s.y0) < 0;
                        if (neg)
                            num_neg(&a, &s.y0);
                        else
                            num_set(&a, &s.y0);
                        buf_printf(&b, "after the change %s -> %s %s ", rc->names[var], rc->names[var],
                                   neg ? "-" : "+");
                        if (!(a.exact && mpq_cmp_ui(a.q, 1, 1) == 0)) {
                            put_num(&b, &a);
                            buf_puts(&b, "*");
                        }
                        buf_puts(&b, rc->names[other]);
                        if (w[var] > 1)
                            buf_printf(&b, "^%d", w[var]);
                        buf_puts(&b, ", ");
                        num_clear(&a);
                        buf_put(&b, out->why.data, out->why.len);
                        out->why.len = 0;
                        buf_put(&out->why, b.data, b.len);
                        buf_free(&b);
                    }
                    ser_free(c, g2);
                    num_clear(&s.y0);
                    mpq_clear(root);
                    if (out->kind != D_UNKNOWN)
                        return;
                    out->why.len = 0;
                    continue;
                }
                mpq_clear(root);
            }
        }
    }
    out->why.len = 0;
    if (newton_diagram_positive(rc, g, &out->why)) {
        out->kind = D_STRICT_MIN;
        return;
    }
    out->kind = D_UNKNOWN;
    out->why.len = 0;
    if (semidefinite_seen)
        buf_printf(&out->why,
                   "no proof found through order %d: its lowest forms were not proved definite, and no "
                   "point where one is negative was found (%s%d starts of local minimisation on the unit "
                   "sphere)",
                   rc->K,
                   starts == 0 ? "the slices of the binary form, "
                   : d <= 5    ? "a grid of 7 values per variable, then "
                               : "",
                   starts);
    else
        buf_printf(&out->why, "no weighted form of it is decided through order %d", rc->K);
}

void reduce_decide(const RCtx *rc, const Num *g, Decided *out)
{
    decide_min(rc, g, out, 0, copy_curve, NULL);
}
