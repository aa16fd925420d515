"""Workload 7, weak references with callbacks, in CPython 3.11.

    rc N       N times: a node, weakref.ref(node, callback), the node dropped
               (it dies by reference counting, the callback runs), the weak
               reference dropped.  time_s is that loop minus the same loop
               without the weak reference: the weak reference's own cost,
               without the interpreter's loop overhead
    cyclic N   gc disabled; N garbage cycles a <-> b with a weak reference
               (kept in a list, so not trash) to each a; time one
               gc.collect(), which must run N callbacks and return 2N

The callback is a C-level bound method (list.append or deque.append), so
that no Python frame runs inside the collector's time.
"""
import collections
import gc
import sys
import time
import weakref


class Node:
    __slots__ = ("left", "right", "__weakref__")

    def __init__(self):
        self.left = None
        self.right = None


def main():
    mode = sys.argv[1]
    n = int(sys.argv[2])
    print("@peer cpython %s" % sys.version.split()[0])
    clock = time.perf_counter
    ref = weakref.ref
    if mode == "rc":
        # maxlen=0 discards what it is given: a callback that keeps nothing.
        sink = collections.deque(maxlen=0)
        cb = sink.append
        t0 = clock()
        for _ in range(n):
            o = Node()
            del o
        t1 = clock()
        for _ in range(n):
            o = Node()
            w = ref(o, cb)
            del o
            del w
        t2 = clock()
        print("@time_s %.9g" % ((t2 - t1) - (t1 - t0)))
        print("@total_s %.9g" % (t2 - t1))
        print("@base_s %.9g" % (t1 - t0))
        print("@ns_per_weakref %.9g" % (((t2 - t1) - (t1 - t0)) * 1e9 / n))
        # The timed callback keeps no count; an untimed pass with a
        # counting callback checks that every referent's death calls it.
        calls = [0]

        def counting(w):
            calls[0] += 1

        for _ in range(n):
            o = Node()
            w = ref(o, counting)
            del o
            del w
        print("@check callbacks %d" % calls[0])
    elif mode == "cyclic":
        gc.disable()
        gc.collect()
        calls = []
        cb = calls.append
        wrs = []
        for _ in range(n):
            a = Node()
            b = Node()
            a.left = b
            b.left = a
            wrs.append(ref(a, cb))
        del a, b
        t0 = clock()
        got = gc.collect()
        t = clock() - t0
        alive = sum(1 for w in wrs if w() is not None)
        print("@time_s %.9g" % t)
        print("@check collected %d callbacks %d alive %d" % (got, len(calls), alive))
    else:
        sys.exit("unknown case")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
