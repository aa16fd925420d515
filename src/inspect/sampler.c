/*
 * sampler.c — memory over time: ouro's memory_profiler / mprof.
 *
 * A sample reads the heap's counters (no walk: O(1)), the process's RSS
 * (one read of /proc/self/statm) and the tracer's current bytes.  Samples
 * are taken on request, at marks, and from a collector "stop" callback
 * once `interval` has passed since the last one, so a program that
 * allocates tracked objects is sampled without calling anything; the
 * callback only appends to malloc'd arrays, so it changes nothing the
 * collector or the heap can see.
 *
 * Invariants: points are in time order; an open mark has end < 0 and is on
 * the open stack; depth is the number of marks open when it began.
 *
 * Owns: ouro_sampler_*, and the sampler's outputs: its series in a
 * snapshot (ouro_snapshot_set_series), a snapshot file with it
 * (ouro_sampler_save) and mprof's .dat (ouro_sampler_write_mprof).  Calls
 * trace.c (traced bytes, the tools' overhead), snapshot.c,
 * snapshot_take.c, snapshot_json.c and util.c.
 */
#include "inspect.h"

struct ouro_sampler {
    ouro_heap *heap;
    double interval, t0, last;
    ins_arr points; /* ouro_series_point */
    ins_arr marks;  /* ouro_mark */
    ins_arr open;   /* size_t: indices of open marks, innermost last */
    ins_strpool names;
    int registered;
};

static void gc_stop(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)h;
    (void)info;
    if (phase[0] == 's' && phase[1] == 't' && phase[2] == 'o')
        ouro_sampler_tick(arg);
}

ouro_sampler *ouro_sampler_new(ouro_heap *h, double interval)
{
    if (!h || !(interval >= 0))
        return NULL;
    ouro_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->heap = h;
    s->interval = interval;
    s->points = INS_ARR(ouro_series_point);
    s->marks = INS_ARR(ouro_mark);
    s->open = INS_ARR(size_t);
    s->t0 = ouro__ins_mono();
    if (interval > 0) {
        if (ouro_gc_callback_add(h, gc_stop, s) < 0) {
            free(s);
            return NULL;
        }
        s->registered = 1;
    }
    if (ouro_sampler_sample(s) < 0) {
        ouro_sampler_free(s);
        return NULL;
    }
    return s;
}

void ouro_sampler_free(ouro_sampler *s)
{
    if (!s)
        return;
    if (s->registered)
        ouro_gc_callback_remove(s->heap, gc_stop, s);
    free(s->points.p);
    free(s->marks.p);
    free(s->open.p);
    ouro__ins_strpool_fini(&s->names);
    free(s);
}

static int sample_at(ouro_sampler *s, double now)
{
    ouro_heap_stats st;
    st.struct_size = offsetof(ouro_heap_stats, class_size); /* totals only: O(1) */
    ouro_heap_get_stats(s->heap, &st);
    ouro_series_point *p = ouro__ins_arr_push(&s->points);
    if (!p)
        return OURO_ENOMEM;
    size_t traced = 0;
    ouro_trace_get_traced_memory(s->heap, &traced, NULL);
    *p = (ouro_series_point){now - s->t0, st.bytes_in_use, st.mapped_bytes, ouro__ins_rss(),
                             st.objects, traced, ouro_inspect_overhead(s->heap)};
    s->last = now;
    return 0;
}

int ouro_sampler_sample(ouro_sampler *s)
{
    if (!s)
        return OURO_EINVAL;
    return sample_at(s, ouro__ins_mono());
}

int ouro_sampler_tick(ouro_sampler *s)
{
    if (!s)
        return OURO_EINVAL;
    double now = ouro__ins_mono();
    if (s->interval > 0 && now - s->last >= s->interval)
        return sample_at(s, now);
    return 0;
}

int ouro_sampler_begin(ouro_sampler *s, const char *name)
{
    if (!s || !name)
        return OURO_EINVAL;
    double now = ouro__ins_mono();
    ouro_mark *m = ouro__ins_arr_push(&s->marks);
    size_t *o = m ? ouro__ins_arr_push(&s->open) : NULL;
    const char *n = o ? ouro__ins_intern(&s->names, name) : NULL;
    if (!n) {
        if (m)
            s->marks.len--;
        if (o)
            s->open.len--;
        return OURO_ENOMEM;
    }
    *m = (ouro_mark){n, now - s->t0, -1.0, (int)(s->open.len - 1)};
    *o = s->marks.len - 1;
    return sample_at(s, now);
}

