/*
 * w2_gcbench_ouro.c — workload 2, GCBench, with ouro objects.
 *
 * The same program as w2_gcbench.c with every node a collector-tracked ouro
 * object (two references and two ints: 40 bytes, a 48-byte block) and the
 * array of doubles an atomic, untracked object of its size.  Automatic
 * collection is on with the heap's default schedule (incremental); trees
 * die by reference counting when dropped.  Every collection is timed from
 * its gc callback "start" to its "stop" (pauses.h: @gc_s, the collector
 * time, and @pause_max_s...).
 *
 * SCHEDULE 1 runs it under CPython 3.11's schedule (onode.h,
 * bench_schedule), reported by bench/run.py as a separate case.
 *
 * SHARED 1 runs it on a shared heap used by the main thread alone
 * (onode.h, bench_ouro_heap_shared): W11's one-thread GCBench case.
 *
 * usage: w2_gcbench_ouro [STRETCH LONG ARRAY MIN MAX [SCHEDULE [SHARED]]]   (18 16 500000 4 16 0 0)
 */
#include "onode.h"
#include "pauses.h"

typedef struct gnode {
    OURO_HEAD;
    ouro_object *left, *right;
    int i, j;
} gnode;

static ouro_type gnode_type = {
    .name = "GNode",
    .basic_size = sizeof(gnode),
    .flags = OURO_TYPE_GC,
    /* gnode starts like onode: header, left, right */
    .traverse = onode_traverse,
    .clear = onode_clear,
};

static ouro_type darray_type = {
    .name = "DoubleArray",
    .basic_size = sizeof(ouro_object),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC,
};

static ouro_heap *heap;

static void on_gc(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)h;
    (void)info;
    if (phase[2] == 'a') /* "start" */
        bench_pauses_start(arg);
    else
        bench_pauses_stop(arg);
}

static gnode *node_new(ouro_object *l, ouro_object *r)
{
    gnode *n = (gnode *)ouro_new(heap, &gnode_type);
    if (__builtin_expect(!n, 0))
        bench_die("out of memory");
    n->left = l;
    n->right = r;
    return n;
}

static long tree_size(int depth) { return (1L << (depth + 1)) - 1; }

static void populate(int depth, gnode *n)
{
    if (depth <= 0)
        return;
    depth--;
    n->left = &node_new(NULL, NULL)->ob_base;
    n->right = &node_new(NULL, NULL)->ob_base;
    populate(depth, (gnode *)n->left);
    populate(depth, (gnode *)n->right);
}

static gnode *make_tree(int depth)
{
    if (depth <= 0)
        return node_new(NULL, NULL);
    gnode *l = make_tree(depth - 1);
    gnode *r = make_tree(depth - 1);
    return node_new(&l->ob_base, &r->ob_base);
}

static long count(const ouro_object *o)
{
    const gnode *n = (const gnode *)o;
    return n ? 1 + count(n->left) + count(n->right) : 0;
}

int main(int argc, char **argv)
{
    int stretch = (int)bench_arg_long(argc, argv, 1, 18);
    int long_depth = (int)bench_arg_long(argc, argv, 2, 16);
    long array_size = bench_arg_long(argc, argv, 3, 500000);
    int min_depth = (int)bench_arg_long(argc, argv, 4, 4);
    int max_depth = (int)bench_arg_long(argc, argv, 5, 16);
    heap = bench_ouro_heap_shared(bench_arg_long(argc, argv, 7, 0));
    bench_schedule(heap, bench_arg_long(argc, argv, 6, 0));
    bench_pauses pauses;
    bench_pauses_init(&pauses);
    if (ouro_gc_callback_add(heap, on_gc, &pauses) != 0)
        bench_die("gc callback");
    double t0 = bench_now();

    ouro_decref(&make_tree(stretch)->ob_base);

    gnode *long_lived = node_new(NULL, NULL);
    populate(long_depth, long_lived);

    ouro_object *arr = ouro_new_sized(heap, &darray_type,
                                      sizeof(ouro_object) + (size_t)array_size * sizeof(double));
    if (!arr)
        bench_die("out of memory");
    double *array = (double *)(arr + 1);
    for (long i = 0; i < array_size / 2; i++)
        array[i] = 1.0 / (double)i;

    for (int d = min_depth; d <= max_depth; d += 2) {
        long iters = 2 * tree_size(stretch) / tree_size(d);
        printf("Creating %ld trees of depth %d\n", iters, d);
        for (long i = 0; i < iters; i++) {
            gnode *t = node_new(NULL, NULL);
            populate(d, t);
            ouro_decref(&t->ob_base);
        }
        for (long i = 0; i < iters; i++)
            ouro_decref(&make_tree(d)->ob_base);
    }
    long kept = count(&long_lived->ob_base);
    int array_ok = array_size <= 1000 || array[1000] == 1.0 / 1000;
    double t = bench_now() - t0;
    printf("long-lived tree nodes %ld, array %s\n", kept, array_ok ? "ok" : "CORRUPT");
    bench_result("time_s", t);
    ouro_gc_gen_stats gs[3];
    ouro_gc_get_stats(heap, gs);
    bench_pauses_report(&pauses);
    bench_pauses_free(&pauses);
    bench_result("collections", (double)(gs[0].collections + gs[1].collections + gs[2].collections));
    ouro_decref(&long_lived->ob_base);
    ouro_decref(arr);
    ouro_heap_free(heap);
    return 0;
}
