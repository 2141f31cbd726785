/* close.h: the tests' comparison, normwise relative 1e-12: |got - want| <= 1e-12 * max |want|
 * over one output (a NaN fails). Counts failures in *failures and says which entry is worst. */
#include <math.h>
#include <stdio.h>

static void expect_close(int *failures, const char *what, const double *got, const double *want, size_t n)
{
    double scale = 0, err = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++)
        scale = fmax(scale, fabs(want[i]));
    for (size_t i = 0; i < n; i++)
        if (!(fabs(got[i] - want[i]) <= err)) {
            err = fabs(got[i] - want[i]);
            worst = i;
        }
    if (!(err <= 1e-12 * fmax(scale, 1e-300))) {
        printf("FAIL %s: entry %zu is %.17g, expected %.17g (scale %g)\n", what, worst, got[worst], want[worst], scale);
        (*failures)++;
    }
}
