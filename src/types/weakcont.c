/*
 * weakcont.c — weakref.finalize and the weak containers (WeakValueDictionary,
 * WeakKeyDictionary, WeakSet), built on weak references with callbacks.
 *
 * FINALIZE
 *   A finalizer object holds a weak reference to its target whose callback
 *   runs it.  While alive it sits on the heap's finalizer list (creation
 *   order), which holds a strong reference to it, as Python's
 *   finalize._registry does: the caller may drop its reference at once.
 *   Invariant: alive  iff  on the list  iff  wr != NULL.
 *
 * WEAK TABLES
 *   One open-addressing table serves the three containers.  Every entry
 *   owns a weak reference to its weakly held object (the value of a
 *   WeakValueDictionary, the key of a WeakKeyDictionary or WeakSet); the
 *   weak reference's callback removes the entry.  Its callback argument is
 *   a small "link" record {table, hash}, so the callback finds its entry in
 *   O(1) without knowing the (already dead) key.
 *   Keys are found by hash and equality (ouro_hash, ouro_equal), as
 *   Python's weak containers find them: a WeakValueDictionary holds its
 *   keys strongly and any hashable object is one; a WeakKeyDictionary or
 *   WeakSet compares a probe with each candidate's referent while it is
 *   alive.  The byte-string calls of the WeakValueDictionary store a bytes
 *   object and look up raw bytes without making one (the hash of raw bytes
 *   is the hash of the bytes object holding them).
 *   Invariants: `live` counts entries whose object has not been reported
 *   dead; an entry is DEAD only while an items() walk runs (removal is
 *   deferred until the walk ends, like Python's _IterationGuard); a
 *   weakly held object is found only while its weak reference still points
 *   at it, so an address reused after death never matches a stale entry.
 */
#include "types.h"

#include <stdlib.h>

/* ------------------------------------------------------------ finalize */

typedef struct fin_obj {
    OURO_HEAD;
    ouro_object *wr;
    ouro_finalize_fn fn;
    void *ctx;
    ouro_object *arg;
    struct fin_obj *prev, *next;
    uint64_t index;
    int atexit;
} fin_obj;

static int fin_traverse(ouro_object *self, ouro_visit_fn visit, void *a)
{
    fin_obj *f = (fin_obj *)self;
    if (f->wr && visit(f->wr, a))
        return 1;
    if (f->arg && visit(f->arg, a))
        return 1;
    return 0;
}

static void fin_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    fin_obj *f = (fin_obj *)self;
    ouro_clear(&f->wr);
    ouro_clear(&f->arg);
}

static ouro_type fin_type = {
    .name = "finalize",
    .basic_size = sizeof(fin_obj),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = fin_traverse,
    .clear = fin_clear,
};

static bool is_fin(const ouro_object *o)
{
    uint32_t id = ouro__type_id(&fin_type);
    return id && o->type_id == id;
}

/* Take f off the registry; returns the registry's reference, now owned by
 * the caller. */
static void fin_unregister(ouro_heap *h, fin_obj *f)
{
    ouro__types_state *ts = ouro__ts_peek(h);
    bool taken = ouro__types_lock(h); /* the registry is the heap's */
    if (f->prev)
        f->prev->next = f->next;
    else
        ts->fin_head = f->next;
    if (f->next)
        f->next->prev = f->prev;
    else
        ts->fin_tail = f->prev;
    f->prev = f->next = NULL;
    ouro__types_unlock(h, taken);
}

/* Detach and, when `run`, call.  Returns 1 if f was alive. */
static int fin_finish(ouro_heap *h, fin_obj *f, bool run, ouro_object **target)
{
    if (!f->wr)
        return 0;
    if (target)
        *target = ouro_weakref_get(f->wr);
    fin_unregister(h, f);
    ouro_clear(&f->wr);
    ouro_object *arg = f->arg;
    f->arg = NULL;
    if (run && f->fn)
        f->fn(h, f->ctx, arg);
    ouro_xdecref(arg);
    ouro_decref(OURO_OBJ(f)); /* the registry's reference */
    return 1;
}

