/*
 * dict.c — insertion-ordered hash tables, compact as CPython's.
 *
 * LAYOUT.  The dict object is 32 bytes; its table (ouro__dkeys) is one raw
 * block holding a sparse array of *indices* (2^k slots of 1, 2, 4 or 8
 * bytes, as narrow as the table allows) and a dense array of *entries*
 * (hash, key, value) in insertion order, with room for 2/3 of the slots:
 *
 *     indices  [ 2 | - | 0 | - | D | 1 | - | - ]      - empty, D deleted
 *     entries  [ (h,"a",1) (h,"b",2) (h,"c",3) . . ]  first 3 of 5 used
 *
 * Compared with a table of (hash, key, value) slots this stores the 24
 * bytes of an entry only for the 2/3 that can be used, while the slots
 * cost a byte each for small dicts; iteration walks the dense entries in
 * insertion order, and a resize copies entries without rehashing.  A new
 * dict has no table (keys == NULL) until its first insertion; tables of
 * the smallest size (8 slots, 5 entries) are kept on a free list.
 *
 * PROBING.  A key's first slot is hash & mask; collisions follow
 * i = 5i + 1 + perturb, with perturb starting as the hash and shifted
 * right 5 bits per step, so all the hash's bits eventually matter and
 * every slot is eventually visited.
 *
 * GROWTH.  When the entries are used up the table is rebuilt with room for
 * three times the live entries (rounded up to a power of two): deleted
 * entries are squeezed out, and a table that is mostly holes shrinks.
 *
 * TRACKING.  A dict whose keys and values are all atomic cannot be part of
 * a cycle, so, like CPython, a dict starts untracked and becomes tracked
 * only when a key or value that may be tracked is stored; a full
 * collection untracks dicts that no longer hold one.
 *
 * INVARIANTS
 *   - keys == NULL iff the dict has never had a table or was cleared; then
 *     used == 0.
 *   - nentries <= usable = (2^log2_size * 2) / 3; used <= nentries.
 *   - Every index slot is EMPTY (-1), DUMMY (-2, deleted) or the position
 *     of a live entry; every live entry has exactly one slot pointing at
 *     it, on its key's probe sequence before any EMPTY slot.
 *   - Deleted entries have key == value == NULL; entries[0..first) are all
 *     deleted (a hint that makes removing the oldest entry, as an LRU
 *     cache does, O(1) amortised).
 */
#include "types.h"

#define DKIX_EMPTY (-1)
#define DKIX_DUMMY (-2)
#define MINSIZE_LOG2 3

struct ouro__dkeys {
    uint8_t log2_size;
    uint8_t log2_ixbytes;
    uint8_t pad[6];
    size_t usable;
    size_t nentries;
    size_t first;
    uint8_t indices[];
};

typedef struct dentry {
    int64_t hash;
    ouro_object *key;
    ouro_object *value;
} dentry;

static inline size_t dk_size(const ouro__dkeys *k) { return (size_t)1 << k->log2_size; }
static inline dentry *dk_entries(ouro__dkeys *k)
{
    return (dentry *)(k->indices + (dk_size(k) << k->log2_ixbytes));
}
static inline size_t dk_bytes(unsigned log2_size, unsigned log2_ixbytes)
{
    size_t size = (size_t)1 << log2_size;
    return sizeof(ouro__dkeys) + (size << log2_ixbytes) + (size * 2 / 3) * sizeof(dentry);
}

static inline int64_t ix_get(const ouro__dkeys *k, size_t i)
{
    switch (k->log2_ixbytes) {
    case 0: return ((const int8_t *)k->indices)[i];
    case 1: return ((const int16_t *)k->indices)[i];
    case 2: return ((const int32_t *)k->indices)[i];
    default: return ((const int64_t *)k->indices)[i];
    }
}

static inline void ix_set(ouro__dkeys *k, size_t i, int64_t ix)
{
    switch (k->log2_ixbytes) {
    case 0: ((int8_t *)k->indices)[i] = (int8_t)ix; break;
    case 1: ((int16_t *)k->indices)[i] = (int16_t)ix; break;
    case 2: ((int32_t *)k->indices)[i] = (int32_t)ix; break;
    default: ((int64_t *)k->indices)[i] = ix; break;
    }
}

