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
    OURO_ERANGE = -8,    /* an index or a value is out of range */
    OURO_ENOTSUP = -9,   /* not supported by this kind of heap (yet) */
    OURO_ETHREAD = -10   /* the calling thread is not attached to the shared
                            heap (ouro_thread_attach) */
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
 *               Runs once per object: when it dies, or at ouro_heap_free
 *               for an object still alive then (after its clear).
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
 * header), reference count 1, tracked by the collector if OURO_TYPE_GC:
 * a new reference.  NULL when out of memory (the heap stays consistent). */
OURO_API ouro_object *ouro_new(ouro_heap *h, ouro_type *type);
/* As ouro_new (a new reference) with an explicit size (>=
 * sizeof(ouro_object)), for variable-sized objects. */
OURO_API ouro_object *ouro_new_sized(ouro_heap *h, ouro_type *type, size_t size);

/* The same (a new reference), recording the allocation site for tracing
 * (what the macros below call; file/func may be NULL). */
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
/* Reference operations on an object of a shared heap (biased reference
 * counting), whose count has the top bit set without being immortal. */
OURO_API void ouro__incref_shared(ouro_object *o);
OURO_API void ouro__decref_shared(ouro_object *o);
/* Debug builds check every reference operation through these. */
OURO_API void ouro__debug_incref(ouro_object *o);
OURO_API void ouro__debug_decref(ouro_object *o);

/* Internals of the inline reference operations on a shared heap's objects
 * (biased reference counting; no promise of stability).  A mortal
 * object's count is OURO__RC_SHARED | its owner's local count, or
 * OURO__RC_SHARED | OURO__RC_MERGED once merged.  The owner is the thread
 * whose pool holds the object: every 16 KiB-aligned chunk starts with its
 * heap and has its owner's id at byte 62.  ouro__self is the calling
 * thread's heap and id on the last shared heap it used (NULL: none). */
#define OURO__RC_SHARED 0x80000000u
#define OURO__RC_MERGED 0x20000000u
#define OURO__RC_LOCAL 0x1FFFFFFFu
#define OURO__CHUNK_ALIGN 16384u
typedef struct ouro__thread_self {
    const void *heap;
    uint32_t id;
} ouro__thread_self;
OURO_API extern __thread ouro__thread_self ouro__self;
typedef struct
#if defined(__GNUC__)
    __attribute__((may_alias))
#endif
    ouro__chunk_head {
    const void *heap;
    unsigned char unused[54];
    uint16_t owner;
} ouro__chunk_head;
/* Is the calling thread o's owner? */
static inline int ouro__owned(const ouro_object *o)
{
    const ouro__chunk_head *c =
        (const ouro__chunk_head *)((uintptr_t)o & ~(uintptr_t)(OURO__CHUNK_ALIGN - 1));
    return c->heap == ouro__self.heap && c->owner == ouro__self.id;
}

#if defined(OURO_DEBUG_REFS)
static inline void ouro_incref(ouro_object *o) { ouro__debug_incref(o); }
static inline void ouro_decref(ouro_object *o) { ouro__debug_decref(o); }
#else
/* About 3 instructions: a load, a sign test and a store.  A count with
 * the top bit set is an immortal object's (nothing to do) or an object of
 * a shared heap: its owner thread changes its local count here, like any
 * count (a few more instructions to tell the owner); other threads and
 * the rare cases go out of line.  The count is read and written as a
 * relaxed atomic: a plain load and store, which other threads may read
 * while the owner writes. */
static inline void ouro_incref(ouro_object *o)
{
    uint32_t rc = __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
    if ((int32_t)rc >= 0) {
        __atomic_store_n(&o->refcnt, rc + 1, __ATOMIC_RELAXED);
    } else if (rc < OURO_IMMORTAL_REFCNT) {
        /* the owner's local count, not merged and not full */
        if ((rc & (OURO__RC_MERGED | OURO__RC_LOCAL)) < OURO__RC_LOCAL && ouro__owned(o))
            __atomic_store_n(&o->refcnt, rc + 1, __ATOMIC_RELAXED);
        else
            ouro__incref_shared(o);
    }
}

