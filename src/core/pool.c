/*
 * pool.c — the private heap: size-class pools in arenas, large blocks, and
 * the page source underneath.
 *
 * The design is obmalloc's.  Small requests are rounded up to a size class
 * (16-byte steps to 512 bytes, then eight coarser classes to 2 KiB).  Each
 * class has a list of partially used pools; a pool is a 16 KiB slab of one
 * class with a free list threaded through its free blocks.  Pools are carved
 * from 1 MiB arenas.  Allocation takes new pools from the arena with the
 * fewest free pools, so that nearly empty arenas drain and can be returned
 * to the page source once their last pool empties: that is what makes RSS
 * fall after a program frees what it allocated.
 *
 * An arena that empties is not returned at once, though: it goes on the
 * heap's empty list, and a new arena is taken from there before the page
 * source is asked.  A program that builds and drops a 16 MiB structure over
 * and over would otherwise map, fault in and unmap the same 16 arenas every
 * time (binary-trees did: 12x mimalloc's page faults, 30% of its time with
 * the collector off).  An empty arena goes back when it has waited longer
 * than the heap's decay, counted in bytes allocated since it emptied
 * (cfg.decay_bytes) or in milliseconds (cfg.decay_ms): the decay check runs
 * at slow-path points only (pool and arena events, large blocks,
 * collections), so there is no thread and the fast paths pay nothing.
 * The list is newest first and its stamps are monotonic, so reuse takes
 * the warmest arena from the head and the check releases from the tail
 * until it finds one still young: O(1) when nothing is due.
 *
 * Costs: the fast path of allocation is a class lookup, a load of the
 * class's first pool and a pop from its free list (about 10 instructions);
 * freeing is a mask to find the pool, a push, and list surgery only when a
 * pool changes between full, partial and empty.
 *
 * The free-list link of a free block is stored at offset 8, not 0, so that a
 * freed object keeps its refcnt/type words, which debug builds overwrite
 * with a marker that names the misuse of a freed object.
 */
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* ------------------------------------------------------------ page source */

static void *mmap_alloc(void *ctx, size_t size)
{
    (void)ctx;
    /* Map extra and trim so that the result is POOL_SIZE-aligned. */
    size_t extra = OURO__POOL_SIZE;
    uint8_t *p = mmap(NULL, size + extra, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + OURO__POOL_SIZE - 1) & ~(uintptr_t)(OURO__POOL_SIZE - 1);
    size_t head = a - (uintptr_t)p;
    if (head)
        munmap(p, head);
    if (extra - head)
        munmap((uint8_t *)a + size, extra - head);
    return (void *)a;
}

static void mmap_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    munmap(p, size);
}

OURO__HIDDEN void ouro__default_pages(ouro_page_source *ps)
{
    ps->alloc = mmap_alloc;
    ps->free = mmap_free;
    ps->ctx = NULL;
}

static bool inject(uint64_t count, uint64_t at, uint64_t every)
{
    if (at == 0 || count < at)
        return false;
    if (count == at)
        return true;
    return every != 0 && (count - at) % every == 0;
}

void *ouro__pages_alloc(ouro_heap *h, size_t size)
{
    h->page_requests++;
    if (inject(h->page_requests, h->cfg.fail_page_at, h->cfg.fail_page_every))
        return NULL;
    void *p = h->cfg.pages.alloc(h->cfg.pages.ctx, size);
    if (p && ((uintptr_t)p & (OURO__POOL_SIZE - 1))) {
        /* A page source that breaks its contract: refuse the memory rather
         * than corrupt the heap later. */
        ouro__report(h, "ouro: page source returned %p, not 16 KiB-aligned\n", p);
        h->cfg.pages.free(h->cfg.pages.ctx, p, size);
        return NULL;
    }
    if (p) {
        h->st.mapped_bytes += size;
        if (h->st.mapped_bytes > h->st.peak_mapped_bytes)
            h->st.peak_mapped_bytes = h->st.mapped_bytes;
    }
    return p;
}

/* Page-source memory that will be read before it is written (the
 * collector's side tables): zeroed, and made resident in one call when it
 * comes from the default source (anonymous mappings are zero already;
 * touched page by page, a page faults twice, once for the shared zero page
 * read and once for its copy at the first write).  Returns NULL as
 * ouro__pages_alloc does. */
void *ouro__pages_alloc_zeroed(ouro_heap *h, size_t size, bool resident)
{
    void *p = ouro__pages_alloc(h, size);
    if (!p)
        return NULL;
    if (h->cfg.pages.alloc != mmap_alloc)
        memset(p, 0, size);
    else if (resident)
        (void)madvise(p, size, MADV_POPULATE_WRITE); /* a hint: may fail on old kernels */
    return p;
}

void ouro__pages_free(ouro_heap *h, void *p, size_t size)
{
    h->st.mapped_bytes -= size;
    h->cfg.pages.free(h->cfg.pages.ctx, p, size);
}

/* ------------------------------------------------------------ size classes */

static const uint32_t medium_sizes[] = {640, 768, 896, 1024, 1280, 1536, 1792, 2048};
#define NUM_SMALL (OURO__SMALL_MAX / 16)
#define NUM_CLASSES (NUM_SMALL + (int)(sizeof medium_sizes / sizeof medium_sizes[0]))

_Static_assert(NUM_CLASSES == OURO_NUM_CLASSES, "class count");
_Static_assert(sizeof(ouro__pool) <= OURO__POOL_HEADER, "pool header");
_Static_assert(sizeof(ouro__large) % 16 == 0, "large header alignment");

/* (size - 1) / 128 to class, for sizes 513..2048: every medium size is a
 * multiple of 128. */
#define M(i) (NUM_SMALL + (i))
const uint8_t ouro__medium_class[OURO__MEDIUM_MAX / 128] = {
    0, 0, 0, 0, M(0), M(1), M(2), M(3), M(4), M(4), M(5), M(5), M(6), M(6), M(7), M(7)};
#undef M
_Static_assert(OURO__MEDIUM_MAX == 2048 && sizeof medium_sizes / sizeof medium_sizes[0] == 8,
               "ouro__medium_class follows medium_sizes");

static inline int size_class(size_t size)
{
    if (OURO__LIKELY(size <= OURO__SMALL_MAX))
        return size == 0 ? 0 : (int)((size - 1) >> 4);
    if (size <= OURO__MEDIUM_MAX)
        return ouro__medium_class[(size - 1) >> 7];
    return -1;
}

OURO__HIDDEN size_t ouro__class_size(int c)
{
    return c < NUM_SMALL ? (size_t)(c + 1) * 16 : medium_sizes[c - NUM_SMALL];
}

/* ------------------------------------------------------------ arena table */

static int slot_get(ouro_heap *h, uint32_t *out)
{
    if (h->nslot_free) {
        *out = h->slot_free[--h->nslot_free];
        return 0;
    }
    if (h->slot_top >= OURO__MAX_ARENAS)
        return OURO_ELIMIT;
    *out = h->slot_top++;
    return 0;
}

static void slot_put(ouro_heap *h, uint32_t index)
{
    h->slot_base[index] = NULL;
    h->slot_free[h->nslot_free++] = index;
}

