/*
 * snapshot_json.c — snapshots on disk: writing them as JSON, loading them.
 *
 * Writing streams to a FILE (docs/inspect.md has the format): a snapshot
 * of a big heap can hold millions of traces and graph nodes, and building
 * a jansson document first would need several times the snapshot's memory
 * for no benefit.  The writer is about 150 lines; it is the one thing here
 * written by hand, and it emits only what the loader accepts (valid UTF-8,
 * finite numbers).
 *
 * Loading uses jansson, then checks every field before using it: types,
 * ranges (integers in 0 .. 2^53, products that must not overflow), array
 * lengths, and every index into the frame and node tables.  jansson itself
 * refuses nesting deeper than 2048, invalid UTF-8 and NUL characters.  A
 * file that fails any check gives NULL and one line saying where and what.
 * A loaded snapshot is built in the same pool as a taken one, so it is the
 * same structure.
 *
 * Owns: ouro_snapshot_write, _save, _parse, _load.  Calls only util.c
 * (maps, arrays, string pool) and snapshot.c (the structure); it never
 * looks at a heap.
 */
#include "inspect.h"

#include <jansson.h>
#include <math.h>
#include <setjmp.h>

#define FORMAT_NAME "ouro-snapshot"
#define FORMAT_VERSION 1
#define MAX_SAFE ((uint64_t)1 << 53)

/* ================================================================ writing */

static void jstr(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            fputc('\\', out);
            fputc((int)c, out);
            p++;
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            fputc((int)c, out);
            p++;
        } else {
            /* Copy a well-formed UTF-8 sequence; anything else becomes
             * U+FFFD, because the loader (jansson) rejects bad UTF-8. */
            int n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
            int ok = n > 0;
            for (int k = 1; ok && k < n; k++)
                ok = (p[k] & 0xC0) == 0x80;
            if (ok && n == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)))
                ok = 0;
            if (ok && n == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90)))
                ok = 0;
            if (ok) {
                fwrite(p, 1, (size_t)n, out);
                p += n;
            } else {
                fputs("\\ufffd", out);
                p++;
            }
        }
    }
    fputc('"', out);
}

static void jnum(FILE *out, double v)
{
    if (!isfinite(v))
        v = 0;
    fprintf(out, "%.17g", v);
}

static void jnode(FILE *out, const ouro_graph_node *n)
{
    fprintf(out, "[%llu,", (unsigned long long)(n->id < MAX_SAFE ? n->id : 0));
    jstr(out, n->type);
    fprintf(out, ",%zu,%u,%u,%u]", n->size, n->refcnt, n->external, n->flags);
}

/* The frame table: frames are written once and referred to by index. */
typedef struct frame_table {
    ins_map index; /* content hash -> index + 1 */
    ins_arr frames;
    FILE *out;
    int err;
} frame_table;

