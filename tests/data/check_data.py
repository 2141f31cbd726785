#!/usr/bin/env python3
"""check_data: hessgen's generated C for losses over run-time `data` arrays, against SymPy.

    check_data.py FILE.hl [FILE.hl ...] --hessgen PATH --cc CC [--cxx CXX]
                  [--workdir DIR] [--keep] [--no-asan] [--no-openmp] [--loops MODE]

For each file:
  1. runs `PATH FILE.hl -o DIR/gen.c --prefix M` (twice: the output must be the same; the
     generator takes no data, so the size of what it emits cannot depend on a row count);
  2. compiles gen.c as C99 (-pedantic -Wall -Wextra -Werror), as C++, with -fopenmp, and
     under AddressSanitizer (when the compiler can), and links driver.c with each object;
  3. checks the struct and the model's description (layout.c, which includes gen.c): one count
     per row count in order of first appearance, then one pointer per array in declaration
     order; M_model's data_names, data_width, data_size, size_names, size_needed (1 exactly
     where the oracle finds a `mean` that 0 rows leave undefined), data_bytes;
  4. reads the model with the oracle (tests/oracle/hl2sympy.py, independent of hessgen) and
     builds random data sets (seeded by the file name) with 0 rows (where the loss is defined;
     where it is not, see 7), 1, 7 and 1000 rows for every row count (and mixed counts when
     there are two); each value a random double in the array's range (`# data: NAME LO:HI`,
     or `# data: NAME {a, b, ...}` for a choice; default -1:1), theta in `# data: theta LO:HI`
     (default -1:1), 2 points per small data set and 1 per large one;
  5. computes the exact loss, gradient and Hessian of the unrolled sum, evaluated with mpmath
     at 50 and 100 digits (more while they disagree):
       - 0, 1 and 7 rows: Model.loss_for (every reduction unrolled), differentiated by SymPy;
       - 1000 rows: Model.loss_template (row reductions kept as SymPy Sums, differentiated by
         SymPy; a Sum's derivative is the Sum of its summand's derivative), each Sum evaluated
         by summing its summand, lambdified, over the rows. Rows with equal data give equal
         terms and are summed once with their multiplicity; when the loss sums over pairs of
         rows the 1000 rows are drawn from 25 distinct random rows, so that 10^6 pairs cost
         625 evaluations. The two routes must agree to 1e-30 on the 7-row data sets;
     and compares M_loss (and the loss every function returns), M_grad, M_hess (with and
     without grad), M_hvp (against H v), M_hess_sparse and M_hess_values with them, by the
     normwise 1e-12 relative rule of tests/oracle/check_derivatives.py; every exact nonzero
     lower Hessian entry must be in the pattern and M_hess must be exactly 0 outside it;
  6. M_hess_row_range (when it exists; the oracle predicts when it must: one row count and a
     loss that is a sum of row terms plus terms free of rows): three parts of [0, n) add up to
     M_hess, [0, n) is M_hess, [n, n) is 0, a range past the end or reversed is NaN;
  7. bad data structs, also under AddressSanitizer: the NULL struct, each array NULL with rows,
     0 rows under a `mean`, a count whose rows overflow size_t: each gives its own nonzero
     M_data_check code and a message naming the array or count, and every evaluation
     function returns NaN and fills its outputs with NaN; every data set of 5 runs under
     AddressSanitizer too (each array in a buffer of exactly its length, the 0-row ones NULL:
     a `sum` over 0 rows reads nothing) and must give what the plain build gives;
  8. the OpenMP build (OMP_NUM_THREADS=2) on 1000 and 2500 rows (the loops go parallel from
     1024) matches the serial build to 1e-12 relative (another order of the rows' sums);
     the C++ build matches the C build to 1e-13;
  9. the emitted C has no unrolled copies: M_loss has a `for (size_t r0` loop per row
     reduction level, reads the rows of row-indexed arrays only at loop indices (never
     D_X[5 * 3 + 1]), and calls no more math functions than the source applies with only the
     fixed reductions and defs expanded.

Output: one line per failure, one line per file, and last `P passed, F failed` counting checks.
Exit status 1 when anything failed, 0 otherwise.
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
import time
import zlib
from fractions import Fraction

import mpmath
import sympy as sp

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(HERE, "..", "oracle")
sys.path.insert(0, ORACLE)
import hl2sympy  # noqa: E402
import check_derivatives as CD  # noqa: E402  (its tolerance rule, Exact and helpers)

RTOL = CD.RTOL
TINY = CD.TINY
OMP_RTOL = 1e-13
# Threads add their shares of the rows in another order than one loop does: over n rows the
# rounding may move by up to about n * eps times the terms' size (2500 rows of the variance's
# gradient moved 1.5e-13 relative); a lost update loses a whole share, far above this.
THREADS_RTOL = 1e-12
PREFIX = "M"
LOOPS = []  # ["--loops=MODE"] from the command line
DPS = 50
MAX_DPS = 1600
AGREE = 1e-30
SMALL = (0, 1, 7)
LARGE = 1000
OMP_ROWS = 2500
POOL = 25            # distinct rows of the large data set when the loss sums over pairs
PTS_SMALL = 2
PTS_LARGE = 1
MAX_TRIES = 40
SIZE_MAX = 2 ** 64 - 1

MATH_CALL = re.compile(r"\b(exp|expm1|log|log1p|log2|log10|sqrt|cbrt|sin|cos|tan|tanh|atan|atan2"
                       r"|sinh|cosh|asinh|acosh|atanh|pow|fabs|fmax|fmin|hypot"
                       r"|M_(?!data_|reduce|first_part)\w+)\s*\(")  # M_reduce*: sums added over parts of the rows


def run(cmd, stdin=None, timeout=300, env=None):
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                           env=env)
        return p.returncode, p.stdout, p.stderr
    except FileNotFoundError as e:
        return 127, "", str(e)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout} s"


first_lines = CD.first_lines


# ----------------------------------------------------------------------------------------------
# directives
# ----------------------------------------------------------------------------------------------

def parse_directives(path, model):
    """`# data: NAME LO:HI`, `# data: NAME {a, b}`, `# data: theta LO:HI`."""
    ranges = {d.name: ("range", -1.0, 1.0) for d in model.data}
    theta = (-1.0, 1.0)
    names = {d.name for d in model.data}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            m = re.match(r"\s*#\s*data:\s*(\w+)\s+(.*)$", line)
            if not m:
                continue
            name, rest = m.group(1), m.group(2).strip()
            try:
                if rest.startswith("{"):
                    if not rest.endswith("}"):
                        raise ValueError("a choice is {a, b, ...}")
                    vals = [float(Fraction(t.strip())) for t in rest[1:-1].split(",")]
                    spec = ("choice", vals)
                else:
                    lo, hi = rest.split(":")
                    spec = ("range", float(Fraction(lo.strip())), float(Fraction(hi.strip())))
                if name == "theta":
                    if spec[0] != "range":
                        raise ValueError("theta takes LO:HI")
                    theta = spec[1:]
                elif name in names:
                    ranges[name] = spec
                else:
                    raise ValueError(f"'{name}' is not a data array")
            except (ValueError, ZeroDivisionError) as e:
                raise ValueError(f"{path}:{lineno}: bad data directive: {e}")
    return ranges, theta


# ----------------------------------------------------------------------------------------------
# data sets
# ----------------------------------------------------------------------------------------------

class DataSet:
    """Counts per row count, flat float values per array (exact as Fractions)."""

    def __init__(self, label, counts, values):
        self.label, self.counts, self.values = label, counts, values

    def rows(self):
        return max(self.counts.values()) if self.counts else 0

    def oracle_values(self):
        v = {k: [Fraction(x) for x in vals] for k, vals in self.values.items()}
        v.update(self.counts)
        return v


def draw(spec, rng):
    if spec[0] == "choice":
        return rng.choice(spec[1])
    return rng.uniform(spec[1], spec[2])


def make_dataset(model, ranges, label, counts, seed, pool=None):
    rng = random.Random(seed)
    values = {}
    by_size = {}
    for d in model.data:
        by_size.setdefault(d.size, []).append(d)
    for size, decls in by_size.items():
        if size is None:
            for d in decls:
                values[d.name] = [draw(ranges[d.name], rng) for _ in range(d.width)]
            continue
        n = counts[size]
        if pool:
            # rows drawn (with replacement) from `pool` distinct random rows
            distinct = [{d.name: [draw(ranges[d.name], rng) for _ in range(d.width)]
                         for d in decls} for _ in range(pool)]
            pick = [rng.randrange(pool) for _ in range(n)]
            for d in decls:
                values[d.name] = [x for r in pick for x in distinct[r][d.name]]
        else:
            for d in decls:
                values[d.name] = [draw(ranges[d.name], rng) for _ in range(n * d.width)]
    return DataSet(label, dict(counts), values)


# ----------------------------------------------------------------------------------------------
# exact values through the template: Sums over rows, evaluated by summing their summands
# ----------------------------------------------------------------------------------------------

class Invalid(Exception):
    pass


class SumPlan:
    """Expressions whose Sums over rows are evaluated by summation. At each level the outermost
    Sums become placeholders; the Sums sharing a row variable and count become one child plan
    (their summands, with that row bound) summed over the rows."""

    def __init__(self, exprs, ctx_syms, tpl, bound=()):
        self.bound = bound                  # ((row symbol, size name), ...) outermost first
        sums, index = [], {}

        def walk(e):
            if isinstance(e, sp.Sum):
                if e not in index:
                    index[e] = len(sums)
                    sums.append(e)
                return
            for a in e.args:
                walk(a)
        for e in exprs:
            walk(e)
        ph = [sp.Symbol(f"_S{len(bound)}_{k}") for k in range(len(sums))]
        body = [e.xreplace(dict(zip(sums, ph))) for e in exprs]
        size_of = {sym: name for name, sym in tpl.size.items()}
        groups = {}
        for k, s in enumerate(sums):
            limits = s.limits
            if len(limits) > 1:
                f = sp.Sum(s.function, *limits[:-1])
            else:
                f = s.function
            r, lo, hi = limits[-1]
            size = size_of.get(hi + 1)
            if lo != 0 or size is None:
                raise AssertionError(f"unexpected Sum limits {limits[-1]}")
            groups.setdefault((r, size), []).append((f, k))
        bound_rows = {r for r, _ in bound}
        self.children = []
        for (r, size), items in groups.items():
            summands = [f for f, _ in items]
            deps = set()
            for f in summands:
                deps |= f.free_symbols & bound_rows
            deps = [rr for rr, _ in bound if rr in deps]
            child = SumPlan(summands, ctx_syms, tpl, bound + ((r, size),))
            self.children.append((r, size, child, [k for _, k in items], deps))
        # row data of the bound rows: Indexed(X, r, j) -> a plain symbol
        dims = {}
        for d in tpl.model.data:
            dims[d.name] = d.dims
        self.reads = []
        repl = {}
        read_syms = []
        for e in body:
            for a in sorted(e.atoms(sp.Indexed), key=str):
                if a in repl:
                    continue
                name = str(a.base.label)
                r = a.indices[0]
                if r not in bound_rows:
                    raise AssertionError(f"{a}: row {r} is not bound here")
                off, width = 0, 1
                for dd, ix in zip(reversed(dims[name]), reversed(a.indices[1:])):
                    off += int(ix) * width
                    width *= dd
                sym = sp.Symbol(f"_D{len(self.reads)}")
                repl[a] = sym
                read_syms.append(sym)
                self.reads.append((name, r, off))
        body = [e.xreplace(repl) for e in body]
        args = list(ctx_syms) + read_syms + ph
        self.nph = len(ph)
        self.f = sp.lambdify(args, body, modules=hl2sympy.LAMBDIFY_MODULES, cse=True)
        self.depth = max([len(bound)] + [c[2].depth for c in self.children])
        self.pairs = any(c[4] for c in self.children) or any(c[2].pairs for c in self.children)


class TemplateExact:
    """Loss, gradient and lower Hessian from the template, for any data set."""

    def __init__(self, model):
        self.model = model
        loss, tpl = model.loss_template()
        tpl.model = model
        self.tpl = tpl
        self.loss = loss
        syms = model.symbols
        self.n = n = len(syms)
        grad = [sp.diff(loss, s) for s in syms]
        self.lower, hl = [], []
        for i in range(n):
            for j in range(i + 1):
                h = sp.diff(grad[i], syms[j])
                if h != 0:
                    self.lower.append((i, j))
                    hl.append(h)
        self.size_names = list(tpl.size)
        self.fixed_names = list(tpl.fixed)
        ctx_syms = list(syms) + [tpl.size[s] for s in self.size_names] + \
            [x for nm in self.fixed_names for x in tpl.fixed[nm]]
        self.plan = SumPlan([loss] + grad + hl, ctx_syms, tpl)

    def _eval(self, theta, ds, prep, dps):
        with mpmath.workdps(dps):
            base = [mpmath.mpf(t) for t in theta] + \
                [mpmath.mpf(ds.counts[s]) for s in self.size_names] + \
                [mpmath.mpf(x) for nm in self.fixed_names for x in ds.values[nm]]
            memo = {}
            widths = {d.name: d.width for d in self.model.data}
            data = prep["data"]

            def run_plan(plan, rows):
                phv = [None] * plan.nph
                for (r, size, child, ks, deps) in plan.children:
                    key = (id(child),) + tuple(prep["key"][sz][rows[rr]]
                                               for rr, sz in plan_bound(plan, deps))
                    acc = memo.get(key)
                    if acc is None:
                        acc = [mpmath.mpf(0)] * len(ks)
                        for row, w in prep["groups"][size]:
                            rows2 = dict(rows)
                            rows2[r] = row
                            out = run_plan(child, rows2)
                            acc = [a + w * o for a, o in zip(acc, out)]
                        memo[key] = acc
                    for k, a in zip(ks, acc):
                        phv[k] = a
                args = base + [data[nm][rows[r] * widths[nm] + off]
                               for (nm, r, off) in plan.reads] + phv
                try:
                    return plan.f(*args)
                except (ZeroDivisionError, ValueError, OverflowError, TypeError) as e:
                    raise Invalid(f"evaluation failed: {e}")

            vals = run_plan(self.plan, {})
            return [Exact_real(v) for v in vals]

    def prepare(self, ds):
        """Per data set: mpf values, and the rows of each count grouped by equal data."""
        data = {nm: [mpmath.mpf(x) for x in vals] for nm, vals in ds.values.items()}
        groups, key = {}, {}
        for s in self.size_names:
            decls = [d for d in self.model.data if d.size == s]
            seen = {}
            key[s] = []
            for row in range(ds.counts[s]):
                t = tuple(tuple(ds.values[d.name][row * d.width:(row + 1) * d.width])
                          for d in decls)
                if t not in seen:
                    seen[t] = [row, 0]
                seen[t][1] += 1
                key[s].append(seen[t][0])
            groups[s] = [(row, w) for row, w in seen.values()]
        return {"data": data, "groups": groups, "key": key}

    def at(self, theta, ds, prep=None):
        prep = prep or self.prepare(ds)
        dps = DPS
        vals = self._eval(theta, ds, prep, dps)
        while True:
            more = self._eval(theta, ds, prep, 2 * dps)
            if agree(vals, more, self.n):
                vals = more
                break
            dps *= 2
            if 2 * dps > MAX_DPS:
                raise Invalid(f"the exact values do not settle below {MAX_DPS} digits")
            vals = more
        return unpack(vals, self.n, self.lower)


def plan_bound(plan, deps):
    size = dict(plan.bound)
    return [(r, size[r]) for r in deps]


def Exact_real(v):
    try:
        return CD.Exact._real(v)
    except CD.Invalid as e:
        raise Invalid(str(e))


def agree(a, b, n):
    for lo, hi in ((0, 1), (1, 1 + n), (1 + n, len(a))):
        scale = max([abs(x) for x in b[lo:hi]] + [mpmath.mpf(TINY)])
        if any(abs(x - y) > AGREE * scale for x, y in zip(a[lo:hi], b[lo:hi])):
            return False
    return True


def unpack(vals, n, lower):
    H = [[mpmath.mpf(0)] * n for _ in range(n)]
    for (i, j), h in zip(lower, vals[1 + n:]):
        H[i][j] = h
        H[j][i] = h
    return vals[0], vals[1:1 + n], H


class UnrolledExact:
    """The loss of one data set with every reduction unrolled (Model.loss_for), differentiated
    by SymPy: check_derivatives.Exact, at 50 and 100 digits and more while they disagree."""

    class _M:
        def __init__(self, symbols, loss):
            self.symbols, self.loss = symbols, loss

    def __init__(self, model, ds):
        self.loss = model.loss_for(ds.oracle_values())     # raises EmptyMean
        self.ex = CD.Exact(self._M(model.symbols, self.loss))
        self.n = len(model.symbols)

    def at(self, theta):
        old = (CD.DPS, CD.MAX_DPS)
        CD.DPS, CD.MAX_DPS = DPS, MAX_DPS
        try:
            return self.ex.at(theta)
        except CD.Invalid as e:
            raise Invalid(str(e))
        finally:
            CD.DPS, CD.MAX_DPS = old


# ----------------------------------------------------------------------------------------------
# the generated C, read as text
# ----------------------------------------------------------------------------------------------

def function_body(text, name):
    m = re.search(r"^[^\n;]*\b" + re.escape(name) + r"\([^;{]*\)\s*\{", text, re.M)
    if not m:
        return None
    depth, k = 0, m.end() - 1
    while k < len(text):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return text[m.end():k]
        k += 1
    return None


def loop_depth(body):
    """The deepest nesting of `for (size_t rK` loops (array loops: `iK`) in a function body."""
    best = depth = 0
    stack = []
    lines = body.split("\n")
    for ln in lines:
        ind = len(ln) - len(ln.lstrip(" "))
        while stack and ind <= stack[-1]:
            stack.pop()
        if re.match(r"\s*for \(size_t [ri]\d+ = ", ln):
            stack.append(ind)
            depth = len(stack)
            best = max(best, depth)
    return best


def row_separable(loss, tpl):
    """The oracle's view of when M_hess_row_range must exist: True when there is one row count
    and the loss is a sum of terms each free of Sums or a number (or a power of the count) times
    a Sum over rows (whose summand may hold inner Sums); None (either way) when such a Sum's factor depends
    on theta (c(theta)*sum(i, f) is a sum of row terms too, or not, as one reads it); False
    otherwise (a Sum under a non-linear function, products of Sums, nested Sums, two counts)."""
    if len(tpl.size) != 1:
        return False
    sizes = set(tpl.size.values())
    verdict = True

    def outer_sums(e):
        """The Sums of e that no other Sum contains (a row term may read all rows through an
        inner Sum: the parts still add up, the inner loops running over every row)."""
        if isinstance(e, sp.Sum):
            return [e]
        return [s for a in e.args for s in outer_sums(a)]

    for term in sp.Add.make_args(sp.expand(loss, deep=False, mul=True, multinomial=False,
                                           power_exp=False, power_base=False, log=False)):
        ss = outer_sums(term)
        if not ss:
            continue
        if len(ss) != 1:
            return False
        s = ss[0]
        if len(s.limits) != 1:
            return False
        coeff = sp.simplify(term / s)
        if coeff.atoms(sp.Sum):
            return False
        if coeff.free_symbols - sizes:
            verdict = None
    return verdict


# ----------------------------------------------------------------------------------------------
# comparisons
# ----------------------------------------------------------------------------------------------

compare = CD.compare


def parse_output(text):
    out = {"entries": [], "points": [], "overflow": [], "lines": {}}
    cur = None
    for line in text.splitlines():
        parts = line.split(" ", 1)
        tag = parts[0]
        rest = parts[1] if len(parts) > 1 else ""
        if tag == "nnz":
            out["nnz"] = int(rest)
        elif tag == "entry":
            r, c = rest.split()
            out["entries"].append((int(r), int(c)))
        elif tag == "point":
            cur = {}
            out["points"].append(cur)
        elif tag == "overflow":
            out["overflow"].append(rest)
        elif tag == "end":
            out["end"] = True
        elif tag in ("check", "recheck") or tag.startswith("bind_"):
            out["lines"][tag] = int(rest)
        elif tag in ("message",) or tag.startswith("message_"):
            out["lines"][tag] = rest
        elif tag == "parts":
            if cur is not None:
                cur["parts"] = [int(x) for x in rest.split()]
        elif cur is not None:
            cur[tag] = [float(x) for x in rest.split()]
    return out


def same_within(a, b, rtol):
    """The worst entry where two runs of the same outputs differ by more than rtol normwise."""
    for key in a:
        if key == "parts":
            continue
        x, y = a[key], b.get(key)
        if y is None or len(x) != len(y):
            return f"{key}: missing or of another length"
        fin = [abs(t) for t in x if math.isfinite(t)]
        scale = max(fin + [TINY])
        for q, (s, t) in enumerate(zip(x, y)):
            if math.isnan(s) and math.isnan(t):
                continue
            if not (abs(s - t) <= rtol * scale):
                return f"{key}[{q}]: {s!r} vs {t!r}"
    return None


class FileResult(CD.FileResult):
    verbose = False

    def check(self, what, msg):
        if msg is None and self.verbose:
            self.lines.append(f"pass {what}")
        super().check(what, msg)


# ----------------------------------------------------------------------------------------------
# one file
# ----------------------------------------------------------------------------------------------

class Builds:
    pass


def compile_all(path, args, workdir, res, model, gentext, gen):
    """Objects and drivers: serial C, C++, OpenMP, ASan. Returns Builds or None."""
    b = Builds()
    cc = args.cc
    strict = ["-std=c99", "-pedantic", "-Wall", "-Wextra", "-Werror"]
    obj = os.path.join(workdir, "gen.o")
    rc, so, se = run([cc] + strict + ["-O2", "-c", gen, "-o", obj])
    res.check("C99 compile (-pedantic -Wall -Wextra -Werror)",
              None if rc == 0 else f"failed{first_lines(se + so)}")
    if rc != 0:
        # go on without -Werror, so that the values are checked too
        strict = ["-std=c99", "-w"]
        rc, so, se = run([cc] + strict + ["-O2", "-c", gen, "-o", obj])
        if rc != 0:
            return None
    # the layout program (includes gen.c): sizeof(M_data), M_model's description
    layout = os.path.join(workdir, "layout")
    lsrc = os.path.join(workdir, "layout.c")
    with open(lsrc, "w") as f:
        f.write(layout_source(model))
    rc, so, se = run([cc, "-std=c99", "-O1", f"-I{workdir}", lsrc, "-o", layout, "-lm"])
    if rc != 0:
        res.fail(f"layout.c (which includes gen.c and names the struct's fields) does not "
                 f"compile: is the struct as documented?{first_lines(se + so)}")
        return None
    rc, so, se = run([layout])
    if rc != 0:
        res.fail(f"layout exited with {rc}{first_lines(se + so)}")
        return None
    b.layout = so
    m = re.search(r"^sizeof (\d+) (\d+)$", so, re.M)
    b.data_bytes = int(m.group(1))
    has_range = bool(re.search(r"\bM_hess_row_range\s*\(", gentext))
    b.has_range = has_range
    defs = [f"-DNPARAM={len(model.names)}", f"-DNSIZES={len(model.sizes)}",
            f"-DNDATA={len(model.data)}", f"-DDATA_BYTES={b.data_bytes}",
            f"-DHAS_ROW_RANGE={1 if has_range else 0}",
            f"-DHESS_DENSE={1 if '#define M_HESS_DENSE' in gentext else 0}"]
    drv = os.path.join(HERE, "driver.c")

    def link(tag, cflags, obj_file, linker=None, lflags=()):
        dobj = os.path.join(workdir, f"driver_{tag}.o")
        rc, so, se = run([cc, "-std=c99", "-Wall", "-Wextra", "-Werror"] + list(cflags) + defs
                         + ["-c", drv, "-o", dobj])
        if rc != 0:
            res.fail(f"driver ({tag}) does not compile{first_lines(se + so)}")
            return None
        exe = os.path.join(workdir, f"driver_{tag}")
        rc, so, se = run([linker or cc] + list(cflags) + list(lflags) +
                         [dobj, obj_file, "-o", exe, "-lm"])
        if rc != 0:
            res.fail(f"linking the {tag} build failed{first_lines(se + so)}")
            return None
        return exe

    b.serial = link("c", ["-O2"], obj)
    if not b.serial:
        return None
    res.ok()
    b.cxx = None
    if args.cxx:
        oxx = os.path.join(workdir, "gen_cxx.o")
        rc, so, se = run([args.cxx, "-x", "c++", "-Wall", "-Wextra", "-Werror", "-O2", "-c",
                          gen, "-o", oxx])
        res.check("C++ compile (-Wall -Wextra -Werror)",
                  None if rc == 0 else f"failed{first_lines(se + so)}")
        if rc != 0:
            rc, so, se = run([args.cxx, "-x", "c++", "-w", "-O2", "-c", gen, "-o", oxx])
        if rc == 0:
            b.cxx = link("cxx", ["-O2"], oxx, linker=args.cxx)
    b.omp = None
    if not args.no_openmp:
        oomp = os.path.join(workdir, "gen_omp.o")
        rc, so, se = run([cc] + strict + ["-O2", "-fopenmp", "-c", gen, "-o", oomp])
        res.check("C99 compile with -fopenmp",
                  None if rc == 0 else f"failed{first_lines(se + so)}")
        if rc != 0:
            rc, so, se = run([cc, "-std=c99", "-w", "-O2", "-fopenmp", "-c", gen, "-o", oomp])
        if rc == 0:
            b.omp = link("omp", ["-O2", "-fopenmp"], oomp)
    b.asan = None
    if not args.no_asan:
        san = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer",
               "-fno-sanitize-recover=all", "-g"]
        probe = os.path.join(workdir, "probe.c")
        with open(probe, "w") as f:
            f.write("int main(void) { return 0; }\n")
        rc, _, _ = run([cc] + san + [probe, "-o", probe[:-2]])
        if rc == 0:
            oasan = os.path.join(workdir, "gen_asan.o")
            rc, so, se = run([cc, "-std=c99", "-w", "-O1"] + san + ["-c", gen, "-o", oasan])
            res.check("C99 compile under -fsanitize=address,undefined",
                      None if rc == 0 else f"failed{first_lines(se + so)}")
            if rc == 0:
                b.asan = link("asan", ["-O1"] + san, oasan)
        else:
            res.lines.append(f"note {path}: the compiler cannot build with AddressSanitizer; "
                             "skipped")
    return b


def layout_source(model):
    sizes, data = model.sizes, model.data
    L = ['#include "gen.c"', "#include <stdio.h>", "#include <stddef.h>", "#include <string.h>",
         "", "static double buf[4096];", "", "int main(void)", "{",
         "    const hessgen_model *m = &M_model;", "    M_data a, b;", "    int k, rc, same;"]
    L.append(f"    size_t counts[{len(sizes) + 1}] = {{{', '.join(['5'] * len(sizes) + ['0'])}}};")
    L.append(f"    const double *arrays[{len(data) + 1}];")
    L.append('    printf("sizeof %lu %lu\\n", (unsigned long)sizeof(M_data), '
             '(unsigned long)m->data_bytes);')
    L.append('    printf("model %d %s %d %d %d %d\\n", m->version, m->name, m->nparam, '
             'm->hess_nnz, m->ndata, m->nsizes);')
    L.append('    for (k = 0; k < m->ndata; k++) printf("data %s %d %d\\n", m->data_names[k], '
             'm->data_width[k], m->data_size[k]);')
    L.append('    for (k = 0; k < m->nsizes; k++) printf("size %s %d\\n", m->size_names[k], '
             'm->size_needed[k]);')
    for s in sizes:
        L.append(f'    printf("offset {s} %lu\\n", (unsigned long)offsetof(M_data, {s}));')
    for d in data:
        L.append(f'    printf("offset {d.name} %lu\\n", (unsigned long)offsetof(M_data, '
                 f'{d.name}));')
    L.append("    memset(&a, 0, sizeof a);")
    L.append("    memset(&b, 0, sizeof b);")
    for s in sizes:
        L.append(f"    a.{s} = 5;")
    for k, d in enumerate(data):
        L.append(f"    arrays[{k}] = buf + {k * 512};")
        L.append(f"    a.{d.name} = buf + {k * 512};")
    L.append("    for (k = 0; k < 4096; k++) buf[k] = 0.25 + (k % 7) * 0.125;")
    L.append("    rc = M_data_bind(&b, counts, arrays);")
    conds = [f"a.{s} == b.{s}" for s in sizes] + [f"a.{d.name} == b.{d.name}" for d in data]
    L.append(f"    same = {' && '.join(conds) if conds else '1'};")
    L.append('    printf("bind %d %d %d\\n", rc, same, m->data_bind(&a, counts, arrays));')
    L.append('    printf("check %d %d\\n", M_data_check(&b), m->data_check(&b));')
    L.append('    printf("error %d\\n", m->data_error == M_data_error);')
    L.append("    {")
    L.append("        double th[M_NPARAM], g1[M_NPARAM], g2[M_NPARAM], h1[M_NPARAM * M_NPARAM],"
             " h2[M_NPARAM * M_NPARAM];")
    L.append("        double l1, l2, l3, l4;")
    L.append("        for (k = 0; k < M_NPARAM; k++) th[k] = 0.125 * (k % 5) - 0.25;")
    L.append("        l1 = M_hess(th, &b, g1, h1);")
    L.append("        l2 = m->hess(th, &b, g2, h2);")
    L.append("        l3 = M_loss(th, &b);")
    L.append("        l4 = m->loss(th, &b);")
    L.append('        printf("fnptr %d\\n", (l1 == l2 || (l1 != l1 && l2 != l2)) && '
             '(l3 == l4 || (l3 != l3 && l4 != l4)) && '
             'memcmp(g1, g2, sizeof g1) == 0 && memcmp(h1, h2, sizeof h1) == 0);')
    L.append("    }")
    L.append("    return 0;")
    L.append("}")
    return "\n".join(L) + "\n"


def check_layout(b, model, needed, res):
    so = b.layout
    lines = so.splitlines()
    msgs = []
    sz = re.search(r"^sizeof (\d+) (\d+)$", so, re.M)
    if sz.group(1) != sz.group(2):
        msgs.append(f"M_model.data_bytes {sz.group(2)} != sizeof(M_data) {sz.group(1)}")
    mm = re.search(r"^model (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)$", so, re.M)
    if mm:
        ver, name, npar, nnz, ndata, nsizes = mm.groups()
        if int(npar) != len(model.names):
            msgs.append(f"nparam {npar}, expected {len(model.names)}")
        if int(ndata) != len(model.data):
            msgs.append(f"ndata {ndata}, expected {len(model.data)}")
        if int(nsizes) != len(model.sizes):
            msgs.append(f"nsizes {nsizes}, expected {len(model.sizes)}")
    got_data = [ln.split()[1:] for ln in lines if ln.startswith("data ")]
    want_data = [[d.name, str(d.width), str(model.sizes.index(d.size) if d.size else -1)]
                 for d in model.data]
    if got_data != want_data:
        msgs.append(f"data (name, width, size index) {got_data}, expected {want_data}")
    got_sizes = [ln.split()[1:] for ln in lines if ln.startswith("size ")]
    want_sizes = [[s, str(int(needed[s])) if needed[s] is not None else g[1]]
                  for s, g in zip(model.sizes, got_sizes + [[None, None]] * len(model.sizes))]
    if got_sizes != want_sizes:
        msgs.append(f"sizes (name, needed) {got_sizes}, expected {want_sizes}")
    offs = [(ln.split()[1], int(ln.split()[2])) for ln in lines if ln.startswith("offset ")]
    order = [o for _, o in offs]
    if order != sorted(order) or len(set(order)) != len(order):
        msgs.append("the fields are not in the documented order (counts in order of first "
                    f"appearance, then arrays in declaration order): offsets {offs}")
    bl = re.search(r"^bind (\S+) (\S+) (\S+)$", so, re.M)
    if not bl or bl.group(2) != "1":
        msgs.append("M_data_bind does not fill the fields as named: "
                    f"{bl.group(0) if bl else 'no output'}")
    if bl and (bl.group(1) != "0" or bl.group(3) != "0"):
        msgs.append(f"M_data_bind on a valid 5-row data set returned {bl.group(1)} "
                    f"(through M_model {bl.group(3)})")
    ck = re.search(r"^check (\S+) (\S+)$", so, re.M)
    if not ck or ck.group(1) != ck.group(2) or ck.group(1) != "0":
        msgs.append(f"M_data_check / M_model.data_check: {ck.group(0) if ck else 'none'}")
    if not re.search(r"^error 1$", so, re.M):
        msgs.append("M_model.data_error is not M_data_error")
    if not re.search(r"^fnptr 1$", so, re.M):
        msgs.append("M_model.loss/hess do not give what M_loss/M_hess give")
    res.check("struct layout and M_model's data description", "; ".join(msgs) or None)


def driver_input(model, ds, points, mode=0, counts_override=None, arrays_override=None):
    out = [str(mode)]
    counts = counts_override or ds.counts
    out.append(" ".join(str(counts[s]) for s in model.sizes))
    for d in model.data:
        vals = ds.values[d.name]
        if arrays_override and d.name in arrays_override:
            vals = arrays_override[d.name]
        out.append(f"{len(vals)} " + " ".join(float(x).hex() for x in vals))
    out.append(str(len(points)))
    for theta, v in points:
        out.append(" ".join(float(t).hex() for t in list(theta) + list(v)))
    return "\n".join(out) + "\n"


def run_driver(exe, stdin, env=None, timeout=300):
    rc, so, se = run([exe], stdin=stdin, env=env, timeout=timeout)
    return rc, parse_output(so), so, se


def check_values(res, model, where, got, exact, v, entries, pat, has_range, rows):
    """One point: every output against the exact values."""
    L, g, H = exact
    n = len(model.names)
    names = model.names
    lab_g = [f"[{nm}]" for nm in names]
    lab_h = [f"[{i}][{j}] ({names[i]},{names[j]})" for i in range(n) for j in range(n)]

    def chk(what, msg):
        res.check(f"{where}: {what}", msg)
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
    with mpmath.workdps(100):
        hv = [mpmath.fsum(H[i][j] * mpmath.mpf(v[j]) for j in range(n)) for i in range(n)]
    chk("hvp", compare(got["hvp"], hv, ["M_hvp" + s for s in lab_g]))
    msg = compare(got["sparse"] + got["values"], [H[r][c] for (r, c) in entries] * 2,
                  [f"M_hess_sparse value #{q} [{r}][{c}]" for q, (r, c) in enumerate(entries)]
                  + [f"M_hess_values value #{q} [{r}][{c}]" for q, (r, c) in enumerate(entries)])
    if msg is None:
        scale = max([abs(e) for e in Hf] + [mpmath.mpf(TINY)])
        for i in range(n):
            for j in range(i + 1):
                if (i, j) in pat:
                    continue
                if abs(H[i][j]) > RTOL * scale:
                    msg = (f"[{i}][{j}] is missing from the pattern but the exact value is "
                           f"{CD.fmt(H[i][j])}")
                elif got["hess_grad"][i * n + j] != 0.0 or got["hess_grad"][j * n + i] != 0.0:
                    msg = f"M_hess[{i}][{j}] is outside the pattern but not exactly 0"
                if msg:
                    break
            if msg:
                break
    chk("sparse hessian", msg)
    if has_range:
        hl = got["hess_grad"]
        gl = got["grad_grad"]
        lo = got["loss"][0]
        msgs = []
        for tag, (xl, xg, xh) in (("3 parts summed", ("range_loss", "range_grad", "range_hess")),
                                  ("[0, n)", ("whole_loss", "whole_grad", "whole_hess"))):
            for what, a, bb in (("loss", got[xl], [lo]), ("grad", got[xg], gl),
                                ("hess", got[xh], hl)):
                m = CD.compare(a, [mpmath.mpf(t) for t in bb],
                               [f"{what}[{q}]" for q in range(len(bb))])
                if m:
                    msgs.append(f"{tag} {what} differs from M_hess's: {m} (parts "
                                f"{got.get('parts')})")
        empty = got["empty_loss"] + got["empty_grad"] + got["empty_hess"]
        if rows > 0 and any(x != 0.0 for x in empty):
            msgs.append(f"[n, n) is not 0: {[x for x in empty if x != 0.0][:3]}")
        past = got["past_loss"] + got["past_grad"] + got["past_hess"]
        if not all(math.isnan(x) for x in past):
            msgs.append("[0, n+1) does not give NaN everywhere")
        if rows > 0:
            rev = got["reversed_loss"] + got["reversed_hess"]
            if not all(math.isnan(x) for x in rev):
                msgs.append("[1, 0) does not give NaN everywhere")
        chk("M_hess_row_range", "; ".join(msgs) or None)


def all_nan(got):
    bad = []
    for key, vals in got.items():
        if key == "parts":
            continue
        for q, x in enumerate(vals):
            if not math.isnan(x):
                bad.append(f"{key}[{q}] = {x!r}")
                break
    return bad


def check_file(path, args, workdir):
    res = FileResult(path)
    t0 = time.time()
    os.makedirs(workdir, exist_ok=True)
    gen = os.path.abspath(os.path.join(workdir, "gen.c"))
    if os.path.exists(gen):
        os.remove(gen)

    # 1. the oracle's model
    try:
        model = hl2sympy.parse_data_file(path)
    except hl2sympy.HLError as e:
        res.fail(f"oracle cannot read the file: {e}")
        return res
    if not model.data:
        res.fail("the file declares no data arrays")
        return res
    try:
        ranges, tbox = parse_directives(path, model)
    except ValueError as e:
        res.fail(str(e))
        return res
    n = len(model.names)

    # 2. hessgen, twice
    rc, so, se = run([args.hessgen, path, "-o", gen, "--prefix", PREFIX] + LOOPS)
    if rc != 0 or not os.path.exists(gen):
        res.fail(f"hessgen exited with {rc}{first_lines(se + so)}")
        return res
    with open(gen, encoding="utf-8", errors="replace") as f:
        gentext = f.read()
    gen2 = gen[:-2] + "_again.c"
    rc, so, se = run([args.hessgen, path, "-o", gen2, "--prefix", PREFIX] + LOOPS)
    with open(gen2, encoding="utf-8", errors="replace") as f:
        res.check("hessgen's output is the same on a second run",
                  None if rc == 0 and f.read() == gentext else "it differs")
    if args.use_gen:
        shutil.copyfile(args.use_gen, gen)
        with open(gen, encoding="utf-8", errors="replace") as f:
            gentext = f.read()

    # 3. the template and its derivatives (the 1000-row oracle)
    tex = TemplateExact(model)
    tpl = tex.tpl

    # 4. builds
    b = compile_all(path, args, workdir, res, model, gentext, gen)
    if b is None:
        return res

    # which counts a mean makes necessary, by the unrolled oracle: count s at 0, others at 1
    needed = {}
    for s in model.sizes:
        counts = {t: (0 if t == s else 1) for t in model.sizes}
        ds = make_dataset(model, ranges, "probe", counts, 0)
        try:
            model.loss_for(ds.oracle_values())
            needed[s] = False
        except hl2sympy.EmptyMean:
            needed[s] = True
        except hl2sympy.HLError as e:    # e.g. a division by the count: undefined, not a mean
            res.lines.append(f"note {path}: with {s} = 0 the loss is undefined: {e.msg}")
            needed[s] = None
    check_layout(b, model, needed, res)

    # 5. the emitted C: no unrolled copies
    check_emitted(res, model, gentext, tex)

    # M_hess_row_range exists exactly where the oracle says the loss is row-separable
    want_range = row_separable(tex.loss, tpl)
    res.check("M_hess_row_range exists exactly when the loss is a sum of row terms plus terms "
              "free of rows over one row count",
              None if want_range in (None, b.has_range) else
              f"it is {'present' if b.has_range else 'absent'}, but the loss is "
              f"{'' if want_range else 'not '}such a sum")

    # 6. data sets
    seed0 = zlib.crc32(os.path.basename(path).encode())
    sets = []
    if model.sizes:
        plans = [("0 rows", {s: 0 for s in model.sizes}),
                 ("1 row", {s: 1 for s in model.sizes}),
                 ("7 rows", {s: 7 for s in model.sizes})]
        if len(model.sizes) > 1:
            first, rest = model.sizes[0], model.sizes[1:]
            plans += [(f"{first}=7, others 1", {s: (7 if s == first else 1) for s in model.sizes}),
                      (f"{first}=1, others 7", {s: (1 if s == first else 7) for s in model.sizes}),
                      (f"{first}=0, others 7", {s: (0 if s == first else 7) for s in model.sizes}),
                      (f"{first}=7, others 0", {s: (7 if s == first else 0) for s in model.sizes})]
    else:
        plans = [("fixed data", {})]
    for k, (label, counts) in enumerate(plans):
        sets.append((make_dataset(model, ranges, label, counts, seed0 + 17 * k), False))
    pool = POOL if tex.plan.pairs else None
    if model.sizes:
        large = make_dataset(model, ranges, f"{LARGE} rows" + (
            f" (from {POOL} distinct rows)" if pool else ""),
            {s: LARGE for s in model.sizes}, seed0 + 1001, pool=pool)
        sets.append((large, True))

    rng = random.Random(seed0 ^ 0x5A5A)
    entries = None
    pat = set()
    cxx_checked = False
    for ds, is_large in sets:
        # the exact values (or: the data set is invalid for the loss)
        try:
            ue = None if is_large else UnrolledExact(model, ds)
            defined = True
        except hl2sympy.EmptyMean:
            defined = False
        except hl2sympy.HLError as e:
            res.lines.append(f"note {path}: {ds.label}: the loss is undefined ({e.msg}); "
                             "not checked")
            continue
        if not defined:
            check_undefined_set(res, model, b, ds)
            continue
        prep = tex.prepare(ds)
        pts = []
        tries = 0
        want = PTS_LARGE if is_large else PTS_SMALL
        skipped = []
        while len(pts) < want and tries < MAX_TRIES:
            tries += 1
            theta = [rng.uniform(*tbox) for _ in range(n)]
            v = [rng.uniform(-1, 1) for _ in range(n)]
            try:
                if is_large:
                    ex = tex.at(theta, ds, prep)
                else:
                    ex = ue.at(theta)
                    if ds.rows() == 7:
                        # the two routes of the oracle agree
                        ex2 = tex.at(theta, ds, prep)
                        if not agree([ex[0]] + ex[1] + [x for row in ex[2] for x in row],
                                     [ex2[0]] + ex2[1] + [x for row in ex2[2] for x in row], n):
                            res.fail(f"{ds.label}: oracle error: the unrolled and the Sum "
                                     f"routes disagree (loss {CD.fmt(ex[0])} vs "
                                     f"{CD.fmt(ex2[0])})")
                pts.append((theta, v, ex))
            except Invalid as e:
                skipped.append(str(e))
        if len(pts) < want:
            res.fail(f"{ds.label}: only {len(pts)} valid points: {'; '.join(skipped[:3])}")
            if not pts:
                continue
        stdin = driver_input(model, ds, [(t, v) for t, v, _ in pts])
        rc, out, so, se = run_driver(b.serial, stdin)
        if rc != 0 or not out.get("end"):
            res.fail(f"{ds.label}: the driver exited with {rc}{first_lines(se + so[-1500:])}")
            continue
        res.ok()
        if out["lines"].get("check") != 0:
            res.fail(f"{ds.label}: M_data_check = {out['lines'].get('check')} "
                     f"({out['lines'].get('message')}) on a valid data set")
            continue
        if entries is None:
            entries = out["entries"]
            perr = []
            if out.get("nnz") != len(entries):
                perr.append(f"M_hess_nnz = {out.get('nnz')} but {len(entries)} entries")
            for (r, c) in entries:
                if not (0 <= c <= r < n) or (r, c) in pat:
                    perr.append(f"entry ({r},{c}) out of the lower triangle or repeated")
                pat.add((r, c))
            res.check("sparsity pattern", "; ".join(perr[:4]) or None)
        if out["overflow"]:
            res.fail(f"{ds.label}: writes past the end of an output buffer: {out['overflow']}")
        for p, ((theta, v, ex), got) in enumerate(zip(pts, out["points"])):
            where = f"{ds.label}, point {p + 1} {CD.point_text(model.names, theta)}"
            check_values(res, model, where, got, ex, v, entries, pat, b.has_range,
                         ds.counts[model.sizes[0]] if model.sizes else 0)
        # the same data set under AddressSanitizer (NULL arrays at 0 rows)
        if b.asan:
            rc2, out2, so2, se2 = run_driver(b.asan, stdin)
            msg = None
            if rc2 != 0 or not out2.get("end"):
                msg = f"exited with {rc2}{first_lines(se2, 12)}"
            else:
                for a, c in zip(out["points"], out2["points"]):
                    msg = msg or same_within(a, c, OMP_RTOL)
            res.check(f"{ds.label}: AddressSanitizer build", msg)
        # C++ build on the 7-row set
        if b.cxx and not is_large and ds.rows() == 7 and not cxx_checked:
            cxx_checked = True
            rc2, out2, so2, se2 = run_driver(b.cxx, stdin)
            msg = None
            if rc2 != 0 or not out2.get("end"):
                msg = f"exited with {rc2}"
            else:
                for a, c in zip(out["points"], out2["points"]):
                    msg = msg or same_within(a, c, OMP_RTOL)
            res.check(f"{ds.label}: the C++ build matches the C build", msg)
        # OpenMP on the large set
        if b.omp and is_large:
            check_openmp(res, model, b, ds, stdin, out)

    # OpenMP where the loops really go parallel (no oracle: the serial build is the reference)
    if b.omp and model.sizes:
        big = make_dataset(model, ranges, f"{OMP_ROWS} rows", {s: OMP_ROWS for s in model.sizes},
                           seed0 + 2002)
        theta = [rng.uniform(*tbox) for _ in range(n)]
        v = [rng.uniform(-1, 1) for _ in range(n)]
        stdin = driver_input(model, big, [(theta, v)])
        rc, out, so, se = run_driver(b.serial, stdin)
        if rc != 0 or not out.get("end"):
            res.fail(f"{big.label}: the serial driver exited with {rc}")
        else:
            fin = all(math.isfinite(x) for x in out["points"][0]["loss"])
            res.check(f"{big.label}: finite values", None if fin else "the loss is not finite")
            check_openmp(res, model, b, big, stdin, out)

    # 7. bad data structs
    check_bad_data(res, model, b, needed, ranges, seed0)
    res.seconds = time.time() - t0
    return res


def check_openmp(res, model, b, ds, stdin, serial_out):
    """2 threads, then 3 and 4 (a lost update in a race shows more often with more)."""
    msg = None
    for threads in ("2", "3", "4"):
        env = dict(os.environ, OMP_NUM_THREADS=threads)
        rc, out, so, se = run_driver(b.omp, stdin, env=env)
        if rc != 0 or not out.get("end"):
            msg = f"the OpenMP driver exited with {rc} ({threads} threads){first_lines(se)}"
        else:
            for a, c in zip(serial_out["points"], out["points"]):
                m = same_within(a, c, THREADS_RTOL)
                msg = msg or (m and f"{threads} threads: {m}")
        if msg:
            break
    res.check(f"{ds.label}: OpenMP (2, 3, 4 threads) matches the serial build to {THREADS_RTOL:g}",
              msg)


def check_undefined_set(res, model, b, ds):
    """A data set on which the loss is undefined (a mean over 0 rows): an error, NaN."""
    zero = [s for s in model.sizes if ds.counts[s] == 0]
    theta = [0.25] * len(model.names)
    stdin = driver_input(model, ds, [(theta, theta)])
    for tag, exe in (("serial", b.serial), ("AddressSanitizer", b.asan)):
        if exe is None:
            continue
        rc, out, so, se = run_driver(exe, stdin)
        if rc != 0 or not out.get("end"):
            res.fail(f"{ds.label} ({tag}): the driver exited with {rc}{first_lines(se, 12)}")
            continue
        code = out["lines"].get("check")
        msg = out["lines"].get("message", "")
        errs = []
        if not code:
            errs.append("M_data_check returns 0, but the loss takes a mean over 0 rows")
        elif not any(f"'{s}'" in msg for s in zero):
            errs.append(f"the message {msg!r} names none of {zero}")
        bad = all_nan(out["points"][0]) if out["points"] else ["no point"]
        if bad:
            errs.append("not NaN: " + ", ".join(bad[:4]))
        res.check(f"{ds.label} ({tag}): undefined (a mean over 0 rows)", "; ".join(errs) or None)


def check_bad_data(res, model, b, needed, ranges, seed0):
    """Each bad struct gets its own code and a message naming what is wrong; NaN everywhere."""
    theta = [0.25] * len(model.names)
    counts3 = {s: 3 for s in model.sizes}
    ds3 = make_dataset(model, ranges, "3 rows", counts3, seed0 + 3003)
    cases = []       # (label, stdin, word the message must name or None)
    cases.append(("NULL struct", driver_input(model, ds3, [(theta, theta)], mode=1), None))
    for d in model.data:
        cases.append((f"'{d.name}' NULL" + (f" with {d.size} = 3" if d.size else ""),
                      driver_input(model, ds3, [(theta, theta)],
                                   arrays_override={d.name: []}), d.name))
    for s in model.sizes:
        if needed[s]:  # (None: undefined at 0 for another reason; not a case here)
            c = dict(counts3)
            c[s] = 0
            ds0 = make_dataset(model, ranges, "0", c, seed0 + 4004)
            cases.append((f"{s} = 0 under a mean", driver_input(model, ds0, [(theta, theta)]), s))
        widths = [d.width for d in model.data if d.size == s]
        if max(widths) > 1:
            c = dict(counts3)
            c[s] = SIZE_MAX // max(widths) + 1
            cases.append((f"{s} = {c[s]} (its rows overflow size_t)",
                          driver_input(model, ds3, [(theta, theta)], counts_override=c), s))
    codes = {}
    messages = {}
    for label, stdin, word in cases:
        for tag, exe in (("serial", b.serial), ("AddressSanitizer", b.asan)):
            if exe is None:
                continue
            rc, out, so, se = run_driver(exe, stdin)
            where = f"bad data: {label} ({tag})"
            if rc != 0 or not out.get("end"):
                res.fail(f"{where}: the driver exited with {rc}{first_lines(se, 12)}")
                continue
            errs = []
            code = out["lines"].get("check")
            msg = out["lines"].get("message", "")
            if not code:
                errs.append("M_data_check returns 0")
            if out["lines"].get("recheck") != code:
                errs.append(f"M_data_check gives {out['lines'].get('recheck')} then {code}")
            if not msg or msg == "(null)" or msg == out["lines"].get("message_0"):
                errs.append(f"no message of its own ({msg!r})")
            if word and f"'{word}'" not in msg:
                errs.append(f"the message {msg!r} does not name '{word}'")
            if label == "NULL struct":
                for k in ("bind_null_struct", "bind_null_counts", "bind_null_arrays"):
                    if not out["lines"].get(k):
                        errs.append(f"{k}: M_data_bind returns 0")
                if out["lines"].get("message_unknown") in (None, "(null)", ""):
                    errs.append("M_data_error(9999) gives no message")
            bad = all_nan(out["points"][0]) if out["points"] else ["no point"]
            if bad:
                errs.append("not NaN: " + ", ".join(bad[:4]))
            res.check(where, "; ".join(errs) or None)
            if tag == "serial" and code:
                codes.setdefault(code, []).append(label)
                messages.setdefault(msg, []).append(label)
    dup = [v for v in codes.values() if len(v) > 1] + [v for v in messages.values() if len(v) > 1]
    res.check("bad data: every case has its own code and message",
              f"shared by {dup}" if dup else None)


def check_emitted(res, model, text, tex):
    body = function_body(text, "M_loss")
    if body is None:
        res.fail("no definition of M_loss found in the generated file")
        return
    # an outermost loop over rows is a function of its own (M_rowsK), called by M_loss: its
    # body is part of what M_loss computes, and the call is not a math call
    for fn in sorted(set(re.findall(r"\b(M_rows\d+|M_loss_rows)\b", body))):
        inner = function_body(text, fn)
        if inner is None:
            res.fail(f"M_loss calls {fn}, which the generated file does not define")
            return
        body = body.replace(fn + "(", "loop_function(") + "\n" + inner
    # array loops: M_loss runs its part over rows, M_loss_rows, through M_rows (the threads)
    body = body.replace("M_rows(", "loop_function(")
    # pairs of rows over parts (M_visitK, M_pairedK): the same loop split in two, another path
    body = re.sub(r"\bM_(visit|paired)\d+\(", "loop_function(", body)
    errs = []
    depth = tex.plan.depth
    got_depth = loop_depth(body)
    # (array loops name every loop variable i<k>: a loop over rows is `for (size_t i<k> = `)
    if model.sizes and not re.search(r"for \(size_t (r0|i\d+) = ", body):
        errs.append("M_loss has no `for (size_t r0` loop over rows")
    # an inner reduction that does not read the outer row is hoisted out of the outer loop
    # (the variance's mean), so nesting is not required; unrolling is caught below by a row
    # read at a constant index
    if depth and got_depth < 1:
        errs.append(f"M_loss has no row loop; the loss nests {depth} row reductions")
    for d in model.data:
        if d.size is None:
            continue
        # a row read at a constant index is an unrolled row
        for m in re.finditer(r"\bD_" + re.escape(d.name) + r"\[([^\]]*)\]", body):
            if not re.search(r"\b[ri]\d+\b", m.group(1)):
                errs.append(f"M_loss reads '{d.name}' at a constant row: {m.group(0)}")
                break
    calls = MATH_CALL.findall(body)
    src = tex.tpl.calls
    bound = sum(v for k, v in src.items() if k != "^var") + 2 * src.get("^var", 0)
    if len(calls) > bound:
        errs.append(f"M_loss makes {len(calls)} math calls ({', '.join(sorted(set(calls)))}), "
                    f"more than the {bound} the source applies with only fixed reductions "
                    "expanded: an unrolled copy?")
    res.check("the emitted M_loss keeps the rows in loops (no unrolled copies)",
              "; ".join(errs) or None)


def main(argv):
    ap = argparse.ArgumentParser(description="check hessgen's code for losses over data")
    ap.add_argument("files", nargs="+", metavar="FILE.hl")
    ap.add_argument("--hessgen", required=True)
    ap.add_argument("--cc", required=True)
    ap.add_argument("--cxx")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--no-asan", action="store_true")
    ap.add_argument("--no-openmp", action="store_true")
    ap.add_argument("--loops", choices=["auto", "always", "never"],
                    help="pass --loops=MODE to hessgen (default: its own default)")
    ap.add_argument("--verbose", action="store_true", help="list the checks that pass too")
    ap.add_argument("--use-gen", metavar="FILE.c",
                    help="test this generated file instead of hessgen's (to see that the "
                         "checks catch a planted error); with a single FILE.hl")
    args = ap.parse_args(argv)
    if args.loops:
        LOOPS.append("--loops=" + args.loops)
    FileResult.verbose = args.verbose
    root = args.workdir or tempfile.mkdtemp(prefix="hessgen-data-")
    total_p = total_f = 0
    try:
        for path in args.files:
            stem = re.sub(r"[^A-Za-z0-9_.-]", "_", os.path.splitext(os.path.basename(path))[0])
            try:
                wd = root if args.workdir and len(args.files) == 1 else os.path.join(root, stem)
                res = check_file(path, args, wd)
            except Exception as e:   # an oracle bug must not look like a pass
                import traceback
                res = FileResult(path)
                res.fail(f"oracle error: {type(e).__name__}: {e}\n"
                         + traceback.format_exc(limit=6))
            for ln in res.lines:
                print(ln)
            status = "ok  " if res.failed == 0 else "FAIL"
            secs = getattr(res, "seconds", 0.0)
            print(f"{status} {path}: {res.passed} passed, {res.failed} failed ({secs:.1f} s)")
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
