/* dag.c: the symbolic core, a hash-consed expression graph with canonical forms.
 *
 * In: calls to the smart constructors (dag_add_n, dag_mul_n, dag_powq, dag_unary, ...).
 * Out: node indices. What stays true:
 *   - every distinct (operation, operands) exists once, so x*y built twice is one node and a
 *     common subexpression is shared by construction: there is no CSE pass;
 *   - a node's operands are created before it, so creation order is a topological order;
 *   - nodes are canonical: constants are exact GMP rationals folded exactly; sums and products
 *     are flat and n-ary, their one constant first, the other operands ordered by node id;
 *     like terms and like factors are merged (x + x is 2*x, x*x is x^2).
 * Only exact rewrites are made. Each is numbered (R1..R12) where it is applied; the few that
 * turn a value undefined at a point into a defined one say so.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

Dag dag_graph;
static Span blame; /* what the nodes made now are attributed to (dag_attribute) */

Span dag_attribute(Span s)
{
    Span before = blame;
    blame = s;
    return before;
}
uint32_t dag_max_nodes = DEFAULT_MAX_NODES;

static bool frozen;         /* dag_freeze: the graph is read-only from then on */
static IndexVar *vars_list; /* array loops' index variables and index maps */
static uint32_t nvars;
static IndexMap *maps;
static uint32_t nmaps, maps_cap;
static long *fixed_sizes; /* count + 1 per size id, 0: known at run time */
static uint32_t nfixed_sizes;

static long double *eval_cache; /* dag_eval_const's memo */
static bool *eval_known;
static uint32_t eval_cap;

enum {
    MAX_FOLD_BITS = 1 << 20,       /* no folded constant grows past a megabit */
    MAX_GRAPH_OPERANDS = 1u << 28, /* 1 GiB of operand lists: a clear stop, not a thrashing machine */
};

static uint64_t hash_start(Op op)
{
    return ((uint64_t)op + 1) * 0x9E3779B97F4A7C15ull;
}

static uint64_t hash_step(uint64_t h, uint64_t x)
{
    return (h ^ x) * 0x100000001B3ull + (h >> 29);
}

static uint32_t hash_finish(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    return (uint32_t)h;
}

static uint64_t hash_rat(mpq_srcptr q)
{
    uint64_t h = hash_start(OP_CONST);
    mpz_srcptr parts[2] = {mpq_numref(q), mpq_denref(q)};
    for (int k = 0; k < 2; k++) {
        h = hash_step(h, (uint64_t)mpz_sgn(parts[k]) + 7);
        size_t n = mpz_size(parts[k]);
        for (size_t i = 0; i < n; i++)
            h = hash_step(h, mpz_getlimbn(parts[k], (mp_size_t)i));
    }
    return h;
}

/* The hash of (op, args) is a left fold, so the scheduler can hash every prefix of an
 * operand run in one pass (dag_find_run). Leaves fold their coordinate instead. */
/* The operations whose aux is part of what the node is (a coordinate, a variable, a map). */
static bool aux_names(Op op)
{
    return op == OP_PARAM || op == OP_DIR || op == OP_DATA || op == OP_NROWS || op == OP_ROW || op == OP_ROWSUM ||
           op == OP_IVAR || op == OP_PAT || op == OP_VAT || op == OP_DAT || op == OP_VSUM || op == OP_UNIT ||
           op == OP_REINDEX;
}

static uint32_t hash_node(Op op, const Node *args, size_t n, uint32_t aux)
{
    uint64_t h = hash_start(op);
    if (aux_names(op))
        h = hash_step(h, aux);
    for (size_t i = 0; i < n; i++)
        h = hash_step(h, args[i]);
    return hash_finish(h);
}

static bool same_node(Node m, Op op, const Node *args, size_t n, uint32_t aux, mpq_srcptr q)
{
    const NodeRec *r = &dag_graph.nodes[m];
    if (r->op != op || r->nargs != n)
        return false;
    if (op == OP_CONST)
        return mpq_equal(dag_graph.rats[r->aux], q);
    if (aux_names(op) && r->aux != aux)
        return false;
    return n == 0 || memcmp(dag_graph.args + r->args, args, n * sizeof(Node)) == 0;
}

static uint64_t node_hash(uint32_t m, void *ctx)
{
    (void)ctx;
    return dag_graph.nodes[m].hash;
}

static Node lookup(uint32_t h, Op op, const Node *args, size_t n, uint32_t aux, mpq_srcptr q)
{
    for (uint32_t k = 0, m; (m = hash_index_next(&dag_graph.index, h, &k));)
        if (dag_graph.nodes[m].hash == h && same_node(m, op, args, n, aux, q))
            return m;
    return 0;
}

