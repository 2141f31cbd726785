/* The hand-written peer: loss, gradient and exact dense Hessian of a tanh MLP's mean squared
 * error, the way one writes it with BLAS.
 *
 * Layers l = 1..L: z_l = W_l a_{l-1} + b_l, a_l = tanh(z_l) for l < L; the output layer L is
 * linear (W_L = wL, one row; b_L = c), f = z_L; a_0 = x; per row r = f - t and
 *
 *   loss = (1/n) sum_i r_i^2,    grad = (2/n) sum_i r_i grad f_i = (2/n) J^T r,
 *   H    = (2/n) J^T J  +  (2/n) sum_i r_i Hess f_i          (Gauss-Newton + curvature)
 *
 * with J the n x N matrix of the rows' gradients grad f_i. Write a'_l = (a_l, 1) (the bias
 * column) and zb_l = df/dz_l (back-propagated: zb_L = 1, zb_{l-1} = (W_l^T zb_l) * (1 - a^2)).
 * Then df/dW_l[k][j] = zb_l[k] a'_{l-1}[j]: a row of J is these outer products, one per layer.
 *
 * The curvature part, exactly (forward-over-reverse, batched over rows): for a direction in
 * layer p's parameters only the layers l >= p move forward, and a direction W_p[k][j] moves
 * them a'_{p-1}[j] times as much as the direction b_p[k]. So per row it is enough to carry the
 * n_p tangents of the directions b_p[k] (k < n_p), forward:
 *
 *   Ta_p = diag(1 - a_p^2),  Tz_l = Ta_{l-1} W_l^T,  Ta_l = Tz_l * (1 - a_l^2)   (l > p)
 *
 * and backward the tangents of zb (Rz_l[k][u] = d zb_l[u] / d b_p[k]):
 *
 *   Rz_{L-1} = kap_{L-1} * Ta_{L-1},  Rz_l = (Rz_{l+1} W_{l+1}) * (1 - a_l^2) + kap_l * Ta_l
 *
 * with kap_l = -2 a_l * (W_{l+1}^T zb_{l+1}) (tanh'' = -2 tanh tanh'), Rz_L = 0. The Hessian
 * of f_i between layer q >= p and layer p is then
 *
 *   d2f / dW_q[k'][j'] dW_p[k][j] = a'_{p-1}[j] ( Rz_q[k][k'] a'_{q-1}[j'] + zb_q[k'] Ta_{q-1}[k][j'] )
 *
 * (the second term for q > p, j' < n_{q-1}). Summed over rows with the weights r_i, each term
 * is one dgemm over the rows for each pair of layers q >= p:
 *
 *   G1[(k,k'),(j,j')] = sum_i Rz_q,i[k][k'] * (r_i a'_{p-1,i}[j] a'_{q-1,i}[j'])
 *   G2[(k',j),(k,j')] = sum_i (r_i zb_q,i[k'] a'_{p-1,i}[j]) * Ta_{q-1,i}[k][j']
 *
 * whose flops are (rows) x (the block's entries), like the dsyrk's. The lower triangle of H
 * is assembled from the dsyrk and the G blocks and mirrored. Rows go in blocks of nb so that
 * the per-block scratch (J, the tangents) stays in cache; the G blocks and the gradient
 * accumulate over the blocks. Every product of a layer's matrix is a BLAS call (dgemm,
 * dgemv, dsyrk); the element-wise steps are plain loops. No approximation anywhere. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c99 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlp_hand.h"

struct mlp_hand_ws {
    mlp_shape sh;
    int nb, gn_syrk, maxn;
    double *A[MLP_MAXL + 1];   /* l = 0..L-1: nb x (n_l + 1), a'_l (last column 1) */
    double *Dd[MLP_MAXL + 1];  /* l = 1..L-1: nb x n_l, 1 - a_l^2 */
    double *Zb[MLP_MAXL + 1];  /* l = 1..L: nb x n_l, df/dz_l */
    double *Kap[MLP_MAXL + 1]; /* l = 1..L-1: nb x n_l, -2 a_l (W_{l+1}^T zb_{l+1}) */
    double *Ta[MLP_MAXL + 1];  /* l = 2..L-1: (nb n_p) x n_l */
    double *Rz[MLP_MAXL + 1];  /* l = 1..L-1: (nb n_p) x n_l */
    double *G1[MLP_MAXL + 1][MLP_MAXL + 1]; /* [q][p], q >= p */
    double *G2[MLP_MAXL + 1][MLP_MAXL + 1]; /* [q][p], q > p */
    double *gacc[MLP_MAXL + 1];             /* l = 1..L: n_l x (n_{l-1} + 1) */
    double *r, *Z, *Ab, *RZ, *Tz, *Ra, *B, *E, *C, *J;
};

