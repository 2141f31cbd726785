#!/usr/bin/env python3
"""models.py: writes the two scale models of issue 6 for a number of parameters N.

    models.py rosenbrock N > rosen_N.hl     extended Rosenbrock (chained form)
    models.py tridiagonal N > tri_N.hl      Broyden's tridiagonal function, as a sum of squares
                                            (a chained tridiagonal system: x[-1] = x[N] = 0)

Both have a sparse Hessian: Rosenbrock's is tridiagonal (2N - 1 lower nonzeros), Broyden's
pentadiagonal (3N - 3).
"""
import sys


def rosenbrock(n):
    return (f"# extended Rosenbrock, {n} parameters\n"
            f"param x[{n}] = -1.2;\n"
            f"loss sum(i = 0..{n - 2}, 100*(x[i+1] - x[i]^2)^2 + (1 - x[i])^2);\n")


def tridiagonal(n):
    # f_i = (3 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + 1, with x_{-1} = x_n = 0
    return (f"# Broyden tridiagonal, {n} parameters: sum of f_i^2\n"
            f"param x[{n}] = -1;\n"
            f"def f(a, l, r) = (3 - 2*a)*a - l - 2*r + 1;\n"
            f"loss f(x[0], 0, x[1])^2 + sum(i = 1..{n - 2}, f(x[i], x[i-1], x[i+1])^2)"
            f" + f(x[{n - 1}], x[{n - 2}], 0)^2;\n")


if __name__ == "__main__":
    kind, n = sys.argv[1], int(sys.argv[2])
    sys.stdout.write({"rosenbrock": rosenbrock, "tridiagonal": tridiagonal}[kind](n))
