#!/bin/bash
# The benchmarks' one entry point: lists them, runs one, or runs the core pair.
#
#   bench/run.sh                     lists every benchmark: name, time, what it measures
#   bench/run.sh NAME [ARGS...]      runs one, with its own arguments (see its header)
#   bench/run.sh core [--quick] [--out FILE]
#                                    instruction counts, then code generation against SymPy
#                                    (callgrind + codegen: about 12-15 minutes on 2 cores)
#     --quick     SymPy only where it is fast to cap: rosen1000 (gradient-reuse variant) and
#                 tanh100 (sympy.hessian), no rosen10000 SymPy run (about 6 minutes)
#     --out FILE  also write everything printed to FILE
# Environment: HESSGEN (default build/hessgen), CC (default cc), JOBS (parallel compiles, 2).
# Not part of the test run. See bench/README.md for what each figure means.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)

# name | command (relative to bench/) | time on 2 cores | what it measures
BENCHMARKS='core|run.sh core|12-15 min|instruction counts of generated functions against hand-written peers, then code generation against SymPy
callgrind|callgrind.sh|1 min|instructions of one call of generated functions and of hand-written peers (valgrind)
codegen|codegen.py|10-13 min|code generation time and C size, hessgen against SymPy (Rosenbrock 1000 and 10000, a tanh net)
scale|scale/run.sh|3 min|code generation against the parameter count, 1000 to 100000: time, memory, C size, gcc -O2
depth|depth/run.py|2 min|compositions 10 to 10000 deep: C size, hessgen time and instructions per level
mlp|mlp/run.py|2-5 min|MLPs by width and depth: hessgen time, C size, gcc -O2 time and memory
mlp-eval|mlp/eval.py|2 min|the MLPs loss, gradient, HVP and Hessian per evaluation, array loops against unrolled
peers|mlp/peers/bench.py|4-8 min|the MLPs Hessian against a hand BLAS Hessian, ADOL-C and central differences
python|python/run.py|1 min|the Python package per call against the same C function called from C
e2e|e2e/run.py|8 min|hessgen then gcc -O2 against SymPy then gcc, end to end (MLP, logistic regression, prodexp)
data|data/run.sh|2-4 min|logistic regression over 100000 data rows: the Hessian against a hand BLAS one (dsyrk) and ADOL-C
checked|checked/run.sh|3 min|what --checked costs, and that code without it is unchanged
exact|exact/run.sh|2-4 min|the exact classifier: time per verdict, against Singular where installed
lapack|lapack/run.sh|1 min|dsytrf against dsyevr, and a Newton step outside LAPACK
plot|plot/run.sh|3 min|plot surface at 1000 to 100000 parameters against a loop of loss evaluations
fuzz|fuzz.sh|MINUTES per harness|a fuzzing campaign with AFL++ (fuzz/README.md)'

if [ $# -eq 0 ] || [ "$1" = --list ]; then
  echo "bench/run.sh NAME [ARGS...] runs one of these (bench/README.md says what each figure means):"
  echo
  echo "$BENCHMARKS" | awk -F'|' '{ printf "  %-10s %-20s %-20s %s\n", $1, $2, $3, $4 }'
  exit 0
fi
if [ "$1" != core ]; then
  line=$(echo "$BENCHMARKS" | awk -F'|' -v n="$1" '$1 == n')
  [ -n "$line" ] || { echo "run.sh: no benchmark '$1' (bench/run.sh lists them)" >&2; exit 2; }
  cmd=$HERE/$(echo "$line" | cut -d'|' -f2)
  shift
  case $cmd in
    *.py) exec python3 "$cmd" "$@" ;;
    *) exec "$cmd" "$@" ;;
  esac
fi
shift
PLAN=
OUT=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) PLAN="--plan rosen1000:tri:600,tanh100:hessian:600,rosen10000:none:0"; shift ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: bench/run.sh core [--quick] [--out FILE]" >&2; exit 2 ;;
  esac
done
if [ -n "$OUT" ]; then exec > >(tee "$OUT") 2>&1; fi
export HESSGEN=${HESSGEN:-$HERE/../build/hessgen}
[ -x "$HESSGEN" ] || { echo "run.sh: no hessgen at $HESSGEN: build it first" >&2; exit 1; }

echo "# hessgen benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "# $("$HESSGEN" --version 2>&1 | head -1); git $(git -C "$HERE/.." rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$HERE/.." diff --quiet 2>/dev/null || echo ' + local changes')"
echo "# machine: $(uname -sm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(free -g | awk '/Mem:/ {print $2}') GB"
echo "# load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (wall-clock figures are only as quiet as the machine)"
start=$(date +%s)
echo
echo "## 1. Instruction counts (bench/callgrind.sh)"
"$HERE/callgrind.sh"
echo
echo "## 2. Code generation: hessgen vs SymPy (bench/codegen.py)"
# shellcheck disable=SC2086
python3 "$HERE/codegen.py" $PLAN
echo
echo "# load average at end: $(cut -d' ' -f1-3 /proc/loadavg); total $(( $(date +%s) - start )) s"
