#!/usr/bin/env python3
"""check_chains: deep compositions (10 to 1000 levels) against SymPy's derivatives, chained.

    check_chains.py --hessgen PATH --cc CC [--workdir DIR] [--depths 10,100,1000]

SymPy cannot differentiate a 30-deep composition as one expression (the Hessian of tanh nested
8 deep takes it 17 s, 12 deep more than 5 minutes), so this oracle differentiates each level
with SymPy and chains the levels itself, in mpmath at 60 digits:

    u_0 = a*x + b  (x = 3/2),   u_k = f_k(u_{k-1}) + [k == d/2] * a*b,   loss = u_d + a^2*b/4
    du_k  = f_k'(u_{k-1}) du_{k-1} (+ d(a*b))
    d2u_k = f_k''(u_{k-1}) du_{k-1} du_{k-1}^T + f_k'(u_{k-1}) d2u_{k-1} (+ d2(a*b))

with f_k' and f_k'' from sympy.diff of f_k(t) (the .hl functions as hl2sympy defines them).
This is forward propagation of value, gradient and Hessian, a method independent of hessgen's
reverse-then-forward passes over its graph. The re-entry of a*b half-way makes the adjoints
branch. Each chain is written as a .hl file, compiled by hessgen, and its generated loss,
gradient, Hessian (dense, with and without grad), HVP and sparse Hessian are compared at 5
points with the exact values, normwise relative 1e-12, as check_derivatives.py does.

Output: a line per failure, a line per chain, and last `P passed, F failed`.
"""
import argparse
import os
import random
import sys
import tempfile

import mpmath
import sympy as sp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_derivatives as cd  # noqa: E402  (its driver, runner and comparison)

DPS = 60
X = sp.Rational(3, 2)
T = sp.Symbol("t")
# .hl function -> SymPy expression of t; exp enters as exp(-t) so that deep chains stay finite
FUNCS = {
    "tanh": ("tanh(%s)", sp.tanh(T)),
    "exp": ("exp(-(%s))", sp.exp(-T)),
    "softplus": ("softplus(%s)", sp.log(1 + sp.exp(T))),
    "sigmoid": ("sigmoid(%s)", 1 / (1 + sp.exp(-T))),
    "sin": ("sin(%s)", sp.sin(T)),
    "atan": ("atan(%s)", sp.atan(T)),
}
CHAINS = [["tanh"], ["exp"], ["softplus"], ["sin", "softplus", "atan", "sigmoid"]]


def level_functions(name):
    f = FUNCS[name][1]
    return [sp.lambdify(T, e, modules="mpmath") for e in (f, sp.diff(f, T), sp.diff(f, T, 2))]


def source(fns, depth):
    e = "a*x + b"
    for k in range(1, depth + 1):
        e = FUNCS[fns[(k - 1) % len(fns)]][0] % e
        if k == depth // 2:
            e = "(%s + a*b)" % e
    return ("# written by tests/oracle/check_chains.py\nmodel M;\nparam a = 0.7, b = -0.2;\nconst x = 3/2;\n"
            "loss %s + a^2*b/4;\n" % e)


def exact(fns, depth, theta):
    """(loss, grad, full Hessian) at theta, propagated level by level."""
    with mpmath.workdps(DPS):
        a, b = (mpmath.mpf(t) for t in theta)
        x = mpmath.mpf(X.p) / X.q
        u, du, d2u = a * x + b, [x, mpmath.mpf(1)], [[0, 0], [0, 0]]
        fl = [level_functions(n) for n in fns]
        for k in range(1, depth + 1):
            f, f1, f2 = fl[(k - 1) % len(fns)]
            v, d1, dd = f(u), f1(u), f2(u)
            d2u = [[dd * du[i] * du[j] + d1 * d2u[i][j] for j in range(2)] for i in range(2)]
            du = [d1 * g for g in du]
            u = v
            if k == depth // 2:   # + a*b
                u += a * b
                du = [du[0] + b, du[1] + a]
                d2u[0][1] += 1
                d2u[1][0] += 1
        loss = u + a * a * b / 4
        grad = [du[0] + a * b / 2, du[1] + a * a / 4]
        hess = [[d2u[0][0] + b / 2, d2u[0][1] + a / 2], [d2u[1][0] + a / 2, d2u[1][1]]]
        return loss, grad, hess


