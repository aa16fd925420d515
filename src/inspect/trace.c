/*
 * trace.c — allocation tracing: ouro's tracemalloc, the recording half.
 *
 * Owns the tracer: the hooks the core calls on every traced allocation
 * and free, the tables of traces and tracebacks, sampling, stopping
 * (ouro_trace_stop), the tracemalloc getters, a block's traceback, and
 * the traces of a snapshot grouped by (traceback, domain, size)
 * (ouro__ins_snap_traces: it needs the tables, so it lives with them).
 * Calls only util.c (containers, clocks), symbols.c (naming native frames)
 * and snapshot.c (the snapshot's pool).  Starting is in trace_start.c, the
 * statistics over a snapshot's traces in trace_stats.c.
 *
 * DATA AND INVARIANTS
 *
 *   tracer    one per tracing heap, malloc'd; h->tracer points at its
 *             `hooks` member while tracing is on and is NULL otherwise.
 *   traces    where each traced block's traceback number is kept.
 *             Every-allocation tracing uses a page map: one record per
 *             16 KiB pool (or large block) the heap has used, holding a
 *             32-bit slot per 16 bytes of the pool, indexed by the block's
 *             offset / 16 (every block starts on a 16-byte boundary, so no
 *             two blocks share a slot).  Recording or forgetting a block
 *             is a lookup of its pool (a one-entry cache, then a small
 *             hash table) and one store: no probing, no clusters, and the
 *             slots of neighbouring blocks share cache lines.  It costs 4
 *             KiB per 16 KiB pool (25%), all malloc.  A slot holds
 *             traceback number + 1 (0: untraced), the top bit marking raw
 *             blocks; a block's bytes are its block size, given by the
 *             hook, so they need no slot.
 *             Sampled tracing keeps its few samples in an open-addressing
 *             table (block -> traceback, bytes it stands for), scrambled
 *             by a multiplicative hash; deletion shifts later entries of
 *             the probe chain back, so no tombstones slow the probes.
 *             Invariant: current (b_in - b_out) is the sum of the bytes of
 *             every traced block; count (n_in - n_out) the number of traced
 *             blocks.  A block is traced iff it was traced when allocated
 *             and has not been freed since.
 *   tracebacks
 *             interned: tbs[] holds each distinct (site, native frames)
 *             once; tbtab maps a hash to its number.  A trace stores only
 *             the number, so a million allocations from one line cost one
 *             traceback.
 *   site cache
 *             a direct-mapped cache from (file, line, func) pointers to a
 *             traceback number, for one-frame tracing: the macros pass
 *             string literals, so pointer equality is enough and the
 *             common case is one compare instead of hashing.
 *   sampler   h->trace_at (tested inline by the core) is the value of
 *             the heap's bytes_alloc at which the next sample falls; the
 *             allocation that reaches it is sampled and the next distance
 *             drawn from an exponential distribution with mean
 *             sample_bytes (xorshift generator, fixed seed, so runs
 *             repeat).  Each pool counts its live samples (nsampled), so
 *             the core sends only frees into such pools here; a counting
 *             filter of 2^15 bytes, indexed by an address hash, counts the
 *             live samples per hash (saturating at 255, then sticky), so
 *             the free of an unsampled block costs one byte test, not a
 *             probe, and stays that cheap as samples come and go.
 *
 * The tracer's memory is all malloc: tracing never allocates from the
 * heap, so it never triggers a collection and never shows in the heap's
 * statistics.  When malloc fails, the allocation is not traced (`lost`
 * counts it) and the program goes on.
 */
#include "inspect.h"

#include <math.h>

#if defined(OURO_HAVE_LIBUNWIND)
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#else
#include <execinfo.h>
#endif

/* Native frames captured beyond nframes - 1, to make room for the frames
 * of ouro itself (the hook, ouro_new_sized_at, ouro_new_at), which are
 * dropped when the traceback is symbolized. */
#define SKIP_SLACK 12
#define SITE_CACHE 256
#define LIBFILE_CACHE 64
#define FILTER_BITS OURO__TRACE_FILTER_BITS

#define PAGE_SLOTS (OURO__POOL_SIZE / 16)
typedef struct page_rec {
    uintptr_t pool;             /* the pool's (or large block's) chunk address */
    uint32_t slot[PAGE_SLOTS];  /* traceback + 1, TB_RAW for raw; 0: untraced */
} page_rec;

typedef struct trace_entry {
    uintptr_t block; /* 0: empty */
    uint32_t tb;     /* traceback number; top bit: raw domain */
    uint32_t bytes;  /* bytes it stands for, saturated (see bytes_of) */
} trace_entry;
#define TB_RAW 0x80000000u

typedef struct tb_rec {
    const char *file, *func;
    int line;
    uint32_t nips;
    uintptr_t *ips; /* nips return addresses, innermost first */
    size_t hash;
} tb_rec;

typedef struct site_slot {
    const char *file, *func;
    int line;
    uint32_t tb; /* UINT32_MAX: empty */
} site_slot;

