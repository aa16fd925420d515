/*
 * gc.c — the generational cycle collector and its controls.
 *
 * ALGORITHM (the semantics are CPython 3.11's, phase by phase, because the
 * order of finalizers and callbacks is observable)
 *
 * Tracked objects live on doubly-linked lists, one per generation, threaded
 * through the 32-bit gc_next/gc_prev words of their headers.  New objects
 * join generation 0; survivors of a collection of generation g move to g+1.
 * A collection of generation g is eight steps, one function each, called
 * in order by gc_collect_region (and nothing else is):
 *
 *   1. merge_generations: merges generations 0..g-1 into g ("young");
 *      "old" is g+1 (or g itself for the oldest generation);
 *   2. deduce_unreachable_young: copies each young object's reference
 *      count into gc_prev ("gc_refs", the collector owns gc_prev during
 *      this step), subtracts every reference that comes from another young
 *      object, and moves objects whose gc_refs stay zero, and are not
 *      reachable from an object with gc_refs > 0, to an "unreachable" list.
 *      What remains was referenced from outside young: roots, older
 *      generations, C code.  A full collection with nothing frozen fuses
 *      the first two passes into one sweep over the pools (sweep_refs);
 *   3. move_survivors: moves the survivors to old (untracking those that
 *      hold only atomic objects, through the types' hook);
 *   4. move_legacy_finalizers: sets apart objects of types with legacy
 *      finalizers (and what they reach): they are uncollectable;
 *   5. handle_weakrefs: clears every weak reference to an unreachable
 *      object, then runs the callbacks of those weak references that are
 *      not themselves trash;
 *   6. finalize_garbage: runs each unreachable object's PEP 442 finalizer,
 *      once per object;
 *   7. handle_resurrected_objects: recomputes reachability within the
 *      unreachable set: objects a finalizer resurrected (and all they
 *      reach) move to old;
 *   8. delete_garbage: clears the rest (type->clear), which breaks the
 *      cycles so reference counting frees them (or, under DEBUG_SAVEALL,
 *      appends them to the garbage list instead); the uncollectable
 *      objects of step 4 go to the garbage list.
 *
 * Steps 4-7 skip themselves when what step 2 or 4 learnt about the trash
 * says they have nothing to do (no finalizer, no weak reference).  The gc
 * callbacks ("start", "stop"), DEBUG_STATS lines, timing, statistics and
 * the schedule's counters are around the eight steps, in
 * collect_with_callback.
 *
 * The return value is CPython's: objects found unreachable and not
 * resurrected, plus weak references freed right after their callback, plus
 * uncollectable objects.
 *
 * COST.  Every phase touches only the young lists: a young collection costs
 * O(young objects + the references they hold), independent of the old heap.
 * A full collection is O(tracked objects + references).
 *
 * INVARIANTS
 *   - Outside a collection no object has COLLECTING or UNREACHABLE set,
 *     and every list is properly doubly linked.
 *   - During steps 2 and 7, gc_prev of young objects holds gc_refs and the
 *     young list is linked through gc_next only.
 *   - An untracked object has gc_next == 0; untracking clears COLLECTING
 *     and UNREACHABLE, so an object that dies during a collection drops out.
 */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <time.h>

/* ------------------------------------------------------------ lists */

/* A list walk's decoder: remembers the last slot base, so that the common
 * step to a neighbour in the same arena is a compare the branch predictor
 * answers instead of a dependent load of slot_base[] in the walk's chain
 * of loads. */
typedef struct walk_base {
    uint32_t index;
    uint8_t *base;
} walk_base;

static inline ouro_object *walk_obj(ouro_heap *h, walk_base *w, uint32_t r)
{
    if (OURO__UNLIKELY(r >> 16 != w->index)) {
        w->index = r >> 16;
        w->base = h->slot_base[w->index];
    }
    return (ouro_object *)(w->base + ((size_t)(r & 0xffff) << 4));
}

#define REF(o) ouro__ref_of(h, (o))
#define NEXT(o) ouro__obj_of(h, (o)->gc_next)
#define PREV(o) ouro__obj_of(h, (o)->gc_prev)

void ouro__list_init(ouro_heap *h, ouro_object *head)
{
    uint32_t r = ouro__head_ref(h, head);
    head->gc_next = head->gc_prev = r;
}

bool ouro__list_empty(ouro_heap *h, ouro_object *head)
{
    return head->gc_next == ouro__head_ref(h, head);
}

void ouro__list_append(ouro_heap *h, ouro_object *o, ouro_object *head)
{
    ouro_object *last = PREV(head);
    uint32_t r = REF(o);
    last->gc_next = r;
    o->gc_prev = head->gc_prev;
    o->gc_next = ouro__head_ref(h, head);
    head->gc_prev = r;
}

void ouro__list_remove(ouro_heap *h, ouro_object *o)
{
    OURO__ASSERT(o->gc_next != 0); /* tracked: on exactly one list */
    if (OURO__UNLIKELY(o->flags & OURO__F_CURSOR))
        ouro__inc_cursor_leaves(h, o);
    ouro_object *prev = PREV(o), *next = NEXT(o);
    prev->gc_next = o->gc_next;
    next->gc_prev = o->gc_prev;
    o->gc_next = 0;
}

/* o (on no list) becomes head's first element. */
void ouro__list_prepend(ouro_heap *h, ouro_object *o, ouro_object *head)
{
    ouro_object *first = NEXT(head);
    uint32_t r = REF(o);
    o->gc_next = head->gc_next;
    o->gc_prev = ouro__head_ref(h, head);
    first->gc_prev = r;
    head->gc_next = r;
}

void ouro__list_move(ouro_heap *h, ouro_object *o, ouro_object *head)
{
    ouro__list_remove(h, o);
    ouro__list_append(h, o, head);
}

void ouro__list_merge(ouro_heap *h, ouro_object *from, ouro_object *to)
{
    OURO__ASSERT(from != to);
    if (ouro__list_empty(h, from))
        return;
    ouro_object *tail = PREV(to);
    ouro_object *first = NEXT(from), *last = PREV(from);
    tail->gc_next = from->gc_next;
    first->gc_prev = REF(tail);
    to->gc_prev = from->gc_prev;
    last->gc_next = ouro__head_ref(h, to);
    ouro__list_init(h, from);
}

size_t ouro__list_size(ouro_heap *h, ouro_object *head)
{
    size_t n = 0;
    uint32_t hr = ouro__head_ref(h, head);
    for (uint32_t r = head->gc_next; r != hr; r = ouro__obj_of(h, r)->gc_next)
        n++;
    return n;
}

#define GEN(i) (&h->lists[OURO__LIST_GEN0 + (i)])
#define LIST(name) (&h->lists[OURO__LIST_##name])

static inline bool is_gc(ouro_object *o)
{
    return (ouro__type(o)->flags & OURO_TYPE_GC) != 0;
}

#if OURO_ASSERT_LEVEL >= 2
static const size_t ANY = SIZE_MAX; /* a variable: a failed assertion prints "ANY" */

static const char *list_name(ouro_heap *h, ouro_object *head)
{
    /* In the order of the OURO__LIST_ enum (internal.h). */
    static const char *const names[] = {
        "generation 0",      "generation 1",   "generation 2",
        "incremental scan",  "incremental unreachable", "incremental batch",
        "incremental retry", "permanent",      "unreachable",
        "finalizers",        "weakref callbacks", "seen",
        "final",             "tmp"};
    _Static_assert(sizeof names / sizeof names[0] == OURO__NUM_LISTS,
                   "a name for every collector list");
    return names[head - h->lists];
}

/*
 * The expensive assertion between the collector's steps (CPython's
 * validate_list): every object on `head`'s list is a live GC object whose
 * COLLECTING and UNREACHABLE flags are exactly `flags`, every link back
 * (gc_prev) matches the link forward, and the list holds `count` objects
 * (ANY: any number).  Reports the first problem and returns false, so
 * that the failed assertion names the step that broke it.  O(list).
 */
static bool validate_list(ouro_heap *h, ouro_object *head, uint16_t flags, size_t count)
{
    const uint16_t mask = OURO__F_COLLECTING | OURO__F_UNREACHABLE;
    const char *name = list_name(h, head);
    uint32_t hr = ouro__head_ref(h, head), prev = hr;
    size_t n = 0;
    for (uint32_t r = head->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        if (o->gc_prev != prev) {
            ouro__report(h, "validate_list: %s: %s object %p: link back is %#x, not %#x\n",
                         name, ouro_type_name(o), (void *)o, o->gc_prev, prev);
            return false;
        }
        if (!(o->flags & OURO__F_OBJECT) || (o->flags & OURO__F_FREED) || !is_gc(o)) {
            ouro__report(h, "validate_list: %s: %p is not a live GC object\n", name, (void *)o);
            return false;
        }
        if ((o->flags & mask) != flags) {
            ouro__report(h, "validate_list: %s: %s object %p: collector flags %#x, expected %#x\n",
                         name, ouro_type_name(o), (void *)o, o->flags & mask, flags);
            return false;
        }
        if (++n > ouro__live_objects(h)) {
            ouro__report(h, "validate_list: %s: cycle in the list\n", name);
            return false;
        }
        prev = r;
        r = o->gc_next;
    }
    if (head->gc_prev != prev) {
        ouro__report(h, "validate_list: %s: the head's link back is %#x, not %#x\n", name,
                     head->gc_prev, prev);
        return false;
    }
    if (count != SIZE_MAX && n != count) {
        ouro__report(h, "validate_list: %s: %zu objects, expected %zu\n", name, n, count);
        return false;
    }
    return true;
}
#define VALIDATE_LIST(head, flags, count)                                                  \
    OURO__ASSERT_EXPENSIVE(validate_list(h, head, flags, count))
#else
#define VALIDATE_LIST(head, flags, count) ((void)0)
#endif
#define COLLECTING OURO__F_COLLECTING
#define UNREACHABLE OURO__F_UNREACHABLE

/* ------------------------------------------------------------ tracking */


void ouro__gc_untrack(ouro_heap *h, ouro_object *o)
{
    OURO__ASSERT(o->gc_next != 0 && is_gc(o));
    ouro__list_remove(h, o);
    ouro__gc_uncount(h, o->flags);
    o->flags &= (uint16_t)~(OURO__F_COLLECTING | OURO__F_UNREACHABLE | OURO__F_PENDING |
                            OURO__F_MIDDLE | OURO__F_INCR | OURO__F_CURSOR | OURO__F_TLIST);
}

/* The incremental schedule's bound on generation 0's growth factor. */
#define INC_YOUNG_MAX 16
/* ... and the fewest survivors (x threshold0) that start a cycle. */
#define INC_CYCLE_MIN 4

/* Generation 0's trigger for growth factor `factor`: threshold0 times it,
 * kept within what the int count can reach once grown (the invariant at
 * young_threshold in internal.h). */
static void young_retune(ouro_heap *h, int factor)
{
    long t = (long)h->gen[0].threshold * factor;
    h->young_factor = factor;
    h->young_threshold = factor > 1 && t > INT_MAX - 1 ? INT_MAX - 1 : t;
    /* Stress mode: every tracked allocation passes ouro_new's test (the
     * count is at least 1 there) and reaches ouro__gc_maybe_collect, so
     * the ordinary allocation path pays nothing for the mode. */
    if (h->cfg.debug >= OURO_DEBUG_GC_STRESS)
        h->young_threshold = 0;
    h->young_limit = h->young_threshold;
}

