#!/usr/bin/env python3
"""Evaluation time of the MLPs' generated functions, array loops against unrolled (issue 15).

    python3 bench/mlp/eval.py [--widths 8,16,32] [--depths 2,4] [--rows 1000] [--modes always,never]
                              [--unrolled-max 200]

For each MLP of bench/mlp/run.py (2-w-w-1 and 2-8x d-1, tanh, mean squared error over data
rows), hessgen writes the C with --loops=always and --loops=never (the unrolled code only up to
--unrolled-max parameters: beyond, it is tens of megabytes that gcc takes minutes on), gcc -O2
-march=native compiles it as a shared object, and the best of 3 timed repetitions of M_loss,
M_grad, M_hvp and M_hess (without the gradient) on random data of --rows rows is printed, in
milliseconds, with grad/loss. Wall times: compare the two modes of one run, not across runs.
"""
import argparse, ctypes, importlib.util, os, random, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
HESSGEN = os.environ.get("HESSGEN", os.path.join(ROOT, "build", "hessgen"))
CC = os.environ.get("CC", "gcc")


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


run = load_module("mlp_run", os.path.join(HERE, "run.py"))
loops = load_module("check_loops", os.path.join(ROOT, "tests", "loops", "check_loops.py"))
D = loops.D


def best(f, reps):
    out = 1e9
    for _ in range(3):
        s = time.perf_counter()
        for _ in range(reps):
            f()
        out = min(out, (time.perf_counter() - s) / reps)
    return out * 1e3


def measure(name, widths, mode, rows, work):
    hl, c = os.path.join(work, name + ".hl"), os.path.join(work, "%s_%s.c" % (name, mode))
    so = c[:-2] + ".so"
    open(hl, "w").write(run.mlp(widths))
    subprocess.run([HESSGEN, hl, "-o", c, "--prefix", "M", "--loops=" + mode], check=True)
    subprocess.run([CC, "-std=c99", "-O2", "-march=native", "-shared", "-fPIC", c, "-o", so, "-lm"], check=True)
    lib = ctypes.CDLL(so)
    m = loops.Model.in_dll(lib, "M_model")
    rng = random.Random(1)
    data, keep = loops.bind(lib, m, rows, rng, {})
    n = m.nparam
    T = ctypes.c_double * n
    th = T(*[rng.uniform(-1, 1) for _ in range(n)])
    g, hv = T(), T()
    H = (ctypes.c_double * (n * n))()
    loss = ctypes.CFUNCTYPE(ctypes.c_double, D, ctypes.c_void_p)(m.loss)
    grad = ctypes.CFUNCTYPE(ctypes.c_double, D, ctypes.c_void_p, D)(m.grad)
    hvp = ctypes.CFUNCTYPE(None, D, ctypes.c_void_p, D, D)(m.hvp)
    hess = ctypes.CFUNCTYPE(ctypes.c_double, D, ctypes.c_void_p, D, D)(m.hess)
    tl = best(lambda: loss(th, data), 20)
    tg = best(lambda: grad(th, data, g), 20)
    th_ = best(lambda: hvp(th, data, th, hv), 10)
    tH = best(lambda: hess(th, data, None, H), 1)
    return "| %s | %s | %d | %.3f | %.3f (%.1fx) | %.3f | %.1f |" % (name, mode, n, tl, tg, tg / tl, th_, tH)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", default="8,16,32")
    ap.add_argument("--depths", default="2,4")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--modes", default="always,never")
    ap.add_argument("--unrolled-max", type=int, default=200)
    a = ap.parse_args()
    print("| model | --loops | parameters | loss ms | grad ms (/loss) | hvp ms | hess ms |")
    print("|---|---|---|---|---|---|---|")
    models = [("2-%d-%d-1" % (w, w), [2, w, w, 1]) for w in (int(x) for x in a.widths.split(",") if x)]
    models += [("2-8x%d-1" % d, [2] + [8] * d + [1]) for d in (int(x) for x in a.depths.split(",") if x)]
    with tempfile.TemporaryDirectory() as work:
        for name, widths in models:
            for mode in a.modes.split(","):
                if mode == "never" and run.nparams(widths) > a.unrolled_max:
                    continue
                print(measure(name, widths, mode, a.rows, work), flush=True)


if __name__ == "__main__":
    main()