static void fin_callback(ouro_heap *h, ouro_object *wr, void *a)
{
    (void)wr;
    fin_obj *f = a;
    ouro_incref(OURO_OBJ(f));
    fin_finish(h, f, true, NULL);
    ouro_decref(OURO_OBJ(f));
}

ouro_object *ouro_finalize_new(ouro_heap *h, ouro_object *target, ouro_finalize_fn fn, void *ctx,
                               ouro_object *arg)
{
    if (!h || !target || ouro__check_same_heap(h, target, "ouro_finalize_new") < 0 ||
        ouro__check_same_heap(h, arg, "ouro_finalize_new") < 0) {
        if (h)
            ouro__set_error(h, OURO_EINVAL);
        return NULL;
    }
    /* The registry lives in the types' state, made here if need be. */
    ouro__types_state *ts = ouro__ts(h);
    if (!ts)
        return NULL;
    fin_obj *f = (fin_obj *)ouro_new(h, &fin_type);
    if (!f)
        return NULL;
    f->wr = ouro_weakref_new(h, target, fin_callback, f);
    if (!f->wr) {
        ouro_decref(OURO_OBJ(f));
        return NULL;
    }
    f->fn = fn;
    f->ctx = ctx;
    f->arg = arg;
    ouro_xincref(arg);
    f->atexit = 1;
    bool taken = ouro__types_lock(h);
    f->index = ++ts->fin_index;
    f->prev = ts->fin_tail;
    if (ts->fin_tail)
        ts->fin_tail->next = f;
    else
        ts->fin_head = f;
    ts->fin_tail = f;
    ouro__types_unlock(h, taken);
    ouro_incref(OURO_OBJ(f)); /* the registry's reference */
    return OURO_OBJ(f);
}

int ouro_finalize_call(ouro_object *o)
{
    if (!o || !is_fin(o))
        return OURO_EINVAL;
    ouro_incref(o);
    int r = fin_finish(ouro__heap_of(o), (fin_obj *)o, true, NULL);
    ouro_decref(o);
    return r;
}

int ouro_finalize_detach(ouro_object *o, ouro_object **target)
{
    if (!o || !is_fin(o))
        return OURO_EINVAL;
    if (target)
        *target = NULL;
    ouro_incref(o);
    int r = fin_finish(ouro__heap_of(o), (fin_obj *)o, false, target);
    ouro_decref(o);
    return r;
}

int ouro_finalize_peek(ouro_object *o, ouro_object **target)
{
    if (!o || !is_fin(o))
        return OURO_EINVAL;
    fin_obj *f = (fin_obj *)o;
    if (target)
        *target = f->wr ? ouro_weakref_peek(f->wr) : NULL;
    return f->wr != NULL;
}

int ouro_finalize_alive(ouro_object *o)
{
    return o && is_fin(o) && ((fin_obj *)o)->wr != NULL;
}

int ouro_finalize_get_atexit(ouro_object *o)
{
    return o && is_fin(o) && ((fin_obj *)o)->atexit;
}

void ouro_finalize_set_atexit(ouro_object *o, int atexit)
{
    if (o && is_fin(o))
        ((fin_obj *)o)->atexit = atexit != 0;
}

/* At heap free: run the atexit finalizers, newest first, then drop the
 * others without running them. */
void ouro__finalize_at_exit(ouro_heap *h)
{
    ouro__types_state *ts = ouro__ts_peek(h);
    for (;;) {
        fin_obj *f = ts->fin_tail;
        while (f && !f->atexit)
            f = f->prev;
        if (!f)
            break;
        ouro_incref(OURO_OBJ(f));
        fin_finish(h, f, true, NULL);
        ouro_decref(OURO_OBJ(f));
    }
    while (ts->fin_head)
        fin_finish(h, ts->fin_head, false, NULL);
}

