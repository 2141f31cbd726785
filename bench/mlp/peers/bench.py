#!/usr/bin/env python3
"""The generated Hessian of the issue's MLPs (issue 15) against its peers: a hand-written exact
Hessian with BLAS, ADOL-C's `hessian` on the taped row loop, and central differences of the
generated gradient. Not part of the test run.

    python3 bench/mlp/peers/bench.py [--hessgen PATH] [--widths 8,16,32] [--depths 2,4,8]
        [--rows 1000] [--rounds 7] [--unrolled-max 110] [--adolc-budget 5] [--adolc-reps 3]
        [--no-adolc] [--keep DIR] [--out FILE]

Issue 15's targets, per Hessian evaluation on the MLPs with w = 8, 16, 32 and the depth
series: within 3x the hand-written BLAS implementation, at least 10x faster than ADOL-C's
hessian, faster than central differences of the generated gradient.

For each model of bench/mlp/run.py's mlp(widths) (2-w-w-1, and 2-8x d-1: d hidden layers of
8; the depth series' d = 2 is the width series' w = 8 and is run once):
  * hessgen writes the C with --prefix M --loops=always and, up to --unrolled-max parameters,
    with --loops=never (as prefix U, so that both live in one driver; only U_hess is compiled,
    bench/data/bench.py's extract_hess); gcc -O2 -march=native compiles them;
  * mlp_bench (mlp_bench.c, mlp_hand.c, the generated objects) checks that the parameters are
    in the order the peers assume, CHECKS every exact peer's Hessian against M_hess
    (|a - b| <= 1e-9 max|H|; gradient and loss too), reports central differences' error, and
    times ROUNDS rounds, each calling every method once in turn, after a first call of each
    (the check, which is also the warm-up); the median is reported;
  * mlp_adolc (mlp_adolc.cpp) tapes the loss over the rows and times `hessian`. Its cost is
    (parameters) x (tape length), linear in the rows: a calibration run on 50 rows gives the
    time per row, and if 1000 rows would take more than --adolc-budget seconds per call,
    ADOL-C runs on the first R rows (R a multiple of 50 within the budget; the same values as
    the first R rows of the others), is checked against M_hess on those R rows, and its time
    is scaled by rows / R (the report says where, with both runs' time per row).
OPENBLAS_NUM_THREADS=1 throughout. Exit 1 if any check fails (the report is still printed).
"""
import argparse
import concurrent.futures
import datetime
import importlib.util
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
CC = os.environ.get("CC", "gcc")
CXX = os.environ.get("CXX", "g++")
CFLAGS = ["-O2", "-march=native"]


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


mlp_run = load_module("mlp_run", os.path.join(ROOT, "bench", "mlp", "run.py"))
data_bench = load_module("data_bench", os.path.join(ROOT, "bench", "data", "bench.py"))


def die(msg):
    print("bench.py: " + msg, file=sys.stderr)
    sys.exit(1)


def run(cmd, cwd=None, check=True):
    e = dict(os.environ)
    e["OPENBLAS_NUM_THREADS"] = "1"
    p = subprocess.run(cmd, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and p.returncode != 0:
        die("command failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout[-4000:],
                                              p.stderr[-4000:]))
    return p


def sh(cmd):
    return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True).stdout.strip()


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def cpu_busy():
    """(busy seconds of the machine from /proc/stat, CPU seconds of us and our finished
    children, wall clock)"""
    f = open("/proc/stat").readline().split()
    busy = (sum(int(x) for x in f[1:9]) - int(f[4]) - int(f[5])) / os.sysconf("SC_CLK_TCK")
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = resource.getrusage(resource.RUSAGE_SELF)
    return busy, c.ru_utime + c.ru_stime + m.ru_utime + m.ru_stime, time.perf_counter()


def others_cores(before, after):
    wall = after[2] - before[2]
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / wall) if wall > 0 else 0.0


