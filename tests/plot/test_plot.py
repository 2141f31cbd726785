#!/usr/bin/env python3
"""The analyzer's `plot surface|paths|convergence|slice` (runtime/plot.c), drawn by gnuplot.

    test_plot.py HESSGEN SOURCE_DIR CC HESSRT_LIB RUNTIME_DIR [CFLAGS...]

Every expected number is computed here, independently of the program: the loss, gradient,
Hessian and its eigenvalues by SymPy, gradient descent by a loop of this file, images decoded
by this file (PNG: chunks, CRCs, zlib, scanline filters; SVG: xml.etree). The checks:
  - each kind in .png and .svg: gnuplot runs, the image is a real, non-blank picture of the
    size the script asks for, and the kept script draws it again;
  - surface: the grid is the loss over the box, one saddle at the origin with its escape
    direction, degenerate points on both branches of the valley w1*w2 = 1, no min or max;
  - paths and convergence: the same runs as `newton --json` / `gd --json`, and gd's lowest
    eigenvalue that of the exact Hessian at gd's iterates;
  - slice: the loss and the second-order model along a parameter and along a direction;
  - determinism, gnuplot missing, refusals (status 2, nothing written), a failing gnuplot
    (an existing image untouched, no temporary file left), file modes, odd file names;
  - what plot.c promises beyond that: options a kind does not take are refused (--seed,
    --method pure), the legend of paths from several starts names the start, the script's
    header is the command that made it, and a file name cannot smuggle a gnuplot command.
"""
import json
import math
import os
import re
import stat
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib
from collections import Counter
from fractions import Fraction

import sympy as sp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import checks  # noqa: E402
from checks import check, ok  # noqa: E402

HESSGEN, SRC, CC, LIB, RUNTIME = sys.argv[1:6]
EXTRA = sys.argv[6:]
EXAMPLES = os.path.join(SRC, 'examples')
WORK = tempfile.TemporaryDirectory(prefix='hessgen_plot_')
EXE = {}  # model -> analyzer program
START = 'w1=0.1,w2=0.05'  # the lecture's start

# ---- the oracle: SymPy ----

W1, W2 = sp.symbols('w1 w2')
WEAKEST = (1 - W1 * W2) ** 2
X, Y = sp.symbols('x y')


def oracle(expr, syms):
    """loss, gradient, Hessian and the Hessian's lowest eigenvalue as Python functions of floats
    (SymPy derives them; lambdify with the math module evaluates them)."""
    grad = [sp.diff(expr, s) for s in syms]
    hess = sp.hessian(expr, syms)
    eig = list(hess.eigenvals())
    f = sp.lambdify(syms, expr, 'math')
    g = sp.lambdify(syms, grad, 'math')
    h = sp.lambdify(syms, hess.tolist(), 'math')
    e = [sp.lambdify(syms, ev, 'math') for ev in eig]
    return f, g, h, (lambda *p: min(ev(*p) for ev in e)), (expr, grad, hess)


LW, GW, HW, EIGW, SYMW = oracle(WEAKEST, (W1, W2))


# ---- building and running the analyzer ----

