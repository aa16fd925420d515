/*
 * state.c — the built-in types' per-heap state: the small-int cache, the
 * empty singletons, and the free lists, with the hooks the core calls.
 *
 * FREE LISTS.  CPython keeps the blocks of recently freed floats, small
 * tuples, lists and dicts on per-type lists, because those objects are
 * created and destroyed at a furious rate and taking a block off a list
 * skips the allocator and most of the initialisation.  ouro's pool
 * allocator is already cheap, so what a free list saves here is the
 * size-class lookup and the pool bookkeeping (a pool that empties is
 * moved between lists), and it keeps hot blocks hot in the cache.  The
 * cost is memory held back: at most 100 floats, 80 lists, 80 dicts, 80
 * dict tables and 2,000 tuples of each size 1..19, as in CPython 3.11,
 * and a full collection gives it all back (ouro__types_clear_freelists).
 *
 * The core offers every block of a type flagged OURO__TYPE_FREELIST to
 * ouro__types_keep just before freeing it, and asks ouro__types_take for
 * one before allocating; both are weak hooks, so a core without them
 * simply never fills the lists.  A kept block is not an object any more
 * (flags 0, or FREED with the freed-marker count in debug heaps, so a use
 * after free is still caught, and its payload is poisoned for ASan and
 * Valgrind); the core re-initialises a block taken from a list exactly as
 * a fresh one, after counting the allocation for fault injection and the
 * collector, so a block's history is invisible.
 *
 * Invariants: fl[i].count is the length of fl[i].head's chain and never
 * exceeds fl[i].max; every block on fl[i] has the size fl[i] is for.
 */
#include "types.h"

static const size_t fl_max[OURO__FL_COUNT] = {
    [OURO__FL_FLOAT] = 100,
    [OURO__FL_LIST] = 80,
    [OURO__FL_DICT] = 80,
    [OURO__FL_DKEYS] = 80,
};

static ouro_object *types_take(ouro_heap *h, ouro_type *t, size_t size);
static bool types_keep(ouro_heap *h, ouro_object *o);
static void types_clear_freelists(ouro_heap *h);
static size_t types_untrack_survivors(ouro_heap *h, ouro_object *young, bool full);

/* What the core calls upward (see ouro__types_hooks in the core's
 * internal.h). */
static const ouro__types_hooks hooks = {
    .take = types_take,
    .keep = types_keep,
    .clear_freelists = types_clear_freelists,
    .untrack_survivors = types_untrack_survivors,
    .heap_free = ouro__finalize_at_exit,
};

/* A shared heap's state while the thread making it fills it in (the
 * singletons below are made through the ordinary constructors, which ask
 * for the state). */
static __thread ouro_heap *building_heap;
static __thread ouro__types_state *building_ts;

static ouro__types_state *ts_make(ouro_heap *h)
{
    ouro__types_state *ts = ouro_raw_alloc(h, sizeof *ts);
    if (!ts) {
        ouro__set_error(h, OURO_ENOMEM);
        return NULL;
    }
    memset(ts, 0, sizeof *ts);
    for (int i = 0; i < OURO__FL_COUNT; i++)
        ts->fl[i].max = i >= OURO__FL_TUPLE1 ? 2000 : fl_max[i];
    return ts;
}

/* A shared heap's state, made under the types lock with every immortal
 * singleton in it (None, the bools, the small ints, the empty str, bytes
 * and tuple), then published: afterwards the threads only read them.
 * What stays shared and changes (the intern table, weakref.finalize's
 * registry) is changed under the lock. */
static ouro__types_state *ts_make_shared(ouro_heap *h)
{
    bool taken = ouro__types_lock(h);
    ouro__types_state *ts = __atomic_load_n(&h->types, __ATOMIC_ACQUIRE);
    if (!ts && (ts = ts_make(h)) != NULL) {
        building_heap = h;
        building_ts = ts;
        bool ok = ouro__none(h) != NULL && ouro_str_new(h, "", 0) != NULL &&
                  ouro_bytes_new(h, "", 0) != NULL && ouro_tuple_new(h, 0) != NULL;
        for (int64_t v = OURO__SMALLINT_MIN; ok && v <= OURO__SMALLINT_MAX; v++)
            ok = ouro_int_new(h, v) != NULL; /* immortal: no reference to drop */
        building_heap = NULL;
        building_ts = NULL;
        if (!ok) {
            /* what was made stays immortal until the heap's free */
            ouro__types_unlock(h, taken);
            ouro__set_error(h, OURO_ENOMEM);
            return NULL;
        }
        ouro__heap_set_types(h, &hooks, ts); /* publishes (release) */
    }
    ouro__types_unlock(h, taken);
    return ts;
}

