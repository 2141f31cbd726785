#!/usr/bin/env python3
"""Translate a polynomial `.hl` loss into a Singular polynomial, shifted to a point.

Deliberately small and independent of hessgen: it understands only `model`, `param`
(scalars and arrays with integer-literal sizes), scalar `const` and `let` whose values are
polynomials, and a `loss` built from + - * /(by a constant) ^(non-negative integer constant),
rational literals, parameters and constant-index array elements. Anything else (function calls,
`pi`, reductions, `def`, `data`, ...) raises NotPolynomial, and the case is left out of the
comparison with Singular.

    translate(source_text, point) -> (names, poly_text)

`point` is a list of exact rational strings in theta order (hessgen's `--check --json`
"point"); the result is L(p + u) - L(p) expanded in the offsets u, written with Singular's
variables x(1), ..., x(n) (x(i) is the offset of names[i-1]).
"""
import re
import sys
from fractions import Fraction


class NotPolynomial(Exception):
    pass


# ---------------------------------------------------------------- polynomials
# A polynomial is a dict {exponent tuple: Fraction}, no zero coefficients.

def p_const(c, n):
    return {(0,) * n: Fraction(c)} if c != 0 else {}


def p_add(a, b):
    r = dict(a)
    for m, c in b.items():
        v = r.get(m, 0) + c
        if v == 0:
            r.pop(m, None)
        else:
            r[m] = v
    return r


def p_neg(a):
    return {m: -c for m, c in a.items()}


def p_mul(a, b):
    r = {}
    for m1, c1 in a.items():
        for m2, c2 in b.items():
            m = tuple(i + j for i, j in zip(m1, m2))
            v = r.get(m, 0) + c1 * c2
            if v == 0:
                r.pop(m, None)
            else:
                r[m] = v
    return r


def p_pow(a, k, n):
    r = p_const(1, n)
    base = a
    while k:
        if k & 1:
            r = p_mul(r, base)
        k >>= 1
        if k:
            base = p_mul(base, base)
    return r


def p_constant_value(a, n):
    """The value of a constant polynomial, or None."""
    if not a:
        return Fraction(0)
    if set(a) == {(0,) * n}:
        return a[(0,) * n]
    return None


# ---------------------------------------------------------------- lexer

TOKEN = re.compile(r"""
    (?P<ws>\s+|\#[^\n]*)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.|[-+*/^()\[\]{},;=])
""", re.VERBOSE)


def lex(text):
    toks = []
    pos = 0
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise NotPolynomial("unexpected character %r" % text[pos])
        pos = m.end()
        if m.lastgroup == "ws":
            continue
        toks.append((m.lastgroup, m.group()))
    toks.append(("eof", ""))
    return toks


def number(text):
    """An exact rational from a literal: 0.1 is 1/10, 1e-3 is 1/1000."""
    m = re.fullmatch(r"(\d*)\.?(\d*)(?:[eE]([+-]?\d+))?", text)
    whole, frac, exp = m.group(1) or "0", m.group(2) or "", int(m.group(3) or 0)
    v = Fraction(int(whole + frac), 10 ** len(frac))
    return v * Fraction(10) ** exp


# ---------------------------------------------------------------- parser

