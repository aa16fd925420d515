/*
 * w4_live_boehm.c — workload 4 for Boehm GC: a full collection (GC_gcollect)
 * over the same live structures as w4_live_ouro.c, for comparison with a
 * tracing collector that marks the whole heap.  Boehm has no young
 * collection without its mprotect-based incremental mode, so the "young"
 * case is not built for it.
 *
 * usage: w4_live_boehm full N REPS | traversal L REPS
 */
#include "peer.h"

typedef struct bnode {
    struct bnode *left, *right;
} bnode;

typedef struct blist {
    size_t n;
    struct blist *items[];
} blist;

/* Roots live in a global, which Boehm scans. */
static void *root;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void timed_full(int reps, long objects)
{
    if (reps < 1 || reps > 1000)
        bench_die("REPS out of range");
    double t[1000];
    GC_gcollect();
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now();
        GC_gcollect();
        t[i] = bench_now() - t0;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_double);
    double m = reps % 2 ? t[reps / 2] : 0.5 * (t[reps / 2 - 1] + t[reps / 2]);
    bench_result("time_s", m);
    if (objects > 0)
        bench_result("ns_per_obj", m * 1e9 / (double)objects);
}

static long count_tree(const bnode *n)
{
    return n ? 1 + count_tree(n->left) + count_tree(n->right) : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        bench_die("usage: w4_live_boehm full N REPS | traversal L REPS");
    peer_init();
    if (!strcmp(argv[1], "full")) {
        long n = bench_arg_long(argc, argv, 2, 1000000);
        int reps = (int)bench_arg_long(argc, argv, 3, 5);
        /* The index array is plain malloc memory, invisible to the
         * collector, so that only the tree is marked afterwards; the
         * collector is held off while nodes are reachable only from it. */
        bnode **v = malloc((size_t)n * sizeof *v);
        if (!v)
            bench_die("out of memory");
        GC_disable();
        for (long i = n - 1; i >= 0; i--) {
            bnode *b = GC_MALLOC(sizeof *b);
            if (!b)
                bench_die("out of memory");
            b->left = 2 * i + 1 < n ? v[2 * i + 1] : NULL;
            b->right = 2 * i + 2 < n ? v[2 * i + 2] : NULL;
            v[i] = b;
        }
        root = v[0];
        free(v);
        GC_enable();
        timed_full(reps, n);
        bench_check("nodes %ld", count_tree(root));
    } else if (!strcmp(argv[1], "traversal")) {
        long levels = bench_arg_long(argc, argv, 2, 1000);
        int reps = (int)bench_arg_long(argc, argv, 3, 5);
        blist *cur = GC_MALLOC(sizeof(blist));
        root = cur;
        for (long n = 0; n < levels; n++) {
            blist *next = GC_MALLOC(sizeof(blist) + (size_t)n * sizeof(blist *));
            if (!next)
                bench_die("out of memory");
            next->n = (size_t)n;
            for (long i = 0; i < n; i++)
                next->items[i] = cur;
            cur = next;
            root = cur;
        }
        timed_full(reps, 0);
        bench_check("lists %ld", levels);
    } else {
        bench_die("unknown case");
    }
    return 0;
}
