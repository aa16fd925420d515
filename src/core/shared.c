/*
 * shared.c — shared heaps: one heap used by many threads at once
 * (cfg.shared).  First stage: per-thread allocation of raw memory, blocks
 * freed by other threads, attached/parked threads and stopping the world.
 *
 * THREAD ALLOCATION STATES
 *   Each attached thread allocates from a talloc of its own (internal.h,
 *   ouro__talloc): its used-pool lists and byte counters, so that the
 *   allocation and free fast paths are the single-thread heap's, on the
 *   thread's talloc instead of h->ta0, with no lock and no atomic
 *   instruction.  The heap-wide state (arenas, the arena table, large
 *   blocks, the decay, h->st) is taken under h->shared->lock, at pool and
 *   arena events only: once per 16 KiB pool at most.  The model is
 *   mimalloc's thread-local heaps; the pool, not the arena, is what a
 *   thread owns, so threads share arenas and an arena drains whoever
 *   freed its pools.
 *
 *   The calling thread's talloc is found through a one-entry thread-local
 *   cache (heap, talloc); a miss scans h->tallocs under stw_mu.
 *
 * FREES FROM ANOTHER THREAD
 *   A block whose pool belongs to another talloc is pushed onto that
 *   talloc's `remote` list (a Treiber stack: compare-and-swap pushes, and
 *   the owner takes the whole list with one exchange, so there is no ABA),
 *   linked through the block's word at +8 like a free list.  The owner
 *   frees them into its pools at its next allocation slow path (a class
 *   out of blocks) or safe point.  mimalloc keeps such a list per page;
 *   one per thread costs more contention when many threads free to one,
 *   and is one exchange to drain.  A detached talloc keeps receiving
 *   them; the next thread that attaches adopts it, pools, pending frees
 *   and all, and a stopped world or the last thread drains it.
 *
 * STOPPING THE WORLD
 *   The protocol is free-threaded CPython's (Python/pystate.c,
 *   stop_the_world), with a mutex instead of its parking lot.  A thread
 *   is ATTACHED (running in the heap), PARKED (outside ouro, blocking),
 *   SUSPENDED (stopped at a safe point) or DETACHED.  All changes of state
 *   happen under stw_mu, except that the fast paths read `requested`
 *   without it (one relaxed load per allocation and free).
 *
 *   INVARIANTS (under stw_mu)
 *   - requested is set from a stop's request until its end; at most one
 *     stop is requested at a time.
 *   - pending is the number of threads with `counted` set: the threads
 *     that were ATTACHED when the stop was requested and have not reached
 *     a safe point, parked or detached since.  The requester runs its
 *     operation only once pending is 0.
 *   - A thread that is not counted and not the requester is, while
 *     requested is set, SUSPENDED, PARKED or DETACHED, or waits in attach
 *     or unpark until the stop ends: unpark, attach and the safe point
 *     wait while `requested` is set.
 *   - nsuspended counts the SUSPENDED threads; a stop is requested only
 *     when it is 0, so that every thread stopped by the last stop has run
 *     again (at least to its next safe point) before the next stop:
 *     back-to-back stops cannot starve a thread (gh-151518's lesson).
 *
 * WHAT IS NOT HERE YET
 *   Objects: biased reference counting, the collector stopping the world,
 *   weak references across threads.  ouro_new fails with OURO_ENOTSUP on
 *   a shared heap (object.c), as do collections and tracing.
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#if defined(__GNUC__)
#define TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define TLS_MODEL
#endif

/* The calling thread's talloc on the last shared heap it used. */
static __thread ouro_heap *tls_heap TLS_MODEL;
static __thread ouro__talloc *tls_ta TLS_MODEL;

