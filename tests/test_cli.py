#!/usr/bin/env python3
"""The command line as a user meets it: what it prints, what it writes, how it fails.

    test_cli.py HESSGEN SOURCE_DIR CC CXX
Each check is a function; the run ends with `N passed, N failed`.
"""
import os
import subprocess
import sys
import tempfile

import checks
from checks import check, ok

HESSGEN, SRC, CC, CXX = (os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3], sys.argv[4])
EX = os.path.join(SRC, 'examples')


def hg(*args, stdin=None, timeout=120):
    return subprocess.run([HESSGEN, *args], input=stdin, capture_output=True, timeout=timeout)


def compiles(path, *extra):
    for cmd in ([CC, '-x', 'c', '-std=c99', '-pedantic', '-Wall', '-Wextra', '-Werror', '-c', path, '-o', os.devnull, *extra],
                [CXX, '-x', 'c++', '-Wall', '-Wextra', '-Werror', '-c', path, '-o', os.devnull, *extra]):
        r = subprocess.run(cmd, capture_output=True)
        ok(r.returncode == 0, '%s failed:\n%s' % (' '.join(cmd), r.stderr.decode()))


@check
def loops_always_writes_loops_that_compile_pedantic_and_as_cpp():
    """--loops=always: C99 -pedantic -Werror and C++ clean, a header without pattern tables,
    the same parameter table as the unrolled file, and the reason when nothing stays a loop."""
    src = os.path.join(SRC, 'tests', 'loops', 'mlp_2_8_8_1.hl')
    with tempfile.TemporaryDirectory() as tmp:
        c, h = os.path.join(tmp, 'm.c'), os.path.join(tmp, 'm.h')
        r = hg(src, '--loops=always', '-o', c, '--header', h)
        ok(r.returncode == 0, r.stderr.decode())
        text = open(c).read()
        ok('for (long i' in text and 'mlp_HESS_DENSE' in text and 'mlp_hess_rows' not in text,
           'no loops, or pattern tables, in the --loops=always C')
        ok('#define mlp_HESS_DENSE 1' in open(h).read(), 'the header does not say the pattern is dense')
        compiles(c)
        u = os.path.join(tmp, 'u.c')
        ok(hg(src, '--loops=never', '-o', u).returncode == 0, 'the unrolled build failed')
        names = lambda t: t[t.index('mlp_param_arrays[6] = {'):t.index('};', t.index('mlp_param_arrays[6] = {'))]
        ok(names(text) == names(open(u).read()), 'the parameter arrays differ between the two builds')
    r = hg(os.path.join(EX, 'weakest.hl'), '--dump=arrays')
    ok(r.returncode == 0 and r.stdout.decode().startswith('no array loops: no sum stays a loop'), r.stdout.decode())
    r = hg(os.path.join(EX, 'weakest.hl'), '--loops=sometimes')
    ok(r.returncode == 2 and b"--loops takes auto, always or never, not 'sometimes'" in r.stderr, r.stderr.decode())