/* About 4 instructions when the object survives. */
static inline void ouro_decref(ouro_object *o)
{
    uint32_t rc = __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
    if ((int32_t)rc < 0) {
        if (rc >= OURO_IMMORTAL_REFCNT)
            return; /* immortal */
        /* the owner's local count, not merged and at least 2 */
        if ((rc & (OURO__RC_MERGED | OURO__RC_LOCAL)) - 2u < OURO__RC_LOCAL - 1u &&
            ouro__owned(o))
            __atomic_store_n(&o->refcnt, rc - 1, __ATOMIC_RELAXED);
        else
            ouro__decref_shared(o);
        return;
    }
    if (--rc == 0)
        ouro__dealloc(o);
    else
        __atomic_store_n(&o->refcnt, rc, __ATOMIC_RELAXED);
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
 * operations do nothing.  It is untracked by the collector.  Its clear and
 * dealloc hooks run at ouro_heap_free. */
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
    OURO_DEBUG_FULL = 2,   /* also run ouro_heap_check() after collections */
    /* Also collect at every tracked allocation, for testing traverse and
     * clear hooks (Lua's HARDMEMTESTS).  Each ouro_new of an OURO_TYPE_GC
     * type runs a full collection first, as an automatic collection would
     * (before the new object is tracked, callbacks and all), so a bug in a
     * hook fails in the test that introduced it instead of whenever a
     * collection happens to run: a traverse that reports a reference the
     * object does not own gets a live object cleared at once (a use after
     * free the debug checks then name), a traverse that misses an edge
     * leaves a garbage cycle alive after the next allocation (found by a
     * weak reference to it, or by the leak report).  Like every automatic
     * collection it does not run while one runs (so never from a
     * finalizer, callback or hook it called), during ouro_heap_free, after
     * ouro_gc_disable() or with threshold 0; explicit ouro_gc_collect()
     * is unchanged.  A full collection and a heap check per tracked
     * allocation: O(heap) each, for tests only. */
    OURO_DEBUG_GC_STRESS = 3
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
    /* Decay of empty arenas, as jemalloc's dirty decay and mimalloc's
     * purge delay, without a background thread.  An arena whose last pool
     * empties is kept (and reused first when the heap needs an arena)
     * until the heap has allocated decay_bytes more bytes since, or
     * decay_ms milliseconds have passed, whichever comes first; it then
     * goes back to the page source at the next decay check (a pool or
     * arena event, a large block, a collection: there is no thread, so an
     * idle heap keeps its empty arenas until it runs again or
     * ouro_heap_trim is called).  0 releases at the first check
     * (obmalloc's behaviour, without the one arena it keeps);
     * OURO_DECAY_NEVER turns that limit off.  Defaults: 256 MiB and
     * 10,000 ms (jemalloc's dirty_decay_ms).  See ouro_heap_set_decay.
     * Freed large blocks (over 2 KiB) of at most 4 MiB are kept under the
     * same decay, at most 16 and 32 MiB in all, for the next large block
     * of about their size (not by debug heaps, and not when both limits
     * are 0); the stats count them (large_kept).  When the page source
     * refuses memory, what is kept goes back and the request is retried. */
    uint64_t decay_bytes;
    uint64_t decay_ms;
    /* The decay's clock: milliseconds on a monotonic clock (NULL:
     * CLOCK_MONOTONIC_COARSE).  Read only at decay checks while some
     * arena is empty and decay_ms is not OURO_DECAY_NEVER; a program with
     * its own event-loop time, or a test, can supply its own. */
    uint64_t (*clock_ms)(void *ctx);
    void *clock_ctx;
    /* 1: a shared heap, used by many threads at once (see "Shared heaps"
     * below); 0 (the default): a heap used by one thread at a time. */
    int shared;
} ouro_config;

#define OURO_DECAY_NEVER UINT64_MAX

OURO_API void ouro_config_init(ouro_config *cfg);
/* NULL config means defaults.  NULL result when out of memory. */
OURO_API ouro_heap *ouro_heap_new(const ouro_config *cfg);
/* The environment, read by ouro_heap_new: OURO_DEBUG=0|1|2 (or
 * off|checks|full) raises the heap's debug level to at least that.  The
 * profiling layer reads OURO_TRACEMALLOC and OURO_REPORT through the hook
 * below (ouro_inspect_env_init). */

