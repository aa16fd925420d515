/*
 * Stress: big heaps, deep structures, and finalizers and callbacks that
 * mutate the heap (create, link, drop, resurrect, collect) while the
 * collector runs.  Sizes are bounded so the run fits the test budget;
 * sanitizer builds use a tenth of the sizes.
 */
#include "testlib.h"
#include "ttypes.h"

#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SCALE 10
#else
#define SCALE 1
#endif

static ouro_heap *heap(void)
{
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    return h;
}

/* 10 M tracked objects alive at once (1 M under sanitizers), collected
 * with nothing to find, then half of them made cyclic garbage. */
TEST(ten_million_objects)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_FAIL;
    ouro_heap *h = tl_heap_cfg(&cfg);
    ouro_gc_disable(h);
    tn_reset();
    long n = 10000000 / SCALE;
    ouro_object **o = malloc((size_t)n * sizeof *o);
    CHECK(o);
    for (long i = 0; i < n; i++) {
        o[i] = tn_plain(h);
        CHECK(o[i]);
        if (i & 1)
            tn_link(o[i], o[i - 1]);
    }
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    for (long i = 1; i < n; i += 2)
        tn_link(o[i - 1], o[i]); /* pairs become cycles */
    for (long i = 0; i < n / 2; i++)
        ouro_decref(o[i]);
    CHECK_EQ(ouro_gc_collect(h, 2), n / 2);
    for (long i = n / 2; i < n; i++)
        ouro_decref(o[i]);
    CHECK_EQ(ouro_gc_collect(h, 2), n / 2);
    CHECK_EQ(tn_freed, n);
    free(o);
    tl_heap_done(h);
}

/* A ring of 1 M nodes, each with a finalizer, found and freed in one go. */
TEST(million_ring_with_finalizers)
{
    ouro_heap *h = heap();
    long n = 1000000 / SCALE;
    ouro_object *first = tn_new(h), *prev = first;
    for (long i = 1; i < n; i++) {
        ouro_object *x = tn_new(h);
        tn_link(prev, x);
        ouro_decref(x);
        prev = x;
    }
    tn_link(prev, first);
    ouro_decref(first);
    CHECK_EQ(ouro_gc_collect(h, 2), n);
    CHECK_EQ(tn_finalized, n);
    CHECK_EQ(tn_freed, n);
    tl_heap_done(h);
}

/* ---- chaos: finalizers and callbacks that mutate the heap ------------- */

typedef struct chaos {
    OURO_HEAD;
    ouro_object *slot[3];
    unsigned seed;
} chaos;

static ouro_object *pool[64];  /* roots the chaos can bind and drop */
static ouro_object *saved[256];
static int nsaved;
static unsigned rng = 12345;
static long actions;

static unsigned next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 16) & 0x7fff;
}

static ouro_type chaos_type;

static void chaos_act(ouro_heap *h, ouro_object *self)
{
    actions++;
    switch (next_rand() % 7) {
    case 0: { /* create and link a new object into self or a root */
        ouro_object *x = ouro_new(h, &chaos_type);
        if (!x)
            break;
        ouro_object *into = self ? self : pool[next_rand() % 64];
        if (into) {
            chaos *c = (chaos *)into;
            ouro_setref(&c->slot[next_rand() % 3], x);
        }
        ouro_decref(x);
        break;
    }
    case 1: /* drop a root */
        ouro_clear(&pool[next_rand() % 64]);
        break;
    case 2: /* resurrect self */
        if (self && nsaved < 256) {
            ouro_incref(self);
            saved[nsaved++] = self;
        }
        break;
    case 3: /* collect (returns 0 inside a collection) */
        ouro_gc_collect(h, (int)(next_rand() % 3));
        break;
    case 4: /* bind self to a root */
        if (self)
            ouro_setref(&pool[next_rand() % 64], self);
        break;
    case 5: /* release a resurrected object */
        if (nsaved)
            ouro_clear(&saved[--nsaved]);
        break;
    default: /* break self's references */
        if (self)
            for (int i = 0; i < 3; i++)
                ouro_clear(&((chaos *)self)->slot[i]);
        break;
    }
}

