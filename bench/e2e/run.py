#!/usr/bin/env python3
"""End to end (issue 15): code generation plus `gcc -O2 -c`, hessgen against SymPy.

    python3 bench/e2e/run.py [--hessgen PATH] [--models mlp,logreg50,prodexp20]
                             [--variants tri,hessian] [--cap 900] [--gcc-cap 900] [--runs 3]
                             [--keep DIR] [--json OUT.json] [--nice 19]

What a user waits for before the first evaluation: the code generator, then `gcc -O2 -c` on its
output. Models (the ones where the issue had SymPy figures):
  mlp        bench/mlp/run.py's mlp([2, 8, 8, 1]): tanh layers, mean squared error over data rows
             X[n][2], t[n]; 105 parameters;
  logreg50   bench/data/logreg50.hl: mean softplus over data rows X[n][50], y[n], plus an L2 term;
             51 parameters;
  prodexp20  exp(prod(i, x[i])) + sum(i, x[i])^4 over 20 parameters, written like
             bench/models/make_models.py's prodexp50.

hessgen: `hessgen model.hl -o out.c` with its default (--loops=auto; the decision is the second
line of `--dump=arrays`) and with --loops=never; wall and CPU time (median of --runs), bytes of C,
and the CPU time of `gcc -O2 -c out.c` (median of --runs below 1 MB of C, else one run).

SymPy (in a child process, so `import sympy` is not charged): the natural way to write it. A
loss over data rows is written as the loss of ONE row with the row's values as symbols (x0, x1,
t for the MLP; x0..x49, y for logreg), its Hessian taken by SymPy (variant `hessian`:
sympy.hessian; variant `tri`: the lower triangle from the gradient, grad[i].diff(v_j), j <= i),
then sympy.cse over loss, gradient and the lower triangle's nonzeros, then sympy.ccode of every
temporary and result, pasted into a C function (written here) that loops over the rows,
accumulating loss, gradient and Hessian, divides by the row count (a mean), adds the row-free
term (logreg's L2 term, differentiated by SymPy the same way) and mirrors the triangle:

    double sympy_hess(const double *theta, size_t n, const double *const *data,
                      double *grad, double *hess);   /* hess: N*N, both triangles */

The table's SymPy columns are the variant with the shortest total (SymPy + gcc CPU time).
The SymPy time runs from building the expression to having the C text (CPU and wall, measured in
the child); a child still running at --cap seconds (wall) is killed and reported as "> cap".
gcc -O2 -c on SymPy's C is one run, capped at --gcc-cap seconds.

Check: every C file is also compiled at -O0 -fPIC into a shared library and loaded with ctypes;
at one random point and on 5 random rows, SymPy's loss, gradient and Hessian, and hessgen's
--loops=never ones, are compared with hessgen's default M_hess, entrywise to 1e-9 relative (an
entry's scale: max(|value|, 1e-6 * max |H|)).

The whole process lowers its priority (--nice, default 19), so gcc and SymPy run at nice 19.
"""
import argparse, ctypes, json, os, random, resource, shutil, statistics, subprocess, sys
import tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.dont_write_bytecode = True  # no __pycache__ in bench/mlp or bench/models
sys.path.insert(0, os.path.join(ROOT, "bench", "mlp"))
sys.path.insert(0, os.path.join(ROOT, "bench", "models"))
import run as mlp_run  # noqa: E402  bench/mlp/run.py
import make_models  # noqa: E402

CC = os.environ.get("CC", "gcc")
MLP_WIDTHS = [2, 8, 8, 1]
LR_D = 50
PX_N = 20


def prodexp20_hl():
    t = make_models.PRODEXP
    new = (t.replace("x[50]", "x[%d]" % PX_N).replace("0..49", "0..%d" % (PX_N - 1))
           .replace("(bench/models/make_models.py writes this file)",
                    "(bench/e2e/run.py writes this one, as make_models.py writes prodexp50)"))
    code = "".join(l for l in new.splitlines(True) if not l.startswith("#"))
    assert "50" not in code and "49" not in code, new
    return new


def models():
    """name -> (prefix, .hl text, data arrays as (name, width) or [] for none)."""
    with open(os.path.join(ROOT, "bench", "data", "logreg50.hl")) as fh:
        lr = fh.read()
    return {
        "mlp": ("mlp", mlp_run.mlp(MLP_WIDTHS), [("X", 2), ("t", 1)]),
        "logreg50": ("logreg50", lr, [("X", LR_D), ("y", 1)]),
        "prodexp20": ("prodexp", prodexp20_hl(), []),
    }


