#!/usr/bin/env python3
"""Code-generation benchmark: hessgen against SymPy (hessian + cse + ccode) on the same functions.

    python3 bench/codegen.py [--runs 5] [--plan CASE:VARIANT:CAP,...] [--keep DIR]
                             [--json OUT.json]

Cases: rosen1000, rosen10000, tanh100 (bench/models/). The plan lists the SymPy runs, each with
its cap in seconds (variant `none`: hessgen only); the default is DEFAULT_PLAN below.

For each case it measures
  * hessgen: wall-clock time of the whole `hessgen model.hl -o out.c` process (parse, differentiate,
    schedule, emit, write), median of --runs runs; size of the generated C (bytes, lines);
  * SymPy, in a child process (one run per variant; the ratios are orders of magnitude, run-to-run
    noise is a few per cent): the time from building the expression to having the C text, measured
    inside the child, so Python start-up and `import sympy` are NOT charged to SymPy. Phases:
      build  the SymPy expression of the loss, written here independently of hessgen
             (exact Rationals for every constant, like the .hl language);
      grad   [f.diff(v) for v in vars];
      hess   variant `hessian`: sympy.hessian(f, vars), SymPy's own function. It recomputes
                                f.diff(v_i) for every (i, j >= i), so it is O(n^3) on Rosenbrock
                                (1000 params: hours);
             variant `tri`:     grad[i].diff(v_j) for j <= i only: the same lower triangle from
                                the gradient already computed. The strongest plain-SymPy way we
                                know, so it is the peer the headline ratio uses;
      cse    sympy.cse([loss] + grad + the lower triangle's structural nonzeros, row-major);
      ccode  sympy.ccode of every cse temporary and every result, joined into one C text.
    A child still running at its cap is killed; the report then says "> T s", T being the time
    SymPy had worked (import excluded), and the ratio is a lower bound.
The ratio is SymPy seconds / hessgen seconds (bigger is better for hessgen).
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(HERE, "models")
sys.path.insert(0, MODELS)
sys.dont_write_bytecode = True  # no __pycache__ in bench/models
import make_models  # noqa: E402

HESSGEN = os.environ.get("HESSGEN", os.path.join(HERE, "..", "build", "hessgen"))

CASES = {
    "rosen1000": ("rosen1000.hl", "Extended Rosenbrock, 1000 params"),
    "rosen10000": ("rosen10000.hl", "Extended Rosenbrock, 10000 params"),
    "tanh100": ("tanh100.hl", "tanh net 11x7, 8 const rows, 100 params"),
}


# ----------------------------------------------------------------------------------------------
# SymPy side (runs in a child process)

def sympy_model(case):
    import sympy as sp
    R = sp.Rational
    if case.startswith("rosen"):
        n = int(case[len("rosen"):])
        x = sp.symbols("x0:%d" % n)
        f = sp.Add(*[100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(n - 1)])
        return f, list(x)
    if case == "tanh100":
        H, D, K = make_models.TANH_H, make_models.TANH_D, make_models.TANH_K
        W1 = [[sp.Symbol("W1_%d_%d" % (k, j)) for j in range(D)] for k in range(H)]
        b1 = [sp.Symbol("b1_%d" % k) for k in range(H)]
        w2 = [sp.Symbol("w2_%d" % k) for k in range(H)]
        b2 = sp.Symbol("b2")
        X = [[R(v) for v in row] for row in make_models.TANH_X]
        t = [R(v) for v in make_models.TANH_T]
        terms = []
        for i in range(K):
            out = sp.Add(*[w2[k] * sp.tanh(sp.Add(*[W1[k][j] * X[i][j] for j in range(D)]) + b1[k])
                           for k in range(H)])
            terms.append((out + b2 - t[i]) ** 2)
        f = R(1, K) * sp.Add(*terms)
        theta = [s for row in W1 for s in row] + b1 + w2 + [b2]   # hessgen's theta order
        assert len(theta) == 100
        return f, theta
    raise SystemExit("unknown case " + case)


def sympy_child(case, variant, out_path):
    import sympy as sp
    ph = {}
    print(json.dumps({"start_epoch": time.time()}), flush=True)  # after import sympy
    t0 = time.perf_counter()

    def lap(name):
        nonlocal t0
        t = time.perf_counter()
        ph[name] = t - t0
        t0 = t
        print(json.dumps({"phase": name, "s": ph[name]}), flush=True)  # progress for timeouts

    f, xs = sympy_model(case)
    n = len(xs)
    lap("build")
    grad = [f.diff(v) for v in xs]
    lap("grad")
    if variant == "hessian":
        H = sp.hessian(f, xs)
        low = [(i, j, H[i, j]) for i in range(n) for j in range(i + 1)]
    elif variant == "tri":
        low = [(i, j, grad[i].diff(xs[j])) for i in range(n) for j in range(i + 1)]
    else:
        raise SystemExit("unknown variant " + variant)
    low = [(i, j, e) for (i, j, e) in low if e != 0]
    lap("hess")
    exprs = [f] + grad + [e for (_, _, e) in low]
    repl, red = sp.cse(exprs)
    lap("cse")
    lines = ["#include <math.h>",
             "double sympy_all(const double *theta, double *grad, double *values) {"]
    lines += ["    const double %s = theta[%d];" % (sp.ccode(v), k) for k, v in enumerate(xs)]
    lines += ["    const double %s = %s;" % (s, sp.ccode(e)) for s, e in repl]
    lines += ["    grad[%d] = %s;" % (k, sp.ccode(e)) for k, e in enumerate(red[1:1 + n])]
    lines += ["    values[%d] = %s;" % (k, sp.ccode(e)) for k, e in enumerate(red[1 + n:])]
    lines += ["    return %s;" % sp.ccode(red[0]), "}"]
    text = "\n".join(lines) + "\n"
    lap("ccode")
    with open(out_path, "w") as fh:
        fh.write(text)
    res = {"phases": ph, "total": sum(ph.values()), "bytes": len(text.encode()),
           "lines": text.count("\n"), "nnz": len(low), "n": n}
    print(json.dumps({"result": res}), flush=True)


def run_sympy(case, variant, timeout, outdir):
    out_c = os.path.join(outdir, "%s_sympy_%s.c" % (case, variant))
    cmd = [sys.executable, os.path.abspath(__file__), "--sympy-child", case, variant, out_c]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    start = time.perf_counter()
    phases, result, timed_out, start_epoch, killed_epoch = {}, None, False, None, None
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        killed_epoch = time.time()
        proc.kill()  # only the child we started
        out, _ = proc.communicate()
        timed_out = True
    wall = time.perf_counter() - start
    for line in out.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if "start_epoch" in d:
            start_epoch = d["start_epoch"]
        if "phase" in d:
            phases[d["phase"]] = d["s"]
        if "result" in d:
            result = d["result"]
    if result is None and not timed_out:
        raise SystemExit("sympy child failed on %s/%s (exit %s)" % (case, variant, proc.returncode))
    # When killed, SymPy had been working (import excluded) for at least `bound` seconds.
    bound = None
    if timed_out:
        bound = killed_epoch - start_epoch if start_epoch else 0.0
    return {"variant": variant, "timed_out": timed_out, "timeout": timeout, "bound": bound,
            "wall": wall,
            "phases": phases, "result": result}


# ----------------------------------------------------------------------------------------------
# hessgen side

def run_hessgen(case, runs, outdir):
    hl = os.path.join(MODELS, CASES[case][0])
    out_c = os.path.join(outdir, case + "_hessgen.c")
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        p = subprocess.run([HESSGEN, hl, "-o", out_c], capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit("hessgen failed on %s:\n%s" % (hl, p.stderr))
    with open(out_c, "rb") as fh:
        data = fh.read()
    return {"median": statistics.median(times), "min": min(times), "max": max(times),
            "runs": runs, "bytes": len(data), "lines": data.count(b"\n")}


def check_models():
    for name, text in make_models.models().items():
        with open(os.path.join(MODELS, name)) as fh:
            if fh.read() != text:
                raise SystemExit("bench/models/%s is out of date: run bench/models/make_models.py"
                                 % name)


def fmt_s(x):
    return "%.3f" % x if x < 10 else "%.1f" % x


def fn_size(path, name):
    """Bytes and lines of one function's definition (not its prototype) in a generated file."""
    import re
    with open(path) as fh:
        data = fh.read()
    m = re.search(r"^" + re.escape(name) + r"\([^)]*\)\n\{\n.*?^\}\n", data, re.M | re.S)
    if not m:
        raise SystemExit("no definition of %s in %s" % (name, path))
    return len(m.group(0).encode()), m.group(0).count("\n")


