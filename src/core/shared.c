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
 *   and all, and a stopped world or the last thread drains it.  The
 *   freeing thread pushes them in batches of up to 64 per owner
 *   (rcache_add), emptied at its park, detach and explicit safe point.
 *
 * STOPPING THE WORLD
 *   The protocol is free-threaded CPython's (Python/pystate.c,
 *   stop_the_world), with a mutex instead of its parking lot.  A thread
 *   is ATTACHED (running in the heap), PARKED (outside ouro, blocking),
 *   SUSPENDED (stopped at a safe point) or DETACHED.  All changes of state
 *   happen under stw_mu but a suspended thread's return to ATTACHED
 *   (below), and the fast paths read `requested` without it (one relaxed
 *   load per allocation and free).
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
 *   - A SUSPENDED thread stays SUSPENDED after the stop ends until it runs
 *     again: it sets ATTACHED itself, then reads `requested` (both
 *     sequentially consistent, as the requester sets `requested` and then
 *     reads the states: one of the two sees the other).  A stop requested
 *     meanwhile counts it if it reads ATTACHED, and passes over it if it
 *     reads SUSPENDED: a thread that has not run since it stopped is still
 *     stopped, and the stop need not wait for the scheduler to run it.
 *     Either way the thread, seeing `requested`, suspends again.
 *   - nsuspended (atomic) counts the SUSPENDED threads.  passed_over says
 *     the stop in force or last ended passed over a thread; the next stop
 *     is requested only once nsuspended is 0, so that every thread a stop
 *     passed over runs before the stop after it: back-to-back stops
 *     cannot starve a thread (gh-151518's lesson), and a thread waits at
 *     most one stop beyond its own.  While a requester waits for that,
 *     `requested` is STW_YIELD: no stop is in force, but the safe points
 *     of the running threads yield their cores to those not run yet.
 *   - restarts counts the ended stops; a suspended thread waits for it to
 *     move (a futex on Linux: the end of a stop wakes them all at once,
 *     with no lock to take in turn).
 *
 * TRACING
 *   The tracer (src/inspect) sees every block of every thread: its hooks
 *   run under trace_lock, a leaf lock (nothing stops the world or parks
 *   while holding it), with the heap's sampling clock in trace_clock.
 *   Starting and stopping the tracer stop the world, so a thread between
 *   two safe points sees h->tracer unchanged; readers of the tracer's
 *   tables hold trace_lock (ouro__trace_lock).  The program's site held
 *   by the built-in types' `_at` functions is per thread (talloc.site).
 */
#include "internal.h"

#include <stdatomic.h>
#include <sched.h>
#include <limits.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif
#include <stdio.h>
#include <time.h>

#if defined(__GNUC__)
#define TLS_MODEL __attribute__((tls_model("initial-exec")))
#else
#define TLS_MODEL
#endif

/* The calling thread's talloc on the last shared heap it used, and that
 * heap with the talloc's id (ouro.h: the inline reference operations
 * read it to tell an object's owner). */
__thread ouro__thread_self ouro__self TLS_MODEL;
static __thread ouro__talloc *tls_ta TLS_MODEL;

static inline void tls_set(ouro_heap *h, ouro__talloc *ta)
{
    ouro__self.heap = h;
    ouro__self.id = ta ? ta->id : 0;
    tls_ta = ta;
}

static void exit_hook_add(ouro__talloc *ta);

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
    pthread_mutex_init(&S->weak_lock, NULL);
    pthread_mutex_init(&S->types_lock, NULL);
    pthread_mutex_init(&S->trace_lock, NULL);
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
    tls_set(h, &h->ta0);
    exit_hook_add(&h->ta0); /* the creating thread is attached */
}

void ouro__spin_lock_slow(int *l)
{
    for (unsigned i = 0;; i++) {
        if (ouro__spin_trylock(l))
            return;
        if (i < 64) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
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
        if (ALOAD_RELAXED(&ta->state) != OURO__TS_DETACHED && pthread_equal(ta->thread, me)) {
            found = ta;
            break;
        }
    }
    pthread_mutex_unlock(&S->stw_mu);
    if (found) {
        tls_set(h, found);
    }
    return found;
}

/* The calling thread's talloc on shared heap h, or NULL if it is not
 * attached. */