# ----------------------------------------------------------------------------------------------
# SymPy side (runs in a child process)

def sympy_model(name):
    """(row loss, row-free loss, parameters in hessgen's theta order, row symbols as
    (symbol, array index, column), mean over rows?). No data: the row loss is None."""
    import sympy as sp
    R = sp.Rational
    if name == "mlp":
        w = MLP_WIDTHS
        W1 = [[sp.Symbol("W1_%d_%d" % (k, j)) for j in range(w[0])] for k in range(w[1])]
        b1 = [sp.Symbol("b1_%d" % k) for k in range(w[1])]
        W2 = [[sp.Symbol("W2_%d_%d" % (k, j)) for j in range(w[1])] for k in range(w[2])]
        b2 = [sp.Symbol("b2_%d" % k) for k in range(w[2])]
        w3 = [sp.Symbol("w3_%d" % k) for k in range(w[2])]
        c = sp.Symbol("c")
        x = [sp.Symbol("x%d" % j) for j in range(w[0])]
        t = sp.Symbol("t")
        h1 = [sp.tanh(sp.Add(*[W1[k][j] * x[j] for j in range(w[0])]) + b1[k]) for k in range(w[1])]
        h2 = [sp.tanh(sp.Add(*[W2[k][j] * h1[j] for j in range(w[1])]) + b2[k]) for k in range(w[2])]
        f = (sp.Add(*[w3[k] * h2[k] for k in range(w[2])]) + c - t) ** 2
        theta = ([s for r in W1 for s in r] + b1 + [s for r in W2 for s in r] + b2 + w3 + [c])
        rows = [(x[j], 0, j) for j in range(w[0])] + [(t, 1, 0)]
        return f, sp.Integer(0), theta, rows, True
    if name == "logreg50":
        wv = [sp.Symbol("w%d" % j) for j in range(LR_D)]
        b = sp.Symbol("b")
        x = [sp.Symbol("x%d" % j) for j in range(LR_D)]
        y = sp.Symbol("y")
        z = -y * (sp.Add(*[wv[j] * x[j] for j in range(LR_D)]) + b)
        f = sp.log(1 + sp.exp(z))                       # softplus
        free = R(1, 100) / 2 * sp.Add(*[v ** 2 for v in wv])
        rows = [(x[j], 0, j) for j in range(LR_D)] + [(y, 1, 0)]
        return f, free, wv + [b], rows, True
    if name == "prodexp20":
        xs = list(sp.symbols("x0:%d" % PX_N))
        return None, sp.exp(sp.Mul(*xs)) + sp.Add(*xs) ** 4, xs, [], False
    raise SystemExit("unknown model " + name)