/* Finds or creates the node; args must already be canonical for op. */
static Node make(Op op, const Node *args, size_t n, uint32_t aux, mpq_srcptr q)
{
    uint32_t h = op == OP_CONST ? hash_finish(hash_rat(q)) : hash_node(op, args, n, aux);
    Node found = lookup(h, op, args, n, aux, q);
    if (found)
        return found;
    if (frozen)
        fatal("internal error: a node was made after the graph was frozen (scheduling and emission only read it)");
    if (dag_graph.nnodes >= dag_max_nodes)
        diag_fatal(blame,
                   "the expression graph grew past %u nodes here (--max-nodes %u): the loss, its "
                   "derivatives or the sums and functions it expands are too large; write it with fewer terms, or "
                   "give a larger --max-nodes",
                   dag_max_nodes, dag_max_nodes);
    if (dag_graph.nnodes == dag_graph.cap) {
        if (dag_graph.cap >= UINT32_MAX / 2)
            fatal("expression graph too large");
        dag_graph.cap = dag_graph.cap ? dag_graph.cap * 2 : 1024;
        dag_graph.nodes = xrealloc(dag_graph.nodes, sizeof(NodeRec) * dag_graph.cap);
        dag_graph.spans = xrealloc(dag_graph.spans, sizeof(Span) * dag_graph.cap);
        dag_graph.vars = xrealloc(dag_graph.vars, sizeof(uint64_t) * dag_graph.cap);
    }
    if (dag_graph.nargs + n > dag_graph.args_cap) {
        /* args may be a run of an existing node's operands: keep it valid across the move */
        bool inside = dag_graph.args && args >= dag_graph.args && args < dag_graph.args + dag_graph.args_cap;
        size_t offset = inside ? (size_t)(args - dag_graph.args) : 0;
        size_t cap = dag_graph.args_cap ? dag_graph.args_cap : 4096;
        while (cap < dag_graph.nargs + n)
            cap *= 2;
        /* the operands' own bound: 4 per node allowed (the largest models have under 3) */
        if ((cap > 4096 && cap > 4 * (size_t)dag_max_nodes) || cap > MAX_GRAPH_OPERANDS)
            diag_fatal(blame,
                       "the expression graph grew past %zu operands here (4 per node of --max-nodes %u): "
                       "long sums and products, whose derivatives repeat them (a product of k factors has k "
                       "partial derivatives of k - 1 factors each)",
                       dag_graph.nargs, dag_max_nodes);
        dag_graph.args = xrealloc(dag_graph.args, sizeof(Node) * cap);
        dag_graph.args_cap = cap;
        if (inside)
            args = dag_graph.args + offset;
    }
    Node m = dag_graph.nnodes++;
    dag_graph.spans[m] = blame;
    NodeRec *r = &dag_graph.nodes[m];
    r->op = (uint8_t)op;
    r->nargs = (uint32_t)n;
    r->args = (uint32_t)dag_graph.nargs;
    r->aux = aux;
    r->hash = h;
    r->flags = op == OP_PARAM ? NF_PARAM : op == OP_DIR ? NF_DIR : 0;
    r->rows = 0;
    if (op == OP_DATA || op == OP_NROWS || op == OP_ROW)
        r->flags |= NF_DATA;
    if (op == OP_DATA && (aux >> 29) != DATA_NO_LEVEL)
        r->rows = (uint8_t)(1u << (aux >> 29));
    if (op == OP_ROW)
        r->rows = (uint8_t)(1u << (aux & 7));
    uint64_t vars = 0;
    if (op == OP_IVAR)
        vars = 1ull << aux;
    if (op == OP_PAT || op == OP_VAT || op == OP_DAT || op == OP_UNIT) {
        const IndexMap *map = dag_map_get(aux);
        for (uint32_t t = 0; t < map->nterms; t++)
            vars |= 1ull << map->var[t];
        if (op == OP_UNIT)
            vars |= 1ull << map->array;
        r->flags |= op == OP_PAT ? NF_PARAM : op == OP_DAT ? NF_DATA : NF_DIR;
    }
    for (size_t i = 0; i < n; i++) {
        dag_graph.args[dag_graph.nargs++] = args[i];
        r->flags |= dag_graph.nodes[args[i]].flags & (NF_PARAM | NF_DIR | NF_DATA | NF_ROWSUM);
        r->rows |= dag_graph.nodes[args[i]].rows;
        vars |= dag_graph.vars[args[i]];
    }
    if (op == OP_ROWSUM) { /* its value is the whole sum: it no longer depends on that row */
        r->flags |= NF_ROWSUM | NF_DATA;
        r->rows &= (uint8_t) ~(1u << (aux & 7));
    }
    if (op == OP_REINDEX) {
        const IndexMap *map = dag_map_get(aux);
        vars &= ~(1ull << map->array);
        for (uint32_t t = 0; t < map->nterms; t++)
            vars |= 1ull << map->var[t];
    }
    if (op == OP_VSUM) {
        vars &= ~(1ull << aux);
        if (dag_var(aux)->size != NO_SIZE) /* a sum over data rows: a run-time value */
            r->flags |= NF_DATA | NF_ROWSUM;
    }
    dag_graph.vars[m] = vars;
    if (vars)
        r->flags |= NF_VAR;
    /* Mark the first non-constant operand of a sum or product: only such a node can start
     * a run that the scheduler looks up (dag_find_longest). */
    if ((op == OP_ADD || op == OP_MUL) && n > 1) {
        Node head = dag_is_const(args[0]) ? args[1] : args[0];
        dag_graph.nodes[head].flags |= op == OP_ADD ? NF_HEAD_ADD : NF_HEAD_MUL;
        r = &dag_graph.nodes[m];
    }
    if (op == OP_CONST) {
        if (dag_graph.nrats == dag_graph.rats_cap) {
            dag_graph.rats_cap = dag_graph.rats_cap ? dag_graph.rats_cap * 2 : 256;
            dag_graph.rats = xrealloc(dag_graph.rats, sizeof(mpq_t) * dag_graph.rats_cap);
        }
        mpq_init(dag_graph.rats[dag_graph.nrats]);
        mpq_set(dag_graph.rats[dag_graph.nrats], q);
        r->aux = dag_graph.nrats++;
    }
    hash_index_add(&dag_graph.index, h, m, node_hash, NULL);
    return m;
}

Node dag_find(Op op, const Node *args, size_t n)
{
    return lookup(hash_node(op, args, n, 0), op, args, n, 0, NULL);
}

/* The longest existing sum or product of args[0..len), 2 <= len <= maxlen, or 0. The
 * hashes of all prefixes come from one left fold, so the search costs O(maxlen). */
Node dag_find_longest(Op op, const Node *args, size_t maxlen, size_t *len)
{
    if (maxlen < 2 || !(dag_graph.nodes[args[0]].flags & (op == OP_ADD ? NF_HEAD_ADD : NF_HEAD_MUL)))
        return 0;
    uint32_t *h = xmalloc(sizeof(uint32_t) * (maxlen + 1));
    uint64_t acc = hash_start(op);
    for (size_t i = 0; i < maxlen; i++) {
        acc = hash_step(acc, args[i]);
        h[i + 1] = hash_finish(acc);
    }
    Node found = 0;
    for (size_t l = maxlen; l >= 2 && !found; l--) {
        found = lookup(h[l], op, args, l, 0, NULL);
        if (found)
            *len = l;
    }
    free(h);
    return found;
}

/* Every existing sum or product of args[0..l), 2 <= l <= maxlen: found[l] is it or 0
 * (found[0], found[1] are 0). One left fold of hashes, as dag_find_longest. */
void dag_find_runs(Op op, const Node *args, size_t maxlen, Node *found)
{
    memset(found, 0, sizeof(Node) * (maxlen + 1));
    if (maxlen < 2 || !(dag_graph.nodes[args[0]].flags & (op == OP_ADD ? NF_HEAD_ADD : NF_HEAD_MUL)))
        return;
    uint64_t acc = hash_step(hash_start(op), args[0]);
    for (size_t l = 2; l <= maxlen; l++) {
        acc = hash_step(acc, args[l - 1]);
        found[l] = lookup(hash_finish(acc), op, args, l, 0, NULL);
    }
}

uint32_t dag_node_count(void)
{
    return dag_graph.nnodes;
}

size_t dag_arg_count(void)
{
    return dag_graph.nargs;
}

void dag_init(void)
{
    memset(&dag_graph, 0, sizeof dag_graph);
    dag_graph.nnodes = 1; /* node 0 is OP_NONE */
    dag_graph.cap = 1024;
    dag_graph.nodes = xcalloc(dag_graph.cap, sizeof(NodeRec));
    dag_graph.spans = xcalloc(dag_graph.cap, sizeof(Span));
    dag_graph.vars = xcalloc(dag_graph.cap, sizeof(uint64_t));
    dag_attribute((Span){0, 0});
    /* the constants every phase uses, first: their node numbers are DAG_ZERO, DAG_ONE, DAG_MINUS_ONE */
    if (dag_int(0) != DAG_ZERO || dag_int(1) != DAG_ONE || dag_int(-1) != DAG_MINUS_ONE)
        fatal("internal error: the graph's first constants are not nodes 1, 2 and 3");
}

