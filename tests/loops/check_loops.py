#!/usr/bin/env python3
"""check_loops.py: array loops (--loops=always) against the unrolled code (--loops=never).

    check_loops.py HESSGEN CC FILE.hl [FILE.hl ...] [--min-loops K]

For each file, hessgen writes the C twice: with every sum over array indices kept as a loop
(--loops=always: the graph of sema's array mode, adiff.c's scatters, aemit.c's loop nests) and
fully unrolled, the code every other test checks against SymPy. Both are compiled as shared
objects (the unrolled one at -O0, since gcc -O1 takes minutes on its megabytes) and loaded with ctypes; at three random points (and, for a loss over data, random data
sets of 1, 7 and 40 rows, values in the file's `# data: NAME LO:HI` or `{a, b}` ranges, else
-1:1) their loss, gradient, Hessian-vector product, dense Hessian (with and without the
gradient), sparse Hessian and values-only Hessian must agree to 1e-12 relative (normwise, the
rule of tests/oracle/check_derivatives.py; NaN where the other is NaN). The sparse outputs are
compared entry by entry through each file's own pattern. A file whose sums cannot stay loops
gives the same C both ways (checked, and nothing more to compare); at least K files (default 1)
must have used loops.
"""
import ctypes
import math
import os
import random
import re
import subprocess
import sys
import tempfile

HESSGEN, CC = 'hessgen', 'cc'  # set by main() (bench/mlp/eval.py imports this file)


class Model(ctypes.Structure):
    _fields_ = [('version', ctypes.c_int), ('name', ctypes.c_char_p), ('nparam', ctypes.c_int),
                ('hess_nnz', ctypes.c_int), ('hess_rows', ctypes.POINTER(ctypes.c_int)),
                ('hess_cols', ctypes.POINTER(ctypes.c_int)), ('nparam_arrays', ctypes.c_int),
                ('param_arrays', ctypes.c_void_p), ('name_max', ctypes.c_int), ('param_name', ctypes.c_void_p),
                ('start', ctypes.c_void_p),
                ('loss', ctypes.c_void_p), ('grad', ctypes.c_void_p), ('hess', ctypes.c_void_p),
                ('hvp', ctypes.c_void_p), ('hess_sparse', ctypes.c_void_p), ('hess_values', ctypes.c_void_p),
                ('ndata', ctypes.c_int), ('data_names', ctypes.POINTER(ctypes.c_char_p)),
                ('data_width', ctypes.POINTER(ctypes.c_int)), ('data_size', ctypes.POINTER(ctypes.c_int)),
                ('nsizes', ctypes.c_int), ('size_names', ctypes.POINTER(ctypes.c_char_p)),
                ('size_needed', ctypes.POINTER(ctypes.c_int)), ('data_bytes', ctypes.c_size_t),
                ('data_bind', ctypes.c_void_p), ('data_check', ctypes.c_void_p), ('data_error', ctypes.c_void_p),
                ('fault_text', ctypes.c_void_p)]


D = ctypes.POINTER(ctypes.c_double)


def build(hl, mode, work):
    c, so = os.path.join(work, mode + '.c'), os.path.join(work, mode + '.so')
    subprocess.run([HESSGEN, hl, '-o', c, '--prefix', 'M', '--loops=' + mode], check=True, capture_output=True)
    # the unrolled reference at -O0: gcc -O1 takes minutes on its megabytes (a 4-layer MLP: 6.5 MB)
    opt = '-O1' if mode == 'always' else '-O0'
    subprocess.run([CC, '-std=c99', opt, '-shared', '-fPIC', c, '-o', so, '-lm'], check=True, capture_output=True)
    text = open(c).read()
    lib = ctypes.CDLL(so)
    m = Model.in_dll(lib, 'M_model')
    return lib, m, text


