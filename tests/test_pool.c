/* The private heap: size classes, arenas, statistics, page sources. */
#include "testlib.h"
#include "ttypes.h"

#include <stdlib.h>
#include <string.h>

static ouro_heap_stats stats(ouro_heap *h)
{
    ouro_heap_stats s;
    s.struct_size = sizeof s;
    CHECK_EQ(ouro_heap_get_stats(h, &s), 0);
    return s;
}

TEST(raw_sizes_and_alignment)
{
    ouro_heap *h = tl_heap();
    void *p[3000];
    size_t expect = 0;
    for (size_t n = 1; n <= 3000; n++) {
        p[n - 1] = ouro_raw_alloc(h, n);
        CHECK(p[n - 1] != NULL);
        CHECK_EQ((uintptr_t)p[n - 1] % 16, 0);
        memset(p[n - 1], 0xAB, n);
        /* 16-byte classes to 512, then the coarse classes, then pages */
        if (n <= 512)
            expect += (n + 15) / 16 * 16;
        else if (n <= 2048) {
            static const size_t cls[] = {640, 768, 896, 1024, 1280, 1536, 1792, 2048};
            size_t k = 0;
            while (cls[k] < n)
                k++;
            expect += cls[k];
        } else {
            expect += ((64 + n + 4095) / 4096) * 4096 - 64;
        }
    }
    CHECK_EQ(stats(h).bytes_in_use, expect);
    CHECK_EQ(ouro_heap_check(h), 0);
    for (size_t n = 0; n < 3000; n++)
        ouro_raw_free(h, p[n]);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.bytes_in_use, 0);
    /* every arena went back but one kept empty and those holding the
     * classes' last (empty) pools, one pool per class */
    size_t kept = 0;
    for (int c = 0; c < OURO_NUM_CLASSES; c++) {
        CHECK(s.class_pools[c] <= 2); /* raw and object pools */
        kept += s.class_pools[c];
    }
    CHECK(s.arenas <= 1 + kept);
    CHECK_EQ(s.large_blocks, 0);
    tl_heap_done(h);
}

TEST(realloc_keeps_contents)
{
    ouro_heap *h = tl_heap();
    char *p = ouro_raw_alloc(h, 10);
    memcpy(p, "0123456789", 10);
    p = ouro_raw_realloc(h, p, 5000);
    CHECK(p && memcmp(p, "0123456789", 10) == 0);
    p = ouro_raw_realloc(h, p, 20);
    CHECK(p && memcmp(p, "0123456789", 10) == 0);
    ouro_raw_free(h, p);
    tl_heap_done(h);
}

TEST(class_statistics)
{
    ouro_heap *h = tl_heap();
    void *a[100];
    for (int i = 0; i < 100; i++)
        a[i] = ouro_raw_alloc(h, 48);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.class_size[2], 48);
    CHECK_EQ(s.class_blocks[2], 100);
    CHECK_EQ(s.class_pools[2], 1); /* (16384 - 64) / 48 = 340 blocks a pool */
    CHECK_EQ(s.num_classes, OURO_NUM_CLASSES);
    char buf[4096];
    size_t n = ouro_heap_stats_text(h, buf, sizeof buf);
    CHECK(n > 0 && strstr(buf, "bytes in use") && strstr(buf, "   48 "));
    for (int i = 0; i < 100; i++)
        ouro_raw_free(h, a[i]);
    tl_heap_done(h);
}

/* The per-block figures are kept as split counters and the class counts
 * are taken from the pools: check them against arithmetic through every
 * path (fast, slow, a pool filling, the class's last pool emptying). */
TEST(statistics_exact_through_fast_paths)
{
    ouro_heap *h = tl_heap();
    enum { N = 1200 }; /* 32-byte class: 510 blocks a pool, so 3 pools */
    void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = ouro_raw_alloc(h, 32);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.bytes_in_use, (size_t)N * 32);
    CHECK_EQ(s.peak_bytes_in_use, (size_t)N * 32);
    CHECK_EQ(s.class_blocks[1], N);
    CHECK_EQ(s.class_pools[1], 3);
    for (int i = 0; i < N; i += 2)
        ouro_raw_free(h, p[i]);
    s = stats(h);
    CHECK_EQ(s.bytes_in_use, (size_t)N / 2 * 32);
    CHECK_EQ(s.peak_bytes_in_use, (size_t)N * 32);
    CHECK_EQ(s.class_blocks[1], N / 2);
    CHECK_EQ(ouro_heap_check(h), 0);
    for (int i = 1; i < N; i += 2)
        ouro_raw_free(h, p[i]);
    /* Every block gone: the class keeps one empty pool. */
    s = stats(h);
    CHECK_EQ(s.bytes_in_use, 0);
    CHECK_EQ(s.class_blocks[1], 0);
    CHECK_EQ(s.class_pools[1], 1);
    /* Pairs on the kept pool: it empties at every free and stays. */
    for (int i = 0; i < 1000; i++) {
        void *q = ouro_raw_alloc(h, 32);
        CHECK(q != NULL);
        ouro_raw_free(h, q);
    }
    s = stats(h);
    CHECK_EQ(s.class_pools[1], 1);
    CHECK_EQ(s.bytes_in_use, 0);
    CHECK_EQ(s.peak_bytes_in_use, (size_t)N * 32);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* Totals only: the class counts are left as the caller had them. */
    ouro_heap_stats t;
    memset(&t, 0x5a, sizeof t);
    t.struct_size = offsetof(ouro_heap_stats, class_size);
    void *q = ouro_raw_alloc(h, 32);
    CHECK_EQ(ouro_heap_get_stats(h, &t), 0);
    CHECK_EQ(t.bytes_in_use, 32);
    CHECK_EQ(t.class_blocks[1], 0x5a5a5a5a5a5a5a5aull);
    ouro_raw_free(h, q);
    tl_heap_done(h);
}

