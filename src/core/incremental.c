/*
 * incremental.c — the incremental cycle: finding cyclic garbage a piece at
 * a time while the program runs, without a store barrier.
 *
 * ALGORITHM (docs/design.md §9)
 *
 * A stop-the-world collection decides, at one instant, which objects of a
 * set are referenced only from inside it (CPython's trial deletion: copy
 * each count, subtract the references the set's objects hold, keep what is
 * left above zero and everything it reaches).  Spread over increments
 * while the program stores and moves references freely, the same passes
 * can misjudge: a reference moved from an object not yet visited into one
 * already visited is seen by neither visit, and one moved the other way is
 * seen twice.  Any collector that trusts such a computation needs a
 * barrier on every store.  This one does not trust it: the increments
 * only *select candidates*, and the cycle ends with CPython's exact
 * collection of the candidates, a batch at a time, each at one instant,
 * with every reference from outside the batch (the rest of the heap, the
 * program's locals, C code) counted from the objects' counts as they are
 * then.  That decision is right for any set whatsoever; the increments'
 * only job is to make the set small and to make sure it holds the garbage.
 *
 *   start     every generation is spliced onto INC_SCAN (O(1)); the cycle's
 *             set S is what was tracked at that instant.  New objects join
 *             generation 0 as usual and are collected by young collections.
 *   SUBTRACT  a cursor walks INC_SCAN; for each object of S, in
 *             increments: set OURO__F_INCR, and for each tracked object it
 *             references, decrement that object's side count (a table
 *             beside the arenas, zero to start with).
 *   MARK      the cursor walks INC_SCAN backwards: an object known
 *             reachable, or whose count plus side count is above zero (a
 *             reference from outside the visited objects), is reachable:
 *             traverse it, marking what it references that is in S as
 *             reachable (moving it back from INC_UNREACH to the front of
 *             INC_SCAN, which the cursor reaches last, if it had been
 *             judged unreachable), and leave it where it is.  Otherwise it
 *             moves to INC_UNREACH.  At the end INC_SCAN joins the oldest
 *             generation.
 *   FINISH    the candidates are collected in batches of whole components
 *             (finish_step): closed under references from a seed, then
 *             CPython's exact collection (gc.c, ouro__gc_collect_list:
 *             weak references, finalizers, resurrection, clear,
 *             gc.garbage, as always), one batch per increment; what a
 *             batch keeps is retried once at the end.  The side tables
 *             are kept for the next cycle and zeroed a few per pause.
 *
 * WHY IT IS SAFE.  An exact collection frees an object only if, at that
 * instant, every reference to it comes from a batch object that is freed
 * too; so whatever the increments concluded, nothing reachable is freed.
 * An object dying (by reference counting) during the cycle leaves its
 * list like any tracked object; the cursor's object is flagged CURSOR
 * between increments, which sends its untracking (or any move off its
 * list) to the slow path, where the cursor moves on (ouro__inc_cursor_leaves):
 * the allocation and deallocation fast paths pay nothing.  The side table
 * is only read for objects on the cycle's lists (flagged INCR), never for
 * objects tracked during the cycle, so a block that died and was reused
 * by a new object is never misread.
 *
 * WHY IT IS COMPLETE.  An object that was garbage when the cycle started
 * is touched by nobody until the collector frees it (a weak reference
 * that hands it back to the program makes it live again).  Every
 * reference to it comes from garbage in S, which SUBTRACT visits with the
 * same references it had at the start, so its count plus its side count
 * is exactly zero; no reachable object references it, so MARK never marks
 * it: it is a candidate.  Its batch holds everything it references; if
 * garbage of a later batch references it, its batch keeps it and the
 * retry, after that batch freed its referrers, collects it.
 *
 * COST.  Each object of S is visited once by SUBTRACT and once or twice by
 * MARK (an increment's budget counts visits), and only the objects judged
 * unreachable change lists; FINISH visits the candidates once more and
 * collects them a batch per increment.  Memory: 1 byte per 32 bytes of
 * the arenas holding S (mapping them afresh each cycle cost page faults
 * and TLB shootdowns at unmapping: a quarter of the collector's time on
 * W10), released when the heap is freed, the schedule changes or
 * ouro_heap_trim runs.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SCAN (&h->lists[OURO__LIST_INC_SCAN])
#define UNREACH_LIST (&h->lists[OURO__LIST_INC_UNREACH])
#define BATCH (&h->lists[OURO__LIST_INC_BATCH])
#define RETRY (&h->lists[OURO__LIST_INC_RETRY])
#define GEN(i) (&h->lists[OURO__LIST_GEN0 + (i)])

/* A side count is minus a number of references, so never positive: the
 * marks are positive.  8 bits an entry (16 bits until 2026-12-03: halving
 * them took W1's peak RSS from 141 to 136 MiB and W8 from 34.4 to 33.3
 * bytes a node): a count that would pass SIDE_MIN reads SIDE_SAT, and the
 * count itself is kept in the overflow map (h->inc.ovf), keyed by the
 * object's compressed reference.  Most objects have a few referrers; an
 * object referenced from more than 127 objects of the cycle pays a hash
 * lookup for each reference past the 127th. */
