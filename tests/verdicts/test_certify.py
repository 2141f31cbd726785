#!/usr/bin/env python3
"""Certified critical points (issue 16, part 3): `hessgen --classify FILE.hl --near POINT` proves a
box that holds exactly one critical point and classifies it from the Hessian over the box;
`hessgen run FILE.hl scan ... --certify` does it for every entry the scan lists.
    test_certify.py HESSGEN SOURCE_DIR
Every box is checked independently of hessgen: SymPy differentiates the loss, mpmath finds the
root of the gradient at 50 digits from the box's centre, the root must lie in the box, and the
signs of the Hessian's eigenvalues there (mpmath, 50 digits) must be the verdict's. The kinds
are the literature's: Himmelblau 4 minima, 1 maximum, 4 saddles; the six-hump camel 6, 2, 7.
Where no box can hold exactly one critical point (three of them within 2e-6; a curve of them;
a degenerate minimum; no critical point near) the verdict is undetermined, never a guess.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

import mpmath
import sympy
from sympy.parsing.sympy_parser import parse_expr, rationalize, standard_transformations

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import checks  # noqa: E402
from checks import check, ok  # noqa: E402

HESSGEN, SRC = sys.argv[1:3]
HERE = os.path.join(SRC, 'tests', 'verdicts')
WORK = tempfile.TemporaryDirectory()
ENV = dict(os.environ, HESSGEN_CACHE=os.path.join(WORK.name, 'cache'))
mpmath.mp.dps = 50
SIGNS = {'strict_min': (0, 2), 'strict_max': (2, 0), 'saddle': (1, 1)}  # (negative, positive) of 2


def path(model):
    return os.path.join(HERE, model + '.hl') if '/' not in model else os.path.join(SRC, model + '.hl')


def near(model, point, rc=0):
    t = time.perf_counter()
    r = subprocess.run([HESSGEN, '--classify', path(model), '--near', point, '--json'], capture_output=True,
                       timeout=120)
    seconds = time.perf_counter() - t
    ok(r.returncode == rc, '%s --near %s: exit %d, %r' % (model, point, r.returncode, r.stderr[-400:]))
    return (json.loads(r.stdout), seconds) if rc == 0 else (r, seconds)


class Oracle:
    """The loss of a two-parameter .hl file, differentiated by SymPy, evaluated by mpmath."""

    def __init__(self, model):
        text = open(path(model)).read()
        expr = next(line for line in text.splitlines() if line.startswith('loss'))[4:].strip().rstrip(';')
        x, y = sympy.symbols('x y')
        f = parse_expr(expr.replace('^', '**'), {'x': x, 'y': y},
                       transformations=standard_transformations + (rationalize,))
        g = [sympy.diff(f, v) for v in (x, y)]
        h = [[sympy.diff(gi, v) for v in (x, y)] for gi in g]
        self.grad = sympy.lambdify((x, y), g, 'mpmath')
        self.hess = sympy.lambdify((x, y), h, 'mpmath')

    def root_in(self, box):
        """The gradient's root from the box's centre, at 50 digits; None if it is not in the box."""
        lo = [mpmath.mpf(a) for a, _ in box]
        hi = [mpmath.mpf(b) for _, b in box]
        centre = [(a + b) / 2 for a, b in zip(lo, hi)]
        root = mpmath.findroot(lambda a, b: self.grad(a, b), centre, tol=mpmath.mpf(10) ** -45)
        root = [root[0], root[1]]
        inside = all(a <= r <= b for a, r, b in zip(lo, root, hi))
        small = max(abs(v) for v in self.grad(*root)) < mpmath.mpf(10) ** -40
        return root if inside and small else None

    def signs(self, point):
        e = mpmath.eigsy(mpmath.matrix(self.hess(*point)))[0]
        return sum(1 for v in e if v < 0), sum(1 for v in e if v > 0)


def scan_and_certify(model, box, starts, kinds):
    r = subprocess.run([HESSGEN, 'run', path(model), 'scan', '--box', box, '--starts', str(starts), '--seed', '1',
                        '--certify', '--json'], capture_output=True, env=ENV, timeout=600)
    ok(r.returncode == 0, (model, r.returncode, r.stderr[-400:]))
    out = json.loads(r.stdout)
    points, certified = out['scan']['points'], out['certified']
    ok(len(points) == len(certified) == sum(kinds.values()), (model, len(points), len(certified)))
    oracle = Oracle(model)
    found = {}
    roots = []
    for e, c in zip(points, certified):
        ok(c['certified'] and c['certified']['unique'] and c['critical'], (model, e['theta'], c['reason']))
        root = oracle.root_in(c['certified']['box'])
        ok(root is not None, '%s: no 50-digit root of the gradient in the box %s' % (model, c['certified']['box']))
        ok(oracle.signs(root) == SIGNS[c['verdict']], (model, c['verdict'], oracle.signs(root)))
        ok(all(abs(a - b) <= 1e-6 * (1 + abs(b)) for a, b in zip(c['theta'], e['theta'])), (c['theta'], e['theta']))
        ok(not any(all(abs(a - b) < 1e-30 for a, b in zip(root, other)) for other in roots), 'one point twice')
        roots.append(root)
        found[c['verdict']] = found.get(c['verdict'], 0) + 1
    ok(found == kinds, (model, found, kinds))
    # each point again on its own, timed, from the scan's 17 digits
    times = []
    for e in points:
        res, seconds = near(model, ','.join(repr(v) for v in e['theta']))
        ok(res['certified'] and res['certified']['contains_given'], (model, e['theta'], res['reason']))
        times.append(seconds)
    print('  %s: %d points certified, --near %.1f ms per point (max %.1f ms)'
          % (model, len(points), 1e3 * sum(times) / len(times), 1e3 * max(times)))


@check
def himmelblau_nine_points():
    scan_and_certify('himmelblau', '-6:6', 200, {'strict_min': 4, 'strict_max': 1, 'saddle': 4})


@check
def six_hump_camel_fifteen_points():
    scan_and_certify('camel', '-3:3', 400, {'strict_min': 6, 'strict_max': 2, 'saddle': 7})


@check
def a_paper_approximation_is_certified_with_the_given_point():
    """Four digits from a paper: the tight box misses the given point, a wide box holds both."""
    r, _ = near('himmelblau', 'x=3.5844,y=-1.8481')
    c = r['certified']
    ok(r['verdict'] == 'strict_min' and c['contains_given'] and c['wide_box'], r['reason'])
    for box in (c['box'], c['wide_box']):
        ok(Oracle('himmelblau').root_in(box) is not None, box)
    lo, hi = (float(v) for v in c['wide_box'][0])
    ok(lo <= 3.5844 <= hi, c['wide_box'])


@check
def a_box_never_holds_two_critical_points():
    """Minima at x = -1e-6 and 1e-6, a saddle at 0: each certified box holds one of them."""
    roots = [-1e-6, 0.0, 1e-6]
    for given, kind in (('1e-6,0', 'strict_min'), ('-1e-6,0', 'strict_min'), ('2e-7,0', 'saddle'),
                        ('1.5e-6,0', 'strict_min'), ('2.5e-6,1e-3', 'strict_min')):
        r, _ = near('twins', given)
        ok(r['verdict'] == kind, (given, r['verdict'], r['reason']))
        for box in (r['certified']['box'], r['certified']['wide_box']):
            if box:
                held = [x for x in roots if float(box[0][0]) <= x <= float(box[0][1])]
                ok(len(held) == 1 and float(box[1][0]) <= 0 <= float(box[1][1]), (given, box))


@check
def no_box_where_none_can_be_proved():
    cases = [('himmelblau', '0,1', 'no critical point was found near it'),  # none within 0.01 (1 + |p|)
             ('examples/weakest', 'w1=2,w2=0.5', 'singular'),  # on the valley w1*w2 = 1
             ('examples/weakest', '2.001,0.5', 'singular'),  # next to it
             ('examples/degenerate_plus', '0.01,0.01', 'singular')]  # x^2 + y^4: a min, not a regular one
    for model, point, why in cases:
        r, _ = near(model, point)
        ok(r['verdict'] == 'undetermined' and r['certified'] is None and r['critical'] is None, (model, r))
        ok(why in r['reason'], (model, point, r['reason']))
    r = subprocess.run([HESSGEN, '--classify', path('himmelblau'), '--near', '0,1'], capture_output=True)
    ok(r.returncode == 0 and b'verdict    undetermined: ' in r.stdout, r.stdout)


@check
def bad_requests_are_refused():
    for args, msg in (([path('himmelblau'), '--near', '1,2,3'], b'--near: more values than parameters'),
                      ([path('himmelblau'), '--near', 'x=1'], b"--near gives no value for parameter 'y'"),
                      ([path('himmelblau'), '--near', '1,2', '--at', '1,2'], b'two jobs'),
                      ([path('himmelblau'), '--near', '1,2', '--order', '4'], b'--order applies'),
                      ([path('himmelblau'), '--near', '1,2', '--near', '1,2'], b'given twice'),
                      ([os.path.join(HERE, 'gauss_nll.hl'), '--near', '0,0'], b'reads data supplied at run time')):
        r = subprocess.run([HESSGEN, '--classify', *args], capture_output=True)
        ok(r.returncode == 2 and msg in r.stderr and not r.stdout, (args, r.returncode, r.stderr))


@check
def scan_certify_in_text():
    r = subprocess.run([HESSGEN, 'run', path('himmelblau'), 'scan', '--box', '-6:6', '--starts', '100',
                        '--certify'], capture_output=True, env=ENV, timeout=600)
    lines = r.stdout.decode().splitlines()
    ok(r.returncode == 0 and any(l.startswith('certified by interval arithmetic') for l in lines), lines)
    listed = [l for l in lines if l.startswith('  ') and ' at x = ' in l]
    verdicts = [l.split()[1] for l in lines if l[:2] == '  ' and l.split()[0].isdigit()]
    ok(len(verdicts) == len(listed) and set(verdicts) <= set(SIGNS), (listed, verdicts))


def main():
    return checks.run()


if __name__ == '__main__':
    sys.exit(main())
