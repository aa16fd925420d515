#!/usr/bin/env python3
"""Fault-injection sweep: replay heaptrace scripts while ouro's allocations
and page requests fail, one failure point after another.

    fault_sweep.py --ouro build/ouro [--quick] [-j 2] [--keep DIR]

Scripts: every heaptrace corpus script but deep.trace (a million nodes is
too many to fail one by one; tests/fuzz/scripts/ has smaller chain and ring
scripts instead) and random scripts from gen_random.py with fixed seeds.

Modes, each run as `ouro replay --check ...` (the heap is checked after
every operation, with ouro's debug checks on):

  alloc   --fail-alloc N for N = 1, 2, 3, ... until a run has no failure
          (--quick: every N up to 300, then every 7th)
  every   --fail-alloc K --fail-every K: every Kth allocation fails
  after   --fail-alloc N --fail-every 1: everything from the Nth on fails
          (N sampled over the script's allocations)
  page    --fail-page N for N = 1, 2, ... until a run has no failure
          (request 1 is the heap's own mapping: that run must fail
          cleanly, exit 1 with no log)

Every run must: not die of a signal (no abort from a failed heap check, no
crash), not leak (exit 3: objects alive after teardown), and report its
failure: a run whose log has no `error nomem` must print exactly the log of
the run without faults; a run that has one must print that log unchanged up
to the operation that failed.  (After the failure the log may differ from
CPython's: the operation was refused.)  The run without faults must itself
print CPython's log (corpus .log, or cpython_oracle.py).

The last line is `N passed, N failed`; the exit code is 1 on any failure.
"""
import argparse
import concurrent.futures as cf
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "heaptrace"))
ORACLE = os.path.join(SHARED, "cpython_oracle.py")
GEN = os.path.join(SHARED, "gen_random.py")
CORPUS = os.path.join(SHARED, "corpus")
OWN = os.path.join(HERE, "fuzz", "scripts")

# Scripts too big to fail allocation by allocation: only the modes that
# run a bounded number of times.
BIG = {"arenas.trace"}

# The quick sweep (make test's ASan run) fails every allocation up to
# QUICK_ALL and every QUICK_STRIDE-th after that: seed_globals.trace's
# 2,002 allocations were half of its seven minutes.  The full sweep (make
# test's release build) fails every one.
QUICK_ALL = 300
QUICK_STRIDE = 7

SEEDS_FULL = list(range(1, 41))
SEEDS_QUICK = [1, 2, 3, 4]
RANDOM_OPS = 300
EVERY = (2, 3, 5, 11, 50)


class Script:
    def __init__(self, name, text, want=None):
        self.name = name
        self.text = text
        self.want = want          # CPython's log, when known in advance
        self.base = None          # ouro's log without faults
        self.allocs = None        # allocations of the run without faults
        self.runs = 0


class Result:
    def __init__(self):
        self.passed = 0
        self.failed = []          # (script name, args, why)


def replay(ouro, script, args):
    """Run ouro replay --check ARGS on the script; returns (rc, log, err)."""
    p = subprocess.run([ouro, "replay", "--check"] + args + ["-"], input=script.text,
                       capture_output=True, timeout=300)
    script.runs += 1
    return p.returncode, p.stdout, p.stderr


def line_no(log_line):
    return int(log_line.split(b" ", 1)[0])


def brief(err):
    """The telling lines of a run's standard error (a sanitizer's report
    is long; its first lines say what happened)."""
    keys = (b"ERROR", b"runtime error", b"fatal", b"heap check", b"SUMMARY", b"ouro")
    lines = [l.strip() for l in err.splitlines() if any(k in l for k in keys)]
    text = b" | ".join(lines[:4]) if lines else err[-300:]
    return text.decode(errors="replace")


def judge(script, args, rc, log, err, heap_may_fail=False):
    """None if the run behaved, else why not."""
    if rc < 0:
        return "killed by signal %s: %s" % (signal.Signals(-rc).name, brief(err))
    if rc == 134:
        return "aborted: " + brief(err)
    if rc == 3:
        return "leak: " + brief(err)
    if rc == 1 and heap_may_fail and b"cannot create a heap" in err:
        return None if not log else "heap creation failed but a log was printed"
    if rc != 0:
        return "exit code %d: %s" % (rc, brief(err))
    lines = log.splitlines(keepends=True)
    failed_at = [line_no(l) for l in lines if l.split(b" ", 1)[1].startswith(b"error nomem")]
    base = script.base.splitlines(keepends=True)
    if not failed_at:
        if log != script.base:
            return "log differs from the run without faults, and no `error nomem` says why"
        return None
    first = failed_at[0]
    before = [l for l in lines if line_no(l) < first]
    if before != [l for l in base if line_no(l) < first]:
        return "log differs from the run without faults before the first failure (line %d)" % first
    return None


def nomem(log):
    return b" error nomem\n" in log


