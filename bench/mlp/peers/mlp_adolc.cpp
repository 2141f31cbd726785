// The ADOL-C peer of bench/mlp/peers/: the MLP's loss taped once as a loop over the rows, then
// ADOL-C's `hessian` driver (and `gradient`) timed on that tape and checked against the
// generated M_hess (the generated --loops=always file, linked in) on the same rows.
//
//   mlp_adolc WIDTHS ROWS REPS [GRAD_REPS]
//
// Rows are the first ROWS rows of common.h's data set (the same values as the other drivers'
// first ROWS rows), theta the same as theirs. The first call of `hessian` is the check and the
// warm-up; then REPS timed calls. Prints "tape_s", "tapestats" (operations; and whether any
// part of the tape went to a file: the buffers are sized from ROWS so that it does not),
// "hessian_median_s" with its runs and CPU time, "gradient_median_s", and the largest
// difference from the generated loss, gradient and Hessian (lower triangle, which is what
// `hessian` fills) as a fraction of the largest |entry|; exit 1 beyond 1e-9.
//
// ADOL-C's `hessian(tag, N, x, H)` is N Hessian-vector products (hess_vec), each a first-order
// forward sweep and a second-order reverse sweep over the whole tape: its cost is N times the
// tape's length, which is linear in ROWS.
#include <adolc/adolc.h>

#include <vector>

