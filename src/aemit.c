/* aemit.c: the bodies of the evaluation functions of array loops (sema_array_loops).
 *
 * In: the loss node and scatters (adiff.c) over a graph whose sums over index variables are
 * OP_VSUM nodes. Out: C statements: loop nests over the variables, so the text grows with the
 * source, not with the number of scalar terms.
 *
 * The plan, for one function:
 *   - Every node the outputs need is either written inline, as a temporary inside the loop nest
 *     of its one user (same variables, or the body of the sum that uses it), or materialized: a
 *     local array over its fixed-range variables (a scalar when it has none), filled by its own
 *     loop nest. A node is materialized when it has two users, or its user depends on more
 *     variables (h[j] read inside a loop over k and j would be computed again for every k), or
 *     it is a sum over data rows (those are accumulated in shared passes over the rows).
 *   - Data-row variables are the passes: what depends on row r is computed inside one loop over
 *     the rows that accumulates every sum over r ready at that point, as in sched.c's row loops;
 *     a sum that needs another's total waits for a later pass.
 *   - Outputs are scatters: out[map] += value inside a loop nest over the value's variables and
 *     the map's, after out is zeroed.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

enum { T_NODE, T_ACC, T_SCATTER };

typedef struct {
    int kind;  /* T_NODE: materialize node; T_ACC: add one row's body into node's sum; T_SCATTER */
    Node node; /* T_SCATTER: the value */
    uint32_t scatter;
} Target;

static struct {
    Buf *b;
    const Model *m;
    const char *P;
    uint32_t limit;
    uint8_t *mat;   /* node -> materialized */
    uint32_t *uses; /* node -> users among the needed nodes */
    int *level;     /* node -> the scope depth where its array/scalar is declared, -1: none */
    Node **scoped;  /* per scope depth: what it declared */
    uint32_t *nscoped, *scoped_cap;
    int depth;        /* scope depth (0: the function body) */
    uint64_t rowvars; /* the data-row variables */
    uint64_t split;   /* the row variables looped over [row_begin, row_end) */
    uint32_t ntemps;
    const Scatter *scatters;
    const char *out_store;     /* how a scatter adds: a printf format with %s (index) and %s (value) */
    const char *clipped_store; /* a column's scatter whose loop starts at the diagonal (or NULL) */
    uint32_t passes;
    uint32_t *seen, stamp;       /* hoist's visits */
    uint32_t epoch, *memo_epoch; /* ready's memo (epoch 0 is never current) */
    uint64_t *memo_bound;
    uint8_t *memo_ready;
    bool checked; /* --checked: each value tested as it is made */
    /* a part of the rows (M_data_part): after a pass over a run-time row count its sums are added
     * over the parts; a scatter outside such passes is the first part's alone, and the caller
     * adds the output over the parts */
    bool parts;          /* the model has run-time row counts */
    int in_runtime;      /* passes over run-time row counts open around the current statement */
    int in_data;         /* passes over any data rows (constant tables too) open */
    const char *no_part; /* why the rows cannot be split, or NULL */
    bool reduced;        /* the body adds sums over the parts */
    bool split_seen;     /* a split body: a pass over [row_begin, row_end) was written */
    int in_whole;        /* a split body: passes over all of a run-time row count open */
    /* pairs of rows over parts (put_ring_begin): an outermost pass over run-time rows whose body
     * holds one pass over run-time rows (the site) runs once per part's rows visiting (the site's
     * sums kept per row in ringK_acc, what follows it skipped), then once more to finish */
    bool ring_on;        /* inside such an outer pass */
    uint32_t ring_id;    /* its number K (ringK_...) */
    uint32_t ring_outer; /* its variable */
    int ring_body;       /* its body's scope depth */
    bool ring_split;     /* it runs over [row_begin, row_end) */
    uint32_t ring_var;   /* inside the site's loop: its variable (reads V_name, NV_name), else none */
    bool ring_site_done; /* the site is written: a side effect from here on happens once anyway */
    uint32_t ring_width; /* the site's sums per row */
    uint32_t nrings;
    uint8_t *ring_inside; /* node -> an accumulator declared inside the outer pass's body */
    uint64_t columns;     /* the Hessian's column variables looped over like rows (AemitOut) */
    bool rows_in_columns; /* a pass over run-time rows inside a loop over columns */
    bool failed;          /* no order of passes over rows computes the targets (emit_targets) */
    size_t largest;       /* the most values of an array over index variables */
} A;

/* A split body assumes that its passes over all the rows see every row; in a part of the data
 * set they see the part's, which is right only for sums added over the parts before anything
 * of this part's rows is used with them. */
static const char *const SPLIT_WHOLE =
    "the loss's array-loop code sums over all rows inside a part of them (as a mean inside a mean "
    "does in array loops): each rank would need every row; generate it with --loops=never, whose stages split";

bool aemit_ring(void)
{
    return A.nrings > 0;
}

bool aemit_failed(void)
{
    return A.failed;
}

bool aemit_rows_in_columns(void)
{
    return A.rows_in_columns;
}

size_t aemit_largest_array(void)
{
    return A.largest;
}

bool aemit_reduced(void)
{
    return A.reduced;
}

static const char *const SPACES = "                                                                ";

static const char *ind(int n)
{
    int k = 4 * n;
    return SPACES + (strlen(SPACES) > (size_t)k ? strlen(SPACES) - (size_t)k : 0);
}

static bool is_leaf(Node n)
{
    switch (dag_op(n)) {
    case OP_CONST:
    case OP_PI:
    case OP_PARAM:
    case OP_DIR:
    case OP_IVAR:
    case OP_PAT:
    case OP_VAT:
    case OP_DAT:
    case OP_NROWS:
    case OP_UNIT:
        return true;
    default:
        return false;
    }
}

static bool is_row_vsum(Node n)
{
    return dag_op(n) == OP_VSUM && (A.rowvars >> dag_rec(n)->aux & 1);
}

static uint64_t fixed_vars(Node n)
{
    return dag_vars(n) & ~A.rowvars;
}

/* The row variables still to be looped over for t, in a scope where `bound` are. */
static uint64_t need(const Target *t, uint64_t bound)
{
    Node n = t->node;
    uint64_t v = dag_vars(n);
    if (t->kind == T_SCATTER)
        v |= A.scatters[t->scatter].over;
    if (t->kind == T_NODE && is_row_vsum(n))
        v |= 1ull << dag_rec(n)->aux;
    if (t->kind == T_ACC)
        v = dag_vars(dag_args(n)[0]);
    return v & A.rowvars & ~bound;
}

static void var_name(Buf *b, uint32_t v)
{
    buf_printf(b, "i%u", v);
}

static void open_loop(Buf *b, uint32_t v, int depth)
{
    const IndexVar *x = dag_var(v);
    if (A.split >> v & 1)
        buf_printf(b, "%sfor (size_t i%u = row_begin; i%u < row_end; i%u++) {\n", ind(depth), v, v, v);
    else if (x->size != NO_SIZE)
        buf_printf(b, "%sfor (size_t i%u = 0; i%u < %s_%s; i%u++) {\n", ind(depth), v, v, v == A.ring_var ? "NV" : "N",
                   A.m->sizes[x->size].name, v);
    else
        buf_printf(b, "%sfor (long i%u = %ld; i%u < %ld; i%u++) {\n", ind(depth), v, x->lo, v, x->lo + x->count, v);
}

/* The elements of an array over the fixed variables in vars. */
static size_t array_size(uint64_t vars)
{
    size_t n = 1;
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (vars >> v & 1)
            n *= (size_t)dag_var(v)->count;
    if (n > A.largest)
        A.largest = n;
    return n;
}

/* Row-major index into an array over vars, the lowest variable outermost; with `at`
 * (OP_REINDEX's map), variable at->array read as at->base + i<at->var[0]>. */
