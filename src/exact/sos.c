/* sos.c: sum-of-squares certificates for a polynomial loss (the exact classifier's last step).
 *
 * In: the model, a critical point p with exact coordinates. Out: a Gram matrix G, exact and
 * positive semidefinite, with L(p + u) - L(p) = z(u)^T G z(u) for a vector z of monomials in u:
 * a sum of squares, so L >= L(p) everywhere and p is a minimum (a strict one when G is definite
 * and z holds every monomial of its lowest degree).
 *
 *  1. P(u) = L(p + u) - L(p) exactly: the Taylor polynomial through the loss's degree (series.c).
 *  2. z: the monomials of degree lo/2 .. hi/2, lo and hi the lowest and highest degrees of P
 *     (both even, or there is no sum of squares), less those whose square P lacks and only
 *     the diagonal makes (facial reduction by the diagonal: their rows of G are 0).
 *  3. The semidefinite program "G >= 0, sum over z_a z_b = m of G_ab = P_m for every monomial
 *     m" in floating point by CSDP (Debian's coinor-csdp, run as a program), from the analytic
 *     centre (zero objective).
 *  4. Rounding (Peyrl and Parrilo 2008): G rounded to multiples of 2^-k, then projected exactly
 *     onto the affine constraints (the residual of each monomial spread evenly over its entries);
 *     positive semidefinite by exact symmetric elimination over the rationals. k = 1, 2, 4, ...,
 *     32 in turn: small denominators land on the face of a singular G.
 */
#define _GNU_SOURCE /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lapacke.h>

#include "internal.h"

enum { SOS_MAX_PARAMS = 8, SOS_MAX_TERMS = 4000, SOS_MAX_BASIS = 60, SOS_FACE_MAX = 30, SOS_ZEROS = 4 };

/* exact symmetric elimination: G positive semidefinite? *definite: all pivots > 0 */
static bool psd(mpq_t *G, int N, bool *definite)
{
    mpq_t f, t;
    mpq_inits(f, t, NULL);
    bool ok = true;
    *definite = true;
    for (int k = 0; k < N && ok; k++) {
        int s = mpq_sgn(G[(size_t)k * N + k]);
        if (s < 0) {
            ok = false;
        } else if (s == 0) { /* a zero pivot: its row must be zero */
            *definite = false;
            for (int j = k + 1; j < N && ok; j++)
                ok = mpq_sgn(G[(size_t)k * N + j]) == 0;
        } else {
            for (int i = k + 1; i < N; i++) {
                if (!mpq_sgn(G[(size_t)i * N + k]))
                    continue;
                mpq_div(f, G[(size_t)i * N + k], G[(size_t)k * N + k]);
                for (int j = k; j < N; j++) {
                    mpq_mul(t, f, G[(size_t)k * N + j]);
                    mpq_sub(G[(size_t)i * N + j], G[(size_t)i * N + j], t);
                }
            }
        }
    }
    mpq_clears(f, t, NULL);
    return ok;
}

static void put_monomial_text(Buf *b, const SerCtx *c, int i, char *const *names)
{
    bool any = false;
    for (int v = 0; v < c->d; v++) {
        int e = c->exps[(size_t)i * c->d + v];
        if (!e)
            continue;
        buf_printf(b, "%s%s", any ? "*" : "", names[v]);
        if (e > 1)
            buf_printf(b, "^%d", e);
        any = true;
    }
    if (!any)
        buf_puts(b, "1");
}

/* The monomial of each product z_a z_b of the basis, N x N. */
static int *products(const SerCtx *c, const int *z, int N)
{
    int *cls = xmalloc(sizeof(int) * (size_t)(N ? N * N : 1));
    unsigned char e[SER_MAX_VARS];
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            for (int v = 0; v < c->d; v++)
                e[v] = (unsigned char)(c->exps[(size_t)z[a] * c->d + v] + c->exps[(size_t)z[b] * c->d + v]);
            cls[a * N + b] = serctx_index(c, e);
        }
    return cls;
}

