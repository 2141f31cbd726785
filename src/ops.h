/* ops.h: the one table of the expression graph's operations.
 *
 * Each row of UNARY_OPS is one elementary function of one argument:
 *   X(ENUM, source name or NULL if internal, C spelling, needs a helper, derivative,
 *     value at 0, range, long double value, Arb ball, Taylor rule)
 *   - derivative: in terms of the argument `a` and the node's own value `f` (so exp' = f
 *     reuses the exp already computed), with the graph's constructors (diff.c expands it);
 *   - helper: a small static function emitted into the generated file (emit.c,
 *     put_helpers) because C has no overflow-safe spelling for it;
 *   - value at 0: AT0(p, q) when f(0) = p/q exactly, which dag_unary folds; NO_AT0 when it is
 *     irrational or undefined (abs, relu, sign, step and nonzero fold at every constant);
 *   - range: RANGE(lo_p, lo_q, hi_p, hi_q, lo_strict), each bound p/q and q = 0 for none,
 *     bounds that hold wherever f is defined (the exact classifier's sign proofs); ANY;
 *   - long double value: an expression of `x`, dag_eval_const's constant folding;
 *   - Arb ball: a function (arb_t z, const arb_t x, slong prec) computing f in interval
 *     arithmetic for the exact classifier's irrational values (series.c), or NO_BALL for a
 *     function that never is such an atom (series.c writes it through others);
 *   - Taylor rule: the function series.c calls for the coefficients of f(a0 + t) in the
 *     exact classifier, or BUILT_IN where uni_unary has a case for it.
 * Adding a function is adding a row here, its ball and Taylor rule in series.c (where the
 * rules of added functions go) and, if it needs one, its helper's text in emit.c:
 * docs/adding-a-function.md, which tests/test_new_function.py follows.
 *
 * Where reusing f would cancel, accuracy wins: tanh' is sech^2, not 1 - f^2 (which is 0
 * for t > 19 although the true value is 4e-17 there), and sigmoid' is s(t)*s(-t), not
 * s(t)*(1 - s(t)). The oracle's saturation.hl case holds them to 1e-12. sech2 is its own
 * operation, computed without overflow, because 1/cosh^2 differentiated again is
 * sinh/cosh^3 = inf/inf beyond |t| = 710.
 *
 * sech2, sign and step are internal: they are the one-sided derivatives of abs and relu
 * (0 at the kink, as the language reference specifies), and their own derivative is 0.
 * nonzero(u) is u, or 1 where u = 0: vanish.c puts it under a negative power of a sum of
 * squares in a derivative term that vanishes with that sum (never differentiated again).
 */
#ifndef HESSGEN_OPS_H
#define HESSGEN_OPS_H