static void put_array_index_at(Buf *b, uint64_t vars, const IndexMap *at)
{
    size_t stride = 1;
    bool first = true;
    for (int v = MAX_VARS - 1; v >= 0; v--) {
        if (!(vars >> v & 1))
            continue;
        const IndexVar *x = dag_var((uint32_t)v);
        buf_puts(b, first ? "" : " + ");
        char name[64], term[96];
        if (at && (uint32_t)v == at->array && at->base != 0)
            snprintf(name, sizeof name, "(%lld + i%u)", (long long)at->base, at->var[0]);
        else if (at && (uint32_t)v == at->array)
            snprintf(name, sizeof name, "i%u", at->var[0]);
        else
            snprintf(name, sizeof name, "i%d", v);
        if (x->lo != 0)
            snprintf(term, sizeof term, "(%s - %ld)", name, x->lo);
        else
            snprintf(term, sizeof term, "%s", name);
        if (stride == 1)
            buf_puts(b, term);
        else
            buf_printf(b, "%s * %zu", term, stride);
        stride *= (size_t)x->count;
        first = false;
    }
}

static void put_array_index(Buf *b, uint64_t vars)
{
    put_array_index_at(b, vars, NULL);
}

static void put_map_index(Buf *b, const IndexMap *map)
{
    bool lead = map->base == 0 && map->nterms > 0; /* the first term leads: no "0 + " */
    if (!lead)
        buf_printf(b, "%lld", (long long)map->base);
    for (uint32_t t = 0; t < map->nterms; t++) {
        int64_t c = map->coef[t];
        if (!(lead && t == 0))
            buf_puts(b, c == -1 ? " - " : " + ");
        else if (c == -1)
            buf_puts(b, "-");
        if (c != 1 && c != -1)
            buf_printf(b, "%lld * ", (long long)c);
        const IndexVar *x = dag_var(map->var[t]);
        if (x->size != NO_SIZE && map->coef[t] != 1)
            buf_printf(b, "(ptrdiff_t)i%u", map->var[t]);
        else
            var_name(b, map->var[t]);
    }
}

/* Whether a side effect written now, in a ring's outer pass before its site (not inside it: each
 * pair's comes once), must wait for the last pass: the passes before it only visit. */
static bool ring_guard(void)
{
    return A.ring_on && !A.ring_site_done && A.ring_var == UINT32_MAX;
}

/* Whether a map's index reads variable v. */
static bool reads_var(const IndexMap *map, uint32_t v)
{
    for (uint32_t t = 0; t < map->nterms; t++)
        if (map->var[t] == v)
            return true;
    return false;
}

static void put_leaf(Buf *b, Node n)
{
    switch (dag_op(n)) {
    case OP_CONST:
        emit_put_double(b, rat_to_double(dag_rat(n)));
        return;
    case OP_PI:
        buf_puts(b, "3.141592653589793");
        return;
    case OP_PARAM:
        buf_printf(b, "theta[%u]", dag_rec(n)->aux);
        return;
    case OP_DIR:
        buf_printf(b, "v[%u]", dag_rec(n)->aux);
        return;
    case OP_UNIT: {
        const IndexMap *map = dag_map_get(dag_rec(n)->aux);
        buf_puts(b, "((ptrdiff_t)(");
        put_map_index(b, map);
        buf_printf(b, ") == (ptrdiff_t)i%u ? 1.0 : 0.0)", map->array);
        return;
    }
    case OP_IVAR:
        buf_printf(b, "(double)i%u", dag_rec(n)->aux);
        return;
    case OP_NROWS:
        if (dag_row_size(n) == NO_SIZE) /* the share of the terms free of rows (adiff.c) */
            buf_puts(b, "w_free");
        else
            buf_printf(b, "T_%s", A.m->sizes[dag_row_size(n)].name);
        return;
    case OP_PAT:
    case OP_VAT:
    case OP_DAT: {
        const IndexMap *map = dag_map_get(dag_rec(n)->aux);
        if (dag_op(n) == OP_PAT)
            buf_puts(b, "theta[");
        else if (dag_op(n) == OP_VAT)
            buf_puts(b, "v[");
        else if (A.m->data[map->array].values)
            buf_printf(b, "%s_ctable%u[", A.P, map->array);
        else
            buf_printf(b, "%c_%s[", reads_var(map, A.ring_var) ? 'V' : 'D', A.m->data[map->array].name);
        put_map_index(b, map);
        buf_puts(b, "]");
        return;
    }
    default:
        fatal("internal error: aemit: %s is not a leaf", dag_op_name(dag_op(n)));
    }
}

/* A materialized node as its C name: tN, or tN[index] over its fixed variables. */
static void put_materialized(Buf *b, Node n)
{
    if (A.level[n] < 0)
        fatal("internal error: aemit: node %u used before it is computed", n);
    uint64_t f = fixed_vars(n);
    buf_printf(b, "t%u", n);
    if (f) {
        buf_puts(b, "[");
        put_array_index(b, f);
        buf_puts(b, "]");
    }
}

/* An operand's expression longer than this is a temporary of its own. */
enum { INLINE_MAX = 100 };

/* Whether operand i, a, of n, written inside n's expression, needs parentheses to be evaluated
 * as it was computed: a call f(x) does not, nor a product in a sum, nor the first operand of
 * its own operation (C's + and * group from the left). */
static bool needs_parens(Node n, Node a, uint32_t i)
{
    Op op = dag_op(n), aop = dag_op(a);
    if ((aop != OP_ADD && aop != OP_MUL && aop != OP_POW) || (op != OP_ADD && op != OP_MUL && op != OP_POW))
        return false; /* a call, or inside a call's parentheses */
    if (op == OP_ADD && aop == OP_MUL)
        return false;
    return !(i == 0 && op == aop && op != OP_POW);
}

/* Whether an operand can be not finite: not a constant, an index or a count. */
static bool may_fault(Node n)
{
    Op op = dag_op(n);
    return !dag_is_const(n) && op != OP_PI && op != OP_UNIT && op != OP_IVAR && op != OP_NROWS;
}

/* Writes the statements that compute node n inline (its variables all bound by loops around
 * depth) and puts into `out` the C expression of its value. With a target (decl: "const double
 * t5 =", "t5[i2] =" or "x3 +=", ref: how it is read), n's own statement stores into it instead
 * of a new temporary, and `into` says whether it did (else the caller stores out's expression). */
typedef struct {
    const char *decl, *ref; /* decl NULL: n's expression itself goes into out (no statement) */
    const char *sum;        /* if n is a sum over a fixed range: the accumulator's name, or NULL */
    bool into;
} Into;

