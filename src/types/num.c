/*
 * num.c — None, bool, int and float.
 *
 * None, True and False are what an interpreter stores most: every
 * function without a return value, every missing field, every comparison.
 * Each heap has one immortal object of each (CPython has one per process;
 * ouro has no process-wide objects, so `x is None` is a comparison with
 * the heap's None, or ouro_is_none(x) for an object of any heap).  They
 * are made together on first use, so once any of them has been handed
 * out none of the three can fail, and being immortal they cost no
 * reference-count traffic wherever they are stored.  bool is an int, as
 * in Python: True == 1, hash(True) == hash(1), {1: 'a', True: 'b'} has
 * one key; it keeps its value in the same layout as an int, so the
 * numeric code treats both alike (IS_LONG).
 *
 * Ints are 64-bit (no arbitrary precision: a value that does not fit is
 * the caller's OURO_ERANGE to report).  The values -5..256 are so common
 * (loop counters, indices, small constants) that CPython preallocates
 * them; ouro keeps one immortal object per value and heap, made the first
 * time it is asked for, so `ouro_int_new(h, 7)` costs a table load and
 * returns the same object every time.  Immortal objects are never
 * counted, so sharing them costs no reference-count traffic either.
 *
 * Floats are 24 bytes and come from a free list when one is available
 * (state.c): arithmetic-heavy code frees and makes floats constantly.
 */
#include "types.h"

ouro_type ouro__none_type = {
    .name = "NoneType",
    .basic_size = sizeof(ouro_object),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC,
};

ouro_type ouro__bool_type = {
    .name = "bool",
    .basic_size = sizeof(o_int),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC,
};

ouro_type ouro__int_type = {
    .name = "int",
    .basic_size = sizeof(o_int),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC,
};

ouro_type ouro__float_type = {
    .name = "float",
    .basic_size = sizeof(o_float),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC | OURO__TYPE_FREELIST,
};

static ouro_object *int_alloc(ouro_heap *h, int64_t v)
{
    ouro_object *o = ouro__tnew(h, &ouro__int_type, sizeof(o_int));
    if (o)
        ((o_int *)o)->v = v;
    return o;
}

ouro_object *ouro_int_new(ouro_heap *h, int64_t v)
{
    if (!h)
        return NULL;
    if (v >= OURO__SMALLINT_MIN && v <= OURO__SMALLINT_MAX) {
        ouro__types_state *ts = ouro__ts(h);
        if (!ts)
            return NULL;
        size_t k = (size_t)(v - OURO__SMALLINT_MIN);
        ouro_object ***chunk = &ts->small_ints[k / OURO__SMALLINT_CHUNK];
        if (!*chunk) {
            *chunk = ouro_raw_alloc(h, OURO__SMALLINT_CHUNK * sizeof **chunk);
            if (!*chunk)
                return ouro__fail(h, OURO_ENOMEM);
            memset(*chunk, 0, OURO__SMALLINT_CHUNK * sizeof **chunk);
        }
        ouro_object **slot = &(*chunk)[k % OURO__SMALLINT_CHUNK];
        if (!*slot) {
            ouro_object *o = int_alloc(h, v);
            if (!o)
                return NULL;
            ouro_make_immortal(o);
            *slot = o;
        }
        return *slot;
    }
    return int_alloc(h, v);
}

int ouro_int_check(const ouro_object *o) { return IS_LONG(o); }

int ouro_int_get(const ouro_object *o, int64_t *out)
{
    if (!IS_LONG(o))
        return OURO_ETYPE;
    *out = ((const o_int *)o)->v;
    return 0;
}

int64_t ouro_int_value(const ouro_object *o)
{
    return IS_LONG(o) ? ((const o_int *)o)->v : 0;
}

/* ------------------------------------------------------------ None, bool */

ouro_object *ouro__none(ouro_heap *h)
{
    ouro__types_state *ts = ouro__ts(h);
    if (!ts)
        return NULL;
    if (OURO__LIKELY(ts->none != NULL))
        return ts->none;
    /* All three or none: each allocation may fail, and a half-made set
     * would make ouro_true fail after ouro_none succeeded.  (They are not
     * collector objects, so allocating them never runs a collection and
     * no other code can make them meanwhile.) */
    ouro_object *n = ouro__tnew(h, &ouro__none_type, sizeof(ouro_object));
    ouro_object *f = n ? ouro__tnew(h, &ouro__bool_type, sizeof(o_int)) : NULL;
    ouro_object *t = f ? ouro__tnew(h, &ouro__bool_type, sizeof(o_int)) : NULL;
    if (!t) {
        ouro_xdecref(f);
        ouro_xdecref(n);
        return ouro__fail(h, OURO_ENOMEM);
    }
    ((o_int *)f)->v = 0;
    ((o_int *)t)->v = 1;
    ouro_make_immortal(n);
    ouro_make_immortal(f);
    ouro_make_immortal(t);
    ts->bools[0] = f;
    ts->bools[1] = t;
    ts->none = n;
    return n;
}

ouro_object *ouro_none(ouro_heap *h)
{
    return h ? ouro__none(h) : NULL;
}

ouro_object *ouro_bool(ouro_heap *h, int v)
{
    if (!h || !ouro__none(h))
        return NULL;
    return ouro__ts_peek(h)->bools[v != 0];
}

ouro_object *ouro_true(ouro_heap *h) { return ouro_bool(h, 1); }
ouro_object *ouro_false(ouro_heap *h) { return ouro_bool(h, 0); }
int ouro_is_none(const ouro_object *o) { return IS_NONE(o); }
int ouro_bool_check(const ouro_object *o) { return IS_BOOL(o); }

ouro_object *ouro_float_new(ouro_heap *h, double v)
{
    if (!h)
        return NULL;
    ouro_object *o = ouro__tnew(h, &ouro__float_type, sizeof(o_float));
    if (o)
        ((o_float *)o)->v = v;
    return o;
}

int ouro_float_check(const ouro_object *o) { return IS_FLOAT(o); }

int ouro_float_get(const ouro_object *o, double *out)
{
    if (IS_FLOAT(o))
        *out = ((const o_float *)o)->v;
    else if (IS_LONG(o))
        *out = (double)((const o_int *)o)->v;
    else
        return OURO_ETYPE;
    return 0;
}

double ouro_float_value(const ouro_object *o)
{
    double d = 0;
    ouro_float_get(o, &d);
    return d;
}
