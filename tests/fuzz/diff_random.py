#!/usr/bin/env python3
"""Differential check: random heaptrace scripts on ouro and on CPython.

    diff_random.py --ouro build/ouro [--seeds 1:3001] [--ops N] [-j 2] [--check]
                   [--keep DIR] [--minimize]

First the hand-written scripts of tests/fuzz/scripts/ (Unicode blanks and
digits, NUL characters, macros) are compared, then, for every seed in the
range (start inclusive, end exclusive), gen_random.py
writes a script of 50..1500 operations (the count is a fixed function of
the seed, so a seed names one script), cpython_oracle.py prints CPython's
log and `ouro replay` prints ours; the two must be equal byte for byte.
A seed that differs is reported with the first lines that differ; with
--keep its script is written to DIR, and with --minimize it is also cut
down (line-wise delta debugging) to a small script that still differs,
written beside it as SEED.min.trace.  With --ops N every seed's script
has N operations instead (long scripts reach states that short ones
rarely do: `make test-deep` runs thousands of seeds at 1500 and 3000).

A seed on which CPython itself fails (it can crash: see
regressions/weakref_dies_during_collect.trace) has no log to compare; it
is skipped and listed, and ouro must still run it to the end.

The last line is `N passed, N failed, N skipped`; the exit code is 1 on any
difference.
"""
import argparse
import concurrent.futures as cf
import difflib
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "heaptrace"))
ORACLE = os.path.join(SHARED, "cpython_oracle.py")
sys.path.insert(0, SHARED)
import gen_random  # noqa: E402  (the generator, imported: no process per script)

SCRIPTS = os.path.join(HERE, "scripts")
OPS_MIN, OPS_MAX = 50, 1500


FIXED_OPS = None  # --ops


def ops_for(seed):
    if FIXED_OPS:
        return FIXED_OPS
    # Spread over the whole range, and not in step with the seed.
    return OPS_MIN + (seed * 7919) % (OPS_MAX - OPS_MIN + 1)


def script_for(seed):
    return ("\n".join(gen_random.generate(seed, ops_for(seed))) + "\n").encode()


def oracle(text):
    p = subprocess.run([sys.executable, ORACLE, "-"], input=text, capture_output=True,
                       timeout=600)
    return p.returncode, p.stdout, p.stderr


def ouro(prog, text, check):
    cmd = [prog, "replay"] + (["--check"] if check else []) + ["-"]
    p = subprocess.run(cmd, input=text, capture_output=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def compare(prog, text, check):
    """("pass", None) when both runtimes print the same log; ("fail", why)
    when they differ or ouro fails; ("skip", why) when CPython itself dies
    on the script (then there is no log to match, but ouro must still run
    it to the end)."""
    orc, want, oerr = oracle(text)
    rc, got, err = ouro(prog, text, check)
    if rc != 0:
        return "fail", "ouro exited with %d: %s" % (rc, err[-400:].decode(errors="replace"))
    if orc != 0:
        what = ("killed by signal %d" % -orc) if orc < 0 else ("exit %d" % orc)
        return "skip", "CPython failed (%s), no log to compare: %s" % (
            what, oerr[-300:].decode(errors="replace").strip())
    if got != want:
        diff = difflib.unified_diff(want.decode(errors="replace").splitlines(),
                                    got.decode(errors="replace").splitlines(),
                                    "cpython", "ouro", lineterm="", n=1)
        return "fail", "logs differ:\n" + "\n".join(list(diff)[:30])
    return "pass", None


def differs(prog, lines, check):
    """True when the script still makes both runtimes run to the end and
    print different logs (what minimizing must keep)."""
    text = ("\n".join(lines) + "\n").encode()
    orc, want, _ = oracle(text)
    if orc != 0:
        return False
    rc, got, _ = ouro(prog, text, check)
    return rc == 0 and got != want


def minimize(prog, text, check):
    """Line-wise delta debugging: drop chunks of lines, halving the chunk
    size, while the difference persists."""
    lines = text.decode().splitlines()
    chunk = max(1, len(lines) // 2)
    while chunk >= 1:
        i = 0
        changed = False
        while i < len(lines):
            trial = lines[:i] + lines[i + chunk:]
            if trial and differs(prog, trial, check):
                lines = trial
                changed = True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return ("\n".join(lines) + "\n").encode()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ouro", required=True, help="the ouro program")
    ap.add_argument("--seeds", default="1:3001", help="START:END (default 1:3001)")
    ap.add_argument("--ops", type=int, help="operations per script (default: 50..1500 by seed)")
    ap.add_argument("-j", type=int, default=2, help="parallel scripts (default 2)")
    ap.add_argument("--check", action="store_true", help="replay with --check")
    ap.add_argument("--keep", metavar="DIR", help="write differing scripts to DIR")
    ap.add_argument("--minimize", action="store_true", help="minimize differing scripts")
    args = ap.parse_args()
    global FIXED_OPS
    FIXED_OPS = args.ops
    prog = os.path.abspath(args.ouro)
    start, end = (int(x) for x in args.seeds.split(":"))
    seeds = range(start, end)
    t0 = time.time()
    passed, failed, skipped = 0, [], []

    def one(seed):
        text = script_for(seed)
        return (seed, text) + compare(prog, text, args.check)

    for fn in sorted(os.listdir(SCRIPTS)):
        if fn.endswith(".trace"):
            with open(os.path.join(SCRIPTS, fn), "rb") as f:
                status, why = compare(prog, f.read(), args.check)
            if status == "pass":
                passed += 1
            else:
                failed.append(fn)
                print("DIFF %s: %s" % (fn, why), flush=True)

    with cf.ThreadPoolExecutor(max_workers=args.j) as ex:
        for done, (seed, text, status, why) in enumerate(ex.map(one, seeds), 1):
            if status == "pass":
                passed += 1
            elif status == "skip":
                skipped.append(seed)
                print("SKIP seed %d (%d ops): %s" % (seed, ops_for(seed), why), flush=True)
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    with open(os.path.join(args.keep, "seed%d.trace" % seed), "wb") as f:
                        f.write(text)
            else:
                failed.append(seed)
                print("DIFF seed %d (%d ops): %s" % (seed, ops_for(seed), why), flush=True)
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    path = os.path.join(args.keep, "seed%d.trace" % seed)
                    with open(path, "wb") as f:
                        f.write(text)
                    if args.minimize:
                        small = minimize(prog, text, args.check)
                        with open(path[:-6] + ".min.trace", "wb") as f:
                            f.write(small)
                        print("  minimized to %d lines: %s" % (
                            len(small.splitlines()), path[:-6] + ".min.trace"), flush=True)
            if done % 500 == 0:
                print("... %d seeds, %d differ, %.0f s" % (done, len(failed), time.time() - t0),
                      flush=True)
    print("seeds %d..%d, %s operations each, %.1f s" % (
        start, end - 1, args.ops or "%d..%d" % (OPS_MIN, OPS_MAX), time.time() - t0))
    if failed:
        print("differing: " + " ".join(map(str, failed)))
    if skipped:
        print("seeds CPython could not run: " + " ".join(map(str, skipped)))
    print("%d passed, %d failed, %d skipped" % (passed, len(failed), len(skipped)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
