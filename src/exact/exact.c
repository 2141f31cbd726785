/* exact.c: the exact classifier behind `hessgen --check` and `hessgen --classify`.
 *
 * In: the model, its gradient and Hessian nodes (diff.c), a point with rational coordinates.
 * Out: a verdict (strict_min, min, strict_max, max, saddle, not_critical, undetermined), the
 * reasoning a student can follow, and a certificate a program can check.
 *
 * The method, each step a proof:
 *  1. The gradient, exactly (series.c at order 0): a non-zero component means not critical.
 *  2. The Hessian's inertia by congruence (symmetric elimination in rationals): both signs
 *     is a saddle, with the two pivot directions as the curves that prove it; all of one sign
 *     is a strict extremum.
 *  3. Semidefinite and singular: the splitting lemma. Coordinates u along the exact null
 *     space and v along the pivot directions; v = phi(u), the power series on which the
 *     gradient along v vanishes, is found by the chord iteration; the reduced function
 *     g(u) = L(p + V u + W phi(u)) - L(p) decides (f is a min iff g is, the complement being
 *     definite). g is decided by weighted initial forms (Newton polygon weights): a form that
 *     is negative somewhere gives a curve on which the loss falls, a positive definite one a
 *     strict minimum (sign of univariate slices by Sturm sequences, exactly).
 *  4. When g vanishes to the order examined: a loss that is a sum of non-negative terms and
 *     equals its constant part at the point is a minimum; if the zero set of its squared
 *     terms is a manifold through the point (independent gradients), not a strict one.
 * Anything else is `undetermined`, with the reason.
 */
#define _GNU_SOURCE /* vasprintf */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- what the classifier found ---- */

const char *const verdict_name[] = {"undetermined", "not_critical", "strict_min", "min", "strict_max", "max", "saddle"};

typedef struct {
    const Model *m;
    const Deriv *d;
    int order;
    uint32_t n;
    Num *p;    /* the point */
    bool last; /* the last order classify_point tries: where the costly certificates are sought */
} Problem;

static char *vformat(const char *fmt, va_list ap);