/* ------------------------------------------------------------ free lists */

static inline uint8_t *link_get(uint8_t *block)
{
    uint8_t *next;
    OURO__UNPOISON(block + 8, 8);
    OURO__VG_DEFINED(block + 8, 8);
    memcpy(&next, block + 8, sizeof next);
    OURO__POISON(block + 8, 8);
    OURO__VG_NOACCESS(block + 8, 8);
    return next;
}

static inline void link_set(uint8_t *block, uint8_t *next)
{
    OURO__UNPOISON(block + 8, 8);
    OURO__VG_UNDEFINED(block + 8, 8);
    memcpy(block + 8, &next, sizeof next);
    OURO__POISON(block + 8, 8);
    OURO__VG_NOACCESS(block + 8, 8);
}

/* ------------------------------------------------------------ arenas */

/* Keep usable_arenas sorted by nfreepools ascending after `a`'s count grew
 * by one: move it right past arenas with fewer free pools. */
static void arena_resort(ouro_heap *h, ouro__arena *a)
{
    ouro__arena *next = a->nextarena;
    if (!next || next->nfreepools >= a->nfreepools)
        return;
    /* unlink */
    if (a->prevarena)
        a->prevarena->nextarena = next;
    else
        h->usable_arenas = next;
    next->prevarena = a->prevarena;
    /* find the insertion point */
    ouro__arena *p = next;
    while (p->nextarena && p->nextarena->nfreepools < a->nfreepools)
        p = p->nextarena;
    a->nextarena = p->nextarena;
    a->prevarena = p;
    if (p->nextarena)
        p->nextarena->prevarena = a;
    p->nextarena = a;
}

static void arena_unlink(ouro_heap *h, ouro__arena *a)
{
    if (a->prevarena)
        a->prevarena->nextarena = a->nextarena;
    else
        h->usable_arenas = a->nextarena;
    if (a->nextarena)
        a->nextarena->prevarena = a->prevarena;
    a->nextarena = a->prevarena = NULL;
}

static void large_kept_release(ouro_heap *h, ouro__large *L);
static void empty_unlink(ouro_heap *h, ouro__arena *a);
static void arena_release(ouro_heap *h, ouro__arena *a);

/* Memory from the page source for an arena or a large block.  When the
 * source refuses, what the heap keeps for reuse goes back first (the
 * freed large blocks and the empty arenas: a new arena is asked for only
 * when no arena is empty) and the request is made once more: memory kept
 * to save a system call must not make an allocation fail. */
static void *pages_alloc_or_shed(ouro_heap *h, size_t size)
{
    void *p = ouro__pages_alloc(h, size);
    if (p || (!h->large_kept_oldest && !h->empty_oldest))
        return p;
    while (h->large_kept_oldest)
        large_kept_release(h, h->large_kept_oldest);
    ouro__arena *a;
    while ((a = h->empty_oldest) != NULL) {
        empty_unlink(h, a);
        arena_release(h, a);
    }
    return ouro__pages_alloc(h, size);
}

static ouro__arena *arena_new(ouro_heap *h)
{
    uint32_t index;
    if (slot_get(h, &index) < 0)
        return NULL;
    uint8_t *base = pages_alloc_or_shed(h, OURO__ARENA_SIZE);
    if (!base) {
        slot_put(h, index);
        return NULL;
    }
    ouro__arena *a = &h->arenas[index];
    memset(a, 0, sizeof *a);
    a->base = base;
    a->index = index;
    a->live = 1;
    a->nfreepools = OURO__POOLS_PER_ARENA;
    h->slot_base[index] = base;
    h->st.arenas++;
    h->st.arenas_allocated++;
    if (h->st.arenas > h->st.peak_arenas)
        h->st.peak_arenas = h->st.arenas;
    /* Pools are announced to the tools only when blocks are handed out. */
    OURO__POISON(base, OURO__ARENA_SIZE);
    OURO__VG_NOACCESS(base, OURO__ARENA_SIZE);
    return a;
}

static void arena_release(ouro_heap *h, ouro__arena *a)
{
    OURO__UNPOISON(a->base, OURO__ARENA_SIZE);
    ouro__pages_free(h, a->base, OURO__ARENA_SIZE);
    a->live = 0;
    slot_put(h, a->index);
    h->st.arenas--;
    h->st.arenas_released++;
}

/* ------------------------------------------------------------ decay */

/* The decay clock.  CLOCK_MONOTONIC_COARSE is a vDSO read of the last tick
 * (a few ns, 1-4 ms resolution): plenty for a decay of seconds, and read
 * only at decay checks while some arena waits, never on a fast path. */
