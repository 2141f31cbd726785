/* certify.c: `hessgen --classify FILE.hl --near POINT`: a critical point proved near an
 * approximation (from scan, newton or a paper), and its kind, by interval arithmetic.
 *
 * In: the model, its gradient and Hessian nodes (diff.c), a point in decimals.
 * Out: a box with decimal bounds that holds exactly one critical point, and strict_min,
 * strict_max or saddle from the Hessian over that box; otherwise `undetermined` with the
 * reason. Every value is an Arb ball that contains the true one: the graph is evaluated on
 * balls (series.c at order 0), so its value over a box of balls encloses the function on the
 * whole box.
 *
 * 1. Newton's iteration on the gradient from the given point p, on 256-bit midpoints, finds
 *    c with g(c) ~ 0. It must stay within NEAR_RADIUS * (1 + |p|) of p (max norms): a
 *    critical point further away is not the one asked about.
 * 2. Krawczyk's test on a box X around c. With Y ~ H(c)^-1 (any real matrix will do),
 *        K(X) = c - Y g(c) + (I - Y H(X)) (X - c),
 *    where H(X) encloses the Hessian at every point of X. If K(X) lies in the interior of X,
 *    then X holds exactly one zero of the gradient and it lies in K(X) (Krawczyk 1969,
 *    Moore 1977; Rump, Acta Numerica 2010, thm 13.2). The box is tried first wide enough to
 *    hold p, then smaller.
 * 3. The kind: V ~ the eigenvectors of H(X)'s midpoint, and symmetric elimination of
 *    V^T H(X) V in balls without pivoting. When every pivot's sign is certified, every
 *    symmetric matrix in H(X) has that many positive and negative eigenvalues (Sylvester's
 *    law; V is invertible since V^T B V is), the Hessian at the critical point among them.
 */
#include <acb_mat.h>
#include <arb_mat.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { CERT_PREC = 256, NEWTON_STEPS = 60, BOX_TRIES = 14, TEXT_COORDS = 10 };

/* how far from the given point a critical point may be, relative to 1 + |p| */
static const double NEAR_RADIUS = 1e-2;

typedef struct {
    const Model *m;
    const Deriv *d;
    uint32_t n;
    SerCtx ctx; /* no variables, order 0: plain values */
    Buf why;    /* why the last evaluation failed */
} Cert;

/* The loss, gradient and Hessian (each may be NULL) enclosed over the box x; false, with
 * c->why, where the function is not defined or not smooth somewhere in the box. */
static bool eval_box(Cert *c, arb_srcptr x, arb_ptr loss, arb_ptr g, arb_mat_t H)
{
    uint32_t n = c->n;
    Ser *theta = xmalloc(sizeof(Ser) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        theta[i] = ser_new(&c->ctx);
        num_set_ball(&theta[i][0], x + i);
    }
    SerEval e;
    sereval_init(&e, &c->ctx, theta, n);
    bool ok = true;
    const char *what = "the loss";
    const Num *v;
    if (loss) {
        if ((ok = (v = sereval(&e, c->m->loss)) != NULL))
            num_to_ball(loss, v);
    }
    if (ok)
        what = "the gradient";
    for (uint32_t i = 0; ok && g && i < n; i++)
        if ((ok = (v = sereval(&e, c->d->grad[i])) != NULL))
            num_to_ball(g + i, v);
    if (ok && H) {
        what = "the Hessian";
        arb_mat_zero(H);
        for (uint32_t t = 0; ok && t < c->d->nnz; t++)
            if ((ok = (v = sereval(&e, c->d->hess[t])) != NULL)) {
                num_to_ball(arb_mat_entry(H, c->d->rows[t], c->d->cols[t]), v);
                num_to_ball(arb_mat_entry(H, c->d->cols[t], c->d->rows[t]), v);
            }
    }
    if (!ok) {
        c->why.len = 0;
        buf_printf(&c->why, "%s cannot be evaluated on the box: %s", what, e.fail_why ? e.fail_why : "it failed");
        if (e.fail_node) {
            buf_puts(&c->why, " (in ");
            print_node(&c->why, e.fail_node, c->m->param_names, 120);
            buf_puts(&c->why, ")");
        }
    }
    sereval_free(&e);
    for (uint32_t i = 0; i < n; i++)
        ser_free(&c->ctx, theta[i]);
    free(theta);
    return ok;
}

