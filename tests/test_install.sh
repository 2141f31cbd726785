#!/bin/sh
# cmake --install puts hessgen, libhessrt and hessrt.pc in a prefix; from there, with nothing
# but PATH and PKG_CONFIG_PATH pointing into it (no LD_LIBRARY_PATH):
#   1. a user's program built with `pkg-config --cflags --libs hessrt` classifies the lecture's
#      saddle through the library;
#   2. the README's route, `hessgen --main` then cc with pkg-config, runs (it finds
#      libhessrt.so by itself);
#   3. `hessgen run` on a loss over data files links (the generated C needs -lm itself) and
#      fits the line;
#   4. the Python package imports from the prefix and finds hessgen on PATH (when
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

out=$(hessgen run "$src/examples/line_fit.hl" newton --data x="$src/examples/data/line_x.csv" \
      --data y="$src/examples/data/line_y.csv" 2>&1) || fail "hessgen run on a loss over data: $out"
echo "$out" | grep -q "^converged" || fail "hessgen run on a loss over data: $out"
pass "hessgen run from the prefix on a loss over data files"
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
