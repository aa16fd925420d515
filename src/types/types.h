/*
 * types.h — the built-in object types' private layouts, the per-heap state
 * they share, and the invariants that hold about them.
 *
 * LAYOUTS (every object starts with the 16-byte header; sizes are what
 * ouro_sizeof reports, which like sys.getsizeof counts the object's own
 * bytes and the item storage it alone owns, not the pool's rounding)
 *
 *   None    header                                                 16
 *   bool    header, int64 value (0 or 1): an int, as in Python     24
 *   int     header, int64 value                                    24
 *   float   header, double                                         24
 *   str     header, hash, nbytes, nchars, state byte, UTF-8 + NUL  41 + n + 1
 *   bytes   header, hash, length, data + NUL                       32 + n + 1
 *   tuple   header, length, items inline                           24 + 8n
 *   list    header, length, allocated, items*  (+ 8 * allocated)   40
 *   dict    header, used, keys*                (+ the keys table)  32
 *   set     header, used, fill, mask, finger, table* (+ 16 * slots) 56
 *   array   header, length, allocated, data*, typecode (+ data)    48
 *   record  header, one pointer per field                          16 + 8n
 *   range   header, start, stop, step, length                      48
 *
 * INVARIANTS
 *   - An int in OURO__SMALLINT_MIN..OURO__SMALLINT_MAX is always the heap's cached
 *     immortal object for that value: ouro_int_new never makes another.
 *   - The empty tuple, str and bytes are per-heap immortal singletons.
 *   - None, True and False are per-heap immortal singletons, made together
 *     on first use: no other object of NoneType or bool ever exists, so
 *     `o == ts->none` is `o is None`.  A record field holds None, never
 *     NULL, except after the collector's clear.
 *   - A tuple, str and bytes never change after they are shared (refcount
 *     > 1): their cached hash stays right.
 *   - list: 0 <= len <= allocated; items[0..len) are non-NULL references;
 *     items is NULL iff allocated == 0.
 *   - dict: see dict.c (indices, entries, used/usable/nentries).
 *   - A dict is tracked by the collector if it holds a key or value that
 *     may be tracked (a GC object other than an untracked tuple); it may
 *     be tracked without holding one (until a full collection untracks it).
 *   - Interned strs have state OURO__STR_INTERNED and are in the heap's
 *     intern table, which holds no reference: a dying interned str removes
 *     itself.  No two strs in the table are equal.
 *   - A block on a free list is not an object: its flags are 0 (or FREED in
 *     debug heaps), so heap walks and leak checks skip it; it is linked
 *     through its word at offset 8.  The lists hold only blocks of the exact
 *     size their type and length need.
 */
#ifndef OURO_TYPES_TYPES_H
#define OURO_TYPES_TYPES_H

/* internal.h first: it tells the public headers that this is ouro itself
 * (OURO__LIBRARY: no call-site macros). */
#include "../core/internal.h"
#include "ouro_types.h"

#include <stdarg.h>

/* Private type flag: objects of this type may be kept on a free list by
 * ouro__types_keep and handed out again by ouro__types_take (the core
 * calls both when it has the hooks; see docs/types.md). */
#ifndef OURO__TYPE_FREELIST
#define OURO__TYPE_FREELIST (1u << 30)
#endif

#define OURO__SMALLINT_MIN (-5)
#define OURO__SMALLINT_MAX 256
#define OURO__NSMALLINT (OURO__SMALLINT_MAX - OURO__SMALLINT_MIN + 1)
#define OURO__TUPLE_FL_SIZES 20 /* tuples of 1..19 items, as PyTuple_MAXSAVESIZE */

/* ------------------------------------------------------------ layouts */

typedef struct o_int {
    OURO_HEAD;
    int64_t v;
} o_int;

typedef struct o_float {
    OURO_HEAD;
    double v;
} o_float;

enum { OURO__STR_PLAIN = 0, OURO__STR_INTERNED = 1 };

typedef struct o_str {
    OURO_HEAD;
    int64_t hash;   /* -1 until computed */
    size_t nbytes;
    size_t nchars;
    uint8_t state;  /* OURO__STR_* */
    char data[];    /* nbytes of UTF-8, then NUL */
} o_str;
#define OURO__STR_BASE offsetof(o_str, data)

typedef struct o_bytes {
    OURO_HEAD;
    int64_t hash;
    size_t len;
    uint8_t data[];
} o_bytes;
#define OURO__BYTES_BASE offsetof(o_bytes, data)

typedef struct o_tuple {
    OURO_HEAD;
    size_t n;
    ouro_object *items[];
} o_tuple;

typedef struct o_list {
    OURO_HEAD;
    size_t n;
    size_t allocated;
    ouro_object **items;
} o_list;

typedef struct ouro__dkeys ouro__dkeys;
typedef struct o_dict {
    OURO_HEAD;
    size_t used;
    ouro__dkeys *keys; /* NULL: empty, no table */
} o_dict;

