/*
 * trace_stats.c — what a snapshot's traces say: tracemalloc's
 * Snapshot.statistics and compare_to (grouped by line, file or whole
 * traceback, cumulative or not), str(Statistic), and filter_traces.
 *
 * Everything here reads snapshots, never a heap or the tracer, so it works
 * the same on a snapshot taken a moment ago and on one loaded from disk.
 * Grouping sorts the (key, size, count) items of every trace and merges
 * runs: O(traces log traces).
 *
 * Owns: ouro_snapshot_statistics, ouro_snapshot_compare,
 * ouro_trace_stat_format, ouro_snapshot_filter_traces.  Calls snapshot.c
 * (a new snapshot and the copies into its pool) and util.c.
 */
#include "inspect.h"

#include <fnmatch.h>

/* ------------------------------------------------------------ statistics */

static const char *fname(const ouro_frame *f) { return f->file ? f->file : "<unknown>"; }

static int frame_key_cmp(const ouro_frame *a, const ouro_frame *b, int key)
{
    int c = strcmp(fname(a), fname(b));
    if (c || key == OURO_STAT_FILE)
        return c;
    return a->line < b->line ? -1 : a->line > b->line;
}

static int tb_cmp(const ouro_frame *a, int na, const ouro_frame *b, int nb, int key)
{
    for (int i = 0; i < na && i < nb; i++) {
        int c = frame_key_cmp(&a[i], &b[i], key);
        if (c)
            return c;
    }
    return na < nb ? -1 : na > nb;
}

/* A statistic under construction: its key and totals. */
typedef struct stat_item {
    ouro_frame frame;         /* LINE / FILE key */
    const ouro_frame *frames; /* TRACEBACK key */
    int nframes;
    size_t size, count;
    size_t osize, ocount;     /* the old snapshot's, when comparing */
} stat_item;

/* qsort has no context argument: the key type is set right before each
 * sort, per thread, so heaps in different threads do not interfere. */
static _Thread_local int g_key;

static int item_key_cmp(const stat_item *a, const stat_item *b)
{
    if (g_key == OURO_STAT_TRACEBACK)
        return tb_cmp(a->frames, a->nframes, b->frames, b->nframes, g_key);
    return frame_key_cmp(&a->frame, &b->frame, g_key);
}

static int cmp_item_key(const void *a, const void *b) { return item_key_cmp(a, b); }

static int collect_items(const ouro_snapshot *s, int key, int cumulative, ins_arr *out,
                         int old)
{
    for (size_t i = 0; i < s->ntraces; i++) {
        const ouro_trace *tr = &s->traces[i];
        size_t bytes = tr->size * tr->count;
        int nf = cumulative ? tr->nframes : (tr->nframes ? 1 : 0);
        if (key == OURO_STAT_TRACEBACK)
            nf = 1;
        for (int k = 0; k < nf; k++) {
            /* Cumulative: count each key once per trace. */
            int dup = 0;
            for (int m = 0; m < k && key != OURO_STAT_TRACEBACK; m++)
                if (frame_key_cmp(&tr->frames[m], &tr->frames[k], key) == 0)
                    dup = 1;
            if (dup)
                continue;
            stat_item *it = ouro__ins_arr_push(out);
            if (!it)
                return OURO_ENOMEM;
            if (key == OURO_STAT_TRACEBACK) {
                it->frames = tr->frames;
                it->nframes = tr->nframes;
            } else {
                it->frame = tr->frames[k];
                if (key == OURO_STAT_FILE) {
                    it->frame.line = 0;
                    it->frame.func = NULL;
                }
                it->frame.ip = 0;
            }
            if (old) {
                it->osize = bytes;
                it->ocount = tr->count;
            } else {
                it->size = bytes;
                it->count = tr->count;
            }
        }
    }
    return 0;
}

/* Merge items with equal keys (sorted first); returns the merged count. */
static size_t merge_items(stat_item *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, cmp_item_key);
    size_t w = 0;
    for (size_t i = 1; i < n; i++) {
        if (item_key_cmp(&v[w], &v[i]) == 0) {
            v[w].size += v[i].size;
            v[w].count += v[i].count;
            v[w].osize += v[i].osize;
            v[w].ocount += v[i].ocount;
        } else {
            v[++w] = v[i];
        }
    }
    return w + 1;
}

static long long sdiff(size_t a, size_t b) { return (long long)a - (long long)b; }
static unsigned long long labs_ll(long long x) { return x < 0 ? -(unsigned long long)x : (unsigned long long)x; }

static int cmp_stat(const void *a, const void *b)
{
    const ouro_trace_stat *x = a, *y = b;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return tb_cmp(x->frames, x->nframes, y->frames, y->nframes, g_key);
}

static int cmp_diff(const void *a, const void *b)
{
    const ouro_trace_stat *x = a, *y = b;
    if (labs_ll(x->size_diff) != labs_ll(y->size_diff))
        return labs_ll(x->size_diff) > labs_ll(y->size_diff) ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (labs_ll(x->count_diff) != labs_ll(y->count_diff))
        return labs_ll(x->count_diff) > labs_ll(y->count_diff) ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return tb_cmp(x->frames, x->nframes, y->frames, y->nframes, g_key);
}

