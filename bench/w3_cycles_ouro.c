/*
 * w3_cycles_ouro.c — workload 3, cycle reclaim.
 *
 *   manual N   automatic collection off; build N garbage cycles a <-> b
 *              (each node referenced only by the other); time one full
 *              collection, which must report 2N objects collected
 *   auto N     automatic collection on; build the same N cycles, then one
 *              full collection.  time_s is the collector's time (every
 *              collection, from its "start" to its "stop" callback), which
 *              is what CPython's version can measure too; total_s is the
 *              whole build + collect; the collections together must have
 *              collected 2N objects
 *
 * usage: w3_cycles_ouro manual|auto N
 */
#include "onode.h"

typedef struct gc_clock {
    double started, total, longest;
    long collected, collections;
} gc_clock;

static void on_gc(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    gc_clock *c = arg;
    if (!strcmp(phase, "start")) {
        c->started = bench_now();
    } else {
        double d = bench_now() - c->started;
        c->total += d;
        if (d > c->longest)
            c->longest = d;
        c->collected += info->collected;
        c->collections++;
    }
}

static void build_cycles(ouro_heap *h, long n)
{
    for (long i = 0; i < n; i++) {
        onode *a = onode_new(h, NULL, NULL);
        onode *b = onode_new(h, NULL, NULL);
        ouro_incref(&b->ob_base);
        a->left = &b->ob_base;
        ouro_incref(&a->ob_base);
        b->left = &a->ob_base;
        ouro_decref(&a->ob_base);
        ouro_decref(&b->ob_base);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3)
        bench_die("usage: w3_cycles_ouro manual|auto N [SCHEDULE]");
    long n = bench_arg_long(argc, argv, 2, 1000000);
    ouro_heap *h = bench_ouro_heap();
    if (argc > 3)
        bench_schedule(h, bench_arg_long(argc, argv, 3, 0));
    if (!strcmp(argv[1], "manual")) {
        ouro_gc_disable(h);
        build_cycles(h, n);
        double t0 = bench_now();
        long got = ouro_gc_collect(h, 2);
        double t = bench_now() - t0;
        bench_result("time_s", t);
        bench_result("ns_per_obj", t * 1e9 / (double)(2 * n));
        bench_check("collected %ld", got);
    } else if (!strcmp(argv[1], "auto")) {
        gc_clock c = {0};
        ouro_gc_callback_add(h, on_gc, &c);
        double t0 = bench_now();
        build_cycles(h, n);
        ouro_gc_collect(h, 2);
        double t = bench_now() - t0;
        bench_result("time_s", c.total);
        bench_result("total_s", t);
        bench_result("collections", (double)c.collections);
        bench_result("pause_max_s", c.longest);
        bench_check("collected %ld", c.collected);
    } else {
        bench_die("unknown case");
    }
    ouro_heap_stats st = {.struct_size = sizeof st};
    ouro_heap_get_stats(h, &st);
    if (st.objects != 0)
        bench_die("objects left after the collection");
    ouro_heap_free(h);
    return 0;
}