TEST(versioned_stats_struct)
{
    ouro_heap *h = tl_heap();
    /* An older caller that knows only the first fields gets only those. */
    struct { size_t struct_size, bytes_in_use, peak; size_t canary; } old = {3 * sizeof(size_t), 0, 0, 77};
    void *p = ouro_raw_alloc(h, 100);
    CHECK_EQ(ouro_heap_get_stats(h, (ouro_heap_stats *)&old), 0);
    CHECK_EQ(old.bytes_in_use, 112);
    CHECK_EQ(old.canary, 77);
    ouro_raw_free(h, p);
    tl_heap_done(h);
}

/* Allocation prefers the fullest arena, so freeing most of a heap's blocks
 * from all arenas and then allocating again refills old arenas rather than
 * spreading over new ones. */
TEST(arenas_drain_and_return)
{
    /* Decay 0: an arena that empties goes back at once, as obmalloc's do. */
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    cfg.decay_bytes = 0;
    ouro_heap *h = tl_heap_cfg(&cfg);
    enum { N = 6000 }; /* 6000 * 512 B = ~3 arenas */
    void **p = malloc(N * sizeof *p);
    for (int i = 0; i < N; i++)
        p[i] = ouro_raw_alloc(h, 512);
    size_t arenas = stats(h).arenas;
    CHECK(arenas >= 3);
    /* free the second half: the arenas holding only those go back */
    for (int i = N / 2; i < N; i++)
        ouro_raw_free(h, p[i]);
    ouro_heap_stats s = stats(h);
    CHECK(s.arenas < arenas);
    CHECK(s.arenas_released >= 1);
    CHECK_EQ(ouro_heap_check(h), 0);
    for (int i = 0; i < N / 2; i++)
        ouro_raw_free(h, p[i]);
    CHECK(stats(h).arenas <= 2);
    free(p);
    tl_heap_done(h);
}

/* The brief's test: >= 1 GiB of small objects, freed, and RSS falls back. */
TEST(rss_falls_after_1gib)
{
    ouro_heap *h = tl_heap();
    size_t before = tl_rss();
    enum { N = 2200000 }; /* 2.2 M objects of 512 bytes = 1.05 GiB */
    ouro_object **objs = malloc(N * sizeof *objs);
    CHECK(objs);
    ouro_type t = {.name = "blob512", .basic_size = 512};
    for (int i = 0; i < N; i++) {
        objs[i] = ouro_new(h, &t);
        CHECK(objs[i]);
        memset((char *)objs[i] + 16, 1, 496); /* touch every page */
    }
    size_t peak = tl_rss();
    CHECK(peak - before >= (size_t)1 << 30);
    for (int i = 0; i < N; i++)
        ouro_decref(objs[i]);
    /* The empty arenas wait for their decay (1 GiB is more than the
     * default decay's 256 MiB, but nothing has been allocated since they
     * emptied); trim gives them back now. */
    CHECK(stats(h).empty_arenas >= 1000);
    CHECK(ouro_heap_trim(h) >= (size_t)1000 << 20);
    size_t after = tl_rss();
    fprintf(stderr, "rss: before %zu MiB, peak %zu MiB, after %zu MiB\n", before >> 20, peak >> 20, after >> 20);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.objects, 0);
    CHECK_EQ(s.arenas, 0);
    CHECK_EQ(s.empty_arenas, 0);
    CHECK(s.arenas_released >= 1000);
    /* Everything but the pointer array and the runtime went back.  Under
     * AddressSanitizer the shadow of the freed range (1/8 of it) stays
     * resident, so the bound there is looser. */
#if defined(__SANITIZE_ADDRESS__)
    CHECK(after < before + (peak - before) / 6 + ((size_t)64 << 20));
#else
    CHECK(after < before + ((size_t)64 << 20));
#endif
    free(objs);
    tl_heap_done(h);
}

/* An alloc+free pair around an empty heap must not map and unmap an arena
 * every time: one empty arena is kept. */