def ranges(hl):
    out = {}
    for line in open(hl):
        mm = re.match(r'#\s*data:\s*(\w+)\s+(.*)', line)
        if not mm:
            continue
        spec = mm.group(2).strip()
        if spec.startswith('{'):
            out[mm.group(1)] = [float(x) for x in spec.strip('{}').split(',')]
        else:
            lo, hi = spec.split(':')
            out[mm.group(1)] = (float(lo), float(hi))
    return out


def draw(rng, spec):
    if isinstance(spec, list):
        return rng.choice(spec)
    return rng.uniform(*spec)


def bind(lib, m, rows, rng, spec):
    """A data struct of m with `rows` rows for every count; returns (buffer, keepalive)."""
    if m.ndata == 0:
        return None, []
    counts = (ctypes.c_size_t * max(m.nsizes, 1))(*([rows] * m.nsizes))
    keep, ptrs = [], []
    for a in range(m.ndata):
        name = m.data_names[a].decode()
        n = m.data_width[a] * (rows if m.data_size[a] >= 0 else 1)
        buf = (ctypes.c_double * max(n, 1))(*[draw(rng, spec.get(name, (-1.0, 1.0))) for _ in range(n)])
        keep.append(buf)
        ptrs.append(ctypes.cast(buf, D))
    arrays = (D * m.ndata)(*ptrs)
    data = ctypes.create_string_buffer(m.data_bytes)
    bind_fn = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(D))(m.data_bind)
    code = bind_fn(data, counts, arrays)
    keep += [counts, arrays]
    return (data if code == 0 else None), keep


def evaluate(m, theta, v, data):
    n = m.nparam
    T = ctypes.c_double * n
    th, vv = T(*theta), T(*v)
    loss = ctypes.CFUNCTYPE(ctypes.c_double, D, ctypes.c_void_p)(m.loss)
    grad = ctypes.CFUNCTYPE(ctypes.c_double, D, ctypes.c_void_p, D)(m.grad)
    hess = ctypes.CFUNCTYPE(ctypes.c_double, D, ctypes.c_void_p, D, D)(m.hess)
    hvp = ctypes.CFUNCTYPE(None, D, ctypes.c_void_p, D, D)(m.hvp)
    sparse = ctypes.CFUNCTYPE(ctypes.c_double, D, ctypes.c_void_p, D, D)(m.hess_sparse)
    values = ctypes.CFUNCTYPE(None, D, ctypes.c_void_p, D)(m.hess_values)
    out = {'loss': [loss(th, data)]}
    g = T()
    out['loss_grad'] = [grad(th, data, g)]
    out['grad'] = list(g)
    hv = T()
    hvp(th, data, vv, hv)
    out['hvp'] = list(hv)
    H = (ctypes.c_double * (n * n))()
    g2 = T()
    out['loss_hess'] = [hess(th, data, g2, H)]
    out['hess'] = list(H)
    out['grad_hess'] = list(g2)
    H2 = (ctypes.c_double * (n * n))()
    hess(th, data, None, H2)
    out['hess_nograd'] = list(H2)
    nnz = m.hess_nnz
    S = (ctypes.c_double * max(nnz, 1))()
    g3 = T()
    out['loss_sparse'] = [sparse(th, data, g3, S)]
    out['grad_sparse'] = list(g3)
    if m.hess_rows:
        pattern = [(m.hess_rows[t], m.hess_cols[t]) for t in range(nnz)]
    else:  # NULL: all of the lower triangle, row-major
        pattern = [(r, c) for r in range(n) for c in range(r + 1)]
        if len(pattern) != nnz:
            raise AssertionError('a dense pattern of %d entries for %d parameters' % (nnz, n))
    lower = {pattern[t]: S[t] for t in range(nnz)}
    S2 = (ctypes.c_double * max(nnz, 1))()
    values(th, data, S2)
    lower2 = {pattern[t]: S2[t] for t in range(nnz)}
    # the sparse Hessian as a dense lower triangle (0 outside the pattern)
    out['sparse'] = [lower.get((r, c), 0.0) for r in range(n) for c in range(r + 1)]
    out['values'] = [lower2.get((r, c), 0.0) for r in range(n) for c in range(r + 1)]
    return out


