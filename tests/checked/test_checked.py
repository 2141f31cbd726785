#!/usr/bin/env python3
"""hessgen --checked: losses built to fail at a known point. For each, the generated code's fault
names the right quantity and entry, its value's kind, and the .hl line:column and operation of
the expression where the first value that was not finite was made; the handler receives the
same fault; the analyzer prints it; and code without --checked has none of it.
    test_checked.py HESSGEN CC HESSRT_LIB RUNTIME_DIR [CFLAGS...]
The cases of sums kept as loops are compiled as array loops (--loops=always) and unrolled.
"""
import math
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import checks  # noqa: E402
from checks import check, ok  # noqa: E402

HESSGEN, CC, LIB, RUNTIME = sys.argv[1:5]
EXTRA = sys.argv[5:]
WORK = tempfile.TemporaryDirectory()

DRIVER = r'''
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "m.h"

static int calls;
static m_fault seen;
static void handler(const m_fault *f, void *user)
{
    (void)user;
    calls++;
    seen = *f;
}

static void show(const char *what, int expect_fault)
{
    m_fault f;
    int got = m_fault_get(&f);
    if (!got) {
        printf("%s none %d\n", what, calls);
        return;
    }
    /* the handler saw the same fault */
    int same = calls > 0 && seen.function == f.function && seen.i == f.i && seen.j == f.j;
    printf("%s %s %s %d %d %s %d %s %d %d %s | %s\n", what, f.function, f.quantity, f.i, f.j,
           isnan(f.value) ? "nan" : f.value > 0 ? "inf" : "-inf", f.input, f.file ? f.file : "-", f.line, f.col,
           f.op ? f.op : "-", m_fault_text());
    (void)expect_fault;
    if (!same)
        printf("HANDLER-MISMATCH\n");
    calls = 0;
}

int main(void)
{
    double theta[m_NPARAM] = {THETA};
    double g[m_NPARAM], h[m_NPARAM * m_NPARAM], v[m_NPARAM], hv[m_NPARAM], vals[m_NPARAM * m_NPARAM + 1];
    for (int i = 0; i < m_NPARAM; i++)
        v[i] = 1;
    m_fault_handler(handler, NULL);
    m_loss(theta);
    show("loss", 0);
    m_grad(theta, g);
    show("grad", 0);
    m_hess(theta, g, h);
    show("hess", 0);
    m_hess(theta, NULL, h);
    show("hess_nograd", 0);
    m_hvp(theta, v, hv);
    show("hvp", 0);
    m_hess_sparse(theta, g, vals);
    show("sparse", 0);
    m_hess_values(theta, vals);
    show("values", 0);
    return 0;
}
'''