def build(hl, name):
    gen, exe = os.path.join(WORK.name, name + '.c'), os.path.join(WORK.name, name)
    r = subprocess.run([HESSGEN, hl, '--main', '-o', gen], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    r = subprocess.run([CC, *EXTRA, gen, '-I', RUNTIME, LIB, '-llapacke', '-lm', '-o', exe], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    EXE[name] = exe


def run(model, args, cwd, env=None, timeout=120):
    return subprocess.run([EXE[model], *args], capture_output=True, cwd=cwd, env=env, timeout=timeout)


def plot(model, args, cwd, expect=0):
    r = run(model, ['plot', *args], cwd)
    ok(r.returncode == expect, '%s plot %s: exit %d, expected %d\n%s' % (model, ' '.join(args), r.returncode, expect,
                                                                       r.stderr.decode()))
    return r


def js(model, args):
    r = run(model, [*args, '--json'], WORK.name)
    ok(r.returncode == 0, r.stderr.decode())
    return json.loads(r.stdout)


def fresh(name):
    d = os.path.join(WORK.name, name)
    os.makedirs(d)
    return d


def listing(d):
    return sorted(os.listdir(d))  # dot files too: the temporaries are .NAME.XXXXXX


# ---- data files: gnuplot's index blocks ----

def blocks(path):
    """The data file's index blocks (separated by two blank lines, as gnuplot counts them), each
    {'comments': [...], 'rows': [[token, ...]], 'groups': [[rows between single blank lines]]}."""
    out, cur, blank = [], None, 0
    for line in open(path).read().split('\n'):
        if not line.strip():
            blank += 1
            continue
        if cur is None or (blank >= 2 and cur['rows']):
            cur = {'comments': [], 'rows': [], 'groups': [[]]}
            out.append(cur)
        elif blank == 1 and cur['rows']:
            cur['groups'].append([])
        blank = 0
        if line.startswith('#'):
            cur['comments'].append(line)
        else:
            row = line.split()
            cur['rows'].append(row)
            cur['groups'][-1].append(row)
    return out


def num(rows, cols):
    return [[float(r[c]) for c in cols] for r in rows]


def close(a, b, rel, absolute=0.0):
    return abs(a - b) <= rel * abs(b) + absolute


# ---- images ----

def png_decode(data):
    """(width, height, Counter of pixel values) of a PNG decoded here: the signature, every
    chunk's CRC, IHDR, the IDAT stream inflated by zlib and each scanline's filter undone."""
    ok(data[:8] == b'\x89PNG\r\n\x1a\n', 'no PNG signature')
    pos, chunks = 8, []
    while pos + 12 <= len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
        ok(zlib.crc32(kind + body) == crc, 'bad CRC in chunk %r' % kind)
        chunks.append((kind, body))
        pos += 12 + length
        if kind == b'IEND':
            break
    ok(chunks and chunks[0][0] == b'IHDR' and chunks[-1][0] == b'IEND', [c[0] for c in chunks])
    w, h, depth, colour, _, _, interlace = struct.unpack('>IIBBBBB', chunks[0][1])
    ok(colour in (0, 2, 4, 6) and depth == 8 and interlace == 0, ('IHDR', w, h, depth, colour, interlace))
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    stride = w * bpp
    raw = zlib.decompress(b''.join(b for k, b in chunks if k == b'IDAT'))
    ok(len(raw) == h * (stride + 1), 'IDAT holds %d bytes for %dx%d' % (len(raw), w, h))
    prev, pixels = bytearray(stride), Counter()
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                line[i] = (line[i] + (((line[i - bpp] if i >= bpp else 0) + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a, b, c = (line[i - bpp], prev[i], prev[i - bpp]) if i >= bpp else (0, prev[i], 0)
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else:
            ok(f == 0, 'scanline %d has filter %d' % (y, f))
        b = bytes(line)
        pixels.update(b[i:i + bpp] for i in range(0, stride, bpp))
        prev = line
    return w, h, pixels


def png_encode(rows, filters):
    """A PNG (8-bit RGB) of rows of (r, g, b) with the given filter per scanline: for testing
    the decoder, so that its verdicts can be trusted."""
    w, h = len(rows[0]), len(rows)
    prev, raw = bytes(3 * w), bytearray()
    for row, f in zip(rows, filters):
        cur = bytes(v for px in row for v in px)
        out = bytearray([f])
        for i in range(len(cur)):
            a, b, c = (cur[i - 3], prev[i], prev[i - 3]) if i >= 3 else (0, prev[i], 0)
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = [0, a, b, (a + b) >> 1, a if pa <= pb and pa <= pc else b if pb <= pc else c][f]
            out.append((cur[i] - pred) & 255)
        raw += out
        prev = cur

    def chunk(kind, body):
        return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) +
            chunk(b'IDAT', zlib.compress(bytes(raw))) + chunk(b'IEND', b''))


def script_size(gp):
    m = re.search(r'^set terminal (\w+) size (\d+),(\d+)', open(gp).read(), re.M)
    ok(m, 'no terminal size in ' + gp)
    return m.group(1), int(m.group(2)), int(m.group(3))


def png_ok(path, gp):
    size = os.path.getsize(path)
    ok(size > 20000, '%s: only %d bytes' % (path, size))
    w, h, pixels = png_decode(open(path, 'rb').read())
    ok(200 <= w <= 5000 and 200 <= h <= 5000, (path, w, h))
    term, sw, sh = script_size(gp)
    ok(term == 'pngcairo' and (w, h) == (sw, sh), '%s is %dx%d, its script asks %s %dx%d' % (path, w, h, term, sw, sh))
    common = pixels.most_common(1)[0][1]
    ok(len(pixels) >= 200, '%s: only %d distinct pixel values: blank?' % (path, len(pixels)))
    ok(common < 0.99 * w * h, '%s: one colour covers %d of %d pixels' % (path, common, w * h))


SVG_NS = '{http://www.w3.org/2000/svg}'


def svg_ok(path, gp):
    size = os.path.getsize(path)
    ok(size > 15000, '%s: only %d bytes' % (path, size))
    root = ET.parse(path).getroot()
    ok(root.tag == SVG_NS + 'svg', root.tag)
    tags = Counter(e.tag[len(SVG_NS):] for e in root.iter() if e.tag.startswith(SVG_NS))
    drawing = sum(tags[t] for t in ('path', 'polygon', 'polyline', 'line', 'rect', 'circle', 'use', 'image'))
    ok(drawing >= 40 and tags['text'] >= 5, '%s: %s' % (path, dict(tags)))
    # the path data draws something: many coordinates in all
    coords = sum(len(re.findall(r'-?\d+(?:\.\d+)?', e.get('d', '') + e.get('points', ''))) for e in root.iter())
    ok(coords >= 200, '%s: %d coordinates in its paths' % (path, coords))
    term, sw, sh = script_size(gp)
    box = [float(v) for v in root.get('viewBox', '').split()]
    ok(term == 'svg' and box == [0, 0, sw, sh], '%s: viewBox %s, its script asks %s %dx%d' % (path, box, term, sw, sh))


# ---- the checks ----

@check
def builds():
    build(os.path.join(EXAMPLES, 'weakest.hl'), 'weakest')
    build(os.path.join(EXAMPLES, 'degenerate_plus.hl'), 'plus')
    build(os.path.join(EXAMPLES, 'degenerate_minus.hl'), 'minus')
    one = os.path.join(WORK.name, 'one.hl')
    with open(one, 'w') as f:
        f.write('# one parameter: a slice, never a surface\nmodel one;\nparam a = 0.5;\nloss (a - 1)^2 + a^4;\n')
    build(one, 'one')


@check
def the_png_decoder_sees_blank_and_busy_images():
    # the image checks below are only as good as this decoder: a known picture through every filter
    rows = [[((x * 7 + y * 13) & 255, (x * y) & 255, (x ^ y) & 255) for x in range(37)] for y in range(23)]
    w, h, px = png_decode(png_encode(rows, [y % 5 for y in range(23)]))
    ok((w, h) == (37, 23) and px == Counter(bytes(p) for row in rows for p in row), 'decoded pixels differ')
    w, h, px = png_decode(png_encode([[(255, 255, 255)] * 50] * 40, [4] * 40))
    ok(len(px) == 1, 'a blank image has one pixel value')
    bad = bytearray(png_encode(rows, [0] * 23))
    bad[40] ^= 1
    try:
        png_decode(bytes(bad))
        ok(False, 'a corrupted chunk passed')
    except (AssertionError, zlib.error):
        pass


KIND_ARGS = {
    'surface': ['--box', '-2:2', '--grid', '120', '--starts', '30'],
    'paths': ['--from', START, '--methods', 'pure,saddle-free,gd'],
    'convergence': ['--from', START],
    'slice': ['--along', '1,2', '--at', 'w1=0.3,w2=-0.5'],
}


def image_case(kind, ext):
    d = fresh('image_%s_%s' % (kind, ext))
    plot('weakest', [kind, '-o', 'pic.' + ext, *KIND_ARGS[kind], '--keep-script'], d)
    ok(listing(d) == ['pic.dat', 'pic.gp', 'pic.' + ext], listing(d))
    (png_ok if ext == 'png' else svg_ok)(os.path.join(d, 'pic.' + ext), os.path.join(d, 'pic.gp'))
    # `gnuplot NAME.gp` in that directory draws it again
    os.rename(os.path.join(d, 'pic.' + ext), os.path.join(d, 'first.' + ext))
    r = subprocess.run(['gnuplot', 'pic.gp'], cwd=d, capture_output=True, timeout=120)
    ok(r.returncode == 0 and os.path.exists(os.path.join(d, 'pic.' + ext)), r.stderr.decode())
    (png_ok if ext == 'png' else svg_ok)(os.path.join(d, 'pic.' + ext), os.path.join(d, 'pic.gp'))


for _kind in KIND_ARGS:
    for _ext in ('png', 'svg'):
        def _case(kind=_kind, ext=_ext):
            image_case(kind, ext)
        _case.__name__ = 'image_%s_%s' % (_kind, _ext)
        check(_case)


SURFACE = {}


@check
def surface_grid_is_the_loss_over_the_box():
    d = fresh('surface')
    r = plot('weakest', ['surface', '-o', 's.png', '--box', '-2:2', '--keep-script'], d)
    SURFACE['dir'], SURFACE['out'] = d, r.stdout.decode()
    b = blocks(os.path.join(d, 's.dat'))
    SURFACE['blocks'] = b
    ok(len(b) == 3, 'grid, critical points, escape arrows: %d blocks' % len(b))
    grid = b[0]
    ok(len(grid['groups']) == 200 and all(len(g) == 200 for g in grid['groups']), 'not 200 rows of 200')
    ok(all(len(r) == 3 for r in grid['rows']), 'x y loss rows')
    pts = num(grid['rows'], (0, 1, 2))
    xs = sorted({p[0] for p in pts})
    ys = sorted({p[1] for p in pts})
    ok(len(xs) == 200 and len(ys) == 200 and len({(p[0], p[1]) for p in pts}) == 40000, 'not a 200x200 grid')
    ok(xs[0] == -2 and xs[-1] == 2 and ys[0] == -2 and ys[-1] == 2, 'the grid does not span the box exactly')
    for vals in (xs, ys):
        ok(all(abs(v - (-2 + 4 * i / 199)) <= 1e-15 for i, v in enumerate(vals)), 'uneven grid spacing')
    ok(all(len({r[0] for r in g}) == 1 for g in grid['groups']), 'each group is one x')
    worst = 0
    for x, y, loss in pts:
        # exact (1 - x*y)^2 of the grid's doubles; the allowance beyond 1e-12 relative is the
        # rounding of 1 - fl(x*y) in double precision near the valley, 2 eps |x y| |1 - x y|
        xy = Fraction(x) * Fraction(y)
        exact = float((1 - xy) ** 2)
        tol = 1e-12 * exact + 1e-15 * abs(float(xy)) * math.sqrt(exact)
        ok(abs(loss - exact) <= tol, 'loss at (%r, %r) is %r, (1 - w1*w2)^2 = %r' % (x, y, loss, exact))
        ok(close(loss, LW(x, y), 1e-12, 1e-15), 'SymPy disagrees at (%r, %r)' % (x, y))
        if exact > 1e-6:
            worst = max(worst, abs(loss - exact) / exact)
    ok(worst <= 1e-12, worst)


@check
def surface_critical_points_and_escape():
    ok('blocks' in SURFACE, 'the surface run failed')
    b = SURFACE['blocks']
    cps = b[1]['rows']
    ok(all(len(r) == 5 for r in cps), cps)
    kinds = Counter(r[3] for r in cps)
    ok(kinds['min'] == 0 and kinds['max'] == 0,
       'the valley is degenerate (a zero eigenvalue), yet the plot shows %s' % dict(kinds))
    ok(set(kinds) <= {'saddle', 'degenerate'}, dict(kinds))
    saddles = [r for r in cps if r[3] == 'saddle']
    ok(len(saddles) == 1, 'saddles: %s' % saddles)
    sx, sy = float(saddles[0][0]), float(saddles[0][1])
    ok(abs(sx) <= 1e-8 and abs(sy) <= 1e-8, 'the saddle is at (%r, %r)' % (sx, sy))
    # SymPy: the origin is the only critical point off the valley, its Hessian's negative eigenvector
    crit = sp.solve(SYMW[1], (W1, W2), dict=True)
    off_valley = [c for c in crit if sp.simplify((W1 * W2 - 1).subs(c)) != 0]
    ok(off_valley == [{W1: 0, W2: 0}], crit)
    h0 = SYMW[2].subs({W1: 0, W2: 0})
    neg = [(val, vecs) for val, _, vecs in h0.eigenvects() if val < 0]
    ok(len(neg) == 1 and len(neg[0][1]) == 1, neg)
    e = neg[0][1][0] / neg[0][1][0].norm()
    ex, ey = float(e[0]), float(e[1])
    arrows = b[2]['rows']
    ok(len(arrows) == 1 and len(arrows[0]) == 4, arrows)
    ax, ay, dx, dy = map(float, arrows[0])
    ok(abs(ax - sx) <= 1e-15 and abs(ay - sy) <= 1e-15, 'the arrow starts at the saddle')
    sign = 1 if dx * ex + dy * ey > 0 else -1
    ok(abs(dx - sign * ex) <= 1e-8 and abs(dy - sign * ey) <= 1e-8,
       'escape (%r, %r), SymPy (%r, %r) up to sign' % (dx, dy, ex, ey))
    degenerate = [(float(r[0]), float(r[1]), float(r[2])) for r in cps if r[3] == 'degenerate']
    for x, y, loss in degenerate:
        ok(abs(x * y - 1) <= 1e-8 and -2 <= x <= 2 and -2 <= y <= 2, 'degenerate point (%r, %r)' % (x, y))
        ok(abs(loss - LW(x, y)) <= 1e-15, (x, y, loss))
        hx = HW(x, y)  # SymPy's Hessian there: singular, positive semidefinite
        det = hx[0][0] * hx[1][1] - hx[0][1] * hx[1][0]
        ok(abs(det) <= 1e-6 * (1 + hx[0][0] + hx[1][1]) and EIGW(x, y) > -1e-7, (x, y, hx))
    positive = sum(1 for x, _, _ in degenerate if x > 0)
    negative = sum(1 for x, _, _ in degenerate if x < 0)
    ok(positive == 1 and negative == 1,  # one entry per connected piece of critical points
       'degenerate points on the branch w1 > 0: %d, on w1 < 0: %d (both branches of w1*w2 = 1 are in the box)'
       % (positive, negative))
    # what the program says matches what it drew
    said = SURFACE['out']
    ok(re.search(r'\b1 saddles?\b', said) and re.search(r'\b%d degenerate points?\b' % len(degenerate), said)
       and not re.search(r'minim|maxim', said), said)
    ok('40000 loss evaluations' in said, said)


def run_of(method, start):
    if method == 'gd':
        return js('weakest', ['gd', '--from', start])
    return js('weakest', ['newton', '--method', method, '--from', start])


@check
def paths_are_the_runs_of_the_methods():
    d = fresh('paths')
    methods = ['pure', 'saddle-free', 'gd']
    plot('weakest', ['paths', '-o', 'p.svg', '--methods', ','.join(methods), '--from', START, '--keep-script'], d)
    b = blocks(os.path.join(d, 'p.dat'))
    ok(len(b) == 1 + len(methods), '%d blocks' % len(b))
    for k, method in enumerate(methods):
        blk = b[1 + k]
        ok(blk['comments'][0].startswith('# %s from start 1' % method), blk['comments'])
        rows = num(blk['rows'], range(5))
        ok(rows[0][1:3] == [0.1, 0.05], 'the first row is not the start: %s' % rows[0])
        r = run_of(method, START)
        ok(len(rows) == len(r['trace']) == r['iterations'] + 1, (method, len(rows), r['iterations']))
        x, y = rows[-1][1:3]
        ok(abs(x - r['theta'][0]) <= 1e-12 and abs(y - r['theta'][1]) <= 1e-12, (method, rows[-1], r['theta']))
        for row, t in zip(rows, r['trace']):
            ok(row[0] == t['iteration'] and row[3] == t['loss'] and row[4] == t['gradient_norm'], (method, row, t))
            # SymPy's loss and gradient there (absolute allowances: the rounding of 1 - w1*w2
            # near the valley, where both nearly vanish)
            ok(close(row[3], LW(row[1], row[2]), 1e-12, 1e-15), (method, row))
            ok(close(row[4], math.hypot(*GW(row[1], row[2])), 1e-9, 1e-14), (method, row))
        if method == 'pure':
            ok(abs(x) <= 1e-8 and abs(y) <= 1e-8, 'pure Newton did not end at the saddle: (%r, %r)' % (x, y))
        else:
            ok(abs(x * y - 1) < 1e-6, '%s did not end on the valley: (%r, %r)' % (method, x, y))
    gp = open(os.path.join(d, 'p.gp')).read()
    for k in range(1 + len(methods)):
        ok('datafile index %d ' % k in gp, 'the script does not draw block %d' % k)


@check
def paths_from_two_starts():
    d = fresh('paths2')
    starts = [START, 'w1=-1.5,w2=0.4']
    methods = ['pure', 'saddle-free', 'gd']
    plot('weakest', ['paths', '-o', 'p.png', '--from', starts[0], '--from', starts[1], '--keep-script'], d)
    b = blocks(os.path.join(d, 'p.dat'))
    ok(len(b) == 1 + len(methods) * len(starts), '%d blocks' % len(b))
    for f, start in enumerate(starts):
        want = [float(v.split('=')[1]) for v in start.split(',')]
        for k, method in enumerate(methods):  # the default methods: pure, saddle-free, gd
            blk = b[1 + f * len(methods) + k]
            ok(blk['comments'][0].startswith('# %s from start %d' % (method, f + 1)), blk['comments'])
            rows = num(blk['rows'], range(3))
            ok(all(abs(a - w) <= 1e-15 for a, w in zip(rows[0][1:], want)), (method, start, rows[0]))
            r = run_of(method, start)
            ok(len(rows) == len(r['trace']), (method, start))
            ok(all(abs(a - b_) <= 1e-12 for a, b_ in zip(rows[-1][1:], r['theta'])), (method, start, rows[-1], r))
    gp = open(os.path.join(d, 'p.gp')).read()
    ok('datafile index 6 ' in gp and 'datafile index 4 every ::0::0' in gp, 'the second start is not drawn')


@check
def paths_legend_tells_the_starts_apart():
    # two mirror-image starts: the same methods take the same number of iterations from both,
    # and the legend must still say which curve is which start
    d = fresh('paths_legend')
    plot('weakest', ['paths', '-o', 'p.png', '--from', 'w1=0.1,w2=0.05', '--from', 'w1=0.05,w2=0.1',
                     '--keep-script'], d)
    titles = re.findall(r'with linespoints [^\n]*? title "([^"]*)"', open(os.path.join(d, 'p.gp')).read())
    ok(len(titles) == 6, titles)
    dup = [t for t, c in Counter(titles).items() if c > 1]
    ok(not dup, 'the legend gives two paths the same title, with no word of their start: %s' % dup)


@check
def convergence_is_the_json_trace():
    d = fresh('convergence')
    methods = ['pure', 'saddle-free', 'gd']
    plot('weakest', ['convergence', '-o', 'c.png', '--from', START, '--methods', ','.join(methods),
                     '--keep-script'], d)
    b = blocks(os.path.join(d, 'c.dat'))
    ok(len(b) == len(methods), '%d blocks' % len(b))
    for k, method in enumerate(methods):
        rows = num(b[k]['rows'], range(5))
        ok(any(c.startswith('# %s: ' % method) for c in b[k]['comments']), b[k]['comments'])
        r = run_of(method, START)
        ok(len(rows) == len(r['trace']), (method, len(rows), len(r['trace'])))
        for row, t in zip(rows, r['trace']):
            ok(row[0] == t['iteration'] and row[1] == t['loss'] and row[2] == t['gradient_norm']
               and row[4] == t['step'], (method, row, t))
            if method != 'gd':
                ok(row[3] == t['min_eigenvalue'], (method, row, t))
        if method == 'gd':
            ok(all(t['min_eigenvalue'] is None for t in r['trace']), 'gd --json has no eigenvalues')
            GD['rows'] = rows


GD = {}


def implied_step(th, g, eig_tol=1e-9):
    """hessrt.h's implied-step measure |s| at th, on SymPy's Hessian (a 2x2 eigen-decomposition
    in closed form): s_k = max(|q_k| - rho, 0) / max(|lambda_k|, eig_tol max|lambda|)"""
    (a, b), (_, c) = HW(*th)
    mean, rad = (a + c) / 2, math.hypot((a - c) / 2, b)
    lams, q = (mean - rad, mean + rad), []
    for lam in lams:
        if b == 0:
            v = (1.0, 0.0) if lam == min(a, c) and a <= c or lam == max(a, c) and a > c else (0.0, 1.0)
        else:
            u, w = (b, lam - a), (lam - c, b)
            v = u if math.hypot(*u) >= math.hypot(*w) else w
        q.append((v[0] * g[0] + v[1] * g[1]) / math.hypot(*v))
    scale = max(abs(lams[0]), abs(lams[1]))
    rho = 8 * 2 * 2.0 ** -52 * scale * (1 + math.hypot(*th))
    s2 = sum(((abs(qk) - rho) / max(abs(lam), eig_tol * scale)) ** 2 for qk, lam in zip(q, lams) if abs(qk) > rho)
    return math.sqrt(s2)


def gd_iterates(start, step=0.1, gtol=1e-8, max_iter=10000):
    """gradient descent with a fixed step, stopped as hessrt.h documents it: once a step is at
    most gtol (1 + |theta|), and again each time the gradient has halved since, the implied-step
    test (on SymPy's gradient and Hessian)"""
    th, out, last, tested = list(start), [], None, math.inf
    for _ in range(max_iter + 1):
        g = GW(*th)
        out.append(tuple(th))
        tn, gn = math.hypot(*th), math.hypot(*g)
        if last is not None and last <= gtol * (1 + tn) and gn <= 0.5 * tested:
            tested = gn
            if implied_step(th, g) <= gtol * (1 + tn):
                break
        last = math.hypot(step * g[0], step * g[1])
        th = [th[0] - step * g[0], th[1] - step * g[1]]
    return out


@check
def convergence_gd_eigenvalues_are_the_exact_hessians():
    ok('rows' in GD, 'the convergence run failed')
    rows = GD['rows']
    # gd's iterates, twice: from `plot paths --methods gd` (the program's own run), and from
    # gradient descent computed here on SymPy's gradient
    d = fresh('gd_paths')
    plot('weakest', ['paths', '-o', 'g.png', '--methods', 'gd', '--from', START, '--keep-script'], d)
    drawn = num(blocks(os.path.join(d, 'g.dat'))[1]['rows'], (1, 2))
    mine = gd_iterates((0.1, 0.05))
    ok(len(drawn) == len(rows) == len(mine), (len(drawn), len(rows), len(mine)))
    for (x, y), (u, v) in zip(drawn, mine):
        ok(abs(x - u) <= 1e-10 and abs(y - v) <= 1e-10, 'gd iterate (%r, %r), computed here (%r, %r)' % (x, y, u, v))
    for row, (x, y), (u, v) in zip(rows, drawn, mine):
        lam = row[3]
        # the lowest eigenvalue of [[2 w2^2, 4 w1 w2 - 2], [4 w1 w2 - 2, 2 w1^2]], from SymPy
        ok(abs(lam - EIGW(x, y)) <= 1e-12 * (1 + abs(EIGW(x, y))), (row, EIGW(x, y)))
        ok(abs(lam - EIGW(u, v)) <= 1e-9, (row, EIGW(u, v)))
    ok(rows[0][3] < 0 < rows[-1][3] + 1e-9 and abs(rows[-1][3]) < 1e-6,
       'gd starts near the saddle (a negative eigenvalue) and ends on the valley (a zero one)')


def slice_rows(model, args, name):
    d = fresh(name)
    plot(model, ['slice', '-o', 'sl.png', *args, '--keep-script'], d)
    b = blocks(os.path.join(d, 'sl.dat'))
    ok(len(b) == 2 and len(b[1]['rows']) == 1, 'the curve and the point: %d blocks' % len(b))
    return b, num(b[0]['rows'], range(3)), num(b[1]['rows'], range(2))[0]


@check
def slice_sees_no_quartic():
    for model, sign in (('plus', 1), ('minus', -1)):
        expr = X ** 2 + sign * Y ** 4
        f, g, h, _, _ = oracle(expr, (X, Y))
        b, rows, point = slice_rows(model, ['--along', 'y', '--at', 'x=0,y=0'], 'slice_' + model)
        ok(len(rows) == 401 and rows[0][0] == -1 and rows[-1][0] == 1, (len(rows), rows[0], rows[-1]))
        l0, slope, curv = f(0, 0), g(0, 0)[1], h(0, 0)[1][1]  # SymPy: L, dL/dy and d2L/dy2 at 0
        for k, (s, loss, model_) in enumerate(rows):
            ok(abs(s - (-1 + 2 * k / 400)) <= 1e-15, (k, s))
            ok(close(loss, f(0, s), 1e-14, 1e-300), '%s: loss %r at y = %r, SymPy %r' % (model, loss, s, f(0, s)))
            ok(close(loss, sign * s ** 4, 1e-14, 1e-300), (model, s, loss))
            ok(model_ == l0 + slope * s + curv / 2 * s * s == 0, 'the model is %r at y = %r' % (model_, s))
        ok(point == [0, 0], point)


@check
def slice_along_a_direction_is_the_taylor_model():
    p = (0.3, -0.5)
    b, rows, point = slice_rows('weakest', ['--along', '1,2', '--at', 'w1=0.3,w2=-0.5'], 'slice_dir')
    expr, grad, hess = SYMW
    at = {W1: sp.Rational(3, 10), W2: sp.Rational(-1, 2)}
    dvec = sp.Matrix([1, 2]) / sp.sqrt(5)
    l0 = float(expr.subs(at))
    slope = float((sp.Matrix([gr.subs(at) for gr in grad]).T * dvec)[0])
    curv = float((dvec.T * hess.subs(at) * dvec)[0])
    ok(abs(slope) > 0.05 and abs(curv) > 0.5, 'a slice whose model is not trivial')
    head = b[0]['comments'][1]
    nums = [float(v) for v in re.findall(r'-?\d+\.?\d*(?:e-?\d+)?', head)]
    ok(len(nums) == 3 and close(nums[0], l0, 1e-14) and close(nums[1], slope, 1e-12) and close(nums[2], curv, 1e-12),
       (head, l0, slope, curv))
    dx, dy = 1 / math.sqrt(5), 2 / math.sqrt(5)
    ok(len(rows) == 401 and rows[0][0] == -1 and rows[-1][0] == 1, 'the offset t runs over -1..1')
    for t, loss, model_ in rows:
        want = l0 + slope * t + curv / 2 * t * t
        ok(close(model_, want, 1e-12, 1e-15), 'model %r at t = %r, SymPy %r' % (model_, t, want))
        ok(close(loss, LW(p[0] + t * dx, p[1] + t * dy), 1e-12, 1e-15), (t, loss))
    ok(point == [0, l0] or (point[0] == 0 and close(point[1], l0, 1e-14)), point)


@check
def slice_along_a_parameter_is_its_value():
    b, rows, point = slice_rows('weakest', ['--along', 'w1', '--at', 'w1=0.3,w2=-0.5', '--range', '-2:3',
                                            '--points', '101'], 'slice_param')
    at = {W1: sp.Rational(3, 10), W2: sp.Rational(-1, 2)}
    l0 = float(SYMW[0].subs(at))
    g1 = float(SYMW[1][0].subs(at))
    h11 = float(SYMW[2][0, 0].subs(at))
    ok(len(rows) == 101 and rows[0][0] == -2 and rows[-1][0] == 3, (len(rows), rows[0], rows[-1]))
    for k, (s, loss, model_) in enumerate(rows):
        ok(abs(s - (-2 + 5 * k / 100)) <= 1e-15, 'the x column is w1 itself: %r' % s)
        ok(close(loss, LW(s, -0.5), 1e-12, 1e-15), (s, loss, LW(s, -0.5)))
        t = s - 0.3
        ok(close(model_, l0 + g1 * t + h11 / 2 * t * t, 1e-12, 1e-14), (s, model_))
    ok(point[0] == 0.3 and close(point[1], l0, 1e-14), 'the point is drawn at w1 = 0.3: %s' % point)
    # a one-parameter model needs no --along
    b, rows, point = slice_rows('one', [], 'slice_one')
    a = sp.Symbol('a')
    f = sp.lambdify(a, (a - 1) ** 2 + a ** 4, 'math')
    ok(point[0] == 0.5 and rows[0][0] == -0.5 and rows[-1][0] == 1.5, (point, rows[0], rows[-1]))
    ok(all(close(loss, f(s), 1e-12, 1e-15) for s, loss, _ in rows), 'one: the loss')


@check
def same_command_same_bytes():
    commands = [['surface', '-o', 's.png', '--box', '-2:2', '--keep-script'],
                ['paths', '-o', 'p.svg', '--from', START, '--from', 'w1=-1.5,w2=0.4', '--keep-script'],
                ['convergence', '-o', 'c.png', '--from', START, '--keep-script'],
                ['slice', '-o', 'l.svg', '--along', '1,2', '--at', 'w1=0.3,w2=-0.5', '--keep-script']]
    one, two = fresh('det1'), fresh('det2')
    for cmd in commands:
        for d in (one, two):
            plot('weakest', cmd, d)
        stem = cmd[2][:-4]
        for ext in ('.dat', '.gp'):
            a = open(os.path.join(one, stem + ext), 'rb').read()
            b = open(os.path.join(two, stem + ext), 'rb').read()
            ok(a == b and len(a) > 100, '%s%s differs between two runs of %s' % (stem, ext, cmd))


@check
def gnuplot_missing():
    d, empty = fresh('nognuplot'), fresh('empty_path')
    env = dict(os.environ, PATH=empty)
    r = run('weakest', ['plot', 'slice', '-o', 'x.png', '--along', 'w1'], d, env=env)
    err = r.stderr.decode()
    ok(r.returncode == 1, 'exit %d' % r.returncode)
    ok('gnuplot' in err and 'not on the PATH' in err and 'apt-get install gnuplot-nox' in err, err)
    ok(listing(d) == [], 'files left: %s' % listing(d))
    ok(r.stdout == b'', r.stdout)
    # with --keep-script the data and script are written (plot.c's choice), still no image,
    # and `gnuplot x.gp` there draws it later
    r = run('weakest', ['plot', 'surface', '-o', 'x.svg', '--grid', '30', '--keep-script'], d, env=env)
    err = r.stderr.decode()
    ok(r.returncode == 1 and 'gnuplot-nox' in err and 'the data and script are written' in err, err)
    ok(listing(d) == ['x.dat', 'x.gp'], listing(d))
    r = subprocess.run(['gnuplot', 'x.gp'], cwd=d, capture_output=True, timeout=60)
    ok(r.returncode == 0, r.stderr.decode())
    svg_ok(os.path.join(d, 'x.svg'), os.path.join(d, 'x.gp'))


REFUSALS = [
    (['surface', '-o', 'r.png', '--box', '2:1'], '--box takes'),
    (['surface', '-o', 'r.png', '--box', 'a:b'], '--box takes'),
    (['surface', '-o', 'r.png', '--box', '1:inf'], '--box takes'),
    (['surface', '-o', 'r.png', '--box', '1:2,3'], '--box takes'),
    (['surface', '-o', 'r.png', '--box', '1:nan'], '--box takes'),
    (['paths', '-o', 'r.png', '--box', '1:1'], '--box takes'),
    (['slice', '-o', 'r.png', '--along', '0,0'], "the direction '0,0' has length zero"),
    (['slice', '-o', 'r.png', '--along', 'w1=0'], "the direction 'w1=0' has length zero"),
    (['slice', '-o', 'r.png', '--along', 'gradient', '--at', 'w1=0,w2=0'], 'it is a critical point'),
    (['surface', '-o', 'r.png', '--x', 'gradient', '--y', 'w2', '--at', 'w1=1,w2=1'], 'it is a critical point'),
    (['surface', '-o', 'r.png', '--x', 'w1', '--y', 'w1'], 'are parallel'),
    (['surface', '-o', 'r.png', '--x', '1,1', '--y', 'w1=-2,w2=-2'], 'are parallel'),
    (['paths', '-o', 'r.png', '--x', 'escape', '--y', '1,1', '--at', 'w1=0,w2=0'], 'are parallel'),
    (['surface', '-o', 'r.png', '--x', 'w1'], '--x and --y go together'),
    (['surface', '-o', 'r.png', '--x', 'w3', '--y', 'w1'], "'w3' is not a parameter"),
    (['surface', '-o', 'r.png', '--x', 'escape', '--y', 'w1', '--at', 'w1=1,w2=1'], 'no negative eigenvalue'),
    (['surface', '-o', 'r.jpg'], 'ending in .png or .svg'),
    (['slice', '-o', 'r', '--along', 'w1'], 'ending in .png or .svg'),
    (['slice', '-o', 'r.png.txt', '--along', 'w1'], 'ending in .png or .svg'),
    (['slice', '-o', 'dir.png/r', '--along', 'w1'], 'ending in .png or .svg'),
    (['slice', '--along', 'w1'], '-o FILE.png or -o FILE.svg is required'),
    (['slice', '-o', 'r.png', '--along', 'w1', '--grid', '10'], '--grid is not an option of plot slice'),
    (['slice', '-o', 'r.png', '--along', 'w1', '--box', '-1:1'], '--box is not an option of plot slice'),
    (['convergence', '-o', 'r.png', '--box', '-1:1'], '--box is not an option of plot convergence'),
    (['convergence', '-o', 'r.png', '--from', '0,0', '--from', '1,1'], 'one start point'),
    (['surface', '-o', 'r.png', '--methods', 'pure'], '--methods is not an option of plot surface'),
    (['surface', '-o', 'r.png', '--along', 'w1'], '--along is not an option of plot surface'),
    (['paths', '-o', 'r.png', '--starts', '5'], '--starts is not an option of plot paths'),
    (['paths', '-o', 'r.png', '--method', 'damped'], '--method is not an option of plot paths'),
    (['paths', '-o', 'r.png', '--methods', 'pure,newton'], "'newton' is not a method"),
    (['paths', '-o', 'r.png', '--methods', 'gd,gd'], 'named twice'),
    (['surface', '-o', 'r.png', '--grid', '1'], '--grid takes'),
    (['surface', '-o', 'r.png', '--frobnicate', '1'], "unknown argument '--frobnicate'"),
    (['frobnicate', '-o', 'r.png'], "unknown kind 'frobnicate'"),
]


@check
def refusals_write_nothing():
    d = fresh('refusals')
    for args, text in REFUSALS:
        r = run('weakest', ['plot', *args], d)
        err = r.stderr.decode()
        ok(r.returncode == 2 and text in err and r.stdout == b'',
           'plot %s: exit %d, %r' % (' '.join(args), r.returncode, err))
        ok(listing(d) == [], 'plot %s left %s' % (' '.join(args), listing(d)))
    for kind in ('surface', 'paths'):
        r = run('one', ['plot', kind, '-o', 'r.png'], d)
        err = r.stderr.decode()
        ok(r.returncode == 2 and 'the model has 1 parameter; a surface needs two' in err, (kind, err))
    r = run('plus', ['plot', 'slice', '-o', 'r.png'], d)
    ok(r.returncode == 2 and '--along AXIS is required' in r.stderr.decode(), r.stderr)
    r = run('plus', ['plot', 'slice', '-o', 'r.png', '--along', 'x=0'], d)
    ok(r.returncode == 2 and "the direction 'x=0' has length zero" in r.stderr.decode(), r.stderr)
    ok(listing(d) == [], listing(d))


@check
def options_a_kind_ignores_are_refused():
    # plot.c: "Options a kind does not take are refused rather than ignored." --seed only means
    # something to surface (its critical-point search) and --method only to surface too
    d, ignored = fresh('ignored'), []
    for args, text in ((['slice', '-o', 'r.png', '--along', 'w1', '--seed', '3'], '--seed is not an option of plot slice'),
                       (['paths', '-o', 'r.png', '--seed', '3'], '--seed is not an option of plot paths'),
                       (['convergence', '-o', 'r.png', '--seed', '3'], '--seed is not an option of plot convergence'),
                       (['paths', '-o', 'r.png', '--method', 'pure'], '--method is not an option of plot paths'),
                       (['convergence', '-o', 'r.png', '--method', 'pure'],
                        '--method is not an option of plot convergence'),
                       (['slice', '-o', 'r.png', '--along', 'w1', '--method', 'pure'],
                        '--method is not an option of plot slice')):
        r = run('weakest', ['plot', *args], d)
        if not (r.returncode == 2 and text in r.stderr.decode() and listing(d) == []):
            ignored.append('plot %s: exit %d, wrote %s' % (' '.join(args), r.returncode, listing(d)))
        for f in listing(d):
            os.unlink(os.path.join(d, f))
    ok(not ignored, 'options ignored instead of refused:\n  ' + '\n  '.join(ignored))


FAKE = '''#!%s
import re, sys
log = %r
with open(log, 'a') as f:
    f.write(repr(sys.argv[1:]) + '\\n')
m = re.search(r"outfile = '((?:[^']|'')*)'", sys.argv[2])
if %r is not None:
    with open(m.group(1).replace("''", "'"), 'wb') as f:
        f.write(%r)
sys.stderr.write('fake gnuplot: line 7: it went wrong\\n')
sys.exit(%d)
'''


def fake_gnuplot(name, content, status):
    bindir = fresh('fake_' + name)
    log = os.path.join(bindir, 'calls')
    path = os.path.join(bindir, 'gnuplot')
    with open(path, 'w') as f:
        f.write(FAKE % (sys.executable, log, content, content, status))
    os.chmod(path, 0o755)
    return dict(os.environ, PATH=bindir + os.pathsep + os.environ.get('PATH', '')), log


@check
def a_failing_gnuplot_leaves_the_old_image():
    cases = [('garbage_exit1', b'\x89PNG\r\n\x1a\ngarbage' * 100, 1, 'exit status 1'),
             ('text_exit0', b'this is not an image\n' * 100, 0, 'what it wrote is not a whole %s image'),
             ('png_cut_short_exit0', b'\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR' * 100, 0,
              'what it wrote is not a whole %s image'),
             ('nothing_exit0', None, 0, 'what it wrote is not a whole %s image')]
    for name, content, status, why in cases:
        env, log = fake_gnuplot(name, content, status)
        for ext in ('png', 'svg'):
            d = fresh('atomic_%s_%s' % (name, ext))
            old = {'a.' + ext: b'the old image, kept byte for byte\x00\xff' * 50,
                   'a.dat': b'old data\n', 'a.gp': b'# old script\n'}
            for f, data in old.items():
                with open(os.path.join(d, f), 'wb') as fh:
                    fh.write(data)
            calls = len(open(log).read().splitlines()) if os.path.exists(log) else 0
            r = run('weakest', ['plot', 'slice', '-o', 'a.' + ext, '--along', 'w1', '--keep-script'], d, env=env)
            err = r.stderr.decode()
            ok(len(open(log).read().splitlines()) == calls + 1, 'the fake gnuplot did not run')
            ok(r.returncode == 1, '%s: exit %d' % (name, r.returncode))
            ok('gnuplot failed (%s) and no image was written' % (why % ext.upper() if '%s' in why else why) in err, err)
            ok('fake gnuplot: line 7: it went wrong' in err, "gnuplot's own message is not shown: " + err)
            ok(listing(d) == sorted(old), '%s: %s' % (name, listing(d)))
            for f, data in old.items():
                ok(open(os.path.join(d, f), 'rb').read() == data, '%s: %s changed' % (name, f))
    # and a gnuplot that works, through the same PATH lookup: the image replaces the old one
    d = fresh('atomic_ok')
    with open(os.path.join(d, 'a.png'), 'wb') as fh:
        fh.write(b'old')
    plot('weakest', ['slice', '-o', 'a.png', '--along', 'w1'], d)
    ok(listing(d) == ['a.png'] and open(os.path.join(d, 'a.png'), 'rb').read()[:8] == b'\x89PNG\r\n\x1a\n', listing(d))


@check
def files_are_made_as_any_new_file():
    d = fresh('modes')
    old = os.umask(0o027)
    try:
        plot('weakest', ['slice', '-o', 'm.png', '--along', 'w1', '--keep-script'], d)
    finally:
        os.umask(old)
    for f in ('m.png', 'm.dat', 'm.gp'):
        mode = stat.S_IMODE(os.stat(os.path.join(d, f)).st_mode)
        ok(mode == 0o640, '%s has mode %o under umask 027' % (f, mode))


@check
def odd_directory_and_file_names():
    d = fresh("it's a dir")
    r = plot('weakest', ['slice', '-o', os.path.join(d, "Jo's plot.svg"), '--along', '1,2', '--keep-script'],
             WORK.name)
    ok(listing(d) == ["Jo's plot.dat", "Jo's plot.gp", "Jo's plot.svg"], listing(d))
    svg_ok(os.path.join(d, "Jo's plot.svg"), os.path.join(d, "Jo's plot.gp"))
    ok(b'wrote ' in r.stdout, r.stdout)
    # the output's directory does not exist: a message, status 1, nothing anywhere
    r = run('weakest', ['plot', 'slice', '-o', os.path.join(d, 'no', 'x.png'), '--along', 'w1'], WORK.name)
    ok(r.returncode == 1 and b"cannot write in the directory of '" + os.path.join(d, 'no', 'x.png').encode() in r.stderr,
       r.stderr)


@check
def script_header_records_the_command():
    # the script's "made by" line is the command that made it: in full, or cut short at the end,
    # never with an argument left out of the middle
    d = fresh('header')
    for args in (['slice', '-o', 'a.png', '--along', '1,2', '--points', '11', '--keep-script'],
                 ['slice', '-o', 'a.png', '--along', 'w1=1.' + '0' * 1100 + '1', '--points', '11', '--keep-script']):
        plot('weakest', args, d)
        line = [ln for ln in open(os.path.join(d, 'a.gp')).read().split('\n') if ln.startswith('# made by: ')]
        ok(len(line) == 1, 'no "# made by:" line')
        said = line[0][len('# made by: '):].rstrip('. ')
        full = 'weakest plot ' + ' '.join(args)
        ok(said == full or (full.startswith(said) and len(said) > 20),
           'the script says it was made by %r; the command was %r' % (said[:200], full[:200]))


@check
def a_file_name_cannot_run_gnuplot_commands():
    # the command line is copied into the script's header comment; a newline in the output's
    # name must not end that comment and make the rest of the name a gnuplot command
    d = fresh('injection')
    name = 'x\nsystem("touch INJECTED")\n.png'
    r = run('weakest', ['plot', 'slice', '-o', name, '--along', 'w1'], d)
    ok(not os.path.exists(os.path.join(d, 'INJECTED')),
       'gnuplot ran a command taken from the output file name (exit %d): %r' % (r.returncode, r.stderr.decode()))
    ok(r.returncode in (0, 2), 'exit %d: %r' % (r.returncode, r.stderr.decode()))
    ok(all(f in (name, 'INJECTED') for f in listing(d)), listing(d))


@check
def an_interrupted_plot_leaves_nothing():
    # a gnuplot that takes its time: the data, script and image's temporaries exist while it
    # runs; SIGINT to the process group (as a terminal's Ctrl-C) must remove them all
    import signal
    import time
    bindir = fresh('slow_gnuplot')
    with open(os.path.join(bindir, 'gnuplot'), 'w') as f:
        f.write('#!/bin/sh\nexec sleep 60\n')
    os.chmod(os.path.join(bindir, 'gnuplot'), 0o755)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get('PATH', ''))
    for sig in (signal.SIGINT, signal.SIGTERM):
        d = fresh('interrupted_%d' % sig)
        with open(os.path.join(d, 'a.png'), 'wb') as fh:
            fh.write(b'the old image')
        p = subprocess.Popen([EXE['weakest'], 'plot', 'slice', '--along', 'w1', '-o', 'a.png', '--keep-script'], cwd=d,
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 60
        while len(listing(d)) < 4 and time.time() < deadline:  # a.png and three temporaries
            time.sleep(0.02)
        ok(len(listing(d)) == 4, 'the temporaries did not appear: %s' % listing(d))
        os.killpg(p.pid, sig)
        p.wait(timeout=60)
        ok(p.returncode == -sig, 'exit %s after signal %d' % (p.returncode, sig))
        ok(listing(d) == ['a.png'], 'after signal %d: %s' % (sig, listing(d)))
        ok(open(os.path.join(d, 'a.png'), 'rb').read() == b'the old image', 'the old image changed')


@check
def keep_script_that_cannot_be_placed_leaves_the_old_image():
    d = fresh('keep_blocked')
    os.makedirs(os.path.join(d, 'k.dat'))  # the data file's name is taken by a directory
    with open(os.path.join(d, 'k.png'), 'wb') as fh:
        fh.write(b'the old image')
    r = run('weakest', ['plot', 'slice', '--along', 'w1', '--keep-script', '-o', 'k.png'], d)
    ok(r.returncode == 1 and b"cannot write 'k.dat'" in r.stderr, r.stderr)
    ok(listing(d) == ['k.dat', 'k.png'], listing(d))
    ok(open(os.path.join(d, 'k.png'), 'rb').read() == b'the old image', 'the old image was replaced')


@check
def runs_that_cannot_start_keep_their_blocks():
    # sqrt(w1) is not finite for w1 < 0: start 1 cannot start, start 2 can
    hl = os.path.join(WORK.name, 'root.hl')
    with open(hl, 'w') as f:
        f.write('model root;\nparam w1 = 1, w2 = 1;\nloss w2^2 * sqrt(w1) + (w1 - 2)^2;\n')
    build(hl, 'root')
    d = fresh('cannot_start')
    r = plot('root', ['paths', '--from', 'w1=-1,w2=1', '--from', 'w1=0.5,w2=0.5', '--methods', 'gd,pure',
                      '--keep-script', '-o', 'm.png'], d)
    b = blocks(os.path.join(d, 'm.dat'))
    ok(len(b) == 5, 'grid and 4 runs expected, %d blocks' % len(b))
    for k, start in ((1, (-1, 1)), (2, (-1, 1)), (3, (0.5, 0.5)), (4, (0.5, 0.5))):
        first = [float(v) for v in b[k]['rows'][0][1:3]]
        ok(first == list(start), 'block %d starts at %s' % (k, first))
    gp = open(os.path.join(d, 'm.gp')).read()
    ok(gp.count('not finite at the start') == 2 and '-1 iterations' not in gp, gp)
    r = run('root', ['plot', 'convergence', '--from', 'w1=-1,w2=1', '-o', 'c.png'], d)
    ok(r.returncode == 1 and b'not finite at the start' in r.stderr and not os.path.exists(os.path.join(d, 'c.png')),
       r.stderr)


@check
def no_escape_where_the_lowest_eigenvalue_is_rounding():
    # on the valley w1*w2 = 1 the Hessian's lowest eigenvalue is 0; in doubles it may come out
    # as -3e-17: classify counts that as zero, and so must the escape axis
    d = fresh('no_escape')
    r = run('weakest', ['plot', 'slice', '--along', 'escape', '--at', 'w1=3,w2=0.3333333333333333', '-o', 'e.png'], d)
    ok(r.returncode == 2 and b'no negative eigenvalue' in r.stderr and listing(d) == [], r.stderr)
    c = js('weakest', ['classify', 'w1=3,w2=0.3333333333333333'])
    ok(c['inertia']['negative'] == 0, c)


@check
def ranges_beyond_double_precision_are_refused():
    d = fresh('ranges')
    for args, what in ((['surface', '--at', 'w1=1e17,w2=0', '--starts', '0'], b'too narrow'),
                       (['surface', '--box', '-1e308:1e308'], b'too wide'),
                       (['slice', '--along', 'w1', '--range', '-1e308:1e308'], b'too wide'),
                       (['paths', '--from', 'w1=1e300,w2=1e300', '--methods', 'gd'], b'too narrow')):
        r = run('weakest', ['plot', *args, '-o', 'x.png'], d)
        ok(r.returncode == 2 and what in r.stderr and listing(d) == [], (args, r.stderr))
    # huge and tiny directions have a length
    for direction in ('1e200,1e200', '1e-300,1e-300'):
        plot('weakest', ['slice', '--along', direction, '-o', 'x.png', '--keep-script'], d)
        rows = blocks(os.path.join(d, 'x.dat'))[0]['rows']
        mid = rows[len(rows) // 2]
        ok(abs(float(mid[0])) < 1e-12 and abs(float(mid[1]) - 1) < 1e-12, mid)
        # along (1,1)/sqrt2 the loss is (1 - t^2/2)^2
        for row in rows[::50]:
            t = float(row[0])
            ok(abs(float(row[1]) - (1 - t * t / 2) ** 2) < 1e-12, row)


def main():
    return checks.run(stop_if_failed=(builds,))


if __name__ == '__main__':
    sys.exit(main())
