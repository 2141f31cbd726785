#!/usr/bin/env python3
"""Benchmark of a loss over run-time data (issue 6): logistic regression, 50 features,
100000 rows. Called by bench/data/run.sh, which installs ADOL-C first; writes
bench/data/README.md.

    bench.py --hessgen PATH [--rows N] [--reps R] [--adolc-reps R] [--quiet-wait S]
             [--no-adolc] [--adolc-skip-reason TEXT] [--no-callgrind] [--keep DIR] [--out FILE]

Steps: generate the C of logreg50.hl; build the drivers (the generated file at -O2, at -O3
-march=native and at -O2 -fopenmp; the hand-written BLAS peer; the information-only shapes;
the ADOL-C driver); check every result against the generated one; time; count instructions
with callgrind on fewer rows; look at the generated row loop's machine code; write the report.
Fails (exit 1, no report) if any check fails."""
import argparse
import concurrent.futures
import datetime
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
CC = os.environ.get("CC", "cc")
CXX = os.environ.get("CXX", "c++")
FLAVOURS = {  # name: flags of the generated file and of the information-only shapes
    "O2": ["-O2"],
    "O3n": ["-O3", "-march=native"],
    "O2ns": ["-O2", "-fno-tree-slp-vectorize"],  # information: gcc's SLP pass on straight lines
}
FLAVOUR_LABEL = {"O2": "`-O2`", "O3n": "`-O3 -march=native`",
                 "O2ns": "`-O2 -fno-tree-slp-vectorize`"}
OMP_FLAGS = ["-O2", "-fopenmp"]
CALLGRIND_ROWS = 2000
METHOD_FN = {"gen": "lr_hess", "blas": "hand_hess", "rank1": "loops_rank1",
             "rank1x4": "loops_rank1x4", "unrolled": "unrolled_hess"}


def die(msg):
    print("bench.py: " + msg, file=sys.stderr)
    sys.exit(1)


def run(cmd, cwd=None, env=None, check=True):
    """runs cmd; returns stdout; dies with its output if it fails and check is set.
    OPENBLAS_NUM_THREADS is 1 unless env says otherwise: OpenBLAS's worker threads, once woken,
    spin (sched_yield) for a while after each call, which would take CPU from whatever the
    process times next; with 1 they are never created."""
    e = dict(os.environ)
    e["OPENBLAS_NUM_THREADS"] = "1"
    if env:
        e.update(env)
    p = subprocess.run(cmd, cwd=cwd, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    if check and p.returncode != 0:
        die("command failed (%d): %s\n%s%s" % (p.returncode, " ".join(cmd), p.stdout,
                                              p.stderr))
    return p.stdout if check else p


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    except OSError:
        return ""


def loadavg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def cpu_busy():
    """(busy seconds of the whole machine from /proc/stat, CPU seconds of our finished children
    and of ourselves, wall clock)"""
    try:
        f = open("/proc/stat").readline().split()
        busy = sum(int(x) for x in f[1:9]) - int(f[4]) - int(f[5])  # all but idle, iowait
        busy /= os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        busy = float("nan")
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    m = resource.getrusage(resource.RUSAGE_SELF)
    return busy, c.ru_utime + c.ru_stime + m.ru_utime + m.ru_stime, time.perf_counter()


def others_cores(before, after):
    """cores' worth of CPU used by other processes between two cpu_busy() snapshots"""
    wall = after[2] - before[2]
    if wall <= 0:
        return float("nan")
    return max(0.0, ((after[0] - before[0]) - (after[1] - before[1])) / wall)


def wait_quiet(limit_s):
    """waits up to limit_s seconds for a 5-second window in which other processes use less than
    0.25 of a core; returns the seconds waited and the last window's figure"""
    t0 = time.perf_counter()
    while True:
        a = cpu_busy()
        time.sleep(5)
        o = others_cores(a, cpu_busy())
        waited = time.perf_counter() - t0
        if o < 0.25 or waited >= limit_s:
            return waited, o


def pkg_flags(name, fallback_c, fallback_l):
    c = sh("pkg-config --cflags %s" % name)
    l = sh("pkg-config --libs %s" % name)
    return (c.split() if c else fallback_c), (l.split() if l else fallback_l)


def timed_compile(cmd, cwd):
    t0 = time.perf_counter()
    run(cmd, cwd=cwd)
    return time.perf_counter() - t0


def parse_time(out):
    """lines 'METHOD median_s M runs_s a b c' and 'METHOD cpu_median_s C'
    -> {METHOD: (median, [runs], cpu median)}"""
    res, cpu = {}, {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 4 and f[1] == "median_s":
            res[f[0]] = (float(f[2]), [float(x) for x in f[4:]])
        elif len(f) == 3 and f[1] == "cpu_median_s":
            cpu[f[0]] = float(f[2])
    return {m: (v[0], v[1], cpu.get(m, float("nan"))) for m, v in res.items()}


def kv(out, key):
    for line in out.splitlines():
        if line.startswith(key + " "):
            return line[len(key) + 1:]
    return None


def callgrind(binary, method, rows, calls, cwd):
    out = os.path.join(cwd, "cg.out")
    p = run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
             "--toggle-collect=" + METHOD_FN[method], binary, "calls", method, str(rows),
             str(calls)], cwd=cwd, env={"OPENBLAS_NUM_THREADS": "1"}, check=False)
    if p.returncode != 0:
        die("callgrind failed on %s %s:\n%s" % (binary, method, p.stderr[-2000:]))
    m = re.search(r"Collected : (\d+)", p.stderr)
    if not m:
        die("no callgrind total for %s" % method)
    os.remove(out)
    return int(m.group(1))


