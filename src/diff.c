/* diff.c: exact derivatives as more nodes of the same graph.
 *
 * In: the loss node. Out: a node per gradient entry, per structurally nonzero entry of the
 * Hessian's lower triangle (with its coordinates), and per entry of a Hessian-vector product.
 *   - The gradient is reverse accumulation over the graph, symbolically: each node's adjoint
 *     is the sum of its parents' adjoints times the local partial derivatives, visited in
 *     reverse creation order (a topological order). Its size is a small multiple of the
 *     loss's, whatever the number of parameters.
 *   - The Hessian differentiates the gradient forward, one parameter j at a time (forward
 *     over reverse), and only for the entries (i, j), j <= i, whose gradient entry i depends
 *     on theta[j]: the structural sparsity comes from each node's dependency set. An entry
 *     that simplifies to an exact 0 is not a structural nonzero.
 *   - The Hessian-vector product is the same forward pass with the direction v as its seed.
 *   - M_hess_row_range's outputs split each of these into the part linear in the outermost row
 *     sums and the part free of rows.
 * A product's partial derivatives are products of all factors but one; the prefix and
 * suffix runs of its factors are created once per product so that the scheduler can build
 * each partial from two shared runs instead of multiplying k-1 factors again.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

/* Which products already have their prefix and suffix runs in the graph. */
static bool *runs_made;
static uint32_t runs_cap;

static void make_runs(Node n)
{
    if (n >= runs_cap) {
        uint32_t cap = runs_cap ? runs_cap : 1024;
        while (cap <= n)
            cap *= 2;
        runs_made = xrealloc(runs_made, cap);
        memset(runs_made + runs_cap, 0, cap - runs_cap);
        runs_cap = cap;
    }
    if (runs_made[n])
        return;
    runs_made[n] = true;
    uint32_t k = dag_nargs(n);
    for (uint32_t j = 2; j < k; j++) {
        dag_mul_run(n, 0, j);
        dag_mul_run(n, k - j, k);
    }
}

/* Spelling of the derivative table of ops.h. */
#define ONE DAG_ONE
#define ZERO DAG_ZERO
#define U(op, x) dag_unary(OP_##op, x)
#define RECIP(x) dag_recip(x)
#define ADD(x, y) dag_add(x, y)
#define SUB(x, y) dag_sub(x, y)
#define MUL(x, y) dag_mul(x, y)
#define NEG(x) dag_neg(x)
#define SQ(x) dag_powi(x, 2)
#define POW(x, p, q) dag_pow_const(x, dag_mul(dag_int(p), dag_recip(dag_int(q)))) /* x^(p/q) */

/* Only the reverse pass asks for a product's runs: it needs every partial of a product,
 * which the runs make cheap. The forward pass needs few of them, and runs of the many
 * products it creates would only tempt the scheduler into long chains. */
static bool want_runs;

Node diff_partial(Node n, uint32_t i)
{
    const Node *args = dag_args(n);
    switch (dag_op(n)) {
    case OP_ADD:
        return DAG_ONE;
    case OP_MUL:
        if (want_runs && dag_nargs(n) > 3)
            make_runs(n);
        return dag_mul_without(n, i);
    case OP_POW: {
        /* (a^q)' = q * a^(q-1). The operands are copied first: making nodes may move the
         * graph's operand array, and args with it. */
        Node base = args[0], q = args[1];
        if (!dag_is_const(q)) /* q is pi or sqrt(2): q - 1 stays a constant node */
            return dag_mul(q, dag_pow_const(base, dag_sub(q, DAG_ONE)));
        mpq_t q1;
        mpq_init(q1);
        mpq_sub(q1, dag_rat(q), dag_rat(DAG_ONE));
        Node p = dag_powq(base, q1);
        mpq_clear(q1);
        if (!p)
            fatal("a derivative's exponent is too large");
        return dag_mul(q, p);
    }
    default:
        break;
    }
    Node a = args[0], f = n;
    (void)a;
    (void)f;
    switch (dag_op(n)) {
#define X(e, src, c, helper, d, ...)                                                                                   \
    case OP_##e:                                                                                                       \
        return d;
        UNARY_OPS(X)
#undef X
    default:
        fatal("diff_partial: node %u has no operands to differentiate", n);
    }
}

