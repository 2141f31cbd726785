#!/usr/bin/env python3
"""Benchmark of hessgen's exact classifier (`--check` / `--classify`).

    bench/exact/bench.py [--hessgen PATH] [--runs N] [--readme FILE] [--json FILE]
                         [--no-singular] [--no-callgrind] [--singular-cap S]

Called by bench/exact/run.sh; see bench/exact/README.md for what each figure means. Prints
progress to stdout and writes the Markdown report (default bench/exact/README.md).

a. every `at` line of tests/exact/corpus/*.hl: `hessgen --classify FILE --at POINT --json`,
   the point taken from `hessgen --check FILE --json` ("params" and "point", exact strings);
   median of N runs (default 5) per line, wall clock of the whole process;
   the start-up floor: the same on bench/exact/floor.hl (`param x; loss x^2;` at x = 0).
b. big10_null2.hl at the origin, --order 8, 10, 12, 16.
c. callgrind instruction counts of whole `hessgen --classify` processes (3 cases + floor).
d. Singular's realclassify.lib on the polynomial points (translated by hl2singular.py,
   shifted to the origin), verdicts compared where the normal form decides them, and times.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.join(ROOT, "tests", "exact", "corpus")
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True   # no __pycache__ in bench/exact
import hl2singular  # noqa: E402

TARGET_CASE = 0.1       # seconds, every per-case time
TARGET_BIG10 = 1.0      # seconds, big10_null2 at --order 8
BIG10 = "big10_null2.hl"
BIG10_ORDERS = [8, 10, 12, 16]


def rel(path):
    return os.path.relpath(path, ROOT)


def timed(cmd, timeout=None):
    """(seconds, CompletedProcess) of one run, wall clock around the whole process."""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=timeout)
    return time.perf_counter() - t0, p


def fmt_s(s):
    if s is None:
        return "-"
    if s < 0.01:
        return "%.2f ms" % (s * 1e3)
    if s < 1:
        return "%.1f ms" % (s * 1e3)
    return "%.2f s" % s


def at_arg(params, point):
    return ",".join("%s=%s" % (n, v) for n, v in zip(params, point))


# ------------------------------------------------------------------ the corpus

def collect_cases(hessgen):
    """Every `at` line: file, line, expected, hessgen --check's verdict, params, point."""
    cases = []
    for name in sorted(os.listdir(CORPUS)):
        if not name.endswith(".hl"):
            continue
        path = os.path.join(CORPUS, name)
        p = subprocess.run([hessgen, "--check", path, "--json"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=300)
        if p.returncode not in (0, 1):
            raise SystemExit("bench.py: %s --check %s: exit %d\n%s"
                             % (hessgen, name, p.returncode, p.stderr))
        d = json.loads(p.stdout)
        for r in d["results"]:
            cases.append({
                "file": name, "path": path, "line": r["line"], "expected": r["expected"],
                "check_verdict": r["verdict"], "check_ok": r["ok"],
                "params": r["params"], "point": r["point"],
                "at": at_arg(r["params"], r["point"]),
            })
    return cases


def time_cases(hessgen, cases, runs):
    """Per case: median of `runs` runs of --classify; the runs go round-robin over the cases."""
    for c in cases:
        c["times"] = []
    for k in range(runs):
        for c in cases:
            dt, p = timed([hessgen, "--classify", c["path"], "--at", c["at"], "--json"],
                          timeout=120)
            c["times"].append(dt)
            if k == 0:
                if p.returncode != 0 or not p.stdout.strip():
                    c["classify_verdict"] = "error (exit %d): %s" % (p.returncode,
                                                                     p.stderr.strip()[:200])
                else:
                    d = json.loads(p.stdout)
                    c["classify_verdict"] = d["verdict"]
                    c["degenerate"] = d.get("degenerate")
    for c in cases:
        c["median"] = statistics.median(c["times"])


def label_ok(expected, verdict):
    """Is `verdict` what an `expect` label asks for (as LANGUAGE.md defines the labels)?"""
    if expected == verdict:
        return True
    if expected == "min" and verdict == "strict_min":
        return True
    if expected == "max" and verdict == "strict_max":
        return True
    return False


# ------------------------------------------------------------------ callgrind

def callgrind(cmd, workdir, hessgen):
    """Total instructions of the whole process (callgrind's `totals:`), taken twice; and, from
    the first run, the inclusive counts of the dynamic loader and of hessgen's costliest
    functions (callgrind_annotate --inclusive=yes), for orientation."""
    counts = []
    profile = []
    for k in range(2):
        out = os.path.join(workdir, "cg.%d.out" % k)
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out] + cmd,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True, timeout=600)
        with open(out) as f:
            m = re.search(r"^totals:\s+(\d+)", f.read(), re.M)
        counts.append(int(m.group(1)))
        if k == 0 and shutil.which("callgrind_annotate"):
            profile = annotate(out, hessgen)
        os.unlink(out)
    return counts, profile


def annotate(out, hessgen):
    p = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", out],
                       capture_output=True, text=True)
    rows = []
    seen = set()
    skip = {"main", "compile", "compile_thread"}
    for ln in p.stdout.splitlines():
        m = re.match(r"\s*([\d,]+) \([\s\d.]+%\)\s+(\S+?):([^\s\[]+)(?: \[(.*)\])?$", ln)
        if not m:
            continue
        ir, fn, obj = int(m.group(1).replace(",", "")), m.group(3), m.group(4) or ""
        if fn == "_dl_start" and "loader" not in seen:
            rows.append(("dynamic loader", ir))
            seen.add("loader")
        elif obj == hessgen and fn not in skip and fn not in seen and len(rows) < 5:
            rows.append((fn, ir))
            seen.add(fn)
    return rows


