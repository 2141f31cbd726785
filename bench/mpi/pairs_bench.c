/* pairs_bench.c: a loss over all pairs of rows (bench/mpi/ranknet.hl) over rows split across MPI
 * ranks, through libhessrt-mpi: each evaluation passes every rank's block round the ring.
 *
 *   mpirun -n P pairs_bench X.f64 r.f64 EVALUATIONS
 *
 * Rank 0 drives (hessrt_mpi_model) EVALUATIONS Hessians (with the gradient) at a fixed point and
 * prints one line of key=value: ranks, rows, seconds per Hessian (wall), the blocks each rank
 * passed on and the doubles it sent round the ring per Hessian, the allreduces and their doubles
 * per Hessian, the peak resident memory of the largest rank (MB), and the loss (the same for
 * every P, to rounding). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "hessrt_mpi.h"

extern const hessgen_model rn_model;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, ranks;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks);
    if (argc != 4) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -n P %s X.f64 r.f64 EVALUATIONS\n", argv[0]);
        MPI_Finalize();
        return 2;
    }
    char specX[4096], specr[4096], err[1024];
    snprintf(specX, sizeof specX, "X=%s", argv[1]);
    snprintf(specr, sizeof specr, "r=%s", argv[2]);
    const char *specs[2] = {specX, specr};
    int evaluations = atoi(argv[3]);
    hessrt_mpi_data *d = hessrt_mpi_data_load(&rn_model, MPI_COMM_WORLD, 2, specs, err, sizeof err);
    if (!d) {
        if (rank == 0)
            fprintf(stderr, "pairs_bench: %s\n", err);
        MPI_Finalize();
        return 2;
    }
    size_t total;
    (void)hessrt_mpi_rows(d, 0, NULL, &total);
    int n = rn_model.nparam;
    unsigned long long s0, v0, r0, d0, s1, v1, r1, d1;
    hessrt_mpi_visits(d, &s0, &v0);
    hessrt_mpi_traffic(d, &r0, &d0);
    double seconds = 0, loss = NAN;
    if (rank == 0) {
        const hessgen_model *m = hessrt_mpi_model(d);
        double *theta = calloc((size_t)n, sizeof(double)), *grad = calloc((size_t)n, sizeof(double));
        double *hess = calloc((size_t)n * (size_t)n, sizeof(double));
        for (int k = 0; k < n; k++)
            theta[k] = 0.1 * sin(k + 1.0);
        double t = now();
        for (int e = 0; e < evaluations; e++)
            loss = m->hess(theta, d, grad, hess);
        seconds = now() - t;
        free(theta);
        free(grad);
        free(hess);
        hessrt_mpi_release(d, 0);
    } else {
        (void)hessrt_mpi_serve(d);
    }
    hessrt_mpi_visits(d, &s1, &v1);
    hessrt_mpi_traffic(d, &r1, &d1);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long rss = ru.ru_maxrss, rss_max;
    MPI_Reduce(&rss, &rss_max, 1, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        double e = evaluations > 0 ? evaluations : 1;
        printf("ranks=%d rows=%zu seconds_per_hessian=%.4f shifts_per_hessian=%.1f ring_doubles_per_hessian=%.0f "
               "allreduces_per_hessian=%.1f allreduce_doubles_per_hessian=%.0f max_rss_mb=%.1f loss=%.17g\n",
               ranks, total, seconds / e, (double)(s1 - s0) / e, (double)(v1 - v0) / e, (double)(r1 - r0) / e,
               (double)(d1 - d0) / e, (double)rss_max / 1024.0, loss);
    }
    hessrt_mpi_data_free(d);
    MPI_Finalize();
    return 0;
}