/* ---- the gradient ---- */

void contribs_init(Contribs *c, Node root)
{
    memset(c, 0, sizeof *c);
    c->n = 1;
    c->head = xcalloc((size_t)root + 1, sizeof(uint32_t));
}

void contribs_push(Contribs *c, Node target, Node value)
{
    if (c->n >= c->cap) {
        c->cap = c->cap ? 2 * c->cap : 1024;
        c->pool = xrealloc(c->pool, sizeof(Contrib) * c->cap);
    }
    c->pool[c->n] = (Contrib){value, c->head[target]};
    c->head[target] = (uint32_t)c->n++;
}

size_t contribs_gather(Contribs *c, Node n)
{
    size_t cnt = 0;
    for (uint32_t k = c->head[n]; k; k = c->pool[k].next) {
        if (cnt == c->list_cap) {
            c->list_cap = c->list_cap ? 2 * c->list_cap : 64;
            c->list = xrealloc(c->list, sizeof(Node) * c->list_cap);
        }
        c->list[cnt++] = c->pool[k].value;
    }
    return cnt;
}

void contribs_free(Contribs *c)
{
    free(c->head);
    free(c->pool);
    free(c->list);
    memset(c, 0, sizeof *c);
}

/* Reverse accumulation from root into grad[0..nparam), which holds zeros. A row reduction is
 * differentiated inside its body: its contribution to coordinate k is its adjoint times the
 * sum over rows of the body's derivative in k (the body's own reverse pass, recursively). */
static void reverse(Node root, Node *grad, uint32_t nparam)
{
    if (!dag_has_param(root))
        return;

    Contribs cs;
    contribs_init(&cs, root);
#define PUSH(target, v) contribs_push(&cs, (target), (v))

    PUSH(root, DAG_ONE);
    want_runs = true;
    for (Node n = root; n > 0; n--) {
        if (!cs.head[n])
            continue;
        size_t cnt = contribs_gather(&cs, n);
        Node *list = cs.list;
        dag_attribute(dag_span(n)); /* the derivative's nodes are this expression's */
        Node adj = cnt == 1 ? list[0] : dag_add_n(list, cnt);
        if (dag_op(n) == OP_PARAM) {
            grad[dag_rec(n)->aux] = adj;
            continue;
        }
        if (adj == DAG_ZERO)
            continue;
        if (dag_op(n) == OP_ROWSUM) {
            Node *inner = xmalloc(sizeof(Node) * (nparam ? nparam : 1));
            for (uint32_t k = 0; k < nparam; k++)
                inner[k] = DAG_ZERO;
            bool runs = want_runs;
            reverse(dag_args(n)[0], inner, nparam);
            want_runs = runs;
            dag_attribute(dag_span(n));
            for (uint32_t k = 0; k < nparam; k++)
                if (inner[k] != DAG_ZERO)
                    PUSH(dag_param(k), dag_mul_keep(adj, dag_rowsum(inner[k], dag_row_level(n), dag_row_size(n))));
            free(inner);
            continue;
        }
        uint32_t k = dag_nargs(n);
        for (uint32_t i = 0; i < k; i++) {
            Node c = dag_args(n)[i];
            if (dag_has_param(c))
                PUSH(c, dag_mul_keep(adj, diff_partial(n, i)));
        }
    }
#undef PUSH
    want_runs = false;
    contribs_free(&cs);
}

static void gradient_pass(const Model *m, Deriv *d);

void diff_gradient(const Model *m, Deriv *d)
{
    gradient_pass(m, d);
    dag_attribute((Span){0, 0}); /* what is made after differentiating belongs to no expression of it */
}

static void gradient_pass(const Model *m, Deriv *d)
{
    d->n = m->nparam;
    d->grad = xmalloc(sizeof(Node) * (m->nparam ? m->nparam : 1));
    for (uint32_t k = 0; k < m->nparam; k++)
        d->grad[k] = DAG_ZERO;
    reverse(m->loss, d->grad, m->nparam);
}