typedef struct ouro__sentry {
    int64_t hash;
    ouro_object *key; /* NULL: never used; the dummy: deleted */
} ouro__sentry;

typedef struct o_set {
    OURO_HEAD;
    size_t used;   /* live keys */
    size_t fill;   /* live + deleted slots */
    size_t mask;   /* slots - 1, or 0 with no table */
    size_t finger; /* where pop looks first */
    ouro__sentry *table;
} o_set;

typedef struct o_array {
    OURO_HEAD;
    size_t n;
    size_t allocated;
    uint8_t *data;
    char typecode;
    uint8_t itemsize;
} o_array;

typedef struct o_range {
    OURO_HEAD;
    int64_t start, stop, step;
    uint64_t len;
} o_range;

typedef struct o_lru {
    OURO_HEAD;
    ouro_object *cache; /* a dict: key -> result, least recently used first */
    ouro_lru_fn fn;
    void *ctx;
    ptrdiff_t maxsize;
    size_t hits, misses;
} o_lru;

/* ------------------------------------------------------------ per-heap state */

typedef struct ouro__freelist {
    void *head;
    size_t count, max, reused, kept, released;
} ouro__freelist;

enum {
    OURO__FL_FLOAT = 0,
    OURO__FL_LIST,
    OURO__FL_DICT,
    OURO__FL_DKEYS,                       /* raw: dict tables of 8 slots */
    OURO__FL_TUPLE1,                      /* + n - 1 for tuples of n items */
    OURO__FL_COUNT = OURO__FL_TUPLE1 + OURO__TUPLE_FL_SIZES - 1
};

/* The small-int cache in chunks of 64 slots, made on demand: the state
 * then fits one pool block instead of needing a large block of its own. */
#define OURO__SMALLINT_CHUNK 64
typedef struct ouro__types_state {
    ouro_object **small_ints[(OURO__NSMALLINT + OURO__SMALLINT_CHUNK - 1) / OURO__SMALLINT_CHUNK];
    ouro_object *empty_tuple, *empty_str, *empty_bytes;
    ouro_object *none, *bools[2]; /* bools[0] is False, bools[1] True */
    ouro__freelist fl[OURO__FL_COUNT];
    /* the interned strs: open addressing on the str hash, no references */
    o_str **intern;
    size_t intern_cap, intern_used, intern_fill;
    /* weakref.finalize's registry, creation order (weakcont.c) */
    struct fin_obj *fin_head, *fin_tail;
    uint64_t fin_index;
} ouro__types_state;

/* The heap's state, made on first use (which also installs the types'
 * hooks in the heap); NULL (and last_error ENOMEM) when out of memory. */
OURO__HIDDEN ouro__types_state *ouro__ts(ouro_heap *h);
/* The state if the heap has one yet, or NULL. */
static inline ouro__types_state *ouro__ts_peek(const ouro_heap *h)
{
    return (ouro__types_state *)__atomic_load_n(&h->types, __ATOMIC_ACQUIRE);
}
/* weakcont.c: run weakref.finalize's atexit finalizers (a hook at heap
 * free). */
OURO__HIDDEN void ouro__finalize_at_exit(ouro_heap *h);

/* ------------------------------------------------------------ the types */

OURO__HIDDEN extern ouro_type ouro__none_type, ouro__bool_type;
OURO__HIDDEN extern ouro_type ouro__int_type, ouro__float_type, ouro__str_type,
    ouro__bytes_type, ouro__tuple_type, ouro__list_type, ouro__dict_type, ouro__set_type,
    ouro__array_type, ouro__range_type, ouro__lru_type, ouro__map_type;
OURO__HIDDEN extern ouro_type ouro__seqiter_types[];
OURO__HIDDEN int ouro__is_iter(const ouro_object *o);

/* A type's id, read while another thread may be registering the type
 * (type_ready in object.c writes it once, under its lock, with release
 * ordering).  Relaxed is enough for a comparison with an object's type_id:
 * an object of type t was made after t's id was published to the thread
 * that owns the object's heap, so it reads the published id; for any
 * other object both 0 and the new id compare unequal. */
static inline uint32_t ouro__type_id(const ouro_type *t)
{
    return __atomic_load_n(&t->id, __ATOMIC_RELAXED);
}

static inline bool ouro__is(const ouro_object *o, const ouro_type *t)
{
    /* An unregistered type has id 0, which no object carries. */
    return o && o->type_id == ouro__type_id(t);
}
#define IS_NONE(o) ouro__is((o), &ouro__none_type)
#define IS_BOOL(o) ouro__is((o), &ouro__bool_type)
#define IS_INT(o) ouro__is((o), &ouro__int_type)
/* An int or a bool (Python's PyLong_Check: bool is a subclass of int, and
 * both keep their value in an o_int). */