TEST(one_empty_arena_is_kept)
{
    ouro_heap *h = tl_heap();
    for (int i = 0; i < 1000; i++) {
        void *p = ouro_raw_alloc(h, 64);
        ouro_raw_free(h, p);
    }
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.arenas_allocated, 1);
    CHECK_EQ(s.arenas, 1);
    CHECK_EQ(ouro_heap_check(h), 0);
    tl_heap_done(h);
}

/* ---- decay of empty arenas
 *
 * 512-byte blocks: (16384 - 64) / 512 = 31 a pool, 64 pools an arena, so
 * 1984 blocks fill one arena exactly, and blocks allocated in order fill
 * arena after arena.  Freeing them all in order leaves the first pool
 * emptied as the class's kept pool (it was alone on the class's list when
 * it emptied), so arena 0 stays held and every other arena empties. */
enum { PER_ARENA = 1984, K = 8 };
#define MiB ((size_t)1 << 20)

/* A heap with the given decay, debug level and (unless NULL) counting
 * page source. */
static ouro_heap *heap_with_decay(int debug, tl_pages *pages, uint64_t bytes, uint64_t ms,
                                  uint64_t (*clock)(void *), void *ctx)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    if (pages)
        tl_pages_use(&cfg, pages);
    cfg.debug = debug;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    cfg.decay_bytes = bytes;
    cfg.decay_ms = ms;
    cfg.clock_ms = clock;
    cfg.clock_ctx = ctx;
    return tl_heap_cfg(&cfg);
}

static ouro_heap *decay_heap(uint64_t bytes, uint64_t ms, uint64_t (*clock)(void *), void *ctx)
{
    return heap_with_decay(OURO_DEBUG_CHECKS, NULL, bytes, ms, clock, ctx);
}

static void **fill_arenas(ouro_heap *h, int arenas)
{
    void **p = malloc((size_t)arenas * PER_ARENA * sizeof *p);
    CHECK(p);
    for (int i = 0; i < arenas * PER_ARENA; i++) {
        p[i] = ouro_raw_alloc(h, 512);
        CHECK(p[i]);
    }
    return p;
}

static void free_range(ouro_heap *h, void **p, int from, int to)
{
    for (int i = from; i < to; i++)
        ouro_raw_free(h, p[i]);
}

/* A large block allocated and freed: `size` bytes on the allocation clock
 * (a multiple of 4096 less the large header's 64) and two decay checks,
 * without touching any arena. */
static void advance_bytes(ouro_heap *h, size_t size)
{
    void *big = ouro_raw_alloc(h, size);
    CHECK(big);
        ouro_raw_free(h, big);
}

/* A heap that empties keeps its arenas for reuse, then returns them once
 * it has allocated decay_bytes since: mapped bytes back to the baseline
 * (the heap's own mapping and the arena of the class's kept pool). */
TEST(empty_arenas_decay_by_volume)
{
    ouro_heap *h = decay_heap(8 * MiB, OURO_DECAY_NEVER, NULL, NULL);
    size_t base = stats(h).mapped_bytes;
    void **p = fill_arenas(h, K);
    CHECK_EQ(stats(h).mapped_bytes, base + K * MiB);
    free_range(h, p, 0, K * PER_ARENA);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.bytes_in_use, 0);
    CHECK_EQ(s.empty_arenas, K - 1);
    CHECK_EQ(s.mapped_bytes, base + K * MiB); /* kept, not unmapped */
    CHECK_EQ(ouro_heap_check(h), 0);

    /* Building the same again takes them back: no page request. */
    size_t requested = s.arenas_allocated;
    free(fill_arenas(h, 0));
    void **q = fill_arenas(h, K);
    s = stats(h);
    CHECK_EQ(s.arenas_allocated, requested);
    CHECK_EQ(s.empty_arenas, 0);
    free_range(h, q, 0, K * PER_ARENA);
    free(q);
    CHECK_EQ(stats(h).empty_arenas, K - 1);

    /* 128 bytes short of 8 MiB allocated since they emptied: still kept. */
    advance_bytes(h, 4 * MiB - 64);
    advance_bytes(h, 4 * MiB - 64);
    s = stats(h);
    CHECK_EQ(s.empty_arenas, K - 1);
    CHECK_EQ(s.mapped_bytes, base + K * MiB);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* 8 MiB: past the decay at the next check (the large block's free). */
    advance_bytes(h, 4096 - 64);
    s = stats(h);
    CHECK_EQ(s.empty_arenas, 0);
    CHECK_EQ(s.mapped_bytes, base + MiB);
    CHECK_EQ(s.arenas, 1);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* and trim gives back the kept pool, and with it its arena */
    CHECK_EQ(ouro_heap_trim(h), MiB);
    s = stats(h);
    CHECK_EQ(s.mapped_bytes, base);
    CHECK_EQ(s.arenas, 0);
    CHECK_EQ(s.class_pools[31], 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    free(p);
    tl_heap_done(h);
}

static uint64_t fake_clock(void *ctx) { return *(uint64_t *)ctx; }

/* The same by time, on an injected clock: arenas emptied at different
 * times go back in the order they emptied, each decay_ms after. */
TEST(empty_arenas_decay_by_time)
{
    uint64_t now = 1000;
    ouro_heap *h = decay_heap(OURO_DECAY_NEVER, 100, fake_clock, &now);
    size_t base = stats(h).mapped_bytes;
    void **p = fill_arenas(h, K);
    /* arenas 1..3 empty at t=1000, arenas 4..7 at t=1050 */
    free_range(h, p, 0, K / 2 * PER_ARENA);
    CHECK_EQ(stats(h).empty_arenas, K / 2 - 1);
    now = 1050;
    free_range(h, p, K / 2 * PER_ARENA, K * PER_ARENA);
    CHECK_EQ(stats(h).empty_arenas, K - 1);
    now = 1099;
    CHECK_EQ(ouro_gc_collect(h, 0), 0); /* a collection is a decay check */
    CHECK_EQ(stats(h).mapped_bytes, base + K * MiB);
    now = 1100;
    ouro_gc_collect(h, 0);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.empty_arenas, K / 2);
    CHECK_EQ(s.mapped_bytes, base + (K / 2 + 1) * MiB);
    CHECK_EQ(ouro_heap_check(h), 0);
    now = 1150;
    ouro_gc_collect(h, 0);
    s = stats(h);
    CHECK_EQ(s.empty_arenas, 0);
    CHECK_EQ(s.mapped_bytes, base + MiB);
    CHECK_EQ(ouro_heap_check(h), 0);
    free(p);
    tl_heap_done(h);
}

