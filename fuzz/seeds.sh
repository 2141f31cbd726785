#!/bin/sh
# The seed corpus of the front end's fuzzing: every .hl the project holds (examples, tests,
# benchmarks), every input a campaign found that failed once (fuzz/regressions/frontend) and
# the campaigns' queues, minimized by afl-cmin (fuzz/corpus/frontend). Prints their paths.
#   fuzz/seeds.sh [ROOT]
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root" && find examples tests bench fuzz/regressions/frontend fuzz/corpus/frontend -name '*.hl' -type f 2>/dev/null | LC_ALL=C sort