static char *vformat_str(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *vformat_str(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    return text;
}

static char *vformat(const char *fmt, va_list ap)
{
    char *text;
    if (vasprintf(&text, fmt, ap) < 0)
        fatal("out of memory");
    return text;
}

/* One line of the reasoning: "label      text". */
void put_step(Buf *steps, const char *label, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    buf_printf(steps, "%-10s %s\n", label, text);
    free(text);
}

static void step(Classification *r, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void step(Classification *r, const char *label, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    put_step(&r->steps, label, "%s", text);
    free(text);
    r->verdict_said = r->verdict_said || strcmp(label, "verdict") == 0;
}

/* The verdict and its one-sentence reason. */
static void say(Classification *r, Verdict v, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(Classification *r, Verdict v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    r->verdict = v;
    r->reason.len = 0;
    buf_puts(&r->reason, text);
    free(text);
}

static char *num_text(const Num *x)
{
    Buf b = {0};
    num_put(&b, x);
    return b.data;
}

void json_string(Buf *b, const char *s)
{
    buf_puts(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            buf_printf(b, "\\%c", c);
        else if (c == '\n')
            buf_puts(b, "\\n");
        else if (c < 0x20)
            buf_printf(b, "\\u%04x", c);
        else
            buf_put(b, (const char *)&c, 1);
    }
    buf_puts(b, "\"");
}

void json_lines(Buf *b, const Buf *text)
{
    buf_puts(b, "[");
    const char *s = text->data ? text->data : "";
    for (bool first = true; *s; first = false) {
        const char *e = strchr(s, '\n');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        char *line = xmalloc(len + 1);
        memcpy(line, s, len);
        line[len] = 0;
        buf_puts(b, first ? "" : ", ");
        json_string(b, line);
        free(line);
        s += len + (e ? 1 : 0);
    }
    buf_puts(b, "]");
}

/* ["a", "b", ...] */
static void json_strings(Buf *b, char *const *s, uint32_t n)
{
    buf_puts(b, "[");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_puts(b, ", ");
        json_string(b, s[i]);
    }
    buf_puts(b, "]");
}

static void json_num(Buf *b, const Num *x)
{
    char *s = num_text(x);
    json_string(b, s);
    free(s);
}

/* Scales an exact vector to the primitive integer vector on the same ray; returns the
 * positive factor it was multiplied by (so that curvature scales by its square). */
static void make_primitive(Num *v, uint32_t n, mpq_t factor)
{
    mpz_t l, g;
    mpz_inits(l, g, NULL);
    mpz_set_ui(l, 1);
    for (uint32_t i = 0; i < n; i++)
        if (v[i].exact)
            mpz_lcm(l, l, mpq_denref(v[i].q));
    for (uint32_t i = 0; i < n; i++)
        if (v[i].exact && mpq_sgn(v[i].q)) {
            mpz_t t;
            mpz_init(t);
            mpz_mul(t, mpq_numref(v[i].q), l);
            mpz_divexact(t, t, mpq_denref(v[i].q));
            mpz_gcd(g, g, t);
            mpz_clear(t);
        }
    mpq_set_z(factor, l);
    if (mpz_sgn(g))
        mpq_set_den(factor, g), mpq_canonicalize(factor);
    for (uint32_t i = 0; i < n; i++)
        num_mul_q(&v[i], &v[i], factor);
    mpz_clears(l, g, NULL);
}

/* ---- the exact point, gradient and Hessian ---- */

static void put_point(Buf *b, const Problem *pb)
{
    for (uint32_t i = 0; i < pb->n; i++) {
        if (i)
            buf_puts(b, ", ");
        buf_printf(b, "%s = ", pb->m->param_names[i]);
        put_num(b, &pb->p[i]);
    }
}

static void fail_text(Buf *b, SerEval *e, const Problem *pb)
{
    buf_puts(b, e->fail_why ? e->fail_why : "evaluation failed");
    if (e->fail_node) {
        buf_puts(b, " (in ");
        print_node(b, e->fail_node, pb->m->param_names, 120);
        buf_puts(b, ")");
    }
}

/* Congruence elimination H -> diag(pivots) by H-orthogonal vectors, rationals where H is.
 * A pivot is a diagonal entry of certified sign; when every remaining diagonal entry is an
 * exact 0 but an off-diagonal one is not, b_i += b_j makes the diagonal 2*H_ij. */
typedef struct {
    uint32_t n;
    int npiv;
    Num *pivot; /* npiv values */
    Num **pvec; /* npiv vectors of n */
    int nnull;
    Num **nvec; /* nnull vectors spanning the null space (complete only) */
    bool complete;
} Inertia;

static void inertia_free(Inertia *in)
{
    for (int k = 0; k < in->npiv; k++) {
        num_clear(&in->pivot[k]);
        for (uint32_t i = 0; i < in->n; i++)
            num_clear(&in->pvec[k][i]);
        free(in->pvec[k]);
    }
    for (int k = 0; k < in->nnull; k++) {
        for (uint32_t i = 0; i < in->n; i++)
            num_clear(&in->nvec[k][i]);
        free(in->nvec[k]);
    }
    free(in->pivot);
    free(in->pvec);
    free(in->nvec);
}

/* with_vectors false: only the pivots, much cheaper (the vectors' rationals grow with n) */
static void inertia_compute(Num *H, uint32_t n, Inertia *in, bool with_vectors)
{
    memset(in, 0, sizeof *in);
    in->n = n;
    in->pivot = xmalloc(sizeof(Num) * (n + 1));
    in->pvec = xmalloc(sizeof(Num *) * (n + 1));
    in->nvec = xmalloc(sizeof(Num *) * (n + 1));
    Num *A = H; /* n*n, worked in place */
    Num **B = xmalloc(sizeof(Num *) * (n + 1));
    bool *active = xmalloc(n + 1);
    for (uint32_t j = 0; j < n; j++) {
        B[j] = with_vectors ? vec_new(n) : NULL;
        if (B[j])
            num_set_si(&B[j][j], 1, 1);
        active[j] = true;
    }
    Num t, f;
    num_init(&t);
    num_init(&f);
    uint32_t left = n;
    in->complete = true;
    while (left > 0) {
        long k = -1;
        for (uint32_t i = 0; i < n && k < 0; i++)
            if (active[i] && (num_sign(&A[i * n + i]) == 1 || num_sign(&A[i * n + i]) == -1))
                k = i;
        if (k < 0) {
            /* every active diagonal entry is 0 or uncertain */
            bool all_zero_diag = true, any_unknown = false;
            long pi = -1, pj = -1;
            for (uint32_t i = 0; i < n; i++) {
                if (!active[i])
                    continue;
                if (!num_is_zero(&A[i * n + i]))
                    all_zero_diag = false;
                for (uint32_t j = 0; j < n; j++) {
                    if (!active[j] || j == i)
                        continue;
                    int s = num_sign(&A[i * n + j]);
                    if (s == SIGN_UNKNOWN)
                        any_unknown = true;
                    else if (s != 0 && pi < 0)
                        pi = i, pj = j;
                }
            }
            if (!all_zero_diag || (pi < 0 && any_unknown)) {
                in->complete = false;
                break;
            }
            if (pi < 0)
                break; /* the active block is exactly 0: the null space */
            /* b_pi += b_pj: row pi += row pj, then column pi += column pj */
            for (uint32_t l = 0; l < n; l++)
                num_add(&A[pi * n + l], &A[pi * n + l], &A[pj * n + l]);
            for (uint32_t l = 0; l < n; l++)
                num_add(&A[l * n + pi], &A[l * n + pi], &A[l * n + pj]);
            for (uint32_t l = 0; l < n && with_vectors; l++)
                num_add(&B[pi][l], &B[pi][l], &B[pj][l]);
            continue;
        }
        /* eliminate with pivot k */
        for (uint32_t j = 0; j < n; j++) {
            if (!active[j] || j == (uint32_t)k || num_is_zero(&A[k * n + j]))
                continue;
            num_div(&f, &A[k * n + j], &A[k * n + k]);
            for (uint32_t l = 0; l < n; l++) {
                if (!active[l] || l == (uint32_t)k)
                    continue;
                num_mul(&t, &f, &A[k * n + l]);
                num_sub(&A[j * n + l], &A[j * n + l], &t);
            }
            for (uint32_t l = 0; l < n && with_vectors; l++) {
                num_mul(&t, &f, &B[k][l]);
                num_sub(&B[j][l], &B[j][l], &t);
            }
        }
        num_init(&in->pivot[in->npiv]);
        num_set(&in->pivot[in->npiv], &A[k * n + k]);
        in->pvec[in->npiv++] = with_vectors ? B[k] : vec_new(n);
        B[k] = NULL;
        active[k] = false;
        left--;
    }
    for (uint32_t j = 0; j < n; j++) {
        if (!active[j])
            continue;
        if (!B[j])
            B[j] = vec_new(n);
        if (in->complete)
            in->nvec[in->nnull++] = B[j];
        else
            vec_free(B[j], n);
    }
    num_clear(&t);
    num_clear(&f);
    free(B);
    free(active);
}

/* ---- non-negative structure: a certificate of a (possibly non-strict) extremum ---- */

/* Rational bounds on a node's value wherever it is defined: lo (or -inf), hi (or +inf), and
 * whether lo is never attained (exp > 0). Coarse interval arithmetic, enough to see that
 * (y - x^2)^2*exp(x) >= 0 or that 2 + sin(y) >= 1. */
typedef struct {
    bool has_lo, has_hi, lo_strict;
    mpq_t lo, hi;
} Bounds;

static void bounds_init(Bounds *b)
{
    b->has_lo = b->has_hi = b->lo_strict = false;
    mpq_inits(b->lo, b->hi, NULL);
}

static void bounds_clear(Bounds *b)
{
    mpq_clears(b->lo, b->hi, NULL);
}

static void bounds_set(Bounds *b, long lo_n, long lo_d, long hi_n, long hi_d, bool strict)
{
    b->has_lo = lo_d != 0;
    b->has_hi = hi_d != 0;
    if (b->has_lo)
        mpq_set_si(b->lo, lo_n, (unsigned long)lo_d), mpq_canonicalize(b->lo);
    if (b->has_hi)
        mpq_set_si(b->hi, hi_n, (unsigned long)hi_d), mpq_canonicalize(b->hi);
    b->lo_strict = strict;
}

/* The functions' ranges (ops.h): bounds that hold wherever the function is defined. */
typedef struct {
    bool known;
    long lo_p, lo_q, hi_p, hi_q; /* q = 0: no such bound */
    bool lo_strict;
} UnaryRange;
/* clang-format off */
static const UnaryRange unary_range[OP__COUNT] = {
#define RANGE(lo_p, lo_q, hi_p, hi_q, strict) {true, lo_p, lo_q, hi_p, hi_q, strict}
#define ANY {false, 0, 0, 0, 0, false}
#define X(e, src, c, helper, d, at0, range, ...) [OP_##e] = range,
    UNARY_OPS(X)
#undef X
#undef ANY
#undef RANGE
};
/* clang-format on */

/* Whether the evaluator's failure proves the loss undefined or not smooth at the point (a
 * limit or a sign the balls could not certify proves nothing). When it is the reason said
 * (cause), r->uncertain records whether a higher precision may do better. */
static bool failure_proven(Classification *r, const SerEval *ev, bool cause)
{
    if (cause)
        r->uncertain = !ev->fail_proven && !ev->fail_limit;
    return ev->fail_proven && !ev->fail_limit;
}

static void bounds_of(Node n, Bounds *b)
{
    const Node *a = dag_args(n);
    uint32_t na = dag_nargs(n);
    b->has_lo = b->has_hi = b->lo_strict = false;
    switch (dag_op(n)) {
    case OP_CONST:
        mpq_set(b->lo, dag_rat(n));
        mpq_set(b->hi, dag_rat(n));
        b->has_lo = b->has_hi = true;
        return;
    case OP_PI:
        bounds_set(b, 314159, 100000, 314160, 100000, false);
        return;
    case OP_POW: {
        long k;
        if (!dag_is_int_const(a[1], &k)) {
            bounds_set(b, 0, 1, 0, 0, false); /* a fractional power: of a non-negative base */
            return;
        }
        Bounds x;
        bounds_init(&x);
        bounds_of(a[0], &x);
        if (k % 2 == 0)
            bounds_set(b, 0, 1, 0, 0, k < 0); /* x^-2 > 0 where defined */
        else if (k > 0 && x.has_lo && mpq_sgn(x.lo) >= 0)
            bounds_set(b, 0, 1, 0, 0, x.lo_strict || mpq_sgn(x.lo) > 0);
        else if (k > 0 && x.has_hi && mpq_sgn(x.hi) <= 0)
            bounds_set(b, 0, 0, 0, 1, false);
        bounds_clear(&x);
        return;
    }
    case OP_ADD: {
        b->has_lo = b->has_hi = true;
        b->lo_strict = false;
        mpq_set_ui(b->lo, 0, 1);
        mpq_set_ui(b->hi, 0, 1);
        Bounds x;
        bounds_init(&x);
        for (uint32_t i = 0; i < na; i++) {
            bounds_of(a[i], &x);
            if (b->has_lo && x.has_lo)
                mpq_add(b->lo, b->lo, x.lo);
            b->has_lo = b->has_lo && x.has_lo;
            b->lo_strict = b->lo_strict || x.lo_strict;
            if (b->has_hi && x.has_hi)
                mpq_add(b->hi, b->hi, x.hi);
            b->has_hi = b->has_hi && x.has_hi;
        }
        bounds_clear(&x);
        return;
    }
    case OP_MUL: {
        /* a constant times factors that are all >= 0: [c*prod lo, c*prod hi] */
        mpq_t c;
        mpq_init(c);
        mpq_set_ui(c, 1, 1);
        uint32_t i = 0;
        if (dag_is_const(a[0]))
            mpq_set(c, dag_rat(a[0])), i = 1;
        bool lo_ok = true, hi_ok = true, strict = true;
        mpq_t lo, hi;
        mpq_inits(lo, hi, NULL);
        mpq_set_ui(lo, 1, 1);
        mpq_set_ui(hi, 1, 1);
        Bounds x;
        bounds_init(&x);
        for (; i < na && lo_ok; i++) {
            bounds_of(a[i], &x);
            if (!x.has_lo || mpq_sgn(x.lo) < 0) {
                lo_ok = false;
                break;
            }
            mpq_mul(lo, lo, x.lo);
            strict = strict && (x.lo_strict || mpq_sgn(x.lo) > 0);
            if (x.has_hi && hi_ok)
                mpq_mul(hi, hi, x.hi);
            else
                hi_ok = false;
        }
        if (lo_ok) {
            /* n = c * (a non-negative product in [lo, hi]) */
            mpq_mul(lo, lo, c);
            mpq_mul(hi, hi, c);
            int sc = mpq_sgn(c);
            if (sc >= 0) {
                b->has_lo = true, mpq_set(b->lo, lo), b->lo_strict = strict && sc > 0;
                b->has_hi = hi_ok, mpq_set(b->hi, hi);
            } else {
                b->has_hi = true, mpq_set(b->hi, lo);
                b->has_lo = hi_ok, mpq_set(b->lo, hi);
            }
        }
        bounds_clear(&x);
        mpq_clears(lo, hi, c, NULL);
        return;
    }
    default:
        if (OP_IS_UNARY(dag_op(n)) && unary_range[dag_op(n)].known) {
            const UnaryRange *r = &unary_range[dag_op(n)];
            bounds_set(b, r->lo_p, r->lo_q, r->hi_p, r->hi_q, r->lo_strict);
        }
        return;
    }
}

/* sigma * n >= 0 wherever n is defined, for sigma = +1 or -1 (0: unknown). */
static int term_sign(Node n)
{
    Bounds b;
    bounds_init(&b);
    bounds_of(n, &b);
    int s = b.has_lo && mpq_sgn(b.lo) >= 0 ? 1 : b.has_hi && mpq_sgn(b.hi) <= 0 ? -1 : 0;
    bounds_clear(&b);
    return s;
}

/* Whether n > 0 wherever it is defined. */
static bool positive_everywhere(Node n)
{
    Bounds b;
    bounds_init(&b);
    bounds_of(n, &b);
    bool p = b.has_lo && (mpq_sgn(b.lo) > 0 || (mpq_sgn(b.lo) == 0 && b.lo_strict));
    bounds_clear(&b);
    return p;
}

/* The base e of a term c * e^(2k) * (positive factors), or of abs(e): the term is 0 exactly
 * where e is. 0 when the term is not of that form. */
static Node squared_base(Node t)
{
    long k;
    if (dag_op(t) == OP_POW && dag_is_int_const(dag_args(t)[1], &k) && k > 0 && k % 2 == 0)
        return dag_args(t)[0];
    if (dag_op(t) == OP_ABS)
        return dag_args(t)[0];
    if (dag_op(t) != OP_MUL)
        return 0;
    Node base = 0;
    for (uint32_t i = 0; i < dag_nargs(t); i++) {
        Node f = dag_args(t)[i];
        if (dag_is_const(f) && mpq_sgn(dag_rat(f)) != 0)
            continue;
        Node e = squared_base(f);
        if (e && !base)
            base = e;
        else if (!positive_everywhere(f))
            return 0;
    }
    return base;
}

/* ---- the classification ---- */

static void set_singular(Classification *r, const Inertia *in)
{
    r->inertia_known = in->complete;
    r->npos = r->nneg = 0;
    for (int k = 0; k < in->npiv; k++)
        *(num_sign(&in->pivot[k]) == 1 ? &r->npos : &r->nneg) += 1;
    r->nzero = in->complete ? in->nnull : 0;
    r->singular = in->complete ? in->nnull > 0 : (r->npos + r->nneg == (int)in->n ? 0 : -1);
}

static void cert_curve_member(Buf *b, const char *name, const char *curve_json, long order, const Num *lead)
{
    buf_printf(b, "\"%s\": {\"curve\": %s, \"order\": %ld, \"sign\": %d, \"coefficient\": ", name, curve_json, order,
               num_sign(lead) == 1 ? 1 : -1);
    json_num(b, lead);
    buf_puts(b, "}");
}

/* Checks a curve certificate by evaluating the loss along it (a series in t): the leading
 * term must be lead*t^order. The program re-proves what it prints. */
static bool verify_curve(const Problem *pb, TPoly *theta_t, long order, const Num *lead, const Num *L)
{
    SerCtx c;
    if (!serctx_init(&c, 1, (int)order))
        return false;
    Ser *th = xmalloc(sizeof(Ser) * (pb->n ? pb->n : 1));
    for (uint32_t i = 0; i < pb->n; i++) {
        th[i] = ser_new(&c);
        for (int k = 0; k < theta_t[i].n && k <= order; k++)
            num_set(&th[i][k], &theta_t[i].c[k]); /* monomial index k is t^k for d = 1 */
    }
    SerEval ev;
    sereval_init(&ev, &c, th, pb->n);
    const Num *f = sereval(&ev, pb->m->loss);
    bool ok = f != NULL;
    if (ok) {
        Num t;
        num_init(&t);
        num_sub(&t, &f[0], L);
        /* the constant term is L(p); the terms below the order vanish (exactly, where they are
         * rational; a ball must at least contain 0) */
        ok = t.exact ? num_is_zero(&t) : num_sign(&t) == SIGN_UNKNOWN;
        for (long k = 1; k < order && ok; k++)
            ok = f[k].exact ? num_is_zero(&f[k]) : num_sign(&f[k]) == SIGN_UNKNOWN;
        if (ok)
            ok = num_sign(&f[order]) == num_sign(lead) && (num_sign(lead) == 1 || num_sign(lead) == -1);
        if (ok && f[order].exact && lead->exact)
            ok = mpq_equal(f[order].q, lead->q);
        num_clear(&t);
    }
    sereval_free(&ev);
    for (uint32_t i = 0; i < pb->n; i++)
        ser_free(&c, th[i]);
    free(th);
    serctx_free(&c);
    return ok;
}

static TPoly *line_theta(const Problem *pb, const Num *v)
{
    TPoly *th = xmalloc(sizeof(TPoly) * (pb->n ? pb->n : 1));
    for (uint32_t i = 0; i < pb->n; i++) {
        th[i] = tp_new(2);
        num_set(&th[i].c[0], &pb->p[i]);
        num_set(&th[i].c[1], &v[i]);
    }
    return th;
}

static void theta_free(TPoly *th, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        tp_free(&th[i]);
    free(th);
}

static void theta_json(Buf *b, const TPoly *th, uint32_t n)
{
    buf_puts(b, "[");
    for (uint32_t i = 0; i < n; i++) {
        Buf s = {0};
        tp_put(&s, &th[i], false);
        if (i)
            buf_puts(b, ", ");
        json_string(b, s.data);
        buf_free(&s);
    }
    buf_puts(b, "]");
}

/* "(t, 3/2*t^2)" */
static void put_curve(Buf *b, const TPoly *th, uint32_t n)
{
    buf_puts(b, "(");
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            buf_puts(b, ", ");
        tp_put(b, &th[i], true);
    }
    buf_puts(b, ")");
}

/* {"kind": "curves", "up": {...}, "down": {...}}: the saddle's two curves as data */
static void cert_curves(Buf *b, const TPoly *up, long ou, const Num *cu, const TPoly *down, long od, const Num *cd,
                        uint32_t n)
{
    Buf ju = {0}, jd = {0};
    theta_json(&ju, up, n);
    theta_json(&jd, down, n);
    /* a curve with a ball among its coefficients is not an exact certificate: the verdict
     * stands (it rests on the reduced function's form), the curve is only its enclosure */
    bool exact = true;
    for (uint32_t i = 0; i < n; i++)
        for (int k = 0; k < up[i].n; k++)
            exact = exact && (up[i].c[k].exact || num_is_symbolic(&up[i].c[k]));
    for (uint32_t i = 0; i < n; i++)
        for (int k = 0; k < down[i].n; k++)
            exact = exact && (down[i].c[k].exact || num_is_symbolic(&down[i].c[k]));
    buf_puts(b, exact ? "{\"kind\": \"curves\", " : "{\"kind\": \"curves_enclosed\", ");
    cert_curve_member(b, "up", ju.data, ou, cu);
    buf_puts(b, ", ");
    cert_curve_member(b, "down", jd.data, od, cd);
    buf_puts(b, "}");
    buf_free(&ju);
    buf_free(&jd);
}

/* "2*t^2", "t^3", "-t^4" */
static void put_term(Buf *b, const Num *c, long k)
{
    if (c->exact && mpq_cmp_ui(c->q, 1, 1) == 0)
        ;
    else if (c->exact && mpq_cmp_si(c->q, -1, 1) == 0)
        buf_puts(b, "-");
    else if (!c->exact) {
        buf_puts(b, "(");
        put_num(b, c);
        buf_puts(b, ")*");
    } else {
        put_num(b, c);
        buf_puts(b, "*");
    }
    buf_printf(b, "t^%ld", k);
}

/* "rises along (1, -1) as 2*t^2" */
static void put_direction(Buf *b, const Num *v, uint32_t n, const Num *curv)
{
    put_vec(b, v, n);
    buf_puts(b, " as ");
    put_term(b, curv, 2);
}

static void classify_degenerate(const Problem *pb, Classification *r, const Inertia *in, const Num *L);
static bool nonneg_certificate(const Problem *pb, Classification *r, const Num *L);

/* Where the second-order analysis cannot conclude: the loss's structure may (a sum of
 * non-negative terms at its bound). Adds the verdict line; false if it does not decide. */
static bool structural_extremum(const Problem *pb, Classification *r, const Num *L, const char *why_not)
{
    if (!nonneg_certificate(pb, r, L))
        return false;
    step(r, "verdict", "%s%s: %s (%s)", r->verdict == V_MIN ? "minimum" : "maximum", r->nonstrict ? ", not strict" : "",
         r->reason.data, why_not);
    return true;
}

/* A non-strict extremum from the loss's affine symmetries (symmetry.c): their values at the
 * point span the null space of a semidefinite Hessian. min_ok, max_ok: not refuted already. */
static bool symmetric_extremum(const Problem *pb, Classification *r, Num **V, int dnull, bool min_ok, bool max_ok,
                               const char *why_not)
{
    bool min = r->nneg == 0 && min_ok, max = r->npos == 0 && max_ok;
    if (!min && !max)
        return false;
    Buf fields = {0}, json = {0};
    bool ok = symmetry_span(pb->m, pb->d, pb->p, V, dnull, &fields, &json);
    if (ok) {
        r->nonstrict = 1;
        say(r, min ? V_MIN : V_MAX,
            "the loss is constant along the flows of %s (grad L . X = 0 identically, proved on its Taylor "
            "polynomial), whose values at the point span the Hessian's null space: the critical points through it "
            "form a manifold of dimension %d, across which the %s Hessian is definite (Morse-Bott)",
            fields.data, dnull, min ? "positive semidefinite" : "negative semidefinite");
        buf_free(&r->cert);
        buf_printf(&r->cert, "{\"kind\": \"symmetry\", \"fields\": %s, \"dimension\": %d, \"strict\": false}",
                   json.data, dnull);
        step(r, "symmetry", "grad L . X = 0 identically for X = %s, and at the point they span the null space",
             fields.data);
        step(r, "verdict", "%s, not strict: %s (%s)", min ? "minimum" : "maximum", r->reason.data, why_not);
    }
    buf_free(&fields);
    buf_free(&json);
    return ok;
}

/* An extremum from an exact sum of squares (sos.c): L - L(p), or L(p) - L, is one. */
static bool sos_extremum(const Problem *pb, Classification *r, bool min_ok, bool max_ok, const char *why_not)
{
    for (int sign = 1; sign >= -1; sign -= 2) {
        if (!(sign > 0 ? r->nneg == 0 && min_ok : r->npos == 0 && max_ok))
            continue;
        Buf why = {0}, json = {0};
        bool strict = false, flat = false;
        bool ok = sos_certificate(pb->m, pb->p, sign, &why, &json, &strict, &flat);
        if (ok) {
            r->nonstrict = flat;
            say(r, strict ? (sign > 0 ? V_STRICT_MIN : V_STRICT_MAX) : (sign > 0 ? V_MIN : V_MAX), "%s%s", why.data,
                strict ? ", definite on every monomial of its lowest degree" : "");
            buf_free(&r->cert);
            buf_put(&r->cert, json.data, json.len);
            step(r, "squares", "%s", why.data);
            step(r, "verdict", "%s%s: a sum of squares, so the loss stays %s its value everywhere%s%s%s",
                 sign > 0 ? "minimum" : "maximum",
                 strict ? ", strict"
                 : flat ? ", not strict"
                        : "",
                 sign > 0 ? "above" : "below", flat ? ", and equals it along a line" : " (", flat ? "" : why_not,
                 flat ? "" : ")");
        }
        buf_free(&why);
        buf_free(&json);
        if (ok)
            return true;
    }
    return false;
}

/* ---- classify: the steps at one order ----
 * 1. the loss at the point (decide_loss), 2. the gradient: not critical, or critical
 * (decide_gradient), 3. the Hessian (evaluate_hessian) and its inertia (hessian_inertia),
 * 4. at a critical point, the verdict from the inertia: a saddle along two pivot directions
 * (saddle_verdict), a definite Hessian, or the degenerate cases (classify_degenerate). */

/* The loss at the point, into Lv; false (with the verdict) when it cannot be evaluated. */
static bool decide_loss(const Problem *pb, Classification *r, SerEval *ev, Num *Lv, Buf *b)
{
    const Num *L = sereval(ev, pb->m->loss);
    if (!L) {
        b->len = 0;
        fail_text(b, ev, pb);
        bool proven = failure_proven(r, ev, true); /* else nothing is claimed of the loss */
        step(r, "loss", "%s: %s", proven ? "not defined at this point" : "cannot be evaluated exactly", b->data);
        say(r, V_UNDETERMINED, "the loss %s: %s",
            proven ? "is not defined at this point" : "cannot be evaluated exactly", b->data);
        return false;
    }
    num_set(Lv, L);
    char *ls = num_text(L);
    b->len = 0;
    put_num(b, L);
    step(r, "loss", "%s%s", b->data,
         L->exact             ? ""
         : num_is_symbolic(L) ? " (exact, irrational)"
                              : " (irrational: a certified enclosure)");
    buf_puts(&r->json, "\"loss\": ");
    json_string(&r->json, ls);
    free(ls);
    return true;
}

/* The gradient: r->critical 0 (with its certificate) or 1, or undetermined when a component's
 * sign is uncertain; false when it cannot be evaluated. */
static bool decide_gradient(const Problem *pb, Classification *r, SerEval *ev, Buf *b)
{
    uint32_t n = pb->n;
    Num *g = vec_new(n);
    bool grad_ok = true;
    for (uint32_t i = 0; i < n && grad_ok; i++) {
        const Num *gi = sereval(ev, pb->d->grad[i]);
        if (!gi)
            grad_ok = false;
        else
            num_set(&g[i], gi);
    }
    if (!grad_ok) {
        b->len = 0;
        fail_text(b, ev, pb);
        bool proven = failure_proven(r, ev, true);
        step(r, "gradient", "%s: %s", proven ? "not defined" : "cannot be evaluated exactly", b->data);
        say(r, V_UNDETERMINED, "%s: %s",
            proven ? "the loss is not differentiable at this point" : "the gradient cannot be evaluated exactly",
            b->data);
        vec_free(g, n);
        return false;
    }
    buf_puts(&r->json, ", \"gradient\": [");
    long nonzero = -1, unknown = -1;
    for (uint32_t i = 0; i < n; i++) {
        json_num(&r->json, &g[i]);
        if (i + 1 < n)
            buf_puts(&r->json, ", ");
        int s = num_sign(&g[i]);
        if ((s == 1 || s == -1) && nonzero < 0)
            nonzero = i;
        if (s == SIGN_UNKNOWN && unknown < 0)
            unknown = i;
    }
    buf_puts(&r->json, "]");
    b->len = 0;
    put_vec(b, g, n > 12 ? 12 : n);
    if (n > 12) { /* "(g1, ..., g12" + ", ...)": the ')' put_vec wrote is replaced, not hidden behind a NUL */
        b->data[--b->len] = 0;
        buf_puts(b, ", ...)");
    }
    if (nonzero >= 0) {
        r->critical = 0;
        step(r, "gradient", "%s: not zero, so this is not a critical point", b->data);
        Buf gs = {0};
        put_num(&gs, &g[nonzero]);
        say(r, V_NOT_CRITICAL, "the gradient is not zero: dL/d%s = %s", pb->m->param_names[nonzero], gs.data);
        buf_free(&gs);
        buf_puts(&r->cert, "{\"kind\": \"gradient\", \"gradient\": [");
        for (uint32_t i = 0; i < n; i++) {
            json_num(&r->cert, &g[i]);
            if (i + 1 < n)
                buf_puts(&r->cert, ", ");
        }
        buf_puts(&r->cert, "]}");
    } else if (unknown >= 0) {
        step(r, "gradient", "%s: component %s is irrational and its enclosure contains 0", b->data,
             pb->m->param_names[unknown]);
        r->uncertain = true;
        say(r, V_UNDETERMINED,
            "dL/d%s is an irrational number whose certified enclosure contains 0, so the "
            "point cannot be proven critical or not",
            pb->m->param_names[unknown]);
    } else {
        r->critical = 1;
        step(r, "gradient", "%s exactly: critical", b->data);
    }
    vec_free(g, n);
    return true;
}

/* The dense Hessian (n*n, both triangles), its JSON and, in b, its text ("[[2, 0], [0, 2]]", or
 * "30x30"); NULL when it cannot be evaluated (also for a point that is not critical, to say
 * `degenerate`: the verdict is then given only at a critical point). */
static Num *evaluate_hessian(const Problem *pb, Classification *r, SerEval *ev, Buf *b)
{
    uint32_t n = pb->n;
    Num *H = xmalloc(sizeof(Num) * ((size_t)n * n + 1));
    for (size_t i = 0; i < (size_t)n * n; i++)
        num_init(&H[i]);
    bool hess_ok = true;
    for (uint32_t t = 0; t < pb->d->nnz && hess_ok; t++) {
        const Num *h = sereval(ev, pb->d->hess[t]);
        if (!h) {
            hess_ok = false;
            break;
        }
        num_set(&H[(size_t)pb->d->rows[t] * n + pb->d->cols[t]], h);
        num_set(&H[(size_t)pb->d->cols[t] * n + pb->d->rows[t]], h);
    }
    if (!hess_ok) {
        b->len = 0;
        fail_text(b, ev, pb);
        /* the reason said only at a critical point: else an uncertain gradient stays the cause */
        bool proven = failure_proven(r, ev, r->critical == 1);
        step(r, "Hessian", "%s: %s", proven ? "not defined" : "cannot be evaluated exactly", b->data);
        if (r->critical == 1)
            say(r, V_UNDETERMINED, "%s: %s",
                proven ? "the loss is not twice differentiable at this point"
                       : "the Hessian cannot be evaluated exactly",
                b->data);
        for (size_t i = 0; i < (size_t)n * n; i++)
            num_clear(&H[i]);
        free(H);
        return NULL;
    }
    buf_puts(&r->json, ", \"hessian\": [");
    for (uint32_t i = 0; i < n; i++) {
        buf_puts(&r->json, i ? ", [" : "[");
        for (uint32_t j = 0; j < n; j++) {
            json_num(&r->json, &H[(size_t)i * n + j]);
            if (j + 1 < n)
                buf_puts(&r->json, ", ");
        }
        buf_puts(&r->json, "]");
    }
    buf_puts(&r->json, "]");
    b->len = 0;
    if (n <= 6) {
        buf_puts(b, "[");
        for (uint32_t i = 0; i < n; i++) {
            buf_puts(b, i ? ", [" : "[");
            for (uint32_t j = 0; j < n; j++) {
                put_num(b, &H[(size_t)i * n + j]);
                if (j + 1 < n)
                    buf_puts(b, ", ");
            }
            buf_puts(b, "]");
        }
        buf_puts(b, "]");
    } else {
        buf_printf(b, "%ux%u", n, n);
    }
    return H;
}

/* The first diagonal entries of H of each sign (-1: none): where both exist, the axes are a
 * saddle's two curves. */
static void diagonal_signs(const Num *H, uint32_t n, long *axp, long *axn)
{
    *axp = *axn = -1;
    for (uint32_t i = 0; i < n; i++) {
        int sd = num_sign(&H[(size_t)i * n + i]);
        if (sd == 1 && *axp < 0)
            *axp = i;
        if (sd == -1 && *axn < 0)
            *axn = i;
    }
}

/* H's inertia into `in` and r (npos, nneg, nzero, singular), with the step that says it; the
 * pivot vectors only where the verdict will need them (a critical point that neither a
 * definite Hessian nor the axes decide). */
static void hessian_inertia(const Problem *pb, Classification *r, Num *H, const char *htext, Inertia *in, long *axp,
                            long *axn)
{
    uint32_t n = pb->n;
    /* the inertia first; the vectors (certificates, null space) only when they are used */
    Num *A = xmalloc(sizeof(Num) * ((size_t)n * n + 1));
    for (size_t i = 0; i < (size_t)n * n; i++) {
        num_init(&A[i]);
        num_set(&A[i], &H[i]);
    }
    inertia_compute(A, n, in, false);
    for (size_t i = 0; i < (size_t)n * n; i++)
        num_clear(&A[i]);
    free(A);
    bool definite = in->complete && in->nnull == 0 &&
                    (in->npiv == 0 || num_sign(&in->pivot[0]) == num_sign(&in->pivot[in->npiv - 1]));
    for (int k = 0; k < in->npiv && definite; k++)
        definite = num_sign(&in->pivot[k]) == num_sign(&in->pivot[0]);
    diagonal_signs(H, n, axp, axn); /* before H is overwritten below */
    if (r->critical == 1 && !definite && !(*axp >= 0 && *axn >= 0)) {
        inertia_free(in);
        inertia_compute(H, n, in, true); /* in place: H is then no longer the Hessian */
    }
    set_singular(r, in);
    Buf s = {0};
    buf_printf(&s, "%s: ", htext);
    if (!in->complete)
        buf_printf(&s,
                   "inertia not certain (%d positive, %d negative pivots certified; an irrational pivot's "
                   "enclosure contains 0)",
                   r->npos, r->nneg);
    else if (r->nneg == 0 && r->nzero == 0)
        buf_puts(&s, "positive definite");
    else if (r->npos == 0 && r->nzero == 0)
        buf_puts(&s, "negative definite");
    else if (r->npos && r->nneg)
        buf_printf(&s, "indefinite (%d positive, %d negative, %d zero eigenvalues)", r->npos, r->nneg, r->nzero);
    else
        buf_printf(&s, "%s semidefinite, singular (%d zero eigenvalue%s)",
                   r->npos   ? "positive"
                   : r->nneg ? "negative"
                             : "zero: positive and negative",
                   r->nzero, r->nzero == 1 ? "" : "s");
    if (in->npiv && in->npiv <= 8) {
        buf_puts(&s, "; pivots ");
        for (int k = 0; k < in->npiv; k++) {
            if (k)
                buf_puts(&s, ", ");
            put_num(&s, &in->pivot[k]);
        }
    }
    step(r, "Hessian", "%s", s.data);
    buf_free(&s);
}

/* A saddle: the loss rises along one direction (a positive pivot's, or an axis with a positive
 * diagonal entry) and falls along another; with exact vectors, the two lines are checked as
 * curves and are the certificate. */
static void saddle_verdict(const Problem *pb, Classification *r, const Num *H, const Inertia *in, int kp, int kn,
                           long axp, long axn, bool vectors_exact, const Num *Lv)
{
    uint32_t n = pb->n;
    bool axis_saddle = axp >= 0 && axn >= 0;
    Num cp, cn;
    num_init(&cp);
    num_init(&cn);
    mpq_t f;
    mpq_init(f);
    Num *vp = vec_new(n), *vn = vec_new(n);
    num_set_si(&cp, 1, 2);
    num_set_si(&cn, 1, 2);
    if (axis_saddle) {
        num_set_si(&vp[axp], 1, 1);
        num_set_si(&vn[axn], 1, 1);
        num_mul(&cp, &cp, &H[(size_t)axp * n + axp]);
        num_mul(&cn, &cn, &H[(size_t)axn * n + axn]);
    } else {
        for (uint32_t i = 0; i < n; i++)
            num_set(&vp[i], &in->pvec[kp][i]), num_set(&vn[i], &in->pvec[kn][i]);
        num_mul(&cp, &cp, &in->pivot[kp]);
        num_mul(&cn, &cn, &in->pivot[kn]);
    }
    if (vectors_exact) {
        /* v scaled by f scales the curvature v^T H v / 2 by f^2 */
        make_primitive(vp, n, f);
        mpq_mul(f, f, f);
        num_mul_q(&cp, &cp, f);
        make_primitive(vn, n, f);
        mpq_mul(f, f, f);
        num_mul_q(&cn, &cn, f);
    }
    Buf why = {0};
    buf_puts(&why, "the Hessian is indefinite: the loss rises along ");
    put_direction(&why, vp, n, &cp);
    buf_puts(&why, " and falls along ");
    put_direction(&why, vn, n, &cn);
    say(r, V_SADDLE, "%s", why.data);
    if (vectors_exact) {
        TPoly *up = line_theta(pb, vp), *down = line_theta(pb, vn);
        bool ok = verify_curve(pb, up, 2, &cp, Lv) && verify_curve(pb, down, 2, &cn, Lv);
        if (!ok)
            say(r, V_UNDETERMINED, "internal error: the saddle's curves did not check");
        cert_curves(&r->cert, up, 2, &cp, down, 2, &cn, n);
        theta_free(up, n);
        theta_free(down, n);
    } else {
        buf_puts(&r->cert, "{\"kind\": \"hessian_inertia\", \"positive\": ");
        buf_printf(&r->cert, "%d, \"negative\": %d}", r->npos, r->nneg);
    }
    buf_free(&why);
    vec_free(vp, n);
    vec_free(vn, n);
    num_clear(&cp);
    num_clear(&cn);
    mpq_clear(f);
    step(r, "verdict", "saddle: %s", r->reason.data);
}

/* A definite Hessian: a strict extremum, its pivots the certificate. */
static void definite_verdict(Classification *r, const Inertia *in)
{
    bool pos = r->npos > 0;
    say(r, pos ? V_STRICT_MIN : V_STRICT_MAX, "the Hessian is %s definite (every pivot of its LDL^T is %s)",
        pos ? "positive" : "negative", pos ? "positive" : "negative");
    buf_printf(&r->cert, "{\"kind\": \"definite_hessian\", \"sign\": %d, \"pivots\": [", pos ? 1 : -1);
    for (int k = 0; k < in->npiv; k++) {
        if (k)
            buf_puts(&r->cert, ", ");
        json_num(&r->cert, &in->pivot[k]);
    }
    buf_puts(&r->cert, "]}");
    step(r, "verdict", "strict %s: the Hessian is %s definite", pos ? "minimum" : "maximum",
         pos ? "positive" : "negative");
}

/* At a critical point, the verdict from the Hessian's inertia (H is read only at the axes
 * axp, axn, when both are set: hessian_inertia may have overwritten the rest). */
static void decide_by_inertia(const Problem *pb, Classification *r, const Num *H, const Inertia *in, long axp, long axn,
                              const Num *Lv)
{
    uint32_t n = pb->n;
    int kp = -1, kn = -1;
    for (int k = 0; k < in->npiv; k++) {
        if (num_sign(&in->pivot[k]) == 1 && kp < 0)
            kp = k;
        if (num_sign(&in->pivot[k]) == -1 && kn < 0)
            kn = k;
    }
    bool vectors_exact = true;
    for (int k = 0; k < in->npiv; k++)
        for (uint32_t i = 0; i < n; i++)
            vectors_exact = vectors_exact && in->pvec[k][i].exact;
    if (kp >= 0 && kn >= 0) {
        saddle_verdict(pb, r, H, in, kp, kn, axp, axn, vectors_exact, Lv);
    } else if (!in->complete) {
        r->uncertain = true;
        if (!structural_extremum(pb, r, Lv,
                                 "the Hessian's inertia cannot be certified (an irrational "
                                 "pivot's enclosure contains 0)"))
            say(r, V_UNDETERMINED,
                "the Hessian's inertia cannot be certified: a pivot is irrational and its "
                "enclosure contains 0");
    } else if (in->nnull == 0) {
        definite_verdict(r, in);
    } else if (!vectors_exact) {
        if (!structural_extremum(pb, r, Lv,
                                 "the Hessian is singular with irrational entries, so the "
                                 "splitting lemma cannot be applied exactly"))
            say(r, V_UNDETERMINED,
                "the Hessian is singular and has irrational entries: its null space is "
                "not exact, so the splitting lemma cannot be applied");
    } else {
        classify_degenerate(pb, r, in, Lv);
    }
}

static void classify(const Problem *pb, Classification *r)
{
    uint32_t n = pb->n;
    SerCtx c0;
    serctx_init(&c0, 0, 0);
    Ser *theta = xmalloc(sizeof(Ser) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        theta[i] = ser_new(&c0);
        num_set(&theta[i][0], &pb->p[i]);
    }
    SerEval ev;
    sereval_init(&ev, &c0, theta, n);
    Buf b = {0};
    put_point(&b, pb);
    step(r, "point", "%s", b.data);
    b.len = 0;
    r->critical = r->singular = -1;
    Num Lv;
    num_init(&Lv);
    Num *H;
    if (decide_loss(pb, r, &ev, &Lv, &b) && decide_gradient(pb, r, &ev, &b) &&
        (H = evaluate_hessian(pb, r, &ev, &b)) != NULL) {
        Inertia in;
        long axp, axn;
        hessian_inertia(pb, r, H, b.data, &in, &axp, &axn);
        if (r->critical == 1)
            decide_by_inertia(pb, r, H, &in, axp, axn, &Lv);
        else if (r->critical == 0)
            step(r, "verdict", "not a critical point: %s", r->reason.data);
        inertia_free(&in);
        for (size_t i = 0; i < (size_t)n * n; i++)
            num_clear(&H[i]);
        free(H);
    }
    if (r->verdict == V_UNDETERMINED && !r->verdict_said)
        step(r, "verdict", "undetermined: %s", r->reason.data);
    else if (r->verdict == V_NOT_CRITICAL && !r->verdict_said) /* a Hessian that failed after it */
        step(r, "verdict", "not a critical point: %s", r->reason.data);
    num_clear(&Lv);
    buf_free(&b);
    sereval_free(&ev);
    for (uint32_t i = 0; i < n; i++)
        ser_free(&c0, theta[i]);
    free(theta);
    serctx_free(&c0);
}

/* Non-negative structure of the loss: a (possibly non-strict) extremum when the loss is
 * c0 + terms of one sign and equals c0 at the point. Strictness is refuted when the zero
 * set of its squared bases is a manifold through the point. Returns true when it decided. */
static bool nonneg_certificate(const Problem *pb, Classification *r, const Num *L)
{
    Node f = pb->m->loss;
    mpq_t c0;
    mpq_init(c0);
    int s;
    const Node *terms = &f;
    uint32_t nt = 1;
    if (dag_op(f) == OP_ADD) {
        terms = dag_args(f);
        nt = dag_nargs(f);
        if (dag_is_const(terms[0])) {
            mpq_set(c0, dag_rat(terms[0]));
            terms++;
            nt--;
        }
    }
    s = 0;
    for (uint32_t i = 0; i < nt; i++) {
        int t = term_sign(terms[i]);
        if (t == 0 || (s && t != s)) {
            s = 0;
            break;
        }
        s = t;
    }
    bool at_bound = L->exact && mpq_equal(L->q, c0);
    if (s == 0 || nt == 0 || !at_bound) {
        mpq_clear(c0);
        return false;
    }
    /* The squared bases e with terms c*e^(2k); their gradients at the point. */
    uint32_t n = pb->n;
    Node *bases = xmalloc(sizeof(Node) * nt);
    uint32_t nb = 0;
    bool all_squares = true;
    for (uint32_t i = 0; i < nt; i++) {
        Node e = squared_base(terms[i]);
        if (e)
            bases[nb++] = e;
        else
            all_squares = false;
    }
    r->nonstrict = 0;
    Buf why = {0};
    if (all_squares && nb < n) {
        SerCtx c;
        if (serctx_init(&c, (int)n, 1)) {
            Ser *th = xmalloc(sizeof(Ser) * n);
            for (uint32_t i = 0; i < n; i++) {
                th[i] = ser_new(&c);
                num_set(&th[i][0], &pb->p[i]);
                num_set_si(&th[i][1 + i], 1, 1); /* degree-1 monomials in order */
            }
            SerEval ev;
            sereval_init(&ev, &c, th, n);
            Num *J = xmalloc(sizeof(Num) * (size_t)nb * n);
            bool ok = true;
            for (uint32_t k = 0; k < nb; k++) {
                const Num *e = sereval(&ev, bases[k]);
                for (uint32_t i = 0; i < n; i++) {
                    num_init(&J[k * n + i]);
                    if (e)
                        num_set(&J[k * n + i], &e[1 + i]);
                }
                ok = ok && e;
            }
            /* rank by elimination; exact rows only */
            uint32_t rank = 0;
            Num t, q;
            num_init(&t);
            num_init(&q);
            for (uint32_t col = 0; col < n && ok && rank < nb; col++) {
                uint32_t piv = nb;
                for (uint32_t k = rank; k < nb; k++) {
                    if (!J[k * n + col].exact)
                        ok = false;
                    else if (!num_is_zero(&J[k * n + col]) && piv == nb)
                        piv = k;
                }
                if (!ok || piv == nb)
                    continue;
                for (uint32_t i = 0; i < n; i++) {
                    Num tmp = J[piv * n + i];
                    J[piv * n + i] = J[rank * n + i];
                    J[rank * n + i] = tmp;
                }
                for (uint32_t k = rank + 1; k < nb; k++) {
                    num_div(&q, &J[k * n + col], &J[rank * n + col]);
                    for (uint32_t i = 0; i < n; i++) {
                        num_mul(&t, &q, &J[rank * n + i]);
                        num_sub(&J[k * n + i], &J[k * n + i], &t);
                    }
                }
                rank++;
            }
            if (ok && rank == nb) {
                r->nonstrict = 1;
                buf_puts(&why, "; the zero set of ");
                for (uint32_t k = 0; k < nb && k < 3; k++) {
                    if (k)
                        buf_puts(&why, ", ");
                    print_node(&why, bases[k], pb->m->param_names, 60);
                }
                if (nb > 3)
                    buf_puts(&why, ", ...");
                buf_printf(&why,
                           " has independent gradients at the point, so near it the loss equals its value on a "
                           "%u-dimensional set: the %s is not strict",
                           n - nb, s > 0 ? "minimum" : "maximum");
            }
            num_clear(&t);
            num_clear(&q);
            for (uint32_t k = 0; k < nb * n; k++)
                num_clear(&J[k]);
            free(J);
            sereval_free(&ev);
            for (uint32_t i = 0; i < n; i++)
                ser_free(&c, th[i]);
            free(th);
            serctx_free(&c);
        }
    }
    Buf head = {0};
    char *cs = mpq_get_str(NULL, 10, c0);
    if (mpq_sgn(c0))
        buf_printf(&head, "the loss is %s plus a sum of %s terms, and equals %s at the point", cs,
                   s > 0 ? "non-negative" : "non-positive", cs);
    else
        buf_printf(&head, "the loss is a sum of %s terms, and is 0 at the point",
                   s > 0 ? "non-negative" : "non-positive");
    if (!r->nonstrict)
        buf_printf(&why, "; whether the %s is strict is not decided", s > 0 ? "minimum" : "maximum");
    say(r, s > 0 ? V_MIN : V_MAX, "%s%s", head.data, why.data);
    buf_printf(&r->cert, "{\"kind\": \"%s\", \"bound\": \"%s\", \"strict\": %s}",
               s > 0 ? "nonnegative_terms" : "nonpositive_terms", cs, r->nonstrict ? "false" : "null");
    void (*freefunc)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &freefunc);
    freefunc(cs, strlen(cs) + 1);
    buf_free(&head);
    buf_free(&why);
    free(bases);
    mpq_clear(c0);
    return true;
}

