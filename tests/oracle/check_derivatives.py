#!/usr/bin/env python3
"""check_derivatives: compare hessgen's generated C against exact derivatives from SymPy.

    check_derivatives.py FILE.hl [FILE.hl ...] --hessgen PATH --cc CC [--cxx CXX]
                         [--workdir DIR] [--keep]

For each file:
  1. runs `PATH FILE.hl -o DIR/gen.c --prefix M`;
  2. compiles gen.c as C (`CC -std=c99 -pedantic -Wall -Wextra -Werror -O1 -c`) and, with --cxx,
     as C++ (`CXX -x c++ -Wall -Wextra -Werror -c`), and links a small driver with each object;
  3. reads the model with hl2sympy (an independent front end), differentiates it with SymPy,
     and evaluates loss, gradient and Hessian with mpmath at 400 and 800 significant digits
     (more where the two disagree: see Exact.at);
  4. picks the points: the file's start point; every `# oracle: point a, b, ...` line; every
     `# oracle: edge a, b, ...` line (a point on a kink or a domain boundary: checked against
     the exact values, with the one-sided convention at kinks, but not by finite differences;
     the start point counts as an edge when an edge line names it); and 4 deterministic
     pseudo-random points (seeded by the file name) in the box `# oracle: box LO:HI` (default
     -1.5:1.5; or one LO:HI per coordinate, comma-separated). Points where the exact values are
     not finite, not real or not representable as doubles are skipped; fewer than 4 left is a
     failure. At each point it compares M_loss, M_grad (and the loss every function returns),
     M_hess (both triangles, with and without grad), M_hvp with a random v, and M_hess_sparse
     (values at M_hess_rows/M_hess_cols) with the exact values;
  5. checks M_NPARAM, M_param_name, M_start (the correctly rounded double of the exact
     start value) and the sparsity pattern (in range, lower triangle, no repeats, every exact
     nonzero lower entry present, dense M_hess entries outside it exactly 0);
  6. runs fd_check.c (central differences in long double) at the same points.

Tolerance, per output and point, normwise relative:
    |generated_k - exact_k| <= 1e-12 * max(max_k |exact_k|, TINY)    for every entry k
where the max runs over that output's exact entries (the loss alone, the gradient, the Hessian,
the HVP, the sparse values) and TINY = DBL_MIN / 1e-12, so that differences below DBL_MIN
(underflow) always pass. A NaN or infinity where the exact value is finite fails.

Output: one line per failure (file, point, offending entry), one line per file, and last
`P passed, F failed` counting checks. Exit status 1 when anything failed, 0 otherwise.
"""

import argparse
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zlib
from fractions import Fraction

import mpmath
import sympy as sp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hl2sympy  # noqa: E402

RTOL = 1e-12
DBL_MIN = 2.2250738585072014e-308
DBL_MAX = 1.7976931348623157e308
TINY = DBL_MIN / RTOL
DPS = 400           # digits of the first exact evaluation (see Exact.at)
MAX_DPS = 6400
AGREE = 1e-30       # two evaluations agree to this, relative to the output's largest entry
NRANDOM = 4
MAX_TRIES = 80
DEFAULT_BOX = (-1.5, 1.5)
PREFIX = "M"