static double *zalloc(size_t k)
{
    return (double *)calloc(k ? k : 1, sizeof(double));
}

void mlp_hand_free(mlp_hand_ws *ws)
{
    if (!ws)
        return;
    for (int l = 0; l <= MLP_MAXL; l++) {
        free(ws->A[l]);
        free(ws->Dd[l]);
        free(ws->Zb[l]);
        free(ws->Kap[l]);
        free(ws->Ta[l]);
        free(ws->Rz[l]);
        free(ws->gacc[l]);
        for (int p = 0; p <= MLP_MAXL; p++) {
            free(ws->G1[l][p]);
            free(ws->G2[l][p]);
        }
    }
    free(ws->r);
    free(ws->Z);
    free(ws->Ab);
    free(ws->RZ);
    free(ws->Tz);
    free(ws->Ra);
    free(ws->B);
    free(ws->E);
    free(ws->C);
    free(ws->J);
    free(ws);
}

mlp_hand_ws *mlp_hand_alloc(const mlp_shape *sh, int nb, int gn_syrk)
{
    mlp_hand_ws *ws = (mlp_hand_ws *)calloc(1, sizeof *ws);
    if (!ws)
        return NULL;
    ws->sh = *sh;
    ws->nb = nb;
    ws->gn_syrk = gn_syrk;
    const int L = sh->L;
    const int *n = sh->n;
    int maxn = 1;
    for (int l = 0; l <= L; l++)
        if (n[l] > maxn)
            maxn = n[l];
    ws->maxn = maxn;
    const size_t b = (size_t)nb, mx = (size_t)maxn, ma = mx + 1;
    int ok = 1;
#define ALLOC(ptr, k)                                                                              \
    do {                                                                                           \
        (ptr) = zalloc(k);                                                                         \
        ok = ok && (ptr) != NULL;                                                                  \
    } while (0)
    for (int l = 0; l < L; l++)
        ALLOC(ws->A[l], b * (size_t)(n[l] + 1));
    for (int l = 1; l <= L; l++) {
        ALLOC(ws->Zb[l], b * (size_t)n[l]);
        ALLOC(ws->gacc[l], (size_t)n[l] * (size_t)(n[l - 1] + 1));
        if (l < L) {
            ALLOC(ws->Dd[l], b * (size_t)n[l]);
            ALLOC(ws->Kap[l], b * (size_t)n[l]);
            ALLOC(ws->Rz[l], b * mx * (size_t)n[l]);
            if (l >= 2)
                ALLOC(ws->Ta[l], b * mx * (size_t)n[l]);
        }
    }
    for (int q = 1; q <= L; q++)
        for (int p = 1; p <= q; p++) {
            const size_t bq = (size_t)n[q] * (size_t)(n[q - 1] + 1);
            const size_t bp = (size_t)n[p] * (size_t)(n[p - 1] + 1);
            if (q < L || !gn_syrk)
                ALLOC(ws->G1[q][p], bq * bp);
            if (q > p)
                ALLOC(ws->G2[q][p], bq * bp);
        }
    ALLOC(ws->r, b);
    ALLOC(ws->Z, b * mx);
    ALLOC(ws->Ab, b * mx);
    ALLOC(ws->RZ, b * mx);
    ALLOC(ws->Tz, b * mx * mx);
    ALLOC(ws->Ra, b * mx * mx);
    ALLOC(ws->B, b * ma * ma);
    ALLOC(ws->E, b * mx * ma);
    ALLOC(ws->C, b * mx * mx);
    if (gn_syrk)
        ALLOC(ws->J, b * (size_t)sh->N);
#undef ALLOC
    if (!ok) {
        mlp_hand_free(ws);
        return NULL;
    }
    return ws;
}

