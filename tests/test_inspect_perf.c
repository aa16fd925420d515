/* Tracing overhead (BENCHMARKS.md workload 9) on a binary-trees loop.
 *
 * The ordinary run checks, on a small tree, that tracing leaves the
 * workload's results and the heap's figures untouched.  With OURO_W9=DEPTH
 * in the environment, `test_inspect_perf w9_overhead` measures workload 1
 * at that depth (and an allocate/free loop, workload 6) untraced, traced at
 * one frame and sampled, median of 3 runs side by side, and prints the
 * ratios (the targets: <= 2.0 traced, <= 1.1 sampled). */
#include "testlib.h"

#include <stdlib.h>
#include <time.h>

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

/* Workload 6 (one size): allocate and free 64-byte raw blocks in pairs. */
static long alloc_free(ouro_heap *h, long n)
{
    long sum = 0;
    for (long i = 0; i < n; i++) {
        void *p = ouro_raw_alloc(h, 64);
        sum += (long)((uintptr_t)p & 16);
        ouro_raw_free(h, p);
    }
    return sum;
}

/* CPU time of this thread: on a shared 2-core machine, wall time also
 * counts the time other processes held the core. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* mode 0: untraced, 1: every allocation, 2: sampled every 512 KiB */
static double run(int mode, int depth, int w6, long *result)
{
    ouro_heap *h = ouro_heap_new(NULL);
    if (mode == 1)
        ouro_trace_start(h, 1);
    if (mode == 2)
        ouro_trace_start_sampled(h, 1, 512 * 1024);
    double t0 = now();
    *result = w6 ? alloc_free(h, 20000000L) : binary_trees(h, depth);
    double t = now() - t0;
    ouro_trace_stop(h);
    ouro_heap_free(h);
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
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

    CHECK_EQ(plain, traced);
    CHECK_EQ(plain, sampled);
    /* The heap did the same work: same peak, same objects at the end. */
    CHECK_EQ(a.peak_bytes_in_use, b.peak_bytes_in_use);
    CHECK_EQ(a.peak_arenas, b.peak_arenas);
}

TEST(w9_overhead)
{
    const char *env = getenv("OURO_W9");
    if (!env)
        return; /* measurement only on request */
    int depth = atoi(env);
    if (depth < 6)
        depth = 16;
    for (int w6 = 0; w6 <= 1; w6++) {
        enum { REPS = 5 };
        double t[3][REPS];
        long r[3];
        for (int rep = 0; rep < REPS; rep++)
            for (int mode = 0; mode < 3; mode++)
                t[mode][rep] = run(mode, depth, w6, &r[mode]);
        CHECK_EQ(r[0], r[1]);
        CHECK_EQ(r[0], r[2]);
        for (int mode = 0; mode < 3; mode++)
            qsort(t[mode], REPS, sizeof(double), cmp_double);
        int m = REPS / 2;
        printf("w9 %s: untraced %.3f s, traced %.3f s (%.2fx), sampled %.3f s (%.2fx) "
               "[median of %d; best-of: %.2fx, %.2fx]\n",
               w6 ? "alloc/free 64 B x 20M" : "binary-trees", t[0][m], t[1][m],
               t[1][m] / t[0][m], t[2][m], t[2][m] / t[0][m], REPS, t[1][0] / t[0][0],
               t[2][0] / t[0][0]);
    }
}
