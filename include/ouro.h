/*
 * ouro.h — Python's memory management as a C library.
 *
 * A heap of reference-counted, typed objects with deterministic destruction,
 * a generational cycle collector with CPython 3.11's semantics (PEP 442
 * finalizers, weak references with callbacks, the whole `gc` module surface),
 * and a private size-class pool allocator that returns empty arenas to the
 * operating system.  This header is the whole public API.
 *
 * Conventions
 *   - Public names start with `ouro_`; nothing else is exported.
 *   - Functions that can fail return a negative `OURO_E*` code (or NULL, with
 *     the code available from ouro_heap_last_error()).  They never abort on
 *     bad input: a NULL heap or object where one is needed is OURO_EINVAL
 *     (or NULL, 0, nothing done, as the function's result allows).  Debug
 *     heaps (OURO_DEBUG_CHECKS) abort on *misuse* that would corrupt memory
 *     (refcount underflow, use after free, double free, wrong heap, wrong
 *     thread), with a message naming the object and its type.
 *   - Heaps are independent: an object may refer only to objects of its own
 *     heap.  Every store the library makes (containers, weak containers,
 *     constructors that take objects, scopes) refuses an object of another
 *     heap: a debug heap aborts naming both heaps, a release heap returns
 *     OURO_EINVAL (NULL with last error OURO_EINVAL for constructors).
 *     A store the library cannot see (ouro_setref into a field of your own
 *     type) is checked by debug heaps at the next collection, and by
 *     ouro_heap_check() in any build.
 *   - Threads: a heap, and every object in it, is used by one thread at a
 *     time.  Different heaps may be used by different threads concurrently.
 *     A heap belongs to the thread that created it until handed over
 *     (ouro_heap_set_owner, ouro_heap_disown); debug heaps abort when
 *     another thread uses it.  Only ouro_version() and type registration
 *     (done implicitly by the first ouro_new() of a type) are safe from any
 *     thread.
 *   - References: "new reference" means the caller owns one count and must
 *     release it; "borrowed" means it must not.
 */
#ifndef OURO_H
#define OURO_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OURO_VERSION_MAJOR 0
#define OURO_VERSION_MINOR 1
#define OURO_VERSION_PATCH 0
#define OURO_VERSION_STRING "0.1.0"
#define OURO_VERSION_NUMBER \
    (OURO_VERSION_MAJOR * 10000 + OURO_VERSION_MINOR * 100 + OURO_VERSION_PATCH)

#if defined(__GNUC__) && !defined(OURO_STATIC_BUILD)
#define OURO_API __attribute__((visibility("default")))
#else
#define OURO_API
#endif

/* The version of the library actually linked, e.g. "0.1.0". */
OURO_API const char *ouro_version(void);
OURO_API int ouro_version_number(void);

/* ---------------------------------------------------------------- errors */

enum {
    OURO_OK = 0,
    OURO_ENOMEM = -1,   /* the page source refused memory */
    OURO_EINVAL = -2,   /* an argument is out of range or NULL */
    OURO_ETYPE = -3,    /* the object's type does not allow the operation */
    OURO_EBUSY = -4,    /* not allowed while a collection runs */
    OURO_ELEAK = -5,    /* heap freed with live objects under OURO_LEAKS_FAIL */
    OURO_ELIMIT = -6,   /* an internal table is full (types, arenas) */
    OURO_ENOTFOUND = -7, /* the item asked for is not there */
    OURO_ERANGE = -8     /* an index or a value is out of range */
};

/* A static string naming an error code ("out of memory", ...). */
OURO_API const char *ouro_strerror(int code);

/* ------------------------------------------------------------- objects */

typedef struct ouro_heap ouro_heap;
typedef struct ouro_type ouro_type;

/*
 * The object header: 16 bytes, for every object, collector-tracked or not.
 * Embed it as the first member of your struct (`OURO_HEAD`).  The fields are
 * private to ouro except through the inline functions below.
 *
 *   refcnt   strong references.  Values with the top bit set mean immortal:
 *            reference operations leave them alone and the object is never
 *            freed.  An object whose count would pass 2^31 becomes immortal.
 *   type_id  index of the type in ouro's process-wide type table.
 *   flags    collector and allocator state (see src/internal.h).
 *   gc_next, gc_prev
 *            the collector's doubly-linked generation list, as 32-bit
 *            compressed references into the heap's arenas (0 = untracked).
 *            During a collection gc_prev holds the object's gc_refs.
 */
typedef struct ouro_object {
    uint32_t refcnt;
    uint16_t type_id;
    uint16_t flags;
    uint32_t gc_next;
    uint32_t gc_prev;
} ouro_object;

#define OURO_HEAD ouro_object ob_base
#define OURO_OBJ(p) ((ouro_object *)(p))
#define OURO_IMMORTAL_REFCNT 0xC0000000u

/* visit(referent, arg): return 0 to continue, non-zero to stop the walk. */
typedef int (*ouro_visit_fn)(ouro_object *referent, void *arg);

/* Type flags. */
enum {
    OURO_TYPE_GC = 1u << 0,           /* tracked by the cycle collector */
    OURO_TYPE_WEAKREFABLE = 1u << 1,  /* weak references to it are allowed */
    OURO_TYPE_LEGACY_DEL = 1u << 2,   /* like CPython's tp_del: a cycle
                                         holding it is uncollectable and goes
                                         to the garbage list */
    OURO_TYPE_IMMUTABLE_ATOMIC = 1u << 3 /* holds no references at all */
};

/*
 * A type descriptor.  Define one per kind of object, statically, and never
 * change it after the first ouro_new() with it.  `id` is filled by ouro.
 *
 *   basic_size  bytes of the object including its 16-byte header.
 *   traverse    calls visit() on every reference the object holds (needed
 *               for OURO_TYPE_GC, and for get_referents/deep size).
 *   clear       drops every reference the object holds, setting the fields
 *               to NULL before releasing them (Py_CLEAR style).  Called by
 *               the collector to break cycles and when the object dies.
 *   finalize    PEP 442 finalizer: runs at most once per object, before it
 *               dies by reference counting or in cyclic trash.  It may
 *               resurrect the object by storing a new reference to it.
 *   dealloc     releases resources that are not references (external
 *               buffers, file handles).  Must not touch other objects.
 *   size_of     the object's own size (sys.getsizeof); default basic_size
 *               for fixed objects or the allocated size.
 */
struct ouro_type {
    const char *name;
    size_t basic_size;
    unsigned flags;
    int (*traverse)(ouro_object *self, ouro_visit_fn visit, void *arg);
    void (*clear)(ouro_heap *h, ouro_object *self);
    void (*finalize)(ouro_heap *h, ouro_object *self);
    void (*dealloc)(ouro_heap *h, ouro_object *self);
    size_t (*size_of)(const ouro_object *self);
    uint32_t id; /* assigned by ouro on first use; leave 0 */
};

