#!/usr/bin/env python3
"""check_corpus.py: the corpus of `at ... expect LABEL;` cases for `hessgen --check`, with
independent proofs.

    python3 tests/exact/check_corpus.py HESSGEN CORPUS [CORPUS...] [--certificates-only] [-v]

CORPUS is a directory (every *.hl in it) or a .hl file. For every `at` line:

  1. the `#@` certificate lines right above it are checked with SymPy in exact arithmetic, and
     together they must prove the line's label (README.md in this directory gives the format
     and the mathematics);
  2. unless --certificates-only, `HESSGEN --check --json FILE` is run once per file and its
     verdict for the line is compared with what the certificates prove: a verdict that
     contradicts a proven fact is WRONG and fails the run; `undetermined` verdicts are counted
     (more than 10% of the cases, or one without a reason, fails the run); the certificates
     hessgen gives for its own answers (kinds "curves" and "gradient") are checked too.

Exit status: 0 all good, 1 something failed, 2 bad command line.
The loss is read by tests/oracle/hl2sympy.py (the oracle's independent front end); the `at`
and `#@` lines are parsed here, with that front end's lexer, parser and evaluator.
"""

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from fractions import Fraction

import sympy as sp

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "hl2sympy", os.path.join(HERE, "..", "oracle", "hl2sympy.py"))
H = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(H)

T = sp.Symbol("t", positive=True)      # the curve parameter; curves are looked at for t -> 0+
EPS = sp.Symbol("eps_taylor")          # scaling variable for multivariate Taylor expansions
VERDICTS = {"strict_min", "min", "strict_max", "max", "saddle", "not_critical", "undetermined"}
CORPUS_LABELS = {"strict_min", "min", "strict_max", "max", "saddle", "not_critical",
                 "degenerate"}
CERT_KINDS = {"up", "down", "sos", "nsos", "zero", "weights", "gradient", "singular",
              "isolated"}
MAX_SERIES_ORDER = 24                  # series are tried at orders 8, 12, ..., up to this
UNDETERMINED_BUDGET = 0.10


class CertError(Exception):
    """A certificate (or an `at` line) that is malformed or does not prove what it says."""


# ----------------------------------------------------------------------------------------------
# Exact tests on constants
# ----------------------------------------------------------------------------------------------

def _simp(e):
    e = sp.sympify(e)
    if e.is_Rational:
        return e
    return sp.simplify(e)


def is_zero(e):
    """Exact zero test of a constant; raises CertError when SymPy cannot decide."""
    e = _simp(e)
    if e == 0:
        return True
    z = e.is_zero
    if z is None:
        z = e.equals(0)
    if z is None:
        raise CertError(f"cannot decide exactly whether {e} is zero")
    return bool(z)


def sign(e):
    """Exact sign (-1, 0, 1) of a real constant; raises CertError when SymPy cannot decide."""
    e = _simp(e)
    if is_zero(e):
        return 0
    if e.is_extended_real is False:
        raise CertError(f"{e} is not real")
    if e.is_positive:
        return 1
    if e.is_negative:
        return -1
    raise CertError(f"cannot decide exactly the sign of {e}")


def identically_zero(e, syms):
    """Is the expression e in syms identically zero? Polynomials and rational functions are
    expanded exactly; anything else goes through simplify (and must come out as 0)."""
    e = sp.sympify(e)
    if e.is_rational_function(*syms):
        return sp.cancel(sp.together(e)) == 0
    for f in (sp.simplify, lambda a: sp.simplify(sp.expand_trig(a)), sp.trigsimp):
        if f(e) == 0:
            return True
    return False


# ----------------------------------------------------------------------------------------------
# Parsing: the loss by hl2sympy; `at` statements kept with their values; `#@` lines
# ----------------------------------------------------------------------------------------------

class AtParser(H.Parser):
    """hl2sympy's parser, except that an `at` statement keeps its assignments and label:
    ("at", loc, [(name, loc, init_ast), ...], label)."""

    def statement(self):
        t = self.peek()
        if t.kind == "kw" and t.text == "at":
            self.take()
            assigns = []
            while True:
                nm = self.ident("a parameter name")
                self.expect("=")
                assigns.append((nm.text, nm.loc, self.init()))
                if self.at(",", "punct"):
                    self.take()
                    continue
                break
            self.expect("expect")
            lab = self.ident("a label")
            if lab.text not in H.LABELS:
                self.err(lab, f"unknown label '{lab.text}'")
            self.expect(";")
            return ("at", t.loc, assigns, lab.text)
        return super().statement()


class Cert:
    def __init__(self, kind, line, text):
        self.kind, self.line, self.text = kind, line, text
        self.data = None


class Case:
    def __init__(self, cfile, line, label, point):
        self.cfile, self.line, self.label, self.point = cfile, line, label, point
        self.certs = []
        self.facts = set()       # proven: min, max, strict_min, strict_max, not_min, not_max,
        #                          not_strict
        self.critical = None     # exact gradient == 0
        self.singular = None     # exact Hessian determinant == 0
        self.L0 = None           # exact L(point)
        self.proof = []          # certificate kinds that verified

    @property
    def where(self):
        return f"{self.cfile.path}:{self.line}"