static uint64_t frame_hash(const ouro_frame *f)
{
    uint64_t h = 1469598103934665603ull;
    const char *parts[2] = {f->file, f->func};
    for (int i = 0; i < 2; i++) {
        for (const char *s = parts[i]; s && *s; s++)
            h = (h ^ (unsigned char)*s) * 1099511628211ull;
        h = (h ^ (parts[i] ? 0xff : 0xfe)) * 1099511628211ull;
    }
    h = (h ^ (uint64_t)(unsigned)f->line) * 1099511628211ull;
    h = (h ^ (uint64_t)f->ip) * 1099511628211ull;
    return h ? h : 1;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static size_t frame_id(frame_table *t, const ouro_frame *f)
{
    uint64_t h = frame_hash(f);
    size_t *v = ouro__ins_map_get(&t->index, (uintptr_t)h);
    if (v) {
        const ouro_frame *g = &INS_AT(&t->frames, ouro_frame, *v);
        if (same_str(f->file, g->file) && same_str(f->func, g->func) && f->line == g->line &&
            f->ip == g->ip)
            return *v;
    }
    ouro_frame *slot = ouro__ins_arr_push(&t->frames);
    if (!slot) {
        t->err = OURO_ENOMEM;
        return 0;
    }
    *slot = *f;
    if (!v && ouro__ins_map_put(&t->index, (uintptr_t)h, t->frames.len - 1) < 0)
        t->err = OURO_ENOMEM;
    return t->frames.len - 1;
}

int ouro_snapshot_write(const ouro_snapshot *s, FILE *out)
{
    if (!s || !out)
        return OURO_EINVAL;
    frame_table ft = {{0}, INS_ARR(ouro_frame), out, 0};
    if (ouro__ins_map_init(&ft.index, 64) < 0)
        return OURO_ENOMEM;
    /* Number the frames first, so the table can be written before the
     * traces that refer to it. */
    size_t **tids = calloc(s->ntraces + 1, sizeof *tids);
    size_t *lids = calloc(s->nleaks + 1, sizeof *lids);
    int rc = (!tids || !lids) ? OURO_ENOMEM : 0;
    for (size_t i = 0; !rc && i < s->ntraces; i++) {
        const ouro_trace *tr = &s->traces[i];
        tids[i] = malloc(((size_t)tr->nframes + 1) * sizeof **tids);
        if (!tids[i]) {
            rc = OURO_ENOMEM;
            break;
        }
        for (int k = 0; k < tr->nframes; k++)
            tids[i][k] = frame_id(&ft, &tr->frames[k]);
    }
    for (size_t i = 0; !rc && i < s->nleaks; i++)
        lids[i] = s->leaks[i].site.file || s->leaks[i].site.func
                      ? frame_id(&ft, &s->leaks[i].site) + 1
                      : 0;
    if (!rc)
        rc = ft.err;
    if (rc)
        goto out;

    fprintf(out, "{\"format\":\"%s\",\"version\":%d,\n\"label\":", FORMAT_NAME, FORMAT_VERSION);
    jstr(out, s->label);
    fputs(",\"time\":", out);
    jnum(out, s->time);
    if (s->has_heap) {
        const ouro_heap_stats *st = &s->heap;
        fprintf(out,
                ",\n\"heap\":{\"bytes_in_use\":%zu,\"peak_bytes_in_use\":%zu,\"objects\":%zu,"
                "\"arenas\":%zu,\"peak_arenas\":%zu,\"mapped_bytes\":%zu,"
                "\"peak_mapped_bytes\":%zu,\"large_blocks\":%zu,\"large_bytes\":%zu}",
                st->bytes_in_use, st->peak_bytes_in_use, st->objects, st->arenas,
                st->peak_arenas, st->mapped_bytes, st->peak_mapped_bytes, st->large_blocks,
                st->large_bytes);
    }
    fprintf(out, ",\n\"tools_bytes\":%zu", s->tools_bytes);
    if (s->tracing)
        fprintf(out, ",\n\"tracing\":{\"nframes\":%d,\"sample_bytes\":%zu,\"current\":%zu,"
                     "\"peak\":%zu}",
                s->nframes, s->sample_bytes, s->traced_current, s->traced_peak);
    fputs(",\n\"frames\":[", out);
    for (size_t i = 0; i < ft.frames.len; i++) {
        const ouro_frame *f = &INS_AT(&ft.frames, ouro_frame, i);
        fputs(i ? ",\n[" : "\n[", out);
        jstr(out, f->file);
        fprintf(out, ",%d,", f->line < 0 ? 0 : f->line);
        jstr(out, f->func);
        fprintf(out, ",%llu]", (unsigned long long)(f->ip < MAX_SAFE ? f->ip : 0));
    }
    fputs("],\n\"traces\":[", out);
    for (size_t i = 0; i < s->ntraces; i++) {
        const ouro_trace *tr = &s->traces[i];
        fprintf(out, "%s[%d,%zu,%zu,[", i ? ",\n" : "\n", tr->domain, tr->size, tr->count);
        for (int k = 0; k < tr->nframes; k++)
            fprintf(out, k ? ",%zu" : "%zu", tids[i][k]);
        fputs("]]", out);
    }
    fputs("],\n\"census\":[", out);
    for (size_t i = 0; i < s->ncensus; i++) {
        fputs(i ? ",\n[" : "\n[", out);
        jstr(out, s->census[i].name);
        fprintf(out, ",%zu,%zu,%zu]", s->census[i].count, s->census[i].size,
                s->census[i].block_bytes);
    }
    fputs("],\n\"series\":{\"points\":[", out);
    for (size_t i = 0; i < s->nseries; i++) {
        const ouro_series_point *p = &s->series[i];
        fputs(i ? ",\n[" : "\n[", out);
        jnum(out, p->t);
        fprintf(out, ",%zu,%zu,%zu,%zu,%zu,%zu]", p->heap_bytes, p->mapped_bytes, p->rss_bytes,
                p->objects, p->traced_bytes, p->tools_bytes);
    }
    fputs("],\"marks\":[", out);
    for (size_t i = 0; i < s->nmarks; i++) {
        fputs(i ? ",\n[" : "\n[", out);
        jstr(out, s->marks[i].name);
        fputc(',', out);
        jnum(out, s->marks[i].begin);
        fputc(',', out);
        jnum(out, s->marks[i].end);
        fprintf(out, ",%d]", s->marks[i].depth < 0 ? 0 : s->marks[i].depth);
    }
    fputs("]},\n\"leaks\":[", out);
    for (size_t i = 0; i < s->nleaks; i++) {
        const ouro_leak_group *g = &s->leaks[i];
        fputs(i ? ",\n{\"type\":" : "\n{\"type\":", out);
        jstr(out, g->type);
        if (lids[i])
            fprintf(out, ",\"site\":%zu", lids[i] - 1);
        else
            fputs(",\"site\":null", out);
        fprintf(out, ",\"count\":%zu,\"bytes\":%zu,\"example\":%llu,\"chain\":[", g->count,
                g->bytes, (unsigned long long)(g->example < MAX_SAFE ? g->example : 0));
        for (size_t k = 0; k < g->nchain; k++) {
            if (k)
                fputc(',', out);
            jnode(out, &g->chain[k]);
        }
        fputs("]}", out);
    }
    fputs("],\n\"graph\":{\"nodes\":[", out);
    for (size_t i = 0; i < s->graph.nnodes; i++) {
        fputs(i ? ",\n" : "\n", out);
        jnode(out, &s->graph.nodes[i]);
    }
    fputs("],\"edges\":[", out);
    for (size_t i = 0; i < s->graph.nedges; i++)
        fprintf(out, "%s[%zu,%zu]", i ? "," : "", s->graph.edges[i].from, s->graph.edges[i].to);
    fprintf(out, "],\"truncated\":%s}}\n", s->graph.truncated ? "true" : "false");
    rc = ferror(out) ? OURO_EINVAL : 0;
out:
    if (tids)
        for (size_t i = 0; i < s->ntraces; i++)
            free(tids[i]);
    free(tids);
    free(lids);
    free(ft.frames.p);
    ouro__ins_map_fini(&ft.index);
    return rc;
}

int ouro_snapshot_save(const ouro_snapshot *s, const char *path)
{
    if (!s || !path)
        return OURO_EINVAL;
    FILE *f = fopen(path, "w");
    if (!f)
        return OURO_EINVAL;
    int rc = ouro_snapshot_write(s, f);
    if (fclose(f) != 0 && rc == 0)
        rc = OURO_EINVAL;
    return rc;
}

/* ================================================================ loading */

/* The loader's context: a failed check longjmps out with the message set,
 * so each check is one line and nothing half-built escapes. */
typedef struct loader {
    ouro_snapshot *s;
    ins_strpool *pool;
    char *err;
    size_t errlen;
    jmp_buf fail;
    size_t nframes;
    ouro_frame *frames;
} loader;

__attribute__((noreturn, format(printf, 2, 3))) static void bad(loader *L, const char *fmt,
                                                                 ...)
{
    if (L->err && L->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(L->err, L->errlen, fmt, ap);
        va_end(ap);
    }
    longjmp(L->fail, 1);
}

static void *L_alloc(loader *L, size_t n, size_t size)
{
    if (n && size > SIZE_MAX / n)
        bad(L, "too many items");
    void *p = ouro__ins_pool_alloc(L->pool, n ? n * size : 1);
    if (!p)
        bad(L, "out of memory");
    memset(p, 0, n ? n * size : 1);
    return p;
}

static json_t *L_arr(loader *L, json_t *v, const char *what)
{
    if (!json_is_array(v))
        bad(L, "%s: expected an array", what);
    return v;
}

static json_t *L_item(loader *L, json_t *arr, size_t i, size_t want, const char *what)
{
    json_t *v = json_array_get(arr, i);
    if (!json_is_array(v))
        bad(L, "%s[%zu]: expected an array", what, i);
    if (json_array_size(v) < want)
        bad(L, "%s[%zu]: expected %zu fields, found %zu", what, i, want, json_array_size(v));
    return v;
}

static uint64_t L_uint(loader *L, json_t *v, uint64_t max, const char *what, size_t i, int k)
{
    if (!json_is_integer(v))
        bad(L, "%s[%zu][%d]: expected an integer", what, i, k);
    json_int_t x = json_integer_value(v);
    if (x < 0 || (uint64_t)x > max)
        bad(L, "%s[%zu][%d]: %lld out of range (0..%llu)", what, i, k, (long long)x,
            (unsigned long long)max);
    return (uint64_t)x;
}

static double L_num(loader *L, json_t *v, const char *what, size_t i, int k)
{
    if (!json_is_number(v))
        bad(L, "%s[%zu][%d]: expected a number", what, i, k);
    double d = json_number_value(v);
    if (!isfinite(d) || fabs(d) > 1e15)
        bad(L, "%s[%zu][%d]: number out of range", what, i, k);
    return d;
}

static const char *L_str(loader *L, json_t *v, int nullable, const char *what, size_t i, int k)
{
    if (nullable && json_is_null(v))
        return NULL;
    if (!json_is_string(v))
        bad(L, "%s[%zu][%d]: expected a string%s", what, i, k, nullable ? " or null" : "");
    const char *s = ouro__ins_intern_n(L->pool, json_string_value(v), json_string_length(v));
    if (!s)
        bad(L, "out of memory");
    return s;
}

static uint64_t L_field(loader *L, json_t *obj, const char *key, uint64_t max,
                        const char *what)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        bad(L, "%s: missing \"%s\"", what, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        (uint64_t)json_integer_value(v) > max)
        bad(L, "%s.%s: expected an integer in 0..%llu", what, key, (unsigned long long)max);
    return (uint64_t)json_integer_value(v);
}