/* Allocate an object of `type` with basic_size bytes (zeroed past the
 * header), reference count 1, tracked by the collector if OURO_TYPE_GC.
 * NULL when out of memory (the heap stays consistent). */
OURO_API ouro_object *ouro_new(ouro_heap *h, ouro_type *type);
/* As ouro_new with an explicit size (>= sizeof(ouro_object)), for
 * variable-sized objects. */
OURO_API ouro_object *ouro_new_sized(ouro_heap *h, ouro_type *type, size_t size);

/* The same, recording the allocation site for tracing (what the macros
 * below call; file/func may be NULL). */
OURO_API ouro_object *ouro_new_at(ouro_heap *h, ouro_type *type, const char *file, int line,
                                  const char *func);
OURO_API ouro_object *ouro_new_sized_at(ouro_heap *h, ouro_type *type, size_t size,
                                        const char *file, int line, const char *func);
/* Allocation macros capture the caller's file, line and function, which
 * allocation tracing reports; define OURO_NO_SITE_MACROS to call the plain
 * functions. */
#ifndef OURO_NO_SITE_MACROS
#define ouro_new(h, type) ouro_new_at((h), (type), __FILE__, __LINE__, __func__)
#define ouro_new_sized(h, type, size) \
    ouro_new_sized_at((h), (type), (size), __FILE__, __LINE__, __func__)
#endif

/* Out-of-line deallocation, called when a count reaches zero. */
OURO_API void ouro__dealloc(ouro_object *o);
/* Debug builds check every reference operation through these. */
OURO_API void ouro__debug_incref(ouro_object *o);
OURO_API void ouro__debug_decref(ouro_object *o);

#if defined(OURO_DEBUG_REFS)
static inline void ouro_incref(ouro_object *o) { ouro__debug_incref(o); }
static inline void ouro_decref(ouro_object *o) { ouro__debug_decref(o); }
#else
/* About 3 instructions: a load, a sign test and a store. */
static inline void ouro_incref(ouro_object *o)
{
    uint32_t rc = o->refcnt;
    if ((int32_t)rc >= 0)
        o->refcnt = rc + 1;
}

/* About 4 instructions when the object survives. */
static inline void ouro_decref(ouro_object *o)
{
    uint32_t rc = o->refcnt;
    if ((int32_t)rc < 0)
        return; /* immortal */
    if (--rc == 0)
        ouro__dealloc(o);
    else
        o->refcnt = rc;
}
#endif

static inline void ouro_xincref(ouro_object *o) { if (o) ouro_incref(o); }
static inline void ouro_xdecref(ouro_object *o) { if (o) ouro_decref(o); }

/* Python's `del x` / Py_CLEAR: set *ref to NULL, then release the old
 * object (which may die at once, running its finalizer). */
static inline void ouro_clear(ouro_object **ref)
{
    ouro_object *old = *ref;
    if (old) {
        *ref = NULL;
        ouro_decref(old);
    }
}

/* Python's `x = value` / Py_SETREF: store a new reference to `value`
 * (which may be NULL) in *ref and release the old one afterwards. */
static inline void ouro_setref(ouro_object **ref, ouro_object *value)
{
    ouro_object *old = *ref;
    ouro_xincref(value);
    *ref = value;
    ouro_xdecref(old);
}

/* The reference count (sys.getrefcount without the argument's own). */
OURO_API uint32_t ouro_refcount(const ouro_object *o);
/* A stable identity for the object's lifetime (id()). */
OURO_API uintptr_t ouro_id(const ouro_object *o);
/* sys.getsizeof: the object's own bytes, header included. */
OURO_API size_t ouro_sizeof(const ouro_object *o);
OURO_API const ouro_type *ouro_type_of(const ouro_object *o);
OURO_API const char *ouro_type_name(const ouro_object *o);
OURO_API ouro_heap *ouro_heap_of(const ouro_object *o);
/* Make the object immortal: never freed before its heap, reference
 * operations do nothing.  It is untracked by the collector. */
OURO_API void ouro_make_immortal(ouro_object *o);
OURO_API int ouro_is_immortal(const ouro_object *o);

/* ---------------------------------------------------------------- heaps */

/*
 * Where arenas come from.  alloc(size) returns memory of `size` bytes (a
 * multiple of 4096) aligned to 16 KiB, or NULL; free(p, size) gives it
 * back.  The default uses mmap/munmap (trimming a larger mapping for the
 * alignment).  Memory that is not 16 KiB-aligned is refused as ENOMEM.
 */
typedef struct ouro_page_source {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *p, size_t size);
    void *ctx;
} ouro_page_source;

enum { OURO_LEAKS_IGNORE = 0, OURO_LEAKS_WARN = 1, OURO_LEAKS_FAIL = 2 };

enum {
    OURO_DEBUG_OFF = 0,    /* release behaviour */
    OURO_DEBUG_CHECKS = 1, /* poison freed blocks, check frees and heaps */
    OURO_DEBUG_FULL = 2    /* also run ouro_heap_check() after collections */
};

/* A sink for text the heap writes (leak reports, gc debug output). */
typedef void (*ouro_sink_fn)(void *ctx, const char *text);

typedef struct ouro_config {
    size_t struct_size;   /* sizeof(ouro_config), set by ouro_config_init */
    ouro_page_source pages;
    int debug;            /* OURO_DEBUG_*; reference checks need a build
                             with OURO_DEBUG_REFS as well */
    int leak_policy;      /* OURO_LEAKS_* at ouro_heap_free */
    ouro_sink_fn sink;    /* default: write to stderr */
    void *sink_ctx;
    /* Fault injection (testing): make the Nth page request fail (1-based,
     * 0 = never), or every Kth after that (0 = only once). */
    uint64_t fail_page_at;
    uint64_t fail_page_every;
    /* Fail the Nth object allocation (1-based, 0 = never). */
    uint64_t fail_alloc_at;
    uint64_t fail_alloc_every;
    /* Nesting depth at which deallocation switches from recursion to a
     * deferred list (CPython's trashcan uses 50). */
    unsigned dealloc_depth;
    void *userdata;
} ouro_config;

OURO_API void ouro_config_init(ouro_config *cfg);
/* NULL config means defaults.  NULL result when out of memory. */
OURO_API ouro_heap *ouro_heap_new(const ouro_config *cfg);
/* Frees every object and arena.  Live objects are reported according to
 * the leak policy; returns 0, the number of leaked objects (WARN/IGNORE are
 * still 0-or-positive counts) or OURO_ELEAK under OURO_LEAKS_FAIL. */