typedef struct tracer {
    ouro__tracer hooks;
    ouro_heap *heap;
    int nframes;
    size_t sample_bytes;
    /* traces: page map (every allocation) */
    page_rec **pages;
    size_t pcap, npages;
    page_rec *last;
    /* traces: sample table */
    trace_entry *tab;
    size_t cap;
    /* Traced blocks and bytes as pairs of counters, one added to when a
     * trace is made and one when it goes (count = n_in - n_out, current =
     * b_in - b_out), so that traced allocate-free pairs carry no
     * read-modify-write chain through one word (see the pool's
     * nalloc/nfree). */
    size_t n_in, n_out;
    size_t b_in, b_out, peak;
    size_t lost;
    /* tracebacks */
    tb_rec *tbs;
    size_t ntbs, captbs;
    uint32_t *tbtab; /* UINT32_MAX: empty */
    size_t tbcap;
    site_slot cache[SITE_CACHE];
    /* Whether a site's file is one of ouro's sources, by file pointer
     * (direct-mapped; the macros pass string literals). */
    struct {
        const char *file;
        int lib;
    } libfile[LIBFILE_CACHE];
    /* sampling */
    uint64_t rng;
    uint8_t filter[1u << FILTER_BITS]; /* sampled blocks per address hash */
    size_t ips_bytes;
    ins_sym *sym;
    /* Run first thing when tracing stops (env.c: the OURO_REPORT page). */
    void (*on_stop)(ouro_heap *h, void *arg);
    void *stop_arg;
} tracer;

/* The hooks are the tracer's first member, so the heap's tracer pointer is
 * the tracer itself: the hooks save a dependent load on every call. */
_Static_assert(offsetof(tracer, hooks) == 0, "hooks must come first");

static tracer *tracer_of(ouro_heap *h)
{
    if (!h || !h->tracer)
        return NULL;
    return (tracer *)h->tracer->state;
}

/* The tracer with its tables held against other threads' hooks (a shared
 * heap's trace_lock, see ouro__trace_lock), or NULL (nothing held) when
 * the heap is not traced.  Released by unlock(). */
static tracer *locked(ouro_heap *h)
{
    tracer *t = tracer_of(h);
    if (t)
        ouro__trace_lock(h);
    return t;
}

static void unlock(ouro_heap *h) { ouro__trace_unlock(h); }

/* ------------------------------------------------------------ tracebacks */

static size_t tb_hash(const char *file, int line, const char *func, const uintptr_t *ips,
                      uint32_t nips)
{
    uint64_t x = (uint64_t)(uintptr_t)file * 0x9E3779B97F4A7C15ull;
    x ^= (uint64_t)(uintptr_t)func + 0x632BE59BD9B4E019ull + (x << 6) + (x >> 2);
    x ^= (uint64_t)(unsigned)line * 0xBF58476D1CE4E5B9ull;
    for (uint32_t i = 0; i < nips; i++)
        x = (x ^ ips[i]) * 0x94D049BB133111EBull;
    return (size_t)(x ^ (x >> 31));
}

static int tbtab_grow(tracer *t)
{
    size_t cap = t->tbcap ? t->tbcap * 2 : 1024;
    uint32_t *tab = malloc(cap * sizeof *tab);
    if (!tab)
        return OURO_ENOMEM;
    memset(tab, 0xff, cap * sizeof *tab);
    for (size_t i = 0; i < t->ntbs; i++) {
        size_t j = t->tbs[i].hash & (cap - 1);
        while (tab[j] != UINT32_MAX)
            j = (j + 1) & (cap - 1);
        tab[j] = (uint32_t)i;
    }
    free(t->tbtab);
    t->tbtab = tab;
    t->tbcap = cap;
    return 0;
}

static inline size_t site_hash(const char *file, int line, const char *func)
{
    return ((uintptr_t)file >> 3 ^ (uintptr_t)func >> 5 ^ (size_t)line * 31) & (SITE_CACHE - 1);
}

/* The number of this traceback, interning it if new; UINT32_MAX on OOM. */
static uint32_t tb_intern(tracer *t, const char *file, int line, const char *func,
                          const uintptr_t *ips, uint32_t nips)
{
    size_t hash = tb_hash(file, line, func, ips, nips);
    if ((t->ntbs + 1) * 2 > t->tbcap && tbtab_grow(t) < 0)
        return UINT32_MAX;
    size_t mask = t->tbcap - 1, j = hash & mask;
    while (t->tbtab[j] != UINT32_MAX) {
        tb_rec *r = &t->tbs[t->tbtab[j]];
        if (r->hash == hash && r->file == file && r->line == line && r->func == func &&
            r->nips == nips && (nips == 0 || memcmp(r->ips, ips, nips * sizeof *ips) == 0))
            return t->tbtab[j];
        j = (j + 1) & mask;
    }
    if (t->ntbs >= TB_RAW - 1)
        return UINT32_MAX;
    if (t->ntbs == t->captbs) {
        size_t cap = t->captbs ? t->captbs * 2 : 256;
        tb_rec *n = realloc(t->tbs, cap * sizeof *n);
        if (!n)
            return UINT32_MAX;
        t->tbs = n;
        t->captbs = cap;
    }
    uintptr_t *copy = NULL;
    if (nips) {
        copy = malloc(nips * sizeof *copy);
        if (!copy)
            return UINT32_MAX;
        memcpy(copy, ips, nips * sizeof *copy);
        t->ips_bytes += nips * sizeof *copy;
    }
    t->tbs[t->ntbs] = (tb_rec){file, func, line, nips, copy, hash};
    t->tbtab[j] = (uint32_t)t->ntbs;
    return (uint32_t)t->ntbs++;
}