/*
 * The adaptive schedule (the default; docs/design.md §7).  CPython 3.11's
 * schedule collects generation 0 every 700 net tracked allocations.  A
 * program that builds structures that live pays for each of those
 * collections: every young object is traversed, survives, is promoted and
 * is traversed again in generation 1, while a young collection that frees
 * nothing was pure overhead (binary-trees N=18: 57,331 collections).  Here
 * generation 0's trigger doubles after an automatic collection that freed
 * fewer objects than an eighth of the trigger (PHP and Nim ORC grow theirs
 * on the same evidence), and goes back to threshold0 after one that freed
 * more.  Bounds keep cyclic garbage prompt:
 *
 *  - the trigger stays at most young_growth (1024) times threshold0, and
 *    at most half the objects alive outside generation 0 (as free-threaded
 *    CPython scales its threshold with the live heap): garbage that waits
 *    in generation 0 is thus bounded by a fraction of the live heap, and
 *    a small heap keeps CPython's schedule;
 *  - the middle generation is collected when the survivors of young
 *    collections still alive in it (middle_live: an object that dies by
 *    reference counting leaves the count) outnumber max(threshold0,
 *    trigger / 2) (due()): garbage promoted before it died waits there no
 *    longer than half a young collection's worth of survivors, and an
 *    object that lives is traversed once there, however large the
 *    trigger grew.
 *    The first version of this schedule counted a young collection at
 *    factor f as f towards generation 1 instead, to keep CPython's pace
 *    in allocations.  At the same growth bound the two measure alike on
 *    binary-trees, GCBench and W5 (36, 33 and 24 collections); W10 keeps
 *    0.70x of CPython's schedule's peak with this rule and 0.63x with
 *    counting f on lists, 0.79x and 1.00x on batches.  What took
 *    binary-trees N=18 from 351 collections to 36 was the growth bound
 *    (64 -> 1024), not the rule.  This rule is kept because the middle
 *    generation's pace follows what is in it, not the allocations;
 *    whether that is worth the flag is open (docs/performance.md);
 *  - the oldest generation is collected at the first chance after a
 *    collection of the middle one, when the 25% rule allows (the objects
 *    promoted since the last full collection and still alive are at least
 *    a quarter of those it left): garbage promoted there waits for at most
 *    a quarter of the live heap.
 *
 * W10 keeps 0.39x (lists, 200 rounds), 0.70x (lists, 2,000 rounds) and
 * 0.79x (batches) of the objects CPython's schedule keeps alive at its
 * peak; with the middle trigger at the whole trigger instead of half,
 * 0.58x and 0.74x.  What it costs: a few comparisons and
 * a division per automatic collection, and a counter decrement when an
 * object of the middle generation dies (ouro__gc_untrack).
 */
static void young_adapt(ouro_heap *h, long found)
{
    /* (a shared heap's young_threshold may be relative to the count,
     * under the incremental schedule: its trigger is young_limit) */
    long trigger = h->shared && h->incremental ? h->young_limit : h->young_threshold;
    int f = found * 8 < trigger ? h->young_factor * 2 : 1;
    if (f > h->young_growth)
        f = h->young_growth;
    if (h->incremental && f > INC_YOUNG_MAX)
        f = INC_YOUNG_MAX;
    size_t live = ouro__live_objects(h);
    size_t young = h->gen[0].count > 0 ? (size_t)h->gen[0].count : 0;
    size_t old = live > young ? live - young : 0;
    size_t cap = h->gen[0].threshold ? old / 2 / (size_t)h->gen[0].threshold : 1;
    if ((size_t)f > cap)
        f = cap > 1 ? (int)cap : 1;
    young_retune(h, f);
}

void ouro__gc_init(ouro_heap *h)
{
    for (int i = 0; i < OURO__NUM_LISTS; i++)
        ouro__list_init(h, &h->lists[i]);
    static const int thresholds[OURO_GC_GENERATIONS] = {700, 10, 10};
    for (int i = 0; i < OURO_GC_GENERATIONS; i++)
        h->gen[i].threshold = thresholds[i];
    h->young_growth = OURO__ADAPTIVE_GROWTH;
    h->incremental = true; /* the default schedule: incremental (docs/design.md §9) */
    young_retune(h, 1);
    h->enabled = true;
}

/* ------------------------------------------------------------ debug output */

static void gc_debug(ouro_heap *h, const char *msg, ouro_object *o)
{
    char buf[160];
    snprintf(buf, sizeof buf, "gc: %s <%s %p>\n", msg, ouro_type_name(o), (void *)o);
    h->cfg.sink(h->cfg.sink_ctx, buf);
}

/* ------------------------------------------------------------ the phases */

/* An object's reference count as the collector reads it: a shared heap's
 * object counts in two places (shared.c), both still while the world is
 * stopped. */
static inline uint32_t gc_count(const ouro_heap *h, const ouro_object *o)
{
    if (OURO__UNLIKELY(h->shared != NULL))
        return ouro__shared_refcount(o);
    return o->refcnt;
}

/* Returns the number of objects in the list.  `clear` flags are removed on
 * the way (PENDING, in a full collection). */
static inline __attribute__((always_inline)) size_t
update_refs_in(ouro_heap *h, ouro_object *young, uint16_t clear, const bool flip)
{
    uint32_t hr = ouro__head_ref(h, young);
    walk_base w = {0, h->slot_base[0]};
    size_t n = 0;
    uint32_t prev_ref = hr;
    for (uint32_t r = young->gc_next; r != hr;) {
        ouro_object *o = walk_obj(h, &w, r);
        uint32_t next = o->gc_next;
        if (flip)
            o->gc_next = prev_ref;
        prev_ref = r;
        r = next;
        o->gc_prev = gc_count(h, o);
        o->flags = (uint16_t)((o->flags & ~clear) | OURO__F_COLLECTING);
        n++;
    }
    if (flip && n) {
        young->gc_prev = young->gc_next; /* the oldest is last now */
        young->gc_next = prev_ref;
    }
    return n;
}

static size_t update_refs(ouro_heap *h, ouro_object *young, uint16_t clear)
{
    return update_refs_in(h, young, clear, false);
}

/* update_refs that also turns the list around, following gc_next only
 * (gc_prev holds the counts from here on): move_unreachable then scans the
 * newest objects first, and its move-backs append at the oldest end. */
static size_t update_refs_flipped(ouro_heap *h, ouro_object *young, uint16_t clear)
{
    return update_refs_in(h, young, clear, true);
}

static int visit_decref(ouro_object *o, void *arg)
{
    (void)arg;
    if (o && (o->flags & OURO__F_COLLECTING))
        o->gc_prev--;
    return 0;
}

static void subtract_refs(ouro_heap *h, ouro_object *young)
{
    uint32_t hr = ouro__head_ref(h, young);
    walk_base w = {0, h->slot_base[0]};
    for (uint32_t r = young->gc_next; r != hr;) {
        ouro_object *o = walk_obj(h, &w, r);
        r = o->gc_next;
        ouro_type *t = ouro__type(o);
        if (t->traverse)
            t->traverse(o, visit_decref, NULL);
    }
}

/* The fused first pass of a full collection with nothing frozen: every
 * tracked object is in the collected set, so "in the set" is "tracked", and
 * an object's gc_refs can be initialised the first time it is seen, either
 * by the sweep or as somebody's referent.  (gc_prev can be overwritten
 * early: these passes follow gc_next only.)  One sequential sweep replaces
 * update_refs and subtract_refs, two walks in list order. */
typedef struct sweep_ctx {
    size_t n;
    uint16_t clear;
    ouro_heap *h;
} sweep_ctx;

static int visit_decref_init(ouro_object *c, void *arg)
{
    if (!c || !c->gc_next)
        return 0;
    if (!(c->flags & OURO__F_COLLECTING)) {
        sweep_ctx *sc = arg;
        c->gc_prev = gc_count(sc->h, c);
        c->flags = (uint16_t)((c->flags & ~sc->clear) | OURO__F_COLLECTING);
        sc->n++;
    }
    c->gc_prev--;
    return 0;
}

static inline int sweep_refs(void *block, void *arg)
{
    ouro_object *o = block;
    if (!o->gc_next || !(o->flags & OURO__F_OBJECT))
        return 0;
    if (!(o->flags & OURO__F_COLLECTING)) {
        sweep_ctx *sc = arg;
        o->gc_prev = gc_count(sc->h, o);
        o->flags = (uint16_t)((o->flags & ~sc->clear) | OURO__F_COLLECTING);
        sc->n++;
    }
    ouro_type *t = ouro__type(o);
    if (t->traverse)
        t->traverse(o, visit_decref_init, arg);
    return 0;
}

typedef struct reach_ctx {
    ouro_heap *h;
    ouro_object *young;
} reach_ctx;

static int visit_reachable(ouro_object *o, void *arg)
{
    reach_ctx *rc = arg;
    ouro_heap *h = rc->h;
    if (!o || !(o->flags & OURO__F_COLLECTING))
        return 0; /* other generation, or already scanned */
    if (o->flags & OURO__F_UNREACHABLE) {
        /* Tentatively unreachable, but reachable after all: back to the
         * end of young, where the scan will reach it again. */
        ouro_object *prev = PREV(o), *next = NEXT(o);
        uint32_t r = prev->gc_next; /* o's own reference */
        prev->gc_next = o->gc_next;
        next->gc_prev = o->gc_prev;
        o->flags &= (uint16_t)~OURO__F_UNREACHABLE;
        ouro_object *young = rc->young;
        ouro_object *last = PREV(young);
        last->gc_next = r;
        o->gc_next = ouro__head_ref(h, young);
        young->gc_prev = r;
        o->gc_prev = 1; /* gc_refs */
    } else if (o->gc_prev == 0) {
        o->gc_prev = 1;
    }
    return 0;
}

/* It holds weak references to it, or it is a weak reference: clearing it
 * as trash may run callbacks (handle_weakrefs). */
static inline bool weak_involved(const ouro_object *o)
{
    /* The id is read atomically: another thread may be registering the
     * weak reference type (types.h, ouro__type_id). */
    return (o->flags & OURO__F_HASWEAK) ||
           o->type_id == __atomic_load_n(&ouro__weakref_type.id, __ATOMIC_RELAXED);
}

/* An object of a run of tentatively unreachable objects (move_unreachable):
 * flagged, counted, and noted if code may run when it is trash. */
static inline __attribute__((always_inline)) void set_aside(ouro_object *o, size_t *moved,
                                                            bool *special)
{
    o->flags |= OURO__F_UNREACHABLE;
    (*moved)++;
    if (special && !*special && (weak_involved(o) || ouro__type(o)->finalize))
        *special = true;
}

/* The object at nr if the run goes on there (it is not the list's end and
 * its gc_refs are 0), with the one after it prefetched; else NULL. */
static inline __attribute__((always_inline)) ouro_object *run_next(ouro_heap *h, walk_base *w,
                                                                  uint32_t nr, uint32_t hr)
{
    if (nr == hr)
        return NULL;
    ouro_object *n = walk_obj(h, w, nr);
    if (n->gc_prev)
        return NULL;
    __builtin_prefetch(walk_obj(h, w, n->gc_next));
    return n;
}

