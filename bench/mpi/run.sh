#!/bin/bash
# Benchmark of Newton over MPI ranks (issue 20): logistic regression with 50 features
# (bench/data/logreg50.hl) over N rows of raw float64, 1, 2 and 4 ranks on this machine.
#
#   bench/mpi/run.sh [BUILD_DIR] [ROWS] [ITERATIONS]
#
# BUILD_DIR defaults to build (hessgen and runtime/libhessrt-mpi.a in it), ROWS to 10000000
# (a 4 GB X.f64, written once into $BENCH_MPI_DATA, default /tmp/hessgen-bench-mpi), ITERATIONS
# to 3. Prints one line per rank count (mpi_bench.c says what each key means). Needs Open MPI
# (mpicc, mpirun). Not part of the test run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:-$HERE/../../build}")
ROWS=${2:-10000000}
ITERS=${3:-3}
DATA=${BENCH_MPI_DATA:-/tmp/hessgen-bench-mpi}
mkdir -p "$DATA"
cc -O2 -o "$DATA/gen_data" "$HERE/gen_data.c" -lm
if [ ! -f "$DATA/X_$ROWS.f64" ]; then
  "$DATA/gen_data" "$ROWS" "$DATA/X_$ROWS.f64.tmp" "$DATA/y_$ROWS.f64.tmp"
  mv "$DATA/X_$ROWS.f64.tmp" "$DATA/X_$ROWS.f64"
  mv "$DATA/y_$ROWS.f64.tmp" "$DATA/y_$ROWS.f64"
fi
"$BUILD/hessgen" "$HERE/../data/logreg50.hl" --prefix lr -o "$DATA/lr.c"
RT=$HERE/../../runtime
mpicc -O2 -I"$RT" -I"$RT/mpi" "$HERE/mpi_bench.c" "$DATA/lr.c" "$BUILD/runtime/libhessrt-mpi.a" \
  "$BUILD/runtime/libhessrt.a" -llapacke -lm -o "$DATA/mpi_bench"
ROOT=()
[ "$(id -u)" = 0 ] && ROOT=(--allow-run-as-root)
for P in 1 2 4; do
  OPENBLAS_NUM_THREADS=1 mpirun "${ROOT[@]}" --oversubscribe -n "$P" "$DATA/mpi_bench" \
    "$DATA/X_$ROWS.f64" "$DATA/y_$ROWS.f64" "$ITERS"
done
