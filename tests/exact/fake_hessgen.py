#!/usr/bin/env python3
"""A stand-in for `hessgen --check --json FILE`, for testing check_corpus.py only.

It answers from the corpus's own certificates (so it is right whenever they are), in the JSON
format check_corpus.py expects, and gives its own certificates: "curves" for saddles (the
corpus's up/down curves) and "gradient" for non-critical points. FAKE_MODE (environment)
makes it misbehave in one way, to see that check_corpus.py notices:

  truth         (default) the best verdict the certificates prove
  wrong         the first saddle line is answered strict_min
  nonstrict     the first non-strict min line (with a `zero` certificate) is answered strict_min
  weaker        strict_min lines are answered min (not wrong, not ok)
  undetermined  every line is undetermined (with a reason)
  noreason      the first line is undetermined without a reason
  badcurve      the first saddle's certificate gives the wrong order
  badgrad       the first gradient certificate is off by 1 in its first component
  badok         the first line says ok: false although its verdict establishes the label
  baddegenerate the first line's "degenerate" flag is negated
  badvalue      the first line's reported Hessian entry [0][0] is off by 1
  ballgrad      gradient certificates as enclosures "[mid +/- rad]" (correct ones)
  badball       the first gradient certificate's enclosure misses the exact value
"""

import importlib.util
import json
import re
import os
import sys

import sympy as sp

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("check_corpus",
                                               os.path.join(HERE, "check_corpus.py"))
C = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(C)


def hl(e):
    """A SymPy expression in .hl syntax (enough for the corpus: powers, E, pi, functions)."""
    return re.sub(r"\bE\b", "exp(1)", sp.sstr(e).replace("**", "^"))


def main(argv):
    if argv[:2] != ["--check", "--json"] or len(argv) != 3:
        print("usage: fake_hessgen.py --check --json FILE", file=sys.stderr)
        return 2
    mode = os.environ.get("FAKE_MODE", "truth")
    cf = C.CorpusFile(argv[2])
    results = []
    done = set()

    def once(what):
        if what in done:
            return False
        done.add(what)
        return True

    for case in cf.cases:
        C.verify_case(case)
        f = case.facts
        cert = None
        if case.label == "not_critical" or not case.critical:
            verdict = "not_critical"
            g = C.exact_gradient(cf, case)
            cert = {"kind": "gradient", "gradient": [hl(x) for x in g]}
        elif "strict_min" in f:
            verdict = "strict_min"
        elif "strict_max" in f:
            verdict = "strict_max"
        elif "min" in f:
            verdict = "min"
        elif "max" in f:
            verdict = "max"
        elif "not_min" in f and "not_max" in f:
            verdict = "saddle"
            cert = {"kind": "curves"}
            for c in case.certs:
                if c.kind in ("up", "down"):
                    curve = cf.assignments(c.text, "", {"t": C.T})
                    k, co = c.data
                    cert[c.kind] = {"curve": [hl(curve[s]) for s in cf.syms],
                                    "order": int(k), "sign": 1 if c.kind == "up" else -1}
        else:
            verdict = "undetermined"
        if mode == "wrong" and verdict == "saddle" and once("wrong"):
            verdict = "strict_min"
        if mode == "nonstrict" and verdict == "min" and "not_strict" in f and once("ns"):
            verdict = "strict_min"
        if mode == "weaker" and verdict == "strict_min":
            verdict = "min"
        if mode == "undetermined" or (mode == "noreason" and once("nr")):
            verdict = "undetermined"
            cert = None
        if mode == "badcurve" and cert and cert["kind"] == "curves" and once("bc"):
            cert["up"]["order"] += 1
        if mode == "badgrad" and cert and cert["kind"] == "gradient" and once("bg"):
            cert["gradient"][0] = hl(sp.sympify(cert["gradient"][0].replace("^", "**")) + 1)
        if mode in ("ballgrad", "badball") and cert and cert["kind"] == "gradient":
            g = C.exact_gradient(cf, case)
            shift = 1 if mode == "badball" and once("bb") else 0
            cert["gradient"] = [f"[{sp.N(x + shift, 15)} +/- 1e-13]" for x in g]
        lab = case.label
        if lab == "degenerate":
            ok = case.singular
        else:
            ok = verdict == lab or (lab, verdict) in (("min", "strict_min"),
                                                      ("max", "strict_max"))
        if mode == "badok" and ok and once("bo"):
            ok = False
        degenerate = case.singular
        if mode == "baddegenerate" and once("bd"):
            degenerate = not degenerate
        r = {"line": case.line, "expected": lab, "verdict": verdict, "ok": ok,
             "degenerate": degenerate,
             "reason": "" if mode == "noreason" and verdict == "undetermined"
             else f"fake: from the corpus certificates ({', '.join(case.proof)})"}
        H = C.exact_hessian(cf, case)
        r["point"] = [hl(v) for v in case.point]
        r["loss"] = hl(case.L0)
        r["gradient"] = [hl(v) for v in C.exact_gradient(cf, case)]
        r["hessian"] = [[hl(H[i, j]) for j in range(H.shape[1])] for i in range(H.shape[0])]
        if mode == "badvalue" and once("bv"):
            r["hessian"][0][0] = hl(H[0, 0] + 1)
        if cert:
            r["certificate"] = cert
        results.append(r)
    print(json.dumps({"file": argv[2], "results": results}))
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
