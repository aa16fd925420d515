"""Workload 10, cyclic churn, in CPython 3.11 (bench/w10_churn_ouro.c).

A long-lived doubly linked list grows while cyclic lists are built and
dropped.  Automatic collection on, default thresholds.

    lists   10,000-node long-lived list; each round a 5,000-node list whose
            head points at it, the previous round's dropped, 25 nodes
            appended to the long-lived list
    batches 1,000-node base list; each round a 20-node list kept in a batch
            of 20, the batch dropped every 20 rounds and one node appended

peak_alive is the most nodes alive at once, exact and O(1) a collection:
nodes made minus nodes the collector freed (info["collected"]; the program
makes no other cyclic garbage, and its lists can die only in a collection),
sampled at every collection's "start" and at the end.  Every collection is
timed from its "start" to its "stop" (bench/py/pauses.py): @pauses, @gc_s
(collector time), @pause_p50_s, @pause_p99_s, @pause_max_s, @pause_timeline.

usage: w10_churn.py lists|batches ROUNDS
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


made = 0


def build_list(n, anchor):
    global made
    head = tail = Node()
    for _ in range(n - 1):
        x = Node(tail)
        tail.right = x
        tail = x
    head.left = anchor
    made += n
    return head


def grow(tail, k):
    global made
    for _ in range(k):
        x = Node(tail)
        tail.right = x
        tail = x
    made += k
    return tail


def main():
    mode = sys.argv[1]
    rounds = int(sys.argv[2])
    if mode not in ("lists", "batches"):
        sys.exit("usage: w10_churn.py lists|batches ROUNDS")
    print("@peer cpython %s" % sys.version.split()[0])
    gc.collect()
    clock = time.perf_counter
    pauses = Pauses()
    st = {"n": 0, "freed": 0, "peak": 0, "timed": True}

    def on_gc(phase, info):
        if phase == "start":
            live = made - st["freed"]
            if live > st["peak"]:
                st["peak"] = live
            st["n"] += 1
            if st["timed"]:
                pauses.start()
        else:
            if st["timed"]:
                pauses.stop()
            st["freed"] += info["collected"]

    lists = mode == "lists"
    base = 10000 if lists else 1000
    ll = build_list(base, None)
    ll_tail = ll
    while ll_tail.right is not None:
        ll_tail = ll_tail.right
    batch = []
    cur = None
    gc.callbacks.append(on_gc)
    t0 = clock()
    for r in range(rounds):
        if lists:
            cur = build_list(5000, ll)
            ll_tail = grow(ll_tail, 25)
        else:
            batch.append(build_list(20, ll))
            if r % 20 == 19:
                batch.clear()
                ll_tail = grow(ll_tail, 1)
    t = clock() - t0
    live = made - st["freed"]
    if live > st["peak"]:
        st["peak"] = live
    res = dict(st)
    st["timed"] = False  # the final collection is not one of the pauses
    gc.collect()  # counted in "freed" by the callback, not in the figures
    gc.callbacks.remove(on_gc)
    n = 0
    x = ll
    while x is not None:
        n += 1
        x = x.right
    print("@time_s %.9g" % t)
    pauses.report()
    print("@collections %d" % res["n"])
    print("@peak_alive %d" % res["peak"])
    print("@check long %d alive %d" % (n, made - st["freed"]))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
