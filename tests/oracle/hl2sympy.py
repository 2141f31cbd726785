#!/usr/bin/env python3
"""hl2sympy: an independent front end for the `.hl` loss language, written against
/work/shared/LANGUAGE.md only (it shares no code, grammar or tables with hessgen).

In:  the text of a `.hl` file.
Out: a Model with
       names   -- one name per scalar coordinate of theta, in declaration order, arrays row-major
                  ("w1", "w[0]", "M[1][2]"),
       symbols -- one sympy Symbol per coordinate (same names),
       start   -- the exact start value of each coordinate (sympy number, default 0),
       loss    -- the loss as a SymPy expression in those symbols.

What stays true: every number is an exact sympy Rational made from the literal's text; every
reduction is unrolled; every `def` and `let` is inlined; no floating point is used anywhere.

Models with `data` arrays (values known only at run time): parse_source/parse_file reject them
(their users need a loss in theta alone); parse_data_source/parse_data_file accept them and return
a Model whose `loss` is None, whose `data` lists the arrays (DataDecl: name, row count name or
None, fixed dims, values per row) and `sizes` the row-count names in order of first appearance,
and whose `loss_for(values)` builds the loss for one concrete data set:
    values = {"X": [x00, x01, ..., x(n-1)2], "y": [...], "n": 7}
(arrays flat and row-major, each value an exact number: a Fraction, an int or a sympy Rational;
a float is taken at its exact binary value). Every reduction, over rows too, is unrolled for
those counts; a row-count name used as a value is the count; `mean` over 0 rows raises
EmptyMean; `sum` over 0 rows is 0.

Model.loss_template() builds the same loss for every data set at once, with the reductions over
rows kept as SymPy Sums: a row count `n` is Symbol("n"), a row-indexed array `X` is
IndexedBase("X") (X[i][j] is X[row, j] with the Sum's variable `row`, named row0_, row1_, ...
by nesting depth), and a fixed-size data array c[3] holds Symbols c[0], c[1], c[2]. A `mean`
over rows is the Sum divided by the count. Expanded for concrete counts and values it is the
loss that loss_for builds; its use is a derivative of a 1000-row loss without 1000 copies.

The non-smooth functions are written as Piecewise expressions whose branch at the kink is the
one-sided convention the compiler documents:
    abs(t)  = Piecewise((t, t > 0), (-t, t < 0), (0, True))   d/dt -> 1, -1, 0 at t = 0
    relu(t) = Piecewise((t, t > 0), (0, True))                d/dt -> 1, 0 at t = 0
so SymPy's ordinary differentiation of the branches yields sign(t) and [t > 0] for the first
derivative and 0 for the second, everywhere (the kink included).

log1p, expm1 and softplus(t) = log1p(exp(t)) use SymPy's codegen functions log1p and expm1
(mathematically log(1 + t) and exp(t) - 1; differentiated as 1/(1 + t) and exp(t)), so that
evaluating them with mpmath does not absorb a tiny t into the 1 at any working precision.
sigmoid(t) is 1/(1 + exp(-t)).

Usage as a program:  python3 hl2sympy.py FILE.hl [--grad] [--hess]
prints the coordinate names, start values and the loss (and its derivatives if asked); for a
model with data, the data arrays and the loss template.
"""

import re
import sys
from fractions import Fraction

import sympy as sp
from sympy.codegen.cfunctions import expm1 as sp_expm1, log1p as sp_log1p

KEYWORDS = {"model", "param", "const", "data", "let", "def", "loss", "at", "expect",
            "sum", "mean", "prod"}
FUNCS = {"exp": 1, "log": 1, "sqrt": 1, "sin": 1, "cos": 1, "tan": 1, "tanh": 1, "atan": 1,
         "sinh": 1, "cosh": 1, "log1p": 1, "expm1": 1, "sigmoid": 1, "softplus": 1, "abs": 1,
         "relu": 1, "pow": 2}
BUILTINS = set(FUNCS) | {"pi"}
LABELS = {"min", "strict_min", "max", "strict_max", "saddle", "not_critical", "degenerate",
          "undetermined"}
MAX_DEPTH = 200


class HLError(Exception):
    """A diagnostic in the compiler's format: FILE:LINE:COL: error: MESSAGE."""

    def __init__(self, filename, loc, msg):
        line, col = loc if loc else (0, 0)
        super().__init__(f"{filename}:{line}:{col}: error: {msg}")
        self.msg = msg
        self.loc = loc


class EmptyMean(HLError):
    """`mean` over an empty range (a data set with 0 rows): the loss is not defined there."""


# ----------------------------------------------------------------------------------------------
# Lexer
# ----------------------------------------------------------------------------------------------
# A number never swallows the first dot of `..` (so `0..8` is 0, .., 8).
_TOKEN_RE = re.compile(r"""
    (?P<ws>[ \t\r\n\f\v]+)
  | (?P<comment>\#[^\n]*)
  | (?P<num>(?:[0-9]+(?:\.(?!\.)[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<id>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>\.\.|[-+*/^()\[\]{},;=])
""", re.X)