/* Process-wide hooks run by ouro_heap_new on every heap it creates, after
 * the heap is ready, in the order added: how an upper layer (profiling)
 * applies settings to heaps the program creates without calling it.
 * Adding the same (fn, arg) twice adds it once.  OURO_ELIMIT when 8 hooks
 * are installed.  Safe to call from any thread; heaps created while a
 * hook is being added or removed may or may not see it (a hook removed
 * while another thread creates a heap may still run once for that heap,
 * so its argument must stay valid until such creations are over).  A hook
 * is always called with the argument it was added with, and may itself
 * add or remove hooks or create heaps. */
typedef void (*ouro_heap_hook)(ouro_heap *h, void *arg);
OURO_API int ouro_heap_hook_add(ouro_heap_hook fn, void *arg);
OURO_API int ouro_heap_hook_remove(ouro_heap_hook fn, void *arg);
/* Frees every object and arena, in this order:
 *   1. weakref.finalize objects with atexit set run (newest first), and
 *      the finalize registry lets go of the rest;
 *   2. what the heap itself holds is released (open scopes, gc.garbage),
 *      as ordinary releases (finalizers, callbacks and all);
 *   3. objects still alive are reported according to the leak policy (and
 *      by allocation site when tracing is on); the finalize registry's own
 *      objects are gone by then, so the reports count only the user's;
 *   4. every object still alive, immortal ones included, has its `clear`
 *      hook run, then its `dealloc` hook, exactly once each, so that
 *      external resources (file handles) are released.  References are
 *      not counted any more at this point (every reference drop is a
 *      no-op and no object is freed before all are torn down), so objects
 *      alive in cycles, containers or chains are torn down safely in any
 *      order.  No other user code runs: no PEP 442 finalizer (Python does
 *      not guarantee __del__ for objects alive at exit) and no weak
 *      reference callback (CPython never frees objects alive at its very
 *      end, so their callbacks never run either).  A hook that allocates
 *      during this step gets NULL with OURO_EBUSY; ouro_gc_collect()
 *      returns 0.
 * Returns 0, the number of leaked (mortal) objects (WARN/IGNORE are still
 * 0-or-positive counts) or OURO_ELEAK under OURO_LEAKS_FAIL. */
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

