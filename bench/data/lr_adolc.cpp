// The ADOL-C peer of bench/data/: the same loss taped as a loop over the rows, once; then
// ADOL-C's `hessian` driver (and `gradient`) timed on that tape, and checked against the
// generated lr_hess (linked in from one build of the generated file).
//
//   lr_adolc N REPS [GRAD_REPS]
//
// Prints "tape_s" (taping once), "tapestats" (operations, and whether any part of the tape went
// to a file), "hessian_median_s" and its runs, "gradient_median_s" and its runs, and the
// largest differences from the generated loss, gradient and Hessian, entrywise relative and
// relative to the sum of the terms' absolute values (common.h, bd_scales); exit 1 if either
// exceeds 1e-10.
//
// The loss per row is softplus(m) = log(1 + exp(m)) with m = -y (x . w + b): ADOL-C has no
// softplus or log1p, and on this data |m| stays small (< 10), so the plain formula is exact to
// a few ulps; hessgen uses a branch-free-of-overflow form (lr_softplus) with the same value.
// Every buffer (operations, locations, values, Taylors) is sized from N so that the tape and
// the Taylor stack stay in memory: nothing is written to disk.
#include <adolc/adolc.h>

#include <vector>

#include "common.h"
#include "lr.h"

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: lr_adolc N REPS [GRAD_REPS]\n");
        return 2;
    }
    const size_t n = strtoull(argv[1], NULL, 10);
    const int reps = atoi(argv[2]);
    const int greps = argc == 4 ? atoi(argv[3]) : reps;
    if (n == 0 || reps < 1 || greps < 1)
        return 2;
    std::vector<double> X(n * NF), y(n);
    bd_make_data(n, X.data(), y.data());
    double theta[NP];
    bd_make_theta(theta);

    // per row: 1 assignment, 50 (multiply by a constant, +=), then -y*, exp, +1, log, +=
    // about 110 operations, 330 locations, 51 constants; the Taylor buffer holds up to
    // 2 values per operation for hess_vec's second-order sweep. Generous margins.
    const unsigned obs = (unsigned)(130 * n + 4096), lbs = (unsigned)(400 * n + 4096),
                   vbs = (unsigned)(60 * n + 4096), tbs = (unsigned)(300 * n + 4096);
    const short tag = 1;
    double t0 = bd_now();
    trace_on(tag, 0, obs, lbs, vbs, tbs, 0);
    {
        std::vector<adouble> w(NP);
        for (int j = 0; j < NP; j++)
            w[j] <<= theta[j];
        adouble sum = 0.0;
        for (size_t i = 0; i < n; i++) {
            adouble z = w[NF];
            const double *xi = &X[i * NF];
            for (int j = 0; j < NF; j++)
                z += w[j] * xi[j];
            adouble m = -y[i] * z;
            sum += log(1.0 + exp(m));
        }
        adouble reg = 0.0;
        for (int j = 0; j < NF; j++)
            reg += w[j] * w[j];
        adouble f = sum / (double)n + (0.5 * LAMBDA) * reg;
        double fv;
        f >>= fv;
    }
    trace_off();
    const double tape_s = bd_now() - t0;

    size_t st[STAT_SIZE];
    tapestats(tag, st);
    printf("tape_s %.6g\n", tape_s);
    printf("tapestats operations %zu locations %zu values %zu; on file: operations %zu "
           "locations %zu values %zu\n",
           st[NUM_OPERATIONS], st[NUM_LOCATIONS], st[NUM_VALUES], st[OP_FILE_ACCESS],
           st[LOC_FILE_ACCESS], st[VAL_FILE_ACCESS]);

    double **H = myalloc2(NP, NP);
    double g[NP], fval;
    std::vector<double> th(reps), tg(greps), uh(reps);
    // no warm-up call of hessian (one costs seconds on 100000 rows; the tape is in memory, so
    // the first call has nothing to load); gradient and the loss are cheap: warmed up
    if (gradient(tag, NP, theta, g) < 0 || zos_forward(tag, 1, NP, 0, theta, &fval) < 0) {
        fprintf(stderr, "lr_adolc: an ADOL-C driver failed\n");
        return 1;
    }
    for (int k = 0; k < reps; k++) {
        double c = bd_cpu_now(), a = bd_now();
        int rc = hessian(tag, NP, theta, H);
        th[k] = bd_now() - a;
        uh[k] = bd_cpu_now() - c;
        if (rc < 0) {
            fprintf(stderr, "lr_adolc: hessian failed (%d)\n", rc);
            return 1;
        }
    }
    for (int k = 0; k < greps; k++) {
        double a = bd_now();
        gradient(tag, NP, theta, g);
        tg[k] = bd_now() - a;
    }
    printf("hessian_median_s %.6g\nhessian_runs_s", bd_median(th.data(), reps));
    for (int k = 0; k < reps; k++)
        printf(" %.6g", th[k]);
    printf("\nhessian_cpu_median_s %.6g", bd_median(uh.data(), reps));
    printf("\ngradient_median_s %.6g\ngradient_runs_s", bd_median(tg.data(), greps));
    for (int k = 0; k < greps; k++)
        printf(" %.6g", tg[k]);
    printf("\n");

    // the generated code on the same rows
    lr_data data;
    data.n = n;
    data.X = X.data();
    data.y = y.data();
    static double gg[NP], gh[NP * NP];
    double gl = lr_hess(theta, &data, gg, gh);
    std::vector<double> S(1 + NP + NP * NP);
    bd_scales(n, X.data(), y.data(), theta, S.data());
    double eh = 0.0, ehn = 0.0, hmax = 0.0, sh = 0.0;
    for (int r = 0; r < NP; r++)
        for (int c = 0; c <= r; c++) {
            double e = bd_rel(H[r][c], gh[r * NP + c]);
            if (!(e <= eh))
                eh = e;
            double d = fabs(H[r][c] - gh[r * NP + c]);
            if (!(d <= ehn))
                ehn = d;
            if (!(d / S[1 + NP + r * NP + c] <= sh))
                sh = d / S[1 + NP + r * NP + c];
            if (fabs(gh[r * NP + c]) > hmax)
                hmax = fabs(gh[r * NP + c]);
        }
    double el = bd_rel(fval, gl), eg = bd_max_rel(g, gg, NP);
    double sl = bd_max_scaled(&fval, &gl, S.data(), 1);
    double sg = bd_max_scaled(g, gg, S.data() + 1, NP);
    const bool ok = sl <= 1e-10 && sg <= 1e-10 && sh <= 1e-10 && el <= 1e-10 && eg <= 1e-10 &&
                    eh <= 1e-10;
    printf("ADOL-C vs generated: entrywise relative: loss %.3g, gradient %.3g, Hessian lower "
           "triangle %.3g; Hessian max|diff|/max|H| %.3g\n",
           el, eg, eh, ehn / hmax);
    printf("ADOL-C vs generated: relative to the sum of |terms|: loss %.3g, gradient %.3g, "
           "Hessian %.3g; tolerance 1e-10 for both figures: %s\n",
           sl, sg, sh, ok ? "ok" : "FAIL");
    myfree2(H);
    if (!ok) {
        fprintf(stderr, "lr_adolc: ADOL-C and the generated code DISAGREE beyond 1e-10\n");
        return 1;
    }
    return 0;
}
