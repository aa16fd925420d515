/* Allocation tracing (tracemalloc): every expected value is arithmetic over
 * a known heap.  tleaf objects are 32 bytes (a 32-byte block); tnode
 * objects are 56 bytes (a 64-byte block); a raw request of 100 bytes gets a
 * 112-byte block. */
#include "testlib.h"
#include "ttypes.h"

#include <math.h>
#include <string.h>

static ouro_heap_stats stats(ouro_heap *h)
{
    ouro_heap_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    ouro_heap_get_stats(h, &s);
    return s;
}

static int same_stats(ouro_heap_stats a, ouro_heap_stats b)
{
    return a.bytes_in_use == b.bytes_in_use && a.peak_bytes_in_use == b.peak_bytes_in_use &&
           a.objects == b.objects && a.arenas == b.arenas && a.mapped_bytes == b.mapped_bytes &&
           memcmp(a.class_blocks, b.class_blocks, sizeof a.class_blocks) == 0;
}

TEST(trace_start_stop)
{
    ouro_heap *h = tl_heap();
    CHECK(!ouro_trace_is_tracing(h));
    CHECK_EQ(ouro_trace_get_traceback_limit(h), 1);
    CHECK_EQ(ouro_trace_start(h, 0), OURO_EINVAL);
    CHECK_EQ(ouro_trace_start(h, OURO_TRACE_MAX_FRAMES + 1), OURO_EINVAL);
    CHECK_EQ(ouro_trace_start(h, 5), 0);
    CHECK(ouro_trace_is_tracing(h));
    CHECK_EQ(ouro_trace_get_traceback_limit(h), 5);
    CHECK_EQ(ouro_trace_start(h, 5), 0); /* again: nothing changes */
    /* Nor with another limit: CPython 3.11 keeps the first one
     * (tracemalloc.start(1); tracemalloc.start(5);
     * tracemalloc.get_traceback_limit() is 1). */
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    CHECK_EQ(ouro_trace_get_traceback_limit(h), 5);
    CHECK(ouro_trace_get_tracer_memory(h) > 0);
    CHECK_EQ(ouro_trace_stop(h), 0);
    CHECK(!ouro_trace_is_tracing(h));
    CHECK_EQ(ouro_trace_stop(h), 0);
    size_t cur = 1, peak = 1;
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK(cur == 0 && peak == 0);
    CHECK(ouro_trace_take_snapshot(h) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ENOTFOUND);
    tl_heap_done(h);
}

TEST(traced_memory_current_and_peak)
{
    ouro_heap *h = tl_heap();
    ouro_object *keep = ouro_new(h, &tleaf_type); /* before tracing: not traced */
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    ouro_object *o[100];
    for (int i = 0; i < 100; i++)
        o[i] = ouro_new(h, &tleaf_type);
    size_t cur, peak;
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 100 * 32);
    CHECK_EQ(peak, 100 * 32);
    CHECK_EQ(ouro_trace_get_count(h), 100);
    for (int i = 0; i < 50; i++)
        ouro_decref(o[i]);
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 50 * 32);
    CHECK_EQ(peak, 100 * 32);
    ouro_trace_reset_peak(h);
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(peak, 50 * 32);
    void *raw[10];
    for (int i = 0; i < 10; i++)
        raw[i] = ouro_raw_alloc(h, 100);
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 50 * 32 + 10 * 112);
    ouro_decref(keep); /* untraced block freed: no change */
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 50 * 32 + 10 * 112);
    for (int i = 0; i < 10; i++)
        ouro_raw_free(h, raw[i]);
    for (int i = 50; i < 100; i++)
        ouro_decref(o[i]);
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 0);
    CHECK_EQ(peak, 50 * 32 + 10 * 112);
    CHECK_EQ(ouro_trace_get_count(h), 0);
    CHECK_EQ(ouro_trace_get_lost(h), 0);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