def build_and_run(name, source, driver, loops=None):
    """NAME.hl compiled --checked (prefix m, with its header), a driver built against it and run:
    the generated C's path and the driver's output."""
    d = os.path.join(WORK.name, name)
    os.makedirs(d)
    hl = os.path.join(d, name + '.hl')
    with open(hl, 'w') as f:
        f.write(source)
    c, h, drv, exe = (os.path.join(d, x) for x in ('m.c', 'm.h', 'driver.c', 'driver'))
    r = subprocess.run([HESSGEN, hl, '--checked', *(loops or []), '--prefix', 'm', '-o', c, '--header', h],
                       capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    with open(drv, 'w') as f:
        f.write(driver)
    r = subprocess.run([CC, *EXTRA, '-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-I', d, drv, c, '-lm',
                        '-o', exe], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    return c, subprocess.run([exe], capture_output=True, timeout=60).stdout.decode()


def run_case(name, source, theta, loops=None):
    hl = os.path.join(WORK.name, name, name + '.hl')
    _, out = build_and_run(name, source, DRIVER.replace('THETA', ', '.join(theta)), loops)
    ok('HANDLER-MISMATCH' not in out, out)
    rows = {}
    for line in out.splitlines():
        fields, _, text = line.partition(' | ')
        parts = fields.split()
        rows[parts[0]] = (parts[1:], text)
    return hl, rows


def fault(rows, fn, expect, file=None):
    """expect: function quantity i j kind input line col op"""
    got, text = rows[fn]
    ok(got[0] != 'none', '%s: no fault' % fn)
    fields = [got[0], got[1], got[2], got[3], got[4], got[5], got[7], got[8], got[9]]
    ok(fields == [str(x) for x in expect], '%s: %s, expected %s' % (fn, fields, expect))
    if file:
        ok(got[6] == file, (fn, got[6], file))
    return text


@check
def sqrt_at_zero_in_the_gradient():
    src = 'model s;\nparam x = 0, y = 1;\nloss y^2 + 3*sqrt(x);\n'
    hl, rows = run_case('sqrt', src, ['0', '1'])
    ok(rows['loss'][0][0] == 'none', rows['loss'])  # sqrt(0) = 0: the loss is fine
    text = fault(rows, 'grad', ['m_grad', 'gradient', 0, -1, 'inf', -1, 3, 14, 'pow'], 'sqrt.hl')
    ok(text == "the gradient entry 0 (dL/dx) is inf (in m_grad): it began with pow at sqrt.hl:3:14, in 'sqrt(x)'",
       text)
    fault(rows, 'hess', ['m_hess', 'gradient', 0, -1, 'inf', -1, 3, 14, 'pow'])
    # without the gradient the Hessian's own entry (0, 0) is the first bad one
    got, _ = rows['hess_nograd']
    ok(got[1:4] == ['Hessian', '0', '0'] and got[7:10] == ['3', '14', 'pow'], got)
    got, _ = rows['values']
    ok(got[1:4] == ['Hessian', '0', '0'], got)
    got, _ = rows['hvp']
    ok(got[1:3] == ['Hessian-vector', 'product'] or got[1].startswith('Hessian-vector'), got)


@check
def log_of_a_non_positive_value():
    src = 'model l;\nparam a = 1, b = 1;\nloss (a + b)^2 +\n     log(a - b);\n'
    hl, rows = run_case('log', src, ['1', '1'])
    text = fault(rows, 'loss', ['m_loss', 'loss', -1, -1, '-inf', -1, 4, 6, 'log'])
    ok(text.endswith("it began with log at log.hl:4:6, in 'log(a - b)'"), text)
    hl, rows = run_case('log_negative', src, ['1', '2'])
    fault(rows, 'loss', ['m_loss', 'loss', -1, -1, 'nan', -1, 4, 6, 'log'])


@check
def exp_overflows():
    src = 'model e;\nparam x = 1;\nloss 1/(1 + x^2) + exp(x^2);\n'
    hl, rows = run_case('exp', src, ['30'])
    fault(rows, 'loss', ['m_loss', 'loss', -1, -1, 'inf', -1, 3, 20, 'exp'])
    fault(rows, 'grad', ['m_grad', 'loss', -1, -1, 'inf', -1, 3, 20, 'exp'])
    hl, rows = run_case('exp_fine', src, ['3'])
    ok(all(r[0][0] == 'none' for r in rows.values()), rows)


@check
def a_power_finite_in_the_gradient_infinite_in_the_hessian():
    src = 'model p;\nparam x = 0;\nloss x^2 + x^(3/2);\n'
    hl, rows = run_case('pow', src, ['0'])
    ok(rows['loss'][0][0] == 'none' and rows['grad'][0][0] == 'none', rows)
    text = fault(rows, 'hess', ['m_hess', 'Hessian', 0, 0, 'inf', -1, 3, 12, 'pow'])
    ok(text.startswith('the Hessian entry (0, 0) (d2L/dx dx) is inf (in m_hess)'), text)


@check
def theta_not_finite_on_entry():
    src = 'model t;\nparam a, b;\nloss (a - 1)^2 + b^2;\n'
    hl, rows = run_case('input', src, ['1', 'NAN'])
    got, text = rows['loss']
    ok(got[1] == 'loss' and got[5] == '1' and got[6] == '-', got)
    ok(text == 'the loss is NaN (in m_loss): theta[1] (b) was not finite on entry', text)


@check
def a_loss_over_data_traced_inside_its_row_loop():
    src = ('model d;\nparam w = 1;\ndata x[n];\n'
           'loss mean(i, (w*x[i] - 1)^2) +\n     mean(i, log(w*x[i]));\n')
    c, out = build_and_run('d', src, '#include <stdio.h>\n#include "m.h"\nint main(void) {\n'
                           '    const double x[3] = {1, 2, -1};\n    m_data data = {3, x, {0}};\n    double th[1] = {1}, g[1];\n'
                           '    m_grad(th, &data, g);\n    m_fault f;\n    if (!m_fault_get(&f)) return 1;\n'
                           '    printf("%s %s %d %d %s\\n", f.quantity, f.op, f.line, f.col, m_fault_text());\n'
                           '    const double y[3] = {1, 2, 3};\n    m_data ok = {3, y, {0}};\n    m_grad(th, &ok, g);\n'
                           '    printf("%d\\n", m_fault_get(NULL));\n    return 0;\n}\n')
    ok(b'#pragma omp' not in open(c, 'rb').read(), 'checked code has OpenMP loops')
    out = out.split('\n')
    ok(out[0].startswith('loss log 5 14 the loss is NaN (in m_grad)'), out)
    ok(out[1] == '0', out)


@check
def a_division_by_zero_is_a_division():
    src = 'model q;\nparam x = 1, y = 1;\nloss y^2 +\n  3*y/x;\n'
    hl, rows = run_case('div', src, ['0', '1'])
    text = fault(rows, 'loss', ['m_loss', 'loss', -1, -1, 'inf', -1, 4, 3, '/'])
    ok(text.endswith("it began with / at div.hl:4:3, in '3*y/x'"), text)


@check
def an_absorbed_overflow_does_not_hide_the_real_source():
    # exp(1000) overflows, and 1/(1 + inf) = 0 absorbs it; the NaN is log(-1)'s
    src = 'model a;\nparam x = 1, y = 1;\nloss 1/(1 + exp(x)) +\n   log(y);\n'
    hl, rows = run_case('absorbed', src, ['1000', '-1'])
    got, text = rows['loss']
    ok(text.endswith("it began with exp at absorbed.hl:3:13, in 'exp(x)'; and with log at absorbed.hl:4:4, in "
                     "'log(y)'"), text)


@check
def a_direction_not_finite_on_entry():
    src = 'model v;\nparam x = 1, y = 1;\nloss x^2*y^2;\n'
    _, out = build_and_run('vdir', src, '#include <math.h>\n#include <stdio.h>\n#include "m.h"\nint main(void) {\n'
                           '    double th[2] = {1, 1}, v[2] = {NAN, 0}, hv[2];\n    m_hvp(th, v, hv);\n'
                           '    printf("%s\\n", m_fault_text());\n    return 0;\n}\n')
    out = out.strip()
    ok(out == 'the Hessian-vector product entry 0 (x) is NaN (in m_hvp): v[0] (x) was not finite on entry', out)


@check
def source_text_cannot_break_the_c_strings():
    # a comment inside the expression with a trigraph and a quote, and a file name with '?'
    d = os.path.join(WORK.name, 'trigraph')
    os.makedirs(d)
    hl = os.path.join(d, 'a??=b.hl')
    with open(hl, 'w') as f:
        f.write('model t;\nparam x = 1;\nloss log(x) # ??/"\n + x;\n')
    c = os.path.join(d, 't.c')
    ok(subprocess.run([HESSGEN, hl, '--checked', '-o', c]).returncode == 0, 'trigraph.hl')
    r = subprocess.run([CC, *EXTRA, '-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-c', c, '-o',
                        os.path.join(d, 't.o')], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())


@check
def auto_decides_alike_for_the_c_and_the_header():
    hl = os.path.join(WORK.name, 'auto.hl')
    with open(hl, 'w') as f:
        f.write('model au;\nparam x = 1;\nloss log(x);\n')
    c, h = os.path.join(WORK.name, 'auto.c'), os.path.join(WORK.name, 'auto.h')
    ok(subprocess.run([HESSGEN, hl, '--checked=auto', '-o', c, '--header', h]).returncode == 0, 'auto')
    ok(b'au_fault_get' in open(c, 'rb').read() and b'au_fault_get' in open(h, 'rb').read(), 'header differs')


@check
def unchecked_code_has_none_of_it():
    hl = os.path.join(WORK.name, 'plain.hl')
    with open(hl, 'w') as f:
        f.write('model s;\nparam x = 0, y = 1;\nloss y^2 + 3*sqrt(x);\n')
    r = subprocess.run([HESSGEN, hl, '-o', '-'], capture_output=True)
    ok(r.returncode == 0 and b'_fault' not in r.stdout and b'isfinite' not in r.stdout, r.stdout[:300])
    ok(b'\n    6, "s",' in r.stdout and b'\n    NULL,\n    NULL, NULL,\n    NULL\n};' in r.stdout,
       'the descriptor: version 6, no fault_text, no data_part, no fault_sources')


@check
def the_analyzer_prints_where_it_began():
    hl = os.path.join(WORK.name, 'an.hl')
    with open(hl, 'w') as f:
        f.write('model an;\nparam x = 0, y = 1;\nloss y^2 + 3*sqrt(x);\n')
    c, exe = os.path.join(WORK.name, 'an.c'), os.path.join(WORK.name, 'an')
    r = subprocess.run([HESSGEN, hl, '--main', '--checked', '-o', c], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    r = subprocess.run([CC, *EXTRA, c, '-I', RUNTIME, LIB, '-llapacke', '-lm', '-o', exe], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    r = subprocess.run([exe, 'classify', 'x=0,y=1'], capture_output=True, timeout=60)
    out = r.stdout.decode()
    ok(r.returncode == 1 and "not finite   the gradient entry 0 (dL/dx) is inf (in an_hess): it began with pow at "
       "an.hl:3:14, in 'sqrt(x)'" in out, out + r.stderr.decode())
    # a large gradient is finite: classified, not called 'not finite' (|g|^2 overflows a double)
    hl4 = os.path.join(WORK.name, 'big.hl')
    with open(hl4, 'w') as f:
        f.write('model big;\nparam x = 1;\nloss x^4;\n')
    c4, exe4 = os.path.join(WORK.name, 'big.c'), os.path.join(WORK.name, 'big')
    ok(subprocess.run([HESSGEN, hl4, '--main', '--checked', '-o', c4]).returncode == 0, 'big.hl')
    ok(subprocess.run([CC, *EXTRA, c4, '-I', RUNTIME, LIB, '-llapacke', '-lm', '-o', exe4]).returncode == 0, 'big')
    r = subprocess.run([exe4, 'classify', 'x=1e52'], capture_output=True, timeout=60)
    ok(r.returncode == 0 and b'not critical' in r.stdout, r.stdout + r.stderr)
    r = subprocess.run([exe, 'newton', '--method', 'pure', '--from', 'x=0,y=1'], capture_output=True, timeout=60)
    ok(b'diverged: at iteration 0 the gradient entry 0 (dL/dx) is inf' in r.stdout, r.stdout)
    # the reason names the .hl file: a quote or backslash in its name stays valid JSON
    odd = os.path.join(WORK.name, 'odd')
    os.makedirs(odd, exist_ok=True)
    hl5, c5, exe5 = os.path.join(odd, 'q"u\\te.hl'), os.path.join(odd, 'an.c'), os.path.join(odd, 'an')
    with open(hl5, 'w') as f:
        f.write('model an;\nparam x = 0, y = 1;\nloss y^2 + 3*sqrt(x);\n')
    ok(subprocess.run([HESSGEN, hl5, '--main', '--checked', '-o', c5]).returncode == 0, 'odd path')
    ok(subprocess.run([CC, *EXTRA, c5, '-I', RUNTIME, LIB, '-llapacke', '-lm', '-o', exe5]).returncode == 0, 'odd')
    r = subprocess.run([exe5, 'newton', '--method', 'pure', '--from', 'x=0,y=1', '--json'], capture_output=True, timeout=60)
    j = json.loads(r.stdout)
    ok(r.returncode == 1 and j['status'] == 'diverged' and 'q"u\\te.hl:3:14' in j['reason'], (r.returncode, j['reason']))


@check
def a_sum_kept_as_a_loop_traced_inside_it():
    # w[7]^(3/2) at 0: the loss and gradient are finite, the Hessian entry (7, 7) is not; the
    # sparse layouts of array loops are the lower triangle row by row (entry 35 is (7, 7))
    src = 'model q;\nparam w[60] = 1;\nloss sum(j = 0..59, w[j]^2 +\n    w[j]^(3/2));\n'
    for loops in (['--loops=always'], ['--loops=never']):
        hl, rows = run_case('q' + loops[0][8:], src, ['1'] * 7 + ['0'] + ['1'] * 52, loops)
        ok(rows['loss'][0][0] == 'none' and rows['grad'][0][0] == 'none', (loops, rows))
        for fn, name in (('hess', 'm_hess'), ('hess_nograd', 'm_hess'), ('sparse', 'm_hess_sparse'),
                         ('values', 'm_hess_values')):
            text = fault(rows, fn, [name, 'Hessian', 7, 7, 'inf', -1, 4, 5, 'pow'])
            ok(text.startswith('the Hessian entry (7, 7) (d2L/dw[7] dw[7]) is inf (in %s)' % name), (loops, text))


@check
def a_sum_that_overflows_from_finite_terms_is_not_called_a_source():
    # 60 terms of 4e306 each: every term is finite, their sum is inf; that its terms were all
    # finite is not tested, so the fault is not traced rather than pinned on a guess
    src = 'model o;\nparam w[60] = 1;\nloss log(sum(j = 0..59, w[j]^2));\n'
    hl, rows = run_case('overflow', src, ['2e153'] * 60, ['--loops=always'])
    got, text = rows['loss']
    ok(got[1] == 'loss' and got[4] == 'inf', got)
    ok(text == 'the loss is inf (in m_loss): where it began could not be traced', text)


@check
def a_division_by_a_sum_kept_as_a_loop_is_a_division():
    src = 'model r;\nparam w[60] = 1;\nloss sum(j = 0..59, w[j]^2) +\n  3/sum(j = 0..59, w[j]);\n'
    for loops in (['--loops=always'], ['--loops=never']):
        hl, rows = run_case('r' + loops[0][8:], src, ['1', '-1'] * 30, loops)
        text = fault(rows, 'loss', ['m_loss', 'loss', -1, -1, 'inf', -1, 4, 3, '/'])
        ok(text.endswith("it began with / at r%s.hl:4:3, in '3/sum(j = 0..59, w[j])'" % loops[0][8:]), (loops, text))


@check
def a_loss_over_data_traced_inside_a_sum_over_its_columns():
    # row 1's sum is negative: log makes the NaN inside the loop over j, inside the pass over rows
    src = ('model lg;\nparam w[60] = 0.1;\ndata X[n][60];\n'
           'loss mean(i, log(sum(j = 0..59, w[j]*X[i][j]))) +\n     sum(j = 0..59, w[j]^2);\n')
    drv = ('#include <stdio.h>\n#include "m.h"\nstatic void say(const char *what) {\n'
           '    const char *t = m_fault_text();\n    printf("%s: %s\\n", what, t ? t : "none");\n}\n'
           'int main(void) {\n    static double X[3 * 60], th[60], g[60], h[3600], v[60], hv[60];\n'
           '    for (int k = 0; k < 180; k++) X[k] = k / 60 == 1 ? -1.0 : 1.0;\n'
           '    for (int k = 0; k < 60; k++) th[k] = 0.1, v[k] = 1;\n    m_data data = {3, X, {0}};\n'
           '    m_grad(th, &data, g);\n    say("grad");\n    m_hess(th, &data, NULL, h);\n    say("hess");\n'
           '    m_hvp(th, &data, v, hv);\n    say("hvp");\n    m_hess_row_range(th, &data, 0, 1, g, h);\n'
           '    say("range 0 1");\n    m_hess_row_range(th, &data, 1, 3, g, h);\n    say("range 1 3");\n'
           '    return 0;\n}\n')
    c, out = build_and_run('lg', src, drv, ['--loops=always'])
    text = open(c).read()
    ok('for (long i1 = 0; i1 < 60; i1++)' in text and '#pragma omp' not in text, 'not array loops, or threads')
    began = "it began with log at lg.hl:4:14, in 'log(sum(j = 0..59, w[j]*X[i][j]))'"
    lines = out.splitlines()
    ok(lines[0] == 'grad: the loss is NaN (in m_grad): ' + began, lines)
    ok(lines[1] == 'hess: the loss is NaN (in m_hess): ' + began, lines)
    ok(lines[2] == 'hvp: none', lines)  # 1/s and -1/s^2 are finite for s < 0
    ok(lines[3] == 'range 0 1: none', lines)
    ok(lines[4] == 'range 1 3: the loss is NaN (in m_hess_row_range): ' + began, lines)


sys.exit(checks.run())