static double mid_d(const arb_t x)
{
    return arf_get_d(arb_midref(x), ARF_RND_NEAR);
}

/* the shortest decimal that reads back as x */
static void put_double(Buf *b, double x)
{
    char text[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, x);
        if (strtod(text, NULL) == x)
            break;
    }
    buf_puts(b, text);
}

static void put_point_d(Buf *b, const Model *m, const double *x, uint32_t n)
{
    for (uint32_t i = 0; i < n && i < TEXT_COORDS; i++) {
        buf_printf(b, "%s%s = ", i ? ", " : "", m->param_names[i]);
        put_double(b, x[i]);
    }
    if (n > TEXT_COORDS)
        buf_printf(b, ", ... (%u more in --json)", n - TEXT_COORDS);
}

/* Newton's iteration on the gradient from x (overwritten by the midpoints it reaches).
 * Returns the steps taken until a step below the working precision, NEWTON_STEPS when it
 * did not get there, or -1 with c->why when it could not go on (*singular: for a singular
 * Hessian) or left p's neighbourhood. */
static int newton(Cert *c, arb_ptr x, const double *p, bool *singular)
{
    uint32_t n = c->n;
    arb_ptr g = _arb_vec_init(n);
    arb_mat_t H, G, S;
    arb_mat_init(H, n, n);
    arb_mat_init(G, n, 1);
    arb_mat_init(S, n, 1);
    double pn = 0;
    for (uint32_t i = 0; i < n; i++)
        pn = fmax(pn, fabs(p[i]));
    int steps = -1;
    for (int it = 0; it < NEWTON_STEPS && steps < 0; it++) {
        if (!eval_box(c, x, NULL, g, H))
            break;
        for (uint32_t i = 0; i < n; i++)
            arb_set(arb_mat_entry(G, i, 0), g + i);
        if (!arb_mat_approx_solve(S, H, G, CERT_PREC)) {
            c->why.len = 0;
            buf_printf(&c->why, "Newton's iteration from the point cannot solve H s = g at %s",
                       it ? "a step" : "the start");
            *singular = true;
            break;
        }
        double step = 0, size = 0, dist = 0;
        for (uint32_t i = 0; i < n; i++) {
            arb_sub(x + i, x + i, arb_mat_entry(S, i, 0), CERT_PREC);
            arb_get_mid_arb(x + i, x + i);
            step = fmax(step, fabs(mid_d(arb_mat_entry(S, i, 0))));
            size = fmax(size, fabs(mid_d(x + i)));
            dist = fmax(dist, fabs(mid_d(x + i) - p[i]));
        }
        if (!isfinite(step) || !isfinite(size) || dist > NEAR_RADIUS * (1 + pn)) {
            c->why.len = 0;
            if (isfinite(dist))
                buf_printf(&c->why,
                           "Newton's iteration from the point went %.3g away from it, beyond %g (1 + |p|) = "
                           "%.3g: no critical point was found near it",
                           dist, NEAR_RADIUS, NEAR_RADIUS * (1 + pn));
            else
                buf_puts(&c->why, "Newton's iteration from the point diverged: no critical point was found near it");
            break;
        }
        if (step <= ldexp(1 + size, -(CERT_PREC - 30)))
            steps = it + 1;
        else if (it == NEWTON_STEPS - 1)
            steps = NEWTON_STEPS;
    }
    _arb_vec_clear(g, n);
    arb_mat_clear(H);
    arb_mat_clear(G);
    arb_mat_clear(S);
    return steps;
}

static void mpq_of_arf(mpq_t out, const arf_t x)
{
    fmpq_t f;
    fmpq_init(f);
    arf_get_fmpq(f, x);
    fmpq_get_mpq(out, f);
    fmpq_clear(f);
}

static void arb_of_mpq(arb_t out, const mpq_t q)
{
    fmpq_t f;
    fmpq_init(f);
    fmpq_set_mpq(f, q);
    arb_set_fmpq(out, f, CERT_PREC);
    fmpq_clear(f);
}

/* [c - r, c + r] rounded outward to the decimal grid 10^-k, k the least (and >= 0) with
 * 10^-k <= r / 10: bounds a reader can paste, a little wider than asked. */
