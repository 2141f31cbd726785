/* sched.c: orders the nodes that a function's outputs need into straight-line steps.
 *
 * In: output nodes. Out: a Schedule, one Step per non-leaf node, every step after the steps
 * of its items (a post-order walk, iterative so depth costs no stack). What stays true: a
 * node appears once per schedule, and the same input gives the same order.
 *
 * A step's items are normally the node's operands. For a sum or product with more than two
 * non-constant operands, the scheduler covers the operand list greedily with the longest
 * runs that already exist as nodes (dag_find_longest): a partial derivative of
 * x0*x1*...*x49 then costs two multiplications of shared prefix and suffix products
 * instead of 48. The plan of each node is computed once and kept for every schedule.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

enum { MAX_COVER_SUM = 64 }; /* sums longer than this keep their operands as they are */

typedef struct {
    const Node *items;
    uint32_t n;
    bool done;
} Plan;

static Plan *plans;
static uint32_t plans_cap;
static Node *plan_pool;
static size_t pool_len, pool_cap;
static Node **blocks; /* every pool block, freed by sched_release */
static size_t nblocks;

static const Node *pool_put(const Node *xs, uint32_t n)
{
    if (pool_len + n > pool_cap) {
        /* keep earlier plans valid: start a new block, never move the old ones */
        pool_cap = n > 65536 ? n : 65536;
        plan_pool = xmalloc(sizeof(Node) * pool_cap);
        pool_len = 0;
        blocks = xrealloc(blocks, sizeof(Node *) * (nblocks + 1));
        blocks[nblocks++] = plan_pool;
    }
    Node *p = plan_pool + pool_len;
    memcpy(p, xs, sizeof(Node) * n);
    pool_len += n;
    return p;
}

static bool is_leaf(Node n)
{
    Op op = dag_op(n);
    return op == OP_CONST || op == OP_PI || op == OP_PARAM || op == OP_DIR || op == OP_DATA || op == OP_NROWS;
}

static bool is_reciprocal(Node n)
{
    return dag_op(n) == OP_POW && dag_args(n)[1] == DAG_MINUS_ONE;
}

/* x for a term -x of a sum: -1 times one factor, or times a product that exists alone. */
static Node negated(Node n)
{
    if (dag_op(n) != OP_MUL || dag_args(n)[0] != DAG_MINUS_ONE)
        return 0;
    return dag_nargs(n) == 2 ? dag_args(n)[1] : dag_find(OP_MUL, dag_args(n) + 1, dag_nargs(n) - 1);
}

/* Products of more than KEEP_FACTORS and at most MAX_COVER_PRODUCT factors are covered with the
 * fewest runs (cover_product); the others greedily, longest run first. */
enum { MAX_COVER_PRODUCT = 64 };

/* The fewest items, runs that exist as nodes or single factors, that cover the product
 * r[0..m) (r[0..m) itself excluded when it is the node): a dynamic program over the start of
 * the rest, ties going to the shorter first item, so a suffix run x3*...*x9 stays x3 times
 * x4*...*x9 when a run x3*x4 exists too. items[] gets them, lens[] their lengths; returns
 * the count. */
static uint32_t cover_product(const Node *r, uint32_t m, bool whole_is_node, Node *items, uint32_t *lens)
{
    uint32_t *best = xmalloc(sizeof(uint32_t) * (m + 1)), *step = xmalloc(sizeof(uint32_t) * (m + 1));
    Node *found = xmalloc(sizeof(Node) * (m + 1));
    best[m] = 0;
    for (uint32_t s = m; s-- > 0;) {
        size_t maxlen = m - s - (s == 0 && whole_is_node);
        dag_find_runs(OP_MUL, r + s, maxlen, found);
        best[s] = 1 + best[s + 1];
        step[s] = 1;
        for (uint32_t l = 2; l <= maxlen; l++)
            if (found[l] && 1 + best[s + l] < best[s]) {
                best[s] = 1 + best[s + l];
                step[s] = l;
            }
    }
    uint32_t n = 0;
    for (uint32_t s = 0; s < m; s += step[s]) {
        items[n] = step[s] == 1 ? r[s] : dag_find(OP_MUL, r + s, step[s]);
        lens[n++] = step[s];
    }
    free(best);
    free(step);
    free(found);
    return n;
}

/* The cover of r[0..m) by the longest run that exists at each place, left to right (r[0..m)
 * itself excluded when it is the node); items[] and lens[] as cover_product's. */