static uint64_t decay_now(ouro_heap *h)
{
    if (h->cfg.clock_ms)
        return h->cfg.clock_ms(h->cfg.clock_ctx);
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool decay_timed(const ouro_heap *h) { return h->cfg.decay_ms != OURO_DECAY_NEVER; }

/* The decay's allocation clock: the bytes the heap has handed out.  A
 * shared heap's threads count their blocks each on their own, so its clock
 * is the bytes of pools and large blocks taken, counted under its lock. */
static size_t decay_clock(const ouro_heap *h)
{
    return h->shared ? h->shared->pool_bytes : h->ta0.bytes_alloc;
}

/* The arena is wholly free: put it at the head of the empty list, stamped
 * now.  It must be on no other list. */
static void empty_push(ouro_heap *h, ouro__arena *a)
{
    a->empty_bytes_at = decay_clock(h);
    a->empty_ms_at = decay_timed(h) ? decay_now(h) : 0;
    a->prevarena = NULL;
    a->nextarena = h->empty_arenas;
    if (a->nextarena)
        a->nextarena->prevarena = a;
    else
        h->empty_oldest = a;
    h->empty_arenas = a;
    h->st.empty_arenas++;
}

static void empty_unlink(ouro_heap *h, ouro__arena *a)
{
    if (a->prevarena)
        a->prevarena->nextarena = a->nextarena;
    else
        h->empty_arenas = a->nextarena;
    if (a->nextarena)
        a->nextarena->prevarena = a->prevarena;
    else
        h->empty_oldest = a->prevarena;
    a->nextarena = a->prevarena = NULL;
    h->st.empty_arenas--;
}

/* Is something stamped (bytes_at, ms_at) past the decay at clocks (now_b,
 * now_ms)?  An empty arena or a kept large block. */
static bool stamp_due(const ouro_heap *h, size_t bytes_at, uint64_t ms_at, size_t now_b,
                      uint64_t now_ms)
{
    if (h->cfg.decay_bytes != OURO_DECAY_NEVER && now_b - bytes_at >= h->cfg.decay_bytes)
        return true;
    return decay_timed(h) && now_ms - ms_at >= h->cfg.decay_ms;
}

static bool decay_due(const ouro_heap *h, const ouro__arena *a, size_t now_b, uint64_t now_ms)
{
    return stamp_due(h, a->empty_bytes_at, a->empty_ms_at, now_b, now_ms);
}

static bool large_due(const ouro_heap *h, const ouro__large *L, size_t now_b, uint64_t now_ms)
{
    return stamp_due(h, L->kept_bytes_at, L->kept_ms_at, now_b, now_ms);
}

void ouro__pool_decay_slow(ouro_heap *h)
{
    size_t now_b = decay_clock(h);
    uint64_t now_ms = decay_timed(h) ? decay_now(h) : 0;
    ouro__arena *a;
    while ((a = h->empty_oldest) != NULL && decay_due(h, a, now_b, now_ms)) {
        empty_unlink(h, a);
        arena_release(h, a);
    }
    ouro__large *L;
    while ((L = h->large_kept_oldest) != NULL && large_due(h, L, now_b, now_ms))
        large_kept_release(h, L);
    h->decay_seen_bytes = now_b;
    h->decay_seen_ms = now_ms;
}

int ouro_heap_set_decay(ouro_heap *h, uint64_t decay_bytes, uint64_t decay_ms)
{
    if (!h)
        return OURO_EINVAL;
    ouro__lock(h);
    h->cfg.decay_bytes = decay_bytes;
    h->cfg.decay_ms = decay_ms;
    ouro__pool_decay(h);
    ouro__unlock(h);
    return 0;
}

/* A pool taken from the arenas (a free pool of the fullest usable arena,
 * or a new one carved), its header's arena fields set; NULL when out of
 * memory.  Under a shared heap's lock; the caller counts it in the stats
 * (pool_counted). */
static ouro__pool *pool_carve_locked(ouro_heap *h)
{
    ouro__arena *a = h->usable_arenas;
    if (!a) {
        /* The newest empty arena first: its pages are the likeliest to be
         * resident still. */
        a = h->empty_arenas;
        if (a)
            empty_unlink(h, a);
        else if (!(a = arena_new(h)))
            return NULL;
        h->usable_arenas = a;
    }
    ouro__pool *pool;
    if (a->freepools) {
        /* a free pool's header stayed accessible and defined */
        pool = a->freepools;
        a->freepools = pool->nextpool;
    } else {
        pool = (ouro__pool *)(a->base + (size_t)a->npools_carved * OURO__POOL_SIZE);
        a->npools_carved++;
        OURO__UNPOISON(pool, OURO__POOL_HEADER);
        OURO__VG_UNDEFINED(pool, OURO__POOL_HEADER);
    }
    a->nfreepools--;
    if (a->nfreepools == 0)
        arena_unlink(h, a);
    pool->c.index = a->index;
    pool->ref_lo = (uint16_t)(((uint8_t *)pool - a->base) >> 4);
    return pool;
}

/* A carved pool counted as one of class c (under a shared heap's lock). */
static void pool_counted(ouro_heap *h, int c)
{
    h->st.class_pools[c]++;
    if (h->shared)
        h->shared->pool_bytes += OURO__POOL_SIZE;
}

/* An empty pool's state as new: no block handed out, blocks handed out in
 * address order from its start, clean (its shared words, if any, are 0). */
static void pool_fresh(ouro__pool *pool)
{
    pool->nalloc = pool->nfree = 0;
    pool->nextoffset = (uint16_t)(OURO__POOL_HEADER + pool->block_size);
    pool->freeblock = (uint8_t *)pool + OURO__POOL_HEADER;
    link_set(pool->freeblock, NULL);
    __atomic_store_n(&pool->brc_used, 0, __ATOMIC_RELAXED);
}

/* A carved pool set up, empty, as a pool of class c for `ta` (no lock:
 * the pool is nobody else's yet). */
static void pool_init(ouro_heap *h, ouro__talloc *ta, ouro__pool *pool, int c, int raw)
{
    uint32_t size = (uint32_t)ouro__class_size(c);
    pool->c.heap = h;
    pool->c.kind = OURO__CHUNK_POOL;
    pool->szidx = (uint8_t)(c | (raw ? OURO__POOL_RAW : 0));
    pool->block_size = (uint16_t)size;
    pool->owner = ta->id;
    if (h->shared && !raw) {
        /* A shared heap's object pool keeps its objects' shared counts in
         * an array at its end (shared.c, brc_of). */
        pool->capacity =
            (uint16_t)((OURO__POOL_SIZE - OURO__POOL_HEADER) / (size + sizeof(ouro__brc)));
        size_t side = pool->capacity * sizeof(ouro__brc);
        OURO__UNPOISON((uint8_t *)pool + OURO__POOL_SIZE - side, side);
        OURO__VG_UNDEFINED((uint8_t *)pool + OURO__POOL_SIZE - side, side);
        /* zeroed: a block's entry is zero while it is free (shared.c) */
        memset((uint8_t *)pool + OURO__POOL_SIZE - side, 0, side);
    } else {
        pool->capacity = (uint16_t)((OURO__POOL_SIZE - OURO__POOL_HEADER) / size);
    }
    pool->maxnextoffset = (uint16_t)(OURO__POOL_HEADER + (pool->capacity - 1) * size);
    pool->nsampled = 0;
    pool_fresh(pool);
}

/* A pool onto its class's used list: first (a new pool, the list empty),
 * or last. */
static void pool_link_used(ouro__talloc *ta, ouro__pool *pool, int c, int raw)
{
    pool->prevpool = NULL;
    pool->nextpool = ta->usedpools[raw][c];
    if (pool->nextpool)
        pool->nextpool->prevpool = pool;
    else
        ta->usedlast[raw][c] = pool;
    ta->usedpools[raw][c] = pool;
}

static void pool_append_used(ouro__talloc *ta, ouro__pool *pool, int c, int raw)
{
    ouro__pool *last = ta->usedlast[raw][c];
    if (!last) {
        pool_link_used(ta, pool, c, raw);
        return;
    }
    pool->nextpool = NULL;
    pool->prevpool = last;
    last->nextpool = pool;
    ta->usedlast[raw][c] = pool;
}

/* A shared heap's thread keeps up to OURO__PCACHE_MAX empty pools of its
 * own (ouro__talloc.pcache) and takes or gives back OURO__PCACHE_BATCH at
 * a time under the heap's lock: two threads that build and drop trees
 * took the lock once per 16 KiB pool, and each waited for the other at
 * the futex about 2,000 times per binary-trees run (W11). */
enum { OURO__PCACHE_MAX = 64, OURO__PCACHE_BATCH = 8 };

static void pcache_push(ouro__talloc *ta, ouro__pool *pool, int c, int raw)
{
    pool->prevpool = NULL;
    pool->nextpool = ta->pcache[raw][c];
    ta->pcache[raw][c] = pool;
    ta->npcache++;
}

static ouro__pool *pcache_pop(ouro__talloc *ta, int c, int raw)
{
    ouro__pool *pool = ta->pcache[raw][c];
    if (pool) {
        ta->pcache[raw][c] = pool->nextpool;
        ta->npcache--;
    }
    return pool;
}

static void pcache_drop(ouro_heap *h, ouro__talloc *ta, uint32_t keep, int c, int raw);

/* Up to OURO__PCACHE_BATCH new pools of class c into ta's cache, under
 * one taking of the lock.  The cache holds no pool of class c (pool_new),
 * so a cache with no room for a batch holds other classes' pools: a batch
 * of those goes back to the arenas first.  (Filling only up to the bound
 * took nothing when the cache was full, and the allocation failed with
 * OURO_ENOMEM while the arenas had room: test_shared's
 * shared_full_pool_cache_still_gives_a_new_class_its_pool.) */
static void pcache_fill(ouro_heap *h, ouro__talloc *ta, int c, int raw)
{
    OURO__ASSERT(ta->pcache[raw][c] == NULL);
    if (ta->npcache > OURO__PCACHE_MAX - OURO__PCACHE_BATCH)
        pcache_drop(h, ta, OURO__PCACHE_MAX - OURO__PCACHE_BATCH, -1, 0);
    ouro__pool *got[OURO__PCACHE_BATCH];
    uint32_t want = OURO__PCACHE_MAX - ta->npcache, n = 0;
    if (want > OURO__PCACHE_BATCH)
        want = OURO__PCACHE_BATCH;
    ouro__lock(h);
    while (n < want && (got[n] = pool_carve_locked(h)) != NULL) {
        pool_counted(h, c);
        n++;
    }
    ouro__pool_decay(h);
    ouro__unlock(h);
    while (n > 0) {
        ouro__pool *pool = got[--n];
        pool_init(h, ta, pool, c, raw);
        pcache_push(ta, pool, c, raw);
    }
}

/* A fresh pool of class `c` for thread state `ta`, first on its class's
 * used list, or NULL when out of memory.  The arena part runs under a
 * shared heap's lock. */
static ouro__pool *pool_new(ouro_heap *h, ouro__talloc *ta, int c, int raw)
{
    ouro__pool *pool;
    if (h->shared) {
        if (!ta->pcache[raw][c])
            pcache_fill(h, ta, c, raw);
        pool = pcache_pop(ta, c, raw);
        if (!pool)
            return NULL;
    } else {
        pool = pool_carve_locked(h);
        if (!pool)
            return NULL;
        pool_counted(h, c);
        /* A pool event: a decay check (a load and a branch when no arena
         * is empty; once per 16 KiB of new pool at most). */
        ouro__pool_decay(h);
        pool_init(h, ta, pool, c, raw);
    }
    pool_link_used(ta, pool, c, raw);
    return pool;
}

static void pool_unlink_used(ouro__talloc *ta, ouro__pool *pool)
{
    if (pool->prevpool)
        pool->prevpool->nextpool = pool->nextpool;
    else
        ta->usedpools[ouro__pool_raw(pool)][ouro__pool_class(pool)] = pool->nextpool;
    if (pool->nextpool)
        pool->nextpool->prevpool = pool->prevpool;
    else
        ta->usedlast[ouro__pool_raw(pool)][ouro__pool_class(pool)] = pool->prevpool;
    pool->nextpool = pool->prevpool = NULL;
}

/* An empty pool, on no list, back to its arena, and the arena back to the
 * page source's decay when it has no used pool left.  Under a shared
 * heap's lock. */
static void pool_return_locked(ouro_heap *h, ouro__pool *pool)
{
    ouro__arena *a = &h->arenas[pool->c.index];
    h->st.class_pools[ouro__pool_class(pool)]--;
    pool->c.kind = 0;
    pool->nextpool = a->freepools;
    a->freepools = pool;
    /* The header stays readable (free-pool list); the blocks do not. */
    OURO__POISON((uint8_t *)pool + OURO__POOL_HEADER, OURO__POOL_SIZE - OURO__POOL_HEADER);
    OURO__VG_NOACCESS((uint8_t *)pool + OURO__POOL_HEADER, OURO__POOL_SIZE - OURO__POOL_HEADER);
    a->nfreepools++;
    if (a->nfreepools == 1) {
        /* was full, so not on usable_arenas: now the fullest usable one */
        a->prevarena = NULL;
        a->nextarena = h->usable_arenas;
        if (a->nextarena)
            a->nextarena->prevarena = a;
        h->usable_arenas = a;
    }
    if (a->nfreepools == OURO__POOLS_PER_ARENA) {
        arena_unlink(h, a);
        empty_push(h, a);
    } else {
        arena_resort(h, a);
    }
}

/* An empty pool, on no list, back to its arena now (pool_return_locked
 * with the lock taken, and a decay check). */
static void pool_to_arena(ouro_heap *h, ouro__pool *pool)
{
    ouro__lock(h);
    pool_return_locked(h, pool);
    ouro__pool_decay(h);
    ouro__unlock(h);
}

/* ta's cached pools given back to the arenas until `keep` remain, class c
 * of kind raw first (c < 0: any), under one taking of the lock. */
static void pcache_drop(ouro_heap *h, ouro__talloc *ta, uint32_t keep, int c, int raw)
{
    if (ta->npcache <= keep)
        return;
    ouro__lock(h);
    ouro__pool *pool;
    if (c >= 0)
        while (ta->npcache > keep && (pool = pcache_pop(ta, c, raw)) != NULL)
            pool_return_locked(h, pool);
    for (int r = 0; r < 2; r++)
        for (int k = 0; k < OURO_NUM_CLASSES; k++)
            while (ta->npcache > keep && (pool = pcache_pop(ta, k, r)) != NULL)
                pool_return_locked(h, pool);
    ouro__pool_decay(h);
    ouro__unlock(h);
}

void ouro__pcache_drop_all(ouro_heap *h, ouro__talloc *ta)
{
    pcache_drop(h, ta, 0, -1, 0);
}

/* An empty pool made fresh again before it goes to its thread's cache: the
 * next owner hands out its blocks in address order from the start, as
 * from a new pool, not along the free list its last frees left (a
 * producer/consumer pair followed that list around the pool: 27 -> 40 ns
 * a block).  Its blocks' shared words are 0 (shared.c: a free block's
 * entry is), so the pool is clean again. */
static void pool_reset_empty(ouro__pool *pool)
{
    OURO__ASSERT(ouro__pool_ref(pool) == 0);
#if OURO_ASSERT_LEVEL >= 2
    if (!ouro__pool_raw(pool) && pool->c.heap->shared) {
        const ouro__brc *e = (const ouro__brc *)((uint8_t *)pool + OURO__POOL_SIZE);
        for (uint32_t k = 1; k <= pool->capacity; k++)
            OURO__ASSERT(e[-(int)k].shared == 0 && e[-(int)k].qlink == 0);
    }
#endif
    pool_fresh(pool);
}

/* The pool has no allocated block left: give it back to its arena, and the
 * arena back to the page source when it has no used pool left (a shared
 * heap: to the thread's cache first). */
static void pool_release(ouro_heap *h, ouro__talloc *ta, ouro__pool *pool)
{
    pool_unlink_used(ta, pool);
    if (h->shared && !h->teardown) {
        int c = ouro__pool_class(pool), raw = ouro__pool_raw(pool);
        pool_reset_empty(pool);
        pcache_push(ta, pool, c, raw);
        if (ta->npcache > OURO__PCACHE_MAX)
            pcache_drop(h, ta, OURO__PCACHE_MAX - OURO__PCACHE_BATCH, c, raw);
        return;
    }
    pool_to_arena(h, pool);
}

/* ------------------------------------------------------------ large blocks */

/*
 * Large blocks.  Each is a mapping of its own from the page source.  A
 * freed one of at most OURO__LARGE_KEEP_MAX bytes is kept, mapped, for the
 * next large allocation of about its size (up to a quarter more), as the
 * empty arenas are kept: until its decay, or until newer ones push it out
 * of the OURO__LARGE_KEEP (count) and OURO__LARGE_KEEP_BYTES (bytes)
 * bounds.  Unmapped at once, a 64 KiB block allocated and freed in a loop
 * cost three munmaps, an mmap and a page fault each time: 9.5 us a pair
 * against glibc's 26 ns (docs/performance.md, "Stop 30").  glibc keeps
 * such blocks in its heap up to its dynamic mmap threshold (32 MiB at
 * most), jemalloc and mimalloc in their extents and segments until their
 * decay.  Debug heaps keep none: a freed large block stays unmapped, so a
 * use after its free faults.
 */
#define OURO__LARGE_KEEP 16
#define OURO__LARGE_KEEP_MAX ((size_t)4 << 20)
#define OURO__LARGE_KEEP_BYTES ((size_t)32 << 20)

static void large_kept_unlink(ouro_heap *h, ouro__large *L)
{
    if (L->prev)
        L->prev->next = L->next;
    else
        h->large_kept = L->next;
    if (L->next)
        L->next->prev = L->prev;
    else
        h->large_kept_oldest = L->prev;
    L->next = L->prev = NULL;
    h->st.large_kept--;
    h->st.large_kept_bytes -= L->map_size;
}

/* A kept block's mapping back to the page source. */
static void large_kept_release(ouro_heap *h, ouro__large *L)
{
    large_kept_unlink(h, L);
    OURO__UNPOISON(L, L->map_size);
    ouro__pages_free(h, L, L->map_size);
}

/* Freed L (off large_blocks, its slot given back) kept, newest first, if
 * the bounds allow; else unmapped.  `checked`: a decay check has just run
 * (its clocks are now's, read once for both). */
static void large_keep(ouro_heap *h, ouro__large *L, bool checked)
{
    if (L->map_size > OURO__LARGE_KEEP_MAX || h->cfg.debug >= OURO_DEBUG_CHECKS ||
        (h->cfg.decay_bytes == 0 && h->cfg.decay_ms == 0)) {
        ouro__pages_free(h, L, L->map_size);
        return;
    }
    while (h->large_kept_oldest && (h->st.large_kept >= OURO__LARGE_KEEP ||
                                    h->st.large_kept_bytes + L->map_size > OURO__LARGE_KEEP_BYTES))
        large_kept_release(h, h->large_kept_oldest);
    L->kept_bytes_at = decay_clock(h);
    L->kept_ms_at = !decay_timed(h) ? 0 : checked ? h->decay_seen_ms : decay_now(h);
    OURO__POISON(L + 1, L->map_size - sizeof *L);
    L->prev = NULL;
    L->next = h->large_kept;
    if (L->next)
        L->next->prev = L;
    else
        h->large_kept_oldest = L;
    h->large_kept = L;
    h->st.large_kept++;
    h->st.large_kept_bytes += L->map_size;
}

/* A kept mapping of `map` to `map` + map / 4 bytes, the newest first, off
 * the kept list; or NULL. */
static ouro__large *large_take(ouro_heap *h, size_t map)
{
    for (ouro__large *L = h->large_kept; L; L = L->next)
        if (L->map_size >= map && L->map_size - map <= map / 4) {
            large_kept_unlink(h, L);
            return L;
        }
    return NULL;
}

static void *large_alloc(ouro_heap *h, ouro__talloc *ta, size_t size, int raw)
{
    if (size > ((size_t)1 << 46))
        return NULL;
    size_t map = (sizeof(ouro__large) + size + 4095) & ~(size_t)4095;
    uint32_t index;
    ouro__lock(h);
    if (slot_get(h, &index) < 0) {
        ouro__unlock(h);
        return NULL;
    }
    ouro__large *L = large_take(h, map);
    bool reused = L != NULL;
    if (L) {
        map = L->map_size;
        OURO__UNPOISON(L, sizeof *L);
    } else {
        L = pages_alloc_or_shed(h, map);
    }
    if (!L) {
        slot_put(h, index);
        ouro__unlock(h);
        return NULL;
    }
    L->c.heap = h;
    L->c.kind = OURO__CHUNK_LARGE;
    L->c.index = index;
    L->map_size = map;
    L->size = map - sizeof(ouro__large);
    L->raw = (uint32_t)raw;
    L->owner = ta->id;
    L->prev = NULL;
    L->next = h->large_blocks;
    if (L->next)
        L->next->prev = L;
    h->large_blocks = L;
    h->slot_base[index] = (uint8_t *)L;
    h->st.large_blocks++;
    h->st.large_bytes += L->size;
    if (h->shared)
        h->shared->pool_bytes += L->size;
    if (!reused) /* a new mapping: a decay check */
        ouro__pool_decay(h);
    ouro__unlock(h);
    return L + 1;
}

static void large_free(ouro_heap *h, ouro__large *L)
{
    ouro__lock(h);
    if (L->prev)
        L->prev->next = L->next;
    else
        h->large_blocks = L->next;
    if (L->next)
        L->next->prev = L->prev;
    h->st.large_blocks--;
    h->st.large_bytes -= L->size;
    slot_put(h, L->c.index);
    /* The decay check first: its clock reading stamps L if it is kept
     * (the clock is read once a pair, the reuse of a kept block reads it
     * not at all: three readings took a fifth of a 64 KiB pair). */
    large_keep(h, L, ouro__pool_decay(h));
    ouro__unlock(h);
}

/* ------------------------------------------------------------ blocks */

void *ouro__block_alloc(ouro_heap *h, size_t size, int raw)
{
    return ouro__block_alloc_ta(h, &h->ta0, size, raw);
}

void *ouro__block_alloc_ta(ouro_heap *h, ouro__talloc *ta, size_t size, int raw)
{
    int c = size_class(size);
    uint8_t *bp;
    size_t bsize;
    if (OURO__UNLIKELY(c < 0)) {
        bp = large_alloc(h, ta, size, raw);
        if (!bp)
            return NULL;
        bsize = ((ouro__large *)bp - 1)->size;
    } else {
        ouro__pool *pool = ta->usedpools[raw][c];
        if (OURO__UNLIKELY(!pool)) {
            pool = pool_new(h, ta, c, raw);
            if (!pool)
                return NULL;
        }
        /* Invariant: a pool on usedpools has a free block. */
        bp = pool->freeblock;
        pool->nalloc++;
        uint8_t *next = link_get(bp);
        if (next) {
            pool->freeblock = next;
        } else if (pool->nextoffset <= pool->maxnextoffset) {
            next = (uint8_t *)pool + pool->nextoffset;
            pool->nextoffset = (uint16_t)(pool->nextoffset + pool->block_size);
            link_set(next, NULL);
            pool->freeblock = next;
        } else {
            pool->freeblock = NULL; /* full: off the used list */
            pool_unlink_used(ta, pool);
        }
        bsize = pool->block_size;
    }
    OURO__UNPOISON(bp, bsize);
    OURO__VG_ALLOC(bp, bsize);
    ouro__count_alloc(ta, bsize);
    return bp;
}

size_t ouro__block_size(const void *p)
{
    return ouro__block_size_inline(p);
}

void ouro__block_free(ouro_heap *h, void *p)
{
    ouro__block_free_ta(h, &h->ta0, p);
}

void ouro__block_free_ta(ouro_heap *h, ouro__talloc *ta, void *p)
{
    ouro__chunk *ch = (ouro__chunk *)ouro__pool_of(p);
    if (ch->kind == OURO__CHUNK_LARGE) {
        ouro__large *L = (ouro__large *)ch;
        ouro__count_free(ta, L->size);
        OURO__VG_FREE(p);
        large_free(h, L);
        return;
    }
    ouro__pool *pool = (ouro__pool *)ch;
    /* Only a block this heap's pool handed out comes back to it. */
    OURO__ASSERT(ch->kind == OURO__CHUNK_POOL && ch->heap == h && pool->owner == ta->id);
    OURO__ASSERT(ouro__pool_ref(pool) > 0);
    uint8_t *bp = p;
    ouro__count_free(ta, pool->block_size);
    OURO__VG_FREE(bp);
    OURO__POISON(bp, pool->block_size);
    uint8_t *old = pool->freeblock;
    link_set(bp, old);
    pool->freeblock = bp;
    pool->nfree++;
    if (OURO__UNLIKELY(old == NULL)) {
        /* Was full: back on its class's used list, last.  Allocation
         * goes on from the first pool, and this one gathers the blocks
         * freed into it until allocation reaches it.  First (obmalloc's
         * choice: the fullest pool filled first), a program that frees
         * and allocates at random filled it again at once, and the next
         * free into a full pool brought one back: three allocations and
         * frees in four took the slow paths (W6 mixed sizes, 3x
         * mimalloc's time; docs/performance.md). */
        pool_append_used(ta, pool, (int)ouro__pool_class(pool), (int)ouro__pool_raw(pool));
        return;
    }
    if (OURO__UNLIKELY(ouro__pool_ref(pool) == 0)) {
        /* The last pool of its class stays, empty, on the used list: a
         * program that allocates and frees one block at a time would
         * otherwise give the pool back and set it up again every time.
         * At most one such pool per class (80 pools in all). */
        if (ouro__pool_alone(pool))
            return;
        pool_release(h, ta, pool);
    }
}

/* Debug builds: is this pool block on its pool's free list?  O(capacity). */
bool ouro__block_is_free(void *p)
{
    ouro__chunk *ch = (ouro__chunk *)ouro__pool_of(p);
    if (ch->kind != OURO__CHUNK_POOL)
        return false;
    ouro__pool *pool = (ouro__pool *)ch;
    if ((uint32_t)((uint8_t *)p - (uint8_t *)pool) >= pool->nextoffset)
        return true;
    uint32_t n = 0;
    for (uint8_t *b = pool->freeblock; b && n <= pool->capacity; b = link_get(b), n++)
        if (b == p)
            return true;
    return false;
}

/* ------------------------------------------------------------ lifecycle */

int ouro__pool_init(ouro_heap *h)
{
    (void)h;
    return 0;
}

#ifdef OURO_VALGRIND
static int vg_free_block(void *block, void *arg)
{
    (void)arg;
    (void)block;
    OURO__VG_FREE(block);
    return 0;
}
#endif

void ouro__pool_fini(ouro_heap *h)
{
#ifdef OURO_VALGRIND
    /* Blocks still allocated (leaks under IGNORE/WARN) are announced as
     * freed, or memcheck sees them overlap the blocks of a later heap that
     * gets the same addresses. */
    ouro__pool_walk(h, true, vg_free_block, NULL);
#endif
    while (h->large_blocks)
        large_free(h, h->large_blocks);
    while (h->large_kept_oldest)
        large_kept_release(h, h->large_kept_oldest);
    for (uint32_t i = 1; i < h->slot_top; i++) {
        ouro__arena *a = &h->arenas[i];
        if (a->live) {
            OURO__UNPOISON(a->base, OURO__ARENA_SIZE);
            ouro__pages_free(h, a->base, OURO__ARENA_SIZE);
            a->live = 0;
            h->st.arenas--;
            h->st.arenas_released++;
        }
    }
    h->usable_arenas = NULL;
    h->empty_arenas = h->empty_oldest = NULL;
    h->st.empty_arenas = 0;
    for (uint32_t i = 0; i < OURO__MAX_THREADS; i++)
        if (h->tallocs[i]) {
            memset(h->tallocs[i]->usedpools, 0, sizeof h->tallocs[i]->usedpools);
            memset(h->tallocs[i]->usedlast, 0, sizeof h->tallocs[i]->usedlast);
        }
}

/* ------------------------------------------------------------ trim */

size_t ouro_heap_trim(ouro_heap *h)
{
    /* Not while a collection or the teardown walks the pools: releasing a
     * pool or an arena under a walk would pull memory from under it. */
    if (!h || h->collecting || h->teardown)
        return 0;
    if (h->shared)
        return ouro__shared_trim(h);
    return ouro__pool_trim(h);
}

/* ouro_heap_trim's work; a shared heap's threads are stopped (or the
 * caller is the only one attached). */
size_t ouro__pool_trim(ouro_heap *h)
{
    size_t before = h->st.mapped_bytes;
    /* The pools each class keeps, empty, on its used list (at most one per
     * class and kind; not necessarily first on the list), of every thread
     * allocation state. */
    for (uint32_t i = 0; i < OURO__MAX_THREADS; i++) {
        ouro__talloc *ta = h->tallocs[i];
        if (!ta)
            continue;
        for (int raw = 0; raw < 2; raw++)
            for (int c = 0; c < OURO_NUM_CLASSES; c++)
                for (ouro__pool *pool = ta->usedpools[raw][c], *next; pool; pool = next) {
                    next = pool->nextpool;
                    if (ouro__pool_ref(pool) == 0) {
                        pool_unlink_used(ta, pool);
                        pool_to_arena(h, pool);
                        break;
                    }
                }
        ouro__pcache_drop_all(h, ta); /* a shared heap's cached pools */
    }
    ouro__lock(h);
    ouro__arena *a;
    while ((a = h->empty_oldest) != NULL) {
        empty_unlink(h, a);
        arena_release(h, a);
    }
    while (h->large_kept_oldest)
        large_kept_release(h, h->large_kept_oldest);
    ouro__inc_release(h); /* side tables kept for the next cycle */
    h->decay_seen_bytes = decay_clock(h);
    size_t freed = before - h->st.mapped_bytes;
    ouro__unlock(h);
    return freed;
}

/* ------------------------------------------------------------ walk, check */

/* Marks the free blocks of a pool in `bits`; returns how many, or -1 if the
 * free list is corrupt. */
int ouro__pool_free_bitmap(ouro__pool *pool, uint8_t *bits)
{
    int n = 0;
    uint32_t cap = pool->capacity;
    memset(bits, 0, (cap + 7) / 8);
    /* never-used blocks at and above nextoffset */
    for (uint32_t off = pool->nextoffset; off <= pool->maxnextoffset; off += pool->block_size) {
        uint32_t i = (off - OURO__POOL_HEADER) / pool->block_size;
        bits[i / 8] |= (uint8_t)(1u << (i % 8));
        n++;
    }
    for (uint8_t *b = pool->freeblock; b; b = link_get(b)) {
        size_t off = (size_t)(b - (uint8_t *)pool);
        if (off < OURO__POOL_HEADER || off >= pool->nextoffset ||
            (off - OURO__POOL_HEADER) % pool->block_size)
            return -1;
        uint32_t i = (uint32_t)((off - OURO__POOL_HEADER) / pool->block_size);
        if (i >= cap || (bits[i / 8] & (1u << (i % 8))))
            return -1; /* out of range, or on the list twice */
        bits[i / 8] |= (uint8_t)(1u << (i % 8));
        n++;
    }
    return n;
}

int ouro__pool_walk(ouro_heap *h, bool raw, int (*fn)(void *block, void *arg), void *arg)
{
    return ouro__pool_walk_inline(h, raw, fn, arg);
}

void ouro__stats_sync(ouro_heap *h, bool classes)
{
    size_t bytes = 0, peak = 0;
    for (uint32_t i = 0; i < OURO__MAX_THREADS; i++) {
        ouro__talloc *ta = h->tallocs[i];
        if (ta) {
            bytes += ta->bytes_alloc - ta->bytes_freed;
            peak += ta->peak_in_use;
        }
    }
    h->st.bytes_in_use = bytes;
    /* A shared heap's threads keep their peaks each: the sum bounds the
     * heap's peak from above. */
    h->st.peak_bytes_in_use = peak;
    h->st.objects = ouro__live_objects(h);
    if (!classes)
        return;
    memset(h->st.class_blocks, 0, sizeof h->st.class_blocks);
    ouro__arena *a;
    ouro__pool *pool;
    OURO__FOR_EACH_POOL(h, a, pool)
        h->st.class_blocks[ouro__pool_class(pool)] += ouro__pool_ref(pool);
}

int ouro__pool_check(ouro_heap *h)
{
    uint8_t bits[OURO__POOL_SIZE / 16 / 8];
    size_t pools[OURO_NUM_CLASSES] = {0};
    size_t arenas = 0, bytes = 0, empty = 0;
#define FAIL(...) do { ouro__report(h, __VA_ARGS__); return OURO_EINVAL; } while (0)
    ouro__stats_sync(h, false);
    for (uint32_t i = 1; i < h->slot_top; i++) {
        ouro__arena *a = &h->arenas[i];
        if (!a->live)
            continue;
        arenas++;
        if (h->slot_base[i] != a->base)
            FAIL("ouro_heap_check: arena %u: table base mismatch\n", i);
        uint32_t nfree = OURO__POOLS_PER_ARENA - a->npools_carved;
        for (ouro__pool *f = a->freepools; f; f = f->nextpool)
            nfree++;
        if (nfree != a->nfreepools)
            FAIL("ouro_heap_check: arena %u: nfreepools %u, counted %u\n", i, a->nfreepools, nfree);
        if (a->nfreepools == OURO__POOLS_PER_ARENA)
            empty++;
        for (uint32_t k = 0; k < a->npools_carved; k++) {
            ouro__pool *pool = ouro__arena_pool(a, k);
            if (!pool)
                continue;
            if (pool->c.kind != OURO__CHUNK_POOL || pool->c.heap != h || pool->c.index != i ||
                pool->ref_lo != (uint16_t)(k * (OURO__POOL_SIZE >> 4)))
                FAIL("ouro_heap_check: pool %p: bad header\n", (void *)pool);
            int nf = ouro__pool_free_bitmap(pool, bits);
            if (nf < 0)
                FAIL("ouro_heap_check: pool %p: corrupt free list\n", (void *)pool);
            uint32_t ref = ouro__pool_ref(pool);
            if (pool->nsampled > ref || (pool->nsampled && !h->tracer))
                FAIL("ouro_heap_check: pool %p: %u sampled blocks, %u allocated%s\n",
                     (void *)pool, (unsigned)pool->nsampled, ref,
                     h->tracer ? "" : ", not tracing");
            if (ref + (uint32_t)nf != pool->capacity)
                FAIL("ouro_heap_check: pool %p: ref %u + free %d != capacity %u\n",
                     (void *)pool, ref, nf, (unsigned)pool->capacity);
            if (pool->owner >= OURO__MAX_THREADS || !h->tallocs[pool->owner] ||
                (!h->shared && pool->owner != 0))
                FAIL("ouro_heap_check: pool %p: owner %u is no thread of the heap\n",
                     (void *)pool, (unsigned)pool->owner);
            bool on_list = false;
            ouro__talloc *ta = h->tallocs[pool->owner];
            for (ouro__pool *u = ta->usedpools[ouro__pool_raw(pool)][ouro__pool_class(pool)]; u; u = u->nextpool)
                if (u == pool)
                    on_list = true;
            bool cached = false;
            for (ouro__pool *u = ta->pcache[ouro__pool_raw(pool)][ouro__pool_class(pool)]; u;
                 u = u->nextpool)
                if (u == pool)
                    cached = true;
            if (cached && (on_list || ref != 0 || !h->shared))
                FAIL("ouro_heap_check: pool %p: in its thread's cache, but %s\n", (void *)pool,
                     on_list ? "on a used list" : ref ? "not empty" : "not a shared heap's");
            if ((on_list || cached) != (pool->freeblock != NULL))
                FAIL("ouro_heap_check: pool %p: used-list membership wrong\n", (void *)pool);
            pools[ouro__pool_class(pool)]++;
            bytes += (size_t)ref * pool->block_size;
        }
    }
    /* Only a class's kept last pool may be empty: one per class on each
     * thread's used lists (every empty pool is on one: it has free blocks). */
    for (uint32_t i = 0; i < OURO__MAX_THREADS; i++) {
        ouro__talloc *ta = h->tallocs[i];
        if (!ta)
            continue;
        uint32_t ncached = 0;
        for (int raw = 0; raw < 2; raw++)
            for (int c = 0; c < OURO_NUM_CLASSES; c++)
                for (ouro__pool *u = ta->pcache[raw][c]; u && ncached <= ta->npcache;
                     u = u->nextpool) {
                    ncached++;
                    if (u->c.kind != OURO__CHUNK_POOL || u->owner != i ||
                        ouro__pool_class(u) != (unsigned)c || ouro__pool_raw(u) != (unsigned)raw)
                        FAIL("ouro_heap_check: pool %p: in the cache of thread state %u, class "
                             "%d, but not such a pool\n", (void *)u, i, c);
                }
        if (ncached != ta->npcache || ncached > OURO__PCACHE_MAX)
            FAIL("ouro_heap_check: thread state %u: %u pools cached, %u counted\n", i, ncached,
                 ta->npcache);
        for (int raw = 0; raw < 2; raw++)
            for (int c = 0; c < OURO_NUM_CLASSES; c++) {
                int empty_kept = 0;
                ouro__pool *last = NULL;
                for (ouro__pool *u = ta->usedpools[raw][c]; u; last = u, u = u->nextpool) {
                    if (u->prevpool != last)
                        FAIL("ouro_heap_check: pool %p: used list of class %d: back link "
                             "wrong\n", (void *)u, c);
                    if (ouro__pool_ref(u) == 0 && empty_kept++)
                        FAIL("ouro_heap_check: pool %p: a second empty pool in class %d\n",
                             (void *)u, c);
                }
                if (ta->usedlast[raw][c] != last)
                    FAIL("ouro_heap_check: thread state %u: used list of class %d ends at %p, "
                         "its last pool says %p\n", i, c, (void *)last,
                         (void *)ta->usedlast[raw][c]);
            }
    }
    /* usable_arenas sorted and holding exactly the arenas with free pools */
    size_t usable = 0;
    for (ouro__arena *a = h->usable_arenas; a; a = a->nextarena) {
        usable++;
        if (a->nextarena && a->nextarena->nfreepools < a->nfreepools)
            FAIL("ouro_heap_check: usable_arenas not sorted\n");
        if (a->nfreepools == 0)
            FAIL("ouro_heap_check: full arena on usable_arenas\n");
    }
    size_t with_free = 0;
    for (uint32_t i = 1; i < h->slot_top; i++)
        if (h->arenas[i].live && h->arenas[i].nfreepools > 0 &&
            h->arenas[i].nfreepools < OURO__POOLS_PER_ARENA)
            with_free++;
    if (usable != with_free)
        FAIL("ouro_heap_check: usable_arenas has %zu arenas, %zu have free and used pools\n",
             usable, with_free);
    /* The empty list: exactly the empty arenas, newest first, none of them
     * past its decay when the last decay check ran. */
    size_t nempty = 0;
    for (ouro__arena *a = h->empty_arenas, *prev = NULL; a; prev = a, a = a->nextarena) {
        nempty++;
        if (!a->live || a->nfreepools != OURO__POOLS_PER_ARENA)
            FAIL("ouro_heap_check: arena %u on the empty list is not empty\n", a->index);
        if (a->prevarena != prev || (!a->nextarena && h->empty_oldest != a))
            FAIL("ouro_heap_check: arena %u: empty list links wrong\n", a->index);
        if (prev && (a->empty_bytes_at > prev->empty_bytes_at ||
                     a->empty_ms_at > prev->empty_ms_at))
            FAIL("ouro_heap_check: arena %u: empty list out of stamp order\n", a->index);
        if (a->empty_bytes_at <= h->decay_seen_bytes && a->empty_ms_at <= h->decay_seen_ms &&
            decay_due(h, a, h->decay_seen_bytes, h->decay_seen_ms))
            FAIL("ouro_heap_check: arena %u: kept past its decay (emptied at %zu bytes, "
                 "%llu ms; checked at %zu bytes, %llu ms)\n", a->index, a->empty_bytes_at,
                 (unsigned long long)a->empty_ms_at, h->decay_seen_bytes,
                 (unsigned long long)h->decay_seen_ms);
        if (nempty > h->st.arenas)
            FAIL("ouro_heap_check: empty list has a cycle\n");
    }
    if (!h->empty_arenas && h->empty_oldest)
        FAIL("ouro_heap_check: empty list tail without head\n");
    if (nempty != empty || nempty != h->st.empty_arenas)
        FAIL("ouro_heap_check: %zu empty arenas, %zu on the empty list, stats say %zu\n", empty,
             nempty, h->st.empty_arenas);
    if (arenas != h->st.arenas)
        FAIL("ouro_heap_check: %zu arenas live, stats say %zu\n", arenas, h->st.arenas);
    /* The kept large blocks: within the bounds, newest first, none past its
     * decay at the last check, none also live. */
    size_t nkept = 0, kept_bytes = 0;
    for (ouro__large *L = h->large_kept, *prev = NULL; L; prev = L, L = L->next) {
        nkept++;
        kept_bytes += L->map_size;
        if (L->c.kind != OURO__CHUNK_LARGE || L->c.heap != h || L->map_size > OURO__LARGE_KEEP_MAX)
            FAIL("ouro_heap_check: kept large block %p: not such a block\n", (void *)L);
        if (L->prev != prev || (!L->next && h->large_kept_oldest != L))
            FAIL("ouro_heap_check: kept large block %p: list links wrong\n", (void *)L);
        if (prev && (L->kept_bytes_at > prev->kept_bytes_at || L->kept_ms_at > prev->kept_ms_at))
            FAIL("ouro_heap_check: kept large block %p: out of stamp order\n", (void *)L);
        if (L->kept_bytes_at <= h->decay_seen_bytes && L->kept_ms_at <= h->decay_seen_ms &&
            large_due(h, L, h->decay_seen_bytes, h->decay_seen_ms))
            FAIL("ouro_heap_check: kept large block %p: kept past its decay\n", (void *)L);
        for (ouro__large *M = h->large_blocks; M; M = M->next)
            if (M == L)
                FAIL("ouro_heap_check: kept large block %p is also live\n", (void *)L);
        if (nkept > OURO__LARGE_KEEP)
            FAIL("ouro_heap_check: more than %d large blocks kept\n", OURO__LARGE_KEEP);
    }
    if (!h->large_kept && h->large_kept_oldest)
        FAIL("ouro_heap_check: kept large blocks: tail without head\n");
    if (nkept != h->st.large_kept || kept_bytes != h->st.large_kept_bytes ||
        kept_bytes > OURO__LARGE_KEEP_BYTES)
        FAIL("ouro_heap_check: %zu large blocks kept (%zu bytes), stats say %zu (%zu)\n", nkept,
             kept_bytes, h->st.large_kept, h->st.large_kept_bytes);
    for (int c = 0; c < OURO_NUM_CLASSES; c++) {
        if (pools[c] != h->st.class_pools[c])
            FAIL("ouro_heap_check: class %d: %zu pools, stats %zu\n", c, pools[c],
                 h->st.class_pools[c]);
    }
    size_t nlarge = 0;
    for (ouro__large *L = h->large_blocks; L; L = L->next) {
        if (L->c.kind != OURO__CHUNK_LARGE || L->c.heap != h)
            FAIL("ouro_heap_check: large block %p: bad header\n", (void *)L);
        if (h->slot_base[L->c.index] != (uint8_t *)L)
            FAIL("ouro_heap_check: large block %p: table mismatch\n", (void *)L);
        bytes += L->size;
        nlarge++;
    }
    if (nlarge != h->st.large_blocks)
        FAIL("ouro_heap_check: %zu large blocks, stats say %zu\n", nlarge, h->st.large_blocks);
    if (bytes != h->st.bytes_in_use)
        FAIL("ouro_heap_check: %zu bytes in blocks, stats say %zu\n", bytes, h->st.bytes_in_use);
#undef FAIL
    return 0;
}
