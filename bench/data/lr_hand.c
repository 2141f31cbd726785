/* The hand-written peer: loss, gradient and dense Hessian of L2-regularised logistic
 * regression, the way one writes it with BLAS.
 *
 *   m_i = -y_i (x_i . w + b)                 z = X w: one dgemv over X
 *   loss = mean softplus(m_i) + lambda/2 |w|^2
 *   r_i  = -y_i sigmoid(m_i) / n             gradient: X^T r (a second dgemv), sum r for b
 *   d_i  = y_i^2 sigmoid(m_i) sigmoid(-m_i) / n
 *   H    = A^T A + lambda I_w, A_i = sqrt(d_i) (x_i, 1)   one dsyrk on the n x 51 scratch A
 *
 * One exp and one log1p per row (softplus and the sigmoid share e = exp(-|m|)); the scratch
 * (n + 51 n doubles) is allocated by the caller once, not per call. Every BLAS call runs on
 * however many threads OpenBLAS has been given (the driver pins it to 1 unless told). */
#include <math.h>
#include <stddef.h>
#include <cblas.h>

#include "lr_hand.h"

double hand_hess(const double *theta, size_t n, const double *X, const double *y,
                 double *grad, double *hess, double *work)
{
    const int p = 50, q = 51;
    double *z = work;     /* n: X w, then r */
    double *A = work + n; /* n x 51, row-major */
    const double b = theta[50], inv = 1.0 / (double)n;

    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, p, 1.0, X, p, theta, 1, 0.0, z, 1);
    double loss = 0.0, gb = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double yi = y[i];
        const double m = -yi * (z[i] + b);
        const double e = exp(-fabs(m));                    /* in (0, 1] */
        loss += (m > 0 ? m : 0.0) + log1p(e);              /* softplus(m) */
        const double s = m >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e); /* sigmoid(m) */
        const double r = -yi * s * inv;
        z[i] = r;
        gb += r;
        const double d = yi * yi * e / ((1.0 + e) * (1.0 + e)) * inv; /* s (1 - s) / n */
        const double sd = sqrt(d);
        const double *xi = X + i * (size_t)p;
        double *ai = A + i * (size_t)q;
        for (int j = 0; j < p; j++)
            ai[j] = sd * xi[j];
        ai[p] = sd;
    }
    if (grad != NULL) {
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, p, 1.0, X, p, z, 1, 0.0, grad, 1);
        for (int j = 0; j < p; j++)
            grad[j] += LR_LAMBDA * theta[j];
        grad[p] = gb;
    }
    cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, q, (int)n, 1.0, A, q, 0.0, hess, q);
    double reg = 0.0;
    for (int j = 0; j < p; j++) {
        hess[j * q + j] += LR_LAMBDA;
        reg += theta[j] * theta[j];
    }
    for (int r = 0; r < q; r++)
        for (int c = r + 1; c < q; c++)
            hess[r * q + c] = hess[c * q + r];
    return loss * inv + 0.5 * LR_LAMBDA * reg;
}