class CorpusFile:
    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.src = f.read()
        toks = H.lex(self.src, path)
        stmts = AtParser(toks, path).program()
        self.sema = H.Sema(stmts, path)
        self.model = self.sema.run()
        self.syms = list(self.model.symbols)
        self.loss = self.model.loss
        self.is_poly = self.loss.is_polynomial(*self.syms)
        self._grad = None
        self._hess = None
        pdecl = {}
        for st in stmts:
            if st[0] == "param":
                for d in st[2]:
                    pdecl[d[0]] = d
        lines = self.src.split("\n")
        owned = set()
        self.cases = []
        for st in stmts:
            if st[0] != "at":
                continue
            line = st[1][0]
            point = self._point(st, pdecl)
            case = Case(self, line, st[3], point)
            # the certificate block: the comment lines directly above the `at` line
            i = line - 2
            block = []
            while i >= 0 and lines[i].lstrip().startswith("#"):
                block.append(i)
                i -= 1
            for i in reversed(block):
                s = lines[i].lstrip()
                if s.startswith("#@+"):       # continues the certificate line above
                    if not case.certs or i - 1 not in owned:
                        raise CertError(f"{path}:{i + 1}: '#@+' does not follow a '#@' line")
                    owned.add(i)
                    case.certs[-1].text += " " + s[3:].strip()
                elif s.startswith("#@"):
                    owned.add(i)
                    case.certs.append(parse_cert_line(s[2:], path, i + 1))
            self.cases.append(case)
        for i, s in enumerate(lines):
            if s.lstrip().startswith("#@") and i not in owned:
                raise CertError(f"{path}:{i + 1}: a '#@' line that is not directly above "
                                f"an 'at' line")

    def _point(self, st, pdecl):
        _, loc, assigns, _ = st
        vals = {}
        for name, nloc, init in assigns:
            if name not in pdecl:
                raise H.HLError(self.path, nloc, f"'{name}' is not a parameter")
            if name in vals:
                raise H.HLError(self.path, nloc, f"'{name}' is given twice")
            d = pdecl[name]
            dims = [self.sema.const_int(x, "array dimension") for x in d[2]]
            vals[name] = self.sema.init_values(name, nloc, dims, init)
        point = []
        for name in pdecl:
            if name not in vals:
                raise H.HLError(self.path, loc, f"the 'at' line does not give '{name}'")
            point += vals[name]
        return point

    def gradient_exprs(self):
        if self._grad is None:
            self._grad = [sp.diff(self.loss, s) for s in self.syms]
        return self._grad

    def hessian_exprs(self):
        if self._hess is None:
            g = self.gradient_exprs()
            n = len(self.syms)
            self._hess = [[sp.diff(g[i], self.syms[j]) if j <= i else None for j in range(n)]
                          for i in range(n)]
        return self._hess

    # -- certificate expressions, in .hl syntax, evaluated by hl2sympy's evaluator ------------
    def parser(self, text, where):
        return H.Parser(H.lex(text, where), where)

    def eval_expr(self, ast, env):
        return self.sema.scalar(ast, env)

    def expr_list(self, text, where, env):
        p = self.parser(text, where)
        out = [self.eval_expr(p.expr(), env)]
        while p.at(",", "punct"):
            p.take()
            out.append(self.eval_expr(p.expr(), env))
        if p.peek().kind != "eof":
            p.err(p.peek(), f"unexpected '{p.peek().text}'")
        return out

    def assignments(self, text, where, env):
        """`a = e, b[1] = e, ...` -> {coordinate symbol: value}."""
        p = self.parser(text, where)
        out = {}
        while True:
            target = p.postfix()
            sym = self.eval_expr(target, {})
            if sym not in self.syms:
                p.err(p.peek(), f"'{sym}' is not a parameter coordinate")
            if sym in out:
                p.err(p.peek(), f"'{sym}' is assigned twice")
            p.expect("=")
            out[sym] = self.eval_expr(p.expr(), env)
            if p.at(",", "punct"):
                p.take()
                continue
            break
        if p.peek().kind != "eof":
            p.err(p.peek(), f"unexpected '{p.peek().text}'")
        return out


def parse_cert_line(text, path, lineno):
    text = text.strip()
    kind, _, rest = text.partition(":")
    kind = kind.strip()
    if kind not in CERT_KINDS:
        raise CertError(f"{path}:{lineno}: unknown certificate kind '{kind}'")
    return Cert(kind, lineno, rest.strip())


# ----------------------------------------------------------------------------------------------
# Taylor expansions and curves
# ----------------------------------------------------------------------------------------------

def point_map(cfile, point):
    return dict(zip(cfile.syms, point))


def value_at(cfile, point):
    v = cfile.loss.xreplace(point_map(cfile, point))
    return _simp(v.doit())