/* ouro_heap_set_decay applies at once; ouro_heap_trim returns everything
 * empty whatever the decay. */
TEST(set_decay_and_trim)
{
    ouro_heap *h = decay_heap(OURO_DECAY_NEVER, OURO_DECAY_NEVER, NULL, NULL);
    size_t base = stats(h).mapped_bytes;
    void **p = fill_arenas(h, K);
    void *live = ouro_raw_alloc(h, 48); /* another class: a pool in arena K */
    free_range(h, p, 0, K * PER_ARENA);
    CHECK_EQ(stats(h).empty_arenas, K - 1);
    advance_bytes(h, 64 * MiB - 64); /* never decays */
    CHECK_EQ(stats(h).empty_arenas, K - 1);
    /* ~64 MiB allocated since they emptied is past a new decay of 32 MiB */
    CHECK_EQ(ouro_heap_set_decay(h, 32 * MiB, OURO_DECAY_NEVER), 0);
    CHECK_EQ(stats(h).empty_arenas, 0);
    CHECK_EQ(stats(h).mapped_bytes, base + 2 * MiB);
    CHECK_EQ(ouro_heap_set_decay(NULL, 0, 0), OURO_EINVAL);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* Refill and empty again, then trim: the K-1 empty arenas go and the
     * 512-byte class's kept pool with its arena; the arena holding the
     * live 48-byte block stays. */
    void **q = fill_arenas(h, K);
    CHECK_EQ(stats(h).mapped_bytes, base + (K + 1) * MiB);
    free_range(h, q, 0, K * PER_ARENA);
    CHECK_EQ(stats(h).empty_arenas, K - 1);
    CHECK_EQ(ouro_heap_trim(h), K * MiB);
    CHECK_EQ(stats(h).mapped_bytes, base + MiB);
    CHECK_EQ(ouro_heap_trim(h), 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    ouro_raw_free(h, live);
    /* The 48-byte pool is now the class's kept pool: trim takes it too. */
    CHECK_EQ(ouro_heap_trim(h), MiB);
    CHECK_EQ(stats(h).mapped_bytes, base);
    CHECK_EQ(ouro_heap_trim(NULL), 0);
    free(p);
    free(q);
    tl_heap_done(h);
}

/* Kept arenas are reused without asking the page source, so a build that
 * fits in them succeeds while every page request fails; the first request
 * past them fails cleanly and the heap stays consistent. */
TEST(page_failure_with_kept_arenas)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    cfg.fail_page_at = 2 + K; /* 1: the heap, 2..K+1: the arenas */
    cfg.fail_page_every = 1;
    ouro_heap *h = tl_heap_cfg(&cfg);
    size_t base = stats(h).mapped_bytes;
    void **p = fill_arenas(h, K);
    free_range(h, p, 0, K * PER_ARENA);
    free(p);
    p = fill_arenas(h, K);
    CHECK_EQ(stats(h).arenas_allocated, K);
    CHECK(ouro_raw_alloc(h, 512) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ENOMEM);
    CHECK(ouro_raw_alloc(h, 100000) == NULL);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* Frees refill the kept arenas; allocation works again from them.  (The
     * refill took arena 0 first, then the empty list newest first: 7, 6,
     * ... 1, so the second half is arenas 4..1, and the pool that empties
     * first, in arena 4, stays as the class's kept pool.) */
    free_range(h, p, K / 2 * PER_ARENA, K * PER_ARENA);
    CHECK_EQ(stats(h).empty_arenas, K / 2 - 1);
    void *x = ouro_raw_alloc(h, 512);
    CHECK(x);
    CHECK_EQ(ouro_heap_check(h), 0);
    ouro_raw_free(h, x);
    free_range(h, p, 0, K / 2 * PER_ARENA);
    CHECK_EQ(ouro_heap_trim(h), K * MiB);
    CHECK_EQ(stats(h).mapped_bytes, base);
    CHECK_EQ(ouro_heap_check(h), 0);
    free(p);
    tl_heap_done(h);
}

TEST(custom_page_source_gets_everything_back)
{
    tl_pages c = {0};
    ouro_config cfg;
    ouro_config_init(&cfg);
    tl_pages_use(&cfg, &c);
    cfg.leak_policy = OURO_LEAKS_FAIL;
    ouro_heap *h = tl_heap_cfg(&cfg);
    void *big = ouro_raw_alloc(h, 100000);
    ouro_object *o = tn_new(h);
    CHECK(c.allocs == 3); /* heap, large block, arena */
    ouro_raw_free(h, big);
    ouro_decref(o);
    tl_heap_done(h);
    CHECK_EQ(c.allocs, c.frees);
    CHECK_EQ(c.bytes, 0);
}

static void *bad_alloc(void *ctx, size_t size)
{
    (void)ctx;
    /* page-aligned but not 16 KiB-aligned: breaks the contract */
    void *p = NULL;
    if (posix_memalign(&p, 16384, size + 4096) != 0)
        return NULL;
    return (char *)p + 4096;
}

static void bad_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    free((char *)p - 4096);
}