static ouro__dkeys *keys_new(ouro_heap *h, unsigned log2_size)
{
    /* Index width: room for every entry position plus the negative
     * markers. */
    unsigned ixb = log2_size < 8 ? 0 : log2_size < 16 ? 1 : log2_size < 32 ? 2 : 3;
    size_t bytes = dk_bytes(log2_size, ixb);
    ouro__dkeys *k = log2_size == MINSIZE_LOG2 ? ouro__dkeys_take(h, bytes)
                                               : ouro_raw_alloc(h, bytes);
    if (!k)
        return NULL;
    k->log2_size = (uint8_t)log2_size;
    k->log2_ixbytes = (uint8_t)ixb;
    k->usable = dk_size(k) * 2 / 3;
    k->nentries = 0;
    k->first = 0;
    memset(k->indices, 0xff, dk_size(k) << ixb); /* all EMPTY (-1) */
    return k;
}

void ouro__dict_keys_free(ouro_heap *h, ouro__dkeys *k)
{
    if (k->log2_size == MINSIZE_LOG2)
        ouro__dkeys_keep(h, k);
    else
        ouro_raw_free(h, k);
}

/* ------------------------------------------------------------ the type */

static int dict_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    o_dict *d = (o_dict *)self;
    ouro__dkeys *k = d->keys;
    if (!k)
        return 0;
    dentry *e = dk_entries(k);
    for (size_t i = k->first; i < k->nentries; i++) {
        if (!e[i].key)
            continue;
        if (visit(e[i].key, arg) || visit(e[i].value, arg))
            return 1;
    }
    return 0;
}

/* Detach the table first, release last (see list.c). */
static void dict_clear_hook(ouro_heap *h, ouro_object *self)
{
    o_dict *d = (o_dict *)self;
    ouro__dkeys *k = d->keys;
    if (!k)
        return;
    d->keys = NULL;
    d->used = 0;
    dentry *e = dk_entries(k);
    for (size_t i = k->first; i < k->nentries; i++) {
        if (e[i].key) {
            ouro_decref(e[i].key);
            ouro_decref(e[i].value);
        }
    }
    ouro__dict_keys_free(h, k);
}

size_t ouro__dict_sizeof(const ouro_object *self)
{
    const o_dict *d = (const o_dict *)self;
    size_t n = sizeof(o_dict);
    if (d->keys)
        n += dk_bytes(d->keys->log2_size, d->keys->log2_ixbytes);
    return n;
}

ouro_type ouro__dict_type = {
    .name = "dict",
    .basic_size = sizeof(o_dict),
    .flags = OURO_TYPE_GC | OURO__TYPE_FREELIST,
    .traverse = dict_traverse,
    .clear = dict_clear_hook,
    .size_of = ouro__dict_sizeof,
};

ouro_object *ouro_dict_new(ouro_heap *h)
{
    if (!h)
        return NULL;
    ouro_object *o = ouro__tnew(h, &ouro__dict_type, sizeof(o_dict));
    if (o)
        ouro_gc_untrack(o); /* nothing in it can be part of a cycle yet */
    return o;
}

int ouro_dict_check(const ouro_object *o) { return IS_DICT(o); }
size_t ouro_dict_len(const ouro_object *o) { return IS_DICT(o) ? ((const o_dict *)o)->used : 0; }

/* ------------------------------------------------------------ lookup */

/* The index slot for key: its entry position in *ix (or DKIX_EMPTY when
 * absent, the slot then being where the probe ended). */
static size_t find_slot(ouro__dkeys *k, ouro_object *key, int64_t hash, int64_t *ix)
{
    size_t mask = dk_size(k) - 1;
    uint64_t perturb = (uint64_t)hash;
    size_t i = (size_t)hash & mask;
    dentry *e = dk_entries(k);
    for (;;) {
        int64_t x = ix_get(k, i);
        if (x == DKIX_EMPTY) {
            *ix = DKIX_EMPTY;
            return i;
        }
        if (x >= 0) {
            dentry *p = &e[x];
            if (p->key == key || (p->hash == hash && ouro_equal(p->key, key) == 1)) {
                *ix = x;
                return i;
            }
        }
        perturb >>= 5;
        i = (i * 5 + (size_t)perturb + 1) & mask;
    }
}

