/*
 * test_lifecycle.c — what happens to objects at the end of a heap's life,
 * and the collector stress mode.
 *
 *   - ouro_heap_free runs the dealloc hook of every object still alive,
 *     exactly once, after the leak reports have seen them, without running
 *     finalizers or weak-reference callbacks (issue 13, item 4);
 *   - weakref.finalize's registry is not reported as the user's leak
 *     (item 5);
 *   - OURO_DEBUG_GC_STRESS collects at every tracked allocation (item 11).
 */
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ types */

static int n_dealloc;  /* dealloc hooks run */
static int n_double;   /* dealloc hooks run on an object already closed */
static int n_finalize; /* PEP 442 finalizers run */
static int n_wrcb;     /* weak-reference callbacks run */

/* A "file handle": dealloc closes it. */
typedef struct res {
    OURO_HEAD;
    int closed;
} res;

static void res_dealloc(ouro_heap *h, ouro_object *o)
{
    (void)h;
    res *r = (res *)o;
    if (r->closed)
        n_double++;
    r->closed = 1;
    n_dealloc++;
}

static ouro_type res_type = {.name = "Resource", .basic_size = sizeof(res),
                             .flags = OURO_TYPE_WEAKREFABLE, .dealloc = res_dealloc};

/* A node with two references and a handle of its own. */
typedef struct node {
    OURO_HEAD;
    ouro_object *a, *b;
    int closed;
} node;

static int node_traverse(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    node *n = (node *)o;
    if (n->a && visit(n->a, arg))
        return 1;
    return n->b ? visit(n->b, arg) : 0;
}

static void node_clear(ouro_heap *h, ouro_object *o)
{
    (void)h;
    node *n = (node *)o;
    ouro_clear(&n->a);
    ouro_clear(&n->b);
}

static void node_dealloc(ouro_heap *h, ouro_object *o)
{
    (void)h;
    node *n = (node *)o;
    if (n->closed)
        n_double++;
    n->closed = 1;
    n_dealloc++;
}

static void node_finalize(ouro_heap *h, ouro_object *o)
{
    (void)h, (void)o;
    n_finalize++;
}

static ouro_type node_type = {.name = "Node", .basic_size = sizeof(node),
                              .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                              .traverse = node_traverse, .clear = node_clear,
                              .dealloc = node_dealloc};
static ouro_type fnode_type = {.name = "FinalNode", .basic_size = sizeof(node),
                               .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                               .traverse = node_traverse, .clear = node_clear,
                               .finalize = node_finalize, .dealloc = node_dealloc};

/* The bug item 11 is about: a traverse that forgets an edge (`b`). */
static int missing_traverse(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    node *n = (node *)o;
    return n->a ? visit(n->a, arg) : 0;
}

static ouro_type missing_type = {.name = "MissingEdge", .basic_size = sizeof(node),
                                 .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                                 .traverse = missing_traverse, .clear = node_clear};

static ouro_object *new_node(ouro_heap *h, ouro_type *t, ouro_object *a, ouro_object *b)
{
    node *n = (node *)ouro_new(h, t);
    CHECK(n != NULL);
    ouro_setref(&n->a, a);
    ouro_setref(&n->b, b);
    return OURO_OBJ(n);
}

static void wr_callback(ouro_heap *h, ouro_object *wr, void *arg)
{
    (void)h, (void)wr, (void)arg;
    n_wrcb++;
}

static void reset_counts(void)
{
    n_dealloc = n_double = n_finalize = n_wrcb = 0;
}

/* ------------------------------------------------------------ sink */

/* Captures what the heap writes, and the number of dealloc hooks run at
 * the moment each report arrived. */
typedef struct capture {
    char text[16384];
    size_t len;
    int dealloc_at_heap_report;  /* -1 until the heap's summary line */
    int dealloc_at_trace_report; /* -1 until the tracer's report */
} capture;

static void capture_sink(void *ctx, const char *text)
{
    capture *c = ctx;
    if (strstr(text, "alive at ouro_heap_free"))
        c->dealloc_at_heap_report = n_dealloc;
    if (strstr(text, "ouro leak report:"))
        c->dealloc_at_trace_report = n_dealloc;
    size_t n = strlen(text);
    if (c->len + n < sizeof c->text) {
        memcpy(c->text + c->len, text, n + 1);
        c->len += n;
    }
}

static ouro_heap *capture_heap(capture *c, int debug)
{
    memset(c, 0, sizeof *c);
    c->dealloc_at_heap_report = c->dealloc_at_trace_report = -1;
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = debug;
    cfg.leak_policy = OURO_LEAKS_WARN;
    cfg.sink = capture_sink;
    cfg.sink_ctx = c;
    return tl_heap_cfg(&cfg);
}

