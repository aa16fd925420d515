/*
 * Threads: many heaps used by many threads at once, the way ouro allows it
 * today (one thread at a time per heap).  `make test-tsan` runs this file
 * under ThreadSanitizer; the ordinary build, the sanitizer build and
 * Valgrind run it too, smaller.
 *
 * What it covers
 *   - ouro's process-wide state touched from many threads at once: the type
 *     table (fresh static descriptors first used by several threads at the
 *     same moment must each get one id, and an object's type must be that
 *     descriptor), the process-wide heap hooks (added and removed by one
 *     thread while the workers create heaps; a hook must never be called
 *     with another hook's argument), and the profiling layer started on
 *     heaps from a hook and directly (per-heap tracers, snapshots);
 *   - heaps handed from one thread to another through a mutex + condvar
 *     queue, in the three ways ouro.h allows (disown + set_owner, disown
 *     and the receiver's first use takes it, set_owner alone), with live
 *     objects, cycles, weak references and finalizers in them; debug heaps
 *     abort if a thread uses a heap it does not own;
 *   - in each heap: objects of the test's own types and of the built-in
 *     ones (list, dict, tuple, str, int), cycles through both, weak
 *     references with callbacks, PEP 442 finalizers, weakref.finalize,
 *     explicit and automatic collections, ouro_heap_check at the end of
 *     every round, and every heap freed empty;
 *   - at the end: every object of the test's types created was destroyed
 *     (counted with atomics in the dealloc hooks), every PEP 442 finalizer
 *     and every weakref.finalize ran exactly once, each in the thread that
 *     owned the heap at the time.
 *
 * What it does not cover: one heap used by two threads at once (not
 * allowed yet), nor the reference count of an object shared between heaps
 * (impossible: heaps are independent).  Its thread interleavings are not
 * reproducible; each heap's sequence of operations is, from its seed,
 * printed with any failure.  OURO_THREADS_SEED=N changes the base seed,
 * OURO_THREADS_SCALE=K multiplies the rounds (a longer run).
 */
#include "testlib.h"

#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* Sizes: ThreadSanitizer and AddressSanitizer slow every access 5-15x,
 * and Valgrind runs one thread at a time, 50x slower. */
#if defined(__SANITIZE_THREAD__)
#define BASE_ROUNDS 16
#define BASE_OPS 1500
#elif defined(__SANITIZE_ADDRESS__)
#define BASE_ROUNDS 6
#define BASE_OPS 1200
#else
#define BASE_ROUNDS 40
#define BASE_OPS 3000
#endif
#define MAX_THREADS 8
#define NSLOTS 48

/* ------------------------------------------------------------ counters */

static atomic_long g_created, g_destroyed;        /* objects of the test's types */
static atomic_long g_fin_created, g_finalized;    /* PEP 442 finalizers */
static atomic_long g_wfin_created, g_wfin_ran;    /* weakref.finalize */
static atomic_long g_callbacks;                   /* weak reference callbacks */
static atomic_long g_handed, g_received;          /* heaps handed over */
static atomic_long g_heaps, g_traced, g_snapshots;
static atomic_long g_hook_calls, g_hook_bad;
static atomic_long g_failures;
static uint64_t g_seed = 20261130;

/* ------------------------------------------------------------ failures */

/* One unit of work: a heap, its roots and its random sequence.  It moves
 * between threads with its heap. */
typedef struct work {
    ouro_heap *h;
    uint64_t seed; /* reproduces this heap's operations */
    uint64_t rng;
    int thread;    /* the thread that created it */
    ouro_object *slot[NSLOTS];
    struct work *next;
} work;

/* The work the calling thread is doing: callbacks and finalizers check
 * that they run in the thread that owns their heap. */
static _Thread_local work *t_cur;
static _Thread_local int t_id;

/* Worker threads cannot use CHECK (it longjmps into the main thread's
 * runner): they count the failure, name the seed, and go on. */