/* CSDP (run as a program) on an SDPA problem with one block of size N: its primal matrix X
 * (N x N, malloc'd), or NULL where it could not run or wrote no solution. */
static double *csdp_solve(const Buf *sdpa, int N)
{
    char dir[] = "/tmp/hessgen-sos-XXXXXX";
    if (!mkdtemp(dir))
        return NULL;
    Buf in = {0}, out = {0};
    buf_printf(&in, "%s/p.dat-s", dir);
    buf_printf(&out, "%s/p.sol", dir);
    FILE *f = fopen(in.data, "w");
    bool ok = f != NULL;
    if (ok) {
        fputs(sdpa->data, f);
        ok = fclose(f) == 0;
    }
    char *argv[] = {"csdp", in.data, out.data, NULL};
    Buf talk = {0}; /* its progress report, not ours to print */
    ok = ok && spawn_program("csdp", argv, &talk, true) >= 0;
    buf_free(&talk);
    FILE *s = ok ? fopen(out.data, "r") : NULL;
    double *X = NULL;
    if (s) {
        X = xcalloc((size_t)N * N, sizeof(double));
        char line[512];
        while (fgets(line, sizeof line, s)) {
            int mat, blk, i, j;
            double v;
            if (sscanf(line, "%d %d %d %d %lf", &mat, &blk, &i, &j, &v) == 5 && mat == 2 && i >= 1 && j >= 1 &&
                i <= N && j <= N)
                X[(i - 1) * N + (j - 1)] = X[(j - 1) * N + (i - 1)] = v;
        }
        fclose(s);
    }
    unlink(in.data);
    unlink(out.data);
    rmdir(dir);
    buf_free(&in);
    buf_free(&out);
    return X;
}

/* A basis of {v : A v = 0} for the r x N matrix A (reduced in place): N x K, row-major, one
 * column per free column f of A's echelon form (1 at f, minus the pivot rows' entries). */
static mpq_t *nullspace(mpq_t *A, int r, int N, int *K)
{
    int *pivot = xmalloc(sizeof(int) * (size_t)(r > 0 ? r : 1));
    int rank = row_reduce(A, r, N, pivot);
    *K = N - rank;
    int nv = N * *K;
    mpq_t *V = xmalloc(sizeof(mpq_t) * (size_t)(nv > 0 ? nv : 1));
    for (int k = 0; k < nv; k++)
        mpq_init(V[k]);
    int col = 0;
    for (int f = 0; f < N; f++) {
        bool is_pivot = false;
        for (int k = 0; k < rank; k++)
            is_pivot |= pivot[k] == f;
        if (is_pivot)
            continue;
        mpq_set_ui(V[(size_t)f * *K + col], 1, 1);
        for (int k = 0; k < rank; k++)
            mpq_neg(V[(size_t)pivot[k] * *K + col], A[(size_t)k * N + f]);
        col++;
    }
    free(pivot);
    return V;
}

/* The face CSDP's solution X (K x K) lies on, where it is singular in floating point: the
 * eigenvectors of its eigenvalues below 1e-7 of the largest (LAPACK's dsyev) span its kernel; that subspace's
 * echelon basis, rounded to small fractions, is taken as exact (a wrong guess only makes the
 * exact check fail later), and B (K x K2, K2 < K) spans its complement: H = B H' B^T. NULL
 * where X is not singular or the basis does not round. */
