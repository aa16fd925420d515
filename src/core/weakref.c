/*
 * weakref.c — weak references and their callbacks.
 *
 * DATA
 *   A weak reference is a GC-tracked object of ouro__weakref_type.  Each
 *   referent's weak references form a doubly-linked list (wr_prev/wr_next).
 *   The list head is not in the referent's header (that would cost every
 *   object 8 bytes); it lives in the heap's weak table, an open-addressing
 *   map from referent to head.
 *
 * INVARIANTS
 *   - wr->referent != NULL  iff  wr is on referent's list.
 *   - An object has OURO__F_HASWEAK iff it has a table entry iff its list is
 *     non-empty.
 *   - List order is CPython's: a callback-less basic reference first, then
 *     the others, newest first.  The order decides which callback runs
 *     first, which finalizers and callbacks can observe.
 */
#include "internal.h"

#include <stdlib.h>

typedef struct ouro__weakref {
    OURO_HEAD;
    ouro_object *referent; /* NULL once cleared */
    struct ouro__weakref *wr_prev, *wr_next;
    ouro_weakref_callback cb;
    void *arg;
    uint8_t basic;   /* weakref.ref(x) without callback: shared */
    uint8_t has_cb;  /* callback still to be honoured */
    uint8_t pending; /* callback due, in ouro__weak_clear_refs */
} ouro__weakref;

#define WR(o) ((ouro__weakref *)(o))
#define TOMBSTONE ((ouro_object *)(uintptr_t)1)

/* A shared heap's weak table and lists are changed under its weak_lock
 * (never held across user code), except by the thread holding the world
 * stopped (the collector). */
static inline bool wlock(ouro_heap *h)
{
    if (OURO__LIKELY(h->shared == NULL) || ouro__stw_mine(h))
        return false;
    pthread_mutex_lock(&h->shared->weak_lock);
    return true;
}
static inline void wunlock(ouro_heap *h, bool locked)
{
    if (locked)
        pthread_mutex_unlock(&h->shared->weak_lock);
}

/* Whether o's count is zero (it is being deallocated). */
static inline bool dead_count(const ouro_object *o)
{
    uint32_t rc = __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
    if (rc == 0)
        return true;
    if ((rc & OURO__RC_SHARED) && rc < OURO_IMMORTAL_REFCNT && ouro__heap_of(o)->shared)
        return ouro__shared_refcount(o) == 0;
    return false;
}

static void wr_clear_full(ouro_heap *h, ouro__weakref *wr);

static void weakref_clear_hook(ouro_heap *h, ouro_object *self)
{
    wr_clear_full(h, WR(self));
}

ouro_type ouro__weakref_type = {
    .name = "weakref",
    .basic_size = sizeof(ouro__weakref),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .clear = weakref_clear_hook,
};

/* ------------------------------------------------------------ weak table */

static size_t hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p >> 4;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 17);
}

static ouro__wentry *table_find(ouro_heap *h, ouro_object *o)
{
    if (!h->wcap)
        return NULL;
    size_t mask = h->wcap - 1;
    for (size_t i = hash_ptr(o) & mask;; i = (i + 1) & mask) {
        ouro__wentry *e = &h->wtab[i];
        if (e->obj == o)
            return e;
        if (e->obj == NULL)
            return NULL;
    }
}

static int table_grow(ouro_heap *h)
{
    size_t cap = h->wcap ? h->wcap * 2 : 64;
    if ((h->wcount + 1) * 4 < h->wcap)
        cap = h->wcap; /* mostly tombstones: rehash at the same size */
    ouro__wentry *t = calloc(cap, sizeof *t);
    if (!t)
        return OURO_ENOMEM;
    size_t mask = cap - 1;
    for (size_t i = 0; i < h->wcap; i++) {
        ouro__wentry *e = &h->wtab[i];
        if (e->obj && e->obj != TOMBSTONE) {
            size_t j = hash_ptr(e->obj) & mask;
            while (t[j].obj)
                j = (j + 1) & mask;
            t[j] = *e;
        }
    }
    free(h->wtab);
    h->wtab = t;
    h->wcap = cap;
    h->wtomb = 0;
    return 0;
}