DRIVER = r"""
/* driver for check_derivatives.py: prints everything the generated API returns, in %a */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double M_loss(const double *theta);
double M_grad(const double *theta, double *grad);
double M_hess(const double *theta, double *grad, double *hess);
void   M_hvp(const double *theta, const double *v, double *hv);
double M_hess_sparse(const double *theta, double *grad, double *values);
void   M_hess_values(const double *theta, double *values);
extern const int M_hess_nnz;
extern const int M_hess_rows[];
extern const int M_hess_cols[];
int M_param_name(int k, char *buf, size_t cap);
void M_start(double *theta);

#define CANARY 1234.5678

static double *alloc(size_t n)
{
    double *a = (double *)malloc((n + 1) * sizeof *a);
    size_t k;
    if (!a) exit(3);
    for (k = 0; k < n; k++) a[k] = NAN;      /* an entry left unwritten shows as NaN */
    a[n] = CANARY;                           /* a write past the end shows too */
    return a;
}

static void put(const char *tag, const double *a, size_t n)
{
    size_t k;
    printf("%s", tag);
    for (k = 0; k < n; k++) printf(" %a", a[k]);
    printf("\n");
    if (a[n] != CANARY) printf("overflow %s\n", tag);
}

int main(void)
{
    const int n = NPARAM, nnz = M_hess_nnz;
    int k, npts, p;
    double *theta = alloc(n), *v = alloc(n);
    printf("nparam %d\n", n);
    for (k = 0; k < n; k++) {
        char name[512];
        int len = M_param_name(k, name, sizeof name);
        printf("name %s\n", len >= 0 && (size_t)len == strlen(name) ? name : "(no name, or not its length)");
    }
    {
        char none[1];
        if (M_param_name(n, none, 0) != -1 || M_param_name(-1, none, 0) != -1)
            printf("name (coordinates -1 and N have a name)\n");
    }
    M_start(theta);
    for (k = 0; k < n; k++) printf("start %a\n", theta[k]);
    printf("nnz %d\n", nnz);
    if (nnz < 0 || nnz > n * n) return 4;
    for (k = 0; k < nnz; k++) printf("entry %d %d\n", M_hess_rows[k], M_hess_cols[k]);
    if (scanf("%d", &npts) != 1) return 2;
    for (p = 0; p < npts; p++) {
        double *g1 = alloc(n), *g2 = alloc(n), *g3 = alloc(n), *h1 = alloc(n * n);
        double *h2 = alloc(n * n), *hv = alloc(n), *sv = alloc(nnz), *sv2 = alloc(nnz);
        double r[5];
        char buf[128];
        for (k = 0; k < 2 * n; k++) {
            if (scanf("%127s", buf) != 1) return 2;
            (k < n ? theta : v)[k % n] = strtod(buf, NULL);
        }
        r[0] = M_loss(theta);
        r[1] = M_grad(theta, g1);
        r[2] = M_hess(theta, g2, h1);
        r[3] = M_hess(theta, NULL, h2);
        M_hvp(theta, v, hv);
        r[4] = M_hess_sparse(theta, g3, sv);
        M_hess_values(theta, sv2);
        printf("point %d\n", p);
        printf("loss %a %a %a %a %a\n", r[0], r[1], r[2], r[3], r[4]);
        put("grad_grad", g1, n);
        put("grad_hess", g2, n);
        put("grad_sparse", g3, n);
        put("hess_grad", h1, n * n);
        put("hess_null", h2, n * n);
        put("hvp", hv, n);
        put("sparse", sv, nnz);
        put("values", sv2, nnz);
        free(g1); free(g2); free(g3); free(h1); free(h2); free(hv); free(sv); free(sv2);
    }
    printf("end\n");
    return 0;
}
"""


# ----------------------------------------------------------------------------------------------
# exact values
# ----------------------------------------------------------------------------------------------

class Invalid(Exception):
    pass