static mpq_t *numeric_face(const double *X, int K, int *K2, double tol)
{
    double *A = xmalloc(sizeof(double) * (size_t)K * K), *E = xmalloc(sizeof(double) * (size_t)K * K);
    double *w = xmalloc(sizeof(double) * (size_t)K);
    memcpy(E, X, sizeof(double) * (size_t)K * K); /* its eigenvectors: E's columns */
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', K, E, K, w) != 0) {
        free(A);
        free(E);
        free(w);
        return NULL;
    }
    double top = 0;
    for (int i = 0; i < K; i++)
        top = fmax(top, w[i]);
    int k0 = 0; /* the kernel's vectors as rows of A (k0 x K) */
    for (int i = 0; i < K && top > 0; i++)
        if (w[i] < 1e-7 * top) {
            for (int j = 0; j < K; j++)
                A[k0 * K + j] = E[j * K + i];
            k0++;
        }
    mpq_t *B = NULL;
    if (k0 > 0 && k0 < K) {
        /* echelon form in floating point, partial pivoting, then each row scaled to 1 at its pivot */
        int rank = 0;
        for (int col = 0; col < K && rank < k0; col++) {
            int sel = rank;
            for (int i = rank; i < k0; i++)
                if (fabs(A[i * K + col]) > fabs(A[sel * K + col]))
                    sel = i;
            if (fabs(A[sel * K + col]) < 1e-6)
                continue;
            for (int j = 0; j < K; j++) {
                double t = A[sel * K + j];
                A[sel * K + j] = A[rank * K + j];
                A[rank * K + j] = t;
            }
            double piv = A[rank * K + col];
            for (int j = 0; j < K; j++)
                A[rank * K + j] /= piv;
            for (int i = 0; i < k0; i++)
                if (i != rank) {
                    double f = A[i * K + col];
                    for (int j = 0; j < K; j++)
                        A[i * K + j] -= f * A[rank * K + j];
                }
            rank++;
        }
        mpq_t *R = xmalloc(sizeof(mpq_t) * (size_t)rank * K);
        bool ok = rank == k0;
        for (int k = 0; k < rank * K; k++) {
            mpq_init(R[k]);
            ok = ok && small_fraction(A[k], tol, R[k]);
        }
        if (ok)
            B = nullspace(R, rank, K, K2);
        for (int k = 0; k < rank * K; k++)
            mpq_clear(R[k]);
        free(R);
    }
    free(A);
    free(E);
    free(w);
    return B;
}

/* V (N x K, row-major) spanning the vectors orthogonal to z(d) for the form's nz rational zero
 * directions d (rows of dirs). */
static mpq_t *zero_complement(const SerCtx *c, const mpq_t *dirs, int nz, const int *z, int N, int *K)
{
    int d = c->d;
    mpq_t *Z = xmalloc(sizeof(mpq_t) * (size_t)nz * N); /* row k: z(d_k) */
    for (int k = 0; k < nz; k++)
        for (int a = 0; a < N; a++) {
            mpq_init(Z[(size_t)k * N + a]);
            mpq_set_ui(Z[(size_t)k * N + a], 1, 1);
            for (int v = 0; v < d; v++)
                for (int e = 0; e < c->exps[(size_t)z[a] * d + v]; e++)
                    mpq_mul(Z[(size_t)k * N + a], Z[(size_t)k * N + a], dirs[k * d + v]);
        }
    mpq_t *V = nullspace(Z, nz, N, K);
    for (int k = 0; k < nz * N; k++)
        mpq_clear(Z[k]);
    free(Z);
    return V;
}

/* The program on the face G = V H V^T: CSDP for H (K x K), rounded to multiples of 2^-bits
 * (bits = 1, 2, 4, ..., 32), projected exactly onto the constraints (least change of H's
 * entries h: h += R^T (R R^T)^-1 (P - R h)), checked semidefinite over the rationals; on
 * success G (N x N, initialised) = V H V^T. */