/* theta(t) = p + sum_j u_j(t) V_j + sum_k phi_k(u(t)) W_k, with the phi part cut after t^cut
 * (cut < 0: kept whole). Cutting is sound to order 2*(cut+1) - 1 because the gradient across
 * the null space vanishes on phi: an error d in v changes the loss by O(d^2). */
static TPoly *curve_theta(const Problem *pb, const SerCtx *c, Ser *phi, const Inertia *in, Num **V, int dnull,
                          const TPoly *u, long cut)
{
    uint32_t n = pb->n;
    TPoly *th = xmalloc(sizeof(TPoly) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        th[i] = tp_new(1);
        num_set(&th[i].c[0], &pb->p[i]);
        for (int j = 0; j < dnull; j++)
            tp_addmul(&th[i], &u[j], &V[j][i]);
    }
    for (int k = 0; k < in->npiv; k++) {
        TPoly ph = tp_compose(c, phi[k], u);
        if (cut >= 0)
            for (int e = (int)cut + 1; e < ph.n; e++)
                num_set_si(&ph.c[e], 0, 1);
        for (uint32_t i = 0; i < n; i++)
            tp_addmul(&th[i], &ph, &in->pvec[k][i]);
        tp_free(&ph);
    }
    for (uint32_t i = 0; i < n; i++) {
        while (th[i].n > 1 && num_is_zero(&th[i].c[th[i].n - 1]))
            num_clear(&th[i].c[--th[i].n]);
    }
    return th;
}