class Exact:
    """Loss, gradient and lower Hessian of a model, differentiated once, evaluated many times."""

    def __init__(self, model):
        self.model = model
        syms = model.symbols
        n = len(syms)
        self.n = n
        loss = model.loss
        grad = [sp.diff(loss, s) for s in syms]
        self.lower = []          # (i, j) with j <= i and a not-identically-zero entry
        hl = []
        for i in range(n):
            fs = grad[i].free_symbols
            for j in range(i + 1):
                if syms[j] not in fs:
                    continue
                h = sp.diff(grad[i], syms[j])
                if h != 0:
                    self.lower.append((i, j))
                    hl.append(h)
        exprs = [loss] + grad + hl
        self.f = sp.lambdify(syms, exprs, modules=hl2sympy.LAMBDIFY_MODULES, cse=True)

    @staticmethod
    def _real(v):
        if isinstance(v, mpmath.mpc):
            if v.imag != 0:
                raise Invalid("not real")
            v = v.real
        v = mpmath.mpf(v)
        if not mpmath.isfinite(v):
            raise Invalid("not finite")
        if abs(v) > DBL_MAX:
            raise Invalid("not representable as a double")
        return v

    def _eval(self, theta, dps):
        with mpmath.workdps(dps):
            try:
                vals = self.f(*[mpmath.mpf(t) for t in theta])
            except (ZeroDivisionError, ValueError, OverflowError, TypeError) as e:
                raise Invalid(f"evaluation failed: {e}")
            return [self._real(v) for v in vals]

    def _agree(self, a, b):
        n = self.n
        for lo, hi in ((0, 1), (1, 1 + n), (1 + n, len(a))):
            scale = max([abs(x) for x in b[lo:hi]] + [mpmath.mpf(TINY)])
            if any(abs(x - y) > AGREE * scale for x, y in zip(a[lo:hi], b[lo:hi])):
                return False
        return True

    def at(self, theta):
        """(loss, grad, H) as mpf at the double point theta; raises Invalid.

        Two evaluations, at DPS and 2*DPS digits, must agree to AGREE relative to each
        output's largest entry (floored at TINY); otherwise the precision doubles until two
        successive evaluations agree. DPS is large (400) because SymPy's derivatives can
        cancel: d/dt tanh(t) = 1 - tanh(t)^2 is a difference of numbers near 1 whose true
        value, about 4*exp(-2t), stays above DBL_MIN up to t = 354; at 60 digits it would be
        absorbed to exactly 0 at both precisions, and the oracle would be wrong. 400 digits
        resolve every value down to DBL_MIN next to intermediate terms of order 1e60."""
        dps = DPS
        vals = self._eval(theta, dps)
        while True:
            more = self._eval(theta, 2 * dps)
            if self._agree(vals, more):
                vals = more
                break
            dps *= 2
            if 2 * dps > MAX_DPS:
                raise Invalid(f"the exact values do not settle below {MAX_DPS} digits")
            vals = more
        n = self.n
        loss = vals[0]
        grad = vals[1:1 + n]
        H = [[mpmath.mpf(0)] * n for _ in range(n)]
        for (i, j), h in zip(self.lower, vals[1 + n:]):
            H[i][j] = h
            H[j][i] = h
        return loss, grad, H


def correctly_rounded(x):
    """The double nearest to the exact sympy number x."""
    if isinstance(x, sp.Rational):
        return float(Fraction(int(x.p), int(x.q)))
    return float(sp.N(x, 40))


# ----------------------------------------------------------------------------------------------
# points
# ----------------------------------------------------------------------------------------------

def parse_directives(path, n):
    """`# oracle: box LO:HI[, LO:HI ...]`, `# oracle: point a, b, ...` and
    `# oracle: edge a, b, ...` comment lines; returns (box, [(values, is_edge)])."""
    box = [DEFAULT_BOX] * n
    points = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            m = re.match(r"\s*#\s*oracle:\s*(\w+)\s*(.*)$", line)
            if not m:
                continue
            kind, rest = m.group(1), m.group(2).strip()
            try:
                if kind == "box":
                    ranges = [r.strip() for r in rest.split(",") if r.strip()]
                    pairs = []
                    for r in ranges:
                        lo, hi = r.split(":")
                        pairs.append((float(Fraction(lo.strip())), float(Fraction(hi.strip()))))
                    if len(pairs) == 1:
                        box = pairs * n
                    elif len(pairs) == n:
                        box = pairs
                    else:
                        raise ValueError(f"box needs 1 or {n} ranges")
                elif kind in ("point", "edge"):
                    vals = [float(Fraction(t.strip())) for t in rest.split(",") if t.strip()]
                    if len(vals) != n:
                        raise ValueError(f"{kind} needs {n} values, found {len(vals)}")
                    points.append((vals, kind == "edge"))
                else:
                    raise ValueError(f"unknown oracle directive '{kind}'")
            except (ValueError, ZeroDivisionError) as e:
                raise ValueError(f"{path}:{lineno}: {e}")
    return box, points