def leading_term(f, var=T, what="the function"):
    """(exponent, exact coefficient) of the leading term of f(var) as var -> 0+; f must vanish
    at 0 and not be identically 0. Polynomials are expanded exactly; anything else by series,
    tried at increasing orders."""
    f = sp.sympify(f)
    if f.is_polynomial(var):
        poly = sp.Poly(sp.expand(f), var)
        terms = sorted((m[0], c) for m, c in poly.terms())
        for e, c in terms:
            if not is_zero(c):
                return sp.Integer(e), _simp(c)
        raise CertError(f"{what} is identically 0")
    order = 8
    while order <= MAX_SERIES_ORDER:
        ser = sp.series(f, var, 0, order).removeO()
        coef = {}
        for term in sp.Add.make_args(sp.expand(ser)):
            c, e = term.as_coeff_exponent(var)
            if c.has(var):
                raise CertError(f"cannot expand {what} as a power series in {var}")
            coef[e] = coef.get(e, 0) + c
        for e in sorted(coef):
            if not is_zero(coef[e]):
                return e, _simp(coef[e])
        order += 4
    raise CertError(f"{what}: no nonzero term up to order {MAX_SERIES_ORDER} (identically 0?)")


def curve_subs(cfile, case, curve, where):
    """Check a curve {sym: expr in t} gives every coordinate, is analytic at t = 0 and passes
    through the point there. Returns the substitution dict."""
    for s in cfile.syms:
        if s not in curve:
            raise CertError(f"{where}: the curve does not give '{s}'")
    for s, p in zip(cfile.syms, case.point):
        c = sp.sympify(curve[s])
        if c.free_symbols - {T}:
            raise CertError(f"{where}: the curve's '{s}' uses {c.free_symbols - {T}}; "
                            f"only t is allowed")
        if c.is_rational_function(T):
            num, den = sp.fraction(sp.cancel(sp.together(c)))
            if is_zero(den.subs(T, 0)):
                raise CertError(f"{where}: the curve's '{s}' is not defined at t = 0")
            c0 = num.subs(T, 0) / den.subs(T, 0)
        else:
            ser = sp.series(c, T, 0, 2).removeO()
            if any(term.as_coeff_exponent(T)[1] < 0 for term in sp.Add.make_args(ser)):
                raise CertError(f"{where}: the curve's '{s}' is not analytic at t = 0")
            c0 = sp.limit(c, T, 0, "+")
        if not is_zero(c0 - p):
            raise CertError(f"{where}: the curve's '{s}' is {c0} at t = 0, not the point's {p}")
    return {s: sp.sympify(curve[s]) for s in cfile.syms}


def along(cfile, case, subs):
    return cfile.loss.xreplace(subs) - case.L0


def taylor_terms(cfile, case, N):
    """Taylor expansion of g(u) = L(point + u) - L(point), u the offsets (written with the
    parameter symbols). Returns (dict monomial -> coefficient, exact): exact means g is a
    polynomial and every term is there; otherwise the terms of total degree <= N."""
    shift = {s: p + s for s, p in zip(cfile.syms, case.point)}
    if cfile.is_poly:
        g = sp.expand(cfile.loss.xreplace(shift) - case.L0)
        return dict(sp.Poly(g, *cfile.syms).terms()), True
    scaled = cfile.loss.xreplace({s: p + EPS * s for s, p in zip(cfile.syms, case.point)})
    ser = sp.expand(sp.series(scaled, EPS, 0, N + 1).removeO())
    g = 0
    for k in range(1, N + 1):
        g += ser.coeff(EPS, k)
    g = sp.expand(g)
    if g.has(EPS):
        raise CertError("the Taylor expansion did not come out as a power series")
    return dict(sp.Poly(g, *cfile.syms).terms()), False


# ----------------------------------------------------------------------------------------------
# Definiteness of a weighted-homogeneous form
# ----------------------------------------------------------------------------------------------

def _univariate_positive(p, s, where):
    """p(s) > 0 for every real s (p a polynomial in s with exact coefficients)."""
    p = sp.expand(p)
    if not p.has(s):
        return sign(p) > 0
    poly = sp.Poly(p, s)
    if poly.degree() % 2 == 1 or sign(poly.LC()) <= 0:
        return False
    try:
        q = sp.Poly(p, s, domain="QQ")
    except Exception:
        q = None
    if q is not None:
        return q.count_roots() == 0
    if poly.degree() == 2:
        a, b, c = poly.all_coeffs()
        return sign(b * b - 4 * a * c) < 0
    raise CertError(f"{where}: cannot decide positivity of {p} (irrational coefficients "
                    f"and degree > 2)")