static int count_mortal(ouro_object *o, void *arg)
{
    if (!ouro_is_immortal(o))
        (*(size_t *)arg)++;
    return 0;
}

static size_t mortal_objects(ouro_heap *h)
{
    size_t n = 0;
    ouro_heap_walk(h, count_mortal, &n);
    return n;
}

/* The number after `prefix` in the captured text, or -1. */
static long reported(const capture *c, const char *prefix)
{
    const char *p = strstr(c->text, prefix);
    return p ? strtol(p + strlen(prefix), NULL, 10) : -1;
}

/* ------------------------------------------------------------ item 4 */

/* Leaks one of everything that can be leaked; returns the dealloc hooks
 * that the leaked objects own. */
static int leak_everything(ouro_heap *h, ouro_object **keep_wr)
{
    int hooks = 0;
    /* a plain resource */
    ouro_object *r1 = ouro_new(h, &res_type);
    CHECK(r1 != NULL);
    hooks += 1;
    /* a cycle of two nodes */
    ouro_object *n1 = new_node(h, &node_type, NULL, NULL);
    ouro_object *n2 = new_node(h, &node_type, n1, NULL);
    ouro_setref(&((node *)n1)->a, n2);
    ouro_decref(n2);
    hooks += 2;
    /* a list holding three resources */
    ouro_object *l = ouro_list_new(h);
    CHECK(l != NULL);
    for (int i = 0; i < 3; i++) {
        ouro_object *r = ouro_new(h, &res_type);
        CHECK_EQ(ouro_list_append(l, r), 0);
        ouro_decref(r);
    }
    hooks += 3;
    /* a node holding the only reference to a resource: torn down in
     * either order, neither may be closed twice */
    ouro_object *r5 = ouro_new(h, &res_type);
    ouro_object *n3 = new_node(h, &node_type, r5, NULL);
    ouro_decref(r5);
    hooks += 2;
    (void)n3;
    /* an immortal resource: never freed before its heap, but closed with it */
    ouro_object *r6 = ouro_new(h, &res_type);
    ouro_make_immortal(r6);
    hooks += 1;
    /* a node with a weak reference whose callback must not run at
     * teardown, and a node whose finalizer must not run either */
    ouro_object *n4 = new_node(h, &node_type, NULL, NULL);
    *keep_wr = ouro_weakref_new(h, n4, wr_callback, NULL);
    CHECK(*keep_wr != NULL);
    ouro_object *f1 = new_node(h, &fnode_type, NULL, NULL);
    hooks += 2;
    (void)f1;
    /* a resource in weak containers (leaked too) */
    ouro_object *r7 = ouro_new(h, &res_type);
    ouro_object *ws = ouro_wset_new(h), *wv = ouro_wvdict_new(h);
    CHECK_EQ(ouro_wset_add(ws, r7), 0);
    CHECK_EQ(ouro_wvdict_set(wv, "k", 1, r7), 0);
    hooks += 1;
    /* a deep chain, held by its head only */
    ouro_object *head = NULL;
    for (int i = 0; i < 1000; i++) {
        ouro_object *n = new_node(h, &node_type, head, NULL);
        ouro_xdecref(head);
        head = n;
    }
    hooks += 1000;
    /* a collection with everything alive changes nothing */
    ouro_gc_collect(h, 2);
    return hooks;
}