# ------------------------------------------------------------------ Singular

def singular_names(n):
    # classify2.lib (realclassify's corank-2 code) refers to the ring variables x and y by
    # name, so the first two variables must be called x and y.
    return (["x", "y", "z"] + ["u(%d)" % i for i in range(1, n - 2)])[:n]


def singular_ring(n):
    return ",".join(["x", "y", "z"][:n] + (["u(1..%d)" % (n - 3)] if n > 3 else []))


def singular_poly(text, n):
    names = singular_names(n)
    for i in range(n, 0, -1):
        text = text.replace("x(%d)" % i, "@%d@" % i)
    for i in range(n, 0, -1):
        text = text.replace("@%d@" % i, names[i - 1])
    return text


def singular_script(n, poly, milnor=False):
    s = 'LIB "realclassify.lib";\nring r = 0,(%s),ds;\npoly f = %s;\n' % (singular_ring(n), poly)
    if milnor:
        s += 'print("MILNOR " + string(milnornumber(f)));\n'
    s += "list L = realclassify(f);\nL;\nquit;\n"
    return s


def parse_realclassify(out):
    """The normal forms printed by `L;` after realclassify: a list of dicts."""
    forms = []
    for block in re.split(r"^\[\d+\]:\s*$", out, flags=re.M)[1:]:
        f = {}
        for key, pat in (("corank", r"Corank = (\d+)"), ("inertia", r"Inertia index = (\d+)"),
                         ("type", r"Normalform equation of type = (\S+)"),
                         ("nf", r"Normalform equation = (.+)"),
                         ("milnor", r"Milnor number = (\d+)"),
                         ("modality", r"Modality = (\d+)"),
                         ("minpoly", r"Minimal polynomial = (.+)"),
                         ("interval", r"Interval = \[(\S+), (\S+)\]")):
            m = re.search(pat, block)
            if m:
                f[key] = m.groups() if key == "interval" else m.group(1).strip()
        if "corank" in f and "type" in f:
            f["corank"] = int(f["corank"])
            f["inertia"] = int(f["inertia"])
            if "interval" in f:
                f["interval"] = tuple(Fraction(v) for v in f["interval"])
            forms.append(f)
    return forms


NF_TERM = re.compile(r"([+-]?)(\d*)(?:\((a)\)\*?)?((?:[xy]\d*)*)")


def nf_terms(nf):
    """Singular's short notation in x, y ('x2y-y5', '-x4+(a)*x2y2-y4') -> [(coef, i, j)];
    coef is an int, or ('a', sign) for the modulus."""
    terms = []
    pos = 0
    nf = nf.replace(" ", "")
    while pos < len(nf):
        m = NF_TERM.match(nf, pos)
        if not m or m.end() == pos:
            return None
        sign, num, par, mono = m.groups()
        pos = m.end()
        s = -1 if sign == "-" else 1
        i = j = 0
        for v, e in re.findall(r"([xy])(\d*)", mono):
            if v == "x":
                i += int(e or 1)
            else:
                j += int(e or 1)
        coef = ("a", s) if par else s * int(num or 1)
        terms.append((coef, i, j))
    return terms


def residual_verdict(f):
    """What the normal form's residual part (the corank variables) is at 0:
    'zero' (corank 0), 'min', 'max' (strict), 'saddle', or None (not decided by this mapping).
    Returns (verdict, rule)."""
    t = f["type"]
    if f["corank"] == 0:
        return "zero", "A[1]: Morse"
    m = re.fullmatch(r"A\[(\d+)\]([+-]?)", t)
    if m:
        k = int(m.group(1))
        if k % 2 == 0:
            return "saddle", "A[k], k even: x^(k+1) odd"
        return ("min" if m.group(2) == "+" else "max"), "A[k]%s, k odd: %sx^(k+1)" % (
            m.group(2), m.group(2))
    terms = nf_terms(f.get("nf", ""))
    if terms is None:
        return None, "normal form not parsed"
    m = re.fullmatch(r"X\[9\]([+-])([+-])", t)
    if m:
        # s1*x^4 + a*x^2*y^2 + s2*y^4, a in the printed interval
        s1 = 1 if m.group(1) == "+" else -1
        s2 = 1 if m.group(2) == "+" else -1
        if s1 != s2:
            return "saddle", "X[9]+- / -+: opposite signs on the axes"
        if "interval" not in f:
            return None, "X[9] without an interval for a"
        lo, hi = f["interval"]
        # s*(x^4 + s*a*x^2*y^2 + y^4) is definite iff s*a > -2, indefinite iff s*a < -2
        sa_lo, sa_hi = sorted((s1 * lo, s1 * hi))
        if sa_lo > -2:
            return ("min" if s1 > 0 else "max"), "X[9]%s%s with %sa > -2: definite quartic" % (
                m.group(1), m.group(2), "" if s1 > 0 else "-")
        if sa_hi < -2:
            return "saddle", "X[9] with |a| beyond -2: indefinite quartic"
        return None, "X[9]: interval for a straddles -2"
    # generic rules on the normal form polynomial (parameter-free terms only decide)
    # 1. the lowest homogeneous part has odd degree: it takes both signs along a line
    dmin = min(i + j for _, i, j in terms)
    low = [c for c, i, j in terms if i + j == dmin]
    if dmin % 2 == 1 and all(isinstance(c, int) for c in low):
        return "saddle", "lowest form of odd degree %d (%s)" % (dmin, t)
    # 2. every term an even monomial (x^2i*y^2j) with the same known sign, and a pure power of
    #    each variable: definite, so a strict extremum
    signs = set()
    for c, i, j in terms:
        if i % 2 or j % 2 or not isinstance(c, int):
            signs = None
            break
        signs.add(1 if c > 0 else -1)
    pure_x = any(j == 0 for _, i, j in terms)
    pure_y = any(i == 0 for _, i, j in terms)
    if signs is not None and len(signs) == 1 and pure_x and pure_y:
        return ("min" if signs == {1} else "max"), "even monomials of one sign (%s)" % t
    # 3. restricted to the lines (1,0), (0,1), (1,1), (1,-1): the lowest power decides the sign
    ups = downs = False
    for (vx, vy) in ((1, 0), (0, 1), (1, 1), (1, -1)):
        by_deg = {}
        known = True
        for c, i, j in terms:
            if (vx == 0 and i) or (vy == 0 and j):
                continue
            if not isinstance(c, int):
                known = False
                break
            by_deg[i + j] = by_deg.get(i + j, 0) + c * vx ** i * vy ** j
        if not known:
            continue
        nz = sorted(d for d, v in by_deg.items() if v != 0)
        if not nz:
            continue
        d, v = nz[0], by_deg[nz[0]]
        if d % 2:
            ups = downs = True
        elif v > 0:
            ups = True
        else:
            downs = True
    if ups and downs:
        return "saddle", "takes both signs along lines (%s)" % t
    return None, "type %s not in the mapping" % t