static int decimal_bounds(const arb_t c, double r, mpq_t lo, mpq_t hi)
{
    int k = (int)ceil(log10(10 / r));
    if (k < 0)
        k = 0;
    mpq_t cq, rq, t;
    mpq_inits(cq, rq, t, NULL);
    mpq_of_arf(cq, arb_midref(c));
    mpq_set_d(rq, r);
    mpz_t scale, z;
    mpz_inits(scale, z, NULL);
    mpz_ui_pow_ui(scale, 10, (unsigned long)k);
    for (int side = 0; side < 2; side++) {
        (side ? mpq_add : mpq_sub)(t, cq, rq);
        mpz_mul(z, mpq_numref(t), scale);
        (side ? mpz_cdiv_q : mpz_fdiv_q)(z, z, mpq_denref(t));
        mpq_ptr out = side ? hi : lo;
        mpq_set_num(out, z);
        mpq_set_den(out, scale);
        mpq_canonicalize(out);
    }
    mpz_clears(scale, z, NULL);
    mpq_clears(cq, rq, t, NULL);
    return k;
}

/* q, a multiple of 10^-k, as a decimal with k places */
static void put_decimal(Buf *b, const mpq_t q, int k)
{
    mpz_t scale, z;
    mpz_inits(scale, z, NULL);
    mpz_ui_pow_ui(scale, 10, (unsigned long)k);
    mpz_mul(z, mpq_numref(q), scale);
    mpz_divexact(z, z, mpq_denref(q));
    char *digits = mpz_get_str(NULL, 10, z);
    const char *d = digits;
    if (*d == '-')
        buf_puts(b, "-"), d++;
    size_t len = strlen(d);
    if (len <= (size_t)k) {
        buf_puts(b, "0.");
        for (size_t i = len; i < (size_t)k; i++)
            buf_puts(b, "0");
        buf_puts(b, d);
    } else {
        buf_put(b, d, len - (size_t)k);
        if (k) {
            buf_puts(b, ".");
            buf_puts(b, d + len - k);
        }
    }
    free(digits);
    mpz_clears(scale, z, NULL);
}

/* Krawczyk's test on the box [lo, hi]; true when it holds exactly one critical point,
 * with the Hessian enclosed over the box in Hx and the loss over it in L. */
static bool krawczyk(Cert *c, mpq_t *lo, mpq_t *hi, arb_mat_t Hx, arb_t L)
{
    uint32_t n = c->n;
    arb_ptr X = _arb_vec_init(n), ctr = _arb_vec_init(n), gc = _arb_vec_init(n);
    arb_ptr lob = _arb_vec_init(n), hib = _arb_vec_init(n);
    arf_t a, b;
    arf_init(a);
    arf_init(b);
    for (uint32_t i = 0; i < n; i++) {
        arb_of_mpq(lob + i, lo[i]);
        arb_of_mpq(hib + i, hi[i]);
        arb_get_lbound_arf(a, lob + i, CERT_PREC);
        arb_get_ubound_arf(b, hib + i, CERT_PREC);
        arb_set_interval_arf(X + i, a, b, CERT_PREC);
        arb_get_mid_arb(ctr + i, X + i);
    }
    arf_clear(a);
    arf_clear(b);
    arb_mat_t M, Y, C, z, D, K;
    arb_mat_init(M, n, n);
    arb_mat_init(Y, n, n);
    arb_mat_init(C, n, n);
    arb_mat_init(z, n, 1);
    arb_mat_init(D, n, 1);
    arb_mat_init(K, n, 1);
    bool ok = eval_box(c, ctr, NULL, gc, NULL) && eval_box(c, X, L, NULL, Hx);
    if (ok) {
        arb_mat_get_mid(M, Hx);
        if (!arb_mat_approx_inv(Y, M, CERT_PREC)) {
            c->why.len = 0;
            buf_puts(&c->why, "the Hessian over the box is singular");
            ok = false;
        }
    }
    if (ok) {
        arb_mat_get_mid(Y, Y); /* an exact matrix: the test holds for any */
        for (uint32_t i = 0; i < n; i++) {
            arb_set(arb_mat_entry(D, i, 0), gc + i);
        }
        arb_mat_mul(z, Y, D, CERT_PREC); /* Y g(c) */
        arb_mat_mul(C, Y, Hx, CERT_PREC);
        arb_mat_neg(C, C);
        for (uint32_t i = 0; i < n; i++)
            arb_add_ui(arb_mat_entry(C, i, i), arb_mat_entry(C, i, i), 1, CERT_PREC);
        for (uint32_t i = 0; i < n; i++)
            arb_sub(arb_mat_entry(D, i, 0), X + i, ctr + i, CERT_PREC);
        arb_mat_mul(K, C, D, CERT_PREC);
        for (uint32_t i = 0; i < n && ok; i++) {
            arb_ptr k = arb_mat_entry(K, i, 0);
            arb_sub(k, k, arb_mat_entry(z, i, 0), CERT_PREC);
            arb_add(k, k, ctr + i, CERT_PREC);
            /* K strictly inside (lo, hi), which X holds: the zero is in the decimal box too */
            ok = arb_lt(lob + i, k) && arb_lt(k, hib + i);
        }
        if (!ok) {
            c->why.len = 0;
            buf_puts(&c->why, "Krawczyk's test failed: K(X) is not inside the box");
        }
    }
    arb_mat_clear(M);
    arb_mat_clear(Y);
    arb_mat_clear(C);
    arb_mat_clear(z);
    arb_mat_clear(D);
    arb_mat_clear(K);
    _arb_vec_clear(X, n);
    _arb_vec_clear(ctr, n);
    _arb_vec_clear(gc, n);
    _arb_vec_clear(lob, n);
    _arb_vec_clear(hib, n);
    return ok;
}

