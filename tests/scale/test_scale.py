#!/usr/bin/env python3
"""test_scale.py: models with many parameters become loops, and the loops are right.

    test_scale.py HESSGEN SOURCE_DIR CC [N]

N (default 100000) is the size of part 1; the sanitizer build passes a smaller one, since the
plain build checks the full size and the property (bodies of bounded length) does not depend on N.

1. Extended Rosenbrock and Broyden's tridiagonal function with 100000 parameters
   (bench/scale/models.py): hessgen writes C whose evaluation functions are loops (each
   function body under 400 lines, whatever N; the file's size is mostly its tables), gcc compiles it, and
   band_check.c compares loss, gradient, sparse Hessian (pattern exactly the band), hess_values
   and HVP with hand-written derivatives.
2. The same two models with 300 parameters, a separable and a chained test loss: the code with
   loops (the default above 100 parameters, forced below with HESSGEN_REROLL_MIN=1) equals the
   straight-line code (HESSGEN_REROLL_MIN=100000000) in every function (same_values.c).
3. A mean over a constant data set (const X[K][2], t[K]) is one loop over a table: the
   evaluation functions have the same number of lines for K = 10 and K = 2000, and the tables
   hold the K rows. (Their values are checked against SymPy by the oracle tests of
   tests/losses and examples/, which loop over their constant arrays the same way.)
"""
import os
import re
import subprocess
import sys
import tempfile

HESSGEN, SRC, CC = sys.argv[1], sys.argv[2], sys.argv[3]
BIG = int(sys.argv[4]) if len(sys.argv) > 4 else 100000
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.join(SRC, 'bench', 'scale', 'models.py')
failures = 0


def fail(msg):
    global failures
    failures += 1
    print('FAIL', msg)


def run(cmd, env=None, timeout=600):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError('%s: exit %d\n%s%s' % (' '.join(cmd), p.returncode, p.stdout, p.stderr))
    return p.stdout


def model(kind, n, path):
    with open(path, 'w') as f:
        f.write(run([sys.executable, MODELS, kind, str(n)]))


def function_lengths(c_text):
    """Lines in each evaluation function's body."""
    out = {}
    for m in re.finditer(r'^(?:double|void) (M_\w+)\(const double \*theta[^;{]*\)\n\{\n(.*?)^\}\n', c_text, re.M | re.S):
        out[m.group(1)] = m.group(2).count('\n')
    return out


def big(tmp, kind, flag):
    hl, c = os.path.join(tmp, kind + '.hl'), os.path.join(tmp, kind + '.c')
    model(kind, BIG, hl)
    run([HESSGEN, hl, '-o', c, '--prefix', 'M'])
    text = open(c).read()
    lengths = function_lengths(text)
    if len(lengths) != 6:
        fail('%s: found the bodies of %s, expected the 6 evaluation functions' % (kind, sorted(lengths)))
    for name, lines in lengths.items():
        if lines > 400:
            fail('%s: %s has %d lines: not rolled into loops' % (kind, name, lines))
    exe = os.path.join(tmp, kind)
    run([CC, '-std=c99', '-O1', '-DM_NPARAM=%d' % BIG, flag, os.path.join(HERE, 'band_check.c'), c, '-lm', '-o', exe])
    try:
        out = run([exe])
        print(kind, '%d:' % BIG, out.strip(), '| C %.1f MB, longest function %d lines' %
              (len(text) / 1e6, max(lengths.values())))
    except RuntimeError as e:
        fail(str(e))


def same(tmp, name, hl):
    a, b = os.path.join(tmp, name + '_a.c'), os.path.join(tmp, name + '_b.c')
    env = dict(os.environ)
    env['HESSGEN_REROLL_MIN'] = '1'
    run([HESSGEN, hl, '-o', a, '--prefix', 'A'], env=env)
    env['HESSGEN_REROLL_MIN'] = '100000000'
    run([HESSGEN, hl, '-o', b, '--prefix', 'B'], env=env)
    loops = len(re.findall(r'for \(size_t k = 0; k < \d+; k\+\+\) \{', open(a).read()))
    if loops == 0:
        fail('%s: no loop over a family in the rolled code' % name)
    exe = os.path.join(tmp, name + '_same')
    run([CC, '-std=c99', '-O0', '-I', os.path.join(SRC, 'runtime'), os.path.join(HERE, 'same_values.c'), a, b, '-lm',
         '-o', exe])
    try:
        print(name + ':', run([exe]).strip(), '| %d loops over families' % loops)
    except RuntimeError as e:
        fail(str(e))


def const_table(tmp):
    lengths = {}
    for k in (10, 2000):
        hl, c = os.path.join(tmp, 'table%d.hl' % k), os.path.join(tmp, 'table%d.c' % k)
        rows = ', '.join('{%d/7, %d/11}' % (i % 13 - 6, i % 5) for i in range(k))
        ts = ', '.join('%d/3' % (i % 7) for i in range(k))
        with open(hl, 'w') as f:
            f.write('param W1[3][2], b1[3], w2[3], b2;\n'
                    'const X[%d][2] = {%s}, t[%d] = {%s};\n'
                    'def hidden(i, k) = tanh(sum(j, W1[k][j]*X[i][j]) + b1[k]);\n'
                    'loss mean(i, (sum(k, w2[k]*hidden(i, k)) + b2 - t[i])^2);\n' % (k, rows, k, ts))
        run([HESSGEN, hl, '-o', c, '--prefix', 'M'])
        text = open(c).read()
        lengths[k] = function_lengths(text)
        # the loop is a function of its own, called over rows 0 .. K
        if not re.search(r'M_rows\d+\(theta, NULL, NULL, 0, %d, ' % k, text) or \
                'for (size_t r0 = row_begin; r0 < row_end; r0++)' not in text:
            fail('const table %d: no loop over its %d rows' % (k, k))
        if not re.search(r'static const double M_table\d+\[%d\]' % (2 * k), text):
            fail('const table %d: no table of its %d values' % (k, 2 * k))
        run([CC, '-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-c', c, '-o', c + '.o'])
    if lengths[10] != lengths[2000] or len(lengths[10]) != 6:
        fail('const tables: function lengths %s for 10 rows, %s for 2000' % (lengths[10], lengths[2000]))
    else:
        print('const table: 10 and 2000 rows, the same %d lines of evaluation code' % sum(lengths[10].values()))


def main():
    with tempfile.TemporaryDirectory() as tmp:
        big(tmp, 'rosenbrock', '-DROSEN')
        big(tmp, 'tridiagonal', '-DBROYDEN')
        for kind in ('rosenbrock', 'tridiagonal'):
            hl = os.path.join(tmp, kind + '300.hl')
            model(kind, 300, hl)
            same(tmp, kind + '300', hl)
        for stem in ('separable30', 'tridiagonal_chain', 'rosenbrock10'):
            same(tmp, stem, os.path.join(SRC, 'tests', 'losses', stem + '.hl'))
        const_table(tmp)
    print('%d failed' % failures)
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
