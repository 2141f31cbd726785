#!/bin/bash
# What `hessgen --checked` costs, and that code without it is what it was before --checked
# existed. For examples/weakest.hl, rosenbrock10.hl, tanh_net.hl and logistic.hl (over 1000
# rows made by the driver) the C is generated three ways:
#   before   the hessgen of commit BEFORE_COMMIT (78ea4cb, the last commit without --checked),
#            built from `git archive` of that commit under BEFORE_DIR (/tmp/hessgen-before; kept
#            and reused while it is of that commit; only the hessgen target)
#   now      build/hessgen, without --checked
#   checked  build/hessgen --checked
# 1. before and now must be the same text except for two blocks that --checked changed on
#    purpose: the hessgen_model typedef near the top (version 3, one field more) and the
#    hessgen_model descriptor at the end (3 instead of 2, a NULL fault_text); the script fails
#    otherwise. Their .text sections (all the code) must disassemble identically too.
# 2. Each file is compiled with cc -O2 and linked with driver.c (-Wl,-z,now); the three builds
#    of a model must print bit-identical loss, gradient and Hessian at the driver's point.
# 3. callgrind --toggle-collect=PREFIX_hess (then _grad) counts the instructions executed inside
#    that function and everything it calls (row loops, the checked code's helpers, libm), for 1
#    and for REPS calls; the script fails unless the second is exactly REPS times the first.
#    callgrind_annotate splits each figure into the generated code's functions (PREFIX_*) and
#    the rest (libm).
# Writes bench/checked/README.md. About 20 seconds on 2 cores (the first run also builds the old
# hessgen: 15 s more). Not part of the test run.
#
#   bench/checked/run.sh [HESSGEN]
#   (environment: BEFORE_COMMIT, BEFORE_DIR, CC, REPS; KEEP=1 keeps the work directory: the
#   generated C, drivers and callgrind profiles)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HESSGEN=$(realpath "${1:-$ROOT/build/hessgen}")
[ -x "$HESSGEN" ] || { echo "run.sh: no hessgen at $HESSGEN: build it first" >&2; exit 1; }
BEFORE_COMMIT=${BEFORE_COMMIT:-78ea4cb}
BEFORE_DIR=${BEFORE_DIR:-/tmp/hessgen-before}
CC=${CC:-cc}
REPS=${REPS:-10}
NROWS=1000
W=$(mktemp -d /tmp/hessgen_checked.XXXXXX)
if [ -n "${KEEP:-}" ]; then echo "run.sh: keeping $W" >&2; else trap 'rm -rf "$W"' EXIT; fi

# 0. the hessgen of BEFORE_COMMIT
sha=$(git -C "$ROOT" rev-parse "$BEFORE_COMMIT^{commit}")
OLD=$BEFORE_DIR/build/hessgen
if [ ! -x "$OLD" ] || [ "$(cat "$BEFORE_DIR/commit" 2>/dev/null)" != "$sha" ]; then
  echo "building hessgen at $BEFORE_COMMIT in $BEFORE_DIR ..." >&2
  rm -rf "$BEFORE_DIR"
  mkdir -p "$BEFORE_DIR/src"
  git -C "$ROOT" archive "$sha" | tar -x -C "$BEFORE_DIR/src"
  if ! { cmake -S "$BEFORE_DIR/src" -B "$BEFORE_DIR/build" -DCMAKE_BUILD_TYPE=Release &&
         cmake --build "$BEFORE_DIR/build" --target hessgen -j "$(nproc)"; } > "$BEFORE_DIR/build.log" 2>&1; then
    tail -30 "$BEFORE_DIR/build.log" >&2
    echo "run.sh: building hessgen at $BEFORE_COMMIT failed (log: $BEFORE_DIR/build.log)" >&2
    exit 1
  fi
  echo "$sha" > "$BEFORE_DIR/commit"
fi

# model -> extra driver flags
MODELS=(weakest rosenbrock10 tanh_net logistic)
declare -A DFLAGS=([logistic]="-DWITH_DATA -DNROWS=$NROWS")
VARIANTS=(before now checked)

# the generated C without the two blocks that --checked changed on purpose
strip_model() {
  awk '/^#ifndef HESSGEN_MODEL_DEFINED/ {skip = 1}
       /^const hessgen_model [A-Za-z0-9_]+_model = \{/ {skip = 2}
       !skip {print}
       skip == 1 && /^#endif/ {skip = 0}
       skip == 2 && /^\};/ {skip = 0}' "$1"
}

