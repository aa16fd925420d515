/* The cycle collector and the gc module surface.  Expected values are
 * CPython 3.11's behaviour for the same object graphs. */
#include "testlib.h"
#include "ttypes.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ouro_heap *gc_heap(void)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    return h;
}

/* a <-> b, both dropped: reference counting cannot free them. */
static void make_pair(ouro_heap *h, ouro_type *t)
{
    ouro_object *a = ouro_new(h, t), *b = ouro_new(h, t);
    tn_link(a, b);
    tn_link(b, a);
    ouro_decref(a);
    ouro_decref(b);
}

TEST(collect_frees_a_cycle)
{
    tn_reset();
    ouro_heap *h = gc_heap();
    make_pair(h, &tnode_type);
    CHECK_EQ(tn_freed, 0);
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    CHECK_EQ(tn_finalized, 2);
    CHECK_EQ(tn_freed, 2);
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    tl_heap_done(h);
}

TEST(collect_bad_generation)
{
    ouro_heap *h = gc_heap();
    CHECK_EQ(ouro_gc_collect(h, 3), OURO_EINVAL);
    CHECK_EQ(ouro_gc_collect(h, -1), OURO_EINVAL);
    tl_heap_done(h);
}

TEST(enable_disable_threshold_defaults)
{
    ouro_heap *h = tl_heap();
    CHECK(ouro_gc_is_enabled(h));
    int t[3];
    ouro_gc_get_threshold(h, t);
    CHECK(t[0] == 700 && t[1] == 10 && t[2] == 10);
    CHECK_EQ(ouro_gc_set_threshold(h, 5, 3, 2), 0);
    ouro_gc_get_threshold(h, t);
    CHECK(t[0] == 5 && t[1] == 3 && t[2] == 2);
    CHECK_EQ(ouro_gc_set_threshold(h, -1, 3, 2), OURO_EINVAL);
    ouro_gc_disable(h);
    CHECK(!ouro_gc_is_enabled(h));
    ouro_gc_enable(h);
    CHECK(ouro_gc_is_enabled(h));
    tl_heap_done(h);
}

TEST(get_count_follows_allocations)
{
    ouro_heap *h = gc_heap();
    ouro_object *o[10];
    for (int i = 0; i < 10; i++)
        o[i] = tn_plain(h);
    ouro_object *leaf = ouro_new(h, &tleaf_type); /* untracked type: not counted */
    int c[3];
    ouro_gc_get_count(h, c);
    CHECK_EQ(c[0], 10);
    ouro_decref(o[0]);
    ouro_gc_get_count(h, c);
    CHECK_EQ(c[0], 9); /* deallocation decrements, as in CPython */
    ouro_gc_collect(h, 0);
    ouro_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 1 && c[2] == 0);
    ouro_gc_collect(h, 1);
    ouro_gc_get_count(h, c);
    CHECK(c[0] == 0 && c[1] == 0 && c[2] == 1);
    for (int i = 1; i < 10; i++)
        ouro_decref(o[i]);
    ouro_decref(leaf);
    tl_heap_done(h);
}

TEST(automatic_collection)
{
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_gc_set_threshold(h, 10, 10, 10);
    for (int i = 0; i < 100; i++)
        make_pair(h, &tplain_type);
    ouro_gc_gen_stats st[3];
    ouro_gc_get_stats(h, st);
    /* 200 allocations with threshold 10: a young collection every 11 */
    CHECK(st[0].collections >= 15);
    CHECK(st[0].collected + st[1].collected + st[2].collected >= 150);
    CHECK(tn_freed >= 150);
    ouro_gc_collect(h, 2);
    CHECK_EQ(tn_freed, 200);
    tl_heap_done(h);
}

static int collect_visit(ouro_object *o, void *arg)
{
    ouro_object **want = arg;
    if (o == *want)
        *want = NULL;
    return 0;
}

static int in_gen(ouro_heap *h, ouro_object *o, int g)
{
    ouro_object *want = o;
    ouro_gc_get_objects(h, g, collect_visit, &want);
    return want == NULL;
}

TEST(survivors_move_up_a_generation)
{
    ouro_heap *h = gc_heap();
    ouro_object *o = tn_plain(h);
    CHECK(in_gen(h, o, 0));
    ouro_gc_collect(h, 0);
    CHECK(in_gen(h, o, 1) && !in_gen(h, o, 0));
    ouro_gc_collect(h, 1);
    CHECK(in_gen(h, o, 2));
    ouro_gc_collect(h, 2);
    CHECK(in_gen(h, o, 2));
    CHECK(in_gen(h, o, -1));
    ouro_gc_gen_stats st[3];
    ouro_gc_get_stats(h, st);
    CHECK(st[0].collections == 1 && st[1].collections == 1 && st[2].collections == 1);
    CHECK_EQ(ouro_gc_get_objects(h, 3, collect_visit, NULL), OURO_EINVAL);
    ouro_decref(o);
    tl_heap_done(h);
}


TEST(young_collection_ignores_old_cycles)
{
    ouro_heap *h = gc_heap();
    ouro_object *a = tn_plain(h), *b = tn_plain(h);
    tn_link(a, b);
    tn_link(b, a);
    CHECK_EQ(ouro_gc_collect(h, 0), 0); /* alive, moves to generation 1 */
    CHECK_EQ(ouro_gc_collect(h, 1), 0); /* to generation 2 */
    ouro_decref(a);
    ouro_decref(b);
    CHECK_EQ(ouro_gc_collect(h, 0), 0);
    CHECK_EQ(ouro_gc_collect(h, 1), 0);
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    tl_heap_done(h);
}

static int count_ref(ouro_object *o, void *arg)
{
    (void)o;
    (*(int *)arg)++;
    return 0;
}

TEST(referrers_and_referents)
{
    ouro_heap *h = gc_heap();
    ouro_object *t = tn_plain(h), *r1 = tn_plain(h), *r2 = tn_plain(h);
    tn_link(r1, t);
    tn_link(r2, t);
    tn_link(r2, t);
    int n = 0;
    ouro_gc_get_referrers(h, t, count_ref, &n);
    CHECK_EQ(n, 2); /* each referrer once */
    n = 0;
    ouro_gc_get_referents(r2, count_ref, &n);
    CHECK_EQ(n, 2); /* both references */
    n = 0;
    ouro_gc_get_referents(t, count_ref, &n);
    CHECK_EQ(n, 0);
    /* frozen referrers are not searched (CPython: generations 0-2 only) */
    ouro_gc_freeze(h);
    n = 0;
    ouro_gc_get_referrers(h, t, count_ref, &n);
    CHECK_EQ(n, 0);
    ouro_gc_unfreeze(h);
    ouro_decref(r1);
    ouro_decref(r2);
    ouro_decref(t);
    tl_heap_done(h);
}

TEST(track_untrack)
{
    ouro_heap *h = gc_heap();
    ouro_object *a = tn_plain(h), *b = tn_plain(h);
    CHECK(ouro_gc_is_tracked(a));
    ouro_object *leaf = ouro_new(h, &tleaf_type);
    CHECK(!ouro_gc_is_tracked(leaf));
    CHECK_EQ(ouro_gc_track(leaf), OURO_ETYPE);
    tn_link(a, b);
    tn_link(b, a);
    /* an untracked member hides the cycle from the collector */
    ouro_gc_untrack(a);
    CHECK(!ouro_gc_is_tracked(a));
    ouro_decref(a);
    ouro_decref(b);
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    ouro_gc_track(a);
    CHECK(ouro_gc_is_tracked(a));
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    ouro_decref(leaf);
    tl_heap_done(h);
}

