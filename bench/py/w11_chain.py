"""Workload 11, one chain, in CPython 3.11 (bench/w11_chain_ouro.c).

Grows one singly linked chain, head = Node(head), to N objects, all alive,
with automatic collection on and default thresholds.  Each collection is
timed from its gc.callbacks "start" to its "stop" (bench/py/pauses.py).

    time_s        total collector time (also @gc_s)
    pause_*       @pauses, @pause_p50_s, @pause_p99_s, @pause_max_s,
                  @pause_timeline (pauses.py)
    total_s       the whole build (interpreter included)

usage: w11_chain.py N
"""
import gc
import os
import sys
import time

from pauses import Pauses


class Node:
    __slots__ = ("next", "pad")

    def __init__(self, next):
        self.next = next
        self.pad = None


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
        node = node.next
    total = pauses.total()
    print("@time_s %.9g" % total)
    pauses.report()
    print("@total_s %.9g" % t)
    print("@collections %d" % pauses.n)
    print("@full_collections %d" % st["full"])
    print("@check live %d" % live)
    sys.stdout.flush()
    # The chain is up to 20 M deep: skip the interpreter's teardown of it.
    os._exit(0)


if __name__ == "__main__":
    main()
