/* Driver of bench/mlp/peers/: checks and times, on one MLP, the generated Hessian against its
 * peers. Built by bench.py with the generated file (prefix M, --loops=always) and, with
 * -DHAVE_UNROLLED, the generated --loops=never file (prefix U, its U_hess alone).
 *
 *   mlp_bench WIDTHS ROWS ROUNDS [CD_ROUNDS]      e.g. mlp_bench 2,8,8,1 1000 11 5
 *
 * 1. checks that the generated parameters are, in order, the ones common.h's mlp_idx names;
 * 2. evaluates M_hess (the reference) and each peer once (that is also the warm-up) and
 *    prints their largest differences from it: the hand-written BLAS peers (Gauss-Newton by
 *    dsyrk, and folded into the block products), the unrolled generated code, and central
 *    differences of the generated gradient (approximate: reported, not checked);
 *    exit 1 if an exact one differs by more than 1e-9 * max|H| (gradient: 1e-9 * max|g|);
 * 3. times ROUNDS rounds, each calling every method once in turn (central differences only in
 *    the first CD_ROUNDS rounds), and prints per method "NAME median_s M runs_s ...",
 *    "NAME cpu_median_s C" and "NAME min_s m". */
#define _POSIX_C_SOURCE 200809L /* clock_gettime under -std=c99 */
#include <cblas.h>

#include "common.h"
#include "gen.h"
#include "mlp_hand.h"
#ifdef HAVE_UNROLLED
#include "genu.h"
#endif

#define NB 128 /* rows per block of the hand peers */
#define TOL 1e-9

static mlp_shape sh;

static void entry_name(int idx, char *buf, size_t len)
{
    M_param_name(idx, buf, len);
}

/* prints and checks one comparison against the reference; returns 1 on failure */
static int compare(const char *what, double loss, const double *g, const double *H, double rl,
                   const double *rg, const double *rH, int exact)
{
    const int N = sh.N;
    size_t at, gat;
    double hs, gs;
    double dh = md_maxdiff(H, rH, (size_t)N * N, &at, &hs);
    double dg = g ? md_maxdiff(g, rg, (size_t)N, &gat, &gs) : 0.0;
    double dl = fabs(loss - rl) / (fabs(rl) > 0 ? fabs(rl) : 1.0);
    char rn[64], cn[64];
    entry_name((int)(at / N), rn, sizeof rn);
    entry_name((int)(at % N), cn, sizeof cn);
    double asym = 0.0;
    for (int a = 0; a < N; a++)
        for (int b = 0; b < a; b++)
            if (fabs(H[(size_t)a * N + b] - H[(size_t)b * N + a]) > asym)
                asym = fabs(H[(size_t)a * N + b] - H[(size_t)b * N + a]);
    const int bad = exact && !(dh <= TOL * hs && (!g || dg <= TOL * gs) && dl <= TOL);
    printf("check %s: Hessian max|diff| %.3g = %.3g * max|H| (max|H| %.4g) at H[%s][%s] = %.17g vs "
           "%.17g; asymmetry %.3g",
           what, dh, dh / hs, hs, rn, cn, H[at], rH[at], asym);
    if (g)
        printf("; gradient max|diff| %.3g * max|g|; loss rel %.3g", dg / gs, dl);
    printf("; %s\n", exact ? (bad ? "FAIL (tolerance 1e-9)" : "ok (tolerance 1e-9)")
                           : "approximate: not checked");
    printf("err %s %.6g\n", what, dh / hs);
    return bad;
}

/* central differences of M_grad: column j from theta +- h e_j, h = 1e-5 max(1, |theta_j|);
   then (H + H^T) / 2 */
