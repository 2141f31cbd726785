#!/usr/bin/env python3
"""make_data.py: writes the example data sets beside it, deterministically (a fixed seed and
Python's own Mersenne Twister, printed with repr so that the files are the same everywhere).

    logistic_X.csv, logistic_y.csv   200 rows: 3 features, labels +1/-1 drawn from a logistic
                                     model with weights (1.5, -2, 0.5) and bias 0.25
    line_x.csv, line_y.csv           50 rows: y = 2 x - 1 plus noise (sd 0.1), x in [0, 1]
    xor_X.csv, xor_t.csv             40 rows: points near the corners of the unit square with
                                     XOR targets, for the two-layer tanh network
"""
import math
import os
import random

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, header, rows):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(repr(round(v, 6)) for v in r) + "\n")


def main():
    rng = random.Random(20261201)
    X, y = [], []
    for _ in range(200):
        x = [rng.gauss(0, 1) for _ in range(3)]
        z = 1.5 * x[0] - 2 * x[1] + 0.5 * x[2] + 0.25
        y.append([1.0 if rng.random() < 1 / (1 + math.exp(-z)) else -1.0])
        X.append(x)
    write("logistic_X.csv", ["x0", "x1", "x2"], X)
    write("logistic_y.csv", ["y"], y)

    xs, ys = [], []
    for _ in range(50):
        x = rng.random()
        xs.append([x])
        ys.append([2 * x - 1 + rng.gauss(0, 0.1)])
    write("line_x.csv", ["x"], xs)
    write("line_y.csv", ["y"], ys)

    P, T = [], []
    for k in range(40):
        a, b = k % 2, (k // 2) % 2
        P.append([a + rng.gauss(0, 0.1), b + rng.gauss(0, 0.1)])
        T.append([float(a ^ b)])
    write("xor_X.csv", ["x0", "x1"], P)
    write("xor_t.csv", ["t"], T)


if __name__ == "__main__":
    main()
