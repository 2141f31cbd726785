/* emit.c: writes the generated C.
 *
 * In: the Model and its derivatives (graph nodes). Out: the text of one C99 file that needs
 * only <math.h> and <stddef.h>: the loss, gradient, dense and sparse Hessian and
 * Hessian-vector product of DESIGN.md, the parameter tables, and the hessgen_model
 * descriptor that libhessrt takes. What stays true of the text:
 *   - it carries no date and no path, so the same input gives the same bytes;
 *   - every constant is printed with the fewest digits that read back as the same double;
 *   - evaluation functions allocate nothing and touch no global that can change, so they are
 *     reentrant; each is one straight-line schedule of `const double` temporaries;
 *   - the Hessian's code is written once (P_hess_core): the dense, sparse, values-only and
 *     row-range Hessians call it (with --checked each has its own, so a fault names it);
 *   - sigmoid and softplus go through small overflow-safe helpers; log1p and expm1 are C's.
 */
#define _GNU_SOURCE /* vasprintf */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

static struct {
    const char *P; /* prefix */
    const Model *m;
    uint32_t *temp; /* node -> temporary number + 1, for the function being written */
    uint32_t *stamp;
    uint32_t cur, ntemps, limit;
    uint32_t nloops;    /* accumulator arrays of the function being written */
    const char *indent; /* of a step's line */
    int split_size;     /* in M_hess_row_range: the size name whose outer loops run over [begin, end) */
    uint32_t gen;       /* the last stamp handed out: each function and each family loop gets its own */
    /* outlined row loops (put_outlined_loop): their functions go before the function that
     * calls them; inside one, a temporary of the caller is read from inv[] */
    Buf pre;            /* the loop functions of the function being written */
    size_t fstart;      /* where that function's text starts in the output */
    uint32_t nfuncs;    /* loop functions so far, for their names */
    char **fn_text;     /* each one's text after its first line: a loop met again is called, not rewritten */
    int *fn_mode;       /* and which function of a loop it is (RING_NONE: the loop itself) */
    uint32_t outer_cur; /* inside a loop function: the caller's stamp, else 0 */
    uint32_t *inv_stamp, *inv_slot; /* node -> its place in inv[] (valid when inv_stamp == inv_cur) */
    uint32_t inv_cur;               /* the loop whose functions (one, or a Ring's three) share inv[] */
    Node *inv;                      /* the caller's temporaries the loop function reads, in inv[] order */
    uint32_t ninv, inv_cap;
    bool has_v;         /* the function being written has a direction v (M_hvp) */
    int64_t loop_shift; /* inside a loop over a family: coordinate indices move by k * loop_shift */
    bool checked;       /* --checked: every temporary tested, the outputs scanned (checked.c) */
    bool dense_pattern; /* array loops: the pattern is all of the lower triangle, not listed */
    /* single-use temporaries written inside their one reader (put_body_inlined) */
    uint32_t *uses, *uses_stamp; /* node -> its reads in the function being written */
    const Step **inlined;        /* node -> its step, when it is written inline (stamp cur) */
    Op reader;                   /* the operation whose operands are being written (OP_NONE: a store) */
    const char *no_part;         /* why the rows cannot be split into parts (M_data_part), or NULL */
    bool array_failed;           /* an array-loop body could not be written (aemit_failed) */
    bool split_reduces;          /* a part's function (array loops, split) adds inner sums over the parts */
    /* pairs of rows over parts (ring_plan): the loop being written as two functions, and which
     * (RING_VISIT: the inner loops over a visiting part's rows; RING_PAIRED: their sums read) */
    const struct Ring *ring;
    int ring_mode;
    int visit_level; /* in RING_VISIT: the row level read from the visiting part (V_name), else -1 */
    bool has_ring;   /* some loop has a Ring: M_data_part needs a visit function */
} E;

/* A loop over rows whose body holds loops over rows (pairs of rows), over parts of the rows:
 * each row's inner sums need every part's rows. The parts' rows visit each other in turn
 * (hessgen_visit); a first function adds each row's inner sums over one visiting part into
 * acc[row * width + off], a second is the loop itself with those sums read from acc. */
typedef struct Ring {
    const Loop *outer;
    const Loop **inner; /* the loops over rows in outer's body, in order */
    uint32_t *off;      /* each one's first sum in a row of acc */
    uint32_t ninner, width;
    bool *needed; /* per step of outer's body: the visiting function computes it (an inner loop reads it) */
    bool *paired; /* and the paired function (what the inner loops alone read is not) */
} Ring;

enum { RING_NONE, RING_VISIT, RING_PAIRED };

static const char *const SPACES = "                                                ";

/* The indentation of a block nested `depth` deep (4 spaces a level). */
static const char *indent_of(int depth)
{
    int n = 4 * depth;
    return SPACES + (strlen(SPACES) > (size_t)n ? strlen(SPACES) - (size_t)n : 0);
}

/* The shortest decimal that reads back as exactly d. */
static void put_double(Buf *b, double d)
{
    if (isinf(d)) {
        buf_puts(b, d > 0 ? "HUGE_VAL" : "(-HUGE_VAL)");
        return;
    }
    char s[40];
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(s, sizeof s, "%.0f", d); /* 100.0, not 1e+02 */
    } else {
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(s, sizeof s, "%.*g", prec, d);
            if (strtod(s, NULL) == d)
                break;
        }
    }
    bool has_point = strpbrk(s, ".e") != NULL;
    if (d < 0)
        buf_puts(b, "(");
    buf_puts(b, s);
    if (!has_point)
        buf_puts(b, ".0");
    if (d < 0)
        buf_puts(b, ")");
}

static void put_inlined(Buf *b, const Step *s);

/* Whether a data read is of a visiting part's rows (RING_VISIT, the inner loop's level). */
static bool visiting(Node n)
{
    return E.visit_level >= 0 && dag_data_level(n) == (unsigned)E.visit_level;
}

static void put_node(Buf *b, Node n)
{
    switch (dag_op(n)) {
    case OP_CONST:
        put_double(b, rat_to_double(dag_rat(n)));
        return;
    case OP_PI:
        buf_puts(b, "3.141592653589793");
        return;
    case OP_PARAM:
    case OP_DIR:
        if (E.loop_shift == 0)
            buf_printf(b, "%s[%u]", dag_op(n) == OP_PARAM ? "theta" : "v", dag_rec(n)->aux);
        else if (E.loop_shift == 1)
            buf_printf(b, "%s[k + %u]", dag_op(n) == OP_PARAM ? "theta" : "v", dag_rec(n)->aux);
        else
            buf_printf(b, "%s[%u + %lld * k]", dag_op(n) == OP_PARAM ? "theta" : "v", dag_rec(n)->aux,
                       (long long)E.loop_shift);
        return;
    case OP_DATA: {
        const DataArray *a = &E.m->data[dag_data_array(n)];
        uint32_t off = dag_data_offset(n);
        if (a->values && a->width == 1)
            buf_printf(b, "%s_table%u[r%u]", E.P, dag_data_array(n), dag_data_level(n));
        else if (a->values)
            buf_printf(b, "%s_table%u[r%u * %u + %u]", E.P, dag_data_array(n), dag_data_level(n), a->width, off);
        else if (a->size == NO_SIZE)
            buf_printf(b, "D_%s[%u]", a->name, off);
        else if (a->width == 1)
            buf_printf(b, "%c_%s[r%u]", visiting(n) ? 'V' : 'D', a->name, dag_data_level(n));
        else
            buf_printf(b, "%c_%s[r%u * %u + %u]", visiting(n) ? 'V' : 'D', a->name, dag_data_level(n), a->width, off);
        return;
    }
    case OP_NROWS:
        if (dag_rec(n)->aux == NO_SIZE)
            buf_puts(b, "w_free");
        else
            buf_printf(b, "T_%s", E.m->sizes[dag_row_size(n)].name);
        return;
    default:
        if (n < E.limit && E.stamp[n] == E.cur && E.temp[n] == 0) {
            put_inlined(b, E.inlined[n]);
            return;
        }
        if (n < E.limit && E.stamp[n] == E.cur) {
            buf_printf(b, "t%u", E.temp[n] - 1);
            return;
        }
        if (n < E.limit && E.outer_cur && E.stamp[n] == E.outer_cur) { /* the caller's, through inv[] */
            if (E.inv_stamp[n] != E.inv_cur) {
                if (E.ninv == E.inv_cap) {
                    E.inv_cap = E.inv_cap ? 2 * E.inv_cap : 64;
                    E.inv = xrealloc(E.inv, sizeof(Node) * E.inv_cap);
                }
                E.inv_stamp[n] = E.inv_cur;
                E.inv_slot[n] = E.ninv;
                E.inv[E.ninv++] = n;
            }
            buf_printf(b, "inv[%u]", E.inv_slot[n]);
            return;
        }
        fatal("emit: node %u used before it is computed", n);
    }
}

/* x^k for a small positive integer k, by repeated squaring. */
static void put_ipow(Buf *b, Node x, long k)
{
    if (k == 1) {
        put_node(b, x);
        return;
    }
    buf_puts(b, "(");
    put_ipow(b, x, k / 2);
    buf_puts(b, " * ");
    put_ipow(b, x, k / 2);
    if (k % 2) {
        buf_puts(b, " * ");
        put_node(b, x);
    }
    buf_puts(b, ")");
}

static void put_pow(Buf *b, Node x, mpq_srcptr q)
{
    long k = 0;
    if (mpz_cmp_ui(mpq_denref(q), 1) == 0 && mpz_fits_slong_p(mpq_numref(q)))
        k = mpz_get_si(mpq_numref(q));
    if (k != 0 && labs(k) <= 8) {
        if (k < 0)
            buf_puts(b, "1.0 / ");
        if (labs(k) == 1)
            put_node(b, x);
        else
            put_ipow(b, x, labs(k));
        return;
    }
    if (mpz_cmp_ui(mpq_denref(q), 2) == 0 && mpz_cmpabs_ui(mpq_numref(q), 3) <= 0) {
        /* x^(+-1/2), x^(+-3/2) through sqrt, which is correctly rounded */
        bool neg = mpq_sgn(q) < 0, three = mpz_cmpabs_ui(mpq_numref(q), 3) == 0;
        if (neg)
            buf_puts(b, "1.0 / (");
        if (three) {
            put_node(b, x);
            buf_puts(b, " * ");
        }
        buf_puts(b, "sqrt(");
        put_node(b, x);
        buf_puts(b, ")");
        if (neg)
            buf_puts(b, ")");
        return;
    }
    buf_puts(b, "pow(");
    put_node(b, x);
    buf_puts(b, ", ");
    put_double(b, rat_to_double(q));
    buf_puts(b, ")");
}

/* ---- what aemit.c (array loops) borrows ---- */

void emit_put_double(Buf *b, double d)
{
    put_double(b, d);
}

/* x^q for a C expression x (a temporary's name), as put_pow writes it for a node. */
bool emit_pow_is_division(mpq_srcptr q)
{
    return mpz_cmp_ui(mpq_denref(q), 1) == 0 && mpq_sgn(q) < 0 && mpz_cmpabs_ui(mpq_numref(q), 8) <= 0;
}

void emit_put_pow(Buf *b, const char *x, mpq_srcptr q)
{
    long k = 0;
    if (mpz_cmp_ui(mpq_denref(q), 1) == 0 && mpz_fits_slong_p(mpq_numref(q)))
        k = mpz_get_si(mpq_numref(q));
    if (k != 0 && labs(k) <= 8) {
        if (k < 0)
            buf_puts(b, "1.0 / ");
        buf_puts(b, "(");
        for (long i = 0; i < labs(k); i++)
            buf_printf(b, "%s%s", i ? " * " : "", x);
        buf_puts(b, ")");
        return;
    }
    if (mpz_cmp_ui(mpq_denref(q), 2) == 0 && mpz_cmpabs_ui(mpq_numref(q), 3) <= 0) {
        bool neg = mpq_sgn(q) < 0, three = mpz_cmpabs_ui(mpq_numref(q), 3) == 0;
        buf_printf(b, "%s%s%ssqrt(%s)%s", neg ? "1.0 / (" : "", three ? x : "", three ? " * " : "", x, neg ? ")" : "");
        return;
    }
    buf_printf(b, "pow(%s, ", x);
    put_double(b, rat_to_double(q));
    buf_puts(b, ")");
}

static const char *const c_names[OP__COUNT] = {
#define X(e, src, c, helper, d, ...) [OP_##e] = c,
    UNARY_OPS(X)
#undef X
};
static const bool has_helper[OP__COUNT] = {
#define X(e, src, c, helper, d, ...) [OP_##e] = helper,
    UNARY_OPS(X)
#undef X
};

/* The C function of a unary operation: "tanh", or the helper "P_sigmoid". */
const char *emit_function_name(Op op, const char *prefix)
{
    static Buf name; /* grows with the prefix, which has no length limit */
    name.len = 0;
    if (has_helper[op])
        buf_printf(&name, "%s_%s", prefix, c_names[op]);
    else
        buf_puts(&name, c_names[op]);
    return name.data;
}

/* A step's expression: its operation over its items. */
static void put_expr(Buf *b, const Step *s)
{
    Node n = s->node;
    Op op = dag_op(n);
    Op saved = E.reader;
    E.reader = op;
    if (op == OP_ADD) {
        /* the constant, first in the graph, goes last: "t1 + t2 - 1.0" reads better */
        bool first = true;
        for (uint32_t i = 0; i < s->nitems; i++) {
            Node x = s->items[i];
            if (!(x & SCHED_INV) && dag_is_const(x))
                continue;
            if (x & SCHED_INV)
                buf_puts(b, first ? "-" : " - ");
            else if (!first)
                buf_puts(b, " + ");
            put_node(b, x & ~SCHED_INV);
            first = false;
        }
        if (!(s->items[0] & SCHED_INV) && dag_is_const(s->items[0])) {
            double c = rat_to_double(dag_rat(s->items[0]));
            buf_puts(b, c < 0 ? " - " : " + ");
            put_double(b, fabs(c));
        }
    } else if (op == OP_MUL) {
        uint32_t i = 0;
        bool any = false;
        if (!(s->items[0] & SCHED_INV) && dag_is_const(s->items[0])) {
            i = 1;
            if (s->items[0] == DAG_MINUS_ONE) {
                buf_puts(b, "-");
            } else {
                put_node(b, s->items[0]);
                any = true;
            }
        }
        for (uint32_t j = i; j < s->nitems; j++) {
            if (s->items[j] & SCHED_INV)
                continue;
            if (any)
                buf_puts(b, " * ");
            put_node(b, s->items[j]);
            any = true;
        }
        if (!any)
            buf_puts(b, "1.0");
        for (uint32_t j = i; j < s->nitems; j++) {
            if (!(s->items[j] & SCHED_INV))
                continue;
            buf_puts(b, " / ");
            put_node(b, s->items[j] & ~SCHED_INV);
        }
    } else if (op == OP_POW) {
        if (dag_is_const(s->items[1])) {
            put_pow(b, s->items[0], dag_rat(s->items[1]));
        } else { /* x^pi */
            buf_puts(b, "pow(");
            put_node(b, s->items[0]);
            buf_puts(b, ", ");
            put_node(b, s->items[1]);
            buf_puts(b, ")");
        }
    } else {
        if (has_helper[op])
            buf_printf(b, "%s_%s(", E.P, c_names[op]);
        else
            buf_printf(b, "%s(", c_names[op]);
        put_node(b, s->items[0]);
        buf_puts(b, ")");
    }
    E.reader = saved;
}

/* Whether text is one parenthesized group, "(x * x)" (not "(a) * (b)"). */
static bool one_group(const char *text, size_t n)
{
    int depth = 0;
    for (size_t i = 0; i < n && text[0] == '('; i++) {
        depth += text[i] == '(' ? 1 : text[i] == ')' ? -1 : 0;
        if (depth == 0)
            return i + 1 == n;
    }
    return false;
}

/* A step read once, written where it is read: in parentheses where the reader's operation
 * would otherwise change its order of evaluation (a sum in a sum, a product in a product),
 * so the value is the temporary's, rounding included. */
static void put_inlined(Buf *b, const Step *s)
{
    Op op = dag_op(s->node), r = E.reader;
    size_t at = b->len;
    bool call = op != OP_ADD && op != OP_MUL && op != OP_POW;
    bool bare = r == OP_NONE || call || (r != OP_ADD && r != OP_MUL && r != OP_POW) || (r == OP_ADD && op == OP_MUL);
    put_expr(b, s);
    if (bare && !(r == OP_ADD && b->data[at] == '-')) /* a + -x*y reads as a + (-x*y) */
        return;
    if (one_group(b->data + at, b->len - at)) /* (x * x) needs no more */
        return;
    size_t end = b->len;
    buf_puts(b, "()");
    memmove(b->data + at + 1, b->data + at, end - at);
    b->data[at] = '(';
    b->data[end + 1] = ')';
}

/* One step: a temporary, or nothing when put_body_inlined found it read once: it is written
 * where it is read. */
static void put_step(Buf *b, const Step *s)
{
    Node n = s->node;
    Op op = dag_op(n);
    if (E.uses && n < E.limit && E.uses_stamp[n] == E.cur && E.uses[n] == 1) {
        E.stamp[n] = E.cur;
        E.temp[n] = 0;
        E.inlined[n] = s;
        return;
    }
    buf_printf(b, "%sconst double t%u = ", E.indent, E.ntemps);
    put_expr(b, s);
    buf_puts(b, ";\n");
    if (E.checked) { /* the operands' test, run only when the result is not finite */
        Buf ops = {0};
        bool division = false;
        uint32_t nops = op == OP_ADD || op == OP_MUL ? s->nitems : op == OP_POW ? 2 : 1;
        for (uint32_t i = 0; i < nops; i++) {
            Node x = s->items[i] & ~SCHED_INV;
            division |= op == OP_MUL && (s->items[i] & SCHED_INV);
            if (dag_is_const(x))
                continue;
            buf_puts(&ops, " && isfinite(");
            put_node(&ops, x);
            buf_puts(&ops, ")");
        }
        char name[16];
        snprintf(name, sizeof name, "t%u", E.ntemps);
        checked_step(b, E.indent, E.P, name, n, division, ops.data ? ops.data : "");
        buf_free(&ops);
    }
    if (n >= E.limit)
        fatal("emit: node %u is newer than the tables", n);
    E.stamp[n] = E.cur;
    E.temp[n] = ++E.ntemps;
}

