/* adiff.c: derivatives of a loss whose sums stayed loops (array loops, sema_array_loops).
 *
 * In: the loss node, a graph in which a sum over a fixed range or over data rows is one OP_VSUM
 * over an index variable and arrays are read through index maps (OP_PAT, OP_DAT).
 * Out: the gradient and the Hessian-vector product as scatters: "out[map] += value, for every
 * value of the value's variables" (those not in the map are summed over, the data rows among
 * them), so an array's derivative is one expression over its indices, whatever its size.
 * A use of a parameter is a scatter of its own: the uses of W[k][j] in different sums depend on
 * different variables, and each is summed over its own.
 *   - The gradient is reverse accumulation, as in diff.c, with one rule more: a node's adjoint
 *     depends on no variable the node does not depend on. A contribution from a user that
 *     depends on more variables (the body of a sum, or W[k][j] * h[j] for h[j]) is summed over
 *     them (a new OP_VSUM): the adjoint of h[j] is sum over k of adj(a[k]) * W[k][j].
 *     The adjoint of OP_PAT with map m is a scatter to theta[m].
 *   - The Hessian-vector product differentiates each scatter's value forward along v
 *     (OP_PAT's tangent is OP_VAT with the same map), in node order, without recursion.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

/* Sums value over every variable it depends on outside keep, the highest variable innermost. */
static Node sum_out(Node value, uint64_t keep)
{
    uint64_t extra = dag_vars(value) & ~keep;
    for (int v = MAX_VARS - 1; v >= 0 && extra; v--)
        if (extra >> v & 1) {
            value = dag_vsum(value, (uint32_t)v);
            extra &= ~(1ull << v);
        }
    return value;
}

/* A copy of n's operands (at least one slot): making nodes may move the operand array. */
static Node *args_copy(Node n)
{
    uint32_t k = dag_nargs(n);
    Node *a = xmalloc(sizeof(Node) * (k ? k : 1));
    memcpy(a, dag_args(n), sizeof(Node) * k);
    return a;
}

/* The data-row variables (a bit per index variable). */
static uint64_t row_vars(void)
{
    uint64_t r = 0;
    for (uint32_t v = 0; v < dag_nvars(); v++)
        if (dag_var(v)->size != NO_SIZE)
            r |= 1ull << v;
    return r;
}

/* The nodes the values of these scatter lists (and `extra`, unless 0) are made of: in[0..top],
 * top their largest; with param_only, only the operands that depend on a parameter. */
static bool *cone(const ArrayDeriv *const *ds, int nds, Node extra, bool param_only, Node *top_out)
{
    Node top = extra;
    for (int d = 0; d < nds; d++)
        for (uint32_t s = 0; s < ds[d]->ngrad; s++)
            if (ds[d]->grad[s].value > top)
                top = ds[d]->grad[s].value;
    bool *in = xcalloc((size_t)top + 1, 1);
    if (extra)
        in[extra] = true;
    for (int d = 0; d < nds; d++)
        for (uint32_t s = 0; s < ds[d]->ngrad; s++)
            in[ds[d]->grad[s].value] = true;
    for (Node n = top; n > 0; n--)
        if (in[n])
            for (uint32_t i = 0; i < dag_nargs(n); i++)
                if (!param_only || dag_has_param(dag_args(n)[i]))
                    in[dag_args(n)[i]] = true;
    *top_out = top;
    return in;
}

static void scatter_add(ArrayDeriv *d, uint32_t map, uint32_t coord, Node value)
{
    if (d->ngrad == d->grad_cap) {
        d->grad_cap = d->grad_cap ? 2 * d->grad_cap : 16;
        d->grad = xrealloc(d->grad, sizeof(Scatter) * d->grad_cap);
    }
    uint64_t mapvars = 0;
    if (map != UINT32_MAX)
        for (uint32_t t = 0; t < dag_map_get(map)->nterms; t++)
            mapvars |= 1ull << dag_map_get(map)->var[t];
    d->grad[d->ngrad++] = (Scatter){map, coord, value, UINT32_MAX, dag_vars(value) & ~mapvars};
}

#define PUSH(target, v) contribs_push(cs, (target), sum_out((v), dag_vars(target) | rowvars))
/* a use of a coordinate is a scatter of its own, summed over its own variables */
#define CONTRIBUTE(c, v)                                                                                               \
    do {                                                                                                               \
        if (dag_op(c) == OP_PARAM)                                                                                     \
            scatter_add(d, UINT32_MAX, dag_rec(c)->aux, (v));                                                          \
        else if (dag_op(c) == OP_PAT)                                                                                  \
            scatter_add(d, dag_rec(c)->aux, 0, (v));                                                                   \
        else                                                                                                           \
            PUSH(c, (v));                                                                                              \
    } while (0)

static void propagate(ArrayDeriv *d, Node n, Node adj, Contribs *cs, uint64_t rowvars);

void adiff_gradient(const Model *m, ArrayDeriv *d)
{
    memset(d, 0, sizeof *d);
    Node root = m->loss;
    if (!dag_has_param(root))
        return;
    uint64_t rowvars = row_vars();
    Contribs all, *cs = &all;
    contribs_init(cs, root);
    Node *group = NULL;
    size_t group_cap = 0;
    PUSH(root, DAG_ONE);
    for (Node n = root; n > 0; n--) {
        if (!cs->head[n])
            continue;
        size_t cnt = contribs_gather(cs, n);
        Node *list = cs->list;
        if (cnt > group_cap) {
            group_cap = cs->list_cap;
            group = xrealloc(group, sizeof(Node) * group_cap);
        }
        dag_attribute(dag_span(n));
        /* a node free of rows (the mean inside a variance) gets its adjoint summed over the rows
         * of its users: one pass over those rows, then one over its own; otherwise one adjoint
         * per set of extra row variables, summed only at the scatters, inside the passes over
         * those rows (summing it here for every row of n would loop over rows inside a loop
         * over rows) */
        if (!(dag_vars(n) & rowvars))
            for (size_t g = 0; g < cnt; g++)
                if (list[g])
                    list[g] = sum_out(list[g], dag_vars(n));
        for (size_t g = 0; g < cnt; g++) {
            if (!list[g])
                continue;
            uint64_t extra = dag_vars(list[g]) & rowvars & ~dag_vars(n);
            size_t ng = 0;
            for (size_t q = g; q < cnt; q++)
                if (list[q] && (dag_vars(list[q]) & rowvars & ~dag_vars(n)) == extra) {
                    group[ng++] = list[q];
                    list[q] = 0;
                }
            propagate(d, n, ng == 1 ? group[0] : dag_add_n(group, ng), cs, rowvars);
        }
    }
    free(group);
    contribs_free(cs);
    dag_attribute((Span){0, 0});
}

/* The adjoint adj of node n, pushed on to its operands. */
static void propagate(ArrayDeriv *d, Node n, Node adj, Contribs *cs, uint64_t rowvars)
{
    {
        if (adj == DAG_ZERO)
            return;
        switch (dag_op(n)) {
        case OP_PARAM: /* the loss itself */
            scatter_add(d, UINT32_MAX, dag_rec(n)->aux, adj);
            return;
        case OP_VSUM: /* d(sum_v body)/d(body) = 1 for every v: the adjoint, free of v, as it is */
            if (dag_has_param(dag_args(n)[0]))
                CONTRIBUTE(dag_args(n)[0], adj);
            return;
        case OP_ROWSUM:
            fatal("internal error: a row sum in array loops");
        default:
            break;
        }
        uint32_t k = dag_nargs(n);
        for (uint32_t i = 0; i < k; i++) {
            Node c = dag_args(n)[i];
            if (!dag_has_param(c))
                continue;
            Node v = dag_mul_keep(adj, diff_partial(n, i));
            CONTRIBUTE(c, v);
        }
    }
}

