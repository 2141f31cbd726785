#!/usr/bin/env python3
"""Unit test of check_corpus.py itself (not of hessgen):

  * false or insufficient certificates must be rejected (each BAD case below is a small file
    whose certificate is wrong; check_corpus.py --certificates-only must exit 1 and name it);
  * the comparison with `hessgen --check --json` must catch wrong verdicts, bad hessgen
    certificates, too many undetermined answers..., using fake_hessgen.py as hessgen.

    python3 tests/exact/test_check_corpus.py        (about half a minute)
"""

import contextlib
import importlib.util
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "check_corpus.py")
FAKE = os.path.join(HERE, "fake_hessgen.py")
CORPUS = os.path.join(HERE, "corpus")

# (name, file text, a string the failure message must contain)
BAD = [
    ("indefinite_weights", """param x, y;
loss x^2 - y^4;
#@ weights: 2, 1
at x = 0, y = 0 expect strict_min;
""", "neither positive nor negative definite"),
    ("semidefinite_weights", """param x, y;
loss (y - x^2)^2;
#@ weights: 1, 2
at x = 0, y = 0 expect strict_min;
""", "neither positive nor negative definite"),
    ("semidefinite_quartic", """param x, y;
loss (x^2 - y^2)^2;
#@ weights: 1, 1
at x = 0, y = 0 expect strict_min;
""", "neither positive nor negative definite"),
    ("semidefinite_without_subst", """param x, y;
loss x^2 + 2*x*y^2 + y^4 + y^6;
#@ weights: 2, 1
at x = 0, y = 0 expect strict_min;
""", "neither positive nor negative definite"),
    ("wrong_down_curve", """param x, y;
loss x^2 + y^4;
#@ up: x = t, y = 0
#@ down: x = 0, y = t
at x = 0, y = 0 expect saddle;
""", "not negative"),
    ("wrong_up_transcendental", """param x;
loss sigmoid(x) - x/4 - 1/2;
#@ up: x = t
#@ down: x = -t
at x = 0 expect saddle;
""", "not positive"),
    ("up_only", """param x;
loss x^3;
#@ up: x = t
at x = 0 expect saddle;
""", "do not prove 'saddle'"),
    ("curve_misses_point", """param x, y;
loss x^2 - y^2;
#@ up: x = 1 + t, y = 0
#@ down: x = 0, y = t
at x = 0, y = 0 expect saddle;
""", "at t = 0"),
    ("wrong_sos", """param x, y;
loss x^2 + y^4;
#@ sos: x, y
at x = 0, y = 0 expect min;
""", "is not the sum of the squares"),
    ("complex_sos", """param x, y;
loss x^2 - y^2;
#@ sos: x, sqrt(-1)*y
at x = 0, y = 0 expect min;
""", "real"),
    ("wrong_zero_curve", """param x, y;
loss (y - x^2)^2;
#@ sos: y - x^2
#@ zero: x = t, y = 2*t^2
at x = 0, y = 0 expect min;
""", "not identically 0"),
    ("constant_zero_curve", """param x, y;
loss (y - x^2)^2;
#@ sos: y - x^2
#@ zero: x = 0, y = 0
at x = 0, y = 0 expect min;
""", "constant"),
    ("gradient_at_critical", """param x;
loss x^2;
#@ gradient
at x = 0 expect not_critical;
""", "gradient is 0"),
    ("singular_nonsingular", """param x, y;
loss x^2 + y^2;
#@ singular
at x = 0, y = 0 expect degenerate;
""", "not singular"),
    ("no_certificate", """param x;
loss x^2;
at x = 0 expect strict_min;
""", "no certificate"),
    ("min_from_curves", """param x, y;
loss x^2 - y^2;
#@ up: x = t, y = 0
at x = 0, y = 0 expect min;
""", "do not prove 'min'"),
    ("undetermined_label", """param x;
loss x^2;
#@ weights: 1
at x = 0 expect undetermined;
""", "not allowed"),
    ("orphan_line", """param x;
loss x^2;
#@ weights: 1

at x = 0 expect strict_min;
""", "not directly above"),
    ("not_isolated", """param x, y, z;
loss x^2 + (y*z)^2;
#@ sos: x, y*z
#@ isolated
at x = 0, y = 0, z = 0 expect strict_min;
""", "no power of the offset"),
    ("transcendental_wrong_sign", """param x;
loss 1 - cos(x) - x^2/2;
#@ weights: 1
at x = 0 expect strict_min;
""", "do not prove 'strict_min'"),
    ("label_not_critical", """param x, y;
loss x^2 + y;
#@ weights: 2, 1
at x = 0, y = 0 expect strict_min;
""", "neither positive nor negative definite"),
    ("singular_substitution", """param x, y;
loss (x + y)^2 + (x - y)^4;
#@ weights: 2, 1; subst: x = x + y, y = x + y
at x = 0, y = 0 expect strict_min;
""", "linear part is singular"),
    ("wrong_weight_count", """param x, y;
loss x^2 + y^4;
#@ weights: 2
at x = 0, y = 0 expect strict_min;
""", "weights for 2 parameters"),
    ("not_strict_but_weights_claimed", """param w1, w2;
loss (1 - w1*w2)^2;
#@ weights: 1, 1
at w1 = 1, w2 = 1 expect strict_min;
""", "neither positive nor negative definite"),
]

# (FAKE_MODE, expected exit status, a string the output must contain)
MODES = [
    ("truth", 0, "all good"),
    ("weaker", 0, "weaker"),
    ("wrong", 1, "WRONG"),
    ("nonstrict", 1, "WRONG"),
    ("undetermined", 1, "more than 10%"),
    ("noreason", 1, "without a reason"),
    ("badcurve", 1, "hessgen's certificate"),
    ("badgrad", 1, "hessgen's certificate"),
    ("badok", 1, "hessgen says ok"),
    ("baddegenerate", 1, "WRONG"),
    ("badvalue", 1, "hessgen's values"),
    ("ballgrad", 0, "all good"),
    ("badball", 1, "hessgen's certificate"),
]
SUBSET = ["lecture_weakest.hl", "deg_x2_y4.hl", "irr_softplus.hl"]


def run(args, env=None):
    p = subprocess.run([sys.executable, CHECK] + args, capture_output=True, text=True,
                       env=dict(os.environ, **(env or {})))
    return p.returncode, p.stdout + p.stderr


def run_inprocess(args):
    """check_corpus.main(args) in this process (no SymPy start-up per call)."""
    spec = importlib.util.spec_from_file_location("check_corpus", CHECK)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
        rc = mod.main(args)
    return rc, buf.getvalue()


def main():
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for name, text, needle in BAD:
            path = os.path.join(d, name + ".hl")
            with open(path, "w") as f:
                f.write(text)
            rc, out = run_inprocess([FAKE, path, "--certificates-only"])
            good = rc == 1 and needle in out
            failed += not good
            print(f"{'ok  ' if good else 'FAIL'} bad certificate {name}: exit {rc}"
                  + ("" if good else f", expected 1 and {needle!r} in:\n{out}"))
    files = [os.path.join(CORPUS, f) for f in SUBSET]
    for mode, want, needle in MODES:
        rc, out = run([FAKE] + files, {"FAKE_MODE": mode})
        good = rc == want and needle in out
        failed += not good
        print(f"{'ok  ' if good else 'FAIL'} fake hessgen, mode {mode}: exit {rc}"
              + ("" if good else f", expected {want} and {needle!r} in:\n{out}"))
    print(f"{len(BAD) + len(MODES) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
