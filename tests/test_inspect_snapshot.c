/* Snapshots on disk and the sampler (mprof).  The loader must refuse
 * corrupt and hostile files with a message, never crash: truncated files,
 * wrong types, huge numbers, deep nesting, bad indices, and a few thousand
 * random mutations of a valid file (run under ASan by `make test-asan`). */
#include "testlib.h"
#include "ttypes.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ouro_heap_stats stats(ouro_heap *h)
{
    ouro_heap_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    ouro_heap_get_stats(h, &s);
    return s;
}

static char *to_text(const ouro_snapshot *s, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        return NULL;
    int rc = ouro_snapshot_write(s, f);
    fclose(f);
    if (rc != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

/* A heap with something in every section: 50 tleaf, a chain of tnodes,
 * traced raw memory and a sampler with two marks. */
static ouro_snapshot *rich_snapshot(ouro_heap *h, ouro_object **keep, void **raw)
{
    ouro_gc_disable(h);
    ouro_trace_start(h, 3);
    ouro_sampler *smp = ouro_sampler_new(h, 0);
    ouro_sampler_begin(smp, "build \"leaves\"");
    for (int i = 0; i < 50; i++)
        keep[i] = ouro_new(h, &tleaf_type);
    ouro_sampler_end(smp, NULL);
    ouro_sampler_begin(smp, "chain");
    keep[50] = tn_new(h);
    ouro_object *prev = keep[50];
    for (int i = 0; i < 5; i++) {
        ouro_object *n = tn_new(h);
        tn_link(prev, n);
        ouro_decref(n);
        prev = n;
    }
    *raw = ouro_raw_alloc(h, 100);
    ouro_sampler_end(smp, "chain");
    ouro_snapshot *s = ouro_snapshot_take(h, OURO_SNAP_ALL, "rich");
    ouro_snapshot_set_series(s, smp);
    ouro_sampler_free(smp);
    return s;
}

static void drop_rich(ouro_heap *h, ouro_object **keep, void *raw)
{
    for (int i = 0; i < 51; i++)
        ouro_decref(keep[i]);
    ouro_raw_free(h, raw);
    ouro_trace_stop(h);
}

TEST(snapshot_round_trip)
{
    ouro_heap *h = tl_heap();
    ouro_object *keep[51];
    void *raw;
    ouro_snapshot *s = rich_snapshot(h, keep, &raw);
    CHECK(s != NULL);
    CHECK_STR(s->label, "rich");
    CHECK(s->has_heap);
    CHECK_EQ(s->heap.objects, 56);
    CHECK_EQ(s->ncensus, 2);
    CHECK_STR(s->census[0].name, "tleaf");
    CHECK_EQ(s->census[0].count, 50);
    CHECK_EQ(s->census[1].count, 6);
    CHECK_EQ(s->traced_current, 50 * 32 + 6 * 64 + 112);
    CHECK(s->nleaks >= 2);
    CHECK_EQ(s->nmarks, 2);
    CHECK(s->nseries >= 5); /* start + 2 per mark */
    CHECK(s->marks[0].end >= s->marks[0].begin);
    CHECK(s->graph.nnodes >= 1);
    /* Taking a snapshot changes nothing the heap counts. */
    ouro_heap_stats b0 = stats(h);
    ouro_snapshot *again = ouro_snapshot_take(h, OURO_SNAP_ALL, NULL);
    ouro_heap_stats b1 = stats(h);
    CHECK(again != NULL);
    CHECK_EQ(b0.bytes_in_use, b1.bytes_in_use);
    CHECK_EQ(b0.objects, b1.objects);
    CHECK_EQ(b0.mapped_bytes, b1.mapped_bytes);
    ouro_snapshot_free(again);

    char path[] = "/tmp/ouro_snap_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(ouro_snapshot_save(s, path), 0);
    char err[256];
    ouro_snapshot *t = ouro_snapshot_load(path, err, sizeof err);
    if (!t)
        tl_fail(__FILE__, __LINE__, "load failed: %s", err);
    remove(path);
    CHECK_STR(t->label, "rich");
    CHECK(t->time == s->time);
    CHECK_EQ(t->heap.bytes_in_use, s->heap.bytes_in_use);
    CHECK_EQ(t->heap.objects, 56);
    CHECK_EQ(t->nframes, 3);
    CHECK_EQ(t->traced_current, s->traced_current);
    CHECK_EQ(t->ntraces, s->ntraces);
    for (size_t i = 0; i < s->ntraces; i++) {
        CHECK_EQ(t->traces[i].size, s->traces[i].size);
        CHECK_EQ(t->traces[i].count, s->traces[i].count);
        CHECK_EQ(t->traces[i].domain, s->traces[i].domain);
        CHECK_EQ(t->traces[i].nframes, s->traces[i].nframes);
        CHECK_EQ(t->traces[i].frames[0].line, s->traces[i].frames[0].line);
        CHECK_STR(t->traces[i].frames[0].file, s->traces[i].frames[0].file);
    }
    CHECK_EQ(t->ncensus, 2);
    CHECK_STR(t->census[1].name, "tnode");
    CHECK_EQ(t->census[1].block_bytes, 6 * 64);
    CHECK_EQ(t->nseries, s->nseries);
    CHECK(t->series[1].t == s->series[1].t);
    CHECK_EQ(t->series[1].heap_bytes, s->series[1].heap_bytes);
    CHECK_EQ(t->nmarks, 2);
    CHECK_STR(t->marks[0].name, "build \"leaves\"");
    CHECK_EQ(t->nleaks, s->nleaks);
    CHECK_EQ(t->leaks[0].count, s->leaks[0].count);
    CHECK_EQ(t->leaks[0].nchain, s->leaks[0].nchain);
    CHECK_EQ(t->graph.nnodes, s->graph.nnodes);
    CHECK_EQ(t->graph.nedges, s->graph.nedges);

    /* Statistics read the same from the file as from memory. */
    size_t n1, n2;
    ouro_trace_stat *a = ouro_snapshot_statistics(s, OURO_STAT_LINE, 0, &n1);
    ouro_trace_stat *b = ouro_snapshot_statistics(t, OURO_STAT_LINE, 0, &n2);
    CHECK_EQ(n1, n2);
    for (size_t i = 0; i < n1; i++)
        CHECK_EQ(a[i].size, b[i].size);
    ouro_inspect_free(a);
    ouro_inspect_free(b);
    ouro_trace_stat *d = ouro_snapshot_compare(t, s, OURO_STAT_TRACEBACK, 0, &n1);
    for (size_t i = 0; i < n1; i++)
        CHECK_EQ(d[i].size_diff, 0);
    ouro_inspect_free(d);

    /* Writing what was loaded gives the same text. */
    size_t l1, l2;
    char *x = to_text(s, &l1), *y = to_text(t, &l2);
    CHECK(x && y);
    CHECK_EQ(l1, l2);
    CHECK(memcmp(x, y, l1) == 0);
    free(x);
    free(y);
    ouro_snapshot_free(s);
    ouro_snapshot_free(t);
    drop_rich(h, keep, raw);
    tl_heap_done(h);
}

static int loads(const char *text)
{
    char err[256] = "";
    ouro_snapshot *s = ouro_snapshot_parse(text, strlen(text), err, sizeof err);
    if (s) {
        ouro_snapshot_free(s);
        return 1;
    }
    if (!err[0])
        tl_fail(__FILE__, __LINE__, "rejected without a message: %s", text);
    return 0;
}

static void expect_error(const char *text, const char *words)
{
    char err[256] = "";
    ouro_snapshot *s = ouro_snapshot_parse(text, strlen(text), err, sizeof err);
    if (s) {
        ouro_snapshot_free(s);
        tl_fail(__FILE__, __LINE__, "accepted: %s", text);
    }
    if (!strstr(err, words))
        tl_fail(__FILE__, __LINE__, "message \"%s\" lacks \"%s\"", err, words);
}

#define HEAD "{\"format\":\"ouro-snapshot\",\"version\":1"

TEST(loader_rejects_hostile_input)
{
    CHECK(loads(HEAD "}"));
    CHECK(loads(HEAD ",\"future_field\":[1,2,{}]}")); /* unknown fields are ignored */
    expect_error("", "not valid JSON");
    expect_error("[]", "expected an object");
    expect_error("{\"format\":\"other\",\"version\":1}", "not an ouro snapshot");
    expect_error("{\"format\":\"ouro-snapshot\",\"version\":2}", "unsupported version");
    expect_error(HEAD ",\"version\":1}", "not valid JSON"); /* duplicate key */
    expect_error(HEAD ",\"census\":{}}", "census: expected an array");
    expect_error(HEAD ",\"census\":[[\"a\",1,2]]}", "census[0]: expected 4 fields");
    expect_error(HEAD ",\"census\":[[\"a\",-1,2,3]]}", "out of range");
    expect_error(HEAD ",\"census\":[[\"a\",1.5,2,3]]}", "expected an integer");
    expect_error(HEAD ",\"census\":[[7,1,2,3]]}", "expected a string");
    expect_error(HEAD ",\"census\":[[\"a\",99999999999999999999,2,3]]}", "not valid JSON");
    expect_error(HEAD ",\"census\":[[\"a\",9007199254740993,2,3]]}", "out of range");
    expect_error(HEAD ",\"traces\":[[0,8,1,[0]]]}", "frame index out of range");
    expect_error(HEAD ",\"frames\":[[null,1,null,0]],\"traces\":[[0,8,1,[1]]]}",
                 "frame index out of range");
    expect_error(HEAD ",\"frames\":[[null,1,null,0]],\"traces\":[[2,8,1,[0]]]}", "out of range");
    expect_error(HEAD ",\"frames\":[[null,1,null,0]],"
                      "\"traces\":[[0,9007199254740992,9007199254740992,[0]]]}",
                 "too large");
    expect_error(HEAD ",\"graph\":{\"nodes\":[],\"edges\":[[0,1]]}}", "edge without nodes");
    expect_error(HEAD ",\"graph\":{\"nodes\":[[1,\"t\",1,1,0,0]],\"edges\":[[0,1]]}}",
                 "out of range");
    expect_error(HEAD ",\"leaks\":[{\"type\":\"t\",\"site\":3,\"count\":1,\"bytes\":1,"
                      "\"example\":1}]}",
                 "frame index out of range");
    expect_error(HEAD ",\"series\":{\"points\":[[1e999,1,1,1,1,1]]}}", "");
    expect_error(HEAD ",\"series\":{\"points\":[[\"x\",1,1,1,1,1]]}}", "expected a number");
    expect_error(HEAD ",\"label\":\"a\\u0000b\"}", "not valid JSON");
    expect_error(HEAD ",\"label\":\"\xff\"}", "not valid JSON");
    expect_error(HEAD ",\"heap\":{\"bytes_in_use\":1}}", "missing");
    expect_error(HEAD ",\"tracing\":{\"nframes\":65,\"sample_bytes\":0,\"current\":0,"
                      "\"peak\":0}}",
                 "nframes");

    /* Deep nesting: jansson stops at its depth limit. */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 64);
    strcpy(deep, HEAD ",\"x\":");
    size_t k = strlen(deep);
    memset(deep + k, '[', depth);
    memset(deep + k + depth, ']', depth);
    strcpy(deep + k + 2 * depth, "}");
    expect_error(deep, "not valid JSON");
    free(deep);

    char err[64];
    CHECK(ouro_snapshot_load("/nonexistent/x.json", err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot open") != NULL);
    CHECK(ouro_snapshot_parse(NULL, 0, err, sizeof err) == NULL);
}

TEST(loader_survives_truncation_and_mutation)
{
    ouro_heap *h = tl_heap();
    ouro_object *keep[51];
    void *raw;
    ouro_snapshot *s = rich_snapshot(h, keep, &raw);
    size_t len;
    char *text = to_text(s, &len);
    CHECK(text != NULL);
    ouro_snapshot_free(s);
    drop_rich(h, keep, raw);
    tl_heap_done(h);

    /* Every truncation is refused (the document is one object). */
    size_t step = len / 300 + 1;
    for (size_t n = 0; n < len - 2; n += step) {
        char err[256];
        ouro_snapshot *t = ouro_snapshot_parse(text, n, err, sizeof err);
        CHECK(t == NULL);
        CHECK(err[0] != 0);
    }
    /* Random byte mutations: accepted or refused, never a crash. */
    unsigned long long x = 88172645463325252ull;
    char *m = malloc(len + 1);
    int accepted = 0;
    const char alphabet[] = "{}[],:\"0123456789-eE.9tfn\\ ";
    for (int round = 0; round < 3000; round++) {
        memcpy(m, text, len + 1);
        int edits = 1 + round % 4;
        for (int e = 0; e < edits; e++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = (size_t)(x % len);
            m[at] = alphabet[(x >> 32) % (sizeof alphabet - 1)];
        }
        char err[256];
        ouro_snapshot *t = ouro_snapshot_parse(m, len, err, sizeof err);
        if (t) {
            accepted++;
            size_t n;
            ouro_inspect_free(ouro_snapshot_statistics(t, OURO_STAT_LINE, 1, &n));
            size_t l2;
            free(to_text(t, &l2));
            ouro_snapshot_free(t);
        }
    }
    CHECK(accepted > 0); /* some mutations only touch numbers or strings */
    free(m);
    free(text);
}

TEST(sampler_series_and_marks)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_sampler *s = ouro_sampler_new(h, 0);
    CHECK(s != NULL);
    size_t n;
    ouro_sampler_points(s, &n);
    CHECK_EQ(n, 1);
    CHECK_EQ(ouro_sampler_begin(s, "outer"), 0);
    CHECK_EQ(ouro_sampler_begin(s, "inner"), 0);
    ouro_object *o[100];
    for (int i = 0; i < 100; i++)
        o[i] = ouro_new(h, &tleaf_type);
    CHECK_EQ(ouro_sampler_end(s, "inner"), 0);
    CHECK_EQ(ouro_sampler_end(s, "nope"), OURO_ENOTFOUND);
    CHECK_EQ(ouro_sampler_sample(s), 0);
    for (int i = 0; i < 100; i++)
        ouro_decref(o[i]);
    CHECK_EQ(ouro_sampler_end(s, "outer"), 0);
    const ouro_series_point *p = ouro_sampler_points(s, &n);
    CHECK_EQ(n, 6);
    CHECK_EQ(p[0].objects, 0);
    CHECK_EQ(p[3].objects, 100); /* at the end of "inner" */
    CHECK_EQ(p[3].heap_bytes - p[2].heap_bytes, 3200);
    CHECK_EQ(p[5].objects, 0);
    CHECK(p[5].rss_bytes > 0);
    for (size_t i = 1; i < n; i++)
        CHECK(p[i].t >= p[i - 1].t);
    const ouro_mark *m = ouro_sampler_marks(s, &n);
    CHECK_EQ(n, 2);
    CHECK_STR(m[0].name, "outer");
    CHECK_EQ(m[0].depth, 0);
    CHECK_STR(m[1].name, "inner");
    CHECK_EQ(m[1].depth, 1);
    CHECK(m[0].begin <= m[1].begin && m[1].end <= m[0].end);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ(ouro_sampler_write_mprof(s, f), 0);
    fclose(f);
    CHECK(strncmp(buf, "CMDLINE", 7) == 0);
    CHECK(strstr(buf, "\nMEM ") != NULL);
    CHECK(strstr(buf, "\nFUNC inner 1 ") != NULL);
    free(buf);

    char path[] = "/tmp/ouro_series_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    CHECK_EQ(ouro_sampler_save(s, path), 0);
    char err[256];
    ouro_snapshot *snap = ouro_snapshot_load(path, err, sizeof err);
    CHECK(snap != NULL);
    CHECK_EQ(snap->nseries, 6);
    CHECK_EQ(snap->nmarks, 2);
    ouro_snapshot_free(snap);
    remove(path);
    ouro_sampler_free(s);
    tl_heap_done(h);
}

TEST(sampler_samples_after_collections)
{
    ouro_heap *h = tl_heap();
    ouro_gc_set_threshold(h, 10, 10, 10);
    ouro_sampler *s = ouro_sampler_new(h, 1e-9); /* every collection */
    ouro_object *o[100];
    for (int i = 0; i < 100; i++)
        o[i] = tn_plain(h);
    size_t n;
    ouro_sampler_points(s, &n);
    CHECK(n >= 5); /* 100 tracked objects kept, threshold 10 */
    ouro_gc_gen_stats gs[3];
    ouro_gc_get_stats(h, gs);
    CHECK_EQ(n, 1 + gs[0].collections + gs[1].collections + gs[2].collections);
    ouro_sampler_free(s);
    /* Freed samplers leave no callback behind. */
    for (int i = 0; i < 100; i++)
        ouro_decref(o[i]);
    for (int i = 0; i < 100; i++)
        o[i] = tn_plain(h);
    for (int i = 0; i < 100; i++)
        ouro_decref(o[i]);
    tl_heap_done(h);
}