/* Returns the number of objects left in young (the reachable ones), which
 * get the `set` flags (PENDING, when they are about to join the oldest
 * generation).  They are left in the order the scan found them reachable
 * or, with `reverse`, in the opposite order (move_survivors says why),
 * linked so as the scan goes instead of by another walk: behind the scan,
 * every link is rewritten anyway, and nothing ahead of it ever points
 * back (visit_reachable appends at the tail, which is the scanned object
 * itself or an object ahead of it).  With `prepend`, young was turned
 * around (update_refs_flipped) and the trash goes to the front of
 * `unreachable`, each run turned around, so that it keeps generation
 * order.  `entered`, if not NULL, gets the number of objects set aside as
 * tentatively unreachable, those moved back included. */
static inline __attribute__((always_inline)) size_t
move_unreachable_in(ouro_heap *h, ouro_object *young, ouro_object *unreachable, uint16_t set,
                    bool *special, const bool reverse, const bool prepend, size_t *entered)
{
    size_t reachable = 0;
    size_t moved = 0; /* objects set aside as tentatively unreachable */
    ouro_object *prev = young;
    uint32_t hr = ouro__head_ref(h, young);
    uint32_t ur = ouro__head_ref(h, unreachable);
    reach_ctx rc = {h, young};
    uint32_t prev_ref = hr;
    uint32_t first_ref = hr; /* reverse: the first object found reachable */
    uint32_t r = young->gc_next;
    walk_base w = {0, h->slot_base[0]};
    while (r != hr) {
        ouro_object *o = walk_obj(h, &w, r);
        /* The walk is a chain of dependent loads: start the next one
         * while this object's referents are visited. */
        __builtin_prefetch(walk_obj(h, &w, o->gc_next));
        if (o->gc_prev) {
            ouro__traverse(o, visit_reachable, &rc);
            o->flags = (uint16_t)((o->flags & ~OURO__F_COLLECTING) | set);
            if (reverse) {
                /* Read after the visits, which may have appended to o. */
                uint32_t next = o->gc_next;
                o->gc_next = prev_ref; /* the head's, for the first */
                if (prev == young)
                    first_ref = r;
                else
                    prev->gc_prev = r;
                prev = o;
                prev_ref = r;
                r = next;
            } else {
                o->gc_prev = prev == young ? hr : prev_ref;
                prev = o;
                prev_ref = r;
                r = prev->gc_next;
            }
            reachable++;
        } else if (!prepend) {
            /* A run of tentatively unreachable objects (gc_refs 0) moves to
             * `unreachable` as one piece: the same order and the same
             * result as moving them one at a time, since no reachable
             * object, hence no visit, comes between them. */
            ouro_object *last = PREV(unreachable);
            last->gc_next = r;
            uint32_t pr = unreachable->gc_prev, cur = r;
            for (;;) {
                o->gc_prev = pr; /* gc_refs 0 becomes the list link */
                set_aside(o, &moved, special);
                uint32_t nr = o->gc_next;
                ouro_object *n = run_next(h, &w, nr, hr);
                if (!n)
                    break;
                pr = cur;
                cur = nr;
                o = n;
            }
            uint32_t after = o->gc_next;
            if (!reverse)
                prev->gc_next = after;
            o->gc_next = ur;
            unreachable->gc_prev = cur;
            r = after;
        } else {
            /* The scan goes newest first (update_refs_flipped): the run
             * goes to the front of `unreachable` turned around, so that
             * the trash keeps the order of generation 0, as the scan
             * oldest first leaves it (each piece of trash is set aside
             * once either way, in its place among the others). */
            uint32_t first = unreachable->gc_next;
            uint32_t link = first, cur = r, nr;
            for (;;) {
                set_aside(o, &moved, special);
                nr = o->gc_next;
                o->gc_next = link;
                link = cur;
                ouro_object *n = run_next(h, &w, nr, hr);
                if (!n)
                    break;
                o->gc_prev = nr; /* gc_refs 0 becomes the list link */
                cur = nr;
                o = n;
            }
            o->gc_prev = ur;
            unreachable->gc_next = cur;
            if (first == ur)
                unreachable->gc_prev = r;
            else
                walk_obj(h, &w, first)->gc_prev = r;
            if (!reverse)
                prev->gc_next = nr;
            r = nr;
        }
    }
    if (entered)
        *entered = moved;
    if (!reverse) {
        young->gc_prev = prev_ref;
    } else if (prev == young) {
        ouro__list_init(h, young);
    } else {
        prev->gc_prev = hr;
        young->gc_next = prev_ref;
        young->gc_prev = first_ref;
    }
    return reachable;
}

static size_t move_unreachable(ouro_heap *h, ouro_object *young, ouro_object *unreachable,
                               uint16_t set, bool *special)
{
    return move_unreachable_in(h, young, unreachable, set, special, false, false, NULL);
}

/* Splits `base` into what is reachable from outside it (left in base) and
 * the rest (moved to `unreachable`).  Returns the sizes. */
static void deduce_unreachable(ouro_heap *h, ouro_object *base, ouro_object *unreachable,
                               size_t *n_reachable, size_t *n_unreachable, uint16_t clear,
                               uint16_t set, bool *special)
{
    size_t total = update_refs(h, base, clear);
    subtract_refs(h, base);
    ouro__list_init(h, unreachable);
    size_t reachable = move_unreachable(h, base, unreachable, set, special);
    *n_reachable = reachable;
    *n_unreachable = total - reachable;
}

/*
 * The young collections of ouro's own schedules (incremental, whose
 * survivors come out reversed, move_survivors, and adaptive; never
 * CPython's, whose generations keep CPython's order).  A young object
 * whose only referrers are younger than itself, as in a chain built head
 * first or a tree built bottom up, is met by an oldest-first scan before
 * them, with gc_refs 0, is set aside as tentatively unreachable, and is
 * moved back and scanned again when its referrer is scanned: on GCBench
 * that was 2.2 M of the 4.1 M objects young collections examined; on a
 * chain, all of them.  A newest-first scan meets those referrers first,
 * and a tree built top down the other way round.  So each young
 * collection counts the objects it set aside that turned out reachable,
 * and when they were more than a quarter of what it examined, the next
 * one scans the other way.  Both scans find the same trash and leave it
 * in the same order (the generation's); only the survivors' order
 * differs, which these schedules decide anyway.
 */
static void deduce_unreachable_scan(ouro_heap *h, ouro_object *base, ouro_object *unreachable,
                                    size_t *n_reachable, size_t *n_unreachable, uint16_t clear,
                                    uint16_t set, bool *special, bool reverse)
{
    bool backward = h->young_backward;
    size_t total = backward ? update_refs_flipped(h, base, clear) : update_refs(h, base, clear);
    subtract_refs(h, base);
    ouro__list_init(h, unreachable);
    /* move_unreachable_in's `reverse` and `prepend` (the scan newest
     * first) are constants in each call: four specialized loops. */
    size_t entered = 0, reachable;
    if (reverse && backward)
        reachable = move_unreachable_in(h, base, unreachable, set, special, true, true, &entered);
    else if (reverse)
        reachable = move_unreachable_in(h, base, unreachable, set, special, true, false, &entered);
    else if (backward)
        reachable = move_unreachable_in(h, base, unreachable, set, special, false, true, &entered);
    else
        reachable = move_unreachable_in(h, base, unreachable, set, special, false, false, &entered);
    *n_reachable = reachable;
    *n_unreachable = total - reachable;
    size_t moved_back = entered - *n_unreachable;
    if (moved_back > total / 4)
        h->young_backward = !backward;
}

/* Calls a type's hook on o with a reference held, so that o cannot die
 * inside the hook; it may die when the reference is dropped, and then it
 * leaves its list (deallocation untracks). */
static inline void call_held(ouro_heap *h, ouro_object *o, void (*hook)(ouro_heap *, ouro_object *))
{
    ouro_incref(o);
    hook(h, o);
    ouro_decref(o);
}

/* After code ran on the first object of `head` (reference r): a dying
 * object untracks itself, so it survived iff it is still first.  A
 * survivor moves to old, with no collector flags left.  Returns whether it
 * survived. */
static inline bool keep_survivor(ouro_heap *h, ouro_object *head, uint32_t r, ouro_object *old)
{
    if (head->gc_next != r)
        return false;
    ouro_object *o = ouro__obj_of(h, r);
    o->flags &= (uint16_t)~(OURO__F_COLLECTING | OURO__F_UNREACHABLE);
    ouro__list_move(h, o, old);
    return true;
}

static void report_list(ouro_heap *h, ouro_object *head, const char *what)
{
    uint32_t hr = ouro__head_ref(h, head);
    for (uint32_t r = head->gc_next; r != hr; r = ouro__obj_of(h, r)->gc_next)
        gc_debug(h, what, ouro__obj_of(h, r));
}

/* What the unreachable set holds, learnt in the same pass, so that later
 * phases with nothing to do are skipped without another walk. */
typedef struct trash_info {
    bool weak;     /* a weak reference, or an object with weak references */
    bool finalize; /* an object whose finalizer has not run yet */
    bool legacy;   /* an object with a legacy finalizer */
} trash_info;

/* One collection, handed from step to step (gc_collect_region).  The lists
 * are the heap's (internal.h), so that they have compressed references. */
typedef struct collection {
    int generation;
    bool partial;             /* an incremental cycle's candidates, not
                                 generations (ouro__gc_collect_list) */
    ouro_object *young;       /* the generations collected, merged (1) */
    ouro_object *old;         /* where survivors go: g+1, or young itself */
    ouro_object *unreachable; /* the trash, tentatively (2-7) */
    ouro_object *finalizers;  /* uncollectable: legacy finalizers and what
                                 they reach (4, 8) */
    ouro_object *final;       /* the trash that stays trash (7, 8) */
    size_t n_young;           /* survivors (2, 3) */
    size_t n_unreachable;     /* tentatively unreachable (2, 4, 7) */
    bool special;             /* some trash ever had a finalizer or weak
                                 references (2) */
    trash_info ti;            /* what steps 5-7 have to do (4) */
    bool called;              /* a weak-reference callback ran (5) */
    long clear_max;           /* the most trash step 8 clears, 0 for all:
                                 the rest waits in generation 0 (8) */
    /* A shared heap's collection that lets the world run while the
     * program's code runs (steps 5-6 and 8; see RUNNING THE WORLD). */
    bool run;                 /* allowed (decided at step 2) */
    bool running;             /* the world runs now */
    ouro__vec held;           /* the trash held for steps 5-6 */
    long collected;           /* result: unreachable, not resurrected, plus
                                 weak references freed after their callback */
    long uncollectable;       /* result (8) */
} collection;

/* The collector flags the trash carries after step 4 (VALIDATE_LIST). */
#define TRASH_FLAGS(c) ((c)->special ? COLLECTING : COLLECTING | UNREACHABLE)

/* Debug heaps: before computing gc_refs, check that every reference the
 * collected objects hold stays in this heap.  A reference into another
 * heap would make subtract_refs decrement a count this collection does
 * not own (and leave collector flags on the other heap's objects), so the
 * misuse is reported here, naming both heaps, rather than as corruption
 * later.  Catches stores the library cannot see (ouro_setref into a field
 * of a user type). */