def sympy_child(name, variant, out_path):
    import sympy as sp
    ph = {}
    print(json.dumps({"start_epoch": time.time()}), flush=True)  # after import sympy
    c0, w0 = time.process_time(), time.perf_counter()
    cl, wl = c0, w0

    def lap(phase):
        nonlocal cl, wl
        c, w = time.process_time(), time.perf_counter()
        ph[phase] = {"cpu": c - cl, "wall": w - wl}
        cl, wl = c, w
        print(json.dumps({"phase": phase, "cpu": c - c0, "wall": w - w0}), flush=True)

    f_row, f_free, xs, rows, mean = sympy_model(name)
    n = len(xs)
    lap("build")

    def derivs(f):
        """(loss, gradient, [(i, j, d2f/dxi dxj)] lower triangle's nonzeros)."""
        if f == 0:
            return f, [], []
        grad = [f.diff(v) for v in xs]
        if variant == "hessian":
            H = sp.hessian(f, xs)
            low = [(i, j, H[i, j]) for i in range(n) for j in range(i + 1)]
        elif variant == "tri":
            low = [(i, j, grad[i].diff(xs[j])) for i in range(n) for j in range(i + 1)]
        else:
            raise SystemExit("unknown variant " + variant)
        return f, grad, [(i, j, e) for (i, j, e) in low if e != 0]

    parts = [(p, derivs(f)) for p, f in (("row", f_row), ("free", f_free)) if f is not None]
    lap("diff")
    csed = []
    for p, (f, grad, low) in parts:
        if not grad:
            continue
        repl, red = sp.cse([f] + grad + [e for (_, _, e) in low],
                           symbols=sp.numbered_symbols("%s_cse" % p))
        csed.append((p, repl, red, low))
    lap("cse")
    cc = sp.ccode
    L = ["#include <math.h>", "#include <stddef.h>", "",
         "/* %s, by SymPy %s (variant %s): loss, gradient and Hessian (N*N, both triangles)"
         % (name, sp.__version__, variant),
         "   %s. */" % ("summed over rows [0, n) of data[] and divided by n, plus the terms free of rows"
                       if f_row is not None else "no data: n and data are not read"),
         "double sympy_hess(const double *theta, size_t n, const double *const *data,",
         "                  double *grad, double *hess)",
         "{",
         "    double loss = 0;",
         "    size_t i;",
         "    for (i = 0; i < %d; i++) grad[i] = 0;" % n,
         "    for (i = 0; i < %d; i++) hess[i] = 0;" % (n * n),
         "    (void)n; (void)data;"]
    L += ["    const double %s = theta[%d];" % (cc(v), k) for k, v in enumerate(xs)]

    def body(repl, red, low, ind):
        out = ["%sconst double %s = %s;" % (ind, cc(s), cc(e)) for s, e in repl]
        out.append("%sloss += %s;" % (ind, cc(red[0])))
        out += ["%sgrad[%d] += %s;" % (ind, k, cc(e)) for k, e in enumerate(red[1:1 + n])]
        out += ["%shess[%d] += %s;" % (ind, i * n + j, cc(e))
                for (i, j, _), e in zip(low, red[1 + n:])]
        return out

    for p, repl, red, low in csed:
        if p == "row":
            L += ["    for (i = 0; i < n; i++) {"]
            L += ["        const double %s = data[%d][i*%d + %d];" % (cc(s), a, _width(rows, a), col)
                  for (s, a, col) in rows]
            L += body(repl, red, low, "        ")
            L += ["    }"]
            if mean:
                L += ["    if (n > 0) {",
                      "        const double inv = 1.0 / (double)n;",
                      "        loss *= inv;",
                      "        for (i = 0; i < %d; i++) grad[i] *= inv;" % n,
                      "        for (i = 0; i < %d; i++) hess[i] *= inv;" % (n * n),
                      "    }"]
        else:
            L += ["    {"] + body(repl, red, low, "        ") + ["    }"]
    L += ["    { /* the upper triangle */",
          "        size_t r, c;",
          "        for (r = 0; r < %d; r++)" % n,
          "            for (c = r + 1; c < %d; c++)" % n,
          "                hess[r*%d + c] = hess[c*%d + r];" % (n, n),
          "    }",
          "    return loss;", "}"]
    text = "\n".join(L) + "\n"
    lap("ccode")
    with open(out_path, "w") as fh:
        fh.write(text)
    tot = {"cpu": time.process_time() - c0, "wall": time.perf_counter() - w0}
    print(json.dumps({"result": {"phases": ph, "total": tot, "bytes": len(text.encode()),
                                 "nnz": sum(len(low) for _, _, _, low in csed), "n": n}}),
          flush=True)


def _width(rows, a):
    """Values per row of data array a: the number of row symbols that read it."""
    return sum(1 for (_, aa, _) in rows if aa == a)


def run_sympy(name, variant, cap, outdir):
    out_c = os.path.join(outdir, "%s_sympy_%s.c" % (name, variant))
    cmd = [sys.executable, os.path.abspath(__file__), "--sympy-child", name, variant, out_c]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    timed_out, start_epoch, killed_epoch = False, None, None
    try:
        out, _ = proc.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        killed_epoch = time.time()
        proc.kill()  # only the child we started
        out, _ = proc.communicate()
        timed_out = True
    progress, result = {}, None
    for line in out.splitlines():
        try:
            d = json.loads(line)
        except ValueError:
            continue
        if "start_epoch" in d:
            start_epoch = d["start_epoch"]
        if "phase" in d:
            progress[d["phase"]] = {"cpu": d["cpu"], "wall": d["wall"]}
        if "result" in d:
            result = d["result"]
    if result is None and not timed_out:
        raise SystemExit("sympy child failed on %s/%s (exit %s)" % (name, variant, proc.returncode))
    r = {"variant": variant, "timed_out": timed_out, "cap": cap, "progress": progress,
         "result": result, "c": out_c if result else None}
    if timed_out:  # SymPy had worked (import excluded) at least this long, wall clock
        r["bound"] = killed_epoch - start_epoch if start_epoch else 0.0
    return r


# ----------------------------------------------------------------------------------------------
# processes: wall and CPU (children's user + system, cc1 included)