void dag_freeze(void)
{
    frozen = true;
}

void dag_unfreeze(void)
{
    frozen = false;
}

void dag_free(void)
{
    frozen = false;
    free(fixed_sizes);
    fixed_sizes = NULL;
    nfixed_sizes = 0;
    free(eval_cache);
    free(eval_known);
    eval_cache = NULL;
    eval_known = NULL;
    eval_cap = 0;
    for (uint32_t i = 0; i < dag_graph.nrats; i++)
        mpq_clear(dag_graph.rats[i]);
    free(dag_graph.rats);
    free(dag_graph.nodes);
    free(dag_graph.spans);
    free(dag_graph.vars);
    free(dag_graph.args);
    free(vars_list);
    vars_list = NULL;
    nvars = 0;
    free(maps);
    maps = NULL;
    nmaps = maps_cap = 0;
    hash_index_free(&dag_graph.index);
    memset(&dag_graph, 0, sizeof dag_graph);
}

Node dag_const(mpq_srcptr q)
{
    return make(OP_CONST, NULL, 0, 0, q);
}

Node dag_int(long v)
{
    mpq_t q;
    mpq_init(q);
    mpq_set_si(q, v, 1);
    Node n = dag_const(q);
    mpq_clear(q);
    return n;
}

Node dag_pi(void)
{
    return make(OP_PI, NULL, 0, 0, NULL);
}

Node dag_param(uint32_t k)
{
    return make(OP_PARAM, NULL, 0, k, NULL);
}

Node dag_dir(uint32_t k)
{
    return make(OP_DIR, NULL, 0, k, NULL);
}

Node dag_data(uint32_t array, uint32_t offset, unsigned level)
{
    if (array > MAX_DATA_ARRAYS || offset >= MAX_DATA_WIDTH || level > DATA_NO_LEVEL)
        fatal("dag_data: array %u, offset %u, level %u out of range", array, offset, level);
    return make(OP_DATA, NULL, 0, (uint32_t)level << 29 | array << 20 | offset, NULL);
}

void dag_fix_size(uint32_t size, long count)
{
    if (size >= nfixed_sizes) {
        uint32_t n = size + 16;
        fixed_sizes = xrealloc(fixed_sizes, sizeof(long) * n);
        memset(fixed_sizes + nfixed_sizes, 0, sizeof(long) * (n - nfixed_sizes));
        nfixed_sizes = n;
    }
    fixed_sizes[size] = count + 1;
}

/* ---- array loops ---- */

uint32_t dag_new_var(const char *name, long lo, long count, uint32_t size)
{
    if (nvars >= MAX_VARS)
        return UINT32_MAX;
    vars_list = xrealloc(vars_list, sizeof(IndexVar) * (nvars + 1));
    vars_list[nvars] = (IndexVar){name, lo, count, size};
    return nvars++;
}

const IndexVar *dag_var(uint32_t v)
{
    if (v >= nvars)
        fatal("internal error: index variable %u of %u", v, nvars);
    return &vars_list[v];
}

uint32_t dag_nvars(void)
{
    return nvars;
}

uint32_t dag_map(const IndexMap *m)
{
    IndexMap key = {.array = m->array, .base = m->base};
    /* canonical: terms by variable, like terms merged, zero coefficients dropped */
    for (uint32_t t = 0; t < m->nterms; t++) {
        uint32_t k = 0;
        while (k < key.nterms && key.var[k] < m->var[t])
            k++;
        if (k < key.nterms && key.var[k] == m->var[t]) {
            key.coef[k] += m->coef[t];
            continue;
        }
        memmove(key.var + k + 1, key.var + k, sizeof(uint32_t) * (key.nterms - k));
        memmove(key.coef + k + 1, key.coef + k, sizeof(int64_t) * (key.nterms - k));
        key.var[k] = m->var[t];
        key.coef[k] = m->coef[t];
        key.nterms++;
    }
    uint32_t u = 0;
    for (uint32_t t = 0; t < key.nterms; t++)
        if (key.coef[t]) {
            key.var[u] = key.var[t];
            key.coef[u++] = key.coef[t];
        }
    key.nterms = u;
    for (uint32_t i = 0; i < nmaps; i++) /* few maps: one per array access written in the source */
        if (maps[i].array == key.array && maps[i].base == key.base && maps[i].nterms == key.nterms &&
            !memcmp(maps[i].var, key.var, sizeof(uint32_t) * u) && !memcmp(maps[i].coef, key.coef, sizeof(int64_t) * u))
            return i;
    if (nmaps == maps_cap) {
        maps_cap = maps_cap ? 2 * maps_cap : 64;
        maps = xrealloc(maps, sizeof(IndexMap) * maps_cap);
    }
    maps[nmaps] = key;
    return nmaps++;
}

const IndexMap *dag_map_get(uint32_t id)
{
    if (id >= nmaps)
        fatal("internal error: index map %u of %u", id, nmaps);
    return &maps[id];
}

void dag_map_range(const IndexMap *map, int64_t *first, int64_t *last)
{
    *first = *last = map->base;
    for (uint32_t t = 0; t < map->nterms; t++) {
        const IndexVar *x = dag_var(map->var[t]);
        int64_t a = map->coef[t] * x->lo, b = map->coef[t] * (x->lo + x->count - 1);
        *first += a < b ? a : b;
        *last += a < b ? b : a;
    }
}

Node dag_ivar(uint32_t v)
{
    (void)dag_var(v);
    return make(OP_IVAR, NULL, 0, v, NULL);
}

Node dag_at(Op op, uint32_t map)
{
    if (op != OP_PAT && op != OP_VAT && op != OP_DAT && op != OP_UNIT)
        fatal("internal error: dag_at with %s", dag_op_name(op));
    (void)dag_map_get(map);
    return make(op, NULL, 0, map, NULL);
}

Node dag_reindex(Node n, uint32_t v, uint32_t c, int64_t off)
{
    if (!(dag_vars(n) >> v & 1))
        return n;
    IndexMap m = {.array = v, .base = off, .nterms = 1, .var = {c}, .coef = {1}};
    return make(OP_REINDEX, &n, 1, dag_map(&m), NULL);
}

Node dag_var_count(uint32_t v)
{
    const IndexVar *x = dag_var(v);
    return x->size != NO_SIZE ? dag_nrows(x->size) : dag_int(x->count);
}

static bool var_free(Node x, uint64_t bit)
{
    return (dag_vars(x) & bit) == 0;
}