TEST(misaligned_page_source_is_refused)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.pages.alloc = bad_alloc;
    cfg.pages.free = bad_free;
    CHECK(ouro_heap_new(&cfg) == NULL);
}

TEST(page_failure_leaves_heap_consistent)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    cfg.fail_page_at = 2; /* request 1 is the heap itself, 2 the first arena */
    ouro_heap *h = tl_heap_cfg(&cfg);
    CHECK(ouro_raw_alloc(h, 64) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ENOMEM);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* only request 2 fails: the next succeeds */
    void *p = ouro_raw_alloc(h, 64);
    CHECK(p);
    ouro_raw_free(h, p);
    tl_heap_done(h);
    /* and with every request from the 2nd on failing, nothing works but
     * nothing breaks */
    cfg.fail_page_every = 1;
    h = tl_heap_cfg(&cfg);
    for (int i = 0; i < 10; i++) {
        CHECK(ouro_raw_alloc(h, 64) == NULL);
        CHECK(tn_new(h) == NULL);
        CHECK(ouro_raw_alloc(h, 100000) == NULL);
    }
    CHECK_EQ(ouro_heap_check(h), 0);
    tl_heap_done(h);
}

TEST(page_failure_every_kth)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_FAIL;
    cfg.fail_page_at = 3;
    cfg.fail_page_every = 2;
    ouro_heap *h = tl_heap_cfg(&cfg);
    /* large blocks each take one page request: 2 ok, 3 fails, 4 ok, 5 fails */
    void *a = ouro_raw_alloc(h, 10000);
    void *b = ouro_raw_alloc(h, 10000);
    void *c = ouro_raw_alloc(h, 10000);
    void *d = ouro_raw_alloc(h, 10000);
    CHECK(a && !b && c && !d);
    CHECK_EQ(ouro_heap_check(h), 0);
    ouro_raw_free(h, a);
    ouro_raw_free(h, c);
    tl_heap_done(h);
}

TEST(first_page_failure_fails_heap_creation)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.fail_page_at = 1;
    CHECK(ouro_heap_new(&cfg) == NULL);
}

static int count_objects(ouro_object *o, void *arg)
{
    (void)o;
    (*(int *)arg)++;
    return 0;
}

TEST(walk_visits_every_object_not_raw_blocks)
{
    ouro_heap *h = tl_heap();
    ouro_object *o[500];
    void *raw[50];
    for (int i = 0; i < 500; i++)
        o[i] = tn_new(h);
    for (int i = 0; i < 50; i++)
        raw[i] = ouro_raw_alloc(h, i % 2 ? 32 : 9000);
    ouro_object *big = ouro_new_sized(h, &tplain_type, 100000);
    int n = 0;
    CHECK_EQ(ouro_heap_walk(h, count_objects, &n), 0);
    CHECK_EQ(n, 501);
    for (int i = 0; i < 500; i += 2)
        ouro_decref(o[i]);
    n = 0;
    ouro_heap_walk(h, count_objects, &n);
    CHECK_EQ(n, 251);
    for (int i = 1; i < 500; i += 2)
        ouro_decref(o[i]);
    for (int i = 0; i < 50; i++)
        ouro_raw_free(h, raw[i]);
    ouro_decref(big);
    tl_heap_done(h);
}

