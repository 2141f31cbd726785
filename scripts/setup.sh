#!/bin/sh
# Installs what hessgen needs to build and test, from Debian's packages, as root.
# Installs nothing that is already there; safe to run again.
set -e
need="cmake make gcc g++ flex bison libgmp-dev libflint-arb-dev libcmocka-dev liblapacke-dev libopenblas-dev pkg-config python3 valgrind gnuplot-nox coinor-csdp"
# Open MPI: libhessrt-mpi (a data set's rows split across processes) and its tests
need="$need libopenmpi-dev openmpi-bin"
# the Python package (python/hessgen) and its tests, through /usr/bin/python3
need="$need python3-numpy python3-scipy python3-pytest python3-sympy"
missing=""
for p in $need; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
# The tests' oracle is SymPy: the python3 on PATH may have it; otherwise Debian's.
if ! python3 -c 'import sympy, mpmath' >/dev/null 2>&1 && ! dpkg -s python3-sympy >/dev/null 2>&1; then
    missing="$missing python3-sympy"
fi
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
echo "setup: everything hessgen needs is installed"