/* ------------------------------------------------------------ weak tables */

enum { WT_VALUE = 1, WT_KEY = 2, WT_SET = 3 };
enum { E_EMPTY = 0, E_LIVE, E_DEAD, E_TOMB };

typedef struct wt_entry {
    uint64_t hash;
    ouro_object *key;     /* WT_VALUE: the key, strong */
    ouro_object *wr;      /* weak reference to the weakly held object */
    ouro_object *value;   /* WT_KEY: strong value */
    struct wt_link *link; /* the callback's argument */
    int state;
} wt_entry;

typedef struct wt_link {
    struct wtable *t;
    uint64_t hash;
} wt_link;

typedef struct wtable {
    OURO_HEAD;
    int kind;
    int iterating;
    wt_entry *e;
    size_t cap, used, live, pending; /* used: LIVE + DEAD + TOMB slots */
} wtable;

/* What a lookup looks for: an object, or (obj NULL) raw bytes that match
 * a bytes key. */
typedef struct wt_probe {
    uint64_t hash;
    ouro_object *obj;
    const void *bytes;
    size_t len;
} wt_probe;

static int wt_traverse(ouro_object *self, ouro_visit_fn visit, void *a)
{
    wtable *t = (wtable *)self;
    for (size_t i = 0; i < t->cap; i++) {
        wt_entry *e = &t->e[i];
        if (e->state != E_LIVE && e->state != E_DEAD)
            continue;
        if (e->key && visit(e->key, a))
            return 1;
        if (e->wr && visit(e->wr, a))
            return 1;
        if (e->value && visit(e->value, a))
            return 1;
    }
    return 0;
}

static void entry_release(ouro_heap *h, wt_entry *e)
{
    /* Detach everything first: releasing may run code that looks at the
     * table. */
    ouro_object *wr = e->wr, *value = e->value, *key = e->key;
    wt_link *link = e->link;
    e->wr = e->value = e->key = NULL;
    e->link = NULL;
    e->state = E_TOMB;
    if (link)
        link->t = NULL; /* a callback still in flight finds nothing */
    ouro_xdecref(wr);
    ouro_xdecref(value);
    ouro_xdecref(key);
    ouro_raw_free(h, link);
}

static void wt_clear(ouro_heap *h, ouro_object *self)
{
    wtable *t = (wtable *)self;
    wt_entry *e = t->e;
    size_t cap = t->cap;
    t->e = NULL;
    t->cap = t->used = t->live = t->pending = 0;
    for (size_t i = 0; i < cap; i++)
        if (e[i].state == E_LIVE || e[i].state == E_DEAD)
            entry_release(h, &e[i]);
    ouro_raw_free(h, e);
}

static size_t wt_sizeof(const ouro_object *self)
{
    const wtable *t = (const wtable *)self;
    return sizeof(wtable) + t->cap * sizeof(wt_entry);
}

static ouro_type wvdict_type = {.name = "WeakValueDictionary", .basic_size = sizeof(wtable),
                                .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                                .traverse = wt_traverse, .clear = wt_clear, .size_of = wt_sizeof};
static ouro_type wkdict_type = {.name = "WeakKeyDictionary", .basic_size = sizeof(wtable),
                                .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                                .traverse = wt_traverse, .clear = wt_clear, .size_of = wt_sizeof};
static ouro_type wset_type = {.name = "WeakSet", .basic_size = sizeof(wtable),
                              .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                              .traverse = wt_traverse, .clear = wt_clear, .size_of = wt_sizeof};

static wtable *as_table(ouro_object *o, int kind)
{
    if (!o)
        return NULL;
    ouro_type *want = kind == WT_VALUE ? &wvdict_type : kind == WT_KEY ? &wkdict_type : &wset_type;
    uint32_t id = ouro__type_id(want);
    if (!id || o->type_id != id)
        return NULL;
    return (wtable *)o;
}

