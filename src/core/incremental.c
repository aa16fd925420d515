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
 * only *select candidates*, and the cycle's last increment runs CPython's
 * exact collection on the candidates, at one instant, with every
 * reference from outside them (the rest of the heap, the program's
 * locals, C code) counted from the objects' counts as they are then.
 * That decision is right for any set whatsoever; the increments' only job
 * is to make the set small and to make sure it contains the garbage.
 *
 *   start     every generation is spliced onto INC_SCAN (O(1)); the cycle's
 *             set S is what was tracked at that instant.  New objects join
 *             generation 0 as usual and are collected by young collections.
 *   SUBTRACT  a cursor walks INC_SCAN; for each object of S, in
 *             increments: set OURO__F_INCR, and for each tracked object it
 *             references, decrement that object's side count (a per-cycle
 *             table beside the arenas, zero to start with).
 *   MARK      the cursor walks INC_SCAN again: an object known reachable,
 *             or whose count plus side count is above zero (a reference
 *             from outside the visited objects), is reachable: traverse
 *             it, marking what it references that is in S as reachable
 *             (moving it back from INC_UNREACH to the end of INC_SCAN, ahead
 *             of the cursor, if it had been judged unreachable), and leave
 *             it where it is.  Otherwise it moves to INC_UNREACH.
 *   finish    when the cursor reaches the end: CPython's exact collection
 *             of INC_UNREACH (gc.c, ouro__gc_collect_list: weak
 *             references, finalizers, resurrection, clear, gc.garbage, as
 *             always); INC_SCAN and the survivors join the oldest
 *             generation.  The side tables are released a few at a time
 *             afterwards (ouro__inc_release).
 *
 * WHY IT IS SAFE.  The exact collection frees an object only if, at that
 * instant, every reference to it comes from a candidate that is freed too;
 * so whatever the increments concluded, nothing reachable is freed.  An
 * object dying (by reference counting) during the cycle leaves its list
 * like any tracked object; the cursor's object is flagged CURSOR between
 * increments, which sends its untracking (or any move off its list) to
 * the slow path, where the cursor moves on to its successor
 * (ouro__inc_cursor_leaves): the allocation and deallocation fast paths
 * pay nothing.  The side table is only read for
 * objects on the cycle's lists (flagged INCR in MARK), never for objects
 * tracked during the cycle, so a block that died and was reused by a new
 * object is never misread.
 *
 * WHY IT IS COMPLETE.  An object that was garbage when the cycle started
 * is touched by nobody until the collector frees it (a weak reference
 * that hands it back to the program makes it live again).  Every
 * reference to it comes from garbage in S, which SUBTRACT visits with the
 * same references it had at the start, so its count plus its side count
 * is exactly zero; no reachable object references it, so MARK never marks
 * it; it is in INC_UNREACH at the end and the exact collection frees it.
 *
 * COST.  Each object of S is visited once by SUBTRACT and once or twice by
 * MARK (an increment's budget counts visits), and only the objects judged
 * unreachable change lists; the last increment costs O(candidates): the
 * garbage, plus the live objects the program's moves misled the passes
 * about.  Memory: 4 bytes per 16 bytes of the arenas holding S, mapped
 * during a cycle, touched only where S lives.
 */
#include "internal.h"

#include <stdlib.h>
#include <sys/mman.h>

#define SCAN (&h->lists[OURO__LIST_INC_SCAN])
#define UNREACH_LIST (&h->lists[OURO__LIST_INC_UNREACH])
#define GEN(i) (&h->lists[OURO__LIST_GEN0 + (i)])

/* Side counts are minus a number of references, so never positive: the
 * two marks are positive. */
#define SIDE_ALIVE 0x40000000
#define SIDE_UNREACH 0x20000000

static inline uint32_t head_ref(ouro_heap *h, ouro_object *head)
{
    return (uint32_t)((size_t)((uint8_t *)head - (uint8_t *)h) >> 4);
}

/* ------------------------------------------------------------ side table */

/* One table per arena-table slot: an arena has 65,536 16-byte units (a
 * large block's object sits at unit 4).  Mapped, not allocated: the pages
 * are zero until touched, and only those under S are. */
#define SIDE_BYTES ((size_t)1 << 18)

static int32_t *side_alloc(ouro_heap *h, uint32_t index)
{
    void *t = mmap(NULL, SIDE_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED) {
        h->inc.oom = true;
        return NULL;
    }
    h->inc.side[index] = t;
    return t;
}

/* The side count of the object whose compressed reference is r, or NULL
 * when its table cannot be mapped. */
static inline int32_t *side_at(ouro_heap *h, uint32_t r)
{
    int32_t *t = h->inc.side[r >> 16];
    if (OURO__UNLIKELY(!t) && !(t = side_alloc(h, r >> 16)))
        return NULL;
    return &t[r & 0xffff];
}

/* A referent's side count: most references point into the pool just
 * looked at, so the pool's slot, base and table are remembered
 * (h->inc.memo) instead of read from its header and the arena table for
 * every edge. */
static inline int32_t *side_of(ouro_heap *h, const ouro_object *o)
{
    uintptr_t pool = (uintptr_t)o & ~(uintptr_t)(OURO__POOL_SIZE - 1);
    if (OURO__UNLIKELY(pool != h->inc.memo_pool)) {
        uint32_t index = ((ouro__chunk *)pool)->index;
        int32_t *t = h->inc.side[index];
        if (OURO__UNLIKELY(!t) && !(t = side_alloc(h, index)))
            return NULL;
        h->inc.memo_pool = pool;
        h->inc.memo_base = h->slot_base[index];
        h->inc.memo_table = t;
    }
    return &h->inc.memo_table[(size_t)((const uint8_t *)o - h->inc.memo_base) >> 4];
}

static void *table_map(void)
{
    void *p = mmap(NULL, OURO__MAX_ARENAS * sizeof(int32_t *), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Unmaps up to `max_tables` of a finished cycle's tables (all: UINT32_MAX),
 * then the array itself once it is empty. */
void ouro__inc_release(ouro_heap *h, uint32_t max_tables)
{
    int32_t **old = h->inc.side_old;
    if (!old)
        return;
    uint32_t i = h->inc.release_at, freed = 0;
    for (; i < OURO__MAX_ARENAS && freed < max_tables; i++) {
        if (old[i]) {
            munmap(old[i], SIDE_BYTES);
            old[i] = NULL;
            freed++;
        } else if (i >= h->slot_top) {
            i = OURO__MAX_ARENAS; /* no slot above was ever used */
            break;
        }
    }
    h->inc.release_at = i;
    if (i >= OURO__MAX_ARENAS) {
        munmap(old, OURO__MAX_ARENAS * sizeof(int32_t *));
        h->inc.side_old = NULL;
    }
}

/* The cycle's tables go to the release queue (after any still there). */
static void side_retire(ouro_heap *h)
{
    if (!h->inc.side)
        return;
    ouro__inc_release(h, UINT32_MAX);
    h->inc.side_old = h->inc.side;
    h->inc.release_at = 0;
    h->inc.side = NULL;
    h->inc.memo_pool = 0;
}

/* ------------------------------------------------------------ the cursor */

static inline void cursor_flag(ouro_heap *h)
{
    if (h->inc.cursor != head_ref(h, SCAN))
        ouro__obj_of(h, h->inc.cursor)->flags |= OURO__F_CURSOR;
}

static inline void cursor_unflag(ouro_heap *h)
{
    if (h->inc.cursor != head_ref(h, SCAN))
        ouro__obj_of(h, h->inc.cursor)->flags &= (uint16_t)~OURO__F_CURSOR;
}

/* The object a pass visits after o: SUBTRACT walks INC_SCAN forwards,
 * MARK backwards (see mark()). */
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
    ouro__inc_release(h, UINT32_MAX); /* the last cycle's, if any are left */
    h->inc.side = table_map();
    if (!h->inc.side)
        return false;
    h->inc.oom = false;
    /* Oldest first, as a full collection merges them. */
    ouro__list_merge(h, GEN(2), SCAN);
    ouro__list_merge(h, GEN(1), SCAN);
    ouro__list_merge(h, GEN(0), SCAN);
    h->inc.alive = 0;
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
    ouro__list_merge(h, UNREACH_LIST, tmp);
    ouro__list_merge(h, GEN(2), tmp);
    ouro__list_merge(h, tmp, GEN(2));
    side_retire(h);
    h->inc.phase = OURO__INC_IDLE;
    h->inc.abandoned++;
}

static int visit_subtract(ouro_object *c, void *arg)
{
    ouro_heap *h = arg;
    if (!c || !c->gc_next)
        return 0;
    int32_t *s = side_of(h, c);
    if (!s)
        return 1;
    --*s;
    return 0;
}

static int visit_mark(ouro_object *c, void *arg)
{
    ouro_heap *h = arg;
    if (!c || !c->gc_next || !(c->flags & OURO__F_INCR))
        return 0;
    int32_t *s = side_of(h, c);
    if (!s)
        return 1;
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

static inline int traverse(ouro_object *o, ouro_visit_fn fn, void *arg)
{
    ouro_type *t = ouro__type(o);
    return t->traverse ? t->traverse(o, fn, arg) : 0;
}

/* SUBTRACT: visit up to *budget objects.  Returns false on a side table
 * that could not be mapped. */
static bool subtract(ouro_heap *h, long *budget)
{
    uint32_t end = head_ref(h, SCAN), r = h->inc.cursor;
    bool ok = true;
    while (*budget > 0 && r != end) {
        ouro_object *o = ouro__obj_of(h, r);
        o->flags = (uint16_t)((o->flags & ~(OURO__F_PENDING | OURO__F_MIDDLE)) | OURO__F_INCR);
        if (traverse(o, visit_subtract, h)) {
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
    uint32_t end = head_ref(h, SCAN);
    while (*budget > 0 && h->inc.cursor != end) {
        ouro_object *o = ouro__obj_of(h, h->inc.cursor);
        OURO__ASSERT(o->flags & OURO__F_INCR);
        int32_t *s = side_at(h, h->inc.cursor);
        if (!s)
            return false;
        if (*s == SIDE_ALIVE || ouro_is_immortal(o) || (int64_t)o->refcnt + *s > 0) {
            *s = SIDE_ALIVE;
            if (traverse(o, visit_mark, h))
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

/* The last step: the exact collection of the candidates, then everything
 * back in the oldest generation. */
static void finish(ouro_heap *h, long *collected, long *uncollectable)
{
    *collected = *uncollectable = 0;
    side_retire(h);
    /* Oldest generation: what the cycle found reachable, what joined the
     * oldest generation meanwhile, then the candidates that survive. */
    ouro_object *tmp = &h->lists[OURO__LIST_TMP];
    ouro__list_merge(h, SCAN, tmp);
    ouro__list_merge(h, GEN(2), tmp);
    ouro__list_merge(h, tmp, GEN(2));
    h->inc.phase = OURO__INC_IDLE;
    size_t kept = 0;
    if (!ouro__list_empty(h, UNREACH_LIST))
        kept = ouro__gc_collect_list(h, UNREACH_LIST, &h->inc.candidates, collected,
                                     uncollectable);
    h->inc.rescued += kept;
    /* What the cycle left (objects that died since they were counted are
     * still in: a heuristic for the next cycle's start). */
    h->long_lived_total = h->inc.alive + kept;
    h->long_lived_pending = 0;
    h->inc.cycles++;
}

/* Up to `budget` units of the cycle in progress.  Returns 1 when the cycle
 * ended (*collected, *uncollectable: its exact collection's result), 0
 * when work remains, OURO_ENOMEM when a side table could not be mapped
 * (the cycle is abandoned). */
int ouro__inc_work(ouro_heap *h, long budget, long *collected, long *uncollectable)
{
    *collected = *uncollectable = 0;
    h->inc.increments++;
    h->inc.memo_pool = 0; /* pools may have come and gone since the last */
    cursor_unflag(h);
    if (h->inc.phase == OURO__INC_SUBTRACT && !subtract(h, &budget))
        goto oom;
    if (h->inc.phase == OURO__INC_MARK) {
        if (!mark(h, &budget))
            goto oom;
        if (h->inc.cursor == head_ref(h, SCAN)) {
            finish(h, collected, uncollectable);
            return 1;
        }
    }
    cursor_flag(h);
    return 0;
oom:
    cursor_flag(h);
    ouro__inc_abandon(h);
    return OURO_ENOMEM;
}

/* ouro_heap_check's part: the invariants at ouro__incr (internal.h). */
int ouro__inc_check(ouro_heap *h)
{
    int phase = h->inc.phase;
    if (phase == OURO__INC_IDLE) {
        if (!ouro__list_empty(h, SCAN) || !ouro__list_empty(h, UNREACH_LIST) || h->inc.side) {
            ouro__report(h, "ouro_heap_check: incremental lists in use with no cycle\n");
            return OURO_EINVAL;
        }
        return 0;
    }
    if (phase == OURO__INC_SUBTRACT && !ouro__list_empty(h, UNREACH_LIST)) {
        ouro__report(h, "ouro_heap_check: incremental cycle: candidates before marking\n");
        return OURO_EINVAL;
    }
    /* Walk INC_SCAN: the objects the pass has visited (before the cursor
     * for SUBTRACT, after it for MARK, which walks backwards), the
     * cursor's flagged, and no other. */
    uint32_t hr = head_ref(h, SCAN);
    bool cursor_seen = h->inc.cursor == hr;
    for (uint32_t r = SCAN->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        bool before = phase == OURO__INC_SUBTRACT ? !cursor_seen : cursor_seen;
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
        if ((phase == OURO__INC_MARK || before) && !flagged) {
            ouro__report(h, "ouro_heap_check: incremental cycle: %s object %p not visited\n",
                         ouro_type_name(o), (void *)o);
            return OURO_EINVAL;
        }
        if (phase == OURO__INC_MARK) {
            uint32_t ref = ouro__obj_ref(h, o);
            int32_t *t = h->inc.side[ref >> 16];
            int32_t s = t ? t[ref & 0xffff] : 0;
            if (before ? s != SIDE_ALIVE : !(s == SIDE_ALIVE || s <= 0)) {
                ouro__report(h, "ouro_heap_check: incremental cycle: %s object %p has side "
                                "count %d\n", ouro_type_name(o), (void *)o, (int)s);
                return OURO_EINVAL;
            }
        }
    }
    if (!cursor_seen) {
        ouro__report(h, "ouro_heap_check: incremental cycle: the cursor is not on its list\n");
        return OURO_EINVAL;
    }
    for (uint32_t r = UNREACH_LIST->gc_next; r != head_ref(h, UNREACH_LIST);) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        uint32_t ref = ouro__obj_ref(h, o);
        int32_t *t = h->inc.side[ref >> 16];
        if (!(o->flags & OURO__F_INCR) || !t || t[ref & 0xffff] != SIDE_UNREACH) {
            ouro__report(h, "ouro_heap_check: incremental cycle: %s object %p is a candidate "
                            "but not marked as one\n", ouro_type_name(o), (void *)o);
            return OURO_EINVAL;
        }
    }
    return 0;
}