static void put_value_into(Buf *out, Node n, int depth, Into *target)
{
    if (is_leaf(n)) {
        put_leaf(out, n);
        return;
    }
    if (A.mat[n]) {
        put_materialized(out, n);
        return;
    }
    if (dag_op(n) == OP_REINDEX) { /* the operand's array, read at the new index */
        Node a = dag_args(n)[0];
        if (!A.mat[a] || A.level[a] < 0)
            fatal("internal error: aemit: a reindexed node that is not computed");
        buf_printf(out, "t%u", a);
        uint64_t f = fixed_vars(a);
        if (f) {
            buf_puts(out, "[");
            put_array_index_at(out, f, dag_map_get(dag_rec(n)->aux));
            buf_puts(out, "]");
        }
        return;
    }
    Buf *b = A.b;
    uint32_t k = dag_nargs(n);
    uint32_t me = A.ntemps++;
    if (dag_op(n) == OP_VSUM) {
        uint32_t v = dag_rec(n)->aux;
        char sum[40];
        snprintf(sum, sizeof sum, "x%u", me);
        if (target && target->sum) { /* the sum is the materialized scalar itself */
            snprintf(sum, sizeof sum, "%s", target->sum);
            target->into = true;
        }
        buf_printf(b, "%sdouble %s = 0.0;\n", ind(depth), sum);
        open_loop(b, v, depth);
        Buf body = {0};
        char acc[48];
        snprintf(acc, sizeof acc, "%s +=", sum);
        /* the body's own statement adds into the sum (checked code tests it first, as a value) */
        Into into = {acc, acc, NULL, false};
        put_value_into(&body, dag_args(n)[0], depth + 1, A.checked ? NULL : &into);
        if (!into.into)
            buf_printf(b, "%s%s += %s;\n", ind(depth + 1), sum, body.data);
        buf_printf(b, "%s}\n", ind(depth));
        buf_free(&body);
        buf_puts(out, sum);
        return;
    }
    /* the operands first (their statements), then this node's expression; an operand computed
     * for this node alone is written inside it, in parentheses, up to INLINE_MAX characters
     * (checked code names every value, to test it) */
    char **names = xcalloc(k ? k : 1, sizeof(char *));
    for (uint32_t i = 0; i < k; i++) {
        Node a = dag_args(n)[i];
        Buf x = {0};
        Into e = {NULL, NULL, NULL, false};
        /* not inside a power: emit_put_pow may write its base more than once */
        put_value_into(&x, a, depth, A.checked || dag_op(n) == OP_POW ? NULL : &e);
        if (e.into && x.len > INLINE_MAX) {
            uint32_t t = A.ntemps++;
            buf_printf(b, "%sconst double x%u = %s;\n", ind(depth), t, x.data);
            x.len = 0;
            buf_printf(&x, "x%u", t);
        } else if (e.into && needs_parens(n, a, i)) {
            Buf p = {0};
            buf_printf(&p, "(%s)", x.data);
            buf_free(&x);
            x = p;
        }
        names[i] = x.data;
    }
    char name[40];
    snprintf(name, sizeof name, "x%u", me);
    bool expr = target && !target->decl; /* the expression into out, no statement */
    if (expr) {
        b = out;
        target->into = true;
    } else if (target) {
        buf_printf(b, "%s%s ", ind(depth), target->decl);
        snprintf(name, sizeof name, "%s", target->ref);
        target->into = true;
    } else {
        buf_printf(b, "%sconst double x%u = ", ind(depth), me);
    }
    Op op = dag_op(n);
    if (op == OP_ADD || op == OP_MUL) {
        for (uint32_t i = 0; i < k; i++) {
            if (i)
                buf_puts(b, op == OP_ADD ? " + " : " * ");
            buf_puts(b, names[i]);
        }
    } else if (op == OP_POW) {
        if (dag_is_const(dag_args(n)[1]))
            emit_put_pow(b, names[0], dag_rat(dag_args(n)[1]));
        else
            buf_printf(b, "pow(%s, %s)", names[0], names[1]);
    } else {
        buf_printf(b, "%s(%s)", emit_function_name(op, A.P), names[0]);
    }
    if (expr) {
        for (uint32_t i = 0; i < k; i++)
            free(names[i]);
        free(names);
        return;
    }
    buf_puts(b, ";\n");
    if (A.checked) {
        Buf ops = {0};
        for (uint32_t i = 0; i < k; i++)
            if (may_fault(dag_args(n)[i]))
                buf_printf(&ops, " && isfinite(%s)", names[i]);
        /* 1/x^k, written as a division: its site is "/" */
        bool division = op == OP_POW && dag_is_const(dag_args(n)[1]) && emit_pow_is_division(dag_rat(dag_args(n)[1]));
        checked_step(A.b, ind(depth), A.P, name, n, division, ops.data ? ops.data : "");
        buf_free(&ops);
    }
    for (uint32_t i = 0; i < k; i++)
        free(names[i]);
    free(names);
    buf_puts(out, name);
}

/* ---- scopes: what is declared where ---- */

static void declare(Node n)
{
    A.epoch++;
    A.level[n] = A.depth;
    int d = A.depth;
    if (A.nscoped[d] == A.scoped_cap[d]) {
        A.scoped_cap[d] = A.scoped_cap[d] ? 2 * A.scoped_cap[d] : 16;
        A.scoped[d] = xrealloc(A.scoped[d], sizeof(Node) * A.scoped_cap[d]);
    }
    A.scoped[d][A.nscoped[d]++] = n;
}

static void leave_scope(void)
{
    A.epoch++;
    int d = A.depth;
    for (uint32_t i = 0; i < A.nscoped[d]; i++)
        A.level[A.scoped[d][i]] = -1;
    A.nscoped[d] = 0;
    A.depth--;
}

static void enter_scope(void)
{
    A.depth++;
    if (A.depth >= 64)
        fatal("internal error: aemit: passes over rows nested too deep");
}

/* ---- materialized nodes and their dependencies ---- */

/* The materialized nodes (and row sums) n's inline tree reads, appended to deps. */
static void collect_deps(Node n, bool root, Node **deps, uint32_t *ndeps, uint32_t *cap)
{
    if (is_leaf(n))
        return;
    if (!root && A.mat[n]) {
        if (*ndeps == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *deps = xrealloc(*deps, sizeof(Node) * *cap);
        }
        (*deps)[(*ndeps)++] = n;
        return;
    }
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        collect_deps(dag_args(n)[i], false, deps, ndeps, cap);
}

/* Whether n (materialized, not yet declared) can be computed in this scope, with every
 * dependency declared or computable now; `bound` are the row variables looped over. */
static bool ready(Node n, uint64_t bound, bool as_root)
{
    if (!as_root && A.level[n] >= 0)
        return true;
    if (!as_root && is_row_vsum(n))
        return false; /* needs a pass */
    if (!as_root && (dag_vars(n) & A.rowvars & ~bound))
        return false;
    /* memo: what is declared changes only through declare and leave_scope (A.epoch), so a
     * shared dependency is examined once per epoch and bound, not once per path to it */
    if (!as_root && A.memo_epoch[n] == A.epoch && A.memo_bound[n] == bound)
        return A.memo_ready[n];
    Node *deps = NULL;
    uint32_t nd = 0, cap = 0;
    collect_deps(n, true, &deps, &nd, &cap);
    bool ok = true;
    for (uint32_t i = 0; i < nd && ok; i++)
        ok = ready(deps[i], bound, false);
    free(deps);
    if (!as_root) {
        A.memo_epoch[n] = A.epoch;
        A.memo_bound[n] = bound;
        A.memo_ready[n] = ok;
    }
    return ok;
}

static void compute(Node n, uint64_t bound);

/* Computes, in order, every not yet declared materialized dependency of n. */
static void compute_deps(Node n, uint64_t bound)
{
    Node *deps = NULL;
    uint32_t nd = 0, cap = 0;
    collect_deps(n, true, &deps, &nd, &cap);
    for (uint32_t i = 0; i < nd; i++)
        if (A.level[deps[i]] < 0)
            compute(deps[i], bound);
    free(deps);
}

/* A materialized node: declared, then filled by a loop nest over its fixed variables. */
static void compute(Node n, uint64_t bound)
{
    if (A.level[n] >= 0)
        return;
    compute_deps(n, bound);
    Buf *b = A.b;
    int d = A.depth + 1;
    uint64_t f = fixed_vars(n);
    if (f)
        buf_printf(b, "%sdouble t%u[%zu];\n", ind(d), n, array_size(f));
    int depth = d;
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (f >> v & 1)
            open_loop(b, v, depth++);
    /* its own statement stores into it: "const double tN = ..." or "tN[...] = ..." */
    Buf ref = {0}, decl = {0};
    buf_printf(&ref, "t%u", n);
    if (f) {
        buf_puts(&ref, "[");
        put_array_index(&ref, f);
        buf_puts(&ref, "]");
        buf_printf(&decl, "%s =", ref.data);
    } else {
        buf_printf(&decl, "const double t%u =", n);
    }
    Into target = {decl.data, ref.data, f ? NULL : ref.data, false};
    A.mat[n] = 0; /* written inline here, once */
    Buf x = {0};
    put_value_into(&x, n, depth, &target);
    A.mat[n] = 1;
    declare(n);
    if (!target.into)
        buf_printf(b, "%s%s %s;\n", ind(depth), decl.data, x.data);
    buf_free(&x);
    buf_free(&ref);
    buf_free(&decl);
    while (depth > d)
        buf_printf(b, "%s}\n", ind(--depth));
}