static int chaos_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    chaos *c = (chaos *)self;
    for (int i = 0; i < 3; i++)
        if (c->slot[i] && visit(c->slot[i], arg))
            return 1;
    return 0;
}

static void chaos_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    chaos *c = (chaos *)self;
    for (int i = 0; i < 3; i++)
        ouro_clear(&c->slot[i]);
}

static void chaos_finalize(ouro_heap *h, ouro_object *self)
{
    chaos_act(h, self);
}

static ouro_type chaos_type = {
    .name = "chaos",
    .basic_size = sizeof(chaos),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = chaos_traverse,
    .clear = chaos_clear,
    .finalize = chaos_finalize,
};

static void chaos_cb(ouro_heap *h, ouro_object *wr, void *arg)
{
    (void)wr;
    (void)arg;
    chaos_act(h, NULL);
}

TEST(finalizers_and_callbacks_mutate_during_collection)
{
    ouro_heap *h = heap();
    ouro_gc_enable(h);
    ouro_gc_set_threshold(h, 50, 5, 5);
    ouro_object *weak[128] = {0};
    for (int round = 0; round < 4000 / (SCALE > 1 ? 4 : 1); round++) {
        /* build a little structure with cycles hanging off the roots */
        int k = (int)(next_rand() % 64);
        ouro_object *x = ouro_new(h, &chaos_type);
        CHECK(x);
        ouro_object *y = ouro_new(h, &chaos_type);
        CHECK(y);
        ouro_setref(&((chaos *)x)->slot[0], y);
        ouro_setref(&((chaos *)y)->slot[0], x);
        if (next_rand() % 2)
            ouro_setref(&pool[k], x);
        int w = (int)(next_rand() % 128);
        ouro_clear(&weak[w]);
        weak[w] = ouro_weakref_new(h, next_rand() % 2 ? x : y,
                                   next_rand() % 3 ? chaos_cb : NULL, NULL);
        CHECK(weak[w]);
        ouro_decref(x);
        ouro_decref(y);
        if (round % 50 == 0) {
            ouro_gc_collect(h, (int)(next_rand() % 3));
            CHECK_EQ(ouro_heap_check(h), 0);
        }
        if (round % 97 == 0)
            chaos_act(h, NULL);
    }
    CHECK(actions > 1000);
    /* tear down: roots, resurrected objects, weak references, cycles */
    for (int i = 0; i < 64; i++)
        ouro_clear(&pool[i]);
    while (nsaved)
        ouro_clear(&saved[--nsaved]);
    for (int i = 0; i < 128; i++)
        ouro_clear(&weak[i]);
    /* finalizers may resurrect or bind again while we collect: repeat
     * until the heap is empty */
    for (int i = 0; i < 50; i++) {
        ouro_gc_collect(h, 2);
        for (int j = 0; j < 64; j++)
            ouro_clear(&pool[j]);
        while (nsaved)
            ouro_clear(&saved[--nsaved]);
        ouro_heap_stats st;
        st.struct_size = sizeof st;
        ouro_heap_get_stats(h, &st);
        if (st.objects == 0)
            break;
    }
    tl_heap_done(h);
}

/* Weak references to objects in every state: alive, being finalized,
 * resurrected, in the garbage list, frozen, on the deferred-deallocation
 * stack, and immortal (refused). */
static ouro_object *seen_during_fin;
static ouro_object *wr_to_self;
static void fin_peek(ouro_heap *h, ouro_object *self)
{
    (void)h;
    (void)self;
    /* during its own finalizer an object is alive (temporarily) */
    seen_during_fin = ouro_weakref_peek(wr_to_self);
}