def timed(cmd, cap=None):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return None, None
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit("failed: %s\n%s" % (" ".join(cmd), p.stderr))
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def gcc_time(c_path, runs, cap):
    obj = c_path[:-2] + ".o"
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = timed([CC, "-O2", "-c", c_path, "-o", obj], cap)
        if wall is None:
            return {"timed_out": True, "cap": cap}
        walls.append(wall)
        cpus.append(cpu)
    return {"timed_out": False, "wall": statistics.median(walls), "cpu": statistics.median(cpus),
            "runs": runs}


def run_hessgen(hessgen, name, hl, mode, a, outdir):
    out_c = os.path.join(outdir, "%s_hessgen_%s.c" % (name, mode))
    out_h = out_c[:-2] + ".h"
    walls, cpus = [], []
    for _ in range(a.runs):
        wall, cpu = timed([hessgen, hl, "-o", out_c, "--header", out_h, "--loops=" + mode])
        walls.append(wall)
        cpus.append(cpu)
    decision = "--loops=" + mode
    if mode == "auto":  # `hessgen model.hl --dump=arrays | head -3`: the second line decides
        p = subprocess.run([hessgen, hl, "--dump=arrays"], capture_output=True, text=True,
                           check=True)
        decision = p.stdout.splitlines()[1]
    size = os.path.getsize(out_c)
    gcc = gcc_time(out_c, a.runs if size < 1e6 else 1, a.gcc_cap)
    return {"mode": mode, "wall": statistics.median(walls), "cpu": statistics.median(cpus),
            "runs": a.runs, "bytes": size, "decision": decision, "gcc": gcc, "c": out_c}


# ----------------------------------------------------------------------------------------------
# check: SymPy's C and hessgen --loops=never against hessgen's default M_hess

def shared(c_path):
    so = c_path[:-2] + "_check.so"
    subprocess.run([CC, "-O0", "-fPIC", "-shared", c_path, "-o", so, "-lm"], check=True,
                   capture_output=True)
    return ctypes.CDLL(so)


def dvec(vals):
    return (ctypes.c_double * len(vals))(*vals)


def hessgen_eval(c_path, prefix, n, arrays, nrows, theta):
    lib = shared(c_path)
    grad, hess = dvec([0.0] * n), dvec([0.0] * (n * n))
    fn = getattr(lib, prefix + "_hess")
    fn.restype = ctypes.c_double
    if arrays:
        buf = ctypes.create_string_buffer(1024)  # the model's data struct (a count, pointers)
        bind = getattr(lib, prefix + "_data_bind")
        counts = (ctypes.c_size_t * 1)(nrows)
        arrs = (ctypes.POINTER(ctypes.c_double) * len(arrays))(
            *[ctypes.cast(x, ctypes.POINTER(ctypes.c_double)) for x in arrays])
        if bind(buf, counts, arrs) != 0:
            raise SystemExit("%s_data_bind failed" % prefix)
        loss = fn(theta, buf, grad, hess)
    else:
        loss = fn(theta, grad, hess)
    return loss, list(grad), list(hess)


def sympy_eval(c_path, n, arrays, nrows, theta):
    lib = shared(c_path)
    grad, hess = dvec([0.0] * n), dvec([0.0] * (n * n))
    lib.sympy_hess.restype = ctypes.c_double
    arrs = (ctypes.POINTER(ctypes.c_double) * max(1, len(arrays)))(
        *[ctypes.cast(x, ctypes.POINTER(ctypes.c_double)) for x in arrays])
    loss = lib.sympy_hess(theta, ctypes.c_size_t(nrows), arrs, grad, hess)
    return loss, list(grad), list(hess)


def max_rel(a, b):
    """Largest entrywise |a - b| / max(|b|, 1e-6 * max |b|)."""
    scale = max(abs(v) for v in b) or 1.0
    return max(abs(x - y) / max(abs(y), 1e-6 * scale) for x, y in zip(a, b))


