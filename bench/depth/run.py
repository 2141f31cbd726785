#!/usr/bin/env python3
"""Nested compositions 10, 100, 1000, 10000 deep: is everything linear in the depth?

    python3 bench/depth/run.py [--depths 10,100,1000,10000] [--runs 3] [--no-callgrind]

For f in tanh, exp (as x -> exp(-x), whose iterates stay near 0.567 instead of overflowing)
and softplus, the loss is f nested d deep over one parameter x (start 0.1). For each depth:
  * hessgen: median wall time of `hessgen model.hl -o out.c` over --runs runs, and the size
    of the C it writes (every API function: loss, gradient, dense and sparse Hessian, HVP);
  * instructions of one call of M_loss, M_grad and M_hess (callgrind, bench/drivers/driver.c,
    each function compiled alone with cc -O2 after bench/drivers/extract.py), and each one
    divided by the depth: constant per level means linear in the depth.
Before issue 15, the adjoint of each level was the flat product of every factor above it, so
size and time grew with the square of the depth (tanh 1000 deep: 46 MB of C).
A second table: a deep network of scalar weights, h_k = tanh(w[k]*h_{k-1} + 1/10), loss
(h_d - 3/10)^2, whose Hessian is dense (d(d+1)/2 entries): there the C can only be linear in
the entries, and the table gives bytes per entry (before issue 15, d = 60 gave 110 MB of C,
now 3.5 MB).
Not part of the test run; prints two tables.
"""
import argparse, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
HESSGEN = os.environ.get("HESSGEN", os.path.join(ROOT, "build", "hessgen"))
CC = os.environ.get("CC", "cc")
FUNCS = {"tanh": "tanh(%s)", "exp": "exp(-%s)", "softplus": "softplus(%s)"}


def model(fn, depth):
    e = "x"
    for _ in range(depth):
        e = FUNCS[fn] % e
    return "model M;\nparam x = 0.1;\nloss %s;\n" % e


def instructions(work, gen, op):
    src = os.path.join(work, "%s.c" % op)
    subprocess.run([sys.executable, os.path.join(ROOT, "bench", "drivers", "extract.py"), gen, src, "--data",
                    "M_" + op], check=True)
    exe = os.path.join(work, "drv_" + op)
    subprocess.run([CC, "-O2", "-DM=M", "-DNPARAM=1", "-Wl,-z,now", os.path.join(ROOT, "bench", "drivers", "driver.c"),
                    src, "-o", exe, "-lm"], check=True)
    out = os.path.join(work, "cg.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, "--toggle-collect=M_" + op,
                    exe, op, "1"], check=True, capture_output=True)
    for line in open(out):
        if line.startswith("summary:") or line.startswith("totals:"):
            return int(line.split()[1])
    raise RuntimeError("no totals in callgrind output")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depths", default="10,100,1000,10000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-callgrind", action="store_true")
    a = ap.parse_args()
    depths = [int(d) for d in a.depths.split(",")]
    print("| f | depth | hessgen s | C bytes | bytes/level | loss Ir | grad Ir | hess Ir | hess Ir/level |")
    print("|---|---|---|---|---|---|---|---|---|")
    for fn in FUNCS:
        for d in depths:
            with tempfile.TemporaryDirectory() as work:
                hl = os.path.join(work, "m.hl")
                gen = os.path.join(work, "m.c")
                open(hl, "w").write(model(fn, d))
                times = []
                for _ in range(a.runs):
                    t = time.perf_counter()
                    subprocess.run([HESSGEN, hl, "-o", gen], check=True)
                    times.append(time.perf_counter() - t)
                size = os.path.getsize(gen)
                ir = ["-"] * 3
                if not a.no_callgrind:
                    ir = [instructions(work, gen, op) for op in ("loss", "grad", "hess")]
                per = "%.0f" % (ir[2] / d) if not a.no_callgrind else "-"
                print("| %s | %d | %.3f | %d | %.0f | %s | %s | %s | %s |" % (
                    fn, d, statistics.median(times), size, size / d, ir[0], ir[1], ir[2], per), flush=True)
    network_table([10, 30, 100], a.runs)


def network(depth):
    e = "x"
    for k in range(depth):
        e = "tanh(w[%d]*%s + 0.1)" % (k, e)
    return "model M;\nparam w[%d] = 0.9;\nconst x = 0.5;\nloss (%s - 0.3)^2;\n" % (depth, e)


def network_table(depths, runs):
    print()
    print("| scalar-weight network depth | parameters | Hessian entries | hessgen s | C bytes | bytes/entry |")
    print("|---|---|---|---|---|---|")
    for d in depths:
        with tempfile.TemporaryDirectory() as work:
            hl, gen = os.path.join(work, "m.hl"), os.path.join(work, "m.c")
            open(hl, "w").write(network(d))
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                subprocess.run([HESSGEN, hl, "-o", gen], check=True)
                times.append(time.perf_counter() - t)
            size = os.path.getsize(gen)
            entries = d * (d + 1) // 2
            print("| %d | %d | %d | %.3f | %d | %.0f |" % (d, d, entries, statistics.median(times), size, size / entries),
                  flush=True)


if __name__ == "__main__":
    main()