def loop_stats(obj, fn, cwd):
    """The machine code of fn's longest loop (the row loop): instructions, bytes, and counts of
    a few kinds. Found as the backward conditional jump spanning the most instructions."""
    txt = run(["objdump", "-d", "--no-show-raw-insn", "--disassemble=" + fn, obj], cwd=cwd)
    ins = []
    for line in txt.splitlines():
        m = re.match(r"\s+([0-9a-f]+):\s+(\S+)\s*(.*)", line)
        if m:
            ins.append((int(m.group(1), 16), m.group(2), m.group(3)))
    if not ins:
        return None
    idx = {a: k for k, (a, _, _) in enumerate(ins)}
    best = None
    for k, (a, op, args) in enumerate(ins):
        if op.startswith("j") and op != "jmp":  # a loop ends with a conditional jump
            m = re.match(r"([0-9a-f]+)\s", args + " ")
            if m:
                tgt = int(m.group(1), 16)
                if tgt < a and tgt in idx and (best is None or k - idx[tgt] > best[1] - best[0]):
                    best = (idx[tgt], k)
    if best is None:
        return None
    body = ins[best[0]:best[1] + 1]
    nbytes = (ins[best[1] + 1][0] if best[1] + 1 < len(ins) else body[-1][0] + 4) - body[0][0]

    def count(pred):
        return sum(1 for _, op, args in body if pred(op, args))

    mul = count(lambda op, a: re.match(r"v?mul[sp]d$", op) is not None)
    fma = count(lambda op, a: re.match(r"vf(n?)m(add|sub)\d+[sp]d$", op) is not None)
    add = count(lambda op, a: re.match(r"v?(add|sub)[sp]d$", op) is not None)
    packed = count(lambda op, a: re.match(r"v?(mul|add|sub)pd$|vf(n?)m(add|sub)\d+pd$", op)
                   is not None)
    mov = count(lambda op, a: "mov" in op or "unpck" in op or "insert" in op or "extract" in op
                or "shuf" in op or "perm" in op or "broadcast" in op)
    stack = count(lambda op, a: "(%rsp)" in a or "(%rbp)" in a)
    calls = count(lambda op, a: op.startswith("call"))
    return {"ins": len(body), "bytes": nbytes, "mul": mul, "fma": fma, "add": add,
            "packed": packed, "mov": mov, "stack": stack, "calls": calls}


def extract_hess(src, dst, prefix="lr"):
    """Writes dst: the generated file with only PREFIX_hess of the evaluation functions.
    Removed: the definitions of the other API functions (_loss, _grad, _hvp, _hess_sparse,
    _hess_values, _hess_row_range), every `_any` wrapper and the model struct that points to
    them; kept byte for byte: includes, types, static helpers, data checks, PREFIX_hess. cc then
    compiles one function instead of seven (several minutes for a whole file whose row loops are
    blocked); PREFIX_hess is the same C either way. Returns the sizes of src and dst."""
    drop = {prefix + "_" + n for n in ("loss", "grad", "hvp", "hess_sparse", "hess_values",
                                       "hess_row_range")}
    head = re.compile(r"^(static |extern )?[A-Za-z_][\w *]*?\b(\w+)\(.*\)$")
    lines = open(src).read().split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        m = head.match(line)
        if m and i + 1 < len(lines) and lines[i + 1] == "{":
            j = i + 1
            while lines[j] != "}":
                j += 1
            name = m.group(2)
            if not (name in drop or (name.startswith(prefix + "_") and name.endswith("_any"))):
                out.extend(lines[i:j + 1])
            i = j + 1
            continue
        if line.startswith("const hessgen_model %s_model = {" % prefix):
            while lines[i] != "};":
                i += 1
            i += 1
            continue
        out.append(line)
        i += 1
    text = "\n".join(out)
    if not re.search(r"^double %s_hess\(" % prefix, text, re.M):
        die("extract_hess: no %s_hess definition in %s" % (prefix, src))
    open(dst, "w").write(text)
    return os.path.getsize(src), os.path.getsize(dst)


def row_loop_function(path, fn="lr_hess"):
    """The function that holds fn's row loop: hessgen writes an outermost loop over rows as a
    function of its own (`lr_rowsK`) that fn calls; older versions kept it inside fn."""
    text = open(path).read()
    m = re.search(r"^double %s\([^;\n]*\)\n\{\n(.*?)^\}" % fn, text, re.M | re.S)
    called = re.findall(r"\b(lr_rows\d+)\(", m.group(1)) if m else []
    return called[0] if called else fn


def c_loop_stats(path, fn):
    """In the generated C: the statements of fn's first row loop (the first `for (size_t r0`
    loop). Each statement computes one value for each row of a block (`r0 += K`, then
    `for (int l = 0; l < K; l++)`), or for one row (K = 1): the counts are per row."""
    lines = open(path).read().split("\n")
    start = next(k for k, l in enumerate(lines)
                 if re.match(r"(static \w+ )?(double|void) %s\(" % fn, l) and k + 1 < len(lines)
                 and lines[k + 1] == "{")
    k = next(j for j in range(start, len(lines)) if "for (size_t r0" in lines[j])
    m = re.search(r"r0 \+= (\d+)", lines[k])
    block = int(m.group(1)) if m else 1
    body = []
    for j in range(k + 1, len(lines)):
        if lines[j] == "    }":
            break
        body.append(lines[j].strip())
    assign = re.compile(r"^(const double )?t\d+(\[l\])? = (.*);$")
    temps, accs, arith, first_acc = 0, 0, [], None
    for l in body:
        ma = assign.match(l)
        if ma:
            temps += 1
            arith.append(re.sub(r"\[[^\]]*\]", "[]", ma.group(3)))  # not index arithmetic
        elif l.startswith("s0[") and "+=" in l:
            accs += 1
            if first_acc is None:
                first_acc = temps
    return {"block": block, "temps": temps, "acc": accs,
            "muls": sum(a.count(" * ") for a in arith),
            "adds": sum(a.count(" + ") for a in arith),
            "temps_before_first_acc": temps if first_acc is None else first_acc,
            "sigmoid": sum(len(re.findall(r"_sigmoid\(", l)) for l in body),
            "softplus": sum(len(re.findall(r"_softplus\(", l)) for l in body)}


def l1i_bytes():
    """the L1 instruction cache of cpu0, from sysfs (None if unknown)"""
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for d in sorted(os.listdir(base)):
            p = os.path.join(base, d)
            if not d.startswith("index"):
                continue
            if (open(os.path.join(p, "level")).read().strip() == "1" and
                    open(os.path.join(p, "type")).read().strip() == "Instruction"):
                v = open(os.path.join(p, "size")).read().strip()
                return int(v[:-1]) * 1024 if v.endswith("K") else int(v)
    except (OSError, ValueError):
        pass
    return None


def fmt_s(x):
    if x >= 1:
        return "%.2f s" % x
    if x >= 1e-3:
        return "%.1f ms" % (x * 1e3)
    return "%.1f us" % (x * 1e6)


