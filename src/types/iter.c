/*
 * iter.c — iterators over every container, the lazy range, and the
 * generator-expression counterpart (map).
 *
 * LAZINESS SAVES MEMORY.  sum([x * x for x in range(n)]) builds a list of
 * n results before adding them; sum(x * x for x in range(n)) holds one
 * result at a time.  Here a range is 48 bytes whatever its length, its
 * iterator 40 more, and a map object (fn applied to each item of an
 * iterator, made on demand) 40 — against 40 + 8n bytes of list plus n
 * result objects.
 *
 * An iterator holds a strong reference to its container and a position.
 * It drops the container as soon as it is exhausted (so an exhausted
 * iterator keeps nothing alive) and stays exhausted.  Dict and set
 * iterators remember the size the container had when they started and
 * fail (OURO_EINVAL, Python's RuntimeError) if it changes, because a
 * rebuilt table would make them skip or repeat items.
 *
 * Invariants: seq is NULL iff the iterator is exhausted; for dict/set
 * iterators, `expect` is the container's size at creation, or SIZE_MAX
 * once a change was seen (the failure is sticky, as in CPython).
 */
#include "types.h"

enum {
    IT_LIST,
    IT_TUPLE,
    IT_STR,
    IT_BYTES,
    IT_DICT_KEYS,
    IT_DICT_VALUES,
    IT_DICT_ITEMS,
    IT_SET,
    IT_ARRAY,
    IT_RECORD,
    IT_COUNT
};

typedef struct o_iter {
    OURO_HEAD;
    ouro_object *seq;
    size_t index;
    size_t expect;
} o_iter;

typedef struct o_rangeiter {
    OURO_HEAD;
    int64_t next, step;
    uint64_t remaining;
} o_rangeiter;

typedef struct o_map {
    OURO_HEAD;
    ouro_object *source; /* an iterator; NULL once exhausted */
    ouro_map_fn fn;
    void *ctx;
} o_map;

static int iter_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    ouro_object *s = ((o_iter *)self)->seq;
    return s ? visit(s, arg) : 0;
}

static void iter_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    ouro_clear(&((o_iter *)self)->seq);
}

#define SEQITER(NAME)                                                              \
    {                                                                              \
        .name = NAME, .basic_size = sizeof(o_iter), .flags = OURO_TYPE_GC,         \
        .traverse = iter_traverse, .clear = iter_clear                             \
    }

ouro_type ouro__seqiter_types[IT_COUNT] = {
    [IT_LIST] = SEQITER("list_iterator"),
    [IT_TUPLE] = SEQITER("tuple_iterator"),
    [IT_STR] = SEQITER("str_iterator"),
    [IT_BYTES] = SEQITER("bytes_iterator"),
    [IT_DICT_KEYS] = SEQITER("dict_keyiterator"),
    [IT_DICT_VALUES] = SEQITER("dict_valueiterator"),
    [IT_DICT_ITEMS] = SEQITER("dict_itemiterator"),
    [IT_SET] = SEQITER("set_iterator"),
    [IT_ARRAY] = SEQITER("arrayiterator"),
    [IT_RECORD] = SEQITER("record_iterator"),
};

static ouro_type rangeiter_type = {
    .name = "range_iterator",
    .basic_size = sizeof(o_rangeiter),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC,
};

static int map_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    ouro_object *s = ((o_map *)self)->source;
    return s ? visit(s, arg) : 0;
}

static void map_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    ouro_clear(&((o_map *)self)->source);
}

ouro_type ouro__map_type = {
    .name = "generator",
    .basic_size = sizeof(o_map),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = map_traverse,
    .clear = map_clear,
};

ouro_type ouro__range_type = {
    .name = "range",
    .basic_size = sizeof(o_range),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC,
};

static int seqiter_kind(const ouro_object *o)
{
    for (int k = 0; k < IT_COUNT; k++)
        if (ouro__is(o, &ouro__seqiter_types[k]))
            return k;
    return -1;
}

int ouro__is_iter(const ouro_object *o)
{
    return o && (seqiter_kind(o) >= 0 || ouro__is(o, &rangeiter_type) || ouro__is(o, &ouro__map_type));
}

int ouro_iter_check(const ouro_object *o) { return ouro__is_iter(o); }

/* ------------------------------------------------------------ range */