int ouro_sampler_end(ouro_sampler *s, const char *name)
{
    if (!s)
        return OURO_EINVAL;
    size_t *open = s->open.p;
    size_t k = s->open.len;
    while (k > 0) {
        ouro_mark *m = &INS_AT(&s->marks, ouro_mark, open[k - 1]);
        if (!name || strcmp(m->name, name) == 0)
            break;
        k--;
    }
    if (k == 0)
        return OURO_ENOTFOUND;
    double now = ouro__ins_mono();
    INS_AT(&s->marks, ouro_mark, open[k - 1]).end = now - s->t0;
    memmove(&open[k - 1], &open[k], (s->open.len - k) * sizeof *open);
    s->open.len--;
    return sample_at(s, now);
}

const ouro_series_point *ouro_sampler_points(const ouro_sampler *s, size_t *n)
{
    if (!s || !n)
        return NULL;
    *n = s->points.len;
    return s->points.p;
}

const ouro_mark *ouro_sampler_marks(const ouro_sampler *s, size_t *n)
{
    if (!s || !n)
        return NULL;
    *n = s->marks.len;
    return s->marks.p;
}

int ouro_snapshot_set_series(ouro_snapshot *snap, const ouro_sampler *s)
{
    if (!snap || !s)
        return OURO_EINVAL;
    ins_strpool *pool = ouro__ins_snap_pool(snap);
    ouro_series_point *p = ouro__ins_pool_alloc(pool, (s->points.len + 1) * sizeof *p);
    ouro_mark *m = ouro__ins_pool_alloc(pool, (s->marks.len + 1) * sizeof *m);
    if (!p || !m)
        return OURO_ENOMEM;
    if (s->points.len)
        memcpy(p, s->points.p, s->points.len * sizeof *p);
    for (size_t i = 0; i < s->marks.len; i++) {
        m[i] = INS_AT(&s->marks, ouro_mark, i);
        m[i].name = ouro__ins_intern(pool, m[i].name);
    }
    snap->series = p;
    snap->nseries = s->points.len;
    snap->marks = m;
    snap->nmarks = s->marks.len;
    return 0;
}

int ouro_sampler_save(const ouro_sampler *s, const char *path)
{
    if (!s || !path)
        return OURO_EINVAL;
    ouro_snapshot *snap = ouro_snapshot_take(s->heap, OURO_SNAP_CENSUS, "sampler");
    if (!snap)
        return OURO_ENOMEM;
    int rc = ouro_snapshot_set_series(snap, s);
    if (rc == 0)
        rc = ouro_snapshot_save(snap, path);
    ouro_snapshot_free(snap);
    return rc;
}

/* The program's resident set in MiB: the profiling tools' own memory
 * (ouro_inspect_overhead) left out, as mprof measures a program that is
 * not being traced. */
static double program_mib(const ouro_series_point *p)
{
    size_t tools = p->tools_bytes < p->rss_bytes ? p->tools_bytes : p->rss_bytes;
    return (double)(p->rss_bytes - tools) / 1048576.0;
}

int ouro_sampler_write_mprof(const ouro_sampler *s, FILE *out)
{
    if (!s || !out)
        return OURO_EINVAL;
    /* mprof's format: "MEM <MiB> <unix time>" per sample, and "FUNC <name>
     * <level> <MiB at start> <start> <MiB at end> <end>" per region. */
    double base = ouro__ins_now() - (ouro__ins_mono() - s->t0);
    fputs("CMDLINE ouro\n", out);
    const ouro_series_point *p = s->points.p;
    for (size_t i = 0; i < s->points.len; i++)
        fprintf(out, "MEM %.6f %.4f\n", program_mib(&p[i]), base + p[i].t);
    for (size_t i = 0; i < s->marks.len; i++) {
        const ouro_mark *m = &INS_AT(&s->marks, ouro_mark, i);
        if (m->end < 0)
            continue;
        /* The samples taken at the mark's begin and end bracket it. */
        double mb = 0, me = 0;
        for (size_t k = 0; k < s->points.len; k++) {
            if (p[k].t <= m->begin)
                mb = program_mib(&p[k]);
            if (p[k].t <= m->end)
                me = program_mib(&p[k]);
        }
        fprintf(out, "FUNC %s %d %.4f %.4f %.4f %.4f\n", m->name, m->depth, mb, base + m->begin,
                me, base + m->end);
    }
    return ferror(out) ? OURO_EINVAL : 0;
}