static void L_check_product(loader *L, uint64_t a, uint64_t b, const char *what, size_t i)
{
    if (b && a > (MAX_SAFE * 1024) / b)
        bad(L, "%s[%zu]: size times count is too large", what, i);
}

static void L_node(loader *L, json_t *v, ouro_graph_node *n, const char *what, size_t i)
{
    if (!json_is_array(v) || json_array_size(v) < 6)
        bad(L, "%s[%zu]: expected a node [id, type, size, refcnt, external, flags]", what, i);
    n->id = L_uint(L, json_array_get(v, 0), MAX_SAFE, what, i, 0);
    n->type = L_str(L, json_array_get(v, 1), 0, what, i, 1);
    n->size = L_uint(L, json_array_get(v, 2), MAX_SAFE, what, i, 2);
    n->refcnt = (uint32_t)L_uint(L, json_array_get(v, 3), UINT32_MAX, what, i, 3);
    n->external = (uint32_t)L_uint(L, json_array_get(v, 4), UINT32_MAX, what, i, 4);
    n->flags = (unsigned)L_uint(L, json_array_get(v, 5), 7, what, i, 5);
}

static void load_doc(loader *L, json_t *root)
{
    ouro_snapshot *s = L->s;
    if (!json_is_object(root))
        bad(L, "top level: expected an object");
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), FORMAT_NAME) != 0)
        bad(L, "not an ouro snapshot (\"format\" is not \"%s\")", FORMAT_NAME);
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != FORMAT_VERSION)
        bad(L, "unsupported version (this reader knows version %d)", FORMAT_VERSION);
    json_t *v = json_object_get(root, "label");
    if (v && !json_is_null(v))
        s->label = L_str(L, v, 0, "label", 0, 0);
    v = json_object_get(root, "time");
    if (v)
        s->time = L_num(L, v, "time", 0, 0);
    v = json_object_get(root, "tools_bytes"); /* optional: later than version 1's first files */
    if (v)
        s->tools_bytes = L_uint(L, v, MAX_SAFE, "tools_bytes", 0, 0);

    json_t *heap = json_object_get(root, "heap");
    if (heap) {
        if (!json_is_object(heap))
            bad(L, "heap: expected an object");
        s->has_heap = 1;
        s->heap.struct_size = sizeof s->heap;
        s->heap.bytes_in_use = L_field(L, heap, "bytes_in_use", MAX_SAFE, "heap");
        s->heap.peak_bytes_in_use = L_field(L, heap, "peak_bytes_in_use", MAX_SAFE, "heap");
        s->heap.objects = L_field(L, heap, "objects", MAX_SAFE, "heap");
        s->heap.arenas = L_field(L, heap, "arenas", MAX_SAFE, "heap");
        s->heap.peak_arenas = L_field(L, heap, "peak_arenas", MAX_SAFE, "heap");
        s->heap.mapped_bytes = L_field(L, heap, "mapped_bytes", MAX_SAFE, "heap");
        s->heap.peak_mapped_bytes = L_field(L, heap, "peak_mapped_bytes", MAX_SAFE, "heap");
        s->heap.large_blocks = L_field(L, heap, "large_blocks", MAX_SAFE, "heap");
        s->heap.large_bytes = L_field(L, heap, "large_bytes", MAX_SAFE, "heap");
    }
    json_t *tr = json_object_get(root, "tracing");
    if (tr) {
        if (!json_is_object(tr))
            bad(L, "tracing: expected an object");
        s->tracing = 1;
        s->nframes = (int)L_field(L, tr, "nframes", OURO_TRACE_MAX_FRAMES, "tracing");
        s->sample_bytes = L_field(L, tr, "sample_bytes", MAX_SAFE, "tracing");
        s->traced_current = L_field(L, tr, "current", MAX_SAFE, "tracing");
        s->traced_peak = L_field(L, tr, "peak", MAX_SAFE, "tracing");
    }

    json_t *frames = json_object_get(root, "frames");
    if (frames) {
        L_arr(L, frames, "frames");
        L->nframes = json_array_size(frames);
        L->frames = L_alloc(L, L->nframes, sizeof *L->frames);
        for (size_t i = 0; i < L->nframes; i++) {
            json_t *f = L_item(L, frames, i, 4, "frames");
            L->frames[i].file = L_str(L, json_array_get(f, 0), 1, "frames", i, 0);
            L->frames[i].line = (int)L_uint(L, json_array_get(f, 1), INT32_MAX, "frames", i, 1);
            L->frames[i].func = L_str(L, json_array_get(f, 2), 1, "frames", i, 2);
            L->frames[i].ip = (uintptr_t)L_uint(L, json_array_get(f, 3), MAX_SAFE, "frames", i, 3);
        }
    }
    json_t *traces = json_object_get(root, "traces");
    if (traces) {
        L_arr(L, traces, "traces");
        s->ntraces = json_array_size(traces);
        s->traces = L_alloc(L, s->ntraces, sizeof *s->traces);
        for (size_t i = 0; i < s->ntraces; i++) {
            json_t *t = L_item(L, traces, i, 4, "traces");
            ouro_trace *o = &s->traces[i];
            o->domain = (int)L_uint(L, json_array_get(t, 0), 1, "traces", i, 0);
            o->size = L_uint(L, json_array_get(t, 1), MAX_SAFE, "traces", i, 1);
            o->count = L_uint(L, json_array_get(t, 2), MAX_SAFE, "traces", i, 2);
            L_check_product(L, o->size, o->count, "traces", i);
            json_t *fi = json_array_get(t, 3);
            if (!json_is_array(fi))
                bad(L, "traces[%zu][3]: expected an array of frame indices", i);
            size_t nf = json_array_size(fi);
            if (nf > OURO_TRACE_MAX_FRAMES)
                bad(L, "traces[%zu][3]: %zu frames, at most %d", i, nf, OURO_TRACE_MAX_FRAMES);
            ouro_frame *fr = L_alloc(L, nf, sizeof *fr);
            for (size_t k = 0; k < nf; k++) {
                json_t *x = json_array_get(fi, k);
                if (!json_is_integer(x) || json_integer_value(x) < 0 ||
                    (uint64_t)json_integer_value(x) >= L->nframes)
                    bad(L, "traces[%zu][3][%zu]: frame index out of range (%zu frames)", i, k,
                        L->nframes);
                fr[k] = L->frames[json_integer_value(x)];
            }
            o->nframes = (int)nf;
            o->frames = fr;
        }
    }
    json_t *census = json_object_get(root, "census");
    if (census) {
        L_arr(L, census, "census");
        s->ncensus = json_array_size(census);
        s->census = L_alloc(L, s->ncensus, sizeof *s->census);
        for (size_t i = 0; i < s->ncensus; i++) {
            json_t *c = L_item(L, census, i, 4, "census");
            s->census[i].name = L_str(L, json_array_get(c, 0), 0, "census", i, 0);
            s->census[i].count = L_uint(L, json_array_get(c, 1), MAX_SAFE, "census", i, 1);
            s->census[i].size = L_uint(L, json_array_get(c, 2), MAX_SAFE, "census", i, 2);
            s->census[i].block_bytes = L_uint(L, json_array_get(c, 3), MAX_SAFE, "census", i, 3);
        }
    }
    json_t *series = json_object_get(root, "series");
    if (series) {
        if (!json_is_object(series))
            bad(L, "series: expected an object");
        json_t *pts = json_object_get(series, "points");
        if (pts) {
            L_arr(L, pts, "series.points");
            s->nseries = json_array_size(pts);
            s->series = L_alloc(L, s->nseries, sizeof *s->series);
            for (size_t i = 0; i < s->nseries; i++) {
                json_t *p = L_item(L, pts, i, 6, "series.points");
                ouro_series_point *o = &s->series[i];
                o->t = L_num(L, json_array_get(p, 0), "series.points", i, 0);
                o->heap_bytes = L_uint(L, json_array_get(p, 1), MAX_SAFE, "series.points", i, 1);
                o->mapped_bytes = L_uint(L, json_array_get(p, 2), MAX_SAFE, "series.points", i, 2);
                o->rss_bytes = L_uint(L, json_array_get(p, 3), MAX_SAFE, "series.points", i, 3);
                o->objects = L_uint(L, json_array_get(p, 4), MAX_SAFE, "series.points", i, 4);
                o->traced_bytes = L_uint(L, json_array_get(p, 5), MAX_SAFE, "series.points", i, 5);
                if (json_array_size(p) > 6) /* optional seventh field */
                    o->tools_bytes =
                        L_uint(L, json_array_get(p, 6), MAX_SAFE, "series.points", i, 6);
            }
        }
        json_t *marks = json_object_get(series, "marks");
        if (marks) {
            L_arr(L, marks, "series.marks");
            s->nmarks = json_array_size(marks);
            s->marks = L_alloc(L, s->nmarks, sizeof *s->marks);
            for (size_t i = 0; i < s->nmarks; i++) {
                json_t *m = L_item(L, marks, i, 4, "series.marks");
                s->marks[i].name = L_str(L, json_array_get(m, 0), 0, "series.marks", i, 0);
                s->marks[i].begin = L_num(L, json_array_get(m, 1), "series.marks", i, 1);
                s->marks[i].end = L_num(L, json_array_get(m, 2), "series.marks", i, 2);
                s->marks[i].depth = (int)L_uint(L, json_array_get(m, 3), 1000, "series.marks", i, 3);
            }
        }
    }
    json_t *leaks = json_object_get(root, "leaks");
    if (leaks) {
        L_arr(L, leaks, "leaks");
        s->nleaks = json_array_size(leaks);
        s->leaks = L_alloc(L, s->nleaks, sizeof *s->leaks);
        for (size_t i = 0; i < s->nleaks; i++) {
            json_t *g = json_array_get(leaks, i);
            ouro_leak_group *o = &s->leaks[i];
            if (!json_is_object(g))
                bad(L, "leaks[%zu]: expected an object", i);
            json_t *ty = json_object_get(g, "type");
            if (!json_is_string(ty))
                bad(L, "leaks[%zu].type: expected a string", i);
            o->type = L_str(L, ty, 0, "leaks", i, 0);
            json_t *site = json_object_get(g, "site");
            if (site && !json_is_null(site)) {
                if (!json_is_integer(site) || json_integer_value(site) < 0 ||
                    (uint64_t)json_integer_value(site) >= L->nframes)
                    bad(L, "leaks[%zu].site: frame index out of range (%zu frames)", i,
                        L->nframes);
                o->site = L->frames[json_integer_value(site)];
            }
            o->count = L_field(L, g, "count", MAX_SAFE, "leaks[]");
            o->bytes = L_field(L, g, "bytes", MAX_SAFE, "leaks[]");
            o->example = L_field(L, g, "example", MAX_SAFE, "leaks[]");
            json_t *chain = json_object_get(g, "chain");
            if (chain) {
                L_arr(L, chain, "leaks[].chain");
                o->nchain = json_array_size(chain);
                o->chain = o->nchain ? L_alloc(L, o->nchain, sizeof *o->chain) : NULL;
                for (size_t k = 0; k < o->nchain; k++)
                    L_node(L, json_array_get(chain, k), &o->chain[k], "leaks[].chain", k);
            }
        }
    }
    json_t *graph = json_object_get(root, "graph");
    if (graph) {
        if (!json_is_object(graph))
            bad(L, "graph: expected an object");
        json_t *nodes = json_object_get(graph, "nodes");
        if (nodes) {
            L_arr(L, nodes, "graph.nodes");
            s->graph.nnodes = json_array_size(nodes);
            s->graph.nodes = L_alloc(L, s->graph.nnodes, sizeof *s->graph.nodes);
            for (size_t i = 0; i < s->graph.nnodes; i++)
                L_node(L, json_array_get(nodes, i), &s->graph.nodes[i], "graph.nodes", i);
        }
        json_t *edges = json_object_get(graph, "edges");
        if (edges) {
            L_arr(L, edges, "graph.edges");
            s->graph.nedges = json_array_size(edges);
            s->graph.edges = L_alloc(L, s->graph.nedges, sizeof *s->graph.edges);
            for (size_t i = 0; i < s->graph.nedges; i++) {
                json_t *e = L_item(L, edges, i, 2, "graph.edges");
                uint64_t max = s->graph.nnodes ? s->graph.nnodes - 1 : 0;
                if (!s->graph.nnodes)
                    bad(L, "graph.edges[%zu]: an edge without nodes", i);
                s->graph.edges[i].from = L_uint(L, json_array_get(e, 0), max, "graph.edges", i, 0);
                s->graph.edges[i].to = L_uint(L, json_array_get(e, 1), max, "graph.edges", i, 1);
            }
        }
        json_t *tr2 = json_object_get(graph, "truncated");
        s->graph.truncated = json_is_true(tr2);
    }
}

