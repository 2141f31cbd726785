/* series.c: exact numbers with certified balls as the fallback, truncated power series in a
 * few variables, and the graph evaluated on them (the exact classifier's arithmetic).
 *
 * In: graph nodes and the point's coordinates as series. Out: the Taylor coefficients of
 * each node, exact rationals wherever the value is rational (exp(0), log(1), sin(0),
 * sqrt(9/4), sigmoid(0)'s derivatives), Arb balls where it is not (exp(1), log(2)).
 * A unary function f is composed as f(a0 + t) = sum c_k t^k with the c_k computed once from
 * its univariate expansion at a0, then t replaced by the series a - a0 (Horner, K products).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

slong num_prec = 256;

/* ---- symbolic irrationals: atoms, and sums of terms over them ---- */

/* An atom is one transcendental value: op(arg) for a rational arg, arg^ex (OP_POW), or pi.
 * exp(r) is not an atom: every term carries its own exponent r, so exp(a)*exp(b) = exp(a+b)
 * holds exactly. Other identities (sin^2 + cos^2 = 1, sigmoid(a) + sigmoid(-a) = 1) are not
 * known: a value that is 0 only by them stays a non-empty sum whose ball contains 0, which the
 * classifier reports as uncertain, never as zero. */
typedef struct {
    Op op;
    mpq_t arg, ex;
    arb_t ball;
    slong prec; /* of ball; 0: not computed */
} Atom;

static Atom *atoms;
static uint32_t natoms, atoms_cap;

enum { SYM_MAX_FACTORS = 6, SYM_MAX_TERMS = 48, SYM_MAX_POWER = 64 };

typedef struct {
    uint32_t atom;
    int32_t pow;
} Factor;

typedef struct {
    mpq_t c, e; /* c * exp(e) * prod atom^pow */
    int nf;
    Factor f[SYM_MAX_FACTORS];
} Term;

struct Sym {
    int n;
    Term t[SYM_MAX_TERMS];
};

static uint32_t atom_id(Op op, mpq_srcptr arg, mpq_srcptr ex)
{
    for (uint32_t i = 0; i < natoms; i++)
        if (atoms[i].op == op && mpq_equal(atoms[i].arg, arg) && mpq_equal(atoms[i].ex, ex))
            return i;
    if (natoms == atoms_cap) {
        atoms_cap = atoms_cap ? 2 * atoms_cap : 16;
        atoms = xrealloc(atoms, sizeof(Atom) * atoms_cap);
    }
    Atom *a = &atoms[natoms];
    a->op = op;
    mpq_init(a->arg);
    mpq_init(a->ex);
    mpq_set(a->arg, arg);
    mpq_set(a->ex, ex);
    arb_init(a->ball);
    a->prec = 0;
    return natoms++;
}

void sym_release(void)
{
    for (uint32_t i = 0; i < natoms; i++) {
        mpq_clear(atoms[i].arg);
        mpq_clear(atoms[i].ex);
        arb_clear(atoms[i].ball);
    }
    free(atoms);
    atoms = NULL;
    natoms = atoms_cap = 0;
}

static void q_ball(arb_t out, mpq_srcptr q, slong prec)
{
    fmpq_t f;
    fmpq_init(f);
    fmpq_set_mpq(f, q);
    arb_set_fmpq(out, f, prec);
    fmpq_clear(f);
}

/* Each function's ball (ops.h), defined with the functions' rules below; NULL where it never is
 * an atom. And its source name. */
typedef void (*arb_fn)(arb_t, const arb_t, slong);
static const arb_fn unary_ball[OP__COUNT];
static const char *const unary_names[OP__COUNT] = {
#define X(e, src, c, helper, d, ...) [OP_##e] = src,
    UNARY_OPS(X)
#undef X
};

static const arb_struct *atom_ball(uint32_t id)
{
    Atom *a = &atoms[id];
    if (a->prec == num_prec)
        return a->ball;
    arb_t x, y;
    arb_init(x);
    arb_init(y);
    q_ball(x, a->arg, num_prec + 32);
    slong p = num_prec + 32;
    if (a->op == OP_PI)
        arb_const_pi(a->ball, p);
    else if (a->op == OP_POW) {
        q_ball(y, a->ex, p);
        arb_pow(a->ball, x, y, p);
    } else if (OP_IS_UNARY(a->op) && unary_ball[a->op])
        unary_ball[a->op](a->ball, x, p);
    else
        arb_indeterminate(a->ball);
    a->prec = num_prec;
    arb_clear(x);
    arb_clear(y);
    return a->ball;
}

static const char *atom_name(Op op)
{
    return OP_IS_UNARY(op) && unary_names[op] ? unary_names[op] : "?";
}

static Sym *sym_new(void)
{
    Sym *s = xmalloc(sizeof(Sym));
    s->n = 0;
    return s;
}

static void term_init(Term *t)
{
    mpq_init(t->c);
    mpq_init(t->e);
    t->nf = 0;
}

static void sym_free(Sym *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->n; i++)
        mpq_clears(s->t[i].c, s->t[i].e, NULL);
    free(s);
}

static Sym *sym_copy(const Sym *x)
{
    Sym *s = sym_new();
    for (int i = 0; i < x->n; i++) {
        term_init(&s->t[i]);
        mpq_set(s->t[i].c, x->t[i].c);
        mpq_set(s->t[i].e, x->t[i].e);
        s->t[i].nf = x->t[i].nf;
        memcpy(s->t[i].f, x->t[i].f, sizeof x->t[i].f);
    }
    s->n = x->n;
    return s;
}

/* The order of terms by their irrational part (exp's exponent, then the factors). */
static int term_key_cmp(const Term *a, const Term *b)
{
    int c = mpq_cmp(a->e, b->e);
    if (c)
        return c;
    if (a->nf != b->nf)
        return a->nf < b->nf ? -1 : 1;
    for (int i = 0; i < a->nf; i++) {
        if (a->f[i].atom != b->f[i].atom)
            return a->f[i].atom < b->f[i].atom ? -1 : 1;
        if (a->f[i].pow != b->f[i].pow)
            return a->f[i].pow < b->f[i].pow ? -1 : 1;
    }
    return 0;
}