/* ---- forward differentiation of the gradient ---- */

/* Dependency sets: the sorted coordinates each node of the gradient's cone depends on. */
typedef struct {
    uint32_t *ids;
    uint32_t n;
    bool owned;
} DepSet;

static struct {
    DepSet *deps;
    uint32_t limit; /* nodes below this id have their sets */
    Node *memo;
    uint32_t *stamp;
    uint32_t cur; /* the current pass's stamp */
    uint32_t col; /* the coordinate differentiated against, in column mode */
    bool column;  /* column mode: seed e_col, prune by dependency sets */
} F;

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static void build_deps(const Node *roots, uint32_t nroots)
{
    Node top = 0;
    for (uint32_t i = 0; i < nroots; i++)
        if (roots[i] > top)
            top = roots[i];
    F.limit = top + 1;
    F.deps = xcalloc(F.limit, sizeof(DepSet));
    bool *in = xcalloc(F.limit, 1);
    for (uint32_t i = 0; i < nroots; i++)
        if (dag_has_param(roots[i]))
            in[roots[i]] = true;
    for (Node n = top; n > 0; n--)
        if (in[n])
            for (uint32_t i = 0; i < dag_nargs(n); i++)
                if (dag_has_param(dag_args(n)[i]))
                    in[dag_args(n)[i]] = true;
    uint32_t *scratch = NULL;
    size_t scap = 0;
    for (Node n = 1; n <= top; n++) {
        if (!in[n])
            continue;
        DepSet *s = &F.deps[n];
        if (dag_op(n) == OP_PARAM) {
            s->ids = xmalloc(sizeof(uint32_t));
            s->ids[0] = dag_rec(n)->aux;
            s->n = 1;
            s->owned = true;
            continue;
        }
        /* one child with coordinates: share its set */
        const Node *a = dag_args(n);
        uint32_t k = dag_nargs(n), only = 0, count = 0;
        size_t total = 0;
        for (uint32_t i = 0; i < k; i++)
            if (dag_has_param(a[i])) {
                only = a[i];
                count++;
                total += F.deps[a[i]].n;
            }
        if (count == 1) {
            *s = F.deps[only];
            s->owned = false;
            continue;
        }
        if (total > scap) {
            scap = total * 2;
            scratch = xrealloc(scratch, sizeof(uint32_t) * scap);
        }
        size_t m = 0;
        for (uint32_t i = 0; i < k; i++)
            if (dag_has_param(a[i])) {
                memcpy(scratch + m, F.deps[a[i]].ids, sizeof(uint32_t) * F.deps[a[i]].n);
                m += F.deps[a[i]].n;
            }
        qsort(scratch, m, sizeof(uint32_t), cmp_u32);
        size_t u = 0;
        for (size_t i = 0; i < m; i++)
            if (u == 0 || scratch[u - 1] != scratch[i])
                scratch[u++] = scratch[i];
        s->ids = xmalloc(sizeof(uint32_t) * (u ? u : 1));
        memcpy(s->ids, scratch, sizeof(uint32_t) * u);
        s->n = (uint32_t)u;
        s->owned = true;
    }
    free(scratch);
    free(in);
    F.memo = xcalloc(F.limit, sizeof(Node));
    F.stamp = xcalloc(F.limit, sizeof(uint32_t));
}

static void free_deps(void)
{
    for (uint32_t n = 0; n < F.limit; n++)
        if (F.deps[n].owned)
            free(F.deps[n].ids);
    free(F.deps);
    free(F.memo);
    free(F.stamp);
    memset(&F, 0, sizeof F);
}

static bool depends_on(Node n, uint32_t j)
{
    const DepSet *s = &F.deps[n];
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s->ids[mid] < j)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->ids[lo] == j;
}

