/* internal.h: the exact classifier's numbers and series, shared by the files of src/exact/
 * only (exact.h is what the rest of the compiler sees, and it does not see Arb).
 *
 * A Num is an exact rational, or, where a value is irrational (exp(1), log(2), pi), a
 * certified Arb ball that contains it. Arithmetic stays exact while both operands are
 * exact; 0 times anything is an exact 0. Signs are decided exactly for rationals and only
 * when the ball excludes 0 for balls, so every decision is a proof.
 *
 * A Ser is a power series in d variables truncated after total degree K: one Num per
 * monomial, monomials in graded order (degree 0, then 1, ...). The graph (dag.c) is
 * evaluated on series to get Taylor expansions at a point along a parametrized set.
 */
#ifndef HESSGEN_EXACT_INTERNAL_H
#define HESSGEN_EXACT_INTERNAL_H

#include <arb.h>

#include "exact.h"
#include "hessgen.h"

typedef struct Sym Sym;

/* exact: a rational q. Otherwise s, when set, is an exact symbolic value: a sum of rational
 * multiples of exp(r) times powers of atoms (sin(1/2), log(3), sigmoid(1), pi, 2^(1/2)), so
 * that 4*exp(-1) - 4*exp(-1) is exactly 0; else b is a certified ball. */
typedef struct {
    int exact;
    mpq_t q;
    arb_t b;
    Sym *s;
} Num;

enum { SIGN_UNKNOWN = 2 };

extern slong num_prec; /* working precision of the balls, in bits */

void num_init(Num *x);
void num_clear(Num *x);
void num_set(Num *z, const Num *x);
void num_set_q(Num *z, mpq_srcptr q);
void num_set_si(Num *z, long n, unsigned long d);
void num_set_ball(Num *z, const arb_t b);
void num_add(Num *z, const Num *x, const Num *y);
void num_sub(Num *z, const Num *x, const Num *y);
void num_mul(Num *z, const Num *x, const Num *y);
void num_mul_q(Num *z, const Num *x, mpq_srcptr q);
bool num_div(Num *z, const Num *x, const Num *y); /* false when y may be 0 */
void num_neg(Num *z, const Num *x);
bool num_is_zero(const Num *x); /* exactly 0 */
int num_sign(const Num *x);     /* -1, 0, 1, or SIGN_UNKNOWN */
void num_to_ball(arb_t out, const Num *x);
double num_to_double(const Num *x);
void num_put(Buf *b, const Num *x); /* "-3/4", "2*exp(-1)", or a ball "[2.718281828 +/- 1e-40]" */
bool num_is_symbolic(const Num *x);
void sym_release(void); /* frees the table of atoms, at exit */

/* ---- truncated multivariate power series ---- */

enum { SER_MAX_VARS = 32 }; /* the most variables a series may have (serctx_init refuses more) */

typedef struct {
    int d, K, M;         /* variables, order, monomials */
    int *deg;            /* degree of each monomial */
    unsigned char *exps; /* M rows of d exponents */
    int *start;          /* start[k]: first monomial of degree k; start[K+1] = M */
    int *trip;           /* product table: (i, j, k) with monomial i * monomial j = k, i <= j */
    size_t ntrip;
    long *choose; /* choose[n * (d + 1) + k] = C(n, k) for n <= d + K, k <= d */
    size_t *work; /* steps taken so far: operations on rationals (the evaluator
                               stops past series_work_limit) */
} SerCtx;

typedef Num *Ser;

/* false when the table would be too large (the caller reports it) */
bool serctx_init(SerCtx *c, int d, int K);
void serctx_free(SerCtx *c);
int serctx_index(const SerCtx *c, const unsigned char *exps);

Ser ser_new(const SerCtx *c);
void ser_free(const SerCtx *c, Ser s);
void ser_zero(const SerCtx *c, Ser s);
void ser_set(const SerCtx *c, Ser z, const Ser x);
void ser_add(const SerCtx *c, Ser z, const Ser x, const Ser y);
void ser_sub(const SerCtx *c, Ser z, const Ser x, const Ser y);
void ser_scale(const SerCtx *c, Ser z, const Ser x, const Num *k);
void ser_mul(const SerCtx *c, Ser z, const Ser x, const Ser y); /* z may not alias x or y */
bool ser_is_zero(const SerCtx *c, const Ser x);

/* ---- the graph evaluated on series ---- */

typedef struct {
    const SerCtx *ctx;
    uint32_t nparam;
    Ser *theta; /* the point's coordinates as series (not owned) */
    Ser *memo;  /* per node, or NULL */
    uint32_t memo_cap;
    Node fail_node; /* where evaluation stopped, and why */
    const char *fail_why;
    bool fail_limit;  /* stopped by the size limit, not by the function */
    bool fail_proven; /* the reason proves the function undefined or not smooth there (else the
                         evaluator could not tell: a sign it could not certify, a missing rule) */
    char limit_why[160];
} SerEval;

void sereval_init(SerEval *e, const SerCtx *c, Ser *theta, uint32_t nparam);
void sereval_free(SerEval *e);
/* The series of node n, owned by the evaluator; NULL when the function is not defined or not
 * smooth there, or a sign that decides cannot be certified (fail_node, fail_why say which). */
