/*
 * ops.c — the operations every built-in type shares: hash, equality, len,
 * repr.
 *
 * Hashes of numbers are Python's: a number's hash is its value modulo the
 * Mersenne prime 2^61 - 1, extended to rationals (a float is m * 2^e), so
 * equal numbers hash equally across int and float and `d[1]` finds the
 * key 1.0.  Strings and bytes use FNV-1a with a final avalanche (not
 * CPython's randomised SipHash: ouro has no untrusted input to defend
 * against, and reproducible hashes make dict order in tests stable —
 * which insertion order makes irrelevant anyway).  Tuples combine their
 * items' hashes xxHash-style.  Other objects hash by identity, None
 * included (CPython 3.11 hashes None by its address too); bools hash as
 * the ints 0 and 1, as they must for True == 1 to find the same dict key.
 */
#include "types.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define MODULUS (((uint64_t)1 << 61) - 1)
#define DEPTH_MAX 1000

static int64_t fix_minus_one(int64_t x) { return x == -1 ? -2 : x; }

static int64_t hash_int(int64_t v)
{
    uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    int64_t r = (int64_t)(a % MODULUS);
    return fix_minus_one(v < 0 ? -r : r);
}

static uint64_t mulmod(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) % MODULUS);
}

static int64_t hash_pointer(const void *p)
{
    uintptr_t y = (uintptr_t)p;
    y = (y >> 4) | (y << (8 * sizeof y - 4)); /* the low bits are alignment */
    return fix_minus_one((int64_t)y);
}

static int64_t hash_double(double x, const void *self)
{
    if (isinf(x))
        return x > 0 ? 314159 : -314159;
    if (isnan(x))
        return hash_pointer(self);
    int e;
    double m = frexp(fabs(x), &e); /* |x| = m * 2^e, 0.5 <= m < 1 */
    uint64_t M = (uint64_t)ldexp(m, 53);
    int k = e - 53; /* |x| = M * 2^k */
    /* 2^61 = 1 (mod 2^61 - 1), so 2^k is 2^(k mod 61) for any k. */
    int r = ((k % 61) + 61) % 61;
    uint64_t h = mulmod(M % MODULUS, (uint64_t)1 << r);
    int64_t s = (int64_t)h;
    return fix_minus_one(x < 0 ? -s : s);
}

int64_t ouro__hash_bytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3u;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 33;
    return fix_minus_one((int64_t)h);
}

static int hash_depth(ouro_object *o, int64_t *out, int depth)
{
    if (depth > DEPTH_MAX)
        return OURO_ELIMIT;
    if (IS_LONG(o)) {
        *out = hash_int(((o_int *)o)->v);
    } else if (IS_FLOAT(o)) {
        *out = hash_double(((o_float *)o)->v, o);
    } else if (IS_STR(o)) {
        o_str *s = (o_str *)o;
        if (s->hash == -1)
            s->hash = ouro__hash_bytes(s->data, s->nbytes);
        *out = s->hash;
    } else if (IS_BYTES(o)) {
        o_bytes *s = (o_bytes *)o;
        if (s->hash == -1)
            s->hash = ouro__hash_bytes(s->data, s->len);
        *out = s->hash;
    } else if (IS_TUPLE(o)) {
        o_tuple *t = (o_tuple *)o;
        uint64_t acc = 0x27d4eb2f165667c5u;
        for (size_t i = 0; i < t->n; i++) {
            int64_t lane;
            if (!t->items[i])
                return OURO_EINVAL;
            int rc = hash_depth(t->items[i], &lane, depth + 1);
            if (rc < 0)
                return rc;
            acc += (uint64_t)lane * 0xc2b2ae3d27d4eb4fu;
            acc = (acc << 31) | (acc >> 33);
            acc *= 0x9e3779b185ebca87u;
        }
        acc += t->n ^ 0x27d4eb2f1659a3d2u;
        *out = fix_minus_one((int64_t)acc);
    } else if (IS_RANGE(o)) {
        o_range *r = (o_range *)o;
        /* hash((len, start, step)) in spirit: equal ranges hash equally. */
        int64_t lanes[3] = {(int64_t)r->len, r->len ? r->start : 0, r->len > 1 ? r->step : 0};
        *out = ouro__hash_bytes(lanes, sizeof lanes);
    } else if (IS_LIST(o) || IS_DICT(o) || IS_SET(o) || IS_ARRAY(o)) {
        return OURO_ETYPE; /* mutable: unhashable, as in Python */
    } else {
        /* Everything else by identity: None, records, iterators, and an
         * LRU cache, which is a function to Python (hashable, its cache
         * changing does not make it another key). */
        *out = hash_pointer(o);
    }
    return 0;
}