TEST(freeze_unfreeze)
{
    ouro_heap *h = gc_heap();
    make_pair(h, &tplain_type);
    ouro_object *keep = tn_plain(h);
    ouro_gc_freeze(h);
    CHECK_EQ(ouro_gc_get_freeze_count(h), 3);
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    int c[3];
    ouro_gc_get_count(h, c);
    ouro_gc_unfreeze(h);
    CHECK_EQ(ouro_gc_get_freeze_count(h), 0);
    CHECK(in_gen(h, keep, 2));
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    ouro_decref(keep);
    tl_heap_done(h);
}

TEST(finalizer_resurrects_in_collection)
{
    tn_reset();
    ouro_heap *h = gc_heap();
    ouro_object *a = tn_new(h), *b = tn_new(h);
    ((tnode *)a)->resurrect = 1;
    tn_link(a, b);
    tn_link(b, a);
    ouro_decref(a);
    ouro_decref(b);
    /* a resurrects itself and keeps b: nothing freed, nothing counted */
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    CHECK_EQ(tn_finalized, 2);
    CHECK(ouro_gc_is_finalized(a) && ouro_gc_is_finalized(b));
    tn_release_saved();
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    CHECK_EQ(tn_finalized, 2); /* finalizers ran once */
    tl_heap_done(h);
}

typedef struct cbrec {
    char log[512];
} cbrec;

static void on_gc(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)h;
    cbrec *r = arg;
    char line[64];
    snprintf(line, sizeof line, "%s %d %ld %ld;", phase, info->generation, info->collected,
             info->uncollectable);
    strncat(r->log, line, sizeof r->log - strlen(r->log) - 1);
}

TEST(callbacks_start_stop)
{
    ouro_heap *h = gc_heap();
    cbrec r = {{0}};
    CHECK_EQ(ouro_gc_callback_add(h, on_gc, &r), 0);
    make_pair(h, &tplain_type);
    ouro_gc_collect(h, 1);
    CHECK_STR(r.log, "start 1 0 0;stop 1 2 0;");
    CHECK_EQ(ouro_gc_callback_remove(h, on_gc, &r), 0);
    CHECK_EQ(ouro_gc_callback_remove(h, on_gc, &r), OURO_ENOTFOUND);
    ouro_gc_collect(h, 2);
    CHECK_STR(r.log, "start 1 0 0;stop 1 2 0;");
    tl_heap_done(h);
}

/* Allocation numbers at which collections started, and their generations. */
typedef struct young_log {
    long allocs;
    long at[64];
    int gen[64];
    int n;
} young_log;

static void on_young(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)h;
    young_log *y = arg;
    if (!strcmp(phase, "start") && y->n < 64) {
        y->gen[y->n] = info->generation;
        y->at[y->n++] = y->allocs;
    }
}

/* Allocates survivors until the next young collection starts; returns how
 * many it took. */
static long survivors_until_collection(ouro_heap *h, young_log *y, ouro_object **keep, int *nkeep)
{
    int n0 = y->n;
    long k = 0;
    while (y->n == n0) {
        y->allocs++;
        k++;
        keep[(*nkeep)++] = tn_plain(h);
    }
    return k;
}

TEST(adaptive_schedule_spaces_out_fruitless_collections)
{
    enum { N = 2000 };
    static ouro_object *keep[N];
    int nkeep = 0;
    ouro_heap *h = tl_heap();
    /* tl_heap asks for CPython's schedule; a bare heap has the adaptive. */
    CHECK_EQ(ouro_gc_get_schedule(h), OURO_GC_SCHEDULE_CPYTHON311);
    CHECK_EQ(ouro_gc_get_young_growth(h), 1);
    CHECK_EQ(ouro_gc_set_schedule(h, 4), OURO_EINVAL);
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL), 0);
    CHECK_EQ(ouro_gc_get_schedule(h), OURO_GC_SCHEDULE_INCREMENTAL);
    CHECK_EQ(ouro_gc_set_young_growth(h, 1024), 0); /* the deprecated call: adaptive */
    CHECK_EQ(ouro_gc_get_schedule(h), OURO_GC_SCHEDULE_ADAPTIVE);
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311), 0);
    CHECK_EQ(ouro_gc_set_schedule(h, -1), OURO_EINVAL);
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_DEFAULT), 0);
    CHECK_EQ(ouro_gc_get_schedule(h), OURO_GC_SCHEDULE_INCREMENTAL);
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_ADAPTIVE), 0);
    CHECK_EQ(ouro_gc_get_schedule(h), OURO_GC_SCHEDULE_ADAPTIVE);
    CHECK_EQ(ouro_gc_get_young_growth(h), 1024);
    CHECK_EQ(ouro_gc_set_threshold(h, 10, 1000, 1000), 0);
    CHECK_EQ(ouro_gc_get_young_trigger(h), 10);
    young_log y = {0};
    CHECK_EQ(ouro_gc_callback_add(h, on_young, &y), 0);

    /* Nothing but survivors: every collection frees nothing, so the factor
     * doubles, but never past live-outside-generation-0 / 2 / threshold0.
     * At the collection made by allocation k, k - 1 objects are alive and
     * all of them leave generation 0: the cap is (k - 1) / 20.  Allocations
     * 11, 22, 33 (caps 0, 1, 1: the factor stays 1), 44 (cap 2: factor 2,
     * next after 21), 65 (cap 3: factor 3), 96 (cap 4: 4), 137 (cap 6: 6),
     * 198 (cap 9: 9), 289 (cap 14: 14).
     *
     * Which generation: thresholds 1 and 2 do not matter here.  The middle
     * generation is collected when the young collections' survivors in it
     * (middle_live) outnumber max(threshold0, trigger / 2): 10 after the
     * collection at 11 (not above 10), 10 + 11 = 21 after 22 (above 10:
     * the collection at 33 is of generation 1, and its 32 survivors are
     * pending).  The oldest is collected at the next collection after one
     * of the middle generation when pending >= total / 4: total is 0
     * before the first, so 44 is a full collection (43 objects); then 65
     * is young (middle 21 after it), 96 middle (21 > 20; 52 pending,
     * 52 >= 43 / 4), 137 full (136 objects), 198 young (61), 289 middle
     * (61 > 45; 152 pending). */
    static const long at[] = {11, 22, 33, 44, 65, 96, 137, 198, 289};
    static const int gen[] = {0, 0, 1, 2, 0, 1, 2, 0, 1};
    static const long trigger[] = {10, 10, 10, 20, 30, 40, 60, 90, 140};
    for (int i = 0; i < 9; i++) {
        survivors_until_collection(h, &y, keep, &nkeep);
        CHECK_EQ(y.at[i], at[i]);
        CHECK_EQ(y.gen[i], gen[i]);
        CHECK_EQ(ouro_gc_get_young_trigger(h), trigger[i]);
    }
    int c[3], t[3];
    ouro_gc_get_count(h, c);
    /* The counts are CPython's: one collection of generation 1 since the
     * full one, none of generation 0 since. */
    CHECK_EQ(c[1], 0);
    CHECK_EQ(c[2], 1);
    CHECK_EQ(c[0], 0);
    ouro_gc_get_threshold(h, t);
    CHECK_EQ(t[0], 10); /* threshold0 as set, not the trigger */

    /* A collection that frees fewer than trigger/8 still grows it: one
     * garbage pair (2 * 8 < 140).  The factor would double to 28; the cap
     * is 21 (289 + 138 survivors alive outside generation 0 after the
     * collection: 427 / 20). */
    make_pair(h, &tplain_type);
    y.allocs += 2;
    CHECK_EQ(survivors_until_collection(h, &y, keep, &nkeep), 141 - 2);
    CHECK_EQ(y.gen[9], 2); /* 152 pending >= 136 / 4 */
    CHECK_EQ(ouro_gc_get_young_trigger(h), 210);
    /* One that frees at least trigger/8 brings it back to threshold0:
     * 14 pairs, 28 objects, 28 * 8 >= 210 (a young collection: the full
     * one left the middle generation empty). */
    for (int i = 0; i < 14; i++)
        make_pair(h, &tplain_type);
    y.allocs += 28;
    CHECK_EQ(survivors_until_collection(h, &y, keep, &nkeep), 211 - 28);
    CHECK_EQ(y.gen[10], 0);
    CHECK_EQ(ouro_gc_get_young_trigger(h), 10);

    /* set_threshold and set_schedule bring it back too.  (The next
     * collection is of the middle generation: 183 survivors > 10.) */
    survivors_until_collection(h, &y, keep, &nkeep);
    CHECK_EQ(y.gen[11], 1);
    CHECK_EQ(ouro_gc_get_young_trigger(h), 20);
    CHECK_EQ(ouro_gc_set_threshold(h, 10, 1000, 1000), 0);
    CHECK_EQ(ouro_gc_get_young_trigger(h), 10);
    survivors_until_collection(h, &y, keep, &nkeep);
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311), 0);
    CHECK_EQ(ouro_gc_get_young_trigger(h), 10);
    /* CPython's schedule: fruitless collections every 11 allocations. */
    CHECK_EQ(survivors_until_collection(h, &y, keep, &nkeep), 11);
    CHECK_EQ(survivors_until_collection(h, &y, keep, &nkeep), 11);
    CHECK_EQ(ouro_gc_get_young_trigger(h), 10);

    /* The deprecated young growth is the adaptive schedule with its own
     * bound: 2 caps the factor at 2. */
    CHECK_EQ(ouro_gc_set_young_growth(h, -1), OURO_EINVAL);
    CHECK_EQ(ouro_gc_set_young_growth(h, 1025), OURO_EINVAL);
    CHECK_EQ(ouro_gc_set_young_growth(h, 2), 0);
    CHECK_EQ(ouro_gc_get_schedule(h), OURO_GC_SCHEDULE_ADAPTIVE);
    CHECK_EQ(ouro_gc_get_young_growth(h), 2);
    survivors_until_collection(h, &y, keep, &nkeep);
    survivors_until_collection(h, &y, keep, &nkeep);
    CHECK_EQ(ouro_gc_get_young_trigger(h), 20);
    CHECK_EQ(ouro_gc_set_young_growth(h, 0), 0);
    CHECK_EQ(ouro_gc_get_schedule(h), OURO_GC_SCHEDULE_CPYTHON311);
    CHECK_EQ(ouro_gc_get_young_growth(h), 1);
    CHECK(nkeep < N);
    ouro_gc_callback_remove(h, on_young, &y);
    for (int i = 0; i < nkeep; i++)
        ouro_decref(keep[i]);
    ouro_gc_collect(h, 2);
    tl_heap_done(h);
}