TEST(two_heaps_do_not_interfere)
{
    ouro_heap *a = tl_heap(), *b = tl_heap();
    ouro_object *x[100], *y[100];
    for (int i = 0; i < 100; i++) {
        x[i] = tn_new(a);
        y[i] = tn_new(b);
        CHECK(ouro_heap_of(x[i]) == a && ouro_heap_of(y[i]) == b);
    }
    for (int i = 0; i < 99; i++) {
        tn_link(x[i], x[i + 1]);
        tn_link(y[i + 1], y[i]);
    }
    tn_link(x[99], x[0]);
    for (int i = 0; i < 100; i++)
        ouro_decref(x[i]);
    CHECK_EQ(ouro_gc_collect(b, 2), 0);
    CHECK_EQ(ouro_gc_collect(a, 2), 100);
    tl_heap_done(a);
    CHECK_EQ(ouro_heap_check(b), 0);
    for (int i = 0; i < 100; i++)
        ouro_decref(y[i]);
    tl_heap_done(b);
}

static uintptr_t pool_of(const void *p) { return (uintptr_t)p & ~(uintptr_t)((1u << 14) - 1); }

/* A pool that was full goes back last on its class's list: allocation
 * goes on from the pool it was using, and reaches the freed block only
 * once that pool is full.  (Back first, as obmalloc does, a program that
 * frees and allocates at random made three operations in four take the
 * slow paths: docs/performance.md, W6 mixed sizes.) */
TEST(a_pool_that_was_full_is_filled_last)
{
    ouro_heap *h = tl_heap();
    enum { MAX = 1200 };
    static void *p[MAX];
    int n = 0;
    /* pool A full, pool B with three blocks */
    p[n++] = ouro_raw_alloc(h, 64);
    while (n < MAX) {
        p[n] = ouro_raw_alloc(h, 64);
        CHECK(p[n] != NULL);
        n++;
        if (pool_of(p[n - 1]) != pool_of(p[0]))
            break;
    }
    CHECK(n < MAX);
    int first_b = n - 1;
    p[n++] = ouro_raw_alloc(h, 64);
    p[n++] = ouro_raw_alloc(h, 64);
    CHECK(pool_of(p[n - 1]) == pool_of(p[first_b]));
    CHECK_EQ(ouro_heap_check(h), 0);

    void *x = p[first_b / 2]; /* a block of A, which is full */
    ouro_raw_free(h, x);
    p[first_b / 2] = NULL;
    CHECK_EQ(ouro_heap_check(h), 0);
    void *y = ouro_raw_alloc(h, 64);
    CHECK(y != x);
    CHECK(pool_of(y) == pool_of(p[first_b])); /* from B */
    p[n++] = y;
    /* fill B: the first block not of B is x */
    void *q = NULL;
    while (n < MAX) {
        q = ouro_raw_alloc(h, 64);
        CHECK(q != NULL);
        if (pool_of(q) != pool_of(p[first_b]))
            break;
        p[n++] = q;
    }
    CHECK(q == x);
    p[first_b / 2] = q;
    CHECK_EQ(ouro_heap_check(h), 0);
    for (int i = 0; i < n; i++)
        ouro_raw_free(h, p[i]);
    CHECK_EQ(stats(h).bytes_in_use, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    tl_heap_done(h);
}

/* Random frees and allocations of every size class, raw blocks and
 * objects, the heap checked as they go (the used lists' links and last
 * pools included), then everything freed. */
TEST(random_sizes_keep_the_pool_lists_whole)
{
    ouro_heap *h = tl_heap();
    enum { SLOTS = 4096, STEPS = 60000 };
    static void *raw[SLOTS];
    static ouro_object *obj[SLOTS];
    memset(raw, 0, sizeof raw);
    memset(obj, 0, sizeof obj);
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < STEPS; i++) {
        x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
        uint64_t r = x * 0x2545F4914F6CDD1DULL;
        size_t k = (size_t)(r % SLOTS);
        size_t size = 1 + (size_t)((r >> 16) % (r & 0x100000 ? 2048 : 256));
        if (r & 0x200000) {
            ouro_raw_free(h, raw[k]);
            raw[k] = ouro_raw_alloc(h, size);
            CHECK(raw[k] != NULL);
            memset(raw[k], 0x5A, size);
        } else {
            ouro_xdecref(obj[k]);
            obj[k] = ouro_new_sized(h, &tleaf_type, size < 64 ? 64 : size);
            CHECK(obj[k] != NULL);
        }
        if (i % 5000 == 0)
            CHECK_EQ(ouro_heap_check(h), 0);
    }
    CHECK_EQ(ouro_heap_check(h), 0);
    for (int k = 0; k < SLOTS; k++) {
        ouro_raw_free(h, raw[k]);
        ouro_xdecref(obj[k]);
    }
    CHECK_EQ(stats(h).bytes_in_use, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    tl_heap_done(h);
}

/* ---- kept large blocks
 *
 * A release heap counting its page requests, with the given decay. */
static ouro_heap *large_heap(tl_pages *c, uint64_t bytes, uint64_t ms, uint64_t (*clock)(void *),
                             void *ctx)
{
    return heap_with_decay(OURO_DEBUG_OFF, c, bytes, ms, clock, ctx);
}

#define KiB ((size_t)1024)

/* The heap checked and freed, and every page it took given back. */
static void large_heap_done(ouro_heap *h, tl_pages *c)
{
    CHECK_EQ(ouro_heap_check(h), 0);
    tl_heap_done(h);
    CHECK_EQ(c->allocs, c->frees);
    CHECK_EQ(c->bytes, 0);
}

/* A large block allocated and freed in a loop maps once: its mapping is
 * kept and reused, for a request of its size or up to a quarter less. */
TEST(a_freed_large_block_is_kept_and_reused)
{
    tl_pages c = {0};
    ouro_heap *h = large_heap(&c, 256 * MiB, OURO_DECAY_NEVER, NULL, NULL);
    size_t before = c.allocs;
    void *first = ouro_raw_alloc(h, 64 * KiB), *second = NULL;
    CHECK(first);
    for (int i = 0; i < 1000; i++) {
        void *p = ouro_raw_alloc(h, 64 * KiB);
        if (i == 0)
            second = p;
        CHECK(p == second);
        memset(p, i, 64 * KiB);
        ouro_raw_free(h, p);
    }
    ouro_raw_free(h, first);
    CHECK_EQ(c.allocs - before, 2);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.large_blocks, 0);
    CHECK_EQ(s.large_kept, 2);
    CHECK_EQ(s.large_kept_bytes, 2 * 68 * KiB); /* the header takes a page */
    CHECK_EQ(ouro_heap_check(h), 0);

    /* 48 KiB, a 52 KiB mapping: a kept 68 KiB one is more than a quarter
     * bigger, so a new mapping.  56 KiB, a 60 KiB mapping: a kept one does
     * (8 KiB over, under a quarter), and the block has its whole mapping. */
    void *small = ouro_raw_alloc(h, 48 * KiB);
    CHECK_EQ(c.allocs - before, 3);
    void *mid = ouro_raw_alloc(h, 56 * KiB);
    CHECK_EQ(c.allocs - before, 3);
    s = stats(h);
    CHECK_EQ(s.large_kept, 1);
    CHECK_EQ(s.large_bytes, (52 * KiB - 64) + (68 * KiB - 64));
    CHECK_EQ(ouro_heap_check(h), 0);
    ouro_raw_free(h, small);
    ouro_raw_free(h, mid);
    CHECK_EQ(stats(h).large_kept, 3);
    /* trim gives them all back */
    size_t mapped = stats(h).mapped_bytes;
    CHECK_EQ(ouro_heap_trim(h), 2 * 68 * KiB + 52 * KiB);
    s = stats(h);
    CHECK_EQ(s.large_kept, 0);
    CHECK_EQ(s.large_kept_bytes, 0);
    CHECK_EQ(s.mapped_bytes, mapped - 2 * 68 * KiB - 52 * KiB);
    large_heap_done(h, &c);
}

