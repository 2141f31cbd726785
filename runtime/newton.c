/* newton.c: Newton's method in the lecture's form and in the forms that survive saddles.
 *
 * Every Newton variant works in the Hessian's eigenbasis (LAPACKE_dsyevr at each iterate):
 * with H = V diag(lambda) V^T and q = V^T g, a step is p = -V diag(f(lambda)) q, where f is
 *   pure          1/lambda            (refuses a singular H instead of dividing by it)
 *   damped        1/(lambda + tau)    tau the least shift making every eigenvalue >= delta
 *   saddle-free   1/max(|lambda|, delta)
 * and delta = eig_tol * max |lambda|. damped and saddle-free then backtrack (Armijo) so the
 * loss decreases; pure takes the full step, as the lecture's theta - H^-1 g does, which is
 * why it converges to a saddle as readily as to a minimum. trust-region solves
 * min g.p + p.H.p/2 over |p| <= radius exactly in the same basis (the secular equation by
 * bisection, and the hard case, where g has no component along the lowest eigenvector, by
 * moving along that eigenvector to the boundary). gd is theta - step * g.
 */
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hessrt.h"

static void *alloc(size_t n)
{
    void *p = calloc(n ? n : 1, 1);
    if (!p)
        abort();
    return p;
}

hessrt_newton_options hessrt_default_newton_options(hessrt_method method)
{
    hessrt_newton_options o = {
        method, method == HESSRT_GD ? 10000 : 100, method == HESSRT_GD ? 1e-8 : 1e-10, 1e-15, 1e-15, 1e-9, 0.1, 1.0, 0};
    return o;
}

static const char *const method_names[] = {"pure", "damped", "saddle-free", "trust-region", "gd"};
static const char *const status_names[] = {"converged", "max_iterations", "singular", "diverged", "stalled"};

/* The iterates diverged when |theta| > DIVERGED_GROWTH * (1 + |theta_0|). */
#define DIVERGED_GROWTH 1e10

const char *hessrt_method_name(hessrt_method m)
{
    return (unsigned)m < 5 ? method_names[m] : "?";
}

int hessrt_method_parse(const char *name, hessrt_method *m)
{
    for (int i = 0; i < 5; i++)
        if (strcmp(name, method_names[i]) == 0) {
            *m = (hessrt_method)i;
            return 0;
        }
    return -1;
}

const char *hessrt_status_name(hessrt_status s)
{
    return (unsigned)s < 5 ? status_names[s] : "?";
}

typedef struct {
    const hessgen_model *m;
    const void *data;
    int n;
    double *g, *h, *w, *z, *q, *p, *trial, *gt; /* gt: the gradient at trial */
    double lapack_seconds;
} Work;

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static double dot(const double *a, const double *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static bool all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

/* L, g and (for the Newton methods) H with its eigen-decomposition, at theta. False if any
 * of them is not finite. */
static bool evaluate(Work *k, const double *theta, double *loss, bool hessian)
{
    int n = k->n;
    if (!hessian) {
        *loss = k->m->grad(theta, k->data, k->g);
        return isfinite(*loss) && all_finite(k->g, (size_t)n);
    }
    *loss = k->m->hess(theta, k->data, k->g, k->h);
    if (!isfinite(*loss) || !all_finite(k->g, (size_t)n) || !all_finite(k->h, (size_t)n * n))
        return false;
    double t0 = seconds();
    int info = hessrt_eigen_inplace(n, k->h, k->w, k->z); /* H itself is not needed again */
    k->lapack_seconds += seconds() - t0;
    if (info != 0)
        return false;
    hessrt_to_eigenbasis(n, k->z, k->g, k->q);
    return true;
}

/* p = -V c: c holds the step's coordinates in the eigenbasis, negated */
static void from_eigenbasis(const Work *k, const double *c, double *p)
{
    int n = k->n;
    for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < n; i++)
            s += k->z[(size_t)j * n + i] * c[i];
        p[j] = -s;
    }
}

/* Whether a decrease is within the loss's own rounding, where the loss cannot judge a step:
 * 64 eps |L|, or the noise measured in the loss at theta (the largest |L(theta + d) - L - g.d|
 * over 4 fixed perturbations d of 4 eps (1 + |theta_i|): a loss that is a sum of terms that
 * cancel rounds to far more than eps |L|). */
