/* The lecture's weakest network, compiled by hessgen: evaluates the generated loss, gradient
 * and Hessian at the origin, where the notes find a saddle (H = [[0,-2],[-2,0]]).
 * Built by CMake from examples/weakest.hl: `build/weakest_demo [w1 w2]`. */
#include <stdio.h>
#include <stdlib.h>

#include "weakest_hess.c"

int main(int argc, char **argv)
{
    double theta[weakest_NPARAM] = {0, 0}, grad[weakest_NPARAM], hess[weakest_NPARAM * weakest_NPARAM];
    if (argc == 3) {
        theta[0] = atof(argv[1]);
        theta[1] = atof(argv[2]);
    }
    double loss = weakest_hess(theta, grad, hess);
    printf("at %s = %g, %s = %g (generated code, build/weakest_hess.c):\n", weakest_param_names[0], theta[0],
           weakest_param_names[1], theta[1]);
    printf("  loss      %g\n", loss);
    printf("  gradient  (%g, %g)\n", grad[0] + 0.0, grad[1] + 0.0); /* + 0.0: print -0 as 0 */
    printf("  Hessian   [[%g, %g], [%g, %g]]\n", hess[0], hess[1], hess[2], hess[3]);
    return 0;
}
