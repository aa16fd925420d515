/*
 * w5_pauses_ouro.c — workload 5, collector pauses while a heap grows.
 *
 * Automatic collection on, under the heap's default schedule (or SCHEDULE,
 * bench/onode.h).  N tracked nodes are made into one chain,
 *
 *     head = Node(head)
 *
 * so every object stays alive and every collection is pure overhead: the
 * workload measures how much of a growing program's time goes to the
 * collector and how long its pauses are.  A full collection must walk the
 * whole chain, so the longest pause grows with N: the baseline an
 * incremental collector is measured against (make bench: 5 M and 20 M
 * live).  Each collection is timed from its "start" to its "stop" callback
 * (ouro_gc_callback_add), as CPython's gc.callbacks allow for the CPython
 * version, into pauses.h's preallocated arrays.
 *
 *   time_s        total collector time (also @gc_s)
 *   pause_*       pauses.h: @pauses, @pause_p50_s, @pause_p99_s,
 *                 @pause_max_s, @pause_timeline
 *   total_s       the whole build, collections included
 *   gc_fraction   time_s / total_s
 *   collections, full_collections
 *   schedule      the schedule run under (bench_schedule)
 *   check         the objects alive at the end
 *
 * usage: w5_pauses_ouro N [SCHEDULE [SHARED]]
 * (SHARED 1: on a shared heap that the main thread alone uses, onode.h's
 * bench_ouro_heap_shared, where each collection and each increment stops
 * the world.)
 */
#include <stddef.h>

#include "onode.h"
#include "pauses.h"

typedef struct gc_clock {
    bench_pauses pauses;
    long collections, full;
} gc_clock;

static void on_gc(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    gc_clock *c = arg;
    if (!strcmp(phase, "start")) {
        bench_pauses_start(&c->pauses);
        return;
    }
    bench_pauses_stop(&c->pauses);
    c->collections++;
    if (info->generation == 2)
        c->full++;
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 5000000);
    ouro_heap *h = bench_ouro_heap_shared(bench_arg_long(argc, argv, 3, 0));
    bench_schedule(h, bench_arg_long(argc, argv, 2, 0));
    gc_clock c = {0};
    bench_pauses_init(&c.pauses);
    ouro_gc_callback_add(h, on_gc, &c);
    double t0 = bench_now();
    ouro_object *head = NULL;
    for (long i = 0; i < n; i++)
        head = &onode_new(h, head, NULL)->ob_base;
    double t = bench_now() - t0;
    ouro_gc_callback_remove(h, on_gc, &c);
    ouro_heap_stats st;
    st.struct_size = offsetof(ouro_heap_stats, class_size); /* totals only */
    ouro_heap_get_stats(h, &st);
    double total = 0;
    for (long i = 0; i < c.pauses.n; i++)
        total += c.pauses.len[i];
    bench_result("time_s", total);
    bench_pauses_report(&c.pauses);
    bench_result("total_s", t);
    bench_result("gc_fraction", t > 0 ? total / t : 0);
    bench_result("collections", (double)c.collections);
    bench_result("full_collections", (double)c.full);
    bench_check("live %zu", st.objects);
    bench_pauses_free(&c.pauses);
    ouro_decref(head);
    ouro_heap_free(h);
    return 0;
}
