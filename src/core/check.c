/*
 * check.c — the heap walk and the heap checker.
 *
 * ouro_heap_check verifies what internal.h's INVARIANTS promise: the pools
 * (ouro__pool_check), every object's header (a registered type, a live
 * count, no collector flags outside a collection, a tracked object of a GC
 * type whose neighbour points back, a weak flag with a weak list), the
 * object and weak-table counts, and the collector's lists (ouro__gc_check).
 * It reports the first problem through the heap's sink and returns
 * OURO_EINVAL; it never changes the heap.
 */
#include "internal.h"

#include <stdlib.h>

typedef struct walk_state {
    ouro_visit_fn fn;
    void *arg;
} walk_state;

static int walk_visit(void *block, void *arg)
{
    walk_state *ws = arg;
    ouro_object *o = block;
    if (!(o->flags & OURO__F_OBJECT))
        return 0;
    return ws->fn(o, ws->arg);
}

int ouro_heap_walk(ouro_heap *h, ouro_visit_fn visit, void *arg)
{
    if (!h || !visit)
        return OURO_EINVAL;
    walk_state ws = {visit, arg};
    if (h->shared) {
        /* every thread's pools, with every other thread stopped */
        if (ouro__stw_enter(h, "ouro_heap_walk") < 0)
            return OURO_ETHREAD;
        int rc = ouro__pool_walk(h, false, walk_visit, &ws);
        ouro__stw_leave(h);
        return rc;
    }
    return ouro__pool_walk(h, false, walk_visit, &ws);
}

/* The address ranges of a heap's arenas and large blocks, sorted, so that
 * the checker can tell whether a referent lies in this heap without
 * reading it: a reference into another heap may point into memory that
 * heap has already returned to its page source. */
typedef struct range {
    uintptr_t lo, hi;
} range;

typedef struct check_state {
    ouro_heap *h;
    size_t objects;
    size_t tracked;
    size_t weak_flagged;
    int bad;
    range *ranges; /* NULL when malloc failed: referents are not checked */
    size_t nranges;
    const ouro_object *holder; /* the object whose references are visited */
} check_state;

static int range_cmp(const void *a, const void *b)
{
    uintptr_t x = ((const range *)a)->lo, y = ((const range *)b)->lo;
    return x < y ? -1 : x > y;
}

static range *heap_ranges(ouro_heap *h, size_t *n)
{
    size_t cap = 1;
    for (ouro__large *L = h->large_blocks; L; L = L->next)
        cap++;
    cap += h->slot_top;
    range *r = malloc(cap * sizeof *r);
    if (!r)
        return NULL;
    size_t k = 0;
    for (uint32_t i = 1; i < h->slot_top; i++)
        if (h->arenas[i].live)
            r[k++] = (range){(uintptr_t)h->arenas[i].base,
                             (uintptr_t)h->arenas[i].base + OURO__ARENA_SIZE};
    for (ouro__large *L = h->large_blocks; L; L = L->next)
        r[k++] = (range){(uintptr_t)L, (uintptr_t)L + L->map_size};
    qsort(r, k, sizeof *r, range_cmp);
    *n = k;
    return r;
}

static bool in_ranges(const range *r, size_t n, uintptr_t p)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p < r[mid].lo)
            hi = mid;
        else if (p >= r[mid].hi)
            lo = mid + 1;
        else
            return true;
    }
    return false;
}

/* Every reference an object reports through traverse (tracked or not:
 * an untracked tuple or dict still holds its items) must point into this
 * heap.  Objects whose type has no traverse cannot be checked. */
static int check_referent(ouro_object *r, void *arg)
{
    check_state *cs = arg;
    if (!r || in_ranges(cs->ranges, cs->nranges, (uintptr_t)r))
        return 0;
    ouro__report(cs->h,
                 "ouro_heap_check: %s object %p holds a reference to %p, which is not an "
                 "object of heap %p (an object of another heap)\n",
                 ouro_type_name(cs->holder), (const void *)cs->holder, (void *)r,
                 (void *)cs->h);
    cs->bad = 1;
    return 1;
}

