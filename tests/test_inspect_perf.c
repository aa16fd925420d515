/* Tracing and workload 9's binary-trees loop: tracing, at every allocation
 * or sampled, leaves the workload's results and the heap's figures
 * untouched.  What tracing costs is measured by the benchmark harness
 * (`python3 bench/run.py --only W9`, bench/w9_tracing_ouro.c). */
#include "testlib.h"

typedef struct bnode {
    OURO_HEAD;
    ouro_object *left, *right;
} bnode;

static int bn_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    bnode *n = (bnode *)self;
    if (n->left && visit(n->left, arg))
        return 1;
    return n->right ? visit(n->right, arg) : 0;
}

static void bn_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    bnode *n = (bnode *)self;
    ouro_clear(&n->left);
    ouro_clear(&n->right);
}

static ouro_type bnode_type = {.name = "bnode", .basic_size = sizeof(bnode),
                               .flags = OURO_TYPE_GC, .traverse = bn_traverse,
                               .clear = bn_clear};

static ouro_object *bottom_up(ouro_heap *h, int depth)
{
    ouro_object *n = ouro_new(h, &bnode_type);
    if (depth > 0) {
        ((bnode *)n)->left = bottom_up(h, depth - 1);
        ((bnode *)n)->right = bottom_up(h, depth - 1);
    }
    return n;
}

static long check(ouro_object *o)
{
    bnode *n = (bnode *)o;
    return 1 + (n->left ? check(n->left) + check(n->right) : 0);
}

/* Workload 1: stretch tree, long-lived tree, then the iterations. */
static long binary_trees(ouro_heap *h, int max_depth)
{
    long total = 0;
    ouro_object *stretch = bottom_up(h, max_depth + 1);
    total += check(stretch);
    ouro_decref(stretch);
    ouro_object *longlived = bottom_up(h, max_depth);
    for (int d = 4; d <= max_depth; d += 2) {
        long iters = 1L << (max_depth - d + 4);
        for (long i = 0; i < iters; i++) {
            ouro_object *t = bottom_up(h, d);
            total += check(t);
            ouro_decref(t);
        }
    }
    total += check(longlived);
    ouro_decref(longlived);
    return total;
}

TEST(tracing_changes_no_result)
{
    long plain, traced, sampled;
    ouro_heap *h = tl_heap();
    plain = binary_trees(h, 8);
    ouro_heap_stats a = {.struct_size = sizeof a};
    ouro_heap_get_stats(h, &a);
    tl_heap_done(h);

    h = tl_heap();
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    traced = binary_trees(h, 8);
    ouro_heap_stats b = {.struct_size = sizeof b};
    ouro_heap_get_stats(h, &b);
    size_t cur, peak;
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 0);         /* everything was freed */
    CHECK(peak >= (size_t)((1 << 10) - 1) * 32); /* the stretch tree at least */
    CHECK_EQ(ouro_trace_stop(h), 0);
    tl_heap_done(h);

    h = tl_heap();
    CHECK_EQ(ouro_trace_start_sampled(h, 1, 4096), 0);
    sampled = binary_trees(h, 8);
    CHECK_EQ(ouro_trace_stop(h), 0);
    tl_heap_done(h);

    /* Depth 8: the stretch tree 2^10 - 1, 256 trees of 31 nodes, 64 of
     * 127, 16 of 511, and the long-lived tree 511. */
    CHECK_EQ(plain, 1023 + 256 * 31 + 64 * 127 + 16 * 511 + 511);
    CHECK_EQ(plain, traced);
    CHECK_EQ(plain, sampled);
    /* The heap did the same work: same peak, same objects at the end. */
    CHECK_EQ(a.peak_bytes_in_use, b.peak_bytes_in_use);
    CHECK_EQ(a.peak_arenas, b.peak_arenas);
}