/* A probe for an object key: 0, or OURO_ETYPE for an unhashable one. */
static int probe_obj(wt_probe *p, ouro_object *key)
{
    int64_t hash;
    int rc = ouro_hash(key, &hash);
    if (rc < 0)
        return rc;
    p->hash = (uint64_t)hash;
    p->obj = key;
    p->bytes = NULL;
    p->len = 0;
    return 0;
}

static void probe_bytes(wt_probe *p, const void *key, size_t klen)
{
    p->hash = (uint64_t)ouro__hash_bytes(key, klen);
    p->obj = NULL;
    p->bytes = key;
    p->len = klen;
}

/* Whether a live entry's key is what p looks for.  Equality is Python's
 * (1 == 1.0 == True); an error from ouro_equal (nesting too deep) counts
 * as no match.  A weak key is compared only while it is alive, so an
 * address reused after its death never matches. */
static bool entry_matches(const wtable *t, const wt_entry *e, const wt_probe *p)
{
    ouro_object *k = t->kind == WT_VALUE ? e->key : ouro_weakref_peek(e->wr);
    if (!k)
        return false;
    if (!p->obj) {
        if (!IS_BYTES(k))
            return false;
        const o_bytes *b = (const o_bytes *)k;
        return b->len == p->len && memcmp(b->data, p->bytes, p->len) == 0;
    }
    return k == p->obj || ouro_equal(k, p->obj) == 1;
}

/* The live entry for a key, or NULL. */
static wt_entry *wt_find(wtable *t, const wt_probe *p)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = p->hash & mask;; i = (i + 1) & mask) {
        wt_entry *e = &t->e[i];
        if (e->state == E_EMPTY)
            return NULL;
        if (e->state == E_LIVE && e->hash == p->hash && entry_matches(t, e, p))
            return e;
    }
}

static int wt_grow(ouro_heap *h, wtable *t)
{
    size_t cap = t->cap ? t->cap * 2 : 8;
    if (t->live * 4 < t->cap)
        cap = t->cap; /* mostly tombstones: rebuild at the same size */
    wt_entry *ne = ouro_raw_alloc(h, cap * sizeof *ne);
    if (!ne)
        return OURO_ENOMEM;
    memset(ne, 0, cap * sizeof *ne);
    for (size_t i = 0; i < t->cap; i++) {
        wt_entry *e = &t->e[i];
        if (e->state != E_LIVE && e->state != E_DEAD)
            continue;
        size_t j = e->hash & (cap - 1);
        while (ne[j].state != E_EMPTY)
            j = (j + 1) & (cap - 1);
        ne[j] = *e;
    }
    ouro_raw_free(h, t->e);
    t->e = ne;
    t->cap = cap;
    t->used = t->live + t->pending;
    return 0;
}

static void wt_callback(ouro_heap *h, ouro_object *wr, void *a)
{
    wt_link *link = a;
    wtable *t = link->t;
    if (!t)
        return;
    size_t mask = t->cap - 1;
    for (size_t i = link->hash & mask;; i = (i + 1) & mask) {
        wt_entry *e = &t->e[i];
        if (e->state == E_EMPTY)
            return;
        if (e->wr != wr || e->state != E_LIVE)
            continue;
        t->live--;
        if (t->iterating) {
            e->state = E_DEAD;
            t->pending++;
        } else {
            entry_release(h, e);
        }
        return;
    }
}

static void wt_purge(ouro_heap *h, wtable *t)
{
    for (size_t i = 0; i < t->cap && t->pending; i++) {
        if (t->e[i].state == E_DEAD) {
            t->pending--;
            entry_release(h, &t->e[i]);
        }
    }
}

/* Insert or replace.  `obj` is weakly held; `key` (WT_VALUE) and `value`
 * (WT_KEY) strongly.  An existing equal key stays, as in Python: d[k2] = v
 * with k2 == k1 keeps k1. */