ouro_object *ouro_range_new(ouro_heap *h, int64_t start, int64_t stop, int64_t step)
{
    if (!h)
        return NULL;
    if (step == 0)
        return ouro__fail(h, OURO_EINVAL);
    uint64_t len = 0;
    /* The length in unsigned arithmetic: stop - start can overflow int64. */
    if (step > 0 && start < stop)
        len = ((uint64_t)stop - (uint64_t)start - 1) / (uint64_t)step + 1;
    else if (step < 0 && start > stop)
        len = ((uint64_t)start - (uint64_t)stop - 1) / (0 - (uint64_t)step) + 1;
    ouro_object *o = ouro__tnew(h, &ouro__range_type, sizeof(o_range));
    if (o) {
        o_range *r = (o_range *)o;
        r->start = start;
        r->stop = stop;
        r->step = step;
        r->len = len;
    }
    return o;
}

int ouro_range_check(const ouro_object *o) { return IS_RANGE(o); }
size_t ouro_range_len(const ouro_object *o) { return IS_RANGE(o) ? (size_t)((const o_range *)o)->len : 0; }

/* ------------------------------------------------------------ iter() */

static ouro_object *seqiter_new(ouro_heap *h, int kind, ouro_object *seq, size_t expect)
{
    ouro_object *o = ouro__tnew(h, &ouro__seqiter_types[kind], sizeof(o_iter));
    if (!o)
        return NULL;
    o_iter *it = (o_iter *)o;
    ouro_incref(seq);
    it->seq = seq;
    it->expect = expect;
    return o;
}

ouro_object *ouro_iter(ouro_heap *h, ouro_object *o)
{
    if (!h)
        return NULL;
    /* The iterator holds the iterable: both must be of heap h. */
    if (!o || ouro__check_same_heap(h, o, "ouro_iter") < 0)
        return ouro__fail(h, OURO_EINVAL);
    if (ouro__is_iter(o)) {
        ouro_incref(o);
        return o;
    }
    if (IS_RANGE(o)) {
        o_range *r = (o_range *)o;
        ouro_object *it = ouro__tnew(h, &rangeiter_type, sizeof(o_rangeiter));
        if (it) {
            ((o_rangeiter *)it)->next = r->start;
            ((o_rangeiter *)it)->step = r->step;
            ((o_rangeiter *)it)->remaining = r->len;
        }
        return it;
    }
    if (IS_LIST(o))
        return seqiter_new(h, IT_LIST, o, 0);
    if (IS_TUPLE(o))
        return seqiter_new(h, IT_TUPLE, o, 0);
    if (IS_STR(o))
        return seqiter_new(h, IT_STR, o, 0);
    if (IS_BYTES(o))
        return seqiter_new(h, IT_BYTES, o, 0);
    if (IS_DICT(o))
        return seqiter_new(h, IT_DICT_KEYS, o, ((o_dict *)o)->used);
    if (IS_SET(o))
        return seqiter_new(h, IT_SET, o, ((o_set *)o)->used);
    if (IS_ARRAY(o))
        return seqiter_new(h, IT_ARRAY, o, 0);
    if (IS_RECORD(o))
        return seqiter_new(h, IT_RECORD, o, 0);
    return ouro__fail(h, OURO_ETYPE);
}

ouro_object *ouro_dict_iter(ouro_heap *h, ouro_object *d, int kind)
{
    if (!h)
        return NULL;
    if (!IS_DICT(d))
        return ouro__fail(h, OURO_ETYPE);
    if (ouro__check_same_heap(h, d, "ouro_dict_iter") < 0)
        return ouro__fail(h, OURO_EINVAL);
    if (kind < OURO_DICT_KEYS || kind > OURO_DICT_ITEMS)
        return ouro__fail(h, OURO_EINVAL);
    return seqiter_new(h, IT_DICT_KEYS + kind, d, ((o_dict *)d)->used);
}

ouro_object *ouro_map_new(ouro_heap *h, ouro_map_fn fn, void *ctx, ouro_object *iterable)
{
    if (!h)
        return NULL;
    ouro_object *src = ouro_iter(h, iterable);
    if (!src)
        return NULL;
    ouro_object *o = ouro__tnew(h, &ouro__map_type, sizeof(o_map));
    if (!o) {
        ouro_decref(src);
        return NULL;
    }
    o_map *m = (o_map *)o;
    m->source = src;
    m->fn = fn;
    m->ctx = ctx;
    return o;
}

/* ------------------------------------------------------------ next() */

/* The end: drop the container, report "no error". */
static ouro_object *finish(ouro_heap *h, o_iter *it)
{
    ouro_clear(&it->seq);
    ouro__set_error(h, OURO_OK);
    return NULL;
}

/* Length in bytes of the UTF-8 sequence starting with byte c. */
static size_t utf8_len(uint8_t c)
{
    return c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : 4;
}