ouro_object **ouro__weak_listptr(ouro_heap *h, ouro_object *o, bool create)
{
    if (o->flags & OURO__F_HASWEAK) {
        ouro__wentry *e = table_find(h, o);
        return e ? &e->head : NULL;
    }
    if (!create)
        return NULL;
    if ((h->wcount + h->wtomb + 1) * 2 > h->wcap && table_grow(h) < 0)
        return NULL;
    size_t mask = h->wcap - 1;
    size_t i = hash_ptr(o) & mask;
    while (h->wtab[i].obj && h->wtab[i].obj != TOMBSTONE)
        i = (i + 1) & mask;
    if (h->wtab[i].obj == TOMBSTONE)
        h->wtomb--;
    h->wtab[i].obj = o;
    h->wtab[i].head = NULL;
    h->wcount++;
    o->flags |= OURO__F_HASWEAK;
    return &h->wtab[i].head;
}

static void table_remove(ouro_heap *h, ouro_object *o)
{
    ouro__wentry *e = table_find(h, o);
    if (e) {
        e->obj = TOMBSTONE;
        e->head = NULL;
        h->wcount--;
        h->wtomb++;
    }
    o->flags &= (uint16_t)~OURO__F_HASWEAK;
}

size_t ouro__weak_table_count(ouro_heap *h)
{
    return h->wcount;
}

ouro_object *ouro__weak_head(ouro_heap *h, ouro_object *o)
{
    if (!(o->flags & OURO__F_HASWEAK))
        return NULL;
    ouro__wentry *e = table_find(h, o);
    return e ? e->head : NULL;
}

void ouro__weak_fini(ouro_heap *h)
{
    free(h->wtab);
    h->wtab = NULL;
    h->wcap = h->wcount = h->wtomb = 0;
}

/* ------------------------------------------------------------ list surgery */

/* Unlink wr from its referent's list and forget the referent; keeps the
 * callback (CPython's _PyWeakref_ClearRef). */
static void wr_unlink(ouro_heap *h, ouro__weakref *wr)
{
    ouro_object *ref = wr->referent;
    if (!ref)
        return;
    /* On its referent's list, so the referent has a table entry. */
    OURO__ASSERT(ref->flags & OURO__F_HASWEAK);
    if (wr->wr_prev)
        wr->wr_prev->wr_next = wr->wr_next;
    else {
        ouro_object **head = ouro__weak_listptr(h, ref, false);
        if (head)
            *head = (ouro_object *)wr->wr_next;
    }
    if (wr->wr_next)
        wr->wr_next->wr_prev = wr->wr_prev;
    wr->wr_prev = wr->wr_next = NULL;
    wr->referent = NULL;
    if (!ouro__weak_head(h, ref))
        table_remove(h, ref);
}

/* As wr_unlink, and drop the callback (CPython's clear_weakref). */
static void wr_clear_full(ouro_heap *h, ouro__weakref *wr)
{
    bool locked = wlock(h);
    wr_unlink(h, wr);
    wr->has_cb = 0;
    wunlock(h, locked);
}

void ouro__weakref_clear_ref(ouro_heap *h, ouro_object *wr)
{
    wr_unlink(h, WR(wr));
}

bool ouro__weakref_has_callback(ouro_object *wr)
{
    return WR(wr)->has_cb != 0;
}

void ouro__weakref_call(ouro_heap *h, ouro_object *o)
{
    ouro__weakref *wr = WR(o);
    OURO__ASSERT(wr->referent == NULL); /* a callback sees a dead reference */
    if (wr->has_cb && wr->cb)
        wr->cb(h, o, wr->arg);
}

void ouro__weak_clear_silently(ouro_heap *h, ouro_object *o)
{
    bool locked = wlock(h);
    ouro_object *w;
    while ((w = ouro__weak_head(h, o)) != NULL) {
        wr_unlink(h, WR(w));
        WR(w)->has_cb = 0;
    }
    wunlock(h, locked);
}