/* One scatter: out[map] += value over the value's and the map's free variables. */
static void put_scatter(const Scatter *s, uint64_t bound)
{
    if (A.mat[s->value])
        compute(s->value, bound);
    else
        compute_deps(s->value, bound);
    Buf *b = A.b;
    int d = A.depth + 1, depth = d;
    uint64_t f = (dag_vars(s->value) | s->over) & ~A.rowvars;
    if (s->map != UINT32_MAX) {
        const IndexMap *map = dag_map_get(s->map);
        for (uint32_t t = 0; t < map->nterms; t++)
            f |= 1ull << map->var[t];
        f &= ~A.rowvars; /* a map may read a column's variable: bound by its pass */
    }
    /* a column c stores its entries from the diagonal on (index >= c): when the index is
     * inner + rest with inner the innermost loop's variable, that loop starts at c - rest */
    int inner = -1;
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (f >> v & 1)
            inner = (int)v;
    bool clip = false, past = false;
    IndexMap rest = {0};
    if (s->column != UINT32_MAX && A.clipped_store) { /* every index past every column: no test */
        int64_t lo, hi, clo, chi;
        if (s->map != UINT32_MAX)
            dag_map_range(dag_map_get(s->map), &lo, &hi);
        else
            lo = hi = s->coord;
        dag_map_range(dag_map_get(s->column), &clo, &chi);
        past = lo >= chi;
    }
    /* (not where the column's index is itself looped over here: the columns as arrays) */
    bool column_looped = false;
    if (s->column != UINT32_MAX)
        for (uint32_t t = 0; t < dag_map_get(s->column)->nterms; t++)
            column_looped |= (f >> dag_map_get(s->column)->var[t] & 1) != 0;
    if (!past && !column_looped && s->column != UINT32_MAX && A.clipped_store && s->map != UINT32_MAX && inner >= 0 &&
        dag_var((uint32_t)inner)->size == NO_SIZE) {
        rest = *dag_map_get(s->map);
        for (uint32_t t = 0; t < rest.nterms && !clip; t++)
            if (rest.var[t] == (uint32_t)inner && rest.coef[t] == 1) {
                clip = true;
                memmove(rest.var + t, rest.var + t + 1, sizeof(uint32_t) * (rest.nterms - t - 1));
                memmove(rest.coef + t, rest.coef + t + 1, sizeof(int64_t) * (rest.nterms - t - 1));
                rest.nterms--;
            }
    }
    /* outside the passes over rows, in a part of them: the first part's alone (the caller adds
     * the output over the parts) */
    if (A.parts && A.in_whole > 0) /* each part would add every row's share */
        A.no_part = SPLIT_WHOLE;
    if (A.parts && !A.split && A.in_runtime == 0)
        buf_printf(b, "%sif (%s_first_part(data)) {\n", ind(depth++), A.P);
    if (ring_guard()) /* before the site: in the last pass alone */
        buf_printf(b, "%sif (ring%u_last) {\n", ind(depth++), A.ring_id);
    if (clip) /* a scope for its bound s<var> */
        buf_printf(b, "%s{\n", ind(depth++));
    for (uint32_t v = 0; v < MAX_VARS; v++) {
        if (!(f >> v & 1))
            continue;
        if (clip && (int)v == inner) {
            const IndexVar *x = dag_var(v);
            buf_printf(b, "%slong s%u = (long)(", ind(depth), v);
            put_map_index(b, dag_map_get(s->column));
            buf_puts(b, ") - (");
            put_map_index(b, &rest);
            buf_printf(b, ");\n%sif (s%u < %ld)\n%s    s%u = %ld;\n", ind(depth), v, x->lo, ind(depth), v, x->lo);
            buf_printf(b, "%sfor (long i%u = s%u; i%u < %ld; i%u++) {\n", ind(depth), v, v, v, x->lo + x->count, v);
            depth++;
            continue;
        }
        open_loop(b, v, depth++);
    }
    Buf x = {0}, at = {0};
    Into expr = {NULL, NULL, NULL, false}; /* the value's expression in the store itself */
    put_value_into(&x, s->value, depth, A.checked ? NULL : &expr);
    if (s->map == UINT32_MAX)
        buf_printf(&at, "%u", s->coord);
    else
        put_map_index(&at, dag_map_get(s->map));
    buf_printf(b, "%s", ind(depth));
    if (s->column != UINT32_MAX) {
        Buf column = {0};
        put_map_index(&column, dag_map_get(s->column));
        buf_printf(b, clip || past ? A.clipped_store : A.out_store, column.data, at.data, x.data);
        buf_free(&column);
    } else {
        buf_printf(b, A.out_store, at.data, x.data);
    }
    buf_puts(b, "\n");
    buf_free(&x);
    buf_free(&at);
    while (depth > d)
        buf_printf(b, "%s}\n", ind(--depth));
}

/* ---- passes over rows ---- */

/* Whether n's tree reads a row sum not computed yet that a pass over r cannot hold: a sum over
 * r itself, or one that depends neither on r nor on the variables of the sums around it in the
 * tree (`inner`): its own pass comes first, as computed inside the pass over r it would be
 * computed again for every row. */
static bool pending_vsum_over(Node n, uint32_t r, bool root, uint64_t inner)
{
    if (is_leaf(n))
        return false;
    if (!root && A.mat[n]) {
        if (A.level[n] >= 0)
            return false;
        if (dag_op(n) == OP_VSUM && dag_rec(n)->aux == r)
            return true;
        if (is_row_vsum(n) && !(dag_vars(n) & (1ull << r | inner)))
            return true;
    }
    if (dag_op(n) == OP_VSUM)
        inner |= 1ull << dag_rec(n)->aux;
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        if (pending_vsum_over(dag_args(n)[i], r, false, inner))
            return true;
    return false;
}

/* The row sums that t waits for (not declared, not computable without a pass); inside one, those
 * that do not depend on its variable too (they have passes of their own, before it). */
static void find_row_sums_in(Node n, bool root, Target **out, uint32_t *nout, uint32_t *cap, uint64_t bound,
                             uint64_t inside)
{
    if (is_leaf(n))
        return;
    if (!root && A.mat[n] && A.level[n] >= 0)
        return;
    if (!root && is_row_vsum(n)) {
        uint32_t r = dag_rec(n)->aux;
        if (dag_vars(n) & inside)
            return; /* depends on an enclosing sum's row: computed inside its pass */
        for (uint32_t i = 0; i < *nout; i++)
            if ((*out)[i].kind == T_NODE && (*out)[i].node == n)
                return;
        if (*nout == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *out = xrealloc(*out, sizeof(Target) * *cap);
        }
        (*out)[(*nout)++] = (Target){T_NODE, n, 0};
        find_row_sums_in(dag_args(n)[0], false, out, nout, cap, bound, inside | 1ull << r);
        return;
    }
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        find_row_sums_in(dag_args(n)[i], false, out, nout, cap, bound, inside);
}

static void find_row_sums(Node n, bool root, Target **out, uint32_t *nout, uint32_t *cap, uint64_t bound)
{
    find_row_sums_in(n, root, out, nout, cap, bound, 0);
}

static void emit_targets(Target *ts, uint32_t nt, uint64_t bound);

static bool target_done(const Target *t)
{
    return t->kind == T_NODE && A.level[t->node] >= 0;
}

/* One pass over the rows of variable r: the targets given, accumulated or stored per row. */
/* The expression a target writes: a scatter's value, an accumulation's body, a node. */
static Node target_expr(const Target *t)
{
    return t->kind == T_ACC ? dag_args(t->node)[0] : t->node;
}

/* Whether a target's expression can be written now: a materialized value or body is computed
 * first, as a dependency would be (a node target is the one materialized here). */
static bool target_ready(const Target *t, uint64_t bound)
{
    Node n = target_expr(t);
    if (t->kind != T_NODE && A.mat[n])
        return ready(n, bound, false);
    return ready(n, bound, true);
}

/* Computes before a pass what its targets need and does not change inside it: every
 * materialized dependency (transitively) that depends on no variable still to be looped over. */
static void hoist(Node n, bool root, uint64_t bound)
{
    if (is_leaf(n) || (!root && A.mat[n] && A.level[n] >= 0) || A.seen[n] == A.stamp)
        return;
    A.seen[n] = A.stamp;
    if (!root && A.mat[n]) {
        if (!(need(&(Target){T_NODE, n, 0}, bound)) && ready(n, bound, false)) {
            compute(n, bound);
            return;
        }
    }
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        hoist(dag_args(n)[i], false, bound);
}