static void put_steps(Buf *b, const Schedule *s, int depth);

/* Forgets the temporaries of a loop's body: they end with its block. */
static void forget(const Schedule *s)
{
    for (uint32_t i = 0; i < s->nsteps; i++) {
        if (s->steps[i].loop)
            forget(&s->steps[i].loop->body);
        else
            E.stamp[s->steps[i].node] = 0;
    }
}

/* One loop over rows: accumulators s<k>[], the body's steps per row, then each sum as a
 * temporary. The outermost loops split across threads under OpenMP, the arrays reduced. */
/* s<id>[k] += the body of sum k. */
static void put_accumulate(Buf *b, const char *in, uint32_t id, uint32_t k, Node x)
{
    buf_printf(b, "%s    s%u[%u] += ", in, id, k);
    put_node(b, x);
    buf_puts(b, ";\n");
}

/* One loop over rows: accumulators s<k>[], the body's steps per row, then each sum as a
 * temporary. The outermost loops split across threads under OpenMP, the arrays reduced.
 * Each sum is accumulated right after the step that computes its body: the row's values are
 * then short-lived, where accumulating all of them at the end of the row kept every one alive
 * (spilled to the stack) through it. */
static void put_outlined_loop(Buf *b, const Loop *l);
static void put_loop(Buf *b, const Loop *l, int depth);
static void put_ring_loop(Buf *b, const Loop *l);

/* The body of a loop over rows and its closing brace: the steps of a row, each sum
 * accumulated right after the step that computes its body (the row's values are then
 * short-lived, where accumulating all of them at the end of the row kept every one alive,
 * spilled to the stack, through it). */
/* A loop's sums s<id>[n], declared and zeroed before it. */
static void put_accumulators(Buf *b, const char *in, uint32_t id, uint32_t n)
{
    buf_printf(b, "%sdouble s%u[%u];\n", in, id, n);
    buf_printf(b, "%sfor (size_t k = 0; k < %u; k++)\n%s    s%u[k] = 0.0;\n", in, n, in, id);
}

static void put_loop_body(Buf *b, const Loop *l, int depth, uint32_t id)
{
    const char *in = indent_of(depth);
    uint32_t *next = xmalloc(sizeof(uint32_t) * (l->nsums ? l->nsums : 1));
    uint32_t *first = xcalloc(E.limit, sizeof(uint32_t)); /* node -> 1 + its first sum */
    for (uint32_t k = l->nsums; k-- > 0;) {
        Node body = dag_args(l->sums[k])[0];
        next[k] = first[body];
        first[body] = k + 1;
    }
    const char *saved = E.indent;
    E.indent = indent_of(depth + 1);
    for (uint32_t i = 0; i <= l->body.nsteps; i++) {
        /* before the first step: sums of a leaf (sum(i, y[i])); after each: those of its node */
        const Step *st = i ? &l->body.steps[i - 1] : NULL;
        if (st && depth == 1 && E.ring_mode == RING_PAIRED && !E.ring->paired[i - 1])
            continue; /* read by the inner loops alone, in the visiting function */
        if (st && st->loop)
            put_loop(b, st->loop, depth + 1);
        else if (st)
            put_step(b, st);
        uint32_t nn = !st ? l->nsums : st->loop ? st->loop->nsums : 1;
        for (uint32_t j = 0; j < nn; j++) {
            Node x = !st ? dag_args(l->sums[j])[0] : st->loop ? st->loop->sums[j] : st->node;
            if (!st && dag_nargs(x) != 0)
                continue;
            for (uint32_t k = first[x]; k; k = next[k - 1])
                put_accumulate(b, in, id, k - 1, x);
            first[x] = 0; /* a leaf may be the body of several sums: each once */
        }
    }
    for (uint32_t k = 0; k < l->nsums; k++) { /* a body no step named (none, so far): at the end */
        Node x = dag_args(l->sums[k])[0];
        for (uint32_t q = first[x]; q; q = next[q - 1])
            put_accumulate(b, in, id, q - 1, x);
        first[x] = 0;
    }
    E.indent = saved;
    free(first);
    free(next);
    buf_printf(b, "%s}\n", in);
    forget(&l->body);
}

/* Texts made of the prefix and the user's names, which have no length limit: formatted into
 * the heap, kept until the file is written (pool_release). */
static struct {
    char **v;
    size_t n, cap;
} pool;

static char *efmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *efmt(const char *fmt, ...)
{
    char *text;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        fatal("out of memory");
    va_end(ap);
    if (pool.n == pool.cap)
        pool.v = xrealloc(pool.v, sizeof(char *) * (pool.cap = pool.cap ? 2 * pool.cap : 16));
    return pool.v[pool.n++] = text;
}

static void pool_release(void)
{
    for (size_t i = 0; i < pool.n; i++)
        free(pool.v[i]);
    free(pool.v);
    memset(&pool, 0, sizeof pool);
}

/* A row count as locals: N_name, the rows the data struct holds (the loops' bound), and T_name,
 * the whole data set's as a double (the count as a value: a mean's divisor); they differ only in
 * a part of the rows (M_data_part). */
static void put_count_locals(Buf *b, const char *data, uint32_t s)
{
    const char *z = E.m->sizes[s].name;
    buf_printf(b, "    const size_t N_%s = %s->%s;\n    (void)N_%s;\n", z, data, z, z);
    buf_printf(b,
               "    const double T_%s = %s->hessgen_part.total != NULL ? (double)%s->hessgen_part.total[%u] : "
               "(double)N_%s;\n    (void)T_%s;\n",
               z, data, data, s, z, z);
}

/* A row loop's count, malloc'd: the number for a fixed count, N_name for a run-time one (a
 * size's name is the user's identifier, of any length). */
static char *loop_count(const Model *m, const Loop *l)
{
    Buf b = {0};
    if (m->sizes[l->size].count >= 0)
        buf_printf(&b, "%ld", m->sizes[l->size].count);
    else
        buf_printf(&b, "N_%s", m->sizes[l->size].name);
    return b.data;
}

/* A loop over rows: outermost ones are functions of their own (put_outlined_loop); a loop
 * inside one runs inline, accumulating into its local s<k>[]. */
static void put_loop(Buf *b, const Loop *l, int depth)
{
    if (depth == 1) {
        put_outlined_loop(b, l);
        return;
    }
    if (E.ring_mode != RING_NONE && depth == 2 && E.m->sizes[l->size].count < 0) {
        put_ring_loop(b, l);
        return;
    }
    const char *in = indent_of(depth);
    char *size = loop_count(E.m, l); /* N_n for a run-time count, the number for a fixed one */
    uint32_t id = E.nloops++;
    unsigned r = l->level;
    put_accumulators(b, in, id, l->nsums);
    buf_printf(b, "%sfor (size_t r%u = 0; r%u < %s; r%u++) {\n", in, r, r, size, r);
    free(size);
    put_loop_body(b, l, depth, id);
    for (uint32_t k = 0; k < l->nsums; k++) {
        Node x = l->sums[k];
        buf_printf(b, "%sconst double t%u = s%u[%u];\n", in, E.ntemps, id, k);
        if (E.ring_mode != RING_NONE) /* a Ring's function may read only some of a table loop's sums */
            buf_printf(b, "%s(void)t%u;\n", in, E.ntemps);
        E.stamp[x] = E.cur;
        E.temp[x] = ++E.ntemps;
    }
}

/* Whether a schedule holds a loop over run-time rows, at any depth. */
static bool has_rows_loop(const Schedule *s)
{
    for (uint32_t i = 0; i < s->nsteps; i++) {
        const Loop *l = s->steps[i].loop;
        if (l && (E.m->sizes[l->size].count < 0 || has_rows_loop(&l->body)))
            return true;
    }
    return false;
}

static void mark_reads(const Schedule *s, uint8_t *mark);

/* Marks what a loop reads: its steps' operands and its sums' bodies. */
static void mark_loop_reads(const Loop *l, uint8_t *mark)
{
    mark_reads(&l->body, mark);
    for (uint32_t k = 0; k < l->nsums; k++)
        mark[dag_args(l->sums[k])[0]] = 1;
}

static void mark_reads(const Schedule *s, uint8_t *mark)
{
    for (uint32_t i = 0; i < s->nsteps; i++) {
        const Step *st = &s->steps[i];
        if (st->loop)
            mark_loop_reads(st->loop, mark);
        else
            for (uint32_t k = 0; k < st->nitems; k++)
                mark[st->items[k] & ~SCHED_INV] = 1;
    }
}

/* Whether a schedule has a loop over rows inside a loop over rows (pairs of rows). */
static bool has_pairs(const Schedule *s)
{
    for (uint32_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].loop && has_rows_loop(&s->steps[i].loop->body))
            return true;
    return false;
}

static void ring_free(Ring *r)
{
    free(r->inner);
    free(r->off);
    free(r->needed);
    free(r->paired);
    memset(r, 0, sizeof *r);
}

/* How the outermost loop l runs over parts of the rows: NULL with r->ninner 0 when its body holds
 * no loop over rows; NULL with the inner loops in r when the parts' rows can visit each other;
 * else why not (r is then empty). The inner sums of a row must not feed another inner loop of
 * the same row: that would take one round of visits per link of the chain. */
static const char *ring_plan(const Loop *l, Ring *r)
{
    memset(r, 0, sizeof *r);
    const Schedule *body = &l->body;
    if (!has_rows_loop(body))
        return NULL;
    if (E.m->sizes[l->size].count >= 0)
        return "the loss sums over rows for each entry of a constant table: a part would need every row";
    r->outer = l;
    r->inner = xmalloc(sizeof(Loop *) * (body->nsteps + 1));
    r->off = xmalloc(sizeof(uint32_t) * (body->nsteps + 1));
    r->needed = xcalloc(body->nsteps + 1, sizeof(bool));
    uint8_t *mark = xcalloc(E.limit, 1);
    const char *why = NULL;
    for (uint32_t i = 0; i < body->nsteps && !why; i++) {
        const Loop *in = body->steps[i].loop;
        if (!in)
            continue;
        if (E.m->sizes[in->size].count >= 0) {
            if (has_rows_loop(&in->body))
                why = "the loss sums over rows inside a loop over a constant table inside a loop over rows";
            continue;
        }
        if (has_rows_loop(&in->body))
            why = "the loss sums over rows inside a sum over rows inside another (three levels of rows)";
        r->inner[r->ninner] = in;
        r->off[r->ninner++] = r->width;
        r->width += in->nsums;
        mark_loop_reads(in, mark);
    }
    for (uint32_t i = body->nsteps; i-- > 0 && !why;) { /* what the inner loops read, from the last back */
        const Step *st = &body->steps[i];
        if (!st->loop) {
            if (mark[st->node]) {
                r->needed[i] = true;
                for (uint32_t k = 0; k < st->nitems; k++)
                    mark[st->items[k] & ~SCHED_INV] = 1;
            }
            continue;
        }
        bool read = false;
        for (uint32_t k = 0; k < st->loop->nsums; k++)
            read |= mark[st->loop->sums[k]] != 0;
        if (!read)
            continue;
        if (E.m->sizes[st->loop->size].count < 0)
            why = "for each row, a sum over rows uses another sum over rows of the same row (each part's rows "
                  "would have to visit the others once per link)";
        r->needed[i] = true;
        mark_loop_reads(st->loop, mark);
    }
    /* what the paired function computes: what the loop's sums read, less the inner loops' reads */
    r->paired = xcalloc(body->nsteps + 1, sizeof(bool));
    memset(mark, 0, E.limit);
    for (uint32_t k = 0; k < l->nsums; k++)
        mark[dag_args(l->sums[k])[0]] = 1;
    for (uint32_t i = body->nsteps; i-- > 0 && !why;) {
        const Step *st = &body->steps[i];
        if (st->loop && E.m->sizes[st->loop->size].count < 0) {
            r->paired[i] = true; /* its sums, read from acc */
        } else if (st->loop) {
            for (uint32_t k = 0; k < st->loop->nsums; k++)
                r->paired[i] |= mark[st->loop->sums[k]] != 0;
            if (r->paired[i])
                mark_loop_reads(st->loop, mark);
        } else if (mark[st->node]) {
            r->paired[i] = true;
            for (uint32_t k = 0; k < st->nitems; k++)
                mark[st->items[k] & ~SCHED_INV] = 1;
        }
    }
    free(mark);
    if (why)
        ring_free(r);
    return why;
}

/* In the functions of a Ring: an inner loop over rows. RING_VISIT: over the visiting part's rows
 * (NV_name, V_name), its sums added to the row's in acc; RING_PAIRED: its sums read from acc. */
static void put_ring_loop(Buf *b, const Loop *l)
{
    const Ring *rg = E.ring;
    uint32_t q = 0;
    while (q < rg->ninner && rg->inner[q] != l)
        q++;
    if (q == rg->ninner)
        fatal("emit: a loop over rows that its ring does not list");
    const char *in = indent_of(2);
    unsigned r0 = rg->outer->level;
    if (E.ring_mode == RING_PAIRED) {
        for (uint32_t k = 0; k < l->nsums; k++) {
            buf_printf(b, "%sconst double t%u = acc[(r%u - row_begin) * %u + %u];\n", in, E.ntemps, r0, rg->width,
                       rg->off[q] + k);
            E.stamp[l->sums[k]] = E.cur;
            E.temp[l->sums[k]] = ++E.ntemps;
        }
        return;
    }
    uint32_t id = E.nloops++;
    unsigned r = l->level;
    put_accumulators(b, in, id, l->nsums);
    buf_printf(b, "%sfor (size_t r%u = 0; r%u < NV_%s; r%u++) {\n", in, r, r, E.m->sizes[l->size].name, r);
    int saved = E.visit_level;
    E.visit_level = (int)r;
    put_loop_body(b, l, 2, id);
    E.visit_level = saved;
    buf_printf(b, "%sfor (size_t k = 0; k < %u; k++)\n%s    acc[(r%u - row_begin) * %u + %u + k] += s%u[k];\n", in,
               l->nsums, in, r0, rg->width, rg->off[q], id);
}

/* RING_VISIT's row: the inner loops, and the steps of the row they read. */
static void put_visit_body(Buf *b, const Loop *l)
{
    const char *saved = E.indent;
    E.indent = indent_of(2);
    for (uint32_t i = 0; i < l->body.nsteps; i++) {
        const Step *st = &l->body.steps[i];
        if (st->loop && E.m->sizes[st->loop->size].count < 0)
            put_ring_loop(b, st->loop);
        else if (E.ring->needed[i] && st->loop)
            put_loop(b, st->loop, 2);
        else if (E.ring->needed[i])
            put_step(b, st);
    }
    E.indent = saved;
    buf_printf(b, "%s}\n", indent_of(1));
    forget(&l->body);
}

/* The text of an outlined loop's function after its first line: the loop itself (RING_NONE), or
 * one of its ring's two functions. Its temporaries and loops are numbered from 0, so that the
 * same loop in two functions (M_hess and M_hess_sparse) is the same text, written once. */
static char *loop_text(const Loop *l, int mode)
{
    const Model *m = E.m;
    Buf f = {0};
    E.cur = ++E.gen;
    E.ntemps = 0;
    E.nloops = 1;
    E.ring_mode = mode;
    buf_puts(&f, "    (void)theta;\n    (void)v;\n    (void)inv;\n");
    if (m->ndata) {
        buf_printf(&f, "    const %s_data *const dp = (const %s_data *)data;\n", E.P, E.P);
        for (uint32_t z = 0; z < m->nsizes; z++)
            put_count_locals(&f, "dp", z);
        for (uint32_t a = 0; a < m->ndata; a++)
            buf_printf(&f, "    const double *const D_%s = dp->%s;\n    (void)D_%s;\n", m->data[a].name,
                       m->data[a].name, m->data[a].name);
    } else {
        buf_puts(&f, "    (void)data;\n");
    }
    if (mode == RING_VISIT) { /* the visiting part's rows */
        buf_printf(&f, "    const %s_data *const vp = (const %s_data *)visit;\n", E.P, E.P);
        for (uint32_t z = 0; z < m->nsizes; z++)
            buf_printf(&f, "    const size_t NV_%s = vp->%s;\n    (void)NV_%s;\n", m->sizes[z].name, m->sizes[z].name,
                       m->sizes[z].name);
        for (uint32_t a = 0; a < m->ndata; a++)
            if (m->data[a].size != NO_SIZE && !m->data[a].values)
                buf_printf(&f, "    const double *const V_%s = vp->%s;\n    (void)V_%s;\n", m->data[a].name,
                           m->data[a].name, m->data[a].name);
    } else {
        buf_printf(&f, "    for (size_t k = 0; k < %u; k++)\n        s0[k] = 0.0;\n", l->nsums);
    }
    if (!E.checked && mode == RING_VISIT) /* each row adds into its own part of acc */
        buf_puts(&f, "#ifdef _OPENMP\n#pragma omp parallel for schedule(static) if (row_end - row_begin >= 64)\n"
                     "#endif\n");
    else if (!E.checked) /* checked code keeps one state: no threads */
        buf_printf(&f,
                   "#ifdef _OPENMP\n#pragma omp parallel for schedule(static) reduction(+: s0[:%u]) if (row_end - "
                   "row_begin >= 1024)\n#endif\n",
                   l->nsums);
    buf_printf(&f, "    for (size_t r%u = row_begin; r%u < row_end; r%u++) {\n", l->level, l->level, l->level);
    if (mode == RING_VISIT)
        put_visit_body(&f, l);
    else
        put_loop_body(&f, l, 1, 0);
    buf_puts(&f, "}\n\n");
    E.ring_mode = RING_NONE;
    return f.data;
}

/* The number of the loop function with this text, written into E.pre when it is new. */
static uint32_t loop_function(char *text, int mode)
{
    static const char *const kinds[] = {"rows", "visit", "paired"};
    static const char *const params[] = {
        "size_t row_begin, size_t row_end, const double *inv, double *s0",
        "const void *visit, size_t row_begin, size_t row_end, const double *inv, double *acc",
        "size_t row_begin, size_t row_end, const double *inv, const double *acc, double *s0",
    };
    uint32_t fn = 0;
    while (fn < E.nfuncs && (E.fn_mode[fn] != mode || strcmp(E.fn_text[fn], text) != 0))
        fn++;
    if (fn < E.nfuncs) {
        free(text);
        return fn;
    }
    E.fn_text = xrealloc(E.fn_text, sizeof(char *) * (E.nfuncs + 1));
    E.fn_mode = xrealloc(E.fn_mode, sizeof(int) * (E.nfuncs + 1));
    E.fn_mode[E.nfuncs] = mode;
    E.fn_text[E.nfuncs++] = text;
    buf_printf(&E.pre,
               "static %s_NOINLINE void %s_%s%u(const double *theta, const double *v, const void *data, %s)\n{\n", E.P,
               E.P, kinds[mode], fn, params[mode]);
    buf_puts(&E.pre, text);
    return fn;
}

