/*
 * onode.h — the object the ouro benchmarks are made of: a collector-tracked
 * node holding two references, the C counterpart of
 *
 *     class Node:
 *         __slots__ = ("left", "right")
 *
 * 32 bytes: the 16-byte header and two pointers.  `onode_weak_type` is the
 * same node with weak references allowed (CPython: "__weakref__" in the
 * slots), for the weak-reference workload.
 */
#ifndef BENCH_ONODE_H
#define BENCH_ONODE_H

#include "common.h"
#include "ouro.h"

typedef struct onode {
    OURO_HEAD;
    ouro_object *left;
    ouro_object *right;
} onode;

static int onode_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    onode *n = (onode *)self;
    int r;
    if (n->left && (r = visit(n->left, arg)) != 0)
        return r;
    if (n->right && (r = visit(n->right, arg)) != 0)
        return r;
    return 0;
}

static void onode_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    onode *n = (onode *)self;
    ouro_clear(&n->left);
    ouro_clear(&n->right);
}

__attribute__((unused)) static ouro_type onode_type = {
    .name = "Node",
    .basic_size = sizeof(onode),
    .flags = OURO_TYPE_GC,
    .traverse = onode_traverse,
    .clear = onode_clear,
};

__attribute__((unused)) static ouro_type onode_weak_type = {
    .name = "WNode",
    .basic_size = sizeof(onode),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = onode_traverse,
    .clear = onode_clear,
};

/* A new node (new reference) that takes over the references `left` and
 * `right` (either may be NULL). */
static inline onode *onode_new(ouro_heap *h, ouro_object *left, ouro_object *right)
{
    onode *n = (onode *)ouro_new(h, &onode_type);
    if (__builtin_expect(!n, 0))
        bench_die("ouro_new: out of memory");
    n->left = left;
    n->right = right;
    return n;
}

/* binary-trees' tree of `depth` levels below the root, built bottom-up:
 * the children are built first and handed to the parent, so no reference
 * count is touched twice (workloads 1 and 9). */
__attribute__((unused)) static ouro_object *onode_bottom_up(ouro_heap *h, int depth)
{
    if (depth > 0) {
        ouro_object *l = onode_bottom_up(h, depth - 1);
        ouro_object *r = onode_bottom_up(h, depth - 1);
        return &onode_new(h, l, r)->ob_base;
    }
    return &onode_new(h, NULL, NULL)->ob_base;
}

/* binary-trees' check: the number of nodes. */
__attribute__((unused)) static long onode_check(const ouro_object *o)
{
    const onode *n = (const onode *)o;
    long c = 1;
    if (n->left)
        c += onode_check(n->left) + onode_check(n->right);
    return c;
}

static inline ouro_heap *bench_ouro_heap(void)
{
    ouro_heap *h = ouro_heap_new(NULL);
    if (!h)
        bench_die("ouro_heap_new failed");
    printf("@peer ouro %s\n", ouro_version());
    return h;
}

/* A program's optional SHARED argument: 1 runs it on a shared heap
 * (cfg.shared = 1) that only the main thread uses, issue 17's "shared heap
 * used by one thread" (W11 compares it with the ordinary heap); 0 or none
 * keeps bench_ouro_heap's ordinary heap. */
static inline ouro_heap *bench_ouro_heap_shared(long shared)
{
    if (shared == 0)
        return bench_ouro_heap();
    if (shared != 1)
        bench_die("bad SHARED");
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.shared = 1;
    ouro_heap *h = ouro_heap_new(&cfg); /* attaches the calling thread */
    if (!h || !ouro_heap_is_shared(h))
        bench_die("ouro_heap_new (shared) failed");
    printf("@peer ouro %s (shared heap)\n", ouro_version());
    return h;
}

/* The schedule a program's optional SCHEDULE argument asks for: 0 (or
 * none) keeps the heap's default, 1 CPython 3.11's schedule, G > 1 the
 * adaptive schedule with growth bounded by G (ouro_gc_set_young_growth),
 * -S the schedule numbered S in ouro.h (-3: incremental). */
static inline void bench_schedule(ouro_heap *h, long arg)
{
    if (arg == 1 && ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311) != 0)
        bench_die("bad SCHEDULE");
    if (arg < 0 && ouro_gc_set_schedule(h, (int)-arg) != 0)
        bench_die("bad SCHEDULE");
    if (arg > 1 && ouro_gc_set_young_growth(h, (int)arg) != 0)
        bench_die("bad SCHEDULE");
    bench_result("schedule", (double)ouro_gc_get_schedule(h));
    bench_result("young_growth", (double)ouro_gc_get_young_growth(h));
}

#endif