ouro__types_state *ouro__ts(ouro_heap *h)
{
    ouro__types_state *ts = __atomic_load_n(&h->types, __ATOMIC_ACQUIRE);
    if (OURO__LIKELY(ts != NULL))
        return ts;
    if (ouro_heap_is_shared(h))
        return building_heap == h ? building_ts : ts_make_shared(h);
    ts = ts_make(h);
    if (ts)
        ouro__heap_set_types(h, &hooks, ts);
    return ts;
}

ouro_object *ouro__tnew(ouro_heap *h, ouro_type *t, size_t size)
{
    /* The state first: a free list needs somewhere to keep the block when
     * this object dies, and the free path must not allocate. */
    if (OURO__UNLIKELY(!ouro__ts_peek(h)) && !ouro__ts(h))
        return NULL;
    return ouro_new_sized(h, t, size);
}

/* ------------------------------------------------------------ free lists */

void *ouro__fl_pop(ouro__freelist *fl)
{
    void *b = fl->head;
    if (!b)
        return NULL;
    void **link = (void **)((uint8_t *)b + 8);
    OURO__VG_DEFINED(link, sizeof *link);
    fl->head = *link;
    fl->count--;
    fl->reused++;
    return b;
}

bool ouro__fl_push(ouro__freelist *fl, void *block)
{
    if (fl->count >= fl->max) {
        fl->released++;
        return false;
    }
    *(void **)((uint8_t *)block + 8) = fl->head;
    fl->head = block;
    fl->count++;
    fl->kept++;
    return true;
}

/* Which list a block of type t and `size` bytes belongs on, or -1. */
int ouro__fl_index(const ouro_type *t, size_t size)
{
    if (t == &ouro__float_type)
        return OURO__FL_FLOAT;
    if (t == &ouro__list_type)
        return OURO__FL_LIST;
    if (t == &ouro__dict_type)
        return OURO__FL_DICT;
    if (t == &ouro__tuple_type) {
        size_t n = (size - sizeof(o_tuple)) / sizeof(ouro_object *);
        if (n >= 1 && n < OURO__TUPLE_FL_SIZES)
            return OURO__FL_TUPLE1 + (int)n - 1;
    }
    return -1;
}

/* The payload past the link word is not to be touched while kept. */
static void park_poison(void *b)
{
    size_t n = ouro__block_size(b);
    OURO__POISON((uint8_t *)b + 16, n - 16);
    OURO__VG_NOACCESS((uint8_t *)b + 16, n - 16);
}

static void park_unpoison(void *b)
{
    size_t n = ouro__block_size(b);
    OURO__UNPOISON((uint8_t *)b + 16, n - 16);
    OURO__VG_UNDEFINED((uint8_t *)b + 16, n - 16);
}

/* Hook: called by ouro_new_sized for types flagged OURO__TYPE_FREELIST,
 * after the allocation is counted; the core initialises the block. */
static ouro_object *types_take(ouro_heap *h, ouro_type *t, size_t size)
{
    ouro__types_state *ts = ouro__ts_peek(h);
    if (!ts)
        return NULL;
    int i = ouro__fl_index(t, size);
    if (i < 0)
        return NULL;
    void *b = ouro__fl_pop(&ts->fl[i]);
    if (b)
        park_unpoison(b);
    return b;
}

static size_t object_size(ouro_object *o)
{
    if (IS_TUPLE(o))
        return sizeof(o_tuple) + ((o_tuple *)o)->n * sizeof(ouro_object *);
    return ouro__type(o)->basic_size;
}

/* Hook: called by the core's free path (after the type's clear and
 * dealloc, statistics and tracing) for types flagged OURO__TYPE_FREELIST.
 * true: the block is kept and must not be freed. */
static bool types_keep(ouro_heap *h, ouro_object *o)
{
    ouro__types_state *ts = ouro__ts_peek(h);
    if (!ts || h->freeing)
        return false;
    int i = ouro__fl_index(ouro__type(o), object_size(o));
    if (i < 0 || !ouro__fl_push(&ts->fl[i], o))
        return false;
    if (h->cfg.debug >= OURO_DEBUG_CHECKS) {
        o->refcnt = OURO__FREED_REFCNT;
        o->flags = OURO__F_FREED;
    } else {
        o->flags = 0;
    }
    park_poison(o);
    return true;
}

/* A dict table of the smallest size, from its free list or the pool. */
void *ouro__dkeys_take(ouro_heap *h, size_t bytes)
{
    ouro__types_state *ts = ouro__ts_peek(h);
    if (ts && ts->fl[OURO__FL_DKEYS].head) {
        /* Counted like a fresh allocation, so fault injection sees the
         * same sequence whether or not the list had a block. */
        if (ouro__alloc_fails(h))
            return NULL;
        void *b = ouro__fl_pop(&ts->fl[OURO__FL_DKEYS]);
        park_unpoison(b);
        return b;
    }
    return ouro_raw_alloc(h, bytes);
}

