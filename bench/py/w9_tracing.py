"""Workload 9's binary-trees half in CPython 3.11 (the reference): the
slowdown of workload 1's program with tracemalloc.start(1) against without.

    trees N     binary-trees of maximum depth N (CLBG rules, __slots__
                nodes, the collector on with its default thresholds), run
                3 times untraced and 3 times traced, alternating (which goes
                first swaps from round to round); prints
                @slowdown (median traced / median untraced), @off_s, @on_s
                and @check trees N <sum of every check value>

Unlike the other CPython scripts this one times the whole program: the
workload is "binary-trees with tracing on vs off", and every allocation of
it, the interpreter's own included, is what tracemalloc traces.
"""
import statistics
import sys
import time
import tracemalloc


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


def bottom_up(depth):
    if depth > 0:
        return Node(bottom_up(depth - 1), bottom_up(depth - 1))
    return Node(None, None)


def check(node):
    if node.left is None:
        return 1
    return 1 + check(node.left) + check(node.right)


def trees(n):
    min_depth = 4
    max_depth = max(min_depth + 2, n)
    total = check(bottom_up(max_depth + 1))
    long_lived = bottom_up(max_depth)
    for d in range(min_depth, max_depth + 1, 2):
        for _ in range(1 << (max_depth - d + min_depth)):
            total += check(bottom_up(d))
    total += check(long_lived)
    return total


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "trees":
        sys.exit("usage: w9_tracing.py trees N")
    n = int(sys.argv[2])
    print("@peer cpython %s" % sys.version.split()[0])
    clock = time.perf_counter
    times = ([], [])
    results = set()
    for r in range(3):
        # untraced first in even rounds, traced first in odd ones
        for on in ((0, 1) if r % 2 == 0 else (1, 0)):
            if on:
                tracemalloc.start(1)
            t0 = clock()
            results.add(trees(n))
            times[on].append(clock() - t0)
            if on:
                if tracemalloc.get_traced_memory()[1] == 0:
                    sys.exit("tracemalloc did not see the allocations")
                tracemalloc.stop()
    if len(results) != 1:
        sys.exit("tracing changed the result")
    off, on = statistics.median(times[0]), statistics.median(times[1])
    print("@slowdown %.9g" % (on / off))
    print("@off_s %.9g" % off)
    print("@on_s %.9g" % on)
    print("@check trees %d %d" % (n, results.pop()))


if __name__ == "__main__":
    main()