/* Adds term t (consumed) into s, keeping the terms sorted and merged. False when full. */
static bool sym_add_term(Sym *s, Term *t)
{
    if (mpq_sgn(t->c) == 0) {
        mpq_clears(t->c, t->e, NULL);
        return true;
    }
    int lo = 0, hi = s->n;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = term_key_cmp(&s->t[mid], t);
        if (c == 0) {
            mpq_add(s->t[mid].c, s->t[mid].c, t->c);
            mpq_clears(t->c, t->e, NULL);
            if (mpq_sgn(s->t[mid].c) == 0) {
                mpq_clears(s->t[mid].c, s->t[mid].e, NULL);
                memmove(&s->t[mid], &s->t[mid + 1], sizeof(Term) * (size_t)(s->n - mid - 1));
                s->n--;
            }
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (s->n == SYM_MAX_TERMS) {
        mpq_clears(t->c, t->e, NULL);
        return false;
    }
    memmove(&s->t[lo + 1], &s->t[lo], sizeof(Term) * (size_t)(s->n - lo));
    s->t[lo] = *t;
    s->n++;
    return true;
}

/* t = a * b; false when it has too many factors or too high a power */
static bool term_mul(Term *t, const Term *a, const Term *b)
{
    term_init(t);
    mpq_mul(t->c, a->c, b->c);
    mpq_add(t->e, a->e, b->e);
    int i = 0, j = 0;
    while (i < a->nf || j < b->nf) {
        Factor f;
        if (j >= b->nf || (i < a->nf && a->f[i].atom < b->f[j].atom))
            f = a->f[i++];
        else if (i >= a->nf || b->f[j].atom < a->f[i].atom)
            f = b->f[j++];
        else {
            f.atom = a->f[i].atom;
            f.pow = a->f[i++].pow + b->f[j++].pow;
        }
        /* a root a^(1/q) keeps its power in [0, q): (a^(1/q))^(m*q + r) = a^m * (a^(1/q))^r */
        const Atom *at = &atoms[f.atom];
        if (at->op == OP_POW && mpz_cmp_ui(mpq_numref(at->ex), 1) == 0 && mpz_fits_slong_p(mpq_denref(at->ex))) {
            long q = mpz_get_si(mpq_denref(at->ex)), m = f.pow >= 0 ? f.pow / q : -((-f.pow + q - 1) / q);
            if (m != 0) {
                mpq_t am;
                mpq_init(am);
                mpz_pow_ui(mpq_numref(am), mpq_numref(at->arg), (unsigned long)(m < 0 ? -m : m));
                mpz_pow_ui(mpq_denref(am), mpq_denref(at->arg), (unsigned long)(m < 0 ? -m : m));
                mpq_canonicalize(am);
                if (m < 0)
                    mpq_inv(am, am);
                mpq_mul(t->c, t->c, am);
                mpq_clear(am);
                f.pow -= (int32_t)(m * q);
            }
        }
        if (f.pow == 0)
            continue;
        if (t->nf == SYM_MAX_FACTORS || f.pow > SYM_MAX_POWER || f.pow < -SYM_MAX_POWER) {
            mpq_clears(t->c, t->e, NULL);
            return false;
        }
        t->f[t->nf++] = f;
    }
    return true;
}

static void term_of_rational(Term *t, mpq_srcptr q)
{
    term_init(t);
    mpq_set(t->c, q);
}

static void sym_ball(arb_t out, const Sym *s)
{
    arb_t term, x;
    arb_init(term);
    arb_init(x);
    arb_zero(out);
    slong p = num_prec + 32;
    for (int i = 0; i < s->n; i++) {
        const Term *t = &s->t[i];
        q_ball(term, t->c, p);
        if (mpq_sgn(t->e)) {
            q_ball(x, t->e, p);
            arb_exp(x, x, p);
            arb_mul(term, term, x, p);
        }
        for (int k = 0; k < t->nf; k++) {
            if (t->f[k].pow >= 0)
                arb_pow_ui(x, atom_ball(t->f[k].atom), (ulong)t->f[k].pow, p);
            else {
                arb_pow_ui(x, atom_ball(t->f[k].atom), (ulong)-t->f[k].pow, p);
                arb_inv(x, x, p);
            }
            arb_mul(term, term, x, p);
        }
        arb_add(out, out, term, p);
    }
    arb_clear(term);
    arb_clear(x);
}

/* ---- numbers ---- */

void num_init(Num *x)
{
    x->exact = 1;
    mpq_init(x->q);
    arb_init(x->b);
    x->s = NULL;
}

void num_clear(Num *x)
{
    mpq_clear(x->q);
    arb_clear(x->b);
    sym_free(x->s);
    x->s = NULL;
}

bool num_is_symbolic(const Num *x)
{
    return x->s != NULL;
}

static void drop_sym(Num *z)
{
    sym_free(z->s);
    z->s = NULL;
}

/* z takes the symbolic value s (consumed), reduced to a rational where it is one. */
static void num_take_sym(Num *z, Sym *s)
{
    drop_sym(z);
    if (s->n == 0 || (s->n == 1 && s->t[0].nf == 0 && mpq_sgn(s->t[0].e) == 0)) {
        if (s->n == 0)
            mpq_set_ui(z->q, 0, 1);
        else
            mpq_set(z->q, s->t[0].c);
        z->exact = 1;
        sym_free(s);
        return;
    }
    z->exact = 0;
    z->s = s;
}

void num_set(Num *z, const Num *x)
{
    if (z == x)
        return;
    drop_sym(z);
    z->exact = x->exact;
    if (x->exact)
        mpq_set(z->q, x->q);
    else if (x->s)
        z->s = sym_copy(x->s);
    else
        arb_set(z->b, x->b);
}

void num_set_q(Num *z, mpq_srcptr q)
{
    drop_sym(z);
    z->exact = 1;
    mpq_set(z->q, q);
}

void num_set_si(Num *z, long n, unsigned long d)
{
    drop_sym(z);
    z->exact = 1;
    mpq_set_si(z->q, n, d);
    mpq_canonicalize(z->q);
}

void num_set_ball(Num *z, const arb_t b)
{
    drop_sym(z);
    z->exact = 0;
    arb_set(z->b, b);
}

/* c * atom (or c * exp(e) when op is OP_EXP: then arg is e) */
static void num_set_atom(Num *z, Op op, mpq_srcptr arg, mpq_srcptr ex)
{
    /* canonical atoms, so that identities hold exactly: odd functions and sigmoid, softplus
     * at a negative argument in terms of the positive one; a rational power as a rational
     * times a power of the root a^(1/q) */
    int sg = mpq_sgn(arg);
    if (sg < 0 && (op == OP_SIN || op == OP_TAN || op == OP_TANH || op == OP_ATAN || op == OP_COS || op == OP_SIGMOID ||
                   op == OP_SOFTPLUS)) {
        mpq_t m;
        mpq_init(m);
        mpq_neg(m, arg);
        num_set_atom(z, op, m, ex);
        Num t;
        num_init(&t);
        if (op == OP_SIGMOID) { /* sigmoid(-a) = 1 - sigmoid(a) */
            num_set_si(&t, 1, 1);
            num_sub(z, &t, z);
        } else if (op == OP_SOFTPLUS) { /* softplus(-a) = softplus(a) - a */
            num_set_q(&t, m);
            num_sub(z, z, &t);
        } else if (op != OP_COS) {
            num_neg(z, z);
        }
        num_clear(&t);
        mpq_clear(m);
        return;
    }
    if (op == OP_SOFTPLUS && sg == 0) { /* log(1 + e^0) */
        mpq_t two;
        mpq_init(two);
        mpq_set_ui(two, 2, 1);
        num_set_atom(z, OP_LOG, two, ex);
        mpq_clear(two);
        return;
    }
    if (op == OP_POW && mpz_fits_slong_p(mpq_numref(ex)) && mpz_fits_slong_p(mpq_denref(ex)) &&
        mpz_cmpabs_ui(mpq_numref(ex), 4096) < 0 && mpz_cmp_ui(mpq_numref(ex), 1) != 0) {
        /* a^(p/q) = (a^(1/q))^p, whose power term_mul reduces into [0, q) */
        mpq_t root;
        mpq_init(root);
        mpq_set_ui(root, 1, 1);
        mpz_set(mpq_denref(root), mpq_denref(ex));
        num_set_atom(z, OP_POW, arg, root);
        long p = mpz_get_si(mpq_numref(ex));
        Num acc;
        num_init(&acc);
        num_set_si(&acc, 1, 1);
        Num base;
        num_init(&base);
        if (p < 0) {
            Num one;
            num_init(&one);
            num_set_si(&one, 1, 1);
            num_div(&base, &one, z); /* a single term: inverts exactly */
            num_clear(&one);
            p = -p;
        } else {
            num_set(&base, z);
        }
        for (long k = 0; k < p; k++)
            num_mul(&acc, &acc, &base);
        num_set(z, &acc);
        num_clear(&acc);
        num_clear(&base);
        mpq_clear(root);
        return;
    }
    Sym *s = sym_new();
    Term t;
    term_init(&t);
    mpq_set_ui(t.c, 1, 1);
    if (op == OP_EXP)
        mpq_set(t.e, arg);
    else {
        t.nf = 1;
        t.f[0].atom = atom_id(op, arg, ex);
        t.f[0].pow = 1;
    }
    sym_add_term(s, &t);
    num_take_sym(z, s);
}

void num_to_ball(arb_t out, const Num *x)
{
    if (x->s)
        sym_ball(out, x->s);
    else if (!x->exact)
        arb_set(out, x->b);
    else
        q_ball(out, x->q, num_prec);
}

bool num_is_zero(const Num *x)
{
    return x->exact && mpq_sgn(x->q) == 0;
}

int num_sign(const Num *x)
{
    if (x->exact)
        return mpq_sgn(x->q);
    arb_t b;
    arb_init(b);
    num_to_ball(b, x);
    int s = arb_is_positive(b) ? 1 : arb_is_negative(b) ? -1 : SIGN_UNKNOWN;
    arb_clear(b);
    return s;
}

typedef void (*arb_op)(arb_t, const arb_t, const arb_t, slong);

static void ball_op(Num *z, const Num *x, const Num *y, arb_op op)
{
    arb_t bx, by;
    arb_init(bx);
    arb_init(by);
    num_to_ball(bx, x);
    num_to_ball(by, y);
    op(z->b, bx, by, num_prec);
    drop_sym(z);
    z->exact = 0;
    arb_clear(bx);
    arb_clear(by);
}

/* Both operands exact or symbolic (not balls): the symbolic sum or product; false when it
 * would outgrow the representation (the caller falls back to balls). */
static bool symbolic(const Num *x)
{
    return x->exact || x->s;
}

static bool sym_of(Sym *out, const Num *x)
{
    if (x->s) {
        for (int i = 0; i < x->s->n; i++) {
            Term t;
            term_init(&t);
            mpq_set(t.c, x->s->t[i].c);
            mpq_set(t.e, x->s->t[i].e);
            t.nf = x->s->t[i].nf;
            memcpy(t.f, x->s->t[i].f, sizeof t.f);
            if (!sym_add_term(out, &t))
                return false;
        }
        return true;
    }
    Term t;
    term_of_rational(&t, x->q);
    return sym_add_term(out, &t);
}

static bool sym_addsub(Num *z, const Num *x, const Num *y, int sign)
{
    Sym *s = sym_new();
    bool ok = sym_of(s, x);
    if (ok && y->s) {
        for (int i = 0; i < y->s->n && ok; i++) {
            Term t;
            term_init(&t);
            mpq_set(t.c, y->s->t[i].c);
            if (sign < 0)
                mpq_neg(t.c, t.c);
            mpq_set(t.e, y->s->t[i].e);
            t.nf = y->s->t[i].nf;
            memcpy(t.f, y->s->t[i].f, sizeof t.f);
            ok = sym_add_term(s, &t);
        }
    } else if (ok) {
        Term t;
        term_of_rational(&t, y->q);
        if (sign < 0)
            mpq_neg(t.c, t.c);
        ok = sym_add_term(s, &t);
    }
    if (!ok) {
        sym_free(s);
        return false;
    }
    num_take_sym(z, s);
    return true;
}

static bool sym_product(Num *z, const Num *x, const Num *y)
{
    Sym *a = sym_new(), *b = sym_new(), *s = sym_new();
    bool ok = sym_of(a, x) && sym_of(b, y);
    for (int i = 0; i < a->n && ok; i++)
        for (int j = 0; j < b->n && ok; j++) {
            Term t;
            ok = term_mul(&t, &a->t[i], &b->t[j]) && sym_add_term(s, &t);
        }
    sym_free(a);
    sym_free(b);
    if (!ok) {
        sym_free(s);
        return false;
    }
    num_take_sym(z, s);
    return true;
}

void num_add(Num *z, const Num *x, const Num *y)
{
    if (x->exact && y->exact) {
        drop_sym(z);
        mpq_add(z->q, x->q, y->q);
        z->exact = 1;
    } else if (num_is_zero(x)) {
        num_set(z, y);
    } else if (num_is_zero(y)) {
        num_set(z, x);
    } else if (!(symbolic(x) && symbolic(y) && sym_addsub(z, x, y, 1))) {
        ball_op(z, x, y, arb_add);
    }
}

void num_sub(Num *z, const Num *x, const Num *y)
{
    if (x->exact && y->exact) {
        drop_sym(z);
        mpq_sub(z->q, x->q, y->q);
        z->exact = 1;
    } else if (num_is_zero(y)) {
        num_set(z, x);
    } else if (!(symbolic(x) && symbolic(y) && sym_addsub(z, x, y, -1))) {
        ball_op(z, x, y, arb_sub);
    }
}

void num_mul(Num *z, const Num *x, const Num *y)
{
    if (num_is_zero(x) || num_is_zero(y)) {
        num_set_si(z, 0, 1);
    } else if (x->exact && y->exact) {
        drop_sym(z);
        mpq_mul(z->q, x->q, y->q);
        z->exact = 1;
    } else if (!(symbolic(x) && symbolic(y) && sym_product(z, x, y))) {
        ball_op(z, x, y, arb_mul);
    }
}

void num_mul_q(Num *z, const Num *x, mpq_srcptr q)
{
    Num t;
    num_init(&t);
    num_set_q(&t, q);
    num_mul(z, x, &t);
    num_clear(&t);
}

bool num_div(Num *z, const Num *x, const Num *y)
{
    int s = num_sign(y);
    if (s == 0 || s == SIGN_UNKNOWN)
        return false;
    if (num_is_zero(x)) {
        num_set_si(z, 0, 1);
    } else if (y->exact) {
        mpq_t inv;
        mpq_init(inv);
        mpq_inv(inv, y->q);
        num_mul_q(z, x, inv);
        mpq_clear(inv);
    } else if (y->s && y->s->n == 1 && symbolic(x)) {
        /* a single term c*exp(e)*prod a^k inverts exactly */
        const Term *t = &y->s->t[0];
        Sym *is = sym_new();
        Term u;
        term_init(&u);
        mpq_inv(u.c, t->c);
        mpq_neg(u.e, t->e);
        u.nf = t->nf;
        for (int k = 0; k < t->nf; k++)
            u.f[k].atom = t->f[k].atom, u.f[k].pow = -t->f[k].pow;
        sym_add_term(is, &u);
        Num inv;
        num_init(&inv);
        num_take_sym(&inv, is);
        num_mul(z, x, &inv);
        num_clear(&inv);
    } else {
        ball_op(z, x, y, arb_div);
    }
    return true;
}

void num_neg(Num *z, const Num *x)
{
    if (x->exact) {
        drop_sym(z);
        mpq_neg(z->q, x->q);
        z->exact = 1;
    } else if (x->s) {
        Num m;
        num_init(&m);
        num_set_si(&m, -1, 1);
        num_mul(z, x, &m);
        num_clear(&m);
    } else {
        drop_sym(z);
        arb_neg(z->b, x->b);
        z->exact = 0;
    }
}

double num_to_double(const Num *x)
{
    if (x->exact)
        return rat_to_double(x->q);
    arb_t b;
    arb_init(b);
    num_to_ball(b, x);
    double d = arf_get_d(arb_midref(b), ARF_RND_NEAR);
    arb_clear(b);
    return d;
}

static void put_q(Buf *b, mpq_srcptr q)
{
    void (*freefunc)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &freefunc);
    char *s = mpq_get_str(NULL, 10, q);
    buf_puts(b, s);
    freefunc(s, strlen(s) + 1);
}