/* The middle generation's trigger counts the young collections' survivors
 * that are still alive: promoted objects that die by reference counting
 * leave the count.  Each round: survivors until a young collection, then
 * every object it promoted dies (the one allocated after it stays).  Left
 * counted, the dead would make the third collection one of generation 1
 * (10 + 11 = 21 > threshold0); forgotten, it is young. */
TEST(adaptive_schedule_forgets_the_middle_generations_dead)
{
    static ouro_object *keep[64];
    int nkeep = 0;
    ouro_heap *h = tl_heap();
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_ADAPTIVE), 0);
    CHECK_EQ(ouro_gc_set_threshold(h, 10, 1000, 1000), 0);
    young_log y = {0};
    CHECK_EQ(ouro_gc_callback_add(h, on_young, &y), 0);
    static const long took[] = {11, 11, 11};
    for (int round = 0; round < 3; round++) {
        CHECK_EQ(survivors_until_collection(h, &y, keep, &nkeep), took[round]);
        CHECK_EQ(y.gen[round], 0);
        CHECK_EQ(ouro_gc_get_young_trigger(h), 10); /* small heap: no growth */
        for (int i = 0; i < nkeep - 1; i++)
            ouro_decref(keep[i]);
        keep[0] = keep[nkeep - 1];
        nkeep = 1;
    }
    CHECK_EQ(y.n, 3);
    ouro_gc_callback_remove(h, on_young, &y);
    ouro_decref(keep[0]);
    tl_heap_done(h);
}

/* CPython 3.11's schedule, modelled from its rules (gcmodule.c,
 * gc_collect_generations) for a program whose objects either survive or
 * die at once, in generation 0 (then ouro's forgetful long_lived_pending,
 * docs/design.md §7, counts the same as CPython's). */
typedef struct sched_model {
    long count[3], size[3];
    long pending, total;
} sched_model;

static int model_alloc(sched_model *m, const int t[3])
{
    int collected = -1;
    if (++m->count[0] > t[0] && t[0]) {
        for (int i = 2; i >= 0; i--) {
            if (m->count[i] <= t[i])
                continue;
            if (i == 2 && m->pending < m->total / 4)
                continue;
            long n = 0;
            for (int g = 0; g <= i; g++) {
                n += m->size[g];
                m->size[g] = 0;
                m->count[g] = 0;
            }
            if (i < 2) {
                m->size[i + 1] += n;
                m->count[i + 1]++;
                if (i == 1)
                    m->pending += n;
            } else {
                m->size[2] = n;
                m->total = n;
                m->pending = 0;
            }
            collected = i;
            break;
        }
    }
    m->size[0]++;
    return collected;
}

typedef struct gen_log {
    int last; /* generation of the last collection started, or -1 */
} gen_log;

static void on_any(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)h;
    if (!strcmp(phase, "start"))
        ((gen_log *)arg)->last = info->generation;
}

/* The CPython schedule collects exactly where CPython's rules say, at
 * every one of 300,000 allocations (with 700/10/10 that includes full
 * collections), whatever the adaptive schedule would do. */
TEST(cpython_schedule_collects_where_cpython_does)
{
    enum { N = 300000 };
    ouro_object **keep = calloc(N, sizeof *keep);
    CHECK(keep);
    ouro_heap *h = tl_heap();
    CHECK_EQ(ouro_gc_get_schedule(h), OURO_GC_SCHEDULE_CPYTHON311);
    gen_log lg = {-1};
    ouro_gc_callback_add(h, on_any, &lg);
    int t[3];
    ouro_gc_get_threshold(h, t);
    CHECK(t[0] == 700 && t[1] == 10 && t[2] == 10);
    sched_model m = {{0}, {0}, 0, 0};
    uint64_t x = 12345;
    int nkeep = 0, full = 0, mid = 0;
    for (long i = 0; i < N; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        bool survive = (x >> 33) % 10 < 8;
        lg.last = -1;
        int want = model_alloc(&m, t);
        ouro_object *o = tn_plain(h);
        if (lg.last != want) {
            fprintf(stderr, "allocation %ld: collected generation %d, CPython %d\n", i, lg.last,
                    want);
            CHECK_EQ(lg.last, want);
        }
        full += want == 2;
        mid += want == 1;
        if (survive) {
            keep[nkeep++] = o;
        } else {
            ouro_decref(o);
            m.size[0]--;
            if (m.count[0] > 0)
                m.count[0]--;
        }
        int c[3];
        ouro_gc_get_count(h, c);
        CHECK(c[0] == m.count[0] && c[1] == m.count[1] && c[2] == m.count[2]);
    }
    CHECK(full >= 2 && mid >= 10);
    ouro_gc_callback_remove(h, on_any, &lg);
    for (int i = 0; i < nkeep; i++)
        ouro_decref(keep[i]);
    free(keep);
    tl_heap_done(h);
}

