"""Workload 8, memory per object, in CPython 3.11: N __slots__ nodes with
two references made into a chain (gc on, as a program would have it); the
growth of the resident set divided by N.  sys.getsizeof of one node (which
in 3.11 includes the collector's 16-byte pre-header) is reported too.
"""
import os
import sys
import time


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left=None, right=None):
        self.left = left
        self.right = right


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main():
    n = int(sys.argv[1])
    print("@peer cpython %s" % sys.version.split()[0])
    head = Node()
    r0 = rss()
    t0 = time.perf_counter()
    for _ in range(n):
        head = Node(head)
    t = time.perf_counter() - t0
    r1 = rss()
    live = 0
    node = head
    while node is not None:
        live += 1
        node = node.left
    print("@bytes_per_obj %.9g" % ((r1 - r0) / n))
    print("@getsizeof %d" % sys.getsizeof(head))
    print("@time_s %.9g" % t)
    print("@check live %d" % (live - 1))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