/* An outermost loop over rows as a function of its own, called where the loop would be: gcc
 * compiles the long body of a row far better alone than inside the function that uses its sums
 * (a logistic regression's Hessian, bench/data: 81 ms inline, 43 ms outlined). It takes the
 * caller's temporaries it reads in inv[], the range of rows, and the array of its sums. With
 * loops over rows in its body (pairs of rows), a part of the rows runs its Ring instead. */
static void put_outlined_loop(Buf *b, const Loop *l)
{
    const Model *m = E.m;
    uint32_t id = E.nloops++;
    char *size = loop_count(m, l);
    bool split = l->level == 0 && E.split_size == (int)l->size;
    Ring ring;
    const char *why = ring_plan(l, &ring);
    if (why)
        E.no_part = why;

    /* 1. the loop's functions, into E.pre */
    uint32_t saved_cur = E.cur, saved_outer = E.outer_cur, saved_ninv = E.ninv;
    uint32_t saved_ntemps = E.ntemps, saved_nloops = E.nloops;
    E.outer_cur = E.cur;
    E.inv_cur = ++E.gen;
    E.ninv = 0; /* the caller's temporaries the functions read: one inv[] for all of them */
    uint32_t fn = loop_function(loop_text(l, RING_NONE), RING_NONE), fv = 0, fp = 0;
    if (ring.ninner) {
        E.has_ring = true;
        E.ring = &ring;
        fv = loop_function(loop_text(l, RING_VISIT), RING_VISIT);
        fp = loop_function(loop_text(l, RING_PAIRED), RING_PAIRED);
        E.ring = NULL;
    }
    E.ntemps = saved_ntemps;
    E.nloops = saved_nloops;
    uint32_t ninv = E.ninv;
    Node *inv = xmalloc(sizeof(Node) * (ninv ? ninv : 1));
    if (ninv)
        memcpy(inv, E.inv, sizeof(Node) * ninv);
    E.cur = saved_cur;
    E.outer_cur = saved_outer;
    E.ninv = saved_ninv;

    /* 2. the call */
    buf_printf(b, "    double s%u[%u];\n", id, l->nsums);
    char invs[32] = "NULL";
    if (ninv) {
        buf_printf(b, "    const double inv%u[%u] = {", id, ninv);
        for (uint32_t q = 0; q < ninv; q++) {
            buf_puts(b, q ? ", " : "");
            put_node(b, inv[q]);
        }
        buf_puts(b, "};\n");
        snprintf(invs, sizeof invs, "inv%u", id);
    }
    free(inv);
    const char *begin = split ? "row_begin" : "0", *end = split ? "row_end" : size;
    const char *vv = E.has_v ? "v" : "NULL", *dd = m->ndata ? "data" : "NULL";
    const char *in = "    ";
    if (ring.ninner) {
        buf_printf(b,
                   "    if (data->hessgen_part.visit != NULL) { /* pairs of rows: every part's rows visit these */\n"
                   "        const size_t n%u = %s - %s;\n"
                   "        double *acc%u = n%u <= (size_t)-1 / %u / sizeof(double)\n"
                   "                            ? (double *)calloc(n%u ? n%u * %u : 1, sizeof(double)) : NULL;\n"
                   "        const void *vis%u = data;\n"
                   "        for (size_t k = 1; vis%u != NULL; k++) { /* every part calls visit as often */\n"
                   "            if (acc%u != NULL)\n"
                   "                %s_visit%u(theta, %s, data, vis%u, %s, %s, %s, acc%u);\n"
                   "            vis%u = data->hessgen_part.visit(data->hessgen_part.ctx, k);\n"
                   "        }\n"
                   "        if (acc%u != NULL)\n"
                   "            %s_paired%u(theta, %s, data, %s, %s, %s, acc%u, s%u);\n"
                   "        else\n"
                   "            for (size_t k = 0; k < %u; k++)\n"
                   "                s%u[k] = NAN;\n"
                   "        free(acc%u);\n"
                   "    } else {\n",
                   id, end, begin, id, id, ring.width, id, id, ring.width, id, id, id, E.P, fv, vv, id, begin, end,
                   invs, id, id, id, E.P, fp, vv, begin, end, invs, id, id, l->nsums, id, id);
        in = "        ";
    }
    buf_printf(b, "%s%s_rows%u(theta, %s, %s, %s, %s, %s, s%u);\n", in, E.P, fn, vv, dd, begin, end, invs, id);
    if (ring.ninner)
        buf_puts(b, "    }\n");
    ring_free(&ring);
    free(size);
    /* over all the rows: the sums of every part of them (a split loop's caller adds its outputs) */
    if (!split && m->ndata && m->sizes[l->size].count < 0)
        buf_printf(b, "    %s_reduce1(data, s%u, %u);\n", E.P, id, l->nsums);
    for (uint32_t k = 0; k < l->nsums; k++) {
        Node x = l->sums[k];
        buf_printf(b, "    const double t%u = s%u[%u];\n", E.ntemps, id, k);
        E.stamp[x] = E.cur;
        E.temp[x] = ++E.ntemps;
    }
}

/* Puts the loop functions written for the function that started at E.fstart before it. */
static void function_end(Buf *b)
{
    if (E.pre.len == 0)
        return;
    size_t tail = b->len - E.fstart;
    buf_put(b, E.pre.data, E.pre.len); /* grows b; then rotate the function behind the loops */
    char *tmp = xmalloc(tail);
    memcpy(tmp, b->data + E.fstart, tail);
    memmove(b->data + E.fstart, b->data + E.fstart + tail, E.pre.len);
    memcpy(b->data + E.fstart + E.pre.len, tmp, tail);
    free(tmp);
    E.pre.len = 0;
}

static void put_steps(Buf *b, const Schedule *s, int depth)
{
    const char *saved = E.indent;
    E.indent = indent_of(depth);
    for (uint32_t i = 0; i < s->nsteps; i++) {
        if (s->steps[i].loop)
            put_loop(b, s->steps[i].loop, depth);
        else
            put_step(b, &s->steps[i]);
    }
    E.indent = saved;
}

/* A function body begins: its own temporaries and accumulators. */
static void begin_body(void)
{
    E.cur = ++E.gen;
    E.ntemps = 0;
    E.nloops = 0;
}

/* The steps of one function body. */
static void put_body(Buf *b, const Schedule *s)
{
    begin_body();
    put_steps(b, s, 1);
}

static void count_read(Node x, uint32_t k)
{
    Op op = dag_op(x);
    if (op == OP_CONST || op == OP_PI || op == OP_PARAM || op == OP_DIR || op == OP_DATA || op == OP_NROWS)
        return;
    if (E.uses_stamp[x] != E.cur) {
        E.uses_stamp[x] = E.cur;
        E.uses[x] = 0;
    }
    E.uses[x] += k;
}

/* A straight-line body whose temporaries read once are written inside their reader: a
 * Hessian entry e^P*p_i*p_j + 12*S^2 is one line instead of four (a third of the C of
 * exp(prod x) over 20 parameters). The reads counted are the steps' items (a power's base
 * twice: x*x writes it twice), those of `later` (the gradient's own steps of a Hessian body),
 * the stores o1 and o2 and the returned loss. Not with --checked, which tests every
 * temporary, nor in a body with loops, whose temporaries are read across them. */
static void put_body_inlined(Buf *b, const Schedule *s, const Schedule *later, const Node *o1, uint32_t n1,
                             const Node *o2, uint32_t n2, Node loss)
{
    begin_body();
    const Schedule *ss[2] = {s, later};
    bool loops = false;
    for (int k = 0; k < 2 && ss[k]; k++)
        for (uint32_t i = 0; i < ss[k]->nsteps; i++)
            loops |= ss[k]->steps[i].loop != NULL;
    if (!loops && !E.checked && E.loop_shift == 0) {
        for (int k = 0; k < 2 && ss[k]; k++)
            for (uint32_t i = 0; i < ss[k]->nsteps; i++) {
                const Step *st = &ss[k]->steps[i];
                for (uint32_t j = 0; j < st->nitems; j++)
                    count_read(st->items[j] & ~SCHED_INV, dag_op(st->node) == OP_POW ? 2 : 1);
            }
        for (uint32_t i = 0; i < n1; i++)
            count_read(o1[i], 1);
        for (uint32_t i = 0; i < n2; i++)
            count_read(o2[i], 1);
        if (loss)
            count_read(loss, 1);
    }
    put_steps(b, s, 1);
}

/* array[i] = node; for each output */
static void put_outputs(Buf *b, const char *indent, const char *array, const Node *nodes, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        buf_printf(b, "%s%s[%u] = ", indent, array, i);
        put_node(b, nodes[i]);
        buf_puts(b, ";\n");
    }
}

/* The gradient of a Hessian function: its own steps (those the Hessian does not share) and
 * its stores, all inside `if (grad != NULL)`, so a caller who passes NULL pays for neither. */
static void put_optional_grad(Buf *b, const Schedule *extra, const Deriv *d)
{
    buf_puts(b, "    if (grad != NULL) {\n");
    E.indent = "        ";
    for (uint32_t i = 0; i < extra->nsteps; i++)
        put_step(b, &extra->steps[i]);
    E.indent = "    ";
    put_outputs(b, "        ", "grad", d->grad, d->n);
    buf_puts(b, "    }\n");
}

static void put_return(Buf *b, Node loss)
{
    buf_puts(b, "    return ");
    put_node(b, loss);
    buf_puts(b, ";\n}\n\n");
}

/* A function's end: with --checked, its outputs scanned for the fault in order (the loss when
 * it returns one, the gradient, then `second`, with its layout for P_bad), then the return. */
static void put_end_text(Buf *b, const char *fn, const char *loss, bool grad, const char *second, const char *quantity,
                         int layout, const char *count);

static void put_end(Buf *b, const char *fn, Node loss, bool grad, const char *second, const char *quantity, int layout,
                    const char *count)
{
    Buf text = {0};
    if (loss)
        put_node(&text, loss);
    put_end_text(b, fn, loss ? text.data : NULL, grad, second, quantity, layout, count);
    buf_free(&text);
}

/* put_end's checked part, the loss (if any) given as its C text. */
static void put_end_text(Buf *b, const char *fn, const char *loss, bool grad, const char *second, const char *quantity,
                         int layout, const char *count)
{
    const char *P = E.P;
    if (!E.checked) {
        if (loss)
            buf_printf(b, "    return %s;\n}\n\n", loss);
        else
            buf_puts(b, "}\n\n");
        return;
    }
    const char *sep = "    (void)(";
    if (loss) {
        buf_printf(b, "    const double loss_ = %s", loss);
        buf_printf(b, ";\n%s%s_bad(\"%s_%s\", \"loss\", &loss_, 1, 0)", sep, P, P, fn);
        sep = " ||\n           ";
    }
    if (grad) {
        buf_printf(b, "%s(grad != NULL && %s_bad(\"%s_%s\", \"gradient\", grad, %s_NPARAM, 1))", sep, P, P, fn, P);
        sep = " ||\n           ";
    }
    if (second)
        buf_printf(b, "%s%s_bad(\"%s_%s\", \"%s\", %s, %s, %d)", sep, P, P, fn, quantity, second, count, layout);
    buf_puts(b, ");\n");
    buf_puts(b, loss ? "    return loss_;\n}\n\n" : "}\n\n");
}

/* With --checked, an evaluation starts by forgetting the last fault and testing theta (and v). */
static void put_enter(Buf *b, bool v)
{
    if (E.checked)
        buf_printf(b, "    %s_enter(theta, %s);\n", E.P, v ? "v" : "NULL");
}

/* Whether the file is checked: --checked, or --checked=auto where every value is tested anyway
 * (straight-line code, or array loops; not the loops over families). The C and the header
 * decide alike. */
enum { REROLL_MIN_PARAMS = 100 }; /* models with fewer parameters are straight-line */

static long reroll_threshold(void)
{
    /* HESSGEN_REROLL_MIN overrides the threshold: the tests run small models through loops too */
    const char *env = getenv("HESSGEN_REROLL_MIN");
    return env && *env ? strtol(env, NULL, 10) : REROLL_MIN_PARAMS;
}

static bool is_checked(const Model *m, const EmitOptions *o)
{
    if (E.dense_pattern) /* array loops: every value is tested inside the loops too */
        return o->checked != CHECKED_OFF;
    bool loops = m->nsizes + m->nfixed > 0;
    return o->checked == CHECKED_ON || (o->checked == CHECKED_AUTO && (loops || (long)m->nparam < reroll_threshold()));
}

/* The longest coordinate name's length, plus 1. */
static int name_max(const Model *m)
{
    size_t longest = 0;
    for (uint32_t i = 0; i < m->nparam; i++)
        if (strlen(m->param_names[i]) > longest)
            longest = strlen(m->param_names[i]);
    return (int)longest + 1;
}

/* The hessgen_model type: runtime/hessgen_model.h, which runtime/hessrt.h includes, turned into
 * a C string at configure time (CMakeLists.txt), so both sides read one text (version 2: with
 * the data set; 3: the fault of --checked code; 4: the parameters as declared arrays, their
 * names and start point written by functions, so that the file grows with the source, not N). */
static const char MODEL_TYPE[] =
#include "model_type.h"
    "\n";

/* The signature's data parameter, empty for a loss without data. */
static const char *data_param(void)
{
    static Buf s;
    if (E.m->ndata == 0)
        return "";
    s.len = 0;
    buf_printf(&s, ", const %s_data *data", E.P);
    return s.data;
}

static void put_data_struct(Buf *b, const Model *m)
{
    const char *P = E.P;
    buf_printf(b,
               "/* The data set, supplied at run time: one count per row count and one pointer per array,\n"
               "   row-major (X[i][j] is X[i * width + j]). */\n"
               "typedef struct %s_data {\n",
               P);
    for (uint32_t s = 0; s < m->nsizes; s++) {
        buf_printf(b, "    size_t %s; /* rows of", m->sizes[s].name);
        for (uint32_t a = 0; a < m->ndata; a++)
            if (m->data[a].size == s)
                buf_printf(b, " %s", m->data[a].name);
        buf_puts(b, " */\n");
    }
    for (uint32_t a = 0; a < m->ndata; a++) {
        const DataArray *d = &m->data[a];
        buf_printf(b, "    const double *%s; /* %s", d->name, d->name);
        for (int k = 0; k < d->ndims; k++) {
            if (k == 0 && d->size != NO_SIZE)
                buf_printf(b, "[%s]", m->sizes[d->size].name);
            else
                buf_printf(b, "[%ld]", d->dims[k]);
        }
        buf_puts(b, " */\n");
    }
    buf_printf(b,
               "    /* zero (as %s_data_bind leaves it): the rows above are the whole data set; else\n"
               "       a part of it (%s_data_part) */\n"
               "    hessgen_rows_part hessgen_part;\n",
               P, P);
    buf_printf(b, "} %s_data;\n\n", P);
    buf_printf(b,
               "/* 0 when data can be read: no NULL pointer, at least one row where the loss divides by\n"
               "   the count (a mean), no count so large that an index overflows; else an error code, which\n"
               "   %s_data_error explains. The evaluation functions check too and return NaN. */\n",
               P);
    buf_printf(b, "int %s_data_check(const %s_data *data);\n", P, P);
    buf_printf(b, "const char *%s_data_error(int code);\n", P);
    buf_printf(b,
               "/* Fills data from counts[%u] (one per row count, in the order above) and arrays[%u];\n"
               "   returns %s_data_check. */\n",
               m->nsizes, m->ndata, P);
    buf_printf(b, "int %s_data_bind(%s_data *data, const size_t *counts, const double *const *arrays);\n", P, P);
    buf_printf(b,
               "/* After %s_data_bind: the rows bound are one part of a data set of total[%u] rows (one per\n"
               "   row count); first: this part adds the terms free of rows; reduce(ctx, ...) adds arrays\n"
               "   over all the parts, and every part calls it at the same points (hessgen_rows_part).\n"
               "   Returns %s_data_check over the whole data set's counts (%s_data_bind's sees this part's\n"
               "   alone), or -1 where the loss cannot be split (the descriptor's no_part says why). */\n",
               P, m->nsizes, P, P);
    buf_printf(b,
               "int %s_data_part(%s_data *data, const size_t *total, int first, hessgen_reduce *reduce,\n"
               "                 hessgen_visit *visit, void *ctx);\n",
               P, P);
}

