/*
 * site.c — the `_at` variants of the built-in types' functions that can
 * allocate: the program's call site, captured by the macros in ouro.h, is
 * held on the heap while the call runs, so that allocation tracing names
 * the program's line for every block the call allocates, however deep in
 * ouro that allocation happens (a dict's table growing inside
 * ouro_dict_set, a list's items inside ouro_list_append).
 *
 * Why a site held on the heap rather than threaded down as arguments: the
 * allocations happen many calls below the entry point, in helpers shared
 * by several entry points; passing three more arguments through all of
 * them would cost every call, traced or not, and touch every type.  Held
 * on the heap, the site costs the untraced program one test per call (is
 * the heap traced?), and only entry points know about it.
 *
 * A shared heap holds one site per attached thread (ouro__site_of).
 *
 * Nesting: the variants save the heap's site and restore it on return, so
 * the innermost call *from the program* names the site — a finalizer or
 * callback of the program that runs inside ouro_list_append and builds a
 * list of its own gets its own line.  ouro's own calls to these functions
 * are plain calls (OURO__LIBRARY hides the macros), so they never replace
 * the program's site.  A block the program allocates itself (ouro_new in a
 * callback) keeps its own site: the tracer substitutes h->site only for
 * sites inside ouro (src/inspect/trace.c).
 */
#include "types.h"

static inline ouro_heap *heap_of(const ouro_object *o) { return o ? ouro__heap_of(o) : NULL; }

/* Run `call` (of result type T) with the site set when the heap is traced.
 * The heap is re-read after the call: the call may have stopped tracing. */
#define WITH_SITE(T, heap, call)                                                \
    do {                                                                        \
        ouro_heap *h_ = (heap);                                                 \
        if (OURO__LIKELY(!h_ || !h_->tracer))                                   \
            return call;                                                        \
        ouro__site *s_ = ouro__site_of(h_), saved_ = *s_;                       \
        s_->file = file;                                                        \
        s_->func = func;                                                        \
        s_->line = line;                                                        \
        T r_ = call;                                                            \
        *s_ = saved_;                                                           \
        return r_;                                                              \
    } while (0)

typedef ouro_object *obj;

obj ouro_int_new_at(ouro_heap *h, int64_t v, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_int_new(h, v)); }
obj ouro_float_new_at(ouro_heap *h, double v, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_float_new(h, v)); }
obj ouro_str_new_at(ouro_heap *h, const char *utf8, size_t nbytes, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_str_new(h, utf8, nbytes)); }
obj ouro_str_from_at(ouro_heap *h, const char *cstring, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_str_from(h, cstring)); }
obj ouro_str_concat_at(ouro_heap *h, ouro_object *a, ouro_object *b, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_str_concat(h, a, b)); }
obj ouro_str_intern_at(ouro_heap *h, const char *utf8, size_t nbytes, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_str_intern(h, utf8, nbytes)); }
int ouro_intern_at(ouro_object **p, OURO_SITE_PARAMS)
{ WITH_SITE(int, p ? heap_of(*p) : NULL, ouro_intern(p)); }
obj ouro_bytes_new_at(ouro_heap *h, const void *data, size_t len, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_bytes_new(h, data, len)); }
obj ouro_tuple_new_at(ouro_heap *h, size_t n, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_tuple_new(h, n)); }
obj ouro_tuple_from_at(ouro_heap *h, ouro_object *const *items, size_t n, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_tuple_from(h, items, n)); }

/* ouro_tuple_pack's variadic arguments cannot be passed on: the va_list
 * is, to the same filling code (ouro__tuple_vpack), under the site. */
static obj tuple_vpack_at(ouro_heap *h, size_t n, va_list ap, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro__tuple_vpack(h, n, ap)); }

obj ouro_tuple_pack_at(ouro_heap *h, OURO_SITE_PARAMS, size_t n, ...)
{
    if (!h)
        return NULL;
    va_list ap;
    va_start(ap, n);
    ouro_object *o = tuple_vpack_at(h, n, ap, file, line, func);
    va_end(ap);
    return o;
}

