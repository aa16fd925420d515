/*
 * census.c — live objects by type: objgraph's typestats, count, by_type and
 * growth, Pympler's summary, summary diff and class tracker.
 *
 * A census is one heap walk with a per-type-id counter array (65,536 slots,
 * malloc'd for the walk), so its cost is O(objects) and independent of how
 * many types exist.  Immortal objects are left out: they are the program's
 * constants, not its allocations.
 *
 * Owns: ouro_census*, ouro_objects_of_type, ouro_growth_*, ouro_tracker_*.
 * Calls only util.c (maps, arrays, string pool, clock); snapshot_take.c
 * puts a census into snapshots.
 */
#include "inspect.h"

typedef struct census_acc {
    size_t count, size, block;
} census_acc;

typedef struct census_state {
    census_acc *acc;
} census_state;

static int census_visit(ouro_object *o, void *arg)
{
    census_state *cs = arg;
    if (ouro_is_immortal(o))
        return 0;
    census_acc *a = &cs->acc[o->type_id];
    a->count++;
    a->size += ouro_sizeof(o);
    a->block += ouro__block_size(o);
    return 0;
}

static int cmp_count(const void *a, const void *b)
{
    const ouro_type_count *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return strcmp(x->name, y->name);
}

ouro_type_count *ouro_census(ouro_heap *h, size_t *n)
{
    if (!h || !n)
        return NULL;
    census_state cs = {calloc(OURO__MAX_TYPES, sizeof(census_acc))};
    if (!cs.acc)
        return NULL;
    ouro_heap_walk(h, census_visit, &cs);
    size_t m = 0;
    for (size_t i = 0; i < OURO__MAX_TYPES; i++)
        if (cs.acc[i].count)
            m++;
    ouro_type_count *out = malloc((m ? m : 1) * sizeof *out);
    if (out) {
        size_t k = 0;
        for (size_t i = 0; i < OURO__MAX_TYPES; i++) {
            if (!cs.acc[i].count)
                continue;
            ouro_type *t = ouro__type_by_id((uint32_t)i);
            out[k++] = (ouro_type_count){t && t->name ? t->name : "?", cs.acc[i].count,
                                         cs.acc[i].size, cs.acc[i].block};
        }
        qsort(out, m, sizeof *out, cmp_count);
        *n = m;
    }
    free(cs.acc);
    return out;
}

typedef struct by_name {
    const char *name;
    size_t count;
    ouro_visit_fn visit;
    void *arg;
} by_name;

static int name_visit(ouro_object *o, void *arg)
{
    by_name *b = arg;
    if (ouro_is_immortal(o) || strcmp(ouro_type_name(o), b->name) != 0)
        return 0;
    b->count++;
    return b->visit ? b->visit(o, b->arg) : 0;
}

size_t ouro_census_count(ouro_heap *h, const char *type_name)
{
    if (!h || !type_name)
        return 0;
    by_name b = {type_name, 0, NULL, NULL};
    ouro_heap_walk(h, name_visit, &b);
    return b.count;
}

int ouro_objects_of_type(ouro_heap *h, const char *type_name, ouro_visit_fn visit, void *arg)
{
    if (!h || !type_name || !visit)
        return OURO_EINVAL;
    by_name b = {type_name, 0, visit, arg};
    return ouro_heap_walk(h, name_visit, &b);
}

/* ------------------------------------------------------------ diffs */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const ouro_type_count *)a)->name, ((const ouro_type_count *)b)->name);
}

static unsigned long long mag(long long x)
{
    return x < 0 ? -(unsigned long long)x : (unsigned long long)x;
}