TEST(heap_free_deallocs_leaked_objects_once)
{
    reset_counts();
    capture c;
    ouro_heap *h = capture_heap(&c, OURO_DEBUG_CHECKS);
    ouro_object *wr;
    int hooks = leak_everything(h, &wr);
    CHECK_EQ(n_dealloc, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    size_t leaked = mortal_objects(h);
    int rc = ouro_heap_free(h);
    CHECK_EQ(rc, (long long)leaked);
    /* the report saw every leaked object before any was torn down */
    CHECK_EQ(c.dealloc_at_heap_report, 0);
    CHECK_EQ(reported(&c, "ouro: leak: ... and "), (long long)leaked - 50);
    /* then every dealloc hook ran, once */
    CHECK_EQ(n_dealloc, hooks);
    CHECK_EQ(n_double, 0);
    /* and no user code but clear and dealloc hooks */
    CHECK_EQ(n_finalize, 0);
    CHECK_EQ(n_wrcb, 0);
}

TEST(heap_free_deallocs_with_tracing_on)
{
    reset_counts();
    capture c;
    ouro_heap *h = capture_heap(&c, OURO_DEBUG_OFF);
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    ouro_object *wr;
    int hooks = leak_everything(h, &wr);
    size_t leaked = mortal_objects(h);
    CHECK_EQ(ouro_heap_free(h), (long long)leaked);
    CHECK_EQ(c.dealloc_at_trace_report, 0);
    CHECK_EQ(c.dealloc_at_heap_report, 0);
    CHECK_EQ(reported(&c, "ouro leak report: "), (long long)leaked);
    CHECK_EQ(n_dealloc, hooks);
    CHECK_EQ(n_double, 0);
    CHECK_EQ(n_finalize, 0);
    CHECK_EQ(n_wrcb, 0);
}

TEST(heap_free_deallocs_under_leaks_ignore)
{
    reset_counts();
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_IGNORE;
    ouro_heap *h = tl_heap_cfg(&cfg);
    ouro_object *wr;
    int hooks = leak_everything(h, &wr);
    size_t leaked = mortal_objects(h);
    CHECK_EQ(ouro_heap_free(h), (long long)leaked);
    CHECK_EQ(n_dealloc, hooks);
    CHECK_EQ(n_double, 0);
    CHECK_EQ(n_wrcb, 0);
}

/* Objects the heap itself held (open scopes, gc.garbage) die normally
 * before the reports, and count as nobody's leak. */
TEST(heap_free_scopes_die_before_the_report)
{
    reset_counts();
    capture c;
    ouro_heap *h = capture_heap(&c, OURO_DEBUG_CHECKS);
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    ouro_scope s = ouro_scope_begin(h);
    (void)s;
    for (int i = 0; i < 4; i++)
        ouro_scope_add(h, new_node(h, &fnode_type, NULL, NULL));
    ouro_object *r = ouro_new(h, &res_type); /* the one leak */
    (void)r;
    CHECK_EQ(ouro_heap_free(h), 1);
    CHECK_EQ(reported(&c, "ouro leak report: "), 1);
    CHECK(strstr(c.text, "ouro: leak: 1 object alive at ouro_heap_free") != NULL);
    /* the scope's objects died by reference counting: finalized */
    CHECK_EQ(n_finalize, 4);
    CHECK_EQ(n_dealloc, 5);
}

/* A clear hook that tries to allocate during teardown gets NULL. */
static int alloc_in_clear_result = 1;
static void alloc_clear(ouro_heap *h, ouro_object *o)
{
    (void)o;
    ouro_object *x = ouro_new(h, &res_type);
    alloc_in_clear_result = x == NULL ? ouro_heap_last_error(h) : 0;
    ouro_xdecref(x);
}
static ouro_type alloc_clear_type = {.name = "AllocInClear", .basic_size = sizeof(node),
                                     .flags = OURO_TYPE_GC, .clear = alloc_clear};

TEST(heap_free_teardown_does_not_allocate)
{
    /* Release heaps too: their allocation fast path must learn of the
     * teardown (alloc_slow), not only debug heaps'. */
    static const int levels[] = {OURO_DEBUG_OFF, OURO_DEBUG_CHECKS};
    for (int i = 0; i < 2; i++) {
        reset_counts();
        alloc_in_clear_result = 0;
        ouro_config cfg;
        ouro_config_init(&cfg);
        cfg.debug = levels[i];
        cfg.leak_policy = OURO_LEAKS_IGNORE;
        ouro_heap *h = tl_heap_cfg(&cfg);
        ouro_object *o = ouro_new(h, &alloc_clear_type);
        CHECK(o != NULL);
        CHECK_EQ(ouro_heap_free(h), 1);
        CHECK_EQ(alloc_in_clear_result, OURO_EBUSY);
        CHECK_EQ(n_dealloc, 0);
    }
}

/* ------------------------------------------------------------ item 5 */

static int n_fin_ran;
static void fin_fn(ouro_heap *h, void *ctx, ouro_object *arg)
{
    (void)h, (void)ctx, (void)arg;
    n_fin_ran++;
}

/* K leaked user objects, N finalizers over them (each holding an argument
 * only it refers to): the reports say K, from the tracer and the heap. */
TEST(finalize_registry_is_not_reported_as_leak)
{
    enum { K = 5, N = 7 };
    reset_counts();
    n_fin_ran = 0;
    capture c;
    ouro_heap *h = capture_heap(&c, OURO_DEBUG_CHECKS);
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    ouro_object *leaked[K];
    for (int i = 0; i < K; i++)
        leaked[i] = new_node(h, &node_type, NULL, NULL);
    int atexit_n = 0;
    for (int i = 0; i < N; i++) {
        ouro_object *arg = ouro_new(h, &res_type);
        ouro_object *f = ouro_finalize_new(h, leaked[i % K], fin_fn, NULL, arg);
        CHECK(f != NULL);
        ouro_decref(arg);
        if (i % 3 == 2)
            ouro_finalize_set_atexit(f, 0);
        else
            atexit_n++;
        ouro_decref(f); /* the registry keeps it */
    }
    /* one more over a target that dies now: it runs and leaves */
    ouro_object *t = new_node(h, &node_type, NULL, NULL);
    ouro_decref(ouro_finalize_new(h, t, fin_fn, NULL, NULL));
    ouro_decref(t);
    CHECK_EQ(n_fin_ran, 1);
    CHECK_EQ(ouro_heap_free(h), K);
    CHECK_EQ(reported(&c, "ouro leak report: "), K);
    CHECK(strstr(c.text, "ouro: leak: 5 objects alive at ouro_heap_free") != NULL);
    CHECK(strstr(c.text, "finalize") == NULL);
    CHECK(strstr(c.text, "weakref") == NULL);
    CHECK_EQ(n_fin_ran, 1 + atexit_n);
    /* the arguments died when the registry let go; the leaked nodes were
     * torn down at the end */
    CHECK_EQ(n_dealloc, N + K + 1);
    CHECK_EQ(n_double, 0);
}

/* ------------------------------------------------------------ item 11 */

static ouro_heap *stress_heap(void)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_GC_STRESS;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    return tl_heap_cfg(&cfg);
}