/*
 * Shared heaps: one heap used by many threads at once (cfg.shared = 1).
 *
 * Every thread that uses a shared heap attaches to it first and detaches
 * when done; the creating thread is attached by ouro_heap_new.  Each
 * attached thread allocates from pools of its own, with no lock on the
 * fast path (as mimalloc's thread-local heaps); a block freed by another
 * thread goes back to the thread that allocated it through an atomic list,
 * which that thread takes back at its next pool refill or safe point.  The
 * freeing thread pushes such blocks, and the objects whose last reference
 * it drops for another thread to free, 64 at a time per owner: it holds
 * up to 8 x 64 of them until then, or until it parks, detaches or calls
 * ouro_safepoint.  A thread that detaches leaves its pools to the next
 * thread that attaches.
 *
 * Some operations stop the world: every other attached thread stops at
 * its next safe point (any allocation from the heap, or ouro_safepoint)
 * and waits there until the operation ends.  A thread about to block
 * outside ouro (I/O, a lock, a condition variable) parks first, as
 * CPython releases the GIL: a parked thread counts as stopped, and
 * ouro_thread_unpark waits until no stop is in force.  A thread that does
 * neither for a long time delays every stop by that long.  A thread that
 * was stopped always runs again before the next stop begins, so repeated
 * stops cannot starve it.  Operations that stop the world on a shared
 * heap: ouro_heap_get_stats (and _text), ouro_heap_check, ouro_heap_trim.
 *
 * What a shared heap holds so far:
 *   - raw memory (ouro_raw_alloc, ouro_raw_realloc, ouro_raw_free) from any
 *     attached thread, whoever allocated the block;
 *   - objects (ouro_new; their clear, dealloc and PEP 442 finalize
 *     hooks run as on any heap), referenced
 *     and released from any attached thread with the ordinary ouro_incref
 *     and ouro_decref, by biased reference counting (PEP 703): the thread
 *     that created an object counts its own references with plain loads
 *     and stores, every other thread with atomic operations on a second
 *     count; when the creator's count reaches zero the two are merged,
 *     and an object another thread drops to zero while its creator still
 *     counts is queued to the creator, which frees it at its next safe
 *     point, allocation refill or detach (or, once it has detached, the
 *     next thread to reach a safe point does).  Storing references into
 *     your objects is your code's business: synchronize it as you would
 *     any shared data;
 *   - the cycle collector: every collection (automatic or ouro_gc_collect)
 *     stops the world and runs with CPython's exact semantics; the
 *     collector's calls (thresholds, callbacks, get_objects, freeze, ...)
 *     stop the world too.  Finalizers, weak-reference callbacks and the
 *     clears of a collection run in the collecting thread after the world
 *     restarts, as in free-threaded CPython (so they may wait for another
 *     thread); during them a finalizer's object has one more reference
 *     (the collector's).  gc callbacks run with the world stopped.  A
 *     thread's new
 *     tracked objects stay on a young list of its own until the next
 *     collection.  The default schedule is the adaptive stop-the-world
 *     one (CPython 3.11's is one call away: a heap driven by one thread
 *     collects exactly as a single-thread heap does).  The incremental
 *     schedule and ouro_gc_step work too, each increment and young
 *     collection a stop of the world: pauses stay under a millisecond
 *     as the heap grows, but with many threads the stops cost
 *     throughput (docs/design.md §10).  An increment's exact
 *     collections run their finalizers and callbacks after the world
 *     restarts, as a collection does.
 *   - weak references, with callbacks, made and read from any thread:
 *     ouro_weakref_get returns a new strong reference or NULL, never an
 *     object dying in another thread (a referent whose count reached zero
 *     is not revived); callbacks run in the thread where the referent
 *     dies.  ouro_weakref_peek's borrowed reference is only safe while
 *     something else keeps the referent alive.
 *   - the built-in types (ouro_types.h): immutable objects (int, float,
 *     str, bytes, tuple) are made and read from any thread without locks
 *     (the small ints, None, the bools and the empty str, bytes and tuple
 *     are the heap's immortal singletons, made when the types first use
 *     the heap; interning and weakref.finalize's registry take a lock of
 *     the heap's); the containers (list, dict, set, ...) are the
 *     caller's to lock: mutating one while another thread reads or
 *     mutates it is a data race, as for any structure of your own.  Their
 *     free lists are not used on a shared heap.
 * Allocation tracing (ouro_inspect.h) sees the blocks of every thread;
 * starting and stopping it stop the world, as do snapshots, census and
 * leak reports and the object-graph queries (their visitors run with the
 * world stopped: they must not wait for another thread).
 * ouro_heap_last_error is per thread on a shared heap.
 * ouro_heap_free must be called by an attached thread once every other
 * thread has detached (OURO_EBUSY before); it frees every queued object
 * first.  A thread should detach before it exits; one that exits
 * attached (parked or not, however nested) is detached at its exit, as
 * by ouro_thread_detach, and a debug heap reports it to the sink: a stop
 * of the world would otherwise wait for it for ever.  (The main thread's
 * return from main ends the process instead.)
 *
 * All of these return 0 or a negative OURO_E* code: OURO_EINVAL for a NULL
 * heap or a heap that is not shared (ouro_safepoint: nothing to do, 0),
 * OURO_ETHREAD when the calling thread is not attached (or, for unpark,
 * not parked), OURO_ELIMIT when 256 threads are attached already,
 * OURO_ENOMEM when a new thread's state cannot be allocated.
 */
/* Attach the calling thread (nested calls count: detach as often). */
OURO_API int ouro_thread_attach(ouro_heap *h);
/* Detach it; the last detach of a nested attach lets the heap go.  Blocks
 * this thread freed stay valid for their owners; the thread's own pools
 * pass to the next thread that attaches. */