# 1. generate and compare
declare -A CLINES CDIFF
AUTO_SAME=1 # 1 while --checked=auto writes the same file as --checked
for m in "${MODELS[@]}"; do
  d=$W/$m; mkdir -p "$d"
  "$OLD" "$ROOT/examples/$m.hl" -o "$d/before.c" --header "$d/before.h"
  "$HESSGEN" "$ROOT/examples/$m.hl" -o "$d/now.c" --header "$d/now.h"
  "$HESSGEN" "$ROOT/examples/$m.hl" --checked -o "$d/checked.c" --header "$d/checked.h"
  for ext in c h; do
    if ! diff <(strip_model "$d/before.$ext") <(strip_model "$d/now.$ext") > "$d/diff.$ext"; then
      cat "$d/diff.$ext" >&2
      echo "run.sh: $m.$ext: before and now (unchecked) differ outside the hessgen_model typedef and descriptor" >&2
      exit 1
    fi
  done
  "$HESSGEN" "$ROOT/examples/$m.hl" --checked=auto -o "$d/auto.c"
  cmp -s "$d/auto.c" "$d/checked.c" || AUTO_SAME=0
  CDIFF[$m]=$(diff "$d/before.c" "$d/now.c" | grep -c '^[<>]' || true)
  for v in "${VARIANTS[@]}"; do CLINES[$m.$v]=$(wc -l < "$d/$v.c"); done
done

# 2. compile (2 at a time), link, and compare the results
declare -A CTIME TEXT
compile() { # dir variant
  local t0 t1
  t0=$(date +%s.%N)
  $CC -O2 -c "$1/$2.c" -o "$1/$2.o"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc > "$1/$2.ctime"
}
for m in "${MODELS[@]}"; do
  for v in "${VARIANTS[@]}"; do
    compile "$W/$m" "$v" &
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do sleep 0.1; done
  done
done
wait
for m in "${MODELS[@]}"; do
  d=$W/$m
  for v in "${VARIANTS[@]}"; do
    [ -s "$d/$v.o" ] || { echo "run.sh: $m: $v.c did not compile" >&2; exit 1; }
    CTIME[$m.$v]=$(cat "$d/$v.ctime")
    TEXT[$m.$v]=$(size -A "$d/$v.o" | awk '$1 == ".text" {print $2}')
    ck=; [ "$v" = checked ] && ck=-DCHECKED
    # shellcheck disable=SC2086
    $CC -O2 -I"$d" -DM="$m" -DHEADER="\"$v.h\"" ${DFLAGS[$m]:-} $ck "$HERE/driver.c" "$d/$v.o" \
        -lm -Wl,-z,now -o "$d/driver_$v"
    for f in hess grad; do "$d/driver_$v" "$f" 1 > "$d/out_$v.$f"; done
  done
  for f in hess grad; do
    for v in now checked; do
      cmp -s "$d/out_before.$f" "$d/out_$v.$f" ||
        { echo "run.sh: $m: ${m}_$f: $v's results differ from before's" >&2; exit 1; }
    done
  done
  # the code itself: before's and now's .text disassemble the same (the descriptor is data)
  cmp -s <(objdump -d --no-show-raw-insn -j .text "$d/before.o" | tail -n +4) \
         <(objdump -d --no-show-raw-insn -j .text "$d/now.o" | tail -n +4) ||
    { echo "run.sh: $m: before.o and now.o have different code" >&2; exit 1; }
done

