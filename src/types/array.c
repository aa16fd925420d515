/*
 * array.c — array.array: numbers stored unboxed, in C's own types.
 *
 * A list of a million ints costs a million 24-byte int objects plus an
 * 8-byte pointer each; an array('i') of the same numbers costs 4 bytes
 * each and no objects at all.  The price is boxing on the way out: reading
 * a[i] as an object makes an int or float (small ints come from the
 * cache, so that is often free).  The data grows like CPython's arrays:
 * by 1/16 plus a few items, amortised O(1) per append.
 *
 * Invariants: 0 <= n <= allocated; data holds allocated * itemsize bytes
 * (NULL iff allocated == 0); typecode is one of "bBhHiIlLqQfd".
 */
#include "types.h"

#include <math.h>

static size_t array_size_of(const ouro_object *self)
{
    const o_array *a = (const o_array *)self;
    return sizeof(o_array) + a->allocated * a->itemsize;
}

static void array_dealloc(ouro_heap *h, ouro_object *self)
{
    o_array *a = (o_array *)self;
    ouro_raw_free(h, a->data);
    a->data = NULL;
}

ouro_type ouro__array_type = {
    .name = "array.array",
    .basic_size = sizeof(o_array),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC | OURO_TYPE_WEAKREFABLE,
    .dealloc = array_dealloc,
    .size_of = array_size_of,
};

static int itemsize_of(char c)
{
    switch (c) {
    case 'b': case 'B': return 1;
    case 'h': case 'H': return (int)sizeof(short);
    case 'i': case 'I': return (int)sizeof(int);
    case 'l': case 'L': return (int)sizeof(long);
    case 'q': case 'Q': return (int)sizeof(long long);
    case 'f': return (int)sizeof(float);
    case 'd': return (int)sizeof(double);
    default: return 0;
    }
}

ouro_object *ouro_array_new(ouro_heap *h, char typecode)
{
    if (!h)
        return NULL;
    int size = itemsize_of(typecode);
    if (!size)
        return ouro__fail(h, OURO_EINVAL);
    ouro_object *o = ouro__tnew(h, &ouro__array_type, sizeof(o_array));
    if (o) {
        ((o_array *)o)->typecode = typecode;
        ((o_array *)o)->itemsize = (uint8_t)size;
    }
    return o;
}

int ouro_array_check(const ouro_object *o) { return IS_ARRAY(o); }
char ouro_array_typecode(const ouro_object *o) { return IS_ARRAY(o) ? ((const o_array *)o)->typecode : 0; }
size_t ouro_array_itemsize(const ouro_object *o) { return IS_ARRAY(o) ? ((const o_array *)o)->itemsize : 0; }
size_t ouro_array_len(const ouro_object *o) { return IS_ARRAY(o) ? ((const o_array *)o)->n : 0; }
const void *ouro_array_data(const ouro_object *o) { return IS_ARRAY(o) ? ((const o_array *)o)->data : NULL; }

static bool is_float_code(char c) { return c == 'f' || c == 'd'; }

/* Whether v fits the integer typecode. */
static bool int_fits(char c, int64_t v)
{
    switch (c) {
    case 'b': return v >= -128 && v <= 127;
    case 'B': return v >= 0 && v <= 255;
    case 'h': return v >= -32768 && v <= 32767;
    case 'H': return v >= 0 && v <= 65535;
    case 'i': return v >= INT32_MIN && v <= INT32_MAX;
    case 'I': return v >= 0 && v <= (int64_t)UINT32_MAX;
    case 'l': case 'q': return true;
    default: return v >= 0; /* L, Q: int64 values only, so >= 0 fits */
    }
}

static void store_int(o_array *a, size_t i, int64_t v)
{
    uint8_t *p = a->data + i * a->itemsize;
    switch (a->typecode) {
    case 'b': *(signed char *)p = (signed char)v; break;
    case 'B': *(unsigned char *)p = (unsigned char)v; break;
    case 'h': *(short *)p = (short)v; break;
    case 'H': *(unsigned short *)p = (unsigned short)v; break;
    case 'i': *(int *)p = (int)v; break;
    case 'I': *(unsigned int *)p = (unsigned int)v; break;
    case 'l': *(long *)p = (long)v; break;
    case 'L': *(unsigned long *)p = (unsigned long)v; break;
    case 'q': *(long long *)p = (long long)v; break;
    case 'Q': *(unsigned long long *)p = (unsigned long long)v; break;
    case 'f': *(float *)p = (float)v; break;
    default: *(double *)p = (double)v; break;
    }
}

static void store_double(o_array *a, size_t i, double v)
{
    uint8_t *p = a->data + i * a->itemsize;
    if (a->typecode == 'f')
        *(float *)p = (float)v;
    else
        *(double *)p = v;
}

/* 0 with *iv, 1 with *dv. */
int ouro__array_load(const o_array *a, size_t i, int64_t *iv, double *dv)
{
    const uint8_t *p = a->data + i * a->itemsize;
    switch (a->typecode) {
    case 'b': *iv = *(const signed char *)p; return 0;
    case 'B': *iv = *(const unsigned char *)p; return 0;
    case 'h': *iv = *(const short *)p; return 0;
    case 'H': *iv = *(const unsigned short *)p; return 0;
    case 'i': *iv = *(const int *)p; return 0;
    case 'I': *iv = *(const unsigned int *)p; return 0;
    case 'l': *iv = *(const long *)p; return 0;
    case 'L': *iv = (int64_t) * (const unsigned long *)p; return 0;
    case 'q': *iv = *(const long long *)p; return 0;
    case 'Q': *iv = (int64_t) * (const unsigned long long *)p; return 0;
    case 'f': *dv = *(const float *)p; return 1;
    default: *dv = *(const double *)p; return 1;
    }
}

