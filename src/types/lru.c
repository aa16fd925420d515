/*
 * lru.c — functools.lru_cache: a bounded memo of a function's results.
 *
 * The cache is a dict kept in recency order: a hit moves its entry to the
 * end (the compact dict appends it and leaves a hole, squeezed out at the
 * next rebuild), a miss inserts at the end, and past maxsize the first
 * entry — the least recently used — is evicted.  The dict's "first live
 * entry" hint makes eviction O(1) amortised, so a call costs one hash and
 * one lookup plus, on a miss, the function.  The cache holds strong
 * references to keys and results: bounding it is what keeps memory
 * bounded, which is the point of maxsize (an unbounded cache of a
 * function called with ever new arguments is a leak by another name).
 *
 * Invariants: cache is a dict; with maxsize >= 0, len(cache) <= maxsize;
 * hits + misses counts the successful calls since creation or the last
 * cache_clear.
 */
#include "types.h"

static int lru_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    o_lru *c = (o_lru *)self;
    return c->cache ? visit(c->cache, arg) : 0;
}

static void lru_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    ouro_clear(&((o_lru *)self)->cache);
}

ouro_type ouro__lru_type = {
    .name = "functools._lru_cache_wrapper",
    .basic_size = sizeof(o_lru),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = lru_traverse,
    .clear = lru_clear,
};

ouro_object *ouro_lru_new(ouro_heap *h, ptrdiff_t maxsize, ouro_lru_fn fn, void *ctx)
{
    if (!h)
        return NULL;
    if (!fn)
        return ouro__fail(h, OURO_EINVAL);
    ouro_object *cache = ouro_dict_new(h);
    if (!cache)
        return NULL;
    ouro_object *o = ouro__tnew(h, &ouro__lru_type, sizeof(o_lru));
    if (!o) {
        ouro_decref(cache);
        return NULL;
    }
    o_lru *c = (o_lru *)o;
    c->cache = cache;
    c->fn = fn;
    c->ctx = ctx;
    c->maxsize = maxsize < 0 ? -1 : maxsize;
    return o;
}

int ouro_lru_check(const ouro_object *o) { return IS_LRU(o); }

ouro_object *ouro_lru_call(ouro_object *o, ouro_object *key)
{
    if (!IS_LRU(o))
        return o ? ouro__fail(HEAP(o), OURO_ETYPE) : NULL;
    ouro_heap *h = HEAP(o);
    o_lru *c = (o_lru *)o;
    if (!key || ouro__check_same_heap(h, key, "ouro_lru_call") < 0)
        return ouro__fail(h, OURO_EINVAL);
    int64_t hash;
    int rc = ouro_hash(key, &hash);
    if (rc < 0)
        return ouro__fail(h, rc);
    if (c->maxsize == 0 || !c->cache) { /* no caching (or cleared by the collector) */
        c->misses++;
        return c->fn(h, key, c->ctx);
    }
    /* Hold the cache: the function may clear or drop it. */
    ouro_object *cache = c->cache;
    ouro_incref(cache);
    ouro_object *v = ouro__dict_lookup(cache, key, hash);
    if (v) {
        c->hits++;
        ouro_incref(v);
        /* Becoming the most recent is best effort: out of memory while
         * compacting leaves the order as it was, the answer is right. */
        if (c->maxsize > 0)
            (void)ouro__dict_move_to_end(cache, key, hash);
        ouro_decref(cache);
        return v;
    }
    c->misses++;
    ouro_object *r = c->fn(h, key, c->ctx);
    if (r && ouro__check_same_heap(h, r, "the result of an lru_cache function") < 0) {
        ouro_decref(r);
        r = ouro__fail(h, OURO_EINVAL);
    }
    if (r) {
        /* The function may have called us recursively with the same key
         * (a recursive fib does): then the newer result simply replaces
         * it.  Not being able to cache is not an error for the caller. */
        if (ouro__dict_insert(cache, key, hash, r) == 0 && c->maxsize > 0 &&
            ouro_dict_len(cache) > (size_t)c->maxsize)
            ouro__dict_pop_first(cache);
    }
    ouro_decref(cache);
    return r;
}

int ouro_lru_cache_info(ouro_object *o, ouro_lru_info *out)
{
    if (!IS_LRU(o))
        return OURO_ETYPE;
    if (!out)
        return OURO_EINVAL;
    o_lru *c = (o_lru *)o;
    out->hits = c->hits;
    out->misses = c->misses;
    out->maxsize = c->maxsize;
    out->currsize = c->cache ? ouro_dict_len(c->cache) : 0;
    return 0;
}

int ouro_lru_cache_clear(ouro_object *o)
{
    if (!IS_LRU(o))
        return OURO_ETYPE;
    o_lru *c = (o_lru *)o;
    c->hits = c->misses = 0;
    if (c->cache)
        ouro_dict_clear(c->cache);
    return 0;
}