/* After a pass over a run-time row count: its sums added over the parts of the rows. */
static void put_pass_reduce(const Target *ts, uint32_t nt, int d)
{
    Buf *b = A.b, ptrs = {0}, lens = {0};
    uint32_t k = 0;
    for (uint32_t i = 0; i < nt; i++) {
        if (ts[i].kind != T_ACC)
            continue;
        uint64_t f = fixed_vars(ts[i].node);
        buf_printf(&ptrs, "%s%st%u", k ? ", " : "", f ? "" : "&", ts[i].node);
        buf_printf(&lens, "%s%zu", k ? ", " : "", f ? array_size(f) : (size_t)1);
        k++;
    }
    if (k == 1)
        buf_printf(b, "%s%s_reduce1(data, %s, %s);\n", ind(d), A.P, ptrs.data, lens.data);
    else if (k > 1)
        buf_printf(b,
                   "%s{\n%s    double *const sums[%u] = {%s};\n%s    const size_t length[%u] = {%s};\n"
                   "%s    %s_reduce(data, %u, sums, length);\n%s}\n",
                   ind(d), ind(d), k, ptrs.data, ind(d), k, lens.data, ind(d), A.P, k, ind(d));
    buf_free(&ptrs);
    buf_free(&lens);
}

/* Whether n's tree holds a sum over other run-time rows that depends on row r: a pass over r with
 * it as a target nests that sum's pass (pairs of rows). */
static bool holds_rows_pass(Node n, uint32_t r)
{
    if (is_leaf(n) || A.seen[n] == A.stamp || (A.mat[n] && A.level[n] >= 0))
        return false;
    A.seen[n] = A.stamp;
    if (is_row_vsum(n) && dag_rec(n)->aux != r && (dag_vars(n) >> r & 1) &&
        A.m->sizes[dag_var(dag_rec(n)->aux)->size].count < 0)
        return true;
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        if (holds_rows_pass(dag_args(n)[i], r))
            return true;
    return false;
}

/* Whether n's tree reads a sum over a row variable looped over [row_begin, row_end) (A.seen
 * and A.stamp: the caller's new stamp). */
static bool reads_split_sum(Node n)
{
    if (is_leaf(n) || A.seen[n] == A.stamp)
        return false;
    A.seen[n] = A.stamp;
    if (dag_op(n) == OP_VSUM && (A.split >> dag_rec(n)->aux & 1))
        return true;
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        if (reads_split_sum(dag_args(n)[i]))
            return true;
    return false;
}

/* Text moved right by one level (8 spaces) from `at` to the end of b: the outer pass inside its
 * ring's loop. */
static void indent_from(Buf *b, size_t at)
{
    Buf t = {0};
    const char *p = b->data + at, *end = b->data + b->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        if (n > 1)
            buf_puts(&t, "        ");
        buf_put(&t, p, n);
        p += n;
    }
    b->len = at;
    buf_put(b, t.data, t.len);
    buf_free(&t);
}

/* The ring around an outer pass (A.ring_*), its loop text already in b from `at`: a loop over the
 * parts' rows visiting (ringK_vis; none but this part's own when the rows are not split), each
 * pass of the outer loop with the site over the visiting rows, and a last pass (ringK_last) where
 * the site reads its sums from ringK_acc and the rest of the row runs. */
static void put_ring(Buf *b, size_t at, int d, uint32_t r)
{
    const Model *m = A.m;
    uint32_t K = A.ring_id, W = A.ring_width ? A.ring_width : 1;
    indent_from(b, at);
    Buf h = {0};
    const char *I = ind(d);
    buf_printf(&h,
               "%s{ /* pairs of rows: every part's rows visit these (the sums over them kept per row), then a "
               "last pass */\n",
               I);
    buf_printf(&h, "%s    const int ring%u_on = data->hessgen_part.visit != NULL;\n", I, K);
    if (A.ring_split)
        buf_printf(&h, "%s    const size_t ring%u_rows = row_end - row_begin;\n", I, K);
    else
        buf_printf(&h, "%s    const size_t ring%u_rows = N_%s;\n", I, K, m->sizes[dag_var(r)->size].name);
    buf_printf(&h,
               "%s    double *const ring%u_acc = ring%u_on && ring%u_rows <= (size_t)-1 / %u / sizeof(double)\n"
               "%s                                   ? (double *)calloc(ring%u_rows * %u + 1, sizeof(double))\n"
               "%s                                   : NULL;\n",
               I, K, K, K, W, I, K, W, I);
    buf_printf(&h, "%s    const %s_data *ring%u_vis = data;\n%s    int ring%u_last = !ring%u_on;\n", I, A.P, K, I, K,
               K);
    buf_printf(&h, "%s    for (size_t ring%u_k = 0;;) {\n", I, K);
    for (uint32_t z = 0; z < m->nsizes; z++) /* the last pass: no visiting rows, the sums are in acc */
        buf_printf(
            &h,
            "%s        const size_t NV_%s = ring%u_on && ring%u_last ? 0 : ring%u_vis->%s;\n%s        (void)NV_%s;\n",
            I, m->sizes[z].name, K, K, K, m->sizes[z].name, I, m->sizes[z].name);
    for (uint32_t a = 0; a < m->ndata; a++)
        if (m->data[a].size != NO_SIZE && !m->data[a].values)
            buf_printf(&h, "%s        const double *const V_%s = ring%u_vis->%s;\n%s        (void)V_%s;\n", I,
                       m->data[a].name, K, m->data[a].name, I, m->data[a].name);
    /* the header goes before the loop's text */
    size_t tail = b->len - at;
    char *loop = xmalloc(tail + 1);
    memcpy(loop, b->data + at, tail);
    b->len = at;
    buf_put(b, h.data, h.len);
    buf_put(b, loop, tail);
    free(loop);
    buf_free(&h);
    buf_printf(b,
               "%s        if (ring%u_last)\n%s            break;\n"
               "%s        ring%u_vis = (const %s_data *)data->hessgen_part.visit(data->hessgen_part.ctx, ++ring%u_k);\n"
               "%s        if (ring%u_vis == NULL) {\n%s            ring%u_vis = data;\n%s            ring%u_last = 1;\n"
               "%s        }\n%s    }\n%s    free(ring%u_acc);\n%s}\n",
               I, K, I, I, K, A.P, K, I, K, I, K, I, K, I, I, I, K, I);
}

/* One statement per sum the site declared (off[i] != UINT32_MAX), over its elements when it is
 * an array: fmt's %1$s the sum's element, %2$s its place in ringK_acc (indent: the statement's). */
static void put_site_sums(const Target *ts, uint32_t nt, const uint32_t *off, const char *row, const char *in,
                          bool save)
{
    Buf *b = A.b;
    uint32_t K = A.ring_id;
    for (uint32_t i = 0; i < nt; i++) {
        if (off[i] == UINT32_MAX)
            continue;
        uint64_t f = fixed_vars(ts[i].node);
        const char *q = f ? "[q]" : "", *plus = f ? " + q" : "";
        if (f)
            buf_printf(b, "%sfor (size_t q = 0; q < %zu; q++)\n%s    ", in, array_size(f), in);
        else
            buf_puts(b, in);
        if (save)
            buf_printf(b, "ring%u_acc[%s + %u%s] += t%u%s;\n", K, row, off[i], plus, ts[i].node, q);
        else
            buf_printf(b, "t%u%s = ring%u_acc != NULL ? ring%u_acc[%s + %u%s] : NAN;\n", ts[i].node, q, K, K, row,
                       off[i], plus);
    }
}

/* After the site's loop (the outer pass's one pass over run-time rows): in a visiting pass its
 * sums go into the row's place in ringK_acc and the rest of the row waits for the last pass; in
 * the last pass they come from there (NaN where acc could not be allocated). */
static void put_site_end(const Target *ts, uint32_t nt, const uint32_t *off, int d)
{
    Buf *b = A.b;
    uint32_t K = A.ring_id;
    Buf row = {0}, in = {0};
    if (A.ring_split)
        buf_printf(&row, "(i%u - row_begin) * %u", A.ring_outer, A.ring_width);
    else
        buf_printf(&row, "i%u * %u", A.ring_outer, A.ring_width);
    const char *I = ind(d);
    buf_printf(b, "%sif (ring%u_on) {\n%s    if (!ring%u_last) {\n%s        if (ring%u_acc != NULL) {\n", I, K, I, K, I,
               K);
    buf_printf(&in, "%s            ", I);
    put_site_sums(ts, nt, off, row.data, in.data, true);
    buf_printf(b, "%s        }\n%s        goto ring%u_next;\n%s    }\n", I, I, K, I);
    in.len = 0;
    buf_printf(&in, "%s    ", I);
    put_site_sums(ts, nt, off, row.data, in.data, false);
    buf_printf(b, "%s}\n", I);
    buf_free(&row);
    buf_free(&in);
}

