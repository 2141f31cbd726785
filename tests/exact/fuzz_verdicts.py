#!/usr/bin/env python3
"""fuzz_verdicts.py: a randomized soundness test of `hessgen --classify`.

    python3 tests/exact/fuzz_verdicts.py HESSGEN [--cases N] [--seed S] [--jobs J]
                                         [--family NAME[,NAME...]] [--keep DIR] [-v]

Generates small random losses (1 to 3 parameters; polynomials with small rational
coefficients, and exp, sin, cos, log, log1p, tanh, atan, sigmoid, softplus, sqrt, sinh, cosh,
expm1 and powers) together with a point whose TRUE classification is known by construction,
runs `HESSGEN --classify FILE --at POINT [--order K] --json` on each and compares.

The rule: a wrong verdict is a failure, `undetermined` is not.
  truth strict_min:    strict_min ok, min weaker, undetermined counted; anything else WRONG
  truth min (a curve of equal values through the point is known): min ok, strict_min WRONG
  truth saddle:        saddle ok; any extremum WRONG
  truth not_critical:  not_critical ok; any verdict that claims criticality WRONG
  (maxima symmetrically). A saddle's certificate of kind "curves" is re-checked here: each
curve (polynomials in t, absolute coordinates) must pass through the point and
L(curve(t)) - L(point) must have its first nonzero Taylor coefficient at exactly the stated
order with the stated sign; one that does not check is a failure too. So is a `critical` or
`degenerate` field that contradicts the exact gradient or Hessian, and a gradient
certificate that differs from the exact gradient.

The families, and why their labels are true (u = theta - p, the offsets; v = M u for a random
invertible integer matrix M, so that no null direction is an axis; E(u) a positive factor
such as exp(l(u)), 1 + l(u)^2, 2*sigmoid(l(u)), cosh(l(u)) or exp(x) with E(0) > 0):
  nondeg    sum d_i v_i^2 (signs chosen) times E, plus junk of order >= 3 (monomials,
            exp(l) - 1 - l - l^2/2, sin(l) - l, l*(cos(l) - 1), log(eps + l) - log(eps) -
            l/eps + l^2/(2 eps^2) with a tiny eps, ...): the Hessian decides.
  split     a*(s - phi(t))^2*E + B(t) [+ b*r^2 + e*r*(s - phi(t))] + junk, with (s, t, r) = v,
            phi(t) = O(t^2) (a polynomial or a designed transcendental combination) and
            B(t) = c*t^k + O(t^(k+1)) a DESIGNED combination: random blocks (t^j, exp(t),
            sin(t), cos(t), log1p(t), tanh(t), atan(t), sigmoid(t), softplus(t), sqrt(1 + t),
            1/(1 + t), sinh, cosh, exp(t^2), t*sin(t), ...) whose coefficients solve the linear
            system that cancels the orders below k exactly. In the coordinates
            (s' = s - phi(t), r, t) with weights (k, k, 2) the weighted initial form is
            Q2(s', r) + c*t^k and every junk term has weighted degree > 2k; the form is
            definite (strict extremum) iff Q2 is definite, k is even and c has Q2's sign;
            otherwise it takes both signs (saddle).
  null2     three parameters: a*(v0 - psi(v1, v2))^2*E + G(v1, v2) + junk, G a random binary
            form of degree 3..6 whose definiteness is certified with SymPy (the real roots of
            G(s, 1)); weights (d, 2, 2) for (v0 - psi, v1, v2), junk above 2d.
  hzero     Hessian 0: c*v^k + junk (one parameter, c*v^k a designed transcendental
            combination), a binary form of degree 3..6, or a ternary cubic / quartic (definite
            as m*(v0^2 + v1^2 + v2^2)^2 + terms whose coefficients sum below m in absolute
            value; indefinite when exact values of both signs are exhibited), plus junk of
            higher degree.
  irrdouble q^2*E + c*(v0^2 + v1^2)^3 + q*h4 + O(|v|^7) with q = v0^2 + b*v0*v1 - m*v1^2
            (irrational or rational double lines of the quartic q^2): q^2 + q*h4 + c*r^6 >=
            c*r^6 - C^2 r^8/4 > 0 for c > 0 (strict minimum), while on q = 0 it is
            c*r^6 + O(r^7) < 0 for c < 0 (saddle: positive along the v0 axis).
  cusp      (v0^2 - r*v1^3)^2*E + c*v1^7 + terms of weight >= 15 for weights (3, 2): the form
            vanishes on a cusp; strict minimum iff c*r > 0 (on the cusp c*v1^7 decides,
            elsewhere the square dominates), else a saddle.
  shift     w^2*P(v0, w) + c*v0^k + junk above the Newton polygon of {w^4, w^2 v0^2, v0^k},
            w = v1 - r*v0 with r rational (a rational double line of the quartic form, which
            hessgen shifts to an axis), P positive definite: strict extremum iff k even and
            c > 0 (AM-GM), else a saddle; negated for maxima.
  symbolic  a*(B(x) - T_k[B](x)) + c*(x - p)^k, B = exp, sin, cos, sigmoid, tanh, log, atan at
            p != 0, T_k its Taylor polynomial written with the constants exp(m*p), sin(m*p),
            sigmoid(p), tanh(p), ... (the lower orders cancel only symbolically; the
            construction is checked here to 420 digits).
  nonstrict c0 +- (a sum of non-negative terms that vanish on a curve through the point:
            a*P^2*E, b*P^4, P^2*R^2, log(1 + P^2), 1 - cos(P), tanh(P)^2, exp(P^2) - 1, ...
            with P = s - phi(t) and in three parameters also R = r - chi(s, t)): a minimum
            (maximum), not strict because the loss is constant on {P = 0 (, R = 0)}. A quarter
            of the polynomial ones are expanded into monomials, hiding the structure.
  kink      a nondegenerate quadratic plus c*abs(l)^3 or c*relu(l)^3 (C^2, kink at the point)
            or relu(l - 1)^2 (identically 0 near the point): the Hessian decides.
  notcrit   a case of another family moved off its critical point by 10^-k (k = 5..40) in a
            random direction; its gradient there is computed exactly (or to 400 digits, with a
            margin) and must be nonzero.

Every generated critical point is checked here before hessgen sees it: the exact gradient
(Taylor coefficients along the axes, computed by this script's own series arithmetic,
cross-checked with SymPy at start-up) must be 0.

Exit status 0 when nothing is wrong, 1 when any verdict or certificate is wrong (the cases are
printed, and written to --keep DIR when given), 2 for a bad command line.
"""

import argparse
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from fractions import Fraction as Q
from multiprocessing import Pool

import mpmath

mp = mpmath.mp
mp.dps = 420
ZTOL = mpmath.mpf(10) ** -330   # an inexact value smaller than this is "zero, not certain"

PARAMS = ["x", "y", "z"] + ["w%d" % i for i in range(4, 13)]
FAMILIES = ["nondeg", "split", "null2", "hzero", "irrdouble", "cusp", "shift", "symbolic", "nonstrict",
            "kink", "notcrit", "many", "symmetric", "sos"]
WEIGHTS = {"nondeg": 3, "split": 5, "null2": 3, "hzero": 3, "irrdouble": 2, "cusp": 1, "shift": 3,
           "symbolic": 3, "nonstrict": 3, "kink": 1, "notcrit": 2, "many": 2, "symmetric": 2, "sos": 2}


class Undefined(Exception):
    """The loss is not defined or not smooth where this script evaluates it."""


class GenRetry(Exception):
    """The random draw did not give a usable case; draw again."""


# ----------------------------------------------------------------------------------------------
# Numbers: exact Fractions where possible, mpmath floats (420 digits) otherwise
# ----------------------------------------------------------------------------------------------

def isq(a):
    return type(a) is Q


def tom(a):
    return mpmath.mpf(a.numerator) / a.denominator if isq(a) else a


def nadd(a, b):
    if isq(a) and isq(b):
        return a + b
    if isq(a) and a == 0:
        return b
    if isq(b) and b == 0:
        return a
    return tom(a) + tom(b)


def nsub(a, b):
    return nadd(a, nneg(b))


def nneg(a):
    return -a


def nmul(a, b):
    if isq(a) and isq(b):
        return a * b
    if (isq(a) and a == 0) or (isq(b) and b == 0):
        return Q(0)
    if isq(a) and a == 1:
        return b
    if isq(b) and b == 1:
        return a
    return tom(a) * tom(b)


def ndiv(a, b):
    if isq(b) and b == 0:
        raise Undefined("division by zero")
    if isq(a) and isq(b):
        return a / b
    if isq(a) and a == 0:
        return Q(0)
    return tom(a) / tom(b)


def nsign(a):
    """-1, 0, 1, or None when an inexact value is too small to tell."""
    if isq(a):
        return (a > 0) - (a < 0)
    if abs(a) < ZTOL:
        return None
    return 1 if a > 0 else -1


def nzero(a):
    """True (exactly 0), False (certainly not 0), None (an inexact value near 0)."""
    if isq(a):
        return a == 0
    return None if abs(a) < ZTOL else False


def ntext(a):
    if isq(a):
        return str(a)
    return mpmath.nstr(a, 20)


# ----------------------------------------------------------------------------------------------
# Expressions: printed as .hl, evaluated as truncated univariate series
# ----------------------------------------------------------------------------------------------

class N:
    __slots__ = ("op", "args", "val")

    def __init__(self, op, args=(), val=None):
        self.op = op
        self.args = tuple(args)
        self.val = val


def C(q):
    return N("const", val=Q(q))


def V(i):
    return N("var", val=i)


def add(*xs):
    out = []
    for x in xs:
        if x is None:
            continue
        if x.op == "const" and x.val == 0:
            continue
        if x.op == "add":
            out.extend(x.args)
        else:
            out.append(x)
    if not out:
        return C(0)
    if len(out) == 1:
        return out[0]
    return N("add", out)


def mul(*xs):
    out = []
    c = Q(1)
    for x in xs:
        if x.op == "const":
            c *= x.val
        elif x.op == "mul":
            for a in x.args:
                if a.op == "const":
                    c *= a.val
                else:
                    out.append(a)
        else:
            out.append(x)
    if c == 0:
        return C(0)
    if c != 1:
        out.insert(0, C(c))
    if not out:
        return C(1)
    if len(out) == 1:
        return out[0]
    return N("mul", out)


def scale(c, x):
    return mul(C(c), x)


def neg(x):
    return mul(C(-1), x)


def sub(a, b):
    return add(a, neg(b))


def pw(x, k):
    if k == 1:
        return x
    if k == 0:
        return C(1)
    return N("pow", [x], val=int(k))


def fn(name, x):
    return N("fn", [x], val=name)


def let(ctx, name, x):
    """A named subexpression: printed as a `let`, evaluated once."""
    node = N("let", [x], val=name)
    ctx.lets.append(node)
    return node


def fmt_q(q, atom=True):
    q = Q(q)
    s = str(q)
    if atom and (q < 0 or q.denominator != 1):
        return "(" + s + ")"
    return s


def hl(n, top=False):
    op = n.op
    if op == "const":
        return fmt_q(n.val)
    if op == "var":
        return PARAMS[n.val]
    if op == "let":
        return n.val
    if op == "add":
        parts = []
        for i, a in enumerate(n.args):
            if a.op == "mul" and a.args[0].op == "const" and a.args[0].val < 0:
                c = -a.args[0].val
                rest = mul(*a.args[1:])
                body = hl(rest) if c == 1 else fmt_q(c) + "*" + hl(rest)
                parts.append(("-", body))
            elif a.op == "const" and a.val < 0:
                parts.append(("-", fmt_q(-a.val)))
            else:
                parts.append(("+", hl(a)))
        s = parts[0][1] if parts[0][0] == "+" else "-" + parts[0][1]
        for sg, body in parts[1:]:
            s += f" {sg} {body}"
        return s if top else "(" + s + ")"
    if op == "mul":
        return "*".join(hl(a) for a in n.args)
    if op == "pow":
        b = n.args[0]
        bs = hl(b)
        if b.op in ("mul", "pow") or (b.op == "const" and (b.val < 0 or b.val.denominator != 1)):
            bs = "(" + bs + ")"
        k = n.val
        return f"{bs}^{k}" if k >= 0 else f"{bs}^({k})"
    if op == "fn":
        inner = hl(n.args[0], top=True)
        return f"{n.val}({inner})"
    raise ValueError(op)


# ---- series: lists of N+1 coefficients ----

def s_const(c, K):
    return [c] + [Q(0)] * K


def s_add(a, b):
    return [nadd(x, y) for x, y in zip(a, b)]


def s_scale(c, a):
    return [nmul(c, x) for x in a]


def s_mul(a, b):
    K = len(a) - 1
    out = [Q(0)] * (K + 1)
    nza = [i for i in range(K + 1) if not (isq(a[i]) and a[i] == 0)]
    nzb = [j for j in range(K + 1) if not (isq(b[j]) and b[j] == 0)]
    for i in nza:
        for j in nzb:
            if i + j > K:
                break
            out[i + j] = nadd(out[i + j], nmul(a[i], b[j]))
    return out


def s_inv(a):
    K = len(a) - 1
    if nzero(a[0]) is not False:
        raise Undefined("a division by (near) zero")
    out = [Q(0)] * (K + 1)
    out[0] = ndiv(Q(1), a[0])
    for k in range(1, K + 1):
        acc = Q(0)
        for j in range(1, k + 1):
            if not (isq(a[j]) and a[j] == 0):
                acc = nadd(acc, nmul(a[j], out[k - j]))
        out[k] = nneg(ndiv(acc, a[0]))
    return out


def s_div(a, b):
    return s_mul(a, s_inv(b))


def s_pow(a, k):
    if k < 0:
        return s_pow(s_inv(a), -k)
    K = len(a) - 1
    r = s_const(Q(1), K)
    base = a
    while k:
        if k & 1:
            r = s_mul(r, base)
        k >>= 1
        if k:
            base = s_mul(base, base)
    return r


def s_integrate(a, c0):
    K = len(a) - 1
    return [c0] + [nmul(Q(1, k), a[k - 1]) for k in range(1, K + 1)]


def s_compose(F, h):
    """sum_k F[k] h^k, h[0] = 0."""
    K = len(h) - 1
    r = s_const(F[K], K)
    for k in range(K - 1, -1, -1):
        r = s_mul(r, h)
        r[0] = nadd(r[0], F[k])
    return r


