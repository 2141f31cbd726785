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

#include "internal.h"

enum { SOS_MAX_PARAMS = 8, SOS_MAX_TERMS = 4000, SOS_MAX_BASIS = 60 };

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

bool sos_certificate(const Model *m, const Num *p, int sign, Buf *why, Buf *json, bool *strict)
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
    /* 3. CSDP on the SDPA file */
    double *X = NULL;
    char dir[] = "/tmp/hessgen-sos-XXXXXX";
    bool have_dir = false;
    if (ok) {
        have_dir = mkdtemp(dir) != NULL;
        ok = have_dir;
    }
    Buf in = {0}, out = {0};
    if (ok) {
        buf_printf(&in, "%s/p.dat-s", dir);
        buf_printf(&out, "%s/p.sol", dir);
        FILE *f = fopen(in.data, "w");
        ok = f != NULL;
        if (ok) {
            /* constraints: every monomial some product makes, in index order */
            int *row = xmalloc(sizeof(int) * (size_t)c.M), nrows = 0;
            for (int i = 0; i < c.M; i++)
                row[i] = 0;
            for (int k = 0; k < N * N; k++)
                if (!row[cls[k]])
                    row[cls[k]] = -1;
            for (int i = 0; i < c.M; i++)
                if (row[i] == -1)
                    row[i] = ++nrows;
            fprintf(f, "%d\n1\n%d\n", nrows, N);
            for (int i = 0; i < c.M; i++)
                if (row[i] > 0)
                    fprintf(f, "%.17g ", mpq_get_d(P[i]));
            fprintf(f, "\n");
            for (int a = 0; a < N; a++)
                for (int b = a; b < N; b++)
                    fprintf(f, "%d 1 %d %d 1.0\n", row[cls[a * N + b]], a + 1, b + 1);
            free(row);
            ok = fclose(f) == 0;
        }
        char *argv[] = {"csdp", in.data, out.data, NULL};
        Buf talk = {0}; /* its progress report, not ours to print */
        ok = ok && spawn_program("csdp", argv, &talk, true) >= 0;
        buf_free(&talk);
        FILE *s = ok ? fopen(out.data, "r") : NULL;
        ok = s != NULL;
        if (ok) {
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
    }
    if (have_dir)
        rmdir(dir);
    /* 4. round, project, check */
    bool found = false, definite = false;
    mpq_t *G = NULL, *W = NULL;
    if (ok) {
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
                   ") in u = theta - p and an exact positive %sdefinite G (CSDP, rounded and checked over the "
                   "rationals)",
                   definite ? "" : "semi");
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
        buf_printf(json, "], \"strict\": %s}", *strict ? "true" : "null");
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
    buf_free(&in);
    buf_free(&out);
    for (int i = 0; i < c.M; i++)
        mpq_clear(P[i]);
    free(P);
    serctx_free(&c);
    return found;
}