OURO_API int ouro_thread_detach(ouro_heap *h);
/* Park before a blocking call, unpark after it (no heap calls between). */
OURO_API int ouro_thread_park(ouro_heap *h);
OURO_API int ouro_thread_unpark(ouro_heap *h);
/* A safe point: stop here if another thread is stopping the world, push
 * what this thread holds for other threads (blocks and objects), and take
 * back the blocks other threads freed and merge the objects they
 * released.  For a loop that runs long without allocating from the heap. */
OURO_API int ouro_safepoint(ouro_heap *h);
/* 1 if h is a shared heap, 0 if not (or NULL). */
OURO_API int ouro_heap_is_shared(const ouro_heap *h);

typedef struct ouro_thread_stats {
    size_t struct_size;        /* set by caller: sizeof(ouro_thread_stats) */
    size_t threads;            /* attached now (running or parked) */
    size_t peak_threads;
    size_t thread_states;      /* per-thread allocation states, ever made
                                  (detached ones are reused) */
    uint64_t attaches;         /* ouro_thread_attach calls that attached */
    uint64_t stops;            /* times the world was stopped */
    uint64_t stop_wait_ns;     /* total time from a stop's request until
                                  every other attached thread stopped
                                  (a stop in force included, and when
                                  the last stop passed over a thread,
                                  the wait for its threads to run again) */
    uint64_t stop_wait_max_ns; /* the longest such wait */
    uint64_t remote_frees;     /* blocks freed by a thread other than
                                  the one that allocated them */
    uint64_t remote_pending;   /* ... not taken back by their owner yet
                                  (held by the freeing thread, or on the
                                  owner's list) */
    uint64_t stops_passed_over; /* threads a stop did not wait for: stopped
                                  by the stop before and not run since, so
                                  still stopped */
    uint64_t stop_streak_max;  /* the most stops in a row one thread stayed
                                  stopped for without running between
                                  (never more than 2: no thread starves) */
} ouro_thread_stats;
/* A shared heap's thread statistics (stops the world to read them). */
OURO_API int ouro_heap_get_thread_stats(ouro_heap *h, ouro_thread_stats *out);

/* Change the heap's decay (ouro_config's decay_bytes and decay_ms) and
 * apply it at once: empty arenas already past the new decay are returned
 * now.  OURO_EINVAL for a NULL heap. */
OURO_API int ouro_heap_set_decay(ouro_heap *h, uint64_t decay_bytes, uint64_t decay_ms);

/* malloc_trim: return every empty arena to the page source now, whatever
 * its decay, after giving back the pool each size class keeps when its
 * last block is freed (so an arena that held only such pools goes too),
 * and the side tables the incremental schedule keeps between cycles.
 * Returns the bytes returned.  Does nothing (returns 0) while a collection
 * runs or the heap is being freed. */