OURO_API int ouro_heap_free(ouro_heap *h);
OURO_API void *ouro_heap_userdata(ouro_heap *h);
OURO_API void ouro_heap_set_userdata(ouro_heap *h, void *userdata);
/* The last error code set by a call that failed, errno-style: calls set it
 * only when they fail and do not clear it on success (the one exception is
 * ouro_iter_next, which sets 0 at the end of the iteration), so it is
 * meaningful right after a call that reported failure.  Where NULL is also
 * a normal result (a None record field or dict value), clear it with
 * ouro_heap_clear_error before the call and read it after: 0 means no
 * error.  OURO_EINVAL for a NULL heap. */
OURO_API int ouro_heap_last_error(const ouro_heap *h);
OURO_API void ouro_heap_clear_error(ouro_heap *h);

/*
 * Thread ownership.  A heap is used by one thread at a time; it belongs to
 * the thread that created it.  To pass a heap to another thread (a worker
 * pool), hand it over with the synchronization you use for any data (a
 * mutex-protected queue), then either
 *   - the receiving thread calls ouro_heap_set_owner(h) before using it, or
 *   - the giving thread calls ouro_heap_disown(h) before it lets go, and
 *     the first thread to use the heap afterwards becomes its owner.
 * Debug heaps (OURO_DEBUG_CHECKS) check the calling thread at the heap's
 * entry points (allocation, collection, deallocation, raw frees, and every
 * reference operation in an OURO_DEBUG_REFS build) and abort with "heap X
 * is owned by thread T1, used from T2".  Release heaps do not check: both
 * calls are a store, and nothing else pays for ownership.  Returns 0 or
 * OURO_EINVAL for a NULL heap.
 */
OURO_API int ouro_heap_set_owner(ouro_heap *h);
OURO_API int ouro_heap_disown(ouro_heap *h);

/* Verify every invariant of pools, arenas, objects and collector lists,
 * and that every reference an object reports through its traverse (tracked
 * or not) points into this heap.  Returns 0 or OURO_EINVAL after writing
 * what is wrong to the sink. */
OURO_API int ouro_heap_check(ouro_heap *h);

/* Visit every live object (allocated and not yet freed). */
OURO_API int ouro_heap_walk(ouro_heap *h, ouro_visit_fn visit, void *arg);

#define OURO_NUM_CLASSES 40
typedef struct ouro_heap_stats {
    size_t struct_size;          /* set by caller: sizeof(ouro_heap_stats) */
    size_t bytes_in_use;         /* bytes of live blocks (objects, raw) */
    size_t peak_bytes_in_use;
    size_t objects;              /* live objects */
    size_t arenas;               /* arenas held now */
    size_t peak_arenas;
    size_t arenas_allocated;     /* page requests for arenas, ever */
    size_t arenas_released;      /* arenas returned to the page source */
    size_t large_blocks;         /* blocks bigger than the largest class */
    size_t large_bytes;
    size_t mapped_bytes;         /* bytes held from the page source now */
    size_t peak_mapped_bytes;
    unsigned num_classes;
    size_t class_size[OURO_NUM_CLASSES];
    size_t class_blocks[OURO_NUM_CLASSES]; /* live blocks per class */
    size_t class_pools[OURO_NUM_CLASSES];  /* pools in use per class */
} ouro_heap_stats;

/* Every figure but class_blocks is kept as the heap runs and costs O(1) to
 * read.  class_blocks is counted from the pool headers when asked for
 * (O(pools), as CPython's sys._debugmallocstats walks its arenas), so that
 * allocation and free do not pay for it; a caller that wants only the
 * totals (a sampler) sets struct_size to offsetof(ouro_heap_stats,
 * class_size) and skips that count. */
OURO_API int ouro_heap_get_stats(ouro_heap *h, ouro_heap_stats *out);
/* Human-readable statistics into buf (truncated, NUL-terminated); returns
 * the length the full text needs. */
OURO_API size_t ouro_heap_stats_text(ouro_heap *h, char *buf, size_t size);

/* Raw memory from the heap's pools, for object internals (item arrays). */
OURO_API void *ouro_raw_alloc(ouro_heap *h, size_t size);
OURO_API void *ouro_raw_realloc(ouro_heap *h, void *p, size_t size);
OURO_API void ouro_raw_free(ouro_heap *h, void *p);
OURO_API void *ouro_raw_alloc_at(ouro_heap *h, size_t size, const char *file, int line,
                                 const char *func);
OURO_API void *ouro_raw_realloc_at(ouro_heap *h, void *p, size_t size, const char *file,
                                   int line, const char *func);
#ifndef OURO_NO_SITE_MACROS
#define ouro_raw_alloc(h, size) ouro_raw_alloc_at((h), (size), __FILE__, __LINE__, __func__)
#define ouro_raw_realloc(h, p, size) \
    ouro_raw_realloc_at((h), (p), (size), __FILE__, __LINE__, __func__)
#endif

/* ------------------------------------------------------- scoped release */

/*
 * The C counterpart of Python's `with`: every object handed to a scope is
 * released when the scope ends.  Scopes nest; ouro_scope_end releases the
 * objects of the innermost scope in reverse order of addition.
 */
typedef struct ouro_scope {
    ouro_heap *heap;
    size_t mark;
} ouro_scope;

OURO_API ouro_scope ouro_scope_begin(ouro_heap *h);
/* Hands `o` (a new reference) to the innermost open scope; returns `o`.
 * On OOM the object is released at once and NULL returned. */
OURO_API ouro_object *ouro_scope_add(ouro_heap *h, ouro_object *o);
OURO_API void ouro_scope_end(ouro_scope *scope);

/* `OURO_AUTO ouro_object *x = ouro_new(...)`: released when x goes out of
 * scope (GCC/Clang cleanup attribute). */
static inline void ouro__auto_release(ouro_object **p) { ouro_clear(p); }
#if defined(__GNUC__)
#define OURO_AUTO __attribute__((cleanup(ouro__auto_release)))
#endif

/* ------------------------------------------------------- cycle collector */

#define OURO_GC_GENERATIONS 3

OURO_API void ouro_gc_enable(ouro_heap *h);
OURO_API void ouro_gc_disable(ouro_heap *h);
OURO_API int ouro_gc_is_enabled(ouro_heap *h);
/* gc.collect(generation): returns CPython's count (unreachable objects not
 * resurrected, plus reachable weak references freed right after their
 * callback, plus uncollectable ones), 0 if a collection is already running,
 * or a negative error for a bad generation. */
OURO_API long ouro_gc_collect(ouro_heap *h, int generation);
OURO_API void ouro_gc_get_threshold(ouro_heap *h, int out[3]);
OURO_API int ouro_gc_set_threshold(ouro_heap *h, int t0, int t1, int t2);
OURO_API void ouro_gc_get_count(ouro_heap *h, int out[3]);
/* Throughput mode, not in CPython and off by default (the default keeps
 * CPython's collection schedule exactly).  With max_factor > 1, an
 * automatic collection that finds nothing to free doubles the allocation
 * count at which generation 0 is next collected, up to max_factor times
 * threshold0; an automatic collection that finds anything (or
 * ouro_gc_set_threshold) brings it back to threshold0.  A program that
 * builds structures that live (trees, documents, caches) then stops paying
 * a young collection every 700 allocations for survivors; garbage cycles
 * wait at most max_factor times longer to be found.  0 or 1 turns it off;
 * OURO_EINVAL above 1024.  ouro_gc_get_threshold still reports threshold0. */