def fact_series(K, kind):
    out = []
    f = Q(1)
    for k in range(K + 1):
        if k:
            f /= k
        if kind == "e":
            s = 1
        elif kind == "s":
            s = 0 if k % 2 == 0 else (1 if k % 4 == 1 else -1)
        elif kind == "c":
            s = 0 if k % 2 else (1 if k % 4 == 0 else -1)
        elif kind == "S":
            s = k % 2
        else:  # "C"
            s = 1 - k % 2
        out.append(f * s)
    return out


def is_exact_zero(a):
    return isq(a) and a == 0


def exact_sqrt(q):
    if not isq(q) or q < 0:
        return None
    n, d = q.numerator, q.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    if rn * rn == n and rd * rd == d:
        return Q(rn, rd)
    return None


def fn_coeffs(name, a0, K):
    """Taylor coefficients of name(a0 + X) in X through X^K."""
    if name in ("exp", "expm1"):
        E = Q(1) if is_exact_zero(a0) else mpmath.exp(tom(a0))
        F = [nmul(E, c) for c in fact_series(K, "e")]
        if name == "expm1":
            F[0] = nsub(F[0], Q(1))
        return F
    if name in ("log", "log1p"):
        x = nadd(a0, Q(1)) if name == "log1p" else a0
        if nsign(x) != 1:
            raise Undefined("log of a non-positive value")
        F = [Q(0) if (isq(x) and x == 1) else mpmath.log(tom(x))]
        p = Q(1)
        for k in range(1, K + 1):
            p = ndiv(p, x)
            F.append(nmul(Q((1 if k % 2 else -1), k), p))
        return F
    if name in ("sin", "cos"):
        S = Q(0) if is_exact_zero(a0) else mpmath.sin(tom(a0))
        Cc = Q(1) if is_exact_zero(a0) else mpmath.cos(tom(a0))
        s, c = fact_series(K, "s"), fact_series(K, "c")
        if name == "sin":
            return [nadd(nmul(S, c[k]), nmul(Cc, s[k])) for k in range(K + 1)]
        return [nsub(nmul(Cc, c[k]), nmul(S, s[k])) for k in range(K + 1)]
    if name in ("sinh", "cosh"):
        E = Q(1) if is_exact_zero(a0) else mpmath.exp(tom(a0))
        Ei = ndiv(Q(1), E)
        out = []
        for k, f in enumerate(fact_series(K, "e")):
            minus = (name == "sinh") ^ (k % 2 == 1)
            t = nsub(E, Ei) if minus else nadd(E, Ei)
            out.append(nmul(nmul(t, f), Q(1, 2)))
        return out
    if name == "tanh":
        th = s_div(fact_series(K, "S"), fact_series(K, "C"))
        T0 = Q(0) if is_exact_zero(a0) else mpmath.tanh(tom(a0))
        num = list(th)
        num[0] = nadd(num[0], T0)
        den = s_scale(T0, th)
        den[0] = nadd(den[0], Q(1))
        return s_div(num, den)
    if name in ("sigmoid", "softplus"):
        Em = Q(1) if is_exact_zero(a0) else mpmath.exp(-tom(a0))
        e = fact_series(K, "e")
        den = [nmul(Em, e[k] if k % 2 == 0 else -e[k]) for k in range(K + 1)]
        den[0] = nadd(den[0], Q(1))
        sg = s_inv(den)
        if name == "sigmoid":
            return sg
        c0 = mpmath.log(1 + mpmath.exp(tom(a0)))
        return s_integrate(sg, c0)
    if name == "atan":
        den = [Q(0)] * (K + 1)
        den[0] = nadd(nmul(a0, a0), Q(1))
        if K >= 1:
            den[1] = nadd(a0, a0)
        if K >= 2:
            den[2] = Q(1)
        c0 = Q(0) if is_exact_zero(a0) else mpmath.atan(tom(a0))
        return s_integrate(s_inv(den), c0)
    if isinstance(name, tuple) and name[0] == "rpow":     # (a0 + X)^e, e rational
        e = name[1]
        if nsign(a0) != 1:
            raise Undefined("a fractional power of a non-positive value")
        r = mpmath.power(tom(a0), mpmath.mpf(e.numerator) / e.denominator)
        out = []
        b = Q(1)
        p = Q(1)
        for k in range(K + 1):
            if k:
                b = b * (e - (k - 1)) / k
                p = ndiv(p, a0)
            out.append(nmul(r, nmul(b, p)))
        return out
    if name == "sqrt":
        if nsign(a0) != 1:
            raise Undefined("sqrt at a non-positive value")
        r = exact_sqrt(a0)
        if r is None:
            r = mpmath.sqrt(tom(a0))
        out = []
        b = Q(1)   # binom(1/2, k)
        p = Q(1)   # a0^-k
        for k in range(K + 1):
            if k:
                b = b * (Q(1, 2) - (k - 1)) / k
                p = ndiv(p, a0)
            out.append(nmul(r, nmul(b, p)))
        return out
    if name in ("abs", "relu"):
        sg = nsign(a0)
        if sg is None:
            raise Undefined("kink, sign unknown")
        if sg == 0:
            if K == 0:
                return [Q(0)]
            raise Undefined("kink")
        out = [Q(0)] * (K + 1)
        if name == "abs":
            out[0] = a0 if sg > 0 else nneg(a0)
            if K >= 1:
                out[1] = Q(sg)
        elif sg > 0:
            out[0] = a0
            if K >= 1:
                out[1] = Q(1)
        return out
    raise ValueError(name)


def evaluate(node, theta, K, memo=None):
    """The series of node along theta (a list of series, one per parameter) through t^K."""
    if memo is None:
        memo = {}
    key = id(node)
    if key in memo:
        return memo[key]
    op = node.op
    if op == "const":
        r = s_const(node.val, K)
    elif op == "var":
        r = theta[node.val]
    elif op == "let":
        r = evaluate(node.args[0], theta, K, memo)
    elif op == "add":
        r = s_const(Q(0), K)
        for a in node.args:
            r = s_add(r, evaluate(a, theta, K, memo))
    elif op == "mul":
        r = s_const(Q(1), K)
        for a in node.args:
            r = s_mul(r, evaluate(a, theta, K, memo))
    elif op == "pow":
        r = s_pow(evaluate(node.args[0], theta, K, memo), node.val)
    elif op == "fn":
        a = evaluate(node.args[0], theta, K, memo)
        F = fn_coeffs(node.val, a[0], K)
        h = [Q(0)] + list(a[1:])
        r = s_compose(F, h)
    else:
        raise ValueError(op)
    memo[key] = r
    return r


def poly_theta(point, direction_polys, K):
    """theta_i(t) = point_i + polynomial_i(t) (coefficient lists, constant term ignored)."""
    th = []
    for i, p in enumerate(point):
        s = [Q(p)] + [Q(0)] * K
        for k, c in enumerate(direction_polys[i]):
            if 1 <= k <= K:
                s[k] = nadd(s[k], c)
        th.append(s)
    return th


def line(point, d, K):
    return poly_theta(point, [[Q(0), Q(di)] for di in d], K)


def exact_gradient(loss, point):
    n = len(point)
    g = []
    for i in range(n):
        d = [0] * n
        d[i] = 1
        g.append(evaluate(loss, line(point, d, 1), 1)[1])
    return g


def exact_hessian(loss, point):
    n = len(point)
    diag = []
    for i in range(n):
        d = [0] * n
        d[i] = 1
        diag.append(nmul(Q(2), evaluate(loss, line(point, d, 2), 2)[2]))
    H = [[None] * n for _ in range(n)]
    for i in range(n):
        H[i][i] = diag[i]
        for j in range(i + 1, n):
            d = [0] * n
            d[i] = d[j] = 1
            c2 = nmul(Q(2), evaluate(loss, line(point, d, 2), 2)[2])  # = Hii + 2Hij + Hjj
            H[i][j] = H[j][i] = nmul(Q(1, 2), nsub(nsub(c2, diag[i]), diag[j]))
    return H


def det_exact(H):
    """The determinant when every entry is exact, else None."""
    if not all(isq(v) for row in H for v in row):
        return None
    A = [row[:] for row in H]
    n = len(A)
    det = Q(1)
    for c in range(n):
        p = next((r for r in range(c, n) if A[r][c] != 0), None)
        if p is None:
            return Q(0)
        if p != c:
            A[c], A[p] = A[p], A[c]
            det = -det
        det *= A[c][c]
        for r in range(c + 1, n):
            f = A[r][c] / A[c][c]
            for k in range(c, n):
                A[r][k] -= f * A[c][k]
    return det


# ----------------------------------------------------------------------------------------------
# Random ingredients
# ----------------------------------------------------------------------------------------------

class Ctx:
    def __init__(self, rng, n):
        self.rng = rng
        self.n = n
        self.lets = []


def rq(rng, lo=-9, hi=9, dmax=9, nonzero=True):
    while True:
        q = Q(rng.randint(lo, hi), rng.randint(1, dmax))
        if q != 0 or not nonzero:
            return q


def rand_coord(rng):
    r = rng.random()
    if r < 0.3:
        return Q(0)
    if r < 0.75:
        return rq(rng, -5, 5, 7)
    if r < 0.85:
        return Q(rng.randint(-99, 99), 10 ** rng.randint(1, 4))            # decimals
    if r < 0.95:
        return Q(rng.randint(-10 ** 12, 10 ** 12), rng.randint(1, 10 ** 9))  # long rationals
    return Q(rng.choice([-1, 1]) * rng.randint(1, 9), 10 ** rng.randint(8, 30))  # tiny


def rand_point(rng, n):
    return [rand_coord(rng) for _ in range(n)]


def rand_matrix(rng, n, rmax=2):
    while True:
        M = [[Q(rng.randint(-rmax, rmax)) for _ in range(n)] for _ in range(n)]
        if rng.random() < 0.3:   # often a near-identity shear
            M = [[Q(int(i == j)) + (Q(rng.randint(-2, 2)) if i < j else 0) for j in range(n)]
                 for i in range(n)]
            rng.shuffle(M)
        d = det_exact(M)
        if d != 0:
            return M


def offsets(ctx, point):
    ctx.point = list(point)
    us = []
    for i, p in enumerate(point):
        if p == 0:
            us.append(V(i))
        else:
            us.append(let(ctx, f"u{i}", add(V(i), C(-p))))
    return us


def lin(coeffs, us):
    return add(*[scale(c, u) for c, u in zip(coeffs, us) if c != 0])


def coords(ctx, us, M, names=None):
    """v = M u, as lets (a row that is a single unit entry stays the offset itself)."""
    vs = []
    for i, row in enumerate(M):
        e = lin(row, us)
        if e.op in ("var", "let"):
            vs.append(e)
        else:
            vs.append(let(ctx, (names[i] if names else f"v{i}"), e))
    return vs


def rand_lin(rng, us, allow_zero=False):
    while True:
        c = [Q(rng.randint(-2, 2)) for _ in us]
        if any(c) or allow_zero:
            return lin(c, us)


def rand_monomial(rng, vs, deg):
    e = [0] * len(vs)
    for _ in range(deg):
        e[rng.randrange(len(vs))] += 1
    return mul(*[pw(v, k) for v, k in zip(vs, e) if k])


def positive_factor(ctx, us, irrational_ok=True, unit=False):
    """E(u) > 0 near the point: E(p) = 1, or (unless unit) 1 + log 2 or exp(p_i) (irrational)."""
    rng = ctx.rng
    choices = ["exp", "sq", "sig", "cosh", "cos", "inv", "sqrt"]
    if not unit:
        choices.append("softplus")
    if irrational_ok and not unit:
        choices.append("expx")
    k = rng.choice(choices)
    l = rand_lin(rng, us)
    if k == "exp":
        return fn("exp", l)
    if k == "sq":
        return add(C(1), pw(l, 2))
    if k == "sig":
        return scale(2, fn("sigmoid", l))
    if k == "cosh":
        return fn("cosh", l)
    if k == "cos":
        return fn("cos", l)               # positive near the point only
    if k == "inv":
        return pw(add(C(1), pw(l, 2)), -1)
    if k == "sqrt":
        return fn("sqrt", add(C(1), pw(l, 2)))
    if k == "softplus":
        return add(fn("softplus", pw(l, 2)), C(1))   # softplus > 0: kept structurally positive
    # exp(p_i): irrational unless p_i = 0; only moderate p_i (exp(-6000) is below what the
    # 420-digit checks here can tell from 0)
    small = [i for i in range(len(us)) if abs(getattr(ctx, "point", [0] * len(us))[i]) <= 50]
    if not small:
        return fn("exp", l)
    return fn("exp", V(rng.choice(small)))


def junk3(ctx, us):
    """A random term of order >= 3 at the point (in u)."""
    rng = ctx.rng
    c = rq(rng, -3, 3, 4)
    l = rand_lin(rng, us)
    l2 = rand_lin(rng, us)
    k = rng.randrange(11)
    if k == 0:
        return scale(c, rand_monomial(rng, us, rng.randint(3, 4)))
    if k == 1:
        return scale(c, add(fn("exp", l), C(-1), neg(l), scale(Q(-1, 2), pw(l, 2))))
    if k == 2:
        return scale(c, sub(fn("sin", l), l))
    if k == 3:
        return scale(c, mul(l, add(fn("cos", l2), C(-1))))
    if k == 4:
        return scale(c, mul(pw(l, 2), fn("tanh", l2)))
    if k == 5:
        return scale(c, add(fn("log1p", l), neg(l), scale(Q(1, 2), pw(l, 2))))
    if k == 6:
        eps = Q(1, 10 ** rng.randint(3, 25))
        return scale(c, add(fn("log", add(C(eps), l)), neg(fn("log", C(eps))), scale(-1 / eps, l),
                            scale(1 / (2 * eps * eps), pw(l, 2))))
    if k == 7:
        return scale(c, mul(l, add(fn("softplus", l2), neg(fn("log", C(2))), scale(Q(-1, 2), l2))))
    if k == 8:
        return scale(c, mul(pw(l, 2), add(fn("sigmoid", l2), C(Q(-1, 2)))))
    if k == 9:
        return scale(c, mul(l, add(fn("sqrt", add(C(1), pw(l2, 2))), C(-1))))
    return scale(c, mul(pw(l, 2), fn("atan", l2)))


# ---- designed combinations: c*t^k + O(t^(k+1)) from random transcendental blocks ----

