/*
 * w4_live_ouro.c — workload 4, traversing a live heap.
 *
 *   full N REPS        a complete binary tree of N tracked nodes (node i
 *                      holds nodes 2i+1 and 2i+2), only its root held from
 *                      C; automatic collection off.  After one untimed full
 *                      collection (which moves everything to the oldest
 *                      generation), REPS timed full collections, each of
 *                      which must collect nothing; time_s is their median
 *   traversal L REPS   pyperformance's gc_traversal shape: L+1 lists, list n
 *                      holding n references to list n-1; timed as above
 *   young OLD Y REPS   the OLD-node tree collected into the oldest
 *                      generation, then REPS times: Y new nodes, each
 *                      holding a reference to an old node, a timed
 *                      collection of generation 0, the Y nodes released;
 *                      time_s is the median
 *
 * usage: w4_live_ouro full N REPS | traversal L REPS | young OLD Y REPS
 */
#include "onode.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* The tree in heap order, built from the leaves up so that every node is
 * created holding its children; `keep` (may be NULL) gets the borrowed
 * node pointers. */
static onode *build_tree(ouro_heap *h, long n, onode **keep)
{
    onode **v = malloc((size_t)n * sizeof *v);
    if (!v)
        bench_die("out of memory");
    for (long i = n - 1; i >= 0; i--) {
        ouro_object *l = 2 * i + 1 < n ? &v[2 * i + 1]->ob_base : NULL;
        ouro_object *r = 2 * i + 2 < n ? &v[2 * i + 2]->ob_base : NULL;
        v[i] = onode_new(h, l, r);
    }
    onode *root = v[0];
    if (keep)
        memcpy(keep, v, (size_t)n * sizeof *v);
    free(v);
    return root;
}

/* A list: a variable-sized object holding `n` references. */
typedef struct olist {
    OURO_HEAD;
    size_t n;
    ouro_object *items[];
} olist;

static int olist_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    olist *l = (olist *)self;
    for (size_t i = 0; i < l->n; i++) {
        int r;
        if (l->items[i] && (r = visit(l->items[i], arg)) != 0)
            return r;
    }
    return 0;
}

static void olist_clear(ouro_heap *h, ouro_object *self)
{
    olist *l = (olist *)self;
    for (size_t i = 0; i < l->n; i++)
        ouro_clear(&l->items[i]);
}

static ouro_type olist_type = {
    .name = "list",
    .basic_size = sizeof(olist),
    .flags = OURO_TYPE_GC,
    .traverse = olist_traverse,
    .clear = olist_clear,
};

static olist *olist_new(ouro_heap *h, size_t n)
{
    olist *l = (olist *)ouro_new_sized(h, &olist_type, sizeof(olist) + n * sizeof(ouro_object *));
    if (!l)
        bench_die("out of memory");
    l->n = n;
    return l;
}

static void timed_full(ouro_heap *h, int reps, long expect_objects)
{
    if (reps < 1 || reps > 1000)
        bench_die("REPS out of range");
    double t[1000];
    long bad = 0;
    long warm = ouro_gc_collect(h, 2);
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now();
        long got = ouro_gc_collect(h, 2);
        t[i] = bench_now() - t0;
        if (got != 0)
            bad = got;
    }
    double m = median(t, reps);
    bench_result("time_s", m);
    if (expect_objects > 0)
        bench_result("ns_per_obj", m * 1e9 / (double)expect_objects);
    bench_check("collected %ld %ld", warm, bad);
}

int main(int argc, char **argv)
{
    if (argc < 2)
        bench_die("usage: w4_live_ouro full N REPS | traversal L REPS | young OLD Y REPS");
    ouro_heap *h = bench_ouro_heap();
    ouro_gc_disable(h);
    if (!strcmp(argv[1], "full")) {
        long n = bench_arg_long(argc, argv, 2, 1000000);
        int reps = (int)bench_arg_long(argc, argv, 3, 5);
        onode *root = build_tree(h, n, NULL);
        timed_full(h, reps, n);
        ouro_decref(&root->ob_base);
    } else if (!strcmp(argv[1], "traversal")) {
        long levels = bench_arg_long(argc, argv, 2, 1000);
        int reps = (int)bench_arg_long(argc, argv, 3, 5);
        olist *cur = olist_new(h, 0);
        for (long n = 0; n < levels; n++) {
            olist *next = olist_new(h, (size_t)n);
            for (long i = 0; i < n; i++) {
                ouro_incref(&cur->ob_base);
                next->items[i] = &cur->ob_base;
            }
            ouro_decref(&cur->ob_base);
            cur = next;
        }
        timed_full(h, reps, 0);
        ouro_decref(&cur->ob_base);
    } else if (!strcmp(argv[1], "young")) {
        long old = bench_arg_long(argc, argv, 2, 1000000);
        long young = bench_arg_long(argc, argv, 3, 500);
        int reps = (int)bench_arg_long(argc, argv, 4, 51);
        if (reps < 1 || reps > 1000 || young < 1)
            bench_die("arguments out of range");
        onode **olds = malloc((size_t)old * sizeof *olds);
        onode **ys = malloc((size_t)young * sizeof *ys);
        if (!olds || !ys)
            bench_die("out of memory");
        onode *root = build_tree(h, old, olds);
        ouro_gc_collect(h, 2);
        ouro_gc_collect(h, 2);
        double t[1000];
        long bad = 0;
        long stride = old / young > 0 ? old / young : 1;
        for (int k = 0; k < reps; k++) {
            for (long i = 0; i < young; i++) {
                ouro_object *target = &olds[(i * stride) % old]->ob_base;
                ouro_incref(target);
                ys[i] = onode_new(h, target, NULL);
            }
            double t0 = bench_now();
            long got = ouro_gc_collect(h, 0);
            t[k] = bench_now() - t0;
            if (got != 0)
                bad = got;
            for (long i = 0; i < young; i++)
                ouro_decref(&ys[i]->ob_base);
        }
        double m = median(t, reps);
        bench_result("time_s", m);
        bench_check("collected %ld", bad);
        free(ys);
        free(olds);
        ouro_decref(&root->ob_base);
    } else {
        bench_die("unknown case");
    }
    ouro_heap_free(h);
    return 0;
}
