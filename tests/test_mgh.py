#!/usr/bin/env python3
"""Moré, Garbow and Hillstrom (1981), "Testing unconstrained optimization software": the
problems in tests/mgh, written as .hl files from the paper, each with its standard start
and its minimum value f* (`# mgh: fstar V [V2]`: a second value is another minimum the paper
lists). Every method runs from the standard start through `hessgen run`; a run succeeds when
its final loss is f* to 1e-5 relative (1e-10 absolute where f* = 0), and it is `converged`
(exit 0; any other status exits 1). Trust-region Newton must succeed on at least 90% of the
problems; the table of iterations is printed, and how many runs of each method converged.
    test_mgh.py HESSGEN MGH_DIR [METHOD,...] [EVERY]
(the sanitizer build runs trust-region alone on every second problem, EVERY = 2: the four
methods on all of them take 380 s there)
"""
import json
import os
import subprocess
import sys
import tempfile

HESSGEN, DIR = sys.argv[1], sys.argv[2]
METHODS = sys.argv[3].split(',') if len(sys.argv) > 3 else ['trust-region', 'damped', 'saddle-free', 'pure']
EVERY = int(sys.argv[4]) if len(sys.argv) > 4 else 1


def fstars(path):
    for line in open(path):
        if line.startswith('# mgh: fstar'):
            return [float(v) for v in line.split()[3:]]
    raise ValueError('no "# mgh: fstar" line in ' + path)


def reached(loss, targets):
    return loss is not None and any(abs(loss - f) <= 1e-5 * abs(f) + 1e-10 for f in targets)


def main():
    env = dict(os.environ, HESSGEN_CACHE=tempfile.mkdtemp(prefix='hessgen-mgh-'))
    problems = sorted(f for f in os.listdir(DIR) if f.endswith('.hl'))[::EVERY]
    print('%-26s' % 'problem' + ''.join('%-16s' % m for m in METHODS))
    wins = {m: 0 for m in METHODS}
    converged = {m: 0 for m in METHODS}
    for p in problems:
        path = os.path.join(DIR, p)
        targets = fstars(path)
        cells = []
        for m in METHODS:
            r = subprocess.run([HESSGEN, 'run', path, 'newton', '--method', m, '--max-iter', '500', '--json'],
                               capture_output=True, env=env, timeout=300)
            out = json.loads(r.stdout) if r.stdout else {}
            if r.returncode != (0 if out.get('status') == 'converged' else 1):  # exit 0 exactly when converged
                print('FAIL %s %s: exit %d\n%s' % (p, m, r.returncode, r.stderr.decode()))
                return 1
            good = out['status'] == 'converged' and reached(out['loss'], targets)
            wins[m] += good
            converged[m] += out['status'] == 'converged'
            cells.append('%3d %s' % (out['iterations'], 'ok' if good else out['status'][:9] if out['status'] != 'converged' else 'f=%.3g' % out['loss']))
        print('%-26s' % p[:-3] + ''.join('%-16s' % c for c in cells))
    n = len(problems)
    print('reached f*: ' + ', '.join('%s %d/%d' % (m, wins[m], n) for m in METHODS))
    print('converged: ' + ', '.join('%s %d/%d' % (m, converged[m], n) for m in METHODS))
    ok = wins['trust-region'] >= 0.9 * n
    print('%d passed, %d failed' % (1 if ok else 0, 0 if ok else 1))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