/* One malloc block: the stats, then the key frames they point to. */
static ouro_trace_stat *build_stats(const ins_arr *items, size_t n, int key, int diff,
                                    size_t *nout)
{
    size_t nfr = 0;
    for (size_t i = 0; i < n; i++)
        nfr += key == OURO_STAT_TRACEBACK ? (size_t)INS_AT(items, stat_item, i).nframes : 1;
    ouro_trace_stat *st = malloc((n ? n : 1) * sizeof *st + nfr * sizeof(ouro_frame));
    if (!st)
        return NULL;
    ouro_frame *fr = (ouro_frame *)(st + (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        const stat_item *it = &INS_AT(items, stat_item, i);
        ouro_trace_stat *o = &st[i];
        o->frames = fr;
        if (key == OURO_STAT_TRACEBACK) {
            if (it->nframes)
                memcpy(fr, it->frames, (size_t)it->nframes * sizeof *fr);
            o->nframes = it->nframes;
        } else {
            *fr = it->frame;
            o->nframes = 1;
        }
        fr += o->nframes;
        o->size = it->size;
        o->count = it->count;
        o->size_diff = diff ? sdiff(it->size, it->osize) : 0;
        o->count_diff = diff ? sdiff(it->count, it->ocount) : 0;
    }
    g_key = key;
    qsort(st, n, sizeof *st, diff ? cmp_diff : cmp_stat);
    *nout = n;
    return st;
}

ouro_trace_stat *ouro_snapshot_statistics(const ouro_snapshot *s, int key, int cumulative,
                                          size_t *n)
{
    if (!s || !n || key < OURO_STAT_LINE || key > OURO_STAT_TRACEBACK ||
        (cumulative && key == OURO_STAT_TRACEBACK))
        return NULL;
    ins_arr items = INS_ARR(stat_item);
    ouro_trace_stat *st = NULL;
    g_key = key;
    if (collect_items(s, key, cumulative, &items, 0) == 0) {
        g_key = key;
        size_t m = merge_items(items.p, items.len);
        st = build_stats(&items, m, key, 0, n);
    }
    free(items.p);
    return st;
}

ouro_trace_stat *ouro_snapshot_compare(const ouro_snapshot *now, const ouro_snapshot *old,
                                       int key, int cumulative, size_t *n)
{
    if (!now || !old || !n || key < OURO_STAT_LINE || key > OURO_STAT_TRACEBACK ||
        (cumulative && key == OURO_STAT_TRACEBACK))
        return NULL;
    ins_arr items = INS_ARR(stat_item);
    ouro_trace_stat *st = NULL;
    g_key = key;
    if (collect_items(now, key, cumulative, &items, 0) == 0 &&
        collect_items(old, key, cumulative, &items, 1) == 0) {
        g_key = key;
        size_t m = merge_items(items.p, items.len);
        st = build_stats(&items, m, key, 1, n);
    }
    free(items.p);
    return st;
}

static int fmt_size(char *b, size_t n, long long v, int sign)
{
    unsigned long long a = labs_ll(v);
    const char *s = sign ? (v < 0 ? "-" : "+") : (v < 0 ? "-" : "");
    if (a < 10 * 1024)
        return snprintf(b, n, "%s%llu B", s, a);
    if (a < 10 * 1024 * 1024)
        return snprintf(b, n, "%s%llu KiB", s, (a + 512) / 1024);
    if (a < 10ull * 1024 * 1024 * 1024)
        return snprintf(b, n, "%s%llu MiB", s, (a + (1u << 19)) >> 20);
    return snprintf(b, n, "%s%llu GiB", s, (a + (1u << 29)) >> 30);
}

int ouro_trace_stat_format(const ouro_trace_stat *st, int diff, char *buf, size_t len)
{
    if (!st)
        return OURO_EINVAL;
    char where[512], size[32], sd[32], avg[32];
    const ouro_frame *f = st->nframes ? &st->frames[0] : NULL;
    if (!f)
        snprintf(where, sizeof where, "<unknown>");
    else if (f->line)
        snprintf(where, sizeof where, "%s:%d", fname(f), f->line);
    else
        snprintf(where, sizeof where, "%s", fname(f));
    fmt_size(size, sizeof size, (long long)st->size, 0);
    fmt_size(avg, sizeof avg, st->count ? (long long)(st->size / st->count) : 0, 0);
    if (!diff)
        return snprintf(buf, len, "%s: size=%s, count=%zu, average=%s", where, size, st->count,
                        avg);
    fmt_size(sd, sizeof sd, st->size_diff, 1);
    return snprintf(buf, len, "%s: size=%s (%s), count=%zu (%+lld), average=%s", where, size, sd,
                    st->count, st->count_diff, avg);
}

/* ------------------------------------------------------------ filters */

static int frame_match(const ouro_trace_filter *f, const ouro_frame *fr)
{
    if (f->file_pattern && fnmatch(f->file_pattern, fname(fr), 0) != 0)
        return 0;
    return f->line == 0 || fr->line == f->line;
}

/* tracemalloc's Filter._match: 1 means "let the trace through". */
static int filter_match(const ouro_trace_filter *f, const ouro_trace *tr)
{
    int res;
    if (f->all_frames) {
        int any = 0;
        for (int i = 0; i < tr->nframes && !any; i++)
            any = frame_match(f, &tr->frames[i]);
        res = any ? f->inclusive : !f->inclusive;
    } else {
        ouro_frame unknown = {0};
        res = frame_match(f, tr->nframes ? &tr->frames[0] : &unknown) ^ !f->inclusive;
    }
    if (f->domain >= 0) {
        if (f->inclusive)
            return res && tr->domain == f->domain;
        return res || tr->domain != f->domain;
    }
    return res;
}

static int keep_trace(const ouro_trace_filter *fs, size_t n, const ouro_trace *tr)
{
    int have_incl = 0, incl_ok = 0;
    for (size_t i = 0; i < n; i++) {
        if (fs[i].inclusive) {
            have_incl = 1;
            if (filter_match(&fs[i], tr))
                incl_ok = 1;
        } else if (!filter_match(&fs[i], tr)) {
            return 0;
        }
    }
    return !have_incl || incl_ok;
}

ouro_snapshot *ouro_snapshot_filter_traces(const ouro_snapshot *s,
                                           const ouro_trace_filter *filters, size_t nfilters)
{
    if (!s || (nfilters && !filters))
        return NULL;
    ouro_snapshot *c = ouro__ins_snap_alloc();
    if (!c)
        return NULL;
    ins_strpool *pool = ouro__ins_snap_pool(c);
    /* Copy every array by value; the strings and frames stay valid because
     * they are re-interned into the new snapshot's pool. */
    void *priv = c->priv;
    *c = *s;
    c->priv = priv;
    c->label = ouro__ins_intern(pool, s->label);
    c->traces = ouro__ins_pool_alloc(pool, (s->ntraces ? s->ntraces : 1) * sizeof *c->traces);
    c->census = ouro__ins_pool_alloc(pool, (s->ncensus ? s->ncensus : 1) * sizeof *c->census);
    c->series = ouro__ins_pool_alloc(pool, (s->nseries ? s->nseries : 1) * sizeof *c->series);
    c->marks = ouro__ins_pool_alloc(pool, (s->nmarks ? s->nmarks : 1) * sizeof *c->marks);
    c->leaks = ouro__ins_pool_alloc(pool, (s->nleaks ? s->nleaks : 1) * sizeof *c->leaks);
    c->graph.nodes = ouro__ins_pool_alloc(
        pool, (s->graph.nnodes ? s->graph.nnodes : 1) * sizeof *c->graph.nodes);
    c->graph.edges = ouro__ins_pool_alloc(
        pool, (s->graph.nedges ? s->graph.nedges : 1) * sizeof *c->graph.edges);
    if (!c->traces || !c->census || !c->series || !c->marks || !c->leaks || !c->graph.nodes ||
        !c->graph.edges) {
        ouro_snapshot_free(c);
        return NULL;
    }
    c->ntraces = 0;
    for (size_t i = 0; i < s->ntraces; i++) {
        const ouro_trace *tr = &s->traces[i];
        if (!keep_trace(filters, nfilters, tr))
            continue;
        ouro_frame *fr = ouro__ins_pool_alloc(pool, (size_t)tr->nframes * sizeof *fr + 1);
        if (!fr) {
            ouro_snapshot_free(c);
            return NULL;
        }
        for (int k = 0; k < tr->nframes; k++) {
            fr[k] = tr->frames[k];
            fr[k].file = ouro__ins_intern(pool, tr->frames[k].file);
            fr[k].func = ouro__ins_intern(pool, tr->frames[k].func);
        }
        c->traces[c->ntraces] = *tr;
        c->traces[c->ntraces++].frames = fr;
    }
    for (size_t i = 0; i < s->ncensus; i++) {
        c->census[i] = s->census[i];
        c->census[i].name = ouro__ins_intern(pool, s->census[i].name);
    }
    if (s->nseries)
        memcpy(c->series, s->series, s->nseries * sizeof *c->series);
    for (size_t i = 0; i < s->nmarks; i++) {
        c->marks[i] = s->marks[i];
        c->marks[i].name = ouro__ins_intern(pool, s->marks[i].name);
    }
    ouro__ins_copy_graph(pool, &c->graph, &s->graph);
    for (size_t i = 0; i < s->nleaks; i++) {
        if (ouro__ins_copy_leak_group(pool, &c->leaks[i], &s->leaks[i]) < 0) {
            ouro_snapshot_free(c);
            return NULL;
        }
    }
    return c;
}