/* The directional derivative of n: along e_col in column mode, along v otherwise. */
static Node forward(Node n)
{
    if (!dag_has_param(n))
        return DAG_ZERO;
    if (dag_op(n) == OP_PARAM) {
        uint32_t k = dag_rec(n)->aux;
        if (F.column)
            return k == F.col ? DAG_ONE : DAG_ZERO;
        return dag_dir(k);
    }
    if (F.column && !depends_on(n, F.col))
        return DAG_ZERO;
    if (F.stamp[n] == F.cur)
        return F.memo[n];
    dag_attribute(dag_span(n));
    if (dag_op(n) == OP_ROWSUM) { /* the derivative of a sum over rows is the sum of the body's */
        Node body = forward(dag_args(n)[0]);
        dag_attribute(dag_span(n));
        Node r = dag_rowsum(body, dag_row_level(n), dag_row_size(n));
        F.stamp[n] = F.cur;
        F.memo[n] = r;
        return r;
    }
    uint32_t k = dag_nargs(n);
    Node *terms = xmalloc(sizeof(Node) * k);
    uint32_t m = 0;
    for (uint32_t i = 0; i < k; i++) {
        Node da = forward(dag_args(n)[i]);
        dag_attribute(dag_span(n));
        if (da != DAG_ZERO)
            terms[m++] = dag_mul_keep(da, diff_partial(n, i));
    }
    Node r = m == 0 ? DAG_ZERO : m == 1 ? terms[0] : dag_add_n(terms, m);
    free(terms);
    F.stamp[n] = F.cur;
    F.memo[n] = r;
    return r;
}

typedef struct {
    uint32_t row, col;
    Node value;
} Entry;

static int cmp_entry(const void *a, const void *b)
{
    const Entry *x = a, *y = b;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (x->col > y->col) - (x->col < y->col);
}

static void hessian_pass(const Model *m, Deriv *d);

void diff_hessian(const Model *m, Deriv *d)
{
    hessian_pass(m, d);
    dag_attribute((Span){0, 0});
}

static void hessian_pass(const Model *m, Deriv *d)
{
    uint32_t n = d->n;
    build_deps(d->grad, n);
    /* rows_of[j]: the rows i >= j whose gradient entry depends on theta[j] */
    uint32_t *count = xcalloc((size_t)n + 1, sizeof(uint32_t));
    size_t total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!dag_has_param(d->grad[i]))
            continue;
        const DepSet *s = &F.deps[d->grad[i]];
        for (uint32_t t = 0; t < s->n && s->ids[t] <= i; t++) {
            count[s->ids[t]]++;
            total++;
        }
    }
    uint32_t *start = xcalloc((size_t)n + 1, sizeof(uint32_t));
    for (uint32_t j = 0; j < n; j++)
        start[j + 1] = start[j] + count[j];
    uint32_t *rows = xmalloc(sizeof(uint32_t) * (total ? total : 1));
    memset(count, 0, sizeof(uint32_t) * n);
    for (uint32_t i = 0; i < n; i++) {
        if (!dag_has_param(d->grad[i]))
            continue;
        const DepSet *s = &F.deps[d->grad[i]];
        for (uint32_t t = 0; t < s->n && s->ids[t] <= i; t++) {
            uint32_t j = s->ids[t];
            rows[start[j] + count[j]++] = i;
        }
    }
    Entry *e = xmalloc(sizeof(Entry) * (total ? total : 1));
    size_t ne = 0;
    F.column = true;
    for (uint32_t j = 0; j < n; j++) {
        F.col = j;
        F.cur = j + 1;
        for (uint32_t t = start[j]; t < start[j + 1]; t++) {
            uint32_t i = rows[t];
            Node h = forward(d->grad[i]);
            if (h != DAG_ZERO)
                e[ne++] = (Entry){i, j, h};
        }
    }
    qsort(e, ne, sizeof(Entry), cmp_entry);
    d->nnz = (uint32_t)ne;
    d->rows = xmalloc(sizeof(uint32_t) * (ne ? ne : 1));
    d->cols = xmalloc(sizeof(uint32_t) * (ne ? ne : 1));
    d->hess = xmalloc(sizeof(Node) * (ne ? ne : 1));
    for (size_t t = 0; t < ne; t++) {
        d->rows[t] = e[t].row;
        d->cols[t] = e[t].col;
        d->hess[t] = e[t].value;
    }
    free(e);
    free(rows);
    free(start);
    free(count);
    free_deps();
    (void)m;
}