OURO_API int ouro_gc_set_young_growth(ouro_heap *h, int max_factor);
OURO_API int ouro_gc_get_young_growth(ouro_heap *h);

typedef struct ouro_gc_gen_stats {
    size_t collections;
    size_t collected;
    size_t uncollectable;
} ouro_gc_gen_stats;
OURO_API void ouro_gc_get_stats(ouro_heap *h, ouro_gc_gen_stats out[3]);

/* gc.get_objects(generation), generation -1 for all: visits tracked
 * objects (borrowed) in list order. */
OURO_API int ouro_gc_get_objects(ouro_heap *h, int generation,
                                 ouro_visit_fn visit, void *arg);
/* gc.get_referrers: tracked objects in generations 0..2 whose traverse
 * reports `target`, each visited once. */
OURO_API int ouro_gc_get_referrers(ouro_heap *h, ouro_object *target,
                                   ouro_visit_fn visit, void *arg);
/* gc.get_referents: what `o`'s traverse reports. */
OURO_API int ouro_gc_get_referents(ouro_object *o, ouro_visit_fn visit, void *arg);
OURO_API int ouro_gc_is_tracked(const ouro_object *o);
OURO_API int ouro_gc_is_finalized(const ouro_object *o);
/* Track/untrack a GC-type object (e.g. a container that holds only atomic
 * objects can be untracked, as CPython does for tuples and dicts). */
OURO_API int ouro_gc_track(ouro_object *o);
OURO_API int ouro_gc_untrack(ouro_object *o);
OURO_API void ouro_gc_freeze(ouro_heap *h);
OURO_API void ouro_gc_unfreeze(ouro_heap *h);
OURO_API size_t ouro_gc_get_freeze_count(ouro_heap *h);

enum {
    OURO_GC_DEBUG_STATS = 1,
    OURO_GC_DEBUG_COLLECTABLE = 2,
    OURO_GC_DEBUG_UNCOLLECTABLE = 4,
    OURO_GC_DEBUG_SAVEALL = 32,
    OURO_GC_DEBUG_LEAK = 2 | 4 | 32
};
OURO_API void ouro_gc_set_debug(ouro_heap *h, int flags);
OURO_API int ouro_gc_get_debug(ouro_heap *h);

/* gc.callbacks: called with phase "start" or "stop". */
typedef struct ouro_gc_info {
    int generation;
    long collected;
    long uncollectable;
} ouro_gc_info;
typedef void (*ouro_gc_callback)(ouro_heap *h, const char *phase,
                                 const ouro_gc_info *info, void *arg);
OURO_API int ouro_gc_callback_add(ouro_heap *h, ouro_gc_callback cb, void *arg);
OURO_API int ouro_gc_callback_remove(ouro_heap *h, ouro_gc_callback cb, void *arg);

/* gc.garbage: objects the collector could not free (legacy finalizers) or
 * kept under DEBUG_SAVEALL.  The list holds strong references. */
OURO_API size_t ouro_gc_garbage_count(ouro_heap *h);
OURO_API ouro_object *ouro_gc_garbage_get(ouro_heap *h, size_t i); /* borrowed */
OURO_API void ouro_gc_garbage_clear(ouro_heap *h);

/* ------------------------------------------------------ weak references */

/*
 * A weak reference is an ordinary managed, collector-tracked object.  Its
 * callback runs when the referent dies, with CPython's rules: not for a
 * weak reference that is itself part of the same cyclic trash, and only
 * after every weak reference to that trash has been cleared.
 *
 * callback(h, wr, arg): wr is borrowed for the call.  `arg` is owned by the
 * caller; pass `cb_obj` to have the weak reference hold a strong reference
 * to an object the callback needs (released when the weakref dies).
 */
typedef void (*ouro_weakref_callback)(ouro_heap *h, ouro_object *wr, void *arg);

/* weakref.ref(target, callback): a new reference to a new weak reference;
 * NULL with OURO_ETYPE if the target's type does not allow weak
 * references, OURO_ENOMEM when out of memory. */
OURO_API ouro_object *ouro_weakref_new(ouro_heap *h, ouro_object *target,
                                       ouro_weakref_callback cb, void *arg);
/* weakref.ref(target) without callback: shared, like CPython's basic ref. */
OURO_API ouro_object *ouro_weakref_basic(ouro_heap *h, ouro_object *target);
/* wr(): a new reference to the referent, or NULL if it is gone. */
OURO_API ouro_object *ouro_weakref_get(ouro_object *wr);
/* The referent, borrowed, or NULL. */
OURO_API ouro_object *ouro_weakref_peek(ouro_object *wr);
OURO_API int ouro_is_weakref(const ouro_object *o);
OURO_API void *ouro_weakref_arg(const ouro_object *wr);
/* weakref.getweakrefcount(o). */
OURO_API size_t ouro_weakref_count(ouro_object *o);

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
 * WeakValueDictionary (keys: byte strings, copied), WeakKeyDictionary (keys
 * weakly held, compared by identity; values strong) and WeakSet (items
 * weakly held, by identity).  All three are managed objects: create them
 * with ouro_*_new (new reference), drop them with ouro_decref.  An entry
 * disappears as soon as its weakly held object dies; during an items() walk
 * removals are deferred until the walk ends, as Python's _IterationGuard
 * does.  Values and keys must be of types that allow weak references.
 * Functions returning int give 0 / 1 or a negative OURO_E* code.
 */
typedef int (*ouro_wv_item_fn)(const void *key, size_t klen, ouro_object *value, void *arg);
typedef int (*ouro_wk_item_fn)(ouro_object *key, ouro_object *value, void *arg);

OURO_API ouro_object *ouro_wvdict_new(ouro_heap *h);
OURO_API int ouro_wvdict_set(ouro_object *d, const void *key, size_t klen, ouro_object *value);
OURO_API ouro_object *ouro_wvdict_get(ouro_object *d, const void *key, size_t klen); /* new ref */
OURO_API int ouro_wvdict_del(ouro_object *d, const void *key, size_t klen);
OURO_API size_t ouro_wvdict_len(ouro_object *d);
OURO_API int ouro_wvdict_items(ouro_object *d, ouro_wv_item_fn fn, void *arg);

OURO_API ouro_object *ouro_wkdict_new(ouro_heap *h);
OURO_API int ouro_wkdict_set(ouro_object *d, ouro_object *key, ouro_object *value);
OURO_API ouro_object *ouro_wkdict_get(ouro_object *d, ouro_object *key); /* new ref */
OURO_API int ouro_wkdict_del(ouro_object *d, ouro_object *key);
OURO_API size_t ouro_wkdict_len(ouro_object *d);
OURO_API int ouro_wkdict_items(ouro_object *d, ouro_wk_item_fn fn, void *arg);