/* which: a row sum's level | size << 8 */
static bool level_free(Node x, uint64_t which)
{
    return (dag_rows(x) >> (which & 0xff)) == 0; /* reads neither its row nor a row nested in it */
}

/* A sum of body over an index (a data row at a level, or an index variable): what does not
 * depend on the index leaves the sum, sum(c*f) = c*sum(f) and sum(c + f) = count*c + sum(f),
 * so the loop does less. 0 when nothing leaves (the caller makes the sum node). */
static Node split_sum(Node body, bool (*is_free)(Node, uint64_t), uint64_t which, Node (*count)(uint64_t),
                      Node (*sum)(Node, uint64_t))
{
    if (is_free(body, which)) /* the same value for every index */
        return dag_mul(count(which), body);
    const Node *a = dag_args(body);
    uint32_t k = dag_nargs(body), nfree = 0;
    if (dag_op(body) == OP_ADD || dag_op(body) == OP_MUL)
        for (uint32_t i = 0; i < k; i++)
            nfree += is_free(a[i], which);
    if (!nfree)
        return 0;
    Node *in = xmalloc(sizeof(Node) * k), *out = xmalloc(sizeof(Node) * k);
    uint32_t nin = 0, nout = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (!is_free(a[i], which))
            in[nin++] = a[i];
        else
            out[nout++] = a[i];
    }
    Node r;
    if (dag_op(body) == OP_MUL) {
        out[nout++] = sum(dag_mul_n(in, nin), which);
        r = dag_mul_n(out, nout);
    } else {
        r = dag_add(dag_mul(count(which), dag_add_n(out, nout)), sum(dag_add_n(in, nin), which));
    }
    free(in);
    free(out);
    return r;
}

static Node vsum_of(Node body, uint64_t bit)
{
    return dag_vsum(body, (uint32_t)__builtin_ctzll(bit));
}

static Node var_count_of(uint64_t bit)
{
    return dag_var_count((uint32_t)__builtin_ctzll(bit));
}

Node dag_vsum(Node body, uint32_t v)
{
    Node r = split_sum(body, var_free, 1ull << v, var_count_of, vsum_of);
    return r ? r : make(OP_VSUM, &body, 1, v, NULL);
}

Node dag_nrows(uint32_t size)
{
    if (size < nfixed_sizes && fixed_sizes[size])
        return dag_int(fixed_sizes[size] - 1);
    return make(OP_NROWS, NULL, 0, size, NULL);
}

Node dag_row(unsigned level, uint32_t size)
{
    return make(OP_ROW, NULL, 0, size << 3 | level, NULL);
}

static Node rowsum_of(Node body, uint64_t which)
{
    return dag_rowsum(body, (unsigned)(which & 0xff), (uint32_t)(which >> 8));
}

static Node nrows_of(uint64_t which)
{
    return dag_nrows((uint32_t)(which >> 8));
}

Node dag_rowsum(Node body, unsigned level, uint32_t size)
{
    Node r = split_sum(body, level_free, (uint64_t)size << 8 | level, nrows_of, rowsum_of);
    return r ? r : make(OP_ROWSUM, &body, 1, size << 3 | level, NULL);
}

bool dag_is_int_const(Node n, long *out)
{
    if (!n || !dag_is_const(n))
        return false;
    mpq_srcptr q = dag_rat(n);
    if (mpz_cmp_ui(mpq_denref(q), 1) != 0 || !mpz_fits_slong_p(mpq_numref(q)))
        return false;
    if (out)
        *out = mpz_get_si(mpq_numref(q));
    return true;
}

static int cmp_node(const void *a, const void *b)
{
    Node x = *(const Node *)a, y = *(const Node *)b;
    return (x > y) - (x < y);
}

/* ---- sums ---- */

typedef struct {
    Node rest;
    mpq_t coef;
} Term;

typedef struct {
    Term *t;
    size_t n, cap;
    mpq_t c; /* the constant term */
} TermList;

static void terms_push(TermList *l, mpq_srcptr coef, Node rest)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->t = xrealloc(l->t, sizeof(Term) * l->cap);
    }
    l->t[l->n].rest = rest;
    mpq_init(l->t[l->n].coef);
    mpq_set(l->t[l->n].coef, coef);
    l->n++;
}

/* The product node without its constant: MUL(k, f1..fm) -> f1 (m = 1) or MUL(f1..fm). */
static Node mul_rest(Node x)
{
    const Node *a = dag_args(x);
    uint32_t n = dag_nargs(x);
    if (dag_is_const(a[0])) {
        a++;
        n--;
    }
    if (n == 1)
        return a[0];
    Span outer = dag_attribute(dag_span(x)); /* the product's own expression, not the sum's being canonicalized */
    Node r = make(OP_MUL, a, n, 0, NULL);
    dag_attribute(outer);
    return r;
}

/* Adds scale*x to the list, flattening nested sums (R1) and splitting a product's constant
 * coefficient from the rest so that like terms meet (R2: a*x + b*x = (a+b)*x). A constant
 * times a sum inside a sum is distributed (R3: c*(a+b) + d = c*a + c*b + d), which is exact
 * and keeps sums flat. */
static void terms_add(TermList *l, Node x, mpq_srcptr scale)
{
    Op op = dag_op(x);
    if (op == OP_CONST) {
        mpq_t t;
        mpq_init(t);
        mpq_mul(t, scale, dag_rat(x));
        mpq_add(l->c, l->c, t);
        mpq_clear(t);
    } else if (op == OP_ADD) {
        for (uint32_t i = 0; i < dag_nargs(x); i++)
            terms_add(l, dag_args(x)[i], scale);
    } else if (op == OP_MUL && dag_is_const(dag_args(x)[0])) {
        mpq_t coef;
        mpq_init(coef);
        mpq_mul(coef, scale, dag_rat(dag_args(x)[0]));
        Node rest = mul_rest(x);
        if (dag_op(rest) == OP_ADD)
            terms_add(l, rest, coef);
        else
            terms_push(l, coef, rest);
        mpq_clear(coef);
    } else {
        terms_push(l, scale, x);
    }
}

static int cmp_term(const void *a, const void *b)
{
    return cmp_node(&((const Term *)a)->rest, &((const Term *)b)->rest);
}

static Node scale_rest(Node k, Node rest);

/* coef * rest as a canonical product (rest has no constant of its own), attributed to rest's
 * expression. */
static Node scale_node(mpq_srcptr coef, Node rest)
{
    if (mpq_cmp_si(coef, 1, 1) == 0)
        return rest;
    Node k = dag_const(coef);
    Span outer = dag_attribute(dag_span(rest));
    Node r = scale_rest(k, rest);
    dag_attribute(outer);
    return r;
}

