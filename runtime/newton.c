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
    hessrt_newton_options o = {method, method == HESSRT_GD ? 10000 : 100, 1e-10, 1e-15, 1e-15, 1e-9, 0.1, 1.0, 0};
    return o;
}

static const char *const method_names[] = {"pure", "damped", "saddle-free", "trust-region", "gd"};
static const char *const status_names[] = {"converged", "max_iterations", "singular", "non_finite", "stalled"};

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
    double *g, *h, *w, *z, *q, *p, *trial;
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
    /* q = V^T g, row by row of V so that memory is read in order */
    for (int i = 0; i < n; i++)
        k->q[i] = 0;
    for (int j = 0; j < n; j++) {
        const double *row = k->z + (size_t)j * n;
        for (int i = 0; i < n; i++)
            k->q[i] += row[i] * k->g[j];
    }
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

/* Halves t until the loss falls enough (Armijo, c = 1e-4); returns t, 0 if it never does. */
static double backtrack(Work *k, const double *theta, double loss, const double *p, double *new_loss)
{
    int n = k->n;
    double slope = dot(k->g, p, n);
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

/* The iterate where a run stops after a step: evaluated, recorded, and the result's values. */
static void record_last(Work *k, const double *theta, hessrt_newton_result *res, double step, bool newton)
{
    double loss;
    evaluate(k, theta, &loss, newton);
    res->loss = loss;
    res->gradient_norm = sqrt(dot(k->g, k->g, k->n));
    record(res, theta, loss, res->gradient_norm, step, newton ? k->w[0] : NAN);
}

int hessrt_newton(const hessgen_model *m, const void *data, const double *start, const hessrt_newton_options *opt,
                  hessrt_newton_result *res)
{
    hessrt_newton_options o = opt ? *opt : hessrt_default_newton_options(HESSRT_DAMPED);
    memset(res, 0, sizeof *res);
    if (!m || !start || m->nparam <= 0 || o.max_iterations < 0 || (unsigned)o.method > HESSRT_GD)
        return -1;
    int n = m->nparam;
    size_t nn = (size_t)n * (size_t)n;
    Work k = {m, data, n, alloc(8 * (size_t)n), alloc(8 * nn), alloc(8 * (size_t)n), alloc(8 * nn),
              alloc(8 * (size_t)n), alloc(8 * (size_t)n), alloc(8 * (size_t)n), 0};
    double *theta = alloc(8 * (size_t)n), *c = alloc(8 * (size_t)n);
    memcpy(theta, start, 8 * (size_t)n);
    res->n = n;
    res->trace = alloc(sizeof(hessrt_trace_row) * ((size_t)o.max_iterations + 1));
    if (o.record_path)
        res->path = alloc(sizeof(double) * (size_t)n * ((size_t)o.max_iterations + 1));
    bool newton = o.method != HESSRT_GD;
    double loss, radius = o.radius > 0 ? o.radius : 1, last_step = 0;
    int quiet = 0, trials = 0;
    for (;;) {
        if (!evaluate(&k, theta, &loss, newton)) {
            res->status = HESSRT_NON_FINITE;
            const char *fault = hessrt_fault(m);
            if (fault)
                snprintf(res->reason, sizeof res->reason, "at iteration %d %s", res->ntrace, fault);
            else
                snprintf(res->reason, sizeof res->reason,
                         "the loss, gradient or Hessian is not finite at iteration %d: the method left the "
                         "loss's domain or overflowed", res->ntrace);
            res->loss = loss;
            break;
        }
        double gnorm = sqrt(dot(k.g, k.g, n));
        if (trials == 0 || last_step > 0)
            record(res, theta, loss, gnorm, last_step, newton ? k.w[0] : NAN);
        res->loss = loss;
        res->gradient_norm = gnorm;
        int it = res->ntrace - 1;
        if (gnorm <= o.grad_tol * (1 + fabs(loss))) {
            res->status = HESSRT_CONVERGED;
            snprintf(res->reason, sizeof res->reason, "converged in %d iterations: the gradient vanished", it);
            break;
        }
        if (it >= o.max_iterations || trials >= 10 * (o.max_iterations + 1)) {
            res->status = HESSRT_MAX_ITERATIONS;
            snprintf(res->reason, sizeof res->reason,
                     "stopped after %d iterations with the gradient norm at %.3g", it, gnorm);
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
                         "exist there, so pure Newton stops", it, k.w[zero]);
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
            if (rho < 0.25)
                radius = 0.25 * pn;
            else if (rho > 0.75 && pn >= 0.99 * radius)
                radius *= 2;
            t = rho > 1e-4 ? 1 : 0;
            double tn = sqrt(dot(theta, theta, n));
            if (t == 0 && radius <= o.step_tol * (1 + tn)) {
                /* no step short enough to be trusted still moves theta: as close as double
                 * precision gets (the loss's rounding hides any further decrease) */
                res->status = HESSRT_CONVERGED;
                snprintf(res->reason, sizeof res->reason,
                         "converged in %d iterations: the trust region shrank below the step tolerance "
                         "(gradient norm %.3g)", it, gnorm);
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
            res->status = HESSRT_STALLED;
            snprintf(res->reason, sizeof res->reason,
                     "no step along the %s direction lowers the loss at iteration %d (gradient norm %.3g)",
                     hessrt_method_name(o.method), it, gnorm);
            break;
        }
        double sn = 0, tn = 0;
        for (int i = 0; i < n; i++) {
            sn += (t * step_dir[i]) * (t * step_dir[i]);
            theta[i] += t * step_dir[i];
            tn += theta[i] * theta[i];
        }
        last_step = sqrt(sn);
        if (t > 0 && last_step <= o.step_tol * (1 + sqrt(tn))) {
            record_last(&k, theta, res, last_step, newton);
            res->status = HESSRT_CONVERGED;
            snprintf(res->reason, sizeof res->reason,
                     "converged in %d iterations: the step vanished (gradient norm %.3g)", res->ntrace - 1,
                     res->gradient_norm);
            break;
        }
        if (t > 0 && o.method != HESSRT_PURE) {
            /* relative to the loss itself: near a minimum of value 0 the loss keeps halving */
            quiet = fabs(loss - new_loss) <= o.loss_tol * fabs(loss) ? quiet + 1 : 0;
            if (quiet >= 10) {
                record_last(&k, theta, res, last_step, newton);
                res->status = HESSRT_STALLED;
                snprintf(res->reason, sizeof res->reason,
                         "the loss stopped changing, but the gradient norm is %.3g: a stalled loss is not a zero "
                         "gradient", res->gradient_norm);
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
    return 0;
}

void hessrt_newton_result_free(hessrt_newton_result *res)
{
    free(res->theta);
    free(res->trace);
    free(res->path);
    memset(res, 0, sizeof *res);
}