/* The first slot on key's probe sequence that holds no live entry. */
static size_t find_free_slot(ouro__dkeys *k, int64_t hash)
{
    size_t mask = dk_size(k) - 1;
    uint64_t perturb = (uint64_t)hash;
    size_t i = (size_t)hash & mask;
    while (ix_get(k, i) >= 0) {
        perturb >>= 5;
        i = (i * 5 + (size_t)perturb + 1) & mask;
    }
    return i;
}

ouro_object *ouro__dict_lookup(ouro_object *o, ouro_object *key, int64_t hash)
{
    o_dict *d = (o_dict *)o;
    if (!d->keys)
        return NULL;
    int64_t ix;
    find_slot(d->keys, key, hash, &ix);
    return ix >= 0 ? dk_entries(d->keys)[ix].value : NULL;
}

/* Rebuild the table with at least `minsize` index slots (a power of two,
 * at least 8): live entries move to the front, in order.  OOM leaves the
 * dict as it was. */
static int dict_resize(ouro_heap *h, o_dict *d, size_t minsize)
{
    unsigned log2 = MINSIZE_LOG2;
    while (((size_t)1 << log2) < minsize)
        log2++;
    ouro__dkeys *nk = keys_new(h, log2);
    if (!nk)
        return OURO_ENOMEM;
    ouro__dkeys *ok = d->keys;
    if (ok) {
        dentry *from = dk_entries(ok), *to = dk_entries(nk);
        size_t n = 0;
        for (size_t i = ok->first; i < ok->nentries; i++) {
            if (!from[i].key)
                continue;
            to[n] = from[i];
            ix_set(nk, find_free_slot(nk, from[i].hash), (int64_t)n);
            n++;
        }
        nk->nentries = n;
        ouro__dict_keys_free(h, ok);
    }
    d->keys = nk;
    return 0;
}

/* Room for one more entry at the end of the entries. */
static int dict_make_room(ouro_heap *h, o_dict *d)
{
    if (d->keys && d->keys->nentries < d->keys->usable)
        return 0;
    /* CPython's growth rate: three times what is used.  A dict that is
     * mostly deleted entries is rebuilt smaller. */
    return dict_resize(h, d, d->used * 3);
}

int ouro__dict_insert(ouro_object *o, ouro_object *key, int64_t hash, ouro_object *value)
{
    o_dict *d = (o_dict *)o;
    ouro_heap *h = HEAP(o);
    int64_t ix = DKIX_EMPTY;
    if (d->keys)
        find_slot(d->keys, key, hash, &ix);
    if (ix >= 0) {
        dentry *e = &dk_entries(d->keys)[ix];
        ouro_object *old = e->value;
        ouro_incref(value);
        e->value = value;
        if (!o->gc_next && ouro__may_be_tracked(value))
            ouro_gc_track(o);
        ouro_decref(old);
        return 0;
    }
    int rc = dict_make_room(h, d);
    if (rc < 0)
        return rc;
    ouro__dkeys *k = d->keys;
    size_t n = k->nentries;
    dentry *e = &dk_entries(k)[n];
    ouro_incref(key);
    ouro_incref(value);
    e->hash = hash;
    e->key = key;
    e->value = value;
    ix_set(k, find_free_slot(k, hash), (int64_t)n);
    k->nentries = n + 1;
    d->used++;
    if (!o->gc_next && (ouro__may_be_tracked(key) || ouro__may_be_tracked(value)))
        ouro_gc_track(o);
    return 0;
}

static int key_hash(ouro_object *key, int64_t *hash)
{
    if (!key)
        return OURO_EINVAL;
    return ouro_hash(key, hash);
}

int ouro_dict_set(ouro_object *d, ouro_object *key, ouro_object *value)
{
    if (!IS_DICT(d))
        return OURO_ETYPE;
    if (!value || ouro__check_same_heap(HEAP(d), value, "ouro_dict_set") < 0 ||
        ouro__check_same_heap(HEAP(d), key, "ouro_dict_set") < 0)
        return OURO_EINVAL;
    int64_t hash;
    int rc = key_hash(key, &hash);
    if (rc < 0)
        return rc;
    return ouro__dict_insert(d, key, hash, value);
}

