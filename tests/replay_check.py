#!/usr/bin/env python3
"""Replay heaptrace scripts on ouro and compare each log, byte for byte,
with what CPython 3.11 prints for it (cpython_oracle.py, run now).

    replay_check.py --ouro build/ouro [--corpus-only] [--check] [--seeds N]

Checks every script of ../shared/heaptrace/corpus/, then random scripts from
gen_random.py: a fixed set of seeds (1..N, default 300) plus a few new seeds
chosen from the clock, so every run also explores.  A difference fails the
run and prints the script's name, its seed and the diff.
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
GEN = os.path.join(SHARED, "gen_random.py")
CORPUS = os.path.join(SHARED, "corpus")


def run(cmd, stdin=None):
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=600)


def check_one(ouro, check, label, script, fresh=False):
    want = run([sys.executable, ORACLE, "-"], stdin=script)
    if want.returncode < 0 and fresh:
        # CPython 3.11 itself dies on rare scripts (docs/design.md, section
        # 7).  For a seed drawn this run that is reported, never hidden, and
        # ouro must still run the script cleanly with heap checks.
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
    ap.add_argument("-j", type=int, default=2)
    args = ap.parse_args()
    ouro = os.path.abspath(args.ouro)

    jobs = []
    for name in sorted(os.listdir(CORPUS)):
        if name.endswith(".trace"):
            with open(os.path.join(CORPUS, name), "rb") as f:
                jobs.append(("corpus/" + name, f.read(), False))
    if not args.corpus_only:
        seeds = list(range(1, args.seeds + 1))
        base = int(time.time()) % 1000000 + 100000
        seeds += [base + k for k in range(args.new_seeds)]
        for s in seeds:
            script = run([sys.executable, GEN, str(s), str(args.ops)]).stdout
            jobs.append(("random seed %d (%d ops)" % (s, args.ops), script, s > args.seeds))

    failures = []
    skipped = []
    # Regression scripts whose expected log is stored beside them (CPython
    # cannot run them; see tests/regressions/README.md).
    regdir = os.path.join(HERE, "regressions")
    regs = 0
    for name in sorted(os.listdir(regdir)) if os.path.isdir(regdir) else []:
        if not name.endswith(".trace"):
            continue
        regs += 1
        path = os.path.join(regdir, name)
        with open(path[:-6] + ".log", "rb") as f:
            want = f.read()
        got = run([ouro, "replay", "--check", path])
        if got.returncode != 0 or got.stdout != want:
            failures.append(("regressions/" + name, "exit %d, log:\n%s" % (
                got.returncode, got.stdout.decode(errors="replace"))))
            print("FAIL regressions/%s\n%s" % (name, failures[-1][1]))
    with cf.ThreadPoolExecutor(max_workers=args.j) as ex:
        futs = [ex.submit(check_one, ouro, args.check, label, script, fresh)
                for label, script, fresh in jobs]
        for fut, (label, script, fresh) in zip(futs, jobs):
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
    print("replay: %d passed, %d failed, %d skipped" % (passed, len(failures), len(skipped)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