#define SIDE_ALIVE 0x40
#define SIDE_UNREACH 0x20
#define SIDE_BATCH 0x10
#define SIDE_MIN (-127)
#define SIDE_SAT INT8_MIN

/* FINISH collects the candidates in batches of whole components: a batch
 * is closed when it holds this many objects (one component may hold more:
 * it is collected whole, in one pause, as reference counting frees a
 * structure whose last reference goes). */
#define BATCH_MAX 4096

/* ------------------------------------------------------------ side table */

/* One table per arena-table slot, an entry per 32-byte unit: an arena has
 * 32,768 (a large block's object sits at unit 2).  No two tracked objects
 * of a single-thread heap share a unit: every block of a class of 32 bytes
 * or more starts in a unit of its own, and no tracked object has a block
 * of 16 (OURO__TYPE_SMALLGC; ouro_heap_check checks it).  A compressed
 * reference counts 16-byte units, so its entry is (r & 0xffff) >> 1.
 * 32 KiB from the heap's page source, for the arenas that hold objects of
 * S (64 KiB, an entry per 16 bytes, until stop 37: the tables were W1's
 * 1,348 page faults above 2× mimalloc's, 5.3 MiB). */
#define SIDE_SHIFT 5
#define SIDE_BYTES (OURO__ARENA_SIZE >> SIDE_SHIFT)
#define SIDE_INDEX(r) (((r) & 0xffff) >> (SIDE_SHIFT - 4))

static side_t *side_alloc(ouro_heap *h, uint32_t index)
{
    void *t;
    if (h->inc.nspare) {
        /* A table from an earlier cycle, zeroed since (ouro__inc_scrub):
         * resident already, so it costs neither page faults nor, later,
         * the unmapping's TLB shootdown. */
        t = h->inc.spare[--h->inc.nspare];
    } else if (h->inc.ndirty) {
        t = h->inc.dirty[--h->inc.ndirty];
        memset(t, 0, SIDE_BYTES); /* not scrubbed yet: now */
    } else {
        /* From the heap's page source, so that the collector's memory
         * is the embedder's to limit and shows in mapped_bytes; resident
         * at once (a fifth of SUBTRACT's time on W5 went to faulting fresh
         * tables in page by page). */
        t = ouro__pages_alloc_zeroed(h, SIDE_BYTES, true);
        if (!t) {
            h->inc.oom = true;
            return NULL;
        }
    }
    h->inc.side[index] = t;
    h->inc.ntables++;
    return t;
}

/* The side count of the object whose compressed reference is r, or NULL
 * when its table cannot be mapped. */
static inline side_t *side_at(ouro_heap *h, uint32_t r)
{
    side_t *t = h->inc.side[r >> 16];
    if (OURO__UNLIKELY(!t) && !(t = side_alloc(h, r >> 16)))
        return NULL;
    return &t[SIDE_INDEX(r)];
}

/* A referent's side count: most references point into the pool just
 * looked at, so the pool's slot, base and table are remembered
 * (h->inc.memo) instead of read from its header and the arena table for
 * every edge. */
