#!/usr/bin/env python3
"""Writes the benchmark models (bench/models/*.hl) and holds the data of the tanh net.

The SymPy side of bench/codegen.py imports the same data (TANH_X, TANH_T, sizes) so that both
tools compile the same function; codegen.py checks that the .hl files on disk are exactly what
this script writes, so the two cannot drift apart.

    python3 bench/models/make_models.py          # (re)write the .hl files
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# Two-layer tanh network, mean squared error, 8 training rows embedded as const arrays.
# Parameters: W1[11][7] (77) + b1[11] (11) + w2[11] (11) + b2 (1) = exactly 100.
TANH_H, TANH_D, TANH_K = 11, 7, 8


def _dec(v):
    """A short decimal literal for the rational v/100 (exact in both tools)."""
    s = "%s%d.%02d" % ("-" if v < 0 else "", abs(v) // 100, abs(v) % 100)
    return s.rstrip("0").rstrip(".") if "." in s else s


# Deterministic, irregular data in [-1, 1] with two decimals (a small LCG, no randomness).
def _data():
    state = 12345
    def nxt():
        nonlocal state
        state = (1103515245 * state + 12345) % 2**31
        return (state >> 8) % 201 - 100  # -100..100
    X = [[_dec(nxt()) for _ in range(TANH_D)] for _ in range(TANH_K)]
    t = [_dec(nxt()) for _ in range(TANH_K)]
    return X, t


TANH_X, TANH_T = _data()

ROSEN = """# Extended Rosenbrock, {n} parameters (bench/models/make_models.py writes this file).
model {name};
param x[{n}] = -1.2;
loss sum(i = 0..{m}, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2);
"""

PRODEXP = """# A product inside exp plus a power of a sum: the gradient of prod is where naive
# symbolic differentiation goes quadratic (bench/models/make_models.py writes this file).
model prodexp;
param x[50] = 0.1;
loss exp(prod(i = 0..49, x[i])) + sum(i = 0..49, x[i])^4;
"""


def tanh_hl():
    rows = ",\n    ".join("{" + ", ".join(r) + "}" for r in TANH_X)
    return f"""# Dense two-layer tanh network, {TANH_K} training rows embedded as constants, mean squared
# error. W1[{TANH_H}][{TANH_D}] + b1[{TANH_H}] + w2[{TANH_H}] + b2 = 100 parameters.
# (bench/models/make_models.py writes this file.)
model tanh100;
param W1[{TANH_H}][{TANH_D}] = 0.1, b1[{TANH_H}] = 0.05, w2[{TANH_H}] = -0.1, b2 = 0.01;
const X[{TANH_K}][{TANH_D}] = {{
    {rows}}},
  t[{TANH_K}] = {{{", ".join(TANH_T)}}};
def hidden(i, k) = tanh(sum(j, W1[k][j]*X[i][j]) + b1[k]);
loss mean(i, (sum(k, w2[k]*hidden(i, k)) + b2 - t[i])^2);
"""


def models():
    return {
        "rosen1000.hl": ROSEN.format(n=1000, m=998, name="rosen1000"),
        "rosen10000.hl": ROSEN.format(n=10000, m=9998, name="rosen10000"),
        "tanh100.hl": tanh_hl(),
        "prodexp50.hl": PRODEXP,
    }


if __name__ == "__main__":
    for name, text in models().items():
        with open(os.path.join(HERE, name), "w") as f:
            f.write(text)
        print("wrote", os.path.join(HERE, name))