class Tok:
    __slots__ = ("kind", "text", "loc")

    def __init__(self, kind, text, loc):
        self.kind, self.text, self.loc = kind, text, loc

    def __repr__(self):
        return f"Tok({self.kind},{self.text!r},{self.loc})"


def lex(src, filename):
    toks = []
    pos, line, col0 = 0, 1, 0          # col0: offset of the current line's first character
    n = len(src)
    while pos < n:
        m = _TOKEN_RE.match(src, pos)
        loc = (line, pos - col0 + 1)
        if not m:
            ch = src[pos]
            raise HLError(filename, loc,
                          f"unexpected character '{ch}' (U+{ord(ch):04X})")
        kind = m.lastgroup
        text = m.group(kind)
        if kind == "id" and text in KEYWORDS:
            kind = "kw"
        if kind not in ("ws", "comment"):
            toks.append(Tok(kind, text, loc))
        nl = text.count("\n")
        if nl:
            line += nl
            col0 = pos + text.rindex("\n") + 1
        pos = m.end()
    toks.append(Tok("eof", "", (line, pos - col0 + 1)))
    return toks


# ----------------------------------------------------------------------------------------------
# Syntax tree: plain tuples tagged by their first element, each with a location.
#   ("num", loc, Rational)        ("name", loc, str)       ("index", loc, str, [idx...])
#   ("neg", loc, e)               ("bin", loc, op, a, b)   ("call", loc, fname, [args])
#   ("red", loc, kind, var, lo|None, hi|None, body)        ("brace", loc, [items])
# ----------------------------------------------------------------------------------------------

class Parser:
    def __init__(self, toks, filename):
        self.toks, self.i, self.file = toks, 0, filename

    def peek(self, k=0):
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def err(self, tok, msg):
        raise HLError(self.file, tok.loc, msg)

    def at(self, text, kind=None):
        t = self.peek()
        return t.text == text and t.kind in ((kind,) if kind else ("punct", "kw", "id"))

    def take(self):
        t = self.peek()
        self.i += 1
        return t

    def expect(self, text):
        t = self.peek()
        if t.text != text or t.kind not in ("punct", "kw"):
            self.err(t, f"expected '{text}' before '{t.text or 'end of file'}'")
        return self.take()

    def ident(self, what="a name"):
        t = self.peek()
        if t.kind != "id":
            self.err(t, f"expected {what}, found '{t.text or 'end of file'}'")
        return self.take()

    # program = statement*
    def program(self):
        stmts = []
        while self.peek().kind != "eof":
            stmts.append(self.statement())
        return stmts

    def statement(self):
        t = self.peek()
        if t.kind != "kw":
            self.err(t, f"expected a statement, found '{t.text}'")
        kw = t.text
        self.take()
        if kw == "model":
            name = self.ident("a model name")
            self.expect(";")
            return ("model", t.loc, name.text)
        if kw in ("param", "const", "data"):
            decls = [self.decl(kw)]
            while self.at(",", "punct"):
                self.take()
                decls.append(self.decl(kw))
            self.expect(";")
            return (kw, t.loc, decls)
        if kw == "let":
            name = self.ident()
            self.expect("=")
            e = self.expr()
            self.expect(";")
            return ("let", name.loc, name.text, e)
        if kw == "def":
            name = self.ident("a function name")
            self.expect("(")
            params = []
            if not self.at(")", "punct"):
                params.append(self.ident("a parameter name").text)
                while self.at(",", "punct"):
                    self.take()
                    params.append(self.ident("a parameter name").text)
            self.expect(")")
            self.expect("=")
            body = self.expr()
            self.expect(";")
            return ("def", name.loc, name.text, params, body)
        if kw == "loss":
            e = self.expr()
            self.expect(";")
            return ("loss", t.loc, e)
        if kw == "at":
            # at NAME = value (, NAME = value)* expect LABEL ;   -- parsed, then ignored
            while True:
                self.ident("a parameter name")
                self.expect("=")
                self.init()
                if self.at(",", "punct"):
                    self.take()
                    continue
                break
            self.expect("expect")
            lab = self.ident("a label")
            if lab.text not in LABELS:
                self.err(lab, f"unknown label '{lab.text}'")
            self.expect(";")
            return ("at", t.loc)
        self.err(t, f"'{kw}' cannot start a statement")

    # decl = NAME ('[' expr ']')* ('=' init)?
    def decl(self, kw):
        name = self.ident()
        dims = []
        while self.at("[", "punct"):
            self.take()
            dims.append(self.expr())
            self.expect("]")
        init = None
        if kw != "data" and self.at("=", "punct"):
            self.take()
            init = self.init()
        return (name.text, name.loc, dims, init)

    # init = '{' init (',' init)* '}' | expr
    def init(self):
        if self.at("{", "punct"):
            t = self.take()
            items = [self.init()]
            while self.at(",", "punct"):
                self.take()
                items.append(self.init())
            self.expect("}")
            return ("brace", t.loc, items)
        return self.expr()

    # expr = term (('+'|'-') term)*
    def expr(self):
        e = self.term()
        while self.peek().kind == "punct" and self.peek().text in ("+", "-"):
            t = self.take()
            e = ("bin", t.loc, t.text, e, self.term())
        return e

    # term = unary (('*'|'/') unary)*
    def term(self):
        e = self.unary()
        while self.peek().kind == "punct" and self.peek().text in ("*", "/"):
            t = self.take()
            e = ("bin", t.loc, t.text, e, self.unary())
        return e

    # unary = '-' unary | power
    def unary(self):
        if self.at("-", "punct"):
            t = self.take()
            return ("neg", t.loc, self.unary())
        return self.power()

    # power = postfix ('^' unary)?      -- right-associative, `x^-1` allowed, `-x^2` = -(x^2)
    def power(self):
        base = self.postfix()
        if self.at("^", "punct"):
            t = self.take()
            return ("bin", t.loc, "^", base, self.unary())
        return base

    # postfix = primary ('[' expr ']')*
    def postfix(self):
        e = self.primary()
        if self.at("[", "punct"):
            if e[0] != "name":
                self.err(self.peek(), "only a named array can be indexed")
            idx = []
            while self.at("[", "punct"):
                self.take()
                idx.append(self.expr())
                self.expect("]")
            e = ("index", e[1], e[2], idx)
        return e

    def primary(self):
        t = self.peek()
        if t.kind == "num":
            self.take()
            f = Fraction(t.text)
            return ("num", t.loc, sp.Rational(f.numerator, f.denominator))
        if t.kind == "kw" and t.text in ("sum", "mean", "prod"):
            self.take()
            self.expect("(")
            var = self.ident("an index variable")
            lo = hi = None
            if self.at("=", "punct"):
                self.take()
                lo = self.expr()
                self.expect("..")
                hi = self.expr()
            self.expect(",")
            body = self.expr()
            self.expect(")")
            return ("red", t.loc, t.text, var.text, lo, hi, body)
        if t.kind == "id":
            self.take()
            if self.at("(", "punct"):
                self.take()
                args = []
                if not self.at(")", "punct"):
                    args.append(self.expr())
                    while self.at(",", "punct"):
                        self.take()
                        args.append(self.expr())
                self.expect(")")
                return ("call", t.loc, t.text, args)
            return ("name", t.loc, t.text)
        if self.at("(", "punct"):
            self.take()
            e = self.expr()
            self.expect(")")
            return e
        self.err(t, f"expected an expression, found '{t.text or 'end of file'}'")


