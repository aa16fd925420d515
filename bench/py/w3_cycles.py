"""Workload 3, cycle reclaim, in CPython 3.11 (the reference).

    manual N   gc disabled; build N garbage cycles a <-> b; time one
               gc.collect(), which must return 2N
    auto N     gc enabled; build the N cycles, then gc.collect(); time_s is
               the collector's time only (gc.callbacks "start" to "stop"),
               total_s the whole build + collect

Nodes are __slots__ instances, so each cycle is exactly two tracked objects
(no instance dicts), as in ouro's version.  Prints the bench protocol lines
("@name value", "@check ...") that bench/run.py reads.
"""
import gc
import sys
import time


class Node:
    __slots__ = ("left", "right")

    def __init__(self):
        self.left = None
        self.right = None


def build_cycles(n):
    for _ in range(n):
        a = Node()
        b = Node()
        a.left = b
        b.left = a
    del a, b


def main():
    mode = sys.argv[1]
    n = int(sys.argv[2])
    print("@peer cpython %s" % sys.version.split()[0])
    clock = time.perf_counter
    if mode == "manual":
        gc.disable()
        gc.collect()
        build_cycles(n)
        t0 = clock()
        got = gc.collect()
        t = clock() - t0
        print("@time_s %.9g" % t)
        print("@ns_per_obj %.9g" % (t * 1e9 / (2 * n)))
        print("@check collected %d" % got)
    elif mode == "auto":
        gc.collect()
        st = {"start": 0.0, "total": 0.0, "max": 0.0, "collected": 0, "n": 0}

        def on_gc(phase, info):
            if phase == "start":
                st["start"] = clock()
            else:
                d = clock() - st["start"]
                st["total"] += d
                if d > st["max"]:
                    st["max"] = d
                st["collected"] += info["collected"]
                st["n"] += 1

        gc.callbacks.append(on_gc)
        t0 = clock()
        build_cycles(n)
        gc.collect()
        t = clock() - t0
        gc.callbacks.remove(on_gc)
        print("@time_s %.9g" % st["total"])
        print("@total_s %.9g" % t)
        print("@collections %d" % st["n"])
        print("@pause_max_s %.9g" % st["max"])
        print("@check collected %d" % st["collected"])
    else:
        sys.exit("unknown case")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