typedef struct foreign_ctx {
    ouro_heap *h;
} foreign_ctx;

static int visit_same_heap(ouro_object *o, void *arg)
{
    foreign_ctx *fc = arg;
    ouro__check_same_heap(fc->h, o, "reference found by the collector");
    return 0;
}

static void check_foreign_refs(ouro_heap *h, ouro_object *young)
{
    foreign_ctx fc = {h};
    uint32_t hr = ouro__head_ref(h, young);
    for (uint32_t r = young->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        ouro__traverse(o, visit_same_heap, &fc);
    }
}

/* Step 1. */
static void merge_generations(ouro_heap *h, collection *c, int generation)
{
    for (int i = 0; i < generation; i++)
        ouro__list_merge(h, GEN(i), GEN(generation));
    c->generation = generation;
    c->young = GEN(generation);
    c->old = generation < OURO_GC_GENERATIONS - 1 ? GEN(generation + 1) : c->young;
    c->unreachable = LIST(UNREACHABLE);
    c->finalizers = LIST(FINALIZERS);
    c->final = LIST(FINAL);
    if (h->cfg.debug >= OURO_DEBUG_CHECKS)
        check_foreign_refs(h, c->young);
}

/* Step 2.  A full collection with nothing frozen takes the fused sweep
 * (sweep_refs) instead of update_refs and subtract_refs; the result is the
 * same. */
static void deduce_unreachable_young(ouro_heap *h, collection *c)
{
    /* Survivors of a young collection join the middle generation and are
     * marked MIDDLE; survivors of a collection of the middle generation
     * join the oldest and become "pending".  A collection clears the marks
     * of what it collects. */
    uint16_t clear = c->generation == OURO_GC_GENERATIONS - 1   ? OURO__F_PENDING | OURO__F_MIDDLE
                     : c->generation == OURO_GC_GENERATIONS - 2 ? OURO__F_MIDDLE
                                                                : 0;
    uint16_t set = c->generation == OURO_GC_GENERATIONS - 2   ? OURO__F_PENDING
                   : c->generation == OURO_GC_GENERATIONS - 3 ? OURO__F_MIDDLE
                                                              : 0;
    /* a shared heap's young lists joined generation 0 unwalked
     * (collect_with_callback): their objects leave TLIST here */
    if (h->shared)
        clear |= OURO__F_TLIST;
    if (c->partial) {
        deduce_unreachable(h, c->young, c->unreachable, &c->n_young, &c->n_unreachable,
                           clear | OURO__F_INCR, 0, &c->special);
    } else if (c->generation == OURO_GC_GENERATIONS - 1 && ouro__list_empty(h, LIST(PERMANENT))) {
        sweep_ctx sc = {0, clear, h};
        ouro__pool_walk_inline(h, false, sweep_refs, &sc);
        if (h->cfg.debug >= OURO_DEBUG_CHECKS && sc.n != ouro__list_size(h, c->young))
            ouro__fatalf(h, "collector sweep found %zu tracked objects, the generation lists "
                            "hold %zu", sc.n, ouro__list_size(h, c->young));
        ouro__list_init(h, c->unreachable);
        c->n_young = move_unreachable(h, c->young, c->unreachable, set, &c->special);
        c->n_unreachable = sc.n - c->n_young;
    } else {
        /* move_survivors says why a young collection of the incremental
         * schedule reverses its survivors; deduce_unreachable_scan why
         * ouro's own schedules' young collections may scan newest first
         * (young_growth is 1 under CPython's). */
        if (c->generation == OURO_GC_GENERATIONS - 3 && h->young_growth > 1)
            deduce_unreachable_scan(h, c->young, c->unreachable, &c->n_young, &c->n_unreachable,
                                    clear, set, &c->special, h->incremental);
        else
            deduce_unreachable(h, c->young, c->unreachable, &c->n_young, &c->n_unreachable,
                               clear, set, &c->special);
    }
}

/* Step 3.  Survivors that hold only atomic objects are untracked first, as
 * CPython 3.11 does (the types' hook); the rest join old and are counted
 * for the full-collection rule (ouro__gc_maybe_collect). */
static void move_survivors(ouro_heap *h, collection *c)
{
    if (h->types_hooks)
        c->n_young -= h->types_hooks->untrack_survivors(h, c->young, c->young == c->old);
    if (c->partial) {
        ouro__list_merge(h, c->young, c->old); /* the cycle keeps its own counts */
        return;
    }
    /* move_unreachable finds the survivors reachable referrers before
     * referents, so a chain built head-first comes out newest first.  The incremental cycle's MARK walks its list
     * backwards to meet referrers first (incremental.c, mark()); in that
     * order it would set aside nearly every object of such a chain as
     * unreachable and move it back (W5: 2.7x MARK's time).  Reversed, the
     * survivors are in the order MARK wants: move_unreachable links them
     * so as it goes (a separate walk was 3.5% of GCBench).  Only young
     * collections under
     * the incremental schedule (automatic or explicit) do this: what each
     * collects is CPython's decision either way, and the order the
     * generations are in is already the schedule's (CPython's own depends
     * on when its collections ran); CPython 3.11's schedule, which every
     * replay uses, keeps CPython's. */
    if (c->generation == OURO_GC_GENERATIONS - 3) {
        h->middle_live += c->n_young;
    } else {
        h->middle_live = 0; /* the middle generation was collected */
    }
    if (c->young != c->old) {
        if (c->generation == OURO_GC_GENERATIONS - 2)
            h->long_lived_pending += c->n_young;
        ouro__list_merge(h, c->young, c->old);
    } else {
        h->long_lived_pending = 0;
        h->long_lived_total = c->n_young;
    }
}

/* Clears UNREACHABLE on the trash, learns what it holds (trash_info) and
 * moves the objects with a legacy finalizer to `finalizers`. */
static void split_legacy(ouro_heap *h, ouro_object *unreachable, ouro_object *finalizers,
                         trash_info *ti)
{
    uint32_t hr = ouro__head_ref(h, unreachable);
    uint8_t *const *sb = h->slot_base;
    for (uint32_t r = unreachable->gc_next; r != hr;) {
        ouro_object *o = (ouro_object *)(sb[r >> 16] + ((size_t)(r & 0xffff) << 4));
        r = o->gc_next;
        o->flags &= (uint16_t)~OURO__F_UNREACHABLE;
        ouro_type *t = ouro__type(o);
        if (weak_involved(o))
            ti->weak = true;
        if (ouro__has_legacy_del(t)) {
            ti->legacy = true;
            o->flags &= (uint16_t)~OURO__F_COLLECTING;
            ouro__list_move(h, o, finalizers);
        } else if (ouro__has_pep442_del(t) && !(o->flags & OURO__F_FINALIZED)) {
            ti->finalize = true;
        }
    }
}

typedef struct move_ctx {
    ouro_heap *h;
    ouro_object *to;
} move_ctx;

static int visit_move(ouro_object *o, void *arg)
{
    move_ctx *mc = arg;
    if (o && (o->flags & OURO__F_COLLECTING)) {
        ouro__list_move(mc->h, o, mc->to);
        o->flags &= (uint16_t)~OURO__F_COLLECTING;
    }
    return 0;
}

static void move_legacy_finalizer_reachable(ouro_heap *h, ouro_object *finalizers)
{
    move_ctx mc = {h, finalizers};
    uint32_t hr = ouro__head_ref(h, finalizers);
    for (uint32_t r = finalizers->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        ouro__traverse(o, visit_move, &mc);
        r = o->gc_next;
    }
}

/* Step 4.  When no object that was ever tentatively unreachable has a
 * finalizer or weak references (`special`, learnt in move_unreachable), the
 * trash_info stays all false and the pass is skipped: no code runs before
 * delete_garbage, which clears the UNREACHABLE flags itself. */
static void move_legacy_finalizers(ouro_heap *h, collection *c)
{
    ouro__list_init(h, c->finalizers);
    if (c->special)
        split_legacy(h, c->unreachable, c->finalizers, &c->ti);
    if (c->ti.legacy) {
        move_legacy_finalizer_reachable(h, c->finalizers);
        c->n_unreachable = ouro__list_size(h, c->unreachable);
    }
    if (h->debug_flags & OURO_GC_DEBUG_COLLECTABLE)
        report_list(h, c->unreachable, "collectable");
}

/*
 * RUNNING THE WORLD (shared heaps).  A collection stops the world, but the
 * program's code it runs — weak-reference callbacks (5), finalizers (6)
 * and the clears that break the cycles (8) — runs with the world running
 * again, in the collecting thread, as free-threaded CPython does
 * (gc_free_threading.c): such code may wait for another thread without
 * deadlocking.  Only when the collection holds the outermost stop, made
 * for it (never inside ouro_heap_walk's), and another thread is attached;
 * a heap used by one thread runs every step stopped, exactly as a
 * single-thread heap.
 *   - The trash is held (a reference each, in `held`) while steps 5-6
 *     run: no other thread can free it, even if a finalizer hands it to
 *     one.  The world stops again for step 7 and the references are
 *     dropped first, so that step 7 counts exactly; trash that only they
 *     kept alive dies there, as it would have died during step 6.
 *   - Step 8's trash is held too, each object until every clear has
 *     run: a reference dropped in another thread's object, or in this
 *     thread's on another thread's object, is merged by the object's owner
 *     (biased counting), so a death can happen in any thread.  Held, no
 *     object of the collector's lists dies while it walks them; cleared,
 *     each moves to old, and the references are dropped at the end, with
 *     the world still running.
 *   - While the world runs, every object on the collector's own lists
 *     that it walks (unreachable, seen, wrcb, final) holds a reference of
 *     the collector's, which it drops only once the object is off them:
 *     no other thread writes those lists or those objects' headers (a
 *     death there would).  The uncollectable list (finalizers) is walked
 *     only stopped; an object of it that dies meanwhile unlinks itself
 *     under gc_lock, or is buried at the next stop.  The generation lists
 *     that survivors join (`old`) are changed under gc_lock (list_lock),
 *     which other threads take to unlink the objects that die there.
 *   - A weak reference freed right after its callback is not counted in
 *     the result when the world runs: its owner thread may carry out its
 *     death, later.
 *   - The world stops again after step 8, so the collection ends (and
 *     its statistics and callbacks run) stopped, as it began.
 */
static void list_lock(ouro_heap *h, collection *c)
{
    if (c->running)
        ouro__spin_lock(&h->shared->gc_lock);
}

static void list_unlock(ouro_heap *h, collection *c)
{
    if (c->running)
        ouro__spin_unlock(&h->shared->gc_lock);
}

static void world_run(ouro_heap *h, collection *c)
{
    if (!c->run || c->running)
        return;
    c->running = true;
    ouro__shared_gc_world(h, true);
}

static void world_stop(ouro_heap *h, collection *c)
{
    if (!c->running)
        return;
    ouro__shared_gc_world(h, false);
    c->running = false;
}

/* The collector's references on the trash dropped (`held` emptied). */
static void drop_held(collection *c)
{
    for (size_t i = 0; i < c->held.len; i++)
        ouro_decref(c->held.items[i]);
    c->held.len = 0;
}

/* Before steps 5-6, or step 8, run with the world running: a reference on
 * every object of `trash`, then the world restarted.  Without memory for
 * the list, the world stays stopped. */
