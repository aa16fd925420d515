/*
 * w11_threads.c — workload 11: threads.  Every case but otrees allocates
 * raw blocks, ouro_raw_alloc and ouro_raw_free against the peers' malloc
 * and free; otrees is binary-trees with ouro objects, the shared heap
 * against the single-thread heap.
 *
 *   pairs SIZE N        W6's alloc+free pairs on one thread (stopping early
 *                       after 2 s), then the same with one other block kept
 *                       allocated (live1_ns_per_op): ouro on a shared heap
 *                       against ouro_single, the ordinary heap
 *   prodcons SIZE N     one producer thread allocates N blocks of SIZE
 *                       bytes and writes a pattern in each; it passes them
 *                       in batches of 64 pointers through a bounded queue
 *                       (a mutex and two condition variables, the same for
 *                       every peer) to one consumer thread, which checks
 *                       the pattern and frees them: every free is a free
 *                       from another thread.  @ns_per_op is wall time / N
 *   oprodcons SIZE N    (ouro) the same with objects: the producer makes
 *                       each with ouro_new (a non-collected type of SIZE
 *                       bytes, header included), the consumer drops the
 *                       one reference with ouro_decref, so every object
 *                       dies by a release in another thread (biased
 *                       reference counting's queue to its owner)
 *   trees N THREADS     binary-trees N (CLBG rules, w1_binarytrees.c's
 *                       16-byte nodes: two child pointers) with its trees
 *                       of depth 4, 6, ..., N built and dropped by THREADS
 *                       worker threads: each depth's iterations are cut in
 *                       16 chunks of equal work that the threads take from
 *                       a shared counter, as the CLBG parallel versions
 *                       share out the depths; the stretch and long-lived
 *                       trees are the main thread's.  @time_s is wall time
 *   opairs SIZE N       (ouro and ouro_single) W6's "ouro obj" pairs on one
 *                       thread: ouro_new of a non-collected type of SIZE
 *                       bytes and ouro_decref, then the same with one other
 *                       object kept alive (live1_ns_per_op)
 *   otrees N THREADS    (ouro and ouro_single) the same binary-trees with
 *                       ouro objects: bench/onode.h's node, a tracked
 *                       object with two references (W1's), default
 *                       settings, automatic collection on; the tree is
 *                       dropped with ouro_decref.  @time_s is wall time,
 *                       @collections the collections of all generations,
 *                       @gc_s their time (each from its callbacks' "start"
 *                       to "stop": on the shared heap, the world stopped)
 *   stop THREADS ROUNDS [GAP_US]
 *                       (ouro only) THREADS workers allocate and free small
 *                       blocks without a pause while the main thread stops
 *                       the world ROUNDS times (ouro_heap_check), sleeping
 *                       GAP_US (default 1000) parked between; then the
 *                       library's figures of how long the stops waited,
 *                       from the request until every other thread stopped
 *                       (ouro_heap_get_thread_stats, read before the first
 *                       round and after the last: @stop_wait_mean_us over
 *                       those ROUNDS + 1 stops, @stop_wait_max_us), and
 *                       the whole ouro_heap_check call as the main thread
 *                       saw it (@call_p50_us, @call_max_us: the wait,
 *                       which after a stop that passed over a thread
 *                       includes the time until every thread that stop
 *                       stopped has run again, and the check itself);
 *                       @passed_over, the threads the stops did not wait
 *                       for (stopped by the stop before, not run since),
 *                       and @stop_streak_max, the most stops in a row a
 *                       thread stayed stopped for
 *
 * Peers: glibc, mimalloc, jemalloc (peer.h, malloc and free from every
 * thread); ouro, ONE shared heap (cfg.shared = 1) that every thread
 * attaches to; ouro_single (PEER_OURO_SINGLE), an ordinary heap, for the
 * one-thread cases (pairs, trees 1: the worker thread is handed the heap
 * with ouro_heap_disown / ouro_heap_set_owner).  Threads of ouro park
 * around every blocking call (a condition variable wait, pthread_join),
 * as the shared heap's protocol asks.
 *
 * @check lines: pairs, opairs: the size (ouro adds "shared", read from
 * ouro_heap_is_shared); prodcons: blocks and sum of sequence numbers
 * received, blocks with a wrong pattern (ouro adds the thread statistics'
 * remote_frees and remote_pending, and bytes_in_use after ouro_heap_trim:
 * N, 0 and 0); trees: the binary-trees text is the check; stop: the
 * stops counted (ROUNDS + 1), failed heap checks, threads attached.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>

#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
#include "common.h"
#include "ouro.h"
#include "onode.h"
static ouro_heap *peer_heap;
#if defined(PEER_OURO)
#define PEER_NAME "ouro"
#define PEER_SHARED 1
static void peer_init(void)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.shared = 1;
    peer_heap = ouro_heap_new(&cfg); /* attaches the main thread */
    if (!peer_heap)
        bench_die("ouro_heap_new failed");
    if (!ouro_heap_is_shared(peer_heap))
        bench_die("cfg.shared = 1 did not make a shared heap");
    printf("@peer ouro %s (shared heap)\n", ouro_version());
}
/* A worker thread attaches to the shared heap, and parks around blocking
 * calls (the main thread too, around pthread_join). */