static void put_pass(uint32_t r, Target *ts, uint32_t nt, uint64_t bound)
{
    Buf *b = A.b;
    int d = A.depth + 1;
    const IndexVar *x = dag_var(r);
    bool data_rows = x->size != NO_SIZE, runtime = data_rows && A.m->sizes[x->size].count < 0;
    /* pairs of rows: the outer pass's one pass over run-time rows, right in its body, is its
     * ring's site; any other pass over run-time rows inside a pass over rows cannot be split */
    bool site = runtime && A.in_data > 0 && A.ring_on && A.in_data == 1 && A.depth == A.ring_body && !A.ring_site_done;
    if (runtime && A.in_data > 0 && !site)
        A.no_part = "the loss's array-loop code sums over rows inside a loop over rows in a way its parts cannot "
                    "share yet (one inside another loop of the row, over an index or a constant table; two such sums "
                    "in one row; or three levels of rows)";
    A.rows_in_columns |= runtime && (bound & A.columns & A.rowvars);
    bool whole = runtime && A.split && !(A.split >> r & 1) && !site; /* a site's rows are every part's */
    if (whole && A.split_seen) { /* one that reads this part's sums would take them for the whole's */
        A.stamp++;
        for (uint32_t i = 0; i < nt; i++)
            if (reads_split_sum(target_expr(&ts[i])))
                A.no_part = SPLIT_WHOLE;
    }
    A.split_seen |= (A.split >> r & 1) != 0;
    bool ring = false;
    if (runtime && A.in_data == 0 && A.parts && !A.ring_on) {
        A.stamp++;
        for (uint32_t i = 0; i < nt && !ring; i++) {
            ring = holds_rows_pass(target_expr(&ts[i]), r);
            uint64_t more = need(&ts[i], bound | 1ull << r); /* a scatter summed over other rows too */
            for (uint32_t v = 0; v < MAX_VARS && !ring; v++)
                ring = (more >> v & 1) && dag_var(v)->size != NO_SIZE && A.m->sizes[dag_var(v)->size].count < 0;
        }
    }
    A.stamp++;
    for (uint32_t i = 0; i < nt; i++)
        hoist(target_expr(&ts[i]), true, bound);
    /* the accumulators, declared before the loop and zeroed */
    uint32_t *off = xmalloc(sizeof(uint32_t) * (nt ? nt : 1)); /* a site's own sums' places in acc */
    for (uint32_t i = 0; i < nt; i++)
        off[i] = UINT32_MAX;
    for (uint32_t i = 0; i < nt; i++) {
        if (ts[i].kind != T_NODE || !is_row_vsum(ts[i].node) || dag_rec(ts[i].node)->aux != r)
            continue;
        Node n = ts[i].node;
        uint64_t f = fixed_vars(n);
        if (f)
            buf_printf(b, "%sdouble t%u[%zu];\n%sfor (size_t q = 0; q < %zu; q++)\n%s    t%u[q] = 0.0;\n", ind(d), n,
                       array_size(f), ind(d), array_size(f), ind(d), n);
        else
            buf_printf(b, "%sdouble t%u = 0.0;\n", ind(d), n);
        ts[i].kind = T_ACC;
        if (A.ring_on)
            A.ring_inside[n] = 1;
        if (site) {
            off[i] = A.ring_width;
            A.ring_width += (uint32_t)(f ? array_size(f) : 1);
        }
    }
    size_t wrap_at = b->len;
    if (ring) {
        A.ring_on = true;
        A.ring_id = A.nrings++;
        A.ring_outer = r;
        A.ring_split = (A.split >> r & 1) != 0;
        A.ring_site_done = false;
        A.ring_width = 0;
        A.reduced = true; /* the parts' rows visit inside: no threads over a part */
    }
    uint32_t saved_var = A.ring_var;
    if (site)
        A.ring_var = r;
    open_loop(b, r, d);
    enter_scope();
    if (ring)
        A.ring_body = A.depth;
    A.in_data += data_rows;
    A.in_runtime += runtime;
    A.in_whole += whole;
    emit_targets(ts, nt, bound | 1ull << r);
    A.in_data -= data_rows;
    A.in_runtime -= runtime;
    A.in_whole -= whole;
    if (ring && A.ring_site_done)
        buf_printf(b, "%sring%u_next:;\n", ind(d + 1), A.ring_id);
    leave_scope();
    buf_printf(b, "%s}\n", ind(d));
    A.ring_var = saved_var;
    if (site) {
        put_site_end(ts, nt, off, d);
        A.ring_site_done = true;
    }
    free(off);
    if (ring) {
        put_ring(b, wrap_at, d, r);
        A.ring_on = false;
    }
    if (runtime && A.parts && !(A.split >> r & 1) && !site) {
        put_pass_reduce(ts, nt, d);
        A.reduced = true;
    }
    for (uint32_t i = 0; i < nt; i++)
        if (ts[i].kind == T_ACC) {
            declare(ts[i].node);
            ts[i].kind = T_NODE;
        }
}

/* One row's part of a sum over rows: its body added into the accumulator. */
static void put_accumulate(Node n, uint64_t bound)
{
    Node body = dag_args(n)[0];
    if (A.mat[body])
        compute(body, bound);
    else
        compute_deps(body, bound);
    Buf *b = A.b;
    int d = A.depth + 1, depth = d;
    uint64_t f = fixed_vars(n);
    if (ring_guard() && !A.ring_inside[n]) /* into a sum outside the row: once */
        buf_printf(b, "%sif (ring%u_last) {\n", ind(depth++), A.ring_id);
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (f >> v & 1)
            open_loop(b, v, depth++);
    Buf acc = {0};
    A.level[n] = A.depth; /* its name, for the store */
    put_materialized(&acc, n);
    A.level[n] = -1;
    buf_puts(&acc, " +=");
    /* the body's own statement adds into the sum (checked code tests it first, as a value) */
    Into into = {acc.data, acc.data, NULL, false};
    Buf x = {0};
    put_value_into(&x, body, depth, A.checked ? NULL : &into);
    if (!into.into)
        buf_printf(b, "%s%s %s;\n", ind(depth), acc.data, x.data);
    buf_free(&x);
    buf_free(&acc);
    while (depth > d)
        buf_printf(b, "%s}\n", ind(--depth));
}

