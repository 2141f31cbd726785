/* classify.c: eigenvalues, inertia and the verdict at a point (hessrt.h says what they mean).
 *
 * The eigen-decomposition is LAPACKE_dsyevr on a copy of the dense Hessian; the inertia
 * alone is LAPACKE_dsytrf (Bunch-Kaufman L D L^T: by Sylvester's law, D has the inertia of H,
 * and D is block diagonal with 1x1 and 2x2 blocks whose eigenvalues are cheap).
 */
#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <lapacke.h>

#include "hessrt.h"

static void *alloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        abort();
    return p;
}

hessrt_options hessrt_default_options(void)
{
    hessrt_options o = {1e-8, 1e-9};
    return o;
}

void hessrt_perturb(int n, const double *theta, int j, double *at)
{
    unsigned long long state = 0x9E3779B97F4A7C15ull * (unsigned long long)(j + 1); /* xorshift64* */
    for (int i = 0; i < n; i++) {
        state ^= state >> 12, state ^= state << 25, state ^= state >> 27;
        double u = (double)((state * 2685821657736338717ull) >> 11) / 9007199254740992.0; /* [0, 1) */
        at[i] = theta[i] + (2 * u - 1) * 4 * DBL_EPSILON * (1 + fabs(theta[i]));
    }
}

void hessrt_to_eigenbasis(int n, const double *z, const double *g, double *q)
{
    for (int k = 0; k < n; k++)
        q[k] = 0;
    for (int i = 0; i < n; i++) { /* row by row of V, so that memory is read in order */
        const double *row = z + (size_t)i * n;
        for (int k = 0; k < n; k++)
            q[k] += row[k] * g[i];
    }
}

double hessrt_norm2(int n, const double *v)
{
    double big = 0, s = 0; /* scaled: a finite |v| above 1e154 squares to infinity */
    for (int i = 0; i < n; i++) {
        if (isnan(v[i]))
            return NAN;
        big = fmax(big, fabs(v[i]));
    }
    if (!(big > 0) || isinf(big))
        return big;
    for (int i = 0; i < n; i++)
        s += (v[i] / big) * (v[i] / big);
    return big * sqrt(s);
}

double hessrt_implied_step(int n, const double *lambda, const double *q, double rho)
{
    double scale = 0, s2 = 0;
    for (int i = 0; i < n; i++)
        scale = fmax(scale, fabs(lambda[i]));
    double floor_ = 8.0 * n * DBL_EPSILON * scale; /* what the eigen-solver resolves */
    for (int i = 0; i < n; i++) {
        if (fabs(q[i]) <= rho)
            continue; /* within the gradient's rounding */
        double d = fmax(fabs(lambda[i]), floor_);
        if (!(d > 0))
            return INFINITY; /* H = 0 and g is not: no step brings g to 0 */
        double si = (fabs(q[i]) - rho) / d;
        s2 += si * si;
    }
    return sqrt(s2);
}

double hessrt_gradient_rounding(const hessgen_model *m, const void *data, const double *theta, const double *g,
                                int measure)
{
    int n = m->nparam;
    double rho = 8.0 * n * DBL_EPSILON * hessrt_norm2(n, g); /* q = V^T g's own rounding */
    if (!measure)
        return rho;
    double *d = alloc(sizeof(double) * (size_t)n), *at = alloc(sizeof(double) * (size_t)n);
    double *g2 = alloc(sizeof(double) * (size_t)n), *hd = alloc(sizeof(double) * (size_t)n);
    for (int j = 0; j < 4; j++) {
        hessrt_perturb(n, theta, j, at);
        for (int i = 0; i < n; i++)
            d[i] = at[i] - theta[i];
        double loss = m->grad(at, data, g2);
        m->hvp(theta, data, d, hd);
        for (int i = 0; i < n; i++)
            g2[i] -= g[i] + hd[i]; /* what the gradient's change is not: its rounding */
        double e = hessrt_norm2(n, g2);
        if (isfinite(loss) && isfinite(e))
            rho = fmax(rho, 2 * e);
    }
    free(d);
    free(at);
    free(g2);
    free(hd);
    return rho;
}

int hessrt_gradient_is_zero(const hessgen_model *m, const void *data, const double *theta, const double *g,
                            const double *w, const double *q, double grad_tol, double *step, double *rounding)
{
    int n = m->nparam;
    double bound = grad_tol * (1 + hessrt_norm2(n, theta));
    /* the floor of the rounding first; only where that fails is the rounding measured */
    double rho = hessrt_gradient_rounding(m, data, theta, g, 0);
    double s = hessrt_implied_step(n, w, q, rho);
    if (!(s <= bound)) {
        rho = hessrt_gradient_rounding(m, data, theta, g, 1);
        s = hessrt_implied_step(n, w, q, rho);
    }
    if (step)
        *step = s;
    if (rounding)
        *rounding = rho;
    return s <= bound;
}