ouro_snapshot *ouro_snapshot_parse(const char *text, size_t len, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!text) {
        if (err && errlen)
            snprintf(err, errlen, "no input");
        return NULL;
    }
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        if (err && errlen)
            snprintf(err, errlen, "not valid JSON: line %d column %d: %s", je.line, je.column,
                     je.text);
        return NULL;
    }
    loader L;
    memset(&L, 0, sizeof L);
    L.err = err;
    L.errlen = errlen;
    L.s = ouro__ins_snap_alloc();
    if (!L.s) {
        json_decref(root);
        if (err && errlen)
            snprintf(err, errlen, "out of memory");
        return NULL;
    }
    L.pool = ouro__ins_snap_pool(L.s);
    /* `volatile`: read after longjmp. */
    ouro_snapshot *volatile result = L.s;
    if (setjmp(L.fail) == 0) {
        load_doc(&L, root);
    } else {
        ouro_snapshot_free(result);
        result = NULL;
    }
    json_decref(root);
    return result;
}

ouro_snapshot *ouro_snapshot_load(const char *path, char *err, size_t errlen)
{
    if (!path) {
        if (err && errlen)
            snprintf(err, errlen, "no file name");
        return NULL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err && errlen)
            snprintf(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= OURO_SNAPSHOT_MAX_BYTES) {
            free(buf);
            buf = NULL;
            fclose(f);
            if (err && errlen)
                snprintf(err, errlen, "%s: larger than %zu bytes", path,
                         (size_t)OURO_SNAPSHOT_MAX_BYTES);
            return NULL;
        }
        char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr) {
        free(buf);
        if (err && errlen)
            snprintf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        return NULL;
    }
    char msg[512] = "";
    ouro_snapshot *s = ouro_snapshot_parse(buf, n, msg, sizeof msg);
    free(buf);
    if (!s && err && errlen)
        snprintf(err, errlen, "%s: %s", path, msg);
    return s;
}