/* W10 in small: cyclic lists built and dropped while a long-lived list
 * grows.  The most objects alive at once (sampled at every collection's
 * start: the lists die only in collections) under the adaptive schedule
 * stays within 1.5 times what CPython's schedule keeps, with fewer
 * collections. */
typedef struct peak_log {
    size_t peak;
    long collections;
} peak_log;

static void on_peak(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)info;
    peak_log *p = arg;
    if (strcmp(phase, "start"))
        return;
    ouro_heap_stats st;
    st.struct_size = offsetof(ouro_heap_stats, class_size);
    ouro_heap_get_stats(h, &st);
    if (st.objects > p->peak)
        p->peak = st.objects;
    p->collections++;
}

/* A doubly linked list of n plain nodes (slot 0 previous, slot 1 next),
 * its head's slot 2 pointing at `anchor`; returns its head (new) and its
 * tail (borrowed). */
static ouro_object *churn_list(ouro_heap *h, int n, ouro_object *anchor, ouro_object **tail)
{
    ouro_object *head = tn_plain(h), *t = head;
    for (int i = 1; i < n; i++) {
        ouro_object *x = tn_plain(h);
        ouro_incref(t);
        ((tnode *)x)->slot[0] = t;
        ((tnode *)t)->slot[1] = x;
        t = x;
    }
    if (anchor)
        ouro_incref(anchor);
    ((tnode *)head)->slot[2] = anchor;
    if (tail)
        *tail = t;
    return head;
}

static peak_log run_churn(int schedule)
{
    ouro_heap *h = tl_heap();
    CHECK_EQ(ouro_gc_set_schedule(h, schedule), 0);
    peak_log p = {0, 0};
    ouro_gc_callback_add(h, on_peak, &p);
    ouro_object *ll_tail;
    ouro_object *ll = churn_list(h, 2000, NULL, &ll_tail);
    ouro_object *cur = NULL;
    for (int r = 0; r < 300; r++) {
        ouro_object *next = churn_list(h, 500, ll, NULL);
        if (cur)
            ouro_decref(cur);
        cur = next;
        for (int i = 0; i < 5; i++) {
            ouro_object *x = tn_plain(h);
            ouro_incref(ll_tail);
            ((tnode *)x)->slot[0] = ll_tail;
            ((tnode *)ll_tail)->slot[1] = x;
            ll_tail = x;
        }
    }
    ouro_decref(cur);
    ouro_decref(ll);
    ouro_gc_callback_remove(h, on_peak, &p);
    ouro_gc_collect(h, 2);
    tl_heap_done(h);
    return p;
}

TEST(adaptive_schedule_keeps_cyclic_garbage_bounded)
{
    peak_log cpy = run_churn(OURO_GC_SCHEDULE_CPYTHON311);
    peak_log ada = run_churn(OURO_GC_SCHEDULE_ADAPTIVE);
    /* At the end 3,500 nodes are long-lived and 500 in the last list: the
     * peak is at least that, and CPython's schedule lets garbage wait for
     * full collections (gated by count2 > 10, i.e. 100 x 700 = 70,000
     * allocations, and the 25% rule). */
    CHECK(cpy.peak >= 4000);
    CHECK(ada.peak >= 4000);
    if (ada.peak * 2 > cpy.peak * 3)
        fprintf(stderr, "peak alive: adaptive %zu, CPython's schedule %zu\n", ada.peak, cpy.peak);
    CHECK(ada.peak * 2 <= cpy.peak * 3);
    /* 152,000 allocations: CPython's schedule collects after every 701;
     * the adaptive one less often. */
    CHECK(cpy.collections >= 152000 / 701 - 1);
    CHECK(ada.collections < cpy.collections);
}

/* The same program under the incremental schedule (the default): its
 * garbage waits for young collections and for cycles that start when the
 * heap has doubled, yet the peak stays within issue 16's bound, 1.5x what
 * CPython's schedule keeps. */
TEST(incremental_schedule_keeps_cyclic_garbage_bounded)
{
    peak_log cpy = run_churn(OURO_GC_SCHEDULE_CPYTHON311);
    peak_log inc = run_churn(OURO_GC_SCHEDULE_DEFAULT);
    CHECK(inc.peak >= 4000);
    if (inc.peak * 2 > cpy.peak * 3)
        fprintf(stderr, "peak alive: incremental %zu, CPython's schedule %zu\n", inc.peak,
                cpy.peak);
    CHECK(inc.peak * 2 <= cpy.peak * 3);
}

TEST(saveall_keeps_garbage)
{
    tn_reset();
    ouro_heap *h = gc_heap();
    ouro_gc_set_debug(h, OURO_GC_DEBUG_SAVEALL);
    CHECK_EQ(ouro_gc_get_debug(h), OURO_GC_DEBUG_SAVEALL);
    make_pair(h, &tnode_type);
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    CHECK_EQ(ouro_gc_garbage_count(h), 2);
    CHECK(ouro_gc_garbage_get(h, 0) != NULL && ouro_gc_garbage_get(h, 2) == NULL);
    CHECK_EQ(tn_freed, 0);
    CHECK_EQ(tn_finalized, 2);
    ouro_gc_set_debug(h, 0);
    ouro_gc_garbage_clear(h); /* still a cycle */
    CHECK_EQ(tn_freed, 0);
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    CHECK_EQ(tn_finalized, 2);
    CHECK_EQ(tn_freed, 2);
    tl_heap_done(h);
}

TEST(legacy_finalizer_is_uncollectable)
{
    tn_reset();
    ouro_heap *h = gc_heap();
    ouro_object *a = ouro_new(h, &tlegacy_type), *b = tn_plain(h), *c = tn_plain(h);
    tn_link(a, b);
    tn_link(b, a);
    tn_link(b, c); /* reachable from the uncollectable cycle: kept too */
    ouro_decref(a);
    ouro_decref(b);
    ouro_decref(c);
    cbrec r = {{0}};
    ouro_gc_callback_add(h, on_gc, &r);
    /* CPython returns collected + uncollectable: 3 */
    CHECK_EQ(ouro_gc_collect(h, 2), 3);
    CHECK_STR(r.log, "start 2 0 0;stop 2 0 3;");
    CHECK_EQ(ouro_gc_garbage_count(h), 1); /* only the legacy object itself */
    CHECK(ouro_gc_garbage_get(h, 0) == a);
    ouro_gc_gen_stats st[3];
    ouro_gc_get_stats(h, st);
    CHECK_EQ(st[2].uncollectable, 3);
    CHECK_EQ(tn_freed, 0);
    /* break the cycle by hand, as a Python programmer would */
    ouro_clear(&((tnode *)b)->slot[0]);
    ouro_gc_garbage_clear(h); /* a dies now; its tp_del runs */
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    CHECK_EQ(tn_freed, 3);
    ouro_gc_callback_remove(h, on_gc, &r);
    tl_heap_done(h);
}