/*
 * The referent `o` is dying by reference counting: clear every weak
 * reference to it, then run the callbacks (CPython's
 * PyObject_ClearWeakRefs).  Up to two callback-less references at the head
 * are cleared first; the rest are detached into a private chain (their list
 * links are free once they are cleared), held alive, their callbacks called
 * in list order, and released in reverse order, as CPython's tuple of
 * (ref, callback) pairs is.  No memory is allocated.
 *
 * A weak reference whose own count is already zero is being deallocated
 * further up the stack (a callback or finalizer run from its deallocation
 * killed `o`).  It is cleared and its callback dropped, never called: a
 * callback would hand user code an object that is half destroyed, and
 * holding it alive would deallocate it a second time when released.
 * CPython skips such references the same way (Py_REFCNT(current) > 0).
 * It is left out of the chain, so nothing here touches it again.
 */
void ouro__weak_clear_refs(ouro_heap *h, ouro_object *o)
{
    bool locked = wlock(h);
    ouro_object *w = ouro__weak_head(h, o);
    if (w && !WR(w)->has_cb) {
        wr_unlink(h, WR(w));
        WR(w)->has_cb = 0;
        w = ouro__weak_head(h, o);
        if (w && !WR(w)->has_cb) {
            wr_unlink(h, WR(w));
            WR(w)->has_cb = 0;
        }
    }
    ouro__weakref *p = (ouro__weakref *)ouro__weak_head(h, o);
    if (!p) {
        wunlock(h, locked);
        return;
    }
    table_remove(h, o);
    OURO__ASSERT(!(o->flags & OURO__F_HASWEAK));
    /* Detach the whole list as a chain of the live references. */
    ouro__weakref *first = NULL, *last = NULL;
    while (p) {
        ouro__weakref *next = p->wr_next;
        p->referent = NULL;
        p->wr_prev = p->wr_next = NULL;
        if (dead_count(OURO_OBJ(p))) {
            p->has_cb = 0;
        } else {
            p->pending = p->has_cb;
            p->has_cb = 0;
            ouro_incref(OURO_OBJ(p));
            p->wr_prev = last;
            if (last)
                last->wr_next = p;
            else
                first = p;
            last = p;
        }
        p = next;
    }
    wunlock(h, locked); /* the callbacks are user code */
    for (p = first; p; p = p->wr_next) {
        if (p->pending) {
            p->pending = 0;
            if (p->cb)
                p->cb(h, OURO_OBJ(p), p->arg);
        }
    }
    for (p = last; p;) {
        ouro__weakref *prev = p->wr_prev;
        p->wr_prev = p->wr_next = NULL;
        ouro_decref(OURO_OBJ(p));
        p = prev;
    }
}

/* ------------------------------------------------------------ public API */

int ouro_is_weakref(const ouro_object *o)
{
    /* Atomic: another thread may be registering the type (its first weak
     * reference in the process); see ouro__type_id in src/types/types.h. */
    uint32_t id = __atomic_load_n(&ouro__weakref_type.id, __ATOMIC_RELAXED);
    return o && id != 0 && o->type_id == id;
}

static bool weakrefable(const ouro_object *o)
{
    return (ouro__type(o)->flags & OURO_TYPE_WEAKREFABLE) && !ouro_is_immortal(o);
}