static uint32_t cover_greedy(Op op, const Node *r, uint32_t m, bool whole_is_node, Node *items, uint32_t *lens)
{
    uint32_t n = 0;
    for (uint32_t s = 0; s < m;) {
        size_t maxlen = m - s - (s == 0 && whole_is_node), len = 0;
        Node run = dag_find_longest(op, r + s, maxlen, &len);
        items[n] = run ? run : r[s];
        lens[n] = run ? (uint32_t)len : 1;
        s += lens[n++];
    }
    return n;
}

/* The cover a plan uses: the fewest runs for a product of KEEP_FACTORS + 1 to
 * MAX_COVER_PRODUCT factors, else the greedy one. */
static uint32_t cover_of(Op op, const Node *r, uint32_t m, bool whole_is_node, Node *items, uint32_t *lens)
{
    if (op == OP_MUL && m > KEEP_FACTORS && m <= MAX_COVER_PRODUCT)
        return cover_product(r, m, whole_is_node, items, lens);
    return cover_greedy(op, r, m, whole_is_node, items, lens);
}

/* A product with two factors left out, a second partial of x0*x1*...*x49 (the Hessian of
 * exp(prod x)), is a prefix run, the factors between the two, and a suffix run. The factors
 * between have no run of their own, and the cover would multiply them one by one: O(k) per
 * entry, O(k^3) for the Hessian. So where a long product's cover has an item followed by
 * single factors, the item is extended one factor at a time into runs (x1*x2, x1*x2*x3,
 * ...): the entries whose gaps start at one factor then share one chain, and each costs a
 * multiplication or two (O(k^2) for the Hessian). Products of at most KEEP_FACTORS factors
 * are written as they are. */
static void chain_gaps(Node mul)
{
    uint32_t k = dag_nargs(mul), first = dag_is_const(dag_args(mul)[0]), m = k - first;
    if (m <= KEEP_FACTORS)
        return;
    Node *a = xmalloc(sizeof(Node) * k), *items = xmalloc(sizeof(Node) * m);
    uint32_t *lens = xmalloc(sizeof(uint32_t) * m);
    memcpy(a, dag_args(mul), sizeof(Node) * k); /* making nodes may move the operand array */
    uint32_t n = cover_of(OP_MUL, a + first, m, first == 0, items, lens);
    for (uint32_t i = 0, s = first; i < n;) {
        uint32_t j = i + 1, e = s + lens[i];
        while (j < n && lens[j] == 1)
            e += lens[j++];
        for (uint32_t to = s + lens[i] + 1; to <= e && !(first == 0 && to - s == k); to++)
            dag_mul_run(mul, s, to);
        s = e;
        i = j;
    }
    free(a);
    free(items);
    free(lens);
}

void sched_prepare(const Node *outputs, size_t n)
{
    Node top = 0;
    for (size_t i = 0; i < n; i++)
        if (outputs[i] > top)
            top = outputs[i];
    bool *in = xcalloc((size_t)top + 1, 1);
    for (size_t i = 0; i < n; i++)
        in[outputs[i]] = true;
    for (Node m = top; m > 0; m--) {
        if (!in[m])
            continue;
        for (uint32_t i = 0; i < dag_nargs(m); i++)
            in[dag_args(m)[i]] = true;
        if (dag_op(m) == OP_MUL && dag_is_const(dag_args(m)[0]) && dag_nargs(m) > 2)
            dag_mul_run(m, 1, dag_nargs(m));
        if (dag_op(m) == OP_MUL)
            chain_gaps(m);
    }
    free(in);
}