static void put_declarations(Buf *b, const Model *m, const Deriv *d, bool rows)
{
    const char *P = E.P, *D = data_param();
    buf_puts(b, MODEL_TYPE);
    buf_printf(b, "#define %s_NPARAM %u\n\n", P, m->nparam);
    if (m->ndata)
        put_data_struct(b, m);
    buf_printf(b, "/* The loss at theta[0..%s_NPARAM-1]. */\n", P);
    buf_printf(b, "double %s_loss(const double *theta%s);\n", P, D);
    buf_printf(b, "/* The gradient into grad[%s_NPARAM]; returns the loss. */\n", P);
    buf_printf(b, "double %s_grad(const double *theta%s, double *grad);\n", P, D);
    buf_printf(b,
               "/* The Hessian into hess[%s_NPARAM*%s_NPARAM], row-major, both triangles; the gradient\n"
               "   into grad unless it is NULL; returns the loss. */\n",
               P, P);
    buf_printf(b, "double %s_hess(const double *theta%s, double *grad, double *hess);\n", P, D);
    buf_printf(b, "/* The Hessian times v into hv[%s_NPARAM]. */\n", P);
    buf_printf(b, "void %s_hvp(const double *theta%s, const double *v, double *hv);\n", P, D);
    if (E.dense_pattern)
        buf_printf(b,
                   "/* The Hessian's lower triangle into values[%s_hess_nnz], row-major (entry (r, c) at\n"
                   "   r*(r+1)/2 + c); the gradient into grad unless NULL; returns the loss. */\n",
                   P);
    else
        buf_printf(b,
                   "/* The Hessian's lower-triangle nonzeros into values[%s_hess_nnz], in the order of\n"
                   "   %s_hess_rows and %s_hess_cols; the gradient into grad unless NULL; returns the loss. */\n",
                   P, P, P);
    buf_printf(b, "double %s_hess_sparse(const double *theta%s, double *grad, double *values);\n", P, D);
    buf_printf(b, "/* The same nonzeros alone, without the gradient. */\n");
    buf_printf(b, "void %s_hess_values(const double *theta%s, double *values);\n", P, D);
    if (rows) {
        buf_printf(b,
                   "/* What rows [begin, end) of '%s' add to the loss (returned), gradient (unless NULL) and\n"
                   "   Hessian (as %s_hess): the terms free of rows in the part with begin == 0, so the results\n"
                   "   for parts [0, b1), [b1, b2), ..., [bk, %s) add up to %s_hess (only one part may begin\n"
                   "   at 0: an empty [0, 0) would count those terms again). NaN if end > %s or begin > end. */\n",
                   m->sizes[0].name, P, m->sizes[0].name, P, m->sizes[0].name);
        buf_printf(
            b,
            "double %s_hess_row_range(const double *theta%s, size_t begin, size_t end, double *grad, double *hess);\n",
            P, D);
    } else if (m->ndata) {
        buf_printf(b,
                   "/* (No %s_hess_row_range: the loss is not a sum of row terms plus terms free of rows over a\n"
                   "   single row count, so its rows cannot be split into parts that add up.) */\n",
                   P);
    }
    if (E.dense_pattern) {
        buf_printf(b,
                   "/* The number of those entries (%u): all of the lower triangle, row-major, entry (r, c) at\n"
                   "   r*(r+1)/2 + c (%s_HESS_DENSE; there are no tables of rows and columns). */\n",
                   d->nnz, P);
        buf_printf(b, "#define %s_HESS_DENSE 1\nextern const int %s_hess_nnz;\n", P, P);
    } else {
        buf_printf(b, "/* The number of those nonzeros (%u), and their rows and columns (row >= col). */\n", d->nnz);
        buf_printf(b, "extern const int %s_hess_nnz;\n", P);
        buf_printf(b, "extern const int %s_hess_rows[];\n", P);
        buf_printf(b, "extern const int %s_hess_cols[];\n", P);
    }
    buf_printf(b,
               "/* The parameters as declared (%u), in theta's order: each one's name, place and dimensions. */\n"
               "#define %s_NPARAM_ARRAYS %u\n"
               "extern const hessgen_param_array %s_param_arrays[];\n",
               m->narrays, P, m->narrays, P);
    buf_printf(b,
               "/* Writes theta[k]'s name (\"w1\", \"w[0]\", \"M[1][2]\") into buf, cut to cap - 1 characters and\n"
               "   ended by a NUL when cap > 0; returns its whole length, or -1 when k is not in 0..%s_NPARAM-1.\n"
               "   No name is longer than %s_NAME_MAX - 1. */\n"
               "#define %s_NAME_MAX %d\n"
               "int %s_param_name(int k, char *buf, size_t cap);\n",
               P, P, P, name_max(m), P);
    buf_printf(b,
               "/* Writes the start point (the declared start values, 0 where none) into theta[%s_NPARAM]. */\n"
               "void %s_start(double *theta);\n",
               P, P);
    if (m->ndata)
        buf_printf(b, "/* All of the above for libhessrt (its data argument is a const %s_data *). */\n", P);
    else
        buf_printf(b, "/* All of the above for libhessrt (the data argument is ignored). */\n");
    buf_printf(b, "extern const hessgen_model %s_model;\n", P);
    if (E.checked)
        checked_declarations(b, P);
}

static void put_helpers(Buf *b, const bool used[OP__COUNT])
{
    const char *P = E.P;
    if (used[OP_SIGMOID])
        buf_printf(b,
                   "/* 1/(1+exp(-t)), with no overflow for t of either sign. */\n"
                   "static double %s_sigmoid(double t)\n{\n"
                   "    if (t >= 0)\n        return 1.0 / (1.0 + exp(-t));\n"
                   "    const double e = exp(t);\n    return e / (1.0 + e);\n}\n\n",
                   P);
    if (used[OP_SOFTPLUS])
        buf_printf(b,
                   "/* log(1+exp(t)), with no overflow for large t and no loss of digits for very negative t. */\n"
                   "static double %s_softplus(double t)\n{\n"
                   "    return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));\n}\n\n",
                   P);
    if (used[OP_SECH2])
        buf_printf(b,
                   "/* 1/cosh(t)^2 as 4e/(1+e)^2 with e = exp(-2|t|): no overflow, no inf/inf. */\n"
                   "static double %s_sech2(double t)\n{\n"
                   "    const double e = exp(-2.0 * fabs(t));\n    return 4.0 * e / ((1.0 + e) * (1.0 + e));\n}\n\n",
                   P);
    if (used[OP_RELU])
        buf_printf(b,
                   "/* max(t, 0); a NaN stays a NaN. */\n"
                   "static double %s_relu(double t)\n{\n    return t > 0 ? t : t <= 0 ? 0.0 : t;\n}\n\n",
                   P);
    if (used[OP_SIGN])
        buf_printf(
            b,
            "/* The derivative of fabs: the sign of t, 0 at 0 (the one-sided convention). */\n"
            "static double %s_sign(double t)\n{\n    return t > 0 ? 1.0 : t < 0 ? -1.0 : t == 0 ? 0.0 : t;\n}\n\n",
            P);
    if (used[OP_STEP])
        buf_printf(b,
                   "/* The derivative of relu: 1 for t > 0, 0 for t <= 0 (the one-sided convention). */\n"
                   "static double %s_step(double t)\n{\n    return t > 0 ? 1.0 : t <= 0 ? 0.0 : t;\n}\n\n",
                   P);
    if (used[OP_NONZERO])
        buf_printf(b,
                   "/* t, or 1 where t = 0: under a negative power of a sum of squares in a term that\n"
                   "   vanishes with the sum (its limit, 0, instead of inf * 0). */\n"
                   "static double %s_nonzero(double t)\n{\n    return t != 0 ? t : 1.0;\n}\n\n",
                   P);
}

/* ---- loops over families (models with many parameters) ---- */

static void put_hess_zero(Buf *b, const Deriv *d);

/* Models with at least this many parameters get loops over families of equal expressions;
 * smaller ones keep straight-line code (which their tests and readers know). */
enum { REROLL_MIN_FAMILY = 8, REROLL_MIN_TERMS = 64 };

/* One value a function stores: array[index] (and array[index2] when index2 >= 0: the other
 * triangle of a dense Hessian), or the returned loss when array is NULL. */
typedef struct {
    Node node;
    const char *array;
    int64_t index, index2;
    bool optional; /* stored only when array != NULL (the gradient of a Hessian function) */
} Store;

/* A run of one constant stored at index + k * di (and index2 + k * dj). */
typedef struct {
    uint32_t first, count;
    int64_t di, dj;
} CRun;

/* The steps of node n's own schedule inside a loop over k: every coordinate index moved by
 * k * shift, every temporary new (nothing computed outside the loop is reused). What the
 * nodes were before (a temporary outside the loop) comes back at member_end. */
typedef struct {
    Schedule s;
    uint32_t *stamp, *temp;
} Member;

static void member_begin(Member *mb, Buf *b, Node n, int64_t shift)
{
    sched_build(&mb->s, &n, 1, NULL);
    mb->stamp = xmalloc(sizeof(uint32_t) * (mb->s.nsteps + 1));
    mb->temp = xmalloc(sizeof(uint32_t) * (mb->s.nsteps + 1));
    for (uint32_t i = 0; i < mb->s.nsteps; i++) {
        mb->stamp[i] = E.stamp[mb->s.steps[i].node];
        mb->temp[i] = E.temp[mb->s.steps[i].node];
    }
    E.loop_shift = shift;
    put_steps(b, &mb->s, 2);
}

static void member_end(Member *mb)
{
    for (uint32_t i = 0; i < mb->s.nsteps; i++) {
        E.stamp[mb->s.steps[i].node] = mb->stamp[i];
        E.temp[mb->s.steps[i].node] = mb->temp[i];
    }
    free(mb->stamp);
    free(mb->temp);
    sched_free(&mb->s);
}

static void put_index(Buf *b, int64_t base, int64_t step)
{
    if (step == 0)
        buf_printf(b, "%lld", (long long)base);
    else if (base == 0)
        buf_printf(b, "%lld * k", (long long)step);
    else
        buf_printf(b, "%lld + %lld * k", (long long)base, (long long)step);
}

static uint32_t begin_loop(Buf *b, uint32_t count)
{
    buf_printf(b, "    for (size_t k = 0; k < %u; k++) {\n", count);
    uint32_t saved = E.cur;
    E.cur = ++E.gen; /* the loop's temporaries end with it */
    return saved;
}

static void end_loop(Buf *b, uint32_t saved)
{
    buf_puts(b, "    }\n");
    E.cur = saved;
    E.loop_shift = 0;
}

/* A function body in loops where the stores (or the terms of a long sum) come in families. */
static void put_rerolled(Buf *b, const Store *st, uint32_t n)
{
    /* 1. families of the values stored */
    Node *items = xmalloc(sizeof(Node) * (n ? n : 1));
    int64_t *keys = xmalloc(sizeof(int64_t) * 4 * (n ? n : 1));
    for (uint32_t i = 0; i < n; i++) {
        bool candidate = st[i].array && !dag_is_const(st[i].node) &&
                         !(dag_op(st[i].node) == OP_ADD && dag_nargs(st[i].node) >= REROLL_MIN_TERMS);
        items[i] = candidate ? st[i].node : 0;
        keys[4 * i] = st[i].array ? (int64_t)st[i].array[0] * 2 + st[i].optional : 0;
        keys[4 * i + 1] = st[i].index;
        keys[4 * i + 2] = st[i].index2;
        keys[4 * i + 3] = 0;
    }
    Family *fam;
    uint32_t nfam;
    reroll_find(items, n, keys, 4, REROLL_MIN_FAMILY, &fam, &nfam);
    bool *in_family = xcalloc(n ? n : 1, 1);
    for (uint32_t f = 0; f < nfam; f++)
        for (uint32_t k = 0; k < fam[f].count; k++)
            in_family[fam[f].members[k]] = true;
    /* runs of one constant stored at evenly spaced places (a Hessian's constant diagonal) */
    uint32_t *cst = xmalloc(sizeof(uint32_t) * (n ? n : 1)), ncst = 0;
    for (uint32_t i = 0; i < n; i++)
        if (st[i].array && dag_is_const(st[i].node))
            cst[ncst++] = i;
    CRun *runs = NULL;
    uint32_t nruns = 0;
    for (uint32_t s = 0; s + 1 < ncst;) {
        const Store *a = &st[cst[s]];
        uint32_t e = s + 1;
        int64_t di = st[cst[e]].index - a->index, dj = st[cst[e]].index2 - a->index2;
        while (e < ncst) {
            const Store *z = &st[cst[e]];
            int64_t k = e - s;
            if (z->node != a->node || z->array != a->array || z->optional != a->optional ||
                z->index != a->index + k * di || z->index2 != a->index2 + k * dj || (a->index2 < 0) != (z->index2 < 0))
                break;
            e++;
        }
        if (e - s >= REROLL_MIN_FAMILY) {
            runs = xrealloc(runs, sizeof(CRun) * (nruns + 1));
            runs[nruns++] = (CRun){cst[s], e - s, di, dj};
            for (uint32_t t = s; t < e; t++)
                in_family[cst[t]] = true;
            s = e;
        } else {
            s++;
        }
    }
    free(cst);

    /* 2. long sums stored outside a family: families of their terms */
    typedef struct {
        Node sum;
        Family *f;
        uint32_t nf;
        bool *in;
    } SumLoop;
    SumLoop *sums = NULL;
    uint32_t nsums = 0;
    Node *straight = NULL;
    size_t nstraight = 0, cap = 0;
#define PUSH_STRAIGHT(x)                                                                                               \
    do {                                                                                                               \
        if (nstraight == cap) {                                                                                        \
            cap = cap ? 2 * cap : 256;                                                                                 \
            straight = xrealloc(straight, sizeof(Node) * cap);                                                         \
        }                                                                                                              \
        straight[nstraight++] = (x);                                                                                   \
    } while (0)
    for (uint32_t i = 0; i < n; i++) {
        if (in_family[i])
            continue;
        Node x = st[i].node;
        bool seen = false;
        for (uint32_t s = 0; s < nsums && !seen; s++)
            seen = sums[s].sum == x;
        if (seen)
            continue;
        if (dag_op(x) == OP_ADD && dag_nargs(x) >= REROLL_MIN_TERMS) {
            Family *tf;
            uint32_t ntf;
            reroll_find(dag_args(x), dag_nargs(x), NULL, 0, REROLL_MIN_FAMILY, &tf, &ntf);
            if (ntf) {
                sums = xrealloc(sums, sizeof(SumLoop) * (nsums + 1));
                bool *in = xcalloc(dag_nargs(x), 1);
                for (uint32_t f = 0; f < ntf; f++)
                    for (uint32_t k = 0; k < tf[f].count; k++)
                        in[tf[f].members[k]] = true;
                sums[nsums++] = (SumLoop){x, tf, ntf, in};
                for (uint32_t t = 0; t < dag_nargs(x); t++)
                    if (!in[t])
                        PUSH_STRAIGHT(dag_args(x)[t]);
                continue;
            }
            reroll_free(tf, ntf);
        }
        PUSH_STRAIGHT(x);
    }
#undef PUSH_STRAIGHT

    /* 3. what is left, straight; then the sums; then the stores; then the families */
    Schedule s;
    sched_build(&s, straight, nstraight, NULL);
    put_steps(b, &s, 1);
    for (uint32_t q = 0; q < nsums; q++) {
        SumLoop *sl = &sums[q];
        if (E.stamp[sl->sum] == E.cur)
            continue; /* the straight part needed it whole: computed there */
        uint32_t first_acc = E.nloops;
        for (uint32_t f = 0; f < sl->nf; f++) {
            uint32_t acc = E.nloops++;
            buf_printf(b, "    double s%u = 0.0;\n", acc);
            uint32_t saved = begin_loop(b, sl->f[f].count);
            Node rep = dag_args(sl->sum)[sl->f[f].members[0]];
            Member mb;
            member_begin(&mb, b, rep, sl->f[f].shift);
            buf_printf(b, "        s%u += ", acc);
            put_node(b, rep);
            buf_puts(b, ";\n");
            end_loop(b, saved);
            member_end(&mb);
        }
        buf_printf(b, "    const double t%u = ", E.ntemps);
        for (uint32_t f = 0; f < sl->nf; f++)
            buf_printf(b, "%ss%u", f ? " + " : "", first_acc + f);
        for (uint32_t t = 0; t < dag_nargs(sl->sum); t++) {
            if (sl->in[t])
                continue;
            buf_puts(b, " + ");
            put_node(b, dag_args(sl->sum)[t]);
        }
        buf_puts(b, ";\n");
        E.stamp[sl->sum] = E.cur;
        E.temp[sl->sum] = ++E.ntemps;
    }
    const Store *ret = NULL;
    for (int pass = 0; pass < 2; pass++) { /* the required stores, then the optional ones */
        bool opened = false;
        for (uint32_t i = 0; i < n; i++) {
            if (in_family[i] || st[i].optional != (pass == 1))
                continue;
            if (!st[i].array) {
                ret = &st[i];
                continue;
            }
            if (pass == 1 && !opened) {
                buf_printf(b, "    if (%s != NULL) {\n", st[i].array);
                opened = true;
            }
            const char *in = pass == 1 ? "        " : "    ";
            buf_printf(b, "%s%s[%lld] = ", in, st[i].array, (long long)st[i].index);
            if (st[i].index2 >= 0)
                buf_printf(b, "%s[%lld] = ", st[i].array, (long long)st[i].index2);
            put_node(b, st[i].node);
            buf_puts(b, ";\n");
        }
        for (uint32_t f = 0; f < nfam; f++) {
            const Store *a = &st[fam[f].members[0]], *z = &st[fam[f].members[1]];
            if (a->optional != (pass == 1))
                continue;
            if (pass == 1 && !opened) {
                buf_printf(b, "    if (%s != NULL) {\n", a->array);
                opened = true;
            }
            uint32_t saved = begin_loop(b, fam[f].count);
            Member mb;
            member_begin(&mb, b, a->node, fam[f].shift);
            buf_printf(b, "        %s[", a->array);
            put_index(b, a->index, z->index - a->index);
            buf_puts(b, "] = ");
            if (a->index2 >= 0) {
                buf_printf(b, "%s[", a->array);
                put_index(b, a->index2, z->index2 - a->index2);
                buf_puts(b, "] = ");
            }
            put_node(b, a->node);
            buf_puts(b, ";\n");
            end_loop(b, saved);
            member_end(&mb);
        }
        for (uint32_t r = 0; r < nruns; r++) {
            const Store *a = &st[runs[r].first];
            if (a->optional != (pass == 1))
                continue;
            if (pass == 1 && !opened) {
                buf_printf(b, "    if (%s != NULL) {\n", a->array);
                opened = true;
            }
            buf_printf(b, "    for (size_t k = 0; k < %u; k++)\n        %s[", runs[r].count, a->array);
            put_index(b, a->index, runs[r].di);
            buf_puts(b, "] = ");
            if (a->index2 >= 0) {
                buf_printf(b, "%s[", a->array);
                put_index(b, a->index2, runs[r].dj);
                buf_puts(b, "] = ");
            }
            put_node(b, a->node);
            buf_puts(b, ";\n");
        }
        if (opened)
            buf_puts(b, "    }\n");
    }
    free(runs);
    if (ret)
        put_return(b, ret->node);
    sched_free(&s);
    for (uint32_t q = 0; q < nsums; q++) {
        reroll_free(sums[q].f, sums[q].nf);
        free(sums[q].in);
    }
    free(sums);
    free(straight);
    reroll_free(fam, nfam);
    free(in_family);
    free(items);
    free(keys);
}