# ----------------------------------------------------------------------------------------------
# running things
# ----------------------------------------------------------------------------------------------

def run(cmd, stdin=None, timeout=120):
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except FileNotFoundError as e:
        return 127, "", str(e)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout} s"


def first_lines(text, k=8):
    """The first k non-blank lines of a tool's output, indented, after a newline ("" if none)."""
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    more = f"\n    ... ({len(lines) - k} more lines)" if len(lines) > k else ""
    return "\n" + "\n".join("    " + ln for ln in lines[:k]) + more


def parse_driver_output(text, n):
    """The driver's %a output -> dict; 'points' is a list of dicts of float lists."""
    out = {"names": [], "start": [], "entries": [], "points": [], "overflow": []}
    cur = None
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        tag, rest = parts[0], parts[1:]
        if tag == "nparam":
            out["nparam"] = int(rest[0])
        elif tag == "name":
            out["names"].append(line[5:])
        elif tag == "start":
            out["start"].append(float.fromhex(rest[0]))
        elif tag == "nnz":
            out["nnz"] = int(rest[0])
        elif tag == "entry":
            out["entries"].append((int(rest[0]), int(rest[1])))
        elif tag == "point":
            cur = {}
            out["points"].append(cur)
        elif tag == "overflow":
            out["overflow"].append((len(out["points"]) - 1, rest[0]))
        elif tag == "end":
            out["end"] = True
        elif cur is not None:
            cur[tag] = [float.fromhex(t) for t in rest]
    return out


# ----------------------------------------------------------------------------------------------
# comparisons
# ----------------------------------------------------------------------------------------------

def fmt(x):
    return repr(float(x)) if not isinstance(x, mpmath.mpf) else mpmath.nstr(x, 20)


def compare(got, exact, labels):
    """Worst violation of the normwise tolerance, as a message, or None."""
    scale = max([abs(e) for e in exact] + [mpmath.mpf(TINY)])
    tol = RTOL * scale
    if len(got) != len(exact):
        return f"expected {len(exact)} values, found {len(got)}"
    worst, wk = None, None
    for k, (g, e) in enumerate(zip(got, exact)):
        if math.isnan(g) or math.isinf(g):
            err = mpmath.inf
        else:
            err = abs(mpmath.mpf(g) - e)
        if err > tol and (worst is None or err > worst):
            worst, wk = err, k
    if worst is None:
        return None
    return (f"{labels[wk]} = {got[wk]!r}, exact {fmt(exact[wk])} "
            f"(|err| {mpmath.nstr(worst, 3)} > {RTOL:g} * {mpmath.nstr(scale, 6)})")


class FileResult:
    def __init__(self, path):
        self.path = path
        self.passed = 0
        self.failed = 0
        self.lines = []

    def ok(self, k=1):
        self.passed += k

    def fail(self, msg):
        self.failed += 1
        self.lines.append(f"FAIL {self.path}: {msg}")

    def check(self, what, msg):
        if msg is None:
            self.ok()
        else:
            self.fail(f"{what}: {msg}")


def point_text(names, theta):
    return "(" + ", ".join(f"{nm}={t!r}" for nm, t in zip(names, theta)) + ")"


