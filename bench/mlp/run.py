#!/usr/bin/env python3
"""Networks of any width and depth (issue 15): what a user waits for, hessgen plus gcc -O2.

    python3 bench/mlp/run.py [--widths 8,16,32,64,128] [--depths 2,4,8,16] [--cap 120]
                             [--gcc-cap 300] [--gcc-max-mb 10] [--loops auto|always|never]

Models, written as a user writes them (examples/tanh_net_data.hl's style, one `def` a layer):
  * width series: MLP 2-w-w-1, tanh layers, mean squared error over data rows X[n][2], t[n]
    (w = 8: 105 parameters; 16: 337; 32: 1185; 64: 4417; 128: 17025);
  * depth series: MLP 2-8-...-8-1 with 2 to 16 hidden layers of width 8.
For each: the median wall time of `hessgen model.hl -o out.c` (one run past --cap seconds is
killed and reported as `> cap`), the size of the C, and the CPU time and peak memory of
`gcc -O2 -c` on it (skipped above --gcc-max-mb of C, capped at --gcc-cap seconds).
The issue's targets: C under 200 KB, hessgen under 1 s, gcc -O2 under 10 s, for every model;
C size linear in width and depth. Not part of the test run; prints a table.
"""
import argparse, os, resource, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
HESSGEN = os.environ.get("HESSGEN", os.path.join(ROOT, "build", "hessgen"))
CC = os.environ.get("CC", "gcc")


def mlp(widths):
    """The .hl text of an MLP with these layer widths: [inputs, hidden..., 1]."""
    L = len(widths) - 1
    ps = ["W%d[%d][%d] = 0.1, b%d[%d]" % (l + 1, widths[l + 1], widths[l], l + 1, widths[l + 1]) for l in range(L - 1)]
    ps.append("w%d[%d] = 0.1, c" % (L, widths[L - 1]))
    out = ["model mlp;", "param " + ", ".join(ps) + ";", "data X[n][%d], t[n];" % widths[0],
           "def h1(i, k) = tanh(sum(j, W1[k][j]*X[i][j]) + b1[k]);"]
    for l in range(2, L):
        out.append("def h%d(i, k) = tanh(sum(j, W%d[k][j]*h%d(i, j)) + b%d[k]);" % (l, l, l - 1, l))
    out.append("loss mean(i, (sum(k, w%d[k]*h%d(i, k)) + c - t[i])^2);" % (L, L - 1))
    return "\n".join(out) + "\n"


def nparams(widths):
    return sum(widths[l + 1] * widths[l] + widths[l + 1] for l in range(len(widths) - 1))


def timed(cmd, cap):
    """(wall seconds or None past the cap, child CPU seconds, child peak KB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=cap)
        wall = time.perf_counter() - t
    except subprocess.TimeoutExpired:
        wall = None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, after.ru_maxrss


def measure(name, widths, a, work):
    hl = os.path.join(work, name + ".hl")
    gen = os.path.join(work, name + ".c")
    open(hl, "w").write(mlp(widths))
    times = []
    for _ in range(a.runs):
        wall, _, _ = timed([HESSGEN, hl, "-o", gen, "--loops=" + a.loops], a.cap)
        if wall is None:
            times = None
            break
        times.append(wall)
    if times is None:
        return "| %s | %d | > %d s | - | - |" % (name, nparams(widths), a.cap)
    times.sort()
    size = os.path.getsize(gen)
    if size > a.gcc_max_mb * 1e6:
        cc = "not attempted (> %g MB)" % a.gcc_max_mb
    else:
        wall, cpu, kb = timed([CC, "-O2", "-c", gen, "-o", os.path.join(work, name + ".o")], a.gcc_cap)
        cc = ("> %d s" % a.gcc_cap) if wall is None else "%.1f s, %d MB" % (cpu, kb // 1024)
    os.remove(gen)
    return "| %s | %d | %.2f s | %.0f KB | %s |" % (name, nparams(widths), times[len(times) // 2], size / 1e3, cc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", default="8,16,32,64,128")
    ap.add_argument("--depths", default="2,4,8,16")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cap", type=int, default=120)
    ap.add_argument("--gcc-cap", type=int, default=300)
    ap.add_argument("--gcc-max-mb", type=float, default=10)
    ap.add_argument("--loops", default="auto", help="hessgen's --loops (always: array loops)")
    a = ap.parse_args()
    print("| model | parameters | hessgen | C | gcc -O2 (CPU, peak memory) |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as work:
        for w in (int(x) for x in a.widths.split(",") if x):
            print(measure("2-%d-%d-1" % (w, w), [2, w, w, 1], a, work), flush=True)
        for d in (int(x) for x in a.depths.split(",") if x):
            print(measure("2-8x%d-1" % d, [2] + [8] * d + [1], a, work), flush=True)


if __name__ == "__main__":
    main()
