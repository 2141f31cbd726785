/* print.c: the graph as formulas a student would write, for --print.
 *
 * In: nodes. Out: text such as `-2*w2*(1 - w1*w2)`. A rational coefficient prints as a
 * fraction (`x/2`), x^-k as a division, x^(1/2) as sqrt(x); a sum starts with a positive
 * term where it has one. Shared subexpressions are written out again each time, so the text
 * is cut after a limit rather than grow without bound.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

enum { PREC_SUM = 1, PREC_PRODUCT = 2, PREC_POWER = 3, PREC_ATOM = 4 };

/* The model whose data arrays and row counts the formulas name (print_formulas sets it). */
static const Model *data_model;
/* Row variables by nesting level, as a student would name them. */
static const char *const row_names[] = {"i", "k", "l", "p", "q", "r", "s", "?"};

typedef struct {
    Buf *b;
    char *const *names;
    size_t stop; /* stop writing once the buffer is this long */
} Printer;

static void put(Printer *p, Node n, int ctx);
static void put_sum(Printer *p, Node n, bool negate);

static void put_gmp_string(Printer *p, char *s)
{
    buf_puts(p->b, s);
    void (*freefunc)(void *, size_t);
    mp_get_memory_functions(NULL, NULL, &freefunc);
    freefunc(s, strlen(s) + 1);
}

static void put_rat(Printer *p, mpq_srcptr q)
{
    put_gmp_string(p, mpq_get_str(NULL, 10, q));
}

static void put_int(Printer *p, mpz_srcptr z)
{
    put_gmp_string(p, mpz_get_str(NULL, 10, z));
}

/* The sign of a term as a sum shows it: a product with a negative coefficient, or a
 * negative constant. */
static bool term_negative(Node n)
{
    if (dag_is_const(n))
        return mpq_sgn(dag_rat(n)) < 0;
    return dag_op(n) == OP_MUL && dag_is_const(dag_args(n)[0]) && mpq_sgn(dag_rat(dag_args(n)[0])) < 0;
}

/* A product: sign, numerator (coefficient's numerator and factors with positive powers),
 * then "/" and the denominator (coefficient's denominator and factors with negative powers). */
static void put_product(Printer *p, Node n, bool drop_sign)
{
    const Node *a = dag_args(n);
    uint32_t k = dag_nargs(n), i = 0;
    mpq_t c;
    mpq_init(c);
    mpq_set_ui(c, 1, 1);
    if (dag_is_const(a[0])) {
        mpq_set(c, dag_rat(a[0]));
        i = 1;
    }
    if (mpq_sgn(c) < 0) {
        mpq_neg(c, c);
        if (!drop_sign)
            buf_puts(p->b, "-");
    }
    int nnum = 0, nden = 0;
    for (uint32_t j = i; j < k; j++) {
        long e;
        bool den = dag_op(a[j]) == OP_POW && dag_is_int_const(dag_args(a[j])[1], &e) && e < 0;
        nden += den;
        nnum += !den;
    }
    bool first = true;
    if (mpz_cmp_ui(mpq_numref(c), 1) != 0 || nnum == 0) {
        put_int(p, mpq_numref(c));
        first = false;
    }
    for (uint32_t j = i; j < k; j++) {
        long e;
        if (dag_op(a[j]) == OP_POW && dag_is_int_const(dag_args(a[j])[1], &e) && e < 0)
            continue;
        if (!first)
            buf_puts(p->b, "*");
        put(p, a[j], PREC_PRODUCT + 1);
        first = false;
    }
    bool den_int = mpz_cmp_ui(mpq_denref(c), 1) != 0;
    int nd = nden + den_int;
    if (nd) {
        buf_puts(p->b, "/");
        if (nd > 1)
            buf_puts(p->b, "(");
        bool f2 = true;
        if (den_int) {
            put_int(p, mpq_denref(c));
            f2 = false;
        }
        for (uint32_t j = i; j < k; j++) {
            long e;
            if (!(dag_op(a[j]) == OP_POW && dag_is_int_const(dag_args(a[j])[1], &e) && e < 0))
                continue;
            if (!f2)
                buf_puts(p->b, "*");
            Node base = dag_args(a[j])[0];
            put(p, base, e == -1 && nd == 1 ? PREC_PRODUCT + 1 : PREC_POWER + 1);
            if (e != -1)
                buf_printf(p->b, "^%ld", -e);
            f2 = false;
        }
        if (nd > 1)
            buf_puts(p->b, ")");
    }
    mpq_clear(c);
}

static void put_term(Printer *p, Node t, bool first, bool negate)
{
    bool neg = term_negative(t) != negate;
    if (!first)
        buf_puts(p->b, neg ? " - " : " + ");
    else if (neg)
        buf_puts(p->b, "-");
    if (dag_is_const(t)) {
        mpq_t q;
        mpq_init(q);
        mpq_abs(q, dag_rat(t));
        put_rat(p, q);
        mpq_clear(q);
    } else if (dag_op(t) == OP_MUL) {
        put_product(p, t, true);
    } else {
        put(p, t, PREC_SUM + 1);
    }
}