#define ALOAD(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ALOAD_RELAXED(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ASTORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ouro__shared_init(ouro_heap *h)
{
    ouro__shared *S = &h->shared_store;
    memset(S, 0, sizeof *S);
    pthread_mutex_init(&S->lock, NULL);
    pthread_mutex_init(&S->stw_mu, NULL);
    pthread_cond_init(&S->stopped, NULL);
    pthread_cond_init(&S->resumed, NULL);
    S->ntallocs = 1;
    S->attached = S->peak_attached = 1;
    S->attaches = 1;
    h->ta0.thread = pthread_self();
    h->ta0.nest = 1;
    h->shared = S;
    /* Every entry point takes its shared path: the single-thread fast
     * paths test these flags first (raw.c, object.c). */
    ouro__alloc_slow_update(h);
    ouro__trace_fields_off(h);
    tls_heap = h;
    tls_ta = &h->ta0;
}

/* ------------------------------------------------------------ lookup */

static ouro__talloc *self_slow(ouro_heap *h)
{
    ouro__shared *S = h->shared;
    pthread_t me = pthread_self();
    ouro__talloc *found = NULL;
    pthread_mutex_lock(&S->stw_mu);
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        ouro__talloc *ta = h->tallocs[i];
        if (ta->state != OURO__TS_DETACHED && pthread_equal(ta->thread, me)) {
            found = ta;
            break;
        }
    }
    pthread_mutex_unlock(&S->stw_mu);
    if (found) {
        tls_heap = h;
        tls_ta = found;
    }
    return found;
}

/* The calling thread's talloc on shared heap h, or NULL if it is not
 * attached. */
static inline ouro__talloc *self(ouro_heap *h)
{
    if (OURO__LIKELY(tls_heap == h))
        return tls_ta;
    return self_slow(h);
}

ouro__talloc *ouro__shared_self(ouro_heap *h) { return self(h); }

static void set_error(ouro_heap *h, ouro__talloc *ta, int code)
{
    (void)h;
    if (ta)
        ta->last_error = code;
}

int ouro__shared_last_error(ouro_heap *h)
{
    ouro__talloc *ta = self(h);
    return ta ? ta->last_error : OURO_ETHREAD;
}

void ouro__shared_clear_error(ouro_heap *h)
{
    ouro__talloc *ta = self(h);
    if (ta)
        ta->last_error = 0;
}

/* A thread that is not attached used the heap: a debug heap says so and
 * stops, a release heap reports OURO_ETHREAD through the return value. */
static void not_attached(ouro_heap *h, const char *what)
{
    if (h->cfg.debug >= OURO_DEBUG_CHECKS)
        ouro__fatalf(h,
                     "%s on shared heap %p from thread %#lx, which is not attached to it "
                     "(ouro_thread_attach first)",
                     what, (void *)h, (unsigned long)pthread_self());
}

/* ------------------------------------------------------------ remote frees */

static inline void *link_get(void *b)
{
    void *next;
    memcpy(&next, (uint8_t *)b + 8, sizeof next);
    return next;
}

static inline void link_set(void *b, void *next) { memcpy((uint8_t *)b + 8, &next, sizeof next); }

