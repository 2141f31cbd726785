#!/usr/bin/env python3
"""test_mpi: the analyzer over MPI (libhessrt-mpi) against the same program run serially.

    test_mpi.py HESSGEN PROJECT_DIR RUNTIME_BUILD_DIR WORKDIR

For every loss over data in tests/data (and two in tests/loops; the array-loop code of ten of
them with --loops=always), the same generated C (--main) is built twice: against libhessrt
(serial) and against libhessrt-mpi with mpicc (-DHESSRT_MPI). On a random data set of 1000
rows (300 for pairs of rows; 101 and 50 where there are two row counts; raw float64 or CSV,
alternately), split over 2 and 3 ranks (1000 = 334 + 333 + 333: uneven):
  - `classify POINT --json` at a random point: loss, gradient and Hessian equal the serial
    run's to 1e-12 relative (of max(1, |value|), the largest entry for a vector);
  - `newton --method trust-region --json` from the start: the same status and verdict, and,
    where the serial run converged to a strict minimum, the final point to 1e-12 relative (the
    array-loop variants on 3 ranks only);
  - pairs of rows (a sum over rows inside a loop over rows: kde, pairs_rank, cross_counts,
    nested_rows) are split too: every rank's block visits the others round a ring;
  - in array-loop code, the Hessian of a loss not linear in its sums (a variance, a log of a
    mean) takes its columns as arrays inside the passes over rows: one message per stage, not
    one per column;
  - what cannot be split (tests/loops/three_levels.hl: a sum over rows inside a sum over rows
    inside a loop over rows, unrolled and in array loops) is refused with exit 2, said once, on
    every rank count, without hanging; any other loss refused is a failure.
Then the faults, on least squares: 2 rows on 3 ranks (rank 2 holds none) and 0 rows on 2
(rank 0, which adds the terms free of rows, holds none) against serial; a file missing on one
rank only (mpirun's MPMD form gives rank 1 another path); arguments that differ between ranks
(no hang); a raw file that is not a whole number of rows; a file shorter on rank 1 than on
rank 0; a CSV cell that is not a number (rank 0 reads the CSV); a rank killed mid-run (mpirun
must end, non-zero); and `hessgen run FILE --np 2`, and on 3 ranks a 48-parameter RankNet, whose
array-loop code passes the blocks round the ring. Last, --checked code (what `hessgen run`
builds): it agrees with serial, and a NaN made by a row on rank 1 is traced there and
reported by rank 0 with that rank's number.
"""
import json
import os
import random
import re
import signal
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "oracle"))
sys.path.insert(0, os.path.join(HERE, "..", "data"))
import hl2sympy  # noqa: E402
import check_data  # noqa: E402

HESSGEN, PROJECT, RTBUILD, WORK = sys.argv[1:5]
RT = os.path.join(PROJECT, "runtime")
# ob1 over shared memory: one machine; MPI_Init then skips probing for UCX (0.45 -> 0.25 s a run)
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_pml="ob1")
failures = []
checks = 0


def ok(cond, what):
    global checks
    checks += 1
    if not cond:
        failures.append(what)
        print("FAIL", what, flush=True)


def run(cmd, timeout=120, env=ENV):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %d s" % timeout


def mpirun(n, args, timeout=120):
    return run(["mpirun", "-n", str(n), "--oversubscribe"] + args, timeout)


def build(hl, tag, loops, checked=False):
    """The serial and the MPI program from one generated file."""
    d = os.path.join(WORK, tag)
    os.makedirs(d, exist_ok=True)
    c = os.path.join(d, "m.c")
    rc, so, se = run([HESSGEN, hl, "--main", "-o", c] + (["--loops=" + loops] if loops else [])
                     + (["--checked"] if checked else []))
    if rc != 0:
        return None
    serial, par = os.path.join(d, "serial"), os.path.join(d, "mpi")
    libs = ["-llapacke", "-lm"]
    rc1, _, e1 = run(["cc", "-O0", c, "-I" + RT, os.path.join(RTBUILD, "libhessrt.a")] + libs + ["-o", serial])
    rc2, _, e2 = run(["mpicc", "-O0", "-DHESSRT_MPI", c, "-I" + RT, "-I" + os.path.join(RT, "mpi"),
                      os.path.join(RTBUILD, "libhessrt-mpi.a"), os.path.join(RTBUILD, "libhessrt.a")]
                     + libs + ["-o", par])
    ok(rc1 == 0 and rc2 == 0, "%s: builds (%s%s)" % (tag, e1[:300], e2[:300]))
    return (d, serial, par) if rc1 == 0 and rc2 == 0 else None


