#!/bin/bash
# Benchmark of the exact classifier (hessgen --check / --classify); writes bench/exact/README.md.
#
#   bench/exact/run.sh [HESSGEN] [-- BENCH.PY OPTIONS]
#
# HESSGEN defaults to build/hessgen. Takes about 2-4 minutes on 2 cores. Needs python3 and
# valgrind (scripts/setup.sh installs both); Singular (Debian's `singular`, the peer of section
# 4) is installed here with apt-get if it is missing and this runs as root, otherwise that
# section is skipped with a message. Not part of the test run.
# Options after `--` go to bench.py, e.g. `-- --runs 7`, `-- --no-singular`, `-- --json OUT`.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
HESSGEN=$HERE/../../build/hessgen
if [ $# -gt 0 ] && [ "$1" != "--" ]; then HESSGEN=$1; shift; fi
[ "${1:-}" = "--" ] && shift
[ -x "$HESSGEN" ] || { echo "run.sh: no hessgen at $HESSGEN: build it first" >&2; exit 1; }
HESSGEN=$(realpath "$HESSGEN")

SKIP=
if ! command -v Singular >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "run.sh: installing Debian's singular (the peer) with apt-get ..."
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
           apt-get install -y -qq --no-install-recommends singular >/dev/null; }; then
      SKIP="apt-get install singular failed"
    fi
  else
    SKIP="Singular is not on PATH and run.sh is not root, so it cannot install it"
  fi
  [ -z "$SKIP" ] || echo "run.sh: Singular skipped: $SKIP"
fi
if [ -n "$SKIP" ]; then
  exec python3 "$HERE/bench.py" --hessgen "$HESSGEN" --no-singular \
       --singular-skip-reason "$SKIP" "$@"
fi
exec python3 "$HERE/bench.py" --hessgen "$HESSGEN" "$@"