/* The strict extremum as the same certificate a person would write (tests/exact/README.md):
 * new coordinates named like the parameters (the null coordinates first, then one per pivot
 * direction), the offsets as polynomials in them, theta - p = V*u + W*(v + phi(u)) after the
 * shifts of u, and weights 2*w on u, D on v. The initial form is then sum D_k/2 v_k^2 plus the
 * reduced function's weighted form: definite. Returns false when a coefficient is a ball. */
static bool weights_certificate(Buf *out, const Problem *pb, const SerCtx *c, Ser *phi, const Inertia *in, Num **V,
                                int dnull, const Decided *dm)
{
    uint32_t n = pb->n;
    char *const *pn = pb->m->param_names;
    for (int k = 0; k < in->npiv; k++)
        for (int m = 0; m < c->M; m++)
            if (!phi[k][m].exact && !num_is_symbolic(&phi[k][m]))
                return false;
    /* U[j]: the original null coordinate j in the new ones, through the shifts */
    char **U = xmalloc(sizeof(char *) * (size_t)dnull);
    for (int j = 0; j < dnull; j++) {
        Buf b = {0};
        buf_printf(&b, "%s", pn[j]);
        U[j] = b.data;
    }
    for (int k = dnull == 2 ? dm->nshift - 1 : -1; k >= 0; k--) {
        /* shift k maps the coordinates after it to those before it */
        Buf b = {0};
        Num y0;
        num_init(&y0);
        num_set_q(&y0, dm->shift[k].y0);
        buf_printf(&b, "(%s + (", U[dm->shift[k].var]);
        num_put(&b, &y0);
        buf_printf(&b, ")*(%s)^%d)", U[dm->shift[k].other], dm->shift[k].b);
        num_clear(&y0);
        free(U[dm->shift[k].var]);
        U[dm->shift[k].var] = b.data;
    }
    char **UP = xmalloc(sizeof(char *) * (size_t)dnull); /* parenthesized, for powers */
    for (int j = 0; j < dnull; j++) {
        Buf b = {0};
        buf_printf(&b, "(%s)", U[j]);
        UP[j] = b.data;
    }
    buf_puts(out, "{\"kind\": \"weights\", \"weights\": [");
    for (uint32_t i = 0; i < n; i++)
        buf_printf(out, "%s%ld", i ? ", " : "", (long)i < dnull ? 2L * dm->w[i] : dm->wdeg);
    buf_puts(out, "], \"subst\": ");
    Buf sub = {0};
    for (uint32_t m = 0; m < n; m++) {
        if (m)
            buf_puts(&sub, ", ");
        buf_printf(&sub, "%s = 0", pn[m]);
        for (int j = 0; j < dnull; j++)
            if (!num_is_zero(&V[j][m])) {
                buf_puts(&sub, " + (");
                num_put(&sub, &V[j][m]);
                buf_printf(&sub, ")*%s", UP[j]);
            }
        for (int k = 0; k < in->npiv; k++)
            if (!num_is_zero(&in->pvec[k][m])) {
                buf_puts(&sub, " + (");
                num_put(&sub, &in->pvec[k][m]);
                buf_printf(&sub, ")*(%s", pn[dnull + k]);
                for (int i = 1; i < c->M; i++) {
                    if (num_is_zero(&phi[k][i]))
                        continue;
                    buf_puts(&sub, " + (");
                    num_put(&sub, &phi[k][i]);
                    buf_puts(&sub, ")*");
                    put_monomial(&sub, c, i, UP);
                }
                buf_puts(&sub, ")");
            }
    }
    json_string(out, sub.data);
    buf_free(&sub);
    buf_puts(out, "}");
    for (int j = 0; j < dnull; j++)
        free(U[j]), free(UP[j]);
    free(U);
    free(UP);
    return true;
}

