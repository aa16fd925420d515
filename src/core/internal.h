/*
 * internal.h — ouro's private data structures and the invariants that hold
 * about them.  Nothing here is part of the API; non-static names carry the
 * `ouro__` prefix and are hidden from the shared library.
 *
 * MEMORY LAYOUT
 *
 *   arena   ARENA_SIZE bytes from the page source.  Holds POOLS_PER_ARENA
 *           (or one fewer, when the page source's address is not
 *           POOL_SIZE-aligned) pools.  Every arena has a slot in the heap's
 *           arena table; the slot index is the arena's *index*.
 *   pool    POOL_SIZE bytes, POOL_SIZE-aligned, starting with a pool header;
 *           all blocks of one pool have one size class.
 *   large   a block bigger than the largest class: its own mapping, a
 *           large header, then the block.  It also takes an arena slot.
 *   The page source must return POOL_SIZE-aligned memory (the default
 *   mmap source trims a larger mapping to get it).
 *
 * COMPRESSED REFERENCES
 *
 *   The collector links tracked objects in doubly-linked lists through
 *   32-bit references: (arena index << 16) | (offset from the arena base /
 *   16).  Arenas are 1 MiB, so the offset fits in 16 bits.  Index 0 is the
 *   heap structure itself, which holds the list heads; reference 0 is
 *   therefore never an object and means "untracked".
 *
 * INVARIANTS (checked by ouro_heap_check)
 *
 *   pools:   ref = nalloc - nfree (blocks handed out, ouro__pool_ref) equals
 *            the number of allocated blocks in it; free blocks are on
 *            pool->freeblock or above pool->nextoffset.  A pool with
 *            0 < ref < capacity is on its class's usedpools list (whose
 *            last pool is usedlast); a full pool is on no list; an empty
 *            pool is on its arena's free-pool list, except the last pool
 *            of a class, which stays (empty) on its class's list: at most
 *            one empty pool per class.  A pool's ref_lo is its offset in
 *            its arena / 16 (the allocation fast path makes compressed
 *            references from it).
 *   arenas:  arena->nfreepools counts free pools; an arena with free pools
 *            and at least one used pool is on usable_arenas, which is sorted
 *            by nfreepools ascending (fullest first) so that allocation
 *            drains almost-empty arenas, which can then be released.  An
 *            arena with every pool free (an *empty* arena) is on no list but
 *            the heap's empty list (h->empty_arenas), newest first, stamped
 *            with the allocation clock (h->bytes_alloc) and the decay clock
 *            (milliseconds) of the moment it emptied; stamps never increase
 *            from head to tail.  A new arena is taken from the head before
 *            the page source is asked.  At every decay check (pool and
 *            arena events, large blocks, collections) the arenas older than
 *            the heap's decay (cfg.decay_bytes allocated since, or
 *            cfg.decay_ms passed) are returned from the tail, so that after
 *            the last check (h->decay_seen_*) no arena on the list is past
 *            its decay.  ouro_heap_trim returns them all at once.
 *   large:   a live large block is on h->large_blocks and holds an arena
 *            table slot; a freed one of at most OURO__LARGE_KEEP_MAX bytes
 *            may be kept instead of unmapped, on h->large_kept (newest
 *            first, stamped as the empty arenas are), with no slot; at most
 *            OURO__LARGE_KEEP are kept, OURO__LARGE_KEEP_BYTES mapped in
 *            all, and after the last decay check none is past its decay.
 *   objects: every allocated block that is an object has refcnt > 0 (or is
 *            immortal) outside of deallocation; a tracked object (gc_next !=
 *            0) is on exactly one list: a generation, the permanent
 *            generation, or a collector's temporary list while a collection
 *            runs.  Only types with OURO_TYPE_GC are ever tracked.
 *   flags:   COLLECTING and UNREACHABLE are set only while a collection
 *            runs; FINALIZED is set once and never cleared.
 */
#ifndef OURO_INTERNAL_H
#define OURO_INTERNAL_H

/* ouro's own calls to the built-in types' functions are not the program's
 * call sites: the library sees the plain functions (ouro.h, "call sites"). */
#define OURO__LIBRARY 1
#include "ouro.h"
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#if defined(__GNUC__)
#define OURO__HIDDEN __attribute__((visibility("hidden")))
#define OURO__LIKELY(x) __builtin_expect(!!(x), 1)
#define OURO__UNLIKELY(x) __builtin_expect(!!(x), 0)
/* The few core internals the layers above use (their inline helpers reach
 * into the core): exported from libouro.so so that libouro-types.so and
 * libouro-inspect.so link, but declared only here, with no promise of
 * stability, like CPython's private _Py symbols. */
#define OURO__LAYER_API __attribute__((visibility("default")))
#else
#define OURO__HIDDEN
#define OURO__LAYER_API
#define OURO__LIKELY(x) (x)
#define OURO__UNLIKELY(x) (x)
#endif

/* ----- debug assertions, by level (mimalloc's MI_DEBUG is the model)
 *
 * OURO_ASSERT_LEVEL is fixed at build time (CMake: -DOURO_ASSERT=0|1|2;
 * the sanitizer and Valgrind builds default to 2, every other build to 0):
 *
 *   0  none: a release build pays nothing, not even a branch.
 *   1  OURO__ASSERT: cheap invariants, checked where they are written (a
 *      load and a compare or two).
 *   2  also OURO__ASSERT_EXPENSIVE: whole-structure validation, such as the
 *      collector's lists and flags between its steps (O(list) each, so a
 *      young collection validates the old generation too).
 *
 * These check ouro itself, not the program: misuse a program can commit
 * (use after free, a wrong heap) is the run-time debug level's job
 * (cfg.debug), which a release build can turn on.  A failed assertion
 * aborts through ouro__fatalf with file:line, function and expression. */
