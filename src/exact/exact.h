/* exact.h: the exact classifier, hessgen's library for proofs about points (src/exact/).
 *
 * The compiler calls these three; everything else of the library (exact numbers, power
 * series, the reduced function's decision, certificates) is in internal.h, and Arb, FLINT and
 * MPFR are linked here only (libhessgen_exact.a).
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

/* Checks every `at ... expect` line; prints the verdicts (or one JSON object); returns the
 * exit status: 0 when every line holds, 1 otherwise. */
int exact_check(const Model *m, const Deriv *d, const char *file, int order, bool json);
/* Classifies the point given as "x=0,y=1/3"; returns 0, or 2 for a bad point. */
int exact_classify(const Model *m, const Deriv *d, const char *at, int order, bool json);
/* hessgen --classify --near POINT (certify.c): a critical point proved near an approximate
 * POINT by interval arithmetic (Krawczyk's test) and classified from the Hessian over the box */
int exact_near(const Model *m, const Deriv *d, const char *near, bool json);

/* The steps one series context may take (per point and order): 40 million, 1 to 3 s. The
 * examples and tests need at most 250000 (HESSGEN_STATS=1 prints them), a positive definite
 * quartic in 30 null directions 31 million; ten free directions among 20 parameters at order 8
 * took 400 million (6 s) before this limit, and now get `undetermined` with the reason. The
 * fuzz harness sets less, to keep each input within its time limit. */
extern size_t series_work_limit;

#endif