# ----------------------------------------------------------------------------------------------
# Semantics: evaluation of the tree to SymPy, with everything unrolled and inlined.
# ----------------------------------------------------------------------------------------------

class Thunk:
    """A `def` argument, passed by name: the caller's tree and the caller's scope."""
    __slots__ = ("ast", "env")

    def __init__(self, ast, env):
        self.ast, self.env = ast, env


class Array:
    """A fixed-size array: its dims and its nested-list contents (sympy values)."""
    __slots__ = ("name", "dims", "data")

    def __init__(self, name, dims, data):
        self.name, self.dims, self.data = name, dims, data


def _is_int(v):
    return isinstance(v, sp.Basic) and v.is_Integer


def _pw_abs(t):
    return sp.Piecewise((t, t > 0), (-t, t < 0), (0, True))


def _pw_relu(t):
    return sp.Piecewise((t, t > 0), (0, True))


class rpow(sp.Function):
    """u^k for a constant non-integer k. SymPy's Pow differentiates u^k as u^k * k * u'/u,
    which is 0/0 where u = 0 even when the derivative exists ((x*y)^3.5 at x = 0); this one
    differentiates to k * u^(k-1) * u'. Evaluated by mpmath.power (complex for u < 0, so such
    points are skipped, as C's pow gives NaN there)."""
    nargs = 2

    @classmethod
    def eval(cls, u, k):
        if not u.free_symbols:
            return sp.Pow(u, k)
        if k.is_Integer:
            return sp.Pow(u, k)
        return None

    def fdiff(self, argindex=1):
        u, k = self.args
        if argindex == 1:
            return k * rpow(u, k - 1)
        raise sp.ArgumentIndexError(self, argindex)


LAMBDIFY_MODULES = [{"rpow": __import__("mpmath").power}, "mpmath"]


def _power(a, k):
    # `a^k`: an integer constant exponent is a polynomial power, another constant one a real
    # power (rpow), and a non-constant one exp(k*log(a)), as LANGUAGE.md defines it.
    if k.free_symbols:
        return sp.exp(k * sp.log(a))
    if k.is_Integer or not a.free_symbols:
        return a ** k
    return rpow(a, k)