static void peer_thread_enter(void)
{
    int rc = ouro_thread_attach(peer_heap);
    if (rc != 0) {
        fprintf(stderr, "bench: ouro_thread_attach: %s\n", ouro_strerror(rc));
        exit(2);
    }
}
static void peer_thread_leave(void)
{
    if (ouro_thread_detach(peer_heap) != 0)
        bench_die("ouro_thread_detach failed");
}
static void peer_wait_begin(void)
{
    if (ouro_thread_park(peer_heap) != 0)
        bench_die("ouro_thread_park failed");
}
static void peer_wait_end(void)
{
    if (ouro_thread_unpark(peer_heap) != 0)
        bench_die("ouro_thread_unpark failed");
}
#else
#define PEER_NAME "ouro_single"
static void peer_init(void)
{
    peer_heap = ouro_heap_new(NULL);
    if (!peer_heap)
        bench_die("ouro_heap_new failed");
    printf("@peer ouro %s (single-thread heap)\n", ouro_version());
}
/* One worker at a time: the heap is handed over and back. */
static void peer_thread_enter(void) { ouro_heap_set_owner(peer_heap); }
static void peer_thread_leave(void) { ouro_heap_disown(peer_heap); }
static void peer_wait_begin(void) { ouro_heap_disown(peer_heap); }
static void peer_wait_end(void) { ouro_heap_set_owner(peer_heap); }
#endif
static inline void *peer_alloc(size_t n) { return ouro_raw_alloc(peer_heap, n); }
static inline void peer_free(void *p) { ouro_raw_free(peer_heap, p); }

#else
#include "peer.h"
#if defined(PEER_COLLECTS) || defined(PEER_CPYTHON)
#error "w11_threads is built for the malloc peers and ouro"
#endif
static void peer_thread_enter(void) {}
static void peer_thread_leave(void) {}
static void peer_wait_begin(void) {}
static void peer_wait_end(void) {}
#endif

static void start_thread(pthread_t *t, void *(*fn)(void *), void *arg)
{
    if (pthread_create(t, NULL, fn, arg) != 0)
        bench_die("pthread_create failed");
}

/* Run fn in n threads and wait for them all, the main thread parked (it
 * blocks outside the heap; the single-thread heap is handed over) from
 * before the first thread starts until the last has ended. */
static void run_threads(void *(*fn)(void *), int n)
{
    pthread_t t[64];
    if (n < 1 || n > 64)
        bench_die("1 to 64 threads");
    peer_wait_begin();
    for (int i = 0; i < n; i++)
        start_thread(&t[i], fn, NULL);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    peer_wait_end();
}

/* ---------------------------------------------------------------- pairs */

/* W6's loop (w6_alloc.c pair_loop): up to n pairs, stopping early once
 * `budget` seconds have passed; returns the pairs done. */
