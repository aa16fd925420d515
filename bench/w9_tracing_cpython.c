/*
 * w9_tracing_cpython.c — workload 9's allocator half for CPython 3.11: the
 * slowdown of PyObject_Malloc/PyObject_Free pairs (workload 6's peer) with
 * tracemalloc.start(1) against without, in one embedded interpreter.  The
 * tracer hooks the object domain, so every pair goes through it, as every
 * Python object's allocation does; calls from C have no Python frame, so
 * the traceback is tracemalloc's empty one and the cost measured is the
 * tracer's own bookkeeping.
 *
 *   pairs SIZE N     same output as w9_tracing_ouro (@slowdown, @off_s,
 *                    @on_s, @check pairs SIZE N)
 *
 * usage: w9_tracing_cpython pairs SIZE N
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "common.h"

enum { ROUNDS = 3 };

static long pairs(size_t size, long n)
{
    for (long i = 0; i < n; i++) {
        unsigned char *p = PyObject_Malloc(size);
        if (!p)
            bench_die("PyObject_Malloc: out of memory");
        p[0] = 1;
        bench_escape(p);
        PyObject_Free(p);
    }
    return n;
}

/* The bytes tracemalloc traces now (-1 on error); get_traced_memory reads
 * its counters before it builds the result, so the call itself is not in
 * the figure. */
static long traced_now(PyObject *tracemalloc)
{
    PyObject *r = PyObject_CallMethod(tracemalloc, "get_traced_memory", NULL);
    if (!r)
        return -1;
    long cur = PyLong_AsLong(PyTuple_GetItem(r, 0));
    Py_DECREF(r);
    return cur;
}

int main(int argc, char **argv)
{
    if (argc != 4 || strcmp(argv[1], "pairs"))
        bench_die("usage: w9_tracing_cpython pairs SIZE N");
    long size = bench_arg_long(argc, argv, 2, 0), n = bench_arg_long(argc, argv, 3, 0);
    if (size < 1 || size > 2048 || n < 1)
        bench_die("size out of range");
    Py_InitializeEx(0);
    printf("@peer cpython %s\n", PY_VERSION);
    if (PyRun_SimpleString("import tracemalloc") != 0)
        bench_die("no tracemalloc");
    PyObject *tm = PyImport_ImportModule("tracemalloc");
    if (!tm)
        bench_die("no tracemalloc");

    double t[2][ROUNDS];
    for (int round = 0; round < ROUNDS; round++) {
        /* Untraced first in even rounds, traced first in odd ones. */
        for (int k = 0; k <= 1; k++) {
            int on = k ^ (round & 1);
            if (on && PyRun_SimpleString("tracemalloc.start(1)") != 0)
                bench_die("tracemalloc.start failed");
            double t0 = bench_now();
            pairs((size_t)size, n);
            t[on][round] = bench_now() - t0;
            if (on) {
                /* tracemalloc is hooked into PyObject_Malloc: one more
                 * block of the size, allocated now, is traced. */
                long before = traced_now(tm);
                void *probe = PyObject_Malloc((size_t)size);
                long with = traced_now(tm);
                PyObject_Free(probe);
                if (before < 0 || with - before < size)
                    bench_die("tracemalloc does not see PyObject_Malloc");
                if (PyRun_SimpleString("tracemalloc.stop()") != 0)
                    bench_die("tracemalloc.stop failed");
            }
        }
    }
    bench_slowdown(t[0], t[1], ROUNDS);
    bench_check("pairs %ld %ld", size, n);
    return 0;
}