def sweep_until_clean(ouro, script, res, flag, heap_may_fail=False, limit=1 << 20, stride=1,
                      first=1):
    """--FLAG N for N = 1, 2, ... until a run has no failure; returns the
    first N of a run without failure.  With stride > 1, every N up to
    QUICK_ALL and every stride-th after that: the first N of a run without
    failure is then found among the last stride."""
    n = first
    last = first - 1
    while n <= limit:
        args = [flag, str(n)]
        rc, log, err = replay(ouro, script, args)
        why = judge(script, args, rc, log, err, heap_may_fail and n == 1)
        record(res, script, args, why)
        if rc == 0 and not nomem(log):
            if n - last > 1:  # strided past the end: go back over the gap
                return sweep_until_clean(ouro, script, res, flag, limit=n, first=last + 1)
            return n
        last = n
        # A bug tends to repeat at every later N: report a few failure
        # points, not thousands.
        if why and sum(1 for f in res.failed if f[1][:1] == [flag]) >= 5:
            return None
        n += 1 if n < QUICK_ALL else stride
    record(res, script, [flag, "..."], "still failing after %d runs" % limit)
    return None


def record(res, script, args, why):
    if why:
        res.failed.append((script.name, args, why))
    else:
        res.passed += 1


def sweep_script(ouro, script, quick):
    res = Result()
    # The run without faults: CPython's log.
    rc, log, err = replay(ouro, script, [])
    if rc != 0 or (script.want is not None and log != script.want):
        record(res, script, [], "run without faults: exit %d, %s" % (
            rc, "log differs from CPython's" if rc == 0 else brief(err)))
        return script, res
    script.base = log
    record(res, script, [], None)

    if script.name not in BIG:
        clean = sweep_until_clean(ouro, script, res, "--fail-alloc",
                                  stride=QUICK_STRIDE if quick else 1)
        if clean is not None:
            script.allocs = clean - 1
    else:
        script.allocs = None

    # Every Kth allocation fails.
    for k in EVERY:
        args = ["--fail-alloc", str(k), "--fail-every", str(k)]
        rc, log, err = replay(ouro, script, args)
        record(res, script, args, judge(script, args, rc, log, err))

    # Persistent failure from the Nth allocation on.
    total = script.allocs if script.allocs is not None else 100000
    points = sorted({1, 2, max(1, total // 4), max(1, total // 2), max(1, 3 * total // 4),
                     max(1, total)})
    if quick:
        points = points[:2] + points[-1:]
    for n in points:
        args = ["--fail-alloc", str(n), "--fail-every", "1"]
        rc, log, err = replay(ouro, script, args)
        record(res, script, args, judge(script, args, rc, log, err))

    # Page requests, the first of which is the heap's own mapping.
    sweep_until_clean(ouro, script, res, "--fail-page", heap_may_fail=True, limit=1000)
    return script, res


def oracle_log(text):
    p = subprocess.run([sys.executable, ORACLE, "-"], input=text, capture_output=True,
                       timeout=600)
    if p.returncode != 0:
        raise RuntimeError("cpython_oracle.py failed: " + p.stderr.decode(errors="replace"))
    return p.stdout


def load_scripts(quick):
    scripts = []
    for fn in sorted(os.listdir(CORPUS)):
        if fn.endswith(".trace") and fn != "deep.trace":
            with open(os.path.join(CORPUS, fn), "rb") as f:
                text = f.read()
            with open(os.path.join(CORPUS, fn[:-6] + ".log"), "rb") as f:
                want = f.read()
            scripts.append(Script(fn, text, want))
    for fn in sorted(os.listdir(OWN)):
        if fn.endswith(".trace"):
            with open(os.path.join(OWN, fn), "rb") as f:
                text = f.read()
            scripts.append(Script(fn, text, oracle_log(text)))
    for seed in SEEDS_QUICK if quick else SEEDS_FULL:
        text = subprocess.run([sys.executable, GEN, str(seed), str(RANDOM_OPS)],
                              capture_output=True, check=True).stdout
        scripts.append(Script("random-%d-%d" % (seed, RANDOM_OPS), text, oracle_log(text)))
    return scripts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ouro", required=True, help="the ouro program")
    ap.add_argument("--quick", action="store_true", help="fewer random scripts (~30 s)")
    ap.add_argument("-j", type=int, default=2, help="parallel runs (default 2)")
    ap.add_argument("--keep", metavar="DIR",
                    help="write each script that failed to DIR, to reproduce it")
    args = ap.parse_args()
    ouro = os.path.abspath(args.ouro)
    t0 = time.time()
    scripts = load_scripts(args.quick)
    # Biggest first, so that the last workers do not wait for one long sweep.
    scripts.sort(key=lambda s: -len(s.text))
    passed, failed = 0, []
    with cf.ThreadPoolExecutor(max_workers=args.j) as ex:
        for script, res in ex.map(lambda s: sweep_script(ouro, s, args.quick), scripts):
            passed += res.passed
            failed += res.failed
            print("%-28s %6s allocations, %5d runs, %d failed" % (
                script.name, "?" if script.allocs is None else script.allocs, script.runs,
                len(res.failed)), flush=True)
            if res.failed and args.keep:
                os.makedirs(args.keep, exist_ok=True)
                with open(os.path.join(args.keep, script.name), "wb") as f:
                    f.write(script.text)
    for name, a, why in failed:
        print("FAIL %s: ouro replay --check %s: %s" % (name, " ".join(a), why.strip()))
    print("%d scripts in %.1f s" % (len(scripts), time.time() - t0))
    print("%d passed, %d failed" % (passed, len(failed)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
