#!/bin/sh
# The lecture's pictures, drawn by hessgen's own `plot` from examples/weakest.hl
# (L = (1 - w1*w2)^2) and the degenerate pair x^2 + y^4, x^2 - y^4:
#   surface.png      the error surface: the saddle at the origin with its escape arrow, and the
#                    valley of minima w1*w2 = 1 (the points a Newton search finds on it)
#   escape.png       the loss along the escape direction (1,1)/sqrt2 at the saddle: 1 - t^2
#   paths.png        pure Newton drawn into the saddle; saddle-free Newton and gradient descent
#                    reaching the valley, all from (0.1, 0.05)
#   convergence.png  the same runs: loss, gradient norm, lowest Hessian eigenvalue per iteration
#   plateau.png      gradient descent from near the saddle, (0.001, 0.0005): the loss stays at 1
#                    for some 30 iterations while the gradient, small but not zero, grows a
#                    thousandfold; pure Newton from there is in the saddle after 2 steps
#   slice_plus.png   x^2 + y^4 along y through the origin: the loss rises as y^4, while the
#   slice_minus.png  second-order model is flat; x^2 - y^4 falls as -y^4 with the same model
# Usage: examples/lecture/draw.sh [OUTDIR]   (default: examples/lecture; HESSGEN=path/to/hessgen)
# Add --keep-script to any line to keep the .dat and .gp beside its image.
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$here}
mkdir -p "$out"
hessgen=${HESSGEN:-$root/build/hessgen}
weakest="$root/examples/weakest.hl"

"$hessgen" run "$weakest" plot surface --box -2:2 -o "$out/surface.png"
"$hessgen" run "$weakest" plot slice --along escape --at w1=0,w2=0 --range -1.5:1.5 -o "$out/escape.png"
"$hessgen" run "$weakest" plot paths --methods pure,saddle-free,gd --from w1=0.1,w2=0.05 -o "$out/paths.png"
"$hessgen" run "$weakest" plot convergence --methods pure,saddle-free,gd --from w1=0.1,w2=0.05 \
    -o "$out/convergence.png"
"$hessgen" run "$weakest" plot convergence --methods gd,pure --from w1=0.001,w2=0.0005 -o "$out/plateau.png"
"$hessgen" run "$root/examples/degenerate_plus.hl" plot slice --along y --at x=0,y=0 -o "$out/slice_plus.png"
"$hessgen" run "$root/examples/degenerate_minus.hl" plot slice --along y --at x=0,y=0 -o "$out/slice_minus.png"