static void put_atom(Buf *b, const Atom *a)
{
    if (a->op == OP_PI) {
        buf_puts(b, "pi");
    } else if (a->op == OP_POW) {
        /* (3/2)^(1/2): a fractional or negative base in parentheses, as .hl reads it */
        bool paren = mpz_cmp_ui(mpq_denref(a->arg), 1) != 0 || mpq_sgn(a->arg) < 0;
        buf_puts(b, paren ? "(" : "");
        put_q(b, a->arg);
        buf_puts(b, paren ? ")^(" : "^(");
        put_q(b, a->ex);
        buf_puts(b, ")");
    } else {
        buf_printf(b, "%s(", atom_name(a->op));
        put_q(b, a->arg);
        buf_puts(b, ")");
    }
}

void num_put(Buf *b, const Num *x)
{
    if (x->exact) {
        put_q(b, x->q);
    } else if (x->s) {
        /* 2*exp(-1) - 1/3*sigmoid(1)^2: the exact value, in the language's own syntax */
        for (int i = 0; i < x->s->n; i++) {
            const Term *t = &x->s->t[i];
            mpq_t c;
            mpq_init(c);
            mpq_abs(c, t->c);
            if (i)
                buf_puts(b, mpq_sgn(t->c) < 0 ? " - " : " + ");
            else if (mpq_sgn(t->c) < 0)
                buf_puts(b, "-");
            /* a coefficient 1 is left out before a factor, never for a rational term */
            bool first = mpq_cmp_ui(c, 1, 1) == 0 && (t->nf > 0 || mpq_sgn(t->e) != 0);
            if (!first)
                put_q(b, c);
            if (mpq_sgn(t->e)) {
                buf_puts(b, first ? "exp(" : "*exp(");
                put_q(b, t->e);
                buf_puts(b, ")");
                first = false;
            }
            for (int k = 0; k < t->nf; k++) {
                if (!first)
                    buf_puts(b, "*");
                /* ^ is right-associative: ((3/2)^(1/2))^3, not (3/2)^(1/2)^3 */
                bool wrap = atoms[t->f[k].atom].op == OP_POW && t->f[k].pow != 1;
                buf_puts(b, wrap ? "(" : "");
                put_atom(b, &atoms[t->f[k].atom]);
                buf_puts(b, wrap ? ")" : "");
                if (t->f[k].pow != 1)
                    buf_printf(b, t->f[k].pow < 0 ? "^(%d)" : "^%d", t->f[k].pow);
                first = false;
            }
            mpq_clear(c);
        }
    } else {
        char *s = arb_get_str(x->b, 12, 0);
        buf_puts(b, s);
        flint_free(s);
    }
}