static const Plan *plan_of(Node n)
{
    if (n >= plans_cap) {
        uint32_t cap = plans_cap ? plans_cap : 4096;
        while (cap <= n)
            cap *= 2;
        plans = xrealloc(plans, sizeof(Plan) * cap);
        memset(plans + plans_cap, 0, sizeof(Plan) * (cap - plans_cap));
        plans_cap = cap;
    }
    Plan *p = &plans[n];
    if (p->done)
        return p;
    p->done = true;
    Op op = dag_op(n);
    const Node *a = dag_args(n);
    uint32_t k = dag_nargs(n);
    bool has_const = k && dag_is_const(a[0]);
    uint32_t m = k - has_const;
    bool has_div = false;
    for (uint32_t i = 0; i < k; i++)
        has_div |= op == OP_MUL ? is_reciprocal(a[i]) : op == OP_ADD && negated(a[i]) != 0;
    bool cover = (op == OP_ADD && m > 2 && m <= MAX_COVER_SUM) || (op == OP_MUL && (m > 2 || (has_const && m == 2)));
    if (!cover && !has_div) {
        p->items = a;
        p->n = k;
        return p;
    }
    Node *items = xmalloc(sizeof(Node) * k);
    uint32_t ni = 0;
    if (!cover) {
        memcpy(items, a, sizeof(Node) * k);
        ni = k;
    } else {
        if (has_const)
            items[ni++] = a[0];
        const Node *r = a + has_const;
        uint32_t *lens = xmalloc(sizeof(uint32_t) * m);
        ni += cover_of(op, r, m, !has_const, items + ni, lens);
        free(lens);
    }
    /* a factor x^-1 becomes a division by x and a term -x a subtraction of x: one
     * operation instead of two */
    for (uint32_t i = 0; i < ni && has_div; i++) {
        if (op == OP_MUL && is_reciprocal(items[i]))
            items[i] = dag_args(items[i])[0] | SCHED_INV;
        else if (op == OP_ADD && negated(items[i]))
            items[i] = negated(items[i]) | SCHED_INV;
    }
    p->items = pool_put(items, ni);
    p->n = ni;
    free(items);
    return p;
}

static void push_step(Schedule *s, Node n, const Plan *p)
{
    if (s->nsteps == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->steps = xrealloc(s->steps, sizeof(Step) * s->cap);
    }
    s->steps[s->nsteps++] = (Step){n, p->n, p->items, NULL};
}

/* A node being walked (post-order, iteratively) and the next of its items to visit. */
typedef struct {
    Node node;
    uint32_t next;
} Frame;

static void push_frame(Frame **stack, size_t *depth, size_t *cap, Node n)
{
    if (*depth == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *stack = xrealloc(*stack, sizeof(Frame) * *cap);
    }
    (*stack)[(*depth)++] = (Frame){n, 0};
}

void sched_build(Schedule *s, const Node *outputs, size_t n, const Schedule *after)
{
    memset(s, 0, sizeof *s);
    /* state[]: 0 new, 1 on the stack, 2 scheduled (here or in `after`); planning creates no
     * node (dag_find_longest only looks), so the size taken now is final */
    uint32_t limit = dag_node_count();
    uint8_t *state = xcalloc(limit, 1);
    for (uint32_t i = 0; after && i < after->nsteps; i++)
        state[after->steps[i].node] = 2;
    Frame *stack = NULL;
    size_t depth = 0, cap = 0;
    for (size_t o = 0; o < n; o++) {
        Node root = outputs[o];
        if (!root || is_leaf(root) || state[root])
            continue;
        push_frame(&stack, &depth, &cap, root);
        state[root] = 1;
        while (depth) {
            Frame *f = &stack[depth - 1];
            const Plan *p = plan_of(f->node);
            if (f->next < p->n) {
                Node c = p->items[f->next++] & ~SCHED_INV;
                if (is_leaf(c) || state[c])
                    continue;
                push_frame(&stack, &depth, &cap, c);
                state[c] = 1;
            } else {
                push_step(s, f->node, p);
                state[f->node] = 2;
                depth--;
            }
        }
    }
    free(stack);
    free(state);
}

/* ---- schedules with loops over data rows ---- */

typedef struct {
    Node *v;
    uint32_t n, cap;
} NodeList;

static void list_push(NodeList *l, Node x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->v = xrealloc(l->v, sizeof(Node) * l->cap);
    }
    l->v[l->n++] = x;
}

/* Per row reduction: the nodes of its body that depend on no value of its row (the loop's
 * invariants, computed before it), found once. */
static struct {
    NodeList *inv;
    bool *known;
    uint32_t limit;
} R;

static const NodeList *invariants(Node sum)
{
    if (R.known[sum])
        return &R.inv[sum];
    R.known[sum] = true;
    NodeList *out = &R.inv[sum];
    unsigned level = dag_row_level(sum);
    uint8_t *seen = xcalloc(R.limit, 1);
    NodeList stack = {0};
    list_push(&stack, dag_args(sum)[0]);
    while (stack.n) {
        Node x = stack.v[--stack.n];
        if (seen[x] || is_leaf(x))
            continue;
        seen[x] = 1;
        if ((dag_rows(x) >> level) == 0) { /* reads no row of this loop or of one inside it */
            list_push(out, x);
            continue;
        }
        /* what the emitted step reads: its plan's items (a - b reads b, not -b) */
        if (dag_op(x) == OP_ROWSUM) {
            list_push(&stack, dag_args(x)[0]);
        } else {
            const Plan *p = plan_of(x);
            for (uint32_t i = 0; i < p->n; i++)
                list_push(&stack, p->items[i] & ~SCHED_INV);
        }
    }
    free(stack.v);
    free(seen);
    return out;
}