def fmt_runs(runs):
    return ", ".join("%.1f" % (r * 1e3) for r in runs) + " ms"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hessgen", required=True)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--adolc-reps", type=int, default=7)
    ap.add_argument("--no-adolc", action="store_true")
    ap.add_argument("--adolc-skip-reason", default="")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--keep", help="build in DIR and keep it")
    ap.add_argument("--quiet-wait", type=float, default=120.0,
                    help="before timing, wait up to this many seconds for other processes to "
                         "leave the CPUs alone")
    ap.add_argument("--out", default=os.path.join(HERE, "README.md"))
    a = ap.parse_args()
    if a.reps < 7:
        die("--reps must be at least 7")
    t_start = time.perf_counter()
    N, R = a.rows, a.reps
    started = datetime.datetime.now(datetime.timezone.utc)
    load0 = loadavg()
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        B = os.path.abspath(a.keep)
    else:
        B = tempfile.mkdtemp(prefix="hessgen-bench-data-")
    print("bench.py: building in", B, flush=True)

    # ---- 1. generate
    hl = os.path.join(HERE, "logreg50.hl")
    t0 = time.perf_counter()
    # the unrolled row loops of issue 6 (--loops=auto now writes array loops for this model:
    # bench/mlp/eval.py and issue 15's notes compare the two)
    run([a.hessgen, hl, "-o", "lr.c", "--header", "lr.h", "--prefix", "lr", "--loops=never"], cwd=B)
    gen_s = time.perf_counter() - t0
    run([sys.executable, os.path.join(HERE, "unrolled.py"), "unrolled.c"], cwd=B)
    gen_bytes, hess_bytes = extract_hess(os.path.join(B, "lr.c"), os.path.join(B, "lr_hess.c"))
    loop_fn = row_loop_function(os.path.join(B, "lr.c"))
    cstat = c_loop_stats(os.path.join(B, "lr.c"), loop_fn)

    # ---- 2. build
    blas_c, blas_l = pkg_flags("openblas", ["-I/usr/include/x86_64-linux-gnu/openblas-pthread"],
                               ["-lopenblas"])
    inc = ["-I" + B, "-I" + HERE]
    warn = ["-Wall", "-Wextra"]
    jobs = {  # object: command
        "lr_O2.o": [CC] + FLAVOURS["O2"] + ["-c", "lr_hess.c", "-o", "lr_O2.o"],
        "lr_O3n.o": [CC] + FLAVOURS["O3n"] + ["-c", "lr_hess.c", "-o", "lr_O3n.o"],
        "lr_O2ns.o": [CC] + FLAVOURS["O2ns"] + ["-c", "lr_hess.c", "-o", "lr_O2ns.o"],
        "lr_omp.o": [CC] + OMP_FLAGS + ["-c", "lr_hess.c", "-o", "lr_omp.o"],
        "hand.o": [CC, "-O2"] + warn + inc + blas_c + ["-c", os.path.join(HERE, "lr_hand.c"),
                                                      "-o", "hand.o"],
        "bench.o": [CC, "-O2"] + warn + inc + blas_c + ["-c", os.path.join(HERE, "lr_bench.c"),
                                                       "-o", "bench.o"],
        "bench_omp.o": [CC, "-O2", "-fopenmp"] + warn + inc + blas_c +
                       ["-c", os.path.join(HERE, "lr_bench.c"), "-o", "bench_omp.o"],
    }
    for fl, flags in FLAVOURS.items():
        jobs["loops_%s.o" % fl] = [CC] + flags + warn + inc + [
            "-c", os.path.join(HERE, "lr_loops.c"), "-o", "loops_%s.o" % fl]
        jobs["unrolled_%s.o" % fl] = [CC] + flags + ["-c", "unrolled.c", "-o",
                                                     "unrolled_%s.o" % fl]
    have_adolc = not a.no_adolc
    if have_adolc:
        jobs["adolc.o"] = [CXX, "-O2", "-Wall"] + inc + [
            "-c", os.path.join(HERE, "lr_adolc.cpp"), "-o", "adolc.o"]
    print("bench.py: compiling ...", flush=True)
    ctime = {}
    order = sorted(jobs, key=lambda o: not o.startswith("lr_"))  # the long ones first
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        futs = {o: ex.submit(timed_compile, jobs[o], B) for o in order}
        for o, f in futs.items():
            ctime[o] = f.result()
    now = ["-Wl,-z,now"]
    for fl in FLAVOURS:
        run([CC, "-o", "lr_bench_" + fl, "bench.o", "hand.o", "lr_%s.o" % fl, "loops_%s.o" % fl,
             "unrolled_%s.o" % fl] + now + blas_l + ["-lm"], cwd=B)
    run([CC, "-fopenmp", "-o", "lr_bench_omp", "bench_omp.o", "hand.o", "lr_omp.o",
         "loops_O2.o", "unrolled_O2.o"] + now + blas_l + ["-lm"], cwd=B)
    if have_adolc:
        # plain -ladolc: Debian's adolc.pc also names -lboost_system, which the package does
        # not pull in and the library does not need
        run([CXX, "-o", "lr_adolc", "adolc.o", "lr_O2.o"] + now + ["-ladolc", "-lm"], cwd=B)
    exe = lambda name: os.path.join(B, name)

    # ---- 3. checks
    print("bench.py: checking ...", flush=True)
    info = run([exe("lr_bench_O2"), "info"], cwd=B)
    checks = {fl: run([exe("lr_bench_" + fl), "check", str(N)], cwd=B) for fl in FLAVOURS}

    # ---- 4. timings (serial)
    quiet = None
    if a.quiet_wait > 0:
        print("bench.py: waiting up to %.0f s for a quiet machine ..." % a.quiet_wait, flush=True)
        quiet = wait_quiet(a.quiet_wait)
    print("bench.py: timing (%d rows, %d rounds) ..." % (N, R), flush=True)
    busy = {}
    b0 = cpu_busy()
    shapes = ["rank1", "rank1x4", "unrolled"]
    T = {}
    T["O2"] = parse_time(run([exe("lr_bench_O2"), "time", str(N), str(R), "gen", "blas"] +
                             shapes, cwd=B))
    T["O3n"] = parse_time(run([exe("lr_bench_O3n"), "time", str(N), str(R), "gen", "blas"] +
                              shapes, cwd=B))
    T["O2ns"] = parse_time(run([exe("lr_bench_O2ns"), "time", str(N), str(R), "gen", "blas"],
                               cwd=B))
    T["blas2"] = parse_time(run([exe("lr_bench_O2"), "time", str(N), str(R), "blas2"], cwd=B,
                                env={"OPENBLAS_NUM_THREADS": "2"}))
    busy["serial"] = others_cores(b0, cpu_busy())

    # ---- 5. OpenMP
    quiet_omp = None
    if a.quiet_wait > 0:
        print("bench.py: waiting up to %.0f s for a quiet machine ..." % a.quiet_wait, flush=True)
        quiet_omp = wait_quiet(a.quiet_wait)
    print("bench.py: OpenMP ...", flush=True)
    run([exe("lr_bench_O2"), "dump", str(N), "serial.bin"], cwd=B)
    ompcmp = {}
    for th in (1, 2):
        ompcmp[th] = run([exe("lr_bench_omp"), "cmp", str(N), "serial.bin", "1e-12"], cwd=B,
                         env={"OMP_NUM_THREADS": str(th)})
    b0 = cpu_busy()
    omp_out = run([exe("lr_bench_omp"), "omp", str(N), str(R)], cwd=B,
                  env={"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": "passive"})
    busy["omp"] = others_cores(b0, cpu_busy())
    omp1 = float(kv(omp_out, "median_1_s"))
    omp2 = float(kv(omp_out, "median_2_s"))
    ompc1 = float(kv(omp_out, "cpu_median_1_s"))
    ompc2 = float(kv(omp_out, "cpu_median_2_s"))
    omp_runs1 = [float(x) for x in kv(omp_out, "runs_1_s").split()]
    omp_runs2 = [float(x) for x in kv(omp_out, "runs_2_s").split()]

    # ---- 6. ADOL-C
    ad = None
    if have_adolc:
        print("bench.py: ADOL-C ...", flush=True)
        probe_rows = max(1, N // 10)
        probe = run([exe("lr_adolc"), str(probe_rows), "1", "1"], cwd=B)
        projected = float(kv(probe, "hessian_median_s")) * N / probe_rows
        ad_rows = N if projected <= 30.0 else probe_rows
        b0 = cpu_busy()
        out = run([exe("lr_adolc"), str(ad_rows), str(a.adolc_reps), str(a.adolc_reps)], cwd=B)
        busy["adolc"] = others_cores(b0, cpu_busy())
        ad = {"rows": ad_rows, "projected": projected, "out": out,
              "tape_s": float(kv(out, "tape_s")),
              "hess": float(kv(out, "hessian_median_s")),
              "hess_runs": [float(x) for x in kv(out, "hessian_runs_s").split()],
              "hess_cpu": float(kv(out, "hessian_cpu_median_s")),
              "grad": float(kv(out, "gradient_median_s")),
              "stats": kv(out, "tapestats")}
        ad["scale"] = N / ad_rows
        if ad_rows != N:  # the generated code on the same rows, for a same-size ratio
            ad["gen_same"] = parse_time(run([exe("lr_bench_O2"), "time", str(ad_rows), str(R),
                                             "gen"], cwd=B))["gen"][0]
        ad["version"] = sh("dpkg-query -W -f='${Version}' libadolc-dev") or "?"

    # ---- 7. callgrind
    cg = {}
    cg_core = ""
    if not a.no_callgrind and shutil.which("valgrind"):
        print("bench.py: callgrind (%d rows) ..." % CALLGRIND_ROWS, flush=True)
        p = run(["valgrind", "-q", exe("lr_bench_O2"), "info"], cwd=B, check=False)
        cg_core = kv(p.stdout, "openblas_core") or "?"
        for m in ["gen", "blas"] + shapes:
            c1 = callgrind(exe("lr_bench_O2"), m, CALLGRIND_ROWS, 1, B)
            c2 = callgrind(exe("lr_bench_O2"), m, CALLGRIND_ROWS, 2, B)
            cg[m] = (c1, c2)

    # ---- 8. machine code of the row loops
    def symbol(obj, fn):
        """fn's symbol in obj: gcc may clone a static function (lr_rows2.constprop.0)."""
        names = re.findall(r"\s(\S+)$", run(["nm", obj], cwd=B), re.M)
        return next((n for n in names if n == fn or n.startswith(fn + ".")), fn)

    mc = {fl: loop_stats(os.path.join(B, "lr_%s.o" % fl), symbol(os.path.join(B, "lr_%s.o" % fl), loop_fn), B)
          for fl in FLAVOURS}
    mc_unrolled = loop_stats(os.path.join(B, "unrolled_O2.o"), "unrolled_hess", B)

    load1 = loadavg()
    total_s = time.perf_counter() - t_start

    # ---- report
    commit = sh("git -C %s rev-parse --short HEAD" % ROOT)
    dirty = sh("git -C %s status --porcelain -- src runtime" % ROOT)
    hv = sh("%s --version" % a.hessgen)
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    ccv = sh("%s --version | head -1" % CC)
    tgt = sh("%s -march=native -Q --help=target" % CC)
    m = re.search(r"^\s*-march=\s+(\S+)", tgt, re.M)
    native = m.group(1) if m else ""
    m = re.search(r"^\s*-mprefer-vector-width=\s+(\d+)", tgt, re.M)
    vwidth = m.group(1) if m else ""
    cores = sh("nproc")
    g = T["O2"]["gen"][0]
    b1 = T["O2"]["blas"][0]
    g3 = T["O3n"]["gen"][0]
    b3 = T["O3n"]["blas"][0]

    def verdict(ok):
        return "ok" if ok else "**MISS**"

    L = []
    w = L.append
    w("# Benchmark of a loss over run-time data: logistic regression, 50 features")
    w("")
    w("Generated by `bench/data/run.sh [HESSGEN]` (it calls `bench/data/bench.py`; %.0f s this "
      "time); every figure below is from the run of %s. Not part of the test run." %
      (total_s, started.strftime("%Y-%m-%d %H:%M UTC")))
    w("")
    w("```")
    w("bench/data/run.sh [HESSGEN] [-- --rows N --reps R --adolc-reps R --quiet-wait S "
      "--no-adolc --no-callgrind --keep DIR --out FILE]")
    w("```")
    w("")
    w("What issue 6 asks: on %d rows, the generated Hessian within **2 times** a hand-written "
      "one that uses BLAS (`X^T D X` through `dsyrk`), at least **10 times faster** than "
      "ADOL-C's `hessian` driver on a taped loop, and with OpenMP on 2 threads a speed-up over "
      "1 thread." % N)
    w("")
    w("| file | what |")
    w("|---|---|")
    w("| `run.sh` | installs Debian's `libadolc-dev` if missing (as root), then runs `bench.py` |")
    w("| `bench.py` | generates, builds, checks, times, counts; writes this file |")
    w("| `logreg50.hl` | the model: `param w[50], b; data X[n][50], y[n]; const lambda = 0.01; "
      "loss mean(i, softplus(-y[i]*(sum(j, w[j]*X[i][j]) + b))) + lambda/2*sum(j, w[j]^2);` |")
    w("| `common.h` | the data set, theta, timing, comparisons (C and C++) |")
    w("| `lr_bench.c` | driver: times and checks the generated `lr_hess` and the C peers |")
    w("| `lr_hand.c` | the hand-written BLAS peer |")
    w("| `lr_adolc.cpp` | the ADOL-C peer: tapes the loop, times `hessian` and `gradient` |")
    w("| `lr_loops.c`, `unrolled.py` | information only: other shapes of plain C for the same "
      "function (section 5) |")
    w("")
    w("| run | |")
    w("|---|---|")
    w("| date | %s |" % started.strftime("%Y-%m-%d %H:%M UTC"))
    w("| hessgen | %s, git %s%s |" % (hv, commit, " plus uncommitted changes in src/ or "
                                       "runtime/" if dirty else ""))
    w("| machine | Linux %s, `nproc` = %s, %s |" % (os.uname().machine, cores, cpu))
    w("| load average (start; end) | %s; %s |" % (load0, load1))
    w("| CPU used by other processes while timing (cores, average) | serial timings %.2f; "
      "OpenMP %.2f%s%s |" % (busy["serial"], busy["omp"],
                             "; ADOL-C %.2f" % busy["adolc"] if "adolc" in busy else "",
                             "" if quiet is None else
                             " (before each of the first two, waited for a 5 s window in "
                             "which others used under 0.25 of a core: %.0f s, then %.2f; "
                             "%.0f s, then %.2f)" % (quiet + quiet_omp)))
    w("| compiler | %s; `-march=native` is `%s` to it%s |" %
      (ccv, native or "?", ", preferred vector width %s bits" % vwidth if vwidth else ""))
    w("| BLAS | %s; core `%s` |" % (kv(info, "openblas_config"), kv(info, "openblas_core")))
    if ad:
        w("| ADOL-C | Debian's `libadolc-dev` %s |" % ad["version"])
    w("| generated C | `hessgen logreg50.hl --prefix lr --loops=never`: %.2f s, %d bytes (every API function); "
      "compiled: that file less the other evaluation functions (`lr_hess` alone, %d bytes; "
      "`bench.py: extract_hess`), `cc -O2 -c` %.0f s, `-O3 -march=native` %.0f s, `-O2 "
      "-fno-tree-slp-vectorize` %.0f s, `-O2 -fopenmp` %.0f s (two compiles at a time) |" %
      (gen_s, gen_bytes, hess_bytes, ctime["lr_O2.o"], ctime["lr_O3n.o"], ctime["lr_O2ns.o"],
       ctime["lr_omp.o"]))
    w("")
    w("## Method")
    w("")
    w("* **Data** (`common.h`): X[%d][50] row-major, uniform in [-1, 1), from splitmix64 with a "
      "fixed seed; y = +1 with probability sigmoid(x . u + 0.3) for a fixed u, else -1. theta: "
      "w_j = 0.3 sin(0.9 j + 1.1), b = -0.2. The same on every run." % N)
    w("* **What is timed**: one call computing the loss, the gradient and the dense 51 x 51 "
      "Hessian (both triangles): `lr_hess(theta, &data, grad, hess)`, and the same from each "
      "peer. Wall clock (`clock_gettime(CLOCK_MONOTONIC)`) around each call; one warm-up call, "
      "then %d rounds in one process, each round calling every method of the row once in turn, "
      "so that a burst of load from other processes hits them alike; the **median** of the %d "
      "is reported (section 2 also gives the minimum, and the median of the process's CPU "
      "time over the same calls, which waiting for the CPU does not change). The machine is shared: the CPU time "
      "that other processes used during the timings (from /proc/stat, less this benchmark's "
      "own) says how quiet it was; on %s cores, anything near 1 means the 2-thread figures "
      "had only part of a second core." % (R, R, cores))
    w("* **BLAS peer** (`lr_hand.c`): `z = X w` with `cblas_dgemv`; per row one `exp` and one "
      "`log1p` (softplus and sigmoid share `exp(-|m|)`), the gradient weight r_i and "
      "d_i = s(1-s) y_i^2 / n, the row `sqrt(d_i) (x_i, 1)` written into an n x 51 scratch "
      "matrix (allocated once, outside the timing); the gradient `X^T r` with a second "
      "`cblas_dgemv`; the Hessian `A^T A` with **one `cblas_dsyrk`** (lower), lambda on the "
      "diagonal, the upper triangle mirrored. OpenBLAS on **1 thread** "
      "(`OPENBLAS_NUM_THREADS=1` for every process but the one timing BLAS on 2 threads: "
      "OpenBLAS's worker threads, once woken, spin with `sched_yield` after each call and "
      "would take CPU from whatever is timed next) unless the row says 2. Compiled `-O2`: its time is "
      "OpenBLAS's, which picks its kernels at run time (`%s` here) whatever the flags." %
      kv(info, "openblas_core"))
    w("* **Generated code**: the generated file with `lr_hess` as its only evaluation function "
      "(the others removed, everything else kept byte for byte, so `lr_hess` is the same C), "
      "compiled once with `-O2` and once with `-O3 -march=native` (gcc's default in GNU C mode is already "
      "`-ffp-contract=fast`, so `-march=native` lets it contract to FMA; no separate build "
      "for that flag), linked with `-Wl,-z,now`.")
    w("* **Checks**: every peer's loss, gradient and Hessian against the generated ones. "
      "Passing means `|a - b| <= tol * S` for every value, S being the sum of the absolute "
      "values of the value's terms over the rows (`bd_scales` in `common.h`): that is what "
      "summing the same terms in another order can change (by a few eps times S). The plain "
      "entrywise relative difference `|a - b| / max(|a|, |b|)` is reported too: it is larger "
      "for the off-diagonal entries of uncorrelated features, which are small differences of "
      "large sums (e.g. -3e-6 from terms of total size 0.05). tol = 1e-10 for the BLAS and "
      "ADOL-C peers, 1e-12 for the OpenMP build against the serial one.")
    w("")

    # 1. headline
    w("## 1. Headline (%d rows; median of %d)" % (N, R))
    w("")
    w("| figure | value | target |")
    w("|---|---|---|")
    w("| generated `lr_hess`, `-O2` | %s | |" % fmt_s(g))
    w("| generated `lr_hess`, `-O3 -march=native` | %s | |" % fmt_s(g3))
    w("| hand-written BLAS (`dgemv` + `dsyrk`), 1 thread | %s (in the `-O3` binary's run: %s) "
      "| |" % (fmt_s(b1), fmt_s(b3)))
    w("| **generated `-O2` / BLAS** | **%.2f** | <= 2: %s |" % (g / b1, verdict(g / b1 <= 2)))
    w("| generated `-O3 -march=native` / BLAS (same run) | %.2f | <= 2: %s |" %
      (g3 / b3, verdict(g3 / b3 <= 2)))
    gns = T["O2ns"]["gen"][0]
    bns = T["O2ns"]["blas"][0]
    w("| generated `-O2 -fno-tree-slp-vectorize` / BLAS (same run) | %.2f (%s) | (information: "
      "section 5) |" % (gns / bns, fmt_s(gns)))
    w("| the first two ratios in CPU time (process CPU time per call, median) | %.2f; %.2f | "
      "(information: what load from other processes does not change) |" %
      (T["O2"]["gen"][2] / T["O2"]["blas"][2], T["O3n"]["gen"][2] / T["O3n"]["blas"][2]))
    if ad:
        adh = ad["hess"] * ad["scale"]
        w("| ADOL-C `hessian` on the taped loop%s | %s | |" %
          ("" if ad["scale"] == 1 else " (timed on %d rows, times %g)" % (ad["rows"],
                                                                         ad["scale"]),
           fmt_s(adh)))
        w("| **ADOL-C `hessian` / generated `-O2`** | **%.1f** | >= 10: %s |" %
          (adh / g, verdict(adh / g >= 10)))
    else:
        w("| ADOL-C | skipped: %s | >= 10: not measured |" % (a.adolc_skip_reason or
                                                              "--no-adolc"))
    w("| **OpenMP: 1 thread / 2 threads** (generated, `-O2 -fopenmp`) | **%.2f** (%s / %s) | "
      "a speed-up |" % (omp1 / omp2, fmt_s(omp1), fmt_s(omp2)))
    w("| OpenMP: CPU time of a call on 2 threads / on 1 thread | %.2f (%s / %s) | (information: "
      "near 1, the work splits without overhead, and on two free cores the speed-up would "
      "approach 2 / this) |" % (ompc2 / ompc1, fmt_s(ompc2), fmt_s(ompc1)))
    w("| generated on 2 threads / BLAS on 1 thread; / BLAS on 2 threads | %.2f; %.2f | "
      "(information) |" % (omp2 / b1, omp2 / T["blas2"]["blas2"][0]))
    w("")

    # 2. timings
    w("## 2. All timings (%d rows)" % N)
    w("")
    w("| build | method | median | min | CPU time (median) | runs |")
    w("|---|---|---|---|---|---|")
    names = {"gen": "generated `lr_hess`", "blas": "BLAS peer, 1 thread",
             "rank1": "shape `rank1` (info)", "rank1x4": "shape `rank1x4` (info)",
             "unrolled": "shape `unrolled` (info)", "blas2": "BLAS peer, 2 threads"}
    for fl in FLAVOURS:
        label = FLAVOUR_LABEL[fl]
        for m in [m for m in ["gen", "blas"] + shapes if m in T[fl]]:
            med, runs, cpu = T[fl][m]
            w("| %s | %s | %s | %s | %s | %s |" % (label, names[m], fmt_s(med), fmt_s(min(runs)),
                                                   fmt_s(cpu), fmt_runs(runs)))
    med, runs, cpu = T["blas2"]["blas2"]
    w("| `-O2` (own run) | %s | %s | %s | %s | %s |" % (names["blas2"], fmt_s(med),
                                                       fmt_s(min(runs)), fmt_s(cpu),
                                                       fmt_runs(runs)))
    w("| `-O2 -fopenmp` | generated, `omp_set_num_threads(1)` | %s | %s | %s | %s |" %
      (fmt_s(omp1), fmt_s(min(omp_runs1)), fmt_s(ompc1), fmt_runs(omp_runs1)))
    w("| `-O2 -fopenmp` | generated, `omp_set_num_threads(2)` | %s | %s | %s | %s |" %
      (fmt_s(omp2), fmt_s(min(omp_runs2)), fmt_s(ompc2), fmt_runs(omp_runs2)))
    w("")
    w("CPU time is the process's (`CLOCK_PROCESS_CPUTIME_ID`, all threads) over the same call. "
      "The OpenMP rows alternate 1 and 2 threads call by call in one process (started with "
      "`OMP_NUM_THREADS=2 OMP_WAIT_POLICY=passive`, so that an idle worker does not spin into "
      "the next call's CPU time). BLAS on 2 threads runs in its own process "
      "(`OPENBLAS_NUM_THREADS=2`): OpenBLAS's idle threads spin after a call and would slow "
      "whatever is timed next.")
    w("")

    # 3. checks
    w("## 3. Agreement")
    w("")
    w("```")
    for fl in FLAVOURS:
        w("# lr_bench check %d   (%s build)" % (N, " ".join(FLAVOURS[fl])))
        w(checks[fl].rstrip())
    for th in (1, 2):
        w("# OMP_NUM_THREADS=%d lr_bench_omp cmp %d serial.bin 1e-12   (-O2 -fopenmp vs -O2)" %
          (th, N))
        w(ompcmp[th].rstrip())
    if ad:
        w("# lr_adolc %d %d %d" % (ad["rows"], a.adolc_reps, a.adolc_reps))
        w(ad["out"].rstrip())
    w("```")
    w("")

    # 4. ADOL-C
    w("## 4. ADOL-C")
    w("")
    if ad:
        w("The loss is taped once (`trace_on` ... `trace_off`, theta as 51 `adouble`s marked "
          "independent with `<<=`, the rows a plain C++ loop, each X value a passive `double`; "
          "softplus as `log(1 + exp(m))`, since ADOL-C 2.7 has no `log1p`; |m| < 10 on this "
          "data, so that is exact to a few ulps). The buffers passed to `trace_on` are sized "
          "from n so that the tape stays in memory (tapestats below: nothing on file). "
          "`hessian(tag, 51, x, H)` fills the lower triangle: 51 Hessian-vector products, "
          "each a first-order forward sweep and a second-order reverse sweep over the whole "
          "tape. No warm-up call of `hessian` (the tape is already in memory); the check uses "
          "the last timed call's H.")
        w("")
        w("| figure | value |")
        w("|---|---|")
        w("| rows | %d%s |" % (ad["rows"], "" if ad["scale"] == 1 else
                                 " (a probe on %d rows projected %.0f s per call on %d: over "
                                 "30 s, so timed on %d and scaled linearly, times %g)" %
                                 (ad["rows"], ad["projected"], N, ad["rows"], ad["scale"])))
        w("| tape | %s; taping took %s |" % (ad["stats"], fmt_s(ad["tape_s"])))
        w("| `hessian` median of %d | %s (runs: %s); CPU time %s |" %
          (a.adolc_reps, fmt_s(ad["hess"]), ", ".join("%.2f" % r for r in ad["hess_runs"])
           + " s", fmt_s(ad["hess_cpu"])))
        w("| `gradient` median of %d | %s |" % (a.adolc_reps, fmt_s(ad["grad"])))
        if ad["scale"] != 1:
            w("| generated `-O2` on the same %d rows | %s; ratio there %.1f |" %
              (ad["rows"], fmt_s(ad["gen_same"]), ad["hess"] / ad["gen_same"]))
        w("| ADOL-C `hessian` / generated `lr_hess` (`-O2`, %d rows) | %.1f (in CPU time: "
          "%.1f) |" % (N, ad["hess"] * ad["scale"] / g,
                       ad["hess_cpu"] * ad["scale"] / T["O2"]["gen"][2]))
        w("| ADOL-C `hessian` / BLAS peer | %.1f |" % (ad["hess"] * ad["scale"] / b1))
    else:
        w("Skipped: %s." % (a.adolc_skip_reason or "--no-adolc"))
    w("")

    # 5. why
    w("## 5. %s" % ("Why the generated code is slower than BLAS" if g / b1 > 2 else
                     "Where the generated code stands against BLAS"))
    w("")
    where = "`%s` in the generated C%s" % (loop_fn, "" if loop_fn == "lr_hess" else
                                           ", which `lr_hess` calls for its rows")
    w("**The generated row loop** (" + where + ", its first row loop; %s): "
      "per row, %d temporaries (%d multiplications and %d additions in them, not counting "
      "index arithmetic; %d call(s) of `lr_softplus` and %d of `lr_sigmoid`, so %d `exp` and "
      "%d `log1p` per row, where the BLAS peer needs one of each) and %d accumulations "
      "`s0[k] += t` (the loss, 51 gradient entries, 1326 lower-triangle Hessian entries); "
      "%d temporaries precede the first accumulation." %
      ("one row per iteration" if cstat["block"] == 1 else
       "%d rows per iteration, each statement a loop over them" % cstat["block"],
       cstat["temps"], cstat["muls"], cstat["adds"], cstat["softplus"], cstat["sigmoid"],
       cstat["softplus"] + cstat["sigmoid"], cstat["softplus"], cstat["acc"],
       cstat["temps_before_first_acc"]))
    w("")
    w("**Its machine code** (objdump of the row loop of `%s`: the backward conditional jump "
      "that spans the most instructions):" % loop_fn)
    w("")
    w("| build | instructions per row | bytes of loop code | mul | FMA | add/sub | of those "
      "packed | moves and shuffles | stack-frame operands | calls |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    omp_fns = sorted(re.findall(r"\s(lr_hess\._omp_fn\.\d+)$",
                                run(["nm", os.path.join(B, "lr_omp.o")], cwd=B), re.M))
    mc_omp = loop_stats(os.path.join(B, "lr_omp.o"), omp_fns[0], B) if omp_fns else None
    rows_mc = [("generated, " + FLAVOUR_LABEL[fl], mc[fl]) for fl in FLAVOURS] + [
               ("generated, `-O2 -fopenmp` (the outlined `%s`)" %
                (omp_fns[0] if omp_fns else "?"), mc_omp),
               ("shape `unrolled`, `-O2`", mc_unrolled)]
    for label, s in rows_mc:
        if s:
            w("| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d |" %
              (label, s["ins"], s["bytes"], s["mul"], s["fma"], s["add"], s["packed"],
               s["mov"], s["stack"], s["calls"]))
    w("")
    l1i = l1i_bytes()
    w("(`stack-frame operands` counts instructions with an `(%%rsp)` or `(%%rbp)` operand: the "
      "s0[] accumulators live there, and so do the spilled temporaries. The calls are to "
      "libm's `exp` and `log1p` (gcc inlines the helpers) and, in the OpenMP body, to "
      "libgomp.%s)" %
      ("" if not l1i or not mc["O2"] else
       " This machine's L1 instruction cache is %d KiB per core (sysfs): the `-O2` row loop "
       "is %.1f times that." % (l1i // 1024, mc["O2"]["bytes"] / l1i)))
    w("")
    if cg:
        w("**Instructions executed** (callgrind, `--toggle-collect` on the function, %d rows, "
          "`-O2` build; valgrind runs OpenBLAS's `%s` kernels, not AVX-512; *per call* is the "
          "count of 2 calls minus that of 1, so one-time set-up is not counted):" %
          (CALLGRIND_ROWS, cg_core))
        w("")
        w("| method | 1 call | per call | per row | per call / BLAS |")
        w("|---|---|---|---|---|")
        bl = cg["blas"][1] - cg["blas"][0]
        for m in ["gen", "blas"] + shapes:
            c1, c2 = cg[m]
            pc = c2 - c1
            w("| %s | %d | %d | %.0f | %.2f |" % (names[m], c1, pc, pc / CALLGRIND_ROWS,
                                                  pc / bl))
        w("")
    s_u = T["O2"]["unrolled"][0]
    s_r = T["O2"]["rank1"][0]
    s_r4 = T["O2"]["rank1x4"][0]
    s_u3 = T["O3n"]["unrolled"][0]
    s_r3 = T["O3n"]["rank1"][0]
    s_r43 = T["O3n"]["rank1x4"][0]
    w("**Other shapes of the same computation** (plain C, no BLAS, the generated file's "
      "helpers; information only, checked against `lr_hess` like the peers; median, %d rows):"
      % N)
    w("")
    w("| shape | what | `-O2` | / BLAS | `-O3 -march=native` | / BLAS |")
    w("|---|---|---|---|---|---|")
    w("| generated `lr_hess` | %s | %s | %.2f | %s | %.2f |" %
      ("straight-line, all products of a row first, then all accumulations"
       if cstat["temps_before_first_acc"] * 2 > cstat["temps"] else
       "straight-line, each accumulation next to its product (%s)" %
       ("one row at a time" if cstat["block"] == 1 else "%d rows at a time" % cstat["block"]),
       fmt_s(g), g / b1, fmt_s(g3), g3 / b3))
    w("| `unrolled` | straight-line like hessgen's, each product added to its accumulator in "
      "the statement that computes it, `s0[q] += cj * x[k]` | %s | %.2f | %s | %.2f |" %
      (fmt_s(s_u), s_u / b1, fmt_s(s_u3), s_u3 / b3))
    w("| `rank1` | a loop nest `for j, for k <= j: H[j][k] += (c a_j) a_k`, one row at a time "
      "| %s | %.2f | %s | %.2f |" % (fmt_s(s_r), s_r / b1, fmt_s(s_r3), s_r3 / b3))
    w("| `rank1x4` | the same loop nest over four rows at a time (each accumulator loaded and "
      "stored once per four rows) | %s | %.2f | %s | %.2f |" %
      (fmt_s(s_r4), s_r4 / b1, fmt_s(s_r43), s_r43 / b3))
    w("")
    mu, m2 = mc_unrolled, mc["O2"]
    w("Reading (numbers from this run):")
    w("")
    w("* **Not the arithmetic.** Per row the generated code multiplies %d times (50 for "
      "`x . w`, 100 for the gradient terms `(y x_j) s`, `x_k c` once per k, and one "
      "`x_j * (x_k c)` per Hessian entry) and adds %d products into `s0`: about what the "
      "`rank1` loop nest does (1326 + 2 x 51 + 50 multiplications, 1378 additions), and "
      "what BLAS does as multiply-adds. The two extra `exp` per row are a few hundred "
      "instructions at most%s." %
      (cstat["muls"], cstat["acc"],
       "" if "gen" not in cg else ", against the %.0f per row that callgrind counts for "
       "`lr_hess`" % ((cg["gen"][1] - cg["gen"][0]) / CALLGRIND_ROWS)))
    ipr = lambda st: "" if not st else " (%d instructions per row in the row loop)" % st["ins"]
    if cstat["temps_before_first_acc"] * 2 > cstat["temps"]:
        w("* **The order of the statements.** All %d products of a row are computed before "
          "the first `s0[k] += t`, so they are all live at once and gcc spills them to the "
          "stack frame and reloads them. The `unrolled` shape is the same straight-line code "
          "with each accumulation moved next to its product: %s instead of %s at `-O2` (%.1f "
          "times faster)%s." %
          (cstat["temps_before_first_acc"], fmt_s(s_u), fmt_s(g), g / s_u,
           "" if not (mu and m2) else
           ", %d instead of %d instructions per row, %d instead of %d with a stack-frame "
           "operand" % (mu["ins"], m2["ins"], mu["stack"], m2["stack"])))
    else:
        w("* **The order of the statements.** This hessgen emits each accumulation next to "
          "its product (%d temporaries precede the first `s0[k] += t`), as the `unrolled` "
          "shape does. They still differ: `unrolled` %s, the generated code %s at `-O2` "
          "(%.1f times as long)%s. In the generated code each Hessian product is "
          "`D_X[r0 * 50 + k] * t_j` with the 50 row values shared by every statement; "
          "`unrolled` writes `s0[q] += cj * x[k]` with consecutive k and q." %
          (cstat["temps_before_first_acc"], fmt_s(s_u), fmt_s(g), g / s_u,
           "" if not (mu and m2) else
           "; %d against %d instructions per row, %d against %d with a stack-frame operand" %
           (mu["ins"], m2["ins"], mu["stack"], m2["stack"])))
    if m2 and m2["packed"] == 0:
        w("* **gcc's SLP vectoriser** finds nothing to pair in this row loop at `-O2` (0 packed "
          "arithmetic instructions; `unrolled`'s loop has %s): `-fno-tree-slp-vectorize` "
          "changes little (%s against %s). The `-O2 -fopenmp` build on 1 thread takes %s%s." %
          (mu["packed"] if mu else "?", fmt_s(gns), fmt_s(g), fmt_s(omp1), "" if not mc_omp
           else " (its outlined row loop: %d instructions per row, %d with a stack-frame "
           "operand)" % (mc_omp["ins"], mc_omp["stack"])))
    else:
        w("* **gcc's SLP vectoriser.** At `-O2` gcc 12 pairs neighbouring straight-line "
          "statements into 2-wide vectors, building them with shuffles (`unpcklpd`, `movhpd`) "
          "or through the stack. The same file with `-fno-tree-slp-vectorize` takes %s instead "
          "of %s (%.2f x BLAS)%s; the `-O2` loop%s. The `-O2 -fopenmp` build on 1 thread takes "
          "%s%s." %
          (fmt_s(gns), fmt_s(g), gns / bns, ipr(mc.get("O2ns")),
           "" if not m2 else " has %d packed arithmetic instructions" % m2["packed"],
           fmt_s(omp1), "" if not mc_omp else
           " (its outlined row loop: %d instructions, %d of them packed arithmetic)" %
           (mc_omp["ins"], mc_omp["packed"])))
    w("* **Vectorising.** In straight-line code gcc's SLP pass can at best pair neighbouring "
      "statements (the `-O3 -march=native` row loop above: %s packed arithmetic instructions "
      "out of %s); a loop over k for `s0[j][k] += (c x_j) "
      "x_k` becomes vector FMA. `-O3 -march=native` speeds the generated code %.2f "
      "times (%s -> %s), `unrolled` %.2f times, the `rank1` loop nest %.2f times (%s -> %s)." %
      (mc["O3n"]["packed"] if mc["O3n"] else "?", mc["O3n"]["ins"] if mc["O3n"] else "?",
       g / g3, fmt_s(g), fmt_s(g3), s_u / s_u3, s_r / s_r3, fmt_s(s_r), fmt_s(s_r3)))
    w("* **Blocking rows.** `rank1x4` loads and stores each of the 1326 accumulators once per "
      "four rows: %s at `-O2` (%.2f x BLAS), %s at `-O3 -march=native` (%.2f x BLAS; the BLAS "
      "peer also pays for writing and reading the n x 51 scratch)." %
      (fmt_s(s_r4), s_r4 / b1, fmt_s(s_r43), s_r43 / b3))
    w("* **What would %s:** noticing that a row's Hessian contribution is a scalar "
      "times an outer product of a data row, `c_i a_i a_i^T` with `a_i = (x_i, 1)`, and "
      "emitting it as a loop nest over the lower triangle, blocked over a few rows (`rank1x4`: "
      "%.2f x BLAS at `-O2`, %.2f at `-O3 -march=native`); short of that, straight-line code "
      "shaped like `unrolled` (%.2f and %.2f)%s." %
      ("meet the target" if g / b1 > 2 else "go further", s_r4 / b1, s_r43 / b3, s_u / b1, s_u3 / b3,
       ": each `s0[k] +=` right after its product" if cstat["temps_before_first_acc"] * 2 >
       cstat["temps"] else ""))
    w("")
    text = "\n".join(L) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)
    print("bench.py: wrote %s (%.0f s)" % (a.out, total_s), flush=True)
    if not a.keep:
        shutil.rmtree(B, ignore_errors=True)


if __name__ == "__main__":
    main()