def blocks(l):
    return [
        ("exp", fn("exp", l)), ("sin", fn("sin", l)), ("cos", fn("cos", l)),
        ("log1p", fn("log1p", l)), ("log", fn("log", add(C(1), l))), ("tanh", fn("tanh", l)),
        ("atan", fn("atan", l)), ("sigmoid", fn("sigmoid", l)), ("softplus", fn("softplus", l)),
        ("sqrt", fn("sqrt", add(C(1), l))), ("inv", pw(add(C(1), l), -1)),
        ("expm1", fn("expm1", l)), ("sinh", fn("sinh", l)), ("cosh", fn("cosh", l)),
        ("exp2", fn("exp", pw(l, 2))), ("sin2", pw(fn("sin", l), 2)), ("lsin", mul(l, fn("sin", l))),
        ("ltanh", mul(l, fn("tanh", l))), ("cos2", fn("cos", scale(2, l))),
        ("atan2", fn("atan", pw(l, 2))), ("sqrt2", fn("sqrt", add(C(4), scale(3, l)))),
        ("exp3", fn("exp", scale(Q(1, 3), l))), ("tanh2", fn("tanh", scale(2, l))),
    ]


_BLOCK_SERIES = {}


def block_series(K):
    if K not in _BLOCK_SERIES:
        t = V(0)
        th = [[Q(0), Q(1)] + [Q(0)] * (K - 1)]
        _BLOCK_SERIES[K] = {name: evaluate(b, th, K) for name, b in blocks(t)}
    return _BLOCK_SERIES[K]


def solve_affine(rows, rhs, nvar, rng):
    """A random rational solution of rows * a = rhs (Fractions), or None."""
    A = [list(r) + [b] for r, b in zip(rows, rhs)]
    m = len(A)
    piv_cols = []
    r = 0
    for c in range(nvar):
        p = next((i for i in range(r, m) if A[i][c] != 0), None)
        if p is None:
            continue
        A[r], A[p] = A[p], A[r]
        inv = 1 / A[r][c]
        A[r] = [v * inv for v in A[r]]
        for i in range(m):
            if i != r and A[i][c] != 0:
                f = A[i][c]
                A[i] = [a - f * b for a, b in zip(A[i], A[r])]
        piv_cols.append(c)
        r += 1
        if r == m:
            break
    for i in range(r, m):
        if A[i][nvar] != 0:
            return None
    free = [c for c in range(nvar) if c not in piv_cols]
    sol = [Q(0)] * nvar
    for c in free:
        sol[c] = rq(rng, -3, 3, 3, nonzero=False)
    for i, c in enumerate(piv_cols):
        sol[c] = A[i][nvar] - sum(A[i][f] * sol[f] for f in free)
    return sol


def designed(rng, l, k, c, nblocks=None, poly_ok=True, zero_const=False):
    """sum_j a_j B_j(l) + sum_j b_j l^j with the series c*l^k + O(l^(k+1)) (orders 1..k);
    with zero_const also the constant term is exactly 0 (blocks with irrational values at 0,
    softplus, are then left out)."""
    K = k
    bs = block_series(K)
    names = list(bs)
    for _ in range(50):
        m = nblocks or rng.randint(2, 4)
        chosen = rng.sample([nm for nm in names if not (zero_const and not isq(bs[nm][0]))], m)
        # powers l^j, j < k, with random presence, make the system solvable and add variety
        powers = [j for j in range(1, k) if poly_ok and rng.random() < 0.5]
        cols = [bs[nm] for nm in chosen] + [[Q(int(i == j)) for i in range(K + 1)] for j in powers]
        if any(not isq(v) for col in cols for v in col[1:]):
            continue
        rows = [[col[o] for col in cols] for o in range(1, k + 1)]
        rhs = [Q(0)] * (k - 1) + [Q(c)]
        sol = solve_affine(rows, rhs, len(cols), rng)
        if sol is None:
            continue
        if all(s == 0 for s in sol[:m]):
            continue
        bl = dict(blocks(l))
        terms = [scale(a, bl[nm]) for a, nm in zip(sol[:m], chosen) if a != 0]
        terms += [scale(a, pw(l, j)) for a, j in zip(sol[m:], powers) if a != 0]
        if zero_const:
            c0 = sum((a * bs[nm][0] for a, nm in zip(sol[:m], chosen)), Q(0))
            terms.append(C(-c0))
        return add(*terms)
    raise GenRetry("no designed combination")


# ---- binary forms, certified with SymPy ----

def binary_form_class(coeffs):
    """coeffs[i] is the coefficient of a^i b^(d-i): 'pos', 'neg', 'indef', 'semi' or 'zero'.
    Exact: SymPy's square-free factorization and real-root counting of G(s, 1)."""
    import sympy as sp
    d = len(coeffs) - 1
    if all(c == 0 for c in coeffs):
        return "zero"
    s = sp.Symbol("s")
    imax = max(i for i, c in enumerate(coeffs) if c != 0)
    poly = sp.Poly(sum(sp.Rational(c.numerator, c.denominator) * s ** i for i, c in enumerate(coeffs)), s)
    # a real root of odd multiplicity of G(s, 1): G changes sign across the line a = root*b
    if poly.degree() > 0:
        for f, m in sp.sqf_list(poly)[1]:
            if m % 2 == 1 and sp.Poly(f, s).count_roots() > 0:
                return "indef"
    # otherwise G(s, 1) has the sign of its leading coefficient wherever it is not 0
    sigma = 1 if coeffs[imax] > 0 else -1
    if (d - imax) % 2 == 1:
        return "indef"          # b^(d - imax) divides G with an odd power: G(1, b) changes sign
    if d - imax > 0:
        return "semi"
    if poly.degree() > 0 and poly.count_roots() > 0:
        return "semi"
    if coeffs[0] == 0:
        return "semi"
    return "pos" if sigma > 0 else "neg"


def form_node(coeffs, a, b):
    d = len(coeffs) - 1
    return add(*[scale(c, mul(pw(a, i), pw(b, d - i))) for i, c in enumerate(coeffs) if c != 0])


# ----------------------------------------------------------------------------------------------
# The families; each returns a Case
# ----------------------------------------------------------------------------------------------

class Case:
    def __init__(self, family, n, loss, lets, point, truth, note, order=None, curve=None):
        self.family = family
        self.n = n
        self.loss = loss
        self.lets = lets
        self.point = point
        self.truth = truth
        self.note = note
        self.order = order
        self.curve = curve

    def text(self):
        out = [f"# fuzz_verdicts: family {self.family}; truth {self.truth}: {self.note}"]
        out.append("param " + ", ".join(PARAMS[:self.n]) + ";")
        for lt in self.lets:
            out.append(f"let {lt.val} = {hl(lt.args[0], top=True)};")
        out.append(f"loss {hl(self.loss, top=True)};")
        return "\n".join(out) + "\n"

    def at(self):
        return ",".join(f"{PARAMS[i]}={q}" for i, q in enumerate(self.point))


def sign_word(sg, strict=True):
    if sg > 0:
        return "strict_min" if strict else "min"
    return "strict_max" if strict else "max"


def pick_order(rng, cap=40):
    if rng.random() < 0.7:
        return None
    return rng.randint(3, cap)


def gen_nondeg(rng):
    n = rng.randint(1, 3)
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M)
    npos = rng.randint(0, n)
    signs = [1] * npos + [-1] * (n - npos)
    rng.shuffle(signs)
    quad = add(*[scale(s * abs(rq(rng, 1, 5, 4)), pw(v, 2)) for s, v in zip(signs, vs)])
    if rng.random() < 0.4:
        quad = mul(quad, positive_factor(ctx, us))
    junk = [junk3(ctx, us) for _ in range(rng.randint(0, 3))]
    loss = add(C(rq(rng, -5, 5, 3, nonzero=False)), quad, *junk)
    truth = "strict_min" if npos == n else "strict_max" if npos == 0 else "saddle"
    return Case("nondeg", n, loss, ctx.lets, p, truth, f"Hessian signature {npos}+ {n - npos}-",
                pick_order(rng))


def rand_phi(ctx, t, us, allow_linear=False):
    rng = ctx.rng
    k = rng.random()
    if k < 0.45:
        terms = [scale(rq(rng, -3, 3, 4), pw(t, j)) for j in range(2, rng.randint(2, 4) + 1)
                 if rng.random() < 0.8]
        phi = add(*terms)
    elif k < 0.75:
        phi = designed(rng, t, 2, rq(rng, -3, 3, 3), poly_ok=False, zero_const=True)
    elif k < 0.9:
        phi = C(0)
    else:
        phi = mul(t, rand_lin(rng, us))       # O(|u|^2), a bilinear bend
    if allow_linear and rng.random() < 0.5:
        phi = add(scale(rq(rng, -2, 2, 2), t), phi)
    return phi


def gen_split(rng):
    n = rng.choice([2, 2, 3])
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M, names=["s", "t", "r"])
    s, t = vs[0], vs[1]
    k = rng.choice([3, 4, 4, 5, 6, 6, 7, 8] + ([9, 10, 12] if rng.random() < 0.2 else []))
    phi = rand_phi(ctx, t, us)
    w = let(ctx, "w", sub(s, phi)) if phi.op != "const" else s
    a = rq(rng, -4, 4, 3)
    c = rq(rng, -4, 4, 3)
    # B(l) with l = t or t + (something of weight > 2)
    l = t
    if rng.random() < 0.3:
        l = let(ctx, "l", add(t, scale(rq(rng, -2, 2, 2), pw(rand_lin(rng, us), 2))))
    if rng.random() < 0.3:
        B = scale(c, pw(l, k))
    else:
        B = designed(rng, l, k, c)
    main = scale(a, pw(w, 2))
    if rng.random() < 0.4:
        # E(p) scales a; with a third coordinate Q2's definiteness depends on it: E(p) = 1 there
        main = mul(main, positive_factor(ctx, us, unit=(n == 3)))
    terms = [main, B]
    qdef = None
    if n == 3:
        r = vs[2]
        b = rq(rng, -4, 4, 3)
        e = rq(rng, -3, 3, 2, nonzero=False)
        terms += [scale(b, pw(r, 2)), scale(e, mul(r, w))]
        # Q2 = a w^2 + e w r + b r^2: definite iff 4ab - e^2 > 0
        disc = 4 * a * b - e * e
        qdef = 0 if disc < 0 else (1 if a > 0 else -1) if disc > 0 else None
        if qdef is None:
            raise GenRetry("degenerate Q2")
    else:
        qdef = 1 if a > 0 else -1
    # junk of weighted degree > 2k with weights w: k, r: k, t: 2, any u: >= 2
    wr = [w] + ([vs[2]] if n == 3 else [])
    for _ in range(rng.randint(0, 3)):
        kind = rng.randrange(5)
        cj = rq(rng, -3, 3, 3)
        if kind == 0:       # w^i t^j, i*k + 2j > 2k
            i = rng.randint(0, 3)
            jmin = 0 if i >= 3 else (1 if i == 2 else (k // 2 + 1 if i == 1 else k + 1))
            j = jmin + rng.randint(0, 1)
            terms.append(scale(cj, mul(pw(rng.choice(wr), i), pw(t, j))))
        elif kind == 1:     # t^(k+1) times an O(1) factor
            terms.append(scale(cj, mul(pw(t, k + 1), positive_factor(ctx, us, irrational_ok=False))))
        elif kind == 2:     # w^2 * O(u)
            terms.append(scale(cj, mul(pw(rng.choice(wr), 2), fn("sin", rand_lin(rng, us)))))
        elif kind == 3:     # any u-power of degree k + 1 (weight >= 2k + 2)
            terms.append(scale(cj, rand_monomial(rng, us, k + 1)))
        else:               # w * O(|u|^(k//2 + 1)), transcendental
            g = fn("tanh", rand_lin(rng, us))
            terms.append(scale(cj, mul(rng.choice(wr), pw(g, k // 2 + 1))))
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), *terms)
    if qdef == 0:
        truth = "saddle"
    elif k % 2 == 0 and (c > 0) == (qdef > 0):
        truth = sign_word(qdef)
    else:
        truth = "saddle"
    note = f"weighted form Q2(w{', r' if n == 3 else ''}) + ({c})*t^{k}, Q2 {['indefinite', 'positive', 'negative'][qdef]}"
    return Case("split", n, loss, ctx.lets, p, truth, note, pick_order(rng, 30 if n == 2 else 20))


def gen_null2(rng):
    n = 3
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M, names=["s", "a", "b"])
    s, va, vb = vs
    d = rng.choice([3, 4, 4, 4, 5, 6, 6])
    for _ in range(30):
        G = [rq(rng, -4, 4, 2, nonzero=False) for _ in range(d + 1)]
        if rng.random() < 0.5 and d % 2 == 0:
            # a product of definite quadratics (irrational complex roots) times +-1
            G = [Q(1)]
            for _ in range(d // 2):
                bq = Q(rng.randint(-3, 3))
                cq = Q(rng.randint(1, 5))
                if rng.random() < 0.3:
                    cq = -cq      # real (irrational) roots: indefinite
                qd = [cq, bq, Q(1)]  # coefficients of a^0 b^2, a^1 b, a^2
                G = [sum(G[i] * qd[j] for i in range(len(G)) for j in range(3) if i + j == m)
                     for m in range(len(G) + 2)]
            G = [g * rng.choice([-1, 1]) * rng.randint(1, 3) for g in G]
        cls = binary_form_class(G)
        if cls in ("pos", "neg", "indef"):
            break
    else:
        raise GenRetry("no classifiable binary form")
    psi = add(*[scale(rq(rng, -2, 2, 2), rand_monomial(rng, [va, vb], 2)) for _ in range(rng.randint(0, 2))])
    w = let(ctx, "w", sub(s, psi)) if psi.op != "const" else s
    a = rq(rng, -4, 4, 3)
    main = scale(a, pw(w, 2))
    if rng.random() < 0.3:
        main = mul(main, positive_factor(ctx, us))
    terms = [main, form_node(G, va, vb)]
    half = d // 2 + 1
    for _ in range(rng.randint(0, 3)):
        kind = rng.randrange(5)
        cj = rq(rng, -3, 3, 3)
        if kind == 0:
            terms.append(scale(cj, mul(w, rand_monomial(rng, [va, vb], half))))
        elif kind == 1:
            terms.append(scale(cj, mul(pw(w, 2), rand_lin(rng, us))))
        elif kind == 2:
            terms.append(scale(cj, rand_monomial(rng, [va, vb], d + 1)))
        elif kind == 3:
            terms.append(scale(cj, mul(rand_monomial(rng, [va, vb], d), add(fn("exp", rand_lin(rng, us)), C(-1)))))
        else:
            terms.append(scale(cj, pw(fn("sin", rand_lin(rng, [va, vb])), d + 1)))
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), *terms)
    if cls == "indef":
        truth = "saddle"
    elif (cls == "pos") == (a > 0):
        truth = "strict_min" if a > 0 else "strict_max"
    else:
        truth = "saddle"
    return Case("null2", n, loss, ctx.lets, p, truth, f"binary form of degree {d} ({cls}) on the null plane, a = {a}",
                pick_order(rng, 16))


def gen_hzero(rng):
    n = rng.choice([1, 2, 2, 3])
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M)
    terms = []
    if n == 1:
        k = rng.randint(3, 12)
        c = rq(rng, -4, 4, 3)
        terms.append(designed(rng, vs[0], k, c) if rng.random() < 0.7 else scale(c, pw(vs[0], k)))
        d = k
        truth = "saddle" if k % 2 else ("strict_min" if c > 0 else "strict_max")
        note = f"({c})*v^{k} + O(v^{k + 1})"
    elif n == 2:
        d = rng.randint(3, 6)
        for _ in range(30):
            G = [rq(rng, -4, 4, 2, nonzero=False) for _ in range(d + 1)]
            cls = binary_form_class(G)
            if cls in ("pos", "neg", "indef"):
                break
        else:
            raise GenRetry("binary")
        terms.append(form_node(G, vs[0], vs[1]))
        truth = {"pos": "strict_min", "neg": "strict_max", "indef": "saddle"}[cls]
        note = f"binary form of degree {d} ({cls})"
    else:
        d = rng.choice([3, 4])
        monos = []
        for i in range(d + 1):
            for j in range(d + 1 - i):
                monos.append((i, j, d - i - j))
        if d == 3:
            coeffs = {m: rq(rng, -3, 3, 2, nonzero=False) for m in monos if rng.random() < 0.5}
            if not any(coeffs.values()):
                raise GenRetry("zero cubic")
            truth = "saddle"
            note = "ternary cubic"
        else:
            coeffs = {m: rq(rng, -3, 3, 2, nonzero=False) for m in monos if rng.random() < 0.4}
            if rng.random() < 0.5:
                mval = sum(abs(v) for v in coeffs.values()) + rq(rng, 1, 3, 2)
                mval *= rng.choice([-1, 1])
                # m*(a^2 + b^2 + c^2)^2 = m*sum of a^4 + 2 m a^2 b^2 ...
                for (i, j, kk), cf in [((4, 0, 0), 1), ((0, 4, 0), 1), ((0, 0, 4), 1), ((2, 2, 0), 2),
                                       ((2, 0, 2), 2), ((0, 2, 2), 2)]:
                    coeffs[(i, j, kk)] = coeffs.get((i, j, kk), Q(0)) + mval * cf
                truth = "strict_min" if mval > 0 else "strict_max"
                note = "ternary quartic dominated by m*r^4"
            else:
                vals = set()
                for _ in range(60):
                    pt = [Q(rng.randint(-3, 3)) for _ in range(3)]
                    val = sum(cf * pt[0] ** m[0] * pt[1] ** m[1] * pt[2] ** m[2] for m, cf in coeffs.items())
                    if val:
                        vals.add(val > 0)
                if vals != {True, False}:
                    raise GenRetry("ternary quartic not shown indefinite")
                truth = "saddle"
                note = "ternary quartic with values of both signs"
        terms.append(add(*[scale(cf, mul(pw(vs[0], m[0]), pw(vs[1], m[1]), pw(vs[2], m[2])))
                           for m, cf in coeffs.items() if cf != 0]))
    for _ in range(rng.randint(0, 3)):
        kind = rng.randrange(4)
        cj = rq(rng, -3, 3, 3)
        if kind == 0:
            terms.append(scale(cj, rand_monomial(rng, us, d + 1)))
        elif kind == 1:
            terms.append(scale(cj, mul(rand_monomial(rng, us, d), fn("sin", rand_lin(rng, us)))))
        elif kind == 2:
            terms.append(scale(cj, mul(rand_monomial(rng, us, d + 1), fn("exp", rand_lin(rng, us)))))
        else:
            terms.append(scale(cj, pw(fn("tanh", rand_lin(rng, us)), d + 1)))
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), *terms)
    return Case("hzero", n, loss, ctx.lets, p, truth, note, pick_order(rng, 40 if n < 3 else 14))