int ouro_hash(ouro_object *o, int64_t *out)
{
    if (!o || !out)
        return OURO_EINVAL;
    return hash_depth(o, out, 0);
}

/* ------------------------------------------------------------ equality */

static int equal_depth(ouro_object *a, ouro_object *b, int depth);

static int int_float_equal(int64_t i, double f)
{
    /* Exact: 2^63 as a double is out of int64's range. */
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0) || f != floor(f))
        return 0;
    return (int64_t)f == i;
}

static int seq_equal(ouro_object *const *x, ouro_object *const *y, size_t n, int depth)
{
    for (size_t i = 0; i < n; i++) {
        int rc = equal_depth(x[i], y[i], depth + 1);
        if (rc <= 0)
            return rc;
    }
    return 1;
}

static int array_item(o_array *a, size_t i, int64_t *iv, double *dv);

static int equal_depth(ouro_object *a, ouro_object *b, int depth)
{
    if (a == b)
        return 1;
    if (!a || !b)
        return 0;
    if (depth > DEPTH_MAX)
        return OURO_ELIMIT;
    if ((IS_LONG(a) || IS_FLOAT(a)) && (IS_LONG(b) || IS_FLOAT(b))) {
        if (IS_LONG(a) && IS_LONG(b))
            return ((o_int *)a)->v == ((o_int *)b)->v;
        if (IS_FLOAT(a) && IS_FLOAT(b))
            return ((o_float *)a)->v == ((o_float *)b)->v;
        if (IS_LONG(a))
            return int_float_equal(((o_int *)a)->v, ((o_float *)b)->v);
        return int_float_equal(((o_int *)b)->v, ((o_float *)a)->v);
    }
    if (a->type_id != b->type_id)
        return 0;
    if (IS_STR(a)) {
        o_str *x = (o_str *)a, *y = (o_str *)b;
        if (x->hash != -1 && y->hash != -1 && x->hash != y->hash)
            return 0;
        return x->nbytes == y->nbytes && memcmp(x->data, y->data, x->nbytes) == 0;
    }
    if (IS_BYTES(a)) {
        o_bytes *x = (o_bytes *)a, *y = (o_bytes *)b;
        return x->len == y->len && memcmp(x->data, y->data, x->len) == 0;
    }
    if (IS_TUPLE(a)) {
        o_tuple *x = (o_tuple *)a, *y = (o_tuple *)b;
        return x->n == y->n ? seq_equal(x->items, y->items, x->n, depth) : 0;
    }
    if (IS_LIST(a)) {
        o_list *x = (o_list *)a, *y = (o_list *)b;
        return x->n == y->n ? seq_equal(x->items, y->items, x->n, depth) : 0;
    }
    if (IS_RECORD(a)) {
        size_t n = ((ouro_record_type *)ouro__type(a))->nfields;
        return seq_equal((ouro_object **)(a + 1), (ouro_object **)(b + 1), n, depth);
    }
    if (IS_DICT(a)) {
        if (ouro_dict_len(a) != ouro_dict_len(b))
            return 0;
        size_t pos = 0;
        ouro_object *k, *v;
        while (ouro_dict_next(a, &pos, &k, &v)) {
            int64_t hk;
            if (ouro_hash(k, &hk) < 0)
                return OURO_ETYPE;
            ouro_object *w = ouro__dict_lookup(b, k, hk);
            if (!w)
                return 0;
            int rc = equal_depth(v, w, depth + 1);
            if (rc <= 0)
                return rc;
        }
        return 1;
    }
    if (IS_SET(a)) {
        if (ouro_set_len(a) != ouro_set_len(b))
            return 0;
        size_t pos = 0;
        ouro_object *k;
        while (ouro_set_next(a, &pos, &k)) {
            int rc = ouro_set_contains(b, k);
            if (rc <= 0)
                return rc;
        }
        return 1;
    }
    if (IS_ARRAY(a)) {
        o_array *x = (o_array *)a, *y = (o_array *)b;
        if (x->n != y->n)
            return 0;
        for (size_t i = 0; i < x->n; i++) {
            int64_t xi, yi;
            double xd, yd;
            int kx = array_item(x, i, &xi, &xd), ky = array_item(y, i, &yi, &yd);
            int eq = kx && ky ? xi == yi
                   : !kx && !ky ? xd == yd
                   : kx ? int_float_equal(xi, yd) : int_float_equal(yi, xd);
            if (!eq)
                return 0;
        }
        return 1;
    }
    if (IS_RANGE(a)) {
        o_range *x = (o_range *)a, *y = (o_range *)b;
        if (x->len != y->len)
            return 0;
        if (x->len == 0)
            return 1;
        if (x->start != y->start)
            return 0;
        return x->len == 1 || x->step == y->step;
    }
    return 0;
}