static int prec_of(Node n)
{
    switch (dag_op(n)) {
    case OP_ADD:
        return PREC_SUM;
    case OP_MUL:
        return PREC_PRODUCT;
    case OP_CONST:
        if (mpq_sgn(dag_rat(n)) < 0)
            return PREC_PRODUCT;
        return mpz_cmp_ui(mpq_denref(dag_rat(n)), 1) == 0 ? PREC_ATOM : PREC_PRODUCT;
    case OP_POW: {
        long e;
        if (dag_is_int_const(dag_args(n)[1], &e))
            return e < 0 ? PREC_PRODUCT : PREC_POWER;
        if (!dag_is_const(dag_args(n)[1]))
            return PREC_POWER; /* x^pi */
        return mpz_cmp_ui(mpq_denref(dag_rat(dag_args(n)[1])), 2) == 0 &&
                       mpz_cmp_ui(mpq_numref(dag_rat(dag_args(n)[1])), 1) == 0
                   ? PREC_ATOM
                   : PREC_POWER;
    }
    case OP_SECH2:
        return PREC_POWER; /* printed sech(x)^2 */
    default:
        return PREC_ATOM;
    }
}

/* The source language's names (abs, not fabs); internal operations by their C name. */
static const char *const fn_names[OP__COUNT] = {
#define X(e, src, c, helper, d, ...) [OP_##e] = (src) ? (src) : (c),
    UNARY_OPS(X)
#undef X
};

/* A sum, or with `negate` the sum with every term's sign flipped: -(7 - x - 2*y) prints
 * as x + 2*y - 7 without building that sum as a node (printing must not change the graph,
 * or --print would change the generated code). */
static void put_sum(Printer *p, Node n, bool negate)
{
    const Node *a = dag_args(n);
    uint32_t k = dag_nargs(n);
    /* a positive constant goes first only where a negative term would start the sum
     * ("1 - x"); otherwise it goes last ("2*x + 3"), and the sum starts with its first
     * positive term where there is one ("4*x*y - 2", not "-2 + 4*x*y") */
    Node *order = xmalloc(sizeof(Node) * k);
    uint32_t m = 0, first_var = dag_is_const(a[0]);
    bool all_negative = true;
    for (uint32_t i = first_var; i < k; i++)
        all_negative &= term_negative(a[i]) != negate;
    bool const_first = first_var && (mpq_sgn(dag_rat(a[0])) > 0) != negate && all_negative;
    if (const_first)
        order[m++] = a[0];
    for (uint32_t i = first_var; i < k; i++)
        order[m++] = a[i];
    if (first_var && !const_first)
        order[m++] = a[0];
    if (!const_first) {
        for (uint32_t i = 0; i < m; i++)
            if (term_negative(order[i]) == negate) {
                Node t = order[i];
                memmove(order + 1, order, sizeof(Node) * i);
                order[0] = t;
                break;
            }
    }
    for (uint32_t i = 0; i < m; i++)
        put_term(p, order[i], i == 0, negate);
    free(order);
}

static void put(Printer *p, Node n, int ctx)
{
    if (p->b->len >= p->stop)
        return;
    if (dag_op(n) == OP_MUL && dag_nargs(n) == 2 && dag_args(n)[0] == DAG_MINUS_ONE &&
        dag_op(dag_args(n)[1]) == OP_ADD) {
        /* -(7 - x - 2*y) reads better as x + 2*y - 7: a sum takes the sign into its terms */
        bool paren = PREC_SUM < ctx;
        if (paren)
            buf_puts(p->b, "(");
        put_sum(p, dag_args(n)[1], true);
        if (paren)
            buf_puts(p->b, ")");
        return;
    }
    bool paren = prec_of(n) < ctx;
    if (paren)
        buf_puts(p->b, "(");
    const Node *a = dag_args(n);
    switch (dag_op(n)) {
    case OP_CONST:
        put_rat(p, dag_rat(n));
        break;
    case OP_PI:
        buf_puts(p->b, "pi");
        break;
    case OP_PARAM:
        buf_puts(p->b, p->names[dag_rec(n)->aux]);
        break;
    case OP_DIR:
        buf_printf(p->b, "v[%u]", dag_rec(n)->aux);
        break;
    case OP_DATA: {
        const DataArray *da = data_model ? &data_model->data[dag_data_array(n)] : NULL;
        if (!da) {
            buf_printf(p->b, "data%u[%u]", dag_data_array(n), dag_data_offset(n));
            break;
        }
        buf_puts(p->b, da->name);
        int first = 0;
        if (da->size != NO_SIZE) {
            buf_printf(p->b, "[%s]", row_names[dag_data_level(n)]);
            first = 1;
        }
        long idx[8], flat = dag_data_offset(n);
        for (int k = da->ndims - 1; k >= first; k--) {
            idx[k] = flat % da->dims[k];
            flat /= da->dims[k];
        }
        for (int k = first; k < da->ndims; k++)
            buf_printf(p->b, "[%ld]", idx[k]);
        break;
    }
    case OP_NROWS:
        buf_puts(p->b, data_model ? data_model->sizes[dag_row_size(n)].name : "n");
        break;
    case OP_ROWSUM:
        buf_printf(p->b, "sum(%s, ", row_names[dag_row_level(n)]);
        put(p, a[0], 0);
        buf_puts(p->b, ")");
        break;
    case OP_ADD:
        put_sum(p, n, false);
        break;
    case OP_MUL:
        put_product(p, n, false);
        break;
    case OP_POW: {
        if (!dag_is_const(a[1])) { /* a constant exponent that is not rational: x^pi */
            put(p, a[0], PREC_POWER + 1);
            buf_puts(p->b, "^");
            put(p, a[1], PREC_ATOM);
            break;
        }
        mpq_srcptr q = dag_rat(a[1]);
        long e;
        if (dag_is_int_const(a[1], &e) && e < 0) {
            buf_puts(p->b, "1/");
            put(p, a[0], e == -1 ? PREC_PRODUCT + 1 : PREC_POWER + 1);
            if (e != -1)
                buf_printf(p->b, "^%ld", -e);
        } else if (mpz_cmp_ui(mpq_denref(q), 2) == 0 && mpz_cmp_ui(mpq_numref(q), 1) == 0) {
            buf_puts(p->b, "sqrt(");
            put(p, a[0], 0);
            buf_puts(p->b, ")");
        } else {
            put(p, a[0], PREC_POWER + 1);
            buf_puts(p->b, "^");
            if (mpz_cmp_ui(mpq_denref(q), 1) == 0 && mpq_sgn(q) > 0) {
                put_rat(p, q);
            } else {
                buf_puts(p->b, "(");
                put_rat(p, q);
                buf_puts(p->b, ")");
            }
        }
        break;
    }
    case OP_SECH2:
        buf_puts(p->b, "sech(");
        put(p, a[0], 0);
        buf_puts(p->b, ")^2");
        break;
    default:
        buf_printf(p->b, "%s(", fn_names[dag_op(n)]);
        put(p, a[0], 0);
        buf_puts(p->b, ")");
        break;
    }
    if (paren)
        buf_puts(p->b, ")");
}

