"""Workload 5, collector pauses while a heap grows, in CPython 3.11
(bench/w5_pauses_ouro.c).

Automatic collection on, default thresholds; N __slots__ nodes made into one
chain, head = Node(head), so nothing is ever garbage (make bench: 5 M and
20 M live).  Each collection is timed from its gc.callbacks "start" to its
"stop" (bench/py/pauses.py).

    time_s        total collector time (also @gc_s)
    pause_*       @pauses, @pause_p50_s, @pause_p99_s, @pause_max_s,
                  @pause_timeline (pauses.py)
    total_s       the whole build (interpreter included, for the fraction)
    gc_fraction   time_s / total_s
    collections, full_collections
    check         the objects alive at the end

usage: w5_pauses.py N
"""
import gc
import os
import sys
import time

from pauses import Pauses


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right


def main():
    n = int(sys.argv[1])
    print("@peer cpython %s" % sys.version.split()[0])
    gc.collect()
    clock = time.perf_counter
    pauses = Pauses()
    st = {"full": 0}

    def on_gc(phase, info):
        if phase == "start":
            pauses.start()
        else:
            pauses.stop()
            if info["generation"] == 2:
                st["full"] += 1

    gc.callbacks.append(on_gc)
    t0 = clock()
    head = None
    for _ in range(n):
        head = Node(head)
    t = clock() - t0
    gc.callbacks.remove(on_gc)
    live = 0
    node = head
    while node is not None:
        live += 1
        node = node.left
    total = pauses.total()
    print("@time_s %.9g" % total)
    pauses.report()
    print("@total_s %.9g" % t)
    print("@gc_fraction %.9g" % (total / t if t else 0))
    print("@collections %d" % pauses.n)
    print("@full_collections %d" % st["full"])
    print("@check live %d" % live)
    sys.stdout.flush()
    # The chain is up to 20 M deep: skip the interpreter's teardown of it.
    os._exit(0)


if __name__ == "__main__":
    main()