static ouro_object *seqiter_next(ouro_heap *h, o_iter *it, int kind)
{
    ouro_object *s = it->seq;
    if (!s) {
        ouro__set_error(h, OURO_OK);
        return NULL;
    }
    ouro_object *v = NULL;
    switch (kind) {
    case IT_LIST:
        if (it->index >= ((o_list *)s)->n)
            return finish(h, it);
        v = ((o_list *)s)->items[it->index++];
        ouro_incref(v);
        return v;
    case IT_TUPLE:
        if (it->index >= ((o_tuple *)s)->n)
            return finish(h, it);
        v = ((o_tuple *)s)->items[it->index++];
        ouro_xincref(v);
        return v;
    case IT_RECORD: {
        size_t n = ((const ouro_record_type *)ouro_type_of(s))->nfields;
        if (it->index >= n)
            return finish(h, it);
        v = ((ouro_object **)(s + 1))[it->index++];
        if (!v) /* a field the collector cleared reads as None */
            return ouro__none(h);
        ouro_incref(v);
        return v;
    }
    case IT_STR: {
        o_str *st = (o_str *)s;
        if (it->index >= st->nbytes)
            return finish(h, it);
        size_t n = utf8_len((uint8_t)st->data[it->index]);
        v = ouro_str_new(h, st->data + it->index, n);
        if (v)
            it->index += n;
        return v;
    }
    case IT_BYTES:
        if (it->index >= ((o_bytes *)s)->len)
            return finish(h, it);
        v = ouro_int_new(h, ((o_bytes *)s)->data[it->index]); /* cached: cannot fail */
        it->index++;
        return v;
    case IT_ARRAY:
        if (it->index >= ((o_array *)s)->n)
            return finish(h, it);
        v = ouro_array_get(s, (ptrdiff_t)it->index);
        if (v)
            it->index++;
        return v;
    case IT_SET: {
        if (it->expect != ((o_set *)s)->used) {
            it->expect = SIZE_MAX;
            return ouro__fail(h, OURO_EINVAL);
        }
        size_t pos = it->index;
        if (!ouro_set_next(s, &pos, &v))
            return finish(h, it);
        it->index = pos;
        ouro_incref(v);
        return v;
    }
    default: { /* dict keys, values, items */
        if (it->expect != ((o_dict *)s)->used) {
            it->expect = SIZE_MAX;
            return ouro__fail(h, OURO_EINVAL);
        }
        size_t pos = it->index;
        ouro_object *k, *val;
        if (!ouro_dict_next(s, &pos, &k, &val))
            return finish(h, it);
        if (kind == IT_DICT_ITEMS) {
            v = ouro_tuple_pack(h, 2, k, val);
            if (!v)
                return NULL; /* position kept: the next call retries */
        } else {
            v = kind == IT_DICT_KEYS ? k : val;
            ouro_incref(v);
        }
        it->index = pos;
        return v;
    }
    }
}

ouro_object *ouro_iter_next(ouro_object *o)
{
    if (!o)
        return NULL;
    ouro_heap *h = HEAP(o);
    int kind = seqiter_kind(o);
    if (kind >= 0)
        return seqiter_next(h, (o_iter *)o, kind);
    if (ouro__is(o, &rangeiter_type)) {
        o_rangeiter *r = (o_rangeiter *)o;
        if (r->remaining == 0) {
            ouro__set_error(h, OURO_OK);
            return NULL;
        }
        ouro_object *v = ouro_int_new(h, r->next);
        if (!v)
            return NULL;
        r->remaining--;
        /* Wrapping arithmetic: the step past the last item may leave the
         * int64 range, and is never used. */
        r->next = (int64_t)((uint64_t)r->next + (uint64_t)r->step);
        return v;
    }
    if (ouro__is(o, &ouro__map_type)) {
        o_map *m = (o_map *)o;
        if (!m->source) {
            ouro__set_error(h, OURO_OK);
            return NULL;
        }
        ouro_object *x = ouro_iter_next(m->source);
        if (!x) {
            if (ouro_heap_last_error(h) == OURO_OK)
                ouro_clear(&m->source);
            return NULL;
        }
        if (!m->fn)
            return x;
        ouro_object *y = m->fn(h, x, m->ctx);
        ouro_decref(x);
        if (!y && ouro_heap_last_error(h) == OURO_OK)
            ouro__set_error(h, OURO_EINVAL); /* fn failed without saying why */
        return y;
    }
    return ouro__fail(h, OURO_ETYPE);
}