# 3. count
declare -A IR OWN BAD
measure() { # model function variant
  local m=$1 f=$2 v=$3 d=$W/$1 c1 cr
  for r in 1 "$REPS"; do
    valgrind --tool=callgrind --toggle-collect="${m}_$f" --callgrind-out-file="$d/cg.$v.$f.$r" \
      "$d/driver_$v" "$f" "$r" > /dev/null 2> "$d/cg.$v.$f.$r.log"
  done
  c1=$(awk '/^totals:/ {print $2}' "$d/cg.$v.$f.1")
  cr=$(awk '/^totals:/ {print $2}' "$d/cg.$v.$f.$REPS")
  if [ -z "$c1" ] || [ "$c1" -le 0 ] || [ "$cr" -ne $((REPS * c1)) ]; then
    echo "run.sh: $m ${m}_$f $v: 1 call = '$c1', $REPS calls = '$cr' instructions: not reproducible" >&2
    exit 1
  fi
  IR[$m.$f.$v]=$c1
  # the generated code's own functions (PREFIX_*, clones like PREFIX_rows2.constprop.0 too)
  OWN[$m.$f.$v]=$(callgrind_annotate --threshold=100 "$d/cg.$v.$f.1" |
    awk -v p=":${m}_" '/^ *[0-9,]+ / && index($0, p) {gsub(",", "", $1); s += $1} END {print s + 0}')
  # of which the checked code's scan of the outputs, where gcc kept it a function
  BAD[$m.$f.$v]=$(callgrind_annotate --threshold=100 "$d/cg.$v.$f.1" |
    awk -v p=":${m}_bad" '/^ *[0-9,]+ / && (index($0, p " ") || index($0, p ".")) {gsub(",", "", $1); s += $1} END {print s + 0}')
}
for m in "${MODELS[@]}"; do
  for f in hess grad; do
    for v in "${VARIANTS[@]}"; do measure "$m" "$f" "$v"; done
  done
done

# 4. report
div() { awk -v a="$1" -v b="$2" -v d="$3" 'BEGIN { printf "%.*f", d, (b == 0) ? 0 : a / b }'; }
# range NAME VALUE: keeps the smallest and largest value given under NAME in LO[NAME], HI[NAME]
declare -A LO HI LOAT HIAT
range() {
  if [ -z "${LO[$1]:-}" ] || awk -v a="$2" -v b="${LO[$1]}" 'BEGIN {exit !(a < b)}'; then LO[$1]=$2; LOAT[$1]=$3; fi
  if [ -z "${HI[$1]:-}" ] || awk -v a="$2" -v b="${HI[$1]}" 'BEGIN {exit !(a > b)}'; then HI[$1]=$2; HIAT[$1]=$3; fi
}
libm_same=1; all_equal=1; bad_inlined=0
for m in "${MODELS[@]}"; do
  for f in hess grad; do
    k=$m.$f.checked; n=$m.$f.now
    range call "$(div "${IR[$k]}" "${IR[$n]}" 2)" "${m}_$f"
    range own "$(div "${OWN[$k]}" "${OWN[$n]}" 2)" "${m}_$f"
    range nobad "$(div $((OWN[$k] - BAD[$k])) "${OWN[$n]}" 2)" "${m}_$f"
    range badshare "$(div $((100 * BAD[$k])) "${IR[$k]}" 2)" "${m}_$f"
    case $m in tanh_net|logistic) range ownbig "$(div $((OWN[$k] - BAD[$k])) "${OWN[$n]}" 2)" "${m}_$f" ;; esac
    range libmshare "$(div $((100 * (IR[$n] - OWN[$n]))) "${IR[$n]}" 0)" "${m}_$f"
    [ $((IR[$k] - OWN[$k])) -eq $((IR[$n] - OWN[$n])) ] || libm_same=0
    [ "${IR[$m.$f.before]}" -eq "${IR[$n]}" ] || all_equal=0
    [ "${BAD[$k]}" -gt 0 ] || bad_inlined=1
  done
  range text "$(div "${TEXT[$m.checked]}" "${TEXT[$m.now]}" 1)" "$m"
  range ctime "$(div "${CTIME[$m.checked]}" "${CTIME[$m.now]}" 1)" "$m"