static int check_visit(ouro_object *o, void *arg)
{
    check_state *cs = arg;
    ouro_heap *h = cs->h;
    cs->objects++;
    if (o->type_id == 0 || !ouro__type_by_id(o->type_id)) {
        ouro__report(h, "ouro_heap_check: object %p: bad type id %u\n", (void *)o, o->type_id);
        cs->bad = 1;
        return 1;
    }
    ouro_type *t = ouro__type(o);
    /* A count of zero is legal only for an object being deallocated (a
     * check run from a finalizer or callback can meet one). */
    if ((o->refcnt == 0 && !(o->flags & OURO__F_DEALLOC)) || o->refcnt == OURO__FREED_REFCNT ||
        (o->flags & OURO__F_FREED)) {
        ouro__report(h, "ouro_heap_check: %s object %p: refcount %u\n", t->name, (void *)o,
                     o->refcnt);
        cs->bad = 1;
        return 1;
    }
    if (!h->collecting && (o->flags & (OURO__F_COLLECTING | OURO__F_UNREACHABLE))) {
        ouro__report(h, "ouro_heap_check: %s object %p: collector flags outside a collection\n",
                     t->name, (void *)o);
        cs->bad = 1;
        return 1;
    }
    if (o->gc_next) {
        cs->tracked++;
        if (!(t->flags & OURO_TYPE_GC)) {
            ouro__report(h, "ouro_heap_check: %s object %p: tracked but not a GC type\n",
                         t->name, (void *)o);
            cs->bad = 1;
            return 1;
        }
        if (ouro__block_size(o) < OURO__GC_MIN_BLOCK) {
            /* two could share a side count (incremental.c) */
            ouro__report(h, "ouro_heap_check: %s object %p: tracked in a %zu-byte block\n",
                         t->name, (void *)o, ouro__block_size(o));
            cs->bad = 1;
            return 1;
        }
        ouro_object *next = ouro__obj_of(h, o->gc_next);
        if (!h->collecting && ouro__obj_of(h, next->gc_prev) != o) {
            ouro__report(h, "ouro_heap_check: %s object %p: broken collector list\n", t->name,
                         (void *)o);
            cs->bad = 1;
            return 1;
        }
    }
    if (cs->ranges && t->traverse) {
        cs->holder = o;
        t->traverse(o, check_referent, cs);
        if (cs->bad)
            return 1;
    }
    if (o->flags & OURO__F_HASWEAK) {
        cs->weak_flagged++;
        if (!ouro__weak_head(h, o)) {
            ouro__report(h, "ouro_heap_check: %s object %p: weak flag without weak list\n",
                         t->name, (void *)o);
            cs->bad = 1;
            return 1;
        }
    }
    return 0;
}

int ouro_heap_check(ouro_heap *h)
{
    if (!h)
        return OURO_EINVAL;
    if (h->shared) {
        /* The pools of every thread, with every thread stopped. */
        if (ouro__stw_enter(h, "ouro_heap_check") < 0)
            return OURO_ETHREAD;
        ouro__lock(h);
        int rc = ouro__pool_check(h);
        if (rc == 0)
            rc = ouro__shared_check(h);
        if (rc == 0)
            rc = ouro__shared_gc_check(h);
        ouro__unlock(h);
        ouro__stw_leave(h);
        return rc; /* no objects on a shared heap yet */
    }
    int rc = ouro__pool_check(h);
    if (rc < 0)
        return rc;
    check_state cs = {h, 0, 0, 0, 0, NULL, 0, NULL};
    cs.ranges = heap_ranges(h, &cs.nranges);
    ouro_heap_walk(h, check_visit, &cs);
    for (size_t i = 0; !cs.bad && i < h->scope.len; i++) {
        if (cs.ranges && !in_ranges(cs.ranges, cs.nranges, (uintptr_t)h->scope.items[i])) {
            ouro__report(h, "ouro_heap_check: scope entry %p is not an object of heap %p\n",
                         (void *)h->scope.items[i], (void *)h);
            cs.bad = 1;
        }
    }
    free(cs.ranges);
    if (cs.bad)
        return OURO_EINVAL;
    if (cs.objects != ouro__live_objects(h)) {
        ouro__report(h, "ouro_heap_check: %zu objects found, stats say %zu\n", cs.objects,
                     ouro__live_objects(h));
        return OURO_EINVAL;
    }
    if (cs.weak_flagged != ouro__weak_table_count(h)) {
        ouro__report(h, "ouro_heap_check: %zu objects flagged with weak lists, table has %zu\n",
                     cs.weak_flagged, ouro__weak_table_count(h));
        return OURO_EINVAL;
    }
    rc = ouro__gc_check(h);
    if (rc < 0)
        return rc;
    size_t listed = 0;
    for (int i = OURO__LIST_GEN0; i <= OURO__LIST_PERMANENT; i++)
        listed += ouro__list_size(h, &h->lists[i]);
    if (!h->collecting && listed != cs.tracked) {
        ouro__report(h, "ouro_heap_check: %zu tracked objects, %zu on generation lists\n",
                     cs.tracked, listed);
        return OURO_EINVAL;
    }
    return 0;
}