__attribute__((format(printf, 3, 4))) static void t_fail(const work *w, int line,
                                                         const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr,
            "FAIL test_threads.c:%d: thread %d, heap seed %llu (base seed %llu; rerun with "
            "OURO_THREADS_SEED=%llu): %s\n",
            line, t_id, w ? (unsigned long long)w->seed : 0ULL, (unsigned long long)g_seed,
            (unsigned long long)g_seed, msg);
    atomic_fetch_add(&g_failures, 1);
}
#define T_CHECK(w, cond)                                                   \
    do {                                                                   \
        if (!(cond))                                                       \
            t_fail((w), __LINE__, "T_CHECK(%s)", #cond);                   \
    } while (0)

static uint64_t rnd(uint64_t *s)
{
    /* xorshift64*: enough for choosing operations. */
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}
static unsigned pick(work *w, unsigned n) { return (unsigned)(rnd(&w->rng) % n); }

static int scale(void)
{
    const char *s = getenv("OURO_THREADS_SCALE");
    int k = s ? atoi(s) : 1;
    return k > 0 ? k : 1;
}

/* ------------------------------------------------------------ the types */

#define NODE_MAGIC 0x6e6f6465u

/* A node holds two references: cycles of nodes, and through lists, dicts
 * and tuples.  `fin_node` adds a PEP 442 finalizer; `leaf` holds none. */
typedef struct node {
    OURO_HEAD;
    ouro_object *a, *b;
    uint32_t magic;
    uint32_t finalized;
} node;

static int node_traverse(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    node *n = (node *)o;
    int r = 0;
    if (n->a && (r = visit(n->a, arg)) != 0)
        return r;
    return n->b ? visit(n->b, arg) : 0;
}

static void node_clear(ouro_heap *h, ouro_object *o)
{
    ouro_clear(&((node *)o)->a);
    ouro_clear(&((node *)o)->b);
}

static void node_dealloc(ouro_heap *h, ouro_object *o)
{
    node *n = (node *)o;
    if (n->magic != NODE_MAGIC)
        t_fail(t_cur, __LINE__, "dealloc of a %s object whose magic is %#x (twice?)",
               ouro_type_name(o), n->magic);
    if (t_cur && h != t_cur->h)
        t_fail(t_cur, __LINE__, "dealloc on heap %p in the thread working on heap %p",
               (void *)h, (void *)t_cur->h);
    n->magic = 0;
    atomic_fetch_add(&g_destroyed, 1);
}

static void node_finalize(ouro_heap *h, ouro_object *o)
{
    node *n = (node *)o;
    if (n->finalized++)
        t_fail(t_cur, __LINE__, "finalizer ran twice");
    if (!t_cur || h != t_cur->h)
        t_fail(t_cur, __LINE__, "finalizer of heap %p ran outside its owning thread",
               (void *)h);
    atomic_fetch_add(&g_finalized, 1);
}

typedef struct leaf {
    OURO_HEAD;
    uint64_t payload;
    uint32_t magic;
} leaf;

static void leaf_dealloc(ouro_heap *h, ouro_object *o)
{
    leaf *l = (leaf *)o;
    if (l->magic != NODE_MAGIC)
        t_fail(t_cur, __LINE__, "dealloc of a leaf whose magic is %#x", l->magic);
    l->magic = 0;
    atomic_fetch_add(&g_destroyed, 1);
}

#define NODE_TYPE(nm, fin)                                                 \
    {                                                                      \
        .name = nm, .basic_size = sizeof(node),                            \
        .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,                     \
        .traverse = node_traverse, .clear = node_clear, .finalize = fin,   \
        .dealloc = node_dealloc                                            \
    }

static ouro_type node_type = NODE_TYPE("node", NULL);
static ouro_type fin_type = NODE_TYPE("fin_node", node_finalize);
static ouro_type leaf_type = {.name = "leaf", .basic_size = sizeof(leaf),
                              .flags = OURO_TYPE_IMMUTABLE_ATOMIC, .dealloc = leaf_dealloc};

/* Types first used at a random moment by whichever worker gets there
 * first (the stress below), and in batches by every thread at the same
 * moment (new_types_concurrently). */
#define NLAZY 64
static ouro_type lazy_types[NLAZY] = {[0 ... NLAZY - 1] = NODE_TYPE("lazy", NULL)};
#define NBATCH 24
#define BATCH 8
static ouro_type batch_types[NBATCH][BATCH] = {
    [0 ... NBATCH - 1] = {[0 ... BATCH - 1] = NODE_TYPE("fresh", NULL)}};

static ouro_object *new_node(work *w, ouro_type *t)
{
    ouro_object *o = ouro_new(w->h, t);
    if (!o) {
        t_fail(w, __LINE__, "ouro_new(%s) failed: %s", t->name,
               ouro_strerror(ouro_heap_last_error(w->h)));
        return NULL;
    }
    if (ouro_type_of(o) != t)
        t_fail(w, __LINE__, "an object of %s (%p) has type %p", t->name, (void *)t,
               (const void *)ouro_type_of(o));
    ((node *)o)->magic = NODE_MAGIC;
    atomic_fetch_add(&g_created, 1);
    if (t == &fin_type)
        atomic_fetch_add(&g_fin_created, 1);
    return o;
}

static ouro_object *new_leaf(work *w)
{
    ouro_object *o = ouro_new(w->h, &leaf_type);
    if (!o) {
        t_fail(w, __LINE__, "ouro_new(leaf) failed");
        return NULL;
    }
    ((leaf *)o)->magic = NODE_MAGIC;
    ((leaf *)o)->payload = w->rng;
    atomic_fetch_add(&g_created, 1);
    return o;
}

static int is_node(const ouro_object *o)
{
    return o && ouro_type_of(o)->traverse == node_traverse;
}

/* ------------------------------------------------- callbacks, finalizers */

static void weak_callback(ouro_heap *h, ouro_object *wr, void *arg)
{
    work *w = arg;
    if (t_cur != w || h != w->h)
        t_fail(w, __LINE__, "weak reference callback of heap %p ran in a thread working on %p",
               (void *)h, t_cur ? (void *)t_cur->h : NULL);
    if (ouro_weakref_peek(wr) != NULL)
        t_fail(w, __LINE__, "callback with the referent still reachable");
    atomic_fetch_add(&g_callbacks, 1);
}

static void wfin_fn(ouro_heap *h, void *ctx, ouro_object *arg)
{
    work *w = ctx;
    if (t_cur != w || h != w->h)
        t_fail(w, __LINE__, "weakref.finalize of heap %p ran in a thread working on %p",
               (void *)h, t_cur ? (void *)t_cur->h : NULL);
    atomic_fetch_add(&g_wfin_ran, 1);
}

/* ------------------------------------------------------------ the work */

static ouro_object *any(work *w)
{
    return w->slot[pick(w, NSLOTS)];
}

static void put(work *w, ouro_object *o) /* steals o */
{
    unsigned i = pick(w, NSLOTS);
    ouro_object *old = w->slot[i];
    w->slot[i] = o;
    ouro_xdecref(old);
}

/* One random operation on w's heap. */
static void step(work *w)
{
    ouro_heap *h = w->h;
    ouro_object *o, *x;
    switch (pick(w, 20)) {
    case 0:
    case 1:
        put(w, new_node(w, &node_type));
        break;
    case 2:
        put(w, new_node(w, &fin_type));
        break;
    case 3:
        put(w, new_leaf(w));
        break;
    case 4:
    case 5: /* a.a = b or a.b = b: cycles of nodes */
        o = any(w);
        if (is_node(o))
            ouro_setref(pick(w, 2) ? &((node *)o)->a : &((node *)o)->b, any(w));
        break;
    case 6: /* a list of slot objects, held by a node: cycles through lists */
        o = ouro_list_new(h);
        T_CHECK(w, o);
        if (!o)
            break;
        for (unsigned k = pick(w, 6); k > 0; k--)
            if ((x = any(w)) != NULL)
                T_CHECK(w, ouro_list_append(o, x) == 0);
        x = any(w);
        if (is_node(x))
            ouro_setref(&((node *)x)->b, o);
        if (pick(w, 2) && is_node(x))
            T_CHECK(w, ouro_list_append(o, x) == 0);
        put(w, o);
        break;
    case 7: /* a dict with str keys */
        o = ouro_dict_new(h);
        T_CHECK(w, o);
        if (!o)
            break;
        for (unsigned k = pick(w, 5); k > 0; k--) {
            char key[16];
            snprintf(key, sizeof key, "k%u", pick(w, 8));
            if ((x = any(w)) != NULL)
                T_CHECK(w, ouro_dict_set_str(o, key, x) == 0);
        }
        x = any(w);
        if (is_node(x))
            ouro_setref(&((node *)x)->a, o);
        put(w, o);
        break;
    case 8: { /* a tuple of an int, a str and a slot object */
        ouro_object *i = ouro_int_new(h, (int64_t)pick(w, 1000));
        ouro_object *s = ouro_str_from(h, pick(w, 2) ? "alpha" : "beta");
        x = any(w);
        o = ouro_tuple_pack(h, 3, i, s, x ? x : ouro_none(h));
        T_CHECK(w, i && s && o);
        ouro_xdecref(i);
        ouro_xdecref(s);
        put(w, o);
        break;
    }
    case 9: { /* strings, some interned in the heap's table */
        char text[24];
        snprintf(text, sizeof text, "s%u", pick(w, 40));
        o = pick(w, 2) ? ouro_str_intern(h, text, strlen(text)) : ouro_str_from(h, text);
        T_CHECK(w, o);
        put(w, o);
        break;
    }
    case 10: /* a weak reference with a callback */
        x = any(w);
        if (is_node(x)) {
            o = ouro_weakref_new(h, x, weak_callback, w);
            T_CHECK(w, o);
            put(w, o);
        }
        break;
    case 11: /* weakref.finalize on a node, holding a leaf (an argument that
              * could reach the target would keep it alive until the heap
              * is freed, and a cycle through it would then leak) */
        x = any(w);
        if (is_node(x)) {
            ouro_object *arg = pick(w, 2) ? new_leaf(w) : NULL;
            o = ouro_finalize_new(h, x, wfin_fn, w, arg);
            T_CHECK(w, o);
            if (o)
                atomic_fetch_add(&g_wfin_created, 1);
            ouro_xdecref(o); /* the heap keeps it until it runs */
            ouro_xdecref(arg);
        }
        break;
    case 12: /* a weak reference read */
        x = any(w);
        if (x && ouro_is_weakref(x)) {
            o = ouro_weakref_get(x);
            T_CHECK(w, !o || ouro_refcount(o) >= 2);
            ouro_xdecref(o);
        }
        break;
    case 13: /* a type used for the first time, perhaps by several threads */
        put(w, new_node(w, &lazy_types[pick(w, NLAZY)]));
        break;
    case 14:
    case 15:
    case 16: /* drop */
        put(w, NULL);
        break;
    case 17:
        if (pick(w, 8) == 0)
            T_CHECK(w, ouro_gc_collect(h, (int)pick(w, 3)) >= 0);
        break;
    default: /* nothing: more allocations than collections */
        break;
    }
}

static work *work_new(int thread, uint64_t seed)
{
    work *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->thread = thread;
    w->seed = seed;
    w->rng = seed * 0x9E3779B97F4A7C15ULL + 1;
    ouro_config cfg;
    ouro_config_init(&cfg);
    /* Mostly debug heaps: they abort if a thread uses a heap it does not
     * own, which is what the hand-overs below must get right. */
    cfg.debug = pick(w, 4) ? OURO_DEBUG_CHECKS : OURO_DEBUG_OFF;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    w->h = ouro_heap_new(&cfg);
    if (!w->h) {
        t_fail(w, __LINE__, "ouro_heap_new failed");
        abort();
    }
    atomic_fetch_add(&g_heaps, 1);
    /* Low thresholds: many automatic collections. */
    ouro_gc_set_threshold(w->h, 20 + (int)pick(w, 200), 3, 3);
    if (pick(w, 4) == 0 && !ouro_trace_is_tracing(w->h))
        T_CHECK(w, ouro_trace_start(w->h, pick(w, 2) ? 1 : 4) == 0);
    return w;
}

static int count_mortal(ouro_object *o, void *arg)
{
    if (!ouro_is_immortal(o))
        (*(size_t *)arg)++;
    return 0;
}

/* The end of a heap: released, collected, checked, empty, freed. */
static void work_finish(work *w)
{
    T_CHECK(w, ouro_heap_check(w->h) == 0);
    if (ouro_trace_is_tracing(w->h)) {
        atomic_fetch_add(&g_traced, 1);
        if (pick(w, 3) == 0) {
            ouro_snapshot *s = ouro_trace_take_snapshot(w->h);
            T_CHECK(w, s != NULL);
            ouro_snapshot_free(s);
            atomic_fetch_add(&g_snapshots, 1);
        }
    }
    for (int i = 0; i < NSLOTS; i++)
        ouro_clear(&w->slot[i]);
    ouro_gc_collect(w->h, 2);
    T_CHECK(w, ouro_heap_check(w->h) == 0);
    size_t live = 0;
    ouro_heap_walk(w->h, count_mortal, &live);
    if (live)
        t_fail(w, __LINE__, "%zu objects alive after the roots were dropped", live);
    int rc = ouro_heap_free(w->h);
    if (rc != 0)
        t_fail(w, __LINE__, "ouro_heap_free returned %d", rc);
    free(w);
}

/* ------------------------------------------------- the hand-over queue */

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond = PTHREAD_COND_INITIALIZER;
static work *q_head;
static int q_producers; /* workers still in their rounds */

/* How a heap is handed over (ouro.h, "Thread ownership"), chosen from the
 * heap's own sequence: 0 disown + set_owner, 1 disown only (the receiver's
 * first use takes it), 2 set_owner only. */
static int handover_mode(work *w) { return (int)(w->seed % 3); }

static void give(work *w)
{
    if (handover_mode(w) != 2)
        T_CHECK(w, ouro_heap_disown(w->h) == 0);
    pthread_mutex_lock(&q_lock);
    w->next = q_head;
    q_head = w;
    pthread_cond_signal(&q_cond);
    pthread_mutex_unlock(&q_lock);
    atomic_fetch_add(&g_handed, 1);
}

static work *take(int wait)
{
    pthread_mutex_lock(&q_lock);
    while (wait && !q_head && q_producers > 0)
        pthread_cond_wait(&q_cond, &q_lock);
    work *w = q_head;
    if (w)
        q_head = w->next;
    pthread_mutex_unlock(&q_lock);
    return w;
}

/* A heap received from another thread: owned, worked on, freed. */
static void receive(work *w, int ops)
{
    atomic_fetch_add(&g_received, 1);
    if (handover_mode(w) != 1)
        T_CHECK(w, ouro_heap_set_owner(w->h) == 0);
    t_cur = w;
    for (int i = 0; i < ops; i++)
        step(w);
    work_finish(w);
    t_cur = NULL;
}

/* The built-in types are registered by the first thread that makes one,
 * once per process.  Every worker starts here at the same moment (a
 * barrier), each making the built-in objects in another order and asking
 * every type check about each, so that one thread's first list is made
 * while others ask "is this a list?" about their own objects. */
static pthread_barrier_t g_start;

static void first_touch(work *w)
{
    ouro_heap *h = w->h;
    enum { KINDS = 8 };
    for (int k = 0; k < KINDS; k++) {
        ouro_object *o = NULL, *t = NULL;
        switch ((k + t_id) % KINDS) {
        case 0: o = ouro_list_new(h); break;
        case 1: o = ouro_dict_new(h); break;
        case 2: o = ouro_tuple_pack(h, 1, ouro_none(h)); break;
        case 3: o = ouro_str_from(h, "first"); break;
        case 4: o = ouro_set_new(h); break;
        case 5: o = ouro_wset_new(h); break;
        case 6: o = ouro_float_new(h, 1.5); break;
        case 7:
            t = new_node(w, &node_type);
            o = t ? ouro_weakref_new(h, t, weak_callback, w) : NULL;
            break;
        }
        T_CHECK(w, o != NULL);
        if (!o)
            continue;
        /* Exactly one check says yes (none for the WeakSet, which has no
         * check of its own). */
        int kinds = ouro_list_check(o) + ouro_dict_check(o) + ouro_tuple_check(o) +
                    ouro_str_check(o) + ouro_set_check(o) + ouro_float_check(o) +
                    ouro_is_weakref(o);
        if (kinds != ((k + t_id) % KINDS == 5 ? 0 : 1))
            t_fail(w, __LINE__, "a %s passes %d type checks", ouro_type_name(o), kinds);
        ouro_decref(o);
        ouro_xdecref(t);
    }
    ouro_gc_collect(h, 0);
}

/* ------------------------------------------------------------ workers */

typedef struct worker {
    int id;
    int rounds;
    int ops;
} worker;

static void *worker_main(void *p)
{
    worker *wk = p;
    t_id = wk->id;
    for (int r = 0; r < wk->rounds; r++) {
        work *in = take(0);
        if (in)
            receive(in, wk->ops / 2);
        work *w = work_new(wk->id, g_seed * 1000003u + (uint64_t)wk->id * 1000u + (uint64_t)r);
        t_cur = w;
        if (r == 0) {
            pthread_barrier_wait(&g_start);
            first_touch(w);
        }
        for (int i = 0; i < wk->ops; i++)
            step(w);
        T_CHECK(w, ouro_heap_check(w->h) == 0);
        t_cur = NULL;
        if (pick(w, 3) == 0)
            give(w); /* with everything in it still alive */
        else {
            t_cur = w;
            work_finish(w);
            t_cur = NULL;
        }
    }
    pthread_mutex_lock(&q_lock);
    if (--q_producers == 0)
        pthread_cond_broadcast(&q_cond);
    pthread_mutex_unlock(&q_lock);
    work *in;
    while ((in = take(1)) != NULL)
        receive(in, wk->ops / 2);
    return NULL;
}

/* ------------------------------------------------- process-wide hooks */

/* Four hooks, each expecting its own argument: the hook thread adds and
 * removes them so that freed slots of the table are reused by another
 * (function, argument) pair while heaps are being created. */
static int hook_args[4];
static atomic_int g_hooks_stop;

#define HOOK_FN(k)                                                         \
    static void hook_##k(ouro_heap *h, void *arg)                          \
    {                                                                      \
        if (arg != &hook_args[k])                                          \
            atomic_fetch_add(&g_hook_bad, 1);                              \
        atomic_fetch_add(&g_hook_calls, 1);                                \
    }
HOOK_FN(0)
HOOK_FN(1)
HOOK_FN(2)
/* The fourth starts tracing on the new heap, as the profiling layer's
 * OURO_TRACEMALLOC hook does. */
static void hook_3(ouro_heap *h, void *arg)
{
    if (arg != &hook_args[3])
        atomic_fetch_add(&g_hook_bad, 1);
    atomic_fetch_add(&g_hook_calls, 1);
    ouro_trace_start(h, 1);
}
static const ouro_heap_hook hooks[4] = {hook_0, hook_1, hook_2, hook_3};

static void *hook_main(void *p)
{
    uint64_t s = g_seed ^ 0xabcdefULL;
    int rounds = 0;
    while (!atomic_load(&g_hooks_stop)) {
        int k = (int)(rnd(&s) % 4);
        if (rnd(&s) % 2)
            ouro_heap_hook_add(hooks[k], &hook_args[k]);
        else
            ouro_heap_hook_remove(hooks[k], &hook_args[k]);
        /* A few heaps from this thread too, created and freed at once. */
        if (++rounds % 64 == 0) {
            ouro_heap *h = ouro_heap_new(NULL);
            if (h && ouro_heap_free(h) != 0)
                atomic_fetch_add(&g_failures, 1);
        }
        if (rounds % 8 == 0)
            sched_yield();
    }
    for (int k = 0; k < 4; k++)
        ouro_heap_hook_remove(hooks[k], &hook_args[k]);
    return NULL;
}

/* ------------------------------------------------------------ the tests */

static int nthreads(void)
{
    return RUNNING_ON_VALGRIND ? 4 : 6;
}

static void reset_counters(void)
{
    const char *s = getenv("OURO_THREADS_SEED");
    if (s && *s)
        g_seed = strtoull(s, NULL, 10);
    atomic_store(&g_created, 0);
    atomic_store(&g_destroyed, 0);
    atomic_store(&g_failures, 0);
}

TEST(stress_heaps_across_threads)
{
    reset_counters();
    int n = nthreads();
    int rounds = BASE_ROUNDS * scale(), ops = BASE_OPS;
    if (RUNNING_ON_VALGRIND) {
        rounds = 3;
        ops = 400;
    }
    worker wk[MAX_THREADS];
    pthread_t t[MAX_THREADS], ht;
    q_producers = n;
    CHECK_EQ(pthread_barrier_init(&g_start, NULL, (unsigned)n), 0);
    atomic_store(&g_hooks_stop, 0);
    CHECK_EQ(pthread_create(&ht, NULL, hook_main, NULL), 0);
    for (int i = 0; i < n; i++) {
        wk[i] = (worker){i, rounds, ops};
        CHECK_EQ(pthread_create(&t[i], NULL, worker_main, &wk[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    atomic_store(&g_hooks_stop, 1);
    pthread_join(ht, NULL);
    pthread_barrier_destroy(&g_start);
    printf("     %d threads, seed %llu: %ld heaps (%ld handed over, %ld traced, %ld "
           "snapshots), %ld objects of the test's types, %ld finalizers, %ld "
           "weakref.finalize, %ld callbacks, %ld hook calls\n",
           n, (unsigned long long)g_seed, atomic_load(&g_heaps), atomic_load(&g_handed),
           atomic_load(&g_traced), atomic_load(&g_snapshots), atomic_load(&g_created),
           atomic_load(&g_finalized), atomic_load(&g_wfin_ran), atomic_load(&g_callbacks),
           atomic_load(&g_hook_calls));
    if (atomic_load(&g_failures))
        fprintf(stderr, "stress_heaps_across_threads: base seed %llu\n",
                (unsigned long long)g_seed);
    CHECK_EQ(atomic_load(&g_failures), 0);
    CHECK(q_head == NULL);
    CHECK_EQ(atomic_load(&g_handed), atomic_load(&g_received));
    CHECK_EQ(atomic_load(&g_created), atomic_load(&g_destroyed));
    CHECK_EQ(atomic_load(&g_fin_created), atomic_load(&g_finalized));
    CHECK_EQ(atomic_load(&g_wfin_created), atomic_load(&g_wfin_ran));
    CHECK_EQ(atomic_load(&g_hook_bad), 0);
    CHECK(atomic_load(&g_handed) > 0);
}

/* Every thread uses the same never-used types at the same moment (a
 * barrier before each batch): each descriptor gets exactly one id, the
 * same in every thread, distinct from every other type's, and every
 * object made with it reports it as its type. */
typedef struct batch_arg {
    int id;
    uint32_t ids[NBATCH][BATCH];
} batch_arg;

static pthread_barrier_t g_barrier;

static void *batch_main(void *p)
{
    batch_arg *a = p;
    t_id = a->id;
    work w = {.seed = g_seed + (uint64_t)a->id};
    w.h = ouro_heap_new(NULL);
    if (!w.h) {
        t_fail(&w, __LINE__, "ouro_heap_new failed");
        abort();
    }
    t_cur = &w;
    for (int b = 0; b < NBATCH; b++) {
        pthread_barrier_wait(&g_barrier);
        for (int k = 0; k < BATCH; k++) {
            /* Each thread starts at another type of the batch. */
            ouro_type *t = &batch_types[b][(k + a->id) % BATCH];
            ouro_object *o = new_node(&w, t);
            if (!o)
                continue;
            a->ids[b][(k + a->id) % BATCH] = t->id;
            ouro_decref(o);
        }
    }
    t_cur = NULL;
    T_CHECK(&w, ouro_heap_check(w.h) == 0);
    T_CHECK(&w, ouro_heap_free(w.h) == 0);
    return NULL;
}

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

TEST(new_types_concurrently)
{
    reset_counters();
    int n = nthreads();
    static batch_arg args[MAX_THREADS];
    pthread_t t[MAX_THREADS];
    CHECK_EQ(pthread_barrier_init(&g_barrier, NULL, (unsigned)n), 0);
    for (int i = 0; i < n; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].id = i;
        CHECK_EQ(pthread_create(&t[i], NULL, batch_main, &args[i]), 0);
    }
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&g_barrier);
    CHECK_EQ(atomic_load(&g_failures), 0);
    static uint32_t all[NBATCH * BATCH];
    for (int b = 0; b < NBATCH; b++)
        for (int k = 0; k < BATCH; k++) {
            uint32_t id = batch_types[b][k].id;
            CHECK(id != 0);
            for (int i = 0; i < n; i++)
                CHECK_EQ(args[i].ids[b][k], id);
            all[b * BATCH + k] = id;
        }
    qsort(all, NBATCH * BATCH, sizeof all[0], cmp_u32);
    for (int i = 1; i < NBATCH * BATCH; i++)
        CHECK(all[i] != all[i - 1]);
    CHECK_EQ(atomic_load(&g_created), n * NBATCH * BATCH);
    CHECK_EQ(atomic_load(&g_created), atomic_load(&g_destroyed));
}
