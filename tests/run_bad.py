#!/usr/bin/env python3
"""The bad-input corpus: every file in tests/bad must be refused with exactly its diagnostics.

Each case states what hessgen must print, one line per diagnostic, in comment lines that
start with `#!` (or, for a file that must stay empty, in NAME.expect beside it):
    #! 5:17: error: undefined name 'w3'
For every case this checks that hessgen
  - exits with status 1, within a time limit (no hang) and without a crash;
  - prints exactly those diagnostics, in order (FILE:LINE:COL: kind: message);
  - follows each with the source line and a caret line whose caret stands at the column;
  - writes no output file, and leaves an existing one byte for byte as it was, with no
    temporary file left behind.
`run_bad.py --update HESSGEN DIR` rewrites the `#!` lines from what hessgen prints now: an
explicit step, to be reviewed with git diff; the test run never rewrites anything.
"""
import os
import re
import subprocess
import sys
import tempfile

DIAG = re.compile(r'^(?P<file>.*?):(?P<line>\d+):(?P<col>\d+): (?P<kind>error|warning|note): (?P<msg>.*)$')


def expected_of(path):
    side = path[:-3] + '.expect'
    if os.path.exists(side):
        with open(side, encoding='utf-8') as f:
            return [l.rstrip('\n') for l in f if l.strip()]
    with open(path, 'rb') as f:
        text = f.read().decode('utf-8', errors='replace')
    return [l[3:] if l.startswith('#! ') else l[2:] for l in text.splitlines() if l.startswith('#!')]


def run(hessgen, path, out):
    return subprocess.run([hessgen, path, '-o', out], capture_output=True, timeout=30)


def diagnostics(stderr, name):
    """The diagnostic lines without the file name, and the problems with their carets."""
    lines = stderr.decode('utf-8', errors='replace').splitlines()
    got, problems = [], []
    i = 0
    while i < len(lines):
        m = DIAG.match(lines[i])
        if not m:
            i += 1
            continue
        if m.group('file') != name:
            problems.append('diagnostic names %r, not %r' % (m.group('file'), name))
        got.append(lines[i][len(m.group('file')) + 1:])
        if i + 2 >= len(lines):
            problems.append('no source line and caret after: ' + lines[i])
            break
        caret = lines[i + 2]
        col = int(m.group('col'))
        if caret.rstrip('~') == '' or caret.lstrip(' \t').rstrip('~') != '^' or len(caret) - len(caret.lstrip(' \t')) != col - 1:
            problems.append('caret line %r does not mark column %d' % (caret, col))
        i += 3
    return got, problems


def check(hessgen, path):
    name = os.path.basename(path)
    want = expected_of(path)
    errors = []
    if not want:
        return ['no expected diagnostics (#! lines) in the case']
    with tempfile.TemporaryDirectory() as d:
        fresh = os.path.join(d, 'fresh.c')
        cwd = os.getcwd()
        os.chdir(os.path.dirname(path) or '.')
        try:
            r = run(hessgen, name, fresh)
        except subprocess.TimeoutExpired:
            return ['hessgen did not finish within 30 s']
        finally:
            os.chdir(cwd)
        if r.returncode != 1:
            errors.append('exit status %d, expected 1' % r.returncode)
        if os.path.exists(fresh):
            errors.append('an output file was written')
        got, problems = diagnostics(r.stderr, name)
        errors += problems
        if got != want:
            errors.append('diagnostics differ:\n    expected: %s\n    got:      %s' %
                          ('\n              '.join(want), '\n              '.join(got)))
        # an existing output file is left exactly as it was
        kept = os.path.join(d, 'kept.c')
        sentinel = b'/* the user\'s file: must survive a failed compile */\n'
        with open(kept, 'wb') as f:
            f.write(sentinel)
        r2 = run(hessgen, os.path.abspath(path), kept)
        with open(kept, 'rb') as f:
            if f.read() != sentinel:
                errors.append('an existing output file was changed')
        if r2.returncode != 1:
            errors.append('second run: exit status %d' % r2.returncode)
        left = sorted(set(os.listdir(d)) - {'kept.c'})
        if left:
            errors.append('files left behind: %s' % ', '.join(left))
    return errors


def update(hessgen, path):
    name = os.path.basename(path)
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path) or '.')
    try:
        r = subprocess.run([hessgen, name, '-o', os.devnull + '.x'], capture_output=True, timeout=30)
    finally:
        os.chdir(cwd)
    got, _ = diagnostics(r.stderr, name)
    side = path[:-3] + '.expect'
    if os.path.exists(side) or os.path.getsize(path) == 0:
        with open(side, 'w', encoding='utf-8') as f:
            f.write(''.join(l + '\n' for l in got))
        return
    with open(path, 'rb') as f:
        lines = [l for l in f.read().split(b'\n') if not l.startswith(b'#!')]
    while lines and lines[-1] == b'':
        lines.pop()
    body = b'\n'.join(lines) + b'\n'
    body += b''.join(b'#! ' + l.encode('utf-8') + b'\n' for l in got)
    with open(path, 'wb') as f:
        f.write(body)


def main():
    args = sys.argv[1:]
    mode_update = bool(args) and args[0] == '--update'
    if mode_update:
        args = args[1:]
    hessgen, folder = os.path.abspath(args[0]), args[1]
    cases = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith('.hl'))
    if mode_update:
        for c in cases:
            update(hessgen, c)
        print('updated %d cases' % len(cases))
        return 0
    passed = failed = 0
    for c in cases:
        errs = check(hessgen, c)
        if errs:
            failed += 1
            print('FAIL %s\n  %s' % (c, '\n  '.join(errs)))
        else:
            passed += 1
            print('ok   %s' % c)
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed or passed == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