int ouro_equal(ouro_object *a, ouro_object *b)
{
    return equal_depth(a, b, 0);
}

/* 1 with *iv for integer typecodes, 0 with *dv for f and d. */
static int array_item(o_array *a, size_t i, int64_t *iv, double *dv)
{
    return !ouro__array_load(a, i, iv, dv);
}

ptrdiff_t ouro_len(ouro_object *o)
{
    if (IS_STR(o))
        return (ptrdiff_t)((o_str *)o)->nchars;
    if (IS_BYTES(o))
        return (ptrdiff_t)((o_bytes *)o)->len;
    if (IS_TUPLE(o))
        return (ptrdiff_t)((o_tuple *)o)->n;
    if (IS_LIST(o))
        return (ptrdiff_t)((o_list *)o)->n;
    if (IS_DICT(o))
        return (ptrdiff_t)((o_dict *)o)->used;
    if (IS_SET(o))
        return (ptrdiff_t)((o_set *)o)->used;
    if (IS_ARRAY(o))
        return (ptrdiff_t)((o_array *)o)->n;
    if (IS_RANGE(o))
        return (ptrdiff_t)((o_range *)o)->len;
    if (IS_RECORD(o))
        return (ptrdiff_t)((ouro_record_type *)ouro__type(o))->nfields;
    if (IS_LRU(o))
        return (ptrdiff_t)ouro_dict_len(((o_lru *)o)->cache);
    return OURO_ETYPE;
}

int ouro_is_builtin(const ouro_object *o)
{
    return o && (IS_NONE(o) || IS_BOOL(o) || IS_INT(o) || IS_FLOAT(o) || IS_STR(o) || IS_BYTES(o) || IS_TUPLE(o) ||
                 IS_LIST(o) || IS_DICT(o) || IS_SET(o) || IS_ARRAY(o) || IS_RANGE(o) ||
                 IS_LRU(o) || ouro__is_iter(o) || IS_RECORD(o));
}

/* bool(o), Python's truth test: None and False are false, numbers when
 * zero, containers when empty (a record like the namedtuple it stands
 * for: when it has no fields); every other object is true. */
int ouro_truth(ouro_object *o)
{
    if (!o)
        return OURO_EINVAL;
    if (IS_NONE(o))
        return 0;
    if (IS_LONG(o))
        return ((o_int *)o)->v != 0;
    if (IS_FLOAT(o))
        return ((o_float *)o)->v != 0.0;
    if (IS_LRU(o))
        return 1; /* a function: ouro_len counts its cache */
    ptrdiff_t n = ouro_len(o);
    return n == OURO_ETYPE ? 1 : n != 0;
}

/* ------------------------------------------------------------ repr */

void ouro__buf_put(ouro__buf *b, const char *s, size_t n)
{
    if (b->len + 1 < b->size) {
        size_t room = b->size - 1 - b->len;
        memcpy(b->p + b->len, s, n < room ? n : room);
    }
    b->len += n;
}