def close(a, b, tol=1e-12):
    """Normwise: |a - b| <= tol * max(|a|, |b|, 1e-300) over the vector; NaN where the other is."""
    fin = [(x, y) for x, y in zip(a, b) if not (math.isnan(x) and math.isnan(y))]
    if any(math.isnan(x) != math.isnan(y) for x, y in zip(a, b)):
        return False
    if any(math.isinf(x) or math.isinf(y) for x, y in fin):
        return all(x == y for x, y in fin)
    scale = max([abs(x) for x, _ in fin] + [abs(y) for _, y in fin] + [1e-300])
    return all(abs(x - y) <= tol * scale for x, y in fin)


def check(hl):
    """(used loops, list of failures)"""
    fails = []
    with tempfile.TemporaryDirectory() as work:
        # a file whose sums cannot stay loops is the same C both ways: nothing to compare
        texts = []
        for mode in ('always', 'never'):
            r = subprocess.run([HESSGEN, hl, '--prefix', 'M', '--loops=' + mode], capture_output=True, check=True)
            texts.append(r.stdout)
        if texts[0] == texts[1]:
            return False, []
        la, ma, text = build(hl, 'always', work)
        lu, mu, _ = build(hl, 'never', work)
        looped = 'array loops' in text
        rng = random.Random(os.path.basename(hl))
        spec = ranges(hl)
        n = ma.nparam
        for rows in ([1, 7, 40] if ma.ndata else [0]):
            for p in range(3 if rows != 40 else 1):
                theta = [draw(rng, spec.get('theta', (-1.0, 1.0))) for _ in range(n)]
                v = [rng.uniform(-1, 1) for _ in range(n)]
                seed = rng.random()
                da, keep_a = bind(la, ma, rows, random.Random(seed), spec)
                du, keep_u = bind(lu, mu, rows, random.Random(seed), spec)
                if ma.ndata and (da is None) != (du is None):
                    fails.append('%d rows: the data binds in one build only' % rows)
                    continue
                if ma.ndata and da is None:
                    continue
                oa, ou = evaluate(ma, theta, v, da), evaluate(mu, theta, v, du)
                for key in oa:
                    if not close(oa[key], ou[key]):
                        worst = max(range(len(oa[key])), key=lambda i: abs(oa[key][i] - ou[key][i])
                                    if not (math.isnan(oa[key][i]) or math.isnan(ou[key][i])) else 0)
                        fails.append('%d rows, point %d: %s differs (entry %d: loops %r, unrolled %r)'
                                     % (rows, p, key, worst, oa[key][worst], ou[key][worst]))
    return looped, fails


def main():
    global HESSGEN, CC
    args = sys.argv[1:]
    min_loops = 1
    if '--min-loops' in args:
        i = args.index('--min-loops')
        min_loops = int(args[i + 1])
        del args[i:i + 2]
    HESSGEN, CC, FILES = args[0], args[1], args[2:]
    nloops = failed = 0
    for hl in FILES:
        try:
            looped, fails = check(hl)
        except subprocess.CalledProcessError as e:
            looped, fails = False, ['%s: exit %d\n%s' % (' '.join(e.cmd), e.returncode,
                                                         (e.stderr or b'').decode(errors='replace'))]
        nloops += looped
        for f in fails[:5]:
            print('FAIL %s: %s' % (hl, f))
        failed += bool(fails)
        print('%-4s %s%s' % ('ok' if not fails else 'FAIL', hl, ' (loops)' if looped else ''))
    print('%d files with loops, %d unrolled both ways' % (nloops, len(FILES) - nloops))
    if nloops < min_loops:
        print('FAIL: only %d files used loops, expected at least %d' % (nloops, min_loops))
        failed += 1
    print('%d passed, %d failed' % (len(FILES) - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