def parse(out):
    """-> {method: {"median": s, "runs": [...], "cpu": s, "min": s}}, {name: err}, check lines"""
    res, err, checks = {}, {}, []
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 3 and f[1] == "median_s":
            res.setdefault(f[0], {})["median"] = float(f[2])
            res[f[0]]["runs"] = [float(x) for x in f[4:]]
        elif len(f) == 3 and f[1] == "cpu_median_s":
            res.setdefault(f[0], {})["cpu"] = float(f[2])
        elif len(f) == 3 and f[1] == "min_s":
            res.setdefault(f[0], {})["min"] = float(f[2])
        elif len(f) == 3 and f[0] == "err":
            err[f[1]] = float(f[2])
        elif line.startswith("check "):
            checks.append(line)
    return res, err, checks


def kv(out, key):
    for line in out.splitlines():
        if line.startswith(key + " "):
            return line[len(key) + 1:]
    return None


def ms(x):
    if x is None:
        return "-"
    return "%.3g" % (x * 1e3) if x < 1e-2 else "%.1f" % (x * 1e3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessgen", default=os.environ.get("HESSGEN", os.path.join(ROOT, "build",
                                                                                "hessgen")))
    ap.add_argument("--widths", default="8,16,32")
    ap.add_argument("--depths", default="2,4,8")
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--unrolled-max", type=int, default=110)
    ap.add_argument("--adolc-budget", type=float, default=5.0,
                    help="seconds per ADOL-C hessian call above which its rows are capped")
    ap.add_argument("--adolc-reps", type=int, default=3)
    ap.add_argument("--no-adolc", action="store_true")
    ap.add_argument("--quiet-wait", type=float, default=10.0,
                    help="before each model's timings, wait up to this many seconds for a 2 s "
                         "window in which other processes use under 0.25 of a core")
    ap.add_argument("--keep", help="build in DIR and keep it")
    ap.add_argument("--out", help="also write the report to FILE")
    a = ap.parse_args()
    t_start = time.perf_counter()
    started = datetime.datetime.now(datetime.timezone.utc)
    load0 = loadavg()
    B = os.path.abspath(a.keep) if a.keep else tempfile.mkdtemp(prefix="hessgen-mlp-peers-")
    os.makedirs(B, exist_ok=True)
    print("bench.py: building in", B, flush=True)

    models, seen = [], {}
    for w in (int(x) for x in a.widths.split(",") if x):
        models.append(("2-%d-%d-1" % (w, w), [2, w, w, 1]))
    for d in (int(x) for x in a.depths.split(",") if x):
        widths = [2] + [8] * d + [1]
        name = "2-8x%d-1" % d
        dup = [m for m in models if m[1] == widths]
        if dup:
            seen[dup[0][0]] = name
            continue
        models.append((name, widths))

    blas_c = (sh("pkg-config --cflags openblas") or
              "-I/usr/include/x86_64-linux-gnu/openblas-pthread").split()
    blas_l = (sh("pkg-config --libs openblas") or "-lopenblas").split()
    have_adolc = not a.no_adolc and os.path.exists("/usr/include/adolc/adolc.h")

    # ---- generate (serially, timed) and compile (2 at a time)
    info, jobs = {}, []
    for name, widths in models:
        d = os.path.join(B, name)
        os.makedirs(d, exist_ok=True)
        open(os.path.join(d, "model.hl"), "w").write(mlp_run.mlp(widths))
        N = mlp_run.nparams(widths)
        t0 = time.perf_counter()
        run([a.hessgen, "model.hl", "-o", "gen.c", "--header", "gen.h", "--prefix", "M",
             "--loops=always"], cwd=d)
        gen_s = time.perf_counter() - t0
        unrolled = N <= a.unrolled_max
        info[name] = {"N": N, "widths": widths, "dir": d, "unrolled": unrolled,
                      "gen_bytes": os.path.getsize(os.path.join(d, "gen.c")), "gen_s": gen_s}
        jobs.append((name, "gen.o", [CC] + CFLAGS + ["-std=c99", "-c", "gen.c", "-o", "gen.o"]))
        if unrolled:
            t0 = time.perf_counter()
            run([a.hessgen, "model.hl", "-o", "genu_full.c", "--header", "genu.h", "--prefix", "U",
                 "--loops=never"], cwd=d)
            info[name]["genu_s"] = time.perf_counter() - t0
            full, part = data_bench.extract_hess(os.path.join(d, "genu_full.c"),
                                                 os.path.join(d, "genu.c"), prefix="U")
            info[name]["genu_bytes"] = full
            jobs.append((name, "genu.o", [CC] + CFLAGS + ["-std=c99", "-c", "genu.c", "-o",
                                                          "genu.o"]))
    jobs.sort(key=lambda j: j[1] != "genu.o")  # the long ones first

    def compile_job(job):
        name, obj, cmd = job
        t0 = time.perf_counter()
        run(cmd, cwd=info[name]["dir"])
        return name, obj, time.perf_counter() - t0

    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        for name, obj, s in ex.map(compile_job, jobs):
            info[name]["cc_" + obj] = s
    for name, _ in models:
        d, I = info[name]["dir"], info[name]
        objs = ["gen.o"] + (["genu.o"] if I["unrolled"] else [])
        run([CC] + CFLAGS + ["-std=c99", "-Wall", "-Wextra", "-I.", "-I" + HERE] + blas_c +
            (["-DHAVE_UNROLLED"] if I["unrolled"] else []) +
            [os.path.join(HERE, "mlp_bench.c"), os.path.join(HERE, "mlp_hand.c")] + objs +
            ["-o", "mlp_bench"] + blas_l + ["-lm"], cwd=d)
        if have_adolc:
            run([CXX] + CFLAGS + ["-Wall", "-Wextra", "-I.", "-I" + HERE,
                                  os.path.join(HERE, "mlp_adolc.cpp"), "gen.o", "-o",
                                  "mlp_adolc", "-ladolc", "-lm"], cwd=d)
    build_s = time.perf_counter() - t_start
    print("bench.py: built in %.0f s" % build_s, flush=True)

    # ---- check and time
    fails, logs = [], []
    busy = {"bench": [], "adolc": []}
    waits = []

    def wait_quiet():
        t0 = time.perf_counter()
        while True:
            b = cpu_busy()
            time.sleep(2)
            o = others_cores(b, cpu_busy())
            if o < 0.25 or time.perf_counter() - t0 >= a.quiet_wait:
                waits.append("%.0f s, then %.2f" % (time.perf_counter() - t0, o))
                return

    for name, _ in models:
        I = info[name]
        d, N = I["dir"], I["N"]
        if a.quiet_wait > 0:
            wait_quiet()
        rounds = a.rounds if N < 1000 else min(a.rounds, 5)
        cdr = rounds if N < 300 else min(rounds, 3)
        b0 = cpu_busy()
        p = run(["./mlp_bench", ",".join(map(str, I["widths"])), str(a.rows), str(rounds),
                 str(cdr)], cwd=d, check=False)
        busy["bench"].append(others_cores(b0, cpu_busy()))
        logs.append("# %s: mlp_bench %s %d %d %d\n%s%s" % (name, ",".join(map(str, I["widths"])),
                                                        a.rows, rounds, cdr, p.stdout, p.stderr))
        print(logs[-1], flush=True)
        if p.returncode != 0:
            fails.append("%s: mlp_bench exit %d: %s" % (name, p.returncode, p.stderr.strip()))
        res, err, checks = parse(p.stdout)
        I.update(res=res, err=err, checks=checks, blas=kv(p.stdout, "blas"))
        I["rounds"], I["cdr"] = rounds, cdr
        if not have_adolc:
            continue
        W = ",".join(map(str, I["widths"]))
        rows_ad, note = a.rows, ""
        cal = None
        if a.rows > 50:
            pc = run(["./mlp_adolc", W, "50", "1", "1"], cwd=d, check=False)
            logs.append("# %s: mlp_adolc %s 50 1 1 (calibration)\n%s%s" % (name, W, pc.stdout,
                                                                          pc.stderr))
            print(logs[-1], flush=True)
            if pc.returncode != 0:
                fails.append("%s: mlp_adolc (50 rows) exit %d" % (name, pc.returncode))
            rc, _, _ = parse(pc.stdout)
            if "adolc" in rc:
                cal = rc["adolc"]["median"] / 50
                if cal * a.rows > a.adolc_budget:
                    rows_ad = max(50, int(a.adolc_budget / cal) // 50 * 50)
        reps = a.adolc_reps
        b0 = cpu_busy()
        pa = run(["./mlp_adolc", W, str(rows_ad), str(reps)], cwd=d, check=False)
        busy["adolc"].append(others_cores(b0, cpu_busy()))
        logs.append("# %s: mlp_adolc %s %d %d\n%s%s" % (name, W, rows_ad, reps, pa.stdout,
                                                      pa.stderr))
        print(logs[-1], flush=True)
        if pa.returncode != 0:
            fails.append("%s: mlp_adolc exit %d: %s" % (name, pa.returncode, pa.stderr.strip()))
        ra, ea, ca = parse(pa.stdout)
        I["err"].update(ea)
        I["checks"] += ca
        if "adolc" in ra:
            t = ra["adolc"]["median"]
            I["adolc"] = t * a.rows / rows_ad
            I["adolc_rows"], I["adolc_raw"], I["adolc_cal"] = rows_ad, ra["adolc"], cal
            I["adolc_tape"] = kv(pa.stdout, "tapestats")
            I["adolc_grad"] = ra.get("adolc_grad", {}).get("median")
    total_s = time.perf_counter() - t_start
    load1 = loadavg()

    # ---- report
    L = []
    w = L.append
    w("| model | N | generated loops | generated unrolled | hand BLAS | hand BLAS, GN folded "
      "| ADOL-C `hessian` | central diff. | gen / hand | ADOL-C / gen | central / gen |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, _ in models:
        I = info[name]
        r = I.get("res", {})
        g = r.get("gen", {}).get("median")
        u = r.get("unrolled", {}).get("median")
        h = r.get("hand", {}).get("median")
        h2 = r.get("hand_merged", {}).get("median")
        c = r.get("central", {}).get("median")
        ad = I.get("adolc")
        label = name + (" (= %s)" % seen[name] if name in seen else "")
        adl = "-" if ad is None else ms(ad) + ("" if I["adolc_rows"] == a.rows else
                                              " (%d rows x %g)" % (I["adolc_rows"],
                                                                   a.rows / I["adolc_rows"]))
        ratio = lambda x, y: "-" if x is None or y is None else "%.1f" % (x / y)
        unr = ms(u) if u is not None else "-"
        if u is not None and g is not None:
            unr += " (%.2fx loops)" % (u / g)
        w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" %
          (label, I["N"], ms(g), unr, ms(h), ms(h2), adl, ms(c), ratio(g, h),
           ratio(ad, g), ratio(c, g)))
    w("")
    w("Times in ms per Hessian evaluation, %d rows, median. Largest difference from the "
      "generated `M_hess` (loops), as a fraction of max|H| (exact peers must be within 1e-9):" %
      a.rows)
    w("")
    w("| model | hand BLAS | hand, GN folded | unrolled | ADOL-C (rows) | central diff. |")
    w("|---|---|---|---|---|---|")
    for name, _ in models:
        I = info[name]
        e = I.get("err", {})
        f = lambda k: "-" if k not in e else "%.1e" % e[k]
        w("| %s | %s | %s | %s | %s | %s |" %
          (name, f("hand"), f("hand_merged"), f("unrolled"),
           "-" if "adolc" not in e else "%.1e (%d)" % (e["adolc"], I["adolc_rows"]),
           f("central")))
    w("")
    det = []
    for name, _ in models:
        I = info[name]
        r = I.get("res", {})
        parts = []
        for k in ("gen", "unrolled", "hand", "hand_merged", "grad", "central"):
            if k in r:
                parts.append("%s %s ms (min %s, CPU %s; %d runs)" %
                             (k, ms(r[k]["median"]), ms(r[k].get("min")), ms(r[k].get("cpu")),
                              len(r[k]["runs"])))
        if I.get("adolc") is not None:
            ar = I["adolc_raw"]
            parts.append("ADOL-C hessian on %d rows %s ms (runs %s; CPU %s), per row %.3g ms%s; "
                         "ADOL-C gradient %s ms; tape %s" %
                         (I["adolc_rows"], ms(ar["median"]),
                          ", ".join(ms(x) for x in ar["runs"]), ms(ar.get("cpu")),
                          ar["median"] / I["adolc_rows"] * 1e3,
                          "" if I["adolc_cal"] is None else
                          " (50-row calibration: %.3g ms per row)" % (I["adolc_cal"] * 1e3),
                          ms(I.get("adolc_grad")), I.get("adolc_tape")))
        gen_line = "C %d KB (hessgen %.2f s, gcc %.1f s)" % (I["gen_bytes"] / 1e3, I["gen_s"],
                                                            I.get("cc_gen.o", 0))
        if I["unrolled"]:
            gen_line += "; unrolled C %d KB (hessgen %.2f s; U_hess alone compiled: gcc %.1f s)" % (
                I["genu_bytes"] / 1e3, I["genu_s"], I.get("cc_genu.o", 0))
        det.append("* **%s** (N = %d): %s. %s." % (name, I["N"], gen_line, "; ".join(parts)))
    w("Details (median, min and CPU-time median of each method's runs; `grad` is one "
      "generated M_grad, of which central differences make 2N):")
    w("")
    L += det
    w("")
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    w("| run | |")
    w("|---|---|")
    w("| date | %s |" % started.strftime("%Y-%m-%d %H:%M UTC"))
    src = sh("sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' %s/CMakeCache.txt" %
             os.path.dirname(os.path.abspath(a.hessgen))) or ROOT
    w("| hessgen | `%s`: %s, built from %s at git %s |" %
      (a.hessgen, sh("%s --version" % a.hessgen) or "?", src,
       sh("git -C %s rev-parse --short HEAD" % src) or "?"))
    w("| machine | %s %s, `nproc` = %s, %s |" % (platform.system(), platform.machine(),
                                                 os.cpu_count(), cpu))
    w("| compiler | %s; `%s` (`-march=native` is `%s`) |" %
      (sh(CC + " --version").splitlines()[0], " ".join(CFLAGS),
       sh(CC + " -march=native -Q --help=target | grep -m1 -E '^ +-march=' | awk '{print $2}'")))
    w("| BLAS | %s; OPENBLAS_NUM_THREADS=1 |" % next((info[n]["blas"] for n, _ in models
                                                      if info[n].get("blas")), "?"))
    if have_adolc:
        w("| ADOL-C | %s |" % (sh("dpkg-query -W -f '${Package} ${Version}' libadolc-dev") or "?"))
    w("| load average (start; end) | %s; %s |" % (load0, load1))
    w("| CPU used by other processes while timing (cores, average per model) | mlp_bench %s; "
      "ADOL-C %s |" % (", ".join("%.2f" % x for x in busy["bench"]),
                       ", ".join("%.2f" % x for x in busy["adolc"]) or "-"))
    if waits:
        w("| waiting for quiet before each model (waited, then others' cores in the last 2 s) "
          "| %s |" % "; ".join(waits))
    w("| whole run | %.0f s (building %.0f s) |" % (total_s, build_s))
    if fails:
        w("")
        w("**FAILURES:**")
        for f in fails:
            w("* " + f)
    text = "\n".join(L) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
            f.write("\n<details><summary>driver output</summary>\n\n```\n%s```\n</details>\n" %
                    "".join(logs))
    if not a.keep:
        shutil.rmtree(B, ignore_errors=True)
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
