"""bench/costs.py — what the programs' code costs, counted instead of timed.

The wall-clock ratios of run.py move by up to ±20% from one `make bench` to
the next on the shared 2-vCPU machines this project runs on: the same
binary runs at one speed or about twice as slow from one run to the next
(stop 33; bench/README.md).  A change worth 5% of a workload cannot be
seen there.  This section counts instead: every program below runs under
Valgrind's cachegrind, which counts the instructions executed and
simulates one fixed cache hierarchy (CACHE: 32 KiB 8-way L1 caches, a
1 MiB 16-way last level, 64-byte lines, whatever the machine has), so the
figures are the same on every machine and, to a fraction of a percent, in
every run (the programs read the clock; jemalloc's decay is timed, which
moves its last-level misses by a few percent), and a ratio moves only
when code moves.  What they cannot show is what the simulation
leaves out (prefetching, the second thread, the kernel's page faults),
which the timed tables keep.

Every figure is per unit of work: per node for binary-trees (the nodes
the program allocates, from its parameters), per pair for the alloc+free
pair loops, per run for GCBench.  A pair loop's figure is the difference
between a run of 2N pairs and one of N, so that start-up (the dynamic
loader, a peer's initialisation) cancels; binary-trees and GCBench do
enough work that start-up is under 0.1% of it.

The counted runs go two at a time (the counts do not depend on what runs
beside them), after the timed workloads.  Each run's output is checked as
the timed runs' are (binary-trees' and GCBench's text, the @check lines).
"""
import concurrent.futures as cf
import os
import re

CACHEGRIND = ["valgrind", "--tool=cachegrind", "--cache-sim=yes",
              "--cachegrind-out-file=/dev/null",
              "--I1=32768,8,64", "--D1=32768,8,64", "--LL=1048576,16,64"]
CACHE = "I1 and D1 32 KiB 8-way, LL 1 MiB 16-way, 64-byte lines"

# The figures, as cachegrind's summary names them.
FIGS = (("ir", "I   refs:"), ("d1", "D1  misses:"), ("ll", "LLd misses:"))


class Row:
    """One row: a workload at one size, counted for several peers.

    runs: peer -> list of (argv, units): one run (figure = count / units)
    or two (figure = (count2 - count1) / (units2 - units1)).  base: the
    peer the ratios divide by.  check: peer -> a function of the run's
    stdout returning None when it is right, else what is wrong."""

    def __init__(self, key, name, unit, runs, base, check=None):
        self.key, self.name, self.unit = key, name, unit
        self.runs, self.base, self.check = runs, base, check or {}


