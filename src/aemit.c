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
    int kind;      /* T_NODE: materialize node; T_ACC: add one row's body into node's sum; T_SCATTER */
    Node node;     /* T_SCATTER: the value */
    uint32_t scatter;
} Target;

static struct {
    Buf *b;
    const Model *m;
    const char *P;
    uint32_t limit;
    uint8_t *mat;       /* node -> materialized */
    uint32_t *uses;     /* node -> users among the needed nodes */
    int *level;         /* node -> the scope depth where its array/scalar is declared, -1: none */
    Node **scoped;      /* per scope depth: what it declared */
    uint32_t *nscoped, *scoped_cap;
    int depth;          /* scope depth (0: the function body) */
    uint64_t rowvars;   /* the data-row variables */
    uint64_t split;     /* the row variables looped over [row_begin, row_end) */
    uint32_t ntemps;
    const Scatter *scatters;
    const char *out_store; /* how a scatter adds: a printf format with %s (index) and %s (value) */
    const char *clipped_store; /* a column's scatter whose loop stops at the diagonal (or NULL) */
    uint32_t passes;
    uint32_t *seen, stamp; /* hoist's visits */
    uint32_t epoch, *memo_epoch; /* ready's memo (epoch 0 is never current) */
    uint64_t *memo_bound;
    uint8_t *memo_ready;
    bool checked;       /* --checked: each value tested as it is made */
} A;

static const char *const SPACES = "                                                                ";

static const char *ind(int n)
{
    int k = 4 * n;
    return SPACES + (strlen(SPACES) > (size_t)k ? strlen(SPACES) - (size_t)k : 0);
}

