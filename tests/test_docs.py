#!/usr/bin/env python3
"""docs/language.md is true: every ```hl example compiles (```hl error ones are refused with exit
1 and no output file), and every ```text block that starts with `$ hessgen ...` shows what that
command prints for the example just above it (FILE standing for its path; a `| grep ...`,
`| tail -n K` filter applies as in the shell).
    test_docs.py HESSGEN SOURCE_DIR
"""
import os
import re
import subprocess
import sys
import tempfile

import checks
from checks import check, ok

HESSGEN, SRC = sys.argv[1:3]
DOC = os.path.join(SRC, 'docs', 'language.md')
WORK = tempfile.TemporaryDirectory()


def blocks():
    """(info, text, line) of every fenced block, in order."""
    out, info, buf, start = [], None, [], 0
    with open(DOC, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if line.startswith('```'):
                if info is None:
                    info, buf, start = line[3:].strip(), [], n
                else:
                    out.append((info, ''.join(buf), start))
                    info = None
            elif info is not None:
                buf.append(line)
    return out


def run_shown(command, path):
    """The output of `hessgen ARGS [| grep RE | tail -n K]` with FILE as path."""
    parts = [p.strip() for p in command.split('|')]
    args = parts[0].split()[1:]
    r = subprocess.run([HESSGEN] + [path if a == 'FILE' else a for a in args], capture_output=True, timeout=120)
    text = (r.stdout + r.stderr).decode().replace(path, 'FILE')
    lines = text.splitlines()
    for filt in parts[1:]:
        m = re.fullmatch(r"grep '([^']*)'", filt) or re.fullmatch(r'grep (\S+)', filt)
        if m:
            lines = [l for l in lines if re.search(m.group(1), l)]
            continue
        m = re.fullmatch(r'tail -n (\d+)', filt)
        ok(m is not None, 'a filter the test does not know: ' + filt)
        lines = lines[-int(m.group(1)):]
    return lines


@check
def every_example_compiles_and_every_output_is_shown():
    examples = shown = 0
    path = None
    for info, text, line in blocks():
        if info in ('hl', 'hl error'):
            examples += 1
            path = os.path.join(WORK.name, 'example%d.hl' % line)
            with open(path, 'w') as f:
                f.write(text)
            out = path[:-3] + '.c'
            r = subprocess.run([HESSGEN, path, '-o', out], capture_output=True, timeout=120)
            if info == 'hl':
                ok(r.returncode == 0 and os.path.exists(out), 'docs line %d: %s' % (line, r.stderr.decode()[-400:]))
            else:
                ok(r.returncode == 1 and not os.path.exists(out) and b'error:' in r.stderr,
                   'docs line %d should be refused: exit %d' % (line, r.returncode))
        elif info == 'text' and text.startswith('$ hessgen'):
            shown += 1
            ok(path is not None, 'docs line %d: an output with no example above it' % line)
            command, *want = text.rstrip('\n').split('\n')
            got = run_shown(command[2:], path)
            ok(got == want, 'docs line %d: %s printed\n%s' % (line, command, '\n'.join(got)))
    ok(examples >= 10 and shown >= 4, (examples, shown))
    print('  %d examples compiled, %d outputs compared' % (examples, shown))


@check
def the_readme_links_the_reference():
    with open(os.path.join(SRC, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    ok('](docs/language.md)' in readme and '../shared/' not in readme, 'README: link docs/language.md')


def main():
    return checks.run()


if __name__ == '__main__':
    sys.exit(main())
