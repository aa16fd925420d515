/*
 * object.c — the object header, types, reference counting and deallocation.
 *
 * Deallocation follows CPython's subtype_dealloc step for step, because the
 * order is observable (finalizers and weak-reference callbacks can run
 * arbitrary code):
 *
 *   1. untrack the object from the collector;
 *   2. if it has a finalizer that has not run, re-track it, give it a
 *      temporary reference, run the finalizer, take the reference back; if
 *      the count is now above zero the finalizer resurrected it and we stop
 *      (it stays tracked, in generation 0, as in CPython);
 *   3. clear its weak references, running their callbacks;
 *   4. clear its references (type->clear), release external resources
 *      (type->dealloc) and free the block.
 *
 * Step 4 releases children, which may die in turn.  CPython bounds that
 * recursion with its "trashcan": past 50 nested deallocations an object is
 * pushed on a deferred stack and destroyed when the outermost deallocation
 * finishes.  We do the same (depth configurable), which keeps CPython's
 * order for shallow structures and bounds the stack for deep ones: a
 * million-long chain is freed with ~50 frames, in time linear in its length.
 */
#include "internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>


/* ------------------------------------------------------------ type table */

/* The process-wide type table.  Types are immutable descriptors, like
 * CPython's static types, so sharing them between heaps lets no heap
 * observe another.  Entries are written once, under the lock, before the
 * id is published with release ordering. */
ouro_type *ouro__type_table[OURO__MAX_TYPES];
#define type_table ouro__type_table
static uint32_t type_count = 1; /* id 0 is never a type */
static pthread_mutex_t type_lock = PTHREAD_MUTEX_INITIALIZER;

/* What deallocation needs to know of a type, by id, in one byte, so that
 * ouro__dealloc tests one load instead of four fields of the descriptor
 * (and a leaf object's deallocation does not read the descriptor at all).
 * Written with the table entry, before the id is published; types never
 * change after their first use (ouro.h). */
enum {
    KIND_GC = 1u << 0,    /* OURO_TYPE_GC */
    KIND_HOOKS = 1u << 1, /* clear or dealloc set */
    KIND_SLOW = 1u << 2   /* a finalizer or a free list: dealloc_object */
};
static uint8_t type_kind[OURO__MAX_TYPES];