def write_data(d, model, ds, raw):
    """One file per array: raw little-endian float64 or CSV (with a header line)."""
    specs = []
    for decl in model.data:
        vals = ds.values[decl.name]
        path = os.path.join(d, decl.name + (".f64" if raw else ".csv"))
        if raw:
            with open(path, "wb") as f:
                f.write(struct.pack("<%dd" % len(vals), *vals))
        else:
            w = decl.width
            with open(path, "w") as f:
                f.write(",".join("c%d" % k for k in range(w)) + "\n")
                for r in range(0, len(vals), w):
                    f.write(",".join(repr(x) for x in vals[r:r + w]) + "\n")
        specs += ["--data", "%s=%s" % (decl.name, path)]
    return specs


def rel(a, b):
    if isinstance(b, list):
        scale = max([1.0] + [abs(x) for x in b])
        return max(abs(x - y) for x, y in zip(a, b)) / scale if b else 0.0
    return abs(a - b) / max(1.0, abs(b))


def as_json(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


def compare_classify(tag, serial, par, specs, point):
    rc, so, se = run([serial, "classify", point, "--json"] + specs)
    s = as_json(so)
    ok(s is not None, "%s: serial classify (%s)" % (tag, se[:200]))
    if s is None:
        return
    for n in (2, 3):
        rc, po, pe = mpirun(n, [par, "classify", point, "--json"] + specs)
        p = as_json(po)
        ok(p is not None, "%s, %d ranks: classify gives JSON (rc %d: %s)" % (tag, n, rc, pe[:300]))
        if p is None:
            continue
        for key in ("loss", "gradient", "hessian"):
            if s[key] is None or p[key] is None:
                ok(s[key] == p[key], "%s, %d ranks: %s %s vs serial %s" % (tag, n, key, p[key], s[key]))
                continue
            e = rel(p[key], s[key])
            ok(e <= 1e-12, "%s, %d ranks: %s differs from serial by %.3g relative" % (tag, n, key, e))
        ok(p["verdict"] == s["verdict"], "%s, %d ranks: verdict %s, serial %s" % (tag, n, p["verdict"], s["verdict"]))


def compare_newton(tag, serial, par, specs, ranks=(2, 3)):
    cmd = ["newton", "--method", "trust-region", "--json"] + specs
    rc, so, se = run([serial] + cmd)
    s = as_json(so)
    ok(s is not None, "%s: serial newton (%s)" % (tag, se[:200]))
    if s is None:
        return
    strict = s["status"] == "converged" and s["verdict"] == "min"
    for n in ranks:
        rc2, po, pe = mpirun(n, [par] + cmd)
        p = as_json(po)
        ok(p is not None and rc2 == rc, "%s, %d ranks: newton exits %d as serial %d (%s)" % (tag, n, rc2, rc, pe[:200]))
        if p is None:
            continue
        ok(p["status"] == s["status"], "%s, %d ranks: newton %s, serial %s" % (tag, n, p["status"], s["status"]))
        if strict:
            ok(p["verdict"] == "min", "%s, %d ranks: verdict %s, serial min" % (tag, n, p["verdict"]))
            e = rel(p["theta"], s["theta"])
            ok(e <= 1e-12, "%s, %d ranks: the final point differs from serial by %.3g relative" % (tag, n, e))
    return strict


# what hessgen refuses to split, and why (the message's words); any other refusal fails
REFUSED = {"three_levels": "three levels of rows", "three_levels_loops": "cannot share yet"}


def check_loss(hl, loops=None):
    name = os.path.splitext(os.path.basename(hl))[0] + ("_loops" if loops else "")
    model = hl2sympy.parse_data_file(hl)
    ranges, tbox = check_data.parse_directives(hl, model)
    b = build(hl, name, loops)
    if not b:
        return
    d, serial, par = b
    with open(os.path.join(d, "m.c")) as f:
        text = f.read()
    # pairs of rows (every row with every row, round the ring) on 300 rows: 9e4 pairs per sum
    rows = 300 if re.search(r"_visit\d+\(|\bring0_on\b", text) else 1000
    counts = {s: (rows if len(model.sizes) == 1 else 101 - 51 * k) for k, s in enumerate(model.sizes)}
    ds = check_data.make_dataset(model, ranges, name, counts, seed=len(name))
    raw = len(name) % 2 == 0
    specs = write_data(d, model, ds, raw)
    splittable = "_data_part_any, NULL,\n" in text
    ok(splittable == (name not in REFUSED), "%s: %s" % (name, "refused" if not splittable else "split"))
    if not splittable:  # refused on every rank count, said once
        for n in (2, 3):
            rc, po, pe = mpirun(n, [par, "classify", "--json"] + specs, timeout=60)
            ok(rc == 2 and pe.count("cannot be split across ranks: ") == 1 and po == "",
               "%s, %d ranks: refused once with exit 2 (rc %d: %s)" % (name, n, rc, pe[:300]))
            ok(REFUSED.get(name, "?") in pe, "%s, %d ranks: refused for its reason (%s)" % (name, n, pe[:300]))
        print("%-28s refused: %s" % (name, pe.strip().split(": ", 3)[-1][:60]), flush=True)
        return
    rng = random.Random(name)
    point = ",".join(repr(rng.uniform(*tbox)) for _ in model.names)
    compare_classify(name, serial, par, specs, point)
    # (array-loop code: Newton on 3 ranks only, its values at a point on 2 and 3: CI's time)
    strict = compare_newton(name, serial, par, specs, (3,) if loops else (2, 3))
    print("%-28s %s, %s" % (name, "raw" if raw else "csv",
                            "newton's minimum compared" if strict else "newton's status compared"), flush=True)


def rank1_differs(par, data0, data1):
    """classify on 2 ranks, rank 1 given other --data than rank 0 (mpirun's MPMD form)."""
    def ranks(data):
        return ["-n", "1", par, "classify"] + [a for spec in data for a in ("--data", spec)]
    return run(["mpirun"] + ranks(data0) + [":"] + ranks(data1), timeout=60)


def faults():
    hl = os.path.join(PROJECT, "tests", "data", "least_squares.hl")
    model = hl2sympy.parse_data_file(hl)
    ranges, _ = check_data.parse_directives(hl, model)
    b = build(hl, "faults", None)
    if not b:
        return
    d, serial, par = b
    # 2 rows over 3 ranks: rank 2 holds none of them; 0 rows (a sum allows them) over 2
    ds = check_data.make_dataset(model, ranges, "tiny", {"n": 2}, seed=5)
    specs = write_data(d, model, ds, True)
    compare_classify("2 rows on 3 ranks", serial, par, specs, "0.1,0.2,0.3,0.4")
    ds = check_data.make_dataset(model, ranges, "none", {"n": 0}, seed=5)
    specs = write_data(d, model, ds, True)
    compare_classify("0 rows on 2 and 3 ranks", serial, par, specs, "0.1,0.2,0.3,0.4")
    ds = check_data.make_dataset(model, ranges, "big", {"n": 40000}, seed=6)
    specs = write_data(d, model, ds, True)
    X = os.path.join(d, "X.f64")
    y = os.path.join(d, "y.f64")
    # a file missing on rank 1 only
    missing = os.path.join(d, "nowhere.f64")
    rc, so, se = rank1_differs(par, ["X=" + X, "y=" + y], ["X=" + missing, "y=" + y])
    ok(rc == 2 and se.count("rank 1 of 2: %s: cannot open" % missing) == 1,
       "a file missing on rank 1: exit 2 with rank 1's message once (rc %d: %s)" % (rc, se[:400]))
    # arguments that differ between ranks: rank 1 names an array the model does not have
    rc, so, se = rank1_differs(par, ["X=" + X, "y=" + y], ["X=" + X, "yy=" + y])
    ok(rc == 2 and se.count("rank 1 of 2: 'yy' is not a data array of model") == 1,
       "arguments that differ on rank 1: exit 2, said once, no hang (rc %d: %s)" % (rc, se[:400]))
    # a file shorter on rank 1 than on rank 0
    short = os.path.join(d, "short.f64")
    with open(X, "rb") as f, open(short, "wb") as g:
        g.write(f.read()[:8 * 3 * 39000])
    rc, so, se = rank1_differs(par, ["X=" + X, "y=" + y], ["X=" + short, "y=" + y])
    ok(rc == 2 and se.count("has 39000 rows here but 40000 on rank 0") == 1,
       "a file shorter on rank 1: exit 2, said once (rc %d: %s)" % (rc, se[:400]))
    # a raw file that is not a whole number of rows
    torn = os.path.join(d, "torn.f64")
    with open(X, "rb") as f, open(torn, "wb") as g:
        g.write(f.read()[:8 * 3 * 100 + 16])
    rc, so, se = mpirun(3, [par, "classify", "--data", "X=" + torn, "--data", "y=" + y], timeout=60)
    ok(rc == 2 and se.count("is not a whole number of rows of 3 float64 values") == 1,
       "a torn raw file: exit 2, said once (rc %d: %s)" % (rc, se[:400]))
    # a CSV cell that is not a number: rank 0 reads the CSV
    bad = os.path.join(d, "bad.csv")
    with open(bad, "w") as f:
        f.write("1,2,3\n4,x5,6\n")
    rc, so, se = mpirun(2, [par, "classify", "--data", "X=" + bad, "--data", "y=" + y], timeout=60)
    ok(rc == 2 and se.count("bad.csv: line 2, column 2: 'x5' is not a finite number") == 1,
       "a bad CSV cell: exit 2 with its line and column, once (rc %d: %s)" % (rc, se[:400]))
    # arrays sharing a row count with different counts
    ds2 = check_data.make_dataset(model, ranges, "other", {"n": 10}, seed=7)
    odir = os.path.join(d, "other")
    os.makedirs(odir, exist_ok=True)
    other = write_data(odir, model, ds2, True)
    rc, so, se = mpirun(2, [par, "classify", "--data", "X=" + X, other[2], other[3]], timeout=60)
    ok(rc == 2 and "share the row count 'n'" in se, "row counts that disagree: exit 2 (rc %d: %s)" % (rc, se[:300]))
    # a rank killed mid-run: mpirun ends, non-zero, and nothing hangs
    p = subprocess.Popen(["mpirun", "-n", "2", "--oversubscribe", par, "gd", "--step", "1e-9", "--max-iter",
                          "10000000", "--ftol", "0", "--xtol", "0", "--data", "X=" + X, "--data", "y=" + y], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, env=ENV)
    time.sleep(2.0)
    victims = subprocess.run(["pgrep", "-f", "-n", "^%s gd" % par], capture_output=True, text=True).stdout.split()
    ok(len(victims) == 1, "a rank's process found to kill (%s)" % victims)
    for v in victims:
        os.kill(int(v), signal.SIGKILL)
    try:
        p.wait(timeout=60)
        ok(p.returncode != 0, "a killed rank: mpirun exits non-zero (%d)" % p.returncode)
    except subprocess.TimeoutExpired:
        p.kill()
        ok(False, "a killed rank: mpirun still running 60 s later")
    # hessgen run --np
    cache = os.path.join(WORK, "cache")
    env = dict(ENV, HESSGEN_CACHE=cache)
    rc, so, se = run([HESSGEN, "run", hl, "--np", "2", "classify", "0.1,0.2,0.3,0.4", "--json"] + specs, env=env)
    rc2, so2, se2 = run([serial, "classify", "0.1,0.2,0.3,0.4", "--json"] + specs)
    a, s = as_json(so), as_json(so2)
    ok(a is not None and s is not None and rel(a["hessian"], s["hessian"]) <= 1e-12,
       "hessgen run --np 2 classify agrees with serial (rc %d: %s)" % (rc, se[:300]))
    rc, so, se = run([HESSGEN, "run", hl, "--np", "0", "classify"] + specs, env=env)
    ok(rc == 2 and "--np takes a number of processes" in se, "--np 0 refused (rc %d: %s)" % (rc, se[:200]))
    # pairs of rows over 48 coupled parameters: array loops by default, their ring over 3 ranks
    # against the serial run
    rank48 = os.path.join(d, "rank48.hl")
    with open(rank48, "w") as f:
        f.write("param w[48];\ndata X[n][48], r[n];\ndef score(i) = sum(j, w[j]*X[i][j]);\n"
                "loss mean(i, mean(k, softplus(-(r[i] - r[k])*(score(i) - score(k))))) + sum(j, w[j]^2)/100;\n")
    rng = random.Random(48)
    X48 = [rng.uniform(-1, 1) for _ in range(61 * 48)]
    r48 = [rng.uniform(0, 3) for _ in range(61)]
    with open(os.path.join(d, "X48.f64"), "wb") as f:
        f.write(struct.pack("<%dd" % len(X48), *X48))
    with open(os.path.join(d, "r48.f64"), "wb") as f:
        f.write(struct.pack("<%dd" % len(r48), *r48))
    spec48 = ["--data", "X=" + os.path.join(d, "X48.f64"), "--data", "r=" + os.path.join(d, "r48.f64")]
    point = ",".join("%.3f" % (0.1 * ((k * 7) % 11 - 5)) for k in range(48))
    rc, so, se = run([HESSGEN, "run", rank48, "--np", "3", "classify", point, "--json"] + spec48, env=env)
    rc2, so2, se2 = run([HESSGEN, "run", rank48, "classify", point, "--json"] + spec48, env=env)
    a, s = as_json(so), as_json(so2)
    ok(a is not None and s is not None and rel(a["hessian"], s["hessian"]) <= 1e-12
       and rel(a["gradient"], s["gradient"]) <= 1e-12 and rel([a["loss"]], [s["loss"]]) <= 1e-12,
       "RankNet over 48 parameters (array loops) on 3 ranks agrees with serial (rc %d %d: %s)" % (rc, rc2, se[:300]))
    print("faults: checked", flush=True)


def checked():
    """--checked code over ranks: the same values, and a NaN traced on the rank that made it."""
    hl = os.path.join(PROJECT, "tests", "data", "logs.hl")
    b = build(hl, "checked", None, checked=True)
    if not b:
        return
    d, serial, par = b
    rng = random.Random(9)
    x = [rng.uniform(0.1, 1) for _ in range(100)]
    yv = [rng.uniform(0.1, 1) for _ in range(100)]
    for name, vals in (("x", x), ("y", yv)):
        with open(os.path.join(d, name + ".f64"), "wb") as f:
            f.write(struct.pack("<100d", *vals))
    specs = ["--data", "x=" + os.path.join(d, "x.f64"), "--data", "y=" + os.path.join(d, "y.f64")]
    compare_classify("checked logs", serial, par, specs, "0.1,0.2")
    x[95] = -0.9  # log(x + a^2) is NaN at row 95, which rank 1 holds
    with open(os.path.join(d, "x.f64"), "wb") as f:
        f.write(struct.pack("<100d", *x))
    rc, so, se = run([serial, "classify", "0.1,0.2", "--json"] + specs)
    s = as_json(so)
    rc, po, pe = mpirun(2, [par, "classify", "0.1,0.2", "--json"] + specs)
    p = as_json(po)
    ok(s is not None and p is not None and p["fault"] == "(rank 1 of 2) " + s["fault"],
       "a NaN from rank 1's rows: traced there (%s / %s)" % (p and p["fault"], s and s["fault"]))
    print("checked: compared", flush=True)


def main():
    os.makedirs(WORK, exist_ok=True)
    data_dir = os.path.join(PROJECT, "tests", "data")
    for f in sorted(os.listdir(data_dir)):
        if f.endswith(".hl"):
            check_loss(os.path.join(data_dir, f))
    for f in ("nested_rows", "fixed_data"):
        check_loss(os.path.join(PROJECT, "tests", "loops", f + ".hl"))
    for f in ("least_squares", "variance", "logsumexp", "ratio_means", "gauss_nll", "tanh_classifier", "kde",
              "pairs_rank", "cross_counts", "pairs_table"):
        check_loss(os.path.join(data_dir, f + ".hl"), loops="always")
    three = os.path.join(PROJECT, "tests", "loops", "three_levels.hl")
    check_loss(three)
    check_loss(three, loops="always")
    faults()
    checked()
    print("%d checks, %d failed" % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