def gen_many(rng):
    """The Hessian 0 at a point in 6 to 12 variables (issue 17: such forms went unsearched and
    were called semidefinite), in rotated, shifted coordinates v = M (theta - p), each form plus
    terms of the next degree: a cubic (odd, nonzero: a saddle); a narrow cone
    (a v0 - v1)^2 (v0^2 + ... + v_{n-1}^2) - e v0^4, negative only near v1 = a v0 and positive at
    v = e_1 (a saddle); a product of 3 to 12 of the coordinates (an odd exponent: a saddle; with
    8 variables or more hessgen tries lines first, exact.c line_saddle, and a product of more
    than 9 is past its dense series)."""
    kind = rng.choice(["cubic", "cone", "product"])
    n = rng.randint(6, 12)
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    vs = coords(ctx, us, rand_matrix(rng, n, 1))
    if kind == "cubic":
        d = 3
        terms = [scale(rq(rng, -3, 3, 2), mul(*[vs[i] for i in idx]))
                 for idx in {tuple(sorted(rng.sample(range(n), 3))) for _ in range(rng.randint(1, 4))}]
        note = "a cubic form in %d variables" % n
    elif kind == "cone":
        d = 4
        a, e = rq(rng, -3, 3, 3), Q(1, rng.choice([50, 100, 1000]))
        terms = [mul(pw(sub(scale(a, vs[0]), vs[1]), 2), add(*[pw(v, 2) for v in vs])), scale(-e, pw(vs[0], 4))]
        note = "a cone: (%s v0 - v1)^2 |v|^2 - %s v0^4 in %d variables" % (a, e, n)
    else:
        d = rng.randint(3, n)
        terms = [scale(rq(rng, -3, 3, 2), mul(*[vs[i] for i in rng.sample(range(n), d)]))]
        note = "a product of %d of %d coordinates" % (d, n)
    for _ in range(rng.randint(0, 2)):
        terms.append(scale(rq(rng, -3, 3, 3), rand_monomial(rng, us, d + 1)))
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), *terms)
    return Case("many", n, loss, ctx.lets, p, "saddle", note)


def signed_expanded(rng, terms, n):
    """(sign, c0 +- sum(terms) expanded into monomials of the parameters): no square visible."""
    sg = rng.choice([1, -1])
    body = add(*terms)
    poly = expand_polynomial(add(C(rq(rng, -3, 3, 2, nonzero=False)), body if sg > 0 else neg(body)), n)
    if poly is None:
        raise GenRetry("not expanded")
    return sg, poly


def gen_symmetric(rng):
    """A loss with a planted affine symmetry, expanded in the parameters (so that no square is
    visible), at a point of its manifold of minima (or maxima): with v = M (theta - p),
    S = v0*v1 + b v0 + a v1 (invariant under v0 + a -> c (v0 + a), v1 + b -> (v1 + b) / c),
    S = v0 + k v1^2 + a v1 (the shear along S = const) or S = (v0 + a)^2 - (v1 + b)^2 - a^2 + b^2
    (a hyperbolic rotation), and L = +-(c S^2 + m (v2^2 + ...)), c, m > 0. S = 0 through the
    point with grad S != 0 there: a manifold of minima (maxima), not strict."""
    n = rng.randint(2, 4)
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    vs = coords(ctx, us, rand_matrix(rng, n, 1))
    a, b = rq(rng, -3, 3, 3), rq(rng, -3, 3, 3)
    kind = rng.choice(["scaling", "shear", "hyperbolic"])
    if kind == "scaling":
        S = add(mul(vs[0], vs[1]), scale(b, vs[0]), scale(a, vs[1]))
    elif kind == "shear":
        S = add(vs[0], scale(rq(rng, -3, 3, 3), pw(vs[1], 2)), scale(a, vs[1]))
    else:
        S = add(pw(add(vs[0], C(a)), 2), neg(pw(add(vs[1], C(b)), 2)), C(b * b - a * a))
    terms = [scale(rq(rng, 1, 3, 3), pw(S, 2))] + [scale(rq(rng, 1, 3, 3), pw(v, 2)) for v in vs[2:]]
    sg, poly = signed_expanded(rng, terms, n)
    return Case("symmetric", n, poly, [], p, "min" if sg > 0 else "max",
                f"{'+' if sg > 0 else '-'}(c S^2 + m |v'|^2), S invariant under a {kind} (expanded)")


def gen_sos(rng):
    """A planted sum of squares of quadratic forms, expanded, in v = M (theta - p), 3 variables:
    strict, sum_k q_k(v)^2 + c (v0^4 + v1^4 + v2^4), positive definite (a strict minimum); or
    not strict, sum_k q_k(v)^2 with every q_k free of v0^2, so all vanish on the line v1 = v2 = 0
    (a minimum, not strict). Negated for maxima. The Hessian is 0 there and no square is
    visible: neither the second-order test nor the non-negative-terms test decides."""
    n = 3
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    vs = coords(ctx, us, rand_matrix(rng, n, 1))
    strict = rng.random() < 0.5
    pairs = [(i, j) for i in range(n) for j in range(i, n) if strict or (i, j) != (0, 0)]
    quads = []
    for _ in range(rng.randint(2, 4)):
        q = [scale(rq(rng, -2, 2, 2), mul(vs[i], vs[j])) for i, j in pairs if rng.random() < 0.5]
        if q:
            quads.append(pw(add(*q), 2))
    if not quads:
        raise GenRetry("no square")
    if strict:
        quads.append(scale(rq(rng, 1, 3, 2), add(*[pw(v, 4) for v in vs])))
    sg, poly = signed_expanded(rng, quads, n)
    truth = ("strict_" if strict else "") + ("min" if sg > 0 else "max")
    return Case("sos", n, poly, [], p, truth,
                f"{'+' if sg > 0 else '-'}(sum of squares of quadratic forms{', + c |v|_4^4' if strict else ', all 0 on a line'}) (expanded)")


def gen_irrdouble(rng):
    n = rng.choice([2, 2, 3])
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M)
    a, b = vs[0], vs[1]
    m = rng.choice([2, 3, 5, 6, 7, 1, 4, 9])    # non-squares: irrational double lines
    bb = Q(rng.randint(-2, 2))
    q = let(ctx, "q", add(pw(a, 2), scale(bb, mul(a, b)), scale(-m, pw(b, 2))))
    c = rq(rng, -3, 3, 2)
    main = pw(q, 2)
    if rng.random() < 0.3:
        main = mul(main, positive_factor(ctx, us, irrational_ok=False))
    r2 = add(pw(a, 2), pw(b, 2))
    terms = [main, scale(c, pw(r2, 3))]
    if rng.random() < 0.5:
        h4 = add(*[scale(rq(rng, -2, 2, 2), rand_monomial(rng, [a, b], 4)) for _ in range(2)])
        terms.append(mul(q, h4))
    for _ in range(rng.randint(0, 2)):
        terms.append(scale(rq(rng, -2, 2, 3), rand_monomial(rng, [a, b], 7)))
    sg3 = rng.choice([1, 1, -1])
    if n == 3:
        terms.append(scale(sg3 * abs(rq(rng, 1, 3, 2)), pw(vs[2], 2)))
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), *terms)
    if n == 3:
        # the third coordinate's square has the sign sg3; a strict min needs c > 0 and sg3 > 0
        truth = "strict_min" if (c > 0 and sg3 > 0) else "saddle"
    else:
        truth = "strict_min" if c > 0 else "saddle"
    return Case("irrdouble", n, loss, ctx.lets, p, truth,
                f"(a^2 + {bb}*a*b - {m}*b^2)^2 + ({c})*(a^2 + b^2)^3 + ...", pick_order(rng, 30 if n == 2 else 16))


def nonneg_wrap(rng, P):
    """A function of P that is >= 0, vanishes where P does, and is not identically 0."""
    k = rng.randrange(9)
    a = abs(rq(rng, 1, 4, 3))
    if k == 0:
        return scale(a, pw(P, 2))
    if k == 1:
        return scale(a, pw(P, 4))
    if k == 2:
        return scale(a, fn("log", add(C(1), pw(P, 2))))
    if k == 3:
        return scale(a, sub(C(1), fn("cos", P)))
    if k == 4:
        return scale(a, pw(fn("tanh", P), 2))
    if k == 5:
        return scale(a, add(fn("exp", pw(P, 2)), C(-1)))
    if k == 6:
        return scale(a, add(fn("sqrt", add(C(1), pw(P, 2))), C(-1)))
    if k == 7:
        return scale(a, pw(fn("sin", P), 2))
    return scale(a, add(fn("softplus", pw(P, 2)), neg(fn("log", C(2)))))


def expand_polynomial(node, n):
    """The loss expanded into monomials of the parameters (SymPy), or None if it is not a
    polynomial. Its structure (a sum of squares) is then hidden from hessgen."""
    import sympy as sp
    syms = sp.symbols(PARAMS[:n])

    def conv(m):
        if m.op == "const":
            return sp.Rational(m.val.numerator, m.val.denominator)
        if m.op == "var":
            return syms[m.val]
        if m.op == "let":
            return conv(m.args[0])
        if m.op == "add":
            return sp.Add(*[conv(a) for a in m.args])
        if m.op == "mul":
            return sp.Mul(*[conv(a) for a in m.args])
        if m.op == "pow" and m.val >= 0:
            return conv(m.args[0]) ** m.val
        raise ValueError("not a polynomial")
    try:
        e = sp.expand(conv(node))
    except ValueError:
        return None
    terms = []
    for mono, cf in sp.Poly(e, *syms).terms():
        terms.append(scale(Q(int(cf.p), int(cf.q)), mul(*[pw(V(i), k) for i, k in enumerate(mono) if k])))
    return add(*terms)


