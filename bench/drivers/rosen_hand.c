/* The hand-written peer for the extended Rosenbrock with N = 1000 parameters:
 *     f(x) = sum_{i=0}^{N-2} 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2.
 * Its Hessian is tridiagonal; the lower triangle's nonzeros in row-major order (the order of
 * M_hess_rows / M_hess_cols) are
 *     H00, H10, H11, H21, H22, ..., H(N-1)(N-2), H(N-1)(N-1)   (2N-1 values), with
 *     H[i][i]   = [i < N-1] (1200 x_i^2 - 400 x_{i+1} + 2) + [i > 0] 200,
 *     H[i][i-1] = -400 x_{i-1}.
 * Written to be fast: one pass, boundary rows peeled, no branches in the loops, each square
 * computed once. Compiled with cc -O2 in its own translation unit, like the generated code.
 * bench/drivers/driver.c `check` compares every function here with the generated code. */
#ifndef N
#define N 1000
#endif

/* The Hessian's lower-triangle nonzeros, nothing else. */
void rosen_hand_hess(const double *restrict x, double *restrict h)
{
    h[0] = 1200.0 * (x[0] * x[0]) - 400.0 * x[1] + 2.0;
    for (int i = 1; i < N - 1; i++) {
        h[2 * i - 1] = -400.0 * x[i - 1];
        h[2 * i] = 1200.0 * (x[i] * x[i]) - 400.0 * x[i + 1] + 202.0;
    }
    h[2 * N - 3] = -400.0 * x[N - 2];
    h[2 * N - 2] = 200.0;
}

/* The loss and the same Hessian values: the work M_hess_sparse(theta, NULL, values) is
 * contracted to do (it returns the loss). */
double rosen_hand_loss_hess(const double *restrict x, double *restrict h)
{
    double f = 0.0;
    double xi = x[0], sq = xi * xi;
    for (int i = 0; i < N - 1; i++) {
        const double xn = x[i + 1], sqn = xn * xn;
        const double d = xn - sq, e = 1.0 - xi;
        f += 100.0 * (d * d) + e * e;
        h[2 * i] = 1200.0 * sq - 400.0 * xn + 202.0;
        h[2 * i + 1] = -400.0 * xi;
        xi = xn;
        sq = sqn;
    }
    h[0] -= 200.0; /* row 0 has no term i-1 */
    h[2 * N - 2] = 200.0;
    return f;
}

/* Loss, gradient and the same Hessian values together, as M_hess_sparse(theta, grad, values)
 * does; returns the loss. */
double rosen_hand_all(const double *restrict x, double *restrict g, double *restrict h)
{
    double f = 0.0, carry = 0.0; /* carry = 200 (x[i] - x[i-1]^2): x[i]'s share of term i-1 */
    double xi = x[0], sq = xi * xi;
    for (int i = 0; i < N - 1; i++) {
        const double xn = x[i + 1], sqn = xn * xn;
        const double d = xn - sq, e = 1.0 - xi;
        f += 100.0 * (d * d) + e * e;
        g[i] = carry - 400.0 * (xi * d) - 2.0 * e;
        carry = 200.0 * d;
        h[2 * i] = 1200.0 * sq - 400.0 * xn + 202.0;
        h[2 * i + 1] = -400.0 * xi;
        xi = xn;
        sq = sqn;
    }
    g[N - 1] = carry;
    h[0] -= 200.0;
    h[2 * N - 2] = 200.0;
    return f;
}