void ouro__buf_printf(ouro__buf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        ouro__buf_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Python's repr of a float: the shortest digits that read back as the
 * same double, in fixed notation for exponents -4..15, else scientific. */
void ouro__float_repr(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v > 0 ? "inf" : "-inf");
        return;
    }
    char sci[40];
    int prec;
    for (prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof sci, "%.*e", prec - 1, v);
        if (strtod(sci, NULL) == v)
            break;
    }
    /* sci is [-]d[.ddd]e[+-]XX: take the digits and the exponent. */
    char digits[24];
    size_t nd = 0;
    const char *p = sci;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = 0;
    char res[64];
    size_t k = 0;
    if (neg)
        res[k++] = '-';
    if (exp10 >= -4 && exp10 < 16) {
        if (exp10 < 0) {
            res[k++] = '0';
            res[k++] = '.';
            for (int i = -1; i > exp10; i--)
                res[k++] = '0';
            for (size_t i = 0; i < nd; i++)
                res[k++] = digits[i];
        } else {
            for (int i = 0; i <= exp10; i++)
                res[k++] = (size_t)i < nd ? digits[i] : '0';
            res[k++] = '.';
            if ((size_t)exp10 + 1 < nd)
                for (size_t i = (size_t)exp10 + 1; i < nd; i++)
                    res[k++] = digits[i];
            else
                res[k++] = '0';
        }
        res[k] = 0;
    } else {
        res[k++] = digits[0];
        if (nd > 1) {
            res[k++] = '.';
            for (size_t i = 1; i < nd; i++)
                res[k++] = digits[i];
        }
        snprintf(res + k, sizeof res - k, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
    }
    snprintf(out, size, "%s", res);
}

typedef struct repr_ctx {
    ouro__buf *b;
    ouro_object *stack[64];
    int depth;
} repr_ctx;

static void repr_obj(repr_ctx *rc, ouro_object *o);

static void repr_quoted(ouro__buf *b, const uint8_t *s, size_t n, bool is_bytes)
{
    bool has_single = memchr(s, '\'', n) != NULL, has_double = memchr(s, '"', n) != NULL;
    char q = has_single && !has_double ? '"' : '\'';
    if (is_bytes)
        ouro__buf_put(b, "b", 1);
    ouro__buf_put(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == (uint8_t)q || c == '\\') {
            char e[2] = {'\\', (char)c};
            ouro__buf_put(b, e, 2);
        } else if (c == '\n') {
            ouro__buf_put(b, "\\n", 2);
        } else if (c == '\r') {
            ouro__buf_put(b, "\\r", 2);
        } else if (c == '\t') {
            ouro__buf_put(b, "\\t", 2);
        } else if (c < 0x20 || c == 0x7f || (is_bytes && c >= 0x80)) {
            ouro__buf_printf(b, "\\x%02x", c);
        } else {
            ouro__buf_put(b, (const char *)&c, 1);
        }
    }
    ouro__buf_put(b, &q, 1);
}

static void repr_items(repr_ctx *rc, ouro_object *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            ouro__buf_put(rc->b, ", ", 2);
        repr_obj(rc, items[i]);
    }
}

