/* mpi_bench.c: logistic regression with 50 features (bench/data/logreg50.hl) over rows split
 * across MPI ranks, through libhessrt-mpi.
 *
 *   mpirun -n P mpi_bench X.f64 y.f64 ITERATIONS
 *
 * Rank 0 drives (hessrt_mpi_model) pure Newton for ITERATIONS steps from theta = 0 (the loss is
 * convex: each step is one Hessian with its gradient, one linear solve) and prints one line of
 * key=value: ranks, rows, seconds per iteration (wall, the slowest rank's clock is rank 0's:
 * every evaluation ends in an allreduce), the evaluations and allreduces per iteration, the
 * doubles each rank sends per iteration, the peak resident memory of the largest rank (MB), the
 * time of one allreduce of a Hessian's worth of doubles alone (microseconds, the median of 200),
 * and the final loss and gradient norm (the same for every P). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "hessrt_mpi.h"

extern const hessgen_model lr_model;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (argc != 4) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -n P %s X.f64 y.f64 ITERATIONS\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    char specX[4096], specy[4096], err[1024];
    snprintf(specX, sizeof specX, "X=%s", argv[1]);
    snprintf(specy, sizeof specy, "y=%s", argv[2]);
    const char *specs[2] = {specX, specy};
    int iterations = atoi(argv[3]);
    double t0 = now();
    hessrt_mpi_data *d = hessrt_mpi_data_load(&lr_model, MPI_COMM_WORLD, 2, specs, err, sizeof err);
    double load = now() - t0;
    if (!d) {
        if (rank == 0)
            fprintf(stderr, "mpi_bench: %s\n", err);
        MPI_Finalize();
        return 2;
    }
    size_t first, total, rows = hessrt_mpi_rows(d, 0, &first, &total);
    (void)rows;
    int n = lr_model.nparam;
    size_t tri = (size_t)n * (n + 1) / 2 + (size_t)n + 1;

    /* an allreduce of a Hessian's lower triangle, gradient and loss, alone */
    double *buf = calloc(tri, sizeof(double)), samples[200];
    for (int k = 0; k < 200; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = now();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)tri, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        samples[k] = now() - t;
    }
    qsort(samples, 200, sizeof(double), by_value);
    double allreduce_us = 1e6 * samples[100];
    free(buf);

    unsigned long long r0, d0, r1, d1;
    hessrt_mpi_traffic(d, &r0, &d0);
    int status = 0;
    double seconds = 0, loss = NAN, gnorm = NAN;
    int done = 0;
    if (rank == 0) {
        const hessgen_model *m = hessrt_mpi_model(d);
        double *theta = calloc((size_t)n, sizeof(double));
        hessrt_newton_options o = hessrt_default_newton_options(HESSRT_PURE);
        o.max_iterations = iterations;
        o.grad_tol = 0; /* run every step: a fixed amount of work */
        hessrt_newton_result res;
        double t = now();
        status = hessrt_newton(m, d, theta, &o, &res);
        seconds = now() - t;
        done = res.iterations;
        loss = res.loss;
        gnorm = res.gradient_norm;
        hessrt_newton_result_free(&res);
        free(theta);
        hessrt_mpi_release(d, status);
    } else {
        status = hessrt_mpi_serve(d);
    }
    hessrt_mpi_traffic(d, &r1, &d1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rss = ru.ru_maxrss, rss_max;
    MPI_Reduce(&rss, &rss_max, 1, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        int steps = done > 0 ? done : 1;
        printf("ranks=%d rows=%zu iterations=%d seconds_per_iteration=%.4f load_seconds=%.2f "
               "allreduces_per_iteration=%.2f doubles_per_iteration=%.0f max_rss_mb=%.1f allreduce_us=%.1f "
               "loss=%.17g gradient_norm=%.3g\n",
               ranks, total, done, seconds / steps, load, (double)(r1 - r0) / steps, (double)(d1 - d0) / steps,
               (double)rss_max / 1024.0, allreduce_us, loss, gnorm);
    }
    hessrt_mpi_data_free(d);
    MPI_Finalize();
    return 0;
}