def rows(bin_dir, quick, expected):
    """The rows: `expected` holds run.py's reference texts
    (binarytrees(n), gcbench(*args)), binary-trees' node count (nodes(n):
    every check value it prints counts a tree's nodes) and its reader of
    a program's output (parse(stdout): figures, @check lines, text, ...),
    so that a counted run is checked as a timed one is."""
    prog = lambda name, peer, *a: [os.path.join(bin_dir, "%s_%s" % (name, peer))] + \
        [str(x) for x in a]
    out = []

    parse = expected["parse"]

    def text_is(want):
        def check(stdout):
            got = parse(stdout)[2]
            return None if got == want else "wrong output: %r" % got[:200]
        return check

    def check_has(line):
        def check(stdout):
            return None if line in parse(stdout)[1] else "no '@check %s' line" % line
        return check

    # W1 binary-trees, per node
    n = 8 if quick else 16
    nodes = expected["nodes"](n)
    w1 = {p: [(prog("w1_binarytrees", p, n), nodes)]
          for p in ["ouro", "glibc", "mimalloc", "jemalloc", "boehm"]}
    w1["ouro_off"] = [(prog("w1_binarytrees", "ouro", n, 0, "off"), nodes)]
    w1["ouro_untr"] = [(prog("w1_binarytrees", "ouro", n, 0, "untracked"), nodes)]
    out.append(Row("W1", "binary-trees N=%d" % n, "per node", w1, "mimalloc",
                   {p: text_is(expected["binarytrees"](n)) for p in w1}))

    # W2 GCBench, per run (a quarter of make bench's size)
    args = (12, 10, 10000, 4, 10) if quick else (16, 14, 100000, 4, 14)
    w2 = {p: [(prog("w2_gcbench", p, *args), 1)]
          for p in ["ouro", "glibc", "mimalloc", "jemalloc", "boehm"]}
    out.append(Row("W2", "GCBench %s" % " ".join(map(str, args)), "per run", w2, "mimalloc",
                   {p: text_is(expected["gcbench"](*args)) for p in w2}))

    # W6 alloc+free pairs, per pair: a run of N pairs does 2N (w6_alloc.c:
    # the loop, then the loop with one other block kept)
    k = 2000 if quick else 500000
    for size in (16, 64):
        w6 = {p: [(prog("w6_alloc", p, "pairs", size, k), 2 * k),
                  (prog("w6_alloc", p, "pairs", size, 2 * k), 4 * k)]
              for p in ["ouro", "ouro_obj", "glibc", "mimalloc", "jemalloc"]}
        out.append(Row("W6", "alloc+free pairs, %d B" % size, "per pair", w6, "mimalloc",
                       {p: check_has("pairs %d" % size) for p in w6}))

    # W11, one thread: a shared heap against the ordinary heap
    # (w11_threads.c pairs and opairs: 2N pairs too)
    w11 = {p: [(prog("w11_threads", p, "pairs", 16, k), 2 * k),
               (prog("w11_threads", p, "pairs", 16, 2 * k), 4 * k)]
           for p in ["ouro", "ouro_single"]}
    out.append(Row("W11", "one thread: alloc+free pairs, 16 B", "per pair", w11, "ouro_single",
                   {"ouro": check_has("pairs 16 shared"), "ouro_single": check_has("pairs 16")}))
    w11 = {p: [(prog("w11_threads", p, "opairs", 32, k), 2 * k),
               (prog("w11_threads", p, "opairs", 32, 2 * k), 4 * k)]
           for p in ["ouro", "ouro_single"]}
    out.append(Row("W11", "one thread: ouro_new+ouro_decref pairs, 32 B", "per pair", w11,
                   "ouro_single",
                   {"ouro": check_has("opairs 32 shared"), "ouro_single": check_has("opairs 32")}))
    w11 = {"ouro": [(prog("w2_gcbench", "ouro", *(args + (0, 1))), 1)],
           "ouro_single": [(prog("w2_gcbench", "ouro", *args), 1)]}
    out.append(Row("W11", "GCBench %s, 1 thread" % " ".join(map(str, args)), "per run", w11,
                   "ouro_single", {p: text_is(expected["gcbench"](*args)) for p in w11}))
    n = 8 if quick else 16
    w11 = {p: [(prog("w11_threads", p, "otrees", n, 1), expected["nodes"](n))]
           for p in ["ouro", "ouro_single"]}
    out.append(Row("W11", "binary-trees N=%d, ouro objects, 1 thread" % n, "per node", w11,
                   "ouro_single", {p: text_is(expected["binarytrees"](n)) for p in w11}))
    return out


def count(argv, run_once, timeout):
    """(figures, stdout, error): cachegrind's counts for one run."""
    rc, so, se, _, _ = run_once(CACHEGRIND + argv, timeout)
    if rc != 0:
        return None, so, "exit %s: %s" % (rc, se.strip().splitlines()[-1:] if se else "")
    figs = {}
    for key, label in FIGS:
        m = re.search(r"^==\d+== " + re.escape(label) + r"\s+([\d,]+)", se, re.M)
        if not m:
            return None, so, "no '%s' in cachegrind's summary" % label
        figs[key] = int(m.group(1).replace(",", ""))
    return figs, so, None