TEST(traceback_of_one_object)
{
    ouro_heap *h = tl_heap();
    ouro_trace_start(h, 1);
    int line = __LINE__ + 1;
    ouro_object *o = ouro_new(h, &tleaf_type);
    ouro_frame f[4];
    CHECK_EQ(ouro_trace_get_traceback(h, o, f, 4), 1);
    CHECK_EQ(f[0].line, line);
    CHECK(strstr(f[0].file, "test_inspect_trace.c") != NULL);
    CHECK_STR(f[0].func, "test_traceback_of_one_object");
    int dummy;
    CHECK_EQ(ouro_trace_get_traceback(h, &dummy, f, 4), 0); /* not a traced block */
    ouro_trace_stop(h);
    CHECK_EQ(ouro_trace_get_traceback(h, o, f, 4), 0);
    ouro_decref(o);
    tl_heap_done(h);
}

static int alloc_line;
__attribute__((noinline)) static ouro_object *inner_alloc(ouro_heap *h)
{
    alloc_line = __LINE__ + 1;
    ouro_object *o = ouro_new(h, &tleaf_type);
    __asm__ volatile("" ::: "memory"); /* keep this frame */
    return o;
}

__attribute__((noinline)) static ouro_object *outer_caller(ouro_heap *h)
{
    ouro_object *o = inner_alloc(h);
    __asm__ volatile("" ::: "memory");
    return o;
}

