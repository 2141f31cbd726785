#!/usr/bin/env python3
"""Keeps only chosen API functions of a hessgen-generated C file.

    extract.py GEN.c OUT.c [--data] NAME...

cc -O2 on a whole generated file can take minutes (every API function of a 1000-parameter
model is unrolled, and the dense M_hess of a 100-parameter net is huge); callgrind needs only
the functions it measures, so bench/callgrind.sh compiles one file per measured function.
OUT.c is GEN.c with the definitions of the OTHER API functions (PREFIX_loss, _grad, _hess, _hvp,
_hess_sparse, _hess_values), the `_any` wrappers and the model struct removed; everything else
(includes, typedefs, static helpers, prototypes) is kept byte for byte, so each kept function
compiles to the same code as in the whole file (bench/callgrind.sh --verify-extract checks that
the instruction counts agree). Top-level data definitions (hess_rows, param_arrays, ...) are kept
only with --data, so that several such files can be linked together."""
import re, sys

args = sys.argv[1:]
data = "--data" in args
args = [a for a in args if a != "--data"]
src, out, names = args[0], args[1], set(args[2:])
lines = open(src).read().split("\n")
API = ("loss", "grad", "hess", "hvp", "hess_sparse", "hess_values")
header = re.compile(r"^(static |extern )?[A-Za-z_][\w ]*?\b(\w+)\([^;]*\)$")


def _prefixes():
    """The model prefixes: whatever precedes a known API suffix in the kept names."""
    ps = set()
    for n in names:
        for a in sorted(API, key=len, reverse=True):
            if n.endswith("_" + a):
                ps.add(n[: -len(a) - 1])
                break
    return ps


PREFIXES = _prefixes()


def is_api(name):
    """PREFIX_<api> or PREFIX_<api>_any."""
    base = name[:-4] if name.endswith("_any") else name
    return any(base == p + "_" + a for a in API for p in PREFIXES)


kept, i, found = [], 0, set()
while i < len(lines):
    line = lines[i]
    m = header.match(line)
    if m and i + 1 < len(lines) and lines[i + 1] == "{":
        j = i + 1
        while lines[j] != "}":
            j += 1
        name = m.group(2)
        if name in names:
            found.add(name)
        if name in names or not is_api(name):
            kept.extend(lines[i:j + 1])
        i = j + 1
        continue
    if re.match(r"^const [^(]*=", line):  # top-level data definition, up to its ';'
        j = i
        while not lines[j].rstrip().endswith(";"):
            j += 1
        if data and not line.startswith("const hessgen_model"):
            kept.extend(lines[i:j + 1])
        i = j + 1
        continue
    kept.append(line)
    i += 1
missing = names - found
if missing:
    sys.exit("extract.py: no definition of %s in %s" % (", ".join(sorted(missing)), src))
open(out, "w").write("/* %s, cut down by bench/drivers/extract.py to: %s */\n"
                     % (src, " ".join(sorted(names))) + "\n".join(kept))