static int wt_set(wtable *t, ouro_object *key, ouro_object *obj, ouro_object *value)
{
    ouro_heap *h = ouro__heap_of(OURO_OBJ(t));
    wt_probe p;
    int rc = probe_obj(&p, t->kind == WT_VALUE ? key : obj);
    if (rc < 0)
        return rc;
    wt_entry *e = wt_find(t, &p);
    if (e && t->kind != WT_VALUE) {
        if (t->kind == WT_KEY)
            ouro_setref(&e->value, value);
        return 0;
    }
    /* Make everything that can fail before touching the table. */
    wt_link *link = ouro_raw_alloc(h, sizeof *link);
    if (!link)
        return OURO_ENOMEM;
    link->t = t;
    link->hash = p.hash;
    ouro_object *wr = ouro_weakref_new(h, obj, wt_callback, link);
    if (!wr) {
        int err = ouro_heap_last_error(h);
        ouro_raw_free(h, link);
        return err ? err : OURO_ENOMEM;
    }
    if (e) {
        /* WeakValueDictionary: a new value for an existing key */
        ouro_object *oldwr = e->wr;
        wt_link *oldlink = e->link;
        e->wr = wr;
        e->link = link;
        oldlink->t = NULL;
        ouro_decref(oldwr);
        ouro_raw_free(h, oldlink);
        return 0;
    }
    if ((t->used + 1) * 3 > t->cap * 2 && wt_grow(h, t) < 0) {
        link->t = NULL;
        ouro_decref(wr);
        ouro_raw_free(h, link);
        return OURO_ENOMEM;
    }
    size_t mask = t->cap - 1, i = p.hash & mask;
    while (t->e[i].state == E_LIVE || t->e[i].state == E_DEAD)
        i = (i + 1) & mask;
    if (t->e[i].state == E_EMPTY)
        t->used++;
    e = &t->e[i];
    e->hash = p.hash;
    e->key = t->kind == WT_VALUE ? key : NULL;
    ouro_xincref(e->key);
    e->wr = wr;
    e->value = value;
    ouro_xincref(value);
    e->link = link;
    e->state = E_LIVE;
    t->live++;
    return 0;
}

static int wt_del(wtable *t, const wt_probe *p)
{
    wt_entry *e = wt_find(t, p);
    if (!e)
        return 0;
    t->live--;
    if (t->iterating) {
        /* keep the slot until the walk ends (purged then) */
        e->state = E_DEAD;
        t->pending++;
        return 1;
    }
    entry_release(ouro__heap_of(OURO_OBJ(t)), e);
    return 1;
}

static ouro_object *wt_new(ouro_heap *h, ouro_type *type, int kind)
{
    wtable *t = (wtable *)ouro_new(h, type);
    if (t)
        t->kind = kind;
    return OURO_OBJ(t);
}

/* Walk live entries; removals during the walk are deferred.  With vfn
 * (the byte-string view of a WeakValueDictionary) only bytes keys are
 * reported. */
static int wt_items(wtable *t, ouro_wv_item_fn vfn, ouro_wk_item_fn kfn, void *arg)
{
    ouro_heap *h = ouro__heap_of(OURO_OBJ(t));
    ouro_incref(OURO_OBJ(t));
    t->iterating++;
    int r = 0;
    for (size_t i = 0; i < t->cap && !r; i++) {
        wt_entry *e = &t->e[i];
        if (e->state != E_LIVE || (vfn && !IS_BYTES(e->key)))
            continue;
        ouro_object *obj = ouro_weakref_get(e->wr);
        if (!obj)
            continue; /* cleared, callback not delivered yet */
        /* The walk holds the key too: the callback may delete the entry. */
        ouro_object *key = e->key;
        ouro_xincref(key);
        if (vfn)
            r = vfn(((o_bytes *)key)->data, ((o_bytes *)key)->len, obj, arg);
        else if (t->kind == WT_VALUE)
            r = kfn(key, obj, arg);
        else
            r = kfn(obj, t->kind == WT_KEY ? e->value : NULL, arg);
        ouro_xdecref(key);
        ouro_decref(obj);
    }
    if (--t->iterating == 0)
        wt_purge(h, t);
    ouro_decref(OURO_OBJ(t));
    return r;
}