static int type_ready(ouro_type *t)
{
    if (OURO__LIKELY(__atomic_load_n(&t->id, __ATOMIC_ACQUIRE) != 0))
        return 0;
    int rc = 0;
    pthread_mutex_lock(&type_lock);
    if (t->id == 0) {
        if (type_count >= OURO__MAX_TYPES) {
            rc = OURO_ELIMIT;
        } else {
            type_table[type_count] = t;
            if ((t->flags & OURO_TYPE_GC) && ouro__gc_block_short(t->basic_size))
                t->flags |= OURO__TYPE_SMALLGC;
            type_kind[type_count] =
                (uint8_t)(((t->flags & OURO_TYPE_GC) ? KIND_GC : 0) |
                          ((t->clear || t->dealloc) ? KIND_HOOKS : 0) |
                          ((t->finalize || (t->flags & OURO__TYPE_FREELIST)) ? KIND_SLOW : 0));
            __atomic_store_n(&t->id, type_count, __ATOMIC_RELEASE);
            /* Published for safe_type_name, which reads without the lock. */
            __atomic_store_n(&type_count, type_count + 1, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&type_lock);
    return rc;
}

/* ------------------------------------------------------------ reporting */

void ouro__report(ouro_heap *h, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (h && h->cfg.sink)
        h->cfg.sink(h->cfg.sink_ctx, buf);
    else
        fputs(buf, stderr);
}

/* Reached on the way to abort, possibly while another thread registers a
 * type: the count is read with acquire ordering, so every entry below it
 * is written. */
static const char *safe_type_name(const ouro_object *o)
{
    uint32_t id = o->type_id, n = __atomic_load_n(&type_count, __ATOMIC_ACQUIRE);
    if (id == 0 || id >= n || !type_table[id])
        return "?";
    return type_table[id]->name ? type_table[id]->name : "?";
}

void ouro__fatalf(ouro_heap *h, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ouro__report(h, "ouro: fatal: %s\n", buf);
    fflush(stderr);
    abort();
}

/* A reference to an object of heap B about to be stored in heap h. */
void ouro__foreign_fatal(ouro_heap *h, const ouro_object *o, const char *what)
{
    ouro__fatalf(NULL,
                 "%s: object %p of type %s belongs to heap %p, stored into heap %p "
                 "(wrong heap: objects of one heap may refer only to objects of the same heap)",
                 what, (const void *)o, safe_type_name(o), (void *)ouro__heap_of(o), (void *)h);
}

void ouro__assert_fail(const char *expr, const char *file, int line, const char *func)
{
    ouro__fatalf(NULL, "%s:%d: %s: assertion failed: %s", file, line, func, expr);
}

/* No heap: the object may be the misuse itself (freed, or not an object),
 * and its chunk header is not worth trusting on the way out. */
void ouro__fatal(const ouro_object *o, const char *what)
{
    ouro__fatalf(NULL, "%s: object %p of type %s (refcnt %u)", what, (const void *)o,
                 safe_type_name(o), o->refcnt);
}

/* ------------------------------------------------------------ allocation */

bool ouro__inject_alloc(ouro_heap *h)
{
    uint64_t at = h->cfg.fail_alloc_at;
    if (at == 0)
        return false;
    uint64_t n = h->allocs;
    if (n < at)
        return false;
    if (n == at)
        return true;
    return h->cfg.fail_alloc_every && (n - at) % h->cfg.fail_alloc_every == 0;
}

/* A new object's header: count 1, its type, a block that is an object,
 * and its collector links (0, 0: untracked).  Two 8-byte stores where the
 * fields would take five. */
_Static_assert(offsetof(ouro_object, type_id) == 4 && offsetof(ouro_object, flags) == 6 &&
                   offsetof(ouro_object, gc_next) == 8 && offsetof(ouro_object, gc_prev) == 12,
               "header_init writes the header as two words");
static inline void header_init(ouro_object *o, uint32_t type_id, uint32_t gc_next,
                               uint32_t gc_prev)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t w[2] = {1u | (uint64_t)(uint16_t)type_id << 32 | (uint64_t)OURO__F_OBJECT << 48,
                     gc_next | (uint64_t)gc_prev << 32};
    memcpy(o, w, sizeof w);
#else
    *o = (ouro_object){.refcnt = 1, .type_id = (uint16_t)type_id, .flags = OURO__F_OBJECT,
                       .gc_next = gc_next, .gc_prev = gc_prev};
#endif
}

/* The general allocation path: every case (bad arguments, a type's first
 * use, fault injection and debug heaps, a collection due, free lists,
 * large objects, a new pool, tracing).  new_fast comes here whenever any
 * of those may apply, before it has changed anything.  The arguments are
 * ouro_new_at's, in the same registers, and the size last, so that
 * ouro_new_at's fast path can keep them where they are. */
static __attribute__((noinline)) ouro_object *new_slow(ouro_heap *h, ouro_type *type,
                                                       const char *file, int line,
                                                       const char *func, size_t size)
{
    if (!h)
        return NULL;
    if (!type || size < sizeof(ouro_object)) {
        ouro__set_error(h, OURO_EINVAL);
        return NULL;
    }
    int rc = type_ready(type);
    if (rc < 0) {
        ouro__set_error(h, rc);
        return NULL;
    }
    bool gc = (type->flags & OURO_TYPE_GC) != 0;
    if (gc && ouro__gc_block_short(size))
        size = OURO__GC_MIN_BLOCK; /* a side count of its own (internal.h) */
    if (h->shared)
        return ouro__shared_new(h, type, file, line, func, size);
    if (ouro__alloc_fails(h))
        return NULL;
    if (gc) {
        /* CPython counts the allocation and may collect before the new
         * object is tracked, so the new object is never part of that
         * collection. */
        h->gen[0].count++;
        if (ouro__young_collection_due(h, h->gen[0].count))
            ouro__gc_maybe_collect(h);
    }
    ouro_object *o = NULL;
    if (OURO__UNLIKELY(type->flags & OURO__TYPE_FREELIST) && h->types_hooks) {
        o = h->types_hooks->take(h, type, size);
        if (o && h->tracer)
            ouro__trace_unpooled(h, ouro__block_size_inline(o));
    }
    if (!o)
        o = ouro__block_alloc_fast(h, size, 0);
    if (!o) {
        if (gc && h->gen[0].count > 0)
            h->gen[0].count--;
        h->last_error = OURO_ENOMEM;
        return NULL;
    }
    ouro__zero_body(o, size);
    header_init(o, type->id, 0, 0);
    h->objects_new++;
    if (OURO__UNLIKELY(h->tracer != NULL))
        ouro__trace_alloc(h, o, 0, file, line, func);
    if (gc)
        ouro__gc_track(h, o);
    return o;
}

/* new_fast's second half, once it has a block: zero the body, write the
 * header and track.  The descriptor is read again (an L1 hit) rather than
 * held in a register across the pop. */
static inline __attribute__((always_inline)) ouro_object *
new_finish(ouro_heap *h, ouro_type *type, ouro_object *o, size_t size)
{
    ouro__zero_body(o, size);
    uint32_t id = type->id;
    h->objects_new++;
    if (type->flags & OURO_TYPE_GC) {
        h->gen[0].count++;
        ouro_object *head = &h->lists[0];
        uint32_t hr = ouro__head_ref(h, head);
        uint32_t r = ouro__pool_block_ref(ouro__pool_of(o), o);
        OURO__ASSERT(r == ouro__obj_ref(h, o));
        uint32_t lr = head->gc_prev;
        ouro__obj_of(h, lr)->gc_next = r;
        head->gc_prev = r;
        header_init(o, id, hr, lr);
    } else {
        header_init(o, id, 0, 0);
    }
    return o;
}

static __attribute__((noinline)) ouro_object *new_finish_big(ouro_heap *h, ouro_type *type,
                                                            ouro_object *o, size_t size)
{
    return new_finish(h, type, o, size);
}

/*
 * The fast path, a leaf: a small object of a ready type, in a heap with
 * no debug checks or fault injection (alloc_slow), of a type with no free
 * list, with no collection due, no tracer's sample within reach and a pool
 * block at hand.  It tests those first, with one branch each, and goes to
 * new_slow, unchanged, when any fails; then it pops the block, zeroes the
 * body, writes the header (two 8-byte stores: count, type and flags, then
 * the links) and appends a tracked object to generation 0 with the
 * reference taken from its pool header.  About 50 instructions for a
 * tracked 32-byte object, no call and no register saved.
 *
 * Tracing costs one compare: new_slow takes any allocation that could
 * bring bytes_alloc to trace_at (SIZE_MAX with no tracer, 0 when every
 * allocation is traced), so the tracer sees exactly the allocations it saw
 * before.
 */
static inline __attribute__((always_inline)) ouro_object *
new_fast(ouro_heap *h, ouro_type *type, const char *file, int line, const char *func, size_t size)
{
    if (OURO__UNLIKELY(!h || size - sizeof(ouro_object) > OURO__SMALL_MAX - sizeof(ouro_object)))
        goto slow;
    {
        uint32_t id = __atomic_load_n(&type->id, __ATOMIC_ACQUIRE);
        unsigned tf = type->flags;
        if (OURO__UNLIKELY(id == 0 || h->alloc_slow ||
                           (tf & (OURO__TYPE_FREELIST | OURO__TYPE_SMALLGC)))) {
            /* A shared heap's objects: its own fast path (shared.c);
             * a bare tracked header's size is new_slow's to round. */
            if (id != 0 && h->shared != NULL && !(tf & OURO__TYPE_SMALLGC))
                return ouro__shared_new(h, type, file, line, func, size);
            goto slow;
        }
        /* new_slow's test, on the count it would make. */
        if ((tf & OURO_TYPE_GC) && OURO__UNLIKELY(ouro__young_collection_due(h, h->gen[0].count + 1L)))
            goto slow;
        if (OURO__UNLIKELY(h->ta0.bytes_alloc + OURO__SMALL_MAX >= h->trace_at))
            goto slow;
    }
    ouro_object *o = ouro__block_alloc_try(h, size, 0);
    if (OURO__UNLIKELY(o == NULL))
        goto slow;
    /* No way back from here.  Bigger objects are zeroed by memset,
     * a call, which would make every path save registers: out of line. */
    if (size > 64)
        return new_finish_big(h, type, o, size);
    return new_finish(h, type, o, size);
slow:
    return new_slow(h, type, file, line, func, size);
}

ouro_object *ouro_new_sized_at(ouro_heap *h, ouro_type *type, size_t size, const char *file,
                              int line, const char *func)
{
    /* (a tracked bare header: new_slow gives it 32 bytes) */
    if (OURO__UNLIKELY(!type) ||
        OURO__UNLIKELY(ouro__gc_block_short(size) && (type->flags & OURO_TYPE_GC)))
        return new_slow(h, type, file, line, func, size);
    return new_fast(h, type, file, line, func, size);
}

ouro_object *ouro_new_at(ouro_heap *h, ouro_type *type, const char *file, int line,
                         const char *func)
{
    if (!type) {
        if (h)
            h->last_error = OURO_EINVAL;
        return NULL;
    }
    return new_fast(h, type, file, line, func, type->basic_size);
}

/* The plain functions, for callers that do not use the macros (and for
 * taking their address). */
#undef ouro_new
#undef ouro_new_sized
ouro_object *ouro_new(ouro_heap *h, ouro_type *type)
{
    return ouro_new_at(h, type, NULL, 0, NULL);
}

ouro_object *ouro_new_sized(ouro_heap *h, ouro_type *type, size_t size)
{
    return ouro_new_sized_at(h, type, size, NULL, 0, NULL);
}

/* ------------------------------------------------------------ debugging */

static void check_live(const ouro_object *o, const char *op)
{
    if (o->refcnt == OURO__FREED_REFCNT || (o->flags & OURO__F_FREED)) {
        char what[64];
        snprintf(what, sizeof what, "%s of a freed object (use after free or double free)", op);
        ouro__fatal(o, what);
    }
}

void ouro__debug_incref(ouro_object *o)
{
    check_live(o, "incref");
    ouro__check_owner(ouro__heap_of(o));
    uint32_t rc = o->refcnt;
    if ((int32_t)rc >= 0)
        o->refcnt = rc + 1;
    else if (rc < OURO_IMMORTAL_REFCNT)
        ouro__incref_shared(o);
}

void ouro__debug_decref(ouro_object *o)
{
    check_live(o, "decref");
    ouro__check_owner(ouro__heap_of(o));
    uint32_t rc = o->refcnt;
    if ((int32_t)rc < 0) {
        if (rc < OURO_IMMORTAL_REFCNT)
            ouro__decref_shared(o);
        return;
    }
    if (rc == 0 || (rc == 1 && (o->flags & OURO__F_DEALLOC)))
        ouro__fatal(o, "decref below zero (reference count underflow)");
    if (--rc == 0)
        ouro__dealloc(o);
    else
        o->refcnt = rc;
}

/* ------------------------------------------------------------ deallocation */

/* The last step of every deallocation (inline there: `t` is the object's
 * type, already looked up). */
static inline void free_object(ouro_heap *h, ouro_object *o, ouro_type *t)
{
    /* Untracked before it dies, and dying once. */
    OURO__ASSERT(o->gc_next == 0 && (o->flags & (OURO__F_OBJECT | OURO__F_DEALLOC)) ==
                                         (OURO__F_OBJECT | OURO__F_DEALLOC));
    if (o->flags & OURO__F_HASWEAK)
        ouro__weak_clear_silently(h, o);
    if (t->flags & OURO_TYPE_GC) {
        if (h->gen[0].count > 0)
            h->gen[0].count--;
    }
    h->objects_freed++;
    if (OURO__UNLIKELY(h->tracer != NULL))
        ouro__trace_free(h, o, 0);
    if (OURO__UNLIKELY(t->flags & OURO__TYPE_FREELIST) && h->types_hooks &&
        h->types_hooks->keep(h, o))
        return; /* kept on a free list (src/types/state.c) */
    if (h->cfg.debug >= OURO_DEBUG_CHECKS) {
        size_t n = ouro__block_size(o);
        memset((uint8_t *)o + sizeof(ouro_object), 0xDD, n - sizeof(ouro_object));
        o->refcnt = OURO__FREED_REFCNT;
        o->flags = OURO__F_FREED;
        o->gc_next = o->gc_prev = 0;
    } else {
        o->flags = 0;
    }
    ouro__block_free_fast(h, o);
}

static void dealloc_object(ouro_heap *h, ouro_object *o);

/* Runs t's finalizer on a dying object (count zero, untracked) as
 * subtype_dealloc does: re-tracked (into generation 0), a temporary
 * reference given, the hook called, the reference taken back.  Returns true
 * when the finalizer resurrected it: it lives on, tracked, as if the final
 * decref never happened.  Otherwise it is untracked again and dies. */
static bool finalize_resurrects(ouro_heap *h, ouro_object *o, ouro_type *t, bool gc)
{
    if (gc)
        ouro__gc_track(h, o);
    o->refcnt = 1;
    t->finalize(h, o);
    o->refcnt--;
    if (o->refcnt != 0) {
        o->flags &= (uint16_t)~OURO__F_DEALLOC;
        return true;
    }
    if (gc && o->gc_next)
        ouro__gc_untrack(h, o);
    return false;
}

static void drain_deferred(ouro_heap *h)
{
    /* As CPython's _PyTrash_thread_destroy_chain: one level of nesting is
     * counted while the chain is destroyed, so that it is not re-entered. */
    h->dealloc_depth++;
    while (h->deferred) {
        ouro_object *o = h->deferred;
        OURO__ASSERT((o->flags & OURO__F_DEALLOC) && o->gc_next == 0);
        h->deferred = o->gc_prev ? ouro__obj_of(h, o->gc_prev) : NULL;
        o->gc_prev = 0;
        dealloc_object(h, o);
    }
    h->dealloc_depth--;
}

static void dealloc_object(ouro_heap *h, ouro_object *o)
{
    ouro_type *t = ouro__type(o);
    bool gc = (t->flags & OURO_TYPE_GC) != 0;
    if (gc && o->gc_next)
        ouro__gc_untrack_fast(h, o);
    o->flags |= OURO__F_DEALLOC;
    /* The inline decref does not store the count it took to zero (that
     * saves a store on every death); store it here, so that a dying object
     * reads as dead, as in CPython: its weak references return nothing and
     * a weak reference being deallocated gets no callback
     * (ouro__weak_clear_refs). */
    o->refcnt = 0;
    if (h->dealloc_depth >= h->cfg.dealloc_depth) { /* never 0: ouro_heap_new */
        /* Trashcan: destroy later, from the outermost level.  The deferred
         * stack is linked through gc_prev (the object is untracked). */
        o->gc_prev = h->deferred ? ouro__ref_of(h, h->deferred) : 0;
        h->deferred = o;
        return;
    }
    h->dealloc_depth++;
    if (ouro__has_pep442_del(t) && !(o->flags & OURO__F_FINALIZED)) {
        o->flags |= OURO__F_FINALIZED;
        if (finalize_resurrects(h, o, t, gc))
            goto done;
    }
    if (o->flags & OURO__F_HASWEAK)
        ouro__weak_clear_refs(h, o);
    /* tp_del: runs on every death and may resurrect. */
    if (ouro__has_legacy_del(t) && finalize_resurrects(h, o, t, gc))
        goto done;
    if (t->finalize && (o->flags & OURO__F_HASWEAK)) {
        /* Weak references made during the finalizer are cleared without
         * calling their callbacks, as CPython does. */
        ouro__weak_clear_silently(h, o);
    }
    if (t->clear)
        t->clear(h, o);
    if (t->dealloc)
        t->dealloc(h, o);
    free_object(h, o, t);
done:
    h->dealloc_depth--;
    if (h->deferred && h->dealloc_depth == 0)
        drain_deferred(h);
}

/* Every deallocation the fast path below does not take: the debug checks,
 * then CPython's whole subtype_dealloc (dealloc_object). */
static __attribute__((noinline)) void dealloc_slow(ouro_heap *h, ouro_object *o)
{
    if (h->cfg.debug >= OURO_DEBUG_CHECKS) {
        ouro__check_owner(h);
        if (o->flags & OURO__F_FREED)
            ouro__fatal(o, "object freed twice (double free)");
        if (!(o->flags & OURO__F_OBJECT))
            ouro__fatal(o, "decref of something that is not an object");
    }
    dealloc_object(h, o);
}

/* The end of a common deallocation: free_object's steps that can apply
 * when the heap has no debug checks, fault injection or tracer, the type
 * no free list and the object no weak references (ouro__dealloc's test). */
static inline void free_plain(ouro_heap *h, ouro_object *o, unsigned kind)
{
    OURO__ASSERT(o->gc_next == 0 && (o->flags & OURO__F_OBJECT));
    /* (CPython's PyObject_GC_Del; a branch, not the branch-free
     * subtraction of a comparison, which took 7 instructions) */
    if ((kind & KIND_GC) && OURO__LIKELY(h->gen[0].count > 0))
        h->gen[0].count--;
    h->objects_freed++;
    o->refcnt = 0;
    o->flags = 0;
    ouro__block_free_fast(h, o);
}

/* ouro__gc_untrack's unlink, for a tracked object that is not an
 * incremental cycle's cursor (ouro__dealloc's test); returns its flags as
 * the unlink leaves them (the caller stores them).  A survivor that dies
 * in the middle or oldest generation before the next collection of it
 * (MIDDLE, PENDING: GCBench's trees, promoted while being built) takes
 * this path too, with the schedule's count updated. */
static inline uint16_t unlink_plain(ouro_heap *h, ouro_object *o, uint16_t of)
{
    uint32_t next = o->gc_next, prev = o->gc_prev;
    ouro__obj_of(h, prev)->gc_next = next;
    ouro__obj_of(h, next)->gc_prev = prev;
    o->gc_next = 0;
    if (of & OURO__F_COUNTED)
        ouro__gc_uncount(h, of);
    return of & (uint16_t)~(OURO__F_COLLECTING | OURO__F_UNREACHABLE | OURO__F_INCR |
                            OURO__F_COUNTED);
}

/* ouro__dealloc's path for an object whose type has a clear or dealloc
 * hook: dealloc_object's steps for the common case (see there).  The hooks
 * may make a weak reference to the dying object or start a tracer; then
 * free_object does the whole last step. */
static __attribute__((noinline)) void dealloc_hooks(ouro_heap *h, ouro_object *o, uint16_t of,
                                                     unsigned kind)
{
    if (OURO__UNLIKELY(h->dealloc_depth >= h->cfg.dealloc_depth)) {
        dealloc_slow(h, o); /* the trashcan defers it */
        return;
    }
    if ((kind & KIND_GC) && o->gc_next)
        of = unlink_plain(h, o, of);
    ouro_type *t = ouro__type(o);
    o->flags = of | OURO__F_DEALLOC;
    o->refcnt = 0; /* see dealloc_object */
    h->dealloc_depth++;
    if (t->clear)
        t->clear(h, o);
    if (t->dealloc)
        t->dealloc(h, o);
    if (OURO__UNLIKELY((o->flags & OURO__F_HASWEAK) || h->tracer != NULL))
        free_object(h, o, t);
    else
        free_plain(h, o, kind);
    h->dealloc_depth--;
    if (h->deferred && h->dealloc_depth == 0)
        drain_deferred(h);
}

/*
 * What ouro_decref calls when a count reaches zero.  The fast path is
 * dealloc_object for the common object, with every test that cannot pass
 * for it folded into one branch: a heap with no debug checks, fault
 * injection or tracer (obj_slow), a type with no finalizer and no free
 * list (type_kind), an object with no weak references that is not an
 * incremental cycle's cursor (CURSOR: its untracking moves the cursor on,
 * ouro__gc_untrack).  Then no code but the type's own clear and dealloc
 * hooks can run, so the steps are, for a type with hooks (dealloc_hooks):
 * check the trashcan's depth, unlink from its generation, mark it dying,
 * clear, dealloc and free (free_plain, or free_object when the hooks made
 * a weak reference to it or started a tracer).  An object with neither
 * hook (a leaf: an int, a string, a node with no children to release) is
 * unlinked and freed at once, without the trashcan's bookkeeping, since
 * nothing can nest inside its deallocation: about 35 instructions and no
 * call.
 */
void ouro__dealloc(ouro_object *o)
{
    ouro_heap *h = ouro__heap_of(o);
    unsigned kind = type_kind[o->type_id];
    uint16_t of = o->flags;
    if (OURO__UNLIKELY((kind & KIND_SLOW) |
                       (of & (OURO__F_HASWEAK | OURO__F_CURSOR)) |
                       h->obj_slow)) {
        dealloc_slow(h, o);
        return;
    }
    if (kind & KIND_HOOKS) {
        dealloc_hooks(h, o, of, kind);
        return;
    }
    if ((kind & KIND_GC) && o->gc_next)
        (void)unlink_plain(h, o, of); /* free_plain clears the flags */
    free_plain(h, o, kind);
}

/* ------------------------------------------------------------ accessors */

/* The accessors take NULL (a None field, a failed constructor's result)
 * and answer as for nothing: 0, NULL, "NoneType" (ouro_repr prints NULL as
 * None). */
uint32_t ouro_refcount(const ouro_object *o)
{
    if (!o)
        return 0;
    uint32_t rc = __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
    if ((rc & OURO__RC_SHARED) && rc < OURO_IMMORTAL_REFCNT && ouro__heap_of(o)->shared)
        return ouro__shared_refcount(o);
    return rc;
}

uintptr_t ouro_id(const ouro_object *o)
{
    return (uintptr_t)o;
}

size_t ouro_sizeof(const ouro_object *o)
{
    if (!o)
        return 0;
    ouro_type *t = ouro__type(o);
    if (t->size_of)
        return t->size_of(o);
    return t->basic_size;
}

const ouro_type *ouro_type_of(const ouro_object *o)
{
    return o ? ouro__type(o) : NULL;
}

const char *ouro_type_name(const ouro_object *o)
{
    return o ? safe_type_name(o) : "NoneType";
}

ouro_heap *ouro_heap_of(const ouro_object *o)
{
    return o ? ouro__heap_of(o) : NULL;
}

void ouro_make_immortal(ouro_object *o)
{
    if (!o)
        return;
    ouro_heap *h = ouro__heap_of(o);
    if (o->gc_next)
        ouro__gc_untrack(h, o);
    o->refcnt = OURO_IMMORTAL_REFCNT;
}

int ouro_is_immortal(const ouro_object *o)
{
    if (!o)
        return 0;
    uint32_t rc = __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
    /* a shared heap's mortal objects have the top bit set too */
    return rc >= OURO_IMMORTAL_REFCNT || ((int32_t)rc < 0 && !ouro__heap_of(o)->shared);
}
