/*
 * str.c — str (immutable UTF-8 text), bytes, and interning.
 *
 * A str is one block: the header, its cached hash, its length in bytes
 * and in code points, its interning state and the text itself, NUL
 * terminated so C can read it in place.  Holding UTF-8 rather than
 * CPython's fixed-width Latin-1/UCS-2/UCS-4 forms makes non-ASCII text
 * smaller (and indexing by code point O(n), which ouro does not offer).
 *
 * INTERNING.  Names, dict keys and other strings that recur are worth
 * storing once: sys.intern gives every equal string the same object, so
 * equal strings compare by pointer and a program with a million copies
 * of "status" keeps one.  The heap's intern table maps text to that one
 * str.  It holds no reference (CPython 3.11's "mortal" interned strings):
 * an interned str dies like any other when its last reference goes, and
 * its dealloc hook takes it out of the table.
 *
 * Invariants: a str's bytes are valid UTF-8 and never change; nchars is
 * the number of code points; hash is -1 or the hash of the bytes; state is
 * INTERNED iff the str is in the table (or is the empty singleton).
 */
#include "types.h"

#define TOMB ((o_str *)(uintptr_t)1)

static size_t str_size_of(const ouro_object *o)
{
    return OURO__STR_BASE + ((const o_str *)o)->nbytes + 1;
}

static void str_dealloc(ouro_heap *h, ouro_object *o)
{
    if (((o_str *)o)->state == OURO__STR_INTERNED)
        ouro__intern_remove(h, (o_str *)o);
}

ouro_type ouro__str_type = {
    .name = "str",
    .basic_size = sizeof(o_str),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC,
    .dealloc = str_dealloc,
    .size_of = str_size_of,
};

static size_t bytes_size_of(const ouro_object *o)
{
    return OURO__BYTES_BASE + ((const o_bytes *)o)->len + 1;
}

ouro_type ouro__bytes_type = {
    .name = "bytes",
    .basic_size = sizeof(o_bytes),
    .flags = OURO_TYPE_IMMUTABLE_ATOMIC,
    .size_of = bytes_size_of,
};

/* Code points in s, or -1 if it is not valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF are invalid, as for Python). */
static ptrdiff_t utf8_count(const uint8_t *s, size_t n)
{
    size_t i = 0, count = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            count++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return -1;
        }
        if (i + len > n)
            return -1;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return -1;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return -1;
        i += len;
        count++;
    }
    return (ptrdiff_t)count;
}

static ouro_object *str_make(ouro_heap *h, const char *s, size_t n, size_t nchars)
{
    ouro_object *o = ouro__tnew(h, &ouro__str_type, OURO__STR_BASE + n + 1);
    if (!o)
        return NULL;
    o_str *st = (o_str *)o;
    st->hash = -1;
    st->nbytes = n;
    st->nchars = nchars;
    st->state = OURO__STR_PLAIN;
    memcpy(st->data, s, n);
    st->data[n] = 0;
    return o;
}

static ouro_object *empty_str(ouro_heap *h)
{
    ouro__types_state *ts = ouro__ts(h);
    if (!ts)
        return NULL;
    if (!ts->empty_str) {
        ouro_object *o = str_make(h, "", 0, 0);
        if (!o)
            return NULL;
        ((o_str *)o)->state = OURO__STR_INTERNED;
        ouro_make_immortal(o);
        ts->empty_str = o;
    }
    return ts->empty_str;
}

ouro_object *ouro_str_new(ouro_heap *h, const char *utf8, size_t nbytes)
{
    if (!h)
        return NULL;
    if (!utf8 && nbytes)
        return ouro__fail(h, OURO_EINVAL);
    if (nbytes == 0)
        return empty_str(h);
    ptrdiff_t nchars = utf8_count((const uint8_t *)utf8, nbytes);
    if (nchars < 0)
        return ouro__fail(h, OURO_EINVAL);
    return str_make(h, utf8, nbytes, (size_t)nchars);
}

ouro_object *ouro_str_from(ouro_heap *h, const char *s)
{
    if (!h)
        return NULL;
    if (!s)
        return ouro__fail(h, OURO_EINVAL);
    return ouro_str_new(h, s, strlen(s));
}

int ouro_str_check(const ouro_object *o) { return IS_STR(o); }
const char *ouro_str_data(const ouro_object *o) { return IS_STR(o) ? ((const o_str *)o)->data : NULL; }
size_t ouro_str_nbytes(const ouro_object *o) { return IS_STR(o) ? ((const o_str *)o)->nbytes : 0; }
size_t ouro_str_len(const ouro_object *o) { return IS_STR(o) ? ((const o_str *)o)->nchars : 0; }

