/* reroll.c: families of expressions that are one expression shifted along theta.
 *
 * In: output nodes (gradient entries, Hessian entries, terms of a long sum) with integer
 * keys (where each is stored). Out: families: members whose graphs are the same but for every
 * coordinate index moved by k * shift, and whose keys move by a constant step too, so that the
 * emitter writes one loop over k instead of one copy per member. Extended Rosenbrock with
 * 100000 parameters is five such loops instead of 7 million lines of C.
 *
 * A shape hash, computed once per node in creation (topological) order, describes a node with
 * its coordinate indices taken relative to its smallest one (its anchor). Equal hashes only
 * propose a family: every member is then compared node by node with the first one, so a hash
 * collision costs a shorter family, never wrong code.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

enum { NO_ANCHOR = -1 };

static struct {
    uint64_t *hash;
    int32_t *anchor; /* smallest PARAM or DIR index in the node, or NO_ANCHOR */
    uint32_t limit;
    Node *map; /* verification: the member's node matched to each of the first's */
    uint32_t *stamp, cur;
} H;

static uint64_t mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h *= 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
}

void reroll_init(void)
{
    H.limit = dag_node_count();
    H.hash = xmalloc(sizeof(uint64_t) * H.limit);
    H.anchor = xmalloc(sizeof(int32_t) * H.limit);
    H.map = xcalloc(H.limit, sizeof(Node));
    H.stamp = xcalloc(H.limit, sizeof(uint32_t));
    H.cur = 0;
    H.hash[0] = 0;
    H.anchor[0] = NO_ANCHOR;
    for (Node n = 1; n < H.limit; n++) {
        Op op = dag_op(n);
        uint64_t h = mix(0x51ED270B27B5A1C3ull, op);
        int32_t a = NO_ANCHOR;
        if (op == OP_PARAM || op == OP_DIR) {
            a = (int32_t)dag_rec(n)->aux;
        } else if (op == OP_CONST || op == OP_PI || op == OP_DATA || op == OP_NROWS || op == OP_ROW) {
            h = mix(h, n); /* hash-consed: the node is its value */
        } else {
            const Node *c = dag_args(n);
            for (uint32_t i = 0; i < dag_nargs(n); i++)
                if (H.anchor[c[i]] != NO_ANCHOR && (a == NO_ANCHOR || H.anchor[c[i]] < a))
                    a = H.anchor[c[i]];
            h = mix(h, dag_nargs(n));
            if (op == OP_ROWSUM)
                h = mix(h, dag_rec(n)->aux);
            for (uint32_t i = 0; i < dag_nargs(n); i++) {
                h = mix(h, H.hash[c[i]]);
                h = mix(h, H.anchor[c[i]] == NO_ANCHOR ? 0xFFFFFFFFull : (uint64_t)(H.anchor[c[i]] - a));
            }
        }
        H.hash[n] = h;
        H.anchor[n] = a;
    }
}

void reroll_release(void)
{
    free(H.hash);
    free(H.anchor);
    free(H.map);
    free(H.stamp);
    memset(&H, 0, sizeof H);
}

/* Whether b is a with every coordinate index moved by shift, node by node. */
static bool same_shifted(Node a, Node b, int64_t shift)
{
    if (++H.cur == 0) {
        memset(H.stamp, 0, sizeof(uint32_t) * H.limit);
        H.cur = 1;
    }
    size_t cap = 256, depth = 0;
    Node *stack = xmalloc(sizeof(Node) * 2 * cap);
    stack[depth * 2] = a;
    stack[depth * 2 + 1] = b;
    depth++;
    bool ok = true;
    while (depth && ok) {
        depth--;
        Node x = stack[depth * 2], y = stack[depth * 2 + 1];
        if (H.stamp[x] == H.cur) {
            ok = H.map[x] == y;
            continue;
        }
        H.stamp[x] = H.cur;
        H.map[x] = y;
        Op op = dag_op(x);
        if (op != dag_op(y) || dag_nargs(x) != dag_nargs(y)) {
            ok = false;
        } else if (op == OP_PARAM || op == OP_DIR) {
            ok = (int64_t)dag_rec(y)->aux == (int64_t)dag_rec(x)->aux + shift;
        } else if (dag_nargs(x) == 0 || op == OP_ROWSUM) {
            ok = x == y;
        } else {
            for (uint32_t i = 0; i < dag_nargs(x); i++) {
                if (depth == cap) {
                    cap *= 2;
                    stack = xrealloc(stack, sizeof(Node) * 2 * cap);
                }
                stack[depth * 2] = dag_args(x)[i];
                stack[depth * 2 + 1] = dag_args(y)[i];
                depth++;
            }
        }
    }
    free(stack);
    return ok;
}

typedef struct {
    uint64_t key; /* shape hash with the first key mixed in: one family never spans two arrays */
    int64_t anchor;
    uint32_t item;
} Cand;

static int cmp_cand(const void *p, const void *q)
{
    const Cand *x = p, *y = q;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->anchor != y->anchor)
        return x->anchor < y->anchor ? -1 : 1;
    return (x->item > y->item) - (x->item < y->item);
}

void reroll_find(const Node *items, uint32_t n, const int64_t *keys, int nkeys, uint32_t min_count, Family **out,
                 uint32_t *nout)
{
    *out = NULL;
    *nout = 0;
    Cand *c = xmalloc(sizeof(Cand) * (n ? n : 1));
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        Node x = items[i];
        if (!x || x >= H.limit || H.anchor[x] == NO_ANCHOR || dag_nargs(x) == 0)
            continue;
        uint64_t key = H.hash[x];
        if (nkeys)
            key = mix(key, (uint64_t)keys[(size_t)i * nkeys]);
        c[m++] = (Cand){key, H.anchor[x], i};
    }
    qsort(c, m, sizeof(Cand), cmp_cand);
    uint32_t cap = 0;
    for (uint32_t s = 0; s < m;) {
        uint32_t e = s + 1;
        /* members s, s+1, ...: the same key, the anchor and every key moving by one step */
        if (e < m && c[e].key == c[s].key && c[e].anchor > c[s].anchor) {
            int64_t shift = c[e].anchor - c[s].anchor;
            static const int64_t none[1];
            const int64_t *k0 = nkeys ? keys + (size_t)c[s].item * nkeys : none;
            const int64_t *k1 = nkeys ? keys + (size_t)c[e].item * nkeys : none;
            while (e < m && c[e].key == c[s].key && c[e].anchor == c[s].anchor + (int64_t)(e - s) * shift) {
                const int64_t *ke = nkeys ? keys + (size_t)c[e].item * nkeys : none;
                bool affine = true;
                for (int j = 0; j < nkeys && affine; j++)
                    affine = ke[j] == k0[j] + (int64_t)(e - s) * (k1[j] - k0[j]);
                if (!affine || !same_shifted(items[c[s].item], items[c[e].item], c[e].anchor - c[s].anchor))
                    break;
                e++;
            }
            if (e - s >= min_count) {
                if (*nout == cap) {
                    cap = cap ? 2 * cap : 16;
                    *out = xrealloc(*out, sizeof(Family) * cap);
                }
                Family *f = &(*out)[(*nout)++];
                f->count = e - s;
                f->shift = shift;
                f->members = xmalloc(sizeof(uint32_t) * f->count);
                for (uint32_t t = 0; t < f->count; t++)
                    f->members[t] = c[s + t].item;
                s = e;
                continue;
            }
        }
        s++;
    }
    free(c);
}

void reroll_free(Family *f, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        free(f[i].members);
    free(f);
}