/* ---- series: monomial tables ---- */

enum { MAX_TRIPLES = 6000000 };

static void enumerate(SerCtx *c, unsigned char *cur, int var, int left, int *m)
{
    if (var == c->d - 1) {
        cur[var] = (unsigned char)left;
        memcpy(c->exps + (size_t)*m * c->d, cur, c->d);
        c->deg[*m] = 0;
        for (int i = 0; i < c->d; i++)
            c->deg[*m] += cur[i];
        (*m)++;
        return;
    }
    for (int v = left; v >= 0; v--) {
        cur[var] = (unsigned char)v;
        enumerate(c, cur, var + 1, left - v, m);
    }
}

static long binom(long n, long k)
{
    if (k < 0 || k > n)
        return 0;
    if (k > n - k)
        k = n - k;
    long r = 1; /* C(n-k+i, i) after step i, exact; LONG_MAX once it would not fit */
    for (long i = 1; i <= k; i++) {
        if (r > LONG_MAX / (n - k + i))
            return LONG_MAX;
        r = r * (n - k + i) / i;
    }
    return r;
}

/* The index of a monomial: the monomials of lower degree, then its rank among those of
 * its degree in the order enumerate() writes them (first exponent descending). */
int serctx_index(const SerCtx *c, const unsigned char *e)
{
    int D = 0;
    for (int i = 0; i < c->d; i++)
        D += e[i];
    if (D > c->K)
        return -1;
    long idx = c->start[D];
    int left = D;
    for (int i = 0; i < c->d - 1; i++) {
        /* compositions of `left` into d-i parts whose first part exceeds e[i]: those of the
         * rest, left-e[i]-1 or less, into r = d-i-1 parts, C(left-e[i]-1 + r, r) by the hockey
         * stick (summing part by part made serctx_init's triples take seconds at d = 10) */
        int r = c->d - i - 1;
        if (left > e[i])
            idx += c->choose[(left - e[i] - 1 + r) * (c->d + 1) + r];
        left -= e[i];
    }
    return (int)idx;
}

bool serctx_init(SerCtx *c, int d, int K)
{
    memset(c, 0, sizeof *c);
    c->d = d;
    c->K = K;
    if (d > SER_MAX_VARS)
        return false;
    long M = binom(d + K, K);
    long pairs = binom(2 * d + K, K); /* ordered pairs of monomials with total degree <= K */
    if (M > 200000 || pairs / 2 + M > MAX_TRIPLES)
        return false;
    c->M = (int)M;
    c->deg = xmalloc(sizeof(int) * (size_t)M);
    c->exps = xcalloc((size_t)M * (d ? d : 1), 1);
    c->start = xmalloc(sizeof(int) * (size_t)(K + 2));
    /* Pascal's triangle; the entries serctx_index reads count monomials, so they are below M,
     * and the others are only kept from overflowing */
    c->choose = xcalloc((size_t)(d + K + 1) * (d + 1), sizeof(long));
    for (int a = 0; a <= d + K; a++)
        for (int k = 0; k <= d && k <= a; k++) {
            long *row = c->choose + (size_t)a * (d + 1);
            row[k] = k == 0 || k == a ? 1 : row[k - 1 - (d + 1)] + row[k - (d + 1)];
            if (row[k] > LONG_MAX / 4)
                row[k] = LONG_MAX / 4;
        }
    if (d == 0) {
        c->deg[0] = 0;
        c->start[0] = 0;
        for (int k = 1; k <= K + 1; k++)
            c->start[k] = 1;
    } else {
        unsigned char cur[64];
        int m = 0;
        for (int D = 0; D <= K; D++) {
            c->start[D] = m;
            enumerate(c, cur, 0, D, &m);
        }
        c->start[K + 1] = m;
    }
    size_t cap = 1024, n = 0;
    c->trip = xmalloc(sizeof(int) * 3 * cap);
    unsigned char sum[64];
    for (int i = 0; i < c->M; i++)
        for (int j = i; j < c->start[K - c->deg[i] + 1]; j++) {
            for (int v = 0; v < d; v++)
                sum[v] = (unsigned char)(c->exps[(size_t)i * d + v] + c->exps[(size_t)j * d + v]);
            if (n == cap) {
                cap *= 2;
                c->trip = xrealloc(c->trip, sizeof(int) * 3 * cap);
            }
            c->trip[3 * n] = i;
            c->trip[3 * n + 1] = j;
            c->trip[3 * n + 2] = d ? serctx_index(c, sum) : 0;
            n++;
        }
    c->ntrip = n;
    c->work = xcalloc(1, sizeof *c->work);
    return true;
}

void serctx_free(SerCtx *c)
{
    if (c->work && getenv("HESSGEN_STATS"))
        fprintf(stderr, "hessgen: series in %d variables to order %d: %zu steps\n", c->d, c->K, *c->work);
    free(c->work);
    free(c->choose);
    free(c->deg);
    free(c->exps);
    free(c->start);
    free(c->trip);
    memset(c, 0, sizeof *c);
}

size_t series_work_limit = 40000000;

/* A step is one operation on rationals: an operation on whole series counts its length, a
 * product the products it made (and a little for its scan of the table). */
static void count_steps(const SerCtx *c, size_t n)
{
    if (c->work)
        *c->work += n;
}

Ser ser_new(const SerCtx *c)
{
    count_steps(c, (size_t)c->M);
    Ser s = xmalloc(sizeof(Num) * (size_t)c->M);
    for (int i = 0; i < c->M; i++)
        num_init(&s[i]);
    return s;
}

void ser_free(const SerCtx *c, Ser s)
{
    if (!s)
        return;
    for (int i = 0; i < c->M; i++)
        num_clear(&s[i]);
    free(s);
}

void ser_zero(const SerCtx *c, Ser s)
{
    count_steps(c, (size_t)c->M);
    for (int i = 0; i < c->M; i++)
        num_set_si(&s[i], 0, 1);
}

