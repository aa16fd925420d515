#!/usr/bin/env python3
"""bench/run.py — build and run ouro's benchmarks against its peers.

    python3 bench/run.py              the full benchmark (make bench):
                                      results in bench/results/latest.{md,json,svg}
                                      and latest.pauses.svg (the pause timelines;
                                      not latest-pauses.svg, which .gitignore's
                                      latest-*.* would hide)
    python3 bench/run.py --quick      every workload at a tiny size, outputs
                                      checked, no results written; exits
                                      non-zero if any output is wrong (make test)
    python3 bench/run.py --only W6    only the workloads named (comma-separated)
    python3 bench/run.py --runs 5     runs per peer (default 3; the median is kept)
    python3 bench/run.py --only COSTS only the counted section (bench/costs.py:
                                      instructions and simulated cache misses
                                      under cachegrind, the same on any machine)

What it does, in order:

 1. installs the peers' Debian packages if their headers are missing
    (apt-get install -y libgc-dev libmimalloc-dev libjemalloc-dev);
 2. configures and builds build-bench/ (Release, OURO_BENCH=ON) and only
    the benchmark programs, so a broken test elsewhere cannot stop it;
 3. runs every case for ouro and each peer back to back, the peers
    interleaved within each round so that machine drift hits all alike;
 4. validates every run's output (binary-trees text, collection counts,
    live-object counts, request-sequence checksums): a fast wrong answer is
    a failure, not a result;
 5. keeps the median of the runs for every figure (the fastest run for
    the alloc+free pair loops, `best` below), with the peak RSS of each
    process from wait4(), and writes the ratios ouro / peer.

The benchmark programs speak a tiny protocol (bench/common.h): "@name value"
lines for figures and "@check ..." lines for validation.  See
/work/shared/BENCHMARKS.md for the workloads and the peers.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import costs  # noqa: E402  (bench/costs.py: the counted section)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build-bench")
BIN = os.path.join(BUILD, "bench")
PYDIR = os.path.join(ROOT, "bench", "py")
RESULTS = os.path.join(ROOT, "bench", "results")

# Column order of the tables; "ouro" and "ouro_obj" are ours, the rest peers
# ("ouro_single", W11's ordinary heap, is a peer of W11's shared heap).
PEERS = ["ouro", "ouro_obj", "ouro_single", "ouro_cpy", "ouro_ada", "ouro_off", "ouro_untr",
         "glibc", "mimalloc", "jemalloc", "boehm", "cpython"]
OURS = ["ouro", "ouro_obj"]
LABEL = {
    "ouro": "ouro",
    "ouro_obj": "ouro obj",
    "ouro_single": "ouro, single-thread heap",
    "ouro_cpy": "ouro, CPython's schedule",
    "ouro_ada": "ouro, adaptive schedule",
    "ouro_off": "ouro, collector off",
    "ouro_untr": "ouro, untracked nodes",
    "glibc": "glibc",
    "mimalloc": "mimalloc",
    "jemalloc": "jemalloc",
    "boehm": "Boehm GC",
    "cpython": "CPython 3.11",
}
APT_PACKAGES = {
    "boehm": ("libgc-dev", "/usr/include/gc.h"),
    "mimalloc": ("libmimalloc-dev", "/usr/include/mimalloc.h"),
    "jemalloc": ("libjemalloc-dev", "/usr/include/jemalloc/jemalloc.h"),
}

# The reference output of binary-trees N=10 (BENCHMARKS.md).  The expected
# text for other N is generated, and the generator is checked against this.
BINARYTREES_10 = (
    "stretch tree of depth 11\t check: 4095\n"
    "1024\t trees of depth 4\t check: 31744\n"
    "256\t trees of depth 6\t check: 32512\n"
    "64\t trees of depth 8\t check: 32704\n"
    "16\t trees of depth 10\t check: 32752\n"
    "long lived tree of depth 10\t check: 2047\n"
)


def binarytrees_expected(n):
    min_depth = 4
    max_depth = max(min_depth + 2, n)
    lines = ["stretch tree of depth %d\t check: %d" % (max_depth + 1, 2 ** (max_depth + 2) - 1)]
    for d in range(min_depth, max_depth + 1, 2):
        it = 1 << (max_depth - d + min_depth)
        lines.append("%d\t trees of depth %d\t check: %d" % (it, d, it * (2 ** (d + 1) - 1)))
    lines.append("long lived tree of depth %d\t check: %d" % (max_depth, 2 ** (max_depth + 1) - 1))
    return "\n".join(lines) + "\n"


assert binarytrees_expected(10) == BINARYTREES_10


def gcbench_expected(stretch, long_depth, array, dmin, dmax):
    size = lambda d: (1 << (d + 1)) - 1
    lines = ["Creating %d trees of depth %d" % (2 * size(stretch) // size(d), d)
             for d in range(dmin, dmax + 1, 2)]
    lines.append("long-lived tree nodes %d, array ok" % size(long_depth))
    return "\n".join(lines) + "\n"


def binarytrees_sum(n):
    """The sum of every check value binary-trees N prints (W9's check),
    which is also the number of nodes it allocates (bench/costs.py)."""
    min_depth = 4
    max_depth = max(min_depth + 2, n)
    total = 2 ** (max_depth + 2) - 1 + 2 ** (max_depth + 1) - 1
    for d in range(min_depth, max_depth + 1, 2):
        total += (1 << (max_depth - d + min_depth)) * (2 ** (d + 1) - 1)
    return total


assert binarytrees_sum(10) == 4095 + 31744 + 32512 + 32704 + 32752 + 2047


# ---------------------------------------------------------------- cases

class Case:
    """One row of a table: a workload at one size, run by several peers.

    cmds: peer -> argv.  metric: the figure compared ("ns_per_op"...).
    expect: peer -> the exact "@check" text wanted (or a function of the
    peer), None to only require that all peers agree.  text: peer -> exact
    non-protocol stdout wanted (binary-trees), or None.
    """

    def __init__(self, wid, name, metric, unit, cmds, expect=None, text=None,
                 agree=False, scale=1.0, extras=(), note=None, schedule=None,
                 pauses=False, timeline=False, tag=None, best=False):
        self.wid = wid
        # best: the figure kept is the fastest run's, not the median.  For
        # the alloc+free pair loops only (W6, W11): a loop of a few dozen
        # instructions, run for a fraction of a second, whose time on the
        # shared 2-vCPU machines is bimodal -- the same binary runs at x or
        # about 2x from one run to the next (stop 33: 7 runs of each peer,
        # mimalloc's 16 B pairs 11.6-22.6 ns, ouro's 6.3-13.0), so a median
        # of 5 reports whichever mode had 3 runs.  The fastest run is what
        # the code costs (timeit's rule); every peer is read alike, and the
        # median is kept in the JSON ("median").
        self.best = best
        # tag: what extra_notes looks a case up by (W11: "pairs", "trees1"...)
        self.tag = tag
        # pauses: every program reports its pauses (bench/pauses.h, @pauses
        # ... @pause_timeline), checked in validate(); timeline: this case's
        # timelines are drawn in the pause picture (one case per program set).
        self.pauses = pauses
        self.timeline = timeline
        # The collection schedule ouro's program must report (@schedule):
        # INCREMENTAL for the default cases, CPYTHON311 for the comparisons.
        self.schedule = schedule
        self.name = name
        self.metric = metric
        self.unit = unit
        self.cmds = cmds
        self.expect = expect
        self.text = text
        self.agree = agree
        self.scale = scale
        self.extras = extras
        self.note = note

    @property
    def key(self):
        return "%s %s" % (self.wid, self.name)


def prog(name, peer, *args):
    return [os.path.join(BIN, "%s_%s" % (name, peer))] + [str(a) for a in args]


def pyscript(name, *args):
    return [sys.executable, os.path.join(PYDIR, name)] + [str(a) for a in args]


def c_peers(name, peers, *args):
    return {p: prog(name, p, *args) for p in peers}


MALLOCS = ["glibc", "mimalloc", "jemalloc", "boehm"]
# The extra W1/W2 cases run ouro under CPython 3.11's schedule (SCHEDULE
# argument 1, bench/onode.h); the main cases use ouro's default, incremental.
CPYTHON_SCHEDULE = 1
# The adaptive (stop-the-world) schedule's SCHEDULE argument (bench/onode.h:
# -S selects ouro.h's schedule S; OURO_GC_SCHEDULE_ADAPTIVE is 2), the
# "ouro_ada" column of W1, W2, W3, W5 and W10: the default before the
# incremental one.
ADAPTIVE_SCHEDULE = -2
# What the programs report as @schedule (ouro_gc_get_schedule).
SCHEDULE_CPYTHON = 1.0
SCHEDULE_ADAPTIVE = 2.0
SCHEDULE_INCREMENTAL = 3.0


# W6 bulk: memory kept after everything is freed (w6_alloc.c kept_after_free).
KEPT_STAGES = ("after_free", "after_decay", "after_trim")
KEPT_EXTRAS = tuple("rss_%s_mib" % k for k in KEPT_STAGES) + \
    tuple("mapped_%s_mib" % k for k in KEPT_STAGES)


def build_cases(quick):
    q = quick
    cases = []

    # W6 allocator
    n_pairs = 20000 if q else 10000000
    n_bulk = 20000 if q else 1000000
    w6_peers = ["ouro", "ouro_obj"] + MALLOCS + ["cpython"]
    for size in (16, 32, 64, 256, 512):
        cases.append(Case("W6", "alloc+free pairs, %d B" % size, "ns_per_op", "ns/pair",
                          c_peers("w6_alloc", w6_peers, "pairs", size, n_pairs),
                          expect="pairs %d" % size, extras=("live1_ns_per_op",), best=True))
    # a large block (over 2 KiB: its own mapping in ouro), freed at once
    n_large = 20000 if q else 500000
    cases.append(Case("W6", "alloc+free pairs, 64 KiB", "ns_per_op", "ns/pair",
                      c_peers("w6_alloc", w6_peers, "pairs", 65536, n_large),
                      expect="pairs 65536", extras=("live1_ns_per_op",), best=True))
    for size in (16, 32, 64, 256, 512):
        cases.append(Case("W6", "1M alloc then free all, %d B" % size if not q else
                          "bulk alloc then free all, %d B" % size, "ns_per_op", "ns/block",
                          c_peers("w6_alloc", w6_peers, "bulk", size, n_bulk),
                          expect="bulk %d %d" % (size, n_bulk),
                          extras=("alloc_s", "free_s") + KEPT_EXTRAS))
    slots, n_mixed = (4096, 200000) if q else (65536, 10000000)
    cases.append(Case("W6", "mixed sizes 16-2048 B, random", "ns_per_op", "ns/op",
                      c_peers("w6_alloc", w6_peers, "mixed", slots, n_mixed), agree=True))

    # W1 binary-trees
    n = 10 if q else 20
    cases.append(Case("W1", "binary-trees N=%d" % n, "time_s", "s",
                      dict(c_peers("w1_binarytrees", ["ouro"] + MALLOCS, n),
                           ouro_ada=prog("w1_binarytrees", "ouro", n, ADAPTIVE_SCHEDULE),
                           # where the time goes (analysis, not peers for the
                           # target: the workload's rules keep the collector on)
                           ouro_off=prog("w1_binarytrees", "ouro", n, 0, "off"),
                           ouro_untr=prog("w1_binarytrees", "ouro", n, 0, "untracked")),
                      text=binarytrees_expected(n), extras=("collections",),
                      schedule=SCHEDULE_INCREMENTAL))
    # The same with ouro under CPython 3.11's schedule (a young collection
    # every 700 net allocations, as a Python program has).
    cases.append(Case("W1", "binary-trees N=%d, ouro under CPython's schedule" % n, "time_s",
                      "s", {"ouro": prog("w1_binarytrees", "ouro", n, CPYTHON_SCHEDULE),
                            "mimalloc": prog("w1_binarytrees", "mimalloc", n),
                            "jemalloc": prog("w1_binarytrees", "jemalloc", n)},
                      text=binarytrees_expected(n), extras=("collections",),
                      schedule=SCHEDULE_CPYTHON))

    # W3 cycle reclaim
    n = 20000 if q else 1000000
    cases.append(Case("W3", "collect %s 2-object cycles, gc off" % fmt_count(n), "time_s", "ms",
                      {"ouro": prog("w3_cycles", "ouro", "manual", n),
                       "cpython": pyscript("w3_cycles.py", "manual", n)},
                      expect="collected %d" % (2 * n), scale=1e3, extras=("ns_per_obj",)))
    cases.append(Case("W3", "%s cycles, gc on: collector time" % fmt_count(n), "time_s", "ms",
                      {"ouro": prog("w3_cycles", "ouro", "auto", n),
                       "ouro_ada": prog("w3_cycles", "ouro", "auto", n, ADAPTIVE_SCHEDULE),
                       "cpython": pyscript("w3_cycles.py", "auto", n)},
                      expect="collected %d" % (2 * n), scale=1e3,
                      extras=("total_s", "collections", "pause_max_s")))

    # W4 live-heap traversal
    sizes = (20000,) if q else (1000000, 5000000)
    reps = 3 if q else 5
    for n in sizes:
        cases.append(Case("W4", "full collect, %s live" % fmt_count(n), "time_s", "ms",
                          {"ouro": prog("w4_live", "ouro", "full", n, reps),
                           "boehm": prog("w4_live", "boehm", "full", n, reps),
                           "cpython": pyscript("w4_live.py", "full", n, reps)},
                          expect={"ouro": "collected 0 0", "cpython": "collected 0 0",
                                  "boehm": "nodes %d" % n},
                          scale=1e3, extras=("ns_per_obj",)))
    levels = 100 if q else 1000
    cases.append(Case("W4", "gc_traversal, %d lists" % levels, "time_s", "ms",
                      {"ouro": prog("w4_live", "ouro", "traversal", levels, reps),
                       "boehm": prog("w4_live", "boehm", "traversal", levels, reps),
                       "cpython": pyscript("w4_live.py", "traversal", levels, reps)},
                      expect={"ouro": "collected 0 0", "cpython": "collected 0 0",
                              "boehm": "lists %d" % levels}, scale=1e3))
    old, young, yreps = (20000, 50, 5) if q else (1000000, 500, 51)
    cases.append(Case("W4", "young collect, %d over %s old" % (young, fmt_count(old)),
                      "time_s", "µs",
                      {"ouro": prog("w4_live", "ouro", "young", old, young, yreps),
                       "cpython": pyscript("w4_live.py", "young", old, young, yreps)},
                      expect="collected 0", scale=1e6))

    # W2 GCBench
    args = (14, 12, 20000, 4, 12) if q else (18, 16, 500000, 4, 16)
    cases.append(Case("W2", "GCBench" + (" (small)" if q else ""), "time_s", "ms",
                      dict(c_peers("w2_gcbench", ["ouro"] + MALLOCS, *args),
                           ouro_ada=prog("w2_gcbench", "ouro",
                                         *(args + (ADAPTIVE_SCHEDULE,)))),
                      text=gcbench_expected(*args), scale=1e3,
                      extras=("collections", "gc_s", "pause_max_s"),
                      schedule=SCHEDULE_INCREMENTAL))
    cases.append(Case("W2", "GCBench%s, ouro under CPython's schedule" % (" (small)" if q else ""),
                      "time_s", "ms",
                      {"ouro": prog("w2_gcbench", "ouro", *(args + (CPYTHON_SCHEDULE,))),
                       "mimalloc": prog("w2_gcbench", "mimalloc", *args),
                       "boehm": prog("w2_gcbench", "boehm", *args)},
                      text=gcbench_expected(*args), scale=1e3, extras=("collections",),
                      schedule=SCHEDULE_CPYTHON))

    # W5 pauses: one chain, head = Node(head), grown to 5 M and 20 M live
    # under automatic collection (ouro's default schedule); a full collection
    # walks the whole chain, so the longest pause grows with the heap.
    for n in ((50000, 100000) if q else (5000000, 20000000)):
        cmds = {"ouro": prog("w5_pauses", "ouro", n), "boehm": prog("w5_pauses", "boehm", n),
                "ouro_ada": prog("w5_pauses", "ouro", n, ADAPTIVE_SCHEDULE),
                "cpython": pyscript("w5_pauses.py", n)}
        cases.append(Case("W5", "grow to %s live: collector time" % fmt_count(n), "time_s",
                          "ms", cmds, expect="live %d" % n, scale=1e3, pauses=True,
                          extras=("total_s", "gc_fraction", "collections", "full_collections"),
                          schedule=SCHEDULE_INCREMENTAL))
        cases.append(Case("W5", "grow to %s live: longest pause" % fmt_count(n), "pause_max_s",
                          "ms", cmds, expect="live %d" % n, scale=1e3, pauses=True,
                          timeline=True, extras=PAUSE_EXTRAS, schedule=SCHEDULE_INCREMENTAL))

    # W5 on a shared heap that one thread uses (SHARED 1): the incremental
    # schedule, which a shared heap runs when asked (every increment stops
    # the world), against its default, the adaptive schedule.
    n = 50000 if q else 5000000
    cmds = {"ouro": prog("w5_pauses", "ouro", n, -3, 1),
            "ouro_ada": prog("w5_pauses", "ouro", n, ADAPTIVE_SCHEDULE, 1)}
    cases.append(Case("W5", "grow to %s live, shared heap: longest pause" % fmt_count(n),
                      "pause_max_s", "ms", cmds, expect="live %d" % n, scale=1e3, pauses=True,
                      extras=PAUSE_EXTRAS, schedule=SCHEDULE_INCREMENTAL))

    # W7 weak references
    n = 20000 if q else 1000000
    cases.append(Case("W7", "%s weakrefs, referents die by refcount" % fmt_count(n), "time_s",
                      "ms",
                      {"ouro": prog("w7_weakrefs", "ouro", "rc", n),
                       "cpython": pyscript("w7_weakrefs.py", "rc", n)},
                      expect="callbacks %d" % n, scale=1e3, extras=("total_s", "base_s"),
                      note="time with the weak reference minus the same loop without it"))
    cases.append(Case("W7", "%s weakrefs to cyclic trash, one collect" % fmt_count(n), "time_s",
                      "ms",
                      {"ouro": prog("w7_weakrefs", "ouro", "cyclic", n),
                       "cpython": pyscript("w7_weakrefs.py", "cyclic", n)},
                      expect="collected %d callbacks %d alive 0" % (2 * n, n), scale=1e3))

    # W8 memory per object
    n = 100000 if q else 5000000
    cmds = c_peers("w8_perobj", ["ouro"] + MALLOCS, n)
    cmds["cpython"] = pyscript("w8_perobj.py", n)
    cases.append(Case("W8", "bytes per 2-reference node, %s live" % fmt_count(n),
                      "bytes_per_obj", "B", cmds, expect="live %d" % n,
                      extras=("heap_bytes_per_obj", "getsizeof")))
    # W9 tracing overhead: each program times its workload untraced and
    # traced, alternating, and reports the slowdown; the ratio is ouro's
    # slowdown over CPython's with tracemalloc.start(1).
    n = 8 if q else 14
    cases.append(Case("W9", "binary-trees N=%d, every allocation traced" % n, "slowdown", "×",
                      {"ouro": prog("w9_tracing", "ouro", "trees", n, "traced"),
                       "cpython": pyscript("w9_tracing.py", "trees", n)},
                      expect="trees %d %d" % (n, binarytrees_sum(n)), extras=("off_s", "on_s")))
    cases.append(Case("W9", "binary-trees N=%d, sampled (512 KiB)" % n, "slowdown", "×",
                      {"ouro": prog("w9_tracing", "ouro", "trees", n, "sampled")},
                      expect="trees %d %d" % (n, binarytrees_sum(n)), extras=("off_s", "on_s")))
    n = 20000 if q else 10000000
    cases.append(Case("W9", "%s alloc+free pairs of 64 B, every allocation traced"
                      % fmt_count(n), "slowdown", "×",
                      {"ouro": prog("w9_tracing", "ouro", "pairs", 64, n, "traced"),
                       "cpython": prog("w9_tracing", "cpython", "pairs", 64, n)},
                      expect="pairs 64 %d" % n, extras=("off_s", "on_s")))
    cases.append(Case("W9", "%s alloc+free pairs of 64 B, sampled (512 KiB)" % fmt_count(n),
                      "slowdown", "×",
                      {"ouro": prog("w9_tracing", "ouro", "pairs", 64, n, "sampled")},
                      expect="pairs 64 %d" % n, extras=("off_s", "on_s")))
    # W10 cyclic churn: ouro's default (incremental) schedule against ouro under
    # CPython 3.11's schedule (the peak target: <= 1.5x) and CPython itself.
    # lists runs 2,000 rounds, the length of the PR #108038 review's program.
    for mode, rounds in (("lists", 10 if q else 2000), ("batches", 2000 if q else 100000)):
        cmds = {"ouro": prog("w10_churn", "ouro", mode, rounds),
                "ouro_cpy": prog("w10_churn", "ouro", mode, rounds, "cpython"),
                "ouro_ada": prog("w10_churn", "ouro", mode, rounds, "adaptive"),
                "cpython": pyscript("w10_churn.py", mode, rounds)}
        if mode == "lists":
            long_, alive = 10000 + 25 * rounds, 10000 + 25 * rounds + 5000
            name = "lists: 5,000-node cycles over a growing list, %d rounds" % rounds
        else:
            long_ = 1000 + rounds // 20
            alive = long_ + (rounds % 20) * 20
            name = "batches: 20-node cycles in batches of 20, %s rounds" % fmt_count(rounds)
        expect = "long %d alive %d" % (long_, alive)
        cases.append(Case("W10", name + ": most objects alive", "peak_alive", "objects", cmds,
                          expect=expect, extras=("collections",), pauses=True))
        cases.append(Case("W10", name + ": time", "time_s", "ms", cmds, expect=expect,
                          scale=1e3, extras=PAUSE_EXTRAS + ("collections",), pauses=True,
                          timeline=mode == "lists"))

    cases.extend(w11_cases(q))
    return cases


def w11_cases(q):
    """W11 threads, on raw blocks, and binary-trees with ouro objects: ouro
    is one shared heap every thread attaches to, ouro_single an ordinary
    heap (bench/w11_threads.c)."""
    cases = []
    mallocs = ["glibc", "mimalloc", "jemalloc"]  # Boehm's threads would need registering
    n = 20000 if q else 10000000
    for size in (16, 64, 256):
        cases.append(Case("W11", "one thread: alloc+free pairs, %d B" % size, "ns_per_op",
                          "ns/pair", c_peers("w11_threads", ["ouro", "ouro_single"] + mallocs,
                                             "pairs", size, n),
                          expect={"ouro": "pairs %d shared" % size,
                                  **{p: "pairs %d" % size for p in ["ouro_single"] + mallocs}},
                          extras=("live1_ns_per_op",), tag="pairs", best=True))
    # issue 17's W6 and W2 rows: objects on a shared heap used by one thread
    # against the ordinary heap (no malloc peer: they have no objects)
    n = 20000 if q else 10000000
    cases.append(Case("W11", "one thread: ouro_new+ouro_decref pairs, 32 B", "ns_per_op",
                      "ns/pair", c_peers("w11_threads", ["ouro", "ouro_single"], "opairs", 32, n),
                      expect={"ouro": "opairs 32 shared", "ouro_single": "opairs 32"},
                      extras=("live1_ns_per_op",), tag="opairs", best=True))
    args = (14, 12, 20000, 4, 12) if q else (18, 16, 500000, 4, 16)
    cases.append(Case("W11", "GCBench%s, 1 thread" % (" (small)" if q else ""), "time_s", "ms",
                      {"ouro": prog("w2_gcbench", "ouro", *(args + (0, 1))),
                       "ouro_single": prog("w2_gcbench", "ouro", *args)},
                      text=gcbench_expected(*args), scale=1e3, extras=("collections",),
                      tag="gcbench1"))
    n = 10 if q else 20
    for threads in (1, 2):
        peers = (["ouro", "ouro_single"] if threads == 1 else ["ouro"]) + mallocs
        cases.append(Case("W11", "binary-trees N=%d, %d thread%s" % (n, threads,
                                                                    "s" if threads > 1 else ""),
                          "time_s", "s", c_peers("w11_threads", peers, "trees", n, threads),
                          text=binarytrees_expected(n), tag="trees%d" % threads))
    n = 10 if q else 18
    for threads in (1, 2):
        peers = ["ouro", "ouro_single"] if threads == 1 else ["ouro"]
        cases.append(Case("W11", "binary-trees N=%d, ouro objects, %d thread%s" % (
                              n, threads, "s" if threads > 1 else ""),
                          "time_s", "s", c_peers("w11_threads", peers, "otrees", n, threads),
                          text=binarytrees_expected(n), extras=("collections", "gc_s"),
                          tag="otrees%d" % threads))
    n = 20000 if q else 5000000
    for size in (64, 256):
        common = "prodcons %d %d received %d sum %d bad 0" % (size, n, n, n * (n - 1) // 2)
        cases.append(Case("W11", "producer/consumer, %s blocks of %d B" % (fmt_count(n), size),
                          "ns_per_op", "ns/block",
                          c_peers("w11_threads", ["ouro"] + mallocs, "prodcons", size, n),
                          expect={"ouro": common + " remote_frees %d pending 0 in_use 0" % n,
                                  **{p: common for p in mallocs}},
                          extras=("remote_frees", "queue_waits"), tag="prodcons"))
    # the same with objects (BENCHMARKS.md: "objects made in one thread are
    # released in another"): ouro_new and the consumer's ouro_decref, against
    # the peers' malloc and free of the same size
    common = "received %d sum %d bad 0" % (n, n * (n - 1) // 2)
    cmds = c_peers("w11_threads", mallocs, "prodcons", 64, n)
    cmds["ouro"] = prog("w11_threads", "ouro", "oprodcons", 64, n)
    cases.append(Case("W11", "producer/consumer, %s objects of 64 B" % fmt_count(n),
                      "ns_per_op", "ns/object", cmds,
                      expect={"ouro": "oprodcons 64 %d %s objects 0 pending 0 in_use 0"
                                      % (n, common),
                              **{p: "prodcons 64 %d %s" % (n, common) for p in mallocs}},
                      extras=("queue_waits",), tag="prodcons"))
    threads = 8
    for gap_ms, rounds in ((1, 20 if q else 200), (20, 10 if q else 200)):
        cmd = {"ouro": prog("w11_threads", "ouro", "stop", threads, rounds, gap_ms * 1000)}
        expect = "stop %d %d stops %d failed 0 threads %d" % (threads, rounds, rounds + 1,
                                                              threads + 1)
        name = "stop %d threads, stops %d ms apart" % (threads, gap_ms)
        extras = ("stop_wait_mean_us", "stop_wait_max_us", "call_p50_us", "call_max_us",
                  "stops")
        cases.append(Case("W11", name + ": mean wait", "stop_wait_mean_us", "µs", cmd,
                          expect=expect, extras=extras, tag="stop"))
        cases.append(Case("W11", name + ": longest wait", "stop_wait_max_us", "µs", cmd,
                          expect=expect, extras=extras, tag="stopmax"))
    return cases


# The pause figures every pause-measuring program prints (bench/pauses.h).
PAUSE_EXTRAS = ("pauses", "gc_s", "pause_p50_s", "pause_p99_s", "pause_max_s")
# The most points of @pause_timeline (BENCH_TIMELINE_POINTS, pauses.py).
TIMELINE_POINTS = 2000


def fmt_count(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dK" % (n // 1000)
    return str(n)


WORKLOAD_TITLES = {
    "W1": "W1 binary-trees (time)",
    "W2": "W2 GCBench (time)",
    "W3": "W3 cycle reclaim (collector time)",
    "W4": "W4 live-heap traversal (collection time)",
    "W5": "W5 pauses while growing a live heap",
    "W6": "W6 allocator",
    "W7": "W7 weak references",
    "W8": "W8 memory per object",
    "W9": "W9 profiling overhead (slowdown with allocation-site tracing on)",
    "W10": "W10 cyclic churn (most objects alive at once, time)",
    "W11": "W11 threads: shared heaps",
}
WORKLOAD_ORDER = ["W6", "W1", "W3", "W4", "W2", "W5", "W7", "W8", "W9", "W10", "W11"]


# ---------------------------------------------------------------- running

def run_once(argv, timeout):
    """Run one program; return (rc, stdout, stderr, rusage, wall s): the
    rusage's ru_maxrss is the peak RSS in KiB, ru_minflt its minor page
    faults."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.monotonic()
        p = subprocess.Popen(argv, stdout=out, stderr=err, cwd=ROOT)
        status, ru = None, None
        # wait4 rather than Popen.wait: it gives this child's own rusage,
        # whose ru_maxrss is the process's peak RSS.
        while True:
            pid, st, ru_ = os.wait4(p.pid, os.WNOHANG)
            if pid == p.pid:
                status, ru = st, ru_
                break
            if time.monotonic() - t0 > timeout:
                p.kill()
                pid, st, ru_ = os.wait4(p.pid, 0)
                status, ru = None, ru_
                break
            time.sleep(0.005)
        wall = time.monotonic() - t0
        p.returncode = 0  # reaped by wait4; keep Popen from waiting again
        out.seek(0)
        err.seek(0)
        so = out.read().decode("utf-8", "replace")
        se = err.read().decode("utf-8", "replace")
    if status is None:
        rc = "timeout after %ds" % timeout
    elif os.WIFEXITED(status):
        rc = os.WEXITSTATUS(status)
    else:
        rc = "killed by signal %d" % os.WTERMSIG(status)
    return rc, so, se, ru, wall


def parse(stdout):
    """(figures, checks, text, peer, timeline): timeline is the list of
    (start s, length s) of @pause_timeline, or None without one."""
    figures, checks, text, peer, timeline = {}, [], [], None, None
    for line in stdout.splitlines():
        if line.startswith("@check "):
            checks.append(line[7:].strip())
        elif line.startswith("@peer "):
            peer = line[6:].strip()
        elif line.startswith("@pause_timeline"):
            timeline = []
            for pair in line[len("@pause_timeline"):].strip().split(","):
                if pair:
                    a, _, d = pair.partition(":")
                    try:
                        timeline.append((float(a), float(d)))
                    except ValueError:
                        timeline.append((float("nan"), float("nan")))
        elif line.startswith("@"):
            name, _, value = line[1:].partition(" ")
            try:
                figures[name] = float(value)
            except ValueError:
                pass
        else:
            text.append(line + "\n")
    return figures, checks, "".join(text), peer, timeline


def check_pauses(figures, timeline):
    """None if a program's pause figures hang together, else what is wrong."""
    for k in PAUSE_EXTRAS:
        if k not in figures:
            return "no @%s line in the output" % k
    if timeline is None:
        return "no @pause_timeline line in the output"
    n = figures["pauses"]
    p50, p99, pmax = figures["pause_p50_s"], figures["pause_p99_s"], figures["pause_max_s"]
    if n < 1:
        return "no collection was timed"
    if not 0 <= p50 <= p99 <= pmax:
        return "pause percentiles out of order: p50 %g, p99 %g, max %g" % (p50, p99, pmax)
    if "collections" in figures and figures["collections"] != n:
        return "%d collections but %d pauses" % (figures["collections"], n)
    if len(timeline) != min(n, TIMELINE_POINTS):
        return "%d timeline points for %d pauses" % (len(timeline), n)
    last = 0.0
    for at, d in timeline:
        if not (at >= last and d >= 0):
            return "timeline point %r:%r out of order or negative" % (at, d)
        last = at
    top = max(d for _, d in timeline)
    if abs(top - pmax) > 1e-4 * pmax + 1e-9:
        return "timeline's longest pause %g is not @pause_max_s %g" % (top, pmax)
    if sum(d for _, d in timeline) > figures["gc_s"] * (1 + 1e-4) + 1e-9:
        return "timeline's pauses add up to more than @gc_s"
    return None


def validate(case, peer, rc, stdout, stderr):
    """None if the run is right, else what is wrong."""
    if rc != 0:
        tail = stderr.strip().splitlines()[-3:]
        return "exit status %s%s" % (rc, (": " + " | ".join(tail)) if tail else "")
    figures, checks, text, _, timeline = parse(stdout)
    if case.metric not in figures:
        return "no @%s line in the output" % case.metric
    if case.pauses:
        err = check_pauses(figures, timeline)
        if err:
            return err
    if case.text is not None and text != case.text:
        exp = case.text.splitlines()
        got = text.splitlines()
        for i in range(max(len(exp), len(got))):
            e = exp[i] if i < len(exp) else "<nothing>"
            g = got[i] if i < len(got) else "<nothing>"
            if e != g:
                return "output line %d is %r, expected %r" % (i + 1, g, e)
        return "output differs from the reference"
    if case.schedule is not None and peer == "ouro" and figures.get("schedule") != case.schedule:
        return "ran under schedule %s, expected %s" % (figures.get("schedule"), case.schedule)
    if case.expect is not None:
        want = case.expect.get(peer) if isinstance(case.expect, dict) else case.expect
        if want is not None and checks != [want]:
            return "check %r, expected %r" % (" / ".join(checks) or "<none>", want)
    return None


def run_cases(cases, runs, timeout, verbose, short_runs=None):
    """Run every case `runs` times per peer (interleaved), or `short_runs`
    times for a case whose first round took under 5 s in all: cheap cases
    get more samples, which steadies their medians on a shared machine.
    Cases that run the same command (two figures of one program, as W5's
    collector time and longest pause) share its runs: the k-th run of a
    command is made once and read by every case that needs it."""
    results = {}
    failures = []
    done = {}  # argv tuple -> [(rc, stdout, stderr, rusage, wall)] in run order
    for case in cases:
        peers = [p for p in PEERS if p in case.cmds]
        avail = {}
        for p in peers:
            exe = case.cmds[p][0]
            if exe == sys.executable or os.path.exists(exe):
                avail[p] = case.cmds[p]
            else:
                results.setdefault(case.key, {})[p] = {"missing": True}
        samples = {p: [] for p in avail}
        checks_seen = {}
        broken = set()
        print("%-58s" % case.key, end="", flush=True)
        rounds = runs
        r = 0
        while r < rounds:
            round_s = 0.0
            for p, argv in avail.items():
                if p in broken:
                    continue
                made = done.setdefault(tuple(argv), [])
                if len(made) <= r:
                    made.append(run_once(argv, timeout))
                rc, so, se, ru, wall = made[r]
                round_s += wall
                err = validate(case, p, rc, so, se)
                if err:
                    broken.add(p)
                    failures.append({"case": case.key, "peer": p, "error": err,
                                     "argv": " ".join(argv)})
                    print("\n  FAIL %s: %s" % (p, err), end="", flush=True)
                    continue
                figures, checks, _, version, timeline = parse(so)
                checks_seen.setdefault(p, checks)
                samples[p].append({"figures": figures, "rss_kib": ru.ru_maxrss,
                                   "minflt": ru.ru_minflt, "wall_s": wall,
                                   "version": version, "timeline": timeline})
            print(".", end="", flush=True)
            if r == 0 and short_runs and round_s < 5.0:
                rounds = max(rounds, short_runs)
            r += 1
        if case.agree:
            distinct = {tuple(c) for c in checks_seen.values()}
            if len(distinct) > 1:
                failures.append({"case": case.key, "peer": "*",
                                 "error": "peers disagree: %r" % checks_seen})
                print("\n  FAIL peers disagree: %r" % checks_seen, end="")
                broken.update(checks_seen)
        row = results.setdefault(case.key, {})
        row["_runs"] = rounds
        for p, ss in samples.items():
            if p in broken or not ss:
                row[p] = {"failed": True}
                continue
            agg = min if case.best else statistics.median
            fig = lambda k: agg(s["figures"][k] for s in ss if k in s["figures"])
            entry = {
                "value": fig(case.metric) * case.scale,
                "median": statistics.median(s["figures"][case.metric] for s in ss) * case.scale,
                "samples": [s["figures"][case.metric] * case.scale for s in ss],
                "peak_rss_mib": statistics.median(s["rss_kib"] for s in ss) / 1024.0,
                "minor_faults": statistics.median(s["minflt"] for s in ss),
                "wall_s": statistics.median(s["wall_s"] for s in ss),
                "version": ss[0]["version"],
                "extra": {},
            }
            for k in case.extras:
                if any(k in s["figures"] for s in ss):
                    entry["extra"][k] = fig(k)
            if case.timeline:
                # the pauses of the run whose figure is the median (the
                # upper one of an even count), for the pause picture
                mid = sorted(ss, key=lambda s: s["figures"][case.metric])[len(ss) // 2]
                entry["timeline"] = mid["timeline"]
                entry["timeline_of"] = {k: mid["figures"].get(k) for k in PAUSE_EXTRAS}
            row[p] = entry
        summary = "  ".join("%s %s" % (LABEL[p], fmt_value(row[p].get("value")))
                            for p in PEERS if p in row and "value" in row[p])
        print(" " + summary)
        if verbose:
            for p in row:
                print("    %s: %r" % (p, row[p]))
    return results, failures


def fmt_value(v):
    if v is None:
        return "-"
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    if v >= 1:
        return "%.2f" % v
    return "%.3g" % v


def ratios_for(case, row):
    out = {}
    for o in OURS:
        if "value" not in row.get(o, {}):
            continue
        for p in PEERS:
            if p in OURS or "value" not in row.get(p, {}):
                continue
            if row[p]["value"] > 0:
                out["%s/%s" % (o, p)] = row[o]["value"] / row[p]["value"]
    return out


# ---------------------------------------------------------------- setup

def ensure_peers():
    missing = [pkg for peer, (pkg, hdr) in APT_PACKAGES.items() if not os.path.exists(hdr)]
    if not missing:
        return
    prefix = []
    if os.geteuid() != 0:
        if not shutil.which("sudo"):
            print("bench: peers missing (%s) and no root to install them; they will be skipped"
                  % " ".join(missing))
            return
        prefix = ["sudo"]
    print("bench: installing " + " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = prefix + ["apt-get", "install", "-y", "-q"] + missing
    if subprocess.call(install, env=env) != 0:
        # The package lists may be stale on a fresh machine.
        subprocess.call(prefix + ["apt-get", "update", "-q"], env=env)
        if subprocess.call(install, env=env) != 0:
            print("bench: could not install %s; those peers will be skipped" % " ".join(missing))


def build(jobs):
    cfg = ["cmake", "-S", ROOT, "-B", BUILD, "-DOURO_BENCH=ON", "-DOURO_TESTS=OFF",
           "-DCMAKE_BUILD_TYPE=Release"]
    if subprocess.call(cfg, stdout=subprocess.DEVNULL) != 0:
        sys.exit("bench: cmake configure failed")
    if subprocess.call(["cmake", "--build", BUILD, "-j%d" % jobs, "--target", "bench_programs"],
                       stdout=subprocess.DEVNULL) != 0:
        sys.exit("bench: build failed")


def machine_info():
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except OSError:
            return ""
    cpu = next((l.split(":", 1)[1].strip() for l in read("/proc/cpuinfo").splitlines()
                if l.startswith("model name")), platform.processor())
    mem = next((l.split()[1] for l in read("/proc/meminfo").splitlines()
                if l.startswith("MemTotal")), "0")
    osname = next((l.split("=", 1)[1].strip('"') for l in read("/etc/os-release").splitlines()
                   if l.startswith("PRETTY_NAME=")), platform.system())
    try:
        cc = subprocess.check_output(["cc", "--version"], text=True).splitlines()[0]
    except (OSError, subprocess.CalledProcessError):
        cc = "?"
    try:
        commit = subprocess.check_output(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                         text=True, stderr=subprocess.DEVNULL).strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "none"
    return {
        "loadavg_start": os.getloadavg()[0],
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem_gib": round(int(mem) / 1048576, 1),
        "os": osname,
        "kernel": platform.release(),
        "compiler": cc,
        "python": platform.python_version(),
        "commit": commit,
    }


# ---------------------------------------------------------------- reports

def write_json(path, info, cases, results, failures, runs, cost_rows=None):
    doc = {
        "date": info["date"],
        "machine": {k: v for k, v in info.items() if k != "date"},
        "runs_per_peer_min": runs,
        "cases": [],
        "failures": failures,
        "costs": cost_rows or [],
    }
    for c in cases:
        row = results.get(c.key, {})
        doc["cases"].append({
            "workload": c.wid, "case": c.name, "metric": c.metric, "unit": c.unit,
            "runs": row.get("_runs"),
            # the timelines are drawn (.pauses.svg), not kept here
            "peers": {p: {k: x for k, x in v.items() if k != "timeline"}
                      for p, v in row.items() if not p.startswith("_")},
            "ratios": ratios_for(c, row), "note": c.note,
        })
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, ensure_ascii=False)
        f.write("\n")


def write_md(path, info, cases, results, failures, runs, pauses_svg=None, cost_md=None):
    L = []
    L.append("# ouro benchmark results")
    L.append("")
    L.append("%s on %s (%d cores, %.0f GiB), %s, kernel %s, %s, Python %s; commit %s."
             % (info["date"], info["cpu"], info["cores"], info["mem_gib"], info["os"],
                info["kernel"], info["compiler"], info["python"], info["commit"]))
    L.append("Median of %d runs per peer (5 for cases that take under 5 s a round; "
             "the alloc+free pair loops of W6 and W11 keep their fastest run, "
             "see bench/README.md), peers interleaved; peak RSS from wait4(). "
             "Ratios are ouro ÷ peer: below 1 means ouro is faster (or smaller). "
             "Load average %.1f at the start, %.1f at the end; %d s in all."
             % (runs, info["loadavg_start"], info.get("loadavg_end", 0), info.get("elapsed_s", 0)))
    L.append("Produced by `python3 bench/run.py`; workloads in /work/shared/BENCHMARKS.md "
             "and bench/*.c, bench/py/*.py.")
    if pauses_svg:
        L.append("")
        L.append("Every collection's pause over time, for ouro and CPython: [%s](%s)."
                 % (pauses_svg, pauses_svg))
    if max(info["loadavg_start"], info.get("loadavg_end", 0)) > 1.5:
        L.append("")
        L.append("**Note: the machine was busy with other work during this run; absolute "
                 "figures are noisy, ratios less so.**")
    L.append("")
    if failures:
        L.append("**FAILURES** (these runs produced a wrong answer or crashed; "
                 "their figures are left out):")
        L.append("")
        for f in failures:
            L.append("- %s, %s: %s" % (f["case"], LABEL.get(f["peer"], f["peer"]), f["error"]))
        L.append("")
    for wid in WORKLOAD_ORDER:
        wc = [c for c in cases if c.wid == wid]
        if not wc:
            continue
        present = [p for p in PEERS if any(p in results.get(c.key, {}) for c in wc)]
        L.append("## " + WORKLOAD_TITLES[wid])
        L.append("")
        L.append("| case | unit | " + " | ".join(LABEL[p] for p in present) + " |")
        L.append("|---|---|" + "---:|" * len(present))
        for c in wc:
            row = results.get(c.key, {})
            cells = []
            for p in present:
                e = row.get(p)
                if e is None:
                    cells.append("")
                elif e.get("missing"):
                    cells.append("n/a")
                elif e.get("failed"):
                    cells.append("FAIL")
                else:
                    cells.append("%s (%.0f MiB)" % (fmt_value(e["value"]), e["peak_rss_mib"]))
            L.append("| %s | %s | %s |" % (c.name, c.unit, " | ".join(cells)))
        L.append("")
        others = [p for p in present if p not in OURS]
        ours = [o for o in OURS if o in present]
        if others and ours:
            L.append("| ratio | " + " | ".join("÷ " + LABEL[p] for p in others) + " |")
            L.append("|---|" + "---:|" * len(others))
            for c in wc:
                rat = ratios_for(c, results.get(c.key, {}))
                for o in ours:
                    cells = []
                    for p in others:
                        v = rat.get("%s/%s" % (o, p))
                        cells.append("%.2f" % v if v is not None else "")
                    if any(cells):
                        L.append("| %s: %s | %s |" % (c.name, LABEL[o], " | ".join(cells)))
            L.append("")
        notes = extra_notes(wid, wc, results)
        if notes:
            L.extend(notes)
            L.append("")
    if cost_md:
        L.extend(cost_md)
    with open(path, "w") as f:
        f.write("\n".join(L))


def fault_notes(wc, results):
    """W1's minor page faults (the whole process's, from wait4's rusage,
    medians over the runs): issue 15's target is ouro <= 2x mimalloc."""
    out = []
    for c in wc:
        row = results.get(c.key, {})
        have = [p for p in PEERS if "minor_faults" in row.get(p, {})]
        if "ouro" not in have:
            continue
        cells = ["%s %.0f" % (LABEL[p], row[p]["minor_faults"]) for p in have]
        line = "Minor page faults, %s: %s" % (c.name, ", ".join(cells))
        mi = row.get("mimalloc", {}).get("minor_faults")
        if mi:
            line += " (ouro ÷ mimalloc %.2f)" % (row["ouro"]["minor_faults"] / mi)
        out.append("")
        out.append(line + ".")
    return out


def w1_parts_notes(wc, results):
    """Where W1's time goes: ouro with the collector off (the nodes still
    tracked) and with untracked nodes (allocator, header and reference
    counting alone), each against mimalloc, beside the default run."""
    out = []
    for c in wc:
        row = results.get(c.key, {})
        v = {p: row.get(p, {}).get("value") for p in ("ouro", "ouro_off", "ouro_untr",
                                                       "mimalloc")}
        if None in v.values() or not v["mimalloc"]:
            continue
        out.append("")
        out.append("Where the time goes, %s (÷ mimalloc): ouro %.2f; with the collector off "
                   "(nodes still tracked) %.2f; with untracked nodes (allocator, header and "
                   "reference counting) %.2f. So the collections are %.0f%% of ouro's time and "
                   "the tracking (generation lists and counts) %.0f%%."
                   % (c.name, v["ouro"] / v["mimalloc"], v["ouro_off"] / v["mimalloc"],
                      v["ouro_untr"] / v["mimalloc"], 100 * (v["ouro"] - v["ouro_off"]) / v["ouro"],
                      100 * (v["ouro_off"] - v["ouro_untr"]) / v["ouro"]))
    return out


def extra_notes(wid, wc, results):
    """A few secondary figures that explain the main ones."""
    out = []

    def ex(c, p, k):
        return results.get(c.key, {}).get(p, {}).get("extra", {}).get(k)

    if wid == "W6":
        pairs = [c for c in wc if "pairs" in c.name]
        if pairs:
            present = [p for p in PEERS if any("value" in results.get(c.key, {}).get(p, {})
                                               for c in pairs)]
            out.append("Alloc+free pairs with one other block of the size kept allocated "
                       "(ns/pair; shows the cost of giving the last empty arena back):")
            out.append("")
            out.append("| case | " + " | ".join(LABEL[p] for p in present) + " |")
            out.append("|---|" + "---:|" * len(present))
            for c in pairs:
                cells = [fmt_value(ex(c, p, "live1_ns_per_op")) for p in present]
                out.append("| %s | %s |" % (c.name, " | ".join(cells)))
            out.append("")
        bulk = [c for c in wc if "then free all" in c.name]
        if bulk:
            present = [p for p in PEERS if any("value" in results.get(c.key, {}).get(p, {})
                                               for c in bulk)]
            out.append("Memory kept once everything is freed, MiB resident over the start "
                       "(ouro: and mapped from its page source, its own mapping included): "
                       "right after the frees / after more work (256 MiB in 64 KiB blocks, "
                       "each freed at once: past ouro's default decay) / after the "
                       "allocator's trim (`malloc_trim`, `mi_collect`, jemalloc's purge, "
                       "`GC_gcollect_and_unmap`, `ouro_heap_trim`; CPython has none):")
            out.append("")
            out.append("| case | " + " | ".join(LABEL[p] for p in present) + " |")
            out.append("|---|" + "---:|" * len(present))

            def kept(c, p, what):
                v = [ex(c, p, "%s_%s_mib" % (what, k)) for k in KEPT_STAGES]
                return " / ".join(fmt_value(x) if x is not None else "-" for x in v)
            for c in bulk:
                cells = [kept(c, p, "rss") for p in present]
                out.append("| %s, RSS | %s |" % (c.name, " | ".join(cells)))
                cells = [kept(c, p, "mapped") if p in OURS else "" for p in present]
                out.append("| %s, mapped | %s |" % (c.name, " | ".join(cells)))
            out.append("")
        out.append("ouro = `ouro_raw_alloc`/`ouro_raw_free`; ouro obj = `ouro_new` + "
                   "`ouro_decref` of a non-collected type of that size (header + zeroing); "
                   "Boehm = `GC_MALLOC` + `GC_FREE`; CPython = `PyObject_Malloc`/`PyObject_Free` "
                   "of an embedded 3.11 interpreter (sizes over 512 B go to glibc).")
    elif wid in ("W1", "W2"):
        cells = []
        for c in wc:
            for p in ("ouro", "boehm"):
                v = ex(c, p, "collections")
                if v is not None:
                    cells.append("%s %s: %.0f" % (c.name, LABEL[p], v))
        if cells:
            out.append("Collections: " + "; ".join(cells) + ".")
        if wid == "W1":
            out.extend(fault_notes(wc, results))
            out.extend(w1_parts_notes(wc, results))
        cells = []
        for c in wc:
            for p in ("ouro", "ouro_ada"):
                g = ex(c, p, "gc_s")
                if g is not None:
                    cells.append("%s %s: %.1f ms, longest pause %.2f ms"
                                 % (c.name, LABEL[p], g * 1e3,
                                    (ex(c, p, "pause_max_s") or 0) * 1e3))
        if cells:
            out.append("")
            out.append("Collector time (every collection, from its gc callback \"start\" to "
                       "its \"stop\"): " + "; ".join(cells) + ".")
    elif wid == "W3":
        for c in wc:
            for p in ("ouro", "cpython"):
                v = ex(c, p, "total_s")
                if v is not None:
                    out.append("- %s, %s: whole build + collect %.0f ms, %.0f collections, "
                               "longest %.1f ms." % (c.name, LABEL[p], v * 1e3,
                                                     ex(c, p, "collections") or 0,
                                                     (ex(c, p, "pause_max_s") or 0) * 1e3))
    elif wid == "W5":
        for c in wc:
            if "collector time" not in c.name:
                continue
            for p in ("ouro", "boehm", "cpython"):
                v = ex(c, p, "gc_fraction")
                if v is not None:
                    full = ex(c, p, "full_collections")
                    out.append("- %s, %s: %.0f%% of the build in the collector, %.0f "
                               "collections (%s full)."
                               % (c.name.split(":")[0], LABEL[p], v * 100,
                                  ex(c, p, "collections") or 0,
                                  "%.0f" % full if full is not None else "n/a"))
    elif wid == "W7":
        for c in wc:
            if c.note:
                out.append("%s: %s." % (c.name, c.note))
            for p in ("ouro", "cpython"):
                v = ex(c, p, "total_s")
                if v is not None:
                    out.append("- %s: loop with weak references %.0f ms, without %.0f ms."
                               % (LABEL[p], v * 1e3, (ex(c, p, "base_s") or 0) * 1e3))
    elif wid == "W9":
        out.append("Each figure is time traced ÷ time untraced, medians of 3 alternating "
                   "rounds inside each run. ouro traces with one frame "
                   "(`ouro_trace_start(h, 1)`) or samples one block per 512 KiB on average "
                   "(`ouro_trace_start_sampled`); CPython runs `tracemalloc.start(1)`: the "
                   "Python binary-trees program, and `PyObject_Malloc`/`PyObject_Free` "
                   "pairs from C. Targets: ≤ 2× traced, ≤ 1.1× sampled.")
        for c in wc:
            for p in ("ouro", "cpython"):
                off, on = ex(c, p, "off_s"), ex(c, p, "on_s")
                if off is not None and on is not None:
                    out.append("- %s, %s: %.3f s untraced, %.3f s traced." % (c.name, LABEL[p],
                                                                               off, on))
    elif wid == "W8":
        for c in wc:
            v = ex(c, "ouro", "heap_bytes_per_obj")
            g = ex(c, "cpython", "getsizeof")
            if v is not None:
                out.append("ouro's own accounting: %.0f bytes in use per node." % v)
            if g is not None:
                out.append("CPython `sys.getsizeof(node)`: %.0f bytes." % g)
    elif wid == "W11":
        out.extend(w11_notes(wc, results))
    if wid in ("W5", "W10"):
        out.extend(pause_table(wc, results))
    return out


def w11_notes(wc, results):
    """W11's figures against issue 17's targets, all from this run."""
    out = ["Raw blocks (`ouro_raw_alloc`/`ouro_raw_free` against `malloc`/`free`), and "
           "binary-trees with ouro objects (W1's node: a tracked object with two references, "
           "default settings, collector on). Object pairs: W6's \"ouro obj\" pairs "
           "(`ouro_new` of a non-collected 32-byte type, `ouro_decref`); GCBench: W2's "
           "program on each heap. ouro = one shared heap (`cfg.shared = 1`) "
           "that every thread attaches to; ouro, single-thread heap = an ordinary heap. "
           "Producer/consumer: batches of 64 pointers through a mutex and condition variable "
           "queue, the consumer frees every block (ouro: remote frees); with objects, ouro's "
           "producer makes each with `ouro_new` (a non-collected 64-byte type) and the "
           "consumer drops it with `ouro_decref` (biased reference counting's queue to the "
           "owner), against the peers' malloc and free of 64 bytes. Stops: 8 threads "
           "allocating and freeing without a pause on 2 cores, the main thread calling "
           "`ouro_heap_check` (which stops the world) with a parked sleep between; the wait "
           "is the library's figure over those stops (`ouro_heap_get_thread_stats`: from "
           "the stop's request until every other thread stopped; after a stop that passed "
           "over a thread the kernel had not run yet, the wait for every thread it "
           "stopped to run again is included), the call is "
           "`ouro_heap_check` timed by its caller (the check itself added).", ""]

    def val(tag, p):
        vs = [results.get(c.key, {}).get(p, {}).get("value") for c in wc if c.tag == tag]
        vs = [v for v in vs if v is not None]
        return vs[0] if vs else None

    rows = []
    shared = []
    for c in wc:
        if c.tag in ("pairs", "opairs", "gcbench1", "trees1", "otrees1"):
            row = results.get(c.key, {})
            a, b = row.get("ouro", {}).get("value"), row.get("ouro_single", {}).get("value")
            if a and b:
                shared.append("%.2f (%s)" % (a / b, c.name.split(": ")[-1]))
    if shared:
        rows.append(("shared heap, one thread ÷ single-thread heap", ", ".join(shared),
                     "≤ 1.10"))
    scal = {}
    for p in PEERS:
        t1, t2 = val("trees1", p), val("trees2", p)
        if t1 and t2:
            scal[p] = t1 / t2
    if scal:
        cells = ", ".join("%s %.2f×" % (LABEL[p], v) for p, v in scal.items())
        if "ouro" in scal and "mimalloc" in scal:
            cells += " (ouro ÷ mimalloc %.2f)" % (scal["ouro"] / scal["mimalloc"])
        t1, t2 = val("otrees1", "ouro"), val("otrees2", "ouro")
        if t1 and t2:
            cells += "; ouro objects %.2f×" % (t1 / t2)
            # the collections stop the world: the other thread waits
            g = [results.get(c.key, {}).get("ouro", {}).get("extra", {}).get("gc_s")
                 for tag in ("otrees1", "otrees2") for c in wc if c.tag == tag]
            if None not in g and len(g) == 2:
                cells += (" (collections %.2f of %.2f s with 1 thread, %.2f of %.2f s "
                          "with 2, the world stopped)" % (g[0], t1, g[1], t2))
        rows.append(("binary-trees throughput, 2 threads ÷ 1 (time 1 ÷ time 2)", cells,
                     "ouro ≥ 1.8×, ≥ mimalloc's"))
    pc = []
    for c in wc:
        if c.tag == "prodcons":
            row = results.get(c.key, {})
            a, b = row.get("ouro", {}).get("value"), row.get("mimalloc", {}).get("value")
            if a and b:
                pc.append("%.2f (%s)" % (a / b, c.name.split(", ")[-1]))
    if pc:
        rows.append(("producer/consumer, ouro ÷ mimalloc", ", ".join(pc), "≤ 1.0"))
    for c in wc:
        if c.tag == "stop":
            e = results.get(c.key, {}).get("ouro", {}).get("extra", {})
            if "stop_wait_mean_us" in e:
                rows.append(("%s: wait mean / max (call p50 / max)" % c.name.split(":")[0],
                             "%s / %s µs (%s / %s µs)" % (
                                 fmt_value(e["stop_wait_mean_us"]),
                                 fmt_value(e["stop_wait_max_us"]),
                                 fmt_value(e.get("call_p50_us")),
                                 fmt_value(e.get("call_max_us"))),
                             "≤ 100 µs"))
    if rows:
        out.append("| measure | this run | target |")
        out.append("|---|---|---|")
        for r in rows:
            out.append("| %s | %s | %s |" % r)
    return out


def pause_table(wc, results):
    """Every automatic collection's pause, as percentiles (medians over the
    runs), for the cases with pause extras."""
    rows = []
    for c in wc:
        if "pause_p50_s" not in c.extras:
            continue
        for p in PEERS:
            e = results.get(c.key, {}).get(p, {}).get("extra", {})
            if "pause_p50_s" not in e:
                continue
            rows.append("| %s | %s | %.0f | %s | %s | %s | %s |" % (
                c.name.split(":")[0], LABEL[p], e.get("pauses", 0),
                fmt_value(e["pause_p50_s"] * 1e3), fmt_value(e["pause_p99_s"] * 1e3),
                fmt_value(e["pause_max_s"] * 1e3), fmt_value(e.get("gc_s", 0) * 1e3)))
    if not rows:
        return []
    return (["Pauses, every automatic collection timed from its gc callback \"start\" "
             "to its \"stop\" (medians over the runs, ms; nearest-rank percentiles):", "",
             "| case | peer | collections | p50 | p99 | max | collector time |",
             "|---|---|---:|---:|---:|---:|---:|"] + rows)


PAUSE_COLORS = {"ouro": "#2166ac", "ouro_cpy": "#8c510a", "boehm": "#e08214",
                "cpython": "#1a9850"}


def write_pauses_svg(path, cases, results):
    """One panel per case with timelines: each collection a mark at (time
    since the program's start, pause length), log-scale pause axis, a line
    at 1 ms.  Returns False when no case has a timeline."""
    import math
    panels = []
    for c in cases:
        if not c.timeline:
            continue
        row = results.get(c.key, {})
        series = [(p, row[p]) for p in PEERS if row.get(p, {}).get("timeline") is not None]
        if series:
            panels.append((c, series))
    if not panels:
        return False
    left, width, ph, top0, gap = 70, 760, 170, 52, 95
    lo, hi = 1e-6, 10.0
    height = top0 + len(panels) * (ph + gap)

    def y(v, top):
        v = min(max(v, lo), hi)
        return top + ph * (math.log10(hi) - math.log10(v)) / (math.log10(hi) - math.log10(lo))

    S = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="11">' % (left + width + 30, height),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="20" font-size="14" font-weight="bold">Collector pauses over time '
         '(each mark one collection; log scale; red line 1 ms)</text>']
    top = top0
    for c, series in panels:
        tmax = max([a + d for _, e in series for a, d in e["timeline"]] + [1e-3])
        S.append('<text x="%d" y="%d"><tspan font-weight="bold">%s %s</tspan>'
                 ' (each peer\'s run with the median figure)</text>'
                 % (left, top - 8, c.wid, xml_escape(c.name.split(":")[0])))
        S.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>'
                 % (left, top, width, ph))
        for e10 in range(-6, 2):
            v = 10.0 ** e10
            yy = y(v, top)
            one_ms = e10 == -3
            S.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s"%s/>'
                     % (left, yy, left + width, yy, "#d7191c" if one_ms else "#eee",
                        ' stroke-dasharray="4,3"' if one_ms else ""))
            label = {-6: "1 µs", -5: "10 µs", -4: "100 µs", -3: "1 ms", -2: "10 ms",
                     -1: "100 ms", 0: "1 s", 1: "10 s"}[e10]
            S.append('<text x="%d" y="%.1f" text-anchor="end"%s>%s</text>'
                     % (left - 4, yy + 4, ' fill="#d7191c"' if one_ms else "", label))
        step = 10 ** math.floor(math.log10(tmax))
        if tmax / step < 3:
            step /= 2 if tmax / step >= 1.5 else 5
        k = 0
        while k * step <= tmax * 1.0001:
            xx = left + width * k * step / tmax
            S.append('<text x="%.1f" y="%d" text-anchor="middle">%g</text>'
                     % (xx, top + ph + 13, round(k * step, 6)))
            k += 1
        S.append('<text x="%d" y="%d" text-anchor="end">seconds since the start</text>'
                 % (left + width, top + ph + 26))
        ly = top + ph + 42
        for p, e in series:
            col = PAUSE_COLORS.get(p, "#444")
            pts = e["timeline"]
            for a, d in pts:
                S.append('<circle cx="%.1f" cy="%.1f" r="2.2" fill="%s" fill-opacity="0.6"/>'
                         % (left + width * a / tmax, y(d, top), col))
            f = e.get("timeline_of") or {}
            n = f.get("pauses") or len(pts)
            shown = "" if len(pts) >= n else " (%d longest drawn)" % len(pts)
            S.append('<circle cx="%d" cy="%d" r="4" fill="%s"/>' % (left + 4, ly - 4, col))
            S.append('<text x="%d" y="%d">%s: %.0f collections%s; p50, p99, max %s, %s, '
                     '%s ms; %s ms in all</text>'
                     % (left + 14, ly, xml_escape(LABEL[p]), n, shown,
                        fmt_value((f.get("pause_p50_s") or 0) * 1e3),
                        fmt_value((f.get("pause_p99_s") or 0) * 1e3),
                        fmt_value((f.get("pause_max_s") or 0) * 1e3),
                        fmt_value((f.get("gc_s") or 0) * 1e3)))
            ly += 14
        top += ph + gap
    S.append("</svg>")
    with open(path, "w") as fo:
        fo.write("\n".join(S) + "\n")
    return True