/* ---- e_c's Kronecker structure ----
 * Along e_c, the tangent of x[base + v] is delta(base + v == c): a sum over v of a product
 * with that factor is the product at v = c - base, one term instead of a loop (the tangent of
 * sum_j w[j]*X[i][j] is X[i][c]). subst rewrites a node with v := c + off: index maps, sums and
 * products again, anything else as a read of its values over v at c + off (OP_REINDEX). */
typedef struct {
    uint32_t v, c;
    int64_t off;
    Node *memo;
    uint32_t limit; /* nodes below it are memoized */
} Subst;

static Node subst(Subst *sb, Node n)
{
    if (!(dag_vars(n) >> sb->v & 1))
        return n;
    if (n < sb->limit && sb->memo[n])
        return sb->memo[n];
    Node r;
    Op op = dag_op(n);
    if (op == OP_IVAR) {
        r = dag_add(dag_ivar(sb->c), dag_int(sb->off));
    } else if (op == OP_PAT || op == OP_VAT || op == OP_DAT || op == OP_UNIT) {
        IndexMap m = *dag_map_get(dag_rec(n)->aux);
        for (uint32_t t = 0; t < m.nterms; t++)
            if (m.var[t] == sb->v) {
                m.base += m.coef[t] * sb->off;
                m.var[t] = sb->c; /* dag_map sorts and merges the terms again */
            }
        r = dag_at(op, dag_map(&m));
    } else if (op == OP_MUL || op == OP_ADD) { /* cheap to compute again at the new index */
        uint32_t k = dag_nargs(n);
        Node *a = args_copy(n);
        for (uint32_t i = 0; i < k; i++)
            a[i] = subst(sb, a[i]);
        r = dag_remake(n, a);
        free(a);
    } else { /* computed once over v (aemit materializes it), read at the new index */
        r = dag_reindex(n, sb->v, sb->c, sb->off);
    }
    if (n < sb->limit)
        sb->memo[n] = r;
    return r;
}

/* The column variable c and the offset off with delta(u) == (v == c + off), if u is OP_UNIT
 * over exactly base + v (against one of the block's variables) with c + off in v's range for
 * every value of c. */
static bool unit_on(Node u, uint32_t v, const ColumnBlock *col, uint32_t *c, int64_t *off)
{
    if (dag_op(u) != OP_UNIT)
        return false;
    const IndexMap *m = dag_map_get(dag_rec(u)->aux);
    if ((m->array != col->vc && m->array != col->vr) || m->nterms != 1 || m->var[0] != v || m->coef[0] != 1)
        return false;
    const IndexVar *x = dag_var(v), *cv = dag_var(m->array);
    *c = m->array;
    *off = -m->base;
    return cv->lo + *off >= x->lo && cv->lo + cv->count - 1 + *off <= x->lo + x->count - 1;
}

/* The sum of terms, with the factors every term has that depend on a column variable taken
 * out: a[cc] x + a[cc] y = a[cc] (x + y). Along W[cr][cc], whose use W[k][j] h[j] seeds
 * delta(k == cr) h[cc], every tangent downstream is h[cc] times one along b[cr]; with the
 * factor kept outside each sum, the sums over the layers above (and dag_vsum, which takes
 * a factor free of its variable out of the sum) are computed once per cr, outside the loop
 * over cc, as a hand-written Hessian carries one tangent per unit, not per weight. */
static Node sum_factored(const Node *terms, size_t nt, uint64_t colvars)
{
    if (nt == 0)
        return DAG_ZERO;
    if (nt == 1)
        return terms[0];
    Node first = terms[0];
    uint32_t k0 = dag_op(first) == OP_MUL ? dag_nargs(first) : 1;
    Node *common = xmalloc(sizeof(Node) * k0);
    uint32_t nc = 0;
    for (uint32_t f = 0; f < k0; f++) {
        Node x = dag_op(first) == OP_MUL ? dag_args(first)[f] : first;
        if (!(dag_vars(x) & colvars) || dag_is_const(x))
            continue;
        bool everywhere = true;
        for (size_t t = 1; t < nt && everywhere; t++) {
            Node y = terms[t];
            bool has = y == x;
            if (!has && dag_op(y) == OP_MUL)
                for (uint32_t g = 0; g < dag_nargs(y) && !has; g++)
                    has = dag_args(y)[g] == x;
            everywhere = has;
        }
        if (everywhere)
            common[nc++] = x;
    }
    Node r;
    if (nc == 0) {
        r = dag_add_n(terms, nt);
    } else {
        Node *rest = xmalloc(sizeof(Node) * nt);
        for (size_t t = 0; t < nt; t++) {
            Node y = terms[t];
            for (uint32_t c = 0; c < nc; c++) {
                if (y == common[c]) {
                    y = DAG_ONE;
                    continue;
                }
                for (uint32_t g = 0; dag_op(y) == OP_MUL && g < dag_nargs(y); g++)
                    if (dag_args(y)[g] == common[c]) {
                        y = dag_mul_without(y, g);
                        break;
                    }
            }
            rest[t] = y;
        }
        common[nc++] = dag_add_n(rest, nt);
        r = dag_mul_n(common, nc);
        free(rest);
    }
    free(common);
    return r;
}

/* sum over v of t, with every term that is a product with a factor delta(base + v == c)
 * taken at v = c - base. */
static Node sum_kronecker(Node t, uint32_t v, const ColumnBlock *col)
{
    uint32_t k = dag_op(t) == OP_ADD ? dag_nargs(t) : 1;
    Node *terms = xmalloc(sizeof(Node) * k), *done = xmalloc(sizeof(Node) * (k + 1)), *rest = xmalloc(sizeof(Node) * k);
    if (dag_op(t) == OP_ADD)
        memcpy(terms, dag_args(t), sizeof(Node) * k);
    else
        terms[0] = t;
    uint32_t nd = 0, nr = 0;
    for (uint32_t i = 0; i < k; i++) {
        Node x = terms[i];
        int64_t off = 0;
        uint32_t which = UINT32_MAX, c = UINT32_MAX;
        if (unit_on(x, v, col, &c, &off)) {
            done[nd++] = DAG_ONE;
            continue;
        }
        if (dag_op(x) == OP_MUL)
            for (uint32_t f = 0; f < dag_nargs(x) && which == UINT32_MAX; f++)
                if (unit_on(dag_args(x)[f], v, col, &c, &off))
                    which = f;
        if (which == UINT32_MAX) {
            rest[nr++] = x;
            continue;
        }
        Node others = dag_mul_without(x, which);
        Subst sb = {v, c, off, NULL, dag_node_count()};
        sb.memo = xcalloc(sb.limit, sizeof(Node));
        done[nd++] = subst(&sb, others);
        free(sb.memo);
    }
    uint64_t colvars = 1ull << col->vc | (col->vr != UINT32_MAX ? 1ull << col->vr : 0);
    if (nr)
        done[nd++] = dag_vsum(sum_factored(rest, nr, colvars), v);
    Node r = sum_factored(done, nd, colvars);
    free(terms);
    free(done);
    free(rest);
    return r;
}

