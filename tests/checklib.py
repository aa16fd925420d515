"""checklib.py - the pass/fail tally the Python test scripts share.

    from checklib import check, summary
    check("name", condition, "detail shown on failure")
    sys.exit(summary(rc))   # prints "N passed, N failed"; 1 on any failure
"""

_counts = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    if ok:
        _counts["passed"] += 1
        print("ok   " + name)
    else:
        _counts["failed"] += 1
        print("FAIL " + name + (": " + detail if detail else ""))
    return ok


def summary(rc=0):
    """Prints the tally; returns the exit status (1 on a failure or rc)."""
    print("%d passed, %d failed" % (_counts["passed"], _counts["failed"]))
    return 1 if _counts["failed"] or rc else 0
