/*
 * set.c — hash sets: an open-addressing table of (hash, key) slots.
 *
 * A set needs no values and no order, so unlike dict it keeps the keys in
 * the slots themselves: 16 bytes a slot, kept at most 60% full.  Deleted
 * keys leave a marker (the dummy) so that probe sequences stay intact;
 * the table is rebuilt, dropping markers, when live keys plus markers
 * ("fill") pass 60%.  A set grows by 4x while small (fewer rebuilds while
 * it is being filled) and 2x past 50,000 keys, as CPython's does.  The
 * table is made on the first add; the empty set is 56 bytes.
 *
 * Invariants: table == NULL iff mask == 0 iff the set never held a key (or
 * was cleared); used <= fill <= 60% of the slots; a slot's key is NULL
 * (never used), DUMMY (deleted) or a live key with its hash.
 */
#include "types.h"

static const char dummy_sentinel;
#define DUMMY ((ouro_object *)(uintptr_t)&dummy_sentinel)
#define LIVE(k) ((k) != NULL && (k) != DUMMY)

static int set_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    o_set *s = (o_set *)self;
    if (!s->table)
        return 0;
    for (size_t i = 0; i <= s->mask; i++)
        if (LIVE(s->table[i].key) && visit(s->table[i].key, arg))
            return 1;
    return 0;
}

static void set_clear_hook(ouro_heap *h, ouro_object *self)
{
    o_set *s = (o_set *)self;
    ouro__sentry *t = s->table;
    size_t n = s->mask + 1;
    if (!t)
        return;
    s->table = NULL;
    s->mask = s->used = s->fill = s->finger = 0;
    for (size_t i = 0; i < n; i++)
        if (LIVE(t[i].key))
            ouro_decref(t[i].key);
    ouro_raw_free(h, t);
}

static size_t set_size_of(const ouro_object *self)
{
    const o_set *s = (const o_set *)self;
    return sizeof(o_set) + (s->table ? (s->mask + 1) * sizeof(ouro__sentry) : 0);
}

ouro_type ouro__set_type = {
    .name = "set",
    .basic_size = sizeof(o_set),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE, /* as CPython's set */
    .traverse = set_traverse,
    .clear = set_clear_hook,
    .size_of = set_size_of,
};

ouro_object *ouro_set_new(ouro_heap *h)
{
    if (!h)
        return NULL;
    return ouro__tnew(h, &ouro__set_type, sizeof(o_set));
}

int ouro_set_check(const ouro_object *o) { return IS_SET(o); }
size_t ouro_set_len(const ouro_object *o) { return IS_SET(o) ? ((const o_set *)o)->used : 0; }

/* The slot holding key, or the slot to insert it in (the first dummy on
 * the way, else the empty slot that ended the probe). */
static ouro__sentry *find(o_set *s, ouro_object *key, int64_t hash, bool *found)
{
    size_t mask = s->mask;
    uint64_t perturb = (uint64_t)hash;
    size_t i = (size_t)hash & mask;
    ouro__sentry *free_slot = NULL;
    for (;;) {
        ouro__sentry *e = &s->table[i];
        if (!e->key) {
            *found = false;
            return free_slot ? free_slot : e;
        }
        if (e->key == DUMMY) {
            if (!free_slot)
                free_slot = e;
        } else if (e->key == key || (e->hash == hash && ouro_equal(e->key, key) == 1)) {
            *found = true;
            return e;
        }
        perturb >>= 5;
        i = (i * 5 + (size_t)perturb + 1) & mask;
    }
}

static int set_resize(ouro_heap *h, o_set *s, size_t minused)
{
    size_t n = 8;
    while (n * 3 <= minused * 5) /* keep below 60% */
        n <<= 1;
    ouro__sentry *t = ouro_raw_alloc(h, n * sizeof *t);
    if (!t)
        return OURO_ENOMEM;
    memset(t, 0, n * sizeof *t);
    ouro__sentry *old = s->table;
    size_t oldn = old ? s->mask + 1 : 0;
    s->table = t;
    s->mask = n - 1;
    s->fill = s->used;
    s->finger = 0;
    for (size_t i = 0; i < oldn; i++) {
        if (!LIVE(old[i].key))
            continue;
        bool found;
        ouro__sentry *e = find(s, old[i].key, old[i].hash, &found);
        *e = old[i];
    }
    ouro_raw_free(h, old);
    return 0;
}