/* ---- classify_degenerate: a critical point with a singular, semidefinite Hessian ----
 * The splitting lemma, step by step: the null space's basis and coordinate names
 * (null_basis); theta(u) = p + V u + W phi(u), with phi solving the gradient across the null
 * space by the chord iteration (split_along_null); the reduced function g(u) = L(theta(u)) -
 * L(p) (reduced_function); its decision by reduce.c, for g and, where the Hessian is 0, for -g
 * (decide_reduced): a strict extremum, a saddle with two checked curves (saddle_curves), or a
 * certificate from the loss's structure, its symmetries or a sum of squares
 * (not_decided_by_reduction). */
typedef struct {
    const Problem *pb;
    Classification *r;
    const Inertia *in;
    const Num *L; /* the loss at the point */
    uint32_t n;
    int dnull, rk, K;
    int sgn;      /* the Hessian: 1 positive, -1 negative semidefinite, 0 zero */
    int sg;       /* the sign the reduced function is decided in (sgn, or 1 for a zero Hessian) */
    Num **V;      /* the null basis: primitive integer vectors */
    char **names; /* the null coordinates' names */
    SerCtx c;
    Ser *phi;   /* rk series: the steps along the pivot vectors */
    Ser *theta; /* n series: theta(u) */
} Degenerate;

/* The null basis (primitive integer vectors) and the names of its coordinates: the parameter's
 * own where V_j is an axis (its offset dx where the point's coordinate is not 0), else u1,
 * u2, ...; the step that says so. */
static void null_basis(Degenerate *g)
{
    const Problem *pb = g->pb;
    uint32_t n = g->n;
    g->V = xmalloc(sizeof(Num *) * (size_t)g->dnull);
    g->names = xmalloc(sizeof(char *) * (size_t)g->dnull);
    mpq_t f;
    mpq_init(f);
    for (int j = 0; j < g->dnull; j++) {
        g->V[j] = vec_new(n);
        for (uint32_t i = 0; i < n; i++)
            num_set(&g->V[j][i], &g->in->nvec[j][i]);
        make_primitive(g->V[j], n, f);
    }
    mpq_clear(f);
    Buf b = {0};
    buf_puts(&b, "spanned by ");
    for (int j = 0; j < g->dnull; j++) {
        const Num *v = g->V[j];
        long axis = -1;
        int nz = 0;
        for (uint32_t i = 0; i < n; i++)
            if (!num_is_zero(&v[i]))
                nz++, axis = i;
        Buf nm = {0};
        if (j)
            buf_puts(&b, ", ");
        put_vec(&b, v, n);
        if (nz == 1 && mpq_cmp_ui(v[axis].q, 1, 1) == 0 && num_is_zero(&pb->p[axis])) {
            buf_puts(&nm, pb->m->param_names[axis]);
        } else if (nz == 1 && mpq_cmp_ui(v[axis].q, 1, 1) == 0) {
            buf_printf(&nm, "d%s", pb->m->param_names[axis]);
            Num a;
            num_init(&a);
            bool neg = num_sign(&pb->p[axis]) < 0;
            if (neg)
                num_neg(&a, &pb->p[axis]);
            else
                num_set(&a, &pb->p[axis]);
            buf_printf(&b, " (%s = %s %s ", nm.data, pb->m->param_names[axis], neg ? "+" : "-");
            put_num(&b, &a);
            buf_puts(&b, ")");
            num_clear(&a);
        } else {
            if (g->dnull == 1)
                buf_puts(&nm, "u");
            else
                buf_printf(&nm, "u%d", j + 1);
            buf_printf(&b, " (coordinate %s)", nm.data);
        }
        g->names[j] = nm.data;
    }
    step(g->r, "null space", "%s", b.data);
    buf_free(&b);
    /* the same as a value: the basis vectors, and each one's coordinate name */
    Buf *j = &g->r->json;
    buf_puts(j, ", \"null_space\": {\"basis\": [");
    for (int k = 0; k < g->dnull; k++) {
        buf_puts(j, k ? ", [" : "[");
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                buf_puts(j, ", ");
            json_num(j, &g->V[k][i]);
        }
        buf_puts(j, "]");
    }
    buf_puts(j, "], \"coordinates\": ");
    json_strings(j, g->names, (uint32_t)g->dnull);
    buf_puts(j, "}");
}

/* theta(u) = p + V u + W phi(u), phi = O(u^2) by the chord iteration on W^T grad = 0 (each pass
 * divides the gradient across the null space by the pivots). False, with the reason in
 * `failure`, when the gradient cannot be expanded. */
