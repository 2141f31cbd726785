#!/bin/sh
# cmake --install puts hessgen, libhessrt and hessrt.pc in a prefix; from there, with nothing
# but PATH and PKG_CONFIG_PATH pointing into it (no LD_LIBRARY_PATH):
#   1. a user's program built with `pkg-config --cflags --libs hessrt` classifies the lecture's
#      saddle through the library;
#   2. the README's route, `hessgen --main` then cc with pkg-config, runs (it finds
#      libhessrt.so by itself);
#   3. `hessgen run` on a loss over data files links (the generated C needs -lm itself) and
#      fits the line;
#   4. where Open MPI is installed: the same --main file built with `pkg-config --cflags --libs
#      hessrt-mpi` runs over 2 ranks, and so does `hessgen run --np 2`;
#   5. the Python package imports from the prefix and finds hessgen on PATH (when
#      /usr/bin/python3 has numpy).
#   test_install.sh BUILD_DIR SOURCE_DIR CC
set -e
build=$1 src=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(find "$tmp/prefix" -name hessrt.pc)
test -n "$pc" || { echo "FAIL: no hessrt.pc installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pc")" PATH="$tmp/prefix/bin:$PATH" HESSGEN_CACHE="$tmp/cache"
unset LD_LIBRARY_PATH
passed=0
pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; echo "$passed passed, 1 failed"; exit 1; }

hessgen "$src/examples/weakest.hl" -o "$tmp/weakest_hess.c"
cat > "$tmp/main.c" <<'C'
#include <stdio.h>
#include <hessrt.h>
extern const hessgen_model weakest_model;
int main(void)
{
    const double origin[2] = {0, 0};
    hessrt_report r;
    if (hessrt_classify(&weakest_model, NULL, origin, NULL, &r) != 0)
        return 1;
    printf("%s %g %g\n", hessrt_verdict_name(r.verdict), r.eigenvalues[0], r.eigenvalues[1]);
    hessrt_report_free(&r);
    return 0;
}
C
"$cc" "$tmp/main.c" "$tmp/weakest_hess.c" $(pkg-config --cflags --libs hessrt) -o "$tmp/classify"
out=$("$tmp/classify") || fail "the pkg-config program did not run: $out"
[ "$out" = "saddle -2 2" ] || fail "expected 'saddle -2 2', got '$out'"
pass "a program built with pkg-config against the installed libhessrt: $out"

hessgen "$src/examples/weakest.hl" --main -o "$tmp/analyzer.c"
"$cc" "$tmp/analyzer.c" $(pkg-config --cflags --libs hessrt) -o "$tmp/weakest"
out=$("$tmp/weakest" classify w1=0,w2=0) || fail "the --main analyzer did not run: $out"
echo "$out" | grep -q "verdict      saddle" || fail "the --main analyzer: $out"
pass "the README's --main route runs without LD_LIBRARY_PATH"

hessgen "$src/examples/line_fit.hl" --main -o "$tmp/analyzer_data.c"
out=$(hessgen run "$src/examples/line_fit.hl" newton --data x="$src/examples/data/line_x.csv" \
      --data y="$src/examples/data/line_y.csv" 2>&1) || fail "hessgen run on a loss over data: $out"
echo "$out" | grep -q "^converged" || fail "hessgen run on a loss over data: $out"
pass "hessgen run from the prefix on a loss over data files"
if [ -n "$(find "$tmp/prefix" -name hessrt-mpi.pc)" ] && command -v mpirun >/dev/null; then
    # the same --main file, built with the MPI runtime's pkg-config: its rows over 2 ranks
    "$cc" "$tmp/analyzer_data.c" $(pkg-config --cflags --libs hessrt-mpi) -o "$tmp/line_mpi" 2>"$tmp/cc.err" ||
        fail "a --main program built with pkg-config hessrt-mpi: $(cat "$tmp/cc.err")"
    root=""
    [ "$(id -u)" = 0 ] && root=--allow-run-as-root
    out=$(mpirun $root --oversubscribe -n 2 "$tmp/line_mpi" newton --data x="$src/examples/data/line_x.csv" \
          --data y="$src/examples/data/line_y.csv" 2>&1) || fail "the MPI analyzer over 2 ranks: $out"
    echo "$out" | grep -q "^converged" || fail "the MPI analyzer over 2 ranks: $out"
    pass "a --main program built with pkg-config hessrt-mpi runs over 2 ranks"
    out=$(hessgen run "$src/examples/line_fit.hl" --np 2 newton --data x="$src/examples/data/line_x.csv" \
          --data y="$src/examples/data/line_y.csv" 2>&1) || fail "hessgen run --np 2: $out"
    echo "$out" | grep -q "^converged" || fail "hessgen run --np 2: $out"
    pass "hessgen run --np 2 from the prefix"
fi
site=$(find "$tmp/prefix" -type d -name hessgen -path '*dist-packages*' | head -1)
test -n "$site" || fail "no python/hessgen installed"
if /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    out=$(cd "$tmp" && PYTHONPATH="$(dirname "$site")" /usr/bin/python3 -c \
        "import hessgen, numpy; m = hessgen.load('$src/examples/weakest.hl'); print(hessgen.__file__.startswith('$tmp'), sorted(numpy.linalg.eigvalsh(m.hess([0, 0]))), hessgen.find_runtime().startswith('$tmp/prefix/'), m.classify([0, 0])['verdict'])" 2>&1) ||
        fail "the installed Python package: $out"
    [ "$out" = "True [-2.0, 2.0] True saddle" ] || fail "the installed Python package: '$out'"
    pass "the Python package from the prefix, hessgen found on PATH and the prefix's libhessrt in process: $out"
fi
echo "$passed passed, 0 failed"
