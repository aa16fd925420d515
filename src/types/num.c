/*
 * num.c — int and float.
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

int ouro_int_check(const ouro_object *o) { return IS_INT(o); }

int ouro_int_get(const ouro_object *o, int64_t *out)
{
    if (!IS_INT(o))
        return OURO_ETYPE;
    *out = ((const o_int *)o)->v;
    return 0;
}

int64_t ouro_int_value(const ouro_object *o)
{
    return IS_INT(o) ? ((const o_int *)o)->v : 0;
}

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
    else if (IS_INT(o))
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
