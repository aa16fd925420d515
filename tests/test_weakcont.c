/* weakref.finalize and the weak containers.  Expected behaviour is Python
 * 3.11's weakref module for the same sequences. */
#include "testlib.h"
#include "ttypes.h"

#include <string.h>

static char flog[512];
static void fin_fn(ouro_heap *h, void *ctx, ouro_object *arg)
{
    (void)h;
    strncat(flog, (const char *)ctx, sizeof flog - strlen(flog) - 1);
    if (arg)
        strncat(flog, "+arg", sizeof flog - strlen(flog) - 1);
    strncat(flog, ";", sizeof flog - strlen(flog) - 1);
}

static ouro_heap *heap(void)
{
    flog[0] = 0;
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    return h;
}

TEST(finalize_runs_when_target_dies)
{
    ouro_heap *h = heap();
    ouro_object *t = tn_new(h);
    ouro_object *arg = tn_plain(h);
    ouro_object *f = ouro_finalize_new(h, t, fin_fn, "f", arg);
    ouro_decref(arg); /* the finalizer holds it */
    CHECK(ouro_finalize_alive(f));
    CHECK(ouro_finalize_get_atexit(f));
    ouro_object *peek = NULL;
    CHECK_EQ(ouro_finalize_peek(f, &peek), 1);
    CHECK(peek == t);
    ouro_decref(f); /* the registry keeps it */
    ouro_decref(t);
    CHECK_STR(flog, "f+arg;");
    CHECK_EQ(tn_freed, 2); /* target, then the argument after the call */
    tl_heap_done(h);
}

TEST(finalize_call_detach_once)
{
    ouro_heap *h = heap();
    ouro_object *t = tn_new(h);
    ouro_object *f = ouro_finalize_new(h, t, fin_fn, "a", NULL);
    CHECK_EQ(ouro_finalize_call(f), 1);
    CHECK_EQ(ouro_finalize_call(f), 0); /* runs at most once */
    CHECK(!ouro_finalize_alive(f));
    ouro_object *g = ouro_finalize_new(h, t, fin_fn, "b", NULL);
    ouro_object *back = NULL;
    CHECK_EQ(ouro_finalize_detach(g, &back), 1);
    CHECK(back == t);
    ouro_decref(back);
    CHECK_EQ(ouro_finalize_detach(g, &back), 0);
    CHECK(back == NULL);
    CHECK_EQ(ouro_finalize_call(t), OURO_EINVAL); /* not a finalizer */
    ouro_decref(t);
    CHECK_STR(flog, "a;"); /* the detached one never ran */
    ouro_decref(f);
    ouro_decref(g);
    tl_heap_done(h);
}

TEST(finalize_in_cyclic_trash)
{
    ouro_heap *h = heap();
    ouro_object *a = tn_new(h);
    tn_link(a, a);
    ouro_object *f = ouro_finalize_new(h, a, fin_fn, "cyc", NULL);
    ouro_decref(f);
    ouro_decref(a);
    CHECK_EQ(flog[0], 0);
    /* a, plus the finalizer's weak reference freed after its callback */
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    CHECK_STR(flog, "cyc;");
    tl_heap_done(h);
}

TEST(finalize_at_heap_free_newest_first)
{
    flog[0] = 0;
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_IGNORE;
    ouro_heap *h = tl_heap_cfg(&cfg);
    ouro_object *t = tn_new(h);
    ouro_decref(ouro_finalize_new(h, t, fin_fn, "1", NULL));
    ouro_object *f2 = ouro_finalize_new(h, t, fin_fn, "2", NULL);
    ouro_finalize_set_atexit(f2, 0);
    ouro_decref(f2);
    ouro_decref(ouro_finalize_new(h, t, fin_fn, "3", NULL));
    ouro_heap_free(h); /* t still alive: atexit ones run, newest first */
    CHECK_STR(flog, "3;1;");
}

static int wv_count(const void *key, size_t klen, ouro_object *value, void *arg)
{
    (void)key;
    (void)klen;
    (void)value;
    (*(int *)arg)++;
    return 0;
}

TEST(weak_value_dictionary)
{
    ouro_heap *h = heap();
    ouro_object *d = ouro_wvdict_new(h);
    ouro_object *a = tn_new(h), *b = tn_new(h);
    CHECK_EQ(ouro_wvdict_set(d, "a", 1, a), 0);
    CHECK_EQ(ouro_wvdict_set(d, "b", 1, b), 0);
    CHECK_EQ(ouro_wvdict_len(d), 2);
    CHECK_EQ(ouro_refcount(a), 1); /* values are not kept alive */
    ouro_object *got = ouro_wvdict_get(d, "a", 1);
    CHECK(got == a);
    ouro_decref(got);
    CHECK(ouro_wvdict_get(d, "zz", 2) == NULL);
    ouro_decref(a); /* entry goes with the value */
    CHECK_EQ(ouro_wvdict_len(d), 1);
    CHECK(ouro_wvdict_get(d, "a", 1) == NULL);
    CHECK_EQ(ouro_wvdict_set(d, "b", 1, b), 0); /* replace with itself */
    CHECK_EQ(ouro_wvdict_len(d), 1);
    int n = 0;
    ouro_wvdict_items(d, wv_count, &n);
    CHECK_EQ(n, 1);
    CHECK_EQ(ouro_wvdict_del(d, "b", 1), 1);
    CHECK_EQ(ouro_wvdict_del(d, "b", 1), 0);
    static ouro_type noweak = {.name = "noweak", .basic_size = 16};
    ouro_object *leaf = ouro_new(h, &noweak);
    CHECK_EQ(ouro_wvdict_set(d, "x", 1, leaf), OURO_ETYPE);
    ouro_decref(leaf);
    ouro_decref(b);
    ouro_decref(d);
    tl_heap_done(h);
}