void ser_set(const SerCtx *c, Ser z, const Ser x)
{
    count_steps(c, (size_t)c->M);
    for (int i = 0; i < c->M; i++)
        num_set(&z[i], &x[i]);
}

void ser_add(const SerCtx *c, Ser z, const Ser x, const Ser y)
{
    count_steps(c, (size_t)c->M);
    for (int i = 0; i < c->M; i++)
        num_add(&z[i], &x[i], &y[i]);
}

void ser_sub(const SerCtx *c, Ser z, const Ser x, const Ser y)
{
    count_steps(c, (size_t)c->M);
    for (int i = 0; i < c->M; i++)
        num_sub(&z[i], &x[i], &y[i]);
}

void ser_scale(const SerCtx *c, Ser z, const Ser x, const Num *k)
{
    count_steps(c, (size_t)c->M);
    for (int i = 0; i < c->M; i++)
        num_mul(&z[i], &x[i], k);
}

bool ser_is_zero(const SerCtx *c, const Ser x)
{
    for (int i = 0; i < c->M; i++)
        if (!num_is_zero(&x[i]))
            return false;
    return true;
}

void ser_mul(const SerCtx *c, Ser z, const Ser x, const Ser y)
{
    ser_zero(c, z);
    Num t;
    num_init(&t);
    size_t products = 0;
    for (size_t n = 0; n < c->ntrip; n++) {
        int i = c->trip[3 * n], j = c->trip[3 * n + 1], k = c->trip[3 * n + 2];
        if (!num_is_zero(&x[i]) && !num_is_zero(&y[j])) {
            num_mul(&t, &x[i], &y[j]);
            num_add(&z[k], &z[k], &t);
            products++;
        }
        if (i != j && !num_is_zero(&x[j]) && !num_is_zero(&y[i])) {
            num_mul(&t, &x[j], &y[i]);
            num_add(&z[k], &z[k], &t);
            products++;
        }
    }
    num_clear(&t);
    count_steps(c, products + c->ntrip / 16); /* the scan of the table costs little beside them */
}

/* ---- univariate series of the elementary functions at a0 (coefficients c[0..K]) ---- */

typedef struct {
    int K;
    Num *c;
} Uni;

static Uni uni_new(int K)
{
    Uni u = {K, xmalloc(sizeof(Num) * (size_t)(K + 1))};
    for (int i = 0; i <= K; i++)
        num_init(&u.c[i]);
    return u;
}

static void uni_free(Uni *u)
{
    for (int i = 0; i <= u->K; i++)
        num_clear(&u->c[i]);
    free(u->c);
}

static void uni_mul(Uni *z, const Uni *x, const Uni *y)
{
    Uni r = uni_new(z->K);
    Num t;
    num_init(&t);
    for (int i = 0; i <= z->K; i++)
        for (int j = 0; i + j <= z->K; j++) {
            num_mul(&t, &x->c[i], &y->c[j]);
            num_add(&r.c[i + j], &r.c[i + j], &t);
        }
    for (int i = 0; i <= z->K; i++)
        num_set(&z->c[i], &r.c[i]);
    num_clear(&t);
    uni_free(&r);
}

/* z = x / y by the recurrence z_k = (x_k - sum_{j<k} z_j y_{k-j}) / y_0 */
static bool uni_div(Uni *z, const Uni *x, const Uni *y)
{
    Uni r = uni_new(z->K);
    Num t;
    num_init(&t);
    bool ok = true;
    for (int k = 0; k <= z->K && ok; k++) {
        num_set(&r.c[k], &x->c[k]);
        for (int j = 0; j < k; j++) {
            num_mul(&t, &r.c[j], &y->c[k - j]);
            num_sub(&r.c[k], &r.c[k], &t);
        }
        ok = num_div(&r.c[k], &r.c[k], &y->c[0]);
    }
    for (int i = 0; i <= z->K && ok; i++)
        num_set(&z->c[i], &r.c[i]);
    num_clear(&t);
    uni_free(&r);
    return ok;
}

/* z = c0 + integral of x */
static void uni_integrate(Uni *z, const Uni *x, const Num *c0)
{
    for (int k = z->K; k >= 1; k--) {
        mpq_t q;
        mpq_init(q);
        mpq_set_ui(q, 1, (unsigned long)k);
        num_mul_q(&z->c[k], &x->c[k - 1], q);
        mpq_clear(q);
    }
    num_set(&z->c[0], c0);
}

/* exp(t), sin(t), cos(t), sinh(t), cosh(t) at 0: rational coefficients */
static void uni_elementary(Uni *z, char which)
{
    mpq_t f;
    mpq_init(f);
    mpq_set_ui(f, 1, 1);
    for (int k = 0; k <= z->K; k++) {
        if (k > 0)
            mpz_mul_ui(mpq_denref(f), mpq_denref(f), (unsigned long)k);
        int s = 0;
        switch (which) {
        case 'e':
            s = 1;
            break;
        case 's':
            s = k % 2 ? (k % 4 == 1 ? 1 : -1) : 0;
            break;
        case 'c':
            s = k % 2 ? 0 : (k % 4 == 0 ? 1 : -1);
            break;
        case 'S':
            s = k % 2;
            break;
        case 'C':
            s = 1 - k % 2;
            break;
        }
        num_set_q(&z->c[k], f);
        if (s == 0)
            num_set_si(&z->c[k], 0, 1);
        else if (s < 0)
            num_neg(&z->c[k], &z->c[k]);
    }
    mpq_clear(f);
}

typedef void (*arb_fn)(arb_t, const arb_t, slong);

/* f(a0): exactly `value` when a0 is exactly `at` (exp(0) = 1, log(1) = 0); for another
 * rational a0 the exact symbol f(a0); for an a0 that is itself irrational, a ball. */
static void special(Num *z, const Num *a0, Op op, long at, long value)
{
    if (a0->exact && mpz_cmp_si(mpq_numref(a0->q), at) == 0 && mpz_cmp_ui(mpq_denref(a0->q), 1) == 0) {
        num_set_si(z, value, 1);
        return;
    }
    if (a0->exact) {
        mpq_t none;
        mpq_init(none);
        num_set_atom(z, op, a0->q, none);
        mpq_clear(none);
        return;
    }
    arb_fn f = unary_ball[op];
    if (!f) /* special() is called for functions with a ball (ops.h) only */
        fatal("internal error: no Arb ball for %s", atom_name(op));
    arb_t x;
    arb_init(x);
    num_to_ball(x, a0);
    f(x, x, num_prec);
    num_set_ball(z, x);
    arb_clear(x);
}

static void num_exp(Num *z, const Num *a)
{
    special(z, a, OP_EXP, 0, 1);
}

/* y' = c0 + c1*y + c2*y^2 with y(0) = y0, as a series: the Riccati equations of tan (1 + y^2),
 * tanh (1 - y^2) and sigmoid (y - y^2). Only sums and products, so y0 may stay symbolic. */
static void uni_riccati(Uni *z, const Num *y0, long c0, long c1, long c2)
{
    Num acc, t;
    num_init(&acc);
    num_init(&t);
    num_set(&z->c[0], y0);
    for (int k = 0; k < z->K; k++) {
        /* (y')_k = c0*[k == 0] + c1*y_k + c2*sum_{i+j=k} y_i y_j; y_{k+1} = (y')_k / (k+1) */
        num_set_si(&acc, k == 0 ? c0 : 0, 1);
        num_set_si(&t, c1, 1);
        num_mul(&t, &t, &z->c[k]);
        num_add(&acc, &acc, &t);
        for (int i = 0; i <= k; i++) {
            if (c2 == 0)
                break;
            num_set_si(&t, c2, 1);
            num_mul(&t, &t, &z->c[i]);
            num_mul(&t, &t, &z->c[k - i]);
            num_add(&acc, &acc, &t);
        }
        num_set_si(&t, 1, (unsigned long)(k + 1));
        num_mul(&z->c[k + 1], &acc, &t);
    }
    num_clear(&acc);
    num_clear(&t);
}