typedef struct {
    double value;
    uint32_t column;
} Eig;

static int eig_cmp(const void *a, const void *b)
{
    double x = ((const Eig *)a)->value, y = ((const Eig *)b)->value;
    return (x > y) - (x < y);
}

/* A box with decimal bounds: lo and hi multiples of 10^-places */
typedef struct {
    mpq_t *lo, *hi;
    int *places;
    bool proved; /* holds exactly one critical point */
} Box;

/* What a --near run found, for the text and the JSON. */
typedef struct {
    const char *verdict;
    Buf reason, steps;
    Box tight;         /* a small box around the critical point */
    Box wide;          /* one that also holds the given point, where the tight one does not */
    bool inside;       /* the given point is in a proved box */
    int npos, nneg;    /* when the inertia is certified, else -1 */
    Eig *eig;          /* approximate eigenvalues, ascending, or NULL */
    double *down, *up; /* certified directions of fall and rise (saddle), or NULL */
    arb_t loss;        /* over the tight box */
    arb_mat_t H;       /* over the tight box */
} Near;

static void box_init(Box *b, uint32_t n)
{
    b->lo = xmalloc(sizeof(mpq_t) * (n ? n : 1));
    b->hi = xmalloc(sizeof(mpq_t) * (n ? n : 1));
    b->places = xcalloc(n ? n : 1, sizeof(int));
    for (uint32_t i = 0; i < n; i++)
        mpq_inits(b->lo[i], b->hi[i], NULL);
    b->proved = false;
}

static void box_free(Box *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        mpq_clears(b->lo[i], b->hi[i], NULL);
    free(b->lo);
    free(b->hi);
    free(b->places);
}

static bool box_holds(const Box *b, const Num *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (mpq_cmp(b->lo[i], p[i].q) > 0 || mpq_cmp(p[i].q, b->hi[i]) > 0)
            return false;
    return true;
}

/* Krawczyk's test on [x - r, x + r] rounded outward to decimals */
static bool try_box(Cert *c, arb_srcptr x, const double *r, Box *b, arb_mat_t H, arb_t L)
{
    for (uint32_t i = 0; i < c->n; i++)
        b->places[i] = decimal_bounds(x + i, r[i], b->lo[i], b->hi[i]);
    return b->proved = krawczyk(c, b->lo, b->hi, H, L);
}

/* "x in [lo, hi]", one coordinate a line after the first's label */
static void put_box(Buf *steps, const Model *m, const Box *b, uint32_t n, const char *label)
{
    for (uint32_t i = 0; i < n && i < TEXT_COORDS; i++) {
        Buf line = {0};
        buf_printf(&line, "%s in [", m->param_names[i]);
        put_decimal(&line, b->lo[i], b->places[i]);
        buf_puts(&line, ", ");
        put_decimal(&line, b->hi[i], b->places[i]);
        buf_puts(&line, "]");
        put_step(steps, i ? "" : label, "%s", line.data);
        buf_free(&line);
    }
    if (n > TEXT_COORDS)
        put_step(steps, "", "... (%u more in --json)", n - TEXT_COORDS);
}