/* What a node waits for: a row reduction for its invariants, another node for its plan. */
static void items_of(Node x, const Node **items, uint32_t *n)
{
    if (dag_op(x) == OP_ROWSUM) {
        const NodeList *l = invariants(x);
        *items = l->v;
        *n = l->n;
    } else {
        const Plan *p = plan_of(x);
        *items = p->items;
        *n = p->n;
    }
}

typedef struct {
    uint32_t pos, k;
} SumPos;

static int cmp_sumpos(const void *a, const void *b)
{
    const SumPos *x = a, *y = b;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return (x->k > y->k) - (x->k < y->k);
}

/* Orders a loop's sums as their bodies are computed in its body (a leaf's first), so that the
 * accumulators are written in order: neighbouring statements then touch neighbouring
 * accumulators, which the C compiler can pair into vector operations. */
static void order_sums(Loop *loop)
{
    uint32_t *pos = xcalloc(R.limit, sizeof(uint32_t)); /* node -> 1 + its step */
    for (uint32_t i = 0; i < loop->body.nsteps; i++) {
        const Step *st = &loop->body.steps[i];
        if (st->loop)
            for (uint32_t j = 0; j < st->loop->nsums; j++)
                pos[st->loop->sums[j]] = i + 1;
        else
            pos[st->node] = i + 1;
    }
    SumPos *sp = xmalloc(sizeof(SumPos) * (loop->nsums ? loop->nsums : 1));
    for (uint32_t k = 0; k < loop->nsums; k++)
        sp[k] = (SumPos){pos[dag_args(loop->sums[k])[0]], k};
    qsort(sp, loop->nsums, sizeof(SumPos), cmp_sumpos);
    Node *sorted = xmalloc(sizeof(Node) * (loop->nsums ? loop->nsums : 1));
    for (uint32_t k = 0; k < loop->nsums; k++)
        sorted[k] = loop->sums[sp[k].k];
    memcpy(loop->sums, sorted, sizeof(Node) * loop->nsums);
    free(sorted);
    free(sp);
    free(pos);
}

/* Whether x belongs to an enclosing region of the body of a loop at `level` (-1: the whole
 * function, which has none): it reads no row of that loop or of a loop nested in it. */
static bool outside(Node x, int level)
{
    return level >= 0 && (dag_rows(x) >> level) == 0;
}

/* The steps of one region: the whole function (level -1) or the body of one row at `level`,
 * whose invariants an enclosing region computes. Stage of a node: how many loops must run,
 * one after another, before it can be computed; the loops of one stage, one size and one
 * level are fused into one. */