DEFAULT_PLAN = ("rosen1000:tri:600,rosen1000:hessian:60,tanh100:tri:600,tanh100:hessian:600,"
                "rosen10000:tri:240")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5, help="hessgen runs per case (median)")
    ap.add_argument("--plan", default=DEFAULT_PLAN,
                    help="comma list of CASE:SYMPY_VARIANT:CAP_SECONDS (variant none: hessgen only)")
    ap.add_argument("--keep", help="directory to keep the generated C in")
    ap.add_argument("--json", help="write the raw figures there")
    ap.add_argument("--sympy-child", nargs=3, metavar=("CASE", "VARIANT", "OUT"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.sympy_child:
        sympy_child(*a.sympy_child)
        return
    check_models()
    plan = [tuple(x.split(":")) for x in a.plan.split(",") if x]
    cases = []
    for c, _, _ in plan:
        if c not in CASES:
            raise SystemExit("unknown case " + c)
        if c not in cases:
            cases.append(c)
    outdir = a.keep or tempfile.mkdtemp(prefix="hessgen_bench_")
    os.makedirs(outdir, exist_ok=True)
    import sympy
    print("# codegen: hessgen %s vs SymPy %s (python %s); hessgen: median of %d runs" % (
        os.path.realpath(HESSGEN), sympy.__version__, sys.version.split()[0], a.runs), flush=True)
    report = {c: {"sympy": {}} for c in cases}
    # hessgen first, all cases, while nothing else of ours runs
    for case in cases:
        hg = run_hessgen(case, a.runs, outdir)
        hg["hess_sparse_bytes"], hg["hess_sparse_lines"] = fn_size(
            os.path.join(outdir, case + "_hessgen.c"), "double %s_hess_sparse" % case)
        report[case]["hessgen"] = hg
        print("hessgen %-10s median %s s (min %s, max %s), file %d bytes / %d lines; "
              "its %s_hess_sparse alone %d bytes / %d lines" % (
                  case, fmt_s(hg["median"]), fmt_s(hg["min"]), fmt_s(hg["max"]), hg["bytes"],
                  hg["lines"], case, hg["hess_sparse_bytes"], hg["hess_sparse_lines"]),
              flush=True)
    for case, v, cap in plan:
        if v == "none":
            continue
        r = run_sympy(case, v, float(cap), outdir)
        report[case]["sympy"][v] = r
        if r["timed_out"]:
            print("sympy   %-10s %-7s > %.1f s (killed at the %g s cap; phases finished: %s)" % (
                case, v, r["bound"], r["timeout"], ", ".join("%s %s s" % (k, fmt_s(x))
                                                for k, x in r["phases"].items()) or "none"),
                  flush=True)
        else:
            res = r["result"]
            print("sympy   %-10s %-7s %s s (%s), %d bytes, %d lines" % (
                case, v, fmt_s(res["total"]),
                ", ".join("%s %s" % (k, fmt_s(x)) for k, x in res["phases"].items()),
                res["bytes"], res["lines"]), flush=True)
    print()
    print("| case | hessgen s (median of %d) | hessgen C: file / M_hess_sparse only (bytes) "
          "| SymPy variant | SymPy s | SymPy C bytes | ratio SymPy/hessgen | hessgen < 1 s |"
          % a.runs)
    print("|---|---|---|---|---|---|---|---|")
    for case in cases:
        hg = report[case]["hessgen"]
        ok_t = "yes" if hg["median"] < 1.0 else "NO"
        rows = list(report[case]["sympy"].items()) or [("-", None)]
        for v, r in rows:
            if r is None:
                ss = size = ratio = "-"
            elif r["timed_out"]:
                ss, size = "> %.1f" % r["bound"], "-"
                ratio = "> %.0fx" % (r["bound"] / hg["median"])
            else:
                res = r["result"]
                ss, size = fmt_s(res["total"]), "%d" % res["bytes"]
                ratio = "%.0fx" % (res["total"] / hg["median"])
            print("| %s | %s | %d / %d | %s | %s | %s | %s | %s |" % (
                case, fmt_s(hg["median"]), hg["bytes"], hg["hess_sparse_bytes"], v, ss, size,
                ratio, ok_t))
    print("(target: ratio >= 100x and hessgen < 1 s per case; SymPy time excludes interpreter "
          "start-up and import; '> T' = killed at a cap after T s of SymPy work, so the ratio is a lower bound)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(report, fh, indent=1)
    if not a.keep:
        import shutil
        shutil.rmtree(outdir)


if __name__ == "__main__":
    main()