static void box_json(Buf *out, const Box *b, uint32_t n)
{
    buf_puts(out, "[");
    for (uint32_t i = 0; i < n; i++) {
        buf_puts(out, i ? ", [\"" : "[\"");
        put_decimal(out, b->lo[i], b->places[i]);
        buf_puts(out, "\", \"");
        put_decimal(out, b->hi[i], b->places[i]);
        buf_puts(out, "\"]");
    }
    buf_puts(out, "]");
}

/* The inertia of every symmetric matrix in Hx, by congruence with approximate eigenvectors;
 * false when a pivot's sign cannot be certified. */
static bool inertia(const Cert *c, const arb_mat_t Hx, Near *out)
{
    uint32_t n = c->n;
    arb_mat_t M, V, Vt, B, T, L;
    arb_mat_init(M, n, n);
    arb_mat_init(V, n, n);
    arb_mat_init(Vt, n, n);
    arb_mat_init(B, n, n);
    arb_mat_init(T, n, n);
    arb_mat_init(L, n, n);
    acb_mat_t A, R;
    acb_mat_init(A, n, n);
    acb_mat_init(R, n, n);
    acb_ptr E = _acb_vec_init(n);
    arb_mat_get_mid(M, Hx);
    acb_mat_set_arb_mat(A, M);
    out->eig = xmalloc(sizeof(Eig) * n);
    if (acb_mat_approx_eig_qr(E, NULL, R, A, NULL, 0, CERT_PREC)) {
        for (uint32_t i = 0; i < n; i++) {
            out->eig[i] = (Eig){mid_d(acb_realref(E + i)), i};
            for (uint32_t j = 0; j < n; j++)
                arf_set(arb_midref(arb_mat_entry(V, i, j)), arb_midref(acb_realref(acb_mat_entry(R, i, j))));
        }
    } else { /* no eigenvectors: eliminate H itself */
        arb_mat_one(V);
        for (uint32_t i = 0; i < n; i++)
            out->eig[i] = (Eig){mid_d(arb_mat_entry(M, i, i)), i};
    }
    qsort(out->eig, n, sizeof(Eig), eig_cmp);
    arb_mat_transpose(Vt, V);
    arb_mat_mul(T, Hx, V, CERT_PREC);
    arb_mat_mul(B, Vt, T, CERT_PREC);
    /* B = L D L^T in balls: D's entries on L's diagonal */
    bool ok = true;
    int npos = 0, nneg = 0;
    arb_t s, t;
    arb_init(s);
    arb_init(t);
    for (uint32_t j = 0; j < n && ok; j++) {
        for (uint32_t i = j; i < n; i++) {
            arb_set(s, arb_mat_entry(B, i, j));
            for (uint32_t k = 0; k < j; k++) {
                arb_mul(t, arb_mat_entry(L, i, k), arb_mat_entry(L, j, k), CERT_PREC);
                arb_mul(t, t, arb_mat_entry(L, k, k), CERT_PREC);
                arb_sub(s, s, t, CERT_PREC);
            }
            if (i == j) {
                if (arb_is_positive(s))
                    npos++;
                else if (arb_is_negative(s))
                    nneg++;
                else
                    ok = false;
                arb_set(arb_mat_entry(L, j, j), s);
            } else {
                arb_div(arb_mat_entry(L, i, j), s, arb_mat_entry(L, j, j), CERT_PREC);
            }
            if (!ok)
                break;
        }
    }
    out->npos = ok ? npos : -1;
    out->nneg = ok ? nneg : -1;
    /* the directions of a saddle: columns v of V with v^T H v of certified sign */
    if (ok && npos && nneg) {
        for (uint32_t j = 0; j < n; j++) {
            double **dir = arb_is_negative(arb_mat_entry(B, j, j))   ? &out->down
                           : arb_is_positive(arb_mat_entry(B, j, j)) ? &out->up
                                                                     : NULL;
            if (!dir || *dir)
                continue;
            *dir = xmalloc(sizeof(double) * n);
            double norm = 0;
            for (uint32_t i = 0; i < n; i++)
                norm = fmax(norm, fabs((*dir)[i] = mid_d(arb_mat_entry(V, i, j))));
            for (uint32_t i = 0; i < n; i++)
                (*dir)[i] /= norm;
        }
    }
    arb_clear(s);
    arb_clear(t);
    _acb_vec_clear(E, n);
    acb_mat_clear(A);
    acb_mat_clear(R);
    arb_mat_clear(M);
    arb_mat_clear(V);
    arb_mat_clear(Vt);
    arb_mat_clear(B);
    arb_mat_clear(T);
    arb_mat_clear(L);
    return ok;
}

