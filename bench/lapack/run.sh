#!/bin/sh
# dsytrf against dsyevr, and a Newton iteration's share outside LAPACK (lapack_bench.c).
# Uses build/hessgen and build/runtime/libhessrt.a; about a minute on 2 cores.
set -e
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
build/hessgen bench/models/rosen1000.hl -o "$tmp/rosen.c" --prefix rosen
cc -O1 -c "$tmp/rosen.c" -o "$tmp/rosen.o"
cc -O2 -Iruntime bench/lapack/lapack_bench.c "$tmp/rosen.o" build/runtime/libhessrt.a -llapacke -lm -o "$tmp/bench"
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, git $(git rev-parse --short HEAD)"
"$tmp/bench"