def gen_nonstrict(rng):
    n = rng.choice([2, 2, 3])
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M, names=["s", "t", "r"])
    s, t = vs[0], vs[1]
    phi = rand_phi(ctx, t, us, allow_linear=True)
    P = let(ctx, "P", sub(s, phi)) if phi.op != "const" else s
    factors = [P]
    if n == 3:
        rr = vs[2]
        chi = add(*[scale(rq(rng, -2, 2, 2), rand_monomial(rng, [s, t], rng.randint(1, 2)))
                    for _ in range(rng.randint(0, 2))])
        R = let(ctx, "R", sub(rr, chi)) if chi.op != "const" else rr
        factors.append(R)
    terms = []
    mode = rng.randrange(4)
    if mode == 0 or n == 2 and mode == 3:
        for F in factors:
            wrap = nonneg_wrap(rng, F)
            if rng.random() < 0.3:
                wrap = mul(wrap, positive_factor(ctx, us))
            terms.append(wrap)
    elif mode == 1:     # products: P^2*R^2 or P^2*(1 + t^2)...; H may be 0
        prod = mul(*[pw(F, 2) for F in factors])
        terms.append(scale(abs(rq(rng, 1, 3, 2)), prod))
        if n == 2 and rng.random() < 0.5:
            terms.append(scale(abs(rq(rng, 1, 3, 2)), pw(P, 4)))
    elif mode == 2:     # several non-negative terms sharing the zero set
        for F in factors:
            terms.append(nonneg_wrap(rng, F))
            terms.append(scale(abs(rq(rng, 1, 3, 2)), mul(pw(F, 2), pw(rand_lin(rng, us), 2))))
    else:               # 3 parameters, the zero set of P alone: a surface
        terms.append(nonneg_wrap(rng, P))
        terms.append(scale(abs(rq(rng, 1, 3, 2)), mul(pw(P, 2), pw(vs[2], 2))))
    sg = rng.choice([1, -1])
    body = add(*terms)
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), body if sg > 0 else neg(body))
    expanded = ""
    if rng.random() < 0.25:
        poly = expand_polynomial(loss, n)
        if poly is not None:
            loss, ctx.lets, expanded = poly, [], " (expanded in the parameters)"
    truth = "min" if sg > 0 else "max"
    return Case("nonstrict", n, loss, ctx.lets, p, truth,
                f"{'+' if sg > 0 else '-'}(non-negative terms vanishing on a curve through the point){expanded}",
                pick_order(rng, 30 if n == 2 else 16))


def gen_kink(rng):
    n = rng.randint(1, 3)
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M)
    npos = rng.randint(0, n)
    signs = [1] * npos + [-1] * (n - npos)
    quad = add(*[scale(s * abs(rq(rng, 1, 5, 4)), pw(v, 2)) for s, v in zip(signs, vs)])
    l = rand_lin(rng, us)
    c = rq(rng, -3, 3, 2)
    k = rng.randrange(3)
    if k == 0:
        kink = scale(c, pw(fn("abs", l), 3))
    elif k == 1:
        kink = scale(c, pw(fn("relu", l), 3))
    else:
        kink = scale(c, pw(fn("relu", sub(l, C(1))), 2))   # 0 near the point
    loss = add(quad, kink)
    truth = "strict_min" if npos == n else "strict_max" if npos == 0 else "saddle"
    return Case("kink", n, loss, ctx.lets, p, truth, "nondegenerate quadratic plus a C^2 kink term",
                pick_order(rng))


def gen_cusp(rng):
    """(v0^2 - r*v1^3)^2*E + c*v1^7 + terms of weighted degree >= 15 (weights 3, 2): the form
    vanishes on a cusp, not on a graph v0 = y0*v1^b. Strict minimum iff c*sign(r) > 0."""
    n = 2
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M)
    a, b = vs
    r = rq(rng, -4, 4, 2) if rng.random() < 0.6 else Q(rng.choice([1, 4, 9, -1, -4]))
    c = rq(rng, -3, 3, 2)
    A = let(ctx, "A", sub(pw(a, 2), scale(r, pw(b, 3))))
    main = pw(A, 2)
    if rng.random() < 0.3:
        main = mul(main, positive_factor(ctx, us, unit=True))
    terms = [main, scale(c, pw(b, 7))]
    for _ in range(rng.randint(0, 3)):
        while True:
            i, j = rng.randint(0, 5), rng.randint(0, 8)
            if 3 * i + 2 * j >= 15:
                break
        terms.append(scale(rq(rng, -3, 3, 3), mul(pw(a, i), pw(b, j))))
    if rng.random() < 0.3:
        # A*h with h of weight >= 8 (here b^3*sin(l): 6 + 2): near the cusp A^2 + A*h >= -h^2/4,
        # of weight >= 16 > 14; elsewhere A*h has weight >= 14 > 12
        terms.append(scale(rq(rng, -2, 2, 2), mul(A, pw(b, 3), fn("sin", rand_lin(rng, us)))))
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), *terms)
    truth = "strict_min" if c * r > 0 else "saddle"
    return Case("cusp", n, loss, ctx.lets, p, truth, f"(a^2 - ({r})*b^3)^2 + ({c})*b^7 + weight >= 15",
                pick_order(rng, 40))


def gen_shift(rng):
    """Hessian 0 on the plane of (v0, v1) (three parameters: plus a nondegenerate coordinate):
    w^2*P(v0, w) + c*v0^k + junk with w = v1 - r*v0 (r rational: the quartic form has the
    rational double line w = 0, which hessgen shifts to an axis), P a positive definite
    quadratic form, and junk monomials v0^i*w^j strictly above the Newton polygon of
    {w^4, w^2*v0^2, v0^k}. Since w^2*P >= lam*(w^4 + w^2*v0^2), for k even and c > 0 the junk is
    dominated (weighted AM-GM) and the point is a strict minimum; otherwise c*v0^k takes
    negative values on w = 0 while w^4*P(0, 1) > 0 on v0 = 0: a saddle. Negated: maxima."""
    n = rng.choice([2, 2, 3])
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    us = offsets(ctx, p)
    M = rand_matrix(rng, n)
    vs = coords(ctx, us, M)
    a0, a1 = vs[0], vs[1]
    r = rq(rng, -3, 3, 2, nonzero=False)
    w = let(ctx, "w", sub(a1, scale(r, a0))) if r != 0 else a1
    while True:
        pa, pb, pc = rq(rng, 1, 4, 2), rq(rng, -3, 3, 2, nonzero=False), rq(rng, 1, 4, 2)
        if 4 * pa * pc - pb * pb > 0:
            break
    P = add(scale(pa, pw(a0, 2)), scale(pb, mul(a0, w)), scale(pc, pw(w, 2)))
    k = rng.randint(3, 9)
    c = rq(rng, -3, 3, 2)
    terms = [mul(pw(w, 2), P), scale(c, pw(a0, k))]
    for _ in range(rng.randint(0, 3)):
        j = rng.randint(0, 5)
        imin = {0: k + 1, 1: k // 2 + 2, 2: 3, 3: 2, 4: 1}.get(j, 0)
        i = imin + rng.randint(0, 1)
        mono = mul(pw(a0, i), pw(w, j))
        if rng.random() < 0.3:
            mono = mul(mono, positive_factor(ctx, us, irrational_ok=False))
        terms.append(scale(rq(rng, -3, 3, 3), mono))
    sg = rng.choice([1, -1])
    body = add(*terms)
    zsign = 1
    if n == 3:
        zq = sub(vs[2], mul(a0, w)) if rng.random() < 0.5 else vs[2]
        zsign = rng.choice([1, 1, -1])
        body = add(body, scale(abs(rq(rng, 1, 3, 2)) * zsign, pw(zq, 2)))
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), body if sg > 0 else neg(body))
    strict = k % 2 == 0 and c > 0
    if n == 3:
        strict = strict and zsign > 0
    truth = ("strict_min" if sg > 0 else "strict_max") if strict else "saddle"
    return Case("shift", n, loss, ctx.lets, p, truth,
                f"{'+' if sg > 0 else '-'}(w^2*P + ({c})*v0^{k} + ...), w = v1 - ({r})*v0", pick_order(rng, 30 if n == 2 else 14))


def _deriv_polys(kind, k):
    """Taylor coefficients j! * c_j, j = 0..k, of f at p as polynomials (dicts power -> Fraction)
    in the value y = f(p) (sigmoid: y' = y - y^2; tanh: y' = 1 - y^2)."""
    polys = [{1: Q(1)}]
    for _ in range(k):
        prev = polys[-1]
        d = defaultdict(Q)
        for e, cf in prev.items():        # d/dx y^e = e*y^(e-1)*y'
            if e == 0:
                continue
            if kind == "sigmoid":
                d[e] += e * cf
                d[e + 1] -= e * cf
            else:
                d[e - 1] += e * cf
                d[e + 1] -= e * cf
        polys.append({e: cf for e, cf in d.items() if cf != 0})
    return polys


def gen_symbolic(rng):
    """a*(B(x) - T_k[B](x)) + c*(x - p)^k + ..., B transcendental at p != 0 and T_k its Taylor
    polynomial at p whose coefficients are written with the constants exp(m*p), sin(m*p),
    cos(m*p), sigmoid(p), tanh(p) (so that the cancellation is exact only symbolically)."""
    n = rng.choice([1, 1, 2])
    ctx = Ctx(rng, n)
    p = rand_point(rng, n)
    if p[0] == 0 or abs(p[0]) > 5:          # exp(m*p) stays moderate for the 420-digit check
        p[0] = rq(rng, -3, 3, 4)
    us = offsets(ctx, p)
    u = us[0]
    k = rng.randint(3, 8)
    c = rq(rng, -3, 3, 3)
    x = V(0)
    total = [scale(c, pw(u, k))]
    for _ in range(rng.randint(1, 2)):
        kind = rng.choice(["exp", "sin", "cos", "sigmoid", "tanh", "log", "atan_poly"])
        m = Q(rng.choice([1, 1, 2, -1, Q(1, 2), 3]))
        coeffs = []      # c_j as nodes, j = 0..k
        if kind == "exp":
            B = fn("exp", scale(m, x))
            E = fn("exp", C(m * p[0]))
            coeffs = [scale(m ** j / math.factorial(j), E) for j in range(k + 1)]
        elif kind in ("sin", "cos"):
            B = fn(kind, scale(m, x))
            S, Cc = fn("sin", C(m * p[0])), fn("cos", C(m * p[0]))
            cyc = [S, Cc, neg(S), neg(Cc)] if kind == "sin" else [Cc, neg(S), neg(Cc), S]
            coeffs = [scale(m ** j / math.factorial(j), cyc[j % 4]) for j in range(k + 1)]
        elif kind in ("sigmoid", "tanh"):
            B = fn(kind, x)
            Y = fn(kind, C(p[0]))
            polys = _deriv_polys(kind, k)
            coeffs = [add(*[scale(cf / math.factorial(j), pw(Y, e) if e else C(1)) for e, cf in polys[j].items()])
                      for j in range(k + 1)]
        elif kind == "log":
            if p[0] <= 0:
                continue
            B = fn("log", x)
            coeffs = [fn("log", C(p[0]))] + [C(Q((-1) ** (j + 1), j) / p[0] ** j) for j in range(1, k + 1)]
        else:   # atan: derivatives of 1/(1 + x^2) at p are rational
            B = fn("atan", x)
            ser = evaluate(pw(add(C(1), pw(x, 2)), -1), [[p[0], Q(1)] + [Q(0)] * (k - 1)], k)
            coeffs = [fn("atan", C(p[0]))] + [C(ser[j - 1] / j) for j in range(1, k + 1)]
        a = rq(rng, -3, 3, 2)
        taylor = add(*[mul(cj, pw(u, j)) if j else cj for j, cj in enumerate(coeffs)])
        total.append(scale(a, sub(B, taylor)))
    if len(total) == 1:
        raise GenRetry("no block")
    body = add(*total)
    for _ in range(rng.randint(0, 2)):
        body = add(body, scale(rq(rng, -2, 2, 2), pw(u, k + rng.randint(1, 3))))
    truth_sign = (1 if c > 0 else -1)
    pc = Q(0)
    if n == 2:
        pc = rq(rng, -2, 2, 2)
        psi = scale(pc, pw(u, 2))
        bq = rq(rng, -3, 3, 2)
        body = add(body, scale(bq, pw(sub(us[1], psi), 2)))
        qs = 1 if bq > 0 else -1
    else:
        qs = truth_sign
    loss = add(C(rq(rng, -3, 3, 2, nonzero=False)), body)
    # the construction, checked to 420 digits along x = p + t
    ser = evaluate(loss, poly_theta(p, [[Q(0), Q(1)]] + [[Q(0), Q(0), pc]] * (n - 1), k), k)
    for j in range(1, k):
        if nzero(ser[j]) is False:
            raise RuntimeError(f"symbolic family: coefficient {j} is {ntext(ser[j])}")
    if nzero(nsub(ser[k], c)) is False:
        raise RuntimeError("symbolic family: wrong leading coefficient")
    if k % 2 == 1 or qs != truth_sign:
        truth = "saddle"
    else:
        truth = "strict_min" if c > 0 else "strict_max"
    return Case("symbolic", n, loss, ctx.lets, p, truth, f"({c})*(x - p)^{k} + ..., built from Taylor polynomials "
                f"with symbolic coefficients", pick_order(rng, 30))


def gen_notcrit(rng):
    base_family = rng.choice(["nondeg", "split", "null2", "hzero", "irrdouble", "cusp", "shift", "symbolic",
                              "nonstrict"])
    case = GENERATORS[base_family](rng)
    k = rng.randint(5, 40)
    delta = Q(1, 10 ** k)
    while True:
        d = [rng.randint(-2, 2) for _ in range(case.n)]
        if any(d):
            break
    newp = [pi + delta * di for pi, di in zip(case.point, d)]
    g = exact_gradient(case.loss, newp)
    if not any(nzero(gi) is False for gi in g):
        raise GenRetry("moved point's gradient not certainly nonzero")
    case.family = "notcrit"
    case.point = newp
    case.truth = "not_critical"
    case.note = f"a {base_family} case ({case.note}) moved by 10^-{k}*{tuple(d)}"
    return case


GENERATORS = {"sos": gen_sos, "symmetric": gen_symmetric, "many": gen_many, "nondeg": gen_nondeg, "split": gen_split, "null2": gen_null2, "hzero": gen_hzero,
              "irrdouble": gen_irrdouble, "nonstrict": gen_nonstrict, "kink": gen_kink,
              "cusp": gen_cusp, "symbolic": gen_symbolic, "shift": gen_shift, "notcrit": gen_notcrit}


