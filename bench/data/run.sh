#!/bin/bash
# Benchmark of a loss over run-time data (issue 6: logistic regression, 50 features, 100000
# rows); writes bench/data/README.md.
#
#   bench/data/run.sh [HESSGEN] [-- BENCH.PY OPTIONS]
#
# HESSGEN defaults to build/hessgen. Takes about 2 minutes on 2 quiet cores (most of it ADOL-C's
# hessian driver), plus up to 2 minutes' wait, before the timings, for other processes to leave
# the CPUs alone (`-- --quiet-wait S` changes that). Needs a C and a C++ compiler, OpenBLAS
# (Debian's libopenblas-dev), python3 and valgrind. ADOL-C (Debian's libadolc-dev, the peer of
# section 4) is installed here with apt-get if it is missing and this runs as root; otherwise
# that section is skipped with a message. Not part of the test run.
# Options after `--` go to bench.py, e.g. `-- --rows 20000`, `-- --no-callgrind`, `-- --reps 15`,
# `-- --keep DIR` (build there and keep it), `-- --out FILE`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
HESSGEN=$HERE/../../build/hessgen
if [ $# -gt 0 ] && [ "$1" != "--" ]; then HESSGEN=$1; shift; fi
[ "${1:-}" = "--" ] && shift
[ -x "$HESSGEN" ] || { echo "run.sh: no hessgen at $HESSGEN: build it first" >&2; exit 1; }
HESSGEN=$(realpath "$HESSGEN")

have_adolc() {
  [ -f /usr/include/adolc/adolc.h ] || return 1
  local f
  for f in /usr/lib/*/libadolc.so /usr/lib/libadolc.so /usr/local/lib/libadolc.so; do
    [ -e "$f" ] && return 0
  done
  return 1
}
SKIP=
if ! have_adolc; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: installing Debian's libadolc-dev (the ADOL-C peer) with apt-get ..."
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq --no-install-recommends libadolc-dev >/dev/null; }; then
      SKIP="apt-get install libadolc-dev failed"
    fi
  else
    SKIP="ADOL-C (libadolc-dev) is not installed and run.sh is not root, so it cannot install it"
  fi
  [ -z "$SKIP" ] || echo "run.sh: ADOL-C skipped: $SKIP"
fi
if [ -n "$SKIP" ]; then
  exec python3 "$HERE/bench.py" --hessgen "$HESSGEN" --no-adolc --adolc-skip-reason "$SKIP" "$@"
fi
exec python3 "$HERE/bench.py" --hessgen "$HESSGEN" "$@"