static void hold_trash(ouro_heap *h, collection *c, ouro_object *trash)
{
    if (!c->run)
        return;
    uint32_t hr = ouro__head_ref(h, trash);
    for (uint32_t r = trash->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        if (ouro__vec_push(&c->held, o) < 0) {
            drop_held(c); /* none dies: each was counted */
            c->run = false;
            return;
        }
        ouro_incref(o);
    }
    world_run(h, c);
}

/* After steps 5-6, with the world stopped again: the references dropped
 * (trash that only they kept alive dies here). */
static void release_trash(ouro_heap *h, collection *c)
{
    world_stop(h, c);
    drop_held(c);
}

/* Step 5.  Counts the reachable weak references freed right after their
 * callback ran.  With no weak reference in or to the trash it has nothing
 * to do. */
static void handle_weakrefs(ouro_heap *h, collection *c)
{
    if (!c->ti.weak)
        return;
    ouro_object *wrcb = LIST(WRCB);
    ouro__list_init(h, wrcb);
    ouro_object *unreachable = c->unreachable;
    uint32_t hr = ouro__head_ref(h, unreachable);
    for (uint32_t r = unreachable->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        if (ouro_is_weakref(o)) {
            /* A weak reference in the trash is cleared: its callback must
             * never see objects whose clear hook has run. */
            ouro__weakref_clear_ref(h, o);
        }
        if (!(o->flags & OURO__F_HASWEAK))
            continue;
        for (ouro_object *wr = ouro__weak_head(h, o); wr; wr = ouro__weak_head(h, o)) {
            ouro__weakref_clear_ref(h, wr);
            if (!ouro__weakref_has_callback(wr))
                continue;
            if (wr->flags & OURO__F_COLLECTING)
                continue; /* trash itself: no callback */
            if (ouro_refcount(wr) == 0 || !wr->gc_next) {
                /* The weak reference is itself being deallocated (this
                 * collection was started by a callback or finalizer run
                 * from its deallocation).  It is untracked, so it cannot
                 * be queued; it gets no callback, as PyObject_ClearWeakRefs
                 * skips references whose count is zero.  CPython 3.11
                 * crashes here instead (gc_list_move of an untracked
                 * object); see tests/regressions/weakref_dealloc_collect. */
                continue;
            }
            ouro_incref(wr);
            ouro__list_move(h, wr, wrcb);
        }
    }
    if (!ouro__list_empty(h, wrcb))
        hold_trash(h, c, c->unreachable); /* the callbacks run with the world running */
    while (!ouro__list_empty(h, wrcb)) {
        uint32_t r = wrcb->gc_next;
        ouro_object *wr = ouro__obj_of(h, r);
        c->called = true;
        ouro__weakref_call(h, wr);
        if (c->running) {
            /* Off the collector's list while still held: its death may
             * be its owner's to carry out, in another thread, which
             * cannot tell whether it follows the callback (free-threaded
             * CPython does not count these either). */
            list_lock(h, c);
            keep_survivor(h, wrcb, r, c->old);
            list_unlock(h, c);
            ouro_decref(wr);
            continue;
        }
        ouro_decref(wr);
        if (!keep_survivor(h, wrcb, r, c->old))
            c->collected++;
    }
}

/* Step 6.  Only when some trash has a PEP 442 finalizer that has not run. */
static void finalize_garbage(ouro_heap *h, collection *c)
{
    if (!c->ti.finalize)
        return;
    if (!c->running)
        hold_trash(h, c, c->unreachable);
    ouro_object *collectable = c->unreachable;
    ouro_object *seen = LIST(SEEN);
    ouro__list_init(h, seen);
    while (!ouro__list_empty(h, collectable)) {
        ouro_object *o = NEXT(collectable);
        ouro__list_move(h, o, seen);
        ouro_type *t = ouro__type(o);
        if (ouro__has_pep442_del(t) && !(o->flags & OURO__F_FINALIZED)) {
            o->flags |= OURO__F_FINALIZED;
            call_held(h, o, t->finalize);
        }
    }
    ouro__list_merge(h, seen, collectable);
}

/* Step 7.  With no finalizer run and no callback called, no code ran since
 * step 2: nothing can have been resurrected, and the trash moves to the
 * final list as it is. */
static void handle_resurrected_objects(ouro_heap *h, collection *c)
{
    ouro_object *unreachable = c->unreachable, *still_unreachable = c->final;
    size_t still;
    if (!c->ti.finalize && !c->called) {
        ouro__list_init(h, still_unreachable);
        ouro__list_merge(h, unreachable, still_unreachable);
        still = c->n_unreachable;
    } else {
        uint32_t hr = ouro__head_ref(h, unreachable);
        for (uint32_t r = unreachable->gc_next; r != hr;) {
            ouro_object *o = ouro__obj_of(h, r);
            r = o->gc_next;
            o->flags &= (uint16_t)~OURO__F_COLLECTING;
        }
        size_t resurrected;
        deduce_unreachable(h, unreachable, still_unreachable, &resurrected, &still, 0, 0, NULL);
        uint32_t sr = ouro__head_ref(h, still_unreachable);
        for (uint32_t r = still_unreachable->gc_next; r != sr;) {
            ouro_object *o = ouro__obj_of(h, r);
            r = o->gc_next;
            o->flags &= (uint16_t)~OURO__F_UNREACHABLE;
        }
        ouro__list_merge(h, unreachable, c->old);
    }
    c->collected += (long)still;
}

/* The uncollectable objects set apart in step 4 go to old, and those with a
 * legacy finalizer (all of them under DEBUG_SAVEALL) to the garbage list. */
static void handle_legacy_finalizers(ouro_heap *h, ouro_object *finalizers, ouro_object *old)
{
    uint32_t hr = ouro__head_ref(h, finalizers);
    for (uint32_t r = finalizers->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        if ((h->debug_flags & OURO_GC_DEBUG_SAVEALL) || ouro__has_legacy_del(ouro__type(o))) {
            if (ouro__vec_push(&h->garbage, o) < 0)
                break;
            ouro_incref(o);
        }
    }
    ouro__list_merge(h, finalizers, old);
}

/* Step 8.  The trash is cleared (or saved, under DEBUG_SAVEALL); what
 * survives its clear moves to old.  Then the uncollectable objects are
 * counted and handled. */
/* Step 8 of a young collection with a clearing budget (clear_max; see
 * incremental_schedule): the trash not cleared goes back to generation 0,
 * as it was before the collection, and counts there towards the next
 * young collection, which finds it again.  Only trash that no code can
 * reach is sent back: no weak reference to any of it, no finalizer, no
 * debug output (collect_steps), so between now and then it is
 * garbage that has not been collected yet, like any other.  What the
 * clears before left alive because this trash still references it
 * survived (keep_survivor) and dies when this trash is cleared. */
static void defer_trash(ouro_heap *h, collection *c)
{
    ouro_object *rest = c->final;
    uint32_t hr = ouro__head_ref(h, rest);
    long n = 0;
    for (uint32_t r = rest->gc_next; r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        o->flags &= (uint16_t)~(OURO__F_COLLECTING | OURO__F_UNREACHABLE);
        n++;
    }
    ouro__list_merge(h, rest, GEN(0));
    h->gen[0].count += n;
    c->collected -= n;
}

static void delete_garbage(ouro_heap *h, collection *c)
{
    ouro_object *collectable = c->final;
    if (!ouro__list_empty(h, collectable))
        hold_trash(h, c, collectable); /* the clears run with the world running */
    for (long cleared = 0; !ouro__list_empty(h, collectable); cleared++) {
        if (OURO__UNLIKELY(cleared == c->clear_max) && cleared) {
            defer_trash(h, c);
            break;
        }
        uint32_t r = collectable->gc_next;
        ouro_object *o = ouro__obj_of(h, r);
        /* Trash is mostly in allocation (address) order: fetch what comes
         * a few objects later while this one is cleared. */
        __builtin_prefetch((const char *)o + 512, 1);
        if (h->debug_flags & OURO_GC_DEBUG_SAVEALL) {
            if (ouro__vec_push(&h->garbage, o) == 0)
                ouro_incref(o);
        } else {
            ouro_type *t = ouro__type(o);
            if (t->clear && c->running)
                t->clear(h, o); /* held */
            else if (t->clear)
                call_held(h, o, t->clear);
        }
        list_lock(h, c);
        keep_survivor(h, collectable, r, c->old); /* still alive: it may die later */
        list_unlock(h, c);
    }
    /* With the world running, the trash dies here, off the collector's own
     * lists: in this thread, or queued to its owner's (biased counting). */
    drop_held(c);
    world_stop(h, c);
    c->uncollectable = (long)ouro__list_size(h, c->finalizers);
    if (h->debug_flags & OURO_GC_DEBUG_UNCOLLECTABLE)
        report_list(h, c->finalizers, "uncollectable");
    handle_legacy_finalizers(h, c->finalizers, c->old);
}

/*
 * The collector's driver: a collection of `generation` is the eight steps
 * of the comment at the top of this file, in order, and nothing else.
 * Callbacks, statistics, timing and the schedule's counters are the
 * caller's (collect_with_callback).
 */
static void collect_steps(ouro_heap *h, collection *cp, long *collected, long *uncollectable);

static void gc_collect_region(ouro_heap *h, int generation, long clear_max, long *collected,
                              long *uncollectable)
{
    collection c = {0};
    merge_generations(h, &c, generation);       /* 1 */
    c.clear_max = clear_max;
    collect_steps(h, &c, collected, uncollectable);
}

/* Steps 2-8 on c->young, for a collection of generations or of an
 * incremental cycle's candidates. */
static void collect_steps(ouro_heap *h, collection *cp, long *collected, long *uncollectable)
{
    collection c = *cp;
    c.run = h->shared && ouro__shared_gc_may_run(h);
    VALIDATE_LIST(c.young, 0, ANY);
    VALIDATE_LIST(c.old, 0, ANY);
    deduce_unreachable_young(h, &c);            /* 2 */
    VALIDATE_LIST(c.young, 0, c.n_young);
    VALIDATE_LIST(c.unreachable, COLLECTING | UNREACHABLE, c.n_unreachable);
    move_survivors(h, &c);                      /* 3 */
    VALIDATE_LIST(c.old, 0, ANY);
    move_legacy_finalizers(h, &c);              /* 4 */
    if (c.special || h->shared || h->debug_flags)
        c.clear_max = 0; /* code may run, or reach the trash: clear it all (defer_trash) */
    /* The trash keeps COLLECTING from here on; step 4 cleared UNREACHABLE
     * unless it skipped itself. */
    VALIDATE_LIST(c.unreachable, TRASH_FLAGS(&c), c.n_unreachable);
    VALIDATE_LIST(c.finalizers, 0, ANY);
    handle_weakrefs(h, &c);                     /* 5 */
    VALIDATE_LIST(c.unreachable, TRASH_FLAGS(&c), ANY);
    finalize_garbage(h, &c);                    /* 6 */
    release_trash(h, &c);
    VALIDATE_LIST(c.unreachable, TRASH_FLAGS(&c), ANY);
    handle_resurrected_objects(h, &c);          /* 7 */
    VALIDATE_LIST(c.final, TRASH_FLAGS(&c), ANY);
    VALIDATE_LIST(c.old, 0, ANY);
    delete_garbage(h, &c);                      /* 8 */
    VALIDATE_LIST(c.final, 0, 0);
    VALIDATE_LIST(c.finalizers, 0, 0);
    VALIDATE_LIST(c.old, 0, ANY);
    *collected = c.collected;
    *uncollectable = c.uncollectable;
    free(c.held.items);
    c.held = (ouro__vec){0};
    *cp = c;
}

