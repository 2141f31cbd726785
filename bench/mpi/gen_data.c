/* gen_data.c: a logistic regression data set of N rows and 50 features as raw float64,
 *   gen_data N X.f64 y.f64
 * written a block at a time (it never holds the data set): X uniform in [-1, 1], y = +-1 drawn
 * from the model with weights w_j = (-1)^j (j + 1) / 50 and bias 0.1, from a fixed seed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { F = 50, BLOCK = 4096 };

static uint64_t state = 0x9E3779B97F4A7C15ull;

static double uniform(void)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (double)((state * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: gen_data N X.f64 y.f64\n");
        return 2;
    }
    long long n = atoll(argv[1]);
    FILE *fx = fopen(argv[2], "wb"), *fy = fopen(argv[3], "wb");
    if (!fx || !fy) {
        perror("gen_data");
        return 1;
    }
    static double x[BLOCK * F], y[BLOCK];
    for (long long at = 0; at < n; at += BLOCK) {
        int k = n - at < BLOCK ? (int)(n - at) : BLOCK;
        for (int r = 0; r < k; r++) {
            double z = 0.1;
            for (int j = 0; j < F; j++) {
                x[r * F + j] = 2 * uniform() - 1;
                z += (j % 2 ? -1 : 1) * (j + 1) / 50.0 * x[r * F + j];
            }
            y[r] = uniform() < 1 / (1 + exp(-z)) ? 1 : -1;
        }
        /* little-endian hosts: the file's layout is the memory's */
        if (fwrite(x, sizeof(double) * F, (size_t)k, fx) != (size_t)k || fwrite(y, sizeof(double), (size_t)k, fy) != (size_t)k) {
            perror("gen_data");
            return 1;
        }
    }
    if (fclose(fx) || fclose(fy)) {
        perror("gen_data");
        return 1;
    }
    return 0;
}
