#!/bin/bash
# Benchmark of pairs of rows over MPI ranks (issue 20): RankNet with 8 features over all ordered
# pairs of N rows (bench/mpi/ranknet.hl), on 1, 2 and 4 ranks of this machine.
#
#   bench/mpi/pairs.sh [BUILD_DIR] [ROWS] [EVALUATIONS]
#
# BUILD_DIR defaults to build, ROWS to 6000 (3.6e7 pairs), EVALUATIONS to 3. Prints one line per
# rank count (pairs_bench.c says what each key means). Needs Open MPI. Not part of the test run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:-$HERE/../../build}")
ROWS=${2:-6000}
EVALS=${3:-3}
DATA=${BENCH_MPI_DATA:-/tmp/hessgen-bench-mpi}
mkdir -p "$DATA"
python3 - "$ROWS" "$DATA" <<'PY'
import random, struct, sys
n, d = int(sys.argv[1]), sys.argv[2]
g = random.Random(1)
w = [g.gauss(0, 1) for _ in range(8)]
X = [[g.gauss(0, 1) for _ in range(8)] for _ in range(n)]
with open(d + "/rnX_%d.f64" % n, "wb") as f:
    f.write(struct.pack("<%dd" % (8 * n), *[v for row in X for v in row]))
with open(d + "/rnr_%d.f64" % n, "wb") as f:
    f.write(struct.pack("<%dd" % n, *[sum(a * b for a, b in zip(w, row)) + g.gauss(0, 0.5) for row in X]))
PY
"$BUILD/hessgen" "$HERE/ranknet.hl" --prefix rn -o "$DATA/rn.c"
RT=$HERE/../../runtime
mpicc -O2 -I"$RT" -I"$RT/mpi" "$HERE/pairs_bench.c" "$DATA/rn.c" "$BUILD/runtime/libhessrt-mpi.a" \
  "$BUILD/runtime/libhessrt.a" -llapacke -lm -o "$DATA/pairs_bench"
ROOT=()
[ "$(id -u)" = 0 ] && ROOT=(--allow-run-as-root)
for P in 1 2 4; do
  OPENBLAS_NUM_THREADS=1 mpirun "${ROOT[@]}" --oversubscribe -n "$P" "$DATA/pairs_bench" \
    "$DATA/rnX_$ROWS.f64" "$DATA/rnr_$ROWS.f64" "$EVALS"
done