def _apply(fname, args):
    t = args[0]
    if fname == "exp":
        return sp.exp(t)
    if fname == "log":
        return sp.log(t)
    if fname == "sqrt":
        return sp.sqrt(t)
    if fname == "sin":
        return sp.sin(t)
    if fname == "cos":
        return sp.cos(t)
    if fname == "tan":
        return sp.tan(t)
    if fname == "tanh":
        return sp.tanh(t)
    if fname == "atan":
        return sp.atan(t)
    if fname == "sinh":
        return sp.sinh(t)
    if fname == "cosh":
        return sp.cosh(t)
    if fname == "log1p":
        return sp_log1p(t)
    if fname == "expm1":
        return sp_expm1(t)
    if fname == "sigmoid":
        return 1 / (1 + sp.exp(-t))
    if fname == "softplus":
        return sp_log1p(sp.exp(t))
    if fname == "abs":
        return _pw_abs(t)
    if fname == "relu":
        return _pw_relu(t)
    if fname == "pow":
        return _power(t, args[1])
    raise AssertionError(fname)


class Model:
    def __init__(self):
        self.filename = None
        self.prefix = None
        self.names = []
        self.symbols = []
        self.start = []
        self.loss = None
        self.loss_loc = None
        self.data = []          # DataDecl per data array, in declaration order
        self.sizes = []         # row-count names, in order of first appearance
        self.sema = None

    def loss_for(self, values):
        """The loss (SymPy, in self.symbols) for one data set: see the module's docstring."""
        if self.sema is None:
            raise ValueError("the model has no data arrays; use .loss")
        return self.sema.loss_for(values)

    def loss_template(self):
        """(loss with Sums over rows, Template): see the module's docstring."""
        if self.sema is None:
            raise ValueError("the model has no data arrays; use .loss")
        return self.sema.loss_template()


class Template:
    """The symbols of a loss template: size (name -> Symbol), rows (array name -> IndexedBase),
    fixed (array name -> flat list of Symbols, row-major); calls (built-in function name, or
    "^" for a non-integer constant power and "^var" for a non-constant one -> the number of
    applications in the template: fixed reductions and defs expanded, row reductions once)."""

    def __init__(self):
        self.size, self.rows, self.fixed = {}, {}, {}
        self.calls = {}


class RowArray:
    """A row-indexed data array in a template: X[row][j] is IndexedBase X at (row, j)."""
    __slots__ = ("name", "dims", "base")

    def __init__(self, name, dims, base):
        self.name, self.dims, self.base = name, dims, base


class DataDecl:
    """A `data` array: its row count's name (None for a fixed-size array), its fixed dims (after
    the row dimension, if any) and its number of values per row (all values when no rows)."""
    __slots__ = ("name", "size", "dims", "width")

    def __init__(self, name, size, dims):
        self.name, self.size, self.dims = name, size, dims
        w = 1
        for d in dims:
            w *= d
        self.width = w

    def __repr__(self):
        rows = f"[{self.size}]" if self.size else ""
        return f"DataDecl({self.name}{rows}{''.join(f'[{d}]' for d in self.dims)})"


