"""Workload 4, traversing a live heap, in CPython 3.11 (the reference).

    full N REPS        a complete binary tree of N __slots__ nodes (node i
                       holds nodes 2i+1 and 2i+2), gc disabled; one untimed
                       gc.collect(), then REPS timed ones (median), each
                       collecting nothing
    traversal L REPS   pyperformance's gc_traversal: L+1 lists, list n
                       holding n references to list n-1
    young OLD Y REPS   the OLD-node tree collected into the oldest
                       generation; REPS times: Y new nodes each holding an
                       old node, a timed gc.collect(0), the Y nodes dropped

Only gc.collect() is timed.  Prints the bench protocol lines.
"""
import gc
import statistics
import sys
import time


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right


def build_tree(n):
    v = [None] * n
    for i in range(n - 1, -1, -1):
        a = 2 * i + 1
        b = a + 1
        v[i] = Node(v[a] if a < n else None, v[b] if b < n else None)
    return v


def timed_full(reps, objects):
    clock = time.perf_counter
    warm = gc.collect()
    times = []
    bad = 0
    for _ in range(reps):
        t0 = clock()
        got = gc.collect()
        times.append(clock() - t0)
        if got:
            bad = got
    m = statistics.median(times)
    print("@time_s %.9g" % m)
    if objects:
        print("@ns_per_obj %.9g" % (m * 1e9 / objects))
    # CPython's warm-up collection may find interpreter garbage; it is not
    # part of the workload, so only the timed collections are checked.
    print("@check collected %d %d" % (0, bad))


def main():
    mode = sys.argv[1]
    print("@peer cpython %s" % sys.version.split()[0])
    gc.disable()
    gc.collect()
    if mode == "full":
        n = int(sys.argv[2])
        reps = int(sys.argv[3])
        v = build_tree(n)
        root = v[0]
        del v
        timed_full(reps, n)
        del root
    elif mode == "traversal":
        levels = int(sys.argv[2])
        reps = int(sys.argv[3])
        cur = []
        for n in range(levels):
            nxt = [None] * n
            for i in range(n):
                nxt[i] = cur
            cur = nxt
        timed_full(reps, 0)
        del cur
    elif mode == "young":
        old = int(sys.argv[2])
        young = int(sys.argv[3])
        reps = int(sys.argv[4])
        olds = build_tree(old)
        gc.collect()
        gc.collect()
        stride = max(old // young, 1)
        clock = time.perf_counter
        times = []
        bad = 0
        for _ in range(reps):
            ys = [Node(olds[(i * stride) % old]) for i in range(young)]
            t0 = clock()
            got = gc.collect(0)
            times.append(clock() - t0)
            if got:
                bad = got
            del ys
        print("@time_s %.9g" % statistics.median(times))
        print("@check collected %d" % bad)
    else:
        sys.exit("unknown case")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