def positive_definite(form, syms, weights, where):
    """Exact test that the weighted-homogeneous polynomial form(syms) is > 0 away from 0.
    Returns (True/False, method)."""
    poly = sp.Poly(form, *syms)
    terms = [(m, c) for m, c in poly.terms() if not is_zero(c)]
    n = len(syms)
    if not terms:
        return False, "the initial form is 0"
    # a quadratic form (all weights 1, degree 2): Sylvester's criterion, exact minors
    if all(w == 1 for w in weights) and all(sum(m) == 2 for m, _ in terms):
        Q = sp.hessian(form, syms) / 2
        for k in range(1, n + 1):
            if sign(Q[:k, :k].det(method="berkowitz")) <= 0:
                return False, f"quadratic form, leading minor {k} is not positive"
        return True, "quadratic form, Sylvester's criterion"
    # sufficient: every monomial has even exponents and a positive coefficient, and every
    # variable has a pure power
    if all(all(e % 2 == 0 for e in m) and sign(c) > 0 for m, c in terms):
        pure = set()
        for m, _ in terms:
            nz = [i for i, e in enumerate(m) if e]
            if len(nz) == 1:
                pure.add(nz[0])
        if len(pure) == n:
            return True, "even monomials with positive coefficients and pure powers"
    # a sum of forms in disjoint sets of variables (z^2 + q(x, y)) is definite iff each is
    blocks = []
    for m, _ in terms:
        vs = {i for i, e in enumerate(m) if e}
        joined = [b for b in blocks if b & vs]
        for b in joined:
            blocks.remove(b)
            vs |= b
        blocks.append(vs)
    if len(blocks) > 1:
        if sum(len(b) for b in blocks) < n:
            return False, "some variable does not occur in the form"
        hows = []
        for b in sorted(blocks, key=min):
            idx = sorted(b)
            part = sp.Add(*[c * sp.Mul(*[syms[i] ** m[i] for i in idx]) for m, c in terms
                            if any(m[i] for i in idx)])
            ok_b, how_b = positive_definite(part, [syms[i] for i in idx], [weights[i] for i in idx], where)
            if not ok_b:
                return False, f"the part in {[str(syms[i]) for i in idx]}: {how_b}"
            hows.append(how_b)
        return True, "a sum of definite forms in separate variables (" + "; ".join(hows) + ")"
    if n == 1:
        return False, "one variable, not an even power with a positive coefficient"
    if n == 2:
        x, y = syms
        s = sp.Dummy("s")
        for sg in (1, -1):
            if sign(form.subs({x: 0, y: sg})) <= 0:
                return False, f"not positive at (0, {sg})"
            if not _univariate_positive(form.subs({x: sg, y: s}), s, where):
                return False, f"the slice x = {sg} is not positive for every y"
        return True, "weighted slices x = 1, x = -1, x = 0 have no real zero"
    raise CertError(f"{where}: cannot decide definiteness of the {n}-variable form {form} "
                    f"(only quadratic forms, even positive monomials with pure powers, or "
                    f"2 variables)")


# ----------------------------------------------------------------------------------------------
# Certificate checks
# ----------------------------------------------------------------------------------------------

def check_weights(cfile, case, cert, where):
    text = cert.text
    wtext, _, stext = text.partition(";")
    try:
        weights = [int(w) for w in wtext.split(",")]
    except ValueError:
        raise CertError(f"{where}: weights must be positive integers, one per parameter")
    n = len(cfile.syms)
    if len(weights) != n or any(w <= 0 for w in weights):
        raise CertError(f"{where}: {len(weights)} weights for {n} parameters "
                        f"(positive integers, in declaration order)")
    subst = None
    stext = stext.strip()
    if stext:
        key, _, rhs = stext.partition(":")
        if key.strip() != "subst":
            raise CertError(f"{where}: after ';' expected 'subst: ...'")
        subst = cfile.assignments(rhs, where, {})
        for s, e in subst.items():
            if not sp.sympify(e).is_polynomial(*cfile.syms):
                raise CertError(f"{where}: the substitution for '{s}' is not a polynomial")
        phi = [sp.sympify(subst.get(s, s)) for s in cfile.syms]
        zero = {s: 0 for s in cfile.syms}
        if any(not is_zero(e.xreplace(zero)) for e in phi):
            raise CertError(f"{where}: the substitution does not fix the point")
        J = sp.Matrix([[sp.diff(e, s) for s in cfile.syms] for e in phi]).xreplace(zero)
        if is_zero(J.det()):
            raise CertError(f"{where}: the substitution's linear part is singular")
    wmin = min(weights)
    N = 6
    while True:
        terms, exact = taylor_terms(cfile, case, N)
        g = sp.Add(*[c * sp.Mul(*[s ** e for s, e in zip(cfile.syms, m)])
                     for m, c in terms.items()])
        if subst is not None:
            g = sp.expand(g.xreplace(subst))
        gpoly = sp.Poly(g, *cfile.syms) if g != 0 else None
        kept = []
        if gpoly is not None:
            for m, c in gpoly.terms():
                if not exact and sum(m) > N:
                    continue                # not exact: the dropped terms reach this degree
                if not is_zero(c):
                    kept.append((m, c))
        if kept:
            d = min(sum(w * e for w, e in zip(weights, m)) for m, _ in kept)
            if exact or d < (N + 1) * wmin:
                break
        elif exact:
            raise CertError(f"{where}: L - L(point) is identically 0")
        if N >= MAX_SERIES_ORDER:
            raise CertError(f"{where}: no initial form found up to total degree {N}")
        N += 4
    form = sp.Add(*[c * sp.Mul(*[s ** e for s, e in zip(cfile.syms, m)])
                    for m, c in kept if sum(w * e for w, e in zip(weights, m)) == d])
    pos, how = positive_definite(form, cfile.syms, weights, where)
    if pos:
        cert.data = ("min", form, d, how)
        return {"min", "strict_min", "not_max"}
    neg, how2 = positive_definite(-form, cfile.syms, weights, where)
    if neg:
        cert.data = ("max", form, d, how2)
        return {"max", "strict_max", "not_min"}
    raise CertError(f"{where}: the weighted initial form (weighted degree {d}) {form} is "
                    f"neither positive nor negative definite ({how}; {how2})")