class Sema:
    def __init__(self, stmts, filename, allow_data=False):
        self.file = filename
        self.allow_data = allow_data
        self.data_decls = []    # the `data` declarations' (name, loc, dims_ast, None)
        self.base_cache = None  # the cache with theta only, restored for each data set
        self.loss_ast = None
        self.row_syms = None    # template mode: the Sum variables of the open row reductions
        self.row_depth = 0
        self.calls = {}         # built-in function name -> applications in the last evaluation
        self.glob = {}          # name -> (kind, loc, payload)
        self.cache = {}         # name -> evaluated const/let value (or Array)
        self.busy = set()       # cycle detection for lazily evaluated consts/lets
        self.model = Model()
        self.model.filename = filename
        self.depth = 0
        self.stmts = stmts

    def err(self, loc, msg):
        raise HLError(self.file, loc, msg)

    # -- declarations ------------------------------------------------------------------------
    def declare(self, name, loc, kind, payload):
        if name in BUILTINS:
            self.err(loc, f"'{name}' is a built-in name and cannot be redefined")
        if name in self.glob:
            self.err(loc, f"'{name}' is already defined")
        self.glob[name] = (kind, loc, payload)

    def run(self):
        loss = None
        params = []
        for st in self.stmts:
            k = st[0]
            if k == "model":
                if self.model.prefix is not None:
                    self.err(st[1], "more than one 'model' statement")
                self.model.prefix = st[2]
            elif k == "data":
                if not self.allow_data:
                    self.err(st[1], "'data' arrays are not supported by this oracle "
                                    "(tests/data/check_data.py checks models with data)")
                for d in st[2]:
                    self.declare(d[0], d[1], "data", d)
                    self.data_decls.append(d)
            elif k == "param":
                for d in st[2]:
                    self.declare(d[0], d[1], "param", d)
                    params.append(d)
            elif k == "const":
                for d in st[2]:
                    self.declare(d[0], d[1], "const", d)
            elif k == "let":
                self.declare(st[2], st[1], "let", st[3])
            elif k == "def":
                if len(set(st[3])) != len(st[3]):
                    self.err(st[1], f"repeated parameter name in def '{st[2]}'")
                for p in st[3]:
                    if p in BUILTINS:
                        self.err(st[1], f"'{p}' is a built-in name and cannot be a parameter")
                self.declare(st[2], st[1], "def", (st[3], st[4]))
            elif k == "loss":
                if loss is not None:
                    self.err(st[1], "more than one 'loss' statement")
                loss = st
            elif k == "at":
                pass
        if loss is None:
            raise HLError(self.file, None, "no 'loss' statement")
        self.data_shapes()

        # theta: declaration order, arrays row-major
        for (name, loc, dims_ast, init) in params:
            dims = [self.const_int(d, "array dimension") for d in dims_ast]
            for d, da in zip(dims, dims_ast):
                if d <= 0:
                    self.err(da[1], f"array dimension of '{name}' must be positive")
            coords = _all_indices(dims)
            names = [name + "".join(f"[{i}]" for i in ix) for ix in coords]
            syms = [sp.Symbol(nm) for nm in names]
            starts = self.init_values(name, loc, dims, init)
            self.model.names += names
            self.model.symbols += syms
            self.model.start += starts
            if dims:
                self.cache[name] = Array(name, dims, _nest(syms, dims))
            else:
                self.cache[name] = syms[0]
        self.model.loss_loc = loss[1]
        if self.data_decls:
            self.loss_ast = loss[2]
            self.base_cache = dict(self.cache)
            self.model.sema = self
        else:
            val = self.eval(loss[2], {})
            if isinstance(val, Array):
                self.err(loss[1], "the loss must be a scalar")
            self.model.loss = val
        if self.model.prefix is None:
            stem = re.sub(r".*/", "", self.file)
            stem = re.sub(r"\.hl$", "", stem)
            stem = re.sub(r"[^A-Za-z0-9_]", "_", stem)
            if not stem or stem[0].isdigit():
                stem = "_" + stem
            self.model.prefix = stem
        return self.model

    # -- data arrays ---------------------------------------------------------------------------
    def data_shapes(self):
        """Each data array's row count (a first dimension written as a name that is not a
        constant) and fixed dims; row-count names become globals of kind "size"."""
        for (name, loc, dims_ast, _) in self.data_decls:
            size = None
            fixed = []
            for p, da in enumerate(dims_ast):
                if da[0] == "name" and (da[2] not in self.glob
                                        or self.glob[da[2]][0] == "size"):
                    if p != 0:
                        self.err(da[1], f"only the first dimension of a data array can be a "
                                        f"row count; '{da[2]}' is not a constant")
                    size = da[2]
                    if size in BUILTINS:
                        self.err(da[1], f"'{size}' is a built-in name")
                    if size not in self.glob:
                        self.glob[size] = ("size", da[1], size)
                        self.model.sizes.append(size)
                    continue
                d = self.const_int(da, "array dimension")
                if d <= 0:
                    self.err(da[1], f"array dimension of '{name}' must be positive")
                fixed.append(d)
            self.model.data.append(DataDecl(name, size, fixed))

    def loss_for(self, values):
        counts = {}
        for s in self.model.sizes:
            if s not in values:
                raise ValueError(f"no count for the row count '{s}'")
            c = values[s]
            if not isinstance(c, int) or isinstance(c, bool) or c < 0:
                raise ValueError(f"the count '{s}' must be an int >= 0, not {c!r}")
            counts[s] = c
        self.cache = dict(self.base_cache)
        self.busy = set()
        self.row_syms = None
        for s, c in counts.items():
            self.cache[s] = sp.Integer(c)
        for d in self.model.data:
            dims = ([counts[d.size]] if d.size else []) + d.dims
            total = (counts[d.size] if d.size else 1) * d.width
            if d.name not in values:
                raise ValueError(f"no values for the data array '{d.name}'")
            vals = [_exact(v) for v in values[d.name]]
            if len(vals) != total:
                raise ValueError(f"'{d.name}' needs {total} values, given {len(vals)}")
            self.cache[d.name] = Array(d.name, dims, _nest(vals, dims)) if dims else vals[0]
        val = self.eval(self.loss_ast, {})
        if isinstance(val, Array):
            self.err(self.model.loss_loc, "the loss must be a scalar")
        return val

    def loss_template(self):
        self.cache = dict(self.base_cache)
        self.busy = set()
        self.row_syms = set()
        self.row_depth = 0
        self.calls = {}
        tpl = Template()
        for s in self.model.sizes:
            tpl.size[s] = sp.Symbol(s, integer=True, nonnegative=True)
            self.cache[s] = tpl.size[s]
        for d in self.model.data:
            if d.size:
                base = sp.IndexedBase(d.name)
                tpl.rows[d.name] = base
                self.cache[d.name] = RowArray(d.name, [tpl.size[d.size]] + d.dims, base)
            else:
                syms = [sp.Symbol(d.name + "".join(f"[{k}]" for k in ix))
                        for ix in _all_indices(d.dims)]
                tpl.fixed[d.name] = syms
                self.cache[d.name] = Array(d.name, d.dims, _nest(syms, d.dims)) \
                    if d.dims else syms[0]
        try:
            val = self.eval(self.loss_ast, {})
        finally:
            self.row_syms = None
        if isinstance(val, Array):
            self.err(self.model.loss_loc, "the loss must be a scalar")
        tpl.calls = dict(self.calls)
        return val, tpl

    def const_value(self, ast, what):
        v = self.eval(ast, {})
        if isinstance(v, Array):
            self.err(ast[1], f"{what} must be a scalar")
        if v.free_symbols:
            self.err(ast[1], f"{what} must be a constant expression")
        return v

    def const_int(self, ast, what):
        v = self.const_value(ast, what)
        if not _is_int(v):
            self.err(ast[1], f"{what} must be an integer constant, not {v}")
        return int(v)

    def init_values(self, name, loc, dims, init):
        total = 1
        for d in dims:
            total *= d
        if init is None:
            return [sp.Integer(0)] * total
        if init[0] != "brace":
            v = self.const_value(init, f"the value of '{name}'")
            return [v] * total
        if not dims:
            self.err(init[1], f"'{name}' is a scalar and cannot take a brace list")
        out = []

        def walk(node, level):
            if level == len(dims):
                if node[0] == "brace":
                    self.err(node[1], f"too many brace levels in the value of '{name}'")
                out.append(self.const_value(node, f"the value of '{name}'"))
                return
            if node[0] != "brace":
                self.err(node[1], f"expected a brace list of {dims[level]} for '{name}'")
            if len(node[2]) != dims[level]:
                self.err(node[1], f"'{name}' needs {dims[level]} values here, "
                                  f"found {len(node[2])}")
            for it in node[2]:
                walk(it, level + 1)
        walk(init, 0)
        return out

    # -- globals, evaluated lazily -------------------------------------------------------------
    def global_value(self, name, loc):
        if name in self.cache:
            return self.cache[name]
        kind, dloc, payload = self.glob[name]
        if kind == "data":
            self.err(loc, f"'{name}' is a data array: its values are known only at run time")
        if kind == "size":
            self.err(loc, f"'{name}' is a row count: it is known only at run time")
        if name in self.busy:
            self.err(loc, f"'{name}' is defined in terms of itself")
        self.busy.add(name)
        if kind == "const":
            cname, cloc, dims_ast, init = payload
            dims = [self.const_int(d, "array dimension") for d in dims_ast]
            if init is None:
                self.err(cloc, f"constant '{name}' needs a value")
            vals = self.init_values(name, cloc, dims, init)
            v = Array(name, dims, _nest(vals, dims)) if dims else vals[0]
        elif kind == "let":
            v = self.eval(payload, {})
            if isinstance(v, Array):
                self.err(dloc, f"let '{name}' must be a scalar")
        else:
            raise AssertionError(kind)
        self.busy.discard(name)
        self.cache[name] = v
        return v

    def lookup(self, name, loc, env):
        """A name's value: an index value (Integer), a scalar expression, or an Array."""
        while True:
            if name in env:
                b = env[name]
                if isinstance(b, Thunk):
                    ast = b.ast
                    if ast[0] == "name":   # pass arrays (and aliases) through by name
                        name, loc, env = ast[2], ast[1], b.env
                        continue
                    return self.eval(ast, b.env)
                if b is None:
                    self.err(loc, f"index variable '{name}' has no value here")
                return b
            if name in self.glob:
                kind = self.glob[name][0]
                if kind == "def":
                    self.err(loc, f"'{name}' is a function and needs arguments")
                return self.global_value(name, loc)
            if name == "pi":
                return sp.pi
            if name in FUNCS:
                self.err(loc, f"'{name}' is a function and needs arguments")
            self.err(loc, f"unknown name '{name}'")

    # -- expressions ---------------------------------------------------------------------------
    def eval(self, node, env):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.err(node[1], "expression nests too deeply (recursive def?)")
        try:
            return self._eval(node, env)
        finally:
            self.depth -= 1

    def scalar(self, node, env):
        v = self.eval(node, env)
        if isinstance(v, Array):
            self.err(node[1], f"array '{v.name}' used without an index")
        return v

    def _eval(self, node, env):
        tag = node[0]
        if tag == "num":
            return node[2]
        if tag == "name":
            return self.lookup(node[2], node[1], env)
        if tag == "index":
            arr = self.lookup(node[2], node[1], env)
            if isinstance(arr, RowArray):
                return self.row_index(arr, node, env)
            if not isinstance(arr, Array):
                self.err(node[1], f"'{node[2]}' is not an array")
            if len(node[3]) != len(arr.dims):
                self.err(node[1], f"'{arr.name}' has {len(arr.dims)} dimension(s), "
                                  f"indexed with {len(node[3])}")
            v = arr.data
            for d, ix in zip(arr.dims, node[3]):
                k = self.scalar(ix, env)
                if not _is_int(k):
                    self.err(ix[1], f"index of '{arr.name}' is not an integer ({k})")
                k = int(k)
                if not 0 <= k < d:
                    self.err(ix[1], f"index {k} is out of range for '{arr.name}' "
                                    f"(dimension {d})")
                v = v[k]
            return v
        if tag == "neg":
            return -self.scalar(node[2], env)
        if tag == "bin":
            op = node[2]
            a = self.scalar(node[3], env)
            b = self.scalar(node[4], env)
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if op == "/":
                if b == 0:
                    self.err(node[1], "division by zero")
                return a / b
            if op == "^":
                if not (_is_int(b) and not b.free_symbols):
                    key = "^" if not b.free_symbols else "^var"
                    self.calls[key] = self.calls.get(key, 0) + 1
                return _power(a, b)
            raise AssertionError(op)
        if tag == "call":
            fname, args = node[2], node[3]
            if fname in FUNCS:
                if len(args) != FUNCS[fname]:
                    self.err(node[1], f"'{fname}' takes {FUNCS[fname]} argument(s), "
                                      f"given {len(args)}")
                vals = [self.scalar(a, env) for a in args]
                key = fname
                if fname == "pow" and not (_is_int(vals[1]) and not vals[1].free_symbols):
                    key = "^" if not vals[1].free_symbols else "^var"
                self.calls[key] = self.calls.get(key, 0) + 1
                return _apply(fname, vals)
            if fname in env or fname not in self.glob or self.glob[fname][0] != "def":
                self.err(node[1], f"'{fname}' is not a function")
            params, body = self.glob[fname][2]
            if len(args) != len(params):
                self.err(node[1], f"'{fname}' takes {len(params)} argument(s), "
                                  f"given {len(args)}")
            inner = {p: Thunk(a, env) for p, a in zip(params, args)}
            return self.eval(body, inner)
        if tag == "red":
            return self.reduction(node, env)
        if tag == "brace":
            self.err(node[1], "a brace list is only allowed as a declaration's value")
        raise AssertionError(tag)

    def row_index(self, arr, node, env):
        """X[i][j] in a template: IndexedBase X at (the Sum variable of i, j)."""
        if len(node[3]) != len(arr.dims):
            self.err(node[1], f"'{arr.name}' has {len(arr.dims)} dimension(s), "
                              f"indexed with {len(node[3])}")
        r = self.scalar(node[3][0], env)
        if r not in self.row_syms:
            self.err(node[3][0][1], f"the rows of '{arr.name}' are indexed by a reduction's "
                                    "variable alone")
        ix = [r]
        for d, ia in zip(arr.dims[1:], node[3][1:]):
            k = self.scalar(ia, env)
            if not _is_int(k):
                self.err(ia[1], f"index of '{arr.name}' is not an integer ({k})")
            k = int(k)
            if not 0 <= k < d:
                self.err(ia[1], f"index {k} is out of range for '{arr.name}' (dimension {d})")
            ix.append(k)
        return arr.base[tuple(ix)]

    def reduction(self, node, env):
        _, loc, kind, var, lo, hi, body = node
        if var in BUILTINS:
            self.err(loc, f"'{var}' is a built-in name and cannot be an index variable")
        if lo is not None:
            a = self.scalar(lo, env)
            b = self.scalar(hi, env)
            if a.free_symbols or not _is_int(a):
                self.err(lo[1], "a reduction bound must be an integer constant")
            if b.free_symbols or not _is_int(b):
                self.err(hi[1], "a reduction bound must be an integer constant")
            rng = range(int(a), int(b) + 1)
        else:
            found = []
            self.infer(body, {var}, dict(env, **{var: None}), found, 0)
            if not found:
                self.err(loc, f"cannot infer the range of '{var}': it indexes no array")
            sizes = {s for s, _ in found}
            if len(sizes) > 1:
                what = ", ".join(nm for _, nm in found)
                self.err(loc, f"the range of '{var}' is ambiguous: {what}")
            size = sizes.pop()
            if isinstance(size, sp.Symbol):       # template mode: a row count
                return self.row_reduction(loc, kind, var, size, body, env)
            rng = range(0, size)
        terms = []
        for k in rng:
            terms.append(self.scalar(body, dict(env, **{var: sp.Integer(k)})))
        if kind == "sum":
            return sp.Add(*terms)
        if kind == "prod":
            return sp.Mul(*terms)
        if not terms:
            raise EmptyMean(self.file, loc, f"mean over an empty range (of '{var}')")
        return sp.Add(*terms) / len(terms)

    def row_reduction(self, loc, kind, var, size, body, env):
        if kind == "prod":
            self.err(loc, "a product over the rows of a data set is not supported")
        r = sp.Symbol(f"row{self.row_depth}_", integer=True)
        self.row_depth += 1
        self.row_syms.add(r)
        try:
            term = self.scalar(body, dict(env, **{var: r}))
        finally:
            self.row_syms.discard(r)
            self.row_depth -= 1
        total = sp.Sum(term, (r, 0, size - 1))
        return total / size if kind == "mean" else total

    def array_dims(self, name, loc, env):
        """Dims of the array a name denotes in env (through by-name def arguments), or None."""
        while True:
            if name in env:
                b = env[name]
                if isinstance(b, Thunk) and b.ast[0] == "name":
                    name, env = b.ast[2], b.env
                    continue
                return None
            if name in self.glob and self.glob[name][0] in ("param", "const", "data"):
                v = self.global_value(name, loc)
                return (v.name, v.dims) if isinstance(v, (Array, RowArray)) else None
            return None

    def infer(self, node, aliases, env, out, depth):
        """Collect (size, "ARRAY[dim k]") for every place where a name in `aliases` (the
        reduction variable, or a def parameter it was passed to) is itself an index."""
        if node is None or depth > MAX_DEPTH:
            return
        tag = node[0]
        if tag == "index":
            dims = self.array_dims(node[2], node[1], env)
            for p, ix in enumerate(node[3]):
                if ix[0] == "name" and ix[2] in aliases and dims is not None \
                        and p < len(dims[1]):
                    out.append((dims[1][p], f"{dims[0]}[dim {p}] = {dims[1][p]}"))
                self.infer(ix, aliases, env, out, depth + 1)
        elif tag == "neg":
            self.infer(node[2], aliases, env, out, depth + 1)
        elif tag == "bin":
            self.infer(node[3], aliases, env, out, depth + 1)
            self.infer(node[4], aliases, env, out, depth + 1)
        elif tag == "red":
            _, _, _, var, lo, hi, body = node
            self.infer(lo, aliases, env, out, depth + 1)
            self.infer(hi, aliases, env, out, depth + 1)
            self.infer(body, aliases - {var}, dict(env, **{var: None}), out, depth + 1)
        elif tag == "call":
            fname, args = node[2], node[3]
            for a in args:
                self.infer(a, aliases, env, out, depth + 1)
            if fname in FUNCS or fname not in self.glob or self.glob[fname][0] != "def":
                return
            params, body = self.glob[fname][2]
            if len(params) != len(args):
                return
            inner_alias = {p for p, a in zip(params, args)
                           if a[0] == "name" and a[2] in aliases}
            if inner_alias:
                inner_env = {p: Thunk(a, env) for p, a in zip(params, args)}
                self.infer(body, inner_alias, inner_env, out, depth + 1)


