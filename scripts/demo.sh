#!/bin/sh
# The lecture end to end on examples/weakest.hl, L = (1 - w1*w2)^2 (the README's first
# command runs this after building): the saddle at the origin and its way down, pure Newton
# drawn into it, saddle-free Newton and gradient descent reaching the valley w1*w2 = 1, a
# point of that valley, where the second-order test cannot decide, and then the exact
# classifier deciding it and the degenerate pair x^2 + y^4, x^2 - y^4; last, logistic
# regression over a data file (examples/logistic.hl), the loss a loop over its rows; and the
# surface drawn by gnuplot into build/weakest_surface.png ($HESSGEN_DEMO_OUT instead of build).
set -e
cd "$(dirname "$0")/.."
run() { "${HESSGEN:-build/hessgen}" run examples/weakest.hl "$@"; }
echo "== the origin"
run classify w1=0,w2=0
echo
echo "== pure Newton from (0.1, 0.05): theta - H^-1 g goes to the nearest critical point"
run newton --method pure --from w1=0.1,w2=0.05
echo
echo "== saddle-free Newton (|H|) from the same start"
run newton --method saddle-free --from w1=0.1,w2=0.05 | tail -n 2
echo
echo "== gradient descent, step 0.1, from the same start"
run gd --from w1=0.1,w2=0.05 --step 0.1 | tail -n 2
echo
echo "== the valley point (1, 1)"
run classify w1=1,w2=1
echo
echo "== decided exactly: every 'at ... expect' line of the lecture's file"
"${HESSGEN:-build/hessgen}" --check examples/weakest.hl
echo
echo "== the degenerate pair, same Hessian at the origin: x^2 + y^4, then x^2 - y^4"
"${HESSGEN:-build/hessgen}" --classify examples/degenerate_plus.hl --at x=0,y=0 | tail -n 4
"${HESSGEN:-build/hessgen}" --classify examples/degenerate_minus.hl --at x=0,y=0 | tail -n 4
echo
echo "== a loss over a data set read at run time: logistic regression on 200 rows, pure Newton"
"${HESSGEN:-build/hessgen}" run examples/logistic.hl newton --method pure \
    --data X=examples/data/logistic_X.csv --data y=examples/data/logistic_y.csv | tail -n 3
echo
echo "== see it: the weakest network's surface, its saddle, escape arrow and valley (gnuplot)"
out=${HESSGEN_DEMO_OUT:-build}
"${HESSGEN:-build/hessgen}" run examples/weakest.hl plot surface --box -2:2 -o "$out/weakest_surface.png"
echo "(examples/lecture/draw.sh draws all of the lecture's pictures)"
