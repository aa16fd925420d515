/*
 * w5_pauses_ouro.c — workload 5, collector pauses while a heap grows.
 *
 * Automatic collection on, default thresholds.  N tracked nodes are made
 * into one chain (each new node holds the previous one), so every object
 * stays alive and every collection is pure overhead: the workload measures
 * how much of a growing program's time goes to the collector and how long
 * the longest single pause is.  Each collection is timed from its "start"
 * to its "stop" callback (ouro_gc_callback_add), as CPython's gc.callbacks
 * allow for the CPython version.
 *
 *   time_s        total collector time
 *   pause_max_s   the longest single collection
 *   total_s       the whole build
 *
 * usage: w5_pauses_ouro N
 */
#include "onode.h"

typedef struct gc_clock {
    double started, total, longest;
    long collections, full;
} gc_clock;

static void on_gc(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    gc_clock *c = arg;
    if (!strcmp(phase, "start")) {
        c->started = bench_now();
        return;
    }
    double d = bench_now() - c->started;
    c->total += d;
    if (d > c->longest)
        c->longest = d;
    c->collections++;
    if (info->generation == 2)
        c->full++;
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 5000000);
    ouro_heap *h = bench_ouro_heap();
    gc_clock c = {0};
    ouro_gc_callback_add(h, on_gc, &c);
    double t0 = bench_now();
    ouro_object *head = NULL;
    for (long i = 0; i < n; i++)
        head = &onode_new(h, head, NULL)->ob_base;
    double t = bench_now() - t0;
    ouro_heap_stats st = {.struct_size = sizeof st};
    ouro_heap_get_stats(h, &st);
    bench_result("time_s", c.total);
    bench_result("pause_max_s", c.longest);
    bench_result("total_s", t);
    bench_result("gc_fraction", t > 0 ? c.total / t : 0);
    bench_result("collections", (double)c.collections);
    bench_result("full_collections", (double)c.full);
    bench_check("live %zu", st.objects);
    ouro_decref(head);
    ouro_heap_free(h);
    return 0;
}