static size_t full_collections(ouro_heap *h)
{
    ouro_gc_gen_stats st[3];
    ouro_gc_get_stats(h, st);
    return st[0].collections + st[1].collections + st[2].collections;
}

TEST(stress_collects_at_every_tracked_allocation)
{
    reset_counts();
    ouro_heap *h = stress_heap();
    ouro_gc_gen_stats st[3];
    for (int i = 1; i <= 20; i++) {
        ouro_object *o = new_node(h, &node_type, NULL, NULL);
        ouro_decref(o);
        ouro_gc_get_stats(h, st);
        CHECK_EQ(st[2].collections, i); /* full ones, every time */
        CHECK_EQ(st[0].collections + st[1].collections, 0);
    }
    /* untracked allocations do not collect */
    ouro_object *r = ouro_new(h, &res_type);
    void *raw = ouro_raw_alloc(h, 100);
    CHECK_EQ(full_collections(h), 20);
    ouro_raw_free(h, raw);
    ouro_decref(r);
    /* gc.disable() (and threshold 0) stops them, as automatic ones */
    ouro_gc_disable(h);
    ouro_decref(new_node(h, &node_type, NULL, NULL));
    CHECK_EQ(full_collections(h), 20);
    ouro_gc_enable(h);
    CHECK_EQ(ouro_gc_set_threshold(h, 0, 10, 10), 0);
    ouro_decref(new_node(h, &node_type, NULL, NULL));
    CHECK_EQ(full_collections(h), 20);
    CHECK_EQ(ouro_gc_set_threshold(h, 700, 10, 10), 0);
    ouro_decref(new_node(h, &node_type, NULL, NULL));
    CHECK_EQ(full_collections(h), 21);
    tl_heap_done(h);
}

/* A garbage cycle, and a weak reference to watch one of its objects. */
static ouro_object *garbage_cycle(ouro_heap *h, ouro_type *t)
{
    ouro_object *a = new_node(h, t, NULL, NULL);
    ouro_object *b = new_node(h, t, NULL, a);
    ouro_setref(&((node *)a)->b, b); /* a.b = b: the edge missing_type forgets */
    ouro_object *wr = ouro_weakref_new(h, b, NULL, NULL);
    CHECK(wr != NULL);
    ouro_decref(a);
    ouro_decref(b);
    return wr;
}

/* With a correct traverse, a garbage cycle is gone at the next tracked
 * allocation; with a missing edge it is not, at that same allocation,
 * deterministically (without stress mode both survive up to 700
 * allocations, so a test cannot tell them apart). */
TEST(stress_reveals_missing_edge_at_first_allocation)
{
    reset_counts();
    ouro_heap *h = stress_heap();
    ouro_object *good = garbage_cycle(h, &node_type);
    CHECK(ouro_weakref_peek(good) != NULL);
    ouro_object *x = new_node(h, &node_type, NULL, NULL); /* first allocation */
    CHECK(ouro_weakref_peek(good) == NULL);
    ouro_decref(good);

    ouro_object *bad = garbage_cycle(h, &missing_type);
    ouro_object *y = new_node(h, &node_type, NULL, NULL);
    ouro_object *b = ouro_weakref_peek(bad);
    CHECK(b != NULL); /* the bug, visible at the first allocation */
    /* break the leaked cycle by hand so that the heap ends empty */
    ouro_incref(b);
    ouro_clear(&((node *)b)->b);
    ouro_decref(b);
    CHECK(ouro_weakref_peek(bad) == NULL);
    ouro_decref(bad);
    ouro_decref(x);
    ouro_decref(y);
    tl_heap_done(h);
}