static void region(Schedule *s, const Node *outputs, size_t n, int level)
{
    memset(s, 0, sizeof *s);
    uint8_t *state = xcalloc(R.limit, 1);
    uint32_t *stage = xcalloc(R.limit, sizeof(uint32_t));
    NodeList order = {0};
    Frame *stack = NULL;
    size_t depth = 0, cap = 0;
    uint32_t top_stage = 0;
    for (size_t o = 0; o < n; o++) {
        Node root = outputs[o];
        if (!root || is_leaf(root) || state[root] || outside(root, level))
            continue;
        push_frame(&stack, &depth, &cap, root);
        state[root] = 1;
        while (depth) {
            Frame *f = &stack[depth - 1];
            const Node *items;
            uint32_t ni;
            items_of(f->node, &items, &ni);
            if (f->next < ni) {
                Node c = items[f->next++] & ~SCHED_INV;
                if (is_leaf(c) || state[c] || outside(c, level))
                    continue;
                push_frame(&stack, &depth, &cap, c);
                state[c] = 1;
                continue;
            }
            uint32_t st = 0;
            for (uint32_t i = 0; i < ni; i++) {
                Node c = items[i] & ~SCHED_INV;
                if (c < R.limit && state[c] == 2 && stage[c] > st)
                    st = stage[c];
            }
            if (dag_op(f->node) == OP_ROWSUM)
                st++;
            stage[f->node] = st;
            if (st > top_stage)
                top_stage = st;
            state[f->node] = 2;
            list_push(&order, f->node);
            depth--;
        }
    }
    free(stack);
    bool *grouped = xcalloc(order.n ? order.n : 1, 1);
    for (uint32_t st = 0; st <= top_stage; st++) {
        for (uint32_t i = 0; i < order.n; i++) {
            Node x = order.v[i];
            if (stage[x] != st || dag_op(x) != OP_ROWSUM || grouped[i])
                continue;
            Loop *loop = xcalloc(1, sizeof(Loop));
            loop->level = dag_row_level(x);
            loop->size = dag_row_size(x);
            NodeList sums = {0}, bodies = {0};
            for (uint32_t j = i; j < order.n; j++) {
                Node y = order.v[j];
                if (!grouped[j] && stage[y] == st && dag_op(y) == OP_ROWSUM && dag_row_level(y) == loop->level &&
                    dag_row_size(y) == loop->size) {
                    grouped[j] = true;
                    list_push(&sums, y);
                    list_push(&bodies, dag_args(y)[0]);
                }
            }
            loop->sums = sums.v;
            loop->nsums = sums.n;
            region(&loop->body, bodies.v, bodies.n, (int)loop->level);
            free(bodies.v);
            order_sums(loop);
            if (s->nsteps == s->cap) {
                s->cap = s->cap ? 2 * s->cap : 256;
                s->steps = xrealloc(s->steps, sizeof(Step) * s->cap);
            }
            s->steps[s->nsteps++] = (Step){0, 0, NULL, loop};
        }
        for (uint32_t i = 0; i < order.n; i++) {
            Node x = order.v[i];
            if (stage[x] == st && dag_op(x) != OP_ROWSUM)
                push_step(s, x, plan_of(x));
        }
    }
    free(grouped);
    free(order.v);
    free(state);
    free(stage);
}

void sched_build_rows(Schedule *s, const Node *outputs, size_t n)
{
    R.limit = dag_node_count();
    R.inv = xcalloc(R.limit, sizeof(NodeList));
    R.known = xcalloc(R.limit, 1);
    region(s, outputs, n, -1);
    for (uint32_t i = 0; i < R.limit; i++)
        free(R.inv[i].v);
    free(R.inv);
    free(R.known);
    memset(&R, 0, sizeof R);
}

void sched_free(Schedule *s)
{
    for (uint32_t i = 0; i < s->nsteps; i++)
        if (s->steps[i].loop) {
            sched_free(&s->steps[i].loop->body);
            free(s->steps[i].loop->sums);
            free(s->steps[i].loop);
        }
    free(s->steps);
    memset(s, 0, sizeof *s);
}

void sched_ops_used(const Schedule *s, bool used[OP__COUNT])
{
    for (uint32_t i = 0; i < s->nsteps; i++) {
        if (s->steps[i].loop)
            sched_ops_used(&s->steps[i].loop->body, used);
        else
            used[dag_op(s->steps[i].node)] = true;
    }
}

/* ---- the scheduling phase: every schedule of the generated functions ---- */

/* loss, gradient and Hessian entries in one list: the outputs the schedules share */
static Node *all_outputs(const Model *m, const Deriv *d)
{
    Node *outs = xmalloc(sizeof(Node) * ((size_t)d->n + d->nnz + 1));
    outs[0] = m->loss;
    memcpy(outs + 1, d->grad, sizeof(Node) * d->n);
    memcpy(outs + 1 + d->n, d->hess, sizeof(Node) * d->nnz);
    return outs;
}

void sched_share(const Model *m, const Deriv *d)
{
    Node *outs = all_outputs(m, d);
    sched_prepare(outs, (size_t)d->n + 1 + d->nnz);
    if (d->hvp)
        sched_prepare(d->hvp, d->n);
    if (d->row_range)
        sched_prepare(d->row_range, (size_t)d->n + 1 + d->nnz);
    free(outs);
}

