#!/usr/bin/env python3
"""Golden snapshots of every phase's --dump for every example, so a change in any phase shows
as a diff of its text.

    test_golden.py HESSGEN SOURCE_DIR            compare (the test)
    test_golden.py HESSGEN SOURCE_DIR --update   rewrite the snapshots (never done by the test)

For each examples/NAME.hl and each phase DUMP in ast, dag, grad, hess, sched, arrays, the output of
`hessgen examples/NAME.hl --dump=DUMP` must equal tests/golden/NAME.DUMP.txt byte for byte.
A snapshot with no example, or an example with no snapshot, fails too. After a deliberate
change, run with --update and read the diff before committing it.
"""
import difflib
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import checks  # noqa: E402
from checks import check, ok  # noqa: E402

HESSGEN, SRC = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
UPDATE = '--update' in sys.argv[3:]
HERE = os.path.join(SRC, 'tests', 'golden')
DUMPS = ('ast', 'dag', 'grad', 'hess', 'sched', 'arrays')
EXAMPLES = sorted(glob.glob(os.path.join(SRC, 'examples', '*.hl')))


def dump(hl, what):
    # run from the source tree with a relative path, so that nothing machine-specific is printed
    r = subprocess.run([HESSGEN, os.path.relpath(hl, SRC), '--dump=' + what], cwd=SRC, capture_output=True,
                       timeout=120)
    ok(r.returncode == 0, '%s --dump=%s exited %d: %s' % (hl, what, r.returncode, r.stderr.decode()))
    return r.stdout.decode()


def snapshot_check(hl, what):
    def f():
        name = os.path.splitext(os.path.basename(hl))[0]
        path = os.path.join(HERE, '%s.%s.txt' % (name, what))
        got = dump(hl, what)
        ok(got.strip(), 'hessgen %s --dump=%s printed nothing' % (name, what))
        if UPDATE:
            with open(path, 'w') as out:
                out.write(got)
            return
        ok(os.path.exists(path), 'no snapshot %s: run test_golden.py HESSGEN SRC --update' % path)
        want = open(path).read()
        diff = ''.join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), path, 'hessgen now', n=2))
        ok(got == want, 'the --dump=%s of %s changed:\n%s' % (what, name, diff[:4000]))
    f.__name__ = 'golden_%s_%s' % (os.path.splitext(os.path.basename(hl))[0], what)
    return f


for hl in EXAMPLES:
    for what in DUMPS:
        check(snapshot_check(hl, what))


@check
def every_snapshot_has_its_example():
    names = {os.path.splitext(os.path.basename(h))[0] for h in EXAMPLES}
    stray = [p for p in glob.glob(os.path.join(HERE, '*.txt'))
             if os.path.basename(p).rsplit('.', 2)[0] not in names or os.path.basename(p).rsplit('.', 2)[1] not in DUMPS]
    ok(not stray, 'snapshots of no example or phase: %s' % stray)


@check
def sched_dump_shows_the_weakest_network_in_three_steps():
    # the loss (1 - w1*w2)^2: one product, one difference, one square, in that order
    lines = dump(os.path.join(SRC, 'examples', 'weakest.hl'), 'sched').splitlines()
    ok(lines[:4] == ['schedule loss: 3 steps', '  n7 = mul(theta[0], theta[1])', '  n9 = add(1, -n7)',
                     '  n10 = pow(n9, 2)'], '\n'.join(lines[:4]))


sys.exit(checks.run())