def check_sos(cfile, case, cert, where, negate):
    es = cfile.expr_list(cert.text, where, {})
    real = {s: sp.Symbol(s.name, real=True) for s in cfile.syms}
    for e in es:
        if sp.sympify(e).xreplace(real).is_extended_real is not True:
            raise CertError(f"{where}: cannot show that {e} is real for real parameters")
    lhs = (case.L0 - cfile.loss) if negate else (cfile.loss - case.L0)
    if not identically_zero(lhs - sp.Add(*[e ** 2 for e in es]), cfile.syms):
        raise CertError(f"{where}: {'L(point) - L' if negate else 'L - L(point)'} is not "
                        f"the sum of the squares of {', '.join(map(str, es))}")
    cert.data = es
    return {"max"} if negate else {"min"}


def check_isolated(cfile, case, cert, where):
    sos = [c for c in case.certs if c.kind in ("sos", "nsos") and c.data is not None]
    if not sos:
        raise CertError(f"{where}: 'isolated' needs a verified 'sos' or 'nsos' line before it")
    shift = {s: p + s for s, p in zip(cfile.syms, case.point)}
    polys = []
    for e in sos[0].data:
        e = sp.expand(sp.sympify(e).xreplace(shift))
        if not e.is_polynomial(*cfile.syms):
            raise CertError(f"{where}: 'isolated' needs polynomial sos terms")
        polys.append(e)
    G = sp.groebner(polys, *cfile.syms, order="grevlex")
    for s in cfile.syms:
        if not any(G.reduce(s ** k)[1] == 0 for k in range(1, 17)):
            raise CertError(f"{where}: no power of the offset {s} (up to 16) lies in the ideal "
                            f"of the sos terms: their common zeros are not just the point")
    cert.data = True
    if sos[0].kind == "sos":
        return {"min", "strict_min", "not_max"}
    return {"max", "strict_max", "not_min"}


def check_curve_sign(cfile, case, curve_text, where, want):
    curve = cfile.assignments(curve_text, where, {"t": T})
    subs = curve_subs(cfile, case, curve, where)
    k, c = leading_term(along(cfile, case, subs), T, f"{where}: L(curve) - L(point)")
    sg = sign(c)
    if sg != want:
        raise CertError(f"{where}: L(curve(t)) - L(point) = {c}*t^{k} + ..., "
                        f"not {'positive' if want > 0 else 'negative'}")
    return k, c


def check_zero(cfile, case, cert, where):
    curve = cfile.assignments(cert.text, where, {"t": T})
    subs = curve_subs(cfile, case, curve, where)
    if all(not sp.sympify(e).has(T) for e in subs.values()):
        raise CertError(f"{where}: the curve is constant")
    if not identically_zero(along(cfile, case, subs), [T]):
        raise CertError(f"{where}: L - L(point) is not identically 0 along the curve")
    return {"not_strict"}


def exact_gradient(cfile, case):
    pm = point_map(cfile, case.point)
    return [_simp(g.xreplace(pm).doit()) for g in cfile.gradient_exprs()]


def exact_hessian(cfile, case):
    pm = point_map(cfile, case.point)
    h = cfile.hessian_exprs()
    n = len(cfile.syms)
    M = sp.zeros(n, n)
    for i in range(n):
        for j in range(i + 1):
            M[i, j] = M[j, i] = _simp(h[i][j].xreplace(pm).doit())
    return M


def verify_case(case, verbose=False):
    """Checks every certificate of the case and that together they prove its label.
    Raises CertError with file:line on the first failure."""
    cfile = case.cfile
    case.L0 = value_at(cfile, case.point)
    grad = exact_gradient(cfile, case)
    case.critical = all(is_zero(g) for g in grad)
    case.singular = is_zero(exact_hessian(cfile, case).det(method="bareiss"))
    if case.label == "undetermined":
        raise CertError(f"{case.where}: 'undetermined' is not allowed as an expected label in "
                        f"the corpus: give the true label")
    if not case.certs:
        raise CertError(f"{case.where}: no certificate ('#@' line) above the 'at' line")
    facts = case.facts
    for cert in case.certs:
        where = f"{cfile.path}:{cert.line}"
        try:
            if cert.kind in ("up", "down"):
                want = 1 if cert.kind == "up" else -1
                cert.data = check_curve_sign(cfile, case, cert.text, where, want)
                facts.add("not_max" if want > 0 else "not_min")
            elif cert.kind in ("sos", "nsos"):
                facts |= check_sos(cfile, case, cert, where, cert.kind == "nsos")
            elif cert.kind == "isolated":
                facts |= check_isolated(cfile, case, cert, where)
            elif cert.kind == "zero":
                facts |= check_zero(cfile, case, cert, where)
            elif cert.kind == "weights":
                facts |= check_weights(cfile, case, cert, where)
            elif cert.kind == "gradient":
                if cert.text:
                    raise CertError(f"{where}: 'gradient' takes no arguments")
                if case.critical:
                    raise CertError(f"{where}: the exact gradient is 0 at the point")
                cert.data = grad
            elif cert.kind == "singular":
                if cert.text:
                    raise CertError(f"{where}: 'singular' takes no arguments")
                if not case.singular:
                    raise CertError(f"{where}: the exact Hessian is not singular at the point")
        except H.HLError as e:
            raise CertError(f"{where}: {e.msg}")
        case.proof.append(cert.kind)
    # consistency (a verified certificate is a theorem, so this only catches checker bugs)
    if ("min" in facts and "not_min" in facts) or ("max" in facts and "not_max" in facts) or \
            ({"strict_min", "strict_max"} & facts and "not_strict" in facts):
        raise CertError(f"{case.where}: contradictory certificates (checker bug?)")
    lab = case.label
    if lab not in ("not_critical", "degenerate") and not case.critical:
        raise CertError(f"{case.where}: label '{lab}' but the exact gradient is {grad}")
    proven = {
        "strict_min": "strict_min" in facts,
        "strict_max": "strict_max" in facts,
        "min": "min" in facts,
        "max": "max" in facts,
        "saddle": case.critical and "not_min" in facts and "not_max" in facts,
        "not_critical": "gradient" in case.proof,
        "degenerate": "singular" in case.proof,
    }[lab]
    if not proven:
        need = {"strict_min": "weights (or sos + isolated)", "strict_max":
                "weights (or nsos + isolated)", "min": "sos or weights", "max":
                "nsos or weights", "saddle": "up and down", "not_critical": "gradient",
                "degenerate": "singular"}[lab]
        raise CertError(f"{case.where}: the certificates ({', '.join(case.proof)}) do not "
                        f"prove '{lab}': it needs {need}")
    if verbose:
        print(f"  {case.where}: {lab} proven by {', '.join(case.proof)}")


