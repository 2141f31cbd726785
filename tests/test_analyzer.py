#!/usr/bin/env python3
"""The analyzer that `hessgen --main` builds, on the lecture's weakest network:
classify, newton, gd and scan in text and --json (keys of DESIGN.md), the CSV trace, and
bad arguments.   test_analyzer.py HESSGEN SOURCE_DIR CC HESSRT_LIB RUNTIME_DIR [CFLAGS...]
"""
import csv
import json
import os
import re
import subprocess
import sys
import tempfile

import checks
from checks import check, ok

HESSGEN, SRC, CC, LIB, RUNTIME = sys.argv[1:6]
EXTRA = sys.argv[6:]


def build(d):
    gen, exe = os.path.join(d, 'w.c'), os.path.join(d, 'weakest')
    r = subprocess.run([HESSGEN, os.path.join(SRC, 'examples', 'weakest.hl'), '--main', '-o', gen], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    r = subprocess.run([CC, *EXTRA, gen, '-I', RUNTIME, LIB, '-llapacke', '-lm', '-o', exe], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    return exe


WORK = tempfile.TemporaryDirectory()
EXE = None


def run(*args):
    return subprocess.run([EXE, *args], capture_output=True, timeout=60)


def js(*args, rc=0):
    r = run(*args, '--json')
    ok(r.returncode == rc, (r.returncode, r.stderr.decode()))
    return json.loads(r.stdout)


@check
def builds():
    global EXE
    EXE = build(WORK.name)


@check
def classify_the_saddle():
    r = js('classify', 'w1=0,w2=0')
    ok(r['verdict'] == 'saddle' and r['critical'] is True, r)
    ok(r['params'] == ['w1', 'w2'] and r['theta'] == [0, 0], r)
    ok(abs(r['eigenvalues'][0] + 2) < 1e-12 and abs(r['eigenvalues'][1] - 2) < 1e-12, r)
    ok(r['inertia'] == {'negative': 1, 'zero': 0, 'positive': 1}, r)
    e = r['escape_direction']
    ok(abs(abs(e[0]) - 2 ** -0.5) < 1e-12 and abs(e[0] - e[1]) < 1e-12, e)
    ok(abs(r['predicted_decrease'] - 1) < 1e-12 and r['min_ratio'] == 0.5, r)
    ok(js('classify', ' w1 = 0 , w2 = 0 ')['theta'] == [0, 0], 'spaces around names and values are skipped')
    text = run('classify', '0,0').stdout.decode()
    ok('saddle' in text and '-2, 2' in text, text)


@check
def classify_the_valley_and_a_plain_point():
    r = js('classify', '1,1')
    ok(r['verdict'] == 'degenerate' and r['inertia']['zero'] == 1 and 'escape_direction' not in r, r)
    r = js('classify', 'w2=0.5,w1=0.5')
    ok(r['verdict'] == 'not_critical' and r['critical'] is False, r)
    r = js('classify')  # the start values: the origin
    ok(r['theta'] == [0, 0], r)


@check
def newton_and_gd():
    r = js('newton', '--method', 'pure', '--from', 'w1=0.1,w2=0.05')
    ok(r['status'] == 'converged' and r['verdict'] == 'saddle' and max(map(abs, r['theta'])) < 1e-8, r)
    t0 = r['trace'][0]
    ok(set(t0) == {'iteration', 'loss', 'gradient_norm', 'step', 'min_eigenvalue'}, t0)
    ok(abs(t0['loss'] - 0.990025) < 1e-12 and r['iterations'] == len(r['trace']) - 1, r)
    for method in ('saddle-free', 'damped', 'trust-region'):
        r = js('newton', '--method', method, '--from', '0.1,0.05')
        ok(r['status'] == 'converged' and r['loss'] < 1e-12, (method, r))
    r = js('gd', '--from', '0.1,0.05', '--step', '0.1')
    ok(r['method'] == 'gd' and r['loss'] < 1e-12 and 10 < r['iterations'] < 200, r)
    ok(r['trace'][0]['min_eigenvalue'] is None, 'gd computes no Hessian: null')
    r = js('newton', '--method', 'pure', '--from', '1,0.3333333333333333', rc=1)  # not converged: exit 1
    ok(r['status'] == 'singular', r)


@check
def trace_to_csv():
    path = os.path.join(WORK.name, 'trace.csv')
    r = run('newton', '--method', 'pure', '--from', '0.1,0.05', '--trace', path)
    ok(r.returncode == 0, r.stderr.decode())
    rows = list(csv.DictReader(open(path)))
    ok(len(rows) == 4 and abs(float(rows[0]['loss']) - 0.990025) < 1e-12, rows)
    ok(list(rows[0]) == ['iteration', 'loss', 'gradient_norm', 'step', 'min_eigenvalue'], rows[0])
    # written beside itself and renamed: an old trace is replaced whole, nothing else is left
    d = os.path.dirname(path)
    r = run('gd', '--from', '0.1,0.05', '--trace', path)
    ok(r.returncode == 0 and len(list(csv.DictReader(open(path)))) > 4, r.stderr.decode())
    ok(not [f for f in os.listdir(d) if f.startswith('trace.csv.')], os.listdir(d))
    r = run('gd', '--trace', os.path.join(d, 'no', 'such', 'dir.csv'))
    ok(r.returncode == 1 and b'cannot write the trace' in r.stderr, r.stderr)


@check
def scan_finds_the_saddle_and_the_valley():
    r = js('scan', '--box', '-2:2', '--starts', '40', '--seed', '1')
    verdicts = {p['verdict'] for p in r['points']}
    ok('saddle' in verdicts and 'degenerate' in verdicts, r)
    ok(sum(p['reached'] for p in r['points']) + r['failed'] == 40, r)
    ok(r == js('scan', '--box', '-2:2', '--starts', '40', '--seed', '1'), 'the same seed gives the same scan')


@check
def bad_arguments():
    for args, text in ((['classify', 'w3=1,w2=0'], b'not a parameter'), (['classify', '1'], b'2 values needed'),
                       (['classify', 'w1=x,w2=0'], b'not a number'), (['newton', '--gtol', 'x'], b'--gtol'),
                       (['newton', '--method', 'fast'], b'unknown method'), (['scan'], b'--box'),
                       (['scan', '--box', '2:1'], b'LO < HI'), (['frobnicate'], b'unknown subcommand'), ([], b'subcommand'),
                       (['gd', '--step', '-1'], b'--step'), (['classify', '0,0,'], b'missing after the last'),
                       (['classify', '{' * 40 + '0'], b'nested more than 32'), (['scan', '--box', '0:1', '--seed', '1e20'], b'--seed')):
        r = run(*args)
        ok(r.returncode == 2 and text in r.stderr and r.stdout == b'', '%s: %d %r' % (args, r.returncode, r.stderr))
    r = run('newton', '--method', 'pure', '--trace', '/nonexistent/t.csv')
    ok(r.returncode == 1 and b'cannot write the trace' in r.stderr, r.stderr)


@check
def hessgen_run_generates_compiles_caches_and_runs():
    env = dict(os.environ, HESSGEN_CACHE=os.path.join(WORK.name, 'cache'))
    weakest = os.path.join(SRC, 'examples', 'weakest.hl')
    cmd = [HESSGEN, 'run', weakest, 'classify', 'w1=0,w2=0', '--json']
    first = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    ok(first.returncode == 0, first.stderr.decode())
    ok(json.loads(first.stdout)['verdict'] == 'saddle', first.stdout)
    programs = [f for f in os.listdir(env['HESSGEN_CACHE']) if '.' not in f]
    ok(len(programs) == 1, programs)
    stamp = os.stat(os.path.join(env['HESSGEN_CACHE'], programs[0])).st_mtime_ns
    second = subprocess.run(cmd, capture_output=True, env=env, timeout=120)
    ok(second.stdout == first.stdout, 'the cached program answers the same')
    ok(os.stat(os.path.join(env['HESSGEN_CACHE'], programs[0])).st_mtime_ns == stamp, 'rebuilt instead of cached')
    bad = subprocess.run([HESSGEN, 'run', os.path.join(SRC, 'tests', 'bad', 'undefined_name.hl'), 'classify'],
                         capture_output=True, env=env, timeout=120)
    ok(bad.returncode == 1 and b"undefined name 'w3'" in bad.stderr, bad.stderr)


@check
def the_readme_demo_shows_the_lecture():
    env = dict(os.environ, HESSGEN=HESSGEN, HESSGEN_CACHE=os.path.join(WORK.name, 'cache'), HESSGEN_DEMO_OUT=WORK.name)
    r = subprocess.run(['sh', os.path.join(SRC, 'scripts', 'demo.sh')], capture_output=True, env=env, timeout=300)
    out = r.stdout.decode()
    ok(r.returncode == 0, r.stderr.decode())
    image = os.path.join(WORK.name, 'weakest_surface.png')
    with open(image, 'rb') as f:
        ok(f.read(8) == b'\x89PNG\r\n\x1a\n', 'the demo did not draw the surface as a PNG')
    ok('1 saddle,' in out, 'the demo\'s surface does not mark the saddle')
    for fact in ('Hessian      [[0, -2], [-2, 0]]', 'eigenvalues  -2, 2', 'verdict      saddle',
                 'escape       along (0.707107, 0.707107)', 'loss 1, saddle',
                 'Hessian      [[2, 2], [2, 2]]', 'verdict      degenerate'):
        ok(fact in out, 'the demo does not show: ' + fact)
    # points in text read back exactly: saddle-free ends 2e-9 from (1, 1), printed in full
    ends = re.findall(r'ended at w1 = ([-0-9.e]+), w2 = ([-0-9.e]+), loss', out)
    ok(any(all(abs(float(v) - 1) < 1e-8 for v in e) and len(e[0]) > 8 for e in ends), ends)


@check
def the_examples_points_classify_as_computed_by_hand():
    env = dict(os.environ, HESSGEN_CACHE=os.path.join(WORK.name, 'cache'))

    def classify(example, point):
        r = subprocess.run([HESSGEN, 'run', os.path.join(SRC, 'examples', example), 'classify', point, '--json'],
                           capture_output=True, env=env, timeout=120)
        ok(r.returncode == 0, r.stderr.decode())
        return json.loads(r.stdout)
    # x^2 +- y^4 at the origin: H = [[2, 0], [0, 0]], the second-order test cannot decide
    for ex in ('degenerate_plus.hl', 'degenerate_minus.hl'):
        r = classify(ex, 'x=0,y=0')
        ok(r['verdict'] == 'degenerate' and r['eigenvalues'] == [0, 2], (ex, r))
    # Rosenbrock at (1,1): H = [[802, -400], [-400, 200]], eigenvalues 501 -+ sqrt(301^2 + 400^2)
    r = classify('rosenbrock.hl', 'x=1,y=1')
    rad = (301 ** 2 + 400 ** 2) ** 0.5
    ok(r['verdict'] == 'min' and abs(r['eigenvalues'][0] - (501 - rad)) < 1e-9
       and abs(r['eigenvalues'][1] - (501 + rad)) < 1e-9, r)
    ok(classify('rosenbrock.hl', 'x=-1.2,y=1')['verdict'] == 'not_critical', 'the start is not critical')
    r = classify('rosenbrock10.hl', ','.join(['1'] * 10))
    ok(r['verdict'] == 'min' and r['inertia']['positive'] == 10, r)
    # the tanh net with zero weights and b2 = mean(t) = 1/3: critical, and a saddle
    names = ['W1[%d][%d]' % (k, j) for k in range(4) for j in range(2)] + ['b1[%d]' % k for k in range(4)] + \
            ['w2[%d]' % k for k in range(4)]
    r = classify('tanh_net.hl', ','.join(n + '=0' for n in names) + ',b2=0.3333333333333333')
    ok(r['critical'] and r['verdict'] == 'saddle', r)


@check
def array_coordinates_are_named_and_found_by_their_names():
    """Names are written by M_param_name from the declared arrays (not a table of N strings):
    every coordinate of a rank-2 array, a rank-1 one and a scalar is found by its name, in any
    order; a name that is not the one the model writes (leading zero, index out of range, too
    few indices, spaces) is refused; the start point is M_start's."""
    env = dict(os.environ, HESSGEN_CACHE=os.path.join(WORK.name, 'cache'))
    hl = os.path.join(WORK.name, 'arrays.hl')
    with open(hl, 'w') as f:
        f.write('model arr;\nparam W[2][11] = 0.5, v[3] = {1, -2, 3}, c = 7;\n'
                'loss sum(i, sum(j, (W[i][j] - j)^2)) + sum(k, (v[k] - k)^2) + (c - 1)^2;\n')
    names = ['W[%d][%d]' % (i, j) for i in range(2) for j in range(11)] + ['v[0]', 'v[1]', 'v[2]', 'c']
    at = {n: float(n.count('1')) for n in names}

    def run_arr(*args):
        return subprocess.run([HESSGEN, 'run', hl, *args], capture_output=True, env=env, timeout=120)
    r = run_arr('classify', ','.join('%s=%r' % (n, at[n]) for n in reversed(names)), '--json')
    ok(r.returncode == 0, r.stderr.decode())
    j = json.loads(r.stdout)
    ok(j['params'] == names, j['params'])
    ok(j['theta'] == [at[n] for n in names], j['theta'])
    r = run_arr('classify', '--json')
    ok(r.returncode == 0, r.stderr.decode())
    ok(json.loads(r.stdout)['theta'] == [0.5] * 22 + [1, -2, 3, 7], r.stdout)
    # one point syntax: a whole array by a braced list (nested braces row-major) or one value
    # that fills it, and values in parameter order with or without braces
    start = [0.5] * 22 + [1, -2, 3, 7]
    rows = ','.join('{' + ','.join(['0.5'] * 11) + '}' for _ in range(2))
    for point in ('W={%s},v={1,-2,3},c=7' % rows, 'c=7,v={1,-2,3},W=0.5', 'W={%s},v={1,-2,3},c=7' % ','.join(['0.5'] * 22),
                  ','.join(map(repr, start)), '{{%s},{1,-2,3}},7' % rows):
        r = run_arr('classify', point, '--json')
        ok(r.returncode == 0 and json.loads(r.stdout)['theta'] == start, (point, r.stderr))
    for point, why in (('W={0.5,0.5},v=1,c=1', b"'W' has 22 values, and 2 are given"), ('W=0,W[0][0]=1,v=1,c=1', b'given twice'),
                       ('v={1,2,3,c=1', b"'c' is not a number"), ('v={1,2,3}4,c=1', b"a ',' is missing before '4,c=1'"), ('v=1,c=1', b"no value for 'W[0][0]'")):
        r = run_arr('classify', point)
        ok(r.returncode == 2 and why in r.stderr, (point, r.stderr))
    rest = ','.join('%s=0' % n for n in names[1:])
    for bad in ('W[00][0]', 'W[2][0]', 'W[0][11]', 'W[0]', 'W[0][0][0]', 'W [0][0]', 'W[0][-0]', 'c[0]', 'w[0][0]'):
        r = run_arr('classify', bad + '=0,' + rest)
        ok(r.returncode == 2 and b'is not a parameter of arr' in r.stderr, (bad, r.returncode, r.stderr))


def main():
    return checks.run(stop_if_failed=(builds,))


if __name__ == '__main__':
    sys.exit(main())