static void repr_obj(repr_ctx *rc, ouro_object *o)
{
    ouro__buf *b = rc->b;
    char tmp[64];
    if (!o || IS_NONE(o)) {
        ouro__buf_put(b, "None", 4);
        return;
    }
    if (IS_BOOL(o)) {
        if (((o_int *)o)->v)
            ouro__buf_put(b, "True", 4);
        else
            ouro__buf_put(b, "False", 5);
        return;
    }
    if (IS_INT(o)) {
        ouro__buf_printf(b, "%lld", (long long)((o_int *)o)->v);
        return;
    }
    if (IS_FLOAT(o)) {
        ouro__float_repr(((o_float *)o)->v, tmp, sizeof tmp);
        ouro__buf_put(b, tmp, strlen(tmp));
        return;
    }
    if (IS_STR(o)) {
        repr_quoted(b, (const uint8_t *)((o_str *)o)->data, ((o_str *)o)->nbytes, false);
        return;
    }
    if (IS_BYTES(o)) {
        repr_quoted(b, ((o_bytes *)o)->data, ((o_bytes *)o)->len, true);
        return;
    }
    if (IS_RANGE(o)) {
        o_range *r = (o_range *)o;
        if (r->step == 1)
            ouro__buf_printf(b, "range(%lld, %lld)", (long long)r->start, (long long)r->stop);
        else
            ouro__buf_printf(b, "range(%lld, %lld, %lld)", (long long)r->start,
                             (long long)r->stop, (long long)r->step);
        return;
    }
    if (IS_ARRAY(o)) {
        o_array *a = (o_array *)o;
        ouro__buf_printf(b, "array('%c'", a->typecode);
        if (a->n) {
            ouro__buf_put(b, ", [", 3);
            for (size_t i = 0; i < a->n; i++) {
                int64_t iv;
                double dv;
                if (i)
                    ouro__buf_put(b, ", ", 2);
                if (array_item(a, i, &iv, &dv)) {
                    if (a->typecode == 'L' || a->typecode == 'Q')
                        ouro__buf_printf(b, "%llu", (unsigned long long)iv);
                    else
                        ouro__buf_printf(b, "%lld", (long long)iv);
                } else {
                    ouro__float_repr(dv, tmp, sizeof tmp);
                    ouro__buf_put(b, tmp, strlen(tmp));
                }
            }
            ouro__buf_put(b, "]", 1);
        }
        ouro__buf_put(b, ")", 1);
        return;
    }
    bool container = IS_TUPLE(o) || IS_LIST(o) || IS_DICT(o) || IS_SET(o) || IS_RECORD(o);
    if (!container) {
        ouro__buf_printf(b, "<%s object at %p>", ouro_type_name(o), (void *)o);
        return;
    }
    for (int i = 0; i < rc->depth; i++) {
        if (rc->stack[i] == o) {
            ouro__buf_put(b, IS_LIST(o) ? "[...]" : IS_DICT(o) ? "{...}" : "...",
                          IS_LIST(o) || IS_DICT(o) ? 5 : 3);
            return;
        }
    }
    if (rc->depth == (int)(sizeof rc->stack / sizeof rc->stack[0])) {
        ouro__buf_put(b, "...", 3);
        return;
    }
    rc->stack[rc->depth++] = o;
    if (IS_TUPLE(o)) {
        o_tuple *t = (o_tuple *)o;
        ouro__buf_put(b, "(", 1);
        repr_items(rc, t->items, t->n);
        ouro__buf_put(b, t->n == 1 ? ",)" : ")", t->n == 1 ? 2 : 1);
    } else if (IS_LIST(o)) {
        o_list *l = (o_list *)o;
        ouro__buf_put(b, "[", 1);
        repr_items(rc, l->items, l->n);
        ouro__buf_put(b, "]", 1);
    } else if (IS_DICT(o)) {
        size_t pos = 0, i = 0;
        ouro_object *k, *v;
        ouro__buf_put(b, "{", 1);
        while (ouro_dict_next(o, &pos, &k, &v)) {
            if (i++)
                ouro__buf_put(b, ", ", 2);
            repr_obj(rc, k);
            ouro__buf_put(b, ": ", 2);
            repr_obj(rc, v);
        }
        ouro__buf_put(b, "}", 1);
    } else if (IS_SET(o)) {
        size_t pos = 0, i = 0;
        ouro_object *k;
        if (((o_set *)o)->used == 0) {
            ouro__buf_put(b, "set()", 5);
        } else {
            ouro__buf_put(b, "{", 1);
            while (ouro_set_next(o, &pos, &k)) {
                if (i++)
                    ouro__buf_put(b, ", ", 2);
                repr_obj(rc, k);
            }
            ouro__buf_put(b, "}", 1);
        }
    } else {
        const ouro_record_type *rt = (const ouro_record_type *)ouro__type(o);
        ouro_object **f = (ouro_object **)(o + 1);
        ouro__buf_printf(b, "%s(", rt->base.name);
        for (size_t i = 0; i < rt->nfields; i++) {
            if (i)
                ouro__buf_put(b, ", ", 2);
            ouro__buf_printf(b, "%s=", rt->fields[i]);
            repr_obj(rc, f[i]);
        }
        ouro__buf_put(b, ")", 1);
    }
    rc->depth--;
}

size_t ouro_repr(ouro_object *o, char *buf, size_t size)
{
    ouro__buf b = {buf, size, 0};
    repr_ctx rc;
    rc.b = &b;
    rc.depth = 0;
    repr_obj(&rc, o);
    if (size)
        buf[b.len < size ? b.len : size - 1] = 0;
    return b.len;
}