def check_chain(fns, depth, args, workdir, rng):
    name = "%s_%d" % ("_".join(fns), depth)
    res = cd.FileResult(name)
    hl = os.path.join(workdir, name + ".hl")
    with open(hl, "w") as f:
        f.write(source(fns, depth))
    gen = os.path.join(workdir, name + ".c")
    rc, so, se = cd.run([args.hessgen, hl, "-o", gen, "--prefix", cd.PREFIX])
    if rc != 0:
        res.fail("hessgen exited %d%s" % (rc, cd.first_lines(se)))
        return res
    drv = os.path.join(workdir, "driver.c")
    with open(drv, "w") as f:
        f.write(cd.DRIVER)
    exe = os.path.join(workdir, name)
    # -O0: these files are long straight lines (1.6 MB at depth 1000), which -O1 takes 38 s over
    rc, so, se = cd.run([args.cc, "-std=c99", "-O0", "-DNPARAM=2", drv, gen, "-o", exe, "-lm"], timeout=600)
    if rc != 0:
        res.fail("cc exited %d%s" % (rc, cd.first_lines(se)))
        return res
    points = [[0.7, -0.2]] + [[rng.uniform(-1.5, 1.5), rng.uniform(-1.5, 1.5)] for _ in range(4)]
    vs = [[rng.uniform(-1, 1), rng.uniform(-1, 1)] for _ in points]
    stdin = "%d\n" % len(points) + "".join("%r %r %r %r\n" % (p[0], p[1], v[0], v[1]) for p, v in zip(points, vs))
    rc, so, se = cd.run([exe], stdin=stdin)
    if rc != 0:
        res.fail("driver exited %d%s" % (rc, cd.first_lines(se)))
        return res
    out = cd.parse_driver_output(so, 2)
    entries = out["entries"]
    if len(out["points"]) != len(points):
        res.fail("driver printed %d points of %d" % (len(out["points"]), len(points)))
        return res
    for p, v, got in zip(points, vs, out["points"]):
        loss, grad, hess = exact(fns, depth, p)
        at = " at (a=%r, b=%r)" % tuple(p)
        res.check("loss" + at, cd.compare(got["loss"], [loss] * 5, ["loss"] * 5))
        for tag in ("grad_grad", "grad_hess", "grad_sparse"):
            res.check(tag + at, cd.compare(got[tag], grad, ["g[0]", "g[1]"]))
        full = [hess[i][j] for i in range(2) for j in range(2)]
        labels = ["H[%d][%d]" % (i, j) for i in range(2) for j in range(2)]
        for tag in ("hess_grad", "hess_null"):
            res.check(tag + at, cd.compare(got[tag], full, labels))
        hv = [hess[i][0] * v[0] + hess[i][1] * v[1] for i in range(2)]
        res.check("hvp" + at, cd.compare(got["hvp"], hv, ["hv[0]", "hv[1]"]))
        sv = [hess[i][j] for i, j in entries]
        for tag in ("sparse", "values"):
            res.check(tag + at, cd.compare(got[tag], sv, ["H[%d][%d]" % e for e in entries]))
    if sorted(entries) != [(0, 0), (1, 0), (1, 1)]:
        res.fail("sparsity pattern %r, expected the whole lower triangle" % entries)
    else:
        res.ok()
    return res


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessgen", required=True)
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--workdir")
    ap.add_argument("--depths", default="10,100,1000")
    args = ap.parse_args(argv)
    workdir = args.workdir or tempfile.mkdtemp(prefix="chains")
    os.makedirs(workdir, exist_ok=True)
    rng = random.Random(15)
    passed = failed = 0
    for fns in CHAINS:
        for depth in (int(d) for d in args.depths.split(",")):
            r = check_chain(fns, depth, args, workdir, rng)
            for line in r.lines:
                print(line)
            print("%s: %d passed, %d failed" % (r.path, r.passed, r.failed))
            passed += r.passed
            failed += r.failed
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