def check_file(path, args, workdir):
    res = FileResult(path)
    os.makedirs(workdir, exist_ok=True)
    gen = os.path.abspath(os.path.join(workdir, "gen.c"))
    if os.path.exists(gen):
        os.remove(gen)

    # 1. the oracle's model first: an unreadable file is a corpus bug, reported as such
    try:
        model = hl2sympy.parse_file(path)
    except hl2sympy.HLError as e:
        res.fail(f"oracle cannot read the file: {e}")
        return res
    n = len(model.names)
    try:
        box, extra = parse_directives(path, n)
    except ValueError as e:
        res.fail(f"bad oracle directive: {e}")
        return res

    # 2. hessgen
    rc, so, se = run([args.hessgen, path, "-o", gen, "--prefix", PREFIX])
    if rc != 0 or not os.path.exists(gen):
        res.fail(f"hessgen exited with {rc}{first_lines(se + so)}")
        return res
    res.ok()
    with open(gen, encoding="utf-8", errors="replace") as f:
        gentext = f.read()

    # 3. compile as C and C++, link the drivers
    obj = os.path.join(workdir, "gen.o")
    rc, so, se = run([args.cc, "-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror", "-O1",
                      "-c", gen, "-o", obj])
    if rc != 0:
        res.fail(f"C compile failed{first_lines(se + so)}")
        return res
    res.ok()
    drv_c = os.path.join(workdir, "driver.c")
    with open(drv_c, "w") as f:
        f.write(DRIVER)
    drv_o = os.path.join(workdir, "driver.o")
    rc, so, se = run([args.cc, "-std=c99", "-O1", f"-DNPARAM={n}", "-c", drv_c, "-o", drv_o])
    if rc != 0:
        res.fail(f"driver compile failed{first_lines(se + so)}")
        return res
    exe = os.path.join(workdir, "driver")
    rc, so, se = run([args.cc, drv_o, obj, "-o", exe, "-lm"])
    if rc != 0:
        res.fail(f"linking the generated C with the driver failed{first_lines(se + so)}")
        return res
    exe_cxx = None
    if args.cxx:
        obj_cxx = os.path.join(workdir, "gen_cxx.o")
        rc, so, se = run([args.cxx, "-x", "c++", "-Wall", "-Wextra", "-Werror", "-c", gen,
                          "-o", obj_cxx])
        if rc != 0:
            res.fail(f"C++ compile failed{first_lines(se + so)}")
        else:
            res.ok()
            exe_cxx = os.path.join(workdir, "driver_cxx")
            rc, so, se = run([args.cxx, drv_o, obj_cxx, "-o", exe_cxx, "-lm"])
            if rc != 0:
                res.fail("linking the C++-compiled file with a C driver failed (extern \"C\"?)"
                         f"{first_lines(se + so)}")
                exe_cxx = None
            else:
                res.ok()

    # 4. M_NPARAM
    m = re.search(r"#\s*define\s+" + PREFIX + r"_NPARAM\s+\(?\s*(\d+)", gentext)
    res.check("M_NPARAM", None if m and int(m.group(1)) == n else
              f"expected '#define {PREFIX}_NPARAM {n}', found "
              f"{m.group(0) if m else 'no definition'}")

    # 5. exact derivatives and points
    exact = Exact(model)
    rng = random.Random(zlib.crc32(os.path.basename(path).encode()))
    pts = []        # (label, theta, v, (loss, grad, H))
    edges = set()   # labels of points not given to fd_check (kinks, domain boundaries)
    skipped = []

    def try_point(label, theta):
        v = [rng.uniform(-1, 1) for _ in range(n)]
        try:
            pts.append((label, theta, v, exact.at(theta)))
            return True
        except Invalid as e:
            skipped.append(f"{label}: {e}")
            return False

    start = [correctly_rounded(s) for s in model.start]
    if any(is_edge and p == start for (p, is_edge) in extra):
        edges.add("start")      # a start point that the file marks as an edge is one
    try_point("start", start)
    for k, (p, is_edge) in enumerate(extra):
        label = f"{'edge' if is_edge else 'point'} {k + 1}"
        if is_edge:
            edges.add(label)
        try_point(label, p)
    found = tries = 0
    while found < NRANDOM and tries < MAX_TRIES:
        tries += 1
        theta = [rng.uniform(lo, hi) for (lo, hi) in box]
        found += try_point(f"random {found + 1}", theta)
    if len(pts) < 4:
        res.fail(f"only {len(pts)} valid points (need 4): {'; '.join(skipped[:4])}")

    # 6. run the driver(s)
    stdin = f"{len(pts)}\n" + "".join(
        " ".join(t.hex() for t in theta) + " " + " ".join(x.hex() for x in v) + "\n"
        for (_, theta, v, _) in pts)
    rc, so, se = run([exe], stdin=stdin, timeout=60)
    out = parse_driver_output(so, n)
    if rc != 0 or not out.get("end"):
        res.fail(f"the driver exited with {rc} (crash in the generated code?)"
                 f"{first_lines(se + so[-2000:])}")
        return res
    res.ok()

    # 7. names, start values, pattern
    res.check("M_param_name", None if out["names"] == model.names else
              f"expected {model.names}, found {out['names']}")
    bad = []
    for nm, s, got in zip(model.names, model.start, out["start"]):
        want = correctly_rounded(s)
        if got != want and not (math.isnan(got) and math.isnan(want)):
            ulps = abs(got - want) / (math.ulp(want) if want else DBL_MIN)
            bad.append(f"{nm}: {got!r}, expected {want!r} ({s}; {ulps:.3g} ulp off)")
    res.check("M_start", "; ".join(bad) if bad else None)
    entries = out["entries"]
    pat = set()
    perr = []
    if out.get("nnz") != len(entries):
        perr.append(f"M_hess_nnz = {out.get('nnz')} but {len(entries)} entries read")
    for (r, c) in entries:
        if not (0 <= c <= r < n):
            perr.append(f"entry ({r},{c}) is not in the lower triangle of {n}x{n}")
        elif (r, c) in pat:
            perr.append(f"entry ({r},{c}) repeated")
        pat.add((r, c))
    res.check("sparsity pattern", "; ".join(perr[:5]) if perr else None)
    if out["overflow"]:
        res.fail("writes past the end of an output buffer: "
                 + ", ".join(f"{w} at point {p}" for p, w in out["overflow"]))

    # 8. values, point by point
    names = model.names
    lab_g = [f"[{nm}]" for nm in names]
    lab_h = [f"[{i}][{j}] ({names[i]},{names[j]})" for i in range(n) for j in range(n)]
    for k, ((label, theta, v, (L, g, H)), got) in enumerate(zip(pts, out["points"])):
        where = f"{label} {point_text(names, theta)}"
        def chk(what, msg):
            res.check(f"{where}: {what}", msg)
        # loss (M_loss and the value every other function returns)
        chk("loss", compare(got["loss"], [L] * 5,
                            ["M_loss", "M_grad return", "M_hess return",
                             "M_hess(grad=NULL) return", "M_hess_sparse return"]))
        chk("gradient", compare(got["grad_grad"] + got["grad_hess"] + got["grad_sparse"], g * 3,
                                ["M_grad grad" + s for s in lab_g]
                                + ["M_hess grad" + s for s in lab_g]
                                + ["M_hess_sparse grad" + s for s in lab_g]))
        Hf = [H[i][j] for i in range(n) for j in range(n)]
        chk("hessian", compare(got["hess_grad"] + got["hess_null"], Hf * 2,
                               ["M_hess hess" + s for s in lab_h]
                               + ["M_hess(grad=NULL) hess" + s for s in lab_h]))
        with mpmath.workdps(DPS):
            hv = [mpmath.fsum(H[i][j] * mpmath.mpf(v[j]) for j in range(n)) for i in range(n)]
        chk("hvp", compare(got["hvp"], hv, ["M_hvp" + s for s in lab_g]))
        # sparse: values, and nothing nonzero outside the pattern
        msg = compare(got["sparse"] + got["values"], [H[r][c] for (r, c) in entries] * 2,
                      [f"M_hess_sparse value #{q} [{r}][{c}] ({names[r]},{names[c]})"
                       for q, (r, c) in enumerate(entries)]
                      + [f"M_hess_values value #{q} [{r}][{c}] ({names[r]},{names[c]})"
                         for q, (r, c) in enumerate(entries)])
        if msg is None:
            scale = max([abs(e) for e in Hf] + [mpmath.mpf(TINY)])
            for i in range(n):
                for j in range(i + 1):
                    if (i, j) in pat:
                        continue
                    if abs(H[i][j]) > RTOL * scale:
                        msg = (f"[{i}][{j}] ({names[i]},{names[j]}) is missing from the pattern"
                               f" but the exact value is {fmt(H[i][j])}")
                        break
                    for (a, b) in ((i, j), (j, i)):
                        d = got["hess_grad"][a * n + b]
                        if d != 0.0:
                            msg = (f"M_hess[{a}][{b}] ({names[a]},{names[b]}) = {d!r} is "
                                   "outside the sparsity pattern but not exactly 0")
                            break
                    if msg:
                        break
                if msg:
                    break
        chk("sparse hessian", msg)

    # 9. the C++ build gives the same answers (to the same tolerance)
    if exe_cxx:
        rc, so2, se2 = run([exe_cxx], stdin=stdin, timeout=60)
        out2 = parse_driver_output(so2, n)
        msg = None
        if rc != 0 or not out2.get("end"):
            msg = f"the C++-built driver exited with {rc}"
        else:
            for (label, theta, v, (L, g, H)), a, b in zip(pts, out["points"], out2["points"]):
                for key in a:
                    if len(a[key]) != len(b.get(key, [])):
                        msg = f"{label}: {key} has a different length"
                        break
                    for q, (x, y) in enumerate(zip(a[key], b[key])):
                        scale = max([abs(t) for t in a[key] if not math.isnan(t)] + [TINY])
                        if not (abs(x - y) <= RTOL * scale or (math.isnan(x) and math.isnan(y))):
                            msg = f"{label}: {key}[{q}] C {x!r}, C++ {y!r}"
                            break
                    if msg:
                        break
                if msg:
                    break
        res.check("C++ build results", msg)

    # 10. finite differences (fd_check.c) at the same points
    fd_exe = os.path.join(workdir, "fd_check")
    rc, so, se = run([args.cc, "-std=c99", "-O1", f'-DHG_GEN="{gen}"',
                      os.path.join(HERE, "fd_check.c"), "-o", fd_exe, "-lm"])
    if rc != 0:
        res.fail(f"fd_check does not compile with the generated file{first_lines(se + so)}")
    else:
        ptsfile = os.path.join(workdir, "points.txt")
        with open(ptsfile, "w") as f:
            for (label, theta, v, _) in pts:
                if label not in edges:
                    f.write(" ".join(t.hex() for t in theta + v) + "\n")
        rc, so, se = run([fd_exe, ptsfile], timeout=60)
        if rc != 0:
            fails = [ln for ln in so.splitlines() if "FAIL" in ln] or [so + se]
            res.fail("finite differences disagree" + first_lines("\n".join(fails)))
        else:
            res.ok()
    res.npoints = len(pts)
    return res