static char dbg[4096];
static void dbg_sink(void *ctx, const char *text)
{
    (void)ctx;
    strncat(dbg, text, sizeof dbg - strlen(dbg) - 1);
}

TEST(debug_flags_write_to_sink)
{
    dbg[0] = 0;
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.sink = dbg_sink;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    ouro_heap *h = tl_heap_cfg(&cfg);
    ouro_gc_disable(h);
    ouro_gc_set_debug(h, OURO_GC_DEBUG_STATS | OURO_GC_DEBUG_COLLECTABLE);
    make_pair(h, &tplain_type);
    ouro_gc_collect(h, 2);
    CHECK(strstr(dbg, "gc: collecting generation 2...") != NULL);
    CHECK(strstr(dbg, "gc: objects in each generation: 2 0 0") != NULL);
    CHECK(strstr(dbg, "gc: collectable <tplain ") != NULL);
    CHECK(strstr(dbg, "gc: done, 2 unreachable, 0 uncollectable") != NULL);
    ouro_gc_set_debug(h, OURO_GC_DEBUG_UNCOLLECTABLE);
    dbg[0] = 0;
    ouro_object *a = ouro_new(h, &tlegacy_type);
    tn_link(a, a);
    ouro_decref(a);
    ouro_gc_collect(h, 2);
    CHECK(strstr(dbg, "gc: uncollectable <tlegacy ") != NULL);
    ouro_clear(&((tnode *)a)->slot[0]);
    ouro_gc_garbage_clear(h);
    tl_heap_done(h);
}

static ouro_heap *nested_heap;
static long nested_result = -99;
static void nested_finalize(ouro_heap *h, ouro_object *self)
{
    (void)self;
    nested_result = ouro_gc_collect(h, 2);
}

TEST(collect_inside_collection_returns_zero)
{
    ouro_heap *h = gc_heap();
    nested_heap = h;
    ouro_type t = tplain_type;
    t.id = 0;
    t.name = "nested";
    t.finalize = nested_finalize;
    static ouro_type tt;
    tt = t;
    ouro_object *a = ouro_new(h, &tt);
    tn_link(a, a);
    ouro_decref(a);
    CHECK_EQ(ouro_gc_collect(h, 2), 1);
    CHECK_EQ(nested_result, 0);
    tl_heap_done(h);
}

/* The 25% rule: a full collection is triggered only when the objects that
 * survived young collections since the last full one exceed a quarter of
 * the long-lived total. */
TEST(full_collection_needs_pending_quarter)
{
    ouro_heap *h = tl_heap();
    ouro_gc_set_threshold(h, 1, 1, 1);
    ouro_object *keep[400];
    ouro_gc_disable(h);
    for (int i = 0; i < 400; i++)
        keep[i] = tn_plain(h);
    ouro_gc_collect(h, 2); /* long-lived total = 400 */
    ouro_gc_enable(h);
    ouro_gc_gen_stats before[3], after[3];
    ouro_gc_get_stats(h, before);
    /* few survivors: generation 2's count passes its threshold quickly but
     * pending stays under 100, so no full collection happens */
    ouro_object *young[20];
    for (int i = 0; i < 20; i++)
        young[i] = tn_plain(h);
    ouro_gc_get_stats(h, after);
    CHECK(after[0].collections > before[0].collections);
    CHECK_EQ(after[2].collections, before[2].collections);
    for (int i = 0; i < 20; i++)
        ouro_decref(young[i]);
    for (int i = 0; i < 400; i++)
        ouro_decref(keep[i]);
    tl_heap_done(h);
}

/* A trash set with no finalizer and no weak reference skips the scan that
 * looks for them (gc.c, `special`), so trash objects still carry their
 * collection flags while delete_garbage runs.  Code can still run there:
 * the finalizer of an untracked object that only the trash held.  Here it
 * resurrects a trash object that is still waiting on the list; that object
 * must come out consistent, in the oldest generation.  The count is
 * CPython's: all three trash objects, counted before any is cleared. */
static ouro_object *grab_victim;
static ouro_object *grabbed;

static void grabber_finalize(ouro_heap *h, ouro_object *self)
{
    (void)h;
    (void)self;
    ouro_incref(grab_victim);
    grabbed = grab_victim;
}

static int find_first(ouro_object *o, void *arg)
{
    ouro_object **out = arg;
    if (!*out)
        *out = o;
    return 0;
}

static ouro_type grabber_type = {
    .name = "Grabber",
    .basic_size = sizeof(ouro_object),
    .finalize = grabber_finalize,
};