static bool split_along_null(Degenerate *g, Buf *failure)
{
    const Problem *pb = g->pb;
    const Inertia *in = g->in;
    SerCtx *c = &g->c;
    uint32_t n = g->n;
    int rk = g->rk, K = g->K;
    Ser tmp = ser_new(c), G = ser_new(c);
    bool ok = true;
    for (int it = 0; it <= K && ok; it++) {
        /* past the budget of steps the next evaluation stops, with the reason */
        for (uint32_t i = 0; i < n && *c->work <= series_work_limit; i++) {
            ser_zero(c, g->theta[i]);
            num_set(&g->theta[i][0], &pb->p[i]);
            for (int j = 0; j < g->dnull; j++)
                num_set(&g->theta[i][1 + j], &g->V[j][i]);
            for (int k = 0; k < rk; k++) {
                if (num_is_zero(&in->pvec[k][i]))
                    continue;
                ser_scale(c, tmp, g->phi[k], &in->pvec[k][i]);
                ser_add(c, g->theta[i], g->theta[i], tmp);
            }
        }
        if (it == K || rk == 0)
            break;
        SerEval ev;
        sereval_init(&ev, c, g->theta, n);
        bool changed = false;
        for (int k = 0; k < rk && ok; k++) {
            ser_zero(c, G);
            for (uint32_t i = 0; i < n && ok; i++) {
                if (num_is_zero(&in->pvec[k][i]))
                    continue;
                const Num *gi = sereval(&ev, pb->d->grad[i]);
                if (!gi) {
                    ok = false;
                    g->r->limited = ev.fail_limit;
                    failure_proven(g->r, &ev, true);
                    fail_text(failure, &ev, pb);
                    break;
                }
                ser_scale(c, tmp, (Ser)gi, &in->pvec[k][i]);
                ser_add(c, G, G, tmp);
            }
            if (!ok)
                break;
            /* phi_k -= G / D_k, keeping phi = O(u^2) */
            for (int m = 0; m < c->M; m++) {
                if (c->deg[m] < 2 || num_is_zero(&G[m]))
                    continue;
                Num q;
                num_init(&q);
                num_div(&q, &G[m], &in->pivot[k]);
                num_sub(&g->phi[k][m], &g->phi[k][m], &q);
                num_clear(&q);
                changed = true;
            }
        }
        sereval_free(&ev);
        if (!changed)
            break;
    }
    ser_free(c, tmp);
    ser_free(c, G);
    return ok;
}

enum { REDUCED_TERMS_JSON = 200 }; /* more would make a JSON string of megabytes */

/* The steps that show the splitting ("x = ..." or "a step along v of ...") and the reduced
 * function fu - L(p) through order K. */
static void put_splitting(Degenerate *g, const Ser gser)
{
    const Problem *pb = g->pb;
    const Inertia *in = g->in;
    SerCtx *c = &g->c;
    uint32_t n = g->n;
    Buf sp = {0};
    if (g->rk > 0) {
        for (int k = 0; k < g->rk && k < 4; k++) {
            long axis = -1;
            int nz = 0;
            for (uint32_t i = 0; i < n; i++)
                if (!num_is_zero(&in->pvec[k][i]))
                    nz++, axis = i;
            if (k)
                buf_puts(&sp, "; ");
            if (nz == 1 && mpq_cmp_ui(in->pvec[k][axis].q, 1, 1) == 0) {
                buf_printf(&sp, "%s = ", pb->m->param_names[axis]);
                put_poly_from(&sp, c, g->theta[axis], g->names, NULL, 0, 5, 0);
            } else {
                buf_puts(&sp, "a step along ");
                put_vec(&sp, in->pvec[k], n);
                buf_puts(&sp, " of ");
                put_poly(&sp, c, g->phi[k], g->names, NULL, 0, 4);
            }
        }
        if (g->rk > 4)
            buf_puts(&sp, "; ...");
        step(g->r, "splitting", "the gradient across the null space is 0 where %s (through order %d)", sp.data, g->K);
    }
    sp.len = 0;
    Ser disp = ser_new(c);
    for (int m = 0; m < c->M; m++)
        if (g->sg > 0)
            num_set(&disp[m], &gser[m]);
        else
            num_neg(&disp[m], &gser[m]);
    put_poly(&sp, c, disp, g->names, NULL, 0, 8);
    step(g->r, "reduced", "on that set L - L(p) = %s (through order %d)", sp.data, g->K);
    /* as a value: its first REDUCED_TERMS_JSON terms in the null coordinates, the order it holds
     * through */
    sp.len = 0;
    put_poly(&sp, c, disp, g->names, NULL, 0, REDUCED_TERMS_JSON);
    ser_free(c, disp);
    buf_puts(&g->r->json, ", \"reduced\": {\"function\": ");
    json_string(&g->r->json, sp.data);
    buf_printf(&g->r->json, ", \"through_order\": %d}", g->K);
    buf_free(&sp);
}

/* A saddle from the reduced function: the loss falls along dm's curve and rises along a pivot
 * direction (or, where the Hessian is 0, along dM's curve); both curves checked exactly. */
static void saddle_curves(Degenerate *g, const Decided *dm, const Decided *dM)
{
    const Problem *pb = g->pb;
    Classification *r = g->r;
    const Inertia *in = g->in;
    uint32_t n = g->n;
    int sgn = g->sgn, sg = g->sg;
    TPoly *th_a = NULL, *th_b = NULL;
    Num ca, cb;
    num_init(&ca);
    num_init(&cb);
    long oa = dm->order, ob = 2;
    /* curve a: g < 0, i.e. sg*(f - L) < 0 */
    num_set(&ca, &dm->lead);
    if (sg < 0)
        num_neg(&ca, &ca);
    th_a = curve_theta(pb, &g->c, g->phi, in, g->V, g->dnull, dm->curve, oa / 2);
    if (!verify_curve(pb, th_a, oa, &ca, g->L)) {
        theta_free(th_a, n);
        th_a = curve_theta(pb, &g->c, g->phi, in, g->V, g->dnull, dm->curve, -1);
    }
    if (sgn != 0) {
        /* curve b: a pivot direction, where sg*(f - L) rises as |D|/2 t^2 */
        th_b = line_theta(pb, in->pvec[0]);
        num_set_si(&cb, 1, 2);
        num_mul(&cb, &cb, &in->pivot[0]);
    } else {
        th_b = curve_theta(pb, &g->c, g->phi, in, g->V, g->dnull, dM->curve, -1); /* no phi: H = 0 */
        num_neg(&cb, &dM->lead);
        ob = dM->order;
    }
    bool a_up = num_sign(&ca) == 1;
    TPoly *up = a_up ? th_a : th_b, *down = a_up ? th_b : th_a;
    Num *cu = a_up ? &ca : &cb, *cd = a_up ? &cb : &ca;
    long ou = a_up ? oa : ob, od = a_up ? ob : oa;
    bool checked = verify_curve(pb, up, ou, cu, g->L) && verify_curve(pb, down, od, cd, g->L);
    if (!checked) {
        say(r, V_UNDETERMINED,
            "internal error: a curve found for the saddle did not check "
            "(order %d may be too low)",
            g->K);
    } else {
        Buf w = {0};
        buf_puts(&w, "the loss falls along a curve on which ");
        buf_put(&w, dm->why.data, dm->why.len);
        if (sgn != 0)
            buf_printf(&w, ", and %s along the Hessian's %s direction", sg > 0 ? "rises" : "falls",
                       sg > 0 ? "positive" : "negative");
        if (sg < 0) {
            /* in terms of the loss itself: up and down swap */
            w.len = 0;
            buf_puts(&w, "the loss rises along a curve on which ");
            buf_put(&w, dm->why.data, dm->why.len);
            buf_puts(&w, ", and falls along the Hessian's negative direction");
        } else if (sgn == 0) {
            buf_puts(&w, ", and rises along one on which ");
            buf_put(&w, dM->why.data, dM->why.len);
        }
        say(r, V_SADDLE, "%s", w.data);
        buf_free(&w);
        cert_curves(&r->cert, up, ou, cu, down, od, cd, n);
        Buf sd = {0};
        buf_puts(&sd, "rises along ");
        put_curve(&sd, up, n);
        buf_printf(&sd, " as ");
        put_term(&sd, cu, ou);
        buf_printf(&sd, ", falls along ");
        put_curve(&sd, down, n);
        buf_puts(&sd, " as ");
        put_term(&sd, cd, od);
        step(r, "curves", "%s", sd.data);
        buf_free(&sd);
        step(r, "verdict", "saddle: %s", r->reason.data);
    }
    theta_free(th_a, n);
    theta_free(th_b, n);
    num_clear(&ca);
    num_clear(&cb);
}

/* ---- lines through the point: a saddle where the null space is too wide for its series ----
 * The dense series of the reduced function has C(d + K, K) terms: 10 null directions to order
 * 10 are 184756, past what it can hold, while the deep linear network (1 - w1*...*wk)^2 at the
 * origin needs order k in k directions. Along a line p + t v the loss is a series in one
 * variable, cheap to any order: where its first term that is not an exact 0 is c t^m, the loss
 * moves by c t^m + O(t^(m+1)) along it, so a line with c < 0 and one with c > 0 (or the
 * Hessian's positive pivot direction, at a positive semidefinite point) prove a saddle. The
 * lines tried are integer combinations of the null basis: each basis vector and its negative,
 * their sum, the sum with one sign flipped, and LINE_PATTERNS patterns of signs; each is
 * expanded to LINE_ORDER, all within one budget of series steps. Along the deep linear
 * network's (1, ..., 1) the loss is 1 - 2 t^k + t^(2k); along (-1, 1, ..., 1), 1 + 2 t^k + t^(2k).
 * With LINES_FIRST null directions or more they are tried before the dense series (0.04 s
 * against 5 s at depth 12), else where that series cannot be built or decides nothing. */
enum { LINE_ORDER = 32, LINE_PATTERNS = 16, LINES_FIRST = 8 };

typedef struct {
    Num *v; /* the direction (NULL: none found) */
    long m; /* the first term's power */
    Num c;  /* its coefficient */
} Line;

/* The first term of L(p + t v) - L(p): its power m and exact or certified coefficient c, or 0
 * when every term through the order is 0 or one before the first nonzero is not exact. */
static long line_first_term(const Degenerate *g, SerCtx *c, const Num *v, Num *coef)
{
    const Problem *pb = g->pb;
    uint32_t n = g->n;
    Ser *th = xmalloc(sizeof(Ser) * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        th[i] = ser_new(c);
        ser_zero(c, th[i]);
        num_set(&th[i][0], &pb->p[i]);
        num_set(&th[i][1], &v[i]);
    }
    SerEval ev;
    sereval_init(&ev, c, th, n);
    const Num *f = sereval(&ev, pb->m->loss);
    long m = 0;
    for (int k = 1; f && k <= c->K && m == 0; k++) {
        if (num_is_zero(&f[k]))
            continue;
        int s = num_sign(&f[k]);
        if (!f[k].exact || (s != 1 && s != -1))
            break; /* a ball before the first exact term proves nothing */
        m = k;
        num_set(coef, &f[k]);
    }
    sereval_free(&ev);
    for (uint32_t i = 0; i < n; i++)
        ser_free(c, th[i]);
    free(th);
    return m;
}

/* The k-th direction tried: sum over j of s_j V_j with signs s_j from k (see above). */
static bool line_direction(const Degenerate *g, int k, Num *v)
{
    int d = g->dnull;
    int8_t *s = xcalloc((size_t)d, 1);
    if (k < 2 * d) {
        s[k / 2] = k % 2 ? -1 : 1;
    } else if (k < 3 * d + 1) {
        for (int j = 0; j < d; j++)
            s[j] = 1;
        if (k > 2 * d)
            s[k - 2 * d - 1] = -1;
    } else if (k < 3 * d + 1 + LINE_PATTERNS) {
        uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(k + 1); /* a fixed pattern per k */
        for (int j = 0; j < d; j++) {
            x ^= x >> 31, x *= 0xbf58476d1ce4e5b9ull, x ^= x >> 27;
            s[j] = x & 1 ? 1 : -1;
        }
    } else {
        free(s);
        return false;
    }
    for (uint32_t i = 0; i < g->n; i++) {
        num_set_si(&v[i], 0, 1);
        for (int j = 0; j < d; j++)
            if (s[j] == 1)
                num_add(&v[i], &v[i], &g->V[j][i]);
            else if (s[j] == -1)
                num_sub(&v[i], &v[i], &g->V[j][i]);
    }
    free(s);
    return true;
}