# ----------------------------------------------------------------------------------------------
# Comparison with hessgen --check --json
# ----------------------------------------------------------------------------------------------

IMPLIES = {        # what a verdict claims, as facts (plus criticality)
    "strict_min": {"min", "strict_min", "not_max"},
    "min": {"min"},
    "strict_max": {"max", "strict_max", "not_min"},
    "max": {"max"},
    "saddle": {"not_min", "not_max"},
}
OPPOSITE = {"min": "not_min", "not_min": "min", "max": "not_max", "not_max": "max",
            "strict_min": "not_strict", "strict_max": "not_strict"}


def contradiction(case, verdict):
    """Why the verdict contradicts what is proven about the case, or None."""
    if verdict == "undetermined":
        return None
    if verdict == "not_critical":
        return "the exact gradient is 0" if case.critical else None
    if not case.critical:
        return "the point is not critical (exact gradient is nonzero)"
    for f in IMPLIES[verdict]:
        if OPPOSITE[f] in case.facts:
            return f"proven {OPPOSITE[f]} ({', '.join(case.proof)})"
    return None


def judge(case, res):
    """-> (status, note): status in ok, weaker, undetermined, WRONG."""
    verdict = res.get("verdict")
    if verdict not in VERDICTS:
        return "WRONG", f"unknown verdict {verdict!r}"
    why = contradiction(case, verdict)
    if why:
        return "WRONG", why
    if "degenerate" in res and res["degenerate"] is not None:
        if bool(res["degenerate"]) != case.singular:
            return "WRONG", (f"degenerate: {res['degenerate']} but the exact Hessian is "
                             f"{'' if case.singular else 'not '}singular")
    lab = case.label
    if lab == "degenerate":
        if res.get("degenerate") is True and res.get("ok") is True:
            return "ok", ""
        return "undetermined", "no degenerate: true with ok: true"
    if verdict == "undetermined":
        return "undetermined", ""
    if verdict == lab or (lab == "min" and verdict == "strict_min") or \
            (lab == "max" and verdict == "strict_max"):
        return "ok", ""
    return "weaker", f"{verdict} does not establish {lab}"


BALL_RE = re.compile(r"^\[\s*([-+]?[0-9.eE+-]+)?\s*\+/-\s*([0-9.eE+-]+)\s*\]$")


def parse_value(cfile, txt, where):
    """A number as hessgen prints it: an exact value in .hl syntax ("p/q") -> ("exact", v),
    or a certified enclosure "[mid +/- rad]" / "[+/- rad]" -> ("ball", mid, rad)."""
    m = BALL_RE.match(txt.strip())
    if m:
        mid = sp.Rational(Fraction(m.group(1))) if m.group(1) else sp.Integer(0)
        return ("ball", mid, sp.Rational(Fraction(m.group(2))))
    v = cfile.expr_list(txt, where, {})
    if len(v) != 1:
        raise CertError(f"{txt!r} is not one number")
    return ("exact", v[0])


def agrees(v, exact):
    """Is the exact value the printed one (or inside the printed enclosure)?"""
    if v[0] == "exact":
        return is_zero(v[1] - exact)
    _, mid, rad = v
    d = sp.N(sp.sympify(exact) - mid, 60)
    return abs(d) <= rad


def proven_nonzero(v):
    if v[0] == "exact":
        return not is_zero(v[1])
    return abs(v[1]) > v[2]