class Parser:
    def __init__(self, text):
        self.toks = lex(text)
        self.i = 0
        self.params = []        # names in theta order, arrays flattened row-major
        self.dims = {}          # array name -> dims
        self.consts = {}        # name -> Fraction
        self.lets = {}          # name -> polynomial in the offsets (filled once the point is known)
        self.let_src = []       # (name, token index) of let statements
        self.loss_at = None     # token index of the loss expression
        self.point = None
        self.n = 0

    # token helpers
    def peek(self):
        return self.toks[self.i]

    def take(self, value=None):
        t = self.toks[self.i]
        if value is not None and t[1] != value:
            raise NotPolynomial("expected %r, found %r" % (value, t[1]))
        self.i += 1
        return t

    def skip_statement(self):
        while self.peek()[1] != ";":
            if self.peek()[0] == "eof":
                raise NotPolynomial("unterminated statement")
            self.i += 1
        self.i += 1

    # statements: first pass collects declarations, remembers where let/loss start
    def declarations(self):
        while self.peek()[0] != "eof":
            kind, word = self.take()
            if word == "model":
                self.skip_statement()
            elif word == "param":
                self.param_list()
            elif word == "const":
                self.const_list()
            elif word == "let":
                name = self.take()[1]
                self.take("=")
                self.let_src.append((name, self.i))
                self.skip_statement()
            elif word == "loss":
                if self.loss_at is not None:
                    raise NotPolynomial("two loss statements")
                self.loss_at = self.i
                self.skip_statement()
            elif word == "at":
                self.skip_statement()
            else:
                raise NotPolynomial("statement %r is not handled" % word)
        if self.loss_at is None:
            raise NotPolynomial("no loss")

    def param_list(self):
        while True:
            kind, name = self.take()
            if kind != "id":
                raise NotPolynomial("bad param name %r" % name)
            dims = []
            while self.peek()[1] == "[":
                self.take("[")
                k, v = self.take()
                if k != "num":
                    raise NotPolynomial("array size must be an integer literal")
                dims.append(int(v))
                self.take("]")
            if dims:
                self.dims[name] = dims
                idx = [[]]
                for d in dims:
                    idx = [i + [j] for i in idx for j in range(d)]
                self.params += [name + "".join("[%d]" % j for j in i) for i in idx]
            else:
                self.params.append(name)
            if self.peek()[1] == "=":        # start value: skip it (balanced braces)
                self.take("=")
                depth = 0
                while not (depth == 0 and self.peek()[1] in (",", ";")):
                    w = self.take()[1]
                    depth += {"{": 1, "(": 1, "}": -1, ")": -1}.get(w, 0)
            if self.take()[1] == ";":
                return

    def const_list(self):
        while True:
            kind, name = self.take()
            if self.peek()[1] == "[":
                raise NotPolynomial("array constants are not handled")
            self.take("=")
            self.n = 0
            v = p_constant_value(self.expr(), 0)
            if v is None:
                raise NotPolynomial("non-constant const")
            self.consts[name] = v
            if self.take()[1] == ";":
                return

    # expressions, evaluated to polynomials in the offsets u = theta - point
    def expr(self):
        v = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            w = self.term()
            v = p_add(v, w if op == "+" else p_neg(w))
        return v

    def term(self):
        v = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            w = self.unary()
            if op == "*":
                v = p_mul(v, w)
            else:
                c = p_constant_value(w, self.n)
                if c is None or c == 0:
                    raise NotPolynomial("division by a non-constant or zero")
                v = p_mul(v, p_const(1 / c, self.n))
        return v

    def unary(self):
        if self.peek()[1] == "-":
            self.take()
            return p_neg(self.unary())
        if self.peek()[1] == "+":
            self.take()
            return self.unary()
        return self.power()

    def power(self):
        base = self.primary()
        if self.peek()[1] == "^":
            self.take()
            e = p_constant_value(self.unary(), self.n)
            if e is None or e.denominator != 1 or e < 0:
                raise NotPolynomial("exponent is not a non-negative integer constant")
            return p_pow(base, int(e), self.n)
        return base

    def primary(self):
        kind, word = self.take()
        if kind == "num":
            return p_const(number(word), self.n)
        if word == "(":
            v = self.expr()
            self.take(")")
            return v
        if kind == "id":
            if self.peek()[1] == "(":
                raise NotPolynomial("function call %s(...)" % word)
            if word in self.dims:
                idx = []
                while self.peek()[1] == "[":
                    self.take("[")
                    k, v = self.take()
                    if k != "num":
                        raise NotPolynomial("non-literal index")
                    idx.append(int(v))
                    self.take("]")
                word = word + "".join("[%d]" % j for j in idx)
            if word in self.consts:
                return p_const(self.consts[word], self.n)
            if word in self.lets:
                return self.lets[word]
            if word in self.params and self.point is not None:
                k = self.params.index(word)
                u = [0] * self.n
                u[k] = 1
                # theta_k = p_k + u_k
                return p_add(p_const(self.point[k], self.n), {tuple(u): Fraction(1)})
            raise NotPolynomial("name %r is not a parameter or polynomial constant" % word)
        raise NotPolynomial("unexpected %r" % word)

    def evaluate(self, point):
        self.n = len(self.params)
        if len(point) != self.n:
            raise NotPolynomial("point has %d coordinates, the loss %d" % (len(point), self.n))
        self.point = [Fraction(p) for p in point]
        self.lets = {}
        for name, at in self.let_src:
            self.i = at
            self.lets[name] = self.expr()
        self.i = self.loss_at
        v = self.expr()
        if self.peek()[1] != ";":
            raise NotPolynomial("trailing %r in the loss" % self.peek()[1])
        v.pop((0,) * self.n, None)          # subtract L(p)
        return v


def singular_text(poly):
    """Singular syntax with variables x(1)..x(n); terms by degree."""
    if not poly:
        return "0"
    parts = []
    for m in sorted(poly, key=lambda m: (sum(m), [-e for e in m])):
        c = poly[m]
        mono = "*".join("x(%d)" % (i + 1) + ("^%d" % e if e > 1 else "")
                        for i, e in enumerate(m) if e)
        coef = str(abs(c))
        sign = "-" if c < 0 else "+"
        if mono and abs(c) == 1:
            term = mono
        elif mono:
            term = coef + "*" + mono
        else:
            term = coef
        parts.append((sign, term))
    out = ("-" if parts[0][0] == "-" else "") + parts[0][1]
    for sign, term in parts[1:]:
        out += sign + term
    return out


def translate(text, point):
    p = Parser(text)
    p.declarations()
    poly = p.evaluate(point)
    return p.params, singular_text(poly)


if __name__ == "__main__":
    # hl2singular.py FILE.hl 0 1/3 ...   prints the names and the shifted polynomial
    src = open(sys.argv[1]).read()
    try:
        names, text = translate(src, sys.argv[2:])
    except NotPolynomial as e:
        print("not a polynomial loss:", e)
        sys.exit(1)
    print(" ".join(names))
    print(text)