static void central(const double *theta, const M_data *d, double *th, double *gp, double *gm,
                    double *H)
{
    const int N = sh.N;
    memcpy(th, theta, (size_t)N * sizeof(double));
    for (int j = 0; j < N; j++) {
        const double h = 1e-5 * (fabs(theta[j]) > 1.0 ? fabs(theta[j]) : 1.0);
        th[j] = theta[j] + h;
        const double hp = th[j] - theta[j]; /* the step as represented */
        M_grad(th, d, gp);
        th[j] = theta[j] - h;
        const double hm = theta[j] - th[j];
        M_grad(th, d, gm);
        th[j] = theta[j];
        const double inv = 1.0 / (hp + hm);
        for (int k = 0; k < N; k++)
            H[(size_t)k * N + j] = (gp[k] - gm[k]) * inv;
    }
    for (int a = 0; a < N; a++)
        for (int b = 0; b < a; b++) {
            const double v = 0.5 * (H[(size_t)a * N + b] + H[(size_t)b * N + a]);
            H[(size_t)a * N + b] = H[(size_t)b * N + a] = v;
        }
}

enum { GEN, UNR, HAND, HAND2, GRAD, CD, NMETH };
static const char *mname[NMETH] = {"gen", "unrolled", "hand", "hand_merged", "grad", "central"};

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: mlp_bench WIDTHS ROWS ROUNDS [CD_ROUNDS]\n");
        return 2;
    }
    if (mlp_parse(argv[1], &sh) || sh.n[0] != 2 || sh.L < 2) {
        fprintf(stderr, "mlp_bench: bad widths '%s' (2,...,1)\n", argv[1]);
        return 2;
    }
    const size_t n = strtoull(argv[2], NULL, 10);
    const int rounds = atoi(argv[3]), cdr = argc == 5 ? atoi(argv[4]) : rounds;
    if (n == 0 || rounds < 1 || cdr < 1 || cdr > rounds)
        return 2;
    openblas_set_num_threads(1);
    printf("blas %s; core %s; threads %d\n", openblas_get_config(), openblas_get_corename(),
           openblas_get_num_threads());
    const int N = sh.N;

    /* 1. the parameters' order */
    if (M_NPARAM != N) {
        fprintf(stderr, "mlp_bench: the generated model has %d parameters, widths %s give %d\n",
                M_NPARAM, argv[1], N);
        return 1;
    }
    for (int l = 1; l <= sh.L; l++)
        for (int k = 0; k < sh.n[l]; k++)
            for (int j = 0; j <= sh.n[l - 1]; j++) {
                char buf[64], got[64], unrolled[64] = "";
                mlp_name(&sh, l, k, j, buf, sizeof buf);
                int idx = mlp_idx(&sh, l, k, j);
                M_param_name(idx, got, sizeof got);
#ifdef HAVE_UNROLLED
                U_param_name(idx, unrolled, sizeof unrolled);
#else
                strcpy(unrolled, buf);
#endif
                if (strcmp(got, buf) != 0 || strcmp(unrolled, buf) != 0) {
                    fprintf(stderr, "mlp_bench: parameter %d is %s (unrolled: %s), expected %s\n", idx,
                            got, unrolled, buf);
                    return 1;
                }
            }
    printf("params %d: order checked against M_param_name (W1[k][j] row-major, b1, ..., w%d, c)\n",
           N, sh.L);

    double *X = (double *)malloc(2 * n * sizeof(double)), *t = (double *)malloc(n * sizeof(double));
    double *theta = (double *)malloc((size_t)N * sizeof(double));
    md_make_data(n, X, t);
    md_make_theta(N, theta);
    M_data d;
    {
        size_t counts[1] = {n};
        const double *arrays[2] = {X, t};
        if (M_data_bind(&d, counts, arrays) != 0) {
            fprintf(stderr, "mlp_bench: M_data_bind failed\n");
            return 1;
        }
    }
#ifdef HAVE_UNROLLED
    U_data du;
    {
        size_t counts[1] = {n};
        const double *arrays[2] = {X, t};
        if (U_data_bind(&du, counts, arrays) != 0)
            return 1;
    }
