#!/usr/bin/env python3
"""Data files for the analyzer (--data NAME=FILE, runtime/data.c), on examples/line_fit.hl
(mean squared error of a*x + b) and examples/logistic.hl: CSV with and without a header and
raw float64 give the least-squares answer computed here; every bad file gets a message naming
the file, the line and the column, and exit status 2.
    test_data_files.py HESSGEN SOURCE_DIR CC HESSRT_LIB RUNTIME_DIR [CFLAGS...]
(CFLAGS: the sanitizer flags in the sanitizer build, so the loader runs under ASan.)
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import checks
from checks import check, ok

HESSGEN, SRC, CC, LIB, RUNTIME = sys.argv[1:6]
EXTRA = sys.argv[6:]
WORK = tempfile.TemporaryDirectory()
D = WORK.name
EXE = {}


def build(stem):
    gen, exe = os.path.join(D, stem + '.c'), os.path.join(D, stem)
    r = subprocess.run([HESSGEN, os.path.join(SRC, 'examples', stem + '.hl'), '--main', '-o', gen], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    r = subprocess.run([CC, *EXTRA, gen, '-I', RUNTIME, LIB, '-llapacke', '-lm', '-o', exe], capture_output=True)
    ok(r.returncode == 0, r.stderr.decode())
    EXE[stem] = exe


def run(stem, *args):
    return subprocess.run([EXE[stem], *args], capture_output=True, text=True, timeout=60)


def write(name, text):
    path = os.path.join(D, name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def column(path):
    """The numbers of a one-column CSV with a header."""
    return [float(line) for line in open(path).read().split('\n')[1:] if line.strip()]


X = column(os.path.join(SRC, 'examples', 'data', 'line_x.csv'))
Y = column(os.path.join(SRC, 'examples', 'data', 'line_y.csv'))


def least_squares():
    n = len(X)
    sx, sy, sxx, sxy = sum(X), sum(Y), sum(x * x for x in X), sum(x * y for x, y in zip(X, Y))
    a = (n * sxy - sx * sy) / (n * sxx - sx * sx)
    return a, (sy - a * sx) / n


def newton(xfile, yfile):
    r = run('line_fit', 'newton', '--method', 'pure', '--json', '--data', 'x=' + xfile, '--data=y=' + yfile)
    ok(r.returncode == 0, r.stderr)
    return json.loads(r.stdout)


def refused(stem, args, *pieces):
    r = run(stem, 'classify', *args)
    ok(r.returncode == 2, 'exit %d, expected 2: %s' % (r.returncode, r.stderr))
    for p in pieces:
        ok(p in r.stderr, 'expected %r in the message: %s' % (p, r.stderr))
    ok(r.stdout == '', 'nothing on standard output: %s' % r.stdout)


@check
def builds():
    build('line_fit')
    build('logistic')
    build('weakest')


@check
def csv_with_a_header_gives_the_least_squares_line():
    out = newton(os.path.join(SRC, 'examples', 'data', 'line_x.csv'), os.path.join(SRC, 'examples', 'data', 'line_y.csv'))
    a, b = least_squares()
    ok(out['status'] == 'converged' and out['verdict'] == 'min', out)
    ok(abs(out['theta'][0] - a) < 1e-9 and abs(out['theta'][1] - b) < 1e-9, (out['theta'], a, b))


@check
def csv_without_a_header_and_raw_float64_give_the_same():
    xs = write('x_nohead.csv', ''.join('%r\n' % v for v in X))
    raw = os.path.join(D, 'y.f64')
    with open(raw, 'wb') as f:
        f.write(struct.pack('<%dd' % len(Y), *Y))
    out = newton(xs, raw)
    a, b = least_squares()
    ok(abs(out['theta'][0] - a) < 1e-9 and abs(out['theta'][1] - b) < 1e-9, (out['theta'], a, b))


@check
def blank_lines_spaces_and_crlf_are_read():
    xs = write('x_crlf.csv', 'x\r\n' + ''.join(' %r \r\n\r\n' % v for v in X))
    out = newton(xs, os.path.join(SRC, 'examples', 'data', 'line_y.csv'))
    a, _ = least_squares()
    ok(abs(out['theta'][0] - a) < 1e-9, out['theta'])


GOOD_Y = os.path.join(SRC, 'examples', 'data', 'line_y.csv')


@check
def a_missing_file():
    refused('line_fit', ['--data', 'x=' + os.path.join(D, 'nowhere.csv'), '--data', 'y=' + GOOD_Y],
            'nowhere.csv: cannot open')


@check
def a_cell_that_is_not_a_number():
    bad = write('bad.csv', 'x\n1\n2\nabc\n')
    refused('line_fit', ['--data', 'x=' + bad, '--data', 'y=' + GOOD_Y], 'bad.csv: line 4, column 1', "'abc' is not a finite number")


@check
def nan_infinity_and_an_empty_cell():
    refused('line_fit', ['--data', 'x=' + write('nan.csv', '1\nnan\n'), '--data', 'y=' + GOOD_Y],
            'nan.csv: line 2, column 1', 'not a finite number')
    refused('line_fit', ['--data', 'x=' + write('inf.csv', '1\n1e999\n'), '--data', 'y=' + GOOD_Y],
            'inf.csv: line 2, column 1', 'not a finite number')
    three = write('empty_cell.csv', 'a,b,c\n1,2,3\n4,,6\n')
    refused('logistic', ['--data', 'X=' + three, '--data', 'y=' + write('y2.csv', '1\n-1\n')],
            'empty_cell.csv: line 3, column 2: the cell is empty')


@check
def a_row_of_the_wrong_width():
    short = write('short.csv', 'a,b,c\n1,2,3\n4,5\n')
    refused('logistic', ['--data', 'X=' + short, '--data', 'y=' + write('y1.csv', '1\n-1\n')],
            'short.csv: line 3: 2 values, but each row needs 3')


@check
def arrays_that_share_a_count_must_have_it():
    ys = write('y49.csv', 'y\n' + ''.join('%r\n' % v for v in Y[:-1]))
    refused('line_fit', ['--data', 'x=' + os.path.join(SRC, 'examples', 'data', 'line_x.csv'), '--data', 'y=' + ys],
            'y49.csv has 49 rows but', 'line_x.csv has 50', "share the row count 'n'")


@check
def a_raw_file_that_is_not_whole_rows():
    raw = os.path.join(D, 'X.f64')
    with open(raw, 'wb') as f:
        f.write(b'\0' * (8 * 7 + 4))
    refused('logistic', ['--data', 'X=' + raw, '--data', 'y=' + write('y3.csv', '1\n')],
            'X.f64: 60 bytes is not a whole number of rows of 3 float64 values (24 bytes each)')


@check
def zero_rows_for_a_mean():
    refused('line_fit', ['--data', 'x=' + write('x0.csv', 'x\n'), '--data', 'y=' + write('y0.csv', 'y\n')],
            "'n' is 0, but the loss divides by it")


@check
def arrays_missing_unknown_or_twice():
    refused('line_fit', ['--data', 'x=' + GOOD_Y], "no file for data array 'y'", '--data y=FILE')
    refused('line_fit', ['--data', 'x=' + GOOD_Y, '--data', 'y=' + GOOD_Y, '--data', 'z=' + GOOD_Y],
            "'z' is not a data array of model line_fit")
    refused('line_fit', ['--data', 'x=' + GOOD_Y, '--data', 'x=' + GOOD_Y], "data array 'x' is given twice")
    refused('line_fit', ['--data', 'x'], '--data takes NAME=FILE')
    refused('weakest', ['--data', 'x=' + GOOD_Y], 'model weakest reads no data')


@check
def classify_over_data_at_the_answer():
    a, b = least_squares()
    r = run('line_fit', 'classify', 'a=%r,b=%r' % (a, b), '--json', '--data', 'x=' + os.path.join(SRC, 'examples', 'data', 'line_x.csv'),
            '--data', 'y=' + GOOD_Y)
    ok(r.returncode == 0, r.stderr)
    out = json.loads(r.stdout)
    # H = 2/n [[sum x^2, sum x], [sum x, n]]
    n, sx, sxx = len(X), sum(X), sum(x * x for x in X)
    tr, det = 2 * sxx / n + 2, 4 * (n * sxx - sx * sx) / n ** 2
    lo = (tr - (tr * tr - 4 * det) ** 0.5) / 2
    ok(out['verdict'] == 'min' and out['critical'], out)
    ok(abs(out['eigenvalues'][0] - lo) < 1e-9 * tr, (out['eigenvalues'], lo))


def main():
    return checks.run(stop_if_failed=(builds,))


if __name__ == '__main__':
    sys.exit(main())
