#!/usr/bin/env python3
"""Each misuse of tests/death_debug.c must be caught, with a message that
names the object and its type.

    death_check.py BUILD [--asan | --valgrind]

Default: the debug-checked modes against BUILD/tests/death_debug, and the
internal assertions' modes against BUILD/tests/death_assert.  --asan:
pool-uaf in an ASan build must be reported by AddressSanitizer.  --valgrind:
pool-uaf in a -DOURO_VALGRIND build must be reported by memcheck.
"""
import os
import subprocess
import sys

CASES = {
    "uaf": ["incref of a freed object", "of type Victim"],
    "double-decref": ["decref of a freed object", "double free", "of type Victim"],
    "underflow": ["reference count underflow", "of type BadFinalizer"],
    "wrong-heap": ["wrong heap", "of type Victim"],
    "raw-double-free": ["freed twice (double free)"],
    "raw-wrong-heap": ["(wrong heap)"],
    # A traverse that reports a reference it does not own: under
    # OURO_DEBUG_GC_STRESS the first tracked allocation collects, the
    # collector clears an object C code still holds, and the next use of
    # what it owned is caught.
    "gc-stress-traverse": ["incref of a freed object", "of type Cell"],
    "foreign-store": ["ouro_list_append", "of type str belongs to heap 0x", "stored into heap 0x",
                      "wrong heap"],
    "foreign-cycle": ["found by the collector", "of type Node belongs to heap 0x",
                      "stored into heap 0x"],
    "wrong-thread": ["is owned by thread 0x", ", used from 0x"],
    # Internal assertions (death_assert, a core at OURO_ASSERT_LEVEL 2): a
    # collector invariant broken by hand, caught by the validation between
    # the collector's steps, with the list, the object and file:line.
    "assert-flag": ["validate_list: generation 0: Node object", "collector flags 0x4, expected 0",
                    "gc.c:", "assertion failed: validate_list("],
    "assert-link": ["validate_list: generation 0: Node object", "link back is",
                    "gc.c:", "assertion failed: validate_list("],
}

# Modes that must exit 0: the death modes' programs with the bug fixed, or
# without the setting that reveals the bug (which is why the setting exists).
SURVIVE = ["gc-stress-traverse-fixed", "gc-stress-traverse-latent", "assert-healthy"]


def binary_for(build, mode):
    name = "death_assert" if mode.startswith("assert-") else "death_debug"
    return os.path.join(build, "tests", name)


def main():
    build = sys.argv[1]
    binary = os.path.join(build, "tests", "death_debug")
    mode = sys.argv[2] if len(sys.argv) > 2 else ""
    passed = failed = 0
    if mode == "--asan":
        runs = [("pool-uaf", [binary, "pool-uaf"], ["AddressSanitizer", "use-after-poison"])]
    elif mode == "--valgrind":
        runs = [("pool-uaf", ["valgrind", "--error-exitcode=99", binary, "pool-uaf"],
                 ["Invalid write of size 8", "death_debug.c"])]
    else:
        runs = [(k, [binary_for(build, k), k], v) for k, v in sorted(CASES.items())]
        runs += [(k, [binary_for(build, k), k], None) for k in SURVIVE]
    for name, cmd, want in runs:
        r = subprocess.run(cmd, capture_output=True, text=True)
        if want is None:
            ok = r.returncode == 0
        else:
            ok = r.returncode != 0 and all(w in r.stderr for w in want)
        print("%s %s %s%s" % ("ok  " if ok else "FAIL", "death" if want is not None else "lives",
                                name, " " + mode if mode else ""))
        if not ok:
            print("  exit %d, stderr:\n%s" % (r.returncode, r.stderr[-3000:]))
        passed += ok
        failed += not ok
    print("death: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