/* A matrix block's delta(index == c), c = lo + inner * vr + vc, for an index map that reads
 * the matrix: its part in whole rows against vr times its part within a row against vc (0
 * when the map cannot be split so, each part in its range). */
static bool split_rows_cols(const IndexMap *m, const ColumnBlock *col, IndexMap *rp, IndexMap *cp)
{
    IndexMap r = {.array = col->vr}, c = {.array = col->vc};
    int64_t cmin = 0, cmax = 0;
    for (uint32_t t = 0; t < m->nterms; t++) {
        IndexMap *to = m->coef[t] % col->inner == 0 ? &r : &c;
        to->var[to->nterms] = m->var[t];
        to->coef[to->nterms++] = to == &r ? m->coef[t] / col->inner : m->coef[t];
        if (to == &c) {
            const IndexVar *x = dag_var(m->var[t]);
            int64_t a = m->coef[t] * x->lo, b = m->coef[t] * (x->lo + x->count - 1);
            cmin += a < b ? a : b;
            cmax += a < b ? b : a;
        }
    }
    int64_t rel = m->base - col->lo, lowest = rel + cmin;
    int64_t row = lowest >= 0 ? lowest / col->inner : -((-lowest + col->inner - 1) / col->inner);
    r.base = row;
    c.base = rel - row * col->inner;
    *rp = r;
    *cp = c;
    return c.base + cmin >= 0 && c.base + cmax < col->inner;
}

static bool matrix_split(const IndexMap *m, const ColumnBlock *col)
{
    IndexMap r, c;
    return split_rows_cols(m, col, &r, &c);
}

static Node matrix_delta(const IndexMap *m, const ColumnBlock *col)
{
    IndexMap r, c;
    if (!split_rows_cols(m, col, &r, &c))
        return 0;
    return dag_mul(dag_at(OP_UNIT, dag_map(&r)), dag_at(OP_UNIT, dag_map(&c)));
}

static void push_scatter(ArrayDeriv *h, const Scatter *x)
{
    if (h->ngrad == h->grad_cap) {
        h->grad_cap = h->grad_cap ? 2 * h->grad_cap : 16;
        h->grad = xrealloc(h->grad, sizeof(Scatter) * h->grad_cap);
    }
    h->grad[h->ngrad++] = *x;
}

/* A column's scatter, its terms with a factor delta(base + v == c) on one of the variables it
 * loops over taken at v = c - base, each as a scatter of its own over one variable less (the
 * tangent of W[k][j] in the scatter of W's own gradient is nonzero at one k only). */
static void scatter_units(ArrayDeriv *h, const Scatter *x, const ColumnBlock *col)
{
    Node t = x->value;
    uint32_t k = dag_op(t) == OP_ADD ? dag_nargs(t) : 1;
    Node *terms = xmalloc(sizeof(Node) * k), *rest = xmalloc(sizeof(Node) * k);
    if (dag_op(t) == OP_ADD)
        memcpy(terms, dag_args(t), sizeof(Node) * k);
    else
        terms[0] = t;
    uint64_t loops = x->over;
    if (x->map != UINT32_MAX)
        for (uint32_t q = 0; q < dag_map_get(x->map)->nterms; q++)
            loops |= 1ull << dag_map_get(x->map)->var[q];
    uint32_t nr = 0;
    for (uint32_t i = 0; i < k; i++) {
        Node term = terms[i];
        uint32_t which = UINT32_MAX, c = UINT32_MAX, v = UINT32_MAX;
        int64_t off = 0;
        if (dag_op(term) == OP_MUL)
            for (uint32_t f = 0; f < dag_nargs(term) && which == UINT32_MAX; f++) {
                Node u = dag_args(term)[f];
                if (dag_op(u) != OP_UNIT || dag_map_get(dag_rec(u)->aux)->nterms != 1)
                    continue;
                uint32_t w = dag_map_get(dag_rec(u)->aux)->var[0];
                if ((loops >> w & 1) && !(col->vc == w || col->vr == w) && unit_on(u, w, col, &c, &off)) {
                    which = f;
                    v = w;
                }
            }
        if (which == UINT32_MAX) {
            rest[nr++] = term;
            continue;
        }
        Subst sb = {v, c, off, NULL, dag_node_count()};
        sb.memo = xcalloc(sb.limit, sizeof(Node));
        Scatter y = *x;
        y.value = subst(&sb, dag_mul_without(term, which));
        free(sb.memo);
        y.over &= ~(1ull << v);
        if (x->map != UINT32_MAX) {
            IndexMap m = *dag_map_get(x->map);
            for (uint32_t q = 0; q < m.nterms; q++)
                if (m.var[q] == v) {
                    m.base += m.coef[q] * off;
                    m.var[q] = c;
                }
            y.map = dag_map(&m);
        }
        push_scatter(h, &y);
    }
    if (nr) {
        Scatter y = *x;
        y.value = nr == 1 ? rest[0] : dag_add_n(rest, nr);
        push_scatter(h, &y);
    }
    free(terms);
    free(rest);
}

static void tangents(const ArrayDeriv *g, ArrayDeriv *h, const ColumnBlock *col)
{
    int64_t lo = 0, hi = 0;
    uint64_t colvars = 0;
    if (col) {
        lo = col->lo;
        hi = col->hi;
        colvars = 1ull << col->vc | (col->vr != UINT32_MAX ? 1ull << col->vr : 0);
    }
    memset(h, 0, sizeof *h);
    Node top;
    bool *in = cone(&g, 1, 0, true, &top);
    Node *tan = xcalloc((size_t)top + 1, sizeof(Node));
    Node *terms = NULL;
    size_t terms_cap = 0;
    for (Node n = 1; n <= top; n++) {
        if (!in[n])
            continue;
        if (!dag_has_param(n)) {
            tan[n] = DAG_ZERO;
            continue;
        }
        dag_attribute(dag_span(n));
        switch (dag_op(n)) {
        case OP_PARAM:
        case OP_PAT: {
            if (!col) {
                tan[n] = dag_op(n) == OP_PARAM ? dag_dir(dag_rec(n)->aux) : dag_at(OP_VAT, dag_rec(n)->aux);
                continue;
            }
            IndexMap unit = {.base = dag_rec(n)->aux};
            if (dag_op(n) == OP_PAT)
                unit = *dag_map_get(dag_rec(n)->aux);
            int64_t first, last;
            dag_map_range(&unit, &first, &last);
            if (last < lo || first >= hi) {
                tan[n] = DAG_ZERO; /* outside the block of columns */
            } else if (col->vr != UINT32_MAX) {
                tan[n] = matrix_delta(&unit, col);
                if (!tan[n])
                    fatal("internal error: adiff: a read of a matrix block that does not split into rows");
            } else {
                unit.array = col->vc;
                tan[n] = dag_at(OP_UNIT, dag_map(&unit));
            }
            continue;
        }
        case OP_VSUM:
            tan[n] = !col ? dag_vsum(tan[dag_args(n)[0]], dag_rec(n)->aux)
                          : sum_kronecker(tan[dag_args(n)[0]], dag_rec(n)->aux, col);
            continue;
        default:
            break;
        }
        uint32_t k = dag_nargs(n);
        if (k > terms_cap) {
            terms_cap = 2 * k;
            terms = xrealloc(terms, sizeof(Node) * terms_cap);
        }
        size_t nt = 0;
        for (uint32_t i = 0; i < k; i++) {
            Node c = dag_args(n)[i];
            if (dag_has_param(c) && tan[c] != DAG_ZERO)
                terms[nt++] = dag_mul(diff_partial(n, i), tan[c]);
        }
        tan[n] = sum_factored(terms, nt, colvars); /* colvars 0 (the HVP): a plain sum */
    }
    for (uint32_t s = 0; s < g->ngrad; s++) {
        Node t = tan[g->grad[s].value];
        if (t == DAG_ZERO)
            continue;
        if (col) {
            /* column c is row c of the symmetric Hessian, and only its entries from the
             * diagonal on (index >= c) are stored: a scatter whose indices are all before this
             * block's first column is the mirror of another's. That half, not the other: the
             * parameters are numbered in the order they are declared, inputs first, so a
             * column of a layer needs the tangents of that layer and those above it only, not
             * the backward sweep down to the first layer */
            int64_t first = g->grad[s].coord, last = g->grad[s].coord;
            if (g->grad[s].map != UINT32_MAX)
                dag_map_range(dag_map_get(g->grad[s].map), &first, &last);
            if (last < lo)
                continue;
        }
        Scatter x = {g->grad[s].map, g->grad[s].coord, t, col ? col->map : UINT32_MAX, g->grad[s].over | colvars};
        if (col)
            scatter_units(h, &x, col);
        else
            push_scatter(h, &x);
    }
    free(terms);
    free(tan);
    free(in);
    dag_attribute((Span){0, 0});
}

