/* exact.h: the exact classifier, hessgen's library for proofs about points (src/exact/).
 *
 * The compiler decides a point with exact_decide and gets a Classification: the verdict, the
 * Hessian's inertia, the flags and the proof (src/check.c prints it as text or JSON; the
 * library itself prints only diagnostics). The rest
 * of the library (exact numbers, power series, the reduced function's decision, certificates)
 * is in internal.h, and Arb, FLINT and MPFR are linked here only (libhessgen_exact.a).
 *   exact.c     the verdict at a point: gradient, Hessian inertia, then the degenerate cases
 *   series.c    exact numbers (rationals, symbolic values, Arb balls) and truncated power
 *               series, the graph evaluated on them
 *   reduce.c    the reduced function on the Hessian's null space: a strict minimum or a curve
 *   certify.c   --near: a critical point proved in a box (Krawczyk) and its kind
 *   symmetry.c  affine symmetries that make a minimum non-strict
 *   sos.c       sum-of-squares certificates (CSDP, rounded and checked exactly)
 */
#ifndef HESSGEN_EXACT_PUBLIC_H
#define HESSGEN_EXACT_PUBLIC_H

#include "hessgen.h"

/* ---- one point decided ---- */

typedef enum { V_UNDETERMINED, V_NOT_CRITICAL, V_STRICT_MIN, V_MIN, V_STRICT_MAX, V_MAX, V_SADDLE } Verdict;

extern const char *const verdict_name[]; /* "undetermined", "not_critical", ..., "saddle" */

/* What the classifier decided at a point, with its proof. Everything a caller acts on is a
 * field; the text is the reasoning to show, never read back to decide. */
typedef struct {
    Verdict verdict;
    int critical; /* 1, 0, or -1 unknown */
    int singular; /* the Hessian: 1, 0, or -1 unknown */
    int npos, nneg, nzero, inertia_known;
    int nonstrict;     /* for min/max: 1 proven not strict, 0 unknown */
    Buf reason;        /* one sentence */
    Buf steps;         /* the reasoning, one "label   text" line each */
    Buf cert;          /* the certificate, a JSON object (empty: none) */
    Buf json;          /* further JSON members: loss, gradient, hessian */
    bool limited;      /* stopped by a size or work limit, which a higher order only meets sooner */
    bool uncertain;    /* a sign the balls could not certify stopped it: a higher precision may not */
    bool verdict_said; /* the steps have their "verdict" line */
} Classification;

/* Decides the exact point p (m->nparam rationals): critical or not, and of what kind, through
 * Taylor orders 4, 8, ... up to `order`. c is initialized here; classification_free frees it. */
void exact_decide(const Model *m, const Deriv *d, const mpq_t *p, int order, Classification *c);
void classification_free(Classification *c);
/* Whether the expectation of an `at ... expect LABEL` line holds (min holds for strict_min). */
bool classification_holds(const Classification *c, const char *label);
/* c at p as JSON members: verdict, reason, critical, degenerate, strict, inertia, params,
 * point, theta, loss/gradient/hessian, certificate, steps. */
void classification_json(Buf *b, const Model *m, const mpq_t *p, const Classification *c);

/* A point as --at takes it ("x=0,y=1/3,w={1,2}"); a diagnostic naming `flag` when it is bad. */
bool exact_parse_point_q(const Model *m, const char *spec, const char *flag, mpq_t *p);
/* A rational for the reader: exact when short, else its magnitude (~3.48678e+59999). */
void exact_put_rational(Buf *b, mpq_srcptr q);
void json_string(Buf *b, const char *s); /* a JSON string, escaped */
/* Frees the library's caches (symbolic atoms, Arb's constants): at the end of a command. */
void exact_release(void);

/* ---- the commands (src/check.c prints exact_decide's classifications) ---- */

/* Checks every `at ... expect` line; prints the verdicts (or one JSON object); returns the
 * exit status: 0 when every line holds, 1 otherwise. */
int exact_check(const Model *m, const Deriv *d, const char *file, int order, bool json);
/* Classifies the point given as "x=0,y=1/3"; returns 0, or 2 for a bad point. */
int exact_classify(const Model *m, const Deriv *d, const char *at, int order, bool json);
/* hessgen --classify --near POINT (certify.c): a critical point proved near an approximate
 * POINT by interval arithmetic (Krawczyk's test) and classified from the Hessian over the box;
 * exact_near_decide writes the reasoning (or the JSON object) into out and returns 0, or 2 for
 * a bad point (with its diagnostic); exact_near prints it (src/check.c). */
int exact_near_decide(const Model *m, const Deriv *d, const char *near, bool json, Buf *out);
int exact_near(const Model *m, const Deriv *d, const char *near, bool json);

/* The steps one series context may take (per point and order): 40 million, 1 to 3 s. The
 * examples and tests need at most 250000 (HESSGEN_STATS=1 prints them), a positive definite
 * quartic in 30 null directions 31 million; ten free directions among 20 parameters at order 8
 * took 400 million (6 s) before this limit, and now get `undetermined` with the reason. The
 * fuzz harness sets less, to keep each input within its time limit. */
extern size_t series_work_limit;

#endif