size_t ouro__gc_collect_list(ouro_heap *h, ouro_object *list, ouro_object *old,
                             long *collected, long *uncollectable)
{
    collection c = {0};
    c.generation = OURO_GC_GENERATIONS - 1;
    c.partial = true;
    c.young = list;
    c.old = old;
    c.unreachable = LIST(UNREACHABLE);
    c.finalizers = LIST(FINALIZERS);
    c.final = LIST(FINAL);
    if (h->cfg.debug >= OURO_DEBUG_CHECKS)
        check_foreign_refs(h, c.young);
    collect_steps(h, &c, collected, uncollectable);
    return c.n_young;
}

/* ------------------------------------------------------------ around a collection */

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}


/* DEBUG_STATS: CPython's lines, before and after. */
static void debug_stats_start(ouro_heap *h, int generation)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "gc: collecting generation %d...\n"
                                      "gc: objects in each generation:", generation);
    for (int i = 0; i < OURO_GC_GENERATIONS; i++) {
        size_t k = ouro__list_size(h, GEN(i));
        if (i == OURO_GC_GENERATIONS - 1) /* an incremental cycle's objects */
            for (int l = OURO__LIST_INC_SCAN; l <= OURO__LIST_INC_RETRY; l++)
                k += ouro__list_size(h, &h->lists[l]);
        n += snprintf(buf + n, sizeof buf - (size_t)n, " %zu", k);
    }
    snprintf(buf + n, sizeof buf - (size_t)n, "\ngc: objects in permanent generation: %zu\n",
             ouro__list_size(h, LIST(PERMANENT)));
    h->cfg.sink(h->cfg.sink_ctx, buf);
}

static void debug_stats_done(ouro_heap *h, long collected, long uncollectable, double t0)
{
    char buf[160];
    snprintf(buf, sizeof buf, "gc: done, %ld unreachable, %ld uncollectable, %.4fs elapsed\n",
             collected + uncollectable, uncollectable, now_seconds() - t0);
    h->cfg.sink(h->cfg.sink_ctx, buf);
}

static void invoke_callbacks(ouro_heap *h, const char *phase, int generation, long collected,
                             long uncollectable, int increment)
{
    ouro_gc_info info = {generation, collected, uncollectable, increment};
    for (size_t i = 0; i < h->ncallbacks; i++)
        h->callbacks[i].fn(h, phase, &info, h->callbacks[i].arg);
}

/* A collection as the program sees it: the gc callbacks around it, the
 * DEBUG_STATS lines and their timing, the schedule's counters before it
 * and the statistics after it.  Returns collected plus uncollectable. */
static long collect_with_callback(ouro_heap *h, int generation, long clear_max)
{
    /* A collection of the oldest generation is of every tracked object
     * (the fused sweep walks them all): an incremental cycle in progress,
     * whatever started it, gives its objects back first.  Younger
     * collections leave the cycle's lists alone. */
    if (generation == OURO_GC_GENERATIONS - 1)
        ouro__inc_abandon(h);
    invoke_callbacks(h, "start", generation, 0, 0, 0);
    /* A shared heap's young lists and counts join generation 0 here, after
     * the callbacks (what they made is collected too, as in CPython) and
     * before the counts are read and reset; their TLIST flags are cleared
     * by step 2 (deduce_unreachable_young). */
    if (h->shared)
        ouro__shared_flush_young(h);
    double t0 = 0;
    if (h->debug_flags & OURO_GC_DEBUG_STATS) {
        t0 = now_seconds();
        debug_stats_start(h, generation);
    }
    /* The schedule's counters: one more collection of the next generation,
     * none pending in those collected. */
    if (generation + 1 < OURO_GC_GENERATIONS)
        h->gen[generation + 1].count += 1;
    for (int i = 0; i <= generation; i++)
        h->gen[i].count = 0;
    h->young_backlog = 0; /* it collects generation 0 whole */

    long m, n;
    gc_collect_region(h, generation, clear_max, &m, &n);

    if (h->debug_flags & OURO_GC_DEBUG_STATS)
        debug_stats_done(h, m, n, t0);
    /* CPython clears its free lists after every full collection. */
    if (generation == OURO_GC_GENERATIONS - 1 && h->types_hooks)
        h->types_hooks->clear_freelists(h);
    h->gstats[generation].collections++;
    h->gstats[generation].collected += (size_t)m;
    h->gstats[generation].uncollectable += (size_t)n;
    if (h->cfg.debug >= OURO_DEBUG_FULL)
        ouro_heap_check(h);
    invoke_callbacks(h, "stop", generation, m, n, 0);
    ouro__pool_decay(h); /* a slow-path point for the empty arenas' decay */
    return m + n;
}

/* One increment of the incremental cycle (incremental.c), starting one if
 * none is in progress, as the program sees it: the gc callbacks around it
 * (generation 2, `increment` set), and, when it ends the cycle, the
 * statistics of a collection of generation 2.  Returns what
 * ouro__inc_work does. */
static int increment_with_callback(ouro_heap *h, long budget)
{
    const int g = OURO_GC_GENERATIONS - 1;
    invoke_callbacks(h, "start", g, 0, 0, 1);
    long m = 0, n = 0;
    int rc = h->inc.phase != OURO__INC_IDLE || ouro__inc_start(h)
                 ? ouro__inc_work(h, budget, &m, &n)
                 : OURO_ENOMEM;
    /* A cycle's exact collections happen in its last increments. */
    h->gstats[g].collected += (size_t)m;
    h->gstats[g].uncollectable += (size_t)n;
    if (rc == 1) {
        h->gstats[g].collections++;
        if (h->types_hooks)
            h->types_hooks->clear_freelists(h);
    }
    if (h->cfg.debug >= OURO_DEBUG_FULL)
        ouro_heap_check(h);
    invoke_callbacks(h, "stop", g, m, n, 1);
    return rc;
}

/*
 * The incremental schedule (OURO_GC_SCHEDULE_INCREMENTAL; docs/design.md
 * §9).  Generation 0 is collected when its count passes young_limit (the
 * adaptive trigger, at most INC_YOUNG_MAX x threshold0, so that a young
 * collection stays well under a millisecond); its survivors join the
 * middle generation, which is never collected on its own.  When the
 * survivors still alive there (middle_live) outnumber what the last cycle
 * left (the old heap doubled), and INC_CYCLE_MIN x threshold0, a cycle
 * starts (young_adapt set young_limit through young_retune).  After a
 * cycle that found garbage in under 1/32 of what it kept (h->inc.sparse:
 * a heap that grows without cyclic garbage), the next waits for the old
 * heap to triple: cycles then cost 1.5 x the final heap instead of 2 x,
 * and cyclic garbage that appears later waits for at most two live heaps
 * instead of one, once; the first cycle that finds some goes back to
 * doubling.  While a cycle runs, every INC_EVERY net tracked allocations
 * do an increment of INC_WORK_PER_ALLOC units each, so that a cycle over
 * S objects (about 2 S units) ends before S / 8 more are allocated:
 * garbage promoted before it died waits for at most about one live heap.  The pace follows
 * allocation, not the clock, so it cannot fall behind a program that
 * allocates faster.
 */
enum { INC_EVERY = 256, INC_WORK_PER_ALLOC = 16 };
/* A shared heap stops the world for each increment (some 40 us on two
 * cores, docs/performance.md's stop waits), so its increments come four
 * times rarer and do four times the work: a stop per INC_EVERY_SHARED
 * tracked allocations of one thread.  Its young lists count per thread
 * (ouro__talloc.young_count, flushed into generation 0 at each stop), so
 * the trigger it leaves in young_threshold is relative: what one thread
 * may still allocate before the next young collection or increment. */
enum { INC_EVERY_SHARED = 4 * INC_EVERY };

/*
 * The most trash an automatic young collection of the incremental schedule
 * clears (collection.clear_max).  Clearing costs several times what
 * finding costs (a young collection that frees two of W10's 5,000-node
 * lists took 0.99 ms, one whose 11,200 objects survive about 0.2 ms, on a
 * quiet day), and a young collection may find up to its whole trigger
 * dead, plus a backlog.  The rest of the trash goes back to generation 0
 * (defer_trash) and the next young collection, young_limit allocations
 * later, finds it again: at most YOUNG_CLEAR_MAX are cleared per pause,
 * and since young_limit starts again from threshold0 (700) after a
 * collection that found that much, the backlog shrinks by at least
 * YOUNG_CLEAR_MAX - 700 a collection even if everything the program
 * allocates meanwhile is garbage.
 */
enum { YOUNG_CLEAR_MAX = 2048 };

static void incremental_schedule(ouro_heap *h)
{
    long count = h->gen[0].count;
    const long every = h->shared ? INC_EVERY_SHARED : INC_EVERY;
    ouro__inc_scrub(h, 2); /* the last cycle's side tables, two per pause */
    if (count > h->young_backlog + h->young_limit) {
        /* The allocations since the last increment, not paid for yet: the
         * young collection resets the count they were measured on, so
         * `since` starts that far back below it (the next increment comes
         * sooner, with their work).  Forgotten, a threshold0 small enough
         * that young collections always come first (young_limit under
         * `every`) would leave a cycle in progress for ever (test
         * incremental_finalizer_that_ends_the_cycle_during_its_batch). */
        long owed = h->inc.phase != OURO__INC_IDLE && count > h->inc.since ? count - h->inc.since
                                                                            : 0;
        long found = collect_with_callback(h, 0, YOUNG_CLEAR_MAX);
        if (!h->incremental)
            return; /* a finalizer changed the schedule, which set its trigger */
        h->young_backlog = h->gen[0].count > 0 ? h->gen[0].count : 0; /* after it */
        young_adapt(h, found);
        size_t floor = (size_t)h->gen[0].threshold * INC_CYCLE_MIN;
        size_t last = h->long_lived_total; /* what the last cycle left */
        if (h->inc.sparse)
            last *= 2; /* it found next to no garbage: wait for tripling */
        /* O(1); on failure, tried again next time.  Generation 0 joins
         * the cycle, with the backlog. */
        if (h->inc.phase == OURO__INC_IDLE && h->middle_live > (floor > last ? floor : last) &&
            ouro__inc_start(h)) {
            h->young_backlog = 0;
            owed = 0;
        }
        h->inc.since = h->young_backlog - owed;
    } else if (h->inc.phase != OURO__INC_IDLE) {
        long budget = (count - h->inc.since) * INC_WORK_PER_ALLOC;
        if (budget < every * INC_WORK_PER_ALLOC)
            budget = every * INC_WORK_PER_ALLOC;
        increment_with_callback(h, budget);
        if (!h->incremental)
            return; /* (as above) */
        h->inc.since = h->gen[0].count;
    }
    long next = h->young_backlog + h->young_limit;
    if (h->inc.phase != OURO__INC_IDLE && h->inc.since + every < next)
        next = h->inc.since + every;
    if (h->shared) /* relative to what the threads' counts start from */
        next = next > h->gen[0].count ? next - h->gen[0].count : 0;
    h->young_threshold = next;
}