def check_hessgen_values(case, res, verbose):
    """The exact values hessgen reports with a result ("point", "loss", "gradient",
    "hessian"), where present, against SymPy's. Returns a list of failure messages."""
    cfile = case.cfile
    where = f"{case.where} (hessgen's values)"
    n = len(cfile.syms)
    fails = []
    wanted = []
    if isinstance(res.get("point"), list):
        wanted.append(("point", res["point"], list(case.point)))
    if isinstance(res.get("loss"), str):
        wanted.append(("loss", [res["loss"]], [case.L0]))
    if isinstance(res.get("gradient"), list):
        wanted.append(("gradient", res["gradient"], exact_gradient(cfile, case)))
    if isinstance(res.get("hessian"), list):
        H_ = exact_hessian(cfile, case)
        flat = [x for row in res["hessian"] for x in (row if isinstance(row, list) else [row])]
        wanted.append(("hessian", flat, [H_[i, j] for i in range(n) for j in range(n)]))
    for name, got, exact in wanted:
        if len(got) != len(exact):
            fails.append(f"{where}: {name} has {len(got)} entries, expected {len(exact)}")
            continue
        for i, (txt, ex) in enumerate(zip(got, exact)):
            try:
                v = parse_value(cfile, str(txt), where)
            except (CertError, H.HLError, ValueError, ZeroDivisionError) as e:
                if verbose:
                    print(f"  {where}: {name}[{i}] = {txt!r} not checked: {e}")
                continue
            if not agrees(v, ex):
                fails.append(f"{where}: {name}[{i}] is {txt}, exactly {ex}")
                break
    return fails


def check_hessgen_certificate(case, res, verbose):
    """Verifies hessgen's own certificate for a line. Returns a list of failure messages."""
    cert = res.get("certificate")
    if not cert:
        return []
    cfile = case.cfile
    where = f"{case.where} (hessgen's certificate)"
    kind = cert.get("kind") if isinstance(cert, dict) else None
    fails = []
    if kind == "curves":
        for side, want in (("up", 1), ("down", -1)):
            c = cert.get(side)
            if c is None:
                if res.get("verdict") == "saddle":
                    fails.append(f"{where}: no '{side}' curve")
                continue
            try:
                comps = c["curve"]
                if len(comps) != len(cfile.syms):
                    raise CertError(f"{len(comps)} curve components for "
                                    f"{len(cfile.syms)} parameters")
                curve = {}
                for s, txt in zip(cfile.syms, comps):
                    vals = cfile.expr_list(str(txt), where, {"t": T})
                    if len(vals) != 1:
                        raise CertError(f"component {txt!r} is not one expression")
                    curve[s] = vals[0]
                subs = curve_subs(cfile, case, curve, where)
                k, co = leading_term(along(cfile, case, subs), T, "L(curve) - L(point)")
                sg = sign(co)
                if sp.sympify(c.get("order")) != k or c.get("sign") != want or sg != want:
                    raise CertError(f"L(curve(t)) - L(point) = ({co})*t^{k} + ..., "
                                    f"but the certificate says order {c.get('order')}, "
                                    f"sign {c.get('sign')} (a '{side}' curve needs sign "
                                    f"{want})")
            except (CertError, H.HLError, KeyError, TypeError, ValueError) as e:
                fails.append(f"{where}: '{side}' curve: {e}")
    elif kind == "gradient":
        try:
            g = cert["gradient"]
            exact = exact_gradient(cfile, case)
            if len(g) != len(exact):
                raise CertError(f"{len(g)} components for {len(exact)} parameters")
            nonzero = False
            for i, (txt, ex) in enumerate(zip(g, exact)):
                v = parse_value(cfile, str(txt), where)
                if not agrees(v, ex):
                    raise CertError(f"component {i} ({cfile.syms[i]}) is {txt}, exactly "
                                    f"{ex}")
                nonzero = nonzero or proven_nonzero(v)
            if not nonzero:
                raise CertError("no component is shown to be nonzero")
        except (CertError, H.HLError, KeyError, TypeError, ValueError) as e:
            fails.append(f"{where}: gradient: {e}")
    elif kind in ("weights", "definite_hessian"):
        # the same proof as a corpus `#@ weights` line: hessgen's coordinates (the subst) and
        # weights, whose weighted initial form must be definite with the verdict's sign
        try:
            n = len(cfile.syms)
            w = cert["weights"] if kind == "weights" else [1] * n
            text = ", ".join(str(int(x)) for x in w)
            if kind == "weights" and cert.get("subst"):
                text += "; subst: " + cert["subst"]
            facts = check_weights(cfile, case, Cert("weights", case.line, text), where)
            want = {"strict_min": "strict_min", "strict_max": "strict_max"}.get(res.get("verdict"))
            if want not in facts:
                raise CertError(f"it proves {sorted(facts)}, not the verdict {res.get('verdict')}")
        except (CertError, H.HLError, KeyError, TypeError, ValueError) as e:
            fails.append(f"{where}: weights: {e}")
    elif verbose:
        print(f"  {case.where}: hessgen certificate of kind {kind!r} not checked: "
              f"{json.dumps(cert)[:300]}")
    return fails


def run_hessgen(hessgen, cfile, timeout):
    cmd = [hessgen, "--check", "--json", cfile.path]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"{' '.join(cmd)}: {e}"
    if p.returncode not in (0, 1):
        return None, (f"{' '.join(cmd)}: exit status {p.returncode}\n{p.stderr.strip()}")
    try:
        doc = json.loads(p.stdout)
        results = doc["results"]
        if not isinstance(results, list):
            raise ValueError("'results' is not a list")
    except (ValueError, KeyError, TypeError) as e:
        return None, (f"{' '.join(cmd)}: not the expected JSON ({e}): "
                      f"{p.stdout[:300]!r} {p.stderr[:300]!r}")
    return (p.returncode, results), None


# ----------------------------------------------------------------------------------------------