/* Push block p (of one of owner's pools) onto owner's remote list. */
static void remote_push(ouro__talloc *owner, void *p)
{
    void *head = ALOAD_RELAXED(&owner->remote);
    do {
        link_set(p, head);
    } while (!__atomic_compare_exchange_n(&owner->remote, &head, p, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
}

/* Free into ta's pools every block other threads freed for it.  Called by
 * ta's thread, or with ta's thread stopped, parked or detached and the
 * caller holding the world (a stop, or the heap's last thread). */
static void drain(ouro_heap *h, ouro__talloc *ta)
{
    if (ALOAD_RELAXED(&ta->remote) == NULL)
        return;
    void *list = __atomic_exchange_n(&ta->remote, NULL, __ATOMIC_ACQUIRE);
    while (list) {
        void *next = link_get(list);
        ouro__block_free_ta(h, ta, list);
        ta->remote_taken++;
        list = next;
    }
}

/* ------------------------------------------------------------ stopping */

/* The calling thread (ATTACHED, holding stw_mu, a stop requested) stops
 * here until the stop ends. */
static void suspend_locked(ouro__shared *S, ouro__talloc *ta)
{
    ta->state = OURO__TS_SUSPENDED;
    S->nsuspended++;
    if (ta->counted) {
        ta->counted = false;
        if (--S->pending == 0)
            pthread_cond_signal(&S->stopped);
    }
    while (S->requested)
        pthread_cond_wait(&S->resumed, &S->stw_mu);
    ta->state = OURO__TS_ATTACHED;
    if (--S->nsuspended == 0)
        pthread_cond_broadcast(&S->resumed); /* a requester waits for it */
}

/* A counted thread leaves the running state without stopping (park,
 * detach): it no longer holds the stop up. */
static void uncount_locked(ouro__shared *S, ouro__talloc *ta)
{
    if (ta->counted) {
        ta->counted = false;
        if (--S->pending == 0)
            pthread_cond_signal(&S->stopped);
    }
}

static void safepoint_slow(ouro_heap *h, ouro__talloc *ta)
{
    ouro__shared *S = h->shared;
    pthread_mutex_lock(&S->stw_mu);
    if (S->requested)
        suspend_locked(S, ta);
    pthread_mutex_unlock(&S->stw_mu);
}

static inline void safepoint(ouro_heap *h, ouro__talloc *ta)
{
    if (OURO__UNLIKELY(ALOAD_RELAXED(&h->shared->requested)))
        safepoint_slow(h, ta);
}

/* Stop every other attached thread; the caller (attached, running) then
 * has the heap to itself until stw_end.  Waits for a stop in force to end
 * first, taking part in it as any thread does. */
static void stw_begin(ouro_heap *h, ouro__talloc *me)
{
    ouro__shared *S = h->shared;
    pthread_mutex_lock(&S->stw_mu);
    for (;;) {
        if (S->requested)
            suspend_locked(S, me);
        else if (S->nsuspended > 0)
            pthread_cond_wait(&S->resumed, &S->stw_mu);
        else
            break;
    }
    uint64_t t0 = now_ns();
    ASTORE(&S->requested, 1);
    int n = 0;
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        ouro__talloc *ta = h->tallocs[i];
        if (ta != me && ta->state == OURO__TS_ATTACHED) {
            ta->counted = true;
            n++;
        }
    }
    S->pending = n;
    while (S->pending > 0)
        pthread_cond_wait(&S->stopped, &S->stw_mu);
    uint64_t waited = now_ns() - t0;
    S->stops++;
    S->stop_wait_ns += waited;
    if (waited > S->stop_wait_max_ns)
        S->stop_wait_max_ns = waited;
    pthread_mutex_unlock(&S->stw_mu);
}

static void stw_end(ouro_heap *h)
{
    ouro__shared *S = h->shared;
    pthread_mutex_lock(&S->stw_mu);
    ASTORE(&S->requested, 0);
    pthread_cond_broadcast(&S->resumed);
    pthread_mutex_unlock(&S->stw_mu);
}

/* Begin a stop for an operation of the calling thread: its talloc, or
 * NULL (OURO_ETHREAD) when it is not attached. */
ouro__talloc *ouro__stw_begin(ouro_heap *h, const char *what)
{
    ouro__talloc *me = self(h);
    if (!me) {
        not_attached(h, what);
        return NULL;
    }
    stw_begin(h, me);
    return me;
}

void ouro__stw_end(ouro_heap *h) { stw_end(h); }

/* With the world stopped: every talloc's pending remote frees taken back. */
static void drain_all(ouro_heap *h)
{
    for (uint32_t i = 0; i < h->shared->ntallocs; i++)
        drain(h, h->tallocs[i]);
}

/* ------------------------------------------------------------ raw memory */

static __attribute__((noinline)) void *alloc_slow(ouro_heap *h, ouro__talloc *ta, size_t size)
{
    if (OURO__UNLIKELY(h->teardown)) {
        set_error(h, ta, OURO_EBUSY);
        return NULL;
    }
    drain(h, ta);
    void *p = ouro__block_alloc_ta(h, ta, size ? size : 1, 1);
    if (!p)
        set_error(h, ta, OURO_ENOMEM);
    return p;
}

void *ouro__shared_raw_alloc(ouro_heap *h, size_t size)
{
    ouro__talloc *ta = self(h);
    if (OURO__UNLIKELY(!ta)) {
        not_attached(h, "ouro_raw_alloc");
        return NULL;
    }
    safepoint(h, ta);
    void *p = ouro__block_alloc_try_ta(ta, size, 1);
    if (OURO__LIKELY(p != NULL))
        return p;
    return alloc_slow(h, ta, size);
}

static __attribute__((noinline)) void free_checked(ouro_heap *h, ouro__talloc *ta, void *p)
{
    ouro__chunk *ch = (ouro__chunk *)ouro__pool_of(p);
    if (ch->heap != h)
        ouro__fatalf(h, "raw block %p freed with heap %p, belongs to heap %p (wrong heap)", p,
                     (void *)h, (void *)ch->heap);
    /* A pool's free list is its owner's: only an owner's block can be
     * checked for a double free without stopping it. */
    if (ch->kind == OURO__CHUNK_POOL && ((ouro__pool *)ch)->owner == ta->id &&
        ouro__block_is_free(p))
        ouro__fatalf(h, "raw block %p freed twice (double free)", p);
}

void ouro__shared_raw_free(ouro_heap *h, void *p)
{
    ouro__talloc *ta = self(h);
    if (OURO__UNLIKELY(!ta)) {
        not_attached(h, "ouro_raw_free");
        return;
    }
    safepoint(h, ta);
    if (OURO__UNLIKELY(h->cfg.debug >= OURO_DEBUG_CHECKS))
        free_checked(h, ta, p);
    ouro__pool *pool = ouro__pool_of(p);
    if (OURO__LIKELY(pool->c.kind == OURO__CHUNK_POOL)) {
        if (OURO__LIKELY(pool->owner == ta->id)) {
            if (!ouro__block_free_try_ta(ta, p))
                ouro__block_free_ta(h, ta, p);
            return;
        }
        remote_push(ALOAD(&h->tallocs[pool->owner]), p);
        ta->remote_frees++;
        return;
    }
    ouro__block_free_ta(h, ta, p); /* a large block: under the heap lock */
}

/* ------------------------------------------------------------ threads */

/* A fresh talloc in a chunk of its own from the page source, or NULL. */
static ouro__talloc *talloc_new(ouro_heap *h, uint16_t id)
{
    size_t size = (sizeof(ouro__talloc) + OURO__POOL_SIZE - 1) & ~(OURO__POOL_SIZE - 1);
    pthread_mutex_lock(&h->shared->lock);
    void *mem = ouro__pages_alloc(h, size);
    pthread_mutex_unlock(&h->shared->lock);
    if (!mem)
        return NULL;
    ouro__talloc *ta = mem;
    memset(ta, 0, sizeof *ta);
    ta->heap = h;
    ta->id = id;
    ta->chunk = mem;
    return ta;
}

int ouro_thread_attach(ouro_heap *h)
{
    if (!h || !h->shared)
        return OURO_EINVAL;
    ouro__shared *S = h->shared;
    ouro__talloc *ta = self(h);
    if (ta) {
        ta->nest++;
        return 0;
    }
    pthread_mutex_lock(&S->stw_mu);
    while (S->requested) /* no thread joins a stopped world */
        pthread_cond_wait(&S->resumed, &S->stw_mu);
    for (uint32_t i = 0; i < S->ntallocs; i++)
        if (h->tallocs[i]->state == OURO__TS_DETACHED) {
            ta = h->tallocs[i]; /* adopt: its pools and pending frees */
            break;
        }
    if (!ta) {
        if (S->ntallocs >= OURO__MAX_THREADS) {
            pthread_mutex_unlock(&S->stw_mu);
            return OURO_ELIMIT;
        }
        ta = talloc_new(h, (uint16_t)S->ntallocs);
        if (!ta) {
            pthread_mutex_unlock(&S->stw_mu);
            return OURO_ENOMEM;
        }
        ASTORE(&h->tallocs[S->ntallocs], ta);
        S->ntallocs++;
    }
    ta->state = OURO__TS_ATTACHED;
    ta->thread = pthread_self();
    ta->nest = 1;
    ta->counted = false;
    ta->last_error = 0;
    S->attached++;
    if (S->attached > S->peak_attached)
        S->peak_attached = S->attached;
    S->attaches++;
    pthread_mutex_unlock(&S->stw_mu);
    tls_heap = h;
    tls_ta = ta;
    return 0;
}

int ouro_thread_detach(ouro_heap *h)
{
    if (!h || !h->shared)
        return OURO_EINVAL;
    ouro__shared *S = h->shared;
    ouro__talloc *ta = self(h);
    if (!ta)
        return OURO_ETHREAD;
    if (ta->state == OURO__TS_PARKED)
        return OURO_ETHREAD; /* unpark first */
    if (--ta->nest > 0)
        return 0;
    safepoint(h, ta);
    drain(h, ta);
    pthread_mutex_lock(&S->stw_mu);
    uncount_locked(S, ta);
    ta->state = OURO__TS_DETACHED;
    S->attached--;
    pthread_mutex_unlock(&S->stw_mu);
    if (tls_heap == h)
        tls_heap = NULL, tls_ta = NULL;
    return 0;
}

int ouro_thread_park(ouro_heap *h)
{
    if (!h || !h->shared)
        return OURO_EINVAL;
    ouro__shared *S = h->shared;
    ouro__talloc *ta = self(h);
    if (!ta || ta->state != OURO__TS_ATTACHED)
        return OURO_ETHREAD;
    pthread_mutex_lock(&S->stw_mu);
    uncount_locked(S, ta);
    ta->state = OURO__TS_PARKED;
    pthread_mutex_unlock(&S->stw_mu);
    return 0;
}

int ouro_thread_unpark(ouro_heap *h)
{
    if (!h || !h->shared)
        return OURO_EINVAL;
    ouro__shared *S = h->shared;
    ouro__talloc *ta = self(h);
    if (!ta || ta->state != OURO__TS_PARKED)
        return OURO_ETHREAD;
    pthread_mutex_lock(&S->stw_mu);
    while (S->requested)
        pthread_cond_wait(&S->resumed, &S->stw_mu);
    ta->state = OURO__TS_ATTACHED;
    pthread_mutex_unlock(&S->stw_mu);
    return 0;
}

int ouro_safepoint(ouro_heap *h)
{
    if (!h)
        return OURO_EINVAL;
    if (!h->shared)
        return 0;
    ouro__talloc *ta = self(h);
    if (!ta || ta->state != OURO__TS_ATTACHED)
        return OURO_ETHREAD;
    safepoint(h, ta);
    drain(h, ta);
    return 0;
}

int ouro_heap_is_shared(const ouro_heap *h) { return h && h->shared ? 1 : 0; }

/* ------------------------------------------------------------ heap-wide */

size_t ouro__shared_trim(ouro_heap *h)
{
    if (!ouro__stw_begin(h, "ouro_heap_trim"))
        return 0;
    drain_all(h);
    size_t n = ouro__pool_trim(h);
    stw_end(h);
    return n;
}

int ouro_heap_get_thread_stats(ouro_heap *h, ouro_thread_stats *out)
{
    if (!h || !out || out->struct_size == 0 || !h->shared)
        return OURO_EINVAL;
    ouro__shared *S = h->shared;
    if (!ouro__stw_begin(h, "ouro_heap_get_thread_stats"))
        return OURO_ETHREAD;
    ouro_thread_stats s;
    memset(&s, 0, sizeof s);
    pthread_mutex_lock(&S->stw_mu);
    s.threads = S->attached;
    s.peak_threads = S->peak_attached;
    s.thread_states = S->ntallocs;
    s.attaches = S->attaches;
    s.stops = S->stops;
    s.stop_wait_ns = S->stop_wait_ns;
    s.stop_wait_max_ns = S->stop_wait_max_ns;
    uint64_t taken = 0;
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        s.remote_frees += h->tallocs[i]->remote_frees;
        taken += h->tallocs[i]->remote_taken;
    }
    s.remote_pending = s.remote_frees - taken;
    pthread_mutex_unlock(&S->stw_mu);
    stw_end(h);
    size_t n = out->struct_size < sizeof s ? out->struct_size : sizeof s;
    s.struct_size = n;
    memcpy(out, &s, n);
    return 0;
}

