#!/usr/bin/env python3
"""How many times the generated code calls a math function, as the rows double: a sum over all
rows that does not depend on an outer row (the mean inside a variance) gets a pass of its own,
before the outer one, so the work stays linear in the rows; a sum that does depend on it (a
kernel density's inner sum over pairs) is inside the outer pass, quadratic by nature.
    check_row_passes.py HESSGEN CC TESTS_DIR
Each loss is compiled --loops=always and --loops=never with exp, tanh and log replaced (macros
in a header given by -include) by counting wrappers, and every function is called with 100 and 200
rows.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import checks  # noqa: E402
from checks import check, ok  # noqa: E402

HESSGEN, CC, TESTS = sys.argv[1:4]
WORK = tempfile.TemporaryDirectory()

DRIVER = r'''
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "m.h"
static long calls;
double counted_exp(double x) { calls++; return exp(x); }
double counted_tanh(double x) { calls++; return tanh(x); }
double counted_log(double x) { calls++; return log(x); }
int main(int argc, char **argv)
{
    size_t n = (size_t)atol(argv[1]);
    double *x = malloc(sizeof(double) * n), th[m_NPARAM], g[m_NPARAM], h[m_NPARAM * m_NPARAM];
    for (size_t i = 0; i < n; i++)
        x[i] = 0.5 * sin(1.0 + 3.0 * (double)i);
    for (int k = 0; k < m_NPARAM; k++)
        th[k] = 0.3 + 0.1 * k;
    m_data data = {n, x, {0}};
    calls = 0; m_loss(th, &data); printf("loss %ld\n", calls);
    calls = 0; m_grad(th, &data, g); printf("grad %ld\n", calls);
    calls = 0; m_hess(th, &data, g, h); printf("hess %ld\n", calls);
    free(x);
    return 0;
}
'''


def counts(name, hl, loops):
    d = os.path.join(WORK.name, name + loops)
    os.makedirs(d)
    c, h, drv, exe = (os.path.join(d, f) for f in ('m.c', 'm.h', 'driver.c', 'driver'))
    r = subprocess.run([HESSGEN, hl, '--loops=' + loops, '--prefix', 'm', '-o', c, '--header', h], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    with open(drv, 'w') as f:
        f.write(DRIVER)
    # the generated file's calls of exp, tanh and log go to the counters (math.h first, so that
    # its own declarations keep their names); the driver's are the real ones
    pre = os.path.join(d, 'count.h')
    with open(pre, 'w') as f:
        f.write('#include <math.h>\n')
        for fn in ('exp', 'tanh', 'log'):
            f.write('double counted_%s(double);\n#define %s counted_%s\n' % (fn, fn, fn))
    r = subprocess.run([CC, '-O1', '-include', pre, '-I', d, '-c', c, '-o', c + '.o'], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    r = subprocess.run([CC, '-O1', '-I', d, drv, c + '.o', '-lm', '-o', exe], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    out = {}
    for n in (100, 200):
        text = subprocess.run([exe, str(n)], capture_output=True, timeout=120, check=True).stdout.decode()
        out[n] = {line.split()[0]: int(line.split()[1]) for line in text.splitlines()}
    return out


def growth(name, hl, low, high):
    """Every function's calls with 200 rows over those with 100: within [low, high]."""
    for loops in ('always', 'never'):
        c = counts(name, hl, loops)
        for f in ('loss', 'grad', 'hess'):
            ok(c[100][f] > 0, (name, loops, f, c))
            ratio = c[200][f] / c[100][f]
            ok(low <= ratio <= high, '%s --loops=%s %s: %d calls with 100 rows, %d with 200 (x%.2f, expected %g to %g)'
               % (name, loops, f, c[100][f], c[200][f], ratio, low, high))


@check
def a_mean_inside_a_sum_over_rows_is_one_pass_before_it():
    growth('variance', os.path.join(TESTS, 'data', 'variance.hl'), 1.9, 2.1)


@check
def a_sum_over_pairs_of_rows_stays_quadratic():
    growth('kde', os.path.join(TESTS, 'data', 'kde.hl'), 3.8, 4.2)


sys.exit(checks.run())