void adiff_hvp(const ArrayDeriv *g, ArrayDeriv *h)
{
    tangents(g, h, NULL);
}

void adiff_columns(const ArrayDeriv *g, ArrayDeriv *h, const ColumnBlock *col)
{
    tangents(g, h, col);
}

void adiff_free(ArrayDeriv *d)
{
    free(d->grad);
    memset(d, 0, sizeof *d);
}

static void put_over(FILE *out, uint64_t over)
{
    const char *sep = ", summed over ";
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (over >> v & 1) {
            fprintf(out, "%s%s%u", sep, dag_var(v)->name, v);
            sep = " ";
        }
    fputc('\n', out);
}

void adiff_dump(FILE *out, const Model *m, const ArrayDeriv *g, const char *what)
{
    Node *roots = xmalloc(sizeof(Node) * (g->ngrad + 1));
    roots[0] = m->loss;
    for (uint32_t s = 0; s < g->ngrad; s++)
        roots[s + 1] = g->grad[s].value;
    dag_dump_nodes(out, roots, g->ngrad + 1);
    free(roots);
    fprintf(out, "loss = n%u\n", m->loss);
    for (uint32_t s = 0; s < g->ngrad; s++) {
        const Scatter *x = &g->grad[s];
        if (x->map == UINT32_MAX) {
            fprintf(out, "%s[%s] += n%u", what, m->param_names[x->coord], x->value);
            put_over(out, x->over);
            continue;
        }
        const IndexMap *map = dag_map_get(x->map);
        fprintf(out, "%s[%lld", what, (long long)map->base);
        for (uint32_t t = 0; t < map->nterms; t++)
            fprintf(out, " + %lld*%s%u", (long long)map->coef[t], dag_var(map->var[t])->name, map->var[t]);
        fprintf(out, "] += n%u", x->value);
        put_over(out, x->over);
    }
}

/* ---- chains of inner sums ----
 * A scatter over pairs of rows (out += value for every i and k) whose value reads a complete
 * sum over k for its row i (the row's inner sum, S(i) = sum_k f(i, k)) needs S(i) before its
 * own loop over k: for each i a second loop over every k, which over parts of the rows is a
 * second round of the ring. Summed over k first, what is free of k leaves the sum,
 * sum_k S(i) B(i, k) = S(i) sum_k B(i, k), and the scatter is over i alone: its sums over k
 * run with the row's other inner sums, in one loop. */
static bool reads_vsum_over(Node n, uint32_t v, uint8_t *seen)
{
    if (!dag_has_rowsum(n) || seen[n])
        return false;
    seen[n] = 1;
    if (dag_op(n) == OP_VSUM && dag_rec(n)->aux == v)
        return true;
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        if (reads_vsum_over(dag_args(n)[i], v, seen))
            return true;
    return false;
}

static void push_factors(Node n, Node **f, uint32_t *nf, uint32_t *cap)
{
    if (dag_op(n) == OP_MUL) {
        uint32_t k = dag_nargs(n);
        Node *a = args_copy(n);
        for (uint32_t i = 0; i < k; i++)
            push_factors(a[i], f, nf, cap);
        free(a);
        return;
    }
    if (*nf == *cap) {
        *cap = *cap ? 2 * *cap : 8;
        *f = xrealloc(*f, sizeof(Node) * *cap);
    }
    (*f)[(*nf)++] = n;
}

/* sum over v of value, the factors free of v (through nested products) outside the sum and the
 * sum taken into each term of a sum. */
static Node vsum_pulled(Node value, uint32_t v)
{
    if (!(dag_vars(value) >> v & 1))
        return dag_vsum(value, v);
    if (dag_op(value) == OP_ADD) {
        uint32_t k = dag_nargs(value);
        Node *a = args_copy(value);
        for (uint32_t i = 0; i < k; i++)
            a[i] = vsum_pulled(a[i], v);
        Node r = dag_add_n(a, k);
        free(a);
        return r;
    }
    if (dag_op(value) != OP_MUL)
        return dag_vsum(value, v);
    Node *f = NULL;
    uint32_t nf = 0, cap = 0;
    push_factors(value, &f, &nf, &cap);
    Node *out = xmalloc(sizeof(Node) * (nf + 1)), *in = xmalloc(sizeof(Node) * nf);
    uint32_t nout = 0, nin = 0;
    for (uint32_t i = 0; i < nf; i++) {
        if (dag_vars(f[i]) >> v & 1)
            in[nin++] = f[i];
        else
            out[nout++] = f[i];
    }
    out[nout++] = nin == 1 && dag_op(in[0]) == OP_ADD ? vsum_pulled(in[0], v) : dag_vsum(dag_mul_n(in, nin), v);
    Node r = dag_mul_n(out, nout);
    free(f);
    free(out);
    free(in);
    return r;
}

/* Whether a sum over v inside n reads another sum over v. */
static bool chained(Node n, uint32_t v, bool inside, uint8_t *seen)
{
    uint8_t bit = inside ? 2 : 1;
    if (!dag_has_rowsum(n) || (seen[n] & bit))
        return false;
    seen[n] |= bit;
    bool sum = dag_op(n) == OP_VSUM && dag_rec(n)->aux == v;
    if (sum && inside)
        return true;
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        if (chained(dag_args(n)[i], v, inside || sum, seen))
            return true;
    return false;
}

static void unchain(ArrayDeriv *d)
{
    uint64_t rowvars = row_vars();
    for (uint32_t s = 0; s < d->ngrad; s++) {
        Scatter *x = &d->grad[s];
        uint64_t rows = x->over & rowvars;
        if (!rows || !(rows & (rows - 1)))
            continue; /* not over pairs of rows */
        for (uint32_t v = 0; v < MAX_VARS; v++) {
            if (!(rows >> v & 1))
                continue;
            uint8_t *seen = xcalloc(dag_node_count(), 1);
            bool reads = reads_vsum_over(x->value, v, seen);
            free(seen);
            if (!reads)
                continue;
            Node summed = vsum_pulled(x->value, v);
            seen = xcalloc(dag_node_count(), 1);
            bool still = chained(summed, v, false, seen);
            free(seen);
            if (still)
                continue; /* a sum over v inside another: left as it was (the parts refuse it) */
            x->value = summed;
            x->over &= ~(1ull << v);
            rows &= ~(1ull << v);
        }
    }
}