TEST(trash_without_finalizers_resurrected_from_outside)
{
    ouro_heap *h = gc_heap();
    ouro_object *a = tn_plain(h), *b = tn_plain(h), *c = tn_plain(h);
    ouro_object *f = ouro_new(h, &grabber_type);
    CHECK(f != NULL);
    tn_link(a, b); /* slot 0 */
    tn_link(b, a);
    tn_link(a, f); /* slot 1: a's reference is f's only one */
    tn_link(a, c); /* slot 2 */
    ouro_decref(f);
    ouro_decref(a);
    ouro_decref(b);
    ouro_decref(c);
    grab_victim = c;
    grabbed = NULL;
    CHECK_EQ(ouro_gc_collect(h, 0), 3);
    CHECK(grabbed == c);
    CHECK_EQ(ouro_refcount(c), 1);
    CHECK(ouro_gc_is_tracked(c));
    CHECK_EQ(ouro_heap_check(h), 0);
    /* survivors of a generation-0 collection move to generation 1 */
    ouro_object *found = NULL;
    CHECK_EQ(ouro_gc_get_objects(h, 1, find_first, &found), 0);
    CHECK(found == c);
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    ouro_decref(c);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ incremental cycles */

/* The lost-object case of docs/design.md §8, between every two increments:
 * y's only reference moves from a's slot to b's and back, with no count
 * changing, while a cycle runs one object at a time.  Expected: y and the
 * structure stay alive; the 100-node garbage ring made before the cycle
 * started is freed by its end (arithmetic: 100 deallocs, finalizer runs
 * once each); the heap check passes after every step. */
TEST(incremental_cycle_survives_steal_moves_and_frees_old_garbage)
{
    ouro_heap *h = tl_heap();
    tn_reset();
    ouro_object *root = tn_plain(h), *a = tn_plain(h), *b = tn_plain(h), *y = tn_plain(h);
    tn_link(root, a);
    tn_link(root, b);
    ((tnode *)a)->slot[0] = y; /* a owns y's only reference */
    ouro_object *ring[100];
    for (int i = 0; i < 100; i++)
        ring[i] = tn_new(h);
    for (int i = 0; i < 100; i++)
        tn_link(ring[i], ring[(i + 1) % 100]);
    for (int i = 0; i < 100; i++)
        ouro_decref(ring[i]); /* garbage: each held by its predecessor */
    ouro_decref(a);
    ouro_decref(b);
    CHECK_EQ(tn_freed, 0);
    CHECK_EQ(ouro_gc_cycle_phase(h), 0);
    int steps = 0, ended = 0;
    while (!ended) {
        long rc = ouro_gc_step(h, 1);
        CHECK(rc == 0 || rc == 1);
        ended = rc == 1;
        CHECK_EQ(ouro_heap_check(h), 0);
        if (!ended) {
            CHECK(ouro_gc_cycle_phase(h) >= 1 && ouro_gc_cycle_phase(h) <= 3);
            tnode *from = ((tnode *)a)->slot[0] ? (tnode *)a : (tnode *)b;
            tnode *to = from == (tnode *)a ? (tnode *)b : (tnode *)a;
            to->slot[1] = from->slot[0] ? from->slot[0] : from->slot[1];
            from->slot[0] = from->slot[1] = NULL;
            to->slot[0] = to->slot[1], to->slot[1] = NULL;
        }
        CHECK(++steps < 10000);
    }
    CHECK_EQ(ouro_gc_cycle_phase(h), 0);
    CHECK_EQ(tn_freed, 100);
    CHECK_EQ(tn_finalized, 100);
    CHECK_EQ(ouro_refcount(y), 1);
    CHECK(ouro_gc_is_tracked(y));
    ouro_decref(root);
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    CHECK_EQ(tn_freed, 104);
    tl_heap_done(h);
}

/* An explicit collection in the middle of a cycle abandons it: the
 * cycle's objects are back on generation 2 (get_objects and get_count see
 * them), and the collection is CPython's (2 objects of a garbage pair). */
TEST(incremental_cycle_abandoned_by_explicit_collect)
{
    ouro_heap *h = tl_heap();
    tn_reset();
    ouro_object *keep = tn_plain(h);
    ouro_object *p = tn_plain(h), *q = tn_plain(h);
    tn_link(p, q);
    tn_link(q, p);
    ouro_decref(p);
    ouro_decref(q);
    CHECK_EQ(ouro_gc_step(h, 1), 0);
    CHECK_EQ(ouro_gc_cycle_phase(h), 1);
    CHECK_EQ(ouro_heap_check(h), 0);
    CHECK_EQ(ouro_gc_step(h, 0), OURO_EINVAL);
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    CHECK_EQ(ouro_gc_cycle_phase(h), 0);
    CHECK_EQ(tn_freed, 2);
    CHECK_EQ(ouro_heap_check(h), 0);
    CHECK(ouro_gc_is_tracked(keep));
    ouro_decref(keep);
    tl_heap_done(h);
}

/* The incremental schedule under allocation: 200,000 nodes in 2-cycles
 * dropped at once and a chain that lives; automatic increments run (the
 * callbacks see `increment` set), no pause-making full collection of
 * generation 2 happens, and when the program stops every cycle that was
 * garbage is gone after one more complete cycle by hand. */
static int inc_seen, full_seen;
static void count_increments(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    if (phase[2] != 'o') /* "stop" */
        return;
    if (info->increment)
        inc_seen++;
    else if (info->generation == 2)
        full_seen++;
}

TEST(incremental_schedule_collects_cycles_in_increments)
{
    ouro_heap *h = tl_heap();
    tn_reset();
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL), 0);
    inc_seen = full_seen = 0;
    CHECK_EQ(ouro_gc_callback_add(h, count_increments, NULL), 0);
    ouro_object *chain = NULL;
    for (int i = 0; i < 100000; i++) {
        ouro_object *p = tn_plain(h), *q = tn_plain(h);
        tn_link(p, q);
        tn_link(q, p);
        ouro_decref(p);
        ouro_decref(q);
        ouro_object *n = tn_plain(h);
        if (chain)
            ((tnode *)n)->slot[0] = chain;
        chain = n;
    }
    CHECK(inc_seen > 0);
    CHECK_EQ(full_seen, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    /* Finish the cycle in progress, then run one whole cycle. */
    while (ouro_gc_cycle_phase(h) != 0)
        ouro_gc_step(h, 1000);
    while (ouro_gc_step(h, 1000) != 1)
        ;
    CHECK_EQ(tn_freed, 200000);
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    ouro_gc_callback_remove(h, count_increments, NULL);
    ouro_decref(chain);
    CHECK_EQ(tn_freed, 300000);
    tl_heap_done(h);
}

/* When incremental cycles start: a heap growing without cyclic garbage
 * waits for the old heap to triple between cycles (the last one found
 * next to nothing); once cycles find garbage they start on doubling
 * again.  Cycle starts are seen at each cycle's first increment, with the
 * live objects then.  Arithmetic: a cycle over S objects leaves S alive,
 * and the next starts when the middle generation's survivors pass 2 S
 * (tripling: about 3 S tracked) or S (doubling: about 2 S); young
 * collections (at most 11,200 objects) and the cycle's own length move
 * that by a few percent. */
typedef struct start_log {
    size_t at[64];
    int n, phase;
} start_log;

static void on_cycle_start(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    start_log *s = arg;
    if (strcmp(phase, "start") == 0 && info->increment && s->phase == 0 && s->n < 64) {
        ouro_heap_stats st;
        st.struct_size = offsetof(ouro_heap_stats, class_size);
        CHECK_EQ(ouro_heap_get_stats(h, &st), 0);
        s->at[s->n++] = st.objects;
    }
    if (strcmp(phase, "stop") == 0)
        s->phase = ouro_gc_cycle_phase(h);
}

TEST(incremental_cycles_triple_while_they_find_no_garbage)
{
    ouro_heap *h = tl_heap();
    tn_reset();
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL), 0);
    start_log log = {{0}, 0, 0};
    CHECK_EQ(ouro_gc_callback_add(h, on_cycle_start, &log), 0);
    ouro_object *chain = NULL;
    for (int i = 0; i < 400000; i++) {
        ouro_object *n = tn_plain(h);
        ((tnode *)n)->slot[0] = chain;
        chain = n;
    }
    int quiet = log.n;
    CHECK(quiet >= 4);
    for (int i = 2; i < quiet; i++) {
        if (log.at[i] * 10 < log.at[i - 1] * 26)
            fprintf(stderr, "cycle %d started at %zu objects, the one before at %zu\n", i,
                    log.at[i], log.at[i - 1]);
        CHECK(log.at[i] * 10 >= log.at[i - 1] * 26);
    }
    /* Now garbage that outlives young collections: 2-object cycles held
     * in a ring of 100,000 slots, dropped when their slot comes round. */
    enum { RING = 100000 };
    ouro_object **ring = calloc(RING, sizeof *ring);
    CHECK(ring != NULL);
    for (long i = 0; i < 1500000; i++) {
        ouro_object *p = tn_plain(h), *q = tn_plain(h);
        tn_link(p, q);
        tn_link(q, p);
        ouro_decref(q);
        ouro_clear(&ring[i % RING]);
        ring[i % RING] = p;
    }
    /* Live: the chain's 400,000 objects and the ring's 200,000.  The
     * first cycle of this phase still waits for tripling (the last one
     * before found nothing) and finds garbage; from then on a cycle starts
     * once the middle generation's survivors outnumber the 600,000 the
     * last one kept: at about 1.2 M objects, tripling would be 1.8 M. */
    CHECK(log.n >= quiet + 3);
    for (int i = quiet + 1; i < log.n; i++) {
        if (log.at[i] > 1380000)
            fprintf(stderr, "cycle %d started at %zu objects\n", i, log.at[i]);
        CHECK(log.at[i] <= 1380000);
    }
    ouro_gc_callback_remove(h, on_cycle_start, &log);
    for (long i = 0; i < RING; i++)
        ouro_clear(&ring[i]);
    free(ring);
    ouro_decref(chain);
    ouro_gc_collect(h, 2);
    tl_heap_done(h);
}