OURO_API size_t ouro_heap_trim(ouro_heap *h);

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
    size_t class_pools[OURO_NUM_CLASSES];  /* pools in use per class (a
                                     shared heap: with the up to 64 empty
                                     pools each attached thread keeps) */
    /* Arenas with no pool in use, held until their decay (part of
     * `arenas` and `mapped_bytes`; what ouro_heap_trim gives back, with
     * the arenas that hold only the classes' kept empty pools and a
     * shared heap's threads' cached ones). */
    size_t empty_arenas;
    /* Freed large blocks whose mappings are held for reuse until their
     * decay (part of `mapped_bytes`, not of large_blocks; ouro_heap_trim
     * gives them back too). */
    size_t large_kept;
    size_t large_kept_bytes;
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
OURO_API void ouro_gc_get_threshold(ouro_heap *h, int out[OURO_GC_GENERATIONS]);
OURO_API int ouro_gc_set_threshold(ouro_heap *h, int t0, int t1, int t2);
OURO_API void ouro_gc_get_count(ouro_heap *h, int out[OURO_GC_GENERATIONS]);
/* The collection schedule: when automatic collections happen.  Explicit
 * ouro_gc_collect() does the same under both.
 *
 * OURO_GC_SCHEDULE_CPYTHON311: CPython 3.11's, exactly (thresholds
 * 700/10/10 and the 25% rule for full collections): the same collections
 * at the same allocations, so gc callbacks, get_count and get_stats read
 * as CPython's do.  `ouro replay` and every test that compares with
 * CPython use it.
 *
 * OURO_GC_SCHEDULE_ADAPTIVE, stop-the-world (the default before the
 * incremental schedule): generation 0's
 * trigger doubles after an automatic collection that freed fewer objects
 * than an eighth of the trigger, up to 1024 x threshold0 and to half the
 * objects alive outside generation 0, and returns to threshold0 after one
 * that freed more.  The middle generation is collected when the survivors
 * of young collections that are still alive in it outnumber half the
 * trigger (or threshold0), and the oldest after a collection of the middle one
 * when the 25% rule allows; thresholds 1 and 2 are CPython's schedule's
 * only.  So an object that lives is traversed about once in each of the
 * two younger generations, whatever the trigger, and an object that dies
 * by reference counting is never traversed again.  A program that builds
 * structures that live stops paying a young collection every 700
 * allocations (binary-trees N=18: 57,331 collections -> 36), and cyclic
 * garbage waits for at most about half the live heap in generation 0, a
 * quarter in the middle one and a quarter in the oldest (docs/design.md §7,
 * workload W10).  Under it, ouro_gc_get_threshold reports the thresholds
 * set (700/10/10), ouro_gc_get_count the counts as CPython keeps them,
 * and ouro_gc_get_young_trigger the count generation 0 must pass now.
 *
 * OURO_GC_SCHEDULE_INCREMENTAL, the default for a new heap: pauses bounded
 * by a work budget instead of the heap's size (under a millisecond on this
 * project's machine, at 5 M and 20 M live objects).  Generation 0 is
 * collected as under the adaptive schedule, but its trigger stays at most
 * 16 x threshold0; the older generations are never collected at once.
 * Instead, when the survivors of young collections still alive outnumber
 * what the last cycle left (the old heap doubled; tripled when the last
 * cycle found garbage in under 1/32 of what it kept; at least 4 x
 * threshold0), an incremental cycle starts: its work is spread over
 * increments between young collections (one every 256 net tracked
 * allocations; on a shared heap, every 1,024 of one thread's, each
 * increment a stop of the world; 16 objects of work per allocation, so that a cycle ends
 * before the heap grows by an eighth: it cannot fall behind), and it ends
 * with CPython's exact collection of the objects it found unreachable, a
 * batch of whole components per increment (finalizers, weak references
 * and callbacks as ouro_gc_collect).  No store barrier is needed: see
 * ouro_gc_step.  Costs: 1 byte per 32 bytes of the arenas holding
 * tracked objects, for the cycles' side tables, taken from the page
 * source and kept between cycles (ouro_heap_trim returns them); and a
 * tracked object whose type is a bare 16-byte header takes a block of 32
 * on every heap, so that each has an entry of its own.
 * docs/design.md §9.
 *
 * OURO_GC_SCHEDULE_DEFAULT selects the default (incremental).  Setting a
 * schedule resets the trigger to threshold0 and ends an incremental cycle
 * in progress (its work is discarded); ouro_gc_set_threshold resets the
 * trigger too.  Returns 0, or OURO_EINVAL for an unknown schedule. */
enum {
    OURO_GC_SCHEDULE_DEFAULT = 0,
    OURO_GC_SCHEDULE_CPYTHON311 = 1,
    OURO_GC_SCHEDULE_ADAPTIVE = 2,
    OURO_GC_SCHEDULE_INCREMENTAL = 3
};
OURO_API int ouro_gc_set_schedule(ouro_heap *h, int schedule);
/* OURO_GC_SCHEDULE_CPYTHON311, OURO_GC_SCHEDULE_ADAPTIVE or
 * OURO_GC_SCHEDULE_INCREMENTAL (OURO_EINVAL for NULL). */
OURO_API int ouro_gc_get_schedule(ouro_heap *h);

