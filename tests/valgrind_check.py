#!/usr/bin/env python3
"""Run the unit tests and corpus replays under Valgrind memcheck.

    valgrind_check.py BUILD_DIR     (a build configured with -DOURO_VALGRIND=ON)

The pool announces its blocks to memcheck, so a use after free inside a pool
is reported.  test_shared runs three times: on debug heaps, on release heaps and under the incremental schedule.  Any memcheck error or leak fails the run (--error-exitcode).
The 1 GiB RSS test and the other tests in SKIP are skipped here: they are
about the kernel or about large counts, not memcheck, and would take
minutes under Valgrind; they run in every other build.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "heaptrace", "corpus"))
SKIP = {"rss_falls_after_1gib", "deep_chain_bounded_stack", "ten_million_objects",
        "million_ring_with_finalizers",
        # hundreds of thousands of objects to drive the incremental
        # schedule and the side counts' overflow: 20 s here, about the
        # counts, not memcheck (test_incremental's light mode runs the
        # incremental cycle under memcheck)
        "incremental_schedule_collects_cycles_in_increments", "incremental_side_count_overflow",
        "incremental_cycles_triple_while_they_find_no_garbage"}
# --fair-sched=yes: Valgrind runs one thread at a time, and its default
# lock between them is unfair, so a thread that gives its turn up
# (sched_yield, a futex wake) often takes it straight back.  The shared
# heaps' tests check that stops of the world starve no thread, which
# assumes a scheduler that is fair the way the kernel's is: under the
# unfair lock, test_shared's back-to-back stops test saw fewer than three
# stops in 30 s in about one run of three after stop 30's allocator change
# (fewer slow paths, so fewer system calls to hand the lock over), and
# passed in 1 s with the fair lock in eight runs of eight.
VG = ["valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
      "--errors-for-leak-kinds=definite,indirect", "--fair-sched=yes"]


def test_names(binary):
    src = os.path.join(HERE, os.path.basename(binary) + ".c")
    names = []
    for line in open(src):
        if line.startswith("TEST("):
            names.append(line[5:line.index(")")])
    return names


def extra_label(extra):
    if "OURO_SHARED_RELEASE" in extra:
        return " (release heaps)"
    if "OURO_SHARED_SCHEDULE" in extra:
        return " (incremental schedule)"
    return ""


def main():
    build = sys.argv[1]
    passed = failed = 0
    tests = sorted(f for f in os.listdir(os.path.join(build, "tests")) if f.startswith("test_")
                   and os.access(os.path.join(build, "tests", f), os.X_OK))
    # test_shared three times: on debug heaps, then on release heaps
    # (OURO_SHARED_RELEASE=1, ctest's test_shared_release), where the
    # shared heap's object fast paths run, then under the incremental
    # schedule (OURO_SHARED_SCHEDULE=incremental, test_shared_incremental).
    runs = [(t, {}) for t in tests]
    if "test_shared" in tests:
        runs.append(("test_shared", {"OURO_SHARED_RELEASE": "1"}))
        runs.append(("test_shared", {"OURO_SHARED_SCHEDULE": "incremental"}))
    for t, extra in runs:
        binary = os.path.join(build, "tests", t)
        names = [n for n in test_names(binary) if n not in SKIP]
        # The mutator test's light mode (tests/test_incremental.c): one
        # script per randomized test, 20,000 nodes for the schedule.
        env = dict(os.environ, OURO_TEST_LIGHT="1", **extra)
        r = subprocess.run(VG + [binary] + names, capture_output=True, text=True, env=env)
        ok = r.returncode == 0
        print("%s valgrind %s%s (%d tests)" % ("ok  " if ok else "FAIL", t,
                                               extra_label(extra), len(names)))
        if not ok:
            print(r.stdout[-3000:], r.stderr[-5000:])
        passed += ok
        failed += not ok
    for name in sorted(os.listdir(CORPUS)):
        if not name.endswith(".trace") or name == "deep.trace":
            continue
        r = subprocess.run(VG + [os.path.join(build, "ouro"), "replay", "--check",
                                 os.path.join(CORPUS, name)], capture_output=True, text=True)
        want = open(os.path.join(CORPUS, name[:-6] + ".log")).read()
        ok = r.returncode == 0 and r.stdout == want
        print("%s valgrind replay %s" % ("ok  " if ok else "FAIL", name))
        if not ok:
            print(r.stderr[-5000:])
        passed += ok
        failed += not ok
    print("valgrind: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