/* ---- a part of the rows (M_hess_row_range) ----
 * As diff_row_range in the unrolled graph: an output is rows + free, rows linear in sums over
 * the outer row variables (R), free depending on no row; then the passes over R's rows run
 * over [row_begin, row_end) and free is multiplied by w_free (1 in the part that starts at row
 * 0), so the parts add up to the whole. A scatter summed over rows in its pass is a row's own
 * term: it needs one outer variable among them and no complete sum over an outer variable. */
typedef struct {
    uint64_t rowvars, R;
    Node *rows, *bodies; /* sums over R seen in linear position (their bodies are checked) */
    uint32_t nbodies, cap;
    uint32_t *seen, stamp, nseen; /* sum_over's visits */
} Split;

/* A new stamp for sum_over: within one, a node once visited is known to read no such sum. */
static void sum_over_begin(Split *sp)
{
    if (sp->nseen < dag_node_count()) {
        sp->seen = xrealloc(sp->seen, sizeof(uint32_t) * dag_node_count());
        memset(sp->seen + sp->nseen, 0, sizeof(uint32_t) * (dag_node_count() - sp->nseen));
        sp->nseen = dag_node_count();
    }
    sp->stamp++;
}

/* Whether n reads a complete sum over one of the variables in vars. */
static bool sum_over(Split *sp, Node n, uint64_t vars)
{
    if (!dag_has_rowsum(n) || sp->seen[n] == sp->stamp)
        return false;
    sp->seen[n] = sp->stamp;
    if (dag_op(n) == OP_VSUM && (vars >> dag_rec(n)->aux & 1))
        return true;
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        if (sum_over(sp, dag_args(n)[i], vars))
            return true;
    return false;
}

/* Free of the rows in sp->rowvars: depends on none of them, and reads no sum over them (a
 * complete sum over other rows is a constant here). */
static bool row_free(Split *sp, Node n)
{
    if (dag_vars(n) & sp->rowvars)
        return false;
    if (!dag_has_rowsum(n))
        return true;
    sum_over_begin(sp);
    return !sum_over(sp, n, sp->rowvars);
}

/* Of a product's k factors a, the one that is not free of the rows (k if none; UINT32_MAX if
 * two are: a product of two sums over rows is not linear). */
static uint32_t row_factor(Split *sp, const Node *a, uint32_t k)
{
    uint32_t which = k;
    for (uint32_t i = 0; i < k; i++)
        if (!row_free(sp, a[i])) {
            if (which != k)
                return UINT32_MAX;
            which = i;
        }
    return which;
}

static bool split_linear(Split *sp, Node n, Node *rows, Node *rest_free)
{
    if (row_free(sp, n)) {
        *rows = DAG_ZERO;
        *rest_free = n;
        return true;
    }
    if (dag_op(n) == OP_VSUM && (sp->rowvars >> dag_rec(n)->aux & 1)) {
        sp->R |= 1ull << dag_rec(n)->aux;
        if (sp->nbodies == sp->cap) {
            sp->cap = sp->cap ? 2 * sp->cap : 16;
            sp->bodies = xrealloc(sp->bodies, sizeof(Node) * sp->cap);
        }
        sp->bodies[sp->nbodies++] = dag_args(n)[0];
        *rows = n;
        *rest_free = DAG_ZERO;
        return true;
    }
    uint32_t k = dag_nargs(n);
    Node *a = args_copy(n);
    bool ok = false;
    if (dag_op(n) == OP_MUL) {
        uint32_t which = row_factor(sp, a, k);
        ok = which != UINT32_MAX;
        Node r, f;
        if (ok && which < k && split_linear(sp, a[which], &r, &f)) {
            a[which] = r;
            *rows = dag_mul_n(a, k);
            a[which] = f;
            *rest_free = dag_mul_n(a, k);
        } else {
            ok = false;
        }
    } else if (dag_op(n) == OP_ADD) {
        Node *rs = xmalloc(sizeof(Node) * k), *fs = xmalloc(sizeof(Node) * k);
        ok = true;
        for (uint32_t i = 0; i < k && ok; i++)
            ok = split_linear(sp, a[i], &rs[i], &fs[i]);
        if (ok) {
            *rows = dag_add_n(rs, k);
            *rest_free = dag_add_n(fs, k);
        }
        free(rs);
        free(fs);
    }
    free(a);
    return ok;
}

/* The terms of rows (split_linear's, linear in sums over sp->R) as pairs: sum over i of
 * sums[i] * coefs[i], each coefs[i] free of those sums. False where rows is not of that shape. */
static bool linear_terms(Split *sp, Node rows, Node coef, Node **sums, Node **coefs, uint32_t *n, uint32_t *cap)
{
    if (rows == DAG_ZERO)
        return true;
    if (dag_op(rows) == OP_VSUM && (sp->R >> dag_rec(rows)->aux & 1)) {
        for (uint32_t i = 0; i < *n; i++)
            if ((*sums)[i] == rows) {
                (*coefs)[i] = dag_add((*coefs)[i], coef);
                return true;
            }
        if (*n == *cap) {
            *cap = *cap ? 2 * *cap : 8;
            *sums = xrealloc(*sums, sizeof(Node) * *cap);
            *coefs = xrealloc(*coefs, sizeof(Node) * *cap);
        }
        (*sums)[*n] = rows;
        (*coefs)[(*n)++] = coef;
        return true;
    }
    uint32_t k = dag_nargs(rows);
    Node *a = args_copy(rows);
    bool ok = false;
    if (dag_op(rows) == OP_ADD) {
        ok = true;
        for (uint32_t i = 0; i < k && ok; i++)
            ok = linear_terms(sp, a[i], coef, sums, coefs, n, cap);
    } else if (dag_op(rows) == OP_MUL) {
        uint32_t which = row_factor(sp, a, k);
        ok = which != UINT32_MAX;
        if (ok && which < k) {
            Node inner = a[which];
            a[which] = coef;
            ok = linear_terms(sp, inner, dag_mul_n(a, k), sums, coefs, n, cap);
        } else {
            ok = false;
        }
    }
    free(a);
    return ok;
}

/* A scatter summed over the rows of an inner sum (`inner`, the mean inside a variance), its
 * value rows + w_free * free with rows linear in the outer sums S: written as
 * sum_S S * (sum over the inner rows of its coefficient) + w_free * (sum over them of free),
 * so that its sums over the inner rows are passes of their own, added over the parts of the
 * rows like any sum over all rows, and the scatter itself is over no rows. Over a part, the
 * scatter as it was would multiply this part's S by this part's inner rows (the parts do not
 * add up to the whole), and add this part's inner rows' free terms only in the first part.
 * 0 where rows is not of that shape or S reads an inner row (pairs of rows). */