static bool is_leaf(Node n)
{
    switch (dag_op(n)) {
    case OP_CONST: case OP_PI: case OP_PARAM: case OP_DIR: case OP_IVAR: case OP_PAT: case OP_VAT: case OP_DAT:
    case OP_NROWS: case OP_UNIT:
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
        buf_printf(b, "%sfor (size_t i%u = 0; i%u < N_%s; i%u++) {\n", ind(depth), v, v, A.m->sizes[x->size].name, v);
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
        char name[64];
        if (at && (uint32_t)v == at->array)
            snprintf(name, sizeof name, "(%lld + i%u)", (long long)at->base, at->var[0]);
        else
            snprintf(name, sizeof name, "i%d", v);
        if (stride == 1)
            buf_printf(b, "(%s - %ld)", name, x->lo);
        else
            buf_printf(b, "(%s - %ld) * %zu", name, x->lo, stride);
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
    buf_printf(b, "%lld", (long long)map->base);
    for (uint32_t t = 0; t < map->nterms; t++) {
        if (map->coef[t] == 1)
            buf_puts(b, " + ");
        else if (map->coef[t] == -1)
            buf_puts(b, " - ");
        else
            buf_printf(b, " + %lld * ", (long long)map->coef[t]);
        const IndexVar *x = dag_var(map->var[t]);
        if (x->size != NO_SIZE && map->coef[t] != 1)
            buf_printf(b, "(ptrdiff_t)i%u", map->var[t]);
        else
            var_name(b, map->var[t]);
    }
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
            buf_printf(b, "(double)N_%s", A.m->sizes[dag_row_size(n)].name);
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
            buf_printf(b, "D_%s[", A.m->data[map->array].name);
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

/* With --checked: the test of a value just made (value: its C text) for where a value that is
 * not finite began; operands: " && isfinite(a) && ..." or, for a sum, whether no source came
 * first (its terms were tested one by one). */
static void put_check(int depth, const char *value, Node n, const char *operands)
{
    if (A.checked)
        checked_step(A.b, ind(depth), A.P, value, n, false, operands);
}

/* Whether an operand can be not finite: not a constant, an index or a count. */
static bool may_fault(Node n)
{
    Op op = dag_op(n);
    return !dag_is_const(n) && op != OP_PI && op != OP_UNIT && op != OP_IVAR && op != OP_NROWS;
}

/* Writes the statements that compute node n inline (its variables all bound by loops around
 * depth) and puts into `out` the C expression of its value. */
static void put_value(Buf *out, Node n, int depth)
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
        buf_printf(b, "%sdouble x%u = 0.0;\n", ind(depth), me);
        open_loop(b, v, depth);
        Buf body = {0};
        put_value(&body, dag_args(n)[0], depth + 1);
        buf_printf(b, "%sx%u += %s;\n%s}\n", ind(depth + 1), me, body.data, ind(depth));
        buf_free(&body);
        buf_printf(out, "x%u", me);
        if (A.checked) {
            char name[24], first[64];
            snprintf(name, sizeof name, "x%u", me);
            snprintf(first, sizeof first, " && %s_nsrc == 0", A.P);
            put_check(depth, name, n, first);
        }
        return;
    }
    /* the operands first (their statements), then this node's expression */
    char **names = xcalloc(k ? k : 1, sizeof(char *));
    for (uint32_t i = 0; i < k; i++) {
        Buf x = {0};
        put_value(&x, dag_args(n)[i], depth);
        names[i] = x.data;
    }
    buf_printf(b, "%sconst double x%u = ", ind(depth), me);
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
    buf_puts(b, ";\n");
    if (A.checked) {
        Buf ops = {0};
        for (uint32_t i = 0; i < k; i++)
            if (may_fault(dag_args(n)[i]))
                buf_printf(&ops, " && isfinite(%s)", names[i]);
        char name[24];
        snprintf(name, sizeof name, "x%u", me);
        /* 1/x^k (emit_put_pow writes -8 <= k <= -1 as a division): its site is "/" */
        bool division = false;
        if (op == OP_POW && dag_is_const(dag_args(n)[1])) {
            mpq_srcptr q = dag_rat(dag_args(n)[1]);
            division = mpz_cmp_ui(mpq_denref(q), 1) == 0 && mpq_sgn(q) < 0 && mpz_cmpabs_ui(mpq_numref(q), 8) <= 0;
        }
        checked_step(A.b, ind(depth), A.P, name, n, division, ops.data ? ops.data : "");
        buf_free(&ops);
    }
    for (uint32_t i = 0; i < k; i++)
        free(names[i]);
    free(names);
    buf_printf(out, "x%u", me);
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
    else
        buf_printf(b, "%sdouble t%u;\n", ind(d), n);
    int depth = d;
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (f >> v & 1)
            open_loop(b, v, depth++);
    A.mat[n] = 0; /* written inline here, once */
    Buf x = {0};
    put_value(&x, n, depth);
    A.mat[n] = 1;
    declare(n);
    buf_printf(b, "%s", ind(depth));
    put_materialized(b, n);
    buf_printf(b, " = %s;\n", x.data);
    buf_free(&x);
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
    buf_printf(b, "%s{\n", ind(depth++));
    /* a column c stores its entries up to the diagonal (index <= c): when the index is
     * inner + rest with inner the innermost loop's variable, that loop stops at c - rest */
    int inner = -1;
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (f >> v & 1)
            inner = (int)v;
    bool clip = false;
    IndexMap rest = {0};
    if (s->column != UINT32_MAX && A.clipped_store && s->map != UINT32_MAX && inner >= 0 &&
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
    for (uint32_t v = 0; v < MAX_VARS; v++) {
        if (!(f >> v & 1))
            continue;
        if (clip && (int)v == inner) {
            const IndexVar *x = dag_var(v);
            buf_printf(b, "%slong e%u = (long)(", ind(depth), v);
            put_map_index(b, dag_map_get(s->column));
            buf_puts(b, ") - (");
            put_map_index(b, &rest);
            buf_printf(b, ") + 1;\n%sif (e%u > %ld)\n%s    e%u = %ld;\n", ind(depth), v, x->lo + x->count, ind(depth), v,
                       x->lo + x->count);
            buf_printf(b, "%sfor (long i%u = %ld; i%u < e%u; i%u++) {\n", ind(depth), v, x->lo, v, v, v);
            depth++;
            continue;
        }
        open_loop(b, v, depth++);
    }
    Buf x = {0}, at = {0};
    put_value(&x, s->value, depth);
    if (s->map == UINT32_MAX)
        buf_printf(&at, "%u", s->coord);
    else
        put_map_index(&at, dag_map_get(s->map));
    buf_printf(b, "%s", ind(depth));
    if (s->column != UINT32_MAX) {
        Buf column = {0};
        put_map_index(&column, dag_map_get(s->column));
        buf_printf(b, clip ? A.clipped_store : A.out_store, column.data, at.data, x.data);
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

static bool pending_vsum_over(Node n, uint32_t r, bool root)
{
    if (is_leaf(n))
        return false;
    if (!root && A.mat[n]) {
        if (A.level[n] >= 0)
            return false;
        if (dag_op(n) == OP_VSUM && dag_rec(n)->aux == r)
            return true;
    }
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        if (pending_vsum_over(dag_args(n)[i], r, false))
            return true;
    return false;
}

/* The row sums that t waits for (not declared, not computable without a pass). */
static void find_row_sums(Node n, bool root, Target **out, uint32_t *nout, uint32_t *cap, uint64_t bound)
{
    if (is_leaf(n))
        return;
    if (!root && A.mat[n] && A.level[n] >= 0)
        return;
    if (!root && is_row_vsum(n)) {
        for (uint32_t i = 0; i < *nout; i++)
            if ((*out)[i].kind == T_NODE && (*out)[i].node == n)
                return;
        if (*nout == *cap) {
            *cap = *cap ? 2 * *cap : 16;
            *out = xrealloc(*out, sizeof(Target) * *cap);
        }
        (*out)[(*nout)++] = (Target){T_NODE, n, 0};
        return;
    }
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        find_row_sums(dag_args(n)[i], false, out, nout, cap, bound);
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

static void put_pass(uint32_t r, Target *ts, uint32_t nt, uint64_t bound)
{
    Buf *b = A.b;
    int d = A.depth + 1;
    A.stamp++;
    for (uint32_t i = 0; i < nt; i++)
        hoist(target_expr(&ts[i]), true, bound);
    /* the accumulators, declared before the loop and zeroed */
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
    }
    open_loop(b, r, d);
    enter_scope();
    emit_targets(ts, nt, bound | 1ull << r);
    leave_scope();
    buf_printf(b, "%s}\n", ind(d));
    for (uint32_t i = 0; i < nt; i++)
        if (ts[i].kind == T_ACC) {
            declare(ts[i].node);
            ts[i].kind = T_NODE;
            if (A.checked) { /* a sum over rows, tested once its rows are in */
                Node n = ts[i].node;
                uint64_t f = fixed_vars(n);
                char name[40], first[64];
                snprintf(name, sizeof name, f ? "t%u[q]" : "t%u", n);
                snprintf(first, sizeof first, " && %s_nsrc == 0", A.P);
                Buf test = {0};
                checked_step(&test, "", A.P, name, n, false, first);
                if (test.len && f)
                    buf_printf(b, "%sfor (size_t q = 0; q < %zu; q++)\n%s    %s", ind(d), array_size(f), ind(d), test.data);
                else if (test.len)
                    buf_printf(b, "%s%s", ind(d), test.data);
                buf_free(&test);
            }
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
    buf_printf(b, "%s{\n", ind(depth++));
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (f >> v & 1)
            open_loop(b, v, depth++);
    Buf x = {0};
    put_value(&x, body, depth);
    buf_printf(b, "%s", ind(depth));
    A.level[n] = A.depth; /* its name, for the store */
    put_materialized(b, n);
    A.level[n] = -1;
    buf_printf(b, " += %s;\n", x.data);
    buf_free(&x);
    while (depth > d)
        buf_printf(b, "%s}\n", ind(--depth));
}

static void emit_targets(Target *ts, uint32_t nt, uint64_t bound)
{
    bool *done = xcalloc(nt ? nt : 1, 1);
    for (;;) {
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
                Node inside = cand[i].kind == T_NODE && is_row_vsum(n) ? dag_args(n)[0] : n;
                if (pending_vsum_over(inside, r, true))
                    continue;
                pass[np++] = cand[i];
            }
        }
        if (np == 0)
            fatal("internal error: aemit: no pass can make progress");
        if (++A.passes > 100000)
            fatal("internal error: aemit: passes over rows do not converge");
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

void aemit_body(Buf *b, const Model *m, const char *prefix, Node loss, const Scatter *sc, uint32_t nsc,
                const AemitOut *out)
{
    memset(&A, 0, sizeof A);
    uint64_t columns = out->columns;
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
    emit_targets(ts, nt, 0);
    free(ts);
    free(needed);
    for (int d = 0; d < 64; d++)
        free(A.scoped[d]);
    free(A.scoped);
    free(A.nscoped);
    free(A.scoped_cap);
    free(A.mat);
    free(A.uses);
    free(A.level);
    free(A.seen);
    free(A.memo_epoch);
    free(A.memo_bound);
    free(A.memo_ready);
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