/* The incremental cycle's side tables come from the heap's page source,
 * like the arenas.  A source that refuses them ends the cycle cleanly:
 * ouro_gc_step returns OURO_ENOMEM, nothing is freed or lost, the heap
 * check passes, and the next cycle (memory back) frees the garbage.  The
 * heap's mapped_bytes follows the source's own count throughout, and the
 * tables go back at ouro_heap_trim and heap free. */
static size_t mapped_now(ouro_heap *h)
{
    ouro_heap_stats st;
    st.struct_size = offsetof(ouro_heap_stats, class_size);
    CHECK_EQ(ouro_heap_get_stats(h, &st), 0);
    return st.mapped_bytes;
}

TEST(incremental_side_tables_out_of_memory_abandon_the_cycle)
{
    tl_pages f = {0};
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    tl_pages_use(&cfg, &f);
    ouro_heap *h = tl_heap_cfg(&cfg);
    tn_reset();
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL), 0);
    ouro_gc_disable(h); /* only the steps below collect */
    ouro_object *keep = tn_plain(h);

    /* No memory for the tables' arrays: the cycle does not start. */
    f.fail = 1;
    CHECK_EQ(ouro_gc_step(h, 10), OURO_ENOMEM);
    CHECK_EQ(ouro_gc_cycle_phase(h), 0);
    f.fail = 0;
    CHECK_EQ(ouro_heap_check(h), 0);

    /* A garbage ring of 60,000 nodes: 64-byte blocks, four arenas. */
    enum { N = 60000 };
    ouro_object **ring = malloc(N * sizeof *ring);
    CHECK(ring != NULL);
    for (int i = 0; i < N; i++)
        ring[i] = tn_plain(h);
    for (int i = 0; i < N; i++)
        tn_link(ring[i], ring[(i + 1) % N]);
    for (int i = 0; i < N; i++)
        ouro_decref(ring[i]);
    free(ring);
    CHECK_EQ(mapped_now(h), f.bytes);

    /* The cycle starts and visits one object (one table mapped), then the
     * source refuses the next table. */
    CHECK_EQ(ouro_gc_step(h, 1), 0);
    CHECK_EQ(ouro_gc_cycle_phase(h), 1);
    CHECK_EQ(mapped_now(h), f.bytes);
    f.fail = 1;
    CHECK_EQ(ouro_gc_step(h, 1000000), OURO_ENOMEM);
    f.fail = 0;
    CHECK_EQ(ouro_gc_cycle_phase(h), 0);
    CHECK_EQ(tn_freed, 0);
    CHECK_EQ(ouro_heap_check(h), 0);
    CHECK_EQ(mapped_now(h), f.bytes);

    /* Memory back: a whole cycle frees the ring (arithmetic: N). */
    int steps = 0;
    long rc;
    while ((rc = ouro_gc_step(h, 100000)) != 1) {
        CHECK_EQ(rc, 0);
        CHECK(++steps < 1000);
    }
    CHECK_EQ(tn_freed, N);
    CHECK_EQ(ouro_refcount(keep), 1);
    CHECK_EQ(ouro_heap_check(h), 0);
    CHECK_EQ(mapped_now(h), f.bytes);

    /* The tables kept for the next cycle go back at trim: the arrays'
     * three 512 KiB at least. */
    size_t before = f.bytes;
    size_t trimmed = ouro_heap_trim(h);
    CHECK(trimmed >= 3 * 65536 * sizeof(void *));
    CHECK_EQ(before - f.bytes, trimmed);
    CHECK_EQ(mapped_now(h), f.bytes);
    ouro_decref(keep);
    tl_heap_done(h);
    CHECK_EQ(f.allocs, f.frees);
    CHECK_EQ(f.bytes, 0);
}

/* A weak reference that is trash never calls back, even when the cycle
 * collects its referent and its owner in different batches.  Two dropped
 * 5,000-node lists; `inner`, owned by a node of the first, points into
 * the second.  CPython 3.11 (gc.collect() on the same graph of Python
 * objects): everything collected, no callback. */
static int inner_calls;

static void inner_cb(ouro_heap *h, ouro_object *wr, void *arg)
{
    (void)h;
    (void)wr;
    (void)arg;
    inner_calls++;
}

TEST(incremental_cycle_trash_weakref_across_batches_never_calls_back)
{
    ouro_heap *h = tl_heap();
    tn_reset();
    inner_calls = 0;
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL), 0);
    ouro_gc_disable(h);
    ouro_object *l1 = churn_list(h, 5000, NULL, NULL);
    ouro_object *l2 = churn_list(h, 5000, NULL, NULL);
    ouro_object *inner = ouro_weakref_new(h, ((tnode *)l2)->slot[1], inner_cb, NULL);
    CHECK(inner != NULL);
    ((tnode *)l1)->slot[3] = inner; /* the first list owns it */
    ouro_decref(l1);
    ouro_decref(l2);
    int steps = 0;
    long rc;
    while ((rc = ouro_gc_step(h, 1000)) != 1) {
        CHECK_EQ(rc, 0);
        CHECK(++steps < 10000);
    }
    CHECK_EQ(tn_freed, 10000);
    CHECK_EQ(inner_calls, 0);
    tl_heap_done(h);
}

/* Side counts are 8 bits; an object referenced from more than 127
 * objects of the cycle keeps its count in the overflow map.  A hub
 * referenced by n nodes of a chain that the hub closes into a cycle, for
 * n around the boundary (126..129) and far past it (40,000):
 * (a) all garbage: one cycle frees the n + 1 objects (arithmetic);
 * (b) the hub also held by the test: it reaches every node, so nothing is
 *     freed (its count overflowed, its outside reference still counts);
 *     dropped, the next cycle frees all;
 * (c) the chain's head held too: nothing is freed. */
static ouro_object *hub_cycle(ouro_heap *h, ouro_object **head, int n)
{
    ouro_object *hub = tn_plain(h), *prev = NULL;
    for (int i = 0; i < n; i++) {
        ouro_object *node = tn_plain(h);
        ouro_incref(hub);
        ((tnode *)node)->slot[0] = hub;
        ((tnode *)node)->slot[1] = prev; /* takes prev's reference */
        prev = node;
    }
    ((tnode *)hub)->slot[0] = prev; /* takes the last node's reference */
    ouro_incref(prev);
    *head = prev;
    return hub;
}

static void run_cycle(ouro_heap *h)
{
    CHECK_EQ(ouro_gc_cycle_phase(h), 0);
    int steps = 0;
    while (ouro_gc_step(h, 5000) != 1) {
        CHECK_EQ(ouro_heap_check(h), 0);
        CHECK(++steps < 10000);
    }
    CHECK_EQ(ouro_heap_check(h), 0);
}

TEST(incremental_side_count_overflow)
{
    static const int sizes[] = {126, 127, 128, 129, 40000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        int n = sizes[k];
        ouro_heap *h = tl_heap();
        ouro_object *head;
        /* (a) */
        tn_reset();
        ouro_object *hub = hub_cycle(h, &head, n);
        ouro_decref(head);
        ouro_decref(hub);
        run_cycle(h);
        CHECK_EQ(tn_freed, n + 1);
        /* (b) */
        tn_reset();
        hub = hub_cycle(h, &head, n);
        ouro_decref(head);
        run_cycle(h);
        CHECK_EQ(tn_freed, 0);
        CHECK_EQ(ouro_refcount(hub), n + 1);
        ouro_decref(hub);
        run_cycle(h);
        CHECK_EQ(tn_freed, n + 1);
        /* (c) */
        tn_reset();
        hub = hub_cycle(h, &head, n);
        run_cycle(h);
        CHECK_EQ(tn_freed, 0);
        CHECK_EQ(ouro_refcount(hub), n + 1);
        ouro_decref(hub);
        ouro_decref(head);
        CHECK_EQ(ouro_gc_collect(h, 2), n + 1);
        CHECK_EQ(tn_freed, n + 1);
        tl_heap_done(h);
    }
}