OURO_API ouro_object *ouro_wset_new(ouro_heap *h);
OURO_API int ouro_wset_add(ouro_object *s, ouro_object *item);
OURO_API int ouro_wset_contains(ouro_object *s, ouro_object *item);
OURO_API int ouro_wset_discard(ouro_object *s, ouro_object *item);
OURO_API size_t ouro_wset_len(ouro_object *s);
OURO_API int ouro_wset_items(ouro_object *s, ouro_wk_item_fn fn, void *arg); /* value NULL */

/* ------------------------------------------------------ built-in types */

/*
 * The built-in object types.
 *
 * Python's everyday objects as ouro types: int, float, str, bytes, tuple,
 * list, dict, set, array, record types (namedtuple / __slots__), an LRU
 * cache (functools.lru_cache), iterators and a lazy range, with CPython's
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
 *   - Indices are Python's: negative ones count from the end.
 *   - Out of memory leaves every object as it was before the call.
 */


/* ------------------------------------------------------------- generic */

/* hash(o): 0 and *out, or OURO_ETYPE for an unhashable object (list,
 * dict, set, array, or a tuple holding one).  Numbers hash as Python's do
 * (hash(1) == hash(1.0) == 1); objects of other types hash by identity. */
OURO_API int ouro_hash(ouro_object *o, int64_t *out);
/* a == b: 1 or 0 (or a negative code).  Numbers compare by value across
 * int and float; str, bytes, tuple, list, dict, set, array and records by
 * content; other objects by identity. */
OURO_API int ouro_equal(ouro_object *a, ouro_object *b);
/* len(o), or OURO_ETYPE. */
OURO_API ptrdiff_t ouro_len(ouro_object *o);
/* repr(o) into buf (truncated, NUL-terminated); returns the length the
 * whole text needs, like snprintf.  NULL prints as None. */
OURO_API size_t ouro_repr(ouro_object *o, char *buf, size_t size);
/* Whether o is an object of one of the types below (never of user
 * types), and the short Python name of its type ("int", "list", ...). */
OURO_API int ouro_is_builtin(const ouro_object *o);

/* ----------------------------------------------------------- int, float */

/* Ints are 64-bit.  -5..256 come from a per-heap cache of immortal
 * objects, as in CPython: ouro_int_new(h, 7) == ouro_int_new(h, 7). */
OURO_API ouro_object *ouro_int_new(ouro_heap *h, int64_t v);
OURO_API int ouro_int_check(const ouro_object *o);
/* 0 and *out, or OURO_ETYPE (a float is not converted). */
OURO_API int ouro_int_get(const ouro_object *o, int64_t *out);
/* The value, 0 for a non-int. */
OURO_API int64_t ouro_int_value(const ouro_object *o);

OURO_API ouro_object *ouro_float_new(ouro_heap *h, double v);
OURO_API int ouro_float_check(const ouro_object *o);
/* 0 and *out for a float or an int, OURO_ETYPE otherwise. */
OURO_API int ouro_float_get(const ouro_object *o, double *out);
OURO_API double ouro_float_value(const ouro_object *o);

/* ----------------------------------------------------------- str, bytes */

/* str: immutable UTF-8 text.  OURO_EINVAL for bytes that are not valid
 * UTF-8.  The data is NUL-terminated; ouro_str_len counts code points. */
OURO_API ouro_object *ouro_str_new(ouro_heap *h, const char *utf8, size_t nbytes);
OURO_API ouro_object *ouro_str_from(ouro_heap *h, const char *cstring);
OURO_API int ouro_str_check(const ouro_object *o);
OURO_API const char *ouro_str_data(const ouro_object *o);   /* NULL if not a str */
OURO_API size_t ouro_str_nbytes(const ouro_object *o);
OURO_API size_t ouro_str_len(const ouro_object *o);
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

OURO_API ouro_object *ouro_bytes_new(ouro_heap *h, const void *data, size_t len);
OURO_API int ouro_bytes_check(const ouro_object *o);
OURO_API const uint8_t *ouro_bytes_data(const ouro_object *o); /* NULL if not bytes */
OURO_API size_t ouro_bytes_len(const ouro_object *o);

/* ---------------------------------------------------------------- tuple */

/* A tuple of n empty slots, to be filled with ouro_tuple_set while the
 * caller holds the only reference (as PyTuple_New/PyTuple_SET_ITEM).  The
 * empty tuple is a per-heap immortal singleton. */
OURO_API ouro_object *ouro_tuple_new(ouro_heap *h, size_t n);
OURO_API ouro_object *ouro_tuple_from(ouro_heap *h, ouro_object *const *items, size_t n);
OURO_API ouro_object *ouro_tuple_pack(ouro_heap *h, size_t n, ...);
OURO_API int ouro_tuple_check(const ouro_object *o);
OURO_API size_t ouro_tuple_len(const ouro_object *o);
OURO_API ouro_object *ouro_tuple_get(ouro_object *t, ptrdiff_t i);
/* OURO_ETYPE once the tuple is shared (refcount > 1): tuples are
 * immutable once published, so their hash cannot change. */
OURO_API int ouro_tuple_set(ouro_object *t, ptrdiff_t i, ouro_object *v);

/* ----------------------------------------------------------------- list */

/* Growth is amortised as CPython's list_resize: about 1/8 more room
 * than asked, so n appends cost O(n) and sizeof follows CPython's steps. */
OURO_API ouro_object *ouro_list_new(ouro_heap *h);
OURO_API ouro_object *ouro_list_from(ouro_heap *h, ouro_object *const *items, size_t n);
OURO_API int ouro_list_check(const ouro_object *o);
OURO_API size_t ouro_list_len(const ouro_object *o);
OURO_API size_t ouro_list_allocated(const ouro_object *o); /* slots with room */
OURO_API ouro_object *ouro_list_get(ouro_object *l, ptrdiff_t i);
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
/* l.sort(): ints and floats, or strs, or bytes (stable); OURO_ETYPE for
 * anything else, leaving the list as it was. */
OURO_API int ouro_list_sort(ouro_object *l);

/* ----------------------------------------------------------------- dict */

/*
 * An insertion-ordered dict, compact as CPython's: a sparse table of
 * 1-, 2-, 4- or 8-byte indices into a dense array of (hash, key, value)
 * entries, filled to 2/3.  A new dict has no table at all.  It is not
 * tracked by the collector until a key or value that can be part of a
 * cycle is stored, and a full collection untracks it again when none is.
 */
OURO_API ouro_object *ouro_dict_new(ouro_heap *h);
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

