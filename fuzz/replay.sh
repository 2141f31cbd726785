#!/bin/sh
# Replays every fuzz corpus through the harnesses of a build (ctest's fuzz_replay; in the
# sanitizer build, under AddressSanitizer and UndefinedBehaviorSanitizer): the front end on
# every .hl of the project and every input a campaign found (fuzz/seeds.sh), in code
# generation and in exact mode; the data loaders on fuzz/data, fuzz/corpus/data and
# fuzz/regressions/data; the analyzer's arguments on fuzz/args, fuzz/corpus/args and
# fuzz/regressions/args (fuzz/corpus: the campaigns' queues, minimized by afl-cmin). Fails if any input crashes or
# runs out of time.   fuzz/replay.sh BUILD_DIR [codegen|exact|all] [EVERY]
# (codegen: the front end in code generation and the data loaders; exact: the front end in exact
# mode and the analyzer's arguments; all: both. EVERY: of the campaigns' front-end queue
# (fuzz/corpus/frontend, 983 inputs) only every EVERY-th; the project's files and the
# regressions always. The sanitized build replays every 6th, to stay within CI's time; the
# plain build all.)
set -e
build=$1
part=${2:-all}
every=${3:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seeds=$(fuzz/seeds.sh "$root" | awk -v k="$every" '!/^fuzz\/corpus\/frontend\// || (n++ % k == 0)')
# a time limit per input that no input of the corpus comes near, even under the sanitizers
# (the largest, 344444 parameters, takes about 30 s there): past it, an input hangs
export HESSGEN_FUZZ_SECONDS=${HESSGEN_FUZZ_SECONDS:-300}
if [ "$part" != exact ]; then
    "$build/fuzz/fuzz_frontend" $seeds
    "$build/fuzz/fuzz_data" fuzz/data/* fuzz/corpus/data/* $(find fuzz/regressions/data -type f)
fi
if [ "$part" != codegen ]; then
    HESSGEN_FUZZ_EXACT=1 "$build/fuzz/fuzz_frontend" $seeds
    "$build/fuzz/fuzz_args" fuzz/args/* fuzz/corpus/args/* $(find fuzz/regressions/args -type f)
fi