static void put_dir(Buf *b, const double *v, uint32_t n)
{
    buf_puts(b, "(");
    for (uint32_t i = 0; i < n && i < TEXT_COORDS; i++)
        buf_printf(b, "%s%.4g", i ? ", " : "", v[i]);
    buf_puts(b, n > TEXT_COORDS ? ", ...)" : ")");
}

static void put_ball(Buf *b, const arb_t x, slong digits)
{
    char *s = arb_get_str(x, digits, 0);
    buf_puts(b, s);
    flint_free(s);
}

/* Why no box could be proved, when the Hessian at x is (nearly) singular. */
static void explain_singular(Cert *c, arb_srcptr x, Buf *why)
{
    uint32_t n = c->n;
    Near probe = {0};
    arb_mat_init(probe.H, n, n);
    if (n && eval_box(c, x, NULL, NULL, probe.H)) {
        inertia(c, probe.H, &probe);
        double lmin = INFINITY, lmax = 0;
        for (uint32_t i = 0; i < n; i++) {
            lmin = fmin(lmin, fabs(probe.eig[i].value));
            lmax = fmax(lmax, fabs(probe.eig[i].value));
        }
        if (lmin <= 1e-8 * lmax || lmax == 0)
            buf_printf(why,
                       "; the Hessian there is singular or nearly so (smallest |eigenvalue| about %.2g, largest "
                       "%.3g), as at a degenerate critical point or on a curve of them: `hessgen --classify --at` "
                       "decides a rational point exactly",
                       lmin, lmax);
    }
    free(probe.eig);
    free(probe.down);
    free(probe.up);
    arb_mat_clear(probe.H);
}