def check(name, prefix, data_spec, ref_c, others, seed):
    rng = random.Random(seed)
    n = None
    nrows = 5
    arrays = [dvec([(rng.choice([-1.0, 1.0]) if (name == "logreg50" and dn == "y")
                     else rng.gauss(0, 1)) for _ in range(nrows * w)])
              for dn, w in data_spec]
    with open(ref_c) as fh:
        for line in fh:
            if line.startswith("#define %s_NPARAM " % prefix):
                n = int(line.split()[2])
    if n is None:  # the define is in the header
        with open(ref_c[:-2] + ".h") as fh:
            for line in fh:
                if line.startswith("#define %s_NPARAM " % prefix):
                    n = int(line.split()[2])
    # prodexp: exp(prod x) must be neither 1 nor overflow, so |x| near 1
    theta = dvec([rng.uniform(0.8, 1.2) * rng.choice([-1, 1]) if name == "prodexp20"
                  else rng.gauss(0, 0.5) for _ in range(n)])
    ref = hessgen_eval(ref_c, prefix, n, arrays, nrows, theta)
    res = {}
    for label, kind, c in others:
        got = (hessgen_eval(c, prefix, n, arrays, nrows, theta) if kind == "hessgen"
               else sympy_eval(c, n, arrays, nrows, theta))
        errs = {"loss": max_rel([got[0]], [ref[0]]), "grad": max_rel(got[1], ref[1]),
                "hess": max_rel(got[2], ref[2])}
        res[label] = {"errs": errs, "ok": all(e <= 1e-9 for e in errs.values())}
        print("check %-10s %-16s loss %.1e grad %.1e hess %.1e (rel., vs hessgen default M_hess, "
              "%d rows): %s" % (name, label, errs["loss"], errs["grad"], errs["hess"], nrows,
                                "ok" if res[label]["ok"] else "FAILED"), flush=True)
    return res


# ----------------------------------------------------------------------------------------------

def fs(x):
    if x is None:
        return "-"
    return "%.3f" % x if x < 1 else ("%.2f" % x if x < 10 else "%.1f" % x)


def kb(b):
    return "%.0f KB" % (b / 1e3) if b < 1e6 else "%.2f MB" % (b / 1e6)


