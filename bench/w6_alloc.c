/*
 * w6_alloc.c — workload 6: the allocator on its own.
 *
 *   w6 pairs SIZE N     N times: allocate SIZE bytes, write a byte, free it
 *                       (stopping early after 2 s); then the same with one
 *                       other block kept allocated (live1_ns_per_op)
 *   w6 bulk SIZE N      allocate N blocks of SIZE bytes, then free them all
 *                       in allocation order (timed as one, and per phase);
 *                       then, untimed, the memory kept: resident bytes
 *                       (and ouro's mapped bytes) right after, after more
 *                       work (256 MiB in 64 KiB blocks, each freed at
 *                       once: past ouro's default decay), and after the
 *                       allocator's trim (malloc_trim, mi_collect,
 *                       jemalloc's purge, GC_gcollect_and_unmap,
 *                       ouro_heap_trim)
 *   w6 mixed SLOTS N    N steps over SLOTS slots (a power of two): pick a
 *                       random slot, free what it holds, allocate a block of
 *                       a random size there; sizes are skewed small (half
 *                       16-64 bytes, 30% to 256, 15% to 512, 5% to 2048),
 *                       the way an interpreter's requests are
 *
 * Built once per peer (peer.h), and once more as PEER_OURO_OBJ, which
 * allocates objects instead of raw blocks: ouro_new of a non-collected type
 * of the block size and ouro_decref, i.e. what a Python object's allocation
 * costs on top of the pool (header initialisation, zeroing, statistics).
 *
 * Every block gets one byte written, so that no allocator is rewarded for
 * handing out memory nobody touches; the `@check` line is the same for every
 * peer of a case (it is derived from the request sequence only).
 */
#if defined(PEER_OURO_OBJ)
#include "common.h"
#include "ouro.h"
#define PEER_NAME "ouro-obj"
static ouro_heap *obj_heap;
/* The fixed-size type: its size is set once, before the first ouro_new. */
static ouro_type fixed_type = {.name = "block", .basic_size = 16};
static ouro_type sized_type = {.name = "sized", .basic_size = 16};
static void peer_init(void)
{
    obj_heap = ouro_heap_new(NULL);
    if (!obj_heap)
        bench_die("ouro_heap_new failed");
    printf("@peer ouro-obj %s\n", ouro_version());
}
static inline void *fixed_alloc(size_t n)
{
    (void)n;
    return ouro_new(obj_heap, &fixed_type);
}
static inline void *sized_alloc(size_t n)
{
    return ouro_new_sized(obj_heap, &sized_type, n < sizeof(ouro_object) ? sizeof(ouro_object) : n);
}
static inline void block_free(void *p) { ouro_decref((ouro_object *)p); }
static inline void peer_trim(void) { ouro_heap_trim(obj_heap); }
static inline void *peer_alloc(size_t n) { return ouro_raw_alloc(obj_heap, n); }
static inline void peer_free(void *p) { ouro_raw_free(obj_heap, p); }
#define PEER_HEAP obj_heap
/* Objects carry their header in the first 16 bytes, which ouro_new has
 * written already: touch the first byte after it, if there is one. */
#define TOUCH(p, n) ((n) > 16 ? (void)(((volatile unsigned char *)(p))[16] = 1) : (void)0)
#else
#include "peer.h"
static inline void *fixed_alloc(size_t n) { return peer_alloc(n); }
static inline void *sized_alloc(size_t n) { return peer_alloc(n); }
static inline void block_free(void *p) { peer_free(p); }
#define TOUCH(p, n) (((volatile unsigned char *)(p))[0] = 1)
#endif

/* The harness's own pointer arrays.  Boehm must see the pointers in them,
 * or it would collect blocks the workload still means to free. */
static void **slot_array(size_t n)
{
#if defined(PEER_BOEHM)
    void **v = GC_MALLOC_UNCOLLECTABLE(n * sizeof *v);
#else
    void **v = calloc(n, sizeof *v);
#endif
    if (!v)
        bench_die("out of memory");
    /* Fault it in now: it is the harness's memory, not the allocator's. */
    memset(v, 0, n * sizeof *v);
    return v;
}

static void slot_array_free(void **v)
{
#if defined(PEER_BOEHM)
    GC_FREE(v);
#else
    free(v);
#endif
}

static void setup_fixed(size_t size)
{
#if defined(PEER_OURO_OBJ)
    fixed_type.basic_size = size < sizeof(ouro_object) ? sizeof(ouro_object) : size;
#else
    (void)size;
#endif
}

/* Up to n alloc/free pairs, stopping early once `budget` seconds have
 * passed (checked every 4096 pairs), so that a pathologically slow peer
 * does not hold the whole run hostage; returns the pairs done. */
static long pair_loop(size_t size, long n, double budget, double *elapsed)
{
    double t0 = bench_now();
    long done = 0;
    while (done < n) {
        long chunk = n - done < 4096 ? n - done : 4096;
        for (long i = 0; i < chunk; i++) {
            void *p = fixed_alloc(size);
            if (__builtin_expect(!p, 0))
                bench_die("out of memory");
            TOUCH(p, size);
            bench_escape(p);
            block_free(p);
        }
        done += chunk;
        if (bench_now() - t0 > budget)
            break;
    }
    *elapsed = bench_now() - t0;
    return done;
}