static bool face_gram(const SerCtx *c, const mpq_t *P, const int *cls, int N, const int *row, int nrows, const mpq_t *V,
                      int K, mpq_t *G, int depth)
{
    int nh = K * (K + 1) / 2; /* h: H's entries (i <= j), row by row */
    int *hi = xmalloc(sizeof(int) * (size_t)nh), *hj = xmalloc(sizeof(int) * (size_t)nh);
    for (int i = 0, t = 0; i < K; i++)
        for (int j = i; j < K; j++, t++)
            hi[t] = i, hj[t] = j;
    /* R: constraint r's coefficient of h_t, the sum over products z_a z_b making its monomial of
     * V_ai V_bj (+ V_aj V_bi off the diagonal) */
    mpq_t *R = xmalloc(sizeof(mpq_t) * (size_t)nrows * nh), *rhs = xmalloc(sizeof(mpq_t) * (size_t)nrows), t;
    mpq_init(t);
    for (int k = 0; k < nrows * nh; k++)
        mpq_init(R[k]);
    for (int a = 0; a < N; a++)
        for (int b = 0; b < N; b++) {
            mpq_t *r = R + (size_t)(row[cls[a * N + b]] - 1) * nh;
            for (int q = 0; q < nh; q++) {
                mpq_mul(t, V[(size_t)a * K + hi[q]], V[(size_t)b * K + hj[q]]);
                mpq_add(r[q], r[q], t);
                if (hi[q] != hj[q]) {
                    mpq_mul(t, V[(size_t)a * K + hj[q]], V[(size_t)b * K + hi[q]]);
                    mpq_add(r[q], r[q], t);
                }
            }
        }
    for (int i = 0; i < c->M; i++)
        if (row[i] > 0) {
            mpq_init(rhs[row[i] - 1]);
            mpq_set(rhs[row[i] - 1], P[i]);
        }
    Buf sdpa = {0};
    buf_printf(&sdpa, "%d\n1\n%d\n", nrows, K);
    for (int r = 0; r < nrows; r++)
        buf_printf(&sdpa, "%.17g ", mpq_get_d(rhs[r]));
    buf_puts(&sdpa, "\n");
    for (int r = 0; r < nrows; r++)
        for (int q = 0; q < nh; q++)
            if (mpq_sgn(R[(size_t)r * nh + q])) /* SDPA's symmetric entry: half of h's coefficient off the diagonal */
                buf_printf(&sdpa, "%d 1 %d %d %.17g\n", r + 1, hi[q] + 1, hj[q] + 1,
                           mpq_get_d(R[(size_t)r * nh + q]) / (hi[q] == hj[q] ? 1 : 2));
    double *X = csdp_solve(&sdpa, K);
    buf_free(&sdpa);
    /* M = R R^T (nrows x nrows, with the residual as one more column) */
    mpq_t *h = xmalloc(sizeof(mpq_t) * (size_t)nh), *M = xmalloc(sizeof(mpq_t) * (size_t)nrows * (nrows + 1));
    mpq_t *H = xmalloc(sizeof(mpq_t) * (size_t)K * K);
    for (int q = 0; q < nh; q++)
        mpq_init(h[q]);
    for (int k = 0; k < nrows * (nrows + 1); k++)
        mpq_init(M[k]);
    for (int k = 0; k < K * K; k++)
        mpq_init(H[k]);
    int *pivot = xmalloc(sizeof(int) * (size_t)nrows);
    bool found = false;
    for (int bits = 1; X && bits <= 32 && !found; bits *= 2) {
        for (int q = 0; q < nh; q++) {
            mpq_set_d(h[q], nearbyint(ldexp(X[hi[q] * K + hj[q]], bits)));
            mpq_div_2exp(h[q], h[q], (mp_bitcnt_t)bits);
        }
        int w = nrows + 1;
        for (int r = 0; r < nrows; r++) {
            mpq_t *e = M + (size_t)r * w;
            for (int s = 0; s < nrows; s++) {
                mpq_set_ui(e[s], 0, 1);
                for (int q = 0; q < nh; q++) {
                    mpq_mul(t, R[(size_t)r * nh + q], R[(size_t)s * nh + q]);
                    mpq_add(e[s], e[s], t);
                }
            }
            mpq_set(e[nrows], rhs[r]); /* the residual P - R h */
            for (int q = 0; q < nh; q++) {
                mpq_mul(t, R[(size_t)r * nh + q], h[q]);
                mpq_sub(e[nrows], e[nrows], t);
            }
        }
        int rank = row_reduce(M, nrows, w, pivot);
        if (rank > 0 && pivot[rank - 1] == nrows)
            break;                     /* R h = P has no solution: no Gram matrix on this face */
        for (int k = 0; k < rank; k++) /* lambda[pivot[k]] = M[k][nrows]; h += R^T lambda */
            for (int q = 0; q < nh; q++) {
                mpq_mul(t, R[(size_t)pivot[k] * nh + q], M[(size_t)k * w + nrows]);
                mpq_add(h[q], h[q], t);
            }
        for (int q = 0; q < nh; q++) {
            mpq_set(H[hi[q] * K + hj[q]], h[q]);
            mpq_set(H[hj[q] * K + hi[q]], h[q]);
        }
        bool definite;
        found = psd(H, K, &definite);
    }
    bool G_set = false; /* by a smaller face's call */
    /* X singular: the smaller face it lies on, V B, its basis rounded to fractions within 1e-3,
     * then closer (CSDP's X is near the face, not on it: 1e-4 off in the examples) */
    for (double tol = 1e-3; !found && X && depth < 3 && tol >= 1e-7; tol /= 10) {
        int K2 = K;
        mpq_t *B = numeric_face(X, K, &K2, tol);
        if (B && K2 > 0 && K2 < K) {
            mpq_t *VB = xmalloc(sizeof(mpq_t) * (size_t)N * K2);
            for (int a = 0; a < N; a++)
                for (int j = 0; j < K2; j++) {
                    mpq_init(VB[(size_t)a * K2 + j]);
                    for (int i = 0; i < K; i++) {
                        mpq_mul(t, V[(size_t)a * K + i], B[(size_t)i * K2 + j]);
                        mpq_add(VB[(size_t)a * K2 + j], VB[(size_t)a * K2 + j], t);
                    }
                }
            found = G_set = face_gram(c, P, cls, N, row, nrows, VB, K2, G, depth + 1);
            for (int k = 0; k < N * K2; k++)
                mpq_clear(VB[k]);
            free(VB);
        }
        if (B) {
            for (int k = 0; k < K * K2; k++)
                mpq_clear(B[k]);
            free(B);
        }
    }
    if (found && !G_set) { /* G = V H V^T, H from h again (psd eliminated in place) */
        for (int q = 0; q < nh; q++) {
            mpq_set(H[hi[q] * K + hj[q]], h[q]);
            mpq_set(H[hj[q] * K + hi[q]], h[q]);
        }
        for (int a = 0; a < N; a++)
            for (int b = 0; b < N; b++) {
                mpq_set_ui(G[(size_t)a * N + b], 0, 1);
                for (int i = 0; i < K; i++)
                    for (int j = 0; j < K; j++) {
                        mpq_mul(t, V[(size_t)a * K + i], H[i * K + j]);
                        mpq_mul(t, t, V[(size_t)b * K + j]);
                        mpq_add(G[(size_t)a * N + b], G[(size_t)a * N + b], t);
                    }
            }
    }
    for (int k = 0; k < nrows * nh; k++)
        mpq_clear(R[k]);
    for (int r = 0; r < nrows; r++)
        mpq_clear(rhs[r]);
    for (int q = 0; q < nh; q++)
        mpq_clear(h[q]);
    for (int k = 0; k < nrows * (nrows + 1); k++)
        mpq_clear(M[k]);
    for (int k = 0; k < K * K; k++)
        mpq_clear(H[k]);
    mpq_clear(t);
    free(R);
    free(rhs);
    free(h);
    free(M);
    free(H);
    free(hi);
    free(hj);
    free(pivot);
    free(X);
    return found;
}

