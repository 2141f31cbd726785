#!/usr/bin/env python3
"""Writes the third information-only shape of bench/data/ (see lr_loops.c):

    unrolled.py OUT.c

`double unrolled_hess(theta, n, X, y, grad, hess)`: straight-line code like hessgen's row loop
(every feature index a constant, one statement per product, 1378 accumulators s0[] in a local
array), with one difference: each product is added to its accumulator in the statement that
computes it (`s0[k] += cj * x[m]`), where hessgen computes all ~1400 products of a row first and
adds them to s0[] at the end of the row. Same per-row scalar work otherwise: z, softplus,
sigmoid(m), sigmoid(-m), c = s (1 - s) y^2, r = -y s, c * x_j once per j."""
import sys

NF = 50


def a(j):
    return f"x[{j}]" if j < NF else "1.0"


L = [
    "/* Written by bench/data/unrolled.py: do not edit. */",
    "#include <math.h>",
    "#include <stddef.h>",
    "",
    "static double sigm(double t)",
    "{",
    "    if (t >= 0)",
    "        return 1.0 / (1.0 + exp(-t));",
    "    const double e = exp(t);",
    "    return e / (1.0 + e);",
    "}",
    "",
    "static double softp(double t)",
    "{",
    "    return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));",
    "}",
    "",
    "double unrolled_hess(const double *th, size_t n, const double *X, const double *y,",
    "                     double *grad, double *hess)",
    "{",
    "    double s0[1378];",
    "    for (int k = 0; k < 1378; k++)",
    "        s0[k] = 0.0;",
    "    for (size_t i = 0; i < n; i++) {",
    "        const double *x = X + i * 50;",
    "        const double z = th[50] + " + " + ".join(f"th[{j}] * x[{j}]" for j in range(NF)) + ";",
    "        const double m = -y[i] * z;",
    "        const double s = sigm(m);",
    "        const double c = s * sigm(-m) * y[i] * y[i];",
    "        const double r = -y[i] * s;",
    "        s0[0] += softp(m);",
]
k = 1
for j in range(NF + 1):
    L.append(f"        s0[{k}] += r * {a(j)};")
    k += 1
for j in range(NF + 1):
    L.append(f"        {{ const double cj = c * {a(j)};")
    for m in range(j + 1):
        L.append(f"          s0[{k}] += cj * {a(m)};")
        k += 1
    L.append("        }")
assert k == 1378
L += [
    "    }",
    "    const double inv = 1.0 / (double)n;",
    "    double reg = 0.0;",
    "    for (int j = 0; j < 50; j++)",
    "        reg += th[j] * th[j];",
    "    if (grad != NULL)",
    "        for (int j = 0; j < 51; j++)",
    "            grad[j] = s0[1 + j] * inv + (j < 50 ? 0.01 * th[j] : 0.0);",
    "    int q = 52;",
    "    for (int j = 0; j < 51; j++)",
    "        for (int k = 0; k <= j; k++) {",
    "            const double v = s0[q++] * inv + (j == k && j < 50 ? 0.01 : 0.0);",
    "            hess[j * 51 + k] = hess[k * 51 + j] = v;",
    "        }",
    "    return s0[0] * inv + 0.005 * reg;",
    "}",
]
with open(sys.argv[1], "w") as f:
    f.write("\n".join(L) + "\n")