ouro_object *ouro_dict_get(ouro_object *d, ouro_object *key)
{
    if (!IS_DICT(d))
        return d ? ouro__fail(HEAP(d), OURO_ETYPE) : NULL;
    int64_t hash;
    int rc = key_hash(key, &hash);
    if (rc < 0)
        return ouro__fail(HEAP(d), rc);
    ouro_object *v = ouro__dict_lookup(d, key, hash);
    return v ? v : ouro__fail(HEAP(d), OURO_ENOTFOUND);
}

int ouro_dict_contains(ouro_object *d, ouro_object *key)
{
    if (!IS_DICT(d))
        return OURO_ETYPE;
    int64_t hash;
    int rc = key_hash(key, &hash);
    if (rc < 0)
        return rc;
    return ouro__dict_lookup(d, key, hash) != NULL;
}

/* Unlink the entry at slot i / position ix; the caller owns key and value. */
static void remove_entry(o_dict *d, size_t slot, int64_t ix, ouro_object **key, ouro_object **value)
{
    ouro__dkeys *k = d->keys;
    dentry *e = &dk_entries(k)[ix];
    *key = e->key;
    *value = e->value;
    e->key = e->value = NULL;
    ix_set(k, slot, DKIX_DUMMY);
    d->used--;
}

static int pop_key(ouro_object *o, ouro_object *key, ouro_object **value)
{
    if (!IS_DICT(o))
        return OURO_ETYPE;
    int64_t hash, ix;
    int rc = key_hash(key, &hash);
    if (rc < 0)
        return rc;
    o_dict *d = (o_dict *)o;
    if (!d->keys)
        return OURO_ENOTFOUND;
    size_t slot = find_slot(d->keys, key, hash, &ix);
    if (ix < 0)
        return OURO_ENOTFOUND;
    ouro_object *k;
    remove_entry(d, slot, ix, &k, value);
    ouro_decref(k);
    return 0;
}

int ouro_dict_del(ouro_object *d, ouro_object *key)
{
    ouro_object *v;
    int rc = pop_key(d, key, &v);
    if (rc == 0)
        ouro_decref(v);
    return rc;
}

ouro_object *ouro_dict_pop(ouro_object *d, ouro_object *key)
{
    ouro_object *v = NULL;
    int rc = pop_key(d, key, &v);
    if (rc < 0)
        return d ? ouro__fail(HEAP(d), rc) : NULL;
    return v;
}

int ouro_dict_popitem(ouro_object *o, ouro_object **key, ouro_object **value)
{
    if (!IS_DICT(o))
        return OURO_ETYPE;
    o_dict *d = (o_dict *)o;
    if (d->used == 0)
        return OURO_ENOTFOUND;
    ouro__dkeys *k = d->keys;
    dentry *e = dk_entries(k);
    size_t i = k->nentries;
    while (!e[i - 1].key)
        i--;
    int64_t ix;
    size_t slot = find_slot(k, e[i - 1].key, e[i - 1].hash, &ix);
    ouro_object *kk, *vv;
    remove_entry(d, slot, ix, &kk, &vv);
    k->nentries = i - 1; /* the last entries are free again */
    if (key)
        *key = kk;
    else
        ouro_decref(kk);
    if (value)
        *value = vv;
    else
        ouro_decref(vv);
    return 0;
}

int ouro_dict_clear(ouro_object *d)
{
    if (!IS_DICT(d))
        return OURO_ETYPE;
    dict_clear_hook(HEAP(d), d);
    return 0;
}

int ouro_dict_next(ouro_object *o, size_t *pos, ouro_object **key, ouro_object **value)
{
    if (!IS_DICT(o) || !pos)
        return 0;
    ouro__dkeys *k = ((o_dict *)o)->keys;
    if (!k)
        return 0;
    dentry *e = dk_entries(k);
    size_t i = *pos < k->first ? k->first : *pos;
    while (i < k->nentries && !e[i].key)
        i++;
    if (i >= k->nentries) {
        *pos = i;
        return 0;
    }
    if (key)
        *key = e[i].key;
    if (value)
        *value = e[i].value;
    *pos = i + 1;
    return 1;
}