static Node scale_rest(Node k, Node rest)
{
    if (dag_op(rest) == OP_MUL) {
        uint32_t n = dag_nargs(rest);
        Node *a = xmalloc(sizeof(Node) * (n + 1));
        a[0] = k;
        memcpy(a + 1, dag_args(rest), sizeof(Node) * n);
        Node r = make(OP_MUL, a, n + 1, 0, NULL);
        free(a);
        return r;
    }
    Node a[2] = {k, rest};
    return make(OP_MUL, a, 2, 0, NULL);
}

Node dag_add_n(const Node *xs, size_t n)
{
    mpq_t one;
    mpq_init(one);
    mpq_set_ui(one, 1, 1);
    Node r = dag_add_scaled(xs, n, one);
    mpq_clear(one);
    return r;
}

/* scale * (xs[0] + ... + xs[n-1]), the node that adding each term scale times would make */
Node dag_add_scaled(const Node *xs, size_t n, mpq_srcptr scale)
{
    TermList l = {0};
    mpq_init(l.c);
    for (size_t i = 0; i < n; i++)
        terms_add(&l, xs[i], scale);

    if (l.n)
        qsort(l.t, l.n, sizeof(Term), cmp_term);
    Node *out = xmalloc(sizeof(Node) * (l.n + 1));
    size_t m = 0;
    for (size_t i = 0; i < l.n;) {
        size_t j = i + 1;
        for (; j < l.n && l.t[j].rest == l.t[i].rest; j++)
            mpq_add(l.t[i].coef, l.t[i].coef, l.t[j].coef);
        if (mpq_sgn(l.t[i].coef) != 0) /* R4: 0*x drops out (x finite wherever the sum is) */
            out[m++] = scale_node(l.t[i].coef, l.t[i].rest);
        i = j;
    }
    for (size_t i = 0; i < l.n; i++)
        mpq_clear(l.t[i].coef);
    free(l.t);

    Node r;
    if (m == 0) {
        r = dag_const(l.c);
    } else if (m == 1 && mpq_sgn(l.c) == 0) {
        r = out[0];
    } else {
        qsort(out, m, sizeof(Node), cmp_node);
        if (mpq_sgn(l.c) != 0) {
            memmove(out + 1, out, sizeof(Node) * m);
            out[0] = dag_const(l.c);
            m++;
        }
        r = make(OP_ADD, out, m, 0, NULL);
    }
    free(out);
    mpq_clear(l.c);
    return r;
}

Node dag_add(Node a, Node b)
{
    Node xs[2] = {a, b};
    return dag_add_n(xs, 2);
}

Node dag_neg(Node a)
{
    return dag_mul(DAG_MINUS_ONE, a);
}

Node dag_sub(Node a, Node b)
{
    return dag_add(a, dag_neg(b));
}

/* ---- products ---- */

typedef struct {
    Node base;
    long exp;
} Factor;

typedef struct {
    Factor *f;
    size_t n, cap;
    mpq_t c;
    bool zero;
} FactorList;

static void factors_push(FactorList *l, Node base, long e)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->f = xrealloc(l->f, sizeof(Factor) * l->cap);
    }
    l->f[l->n++] = (Factor){base, e};
}

/* Multiplies x into the list, flattening nested products (R5) and splitting integer powers
 * into base and exponent so that like factors meet (R6: x^a * x^b = x^(a+b) for integers
 * a, b; at x = 0 with a < 0 < b the left side is 0*inf, undefined, and the right side its
 * continuous value, the usual convention of computer algebra). */
/* The most factors the first operand of a product may have and still be flattened into it
 * (R5); above it that operand stays one factor. Only dag_mul_keep lowers it from "no limit",
 * and then a product inside an operand (one kept whole before) stays whole too. */
static uint32_t flat_limit = UINT32_MAX;
static bool keeping;

static void factors_add(FactorList *l, Node x, uint32_t limit)
{
    Op op = dag_op(x);
    long e;
    if (op == OP_CONST) {
        if (mpq_sgn(dag_rat(x)) == 0)
            l->zero = true;
        mpq_mul(l->c, l->c, dag_rat(x));
    } else if (op == OP_MUL && dag_nargs(x) <= limit) {
        for (uint32_t i = 0; i < dag_nargs(x); i++)
            factors_add(l, dag_args(x)[i], keeping ? 0 : limit);
    } else if (op == OP_POW && dag_is_int_const(dag_args(x)[1], &e)) {
        factors_push(l, dag_args(x)[0], e);
    } else {
        factors_push(l, x, 1);
    }
}

static int cmp_factor(const void *a, const void *b)
{
    return cmp_node(&((const Factor *)a)->base, &((const Factor *)b)->base);
}

Node dag_mul_n(const Node *xs, size_t n)
{
    FactorList l = {0};
    mpq_init(l.c);
    mpq_set_ui(l.c, 1, 1);
    for (size_t i = 0; i < n; i++)
        factors_add(&l, xs[i], i == 0 || !keeping ? flat_limit : UINT32_MAX);
    Node r;
    if (l.zero) {
        /* R7: 0*x = 0. Exact for finite x; the graph's values are finite wherever the
         * loss is defined, and SymPy makes the same choice. */
        r = DAG_ZERO;
    } else {
        if (l.n)
            qsort(l.f, l.n, sizeof(Factor), cmp_factor);
        Node *out = xmalloc(sizeof(Node) * (l.n + 1));
        size_t m = 0;
        for (size_t i = 0; i < l.n;) {
            size_t j = i + 1;
            long e = l.f[i].exp;
            for (; j < l.n && l.f[j].base == l.f[i].base; j++) {
                if ((l.f[j].exp > 0 && e > LONG_MAX / 2) || (l.f[j].exp < 0 && e < LONG_MIN / 2))
                    fatal("exponent overflow");
                e += l.f[j].exp;
            }
            if (e != 0) { /* R8: x^0 = 1 */
                Node f = e == 1 ? l.f[i].base : dag_powi(l.f[i].base, e);
                if (dag_is_const(f))
                    mpq_mul(l.c, l.c, dag_rat(f));
                else
                    out[m++] = f;
            }
            i = j;
        }
        if (m == 0) {
            r = dag_const(l.c);
        } else if (m == 1 && mpq_cmp_si(l.c, 1, 1) == 0) {
            r = out[0];
        } else {
            qsort(out, m, sizeof(Node), cmp_node);
            if (mpq_cmp_si(l.c, 1, 1) != 0) {
                memmove(out + 1, out, sizeof(Node) * m);
                out[0] = dag_const(l.c);
                m++;
            }
            r = make(OP_MUL, out, m, 0, NULL);
        }
        free(out);
    }
    free(l.f);
    mpq_clear(l.c);
    return r;
}

Node dag_mul(Node a, Node b)
{
    Node xs[2] = {a, b};
    return dag_mul_n(xs, 2);
}

