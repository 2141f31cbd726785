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

const char *hessrt_fault(const hessgen_model *m)
{
    return m->fault_text ? m->fault_text() : NULL;
}

const char *hessrt_verdict_name(hessrt_verdict v)
{
    switch (v) {
    case HESSRT_MIN: return "min";
    case HESSRT_MAX: return "max";
    case HESSRT_SADDLE: return "saddle";
    case HESSRT_DEGENERATE: return "degenerate";
    default: return "not_critical";
    }
}

int hessrt_eigen_inplace(int n, double *h, double *w, double *z)
{
    if (n <= 0)
        return 0;
    lapack_int *isuppz = alloc(sizeof(lapack_int) * 2 * (size_t)n);
    lapack_int found = 0;
    lapack_int info = LAPACKE_dsyevr(LAPACK_ROW_MAJOR, z ? 'V' : 'N', 'A', 'L', n, h, n, 0.0, 0.0, 0, 0, 0.0,
                                     &found, w, z, n, isuppz);
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
    double g2 = 0;
    for (int i = 0; i < n; i++)
        g2 += r->gradient[i] * r->gradient[i];
    r->gradient_norm = sqrt(g2);
    r->critical = r->gradient_norm <= o.grad_tol * (1 + fabs(r->loss));
    bool finite = isfinite(r->loss); /* entry by entry: g2 overflows for a finite |g| > 1e154 */
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
    for (int i = 0; i < n; i++)
        r->scale = fmax(r->scale, fabs(r->eigenvalues[i]));
    r->zero_threshold = o.eig_tol * r->scale;
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