static void run_pairs(size_t size, long n)
{
    setup_fixed(size);
    /* One untimed round trip, so that the first pool/arena/page is not
     * charged to the timed loop for some peers and not others. */
    void *w = fixed_alloc(size);
    block_free(w);
    double t, t_live;
    long done = pair_loop(size, n, 2.0, &t);
    /* The same loop while one other block of the size stays allocated, as
     * in any program with live data: an allocator that gives its last
     * empty pool or arena back at once pays for that in the loop above
     * but not here. */
    void *keep = fixed_alloc(size);
    long done_live = pair_loop(size, n, 2.0, &t_live);
    bench_escape(keep);
    block_free(keep);
    bench_result("time_s", t);
    bench_result("pairs", (double)done);
    bench_result("ns_per_op", t * 1e9 / (double)done);
    bench_result("live1_ns_per_op", t_live * 1e9 / (double)done_live);
    bench_check("pairs %zu", size);
}

/* Resident bytes over `rss0`, in MiB, as `@<what>_mib` (and ouro's mapped
 * bytes, its own figure, as `@mapped_<what>_mib`). */
static void report_kept(const char *what, size_t rss0)
{
    char name[64];
    snprintf(name, sizeof name, "rss_%s_mib", what);
    bench_result(name, ((double)bench_rss_now() - (double)rss0) / 1048576.0);
#if defined(PEER_HEAP)
    ouro_heap_stats s;
    s.struct_size = offsetof(ouro_heap_stats, class_size);
    ouro_heap_get_stats(PEER_HEAP, &s);
    snprintf(name, sizeof name, "mapped_%s_mib", what);
    bench_result(name, (double)s.mapped_bytes / 1048576.0);
#endif
}

/* What the allocator keeps once a program has freed everything: right
 * away, after more work that allocates 256 MiB in 64 KiB blocks freed one
 * by one (the same requests for every peer; past ouro's default decay of
 * 256 MiB allocated), and after its trim.  Untimed. */
static void kept_after_free(size_t rss0)
{
    report_kept("after_free", rss0);
    for (int i = 0; i < 4097; i++) {
        void *p = peer_alloc(65536);
        if (!p)
            bench_die("out of memory");
        ((volatile unsigned char *)p)[0] = 1;
        bench_escape(p);
        peer_free(p);
    }
    report_kept("after_decay", rss0);
#if !defined(PEER_NO_TRIM)
    peer_trim();
    report_kept("after_trim", rss0);
#endif
}

static void run_bulk(size_t size, long n)
{
    setup_fixed(size);
    void **v = slot_array((size_t)n);
    size_t rss0 = bench_rss_now();
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        void *p = fixed_alloc(size);
        if (__builtin_expect(!p, 0))
            bench_die("out of memory");
        TOUCH(p, size);
        v[i] = p;
    }
    double t1 = bench_now();
    for (long i = 0; i < n; i++)
        block_free(v[i]);
    double t2 = bench_now();
    bench_escape(v);
    bench_result("time_s", t2 - t0);
    bench_result("alloc_s", t1 - t0);
    bench_result("free_s", t2 - t1);
    bench_result("ns_per_op", (t2 - t0) * 1e9 / (double)n);
    kept_after_free(rss0);
    slot_array_free(v);
    bench_check("bulk %zu %ld", size, n);
}

static size_t mixed_size(bench_rng *r)
{
    uint64_t x = bench_rand(r);
    unsigned pick = (unsigned)(x % 100);
    uint64_t y = x >> 8;
    if (pick < 50)
        return 16 + (size_t)(y % 49);  /* 16..64 */
    if (pick < 80)
        return 65 + (size_t)(y % 192); /* 65..256 */
    if (pick < 95)
        return 257 + (size_t)(y % 256); /* 257..512 */
    return 513 + (size_t)(y % 1536);   /* 513..2048 */
}

static void run_mixed(long slots, long n)
{
    if (slots <= 0 || (slots & (slots - 1)))
        bench_die("mixed: SLOTS must be a power of two");
    void **v = slot_array((size_t)slots);
    bench_rng r = {0x9E3779B97F4A7C15ULL};
    uint64_t sum = 0;
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        uint64_t x = bench_rand(&r);
        size_t k = (size_t)(x & (uint64_t)(slots - 1));
        if (v[k])
            block_free(v[k]);
        size_t size = mixed_size(&r);
        sum += size;
        void *p = sized_alloc(size);
        if (__builtin_expect(!p, 0))
            bench_die("out of memory");
        TOUCH(p, size);
        v[k] = p;
    }
    for (long k = 0; k < slots; k++)
        if (v[k])
            block_free(v[k]);
    double t = bench_now() - t0;
    slot_array_free(v);
    bench_result("time_s", t);
    bench_result("ns_per_op", t * 1e9 / (double)n);
    bench_check("mixed %ld %ld %" PRIu64, slots, n, sum);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s pairs|bulk SIZE N | mixed SLOTS N\n", argv[0]);
        return 2;
    }
    peer_init();
    long a = bench_arg_long(argc, argv, 2, 0);
    long n = bench_arg_long(argc, argv, 3, 0);
    if (a <= 0 || n <= 0)
        bench_die("arguments must be positive");
    if (!strcmp(argv[1], "pairs"))
        run_pairs((size_t)a, n);
    else if (!strcmp(argv[1], "bulk"))
        run_bulk((size_t)a, n);
    else if (!strcmp(argv[1], "mixed"))
        run_mixed(a, n);
    else
        bench_die("unknown case");
    return 0;
}
