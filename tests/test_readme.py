#!/usr/bin/env python3
"""The README's commands work and print what it shows. Every `$ ...` line of its code blocks
runs, in order, in a scratch directory that has the repository's examples/, tests/ and python/
and a build/hessgen (this build's), with /usr/bin first on PATH (the README's machine is Debian).
  - A `$ cat FILE` shows a file the README's reader writes: the test writes it.
  - A command whose output is shown must print those lines first (stdout, then stderr). A shown
    line that ends in `...` stands for any line that starts with the text before it.
  - The exit status must be 0, unless the output shown is an error or a value not finite.
  - `$(pkg-config --cflags --libs hessrt)` becomes this build's runtime; the test does not
    install it (tests/test_install.sh does).
Files the README uses but does not show (typo.hl, bad.csv) are written here, as their
diagnostics describe them.
    test_readme.py HESSGEN SOURCE_DIR RUNTIME_LIB
"""
import os
import re
import subprocess
import sys
import tempfile

import checks
from checks import check, ok

HESSGEN, SRC, RUNTIME_LIB = (os.path.abspath(a) for a in sys.argv[1:4])
WORK = tempfile.TemporaryDirectory()
FIXTURES = {
    'typo.hl': 'model typo;\nparam w1 = 0.1, w2 = 0.1;\nconst x = 1, yhat = 1;\nloss (yhat - w1*w3*x)^2;\n',
    'bad.csv': '1\n2\n3\nabc\n5\n',
}


def commands():
    """(line number, command, shown output lines) of every `$ ` line in a fenced block."""
    lines = open(os.path.join(SRC, 'README.md')).read().split('\n')
    out, inside, cur = [], False, None
    for no, line in enumerate(lines, 1):
        if line.startswith('```'):
            inside = not inside
            cur = None
            continue
        if not inside:
            continue
        if line.startswith('$ '):
            cur = [no, line[2:], []]
            out.append(cur)
        elif cur is not None and cur[1].endswith('\\'):
            cur[1] = cur[1][:-1] + ' ' + line.strip()
        elif cur is not None:
            cur[2].append(line)
    for c in out:  # a trailing comment is the README's, not the shell's
        c[1] = re.sub(r'\s+#\s.*$', '', c[1])
    return out


def setup():
    os.makedirs(os.path.join(WORK.name, 'build'))
    os.symlink(HESSGEN, os.path.join(WORK.name, 'build', 'hessgen'))
    for d in ('examples', 'tests', 'python'):
        os.symlink(os.path.join(SRC, d), os.path.join(WORK.name, d))
    for name, text in FIXTURES.items():
        with open(os.path.join(WORK.name, name), 'w') as f:
            f.write(text)


def matches(shown, got):
    if shown.endswith('...'):
        return got.startswith(shown[:-3])
    return shown.rstrip() == got.rstrip()


def run(no, cmd, shown):
    """'' if the command did as the README shows, else what went wrong."""
    try:
        run_one(no, cmd, shown)
        return ''
    except AssertionError as e:
        return str(e)


def run_one(no, cmd, shown):
    where = 'README.md:%d: %s' % (no, cmd)
    m = re.match(r'cat (\S+)$', cmd)
    if m:  # the file it shows is one the reader writes
        with open(os.path.join(WORK.name, m.group(1)), 'w') as f:
            f.write('\n'.join(shown) + '\n')
        return
    runtime = '-I%s %s -llapacke -lm' % (os.path.join(SRC, 'runtime'), RUNTIME_LIB)
    cmd = cmd.replace('$(pkg-config --cflags --libs hessrt)', runtime)
    # the README's commands are a Debian machine's: its python3 is /usr/bin/python3
    env = dict(os.environ, HESSGEN_CACHE=os.path.join(WORK.name, 'cache'), PATH='/usr/bin:' + os.environ['PATH'])
    env.pop('HESSGEN', None)
    r = subprocess.run(cmd, shell=True, cwd=WORK.name, capture_output=True, timeout=600, env=env)
    got = (r.stdout.decode(errors='replace') + r.stderr.decode(errors='replace')).split('\n')
    error_shown = any(re.search(r'error|not a finite number|^not finite', s) for s in shown)
    ok(r.returncode == 0 or error_shown, '%s: exit %d\n%s' % (where, r.returncode, '\n'.join(got[:20])))
    for k, s in enumerate(shown):
        ok(k < len(got) and matches(s, got[k]),
           '%s: line %d shown as\n  %s\nbut it prints\n  %s' % (where, k + 1, s, got[k] if k < len(got) else '(nothing)'))


@check
def every_command_runs_and_prints_what_is_shown():
    cs = commands()
    ok(len(cs) >= 20, 'only %d commands found in README.md' % len(cs))
    setup()
    failed = [f for f in (run(no, cmd, shown) for no, cmd, shown in cs) if f]
    ok(not failed, '%d of %d commands:\n%s' % (len(failed), len(cs), '\n'.join(failed)))


if __name__ == '__main__':
    sys.exit(checks.run())