const char *hessrt_fault(const hessgen_model *m)
{
    return m->fault_text ? m->fault_text() : NULL;
}

const char *hessrt_verdict_name(hessrt_verdict v)
{
    switch (v) {
    case HESSRT_MIN:
        return "min";
    case HESSRT_MAX:
        return "max";
    case HESSRT_SADDLE:
        return "saddle";
    case HESSRT_DEGENERATE:
        return "degenerate";
    default:
        return "not_critical";
    }
}

int hessrt_eigen_inplace(int n, double *h, double *w, double *z)
{
    if (n <= 0)
        return 0;
    lapack_int *isuppz = alloc(sizeof(lapack_int) * 2 * (size_t)n);
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, z ? 'V' : 'N', 'A', 'L', n, h, n, 0.0, 0.0, 0, 0, 0.0, &found, w,
                                     z, n, isuppz);
    free(isuppz);
    return (int)info;
}

int hessrt_eigen(int n, const double *h, double *w, double *z)
{
    if (n <= 0)
        return 0;
    double *a = alloc(sizeof(double) * (size_t)n * (size_t)n);
    memcpy(a, h, sizeof(double) * (size_t)n * (size_t)n);
    int info = hessrt_eigen_inplace(n, a, w, z);
    free(a);
    return info;
}

int hessrt_inertia(int n, const double *h, double eig_tol, int *negative, int *zero, int *positive)
{
    *negative = *zero = *positive = 0;
    if (n <= 0)
        return 0;
    size_t nn = (size_t)n * (size_t)n;
    double *a = alloc(sizeof(double) * nn), scale = 0;
    memcpy(a, h, sizeof(double) * nn);
    for (size_t k = 0; k < nn; k++)
        scale = fmax(scale, fabs(h[k]));
    double tol = eig_tol * scale;
    lapack_int *ipiv = alloc(sizeof(lapack_int) * (size_t)n);
    lapack_int info = LAPACKE_dsytrf(LAPACK_ROW_MAJOR, 'L', n, a, n, ipiv);
    if (info < 0) {
        free(a);
        free(ipiv);
        return (int)info;
    }
    for (int i = 0; i < n; i++) {
        double d = a[(size_t)i * n + i];
        if (ipiv[i] > 0 || i == n - 1 || ipiv[i] != ipiv[i + 1]) {
            /* a 1x1 block */
            if (fabs(d) <= tol)
                (*zero)++;
            else if (d < 0)
                (*negative)++;
            else
                (*positive)++;
            continue;
        }
        /* a 2x2 block [d b; b c]: its two eigenvalues */
        double b = a[(size_t)(i + 1) * n + i], c = a[(size_t)(i + 1) * n + i + 1];
        double mean = (d + c) / 2, rad = hypot((d - c) / 2, b);
        double lam[2] = {mean - rad, mean + rad};
        for (int k = 0; k < 2; k++) {
            if (fabs(lam[k]) <= tol)
                (*zero)++;
            else if (lam[k] < 0)
                (*negative)++;
            else
                (*positive)++;
        }
        i++;
    }
    free(a);
    free(ipiv);
    return 0;
}

/* At a point the implied-step test calls critical but that is not one exactly, the critical
 * point is about p = -H^-1 g away (the implied step, along the eigenvectors z of the eigenvalues
 * w, with q = V^T g), and its Hessian differs from h by about H(theta + p) - h. An eigenvalue
 * smaller than twice that (Frobenius norm, a bound on the 2-norm and so, by Weyl, on each
 * eigenvalue's move) has no settled sign there: on the valley w1*w2 = 1 of the lecture's
 * network, a point 1e-8 off it has a positive eigenvalue of 2e-8 where the valley's is 0.
 * Returns that bound (0 if H(theta + p) is not finite: then the caller's threshold stands). */