/* The checks every keyed operation starts with: `o` is a set and `key`
 * is hashable (0 and *hash set, or the negative error). */
static int check_and_hash(ouro_object *o, ouro_object *key, int64_t *hash)
{
    if (!IS_SET(o))
        return OURO_ETYPE;
    return key ? ouro_hash(key, hash) : OURO_EINVAL;
}

int ouro_set_add(ouro_object *o, ouro_object *key)
{
    int64_t hash;
    int rc = check_and_hash(o, key, &hash);
    if (rc < 0)
        return rc;
    if (ouro__check_same_heap(HEAP(o), key, "ouro_set_add") < 0)
        return OURO_EINVAL;
    o_set *s = (o_set *)o;
    bool found = false;
    if (s->table) {
        find(s, key, hash, &found);
        if (found)
            return 0;
    }
    if (!s->table || (s->fill + 1) * 5 >= (s->mask + 1) * 3) {
        size_t grow = s->used > 50000 ? s->used * 2 : s->used * 4;
        rc = set_resize(HEAP(o), s, grow > s->used + 1 ? grow : s->used + 1);
        if (rc < 0)
            return rc;
    }
    ouro__sentry *e = find(s, key, hash, &found);
    if (!e->key)
        s->fill++;
    ouro_incref(key);
    e->key = key;
    e->hash = hash;
    s->used++;
    return 1;
}

/* The live entry for `key`: 1 and *out set, 0 when absent, or a negative
 * error (not a set, key not hashable). */
static int lookup(ouro_object *o, ouro_object *key, ouro__sentry **out)
{
    int64_t hash;
    int rc = check_and_hash(o, key, &hash);
    if (rc < 0)
        return rc;
    o_set *s = (o_set *)o;
    if (!s->table)
        return 0;
    bool found;
    *out = find(s, key, hash, &found);
    return found;
}

int ouro_set_contains(ouro_object *o, ouro_object *key)
{
    ouro__sentry *e;
    return lookup(o, key, &e);
}

int ouro_set_discard(ouro_object *o, ouro_object *key)
{
    ouro__sentry *e;
    int rc = lookup(o, key, &e);
    if (rc <= 0)
        return rc;
    o_set *s = (o_set *)o;
    ouro_object *k = e->key;
    e->key = DUMMY;
    s->used--;
    ouro_decref(k);
    return 1;
}

ouro_object *ouro_set_pop(ouro_object *o)
{
    if (!IS_SET(o))
        return o ? ouro__fail(HEAP(o), OURO_ETYPE) : NULL;
    o_set *s = (o_set *)o;
    if (s->used == 0)
        return ouro__fail(HEAP(o), OURO_ENOTFOUND);
    size_t i = s->finger & s->mask;
    while (!LIVE(s->table[i].key))
        i = (i + 1) & s->mask;
    ouro_object *k = s->table[i].key;
    s->table[i].key = DUMMY;
    s->used--;
    s->finger = i + 1;
    return k;
}

int ouro_set_clear(ouro_object *o)
{
    if (!IS_SET(o))
        return OURO_ETYPE;
    set_clear_hook(HEAP(o), o);
    return 0;
}

int ouro_set_next(ouro_object *o, size_t *pos, ouro_object **key)
{
    if (!IS_SET(o) || !pos)
        return 0;
    o_set *s = (o_set *)o;
    if (!s->table)
        return 0;
    size_t i = *pos;
    while (i <= s->mask && !LIVE(s->table[i].key))
        i++;
    if (i > s->mask) {
        *pos = i;
        return 0;
    }
    if (key)
        *key = s->table[i].key;
    *pos = i + 1;
    return 1;
}