static long pair_loop(size_t size, long n, double budget, double *elapsed)
{
    double t0 = bench_now();
    long done = 0;
    while (done < n) {
        long chunk = n - done < 4096 ? n - done : 4096;
        for (long i = 0; i < chunk; i++) {
            void *p = peer_alloc(size);
            if (__builtin_expect(!p, 0))
                bench_die("out of memory");
            ((volatile unsigned char *)p)[0] = 1;
            bench_escape(p);
            peer_free(p);
        }
        done += chunk;
        if (bench_now() - t0 > budget)
            break;
    }
    *elapsed = bench_now() - t0;
    return done;
}

static void run_pairs(size_t size, long n)
{
    void *w = peer_alloc(size); /* the first pool, untimed, as in W6 */
    peer_free(w);
    double t, t_live;
    long done = pair_loop(size, n, 2.0, &t);
    void *keep = peer_alloc(size);
    long done_live = pair_loop(size, n, 2.0, &t_live);
    bench_escape(keep);
    peer_free(keep);
    bench_result("time_s", t);
    bench_result("pairs", (double)done);
    bench_result("ns_per_op", t * 1e9 / (double)done);
    bench_result("live1_ns_per_op", t_live * 1e9 / (double)done_live);
#if defined(PEER_SHARED)
    bench_check("pairs %zu%s", size, ouro_heap_is_shared(peer_heap) ? " shared" : "");
#else
    bench_check("pairs %zu", size);
#endif
}

#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
/* ---------------------------------------------------------------- opairs */

/* W6's "ouro obj" pairs: ouro_new of a non-collected type of the size and
 * ouro_decref, the object path without the collector's list. */
static ouro_type opair_type = {.name = "block", .basic_size = 16};

static long opair_loop(long n, double budget, double *elapsed)
{
    double t0 = bench_now();
    long done = 0;
    while (done < n) {
        long chunk = n - done < 4096 ? n - done : 4096;
        for (long i = 0; i < chunk; i++) {
            ouro_object *o = ouro_new(peer_heap, &opair_type);
            if (__builtin_expect(!o, 0))
                bench_die("out of memory");
            if (opair_type.basic_size > sizeof(ouro_object))
                ((volatile unsigned char *)o)[sizeof(ouro_object)] = 1;
            bench_escape(o);
            ouro_decref(o);
        }
        done += chunk;
        if (bench_now() - t0 > budget)
            break;
    }
    *elapsed = bench_now() - t0;
    return done;
}

static void run_opairs(size_t size, long n)
{
    if (size < sizeof(ouro_object))
        bench_die("opairs: SIZE must be at least the 16-byte header");
    opair_type.basic_size = size;
    ouro_decref(ouro_new(peer_heap, &opair_type)); /* the first pool, untimed */
    double t, t_live;
    long done = opair_loop(n, 2.0, &t);
    ouro_object *keep = ouro_new(peer_heap, &opair_type);
    long done_live = opair_loop(n, 2.0, &t_live);
    bench_escape(keep);
    ouro_decref(keep);
    bench_result("time_s", t);
    bench_result("pairs", (double)done);
    bench_result("ns_per_op", t * 1e9 / (double)done);
    bench_result("live1_ns_per_op", t_live * 1e9 / (double)done_live);
    bench_check("opairs %zu%s", size, ouro_heap_is_shared(peer_heap) ? " shared" : "");
}
#endif

/* ---------------------------------------------------------------- prodcons */

enum { BATCH = 64, QBATCHES = 16 };

typedef struct queue {
    pthread_mutex_t mu;
    pthread_cond_t nonempty, nonfull;
    void *slot[QBATCHES][BATCH]; /* full batches, a ring */
    unsigned head, count;
    long waits; /* times a thread found the queue full or empty and slept */
} queue;

static queue q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER,
                  PTHREAD_COND_INITIALIZER, {{0}}, 0, 0, 0};
static size_t pc_size;
static long pc_n;
static uint64_t pc_sum, pc_received, pc_bad;
/* oprodcons: ouro objects instead of blocks, their words after the
 * header (pc_first: the index of the first) */
static int pc_objects;
static size_t pc_first;
#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
static ouro_type pc_type = {.name = "message", .basic_size = 16};
#endif