static int array_grow(ouro_heap *h, o_array *a, size_t newsize)
{
    if (newsize <= a->allocated)
        return 0;
    size_t want = newsize + (newsize >> 4) + (a->n < 8 ? 3 : 7);
    if (want > ((size_t)1 << 40) / a->itemsize)
        return OURO_ENOMEM;
    uint8_t *d = ouro_raw_realloc(h, a->data, want * a->itemsize);
    if (!d)
        return OURO_ENOMEM;
    a->data = d;
    a->allocated = want;
    return 0;
}

static bool norm_index(ptrdiff_t *i, size_t n)
{
    if (*i < 0)
        *i += (ptrdiff_t)n;
    return *i >= 0 && (size_t)*i < n;
}

int ouro_array_append_int(ouro_object *o, int64_t v)
{
    if (!IS_ARRAY(o))
        return OURO_ETYPE;
    o_array *a = (o_array *)o;
    if (!is_float_code(a->typecode) && !int_fits(a->typecode, v))
        return OURO_ERANGE;
    int rc = array_grow(HEAP(o), a, a->n + 1);
    if (rc < 0)
        return rc;
    store_int(a, a->n++, v);
    return 0;
}

int ouro_array_append_double(ouro_object *o, double v)
{
    if (!IS_ARRAY(o))
        return OURO_ETYPE;
    o_array *a = (o_array *)o;
    if (!is_float_code(a->typecode))
        return OURO_ETYPE; /* array('i').append(1.5) is a TypeError */
    int rc = array_grow(HEAP(o), a, a->n + 1);
    if (rc < 0)
        return rc;
    store_double(a, a->n++, v);
    return 0;
}

int ouro_array_append(ouro_object *a, ouro_object *v)
{
    if (IS_LONG(v)) /* array('i').append(True) appends 1, as in Python */
        return ouro_array_append_int(a, ((o_int *)v)->v);
    if (IS_FLOAT(v))
        return ouro_array_append_double(a, ((o_float *)v)->v);
    return OURO_ETYPE;
}

int ouro_array_get_int(ouro_object *o, ptrdiff_t i, int64_t *out)
{
    if (!IS_ARRAY(o) || is_float_code(((o_array *)o)->typecode))
        return OURO_ETYPE;
    o_array *a = (o_array *)o;
    if (!norm_index(&i, a->n))
        return OURO_ERANGE;
    double d;
    ouro__array_load(a, (size_t)i, out, &d);
    return 0;
}

int ouro_array_get_double(ouro_object *o, ptrdiff_t i, double *out)
{
    if (!IS_ARRAY(o))
        return OURO_ETYPE;
    o_array *a = (o_array *)o;
    if (!norm_index(&i, a->n))
        return OURO_ERANGE;
    int64_t iv;
    if (!ouro__array_load(a, (size_t)i, &iv, out))
        *out = (double)iv;
    return 0;
}

int ouro_array_set_int(ouro_object *o, ptrdiff_t i, int64_t v)
{
    if (!IS_ARRAY(o))
        return OURO_ETYPE;
    o_array *a = (o_array *)o;
    if (!norm_index(&i, a->n))
        return OURO_ERANGE;
    if (!is_float_code(a->typecode) && !int_fits(a->typecode, v))
        return OURO_ERANGE;
    store_int(a, (size_t)i, v);
    return 0;
}

int ouro_array_set_double(ouro_object *o, ptrdiff_t i, double v)
{
    if (!IS_ARRAY(o) || !is_float_code(((o_array *)o)->typecode))
        return OURO_ETYPE;
    o_array *a = (o_array *)o;
    if (!norm_index(&i, a->n))
        return OURO_ERANGE;
    store_double(a, (size_t)i, v);
    return 0;
}

ouro_object *ouro_array_get(ouro_object *o, ptrdiff_t i)
{
    if (!IS_ARRAY(o))
        return o ? ouro__fail(HEAP(o), OURO_ETYPE) : NULL;
    o_array *a = (o_array *)o;
    if (!norm_index(&i, a->n))
        return ouro__fail(HEAP(o), OURO_ERANGE);
    int64_t iv;
    double dv;
    if (ouro__array_load(a, (size_t)i, &iv, &dv))
        return ouro_float_new(HEAP(o), dv);
    return ouro_int_new(HEAP(o), iv);
}

int ouro_array_pop(ouro_object *o, ptrdiff_t i)
{
    if (!IS_ARRAY(o))
        return OURO_ETYPE;
    o_array *a = (o_array *)o;
    if (!norm_index(&i, a->n))
        return OURO_ERANGE;
    memmove(a->data + (size_t)i * a->itemsize, a->data + ((size_t)i + 1) * a->itemsize,
            (a->n - (size_t)i - 1) * a->itemsize);
    a->n--;
    return 0;
}
