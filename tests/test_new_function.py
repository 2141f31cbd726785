#!/usr/bin/env python3
"""Adding a function is one row plus its rules: docs/adding-a-function.md, followed as written.
Its ```c ops.h row goes into a copy of src/ops.h (above the table's first row), its ```c
series.c rules where series.c says the rules of added functions go; that copy of the sources
is built, and the new function is checked end to end: --print shows the derivative the page
shows, the derivatives of the generated C (through the Python package) against SymPy, and the
exact classifier's verdicts on the page's `at` lines.
    test_new_function.py SOURCE_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import checks
from checks import check, ok

SRC = sys.argv[1]
PAGE = os.path.join(SRC, 'docs', 'adding-a-function.md')
WORK = tempfile.TemporaryDirectory()
TREE = os.path.join(WORK.name, 'src-copy')
HESSGEN = os.path.join(TREE, 'build', 'hessgen')


def blocks():
    """{info string: [block text, ...]} of the page's fenced blocks."""
    out, info, buf = {}, None, []
    with open(PAGE, encoding='utf-8') as f:
        for line in f:
            if line.startswith('```'):
                if info is None:
                    info, buf = line[3:].strip(), []
                else:
                    out.setdefault(info, []).append(''.join(buf))
                    info = None
            elif info is not None:
                buf.append(line)
    return out


BLOCKS = blocks()


def insert(path, anchor, text, after):
    """text into the file at path, before (or after) the first line that contains anchor."""
    with open(path, encoding='utf-8') as f:
        lines = f.readlines()
    at = next((i for i, ln in enumerate(lines) if anchor in ln), None)
    ok(at is not None, '%s has no line with %r: the page no longer says where the code goes' % (path, anchor))
    lines[at + 1 if after else at:at + 1 if after else at] = [text if text.endswith('\n') else text + '\n']
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(lines)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=600, **kw)


@check
def the_page_shows_a_row_and_its_rules():
    ok(len(BLOCKS.get('c ops.h', [])) == 1 and len(BLOCKS.get('c series.c', [])) == 1,
       'the page needs one ```c ops.h block and one ```c series.c block: %s' % sorted(BLOCKS))
    ok(BLOCKS['c ops.h'][0].lstrip().startswith('X(LOG2,'), 'the row is not the log2 example')


@check
def a_copy_with_the_function_builds():
    for d in ('src', 'grammar', 'runtime', 'python'):
        shutil.copytree(os.path.join(SRC, d), os.path.join(TREE, d), ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(os.path.join(SRC, 'CMakeLists.txt'), TREE)
    # the row above the table's first row; the rules where series.c keeps them
    insert(os.path.join(TREE, 'src', 'ops.h'), '    X(EXP,', BLOCKS['c ops.h'][0], after=False)
    insert(os.path.join(TREE, 'src', 'exact', 'series.c'), '(the rules of functions added to ops.h go here)',
           BLOCKS['c series.c'][0], after=True)
    build = os.path.join(TREE, 'build')
    r = run(['cmake', '-S', TREE, '-B', build, '-DCMAKE_BUILD_TYPE=Debug', '-DHESSGEN_TESTS=OFF'])
    ok(r.returncode == 0, 'cmake: ' + r.stderr.decode()[-2000:])
    r = run(['cmake', '--build', build, '--target', 'hessgen', '-j2'])
    ok(r.returncode == 0 and os.access(HESSGEN, os.X_OK), 'the build: ' + (r.stdout + r.stderr).decode()[-3000:])


def example(k):
    """The page's k-th ```hl example, written to a file."""
    path = os.path.join(WORK.name, 'example%d.hl' % k)
    with open(path, 'w') as f:
        f.write(BLOCKS['hl'][k])
    return path


@check
def print_shows_the_derivative_the_page_shows():
    shown = [ln for ln in BLOCKS[''] if 'gradient' in ln][0].strip()
    r = run([HESSGEN, example(0), '--print'])
    ok(r.returncode == 0, r.stderr.decode())
    ok(shown in r.stdout.decode().splitlines(), 'hessgen --print printed\n%s\nnot\n%s' % (r.stdout.decode(), shown))


@check
def the_generated_derivatives_agree_with_sympy():
    import numpy as np
    import sympy
    sys.path.insert(0, os.path.join(SRC, 'python'))
    import hessgen
    os.environ['HESSGEN'] = HESSGEN
    os.environ['HESSGEN_CACHE'] = os.path.join(WORK.name, 'cache')
    m = hessgen.load(example(0))
    x = sympy.Symbol('x')
    f = sympy.log(x, 2) ** 2 + (x - sympy.log(3, 2)) ** 2
    for p in (0.3, 1.0, 2.0, 7.5, 123.0):
        at = {x: sympy.Float(p, 30)}
        want = [float(e.subs(at).evalf(30)) for e in (f, sympy.diff(f, x), sympy.diff(f, x, 2))]
        got = [m.loss([p]), m.grad([p])[0], m.hess([p])[0, 0]]
        ok(np.allclose(got, want, rtol=1e-13, atol=1e-13), 'at x = %g: %s, SymPy %s' % (p, got, want))


@check
def the_exact_classifier_decides_with_it():
    r = run([HESSGEN, '--check', example(1)])
    out = r.stdout.decode()
    ok(r.returncode == 0 and '2 of 2 points as expected' in out, 'hessgen --check:\n' + out + r.stderr.decode())
    # 2/log(2)^2 = 4.16273796201..., 1/log(2) = 1.44269504089...: the balls of the exact values
    ok(re.search(r'line 3 .*expect min +verdict strict_min', out) and '[4.16273796201 +/-' in out,
       'the minimum at x = 1 and its Hessian, 2/log(2)^2:\n' + out)
    ok(re.search(r'line 4 .*expect not_critical +verdict not_critical', out) and '[1.44269504089 +/-' in out,
       'x = 2 not critical, its gradient 1/log(2):\n' + out)


sys.exit(checks.run(stop_if_failed=(the_page_shows_a_row_and_its_rules, a_copy_with_the_function_builds)))