static inline side_t *side_of(ouro_heap *h, const ouro_object *o)
{
    uintptr_t pool = (uintptr_t)o & ~(uintptr_t)(OURO__POOL_SIZE - 1);
    if (OURO__UNLIKELY(pool != h->inc.memo_pool)) {
        uint32_t index = ((ouro__chunk *)pool)->index;
        side_t *t = h->inc.side[index];
        if (OURO__UNLIKELY(!t) && !(t = side_alloc(h, index)))
            return NULL;
        h->inc.memo_pool = pool;
        h->inc.memo_base = h->slot_base[index];
        h->inc.memo_table = t;
    }
    return &h->inc.memo_table[(size_t)((const uint8_t *)o - h->inc.memo_base) >> SIDE_SHIFT];
}

#define TABLE_ARRAY_BYTES (OURO__MAX_ARENAS * sizeof(side_t *))

/* Every table kept between cycles back to the page source and, when no
 * cycle runs, the arrays (heap free, a schedule change, ouro_heap_trim). */
void ouro__inc_release(ouro_heap *h)
{
    while (h->inc.nspare)
        ouro__pages_free(h, h->inc.spare[--h->inc.nspare], SIDE_BYTES);
    while (h->inc.ndirty)
        ouro__pages_free(h, h->inc.dirty[--h->inc.ndirty], SIDE_BYTES);
    if (h->inc.phase == OURO__INC_IDLE && h->inc.side) {
        ouro__pages_free(h, h->inc.side, TABLE_ARRAY_BYTES);
        ouro__pages_free(h, h->inc.spare, TABLE_ARRAY_BYTES);
        ouro__pages_free(h, h->inc.dirty, TABLE_ARRAY_BYTES);
        h->inc.side = h->inc.spare = h->inc.dirty = NULL;
    }
}

/* Zeroes up to `n` tables of finished cycles (a table: 32 KiB, some
 * microseconds), so that the next cycle finds them ready: a cycle's
 * first increments would otherwise zero every table they touch in one
 * pause (close to a millisecond on W10). */
void ouro__inc_scrub(ouro_heap *h, uint32_t n)
{
    while (n-- && h->inc.ndirty) {
        side_t *t = h->inc.dirty[--h->inc.ndirty];
        memset(t, 0, SIDE_BYTES);
        h->inc.spare[h->inc.nspare++] = t;
    }
}

static void ovf_clear(ouro_heap *h);

/* The cycle's tables wait to be zeroed for the next one, and its overflow
 * map goes. */
static void side_retire(ouro_heap *h)
{
    for (uint32_t i = 0; h->inc.ntables && i < OURO__MAX_ARENAS; i++) {
        if (h->inc.side[i]) {
            h->inc.dirty[h->inc.ndirty++] = h->inc.side[i];
            h->inc.side[i] = NULL;
            h->inc.ntables--;
        }
    }
    h->inc.memo_pool = 0;
    ovf_clear(h);
}

/* ------------------------------------------------------------ overflow map */

/* The counts past SIDE_MIN: open addressing on the compressed reference
 * (never 0 for an object), for the objects referenced from more than 127
 * others of the cycle (hubs: a program's shared constants, a module's
 * table); one lookup per reference past the 127th. */
