#!/usr/bin/env python3
"""hessgen run's cache under concurrent and interrupted use: two runs of one source at once,
20 rounds, both succeed and leave one valid entry with no temporary file; an entry cut short,
damaged or missing its sum is detected and built again; a valid one is not.
    test_cache.py HESSGEN SOURCE_DIR
"""
import json
import os
import subprocess
import sys
import tempfile

import checks
from checks import check, ok

HESSGEN, SRC = sys.argv[1:3]
WEAKEST = os.path.join(SRC, 'examples', 'weakest.hl')
WORK = tempfile.TemporaryDirectory()


def start(cache):
    env = dict(os.environ, HESSGEN_CACHE=cache)
    return subprocess.Popen([HESSGEN, 'run', WEAKEST, 'classify', 'w1=0,w2=0', '--json'], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish(p):
    out, err = p.communicate(timeout=300)
    ok(p.returncode == 0, err.decode())
    r = json.loads(out)
    ok(r['verdict'] == 'saddle' and r['eigenvalues'] == [-2, 2], r)


def entry(cache):
    """the one entry's program, and every file of the cache"""
    files = sorted(os.listdir(cache))
    programs = [f for f in files if '.' not in f]
    ok(len(programs) == 1, files)
    p = programs[0]
    ok(files == [p, p + '.c', p + '.sum'], 'not one clean entry: %s' % files)
    return os.path.join(cache, p)


@check
def two_runs_at_once_twenty_times():
    for k in range(20):
        cache = os.path.join(WORK.name, 'concurrent%d' % k)
        a, b = start(cache), start(cache)
        finish(a)
        finish(b)
        exe = entry(cache)
        stamp = os.stat(exe).st_mtime_ns
        finish(start(cache))  # the entry is valid: used, not built again
        ok(os.stat(exe).st_mtime_ns == stamp, 'a valid entry was built again')


@check
def a_damaged_entry_is_built_again():
    cache = os.path.join(WORK.name, 'damaged')
    finish(start(cache))
    exe = entry(cache)
    good = open(exe, 'rb').read()

    def damage(how):
        if how == 'cut':
            with open(exe, 'r+b') as f:
                f.truncate(len(good) // 2)
        elif how == 'byte':
            with open(exe, 'r+b') as f:
                f.seek(len(good) // 2)
                byte = f.read(1)
                f.seek(len(good) // 2)
                f.write(bytes([byte[0] ^ 0xff]))
        elif how == 'empty':
            open(exe, 'wb').close()
        elif how == 'no sum':
            os.remove(exe + '.sum')

    for how in ('cut', 'byte', 'empty', 'no sum'):
        damage(how)
        finish(start(cache))
        ok(entry(cache) == exe and open(exe, 'rb').read() == good, '%s: not rebuilt to the same program' % how)


sys.exit(checks.run())