/* (a0 + t)^e for a rational or ball exponent e, a0 > 0 (or e a non-negative integer) */
static bool uni_pow(Uni *z, const Num *a0, const Num *e)
{
    int s = num_sign(a0);
    if (s != 1)
        return false;
    /* a0^e: exact when a0 is an exact power, as 9/4 ^ (1/2) */
    Num p;
    num_init(&p);
    bool exact = false;
    if (a0->exact && e->exact && mpz_fits_ulong_p(mpq_denref(e->q)) && mpz_fits_slong_p(mpq_numref(e->q)) &&
        mpz_cmpabs_ui(mpq_numref(e->q), 4096) < 0) {
        unsigned long root = mpz_get_ui(mpq_denref(e->q));
        mpz_t rn, rd;
        mpz_inits(rn, rd, NULL);
        if (mpz_root(rn, mpq_numref(a0->q), root) && mpz_root(rd, mpq_denref(a0->q), root)) {
            mpq_t r;
            mpq_init(r);
            mpq_set_num(r, rn);
            mpq_set_den(r, rd);
            long k = mpz_get_si(mpq_numref(e->q));
            if (k < 0) {
                mpq_inv(r, r);
                k = -k;
            }
            mpz_pow_ui(mpq_numref(r), mpq_numref(r), (unsigned long)k);
            mpz_pow_ui(mpq_denref(r), mpq_denref(r), (unsigned long)k);
            num_set_q(&p, r);
            mpq_clear(r);
            exact = true;
        }
        mpz_clears(rn, rd, NULL);
    }
    if (!exact && a0->exact && e->exact) {
        num_set_atom(&p, OP_POW, a0->q, e->q); /* 2^(1/2), exactly */
    } else if (!exact) {
        arb_t x, y;
        arb_init(x);
        arb_init(y);
        num_to_ball(x, a0);
        num_to_ball(y, e);
        arb_pow(x, x, y, num_prec);
        num_set_ball(&p, x);
        arb_clear(x);
        arb_clear(y);
    }
    /* c_k = a0^e * binom(e, k) / a0^k */
    Num b, t, kk;
    num_init(&b);
    num_init(&t);
    num_init(&kk);
    num_set_si(&b, 1, 1);
    for (int k = 0; k <= z->K; k++) {
        if (k > 0) {
            num_set_si(&kk, k - 1, 1);
            num_sub(&t, e, &kk); /* e - (k-1) */
            num_mul(&b, &b, &t);
            num_set_si(&kk, 1, (unsigned long)k);
            num_mul(&b, &b, &kk);
            num_div(&b, &b, a0);
        }
        num_mul(&z->c[k], &p, &b);
    }
    num_clear(&b);
    num_clear(&t);
    num_clear(&kk);
    num_clear(&p);
    return true;
}

/* Why a function's series could not be written: the reason, and whether it proves the function
 * undefined or not smooth at the point (else the evaluator only could not tell). */
typedef struct {
    const char *text;
    bool proven;
} Why;

static bool uni_unary(Op op, const Num *a0, Uni *z, Why *why);

/* ---- the rules of the functions of ops.h that are not built into uni_unary ----
 * A row of ops.h names its Arb ball and, unless uni_unary has a case for it, its Taylor rule:
 * bool rule(const Num *a0, Uni *z, Why *why) writes the coefficients of f(a0 + t)
 * into z->c[0..z->K], or returns false with the reason (docs/adding-a-function.md). */

/* sigmoid and softplus in interval arithmetic: 1 / (1 + exp(-x)) and log(1 + exp(x)) */
static void ball_sigmoid(arb_t z, const arb_t x, slong p)
{
    arb_neg(z, x);
    arb_exp(z, z, p);
    arb_add_ui(z, z, 1, p);
    arb_inv(z, z, p);
}

static void ball_softplus(arb_t z, const arb_t x, slong p)
{
    arb_exp(z, x, p);
    arb_log1p(z, z, p);
}

/* (the rules of functions added to ops.h go here) */

static const arb_fn unary_ball[OP__COUNT] = {
#define NO_BALL NULL
#define X(e, src, c, helper, d, at0, range, ld, ball, ...) [OP_##e] = ball,
    UNARY_OPS(X)
#undef X
#undef NO_BALL
};

typedef bool (*taylor_rule)(const Num *a0, Uni *z, Why *why);
static const taylor_rule unary_taylor[OP__COUNT] = {
#define BUILT_IN NULL
#define X(e, src, c, helper, d, at0, range, ld, ball, taylor) [OP_##e] = taylor,
    UNARY_OPS(X)
#undef X
#undef BUILT_IN
};

/* The coefficients of op(a0 + t); false with a reason when op is not smooth or not defined
 * at a0, or a sign that decides it is not certain. */
