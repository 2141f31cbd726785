/* Information, not peers: what other shapes of plain C (no BLAS) for the same loss, gradient
 * and Hessian cost when compiled with the same flags as the generated code. They show how much
 * of the gap to BLAS is the shape of the code hessgen emits (see README.md, "Why").
 *
 *   loops_rank1    one row at a time; the Hessian update c_i a_i a_i^T (a_i = (x_i, 1)) as a
 *                  loop nest over the lower triangle, accumulators in memory
 *   loops_rank1x4  the same, four rows per pass over the triangle (one load and one store of
 *                  each accumulator per four rows instead of per row)
 *
 * Per row both do what lr_hess does: z = x . w + b, softplus(m), sigmoid(m), sigmoid(-m) with
 * m = -y z (the generated file's helpers, copied), then the gradient and Hessian terms. The
 * third shape, unrolled straight-line code like hessgen's but accumulating each product at once,
 * is written by unrolled.py. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lr_hand.h"

static double sigm(double t)
{
    if (t >= 0)
        return 1.0 / (1.0 + exp(-t));
    const double e = exp(t);
    return e / (1.0 + e);
}

static double softp(double t)
{
    return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

/* row i's terms: returns softplus(m); a[0..50] = (x_i, 1), *c = Hessian weight, *r = gradient
   weight */
static double row_terms(const double *th, const double *x, double yi, double *a, double *c,
                        double *r)
{
    double z = th[50];
    for (int j = 0; j < 50; j++)
        z += th[j] * x[j];
    const double m = -yi * z;
    const double s = sigm(m);
    *c = s * sigm(-m) * yi * yi;
    *r = -yi * s;
    for (int j = 0; j < 50; j++)
        a[j] = x[j];
    a[50] = 1.0;
    return softp(m);
}

static double finish(const double *th, size_t n, double loss, const double *g, const double *Hl,
                     double *grad, double *hess)
{
    const double inv = 1.0 / (double)n;
    double reg = 0.0;
    for (int j = 0; j < 50; j++)
        reg += th[j] * th[j];
    if (grad != NULL)
        for (int j = 0; j < 51; j++)
            grad[j] = g[j] * inv + (j < 50 ? LR_LAMBDA * th[j] : 0.0);
    for (int j = 0; j < 51; j++)
        for (int k = 0; k <= j; k++)
            hess[j * 51 + k] = hess[k * 51 + j] =
                Hl[j * 51 + k] * inv + (j == k && j < 50 ? LR_LAMBDA : 0.0);
    return loss * inv + 0.5 * LR_LAMBDA * reg;
}

/* one row's rank-1 update of the lower triangle, and its gradient term */
static void update1(const double *a, double c, double r, double *g, double *Hl)
{
    for (int j = 0; j < 51; j++) {
        g[j] += r * a[j];
        const double cj = c * a[j];
        double *h = Hl + j * 51;
        for (int k = 0; k <= j; k++)
            h[k] += cj * a[k];
    }
}

double loops_rank1(const double *th, size_t n, const double *X, const double *y, double *grad,
                   double *hess)
{
    double Hl[51 * 51], g[51], a[51], c, r, loss = 0.0;
    memset(Hl, 0, sizeof Hl);
    memset(g, 0, sizeof g);
    for (size_t i = 0; i < n; i++) {
        loss += row_terms(th, X + i * 50, y[i], a, &c, &r);
        update1(a, c, r, g, Hl);
    }
    return finish(th, n, loss, g, Hl, grad, hess);
}

double loops_rank1x4(const double *th, size_t n, const double *X, const double *y, double *grad,
                     double *hess)
{
    double Hl[51 * 51], g[51], loss = 0.0;
    memset(Hl, 0, sizeof Hl);
    memset(g, 0, sizeof g);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        double a[4][51], c[4], r[4];
        for (int b = 0; b < 4; b++)
            loss += row_terms(th, X + (i + b) * 50, y[i + b], a[b], &c[b], &r[b]);
        for (int j = 0; j < 51; j++) {
            g[j] += r[0] * a[0][j] + r[1] * a[1][j] + r[2] * a[2][j] + r[3] * a[3][j];
            const double c0 = c[0] * a[0][j], c1 = c[1] * a[1][j], c2 = c[2] * a[2][j],
                         c3 = c[3] * a[3][j];
            double *h = Hl + j * 51;
            for (int k = 0; k <= j; k++)
                h[k] += c0 * a[0][k] + c1 * a[1][k] + c2 * a[2][k] + c3 * a[3][k];
        }
    }
    for (; i < n; i++) {
        double a[51], c, r;
        loss += row_terms(th, X + i * 50, y[i], a, &c, &r);
        update1(a, c, r, g, Hl);
    }
    return finish(th, n, loss, g, Hl, grad, hess);
}