TEST(native_frames_name_the_callers)
{
    ouro_heap *h = tl_heap();
    CHECK_EQ(ouro_trace_start(h, 4), 0);
    ouro_object *o = outer_caller(h);
    ouro_frame f[8];
    int n = ouro_trace_get_traceback(h, o, f, 8);
    CHECK(n >= 2 && n <= 4);
    CHECK_EQ(f[0].line, alloc_line);
    CHECK_STR(f[0].func, "inner_alloc");
    CHECK(f[1].ip != 0);
    /* The first native frame is the site's caller (libdw names it; dladdr
     * only when the symbol is exported). */
    if (f[1].func)
        CHECK_STR(f[1].func, "outer_caller");
    ouro_snapshot *s = ouro_trace_take_snapshot(h);
    CHECK(s != NULL);
    CHECK_EQ(s->ntraces, 1);
    CHECK_EQ(s->traces[0].nframes, n);
    CHECK_EQ(s->nframes, 4);
    ouro_snapshot_free(s);
    ouro_decref(o);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

static void alloc_a(ouro_heap *h, ouro_object **o, int n)
{
    for (int i = 0; i < n; i++)
        o[i] = ouro_new(h, &tleaf_type); /* site A */
}

static void alloc_b(ouro_heap *h, ouro_object **o, int n)
{
    for (int i = 0; i < n; i++)
        o[i] = ouro_new(h, &tnode_type); /* site B */
}

static const ouro_trace_stat *find_func(const ouro_trace_stat *st, size_t n, const char *func)
{
    for (size_t i = 0; i < n; i++)
        if (st[i].frames[0].func && strcmp(st[i].frames[0].func, func) == 0)
            return &st[i];
    return NULL;
}

TEST(snapshot_statistics_by_line_file_traceback)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_trace_start(h, 1);
    ouro_object *a[100], *b[10];
    alloc_a(h, a, 100);
    alloc_b(h, b, 10);
    void *r = ouro_raw_alloc(h, 100);
    ouro_snapshot *s = ouro_trace_take_snapshot(h);
    CHECK(s != NULL);
    CHECK(s->tracing);
    CHECK_EQ(s->traced_current, 3200 + 640 + 112);
    size_t n;
    ouro_trace_stat *st = ouro_snapshot_statistics(s, OURO_STAT_LINE, 0, &n);
    CHECK(st != NULL);
    CHECK_EQ(n, 3);
    CHECK_EQ(st[0].size, 3200); /* largest first */
    CHECK_EQ(st[0].count, 100);
    CHECK_STR(st[0].frames[0].func, "alloc_a");
    CHECK_EQ(st[1].size, 640);
    CHECK_EQ(st[1].count, 10);
    CHECK_EQ(st[2].size, 112);
    char line[256];
    ouro_trace_stat_format(&st[0], 0, line, sizeof line);
    CHECK(strstr(line, "size=3200 B, count=100, average=32 B") != NULL);
    ouro_inspect_free(st);

    st = ouro_snapshot_statistics(s, OURO_STAT_FILE, 0, &n);
    CHECK_EQ(n, 1);
    CHECK_EQ(st[0].size, 3200 + 640 + 112);
    CHECK_EQ(st[0].count, 111);
    CHECK_EQ(st[0].frames[0].line, 0);
    ouro_inspect_free(st);

    st = ouro_snapshot_statistics(s, OURO_STAT_TRACEBACK, 0, &n);
    CHECK_EQ(n, 3);
    CHECK_EQ(st[0].size, 3200);
    ouro_inspect_free(st);
    CHECK(ouro_snapshot_statistics(s, OURO_STAT_TRACEBACK, 1, &n) == NULL);

    /* compare_to: free 40 of A, add 5 of B. */
    for (int i = 0; i < 40; i++)
        ouro_decref(a[i]);
    ouro_object *b2[5];
    alloc_b(h, b2, 5);
    ouro_snapshot *s2 = ouro_trace_take_snapshot(h);
    ouro_trace_stat *d = ouro_snapshot_compare(s2, s, OURO_STAT_LINE, 0, &n);
    CHECK_EQ(n, 3);
    const ouro_trace_stat *da = find_func(d, n, "alloc_a"), *db = find_func(d, n, "alloc_b");
    CHECK(da && db);
    CHECK_EQ(da->size, 60 * 32);
    CHECK_EQ(da->size_diff, -40 * 32);
    CHECK_EQ(da->count_diff, -40);
    CHECK_EQ(db->size, 15 * 64);
    CHECK_EQ(db->size_diff, 5 * 64);
    CHECK_EQ(db->count_diff, 5);
    CHECK(d == da); /* |-1280| > |+320|: A first */
    ouro_trace_stat_format(da, 1, line, sizeof line);
    CHECK(strstr(line, "size=1920 B (-1280 B), count=60 (-40), average=32 B") != NULL);
    ouro_inspect_free(d);

    ouro_snapshot_free(s);
    ouro_snapshot_free(s2);
    for (int i = 40; i < 100; i++)
        ouro_decref(a[i]);
    for (int i = 0; i < 10; i++)
        ouro_decref(b[i]);
    for (int i = 0; i < 5; i++)
        ouro_decref(b2[i]);
    ouro_raw_free(h, r);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

TEST(filters_by_file_line_and_domain)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_trace_start(h, 1);
    ouro_object *a[20];
    alloc_a(h, a, 20);
    void *r[3];
    for (int i = 0; i < 3; i++)
        r[i] = ouro_raw_alloc(h, 100);
    ouro_snapshot *s = ouro_trace_take_snapshot(h);
    size_t n;

    ouro_trace_filter only_raw = {1, NULL, 0, 0, OURO_DOMAIN_RAW};
    ouro_snapshot *f = ouro_snapshot_filter_traces(s, &only_raw, 1);
    ouro_trace_stat *st = ouro_snapshot_statistics(f, OURO_STAT_FILE, 0, &n);
    CHECK_EQ(n, 1);
    CHECK_EQ(st[0].size, 3 * 112);
    ouro_inspect_free(st);
    ouro_snapshot_free(f);

    ouro_trace_filter no_raw = {0, NULL, 0, 0, OURO_DOMAIN_RAW};
    f = ouro_snapshot_filter_traces(s, &no_raw, 1);
    st = ouro_snapshot_statistics(f, OURO_STAT_FILE, 0, &n);
    CHECK_EQ(st[0].size, 20 * 32);
    ouro_inspect_free(st);
    ouro_snapshot_free(f);

    ouro_trace_filter other_file = {1, "*/other.c", 0, 0, -1};
    f = ouro_snapshot_filter_traces(s, &other_file, 1);
    CHECK_EQ(f->ntraces, 0);
    ouro_snapshot_free(f);

    ouro_trace_filter this_file = {1, "*test_inspect_trace.c", 0, 0, -1};
    ouro_trace_filter drop_line = {0, "*test_inspect_trace.c", 0, 0, -1};
    /* Exclude the raw allocation's line only. */
    ouro_frame fr;
    CHECK_EQ(ouro_trace_get_traceback(h, r[0], &fr, 1), 1);
    drop_line.line = fr.line;
    ouro_trace_filter both[2] = {this_file, drop_line};
    f = ouro_snapshot_filter_traces(s, both, 2);
    st = ouro_snapshot_statistics(f, OURO_STAT_LINE, 0, &n);
    CHECK_EQ(n, 1);
    CHECK_EQ(st[0].size, 20 * 32);
    ouro_inspect_free(st);
    ouro_snapshot_free(f);

    f = ouro_snapshot_filter_traces(s, NULL, 0); /* no filters: a copy */
    CHECK_EQ(f->ntraces, s->ntraces);
    ouro_snapshot_free(f);

    ouro_snapshot_free(s);
    for (int i = 0; i < 20; i++)
        ouro_decref(a[i]);
    for (int i = 0; i < 3; i++)
        ouro_raw_free(h, r[i]);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

TEST(sampled_tracing_estimates_without_bias)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    CHECK_EQ(ouro_trace_start_sampled(h, 1, 1024), 0);
    CHECK_EQ(ouro_trace_get_sample_bytes(h), 1024);
    enum { N = 20000 };
    static ouro_object *o[N];
    for (int i = 0; i < N; i++)
        o[i] = ouro_new(h, &tleaf_type);
    size_t cur, peak;
    ouro_trace_get_traced_memory(h, &cur, &peak);
    double want = N * 32.0;
    /* About 625 samples: a relative error of 4% is one standard deviation. */
    CHECK(fabs((double)cur - want) < 0.15 * want);
    size_t samples = ouro_trace_get_count(h);
    CHECK(samples > 400 && samples < 900);
    ouro_snapshot *s = ouro_trace_take_snapshot(h);
    CHECK_EQ(s->sample_bytes, 1024);
    size_t n;
    ouro_trace_stat *st = ouro_snapshot_statistics(s, OURO_STAT_LINE, 0, &n);
    CHECK_EQ(n, 1);
    CHECK_EQ(st[0].size, cur);
    CHECK_EQ(st[0].count, samples);
    ouro_inspect_free(st);
    ouro_snapshot_free(s);
    for (int i = 0; i < N; i++)
        ouro_decref(o[i]);
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 0);
    CHECK_EQ(ouro_trace_get_count(h), 0);
    /* A block bigger than the sampling distance is always sampled and
     * stands for about its own size. */
    void *big = ouro_raw_alloc(h, 64 * 1024);
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, stats(h).large_bytes); /* 1 - exp(-64) rounds to 1 */
    ouro_raw_free(h, big);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