static bool uni_unary(Op op, const Num *a0, Uni *z, Why *why)
{
    if (unary_taylor[op])
        return unary_taylor[op](a0, z, why);
    int K = z->K;
    Num E, t;
    num_init(&E);
    num_init(&t);
    Uni u = uni_new(K), v = uni_new(K), w = uni_new(K);
    bool ok = true;
    int s = num_sign(a0);
    switch (op) {
    case OP_EXP:
    case OP_EXPM1:
        num_exp(&E, a0);
        uni_elementary(&u, 'e');
        for (int k = 0; k <= K; k++)
            num_mul(&z->c[k], &u.c[k], &E);
        if (op == OP_EXPM1) {
            num_set_si(&t, 1, 1);
            num_sub(&z->c[0], &z->c[0], &t);
        }
        break;
    case OP_LOG:
    case OP_LOG1P: {
        Num x;
        num_init(&x);
        num_set(&x, a0);
        if (op == OP_LOG1P) {
            num_set_si(&t, 1, 1);
            num_add(&x, &x, &t);
        }
        int sx = num_sign(&x);
        if (sx != 1) {
            ok = false;
            why->proven = sx != SIGN_UNKNOWN;
            why->text = sx == SIGN_UNKNOWN ? "the sign of the logarithm's argument cannot be certified"
                                           : "the logarithm's argument is not positive";
        } else {
            special(&z->c[0], &x, OP_LOG, 1, 0);
            /* c_k = (-1)^(k+1) / (k x^k) */
            Num p;
            num_init(&p);
            num_set_si(&p, 1, 1);
            for (int k = 1; k <= K; k++) {
                num_div(&p, &p, &x);
                num_set_si(&t, k % 2 ? 1 : -1, (unsigned long)k);
                num_mul(&z->c[k], &p, &t);
            }
            num_clear(&p);
        }
        num_clear(&x);
        break;
    }
    case OP_SIN:
    case OP_COS: {
        Num S, C;
        num_init(&S);
        num_init(&C);
        special(&S, a0, OP_SIN, 0, 0);
        special(&C, a0, OP_COS, 0, 1);
        uni_elementary(&u, 's');
        uni_elementary(&v, 'c');
        for (int k = 0; k <= K; k++) {
            /* sin(a0+t) = S cos t + C sin t; cos(a0+t) = C cos t - S sin t */
            if (op == OP_SIN) {
                num_mul(&z->c[k], &S, &v.c[k]);
                num_mul(&t, &C, &u.c[k]);
                num_add(&z->c[k], &z->c[k], &t);
            } else {
                num_mul(&z->c[k], &C, &v.c[k]);
                num_mul(&t, &S, &u.c[k]);
                num_sub(&z->c[k], &z->c[k], &t);
            }
        }
        num_clear(&S);
        num_clear(&C);
        break;
    }
    case OP_TAN:
    case OP_TANH:
    case OP_SECH2: {
        /* tan' = 1 + tan^2, tanh' = 1 - tanh^2; sech^2 = 1 - tanh^2 */
        bool hyper = op != OP_TAN;
        Num T0;
        num_init(&T0);
        special(&T0, a0, hyper ? OP_TANH : OP_TAN, 0, 0);
        if (op == OP_TAN && num_sign(&T0) == SIGN_UNKNOWN && !num_is_symbolic(&T0)) {
            ok = false;
            why->text = "tan's value there cannot be certified";
        } else {
            uni_riccati(z, &T0, 1, 0, hyper ? -1 : 1);
            if (op == OP_SECH2) {
                uni_mul(&w, z, z);
                for (int k = 0; k <= K; k++)
                    num_neg(&z->c[k], &w.c[k]);
                num_set_si(&t, 1, 1);
                num_add(&z->c[0], &z->c[0], &t);
            }
        }
        num_clear(&T0);
        break;
    }
    case OP_ATAN: {
        /* atan(a0 + t) = atan(a0) + integral of 1 / (1 + (a0 + t)^2) */
        for (int k = 0; k <= K; k++)
            num_set_si(&u.c[k], 0, 1);
        num_set_si(&t, 1, 1);
        num_mul(&u.c[0], a0, a0);
        num_add(&u.c[0], &u.c[0], &t);
        if (K >= 1)
            num_add(&u.c[1], a0, a0);
        if (K >= 2)
            num_set_si(&u.c[2], 1, 1);
        for (int k = 0; k <= K; k++)
            num_set_si(&v.c[k], k == 0, 1);
        uni_div(&w, &v, &u); /* 1 + a0^2 > 0 */
        special(&E, a0, OP_ATAN, 0, 0);
        uni_integrate(z, &w, &E);
        break;
    }
    case OP_SINH:
    case OP_COSH: {
        Num Einv, m;
        num_init(&Einv);
        num_init(&m);
        num_exp(&E, a0);
        num_neg(&m, a0);
        num_exp(&Einv, &m);
        uni_elementary(&u, 'e');
        for (int k = 0; k <= K; k++) {
            /* (e^a0 e^t -+ e^-a0 e^-t) / 2 */
            bool minus = (op == OP_SINH) ^ (k % 2 == 1);
            if (minus)
                num_sub(&t, &E, &Einv);
            else
                num_add(&t, &E, &Einv);
            num_mul(&z->c[k], &t, &u.c[k]);
            num_set_si(&t, 1, 2);
            num_mul(&z->c[k], &z->c[k], &t);
        }
        num_clear(&Einv);
        num_clear(&m);
        break;
    }
    case OP_SIGMOID:
    case OP_SOFTPLUS: {
        /* sigmoid' = sigmoid - sigmoid^2 from sigmoid(a0) (1/2 at 0); softplus = softplus(a0) +
         * the integral of sigmoid. softplus(a0) is never rational: log(1 + e^a0). */
        Num S0, m;
        num_init(&S0);
        num_init(&m);
        if (num_is_zero(a0)) {
            num_set_si(&S0, 1, 2);
        } else if (a0->exact) {
            mpq_t none;
            mpq_init(none);
            num_set_atom(&S0, OP_SIGMOID, a0->q, none);
            mpq_clear(none);
        } else {
            arb_t x;
            arb_init(x);
            num_to_ball(x, a0);
            arb_neg(x, x);
            arb_exp(x, x, num_prec);
            arb_add_ui(x, x, 1, num_prec);
            arb_inv(x, x, num_prec);
            num_set_ball(&S0, x);
            arb_clear(x);
        }
        Uni sg = uni_new(K);
        uni_riccati(&sg, &S0, 0, 1, -1);
        if (op == OP_SIGMOID) {
            for (int k = 0; k <= K; k++)
                num_set(&z->c[k], &sg.c[k]);
        } else {
            if (a0->exact) {
                mpq_t none;
                mpq_init(none);
                num_set_atom(&m, OP_SOFTPLUS, a0->q, none);
                mpq_clear(none);
            } else {
                arb_t x;
                arb_init(x);
                num_to_ball(x, a0);
                arb_exp(x, x, num_prec);
                arb_log1p(x, x, num_prec);
                num_set_ball(&m, x);
                arb_clear(x);
            }
            uni_integrate(z, &sg, &m);
        }
        uni_free(&sg);
        num_clear(&S0);
        num_clear(&m);
        break;
    }
    case OP_ABS:
    case OP_RELU:
    case OP_SIGN:
    case OP_STEP:
        if (s == SIGN_UNKNOWN) {
            ok = false;
            why->text = "the sign of the argument at its kink cannot be certified";
            break;
        }
        if (s == 0 && (K > 0 || op == OP_SIGN || op == OP_STEP)) {
            ok = false;
            why->text = "it is not differentiable at its kink, 0", why->proven = true;
            break;
        }
        for (int k = 0; k <= K; k++)
            num_set_si(&z->c[k], 0, 1);
        if (op == OP_ABS) {
            if (s >= 0)
                num_set(&z->c[0], a0);
            else
                num_neg(&z->c[0], a0);
            if (K >= 1)
                num_set_si(&z->c[1], s, 1);
        } else if (op == OP_RELU) {
            if (s > 0) {
                num_set(&z->c[0], a0);
                if (K >= 1)
                    num_set_si(&z->c[1], 1, 1);
            }
        } else if (op == OP_SIGN) {
            num_set_si(&z->c[0], s, 1);
        } else {
            num_set_si(&z->c[0], s > 0, 1);
        }
        break;
    case OP_NONZERO: /* a, or 1 at a = 0, where it does not continue smoothly */
        if (s == SIGN_UNKNOWN || (s == 0 && K > 0)) {
            ok = false;
            why->text = s ? "the sign of the argument cannot be certified" : "it is not continuous at 0";
            why->proven = !s;
            break;
        }
        for (int k = 0; k <= K; k++)
            num_set_si(&z->c[k], k == 1, 1);
        if (s)
            num_set(&z->c[0], a0);
        else
            num_set_si(&z->c[0], 1, 1);
        break;
    default:
        ok = false;
        why->text = "the exact evaluator has no Taylor series for this function (series.c, uni_unary)";
    }
    num_clear(&E);
    num_clear(&t);
    uni_free(&u);
    uni_free(&v);
    uni_free(&w);
    return ok;
}

/* ---- the graph on series ---- */

void sereval_init(SerEval *e, const SerCtx *c, Ser *theta, uint32_t nparam)
{
    memset(e, 0, sizeof *e);
    e->ctx = c;
    e->theta = theta;
    e->nparam = nparam;
    e->memo_cap = dag_node_count();
    e->memo = xcalloc(e->memo_cap, sizeof(Ser));
}

void sereval_free(SerEval *e)
{
    for (uint32_t i = 0; i < e->memo_cap; i++)
        ser_free(e->ctx, e->memo[i]);
    free(e->memo);
    memset(e, 0, sizeof *e);
}

/* z = sum_k c_k (x - x0)^k by Horner's rule */
static void compose(const SerCtx *c, Ser z, const Uni *u, const Ser x)
{
    Ser xt = ser_new(c), tmp = ser_new(c);
    ser_set(c, xt, x);
    num_set_si(&xt[0], 0, 1);
    ser_zero(c, z);
    num_set(&z[0], &u->c[u->K]);
    for (int k = u->K - 1; k >= 0; k--) {
        ser_mul(c, tmp, z, xt);
        ser_set(c, z, tmp);
        num_add(&z[0], &z[0], &u->c[k]);
    }
    ser_free(c, xt);
    ser_free(c, tmp);
}

/* The first failure: where, why, and whether the reason proves the loss undefined or not
 * smooth there (a sign that cannot be certified, or a limit, proves nothing). */