ouro_object *ouro_str_concat(ouro_heap *h, ouro_object *a, ouro_object *b)
{
    if (!h)
        return NULL;
    if (!IS_STR(a) || !IS_STR(b))
        return ouro__fail(h, OURO_ETYPE);
    /* An empty operand returns the other one: it must be of heap h. */
    if (ouro__check_same_heap(h, a, "ouro_str_concat") < 0 ||
        ouro__check_same_heap(h, b, "ouro_str_concat") < 0)
        return ouro__fail(h, OURO_EINVAL);
    o_str *x = (o_str *)a, *y = (o_str *)b;
    if (y->nbytes == 0) {
        ouro_incref(a);
        return a;
    }
    if (x->nbytes == 0) {
        ouro_incref(b);
        return b;
    }
    ouro_object *o = ouro__tnew(h, &ouro__str_type, OURO__STR_BASE + x->nbytes + y->nbytes + 1);
    if (!o)
        return NULL;
    o_str *s = (o_str *)o;
    s->hash = -1;
    s->nbytes = x->nbytes + y->nbytes;
    s->nchars = x->nchars + y->nchars;
    s->state = OURO__STR_PLAIN;
    memcpy(s->data, x->data, x->nbytes);
    memcpy(s->data + x->nbytes, y->data, y->nbytes);
    s->data[s->nbytes] = 0;
    return o;
}

int ouro__str_cmp(const o_str *a, const o_str *b)
{
    size_t n = a->nbytes < b->nbytes ? a->nbytes : b->nbytes;
    int c = memcmp(a->data, b->data, n);
    if (c)
        return c;
    return a->nbytes < b->nbytes ? -1 : a->nbytes > b->nbytes;
}

/* ------------------------------------------------------------ interning */

static int64_t str_hash(o_str *s)
{
    /* cached on first use: relaxed atomics, since threads of a shared heap
     * may compute it at once (the same value) */
    int64_t hash = __atomic_load_n(&s->hash, __ATOMIC_RELAXED);
    if (hash == -1) {
        hash = ouro__hash_bytes(s->data, s->nbytes);
        __atomic_store_n(&s->hash, hash, __ATOMIC_RELAXED);
    }
    return hash;
}

/* The slot holding text (p, n) with hash, or the first free slot. */
static o_str **intern_find(ouro__types_state *ts, const char *p, size_t n, int64_t hash)
{
    size_t mask = ts->intern_cap - 1;
    size_t i = (size_t)hash & mask;
    o_str **free_slot = NULL;
    for (;;) {
        o_str *s = ts->intern[i];
        if (!s)
            return free_slot ? free_slot : &ts->intern[i];
        if (s == TOMB) {
            if (!free_slot)
                free_slot = &ts->intern[i];
        } else if (s->hash == hash && s->nbytes == n && memcmp(s->data, p, n) == 0) {
            return &ts->intern[i];
        }
        i = (i + 1) & mask;
    }
}

/* Room for one more entry: grow (or rehash away tombstones) at 2/3. */
static int intern_reserve(ouro_heap *h, ouro__types_state *ts)
{
    if (ts->intern && (ts->intern_fill + 1) * 3 < ts->intern_cap * 2)
        return 0;
    size_t cap = 64;
    while (cap * 2 <= (ts->intern_used + 1) * 3)
        cap *= 2;
    o_str **t = ouro_raw_alloc(h, cap * sizeof *t);
    if (!t)
        return OURO_ENOMEM;
    memset(t, 0, cap * sizeof *t);
    o_str **old = ts->intern;
    size_t oldcap = ts->intern_cap;
    ts->intern = t;
    ts->intern_cap = cap;
    ts->intern_fill = ts->intern_used;
    for (size_t i = 0; i < oldcap; i++) {
        o_str *s = old[i];
        if (s && s != TOMB)
            *intern_find(ts, s->data, s->nbytes, s->hash) = s;
    }
    ouro_raw_free(h, old);
    return 0;
}

void ouro__intern_remove(ouro_heap *h, o_str *s)
{
    ouro__types_state *ts = ouro__ts_peek(h);
    if (!ts)
        return;
    bool taken = ouro__types_lock(h);
    if (ts->intern) {
        o_str **slot = intern_find(ts, s->data, s->nbytes, s->hash);
        if (*slot == s) {
            *slot = TOMB;
            ts->intern_used--;
        }
    }
    ouro__types_unlock(h, taken);
}