static bool below_loss_rounding(Work *k, const double *theta, double decrease, double loss)
{
    if (fabs(decrease) <= 64 * DBL_EPSILON * fabs(loss))
        return true;
    int n = k->n;
    double noise = 0;
    for (int j = 0; j < 4; j++) {
        hessrt_perturb(n, theta, j, k->gt); /* gt: scratch */
        double gd = 0;
        for (int i = 0; i < n; i++)
            gd += k->g[i] * (k->gt[i] - theta[i]);
        double l = k->m->loss(k->gt, k->data);
        if (isfinite(l))
            noise = fmax(noise, fabs(l - loss - gd));
    }
    return fabs(decrease) <= 4 * noise;
}

/* Near a critical point whose loss is large, the last steps decrease it by less than its
 * rounding (a loss of 124 resolves 3e-14; a step of 1e-9 along a curvature of 4484 lowers it by
 * 2e-15): there a step is judged by the gradient instead, taken if the gradient norm falls. */
static bool gradient_falls(Work *k, const double *at, double gnorm, double *new_loss)
{
    *new_loss = k->m->grad(at, k->data, k->gt);
    return isfinite(*new_loss) && all_finite(k->gt, (size_t)k->n) && hessrt_norm2(k->n, k->gt) < gnorm;
}

/* Halves t until the loss falls enough (Armijo, c = 1e-4); returns t, 0 if it never does. A
 * full step whose first-order decrease is within the loss's rounding is judged by the gradient
 * (gradient_falls). */
static double backtrack(Work *k, const double *theta, double loss, const double *p, double *new_loss)
{
    int n = k->n;
    double slope = dot(k->g, p, n);
    if (below_loss_rounding(k, theta, slope, loss)) {
        for (int i = 0; i < n; i++)
            k->trial[i] = theta[i] + p[i];
        return gradient_falls(k, k->trial, hessrt_norm2(n, k->g), new_loss) ? 1 : 0;
    }
    for (double t = 1; t > 1e-20; t /= 2) {
        for (int i = 0; i < n; i++)
            k->trial[i] = theta[i] + t * p[i];
        double l = k->m->loss(k->trial, k->data);
        if (isfinite(l) && l <= loss + 1e-4 * t * slope) {
            *new_loss = l;
            return t;
        }
    }
    return 0;
}

/* |p(sigma)|^2 for p(sigma) = -sum q_i/(lambda_i + sigma) v_i */
static double step_norm2(const Work *k, double sigma)
{
    double s = 0;
    for (int i = 0; i < k->n; i++) {
        double d = k->w[i] + sigma;
        s += k->q[i] * k->q[i] / (d * d);
    }
    return s;
}

/* The exact trust-region step of radius r into c (eigenbasis coordinates, negated as for
 * from_eigenbasis). */
static void trust_region_step(const Work *k, double r, double delta, double *c)
{
    int n = k->n;
    double lmin = k->w[0], gn = sqrt(dot(k->q, k->q, n));
    if (lmin > delta && step_norm2(k, 0) <= r * r) {
        for (int i = 0; i < n; i++)
            c[i] = k->q[i] / k->w[i]; /* the Newton step fits */
        return;
    }
    double lo = lmin > 0 ? 0 : -lmin;
    /* the hard case: g has (almost) nothing along the lowest eigenvectors, and even the
     * shift -lmin leaves a step inside the region: go along v_0 to the boundary */
    double along = 0, rest = 0;
    for (int i = 0; i < n; i++) {
        if (k->w[i] - lmin <= delta)
            along += k->q[i] * k->q[i];
        else
            rest += k->q[i] * k->q[i] / ((k->w[i] - lmin) * (k->w[i] - lmin));
    }
    if (sqrt(along) <= 1e-12 * (gn + 1e-300) && rest <= r * r) {
        for (int i = 0; i < n; i++)
            c[i] = k->w[i] - lmin <= delta ? 0 : k->q[i] / (k->w[i] - lmin);
        c[0] += sqrt(r * r - rest); /* -(+tau v_0): either sign is a solution */
        return;
    }
    /* |p(sigma)| = r for some sigma in (lo, hi]: |p(hi)| <= |g|/(lmin + hi) = r */
    double hi = lo + gn / r + fabs(lmin) + 1e-300;
    for (int it = 0; it < 200; it++) {
        double mid = (lo + hi) / 2;
        if (mid <= lo || mid >= hi)
            break;
        if (step_norm2(k, mid) > r * r)
            lo = mid;
        else
            hi = mid;
    }
    for (int i = 0; i < n; i++)
        c[i] = k->q[i] / (k->w[i] + hi);
}