static inline ouro__talloc *self(ouro_heap *h)
{
    if (OURO__LIKELY(ouro__self.heap == h))
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

/* Push the chain first..last (linked through their words at +8, blocks
 * of owner's pools) onto owner's remote list: one compare-and-swap. */
static void remote_push(ouro__talloc *owner, void *first, void *last)
{
    void *head = ALOAD_RELAXED(&owner->remote);
    do {
        link_set(last, head);
    } while (!__atomic_compare_exchange_n(&owner->remote, &head, first, true, __ATOMIC_RELEASE,
                                          __ATOMIC_RELAXED));
}

/* Slot s of ta's rcache onto its owner's remote list, and emptied.  Run by
 * ta's thread, or by a thread holding the world stopped. */
static void rcache_flush_slot(ouro_heap *h, ouro__talloc *ta, struct ouro__rcache *s)
{
    OURO__ASSERT(s->n > 0 && s->owner != ta->id);
    remote_push(ALOAD(&h->tallocs[s->owner]), s->head, s->tail);
    ta->rcache_n -= s->n;
    s->head = s->tail = NULL;
    s->n = 0;
}

static __attribute__((noinline)) void rcache_flush(ouro_heap *h, ouro__talloc *ta)
{
    for (int i = 0; i < OURO__RCACHE_SLOTS && ta->rcache_n > 0; i++)
        if (ta->rcache[i].n > 0)
            rcache_flush_slot(h, ta, &ta->rcache[i]);
    OURO__ASSERT(ta->rcache_n == 0);
}

static __attribute__((noinline)) void rcache_flush_one(ouro_heap *h, ouro__talloc *ta,
                                                       struct ouro__rcache *s)
{
    rcache_flush_slot(h, ta, s);
}

/* Block p of another talloc's pool (`owner`), freed by ta's thread: held
 * in ta's rcache, pushed with the others of its owner in batches (one
 * compare-and-swap a batch instead of one a block: the swap was half of
 * the freeing thread's time in W11's producer/consumer; snmalloc batches
 * its messages to other threads the same way).  A slot holds one owner's
 * blocks: another owner's block empties it first.  The slots are emptied
 * when full, when the thread parks, detaches or calls ouro_safepoint, and
 * by ouro_heap_trim and ouro_heap_free (drain_all). */
static inline void rcache_add(ouro_heap *h, ouro__talloc *ta, uint16_t owner, void *p)
{
    struct ouro__rcache *s = &ta->rcache[owner & (OURO__RCACHE_SLOTS - 1)];
    if (OURO__UNLIKELY(s->n > 0 && s->owner != owner))
        rcache_flush_one(h, ta, s);
    link_set(p, s->head);
    if (s->n == 0) {
        s->tail = p;
        s->owner = owner;
    }
    s->head = p;
    ta->rcache_n++;
    ta->remote_frees++;
    if (OURO__UNLIKELY(++s->n >= OURO__RCACHE_BATCH))
        rcache_flush_one(h, ta, s);
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

/* ouro__shared.requested: 0, or one of */
enum {
    STW_STOP = 1, /* a stop requested or in force */
    STW_YIELD = 2 /* a requester waits for the threads the last stop passed
                     over to run: the safe points yield their cores */
};

/* A suspended thread waits here for the world to restart: for the count
 * of ended stops to move past `seen`.  On Linux the suspended threads wait
 * on that word with a futex and the end of the stop wakes them all: each
 * then needs only a core.  (Waiting on a condition variable, each took
 * stw_mu in turn on its way out, one scheduling delay per hand-over: with
 * eight threads on two cores, up to 30 ms until all ran again.) */
static void wait_restart(ouro__shared *S, unsigned seen)
{
#ifdef __linux__
    while (__atomic_load_n(&S->restarts, __ATOMIC_ACQUIRE) == seen)
        (void)syscall(SYS_futex, &S->restarts, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
#else
    pthread_mutex_lock(&S->stw_mu);
    while (__atomic_load_n(&S->restarts, __ATOMIC_ACQUIRE) == seen)
        pthread_cond_wait(&S->resumed, &S->stw_mu);
    pthread_mutex_unlock(&S->stw_mu);
#endif
}

/* The calling thread (ATTACHED, holding stw_mu, a stop requested) stops
 * here until the stop ends, and until any stop requested before it ran
 * again ends too (INVARIANTS).  Returns without stw_mu. */
static void suspend_unlock(ouro__shared *S, ouro__talloc *ta)
{
    __atomic_add_fetch(&S->nsuspended, 1, __ATOMIC_RELAXED);
    unsigned streak = 1; /* stops in a row this thread stays stopped for */
    if (S->stop_streak_max < streak)
        S->stop_streak_max = streak;
    for (;;) {
        __atomic_store_n(&ta->state, OURO__TS_SUSPENDED, __ATOMIC_SEQ_CST);
        if (ta->counted) {
            ta->counted = false;
            if (--S->pending == 0)
                pthread_cond_signal(&S->stopped);
        }
        unsigned seen = S->restarts; /* (written under stw_mu) */
        pthread_mutex_unlock(&S->stw_mu);
        wait_restart(S, seen);
        __atomic_store_n(&ta->state, OURO__TS_ATTACHED, __ATOMIC_SEQ_CST);
        if (!(__atomic_load_n(&S->requested, __ATOMIC_SEQ_CST) & STW_STOP))
            break;
        /* Another stop, requested before this thread ran: it counted the
         * thread or passed over it; either way, stop for it too. */
        pthread_mutex_lock(&S->stw_mu);
        if (!(S->requested & STW_STOP) || ALOAD_RELAXED(&S->stopper) == ta) {
            pthread_mutex_unlock(&S->stw_mu);
            break;
        }
        S->passed_over = true; /* the next stop waits until it has run */
        if (S->stop_streak_max < ++streak)
            S->stop_streak_max = streak;
    }
    if (__atomic_sub_fetch(&S->nsuspended, 1, __ATOMIC_ACQ_REL) == 0) {
        pthread_mutex_lock(&S->stw_mu); /* a requester may wait for it */
        pthread_cond_broadcast(&S->resumed);
        pthread_mutex_unlock(&S->stw_mu);
    }
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
    if (ALOAD_RELAXED(&S->requested) == STW_YIELD) {
        sched_yield(); /* a core for the threads a stop waits to see run */
        return;
    }
    pthread_mutex_lock(&S->stw_mu);
    if ((S->requested & STW_STOP) && ALOAD_RELAXED(&S->stopper) != ta) /* (the stopper's own calls go on) */
        suspend_unlock(S, ta);
    else
        pthread_mutex_unlock(&S->stw_mu);
}

/* A stop of the world requested: read from the heap structure itself (a
 * shared heap's h->shared is &h->shared_store), one load on the fast
 * paths instead of two dependent ones. */
static inline bool stop_requested(const ouro_heap *h)
{
    OURO__ASSERT(h->shared == &h->shared_store);
    return ALOAD_RELAXED(&h->shared_store.requested) != 0;
}

static inline void safepoint(ouro_heap *h, ouro__talloc *ta)
{
    if (OURO__UNLIKELY(stop_requested(h)))
        safepoint_slow(h, ta);
}

static void bury_all(ouro_heap *h, ouro__talloc *me);
static void bury(ouro_heap *h, ouro__talloc *me, ouro__talloc *of);

/* Stop every other attached thread; the caller (attached, running) then
 * has the heap to itself until stw_end.  Waits for a stop in force to end
 * first, taking part in it as any thread does. */
static void stw_begin(ouro_heap *h, ouro__talloc *me)
{
    ouro__shared *S = h->shared;
    /* The wait is timed from the request: what the caller waits for,
     * including a stop in force and the previous stop's threads running
     * again (the no-starvation rule) */
    uint64_t t0 = now_ns();
    pthread_mutex_lock(&S->stw_mu);
    for (;;) {
        if (S->requested & STW_STOP) {
            suspend_unlock(S, me);
            pthread_mutex_lock(&S->stw_mu);
        } else if (S->passed_over && __atomic_load_n(&S->nsuspended, __ATOMIC_ACQUIRE) > 0) {
            /* The threads running now yield their cores at their safe
             * points to those not run yet: the kernel would otherwise run
             * each only at a later tick. */
            ASTORE(&S->requested, STW_YIELD);
            pthread_cond_wait(&S->resumed, &S->stw_mu);
        } else {
            break;
        }
    }
    __atomic_store_n(&S->requested, STW_STOP, __ATOMIC_SEQ_CST);
    int n = 0;
    bool passed = false;
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        ouro__talloc *ta = h->tallocs[i];
        if (ta == me)
            continue;
        int st = __atomic_load_n(&ta->state, __ATOMIC_SEQ_CST);
        if (st == OURO__TS_ATTACHED) {
            ta->counted = true;
            n++;
        } else if (st == OURO__TS_SUSPENDED) {
            passed = true; /* has not run since the last stop: still stopped */
            S->passed_over_threads++;
        }
    }
    S->passed_over = passed;
    S->pending = n;
    ASTORE(&S->stopper, me);
    while (S->pending > 0)
        pthread_cond_wait(&S->stopped, &S->stw_mu);
    uint64_t waited = now_ns() - t0;
    bury_all(h, me); /* nothing walks the generations with the dead on them */
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
    ASTORE(&S->stopper, NULL);
    __atomic_store_n(&S->requested, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&S->restarts, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&S->resumed); /* attach, unpark (and wait_restart) */
    bool wake = __atomic_load_n(&S->nsuspended, __ATOMIC_RELAXED) > 0;
    pthread_mutex_unlock(&S->stw_mu);
#ifdef __linux__
    if (wake)
        (void)syscall(SYS_futex, &S->restarts, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#else
    (void)wake;
#endif
}

/* The collector's young lists flushed into generation 0 (objects only:
 * their counts stay with their threads until a collection takes them,
 * flush_counts, so that a one-thread heap counts exactly as CPython).
 * `walk`: their TLIST flags cleared on the way, as the invariant wants;
 * without, the caller is a collection that is about to clear them in its
 * first pass (ouro__shared_flush_young). */
static void flush_lists(ouro_heap *h, bool walk)
{
    for (uint32_t i = 0; i < h->shared->ntallocs; i++) {
        ouro_object *head = &h->young[i].head;
        if (ouro__list_empty(h, head))
            continue;
        uint32_t hr = ouro__head_ref(h, head);
        for (uint32_t r = walk ? head->gc_next : hr; r != hr;) {
            ouro_object *o = ouro__obj_of(h, r);
            o->flags &= (uint16_t)~OURO__F_TLIST;
            r = o->gc_next;
        }
        ouro__list_merge(h, head, &h->lists[OURO__LIST_GEN0]);
    }
}

void ouro__shared_flush_young(ouro_heap *h)
{
    OURO__ASSERT(ouro__stw_mine(h));
    ouro__shared_flush_counts(h);
    flush_lists(h, false);
}

void ouro__shared_flush_lists(ouro_heap *h)
{
    OURO__ASSERT(ouro__stw_mine(h));
    flush_lists(h, true);
}

void ouro__shared_flush_counts(ouro_heap *h)
{
    for (uint32_t i = 0; i < h->shared->ntallocs; i++) {
        h->gen[0].count += (int)h->tallocs[i]->young_count;
        h->tallocs[i]->young_count = 0;
    }
}

/* Stop the world for an operation of the calling thread (nested: a stop
 * in force that the caller made counts once more).  OURO_ETHREAD when it
 * is not attached. */
int ouro__stw_enter(ouro_heap *h, const char *what)
{
    ouro__talloc *me = self(h);
    if (!me) {
        not_attached(h, what);
        return OURO_ETHREAD;
    }
    if (ALOAD_RELAXED(&h->shared->stopper) == me) {
        h->shared->stop_depth++;
        return 0;
    }
    stw_begin(h, me);
    h->shared->stop_depth = 1;
    return 0;
}

void ouro__stw_leave(ouro_heap *h)
{
    if (--h->shared->stop_depth == 0)
        stw_end(h);
}

/* Whether the calling thread holds the world stopped. */
bool ouro__stw_mine(ouro_heap *h)
{
    ouro__talloc *me = self(h);
    return me && ALOAD_RELAXED(&h->shared->stopper) == me;
}

int ouro__shared_stopped(ouro_heap *h, const char *what, void (*fn)(ouro_heap *h, void *arg),
                         void *arg, bool collect)
{
    int rc = ouro__stw_enter(h, what);
    if (rc < 0)
        return rc;
    if (!collect)
        flush_lists(h, true);
    fn(h, arg);
    ouro__stw_leave(h);
    return 0;
}

static void auto_collect(ouro_heap *h, void *arg)
{
    (void)arg;
    ouro__shared_flush_counts(h);
    if (!h->collecting) {
        bool saved = ouro__shared_gc_own_stop(h, h->shared->stop_depth == 1);
        ouro__gc_maybe_collect(h);
        ouro__shared_gc_own_stop(h, saved);
    }
}

bool ouro__shared_gc_own_stop(ouro_heap *h, bool own)
{
    bool was = h->shared->gc_own_stop;
    h->shared->gc_own_stop = own;
    return was;
}

void ouro__shared_gc_world(ouro_heap *h, bool run)
{
    ouro__shared *S = h->shared;
    if (run) {
        ASTORE(&S->gc_runner, self(h));
        ouro__stw_leave(h);
    } else {
        (void)ouro__stw_enter(h, "the collector"); /* attached: cannot fail */
        ASTORE(&S->gc_runner, NULL);
    }
}

bool ouro__shared_gc_may_run(ouro_heap *h)
{
    ouro__shared *S = h->shared;
    ouro__talloc *me = self(h);
    /* (attached changes only under stw_mu, and not while a stop is in
     * force: attach and unpark wait for its end) */
    return S->gc_own_stop && me && ALOAD_RELAXED(&S->stopper) == me && S->stop_depth == 1 &&
           S->attached > 1 && !h->freeing && !h->teardown;
}

/* With the world stopped: every talloc's held and pending remote frees
 * taken back. */
static void drain_all(ouro_heap *h)
{
    for (uint32_t i = 0; i < h->shared->ntallocs; i++)
        if (h->tallocs[i]->rcache_n > 0)
            rcache_flush(h, h->tallocs[i]);
    for (uint32_t i = 0; i < h->shared->ntallocs; i++)
        drain(h, h->tallocs[i]);
}

/* ------------------------------------------------------------ tracing */

/* A thread that is not attached holds its site here (nothing reads it). */
static __thread ouro__site tls_site_unattached;

ouro__site *ouro__shared_site(ouro_heap *h)
{
    ouro__talloc *ta = self(h);
    return ta ? &ta->site : &tls_site_unattached;
}

void ouro__trace_lock(ouro_heap *h)
{
    if (h->shared)
        pthread_mutex_lock(&h->shared->trace_lock);
}

void ouro__trace_unlock(ouro_heap *h)
{
    if (h->shared)
        pthread_mutex_unlock(&h->shared->trace_lock);
}

/* The tracer's hooks for every block of a traced shared heap, under
 * trace_lock.  h->tracer changes only with the world stopped, so a thread
 * between two safe points reads it unchanged.  The sampling clock is the
 * heap's (every thread's bytes), so samples fall where a single-thread
 * heap's would for the same allocations. */
static __attribute__((noinline)) void trace_alloc(ouro_heap *h, void *block, int raw,
                                                  const char *file, int line, const char *func)
{
    ouro__shared *S = h->shared;
    pthread_mutex_lock(&S->trace_lock);
    ouro__tracer *t = h->tracer;
    S->trace_clock += ouro__block_size_inline(block);
    if (!t->sampling || S->trace_clock >= h->trace_at)
        t->on_alloc(h, block, raw, file, line, func);
    pthread_mutex_unlock(&S->trace_lock);
}

static __attribute__((noinline)) void trace_free(ouro_heap *h, void *block, int raw)
{
    pthread_mutex_lock(&h->shared->trace_lock);
    ouro__trace_free(h, block, raw);
    pthread_mutex_unlock(&h->shared->trace_lock);
}

/* ------------------------------------------------------------ raw memory */

/* Give block p back: into ta's pools if they hold it, else towards its
 * owner's remote list (rcache_add; a large block goes to the heap). */
static inline void free_block(ouro_heap *h, ouro__talloc *ta, void *p)
{
    ouro__pool *pool = ouro__pool_of(p);
    if (pool->c.kind == OURO__CHUNK_POOL && pool->owner != ta->id) {
        rcache_add(h, ta, pool->owner, p);
        return;
    }
    if (!ouro__block_free_try_ta(ta, p))
        ouro__block_free_ta(h, ta, p);
}

/* An allocation the pool fast path could not make (raw blocks or objects):
 * the blocks other threads freed taken back first. */
static __attribute__((noinline)) void *alloc_slow(ouro_heap *h, ouro__talloc *ta, size_t size,
                                                  int raw)
{
    if (OURO__UNLIKELY(h->teardown)) {
        set_error(h, ta, OURO_EBUSY);
        return NULL;
    }
    drain(h, ta);
    void *p = ouro__block_alloc_ta(h, ta, size ? size : 1, raw);
    if (!p)
        set_error(h, ta, OURO_ENOMEM);
    return p;
}

static __attribute__((noinline)) void *shared_raw_alloc_slow(ouro_heap *h, size_t size,
                                                             const char *file, int line,
                                                             const char *func)
{
    ouro__talloc *ta = self(h);
    if (OURO__UNLIKELY(!ta)) {
        not_attached(h, "ouro_raw_alloc");
        return NULL;
    }
    safepoint(h, ta);
    void *p = ouro__block_alloc_try_ta(ta, size, 1);
    if (OURO__UNLIKELY(p == NULL))
        p = alloc_slow(h, ta, size, 1);
    if (OURO__UNLIKELY(h->tracer != NULL) && p)
        trace_alloc(h, p, 1, file, line, func);
    return p;
}

/* A leaf when the thread is attached, no stop is requested, no tracer runs
 * and its pool has a block; else shared_raw_alloc_slow, nothing changed.
 * The thread-local identity names h only while the thread is attached to
 * it (tls_set), so its talloc is then never NULL. */
void *ouro__shared_raw_alloc(ouro_heap *h, size_t size, const char *file, int line,
                             const char *func)
{
    if (OURO__LIKELY(ouro__self.heap == h)) {
        ouro__talloc *ta = tls_ta;
        OURO__ASSERT(ta != NULL);
        if (OURO__LIKELY(!stop_requested(h) && h->tracer == NULL)) {
            void *p = ouro__block_alloc_try_ta(ta, size, 1);
            if (OURO__LIKELY(p != NULL))
                return p;
        }
    }
    return shared_raw_alloc_slow(h, size, file, line, func);
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

static __attribute__((noinline)) void shared_raw_free_slow(ouro_heap *h, void *p)
{
    ouro__talloc *ta = self(h);
    if (OURO__UNLIKELY(!ta)) {
        not_attached(h, "ouro_raw_free");
        return;
    }
    safepoint(h, ta);
    if (OURO__UNLIKELY(h->cfg.debug >= OURO_DEBUG_CHECKS))
        free_checked(h, ta, p);
    if (OURO__UNLIKELY(h->tracer != NULL))
        trace_free(h, p, 1);
    free_block(h, ta, p);
}

/* When the thread is attached, no stop is requested and the heap has no
 * debug checks or tracer (shared_obj_slow, one byte): free_block at once
 * (a leaf for a block of the thread's own pools, which keeps it, or of
 * another thread's, pushed onto its remote list); else
 * shared_raw_free_slow. */
void ouro__shared_raw_free(ouro_heap *h, void *p)
{
    if (OURO__LIKELY(ouro__self.heap == h)) {
        ouro__talloc *ta = tls_ta;
        OURO__ASSERT(ta != NULL);
        OURO__ASSERT(h->shared_obj_slow == (h->tracer != NULL || h->cfg.debug >= OURO_DEBUG_CHECKS));
        if (OURO__LIKELY(!stop_requested(h) && !h->shared_obj_slow)) {
            free_block(h, ta, p); /* what shared_raw_free_slow would do */
            return;
        }
    }
    shared_raw_free_slow(h, p);
}

/* ------------------------------------------------------------ objects */

/* ceil(2^32 / class size), by size class (pool.c's classes). */
#define RECIP(sz) ((uint32_t)((((uint64_t)1 << 32) + (sz) - 1) / (sz)))
#define R16(n) RECIP(16 * (n))
const uint32_t ouro__class_recip[OURO_NUM_CLASSES] = {
    R16(1),  R16(2),  R16(3),  R16(4),  R16(5),  R16(6),  R16(7),  R16(8),
    R16(9),  R16(10), R16(11), R16(12), R16(13), R16(14), R16(15), R16(16),
    R16(17), R16(18), R16(19), R16(20), R16(21), R16(22), R16(23), R16(24),
    R16(25), R16(26), R16(27), R16(28), R16(29), R16(30), R16(31), R16(32),
    RECIP(640), RECIP(768), RECIP(896), RECIP(1024), RECIP(1280), RECIP(1536),
    RECIP(1792), RECIP(2048)};

/* The talloc whose pool (or large block) holds o: its owner (both chunk
 * headers keep it at the same place, ouro.h's ouro__chunk_head). */
static inline uint16_t owner_id(const ouro_object *o)
{
    return ((const ouro__chunk_head *)ouro__pool_of(o))->owner;
}

static inline ouro__brc *brc_of(const ouro_object *o) { return ouro__brc_of(o); }

/* True if o's shared word and queue link are certainly 0: o sits in an
 * object pool whose brc array no writer has touched since the pool
 * started (ouro__pool.brc_used).  A large block's are read instead. */
static inline bool brc_clean(const ouro_object *o)
{
    const ouro__pool *pool = ouro__pool_of(o);
    return pool->c.kind == OURO__CHUNK_POOL &&
           __atomic_load_n(&pool->brc_used, __ATOMIC_RELAXED) == 0;
}

/* What brc_clean promises of o itself, and what a new object starts
 * with, for assertions: its own shared word and queue link are 0.  An
 * assertion must not call brc_clean again after the test it checks:
 * another thread may mark the pool at any moment for another of its
 * objects (taking a reference to it, through a weak reference or a
 * container), so a second reading of brc_used may differ from the first
 * while o's own entry stays 0 (CI, Valgrind, 2026-12-03:
 * shared_weak_references_read_while_referents_die failed that way). */
static inline bool brc_zero(const ouro_object *o)
{
    const ouro__brc *b = brc_of(o);
    return __atomic_load_n(&b->shared, __ATOMIC_RELAXED) == 0 &&
           __atomic_load_n(&b->qlink, __ATOMIC_RELAXED) == 0;
}

/* o's shared word and queue link, about to be written: its pool marked
 * first (a load, and a store once per pool).  The mark is sequenced
 * before the write, so a thread that the write happens before sees it. */
static inline ouro__brc *brc_touch(const ouro_object *o)
{
    ouro__pool *pool = ouro__pool_of(o);
    if (pool->c.kind == OURO__CHUNK_POOL &&
        __atomic_load_n(&pool->brc_used, __ATOMIC_RELAXED) == 0)
        __atomic_store_n(&pool->brc_used, 1, __ATOMIC_RELAXED);
    return ouro__brc_of(o);
}

#define SH_ONE 4 /* one reference in the shared word (count << 2) */

static inline uint32_t rc_load(const ouro_object *o)
{
    return __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
}
static inline void rc_store(ouro_object *o, uint32_t v)
{
    __atomic_store_n(&o->refcnt, v, __ATOMIC_RELAXED);
}

/* Free dead o's block, its header marked freed (debug heaps: so that a
 * later reference operation on it is caught).  A pool block's shared word
 * and queue link are zeroed here, where its death has just read them,
 * rather than when the block is handed out again: the allocation then
 * touches only the object's own lines (a new pool's array starts zeroed,
 * pool.c).  A large block's are set when it is allocated. */
/* A dead object's block freed: its shared word and link zeroed first
 * unless its pool is clean (a free block's entry is zero). */
static inline void free_dead_block(ouro_heap *h, ouro__talloc *ta, ouro_object *o)
{
    if (!brc_clean(o) && ouro__pool_of(o)->c.kind == OURO__CHUNK_POOL)
        *brc_of(o) = (ouro__brc){0, 0};
    free_block(h, ta, o);
}

static void free_dead(ouro_heap *h, ouro__talloc *ta, ouro_object *o)
{
    if (h->cfg.debug >= OURO_DEBUG_CHECKS) {
        rc_store(o, OURO__FREED_REFCNT);
        o->flags = OURO__F_FREED;
        o->gc_next = 0;
    } else {
        o->flags = 0;
    }
    free_dead_block(h, ta, o);
}

/* Is the calling thread (ta, NULL when not attached) o's owner, with o's
 * local count in use (not merged)? */
static inline bool owned_here(const ouro__talloc *ta, const ouro_object *o, uint32_t rc)
{
    if (!ta || (rc & OURO__RC_MERGED))
        return false;
    if (owner_id(o) == ta->id)
        return true;
    /* The thread holding the world stopped acts for every owner: they are
     * stopped or parked, and touch no count until it restarts. */
    return ALOAD_RELAXED(&ta->heap->shared->stopper) == ta;
}

bool ouro__try_incref(ouro_object *o)
{
    uint32_t rc = rc_load(o);
    if (rc >= OURO_IMMORTAL_REFCNT)
        return true;
    ouro_heap *h = ouro__heap_of(o);
    if (!h->shared) {
        if (rc == 0)
            return false;
        ouro_incref(o);
        return true;
    }
    ouro__talloc *ta = self(h);
    if (owned_here(ta, o, rc)) {
        if ((rc & OURO__RC_LOCAL) == 0)
            return false;
        ouro_incref(o);
        return true;
    }
    ouro__brc *b = brc_touch(o);
    int32_t sh = __atomic_load_n(&b->shared, __ATOMIC_RELAXED);
    do {
        if ((sh & 3) == OURO__SH_MERGED && (sh >> 2) <= 0)
            return false; /* merged and zero: dying */
    } while (!__atomic_compare_exchange_n(&b->shared, &sh, sh + SH_ONE, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    return true;
}

void ouro__shared_mark_weak(ouro_object *o)
{
    int32_t zero = 0;
    (void)__atomic_compare_exchange_n(&brc_touch(o)->shared, &zero, OURO__SH_MAYBE_WEAKREF, false,
                                      __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
}


static void obj_dealloc(ouro_heap *h, ouro__talloc *ta, ouro_object *o);
static void drain_deferred(ouro_heap *h, ouro__talloc *ta);
static inline void untrack_young(ouro_heap *h, ouro_object *o);
static void process_orphans(ouro_heap *h, ouro__talloc *me);

/* Merge o's local count into its shared word, `extra` added (-1: the
 * reference a queue held); o is owned by the caller, or its owner is
 * stopped, parked or detached.  Returns the merged count. */
static int32_t explicit_merge(ouro_object *o, int32_t extra)
{
    ouro__brc *b = brc_touch(o);
    uint32_t rc = rc_load(o);
    int32_t local = (rc & OURO__RC_MERGED) ? 0 : (int32_t)(rc & OURO__RC_LOCAL);
    /* Marked merged before the CAS (gh-119999): once the CAS publishes
     * the merged count, another thread may drop it to zero and free o, so
     * nothing may write o after it.  A release store is enough, as in
     * CPython's merge: a thread whose CAS on the shared word comes after
     * this one in its order reads the mark after it (the CAS publishes
     * every write before it), and one whose CAS comes first left a word
     * that this CAS reads and merges, whichever mark that thread then
     * sees (decref_shared_word handles both).  It was sequentially
     * consistent, a locked exchange on x86: 8% of W11's object
     * producer/consumer. */
    __atomic_store_n(&o->refcnt, OURO__RC_SHARED | OURO__RC_MERGED, __ATOMIC_RELEASE);
    int32_t sh = __atomic_load_n(&b->shared, __ATOMIC_RELAXED), total;
    do {
        total = (sh >> 2) + local + extra;
    } while (!__atomic_compare_exchange_n(&b->shared, &sh, (int32_t)((uint32_t)total << 2) |
                                                              OURO__SH_MERGED,
                                          false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return total;
}

/* The objects other threads queued for ta: merged, and freed when
 * nothing else holds them.  By ta's thread, or with it stopped, parked
 * or detached (`me`: the calling thread's talloc). */
static void process_queue(ouro_heap *h, ouro__talloc *me, ouro__talloc *ta)
{
    if (__atomic_load_n(&ta->oqueue, __ATOMIC_RELAXED) == 0)
        return;
    uint32_t r = __atomic_exchange_n(&ta->oqueue, 0, __ATOMIC_ACQUIRE);
    while (r) {
        ouro_object *o = ouro__obj_of(h, r);
        r = brc_of(o)->qlink;
        if (explicit_merge(o, -1) == 0)
            obj_dealloc(h, me, o);
    }
}

/* Push the chain first..last (compressed references linked through
 * their qlink, objects of `owner` each holding the queue's reference)
 * onto owner's queue: one compare-and-swap. */
static void queue_push_chain(ouro_heap *h, ouro__talloc *owner, uint32_t first, uint32_t last)
{
    ouro__brc *b = brc_touch(ouro__obj_of(h, last));
    uint32_t head = __atomic_load_n(&owner->oqueue, __ATOMIC_RELAXED);
    do {
        __atomic_store_n(&b->qlink, head, __ATOMIC_RELAXED);
    } while (!__atomic_compare_exchange_n(&owner->oqueue, &head, first, true,
                                          __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
}

/* Slot s of ta's ocache onto its owner's queue, and emptied.  Run by ta's
 * thread, or by a thread holding the world stopped. */
static void ocache_flush_slot(ouro_heap *h, ouro__talloc *ta, struct ouro__ocache *s)
{
    OURO__ASSERT(s->n > 0 && s->owner != ta->id);
    queue_push_chain(h, ALOAD(&h->tallocs[s->owner]), s->head, s->tail);
    ta->ocache_n -= s->n;
    s->head = s->tail = 0;
    s->n = 0;
}

static __attribute__((noinline)) void ocache_flush(ouro_heap *h, ouro__talloc *ta)
{
    for (int i = 0; i < OURO__RCACHE_SLOTS && ta->ocache_n > 0; i++)
        if (ta->ocache[i].n > 0)
            ocache_flush_slot(h, ta, &ta->ocache[i]);
    OURO__ASSERT(ta->ocache_n == 0);
}

/* Everything ta holds for other threads pushed: its objects onto their
 * owners' queues, its blocks onto their remote lists (a thread that
 * parks or detaches holds nothing). */
static void push_held(ouro_heap *h, ouro__talloc *ta)
{
    if (ta->ocache_n > 0)
        ocache_flush(h, ta);
    if (ta->rcache_n > 0)
        rcache_flush(h, ta);
}

/* Push o (a reference held by the queue) towards its owner's queue.  An
 * attached thread holds it in its ocache and pushes its owner's objects
 * 64 at a time, as rcache_add does blocks: the owner then finds its queue
 * non-empty once a batch, not once an object (each time its allocation
 * fast path went to the slow one, and the queue's line moved between the
 * two threads: W11's object producer/consumer).  The slots are emptied
 * when full, and when the thread parks, detaches or calls ouro_safepoint;
 * process_all_queues empties every thread's.  A thread that is not
 * attached (ta NULL) pushes it at once. */
static void queue_push(ouro_heap *h, ouro__talloc *ta, ouro_object *o)
{
    uint16_t owner = owner_id(o);
    uint32_t r = ouro__obj_ref(h, o);
    if (!ta || owner == ta->id) {
        queue_push_chain(h, ALOAD(&h->tallocs[owner]), r, r);
        return;
    }
    struct ouro__ocache *s = &ta->ocache[owner & (OURO__RCACHE_SLOTS - 1)];
    if (s->n > 0 && s->owner != owner)
        ocache_flush_slot(h, ta, s);
    __atomic_store_n(&brc_touch(o)->qlink, s->head, __ATOMIC_RELAXED);
    if (s->n == 0) {
        s->tail = r;
        s->owner = owner;
    }
    s->head = r;
    ta->ocache_n++;
    if (++s->n >= OURO__RCACHE_BATCH)
        ocache_flush_slot(h, ta, s);
}

static void decref_shared_word(ouro_heap *h, ouro__talloc *ta, ouro_object *o);

/* The count reached zero in the shared word of a merged object: free it
 * here, or, from a thread that is not attached (it has no pools to free
 * into), hand it to its owner with a reference for the queue. */
static void dead_in_shared(ouro_heap *h, ouro__talloc *ta, ouro_object *o)
{
    /* A tracked object on its owner's young list dies in its owner's
     * thread (or one holding the owner stopped): the list is the owner's. */
    if (ta && (!(o->flags & OURO__F_TLIST) || owner_id(o) == ta->id ||
               ALOAD_RELAXED(&h->shared->stopper) == ta)) {
        obj_dealloc(h, ta, o);
        return;
    }
    __atomic_store_n(&brc_touch(o)->shared, SH_ONE | OURO__SH_MERGED, __ATOMIC_RELAXED);
    queue_push(h, ta, o);
}

/* A decrement of o's shared word: by a thread that is not its owner, or
 * by any thread once o is merged (CPython's _Py_DecRefShared). */
static void decref_shared_word(ouro_heap *h, ouro__talloc *ta, ouro_object *o)
{
    ouro__brc *b = brc_touch(o);
    int32_t sh = __atomic_load_n(&b->shared, __ATOMIC_RELAXED), nw;
    bool queue;
    do {
        /* Shared count zero, not queued or merged: the owner's local
         * count holds the rest, so the owner must merge.  The reference
         * is not subtracted: the queue holds it. */
        queue = sh == 0 || sh == OURO__SH_MAYBE_WEAKREF;
        nw = queue ? OURO__SH_QUEUED : sh - SH_ONE;
    } while (!__atomic_compare_exchange_n(&b->shared, &sh, nw, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    if (queue) {
        /* The owner may have merged meanwhile (its local count reached
         * zero): then the queue's reference is dropped here instead
         * (gh-119999: the owner marks the merge before its own CAS). */
        if (__atomic_load_n(&o->refcnt, __ATOMIC_SEQ_CST) & OURO__RC_MERGED)
            decref_shared_word(h, ta, o);
        else
            queue_push(h, ta, o);
    } else if (nw == OURO__SH_MERGED) {
        dead_in_shared(h, ta, o);
    }
}

/* The owner's local count reached zero (CPython's
 * _Py_MergeZeroLocalRefcount). */
static void merge_zero_local(ouro_heap *h, ouro__talloc *ta, ouro_object *o)
{
    if (brc_clean(o)) {
        obj_dealloc(h, ta, o); /* nobody else ever held it */
        return;
    }
    ouro__brc *b = brc_of(o);
    int32_t sh = __atomic_load_n(&b->shared, __ATOMIC_ACQUIRE);
    if (sh == 0) {
        obj_dealloc(h, ta, o); /* nobody else ever held it */
        return;
    }
    /* Merged from now on: every thread, the owner too, uses the shared
     * word.  Marked before the CAS (released by it, as explicit_merge's),
     * so that a thread that queued it sees the mark after its own CAS and
     * drops the queue's reference itself. */
    __atomic_store_n(&o->refcnt, OURO__RC_SHARED | OURO__RC_MERGED, __ATOMIC_RELEASE);
    int32_t nw;
    do {
        nw = (sh & ~3) | OURO__SH_MERGED;
    } while (!__atomic_compare_exchange_n(&b->shared, &sh, nw, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_RELAXED));
    if (nw == OURO__SH_MERGED)
        obj_dealloc(h, ta, o);
}

/* The start of both reference operations on a count with the top bit
 * set: o's shared heap, or NULL when there is nothing more to do (an
 * immortal object, or a single-thread heap's count that passed 2^31,
 * made immortal here). */
static inline ouro_heap *shared_heap_of(ouro_object *o, uint32_t rc)
{
    if (rc >= OURO_IMMORTAL_REFCNT)
        return NULL;
    ouro_heap *h = ouro__heap_of(o);
    if (!h->shared) {
        rc_store(o, OURO_IMMORTAL_REFCNT);
        return NULL;
    }
    return h;
}

void ouro__incref_shared(ouro_object *o)
{
    uint32_t rc = rc_load(o);
    ouro_heap *h = shared_heap_of(o, rc);
    if (!h)
        return;
    ouro__talloc *ta = self(h);
    if (owned_here(ta, o, rc)) {
        if ((rc & OURO__RC_LOCAL) == OURO__RC_LOCAL)
            rc_store(o, OURO_IMMORTAL_REFCNT); /* the local count is full */
        else
            rc_store(o, rc + 1);
        return;
    }
    __atomic_fetch_add(&brc_touch(o)->shared, SH_ONE, __ATOMIC_RELAXED);
}

/*
 * The owner's deallocation of an object that nobody else ever held, in
 * the common case: obj_dealloc and obj_dealloc_now's steps, with every
 * test that cannot pass folded into one (dealloc_plain_ok).  No code but
 * the type's own clear and dealloc hooks runs, as object.c's
 * dealloc_hooks.  Its pool is clean (brc_used), so nothing reads its
 * shared word; the hooks may make a weak reference to it, which the last
 * step clears as obj_dealloc_now does.
 */
static inline bool dealloc_plain_ok(const ouro_heap *h, const ouro__talloc *ta,
                                    const ouro_object *o, const ouro_type *t)
{
    /* what the caller's one reading of brc_clean(o) implies of o itself
     * (brc_zero); no weak reference, no finalizer, not a zombie, no
     * trashcan; no tracer and no debug checks */
    return brc_zero(o) && !t->finalize &&
           !(o->flags & (OURO__F_HASWEAK | OURO__F_ZOMBIE)) &&
           ta->dealloc_depth < h->cfg.dealloc_depth && h->tracer == NULL &&
           h->cfg.debug < OURO_DEBUG_CHECKS;
}

static __attribute__((noinline)) void dealloc_plain(ouro_heap *h, ouro__talloc *ta,
                                                    ouro_object *o, ouro_type *t)
{
    if (o->flags & OURO__F_TLIST) {
        untrack_young(h, o);
    } else if (t->flags & OURO_TYPE_GC) {
        /* In the generations (it survived a collection) or untracked: its
         * links are read and unlinked under gc_lock if it is free (another
         * thread unlinking a neighbour writes them), else obj_dealloc
         * decides (a zombie). */
        if (!ouro__spin_trylock(&h->shared->gc_lock)) {
            obj_dealloc(h, ta, o);
            return;
        }
        if (o->gc_next)
            ouro__gc_untrack(h, o);
        ouro__spin_unlock(&h->shared->gc_lock);
    }
    o->flags |= OURO__F_DEALLOC;
    rc_store(o, OURO__RC_SHARED | OURO__RC_MERGED); /* reads as dead */
    ta->dealloc_depth++;
    if (t->clear)
        t->clear(h, o);
    if (t->dealloc)
        t->dealloc(h, o);
    if (OURO__UNLIKELY(o->flags & OURO__F_HASWEAK))
        ouro__weak_clear_silently(h, o); /* made by its clear or dealloc */
    ta->objects_freed++;
    if ((t->flags & OURO_TYPE_GC) && ta->young_count > 0)
        ta->young_count--;
    OURO__ASSERT(!(o->flags & OURO__F_ZOMBIE) && owner_id(o) == ta->id);
    o->flags = 0; /* free_dead's release heap step */
    free_dead_block(h, ta, o);
    ta->dealloc_depth--;
    if (ta->deferred && ta->dealloc_depth == 0)
        drain_deferred(h, ta);
}

/* Every drop but the owner's plain deallocation: the owner's local count
 * (its last reference included), or the shared word. */
static __attribute__((noinline)) void decref_shared_slow(ouro_object *o, uint32_t rc)
{
    ouro_heap *h = shared_heap_of(o, rc);
    if (!h)
        return;
    ouro__talloc *ta = self(h);
    if (!ta)
        not_attached(h, "a reference drop");
    if (owned_here(ta, o, rc)) {
        uint32_t local = rc & OURO__RC_LOCAL;
        if (OURO__UNLIKELY(local == 0)) {
            if (h->cfg.debug >= OURO_DEBUG_CHECKS)
                ouro__fatal(o, "decref below zero (reference count underflow)");
            return;
        }
        rc_store(o, rc - 1);
        if (local == 1)
            merge_zero_local(h, ta, o);
        return;
    }
    decref_shared_word(h, ta, o);
}

/* dealloc_plain for a leaf: an object whose type has no clear or dealloc
 * hook, on the thread's own young list or of an untracked type.  Nothing can run
 * during its death, so nothing can nest in it: it is unlinked and freed
 * at once, without the trashcan's bookkeeping (object.c's ouro__dealloc
 * does the same). */
static inline void dealloc_leaf(ouro_heap *h, ouro__talloc *ta, ouro_object *o, uint16_t of,
                                unsigned tflags)
{
    OURO__ASSERT(owner_id(o) == ta->id && brc_zero(o) && !(o->flags & OURO__F_ZOMBIE));
    if (of & OURO__F_TLIST)
        untrack_young(h, o);
    rc_store(o, OURO__RC_SHARED | OURO__RC_MERGED); /* reads as dead */
    ta->objects_freed++;
    if ((tflags & OURO_TYPE_GC) && ta->young_count > 0)
        ta->young_count--;
    o->flags = 0;
    /* its own pool's block (owner_id(o) == ta->id: free_block's test) */
    if (!ouro__block_free_try_ta(ta, o))
        ouro__block_free_ta(h, ta, o);
}

/* A leaf but for its tail calls: the owner's last local reference
 * (ouro.h's inline operation does the others; the thread-local identity
 * names the talloc) to an object that dealloc_leaf or dealloc_plain can
 * free, or decref_shared_slow before anything has changed.  Its tests
 * are dealloc_plain_ok's, the tracer and debug checks folded into the
 * heap's shared_obj_slow. */
void ouro__decref_shared(ouro_object *o)
{
    uint32_t rc = rc_load(o);
    if ((rc & (OURO__RC_MERGED | OURO__RC_LOCAL)) == 1 && rc < OURO_IMMORTAL_REFCNT &&
        ouro__owned(o)) {
        ouro_heap *h = (ouro_heap *)ouro__self.heap;
        ouro__talloc *ta = tls_ta;
        ouro_type *t = ouro__type(o);
        uint16_t of = o->flags;
        if (OURO__LIKELY(!((of & (OURO__F_HASWEAK | OURO__F_ZOMBIE)) | h->shared_obj_slow) &&
                         !t->finalize && ta->dealloc_depth < h->cfg.dealloc_depth &&
                         brc_clean(o))) {
            OURO__ASSERT(dealloc_plain_ok(h, ta, o, t));
            /* (an object in the generations is unlinked under gc_lock,
             * and its links are read there: dealloc_plain) */
            if (!t->clear && !t->dealloc &&
                ((of & OURO__F_TLIST) || !(t->flags & OURO_TYPE_GC)))
                dealloc_leaf(h, ta, o, of, t->flags);
            else
                dealloc_plain(h, ta, o, t);
            return;
        }
    }
    decref_shared_slow(o, rc);
}

/* ----- the collector's lists */

/* Track o on its owner's young list (the caller is its owner, or holds
 * the owner stopped or detached). */
static inline void track_young_at(ouro_heap *h, ouro_object *o, uint16_t owner)
{
    ouro_object *head = &h->young[owner].head;
    uint32_t r = ouro__obj_ref(h, o), last = head->gc_prev;
    ouro__obj_of(h, last)->gc_next = r;
    o->gc_prev = last;
    o->gc_next = ouro__head_ref(h, head);
    head->gc_prev = r;
    o->flags |= OURO__F_TLIST;
}

static inline void track_young(ouro_heap *h, ouro_object *o)
{
    track_young_at(h, o, owner_id(o));
}

/* Off its owner's young list (the caller may change that list). */
static inline void untrack_young(ouro_heap *h, ouro_object *o)
{
    OURO__ASSERT(o->gc_next != 0 && (o->flags & OURO__F_TLIST));
    ouro__obj_of(h, o->gc_prev)->gc_next = o->gc_next;
    ouro__obj_of(h, o->gc_next)->gc_prev = o->gc_prev;
    o->gc_next = 0;
    o->flags &= (uint16_t)~OURO__F_TLIST;
}

/* Untrack o: from its owner's young list (the caller is the owner or holds
 * it), or from the generation it is in, under the heap's gc_lock unless
 * the caller holds the world stopped. */
static void untrack(ouro_heap *h, ouro_object *o)
{
    if (o->flags & OURO__F_TLIST) {
        untrack_young(h, o);
        return;
    }
    /* Its links, whether it has any included, are read under the lock:
     * unlinking a neighbour in another thread writes them. */
    bool stopped = ouro__stw_mine(h);
    if (!stopped)
        ouro__spin_lock(&h->shared->gc_lock);
    if (o->gc_next)
        ouro__gc_untrack(h, o);
    if (!stopped)
        ouro__spin_unlock(&h->shared->gc_lock);
}

bool ouro__shared_track_own(ouro_heap *h, ouro_object *o, bool track)
{
    ouro__talloc *ta = self(h);
    if (!ta || owner_id(o) != ta->id)
        return false;
    if (track) {
        if (o->gc_next)
            return true; /* tracked already */
        if (ouro_is_immortal(o))
            return true;
        track_young(h, o);
        return true;
    }
    if (!o->gc_next)
        return true;
    if (!(o->flags & OURO__F_TLIST))
        return false; /* in the generations: the world stops */
    untrack_young(h, o);
    return true;
}

/* ----- allocation and deallocation */

/* The general path: every case (a thread not attached, a stop of the
 * world requested, objects queued by other threads, a collection due, a
 * new pool or a large block, tracing). */
static __attribute__((noinline)) ouro_object *shared_new_slow(ouro_heap *h, ouro_type *type,
                                                              const char *file, int line,
                                                              const char *func, size_t size)
{
    ouro__talloc *ta = self(h);
    if (!ta) {
        not_attached(h, "ouro_new");
        return NULL;
    }
    safepoint(h, ta);
    process_queue(h, ta, ta);
    bool gc = (type->flags & OURO_TYPE_GC) != 0;
    if (gc) {
        /* As CPython: counted, and a collection due runs (the world
         * stopped) before the new object is tracked. */
        ta->young_count++;
        if (ouro__young_collection_due(h, ta->young_count))
            (void)ouro__shared_stopped(h, "ouro_new", auto_collect, NULL, true);
    }
    ouro_object *o = ouro__block_alloc_try_ta(ta, size, 0);
    if (!o) {
        process_orphans(h, ta);
        o = alloc_slow(h, ta, size, 0);
        if (!o) {
            if (gc && ta->young_count > 0)
                ta->young_count--;
            return NULL;
        }
    }
    ouro__zero_body(o, size);
    o->type_id = (uint16_t)type->id;
    o->flags = OURO__F_OBJECT;
    o->gc_next = o->gc_prev = 0;
    if (OURO__UNLIKELY(ouro__pool_of(o)->c.kind == OURO__CHUNK_LARGE)) {
        ouro__brc *b = brc_of(o);
        __atomic_store_n(&b->shared, 0, __ATOMIC_RELAXED);
        b->qlink = 0;
    }
    OURO__ASSERT(brc_zero(o));
    rc_store(o, OURO__RC_SHARED | 1);
    ta->objects_new++;
    if (OURO__UNLIKELY(h->tracer != NULL))
        trace_alloc(h, o, 0, file, line, func);
    if (gc)
        track_young_at(h, o, ta->id);
    return o;
}

_Static_assert(offsetof(ouro_object, type_id) == 4 && offsetof(ouro_object, flags) == 6 &&
                   offsetof(ouro_object, gc_next) == 8 && offsetof(ouro_object, gc_prev) == 12,
               "shared_new_finish writes the type and flags as one word, the links as one");

/* The fast path's second half, once it has a block (the young list's
 * link taken from the pool header, as object.c's new_finish). */
static inline __attribute__((always_inline)) ouro_object *
shared_new_finish(ouro_heap *h, ouro__talloc *ta, ouro_type *type, ouro_object *o, size_t size)
{
    ouro__zero_body(o, size);
    OURO__ASSERT(brc_zero(o));
    ta->objects_new++;
    uint16_t flags = OURO__F_OBJECT;
    uint32_t next = 0, prev = 0;
    if (type->flags & OURO_TYPE_GC) {
        /* appended to the thread's young list, as track_young_at does */
        ta->young_count++;
        ouro_object *head = &h->young[ta->id].head;
        uint32_t r = ouro__pool_block_ref(ouro__pool_of(o), o);
        OURO__ASSERT(r == ouro__obj_ref(h, o));
        prev = head->gc_prev;
        next = ouro__head_ref(h, head);
        ouro__obj_of(h, prev)->gc_next = r;
        head->gc_prev = r;
        flags |= OURO__F_TLIST;
    }
    /* Three stores: the count (an atomic one: other threads read counts),
     * the type and flags as one word, the links as one (as object.c's
     * header_init). */
    rc_store(o, OURO__RC_SHARED | 1);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint32_t tf = (uint32_t)(uint16_t)type->id | (uint32_t)flags << 16;
    uint64_t links = next | (uint64_t)prev << 32;
    memcpy(&o->type_id, &tf, sizeof tf);
    memcpy(&o->gc_next, &links, sizeof links);
#else
    o->type_id = (uint16_t)type->id;
    o->flags = flags;
    o->gc_next = next;
    o->gc_prev = prev;
#endif
    return o;
}

static __attribute__((noinline)) ouro_object *
shared_new_finish_big(ouro_heap *h, ouro__talloc *ta, ouro_type *type, ouro_object *o, size_t size)
{
    return shared_new_finish(h, ta, type, o, size);
}

/*
 * The fast path, a leaf as object.c's new_fast is: the calling thread
 * attached (its talloc from the thread-local identity), no stop of the
 * world requested, nothing in its queue, no collection due, no tracer and
 * a pool block at hand; anything else goes to shared_new_slow before
 * anything has changed.  The type is ready and small (new_fast's tests).
 */
ouro_object *ouro__shared_new(ouro_heap *h, ouro_type *type, const char *file, int line,
                              const char *func, size_t size)
{
    if (OURO__UNLIKELY(ouro__self.heap != h))
        goto slow;
    ouro__talloc *ta = tls_ta;
    if (OURO__UNLIKELY(stop_requested(h) ||
                       __atomic_load_n(&ta->oqueue, __ATOMIC_RELAXED) != 0 ||
                       h->tracer != NULL))
        goto slow;
    /* shared_new_slow's test, on the count it would make */
    if ((type->flags & OURO_TYPE_GC) && ouro__young_collection_due(h, ta->young_count + 1))
        goto slow;
    ouro_object *o = ouro__block_alloc_try_ta(ta, size, 0);
    if (OURO__UNLIKELY(o == NULL))
        goto slow;
    if (size > 64)
        return shared_new_finish_big(h, ta, type, o, size);
    return shared_new_finish(h, ta, type, o, size);
slow:
    return shared_new_slow(h, type, file, line, func, size);
}


/* Run t's finalizer on dying o with a temporary reference in its shared
 * word (o is merged: any thread's references count there).  True if it
 * resurrected o: then o lives on, merged, finalized. */
static bool finalize_resurrects(ouro_heap *h, ouro__talloc *ta, ouro_object *o, ouro_type *t)
{
    ouro__brc *b = brc_touch(o);
    bool gc = (t->flags & OURO_TYPE_GC) != 0;
    if (gc) {
        /* As subtype_dealloc: tracked while it runs.  On its owner's young
         * list if this thread may change it (the owner, or the one holding
         * the world stopped), else on generation 0, under the lock. */
        if (owner_id(o) == ta->id || ALOAD_RELAXED(&h->shared->stopper) == ta) {
            track_young(h, o);
        } else {
            ouro__spin_lock(&h->shared->gc_lock);
            ouro__gc_track(h, o);
            ouro__spin_unlock(&h->shared->gc_lock);
        }
    }
    __atomic_store_n(&b->shared, SH_ONE | OURO__SH_MERGED, __ATOMIC_RELAXED);
    t->finalize(h, o);
    /* Alive until the temporary reference goes: the flags first, since
     * once it goes another thread may free a resurrected o. */
    o->flags &= (uint16_t)~OURO__F_DEALLOC;
    int32_t sh = __atomic_sub_fetch(&b->shared, SH_ONE, __ATOMIC_ACQ_REL);
    if (sh != OURO__SH_MERGED)
        return true;
    o->flags |= OURO__F_DEALLOC; /* nobody else holds it */
    if (gc)
        untrack(h, o);
    return false;
}

static void obj_dealloc_now(ouro_heap *h, ouro__talloc *ta, ouro_object *o);

#define ZOMBIE_BATCH 256

/* Unlink `of`'s zombies from the generations (under gc_lock unless the
 * calling thread, `me`, holds the world stopped) and free their blocks. */
static void bury(ouro_heap *h, ouro__talloc *me, ouro__talloc *of)
{
    uint32_t list = of->zombies;
    if (!list)
        return;
    of->zombies = 0;
    of->nzombies = 0;
    bool stopped = ALOAD_RELAXED(&h->shared->stopper) == me;
    if (!stopped)
        ouro__spin_lock(&h->shared->gc_lock);
    for (uint32_t r = list; r;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = brc_of(o)->qlink;
        if (o->gc_next) /* (untracked ones are zombies too: read here) */
            ouro__gc_untrack(h, o); /* the generation's counters too */
    }
    if (!stopped)
        ouro__spin_unlock(&h->shared->gc_lock);
    for (uint32_t r = list; r;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = brc_of(o)->qlink;
        if (!(o->flags & OURO__F_ZDONE)) {
            /* still being deallocated (a collection its user code ran):
             * untracked now, freed when its deallocation ends */
            o->flags &= (uint16_t)~OURO__F_ZOMBIE;
            continue;
        }
        free_dead(h, me, o);
    }
}

/* Every thread's zombies, with the world stopped (or one thread left). */
static void bury_all(ouro_heap *h, ouro__talloc *me)
{
    for (uint32_t i = 0; i < h->shared->ntallocs; i++)
        bury(h, me, h->tallocs[i]);
}

static void drain_deferred(ouro_heap *h, ouro__talloc *ta)
{
    ta->dealloc_depth++;
    while (ta->deferred) {
        ouro_object *o = ta->deferred;
        ta->deferred = o->gc_prev ? ouro__obj_of(h, o->gc_prev) : NULL;
        o->gc_prev = 0;
        obj_dealloc_now(h, ta, o);
    }
    ta->dealloc_depth--;
}

/* CPython's subtype_dealloc for an untracked object, in the calling
 * thread (ta); the trashcan and depth are the thread's own. */
static void obj_dealloc(ouro_heap *h, ouro__talloc *ta, ouro_object *o)
{
    ouro_type *t = ouro__type(o);
    if (t->flags & OURO_TYPE_GC) {
        /* On its owner's young list: this thread is the owner, or holds
         * the owner stopped (dead_in_shared).  An object of the
         * generations (it survived a collection) that dies in a running
         * world is unlinked at once if gc_lock is free; if another thread
         * holds it and the object cannot be resurrected, it stays linked
         * there until buried in a batch (bury), so that its death does
         * not wait for the lock. */
        if (o->flags & OURO__F_TLIST) {
            untrack_young(h, o);
        } else if (ALOAD_RELAXED(&h->shared->stopper) != ta &&
                   ouro__spin_trylock(&h->shared->gc_lock)) {
            /* the lock is free (always, with one thread): unlinked now */
            if (o->gc_next)
                ouro__gc_untrack(h, o);
            ouro__spin_unlock(&h->shared->gc_lock);
        } else if (!t->finalize && ta->dealloc_depth < h->cfg.dealloc_depth &&
                   ALOAD_RELAXED(&h->shared->stopper) != ta &&
                   ALOAD_RELAXED(&h->shared->gc_runner) != ta) {
            /* On the thread's zombie list from now: a collection that its
             * own deallocation runs (user code) buries it first. */
            o->flags |= OURO__F_ZOMBIE;
            brc_touch(o)->qlink = ta->zombies;
            ta->zombies = ouro__obj_ref(h, o);
            ta->nzombies++;
        } else {
            untrack(h, o);
        }
    }
    o->flags |= OURO__F_DEALLOC;
    rc_store(o, OURO__RC_SHARED | OURO__RC_MERGED); /* reads as dead: count 0 */
    /* Its shared word too, for the threads that may read it (a weak
     * reference's: weak references mark the pool); in a clean pool it
     * stays 0, read as dead with the merged local count. */
    if (!brc_clean(o))
        __atomic_store_n(&brc_of(o)->shared, OURO__SH_MERGED, __ATOMIC_RELAXED);
    if (ta->dealloc_depth >= h->cfg.dealloc_depth) {
        o->gc_prev = ta->deferred ? ouro__obj_ref(h, ta->deferred) : 0;
        ta->deferred = o;
        return;
    }
    obj_dealloc_now(h, ta, o);
    if (ta->deferred && ta->dealloc_depth == 0)
        drain_deferred(h, ta);
}

static void obj_dealloc_now(ouro_heap *h, ouro__talloc *ta, ouro_object *o)
{
    ouro_type *t = ouro__type(o);
    ta->dealloc_depth++;
    if (ouro__has_pep442_del(t) && !(o->flags & OURO__F_FINALIZED)) {
        o->flags |= OURO__F_FINALIZED;
        if (finalize_resurrects(h, ta, o, t))
            goto done;
    }
    if (o->flags & OURO__F_HASWEAK)
        ouro__weak_clear_refs(h, o); /* callbacks, in this thread */
    if (ouro__has_legacy_del(t) && finalize_resurrects(h, ta, o, t))
        goto done;
    if (t->finalize && (o->flags & OURO__F_HASWEAK))
        ouro__weak_clear_silently(h, o);
    if (t->clear)
        t->clear(h, o);
    if (t->dealloc)
        t->dealloc(h, o);
    if (o->flags & OURO__F_HASWEAK)
        ouro__weak_clear_silently(h, o); /* made by its clear or dealloc */
    ta->objects_freed++;
    if (OURO__UNLIKELY(h->tracer != NULL))
        trace_free(h, o, 0);
    if ((t->flags & OURO_TYPE_GC) && ta->young_count > 0)
        ta->young_count--; /* as CPython's gen0 count at a GC object's free */
    if (h->cfg.debug >= OURO_DEBUG_CHECKS) {
        size_t n = ouro__block_size(o);
        memset((uint8_t *)o + sizeof(ouro_object), 0xDD, n - sizeof(ouro_object));
    }
    if (o->flags & OURO__F_ZOMBIE) {
        /* not buried yet: its links and flags stay for the burial, which
         * frees it */
        o->flags |= OURO__F_ZDONE;
        if (ta->nzombies >= ZOMBIE_BATCH)
            bury(h, ta, ta);
        goto done;
    }
    free_dead(h, ta, o);
done:
    ta->dealloc_depth--;
}

/* With the world stopped (or the caller the heap's one thread): every
 * talloc's queued objects merged and freed, in the calling thread. */
static void process_all_queues(ouro_heap *h, ouro__talloc *me)
{
    /* A death may queue objects to a state already done: again until
     * every queue stays empty. */
    bool again = true;
    while (again) {
        again = false;
        for (uint32_t i = 0; i < h->shared->ntallocs; i++)
            if (h->tallocs[i]->ocache_n > 0)
                ocache_flush(h, h->tallocs[i]);
        for (uint32_t i = 0; i < h->shared->ntallocs; i++)
            if (__atomic_load_n(&h->tallocs[i]->oqueue, __ATOMIC_RELAXED)) {
                process_queue(h, me, h->tallocs[i]);
                again = true;
            }
    }
}

/* The queues of detached threads (no thread to take them until one
 * attaches and adopts the state): taken by the calling thread, one state
 * at a time, claimed so that no attach adopts it meanwhile. */
static void process_orphans(ouro_heap *h, ouro__talloc *me)
{
    uint32_t n = __atomic_load_n(&h->shared->ntallocs, __ATOMIC_ACQUIRE);
    /* A death here drops references to the next object of a chain, which
     * (this thread not being the owner) queues it again, to the same or
     * another detached state: round after round until a round finds
     * nothing to take. */
    bool again = true;
    while (again) {
    again = false;
    bool waited = false;
    for (uint32_t i = 0; i < n; i++) {
        ouro__talloc *ta = ALOAD(&h->tallocs[i]);
        if (ta == me || __atomic_load_n(&ta->oqueue, __ATOMIC_SEQ_CST) == 0)
            continue;
        if (__atomic_load_n(&ta->state, __ATOMIC_SEQ_CST) != OURO__TS_DETACHED) {
            /* Its thread may be detaching past its last look at its queue
             * (ouro_thread_detach: CLOSING): then nobody else takes what
             * this thread's pushes left there.  Wait until it is detached
             * and take it. */
            if (__atomic_load_n(&ta->closing, __ATOMIC_SEQ_CST))
                again = waited = true;
            continue;
        }
        int free_claim = 0;
        if (!__atomic_compare_exchange_n(&ta->claim, &free_claim, 1, false, __ATOMIC_ACQUIRE,
                                         __ATOMIC_RELAXED))
            continue;
        if (__atomic_load_n(&ta->state, __ATOMIC_ACQUIRE) == OURO__TS_DETACHED)
            while (__atomic_load_n(&ta->oqueue, __ATOMIC_RELAXED)) {
                process_queue(h, me, ta);
                again = true;
            }
        __atomic_store_n(&ta->claim, 0, __ATOMIC_RELEASE);
    }
    /* what those deaths queued, pushed now: the next round may take it */
    if (me->ocache_n > 0)
        ocache_flush(h, me);
    if (waited) {
        safepoint(h, me); /* (a stop may be waiting for this thread) */
        sched_yield();
    }
    }
}

/* ------------------------------------------------------------ threads */

/* What a safe point does in full (ouro_safepoint, detach): stop if asked,
 * then the objects other threads queued for this thread and for detached
 * ones, and the blocks they freed. */
static void catch_up(ouro_heap *h, ouro__talloc *ta)
{
    safepoint(h, ta);
    if (ta->ocache_n > 0)
        ocache_flush(h, ta); /* first: detached owners' are taken next */
    process_queue(h, ta, ta);
    process_orphans(h, ta);
    if (ta->rcache_n > 0)
        rcache_flush(h, ta);
    drain(h, ta);
}

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

/* ------------------------------------------------------------ thread exit */

/* A thread that exits attached would never reach a safe point again: the
 * next stop of the world would wait for it for ever, and ouro_heap_free
 * would report it busy for ever.  Each thread keeps the list of states it
 * is attached with (ta->tnext, one per heap; tls_attached), and a
 * pthread key whose destructor, run at the thread's exit, detaches every
 * one of them as ouro_thread_detach would (unparked first, whatever the
 * nesting); a debug heap reports it, since the program meant to detach.
 * The main thread's return from main runs no destructor: the process is
 * ending.  If the key cannot be made (pthread_key_create fails), no
 * detach happens at exit, as before. */
static __thread ouro__talloc *tls_attached TLS_MODEL;
static pthread_key_t exit_key;
static bool exit_key_ok;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void thread_exit(void *first)
{
    (void)first; /* the list is tls_attached, still valid here */
    while (tls_attached) {
        ouro__talloc *ta = tls_attached;
        ouro_heap *h = ta->heap;
        if (h->cfg.debug >= OURO_DEBUG_CHECKS)
            ouro__report(h, "ouro: a thread exited attached to shared heap %p: detached at "
                            "its exit\n", (void *)h);
        if (ta->state == OURO__TS_PARKED)
            ouro_thread_unpark(h);
        ta->nest = 1;
        if (ouro_thread_detach(h) != 0 || tls_attached == ta)
            tls_attached = ta->tnext; /* cannot happen; never loop */
    }
}

static void exit_key_make(void)
{
    exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
}

/* ta (the calling thread's, just attached) joins the thread's list. */
static void exit_hook_add(ouro__talloc *ta)
{
    pthread_once(&exit_once, exit_key_make);
    ta->tnext = tls_attached;
    tls_attached = ta;
    if (exit_key_ok)
        pthread_setspecific(exit_key, ta); /* non-NULL: the destructor runs */
}

/* ta (the calling thread's, detaching or its heap freed) leaves it. */
static void exit_hook_remove(ouro__talloc *ta)
{
    for (ouro__talloc **p = &tls_attached; *p; p = &(*p)->tnext) {
        if (*p == ta) {
            *p = ta->tnext;
            break;
        }
    }
    ta->tnext = NULL;
    if (exit_key_ok)
        pthread_setspecific(exit_key, tls_attached);
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
    while (S->requested & STW_STOP) /* no thread joins a stopped world */
        pthread_cond_wait(&S->resumed, &S->stw_mu);
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        ouro__talloc *d = h->tallocs[i];
        int free_claim = 0;
        /* adopt: its pools and pending frees, unless a thread is taking
         * its queue meanwhile (process_orphans) */
        if (ALOAD_RELAXED(&d->state) == OURO__TS_DETACHED &&
            __atomic_compare_exchange_n(&d->claim, &free_claim, 1, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            ta = d;
            break;
        }
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
        __atomic_store_n(&S->ntallocs, S->ntallocs + 1, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&ta->closing, 0, __ATOMIC_SEQ_CST);
    ASTORE(&ta->state, OURO__TS_ATTACHED);
    ta->thread = pthread_self();
    ta->nest = 1;
    ta->counted = false;
    ta->last_error = 0;
    __atomic_store_n(&ta->claim, 0, __ATOMIC_RELEASE);
    S->attached++;
    if (S->attached > S->peak_attached)
        S->peak_attached = S->attached;
    S->attaches++;
    pthread_mutex_unlock(&S->stw_mu);
    tls_set(h, ta);
    exit_hook_add(ta);
    process_queue(h, ta, ta); /* what others queued for an adopted state */
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
    /* Off the thread's list while the state is still its own: once
     * DETACHED, another thread may adopt it. */
    exit_hook_remove(ta);
    catch_up(h, ta);
    /* CLOSING.  Another thread may push objects onto this queue after
     * catch_up took it, and look for detached owners' queues (its own
     * detach, process_orphans) before this state reads DETACHED: nobody
     * would take them.  So: closing is set, then the queue is looked at
     * again until empty; a thread that pushes and then finds the queue
     * non-empty reads closing after its push, and waits for DETACHED
     * when it is set.  All four accesses are sequentially consistent:
     * either this thread sees the push, or the pusher sees closing. */
    __atomic_store_n(&ta->closing, 1, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&ta->oqueue, __ATOMIC_SEQ_CST) != 0)
        process_queue(h, ta, ta);
    bury(h, ta, ta);
    push_held(h, ta); /* what the burial freed of others' pools */
    ouro__pcache_drop_all(h, ta); /* its empty pools back to the arenas */
    pthread_mutex_lock(&S->stw_mu);
    uncount_locked(S, ta);
    ASTORE(&ta->state, OURO__TS_DETACHED);
    S->attached--;
    pthread_mutex_unlock(&S->stw_mu);
    if (ouro__self.heap == h)
        tls_set(NULL, NULL);
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
    push_held(h, ta); /* their owners may be waiting for memory */
    pthread_mutex_lock(&S->stw_mu);
    uncount_locked(S, ta);
    ASTORE(&ta->state, OURO__TS_PARKED);
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
    while (S->requested & STW_STOP)
        pthread_cond_wait(&S->resumed, &S->stw_mu);
    ASTORE(&ta->state, OURO__TS_ATTACHED);
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
    catch_up(h, ta);
    return 0;
}

int ouro_heap_is_shared(const ouro_heap *h) { return h && h->shared ? 1 : 0; }

/* ------------------------------------------------------------ heap-wide */

size_t ouro__shared_trim(ouro_heap *h)
{
    if (ouro__stw_enter(h, "ouro_heap_trim") < 0)
        return 0;
    drain_all(h);
    size_t n = ouro__pool_trim(h);
    ouro__stw_leave(h);
    return n;
}

int ouro_heap_get_thread_stats(ouro_heap *h, ouro_thread_stats *out)
{
    if (!h || !out || out->struct_size == 0 || !h->shared)
        return OURO_EINVAL;
    ouro__shared *S = h->shared;
    if (ouro__stw_enter(h, "ouro_heap_get_thread_stats") < 0)
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
    s.stops_passed_over = S->passed_over_threads;
    s.stop_streak_max = S->stop_streak_max;
    uint64_t taken = 0;
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        s.remote_frees += h->tallocs[i]->remote_frees;
        taken += h->tallocs[i]->remote_taken;
    }
    s.remote_pending = s.remote_frees - taken;
    pthread_mutex_unlock(&S->stw_mu);
    ouro__stw_leave(h);
    size_t n = out->struct_size < sizeof s ? out->struct_size : sizeof s;
    s.struct_size = n;
    memcpy(out, &s, n);
    return 0;
}

/* ouro_heap_check's shared part, with the world stopped: every block on a
 * remote list is an allocated block of a pool of that list's talloc, every
 * block held to push one of a pool of its slot's owner, and the counts of
 * pending frees agree with the lists and the slots. */
typedef struct obj_check {
    ouro_heap *h;
    int bad;
    uint64_t queued;
    /* blocks the walk finds allocated that are freed objects: on their
     * owner's remote list or held to push there (the pool's own free list
     * has the others), so as many as those hold in object pools */
    uint64_t freed;
} obj_check;

static int check_object(void *block, void *arg)
{
    obj_check *cs = arg;
    ouro_object *o = block;
    if (o->flags == 0 || o->flags == OURO__F_FREED) { /* free_dead's marks */
        cs->freed++;
        return 0;
    }
    uint32_t rc = rc_load(o);
    if (rc >= OURO_IMMORTAL_REFCNT)
        return 0;
    int32_t sh = __atomic_load_n(&brc_of(o)->shared, __ATOMIC_RELAXED);
    const char *why = NULL;
    if (!(o->flags & OURO__F_OBJECT) || !ouro__type_by_id(o->type_id))
        why = "not an object of a registered type";
    else if (!(rc & OURO__RC_SHARED) || (rc & 0x40000000u))
        why = "a count that is not a shared heap's";
    else if ((rc & OURO__RC_MERGED) && (sh & 3) != OURO__SH_MERGED)
        why = "merged, but its shared word is not";
    else if (brc_clean(o) && (sh != 0 || brc_of(o)->qlink != 0))
        why = "its pool is marked clean (brc_used), but its shared word or link is not 0";
    else if (ouro__shared_refcount(o) == 0) /* (its two counts, added) */
        why = "alive with a count of zero or less";
    else if (o->gc_next != 0 && !(ouro__type(o)->flags & OURO_TYPE_GC))
        why = "tracked, but its type is not a collected one";
    if (why) {
        ouro__report(cs->h,
                     "ouro_heap_check: object %p (%s): %s (count %#x, shared %d, flags %#x, "
                     "links %#x %#x)\n",
                     block, ouro__type_by_id(o->type_id) ? ouro__type(o)->name : "?", why, rc,
                     (int)sh, (unsigned)o->flags, o->gc_next, o->gc_prev);
        cs->bad = 1;
        return 1;
    }
    cs->queued += (sh & 3) == OURO__SH_QUEUED;
    return 0;
}

/* A batch a thread holds for other threads (slot k, or all its slots for
 * k < 0): the `found` blocks or objects its chain walk found against the
 * count it keeps, and the walk's last against the batch's tail. */
static bool batch_counts_agree(ouro_heap *h, uint32_t i, int k, const char *what, uint32_t found,
                               uint32_t says, bool tail_ok)
{
    if (found == says && tail_ok)
        return true;
    if (k < 0)
        ouro__report(h, "ouro_heap_check: thread state %u holds %u %s for other threads, says "
                        "%u\n", i, found, what, says);
    else
        ouro__report(h, "ouro_heap_check: thread state %u's batch %d of %s for another thread "
                        "holds %u, says %u%s\n", i, k, what, found, says,
                     tail_ok ? "" : " (its tail is not its last)");
    return false;
}

int ouro__shared_check(ouro_heap *h)
{
    ouro__shared *S = h->shared;
    uint64_t frees = 0, taken = 0, listed = 0, listed_objects = 0;
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
            listed_objects += !ouro__pool_raw(pool);
            if (++listed > frees - taken)
                break; /* too many: reported below (and a cycle ends here) */
        }
    }
    /* the blocks threads hold to push (rcache_add) */
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        ouro__talloc *ta = h->tallocs[i];
        uint32_t held = 0;
        for (int k = 0; k < OURO__RCACHE_SLOTS; k++) {
            const struct ouro__rcache *c = &ta->rcache[k];
            uint32_t n = 0;
            void *last = NULL;
            for (void *b = c->n ? c->head : NULL; b && n <= c->n; b = link_get(b), n++) {
                ouro__pool *pool = ouro__pool_of(b);
                if (pool->c.heap != h || pool->c.kind != OURO__CHUNK_POOL ||
                    pool->owner != c->owner || c->owner == i ||
                    (c->owner & (OURO__RCACHE_SLOTS - 1)) != (unsigned)k ||
                    ouro__block_is_free(b)) {
                    ouro__report(h,
                                 "ouro_heap_check: block %p held by thread state %u for thread "
                                 "state %u is not an allocated block of that state's pools\n",
                                 b, i, (unsigned)c->owner);
                    return OURO_EINVAL;
                }
                listed_objects += !ouro__pool_raw(pool);
                last = b;
            }
            if (!batch_counts_agree(h, i, k, "blocks", n, c->n, n == 0 || last == c->tail))
                return OURO_EINVAL;
            held += n;
        }
        if (!batch_counts_agree(h, i, -1, "blocks", held, ta->rcache_n, true))
            return OURO_EINVAL;
        listed += held;
    }
    /* the objects: counts in the shared encoding, queued ones on a queue */
    uint64_t queued = 0;
    for (uint32_t i = 0; i < S->ntallocs; i++)
        for (uint32_t r = ALOAD(&h->tallocs[i]->oqueue); r; r = brc_of(ouro__obj_of(h, r))->qlink) {
            ouro_object *o = ouro__obj_of(h, r);
            if (owner_id(o) != i || !(o->flags & OURO__F_OBJECT)) {
                ouro__report(h, "ouro_heap_check: object %p queued to thread state %u is not "
                             "one of its objects\n", (void *)o, i);
                return OURO_EINVAL;
            }
            if (++queued > (uint64_t)h->st.objects + 1)
                break;
        }
    /* and those threads hold to push (queue_push) */
    for (uint32_t i = 0; i < S->ntallocs; i++) {
        ouro__talloc *ta = h->tallocs[i];
        uint32_t held = 0;
        for (int k = 0; k < OURO__RCACHE_SLOTS; k++) {
            const struct ouro__ocache *c = &ta->ocache[k];
            uint32_t n = 0, last = 0;
            for (uint32_t r = c->n ? c->head : 0; r && n <= c->n;
                 r = brc_of(ouro__obj_of(h, r))->qlink, n++) {
                ouro_object *o = ouro__obj_of(h, r);
                if (owner_id(o) != c->owner || c->owner == i ||
                    (c->owner & (OURO__RCACHE_SLOTS - 1)) != (unsigned)k ||
                    !(o->flags & OURO__F_OBJECT)) {
                    ouro__report(h, "ouro_heap_check: object %p held by thread state %u to "
                                    "queue to thread state %u is not one of that state's "
                                    "objects\n", (void *)o, i, (unsigned)c->owner);
                    return OURO_EINVAL;
                }
                last = r;
            }
            if (!batch_counts_agree(h, i, k, "objects", n, c->n, n == 0 || last == c->tail))
                return OURO_EINVAL;
            held += n;
        }
        if (!batch_counts_agree(h, i, -1, "objects", held, ta->ocache_n, true))
            return OURO_EINVAL;
        queued += held;
    }
    obj_check cs = {h, 0, 0, 0};
    ouro__pool_walk(h, false, check_object, &cs);
    if (cs.bad)
        return OURO_EINVAL;
    if (cs.freed != listed_objects) {
        ouro__report(h, "ouro_heap_check: %llu freed blocks in object pools, %llu of them on "
                     "remote lists or held to push\n",
                     (unsigned long long)cs.freed, (unsigned long long)listed_objects);
        return OURO_EINVAL;
    }
    if (cs.queued != queued) {
        ouro__report(h, "ouro_heap_check: %llu objects marked queued, %llu on the queues or "
                        "held to queue\n",
                     (unsigned long long)cs.queued, (unsigned long long)queued);
        return OURO_EINVAL;
    }
    if (frees - taken != listed) {
        ouro__report(h, "ouro_heap_check: %llu blocks on remote lists or held to push, counters "
                        "say %llu\n",
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
    process_all_queues(h, me);
    pthread_mutex_lock(&S->stw_mu);
    ASTORE(&S->stopper, me); /* the heap's one thread: no lock to take */
    bury_all(h, me);
    ASTORE(&S->stopper, NULL);
    pthread_mutex_unlock(&S->stw_mu);
    drain_all(h);
    return 0;
}

/* The last step of ouro_heap_free: the thread states' chunks and the
 * locks.  The pools were released with the arenas. */
void ouro__shared_fini(ouro_heap *h)
{
    ouro__shared *S = h->shared;
    ouro__talloc *me = self(h); /* the one attached thread: its list lets go */
    if (me)
        exit_hook_remove(me);
    for (uint32_t i = 1; i < S->ntallocs; i++) {
        ouro__talloc *ta = h->tallocs[i];
        size_t size = (sizeof(ouro__talloc) + OURO__POOL_SIZE - 1) & ~(OURO__POOL_SIZE - 1);
        h->tallocs[i] = NULL;
        ouro__pages_free(h, ta->chunk, size);
    }
    pthread_mutex_destroy(&S->lock);
    pthread_mutex_destroy(&S->stw_mu);
    pthread_mutex_destroy(&S->trace_lock);
    pthread_mutex_destroy(&S->weak_lock);
    pthread_mutex_destroy(&S->types_lock);
    pthread_cond_destroy(&S->stopped);
    pthread_cond_destroy(&S->resumed);
    if (ouro__self.heap == h)
        tls_set(NULL, NULL);
}

/* ouro_heap_check's collector part on a shared heap, the world stopped:
 * each young list well linked, holding tracked objects of its thread only
 * (flagged TLIST), then the generations as on any heap. */
int ouro__shared_gc_check(ouro_heap *h)
{
    size_t live = ouro__live_objects(h);
    for (uint32_t i = 0; i < h->shared->ntallocs; i++) {
        ouro_object *head = &h->young[i].head;
        uint32_t hr = ouro__head_ref(h, head), prev = hr;
        size_t n = 0;
        for (uint32_t r = head->gc_next; r != hr;) {
            ouro_object *o = ouro__obj_of(h, r);
            if (o->gc_prev != prev || !(o->flags & OURO__F_OBJECT) ||
                !(o->flags & OURO__F_TLIST) || owner_id(o) != i ||
                !(ouro__type(o)->flags & OURO_TYPE_GC) || ++n > live) {
                ouro__report(h, "ouro_heap_check: thread state %u's young list: object %p is "
                             "not one of its tracked objects, or the list is broken\n",
                             i, (void *)o);
                return OURO_EINVAL;
            }
            prev = r;
            r = o->gc_next;
        }
        if (head->gc_prev != prev) {
            ouro__report(h, "ouro_heap_check: thread state %u's young list: bad tail\n", i);
            return OURO_EINVAL;
        }
    }
    return ouro__gc_check(h);
}

bool ouro__types_lock(ouro_heap *h)
{
    if (OURO__LIKELY(h->shared == NULL) || ouro__stw_mine(h))
        return false;
    ouro__shared *S = h->shared;
    if (pthread_mutex_trylock(&S->types_lock) == 0)
        return true;
    ouro__talloc *ta = self(h);
    bool park = ta && ta->state == OURO__TS_ATTACHED;
    if (park)
        ouro_thread_park(h);
    pthread_mutex_lock(&S->types_lock);
    if (park)
        ouro_thread_unpark(h);
    return true;
}

void ouro__types_unlock(ouro_heap *h, bool taken)
{
    if (taken)
        pthread_mutex_unlock(&h->shared->types_lock);
}