def write_svg(path, cases, results):
    """Horizontal bars of ouro ÷ peer on a log scale, one group per case."""
    bars = []
    for c in cases:
        rat = ratios_for(c, results.get(c.key, {}))
        for p in PEERS:
            v = rat.get("ouro/%s" % p)
            if v is not None and v > 0:
                bars.append(("%s %s" % (c.wid, c.name), LABEL[p], v))
    import math
    left, width, bar_h, gap = 430, 420, 14, 4
    lo, hi = 1 / 64.0, 1024.0
    top = 50
    height = top + len(bars) * (bar_h + gap) + 40

    def x(v):
        v = min(max(v, lo), hi)
        return left + width * (math.log(v) - math.log(lo)) / (math.log(hi) - math.log(lo))

    colors = {"glibc": "#888888", "mimalloc": "#2b7bb9", "jemalloc": "#6a3d9a",
              "Boehm GC": "#e08214", "CPython 3.11": "#1a9850"}
    S = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="11">' % (left + width + 110, height),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="10" y="20" font-size="14" font-weight="bold">ouro ÷ peer '
         '(log scale; left of 1 = ouro better)</text>']
    for v in (1 / 16, 1 / 4, 1, 4, 16, 64, 256, 1024):
        S.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>'
                 % (x(v), top - 8, x(v), height - 30, "#000" if v == 1 else "#ddd"))
        S.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                 % (x(v), top - 12, ("%g" % v) if v >= 1 else "1/%d" % round(1 / v)))
    y = top
    last = None
    for case, peer, v in bars:
        if case != last:
            S.append('<line x1="10" y1="%d" x2="%d" y2="%d" stroke="#eee"/>'
                     % (y - 2, left + width, y - 2))
            last = case
        label = "%s — %s" % (case, peer)
        S.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                 % (left - 6, y + bar_h - 3, xml_escape(label[:70])))
        x0, x1 = x(1.0), x(v)
        S.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                 % (min(x0, x1), y, max(abs(x1 - x0), 1), bar_h, colors.get(peer, "#444")))
        shown = ("%.2f" % v) if v < 100 else ("%.0f" % v)
        if v > hi or v < lo:
            shown += " (off scale)"
        S.append('<text x="%.1f" y="%d">%s</text>' % (max(x0, x1) + 3, y + bar_h - 3, shown))
        y += bar_h + gap
    S.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(S) + "\n")


def xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="tiny sizes, one run, check outputs only (for make test)")
    ap.add_argument("--only", default="",
                    help="comma-separated workloads to run, e.g. W6 or W1,W3")
    ap.add_argument("--runs", type=int, default=None, help="runs per peer (default 3)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds before a run is killed (default 900; 60 quick)")
    ap.add_argument("--no-build", action="store_true", help="use build-bench/ as it is")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    t_start = time.monotonic()
    runs = args.runs or (1 if args.quick else 3)
    timeout = args.timeout or (60 if args.quick else 900)

    cases = build_cases(args.quick)
    want_costs = True
    if args.only:
        want = {w.strip().upper() for w in args.only.split(",") if w.strip()}
        want_costs = "COSTS" in want
        want.discard("COSTS")
        unknown = want - set(WORKLOAD_ORDER)
        if unknown:
            sys.exit("bench: unknown workload %s (have %s)" % (", ".join(sorted(unknown)),
                                                              ", ".join(WORKLOAD_ORDER)))
        cases = [c for c in cases if c.wid in want]
    cases.sort(key=lambda c: WORKLOAD_ORDER.index(c.wid))

    if not args.no_build:
        ensure_peers()
        build(args.jobs)
    info = machine_info()
    info["date"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    print("bench: %s, %d run(s) per peer%s" % (info["cpu"], runs,
                                               ", quick" if args.quick else ""))
    if info["loadavg_start"] > 1.5 and not args.quick:
        print("bench: warning: load average %.1f on %d cores: other work is running and "
              "the figures will be noisy" % (info["loadavg_start"], os.cpu_count()))
    short_runs = None if (args.quick or args.runs) else 5
    results, failures = run_cases(cases, runs, timeout, args.verbose, short_runs)
    cost_rows, cost_results = [], {}
    if want_costs:
        # after the timed runs, two at a time: counts do not depend on the load
        cost_rows = costs.rows(BIN, args.quick, {"binarytrees": binarytrees_expected,
                                                 "gcbench": gcbench_expected,
                                                 "nodes": binarytrees_sum,
                                                 "parse": parse})
        print("bench: costs (cachegrind), %d rows" % len(cost_rows), flush=True)
        cost_results, cost_failures = costs.run(cost_rows, run_once, timeout * 4, args.jobs,
                                                args.verbose)
        failures += cost_failures
    elapsed = time.monotonic() - t_start
    info["loadavg_end"] = os.getloadavg()[0]
    info["elapsed_s"] = round(elapsed)

    if not args.quick:
        os.makedirs(RESULTS, exist_ok=True)
        suffix = "" if not args.only else "-" + "-".join(
            sorted({c.wid for c in cases} | ({"COSTS"} if cost_rows else set())))
        base = os.path.join(RESULTS, "latest" + suffix)
        pauses = base + ".pauses.svg"
        if not write_pauses_svg(pauses, cases, results):
            pauses = None
        write_json(base + ".json", info, cases, results, failures, runs,
                   costs.json_rows(cost_rows, cost_results))
        write_md(base + ".md", info, cases, results, failures, runs,
                 os.path.basename(pauses) if pauses else None,
                 costs.markdown(cost_rows, cost_results, LABEL, PEERS) if cost_rows else None)
        write_svg(base + ".svg", cases, results)
        print("bench: wrote %s.{md,json,svg}%s" % (os.path.relpath(base, ROOT),
                                                   " and .pauses.svg" if pauses else ""))

    n_runs = sum(len(c.cmds) for c in cases) + sum(
        len(v) for r in cost_rows for v in r.runs.values())
    if failures:
        print("bench%s: FAILED: %d wrong or crashed run(s) of %d cases (%.0f s)"
              % (" --quick" if args.quick else "", len(failures), len(cases), elapsed))
        for f in failures:
            print("  %s / %s: %s" % (f["case"], f["peer"], f["error"]))
        return 1
    print("bench%s: all %d cases (%d programs) produced correct output (%.0f s)"
          % (" --quick" if args.quick else "", len(cases), n_runs, elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