/* The six evaluation functions of a model without data, in loops over families. */
static void put_rerolled_functions(Buf *b, const Model *m, const Deriv *d)
{
    const char *P = E.P;
    uint32_t N = m->nparam;
    Store *st = xmalloc(sizeof(Store) * (1 + (size_t)N + d->nnz));
    uint32_t n;
#define BEGIN_FUNCTION() (E.cur = ++E.gen, E.ntemps = 0, E.nloops = 0, n = 0)
#define STORE(node_, array_, i_, j_, opt_) (st[n++] = (Store){(node_), (array_), (i_), (j_), (opt_)})
    BEGIN_FUNCTION();
    buf_printf(b, "double %s_loss(const double *theta)\n{\n    (void)theta;\n", P);
    STORE(m->loss, NULL, 0, -1, false);
    put_rerolled(b, st, n);

    BEGIN_FUNCTION();
    buf_printf(b, "double %s_grad(const double *theta, double *grad)\n{\n    (void)theta;\n", P);
    STORE(m->loss, NULL, 0, -1, false);
    for (uint32_t i = 0; i < N; i++)
        STORE(d->grad[i], "grad", i, -1, false);
    put_rerolled(b, st, n);

    BEGIN_FUNCTION();
    buf_printf(b, "double %s_hess(const double *theta, double *grad, double *hess)\n{\n    (void)theta;\n", P);
    put_hess_zero(b, d);
    STORE(m->loss, NULL, 0, -1, false);
    for (uint32_t t = 0; t < d->nnz; t++) {
        int64_t i = d->rows[t], j = d->cols[t];
        STORE(d->hess[t], "hess", i * N + j, i == j ? -1 : j * N + i, false);
    }
    for (uint32_t i = 0; i < N; i++)
        STORE(d->grad[i], "grad", i, -1, true);
    put_rerolled(b, st, n);

    BEGIN_FUNCTION();
    buf_printf(b, "void %s_hvp(const double *theta, const double *v, double *hv)\n{\n    (void)theta;\n    (void)v;\n",
               P);
    for (uint32_t i = 0; i < N; i++)
        STORE(d->hvp[i], "hv", i, -1, false);
    put_rerolled(b, st, n);
    buf_puts(b, "}\n\n");

    BEGIN_FUNCTION();
    buf_printf(b,
               "double %s_hess_sparse(const double *theta, double *grad, double *values)\n{\n    (void)theta;\n    "
               "(void)values;\n",
               P);
    STORE(m->loss, NULL, 0, -1, false);
    for (uint32_t t = 0; t < d->nnz; t++)
        STORE(d->hess[t], "values", t, -1, false);
    for (uint32_t i = 0; i < N; i++)
        STORE(d->grad[i], "grad", i, -1, true);
    put_rerolled(b, st, n);

    BEGIN_FUNCTION();
    buf_printf(b, "void %s_hess_values(const double *theta, double *values)\n{\n    (void)theta;\n    (void)values;\n",
               P);
    for (uint32_t t = 0; t < d->nnz; t++)
        STORE(d->hess[t], "values", t, -1, false);
    put_rerolled(b, st, n);
    buf_puts(b, "}\n\n");
#undef BEGIN_FUNCTION
#undef STORE
    free(st);
}