TEST(weakrefs_to_objects_in_every_state)
{
    ouro_heap *h = heap();
    static ouro_type peek_type;
    peek_type = tplain_type;
    peek_type.id = 0;
    peek_type.name = "peeker";
    peek_type.finalize = fin_peek;
    /* being finalized by reference counting */
    ouro_object *a = ouro_new(h, &peek_type);
    wr_to_self = ouro_weakref_new(h, a, NULL, NULL);
    ouro_decref(a);
    CHECK(seen_during_fin == a);
    CHECK(ouro_weakref_peek(wr_to_self) == NULL);
    ouro_clear(&wr_to_self);
    /* resurrected: the weak reference survives a refcount resurrection */
    ouro_object *r = tn_new(h);
    ((tnode *)r)->resurrect = 1;
    ouro_object *wr = ouro_weakref_new(h, r, NULL, NULL);
    ouro_decref(r);
    CHECK(ouro_weakref_peek(wr) == r);
    tn_release_saved();
    CHECK(ouro_weakref_peek(wr) == NULL);
    ouro_decref(wr);
    /* in the garbage list (DEBUG_SAVEALL): cleared by the collector */
    ouro_gc_set_debug(h, OURO_GC_DEBUG_SAVEALL);
    ouro_object *g = tn_plain(h);
    tn_link(g, g);
    wr = ouro_weakref_new(h, g, NULL, NULL);
    ouro_decref(g);
    CHECK_EQ(ouro_gc_collect(h, 2), 1);
    CHECK(ouro_weakref_peek(wr) == NULL);
    CHECK_EQ(ouro_gc_garbage_count(h), 1);
    ouro_gc_set_debug(h, 0);
    ouro_clear(&((tnode *)g)->slot[0]);
    ouro_gc_garbage_clear(h);
    ouro_decref(wr);
    /* frozen: not collected, weak reference intact */
    ouro_object *f = tn_plain(h);
    tn_link(f, f);
    wr = ouro_weakref_new(h, f, NULL, NULL);
    ouro_decref(f);
    ouro_gc_freeze(h);
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    CHECK(ouro_weakref_peek(wr) == f);
    ouro_gc_unfreeze(h);
    CHECK_EQ(ouro_gc_collect(h, 2), 1);
    CHECK(ouro_weakref_peek(wr) == NULL);
    ouro_decref(wr);
    /* immortal objects take no weak references */
    ouro_object *im = tn_plain(h);
    ouro_make_immortal(im);
    CHECK(ouro_weakref_new(h, im, NULL, NULL) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ETYPE);
    /* a long chain: objects waiting on the deferred stack are dead to weak
     * references (their count is zero) before they are cleared */
    ouro_object *head = tn_plain(h), *cur = head;
    ouro_object *tailwr = NULL;
    for (int i = 0; i < 200; i++) {
        ouro_object *x = tn_plain(h);
        tn_link(cur, x);
        if (i == 150)
            tailwr = ouro_weakref_new(h, x, NULL, NULL);
        ouro_decref(x);
        cur = x;
    }
    ouro_decref(head);
    CHECK(ouro_weakref_peek(tailwr) == NULL);
    ouro_decref(tailwr);
    tl_heap_done(h);
}

/* Freeing a heap with everything alive: cycles with finalizers, weak
 * references with callbacks, garbage pending, frozen objects, scopes. */
TEST(free_heap_with_everything_alive)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_IGNORE;
    ouro_heap *h = tl_heap_cfg(&cfg);
    ouro_gc_set_threshold(h, 10, 2, 2);
    tn_reset();
    ouro_scope s = ouro_scope_begin(h);
    for (int i = 0; i < 1000; i++) {
        ouro_object *a = tn_new(h), *b = tn_new(h);
        tn_link(a, b);
        tn_link(b, a);
        ouro_object *w = ouro_weakref_new(h, a, chaos_cb, NULL);
        if (i % 3 == 0)
            ouro_scope_add(h, w);
        if (i % 5 == 0)
            ouro_scope_add(h, a);
        else
            ouro_decref(a);
        ouro_decref(b);
        if (i == 500)
            ouro_gc_freeze(h);
    }
    ouro_gc_set_debug(h, OURO_GC_DEBUG_SAVEALL);
    ouro_gc_collect(h, 0);
    (void)s;
    int finalized = tn_finalized;
    CHECK(ouro_heap_free(h) >= 0);
    /* No finalizer runs, and every object's dealloc hook has run exactly
     * once: the ones alive at heap free ran at its teardown. */
    CHECK_EQ(tn_finalized, finalized);
    CHECK_EQ(tn_freed, 2000);
    for (int i = 0; i < 64; i++)
        pool[i] = NULL; /* chaos roots pointed into the freed heap */
    nsaved = 0;
}