/* clang-format off */
/* a table: one row per line, its columns aligned */
#define UNARY_OPS(X)                                                                                                                                                                    \
    X(EXP,      "exp",      "exp",      0, f,                                    AT0(1, 1), RANGE(0, 1, 0, 0, 1),                  expl(x),                    arb_exp,       BUILT_IN) \
    X(LOG,      "log",      "log",      0, RECIP(a),                             NO_AT0,    ANY,                                   logl(x),                    arb_log,       BUILT_IN) \
    X(SIN,      "sin",      "sin",      0, U(COS, a),                            AT0(0, 1), RANGE(-1, 1, 1, 1, 0),                 sinl(x),                    arb_sin,       BUILT_IN) \
    X(COS,      "cos",      "cos",      0, NEG(U(SIN, a)),                       AT0(1, 1), RANGE(-1, 1, 1, 1, 0),                 cosl(x),                    arb_cos,       BUILT_IN) \
    X(TAN,      "tan",      "tan",      0, ADD(ONE, SQ(f)),                      AT0(0, 1), ANY,                                   tanl(x),                    arb_tan,       BUILT_IN) \
    X(TANH,     "tanh",     "tanh",     0, U(SECH2, a),                          AT0(0, 1), RANGE(-1, 1, 1, 1, 0),                 tanhl(x),                   arb_tanh,      BUILT_IN) \
    X(ATAN,     "atan",     "atan",     0, RECIP(ADD(ONE, SQ(a))),               AT0(0, 1), RANGE(-15708, 10000, 15708, 10000, 0), atanl(x),                   arb_atan,      BUILT_IN) \
    X(SINH,     "sinh",     "sinh",     0, U(COSH, a),                           AT0(0, 1), ANY,                                   sinhl(x),                   NO_BALL,       BUILT_IN) \
    X(COSH,     "cosh",     "cosh",     0, U(SINH, a),                           AT0(1, 1), RANGE(1, 1, 0, 0, 0),                  coshl(x),                   NO_BALL,       BUILT_IN) \
    X(LOG1P,    "log1p",    "log1p",    0, RECIP(ADD(ONE, a)),                   AT0(0, 1), ANY,                                   log1pl(x),                  NO_BALL,       BUILT_IN) \
    X(EXPM1,    "expm1",    "expm1",    0, ADD(f, ONE),                          AT0(0, 1), ANY,                                   expm1l(x),                  NO_BALL,       BUILT_IN) \
    X(SIGMOID,  "sigmoid",  "sigmoid",  1, MUL(f, U(SIGMOID, NEG(a))),           AT0(1, 2), RANGE(0, 1, 1, 1, 1),                  sigmoidl(x),                ball_sigmoid,  BUILT_IN) \
    X(SOFTPLUS, "softplus", "softplus", 1, U(SIGMOID, a),                        NO_AT0,    RANGE(0, 1, 0, 0, 1),                  softplusl(x),               ball_softplus, BUILT_IN) \
    X(ABS,      "abs",      "fabs",     0, U(SIGN, a),                           NO_AT0,    RANGE(0, 1, 0, 0, 0),                  fabsl(x),                   NO_BALL,       BUILT_IN) \
    X(RELU,     "relu",     "relu",     1, U(STEP, a),                           NO_AT0,    RANGE(0, 1, 0, 0, 0),                  x > 0 ? x : 0,              NO_BALL,       BUILT_IN) \
    X(SECH2,    NULL,       "sech2",    1, MUL(dag_int(-2), MUL(f, U(TANH, a))), AT0(1, 1), RANGE(0, 1, 1, 1, 1),                  sech2l(x),                  NO_BALL,       BUILT_IN) \
    X(SIGN,     NULL,       "sign",     1, ZERO,                                 NO_AT0,    RANGE(-1, 1, 1, 1, 0),                 x > 0 ? 1 : x < 0 ? -1 : 0, NO_BALL,       BUILT_IN) \
    X(STEP,     NULL,       "step",     1, ZERO,                                 NO_AT0,    RANGE(0, 1, 1, 1, 0),                  x > 0 ? 1 : 0,              NO_BALL,       BUILT_IN) \
    X(NONZERO,  NULL,       "nonzero",  1, ONE,                                  NO_AT0,    ANY,                                   x != 0 ? x : 1,             NO_BALL,       BUILT_IN)
/* clang-format on */

/* Every node kind: leaves, the n-ary canonical sum and product, the power with a
 * constant rational exponent, then the unary functions above. */
typedef enum {
    OP_NONE,   /* node 0: "no node", the result of a lowering that failed */
    OP_CONST,  /* an exact rational; aux indexes the rational pool */
    OP_PI,     /* the constant pi, kept symbolic */
    OP_PARAM,  /* theta[aux] */
    OP_DIR,    /* v[aux], the direction of a Hessian-vector product */
    OP_DATA,   /* one value of a data array in the current row: aux packs array, offset, level */
    OP_NROWS,  /* the run-time row count of size name aux */
    OP_ROW,    /* the row variable of a reduction at level aux & 7 (sema's binding, never in a loss) */
    OP_ROWSUM, /* sum over the rows of size aux >> 3 of its one operand, the body at level aux & 7 */
    /* array loops (sema_array_loops): a sum over an index variable kept as one node */
    OP_IVAR,    /* the value of index variable aux (dag_var) */
    OP_PAT,     /* theta at index map aux (dag_map_get): an index affine in index variables */
    OP_VAT,     /* v at index map aux, the direction of a Hessian-vector product */
    OP_DAT,     /* a data array's or a constant table's value at index map aux */
    OP_VSUM,    /* the sum of its one operand over the range of index variable aux */
    OP_UNIT,    /* 1 where index map aux equals the column variable (the map's array), else 0: the
                  direction e_c of the Hessian's column c */
    OP_REINDEX, /* its one operand with index variable m.array replaced by m's index (m: map aux):
                   an array of values already computed, read at another index */
    OP_ADD,     /* [constant] + t1 + ... + tn, terms ordered by id */
    OP_MUL,     /* [constant] * f1 * ... * fn, factors ordered by id */
    OP_POW,     /* base ^ exponent: a rational constant, or a node free of coordinates (pi) */
#define X(e, src, c, helper, d, ...) OP_##e,
    UNARY_OPS(X)
#undef X
        OP__COUNT
} Op;

#define OP_IS_UNARY(op) ((op) > OP_POW && (op) < OP__COUNT)

#endif
