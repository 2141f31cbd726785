#!/bin/bash
# Instruction counts (valgrind --tool=callgrind) of ONE call of a generated function.
#
#   bench/callgrind.sh [--keep DIR] [--verify-extract]
#
# For each model: hessgen writes the C; bench/drivers/extract.py copies the functions measured
# here into one file per function (cc -O2 on a whole generated file takes minutes); each is
# compiled with `cc -O2 -c` (its compile time is printed, for information) and linked with
# bench/drivers/driver.c (and, for Rosenbrock, the hand-written peer bench/drivers/rosen_hand.c,
# also cc -O2) with -Wl,-z,now so that no lazy symbol binding is charged to the call.
# Each figure is callgrind's total with --toggle-collect=FUNCTION: the instructions executed
# inside that function and everything it calls (libm included), for one call; nothing is
# subtracted. Every figure is taken twice, for 1 and for 2 calls, and the script fails unless the
# second is exactly twice the first (no first-call effects).
# --verify-extract (slow: minutes) also compiles the whole generated files of Rosenbrock and of
# the tanh net and checks that their functions execute exactly as many instructions as the
# extracted ones.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
HESSGEN=${HESSGEN:-$HERE/../build/hessgen}
CC=${CC:-cc}
KEEP=
VERIFY=
while [ $# -gt 0 ]; do
  case $1 in
    --keep) KEEP=$2; mkdir -p "$KEEP"; shift 2 ;;
    --verify-extract) VERIFY=1; shift ;;
    *) echo "usage: bench/callgrind.sh [--keep DIR] [--verify-extract]" >&2; exit 2 ;;
  esac
done
W=${KEEP:-$(mktemp -d /tmp/hessgen_callgrind.XXXXXX)}
[ -n "$KEEP" ] || trap 'rm -rf "$W"' EXIT
JOBS=${JOBS:-2}

echo "# callgrind: $(valgrind --version), $($CC --version | head -1), flags -O2; hessgen $(realpath "$HESSGEN")"

# M_hess_values (the sparse Hessian alone) is measured when the compiler emits it
HV=
"$HESSGEN" "$HERE/models/prodexp50.hl" -o "$W/probe.c"
if grep -q '_hess_values(' "$W/probe.c"; then HV=hess_values; fi

# model prefix nparam base functions...
MODELS=(
  "rosen1000 rosen1000 1000 -1.2 loss grad hess_sparse hvp $HV"
  "prodexp50 prodexp 50 0.1 loss grad"
  "tanh100 tanh100 100 0.1 loss grad hvp"
)

# 1. generate, extract, compile (JOBS at a time)
pids=()
compile() { # dir file.c
  local t0 t1
  t0=$(date +%s.%N)
  $CC -O2 -c "$1/$2.c" -o "$1/$2.o"
  t1=$(date +%s.%N)
  printf '%s %s %.1f\n' "$(basename "$1")" "$2" "$(echo "$t1 - $t0" | bc)" > "$1/$2.ctime"
}
for m in "${MODELS[@]}"; do
  set -- $m; model=$1; prefix=$2; shift 4
  d=$W/$model; mkdir -p "$d"
  "$HESSGEN" "$HERE/models/$model.hl" -o "$d/gen.c" --prefix "$prefix"
  data=--data   # the hess_nnz/rows/cols tables the driver needs: in the first file only
  for f in "$@"; do
    python3 "$HERE/drivers/extract.py" "$d/gen.c" "$d/fn_$f.c" $data "${prefix}_$f"
    data=
    compile "$d" "fn_$f" &
    pids+=($!)
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 0.2; done
  done
done
$CC -O2 -c "$HERE/drivers/rosen_hand.c" -o "$W/rosen_hand.o"
for p in "${pids[@]}"; do wait "$p"; done
for m in "${MODELS[@]}"; do
  set -- $m; model=$1; prefix=$2; n=$3; base=$4; shift 4
  d=$W/$model
  objs=()
  for f in "$@"; do objs+=("$d/fn_$f.o"); done
  extra=()
  [ "$model" = rosen1000 ] && extra=(-DWITH_ROSEN_HAND "$W/rosen_hand.o")
  $CC -O2 -DM="$prefix" -DNPARAM="$n" -DBASE="$base" "${extra[@]:0:1}" \
      "$HERE/drivers/driver.c" "${objs[@]}" "${extra[@]:1}" -lm -Wl,-z,now -o "$d/driver"
done
"$W/rosen1000/driver" check