def singular_verdict(forms, n):
    """hessgen-style verdict (strict_min, strict_max, saddle) from realclassify's normal forms,
    or (None, why). All normal forms printed must lead to the same verdict."""
    verdicts = set()
    rules = []
    for f in forms:
        c, lam = f["corank"], f["inertia"]
        pos = n - c - lam               # positive squares of the Morse part
        res, rule = residual_verdict(f)
        rules.append("%s: %s" % (f["type"], rule))
        if lam > 0 and pos > 0:
            verdicts.add("saddle")      # indefinite Hessian
            continue
        if res is None:
            verdicts.add(None)
        elif res == "saddle":
            verdicts.add("saddle")
        elif res == "zero":
            verdicts.add("strict_min" if lam == 0 else "strict_max")
        elif res == "min":
            verdicts.add("strict_min" if lam == 0 else "saddle")
        elif res == "max":
            verdicts.add("strict_max" if pos == 0 else "saddle")
    rule = "; ".join(sorted(set(rules)))
    if len(verdicts) != 1 or None in verdicts:
        return None, rule
    return verdicts.pop(), rule


def run_singular(cases, runs, cap, singular):
    """Points of polynomial losses (one per distinct file and point, critical per the corpus)."""
    points = {}
    for c in cases:
        if c["expected"] == "not_critical" or c["check_verdict"] == "not_critical":
            continue
        key = (c["file"], tuple(c["point"]))
        if key in points:
            points[key]["lines"].append(c["line"])
            continue
        src = open(c["path"]).read()
        try:
            names, poly = hl2singular.translate(src, c["point"])
        except hl2singular.NotPolynomial as e:
            continue
        n = len(names)
        points[key] = {"case": c, "lines": [c["line"]], "n": n,
                       "poly": singular_poly(poly, n)}
    work = tempfile.mkdtemp(prefix="hessgen_exact_sing.")
    try:
        # probe: Milnor number and realclassify's answer, capped
        for k, pt in enumerate(points.values()):
            fn = os.path.join(work, "p%d.sing" % k)
            with open(fn, "w") as f:
                f.write(singular_script(pt["n"], pt["poly"], milnor=True))
            pt["script"] = os.path.join(work, "t%d.sing" % k)
            with open(pt["script"], "w") as f:
                f.write(singular_script(pt["n"], pt["poly"]))
            try:
                dt, p = timed([singular, "-q", "-t", fn], timeout=cap)
                out = p.stdout + p.stderr
            except subprocess.TimeoutExpired as e:
                pt["status"] = "timeout"
                pt["detail"] = "no answer within %g s" % cap
                partial = e.output.decode() if isinstance(e.output, bytes) else (e.output or "")
                m = re.search(r"^MILNOR (-?\d+)", partial, re.M)
                pt["milnor"] = int(m.group(1)) if m else None
                continue
            m = re.search(r"^MILNOR (-?\d+)", out, re.M)
            pt["milnor"] = int(m.group(1)) if m else None
            forms = parse_realclassify(out)
            err = [ln.strip() for ln in out.splitlines()
                   if ln.strip().startswith("?") and "leaving" not in ln and "skipping" not in ln]
            if forms:
                pt["status"] = "answered"
                pt["forms"] = forms
                pt["verdict"], pt["rule"] = singular_verdict(forms, pt["n"])
                pt["types"] = sorted(set(f["type"] for f in forms))
            elif pt["milnor"] == -1:
                pt["status"] = "not isolated"
                pt["detail"] = "Milnor number infinite"
            else:
                pt["status"] = "failed"
                pt["detail"] = " ".join(err)[:160] or "no normal form printed"
        # timed runs of the plain script, round-robin, for the points it answered
        answered = [pt for pt in points.values() if pt["status"] == "answered"]
        for pt in answered:
            pt["times"] = []
        for _ in range(runs):
            for pt in answered:
                try:
                    dt, p = timed([singular, "-q", "-t", pt["script"]], timeout=cap)
                except subprocess.TimeoutExpired:
                    dt = cap      # counted as the cap: the median is then a lower bound
                    pt["capped"] = True
                pt["times"].append(dt)
        for pt in answered:
            pt["median"] = statistics.median(pt["times"])
        # start-up floors
        floors = {}
        for label, text in (("bare", "quit;\n"),
                            ("LIB", 'LIB "realclassify.lib";\nquit;\n'),
                            ("x^2", singular_script(1, "x^2"))):
            fn = os.path.join(work, "floor.sing")
            with open(fn, "w") as f:
                f.write(text)
            ts = [timed([singular, "-q", "-t", fn], timeout=cap)[0] for _ in range(max(runs, 11))]
            floors[label] = statistics.median(ts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return list(points.values()), floors


# ------------------------------------------------------------------ report

def machine():
    cpu = "?"
    try:
        for ln in open("/proc/cpuinfo"):
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "system": "%s %s" % (platform.system(),
                                                                       platform.machine())}


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "diff", "--quiet", "--", "src"]).returncode
        return rev + (" + local changes in src/" if dirty else "")
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessgen", default=os.path.join(ROOT, "build", "hessgen"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--readme", default=os.path.join(HERE, "README.md"))
    ap.add_argument("--json", help="also write the raw figures here")
    ap.add_argument("--no-singular", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--singular-cap", type=float, default=20.0,
                    help="seconds one Singular run may take (default 20)")
    ap.add_argument("--singular-skip-reason", default="",
                    help="(from run.sh) why Singular is not measured")
    a = ap.parse_args()
    hessgen = os.path.abspath(a.hessgen)
    if not os.access(hessgen, os.X_OK):
        raise SystemExit("bench.py: no hessgen at %s" % hessgen)
    t_start = time.time()
    load0 = open("/proc/loadavg").read().split()[:3]
    binary_mtime = os.stat(hessgen).st_mtime
    res = {"machine": machine(), "date": datetime.datetime.now(datetime.timezone.utc)
           .strftime("%Y-%m-%d %H:%M UTC"), "git": git_rev(), "runs": a.runs,
           "hessgen": hessgen}
    ver = subprocess.run([hessgen, "--version"], capture_output=True, text=True)
    res["version"] = (ver.stdout or ver.stderr).strip().splitlines()[0] if ver.returncode == 0 \
        else "?"
    print("# exact classifier benchmark, %s; %s; git %s" % (res["date"], res["version"],
                                                            res["git"]))
    print("# machine: %s, %d cores, %s; load %s" % (res["machine"]["system"],
                                                   res["machine"]["nproc"],
                                                   res["machine"]["cpu"], " ".join(load0)))

    # a. per case
    cases = collect_cases(hessgen)
    print("a. %d `at` lines in %d files; timing %d runs each ..." % (
        len(cases), len(set(c["file"] for c in cases)), a.runs), flush=True)
    floor_cmd = [hessgen, "--classify", os.path.join(HERE, "floor.hl"), "--at", "x=0", "--json"]
    floor_times = [timed(floor_cmd)[0] for _ in range(max(a.runs, 21))]
    res["floor"] = statistics.median(floor_times)
    time_cases(hessgen, cases, a.runs)
    floor_times += [timed(floor_cmd)[0] for _ in range(max(a.runs, 21))]
    res["floor"] = statistics.median(floor_times)
    meds = [c["median"] for c in cases]
    worst = max(cases, key=lambda c: c["median"])
    over = [c for c in cases if c["median"] > TARGET_CASE]
    res["cases"] = [{k: v for k, v in c.items() if k != "path"} for c in cases]
    mismatch = [c for c in cases if c.get("classify_verdict") != c["check_verdict"]]
    not_ok = [c for c in cases if not label_ok(c["expected"], c.get("classify_verdict"))
              and not (c["expected"] == "degenerate" and c.get("degenerate"))]
    print("   floor %s; median of medians %s; max %s (%s:%d); %d over %g s" % (
        fmt_s(res["floor"]), fmt_s(statistics.median(meds)), fmt_s(worst["median"]),
        worst["file"], worst["line"], len(over), TARGET_CASE), flush=True)

    # b. big10
    big = next(c for c in cases if c["file"] == BIG10 and c["expected"] == "strict_min")
    res["big10"] = {}
    big_times = {k: [] for k in BIG10_ORDERS}
    big_verdicts = {}
    for _ in range(a.runs):
        for k in BIG10_ORDERS:
            dt, p = timed([hessgen, "--classify", os.path.join(CORPUS, BIG10), "--at", big["at"],
                           "--order", str(k), "--json"], timeout=600)
            big_times[k].append(dt)
            if k not in big_verdicts:
                big_verdicts[k] = json.loads(p.stdout)["verdict"] if p.returncode == 0 \
                    else "error %d" % p.returncode
    for k in BIG10_ORDERS:
        res["big10"][k] = {"median": statistics.median(big_times[k]), "times": big_times[k],
                           "verdict": big_verdicts[k]}
        print("b. big10_null2 --order %d: %s (%s)" % (k, fmt_s(res["big10"][k]["median"]),
                                                      big_verdicts[k]), flush=True)

    # c. callgrind
    res["callgrind"] = []
    if a.no_callgrind or not shutil.which("valgrind"):
        print("c. callgrind skipped (%s)" % ("--no-callgrind" if a.no_callgrind
                                             else "valgrind not on PATH"))
    else:
        nondeg = next(c for c in cases if c["file"] == "rational_3d.hl")
        onedeg = next(c for c in cases if c["file"] == "deg_x2_y4.hl"
                      and c["expected"] == "strict_min")
        quart = next(c for c in cases if c["file"] == "deg_x4_y4.hl")
        specs = [
            ("start-up floor: floor.hl, x^2 at 0", floor_cmd),
            ("non-degenerate: rational_3d.hl at (%s)" % ", ".join(nondeg["point"]),
             [hessgen, "--classify", nondeg["path"], "--at", nondeg["at"], "--json"]),
            ("1-D degenerate: deg_x2_y4.hl (x^2 + y^4) at 0",
             [hessgen, "--classify", onedeg["path"], "--at", onedeg["at"], "--json"]),
            ("2-D null space, definite quartic: deg_x4_y4.hl (x^4 + y^4) at 0",
             [hessgen, "--classify", quart["path"], "--at", quart["at"], "--json"]),
            ("big10_null2.hl at 0, --order 8",
             [hessgen, "--classify", os.path.join(CORPUS, BIG10), "--at", big["at"],
              "--order", "8", "--json"]),
        ]
        work = tempfile.mkdtemp(prefix="hessgen_exact_cg.")
        try:
            for label, cmd in specs:
                counts, profile = callgrind(cmd, work, hessgen)
                res["callgrind"].append({"case": label, "counts": counts, "profile": profile})
                print("c. %s: %s Ir%s" % (label, "{:,}".format(counts[0]),
                                          "" if counts[0] == counts[1]
                                          else " (second run %s)" % "{:,}".format(counts[1])),
                      flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        res["valgrind"] = subprocess.run(["valgrind", "--version"], capture_output=True,
                                         text=True).stdout.strip()

    # d. Singular
    singular = shutil.which("Singular")
    res["singular"] = None
    if a.no_singular or not singular:
        why = a.singular_skip_reason or ("--no-singular" if a.no_singular
                                         else "Singular not on PATH")
        print("d. Singular skipped: %s" % why)
        res["singular_skipped"] = why
    else:
        sv = subprocess.run([singular, "-v"], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL).stdout.splitlines()
        res["singular_version"] = sv[0].strip() if sv else "?"
        print("d. Singular realclassify (%s) ..." % res["singular_version"], flush=True)
        points, floors = run_singular(cases, a.runs, a.singular_cap, singular)
        res["singular"] = {"floors": floors, "points": []}
        res["singular_cap"] = a.singular_cap
        for pt in points:
            c = pt["case"]
            row = {"file": c["file"], "lines": pt["lines"], "point": c["point"], "n": pt["n"],
                   "hessgen": c.get("classify_verdict"), "hessgen_median": c["median"],
                   "status": pt["status"], "milnor": pt.get("milnor"),
                   "types": pt.get("types"), "singular": pt.get("verdict"),
                   "rule": pt.get("rule"), "detail": pt.get("detail"),
                   "singular_median": pt.get("median"), "singular_times": pt.get("times"),
                   "capped": pt.get("capped", False)}
            res["singular"]["points"].append(row)
        ans = [r for r in res["singular"]["points"] if r["status"] == "answered"]
        cmp_ = [r for r in ans if r["singular"]]
        agree = [r for r in cmp_ if r["singular"] == r["hessgen"]]
        print("   %d polynomial critical points; %d answered, %d compared, %d agree" % (
            len(points), len(ans), len(cmp_), len(agree)))
        for r in cmp_:
            if r["singular"] != r["hessgen"]:
                print("   DISAGREE %s line %s: hessgen %s, Singular %s (%s)" % (
                    r["file"], r["lines"], r["hessgen"], r["singular"], r["rule"]))

    res["seconds"] = time.time() - t_start
    res["load"] = [load0, open("/proc/loadavg").read().split()[:3]]
    res["binary_changed"] = os.stat(hessgen).st_mtime != binary_mtime
    if res["binary_changed"]:
        print("WARNING: %s changed during the run; rerun" % hessgen)
    res["mismatch"] = [(c["file"], c["line"], c["check_verdict"], c.get("classify_verdict"))
                       for c in mismatch]
    res["not_ok"] = [(c["file"], c["line"], c["expected"], c.get("classify_verdict"))
                     for c in not_ok]
    write_readme(a.readme, res, cases, over, worst)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    print("total %.0f s; wrote %s" % (res["seconds"], rel(a.readme)))


def write_readme(path, res, cases, over, worst):
    m = res["machine"]
    L = []
    w = L.append
    w("# Benchmark of the exact classifier (`hessgen --check` / `--classify`)")
    w("")
    w("Generated by `bench/exact/run.sh [HESSGEN]` (about %d s this time; it calls "
      "`bench/exact/bench.py`); every figure below is from the run of %s. Not part of the test "
      "run." % (round(res["seconds"]), res["date"]))
    w("")
    w("```")
    w("bench/exact/run.sh [HESSGEN] [-- --runs N --no-singular --no-callgrind --json OUT]")
    w("```")
    w("")
    w("| file | what |")
    w("|---|---|")
    w("| `run.sh` | installs Debian's `singular` if missing (as root), then runs `bench.py` |")
    w("| `bench.py` | the measurements; writes this file |")
    w("| `hl2singular.py` | translates a polynomial `.hl` loss, shifted to a point, to "
      "Singular (section 4) |")
    w("| `floor.hl` | the start-up floor's loss, `x^2` |")
    w("")
    w("| run | |")
    w("|---|---|")
    w("| date | %s |" % res["date"])
    w("| hessgen | %s, git %s |" % (res["version"], res["git"]))
    w("| machine | %s, `nproc` = %s, %s |" % (m["system"], m["nproc"], m["cpu"]))
    w("| load average (start, end) | %s; %s |" % (" ".join(res["load"][0]),
                                                 " ".join(res["load"][1])))
    if res.get("valgrind"):
        w("| valgrind | %s |" % res["valgrind"])
    if res.get("singular_version"):
        w("| Singular | %s, `realclassify.lib` from Debian's `singular` |"
          % res["singular_version"])
    if res.get("binary_changed"):
        w("| **warning** | the hessgen binary changed during the run: figures may mix two "
          "builds |")
    w("")
    w("## Method")
    w("")
    w("* **Wall time** is measured around the whole process (`subprocess.run` from Python, "
      "`time.perf_counter`): start-up, parsing the `.hl` file, the exact work, printing the "
      "JSON. Each figure is the **median of %d runs**; the runs go round-robin over the cases "
      "so that a burst of load hits one run of many cases rather than every run of one. The "
      "machine is shared (other builds may run at the same time): the load average above "
      "says how quiet it was. Wall times are ms-scale and noisy; the instruction counts are "
      "the stable figures." % res["runs"])
    w("* **Per case**: every `at` line of `tests/exact/corpus/*.hl`. `hessgen --check FILE "
      "--json` gives each line's parameter names and exact point (`\"params\"`, `\"point\"`); "
      "the timed command is `hessgen --classify FILE --at NAME=VALUE,... --json` "
      "(arrays as `w[0]=...`), one point per process. The **start-up floor** is the same "
      "command on `bench/exact/floor.hl` (`param x; loss x^2;` at x = 0): what any case "
      "costs at least.")
    w("* **big10_null2**: the 10-parameter loss with a 2-dimensional null space, at the "
      "origin, `--order 8` (the target) and 10, 12, 16.")
    w("* **Instructions**: `valgrind --tool=callgrind` on the whole `hessgen --classify` "
      "process (dynamic loading and start-up included, nothing subtracted; the floor row "
      "says what that is). Each count is taken twice; both are shown if they differ.")
    w("* **Peer**: Singular's `realclassify.lib` (details in section 4).")
    w("")

    # 1. per case
    meds = [c["median"] for c in cases]
    w("## 1. Per-case time, %d `at` lines (target: every case under %g s)" % (
        len(cases), TARGET_CASE))
    w("")
    w("| figure | value |")
    w("|---|---|")
    w("| start-up floor (`floor.hl`, median of %d) | %s |" % (max(res["runs"], 21) * 2,
                                                           fmt_s(res["floor"])))
    w("| median over cases of the per-case median | %s |" % fmt_s(statistics.median(meds)))
    w("| 90th percentile over cases | %s |" % fmt_s(sorted(meds)[int(0.9 * (len(meds) - 1))]))
    w("| **maximum over cases** | **%s** (`%s` line %d, %s) |" % (
        fmt_s(worst["median"]), worst["file"], worst["line"], worst.get("classify_verdict")))
    w("| **cases over %g s** | **%d of %d** |" % (TARGET_CASE, len(over), len(cases)))
    w("| cases under 2 x the floor | %d of %d |" % (
        sum(1 for x in meds if x < 2 * res["floor"]), len(cases)))
    w("")
    slow = sorted(cases, key=lambda c: -c["median"])[:8]
    w("The slowest cases (median; all %d runs):" % res["runs"])
    w("")
    w("| file | line | verdict | median | runs |")
    w("|---|---|---|---|---|")
    for c in slow:
        w("| `%s` | %d | %s | %s | %s |" % (c["file"], c["line"], c.get("classify_verdict"),
                                           fmt_s(c["median"]),
                                           ", ".join("%.1f" % (t * 1e3) for t in c["times"])
                                           + " ms"))
    w("")
    ok = sum(1 for c in cases if label_ok(c["expected"], c.get("classify_verdict"))
             or (c["expected"] == "degenerate" and c.get("degenerate")))
    w("Side results of the same runs (not timing): the `--classify` verdict equals the "
      "`--check` verdict on %d of %d lines; %d of %d lines get the label they `expect`."
      % (len(cases) - len(res["mismatch"]), len(cases), ok, len(cases)))
    if res["not_ok"]:
        w("Not as expected: " + "; ".join("`%s` line %d expects %s, got %s" % r
                                          for r in res["not_ok"]) + ".")
    if res["mismatch"]:
        w("`--check` and `--classify` differ: " + "; ".join(
            "`%s` line %d: %s vs %s" % r for r in res["mismatch"]) + ".")
    w("")
    w("<details><summary>All %d cases (median of %d runs)</summary>" % (len(cases),
                                                                       res["runs"]))
    w("")
    w("| file | line | expect | verdict | median |")
    w("|---|---|---|---|---|")
    for c in cases:
        w("| `%s` | %d | %s | %s | %s |" % (c["file"], c["line"], c["expected"],
                                           c.get("classify_verdict"), fmt_s(c["median"])))
    w("")
    w("</details>")
    w("")

    # 2. big10
    w("## 2. big10_null2 at the origin (target: under %g s at `--order 8`)" % TARGET_BIG10)
    w("")
    w("| `--order` | median | runs | verdict |")
    w("|---|---|---|---|")
    for k, v in res["big10"].items():
        w("| %s%d%s | %s | %s | %s |" % ("**" if k == 8 else "", k, "**" if k == 8 else "",
                                         fmt_s(v["median"]),
                                         ", ".join("%.1f" % (t * 1e3) for t in v["times"])
                                         + " ms", v["verdict"]))
    w("")
    w("The start-up floor (%s) is included in each figure." % fmt_s(res["floor"]))
    w("")

    # 3. callgrind
    w("## 3. Instructions (callgrind, whole process)")
    w("")
    if res["callgrind"]:
        base = res["callgrind"][0]["counts"][0]
        w("| case | instructions | minus the floor |")
        w("|---|---|---|")
        for r in res["callgrind"]:
            c0, c1 = r["counts"]
            shown = "{:,}".format(c0) + ("" if c0 == c1 else " / {:,}".format(c1))
            w("| %s | %s | %s |" % (r["case"], shown,
                                    "-" if r is res["callgrind"][0]
                                    else "{:,}".format(c0 - base)))
        w("")
        w("`minus the floor` is a difference of two whole-process counts, for orientation. "
          "Where the instructions go, inclusive counts from `callgrind_annotate "
          "--inclusive=yes` of the same runs (the dynamic loader's `_dl_start`, then "
          "hessgen's own costliest functions below `main`; nested, so they do not add up):")
        w("")
        for r in res["callgrind"]:
            if r.get("profile"):
                w("* %s: %s" % (r["case"], "; ".join("`%s` %s" % (fn, "{:,}".format(ir))
                                                     for fn, ir in r["profile"])))
    else:
        w("Not measured in this run (valgrind missing or `--no-callgrind`).")
    w("")

    # 4. Singular
    w("## 4. Peer: Singular's `realclassify.lib`")
    w("")
    if res["singular"] is None:
        w("Not measured in this run: %s. `bench/exact/run.sh` installs Debian's `singular` "
          "with apt-get when it runs as root." % res.get("singular_skipped", "skipped"))
        w("")
    else:
        write_singular(w, res)
    w("## What was not measured")
    w("")
    w("* Wall times include process start-up on both sides; nothing is subtracted. Neither "
      "tool was measured in-process, and no figure here is CPU time.")
    w("* One machine, shared with other work; no pinning, no frequency control. Single runs "
      "vary by several ms; the medians of %d runs are not tight to better than that."
      % res["runs"])
    w("* callgrind counts cover %d commands only; they count instructions, not cache misses "
      "or time." % len(res["callgrind"]))
    w("* The Singular comparison covers polynomial losses only, and among their critical "
      "points only those with a finite Milnor number; transcendental losses and "
      "non-isolated points have no peer here.")
    w("")
    with open(path, "w") as f:
        f.write("\n".join(L))


def write_singular(w, res):
    S = res["singular"]
    pts = S["points"]
    fl = S["floors"]
    ans = [r for r in pts if r["status"] == "answered"]
    cmp_ = [r for r in ans if r["singular"]]
    agree = [r for r in cmp_ if r["singular"] == r["hessgen"]]
    w("What is compared. For every corpus file whose loss is a polynomial (`hl2singular.py`, "
      "a small translator of its own: `+ - * /`-by-a-constant, `^` integer, rational "
      "literals, scalar `const`/`let`; anything else leaves the file out) and every distinct "
      "point of it that the corpus labels critical, the loss is shifted to the origin and "
      "L(p) subtracted (realclassify needs f in the square of the maximal ideal); then "
      "`ring r = 0,(x,y,...),ds; LIB \"realclassify.lib\"; list L = realclassify(f); L;` in a "
      "fresh `Singular -q -t` process. (The first two variables must be called `x` and `y`: "
      "`classify2.lib`, which realclassify calls for corank 2, uses those names.) A first, "
      "untimed run also prints `milnornumber(f)`: infinite means the point is not isolated "
      "(as a complex critical point), and realclassify refuses it. One run may take at most "
      "%g s." % res["singular_cap"])
    w("")
    w("Mapping a normal form to a verdict (only where it is unambiguous; otherwise the point "
      "is not compared). realclassify prints the corank c, the inertia index (the number of "
      "negative squares of the Morse part, n - c of them in all), and the normal form of the "
      "residual part in the c corank variables. An indefinite Morse part makes a saddle. "
      "Otherwise the residual part decides: A[1] (c = 0): minimum or maximum by the Morse "
      "part; A[k] with k even (x^(k+1)): saddle; A[k]+ / A[k]- with k odd (+-x^(k+1)): strict "
      "minimum / maximum of the residual; X[9]s1s2 (s1 x^4 + a x^2y^2 + s2 y^4, a known by "
      "an interval): s1 != s2 saddle, s1 = s2 = s definite (strict extremum) when s a > -2 "
      "on the whole interval, a saddle when s a < -2; other types: a lowest form of odd "
      "degree (D[k], E[6], E[7], E[8], J[...]: a cubic part) is a saddle; a normal form of "
      "even monomials x^2i y^2j all of one sign with a pure power of each variable is "
      "definite; a normal form that takes both signs along one of the lines (1,0), (0,1), "
      "(1,1), (1,-1) is a saddle. A residual extremum with the Morse part of the same sign "
      "is a strict extremum of f (right equivalence keeps that), of the opposite sign a "
      "saddle. Every normal form printed (realclassify may print several equivalent ones) "
      "must give the same verdict. At an isolated critical point a minimum is always strict "
      "(nearby points with the same value would be minima, hence critical), so hessgen's "
      "`min`/`max` there would be weaker than it could be, and is counted as not agreeing.")
    w("")
    w("| figure | value |")
    w("|---|---|")
    w("| polynomial critical points (distinct file, point) | %d |" % len(pts))
    w("| not isolated (Milnor number infinite): realclassify refuses | %d |"
      % sum(1 for r in pts if r["status"] == "not isolated"))
    w("| isolated, realclassify failed with an error | %d |"
      % sum(1 for r in pts if r["status"] == "failed"))
    w("| isolated, realclassify gave no answer within the cap | %d |"
      % sum(1 for r in pts if r["status"] == "timeout"))
    w("| answered | %d |" % len(ans))
    w("| answered, and the mapping gives a verdict | %d |" % len(cmp_))
    w("| **agree with hessgen** | **%d of %d** |" % (len(agree), len(cmp_)))
    w("| Singular start-up floor: `quit;` | %s |" % fmt_s(fl["bare"]))
    w("| Singular floor: `LIB \"realclassify.lib\"; quit;` | %s |" % fmt_s(fl["LIB"]))
    w("| Singular floor: realclassify(x^2) in one variable | %s |" % fmt_s(fl["x^2"]))
    w("| hessgen start-up floor (section 1) | %s |" % fmt_s(res["floor"]))
    timed_ = [r for r in ans if r.get("singular_median")]
    if timed_:
        ratios = [r["hessgen_median"] / r["singular_median"] for r in timed_]
        w("| time ratio hessgen / Singular, median over the %d answered points | %.3f |"
          % (len(timed_), statistics.median(ratios)))
        w("| ratio range (min - max) | %.3f - %.3f |" % (min(ratios), max(ratios)))
        w("| Singular floor ratio (hessgen floor / Singular `LIB` floor) | %.3f |"
          % (res["floor"] / fl["LIB"]))
    w("")
    w("Per point (times: median of %d runs each, both including process start-up; for "
      "hessgen the per-case median of section 1 of the point's first `at` line):"
      % res["runs"])
    w("")
    w("| file (lines) | point | n | μ | realclassify | Singular verdict | hessgen verdict | "
      "agree | hessgen time | Singular time | ratio |")
    w("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in pts:
        point = "0" if all(v == "0" for v in r["point"]) else "(" + ", ".join(r["point"]) + ")"
        if r["status"] == "answered":
            what = ", ".join(r["types"])
        else:
            what = "%s: %s" % (r["status"], r["detail"])
        agree_s = "-" if not r["singular"] else ("yes" if r["singular"] == r["hessgen"]
                                                 else "**NO**")
        ratio = ("%.3g" % (r["hessgen_median"] / r["singular_median"])
                 if r.get("singular_median") else "-")
        w("| `%s` (%s) | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["file"], ",".join(str(x) for x in r["lines"]), point, r["n"],
            "∞" if r["milnor"] == -1 else (r["milnor"] if r["milnor"] is not None else "?"),
            what.replace("|", "/"), r["singular"] or ("-" if r["status"] != "answered"
                                                      else "not mapped"),
            r["hessgen"], agree_s, fmt_s(r["hessgen_median"]),
            ("> " if r.get("capped") else "") + fmt_s(r.get("singular_median")), ratio))
    w("")
    iso = [r for r in pts if r["milnor"] is not None and r["milnor"] > 0]
    iso_weak = [r for r in iso if r["hessgen"] not in ("strict_min", "strict_max", "saddle")]
    inf = [r for r in pts if r["milnor"] == -1]
    w("Cross-check that needs no normal form: at a point with a finite Milnor number (an "
      "isolated critical point, even over the complex numbers) every extremum is strict, so "
      "hessgen must answer `strict_min`, `strict_max` or `saddle` there. It does on %d of "
      "the %d such points (those where realclassify failed included)%s. At the %d points with "
      "an infinite Milnor number hessgen answers %s (an infinite Milnor number does not by "
      "itself make a real minimum non-strict, so this is not a check)." % (
          len(iso) - len(iso_weak), len(iso),
          "" if not iso_weak else "; not on " + ", ".join(
              "`%s` %s (%s)" % (r["file"], r["lines"], r["hessgen"]) for r in iso_weak),
          len(inf), ", ".join("`%s` %d times" % (v, sum(1 for r in inf if r["hessgen"] == v))
                              for v in sorted(set(r["hessgen"] for r in inf)))))
    w("")
    bad = [r for r in cmp_ if r["singular"] != r["hessgen"]]
    if bad:
        w("**Disagreements**: " + "; ".join(
            "`%s` lines %s at %s: hessgen `%s`, Singular `%s` (%s)" % (
                r["file"], r["lines"], r["point"], r["hessgen"], r["singular"], r["rule"])
            for r in bad) + ".")
        w("")
    unm = [r for r in ans if not r["singular"]]
    if unm:
        w("Answered but not mapped: " + "; ".join("`%s` (%s)" % (r["file"], r["rule"])
                                                  for r in unm) + ".")
        w("")


if __name__ == "__main__":
    main()