/* ouro_heap_check's shared part, with the world stopped: every block on a
 * remote list is an allocated block of a pool of that list's talloc, and
 * the counts of pending frees agree with the lists. */
int ouro__shared_check(ouro_heap *h)
{
    ouro__shared *S = h->shared;
    uint64_t frees = 0, taken = 0, listed = 0;
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        ouro__talloc *ta = h->tallocs[i];
        if (ta->id != i || ta->heap != h) {
            ouro__report(h, "ouro_heap_check: thread state %u: bad header\n", i);
            return OURO_EINVAL;
        }
        frees += ta->remote_frees;
        taken += ta->remote_taken;
    }
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        for (void *b = ALOAD(&h->tallocs[i]->remote); b; b = link_get(b)) {
            ouro__pool *pool = ouro__pool_of(b);
            if (pool->c.heap != h || pool->c.kind != OURO__CHUNK_POOL || pool->owner != i ||
                ouro__block_is_free(b)) {
                ouro__report(h,
                             "ouro_heap_check: block %p on thread state %u's remote list is "
                             "not an allocated block of its pools\n",
                             b, i);
                return OURO_EINVAL;
            }
            if (++listed > frees - taken)
                break; /* too many: reported below (and a cycle ends here) */
        }
    }
    if (frees - taken != listed) {
        ouro__report(h, "ouro_heap_check: %llu blocks on remote lists, counters say %llu\n",
                     (unsigned long long)listed, (unsigned long long)(frees - taken));
        return OURO_EINVAL;
    }
    return 0;
}