# 2. count
declare -A IR
measure() { # key model op function [driver]
  local key=$1 model=$2 op=$3 fn=$4 drv=${5:-driver} r out c1 c2
  for r in 1 2; do
    out=$W/$model/cg.$drv.$op.$r
    valgrind --tool=callgrind --toggle-collect="$fn" --callgrind-out-file="$out" \
      "$W/$model/$drv" "$op" $r 2>"$out.log" >/dev/null
  done
  c1=$(awk '/^totals:/ {print $2}' "$W/$model/cg.$drv.$op.1")
  c2=$(awk '/^totals:/ {print $2}' "$W/$model/cg.$drv.$op.2")
  if [ -z "$c1" ] || [ "$c1" -le 0 ] || [ "$c2" -ne $((2 * c1)) ]; then
    echo "callgrind.sh: $key: 1 call = '$c1', 2 calls = '$c2' instructions: not reproducible" >&2
    exit 1
  fi
  IR[$key]=$c1
}
measure rosen.loss rosen1000 loss rosen1000_loss
measure rosen.grad rosen1000 grad rosen1000_grad
measure rosen.hs_null rosen1000 hess_sparse_nograd rosen1000_hess_sparse
measure rosen.hs_grad rosen1000 hess_sparse rosen1000_hess_sparse
measure rosen.hvp rosen1000 hvp rosen1000_hvp
measure tanh.hvp tanh100 hvp tanh100_hvp
[ -n "$HV" ] && measure rosen.hv rosen1000 hess_values rosen1000_hess_values
measure hand.hess rosen1000 hand_hess rosen_hand_hess
measure hand.loss_hess rosen1000 hand_loss_hess rosen_hand_loss_hess
measure hand.all rosen1000 hand_all rosen_hand_all
measure pe.loss prodexp50 loss prodexp_loss
measure pe.grad prodexp50 grad prodexp_grad
measure tanh.loss tanh100 loss tanh100_loss
measure tanh.grad tanh100 grad tanh100_grad

if [ -n "$VERIFY" ]; then
  echo "verifying the extraction: compiling whole generated files (minutes)..."
  for spec in "rosen1000 rosen1000 1000 -1.2 rosen" "tanh100 tanh100 100 0.1 tanh"; do
    set -- $spec; model=$1; prefix=$2; n=$3; base=$4; key=$5
    $CC -O2 -c "$W/$model/gen.c" -o "$W/$model/gen.o"
    $CC -O2 -DM="$prefix" -DNPARAM="$n" -DBASE="$base" "$HERE/drivers/driver.c" \
        "$W/$model/gen.o" -lm -Wl,-z,now -o "$W/$model/driver_whole"
    for op in loss grad hvp; do
      measure "whole.$key.$op" "$model" "$op" "${prefix}_$op" driver_whole
      if [ "${IR[whole.$key.$op]}" != "${IR[$key.$op]}" ]; then
        echo "callgrind.sh: $model $op: whole file ${IR[whole.$key.$op]} Ir, extracted ${IR[$key.$op]} Ir" >&2
        exit 1
      fi
      echo "  $model ${prefix}_$op: ${IR[$key.$op]} Ir both ways"
    done
  done
fi

# 3. report
ratio() { awk -v a="${IR[$1]}" -v b="${IR[$2]}" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t) ? "ok" : "MISS" }'; }
row() { # label num den target
  local r; r=$(ratio "$2" "$3")
  if [ "$4" = "-" ]; then t="(info)"; else t="<= $4: $(verdict "$r" "$4")"; fi
  printf '| %s | %s | %s | %s | %s |\n' "$1" "${IR[$2]}" "${IR[$3]}" "$r" "$t"
}
echo
echo "Instructions of one call (callgrind, cc -O2):"
echo
echo "| measurement | numerator Ir | denominator Ir | ratio | target |"
echo "|---|---|---|---|---|"
row "(a) Rosenbrock 1000: M_grad / M_loss" rosen.grad rosen.loss 4
row "(b) exp(prod)+sum^4, 50: M_grad / M_loss" pe.grad pe.loss 4
[ -n "$HV" ] && row "(c-0) Rosenbrock 1000: M_hess_values / hand Hessian only (same contract)" rosen.hv hand.hess 1.5
row "(c-i) Rosenbrock 1000: M_hess_sparse(grad=NULL) / hand Hessian only" rosen.hs_null hand.hess 1.5
row "(c-ii) Rosenbrock 1000: M_hess_sparse(grad=NULL) / hand loss+Hessian (same contract)" rosen.hs_null hand.loss_hess 1.5
row "(c-iii) Rosenbrock 1000: M_hess_sparse(grad) / hand loss+gradient+Hessian" rosen.hs_grad hand.all 1.5
row "Rosenbrock 1000: M_hvp / M_grad" rosen.hvp rosen.grad -
row "tanh net 100: M_hvp / M_grad" tanh.hvp tanh.grad -
row "tanh net 100: M_grad / M_loss" tanh.grad tanh.loss -
echo
echo "What M_hess_sparse(grad=NULL) includes (Rosenbrock 1000): it returns the loss, so it always"
echo "evaluates it: M_loss alone is ${IR[rosen.loss]} Ir; M_hess_sparse(NULL) - M_loss = $((IR[rosen.hs_null] - IR[rosen.loss])) Ir"
echo "for the Hessian values (hand-written Hessian alone: ${IR[hand.hess]} Ir). Passing a gradient"
echo "adds $((IR[rosen.hs_grad] - IR[rosen.hs_null])) Ir (M_grad - M_loss = $((IR[rosen.grad] - IR[rosen.loss])) Ir)."
echo
echo "cc -O2 compile time of each extracted function (seconds, for information; $JOBS in parallel):"
cat "$W"/*/fn_*.ctime | awk '{ printf "  %-10s %-16s %6s s\n", $1, substr($2, 4), $3 }'
