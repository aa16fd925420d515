#!/usr/bin/env python3
"""Zero-code-change tracing: env_app knows nothing of the tools, and
OURO_TRACEMALLOC, OURO_REPORT and OURO_DEBUG must change what it does.

    python3 tests/env_check.py ENV_APP [ENV_APP_STATIC] [APP@LIBRARY]

ENV_APP is linked with the shared library (the profiling layer installs
its heap hook when loaded); ENV_APP_STATIC with the static library and
-Wl,-u,ouro_inspect_env_init; APP@LIBRARY runs APP with LIBRARY (the
shared profiling layer) preloaded.  Ends with "N passed, N failed".
"""
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import check, summary  # noqa: E402


def run(app, env, *args):
    """app is a program, or PROGRAM@LIBRARY to run it with LIBRARY preloaded."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("OURO_")}
    e.update(env)
    app, _, preload = app.partition("@")
    if preload:
        # A sanitizer build's runtime must come first of all libraries.
        asan = re.search(r"(\S*libasan\.so\S*) => (\S+)",
                         subprocess.run(["ldd", app], capture_output=True, text=True).stdout)
        e["LD_PRELOAD"] = (asan.group(2) + " " if asan else "") + preload
    return subprocess.run([app] + list(args), env=e, capture_output=True, text=True,
                          timeout=120)


def main():
    apps = sys.argv[1:]
    tmp = tempfile.mkdtemp(prefix="ouro_env_")
    for app in apps:
        kind = os.path.basename(app.partition("@")[0])
        r = run(app, {})
        m = re.search(r"leak_line=(\d+)", r.stdout)
        line = m.group(1) if m else "?"
        check(kind + ": runs untraced", r.returncode == 0 and m is not None, r.stderr[-300:])
        check(kind + ": untraced leak has no site", "env_app.c" not in r.stderr, r.stderr[-300:])

        r = run(app, {"OURO_TRACEMALLOC": "5"})
        site = "env_app.c:" + line
        check(kind + ": OURO_TRACEMALLOC=5 names the leak's line at heap free",
              r.returncode == 0 and "ouro leak report" in r.stderr and site in r.stderr,
              r.stderr[-500:])

        page = os.path.join(tmp, kind + ".html")
        r = run(app, {"OURO_REPORT": page})
        ok = os.path.exists(page)
        html = open(page, encoding="utf-8").read() if ok else ""
        check(kind + ": OURO_REPORT writes the page at heap free",
              r.returncode == 0 and ok and "ouro memory report" in html, r.stderr[-300:])
        check(kind + ": the page names the program's lines",
              "env_app.c" in html and "state.c" not in html and "dict.c" not in html)

        r = run(app, {"OURO_REPORT": os.path.join(tmp, "no-such-dir", "x.html")})
        check(kind + ": an unwritable OURO_REPORT says so", "cannot write the report" in r.stderr,
              r.stderr[-300:])

        r = run(app, {"OURO_TRACEMALLOC": "lots"})
        check(kind + ": a bad OURO_TRACEMALLOC is refused with a message",
              r.returncode == 0 and "OURO_TRACEMALLOC=lots" in r.stderr, r.stderr[-300:])

        r = run(app, {}, "wrongheap")
        check(kind + ": misuse unchecked by default", r.returncode == 0, r.stderr[-300:])
        r = run(app, {"OURO_DEBUG": "checks"}, "wrongheap")
        check(kind + ": OURO_DEBUG=checks catches the misuse",
              r.returncode != 0 and "wrong heap" in r.stderr, r.stderr[-300:])
    return 0


if __name__ == "__main__":
    rc = main()
    sys.exit(summary(rc))
