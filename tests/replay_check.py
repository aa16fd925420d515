#!/usr/bin/env python3
"""Replay heaptrace scripts on ouro and compare each log, byte for byte,
with what CPython 3.11 prints for it (cpython_oracle.py, run now).

    replay_check.py --ouro build/ouro [--corpus-only] [--check] [--shared] [--seeds N]
                    [--long-seeds N] [--long-ops N] [--long-new N]

Checks every script of ../shared/heaptrace/corpus/ and of tests/regressions/,
then random scripts from gen_random.py: a fixed set of seeds (1..N, default
300, at 300 operations) plus a few new seeds chosen from the clock, so every
run also explores; then long random scripts (seeds 1..50 at 1500
operations, plus two new seeds), which reach states that short ones rarely
do (many dead names, weak references to weak references, deep cascades of
finalizers and callbacks).  A difference fails the run and prints the
script's name, its seed and the diff.

--shared replays every script on a shared heap (cfg.shared) driven by one
thread: the logs must be the same (issue 17).

A script on which CPython itself crashes (docs/design.md, section 7) has no
log to compare: it is skipped, listed and counted in the last line, and ouro
must still run it cleanly with heap checks.
"""
import argparse
import concurrent.futures as cf
import difflib
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "heaptrace"))
ORACLE = os.path.join(SHARED, "cpython_oracle.py")
CORPUS = os.path.join(SHARED, "corpus")
sys.path.insert(0, SHARED)
sys.dont_write_bytecode = True  # ../shared is read-only
import gen_random  # noqa: E402  (imported: no Python process per script)


SHARED_FLAG = []  # ["--shared"] under --shared


def run(cmd, stdin=None):
    if len(cmd) > 1 and cmd[1] == "replay":
        cmd = cmd[:2] + SHARED_FLAG + cmd[2:]
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=600)


def check_one(ouro, check, label, script):
    want = run([sys.executable, ORACLE, "-"], stdin=script)
    if want.returncode < 0:
        # CPython 3.11 itself dies on rare scripts (docs/design.md, section
        # 7).  That is reported, never hidden, and ouro must still run the
        # script cleanly with heap checks.
        got = run([ouro, "replay", "--check", "-"], stdin=script)
        if got.returncode != 0:
            return (label, "CPython crashed (signal %d) and ouro exited with %d" %
                    (-want.returncode, got.returncode))
        return ("SKIP", "%s: CPython crashed (signal %d); ouro ran it cleanly" %
                (label, -want.returncode))
    if want.returncode != 0:
        return (label, "oracle failed: " + want.stderr.decode(errors="replace"))
    cmd = [ouro, "replay"] + (["--check"] if check else []) + ["-"]
    got = run(cmd, stdin=script)
    if got.returncode != 0:
        return (label, "ouro exited with %d: %s" % (got.returncode,
                                                   got.stderr.decode(errors="replace")[-2000:]))
    if got.stdout != want.stdout:
        diff = difflib.unified_diff(
            want.stdout.decode(errors="replace").splitlines(),
            got.stdout.decode(errors="replace").splitlines(),
            "cpython", "ouro", lineterm="", n=2)
        return (label, "logs differ:\n" + "\n".join(list(diff)[:60]))
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ouro", required=True)
    ap.add_argument("--corpus-only", action="store_true")
    ap.add_argument("--check", action="store_true", help="replay with --check")
    ap.add_argument("--seeds", type=int, default=300)
    ap.add_argument("--new-seeds", type=int, default=5)
    ap.add_argument("--ops", type=int, default=300)
    ap.add_argument("--long-seeds", type=int, default=50,
                    help="fixed seeds 1..N at --long-ops operations (default 50)")
    ap.add_argument("--long-ops", type=int, default=1500)
    ap.add_argument("--long-new", type=int, default=2,
                    help="new seeds from the clock at --long-ops (default 2)")
    ap.add_argument("--shared", action="store_true",
                    help="replay on a shared heap driven by one thread")
    ap.add_argument("-j", type=int, default=2)
    args = ap.parse_args()
    if args.shared:
        SHARED_FLAG.append("--shared")
    ouro = os.path.abspath(args.ouro)

    jobs = []
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith(".trace"):
            with open(os.path.join(CORPUS, name), "rb") as f:
                jobs.append(("corpus/" + name, f.read()))
    # Regression scripts CPython can run have no .log beside them: their
    # expected log is the oracle's, printed now.  (Those with a .log are the
    # ones CPython crashes on; see below.)
    regdir = os.path.join(HERE, "regressions")
    regnames = sorted(os.listdir(regdir)) if os.path.isdir(regdir) else []
    for name in regnames:
        path = os.path.join(regdir, name)
        if name.endswith(".trace") and not os.path.exists(path[:-6] + ".log"):
            with open(path, "rb") as f:
                jobs.append(("regressions/" + name, f.read()))
    if not args.corpus_only:
        base = int(time.time()) % 1000000 + 100000
        for ops, nfixed, nnew in ((args.ops, args.seeds, args.new_seeds),
                                  (args.long_ops, args.long_seeds, args.long_new)):
            seeds = list(range(1, nfixed + 1)) + [base + k for k in range(nnew)]
            for s in seeds:
                # What `gen_random.py SEED OPS` prints.
                script = ("\n".join(gen_random.generate(s, ops)) + "\n").encode()
                jobs.append(("random seed %d (%d ops%s)" % (
                    s, ops, ", new this run" if s > nfixed else ""), script))
            base += nnew

    failures = []
    skipped = []
    # Regression scripts whose expected log is stored beside them (CPython
    # crashes on them; see tests/regressions/README.md).
    regs = 0
    for name in regnames:
        path = os.path.join(regdir, name)
        if not name.endswith(".trace") or not os.path.exists(path[:-6] + ".log"):
            continue
        regs += 1
        with open(path[:-6] + ".log", "rb") as f:
            want = f.read()
        got = run([ouro, "replay", "--check", path])
        if got.returncode != 0 or got.stdout != want:
            failures.append(("regressions/" + name, "exit %d, log:\n%s" % (
                got.returncode, got.stdout.decode(errors="replace"))))
            print("FAIL regressions/%s\n%s" % (name, failures[-1][1]))
    t0 = time.time()
    with cf.ThreadPoolExecutor(max_workers=args.j) as ex:
        futs = [ex.submit(check_one, ouro, args.check or label.startswith("regressions/"),
                          label, script)
                for label, script in jobs]
        for fut, (label, script) in zip(futs, jobs):
            r = fut.result()
            if r and r[0] == "SKIP":
                skipped.append(r[1])
                print("SKIP " + r[1])
                continue
            if r:
                failures.append(r)
                print("FAIL %s\n%s" % r)
                if len(script) < 20000:
                    print("--- script ---\n" + script.decode(errors="replace"))
    passed = len(jobs) + regs - len(failures) - len(skipped)
    print("replay: %d passed, %d failed, %d skipped (CPython crashed), %.0f s" % (
        passed, len(failures), len(skipped), time.time() - t0))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
