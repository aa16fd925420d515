/*
 * w7_weakrefs_ouro.c — workload 7, weak references with callbacks.
 *
 *   rc N       N times: a weak-referenceable node, a weak reference to it
 *              with a callback, the node released (it dies by reference
 *              counting and the callback runs), the weak reference
 *              released.  The same loop without the weak reference is
 *              timed too, and time_s is the difference: what the weak
 *              reference costs (creation, the callback's dispatch, its
 *              death), which is also what the CPython version can isolate
 *              from its interpreter's loop overhead
 *   cyclic N   automatic collection off; N garbage cycles a <-> b, with a
 *              weak reference (held from C, so not trash) to each a; time
 *              one full collection, which must run N callbacks and collect
 *              2N objects
 *
 * usage: w7_weakrefs_ouro rc|cyclic N
 */
#include "onode.h"

static void on_dead(ouro_heap *h, ouro_object *wr, void *arg)
{
    ++*(long *)arg;
}

static onode *weak_node(ouro_heap *h)
{
    onode *n = (onode *)ouro_new(h, &onode_weak_type);
    if (!n)
        bench_die("out of memory");
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        bench_die("usage: w7_weakrefs_ouro rc|cyclic N");
    long n = bench_arg_long(argc, argv, 2, 1000000);
    ouro_heap *h = bench_ouro_heap();
    long calls = 0;
    if (!strcmp(argv[1], "rc")) {
        double t0 = bench_now();
        for (long i = 0; i < n; i++) {
            onode *o = weak_node(h);
            bench_escape(o);
            ouro_decref(&o->ob_base);
        }
        double t1 = bench_now();
        for (long i = 0; i < n; i++) {
            onode *o = weak_node(h);
            ouro_object *wr = ouro_weakref_new(h, &o->ob_base, on_dead, &calls);
            if (!wr)
                bench_die("ouro_weakref_new failed");
            ouro_decref(&o->ob_base);
            ouro_decref(wr);
        }
        double t2 = bench_now();
        bench_result("time_s", (t2 - t1) - (t1 - t0));
        bench_result("total_s", t2 - t1);
        bench_result("base_s", t1 - t0);
        bench_result("ns_per_weakref", ((t2 - t1) - (t1 - t0)) * 1e9 / (double)n);
        bench_check("callbacks %ld", calls);
    } else if (!strcmp(argv[1], "cyclic")) {
        ouro_gc_disable(h);
        ouro_object **wrs = malloc((size_t)n * sizeof *wrs);
        if (!wrs)
            bench_die("out of memory");
        for (long i = 0; i < n; i++) {
            onode *a = weak_node(h);
            onode *b = weak_node(h);
            ouro_incref(&b->ob_base);
            a->left = &b->ob_base;
            ouro_incref(&a->ob_base);
            b->left = &a->ob_base;
            wrs[i] = ouro_weakref_new(h, &a->ob_base, on_dead, &calls);
            if (!wrs[i])
                bench_die("ouro_weakref_new failed");
            ouro_decref(&a->ob_base);
            ouro_decref(&b->ob_base);
        }
        double t0 = bench_now();
        long got = ouro_gc_collect(h, 2);
        double t = bench_now() - t0;
        long dangling = 0;
        for (long i = 0; i < n; i++) {
            if (ouro_weakref_peek(wrs[i]))
                dangling++;
            ouro_decref(wrs[i]);
        }
        free(wrs);
        bench_result("time_s", t);
        bench_check("collected %ld callbacks %ld alive %ld", got, calls, dangling);
    } else {
        bench_die("unknown case");
    }
    ouro_heap_free(h);
    return 0;
}