# ----------------------------------------------------------------------------------------------
# Judging hessgen
# ----------------------------------------------------------------------------------------------

class ParseError(Exception):
    pass


FUNCS = {"exp", "log", "sqrt", "sin", "cos", "tanh", "atan", "sinh", "cosh", "log1p", "expm1",
         "sigmoid", "softplus", "abs", "relu"}


def parse_expr(text, names):
    """An expression of hessgen's output (.hl syntax: numbers, names, + - * / ^, calls of the
    elementary functions) as a node; names[i] becomes V(i). A ball ("[1.0 +/- 1e-16]") or
    anything else is a ParseError: hessgen's certificates are to be exact."""
    import re
    toks = re.findall(r"\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|[A-Za-z_]\w*|\S", text)
    pos = [0]

    def peek():
        return toks[pos[0]] if pos[0] < len(toks) else None

    def take(expect=None):
        t = peek()
        if t is None or (expect and t != expect):
            raise ParseError(f"expected {expect or 'more'} in {text!r}")
        pos[0] += 1
        return t

    def expr():
        neg_ = False
        node = None
        while True:
            sgn = 1
            if node is None and peek() in ("-", "+"):
                sgn = -1 if take() == "-" else 1
            t = term()
            t = t if sgn > 0 else neg(t)
            node = t if node is None else (add(node, t) if op == "+" else sub(node, t))
            if peek() in ("+", "-"):
                op = take()
                continue
            return node

    def term():
        node = unary()
        while peek() in ("*", "/"):
            op = take()
            r = unary()
            if op == "*":
                node = mul(node, r)
            elif r.op == "const":
                if r.val == 0:
                    raise ParseError("division by 0")
                node = scale(1 / r.val, node)
            else:
                node = mul(node, pw(r, -1))
        return node

    def unary():
        if peek() == "-":
            take()
            return neg(unary())
        if peek() == "+":
            take()
            return unary()
        return power()

    def power():
        base = atom()
        if peek() == "^":
            take()
            e = unary()
            if e.op != "const":
                raise ParseError(f"non-constant exponent in {text!r}")
            if e.val.denominator != 1:
                return fn(("rpow", e.val), base)     # a fractional power (base > 0)
            k = int(e.val)
            if base.op == "const":
                if base.val == 0 and k < 0:
                    raise ParseError("0^negative")
                return C(base.val ** k)
            return pw(base, k)
        return base

    def atom():
        t = take()
        if t == "(":
            e = expr()
            take(")")
            return e
        if t[0].isdigit() or t[0] == ".":
            return C(Q(t))
        if t in names:
            return V(names.index(t))
        if t in FUNCS and peek() == "(":
            take("(")
            a = expr()
            take(")")
            return fn(t, a)
        raise ParseError(f"unexpected {t!r} in {text!r}")

    e = expr()
    if peek() is not None:
        raise ParseError(f"unexpected {peek()!r} in {text!r}")
    return e


def check_symmetry(case, cert):
    """hessgen's {"kind": "symmetry", "fields": [[X_1, ..., X_n], ...], "dimension": d}: with
    SymPy, grad L . X expands to 0 for every field, the fields' values at the point have rank d,
    and d is the Hessian's nullity there. None when it holds (or the loss has lets: not checked)."""
    import sympy as sp
    if case.lets:
        return None
    syms = sp.symbols(PARAMS[:case.n])
    env = dict(zip(PARAMS[:case.n], syms))
    try:
        L = sp.sympify(hl(case.loss, True).replace("^", "**"), locals=env)
        fields = [[sp.sympify(c.replace("^", "**"), locals=env) for c in f] for f in cert["fields"]]
    except (sp.SympifyError, TypeError, KeyError) as e:
        return f"cannot read it ({e})"
    grad = [sp.diff(L, v) for v in syms]
    at = {v: sp.Rational(q.numerator, q.denominator) for v, q in zip(syms, case.point)}
    for f in fields:
        if len(f) != case.n or sp.expand(sum(g * x for g, x in zip(grad, f))) != 0:
            return f"grad L . X is not 0 for X = {f}"
    H = sp.Matrix([[sp.diff(g, v) for v in syms] for g in grad]).subs(at)
    d = cert.get("dimension")
    rank = sp.Matrix([[x.subs(at) for x in f] for f in fields]).rank() if fields else 0
    if rank != d or case.n - H.rank() != d:
        return f"the fields' rank {rank} at the point, the Hessian's nullity {case.n - H.rank()}, dimension {d}"
    return None


def check_sos(case, cert):
    """hessgen's {"kind": "sos", "sign", "variables", "basis", "gram"}: with SymPy, m^T G m expands
    to sign * (L(p + u) - L(p)) and G is positive semidefinite (exact LDL^T). None when it holds
    (or the loss has lets: not checked)."""
    import sympy as sp
    if case.lets:
        return None
    syms = sp.symbols(PARAMS[:case.n])
    env = dict(zip(PARAMS[:case.n], syms))
    try:
        L = sp.sympify(hl(case.loss, True).replace("^", "**"), locals=env)
        u = [sp.Symbol(v) for v in cert["variables"]]
        loc = {v: s for v, s in zip(cert["variables"], u)}
        m = sp.Matrix([sp.sympify(b.replace("^", "**"), locals=loc) for b in cert["basis"]])
        G = sp.Matrix([[sp.Rational(x) for x in row] for row in cert["gram"]])
    except (sp.SympifyError, TypeError, KeyError, ValueError) as e:
        return f"cannot read it ({e})"
    at = {v: sp.Rational(q.numerator, q.denominator) for v, q in zip(syms, case.point)}
    P = sp.expand(cert["sign"] * (L.subs({v: ui + at[v] for v, ui in zip(syms, u)}, simultaneous=True) - L.subs(at)))
    if G != G.T or sp.expand((m.T * G * m)[0] - P) != 0:
        return "m^T G m is not the loss"
    A = G.copy()
    for k in range(A.rows):   # exact symmetric elimination
        if A[k, k] < 0 or (A[k, k] == 0 and any(A[k, j] != 0 for j in range(k + 1, A.rows))):
            return "G is not positive semidefinite"
        if A[k, k] != 0:
            for i in range(k + 1, A.rows):
                f = A[i, k] / A[k, k]
                for j in range(k, A.rows):
                    A[i, j] -= f * A[k, j]
    return None


def check_curve(case, member, want_sign):
    """None when the curve certificate checks, else why not. Values smaller than the working
    precision can tell (exp(-1700) at a point with a large coordinate) are tried again with
    2000 digits."""
    why = _check_curve(case, member, want_sign)
    if why and "cannot be told" in why:
        global ZTOL
        old_dps, old_tol = mp.dps, ZTOL
        try:
            mp.dps, ZTOL = 2000, mpmath.mpf(10) ** -1800
            why = _check_curve(case, member, want_sign)
        finally:
            mp.dps, ZTOL = old_dps, old_tol
    return why


def _check_curve(case, member, want_sign):
    curve = member.get("curve")
    order = member.get("order")
    sign = member.get("sign")
    if not isinstance(curve, list) or len(curve) != case.n or not isinstance(order, int) or order < 1:
        return f"malformed curve member {member}"
    if sign != want_sign:
        return f"sign {sign}, expected {want_sign}"
    try:
        nodes = [parse_expr(txt, ["t"]) for txt in curve]
    except (ParseError, ValueError, ZeroDivisionError) as e:
        return f"a curve coordinate is not an exact expression in t: {e}"
    K = order
    tser = [[Q(0), Q(1)] + [Q(0)] * (K - 1)]
    try:
        th = [evaluate(nd, tser, K) for nd in nodes]
    except Undefined as e:
        return f"the curve cannot be expanded at t = 0: {e}"
    for i, s in enumerate(th):
        if nzero(nsub(s[0], case.point[i])) is not True:
            return f"the curve does not pass through the point (coordinate {i}: {ntext(s[0])} != {case.point[i]})"
    if all(all(nzero(c) is True for c in s[1:]) for s in th):
        return "the curve is constant through the order examined"
    try:
        f = evaluate(case.loss, th, K)
        f0 = evaluate(case.loss, [[q] for q in case.point], 0)[0]
    except Undefined as e:
        return f"the loss cannot be expanded along the curve: {e}"
    d0 = nsub(f[0], f0)
    if nzero(d0) is False:
        return "L(curve(0)) != L(point)"
    for k in range(1, K):
        z = nzero(f[k])
        if z is False:
            return f"the coefficient of t^{k} is {ntext(f[k])}, not 0 (order claimed {K})"
    sg = nsign(f[K])
    if sg is None:
        return f"the sign of the coefficient of t^{K} ({ntext(f[K])}) cannot be told"
    if sg != want_sign:
        return f"the coefficient of t^{K} is {ntext(f[K])}, sign {sg}, but the certificate says {want_sign}"
    coef = member.get("coefficient")
    if isinstance(coef, str):
        why = value_mismatch(coef, f[K])     # exact, or an enclosure that must contain it
        if why:
            return f"the stated coefficient: {why}"
    return None


def parse_value(txt):
    """hessgen's number text: exact ("-3/4", "2 + 2*exp(1/3)") -> (value, None); a ball
    ("[mid +/- rad]", "[+/- rad]") -> (mid, rad). ParseError otherwise."""
    import re
    if not isinstance(txt, str):
        raise ParseError(f"not a string: {txt!r}")
    m = re.fullmatch(r"\s*\[\s*([-+0-9.eE]*)\s*\+/-\s*([0-9.eE+-]+)\s*\]\s*", txt)
    if m:
        mid = mpmath.mpf(m.group(1)) if m.group(1) else mpmath.mpf(0)
        return mid, mpmath.mpf(m.group(2))
    node = parse_expr(txt, [])
    try:
        return evaluate(node, [], 0)[0], None
    except Undefined as e:
        raise ParseError(str(e))


def value_mismatch(txt, exact):
    """None when hessgen's text agrees with the exact value (an exact text equal to it, or a
    ball that contains it), else why not."""
    try:
        val, rad = parse_value(txt)
    except (ParseError, ValueError, ZeroDivisionError) as e:
        return f"{txt!r} is not a number: {e}"
    if rad is not None:
        if abs(tom(exact) - val) > rad * (1 + mpmath.mpf(10) ** -30) + ZTOL:
            return f"the ball {txt} does not contain {ntext(exact)}"
        return None
    d = nsub(val, exact)
    if nzero(d) is False:
        return f"{txt!r} = {ntext(val)}, but the value is {ntext(exact)}"
    return None


def value_nonzero(txt):
    try:
        val, rad = parse_value(txt)
    except (ParseError, ValueError, ZeroDivisionError):
        return False
    if rad is not None:
        return abs(val) > rad
    return nzero(val) is False


def check_weights_own(case, res, rng):
    """See _check_weights_own; a form that is not definite at 420 digits is tried again with
    2000 (a coefficient such as exp(-1000) is not 0)."""
    fails, note = _check_weights_own(case, res, random.Random(rng.random()))
    if fails and any("not" in f and "definite" in f for f in fails):
        global ZTOL
        old_dps, old_tol = mp.dps, ZTOL
        try:
            mp.dps, ZTOL = 2000, mpmath.mpf(10) ** -1800
            fails, note = _check_weights_own(case, res, random.Random(rng.random()))
        finally:
            mp.dps, ZTOL = old_dps, old_tol
    return fails, note


def _check_weights_own(case, res, rng):
    """hessgen's certificate {"kind": "weights", "weights": W, "subst": "x = S_x, ..."} for a
    strict extremum, checked with this script's series: theta = p + S(new) must be a local
    diffeomorphism at 0 (exact Jacobian), and the weighted initial form F of
    L(p + S(new)) - L(p) (weights W) must be definite with the verdict's sign. F is read off
    along curves new = c*t^W for random rational c (the coefficient of t^D is F(c), the lower
    ones vanish for every c: checked at all sample points) and interpolated exactly on the
    monomials of weighted degree D. Returns (failures, note when it cannot be checked)."""
    cert = res["certificate"]
    W = cert.get("weights")
    n = case.n
    names = PARAMS[:n]
    if not isinstance(W, list) or len(W) != n or any(not isinstance(w, int) or w <= 0 for w in W):
        return [f"malformed weights {W}"], None
    subst = {}
    text = cert.get("subst") or ""
    try:
        for part in _split_top(text):
            lhs, _, rhs = part.partition("=")
            lhs = lhs.strip()
            if lhs not in names or lhs in subst:
                return [f"bad substitution target {lhs!r}"], None
            subst[lhs] = parse_expr(rhs, names)
    except (ParseError, ValueError, ZeroDivisionError) as e:
        return [], f"the substitution is not exact: {str(e)[:150]}"
    S = [subst.get(nm, V(i)) for i, nm in enumerate(names)]

    def along(cvec, K):
        newser = [[Q(0)] * (K + 1) for _ in range(n)]
        for i in range(n):
            if W[i] <= K:
                newser[i][W[i]] = cvec[i]
        th = []
        for i in range(n):
            s = evaluate(S[i], newser, K)
            s = list(s)
            s[0] = nadd(s[0], case.point[i])
            th.append(s)
        return th

    try:
        # S(0) = 0 and the Jacobian
        J = []
        for j in range(n):
            e = [Q(0)] * n
            e[j] = Q(1)
            ser = [[Q(0)] * 2 for _ in range(n)]
            ser[j][1] = Q(1)
            col = [evaluate(S[i], ser, 1) for i in range(n)]
            if any(nzero(c[0]) is not True for c in col):
                return ["the substitution does not fix 0"], None
            J.append([c[1] for c in col])
        det = det_exact([[J[j][i] for j in range(n)] for i in range(n)])
        if det is None:
            return [], "the substitution's linear part is not exact"
        if det == 0:
            return ["the substitution's linear part is singular"], None
        L0 = evaluate(case.loss, [[q] for q in case.point], 0)[0]
        # the weighted degree D: the first nonzero coefficient along a random c
        samples = []
        D = None
        for K in (2 * max(W), 4 * max(W), 8 * max(W), 80):
            c = [Q(rng.randint(-97, 97) or 1, rng.randint(1, 13)) for _ in range(n)]
            f = evaluate(case.loss, along(c, K), K)
            f = list(f)
            f[0] = nsub(f[0], L0)
            nzk = [k for k in range(K + 1) if nzero(f[k]) is False]
            if nzk:
                D = nzk[0]
                break
        if D is None:
            return [], "L(p + S(new)) - L(p) vanishes through weighted degree 80 along a random curve"
        monos = [a for a in _exponents(n, W, D)]
        m = len(monos)
        rows, rhs = [], []
        for _ in range(m + 4):
            c = [Q(rng.randint(-97, 97) or 1, rng.randint(1, 13)) for _ in range(n)]
            f = evaluate(case.loss, along(c, D), D)
            f = list(f)
            f[0] = nsub(f[0], L0)
            for k in range(D):
                if nzero(f[k]) is False:
                    return [f"the weighted degree is not {D}: a term of weighted degree {k} is nonzero at c = {c}"], None
            rows.append([_mono(c, a) for a in monos])
            rhs.append(f[D])
        if all(isq(v) for v in rhs):
            coef = _solve_exact(rows, rhs, m)
        else:
            coef = _solve_numeric(rows, rhs, m)
            if coef is not None and any(nsign(v) is None and v != 0 for v in coef):
                return [], "the weighted initial form has irrational coefficients too close to 0"
        if coef is None:
            return ["the coefficient of t^D along c*t^W is not a quasi-homogeneous form of weighted degree D "
                    "(interpolation inconsistent)"], None
        form = {a: cf for a, cf in zip(monos, coef) if cf != 0}
        want = 1 if res["verdict"] == "strict_min" else -1
        verdict = _definite(form, n, want)
        if verdict is None:
            return [], f"the definiteness of the form {_form_text(form, names)} is not checked here (3 coupled variables)"
        if verdict is False:
            return [f"the weighted initial form {_form_text(form, names)} (weights {W}, degree {D}) is not "
                    f"{'positive' if want > 0 else 'negative'} definite"], None
        return [], None
    except Undefined as e:
        return [], f"cannot expand: {e}"