/* At most 16 kept, 32 MiB mapped in all, none over 4 MiB; the oldest go
 * first; the heap's end gives the kept ones back. */
TEST(kept_large_blocks_are_bounded)
{
    tl_pages c = {0};
    ouro_heap *h = large_heap(&c, 256 * MiB, OURO_DECAY_NEVER, NULL, NULL);
    void *p[20];
    for (int i = 0; i < 20; i++)
        CHECK((p[i] = ouro_raw_alloc(h, 8 * KiB)) != NULL);
    for (int i = 0; i < 20; i++)
        ouro_raw_free(h, p[i]);
    CHECK_EQ(stats(h).large_kept, 16);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* the newest 16 are kept, and reused newest first */
    for (int i = 19; i >= 4; i--)
        CHECK(ouro_raw_alloc(h, 8 * KiB) == p[i]);
    CHECK_EQ(stats(h).large_kept, 0);
    for (int i = 19; i >= 4; i--)
        ouro_raw_free(h, p[i]);
    CHECK_EQ(ouro_heap_trim(h), 16 * 12 * KiB);

    /* 4 MiB mappings (4 MiB less the header): eight fill the 32 MiB */
    void *b[9];
    for (int i = 0; i < 9; i++)
        CHECK((b[i] = ouro_raw_alloc(h, 4 * MiB - 64)) != NULL);
    for (int i = 0; i < 9; i++)
        ouro_raw_free(h, b[i]);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.large_kept, 8);
    CHECK_EQ(s.large_kept_bytes, 32 * MiB);
    /* one byte more is a page more: over 4 MiB, never kept */
    size_t mapped = s.mapped_bytes;
    void *big = ouro_raw_alloc(h, 4 * MiB - 63);
    CHECK(big);
    ouro_raw_free(h, big);
    s = stats(h);
    CHECK_EQ(s.large_kept, 8);
    CHECK_EQ(s.mapped_bytes, mapped);
    large_heap_done(h, &c);
}

/* Kept blocks go back to the page source at the heap's decay, by volume
 * and by time, as empty arenas do; a debug heap keeps none. */