/* Finalizers, weak-reference callbacks and gc callbacks that allocate
 * during a stress collection do not start another one. */
static int nested_seen;

static void alloc_finalize(ouro_heap *h, ouro_object *o)
{
    (void)o;
    size_t before = full_collections(h);
    for (int i = 0; i < 5; i++)
        ouro_decref(new_node(h, &node_type, NULL, NULL));
    if (full_collections(h) != before)
        nested_seen++;
    n_finalize++;
}
static ouro_type alloc_fin_type = {.name = "AllocFinal", .basic_size = sizeof(node),
                                   .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                                   .traverse = node_traverse, .clear = node_clear,
                                   .finalize = alloc_finalize};

static void alloc_wrcb(ouro_heap *h, ouro_object *wr, void *arg)
{
    (void)wr, (void)arg;
    size_t before = full_collections(h);
    ouro_decref(new_node(h, &node_type, NULL, NULL));
    if (full_collections(h) != before)
        nested_seen++;
    n_wrcb++;
}

static void alloc_gc_cb(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)info, (void)arg;
    size_t before = full_collections(h);
    ouro_decref(new_node(h, &node_type, NULL, NULL));
    /* an explicit collection inside a collection is refused, as ever */
    if (ouro_gc_collect(h, 2) != 0 || full_collections(h) != before)
        nested_seen++;
    (void)phase;
}

TEST(stress_does_not_recurse)
{
    reset_counts();
    nested_seen = 0;
    ouro_heap *h = stress_heap();
    CHECK_EQ(ouro_gc_callback_add(h, alloc_gc_cb, NULL), 0);
    for (int i = 0; i < 5; i++) {
        ouro_object *a = new_node(h, &alloc_fin_type, NULL, NULL);
        ouro_object *b = new_node(h, &alloc_fin_type, a, NULL);
        ouro_setref(&((node *)a)->a, b);
        ouro_object *wr = ouro_weakref_new(h, a, alloc_wrcb, NULL);
        CHECK(wr != NULL);
        ouro_decref(a);
        ouro_decref(b);
        size_t before = full_collections(h);
        ouro_object *x = new_node(h, &node_type, NULL, NULL); /* collects the cycle */
        CHECK_EQ(full_collections(h), before + 1);
        CHECK(ouro_weakref_peek(wr) == NULL);
        ouro_decref(x);
        ouro_decref(wr);
    }
    CHECK_EQ(nested_seen, 0);
    CHECK_EQ(n_finalize, 10);
    CHECK_EQ(n_wrcb, 5);
    CHECK_EQ(ouro_gc_callback_remove(h, alloc_gc_cb, NULL), 0);
    tl_heap_done(h);
}

/* Explicit collections are what they are without stress mode: the same
 * count, refused inside a collection, and run while automatic (stress)
 * collections are disabled.  Stress collections are full ones, so objects
 * that survive one are in the oldest generation: a young cycle for
 * collect(0) and collect(1) is built with the collector disabled. */
TEST(stress_keeps_explicit_collection_semantics)
{
    reset_counts();
    ouro_heap *h = stress_heap();
    for (int gen = 0; gen < 3; gen++) {
        ouro_gc_disable(h);
        size_t before = full_collections(h);
        ouro_object *a = new_node(h, &node_type, NULL, NULL);
        ouro_object *b = new_node(h, &node_type, a, NULL);
        ouro_setref(&((node *)a)->a, b);
        ouro_decref(a);
        ouro_decref(b);
        CHECK_EQ(full_collections(h), before);
        CHECK_EQ(ouro_gc_collect(h, gen), 2);
        CHECK_EQ(ouro_gc_collect(h, gen), 0);
        ouro_gc_enable(h);
    }
    /* enabled: the second allocation's stress collection promotes `a` */
    ouro_object *a = new_node(h, &node_type, NULL, NULL);
    ouro_object *b = new_node(h, &node_type, a, NULL);
    ouro_setref(&((node *)a)->a, b);
    ouro_decref(a);
    ouro_decref(b);
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    int t[3];
    ouro_gc_get_threshold(h, t);
    CHECK_EQ(t[0], 700);
    tl_heap_done(h);
}