static void emit_targets(Target *ts, uint32_t nt, uint64_t bound)
{
    bool *done = xcalloc(nt ? nt : 1, 1);
    while (!A.failed) {
        bool progress = false, all = true;
        for (uint32_t i = 0; i < nt; i++) {
            if (done[i])
                continue;
            Target *t = &ts[i];
            if (need(t, bound)) {
                all = false;
                continue;
            }
            if (!target_ready(t, bound)) {
                all = false;
                continue;
            }
            if (t->kind == T_NODE)
                compute(t->node, bound);
            else if (t->kind == T_ACC)
                put_accumulate(t->node, bound);
            else
                put_scatter(&A.scatters[t->scatter], bound);
            done[i] = true;
            progress = true;
        }
        if (all)
            break;
        if (progress)
            continue;
        /* a pass: the candidates are the waiting targets and the row sums they wait for */
        Target *cand = NULL;
        uint32_t nc = 0, cap = 0;
        for (uint32_t i = 0; i < nt; i++) {
            if (done[i])
                continue;
            if (nc == cap) {
                cap = cap ? 2 * cap : 16;
                cand = xrealloc(cand, sizeof(Target) * cap);
            }
            cand[nc++] = ts[i];
            Node n = target_expr(&ts[i]);
            find_row_sums(n, ts[i].kind == T_NODE || !A.mat[n], &cand, &nc, &cap, bound);
        }
        /* the pass's variable: the outermost (lowest) one that some candidate can be looped over
         * now (a sum over rows whose value depends on other rows needs their passes first; a
         * target that reads a sum not yet computed waits for a later pass) */
        uint64_t vars_needed = 0;
        for (uint32_t i = 0; i < nc; i++)
            vars_needed |= need(&cand[i], bound);
        Target *pass = xmalloc(sizeof(Target) * nc);
        uint32_t np = 0, r = UINT32_MAX;
        for (uint32_t v = 0; v < MAX_VARS && np == 0; v++) {
            if (!(vars_needed >> v & 1))
                continue;
            r = v;
            for (uint32_t i = 0; i < nc; i++) {
                if (!(need(&cand[i], bound) >> r & 1))
                    continue;
                bool seen = false; /* a target that is also a sum another waits for */
                for (uint32_t j = 0; j < np && !seen; j++)
                    seen = pass[j].kind == cand[i].kind && pass[j].node == cand[i].node &&
                           pass[j].scatter == cand[i].scatter;
                if (seen)
                    continue;
                Node n = target_expr(&cand[i]);
                if (cand[i].kind == T_NODE && is_row_vsum(n) && dag_rec(n)->aux == r &&
                    (dag_vars(n) & A.rowvars & ~bound))
                    continue;
                /* a sum's body is inside its own variable's loop, and a scatter or an accumulation
                 * inside the loops of the variables it still needs: a sum that depends on one of
                 * those is computed there, not in a pass of its own before */
                bool sum = cand[i].kind == T_NODE && is_row_vsum(n);
                Node inside = sum ? dag_args(n)[0] : n;
                uint64_t around = sum ? 1ull << dag_rec(n)->aux : cand[i].kind != T_NODE ? need(&cand[i], bound) : 0;
                if (pending_vsum_over(inside, r, true, 1ull << r | around))
                    continue;
                pass[np++] = cand[i];
            }
            /* a pass of nothing but values per row of r (no sum over r, no scatter) would leave
             * nothing behind: their readers need another variable's pass first (a column's) */
            bool lasting = false;
            for (uint32_t i = 0; i < np && !lasting; i++) {
                Node n = target_expr(&pass[i]);
                lasting = pass[i].kind != T_NODE || !(dag_vars(n) >> r & 1) || (is_row_vsum(n) && dag_rec(n)->aux == r);
            }
            if (!lasting)
                np = 0;
        }
        /* no pass can make progress: a value per row that another pass over rows would need
         * after its own pass (an inner sum per row i read by a sum over i for each row k) wants
         * a table over the rows, which array loops do not keep; the caller writes the unrolled
         * code instead */
        if (np == 0 || ++A.passes > 100000) {
            A.failed = true;
            free(pass);
            free(cand);
            break;
        }
        put_pass(r, pass, np, bound);
        /* scatters and accumulations in the pass are done */
        for (uint32_t i = 0; i < np; i++)
            for (uint32_t j = 0; j < nt; j++)
                if (!done[j] && ts[j].kind == pass[i].kind && ts[j].node == pass[i].node &&
                    ts[j].scatter == pass[i].scatter)
                    done[j] = true;
        free(pass);
        free(cand);
        for (uint32_t j = 0; j < nt; j++)
            if (!done[j] && target_done(&ts[j]))
                done[j] = true;
    }
    free(done);
}

/* ---- one function ---- */

/* One line of the text: [s, e), e at its '\n'; in its indentation. */
typedef struct {
    const char *s, *e;
    size_t in;
} Line;

/* Lines i..i+2 as "double tA[K];", "for (...)", "    tA[iV] = ...;" (unbrace's form); the
 * array's name (tA) into name. */
static bool array_loop(const Line *l, size_t n, size_t i, char *name, size_t cap)
{
    if (i + 2 >= n)
        return false;
    const Line *d = &l[i], *f = &l[i + 1], *x = &l[i + 2];
    if (f->in != d->in || x->in != d->in + 4 || strncmp(d->s + d->in, "double t", 8) != 0 ||
        strncmp(f->s + f->in, "for (long i", 11) != 0 || f->e[-1] != ')' || x->e[-1] != ';')
        return false;
    const char *br = memchr(d->s, '[', (size_t)(d->e - d->s));
    size_t len = br ? (size_t)(br - (d->s + d->in + 7)) : 0;
    if (!br || len + 1 > cap || d->e[-1] != ';' || d->e[-2] != ']')
        return false;
    memcpy(name, d->s + d->in + 7, len);
    name[len] = 0;
    /* the statement stores into it at the loop's variable */
    const char *v = f->s + f->in + 10, *ve = strchr(v, ' ');
    char at[80];
    int k = snprintf(at, sizeof at, "%s[%.*s] = ", name, (int)(ve - v), v);
    return k > 0 && (size_t)k < sizeof at && strncmp(x->s + x->in, at, (size_t)k) == 0;
}

/* Whether every read of array `name` in [s, e) is at index `var` ("tA[i3]"). */
static bool reads_only_at(const char *s, const char *e, const char *name, const char *var)
{
    size_t nl = strlen(name), vl = strlen(var);
    for (const char *p = s; p + nl < e; p++) {
        if (strncmp(p, name, nl) != 0 || p[nl] != '[' ||
            (p > s && (p[-1] == '_' || (p[-1] >= '0' && p[-1] <= '9') || (p[-1] >= 'a' && p[-1] <= 'z'))))
            continue;
        if ((size_t)(e - p) < nl + vl + 2 || strncmp(p + nl + 1, var, vl) != 0 || p[nl + 1 + vl] != ']')
            return false;
    }
    return true;
}

/* After unbrace: consecutive loops that fill arrays over the same range, each reading the ones
 * before only at its own index, are one loop ("double tA[8];", "for (...)", "tA[i] = ...;",
 * "double tB[8];", "for (...)", "tB[i] = f(tA[i]);" become "double tA[8], tB[8];" and one loop
 * of two statements): the same values, a loop header less each. */
static void fuse_loops(Buf *b, size_t start)
{
    size_t n = 0, cap = 256;
    Line *l = xmalloc(sizeof(Line) * cap);
    for (const char *p = b->data + start, *end = b->data + b->len; p < end;) {
        const char *e = memchr(p, '\n', (size_t)(end - p));
        if (!e)
            break;
        if (n == cap)
            l = xrealloc(l, sizeof(Line) * (cap *= 2));
        l[n++] = (Line){p, e, strspn(p, " ")};
        p = e + 1;
    }
    Buf out = {0};
    enum { MAX_FUSED = 16 };
    char names[MAX_FUSED][48];
    for (size_t i = 0; i < n;) {
        if (!array_loop(l, n, i, names[0], sizeof names[0])) {
            buf_put(&out, l[i].s, (size_t)(l[i].e + 1 - l[i].s));
            i++;
            continue;
        }
        const Line *head = &l[i + 1];
        const char *v = head->s + head->in + 10, *ve = strchr(v, ' ');
        char var[24];
        snprintf(var, sizeof var, "%.*s", (int)(ve - v), v);
        size_t j = i + 3, count = 1;
        while (count < MAX_FUSED && array_loop(l, n, j, names[count], sizeof names[count]) &&
               l[j + 1].e - l[j + 1].s == head->e - head->s &&
               memcmp(l[j + 1].s, head->s, (size_t)(head->e - head->s)) == 0) {
            bool ok = true;
            for (size_t k = 0; k < count && ok; k++)
                ok = reads_only_at(l[j + 2].s, l[j + 2].e, names[k], var);
            if (!ok)
                break;
            count++;
            j += 3;
        }
        if (count == 1) {
            for (size_t k = i; k < i + 3; k++)
                buf_put(&out, l[k].s, (size_t)(l[k].e + 1 - l[k].s));
            i += 3;
            continue;
        }
        for (size_t k = 0; k < count; k++) { /* one declaration of them all, the loop, its statements */
            const Line *d = &l[i + 3 * k];
            if (k == 0)
                buf_put(&out, d->s, (size_t)(d->e - 1 - d->s)); /* "double tA[K]" */
            else
                buf_printf(&out, ", %.*s", (int)(d->e - 1 - (d->s + d->in + 7)), d->s + d->in + 7);
        }
        buf_puts(&out, ";\n");
        buf_put(&out, head->s, (size_t)(head->e - head->s));
        buf_puts(&out, " {\n");
        for (size_t k = 0; k < count; k++)
            buf_put(&out, l[i + 3 * k + 2].s, (size_t)(l[i + 3 * k + 2].e + 1 - l[i + 3 * k + 2].s));
        buf_printf(&out, "%.*s}\n", (int)head->in, head->s);
        i = j;
    }
    free(l);
    b->len = start;
    if (out.len)
        buf_put(b, out.data, out.len);
    else if (b->data)
        b->data[b->len] = 0;
    buf_free(&out);
}