/* one block of m rows: accumulates sum r^2 (returned), gacc, the dsyrk into H, the G blocks */
static double block(mlp_hand_ws *ws, const double *theta, size_t m, const double *X,
                    const double *t, double *H)
{
    const mlp_shape *sh = &ws->sh;
    const int L = sh->L, N = sh->N;
    const int *n = sh->n;
    const int M = (int)m;

    /* ---- forward: Z = A'_{l-1} W_l^T + b_l (dgemm), a_l = tanh */
    double *A0 = ws->A[0];
    for (size_t i = 0; i < m; i++) {
        A0[3 * i] = X[2 * i];
        A0[3 * i + 1] = X[2 * i + 1];
        A0[3 * i + 2] = 1.0;
    }
    for (int l = 1; l < L; l++) {
        const double *W = theta + sh->off[l], *bias = W + (size_t)n[l] * n[l - 1];
        const int nl = n[l], la = n[l - 1] + 1;
        double *Z = ws->Z;
        for (size_t i = 0; i < m; i++)
            memcpy(Z + i * nl, bias, (size_t)nl * sizeof(double));
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, nl, n[l - 1], 1.0, ws->A[l - 1],
                    la, W, n[l - 1], 1.0, Z, nl);
        double *A = ws->A[l], *Dd = ws->Dd[l];
        for (size_t i = 0; i < m; i++) {
            for (int u = 0; u < nl; u++) {
                const double a = tanh(Z[i * nl + u]);
                A[i * (nl + 1) + u] = a;
                Dd[i * nl + u] = 1.0 - a * a;
            }
            A[i * (nl + 1) + nl] = 1.0;
        }
    }
    /* output: f = A_{L-1} wL + c (dgemv), r = f - t */
    const int nh = n[L - 1];
    const double *wL = theta + sh->off[L];
    double *r = ws->r;
    cblas_dgemv(CblasRowMajor, CblasNoTrans, M, nh, 1.0, ws->A[L - 1], nh + 1, wL, 1, 0.0, r, 1);
    const double c = wL[nh];
    double ss = 0.0;
    for (size_t i = 0; i < m; i++) {
        r[i] += c - t[i];
        ss += r[i] * r[i];
    }

    /* ---- backward: zb_L = 1, abar_{L-1} = wL, zb_l = abar_l (1 - a^2), kap_l = -2 a abar_l,
       abar_{l-1} = zb_l W_l (dgemm) */
    for (size_t i = 0; i < m; i++)
        ws->Zb[L][i] = 1.0;
    for (int l = L - 1; l >= 1; l--) {
        const int nl = n[l];
        double *Ab = ws->Ab;
        if (l == L - 1) {
            for (size_t i = 0; i < m; i++)
                memcpy(Ab + i * nl, wL, (size_t)nl * sizeof(double));
        } else {
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, nl, n[l + 1], 1.0,
                        ws->Zb[l + 1], n[l + 1], theta + sh->off[l + 1], nl, 0.0, Ab, nl);
        }
        const double *A = ws->A[l], *Dd = ws->Dd[l];
        double *Zb = ws->Zb[l], *Kap = ws->Kap[l];
        for (size_t i = 0; i < m; i++)
            for (int u = 0; u < nl; u++) {
                const double ab = Ab[i * nl + u];
                Zb[i * nl + u] = Dd[i * nl + u] * ab;
                Kap[i * nl + u] = -2.0 * A[i * (nl + 1) + u] * ab;
            }
    }

    /* ---- gradient: gacc_l += (r * zb_l)^T A'_{l-1} (dgemm) */
    for (int l = 1; l <= L; l++) {
        const int nl = n[l], la = n[l - 1] + 1;
        double *RZ = ws->RZ;
        const double *Zb = ws->Zb[l];
        for (size_t i = 0; i < m; i++)
            for (int u = 0; u < nl; u++)
                RZ[i * nl + u] = r[i] * Zb[i * nl + u];
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nl, la, M, 1.0, RZ, nl, ws->A[l - 1],
                    la, 1.0, ws->gacc[l], la);
    }

    /* ---- Gauss-Newton: J (m x N), row i = the outer products zb_l a'_{l-1}; H += J^T J */
    if (ws->gn_syrk) {
        double *J = ws->J;
        for (size_t i = 0; i < m; i++) {
            double *Ji = J + i * (size_t)N;
            for (int l = 1; l <= L; l++) {
                const int nl = n[l], np = n[l - 1];
                const double *zb = ws->Zb[l] + i * nl, *a = ws->A[l - 1] + i * (np + 1);
                double *Jw = Ji + sh->off[l], *Jb = Jw + (size_t)nl * np;
                for (int k = 0; k < nl; k++) {
                    const double z = zb[k];
                    for (int j = 0; j < np; j++)
                        Jw[k * np + j] = z * a[j];
                    Jb[k] = z;
                }
            }
        }
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, N, M, 1.0, J, N, 1.0, H, N);
    }

    /* ---- curvature (and, without the dsyrk, Gauss-Newton), per direction layer p */
    for (int p = 1; p <= L; p++) {
        const int npp = n[p], ap = n[p - 1] + 1;
        const int MP = M * npp; /* rows of the tangent matrices: (row i, direction k) */
        const double *Ap = ws->A[p - 1];
        if (p < L) {
            /* forward tangents of the directions b_p[k]: Ta_p = diag(Dd_p) (implicit);
               Ta_l for l = p+1..L-1 */
            for (int l = p + 1; l < L; l++) {
                const int nl = n[l], nq = n[l - 1];
                const double *W = theta + sh->off[l];
                double *Tz = ws->Tz;
                if (l == p + 1) { /* Tz[(i,k)][u] = Dd_p[i][k] W_l[u][k] */
                    const double *Dp = ws->Dd[p];
                    for (size_t i = 0; i < m; i++)
                        for (int k = 0; k < npp; k++) {
                            const double d = Dp[i * npp + k];
                            double *row = Tz + (i * npp + k) * (size_t)nl;
                            for (int u = 0; u < nl; u++)
                                row[u] = d * W[(size_t)u * nq + k];
                        }
                } else {
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, MP, nl, nq, 1.0,
                                ws->Ta[l - 1], nq, W, nq, 0.0, Tz, nl);
                }
                const double *Dl = ws->Dd[l];
                double *Ta = ws->Ta[l];
                for (size_t i = 0; i < m; i++)
                    for (int k = 0; k < npp; k++) {
                        const size_t o = (i * npp + k) * (size_t)nl;
                        for (int u = 0; u < nl; u++)
                            Ta[o + u] = Tz[o + u] * Dl[i * nl + u];
                    }
            }
            /* backward tangents of zb: Rz_l, l = L-1 down to p */
            for (int l = L - 1; l >= p; l--) {
                const int nl = n[l];
                double *Rz = ws->Rz[l];
                const double *Kap = ws->Kap[l], *Dl = ws->Dd[l];
                if (l == L - 1)
                    memset(Rz, 0, (size_t)MP * nl * sizeof(double));
                else /* Ra = Rz_{l+1} W_{l+1}, then Rz_l = Ra (1 - a^2) */
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, MP, nl, n[l + 1], 1.0,
                                ws->Rz[l + 1], n[l + 1], theta + sh->off[l + 1], nl, 0.0, Rz, nl);
                if (l > p) {
                    const double *Ta = ws->Ta[l];
                    for (size_t i = 0; i < m; i++)
                        for (int k = 0; k < npp; k++) {
                            const size_t o = (i * npp + k) * (size_t)nl;
                            for (int u = 0; u < nl; u++)
                                Rz[o + u] = Rz[o + u] * Dl[i * nl + u] + Kap[i * nl + u] * Ta[o + u];
                        }
                } else { /* l == p: Ta_p is diagonal */
                    for (size_t i = 0; i < m; i++)
                        for (int k = 0; k < npp; k++) {
                            const size_t o = (i * npp + k) * (size_t)nl;
                            for (int u = 0; u < nl; u++)
                                Rz[o + u] *= Dl[i * nl + u];
                            Rz[o + k] += Kap[i * nl + k] * Dl[i * nl + k];
                        }
                }
            }
        }
        for (int q = p; q <= L; q++) {
            const int nqq = n[q], aq = n[q - 1] + 1;
            const double *Aq = ws->A[q - 1];
            /* term 1: G1 += C^T B, C[i][(k,k')] = Rz_q (times r_i via B), B = a'_{p-1} a'_{q-1} */
            if (q < L || !ws->gn_syrk) {
                double *Bm = ws->B;
                const int nB = ap * aq, nC = npp * nqq;
                const double *Cm;
                if (ws->gn_syrk) { /* B carries r_i */
                    for (size_t i = 0; i < m; i++)
                        for (int j = 0; j < ap; j++) {
                            const double s = r[i] * Ap[i * ap + j];
                            for (int jj = 0; jj < aq; jj++)
                                Bm[i * nB + j * aq + jj] = s * Aq[i * aq + jj];
                        }
                    Cm = ws->Rz[q];
                } else { /* C = r Rz_q + zb_p zb_q: the Gauss-Newton part folded in */
                    double *Cw = ws->C;
                    for (size_t i = 0; i < m; i++) {
                        for (int j = 0; j < ap; j++)
                            for (int jj = 0; jj < aq; jj++)
                                Bm[i * nB + j * aq + jj] = Ap[i * ap + j] * Aq[i * aq + jj];
                        const double *zp = ws->Zb[p] + i * npp, *zq = ws->Zb[q] + i * nqq;
                        const double *R = q < L ? ws->Rz[q] + i * (size_t)nC : NULL;
                        for (int k = 0; k < npp; k++)
                            for (int kk = 0; kk < nqq; kk++)
                                Cw[i * nC + k * nqq + kk] =
                                    (R ? r[i] * R[k * nqq + kk] : 0.0) + zp[k] * zq[kk];
                    }
                    Cm = Cw;
                }
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nC, nB, M, 1.0, Cm, nC, Bm,
                            nB, 1.0, ws->G1[q][p], nB);
            }
            /* term 2 (q > p): G2 += E^T F, E[i][(k',j)] = r_i zb_q[k'] a'_{p-1}[j],
               F = Ta_{q-1} (as m x (n_p n_{q-1})); for q = p+1, Ta_p = diag(Dd_p): F = Dd_p */
            if (q > p && p < L) {
                double *Em = ws->E;
                const int nE = nqq * ap;
                for (size_t i = 0; i < m; i++) {
                    const double *zq = ws->Zb[q] + i * nqq;
                    for (int kk = 0; kk < nqq; kk++) {
                        const double s = r[i] * zq[kk];
                        for (int j = 0; j < ap; j++)
                            Em[i * nE + kk * ap + j] = s * Ap[i * ap + j];
                    }
                }
                if (q == p + 1)
                    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nE, npp, M, 1.0, Em, nE,
                                ws->Dd[p], npp, 1.0, ws->G2[q][p], npp);
                else
                    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nE, npp * n[q - 1], M,
                                1.0, Em, nE, ws->Ta[q - 1], npp * n[q - 1], 1.0, ws->G2[q][p],
                                npp * n[q - 1]);
            }
        }
    }
    return ss;
}