/* A saddle from two lines (see above), said with its certificate; false when none is found. */
static bool line_saddle(Degenerate *g)
{
    Classification *r = g->r;
    const Problem *pb = g->pb;
    uint32_t n = g->n;
    SerCtx c;
    if (!serctx_init(&c, 1, LINE_ORDER))
        return false;
    Line up = {0}, down = {0};
    num_init(&up.c);
    num_init(&down.c);
    if (g->sgn != 0) { /* rises (falls) along the first pivot's direction as D/2 t^2 */
        Line *l = g->sgn > 0 ? &up : &down;
        l->v = vec_new(n);
        for (uint32_t i = 0; i < n; i++)
            num_set(&l->v[i], &g->in->pvec[0][i]);
        l->m = 2;
        num_set_si(&l->c, 1, 2);
        num_mul(&l->c, &l->c, &g->in->pivot[0]);
    }
    Num *v = vec_new(n);
    Num coef;
    num_init(&coef);
    for (int k = 0; (!up.v || !down.v) && *c.work <= series_work_limit && line_direction(g, k, v); k++) {
        long m = line_first_term(g, &c, v, &coef);
        Line *l = m == 0 ? NULL : num_sign(&coef) > 0 ? &up : &down;
        if (!l || l->v)
            continue;
        l->v = vec_new(n);
        for (uint32_t i = 0; i < n; i++)
            num_set(&l->v[i], &v[i]);
        l->m = m;
        num_set(&l->c, &coef);
    }
    vec_free(v, n);
    num_clear(&coef);
    bool found = up.v && down.v;
    if (found) {
        TPoly *tu = line_theta(pb, up.v), *td = line_theta(pb, down.v);
        if (!verify_curve(pb, tu, up.m, &up.c, g->L) || !verify_curve(pb, td, down.m, &down.c, g->L)) {
            say(r, V_UNDETERMINED, "internal error: a line found for the saddle did not check");
        } else {
            Buf w = {0}, sd = {0};
            buf_puts(&w, "the loss falls along the line through the point in direction ");
            put_vec(&w, down.v, n);
            buf_puts(&w, " as ");
            put_term(&w, &down.c, down.m);
            buf_puts(&w, " and rises along ");
            put_vec(&w, up.v, n);
            buf_puts(&w, " as ");
            put_term(&w, &up.c, up.m);
            say(r, V_SADDLE, "%s", w.data);
            cert_curves(&r->cert, tu, up.m, &up.c, td, down.m, &down.c, n);
            buf_puts(&sd, "rises along ");
            put_curve(&sd, tu, n);
            buf_puts(&sd, " as ");
            put_term(&sd, &up.c, up.m);
            buf_puts(&sd, ", falls along ");
            put_curve(&sd, td, n);
            buf_puts(&sd, " as ");
            put_term(&sd, &down.c, down.m);
            step(r, "lines", "%s", sd.data);
            step(r, "verdict", "saddle: %s", r->reason.data);
            buf_free(&w);
            buf_free(&sd);
        }
        theta_free(tu, n);
        theta_free(td, n);
    }
    if (up.v)
        vec_free(up.v, n);
    if (down.v)
        vec_free(down.v, n);
    num_clear(&up.c);
    num_clear(&down.c);
    serctx_free(&c);
    return found;
}

/* Not decided by the reduced function: a certificate from the loss's structure, then (at the
 * last order) its symmetries or a sum of squares; else undetermined, with what was tried. */
static void not_decided_by_reduction(Degenerate *g, const Decided *dm, const Decided *dM)
{
    const Problem *pb = g->pb;
    Classification *r = g->r;
    Buf why = {0};
    if (dm->kind == D_NOT_MIN)
        buf_printf(&why, "it is not a minimum (%s) but whether it is a maximum is not decided: %s", dm->why.data,
                   dM->why.data);
    else
        buf_printf(&why, "%s", dm->why.data);
    size_t before = r->steps.len;
    if (dm->kind != D_NOT_MIN && structural_extremum(pb, r, g->L, why.data)) {
        if (!r->nonstrict && pb->last) { /* a minimum: the symmetries may show it is not strict */
            Buf said = {0};
            buf_put(&said, r->steps.data + before, r->steps.len - before);
            r->steps.len = before;
            r->steps.data[before] = 0;
            if (!symmetric_extremum(pb, r, g->V, g->dnull, r->verdict == V_MIN, r->verdict == V_MAX, why.data))
                buf_put(&r->steps, said.data, said.len);
            buf_free(&said);
        }
    } else if (pb->last &&
               symmetric_extremum(pb, r, g->V, g->dnull, dm->kind != D_NOT_MIN, dM->kind != D_NOT_MIN, why.data)) {
    } else if (pb->last && sos_extremum(pb, r, dm->kind != D_NOT_MIN, dM->kind != D_NOT_MIN, why.data)) {
    } else if (pb->last && line_saddle(g)) {
    } else {
        say(r, V_UNDETERMINED, "%s%s", why.data,
            dm->kind == D_ZERO ? "; the critical points may form a curve or surface, and no "
                                 "certificate shows the loss stays on one side of its value"
                               : "");
        step(r, "verdict", "undetermined: %s", r->reason.data);
    }
    buf_free(&why);
}

/* reduce.c's decision of g = sg * (L(theta(u)) - L(p)), and of -g where the Hessian is 0, into
 * the verdict. */
static void decide_reduced(Degenerate *g, const Ser gser)
{
    const Problem *pb = g->pb;
    Classification *r = g->r;
    int sgn = g->sgn, sg = g->sg;
    RCtx rc = {&g->c, g->names, g->K, sg < 0};
    Decided dm, dM;
    decided_init(&dm, g->dnull);
    decided_init(&dM, g->dnull);
    reduce_decide(&rc, gser, &dm);
    bool need_max = sgn == 0 && dm.kind != D_STRICT_MIN;
    if (need_max) {
        Ser neg = ser_new(&g->c);
        for (int m = 0; m < g->c.M; m++)
            num_neg(&neg[m], &gser[m]);
        RCtx rn = {&g->c, g->names, g->K, true};
        reduce_decide(&rn, neg, &dM);
        ser_free(&g->c, neg);
    }
    const char *ext = sg > 0 ? "minimum" : "maximum";
    if (dm.kind == D_STRICT_MIN) {
        say(r, sg > 0 ? V_STRICT_MIN : V_STRICT_MAX,
            "the Hessian is %s semidefinite and the reduced function on its null space has a strict "
            "%s: %s",
            sgn >= 0 ? "positive" : "negative", sg > 0 ? "minimum" : "maximum", dm.why.data);
        if (!(dm.weighted && weights_certificate(&r->cert, pb, &g->c, g->phi, g->in, g->V, g->dnull, &dm))) {
            buf_puts(&r->cert, "{\"kind\": \"reduced_function\", \"sign\": ");
            buf_printf(&r->cert, "%d, \"reason\": ", sg);
            json_string(&r->cert, dm.why.data);
            buf_puts(&r->cert, "}");
        }
        step(r, "verdict", "strict %s: %s", ext, dm.why.data);
    } else if (sgn == 0 && dM.kind == D_STRICT_MIN) {
        say(r, V_STRICT_MAX, "the Hessian is 0 and the loss has a strict maximum: %s", dM.why.data);
        if (!(dM.weighted && weights_certificate(&r->cert, pb, &g->c, g->phi, g->in, g->V, g->dnull, &dM))) {
            buf_puts(&r->cert, "{\"kind\": \"reduced_function\", \"sign\": -1, \"reason\": ");
            json_string(&r->cert, dM.why.data);
            buf_puts(&r->cert, "}");
        }
        step(r, "verdict", "strict maximum: %s", dM.why.data);
    } else if (dm.kind == D_NOT_MIN && (sgn != 0 || dM.kind == D_NOT_MIN)) {
        saddle_curves(g, &dm, &dM);
    } else {
        not_decided_by_reduction(g, &dm, &dM);
    }
    decided_free(&dm, g->dnull);
    decided_free(&dM, g->dnull);
}

/* The reduced function along theta(u), its steps, and its decision (or why there is none). */
static void reduced_function(Degenerate *g, Buf *failure)
{
    Classification *r = g->r;
    SerCtx *c = &g->c;
    SerEval ev;
    sereval_init(&ev, c, g->theta, g->n);
    const Num *fu = sereval(&ev, g->pb->m->loss);
    if (!fu) {
        r->limited = ev.fail_limit;
        failure_proven(r, &ev, true);
        fail_text(failure, &ev, g->pb);
        say(r, V_UNDETERMINED, "%s: %s",
            r->limited     ? "the expansion along the null space was stopped"
            : r->uncertain ? "the expansion along the null space cannot be evaluated exactly"
                           : "the loss is not smooth along its null space",
            failure->data);
        step(r, "verdict", "undetermined: %s", r->reason.data);
        sereval_free(&ev);
        return;
    }
    /* g = sgn * (L(theta(u)) - L(p)); terms below degree 3 vanish by construction */
    Ser gser = ser_new(c);
    for (int m = 0; m < c->M; m++) {
        if (c->deg[m] < 3)
            continue;
        if (g->sg > 0)
            num_set(&gser[m], &fu[m]);
        else
            num_neg(&gser[m], &fu[m]);
    }
    bool low_ok = true;
    for (int m = 1; m < c->M && c->deg[m] < 3; m++)
        low_ok = low_ok && num_sign(&fu[m]) != 1 && num_sign(&fu[m]) != -1;
    put_splitting(g, gser);
    if (!low_ok)
        say(r, V_UNDETERMINED, "internal error: the reduced function has terms below degree 3");
    else
        decide_reduced(g, gser);
    ser_free(c, gser);
    sereval_free(&ev);
}

static void classify_degenerate(const Problem *pb, Classification *r, const Inertia *in, const Num *L)
{
    Degenerate g = {.pb = pb, .r = r, .in = in, .L = L, .n = pb->n, .dnull = in->nnull, .rk = in->npiv, .K = pb->order};
    g.sgn = r->npos > 0 ? 1 : r->nneg > 0 ? -1 : 0;
    g.sg = g.sgn ? g.sgn : 1;
    null_basis(&g);
    /* a wide null space: lines first (once, at the first order examined), before a dense
     * series that may take seconds (the deep linear network of depth 12: 5 s at order 8) */
    if (g.dnull >= LINES_FIRST && pb->order <= 4 && line_saddle(&g)) {
    } else if (!serctx_init(&g.c, g.dnull, g.K)) {
        /* the null space is too wide for its series: lines may still show a saddle */
        if (!line_saddle(&g)) {
            say(r, V_UNDETERMINED,
                "the null space has dimension %d: its power series to order %d would be too large "
                "(lower --order)",
                g.dnull, g.K);
            r->limited = true;
            step(r, "verdict", "undetermined: %s", r->reason.data);
        }
    } else {
        g.phi = xmalloc(sizeof(Ser) * (size_t)(g.rk ? g.rk : 1));
        for (int k = 0; k < g.rk; k++) {
            g.phi[k] = ser_new(&g.c);
            ser_zero(&g.c, g.phi[k]);
        }
        g.theta = xmalloc(sizeof(Ser) * (g.n ? g.n : 1));
        for (uint32_t i = 0; i < g.n; i++)
            g.theta[i] = ser_new(&g.c);
        Buf failure = {0};
        if (split_along_null(&g, &failure)) {
            reduced_function(&g, &failure);
        } else {
            say(r, V_UNDETERMINED, "%s: %s",
                r->limited     ? "the expansion along the null space was stopped"
                : r->uncertain ? "the expansion along the null space cannot be evaluated exactly"
                               : "the loss is not smooth along its null space",
                failure.data);
            step(r, "verdict", "undetermined: %s", r->reason.data);
        }
        buf_free(&failure);
        for (int k = 0; k < g.rk; k++)
            ser_free(&g.c, g.phi[k]);
        free(g.phi);
        for (uint32_t i = 0; i < g.n; i++)
            ser_free(&g.c, g.theta[i]);
        free(g.theta);
        serctx_free(&g.c);
    }
    for (int j = 0; j < g.dnull; j++) {
        vec_free(g.V[j], g.n);
        free(g.names[j]);
    }
    free(g.V);
    free(g.names);
}

/* ---- labels, output ---- */

/* Whether the verdict bears out the expected label. */
bool classification_holds(const Classification *r, const char *label)
{
    Verdict v = r->verdict;
    if (strcmp(label, "min") == 0)
        return v == V_MIN || v == V_STRICT_MIN;
    if (strcmp(label, "max") == 0)
        return v == V_MAX || v == V_STRICT_MAX;
    if (strcmp(label, "degenerate") == 0)
        return r->singular == 1;
    if (strcmp(label, "undetermined") == 0)
        return v == V_UNDETERMINED;
    return strcmp(label, verdict_name[v]) == 0;
}