/* ouro_heap_free on a shared heap, before the single-thread teardown: the
 * caller must be the one thread attached.  Takes back every pending free. */
int ouro__shared_free_begin(ouro_heap *h)
{
    ouro__shared *S = h->shared;
    ouro__talloc *me = self(h);
    if (!me) {
        not_attached(h, "ouro_heap_free");
        return OURO_ETHREAD;
    }
    pthread_mutex_lock(&S->stw_mu);
    uint32_t attached = S->attached;
    pthread_mutex_unlock(&S->stw_mu);
    if (attached > 1)
        return OURO_EBUSY;
    drain_all(h);
    return 0;
}

/* The last step of ouro_heap_free: the thread states' chunks and the
 * locks.  The pools were released with the arenas. */
void ouro__shared_fini(ouro_heap *h)
{
    ouro__shared *S = h->shared;
    for (uint32_t i = 1; i < S->ntallocs; i++) {
        ouro__talloc *ta = h->tallocs[i];
        size_t size = (sizeof(ouro__talloc) + OURO__POOL_SIZE - 1) & ~(OURO__POOL_SIZE - 1);
        h->tallocs[i] = NULL;
        ouro__pages_free(h, ta->chunk, size);
    }
    pthread_mutex_destroy(&S->lock);
    pthread_mutex_destroy(&S->stw_mu);
    pthread_cond_destroy(&S->stopped);
    pthread_cond_destroy(&S->resumed);
    if (tls_heap == h)
        tls_heap = NULL, tls_ta = NULL;
}