static void hvp_pass(const Model *m, Deriv *d);

void diff_hvp(const Model *m, Deriv *d)
{
    hvp_pass(m, d);
    dag_attribute((Span){0, 0});
}

static void hvp_pass(const Model *m, Deriv *d)
{
    (void)m;
    build_deps(d->grad, d->n);
    F.column = false;
    F.cur = 1;
    d->hvp = xmalloc(sizeof(Node) * (d->n ? d->n : 1));
    for (uint32_t i = 0; i < d->n; i++)
        d->hvp[i] = forward(d->grad[i]);
    free_deps();
}

/* ---- splitting a loss over rows (M_hess_row_range) ---- */

/* The leaf w_free of M_hess_row_range: 1 in the part that starts at row 0, else 0. */
static Node free_share(void)
{
    return dag_nrows(NO_SIZE);
}

/* n = rows + free, where rows is linear in the outermost row reductions over size 0 and free
 * has none: then a part of the rows gives its share of rows, and free is added once. */
static bool split_rows(Node n, Node *rows, Node *rest_free)
{
    if (!dag_has_rowsum(n)) {
        *rows = DAG_ZERO;
        *rest_free = n;
        return true;
    }
    if (dag_op(n) == OP_ROWSUM) {
        *rows = n;
        *rest_free = DAG_ZERO;
        return dag_row_level(n) == 0 && dag_row_size(n) == 0;
    }
    const Node *a = dag_args(n);
    uint32_t k = dag_nargs(n);
    if (dag_op(n) == OP_MUL) {
        uint32_t which = k;
        for (uint32_t i = 0; i < k; i++) {
            if (!dag_has_rowsum(a[i]))
                continue;
            if (which < k)
                return false; /* a product of two sums over rows */
            which = i;
        }
        Node r, f;
        if (!split_rows(a[which], &r, &f))
            return false;
        Node rest = dag_mul_without(n, which);
        *rows = dag_mul(rest, r);
        *rest_free = dag_mul(rest, f);
        return true;
    }
    if (dag_op(n) != OP_ADD)
        return false;
    Node *rs = xmalloc(sizeof(Node) * k), *fs = xmalloc(sizeof(Node) * k), *terms = xmalloc(sizeof(Node) * k);
    memcpy(terms, a, sizeof(Node) * k); /* splitting makes nodes, which may move the operand array */
    bool ok = true;
    for (uint32_t i = 0; i < k && ok; i++)
        ok = split_rows(terms[i], &rs[i], &fs[i]);
    if (ok) {
        *rows = dag_add_n(rs, k);
        *rest_free = dag_add_n(fs, k);
    }
    free(rs);
    free(fs);
    free(terms);
    return ok;
}

/* The outputs of M_hess_row_range (loss, gradient, Hessian entries) as rows + w_free * free, or
 * NULL when the loss cannot be split (several row counts, or a non-linear use of a sum). */
void diff_row_range(const Model *m, Deriv *d)
{
    d->row_range = NULL;
    if (m->ndata == 0 || m->nsizes != 1)
        return;
    size_t n = 1 + (size_t)d->n + d->nnz;
    Node *outs = xmalloc(sizeof(Node) * n);
    outs[0] = m->loss;
    memcpy(outs + 1, d->grad, sizeof(Node) * d->n);
    memcpy(outs + 1 + d->n, d->hess, sizeof(Node) * d->nnz);
    for (size_t i = 0; i < n; i++) {
        Node r, f;
        if (!split_rows(outs[i], &r, &f)) {
            free(outs);
            return;
        }
        outs[i] = dag_add(r, dag_mul(free_share(), f));
    }
    d->row_range = outs;
}

void deriv_free(Deriv *d)
{
    free(d->row_range);
    free(d->grad);
    free(d->rows);
    free(d->cols);
    free(d->hess);
    free(d->hvp);
    memset(d, 0, sizeof *d);
}