static void record(hessrt_newton_result *res, const double *theta, double loss, double gnorm, double step,
                   double mineig)
{
    if (res->path)
        memcpy(res->path + (size_t)res->ntrace * (size_t)res->n, theta, sizeof(double) * (size_t)res->n);
    hessrt_trace_row *row = &res->trace[res->ntrace];
    row->iteration = res->ntrace;
    row->loss = loss;
    row->gradient_norm = gnorm;
    row->step = step;
    row->min_eigenvalue = mineig;
    res->ntrace++;
}

/* The iterate where a run stops after a step: evaluated, recorded, and the result's values;
 * false (and the run diverged) if it is not finite. */
static bool record_last(Work *k, const double *theta, hessrt_newton_result *res, double step, bool newton)
{
    double loss;
    if (!evaluate(k, theta, &loss, newton)) {
        res->loss = loss;
        res->status = HESSRT_DIVERGED;
        snprintf(res->reason, sizeof res->reason, "the loss, gradient or Hessian is not finite at iteration %d",
                 res->ntrace);
        return false;
    }
    res->loss = loss;
    res->gradient_norm = hessrt_norm2(k->n, k->g);
    record(res, theta, loss, res->gradient_norm, step, newton ? k->w[0] : NAN);
    return true;
}

/* The implied-step test at theta (hessrt.h), from the eigen-decomposition evaluate() left in
 * k; gd, which has none, evaluates the Hessian here first. Its measure into *s. */
static bool gradient_test(Work *k, const double *theta, bool have_hessian, const hessrt_newton_options *o, double *s)
{
    double loss;
    *s = INFINITY;
    if (!have_hessian && !evaluate(k, theta, &loss, true))
        return false;
    return hessrt_gradient_is_zero(k->m, k->data, theta, k->g, k->w, k->q, o->grad_tol, s, NULL);
}

/* A run that stopped moving (why: which test stopped it): converged if the implied-step test
 * holds at the last iterate, else stalled. */
static void settle(Work *k, const double *theta, bool newton, const hessrt_newton_options *o, hessrt_newton_result *res,
                   const char *why)
{
    double s;
    bool zero = gradient_test(k, theta, newton, o, &s);
    res->implied_step = s;
    res->status = zero ? HESSRT_CONVERGED : HESSRT_STALLED;
    if (zero)
        snprintf(res->reason, sizeof res->reason,
                 "converged in %d iterations (%s): the Newton step the gradient implies, %.3g, is within gtol (1 + "
                 "|theta|)",
                 res->ntrace - 1, why, s);
    else
        snprintf(res->reason, sizeof res->reason,
                 "stalled after %d iterations (%s), but the gradient is not zero: the Newton step it implies is "
                 "%.3g, beyond gtol (1 + |theta|) = %.3g (gradient norm %.3g)",
                 res->ntrace - 1, why, s, o->grad_tol * (1 + hessrt_norm2(k->n, theta)), res->gradient_norm);
}

