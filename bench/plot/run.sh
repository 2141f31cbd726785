#!/bin/bash
# Plots at scale (issue 7, item 4): `hessgen run MODEL.hl plot surface` on a 200x200 grid through
# a 2-D plane of the extended Rosenbrock model (bench/scale/models.py) at N = 1000, 10000 and
# 100000 parameters, against a peer measured in the same run: evals.c, the same 40000 loss
# evaluations over the same theta values and nothing else, compiled as the analyzer is (cc -O1)
# from the same model. Also: the first run (generate and compile the analyzer into a fresh
# cache), gnuplot alone on the kept script, and callgrind's split of the plot's instructions.
# Writes bench/plot/README.md. About 3 minutes on 2 cores. Not part of the test run.
#
#   bench/plot/run.sh [HESSGEN]
set -euo pipefail
export LC_ALL=C
HERE=$(cd "$(dirname "$0")" && pwd)
HESSGEN=$(realpath "${1:-$HERE/../../build/hessgen}")
[ -x "$HESSGEN" ] || { echo "run.sh: no hessgen at $HESSGEN: build it first" >&2; exit 1; }
command -v gnuplot > /dev/null || { echo "run.sh: gnuplot is needed (apt-get install gnuplot-nox)" >&2; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export HESSGEN_CACHE=$TMP/cache # fresh: the first run of each model compiles its analyzer
# A copy of hessgen and libhessrt, taken once: `hessgen run` caches the analyzer under a hash
# that includes libhessrt's size and time, so a rebuild of the tree during the measurement
# would turn the next timed run into a compilation. The copy is found through a pkg-config
# file, which `hessgen run` prefers to the build tree (src/run.c); the compile command is
# otherwise the same (cc -O1, the static libhessrt, -llapacke -lm).
command -v pkg-config > /dev/null || { echo "run.sh: pkg-config is needed" >&2; exit 1; }
RT=$TMP/rt
mkdir -p "$RT/lib/pkgconfig" "$RT/include"
cp "$HESSGEN" "$RT/hessgen"
cp "$(dirname "$HESSGEN")/runtime/libhessrt.a" "$RT/lib/"
cp "$HERE/../../runtime/hessrt.h" "$HERE/../../runtime/hessgen_model.h" "$RT/include/"
ar t "$RT/lib/libhessrt.a" | grep -q plot || { echo "run.sh: no libhessrt.a beside $HESSGEN (or a partial one)" >&2; exit 1; }
cat > "$RT/lib/pkgconfig/hessrt.pc" << EOF
Name: hessrt
Description: bench/plot's copy of libhessrt
Version: 0
Libs: $RT/lib/libhessrt.a -llapacke -lm
Cflags: -I$RT/include
EOF
export PKG_CONFIG_PATH=$RT/lib/pkgconfig
HESSGEN=$RT/hessgen
RUNS=5
GRID=200
BOX=-2:2
OUT=$HERE/README.md.tmp
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

elapsed() { # command... -> its wall time in seconds (its output discarded)
  local t0=$EPOCHREALTIME
  "$@" > /dev/null
  local t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
median() { # runs command... RUNS times -> the median wall time
  local k
  for ((k = 0; k < RUNS; k++)); do elapsed "$@"; done | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
range_of() { sort -g "$1" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf (hi < 10 ? "%.2f-%.2f" : "%.1f-%.1f"), lo, hi }'; }
median_of() { sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
fmt() { awk -v a="$1" 'BEGIN { printf (a < 10 ? "%.2f" : "%.1f"), a }'; }
cache_state() { ls -l --time-style=+%s.%N "$HESSGEN_CACHE" 2> /dev/null | md5sum; }
# the sum of the losses in data block 0 of a plot's .dat, in the file's order
dat_sum() {
  python3 - "$1" << 'EOF'
import sys
s, blank = 0.0, 0
for line in open(sys.argv[1]):
    if line.startswith("#"):
        continue
    if not line.strip():
        blank += 1
        if blank == 2:
            break
        continue
    blank = 0
    s += float(line.split()[2])
print(repr(s))
EOF
}

declare -A PLOT EVAL GP FIRST CG RATIO # figures for the notes
ROWS=$TMP/rows
CGROWS=$TMP/cgrows
: > "$ROWS"
: > "$CGROWS"

# one series: plot NAME (png or svg) over axes X, Y of model N; a row of the table
series() { # n dir name ext x y first_run_seconds
  local n=$1 d=$2 name=$3 ext=$4 x=$5 y=$6 first=$7 hl=$2/rosen_$1.hl
  local plot=("$HESSGEN" run "$hl" plot surface --x "$x" --y "$y" --box "$BOX" --grid "$GRID" -o "$d/$name.$ext")
  local attempt before tplot tev said k
  for attempt in 1 2 3; do
    before=$(cache_state)
    said=$("${plot[@]}" --keep-script) # the warm-up, which keeps the data and script
    "$d/evals" "$GRID" "$BOX" "$x" "$y" > /dev/null
    # the plot and its peer alternately, so that a change in the machine's load touches both
    for ((k = 0; k < RUNS; k++)); do
      elapsed "${plot[@]}" >> "$d/$name.plot"
      elapsed "$d/evals" "$GRID" "$BOX" "$x" "$y" >> "$d/$name.evals"
    done
    [ "$before" = "$(cache_state)" ] && break
    echo "run.sh: the analyzer was recompiled during the runs (hessgen or libhessrt changed): measuring again" >&2
    rm -f "$d/$name.plot" "$d/$name.evals"
    [ "$attempt" = 3 ] && { echo "run.sh: the build keeps changing; run again when it is quiet" >&2; exit 1; }
  done
  tplot=$(median_of "$d/$name.plot")
  tev=$(median_of "$d/$name.evals")
  grep -q "$((GRID * GRID)) loss evaluations, no derivatives" <<< "$said" ||
    { echo "run.sh: N=$n $name: the plot did not report $((GRID * GRID)) loss evaluations and no derivatives: $said" >&2; exit 1; }
  # the peer makes the same evaluations: the same count and the same sum of losses as the plot's data file
  local check want
  check=$("$d/evals" "$GRID" "$BOX" "$x" "$y")
  want=$(dat_sum "$d/$name.dat")
  python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(a != b)" "${check#* }" "$want" || {
    echo "run.sh: N=$n $name: the peer's losses sum to ${check#* } and the plot's to $want: not the same evaluations" >&2
    exit 1
  }
  [ "${check%% *}" = $((GRID * GRID)) ] || { echo "run.sh: the peer made ${check%% *} evaluations" >&2; exit 1; }
  local tgp mb
  tgp=$(cd "$d" && gnuplot "$name.gp" > /dev/null && median gnuplot "$name.gp")
  mb=$(awk -v b="$(stat -c %s "$d/$name.dat")" 'BEGIN { printf "%.1f", b / 1e6 }')
  # shellcheck disable=SC2016 # the backquotes are Markdown's
  printf '| %d | `%s`, `%s` | %s | %s | %s (%s) | %s (%s) | %s | **%s** | %s | %s |\n' "$n" "$x" "$y" "$ext" "$first" \
    "$(fmt "$tplot")" "$(range_of "$d/$name.plot")" "$(fmt "$tev")" "$(range_of "$d/$name.evals")" "$(fmt "$(awk -v a="$tplot" -v b="$tev" 'BEGIN { print a - b }')")" \
    "$(ratio "$tplot" "$tev")" "$(fmt "$tgp")" "$mb" >> "$ROWS"
  PLOT[$n:$name]=$tplot EVAL[$n:$name]=$tev GP[$n:$name]=$tgp RATIO[$n:$name]=$(ratio "$tplot" "$tev")
  echo "N=$n $name.$ext: plot $tplot s, evaluations $tev s, gnuplot $tgp s" >&2
}

# callgrind: the plot's instructions per grid point, split (a 50x50 grid: the split per point
# does not depend on the grid's size, and callgrind is ~50 times slower than the machine)
instructions() { # n dir
  local n=$1 d=$2 exe cg=$2/cg.out g=50
  exe=$(grep -l "from rosen_$n.hl" "$HESSGEN_CACHE"/*.c | xargs -d '\n' ls -t | head -1)
  exe=${exe%.c}
  valgrind --tool=callgrind --callgrind-out-file="$cg" "$exe" plot surface --x 'x[0]' --y 'x[1]' --box "$BOX" \
    --grid $g -o "$d/cg.png" > /dev/null 2> "$d/cg.log"
  callgrind_annotate --threshold=100 --inclusive=yes "$cg" > "$d/cg.incl"
  callgrind_annotate --threshold=100 "$cg" > "$d/cg.self"
  pick() { # file pattern -> its instruction count, or 0
    { grep -E "$2" "$1" || true; } | head -1 | awk '{ gsub(",", "", $1); print $1 + 0 }'
  }
  local total loss rebuild format deriv
  total=$(pick "$d/cg.incl" 'PROGRAM TOTALS')
  deriv=$(pick "$d/cg.incl" ":rosen_${n}_(grad|hess|hvp|hess_sparse|hess_values)_any \\[")
  loss=$(pick "$d/cg.incl" ":rosen_${n}_loss_any \[")
  rebuild=$(pick "$d/cg.self" 'plot\.c:put_grid \[')
  format=$(pick "$d/cg.incl" 'plot\.c:put \[')
  awk -v n="$n" -v pts=$((g * g)) -v T="$total" -v L="$loss" -v R="$rebuild" -v F="$format" -v D="$deriv" 'BEGIN {
    printf "| %d | %.0f (%.1f per parameter) | %.0f (%.1f per parameter) | %.0f | %.0f | %.0f%% / %.0f%% / %.0f%% | %d |\n",
      n, L / pts, L / pts / n, R / pts, R / pts / n, F / pts, T / pts, 100 * L / T, 100 * R / T, 100 * F / T, D
  }' >> "$CGROWS"
  CG[$n:loss]=$(awk -v a="$loss" -v p=$((g * g)) -v n="$n" 'BEGIN { printf "%.0f", a / p / n }')
  CG[$n:rebuild]=$(awk -v a="$rebuild" -v p=$((g * g)) -v n="$n" 'BEGIN { printf "%.0f", a / p / n }')
  CG[$n:format]=$(awk -v a="$format" -v p=$((g * g)) 'BEGIN { printf "%.0f", a / p }')
  CG[$n:lossp]=$(awk -v a="$loss" -v p=$((g * g)) 'BEGIN { printf "%.0f", a / p }')
  CG[$n:rebuildp]=$(awk -v a="$rebuild" -v p=$((g * g)) 'BEGIN { printf "%.0f", a / p }')
  CG[$n:rshare]=$(awk -v a="$rebuild" -v t="$total" 'BEGIN { printf "%.0f", 100 * a / t }')
}

for n in 1000 10000 100000; do
  d=$TMP/n$n
  mkdir -p "$d"
  python3 "$HERE/../scale/models.py" rosenbrock "$n" > "$d/rosen_$n.hl"
  # the peer, from the same model and at the analyzer's -O1
  "$HESSGEN" "$d/rosen_$n.hl" --prefix bench -o "$d/m.c" --header "$d/m.h"
  cc -std=c99 -O1 -I"$d" "$HERE/evals.c" "$d/m.c" -lm -o "$d/evals"
  # the first run: generates and compiles the analyzer into the fresh cache, then plots
  first=$(elapsed "$HESSGEN" run "$d/rosen_$n.hl" plot surface --x 'x[0]' --y 'x[1]' --box "$BOX" --grid "$GRID" \
    -o "$d/first.png")
  FIRST[$n]=$first
  series "$n" "$d" surface png 'x[0]' 'x[1]' "$(fmt "$first")"
  series "$n" "$d" directions svg "x[0]=1,x[$((n / 2))]=1" 'x[1]=1,x[2]=-1' "-"
  [ "$n" -le 10000 ] && instructions "$n" "$d"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

{
  echo "# Plots at scale"
  echo
  echo "Produced by \`bench/plot/run.sh\` on $(date -u +%Y-%m-%d): $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))," \
    "$(gcc --version | head -1), $(gnuplot --version); load average $LOAD_BEFORE before, $LOAD_AFTER after."
  echo
  echo "The extended Rosenbrock model of \`bench/scale/models.py\` with N parameters, drawn by"
  echo "\`hessgen run rosen_N.hl plot surface --x X --y Y --box $BOX --grid $GRID -o OUT\` on the plane"
  echo "through the start point (every parameter -1.2): two parameter axes to PNG, and two"
  echo "directions to SVG. A ${GRID}x${GRID} grid is $((GRID * GRID)) loss evaluations and no derivatives (above 200"
  echo "parameters the surface runs no critical-point search unless \`--starts\` asks for one)."
  echo
  echo "Measured with copies of \`build/hessgen\` and \`libhessrt.a\` taken at the start of the run (so that a"
  echo "rebuild of the tree cannot make a timed run recompile the cached analyzer)."
  echo
  echo "- **first run**: one run with an empty \`HESSGEN_CACHE\`: hessgen generates the analyzer's C,"
  echo "  cc -O1 compiles it, and it plots (surface rows only; the SVG rows use the same analyzer)."
  echo "- **plot**: the whole command with the analyzer cached, median of $RUNS runs after a warm-up"
  echo "  (in brackets: the fastest and slowest of the $RUNS)."
  echo "- **evaluations**: the peer \`evals.c\`, compiled with cc -O1 against the same generated C"
  echo "  (\`hessgen rosen_N.hl --prefix bench\`): the same $((GRID * GRID)) calls of the model's loss on the same"
  echo "  theta values (checked: its losses sum to exactly what the plot's data file holds), and"
  echo "  nothing else. Median of $RUNS runs after a warm-up, in the same run as the plot's."
  echo "- **overhead** = plot - evaluations: setting theta at each grid point, formatting and"
  echo "  writing the data file and the script, and gnuplot."
  echo "- **gnuplot alone**: \`gnuplot NAME.gp\` in the directory of a \`--keep-script\` run, median of $RUNS."
  echo
  echo "Times in seconds (wall clock)."
  echo
  echo "| N | --x, --y | output | first run | plot | evaluations | overhead | plot / evaluations | gnuplot alone | data file MB |"
  echo "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  cat "$ROWS"
  echo
  echo "Instructions (callgrind, \`x[0]\`, \`x[1]\`, PNG, a 50x50 grid: the cost per grid point does not"
  echo "depend on the grid's size) of the analyzer's process per grid point (gnuplot, a child"
  echo "process, is not counted): the model's loss; \`put_grid\`'s own instructions (setting theta at"
  echo "the grid point, and the loop); and formatting the data file (\`put\`: three \`%.17g\` numbers"
  echo "and a newline per point). \"all\" includes the fixed costs (start-up, the script) spread over"
  echo "the 2500 points."
  echo
  echo "| N | loss | put_grid itself | formatting | all | share of all: loss / put_grid / formatting | derivative instructions |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  cat "$CGROWS"
  f() { fmt "$1"; }
  minmax() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.2f to %.2f", lo, hi }'; }
  over() { awk -v a="${PLOT[$1]}" -v b="${EVAL[$1]}" 'BEGIN { printf "%.2f", a - b }'; }
  compile=$(awk -v a="${FIRST[100000]}" -v b="${PLOT[100000:surface]}" 'BEGIN { printf "%.1f", a - b }')
  echo
  echo "## What the figures say"
  echo
  echo "The grid is loss evaluations only: each plot reports $((GRID * GRID)) loss evaluations and no"
  echo "derivatives, the peer's $((GRID * GRID)) losses sum to exactly what the data file holds, and callgrind"
  echo "finds no instruction in the model's gradient, Hessian or Hessian-vector functions."
  echo
  echo "**What dominates.** At N = 1000 the evaluations are the small part ($(f "${EVAL[1000:surface]}") s of"
  echo "$(f "${PLOT[1000:surface]}") s): the rest is formatting the $(awk -v b="$(stat -c %s "$TMP/n1000/surface.dat")" 'BEGIN { printf "%.1f", b / 1e6 }') MB data file"
  echo "(${CG[1000:format]} instructions per grid point, against ${CG[1000:lossp]} for the loss) and gnuplot"
  echo "($(f "${GP[1000:surface]}") s alone), so the ratio is large while the plot takes $(f "${PLOT[1000:surface]}") s. That cost does"
  echo "not grow with N (the data file is the same size whatever N is, and gnuplot draws the same"
  echo "grid, the 3-D panel from every 4th row and column): the overhead is $(over 1000:surface), $(over 10000:surface) and"
  echo "$(over 100000:surface) s at N = 1000, 10000 and 100000 (parameter axes, PNG), so from N = 10000 on the loss"
  echo "dominates and the ratio falls towards 1: $(minmax "${RATIO[10000:surface]}" "${RATIO[10000:directions]}") at"
  echo "N = 10000, $(minmax "${RATIO[100000:surface]}" "${RATIO[100000:directions]}") at 100000."
  if awk -v r="${CG[10000:rebuild]}" 'BEGIN { exit !(r >= 1) }'; then
    echo "\`put_grid\` itself costs ${CG[10000:rebuild]} instructions per parameter per grid point (against the"
    echo "loss's ${CG[10000:loss]}): it sets all N coordinates of theta at each point, which the peer does not"
    echo "(it sets only the coordinates the axes move); that is most of the overhead at large N."
  else
    echo "\`put_grid\` sets only the coordinates the axes move between grid points, as the peer does"
    echo "(${CG[10000:rebuildp]} instructions per point at N = 10000, against the loss's ${CG[10000:lossp]})."
  fi
  echo
  echo "**Does \"seconds\" hold?** At N = 10000, yes: $(f "${PLOT[10000:surface]}") s with the analyzer cached"
  echo "($(f "${PLOT[10000:directions]}") s over two directions, to SVG) and $(f "${FIRST[10000]}") s on the first run, which also"
  echo "generates and compiles the analyzer. At N = 100000: $(f "${PLOT[100000:surface]}") s cached"
  echo "($(f "${PLOT[100000:directions]}") s over two directions) and $(f "${FIRST[100000]}") s on the first run. Of that,"
  echo "the bare evaluations are $(f "${EVAL[100000:surface]}") s (40000 sums of 100000 terms at cc -O1): a floor"
  echo "no 200x200 plot of this loss can go under on this machine (\`--grid 100\` is a quarter of it)."
  echo "The first run adds about $compile s: generating and compiling the analyzer's 5 MB of C"
  echo "(mostly tables of names and start values; see bench/scale)."
  echo
  echo "The machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')). The plot and"
  echo "its peer run alternately, so a change of load touches both. The load averages at the top"
  echo "(this run itself adds about 1) say whether other work shared the machine; the ranges in"
  echo "brackets show how much the single runs spread."
} > "$OUT"
mv "$OUT" "$HERE/README.md"
cat "$HERE/README.md"
