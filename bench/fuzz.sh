#!/bin/bash
# A fuzzing campaign with AFL++ (Debian's afl++): builds the harnesses with afl-clang-fast in
# build-afl/, seeds them (fuzz/seeds.sh for the front end, fuzz/data and fuzz/args for the
# others), runs afl-fuzz for MINUTES per harness, one after the other, and prints each
# campaign's executions, paths, crashes and hangs. Findings are left in fuzz-out/HARNESS/;
# every crash or hang becomes a file in fuzz/regressions/ (replayed by ctest) once fixed.
#
#   bench/fuzz.sh MINUTES [frontend|exact|data|args]...    (default: frontend data args)
#   bench/fuzz.sh 0 builds the harnesses and stops; then, side by side:
#   FUZZ_NO_BUILD=1 bench/fuzz.sh 60 frontend & FUZZ_NO_BUILD=1 bench/fuzz.sh 60 data & ...
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
MINUTES=${1:?usage: bench/fuzz.sh MINUTES [HARNESS...]}
shift
HARNESSES=${*:-frontend data args}
# AFL++ (Debian's afl++, with clang for afl-clang-fast) is installed here if it is missing and
# this runs as root: only campaigns need it, not the build or the tests (those replay the corpus)
if ! command -v afl-fuzz > /dev/null && [ "$(id -u)" = 0 ] && command -v apt-get > /dev/null; then
    echo "fuzz.sh: installing Debian's afl++ with apt-get ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends afl++ > /dev/null
fi
command -v afl-fuzz > /dev/null || { echo "fuzz.sh: afl-fuzz is needed (apt-get install afl++)" >&2; exit 1; }
export AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1
# FUZZ_NO_BUILD=1: campaigns run side by side on one build (build it once first)
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
    cmake -S "$ROOT" -B "$ROOT/build-afl" -DCMAKE_C_COMPILER=afl-clang-fast -DCMAKE_CXX_COMPILER=afl-clang-fast++ \
        -DCMAKE_BUILD_TYPE=Release > /dev/null
    cmake --build "$ROOT/build-afl" -j"$(nproc)" --target fuzz_frontend fuzz_data fuzz_args > /dev/null
fi
[ "$MINUTES" = 0 ] && exit 0
for h in $HARNESSES; do
    out=$ROOT/fuzz-out/$h
    seeds=$out/seeds
    rm -rf "$out"
    mkdir -p "$seeds"
    case $h in
        frontend|exact) for f in $("$ROOT/fuzz/seeds.sh" "$ROOT"); do cp "$ROOT/$f" "$seeds/$(echo "$f" | tr / _)"; done
                        target="$ROOT/build-afl/fuzz/fuzz_frontend"; dict=(-x "$ROOT/fuzz/hl.dict") ;;
        data) cp "$ROOT"/fuzz/data/* "$seeds/"; target="$ROOT/build-afl/fuzz/fuzz_data"; dict=() ;;
        args) cp "$ROOT"/fuzz/args/* "$seeds/"; target="$ROOT/build-afl/fuzz/fuzz_args"; dict=(-x "$ROOT/fuzz/args.dict") ;;
        *) echo "fuzz.sh: no harness '$h'" >&2; exit 2 ;;
    esac
    # inputs over AFL's 1 MB limit are not seeds
    find "$seeds" -size +1000k -delete
    env=()
    [ "$h" = exact ] && env=(HESSGEN_FUZZ_EXACT=1)
    echo "== $h: $MINUTES minutes"
    env "${env[@]}" afl-fuzz -i "$seeds" -o "$out/afl" "${dict[@]}" -t 2000 -m none -V $((MINUTES * 60)) \
        -- "$target" @@ > "$out/log" 2>&1 || { tail -20 "$out/log"; exit 1; }
    stats=$out/afl/default/fuzzer_stats
    for key in run_time execs_done execs_per_sec corpus_count saved_crashes saved_hangs stability; do
        printf '  %-14s %s\n' "$key" "$(awk -F' *: *' -v k="$key" '$1 == k {print $2}' "$stats")"
    done
done
