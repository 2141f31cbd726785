#ifndef BENCH_DATA_LR_HAND_H
#define BENCH_DATA_LR_HAND_H
#include <stddef.h>

#define LR_LAMBDA 0.01

/* Loss (returned), gradient (unless NULL) and dense 51 x 51 Hessian (both triangles) of
   bench/data/logreg50.hl with BLAS; work holds 52 n doubles. */
double hand_hess(const double *theta, size_t n, const double *X, const double *y,
                 double *grad, double *hess, double *work);

#endif
