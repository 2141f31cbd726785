/* hessrt_mpi.h: libhessrt-mpi, a model's loss over a data set split across MPI processes.
 *
 * Every process (rank) of a communicator of P holds a block of the rows of each row count:
 * rows [lo_r, lo_(r+1)) of T, lo_r = r q + min(r, T mod P) with q = T div P (the first T mod P
 * ranks hold a row more), read from the files by that rank alone (a raw float64 file from its
 * offset; a CSV file is read by rank 0, which sends each rank its block, holding its own and
 * one to send). Arrays without rows (`data c[3]`) are read whole by every rank. The generated
 * code sums over the rows a rank holds and, after each loop over rows, adds what the loop summed
 * over the ranks in one MPI_Allreduce (hessgen_rows_part): a loss linear in its sums is one
 * message per evaluation, one that is not (a log of a sum, a ratio of means) one per stage (in
 * array-loop code, whose Hessian goes a column at a time, one per column). Pairs of rows (a
 * sum over rows inside a loop over rows) pass the blocks round a ring (hessgen_visit): at step
 * k = 1 .. P-1 each rank sends the block it holds to rank r-1 and receives rank r+k's from
 * rank r+1. Every rank then holds the whole loss, gradient and Hessian. With --checked code, a value that is not finite
 * is traced on the rank whose rows made it, and rank 0's hessrt_fault names that rank.
 *
 * The evaluation functions are collective: every rank calls them in the same order. The
 * simplest way to keep that is to let rank 0 drive: rank 0 passes hessrt_mpi_model(d) and d to
 * any of libhessrt's functions (hessrt_newton, hessrt_classify, hessrt_main_bound), which
 * broadcast each theta to the other ranks, running hessrt_mpi_serve(d) meanwhile, and calls
 * hessrt_mpi_release(d, status) at the end. hessrt_mpi_main does all of this for `hessgen
 * --main` programs. libhessrt itself has no MPI in it.
 */
#ifndef HESSRT_MPI_H
#define HESSRT_MPI_H

#include <mpi.h>

#include "hessrt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hessrt_mpi_data hessrt_mpi_data;

/* Collective over comm: this rank's rows of each data array, "NAME=FILE" as hessrt_data_load
 * takes them, bound into the model's data struct as a part of the whole data set. On a problem
 * on any rank (arguments it cannot take, a file it cannot open, a file that is not whole rows,
 * row counts that disagree between ranks or arrays, a model that cannot be split), every rank
 * returns NULL with the same message in err: that of the lowest rank that failed, which it
 * names. Files are compared between ranks by their row counts only, not their contents. */
hessrt_mpi_data *hessrt_mpi_data_load(const hessgen_model *m, MPI_Comm comm, int nspecs, const char *const *specs,
                                      char *err, size_t errlen);
/* The model's data struct for this rank's part: m->loss(theta, data) and the rest, called by
 * every rank together, give every rank the whole data set's values. */
const void *hessrt_mpi_data_struct(const hessrt_mpi_data *d);
/* This rank's rows of row count `size` (an index into m->size_names), the first of them (0-based
 * in the whole data set) and the whole data set's. */
size_t hessrt_mpi_rows(const hessrt_mpi_data *d, int size, size_t *first, size_t *total);
/* The sums added across ranks so far: MPI_Allreduce calls, and doubles sent by this rank in
 * them (one vector each). */
void hessrt_mpi_traffic(const hessrt_mpi_data *d, unsigned long long *reductions, unsigned long long *doubles);
/* Pairs of rows (a sum over rows inside a loop over rows): how many times this rank passed a
 * block of rows on round the ring, and the doubles it sent so. */
void hessrt_mpi_visits(const hessrt_mpi_data *d, unsigned long long *shifts, unsigned long long *doubles);
void hessrt_mpi_data_free(hessrt_mpi_data *d);

/* Rank 0 drives: a model descriptor whose evaluations broadcast theta (and v) to every rank, and
 * evaluate there with d (pass d as its data). Other ranks run hessrt_mpi_serve(d), which
 * evaluates whatever rank 0 asks until rank 0 calls hessrt_mpi_release(d, status); serve then
 * returns that status. */
const hessgen_model *hessrt_mpi_model(hessrt_mpi_data *d);
int hessrt_mpi_serve(hessrt_mpi_data *d);
void hessrt_mpi_release(hessrt_mpi_data *d, int status);

/* The analyzer's command line (hessrt_main) over MPI, for `mpirun -n P ./model SUBCOMMAND
 * --data NAME=FILE ...`: MPI_Init, each rank loads its rows, rank 0 runs the subcommand and
 * prints, the others serve it; every rank exits with rank 0's status, or, where loading failed,
 * with 2 and the failing rank's message (printed once, by rank 0). */
int hessrt_mpi_main(const hessgen_model *m, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif
