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
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

enum { MAX_COLUMN_BLOCKS = 4 };

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
#define CONTRIBUTE(c, v)                                                  \
    do {                                                                  \
        if (dag_op(c) == OP_PARAM)                                        \
            scatter_add(d, UINT32_MAX, dag_rec(c)->aux, (v));             \
        else if (dag_op(c) == OP_PAT)                                     \
            scatter_add(d, dag_rec(c)->aux, 0, (v));                      \
        else                                                              \
            PUSH(c, (v));                                                 \
    } while (0)

static void propagate(ArrayDeriv *d, Node n, Node adj, Contribs *cs, uint64_t rowvars);

void adiff_gradient(const Model *m, ArrayDeriv *d)
{
    memset(d, 0, sizeof *d);
    Node root = m->loss;
    if (!dag_has_param(root))
        return;
    uint64_t rowvars = 0;
    for (uint32_t v = 0; v < dag_nvars(); v++)
        if (dag_var(v)->size != NO_SIZE)
            rowvars |= 1ull << v;
    Contribs all, *cs = &all;
    contribs_init(cs, root);
    Node *group = NULL;
    size_t group_cap = 0;
    PUSH(root, dag.one);
    for (Node n = root; n > 0; n--) {
        if (!cs->head[n])
            continue;
        size_t cnt = contribs_gather(cs, n);
        Node *list = cs->list;
        if (cnt > group_cap) {
            group_cap = cs->list_cap;
            group = xrealloc(group, sizeof(Node) * group_cap);
        }
        dag_blame = dag_span(n);
        /* one adjoint per set of extra row variables: summed only at the scatters, inside the
         * passes over those rows (summing them here would loop over rows inside a loop over rows) */
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
    dag_blame = (Span){0, 0};
}

/* The adjoint adj of node n, pushed on to its operands. */
static void propagate(ArrayDeriv *d, Node n, Node adj, Contribs *cs, uint64_t rowvars)
{
    {
        if (adj == dag.zero)
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

/* The tangent of every node in the cone of the scatters, in node order: along v, or along e_c
 * for the column variable c (column_var, else UINT32_MAX). */
/* The smallest and largest index a map takes over its variables' ranges. */
static void map_range(const IndexMap *map, int64_t *first, int64_t *last)
{
    *first = *last = map->base;
    for (uint32_t t = 0; t < map->nterms; t++) {
        const IndexVar *x = dag_var(map->var[t]);
        int64_t a = map->coef[t] * x->lo, b = map->coef[t] * (x->lo + x->count - 1);
        *first += a < b ? a : b;
        *last += a < b ? b : a;
    }
}

static void tangents(const ArrayDeriv *g, ArrayDeriv *h, uint32_t column_var)
{
    int64_t lo = 0, hi = 0;
    if (column_var != UINT32_MAX) {
        lo = dag_var(column_var)->lo;
        hi = lo + dag_var(column_var)->count;
    }
    memset(h, 0, sizeof *h);
    Node top = 0;
    for (uint32_t s = 0; s < g->ngrad; s++)
        if (g->grad[s].value > top)
            top = g->grad[s].value;
    bool *in = xcalloc((size_t)top + 1, 1);
    for (uint32_t s = 0; s < g->ngrad; s++)
        in[g->grad[s].value] = true;
    for (Node n = top; n > 0; n--)
        if (in[n])
            for (uint32_t i = 0; i < dag_nargs(n); i++)
                if (dag_has_param(dag_args(n)[i]))
                    in[dag_args(n)[i]] = true;
    Node *tan = xcalloc((size_t)top + 1, sizeof(Node));
    Node *terms = NULL;
    size_t terms_cap = 0;
    for (Node n = 1; n <= top; n++) {
        if (!in[n])
            continue;
        if (!dag_has_param(n)) {
            tan[n] = dag.zero;
            continue;
        }
        dag_blame = dag_span(n);
        switch (dag_op(n)) {
        case OP_PARAM:
            if (column_var == UINT32_MAX) {
                tan[n] = dag_dir(dag_rec(n)->aux);
            } else if (dag_rec(n)->aux >= lo && dag_rec(n)->aux < hi) {
                IndexMap unit = {.array = column_var, .base = dag_rec(n)->aux};
                tan[n] = dag_at(OP_UNIT, dag_map(&unit));
            } else {
                tan[n] = dag.zero; /* outside the block of columns */
            }
            continue;
        case OP_PAT:
            if (column_var == UINT32_MAX) {
                tan[n] = dag_at(OP_VAT, dag_rec(n)->aux);
            } else {
                IndexMap unit = *dag_map_get(dag_rec(n)->aux);
                int64_t first, last;
                map_range(&unit, &first, &last);
                unit.array = column_var;
                tan[n] = last < lo || first >= hi ? dag.zero : dag_at(OP_UNIT, dag_map(&unit));
            }
            continue;
        case OP_VSUM:
            tan[n] = dag_vsum(tan[dag_args(n)[0]], dag_rec(n)->aux);
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
            if (dag_has_param(c) && tan[c] != dag.zero)
                terms[nt++] = dag_mul(diff_partial(n, i), tan[c]);
        }
        tan[n] = nt == 0 ? dag.zero : nt == 1 ? terms[0] : dag_add_n(terms, nt);
    }
    for (uint32_t s = 0; s < g->ngrad; s++) {
        Node t = tan[g->grad[s].value];
        if (t == dag.zero)
            continue;
        if (h->ngrad == h->grad_cap) {
            h->grad_cap = h->grad_cap ? 2 * h->grad_cap : 16;
            h->grad = xrealloc(h->grad, sizeof(Scatter) * h->grad_cap);
        }
        uint64_t over = g->grad[s].over | (column_var == UINT32_MAX ? 0 : 1ull << column_var);
        h->grad[h->ngrad++] = (Scatter){g->grad[s].map, g->grad[s].coord, t, column_var, over};
    }
    free(terms);
    free(tan);
    free(in);
    dag_blame = (Span){0, 0};
}

void adiff_hvp(const ArrayDeriv *g, ArrayDeriv *h)
{
    tangents(g, h, UINT32_MAX);
}

void adiff_columns(const ArrayDeriv *g, ArrayDeriv *h, uint32_t column_var)
{
    tangents(g, h, column_var);
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
             : m->nvsums == 0                ? "no sum stays a loop (every range is at most 4 values, or reads no array at its index)"
                                             : NULL;
    /* the Hessian's columns: one variable per block of parameters (a declared array, or a run
     * of scalars declared together), looped over like data rows; past the limit below, the
     * smallest neighbouring blocks are merged */
    uint32_t nb = 0, *start = xmalloc(sizeof(uint32_t) * (m->nblocks + 1));
    for (uint32_t k = 0; k < m->nblocks; k++) {
        uint32_t end = k + 1 < m->nblocks ? m->blocks[k + 1] : m->nparam;
        bool scalar = end - m->blocks[k] == 1, prev_scalar = k > 0 && m->blocks[k] - m->blocks[k - 1] == 1;
        if (!(scalar && prev_scalar))
            start[nb++] = m->blocks[k];
    }
    /* each block writes the tangents of everything downstream of its parameters: more blocks
     * skip more zero tangents, but the code grows with blocks x depth, so at most
     * MAX_COLUMN_BLOCKS (the code stays linear in a network's depth) */
    uint32_t room = MAX_VARS > dag_nvars() + 1 ? MAX_VARS - dag_nvars() - 1 : 0;
    if (room > MAX_COLUMN_BLOCKS)
        room = MAX_COLUMN_BLOCKS;
    while (nb > room && nb > 1) { /* merge the smallest neighbours */
        uint32_t best = 1;
        for (uint32_t k = 1; k < nb; k++) {
            uint32_t end = k + 1 < nb ? start[k + 1] : m->nparam, best_end = best + 1 < nb ? start[best + 1] : m->nparam;
            if (end - start[k - 1] < best_end - start[best - 1])
                best = k;
        }
        memmove(start + best, start + best + 1, sizeof(uint32_t) * (nb - best - 1));
        nb--;
    }
    for (uint32_t k = 0; k < nb && !a->why; k++) {
        uint32_t end = k + 1 < nb ? start[k + 1] : m->nparam;
        uint32_t v = dag_new_var("c", start[k], end - start[k], NO_SIZE);
        if (v == UINT32_MAX)
            a->why = "more reductions than index variables (64)";
        else
            a->columns |= 1ull << v;
    }
    free(start);
    if (a->why) {
        const char *why = a->why;
        model_free(m);
        memset(a, 0, sizeof *a);
        a->why = why;
        return false;
    }
    adiff_gradient(m, &a->grad);
    adiff_hvp(&a->grad, &a->hvp);
    for (uint32_t v = 0; v < MAX_VARS; v++)
        if (a->columns >> v & 1) {
            ArrayDeriv block;
            adiff_columns(&a->grad, &block, v);
            for (uint32_t s = 0; s < block.ngrad; s++) {
                if (a->cols.ngrad == a->cols.grad_cap) {
                    a->cols.grad_cap = a->cols.grad_cap ? 2 * a->cols.grad_cap : 16;
                    a->cols.grad = xrealloc(a->cols.grad, sizeof(Scatter) * a->cols.grad_cap);
                }
                a->cols.grad[a->cols.ngrad++] = block.grad[s];
            }
            adiff_free(&block);
        }
    return true;
}

void arrays_free(ArrayModel *a)
{
    adiff_free(&a->grad);
    adiff_free(&a->hvp);
    adiff_free(&a->cols);
    model_free(&a->model);
}