void print_node(Buf *b, Node n, char *const *param_names, size_t limit)
{
    Printer p = {b, param_names, b->len + limit};
    put(&p, n, 0);
    if (b->len >= p.stop) {
        /* cut where the limit fell: what the unwinding callers added after it is not text */
        b->len = p.stop;
        b->data[b->len] = 0;
        buf_puts(b, " ...");
    }
}

enum { PRINT_LIMIT = 2000, PRINT_MAX_LINES = 400 };

typedef struct {
    uint32_t i, j;
    Node v;
} Cell;

static int cmp_cell(const void *x, const void *y)
{
    const Cell *a = x, *b = y;
    if (a->j != b->j)
        return a->j < b->j ? -1 : 1;
    return (a->i > b->i) - (a->i < b->i);
}

void print_formulas(FILE *out, const Model *m, const Deriv *d)
{
    Buf b = {0};
    data_model = m;
    buf_puts(&b, "loss     L = ");
    print_node(&b, m->loss, m->param_names, PRINT_LIMIT);
    buf_puts(&b, "\n");
    uint32_t lines = 0;
    for (uint32_t i = 0; i < d->n && lines < PRINT_MAX_LINES; i++, lines++) {
        buf_printf(&b, "%s dL/d%s = ", i == 0 ? "gradient" : "        ", m->param_names[i]);
        print_node(&b, d->grad[i], m->param_names, PRINT_LIMIT);
        buf_puts(&b, "\n");
    }
    if (d->n > PRINT_MAX_LINES)
        buf_printf(&b, "         ... and %u more gradient entries\n", d->n - PRINT_MAX_LINES);
    /* the upper triangle, row by row: d2L/dw1dw2 with w1 before w2 */
    Cell *c = xmalloc(sizeof(Cell) * (d->nnz ? d->nnz : 1));
    for (uint32_t t = 0; t < d->nnz; t++)
        c[t] = (Cell){d->rows[t], d->cols[t], d->hess[t]};
    qsort(c, d->nnz, sizeof(Cell), cmp_cell);
    if (d->nnz == 0)
        buf_puts(&b, "Hessian  0 (every second derivative is zero)\n");
    for (uint32_t t = 0; t < d->nnz && t < PRINT_MAX_LINES; t++) {
        buf_printf(&b, "%s d2L/d%sd%s = ", t == 0 ? "Hessian " : "        ", m->param_names[c[t].j],
                   m->param_names[c[t].i]);
        print_node(&b, c[t].v, m->param_names, PRINT_LIMIT);
        buf_puts(&b, "\n");
    }
    if (d->nnz > PRINT_MAX_LINES)
        buf_printf(&b, "         ... and %u more nonzero entries\n", d->nnz - PRINT_MAX_LINES);
    uint64_t full = (uint64_t)d->n * (d->n + 1) / 2;
    if (d->nnz && d->nnz < full)
        buf_printf(&b, "         (the other %llu entries of the triangle are 0)\n",
                   (unsigned long long)(full - d->nnz));
    fputs(b.data, out);
    buf_free(&b);
    free(c);
}