static void certify(Cert *c, const double *p, const Num *given, Near *out)
{
    uint32_t n = c->n;
    arb_ptr x = _arb_vec_init(n);
    double *mid = xmalloc(sizeof(double) * (n ? n : 1));
    double *r = xmalloc(sizeof(double) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++)
        arb_set_d(x + i, p[i]);
    bool singular = false;
    int steps = newton(c, x, p, &singular);
    if (steps < 0) {
        out->verdict = "undetermined";
        buf_puts(&out->reason, c->why.data);
        if (singular)
            explain_singular(c, x, &out->reason);
        put_step(&out->steps, "newton", "%s", out->reason.data);
        goto done;
    }
    double dist = 0;
    for (uint32_t i = 0; i < n; i++) {
        mid[i] = mid_d(x + i);
        dist = fmax(dist, fabs(mid[i] - p[i]));
    }
    Buf pt = {0};
    put_point_d(&pt, c->m, mid, n);
    if (steps < NEWTON_STEPS)
        put_step(&out->steps, "newton", "%d step%s in %d-bit balls to %s, %.2g from the given point", steps,
                 steps == 1 ? "" : "s", CERT_PREC, pt.data, dist);
    else
        put_step(&out->steps, "newton",
                 "%d steps in %d-bit balls reach %s (%.2g from the given point), without the "
                 "quadratic convergence of a regular critical point",
                 steps, CERT_PREC, pt.data, dist);
    buf_free(&pt);

    /* a tight box, 1e-12 relative, then smaller ones where the balls are too wide for it */
    int tries = 0;
    for (uint32_t i = 0; i < n; i++)
        r[i] = 1e-12 * (1 + fabs(mid[i]));
    for (; tries < BOX_TRIES && !try_box(c, x, r, &out->tight, out->H, out->loss); tries++)
        for (uint32_t i = 0; i < n; i++)
            r[i] *= 1e-4;
    if (!out->tight.proved) {
        out->verdict = "undetermined";
        buf_printf(&out->reason,
                   "no box around it could be proved to hold exactly one critical point (%s, on %d boxes "
                   "of relative radius 1e-12 down to %.0e)",
                   c->why.data, tries, 1e-12 * pow(1e-4, tries - 1));
        explain_singular(c, x, &out->reason);
        put_step(&out->steps, "box", "%s", out->reason.data);
        goto done;
    }
    put_box(&out->steps, c->m, &out->tight, n, "box");
    put_step(&out->steps, "", "holds exactly one critical point: Krawczyk's test, K(X) inside the box X");
    out->inside = box_holds(&out->tight, given, n);
    if (!out->inside) {
        /* uniqueness as far as the given point: a box that holds both */
        arb_mat_t H;
        arb_t L;
        arb_mat_init(H, n, n);
        arb_init(L);
        for (uint32_t i = 0; i < n; i++)
            r[i] = fmax(1.25 * fabs(p[i] - mid[i]), 1e-12 * (1 + fabs(mid[i])));
        if (try_box(c, x, r, &out->wide, H, L) && box_holds(&out->wide, given, n)) {
            out->inside = true;
            put_box(&out->steps, c->m, &out->wide, n, "wide box");
            put_step(&out->steps, "", "also holds exactly one critical point (the same), and the given point");
        } else {
            out->wide.proved = false;
            put_step(&out->steps, "wide box", "none proved that also holds the given point, %.2g away (%s)", dist,
                     c->why.data);
        }
        arb_mat_clear(H);
        arb_clear(L);
    }
    Buf text = {0};
    put_ball(&text, out->loss, 12);
    put_step(&out->steps, "loss", "%s over the box", text.data);
    text.len = 0;
    bool known = inertia(c, out->H, out);
    for (uint32_t i = 0; i < n && i < TEXT_COORDS; i++)
        buf_printf(&text, "%s%.6g", i ? ", " : "", out->eig[i].value);
    if (n > TEXT_COORDS)
        buf_puts(&text, ", ...");
    if (known)
        put_step(&out->steps, "Hessian",
                 "eigenvalues about %s; over the box, %d positive and %d negative (signs "
                 "certified by congruence)",
                 text.data, out->npos, out->nneg);
    else
        put_step(&out->steps, "Hessian", "eigenvalues about %s; the sign of one cannot be certified over the box",
                 text.data);
    buf_free(&text);
    if (!known) {
        out->verdict = "undetermined";
        buf_puts(&out->reason, "the box holds exactly one critical point, but the sign of a Hessian eigenvalue cannot "
                               "be certified over it");
    } else if (out->nneg == 0) {
        out->verdict = "strict_min";
        buf_puts(&out->reason, "the Hessian is positive definite at the only critical point in the box");
    } else if (out->npos == 0) {
        out->verdict = "strict_max";
        buf_puts(&out->reason, "the Hessian is negative definite at the only critical point in the box");
    } else {
        out->verdict = "saddle";
        buf_printf(&out->reason,
                   "the Hessian at the only critical point in the box has %d negative and %d positive "
                   "eigenvalue%s",
                   out->nneg, out->npos, out->npos == 1 ? "" : "s");
        if (out->down && out->up) {
            buf_puts(&out->reason, ": the loss falls along ");
            put_dir(&out->reason, out->down, n);
            buf_puts(&out->reason, " and rises along ");
            put_dir(&out->reason, out->up, n);
        }
    }
done:
    put_step(&out->steps, "verdict", "%s: %s", out->verdict, out->reason.data);
    free(mid);
    free(r);
    _arb_vec_clear(x, n);
}

