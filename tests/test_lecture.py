#!/usr/bin/env python3
"""examples/lecture/draw.sh draws the lecture's pictures with hessgen's own plot command: it
runs, every picture is a PNG that is not blank, the pictures the README shows are committed and
have the size the script draws them at.   test_lecture.py HESSGEN SOURCE_DIR
"""
import os
import re
import struct
import subprocess
import sys
import tempfile
import zlib

import checks
from checks import check, ok

HESSGEN, SRC = sys.argv[1:3]
LECTURE = os.path.join(SRC, 'examples', 'lecture')
PICTURES = ['surface', 'escape', 'paths', 'convergence', 'plateau', 'slice_plus', 'slice_minus']
WORK = tempfile.TemporaryDirectory()


def png(path):
    """(width, height, distinct byte values of the decoded scanlines) of an RGB(A) 8-bit PNG."""
    with open(path, 'rb') as f:
        data = f.read()
    ok(data[:8] == b'\x89PNG\r\n\x1a\n', path + ' is not a PNG')
    pos, idat, size = 8, b'', None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b'IHDR':
            size = struct.unpack('>II', body[:8])
        elif kind == b'IDAT':
            idat += body
        pos += 12 + length
    ok(size is not None and idat, path + ': no IHDR or IDAT')
    pixels = zlib.decompress(idat)
    return size[0], size[1], len(set(pixels[::7]))


@check
def the_script_draws_every_picture():
    env = dict(os.environ, HESSGEN=HESSGEN, HESSGEN_CACHE=os.path.join(WORK.name, 'cache'))
    out = os.path.join(WORK.name, 'lecture')
    r = subprocess.run(['sh', os.path.join(LECTURE, 'draw.sh'), out], capture_output=True, env=env, timeout=600)
    ok(r.returncode == 0, r.stderr.decode())
    text = r.stdout.decode()
    # what the pictures are meant to show, as the plot commands report it
    ok('1 saddle,' in text and 'degenerate points' in text, text)
    ok(re.search(r'pure +from start 1: converged after \d+ iterations at w1 = [-0-9.e]+, w2 = [-0-9.e]+, loss 1, saddle',
                 text), text)
    ok('curvature -2' in text, 'the escape slice is not at the saddle: ' + text)
    for name in PICTURES:
        w, h, shades = png(os.path.join(out, name + '.png'))
        ok(w >= 800 and h >= 500 and shades > 20, (name, w, h, shades))
        committed = os.path.join(LECTURE, name + '.png')
        ok(os.path.exists(committed), committed + ' is not committed')
        cw, ch, _ = png(committed)
        ok((cw, ch) == (w, h), '%s: committed %dx%d, drawn %dx%d' % (name, cw, ch, w, h))


@check
def the_readme_shows_the_pictures():
    with open(os.path.join(SRC, 'README.md')) as f:
        readme = f.read()
    shown = re.findall(r'!\[[^\]]*\]\((examples/lecture/[a-z_]+\.png)\)', readme)
    ok(len(set(shown)) >= 2, shown)
    for path in shown:
        ok(os.path.exists(os.path.join(SRC, path)), path + ' is shown but not committed')


sys.exit(checks.run())