/* R5': along a chain of derivatives (the adjoint of level k is the adjoint of level k+1 times
 * a local factor), flattening would copy every factor above into every level: O(d^2) for a
 * composition d deep. An adjoint a of more than KEEP_FACTORS factors is kept as one factor
 * here, so each level adds O(1) operands; the local factor b is flattened as usual, so that
 * a partial of a long product keeps its shared prefix and suffix runs. Exact: multiplication
 * is associative. */
Node dag_mul_keep(Node a, Node b)
{
    uint32_t outer = flat_limit;
    bool outer_keeping = keeping;
    flat_limit = KEEP_FACTORS;
    keeping = true;
    Node r = dag_mul(a, b);
    flat_limit = outer;
    keeping = outer_keeping;
    return r;
}

/* ---- powers ---- */

/* q^e for an integer e, or false if the result would be too large to keep. */
static bool rat_pow(mpq_t out, mpq_srcptr q, long e)
{
    unsigned long k = e < 0 ? (unsigned long)(-(e + 1)) + 1 : (unsigned long)e;
    size_t bits = mpz_sizeinbase(mpq_numref(q), 2) + mpz_sizeinbase(mpq_denref(q), 2);
    if (k > MAX_FOLD_BITS || (bits > 2 && bits * k > MAX_FOLD_BITS))
        return false;
    mpz_pow_ui(mpq_numref(out), mpq_numref(q), k);
    mpz_pow_ui(mpq_denref(out), mpq_denref(q), k);
    mpq_canonicalize(out);
    if (e < 0)
        mpq_inv(out, out);
    return true;
}

Node dag_powi(Node base, long e)
{
    mpq_t q;
    mpq_init(q);
    mpq_set_si(q, e, 1);
    Node r = dag_powq(base, q);
    mpq_clear(q);
    return r;
}

Node dag_recip(Node a)
{
    return dag_powi(a, -1);
}

/* base^e for a constant rational e. Returns 0 (no node) when a constant result would be
 * too large to keep exactly; the caller reports it. The caller also rules out 0^negative. */
Node dag_powq(Node base, mpq_srcptr e)
{
    if (mpq_sgn(e) == 0) /* R8: x^0 = 1, as C's pow and SymPy have it, 0^0 included */
        return DAG_ONE;
    if (mpq_cmp_si(e, 1, 1) == 0) /* R9: x^1 = x */
        return base;
    bool int_e = mpz_cmp_ui(mpq_denref(e), 1) == 0;
    long ei = int_e && mpz_fits_slong_p(mpq_numref(e)) ? mpz_get_si(mpq_numref(e)) : 0;
    if (int_e && ei == 0) {
        /* an integer exponent beyond a long: only 1, -1 and 0 (to a positive power) stay small */
        if (dag_is_const(base) && mpq_cmp_si(dag_rat(base), 1, 1) == 0)
            return DAG_ONE;
        if (dag_is_const(base) && mpq_cmp_si(dag_rat(base), -1, 1) == 0)
            return mpz_even_p(mpq_numref(e)) ? DAG_ONE : DAG_MINUS_ONE;
        if (dag_is_const(base) && mpq_sgn(dag_rat(base)) == 0 && mpq_sgn(e) > 0)
            return DAG_ZERO;
        return 0;
    }

    if (dag_is_const(base)) {
        mpq_srcptr b = dag_rat(base);
        if (int_e) {
            if (mpq_sgn(b) == 0 && ei < 0)
                return 0;
            mpq_t r;
            mpq_init(r);
            Node n = rat_pow(r, b, ei) ? dag_const(r) : 0;
            mpq_clear(r);
            return n;
        }
        /* R10: an exact root of a non-negative constant is folded: 4^(1/2) = 2. */
        if (mpq_sgn(b) >= 0 && mpz_fits_ulong_p(mpq_denref(e)) && mpz_fits_slong_p(mpq_numref(e))) {
            unsigned long root = mpz_get_ui(mpq_denref(e));
            mpz_t rn, rd;
            mpz_inits(rn, rd, NULL);
            bool exact = mpz_root(rn, mpq_numref(b), root) && mpz_root(rd, mpq_denref(b), root);
            Node n = 0;
            if (exact) {
                mpq_t r;
                mpq_init(r);
                mpq_set_num(r, rn);
                mpq_set_den(r, rd);
                mpq_canonicalize(r);
                n = dag_powi(dag_const(r), mpz_get_si(mpq_numref(e)));
                mpq_clear(r);
            }
            mpz_clears(rn, rd, NULL);
            if (exact)
                return n;
        }
    } else if (dag_op(base) == OP_POW && int_e) {
        /* R11: (x^a)^b = x^(a*b) for an integer b, when a is an integer or a*b is not: both
         * sides are then defined for the same x (a fractional power needs x >= 0, and 0 to a
         * negative power is inf on both). Not (x^(1/2))^2 = x: undefined for x < 0 while x is
         * not. (x^(1/2))^3 = x^(3/2) keeps the derivatives of sqrt(x^2 + y^2)^3 free of
         * (x^2 + y^2)^(-3/2), which overflows near 0 where x^2 * (x^2 + y^2)^(-1/2) does not. */
        long a;
        if (dag_is_const(dag_args(base)[1])) {
            mpq_t ab;
            mpq_init(ab);
            mpq_mul(ab, dag_rat(dag_args(base)[1]), e);
            bool merge = dag_is_int_const(dag_args(base)[1], &a) || mpz_cmp_ui(mpq_denref(ab), 1) != 0;
            Node n = merge ? dag_powq(dag_args(base)[0], ab) : 0;
            mpq_clear(ab);
            if (merge)
                return n;
        }
    } else if (dag_op(base) == OP_MUL && int_e && dag_is_const(dag_args(base)[0])) {
        /* R12: (c*m)^k = c^k * m^k for an integer k: the constant leaves the power. */
        Node c = dag_powq(dag_args(base)[0], e);
        Node m = dag_powq(mul_rest(base), e);
        return c && m ? dag_mul(c, m) : 0;
    }
    Node args[2] = {base, dag_const(e)};
    return make(OP_POW, args, 2, 0, NULL);
}

/* base^e for an exponent e that depends on no coordinate: a rational one goes to dag_powq;
 * another (pi, sqrt(2)) stays a power node with that exponent, computed by C's pow. */
Node dag_pow_const(Node base, Node e)
{
    if (dag_is_const(e))
        return dag_powq(base, dag_rat(e));
    Node args[2] = {base, e};
    return make(OP_POW, args, 2, 0, NULL);
}

/* ---- elementary functions ---- */

static Node rat_node(long num, long den)
{
    mpq_t q;
    mpq_init(q);
    mpq_set_si(q, num, (unsigned long)den);
    Node n = dag_const(q);
    mpq_clear(q);
    return n;
}