TEST(weak_value_dictionary_many)
{
    ouro_heap *h = heap();
    ouro_object *d = ouro_wvdict_new(h);
    ouro_object *v[1000];
    char key[16];
    for (int i = 0; i < 1000; i++) {
        v[i] = tn_plain(h);
        snprintf(key, sizeof key, "k%d", i);
        CHECK_EQ(ouro_wvdict_set(d, key, strlen(key), v[i]), 0);
    }
    CHECK_EQ(ouro_wvdict_len(d), 1000);
    for (int i = 0; i < 1000; i += 3)
        ouro_decref(v[i]);
    CHECK_EQ(ouro_wvdict_len(d), 666);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        ouro_object *g = ouro_wvdict_get(d, key, strlen(key));
        CHECK((g != NULL) == (i % 3 != 0));
        if (g) {
            CHECK(g == v[i]);
            ouro_decref(g);
        }
    }
    CHECK_EQ(ouro_heap_check(h), 0);
    ouro_decref(d); /* the dictionary dies first: no callbacks reach it */
    for (int i = 0; i < 1000; i++)
        if (i % 3)
            ouro_decref(v[i]);
    tl_heap_done(h);
}

static ouro_object *kill_during_walk;
static int wk_kill(ouro_object *key, ouro_object *value, void *arg)
{
    (*(int *)arg)++;
    ouro_clear(&kill_during_walk); /* another key dies mid-walk */
    return 0;
}

TEST(weak_key_dictionary)
{
    ouro_heap *h = heap();
    ouro_object *d = ouro_wkdict_new(h);
    ouro_object *k1 = tn_new(h), *k2 = tn_new(h), *val = tn_plain(h);
    CHECK_EQ(ouro_wkdict_set(d, k1, val), 0);
    CHECK_EQ(ouro_wkdict_set(d, k2, val), 0);
    CHECK_EQ(ouro_refcount(val), 3); /* values are strong */
    CHECK_EQ(ouro_refcount(k1), 1); /* keys are weak */
    ouro_object *g = ouro_wkdict_get(d, k1);
    CHECK(g == val);
    ouro_decref(g);
    ouro_decref(k1);
    CHECK_EQ(ouro_wkdict_len(d), 1);
    CHECK_EQ(ouro_refcount(val), 2);
    /* removal during a walk is deferred, and the walk stays valid */
    kill_during_walk = k2;
    int n = 0;
    ouro_wkdict_items(d, wk_kill, &n);
    CHECK_EQ(n, 1);
    CHECK_EQ(ouro_wkdict_len(d), 0);
    CHECK_EQ(ouro_refcount(val), 1);
    ouro_decref(val);
    ouro_decref(d);
    tl_heap_done(h);
}

TEST(weak_set)
{
    ouro_heap *h = heap();
    ouro_object *s = ouro_wset_new(h);
    ouro_object *a = tn_new(h), *b = tn_new(h);
    CHECK_EQ(ouro_wset_add(s, a), 0);
    CHECK_EQ(ouro_wset_add(s, a), 0);
    CHECK_EQ(ouro_wset_add(s, b), 0);
    CHECK_EQ(ouro_wset_len(s), 2);
    CHECK_EQ(ouro_wset_contains(s, a), 1);
    CHECK_EQ(ouro_wset_discard(s, a), 1);
    CHECK_EQ(ouro_wset_contains(s, a), 0);
    /* b dies in cyclic trash: the collector's callbacks empty the set */
    tn_link(b, b);
    ouro_decref(b);
    CHECK_EQ(ouro_wset_len(s), 1);
    long n = ouro_gc_collect(h, 2);
    CHECK_EQ(n, 2); /* b, and the set's weak reference freed after its callback */
    CHECK_EQ(ouro_wset_len(s), 0);
    CHECK_EQ(ouro_wset_add(a, a), OURO_EINVAL); /* not a set */
    ouro_decref(a);
    ouro_decref(s);
    tl_heap_done(h);
}

TEST(weak_container_in_a_cycle_is_collected)
{
    ouro_heap *h = heap();
    ouro_object *d = ouro_wkdict_new(h);
    ouro_object *holder = tn_plain(h), *key = tn_new(h);
    tn_link(holder, d);
    CHECK_EQ(ouro_wkdict_set(d, key, holder), 0); /* value -> dict -> value */
    ouro_decref(d);
    ouro_decref(holder);
    /* holder, the dictionary and the entry's weak reference are trash;
     * the weak reference gets no callback (it is trash itself) */
    CHECK_EQ(ouro_gc_collect(h, 2), 3);
    CHECK_EQ(ouro_weakref_count(key), 0);
    ouro_decref(key);
    tl_heap_done(h);
}