static ouro_object *make_ref(ouro_heap *h, ouro_object *target, ouro_weakref_callback cb,
                             void *arg, bool basic)
{
    if (!h || !target) {
        if (h)
            ouro__set_error(h, OURO_EINVAL);
        return NULL;
    }
    if (ouro__check_same_heap(h, target, "ouro_weakref_new") < 0) {
        ouro__set_error(h, OURO_EINVAL);
        return NULL;
    }
    if (!weakrefable(target)) {
        ouro__set_error(h, OURO_ETYPE);
        return NULL;
    }
    if (h->shared)
        ouro__shared_mark_weak(target);
    if (basic) {
        bool locked = wlock(h);
        ouro_object *head = ouro__weak_head(h, target);
        if (head && WR(head)->basic && ouro__try_incref(head)) {
            wunlock(h, locked);
            return head;
        }
        wunlock(h, locked);
    }
    ouro_object *o = ouro_new(h, &ouro__weakref_type);
    if (!o)
        return NULL;
    /* The allocation may have run a collection: look the list up again. */
    bool locked = wlock(h);
    ouro_object **list = ouro__weak_listptr(h, target, true);
    if (!list) {
        wunlock(h, locked);
        ouro__set_error(h, OURO_ENOMEM);
        ouro_decref(o);
        return NULL;
    }
    ouro__weakref *wr = WR(o);
    wr->referent = target;
    wr->cb = cb;
    wr->arg = arg;
    wr->has_cb = cb != NULL;
    wr->basic = basic;
    ouro__weakref *head = (ouro__weakref *)*list;
    ouro__weakref *prev = NULL;
    if (!basic && head && head->basic && !head->has_cb)
        prev = head;
    if (!prev) {
        wr->wr_prev = NULL;
        wr->wr_next = head;
        if (head)
            head->wr_prev = wr;
        *list = o;
    } else {
        wr->wr_prev = prev;
        wr->wr_next = prev->wr_next;
        if (prev->wr_next)
            prev->wr_next->wr_prev = wr;
        prev->wr_next = wr;
    }
    wunlock(h, locked);
    return o;
}

ouro_object *ouro_weakref_new(ouro_heap *h, ouro_object *target, ouro_weakref_callback cb,
                              void *arg)
{
    return make_ref(h, target, cb, arg, false);
}

ouro_object *ouro_weakref_basic(ouro_heap *h, ouro_object *target)
{
    return make_ref(h, target, NULL, NULL, true);
}

ouro_object *ouro_weakref_peek(ouro_object *o)
{
    if (!ouro_is_weakref(o))
        return NULL;
    ouro_heap *h = ouro__heap_of(o);
    bool locked = wlock(h);
    ouro_object *r = WR(o)->referent;
    /* An object whose count reached zero is gone, even if its weak
     * references are not cleared yet (deferred deallocation). */
    if (r && dead_count(r))
        r = NULL;
    wunlock(h, locked);
    return r;
}

ouro_object *ouro_weakref_get(ouro_object *o)
{
    if (!ouro_is_weakref(o))
        return NULL;
    ouro_heap *h = ouro__heap_of(o);
    if (OURO__LIKELY(h->shared == NULL)) {
        ouro_object *r = ouro_weakref_peek(o);
        if (r)
            ouro_incref(r);
        return r;
    }
    /* A shared heap: the referent cannot be freed while the lock is held
     * (its deallocation clears its weak references under it first), and
     * the count is taken only if it is not zero already: never an object
     * dying in another thread. */
    bool locked = wlock(h);
    ouro_object *r = WR(o)->referent;
    if (r && !ouro__try_incref(r))
        r = NULL;
    wunlock(h, locked);
    return r;
}

void *ouro_weakref_arg(const ouro_object *o)
{
    return ouro_is_weakref(o) ? WR(o)->arg : NULL;
}

size_t ouro_weakref_count(ouro_object *o)
{
    if (!o)
        return 0;
    ouro_heap *h = ouro__heap_of(o);
    bool locked = wlock(h);
    size_t n = 0;
    for (ouro_object *w = ouro__weak_head(h, o); w; w = (ouro_object *)WR(w)->wr_next)
        n++;
    wunlock(h, locked);
    return n;
}

ouro_object *ouro__weak_next(ouro_object *wr)
{
    return (ouro_object *)WR(wr)->wr_next;
}

size_t ouro_weakref_list(ouro_object *o, ouro_object **out, size_t max)
{
    ouro_heap *h = ouro__heap_of(o);
    size_t n = 0;
    for (ouro_object *w = ouro__weak_head(h, o); w; w = (ouro_object *)WR(w)->wr_next) {
        if (n < max)
            out[n] = w;
        n++;
    }
    return n;
}
