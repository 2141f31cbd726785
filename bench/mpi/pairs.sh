#!/bin/bash
# Benchmark of pairs of rows over MPI ranks (issue 20): RankNet with F features over all ordered
# pairs of N rows (bench/mpi/ranknet.hl, F = 8: unrolled code; F = 48: array loops), on 1, 2 and
# 4 ranks of this machine.
#
#   bench/mpi/pairs.sh [BUILD_DIR] [ROWS] [EVALUATIONS] [FEATURES]
#
# BUILD_DIR defaults to build, ROWS to 6000 (3.6e7 pairs), EVALUATIONS to 3, FEATURES to 8.
# Prints one line per rank count (pairs_bench.c says what each key means). Needs Open MPI. Not
# part of the test run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(realpath "${1:-$HERE/../../build}")
ROWS=${2:-6000}
EVALS=${3:-3}
F=${4:-8}
DATA=${BENCH_MPI_DATA:-/tmp/hessgen-bench-mpi}
mkdir -p "$DATA"
python3 - "$ROWS" "$DATA" "$F" <<'PY'
import random, struct, sys
n, d, F = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
g = random.Random(1)
w = [g.gauss(0, 1) for _ in range(F)]
X = [[g.gauss(0, 1) for _ in range(F)] for _ in range(n)]
with open(d + "/rnX_%d_%d.f64" % (n, F), "wb") as f:
    f.write(struct.pack("<%dd" % (F * n), *[v for row in X for v in row]))
with open(d + "/rnr_%d_%d.f64" % (n, F), "wb") as f:
    f.write(struct.pack("<%dd" % n, *[sum(a * b for a, b in zip(w, row)) + g.gauss(0, 0.5) for row in X]))
PY
sed "s/\[8\]/[$F]/g" "$HERE/ranknet.hl" > "$DATA/ranknet$F.hl"
"$BUILD/hessgen" "$DATA/ranknet$F.hl" --prefix rn -o "$DATA/rn.c"
RT=$HERE/../../runtime
mpicc -O2 -I"$RT" -I"$RT/mpi" "$HERE/pairs_bench.c" "$DATA/rn.c" "$BUILD/runtime/libhessrt-mpi.a" \
  "$BUILD/runtime/libhessrt.a" -llapacke -lm -o "$DATA/pairs_bench"
ROOT=()
[ "$(id -u)" = 0 ] && ROOT=(--allow-run-as-root)
for P in 1 2 4; do
  OPENBLAS_NUM_THREADS=1 mpirun "${ROOT[@]}" --oversubscribe -n "$P" "$DATA/pairs_bench" \
    "$DATA/rnX_${ROWS}_$F.f64" "$DATA/rnr_${ROWS}_$F.f64" "$EVALS"
done