TEST(kept_large_blocks_decay)
{
    tl_pages c = {0};
    ouro_heap *h = large_heap(&c, 1 * MiB, OURO_DECAY_NEVER, NULL, NULL);
    void *p = ouro_raw_alloc(h, 100000);
    ouro_raw_free(h, p);
    CHECK_EQ(stats(h).large_kept, 1);
    /* 512-byte blocks, 31 a pool: a decay check at every new pool.  Half
     * a MiB allocated since: kept; 2,100 blocks (1.03 MiB, the last pool
     * started after the first MiB): given back. */
    static void *q[2100];
    for (int i = 0; i < 1000; i++)
        CHECK((q[i] = ouro_raw_alloc(h, 512)) != NULL);
    CHECK_EQ(stats(h).large_kept, 1);
    CHECK_EQ(ouro_heap_check(h), 0);
    for (int i = 1000; i < 2100; i++)
        CHECK((q[i] = ouro_raw_alloc(h, 512)) != NULL);
    ouro_heap_stats s = stats(h);
    CHECK_EQ(s.large_kept, 0);
    CHECK_EQ(s.large_kept_bytes, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    for (int i = 0; i < 2100; i++)
        ouro_raw_free(h, q[i]);
    tl_heap_done(h);

    uint64_t now = 1000;
    h = large_heap(&c, OURO_DECAY_NEVER, 50, fake_clock, &now);
    p = ouro_raw_alloc(h, 100000);
    ouro_raw_free(h, p);
    CHECK_EQ(stats(h).large_kept, 1);
    now += 49;
    ouro_raw_free(h, ouro_raw_alloc(h, 300000)); /* a check at 49 ms: kept */
    CHECK_EQ(stats(h).large_kept, 2);
    now += 1;
    ouro_raw_free(h, ouro_raw_alloc(h, 700000)); /* at 50 ms the first goes */
    s = stats(h);
    CHECK_EQ(s.large_kept, 2);
    CHECK_EQ(s.large_kept_bytes, (size_t)(300000 + 64 + 4095) / 4096 * 4096 +
                                     (size_t)(700000 + 64 + 4095) / 4096 * 4096);
    CHECK_EQ(ouro_heap_check(h), 0);
    tl_heap_done(h);
    CHECK_EQ(c.allocs, c.frees);

    h = tl_heap(); /* debug checks */
    p = ouro_raw_alloc(h, 100000);
    size_t mapped = stats(h).mapped_bytes;
    ouro_raw_free(h, p);
    s = stats(h);
    CHECK_EQ(s.large_kept, 0);
    CHECK_EQ(s.mapped_bytes, mapped - (size_t)(100000 + 64 + 4095) / 4096 * 4096);
    tl_heap_done(h);
}

/* Memory kept for reuse never makes an allocation fail: refused, the heap
 * gives back its kept large blocks (and, for a large block, its empty
 * arenas) and asks again. */
TEST(kept_memory_goes_back_before_an_allocation_fails)
{
    tl_pages b = {.limit = 40 * MiB};
    ouro_heap *h = large_heap(&b, 256 * MiB, 10000, NULL, NULL);
    /* eight 4 MiB blocks kept: 32 MiB of the 40 */
    void *p[8];
    for (int i = 0; i < 8; i++)
        CHECK((p[i] = ouro_raw_alloc(h, 4 * MiB - 64)) != NULL);
    for (int i = 0; i < 8; i++)
        ouro_raw_free(h, p[i]);
    CHECK_EQ(stats(h).large_kept, 8);
    /* a 16 MiB block fits only once they are gone */
    void *big = ouro_raw_alloc(h, 16 * MiB);
    CHECK(big != NULL);
    CHECK_EQ(b.refused, 1);
    CHECK_EQ(stats(h).large_kept, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    ouro_raw_free(h, big);

    /* arenas: kept blocks go back for a new arena too */
    for (int i = 0; i < 8; i++)
        CHECK((p[i] = ouro_raw_alloc(h, 4 * MiB - 64)) != NULL);
    for (int i = 0; i < 8; i++)
        ouro_raw_free(h, p[i]);
    CHECK_EQ(stats(h).large_kept, 8);
    static void *q[16 * PER_ARENA];
    int n = 0;
    while (n < 16 * PER_ARENA && (q[n] = ouro_raw_alloc(h, 512)) != NULL)
        n++;
    CHECK_EQ(n, 16 * PER_ARENA); /* 16 MiB of arenas: all of them */
    CHECK_EQ(stats(h).large_kept, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* and empty arenas go back for a large block */
    for (int i = 0; i < n; i++)
        ouro_raw_free(h, q[i]);
    CHECK(stats(h).empty_arenas >= 14);
    big = ouro_raw_alloc(h, 30 * MiB);
    CHECK(big != NULL);
    CHECK_EQ(stats(h).empty_arenas, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    ouro_raw_free(h, big);
    large_heap_done(h, &b);
}
