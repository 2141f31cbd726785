#!/bin/sh
# cmake --install puts hessgen, libhessrt and hessrt.pc in a prefix; a user's program built
# with `pkg-config --cflags --libs hessrt` classifies the lecture's saddle through them.
#   test_install.sh BUILD_DIR SOURCE_DIR CC
set -e
build=$1 src=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
pc=$(find "$tmp/prefix" -name hessrt.pc)
test -n "$pc" || { echo "FAIL: no hessrt.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH="$(dirname "$pc")"
"$tmp/prefix/bin/hessgen" "$src/examples/weakest.hl" -o "$tmp/weakest_hess.c"
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
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/classify")
if [ "$out" = "saddle -2 2" ]; then
    echo "ok   installed hessgen + libhessrt via pkg-config: $out"
    echo "1 passed, 0 failed"
else
    echo "FAIL: expected 'saddle -2 2', got '$out'"
    echo "0 passed, 1 failed"
    exit 1
fi