#ifndef OURO_ASSERT_LEVEL
#define OURO_ASSERT_LEVEL 0
#endif
#if OURO_ASSERT_LEVEL >= 1
#define OURO__ASSERT(cond)                                                                     \
    (OURO__LIKELY(cond) ? (void)0 : ouro__assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define OURO__ASSERT(cond) ((void)0)
#endif
#if OURO_ASSERT_LEVEL >= 2
#define OURO__ASSERT_EXPENSIVE(cond) OURO__ASSERT(cond)
#else
#define OURO__ASSERT_EXPENSIVE(cond) ((void)0)
#endif
OURO__LAYER_API void ouro__assert_fail(const char *expr, const char *file, int line,
                                       const char *func) __attribute__((noreturn));

/* ----- sanitizer/Valgrind announcements (track.c style, inline) */
#if defined(__SANITIZE_ADDRESS__)
#define OURO__ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define OURO__ASAN 1
#endif
#endif
#ifdef OURO__ASAN
void __asan_poison_memory_region(void const volatile *addr, size_t size);
void __asan_unpoison_memory_region(void const volatile *addr, size_t size);
#define OURO__POISON(p, n) __asan_poison_memory_region((p), (n))
#define OURO__UNPOISON(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define OURO__POISON(p, n) ((void)(p), (void)(n))
#define OURO__UNPOISON(p, n) ((void)(p), (void)(n))
#endif
#ifdef OURO_VALGRIND
#include <valgrind/memcheck.h>
#define OURO__VG_ALLOC(p, n) VALGRIND_MALLOCLIKE_BLOCK((p), (n), 0, 0)
#define OURO__VG_FREE(p) VALGRIND_FREELIKE_BLOCK((p), 0)
#define OURO__VG_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define OURO__VG_DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#define OURO__VG_UNDEFINED(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#else
#define OURO__VG_ALLOC(p, n) ((void)0)
#define OURO__VG_FREE(p) ((void)0)
#define OURO__VG_NOACCESS(p, n) ((void)0)
#define OURO__VG_DEFINED(p, n) ((void)0)
#define OURO__VG_UNDEFINED(p, n) ((void)0)
#endif

#define OURO__ALIGN 16
#define OURO__ARENA_SIZE ((size_t)1 << 20)
#define OURO__POOL_SIZE ((size_t)1 << 14)
#define OURO__POOLS_PER_ARENA (OURO__ARENA_SIZE / OURO__POOL_SIZE)
#define OURO__MAX_ARENAS 65536
#define OURO__SMALL_MAX 512 /* 16-byte classes up to here, like obmalloc */
#define OURO__MEDIUM_MAX 2048 /* then eight classes, multiples of 128 (pool.c) */
#define OURO__MAX_TYPES 65536

/* Object flags (ouro_object.flags). */
enum {
    OURO__F_FINALIZED = 1u << 0,   /* finalize hook already ran (PEP 442) */
    OURO__F_COLLECTING = 1u << 1,  /* in the generation being collected */
    OURO__F_UNREACHABLE = 1u << 2, /* tentatively unreachable (move_unreachable) */
    OURO__F_HASWEAK = 1u << 3,     /* has an entry in the weak-list table */
    OURO__F_OBJECT = 1u << 4,      /* block is an object (raw blocks: 0) */
    OURO__F_MIDDLE = 1u << 5,      /* promoted to the middle generation since
                                      its last collection, still alive:
                                      counted in middle_live */
    OURO__F_DEALLOC = 1u << 6,     /* being deallocated or deferred */
    OURO__F_FREED = 1u << 7,       /* debug: block is free (poisoned) */
    OURO__F_PENDING = 1u << 8,     /* promoted to the oldest generation since
                                      the last full collection, still alive:
                                      counted in long_lived_pending */
    OURO__F_INCR = 1u << 9,        /* visited by the first pass of an
                                      incremental cycle (incremental.c); may
                                      stay set after the cycle, which only
                                      reads it on objects of its own lists */
    OURO__F_TLIST = 1u << 11,      /* on a shared heap's young list (shared.c) */
    OURO__F_ZOMBIE = 1u << 12,     /* dying or dead, still on a generation of
                                      a shared heap until buried (shared.c) */
    OURO__F_ZDONE = 1u << 13,      /* ... and its deallocation is over */
    OURO__F_CURSOR = 1u << 10      /* the next object an incremental cycle's
                                      pass visits (h->inc.cursor): leaving
                                      its list moves the cursor on */
};
/* Flags whose object's untracking must go through ouro__gc_untrack (the
 * deallocation fast path's test, ouro__gc_untrack_fast). */
#define OURO__F_SLOW_UNTRACK (OURO__F_PENDING | OURO__F_MIDDLE | OURO__F_CURSOR)
/* Flags whose object's untracking updates a schedule count (middle_live,
 * long_lived_pending): ouro__gc_uncount. */
#define OURO__F_COUNTED (OURO__F_PENDING | OURO__F_MIDDLE)

#define OURO__FREED_REFCNT 0xDEADBEEFu

typedef struct ouro__pool ouro__pool;
typedef struct ouro__arena ouro__arena;

/*
 * Every chunk the page source gives us is POOL_SIZE-aligned, and both pools
 * and large blocks start with this prefix, so `p & ~(POOL_SIZE-1)` finds the
 * header of any block: an object finds its heap from its address alone, so
 * ouro_decref needs no heap argument.
 */
enum { OURO__CHUNK_POOL = 0x504f4f4c, OURO__CHUNK_LARGE = 0x4c415247 };

typedef struct ouro__chunk {
    ouro_heap *heap;
    uint32_t kind;   /* OURO__CHUNK_POOL or OURO__CHUNK_LARGE */
    uint32_t index;  /* arena-table slot of the arena or large block */
} ouro__chunk;

struct ouro__pool {
    ouro__chunk c;
    uint8_t *freeblock;   /* free blocks, linked through their word at +8 */
    ouro__pool *nextpool; /* usedpools list or arena free-pool list */
    ouro__pool *prevpool;
    /* Blocks handed out and taken back, modulo 2^32: the pool's `ref`
     * (allocated blocks) is nalloc - nfree (ouro__pool_ref).  Two counters,
     * each written by one side only, instead of one that both sides
     * increment and decrement: an allocate-free pair then carries no
     * read-modify-write chain through one memory word from one call to the
     * next, which cost a loop of pairs half its time. */
    uint32_t nalloc;
    uint32_t nfree;
    uint8_t szidx;        /* size class (ouro__pool_class), with bit 7
                             (OURO__POOL_RAW) set in a pool of raw blocks:
                             raw blocks and objects are kept apart, so that
                             a walk can read object headers */
    /* A shared heap's object pool: nonzero once some entry of its brc
     * array (shared.c, brc_of) may be nonzero.  0 at the pool's start,
     * when every entry is zero; set (never cleared) by every writer of an
     * entry, before its write: a thread that reads it 0 after dropping an
     * object's last local reference knows the object's shared word is 0
     * without reading it, and its death writes no entry.  Atomic: other
     * threads set it. */
    uint8_t brc_used;
    uint16_t capacity;    /* blocks in the pool (at most 1020) */
    uint16_t nextoffset;  /* first never-used block */
    uint16_t maxnextoffset;
    uint16_t nsampled;    /* live blocks held by the sampling tracer: a
                             free into a pool with any takes the slow path,
                             which tells the tracer */
    uint16_t ref_lo;      /* the low half of the compressed reference of
                             the pool's first byte: its offset in the arena
                             / 16 (k << 10 for the arena's pool k), so that
                             a block's reference comes from this header
                             alone (ouro__pool_block_ref) */
    uint16_t block_size;  /* at most 2048 */
    uint16_t owner;       /* id of the talloc whose used list it is on
                             (h->tallocs[owner]; 0 in a single-thread heap) */
};
#define OURO__POOL_RAW 0x80u
static inline unsigned ouro__pool_class(const ouro__pool *p) { return p->szidx & 0x7Fu; }
static inline unsigned ouro__pool_raw(const ouro__pool *p) { return p->szidx >> 7; }
static inline uint32_t ouro__pool_ref(const ouro__pool *p) { return p->nalloc - p->nfree; }
/* The compressed reference of block `b` of `pool`: the same value as
 * ouro__obj_ref, from the pool header (which the allocation that handed
 * `b` out has just read) instead of the arena table. */
static inline uint32_t ouro__pool_block_ref(const ouro__pool *pool, const void *b)
{
    return (pool->c.index << 16) | pool->ref_lo |
           (uint32_t)(((uintptr_t)b & (OURO__POOL_SIZE - 1)) >> 4);
}
/* A pool with a free block is on its class's used list; with no neighbour
 * there it is the class's only pool, which stays (empty) when its last
 * block is freed. */
static inline bool ouro__pool_alone(const ouro__pool *p)
{
    return ((uintptr_t)p->prevpool | (uintptr_t)p->nextpool) == 0; /* one branch */
}
#define OURO__POOL_HEADER 64

/* Large block: this header at the start of its own POOL_SIZE-aligned
 * mapping, the block right after it. */
typedef struct ouro__large {
    ouro__chunk c;
    struct ouro__large *next, *prev; /* all large blocks of the heap (or the
                                        kept ones: h->large_kept) */
    size_t map_size;                 /* bytes from the page source */
    union {
        struct {
            size_t size;             /* usable block bytes */
            /* a shared heap's object: its shared count (shared.c) */
            struct ouro__brc {
                int32_t shared;
                uint32_t qlink;
            } brc;
        };
        struct {                     /* kept after its free (pool.c,
                                        large_keep): the decay's clocks */
            size_t kept_bytes_at;
            uint64_t kept_ms_at;
        };
    };
    uint32_t raw;                    /* 1: raw memory, 0: an object */
    uint16_t pad0;
    uint16_t owner;                  /* the talloc that allocated it */
} ouro__large;
typedef struct ouro__brc ouro__brc;
/* The inline reference operations (ouro.h, ouro__owned) read a chunk's
 * heap and owner at fixed places. */
_Static_assert(offsetof(ouro__chunk, heap) == 0 && offsetof(ouro__pool, owner) == 62 &&
                   offsetof(ouro__large, owner) == 62 && sizeof(ouro__pool) == 64 &&
                   OURO__CHUNK_ALIGN == OURO__POOL_SIZE,
               "ouro__chunk_head mirrors the chunk headers");

struct ouro__arena {
    uint8_t *base;            /* from the page source, POOL_SIZE-aligned */
    ouro__pool *freepools;    /* pools used before and now empty */
    uint32_t nfreepools;      /* free pools (used before or never) */
    uint32_t npools_carved;   /* pools handed out at least once */
    uint32_t index;
    uint32_t live;            /* 1 while the arena is held */
    ouro__arena *nextarena, *prevarena; /* usable_arenas, sorted, or the
                                           empty list, newest first */
    /* On the empty list: the heap's bytes_alloc and decay clock when the
     * arena emptied (its decay runs from there). */
    size_t empty_bytes_at;
    uint64_t empty_ms_at;
};

/* Arena-table entry kinds. */
enum { OURO__SLOT_FREE = 0, OURO__SLOT_ARENA, OURO__SLOT_LARGE, OURO__SLOT_HEAP };

/* The collector's list heads live inside the heap structure, so that they
 * have compressed references (arena index 0). */
enum {
    OURO__LIST_GEN0 = 0,
    OURO__LIST_GEN1,
    OURO__LIST_GEN2,
    /* An incremental cycle's lists (incremental.c): the objects its passes
     * walk, those the second pass found tentatively unreachable (the
     * candidates), the batch of them being closed and collected, and what
     * the batches' collections kept.  They
     * sit between the generations and the permanent list so that the
     * loops over "every tracked object" (GEN0..PERMANENT) include them;
     * outside a cycle they are empty. */
    OURO__LIST_INC_SCAN,
    OURO__LIST_INC_UNREACH,
    OURO__LIST_INC_BATCH,
    OURO__LIST_INC_RETRY,
    OURO__LIST_PERMANENT,
    OURO__LIST_UNREACHABLE,
    OURO__LIST_FINALIZERS,
    OURO__LIST_WRCB,
    OURO__LIST_SEEN,
    OURO__LIST_FINAL,
    OURO__LIST_TMP,
    OURO__NUM_LISTS
};

typedef struct ouro__gen {
    int threshold;
    int count;
} ouro__gen;

/* The most ouro_gc_set_young_growth accepts, and the adaptive schedule's
 * own bound on generation 0's growth factor (gc.c, young_adapt). */
#define OURO__YOUNG_GROWTH_MAX 1024
#define OURO__ADAPTIVE_GROWTH 1024

/* An incremental cycle in progress (incremental.c).
 *
 * INVARIANTS (checked by ouro__inc_check; phase != IDLE)
 *   - The generations' objects at the cycle's start, less those that died
 *     or were untracked since, are on INC_SCAN and INC_UNREACH; objects
 *     tracked since are on the generations.
 *   - `cursor` is an object of INC_SCAN, the only one flagged CURSOR
 *     between increments, or INC_SCAN's head reference (the pass is at its
 *     end).
 *   - SUBTRACT: the objects before the cursor have OURO__F_INCR; side(o) is
 *     minus the references to o found in them when they were visited.
 *     INC_UNREACH is empty.
 *   - MARK (walking INC_SCAN backwards): every object on both lists has
 *     OURO__F_INCR.  side(o) is SIDE_ALIVE for the objects of INC_SCAN
 *     after the cursor (found reachable and traversed) and for those after it found reachable but
 *     not traversed yet; SIDE_UNREACH for those of INC_UNREACH; the first
 *     pass's count for the rest.
 *   - FINISH: INC_SCAN is empty (what MARK found reachable joined the
 *     oldest generation); candidates not batched yet are on INC_UNREACH
 *     with SIDE_UNREACH, the batch being closed on INC_BATCH with
 *     SIDE_BATCH (the cursor walks it forwards), what batches' exact
 *     collections kept on INC_RETRY.
 *   - side[] holds one table per arena-table slot touched (ntables of
 *     them), NULL for the others; at the cycle's end they move to dirty[]
 *     and side[] is all NULL again. */
enum { OURO__INC_IDLE = 0, OURO__INC_SUBTRACT = 1, OURO__INC_MARK = 2, OURO__INC_FINISH = 3 };
/* A side count: 8 bits per 32 bytes of arena (incremental.c): no two
 * collector-tracked objects share 32 bytes, since
 * none has a block under 32 bytes (OURO__TYPE_SMALLGC). */
typedef int8_t side_t;
/* The side counts that do not fit in 8 bits (incremental.c, ovf_slot). */
typedef struct ouro__side_ovf {
    uint32_t *keys;        /* compressed references, 0 = empty */
    int32_t *vals;
    size_t cap, n;
} ouro__side_ovf;
typedef struct ouro__incr {
    int phase;
    side_t **side;         /* OURO__MAX_ARENAS entries while a cycle runs */
    ouro__side_ovf ovf;
    bool oom;              /* a side table could not be allocated */
    long since;            /* generation 0's count at the last increment */
    uint32_t cursor;       /* the next object of INC_SCAN the pass visits
                              (flagged CURSOR between increments), or
                              INC_SCAN's own reference at its end */
    size_t alive;          /* objects MARK found reachable */
    size_t batch_n;        /* objects on INC_BATCH (FINISH) */
    size_t kept;           /* ... that the batches' collections kept */
    bool retried;          /* INC_RETRY was collected once */
    bool batch_wcb;        /* the batch holds a candidate weak reference
                              with a callback (finish_step) */
    size_t found;          /* objects the cycle's collections freed or
                              found uncollectable */
    bool sparse;           /* the last cycle that ended found garbage in
                              under 1/32 of what it kept: the next one
                              waits for the old heap to triple */
    uint32_t ntables;      /* non-NULL entries of side[] */
    /* Tables of finished cycles (OURO__MAX_ARENAS entries each, mapped
     * with side[]): zeroed ones ready for the next cycle, and those still
     * to be zeroed, a few per pause (ouro__inc_scrub). */
    side_t **spare, **dirty;
    uint32_t nspare, ndirty;
    /* side_of's memo: the last pool a referent was in, its arena's base
     * and side table (memo_pool 0: none). */
    uintptr_t memo_pool;
    uint8_t *memo_base;
    side_t *memo_table;
} ouro__incr;

typedef struct ouro__callback {
    ouro_gc_callback fn;
    void *arg;
} ouro__callback;

/* Weak-list table: open addressing from object address to the head of the
 * object's weak-reference list.  Invariant: an object has an entry iff its
 * OURO__F_HASWEAK flag is set iff its weak list is non-empty. */
typedef struct ouro__wentry {
    ouro_object *obj;     /* NULL = empty, TOMBSTONE = deleted */
    ouro_object *head;    /* first weak reference */
} ouro__wentry;

/* A growable array of strong references (garbage list, scopes; vec.c).
 * Pushing does not take the reference: the caller increfs on success. */
typedef struct ouro__vec {
    ouro_object **items;
    size_t len, cap;
} ouro__vec;
OURO__HIDDEN int ouro__vec_push(ouro__vec *v, ouro_object *o);

/* A thread's allocation state: the used-pool lists it allocates from and
 * the byte counters of its allocations and frees.  A single-thread heap has
 * one, embedded (h->ta0), at a fixed offset from the heap, so that its fast
 * paths are what they were before threads.  A shared heap (shared.c) has
 * one per attached thread, found through a thread-local cache; each pool
 * records the id of the one it belongs to (pool->owner), and only that
 * thread's calls change the pool or its list.
 *
 * INVARIANTS
 *   - A pool is on the used list of the talloc its `owner` names, iff it
 *     has a free block (pools invariant, above); `owner` changes only when
 *     a pool is taken from its arena (pool_new), under the heap lock.
 *   - bytes_alloc - bytes_freed is the bytes of the blocks this talloc
 *     handed out and took back, including blocks other threads freed that
 *     still wait on `remote` or in a freeing thread's rcache; peak_in_use
 *     is its maximum.
 *   - Shared heaps: every block on `remote` is an allocated block of one of
 *     this talloc's pools, linked through its word at +8; only other
 *     threads push, only the talloc's thread (or a thread that has stopped
 *     the world, or holds it detached) takes the list.
 *   - Shared heaps: every block in an rcache slot is an allocated block of
 *     a pool of the slot's owner, which is not the slot's talloc; the
 *     slot's n counts them and rcache_n all slots'.  The sum over every
 *     talloc of remote_frees - remote_taken is the blocks on the remote
 *     lists and in the rcache slots.
 *   - Shared heaps: every object in an ocache slot is an object of the
 *     slot's owner, which is not the slot's talloc, and holds a queue's
 *     reference as if it were on the owner's queue (oqueue); n and
 *     ocache_n count them as rcache's do. */
/* A program call site held while a built-in types' function runs (file
 * NULL: none); see ouro_heap.site. */
typedef struct ouro__site {
    const char *file, *func;
    int line;
} ouro__site;

/* A shared heap's thread holds the blocks of other threads' pools it
 * frees in OURO__RCACHE_SLOTS slots of up to OURO__RCACHE_BATCH blocks
 * (ouro__talloc.rcache): at most 8 x 64 blocks of 2 KiB, 1 MiB. */
enum { OURO__RCACHE_SLOTS = 8, OURO__RCACHE_BATCH = 64 };

typedef struct ouro__talloc {
    ouro__pool *usedpools[2][OURO_NUM_CLASSES]; /* [raw][class] */
    /* The last pool of each used list (NULL when it is empty): a pool that
     * was full goes back at the end (pool.c, ouro__block_free_ta). */
    ouro__pool *usedlast[2][OURO_NUM_CLASSES];
    size_t bytes_alloc, bytes_freed;
    size_t peak_in_use;
    /* ----- shared heaps only (shared.c) */
    /* Empty pools this thread keeps for its next pools (pool.c, pool_new
     * and pool_release; linked through nextpool, by kind and class):
     * every one fully set up for its class, owned by this talloc, on no
     * used list, with no allocated block; counted in h->st.class_pools.
     * npcache counts them, at most OURO__PCACHE_MAX.  Only the talloc's
     * thread touches them, or a thread holding the world stopped. */
    struct ouro__pool *pcache[2][OURO_NUM_CLASSES];
    uint32_t npcache;
    ouro_heap *heap;
    uint16_t id;              /* index in h->tallocs; pool->owner */
    /* OURO__TS_*: written under h->stw_mu (and read without it by the
     * thread itself and by the stop-the-world requester under it). */
    int state;
    int nest;                 /* ouro_thread_attach calls not yet detached */
    bool counted;             /* a stop-the-world requester waits for it */
    pthread_t thread;
    int last_error;           /* ouro_heap_last_error for this thread */
    void *remote;             /* atomic: blocks freed by other threads */
    uint64_t remote_frees;    /* blocks of others' pools this thread freed */
    uint64_t remote_taken;    /* blocks taken back from its own */
    /* Blocks of other threads' pools this thread freed and holds, to push
     * onto their owners' remote lists in batches (shared.c, rcache_add):
     * slot owner % OURO__RCACHE_SLOTS holds up to OURO__RCACHE_BATCH
     * blocks of one owner, linked through their word at +8 from head to
     * tail.  Only the talloc's thread touches them, or a thread holding
     * the world stopped; empty while the talloc is parked or detached. */
    struct ouro__rcache {
        void *head, *tail;
        uint16_t owner;
        uint16_t n;
    } rcache[OURO__RCACHE_SLOTS];
    uint32_t rcache_n;        /* blocks in all slots */
    void *chunk;              /* the page-source chunk it lives in (0: ta0) */
    /* The next state its thread is attached with, on another shared heap:
     * the thread's list that detaches them all if it exits attached
     * (shared.c, thread_exit).  Only its thread touches it. */
    struct ouro__talloc *tnext;
    /* Objects (shared.c): those other threads queued for this thread to
     * merge their counts (compressed references linked through their
     * ouro__brc.qlink; atomic), and the thread's own counts and trashcan
     * (a single-thread heap keeps these in the heap). */
    uint32_t oqueue;
    /* Objects this thread queued for other threads and holds, to push
     * onto their owners' queues in batches (shared.c, queue_push): as
     * rcache, slot owner % OURO__RCACHE_SLOTS holds up to
     * OURO__RCACHE_BATCH objects of one owner, each marked QUEUED and
     * holding the queue's reference, linked through ouro__brc.qlink from
     * head to tail.  Only the talloc's thread touches them, or a thread
     * holding the world stopped; empty while the talloc is parked or
     * detached. */
    struct ouro__ocache {
        uint32_t head, tail;
        uint16_t owner;
        uint16_t n;
    } ocache[OURO__RCACHE_SLOTS];
    uint32_t ocache_n;        /* objects in all slots */
    int claim;                /* atomic: 1 while a thread takes a detached
                                 state's queue, or adopts it */
    int closing;              /* atomic: its thread is detaching, past its
                                 last look at its queue but one (detach);
                                 0 again when a thread adopts it */
    size_t objects_new, objects_freed;
    unsigned dealloc_depth;
    ouro_object *deferred;
    /* Tracked objects allocated since the last collection, less those
     * freed: this thread's share of generation 0's count. */
    long young_count;
    /* Objects of the generations that died in this thread, still linked
     * there (compressed references through ouro__brc.qlink): unlinked
     * under gc_lock in batches, or by the next stop of the world. */
    uint32_t zombies;
    uint32_t nzombies;
    /* The program's site of the built-in types' call this thread runs,
     * while the heap is traced (a shared heap's, per thread: ouro_heap.site
     * is a single-thread heap's). */
    ouro__site site;
} ouro__talloc;

/* Biased reference counting on a shared heap (PEP 703's, shared.c).  A
 * mortal object's refcnt is OURO__RC_SHARED | its local count, which only
 * the owner thread (the thread of the talloc its pool belongs to) changes,
 * with plain loads and stores; OURO__RC_MERGED once the local count has
 * been merged into the shared one (then every thread uses the shared
 * count).  The bit 31 that every such value has sends the inline
 * reference operations of ouro.h to ouro__incref_shared and
 * ouro__decref_shared; immortal values (OURO_IMMORTAL_REFCNT and above)
 * stay inline no-ops.  The shared count lives beside the object: in an
 * array at the end of its pool (8 bytes per block; a shared heap's object
 * pools hold fewer blocks) or in its large block's header.  It is
 * (count << 2) | state, count signed, state 0, QUEUED (queued to the owner
 * to merge: the queue holds one reference) or MERGED. */
/* (OURO__RC_SHARED, OURO__RC_MERGED and OURO__RC_LOCAL are in ouro.h,
 * whose inline operations do the owner's.) */
enum { OURO__SH_MAYBE_WEAKREF = 1, OURO__SH_QUEUED = 2, OURO__SH_MERGED = 3 };

/* A thread's state on a shared heap (ouro__talloc.state). */
enum {
    OURO__TS_DETACHED = 0,    /* no thread: reused by the next attach */
    OURO__TS_ATTACHED,        /* running in the heap */
    OURO__TS_PARKED,          /* attached, but outside ouro (blocking) */
    OURO__TS_SUSPENDED        /* stopped at a safe point for another thread */
};
#define OURO__MAX_THREADS 256

/* A spin lock for critical sections of a few stores (a shared heap's
 * gc_lock): taken with one exchange when free, which an uncontended
 * pthread mutex's call costs several times over; a waiter spins briefly,
 * then yields its core. */
static inline bool ouro__spin_trylock(int *l)
{
    return __atomic_load_n(l, __ATOMIC_RELAXED) == 0 &&
           __atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) == 0;
}
OURO__HIDDEN void ouro__spin_lock_slow(int *l);
static inline void ouro__spin_lock(int *l)
{
    if (OURO__UNLIKELY(__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE) != 0))
        ouro__spin_lock_slow(l);
}
static inline void ouro__spin_unlock(int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

/* Stop-the-world and thread registry state of a shared heap (shared.c). */
typedef struct ouro__shared {
    pthread_mutex_t lock;     /* arenas, slots, large blocks, decay, stats */
    pthread_mutex_t stw_mu;   /* thread states, the stop protocol */
    int gc_lock;              /* the generation lists (not the young ones)
                                 while the world runs: a spin lock
                                 (ouro__spin_*), held for a few unlinks */
    pthread_mutex_t weak_lock; /* the weak table and weak-reference lists
                                  (weakref.c) */
    pthread_mutex_t types_lock; /* the built-in types' per-heap state
                                   (src/types): a thread waiting for it is
                                   parked, so its holder may stop */
    pthread_cond_t stopped;   /* a thread counted by a requester stopped */
    pthread_cond_t resumed;   /* the world restarted */
    int requested;            /* atomic: a stop is requested or in force
                                 (shared.c: STW_STOP), or a requester
                                 waits for passed-over threads (STW_YIELD) */
    int pending;              /* counted threads not stopped yet */
    int nsuspended;           /* atomic: threads SUSPENDED, not running
                                 again yet (shared.c, INVARIANTS) */
    bool passed_over;         /* the last stop passed over a SUSPENDED
                                 thread that had not run since the one
                                 before, or such a thread stopped again */
    uint64_t passed_over_threads; /* threads stops passed over, in all */
    unsigned stop_streak_max; /* the most stops in a row one thread stayed
                                 stopped for: at most 2 */
    unsigned restarts;        /* atomic: stops ended (written under
                                 stw_mu); suspended threads wait for it */
    struct ouro__talloc *stopper; /* the thread whose stop is in force */
    int stop_depth;           /* its nested stops (written by it alone) */
    struct ouro__talloc *gc_runner; /* the thread whose collection lets
                                 the world run (gc.c, RUNNING THE WORLD),
                                 while it does: its dying objects never
                                 become zombies, since they may be on the
                                 collection's own lists */
    bool gc_own_stop;         /* the stop in force was made for the
                                 collection it runs (gc.c, RUNNING THE
                                 WORLD); written by the stopper */
    uint32_t ntallocs;        /* tallocs[0..ntallocs) exist */
    uint32_t attached;        /* threads attached (running or parked) */
    uint32_t peak_attached;
    uint64_t attaches;
    uint64_t stops;
    uint64_t stop_wait_ns, stop_wait_max_ns;
    size_t pool_bytes;        /* the decay's allocation clock: bytes of
                                 pools and large blocks taken */
    /* Tracing (ouro__tracer): the hooks run under trace_lock, a leaf lock
     * (nothing stops the world or parks while holding it), so no thread
     * is in a hook while the world is stopped.  trace_clock is the
     * sampling clock (a single-thread heap's is ta0.bytes_alloc): bytes
     * of every block allocated while tracing, under the lock. */
    pthread_mutex_t trace_lock;
    size_t trace_clock;
} ouro__shared;

struct ouro_heap {
    /* The list heads must come first: their compressed references are
     * offsets into this structure, which has arena index 0.  `reserved0`
     * sits at offset 0 so that no list head has reference 0. */
    ouro_object reserved0;
    ouro_object lists[OURO__NUM_LISTS];
    /* A shared heap's young lists, one per thread allocation state
     * (young[ta->id]): the collector-tracked objects a thread allocated
     * since the last collection, in allocation order, linked and unlinked
     * by that thread alone (or with it stopped, or by the thread holding
     * it detached); flushed into generation 0 when the world stops for a
     * collection (shared.c).  List heads, so in this structure (slot 0);
     * a cache line each, since every allocation of its thread writes its
     * head (two threads' heads on one line cost two threads' binary-trees
     * a third of their time). */
    struct {
        ouro_object head;
        uint8_t pad[48];
    } young[OURO__MAX_THREADS];

    ouro_config cfg;
    int last_error;
    /* Taken by the allocation entry points before they do anything: set
     * when fault injection is on or debug checks are (the owner check
     * below), so that a release heap pays one load and branch, the one
     * it paid before for fault injection alone (ouro__alloc_fails). */
    bool alloc_slow;
    /* The deallocation fast path's one test of the heap (ouro__dealloc):
     * set when alloc_slow is or a tracer is (h->tracer, which sees every
     * object freed); recomputed by ouro__obj_slow_update wherever either
     * changes. */
    bool obj_slow;
    /* The same test for a shared heap's fast paths of the last reference
     * and of the raw free (shared.c's ouro__decref_shared and
     * ouro__shared_raw_free; a shared heap's alloc_slow is always set): a
     * tracer or debug checks.  Changes only with the world stopped. */
    bool shared_obj_slow;

    /* The thread that may use the heap (debug heaps check it at the entry
     * points; see ouro_heap_set_owner).  `owned` false means nobody owns
     * it: the next thread to use it takes it.  Written by the owner, or by
     * a thread that takes an unowned heap, with a compare-and-swap so that
     * two threads racing for an unowned heap cannot both win. */
    pthread_t owner;
    bool owned;

    /* pools: the one thread's allocation state (a shared heap's thread 0,
     * its creator's, at first), then the heap's own */
    ouro__talloc ta0;
    ouro__arena *usable_arenas;     /* sorted, fullest first */
    /* Wholly free arenas kept for reuse until their decay, newest first
     * (taken from the head, released from the tail), and the clocks as
     * the last decay check saw them (ouro__pool_check verifies that no
     * arena was past its decay then). */
    ouro__arena *empty_arenas, *empty_oldest;
    /* Freed large blocks' mappings kept for reuse until their decay, as
     * the empty arenas are (pool.c, large_keep): newest first through
     * next/prev, at most OURO__LARGE_KEEP of them and OURO__LARGE_KEEP_BYTES
     * in all (h->st.large_kept, large_kept_bytes), none in h->large_blocks
     * or the arena table. */
    ouro__large *large_kept, *large_kept_oldest;
    size_t decay_seen_bytes;
    uint64_t decay_seen_ms;
    ouro__large *large_blocks;
    /* arena table, OURO__MAX_ARENAS entries each, in the same mapping as
     * the heap: base address per index, arena records, free indices */
    uint8_t **slot_base;
    ouro__arena *arenas;
    uint32_t *slot_free;            /* stack of free indices */
    uint32_t nslot_free;
    uint32_t slot_top;              /* indices >= slot_top never used */
    size_t map_size;                /* bytes of the heap's own mapping */

    /* statistics.  `st` holds the figures that change when pools, arenas
     * and large blocks come and go, and the peak; bytes in use and live
     * objects are kept as pairs of counters, one written by allocation and
     * one by free, for the same reason as a pool's nalloc/nfree; blocks per
     * class are counted from the pools when asked for (ouro__stats_sync). */
    ouro_heap_stats st;
    size_t objects_new, objects_freed;
    uint64_t page_requests;
    uint64_t allocs;                /* allocations counted for fault injection */

    /* objects */
    unsigned dealloc_depth;         /* current recursion depth */
    ouro_object *deferred;          /* trashcan stack (linked via gc_prev) */
    bool freeing;                   /* ouro_heap_free in progress */
    /* ouro_heap_free's last step (heap.c): every object is immortal,
     * allocations fail with OURO_EBUSY (the fault-injection gate is held
     * open, so the allocation paths pay nothing for it) and raw frees do
     * nothing, so that the pools do not change under the walks. */
    bool teardown;

    /* collector */
    ouro__gen gen[OURO_GC_GENERATIONS];
    /* Generation 0 is collected when its count exceeds young_threshold:
     * gen[0].threshold (CPython's threshold0, what get_threshold reports)
     * times young_factor.  young_growth is the schedule: 1 is CPython
     * 3.11's (young_factor stays 1), above 1 the adaptive one (gc.c,
     * young_adapt), whose factor is at most young_growth.
     * Once grown, young_threshold stays below INT_MAX, so that the int
     * count can pass it (young_retune). */
    long young_threshold;
    int young_factor;
    int young_growth;
    ouro_gc_gen_stats gstats[OURO_GC_GENERATIONS];
    size_t long_lived_total;
    size_t long_lived_pending;
    /* Objects marked OURO__F_MIDDLE: survivors of young collections since
     * the last collection of the middle generation that have not died
     * since (the adaptive schedule's trigger for that generation, gc.c
     * ouro__gc_maybe_collect).  A heuristic count, never above the middle
     * generation's size; it never goes below zero. */
    size_t middle_live;
    /* The incremental schedule (OURO_GC_SCHEDULE_INCREMENTAL): generation
     * 0 is collected when its count passes young_backlog + young_limit;
     * young_threshold is then the earlier of that and the next increment's
     * point.  young_backlog is the trash the last young collection sent
     * back to generation 0 uncleared (gc.c, defer_trash), 0 after one
     * that cleared all it found: the program allocates young_limit
     * objects between two young collections whatever the backlog. */
    bool incremental;
    long young_limit;
    long young_backlog;
    /* The young collections of ouro's own schedules (incremental and
     * adaptive) scan generation 0 newest first when set, oldest first
     * otherwise: whichever order the last one found cheaper (gc.c,
     * deduce_unreachable_scan).  What they find, and the order of the
     * trash, are the same either way. */
    bool young_backward;
    ouro__incr inc;
    bool enabled;
    bool collecting;
    int debug_flags;
    ouro__vec garbage;
    ouro__callback *callbacks;
    size_t ncallbacks, capcallbacks;

    /* weak references */
    ouro__wentry *wtab;
    size_t wcap, wcount, wtomb;

    /* allocation tracing (src/inspect): NULL when off.  The fast paths
     * test two fields instead: an allocation goes to the tracer when
     * bytes_alloc >= trace_at (SIZE_MAX: not tracing; 0: every allocation;
     * otherwise the next sampling point), a raw free takes the slow path
     * when slow_free is set (debug checks, or every block traced) or its
     * pool holds a sample (nsampled). */
    struct ouro__tracer *tracer;
    size_t trace_at;
    bool slow_free;
    /* The program's call site of the built-in types' function running now
     * (file NULL: none), held by the `_at` variants (src/types/site.c)
     * while the heap is traced, so that the tracer can name the program's
     * line for blocks allocated at ouro's own lines (ouro__tracer). */
    ouro__site site;
    /* the layer above (src/types): NULL until it first uses the heap */
    const struct ouro__types_hooks *types_hooks;
    void *types;

    /* scopes */
    ouro__vec scope;
    void *userdata;

    /* Shared heaps (shared.c): NULL for a single-thread heap.  tallocs[i]
     * is the thread allocation state with id i (tallocs[0] = &ta0). */
    ouro__shared *shared;
    ouro__talloc *tallocs[OURO__MAX_THREADS];
    ouro__shared shared_store;
};

/* ----- shared heaps (shared.c) */
OURO__HIDDEN void ouro__shared_init(ouro_heap *h);
OURO__HIDDEN void ouro__shared_fini(ouro_heap *h);
OURO__HIDDEN ouro__talloc *ouro__shared_self(ouro_heap *h);
OURO__HIDDEN int ouro__shared_last_error(ouro_heap *h);
OURO__HIDDEN void ouro__shared_clear_error(ouro_heap *h);
OURO__HIDDEN void *ouro__shared_raw_alloc(ouro_heap *h, size_t size, const char *file, int line,
                                         const char *func);
OURO__HIDDEN void ouro__shared_raw_free(ouro_heap *h, void *p);
/* Stop every other attached thread for an operation of the calling
 * thread (nested: the thread holding the stop may stop again);
 * OURO_ETHREAD when it is not attached.  Ends with ouro__stw_leave. */
OURO__LAYER_API int ouro__stw_enter(ouro_heap *h, const char *what);
OURO__LAYER_API void ouro__stw_leave(ouro_heap *h);
OURO__HIDDEN bool ouro__stw_mine(ouro_heap *h);
OURO__HIDDEN int ouro__shared_check(ouro_heap *h);
OURO__HIDDEN int ouro__shared_free_begin(ouro_heap *h);
/* Objects on a shared heap (shared.c): a new object of a ready type (a
 * new reference), or NULL with the thread's last error set.  The
 * arguments in new_fast's order (object.c), so that it jumps here. */
OURO__HIDDEN ouro_object *ouro__shared_new(ouro_heap *h, ouro_type *type, const char *file,
                                          int line, const char *func, size_t size);
/* A new reference to o unless its count is zero already (it is dying):
 * weak references' get (PEP 703's _Py_TryIncref). */
OURO__HIDDEN bool ouro__try_incref(ouro_object *o);
/* Before o gets its first weak reference: its shared word flagged
 * MAYBE_WEAKREF, so that its owner's count reaching zero merges with a
 * compare-and-swap that a concurrent try_incref is ordered with. */
OURO__HIDDEN void ouro__shared_mark_weak(ouro_object *o);
/* The collector on a shared heap: `fn(h, arg)` with every other thread
 * stopped and the young lists flushed into generation 0 (unless `collect`:
 * then fn's collection flushes them, ouro__shared_flush_young);
 * OURO_ETHREAD when the calling thread is not attached. */
OURO__HIDDEN int ouro__shared_stopped(ouro_heap *h, const char *what,
                                      void (*fn)(ouro_heap *h, void *arg), void *arg,
                                      bool collect);
/* A collection's first step on a shared heap (the calling thread holds
 * the world stopped): the threads' young counts and lists joined to
 * generation 0's, the lists without a walk.  Their objects keep TLIST
 * until the collection's first pass clears it, and no other code runs in
 * between: the one place where TLIST does not mean "on a young list". */
OURO__HIDDEN void ouro__shared_flush_young(ouro_heap *h);
/* The young lists flushed into generation 0 with their TLIST flags
 * cleared (every stop made for a collector call does this first): for the
 * collector calls made inside a stop (callbacks, finalizers), which read
 * the generations (get_objects, get_referrers, freeze). */
OURO__HIDDEN void ouro__shared_flush_lists(ouro_heap *h);
OURO__HIDDEN int ouro__shared_gc_check(ouro_heap *h);
/* gc.c: whether the collection the calling thread runs may restart the
 * world while the program's code runs (it holds the outermost stop, made
 * for the collection, and another thread is attached). */
OURO__HIDDEN bool ouro__shared_gc_may_run(ouro_heap *h);
/* Mark the stop in force as made for a collection (or not); returns the
 * mark it had. */
OURO__HIDDEN bool ouro__shared_gc_own_stop(ouro_heap *h, bool own);
/* The calling thread's collection restarts the world (run) or stops it
 * again. */
OURO__HIDDEN void ouro__shared_gc_world(ouro_heap *h, bool run);
/* ouro_gc_track (track) or ouro_gc_untrack of an object the calling thread
 * owns, on its own young list, with no stop: true when done so (false:
 * the caller stops the world). */
OURO__HIDDEN bool ouro__shared_track_own(ouro_heap *h, ouro_object *o, bool track);
/* With the world stopped: the threads' shares of generation 0's count
 * added to it (before a collection). */
OURO__HIDDEN void ouro__shared_flush_counts(ouro_heap *h);
/* The built-in types' state lock on a shared heap (src/types): true when
 * taken (pass it to the unlock).  Not taken on a single-thread heap, nor
 * by the thread holding the world stopped (the holder, if any, is stopped
 * outside any change); a thread that has to wait parks meanwhile, so a
 * holder that reaches a safe point inside cannot deadlock a stop. */
OURO__LAYER_API bool ouro__types_lock(ouro_heap *h);
OURO__LAYER_API void ouro__types_unlock(ouro_heap *h, bool taken);
/* The calling thread's last error, on any heap (upper layers). */
OURO__LAYER_API void ouro__set_error(ouro_heap *h, int code);

/* ----- compressed references */

static inline uint32_t ouro__ref_of(ouro_heap *h, const ouro_object *o);
static inline ouro_object *ouro__obj_of(ouro_heap *h, uint32_t ref)
{
    return (ouro_object *)(h->slot_base[ref >> 16] + ((size_t)(ref & 0xffff) << 4));
}
/* The compressed reference of a list head (it lives in the heap
 * structure, slot 0). */
static inline uint32_t ouro__head_ref(ouro_heap *h, const ouro_object *head)
{
    return (uint32_t)((size_t)((const uint8_t *)head - (const uint8_t *)h) >> 4);
}
static inline ouro__pool *ouro__pool_of(const void *p)
{
    return (ouro__pool *)((uintptr_t)p & ~(uintptr_t)(OURO__POOL_SIZE - 1));
}
static inline ouro_heap *ouro__heap_of(const ouro_object *o)
{
    return ((ouro__chunk *)ouro__pool_of(o))->heap;
}

/* Small objects: straight-line stores (a loop here becomes `rep stos`,
 * which costs more than the whole allocation).  Block sizes are multiples
 * of 16; words 0-1 are the header, which the caller writes. */
static inline void ouro__zero_body(ouro_object *o, size_t size)
{
    if (size <= 64) {
        /* a cascade, the 32-byte object's case first */
        uint64_t *w = (uint64_t *)o;
        if (size > 16) {
            w[2] = 0;
            w[3] = 0;
            if (size > 32) {
                w[4] = 0;
                w[5] = 0;
                if (size > 48) {
                    w[6] = 0;
                    w[7] = 0;
                }
            }
        }
    } else {
        memset((uint8_t *)o + sizeof(ouro_object), 0, size - sizeof(ouro_object));
    }
}

/* ----- a shared heap's object counts (shared.c) */
/* ceil(2^32 / class size), by size class (shared.c). */
OURO__HIDDEN extern const uint32_t ouro__class_recip[OURO_NUM_CLASSES];
/* o's shared count and queue link: the array at the end of its pool,
 * from the last entry down (block k's is entry k from the end), or its
 * large block's header. */
static inline ouro__brc *ouro__brc_of(const ouro_object *o)
{
    ouro__chunk *ch = (ouro__chunk *)ouro__pool_of(o);
    if (ch->kind == OURO__CHUNK_LARGE)
        return &((ouro__large *)ch)->brc;
    ouro__pool *pool = (ouro__pool *)ch;
    uint32_t off = (uint32_t)(((uintptr_t)o & (OURO__POOL_SIZE - 1)) - OURO__POOL_HEADER);
    /* off / block_size as a multiplication: exact for off < 2^14 and
     * block sizes up to 2^11 (the error, under off / 2^32, stays below
     * 1 / block_size) */
    uint32_t k = (uint32_t)(((uint64_t)off * ouro__class_recip[pool->szidx]) >> 32);
    OURO__ASSERT(k == off / pool->block_size);
    return (ouro__brc *)((uint8_t *)pool + OURO__POOL_SIZE) - 1 - k;
}

/* o's count, its two parts added (the collector reads it with the world
 * stopped, when both are still). */
static inline uint32_t ouro__shared_refcount(const ouro_object *o)
{
    uint32_t rc = __atomic_load_n(&o->refcnt, __ATOMIC_RELAXED);
    int64_t n = (rc & OURO__RC_MERGED) ? 0 : (rc & OURO__RC_LOCAL);
    /* A clean pool's shared words are all 0 (ouro__pool.brc_used): the
     * collector's update_refs, which reads every object's count, then
     * reads no brc array at all. */
    const ouro__pool *pool = ouro__pool_of(o);
    if (pool->c.kind != OURO__CHUNK_POOL || __atomic_load_n(&pool->brc_used, __ATOMIC_RELAXED))
        n += __atomic_load_n(&ouro__brc_of(o)->shared, __ATOMIC_RELAXED) >> 2;
    return n < 0 ? 0 : (uint32_t)n;
}
/* The compressed reference of an object in an arena or large block (not a
 * list head): the chunk header gives the slot. */
static inline uint32_t ouro__obj_ref(ouro_heap *h, const ouro_object *o)
{
    uint32_t index = ((ouro__chunk *)ouro__pool_of(o))->index;
    return (index << 16) | (uint32_t)((size_t)((const uint8_t *)o - h->slot_base[index]) >> 4);
}
/* The same for anything on a collector list, list heads included (those
 * live in the heap structure, slot 0). */
static inline uint32_t ouro__ref_of(ouro_heap *h, const ouro_object *o)
{
    const uint8_t *p = (const uint8_t *)o;
    if (p >= (const uint8_t *)h && p < (const uint8_t *)(h->young + OURO__MAX_THREADS))
        return (uint32_t)((size_t)(p - h->slot_base[0]) >> 4);
    return ouro__obj_ref(h, o);
}

/* ----- a shared heap's lock (shared.c): taken around the heap-wide pool
 * state (arenas, the arena table, large blocks, decay, h->st), on pool and
 * arena events only; a single-thread heap pays a test of h->shared. */
static inline void ouro__lock(ouro_heap *h)
{
    if (OURO__UNLIKELY(h->shared != NULL))
        pthread_mutex_lock(&h->shared->lock);
}
static inline void ouro__unlock(ouro_heap *h)
{
    if (OURO__UNLIKELY(h->shared != NULL))
        pthread_mutex_unlock(&h->shared->lock);
}
OURO__HIDDEN size_t ouro__pool_trim(ouro_heap *h);
OURO__HIDDEN size_t ouro__shared_trim(ouro_heap *h);

/* ----- pools (pool.c) */
OURO__HIDDEN int ouro__pool_init(ouro_heap *h);
OURO__HIDDEN void ouro__pool_fini(ouro_heap *h);
/* Allocate a block of at least `size` bytes, 16-aligned; NULL on OOM. */
OURO__HIDDEN void *ouro__block_alloc(ouro_heap *h, size_t size, int raw);
OURO__LAYER_API void ouro__block_free(ouro_heap *h, void *p);
/* The same for thread allocation state `ta` of h (shared heaps: the
 * calling thread's, or a stopped or detached thread's). */
OURO__HIDDEN void *ouro__block_alloc_ta(ouro_heap *h, ouro__talloc *ta, size_t size, int raw);
OURO__HIDDEN void ouro__block_free_ta(ouro_heap *h, ouro__talloc *ta, void *p);
/* A shared heap: ta's cached empty pools back to the arenas (detach, trim). */
OURO__HIDDEN void ouro__pcache_drop_all(ouro_heap *h, ouro__talloc *ta);
/* A block's usable size, from its chunk header (inline for the fast paths;
 * ouro__block_size is the out-of-line copy). */
static inline size_t ouro__block_size_inline(const void *p)
{
    const ouro__chunk *ch = (const ouro__chunk *)ouro__pool_of(p);
    if (ch->kind == OURO__CHUNK_LARGE)
        return ((const ouro__large *)ch)->size;
    return ((const ouro__pool *)ch)->block_size;
}
OURO__LAYER_API size_t ouro__block_size(const void *p);
OURO__HIDDEN size_t ouro__class_size(int c);
/* Whether a pool block is free: on its pool's free list or never carved
 * (debug checks: a double free).  O(capacity). */
OURO__HIDDEN bool ouro__block_is_free(void *p);
OURO__HIDDEN int ouro__pool_check(ouro_heap *h);
/* The decay check: return the empty arenas past the heap's decay to the
 * page source.  Costs a load and a branch when no arena is empty; called
 * at slow-path points only (pool and arena events in pool.c, collections). */
OURO__HIDDEN void ouro__pool_decay_slow(ouro_heap *h);
/* The decay check (a load and a branch when nothing is kept); true if it
 * ran, and so read the clocks into h->decay_seen_*. */
static inline bool ouro__pool_decay(ouro_heap *h)
{
    if (OURO__LIKELY(((uintptr_t)h->empty_oldest | (uintptr_t)h->large_kept_oldest) == 0))
        return false;
    ouro__pool_decay_slow(h);
    return true;
}
/* Visit every allocated block in address order (raw blocks too when
 * `raw`); stops at the first non-zero return, which it returns. */
OURO__HIDDEN int ouro__pool_walk(ouro_heap *h, bool raw, int (*fn)(void *block, void *arg),
                                 void *arg);
OURO__HIDDEN int ouro__pool_free_bitmap(ouro__pool *pool, uint8_t *bits);

/* The pool pointer for used pool number `k` of arena `a`, or NULL if free. */
static inline ouro__pool *ouro__arena_pool(ouro__arena *a, uint32_t k)
{
    ouro__pool *pool = (ouro__pool *)(a->base + (size_t)k * OURO__POOL_SIZE);
    return pool->c.kind == OURO__CHUNK_POOL ? pool : NULL;
}

/* Every pool in use (carved and not free), arena by arena in address
 * order; `a` and `pool` are the caller's variables.  `continue` in the body
 * goes on to the next pool. */
#define OURO__FOR_EACH_POOL(h, a, pool)                                              \
    for (uint32_t ouro__i = 1; ouro__i < (h)->slot_top; ouro__i++)                   \
        if (((a) = &(h)->arenas[ouro__i])->live)                                     \
            for (uint32_t ouro__k = 0; ouro__k < (a)->npools_carved; ouro__k++)      \
                if (((pool) = ouro__arena_pool((a), ouro__k)) != NULL)

/* The one block walker, inline so that a caller passing a constant `fn`
 * (the collector's full-collection sweep) gets it inlined into the loop;
 * ouro__pool_walk is the out-of-line copy.  Visits every allocated block in
 * address order: arenas, then pools in each arena, then large blocks; raw
 * blocks only when `raw` is set.  Free pools are recognised by their header
 * (kind is cleared when a pool is released), free blocks by the pool's free
 * list, so no free memory is read (ASan and Valgrind keep it poisoned).  It
 * streams through memory instead of chasing list links, and a full pool
 * needs no free-list walk at all. */
static inline __attribute__((always_inline)) int
ouro__pool_walk_inline(ouro_heap *h, bool raw, int (*fn)(void *block, void *arg), void *arg)
{
    uint8_t bits[OURO__POOL_SIZE / 16 / 8];
    ouro__arena *a;
    ouro__pool *pool;
    OURO__FOR_EACH_POOL(h, a, pool) {
        if (ouro__pool_ref(pool) == 0 || (ouro__pool_raw(pool) && !raw))
            continue;
        uint8_t *b = (uint8_t *)pool + OURO__POOL_HEADER;
        uint32_t cap = pool->capacity, bs = pool->block_size;
        if (ouro__pool_ref(pool) == cap) {
            for (uint32_t j = 0; j < cap; j++, b += bs) {
                int r = fn(b, arg);
                if (r)
                    return r;
            }
            continue;
        }
        if (ouro__pool_free_bitmap(pool, bits) < 0)
            return OURO_EINVAL;
        for (uint32_t j = 0; j < cap; j++, b += bs) {
            if (bits[j / 8] & (1u << (j % 8)))
                continue;
            int r = fn(b, arg);
            if (r)
                return r;
        }
    }
    for (ouro__large *L = h->large_blocks, *next; L; L = next) {
        next = L->next;
        if (L->raw && !raw)
            continue;
        int r = fn(L + 1, arg);
        if (r)
            return r;
    }
    return 0;
}
OURO__HIDDEN void *ouro__pages_alloc(ouro_heap *h, size_t size);
OURO__HIDDEN void ouro__pages_free(ouro_heap *h, void *p, size_t size);
OURO__HIDDEN void *ouro__pages_alloc_zeroed(ouro_heap *h, size_t size, bool resident);

/* ----- pool fast paths, inline in the object allocator.  The common case
 * (a small class whose first used pool has a next free block; a free into a
 * pool that stays partly used) costs a handful of loads and stores; the
 * rest goes to pool.c.  Sanitizer and Valgrind builds always take the slow
 * path, which announces every block to the tools. */
#if defined(OURO__ASAN) || defined(OURO_VALGRIND)
#define OURO__FAST_POOLS 0
#else
#define OURO__FAST_POOLS 1
#endif

/* Block accounting, shared by the fast paths and pool.c: two stores. */
static inline void ouro__count_alloc(ouro__talloc *ta, size_t bytes)
{
    ta->bytes_alloc += bytes;
    size_t in_use = ta->bytes_alloc - ta->bytes_freed;
    if (OURO__UNLIKELY(in_use > ta->peak_in_use))
        ta->peak_in_use = in_use;
}
static inline void ouro__count_free(ouro__talloc *ta, size_t bytes) { ta->bytes_freed += bytes; }
/* Bring h->st up to date: the split counters always, class_blocks (a walk
 * over every pool header) only when `classes`. */
OURO__HIDDEN void ouro__stats_sync(ouro_heap *h, bool classes);
static inline size_t ouro__live_objects(const ouro_heap *h)
{
    size_t n = h->objects_new - h->objects_freed;
    if (OURO__UNLIKELY(h->shared != NULL))
        for (uint32_t i = 0; i < OURO__MAX_THREADS; i++)
            if (h->tallocs[i])
                n += h->tallocs[i]->objects_new - h->tallocs[i]->objects_freed;
    return n;
}

/* The pool fast path alone: NULL when it does not apply (or in sanitizer
 * builds), and the caller goes to ouro__block_alloc. */
/* The medium classes by (size - 1) / 128, for sizes 513..2048 (pool.c). */
OURO__HIDDEN extern const uint8_t ouro__medium_class[OURO__MEDIUM_MAX / 128];

static inline void *ouro__block_alloc_try_ta(ouro__talloc *ta, size_t size, int raw)
{
#if OURO__FAST_POOLS
    unsigned c;
    if (OURO__LIKELY(size - 1 < OURO__SMALL_MAX))
        c = (unsigned)((size - 1) >> 4);
    else if (size - 1 < OURO__MEDIUM_MAX)
        c = ouro__medium_class[(size - 1) >> 7];
    else
        return NULL;
    {
        ouro__pool *pool = ta->usedpools[raw][c];
        if (OURO__LIKELY(pool != NULL)) {
            uint8_t *bp = pool->freeblock, *next;
            memcpy(&next, bp + 8, sizeof next);
            if (next == NULL && pool->nextoffset <= pool->maxnextoffset) {
                /* carve the next never-used block */
                next = (uint8_t *)pool + pool->nextoffset;
                pool->nextoffset = (uint16_t)(pool->nextoffset + pool->block_size);
                memset(next + 8, 0, sizeof(void *));
            }
            if (OURO__LIKELY(next != NULL)) {
                pool->freeblock = next;
                pool->nalloc++;
                ouro__count_alloc(ta, pool->block_size);
                return bp;
            }
        }
    }
#else
    (void)ta, (void)size, (void)raw;
#endif
    return NULL;
}
static inline void *ouro__block_alloc_try(ouro_heap *h, size_t size, int raw)
{
    return ouro__block_alloc_try_ta(&h->ta0, size, raw);
}

static inline void *ouro__block_alloc_fast(ouro_heap *h, size_t size, int raw)
{
    void *p = ouro__block_alloc_try(h, size, raw);
    return OURO__LIKELY(p != NULL) ? p : ouro__block_alloc(h, size, raw);
}

/* The pool fast path of a free alone: false when it does not apply (or in
 * sanitizer builds), and the caller goes to ouro__block_free.  The block's
 * pool must be ta's. */
static inline bool ouro__block_free_try_ta(ouro__talloc *ta, void *p)
{
#if OURO__FAST_POOLS
    ouro__pool *pool = (ouro__pool *)ouro__pool_of(p);
    /* The common cases: the pool stays partly used, or it is its class's
     * only pool and stays, empty, on the used list (pool.c keeps it). */
    if (OURO__LIKELY(pool->c.kind == OURO__CHUNK_POOL && pool->freeblock != NULL &&
                     pool->nsampled == 0 &&
                     (ouro__pool_ref(pool) > 1 || ouro__pool_alone(pool)))) {
        memcpy((uint8_t *)p + 8, &pool->freeblock, sizeof(void *));
        pool->freeblock = p;
        pool->nfree++;
        ouro__count_free(ta, pool->block_size);
        return true;
    }
#else
    (void)ta, (void)p;
#endif
    return false;
}
static inline bool ouro__block_free_try(ouro_heap *h, void *p)
{
    return ouro__block_free_try_ta(&h->ta0, p);
}

static inline void ouro__block_free_fast(ouro_heap *h, void *p)
{
    if (OURO__UNLIKELY(!ouro__block_free_try(h, p)))
        ouro__block_free(h, p);
}

/* ----- objects (object.c) */
OURO__LAYER_API extern ouro_type *ouro__type_table[OURO__MAX_TYPES];
static inline ouro_type *ouro__type_by_id(uint32_t id) { return ouro__type_table[id]; }
OURO__HIDDEN void ouro__report(ouro_heap *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The one way out on misuse or a broken invariant: "ouro: fatal: " and the
 * message go to h's sink (stderr when h is NULL), then the process aborts.
 * ouro__fatal names an object, its type and its count. */
OURO__HIDDEN void ouro__fatalf(ouro_heap *h, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));
OURO__HIDDEN void ouro__fatal(const ouro_object *o, const char *what)
    __attribute__((noreturn));
static inline ouro_type *ouro__type(const ouro_object *o)
{
    return ouro__type_by_id(o->type_id);
}

/* o's references, through its type's traverse hook (none without one). */
static inline int ouro__traverse(ouro_object *o, ouro_visit_fn fn, void *arg)
{
    ouro_type *t = ouro__type(o);
    return t->traverse ? t->traverse(o, fn, arg) : 0;
}
/* The two kinds of finalizer (ouro_type.finalize).  A PEP 442 one
 * (CPython's tp_finalize) runs at most once per object (FINALIZED), on
 * death by reference counting or as cyclic trash.  A legacy one
 * (OURO_TYPE_LEGACY_DEL, CPython's tp_del) runs on every death by
 * reference counting, and cyclic trash that holds it is uncollectable: it
 * goes to gc.garbage instead. */
static inline bool ouro__has_pep442_del(const ouro_type *t)
{
    return t->finalize && !(t->flags & OURO_TYPE_LEGACY_DEL);
}
static inline bool ouro__has_legacy_del(const ouro_type *t)
{
    return t->finalize && (t->flags & OURO_TYPE_LEGACY_DEL);
}
/* Fault injection (cfg.fail_alloc_at, fixed at ouro_heap_new): whether the
 * allocation counted now is to fail. */
OURO__LAYER_API bool ouro__inject_alloc(ouro_heap *h);

/* ----- heap ownership (debug heaps): one thread at a time per heap.
 * ouro__check_owner is called at the heap's entry points (allocation,
 * collection, the decref slow path, raw frees, checked reference
 * operations); it costs nothing in a release heap beyond the test of
 * cfg.debug that those paths already make, and in a debug heap a
 * pthread_self() and a compare. */
OURO__LAYER_API void ouro__owner_slow(ouro_heap *h);
static inline void ouro__check_owner(ouro_heap *h)
{
    if (OURO__UNLIKELY(h->cfg.debug >= OURO_DEBUG_CHECKS) &&
        (!h->owned || !pthread_equal(h->owner, pthread_self())))
        ouro__owner_slow(h);
}
/* Whether an allocation that brings generation 0's count to `count` starts
 * an automatic collection (object.c's new_slow, shared.c's shared_new_slow
 * with the thread's young count; their fast paths ask before counting).
 * The count first: the test fails on all but one allocation in
 * young_threshold. */
static inline bool ouro__young_collection_due(const ouro_heap *h, long count)
{
    return count > h->young_threshold && h->enabled && h->gen[0].threshold &&
           !h->collecting && !h->freeing;
}
/* Whether obj_slow must be set: recomputed when alloc_slow or h->tracer
 * changes. */
static inline void ouro__obj_slow_update(ouro_heap *h)
{
    h->obj_slow = h->alloc_slow || h->tracer != NULL;
    h->shared_obj_slow = h->tracer != NULL || h->cfg.debug >= OURO_DEBUG_CHECKS;
}

/* Whether alloc_slow must be set: recomputed when cfg changes. */
static inline void ouro__alloc_slow_update(ouro_heap *h)
{
    h->alloc_slow = h->cfg.fail_alloc_at != 0 || h->cfg.debug >= OURO_DEBUG_CHECKS ||
                    h->shared != NULL;
    ouro__obj_slow_update(h);
}

/* Every allocation entry point starts with this: in a debug heap, check
 * the calling thread; with fault injection on, count the allocation and,
 * when it is to fail, set OURO_ENOMEM. */
static inline bool ouro__alloc_fails(ouro_heap *h)
{
    if (OURO__LIKELY(!h->alloc_slow))
        return false;
    ouro__check_owner(h);
    if (h->cfg.fail_alloc_at == 0)
        return false;
    if (OURO__UNLIKELY(h->teardown)) {
        h->last_error = OURO_EBUSY;
        return true;
    }
    h->allocs++;
    if (!ouro__inject_alloc(h))
        return false;
    h->last_error = OURO_ENOMEM;
    return true;
}

/* ----- one heap per object graph.  A reference from an object of one
 * heap to an object of another would dangle when the other heap is freed,
 * and the collector, which computes gc_refs over one heap's lists, would
 * decrement counts of objects it does not own.  Every place that stores a
 * reference into an object (container stores, constructors that take
 * objects, weak containers) calls this first with the heap of the object
 * stored into.  A foreign object aborts in a debug heap, with a message
 * naming both heaps; in a release heap the store is refused with
 * OURO_EINVAL: bad input, which never aborts a release heap.  The compare
 * costs one load from the stored object's pool header, on paths that are
 * not the reference operations themselves. */
OURO__LAYER_API void ouro__foreign_fatal(ouro_heap *h, const ouro_object *o, const char *what)
    __attribute__((noreturn));
static inline int ouro__check_same_heap(ouro_heap *h, const ouro_object *o, const char *what)
{
    if (OURO__LIKELY(o == NULL || ouro__heap_of(o) == h))
        return 0;
    if (h->cfg.debug >= OURO_DEBUG_CHECKS)
        ouro__foreign_fatal(h, o, what);
    return OURO_EINVAL;
}

/* ----- collector (gc.c) */
OURO__HIDDEN void ouro__gc_init(ouro_heap *h);
OURO__LAYER_API void ouro__gc_untrack(ouro_heap *h, ouro_object *o);

/* Unlink from its list (inline: every tracked deallocation does it). */
/* An object with OURO__F_COUNTED flags `of` leaves its generation: it no
 * longer weighs on the next collection of the middle generation (MIDDLE)
 * or on the next full one (PENDING).  The caller clears the flags. */
static inline void ouro__gc_uncount(ouro_heap *h, uint16_t of)
{
    if (of & OURO__F_PENDING) {
        if (h->long_lived_pending)
            h->long_lived_pending--;
    } else if (of & OURO__F_MIDDLE) {
        if (h->middle_live)
            h->middle_live--;
    }
}

static inline void ouro__gc_untrack_fast(ouro_heap *h, ouro_object *o)
{
    if (OURO__UNLIKELY(o->flags & OURO__F_SLOW_UNTRACK)) {
        ouro__gc_untrack(h, o);
        return;
    }
    ouro_object *prev = ouro__obj_of(h, o->gc_prev), *next = ouro__obj_of(h, o->gc_next);
    prev->gc_next = o->gc_next;
    next->gc_prev = o->gc_prev;
    o->gc_next = 0;
    o->flags &= (uint16_t)~(OURO__F_COLLECTING | OURO__F_UNREACHABLE | OURO__F_INCR);
}

/* Append `o`, whose compressed reference is `r`, to generation 0. */
static inline void ouro__gc_track_ref(ouro_heap *h, ouro_object *o, uint32_t r)
{
    ouro_object *head = &h->lists[0];
    uint32_t hr = ouro__head_ref(h, head);
    uint32_t lr = head->gc_prev;
    ouro_object *last = ouro__obj_of(h, lr);
    last->gc_next = r;
    o->gc_prev = lr;
    o->gc_next = hr;
    head->gc_prev = r;
}

/* Append to generation 0 (inline: every tracked allocation does it). */
static inline void ouro__gc_track(ouro_heap *h, ouro_object *o)
{
    ouro__gc_track_ref(h, o, ouro__obj_ref(h, o));
}
OURO__HIDDEN void ouro__gc_maybe_collect(ouro_heap *h);
/* incremental.c */
OURO__HIDDEN bool ouro__inc_start(ouro_heap *h);
OURO__HIDDEN int ouro__inc_work(ouro_heap *h, long budget, long *collected, long *uncollectable);
OURO__HIDDEN void ouro__inc_abandon(ouro_heap *h);
OURO__HIDDEN int ouro__inc_check(ouro_heap *h);
OURO__HIDDEN void ouro__inc_release(ouro_heap *h);
OURO__HIDDEN void ouro__inc_scrub(ouro_heap *h, uint32_t n);
OURO__HIDDEN void ouro__inc_cursor_leaves(ouro_heap *h, ouro_object *o);
/* gc.c, for incremental.c: CPython's exact collection of the objects on
 * `list` (the steps of a collection after the first), survivors to
 * `old`.  Returns how many of them it found reachable; *collected and
 * *uncollectable as a collection counts them. */
OURO__HIDDEN size_t ouro__gc_collect_list(ouro_heap *h, ouro_object *list, ouro_object *old,
                                          long *collected, long *uncollectable);
OURO__HIDDEN int ouro__gc_check(ouro_heap *h);
OURO__HIDDEN void ouro__list_init(ouro_heap *h, ouro_object *head);
OURO__HIDDEN void ouro__list_append(ouro_heap *h, ouro_object *o, ouro_object *head);
OURO__HIDDEN void ouro__list_remove(ouro_heap *h, ouro_object *o);
OURO__HIDDEN void ouro__list_move(ouro_heap *h, ouro_object *o, ouro_object *head);
OURO__HIDDEN void ouro__list_prepend(ouro_heap *h, ouro_object *o, ouro_object *head);
OURO__HIDDEN void ouro__list_merge(ouro_heap *h, ouro_object *from, ouro_object *to);
OURO__HIDDEN bool ouro__list_empty(ouro_heap *h, ouro_object *head);
OURO__HIDDEN size_t ouro__list_size(ouro_heap *h, ouro_object *head);

/* ----- weak references (weakref.c) */
OURO__HIDDEN extern ouro_type ouro__weakref_type;
OURO__HIDDEN void ouro__weak_clear_refs(ouro_heap *h, ouro_object *o);
/* The weak reference after wr in its referent's list, or NULL. */
OURO__HIDDEN ouro_object *ouro__weak_next(ouro_object *wr);
OURO__HIDDEN void ouro__weak_clear_silently(ouro_heap *h, ouro_object *o);
OURO__HIDDEN ouro_object **ouro__weak_listptr(ouro_heap *h, ouro_object *o, bool create);
OURO__HIDDEN void ouro__weak_fini(ouro_heap *h);
/* Objects with an entry in the weak-list table (the heap checker). */
OURO__HIDDEN size_t ouro__weak_table_count(ouro_heap *h);
/* Collector support. */
OURO__HIDDEN ouro_object *ouro__weak_head(ouro_heap *h, ouro_object *o);
OURO__HIDDEN bool ouro__weakref_has_callback(ouro_object *wr);
OURO__HIDDEN void ouro__weakref_clear_ref(ouro_heap *h, ouro_object *wr);
OURO__HIDDEN void ouro__weakref_call(ouro_heap *h, ouro_object *wr);

/* ----- allocation tracing hooks (set by src/inspect)
 *
 * When h->tracer is set, every block handed out or taken back passes through
 * it: objects (raw = 0) from ouro_new*, raw blocks (raw = 1) from
 * ouro_raw_*.  `file`, `line` and `func` are the allocation site captured
 * by the ouro_new / ouro_raw_alloc macros (NULL/0 when unknown); when that
 * is a line of ouro itself and h->site is set, the tracer names h->site.  The
 * tracer's own memory must not come from the heap (measuring must not
 * change what is measured). */
typedef struct ouro__tracer {
    /* Both find the block's size from its chunk header; on_alloc returns
     * `block`, so that the core can tail-call it. */
    void *(*on_alloc)(ouro_heap *h, void *block, int raw, const char *file, int line,
                      const char *func);
    void (*on_free)(ouro_heap *h, void *block, int raw);
    /* Called by ouro_heap_free once the finalize registry, the scopes and
     * gc.garbage have let go, with every leaked object still alive (before
     * the teardown runs their hooks): the tracer reports leaks by
     * allocation site and frees itself. */
    void (*on_heap_free)(ouro_heap *h);
    void *state;
    /* Sampling, tested inline by the core so that an allocation that is
     * not sampled costs a compare and a branch: with `sampling` set,
     * on_alloc runs only when the heap's bytes_alloc (bytes handed out
     * ever, the sampling clock) has reached h->trace_at, and on_free only
     * for blocks whose hash byte in `sample_filter` is non-zero (some
     * sampled block has that hash).  An allocation the pools did not see
     * (a free-list reuse) moves trace_at instead (ouro__trace_unpooled). */
    int sampling;
    const uint8_t *sample_filter;
} ouro__tracer;

#define OURO__TRACE_FILTER_BITS 15
static inline size_t ouro__trace_filter_bit(uintptr_t block)
{
    return (size_t)((block >> 4) ^ (block >> (4 + OURO__TRACE_FILTER_BITS))) &
           ((1u << OURO__TRACE_FILTER_BITS) - 1);
}

/* The core's tracing fields with no tracer (ouro_heap_new, and
 * ouro_trace_stop): no allocation is traced, and raw frees take the slow
 * path only for debug checks. */
static inline void ouro__trace_fields_off(ouro_heap *h)
{
    h->trace_at = SIZE_MAX;
    h->slow_free = h->cfg.debug >= OURO_DEBUG_CHECKS || h->shared != NULL;
}

/* The sampling clock (ouro__tracer): bytes handed out. */
static inline size_t ouro__trace_clock(const ouro_heap *h)
{
    return OURO__UNLIKELY(h->shared != NULL) ? h->shared->trace_clock : h->ta0.bytes_alloc;
}

/* Where the calling thread's program site is held (src/types/site.c,
 * read by the tracer): the heap's, or on a shared heap the thread's own
 * (a thread not attached gets a slot of its own that nothing reads). */
OURO__LAYER_API ouro__site *ouro__shared_site(ouro_heap *h);
static inline ouro__site *ouro__site_of(ouro_heap *h)
{
    return OURO__LIKELY(h->shared == NULL) ? &h->site : ouro__shared_site(h);
}

/* The tracer's tables are read (src/inspect) between these: on a shared
 * heap they hold trace_lock against the hooks of other threads; nothing
 * between them may stop the world or park.  No-ops on other heaps. */
OURO__LAYER_API void ouro__trace_lock(ouro_heap *h);
OURO__LAYER_API void ouro__trace_unlock(ouro_heap *h);

/* After an allocation the pools counted: untraced, or sampling with no
 * sample due, costs one compare (see trace_at).  Returns `block`, so that
 * the caller can tail-call it. */
static inline void *ouro__trace_alloc(ouro_heap *h, void *block, int raw, const char *file,
                                      int line, const char *func)
{
    if (OURO__LIKELY(h->ta0.bytes_alloc < h->trace_at))
        return block;
    return h->tracer->on_alloc(h, block, raw, file, line, func);
}

/* A traced allocation of `size` bytes that bytes_alloc did not count (the
 * block came from a free list): the sampling clock advances all the same. */
static inline void ouro__trace_unpooled(ouro_heap *h, size_t size)
{
    if (h->tracer->sampling)
        h->trace_at = h->trace_at - h->ta0.bytes_alloc > size ? h->trace_at - size : h->ta0.bytes_alloc;
}

static inline void ouro__trace_free(ouro_heap *h, void *block, int raw)
{
    ouro__tracer *t = h->tracer;
    if (t->sampling && OURO__LIKELY(!t->sample_filter[ouro__trace_filter_bit((uintptr_t)block)]))
        return;
    t->on_free(h, block, raw);
}

/* ----- hooks of the layer above (src/types)
 *
 * The core calls upward only through this table, which the built-in types
 * install in a heap (ouro__heap_set_types) the first time they use it; a
 * heap that never made a built-in object has none, and the core then skips
 * each call.  Like h->tracer, it is a run-time setting of one heap: no
 * link-time tricks, and two heaps never see each other's.
 *
 * Free lists: types flagged OURO__TYPE_FREELIST offer each dying block to
 * `keep` (true: kept, not freed) and take blocks back through `take` (NULL:
 * none kept). */
#define OURO__TYPE_FREELIST (1u << 30)
/* Set by ouro on a collector-tracked type whose objects are a bare
 * 16-byte header (the 16-byte class; 17 to 31 bytes take the 32-byte
 * class anyway): its allocations take the general path, which gives
 * tracked objects blocks of 32 bytes at least, on every heap, so
 * that every one has a side count of its own (incremental.c).  Written
 * with the type's id, before the id is published. */
#define OURO__TYPE_SMALLGC (1u << 29)
/* The least block of a collector-tracked object. */
#define OURO__GC_MIN_BLOCK 32
/* Whether a tracked object of `size` bytes would get a smaller block. */
static inline bool ouro__gc_block_short(size_t size) { return size <= sizeof(ouro_object); }
typedef struct ouro__types_hooks {
    ouro_object *(*take)(ouro_heap *h, ouro_type *t, size_t size);
    bool (*keep)(ouro_heap *h, ouro_object *o);
    /* After every full collection, as CPython clears its free lists then. */
    void (*clear_freelists)(ouro_heap *h);
    /* Untrack the tuples (and, in full collections, dicts) among the
     * survivors on `young` that hold only atomic objects, as CPython 3.11
     * does; returns how many. */
    size_t (*untrack_survivors)(ouro_heap *h, ouro_object *young, bool full);
    /* First thing in ouro_heap_free, with every object still alive
     * (weakref.finalize's atexit calls; the registry lets go of the rest,
     * so that the leak reports that follow count only the user's). */
    void (*heap_free)(ouro_heap *h);
} ouro__types_hooks;

/* ----- process-wide heap hooks (hooks.c): run at the end of ouro_heap_new. */
OURO__HIDDEN void ouro__heap_hooks_run(ouro_heap *h);

/* Install the types' table and state in h (both stay until the heap is
 * freed; the state's memory is the types' own, from the heap's pools). */
static inline void ouro__heap_set_types(ouro_heap *h, const ouro__types_hooks *hooks, void *state)
{
    h->types_hooks = hooks;
    __atomic_store_n(&h->types, state, __ATOMIC_RELEASE); /* (a shared heap's threads) */
}

#endif