def _all_indices(dims):
    out = [()]
    for d in dims:
        out = [ix + (k,) for ix in out for k in range(d)]
    return out


def _exact(v):
    """An exact sympy number from a Fraction, int, float (its binary value) or sympy number."""
    if isinstance(v, sp.Basic):
        if not v.is_Rational:
            raise ValueError(f"data value {v} is not an exact rational")
        return v
    if isinstance(v, bool):
        raise ValueError("a data value cannot be a bool")
    f = Fraction(v)
    return sp.Rational(f.numerator, f.denominator)


def _nest(flat, dims):
    if not dims:
        return flat[0]
    if dims[0] == 0:
        return []
    if len(dims) == 1:
        return list(flat)
    step = len(flat) // dims[0]
    return [_nest(flat[k * step:(k + 1) * step], dims[1:]) for k in range(dims[0])]


def parse_source(src, filename="<input>", allow_data=False):
    toks = lex(src, filename)
    stmts = Parser(toks, filename).program()
    return Sema(stmts, filename, allow_data).run()


def parse_file(path, allow_data=False):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    return parse_source(src, path, allow_data)


def parse_data_source(src, filename="<input>"):
    """A model that may declare `data` arrays: see the module's docstring (Model.loss_for)."""
    return parse_source(src, filename, allow_data=True)


def parse_data_file(path):
    return parse_file(path, allow_data=True)


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("file")
    ap.add_argument("--grad", action="store_true", help="also print the gradient")
    ap.add_argument("--hess", action="store_true", help="also print the Hessian (lower)")
    a = ap.parse_args(argv)
    try:
        m = parse_data_file(a.file)
        loss = m.loss
        if loss is None:
            loss, _ = m.loss_template()
    except HLError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"model {m.prefix}: {len(m.names)} parameters")
    for nm, s in zip(m.names, m.start):
        print(f"  {nm} = {s}")
    for d in m.data:
        print(f"  data {d}")
    print(f"loss = {loss}")
    if a.grad or a.hess:
        g = [sp.diff(loss, s) for s in m.symbols]
        if a.grad:
            for nm, gi in zip(m.names, g):
                print(f"d/d{nm} = {gi}")
        if a.hess:
            for i, si in enumerate(m.symbols):
                for j in range(i + 1):
                    h = sp.diff(g[i], m.symbols[j])
                    if h != 0:
                        print(f"H[{m.names[i]},{m.names[j]}] = {h}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