const Num *sereval(SerEval *e, Node n);

/* ---- shared by exact.c, certify.c and reduce.c: points, vectors, text, curves ---- */

/* POINT as --at takes it (x=0,y=1/3,w={1,2} or values in order); errors name `flag` */
bool exact_parse_point(const Model *m, const char *spec, const char *flag, Num *p);
/* One line of the reasoning: "label      text" */
void put_step(Buf *steps, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void json_lines(Buf *b, const Buf *text); /* the lines of text as a JSON array of strings */

Num *vec_new(uint32_t n);
void vec_free(Num *v, uint32_t n);
/* A number for the reader: exact when short, else its magnitude (~3.48678e+59999). */
void put_num(Buf *b, const Num *x);
void put_vec(Buf *b, const Num *v, uint32_t n); /* "(1, -1)" */
void put_monomial(Buf *b, const SerCtx *c, int i, char **names);
/* The terms of s (of weighted degree wdeg when w is given) from monomial `from` on, at most
 * `limit` of them: "x^4 - 1/4*x^2*y". */
void put_poly_from(Buf *b, const SerCtx *c, const Num *s, char **names, const int *w, long wdeg, int limit, int from);
void put_poly(Buf *b, const SerCtx *c, const Num *s, char **names, const int *w, long wdeg, int limit);

/* A polynomial in t, for the curves that certify a saddle. */
typedef struct {
    int n;
    Num *c;
} TPoly;

TPoly tp_new(int n);
void tp_free(TPoly *p);
TPoly tp_mul(const TPoly *a, const TPoly *b);
void tp_addmul(TPoly *acc, const TPoly *a, const Num *k);
void tp_put(Buf *b, const TPoly *p, bool brief);
/* The polynomial s (in the variables of c) at u(t). */
TPoly tp_compose(const SerCtx *c, const Num *s, const TPoly *u);

/* ---- symmetry.c: affine symmetries of a polynomial loss ---- */

/* Whether affine vector fields X = A theta + b with grad L . X = 0 identically (proved exactly)
 * have values at the critical point p that span the Hessian's null space (dnull vectors null,
 * exact): then the critical points near p form a manifold with that tangent space. On true,
 * `fields` gets "(x, -y), ..." and `json` a JSON array of fields, each an array of component
 * strings. */
bool symmetry_span(const Model *m, const Deriv *d, const Num *p, Num *const *null, int dnull, Buf *fields, Buf *json);

/* The degree of the node as a polynomial in the parameters, or -1 when it is not one. */
int loss_poly_degree(Node root);

/* ---- sos.c: sum-of-squares certificates ---- */

/* Whether sign * (L(p + u) - L(p)) is an exact sum of squares z^T G z (CSDP, rounded and
 * checked): then `why` gets the sentence, `json` the certificate {"kind": "sos", "sign",
 * "variables", "basis", "gram", "strict"[, "line"]}, *strict whether G is definite on a basis
 * holding every monomial of its lowest degree (a strict extremum), and *flat whether it is a
 * form that is 0 along a line through the point (found exactly: not strict). */
bool sos_certificate(const Model *m, const Num *p, int sign, Buf *why, Buf *json, bool *strict, bool *flat);

/* Up to max rational directions x (dirs: max rows of c->d, each scaled so that its largest
 * coordinate is 1) where the form of degree D, P over c's monomials, is exactly 0: local
 * minima of |P| on the unit sphere in floating point, their coordinates' ratios rounded to
 * small fractions and P checked there over the rationals. Returns how many. */
int form_zero_directions(const SerCtx *c, const mpq_t *P, int D, mpq_t *dirs, int max);
/* p/q near r: the first convergent of r's continued fraction within tol, q at most 10^6;
 * false if none. */
bool small_fraction(double r, double tol, mpq_t out);

/* symmetry.c: reduced row echelon form of rows x cols rationals in place; returns the rank,
 * the pivot columns in piv. */
int row_reduce(mpq_t *M, int rows, int cols, int *piv);

/* ---- reduce.c: the reduced function's decision ---- */

typedef enum { D_UNKNOWN, D_STRICT_MIN, D_NOT_MIN, D_ZERO } Decision;

typedef struct {
    Decision kind;
    Buf why; /* the sentence */
    /* D_NOT_MIN: the curve u(t) in the null coordinates, and the leading term c*t^order */
    TPoly *curve; /* d polynomials */
    long order;
    Num lead;
    /* D_STRICT_MIN by a weighted form: its weights and weighted degree, and the shifts made
     * before it (outermost first: u[var] = u'[var] + y0*u'[other]^b) */
    bool weighted;
    int w[SER_MAX_VARS];
    long wdeg;
    int nshift;
    struct {
        int var, other, b;
        mpq_t y0;
    } shift[8];
} Decided;

typedef struct {
    const SerCtx *c;
    char **names; /* null coordinates' names */
    int K;
    bool negated; /* g is minus the reduced function: say so in the loss's own terms */
} RCtx;

void decided_init(Decided *r, int d);
void decided_free(Decided *r, int d);
/* Decides whether g (no terms below degree 3) has a strict local minimum at 0. */
void reduce_decide(const RCtx *rc, const Num *g, Decided *out);

#endif