static int cmp_diff(const void *a, const void *b)
{
    const ouro_type_diff *x = a, *y = b;
    if (mag(x->size_diff) != mag(y->size_diff))
        return mag(x->size_diff) > mag(y->size_diff) ? -1 : 1;
    if (mag(x->count_diff) != mag(y->count_diff))
        return mag(x->count_diff) > mag(y->count_diff) ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Sorted copies by name, merged like two sorted lists.  Types that share a
 * name are added together: a census keyed by name is what a reader of a
 * file can compare. */
ouro_type_diff *ouro_census_diff(const ouro_type_count *now, size_t nnow,
                                 const ouro_type_count *before, size_t nbefore, size_t *n)
{
    if (!n || (nnow && !now) || (nbefore && !before))
        return NULL;
    ouro_type_count *a = malloc((nnow + 1) * sizeof *a), *b = malloc((nbefore + 1) * sizeof *b);
    ouro_type_diff *out = malloc((nnow + nbefore + 1) * sizeof *out);
    if (!a || !b || !out) {
        free(a);
        free(b);
        free(out);
        return NULL;
    }
    if (nnow)
        memcpy(a, now, nnow * sizeof *a);
    if (nbefore)
        memcpy(b, before, nbefore * sizeof *b);
    qsort(a, nnow, sizeof *a, cmp_name);
    qsort(b, nbefore, sizeof *b, cmp_name);
    size_t i = 0, j = 0, k = 0;
    while (i < nnow || j < nbefore) {
        const char *name;
        int c = i >= nnow ? 1 : j >= nbefore ? -1 : strcmp(a[i].name, b[j].name);
        name = c <= 0 ? a[i].name : b[j].name;
        size_t nc = 0, ns = 0, bc = 0, bs = 0;
        while (i < nnow && strcmp(a[i].name, name) == 0) {
            nc += a[i].count;
            ns += a[i].size;
            i++;
        }
        while (j < nbefore && strcmp(b[j].name, name) == 0) {
            bc += b[j].count;
            bs += b[j].size;
            j++;
        }
        if (nc == bc && ns == bs)
            continue;
        out[k++] = (ouro_type_diff){name, nc, ns, (long long)nc - (long long)bc,
                                    (long long)ns - (long long)bs};
    }
    qsort(out, k, sizeof *out, cmp_diff);
    free(a);
    free(b);
    *n = k;
    return out;
}

/* ------------------------------------------------------------ growth */

/* objgraph keeps the peak count per type name; a step reports the types
 * whose count now exceeds their peak, by how much, and raises the peaks. */
struct ouro_growth {
    ins_map peak;     /* type name pointer -> peak count */
    ins_strpool names;
};

ouro_growth *ouro_growth_new(void)
{
    ouro_growth *g = calloc(1, sizeof *g);
    if (g && ouro__ins_map_init(&g->peak, 64) < 0) {
        free(g);
        return NULL;
    }
    return g;
}

void ouro_growth_free(ouro_growth *g)
{
    if (!g)
        return;
    ouro__ins_map_fini(&g->peak);
    ouro__ins_strpool_fini(&g->names);
    free(g);
}

static int cmp_growth(const void *a, const void *b)
{
    const ouro_type_diff *x = a, *y = b;
    if (x->count_diff != y->count_diff)
        return x->count_diff > y->count_diff ? -1 : 1;
    return strcmp(x->name, y->name);
}

ouro_type_diff *ouro_growth_step(ouro_growth *g, ouro_heap *h, size_t *n)
{
    if (!g || !h || !n)
        return NULL;
    size_t m;
    ouro_type_count *c = ouro_census(h, &m);
    if (!c)
        return NULL;
    /* Merge equal names first (the census is per type). */
    qsort(c, m, sizeof *c, cmp_name);
    ouro_type_diff *out = malloc((m ? m : 1) * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; out && i < m;) {
        size_t count = 0, size = 0, j = i;
        for (; j < m && strcmp(c[j].name, c[i].name) == 0; j++) {
            count += c[j].count;
            size += c[j].size;
        }
        const char *name = ouro__ins_intern(&g->names, c[i].name);
        if (!name) {
            free(out);
            out = NULL;
            break;
        }
        size_t *peak = ouro__ins_map_get(&g->peak, (uintptr_t)name);
        size_t old = peak ? *peak : 0;
        if (count > old) {
            if (ouro__ins_map_put(&g->peak, (uintptr_t)name, count) < 0) {
                free(out);
                out = NULL;
                break;
            }
            out[k++] = (ouro_type_diff){name, count, size, (long long)(count - old), 0};
        }
        i = j;
    }
    free(c);
    if (!out)
        return NULL;
    qsort(out, k, sizeof *out, cmp_growth);
    *n = k;
    return out;
}

/* ------------------------------------------------------------ type tracker */

/* Invariant: instances[] holds every instance ever seen; alive maps the
 * address of each instance seen at the last sample to its index. */
struct ouro_tracker {
    const ouro_type **types;
    size_t ntypes;
    ins_arr rows;       /* ouro_tracker_row */
    ins_arr instances;  /* ouro_tracked_instance */
    ins_map alive;
    ins_strpool labels;
    size_t nsamples;
    double t0;
};

ouro_tracker *ouro_tracker_new(void)
{
    ouro_tracker *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->rows = INS_ARR(ouro_tracker_row);
    t->instances = INS_ARR(ouro_tracked_instance);
    if (ouro__ins_map_init(&t->alive, 64) < 0) {
        free(t);
        return NULL;
    }
    t->t0 = ouro__ins_mono();
    return t;
}

void ouro_tracker_free(ouro_tracker *t)
{
    if (!t)
        return;
    free(t->types);
    free(t->rows.p);
    free(t->instances.p);
    ouro__ins_map_fini(&t->alive);
    ouro__ins_strpool_fini(&t->labels);
    free(t);
}

int ouro_tracker_track(ouro_tracker *t, const ouro_type *type)
{
    if (!t || !type)
        return OURO_EINVAL;
    for (size_t i = 0; i < t->ntypes; i++)
        if (t->types[i] == type)
            return 0;
    const ouro_type **n = realloc(t->types, (t->ntypes + 1) * sizeof *n);
    if (!n)
        return OURO_ENOMEM;
    t->types = n;
    t->types[t->ntypes++] = type;
    return 0;
}

typedef struct track_state {
    ouro_tracker *t;
    ins_map seen; /* address -> instance index, this sample */
    size_t *count, *size;
    int err;
} track_state;

static int track_visit(ouro_object *o, void *arg)
{
    track_state *ts = arg;
    ouro_tracker *t = ts->t;
    const ouro_type *type = ouro__type(o);
    size_t k = 0;
    while (k < t->ntypes && t->types[k] != type)
        k++;
    if (k == t->ntypes || ouro_is_immortal(o))
        return 0;
    size_t sz = ouro_sizeof(o);
    ts->count[k]++;
    ts->size[k] += sz;
    size_t *idx = ouro__ins_map_get(&t->alive, (uintptr_t)o);
    size_t i;
    if (idx) {
        i = *idx;
    } else {
        ouro_tracked_instance *in = ouro__ins_arr_push(&t->instances);
        if (!in) {
            ts->err = OURO_ENOMEM;
            return 1;
        }
        in->id = ouro_id(o);
        in->type = type->name;
        in->born = t->nsamples;
        in->died = SIZE_MAX;
        i = t->instances.len - 1;
    }
    INS_AT(&t->instances, ouro_tracked_instance, i).size = sz;
    if (ouro__ins_map_put(&ts->seen, (uintptr_t)o, i) < 0) {
        ts->err = OURO_ENOMEM;
        return 1;
    }
    return 0;
}

int ouro_tracker_sample(ouro_tracker *t, ouro_heap *h, const char *label)
{
    if (!t || !h)
        return OURO_EINVAL;
    track_state ts = {t, {0}, calloc(t->ntypes + 1, sizeof(size_t)),
                      calloc(t->ntypes + 1, sizeof(size_t)), 0};
    if (!ts.count || !ts.size || ouro__ins_map_init(&ts.seen, t->alive.len + 16) < 0) {
        free(ts.count);
        free(ts.size);
        return OURO_ENOMEM;
    }
    ouro_heap_walk(h, track_visit, &ts);
    const char *lab = ouro__ins_intern(&t->labels, label);
    double now = ouro__ins_mono() - t->t0;
    for (size_t k = 0; !ts.err && k < t->ntypes; k++) {
        ouro_tracker_row *r = ouro__ins_arr_push(&t->rows);
        if (!r) {
            ts.err = OURO_ENOMEM;
            break;
        }
        *r = (ouro_tracker_row){t->nsamples, lab, now, t->types[k]->name, ts.count[k],
                                ts.size[k]};
    }
    if (!ts.err) {
        /* Instances alive at the last sample and not seen now died. */
        for (size_t i = 0; i < t->alive.cap; i++) {
            if (!t->alive.keys[i])
                continue;
            size_t *now_idx = ouro__ins_map_get(&ts.seen, t->alive.keys[i]);
            if (!now_idx || *now_idx != t->alive.vals[i])
                INS_AT(&t->instances, ouro_tracked_instance, t->alive.vals[i]).died =
                    t->nsamples;
        }
        ouro__ins_map_fini(&t->alive);
        t->alive = ts.seen;
        t->nsamples++;
    } else {
        ouro__ins_map_fini(&ts.seen);
    }
    free(ts.count);
    free(ts.size);
    return ts.err;
}

const ouro_tracker_row *ouro_tracker_rows(const ouro_tracker *t, size_t *n)
{
    if (!t || !n)
        return NULL;
    *n = t->rows.len;
    return t->rows.p;
}

const ouro_tracked_instance *ouro_tracker_instances(const ouro_tracker *t, size_t *n)
{
    if (!t || !n)
        return NULL;
    *n = t->instances.len;
    return t->instances.p;
}