#endif
    const size_t NN = (size_t)N * N;
    double *rg = (double *)malloc((size_t)N * sizeof(double)), *rH = (double *)malloc(NN * sizeof(double));
    double *g = (double *)malloc((size_t)N * sizeof(double)), *H = (double *)malloc(NN * sizeof(double));
    double *th = (double *)malloc((size_t)N * sizeof(double));
    double *gp = (double *)malloc((size_t)N * sizeof(double)), *gm = (double *)malloc((size_t)N * sizeof(double));
    const char *nbe = getenv("MLP_NB"); /* rows per block of the hand peers (default NB) */
    const int nb = nbe && atoi(nbe) > 0 ? atoi(nbe) : NB;
    printf("hand peers: rows in blocks of %d\n", nb);
    mlp_hand_ws *ws = mlp_hand_alloc(&sh, nb, 1), *ws2 = mlp_hand_alloc(&sh, nb, 0);
    if (!X || !t || !theta || !rg || !rH || !g || !H || !th || !gp || !gm || !ws || !ws2) {
        fprintf(stderr, "mlp_bench: out of memory\n");
        return 1;
    }

    /* 2. reference and checks (each peer's first call: the warm-up) */
    int fails = 0;
    const double rl = M_hess(theta, &d, rg, rH);
    printf("gen: loss %.17g H[0][0] %.17g H[N-1][N-2] %.17g\n", rl, rH[0], rH[NN - 2]);
    {
        double *g2 = (double *)malloc((size_t)N * sizeof(double));
        double l2 = M_grad(theta, &d, g2);
        size_t at;
        double s;
        double e = md_maxdiff(g2, rg, (size_t)N, &at, &s);
        printf("check M_grad vs M_hess's gradient: max|diff| %.3g * max|g|, loss %.3g\n", e / s,
               fabs(l2 - rl));
        free(g2);
    }
    double l;
    l = mlp_hand_hess(ws, theta, n, X, t, g, H);
    fails += compare("hand", l, g, H, rl, rg, rH, 1);
    l = mlp_hand_hess(ws2, theta, n, X, t, g, H);
    fails += compare("hand_merged", l, g, H, rl, rg, rH, 1);
#ifdef HAVE_UNROLLED
    l = U_hess(theta, &du, g, H);
    fails += compare("unrolled", l, g, H, rl, rg, rH, 1);
#endif
    central(theta, &d, th, gp, gm, H);
    compare("central", rl, NULL, H, rl, rg, rH, 0);
    if (fails) {
        fprintf(stderr, "mlp_bench: a peer DISAGREES with the generated Hessian\n");
        return 1;
    }

    /* 3. timing */
    double *wall[NMETH], *cpu[NMETH];
    int cnt[NMETH] = {0};
    for (int k = 0; k < NMETH; k++) {
        wall[k] = (double *)malloc((size_t)rounds * sizeof(double));
        cpu[k] = (double *)malloc((size_t)rounds * sizeof(double));
    }
    volatile double sink = 0.0;
    for (int rd = 0; rd < rounds; rd++) {
        for (int k = 0; k < NMETH; k++) {
#ifndef HAVE_UNROLLED
            if (k == UNR)
                continue;
#endif
            if (k == CD && rd >= cdr)
                continue;
            double c0 = md_cpu_now(), w0 = md_now();
            switch (k) {
            case GEN: sink += M_hess(theta, &d, g, H); break;
#ifdef HAVE_UNROLLED
            case UNR: sink += U_hess(theta, &du, g, H); break;
#endif
            case HAND: sink += mlp_hand_hess(ws, theta, n, X, t, g, H); break;
            case HAND2: sink += mlp_hand_hess(ws2, theta, n, X, t, g, H); break;
            case GRAD: sink += M_grad(theta, &d, g); break;
            case CD: central(theta, &d, th, gp, gm, H); sink += H[0]; break;
            }
            wall[k][cnt[k]] = md_now() - w0;
            cpu[k][cnt[k]] = md_cpu_now() - c0;
            cnt[k]++;
        }
    }
    for (int k = 0; k < NMETH; k++) {
        if (!cnt[k])
            continue;
        double mn = wall[k][0];
        printf("%s median_s %.6g runs_s", mname[k], md_median(wall[k], cnt[k]));
        for (int r = 0; r < cnt[k]; r++) {
            printf(" %.6g", wall[k][r]);
            if (wall[k][r] < mn)
                mn = wall[k][r];
        }
        printf("\n%s cpu_median_s %.6g\n%s min_s %.6g\n", mname[k], md_median(cpu[k], cnt[k]),
               mname[k], mn);
    }
    (void)sink;
    mlp_hand_free(ws);
    mlp_hand_free(ws2);
    return 0;
}
