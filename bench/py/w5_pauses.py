"""Workload 5, collector pauses while a heap grows, in CPython 3.11.

Automatic collection on, default thresholds; N __slots__ nodes made into one
chain (each new node holds the previous one), so nothing is ever garbage.
Each collection is timed from its gc.callbacks "start" to its "stop"
(bench/py/pauses.py).

    time_s        total collector time (also @gc_s)
    pause_*       @pauses, @pause_p50_s, @pause_p99_s, @pause_max_s,
                  @pause_timeline (pauses.py)
    total_s       the whole build (interpreter included, for the fraction)
"""
import gc
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
    # The chain is 5 M deep: skip the interpreter's teardown of it.
    import os
    os._exit(0)


if __name__ == "__main__":
    main()