bool sos_certificate(const Model *m, const Num *p, int sign, Buf *why, Buf *json, bool *strict, bool *flat)
{
    uint32_t n = m->nparam;
    if (n == 0 || n > SOS_MAX_PARAMS)
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!p[i].exact)
            return false;
    int deg = loss_poly_degree(m->loss);
    if (deg < 2 || deg > 16)
        return false;
    long terms = 1;
    for (int k = 1; k <= deg && terms <= SOS_MAX_TERMS; k++)
        terms = terms * ((long)n + k) / k;
    SerCtx c;
    if (terms > SOS_MAX_TERMS || !serctx_init(&c, (int)n, deg))
        return false;
    /* 1. P(u) = sign * (L(p + u) - L(p)) */
    Ser *th = xmalloc(sizeof(Ser) * n);
    for (uint32_t i = 0; i < n; i++) {
        th[i] = ser_new(&c);
        unsigned char e[SER_MAX_VARS] = {0};
        e[i] = 1;
        num_set(&th[i][0], &p[i]);
        num_set_si(&th[i][serctx_index(&c, e)], 1, 1);
    }
    SerEval ev;
    sereval_init(&ev, &c, th, n);
    const Num *L = sereval(&ev, m->loss);
    bool ok = L != NULL;
    mpq_t *P = xmalloc(sizeof(mpq_t) * (size_t)c.M);
    int lo = -1, hi = -1;
    for (int i = 0; i < c.M; i++) {
        mpq_init(P[i]);
        if (!ok || i == 0)
            continue;
        if (!L[i].exact) {
            ok = false;
            continue;
        }
        mpq_set(P[i], L[i].q);
        if (sign < 0)
            mpq_neg(P[i], P[i]);
        if (mpq_sgn(P[i])) {
            if (lo < 0)
                lo = c.deg[i];
            hi = c.deg[i];
        }
    }
    sereval_free(&ev);
    for (uint32_t i = 0; i < n; i++)
        ser_free(&c, th[i]);
    free(th);
    ok = ok && lo >= 2 && lo % 2 == 0 && hi % 2 == 0;
    /* 2. the basis: monomials of degree lo/2 .. hi/2 */
    int *z = NULL, N = 0;
    if (ok) {
        z = xmalloc(sizeof(int) * (size_t)c.M);
        for (int i = 1; i < c.M; i++)
            if (c.deg[i] >= lo / 2 && c.deg[i] <= hi / 2)
                z[N++] = i;
        ok = N <= SOS_MAX_BASIS;
    }
    /* the class of each product z_a z_b: its monomial */
    int *cls = NULL;
    if (ok) {
        cls = products(&c, z, N);
        /* facial reduction by the diagonal (Permenter and Parrilo 2014): when z_a z_a is the only
         * product that makes the monomial z_a^2 and P has no such term, every Gram matrix has
         * G_aa = 0, so its row a is 0 (G is semidefinite): z_a is dropped, and the rest looked
         * at again. Without it the Gram matrix of a loss with zeros besides p is singular, and
         * its rounding misses the face it lies on. A square P has with a negative coefficient,
         * made by no other product, rules out every sum of squares. */
        for (bool dropped = true; dropped && ok;) {
            dropped = false;
            for (int a = 0; a < N && ok && !dropped; a++) {
                int sq = cls[a * N + a], makers = 0;
                for (int k = 0; k < N * N; k++)
                    makers += cls[k] == sq;
                if (makers > 1 || mpq_sgn(P[sq]) > 0)
                    continue;
                if (mpq_sgn(P[sq]) < 0) {
                    ok = false;
                    break;
                }
                memmove(z + a, z + a + 1, sizeof(int) * (size_t)(N - a - 1));
                N--;
                free(cls);
                cls = products(&c, z, N);
                dropped = true;
            }
        }
        ok = ok && N > 0;
        /* a monomial of P that no product makes: no sum of squares in this basis */
        bool *made = xcalloc((size_t)c.M, 1);
        for (int k = 0; k < N * N; k++)
            made[cls[k]] = true;
        for (int i = 1; i < c.M && ok; i++)
            ok = !mpq_sgn(P[i]) || made[i];
        free(made);
    }
    /* general facial reduction (Permenter and Parrilo): where P is a form that vanishes along
     * rational directions d besides 0, every Gram matrix has G z(d) = 0 (z(d)^T G z(d) =
     * P(d) = 0 and G >= 0), so G = V H V^T with V a basis of those vectors' complement: the
     * program is solved for H, whose face has room for a definite H, where G's own rounding
     * would miss the face of a singular G (zeros on lines in general position) */
    mpq_t *V = NULL, *dirs = xmalloc(sizeof(mpq_t) * (size_t)SOS_ZEROS * n);
    for (uint32_t k = 0; k < SOS_ZEROS * n; k++)
        mpq_init(dirs[k]);
    int K = N, nz = 0;
    if (ok && lo == hi && n >= 2 && N <= SOS_FACE_MAX)
        nz = form_zero_directions(&c, P, lo, dirs, SOS_ZEROS);
    if (nz > 0)
        V = zero_complement(&c, dirs, nz, z, N, &K);
    ok = ok && K > 0;
    /* 3. CSDP on the SDPA problem: every monomial some product makes is a constraint, in index
     * order (row[i] its number, 1-based) */
    double *X = NULL;
    int *row = NULL, nrows = 0;
    if (ok) {
        row = xcalloc((size_t)c.M, sizeof(int));
        for (int k = 0; k < N * N; k++)
            row[cls[k]] = -1;
        for (int i = 0; i < c.M; i++)
            if (row[i] == -1)
                row[i] = ++nrows;
    }
    if (ok && !V) {
        Buf sdpa = {0};
        buf_printf(&sdpa, "%d\n1\n%d\n", nrows, N);
        for (int i = 0; i < c.M; i++)
            if (row[i] > 0)
                buf_printf(&sdpa, "%.17g ", mpq_get_d(P[i]));
        buf_puts(&sdpa, "\n");
        for (int a = 0; a < N; a++)
            for (int b = a; b < N; b++)
                buf_printf(&sdpa, "%d 1 %d %d 1.0\n", row[cls[a * N + b]], a + 1, b + 1);
        X = csdp_solve(&sdpa, N);
        buf_free(&sdpa);
        ok = X != NULL;
    }
    /* 4. round, project, check */
    bool found = false, definite = false;
    mpq_t *G = NULL, *W = NULL;
    if (ok && V) {
        G = xmalloc(sizeof(mpq_t) * (size_t)N * N);
        W = xmalloc(sizeof(mpq_t) * (size_t)N * N);
        for (int k = 0; k < N * N; k++)
            mpq_inits(G[k], W[k], NULL);
        found = face_gram(&c, P, cls, N, row, nrows, V, K, G, 0);
    } else if (ok) {
        G = xmalloc(sizeof(mpq_t) * (size_t)N * N);
        W = xmalloc(sizeof(mpq_t) * (size_t)N * N);
        for (int k = 0; k < N * N; k++)
            mpq_inits(G[k], W[k], NULL);
        mpq_t *sum = xmalloc(sizeof(mpq_t) * (size_t)c.M);
        int *count = xcalloc((size_t)c.M, sizeof(int));
        for (int i = 0; i < c.M; i++)
            mpq_init(sum[i]);
        for (int k = 0; k < N * N; k++)
            count[cls[k]]++;
        for (int bits = 1; bits <= 32 && !found; bits *= 2) {
            for (int k = 0; k < N * N; k++) { /* the nearest multiple of 2^-bits */
                mpq_set_d(G[k], nearbyint(ldexp(X[k], bits)));
                mpq_div_2exp(G[k], G[k], (mp_bitcnt_t)bits);
            }
            for (int i = 0; i < c.M; i++)
                mpq_set_ui(sum[i], 0, 1);
            for (int k = 0; k < N * N; k++)
                mpq_add(sum[cls[k]], sum[cls[k]], G[k]);
            mpq_t t;
            mpq_init(t);
            for (int k = 0; k < N * N; k++) { /* G_ab += (P_m - sum_m) / count_m */
                int i = cls[k];
                mpq_sub(t, P[i], sum[i]);
                mpz_mul_ui(mpq_denref(t), mpq_denref(t), (unsigned long)count[i]);
                mpq_canonicalize(t);
                mpq_add(G[k], G[k], t);
            }
            mpq_clear(t);
            for (int k = 0; k < N * N; k++)
                mpq_set(W[k], G[k]);
            found = psd(W, N, &definite);
        }
        for (int i = 0; i < c.M; i++)
            mpq_clear(sum[i]);
        free(sum);
        free(count);
    }
    if (found) {
        /* strict: G definite and z holds every monomial of degree lo/2 */
        long full = 1;
        for (int k = 1; k <= lo / 2; k++)
            full = full * ((long)n + k - 1) / k;
        int have = 0;
        for (int a = 0; a < N; a++)
            have += c.deg[z[a]] == lo / 2;
        *strict = definite && have == full;
        char **names = xmalloc(sizeof(char *) * n);
        for (uint32_t v = 0; v < n; v++) {
            Buf nm = {0};
            if (p[v].exact && mpq_sgn(p[v].q) == 0)
                buf_puts(&nm, m->param_names[v]);
            else
                buf_printf(&nm, "d%s", m->param_names[v]);
            names[v] = nm.data;
        }
        buf_printf(why, "%s = m^T G m for the %d monomials m = (", sign > 0 ? "L - L(p)" : "L(p) - L", N);
        buf_printf(json, "{\"kind\": \"sos\", \"sign\": %d, \"variables\": [", sign);
        for (uint32_t v = 0; v < n; v++) {
            buf_puts(json, v ? ", " : "");
            json_string(json, names[v]);
        }
        buf_puts(json, "], \"basis\": [");
        for (int a = 0; a < N; a++) {
            Buf t = {0};
            put_monomial_text(&t, &c, z[a], names);
            buf_printf(why, "%s%s", a ? ", " : "", t.data);
            buf_puts(json, a ? ", " : "");
            json_string(json, t.data);
            buf_free(&t);
        }
        buf_printf(why,
                   ") in u = theta - p and an exact positive %sdefinite G (CSDP%s, rounded and checked over the "
                   "rationals)",
                   definite ? "" : "semi", V ? " on the face where G z(d) = 0 for the directions d where it is 0" : "");
        if (nz > 0) { /* P is a form: 0 at d, so 0 along the whole line */
            *flat = true;
            buf_printf(why, "; it is a form of degree %d and 0 at d = (", lo);
            for (uint32_t v = 0; v < n; v++) {
                char *q = mpq_get_str(NULL, 10, dirs[v]);
                buf_printf(why, "%s%s", v ? ", " : "", q);
                free(q);
            }
            buf_printf(why, "), so the loss equals its value along the line p + t*d: the %s is not strict",
                       sign > 0 ? "minimum" : "maximum");
        }
        buf_puts(json, "], \"gram\": [");
        for (int a = 0; a < N; a++) {
            buf_puts(json, a ? ", [" : "[");
            for (int b = 0; b < N; b++) {
                char *q = mpq_get_str(NULL, 10, G[a * N + b]);
                buf_puts(json, b ? ", " : "");
                json_string(json, q);
                free(q);
            }
            buf_puts(json, "]");
        }
        buf_printf(json, "], \"strict\": %s", *strict ? "true" : nz > 0 ? "false" : "null");
        if (nz > 0) { /* the line of equal values (p + t*d) */
            buf_puts(json, ", \"line\": [");
            for (uint32_t v = 0; v < n; v++) {
                char *q = mpq_get_str(NULL, 10, dirs[v]);
                buf_puts(json, v ? ", " : "");
                json_string(json, q);
                free(q);
            }
            buf_puts(json, "]");
        }
        buf_puts(json, "}");
        for (uint32_t v = 0; v < n; v++)
            free(names[v]);
        free(names);
    }
    if (G) {
        for (int k = 0; k < N * N; k++)
            mpq_clears(G[k], W[k], NULL);
        free(G);
        free(W);
    }
    free(X);
    free(cls);
    free(z);
    free(row);
    for (uint32_t k = 0; k < SOS_ZEROS * n; k++)
        mpq_clear(dirs[k]);
    free(dirs);
    if (V) {
        for (int k = 0; k < N * K; k++)
            mpq_clear(V[k]);
        free(V);
    }
    for (int i = 0; i < c.M; i++)
        mpq_clear(P[i]);
    free(P);
    serctx_free(&c);
    return found;
}