ouro_object *ouro_wvdict_new(ouro_heap *h) { return wt_new(h, &wvdict_type, WT_VALUE); }
ouro_object *ouro_wkdict_new(ouro_heap *h) { return wt_new(h, &wkdict_type, WT_KEY); }
ouro_object *ouro_wset_new(ouro_heap *h) { return wt_new(h, &wset_type, WT_SET); }

int ouro_wvdict_setitem(ouro_object *d, ouro_object *key, ouro_object *value)
{
    wtable *t = as_table(d, WT_VALUE);
    if (!t || !key || !value)
        return OURO_EINVAL;
    return wt_set(t, key, value, NULL);
}

ouro_object *ouro_wvdict_getitem(ouro_object *d, ouro_object *key)
{
    wtable *t = as_table(d, WT_VALUE);
    wt_probe p;
    if (!t || !key || probe_obj(&p, key) < 0)
        return NULL;
    wt_entry *e = wt_find(t, &p);
    return e ? ouro_weakref_get(e->wr) : NULL;
}

int ouro_wvdict_delitem(ouro_object *d, ouro_object *key)
{
    wtable *t = as_table(d, WT_VALUE);
    wt_probe p;
    if (!t || !key)
        return OURO_EINVAL;
    int rc = probe_obj(&p, key);
    return rc < 0 ? rc : wt_del(t, &p);
}

int ouro_wvdict_contains(ouro_object *d, ouro_object *key)
{
    wtable *t = as_table(d, WT_VALUE);
    wt_probe p;
    if (!t || !key)
        return OURO_EINVAL;
    int rc = probe_obj(&p, key);
    if (rc < 0)
        return rc;
    wt_entry *e = wt_find(t, &p);
    return e && ouro_weakref_peek(e->wr) != NULL;
}

int ouro_wvdict_items_obj(ouro_object *d, ouro_wk_item_fn fn, void *arg)
{
    wtable *t = as_table(d, WT_VALUE);
    return t && fn ? wt_items(t, NULL, fn, arg) : OURO_EINVAL;
}

int ouro_wvdict_set(ouro_object *d, const void *key, size_t klen, ouro_object *value)
{
    wtable *t = as_table(d, WT_VALUE);
    if (!t || !value || (!key && klen) ||
        ouro__check_same_heap(ouro__heap_of(d), value, "ouro_wvdict_set") < 0)
        return OURO_EINVAL;
    ouro_object *k = ouro_bytes_new(ouro__heap_of(d), key, klen);
    if (!k)
        return OURO_ENOMEM;
    int rc = wt_set(t, k, value, NULL);
    ouro_decref(k);
    return rc;
}

ouro_object *ouro_wvdict_get(ouro_object *d, const void *key, size_t klen)
{
    wtable *t = as_table(d, WT_VALUE);
    if (!t || (!key && klen))
        return NULL;
    wt_probe p;
    probe_bytes(&p, key, klen);
    wt_entry *e = wt_find(t, &p);
    return e ? ouro_weakref_get(e->wr) : NULL;
}

int ouro_wvdict_del(ouro_object *d, const void *key, size_t klen)
{
    wtable *t = as_table(d, WT_VALUE);
    if (!t || (!key && klen))
        return OURO_EINVAL;
    wt_probe p;
    probe_bytes(&p, key, klen);
    return wt_del(t, &p);
}

size_t ouro_wvdict_len(ouro_object *d)
{
    wtable *t = as_table(d, WT_VALUE);
    return t ? t->live : 0;
}

int ouro_wvdict_items(ouro_object *d, ouro_wv_item_fn fn, void *arg)
{
    wtable *t = as_table(d, WT_VALUE);
    return t && fn ? wt_items(t, fn, NULL, arg) : OURO_EINVAL;
}

