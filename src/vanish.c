/* vanish.c: derivative terms that vanish where a sum of squares does.
 *
 * In: the model and its derivative nodes (diff.c). Out: the same nodes, except that in every
 * product
 *     c * u^q * a_1^m_1 * ... * F      (q < 0, u = sum_j c_j a_j^(2 k_j), every c_j > 0)
 * where the a_i are among u's a_j and q + sum_i m_i / (2 k_i) > 0, u^q is computed as
 * nonzero(u)^q: u itself where u != 0, 1 where u = 0. Since |a_j| <= (u / c_j)^(1/(2 k_j)),
 * such a product is O(u^(q + sum m_i/(2 k_i))) times a bounded F near u = 0, so its limit
 * there is 0; the generated code then returns 0 instead of inf * 0 = NaN. This is how
 * (x^2 + y^2)^1.5, sqrt(x^2 + y^2)^3 and (y^2)^1.5 + x^2, twice differentiable at the origin
 * with gradient and Hessian 0, get them there. Everywhere else the value is the same: only
 * u = 0 exactly is touched.
 *
 * Left alone: powers the loss itself holds (where the loss is not defined, its derivatives are
 * not either: x^3 / sqrt(x^2 + y^2) stays NaN at 0), products over two vanishing sums, and
 * anything the degree count cannot see (a factor that vanishes without being one of u's a_j
 * counts as not vanishing: fewer products fixed, never a wrong one). F need only be bounded
 * near the point; where it is infinite the product stays NaN, as before.
 */
#include <stdlib.h>
#include <string.h>

#include "hessgen.h"

enum { MAX_ATOMS = 64 };

typedef struct {
    Node atom;
    long k; /* the atom's square power: c * atom^(2k) */
} Square;

/* u = sum of c_j a_j^(2 k_j) with c_j > 0 (or one such term): its atoms; false otherwise */
static int squares_of(Node u, Square *sq)
{
    const Node *terms = &u;
    uint32_t nt = 1;
    if (dag_op(u) == OP_ADD) {
        terms = dag_args(u);
        nt = dag_nargs(u);
    }
    if (nt > MAX_ATOMS)
        return 0;
    for (uint32_t t = 0; t < nt; t++) {
        Node term = terms[t];
        if (dag_op(term) == OP_MUL && dag_nargs(term) == 2 && dag_is_const(dag_args(term)[0]) &&
            mpq_sgn(dag_rat(dag_args(term)[0])) > 0)
            term = dag_args(term)[1];
        long e;
        if (dag_op(term) != OP_POW || !dag_is_int_const(dag_args(term)[1], &e) || e <= 0 || e % 2)
            return 0; /* a constant term too: a sum that is never 0 needs nothing */
        sq[t] = (Square){dag_args(term)[0], e / 2};
    }
    return (int)nt;
}

/* A vanishing base: u (a sum of squares the loss does not raise to a negative power) */
typedef struct {
    const bool *in_loss;
    Node *rewritten; /* per original node */
} Pass;

/* u^q (q < 0) or (u^p)^k (p < 0 < k): the power of a sum of squares that blows up at 0, with u */
static bool singular_power(Node f, Node *u, mpq_t q)
{
    if (dag_op(f) != OP_POW || !dag_is_const(dag_args(f)[1]))
        return false;
    Node b = dag_args(f)[0];
    mpq_set(q, dag_rat(dag_args(f)[1]));
    if (dag_op(b) == OP_POW && dag_is_const(dag_args(b)[1]) && mpq_sgn(q) > 0) {
        mpq_mul(q, q, dag_rat(dag_args(b)[1]));
        b = dag_args(b)[0];
    }
    *u = b;
    return mpq_sgn(q) < 0;
}

/* The order in u (u^deg) to which factor f vanishes, as far as it can tell (0: bounded) */
static void factor_degree(Node f, Node u, const Square *sq, int nsq, mpq_t deg)
{
    mpq_set_ui(deg, 0, 1);
    Node b = f;
    mpq_t e;
    mpq_init(e);
    mpq_set_ui(e, 1, 1);
    if (dag_op(f) == OP_POW && dag_is_const(dag_args(f)[1])) {
        b = dag_args(f)[0];
        mpq_set(e, dag_rat(dag_args(f)[1]));
        if (dag_op(b) == OP_POW && dag_is_const(dag_args(b)[1])) { /* (u^p)^k */
            mpq_mul(e, e, dag_rat(dag_args(b)[1]));
            b = dag_args(b)[0];
        }
    }
    if (b == u) {
        mpq_set(deg, e);
    } else if (mpq_sgn(e) > 0) {
        for (int j = 0; j < nsq; j++)
            if (sq[j].atom == b) { /* |a| <= (u / c)^(1 / 2k) */
                mpq_set_si(deg, 1, (unsigned long)(2 * sq[j].k));
                mpq_mul(deg, deg, e);
                break;
            }
    }
    mpq_clear(e);
}

