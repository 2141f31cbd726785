#!/usr/bin/env python3
"""The Python package's cost per call (issue 19): a call through python/hessgen against the same
generated function called from C, in one run on one machine.

    PYTHONPATH=python /usr/bin/python3 bench/python/run.py [--hessgen build/hessgen] [--rows 100000]

Cases:
  * weakest:  the lecture's 2-parameter loss; loss, grad, hess and hvp per call;
  * rosen1000: extended Rosenbrock, 1000 parameters; the sparse Hessian's values (M_hess_values
    in C; hess_values in Python, and hess_sparse, which also builds the scipy CSR matrix);
  * logistic: examples/logistic.hl over ROWS rows of random data; loss, grad and hess.
Each C figure is the median over 5 rounds of a loop of calls timed with clock_gettime in a
driver compiled with the same flags as the package's shared object (-O2); each Python figure
the median over 5 rounds of a loop of calls timed with time.perf_counter. Overhead = Python -
C per call. Targets: under 5 microseconds per call, under 10% on the data model.
Not part of the test run; prints a table.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'python'))

DRIVER = r'''
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "gen.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static unsigned long long s = 88172645463325252ull;
static double uni(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (double)(s >> 11) / 9007199254740992.0 * 2 - 1; }
int main(int argc, char **argv)
{
    const char *what = argv[1];
    long reps = atol(argv[2]);
    size_t rows = argc > 3 ? (size_t)atol(argv[3]) : 0;
    double *theta = malloc(sizeof(double) * M_NPARAM), *g = malloc(sizeof(double) * M_NPARAM);
    double *v = malloc(sizeof(double) * M_NPARAM), *h = malloc(sizeof(double) * (size_t)M_NPARAM * M_NPARAM > sizeof(double) * M_hess_nnz ? sizeof(double) * (size_t)M_NPARAM * M_NPARAM : sizeof(double) * M_hess_nnz);
    for (int k = 0; k < M_NPARAM; k++) { theta[k] = 0.3 * uni(); v[k] = uni(); }
#ifdef DATA
    double *X = malloc(sizeof(double) * rows * 3), *y = malloc(sizeof(double) * rows);
    for (size_t i = 0; i < rows; i++) { for (int j = 0; j < 3; j++) X[3 * i + j] = uni(); y[i] = uni() < 0 ? -1.0 : 1.0; }
    M_data d; size_t counts[1] = {rows}; const double *arrays[2] = {X, y};
    if (M_data_bind(&d, counts, arrays) != 0) return 1;
#define D , &d
#else
#define D
#endif
    volatile double sink = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (long r = 0; r < reps; r++) {
            theta[0] += 1e-12;
            if (what[0] == 'l') sink += M_loss(theta D);
            else if (what[0] == 'g') sink += M_grad(theta D, g);
            else if (what[0] == 'h' && what[1] == 'e' && what[4] == 0) sink += M_hess(theta D, NULL, h);
            else if (what[0] == 'h' && what[1] == 'v') { M_hvp(theta D, v, g); sink += g[0]; }
            else { M_hess_values(theta D, h); sink += h[0]; }
        }
        printf("%.9g\n", (now() - t0) / reps);
    }
    return sink == 12345.0;
}
'''


def c_times(hessgen, hl, work, what, reps, rows=0, data=False):
    gen, hdr, exe = (os.path.join(work, n) for n in ('gen.c', 'gen.h', 'drv'))
    if not os.path.exists(exe):
        subprocess.run([hessgen, hl, '-o', gen, '--header', hdr, '--prefix', 'M'], check=True)
        with open(os.path.join(work, 'drv.c'), 'w') as f:
            f.write(DRIVER)
        subprocess.run(['cc', '-O2', '-std=c99', '-D_POSIX_C_SOURCE=199309L', *(['-DDATA'] if data else []),
                        '-I', work, os.path.join(work, 'drv.c'), gen, '-o', exe, '-lm'], check=True)
    out = subprocess.run([exe, what, str(reps), str(rows)], check=True, capture_output=True).stdout.split()
    return statistics.median(float(x) for x in out)


def py_times(fn, reps):
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        ts.append((time.perf_counter() - t0) / reps)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--hessgen', default=os.environ.get('HESSGEN', os.path.join(ROOT, 'build', 'hessgen')))
    ap.add_argument('--rows', type=int, default=100000)
    a = ap.parse_args()
    os.environ['HESSGEN'] = a.hessgen
    import hessgen
    rng = np.random.default_rng(1)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault('HESSGEN_CACHE', os.path.join(tmp, 'cache'))
        cases = [('weakest', os.path.join(ROOT, 'examples', 'weakest.hl'), False,
                  [('loss', 200000), ('grad', 200000), ('hess', 200000), ('hvp', 200000)]),
                 ('rosen1000', os.path.join(ROOT, 'bench', 'models', 'rosen1000.hl'), False, [('hess_values', 20000), ('hess_sparse', 2000)]),
                 ('logistic', os.path.join(ROOT, 'examples', 'logistic.hl'), True,
                  [('loss', 50), ('grad', 50), ('hess', 50)])]
        for name, hl, data, calls in cases:
            work = os.path.join(tmp, name)
            os.makedirs(work)
            m = hessgen.load(hl)
            if data:
                X = rng.uniform(-1, 1, (a.rows, 3))
                y = np.where(rng.uniform(size=a.rows) < 0.5, -1.0, 1.0)
                m.bind(X=X, y=y)
            theta = 0.3 * rng.uniform(-1, 1, m.n)
            v = rng.uniform(-1, 1, m.n)
            for what, reps in calls:
                fn = {'loss': lambda: m.loss(theta), 'grad': lambda: m.grad(theta), 'hess': lambda: m.hess(theta),
                      'hvp': lambda: m.hvp(theta, v), 'hess_sparse': lambda: m.hess_sparse(theta),
                      'hess_values': lambda: m.hess_values(theta)}[what]
                c = c_times(a.hessgen, hl, work, what, reps, a.rows if data else 0, data)
                p = py_times(fn, reps)
                results.append((name, what, c, p))
    print('| model | call | C per call | Python per call | overhead | overhead / C |')
    print('|---|---|---|---|---|---|')
    for name, what, c, p in results:
        print('| %s | %s | %.3g us | %.3g us | %.3g us | %.1f%% |' % (name, what, c * 1e6, p * 1e6, (p - c) * 1e6,
                                                                    100 * (p - c) / c))


if __name__ == '__main__':
    main()