@check
def loops_auto_follows_the_documented_estimate():
    """--loops=auto (the default): loops where a sum that stayed a loop couples 45 or more
    parameters, half of them or more, and no product has more than 8 factors; else unrolled.
    --dump=arrays says which and why; the loops' C has M_hess_row_range where the rows split."""
    cases = [(os.path.join(SRC, 'tests', 'loops', 'mlp_2_8_8_1.hl'), 'always', '105 of 105 parameters coupled'),
             (os.path.join(SRC, 'bench', 'data', 'logreg50.hl'), 'always', '51 of 51 parameters coupled'),
             (os.path.join(SRC, 'bench', 'models', 'prodexp50.hl'), 'never', 'a product of more than 8 factors'),
             (os.path.join(SRC, 'tests', 'loops', 'softmax_classes.hl'), 'never', '42 of 42 parameters coupled'),
             (os.path.join(EX, 'rosenbrock10.hl'), 'never', '0 of 10 parameters coupled'),
             (os.path.join(SRC, 'bench', 'models', 'rosen1000.hl'), 'never', '0 of 1000 parameters coupled')]
    with tempfile.TemporaryDirectory() as tmp:
        for src, expect, why in cases:
            name = os.path.basename(src)
            r = hg(src, '--dump=arrays')
            line = [l for l in r.stdout.decode().splitlines() if l.startswith('# --loops=auto:')]
            ok(line and why in line[0] and line[0].endswith('loops' if expect == 'always' else 'unrolled'),
               '%s: %s' % (name, line))
            outs = {}
            for mode in ('', 'auto', expect):
                c = os.path.join(tmp, '%s_%s.c' % (name, mode or 'default'))
                r = hg(src, '-o', c, *(['--loops=' + mode] if mode else []))
                ok(r.returncode == 0, r.stderr.decode())
                outs[mode] = open(c).read()
            ok(outs[''] == outs['auto'], '%s: the default is not --loops=auto' % name)
            # (unrolled after the estimate: the same code as --loops=never, though the graph's
            # node numbers, and so the order of some operands, may differ)
            dense = lambda t: '_HESS_DENSE' in t and '_hess_rows[' not in t
            ok(dense(outs['auto']) == dense(outs[expect]) == (expect == 'always'),
               '%s: --loops=auto did not write the %s code' % (name, 'loops' if expect == 'always' else 'unrolled'))
            if expect == 'always':
                ok(outs['auto'] == outs[expect], '%s: --loops=auto is not --loops=always' % name)
        mlp = open(os.path.join(tmp, 'mlp_2_8_8_1.hl_auto.c')).read()
        ok('double mlp_hess_row_range(const double *theta' in mlp and '#pragma omp parallel' in mlp,
           'the MLP in loops has no M_hess_row_range or no OpenMP split')


@check
def loops_refuse_a_pattern_past_int():
    """--loops=always on 70000 parameters: the loops' dense lower triangle would have 2.45e9
    entries, past M_hess_nnz's int, so the unrolled code is written (its pattern: the diagonal)."""
    with tempfile.TemporaryDirectory() as tmp:
        src, c = os.path.join(tmp, 'big.hl'), os.path.join(tmp, 'big.c')
        open(src, 'w').write('param x[70000] = 0.1;\nloss sum(i, exp(x[i]));\n')
        r = hg(src, '--dump=arrays')
        ok(r.stdout.decode().startswith('no array loops: the whole lower triangle of the Hessian would have more '
                                        'than 2^31 - 1 entries'), r.stdout.decode()[:300])
        r = hg(src, '--loops=always', '-o', c, timeout=300)
        ok(r.returncode == 0, r.stderr.decode())
        text = open(c).read()
        ok('const int big_hess_nnz = 70000;' in text and 'big_HESS_DENSE' not in text, 'not the unrolled pattern')


@check
def run_passes_loops_to_the_generator():
    """hessgen run FILE --loops=always classify: the same verdict and eigenvalues as unrolled."""
    import json
    src = os.path.join(SRC, 'tests', 'loops', 'factorization.hl')
    env = dict(os.environ, HESSGEN_CACHE=tempfile.mkdtemp(prefix='hessgen-cli-loops-'))
    out = {}
    for mode in ('always', 'never'):
        r = subprocess.run([HESSGEN, 'run', src, '--loops=' + mode, 'classify', '--json'], capture_output=True,
                           env=env, timeout=300)
        ok(r.returncode == 0, '--loops=%s: exit %d: %s' % (mode, r.returncode, r.stderr.decode()))
        out[mode] = json.loads(r.stdout)
    a, b = out['always'], out['never']
    ok(a['verdict'] == b['verdict'], 'verdicts differ: %s, %s' % (a['verdict'], b['verdict']))
    scale = max(abs(x) for x in b['eigenvalues'])
    ok(all(abs(x - y) <= 1e-9 * scale for x, y in zip(a['eigenvalues'], b['eigenvalues'])),
       'eigenvalues differ: %s, %s' % (a['eigenvalues'], b['eigenvalues']))
    r = subprocess.run([HESSGEN, 'run', src, '--loops=maybe', 'classify'], capture_output=True, env=env)
    ok(r.returncode == 2 and b'--loops takes' in r.stderr, r.stderr.decode())