void ouro__dkeys_keep(ouro_heap *h, void *b)
{
    ouro__types_state *ts = ouro__ts_peek(h);
    if (ts && !h->freeing && ouro__fl_push(&ts->fl[OURO__FL_DKEYS], b)) {
        park_poison(b);
        return;
    }
    ouro_raw_free(h, b);
}

static size_t clear_lists(ouro_heap *h)
{
    ouro__types_state *ts = ouro__ts_peek(h);
    size_t n = 0;
    if (!ts)
        return 0;
    for (int i = 0; i < OURO__FL_COUNT; i++) {
        ouro__freelist *fl = &ts->fl[i];
        while (fl->head) {
            void *b = fl->head;
            void **link = (void **)((uint8_t *)b + 8);
            OURO__VG_DEFINED(link, sizeof *link);
            fl->head = *link;
            fl->count--;
            park_unpoison(b);
            if (i == OURO__FL_DKEYS)
                ouro_raw_free(h, b);
            else
                ouro__block_free(h, b);
            n++;
        }
    }
    return n;
}

/* Hook: the core calls it at the end of every full collection. */
static void types_clear_freelists(ouro_heap *h)
{
    clear_lists(h);
}

size_t ouro_types_clear_freelists(ouro_heap *h)
{
    return h ? clear_lists(h) : 0;
}

size_t ouro_types_freelist_stats(ouro_heap *h, ouro_freelist_stats *out, size_t n)
{
    static const char *const names[OURO__FL_COUNT] = {
        "float", "list", "dict", "dict keys",
        "tuple[1]", "tuple[2]", "tuple[3]", "tuple[4]", "tuple[5]", "tuple[6]", "tuple[7]",
        "tuple[8]", "tuple[9]", "tuple[10]", "tuple[11]", "tuple[12]", "tuple[13]",
        "tuple[14]", "tuple[15]", "tuple[16]", "tuple[17]", "tuple[18]", "tuple[19]",
    };
    ouro__types_state *ts = h ? ouro__ts_peek(h) : NULL;
    for (size_t i = 0; i < n && i < OURO__FL_COUNT; i++) {
        ouro__freelist z = {0};
        const ouro__freelist *fl = ts ? &ts->fl[i] : &z;
        out[i].name = names[i];
        out[i].count = fl->count;
        out[i].max = ts ? fl->max : (i >= OURO__FL_TUPLE1 ? 2000 : fl_max[i]);
        out[i].reused = fl->reused;
        out[i].kept = fl->kept;
        out[i].released = fl->released;
    }
    return OURO__FL_COUNT;
}

/* ------------------------------------------------------------ untracking */

/*
 * Hook: the collector calls it on the survivors of every collection,
 * right after it has found what is unreachable (where CPython 3.11 calls
 * untrack_tuples, and untrack_dicts for full collections), and counts
 * the survivors after it.  A tuple whose items can never be part of a
 * cycle (atomic objects, untracked tuples) leaves the collector's lists:
 * later collections skip it, which in a program full of tuples of numbers
 * and strings is most of its tuples.  Dicts are untracked only by full
 * collections (untracking them more often makes building a big dict of
 * dicts quadratic).  Two passes in list order, tuples then dicts, as
 * CPython does, so the results match its gc.is_tracked() and counts: a
 * tuple that holds a tuple later in the list waits for the next
 * collection.  Returns the number of objects untracked, which the
 * collector takes off its count of survivors (so an untracked object must
 * not also be taken off the pending or middle count: its PENDING or MIDDLE
 * mark is dropped).
 */
static size_t untrack_if(ouro_heap *h, ouro_object *o, bool (*maybe)(ouro_heap *, ouro_object *))
{
    uint16_t pending = o->flags & (OURO__F_PENDING | OURO__F_MIDDLE);
    o->flags &= (uint16_t)~(OURO__F_PENDING | OURO__F_MIDDLE);
    if (maybe(h, o))
        return 1;
    o->flags |= pending;
    return 0;
}

static size_t types_untrack_survivors(ouro_heap *h, ouro_object *young, bool full)
{
    uint32_t hr = ouro__ref_of(h, young);
    uint32_t tid = ouro__type_id(&ouro__tuple_type), did = ouro__type_id(&ouro__dict_type);
    size_t n = 0;
    for (uint32_t r = young->gc_next; tid && r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        if (o->type_id == tid)
            n += untrack_if(h, o, ouro__tuple_maybe_untrack);
    }
    for (uint32_t r = young->gc_next; full && did && r != hr;) {
        ouro_object *o = ouro__obj_of(h, r);
        r = o->gc_next;
        if (o->type_id == did)
            n += untrack_if(h, o, ouro__dict_maybe_untrack);
    }
    return n;
}