static bool fail_as(SerEval *e, Node n, const char *why, bool proven)
{
    if (!e->fail_node) {
        e->fail_node = n;
        e->fail_why = why;
        e->fail_proven = proven;
    }
    return false;
}

static bool fail(SerEval *e, Node n, const char *why)
{
    return fail_as(e, n, why, false);
}

/* x^k for an integer k (negative: the series' inverse first) */
static bool too_big(const SerCtx *c, const Ser z);

static bool ser_powi(SerEval *e, Node n, Ser z, const Ser x, long k)
{
    const SerCtx *c = e->ctx;
    Ser base = ser_new(c), acc = ser_new(c), tmp = ser_new(c);
    bool ok = true;
    if (k < 0) {
        Uni u = uni_new(c->K);
        Num m1;
        num_init(&m1);
        num_set_si(&m1, -1, 1);
        ok = uni_pow(&u, &x[0], &m1);
        if (!ok && num_sign(&x[0]) == -1) {
            /* 1/x for x0 < 0: -(1/(-x)) */
            Num nx;
            num_init(&nx);
            num_neg(&nx, &x[0]);
            ok = uni_pow(&u, &nx, &m1);
            for (int i = 1; i <= c->K; i += 2)
                num_neg(&u.c[i], &u.c[i]); /* (x0 + t)^-1 = -(-x0 - t)^-1 */
            for (int i = 0; i <= c->K; i++)
                num_neg(&u.c[i], &u.c[i]);
            num_clear(&nx);
        }
        if (ok)
            compose(c, base, &u, x);
        else
            fail_as(e, n, num_sign(&x[0]) == 0 ? "a division by zero" : "the sign of a divisor cannot be certified",
                    num_sign(&x[0]) == 0);
        num_clear(&m1);
        uni_free(&u);
        k = -k;
    } else {
        ser_set(c, base, x);
    }
    if (ok) {
        ser_zero(c, acc);
        num_set_si(&acc[0], 1, 1);
        while (k > 0) {
            if (k & 1) {
                ser_mul(c, tmp, acc, base);
                ser_set(c, acc, tmp);
            }
            k >>= 1;
            if (k) {
                ser_mul(c, tmp, base, base);
                ser_set(c, base, tmp);
            }
            /* a power like 3^1000000000 is checked as it grows, not after it is made */
            if (too_big(c, acc) || (k && too_big(c, base))) {
                e->fail_limit = !e->fail_node;
                ok = false;
                fail(e, n,
                     "the exact value of this power grew past 60000 digits (the exponent is too large to "
                     "evaluate exactly)");
                break;
            }
        }
        if (ok)
            ser_set(c, z, acc);
    }
    ser_free(c, base);
    ser_free(c, acc);
    ser_free(c, tmp);
    return ok;
}

static bool eval_node(SerEval *e, Node n, Ser z);

/* Exact arithmetic can grow without bound (a high order, a point like 1e-4000); past this
 * size the classifier stops with a reason rather than run for hours. */
enum { MAX_RATIONAL_BITS = 200000 }; /* about 60000 digits */

static bool too_big(const SerCtx *c, const Ser z)
{
    for (int i = 0; i < c->M; i++)
        if (z[i].exact && (mpz_sizeinbase(mpq_numref(z[i].q), 2) > MAX_RATIONAL_BITS ||
                           mpz_sizeinbase(mpq_denref(z[i].q), 2) > MAX_RATIONAL_BITS))
            return true;
    return false;
}

static const Num *get(SerEval *e, Node n)
{
    /* checked before the memo too: the caller's own work between evaluations (the chord
     * iteration's sums over the gradient) counts as well */
    if (e->ctx->work && *e->ctx->work > series_work_limit) {
        e->fail_limit = !e->fail_node;
        snprintf(e->limit_why, sizeof e->limit_why,
                 "the power series took more than %zu million steps (a lower "
                 "--order, or a null space of fewer directions, keeps them smaller)",
                 series_work_limit / 1000000);
        fail(e, n, e->limit_why);
        return NULL;
    }
    if (n < e->memo_cap && e->memo[n])
        return e->memo[n];
    if (n >= e->memo_cap) {
        uint32_t cap = dag_node_count();
        e->memo = xrealloc(e->memo, sizeof(Ser) * cap);
        memset(e->memo + e->memo_cap, 0, sizeof(Ser) * (cap - e->memo_cap));
        e->memo_cap = cap;
    }
    Ser z = ser_new(e->ctx);
    if (!eval_node(e, n, z) ||
        (too_big(e->ctx, z) && (e->fail_limit = !e->fail_node) &&
         !fail(e, n,
               "the exact rationals grew past 60000 digits (a lower --order, or a point with shorter "
               "coordinates, keeps them smaller)"))) {
        ser_free(e->ctx, z);
        return NULL;
    }
    e->memo[n] = z;
    return z;
}

const Num *sereval(SerEval *e, Node n)
{
    return get(e, n);
}

static bool eval_node(SerEval *e, Node n, Ser z)
{
    const SerCtx *c = e->ctx;
    const Node *a = dag_args(n);
    uint32_t na = dag_nargs(n);
    ser_zero(c, z);
    switch (dag_op(n)) {
    case OP_CONST:
        num_set_q(&z[0], dag_rat(n));
        return true;
    case OP_PI: {
        mpq_t none;
        mpq_init(none);
        num_set_atom(&z[0], OP_PI, none, none);
        mpq_clear(none);
        return true;
    }
    case OP_PARAM:
        if (dag_rec(n)->aux >= e->nparam)
            return fail(e, n, "internal error: a coordinate out of range");
        ser_set(c, z, e->theta[dag_rec(n)->aux]);
        return true;
    case OP_ADD:
        for (uint32_t i = 0; i < na; i++) {
            const Num *x = get(e, a[i]);
            if (!x)
                return false;
            ser_add(c, z, z, (Ser)x);
        }
        return true;
    case OP_MUL: {
        num_set_si(&z[0], 1, 1);
        Ser tmp = ser_new(c);
        for (uint32_t i = 0; i < na; i++) {
            const Num *x = get(e, a[i]);
            if (!x) {
                ser_free(c, tmp);
                return false;
            }
            ser_mul(c, tmp, z, (Ser)x);
            ser_set(c, z, tmp);
        }
        ser_free(c, tmp);
        return true;
    }
    case OP_POW: {
        const Num *x = get(e, a[0]);
        if (!x)
            return false;
        long k;
        if (dag_is_int_const(a[1], &k))
            return ser_powi(e, n, z, (Ser)x, k);
        const Num *ex = get(e, a[1]);
        if (!ex)
            return false;
        if (ser_is_zero(c, (Ser)x) && num_sign(&ex[0]) == 1)
            return true; /* 0^e = 0 for e > 0, as sqrt(0) */
        Uni u = uni_new(c->K);
        bool ok = uni_pow(&u, &x[0], &ex[0]);
        if (ok)
            compose(c, z, &u, (Ser)x);
        else
            fail_as(e, n,
                    num_sign(&x[0]) == 0  ? "a fractional power is not differentiable at 0"
                    : num_sign(&x[0]) < 0 ? "a fractional power of a negative value is not defined"
                                          : "the sign of a power's base cannot be certified",
                    num_sign(&x[0]) != SIGN_UNKNOWN);
        uni_free(&u);
        return ok;
    }
    default:
        break;
    }
    if (!OP_IS_UNARY(dag_op(n)))
        return fail(e, n, "internal error: a node the exact evaluator does not know");
    const Num *x = get(e, a[0]);
    if (!x)
        return false;
    Uni u = uni_new(c->K);
    Why why = {NULL, false};
    bool ok = uni_unary(dag_op(n), &x[0], &u, &why);
    if (ok)
        compose(c, z, &u, (Ser)x);
    else
        fail_as(e, n, why.text, why.proven);
    uni_free(&u);
    return ok;
}