static double unsettled(const hessgen_model *m, const void *data, const double *theta, const double *h, const double *w,
                        const double *z, const double *q, double rho)
{
    int n = m->nparam;
    size_t nn = (size_t)n * (size_t)n;
    double scale = 0;
    for (int k = 0; k < n; k++)
        scale = fmax(scale, fabs(w[k]));
    double *c = alloc(sizeof(double) * (size_t)n), *at = alloc(sizeof(double) * (size_t)n);
    double *g = alloc(sizeof(double) * (size_t)n), *h2 = alloc(sizeof(double) * nn);
    for (int k = 0; k < n; k++) /* the implied step's coordinates, as hessrt_implied_step counts them */
        c[k] = fabs(q[k]) > rho
                   ? copysign(fabs(q[k]) - rho, q[k]) / copysign(fmax(fabs(w[k]), 8.0 * n * DBL_EPSILON * scale), w[k])
                   : 0;
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int k = 0; k < n; k++)
            s += z[(size_t)i * n + k] * c[k];
        at[i] = theta[i] - s;
    }
    double loss = m->hess(at, data, g, h2), d2 = 0;
    bool finite = isfinite(loss);
    for (size_t k = 0; k < nn; k++) {
        finite = finite && isfinite(h2[k]);
        d2 += (h2[k] - h[k]) * (h2[k] - h[k]);
    }
    free(c);
    free(at);
    free(g);
    free(h2);
    return finite ? 2 * sqrt(d2) : 0;
}

int hessrt_classify(const hessgen_model *m, const void *data, const double *theta, const hessrt_options *opt,
                    hessrt_report *r)
{
    hessrt_options o = opt ? *opt : hessrt_default_options();
    int n = m->nparam;
    size_t nn = (size_t)n * (size_t)n;
    memset(r, 0, sizeof *r);
    r->n = n;
    r->gradient = alloc(sizeof(double) * (size_t)n);
    r->eigenvalues = alloc(sizeof(double) * (size_t)n);
    double *h = alloc(sizeof(double) * nn), *z = alloc(sizeof(double) * nn);
    r->hessian = h;
    r->loss = m->hess(theta, data, r->gradient, h);
    r->gradient_norm = hessrt_norm2(n, r->gradient);
    bool finite = isfinite(r->loss);
    for (int i = 0; finite && i < n; i++)
        finite = isfinite(r->gradient[i]);
    for (size_t k = 0; finite && k < nn; k++)
        finite = isfinite(h[k]);
    if (!finite) { /* no eigen-solver on NaN: say what, and where it began if the model knows */
        const char *f = hessrt_fault(m);
        const char *generic = "the loss, gradient or Hessian is not finite at this point";
        r->fault = strdup(f ? f : generic);
        free(z);
        return HESSRT_NOT_FINITE;
    }
    int info = hessrt_eigen(n, h, r->eigenvalues, z);
    if (info != 0) { /* nothing to report: the caller has nothing to free */
        free(z);
        hessrt_report_free(r);
        return info;
    }
    /* the implied-step test (hessrt.h) */
    double *q = alloc(sizeof(double) * (size_t)n);
    hessrt_to_eigenbasis(n, z, r->gradient, q);
    double rho;
    r->critical =
        hessrt_gradient_is_zero(m, data, theta, r->gradient, r->eigenvalues, q, o.grad_tol, &r->implied_step, &rho);
    for (int i = 0; i < n; i++)
        r->scale = fmax(r->scale, fabs(r->eigenvalues[i]));
    r->zero_threshold = o.eig_tol * r->scale;
    if (r->critical && r->implied_step > 0)
        r->zero_threshold = fmax(r->zero_threshold, unsettled(m, data, theta, h, r->eigenvalues, z, q, rho));
    free(q);
    for (int i = 0; i < n; i++) {
        double l = r->eigenvalues[i];
        if (fabs(l) <= r->zero_threshold)
            r->zero++;
        else if (l < 0)
            r->negative++;
        else
            r->positive++;
    }
    r->min_ratio = n ? (double)r->positive / n : 0;
    if (!r->critical)
        r->verdict = HESSRT_NOT_CRITICAL;
    else if (r->negative && r->positive)
        r->verdict = HESSRT_SADDLE;
    else if (r->zero)
        r->verdict = HESSRT_DEGENERATE;
    else
        r->verdict = r->positive ? HESSRT_MIN : HESSRT_MAX;
    if (r->verdict == HESSRT_SADDLE) {
        /* the way down: the eigenvector of the most negative eigenvalue (column 0) */
        r->escape = alloc(sizeof(double) * (size_t)n);
        int big = 0;
        for (int i = 0; i < n; i++) {
            r->escape[i] = z[(size_t)i * n];
            if (fabs(r->escape[i]) > fabs(r->escape[big]))
                big = i;
        }
        if (r->escape[big] < 0)
            for (int i = 0; i < n; i++)
                r->escape[i] = -r->escape[i];
        r->predicted_decrease = -0.5 * r->eigenvalues[0];
    }
    free(z);
    return 0;
}

void hessrt_report_free(hessrt_report *r)
{
    free(r->gradient);
    free(r->hessian);
    free(r->eigenvalues);
    free(r->escape);
    free(r->fault);
    memset(r, 0, sizeof *r);
}