/* The interned str equal to (p, n), made from `have` (a str with that
 * text, may be NULL) or fresh; a new reference. */
static ouro_object *intern_text_locked(ouro_heap *h, const char *p, size_t n, ouro_object *have)
{
    if (n == 0)
        return empty_str(h);
    ouro__types_state *ts = ouro__ts(h);
    if (!ts)
        return NULL;
    int64_t hash = have ? str_hash((o_str *)have) : ouro__hash_bytes(p, n);
    if (ts->intern) {
        o_str **slot = intern_find(ts, p, n, hash);
        if (*slot && *slot != TOMB) {
            ouro_incref((ouro_object *)*slot);
            return (ouro_object *)*slot;
        }
    }
    if (intern_reserve(h, ts) < 0)
        return ouro__fail(h, OURO_ENOMEM);
    ouro_object *o = have;
    if (o) {
        ouro_incref(o);
    } else {
        ptrdiff_t nchars = utf8_count((const uint8_t *)p, n);
        if (nchars < 0)
            return ouro__fail(h, OURO_EINVAL);
        o = str_make(h, p, n, (size_t)nchars);
        if (!o)
            return NULL;
        ((o_str *)o)->hash = hash;
    }
    o_str **slot = intern_find(ts, p, n, hash);
    if (!*slot)
        ts->intern_fill++;
    *slot = (o_str *)o;
    ts->intern_used++;
    ((o_str *)o)->state = OURO__STR_INTERNED;
    return o;
}

/* A shared heap's threads intern under the types lock (the state made
 * first: making it takes the lock too). */
static ouro_object *intern_text(ouro_heap *h, const char *p, size_t n, ouro_object *have)
{
    if (n == 0)
        return empty_str(h);
    if (!ouro__ts(h))
        return NULL;
    bool taken = ouro__types_lock(h);
    ouro_object *o = intern_text_locked(h, p, n, have);
    ouro__types_unlock(h, taken);
    return o;
}

ouro_object *ouro_str_intern(ouro_heap *h, const char *utf8, size_t nbytes)
{
    if (!h)
        return NULL;
    if (!utf8 && nbytes)
        return ouro__fail(h, OURO_EINVAL);
    return intern_text(h, utf8, nbytes, NULL);
}

int ouro_intern(ouro_object **p)
{
    if (!p || !IS_STR(*p))
        return p ? OURO_ETYPE : OURO_EINVAL;
    o_str *s = (o_str *)*p;
    if (s->state == OURO__STR_INTERNED)
        return 0;
    ouro_heap *h = HEAP(*p);
    ouro_object *i = intern_text(h, s->data, s->nbytes, *p);
    if (!i)
        return ouro_heap_last_error(h);
    ouro_object *old = *p;
    *p = i;
    ouro_decref(old);
    return 0;
}

int ouro_str_is_interned(const ouro_object *o)
{
    return IS_STR(o) && ((const o_str *)o)->state == OURO__STR_INTERNED;
}

size_t ouro_str_interned_count(ouro_heap *h)
{
    return h && ouro__ts_peek(h) ? ouro__ts_peek(h)->intern_used : 0;
}

/* ------------------------------------------------------------ bytes */

ouro_object *ouro_bytes_new(ouro_heap *h, const void *data, size_t len)
{
    if (!h)
        return NULL;
    if (!data && len)
        return ouro__fail(h, OURO_EINVAL);
    ouro__types_state *ts = NULL;
    if (len == 0) {
        ts = ouro__ts(h);
        if (!ts)
            return NULL;
        if (ts->empty_bytes)
            return ts->empty_bytes;
    }
    ouro_object *o = ouro__tnew(h, &ouro__bytes_type, OURO__BYTES_BASE + len + 1);
    if (!o)
        return NULL;
    o_bytes *b = (o_bytes *)o;
    b->hash = -1;
    b->len = len;
    if (len)
        memcpy(b->data, data, len);
    b->data[len] = 0;
    if (ts) {
        ouro_make_immortal(o);
        ts->empty_bytes = o;
    }
    return o;
}

int ouro_bytes_check(const ouro_object *o) { return IS_BYTES(o); }
const uint8_t *ouro_bytes_data(const ouro_object *o) { return IS_BYTES(o) ? ((const o_bytes *)o)->data : NULL; }
size_t ouro_bytes_len(const ouro_object *o) { return IS_BYTES(o) ? ((const o_bytes *)o)->len : 0; }
