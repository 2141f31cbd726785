/* The hand-written BLAS peer of bench/mlp/peers/: loss, gradient and exact dense Hessian of
 * bench/mlp/run.py's mlp(widths) (tanh MLP, mean squared error over rows). See mlp_hand.c. */
#ifndef BENCH_MLP_PEERS_MLP_HAND_H
#define BENCH_MLP_PEERS_MLP_HAND_H

#include <stddef.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mlp_hand_ws mlp_hand_ws;

/* The workspace for one shape, rows processed in blocks of nb (the scratch is sized from nb,
   not from the row count). gn_syrk 1: the Gauss-Newton part as one dsyrk of the row-Jacobian J
   (the shape the issue names); 0: the Gauss-Newton part folded into the curvature's per-layer
   block products (information: the same Hessian with one product per block instead of two).
   NULL if out of memory. */
mlp_hand_ws *mlp_hand_alloc(const mlp_shape *sh, int nb, int gn_syrk);
void mlp_hand_free(mlp_hand_ws *ws);

/* loss, gradient (unless grad is NULL) and the dense N x N Hessian, row-major, both triangles,
   at theta over n rows X[n][2], t[n]; returns the loss */
double mlp_hand_hess(mlp_hand_ws *ws, const double *theta, size_t n, const double *X,
                     const double *t, double *grad, double *hess);

#ifdef __cplusplus
}
#endif

#endif