/* f(0) = p/q where it is rational (ops.h's value at 0), else q = 0 */
/* clang-format off */
static const struct { long p, q; } value_at_0[OP__COUNT] = {
#define AT0(p, q) {p, q}
#define NO_AT0 {0, 0}
#define X(e, src, c, helper, d, at0, ...) [OP_##e] = at0,
    UNARY_OPS(X)
#undef X
#undef NO_AT0
#undef AT0
};
/* clang-format on */

/* f(a) with the exact foldings: f(0) for the functions whose value there is rational,
 * abs, relu, sign and step of any constant, and R13: log(exp(a)) = a. The caller checks
 * the domain of constant arguments (log(0) is an error, not a node). */
Node dag_unary(Op op, Node a)
{
    if (dag_is_const(a)) {
        mpq_srcptr q = dag_rat(a);
        int s = mpq_sgn(q);
        switch (op) {
        case OP_ABS: {
            mpq_t r;
            mpq_init(r);
            mpq_abs(r, q);
            Node n = dag_const(r);
            mpq_clear(r);
            return n;
        }
        case OP_RELU:
            return s > 0 ? a : DAG_ZERO;
        case OP_SIGN:
            return dag_int(s);
        case OP_STEP:
            return s > 0 ? DAG_ONE : DAG_ZERO;
        case OP_NONZERO:
            return s ? a : DAG_ONE;
        default:
            break;
        }
        if (s == 0 && value_at_0[op].q)
            return rat_node(value_at_0[op].p, value_at_0[op].q);
        if (op == OP_LOG && mpq_cmp_si(q, 1, 1) == 0)
            return DAG_ZERO;
    }
    if (op == OP_LOG && dag_op(a) == OP_EXP)
        return dag_args(a)[0];
    if (op == OP_ABS && (dag_op(a) == OP_ABS || dag_op(a) == OP_EXP || dag_op(a) == OP_COSH))
        return a; /* these are never negative */
    return make(op, &a, 1, 0, NULL);
}

/* ---- evaluation of constant subgraphs ---- */

static long double sigmoidl(long double t)
{
    if (t >= 0)
        return 1 / (1 + expl(-t));
    long double e = expl(t);
    return e / (1 + e);
}

static long double softplusl(long double t)
{
    return t > 0 ? t + log1pl(expl(-t)) : log1pl(expl(t));
}

static long double sech2l(long double t)
{
    long double e = expl(-2 * fabsl(t));
    return 4 * e / ((1 + e) * (1 + e));
}

static long double eval_const(Node n)
{
    const Node *a = dag_args(n);
    long double v, x = 0;
    switch (dag_op(n)) {
    case OP_CONST: {
        /* long double from the exact rational, through a decimal string: strtold rounds. */
        mpq_srcptr q = dag_rat(n);
        mpf_t f;
        mpf_init2(f, 128);
        mpf_set_q(f, q);
        char *s = NULL;
        gmp_asprintf(&s, "%.40Fe", f);
        v = strtold(s, NULL);
        void (*freefunc)(void *, size_t);
        mp_get_memory_functions(NULL, NULL, &freefunc);
        freefunc(s, strlen(s) + 1);
        mpf_clear(f);
        return v;
    }
    case OP_PI:
        return 3.14159265358979323846264338327950288L;
    case OP_ADD:
        v = 0;
        for (uint32_t i = 0; i < dag_nargs(n); i++)
            v += dag_eval_const(a[i]);
        return v;
    case OP_MUL:
        v = 1;
        for (uint32_t i = 0; i < dag_nargs(n); i++)
            v *= dag_eval_const(a[i]);
        return v;
    case OP_POW:
        return powl(dag_eval_const(a[0]), dag_eval_const(a[1]));
    default:
        break;
    }
    if (OP_IS_UNARY(dag_op(n)))
        x = dag_eval_const(a[0]);
    switch (dag_op(n)) {
#define X(e, src, c, helper, d, at0, range, ld, ...)                                                                   \
    case OP_##e:                                                                                                       \
        return ld;
        UNARY_OPS(X)
#undef X
    default:
        fatal("dag_eval_const: node %u depends on a coordinate", n);
    }
}

/* (dag_eval_const memoizes in eval_cache: a constant subgraph may share nodes many times) */

long double dag_eval_const(Node n)
{
    if (n >= eval_cap) {
        uint32_t cap = eval_cap ? eval_cap : 1024;
        while (cap <= n)
            cap *= 2;
        eval_cache = xrealloc(eval_cache, sizeof(long double) * cap);
        eval_known = xrealloc(eval_known, cap);
        memset(eval_known + eval_cap, 0, cap - eval_cap);
        eval_cap = cap;
    }
    if (!eval_known[n]) {
        long double v = eval_const(n);
        eval_cache[n] = v; /* the arrays may have moved during the recursion: index again */
        eval_known[n] = true;
    }
    return eval_cache[n];
}

/* The double nearest to q, ties to even: the exact quotient to 54+ bits, then rounding
 * with the remainder as the sticky bit, to 53 bits or to what a subnormal has. */
double rat_to_double(mpq_srcptr q)
{
    int sign = mpq_sgn(q);
    if (sign == 0)
        return 0.0;
    mpz_t num, den, m, r;
    mpz_inits(num, den, m, r, NULL);
    mpz_abs(num, mpq_numref(q));
    mpz_set(den, mpq_denref(q));
    long s = 55 - ((long)mpz_sizeinbase(num, 2) - (long)mpz_sizeinbase(den, 2));
    if (s > 0)
        mpz_mul_2exp(num, num, (mp_bitcnt_t)s);
    else if (s < 0)
        mpz_mul_2exp(den, den, (mp_bitcnt_t)-s);
    mpz_tdiv_qr(m, r, num, den);
    /* 53 significant bits, fewer below 2^-1022 where doubles are subnormal: rounding once
     * to the bits that exist, so that ldexp below is exact */
    long bits = (long)mpz_sizeinbase(m, 2), top = bits - 1 - s, precision = 53;
    if (top < -1022)
        precision = 1075 + top;
    long extra = bits - precision;
    bool sticky = mpz_sgn(r) != 0;
    mpz_t dropped, half;
    mpz_inits(dropped, half, NULL);
    mpz_tdiv_r_2exp(dropped, m, (mp_bitcnt_t)extra);
    mpz_tdiv_q_2exp(m, m, (mp_bitcnt_t)extra);
    mpz_setbit(half, (mp_bitcnt_t)(extra - 1));
    int c = mpz_cmp(dropped, half);
    if (c > 0 || (c == 0 && (sticky || mpz_odd_p(m))))
        mpz_add_ui(m, m, 1);
    double v = ldexp((double)mpz_get_ui(m), (int)(extra - s));
    mpz_clears(num, den, m, r, dropped, half, NULL);
    return sign < 0 ? -v : v;
}

/* ---- --dump=dag ---- */