/* One increment of an incremental cycle, under any schedule (Lua's
 * collectgarbage("step")): starts a cycle if none is in progress, then does
 * up to `work` units (one unit: one object visited) of it, plus at most
 * one exact collection of a batch of candidates.  A cycle
 * computes, a piece at a time while the program runs, which objects look
 * unreachable (trial deletion over every generation, then marking from
 * what has references from outside); the program may change anything
 * between increments, including moving references between objects without
 * any count changing.  Its last increments run CPython's exact collection
 * on the objects found, a batch of whole components (about 4,096 objects)
 * at a time, each at one instant, so a misjudgement caused by the
 * program's changes can only keep an object for one more cycle, never
 * free a live one, and every object that was garbage when the cycle
 * started is collected when it ends.  A pause thus grows with the largest
 * garbage structure (as dropping the last reference to a large structure
 * does), not with the heap.  Returns 1 when this step ended a cycle, 0
 * when work remains or when a collection is running (then it does
 * nothing); like ouro_gc_collect it works while automatic collection is
 * disabled.  OURO_EINVAL for a NULL heap or work < 1, OURO_ENOMEM when the
 * page source refused memory for the cycle's side tables (the cycle is
 * abandoned, nothing is freed or lost; the next cycle starts over).
 * Each step is reported to gc callbacks as
 * a collection of generation 2 with `increment` set; the cycle's end
 * counts as one collection of generation 2 in ouro_gc_get_stats.
 * get_objects, get_referrers and ouro_heap_check see a cycle's objects in
 * generation 2; ouro_gc_collect, any collection of generation 2, freeze
 * and unfreeze first end a cycle in
 * progress without finishing it (its work is discarded). */
OURO_API long ouro_gc_step(ouro_heap *h, long work);
/* Whether an incremental cycle is in progress: 0 none, 1 its first pass
 * (counting references between objects), 2 its second (marking what is
 * reachable from outside), 3 its last (collecting the objects found
 * unreachable, a batch of whole components per increment); OURO_EINVAL
 * for NULL. */
OURO_API int ouro_gc_cycle_phase(ouro_heap *h);
/* The count generation 0 must pass for the next automatic collection:
 * threshold0 under CPython's schedule, threshold0 x the current factor
 * under the adaptive one (OURO_EINVAL for NULL).  On a shared heap under
 * the incremental schedule, what one thread may still allocate before
 * the next young collection or increment (each thread counts its own). */
OURO_API long ouro_gc_get_young_trigger(ouro_heap *h);
/* Deprecated: the adaptive schedule with its growth bounded by max_factor
 * instead of 1024 (0 or 1: CPython's schedule).  Before the adaptive
 * schedule existed this was an opt-in mode whose trigger grew only after
 * collections that freed nothing and whose older generations kept counting
 * collections; both now follow the adaptive rules.  OURO_EINVAL above
 * 1024.  ouro_gc_get_young_growth returns the bound (1 under CPython's
 * schedule, 1024 under the default). */
OURO_API int ouro_gc_set_young_growth(ouro_heap *h, int max_factor);
OURO_API int ouro_gc_get_young_growth(ouro_heap *h);

typedef struct ouro_gc_gen_stats {
    size_t collections;
    size_t collected;
    size_t uncollectable;
} ouro_gc_gen_stats;
OURO_API void ouro_gc_get_stats(ouro_heap *h, ouro_gc_gen_stats out[OURO_GC_GENERATIONS]);

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
    /* 0: a collection; 1: an increment of an incremental cycle
     * (ouro_gc_step or the incremental schedule), reported as generation
     * 2, whose counts are what that increment's exact collection of a
     * batch found (0 before the cycle's last phase). */
    int increment;
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
 * callback(h, wr, arg): wr is borrowed for the call.  `arg` is the
 * caller's: the weak reference neither owns nor releases it, so it must
 * outlive the weak reference (or the callback), and an object the callback
 * needs must be kept alive by the caller (or held by an object that the
 * weak reference's owner keeps).  A weak reference that is itself dying
 * (its count reached zero) never has its callback called, as in CPython.
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
/* weakref.getweakrefs(o) as an array: the weak references to o (borrowed),
 * in CPython's order (the shared callback-less one first, then the others
 * newest first), the first `max` of them stored in out (which may be NULL
 * when max is 0).  Returns how many there are. */
OURO_API size_t ouro_weakref_list(ouro_object *o, ouro_object **out, size_t max);

#ifdef __cplusplus
}
#endif
#endif /* OURO_H */