obj ouro_list_new_at(ouro_heap *h, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_list_new(h)); }
obj ouro_list_from_at(ouro_heap *h, ouro_object *const *items, size_t n, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_list_from(h, items, n)); }
int ouro_list_append_at(ouro_object *l, ouro_object *v, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(l), ouro_list_append(l, v)); }
int ouro_list_insert_at(ouro_object *l, ptrdiff_t i, ouro_object *v, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(l), ouro_list_insert(l, i, v)); }
int ouro_list_extend_at(ouro_object *l, ouro_object *iterable, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(l), ouro_list_extend(l, iterable)); }
int ouro_list_sort_at(ouro_object *l, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(l), ouro_list_sort(l)); }
obj ouro_list_from_iter_at(ouro_heap *h, ouro_object *iterable, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_list_from_iter(h, iterable)); }
obj ouro_dict_new_at(ouro_heap *h, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_dict_new(h)); }
int ouro_dict_set_at(ouro_object *d, ouro_object *key, ouro_object *value, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(d), ouro_dict_set(d, key, value)); }
int ouro_dict_set_str_at(ouro_object *d, const char *key, ouro_object *value, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(d), ouro_dict_set_str(d, key, value)); }
obj ouro_dict_get_str_at(ouro_object *d, const char *key, OURO_SITE_PARAMS)
{ WITH_SITE(obj, heap_of(d), ouro_dict_get_str(d, key)); }
obj ouro_dict_copy_at(ouro_object *d, OURO_SITE_PARAMS)
{ WITH_SITE(obj, heap_of(d), ouro_dict_copy(d)); }
obj ouro_dict_iter_at(ouro_heap *h, ouro_object *d, int kind, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_dict_iter(h, d, kind)); }
obj ouro_set_new_at(ouro_heap *h, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_set_new(h)); }
int ouro_set_add_at(ouro_object *s, ouro_object *key, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(s), ouro_set_add(s, key)); }
obj ouro_array_new_at(ouro_heap *h, char typecode, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_array_new(h, typecode)); }
int ouro_array_append_int_at(ouro_object *a, int64_t v, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(a), ouro_array_append_int(a, v)); }
int ouro_array_append_double_at(ouro_object *a, double v, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(a), ouro_array_append_double(a, v)); }
int ouro_array_append_at(ouro_object *a, ouro_object *v, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(a), ouro_array_append(a, v)); }
obj ouro_array_get_at(ouro_object *a, ptrdiff_t i, OURO_SITE_PARAMS)
{ WITH_SITE(obj, heap_of(a), ouro_array_get(a, i)); }
obj ouro_record_new_at(ouro_heap *h, ouro_record_type *rt, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_record_new(h, rt)); }
obj ouro_record_make_at(ouro_heap *h, ouro_record_type *rt, ouro_object *const *values,
                        OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_record_make(h, rt, values)); }
obj ouro_lru_new_at(ouro_heap *h, ptrdiff_t maxsize, ouro_lru_fn fn, void *ctx, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_lru_new(h, maxsize, fn, ctx)); }
obj ouro_lru_call_at(ouro_object *cache, ouro_object *key, OURO_SITE_PARAMS)
{ WITH_SITE(obj, heap_of(cache), ouro_lru_call(cache, key)); }
obj ouro_iter_at(ouro_heap *h, ouro_object *iterable, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_iter(h, iterable)); }
obj ouro_iter_next_at(ouro_object *it, OURO_SITE_PARAMS)
{ WITH_SITE(obj, heap_of(it), ouro_iter_next(it)); }
obj ouro_range_new_at(ouro_heap *h, int64_t start, int64_t stop, int64_t step, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_range_new(h, start, stop, step)); }
obj ouro_map_new_at(ouro_heap *h, ouro_map_fn fn, void *ctx, ouro_object *iterable,
                    OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_map_new(h, fn, ctx, iterable)); }
obj ouro_weakref_new_at(ouro_heap *h, ouro_object *target, ouro_weakref_callback cb, void *arg,
                        OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_weakref_new(h, target, cb, arg)); }
obj ouro_weakref_basic_at(ouro_heap *h, ouro_object *target, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_weakref_basic(h, target)); }
obj ouro_finalize_new_at(ouro_heap *h, ouro_object *target, ouro_finalize_fn fn, void *ctx,
                         ouro_object *arg, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_finalize_new(h, target, fn, ctx, arg)); }
obj ouro_wvdict_new_at(ouro_heap *h, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_wvdict_new(h)); }
int ouro_wvdict_set_at(ouro_object *d, const void *key, size_t klen, ouro_object *value,
                       OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(d), ouro_wvdict_set(d, key, klen, value)); }
obj ouro_wkdict_new_at(ouro_heap *h, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_wkdict_new(h)); }
int ouro_wkdict_set_at(ouro_object *d, ouro_object *key, ouro_object *value, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(d), ouro_wkdict_set(d, key, value)); }
obj ouro_wset_new_at(ouro_heap *h, OURO_SITE_PARAMS)
{ WITH_SITE(obj, h, ouro_wset_new(h)); }
int ouro_wset_add_at(ouro_object *s, ouro_object *item, OURO_SITE_PARAMS)
{ WITH_SITE(int, heap_of(s), ouro_wset_add(s, item)); }