OURO_API ouro_object *ouro_set_new(ouro_heap *h);
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
OURO_API ouro_object *ouro_array_new(ouro_heap *h, char typecode);
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
OURO_API ouro_object *ouro_array_get(ouro_object *a, ptrdiff_t i);
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
 * Records are tracked by the collector and weakly referenceable.
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

OURO_API ouro_object *ouro_record_new(ouro_heap *h, ouro_record_type *rt);
/* All fields at once (values[nfields], NULLs allowed). */
OURO_API ouro_object *ouro_record_make(ouro_heap *h, ouro_record_type *rt,
                                       ouro_object *const *values);
OURO_API int ouro_record_check(const ouro_object *o);
OURO_API ouro_object *ouro_record_get(ouro_object *r, size_t i);  /* borrowed, may be NULL */
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
OURO_API ouro_object *ouro_dict_iter(ouro_heap *h, ouro_object *d, int kind);

/* range(start, stop, step): 48 bytes whatever its length; OURO_EINVAL for
 * step 0. */
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

/* ------------------------------------------------------ memory profiling */

/*
 * Memory profiling and introspection: ouro's tracemalloc, objgraph, Pympler
 * and mprof, leak reports and snapshots (docs/inspect.md).
 *
 * Conventions of this part of the API
 *   - Measuring never changes what is measured: no function here triggers a
 *     collection, and every byte these functions use comes from malloc, never
 *     from the heap, so ouro_heap_get_stats() reads the same before and
 *     after (tests/test_inspect_*.c check it).
 *   - Every function that prints or draws sits on one that returns data.
 *     Arrays returned by `ouro_*` functions here are malloc'd and released
 *     with ouro_inspect_free() unless a dedicated *_free is named.
 *   - Strings inside returned data (type names, file names) are borrowed:
 *     type names live as long as their ouro_type; everything inside a
 *     snapshot lives as long as the snapshot.
 *   - The same threading rule as the heap: one thread at a time per heap.
 */

/* Release an array returned by an inspect function. */
OURO_API void ouro_inspect_free(void *p);

/* ================================================ allocation tracing
 *
 * The C counterpart of tracemalloc.  While tracing is on, every block
 * ouro_new* / ouro_raw_* hands out is recorded with its traceback: frame 0
 * is the allocation site that the ouro_new / ouro_raw_alloc macros capture
 * (file, line, function); with nframes > 1 the native callers follow
 * (return addresses from libunwind, symbolized with libdw when a snapshot
 * or a traceback is taken).  Cost with one frame: a hash-table insert per
 * allocation and a delete per free (BENCHMARKS.md workload 9: at most 2x).
 *
 * Sampled tracing records about one allocation per `sample_bytes` bytes
 * (the distance between samples is drawn from an exponential distribution,
 * so every byte has the same chance 1/sample_bytes of being the one that
 * triggers a sample).  A sampled block of size s stands for
 * s / (1 - exp(-s / sample_bytes)) bytes, about sample_bytes for small
 * blocks, and all sizes and totals are scaled that way: estimates without
 * bias, for always-on use (target: at most 1.1x).
 */
enum { OURO_DOMAIN_OBJECT = 0, OURO_DOMAIN_RAW = 1 };
#define OURO_TRACE_MAX_FRAMES 64

typedef struct ouro_frame {
    const char *file; /* NULL when unknown ("<unknown>" in text) */
    const char *func; /* NULL when unknown */
    int line;         /* 0 when unknown */
    uintptr_t ip;     /* native frame: return address; 0 for the allocation site */
} ouro_frame;

/* tracemalloc.start(nframes): 1..OURO_TRACE_MAX_FRAMES.  Starting again
 * while tracing keeps the traces and changes nothing (as CPython). */
OURO_API int ouro_trace_start(ouro_heap *h, int nframes);
/* Sampled tracing; sample_bytes 0 means every allocation. */
OURO_API int ouro_trace_start_sampled(ouro_heap *h, int nframes, size_t sample_bytes);
/* tracemalloc.stop(): forgets every trace and frees the tracer.  Call it
 * before ouro_heap_free (or the tracer's own memory leaks). */
OURO_API int ouro_trace_stop(ouro_heap *h);
OURO_API int ouro_trace_is_tracing(ouro_heap *h);
OURO_API int ouro_trace_get_traceback_limit(ouro_heap *h);
OURO_API size_t ouro_trace_get_sample_bytes(ouro_heap *h);
/* Traced bytes now and at the peak (scaled estimates when sampling); 0, 0
 * when not tracing. */
OURO_API void ouro_trace_get_traced_memory(ouro_heap *h, size_t *current, size_t *peak);
/* Set the peak to the current value. */
OURO_API void ouro_trace_reset_peak(ouro_heap *h);
/* tracemalloc.get_tracemalloc_memory(): the tracer's own malloc'd bytes. */
OURO_API size_t ouro_trace_get_tracer_memory(ouro_heap *h);
/* Blocks currently traced (samples, when sampling), and allocations that
 * could not be recorded because malloc failed. */
OURO_API size_t ouro_trace_get_count(ouro_heap *h);
OURO_API size_t ouro_trace_get_lost(ouro_heap *h);
/* tracemalloc.get_object_traceback(): the frames of the allocation of
 * `block` (an object or a raw block), innermost first.  Returns the number
 * of frames written (at most max), 0 if the block is not traced, or a
 * negative error.  Strings stay valid until tracing stops. */
OURO_API int ouro_trace_get_traceback(ouro_heap *h, const void *block, ouro_frame *out, int max);

/* ================================================ snapshots
 *
 * A snapshot is plain data, independent of its heap once taken: traces
 * (grouped by traceback, domain and block size), a census of live objects
 * by type, the heap's statistics, optionally a time series from a sampler,
 * a leak report and the object graph around the largest leak suspects.
 * The same structure comes back from ouro_snapshot_load(), so the report
 * tool and a program read one thing.  Fields are read-only.
 */
typedef struct ouro_trace {
    int domain;               /* OURO_DOMAIN_* */
    int nframes;
    size_t size;              /* bytes each block stands for */
    size_t count;             /* blocks with this traceback, domain and size */
    const ouro_frame *frames; /* frames[0] is the allocation site */
} ouro_trace;

typedef struct ouro_type_count {
    const char *name;
    size_t count;       /* live objects of the type */
    size_t size;        /* sum of ouro_sizeof (sys.getsizeof) */
    size_t block_bytes; /* heap bytes their blocks hold (size rounded up to a class) */
} ouro_type_count;

typedef struct ouro_series_point {
    double t;             /* seconds since the sampler started */
    size_t heap_bytes;    /* ouro_heap_stats.bytes_in_use */
    size_t mapped_bytes;  /* ouro_heap_stats.mapped_bytes */
    size_t rss_bytes;     /* the process's resident set (/proc/self/statm) */
    size_t objects;       /* live objects */
    size_t traced_bytes;  /* traced memory now, 0 when not tracing */
} ouro_series_point;