void sched_model(const Model *m, const Deriv *d, ModelSchedules *s)
{
    uint32_t N = d->n;
    memset(s, 0, sizeof *s);
    Node *outs = all_outputs(m, d);
    s->loops = m->nsizes + m->nfixed > 0;
    if (!s->loops) {
        sched_build(&s->loss, outs, 1, NULL);
        sched_build(&s->grad, outs, (size_t)N + 1, NULL);
        /* the Hessian functions: loss and Hessian, then what the gradient adds */
        memmove(outs + 1, outs + 1 + N, sizeof(Node) * d->nnz);
        sched_build(&s->hess, outs, (size_t)1 + d->nnz, NULL);
        sched_build(&s->hess_grad, d->grad, N, &s->hess);
        sched_build(&s->hval, d->hess, d->nnz, NULL);
        sched_build(&s->hvp, d->hvp, N, NULL);
    } else {
        /* over data, one pass over the rows computes the gradient with the Hessian */
        sched_build_rows(&s->loss, outs, 1);
        sched_build_rows(&s->grad, outs, (size_t)N + 1);
        sched_build_rows(&s->hess, outs, (size_t)N + 1 + d->nnz);
        sched_build_rows(&s->hval, d->hess, d->nnz);
        sched_build_rows(&s->hvp, d->hvp, N);
        if (d->row_range)
            sched_build_rows(&s->rows, d->row_range, (size_t)N + 1 + d->nnz);
    }
    free(outs);
}

void sched_model_free(ModelSchedules *s)
{
    sched_free(&s->loss);
    sched_free(&s->grad);
    sched_free(&s->hess);
    sched_free(&s->hess_grad);
    sched_free(&s->hval);
    sched_free(&s->hvp);
    sched_free(&s->rows);
}

/* An operand as --dump=sched shows it: a leaf by what it is, anything else by its node. */
static void dump_item(FILE *out, Node x)
{
    switch (dag_op(x)) {
    case OP_CONST:
        mpq_out_str(out, 10, dag_rat(x));
        break;
    case OP_PARAM:
        fprintf(out, "theta[%u]", dag_rec(x)->aux);
        break;
    case OP_DIR:
        fprintf(out, "v[%u]", dag_rec(x)->aux);
        break;
    case OP_DATA:
        fprintf(out, "data[array %u, offset %u, level %u]", dag_data_array(x), dag_data_offset(x), dag_data_level(x));
        break;
    case OP_NROWS:
        fprintf(out, "rows[%u]", dag_row_size(x));
        break;
    default:
        fprintf(out, "n%u", x);
    }
}

static void dump_schedule(FILE *out, const Schedule *s, int depth)
{
    for (uint32_t i = 0; i < s->nsteps; i++) {
        const Step *st = &s->steps[i];
        fprintf(out, "%*s", 2 * depth + 2, "");
        if (st->loop) {
            const Loop *l = st->loop;
            fprintf(out, "loop level %u over size %u, accumulating", l->level, l->size);
            for (uint32_t k = 0; k < l->nsums; k++)
                fprintf(out, " n%u", l->sums[k]);
            fputs(":\n", out);
            dump_schedule(out, &l->body, depth + 1);
            continue;
        }
        Op op = dag_op(st->node);
        fprintf(out, "n%u = %s(", st->node, dag_op_name(op));
        for (uint32_t k = 0; k < st->nitems; k++) {
            Node x = st->items[k];
            /* an inverse item: 1/x in a product, -x in a sum */
            fprintf(out, "%s%s", k ? ", " : "", !(x & SCHED_INV) ? "" : op == OP_MUL ? "1/" : "-");
            dump_item(out, x & ~SCHED_INV);
        }
        fputs(")\n", out);
    }
}

void sched_dump(FILE *out, const ModelSchedules *s, const Deriv *d)
{
    static const char *const names[] = {"loss", "grad", "hess", "hess_grad", "hess_values", "hvp", "hess_row_range"};
    const Schedule *all[] = {&s->loss, &s->grad, &s->hess, &s->hess_grad, &s->hval, &s->hvp, &s->rows};
    for (int k = 0; k < 7; k++) {
        if (k == 3 && s->loops)
            continue; /* over rows, hess computes the gradient too */
        if (k == 6 && !d->row_range)
            continue;
        fprintf(out, "schedule %s: %u step%s\n", names[k], all[k]->nsteps, all[k]->nsteps == 1 ? "" : "s");
        dump_schedule(out, all[k], 0);
    }
}

void sched_release(void)
{
    for (size_t i = 0; i < nblocks; i++)
        free(blocks[i]);
    free(blocks);
    free(plans);
    blocks = NULL;
    plans = NULL;
    plan_pool = NULL;
    nblocks = pool_len = pool_cap = 0;
    plans_cap = 0;
}