int hessrt_newton(const hessgen_model *m, const void *data, const double *start, const hessrt_newton_options *opt,
                  hessrt_newton_result *res)
{
    hessrt_newton_options o = opt ? *opt : hessrt_default_newton_options(HESSRT_DAMPED);
    memset(res, 0, sizeof *res);
    if (!m || !start || m->nparam <= 0 || o.max_iterations < 0 || (unsigned)o.method > HESSRT_GD ||
        !(o.grad_tol >= 0) || !(o.step_tol >= 0) || !(o.loss_tol >= 0)) {
        res->status = HESSRT_MAX_ITERATIONS; /* never read as converged */
        snprintf(res->reason, sizeof res->reason, "invalid arguments: no run");
        return -1;
    }
    int n = m->nparam;
    size_t nn = (size_t)n * (size_t)n;
    Work k = {m,
              data,
              n,
              alloc(8 * (size_t)n),
              alloc(8 * nn),
              alloc(8 * (size_t)n),
              alloc(8 * nn),
              alloc(8 * (size_t)n),
              alloc(8 * (size_t)n),
              alloc(8 * (size_t)n),
              alloc(8 * (size_t)n),
              0};
    double *theta = alloc(8 * (size_t)n), *c = alloc(8 * (size_t)n);
    memcpy(theta, start, 8 * (size_t)n);
    res->n = n;
    res->implied_step = NAN;
    res->trace = alloc(sizeof(hessrt_trace_row) * ((size_t)o.max_iterations + 1));
    if (o.record_path)
        res->path = alloc(sizeof(double) * (size_t)n * ((size_t)o.max_iterations + 1));
    bool newton = o.method != HESSRT_GD;
    double loss, radius = o.radius > 0 ? o.radius : 1, last_step = 0, start_norm = hessrt_norm2(n, start);
    double gd_tested = INFINITY; /* gd: the gradient norm where the Hessian was last evaluated for the test */
    int quiet = 0, trials = 0;
    for (;;) {
        if (!evaluate(&k, theta, &loss, newton)) {
            res->status = HESSRT_DIVERGED;
            const char *fault = hessrt_fault(m);
            if (fault)
                snprintf(res->reason, sizeof res->reason, "at iteration %d %s", res->ntrace, fault);
            else
                snprintf(res->reason, sizeof res->reason,
                         "the loss, gradient or Hessian is not finite at iteration %d (the method left "
                         "the loss's domain or overflowed)",
                         res->ntrace);
            res->loss = loss;
            break;
        }
        double gnorm = hessrt_norm2(n, k.g), tn = hessrt_norm2(n, theta);
        if (trials == 0 || last_step > 0)
            record(res, theta, loss, gnorm, last_step, newton ? k.w[0] : NAN);
        res->loss = loss;
        res->gradient_norm = gnorm;
        int it = res->ntrace - 1;
        if (tn > DIVERGED_GROWTH * (1 + start_norm)) {
            res->status = HESSRT_DIVERGED;
            snprintf(res->reason, sizeof res->reason,
                     "the iterates grow without bound: after %d iterations |theta| = %.3g, beyond 1e10 (1 + |theta_0|) "
                     "(loss %.3g)",
                     it, tn, loss);
            break;
        }
        /* the implied-step test: every iterate for Newton (its Hessian is at hand); for gd once
         * its step is that short, and again only after the gradient halved */
        if (newton || (trials > 0 && last_step <= o.grad_tol * (1 + tn) && gnorm <= 0.5 * gd_tested)) {
            double s;
            bool zero = gradient_test(&k, theta, newton, &o, &s);
            gd_tested = gnorm;
            res->implied_step = s;
            if (zero) {
                res->status = HESSRT_CONVERGED;
                snprintf(res->reason, sizeof res->reason,
                         "converged in %d iterations: the Newton step the gradient implies, %.3g, is within gtol "
                         "(1 + |theta|) (gradient norm %.3g)",
                         it, s, gnorm);
                break;
            }
        }
        if (it >= o.max_iterations || trials >= 10 * (o.max_iterations + 1)) {
            res->status = HESSRT_MAX_ITERATIONS;
            snprintf(res->reason, sizeof res->reason, "stopped after %d iterations with the gradient norm at %.3g", it,
                     gnorm);
            break;
        }
        trials++;
        double scale = 0;
        for (int i = 0; newton && i < n; i++)
            scale = fmax(scale, fabs(k.w[i]));
        double delta = o.eig_tol * scale, new_loss = loss, t = 1;
        const double *step_dir = k.p;
        switch (o.method) {
        case HESSRT_PURE: {
            int zero = -1;
            for (int i = 0; i < n; i++)
                if (fabs(k.w[i]) <= delta || scale == 0)
                    zero = i;
            if (zero >= 0) {
                res->status = HESSRT_SINGULAR;
                snprintf(res->reason, sizeof res->reason,
                         "the Hessian is singular at iteration %d (eigenvalue %.3g): theta - H^-1 g does not "
                         "exist there, so pure Newton stops",
                         it, k.w[zero]);
                goto done;
            }
            for (int i = 0; i < n; i++)
                c[i] = k.q[i] / k.w[i];
            from_eigenbasis(&k, c, k.p);
            break;
        }
        case HESSRT_DAMPED:
        case HESSRT_SADDLE_FREE: {
            double floor_ = delta > 0 ? delta : 1e-12;
            double tau = o.method == HESSRT_DAMPED && k.w[0] < floor_ ? floor_ - k.w[0] : 0;
            for (int i = 0; i < n; i++) {
                double d = o.method == HESSRT_DAMPED ? k.w[i] + tau : fmax(fabs(k.w[i]), floor_);
                c[i] = k.q[i] / d;
            }
            from_eigenbasis(&k, c, k.p);
            t = backtrack(&k, theta, loss, k.p, &new_loss);
            break;
        }
        case HESSRT_TRUST_REGION: {
            trust_region_step(&k, radius, delta, c);
            from_eigenbasis(&k, c, k.p);
            double predicted = 0; /* -(g.p + p.H.p/2) in the eigenbasis, p_i = -c_i */
            for (int i = 0; i < n; i++)
                predicted += k.q[i] * c[i] - 0.5 * k.w[i] * c[i] * c[i];
            for (int i = 0; i < n; i++)
                k.trial[i] = theta[i] + k.p[i];
            new_loss = m->loss(k.trial, data);
            double pn = sqrt(dot(k.p, k.p, n));
            double rho = predicted > 0 && isfinite(new_loss) ? (loss - new_loss) / predicted : -1;
            if (predicted > 0 && !(rho >= 0.25) && below_loss_rounding(&k, theta, predicted, loss))
                rho = gradient_falls(&k, k.trial, gnorm, &new_loss) ? 1 : -1;
            if (rho < 0.25)
                radius = 0.25 * pn;
            else if (rho > 0.75 && pn >= 0.99 * radius)
                radius *= 2;
            t = rho > 1e-4 ? 1 : 0;
            if (t == 0 && radius <= o.step_tol * (1 + tn)) {
                /* no step short enough to be trusted still moves theta: the loss's rounding hides
                 * any further decrease */
                settle(&k, theta, newton, &o, res, "the trust region shrank below xtol (1 + |theta|)");
                goto done;
            }
            break;
        }
        case HESSRT_GD:
            for (int i = 0; i < n; i++)
                k.p[i] = -k.g[i];
            if (o.gd_step > 0) {
                t = o.gd_step;
                for (int i = 0; i < n; i++)
                    k.trial[i] = theta[i] + t * k.p[i];
                new_loss = m->loss(k.trial, data);
            } else {
                t = backtrack(&k, theta, loss, k.p, &new_loss);
            }
            break;
        }
        if (t == 0 && o.method != HESSRT_TRUST_REGION) {
            char why[160];
            snprintf(why, sizeof why, "no step along the %s direction lowers the loss", hessrt_method_name(o.method));
            settle(&k, theta, newton, &o, res, why);
            break;
        }
        for (int i = 0; i < n; i++) {
            k.trial[i] = t * step_dir[i]; /* the step taken, for its length */
            theta[i] += t * step_dir[i];
        }
        last_step = hessrt_norm2(n, k.trial);
        tn = hessrt_norm2(n, theta);
        if (t > 0 && last_step <= o.step_tol * (1 + tn)) {
            if (record_last(&k, theta, res, last_step, newton))
                settle(&k, theta, newton, &o, res, "the step vanished: below xtol (1 + |theta|)");
            break;
        }
        if (t > 0 && o.method != HESSRT_PURE) {
            /* relative to the loss itself, its rounding: near a minimum of value 0 the loss keeps halving */
            quiet = fabs(loss - new_loss) <= o.loss_tol * fabs(loss) ? quiet + 1 : 0;
            if (quiet >= 10) {
                if (record_last(&k, theta, res, last_step, newton))
                    settle(&k, theta, newton, &o, res, "the loss stopped changing: below ftol |L| for 10 steps");
                break;
            }
        }
        if (t == 0) /* a rejected trust-region step: same point, smaller region */
            last_step = 0;
    }
done:
    res->iterations = res->ntrace > 0 ? res->ntrace - 1 : 0; /* 0 rows: the start is not finite */
    res->lapack_seconds = k.lapack_seconds;
    res->theta = theta;
    free(c);
    free(k.g);
    free(k.h);
    free(k.w);
    free(k.z);
    free(k.q);
    free(k.p);
    free(k.trial);
    free(k.gt);
    return 0;
}

void hessrt_newton_result_free(hessrt_newton_result *res)
{
    free(res->theta);
    free(res->trace);
    free(res->path);
    memset(res, 0, sizeof *res);
}