def collect(paths):
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".hl"))
        else:
            files.append(p)
    return files


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("hessgen", help="the hessgen executable (unused with --certificates-only)")
    ap.add_argument("corpus", nargs="+", help="corpus directory or .hl files")
    ap.add_argument("--certificates-only", action="store_true",
                    help="only check the corpus's certificates, do not run hessgen")
    ap.add_argument("--timeout", type=float, default=120, help="seconds per hessgen run")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)

    t0 = time.time()
    failures = []
    files = collect(a.corpus)
    if not files:
        print("no .hl files found", file=sys.stderr)
        return 1
    cfiles = []
    for path in files:
        try:
            cf = CorpusFile(path)
        except (H.HLError, CertError) as e:
            failures.append(str(e))
            print(f"FAIL {e}")
            continue
        if not cf.cases:
            failures.append(f"{path}: no 'at' line")
        cfiles.append(cf)
    cases = [c for cf in cfiles for c in cf.cases]

    # 1. the certificates
    good = []
    for case in cases:
        try:
            verify_case(case, a.verbose)
            good.append(case)
        except CertError as e:
            failures.append(f"certificate: {e}")
            print(f"FAIL certificate: {e}")
    print(f"certificates: {len(good)} of {len(cases)} cases proven "
          f"({time.time() - t0:.1f} s)")
    if a.certificates_only:
        if failures:
            print(f"{len(failures)} failure(s)")
            return 1
        return 0

    # 2. hessgen --check --json
    rows = []
    counts = {"ok": 0, "weaker": 0, "undetermined": 0, "WRONG": 0}
    proven = {id(c) for c in good}
    for cf in cfiles:
        out, err = run_hessgen(a.hessgen, cf, a.timeout)
        if err:
            failures.append(err)
            print(f"FAIL {err}")
            for case in cf.cases:
                rows.append((case.where, case.label, "-", "NO RESULT", err.split("\n")[0]))
            continue
        status_code, results = out
        by_line = {}
        for r in results:
            if isinstance(r, dict) and "line" in r:
                by_line.setdefault(r["line"], []).append(r)
        all_ok = True
        for case in cf.cases:
            rs = by_line.pop(case.line, [])
            if len(rs) != 1:
                msg = f"{case.where}: {len(rs)} results for this 'at' line (expected 1)"
                failures.append(msg)
                rows.append((case.where, case.label, "-", "NO RESULT", msg))
                all_ok = False
                continue
            res = rs[0]
            if res.get("ok") is not True:
                all_ok = False
            if res.get("expected") != case.label:
                failures.append(f"{case.where}: hessgen read the label as "
                                f"{res.get('expected')!r}, not {case.label!r}")
            if id(case) not in proven:
                rows.append((case.where, case.label, res.get("verdict"), "unproven",
                             "the corpus certificate failed"))
                continue
            status, note = judge(case, res)
            counts[status] += 1
            reason = res.get("reason")
            if status == "WRONG":
                failures.append(f"{case.where}: WRONG: expected {case.label}, hessgen says "
                                f"{res.get('verdict')}: {note} (hessgen's reason: {reason})")
            if status == "undetermined":
                if not (isinstance(reason, str) and reason.strip()):
                    failures.append(f"{case.where}: undetermined without a reason")
                note = note or (reason or "")
            if status in ("weaker", "undetermined") and res.get("ok") is True:
                failures.append(f"{case.where}: hessgen says ok: true for verdict "
                                f"{res.get('verdict')} on a '{case.label}' line")
            if status == "ok" and res.get("ok") is not True:
                failures.append(f"{case.where}: verdict {res.get('verdict')} establishes "
                                f"'{case.label}' but hessgen says ok: {res.get('ok')}")
            for f in check_hessgen_certificate(case, res, a.verbose):
                failures.append(f)
                status = "BAD CERT"
            for f in check_hessgen_values(case, res, a.verbose):
                failures.append(f)
                status = "BAD VALUE"
            rows.append((case.where, case.label, str(res.get("verdict")), status, note))
        for line in by_line:
            failures.append(f"{cf.path}:{line}: a result for a line with no 'at' statement")
        if status_code != (0 if all_ok else 1):
            failures.append(f"{cf.path}: hessgen exited {status_code}, but the lines are "
                            f"{'all' if all_ok else 'not all'} ok")

    w1 = max([len(r[0]) for r in rows] + [4])
    print(f"\n{'case':<{w1}}  {'expected':<12} {'verdict':<13} status")
    for where, lab, verdict, status, note in rows:
        print(f"{where:<{w1}}  {lab:<12} {verdict:<13} {status}"
              + (f"  ({note})" if note else ""))
    n = len(rows)
    print(f"\n{n} cases: {counts['ok']} ok, {counts['weaker']} weaker, "
          f"{counts['undetermined']} undetermined, {counts['WRONG']} WRONG "
          f"({time.time() - t0:.1f} s)")
    if n and counts["undetermined"] > UNDETERMINED_BUDGET * n:
        failures.append(f"{counts['undetermined']} undetermined of {n} cases: more than "
                        f"{UNDETERMINED_BUDGET:.0%}")
    if failures:
        print(f"\n{len(failures)} failure(s):")
        for f in failures:
            print(f"  {f}")
        return 1
    print("all good")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