static int32_t *ovf_slot(ouro_heap *h, uint32_t ref, bool create)
{
    ouro__side_ovf *m = &h->inc.ovf;
    if (create && (m->n + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        uint32_t *keys = calloc(cap, sizeof *keys);
        int32_t *vals = calloc(cap, sizeof *vals);
        if (!keys || !vals) {
            free(keys);
            free(vals);
            h->inc.oom = true;
            return NULL;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = (m->keys[i] * 2654435761u) & (cap - 1);
            while (keys[j])
                j = (j + 1) & (cap - 1);
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    if (!m->cap)
        return NULL;
    size_t j = (ref * 2654435761u) & (m->cap - 1);
    while (m->keys[j] && m->keys[j] != ref)
        j = (j + 1) & (m->cap - 1);
    if (!m->keys[j]) {
        if (!create)
            return NULL;
        m->keys[j] = ref;
        m->vals[j] = 0;
        m->n++;
    }
    return &m->vals[j];
}

static void ovf_clear(ouro_heap *h)
{
    free(h->inc.ovf.keys);
    free(h->inc.ovf.vals);
    memset(&h->inc.ovf, 0, sizeof h->inc.ovf);
}

/* One reference less to o, whose entry is s.  False when the overflow map
 * cannot grow (h->inc.oom). */
static inline bool side_dec(ouro_heap *h, side_t *s, const ouro_object *o)
{
    if (OURO__LIKELY(*s > SIDE_MIN)) {
        --*s;
        return true;
    }
    int32_t *v = ovf_slot(h, ouro__obj_ref(h, o), true);
    if (!v)
        return false;
    if (*s == SIDE_MIN)
        *v = SIDE_MIN;
    *s = SIDE_SAT;
    --*v;
    return true;
}

/* The count an unmarked entry stands for. */
static inline int32_t side_count(ouro_heap *h, const side_t *s, uint32_t ref)
{
    if (OURO__LIKELY(*s != SIDE_SAT))
        return *s;
    int32_t *v = ovf_slot(h, ref, false);
    return v ? *v : SIDE_SAT;
}

/* o's count as MARK reads it: INT64_MAX / 2 for an immortal object (always
 * alive); a shared heap's both parts added (gc.c's gc_count: the world is
 * stopped during an increment), whose mortal counts have the top bit set
 * too. */
static inline int64_t inc_count(ouro_heap *h, const ouro_object *o)
{
    if (OURO__UNLIKELY(h->shared != NULL))
        return ouro_is_immortal(o) ? INT64_MAX / 2 : (int64_t)ouro__shared_refcount(o);
    return (int32_t)o->refcnt < 0 ? INT64_MAX / 2 : (int64_t)o->refcnt;
}

/* ------------------------------------------------------------ the cursor */

/* The list the cursor walks: INC_SCAN, or INC_BATCH in FINISH. */
static inline ouro_object *cursor_list(ouro_heap *h)
{
    return h->inc.phase == OURO__INC_FINISH ? BATCH : SCAN;
}

static inline void cursor_flag(ouro_heap *h)
{
    if (h->inc.phase != OURO__INC_IDLE && h->inc.cursor != ouro__head_ref(h, cursor_list(h)))
        ouro__obj_of(h, h->inc.cursor)->flags |= OURO__F_CURSOR;
}

static inline void cursor_unflag(ouro_heap *h)
{
    if (h->inc.phase != OURO__INC_IDLE && h->inc.cursor != ouro__head_ref(h, cursor_list(h)))
        ouro__obj_of(h, h->inc.cursor)->flags &= (uint16_t)~OURO__F_CURSOR;
}

/* The object a pass visits after o: SUBTRACT walks INC_SCAN forwards,
 * MARK backwards (see mark()), FINISH INC_BATCH forwards. */
static inline uint32_t cursor_step(ouro_heap *h, const ouro_object *o)
{
    return h->inc.phase == OURO__INC_MARK ? o->gc_prev : o->gc_next;
}

/* o, the cursor's object, is leaving INC_SCAN (it dies, is untracked or is
 * moved): the cursor moves on to the object the pass visits next. */
void ouro__inc_cursor_leaves(ouro_heap *h, ouro_object *o)
{
    OURO__ASSERT(ouro__obj_of(h, h->inc.cursor) == o);
    o->flags &= (uint16_t)~OURO__F_CURSOR;
    h->inc.cursor = cursor_step(h, o);
    cursor_flag(h);
}

/* ------------------------------------------------------------ the cycle */

bool ouro__inc_start(ouro_heap *h)
{
    OURO__ASSERT(h->inc.phase == OURO__INC_IDLE);
    if (!h->inc.side) {
        /* The arrays of tables, touched only where arenas are. */
        side_t **a[3] = {NULL, NULL, NULL};
        for (int i = 0; i < 3; i++) {
            a[i] = ouro__pages_alloc_zeroed(h, TABLE_ARRAY_BYTES, false);
            if (!a[i]) {
                while (i--)
                    ouro__pages_free(h, a[i], TABLE_ARRAY_BYTES);
                return false;
            }
        }
        h->inc.side = a[0];
        h->inc.spare = a[1];
        h->inc.dirty = a[2];
    }
    h->inc.oom = false;
    /* Oldest first, as a full collection merges them. */
    ouro__list_merge(h, GEN(2), SCAN);
    ouro__list_merge(h, GEN(1), SCAN);
    ouro__list_merge(h, GEN(0), SCAN);
    h->inc.alive = 0;
    h->inc.found = 0;
    h->gen[0].count = 0;
    h->gen[1].count = 0;
    h->middle_live = 0;
    h->long_lived_pending = 0;
    h->inc.phase = OURO__INC_SUBTRACT;
    h->inc.cursor = SCAN->gc_next;
    cursor_flag(h);
    h->inc.since = 0;
    return true;
}

/* The cycle's objects back to the oldest generation, before what joined
 * it since (young survivors go to the middle one under the incremental
 * schedule, so that is normally nothing). */
void ouro__inc_abandon(ouro_heap *h)
{
    if (h->inc.phase == OURO__INC_IDLE)
        return;
    cursor_unflag(h);
    ouro_object *tmp = &h->lists[OURO__LIST_TMP];
    OURO__ASSERT(ouro__list_empty(h, tmp));
    ouro__list_merge(h, SCAN, tmp);
    ouro__list_merge(h, BATCH, tmp);
    ouro__list_merge(h, UNREACH_LIST, tmp);
    ouro__list_merge(h, RETRY, tmp);
    ouro__list_merge(h, GEN(2), tmp);
    ouro__list_merge(h, tmp, GEN(2));
    side_retire(h);
    h->inc.phase = OURO__INC_IDLE;
    h->inc.sparse = false; /* nothing learnt: the next cycle on doubling */
}

static int visit_subtract(ouro_object *c, void *arg)
{
    ouro_heap *h = arg;
    if (!c || !c->gc_next)
        return 0;
    side_t *s = side_of(h, c);
    if (!s || !side_dec(h, s, c))
        return 1;
    return 0;
}

/* c's side count if c is one of the cycle's objects (tracked and visited
 * by SUBTRACT), else NULL; also NULL when its table cannot be mapped,
 * which sets h->inc.oom (the visits return it, ending the traversal). */
static inline side_t *cycle_side(ouro_heap *h, const ouro_object *c)
{
    if (!c || !c->gc_next || !(c->flags & OURO__F_INCR))
        return NULL;
    return side_of(h, c);
}

static int visit_mark(ouro_object *c, void *arg)
{
    ouro_heap *h = arg;
    side_t *s = cycle_side(h, c);
    if (!s)
        return h->inc.oom;
    if (*s == SIDE_UNREACH) {
        /* Reachable after all: to the front of INC_SCAN, which the
         * backward walk reaches last (the cursor is on the object being
         * traversed, so it is not past the front). */
        ouro__list_remove(h, c);
        ouro__list_prepend(h, c, SCAN);
    }
    *s = SIDE_ALIVE;
    return 0;
}

/* SUBTRACT: visit up to *budget objects.  Returns false on a side table
 * that could not be mapped. */
static bool subtract(ouro_heap *h, long *budget)
{
    uint32_t end = ouro__head_ref(h, SCAN), r = h->inc.cursor;
    bool ok = true;
    while (*budget > 0 && r != end) {
        ouro_object *o = ouro__obj_of(h, r);
        o->flags = (uint16_t)((o->flags & ~(OURO__F_PENDING | OURO__F_MIDDLE)) | OURO__F_INCR);
        if (ouro__traverse(o, visit_subtract, h)) {
            ok = false;
            break;
        }
        r = o->gc_next;
        --*budget;
    }
    h->inc.cursor = r;
    if (ok && r == end) {
        h->inc.phase = OURO__INC_MARK;
        h->inc.cursor = SCAN->gc_prev;
    }
    return ok;
}

/* MARK walks INC_SCAN from the newest object to the oldest: an object
 * mostly references objects older than itself (those that existed when it
 * was made), so the walk meets an object's referrers before the object
 * and finds it reachable at the first visit, instead of setting it aside
 * as unreachable and moving it back (CPython's forward scan does that to
 * every link of a chain built head-first).  The candidates are prepended
 * to INC_UNREACH, so that it keeps the lists' order. */
static bool mark(ouro_heap *h, long *budget)
{
    uint32_t end = ouro__head_ref(h, SCAN);
    while (*budget > 0 && h->inc.cursor != end) {
        ouro_object *o = ouro__obj_of(h, h->inc.cursor);
        OURO__ASSERT(o->flags & OURO__F_INCR);
        side_t *s = side_at(h, h->inc.cursor);
        if (!s)
            return false;
        if (*s == SIDE_ALIVE || inc_count(h, o) + side_count(h, s, h->inc.cursor) > 0) {
            *s = SIDE_ALIVE;
            if (ouro__traverse(o, visit_mark, h))
                return false;
            h->inc.cursor = o->gc_prev; /* after the traversal: it may prepend */
            h->inc.alive++;
        } else {
            *s = SIDE_UNREACH;
            h->inc.cursor = o->gc_prev;
            ouro__list_remove(h, o);
            ouro__list_prepend(h, o, UNREACH_LIST);
        }
        --*budget;
    }
    return true;
}

/* MARK is over: what it found reachable joins the oldest generation, and
 * FINISH starts on the candidates. */
static void finish_start(ouro_heap *h)
{
    ouro_object *tmp = &h->lists[OURO__LIST_TMP];
    ouro__list_merge(h, SCAN, tmp);
    ouro__list_merge(h, GEN(2), tmp);
    ouro__list_merge(h, tmp, GEN(2));
    h->inc.phase = OURO__INC_FINISH;
    h->inc.cursor = ouro__head_ref(h, BATCH);
    h->inc.batch_n = 0;
    h->inc.retried = false;
    h->inc.batch_wcb = false;
    h->inc.kept = 0;
}

/* The candidate c, whose side entry is s, joins the batch. */
static void batch_take(ouro_heap *h, ouro_object *c, side_t *s)
{
    ouro__list_move(h, c, BATCH);
    *s = SIDE_BATCH;
    h->inc.batch_n++;
    if (ouro_is_weakref(c) && ouro__weakref_has_callback(c))
        h->inc.batch_wcb = true;
}

/* A candidate that o references (or that is a weak reference to o) joins
 * the batch being closed. */
static int visit_batch(ouro_object *c, void *arg)
{
    ouro_heap *h = arg;
    side_t *s = cycle_side(h, c);
    if (!s)
        return h->inc.oom;
    if (*s == SIDE_UNREACH)
        batch_take(h, c, s);
    return 0;
}

/* The batch's exact collection; its survivors wait on INC_RETRY. */
static void collect_batch(ouro_heap *h, long *collected, long *uncollectable)
{
    long m = 0, n = 0;
    if (h->inc.batch_wcb) {
        /* A weak reference with a callback among the candidates: if it is
         * trash held by trash outside the batch, the batch's collection
         * would keep it and run its callback when its referent goes,
         * which CPython never does for a weak reference that is trash.
         * Every candidate left is collected now, at once (this pause is
         * not bounded by BATCH_MAX: cyclic trash that holds weak
         * references with callbacks is collected as a whole). */
        ouro__list_merge(h, UNREACH_LIST, BATCH);
        ouro__list_merge(h, RETRY, BATCH);
        h->inc.batch_wcb = false;
    }
    h->inc.kept += ouro__gc_collect_list(h, BATCH, RETRY, &m, &n);
    if (h->inc.phase == OURO__INC_IDLE) {
        /* Code the collection ran (a finalizer, a callback) abandoned the
         * cycle: ouro_gc_freeze, ouro_gc_unfreeze or ouro_gc_set_schedule.
         * The abandon moved INC_RETRY's objects to the oldest generation;
         * what the collection kept after it (its survivors go to
         * INC_RETRY, the collection's `old`) follows them there, as a
         * CPython collection's survivors join its older generation after
         * a gc.freeze() made by a finalizer. */
        ouro__list_merge(h, RETRY, GEN(2));
        *collected += m;
        *uncollectable += n;
        h->inc.batch_n = 0;
        return;
    }
    h->inc.found += (size_t)(m + n);
    *collected += m;
    *uncollectable += n;
    h->inc.batch_n = 0;
    h->inc.cursor = ouro__head_ref(h, BATCH);
}

/*
 * FINISH: the candidates are collected in batches of whole components, at
 * most one batch per increment, so that its pause is bounded by BATCH_MAX
 * (or the largest component) instead of all the garbage the cycle found.
 * A batch is built by closing seeds under references: the newest
 * candidate first (it is the likeliest to reference the others), then
 * everything candidate it references, and the weak references to it
 * that are candidates (so that a weak reference that is trash is
 * collected with its referent, and its callback does not run, as CPython
 * decides on all the trash at once).  The exact collection of a closed
 * batch is CPython's on those objects; objects it keeps (referenced from
 * outside the batch: live objects the increments misjudged, or garbage
 * referenced by garbage in a later batch) are retried together once the
 * candidates are exhausted, after the later batches freed what referenced
 * them; what survives that joins the oldest generation.
 */
static int finish_step(ouro_heap *h, long *budget, long *collected, long *uncollectable)
{
    for (;;) {
        uint32_t end = ouro__head_ref(h, BATCH);
        while (*budget > 0 && h->inc.cursor != end) {
            ouro_object *o = ouro__obj_of(h, h->inc.cursor);
            if (ouro__traverse(o, visit_batch, h))
                return OURO_ENOMEM;
            if (o->flags & OURO__F_HASWEAK)
                for (ouro_object *w = ouro__weak_head(h, o); w; w = ouro__weak_next(w))
                    if (visit_batch(w, h))
                        return OURO_ENOMEM;
            h->inc.cursor = o->gc_next;
            --*budget;
        }
        if (h->inc.cursor != end)
            return 0; /* the closure goes on in the next increment */
        bool more = !ouro__list_empty(h, UNREACH_LIST);
        if (h->inc.batch_n >= BATCH_MAX || (!more && h->inc.batch_n)) {
            collect_batch(h, collected, uncollectable);
            return 0;
        }
        if (more) {
            if (*budget <= 0)
                return 0;
            ouro_object *seed = ouro__obj_of(h, UNREACH_LIST->gc_prev);
            side_t *s = side_of(h, seed);
            if (!s)
                return OURO_ENOMEM;
            batch_take(h, seed, s);
            h->inc.cursor = BATCH->gc_prev; /* the seed: the batch before it is closed */
            continue;
        }
        if (!h->inc.retried && !ouro__list_empty(h, RETRY)) {
            /* What earlier batches kept, now that the later ones freed
             * what they could: one more exact collection, of all of it. */
            h->inc.retried = true;
            h->inc.kept = 0;
            ouro__list_merge(h, RETRY, BATCH); /* no closure to build */
            collect_batch(h, collected, uncollectable);
            return 0;
        }
        /* The cycle's end. */
        ouro__list_merge(h, RETRY, GEN(2));
        side_retire(h);
        h->inc.phase = OURO__INC_IDLE;
        /* What the cycle left (objects that died since they were counted
         * are still in: a heuristic for the next cycle's start). */
        h->long_lived_total = h->inc.alive + h->inc.kept;
        h->long_lived_pending = 0;
        h->inc.sparse = h->inc.found * 32 < h->long_lived_total;
        return 1;
    }
}

/* Up to `budget` units of the cycle in progress.  Returns 1 when the cycle
 * ended, 0 when work remains, OURO_ENOMEM when a side table could not be
 * mapped (the cycle is abandoned); *collected and *uncollectable: what the
 * exact collections of this increment found. */
int ouro__inc_work(ouro_heap *h, long budget, long *collected, long *uncollectable)
{
    *collected = *uncollectable = 0;
    h->inc.memo_pool = 0; /* pools may have come and gone since the last */
    cursor_unflag(h);
    if (h->inc.phase == OURO__INC_SUBTRACT && !subtract(h, &budget))
        goto oom;
    if (h->inc.phase == OURO__INC_MARK) {
        if (!mark(h, &budget))
            goto oom;
        if (h->inc.cursor == ouro__head_ref(h, SCAN))
            finish_start(h);
    }
    if (h->inc.phase == OURO__INC_FINISH) {
        int rc = finish_step(h, &budget, collected, uncollectable);
        if (rc == 1)
            return 1;
        if (rc < 0)
            goto oom;
    }
    cursor_flag(h);
    return 0;
oom:
    ouro__inc_abandon(h); /* the cursor is not flagged during an increment */
    return OURO_ENOMEM;
}

/* An object's side count as the check reads it (0 with no table). */
static int32_t side_peek(ouro_heap *h, const ouro_object *o)
{
    uint32_t ref = ouro__obj_ref(h, o);
    side_t *t = h->inc.side[ref >> 16];
    return t ? t[SIDE_INDEX(ref)] : 0;
}

/* Every object of `head` has INCR and side count `side`. */
static int check_marked(ouro_heap *h, ouro_object *head, int32_t side, const char *what)
{
    uint32_t hr = ouro__head_ref(h, head);
    for (uint32_t r = head->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        if (o->flags & OURO__F_CURSOR) { /* the cursor is never on these lists */
            ouro__report(h, "ouro_heap_check: incremental cycle: %p flagged as the cursor\n",
                         (void *)o);
            return OURO_EINVAL;
        }
        if (!(o->flags & OURO__F_INCR) || side_peek(h, o) != side) {
            ouro__report(h, "ouro_heap_check: incremental cycle: %s object %p on the %s list "
                            "is not marked as such (side count %d)\n",
                         ouro_type_name(o), (void *)o, what, (int)side_peek(h, o));
            return OURO_EINVAL;
        }
    }
    return 0;
}

/* ouro_heap_check's part: the invariants at ouro__incr (internal.h). */
int ouro__inc_check(ouro_heap *h)
{
    int phase = h->inc.phase;
    bool empty[4] = {ouro__list_empty(h, SCAN), ouro__list_empty(h, UNREACH_LIST),
                     ouro__list_empty(h, BATCH), ouro__list_empty(h, RETRY)};
    if (phase == OURO__INC_IDLE) {
        if (!empty[0] || !empty[1] || !empty[2] || !empty[3] || h->inc.ntables) {
            ouro__report(h, "ouro_heap_check: incremental lists in use with no cycle\n");
            return OURO_EINVAL;
        }
        return 0;
    }
    if ((phase != OURO__INC_FINISH && (!empty[2] || !empty[3])) ||
        (phase == OURO__INC_SUBTRACT && !empty[1]) || (phase == OURO__INC_FINISH && !empty[0])) {
        ouro__report(h, "ouro_heap_check: incremental cycle: a list in use out of its phase\n");
        return OURO_EINVAL;
    }
    /* The cursor's list: the objects the pass has visited (before the
     * cursor for SUBTRACT and FINISH, after it for MARK, which walks
     * backwards), the cursor's flagged, and no other. */
    ouro_object *cl = cursor_list(h);
    uint32_t hr = ouro__head_ref(h, cl);
    bool cursor_seen = h->inc.cursor == hr;
    for (uint32_t r = cl->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        bool before = phase == OURO__INC_MARK ? cursor_seen : !cursor_seen;
        if (r == h->inc.cursor) {
            before = false;
            cursor_seen = true;
            if (!(o->flags & OURO__F_CURSOR)) {
                ouro__report(h, "ouro_heap_check: incremental cycle: cursor object %p not "
                                "flagged\n", (void *)o);
                return OURO_EINVAL;
            }
        } else if (o->flags & OURO__F_CURSOR) {
            ouro__report(h, "ouro_heap_check: incremental cycle: %p flagged as the cursor\n",
                         (void *)o);
            return OURO_EINVAL;
        }
        r = o->gc_next;
        bool flagged = (o->flags & OURO__F_INCR) != 0;
        if ((phase != OURO__INC_SUBTRACT || before) && !flagged) {
            ouro__report(h, "ouro_heap_check: incremental cycle: %s object %p not visited\n",
                         ouro_type_name(o), (void *)o);
            return OURO_EINVAL;
        }
        int32_t s = phase == OURO__INC_SUBTRACT ? 0 : side_peek(h, o);
        bool ok = phase == OURO__INC_SUBTRACT ? true
                  : phase == OURO__INC_FINISH ? s == SIDE_BATCH
                  : before                    ? s == SIDE_ALIVE
                                              : s == SIDE_ALIVE || s <= 0;
        if (!ok) {
            ouro__report(h, "ouro_heap_check: incremental cycle: %s object %p has side count "
                            "%d\n", ouro_type_name(o), (void *)o, (int)s);
            return OURO_EINVAL;
        }
    }
    if (!cursor_seen) {
        ouro__report(h, "ouro_heap_check: incremental cycle: the cursor is not on its list\n");
        return OURO_EINVAL;
    }
    return check_marked(h, UNREACH_LIST, SIDE_UNREACH, "candidates");
}