static uint64_t *pc_alloc(void)
{
#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
    if (pc_objects)
        return (uint64_t *)ouro_new(peer_heap, &pc_type);
#endif
    return peer_alloc(pc_size);
}

static void pc_free(uint64_t *p)
{
#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
    if (pc_objects) {
        ouro_decref((ouro_object *)p);
        return;
    }
#endif
    peer_free(p);
}

#define PATTERN 0x5bd1e9955bd1e995ULL

static void queue_put(void **batch)
{
    pthread_mutex_lock(&q.mu);
    while (q.count == QBATCHES) {
        q.waits++;
        peer_wait_begin();
        pthread_cond_wait(&q.nonfull, &q.mu);
        peer_wait_end();
    }
    memcpy(q.slot[(q.head + q.count) % QBATCHES], batch, sizeof q.slot[0]);
    q.count++;
    pthread_cond_signal(&q.nonempty);
    pthread_mutex_unlock(&q.mu);
}

static void queue_get(void **batch)
{
    pthread_mutex_lock(&q.mu);
    while (q.count == 0) {
        q.waits++;
        peer_wait_begin();
        pthread_cond_wait(&q.nonempty, &q.mu);
        peer_wait_end();
    }
    memcpy(batch, q.slot[q.head], sizeof q.slot[0]);
    q.head = (q.head + 1) % QBATCHES;
    q.count--;
    pthread_cond_signal(&q.nonfull);
    pthread_mutex_unlock(&q.mu);
}

/* The block's first word is its sequence number, its last word the number
 * scrambled: a block handed out twice or overwritten is seen. */
static void *producer(void *arg)
{
    (void)arg;
    peer_thread_enter();
    void *batch[BATCH];
    size_t last = pc_size / 8 - 1, first = pc_first;
    int k = 0;
    for (long i = 0; i < pc_n; i++) {
        uint64_t *p = pc_alloc();
        if (__builtin_expect(!p, 0))
            bench_die("out of memory");
        p[first] = (uint64_t)i;
        p[last] = (uint64_t)i ^ PATTERN;
        batch[k++] = p;
        if (k == BATCH) {
            queue_put(batch);
            k = 0;
        }
    }
    for (; k < BATCH; k++)
        batch[k] = NULL; /* the last batch, padded with NULL: the end mark */
    queue_put(batch);   /* (all NULL when N is a multiple of BATCH) */
    peer_thread_leave();
    return NULL;
}

static void *consumer(void *arg)
{
    (void)arg;
    peer_thread_enter();
    void *batch[BATCH];
    size_t last = pc_size / 8 - 1, first = pc_first;
    uint64_t sum = 0, received = 0, bad = 0;
    for (;;) {
        queue_get(batch);
        int k;
        for (k = 0; k < BATCH && batch[k]; k++) {
            uint64_t *p = batch[k];
            if (p[last] != (p[first] ^ PATTERN))
                bad++;
            sum += p[first];
            received++;
            pc_free(p);
        }
        if (k < BATCH)
            break;
    }
    pc_sum = sum;
    pc_received = received;
    pc_bad = bad;
    peer_thread_leave();
    return NULL;
}

static atomic_int pc_started;

static void *prodcons_thread(void *arg)
{
    return atomic_fetch_add(&pc_started, 1) == 0 ? consumer(arg) : producer(arg);
}