def _split_top(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def _exponents(n, W, D):
    def rec(i, left):
        if i == n:
            if left == 0:
                yield ()
            return
        for e in range(left // W[i] + 1):
            for rest in rec(i + 1, left - e * W[i]):
                yield (e,) + rest
    return list(rec(0, D))


def _mono(c, a):
    r = Q(1)
    for ci, ai in zip(c, a):
        r *= ci ** ai
    return r


def _solve_exact(rows, rhs, m):
    """The unique solution of an overdetermined consistent system, or None."""
    A = [list(r) + [b] for r, b in zip(rows, rhs)]
    R = len(A)
    r = 0
    piv = []
    for c in range(m):
        p = next((i for i in range(r, R) if A[i][c] != 0), None)
        if p is None:
            return None
        A[r], A[p] = A[p], A[r]
        inv = 1 / A[r][c]
        A[r] = [v * inv for v in A[r]]
        for i in range(R):
            if i != r and A[i][c] != 0:
                f = A[i][c]
                A[i] = [x - f * y for x, y in zip(A[i], A[r])]
        piv.append(c)
        r += 1
    if any(A[i][m] != 0 for i in range(r, R)):
        return None
    return [A[i][m] for i in range(m)]


def _solve_numeric(rows, rhs, m):
    """As _solve_exact, in 420-digit floats (for irrational forms); coefficients below the
    noise are set to 0, and the extra rows must agree."""
    A = [[tom(v) for v in r] + [tom(b)] for r, b in zip(rows, rhs)]
    R = len(A)
    for c in range(m):
        p = max(range(c, R), key=lambda i: abs(A[i][c]))
        if abs(A[p][c]) < ZTOL:
            return None
        A[c], A[p] = A[p], A[c]
        for i in range(R):
            if i != c:
                f = A[i][c] / A[c][c]
                A[i] = [x - f * y for x, y in zip(A[i], A[c])]
    if any(abs(A[i][m]) > mpmath.mpf(10) ** -250 for i in range(m, R)):
        return None
    out = []
    for i in range(m):
        v = A[i][m] / A[i][i]
        out.append(Q(0) if abs(v) < mpmath.mpf(10) ** -300 else v)
    return out


def _form_text(form, names):
    parts = []
    for a, c in form.items():
        mono = "*".join(f"{nm}^{e}" if e > 1 else nm for nm, e in zip(names, a) if e)
        parts.append(f"({c})*{mono}" if mono else f"({c})")
    return " + ".join(parts) or "0"


def _definite(form, n, want):
    """Whether want*form is positive definite (True/False), None when not decided here.
    The variables split into groups that share no monomial; each group of one or two
    variables is decided exactly (two: the slices F(+-1, s) have no real root and are
    positive, and F(0, +-1) > 0, by SymPy's exact root counting)."""
    import sympy as sp
    if not form:
        return False
    form = {a: nmul(Q(want), c) for a, c in form.items()}
    # groups
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i
    for a in form:
        vs = [i for i in range(n) if a[i]]
        for v in vs[1:]:
            parent[find(v)] = find(vs[0])
    groups = defaultdict(list)
    for i in range(n):
        groups[find(i)].append(i)
    for g in groups.values():
        sub_ = {a: c for a, c in form.items() if any(a[i] for i in g)}
        if not sub_:
            return False            # a variable the form does not see: not definite
        if len(g) == 1:
            if len(sub_) != 1:
                return False
            (a, c), = sub_.items()
            if a[g[0]] % 2 or nsign(c) != 1:
                return False
        elif not all(isq(c) for c in sub_.values()):
            return None
        elif len(g) == 2:
            i, j = g
            s = sp.Symbol("s")
            for sx in (1, -1):
                poly = sum(sp.Rational(c.numerator, c.denominator) * sx ** a[i] * s ** a[j] for a, c in sub_.items())
                poly = sp.Poly(poly, s)
                if poly.is_zero or poly.degree() % 2 or poly.LC() <= 0 and poly.degree() > 0:
                    return False
                if poly.degree() == 0:
                    if poly.LC() <= 0:
                        return False
                elif poly.count_roots() > 0 or poly.eval(0) <= 0:
                    return False
            for sy in (1, -1):
                val = sum(c * Q(sy) ** a[j] for a, c in sub_.items() if a[i] == 0)
                if val <= 0:
                    return False
        else:
            return None
    return True


CONTRADICTS = {
    "strict_min": {"strict_max", "max", "saddle", "not_critical"},
    "strict_max": {"strict_min", "min", "saddle", "not_critical"},
    "min": {"strict_min", "strict_max", "max", "saddle", "not_critical"},
    "max": {"strict_max", "strict_min", "min", "saddle", "not_critical"},
    "saddle": {"strict_min", "min", "strict_max", "max", "not_critical"},
    "not_critical": {"strict_min", "min", "strict_max", "max", "saddle"},
}
WEAKER = {("strict_min", "min"), ("strict_max", "max")}


def judge(case, res):
    """(status, [problems]) with status ok / weaker / undetermined / WRONG."""
    problems = []
    v = res.get("verdict")
    truth = case.truth
    if v not in {"strict_min", "min", "strict_max", "max", "saddle", "not_critical", "undetermined"}:
        return "WRONG", [f"unknown verdict {v!r}"]
    if v == "undetermined":
        status = "undetermined"
        if not res.get("reason"):
            problems.append("undetermined without a reason")
    elif v == truth:
        status = "ok"
    elif (truth, v) in WEAKER:
        status = "weaker"
        if res.get("strict") is False:
            status = "WRONG"
            problems.append(f"verdict {v} with \"strict\": false (claimed not strict) at a strict extremum")
    elif v in CONTRADICTS[truth]:
        status = "WRONG"
        problems.append(f"verdict {v} contradicts the truth {truth}")
    else:
        status = "WRONG"
        problems.append(f"verdict {v} vs truth {truth}")
    crit = res.get("critical")
    if crit is not None and case.family != "kink":
        if crit != (truth != "not_critical"):
            problems.append(f"field critical = {crit} but the point is {'not ' if truth == 'not_critical' else ''}critical")
    # the Hessian's singularity, where it is exact
    if case.family != "kink":
        try:
            det = det_exact(exact_hessian(case.loss, case.point))
        except Undefined:
            det = None
        dg = res.get("degenerate")
        if det is not None and dg is not None and dg != (det == 0):
            problems.append(f"field degenerate = {dg} but det H = {det}")
    cert = res.get("certificate") or {}
    if v == "saddle":
        if cert.get("kind") == "curves":
            judge.curves_checked += 1
            for name, want in (("up", 1), ("down", -1)):
                member = cert.get(name)
                if not isinstance(member, dict):
                    problems.append(f"saddle certificate without a {name} curve")
                    continue
                why = check_curve(case, member, want)
                if why:
                    problems.append(f"{name} curve does not check: {why}")
    if v in ("min", "max") and cert.get("kind") == "symmetry":
        why = check_symmetry(case, cert)
        if why:
            problems.append(f"symmetry certificate does not check: {why}")
    if v in ("min", "strict_min", "max", "strict_max") and cert.get("kind") == "sos":
        why = check_sos(case, cert)
        if why:
            problems.append(f"sum-of-squares certificate does not check: {why}")
    if v == "not_critical" and cert.get("kind") == "gradient":
        g = exact_gradient(case.loss, case.point)
        vals = cert.get("gradient", [])
        if len(vals) != case.n:
            problems.append(f"gradient certificate with {len(vals)} entries")
        shown = False
        for i, (txt, gi) in enumerate(zip(vals, g)):
            why = value_mismatch(txt, gi)
            if why:
                problems.append(f"gradient certificate entry {i}: {why}")
            shown = shown or value_nonzero(txt)
        if not shown:
            problems.append("gradient certificate: no entry is shown to be nonzero")
    # the values the result reports: loss, gradient, Hessian, point
    if case.family != "kink" and CHECK_VALUES:
        try:
            exact = {"loss": [evaluate(case.loss, [[q] for q in case.point], 0)[0]],
                     "gradient": exact_gradient(case.loss, case.point),
                     "point": list(case.point)}
            H = exact_hessian(case.loss, case.point)
            exact["hessian"] = [h for row in H for h in row]
        except Undefined:
            exact = {}
        for key, ex in exact.items():
            got = res.get(key)
            if got is None:
                continue
            if key == "loss":
                got = [got]
            if key == "hessian":
                got = [h for row in got for h in row] if isinstance(got, list) else None
            if not isinstance(got, list) or len(got) != len(ex):
                problems.append(f"value {key}: malformed {res.get(key)!r}")
                continue
            for i, (txt, e) in enumerate(zip(got, ex)):
                why = value_mismatch(txt, e)
                if why:
                    problems.append(f"value {key}[{i}]: {why}")
                    break
    if problems and status != "WRONG":
        status = "WRONG" if any(not p.startswith(("up curve", "down curve", "saddle certificate", "gradient certificate",
                                                  "value "))
                                for p in problems) else "BADCERT"
    return status, problems


judge.curves_checked = 0
CHECK_WEIGHTS = False     # --sympy-weights: also check_corpus.py's SymPy proof (slow)
CHECK_VALUES = True       # --no-value-checks: skip the loss/gradient/Hessian/point values


_CC = None


def check_corpus_module():
    global _CC
    if _CC is None:
        import importlib.util
        spec = importlib.util.spec_from_file_location(
            "check_corpus", os.path.join(os.path.dirname(os.path.abspath(__file__)), "check_corpus.py"))
        _CC = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(_CC)
        _CC.taylor_terms = _taylor_terms_cancelled
    return _CC


def _taylor_terms_cancelled(cfile, case, N):
    """check_corpus.taylor_terms, with each series coefficient put over a common denominator
    and cancelled: SymPy's series leaves coefficients such as x^8/(2*(x + y)^2) that are
    polynomials only after cancellation, and sp.Poly rejects them (PolynomialError)."""
    import sympy as sp
    CC = _CC
    shift = {s: p + s for s, p in zip(cfile.syms, case.point)}
    if cfile.is_poly:
        g = sp.expand(cfile.loss.xreplace(shift) - case.L0)
        return dict(sp.Poly(g, *cfile.syms).terms()), True
    scaled = cfile.loss.xreplace({s: p + CC.EPS * s for s, p in zip(cfile.syms, case.point)})
    ser = sp.expand(sp.series(scaled, CC.EPS, 0, N + 1).removeO())
    g = 0
    for k in range(1, N + 1):
        g += sp.cancel(ser.coeff(CC.EPS, k))
    g = sp.expand(g)
    if g.has(CC.EPS):
        raise CC.CertError("the Taylor expansion did not come out as a power series")
    return dict(sp.Poly(g, *cfile.syms).terms()), False


class _Alarm(Exception):
    pass


def check_weights_certificate(case, res, tmpdir, seconds=10):
    """hessgen's certificate of kind "weights" (or "definite_hessian") for a strict extremum,
    checked by check_corpus.py's SymPy proof of a `#@ weights` line. Returns (failures,
    uncheckable-note)."""
    import signal
    CC = check_corpus_module()
    path = os.path.join(tmpdir, "weights_check.hl")
    pt = ", ".join(f"{PARAMS[i]} = {q}" for i, q in enumerate(case.point))
    with open(path, "w") as f:
        f.write(case.text() + f"at {pt} expect {res['verdict']};\n")

    def on_alarm(signum, frame):
        raise _Alarm()
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        cfile = CC.CorpusFile(path)
        cc = cfile.cases[0]
        cc.L0 = CC.value_at(cfile, cc.point)
        fails = CC.check_hessgen_certificate(cc, res, False)
    except _Alarm:
        return [], f"SymPy took more than {seconds} s"
    except Exception as e:     # the checker's own limits (parsing, undecidable zero tests)
        return [], f"{type(e).__name__}: {str(e)[:200]}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    real, notes = [], []
    for msg in fails:
        if any(s in msg for s in ("cannot decide", "no initial form found", "did not come out")):
            notes.append(msg)
        else:
            real.append(msg.replace(path, "case.hl"))
    return real, ("; ".join(notes) if notes else None)


def run_case(args):
    hessgen, family, seed, idx, timeout = args
    rng = random.Random(f"{seed}:{family}:{idx}")
    case = None
    for attempt in range(40):
        try:
            case = GENERATORS[family](rng)
            # the point must be critical (or not, for notcrit), exactly
            g = exact_gradient(case.loss, case.point) if family != "kink" else []
            # (an inexact component below 10^-330 counts as 0: it is a sum of irrational constants
            # that cancel, such as softplus(0) - log(2))
            if case.truth != "not_critical" and any(nzero(gi) is False for gi in g):
                return {"family": family, "status": "GENBUG", "problems":
                        [f"generator bug: gradient {[ntext(x) for x in g]} at a point said critical"],
                        "text": case.text(), "at": case.at(), "order": case.order}
            break
        except (GenRetry, Undefined):
            case = None
            continue
    if case is None:
        return {"family": family, "status": "skipped"}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "case.hl")
        with open(path, "w") as f:
            f.write(case.text())
        cmd = [hessgen, "--classify", path, "--at", case.at(), "--json"]
        if case.order:
            cmd += ["--order", str(case.order)]
        t0 = time.time()
        for attempt in range(5):      # the binary may be being rebuilt under us
            try:
                pr = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
                if pr.returncode in (126, 127) or (pr.returncode < 0 and attempt < 4):
                    time.sleep(2)
                    continue
                break
            except subprocess.TimeoutExpired:
                return {"family": family, "status": "timeout", "text": case.text(), "at": case.at(),
                        "order": case.order, "truth": case.truth}
            except OSError:
                if attempt == 4:
                    raise
                time.sleep(2)
        elapsed = time.time() - t0
    out = {"family": family, "text": case.text(), "at": case.at(), "order": case.order,
           "truth": case.truth, "elapsed": elapsed}
    if pr.returncode != 0:
        out.update(status="WRONG", problems=[f"hessgen exited {pr.returncode}: {pr.stderr.strip()[-500:]}"])
        return out
    try:
        res = json.loads(pr.stdout)
    except json.JSONDecodeError:
        out.update(status="WRONG", problems=[f"hessgen printed no JSON: {pr.stdout[:300]!r} {pr.stderr[-300:]!r}"])
        return out
    status, problems = judge(case, res)
    kind = (res.get("certificate") or {}).get("kind")
    if res.get("verdict") in ("strict_min", "strict_max") and kind == "weights":
        fails, note = check_weights_own(case, res, random.Random(f"{seed}:{family}:{idx}:w"))
        out["own_weights_checked"] = not fails and not note
        if note:
            out["own_weights_note"] = note
        if fails:
            status = "BADCERT" if status != "WRONG" else status
            problems = problems + [f"weights certificate does not check: {m}" for m in fails]
    if CHECK_WEIGHTS and res.get("verdict") in ("strict_min", "strict_max") and kind == "weights":
        with tempfile.TemporaryDirectory() as tmp:
            fails, note = check_weights_certificate(case, res, tmp)
        out["weights_checked"] = not fails and not note
        if note:
            out["weights_note"] = note
        if fails:
            status = "BADCERT" if status != "WRONG" else status
            problems = problems + [f"weights certificate does not check: {m}" for m in fails]
        out["weights_time"] = time.time() - t0 - elapsed
    out.update(status=status, problems=problems, verdict=res.get("verdict"), reason=res.get("reason", ""),
               cert_kind=(res.get("certificate") or {}).get("kind"),
               curves_checked=res.get("verdict") == "saddle" and (res.get("certificate") or {}).get("kind") == "curves")
    return out


# ----------------------------------------------------------------------------------------------
# A self-test of this script's series against SymPy, so that its verdicts can be trusted
# ----------------------------------------------------------------------------------------------

def self_test():
    import sympy as sp
    X = sp.Symbol("X")
    sym = {
        "exp": sp.exp, "expm1": lambda a: sp.exp(a) - 1, "log": sp.log, "log1p": lambda a: sp.log(1 + a),
        "sin": sp.sin, "cos": sp.cos, "tanh": sp.tanh, "atan": sp.atan, "sinh": sp.sinh, "cosh": sp.cosh,
        "sigmoid": lambda a: 1 / (1 + sp.exp(-a)), "softplus": lambda a: sp.log(1 + sp.exp(a)),
        "sqrt": sp.sqrt,
    }
    K = 6
    for name, f in sym.items():
        for a0 in (Q(0), Q(7, 2)):
            if name in ("log", "sqrt") and a0 == 0:
                a0 = Q(9, 4)
            mine = fn_coeffs(name, a0, K)
            ser = sp.series(f(sp.Rational(a0.numerator, a0.denominator) + X), X, 0, K + 1).removeO()
            for k in range(K + 1):
                ref = sp.N(ser.coeff(X, k), 60)
                got = tom(mine[k])
                if abs(mpmath.mpf(str(ref)) - got) > mpmath.mpf(10) ** -50:
                    raise SystemExit(f"self-test: {name}({a0} + X) coefficient {k}: {got} vs {ref}")
    # a composite, along a curve, against SymPy
    x, y = sp.symbols("x y")
    t = sp.Symbol("t")
    e_my = add(mul(fn("tanh", add(V(0), pw(V(1), 2))), fn("exp", V(1))),
               pw(add(C(1), V(0)), -2), fn("softplus", mul(V(0), V(1))))
    e_sp = sp.tanh(x + y ** 2) * sp.exp(y) + (1 + x) ** -2 + sp.log(1 + sp.exp(x * y))
    curve = ([Q(0), Q(1), Q(-2)], [Q(1, 2), Q(3)])
    th = poly_theta([Q(0), Q(1, 2)], [[Q(0), Q(1), Q(-2)], [Q(0), Q(3)]], K)
    mine = evaluate(e_my, th, K)
    sub_ = e_sp.subs({x: t - 2 * t ** 2, y: sp.Rational(1, 2) + 3 * t})
    ser = sp.series(sub_, t, 0, K + 1).removeO()
    for k in range(K + 1):
        ref = mpmath.mpf(str(sp.N(ser.coeff(t, k), 60)))
        if abs(ref - tom(mine[k])) > mpmath.mpf(10) ** -40:
            raise SystemExit(f"self-test: composite coefficient {k}: {tom(mine[k])} vs {ref}")
    # the judge: a wrong verdict, a wrong curve, a wrong weights certificate must be caught
    sad = Case("self", 2, add(pw(V(0), 2), neg(pw(V(1), 4))), [], [Q(0), Q(0)], "saddle", "x^2 - y^4")
    good = {"verdict": "saddle", "reason": "r", "critical": True, "degenerate": True,
            "certificate": {"kind": "curves",
                            "up": {"curve": ["t", "0"], "order": 2, "sign": 1, "coefficient": "1"},
                            "down": {"curve": ["0", "t"], "order": 4, "sign": -1, "coefficient": "-1"}}}
    assert judge(sad, good) == ("ok", []), judge(sad, good)
    bad = json.loads(json.dumps(good))
    bad["certificate"]["down"]["curve"] = ["t", "t"]
    assert judge(sad, bad)[0] == "BADCERT"
    bad = json.loads(json.dumps(good))
    bad["certificate"]["down"]["order"] = 3
    assert judge(sad, bad)[0] == "BADCERT"
    assert judge(sad, dict(good, verdict="strict_min"))[0] == "WRONG"
    assert judge(sad, dict(good, degenerate=False))[0] == "WRONG"
    smin = Case("self", 2, add(pw(V(0), 2), pw(V(1), 4)), [], [Q(0), Q(0)], "strict_min", "x^2 + y^4")
    wres = {"verdict": "strict_min", "certificate": {"kind": "weights", "weights": [2, 1],
                                                     "subst": "x = 0 + (1)*(x), y = 0 + (1)*(y)"}}
    assert check_weights_own(smin, wres, random.Random(1)) == ([], None)
    assert check_weights_own(smin, dict(wres, verdict="strict_max"), random.Random(1))[0]
    wbad = {"verdict": "strict_min", "certificate": {"kind": "weights", "weights": [1, 1]}}
    assert check_weights_own(smin, wbad, random.Random(1))[0]      # the form x^2 alone
    assert judge(smin, {"verdict": "min", "strict": False, "reason": "r"})[0] == "WRONG"
    # binary forms
    assert binary_form_class([Q(1), Q(0), Q(1)]) == "pos"            # b^2 + a^2
    assert binary_form_class([Q(-2), Q(0), Q(1)]) == "indef"         # a^2 - 2 b^2
    assert binary_form_class([Q(4), Q(0), Q(-4), Q(0), Q(1)]) == "semi"   # (a^2 - 2b^2)^2
    assert binary_form_class([Q(-1), Q(0), Q(0), Q(0), Q(-1)]) == "neg"
    assert binary_form_class([Q(0), Q(1), Q(0), Q(1)]) == "indef"


# ----------------------------------------------------------------------------------------------

def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("hessgen")
    ap.add_argument("--cases", type=int, default=600)
    ap.add_argument("--seed", default="1")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--family", default="")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--keep", default="", help="write every failing case to this directory")
    ap.add_argument("--sympy-weights", action="store_true",
                    help="also prove hessgen's weights certificates with check_corpus.py (slow)")
    ap.add_argument("--no-value-checks", action="store_true",
                    help="do not compare the reported loss, gradient, Hessian and point with the exact values")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    global CHECK_WEIGHTS, CHECK_VALUES
    CHECK_WEIGHTS = args.sympy_weights
    CHECK_VALUES = not args.no_value_checks
    if not os.path.exists(args.hessgen):
        print(f"fuzz_verdicts: no such program: {args.hessgen}", file=sys.stderr)
        return 2
    fams = [f for f in args.family.split(",") if f] or FAMILIES
    for f in fams:
        if f not in GENERATORS:
            print(f"fuzz_verdicts: unknown family {f!r} (one of {', '.join(FAMILIES)})", file=sys.stderr)
            return 2
    t0 = time.time()
    self_test()
    total_w = sum(WEIGHTS[f] for f in fams)
    jobs = []
    for f in fams:
        cnt = max(1, round(args.cases * WEIGHTS[f] / total_w)) if len(fams) > 1 else args.cases
        jobs += [(os.path.abspath(args.hessgen), f, args.seed, i, args.timeout) for i in range(cnt)]
    with Pool(max(1, args.jobs)) as pool:
        results = pool.map(run_case, jobs, chunksize=4)
    counts = defaultdict(Counter)
    reasons = defaultdict(Counter)
    verdicts = defaultdict(Counter)
    failures = []
    for r in results:
        counts[r["family"]][r["status"]] += 1
        if r["status"] == "undetermined":
            reasons[r["family"]][_reason_key(r.get("reason", ""))] += 1
        if "verdict" in r:
            verdicts[r["family"]][(r["truth"], r["verdict"])] += 1
        if r["status"] in ("WRONG", "BADCERT", "GENBUG"):
            failures.append(r)
    cols = ["ok", "weaker", "undetermined", "WRONG", "BADCERT", "timeout", "skipped", "GENBUG"]
    print(f"fuzz_verdicts: {len(results)} cases, seed {args.seed}, {time.time() - t0:.1f} s")
    print(f"{'family':<11}" + "".join(f"{c:>8}" for c in cols) + f"{'undet %':>9}")
    tot = Counter()
    for f in fams:
        c = counts[f]
        tot.update(c)
        n = sum(c.values()) - c["skipped"]
        print(f"{f:<11}" + "".join(f"{c[k]:>8}" for k in cols) + f"{100 * c['undetermined'] / max(1, n):>8.1f}%")
    n = sum(tot.values()) - tot["skipped"]
    print(f"{'total':<11}" + "".join(f"{tot[k]:>8}" for k in cols) + f"{100 * tot['undetermined'] / max(1, n):>8.1f}%")
    kinds = Counter(r.get("cert_kind") for r in results if r.get("verdict") not in (None, "undetermined"))
    print("certificates: " + ", ".join(f"{k} {c}" for k, c in kinds.most_common()) +
          f"; saddle curve pairs re-checked here: {sum(1 for r in results if r.get('curves_checked'))}"
          f"; weights certificates proven here: {sum(1 for r in results if r.get('own_weights_checked'))}"
          f", not checkable here: {sum(1 for r in results if r.get('own_weights_note'))}" +
          (f"; proven by check_corpus.py: {sum(1 for r in results if r.get('weights_checked'))}"
           f", not checkable there: {sum(1 for r in results if r.get('weights_note'))}" if CHECK_WEIGHTS else ""))
    if args.verbose:
        for r in results:
            for key in ("own_weights_note", "weights_note"):
                if r.get(key):
                    print(f"  weights certificate not checkable ({key}; {r['family']}, --at {r['at']}): {r[key]}")
    if args.verbose:
        print("\nverdicts by truth:")
        for f in fams:
            for (truth, v), k in sorted(verdicts[f].items()):
                print(f"  {f:<11} truth {truth:<13} verdict {v:<13} {k}")
    print("\nundetermined, by reason:")
    for f in fams:
        for why, k in reasons[f].most_common(8 if not args.verbose else 100):
            print(f"  {f:<11} {k:>5}  {why}")
    if args.keep and failures:
        os.makedirs(args.keep, exist_ok=True)
    for i, r in enumerate(failures):
        print(f"\nFAILURE {i + 1} ({r['family']}, {r['status']}): truth {r.get('truth')}, verdict "
              f"{r.get('verdict')}, --at {r['at']}" + (f" --order {r['order']}" if r.get("order") else ""))
        for p in r.get("problems", []):
            print(f"  problem: {p}")
        if r.get("reason"):
            print(f"  reason: {r['reason'][:600]}")
        print("  " + r["text"].rstrip().replace("\n", "\n  "))
        if args.keep:
            path = os.path.join(args.keep, f"fail_{args.seed}_{i + 1}_{r['family']}.hl")
            with open(path, "w") as fh:
                fh.write(r["text"])
                fh.write(f"# --at {r['at']}" + (f" --order {r['order']}" if r.get("order") else "") + "\n")
            print(f"  written to {path}")
    for r in results:
        if r["status"] == "timeout":
            print(f"\nTIMEOUT ({r['family']}, over {args.timeout:g} s; not a failure): truth {r.get('truth')}, "
                  f"--at {r['at']}" + (f" --order {r['order']}" if r.get("order") else ""))
            print("  " + r["text"].rstrip().replace("\n", "\n  "))
    bad = sum(1 for r in failures)
    print(f"\n{'FAILED' if bad else 'ok'}: {bad} wrong verdict(s) or certificate(s)")
    return 1 if bad else 0


def _reason_key(reason):
    import re
    r = re.sub(r"-?\d+(/\d+)?", "#", reason)
    r = re.sub(r"\([^()]*\)", "(..)", r)
    return r[:110]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