typedef struct ouro_mark {
    const char *name;
    double begin, end; /* seconds; end < 0 while the region is open */
    int depth;         /* nesting level, 0 outermost */
} ouro_mark;

enum { OURO_NODE_ROOT = 1, OURO_NODE_SUSPECT = 2, OURO_NODE_TARGET = 4 };
typedef struct ouro_graph_node {
    uint64_t id;       /* ouro_id() of the object */
    const char *type;
    size_t size;       /* ouro_sizeof */
    uint32_t refcnt;
    uint32_t external; /* references from outside the heap's objects */
    unsigned flags;    /* OURO_NODE_* */
} ouro_graph_node;

typedef struct ouro_graph_edge {
    size_t from, to; /* indices into the node array: `from` refers to `to` */
} ouro_graph_edge;

typedef struct ouro_graph {
    ouro_graph_node *nodes;
    size_t nnodes;
    ouro_graph_edge *edges;
    size_t nedges;
    int truncated; /* the node limit cut the graph short */
} ouro_graph;

typedef struct ouro_leak_group {
    const char *type;
    ouro_frame site;        /* allocation site; file NULL when not traced */
    size_t count;
    size_t bytes;           /* block bytes */
    uint64_t example;       /* ouro_id() of one object of the group */
    ouro_graph_node *chain; /* root ... example, or NULL */
    size_t nchain;
} ouro_leak_group;

typedef struct ouro_snapshot {
    size_t struct_size;    /* sizeof(ouro_snapshot) of the library */
    const char *label;     /* may be NULL */
    double time;           /* seconds since the epoch */
    int has_heap;
    ouro_heap_stats heap;  /* the main counters; classes are not kept */
    int tracing;           /* traces below are meaningful */
    int nframes;
    size_t sample_bytes;
    size_t traced_current, traced_peak;
    ouro_trace *traces;
    size_t ntraces;
    ouro_type_count *census;
    size_t ncensus;
    ouro_series_point *series;
    size_t nseries;
    ouro_mark *marks;
    size_t nmarks;
    ouro_leak_group *leaks;
    size_t nleaks;
    ouro_graph graph;
    void *priv;            /* the snapshot's own storage */
} ouro_snapshot;

enum {
    OURO_SNAP_TRACES = 1, /* needs tracing on */
    OURO_SNAP_CENSUS = 2,
    OURO_SNAP_LEAKS = 4,  /* leak report of every live object */
    OURO_SNAP_GRAPH = 8,  /* graph around the largest leak suspects */
    OURO_SNAP_ALL = 15
};

/* Take a snapshot of what `what` names (traces are skipped when tracing is
 * off).  NULL on out of memory (ouro_heap_last_error() says ENOMEM). */
OURO_API ouro_snapshot *ouro_snapshot_take(ouro_heap *h, unsigned what, const char *label);
/* tracemalloc.take_snapshot(): traces only; NULL with OURO_ENOTFOUND when
 * tracing is off. */
OURO_API ouro_snapshot *ouro_trace_take_snapshot(ouro_heap *h);
OURO_API void ouro_snapshot_free(ouro_snapshot *s);

/* Statistics grouped by the allocation site's line, file, or the whole
 * traceback (Snapshot.statistics), sorted by size, then count, largest
 * first.  `cumulative` counts a trace for every frame of its traceback
 * (once per distinct key), not only frame 0; not with TRACEBACK. */
enum { OURO_STAT_LINE = 0, OURO_STAT_FILE = 1, OURO_STAT_TRACEBACK = 2 };
typedef struct ouro_trace_stat {
    int nframes;
    const ouro_frame *frames; /* the key: LINE: 1 frame; FILE: 1 frame, line 0 */
    size_t size, count;
    long long size_diff, count_diff; /* ouro_snapshot_compare only */
} ouro_trace_stat;
OURO_API ouro_trace_stat *ouro_snapshot_statistics(const ouro_snapshot *s, int key,
                                                   int cumulative, size_t *n);
/* Snapshot.compare_to(old): every key of either snapshot, sorted by
 * |size_diff|, size, |count_diff|, count, largest first.  Strings point into
 * both snapshots. */
OURO_API ouro_trace_stat *ouro_snapshot_compare(const ouro_snapshot *now,
                                                const ouro_snapshot *old, int key,
                                                int cumulative, size_t *n);
/* One line of text, as tracemalloc prints a Statistic / StatisticDiff:
 * "file:line: size=4800 B, count=100, average=48 B".  Returns the length
 * the full text needs (snprintf). */
OURO_API int ouro_trace_stat_format(const ouro_trace_stat *st, int diff, char *buf,
                                    size_t len);

/* Filters (tracemalloc.Filter and DomainFilter in one): a trace is kept if
 * it matches at least one inclusive filter (when there are any) and every
 * exclusive filter lets it through. */
typedef struct ouro_trace_filter {
    int inclusive;            /* 1: keep matching traces; 0: drop them */
    const char *file_pattern; /* fnmatch(3) pattern; NULL matches any file */
    int line;                 /* 0: any line */
    int all_frames;           /* test every frame, not only the allocation site */
    int domain;               /* -1: any domain */
} ouro_trace_filter;
/* Snapshot.filter_traces: a new snapshot (census and the rest copied). */
OURO_API ouro_snapshot *ouro_snapshot_filter_traces(const ouro_snapshot *s,
                                                    const ouro_trace_filter *filters,
                                                    size_t nfilters);

/* Snapshots on disk: one JSON document (docs/inspect.md describes it).
 * Writing streams (no document is built in memory); loading uses jansson
 * and checks every field: a corrupt or hostile file gives NULL and a
 * message in err (e.g. "traces[3][3][0]: frame index 99 out of range"). */
OURO_API int ouro_snapshot_write(const ouro_snapshot *s, FILE *out);
OURO_API int ouro_snapshot_save(const ouro_snapshot *s, const char *path);
OURO_API ouro_snapshot *ouro_snapshot_parse(const char *text, size_t len, char *err,
                                            size_t errlen);
OURO_API ouro_snapshot *ouro_snapshot_load(const char *path, char *err, size_t errlen);
/* Files larger than this are refused by ouro_snapshot_load. */
#define OURO_SNAPSHOT_MAX_BYTES ((size_t)1 << 30)

/* ================================================ census (objgraph, Pympler)
 */

/* Live objects by type, most numerous first (objgraph.typestats /
 * most_common_types; Pympler's summary with `size`).  Immortal objects are
 * left out. */
OURO_API ouro_type_count *ouro_census(ouro_heap *h, size_t *n);
/* objgraph.count(typename). */
OURO_API size_t ouro_census_count(ouro_heap *h, const char *type_name);
/* objgraph.by_type: visit every live object whose type has this name. */
OURO_API int ouro_objects_of_type(ouro_heap *h, const char *type_name, ouro_visit_fn visit,
                                  void *arg);