@check
def print_shows_the_lecture_formulas():
    r = hg(os.path.join(EX, 'weakest.hl'), '--print')
    ok(r.returncode == 0, r.stderr.decode())
    want = ['loss     L = (1 - w1*w2)^2',
            'gradient dL/dw1 = -2*w2*(1 - w1*w2)',
            '         dL/dw2 = -2*w1*(1 - w1*w2)',
            'Hessian  d2L/dw1dw1 = 2*w2^2',
            '         d2L/dw1dw2 = 4*w1*w2 - 2',
            '         d2L/dw2dw2 = 2*w1^2']
    ok(r.stdout.decode().splitlines() == want, r.stdout.decode())


@check
def output_is_deterministic():
    files = [os.path.join(EX, f) for f in sorted(os.listdir(EX)) if f.endswith('.hl')]
    files += [os.path.join(SRC, 'tests', 'losses', f) for f in ('tanh_net.hl', 'softmax_xent.hl', 'relu_net.hl')]
    for f in files:
        a, b = hg(f), hg(f)
        ok(a.returncode == 0 and a.stdout == b.stdout and len(a.stdout) > 1000, 'not byte-identical: ' + f)
        ok(SRC.encode() not in a.stdout, 'the output carries a path: ' + f)
    # display flags must not change the generated code
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'p.hl')
        open(src, 'w').write('param x, y, z;\nloss exp(-(x + y)) + sin(z - (x + y));\n')
        outs = []
        for extra in ([], ['--print'], ['--dump=hess']):
            out = os.path.join(d, 'o%d.c' % len(outs))
            ok(hg(src, '-o', out, *extra).returncode == 0, 'compile with %s' % extra)
            outs.append(open(out, 'rb').read())
        ok(outs[0] == outs[1] == outs[2], '--print or --dump changed the generated code')


@check
def writes_the_file_and_it_compiles_alone():
    with tempfile.TemporaryDirectory() as d:
        out, hdr = os.path.join(d, 'w.c'), os.path.join(d, 'w.h')
        r = hg(os.path.join(EX, 'weakest.hl'), '-o', out, '--header', hdr)
        ok(r.returncode == 0 and r.stdout == b'', 'unexpected output: %r %r' % (r.stdout, r.stderr))
        compiles(out)
        compiles(hdr)
        text = open(out).read()
        for sym in ('weakest_loss', 'weakest_grad', 'weakest_hess', 'weakest_hvp', 'weakest_hess_sparse',
                    'weakest_param_name', 'weakest_start', 'weakest_param_arrays', 'weakest_model', 'weakest_hess_nnz'):
            ok(sym in text, sym + ' missing')
        ok(sorted(os.listdir(d)) == ['w.c', 'w.h'], 'stray files: %s' % os.listdir(d))


@check
def prefix_default_and_option():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'my-loss.2.hl')
        with open(src, 'w') as f:
            f.write('param x;\nloss x^2;\n')
        r = hg(src)
        ok(b'double my_loss_2_loss(const double *theta)' in r.stdout, 'default prefix from the file name')
        r = hg(src, '--prefix', 'q')
        ok(b'double q_loss(const double *theta)' in r.stdout, '--prefix')
        r = hg(os.path.join(EX, 'weakest.hl'), '--prefix', 'Other')
        ok(b'Other_hess(' in r.stdout and b'weakest_' not in r.stdout, '--prefix wins over model')
        r = hg(src, '--prefix', '9bad')
        ok(r.returncode == 2 and b'not a C identifier' in r.stderr, 'bad prefix')
        r = hg(src, '--prefix', 'hessgen')
        ok(r.returncode == 2 and b'clash' in r.stderr, 'the prefix hessgen clashes with hessgen_model')