def loadavg():
    try:
        with open("/proc/loadavg") as fh:
            return " ".join(fh.read().split()[:3])
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessgen", default=os.environ.get("HESSGEN",
                                                        os.path.join(ROOT, "build", "hessgen")))
    ap.add_argument("--models", default="mlp,logreg50,prodexp20")
    ap.add_argument("--variants", default="tri,hessian",
                    help="SymPy variants to run; the table uses the one with the shortest total")
    ap.add_argument("--cap", type=float, default=900, help="SymPy cap, seconds (wall)")
    ap.add_argument("--gcc-cap", type=float, default=900, help="gcc cap, seconds (wall)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", help="directory to keep the generated files in")
    ap.add_argument("--json", help="write the raw figures there")
    ap.add_argument("--nice", type=int, default=19, help="os.nice increment for this run")
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--sympy-child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.sympy_child:
        sympy_child(*a.sympy_child)
        return
    if a.nice:
        os.nice(a.nice)
    hessgen = os.path.abspath(a.hessgen)
    all_models = models()
    names = [m for m in a.models.split(",") if m]
    for m in names:
        if m not in all_models:
            raise SystemExit("unknown model %s (known: %s)" % (m, ", ".join(all_models)))
    outdir = a.keep or tempfile.mkdtemp(prefix="hessgen_e2e_")
    os.makedirs(outdir, exist_ok=True)
    import sympy
    ver = subprocess.run([hessgen, "--version"], capture_output=True, text=True).stdout.strip()
    gccv = subprocess.run([CC, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print("# e2e: %s (%s), SymPy %s, %s, python %s; niceness %d; load average %s" % (
        hessgen, ver, sympy.__version__, gccv, sys.version.split()[0], os.nice(0), loadavg()),
        flush=True)
    report = {"hessgen": hessgen, "hessgen_version": ver, "sympy": sympy.__version__, "gcc": gccv,
              "load_start": loadavg(), "models": {}}
    for m in names:
        prefix, text, data_spec = all_models[m]
        hl = os.path.join(outdir, ("%s.hl" % m) if m != "logreg50" else "logreg50.hl")
        with open(hl, "w") as fh:
            fh.write(text)
        rep = report["models"][m] = {"hessgen": {}, "sympy": {}}
        for mode in ("auto", "never"):
            h = run_hessgen(hessgen, m, hl, mode, a, outdir)
            rep["hessgen"][mode] = h
            g = h["gcc"]
            print("hessgen %-10s --loops=%-5s %s s wall / %s s CPU, %s, gcc -O2 %s s CPU (%s wall)"
                  "; %s" % (m, mode, fs(h["wall"]), fs(h["cpu"]), kb(h["bytes"]),
                            fs(g.get("cpu")) if not g["timed_out"] else "> cap",
                            fs(g.get("wall")), h["decision"]), flush=True)
        for v in [x for x in a.variants.split(",") if x]:
            r = run_sympy(m, v, a.cap, outdir)
            rep["sympy"][v] = r
            if r["timed_out"]:
                print("sympy   %-10s %-7s > %.0f s (killed at the cap; finished: %s)" % (
                    m, v, r["bound"], ", ".join("%s at %s s CPU" % (k, fs(x["cpu"]))
                                              for k, x in r["progress"].items()) or "none"),
                      flush=True)
                continue
            res = r["result"]
            r["gcc"] = gcc_time(r["c"], 1, a.gcc_cap)
            g = r["gcc"]
            print("sympy   %-10s %-7s %s s CPU / %s s wall (%s), %s, gcc -O2 %s s CPU (%s wall)" % (
                m, v, fs(res["total"]["cpu"]), fs(res["total"]["wall"]),
                ", ".join("%s %s" % (k, fs(x["cpu"])) for k, x in res["phases"].items()),
                kb(res["bytes"]), fs(g.get("cpu")) if not g["timed_out"] else "> cap",
                fs(g.get("wall"))), flush=True)
        others = [("hessgen never", "hessgen", rep["hessgen"]["never"]["c"])]
        others += [("sympy " + v, "sympy", r["c"]) for v, r in rep["sympy"].items() if r["c"]]
        rep["check"] = check(m, prefix, data_spec, rep["hessgen"]["auto"]["c"], others, a.seed)
    report["load_end"] = loadavg()

    # ---- the table: CPU seconds (generation + gcc -O2 -c)
    print()
    print("| model | hessgen mode | hessgen | C | gcc -O2 | total | SymPy (variant) | C | gcc -O2 "
          "| total | SymPy/hessgen total | C size ratio | smaller C | >= 50x |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for m in names:
        rep = report["models"][m]
        done = [(v, r) for v, r in rep["sympy"].items() if not r["timed_out"]]
        # the variant with the shortest SymPy + gcc CPU time (the one most favourable to SymPy)
        best = min(done, key=lambda vr: vr[1]["result"]["total"]["cpu"] + (
            vr[1]["gcc"]["cpu"] if not vr[1]["gcc"]["timed_out"] else 1e9)) if done else None
        for mode in ("auto", "never"):
            h = rep["hessgen"][mode]
            mode_s = mode + (" (%s)" % ("loops" if h["decision"].endswith(": loops") else "unrolled")
                             if mode == "auto" else "")
            g = h["gcc"]
            ht = None if g["timed_out"] else h["cpu"] + g["cpu"]
            hcols = "%s s | %s | %s | %s" % (fs(h["cpu"]), kb(h["bytes"]),
                                             "> cap" if g["timed_out"] else fs(g["cpu"]) + " s",
                                             "-" if ht is None else fs(ht) + " s")
            if best is None:
                bound = max(r["bound"] for r in rep["sympy"].values())
                scols = "> %.0f s (cap) | - | - | > %.0f s" % (bound, bound)
                ratio = "> %.0fx" % (bound / ht) if ht else "-"
                sr, small, fifty = "-", "-", ("yes" if ht and bound / ht >= 50 else "?")
            else:
                v, r = best
                res, sg = r["result"], r["gcc"]
                st = None if sg["timed_out"] else res["total"]["cpu"] + sg["cpu"]
                scols = "%s s (%s) | %s | %s | %s" % (
                    fs(res["total"]["cpu"]), v, kb(res["bytes"]),
                    "> cap" if sg["timed_out"] else fs(sg["cpu"]) + " s",
                    ("> %s s" % fs(res["total"]["cpu"] + a.gcc_cap)) if st is None else fs(st) + " s")
                lo = st if st is not None else res["total"]["cpu"] + a.gcc_cap
                ratio = ("%s%.0fx" % ("" if st is not None else "> ", lo / ht)) if ht else "-"
                sr = "%.2f" % (res["bytes"] / h["bytes"])
                small = "yes" if h["bytes"] < res["bytes"] else "NO"
                fifty = ("yes" if lo / ht >= 50 else "NO") if ht else "-"
            print("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                m, mode_s, hcols, scols, ratio, sr, small, fifty))
    print("(CPU seconds, user + system, nice %d; hessgen median of %d runs; SymPy time excludes "
          "start-up and import; C size ratio = SymPy bytes / hessgen bytes; load average %s at "
          "the start, %s at the end)" % (os.nice(0), a.runs, report["load_start"], report["load_end"]))
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(report, fh, indent=1)
    if not a.keep:
        shutil.rmtree(outdir)


if __name__ == "__main__":
    main()
