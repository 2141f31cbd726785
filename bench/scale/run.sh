#!/bin/bash
# Code generation against the number of parameters (issue 6): extended Rosenbrock and Broyden's
# tridiagonal function at N = 1000 ... 100000 (models.py): hessgen's time and peak memory, the
# generated C's size (all of it, and the evaluation functions alone: the rest is the tables of
# names, start values and the Hessian's pattern), and gcc -O2's time on it. Writes
# bench/scale/README.md. About 3 minutes on 2 cores. Not part of the test run.
#
#   bench/scale/run.sh [HESSGEN]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
HESSGEN=$(realpath "${1:-$HERE/../../build/hessgen}")
[ -x "$HESSGEN" ] || { echo "run.sh: no hessgen at $HESSGEN: build it first" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
OUT=$HERE/README.md.tmp
measure() { # kind n -> one table row
  local kind=$1 n=$2 hl=$TMP/$1_$2.hl c=$TMP/$1_$2.c
  python3 "$HERE/models.py" "$kind" "$n" > "$hl"
  /usr/bin/time -f "%e %M" -o "$TMP/gen.time" "$HESSGEN" "$hl" -o "$c"
  /usr/bin/time -f "%e %M" -o "$TMP/cc.time" gcc -std=c99 -O2 -c "$c" -o "$TMP/x.o"
  local size fn
  size=$(stat -c %s "$c")
  # bytes of the six evaluation functions: from each definition to its closing brace
  fn=$(awk '/^(double|void) [A-Za-z0-9_]+\(const double \*theta/ && !/;$/ {on=1} on {b+=length($0)+1} /^}/ {on=0} END {print b}' "$c")
  read -r gt gm < "$TMP/gen.time"
  read -r ct cm < "$TMP/cc.time"
  printf '| %s | %d | %.2f | %.1f | %d | %.2f | %d | %.2f | %d |\n' "$kind" "$n" "$gt" \
    "$(echo "$gt * 1000000 / $n" | bc -l)" $((gm / 1024)) "$(echo "$size / 1000000" | bc -l)" "$fn" "$ct" $((cm / 1024))
}
{
  echo "# Code generation at scale"
  echo
  echo "Produced by \`bench/scale/run.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(gcc --version | head -1))."
  echo "Times are single runs in seconds (wall clock); memory is the peak resident size."
  echo
  echo "| model | N | hessgen s | hessgen us per parameter | hessgen MB | C MB | evaluation code bytes | gcc -O2 s | gcc MB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for kind in rosenbrock tridiagonal; do
    for n in 1000 3000 10000 30000 100000; do
      measure "$kind" "$n"
    done
  done
  echo
  echo "The C grows linearly with N, and all of that growth is tables (parameter names, start"
  echo "values, the Hessian's pattern): the evaluation functions are loops whose size does not"
  echo "depend on N. hessgen's time per parameter is the column to read for linearity."
} > "$OUT"
mv "$OUT" "$HERE/README.md"
cat "$HERE/README.md"
