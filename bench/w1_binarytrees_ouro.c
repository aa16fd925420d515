/*
 * w1_binarytrees_ouro.c — workload 1, binary-trees, with ouro objects.
 *
 * The same program as w1_binarytrees.c, but every node is an ouro object of
 * a collector-tracked type (onode.h) with traverse and clear hooks, and the
 * collector runs automatically with the heap's default schedule (the
 * incremental one, docs/design.md §9).  Trees die by reference counting when their
 * root is released.  The heap itself is freed after the clock stops (the
 * process exit of the other peers).
 *
 * SCHEDULE 1 runs it under CPython 3.11's schedule instead, as a Python
 * program would (a young collection every 700 net allocations); bench/run.py
 * reports that as a separate case (onode.h, bench_schedule).
 *
 * VARIANT takes the program apart, to show where its time goes beside the
 * default run (bench/run.py's peers "ouro, collector off" and "ouro,
 * untracked nodes"): "off" disables automatic collection (the nodes are
 * still tracked: allocation and deallocation keep the collector's lists
 * and counts); "untracked" makes the node type a non-collected one (no
 * OURO_TYPE_GC: nothing is tracked, nothing is collected), so that what
 * is left is the allocator, the header and reference counting.  Both
 * break the workload's rules (collector on) and are analysis, not peers
 * for the targets.
 *
 * usage: w1_binarytrees_ouro N [SCHEDULE [VARIANT]]
 */
#include "onode.h"

static void count_collections(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    if (phase[1] == 't' && phase[2] == 'a') /* "start" */
        ++*(long *)arg;
}

int main(int argc, char **argv)
{
    int n = (int)bench_arg_long(argc, argv, 1, 10);
    int min_depth = 4;
    int max_depth = n < min_depth + 2 ? min_depth + 2 : n;
    const char *variant = argc > 3 ? argv[3] : "";
    if (!strcmp(variant, "untracked"))
        onode_type.flags &= ~(unsigned)OURO_TYPE_GC; /* before the type's first use */
    else if (*variant && strcmp(variant, "off"))
        bench_die("VARIANT must be off or untracked");
    ouro_heap *h = bench_ouro_heap();
    bench_schedule(h, bench_arg_long(argc, argv, 2, 0));
    if (!strcmp(variant, "off"))
        ouro_gc_disable(h);
    else if (!ouro_gc_is_enabled(h))
        bench_die("automatic collection must be on");
    long collections = 0;
    ouro_gc_callback_add(h, count_collections, &collections);
    double t0 = bench_now();

    int stretch = max_depth + 1;
    ouro_object *t = onode_bottom_up(h, stretch);
    printf("stretch tree of depth %d\t check: %ld\n", stretch, onode_check(t));
    ouro_decref(t);

    ouro_object *long_lived = onode_bottom_up(h, max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + min_depth);
        long sum = 0;
        for (long i = 0; i < iterations; i++) {
            t = onode_bottom_up(h, d);
            sum += onode_check(t);
            ouro_decref(t);
        }
        printf("%ld\t trees of depth %d\t check: %ld\n", iterations, d, sum);
    }
    printf("long lived tree of depth %d\t check: %ld\n", max_depth, onode_check(long_lived));
    ouro_decref(long_lived);

    bench_result("time_s", bench_now() - t0);
    bench_result("collections", (double)collections);
    ouro_heap_free(h);
    return 0;
}
