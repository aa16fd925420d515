#!/usr/bin/env python3
"""Differential check of fuzzer inputs: each input that CPython can run as
a heaptrace script is replayed on ouro and on cpython_oracle.py, and the
two logs must be equal byte for byte.

    diff_corpus.py --ouro build/ouro [--newer STAMP] [--max-inputs N]
                   [--max-time S] [--timeout S] [-j 2] [--keep DIR] DIR|FILE...

The fuzz target (fuzz_replay.c) only finds crashes, sanitizer reports,
failed heap checks and leaks; a wrong log goes unnoticed there.  `make
fuzz` therefore runs this over the inputs libFuzzer kept in its run
(--newer: files modified after STAMP), so the fuzzer's corpus is also a
source of scripts for the oracle.

Inputs left out, each counted in the last line:
  - fault: a `#fault` first line fails ouro's allocations on purpose, which
    CPython cannot mirror;
  - not a script: bytes that are not UTF-8 (`cpython_oracle.py SCRIPT`
    refuses them), CPython exits with an error, or with a signal (CPython 3.11 crashes on a few scripts,
    docs/design.md section 7; ouro must still run those cleanly);
  - slow: either side took longer than --timeout (macros of up to a
    million nodes), or the --max-time budget ran out first.

Failures (the exit code is 1): the logs differ, or ouro exits with an error
on a script CPython ran.  With --keep the failing inputs are copied to DIR.
"""
import argparse
import concurrent.futures as cf
import difflib
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "heaptrace"))
ORACLE = os.path.join(SHARED, "cpython_oracle.py")


def run(cmd, data, timeout, env=None):
    try:
        p = subprocess.run(cmd, input=data, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None
    return p


def compare(prog, data, timeout):
    """(status, why): status is pass, fail, fault, notscript or slow."""
    if data.startswith(b"#fault") and data[6:7] in (b" ", b"\t", b"\n", b""):
        return "fault", None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        # cpython_oracle.py SCRIPT reads UTF-8 strictly and refuses these;
        # only its standard input, read with the locale's surrogateescape,
        # would let them through (and echo the raw bytes back).
        return "notscript", None
    want = run([sys.executable, ORACLE, "-"], data, timeout)
    if want is None:
        return "slow", "CPython took over %d s" % timeout
    if want.returncode < 0:
        # ouro must still run it cleanly, heap checked after every line.
        got = run([prog, "replay", "--check", "-"], data, timeout)
        if got is not None and got.returncode != 0:
            return "fail", "CPython crashed (signal %d) and ouro exited with %d" % (
                -want.returncode, got.returncode)
        return "notscript", "CPython crashed (signal %d)" % -want.returncode
    if want.returncode != 0:
        return "notscript", None
    # Without the fuzz target's macro budget: CPython has none.
    env = dict(os.environ)
    env.pop("OURO_REPLAY_MACRO_BUDGET", None)
    got = run([prog, "replay", "--check", "-"], data, timeout, env)
    if got is None:
        return "slow", "ouro took over %d s" % timeout
    if got.returncode != 0:
        return "fail", "ouro exited with %d: %s" % (
            got.returncode, got.stderr[-400:].decode(errors="replace"))
    if got.stdout != want.stdout:
        diff = difflib.unified_diff(want.stdout.decode(errors="replace").splitlines(),
                                    got.stdout.decode(errors="replace").splitlines(),
                                    "cpython", "ouro", lineterm="", n=1)
        return "fail", "logs differ:\n" + "\n".join(list(diff)[:30])
    return "pass", None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ouro", required=True, help="the ouro program")
    ap.add_argument("--newer", metavar="STAMP", help="only inputs modified after this file")
    ap.add_argument("--max-inputs", type=int, default=400,
                    help="at most this many inputs, newest first (default 400)")
    ap.add_argument("--max-time", type=float, default=180,
                    help="stop starting inputs after this many seconds (default 180)")
    ap.add_argument("--timeout", type=float, default=20, help="per run (default 20 s)")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--keep", metavar="DIR", help="copy failing inputs to DIR")
    ap.add_argument("dirs", nargs="+", help="directories of inputs, or inputs")
    args = ap.parse_args()
    prog = os.path.abspath(args.ouro)
    since = os.path.getmtime(args.newer) if args.newer else None

    files = []
    for d in args.dirs:
        paths = [os.path.join(d, n) for n in os.listdir(d)] if os.path.isdir(d) else [d]
        for path in paths:
            name = os.path.basename(path)
            if not os.path.isfile(path) or name.startswith("README"):
                continue
            mtime = os.path.getmtime(path)
            if since is None or mtime > since:
                files.append((mtime, path))
    files.sort(reverse=True)
    files = [p for _, p in files[:args.max_inputs]]

    t0 = time.time()

    def one(path):
        if time.time() - t0 > args.max_time:
            return path, "slow", "the --max-time budget ran out"
        with open(path, "rb") as f:
            data = f.read()
        return (path,) + compare(prog, data, args.timeout)

    counts = {"pass": 0, "fail": 0, "fault": 0, "notscript": 0, "slow": 0}
    with cf.ThreadPoolExecutor(max_workers=args.j) as ex:
        for path, status, why in ex.map(one, files):
            counts[status] += 1
            if status == "fail":
                print("DIFF %s: %s" % (path, why), flush=True)
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    shutil.copy(path, args.keep)
            elif why and status != "slow":
                print("SKIP %s: %s" % (path, why), flush=True)
    print("diff_corpus: %d inputs, %.0f s: %d same as CPython, %d differ; left out: "
          "%d fault injection, %d not scripts CPython runs, %d slow" % (
              len(files), time.time() - t0, counts["pass"], counts["fail"], counts["fault"],
              counts["notscript"], counts["slow"]))
    return 1 if counts["fail"] else 0


if __name__ == "__main__":
    sys.exit(main())