/* The traceback of the allocation being made, slow cases: a site not in
 * the cache, or native frames to capture. */
__attribute__((noinline)) static uint32_t tb_current_slow(tracer *t, const char *file, int line,
                                                         const char *func)
{
    if (t->nframes <= 1) {
        uint32_t tb = tb_intern(t, file, line, func, NULL, 0);
        if (tb != UINT32_MAX)
            t->cache[site_hash(file, line, func)] = (site_slot){file, func, line, tb};
        return tb;
    }
    void *ips[OURO_TRACE_MAX_FRAMES + SKIP_SLACK];
    int want = t->nframes - 1 + SKIP_SLACK;
#if defined(OURO_HAVE_LIBUNWIND)
    int got = unw_backtrace(ips, want);
#else
    int got = backtrace(ips, want);
#endif
    if (got < 0)
        got = 0;
    return tb_intern(t, file, line, func, (uintptr_t *)ips, (uint32_t)got);
}

/* One-frame tracing: the site's cached traceback number, or UINT32_MAX. */
static inline uint32_t site_cached(const tracer *t, const char *file, int line,
                                   const char *func)
{
    if (OURO__UNLIKELY(t->nframes > 1))
        return UINT32_MAX;
    const site_slot *c = &t->cache[site_hash(file, line, func)];
    return c->file == file && c->line == line && c->func == func ? c->tb : UINT32_MAX;
}

/* The common case inline: one frame, the site in the cache. */
static inline uint32_t tb_current(tracer *t, const char *file, int line, const char *func)
{
    uint32_t tb = site_cached(t, file, line, func);
    return OURO__LIKELY(tb != UINT32_MAX) ? tb : tb_current_slow(t, file, line, func);
}

/* ------------------------------------------------------------ page map */