int ouro_wkdict_set(ouro_object *d, ouro_object *key, ouro_object *value)
{
    wtable *t = as_table(d, WT_KEY);
    if (!t || !key || ouro__check_same_heap(ouro__heap_of(d), key, "ouro_wkdict_set") < 0 ||
        ouro__check_same_heap(ouro__heap_of(d), value, "ouro_wkdict_set") < 0)
        return OURO_EINVAL;
    return wt_set(t, NULL, key, value);
}

ouro_object *ouro_wkdict_get(ouro_object *d, ouro_object *key)
{
    wtable *t = as_table(d, WT_KEY);
    wt_probe p;
    if (!t || !key || probe_obj(&p, key) < 0)
        return NULL;
    wt_entry *e = wt_find(t, &p);
    if (!e || !e->value)
        return NULL;
    ouro_incref(e->value);
    return e->value;
}

int ouro_wkdict_del(ouro_object *d, ouro_object *key)
{
    wtable *t = as_table(d, WT_KEY);
    wt_probe p;
    if (!t || !key)
        return OURO_EINVAL;
    int rc = probe_obj(&p, key);
    return rc < 0 ? rc : wt_del(t, &p);
}

size_t ouro_wkdict_len(ouro_object *d)
{
    wtable *t = as_table(d, WT_KEY);
    return t ? t->live : 0;
}

int ouro_wkdict_items(ouro_object *d, ouro_wk_item_fn fn, void *arg)
{
    wtable *t = as_table(d, WT_KEY);
    return t && fn ? wt_items(t, NULL, fn, arg) : OURO_EINVAL;
}

int ouro_wset_add(ouro_object *s, ouro_object *item)
{
    wtable *t = as_table(s, WT_SET);
    if (!t || !item || ouro__check_same_heap(ouro__heap_of(s), item, "ouro_wset_add") < 0)
        return OURO_EINVAL;
    return wt_set(t, NULL, item, NULL);
}

int ouro_wset_contains(ouro_object *s, ouro_object *item)
{
    wtable *t = as_table(s, WT_SET);
    wt_probe p;
    if (!t || !item)
        return OURO_EINVAL;
    int rc = probe_obj(&p, item);
    return rc < 0 ? rc : wt_find(t, &p) != NULL;
}

int ouro_wset_discard(ouro_object *s, ouro_object *item)
{
    wtable *t = as_table(s, WT_SET);
    wt_probe p;
    if (!t || !item)
        return OURO_EINVAL;
    int rc = probe_obj(&p, item);
    return rc < 0 ? rc : wt_del(t, &p);
}

size_t ouro_wset_len(ouro_object *s)
{
    wtable *t = as_table(s, WT_SET);
    return t ? t->live : 0;
}

int ouro_wset_items(ouro_object *s, ouro_wk_item_fn fn, void *arg)
{
    wtable *t = as_table(s, WT_SET);
    return t && fn ? wt_items(t, NULL, fn, arg) : OURO_EINVAL;
}

/* ------------------------------------------------------------ getweakrefs */

ouro_object *ouro_weakref_getweakrefs(ouro_object *o)
{
    if (!o)
        return NULL;
    ouro_heap *h = ouro__heap_of(o);
    ouro_object *none = ouro__none(h);
    ouro_object *l = none ? ouro_list_new(h) : NULL;
    if (!l)
        return NULL;
    /* Room first, filled with None: growing the list allocates raw memory
     * only, which runs no code, so the weak references counted here are
     * still the same ones when they are copied over the Nones (immortal:
     * overwriting them needs no release). */
    size_t n = ouro_weakref_list(o, NULL, 0);
    for (size_t i = 0; i < n; i++) {
        int rc = ouro_list_append(l, none);
        if (rc < 0) {
            ouro_decref(l);
            return ouro__fail(h, rc);
        }
    }
    o_list *lst = (o_list *)l;
    ouro_weakref_list(o, lst->items, n);
    for (size_t i = 0; i < n; i++)
        ouro_incref(lst->items[i]);
    return l;
}