static Node inner_rows_summed(Split *sp, Node rows, Node rest_free, Node w_free, uint64_t inner)
{
    Node *sums = NULL, *coefs = NULL;
    uint32_t n = 0, cap = 0;
    uint64_t all = sp->rowvars;
    sp->rowvars = sp->R;
    bool ok = linear_terms(sp, rows, DAG_ONE, &sums, &coefs, &n, &cap);
    sp->rowvars = all;
    Node r = 0;
    for (uint32_t i = 0; i < n && ok; i++)
        ok = !(dag_vars(sums[i]) & inner);
    if (ok) {
        Node *terms = xmalloc(sizeof(Node) * (n + 1));
        for (uint32_t i = 0; i <= n; i++) {
            Node x = i < n ? coefs[i] : rest_free;
            for (uint32_t v = 0; v < MAX_VARS; v++)
                if (inner >> v & 1)
                    x = dag_vsum(x, v);
            terms[i] = i < n ? dag_mul(sums[i], x) : dag_mul(w_free, x);
        }
        r = dag_add_n(terms, n + 1);
        free(terms);
    }
    free(sums);
    free(coefs);
    return r;
}

static const char *split_outputs(ArrayModel *a)
{
    Model *m = &a->model;
    if (m->ndata == 0)
        return "no data";
    if (m->nsizes != 1)
        return "data arrays of more than one row count";
    Split sp = {.rowvars = row_vars()};
    ArrayDeriv *ds[2] = {&a->grad, &a->cols};
    uint32_t total = 1 + a->grad.ngrad + a->cols.ngrad;
    Node *rows = xmalloc(sizeof(Node) * total), *frees = xmalloc(sizeof(Node) * total);
    const char *why = NULL;
    if (!split_linear(&sp, m->loss, &rows[0], &frees[0]))
        why = "the loss is not linear in its sums over rows";
    uint32_t k = 1;
    bool *inner = xcalloc(total, 1);
    for (int d = 0; d < 2 && !why; d++)
        for (uint32_t s = 0; s < ds[d]->ngrad && !why; s++, k++) {
            const Scatter *x = &ds[d]->grad[s];
            rows[k] = frees[k] = 0;
            if ((x->over & sp.rowvars) && (x->over & sp.R))
                continue; /* a row's own term: checked below */
            if (x->over & sp.rowvars) {
                /* summed over the rows of an inner sum (the mean inside a variance) with the
                 * outer rows' part summed inside it (adiff_gradient): linear in those sums, its
                 * other factors read as free of them */
                uint64_t all = sp.rowvars;
                sp.rowvars = sp.R;
                inner[k] = split_linear(&sp, x->value, &rows[k], &frees[k]);
                sp.rowvars = all;
                if (!inner[k])
                    why = "a derivative over the rows of an inner sum is not linear in the outer sums";
                continue;
            }
            if (!split_linear(&sp, x->value, &rows[k], &frees[k]))
                why = "a derivative is not linear in the sums over rows";
        }
    sum_over_begin(&sp); /* one stamp for what follows: every query is over sp.R */
    if (!why) {
        for (uint32_t i = 0; i < sp.nbodies && !why; i++)
            if (sum_over(&sp, sp.bodies[i], sp.R))
                why = "a sum over rows inside another";
    }
    k = 1;
    for (int d = 0; d < 2 && !why; d++)
        for (uint32_t s = 0; s < ds[d]->ngrad && !why; s++, k++) {
            const Scatter *x = &ds[d]->grad[s];
            if (!(x->over & sp.rowvars) || inner[k])
                continue;
            uint64_t outer = x->over & sp.R;
            if (outer == 0 || (outer & (outer - 1)))
                why = "a derivative's term is summed over rows that are not one outer sum";
            else if (sum_over(&sp, x->value, sp.R))
                why = "a derivative's term over rows reads a complete sum over rows";
        }
    if (!why && sp.R == 0)
        why = "the loss has no sum over rows";
    if (!why) {
        Node w_free = dag_nrows(NO_SIZE);
        m->loss = dag_add(rows[0], dag_mul(w_free, frees[0]));
        k = 1;
        for (int d = 0; d < 2; d++)
            for (uint32_t s = 0; s < ds[d]->ngrad; s++, k++) {
                Scatter *x = &ds[d]->grad[s];
                uint64_t inner_rows = x->over & sp.rowvars;
                Node summed = inner[k] ? inner_rows_summed(&sp, rows[k], frees[k], w_free, inner_rows) : 0;
                if (summed) {
                    x->value = summed;
                    x->over &= ~inner_rows;
                } else if (inner[k]) { /* right over row ranges, not over parts (see above) */
                    a->no_part = "a derivative over the rows of an inner sum could not be summed over them "
                                 "apart from the outer sums (its parts would not add up)";
                    x->value = dag_add(rows[k], dag_mul(w_free, frees[k]));
                } else if (rows[k] || frees[k]) {
                    x->value = dag_add(rows[k], dag_mul(w_free, frees[k]));
                }
            }
        a->split_vars = sp.R;
    }
    free(inner);
    free(sp.seen);
    free(sp.bodies);
    free(rows);
    free(frees);
    return why;
}

/* ---- products regrouped by loop level ----
 * aemit.c writes a product inline in the loop nest of all its variables, the highest variable
 * innermost (passes over rows and columns outside the rest), and gcc does not reassociate it
 * (that would change the rounding). So a product is regrouped here: its factors by the
 * innermost fixed variable they read, then by the innermost pass; the product of the outer
 * groups becomes a node over fewer variables, which aemit.c computes once outside the inner
 * loops (materialized), and the inner loop does one multiplication. Exact in real arithmetic;
 * in floating point, a different order of the same factors. */
static int innermost(uint64_t vars)
{
    int v = -1;
    for (int k = 0; k < MAX_VARS; k++)
        if (vars >> k & 1)
            v = k;
    return v;
}

static Node pair(Node a, Node b)
{
    Node xs[2] = {a, b};
    return dag_mul_group(xs, 2);
}

static Node regroup_product(Node n, const Node *args, uint64_t passvars)
{
    uint32_t k = dag_nargs(n);
    int *fixed = xmalloc(sizeof(int) * k), *pass = xmalloc(sizeof(int) * k);
    uint32_t *order = xmalloc(sizeof(uint32_t) * k);
    bool same = true;
    for (uint32_t i = 0; i < k; i++) {
        fixed[i] = innermost(dag_vars(args[i]) & ~passvars);
        pass[i] = innermost(dag_vars(args[i]) & passvars);
        same = same && fixed[i] == fixed[0] && pass[i] == pass[0];
        order[i] = i;
    }
    Node r;
    if (same) {
        r = dag_remake(n, args);
    } else {
        for (uint32_t i = 1; i < k; i++) /* stable: by (fixed, pass) */
            for (uint32_t j = i; j > 0; j--) {
                uint32_t a = order[j - 1], b = order[j];
                if (fixed[a] < fixed[b] || (fixed[a] == fixed[b] && pass[a] <= pass[b]))
                    break;
                order[j - 1] = b;
                order[j] = a;
            }
        Node *grp = xmalloc(sizeof(Node) * k);
        Node chain = 0, g = 0;
        for (uint32_t i = 0; i < k;) {
            uint32_t j = i, ng = 0;
            while (j < k && fixed[order[j]] == fixed[order[i]] && pass[order[j]] == pass[order[i]])
                grp[ng++] = args[order[j++]];
            Node part = dag_mul_group(grp, ng);
            bool level_start = i == 0 || fixed[order[i - 1]] != fixed[order[i]];
            if (level_start && g) {
                chain = chain ? pair(chain, g) : g;
                g = 0;
            }
            g = g ? pair(g, part) : part;
            i = j;
        }
        r = chain ? pair(chain, g) : g;
        free(grp);
    }
    free(fixed);
    free(pass);
    free(order);
    return r;
}