/* Whether generation i is due for an automatic collection (generation 0
 * is, when this is called).  CPython 3.11's schedule counts collections of
 * the generation below; the adaptive one collects the middle generation
 * when the young collections' survivors still alive in it outnumber half
 * a young collection, and the oldest on the 25% rule alone (young_adapt). */
static bool due(ouro_heap *h, int i, bool adaptive)
{
    if (i == 0)
        return h->gen[0].count > h->young_threshold;
    if (!adaptive)
        return h->gen[i].count > h->gen[i].threshold;
    if (i == OURO_GC_GENERATIONS - 1)
        return h->gen[i].count > 0 && h->long_lived_pending > 0;
    long t = h->gen[0].threshold;
    if (t < h->young_threshold / 2)
        t = h->young_threshold / 2;
    return h->middle_live > (size_t)t;
}

void ouro__gc_maybe_collect(ouro_heap *h)
{
    if (h->collecting)
        return;
    ouro__check_owner(h);
    h->collecting = true;
    if (OURO__UNLIKELY(h->cfg.debug >= OURO_DEBUG_GC_STRESS)) {
        /* Stress mode: a full collection every time, whatever the counts
         * say.  `collecting` stays set through it (finalizers, callbacks,
         * the allocations they make), so it never nests. */
        collect_with_callback(h, OURO_GC_GENERATIONS - 1, 0);
        h->collecting = false;
        return;
    }
    if (h->incremental) {
        incremental_schedule(h);
        h->collecting = false;
        return;
    }
    bool adaptive = h->young_growth > 1;
    for (int i = OURO_GC_GENERATIONS - 1; i >= 0; i--) {
        if (due(h, i, adaptive)) {
            /* A full collection only when the objects that survived young
             * collections since the last full one are over 25% of the
             * long-lived total: this keeps full collections linear in
             * total allocation rather than quadratic.  Unlike CPython,
             * pending objects that have died since are not counted (see
             * docs/design.md): a workload that promotes short-lived
             * structures does not pay for full collections that could find
             * nothing among them. */
            if (i == OURO_GC_GENERATIONS - 1 && h->long_lived_pending < h->long_lived_total / 4)
                continue;
            long found = collect_with_callback(h, i, 0);
            if (adaptive)
                young_adapt(h, found);
            break;
        }
    }
    h->collecting = false;
}

/* ------------------------------------------------------------ public API */

/* A shared heap's collector API: the call again with every other thread
 * stopped and the young lists flushed into generation 0 (shared.c).  The
 * calls made while the calling thread holds the world stopped (from a
 * finalizer or callback of a collection) go on directly. */
typedef struct stopped_call {
    int kind;
    long a, b, c;
    void *p, *q, *r;
    long result;
} stopped_call;
enum { SC_COLLECT, SC_ENABLE, SC_THRESHOLD, SC_SCHEDULE, SC_GET_OBJECTS, SC_REFERRERS,
       SC_FREEZE, SC_UNFREEZE, SC_DEBUG, SC_CB_ADD, SC_CB_REMOVE, SC_GARBAGE_CLEAR,
       SC_GROWTH, SC_COUNT, SC_TRACK, SC_UNTRACK, SC_STEP };
static void stopped_fn(ouro_heap *h, void *arg);
static long stopped(ouro_heap *h, stopped_call c)
{
    int rc = ouro__shared_stopped(h, "the collector", stopped_fn, &c, c.kind == SC_COLLECT);
    return rc < 0 ? rc : c.result;
}
#define SHARED_CALL(h) (OURO__UNLIKELY((h)->shared != NULL) && !ouro__stw_mine(h))

long ouro_gc_collect(ouro_heap *h, int generation)
{
    if (!h || generation < 0 || generation >= OURO_GC_GENERATIONS)
        return OURO_EINVAL;
    if (SHARED_CALL(h))
        return stopped(h, (stopped_call){.kind = SC_COLLECT, .a = generation});
    ouro__check_owner(h);
    if (h->collecting)
        return 0;
    /* CPython's exact collection: an incremental cycle in progress is
     * ended first, its objects back in the oldest generation (whatever
     * generation is asked for, so that the lists are CPython's). */
    ouro__inc_abandon(h);
    h->collecting = true;
    long n = collect_with_callback(h, generation, 0);
    h->collecting = false;
    return n;
}

long ouro_gc_step(ouro_heap *h, long work)
{
    if (!h || work < 1)
        return OURO_EINVAL;
    if (SHARED_CALL(h)) /* an increment stops the world, as a collection does */
        return stopped(h, (stopped_call){.kind = SC_STEP, .a = work});
    ouro__check_owner(h);
    if (h->collecting)
        return 0;
    h->collecting = true;
    ouro__inc_scrub(h, 2);
    int rc = increment_with_callback(h, work);
    h->collecting = false;
    if (h->incremental) /* the schedule's next increment counts from here */
        h->inc.since = h->gen[0].count;
    return rc;
}

int ouro_gc_cycle_phase(ouro_heap *h)
{
    return h ? h->inc.phase : OURO_EINVAL;
}

/* NULL heaps: setters do nothing (or return OURO_EINVAL), getters report
 * zeros, as ouro.h promises that bad input never aborts. */
void ouro_gc_enable(ouro_heap *h)
{
    if (h && SHARED_CALL(h))
        (void)stopped(h, (stopped_call){.kind = SC_ENABLE, .a = 1});
    else if (h)
        h->enabled = true;
}
void ouro_gc_disable(ouro_heap *h)
{
    if (h && SHARED_CALL(h))
        (void)stopped(h, (stopped_call){.kind = SC_ENABLE, .a = 0});
    else if (h)
        h->enabled = false;
}
int ouro_gc_is_enabled(ouro_heap *h) { return h ? h->enabled : 0; }

void ouro_gc_get_threshold(ouro_heap *h, int out[OURO_GC_GENERATIONS])
{
    if (!out)
        return;
    for (int i = 0; i < OURO_GC_GENERATIONS; i++)
        out[i] = h ? h->gen[i].threshold : 0;
}

int ouro_gc_set_threshold(ouro_heap *h, int t0, int t1, int t2)
{
    if (!h || t0 < 0 || t1 < 0 || t2 < 0)
        return OURO_EINVAL;
    if (SHARED_CALL(h))
        return (int)stopped(h, (stopped_call){.kind = SC_THRESHOLD, .a = t0, .b = t1, .c = t2});
    h->gen[0].threshold = t0;
    h->gen[1].threshold = t1;
    h->gen[2].threshold = t2;
    young_retune(h, 1);
    return 0;
}

int ouro_gc_set_young_growth(ouro_heap *h, int max_factor)
{
    if (!h || max_factor < 0 || max_factor > OURO__YOUNG_GROWTH_MAX)
        return OURO_EINVAL;
    if (SHARED_CALL(h))
        return (int)stopped(h, (stopped_call){.kind = SC_GROWTH, .a = max_factor});
    h->young_growth = max_factor > 1 ? max_factor : 1;
    h->incremental = false;
    young_retune(h, 1);
    return 0;
}

int ouro_gc_get_young_growth(ouro_heap *h) { return h ? h->young_growth : 0; }

int ouro_gc_set_schedule(ouro_heap *h, int schedule)
{
    if (!h)
        return OURO_EINVAL;
    /* A shared heap's default is the adaptive schedule (heap.c). */
    if (h->shared && schedule == OURO_GC_SCHEDULE_DEFAULT)
        schedule = OURO_GC_SCHEDULE_ADAPTIVE;
    if (SHARED_CALL(h))
        return (int)stopped(h, (stopped_call){.kind = SC_SCHEDULE, .a = schedule});
    switch (schedule) {
    case OURO_GC_SCHEDULE_CPYTHON311:
        h->young_growth = 1;
        break;
    case OURO_GC_SCHEDULE_DEFAULT:
        schedule = OURO_GC_SCHEDULE_INCREMENTAL;
        /* fall through */
    case OURO_GC_SCHEDULE_ADAPTIVE:
    case OURO_GC_SCHEDULE_INCREMENTAL:
        h->young_growth = OURO__ADAPTIVE_GROWTH;
        break;
    default:
        return OURO_EINVAL;
    }
    ouro__inc_abandon(h);
    ouro__inc_release(h); /* the side tables (kept between cycles) */
    h->incremental = schedule == OURO_GC_SCHEDULE_INCREMENTAL;
    h->young_backlog = 0;
    young_retune(h, 1);
    return 0;
}

int ouro_gc_get_schedule(ouro_heap *h)
{
    if (!h)
        return OURO_EINVAL;
    if (h->incremental)
        return OURO_GC_SCHEDULE_INCREMENTAL;
    return h->young_growth > 1 ? OURO_GC_SCHEDULE_ADAPTIVE : OURO_GC_SCHEDULE_CPYTHON311;
}

long ouro_gc_get_young_trigger(ouro_heap *h) { return h ? h->young_threshold : OURO_EINVAL; }

void ouro_gc_get_count(ouro_heap *h, int out[OURO_GC_GENERATIONS])
{
    if (!out)
        return;
    if (h && SHARED_CALL(h)) {
        (void)stopped(h, (stopped_call){.kind = SC_COUNT, .p = out});
        return;
    }
    for (int i = 0; i < OURO_GC_GENERATIONS; i++)
        out[i] = h ? h->gen[i].count : 0;
    if (h && h->shared) /* the threads' shares of generation 0's count */
        for (uint32_t i = 0; i < OURO__MAX_THREADS; i++)
            if (h->tallocs[i])
                out[0] += (int)h->tallocs[i]->young_count;
}

void ouro_gc_get_stats(ouro_heap *h, ouro_gc_gen_stats out[OURO_GC_GENERATIONS])
{
    if (!out)
        return;
    for (int i = 0; i < OURO_GC_GENERATIONS; i++)
        out[i] = h ? h->gstats[i] : (ouro_gc_gen_stats){0, 0, 0};
}

int ouro_gc_get_objects(ouro_heap *h, int generation, ouro_visit_fn visit, void *arg)
{
    if (!h || !visit || generation < -1 || generation >= OURO_GC_GENERATIONS)
        return OURO_EINVAL;
    if (SHARED_CALL(h))
        return (int)stopped(h, (stopped_call){.kind = SC_GET_OBJECTS, .a = generation,
                                               .p = (void *)visit, .q = arg});
    if (h->shared) /* (called inside a stop: a callback or a finalizer) */
        ouro__shared_flush_lists(h);
    /* Generation 2 is the oldest generation's list and an incremental
     * cycle's (in the order an abandoned cycle puts them back). */
    static const int order[] = {OURO__LIST_GEN0,      OURO__LIST_GEN1,        OURO__LIST_INC_SCAN,
                                OURO__LIST_INC_BATCH, OURO__LIST_INC_UNREACH, OURO__LIST_INC_RETRY,
                                OURO__LIST_GEN2};
    int lo = generation <= 0 ? 0 : generation == 1 ? 1 : 2;
    int hi = generation < 0 || generation == 2 ? 6 : generation;
    for (int g = lo; g <= hi; g++) {
        ouro_object *head = &h->lists[order[g]];
        uint32_t hr = ouro__head_ref(h, head);
        for (uint32_t r = head->gc_next; r != hr;) {
            ouro_object *o = ouro__obj_of(h, r);
            r = o->gc_next;
            int rc = visit(o, arg);
            if (rc)
                return rc;
        }
    }
    return 0;
}

