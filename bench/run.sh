#!/bin/bash
# Runs the whole benchmark suite and prints its tables (about 12-15 minutes on 2 cores).
#
#   bench/run.sh [--quick] [--out FILE]
#
#   --quick     SymPy only where it is fast to cap: rosen1000 (gradient-reuse variant) and
#               tanh100 (sympy.hessian), no rosen10000 SymPy run (about 6 minutes)
#   --out FILE  also write everything printed to FILE
# Environment: HESSGEN (default build/hessgen), CC (default cc), JOBS (parallel compiles, 2).
# Not part of the test run. See bench/README.md for what each figure means.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PLAN=
OUT=
while [ $# -gt 0 ]; do
  case $1 in
    --quick) PLAN="--plan rosen1000:tri:600,tanh100:hessian:600,rosen10000:none:0"; shift ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "usage: bench/run.sh [--quick] [--out FILE]" >&2; exit 2 ;;
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