typedef struct ouro_type_diff {
    const char *name;
    size_t count, size;              /* now */
    long long count_diff, size_diff; /* now minus before */
} ouro_type_diff;
/* Pympler's summary.get_diff: every type of either census, sorted by
 * |size_diff| then |count_diff|, largest first; unchanged types left out. */
OURO_API ouro_type_diff *ouro_census_diff(const ouro_type_count *now, size_t nnow,
                                          const ouro_type_count *before, size_t nbefore,
                                          size_t *n);

/* objgraph.growth: counts that went above their previous peak since the
 * last call, largest increase first.  The state is the caller's. */
typedef struct ouro_growth ouro_growth;
OURO_API ouro_growth *ouro_growth_new(void);
OURO_API ouro_type_diff *ouro_growth_step(ouro_growth *g, ouro_heap *h, size_t *n);
OURO_API void ouro_growth_free(ouro_growth *g);

/* Pympler's ClassTracker: record the instances of chosen types over time.
 * Each sample records, per type, the count and total size, and notes which
 * instances appeared and which disappeared (identity: the object's address,
 * so an address reused by a new instance between two samples looks like the
 * same instance). */
typedef struct ouro_tracker ouro_tracker;
typedef struct ouro_tracker_row {
    size_t sample;   /* index of the sample */
    const char *label;
    double t;        /* seconds since the tracker was created */
    const char *type;
    size_t count, size;
} ouro_tracker_row;
typedef struct ouro_tracked_instance {
    uint64_t id;
    const char *type;
    size_t born;  /* first sample that saw it */
    size_t died;  /* first sample that did not, SIZE_MAX while alive */
    size_t size;  /* ouro_sizeof at the last sample that saw it */
} ouro_tracked_instance;
OURO_API ouro_tracker *ouro_tracker_new(void);
OURO_API int ouro_tracker_track(ouro_tracker *t, const ouro_type *type);
OURO_API int ouro_tracker_sample(ouro_tracker *t, ouro_heap *h, const char *label);
OURO_API const ouro_tracker_row *ouro_tracker_rows(const ouro_tracker *t, size_t *n);
OURO_API const ouro_tracked_instance *ouro_tracker_instances(const ouro_tracker *t, size_t *n);
OURO_API void ouro_tracker_free(ouro_tracker *t);

/* ================================================ object graphs (objgraph)
 *
 * Roots are the objects the program holds from outside the heap: those
 * whose reference count exceeds the references other heap objects hold to
 * them (the collector's gc_refs, computed over the whole heap without
 * touching it).  Immortal objects are roots too.
 */

/* objgraph.get_leaking_objects: objects no other heap object refers to. */
OURO_API int ouro_get_leaking_objects(ouro_heap *h, ouro_visit_fn visit, void *arg);
/* Objects with references from outside the heap. */
OURO_API int ouro_get_roots(ouro_heap *h, ouro_visit_fn visit, void *arg);
/* objgraph.find_backref_chain: the shortest chain root -> ... -> target
 * (borrowed references, chain[len-1] == target); NULL with OURO_ENOTFOUND
 * if no root reaches it (e.g. cyclic garbage). */
OURO_API ouro_object **ouro_find_backref_chain(ouro_heap *h, ouro_object *target,
                                               size_t *len);

/* The objects reachable from `objs` (refs) or reaching them (backrefs)
 * within max_depth steps, at most max_nodes nodes (0: 200).  objs are
 * flagged OURO_NODE_TARGET. */
OURO_API ouro_graph *ouro_graph_refs(ouro_heap *h, ouro_object *const *objs, size_t n,
                                     int max_depth, size_t max_nodes);
OURO_API ouro_graph *ouro_graph_backrefs(ouro_heap *h, ouro_object *const *objs, size_t n,
                                         int max_depth, size_t max_nodes);
OURO_API void ouro_graph_free(ouro_graph *g);
/* Graphviz DOT text of a graph (objgraph.show_refs / show_backrefs). */
OURO_API int ouro_graph_write_dot(const ouro_graph *g, FILE *out);
/* Run Graphviz `dot -T<format>` (svg, png, ...) on a DOT file.  Returns 0,
 * OURO_ENOTFOUND when `dot` is not installed, OURO_EINVAL when it fails. */
OURO_API int ouro_dot_render(const char *dot_path, const char *out_path, const char *format);

/* ================================================ leak reports */

typedef struct ouro_leak_report {
    size_t objects, bytes; /* every live mortal object */
    ouro_leak_group *groups;
    size_t ngroups;
    void *priv;
} ouro_leak_report;
/* Live objects grouped by type and allocation site (the site needs
 * tracing on), largest groups first; the `chains` largest groups get the
 * shortest back-reference chain from a root to their example. */
OURO_API ouro_leak_report *ouro_leak_report_take(ouro_heap *h, size_t chains);
OURO_API int ouro_leak_report_print(const ouro_leak_report *r, size_t max_groups, FILE *out);
OURO_API void ouro_leak_report_free(ouro_leak_report *r);

/* ================================================ memory over time (mprof)
 *
 * A sampler records heap bytes, RSS, object counts and traced bytes.  It
 * samples when asked (ouro_sampler_sample), when ouro_sampler_tick finds the
 * interval passed, at every mark, and — through a collector callback — after
 * collections once the interval has passed, so a program that allocates is
 * sampled without being changed.  Marks name regions of code (the C
 * counterpart of memory_profiler's line-by-line).
 */
typedef struct ouro_sampler ouro_sampler;
/* interval in seconds (0: only explicit samples and marks).  Free the
 * sampler before its heap. */
OURO_API ouro_sampler *ouro_sampler_new(ouro_heap *h, double interval);
OURO_API int ouro_sampler_sample(ouro_sampler *s);
OURO_API int ouro_sampler_tick(ouro_sampler *s);
OURO_API int ouro_sampler_begin(ouro_sampler *s, const char *name);
/* Closes the innermost open region with this name (NULL: the innermost). */
OURO_API int ouro_sampler_end(ouro_sampler *s, const char *name);
OURO_API const ouro_series_point *ouro_sampler_points(const ouro_sampler *s, size_t *n);
OURO_API const ouro_mark *ouro_sampler_marks(const ouro_sampler *s, size_t *n);
/* Copy the series and marks into a snapshot (replacing what it had). */
OURO_API int ouro_snapshot_set_series(ouro_snapshot *snap, const ouro_sampler *s);
/* A snapshot file holding the series (and the heap's census at the end). */
OURO_API int ouro_sampler_save(const ouro_sampler *s, const char *path);
/* memory_profiler's mprof .dat format (MEM / FUNC lines), for `mprof plot`. */
OURO_API int ouro_sampler_write_mprof(const ouro_sampler *s, FILE *out);
OURO_API void ouro_sampler_free(ouro_sampler *s);

#ifdef __cplusplus
}
#endif
#endif /* OURO_H */