static void run_prodcons(size_t size, long n, int objects)
{
#if defined(PEER_OURO_SINGLE)
    bench_die("prodcons needs a heap two threads can use (the ouro peer's shared heap)");
#endif
    if (size < (objects ? 32 : 16))
        bench_die("prodcons: SIZE must be at least 16 (32 for objects)");
    pc_size = size & ~(size_t)7;
    pc_n = n;
    pc_objects = objects;
#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
    pc_first = objects ? sizeof(ouro_object) / 8 : 0;
    pc_type.basic_size = pc_size;
#endif
    double t0 = bench_now();
    run_threads(prodcons_thread, 2);
    double wall = bench_now() - t0;
    bench_result("time_s", wall);
    bench_result("ns_per_op", wall * 1e9 / (double)n);
    bench_result("queue_waits", (double)q.waits);
#if defined(PEER_SHARED)
    ouro_thread_stats ts = {.struct_size = sizeof ts};
    if (ouro_heap_get_thread_stats(peer_heap, &ts) != 0)
        bench_die("ouro_heap_get_thread_stats failed");
    bench_result("remote_frees", (double)ts.remote_frees);
    bench_result("peak_threads", (double)ts.peak_threads);
    ouro_heap_trim(peer_heap);
    ouro_heap_stats hs = {.struct_size = offsetof(ouro_heap_stats, class_size)};
    if (ouro_heap_get_stats(peer_heap, &hs) != 0)
        bench_die("ouro_heap_get_stats failed");
    ouro_thread_stats ts2 = {.struct_size = sizeof ts2};
    ouro_heap_get_thread_stats(peer_heap, &ts2);
    if (objects) {
        /* every object died in its owner's thread, after the consumer's
         * release queued it there: no block was freed by another thread */
        bench_check("oprodcons %zu %ld received %" PRIu64 " sum %" PRIu64 " bad %" PRIu64
                    " objects %zu pending %" PRIu64 " in_use %zu",
                    size, n, pc_received, pc_sum, pc_bad, hs.objects, ts2.remote_pending,
                    hs.bytes_in_use);
        return;
    }
    bench_check("prodcons %zu %ld received %" PRIu64 " sum %" PRIu64 " bad %" PRIu64
                " remote_frees %" PRIu64 " pending %" PRIu64 " in_use %zu",
                size, n, pc_received, pc_sum, pc_bad, ts.remote_frees, ts2.remote_pending,
                hs.bytes_in_use);
#else
    bench_check("prodcons %zu %ld received %" PRIu64 " sum %" PRIu64 " bad %" PRIu64, size, n,
                pc_received, pc_sum, pc_bad);
#endif
}

/* ---------------------------------------------------------------- trees */

#include "tnode.h" /* W1's raw node: bottom_up, check, drop */

/* What a tree is made of: raw nodes (trees) or ouro objects (otrees). */
typedef struct tree_ops {
    void *(*make)(int depth);
    long (*count)(const void *t);
    void (*release)(void *t);
} tree_ops;

static void *raw_make(int depth) { return bottom_up(depth); }
static long raw_count(const void *t) { return check(t); }
static void raw_release(void *t) { drop(t); }
static const tree_ops raw_tree = {raw_make, raw_count, raw_release};

#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
/* bench/onode.h's node (W1's: a tracked object with two references),
 * default settings, automatic collection on; dropped with ouro_decref. */
static void *obj_make(int depth) { return onode_bottom_up(peer_heap, depth); }
static long obj_count(const void *t) { return onode_check(t); }
static void obj_release(void *t) { ouro_decref(t); }
static const tree_ops obj_tree = {obj_make, obj_count, obj_release};

/* Every collection timed from its "start" callback to its "stop" one, in
 * the collecting thread (on the shared heap, the time the world was
 * stopped for collections, apart from the stop's wait and the finalizers
 * and callbacks it runs with the world running: otrees has none). */
static double gc_t0, gc_total;
static void time_collections(ouro_heap *h, const char *phase, const ouro_gc_info *info,
                             void *arg)
{
    (void)h, (void)info, (void)arg;
    if (phase[2] == 'a') /* "start" */
        gc_t0 = bench_now();
    else
        gc_total += bench_now() - gc_t0;
}
#endif

enum { MIN_DEPTH = 4, CHUNKS = 16, MAX_DEPTHS = 32 };

static const tree_ops *tr_ops;
static int tr_max_depth, tr_ndepths;
static atomic_long tr_next;          /* the next chunk to take */
static atomic_long tr_sum[MAX_DEPTHS]; /* check sums per depth */