#define IS_LONG(o) (IS_INT(o) || IS_BOOL(o))
#define IS_FLOAT(o) ouro__is((o), &ouro__float_type)
#define IS_STR(o) ouro__is((o), &ouro__str_type)
#define IS_BYTES(o) ouro__is((o), &ouro__bytes_type)
#define IS_TUPLE(o) ouro__is((o), &ouro__tuple_type)
#define IS_LIST(o) ouro__is((o), &ouro__list_type)
#define IS_DICT(o) ouro__is((o), &ouro__dict_type)
#define IS_SET(o) ouro__is((o), &ouro__set_type)
#define IS_ARRAY(o) ouro__is((o), &ouro__array_type)
#define IS_RANGE(o) ouro__is((o), &ouro__range_type)
#define IS_LRU(o) ouro__is((o), &ouro__lru_type)
#define IS_RECORD(o) ((o) && ouro_type_of(o)->traverse == ouro_record_traverse)

static inline ouro_heap *HEAP(const ouro_object *o) { return ouro__heap_of(o); }

/* Set the heap's last error and return NULL / the code. */
static inline ouro_object *ouro__fail(ouro_heap *h, int code)
{
    ouro__set_error(h, code);
    return NULL;
}

/* The heap's None and bools, made on first use (NULL and ENOMEM when
 * that fails); after one success they are never NULL. */
OURO__HIDDEN ouro_object *ouro__none(ouro_heap *h);

/* Allocate an object of a built-in type (ouro_new_sized without the
 * allocation-site macros, so tracing names the caller's caller). */
OURO__HIDDEN ouro_object *ouro__tnew(ouro_heap *h, ouro_type *t, size_t size);
/* ouro_tuple_pack with the items as a va_list (tuple.c). */
OURO__HIDDEN ouro_object *ouro__tuple_vpack(ouro_heap *h, size_t n, va_list ap);

/* Whether the collector could ever need to look at o: a GC object,
 * except a tuple it has already untracked (CPython's
 * _PyObject_GC_MAY_BE_TRACKED). */
static inline bool ouro__may_be_tracked(const ouro_object *o)
{
    if (!(ouro__type(o)->flags & OURO_TYPE_GC))
        return false;
    return !IS_TUPLE(o) || o->gc_next != 0;
}

/* hash and equality, shared by dict, set and lru (hash.c). */
OURO__HIDDEN int64_t ouro__hash_bytes(const void *p, size_t n);
OURO__HIDDEN int ouro__str_cmp(const o_str *a, const o_str *b);
OURO__HIDDEN bool ouro__tuple_maybe_untrack(ouro_heap *h, ouro_object *t);
OURO__HIDDEN bool ouro__dict_maybe_untrack(ouro_heap *h, ouro_object *d);
OURO__HIDDEN void ouro__dict_keys_free(ouro_heap *h, ouro__dkeys *k);
OURO__HIDDEN size_t ouro__dict_sizeof(const ouro_object *o);

/* The lookup core of dict.c, used by lru.c: the entry index for key, or -1. */
OURO__HIDDEN int ouro__dict_move_to_end(ouro_object *d, ouro_object *key, int64_t hash);
OURO__HIDDEN int ouro__dict_pop_first(ouro_object *d);
OURO__HIDDEN ouro_object *ouro__dict_lookup(ouro_object *d, ouro_object *key, int64_t hash);
OURO__HIDDEN int ouro__dict_insert(ouro_object *d, ouro_object *key, int64_t hash,
                                   ouro_object *value);

/* An array item: 0 and *iv for integer typecodes, 1 and *dv for f, d. */
OURO__HIDDEN int ouro__array_load(const o_array *a, size_t i, int64_t *iv, double *dv);

/* Interning (str.c). */
OURO__HIDDEN void ouro__intern_remove(ouro_heap *h, o_str *s);

/* repr helpers (repr.c). */
typedef struct ouro__buf {
    char *p;
    size_t size, len;
} ouro__buf;
OURO__HIDDEN void ouro__buf_put(ouro__buf *b, const char *s, size_t n);
OURO__HIDDEN void ouro__buf_printf(ouro__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
OURO__HIDDEN void ouro__float_repr(double v, char *out, size_t size);

/* Free lists (state.c).  Dict tables of the smallest size come from and
 * go back to their own list (raw memory, no core hook needed). */
OURO__HIDDEN void *ouro__dkeys_take(ouro_heap *h, size_t bytes);
OURO__HIDDEN void ouro__dkeys_keep(ouro_heap *h, void *b);
OURO__HIDDEN int ouro__fl_index(const ouro_type *t, size_t size);
OURO__HIDDEN void *ouro__fl_pop(ouro__freelist *fl);
OURO__HIDDEN bool ouro__fl_push(ouro__freelist *fl, void *block);

#endif