/* The order a young collection leaves its survivors in.  CPython 3.11's
 * schedule keeps CPython's (the order move_unreachable finds them
 * reachable); the incremental schedule's young collections link them in
 * the opposite order as they go (gc.c, move_survivors).  The same random
 * graphs on two heaps, one per schedule: the survivors must be the same
 * objects in exactly opposite orders, including those first set aside as
 * unreachable and moved back (an early object referenced only by a later
 * one) and with garbage cycles cut out between them. */
typedef struct id_seq {
    int ids[400];
    int n;
} id_seq;

static int record_id(ouro_object *o, void *arg)
{
    id_seq *s = arg;
    if (s->n < 400)
        s->ids[s->n] = ((tnode *)o)->id;
    s->n++;
    return 0;
}

static void young_graph(ouro_heap *h, uint64_t seed, id_seq *out)
{
    enum { N = 300 };
    ouro_object *o[N];
    uint64_t x = seed * 0x9E3779B97F4A7C15u + 1;
#define NEXT_RAND() (x = x * 6364136223846793005u + 1442695040888963407u, (int)(x >> 33))
    for (int i = 0; i < N; i++) {
        o[i] = tn_plain(h);
        CHECK(o[i] != NULL);
        ((tnode *)o[i])->id = i;
    }
    for (int i = 0; i < N; i++) {
        int k = NEXT_RAND() % 3;
        for (int j = 0; j < k; j++)
            tn_link(o[i], o[NEXT_RAND() % N]);
    }
    ouro_object *roots[N];
    int nroots = 0;
    for (int i = 0; i < N; i++) {
        if (NEXT_RAND() % 5 == 0)
            roots[nroots++] = o[i];
        else
            ouro_decref(o[i]);
    }
#undef NEXT_RAND
    CHECK(ouro_gc_collect(h, 0) >= 0);
    out->n = 0;
    CHECK_EQ(ouro_gc_get_objects(h, 1, record_id, out), 0);
    for (int i = 0; i < nroots; i++)
        ouro_decref(roots[i]);
    ouro_gc_collect(h, 2);
}

TEST(incremental_young_collection_reverses_survivors)
{
    int moved_back = 0;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        id_seq cpy, inc;
        ouro_heap *h = gc_heap();
        CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311), 0);
        young_graph(h, seed, &cpy);
        tl_heap_done(h);
        h = gc_heap();
        CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL), 0);
        young_graph(h, seed, &inc);
        tl_heap_done(h);
        CHECK(cpy.n > 0 && cpy.n <= 400);
        CHECK_EQ(inc.n, cpy.n);
        for (int i = 0; i < cpy.n; i++)
            CHECK_EQ(inc.ids[i], cpy.ids[cpy.n - 1 - i]);
        /* CPython's order is not allocation order when objects were moved
         * back from the unreachable list: the graphs exercise that. */
        for (int i = 1; i < cpy.n; i++)
            moved_back += cpy.ids[i] < cpy.ids[i - 1];
    }
    CHECK(moved_back > 0);
}

/* The incremental schedule's automatic young collections clear at most
 * 2,048 objects of trash each (gc.c, YOUNG_CLEAR_MAX) and send the rest
 * back to generation 0, so that a young collection that finds a lot of
 * dead cyclic structure stays short; an explicit collection is CPython's
 * and clears all it finds at once.  Three doubly linked lists of 5,000
 * nodes, dropped: in allocation order, each object the clearing loop
 * visits leaves the trash (dying, or surviving its clear because its next
 * neighbour still points at it), and so does a list's last node, unvisited,
 * when its neighbour's clear frees it; so a collection with the budget
 * reports 2,048 collected, plus one for each list end it reached (three
 * at most), and the 15,000 objects need at least 8 collections. */
typedef struct clear_log {
    long max_collected, collecting, total; /* young collections */
    long all;                              /* any collection or increment */
} clear_log;

static void on_young_clear(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)h;
    clear_log *l = arg;
    if (strcmp(phase, "stop") != 0)
        return;
    l->all += info->collected;
    if (info->generation != 0 || info->increment)
        return;
    if (info->collected > l->max_collected)
        l->max_collected = info->collected;
    l->collecting += info->collected > 0;
    l->total += info->collected;
}

static void drop_lists(ouro_heap *h, int lists, int n)
{
    for (int l = 0; l < lists; l++) {
        ouro_object *head = tn_plain(h), *tail = head;
        CHECK(head != NULL);
        for (int i = 1; i < n; i++) {
            ouro_object *x = tn_plain(h);
            CHECK(x != NULL);
            tn_link(tail, x);
            tn_link(x, tail);
            if (tail != head)
                ouro_decref(tail);
            tail = x;
        }
        ouro_decref(tail);
        ouro_decref(head);
    }
}

TEST(incremental_young_collection_clears_a_bounded_amount)
{
    /* explicit: all at once */
    ouro_heap *h = gc_heap();
    tn_reset();
    drop_lists(h, 3, 5000);
    CHECK_EQ(tn_freed, 0);
    CHECK_EQ(ouro_gc_collect(h, 0), 15000);
    CHECK_EQ(tn_freed, 15000);
    tl_heap_done(h);

    /* automatic: in pieces, all freed while the program allocates (and
     * keeps what it allocates: young collections come every 700 net
     * tracked allocations, as in CPython, plus the backlog sent back) */
    h = tl_heap();
    CHECK_EQ(ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL), 0);
    clear_log log = {0, 0, 0, 0};
    CHECK_EQ(ouro_gc_callback_add(h, on_young_clear, &log), 0);
    tn_reset();
    ouro_gc_disable(h);
    drop_lists(h, 3, 5000);
    ouro_gc_enable(h);
    ouro_object *chain = NULL;
    long allocated = 0;
    for (; tn_freed < 15000 && allocated < 200000; allocated++) {
        ouro_object *x = tn_plain(h);
        CHECK(x != NULL);
        if (chain) {
            tn_link(x, chain);
            ouro_decref(chain);
        }
        chain = x;
    }
    CHECK_EQ(tn_freed, 15000);
    CHECK(log.max_collected >= 2048 && log.max_collected <= 2048 + 3);
    /* The first young collection, at the first allocation, finds the
     * 15,000 and clears 2,048; the next ones, every 700 allocations, the
     * rest, unless the chain's survivors start an incremental cycle first:
     * then generation 0 and its backlog join the cycle, which collects the
     * rest (gc.c, incremental_schedule). */
    CHECK(log.collecting >= 1);
    /* A node cleared just before the ones sent back survives its clear
     * (its next neighbour still points at it) and waits in the middle
     * generation; if the cycle finds it, it is counted again, as CPython
     * counts an object that survived its clear once more: one per list
     * and young collection at most. */
    CHECK(log.all >= 15000 && log.all <= 15000 + 3 * log.collecting);
    /* garbage stays bounded: all of it freed before the program allocated
     * as much again */
    CHECK(allocated < 15000);
    ouro_decref(chain);
    CHECK_EQ(tn_freed, 15000 + (int)allocated);
    ouro_gc_callback_remove(h, on_young_clear, &log);
    tl_heap_done(h);
}