def main(argv):
    ap = argparse.ArgumentParser(description="compare hessgen's generated C with SymPy")
    ap.add_argument("files", nargs="+", metavar="FILE.hl")
    ap.add_argument("--hessgen", required=True, help="the hessgen executable")
    ap.add_argument("--cc", required=True, help="C compiler")
    ap.add_argument("--cxx", help="C++ compiler (also compile the generated file as C++)")
    ap.add_argument("--workdir", help="where to put generated files (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args(argv)

    root = args.workdir or tempfile.mkdtemp(prefix="hessgen-oracle-")
    total_p = total_f = 0
    try:
        for path in args.files:
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.splitext(os.path.basename(path))[0])
            try:
                res = check_file(path, args, os.path.join(root, stem))
            except Exception as e:   # an oracle bug must not look like a pass
                res = FileResult(path)
                res.fail(f"oracle error: {type(e).__name__}: {e}")
            for ln in res.lines:
                print(ln)
            npts = getattr(res, "npoints", 0)
            status = "ok  " if res.failed == 0 else "FAIL"
            print(f"{status} {path}: {npts} points, {res.passed} passed, {res.failed} failed")
            sys.stdout.flush()
            total_p += res.passed
            total_f += res.failed
    finally:
        if not args.workdir and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        elif not args.workdir:
            print(f"(kept {root})")
    print(f"{total_p} passed, {total_f} failed")
    return 1 if total_f else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