typedef struct referrer_ctx {
    ouro_object *target;
    bool found;
} referrer_ctx;

static int visit_find(ouro_object *o, void *arg)
{
    referrer_ctx *rc = arg;
    if (o == rc->target) {
        rc->found = true;
        return 1;
    }
    return 0;
}

int ouro_gc_get_referrers(ouro_heap *h, ouro_object *target, ouro_visit_fn visit, void *arg)
{
    if (!h || !target || !visit)
        return OURO_EINVAL;
    if (SHARED_CALL(h))
        return (int)stopped(h, (stopped_call){.kind = SC_REFERRERS, .p = target,
                                               .q = (void *)visit, .r = arg});
    if (h->cfg.debug >= OURO_DEBUG_CHECKS && ouro__heap_of(target) != h)
        ouro__fatal(target, "object used with a heap it does not belong to (wrong heap)");
    if (h->shared) /* (called inside a stop) */
        ouro__shared_flush_lists(h);
    for (int l = OURO__LIST_GEN0; l < OURO__LIST_PERMANENT; l++) {
        ouro_object *head = &h->lists[l];
        uint32_t hr = ouro__head_ref(h, head);
        for (uint32_t r = head->gc_next; r != hr;) {
            ouro_object *o = ouro__obj_of(h, r);
            r = o->gc_next;
            referrer_ctx rc = {target, false};
            ouro__traverse(o, visit_find, &rc);
            if (rc.found) {
                int v = visit(o, arg);
                if (v)
                    return v;
            }
        }
    }
    return 0;
}

int ouro_gc_get_referents(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    if (!o || !visit)
        return OURO_EINVAL;
    return ouro__traverse(o, visit, arg);
}

int ouro_gc_is_tracked(const ouro_object *o)
{
    return o && o->gc_next != 0;
}

int ouro_gc_is_finalized(const ouro_object *o)
{
    return o && (o->flags & OURO__F_FINALIZED) != 0;
}

int ouro_gc_track(ouro_object *o)
{
    if (!o)
        return OURO_EINVAL;
    if (!is_gc(o))
        return OURO_ETYPE;
    ouro_heap *h = ouro__heap_of(o);
    if (SHARED_CALL(h)) /* the thread's own young list, or the world stopped */
        return ouro__shared_track_own(h, o, true)
                   ? 0
                   : (int)stopped(h, (stopped_call){.kind = SC_TRACK, .p = o});
    if (!o->gc_next && !ouro_is_immortal(o))
        ouro__gc_track(h, o);
    return 0;
}

int ouro_gc_untrack(ouro_object *o)
{
    if (!o)
        return OURO_EINVAL;
    ouro_heap *h = ouro__heap_of(o);
    if (SHARED_CALL(h)) /* the thread's own young list, or the world stopped */
        return ouro__shared_track_own(h, o, false)
                   ? 0
                   : (int)stopped(h, (stopped_call){.kind = SC_UNTRACK, .p = o});
    if (o->gc_next)
        ouro__gc_untrack(h, o); /* (on a shared heap's young list or not: the world is stopped) */
    return 0;
}

void ouro_gc_freeze(ouro_heap *h)
{
    if (!h)
        return;
    if (SHARED_CALL(h)) {
        (void)stopped(h, (stopped_call){.kind = SC_FREEZE});
        return;
    }
    ouro__inc_abandon(h);
    if (h->shared) /* (called inside a stop) */
        ouro__shared_flush_lists(h);
    for (int i = 0; i < OURO_GC_GENERATIONS; i++)
        ouro__list_merge(h, GEN(i), LIST(PERMANENT));
    h->gen[0].count = 0;
    h->middle_live = 0;
}

void ouro_gc_unfreeze(ouro_heap *h)
{
    if (!h)
        return;
    if (SHARED_CALL(h)) {
        (void)stopped(h, (stopped_call){.kind = SC_UNFREEZE});
        return;
    }
    ouro__inc_abandon(h);
    ouro__list_merge(h, LIST(PERMANENT), GEN(OURO_GC_GENERATIONS - 1));
}

size_t ouro_gc_get_freeze_count(ouro_heap *h)
{
    if (!h)
        return 0;
    return ouro__list_size(h, LIST(PERMANENT));
}

void ouro_gc_set_debug(ouro_heap *h, int flags)
{
    if (h && SHARED_CALL(h))
        (void)stopped(h, (stopped_call){.kind = SC_DEBUG, .a = flags});
    else if (h)
        h->debug_flags = flags;
}
int ouro_gc_get_debug(ouro_heap *h) { return h ? h->debug_flags : 0; }

int ouro_gc_callback_add(ouro_heap *h, ouro_gc_callback cb, void *arg)
{
    if (!h || !cb)
        return OURO_EINVAL;
    if (SHARED_CALL(h))
        return (int)stopped(h, (stopped_call){.kind = SC_CB_ADD, .p = (void *)cb, .q = arg});
    if (h->ncallbacks == h->capcallbacks) {
        size_t cap = h->capcallbacks ? h->capcallbacks * 2 : 4;
        ouro__callback *c = realloc(h->callbacks, cap * sizeof *c);
        if (!c)
            return OURO_ENOMEM;
        h->callbacks = c;
        h->capcallbacks = cap;
    }
    h->callbacks[h->ncallbacks].fn = cb;
    h->callbacks[h->ncallbacks].arg = arg;
    h->ncallbacks++;
    return 0;
}

int ouro_gc_callback_remove(ouro_heap *h, ouro_gc_callback cb, void *arg)
{
    if (!h)
        return OURO_EINVAL;
    if (SHARED_CALL(h))
        return (int)stopped(h, (stopped_call){.kind = SC_CB_REMOVE, .p = (void *)cb, .q = arg});
    for (size_t i = 0; i < h->ncallbacks; i++) {
        if (h->callbacks[i].fn == cb && h->callbacks[i].arg == arg) {
            memmove(&h->callbacks[i], &h->callbacks[i + 1],
                    (h->ncallbacks - i - 1) * sizeof h->callbacks[0]);
            h->ncallbacks--;
            return 0;
        }
    }
    return OURO_ENOTFOUND;
}

size_t ouro_gc_garbage_count(ouro_heap *h) { return h ? h->garbage.len : 0; }

ouro_object *ouro_gc_garbage_get(ouro_heap *h, size_t i)
{
    return h && i < h->garbage.len ? h->garbage.items[i] : NULL;
}

void ouro_gc_garbage_clear(ouro_heap *h)
{
    /* As list.clear(): detach the items first, then release them from the
     * last to the first. */
    if (!h)
        return;
    if (SHARED_CALL(h)) {
        (void)stopped(h, (stopped_call){.kind = SC_GARBAGE_CLEAR});
        return;
    }
    ouro__vec v = h->garbage;
    memset(&h->garbage, 0, sizeof h->garbage);
    while (v.len)
        ouro_decref(v.items[--v.len]);
    free(v.items);
}

/* ------------------------------------------------------------ checking */

int ouro__gc_check(ouro_heap *h)
{
    for (int i = OURO__LIST_GEN0; i <= OURO__LIST_PERMANENT; i++) {
        ouro_object *head = &h->lists[i];
        uint32_t hr = ouro__head_ref(h, head);
        uint32_t prev = hr;
        size_t n = 0;
        for (uint32_t r = head->gc_next; r != hr;) {
            ouro_object *o = ouro__obj_of(h, r);
            if (o->gc_prev != prev) {
                ouro__report(h, "ouro_heap_check: list %d: %s object %p has a bad prev link\n", i,
                             ouro_type_name(o), (void *)o);
                return OURO_EINVAL;
            }
            if (!(o->flags & OURO__F_OBJECT) || !is_gc(o)) {
                ouro__report(h, "ouro_heap_check: list %d: %p is not a GC object\n", i, (void *)o);
                return OURO_EINVAL;
            }
            prev = r;
            r = o->gc_next;
            if (++n > ouro__live_objects(h) + 1) {
                ouro__report(h, "ouro_heap_check: list %d: cycle in the list\n", i);
                return OURO_EINVAL;
            }
        }
        if (head->gc_prev != prev) {
            ouro__report(h, "ouro_heap_check: list %d: head's tail link is wrong\n", i);
            return OURO_EINVAL;
        }
    }
    return h->collecting ? 0 : ouro__inc_check(h);
}

/* The calls above, made again by the thread holding the world stopped. */
static void stopped_fn(ouro_heap *h, void *arg)
{
    stopped_call *c = arg;
    switch (c->kind) {
    case SC_COLLECT: {
        ouro__shared_flush_counts(h);
        /* the stop is this call's own: the collection may let the world
         * run (RUNNING THE WORLD) */
        bool saved = ouro__shared_gc_own_stop(h, true);
        c->result = ouro_gc_collect(h, (int)c->a);
        ouro__shared_gc_own_stop(h, saved);
        break;
    }
    case SC_STEP: {
        /* (the threads' counts stay theirs: their young trigger is
         * relative to them).  The stop is this call's own: a batch's
         * collection may let the world run, as SC_COLLECT's. */
        bool saved = ouro__shared_gc_own_stop(h, true);
        c->result = ouro_gc_step(h, c->a);
        ouro__shared_gc_own_stop(h, saved);
        break;
    }
    case SC_ENABLE:
        c->a ? ouro_gc_enable(h) : ouro_gc_disable(h);
        break;
    case SC_THRESHOLD:
        c->result = ouro_gc_set_threshold(h, (int)c->a, (int)c->b, (int)c->c);
        break;
    case SC_GROWTH:
        c->result = ouro_gc_set_young_growth(h, (int)c->a);
        break;
    case SC_SCHEDULE:
        c->result = ouro_gc_set_schedule(h, (int)c->a);
        break;
    case SC_GET_OBJECTS:
        c->result = ouro_gc_get_objects(h, (int)c->a, (ouro_visit_fn)c->p, c->q);
        break;
    case SC_REFERRERS:
        c->result = ouro_gc_get_referrers(h, c->p, (ouro_visit_fn)c->q, c->r);
        break;
    case SC_FREEZE:
        ouro_gc_freeze(h);
        break;
    case SC_UNFREEZE:
        ouro_gc_unfreeze(h);
        break;
    case SC_DEBUG:
        ouro_gc_set_debug(h, (int)c->a);
        break;
    case SC_CB_ADD:
        c->result = ouro_gc_callback_add(h, (ouro_gc_callback)c->p, c->q);
        break;
    case SC_CB_REMOVE:
        c->result = ouro_gc_callback_remove(h, (ouro_gc_callback)c->p, c->q);
        break;
    case SC_GARBAGE_CLEAR:
        ouro_gc_garbage_clear(h);
        break;
    case SC_COUNT:
        ouro_gc_get_count(h, c->p);
        break;
    case SC_TRACK:
        c->result = ouro_gc_track(c->p);
        break;
    case SC_UNTRACK:
        c->result = ouro_gc_untrack(c->p);
        break;
    }
}