def run(all_rows, run_once, timeout, jobs=2, verbose=False):
    """Count every row's runs (jobs at a time); returns (results,
    failures): results[(row.key, row.name)][peer] = {"ir", "d1", "ll"}
    per unit, failures a list of {"case","peer","error"}."""
    tasks = [(r, p, i, argv) for r in all_rows for p, runs in r.runs.items()
             for i, (argv, _) in enumerate(runs)]
    got, failures = {}, []
    with cf.ThreadPoolExecutor(max_workers=jobs) as ex:
        futs = {ex.submit(count, argv, run_once, timeout): (r, p, i) for r, p, i, argv in tasks}
        for f in cf.as_completed(futs):
            r, p, i = futs[f]
            figs, so, err = f.result()
            if err is None and p in r.check:
                err = r.check[p](so)
            if err is not None:
                failures.append({"case": "costs: %s %s" % (r.key, r.name), "peer": p,
                                 "error": err})
            got[(r.key, r.name, p, i)] = figs if err is None else None
            if verbose:
                print("  costs: %s %s / %s: %s" % (r.key, r.name, p, err or figs), flush=True)
    results = {}
    for r in all_rows:
        row = {}
        for p, runs in r.runs.items():
            figs = [got.get((r.key, r.name, p, i)) for i in range(len(runs))]
            if any(f is None for f in figs):
                continue
            if len(runs) == 1:
                row[p] = {k: figs[0][k] / runs[0][1] for k, _ in FIGS}
            else:
                du = runs[1][1] - runs[0][1]
                row[p] = {k: (figs[1][k] - figs[0][k]) / du for k, _ in FIGS}
        results[(r.key, r.name)] = row
    return results, failures


def fmt(v):
    """Three significant figures (k from 10,000, M from a million); a pair
    loop's difference of counts that came out a hair below 0 is 0."""
    v = max(v, 0.0)
    x, suffix = (v / 1e6, " M") if v >= 1e6 else (v / 1e3, " k") if v >= 1e4 else (v, "")
    if x >= 100:
        return "%.0f%s" % (x, suffix)
    if x >= 10:
        return "%.1f%s" % (x, suffix)
    return "%.2f%s" % (x, suffix)


def markdown(all_rows, results, label, order):
    """The section of latest.md: one table of the counts and one of the
    ratios to each row's base peer."""
    L = ["## Costs counted: instructions and simulated cache misses (cachegrind)", "",
         "Each program run once under cachegrind (%s; bench/costs.py): the same figures on "
         "every machine and, to a fraction of a percent, in every run, so a ratio here moves "
         "only when code does.  "
         "Per node, pair or run; the pair loops' figures are the difference of two sizes "
         "(start-up cancels).  Cells: instructions / D1 misses / LL misses." % CACHE, ""]
    peers = [p for p in order if any(p in results.get((r.key, r.name), {}) for r in all_rows)]
    L.append("| case | unit | " + " | ".join(label[p] for p in peers) + " |")
    L.append("|---|---|" + "---:|" * len(peers))
    for r in all_rows:
        row = results.get((r.key, r.name), {})
        cells = []
        for p in peers:
            e = row.get(p)
            cells.append("" if e is None else "%s / %s / %s" % (fmt(e["ir"]), fmt(e["d1"]),
                                                               fmt(e["ll"])))
        L.append("| %s %s | %s | %s |" % (r.key, r.name, r.unit, " | ".join(cells)))
    L.append("")
    # The ratios: every peer's figures divided by the row's base peer's
    # (mimalloc, or W11's single-thread heap).  A D1 ratio is left out
    # where the base misses less than once in 100 units (a pair loop that
    # stays in the L1 cache: 0 / 0).
    L.append("Ratios to each row's base peer (named in the second column): "
             "instructions, then D1 misses where the base has any.")
    L.append("")
    L.append("| ratio | ÷ | " + " | ".join(label[p] for p in peers) + " |")
    L.append("|---|---|" + "---:|" * len(peers))
    for r in all_rows:
        row = results.get((r.key, r.name), {})
        b = row.get(r.base)
        if not b or not b["ir"]:
            continue
        cells = []
        for p in peers:
            e = row.get(p)
            if e is None or p == r.base:
                cells.append("")
            elif b["d1"] >= 0.01:
                cells.append("%.2f, %.2f" % (e["ir"] / b["ir"], max(e["d1"], 0) / b["d1"]))
            else:
                cells.append("%.2f" % (e["ir"] / b["ir"]))
        L.append("| %s %s | %s | %s |" % (r.key, r.name, label[r.base], " | ".join(cells)))
    L.append("")
    return L


def json_rows(all_rows, results):
    return [{"workload": r.key, "case": r.name, "unit": r.unit, "base": r.base,
             "peers": results.get((r.key, r.name), {})} for r in all_rows]