/* The text from b->data[start] with every loop whose body is one statement written without its
 * braces: "for (...) {", "    x[i] = ...;", "}" becomes "for (...)", "    x[i] = ...;" (a
 * declaration is not a statement, and keeps them). */
static void unbrace(Buf *b, size_t start)
{
    char *t = b->data + start, *end = b->data + b->len, *w = t;
    while (t < end) {
        char *l1 = t, *e1 = memchr(l1, '\n', (size_t)(end - l1));
        if (!e1)
            break;
        char *l2 = e1 + 1, *e2 = l2 < end ? memchr(l2, '\n', (size_t)(end - l2)) : NULL;
        char *l3 = e2 ? e2 + 1 : NULL, *e3 = l3 && l3 < end ? memchr(l3, '\n', (size_t)(end - l3)) : NULL;
        size_t in1 = strspn(l1, " ");
        bool loop = e1 - l1 > 2 && strncmp(l1 + in1, "for (", 5) == 0 && e1[-1] == '{' && e1[-2] == ' ';
        if (loop && e3) {
            size_t in2 = strspn(l2, " "), in3 = strspn(l3, " ");
            const char *s2 = l2 + in2;
            bool one = in2 == in1 + 4 && e2[-1] == ';' && in3 == in1 && e3 - l3 == (ptrdiff_t)in1 + 1 &&
                       l3[in1] == '}' && strncmp(s2, "double ", 7) != 0 && strncmp(s2, "const ", 6) != 0 &&
                       strncmp(s2, "long ", 5) != 0 && strncmp(s2, "for ", 4) != 0 && strncmp(s2, "if ", 3) != 0;
            if (one) {
                size_t n1 = (size_t)(e1 - 2 - l1), n2 = (size_t)(e2 + 1 - l2);
                memmove(w, l1, n1);
                w += n1;
                *w++ = '\n';
                memmove(w, l2, n2);
                w += n2;
                t = e3 + 1;
                continue;
            }
        }
        size_t n = (size_t)(e1 + 1 - l1);
        memmove(w, l1, n);
        w += n;
        t = e1 + 1;
    }
    size_t rest = (size_t)(end - t);
    memmove(w, t, rest);
    w += rest;
    b->len = (size_t)(w - b->data);
    b->data[b->len] = 0;
}

const char *aemit_body(Buf *b, const Model *m, const char *prefix, Node loss, const Scatter *sc, uint32_t nsc,
                       const AemitOut *out)
{
    memset(&A, 0, sizeof A);
    A.parts = model_runtime_rows(m);
    uint64_t columns = out->column_arrays ? 0 : out->columns;
    A.columns = out->columns;
    A.split = out->split;
    A.clipped_store = out->clipped;
    A.checked = out->checked;
    A.out_store = out->store;
    A.b = b;
    A.m = m;
    A.P = prefix;
    A.scatters = sc;
    for (uint32_t v = 0; v < dag_nvars(); v++)
        if (dag_var(v)->size != NO_SIZE || (columns >> v & 1))
            A.rowvars |= 1ull << v;
    Node top = loss;
    for (uint32_t s = 0; s < nsc; s++)
        if (sc[s].value > top)
            top = sc[s].value;
    A.limit = top + 1;
    A.mat = xcalloc(A.limit, 1);
    A.uses = xcalloc(A.limit, sizeof(uint32_t));
    A.level = xmalloc(sizeof(int) * A.limit);
    A.seen = xcalloc(A.limit, sizeof(uint32_t));
    A.epoch = 1;
    A.memo_epoch = xcalloc(A.limit, sizeof(uint32_t));
    A.memo_bound = xcalloc(A.limit, sizeof(uint64_t));
    A.memo_ready = xcalloc(A.limit, 1);
    A.ring_inside = xcalloc(A.limit, 1);
    A.ring_var = UINT32_MAX;
    for (uint32_t i = 0; i < A.limit; i++)
        A.level[i] = -1;
    A.scoped = xcalloc(64, sizeof(Node *));
    A.nscoped = xcalloc(64, sizeof(uint32_t));
    A.scoped_cap = xcalloc(64, sizeof(uint32_t));
    bool *needed = xcalloc(A.limit, 1);
    if (loss) /* the roots; their cones below, in decreasing node order (operands come first) */
        needed[loss] = true;
    for (uint32_t s = 0; s < nsc; s++)
        needed[sc[s].value] = true;
    /* users: a root counts as one (the loss is returned, a scatter stores) */
    if (loss)
        A.uses[loss]++;
    for (uint32_t s = 0; s < nsc; s++)
        A.uses[sc[s].value]++;
    for (Node n = top; n > 0; n--) {
        if (!needed[n])
            continue;
        for (uint32_t i = 0; i < dag_nargs(n); i++) {
            Node c = dag_args(n)[i];
            needed[c] = true;
            A.uses[c]++;
        }
    }
    /* materialized: two users, a user over more variables, or a sum over rows (or the loss) */
    for (Node n = 1; n <= top; n++) {
        if (!needed[n] || is_leaf(n))
            continue;
        if (A.uses[n] >= 2 || is_row_vsum(n) || n == loss)
            A.mat[n] = 1;
    }
    for (Node u = top; u > 0; u--) {
        if (!needed[u] || is_leaf(u))
            continue;
        for (uint32_t i = 0; i < dag_nargs(u); i++) {
            Node c = dag_args(u)[i];
            if (is_leaf(c) || A.mat[c])
                continue;
            uint64_t cv = dag_vars(c), uv = dag_vars(u);
            if (dag_op(u) == OP_VSUM)
                uv |= 1ull << dag_rec(u)->aux;
            if (cv != uv)
                A.mat[c] = 1;
        }
    }
    /* a scatter's value is inline in its nest unless something else uses it too */
    Target *ts = xmalloc(sizeof(Target) * (nsc + 1));
    uint32_t nt = 0;
    if (loss && !is_leaf(loss))
        ts[nt++] = (Target){T_NODE, loss, 0};
    for (uint32_t s = 0; s < nsc; s++)
        ts[nt++] = (Target){T_SCATTER, sc[s].value, s};
    size_t start = b->len;
    emit_targets(ts, nt, 0);
    unbrace(b, start);
    fuse_loops(b, start);
    free(ts);
    free(needed);
    for (int d = 0; d < 64; d++)
        free(A.scoped[d]);
    free(A.scoped);
    free(A.nscoped);
    free(A.scoped_cap);
    free(A.mat);
    free(A.ring_inside);
    free(A.uses);
    free(A.level);
    free(A.seen);
    free(A.memo_epoch);
    free(A.memo_bound);
    free(A.memo_ready);
    return A.no_part;
}

/* The loss's C expression after aemit_body (its scalar, or the leaf itself). */
void aemit_loss(Buf *b, Node loss)
{
    if (is_leaf(loss)) {
        put_leaf(b, loss);
        return;
    }
    buf_printf(b, "t%u", loss);
}

void aemit_ops_used(Node root, const Scatter *sc, uint32_t nsc, bool used[OP__COUNT])
{
    Node top = root;
    for (uint32_t s = 0; s < nsc; s++)
        if (sc[s].value > top)
            top = sc[s].value;
    bool *in = xcalloc((size_t)top + 1, 1);
    if (root)
        in[root] = true;
    for (uint32_t s = 0; s < nsc; s++)
        in[sc[s].value] = true;
    for (Node n = top; n > 0; n--) {
        if (!in[n])
            continue;
        used[dag_op(n)] = true;
        for (uint32_t i = 0; i < dag_nargs(n); i++)
            in[dag_args(n)[i]] = true;
    }
    free(in);
}