/* Rewrites the loss and every scatter's value (one memo: what they share stays shared). */
static void regroup(ArrayModel *a)
{
    uint64_t passvars = a->columns | row_vars();
    ArrayDeriv *ds[3] = {&a->grad, &a->hvp, &a->cols};
    Node top;
    bool *in = cone((const ArrayDeriv *const *)ds, 3, a->model.loss, false, &top);
    Node *to = xcalloc((size_t)top + 1, sizeof(Node));
    Node *args = NULL;
    size_t cap = 0;
    for (Node n = 1; n <= top; n++) {
        if (!in[n])
            continue;
        uint32_t k = dag_nargs(n);
        if (k > cap) {
            cap = 2 * k;
            args = xrealloc(args, sizeof(Node) * cap);
        }
        for (uint32_t i = 0; i < k; i++)
            args[i] = to[dag_args(n)[i]];
        to[n] = dag_op(n) == OP_MUL ? regroup_product(n, args, passvars) : dag_remake(n, args);
    }
    if (a->model.loss)
        a->model.loss = to[a->model.loss];
    for (int d = 0; d < 3; d++)
        for (uint32_t s = 0; s < ds[d]->ngrad; s++)
            ds[d]->grad[s].value = to[ds[d]->grad[s].value];
    free(args);
    free(to);
    free(in);
}

/* ---- --loops=auto: where loops pay ----
 * Unrolled code writes the Hessian entry by entry: its size grows with the nonzeros. Those
 * are many where a parameter-dependent sum that stayed a loop feeds something non-linear
 * (tanh(sum_j W[k][j]*h[j]), (sum_j w[j]*x[i][j] - y[i])^2, exp(prod) * sum): every pair of
 * parameters the sum's value depends on gets an entry. Such a sum couples them. The estimate:
 * C, the parameters that some coupling sum's value depends on (the span of every index map it
 * reads); the unrolled Hessian has at least C(C+1)/2 entries. Loops pay when that is at least
 * AUTO_MIN_ENTRIES (a dense block of about 45 parameters) and C is at least half of all the
 * parameters (the loops' Hessian is all of the lower triangle: then at most 4 times the
 * entries of the unrolled one). A loss whose sums over arrays are all linear (extended
 * Rosenbrock's sum of terms in x[i], x[i+1]) has a banded or sparse Hessian: unrolled. So
 * is a loss with a product of more than KEEP_FACTORS factors that depend on parameters (a
 * `prod`, which does not stay a loop): its derivatives in loops repeat it once per factor,
 * where the unrolled code shares its runs of factors. */
enum { AUTO_MIN_ENTRIES = 1000 };

/* Whether n's value is linear in its operand c: a sum, or a product whose other factors
 * depend on no parameter. */
static bool linear_in(Node n, uint32_t which)
{
    switch (dag_op(n)) {
    case OP_ADD:
    case OP_VSUM:
        return true;
    case OP_MUL:
        for (uint32_t i = 0; i < dag_nargs(n); i++)
            if (i != which && dag_has_param(dag_args(n)[i]))
                return false;
        return true;
    default:
        return false;
    }
}

static void mark_params(Node n, uint8_t *seen, uint8_t *coupled, uint32_t nparam)
{
    if (seen[n] || !dag_has_param(n))
        return;
    seen[n] = 1;
    if (dag_op(n) == OP_PARAM && dag_rec(n)->aux < nparam)
        coupled[dag_rec(n)->aux] = 1;
    if (dag_op(n) == OP_PAT) {
        int64_t first, last;
        dag_map_range(dag_map_get(dag_rec(n)->aux), &first, &last);
        for (int64_t k = first < 0 ? 0 : first; k <= last && k < (int64_t)nparam; k++)
            coupled[k] = 1;
    }
    for (uint32_t i = 0; i < dag_nargs(n); i++)
        mark_params(dag_args(n)[i], seen, coupled, nparam);
}

static void estimate_unrolled(ArrayModel *a)
{
    const Model *m = &a->model;
    uint64_t rowvars = row_vars();
    Node top;
    bool *in = cone(NULL, 0, m->loss, false, &top);
    /* carries[n]: n is a linear combination that contains a parameter-dependent sum over a
     * fixed range; such a value used non-linearly couples what it depends on */
    uint8_t *carries = xcalloc((size_t)top + 1, 1);
    uint8_t *seen = xcalloc((size_t)top + 1, 1), *coupled = xcalloc(m->nparam ? m->nparam : 1, 1);
    bool long_product = false;
    for (Node n = 1; n <= top; n++) {
        if (!in[n] || !dag_has_param(n))
            continue;
        if (dag_op(n) == OP_MUL) {
            uint32_t k = 0;
            for (uint32_t i = 0; i < dag_nargs(n); i++)
                k += dag_has_param(dag_args(n)[i]);
            long_product = long_product || k > KEEP_FACTORS;
        }
        if (dag_op(n) == OP_VSUM && !(rowvars >> dag_rec(n)->aux & 1))
            carries[n] = 1;
        for (uint32_t i = 0; i < dag_nargs(n); i++) {
            Node c = dag_args(n)[i];
            if (!carries[c])
                continue;
            if (linear_in(n, i))
                carries[n] = 1;
            else
                mark_params(c, seen, coupled, m->nparam);
        }
    }
    uint64_t c = 0;
    for (uint32_t k = 0; k < m->nparam; k++)
        c += coupled[k];
    a->coupled = (uint32_t)c;
    a->loops_pay = c * (c + 1) / 2 >= AUTO_MIN_ENTRIES && 2 * c >= m->nparam && !long_product;
    a->long_product = long_product;
    free(in);
    free(carries);
    free(seen);
    free(coupled);
}

/* Whether every read of theta[lo, hi) in the gradient's cone splits into whole rows of
 * `inner` values and a part within a row (matrix_delta). */
static bool matrix_reads_split(const ArrayDeriv *g, uint32_t lo, uint32_t hi, uint32_t inner)
{
    Node top;
    bool *in = cone(&g, 1, 0, false, &top), ok = true;
    ColumnBlock col = {UINT32_MAX, 0, 0, lo, hi, inner};
    for (Node n = top; n > 0 && ok; n--) {
        if (!in[n] || dag_op(n) != OP_PAT)
            continue;
        const IndexMap *m = dag_map_get(dag_rec(n)->aux);
        int64_t first, last;
        dag_map_range(m, &first, &last);
        if (last >= lo && first < hi)
            ok = matrix_split(m, &col);
    }
    free(in);
    return ok;
}

/* The blocks of the Hessian's columns, within a budget of code. A block writes the tangents of
 * everything downstream of its parameters; with the declared arrays as the proxy for depth
 * (a network declares its layers in order), its code is about one unit (1 KB) per array from
 * its first on, and its time one sweep through those arrays per matrix row (a matrix block:
 * the tangent along W[cr][cc] is h[cc] times one along row cr, sum_factored) or per column
 * (any other block). The rest of the file is about 2.4 units per array. One block per array
 * is fastest; past CODE_UNITS in all (C of about 190 KB) or the index variables left, the two
 * neighbours whose merge costs the least time per unit saved are merged (a merged block is
 * not one matrix). MLP 2-8x8-1, 18 arrays: 15 blocks, 170 KB, 1.7 times the hand BLAS Hessian
 * (4.8 times with the 7 blocks of the budget before); 2-8x16-1, 34 arrays: 11 blocks and 4.7
 * times, as within this budget its lower layers are merged blocks (issue 15). Returns the
 * count; start, inner, first hold the blocks. */