static void near_json(Buf *b, const Cert *c, const double *p, const Near *r)
{
    uint32_t n = c->n;
    buf_puts(b, "{\"verdict\": ");
    json_string(b, r->verdict);
    buf_puts(b, ", \"reason\": ");
    json_string(b, r->reason.data ? r->reason.data : "");
    buf_printf(b, ", \"critical\": %s, \"degenerate\": %s", r->tight.proved ? "true" : "null",
               r->npos >= 0 ? "false" : "null");
    if (r->npos >= 0)
        buf_printf(b, ", \"inertia\": {\"negative\": %d, \"zero\": 0, \"positive\": %d}", r->nneg, r->npos);
    buf_puts(b, ", \"params\": [");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_puts(b, ", ");
        json_string(b, c->m->param_names[i]);
    }
    buf_puts(b, "], \"given\": [");
    for (uint32_t i = 0; i < n; i++) {
        buf_puts(b, i ? ", " : "");
        put_double(b, p[i]);
    }
    buf_puts(b, "]");
    if (r->tight.proved) {
        buf_puts(b, ", \"theta\": [");
        for (uint32_t i = 0; i < n; i++) {
            mpq_t m;
            mpq_init(m);
            mpq_add(m, r->tight.lo[i], r->tight.hi[i]);
            mpq_div_2exp(m, m, 1);
            buf_puts(b, i ? ", " : "");
            put_double(b, mpq_get_d(m));
            mpq_clear(m);
        }
        buf_puts(b, "], \"loss\": ");
        Buf t = {0};
        put_ball(&t, r->loss, 17);
        json_string(b, t.data);
        buf_puts(b, ", \"hessian\": [");
        for (uint32_t i = 0; i < n; i++) {
            buf_puts(b, i ? ", [" : "[");
            for (uint32_t j = 0; j < n; j++) {
                t.len = 0;
                put_ball(&t, arb_mat_entry(r->H, i, j), 17);
                if (j)
                    buf_puts(b, ", ");
                json_string(b, t.data);
            }
            buf_puts(b, "]");
        }
        buf_free(&t);
        buf_puts(b, "], \"eigenvalues\": [");
        for (uint32_t i = 0; i < n; i++) {
            buf_puts(b, i ? ", " : "");
            put_double(b, r->eig[i].value);
        }
        buf_puts(b, "], \"certified\": {\"box\": ");
        box_json(b, &r->tight, n);
        buf_puts(b, ", \"unique\": true, \"wide_box\": ");
        if (r->wide.proved)
            box_json(b, &r->wide, n);
        else
            buf_puts(b, "null");
        buf_printf(b, ", \"contains_given\": %s, \"method\": \"krawczyk\"}", r->inside ? "true" : "false");
    } else {
        buf_puts(b, ", \"certified\": null");
    }
    buf_puts(b, ", \"steps\": ");
    json_lines(b, &r->steps);
    buf_puts(b, "}\n");
}

int exact_near_decide(const Model *m, const Deriv *d, const char *near, bool json, Buf *out)
{
    uint32_t n = m->nparam;
    if (n > EXACT_MAX_PARAMS) {
        fprintf(stderr, "hessgen: --near works on the dense Hessian of at most %d parameters, and this model has %u\n",
                EXACT_MAX_PARAMS, n);
        return 2;
    }
    Num *given = vec_new(n);
    if (!exact_parse_point(m, near, "--near", given)) {
        vec_free(given, n);
        return 2;
    }
    double *p = xmalloc(sizeof(double) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        p[i] = num_to_double(&given[i]);
        if (!isfinite(p[i])) {
            fprintf(stderr, "hessgen: --near: the value of '%s' is beyond the range of doubles\n", m->param_names[i]);
            vec_free(given, n);
            free(p);
            return 2;
        }
    }
    num_prec = CERT_PREC;
    Cert c = {m, d, n, {0}, {0}};
    serctx_init(&c.ctx, 0, 0);
    Near r = {0};
    r.npos = r.nneg = -1;
    box_init(&r.tight, n);
    box_init(&r.wide, n);
    arb_init(r.loss);
    arb_mat_init(r.H, n, n);
    Buf pt = {0};
    put_point_d(&pt, m, p, n);
    put_step(&r.steps, "near", "%s (given)", pt.data);
    buf_free(&pt);
    certify(&c, p, given, &r);
    if (json)
        near_json(out, &c, p, &r);
    else
        buf_put(out, r.steps.data, r.steps.len);
    box_free(&r.tight, n);
    box_free(&r.wide, n);
    free(r.eig);
    free(r.down);
    free(r.up);
    arb_clear(r.loss);
    arb_mat_clear(r.H);
    buf_free(&r.reason);
    buf_free(&r.steps);
    buf_free(&c.why);
    serctx_free(&c.ctx);
    vec_free(given, n);
    free(p);
    exact_release();
    return 0;
}