static void *tree_worker(void *arg)
{
    (void)arg;
    peer_thread_enter();
    long local[MAX_DEPTHS] = {0};
    for (;;) {
        long c = atomic_fetch_add_explicit(&tr_next, 1, memory_order_relaxed);
        if (c >= (long)tr_ndepths * CHUNKS)
            break;
        int di = (int)(c / CHUNKS), d = MIN_DEPTH + 2 * di;
        long iterations = 1L << (tr_max_depth - d + MIN_DEPTH);
        for (long i = 0; i < iterations / CHUNKS; i++) {
            void *t = tr_ops->make(d);
            local[di] += tr_ops->count(t);
            tr_ops->release(t);
        }
    }
    for (int i = 0; i < tr_ndepths; i++)
        atomic_fetch_add(&tr_sum[i], local[i]);
    peer_thread_leave();
    return NULL;
}

static void run_trees(const tree_ops *ops, int n, int threads)
{
#if defined(PEER_OURO_SINGLE)
    if (threads != 1)
        bench_die("trees: the single-thread heap runs with THREADS = 1 only");
#endif
    if (threads < 1 || threads > 64)
        bench_die("trees: THREADS must be 1..64");
    int max_depth = n < MIN_DEPTH + 2 ? MIN_DEPTH + 2 : n;
    if ((max_depth - MIN_DEPTH) / 2 + 1 > MAX_DEPTHS)
        bench_die("trees: N out of range");
    tr_ops = ops;
    tr_max_depth = max_depth;
    tr_ndepths = (max_depth - MIN_DEPTH) / 2 + 1;
#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
    if (ops != &raw_tree && ouro_gc_callback_add(peer_heap, time_collections, NULL) != 0)
        bench_die("ouro_gc_callback_add failed");
#endif
    double t0 = bench_now();

    int stretch = max_depth + 1;
    void *t = ops->make(stretch);
    printf("stretch tree of depth %d\t check: %ld\n", stretch, ops->count(t));
    ops->release(t);

    void *long_lived = ops->make(max_depth);
    run_threads(tree_worker, threads);
    for (int i = 0; i < tr_ndepths; i++) {
        int d = MIN_DEPTH + 2 * i;
        printf("%ld\t trees of depth %d\t check: %ld\n", 1L << (max_depth - d + MIN_DEPTH), d,
               atomic_load(&tr_sum[i]));
    }
    printf("long lived tree of depth %d\t check: %ld\n", max_depth, ops->count(long_lived));
    ops->release(long_lived);
    bench_result("time_s", bench_now() - t0);
    bench_result("threads", threads);
#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
    if (ops != &raw_tree) {
        ouro_gc_gen_stats st[OURO_GC_GENERATIONS];
        ouro_gc_get_stats(peer_heap, st);
        bench_result("collections", (double)(st[0].collections + st[1].collections +
                                             st[2].collections));
        bench_result("gc_s", gc_total);
    }
#endif
}

/* ---------------------------------------------------------------- stop */

#if defined(PEER_SHARED)
static atomic_int st_quit, st_attached;
static atomic_long st_ops;

static void *stop_worker(void *arg)
{
    (void)arg;
    peer_thread_enter();
    atomic_fetch_add(&st_attached, 1);
    enum { LIVE = 64 };
    void *live[LIVE] = {0};
    long ops = 0;
    while (!atomic_load_explicit(&st_quit, memory_order_relaxed)) {
        for (int i = 0; i < 256; i++, ops++) {
            unsigned k = (unsigned)ops % LIVE;
            if (live[k])
                peer_free(live[k]);
            size_t size = 16 + 16 * ((unsigned)ops % 4);
            unsigned char *p = peer_alloc(size);
            if (__builtin_expect(!p, 0))
                bench_die("out of memory");
            p[0] = (unsigned char)ops;
            live[k] = p;
        }
    }
    for (int k = 0; k < LIVE; k++)
        if (live[k])
            peer_free(live[k]);
    atomic_fetch_add(&st_ops, ops);
    peer_thread_leave();
    return NULL;
}