done
OUT=$HERE/README.md.tmp
{
  echo "# The cost of \`hessgen --checked\`"
  echo
  echo "Produced by \`bench/checked/run.sh\` on $(date -u +%Y-%m-%d): $(valgrind --version),"
  echo "$($CC --version | head -1), \`cc -O2\`. \"before\" is hessgen at $BEFORE_COMMIT, the last commit"
  echo "without \`--checked\` (\`git archive\` of it, built under $BEFORE_DIR); \"now\" is"
  echo "build/hessgen without \`--checked\`; \"checked\" is build/hessgen \`--checked\`. logistic.hl runs"
  echo "over $NROWS rows that the driver makes (3 features, labels +-1 from a noisy linear rule); the"
  echo "other three models take no data."
  echo
  echo "Instructions per call (callgrind: the function and everything it calls, libm included):"
  echo
  echo "| model | function | before | now | checked | now / before | checked / now | checked / now, generated code only | checked: in PREFIX_bad |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for m in "${MODELS[@]}"; do
    for f in hess grad; do
      printf '| %s | %s | %d | %d | %d | %s | %s | %s | %d |\n' "$m" "${m}_$f" \
        "${IR[$m.$f.before]}" "${IR[$m.$f.now]}" "${IR[$m.$f.checked]}" \
        "$(div "${IR[$m.$f.now]}" "${IR[$m.$f.before]}" 3)" \
        "$(div "${IR[$m.$f.checked]}" "${IR[$m.$f.now]}" 2)" \
        "$(div "${OWN[$m.$f.checked]}" "${OWN[$m.$f.now]}" 2)" "${BAD[$m.$f.checked]}"
    done
  done
  echo
  echo "\"Generated code only\" leaves out the instructions spent in libm: it counts the functions"
  echo "whose names begin with the model's prefix (\`logistic_hess\`, \`logistic_rows2.constprop.0\`,"
  echo "\`logistic_bad\`, ...). \"In PREFIX_bad\" is the checked code's scan of the outputs, part of"
  echo "the checked figure. Per call, libm executes:"
  echo
  for m in "${MODELS[@]}"; do
    printf -- '- %s: `%s_hess` %d, `%s_grad` %d\n' "$m" "$m" $((IR[$m.hess.now] - OWN[$m.hess.now])) "$m" $((IR[$m.grad.now] - OWN[$m.grad.now]))
  done
  echo
  if [ "$libm_same" = 1 ]; then
    echo "These are the same with and without \`--checked\` in every row: the checks add no libm work."
  else
    echo "NOTE: the checked code's libm instructions differ from now's in some row."
  fi
  echo
  echo "Size and compile time: the generated C (lines), the object's .text (bytes), and"
  echo "\`cc -O2 -c\` (seconds, wall clock, one run each, 2 compilations at a time):"
  echo
  echo "| model | C lines before / now / checked | .text before / now / checked | cc -O2 s now / checked |"
  echo "| --- | ---: | ---: | ---: |"
  for m in "${MODELS[@]}"; do
    printf '| %s | %d / %d / %d | %d / %d / %d | %.2f / %.2f |\n' "$m" \
      "${CLINES[$m.before]}" "${CLINES[$m.now]}" "${CLINES[$m.checked]}" \
      "${TEXT[$m.before]}" "${TEXT[$m.now]}" "${TEXT[$m.checked]}" \
      "${CTIME[$m.now]}" "${CTIME[$m.checked]}"
  done
  echo
  echo "## How it is measured"
  echo
  echo "- **Same code before and now.** The C of before and now is compared as text with two blocks"
  echo "  taken out of both, the ones \`--checked\` changed on purpose: the \`hessgen_model\` typedef"
  echo "  near the top (its comment now says version 3, and it has one field more, \`fault_text\`)"
  echo "  and the \`hessgen_model\` descriptor at the end (version 3, and a NULL \`fault_text\`). The"
  echo "  header (--header) is compared the same way. Everything else, every evaluation function,"
  echo "  row loop, table and data binding, is the same text; the run fails if not."
  printf '  Lines that differ between the whole .c files (diff): %s.\n' \
    "$(for m in "${MODELS[@]}"; do printf '%s %s, ' "$m" "${CDIFF[$m]}"; done | sed 's/, $//')"
  echo "  The .text sections of before's and now's objects (all their machine code) disassemble"
  echo "  identically too: the descriptor is data."
  echo "- **Same results.** Each of the twelve drivers prints its loss, gradient and Hessian at the"
  echo "  fixed point exactly (%a); the three builds of a model must agree bit for bit, and the"
  echo "  checked build must report no fault (\`PREFIX_fault_get\`)."
  echo "- **Instructions.** \`driver.c\` calls \`PREFIX_hess(theta, [data,] grad, hess)\` (the dense"
  echo "  Hessian with the gradient) or \`PREFIX_grad\` in a loop at one fixed point (theta[i] in"
  echo "  0.2..0.4, no two alike, so that no libm function takes a shortcut for 0). The model is"
  echo "  its own translation unit (no LTO), so nothing of it is inlined into the driver, and the"
  echo "  driver is linked with -Wl,-z,now so that no lazy symbol binding lands in a call."
  echo "  \`valgrind --tool=callgrind --toggle-collect=PREFIX_hess\` counts only while that function"
  echo "  is on the stack: its own instructions and those of everything it calls (logistic's and"
  echo "  tanh_net's row loops, the checked code's \`PREFIX_bad\`, libm). Each figure is taken for"
  echo "  1 call and for $REPS calls, and the run fails unless the second is exactly $REPS times the"
  echo "  first; the tables show one call. \`callgrind_annotate --threshold=100\` of the 1-call"
  echo "  profile splits it by function: those whose names begin with the prefix are the generated"
  echo "  code, the rest is libm."
  echo "- Instruction counts are what callgrind repeats exactly; they are not time. The libm"
  echo "  figures depend on the glibc and on the variants its ifuncs pick for the CPU (here the"
  echo "  _fma ones); the generated code's depend on the compiler."
  echo
  echo "## Reading it"
  echo
  if [ "$all_equal" = 1 ]; then
    echo "Without \`--checked\` nothing changed: the evaluation code is the same text and the same"
    echo "machine code as at $BEFORE_COMMIT, and it executes exactly as many instructions in every row"
    echo "(now / before = 1.000). The only differences in the file are the typedef and the"
    echo "descriptor, data that no evaluation reads."
  else
    echo "NOTE: now and before do not execute the same number of instructions in every row, although"
    echo "their evaluation code is the same text: see the table."
  fi
  echo
  echo "With \`--checked\` a call executes ${LO[call]} (${LOAT[call]}) to ${HI[call]} (${HIAT[call]}) times the"
  echo "instructions of the unchecked one on these four models. The cost has two parts. Every"
  echo "temporary gets \`if (!P_site && !isfinite(t)) P_site = k;\`, which gcc -O2 makes a mask, a"
  echo "compare and a branch that is never taken while the values are finite, beside the one or two"
  echo "instructions of the arithmetic itself: leaving out libm and \`PREFIX_bad\`, the generated code"
  echo "executes ${LO[nobad]} (${LOAT[nobad]}) to ${HI[nobad]} (${HIAT[nobad]}) times as many instructions"
  echo "(the scan of theta on entry is in this figure). And every call scans its outputs"
  echo "at the end (\`PREFIX_bad\`: the loss, the gradient and, for \`_hess\`, all N*N entries of the"
  echo "dense Hessian): a cost per output entry, from ${LO[badshare]}% (${LOAT[badshare]}) to"
  echo "${HI[badshare]}% (${HIAT[badshare]}) of the checked call. The largest ratios belong to the"
  echo "smallest functions (weakest, rosenbrock10: 17 to 496 instructions unchecked), where what"
  echo "every call pays once, the two scans and the calls to \`PREFIX_bad\`, weighs most; they say"
  echo "little about a model of real size. Where there is work, the row loops of tanh_net (over its"
  echo "6 constant points) and logistic (over $NROWS rows), the generated code without \`PREFIX_bad\`"
  echo "executes ${LO[ownbig]} to ${HI[ownbig]} times the instructions: that is the figure to expect from the"
  echo "per-temporary tests."
  echo "libm is untouched by the checks, so where it does much of the work (up to ${HI[libmshare]}% of the"
  echo "unchecked ${HIAT[libmshare]}: exp and log1p per row) the whole-call ratio is lower than the"
  echo "generated-code-only one."
  echo
  echo "What this does not show: time. The added branches are not taken in an evaluation without"
  echo "a fault and should predict well, so the slowdown in seconds may be smaller than the ratio of"
  echo "instructions, but that was not measured here. The checked object is ${LO[text]} to ${HI[text]} times"
  echo "the unchecked one's .text and took up to ${HI[ctime]} times as long to compile (${HIAT[ctime]})."
  if [ "$AUTO_SAME" = 1 ]; then
    echo "\`--checked=auto\`, which \`hessgen run\` compiles with, writes the same file as \`--checked\`"
    echo "for all four models (the script checks it), so the analyzer pays exactly these costs on them."
  else
    echo "\`--checked=auto\` (what \`hessgen run\` compiles with) differs from \`--checked\` on some of"
    echo "these models."
  fi
  if [ "$bad_inlined" = 1 ]; then
    echo
    echo "NOTE: gcc inlined \`PREFIX_bad\` in some checked function; its column shows 0 there and its"
    echo "cost is inside the generated-code figures."
  fi
} > "$OUT"
mv "$OUT" "$HERE/README.md"
cat "$HERE/README.md"
