/*
 * w2_gcbench.c — workload 2, GCBench (Boehm and Ellis's benchmark), for the
 * malloc-style peers and Boehm.
 *
 *   a stretch tree of depth STRETCH, built bottom-up and dropped;
 *   a long-lived tree of depth LONG, built top-down, kept to the end;
 *   an array of ARRAY doubles, half filled, kept to the end;
 *   for d = MIN, MIN+2, ..., MAX: NumIters(d) = 2*TreeSize(STRETCH)/TreeSize(d)
 *     trees of depth d built top-down (children stored into an existing,
 *     older node) and dropped, then as many built bottom-up and dropped.
 *
 * Nodes hold two references and two ints.  The manual peers free each tree
 * recursively when it is dropped; Boehm leaves it to its collector.
 *
 * usage: w2_gcbench_<peer> [STRETCH LONG ARRAY MIN MAX]   (18 16 500000 4 16)
 */
#include "peer.h"

typedef struct gnode {
    struct gnode *left, *right;
    int i, j;
} gnode;

static gnode *node_new(gnode *l, gnode *r)
{
    gnode *n = peer_alloc(sizeof *n);
    if (__builtin_expect(!n, 0))
        bench_die("out of memory");
    n->left = l;
    n->right = r;
    n->i = n->j = 0;
    return n;
}

static long tree_size(int depth) { return (1L << (depth + 1)) - 1; }

static void populate(int depth, gnode *n)
{
    if (depth <= 0)
        return;
    depth--;
    n->left = node_new(NULL, NULL);
    n->right = node_new(NULL, NULL);
    populate(depth, n->left);
    populate(depth, n->right);
}

static gnode *make_tree(int depth)
{
    if (depth <= 0)
        return node_new(NULL, NULL);
    gnode *l = make_tree(depth - 1);
    gnode *r = make_tree(depth - 1);
    return node_new(l, r);
}

static long count(const gnode *n)
{
    return n ? 1 + count(n->left) + count(n->right) : 0;
}

static void drop(gnode *n)
{
#if defined(PEER_COLLECTS)
    (void)n;
#else
    if (!n)
        return;
    drop(n->left);
    drop(n->right);
    peer_free(n);
#endif
}

int main(int argc, char **argv)
{
    int stretch = (int)bench_arg_long(argc, argv, 1, 18);
    int long_depth = (int)bench_arg_long(argc, argv, 2, 16);
    long array_size = bench_arg_long(argc, argv, 3, 500000);
    int min_depth = (int)bench_arg_long(argc, argv, 4, 4);
    int max_depth = (int)bench_arg_long(argc, argv, 5, 16);
    peer_init();
    double t0 = bench_now();

    gnode *t = make_tree(stretch);
    drop(t);

    gnode *long_lived = node_new(NULL, NULL);
    populate(long_depth, long_lived);

#if defined(PEER_BOEHM)
    double *array = GC_MALLOC_ATOMIC((size_t)array_size * sizeof(double));
#else
    double *array = peer_alloc((size_t)array_size * sizeof(double));
#endif
    if (!array)
        bench_die("out of memory");
    for (long i = 0; i < array_size / 2; i++)
        array[i] = 1.0 / (double)i;

    for (int d = min_depth; d <= max_depth; d += 2) {
        long iters = 2 * tree_size(stretch) / tree_size(d);
        printf("Creating %ld trees of depth %d\n", iters, d);
        for (long i = 0; i < iters; i++) {
            t = node_new(NULL, NULL);
            populate(d, t);
            drop(t);
        }
        for (long i = 0; i < iters; i++) {
            t = make_tree(d);
            drop(t);
        }
    }
    long kept = count(long_lived);
    int array_ok = array_size <= 1000 || array[1000] == 1.0 / 1000;
    double elapsed = bench_now() - t0;
    printf("long-lived tree nodes %ld, array %s\n", kept, array_ok ? "ok" : "CORRUPT");
    bench_result("time_s", elapsed);
#if defined(PEER_BOEHM)
    bench_result("collections", (double)GC_get_gc_no());
#endif
    drop(long_lived);
#if !defined(PEER_BOEHM)
    peer_free(array);
#endif
    return 0;
}