/* Raw blocks under sampling: the free of a sampled block must reach the
 * tracer although raw frees skip it on their fast path, and stopping with
 * samples still live must leave the heap consistent. */
TEST(sampled_raw_blocks_free_and_stop)
{
    ouro_heap *h = tl_heap();
    CHECK_EQ(ouro_trace_start_sampled(h, 1, 256), 0);
    enum { N = 20000 };
    static void *b[N];
    for (int i = 0; i < N; i++)
        b[i] = ouro_raw_alloc(h, 64);
    size_t samples = ouro_trace_get_count(h);
    /* 64-byte blocks sampled with probability 1 - exp(-64/256) = 0.221:
     * about 4424, standard deviation about 59. */
    CHECK(samples > 4000 && samples < 4850);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* Free in an order that empties pools on the way (slow path) and that
     * leaves them partly used (fast path). */
    for (int i = 0; i < N; i += 2)
        ouro_raw_free(h, b[i]);
    for (int i = N - 1; i >= N / 2; i -= 2)
        ouro_raw_free(h, b[i]);
    size_t cur, peak;
    ouro_trace_get_traced_memory(h, &cur, &peak);
    size_t left = ouro_trace_get_count(h);
    CHECK(left > 0 && left < samples);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* Stop with samples live, then free the rest untraced. */
    ouro_trace_stop(h);
    CHECK_EQ(ouro_heap_check(h), 0); /* checks no pool still counts samples */
    for (int i = 1; i < N / 2; i += 2)
        ouro_raw_free(h, b[i]);
    CHECK_EQ(stats(h).bytes_in_use, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* And everything freed while sampling: nothing is left traced. */
    CHECK_EQ(ouro_trace_start_sampled(h, 1, 256), 0);
    for (int i = 0; i < N; i++)
        b[i] = ouro_raw_alloc(h, 32);
    for (int i = 0; i < N; i++)
        ouro_raw_free(h, b[i]);
    CHECK_EQ(ouro_trace_get_count(h), 0);
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 0);
    CHECK(peak > 0);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

static int gc_calls;
static void count_gc(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    gc_calls++;
}

TEST(measuring_changes_nothing)
{
    ouro_heap *h = tl_heap();
    ouro_gc_set_threshold(h, 5, 10, 10);
    ouro_gc_callback_add(h, count_gc, NULL);
    ouro_object *o[4];
    for (int i = 0; i < 4; i++) /* 4 tracked: under the threshold of 5 */
        o[i] = tn_plain(h);
    ouro_heap_stats before = stats(h);
    int count_before[3];
    ouro_gc_get_count(h, count_before);
    gc_calls = 0;
    CHECK_EQ(ouro_trace_start(h, 8), 0);
    ouro_snapshot *s = ouro_snapshot_take(h, OURO_SNAP_ALL, "x");
    CHECK(s != NULL);
    ouro_trace_stat *st;
    size_t n;
    st = ouro_snapshot_statistics(s, OURO_STAT_LINE, 1, &n);
    ouro_inspect_free(st);
    ouro_snapshot_free(s);
    CHECK(ouro_trace_get_tracer_memory(h) > 0);
    ouro_trace_stop(h);
    int count_after[3];
    ouro_gc_get_count(h, count_after);
    CHECK(same_stats(before, stats(h)));
    CHECK_EQ(gc_calls, 0);
    CHECK_EQ(count_before[0], count_after[0]);
    ouro_gc_callback_remove(h, count_gc, NULL);
    for (int i = 0; i < 4; i++)
        ouro_decref(o[i]);
    tl_heap_done(h);
}

TEST(tracing_a_collecting_heap)
{
    /* Objects freed by the collector leave the traces too. */
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_trace_start(h, 1);
    for (int i = 0; i < 50; i++) {
        ouro_object *a = tn_plain(h), *b = tn_plain(h);
        tn_link(a, b);
        tn_link(b, a);
        ouro_decref(a);
        ouro_decref(b);
    }
    size_t cur, peak;
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 100 * 64);
    CHECK_EQ(ouro_gc_collect(h, 2), 100);
    ouro_trace_get_traced_memory(h, &cur, &peak);
    CHECK_EQ(cur, 0);
    CHECK_EQ(peak, 100 * 64);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

static char leak_text[8192];
static void leak_sink(void *ctx, const char *text)
{
    (void)ctx;
    strncat(leak_text, text, sizeof leak_text - strlen(leak_text) - 1);
}

/* ouro_heap_free with tracing on reports leaks by allocation site and
 * frees the tracer (LeakSanitizer would see it otherwise). */
TEST(leaks_by_site_at_heap_free)
{
    leak_text[0] = 0;
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_WARN;
    cfg.sink = leak_sink;
    ouro_heap *h = ouro_heap_new(&cfg);
    CHECK(h);
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    for (int i = 0; i < 3; i++)
        tn_new(h); /* leaked: never released */
    CHECK_EQ(ouro_heap_free(h), 3);
    CHECK(strstr(leak_text, "tnode") != NULL);
    CHECK(strstr(leak_text, "ttypes.c") != NULL); /* tn_new's allocation site */
}

/* ------------------------------------------------------------------------
 * The tools name the program's lines (issue 13, item 7): the built-in
 * types' blocks are traced to the line that called the type's function,
 * and native frames inside ouro are told by address, not by name. */

static int is_ouro_source(const char *file)
{
    return file && (strstr(file, "/src/") != NULL || strncmp(file, "src/", 4) == 0);
}

static int record_line;
/* A program's function whose name an earlier version took for ouro's. */
__attribute__((noinline)) static ouro_object *record(ouro_heap *h)
{
    record_line = __LINE__ + 1;
    ouro_object *l = ouro_list_new(h);
    __asm__ volatile("" ::: "memory"); /* keep this frame */
    return l;
}

TEST(user_function_named_record)
{
    ouro_heap *h = tl_heap();
    ouro_frame f[8];
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    ouro_object *l = record(h);
    CHECK_EQ(ouro_trace_get_traceback(h, l, f, 8), 1);
    CHECK(strstr(f[0].file, "test_inspect_trace.c") != NULL);
    CHECK_EQ(f[0].line, record_line);
    CHECK_STR(f[0].func, "record");
    ouro_decref(l);
    ouro_trace_stop(h);

    CHECK_EQ(ouro_trace_start(h, 4), 0);
    int call_line = __LINE__ + 1;
    l = record(h);
    int n = ouro_trace_get_traceback(h, l, f, 8);
    CHECK(n >= 2);
    CHECK_EQ(f[0].line, record_line);
    CHECK_STR(f[0].func, "record");
    if (f[1].func) { /* libdw names it */
        CHECK_STR(f[1].func, "test_user_function_named_record");
        CHECK_EQ(f[1].line, call_line);
    }
    for (int i = 0; i < n; i++)
        CHECK(!is_ouro_source(f[i].file));
    ouro_decref(l);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

TEST(dict_growth_traced_to_the_inserting_line)
{
    for (int nframes = 1; nframes <= 5; nframes += 4) {
        ouro_heap *h = tl_heap();
        CHECK_EQ(ouro_trace_start(h, nframes), 0);
        int new_line = __LINE__ + 1;
        ouro_object *d = ouro_dict_new(h);
        ouro_object *keys = ouro_list_new(h);
        int key_line = 0, set_line = 0;
        for (int i = 0; i < 200; i++) {
            key_line = __LINE__ + 1;
            ouro_object *k = ouro_int_new(h, 1000 + i);
            set_line = __LINE__ + 1;
            CHECK_EQ(ouro_dict_set(d, k, k), 0); /* grows: dict_resize in ouro */
            ouro_decref(k);
        }
        ouro_snapshot *s = ouro_trace_take_snapshot(h);
        CHECK(s != NULL);
        size_t raw_at_set = 0, ints_at_key = 0, dict_at_new = 0;
        for (size_t i = 0; i < s->ntraces; i++) {
            const ouro_trace *t = &s->traces[i];
            CHECK(t->nframes >= 1);
            for (int k = 0; k < t->nframes; k++)
                CHECK(!is_ouro_source(t->frames[k].file));
            CHECK(strstr(t->frames[0].file, "test_inspect_trace.c") != NULL);
            if (t->frames[0].line == set_line && t->domain == OURO_DOMAIN_RAW)
                raw_at_set += t->size * t->count;
            if (t->frames[0].line == key_line && t->domain == OURO_DOMAIN_OBJECT)
                ints_at_key += t->count;
            if (t->frames[0].line == new_line && t->domain == OURO_DOMAIN_OBJECT)
                dict_at_new += t->count; /* (the types' state, raw, comes first here too) */
        }
        CHECK(raw_at_set >= 200 * 8); /* the table that holds 200 entries */
        CHECK_EQ(ints_at_key, 200);
        CHECK_EQ(dict_at_new, 1);
        /* Statistics by line name the same lines. */
        size_t n = 0;
        ouro_trace_stat *st = ouro_snapshot_statistics(s, OURO_STAT_LINE, 0, &n);
        CHECK(st && n >= 2);
        for (size_t i = 0; i < n; i++)
            CHECK(!is_ouro_source(st[i].frames[0].file));
        ouro_inspect_free(st);
        ouro_snapshot_free(s);
        ouro_decref(keys);
        ouro_decref(d);
        ouro_trace_stop(h);
        tl_heap_done(h);
    }
}

TEST(constructors_traced_to_the_calling_line)
{
    ouro_heap *h = tl_heap();
    CHECK_EQ(ouro_trace_start(h, 1), 0);
    ouro_object *o[12];
    int line[12];
    ouro_object *l = ouro_list_new(h);
    line[0] = __LINE__ + 1;
    o[0] = ouro_str_new(h, "hello, world", 12);
    line[1] = __LINE__ + 1;
    o[1] = ouro_str_from(h, "a longer string than any cached one");
    line[2] = __LINE__ + 1;
    o[2] = ouro_int_new(h, 123456789);
    line[3] = __LINE__ + 1;
    o[3] = ouro_float_new(h, 2.5);
    line[4] = __LINE__ + 1;
    o[4] = ouro_tuple_new(h, 3);
    line[5] = __LINE__ + 1;
    o[5] = ouro_tuple_pack(h, 2, o[0], o[1]);
    line[6] = __LINE__ + 1;
    o[6] = ouro_list_from(h, (ouro_object *[]){o[0], o[2]}, 2);
    line[7] = __LINE__ + 1;
    o[7] = ouro_dict_new(h);
    line[8] = __LINE__ + 1;
    o[8] = ouro_set_new(h);
    line[9] = __LINE__ + 1;
    o[9] = ouro_iter(h, o[6]);
    line[10] = __LINE__ + 1;
    o[10] = ouro_bytes_new(h, "xyz", 3);
    line[11] = __LINE__ + 1;
    o[11] = ouro_range_new(h, 0, 10, 1);
    ouro_frame f[2];
    for (int i = 0; i < 12; i++) {
        CHECK(o[i] != NULL);
        CHECK_EQ(ouro_trace_get_traceback(h, o[i], f, 2), 1);
        CHECK(strstr(f[0].file, "test_inspect_trace.c") != NULL);
        CHECK_EQ(f[0].line, line[i]);
        CHECK_STR(f[0].func, "test_constructors_traced_to_the_calling_line");
    }
    /* A list's items array, allocated when the list grows. */
    int append_line = __LINE__ + 1;
    CHECK_EQ(ouro_list_append(l, o[2]), 0);
    ouro_snapshot *s = ouro_trace_take_snapshot(h);
    int found = 0;
    for (size_t i = 0; i < s->ntraces; i++)
        if (s->traces[i].domain == OURO_DOMAIN_RAW && s->traces[i].frames[0].line == append_line)
            found = 1;
    CHECK(found);
    ouro_snapshot_free(s);
    for (int i = 0; i < 12; i++)
        ouro_decref(o[i]);
    ouro_decref(l);
    ouro_trace_stop(h);
    tl_heap_done(h);
}

/* A call without the site macro (parentheses stop the macro) is traced
 * to ouro's line with one frame; with native frames, the first frame
 * outside ouro names the site. */
TEST(native_frames_name_the_first_frame_outside_ouro)
{
    ouro_heap *h = tl_heap();
    CHECK_EQ(ouro_trace_start(h, 3), 0);
    int line = __LINE__ + 1;
    ouro_object *l = (ouro_list_new)(h);
    ouro_frame f[4];
    int n = ouro_trace_get_traceback(h, l, f, 4);
    CHECK(n >= 1);
    CHECK(f[0].ip != 0); /* a native frame */
    CHECK(!is_ouro_source(f[0].file));
    if (f[0].func) {
        CHECK_STR(f[0].func, "test_native_frames_name_the_first_frame_outside_ouro");
        CHECK_EQ(f[0].line, line);
    }
    ouro_decref(l);
    ouro_trace_stop(h);
    tl_heap_done(h);
}