/* The product with its singular powers of u computed on nonzero(u), or 0 if it does not vanish
 * with u (or cannot be shown to) */
static Node fix_product(const Pass *ps, Node n)
{
    const Node *a = dag_args(n);
    uint32_t na = dag_nargs(n);
    Node u = 0;
    mpq_t q, deg, total;
    mpq_inits(q, deg, total, NULL);
    bool ok = true;
    for (uint32_t i = 0; i < na && ok; i++) {
        Node b;
        if (singular_power(a[i], &b, q)) {
            ok = (u == 0 || u == b) && !ps->in_loss[a[i]];
            u = b;
        }
    }
    Square sq[MAX_ATOMS];
    int nsq = ok && u ? squares_of(u, sq) : 0;
    Node r = 0;
    if (nsq > 0) {
        for (uint32_t i = 0; i < na; i++) {
            factor_degree(a[i], u, sq, nsq, deg);
            mpq_add(total, total, deg);
        }
        if (mpq_sgn(total) > 0) {
            Node nz = dag_unary(OP_NONZERO, u);
            Node *f = xmalloc(sizeof(Node) * na);
            for (uint32_t i = 0; i < na; i++) {
                Node b;
                f[i] = ps->rewritten[a[i]];
                if (!singular_power(a[i], &b, q))
                    continue;
                Node base = dag_args(a[i])[0];
                if (base == u) { /* u^q */
                    f[i] = dag_pow_const(nz, dag_args(a[i])[1]);
                } else { /* (u^p)^k */
                    Node inner = dag_pow_const(nz, dag_args(base)[1]);
                    f[i] = dag_pow_const(inner, dag_args(a[i])[1]);
                }
            }
            r = dag_mul_n(f, na);
            free(f);
        }
    }
    mpq_clears(q, deg, total, NULL);
    return r;
}

void vanish_rewrite(const Model *m, Deriv *d)
{
    uint32_t N = dag_node_count();
    /* is there a singular power at all? most models have none, and pay one scan */
    bool any = false;
    for (Node n = 1; n < N && !any; n++) {
        Node u;
        mpq_t q;
        mpq_init(q);
        any = singular_power(n, &u, q);
        mpq_clear(q);
    }
    if (!any)
        return;
    bool *in_loss = xcalloc(N, sizeof(bool));
    in_loss[m->loss] = true;
    for (Node n = m->loss; n > 0; n--) /* operands have smaller ids than their node */
        if (in_loss[n])
            for (uint32_t i = 0; i < dag_nargs(n); i++)
                in_loss[dag_args(n)[i]] = true;
    Pass ps = {in_loss, xmalloc(sizeof(Node) * N)};
    Node *args = NULL;
    size_t cap = 0;
    for (Node n = 0; n < N; n++) {
        ps.rewritten[n] = n;
        uint32_t na = dag_nargs(n);
        if (n == 0 || na == 0)
            continue;
        Node fixed = dag_op(n) == OP_MUL && !in_loss[n] ? fix_product(&ps, n) : 0;
        if (fixed) {
            ps.rewritten[n] = fixed;
            continue;
        }
        bool changed = false;
        for (uint32_t i = 0; i < na; i++)
            changed = changed || ps.rewritten[dag_args(n)[i]] != dag_args(n)[i];
        if (!changed)
            continue;
        if (cap < na)
            args = xrealloc(args, sizeof(Node) * (cap = na));
        for (uint32_t i = 0; i < na; i++)
            args[i] = ps.rewritten[dag_args(n)[i]];
        ps.rewritten[n] = dag_op(n) == OP_MUL   ? dag_mul_n(args, na)
                          : dag_op(n) == OP_ADD ? dag_add_n(args, na)
                                                : dag_remake(n, args);
    }
    Node *lists[] = {d->grad, d->hess, d->hvp, d->row_range};
    uint32_t counts[] = {d->n, d->nnz, d->hvp ? d->n : 0, d->row_range ? 1 + d->n + d->nnz : 0};
    for (int l = 0; l < 4; l++)
        for (uint32_t i = 0; lists[l] && i < counts[l]; i++)
            if (lists[l][i] < N)
                lists[l][i] = ps.rewritten[lists[l][i]];
    free(args);
    free(ps.rewritten);
    free(in_loss);
}