enum { CODE_UNITS = 205 };

static double block_time(uint32_t size, uint32_t inner, uint32_t arrays_after)
{
    return (double)(inner >= 2 ? size / inner : size) * arrays_after;
}

static uint32_t merge_blocks(const Model *m, uint32_t *start, uint32_t *inner, uint32_t *first, uint32_t nb,
                             uint32_t room)
{
    uint32_t A = m->narrays;
    for (;;) {
        uint64_t units = 0;
        for (uint32_t k = 0; k < nb; k++)
            units += A - first[k];
        if (nb <= 1 || (units + 12 * (uint64_t)A / 5 <= CODE_UNITS && nb <= room))
            return nb;
        uint32_t best = 1;
        double best_cost = 0;
        for (uint32_t k = 1; k < nb; k++) {
            uint32_t end = k + 1 < nb ? start[k + 1] : m->nparam;
            double before = block_time(start[k] - start[k - 1], inner[k - 1], A - first[k - 1]) +
                            block_time(end - start[k], inner[k], A - first[k]);
            double cost = (block_time(end - start[k - 1], 0, A - first[k - 1]) - before) / (A - first[k]);
            if (k == 1 || cost < best_cost) {
                best = k;
                best_cost = cost;
            }
        }
        inner[best - 1] = 0;
        memmove(start + best, start + best + 1, sizeof(uint32_t) * (nb - best - 1));
        memmove(inner + best, inner + best + 1, sizeof(uint32_t) * (nb - best - 1));
        memmove(first + best, first + best + 1, sizeof(uint32_t) * (nb - best - 1));
        nb--;
    }
}

bool arrays_build(const Program *prog, const char *stem, bool prefix_given, ArrayModel *a)
{
    memset(a, 0, sizeof *a);
    bool const_loops = sema_const_loops;
    sema_array_loops = true;
    sema_const_loops = false;
    diag_mute(true); /* the first lowering said all there is to say */
    sema_run(prog, &a->model, stem, prefix_given);
    diag_mute(false);
    sema_array_loops = false;
    sema_const_loops = const_loops;
    Model *m = &a->model;
    a->why = diag_muted_errors() || !m->loss ? "the second lowering failed"
             : m->no_arrays                  ? m->no_arrays
             : m->nvsums == 0 ? "no sum stays a loop (every range is at most 4 values, or reads no array at its index)"
             /* the loops' pattern is the whole lower triangle, counted by an int (M_hess_nnz) */
             : (uint64_t)m->nparam * (m->nparam + 1) / 2 > INT_MAX
                 ? "the whole lower triangle of the Hessian would have more than 2^31 - 1 entries"
                 : NULL;
    if (a->why) {
        const char *why = a->why;
        model_free(m);
        memset(a, 0, sizeof *a);
        a->why = why;
        return false;
    }
    estimate_unrolled(a);
    adiff_gradient(m, &a->grad);
    adiff_hvp(&a->grad, &a->hvp);
    /* the Hessian's columns: one block per declared parameter array (or run of scalars declared
     * together), looped over like data rows; past the code budget below, neighbouring blocks
     * are merged (merge_blocks) */
    uint32_t nb = 0, *start = xmalloc(sizeof(uint32_t) * (m->narrays + 1));
    uint32_t *inner = xmalloc(sizeof(uint32_t) * (m->narrays + 1)),
             *first = xmalloc(sizeof(uint32_t) * (m->narrays + 1));
    for (uint32_t k = 0; k < m->narrays; k++) {
        const ParamArray *p = &m->arrays[k];
        bool scalar = p->size == 1, prev_scalar = k > 0 && m->arrays[k - 1].size == 1;
        if (!(scalar && prev_scalar)) {
            inner[nb] = p->ndims == 2 ? (uint32_t)p->dims[1] : 0; /* a matrix's row length */
            first[nb] = k;
            start[nb++] = p->base;
        }
    }
    uint32_t room = MAX_VARS > dag_nvars() + 1 ? MAX_VARS - dag_nvars() - 1 : 0;
    if (room == 0) {
        arrays_free(a);
        memset(a, 0, sizeof *a);
        a->why = "more reductions than index variables (64)";
        free(start);
        free(inner);
        free(first);
        return false;
    }
    nb = merge_blocks(m, start, inner, first, nb, room);
    free(first);
    /* a matrix's block of columns is two variables, its row and its column (e_c's Kronecker
     * structure: a sum over either index of a matrix read at it is a single term), when every
     * read of it splits so and there are variables to spare */
    uint32_t spare = room > nb ? room - nb : 0;
    for (uint32_t k = 0; k < nb; k++) {
        uint32_t end = k + 1 < nb ? start[k + 1] : m->nparam;
        bool matrix = inner[k] >= 2 && (end - start[k]) / inner[k] >= 2 && spare > 0 &&
                      matrix_reads_split(&a->grad, start[k], end, inner[k]);
        ColumnBlock col = {UINT32_MAX, UINT32_MAX, UINT32_MAX, start[k], end, matrix ? inner[k] : 0};
        if (matrix) {
            spare--;
            col.vr = dag_new_var("cr", 0, (long)((end - start[k]) / inner[k]), NO_SIZE);
            col.vc = dag_new_var("cc", 0, (long)inner[k], NO_SIZE);
            IndexMap cm = {.array = MAP_THETA,
                           .base = start[k],
                           .nterms = 2,
                           .var = {col.vr, col.vc},
                           .coef = {(int64_t)inner[k], 1}};
            col.map = dag_map(&cm);
        } else {
            col.vc = dag_new_var("c", start[k], end - start[k], NO_SIZE);
            IndexMap cm = {.array = MAP_THETA, .base = 0, .nterms = 1, .var = {col.vc}, .coef = {1}};
            col.map = dag_map(&cm);
        }
        if (col.vc == UINT32_MAX || (matrix && col.vr == UINT32_MAX))
            fatal("internal error: adiff: out of index variables for the Hessian's columns");
        a->columns |= 1ull << col.vc | (matrix ? 1ull << col.vr : 0);
        a->nblocks++;
        a->nmatrices += matrix;
        ArrayDeriv block;
        adiff_columns(&a->grad, &block, &col);
        for (uint32_t s = 0; s < block.ngrad; s++) {
            if (a->cols.ngrad == a->cols.grad_cap) {
                a->cols.grad_cap = a->cols.grad_cap ? 2 * a->cols.grad_cap : 16;
                a->cols.grad = xrealloc(a->cols.grad, sizeof(Scatter) * a->cols.grad_cap);
            }
            a->cols.grad[a->cols.ngrad++] = block.grad[s];
        }
        adiff_free(&block);
    }
    free(start);
    free(inner);
    unchain(&a->grad);
    unchain(&a->hvp);
    unchain(&a->cols);
    a->no_split = split_outputs(a);
    regroup(a);
    return true;
}

void arrays_free(ArrayModel *a)
{
    adiff_free(&a->grad);
    adiff_free(&a->hvp);
    adiff_free(&a->cols);
    model_free(&a->model);
}