double mlp_hand_hess(mlp_hand_ws *ws, const double *theta, size_t n, const double *X,
                     const double *t, double *grad, double *hess)
{
    const mlp_shape *sh = &ws->sh;
    const int L = sh->L, N = sh->N;
    const int *w = sh->n;
    memset(hess, 0, (size_t)N * N * sizeof(double));
    for (int l = 1; l <= L; l++)
        memset(ws->gacc[l], 0, (size_t)w[l] * (w[l - 1] + 1) * sizeof(double));
    for (int q = 1; q <= L; q++)
        for (int p = 1; p <= q; p++) {
            const size_t sz = (size_t)w[q] * (w[q - 1] + 1) * (size_t)w[p] * (w[p - 1] + 1);
            if (ws->G1[q][p])
                memset(ws->G1[q][p], 0, sz * sizeof(double));
            if (ws->G2[q][p])
                memset(ws->G2[q][p], 0, sz * sizeof(double));
        }
    double ss = 0.0;
    for (size_t i0 = 0; i0 < n; i0 += (size_t)ws->nb) {
        const size_t m = n - i0 < (size_t)ws->nb ? n - i0 : (size_t)ws->nb;
        ss += block(ws, theta, m, X + 2 * i0, t + i0, hess);
    }
    const double s = 2.0 / (double)n;
    /* the dsyrk's lower triangle is sum J^T J: scale it, then add the G blocks */
    if (ws->gn_syrk)
        for (int a = 0; a < N; a++)
            for (int b = 0; b <= a; b++)
                hess[(size_t)a * N + b] *= s;
    for (int q = 1; q <= L; q++)
        for (int p = 1; p <= q; p++) {
            const int nq = w[q], aq = w[q - 1] + 1, np = w[p], ap = w[p - 1] + 1;
            const double *G1 = ws->G1[q][p], *G2 = ws->G2[q][p];
            for (int kk = 0; kk < nq; kk++)
                for (int jj = 0; jj < aq; jj++) {
                    const int row = mlp_idx(sh, q, kk, jj);
                    for (int k = 0; k < np; k++)
                        for (int j = 0; j < ap; j++) {
                            const int col = mlp_idx(sh, p, k, j);
                            if (col > row)
                                continue;
                            double v = 0.0;
                            if (G1)
                                v += G1[((size_t)k * nq + kk) * (ap * aq) + j * aq + jj];
                            if (G2 && jj < aq - 1) {
                                if (q == p + 1) /* G2[(k',j)][k], j' == k only */
                                    v += jj == k ? G2[((size_t)kk * ap + j) * np + k] : 0.0;
                                else
                                    v += G2[((size_t)kk * ap + j) * (np * (aq - 1)) +
                                            k * (aq - 1) + jj];
                            }
                            hess[(size_t)row * N + col] += s * v;
                        }
                }
        }
    for (int a = 0; a < N; a++)
        for (int b = a + 1; b < N; b++)
            hess[(size_t)a * N + b] = hess[(size_t)b * N + a];
    if (grad)
        for (int l = 1; l <= L; l++) {
            const int nl = w[l], la = w[l - 1] + 1;
            for (int k = 0; k < nl; k++)
                for (int j = 0; j < la; j++)
                    grad[mlp_idx(sh, l, k, j)] = s * ws->gacc[l][k * la + j];
        }
    return ss / (double)n;
}