static void put_header(Buf *b, const Model *m, const Deriv *d, const EmitOptions *o, bool rows)
{
    E.P = o->prefix;
    E.m = m;
    buf_printf(b, "/* Generated by hessgen %s from %s: do not edit. */\n", HESSGEN_VERSION, o->source_name);
    buf_printf(b, "#ifndef %s_HESS_H\n#define %s_HESS_H\n\n#include <stddef.h>\n\n", o->prefix, o->prefix);
    buf_puts(b, "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    E.checked = is_checked(m, o);
    put_declarations(b, m, d, rows);
    buf_puts(b, "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n");
}

void emit_header(Buf *b, const Model *m, const Deriv *d, const EmitOptions *o)
{
    put_header(b, m, d, o, d->row_range != NULL);
}

void emit_header_arrays(Buf *b, const ArrayModel *a, const EmitOptions *o)
{
    Deriv pattern = {0};
    pattern.n = a->model.nparam;
    pattern.nnz = (uint32_t)((uint64_t)pattern.n * (pattern.n + 1) / 2);
    E.dense_pattern = true;
    put_header(b, &a->model, &pattern, o, a->split_vars != 0);
    E.dense_pattern = false;
}

static void put_table_ints(Buf *b, const char *name, const uint32_t *v, uint32_t n)
{
    buf_printf(b, "const int %s_%s[%u] = {", E.P, name, n ? n : 1);
    if (n == 0)
        buf_puts(b, "-1"); /* C has no empty arrays; hess_nnz says there is nothing here */
    for (uint32_t i = 0; i < n; i++)
        buf_printf(b, "%s%u", i == 0 ? "" : i % 16 ? ", " : ",\n    ", v[i]);
    buf_puts(b, "};\n");
}

/* The start of an evaluation function over data: the check (on failure, `fail` stores NaN in
 * the outputs and returns), then the counts and array pointers as locals. */
static void put_data_locals(Buf *b);

static void put_data_prologue(Buf *b, const char *fail)
{
    if (E.m->ndata == 0) {
        buf_puts(b, "    (void)theta;\n");
        return;
    }
    buf_printf(b, "    if (%s_data_check(data) != 0) {\n%s    }\n", E.P, fail);
    put_data_locals(b);
}

/* The counts and array pointers of the data set as locals (checked by the caller). */
static void put_data_locals(Buf *b)
{
    const Model *m = E.m;
    for (uint32_t s = 0; s < m->nsizes; s++)
        put_count_locals(b, "data", s);
    for (uint32_t a = 0; a < m->ndata; a++)
        buf_printf(b, "    const double *const D_%s = data->%s;\n    (void)D_%s;\n", m->data[a].name, m->data[a].name,
                   m->data[a].name);
    buf_puts(b, "    (void)theta;\n");
}

/* NaN into out[0..n) and return: what an evaluation does with data it cannot read. */
static const char *fail_fill(const char *out, const char *n, bool value)
{
    static Buf s;
    s.len = 0;
    if (out[0] == '?') /* an optional output */
        buf_printf(
            &s,
            "        if (%s != NULL)\n            for (size_t k = 0; k < %s; k++)\n                %s[k] = NAN;\n%s",
            out + 1, n, out + 1, value ? "        return NAN;\n" : "        return;\n");
    else if (out[0])
        buf_printf(&s, "        for (size_t k = 0; k < %s; k++)\n            %s[k] = NAN;\n%s", n, out,
                   value ? "        return NAN;\n" : "        return;\n");
    else
        buf_puts(&s, value ? "        return NAN;\n" : "        return;\n");
    return s.data;
}

/* The prologue of a function that stores the optional gradient and one more array. */
static void put_prologue_with_grad(Buf *b, const char *grad_nan, const char *out, const char *count)
{
    Buf f = {0};
    buf_puts(&f, grad_nan);
    buf_puts(&f, fail_fill(out, count, true));
    put_data_prologue(b, f.data);
    buf_free(&f);
}

/* M_hess_row_range's head: the data check, and NaN out for a range past the rows or reversed. */
static void put_row_range_start(Buf *b, const char *grad_nan, const char *nn)
{
    buf_printf(
        b, "double %s_hess_row_range(const double *theta%s, size_t begin, size_t end, double *grad, double *hess)\n{\n",
        E.P, data_param());
    put_enter(b, false);
    Buf f = {0};
    buf_puts(&f, grad_nan);
    buf_puts(&f, fail_fill("hess", nn, true));
    put_data_prologue(b, f.data);
    buf_printf(b, "    if (end > N_%s || begin > end) {\n%s    }\n", E.m->sizes[0].name, f.data);
    buf_free(&f);
}

/* The constant tables that fixed-bound sums loop over: the rows of a const array they read. */
static void put_tables(Buf *b, const Model *m)
{
    for (uint32_t t = m->ndata; t < m->ndata + m->ntables; t++) {
        const DataArray *a = &m->data[t];
        long count = m->sizes[a->size].count;
        size_t n = (size_t)count * a->width;
        buf_printf(
            b, "/* rows of the constant '%s' that a sum over '%s' reads */\nstatic const double %s_table%u[%zu] = {",
            a->name, m->sizes[a->size].name, E.P, t, n);
        for (size_t i = 0; i < n; i++) {
            buf_puts(b, i == 0 ? "" : i % 8 ? ", " : ",\n    ");
            Node v = a->values[i];
            put_double(b, dag_is_const(v) ? rat_to_double(dag_rat(v)) : (double)dag_eval_const(v));
        }
        buf_puts(b, "};\n\n");
    }
}

/* M_data_part's error code: the one after M_data_check's. */
static uint32_t part_error_code(const Model *m)
{
    return 2 + m->ndata + 2 * m->nsizes;
}

static void put_data_functions(Buf *b, const Model *m)
{
    const char *P = E.P;
    uint32_t code = 2;
    /* the check */
    buf_printf(b, "int %s_data_check(const %s_data *data)\n{\n    if (data == NULL)\n        return 1;\n", P, P);
    for (uint32_t a = 0; a < m->ndata; a++, code++) {
        const DataArray *d = &m->data[a];
        if (d->size == NO_SIZE)
            buf_printf(b, "    if (data->%s == NULL)\n        return %u;\n", d->name, code);
        else
            buf_printf(b, "    if (data->%s == NULL && data->%s != 0)\n        return %u;\n", d->name,
                       m->sizes[d->size].name, code);
    }
    for (uint32_t s = 0; s < m->nsizes; s++, code += 2) {
        uint32_t width = 1;
        for (uint32_t a = 0; a < m->ndata; a++)
            if (m->data[a].size == s && m->data[a].width > width)
                width = m->data[a].width;
        if (m->sizes[s].needs_rows) /* over the whole data set: a part may hold no rows */
            buf_printf(b,
                       "    if ((data->hessgen_part.total != NULL ? data->hessgen_part.total[%u] : data->%s) == 0)\n"
                       "        return %u;\n",
                       s, m->sizes[s].name, code);
        buf_printf(b, "    if (data->%s > (size_t)-1 / %u)\n        return %u;\n", m->sizes[s].name, width, code + 1);
    }
    buf_puts(b, "    return 0;\n}\n\n");
    /* the messages */
    code = 2;
    buf_printf(
        b,
        "const char *%s_data_error(int code)\n{\n    switch (code) {\n    case 0:\n        return \"no error\";\n"
        "    case 1:\n        return \"the data struct is NULL\";\n",
        P);
    for (uint32_t a = 0; a < m->ndata; a++, code++) {
        const DataArray *d = &m->data[a];
        if (d->size == NO_SIZE)
            buf_printf(b, "    case %u:\n        return \"data array '%s' is NULL\";\n", code, d->name);
        else
            buf_printf(b, "    case %u:\n        return \"data array '%s' is NULL but '%s' is not 0\";\n", code,
                       d->name, m->sizes[d->size].name);
    }
    for (uint32_t s = 0; s < m->nsizes; s++, code += 2) {
        if (m->sizes[s].needs_rows)
            buf_printf(
                b, "    case %u:\n        return \"'%s' is 0, but the loss divides by it (a mean over no rows)\";\n",
                code, m->sizes[s].name);
        buf_printf(b, "    case %u:\n        return \"'%s' is too large: its rows do not fit in memory\";\n", code + 1,
                   m->sizes[s].name);
    }
    buf_printf(
        b, "    case %u:\n        return \"a part of the rows was given no totals, or more rows than its total\";\n",
        part_error_code(m));
    buf_printf(b,
               "    case %u:\n        return \"the loss sums over pairs of rows: a part needs the others' rows (a "
               "visit function)\";\n",
               part_error_code(m) + 1);
    buf_puts(b, "    default:\n        return \"unknown error code\";\n    }\n}\n\n");
    /* binding arrays */
    buf_printf(b,
               "int %s_data_bind(%s_data *data, const size_t *counts, const double *const *arrays)\n{\n"
               "    if (data == NULL || counts == NULL || arrays == NULL)\n        return 1;\n",
               P, P);
    for (uint32_t s = 0; s < m->nsizes; s++)
        buf_printf(b, "    data->%s = counts[%u];\n", m->sizes[s].name, s);
    for (uint32_t a = 0; a < m->ndata; a++)
        buf_printf(b, "    data->%s = arrays[%u];\n", m->data[a].name, a);
    buf_puts(b, "    data->hessgen_part.total = NULL;\n    data->hessgen_part.first = 0;\n"
                "    data->hessgen_part.reduce = NULL;\n    data->hessgen_part.visit = NULL;\n"
                "    data->hessgen_part.ctx = NULL;\n");
    buf_printf(b, "    return %s_data_check(data);\n}\n\n", P);
    /* the parts of the rows */
    buf_printf(b,
               "/* Adds count arrays over the parts of the rows, in place (nothing where the rows bound are\n"
               "   the whole data set): after each loop over rows, what it summed. */\n"
               "static inline void %s_reduce(const %s_data *data, int count, double *const *values, const size_t "
               "*length)\n{\n"
               "    if (data->hessgen_part.reduce != NULL)\n"
               "        data->hessgen_part.reduce(data->hessgen_part.ctx, count, values, length);\n}\n\n"
               "static inline void %s_reduce1(const %s_data *data, double *values, size_t length)\n{\n"
               "    %s_reduce(data, 1, &values, &length);\n}\n\n"
               "/* Whether these rows add the terms free of rows: the whole data set, or its first part. */\n"
               "static inline int %s_first_part(const %s_data *data)\n{\n"
               "    return data->hessgen_part.total == NULL || data->hessgen_part.first;\n}\n\n",
               P, P, P, P, P, P, P);
}

/* M_data_part, after the bodies: whether their loops over rows can run over parts is known then
 * (E.no_part). */
static void put_data_part(Buf *b, const Model *m)
{
    const char *P = E.P;
    buf_printf(b,
               "int %s_data_part(%s_data *data, const size_t *total, int first, hessgen_reduce *reduce,\n"
               "                 hessgen_visit *visit, void *ctx)\n{\n",
               P, P);
    if (E.no_part) {
        buf_printf(b,
                   "    /* %s */\n    (void)data;\n    (void)total;\n    (void)first;\n    (void)reduce;\n"
                   "    (void)visit;\n    (void)ctx;\n    return -1;\n}\n\n",
                   E.no_part);
        return;
    }
    uint32_t code = part_error_code(m);
    buf_printf(b, "    if (data == NULL)\n        return 1;\n    if (total == NULL)\n        return %u;\n", code);
    for (uint32_t s = 0; s < m->nsizes; s++)
        buf_printf(b, "    if (total[%u] < data->%s)\n        return %u;\n", s, m->sizes[s].name, code);
    if (E.has_ring) /* pairs of rows: without the others' rows, a part's inner sums would be its own alone */
        buf_printf(b, "    if (visit == NULL)\n        return %u;\n", code + 1);
    buf_printf(b,
               "    data->hessgen_part.total = total;\n    data->hessgen_part.first = first != 0;\n"
               "    data->hessgen_part.reduce = reduce;\n    data->hessgen_part.visit = visit;\n"
               "    data->hessgen_part.ctx = ctx;\n"
               "    return %s_data_check(data);\n}\n\n",
               P);
}

static void put_descriptor(Buf *b, const Model *m, const Deriv *d)
{
    const char *P = E.P;
    uint32_t N = m->nparam;
    bool data = m->ndata > 0;
    const char *pass = data ? ", (const " : "";
    char *cast = efmt("%s_data *)data", P);
    const char *arg = data ? cast : "";
    const char *voiddata = data ? "" : "    (void)data;\n";
    /* one adapter per evaluation function: its data argument as libhessrt passes it */
    static const struct {
        const char *type, *name, *params, *args;
    } adapters[] = {
        {"double", "loss", "", ""},
        {"double", "grad", ", double *grad", ", grad"},
        {"double", "hess", ", double *grad, double *hess", ", grad, hess"},
        {"void", "hvp", ", const double *v, double *hv", ", v, hv"},
        {"double", "hess_sparse", ", double *grad, double *values", ", grad, values"},
        {"void", "hess_values", ", double *values", ", values"},
    };
    for (size_t k = 0; k < sizeof adapters / sizeof adapters[0]; k++)
        buf_printf(
            b, "static %s %s_%s_any(const double *theta, const void *data%s)\n{\n%s    %s%s_%s(theta%s%s%s);\n}\n\n",
            adapters[k].type, P, adapters[k].name, adapters[k].params, voiddata,
            strcmp(adapters[k].type, "void") ? "return " : "", P, adapters[k].name, pass, arg, adapters[k].args);
    if (data) {
        put_data_part(b, m);
        if (!E.no_part)
            buf_printf(
                b,
                "static int %s_data_part_any(void *data, const size_t *total, int first, hessgen_reduce *reduce,\n"
                "                            hessgen_visit *visit, void *ctx)\n{\n"
                "    return %s_data_part((%s_data *)data, total, first, reduce, visit, ctx);\n}\n\n",
                P, P, P);
        buf_printf(b,
                   "static int %s_data_bind_any(void *data, const size_t *counts, const double *const *arrays)\n{\n"
                   "    return %s_data_bind((%s_data *)data, counts, arrays);\n}\n\n",
                   P, P, P);
        buf_printf(b,
                   "static int %s_data_check_any(const void *data)\n{\n    return %s_data_check((const %s_data "
                   "*)data);\n}\n\n",
                   P, P, P);
        buf_printf(b, "static const char *const %s_data_names[%u] = {", P, m->ndata);
        for (uint32_t a = 0; a < m->ndata; a++)
            buf_printf(b, "%s\"%s\"", a ? ", " : "", m->data[a].name);
        buf_printf(b, "};\nstatic const int %s_data_width[%u] = {", P, m->ndata);
        for (uint32_t a = 0; a < m->ndata; a++)
            buf_printf(b, "%s%u", a ? ", " : "", m->data[a].width);
        buf_printf(b, "};\nstatic const int %s_data_size[%u] = {", P, m->ndata);
        for (uint32_t a = 0; a < m->ndata; a++)
            buf_printf(b, "%s%d", a ? ", " : "", m->data[a].size == NO_SIZE ? -1 : (int)m->data[a].size);
        buf_printf(b, "};\nstatic const char *const %s_size_names[%u] = {", P, m->nsizes ? m->nsizes : 1);
        for (uint32_t s = 0; s < m->nsizes; s++)
            buf_printf(b, "%s\"%s\"", s ? ", " : "", m->sizes[s].name);
        if (m->nsizes == 0)
            buf_puts(b, "NULL");
        buf_printf(b, "};\nstatic const int %s_size_needed[%u] = {", P, m->nsizes ? m->nsizes : 1);
        for (uint32_t s = 0; s < m->nsizes; s++)
            buf_printf(b, "%s%d", s ? ", " : "", m->sizes[s].needs_rows);
        if (m->nsizes == 0)
            buf_puts(b, "0");
        buf_puts(b, "};\n\n");
    }
    if (E.checked) /* where the last fault began: a process of several can tell whether it is traced here */
        buf_printf(b,
                   "static int %s_fault_sources_any(void)\n{\n    %s_fault f;\n"
                   "    return %s_fault_get(&f) ? f.sources : 0;\n}\n\n",
                   P, P, P);
    char rows[300], cols[300];
    snprintf(rows, sizeof rows, E.dense_pattern ? "NULL" : "%s_hess_rows", P);
    snprintf(cols, sizeof cols, E.dense_pattern ? "NULL" : "%s_hess_cols", P);
    buf_printf(b,
               "const hessgen_model %s_model = {\n    6, \"%s\", %u, %u, %s, %s,\n"
               "    %u, %s_param_arrays, %s_NAME_MAX, %s_param_name, %s_start,\n"
               "    %s_loss_any, %s_grad_any, %s_hess_any, %s_hvp_any, %s_hess_sparse_any, %s_hess_values_any,\n",
               P, P, N, d->nnz, rows, cols, m->narrays, P, P, P, P, P, P, P, P, P, P);
    if (data)
        buf_printf(
            b,
            "    %u, %s_data_names, %s_data_width, %s_data_size, %u, %s_size_names, %s_size_needed, sizeof(%s_data),\n"
            "    %s_data_bind_any, %s_data_check_any, %s_data_error,\n",
            m->ndata, P, P, P, m->nsizes, P, P, P, P, P, P);
    else
        buf_puts(b, "    0, NULL, NULL, NULL, 0, NULL, NULL, 0, NULL, NULL, NULL,\n");
    if (E.checked)
        buf_printf(b, "    %s_fault_text,\n", P);
    else
        buf_puts(b, "    NULL,\n");
    if (data && !E.no_part)
        buf_printf(b, "    %s_data_part_any, NULL,\n", P);
    else if (data)
        buf_printf(b, "    NULL, \"%s\",\n", E.no_part);
    else
        buf_puts(b, "    NULL, NULL,\n");
    if (E.checked)
        buf_printf(b, "    %s_fault_sources_any\n};\n", P);
    else
        buf_puts(b, "    NULL\n};\n");
}

/* The stores of a Hessian's entries into hess, both triangles. */
static void put_hess_stores(Buf *b, const Deriv *d, const Node *values)
{
    uint32_t N = d->n;
    for (uint32_t t = 0; t < d->nnz; t++) {
        uint32_t i = d->rows[t], j = d->cols[t];
        if (i == j)
            buf_printf(b, "    hess[%llu] = ", (unsigned long long)i * N + j);
        else
            buf_printf(b, "    hess[%llu] = hess[%llu] = ", (unsigned long long)i * N + j,
                       (unsigned long long)j * N + i);
        put_node(b, values[t]);
        buf_puts(b, ";\n");
    }
}

static void put_hess_zero(Buf *b, const Deriv *d)
{
    uint64_t full = (uint64_t)d->n * (d->n + 1) / 2;
    if (d->nnz < full)
        buf_printf(b, "    for (size_t k = 0; k < (size_t)%u * %u; k++)\n        hess[k] = 0.0;\n", d->n, d->n);
}

/* ---- the Hessian functions ---- */

/* M_hvp: the same in both layouts. */
static void put_hvp(Buf *b, const Deriv *d, const Schedule *s_hvp)
{
    const char *P = E.P;
    char *nparam = efmt("%s_NPARAM", P);
    E.fstart = b->len;
    buf_printf(b, "void %s_hvp(const double *theta%s, const double *v, double *hv)\n{\n    (void)v;\n", P,
               data_param());
    put_enter(b, true);
    put_data_prologue(b, fail_fill("hv", nparam, false));
    E.has_v = true;
    put_body_inlined(b, s_hvp, NULL, d->hvp, d->n, NULL, 0, 0);
    E.has_v = false;
    put_outputs(b, "    ", "hv", d->hvp, d->n);
    put_end(b, "hvp", 0, false, "hv", "Hessian-vector product", 1, nparam);
    function_end(b);
}

/* The code a schedule writes: its steps, a loop's body counted once. */
static size_t schedule_size(const Schedule *s)
{
    size_t n = 0;
    for (uint32_t i = 0; i < s->nsteps; i++)
        n += s->steps[i].loop ? 1 + schedule_size(&s->steps[i].loop->body) : 1;
    return n;
}

/* Whether M_hvp multiplies by the Hessian's values instead of its own forward pass: when that
 * pass is at least half as long as the Hessian's, as in a small dense Hessian (exp(prod x) over
 * 20 parameters: about 980 steps against 960 to 1150). H*v then costs the Hessian plus 4 flops
 * per nonzero, at most about twice the pass, and the C holds one body instead of two (half the
 * file there). The values go on the stack: at most HVP_FROM_CORE_MAX of them. */
enum { HVP_FROM_CORE_MAX = 4096 };

static bool hvp_from_core(const Deriv *d, const Schedule *s_hess, const Schedule *s_hvp)
{
    return d->nnz > 0 && d->nnz <= HVP_FROM_CORE_MAX && 2 * schedule_size(s_hvp) >= schedule_size(s_hess);
}

/* M_hvp as hv = H v over the stored lower triangle (the values of P_hess_core). */
static void put_hvp_from_core(Buf *b, const Deriv *d, const char *pass, const char *core)
{
    const char *P = E.P;
    char *nparam = efmt("%s_NPARAM", P);
    buf_printf(b,
               "/* H v from the Hessian's nonzeros: its own forward pass would be at least half as long as the\n"
               "   Hessian's. */\n"
               "void %s_hvp(const double *theta%s, const double *v, double *hv)\n{\n",
               P, data_param());
    put_data_prologue(b, fail_fill("hv", nparam, false));
    buf_printf(b,
               "    double values[%u];\n"
               "    (void)%s_%s(theta%s, NULL, values);\n"
               "    for (size_t k = 0; k < %s; k++)\n        hv[k] = 0.0;\n"
               "    for (size_t t = 0; t < %u; t++) {\n"
               "        const size_t i = (size_t)%s_hess_rows[t], j = (size_t)%s_hess_cols[t];\n"
               "        hv[i] += values[t] * v[j];\n"
               "        if (i != j)\n            hv[j] += values[t] * v[i];\n    }\n}\n\n",
               d->nnz, P, core, pass, nparam, d->nnz, P, P);
}

/* With --checked: each Hessian function computes its own entries, so that a fault names the
 * function and the entry in its own layout. */
static void put_hessians_apart(Buf *b, const Deriv *d, const Schedule *s_hess, const Schedule *s_hess_grad,
                               const Schedule *s_hval, const Schedule *s_hvp, const Schedule *s_rows,
                               const char *grad_nan, const char *nn, const char *nnz)
{
    const char *P = E.P, *D = data_param();
    const Model *m = E.m;
    const Node *rows = d->row_range;
    uint32_t N = d->n;
    /* dense Hessian */
    E.fstart = b->len;
    buf_printf(b, "double %s_hess(const double *theta%s, double *grad, double *hess)\n{\n", P, D);
    put_enter(b, false);
    put_prologue_with_grad(b, grad_nan, "hess", nn);
    put_hess_zero(b, d);
    put_body(b, s_hess);
    put_optional_grad(b, s_hess_grad, d);
    put_hess_stores(b, d, d->hess);
    put_end(b, "hess", m->loss, true, "hess", "Hessian", 2, nn);
    function_end(b);

    put_hvp(b, d, s_hvp);

    /* sparse Hessian: the same schedule as the dense one */
    E.fstart = b->len;
    buf_printf(b, "double %s_hess_sparse(const double *theta%s, double *grad, double *values)\n{\n    (void)values;\n",
               P, D);
    put_enter(b, false);
    put_prologue_with_grad(b, grad_nan, "values", nnz);
    put_body(b, s_hess);
    put_optional_grad(b, s_hess_grad, d);
    put_outputs(b, "    ", "values", d->hess, d->nnz);
    put_end(b, "hess_sparse", m->loss, true, "values", "Hessian", 3, nnz);
    function_end(b);

    /* the sparse Hessian alone */
    E.fstart = b->len;
    buf_printf(b, "void %s_hess_values(const double *theta%s, double *values)\n{\n    (void)values;\n", P, D);
    put_enter(b, false);
    put_data_prologue(b, fail_fill("values", nnz, false));
    put_body(b, s_hval);
    put_outputs(b, "    ", "values", d->hess, d->nnz);
    put_end(b, "hess_values", 0, false, "values", "Hessian", 3, nnz);
    function_end(b);

    /* a part of the rows */
    if (rows) {
        E.fstart = b->len;
        buf_printf(b,
                   "double %s_hess_row_range(const double *theta%s, size_t begin, size_t end, double *grad, double "
                   "*hess)\n{\n",
                   P, D);
        Buf f = {0};
        buf_puts(&f, grad_nan);
        buf_puts(&f, fail_fill("hess", nn, true));
        put_enter(b, false);
        put_data_prologue(b, f.data);
        buf_printf(b, "    if (end > N_%s || begin > end) {\n%s    }\n", m->sizes[0].name, f.data);
        buf_free(&f);
        buf_printf(b,
                   "    const size_t row_begin = begin, row_end = end;\n"
                   "    /* the terms free of rows go to the first part (of the first part of the data set) */\n"
                   "    const double w_free = begin == 0 && %s_first_part(data) ? 1.0 : 0.0;\n"
                   "    (void)w_free;\n",
                   P);
        put_hess_zero(b, d);
        E.split_size = 0;
        put_body(b, s_rows);
        E.split_size = -1;
        buf_puts(b, "    if (grad != NULL) {\n");
        put_outputs(b, "        ", "grad", rows + 1, N);
        buf_puts(b, "    }\n");
        put_hess_stores(b, d, rows + 1 + N);
        put_end(b, "hess_row_range", rows[0], true, "hess", "Hessian", 2, nn);
        function_end(b);
    }
}

/* Without --checked: one body computes the Hessian's nonzeros (P_hess_core), and the four
 * Hessian functions call it: M_hess and M_hess_row_range spread its values over the dense
 * matrix in place (P_hess_expand), M_hess_sparse returns them, M_hess_values passes no
 * gradient. The C then holds the Hessian's code once instead of four times. */
static void put_hessians_shared(Buf *b, const Deriv *d, const Schedule *s_hess, const Schedule *s_hess_grad,
                                const Schedule *s_hvp, const Schedule *s_rows, const char *grad_nan, const char *nn,
                                const char *nnz)
{
    const char *P = E.P, *D = data_param();
    const Model *m = E.m;
    const Node *rows = d->row_range;
    uint32_t N = d->n;
    bool data = m->ndata > 0;
    const char *pass = data ? ", data" : "";
    /* over all the rows: with a part of the rows, P_hess_whole adds up the parts' outputs */
    const char *core = rows ? "hess_whole" : "hess_core";

    /* the values in hess[0..nnz) spread in place */
    buf_printf(b,
               "/* The Hessian's nonzeros, in hess[0..%s_hess_nnz), spread in place over the dense matrix,\n"
               "   both triangles. The t-th lower-triangle entry (i, j) in row-major order has t <= i*N + j,\n"
               "   so moving from the last to the first never overwrites a value not yet moved. */\n"
               "static void %s_hess_expand(double *hess)\n{\n"
               "    for (size_t k = %u; k < %s; k++)\n        hess[k] = 0.0;\n",
               P, P, d->nnz, nn);
    if (d->nnz > 0)
        buf_printf(b,
                   "    for (size_t t = %u; t-- > 0;) {\n"
                   "        const double h = hess[t];\n        hess[t] = 0.0;\n"
                   "        hess[(size_t)%s_hess_rows[t] * %u + (size_t)%s_hess_cols[t]] = h;\n    }\n"
                   "    for (size_t t = 0; t < %u; t++)\n"
                   "        if (%s_hess_rows[t] != %s_hess_cols[t])\n"
                   "            hess[(size_t)%s_hess_cols[t] * %u + (size_t)%s_hess_rows[t]] =\n"
                   "                hess[(size_t)%s_hess_rows[t] * %u + (size_t)%s_hess_cols[t]];\n",
                   d->nnz, P, N, P, d->nnz, P, P, P, N, P, P, N, P);
    buf_puts(b, "}\n\n");

    /* the one body */
    E.fstart = b->len;
    if (rows) {
        buf_printf(b,
                   "static double %s_hess_core(const double *theta%s, size_t row_begin, size_t row_end, double *grad, "
                   "double *values)\n{\n    (void)values;\n    (void)theta;\n",
                   P, D);
        put_data_locals(b);
        buf_printf(b,
                   "    /* the terms free of rows go to the first part (of the first part of the data set) */\n"
                   "    const double w_free = row_begin == 0 && %s_first_part(data) ? 1.0 : 0.0;\n"
                   "    (void)w_free;\n",
                   P);
        E.split_size = 0;
        put_body(b, s_rows);
        E.split_size = -1;
        buf_puts(b, "    if (grad != NULL) {\n");
        put_outputs(b, "        ", "grad", rows + 1, N);
        buf_puts(b, "    }\n");
        put_outputs(b, "    ", "values", rows + 1 + N, d->nnz);
        put_end(b, "hess_core", rows[0], false, NULL, NULL, 0, NULL);
        function_end(b);
        buf_printf(b,
                   "/* P_hess_core over all the rows bound, its outputs then added over the parts of the rows:\n"
                   "   one message. */\n"
                   "static double %s_hess_whole(const double *theta%s, double *grad, double *values)\n{\n"
                   "    double loss = %s_hess_core(theta, data, 0, data->%s, grad, values);\n"
                   "    double *out[3] = {&loss, grad, values};\n"
                   "    const size_t length[3] = {1, grad != NULL ? (size_t)%s_NPARAM : 0, %u};\n"
                   "    %s_reduce(data, 3, out, length);\n"
                   "    return loss;\n}\n\n",
                   P, D, P, m->sizes[0].name, P, d->nnz, P);
        E.fstart = b->len;
    } else {
        buf_printf(b,
                   "static double %s_hess_core(const double *theta%s, double *grad, double *values)\n{\n"
                   "    (void)values;\n    (void)theta;\n",
                   P, D);
        if (data)
            put_data_locals(b);
        put_body_inlined(b, s_hess, s_hess_grad, d->grad, N, d->hess, d->nnz, m->loss);
        put_optional_grad(b, s_hess_grad, d);
        put_outputs(b, "    ", "values", d->hess, d->nnz);
        put_end(b, "hess_core", m->loss, false, NULL, NULL, 0, NULL);
    }
    function_end(b);

    /* the dense Hessian */
    buf_printf(b, "double %s_hess(const double *theta%s, double *grad, double *hess)\n{\n", P, D);
    put_prologue_with_grad(b, grad_nan, "hess", nn);
    buf_printf(b,
               "    const double loss = %s_%s(theta%s, grad, hess);\n    %s_hess_expand(hess);\n"
               "    return loss;\n}\n\n",
               P, core, pass, P);

    if (hvp_from_core(d, s_hess, s_hvp))
        put_hvp_from_core(b, d, pass, core);
    else
        put_hvp(b, d, s_hvp);

    /* the sparse Hessian, and its nonzeros alone */
    buf_printf(b, "double %s_hess_sparse(const double *theta%s, double *grad, double *values)\n{\n", P, D);
    put_prologue_with_grad(b, grad_nan, "values", nnz);
    buf_printf(b, "    return %s_%s(theta%s, grad, values);\n}\n\n", P, core, pass);
    buf_printf(b, "void %s_hess_values(const double *theta%s, double *values)\n{\n", P, D);
    put_data_prologue(b, fail_fill("values", nnz, false));
    buf_printf(b, "    (void)%s_%s(theta%s, NULL, values);\n}\n\n", P, core, pass);

    /* a part of the rows */
    if (rows) {
        put_row_range_start(b, grad_nan, nn);
        buf_printf(
            b,
            "    const double loss = %s_hess_core(theta, data, begin, end, grad, hess);\n    %s_hess_expand(hess);\n"
            "    return loss;\n}\n\n",
            P, P);
    }
}

/* The parameters as declared, the function that names a coordinate from them, and the one that
 * writes the start point: a loop per array of one value, a table per array of several (both
 * grow with the source, not with N). */
static void put_param_tables(Buf *b, const Model *m)
{
    const char *P = E.P;
    buf_printf(b, "const hessgen_param_array %s_param_arrays[%u] = {\n", P, m->narrays);
    for (uint32_t k = 0; k < m->narrays; k++) {
        const ParamArray *a = &m->arrays[k];
        buf_printf(b, "    {\"%s\", %u, %u, %d, {", a->name, a->base, a->size, a->ndims);
        for (int r = 0; r < a->ndims; r++)
            buf_printf(b, "%s%ld", r ? ", " : "", a->dims[r]);
        buf_puts(b, a->ndims ? "}},\n" : "0}},\n");
    }
    buf_puts(b, "};\n\n");
    buf_printf(b,
               "int %s_param_name(int k, char *buf, size_t cap)\n"
               "{\n"
               "    if (k < 0 || k >= %s_NPARAM)\n"
               "        return -1;\n"
               "    int a = %s_NPARAM_ARRAYS - 1;\n"
               "    while (%s_param_arrays[a].base > k)\n"
               "        a--;\n"
               "    const hessgen_param_array *p = &%s_param_arrays[a];\n"
               "    int at[8], flat = k - p->base, len = 0;\n"
               "    for (int r = p->rank - 1; r >= 0; r--) {\n"
               "        at[r] = flat %% p->dims[r];\n"
               "        flat /= p->dims[r];\n"
               "    }\n"
               "    char digits[16];\n"
               "#define %s_PUT(c) do { if ((size_t)len + 1 < cap) buf[len] = (c); len++; } while (0)\n"
               "    for (const char *c = p->name; *c; c++)\n"
               "        %s_PUT(*c);\n"
               "    for (int r = 0; r < p->rank; r++) {\n"
               "        int nd = 0;\n"
               "        do {\n"
               "            digits[nd++] = (char)('0' + at[r] %% 10);\n"
               "            at[r] /= 10;\n"
               "        } while (at[r] > 0);\n"
               "        %s_PUT('[');\n"
               "        while (nd > 0)\n"
               "            %s_PUT(digits[--nd]);\n"
               "        %s_PUT(']');\n"
               "    }\n"
               "#undef %s_PUT\n"
               "    if (cap > 0)\n"
               "        buf[(size_t)len < cap ? (size_t)len : cap - 1] = 0;\n"
               "    return len;\n"
               "}\n\n",
               P, P, P, P, P, P, P, P, P, P, P);
    buf_printf(b, "void %s_start(double *theta)\n{\n", P);
    for (uint32_t k = 0; k < m->narrays; k++) {
        const ParamArray *a = &m->arrays[k];
        const double *v = m->param_start + a->base;
        uint32_t same = 1;
        while (same < a->size && memcmp(&v[same], &v[0], sizeof(double)) == 0)
            same++;
        if (a->size == 1 || same == a->size) {
            if (a->size == 1)
                buf_printf(b, "    theta[%u] = ", a->base);
            else
                buf_printf(b, "    for (int k = 0; k < %u; k++) /* %s */\n        theta[%.0u%sk] = ", a->size, a->name,
                           a->base, a->base ? " + " : "");
            put_double(b, v[0]);
            buf_puts(b, ";\n");
            continue;
        }
        buf_printf(b, "    static const double %s_%u[%u] = { /* %s */\n        ", "start", k, a->size, a->name);
        for (uint32_t j = 0; j < a->size; j++) {
            buf_puts(b, j == 0 ? "" : j % 8 ? ", " : ",\n        ");
            put_double(b, v[j]);
        }
        buf_printf(b, "};\n    for (int k = 0; k < %u; k++)\n        theta[%.0u%sk] = start_%u[k];\n", a->size, a->base,
                   a->base ? " + " : "", k);
    }
    buf_puts(b, "}\n\n");
}

/* --main: the analyzer's main() at the end of the file. */
static void put_main(Buf *b)
{
    const char *P = E.P;
    buf_printf(b,
               "\n/* The analyzer (hessgen --main): build with\n"
               "   cc THIS_FILE.c $(pkg-config --cflags --libs hessrt) -o %s\n"
               "   or, its data's rows split across MPI ranks (mpirun -n P ./%s ...), with\n"
               "   cc THIS_FILE.c $(pkg-config --cflags --libs hessrt-mpi) -o %s */\n"
               "#ifdef HESSRT_MPI\n#include <hessrt_mpi.h>\n#else\n#include <hessrt.h>\n#endif\n\n"
               "int main(int argc, char **argv)\n{\n"
               "#ifdef HESSRT_MPI\n    return hessrt_mpi_main(&%s_model, argc, argv);\n"
               "#else\n    return hessrt_main(&%s_model, argc, argv);\n#endif\n}\n",
               P, P, P, P, P);
}

void emit_c(Buf *b, const Model *m, const Deriv *d, const ModelSchedules *sc, const EmitOptions *o)
{
    memset(&E, 0, sizeof E); /* (an array-loop attempt may have come first) */
    const char *P = o->prefix;
    uint32_t N = m->nparam;
    bool data = m->ndata > 0;
    E.P = P;
    E.m = m;
    E.indent = "    ";
    E.split_size = -1;
    char *nparam = efmt("%s_NPARAM", P);
    const char *D = data_param();

    /* the schedules come from the scheduling phase (sched_model); the graph is frozen */
    const Node *rows = d->row_range;
    const Schedule *s_loss = &sc->loss, *s_grad = &sc->grad, *s_hess = &sc->hess, *s_hess_grad = &sc->hess_grad,
                   *s_hval = &sc->hval, *s_hvp = &sc->hvp, *s_rows = &sc->rows;
    bool loops = sc->loops;
    E.limit = dag_node_count();
    E.temp = xcalloc(E.limit, sizeof(uint32_t));
    E.stamp = xcalloc(E.limit, sizeof(uint32_t));
    E.uses = xcalloc(E.limit, sizeof(uint32_t));
    E.uses_stamp = xcalloc(E.limit, sizeof(uint32_t));
    E.inlined = xcalloc(E.limit, sizeof(const Step *));
    E.inv_stamp = xcalloc(E.limit, sizeof(uint32_t));
    E.inv_slot = xcalloc(E.limit, sizeof(uint32_t));
    E.nfuncs = E.outer_cur = E.ninv = 0;
    E.has_v = false;
    E.cur = E.gen = 0;
    E.loop_shift = 0;
    E.no_part = NULL;
    E.ring = NULL;
    E.ring_mode = RING_NONE;
    E.visit_level = -1;
    E.has_ring = false;
    /* checked code is straight-line: the family loops have no per-temporary tests */
    E.checked = is_checked(m, o);
    bool reroll = !loops && !E.checked && (long)N >= reroll_threshold();
    if (reroll)
        reroll_init();

    bool used[OP__COUNT] = {0};
    sched_ops_used(s_hess, used);
    sched_ops_used(s_hess_grad, used);
    sched_ops_used(s_hvp, used);
    sched_ops_used(s_loss, used);

    buf_printf(b, "/* Generated by hessgen %s from %s: do not edit.\n", HESSGEN_VERSION, o->source_name);
    buf_printf(b,
               " * Model %s: %u parameter%s; the Hessian's lower triangle has %u structural nonzero%s.\n"
               " * Standalone C99: needs only <math.h> (link with -lm)%s. */\n",
               P, N, N == 1 ? "" : "s", d->nnz, d->nnz == 1 ? "" : "s",
               data ? "; with -fopenmp the loops over rows run in parallel" : "");
    buf_printf(b, "#include <math.h>\n#include <stddef.h>\n%s%s\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n",
               has_pairs(s_loss) || has_pairs(s_grad) || has_pairs(s_hess) || has_pairs(s_hess_grad) ||
                       has_pairs(s_hval) || has_pairs(s_hvp) || has_pairs(s_rows)
                   ? "#include <stdlib.h> /* pairs of rows over parts: calloc */\n"
                   : "",
               E.checked ? "#include <stdio.h> /* --checked: the fault's text */\n#include <string.h>\n" : "");
    put_declarations(b, m, d, rows != NULL);
    buf_puts(b, "\n");
    put_helpers(b, used);
    if (E.checked)
        checked_state(b, P);
    put_tables(b, m);
    if (loops)
        buf_printf(
            b, "#ifdef __GNUC__\n#define %s_NOINLINE __attribute__((noinline))\n#else\n#define %s_NOINLINE\n#endif\n\n",
            P, P);
    if (loops)
        buf_puts(b, "#if defined(__GNUC__) && !defined(__clang__)\n"
                    "/* gcc's vectorizer of straight-line code (SLP) packs unrelated statements of a long loop\n"
                    "   body into vectors through the stack: a logistic regression's Hessian over 100000 rows\n"
                    "   took 2.1 times as long with it (bench/data). Off for these functions. */\n"
                    "#pragma GCC push_options\n#pragma GCC optimize(\"no-tree-slp-vectorize\")\n#endif\n\n");
    if (data)
        put_data_functions(b, m);

    /* what an evaluation over data stores on bad data: NaN in the optional gradient, ... */
    char *nn = efmt("(size_t)%s * %s", nparam, nparam);
    char *grad_nan = efmt("%s", fail_fill("?grad", nparam, false));
    grad_nan[strlen(grad_nan) - strlen("        return;\n")] = 0;
    if (reroll) {
        put_rerolled_functions(b, m, d);
    } else {
        /* loss */
        E.fstart = b->len;
        buf_printf(b, "double %s_loss(const double *theta%s)\n{\n", P, D);
        put_enter(b, false);
        put_data_prologue(b, fail_fill("", "", true));
        put_body_inlined(b, s_loss, NULL, NULL, 0, NULL, 0, m->loss);
        put_end(b, "loss", m->loss, false, NULL, NULL, 0, NULL);
        function_end(b);

        /* gradient */
        E.fstart = b->len;
        buf_printf(b, "double %s_grad(const double *theta%s, double *grad)\n{\n", P, D);
        put_enter(b, false);
        put_data_prologue(b, fail_fill("grad", nparam, true));
        put_body_inlined(b, s_grad, NULL, d->grad, N, NULL, 0, m->loss);
        put_outputs(b, "    ", "grad", d->grad, N);
        put_end(b, "grad", m->loss, true, NULL, NULL, 0, NULL);
        function_end(b);

        char nnz[64];
        snprintf(nnz, sizeof nnz, "%u", d->nnz);
        if (E.checked)
            put_hessians_apart(b, d, s_hess, s_hess_grad, s_hval, s_hvp, s_rows, grad_nan, nn, nnz);
        else
            put_hessians_shared(b, d, s_hess, s_hess_grad, s_hvp, s_rows, grad_nan, nn, nnz);
    }

    if (loops)
        buf_puts(b, "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC pop_options\n#endif\n\n");

    /* tables */
    buf_printf(b, "const int %s_hess_nnz = %u;\n", P, d->nnz);
    put_table_ints(b, "hess_rows", d->rows, d->nnz);
    put_table_ints(b, "hess_cols", d->cols, d->nnz);
    put_param_tables(b, m);
    if (E.checked) {
        checked_definitions(b, P, o->source_name, N, false);
        checked_release();
    }

    /* the descriptor, through wrappers that take a data pointer */
    put_descriptor(b, m, d);
    buf_puts(b, "\n#ifdef __cplusplus\n}\n#endif\n");
    if (o->with_main)
        put_main(b);

    if (reroll)
        reroll_release();
    free(E.temp);
    free(E.stamp);
    free(E.uses);
    free(E.uses_stamp);
    free(E.inlined);
    E.uses = E.uses_stamp = NULL;
    E.inlined = NULL;
    free(E.inv_stamp);
    free(E.inv_slot);
    for (uint32_t q = 0; q < E.nfuncs; q++)
        free(E.fn_text[q]);
    free(E.fn_text);
    free(E.fn_mode);
    E.fn_text = NULL;
    E.fn_mode = NULL;
    free(E.inv);
    buf_free(&E.pre);
    E.inv = NULL;
    E.inv_cap = 0;
    E.temp = E.stamp = E.inv_stamp = E.inv_slot = NULL;
    pool_release();
}

/* ---- array loops (sema_array_loops): the same API, bodies from aemit.c ---- */

/* The constant arrays that array loops read at a variable index. */
static void put_const_tables(Buf *b, const Model *m)
{
    for (uint32_t t = m->ndata; t < m->ndata + m->ntables; t++) {
        const DataArray *a = &m->data[t];
        buf_printf(
            b, "/* the constant '%s', read at indices that loops compute */\nstatic const double %s_ctable%u[%u] = {",
            a->name, E.P, t, a->width);
        for (uint32_t i = 0; i < a->width; i++) {
            buf_puts(b, i == 0 ? "" : i % 8 ? ", " : ",\n    ");
            Node v = a->values[i];
            put_double(b, dag_is_const(v) ? rat_to_double(dag_rat(v)) : (double)dag_eval_const(v));
        }
        buf_puts(b, "};\n\n");
    }
}

static void put_loss_return(Buf *b, Node loss)
{
    buf_puts(b, "    return ");
    aemit_loss(b, loss);
    buf_puts(b, ";\n}\n\n");
}

/* Around the Hessian's columns (begin, then end): gcc's vectorizer under its "cheap" cost model. */
static void put_vectorized(Buf *b, bool begin)
{
    if (begin)
        buf_puts(b, "#if defined(__GNUC__) && !defined(__clang__)\n"
                    "/* A column ends in loops out[...] += a[i] * s along a row of the matrix, of a length known\n"
                    "   only at run time. gcc -O2 vectorizes loops under its \"very cheap\" cost model, which\n"
                    "   refuses such a length; under \"cheap\" it takes them (MLP 2-16-16-1, -march=native: the\n"
                    "   Hessian in 28 ms instead of 50). */\n"
                    "#pragma GCC push_options\n#pragma GCC optimize(\"vect-cost-model=cheap\")\n#endif\n");
    else
        buf_puts(b, "#if defined(__GNUC__) && !defined(__clang__)\n#pragma GCC pop_options\n#endif\n\n");
}

/* P_rows: a part's function over all the rows bound (P_rows_here), its loss and out then added
 * over the parts of the rows, one message. */
static void put_rows_whole(Buf *b)
{
    const char *P = E.P;
    buf_printf(
        b,
        "static double %s_rows(%s_part *part, const double *theta, const %s_data *data, size_t rows, double *out,\n"
        "                      size_t len, int packed)\n{\n"
        "    double loss = %s_rows_here(part, theta, data, rows, out, len, packed);\n"
        "    double *sums[2] = {&loss, out};\n"
        "    const size_t length[2] = {1, out != NULL ? len : 0};\n"
        "    %s_reduce(data, 2, sums, length);\n"
        "    return loss;\n}\n\n",
        P, P, P, P, P);
}

enum { COLUMN_ARRAY_MAX = 4096 };

/* aemit_body, then what a part of the rows needs: a body that is not split and scatters into out
 * (len values, as C text) adds out over the parts; a body that cannot run over parts says why. */
static void put_array_body(Buf *b, Node loss, const Scatter *sc, uint32_t nsc, const AemitOut *o, const char *out,
                           const char *len)
{
    const Model *m = E.m;
    size_t at = b->len;
    const char *why = aemit_body(b, m, E.P, loss, sc, nsc, o);
    bool reduced = aemit_reduced(), ring = aemit_ring(), failed = aemit_failed();
    size_t largest = aemit_largest_array();
    /* The Hessian's columns are looped over one at a time, outside the passes over rows, which
     * suits a loss linear in its sums (the rows' loop outside, the columns' inside it). Where a
     * pass over rows sits inside a column's loop (a loss not linear in its sums: a log of a sum,
     * a variance), each column would read every row again and, over parts of the rows, add its
     * sums in a message of its own: N passes and N messages. With the columns as arrays in the
     * passes instead, one pass fills every column, and a row's sums over pairs of rows (which
     * may depend on the column) are one loop, not one per column. Unless an array would exceed
     * COLUMN_ARRAY_MAX values (on the stack), or the parts could not share the code. */
    if (o->columns && (aemit_rows_in_columns() || failed)) {
        Buf first = {0};
        buf_put(&first, b->data + at, b->len - at);
        b->len = at;
        AemitOut arrays = *o;
        arrays.column_arrays = true;
        const char *why_arrays = aemit_body(b, m, E.P, loss, sc, nsc, &arrays);
        size_t now = aemit_largest_array();
        if (aemit_failed() || (!failed && ((why_arrays && !why) || (now > largest && now > COLUMN_ARRAY_MAX)))) {
            b->len = at;
            buf_put(b, first.data, first.len);
        } else {
            why = why_arrays;
            reduced = aemit_reduced();
            ring = aemit_ring();
            failed = false;
        }
        buf_free(&first);
    }
    E.array_failed |= failed;
    if (why)
        E.no_part = why;
    E.split_reduces |= o->split && reduced;
    E.has_ring |= ring;
    if (out && model_runtime_rows(m) && !o->split && nsc > 0)
        buf_printf(b, "    %s_reduce1(data, %s, %s);\n", E.P, out, len);
}

/* With the rows split (ArrayModel.split_vars): the loss, the gradient and the Hessian's columns
 * as static parts over rows [row_begin, row_end) that add into out, and P_rows, which runs one
 * part over all the rows, or, under OpenMP, a share of the rows per thread into its own copy of
 * out. */
static void put_row_parts(Buf *b, const ArrayModel *a, const char *store, const char *clipped)
{
    const Model *m = &a->model;
    const char *P = E.P;
    const char *head =
        "(const double *theta, const %s_data *data, size_t row_begin, size_t row_end, double *out, int packed)\n{\n";
    char *locals = efmt("    (void)out;\n    (void)packed;\n"
                        "    /* the terms free of rows go to the part that starts at row 0 (of the first part of the\n"
                        "       data set) */\n"
                        "    const double w_free = row_begin == 0 && %s_first_part(data) ? 1.0 : 0.0;\n"
                        "    (void)w_free;\n",
                        P);
    buf_printf(b, "/* The part of rows [row_begin, row_end): the loss (returned), its gradient added into out. */\n");
    buf_printf(b, "static double %s_loss_rows", P);
    buf_printf(b, head, P);
    put_data_locals(b);
    buf_puts(b, locals);
    put_array_body(b, m->loss, NULL, 0, &(AemitOut){"", NULL, 0, a->split_vars, E.checked, false}, NULL, NULL);
    put_loss_return(b, m->loss);
    buf_printf(b, "static double %s_grad_rows", P);
    buf_printf(b, head, P);
    put_data_locals(b);
    buf_puts(b, locals);
    buf_puts(b, "    double *const grad = out;\n");
    put_array_body(b, m->loss, a->grad.grad, a->grad.ngrad,
                   &(AemitOut){"grad[%s] += %s;", NULL, 0, a->split_vars, E.checked, false}, NULL, NULL);
    put_loss_return(b, m->loss);
    put_vectorized(b, true);
    buf_printf(b, "/* The part of rows [row_begin, row_end) of the Hessian's columns (%s_hstore). */\n", P);
    buf_printf(b, "static double %s_hcols", P);
    buf_printf(b, head, P);
    put_data_locals(b);
    buf_puts(b, locals);
    put_array_body(b, 0, a->cols.grad, a->cols.ngrad,
                   &(AemitOut){store, clipped, a->columns, a->split_vars, E.checked, false}, NULL, NULL);
    buf_puts(b, "    return 0.0;\n}\n\n");
    put_vectorized(b, false);
    if (E.checked) { /* checked code keeps one state: no threads */
        buf_printf(b,
                   "/* Rows [0, rows) of a part, in one call (checked code runs on one thread). */\n"
                   "typedef double %s_part(const double *, const %s_data *, size_t, size_t, double *, int);\n"
                   "static double %s_rows_here(%s_part *part, const double *theta, const %s_data *data, size_t rows, "
                   "double *out,\n"
                   "                           size_t len, int packed)\n{\n"
                   "    (void)len;\n    return part(theta, data, 0, rows, out, packed);\n}\n\n",
                   P, P, P, P, P);
        put_rows_whole(b);
        return;
    }
    buf_printf(
        b,
        "/* Rows [0, rows) of a part: in one call; or, compiled with OpenMP and over 1024 rows or more,\n"
        " * a share of the rows per thread, each into its own zeroed copy of out[0..len) (at most 32M\n"
        " * values in all), the copies then added into out. */\n"
        "typedef double %s_part(const double *, const %s_data *, size_t, size_t, double *, int);\n"
        "static double %s_rows_here(%s_part *part, const double *theta, const %s_data *data, size_t rows, double "
        "*out,\n"
        "                           size_t len, int packed)\n{\n"
        "    (void)len;\n"
        "#ifdef _OPENMP\n"
        "    int threads = omp_get_max_threads();\n"
        "    if (rows >= 1024 && threads > 1 && (double)threads * (double)len <= 32e6%s) {\n"
        "        double *copies = len ? (double *)calloc((size_t)threads * len, sizeof(double)) : NULL;\n"
        "        if (copies != NULL || len == 0) {\n"
        "            double loss = 0.0;\n"
        "#pragma omp parallel num_threads(threads) reduction(+: loss)\n"
        "            {\n"
        "                size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();\n"
        "                loss += part(theta, data, rows * t / nt, rows * (t + 1) / nt, copies ? copies + t * len : "
        "NULL, packed);\n"
        "            }\n"
        "            for (size_t t = 0; t < (size_t)threads; t++)\n"
        "                for (size_t k = 0; k < len; k++)\n"
        "                    out[k] += copies[t * len + k];\n"
        "            free(copies);\n"
        "            return loss;\n"
        "        }\n"
        "    }\n"
        "#endif\n"
        "    return part(theta, data, 0, rows, out, packed);\n}\n\n",
        P, P, P, P, P,
        /* a part's inner sums over all rows are added over the parts of the data set by one call
           per part: not from several threads */
        E.split_reduces ? " && data->hessgen_part.reduce == NULL" : "");
    put_rows_whole(b);
    (void)m;
}

/* The end of a Hessian function whose local `loss` is computed: `return loss;`, or, checked, the
 * outputs scanned for a fault first (the loss, the gradient, then `second` in its layout). */
static void put_loss_end(Buf *b, const char *fn, const char *second, int layout, const char *count)
{
    if (E.checked)
        put_end_text(b, fn, "loss", true, second, "Hessian", layout, count);
    else
        buf_puts(b, "    return loss;\n}\n\n");
}

/* Checked array loops: P_loss_all and P_grad_all, the loss (and gradient) without the data
 * check, the entry test and the scan, for the public functions to call (a fault then names the
 * function the user called). */
static void put_checked_loss_parts(Buf *b, const ArrayModel *a, const char *rows_n)
{
    const Model *m = &a->model;
    const char *P = E.P, *D = data_param();
    bool split = a->split_vars != 0;
    buf_printf(b, "static double %s_loss_all(const double *theta%s)\n{\n", P, D);
    if (m->ndata)
        put_data_locals(b);
    else
        buf_puts(b, "    (void)theta;\n");
    if (split) {
        buf_printf(b, "    return %s_rows(%s_loss_rows, theta, data, %s, NULL, 0, 0);\n}\n\n", P, P, rows_n);
    } else {
        put_array_body(b, m->loss, NULL, 0, &(AemitOut){"", NULL, 0, 0, true, false}, NULL, NULL);
        put_loss_return(b, m->loss);
    }
    buf_printf(b, "static double %s_grad_all(const double *theta%s, double *grad)\n{\n", P, D);
    if (m->ndata)
        put_data_locals(b);
    else
        buf_puts(b, "    (void)theta;\n");
    buf_printf(b, "    for (size_t k = 0; k < %s_NPARAM; k++)\n        grad[k] = 0.0;\n", P);
    if (split) {
        buf_printf(b, "    return %s_rows(%s_grad_rows, theta, data, %s, grad, %s_NPARAM, 0);\n}\n\n", P, P, rows_n, P);
    } else {
        put_array_body(b, m->loss, a->grad.grad, a->grad.ngrad, &(AemitOut){"grad[%s] += %s;", NULL, 0, 0, true, false},
                       "grad", efmt("%s_NPARAM", P));
        put_loss_return(b, m->loss);
    }
}

/* The Hessian's columns into out[0..len), packed or not: over all rows through P_rows, or (rows
 * not split) the one function. */
static void put_hcols_call(Buf *b, bool split, const char *rows, const char *out, const char *len, int packed)
{
    if (split)
        buf_printf(b, "%s_rows(%s_hcols, theta, data, %s, %s, %s, %d);\n", E.P, E.P, rows, out, len, packed);
    else
        buf_printf(b, "%s_hcols(theta%s, %s, %d);\n", E.P, E.m->ndata ? ", data" : "", out, packed);
}

/* A Hessian function's body with the rows split: the loss (and gradient) and the Hessian's
 * columns over this process's rows, then all of them added over the parts of the rows in one
 * message (through P_grad and P_rows it would be two). */
static void put_split_hessian(Buf *b, const char *rows, const char *out, const char *len, int packed)
{
    const char *P = E.P;
    buf_printf(b,
               "    double loss;\n    if (grad != NULL) {\n        for (size_t k = 0; k < %s_NPARAM; k++)\n"
               "            grad[k] = 0.0;\n"
               "        loss = %s_rows_here(%s_grad_rows, theta, data, %s, grad, %s_NPARAM, 0);\n    } else {\n"
               "        loss = %s_rows_here(%s_loss_rows, theta, data, %s, NULL, 0, 0);\n    }\n"
               "    for (size_t k = 0; k < %s; k++)\n        %s[k] = 0.0;\n"
               "    (void)%s_rows_here(%s_hcols, theta, data, %s, %s, %s, %d);\n"
               "    {\n        double *sums[3] = {&loss, grad, %s};\n"
               "        const size_t length[3] = {1, grad != NULL ? (size_t)%s_NPARAM : 0, %s};\n"
               "        %s_reduce(data, 3, sums, length);\n    }\n",
               P, P, P, rows, P, P, P, rows, len, out, P, P, rows, out, len, packed, out, P, len, P);
}

bool emit_c_arrays(Buf *b, const ArrayModel *a, const EmitOptions *o)
{
    const Model *m = &a->model;
    const ArrayDeriv *g = &a->grad, *h = &a->hvp, *cols = &a->cols;
    uint64_t columns = a->columns;
    const char *P = o->prefix;
    uint32_t N = m->nparam;
    bool data = m->ndata > 0, split = a->split_vars != 0;
    memset(&E, 0, sizeof E);
    E.P = P;
    E.m = m;
    E.indent = "    ";
    E.split_size = -1;
    E.visit_level = -1;
    E.no_part = a->no_part;
    E.dense_pattern = true;
    E.checked = is_checked(m, o);
    bool checked = E.checked;
    const char *D = data_param();
    /* the pattern: all of the lower triangle (the Hessian is computed column by column) */
    Deriv pat = {0};
    pat.n = N;
    pat.nnz = (uint32_t)((uint64_t)N * (N + 1) / 2);
    bool used[OP__COUNT] = {0};
    aemit_ops_used(m->loss, g->grad, g->ngrad, used);
    aemit_ops_used(0, h->grad, h->ngrad, used);
    aemit_ops_used(0, cols->grad, cols->ngrad, used);

    buf_printf(b, "/* Generated by hessgen %s from %s: do not edit.\n", HESSGEN_VERSION, o->source_name);
    buf_printf(b,
               " * Model %s: %u parameter%s; its sums are loops over their indices (array loops), and the\n"
               " * Hessian's columns are Hessian-vector products along each e_c (dense pattern).\n"
               " * Standalone C99: needs only <math.h> (link with -lm)%s. */\n",
               P, N, N == 1 ? "" : "s", split ? "; with OpenMP (-fopenmp) the rows are split across threads" : "");
    buf_puts(b, "#include <math.h>\n#include <stddef.h>\n#include <stdlib.h>\n");
    if (checked)
        buf_puts(b, "#include <stdio.h> /* --checked: the fault's text */\n#include <string.h>\n");
    else if (split)
        buf_puts(b, "#ifdef _OPENMP\n#include <omp.h>\n#endif\n");
    buf_puts(b, "\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
    put_declarations(b, m, &pat, split);
    buf_puts(b, "\n");
    put_helpers(b, used);
    if (checked)
        checked_state(b, P);
    put_const_tables(b, m);
    if (data)
        put_data_functions(b, m);
    char *nparam = efmt("%s_NPARAM", P);
    char *nn = efmt("(size_t)%s * %s", nparam, nparam);
    char *grad_nan = efmt("%s", fail_fill("?grad", nparam, false));
    grad_nan[strlen(grad_nan) - strlen("        return;\n")] = 0;
    char *store = efmt("%s_hstore(out, packed, (size_t)(%%s), (size_t)(%%s), %%s);", P);
    char *clipped = efmt("out[%s_hrow(packed, (size_t)(%%s)) + (size_t)(%%s)] += %%s;", P);
    char *rows_n = split ? efmt("N_%s", m->sizes[0].name) : "";

    /* the Hessian's columns, H e_c for every c (each inside the passes over rows, after what
     * does not depend on c); column c is row c of the symmetric matrix, and its entries from
     * the diagonal on (adiff.c says why that half) are a row of the upper triangle, contiguous
     * whether out is N x N (packed 0) or the upper triangle row-major (packed 1): one base per
     * column, then + i. P_lower_from_upper turns packed 1 into the lower triangle the API
     * returns. */
    buf_printf(
        b,
        "static size_t %s_hrow(int packed, size_t c)\n{\n    return packed ? c * %s - c * (c + 1) / 2 : c * %s;\n}\n\n",
        P, nparam, nparam);
    buf_printf(b,
               "static void %s_hstore(double *out, int packed, size_t c, size_t i, double x)\n{\n"
               "    if (i < c)\n        return; /* below the diagonal: the mirror of (c, i) */\n"
               "    out[%s_hrow(packed, c) + i] += x;\n}\n\n",
               P, P);
    buf_printf(b,
               "/* values, the upper triangle row-major (packed 1 above), made the lower triangle row-major\n"
               " * (entry r * (r + 1) / 2 + c at (r, c)): the same numbers, H being symmetric, moved through a\n"
               " * copy; NaN everywhere if there is no memory for the copy. */\n"
               "static void %s_lower_from_upper(double *values)\n{\n"
               "    const size_t n = %s, nnz = n * (n + 1) / 2;\n"
               "    double *u = (double *)malloc(nnz * sizeof(double));\n"
               "    if (u == NULL) {\n        for (size_t k = 0; k < nnz; k++)\n            values[k] = NAN;\n        "
               "return;\n    }\n"
               "    for (size_t k = 0; k < nnz; k++)\n        u[k] = values[k];\n"
               "    for (size_t r = 0; r < n; r++)\n        for (size_t c = 0; c <= r; c++)\n"
               "            values[r * (r + 1) / 2 + c] = u[c * n - c * (c + 1) / 2 + r];\n"
               "    free(u);\n}\n\n",
               P, nparam);
    if (split) {
        put_row_parts(b, a, store, clipped);
    } else {
        put_vectorized(b, true);
        buf_printf(b, "static void %s_hcols(const double *theta%s, double *out, int packed)\n{\n", P, D);
        if (data)
            put_data_locals(b);
        else
            buf_puts(b, "    (void)theta;\n");
        put_array_body(
            b, 0, cols->grad, cols->ngrad, &(AemitOut){store, clipped, columns, 0, checked, false}, "out",
            efmt("packed ? (size_t)%s_NPARAM * (%s_NPARAM + 1) / 2 : (size_t)%s_NPARAM * %s_NPARAM", P, P, P, P));
        buf_puts(b, "}\n\n");
        put_vectorized(b, false);
    }
    if (checked)
        put_checked_loss_parts(b, a, rows_n);

    /* loss */
    buf_printf(b, "double %s_loss(const double *theta%s)\n{\n", P, D);
    put_enter(b, false);
    put_data_prologue(b, fail_fill("", "", true));
    const char *pass = data ? ", data" : "";
    char *call;
    if (checked) {
        call = efmt("%s_loss_all(theta%s)", P, pass);
        put_end_text(b, "loss", call, false, NULL, NULL, 0, NULL);
    } else if (split) {
        buf_printf(b, "    return %s_rows(%s_loss_rows, theta, data, %s, NULL, 0, 0);\n}\n\n", P, P, rows_n);
    } else {
        put_array_body(b, m->loss, NULL, 0, &(AemitOut){"", NULL, 0, 0, false, false}, NULL, NULL);
        put_loss_return(b, m->loss);
    }

    /* gradient */
    buf_printf(b, "double %s_grad(const double *theta%s, double *grad)\n{\n", P, D);
    put_enter(b, false);
    put_data_prologue(b, fail_fill("grad", nparam, true));
    if (checked) {
        call = efmt("%s_grad_all(theta%s, grad)", P, pass);
        put_end_text(b, "grad", call, true, NULL, NULL, 0, NULL);
    } else if (split) {
        buf_printf(b, "    for (size_t k = 0; k < %s; k++)\n        grad[k] = 0.0;\n", nparam);
        buf_printf(b, "    return %s_rows(%s_grad_rows, theta, data, %s, grad, %s, 0);\n}\n\n", P, P, rows_n, nparam);
    } else {
        buf_printf(b, "    for (size_t k = 0; k < %s; k++)\n        grad[k] = 0.0;\n", nparam);
        put_array_body(b, m->loss, g->grad, g->ngrad, &(AemitOut){"grad[%s] += %s;", NULL, 0, 0, false, false}, "grad",
                       nparam);
        put_loss_return(b, m->loss);
    }

    /* Hessian times v */
    buf_printf(b, "void %s_hvp(const double *theta%s, const double *v, double *hv)\n{\n", P, D);
    put_enter(b, true);
    put_data_prologue(b, fail_fill("hv", nparam, false));
    buf_printf(b, "    (void)v;\n    for (size_t k = 0; k < %s; k++)\n        hv[k] = 0.0;\n", nparam);
    put_array_body(b, 0, h->grad, h->ngrad, &(AemitOut){"hv[%s] += %s;", NULL, 0, 0, checked, false}, "hv", nparam);
    put_end_text(b, "hvp", NULL, false, "hv", "Hessian-vector product", 1, nparam);

    /* the dense Hessian, the sparse one (the dense lower triangle), the values alone */
    char nnz[64];
    snprintf(nnz, sizeof nnz, "%u", pat.nnz);
    const char *mirror = "    /* the lower triangle: the upper one mirrored */\n"
                         "    for (size_t r = 0; r < %s; r++)\n        for (size_t c = r + 1; c < %s; c++)\n"
                         "            hess[c * %s + r] = hess[r * %s + c];\n";
    /* checked: the loss and gradient from the parts that neither enter nor scan (P_loss_all) */
    const char *suffix = checked ? "_all" : "";
    buf_printf(b, "double %s_hess(const double *theta%s, double *grad, double *hess)\n{\n", P, D);
    put_enter(b, false);
    put_prologue_with_grad(b, grad_nan, "hess", nn);
    if (split && !checked) {
        put_split_hessian(b, rows_n, "hess", nn, 0);
    } else {
        buf_printf(b, "    const double loss = grad != NULL ? %s_grad%s(theta%s, grad) : %s_loss%s(theta%s);\n", P,
                   suffix, pass, P, suffix, pass);
        buf_printf(b, "    for (size_t k = 0; k < %s; k++)\n        hess[k] = 0.0;\n    ", nn);
        put_hcols_call(b, split, rows_n, "hess", nn, 0);
    }
    buf_printf(b, mirror, nparam, nparam, nparam, nparam);
    put_loss_end(b, "hess", "hess", 2, nn);

    buf_printf(b, "double %s_hess_sparse(const double *theta%s, double *grad, double *values)\n{\n", P, D);
    put_enter(b, false);
    put_prologue_with_grad(b, grad_nan, "values", nnz);
    if (split && !checked) {
        put_split_hessian(b, rows_n, "values", nnz, 1);
    } else {
        buf_printf(b, "    const double loss = grad != NULL ? %s_grad%s(theta%s, grad) : %s_loss%s(theta%s);\n", P,
                   suffix, pass, P, suffix, pass);
        buf_printf(b, "    for (size_t k = 0; k < %s; k++)\n        values[k] = 0.0;\n    ", nnz);
        put_hcols_call(b, split, rows_n, "values", nnz, 1);
    }
    buf_printf(b, "    %s_lower_from_upper(values);\n", P);
    put_loss_end(b, "hess_sparse", "values", 3, nnz);
    buf_printf(b, "void %s_hess_values(const double *theta%s, double *values)\n{\n", P, D);
    put_enter(b, false);
    put_data_prologue(b, fail_fill("values", nnz, false));
    buf_printf(b, "    for (size_t k = 0; k < %s; k++)\n        values[k] = 0.0;\n    ", nnz);
    put_hcols_call(b, split, rows_n, "values", nnz, 1);
    buf_printf(b, "    %s_lower_from_upper(values);\n", P);
    put_end_text(b, "hess_values", NULL, false, "values", "Hessian", 3, nnz);

    /* a part of the rows */
    if (split) {
        put_row_range_start(b, grad_nan, nn);
        buf_printf(b,
                   "    double loss;\n    if (grad != NULL) {\n        for (size_t k = 0; k < %s; k++)\n            "
                   "grad[k] = 0.0;\n"
                   "        loss = %s_grad_rows(theta, data, begin, end, grad, 0);\n    } else {\n"
                   "        loss = %s_loss_rows(theta, data, begin, end, NULL, 0);\n    }\n",
                   nparam, P, P);
        buf_printf(b, "    for (size_t k = 0; k < %s; k++)\n        hess[k] = 0.0;\n", nn);
        buf_printf(b, "    (void)%s_hcols(theta, data, begin, end, hess, 0);\n", P);
        buf_printf(b, mirror, nparam, nparam, nparam, nparam);
        put_loss_end(b, "hess_row_range", "hess", 2, nn);
    }

    /* tables and the descriptor */
    buf_printf(b, "const int %s_hess_nnz = %u;\n", P, pat.nnz);
    put_param_tables(b, m);
    if (checked) {
        checked_definitions(b, P, o->source_name, N, true);
        checked_release();
    }
    put_descriptor(b, m, &pat);
    buf_puts(b, "\n#ifdef __cplusplus\n}\n#endif\n");
    if (o->with_main)
        put_main(b);
    E.dense_pattern = false;
    pool_release();
    return !E.array_failed;
}