ouro_object *ouro_dict_copy(ouro_object *o)
{
    if (!IS_DICT(o))
        return o ? ouro__fail(HEAP(o), OURO_ETYPE) : NULL;
    ouro_heap *h = HEAP(o);
    ouro_object *c = ouro_dict_new(h);
    if (!c)
        return NULL;
    o_dict *d = (o_dict *)o;
    if (d->used && dict_resize(h, (o_dict *)c, (d->used * 3 + 1) / 2 + 1) < 0) {
        ouro_decref(c);
        return ouro__fail(h, OURO_ENOMEM);
    }
    ouro__dkeys *k = d->keys;
    for (size_t i = k ? k->first : 0; k && i < k->nentries; i++) {
        dentry *e = &dk_entries(k)[i];
        if (e->key)
            ouro__dict_insert(c, e->key, e->hash, e->value); /* room reserved: cannot fail */
    }
    return c;
}

int ouro_dict_set_str(ouro_object *d, const char *key, ouro_object *value)
{
    if (!IS_DICT(d))
        return OURO_ETYPE;
    if (!key || !value || ouro__check_same_heap(HEAP(d), value, "ouro_dict_set_str") < 0)
        return OURO_EINVAL;
    ouro_object *k = ouro_str_from(HEAP(d), key);
    if (!k)
        return ouro_heap_last_error(HEAP(d));
    int rc = ouro_dict_set(d, k, value);
    ouro_decref(k);
    return rc;
}

ouro_object *ouro_dict_get_str(ouro_object *d, const char *key)
{
    if (!IS_DICT(d))
        return d ? ouro__fail(HEAP(d), OURO_ETYPE) : NULL;
    if (!key)
        return ouro__fail(HEAP(d), OURO_EINVAL);
    ouro_object *k = ouro_str_from(HEAP(d), key);
    if (!k)
        return NULL;
    ouro_object *v = ouro_dict_get(d, k);
    ouro_decref(k);
    return v;
}

bool ouro__dict_maybe_untrack(ouro_heap *h, ouro_object *o)
{
    o_dict *d = (o_dict *)o;
    if (!o->gc_next)
        return false;
    ouro__dkeys *k = d->keys;
    if (k) {
        dentry *e = dk_entries(k);
        for (size_t i = k->first; i < k->nentries; i++)
            if (e[i].key && (ouro__may_be_tracked(e[i].key) || ouro__may_be_tracked(e[i].value)))
                return false;
    }
    ouro__gc_untrack(h, o);
    return true;
}

/* ------------------------------------------------------------ LRU support */

int ouro__dict_move_to_end(ouro_object *o, ouro_object *key, int64_t hash)
{
    o_dict *d = (o_dict *)o;
    int64_t ix;
    if (!d->keys)
        return OURO_ENOTFOUND;
    find_slot(d->keys, key, hash, &ix);
    if (ix < 0)
        return OURO_ENOTFOUND;
    if ((size_t)ix + 1 == d->keys->nentries)
        return 0; /* already the newest */
    if (d->keys->nentries == d->keys->usable) {
        /* Compact first (same size: the live count did not change). */
        int rc = dict_resize(HEAP(o), d, d->used * 3);
        if (rc < 0)
            return rc;
        find_slot(d->keys, key, hash, &ix);
        if ((size_t)ix + 1 == d->keys->nentries)
            return 0;
    }
    ouro__dkeys *k = d->keys;
    size_t slot = find_slot(k, key, hash, &ix);
    dentry *e = dk_entries(k);
    e[k->nentries] = e[ix];
    e[ix].key = e[ix].value = NULL;
    ix_set(k, slot, (int64_t)k->nentries);
    k->nentries++;
    return 0;
}

int ouro__dict_pop_first(ouro_object *o)
{
    o_dict *d = (o_dict *)o;
    if (d->used == 0)
        return OURO_ENOTFOUND;
    ouro__dkeys *k = d->keys;
    dentry *e = dk_entries(k);
    size_t i = k->first;
    while (!e[i].key)
        i++;
    k->first = i + 1;
    int64_t ix;
    size_t slot = find_slot(k, e[i].key, e[i].hash, &ix);
    ouro_object *kk, *vv;
    remove_entry(d, slot, ix, &kk, &vv);
    ouro_decref(kk);
    ouro_decref(vv);
    return 0;
}
