/*
 * ouro_types.h — the built-in object types, on top of the core (ouro.h).
 *
 * Python's everyday objects (int, float, str, bytes, tuple, list, dict, set,
 * array, records, an LRU cache, iterators), weakref.finalize and the weak
 * containers (WeakValueDictionary, WeakKeyDictionary, WeakSet).  Everything
 * here is written against the core's public API and a hook table the types
 * install in a heap when they first use it; a program that only wants heaps,
 * objects and the collector includes ouro.h and links libouro alone.
 *
 * Link with libouro-types (pkg-config ouro-types), which needs libouro.
 */
#ifndef OURO_TYPES_H
#define OURO_TYPES_H

#include "ouro.h"

#ifdef __cplusplus
extern "C" {
#endif
/* ------------------------------------------------------ weakref.finalize */

/*
 * finalize(obj, fn, ...): fn(h, ctx, arg) runs once, when `target` dies (by
 * reference counting or in cyclic trash), when the finalizer is called, or
 * at ouro_heap_free if it is still alive and `atexit` is set (the default;
 * newest first, as Python does at exit).  The heap keeps the finalizer
 * alive until it has run or is detached, so the returned new reference may
 * be dropped at once.  `arg` (may be NULL) is held strongly until then.
 */
typedef void (*ouro_finalize_fn)(ouro_heap *h, void *ctx, ouro_object *arg);
OURO_API ouro_object *ouro_finalize_new(ouro_heap *h, ouro_object *target,
                                        ouro_finalize_fn fn, void *ctx, ouro_object *arg);
/* f(): run it now if alive; 1 if it ran, 0 if it was dead already. */
OURO_API int ouro_finalize_call(ouro_object *f);
/* f.detach(): 1 and the target as a new reference in *target (may be NULL)
 * if it was alive, 0 otherwise.  It will not run any more. */
OURO_API int ouro_finalize_detach(ouro_object *f, ouro_object **target);
/* f.peek(): 1 and the target (borrowed) if alive, 0 otherwise. */
OURO_API int ouro_finalize_peek(ouro_object *f, ouro_object **target);
OURO_API int ouro_finalize_alive(ouro_object *f);
OURO_API int ouro_finalize_get_atexit(ouro_object *f);
OURO_API void ouro_finalize_set_atexit(ouro_object *f, int atexit);

/* ------------------------------------------------------ weak containers */

/*
 * WeakValueDictionary (keys: any hashable object, held strongly; values
 * weakly held), WeakKeyDictionary (keys weakly held; values strong) and
 * WeakSet (items weakly held).  Keys and items are found by hash and
 * equality (ouro_hash, ouro_equal), as in Python: an unhashable key is
 * OURO_ETYPE, and d[1] finds the key 1.0 or True.  All three are managed
 * objects: create them with ouro_*_new (new reference), drop them with
 * ouro_decref.  An entry disappears as soon as its weakly held object
 * dies; during an items() walk removals are deferred until the walk ends,
 * as Python's _IterationGuard does.  Weakly held objects must be of types
 * that allow weak references (OURO_ETYPE otherwise: None, True, ints...
 * cannot be, as in Python).  Functions returning int give 0 / 1 or a
 * negative OURO_E* code.
 *
 * The WeakValueDictionary's byte-string calls (ouro_wvdict_set/get/del/
 * items) are shorthands for keys that are bytes objects: _set stores
 * bytes(key), _get and _del look raw bytes up without allocating, and
 * _items walks only the entries whose key is bytes.
 */
typedef int (*ouro_wv_item_fn)(const void *key, size_t klen, ouro_object *value, void *arg);
typedef int (*ouro_wk_item_fn)(ouro_object *key, ouro_object *value, void *arg);

OURO_API ouro_object *ouro_wvdict_new(ouro_heap *h); /* new reference */
OURO_API int ouro_wvdict_set(ouro_object *d, const void *key, size_t klen, ouro_object *value);
OURO_API ouro_object *ouro_wvdict_get(ouro_object *d, const void *key, size_t klen); /* new ref */
OURO_API int ouro_wvdict_del(ouro_object *d, const void *key, size_t klen);
OURO_API size_t ouro_wvdict_len(ouro_object *d);
OURO_API int ouro_wvdict_items(ouro_object *d, ouro_wv_item_fn fn, void *arg);
/* d[key] = value: 0, OURO_ETYPE (unhashable key, or a value that allows
 * no weak references), OURO_ENOMEM. */
OURO_API int ouro_wvdict_setitem(ouro_object *d, ouro_object *key, ouro_object *value);
/* d.get(key): a new reference to the value, or NULL (absent, dead, or an
 * unhashable key). */
OURO_API ouro_object *ouro_wvdict_getitem(ouro_object *d, ouro_object *key);
/* del d[key]: 1 if it was there, 0 if not, or OURO_ETYPE. */
OURO_API int ouro_wvdict_delitem(ouro_object *d, ouro_object *key);
/* key in d: 1 or 0 (a key whose value has died is not in d). */
OURO_API int ouro_wvdict_contains(ouro_object *d, ouro_object *key);
/* d.items() with object keys: fn(key, value, arg), both borrowed. */
OURO_API int ouro_wvdict_items_obj(ouro_object *d, ouro_wk_item_fn fn, void *arg);

OURO_API ouro_object *ouro_wkdict_new(ouro_heap *h); /* new reference */
OURO_API int ouro_wkdict_set(ouro_object *d, ouro_object *key, ouro_object *value);
OURO_API ouro_object *ouro_wkdict_get(ouro_object *d, ouro_object *key); /* new ref */
OURO_API int ouro_wkdict_del(ouro_object *d, ouro_object *key);
OURO_API size_t ouro_wkdict_len(ouro_object *d);
OURO_API int ouro_wkdict_items(ouro_object *d, ouro_wk_item_fn fn, void *arg);

OURO_API ouro_object *ouro_wset_new(ouro_heap *h); /* new reference */
OURO_API int ouro_wset_add(ouro_object *s, ouro_object *item);
OURO_API int ouro_wset_contains(ouro_object *s, ouro_object *item);
OURO_API int ouro_wset_discard(ouro_object *s, ouro_object *item);
OURO_API size_t ouro_wset_len(ouro_object *s);
OURO_API int ouro_wset_items(ouro_object *s, ouro_wk_item_fn fn, void *arg); /* value NULL */

/* weakref.getweakrefs(o): a new reference to a new list of the weak
 * references to o, in ouro_weakref_list's order; NULL and OURO_ENOMEM. */
OURO_API ouro_object *ouro_weakref_getweakrefs(ouro_object *o);

/* ------------------------------------------------------ built-in types */

/*
 * The built-in object types.
 *
 * Python's everyday objects as ouro types: None, bool, int, float, str,
 * bytes, tuple, list, dict, set, array, record types (namedtuple /
 * __slots__), an LRU cache (functools.lru_cache), iterators and a lazy
 * range, with CPython's
 * memory-saving machinery: a cache of small ints, free lists, interning,
 * untracking of containers that hold only atomic objects.
 *
 * Conventions, as for the rest of the API:
 *   - Constructors return a new reference, or NULL with the reason in
 *     ouro_heap_last_error(): OURO_ENOMEM, OURO_EINVAL, OURO_ETYPE...
 *   - Getters that return an object return a *borrowed* reference unless
 *     they say "new reference"; on failure they return NULL and set the
 *     heap's last error (OURO_ERANGE for an index out of range,
 *     OURO_ENOTFOUND for a missing key, OURO_ETYPE for a wrong type).
 *   - Functions returning int give 0 (or 0/1 for predicates, a count...)
 *     or a negative OURO_E* code.  Passing an object of the wrong type is
 *     OURO_ETYPE, never a crash.
 *   - Storing an object into a container takes a new reference to it
 *     (the caller keeps its own).  An object of another heap is refused:
 *     OURO_EINVAL (NULL and OURO_EINVAL from constructors), an abort with
 *     both heaps named in a debug heap.
 *   - NULL is C's "no object", not Python's None: containers refuse it
 *     (OURO_EINVAL).  Store ouro_none(h), which every container, record,
 *     dict key and LRU key accepts as Python does.  (Record fields and
 *     ouro_repr read NULL as None, for compatibility.)
 *   - Indices are Python's: negative ones count from the end.
 *   - Out of memory leaves every object as it was before the call.
 */


/* ------------------------------------------------------------- generic */

/* hash(o): 0 and *out, or OURO_ETYPE for an unhashable object (list,
 * dict, set, array, or a tuple holding one).  Numbers hash as Python's do
 * (hash(1) == hash(1.0) == hash(True) == 1); objects of other types, None
 * included, hash by identity. */
OURO_API int ouro_hash(ouro_object *o, int64_t *out);
/* a == b: 1 or 0 (or a negative code).  Numbers compare by value across
 * bool, int and float (True == 1 == 1.0); str, bytes, tuple, list, dict, set, array and records by
 * content; other objects by identity. */
OURO_API int ouro_equal(ouro_object *a, ouro_object *b);
/* len(o), or OURO_ETYPE. */
OURO_API ptrdiff_t ouro_len(ouro_object *o);
/* repr(o) into buf (truncated, NUL-terminated); returns the length the
 * whole text needs, like snprintf.  None and NULL print as None. */
OURO_API size_t ouro_repr(ouro_object *o, char *buf, size_t size);
/* Whether o is an object of one of the types below (never of user
 * types).  ouro_type_name(o) (ouro.h) gives the Python name of its type
 * ("int", "list", ...). */
OURO_API int ouro_is_builtin(const ouro_object *o);
/* bool(o), Python's truth test: 0 for None, False, zero numbers and empty
 * containers (str, bytes, tuple, list, dict, set, array, range, a record
 * of no fields), 1 for everything else; OURO_EINVAL for NULL. */
OURO_API int ouro_truth(ouro_object *o);

/* ------------------------------------------------------ None, True, False */

/*
 * One immortal None, True and False per heap (CPython has one per
 * process; ouro keeps heaps independent), made together the first time
 * any of them is asked for: NULL with OURO_ENOMEM only if that first call
 * runs out of memory, never afterwards.  The reference returned is
 * borrowed; since the objects are immortal, treating it as a new one (and
 * releasing it) is harmless too, so code that owns every value it handles
 * needs no special case.  `o == ouro_none(h)` is `o is None` for objects
 * of heap h; ouro_is_none(o) works for any heap.
 *
 * None is 16 bytes (the header; CPython: 16).  bool is a subclass of int
 * as in Python: True == 1, hash(True) == 1, ouro_int_get(True) gives 1,
 * ouro_int_check(True) is 1; a bool is 24 bytes (CPython: 28, as for 1).
 * repr gives "None", "True", "False".
 */
OURO_API ouro_object *ouro_none(ouro_heap *h);
OURO_API ouro_object *ouro_true(ouro_heap *h);
OURO_API ouro_object *ouro_false(ouro_heap *h);
/* True for v != 0, else False (Python's bool(v) for a C int). */
OURO_API ouro_object *ouro_bool(ouro_heap *h, int v);
OURO_API int ouro_is_none(const ouro_object *o);
/* Whether o is True or False (exactly a bool). */
OURO_API int ouro_bool_check(const ouro_object *o);

/* ----------------------------------------------------------- int, float */

/* Ints are 64-bit.  -5..256 come from a per-heap cache of immortal
 * objects, as in CPython: ouro_int_new(h, 7) == ouro_int_new(h, 7).
 * ouro_int_check, _get and _value accept bools too (isinstance(True, int)
 * holds in Python), as does ouro_float_get. */
OURO_API ouro_object *ouro_int_new(ouro_heap *h, int64_t v); /* new reference */
OURO_API int ouro_int_check(const ouro_object *o);
/* 0 and *out, or OURO_ETYPE (a float is not converted). */
OURO_API int ouro_int_get(const ouro_object *o, int64_t *out);
/* The value, 0 for a non-int. */
OURO_API int64_t ouro_int_value(const ouro_object *o);

OURO_API ouro_object *ouro_float_new(ouro_heap *h, double v); /* new reference */
OURO_API int ouro_float_check(const ouro_object *o);
/* 0 and *out for a float or an int, OURO_ETYPE otherwise. */
OURO_API int ouro_float_get(const ouro_object *o, double *out);
OURO_API double ouro_float_value(const ouro_object *o);

/* ----------------------------------------------------------- str, bytes */

/* str: immutable UTF-8 text.  OURO_EINVAL for bytes that are not valid
 * UTF-8.  The data is NUL-terminated; ouro_str_len counts code points. */
/* ouro_str_new: new reference */
OURO_API ouro_object *ouro_str_new(ouro_heap *h, const char *utf8, size_t nbytes);
OURO_API ouro_object *ouro_str_from(ouro_heap *h, const char *cstring); /* new reference */
OURO_API int ouro_str_check(const ouro_object *o);
OURO_API const char *ouro_str_data(const ouro_object *o);   /* NULL if not a str */
OURO_API size_t ouro_str_nbytes(const ouro_object *o);
OURO_API size_t ouro_str_len(const ouro_object *o);
/* ouro_str_concat: new reference */
OURO_API ouro_object *ouro_str_concat(ouro_heap *h, ouro_object *a, ouro_object *b);
/* sys.intern: the heap's one str with this text (new reference), made and
 * entered in the interned table if there is none.  Interned strings are
 * not kept alive by the table: one dies, and leaves it, when its last
 * reference goes (CPython 3.11's mortal interned strings). */
OURO_API ouro_object *ouro_str_intern(ouro_heap *h, const char *utf8, size_t nbytes);
/* sys.intern(*p): replace *p (a str, owned) by the interned equal str. */
OURO_API int ouro_intern(ouro_object **p);
OURO_API int ouro_str_is_interned(const ouro_object *o);
OURO_API size_t ouro_str_interned_count(ouro_heap *h);

/* ouro_bytes_new: new reference */
OURO_API ouro_object *ouro_bytes_new(ouro_heap *h, const void *data, size_t len);
OURO_API int ouro_bytes_check(const ouro_object *o);
OURO_API const uint8_t *ouro_bytes_data(const ouro_object *o); /* NULL if not bytes */
OURO_API size_t ouro_bytes_len(const ouro_object *o);

/* ---------------------------------------------------------------- tuple */

/* A tuple of n empty slots, to be filled with ouro_tuple_set while the
 * caller holds the only reference (as PyTuple_New, then filling it).
 * Unlike PyTuple_SET_ITEM, ouro_tuple_set does not steal a reference: it
 * takes its own, and the caller keeps (and must release) the one it had.
 * The empty tuple is a per-heap immortal singleton. */
OURO_API ouro_object *ouro_tuple_new(ouro_heap *h, size_t n); /* new reference */
/* ouro_tuple_from: new reference */
OURO_API ouro_object *ouro_tuple_from(ouro_heap *h, ouro_object *const *items, size_t n);
OURO_API ouro_object *ouro_tuple_pack(ouro_heap *h, size_t n, ...); /* new reference */
OURO_API int ouro_tuple_check(const ouro_object *o);
OURO_API size_t ouro_tuple_len(const ouro_object *o);
OURO_API ouro_object *ouro_tuple_get(ouro_object *t, ptrdiff_t i); /* borrowed */
/* OURO_ETYPE once the tuple is shared (refcount > 1): tuples are
 * immutable once published, so their hash cannot change. */
OURO_API int ouro_tuple_set(ouro_object *t, ptrdiff_t i, ouro_object *v);

/* ----------------------------------------------------------------- list */

/* Growth is amortised as CPython's list_resize: about 1/8 more room
 * than asked, so n appends cost O(n) and sizeof follows CPython's steps. */
OURO_API ouro_object *ouro_list_new(ouro_heap *h); /* new reference */
/* ouro_list_from: new reference */
OURO_API ouro_object *ouro_list_from(ouro_heap *h, ouro_object *const *items, size_t n);
OURO_API int ouro_list_check(const ouro_object *o);
OURO_API size_t ouro_list_len(const ouro_object *o);
OURO_API size_t ouro_list_allocated(const ouro_object *o); /* slots with room */
OURO_API ouro_object *ouro_list_get(ouro_object *l, ptrdiff_t i); /* borrowed */
OURO_API int ouro_list_set(ouro_object *l, ptrdiff_t i, ouro_object *v);
OURO_API int ouro_list_append(ouro_object *l, ouro_object *v);
/* Python's insert: an index past either end clamps. */
OURO_API int ouro_list_insert(ouro_object *l, ptrdiff_t i, ouro_object *v);
/* l.pop(i): new reference, or NULL and OURO_ERANGE. */
OURO_API ouro_object *ouro_list_pop(ouro_object *l, ptrdiff_t i);
OURO_API int ouro_list_del(ouro_object *l, ptrdiff_t i);
OURO_API int ouro_list_clear(ouro_object *l);
/* l.extend(iterable): any object ouro_iter accepts. */
OURO_API int ouro_list_extend(ouro_object *l, ouro_object *iterable);
/* l.index(v): the first index, or OURO_ENOTFOUND. */
OURO_API ptrdiff_t ouro_list_index(ouro_object *l, ouro_object *v);
OURO_API int ouro_list_contains(ouro_object *l, ouro_object *v);
OURO_API int ouro_list_reverse(ouro_object *l);
/* l.sort(): numbers (bools, ints, floats), or strs, or bytes (stable);
 * OURO_ETYPE for anything else, leaving the list as it was. */
OURO_API int ouro_list_sort(ouro_object *l);

/* ----------------------------------------------------------------- dict */

/*
 * An insertion-ordered dict, compact as CPython's: a sparse table of
 * 1-, 2-, 4- or 8-byte indices into a dense array of (hash, key, value)
 * entries, filled to 2/3.  A new dict has no table at all.  It is not
 * tracked by the collector until a key or value that can be part of a
 * cycle is stored, and a full collection untracks it again when none is.
 */
OURO_API ouro_object *ouro_dict_new(ouro_heap *h); /* new reference */
OURO_API int ouro_dict_check(const ouro_object *o);
OURO_API size_t ouro_dict_len(const ouro_object *o);
/* d[k] = v.  OURO_ETYPE for an unhashable key. */
OURO_API int ouro_dict_set(ouro_object *d, ouro_object *key, ouro_object *value);
/* d[k], borrowed; NULL and OURO_ENOTFOUND / OURO_ETYPE. */
OURO_API ouro_object *ouro_dict_get(ouro_object *d, ouro_object *key);
OURO_API int ouro_dict_contains(ouro_object *d, ouro_object *key);
/* del d[k]: 0 or OURO_ENOTFOUND. */
OURO_API int ouro_dict_del(ouro_object *d, ouro_object *key);
/* d.pop(k): new reference, or NULL and OURO_ENOTFOUND. */
OURO_API ouro_object *ouro_dict_pop(ouro_object *d, ouro_object *key);
/* d.popitem(): the last pair inserted, as new references. */
OURO_API int ouro_dict_popitem(ouro_object *d, ouro_object **key, ouro_object **value);
OURO_API int ouro_dict_clear(ouro_object *d);
OURO_API ouro_object *ouro_dict_copy(ouro_object *d);
/* Walk in insertion order: start with *pos = 0; returns 1 and borrowed
 * key/value (either pointer may be NULL), 0 at the end.  The dict must
 * not change size during the walk (use an iterator to be told when). */
OURO_API int ouro_dict_next(ouro_object *d, size_t *pos, ouro_object **key, ouro_object **value);
/* The same with C-string keys (a str is made for the lookup). */
OURO_API int ouro_dict_set_str(ouro_object *d, const char *key, ouro_object *value);
OURO_API ouro_object *ouro_dict_get_str(ouro_object *d, const char *key);

/* ------------------------------------------------------------------ set */

OURO_API ouro_object *ouro_set_new(ouro_heap *h); /* new reference */
OURO_API int ouro_set_check(const ouro_object *o);
OURO_API size_t ouro_set_len(const ouro_object *o);
/* 1 if added, 0 if it was there. */
OURO_API int ouro_set_add(ouro_object *s, ouro_object *key);
OURO_API int ouro_set_contains(ouro_object *s, ouro_object *key);
/* 1 if removed, 0 if it was not there. */
OURO_API int ouro_set_discard(ouro_object *s, ouro_object *key);
/* s.pop(): new reference, or NULL and OURO_ENOTFOUND when empty. */
OURO_API ouro_object *ouro_set_pop(ouro_object *s);
OURO_API int ouro_set_clear(ouro_object *s);
OURO_API int ouro_set_next(ouro_object *s, size_t *pos, ouro_object **key);

/* ---------------------------------------------------------------- array */

/* array.array(typecode): typed numbers stored unboxed, typecodes
 * b B h H i I l L q Q f d (C sizes of this platform).  Storing a value
 * that does not fit the type is OURO_ERANGE; a float into an integer
 * array is OURO_ETYPE, as in Python. */
OURO_API ouro_object *ouro_array_new(ouro_heap *h, char typecode); /* new reference */
OURO_API int ouro_array_check(const ouro_object *o);
OURO_API char ouro_array_typecode(const ouro_object *o);
OURO_API size_t ouro_array_itemsize(const ouro_object *o);
OURO_API size_t ouro_array_len(const ouro_object *o);
OURO_API int ouro_array_append_int(ouro_object *a, int64_t v);
OURO_API int ouro_array_append_double(ouro_object *a, double v);
/* a.append(x) for an int or float object. */
OURO_API int ouro_array_append(ouro_object *a, ouro_object *v);
OURO_API int ouro_array_get_int(ouro_object *a, ptrdiff_t i, int64_t *out);
OURO_API int ouro_array_get_double(ouro_object *a, ptrdiff_t i, double *out);
OURO_API int ouro_array_set_int(ouro_object *a, ptrdiff_t i, int64_t v);
OURO_API int ouro_array_set_double(ouro_object *a, ptrdiff_t i, double v);
/* a[i] as a new int or float object. */
OURO_API ouro_object *ouro_array_get(ouro_object *a, ptrdiff_t i); /* new reference */
OURO_API int ouro_array_pop(ouro_object *a, ptrdiff_t i);
OURO_API const void *ouro_array_data(const ouro_object *a);

/* --------------------------------------------------------- record types */

/*
 * Fixed-field objects described from C: the counterpart of
 * collections.namedtuple and of classes with __slots__.  No per-instance
 * dict: an instance is the 16-byte header and one pointer per field.
 *
 *     static const char *const point_fields[] = {"x", "y"};
 *     static ouro_record_type Point = OURO_RECORD_TYPE("Point", point_fields, 2);
 *     ouro_object *p = ouro_record_new(h, &Point);       // fields None
 *     ouro_record_set(p, 0, x);
 *
 * Records are tracked by the collector and weakly referenceable.  Every
 * field holds an object: the heap's None until set (storing NULL stores
 * None), so the getters return None for an unset field, never NULL
 * except on error (a borrowed reference, like every getter's).
 */
typedef struct ouro_record_type {
    ouro_type base;
    const char *const *fields;
    size_t nfields;
} ouro_record_type;

OURO_API int ouro_record_traverse(ouro_object *self, ouro_visit_fn visit, void *arg);
OURO_API void ouro_record_clear(ouro_heap *h, ouro_object *self);

#define OURO_RECORD_TYPE(NAME, FIELDS, N)                                      \
    {                                                                          \
        .base = {.name = (NAME),                                               \
                 .basic_size = sizeof(ouro_object) + (N) * sizeof(ouro_object *), \
                 .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,                \
                 .traverse = ouro_record_traverse,                             \
                 .clear = ouro_record_clear},                                  \
        .fields = (FIELDS), .nfields = (N)                                     \
    }

OURO_API ouro_object *ouro_record_new(ouro_heap *h, ouro_record_type *rt); /* new reference */
/* All fields at once (values[nfields]; values or an entry NULL: None). */
OURO_API ouro_object *ouro_record_make(ouro_heap *h, ouro_record_type *rt,
                                       ouro_object *const *values); /* new reference */
OURO_API int ouro_record_check(const ouro_object *o);
OURO_API ouro_object *ouro_record_get(ouro_object *r, size_t i);  /* borrowed; None if unset */
OURO_API int ouro_record_set(ouro_object *r, size_t i, ouro_object *v);
/* The field's index, or OURO_ENOTFOUND. */
OURO_API int ouro_record_index(const ouro_record_type *rt, const char *field);
OURO_API ouro_object *ouro_record_getattr(ouro_object *r, const char *field);
OURO_API int ouro_record_setattr(ouro_object *r, const char *field, ouro_object *v);

/* ------------------------------------------------------------ LRU cache */

/*
 * functools.lru_cache(maxsize)(fn): ouro_lru_call(c, key) returns the
 * cached result for an equal key, or calls fn, caches its result and
 * evicts the least recently used entry past maxsize.  maxsize < 0 means
 * unbounded (maxsize=None), 0 means no caching (every call a miss).
 * fn returns a new reference, or NULL to fail (nothing is cached).
 */
typedef ouro_object *(*ouro_lru_fn)(ouro_heap *h, ouro_object *key, void *ctx);
typedef struct ouro_lru_info {
    size_t hits, misses;
    ptrdiff_t maxsize; /* -1: unbounded */
    size_t currsize;
} ouro_lru_info;

/* ouro_lru_new: new reference */
OURO_API ouro_object *ouro_lru_new(ouro_heap *h, ptrdiff_t maxsize, ouro_lru_fn fn, void *ctx);
OURO_API int ouro_lru_check(const ouro_object *o);
/* New reference, or NULL with the error (OURO_ETYPE: unhashable key). */
OURO_API ouro_object *ouro_lru_call(ouro_object *cache, ouro_object *key);
OURO_API int ouro_lru_cache_info(ouro_object *cache, ouro_lru_info *out);
OURO_API int ouro_lru_cache_clear(ouro_object *cache);

/* ------------------------------------------------- iterators and ranges */

/*
 * iter(o) for list, tuple, str (code points, as 1-char strs), bytes
 * (ints), dict (keys), set, array, range, record (fields), and
 * iterators themselves (returned as they are).  ouro_iter_next returns a
 * new reference, or NULL: at the end with the heap's last error 0, or
 * with OURO_EINVAL when a dict or set changed size during the iteration
 * (Python's RuntimeError).  An exhausted iterator stays exhausted.
 */
OURO_API ouro_object *ouro_iter(ouro_heap *h, ouro_object *iterable);
OURO_API ouro_object *ouro_iter_next(ouro_object *it);
OURO_API int ouro_iter_check(const ouro_object *o);

enum { OURO_DICT_KEYS = 0, OURO_DICT_VALUES = 1, OURO_DICT_ITEMS = 2 };
/* iter(d.keys()), iter(d.values()), iter(d.items()) (items as tuples). */
OURO_API ouro_object *ouro_dict_iter(ouro_heap *h, ouro_object *d, int kind); /* new reference */

/* range(start, stop, step): 48 bytes whatever its length; OURO_EINVAL for
 * step 0. */
/* ouro_range_new: new reference */
OURO_API ouro_object *ouro_range_new(ouro_heap *h, int64_t start, int64_t stop, int64_t step);
OURO_API int ouro_range_check(const ouro_object *o);
OURO_API size_t ouro_range_len(const ouro_object *o);

/* A generator expression `(fn(x) for x in iterable)`: lazy, holds the
 * source iterator and nothing else.  fn returns a new reference, or NULL
 * to stop with an error (the heap's last error); with fn NULL the items
 * pass through. */
typedef ouro_object *(*ouro_map_fn)(ouro_heap *h, ouro_object *item, void *ctx);
OURO_API ouro_object *ouro_map_new(ouro_heap *h, ouro_map_fn fn, void *ctx, ouro_object *iterable);
/* list(iterable). */
OURO_API ouro_object *ouro_list_from_iter(ouro_heap *h, ouro_object *iterable);

/* ------------------------------------------------ memory-saving machinery */

/*
 * Free lists keep the blocks of recently freed floats, small tuples
 * (1..19 items), lists, dicts and dict tables for reuse, as CPython's do.
 * A full collection (generation 2) empties them, as in CPython, and so
 * does ouro_types_clear_freelists.
 */
typedef struct ouro_freelist_stats {
    const char *name;   /* "float", "tuple[3]", "list", "dict", "dict keys" */
    size_t count;       /* blocks kept now */
    size_t max;         /* at most this many are kept */
    size_t reused;      /* allocations served from the list */
    size_t kept;        /* frees that kept the block */
    size_t released;    /* frees that found the list full */
} ouro_freelist_stats;

/* Fills up to n entries; returns the number of free lists. */
OURO_API size_t ouro_types_freelist_stats(ouro_heap *h, ouro_freelist_stats *out, size_t n);
/* Frees every kept block; returns how many. */
OURO_API size_t ouro_types_clear_freelists(ouro_heap *h);

/* ------------------------------------------------------------ deep size */

/*
 * Pympler's asizeof: the sizes (ouro_sizeof) of `o` and of everything
 * reachable from it through traverse, each object counted once however
 * often it is shared.  limit < 0 means no limit; otherwise objects more
 * than `limit` references away from `o` are not counted (limit 0 counts
 * `o` alone).  Measuring allocates nothing from the heap.  Returns 0 if
 * the walk runs out of (malloc) memory.
 */
OURO_API size_t ouro_deep_sizeof(ouro_heap *h, ouro_object *o, int limit);

/* ----------------------------------------------------------- call sites */

/*
 * Allocation tracing names the program's line, not ouro's: the macros
 * below make every built-in type's function that can allocate (and the
 * weak references and weak containers) pass its caller's file, line and
 * function to an `_at` variant, which holds that site on the heap while
 * the call runs, so every block the call allocates (the object, a dict's
 * table when it grows, a list's items) is traced to the caller's line.
 * The variants cost one test when the heap is not traced.  Define
 * OURO_NO_SITE_MACROS to call the plain functions (their blocks are then
 * traced to ouro's own lines, or, with native frames, to the first frame
 * outside ouro).  ouro's own sources do not see these macros.  The
 * macros take their arguments as `...`, so that compound literals with
 * commas pass through.
 */
#define OURO_SITE_PARAMS const char *file, int line, const char *func
/* Each returns what its plain function returns: a new reference or a
 * borrowed one, as that function says. */
OURO_API ouro_object *ouro_int_new_at(ouro_heap *h, int64_t v, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_float_new_at(ouro_heap *h, double v, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_str_new_at(ouro_heap *h, const char *utf8, size_t nbytes, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_str_from_at(ouro_heap *h, const char *cstring, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_str_concat_at(ouro_heap *h, ouro_object *a, ouro_object *b, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_str_intern_at(ouro_heap *h, const char *utf8, size_t nbytes, OURO_SITE_PARAMS);
OURO_API int ouro_intern_at(ouro_object **p, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_bytes_new_at(ouro_heap *h, const void *data, size_t len, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_tuple_new_at(ouro_heap *h, size_t n, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_tuple_from_at(ouro_heap *h, ouro_object *const *items, size_t n, OURO_SITE_PARAMS);
/* The site comes first here: the items follow n. */
OURO_API ouro_object *ouro_tuple_pack_at(ouro_heap *h, OURO_SITE_PARAMS, size_t n, ...);
OURO_API ouro_object *ouro_list_new_at(ouro_heap *h, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_list_from_at(ouro_heap *h, ouro_object *const *items, size_t n, OURO_SITE_PARAMS);
OURO_API int ouro_list_append_at(ouro_object *l, ouro_object *v, OURO_SITE_PARAMS);
OURO_API int ouro_list_insert_at(ouro_object *l, ptrdiff_t i, ouro_object *v, OURO_SITE_PARAMS);
OURO_API int ouro_list_extend_at(ouro_object *l, ouro_object *iterable, OURO_SITE_PARAMS);
OURO_API int ouro_list_sort_at(ouro_object *l, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_list_from_iter_at(ouro_heap *h, ouro_object *iterable, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_dict_new_at(ouro_heap *h, OURO_SITE_PARAMS);
OURO_API int ouro_dict_set_at(ouro_object *d, ouro_object *key, ouro_object *value, OURO_SITE_PARAMS);
OURO_API int ouro_dict_set_str_at(ouro_object *d, const char *key, ouro_object *value, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_dict_get_str_at(ouro_object *d, const char *key, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_dict_copy_at(ouro_object *d, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_dict_iter_at(ouro_heap *h, ouro_object *d, int kind, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_set_new_at(ouro_heap *h, OURO_SITE_PARAMS);
OURO_API int ouro_set_add_at(ouro_object *s, ouro_object *key, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_array_new_at(ouro_heap *h, char typecode, OURO_SITE_PARAMS);
OURO_API int ouro_array_append_int_at(ouro_object *a, int64_t v, OURO_SITE_PARAMS);
OURO_API int ouro_array_append_double_at(ouro_object *a, double v, OURO_SITE_PARAMS);
OURO_API int ouro_array_append_at(ouro_object *a, ouro_object *v, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_array_get_at(ouro_object *a, ptrdiff_t i, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_record_new_at(ouro_heap *h, ouro_record_type *rt, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_record_make_at(ouro_heap *h, ouro_record_type *rt,
                                          ouro_object *const *values, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_lru_new_at(ouro_heap *h, ptrdiff_t maxsize, ouro_lru_fn fn, void *ctx, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_lru_call_at(ouro_object *cache, ouro_object *key, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_iter_at(ouro_heap *h, ouro_object *iterable, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_iter_next_at(ouro_object *it, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_range_new_at(ouro_heap *h, int64_t start, int64_t stop, int64_t step, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_map_new_at(ouro_heap *h, ouro_map_fn fn, void *ctx, ouro_object *iterable, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_weakref_new_at(ouro_heap *h, ouro_object *target, ouro_weakref_callback cb, void *arg, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_weakref_basic_at(ouro_heap *h, ouro_object *target, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_finalize_new_at(ouro_heap *h, ouro_object *target, ouro_finalize_fn fn, void *ctx, ouro_object *arg, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_wvdict_new_at(ouro_heap *h, OURO_SITE_PARAMS);
OURO_API int ouro_wvdict_set_at(ouro_object *d, const void *key, size_t klen, ouro_object *value, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_wkdict_new_at(ouro_heap *h, OURO_SITE_PARAMS);
OURO_API int ouro_wkdict_set_at(ouro_object *d, ouro_object *key, ouro_object *value, OURO_SITE_PARAMS);
OURO_API ouro_object *ouro_wset_new_at(ouro_heap *h, OURO_SITE_PARAMS);
OURO_API int ouro_wset_add_at(ouro_object *s, ouro_object *item, OURO_SITE_PARAMS);

#if !defined(OURO_NO_SITE_MACROS) && !defined(OURO__LIBRARY)
#define OURO__HERE __FILE__, __LINE__, __func__
#define ouro_int_new(...) ouro_int_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_float_new(...) ouro_float_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_str_new(...) ouro_str_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_str_from(...) ouro_str_from_at(__VA_ARGS__, OURO__HERE)
#define ouro_str_concat(...) ouro_str_concat_at(__VA_ARGS__, OURO__HERE)
#define ouro_str_intern(...) ouro_str_intern_at(__VA_ARGS__, OURO__HERE)
#define ouro_intern(...) ouro_intern_at(__VA_ARGS__, OURO__HERE)
#define ouro_bytes_new(...) ouro_bytes_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_tuple_new(...) ouro_tuple_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_tuple_from(...) ouro_tuple_from_at(__VA_ARGS__, OURO__HERE)
#define ouro_tuple_pack(h, ...) ouro_tuple_pack_at((h), OURO__HERE, __VA_ARGS__)
#define ouro_list_new(...) ouro_list_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_list_from(...) ouro_list_from_at(__VA_ARGS__, OURO__HERE)
#define ouro_list_append(...) ouro_list_append_at(__VA_ARGS__, OURO__HERE)
#define ouro_list_insert(...) ouro_list_insert_at(__VA_ARGS__, OURO__HERE)
#define ouro_list_extend(...) ouro_list_extend_at(__VA_ARGS__, OURO__HERE)
#define ouro_list_sort(...) ouro_list_sort_at(__VA_ARGS__, OURO__HERE)
#define ouro_list_from_iter(...) ouro_list_from_iter_at(__VA_ARGS__, OURO__HERE)
#define ouro_dict_new(...) ouro_dict_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_dict_set(...) ouro_dict_set_at(__VA_ARGS__, OURO__HERE)
#define ouro_dict_set_str(...) ouro_dict_set_str_at(__VA_ARGS__, OURO__HERE)
#define ouro_dict_get_str(...) ouro_dict_get_str_at(__VA_ARGS__, OURO__HERE)
#define ouro_dict_copy(...) ouro_dict_copy_at(__VA_ARGS__, OURO__HERE)
#define ouro_dict_iter(...) ouro_dict_iter_at(__VA_ARGS__, OURO__HERE)
#define ouro_set_new(...) ouro_set_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_set_add(...) ouro_set_add_at(__VA_ARGS__, OURO__HERE)
#define ouro_array_new(...) ouro_array_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_array_append_int(...) ouro_array_append_int_at(__VA_ARGS__, OURO__HERE)
#define ouro_array_append_double(...) ouro_array_append_double_at(__VA_ARGS__, OURO__HERE)
#define ouro_array_append(...) ouro_array_append_at(__VA_ARGS__, OURO__HERE)
#define ouro_array_get(...) ouro_array_get_at(__VA_ARGS__, OURO__HERE)
#define ouro_record_new(...) ouro_record_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_record_make(...) ouro_record_make_at(__VA_ARGS__, OURO__HERE)
#define ouro_lru_new(...) ouro_lru_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_lru_call(...) ouro_lru_call_at(__VA_ARGS__, OURO__HERE)
#define ouro_iter(...) ouro_iter_at(__VA_ARGS__, OURO__HERE)
#define ouro_iter_next(...) ouro_iter_next_at(__VA_ARGS__, OURO__HERE)
#define ouro_range_new(...) ouro_range_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_map_new(...) ouro_map_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_weakref_new(...) ouro_weakref_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_weakref_basic(...) ouro_weakref_basic_at(__VA_ARGS__, OURO__HERE)
#define ouro_finalize_new(...) ouro_finalize_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_wvdict_new(...) ouro_wvdict_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_wvdict_set(...) ouro_wvdict_set_at(__VA_ARGS__, OURO__HERE)
#define ouro_wkdict_new(...) ouro_wkdict_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_wkdict_set(...) ouro_wkdict_set_at(__VA_ARGS__, OURO__HERE)
#define ouro_wset_new(...) ouro_wset_new_at(__VA_ARGS__, OURO__HERE)
#define ouro_wset_add(...) ouro_wset_add_at(__VA_ARGS__, OURO__HERE)
#endif

#ifdef __cplusplus
}
#endif
#endif /* OURO_TYPES_H */