#include "common.h"
#include "gen.h"

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: mlp_adolc WIDTHS ROWS REPS [GRAD_REPS]\n");
        return 2;
    }
    mlp_shape sh;
    if (mlp_parse(argv[1], &sh) || sh.n[0] != 2 || sh.L < 2) {
        fprintf(stderr, "mlp_adolc: bad widths '%s'\n", argv[1]);
        return 2;
    }
    const size_t n = strtoull(argv[2], NULL, 10);
    const int reps = atoi(argv[3]);
    const int greps = argc == 5 ? atoi(argv[4]) : 5;
    if (n == 0 || reps < 1 || greps < 1)
        return 2;
    const int N = sh.N, L = sh.L;
    const int *w = sh.n;
    if (N != M_NPARAM) {
        fprintf(stderr, "mlp_adolc: %d parameters, the generated model has %d\n", N, M_NPARAM);
        return 1;
    }
    std::vector<double> X(2 * n), t(n), theta(N);
    md_make_data(n, X.data(), t.data());
    md_make_theta(N, theta.data());

    // per row: sum over layers of n_l n_{l-1} (a product and an addition each) + n_l (the bias,
    // tanh) + the square; locations about 3 per operation; constants (values) fewer than
    // operations. Generous: tapestats below says whether anything went to a file.
    size_t perrow = 16;
    for (int l = 1; l <= L; l++)
        perrow += 2 * (size_t)w[l] * (w[l - 1] + 1) + 4 * (size_t)w[l];
    const size_t obs = perrow * n * 5 / 4 + 65536, lbs = 4 * obs, vbs = obs,
                 tbs = 3 * obs;
    const short tag = 1;
    double t0 = md_now();
    trace_on(tag, 0, obs, lbs, vbs, tbs, 0);
    {
        std::vector<adouble> p(N);
        for (int k = 0; k < N; k++)
            p[k] <<= theta[k];
        adouble sum = 0.0;
        int mx = 1;
        for (int l = 0; l <= L; l++)
            if (w[l] > mx)
                mx = w[l];
        std::vector<adouble> prev(mx), cur(mx);
        for (size_t i = 0; i < n; i++) {
            const double *xi = &X[2 * i];
            // layer 1 reads the data (passive doubles)
            for (int k = 0; k < w[1]; k++) {
                adouble s = p[mlp_idx(&sh, 1, k, 2)];
                s += p[mlp_idx(&sh, 1, k, 0)] * xi[0];
                s += p[mlp_idx(&sh, 1, k, 1)] * xi[1];
                prev[k] = tanh(s);
            }
            for (int l = 2; l < L; l++) {
                for (int k = 0; k < w[l]; k++) {
                    adouble s = p[mlp_idx(&sh, l, k, w[l - 1])];
                    for (int j = 0; j < w[l - 1]; j++)
                        s += p[mlp_idx(&sh, l, k, j)] * prev[j];
                    cur[k] = tanh(s);
                }
                for (int k = 0; k < w[l]; k++)
                    prev[k] = cur[k];
            }
            adouble f = p[mlp_idx(&sh, L, 0, w[L - 1])];
            for (int j = 0; j < w[L - 1]; j++)
                f += p[mlp_idx(&sh, L, 0, j)] * prev[j];
            adouble r = f - t[i];
            sum += r * r;
        }
        adouble loss = sum / (double)n;
        double lv;
        loss >>= lv;
    }
    trace_off();
    const double tape_s = md_now() - t0;
    size_t st[STAT_SIZE];
    tapestats(tag, st);
    printf("tape_s %.6g\n", tape_s);
    printf("tapestats operations %zu locations %zu values %zu; on file: operations %zu "
           "locations %zu values %zu\n",
           st[NUM_OPERATIONS], st[NUM_LOCATIONS], st[NUM_VALUES], st[OP_FILE_ACCESS],
           st[LOC_FILE_ACCESS], st[VAL_FILE_ACCESS]);

    double **H = myalloc2(N, N);
    std::vector<double> g(N);
    double fval;
    if (zos_forward(tag, 1, N, 0, theta.data(), &fval) < 0 ||
        gradient(tag, N, theta.data(), g.data()) < 0) {
        fprintf(stderr, "mlp_adolc: an ADOL-C driver failed\n");
        return 1;
    }
    // first call: check (and warm-up)
    double c1 = md_now();
    if (hessian(tag, N, theta.data(), H) < 0) {
        fprintf(stderr, "mlp_adolc: hessian failed\n");
        return 1;
    }
    printf("first_hessian_s %.6g\n", md_now() - c1);
    M_data d;
    size_t counts[1] = {n};
    const double *arrays[2] = {X.data(), t.data()};
    if (M_data_bind(&d, counts, arrays) != 0)
        return 1;
    std::vector<double> gg(N), gh((size_t)N * N);
    const double gl = M_hess(theta.data(), &d, gg.data(), gh.data());
    double dh = 0.0, hs = 0.0, dg = 0.0, gs = 0.0;
    int ar = 0, ac = 0;
    for (int r = 0; r < N; r++) {
        for (int c = 0; c <= r; c++) {
            double e = fabs(H[r][c] - gh[(size_t)r * N + c]);
            if (!(e == e))
                e = INFINITY;
            if (e > dh) {
                dh = e;
                ar = r;
                ac = c;
            }
            if (fabs(gh[(size_t)r * N + c]) > hs)
                hs = fabs(gh[(size_t)r * N + c]);
        }
        double e = fabs(g[r] - gg[r]);
        if (!(e == e))
            e = INFINITY;
        if (e > dg)
            dg = e;
        if (fabs(gg[r]) > gs)
            gs = fabs(gg[r]);
    }
    const double dl = fabs(fval - gl) / fabs(gl);
    const bool ok = dh <= 1e-9 * hs && dg <= 1e-9 * gs && dl <= 1e-9;
    char rname[64], cname[64];
    M_param_name(ar, rname, sizeof rname);
    M_param_name(ac, cname, sizeof cname);
    printf("check adolc (%zu rows): Hessian max|diff| %.3g = %.3g * max|H| (max|H| %.4g) at "
           "H[%s][%s] = %.17g vs %.17g; gradient max|diff| %.3g * max|g|; loss rel %.3g; %s\n",
           n, dh, dh / hs, hs, rname, cname, H[ar][ac],
           gh[(size_t)ar * N + ac], dg / gs, dl, ok ? "ok (tolerance 1e-9)" : "FAIL (tolerance 1e-9)");
    printf("err adolc %.6g\n", dh / hs);
    if (!ok) {
        fprintf(stderr, "mlp_adolc: ADOL-C and the generated code DISAGREE\n");
        return 1;
    }

    std::vector<double> th(reps), uh(reps), tg(greps);
    for (int k = 0; k < reps; k++) {
        double c = md_cpu_now(), a = md_now();
        int rc = hessian(tag, N, theta.data(), H);
        th[k] = md_now() - a;
        uh[k] = md_cpu_now() - c;
        if (rc < 0)
            return 1;
    }
    for (int k = 0; k < greps; k++) {
        double a = md_now();
        gradient(tag, N, theta.data(), g.data());
        tg[k] = md_now() - a;
    }
    printf("adolc median_s %.6g runs_s", md_median(th.data(), reps));
    for (int k = 0; k < reps; k++)
        printf(" %.6g", th[k]);
    printf("\nadolc cpu_median_s %.6g\n", md_median(uh.data(), reps));
    printf("adolc_grad median_s %.6g runs_s", md_median(tg.data(), greps));
    for (int k = 0; k < greps; k++)
        printf(" %.6g", tg[k]);
    printf("\n");
    myfree2(H);
    return 0;
}