@check
def reads_standard_input():
    text = open(os.path.join(EX, 'weakest.hl'), 'rb').read()
    r = hg('-', stdin=text)
    ok(r.returncode == 0 and b'double weakest_loss' in r.stdout, 'stdin')
    r = hg('-', stdin=b'param x;\nloss x*y;\n')
    ok(r.returncode == 1 and b'<stdin>:2:8: error: undefined name' in r.stderr, r.stderr.decode())


@check
def usage_errors_exit_2():
    for args, text in ((['--bogus'], b'unknown option'), ([], b'no input file'),
                       (['a.hl', 'b.hl'], b'more than one input'), (['x.hl', '-o'], b'needs a value'),
                       (['x.hl', '--dump=tree'], b'--dump takes')):
        r = hg(*args)
        ok(r.returncode == 2 and text in r.stderr, '%s: %d %r' % (args, r.returncode, r.stderr))
    r = hg('--version')
    ok(r.returncode == 0 and r.stdout.startswith(b'hessgen '), 'version')
    r = hg('--help')
    ok(r.returncode == 0 and b'usage: hessgen' in r.stdout, 'help')


@check
def unreadable_input_and_unwritable_output():
    r = hg('/nonexistent/loss.hl')
    ok(r.returncode == 1 and b"cannot open '/nonexistent/loss.hl'" in r.stderr, r.stderr.decode())
    r = hg(os.path.join(EX, 'weakest.hl'), '-o', '/nonexistent/dir/out.c')
    ok(r.returncode == 1 and b"cannot write '/nonexistent/dir/out.c'" in r.stderr, r.stderr.decode())


@check
def output_files_have_the_permissions_the_umask_gives():
    """the generated file and header are made like any new file: 0666 less the umask (they were
    0644 whatever the umask), and no temporary is left beside them"""
    with tempfile.TemporaryDirectory() as d:
        for mask, mode in ((0o002, 0o664), (0o077, 0o600), (0o022, 0o644)):
            c, h = os.path.join(d, 'w%o.c' % mask), os.path.join(d, 'w%o.h' % mask)
            old = os.umask(mask)
            try:
                r = hg(os.path.join(EX, 'weakest.hl'), '-o', c, '--header', h)
            finally:
                os.umask(old)
            ok(r.returncode == 0, r.stderr.decode())
            for f in (c, h):
                got = os.stat(f).st_mode & 0o777
                ok(got == mode, '%s: mode %o under umask %03o, not %o' % (f, got, mask, mode))
        ok(sorted(os.listdir(d)) == sorted('w%o.%s' % (m, e) for m in (0o002, 0o077, 0o022) for e in 'ch'),
           'left behind: %s' % os.listdir(d))


@check
def the_model_descriptor_is_the_runtimes_own_header():
    """hessgen_model, copied into every generated file, is runtime/hessgen_model.h word for word
    (the one source both sides read: hessrt.h includes it, the emitter embeds it)"""
    header = open(os.path.join(SRC, 'runtime', 'hessgen_model.h')).read()
    rt = open(os.path.join(SRC, 'runtime', 'hessrt.h')).read()
    ok('#include "hessgen_model.h"' in rt and 'typedef struct hessgen_model' not in rt,
       'runtime/hessrt.h declares hessgen_model itself')
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, 'w.c')
        r = hg(os.path.join(EX, 'weakest.hl'), '-o', c)
        ok(r.returncode == 0, r.stderr.decode())
        ok(header in open(c).read(), 'the generated hessgen_model differs from runtime/hessgen_model.h')


@check
def never_overwrites_its_input():
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, 'l.hl')
        body = b'param x;\nloss x^2;\n'
        open(src, 'wb').write(body)
        r = hg(src, '-o', src)
        ok(r.returncode == 2 and open(src, 'rb').read() == body, 'input clobbered')