static inline size_t page_slot(uintptr_t pool, size_t mask)
{
    return (size_t)(((uint64_t)(pool >> 14) * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

static int pages_grow(tracer *t)
{
    size_t cap = t->pcap ? t->pcap * 2 : 256;
    page_rec **tab = calloc(cap, sizeof *tab);
    if (!tab)
        return OURO_ENOMEM;
    for (size_t i = 0; i < t->pcap; i++) {
        if (!t->pages[i])
            continue;
        size_t j = page_slot(t->pages[i]->pool, cap - 1);
        while (tab[j])
            j = (j + 1) & (cap - 1);
        tab[j] = t->pages[i];
    }
    free(t->pages);
    t->pages = tab;
    t->pcap = cap;
    return 0;
}

/* The record of the pool holding `block`; created when `create` (NULL
 * when malloc fails or, without `create`, when there is none). */
static inline page_rec *page_of(tracer *t, uintptr_t block, int create)
{
    uintptr_t pool = block & ~(uintptr_t)(OURO__POOL_SIZE - 1);
    if (OURO__LIKELY(t->last && t->last->pool == pool))
        return t->last;
    size_t mask = t->pcap - 1, i = page_slot(pool, mask);
    while (t->pages[i]) {
        if (t->pages[i]->pool == pool)
            return t->last = t->pages[i];
        i = (i + 1) & mask;
    }
    if (!create)
        return NULL;
    if ((t->npages + 1) * 2 > t->pcap) {
        if (pages_grow(t) < 0)
            return NULL;
        mask = t->pcap - 1;
        i = page_slot(pool, mask);
        while (t->pages[i])
            i = (i + 1) & mask;
    }
    page_rec *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->pool = pool;
    t->pages[i] = r;
    t->npages++;
    return t->last = r;
}

static inline size_t page_index(uintptr_t block)
{
    return (block & (OURO__POOL_SIZE - 1)) >> 4;
}

/* What a page slot holds for a trace (see page_rec). */
static inline uint32_t slot_value(uint32_t tb, int raw)
{
    return (tb + 1) | (raw ? TB_RAW : 0);
}
/* The traceback (with TB_RAW) a non-zero slot holds. */
static inline uint32_t slot_tb(uint32_t v)
{
    return ((v & ~TB_RAW) - 1) | (v & TB_RAW);
}

/* ------------------------------------------------------------ sample table */

static inline size_t tr_count(const tracer *t) { return t->n_in - t->n_out; }
static inline size_t tr_current(const tracer *t) { return t->b_in - t->b_out; }
static inline void tr_add(tracer *t, size_t bytes)
{
    t->n_in++;
    t->b_in += bytes;
    size_t cur = t->b_in - t->b_out;
    if (cur > t->peak)
        t->peak = cur;
}
static inline void tr_remove(tracer *t, size_t bytes)
{
    t->n_out++;
    t->b_out += bytes;
}

/* A sampled block's pool counts it, so that the core's free fast path
 * sends frees into that pool to the tracer (large blocks always go). */
static void pool_mark(uintptr_t block, int delta)
{
    ouro__pool *pool = ouro__pool_of((void *)block);
    if (pool->c.kind == OURO__CHUNK_POOL)
        pool->nsampled = (uint16_t)(pool->nsampled + delta);
}

static inline size_t slot_of(uintptr_t block, size_t mask)
{
    return (size_t)(((uint64_t)(block >> 4) * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

static int tab_grow(tracer *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    trace_entry *tab = calloc(cap, sizeof *tab);
    if (!tab)
        return OURO_ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->tab[i].block)
            continue;
        size_t j = slot_of(t->tab[i].block, cap - 1);
        while (tab[j].block)
            j = (j + 1) & (cap - 1);
        tab[j] = t->tab[i];
    }
    free(t->tab);
    t->tab = tab;
    t->cap = cap;
    return 0;
}

static trace_entry *tab_find(const tracer *t, uintptr_t block)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1, i = slot_of(block, mask);
    while (t->tab[i].block) {
        if (t->tab[i].block == block)
            return &t->tab[i];
        i = (i + 1) & mask;
    }
    return NULL;
}

/* Remove the entry at index i, shifting later entries of the probe chain
 * back so that no lookup ever crosses an empty slot it should not. */
static void tab_delete(tracer *t, size_t i)
{
    size_t mask = t->cap - 1;
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (!t->tab[j].block)
            break;
        size_t home = slot_of(t->tab[j].block, mask);
        /* Move j into the hole at i unless its home lies in (i, j]. */
        if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
            t->tab[i] = t->tab[j];
            i = j;
        }
    }
    t->tab[i].block = 0;
}

static inline size_t filter_bit(uintptr_t block)
{
    return ouro__trace_filter_bit(block); /* the core tests the same byte */
}

/* ------------------------------------------------------------ lookups */

/* The traceback (with TB_RAW) and bytes of a traced block; 0 if untraced. */
static int trace_of(tracer *t, uintptr_t block, uint32_t *tb, size_t *bytes)
{
    if (t->sample_bytes) {
        trace_entry *e = tab_find(t, block);
        if (!e)
            return 0;
        *tb = e->tb;
        *bytes = e->bytes;
        return 1;
    }
    page_rec *r = page_of(t, block, 0);
    uint32_t v = r ? r->slot[page_index(block)] : 0;
    if (!v)
        return 0;
    *tb = slot_tb(v);
    *bytes = ouro__block_size((void *)block);
    return 1;
}

/* Visit every traced block. */
static void trace_each(tracer *t, void (*fn)(void *arg, uintptr_t block, uint32_t tb,
                                             size_t bytes),
                       void *arg)
{
    if (t->sample_bytes) {
        for (size_t i = 0; i < t->cap; i++)
            if (t->tab[i].block)
                fn(arg, t->tab[i].block, t->tab[i].tb, t->tab[i].bytes);
        return;
    }
    for (size_t i = 0; i < t->pcap; i++) {
        page_rec *r = t->pages[i];
        if (!r)
            continue;
        for (size_t k = 0; k < PAGE_SLOTS; k++) {
            uint32_t v = r->slot[k];
            if (!v)
                continue;
            uintptr_t block = r->pool + (k << 4);
            fn(arg, block, slot_tb(v), ouro__block_size((void *)block));
        }
    }
}

/* ------------------------------------------------------------ sampling */

static double rng_unit(tracer *t)
{
    uint64_t x = t->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    t->rng = x;
    return ((x >> 11) + 0.5) * (1.0 / 9007199254740992.0); /* (0, 1) */
}

static long long next_distance(tracer *t)
{
    double d = -log(rng_unit(t)) * (double)t->sample_bytes;
    return d < 1 ? 1 : (long long)d;
}

/* The bytes a sampled block of `size` stands for: it was sampled with
 * probability 1 - exp(-size / K), so weighting it by the inverse gives an
 * estimate without bias (about K for small blocks). */
static size_t sample_weight(const tracer *t, size_t size)
{
    double k = (double)t->sample_bytes;
    double p = -expm1(-(double)size / k);
    double w = p > 0 ? (double)size / p : k;
    return (size_t)(w + 0.5);
}

/* ------------------------------------------------------------ the program's site */

__attribute__((noinline)) static int lib_file_slow(tracer *t, const char *file, size_t i)
{
    int lib = ouro__ins_lib_file(file);
    t->libfile[i].file = file;
    t->libfile[i].lib = lib;
    return lib;
}

static inline int lib_file(tracer *t, const char *file)
{
    size_t i = ((uintptr_t)file >> 4) & (LIBFILE_CACHE - 1);
    return t->libfile[i].file == file ? t->libfile[i].lib : lib_file_slow(t, file, i);
}

/* Name the program's line: a block allocated at one of ouro's own lines
 * while a built-in type's function called by the program runs (h->site,
 * held by src/types/site.c) is traced to that call.  A site of the
 * program's own (ouro_new in a finalizer that runs inside such a call)
 * stays as it is. */
static inline void program_site(ouro_heap *h, tracer *t, const char **file, int *line,
                                const char **func)
{
    const ouro__site *site = ouro__site_of(h);
    if (site->file && (!*file || lib_file(t, *file))) {
        *file = site->file;
        *line = site->line;
        *func = site->func;
    }
}

/* ------------------------------------------------------------ the hooks */

/* Every allocation, the cases that need calls: a site not in the cache,
 * native frames, a pool not seen last, a stale trace. */
__attribute__((noinline)) static void *on_alloc_slow(tracer *t, void *block, int raw,
                                                     const char *file, int line,
                                                     const char *func)
{
    size_t size = ouro__block_size_inline(block);
    uint32_t tb = tb_current(t, file, line, func);
    page_rec *r = tb == UINT32_MAX ? NULL : page_of(t, (uintptr_t)block, 1);
    if (OURO__UNLIKELY(!r)) {
        t->lost++;
        return block;
    }
    uint32_t *slot = &r->slot[page_index((uintptr_t)block)];
    if (OURO__UNLIKELY(*slot)) /* a block whose free the tracer never saw */
        tr_remove(t, size);
    *slot = slot_value(tb, raw);
    tr_add(t, size);
    return block;
}

/* Every allocation: a leaf of about 25 instructions when the site is in
 * the cache (one frame) and the block's pool is the last one seen. */
static void *on_alloc(ouro_heap *h, void *block, int raw, const char *file, int line,
                      const char *func)
{
    tracer *t = (tracer *)h->tracer;
    program_site(h, t, &file, &line, &func);
    uint32_t tb = site_cached(t, file, line, func);
    page_rec *r = t->last;
    uintptr_t pool = (uintptr_t)block & ~(uintptr_t)(OURO__POOL_SIZE - 1);
    if (OURO__LIKELY(tb != UINT32_MAX && r && r->pool == pool)) {
        uint32_t *slot = &r->slot[page_index((uintptr_t)block)];
        if (OURO__LIKELY(*slot == 0)) {
            *slot = slot_value(tb, raw);
            tr_add(t, ouro__block_size_inline(block));
            return block;
        }
    }
    return on_alloc_slow(t, block, raw, file, line, func);
}

static void on_free(ouro_heap *h, void *block, int raw)
{
    (void)raw;
    tracer *t = (tracer *)h->tracer;
    page_rec *r = page_of(t, (uintptr_t)block, 0);
    if (!r)
        return;
    uint32_t *slot = &r->slot[page_index((uintptr_t)block)];
    if (*slot) {
        *slot = 0;
        tr_remove(t, ouro__block_size_inline(block));
    }
}

static void record_sample(tracer *t, void *block, size_t bytes, int raw, const char *file,
                          int line, const char *func)
{
    if ((tr_count(t) + 1) * 2 > t->cap && tab_grow(t) < 0) {
        t->lost++;
        return;
    }
    uint32_t tb = tb_current(t, file, line, func);
    if (tb == UINT32_MAX) {
        t->lost++;
        return;
    }
    size_t mask = t->cap - 1, i = slot_of((uintptr_t)block, mask);
    while (t->tab[i].block && t->tab[i].block != (uintptr_t)block)
        i = (i + 1) & mask;
    if (t->tab[i].block) {
        tr_remove(t, t->tab[i].bytes);
    } else {
        uint8_t *f = &t->filter[filter_bit((uintptr_t)block)];
        if (*f < 255)
            ++*f;
        pool_mark((uintptr_t)block, 1);
    }
    t->tab[i].block = (uintptr_t)block;
    t->tab[i].tb = tb | (raw ? TB_RAW : 0);
    t->tab[i].bytes = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
    tr_add(t, t->tab[i].bytes);
}

/* The slow paths of sampling, kept out of line so that the fast paths
 * below stay leaf functions that save no registers. */
__attribute__((noinline)) static void take_sample(tracer *t, void *block, size_t size,
                                                  int raw, const char *file, int line,
                                                  const char *func)
{
    /* Several sampling points may fall inside one large block; it is
     * sampled once and its weight accounts for them. */
    ouro_heap *h = t->heap;
    do
        h->trace_at += (size_t)next_distance(t);
    while (h->trace_at <= ouro__trace_clock(h));
    record_sample(t, block, sample_weight(t, size), raw, file, line, func);
}

__attribute__((noinline)) static void drop_sample(tracer *t, void *block, uint8_t *f)
{
    trace_entry *e = tab_find(t, (uintptr_t)block);
    if (e) {
        if (*f < 255)
            --*f;
        tr_remove(t, e->bytes);
        pool_mark((uintptr_t)block, -1);
        tab_delete(t, (size_t)(e - t->tab));
    }
}

/* Sampled: the core compares its byte clock with trace_at inline
 * (ouro__trace_alloc) and calls this only when a sampling point falls in
 * this block. */
static void *on_alloc_sampled(ouro_heap *h, void *block, int raw, const char *file, int line,
                              const char *func)
{
    tracer *t = (tracer *)h->tracer;
    program_site(h, t, &file, &line, &func);
    take_sample(t, block, ouro__block_size_inline(block), raw, file, line, func);
    return block;
}

/* Sampled: raw frees come here only from pools holding a sample, object
 * frees always; one byte test for a block that was not sampled. */
static void on_free_sampled(ouro_heap *h, void *block, int raw)
{
    (void)raw;
    tracer *t = (tracer *)h->tracer;
    uint8_t *f = &t->filter[filter_bit((uintptr_t)block)];
    if (OURO__LIKELY(*f == 0))
        return;
    drop_sample(t, block, f);
}

/* ------------------------------------------------------------ control */

static int trace_begin(ouro_heap *h, int nframes, size_t sample_bytes,
                       void (*at_heap_free)(ouro_heap *h));

/* On a shared heap the tracer comes and goes with the world stopped (see
 * src/core/shared.c, TRACING). */
int ouro__ins_trace_begin(ouro_heap *h, int nframes, size_t sample_bytes,
                          void (*at_heap_free)(ouro_heap *h))
{
    if (!h || nframes < 1 || nframes > OURO_TRACE_MAX_FRAMES)
        return OURO_EINVAL;
    if (!ouro_heap_is_shared(h))
        return trace_begin(h, nframes, sample_bytes, at_heap_free);
    int rc = ouro__stw_enter(h, "ouro_trace_start");
    if (rc < 0)
        return rc;
    rc = trace_begin(h, nframes, sample_bytes, at_heap_free);
    ouro__stw_leave(h);
    return rc;
}

static int trace_begin(ouro_heap *h, int nframes, size_t sample_bytes,
                       void (*at_heap_free)(ouro_heap *h))
{
    if (h->tracer) {
        /* tracemalloc.start() while tracing: nothing changes, the frame
         * limit included, as in CPython 3.11 (its tracemalloc_start
         * returns early when already tracing). */
        return h->tracer->on_alloc == on_alloc || h->tracer->on_alloc == on_alloc_sampled
                   ? 0
                   : OURO_EBUSY;
    }
    tracer *t = calloc(1, sizeof *t);
    if (!t)
        return OURO_ENOMEM;
    t->heap = h;
    t->nframes = nframes;
    t->sample_bytes = sample_bytes;
    for (int i = 0; i < SITE_CACHE; i++)
        t->cache[i].tb = UINT32_MAX;
    t->rng = 0x2545F4914F6CDD1Dull ^ (uint64_t)sample_bytes;
    if ((sample_bytes ? tab_grow(t) : pages_grow(t)) < 0 || tbtab_grow(t) < 0) {
        free(t->tab);
        free(t->pages);
        free(t->tbtab);
        free(t);
        return OURO_ENOMEM;
    }
    if (sample_bytes) {
        t->hooks.sampling = 1;
        h->trace_at = ouro__trace_clock(h) + (size_t)next_distance(t);
        t->hooks.sample_filter = t->filter;
        t->hooks.on_alloc = on_alloc_sampled;
        t->hooks.on_free = on_free_sampled;
    } else {
        t->hooks.on_alloc = on_alloc;
        t->hooks.on_free = on_free;
        h->trace_at = 0;      /* every allocation */
        h->slow_free = true;  /* every raw free */
    }
    t->hooks.on_heap_free = at_heap_free;
    t->hooks.state = t;
    h->tracer = &t->hooks;
    ouro__obj_slow_update(h);
    return 0;
}

int ouro__ins_trace_on_stop(ouro_heap *h, void (*fn)(ouro_heap *h, void *arg), void *arg)
{
    tracer *t = tracer_of(h);
    if (!t)
        return OURO_ENOTFOUND;
    t->on_stop = fn;
    t->stop_arg = arg;
    return 0;
}

static int trace_stop(ouro_heap *h, tracer *t);

int ouro_trace_stop(ouro_heap *h)
{
    tracer *t = tracer_of(h);
    if (!t)
        return h ? 0 : OURO_EINVAL;
    if (!ouro_heap_is_shared(h))
        return trace_stop(h, t);
    int rc = ouro__stw_enter(h, "ouro_trace_stop");
    if (rc < 0)
        return rc;
    t = tracer_of(h);
    rc = t ? trace_stop(h, t) : 0;
    ouro__stw_leave(h);
    return rc;
}

static int trace_stop(ouro_heap *h, tracer *t)
{
    if (t->on_stop) {
        /* Cleared first: the callback may take snapshots, or stop. */
        void (*fn)(ouro_heap *, void *) = t->on_stop;
        t->on_stop = NULL;
        fn(h, t->stop_arg);
        if (tracer_of(h) != t)
            return 0;
    }
    h->tracer = NULL;
    ouro__obj_slow_update(h);
    ouro__trace_fields_off(h);
    for (size_t i = 0; i < t->cap; i++) /* live samples: their pools go fast again */
        if (t->tab[i].block)
            pool_mark(t->tab[i].block, -1);
    for (size_t i = 0; i < t->ntbs; i++)
        free(t->tbs[i].ips);
    free(t->tbs);
    free(t->tbtab);
    free(t->tab);
    for (size_t i = 0; i < t->pcap; i++)
        free(t->pages[i]);
    free(t->pages);
    ouro__ins_sym_free(t->sym);
    free(t);
    return 0;
}

int ouro_trace_is_tracing(ouro_heap *h) { return tracer_of(h) != NULL; }

int ouro_trace_get_traceback_limit(ouro_heap *h)
{
    tracer *t = tracer_of(h);
    return t ? t->nframes : 1;
}

size_t ouro_trace_get_sample_bytes(ouro_heap *h)
{
    tracer *t = tracer_of(h);
    return t ? t->sample_bytes : 0;
}

void ouro_trace_get_traced_memory(ouro_heap *h, size_t *current, size_t *peak)
{
    size_t cur = 0, pk = 0;
    tracer *t = locked(h);
    if (t) {
        cur = tr_current(t);
        pk = t->peak;
        unlock(h);
    }
    if (current)
        *current = cur;
    if (peak)
        *peak = pk;
}

void ouro_trace_reset_peak(ouro_heap *h)
{
    tracer *t = locked(h);
    if (t) {
        t->peak = tr_current(t);
        unlock(h);
    }
}

size_t ouro_trace_get_tracer_memory(ouro_heap *h)
{
    tracer *t = locked(h);
    if (!t)
        return 0;
    size_t n = sizeof *t + t->cap * sizeof *t->tab + t->pcap * sizeof *t->pages +
               t->npages * sizeof(page_rec) + t->captbs * sizeof *t->tbs +
               t->tbcap * sizeof *t->tbtab + t->ips_bytes + ouro__ins_sym_memory(t->sym);
    unlock(h);
    return n;
}

size_t ouro_inspect_overhead(ouro_heap *h)
{
    return ouro_trace_get_tracer_memory(h) + ouro__ins_tools_rss();
}

size_t ouro_trace_get_count(ouro_heap *h)
{
    tracer *t = locked(h);
    if (!t)
        return 0;
    size_t n = tr_count(t);
    unlock(h);
    return n;
}

size_t ouro_trace_get_lost(ouro_heap *h)
{
    tracer *t = locked(h);
    if (!t)
        return 0;
    size_t n = t->lost;
    unlock(h);
    return n;
}

/* ------------------------------------------------------------ tracebacks out */

/* Expand traceback `tb` into frames: the allocation site, then the native
 * callers above the function that holds it.  The native frames start in
 * ouro (the hook, ouro_new_sized_at, the type's functions...), told by
 * address (symbols.c, "ouro's code"), and continue with the site's own
 * function, which frame 0 already names: both are dropped.  A site that
 * is still one of ouro's lines (a function without a site-capturing macro)
 * is replaced by the first native frame outside ouro.  When ouro's code
 * cannot be told (a static build without libdw), the frames up to the
 * first one in the site's function are dropped.  Returns the number of
 * frames written. */
static int expand(tracer *t, uint32_t tb, ouro_frame *out, int max)
{
    if (max <= 0)
        return 0;
    tb_rec *r = &t->tbs[tb];
    out[0] = (ouro_frame){r->file, r->func, r->line, 0};
    int n = 1;
    if (!r->nips || n >= t->nframes)
        return n;
    if (!t->sym && !(t->sym = ouro__ins_sym_new()))
        return n;
    uint32_t i = 0;
    ouro_frame f = {0};
    int known = 1;
    while (i < r->nips) {
        int lib = ouro__ins_sym_is_lib(t->sym, r->ips[i]);
        if (lib < 0)
            known = 0;
        if (lib != 1)
            break;
        i++;
    }
    if (!known) {
        uint32_t k = 0;
        for (; k < r->nips; k++) {
            ouro__ins_sym_lookup(t->sym, r->ips[k], &f);
            if (r->func && f.func && strcmp(f.func, r->func) == 0)
                break;
        }
        i = k < r->nips ? k + 1 : 0;
    } else if (i < r->nips) {
        ouro__ins_sym_lookup(t->sym, r->ips[i], &f);
        if (r->file && ouro__ins_lib_file(r->file)) {
            out[0] = f; /* the first frame outside ouro names the site */
            i++;
        } else if (r->func && f.func && strcmp(f.func, r->func) == 0) {
            i++;
        }
    }
    for (; i < r->nips && n < max && n < t->nframes; i++) {
        ouro__ins_sym_lookup(t->sym, r->ips[i], &out[n]);
        n++;
    }
    return n;
}

int ouro_trace_get_traceback(ouro_heap *h, const void *block, ouro_frame *out, int max)
{
    if (!tracer_of(h))
        return 0;
    if (!block || !out || max < 0)
        return OURO_EINVAL;
    tracer *t = locked(h);
    uint32_t tb;
    size_t bytes;
    int n = trace_of(t, (uintptr_t)block, &tb, &bytes) ? expand(t, tb & ~TB_RAW, out, max) : 0;
    unlock(h);
    return n;
}

int ouro__ins_trace_site(ouro_heap *h, const void *block, ouro_frame *site)
{
    tracer *t = locked(h);
    uint32_t tb;
    size_t bytes;
    int found = t && trace_of(t, (uintptr_t)block, &tb, &bytes);
    if (found) {
        tb_rec *r = &t->tbs[tb & ~TB_RAW];
        *site = (ouro_frame){r->file, r->func, r->line, 0};
    } else {
        memset(site, 0, sizeof *site);
    }
    if (t)
        unlock(h);
    return found;
}

/* ------------------------------------------------------------ snapshots */

typedef struct agg_key {
    uint32_t tb;     /* with TB_RAW */
    uint32_t pad;
    size_t bytes;    /* per block */
} agg_key;

typedef struct agg_fill {
    agg_key *keys;
    size_t n, cap;
} agg_fill;

static void agg_add(void *arg, uintptr_t block, uint32_t tb, size_t bytes)
{
    agg_fill *f = arg;
    (void)block;
    if (f->n < f->cap)
        f->keys[f->n++] = (agg_key){tb, 0, bytes};
}

static int cmp_agg(const void *a, const void *b)
{
    const agg_key *x = a, *y = b;
    if (x->tb != y->tb)
        return x->tb < y->tb ? -1 : 1;
    return x->bytes < y->bytes ? -1 : x->bytes > y->bytes;
}

/* Copy the traces into the snapshot, grouped by (traceback, domain, block
 * size): sort a flat copy of the keys, then count runs. */
static int snap_traces(tracer *t, ouro_snapshot *s);

int ouro__ins_snap_traces(ouro_heap *h, ouro_snapshot *s)
{
    tracer *t = locked(h);
    if (!t)
        return 0;
    int rc = snap_traces(t, s);
    unlock(h);
    return rc;
}

static int snap_traces(tracer *t, ouro_snapshot *s)
{
    ins_strpool *pool = ouro__ins_snap_pool(s);
    s->tracing = 1;
    s->nframes = t->nframes;
    s->sample_bytes = t->sample_bytes;
    s->traced_current = tr_current(t);
    s->traced_peak = t->peak;
    agg_key *keys = malloc((tr_count(t) ? tr_count(t) : 1) * sizeof *keys);
    if (!keys)
        return OURO_ENOMEM;
    agg_fill fill = {keys, 0, tr_count(t)};
    trace_each(t, agg_add, &fill);
    size_t n = fill.n;
    qsort(keys, n, sizeof *keys, cmp_agg);
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || cmp_agg(&keys[i], &keys[i - 1]) != 0)
            groups++;
    s->traces = ouro__ins_pool_alloc(pool, (groups ? groups : 1) * sizeof *s->traces);
    /* Each traceback's frames are expanded once and shared by its groups. */
    ouro_frame **tbframes = calloc(t->ntbs ? t->ntbs : 1, sizeof *tbframes);
    int *tbn = calloc(t->ntbs ? t->ntbs : 1, sizeof *tbn);
    int rc = 0;
    if (!s->traces || !tbframes || !tbn) {
        rc = OURO_ENOMEM;
        goto out;
    }
    s->ntraces = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && cmp_agg(&keys[j], &keys[i]) == 0)
            j++;
        uint32_t tb = keys[i].tb & ~TB_RAW;
        if (!tbframes[tb]) {
            ouro_frame fr[OURO_TRACE_MAX_FRAMES];
            int nf = expand(t, tb, fr, OURO_TRACE_MAX_FRAMES);
            ouro_frame *copy = ouro__ins_pool_alloc(pool, (size_t)nf * sizeof *copy);
            if (!copy) {
                rc = OURO_ENOMEM;
                goto out;
            }
            for (int k = 0; k < nf; k++) {
                copy[k] = fr[k];
                copy[k].file = ouro__ins_intern(pool, fr[k].file);
                copy[k].func = ouro__ins_intern(pool, fr[k].func);
            }
            tbframes[tb] = copy;
            tbn[tb] = nf;
        }
        ouro_trace *tr = &s->traces[s->ntraces++];
        tr->domain = (keys[i].tb & TB_RAW) ? OURO_DOMAIN_RAW : OURO_DOMAIN_OBJECT;
        tr->size = keys[i].bytes;
        tr->count = j - i;
        tr->nframes = tbn[tb];
        tr->frames = tbframes[tb];
        i = j;
    }
out:
    free(keys);
    free(tbframes);
    free(tbn);
    return rc;
}