void classification_json(Buf *b, const Model *m, const mpq_t *p, const Classification *r)
{
    buf_puts(b, "\"verdict\": ");
    json_string(b, verdict_name[r->verdict]);
    buf_puts(b, ", \"reason\": ");
    json_string(b, r->reason.data ? r->reason.data : "");
    buf_puts(b, ", \"critical\": ");
    buf_puts(b, r->critical < 0 ? "null" : r->critical ? "true" : "false");
    buf_puts(b, ", \"degenerate\": ");
    buf_puts(b, r->singular < 0 ? "null" : r->singular ? "true" : "false");
    if (r->verdict == V_MIN || r->verdict == V_MAX)
        buf_printf(b, ", \"strict\": %s", r->nonstrict ? "false" : "null");
    if (r->inertia_known)
        buf_printf(b, ", \"inertia\": {\"negative\": %d, \"zero\": %d, \"positive\": %d}", r->nneg, r->nzero, r->npos);
    buf_puts(b, ", \"params\": ");
    json_strings(b, m->param_names, m->nparam);
    buf_puts(b, ", \"point\": [");
    for (uint32_t i = 0; i < m->nparam; i++) {
        if (i)
            buf_puts(b, ", ");
        Num x;
        num_init(&x);
        num_set_q(&x, p[i]);
        json_num(b, &x);
        num_clear(&x);
    }
    buf_puts(b, "], \"theta\": [");
    for (uint32_t i = 0; i < m->nparam; i++)
        buf_printf(b, "%s%.17g", i ? ", " : "", rat_to_double(p[i]));
    buf_puts(b, "]");
    if (r->json.len) {
        buf_puts(b, ", ");
        buf_put(b, r->json.data, r->json.len);
    }
    buf_puts(b, ", \"certificate\": ");
    if (r->cert.len)
        buf_put(b, r->cert.data, r->cert.len);
    else
        buf_puts(b, "null");
    buf_puts(b, ", \"steps\": ");
    json_lines(b, &r->steps);
}

static void classification_init(Classification *r)
{
    memset(r, 0, sizeof *r);
    r->critical = r->singular = -1;
}

void classification_free(Classification *r)
{
    buf_free(&r->reason);
    buf_free(&r->steps);
    buf_free(&r->cert);
    buf_free(&r->json);
}

/* Balls are retried at higher precision when a sign could not be certified. */
static bool decided(const Classification *r)
{
    return r->verdict != V_UNDETERMINED && !((r->verdict == V_MIN || r->verdict == V_MAX) && !r->nonstrict);
}

/* Orders 4, 8, 16, ... up to the one asked for, stopping at the first that decides: a verdict
 * at a lower order is as much a proof (no term beyond it can reach the form that decided),
 * and most points need few terms while a high order on a large rational point costs seconds.
 * Balls are retried at a higher precision when a sign could not be certified. */
static void classify_point(const Problem *pb, Classification *r)
{
    static const slong precs[] = {256, 1024, 4096};
    Problem at = *pb;
    /* a minimum (or maximum) whose strictness a lower order left open is still proven: a
     * higher order that cannot finish does not take it back */
    Classification kept;
    classification_init(&kept);
    int kept_order = 0, done = 0, cap = pb->order; /* done: the highest order that finished */
    char *limit_note = NULL;
    for (int order = pb->order < 4 ? pb->order : 4;; order = order * 2 < cap ? order * 2 : cap) {
        at.order = order;
        at.last = order >= cap;
        for (size_t k = 0; k < sizeof precs / sizeof precs[0]; k++) {
            num_prec = precs[k];
            classification_free(r);
            classification_init(r);
            classify(&at, r);
            /* again only when a ball's sign was uncertain: an exact zero stays one at any
             * precision */
            if (r->verdict != V_UNDETERMINED || !r->uncertain)
                break;
        }
        if (r->verdict == V_UNDETERMINED && kept.verdict != V_UNDETERMINED) {
            step(&kept, "order", "%d: undetermined (%s); the verdict at order %d stands", order, r->reason.data,
                 kept_order);
            classification_free(r);
            *r = kept;
            free(limit_note);
            return;
        }
        if (r->limited && order - 1 > done && order - 1 >= 3 && !limit_note) { /* once */
            /* the series met a size limit: the orders between the last that finished and this
             * one may fit (a product of 9 coordinates needs order 9, and order 10 in 9 variables
             * is too large) */
            free(limit_note);
            limit_note = vformat_str("%d: %s", order, r->reason.data ? r->reason.data : "");
            cap = order - 1;
            order = cap / 2; /* the loop's step doubles it back to cap */
            if (order * 2 < cap)
                order = cap;
            continue;
        }
        if (decided(r) || order == cap || r->limited)
            break;
        if (r->verdict != V_UNDETERMINED) {
            classification_free(&kept);
            kept = *r;
            kept_order = order;
            classification_init(r);
        }
        done = order;
    }
    if (limit_note && r->verdict == V_UNDETERMINED) { /* why no higher order was examined */
        step(r, "order", "%s", limit_note);
        buf_printf(&r->reason, " (order %s)", limit_note);
    }
    free(limit_note);
    classification_free(&kept);
}

void exact_decide(const Model *m, const Deriv *d, const mpq_t *p, int order, Classification *c)
{
    Problem pb = {m, d, order, m->nparam, vec_new(m->nparam), false};
    for (uint32_t i = 0; i < pb.n; i++)
        num_set_q(&pb.p[i], p[i]);
    classification_init(c);
    classify_point(&pb, c);
    vec_free(pb.p, pb.n);
}

void exact_put_rational(Buf *b, mpq_srcptr q)
{
    Num x;
    num_init(&x);
    num_set_q(&x, q);
    put_num(b, &x);
    num_clear(&x);
}

void exact_release(void)
{
    sym_release();
    flint_cleanup(); /* Arb's caches of constants, kept per thread */
}

/* --at x=0,y=1/3,w={1,2},v=0: every parameter exactly once (an array by a brace list or one
 * value that fills it, or element by element as w[1]=2). */
static bool parse_rational(const char *s, size_t len, mpq_t out)
{
    char *text = xmalloc(len + 1);
    memcpy(text, s, len);
    text[len] = 0;
    bool ok = true;
    mpq_t num, den;
    mpq_inits(num, den, NULL);
    char *slash = strchr(text, '/');
    if (slash)
        *slash = 0;
    for (int part = 0; part < (slash ? 2 : 1) && ok; part++) {
        const char *p = part ? slash + 1 : text;
        mpq_ptr dst = part ? den : num;
        bool neg = false;
        if (*p == '-' || *p == '+')
            neg = *p++ == '-';
        mpz_t mant, ten;
        mpz_inits(mant, ten, NULL);
        long scale = 0;
        int digits = 0;
        bool dot = false;
        for (; *p && ok; p++) {
            if (*p >= '0' && *p <= '9') {
                mpz_mul_ui(mant, mant, 10);
                mpz_add_ui(mant, mant, (unsigned long)(*p - '0'));
                digits++;
                if (dot)
                    scale--;
            } else if (*p == '.' && !dot) {
                dot = true;
            } else {
                break;
            }
        }
        if (digits == 0)
            ok = false;
        if (ok && (*p == 'e' || *p == 'E')) {
            char *end;
            long e = strtol(p + 1, &end, 10);
            if (end == p + 1 || e > 4000 || e < -4000)
                ok = false;
            scale += e;
            p = end;
        }
        if (*p)
            ok = false;
        if (ok) {
            mpz_ui_pow_ui(ten, 10, (unsigned long)(scale < 0 ? -scale : scale));
            mpq_set_z(dst, mant);
            if (scale >= 0)
                mpz_mul(mpq_numref(dst), mpq_numref(dst), ten);
            else
                mpz_mul(mpq_denref(dst), mpq_denref(dst), ten);
            mpq_canonicalize(dst);
            if (neg)
                mpq_neg(dst, dst);
        }
        mpz_clears(mant, ten, NULL);
    }
    if (ok && slash) {
        if (mpq_sgn(den) == 0)
            ok = false;
        else
            mpq_div(num, num, den);
    }
    if (ok)
        mpq_set(out, num);
    mpq_clears(num, den, NULL);
    free(text);
    return ok;
}

bool exact_parse_point(const Model *m, const char *spec, const char *flag, Num *p)
{
    uint32_t n = m->nparam;
    bool *given = xcalloc(n + 1, 1);
    bool ok = true;
    const char *s = spec;
    mpq_t q;
    mpq_init(q);
    if (!strchr(spec, '=')) { /* values in parameter order, braces or not: the analyzer's syntax too */
        uint32_t k = 0;
        for (const char *t = spec; ok && *t;) {
            size_t len = strcspn(t, ",{}");
            if (len == 0) {
                t++;
                continue;
            }
            if (k >= n || !parse_rational(t, len, q)) {
                fprintf(stderr, "hessgen: %s: %s\n", flag,
                        k >= n ? "more values than parameters" : "not a rational number");
                fprintf(stderr, "  at '%.*s' (write 1/3, -2, 1e-12 or 0.1)\n", (int)len, t);
                ok = false;
                break;
            }
            num_set_q(&p[k], q);
            given[k++] = true;
            t += len;
        }
        if (ok && k < n) {
            fprintf(stderr, "hessgen: %s: %u values for %u parameters\n", flag, k, n);
            ok = false;
        }
        s = "";
    }
    while (*s && ok) {
        const char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "hessgen: %s: expected NAME=VALUE at '%s'\n", flag, s);
            ok = false;
            break;
        }
        size_t nlen = (size_t)(eq - s);
        const char *v = eq + 1, *end;
        if (*v == '{') { /* to the matching brace: W={{1,2},{3,4}} is row-major */
            int depth = 0;
            for (end = v; *end && (end == v || depth > 0); end++)
                depth += *end == '{' ? 1 : *end == '}' ? -1 : 0;
            if (depth != 0) {
                fprintf(stderr, "hessgen: %s: '{' without '}' in '%s'\n", flag, s);
                ok = false;
                break;
            }
        } else {
            end = strchr(v, ',');
            if (!end)
                end = v + strlen(v);
        }
        /* which coordinates: the exact name, or every element of an array of that name */
        uint32_t first = n, count = 0;
        for (uint32_t i = 0; i < n; i++) {
            const char *pn = m->param_names[i];
            bool whole = strlen(pn) == nlen && strncmp(pn, s, nlen) == 0;
            bool elem = strncmp(pn, s, nlen) == 0 && pn[nlen] == '[' && memchr(s, '[', nlen) == NULL;
            if (whole || elem) {
                if (first == n)
                    first = i;
                count++;
            }
        }
        if (count == 0) {
            fprintf(stderr, "hessgen: %s: '%.*s' is not a parameter\n", flag, (int)nlen, s);
            ok = false;
            break;
        }
        if (*v == '{') {
            const char *item = v + 1;
            uint32_t k = 0;
            while (ok && item < end - 1) {
                if (*item == '{' || *item == '}' || *item == ',') { /* inner braces: row-major */
                    item++;
                    continue;
                }
                const char *comma = item;
                while (comma < end - 1 && *comma != ',' && *comma != '{' && *comma != '}')
                    comma++;
                if (k >= count || !parse_rational(item, (size_t)(comma - item), q)) {
                    fprintf(stderr, "hessgen: %s: '%.*s' is not %s\n", flag, (int)(end - v), v,
                            k >= count ? "the right number of values" : "a list of rational numbers");
                    ok = false;
                } else {
                    num_set_q(&p[first + k], q);
                    given[first + k] = true;
                    k++;
                }
                item = comma + 1;
            }
            if (ok && k != count) {
                fprintf(stderr, "hessgen: %s: '%.*s' has %u values for %u coordinates\n", flag, (int)nlen, s, k, count);
                ok = false;
            }
        } else if (!parse_rational(v, (size_t)(end - v), q)) {
            fprintf(stderr, "hessgen: %s: '%.*s' is not a rational number (write 1/3, -2, 1e-12 or 0.1)\n", flag,
                    (int)(end - v), v);
            ok = false;
        } else {
            for (uint32_t k = 0; k < count; k++) {
                if (given[first + k]) {
                    fprintf(stderr, "hessgen: %s: '%s' is given twice\n", flag, m->param_names[first + k]);
                    ok = false;
                }
                num_set_q(&p[first + k], q);
                given[first + k] = true;
            }
        }
        s = *end == ',' ? end + 1 : end;
    }
    for (uint32_t i = 0; i < n && ok; i++)
        if (!given[i]) {
            fprintf(stderr, "hessgen: %s gives no value for parameter '%s'\n", flag, m->param_names[i]);
            ok = false;
        }
    mpq_clear(q);
    free(given);
    return ok;
}

bool exact_parse_point_q(const Model *m, const char *spec, const char *flag, mpq_t *p)
{
    Num *v = vec_new(m->nparam);
    bool ok = exact_parse_point(m, spec, flag, v);
    for (uint32_t i = 0; ok && i < m->nparam; i++)
        mpq_set(p[i], v[i].q); /* the parser reads rationals only */
    vec_free(v, m->nparam);
    return ok;
}