@check
def ten_thousand_nested_parentheses_compile():
    src = 'param x;\nloss ' + '(' * 10000 + 'x^2' + ')' * 10000 + ';\n'
    r = hg('-', '--print', stdin=src.encode())
    ok(r.returncode == 0 and r.stdout.decode().splitlines()[0] == 'loss     L = x^2', r.stderr.decode()[:300])
    # a composition 500 deep: recursion in every phase (its derivatives grow with depth^2)
    src = 'param x;\nloss ' + 'sin(' * 500 + 'x' + ')' * 500 + ';\n'
    r = hg('-', stdin=src.encode())
    ok(r.returncode == 0 and b'double model_hess' in r.stdout, 'deep function nesting: ' + r.stderr.decode()[:300])


@check
def nesting_past_the_parser_limit_is_a_clear_error():
    src = 'param x;\nloss ' + '(' * 300000 + 'x' + ')' * 300000 + ';\n'
    r = hg('-', stdin=src.encode())
    ok(r.returncode == 1 and b'nested too deeply' in r.stderr, r.stderr.decode()[:300])


@check
def abs_and_relu_warn_but_compile():
    r = hg('-', stdin=b'param x, y;\nloss abs(x) + relu(y)^2;\n')
    err = r.stderr.decode()
    ok(r.returncode == 0, err)
    ok("2:6: warning: 'abs' is not differentiable at 0" in err and "2:15: warning: 'relu'" in err, err)


@check
def dumps_are_stable():
    f = os.path.join(EX, 'weakest.hl')
    for what in ('ast', 'dag', 'grad', 'hess'):
        a, b = hg(f, '--dump=' + what), hg(f, '--dump=' + what)
        ok(a.returncode == 0 and a.stdout == b.stdout and a.stdout, 'dump ' + what)
    ok(b'loss = n' in hg(f, '--dump=dag').stdout, 'dag dump names the loss')
    ok(b'H[1][0] = n' in hg(f, '--dump=hess').stdout, 'hess dump lists entries')


@check
def empty_hessian_and_constant_loss_compile():
    with tempfile.TemporaryDirectory() as d:
        for name, body in (('lin', 'param x, y;\nloss 3*x - y + 1;\n'), ('cst', 'param x;\nloss 2;\n')):
            src, out = os.path.join(d, name + '.hl'), os.path.join(d, name + '.c')
            open(src, 'w').write(body)
            r = hg(src, '-o', out)
            ok(r.returncode == 0, r.stderr.decode())
            compiles(out)


@check
def irrational_exponent_is_pow_and_defined_at_zero():
    # x^pi is C's pow: at x = 0 its gradient and Hessian are 0 (exp(pi*log(x)) would give NaN)
    with tempfile.TemporaryDirectory() as d:
        src, gen, drv, exe = (os.path.join(d, n) for n in ('p.hl', 'p.c', 'drv.c', 'drv'))
        open(src, 'w').write('param x;\nloss x^pi;\n')
        ok(hg(src, '-o', gen, '--prefix', 'p').returncode == 0, 'compile x^pi')
        open(drv, 'w').write('#include <stdio.h>\n#include "p.c"\nint main(void) { double t[1] = {0}, g[1], h[1];\n'
                             '  double l = p_hess(t, g, h); printf("%g %g %g\\n", l, g[0], h[0]); return 0; }\n')
        r = subprocess.run([CC, '-std=c99', drv, '-o', exe, '-lm'], capture_output=True, cwd=d)
        ok(r.returncode == 0, r.stderr.decode())
        out = subprocess.run([exe], capture_output=True).stdout.decode().split()
        ok(out == ['0', '0', '0'], 'x^pi at 0: %s' % out)


def main():
    return checks.run(stop_if_failed=())


if __name__ == '__main__':
    sys.exit(main())