static const char *const op_names[OP__COUNT] = {[OP_NONE] = "none",
                                                [OP_CONST] = "const",
                                                [OP_PI] = "pi",
                                                [OP_PARAM] = "theta",
                                                [OP_DIR] = "v",
                                                [OP_DATA] = "data",
                                                [OP_NROWS] = "nrows",
                                                [OP_ROW] = "row",
                                                [OP_ROWSUM] = "rowsum",
                                                [OP_IVAR] = "ivar",
                                                [OP_PAT] = "theta_at",
                                                [OP_VAT] = "v_at",
                                                [OP_DAT] = "data_at",
                                                [OP_VSUM] = "vsum",
                                                [OP_UNIT] = "unit",
                                                [OP_REINDEX] = "reindex",
                                                [OP_ADD] = "add",
                                                [OP_MUL] = "mul",
                                                [OP_POW] = "pow",
#define X(e, src, c, helper, d, ...) [OP_##e] = c,
                                                UNARY_OPS(X)
#undef X
};

/* Prints every node that the roots reach, in creation (topological) order. */
const char *dag_op_name(Op op)
{
    return op_names[op];
}

void dag_dump_nodes(FILE *out, const Node *roots, size_t n)
{
    bool *seen = xcalloc(dag_graph.nnodes, 1);
    Node top = 0;
    for (size_t i = 0; i < n; i++) {
        if (roots[i])
            seen[roots[i]] = true;
        if (roots[i] > top)
            top = roots[i];
    }
    for (Node m = top; m > 0; m--)
        if (seen[m])
            for (uint32_t i = 0; i < dag_nargs(m); i++)
                seen[dag_args(m)[i]] = true;
    for (Node m = 1; m <= top; m++) {
        if (!seen[m])
            continue;
        fprintf(out, "n%u = %s", m, op_names[dag_op(m)]);
        if (dag_op(m) == OP_CONST) {
            fputc(' ', out);
            mpq_out_str(out, 10, dag_rat(m));
        } else if (dag_op(m) == OP_PARAM || dag_op(m) == OP_DIR || dag_op(m) == OP_NROWS) {
            fprintf(out, "[%u]", dag_graph.nodes[m].aux);
        } else if (dag_op(m) == OP_DATA) {
            fprintf(out, "[array %u, offset %u, level %u]", dag_data_array(m), dag_data_offset(m), dag_data_level(m));
        } else if (dag_op(m) == OP_ROWSUM) {
            fprintf(out, "[size %u, level %u](n%u)", dag_row_size(m), dag_row_level(m), dag_args(m)[0]);
        } else if (dag_op(m) == OP_IVAR || dag_op(m) == OP_VSUM) {
            const IndexVar *v = dag_var(dag_graph.nodes[m].aux);
            fprintf(out, "[%s%u ", v->name, dag_graph.nodes[m].aux);
            if (v->size != NO_SIZE)
                fprintf(out, "rows of size %u]", v->size);
            else
                fprintf(out, "%ld..%ld]", v->lo, v->lo + v->count - 1);
            if (dag_op(m) == OP_VSUM)
                fprintf(out, "(n%u)", dag_args(m)[0]);
        } else if (dag_op(m) == OP_REINDEX) {
            const IndexMap *map = dag_map_get(dag_graph.nodes[m].aux);
            fprintf(out, "[%s%u := %lld + %s%u](n%u)", dag_var(map->array)->name, map->array, (long long)map->base,
                    dag_var(map->var[0])->name, map->var[0], dag_args(m)[0]);
        } else if (dag_op(m) == OP_PAT || dag_op(m) == OP_VAT || dag_op(m) == OP_DAT || dag_op(m) == OP_UNIT) {
            const IndexMap *map = dag_map_get(dag_graph.nodes[m].aux);
            if (dag_op(m) == OP_UNIT)
                fprintf(out, "[%s%u == %lld", dag_var(map->array)->name, map->array, (long long)map->base);
            else if (map->array == MAP_THETA)
                fprintf(out, "[%lld", (long long)map->base);
            else
                fprintf(out, "[array %u: %lld", map->array, (long long)map->base);
            for (uint32_t t = 0; t < map->nterms; t++)
                fprintf(out, " + %lld*%s%u", (long long)map->coef[t], dag_var(map->var[t])->name, map->var[t]);
            fputc(']', out);
        } else {
            for (uint32_t i = 0; i < dag_nargs(m); i++)
                fprintf(out, "%sn%u", i ? ", " : "(", dag_args(m)[i]);
            fputc(')', out);
        }
        fputc('\n', out);
    }
    free(seen);
}

void dag_dump(FILE *out, Node root)
{
    dag_dump_nodes(out, &root, 1);
}

/* ---- runs of a product's factors, for the differentiator ---- */

/* The product of args[from..to) of the canonical product `mul`. A run of a canonical
 * operand list is itself canonical, so no re-sorting or merging is needed. */
Node dag_mul_run(Node mul, uint32_t from, uint32_t to)
{
    const Node *a = dag_args(mul);
    if (to <= from)
        return DAG_ONE;
    if (to - from == 1)
        return a[from];
    Span outer = dag_attribute(dag_span(mul)); /* a part of a product is the product's expression */
    Node r = make(OP_MUL, a + from, to - from, 0, NULL);
    dag_attribute(outer);
    return r;
}

/* n's operation over new operands, without simplification: for rewrites after differentiation
 * that keep every value (an operand replaced by an equal one). */
Node dag_remake(Node n, const Node *args)
{
    uint32_t k = dag_nargs(n);
    if (k == 0 || memcmp(args, dag_args(n), sizeof(Node) * k) == 0)
        return n;
    Span outer = dag_attribute(dag_span(n));
    Node r = make(dag_op(n), args, k, dag_rec(n)->aux, NULL);
    dag_attribute(outer);
    return r;
}

/* The product of exactly these operands, none flattened into it: a grouping the emitter keeps
 * (a product computed outside a loop, then multiplied inside it). */
Node dag_mul_group(const Node *xs, size_t n)
{
    if (n == 1)
        return xs[0];
    Node *b = xmalloc(sizeof(Node) * n);
    memcpy(b, xs, sizeof(Node) * n);
    qsort(b, n, sizeof(Node), cmp_node);
    Node r = make(OP_MUL, b, n, 0, NULL);
    free(b);
    return r;
}

/* The product of every operand of `mul` but the i-th: its partial derivative in that one. */
Node dag_mul_without(Node mul, uint32_t i)
{
    uint32_t n = dag_nargs(mul);
    const Node *a = dag_args(mul);
    if (n == 2)
        return a[1 - i];
    Node *b = xmalloc(sizeof(Node) * n);
    memcpy(b, a, sizeof(Node) * i);
    memcpy(b + i, a + i + 1, sizeof(Node) * (n - i - 1));
    Span outer = dag_attribute(dag_span(mul));
    Node r = make(OP_MUL, b, n - 1, 0, NULL);
    dag_attribute(outer);
    free(b);
    return r;
}