static void run_stop(int threads, long rounds, long gap_us)
{
    if (threads < 1 || threads > 200)
        bench_die("stop: THREADS must be 1..200");
    double *call = calloc((size_t)rounds, sizeof *call);
    pthread_t *tid = calloc((size_t)threads, sizeof *tid);
    if (!call || !tid)
        bench_die("out of memory");
    for (int i = 0; i < threads; i++)
        start_thread(&tid[i], stop_worker, NULL);
    while (atomic_load(&st_attached) < threads) {
        peer_wait_begin();
        usleep(1000);
        peer_wait_end();
    }
    /* The figures count from here: ouro_heap_new's own stop (its schedule
     * set with no other thread attached) and the workers' start are out. */
    ouro_thread_stats ts0 = {.struct_size = sizeof ts0};
    if (ouro_heap_get_thread_stats(peer_heap, &ts0) != 0)
        bench_die("ouro_heap_get_thread_stats failed");
    long failed = 0;
    struct timespec gap = {gap_us / 1000000, gap_us % 1000000 * 1000};
    for (long r = 0; r < rounds; r++) {
        double t0 = bench_now();
        if (ouro_heap_check(peer_heap) != 0)
            failed++;
        call[r] = bench_now() - t0;
        peer_wait_begin();
        nanosleep(&gap, NULL);
        peer_wait_end();
    }
    /* Read while the workers still run: this stop is one of the figures. */
    ouro_thread_stats ts = {.struct_size = sizeof ts};
    if (ouro_heap_get_thread_stats(peer_heap, &ts) != 0)
        bench_die("ouro_heap_get_thread_stats failed");
    atomic_store(&st_quit, 1);
    peer_wait_begin();
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    peer_wait_end();
    qsort(call, (size_t)rounds, sizeof *call, bench_cmp_double);
    uint64_t stops = ts.stops - ts0.stops;
    double mean = stops ? (double)(ts.stop_wait_ns - ts0.stop_wait_ns) / (double)stops : 0;
    bench_result("stop_wait_mean_us", mean / 1e3);
    bench_result("stop_wait_max_us", (double)ts.stop_wait_max_ns / 1e3);
    bench_result("call_p50_us", call[rounds / 2] * 1e6);
    bench_result("call_max_us", call[rounds - 1] * 1e6);
    bench_result("stops", (double)stops);
    bench_result("passed_over", (double)(ts.stops_passed_over - ts0.stops_passed_over));
    bench_result("stop_streak_max", (double)ts.stop_streak_max);
    bench_result("worker_ops", (double)atomic_load(&st_ops));
    bench_check("stop %d %ld stops %" PRIu64 " failed %ld threads %zu", threads, rounds,
                stops, failed, ts.threads);
    free(call);
    free(tid);
}
#endif

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: %s pairs SIZE N | prodcons SIZE N | trees N THREADS | "
                "otrees N THREADS | opairs SIZE N | oprodcons SIZE N | stop THREADS ROUNDS\n",
                argv[0]);
        return 2;
    }
    long a = bench_arg_long(argc, argv, 2, 0);
    long b = bench_arg_long(argc, argv, 3, 0);
    if (a <= 0 || b <= 0)
        bench_die("arguments must be positive");
    peer_init();
    if (!strcmp(argv[1], "pairs"))
        run_pairs((size_t)a, b);
    else if (!strcmp(argv[1], "prodcons"))
        run_prodcons((size_t)a, b, 0);
    else if (!strcmp(argv[1], "trees"))
        run_trees(&raw_tree, (int)a, (int)b);
#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
    else if (!strcmp(argv[1], "otrees"))
        run_trees(&obj_tree, (int)a, (int)b);
    else if (!strcmp(argv[1], "opairs"))
        run_opairs((size_t)a, b);
    else if (!strcmp(argv[1], "oprodcons"))
        run_prodcons((size_t)a, b, 1);
#endif
#if defined(PEER_SHARED)
    else if (!strcmp(argv[1], "stop"))
        run_stop((int)a, b, bench_arg_long(argc, argv, 4, 1000));
#endif
    else
        bench_die("unknown case");
#if defined(PEER_OURO) || defined(PEER_OURO_SINGLE)
    int rc = ouro_heap_free(peer_heap); /* every object dropped: 0 leaked */
    if (rc != 0) {
        fprintf(stderr, "bench: ouro_heap_free: %d\n", rc);
        return 2;
    }
#endif
    return 0;
}
