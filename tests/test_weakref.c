/* Weak references and their callbacks, with CPython 3.11's rules. */
#include "testlib.h"
#include "ttypes.h"

#include <string.h>

static char cblog[1024];
static ouro_object *victim;
static void cb_log(ouro_heap *h, ouro_object *wr, void *arg)
{
    (void)h;
    (void)wr;
    strncat(cblog, (const char *)arg, sizeof cblog - strlen(cblog) - 1);
    strncat(cblog, ";", sizeof cblog - strlen(cblog) - 1);
}

static ouro_heap *wheap(void)
{
    cblog[0] = 0;
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    return h;
}

TEST(get_and_death_by_refcount)
{
    ouro_heap *h = wheap();
    ouro_object *t = tn_new(h);
    ouro_object *w = ouro_weakref_new(h, t, cb_log, "w");
    CHECK(ouro_is_weakref(w) && !ouro_is_weakref(t));
    CHECK(ouro_weakref_arg(w) == (void *)"w");
    ouro_object *got = ouro_weakref_get(w);
    CHECK(got == t);
    CHECK_EQ(ouro_refcount(t), 2);
    ouro_decref(got);
    CHECK(ouro_weakref_peek(w) == t);
    CHECK_EQ(ouro_weakref_count(t), 1);
    ouro_decref(t);
    CHECK_STR(cblog, "w;");
    CHECK(ouro_weakref_get(w) == NULL);
    CHECK(ouro_weakref_peek(w) == NULL);
    ouro_decref(w);
    tl_heap_done(h);
}

TEST(basic_refs_are_shared)
{
    ouro_heap *h = wheap();
    ouro_object *t = tn_new(h);
    ouro_object *a = ouro_weakref_basic(h, t), *b = ouro_weakref_basic(h, t);
    CHECK(a == b);
    ouro_object *c = ouro_weakref_new(h, t, NULL, NULL); /* not basic: new */
    CHECK(c != a);
    CHECK_EQ(ouro_weakref_count(t), 2);
    ouro_decref(a);
    ouro_decref(b);
    ouro_decref(c);
    CHECK_EQ(ouro_weakref_count(t), 0);
    ouro_decref(t);
    tl_heap_done(h);
}

TEST(type_must_allow_weakrefs)
{
    ouro_heap *h = wheap();
    ouro_type t = {.name = "noweak", .basic_size = 16};
    static ouro_type nt;
    nt = t;
    ouro_object *o = ouro_new(h, &nt);
    CHECK(ouro_weakref_new(h, o, NULL, NULL) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ETYPE);
    CHECK(ouro_weakref_new(h, NULL, NULL, NULL) == NULL);
    ouro_decref(o);
    tl_heap_done(h);
}

/* CPython: callbacks run newest first (after callback-less basic refs). */
TEST(callbacks_newest_first)
{
    ouro_heap *h = wheap();
    ouro_object *t = tn_new(h);
    ouro_object *basic = ouro_weakref_basic(h, t);
    ouro_object *w1 = ouro_weakref_new(h, t, cb_log, "1");
    ouro_object *w2 = ouro_weakref_new(h, t, cb_log, "2");
    ouro_object *w3 = ouro_weakref_new(h, t, cb_log, "3");
    ouro_decref(t);
    CHECK_STR(cblog, "3;2;1;");
    CHECK(ouro_weakref_get(basic) == NULL);
    ouro_decref(basic);
    ouro_decref(w1);
    ouro_decref(w2);
    ouro_decref(w3);
    tl_heap_done(h);
}

TEST(weakref_to_weakref)
{
    ouro_heap *h = wheap();
    ouro_object *t = tn_new(h);
    ouro_object *w1 = ouro_weakref_new(h, t, cb_log, "w1");
    ouro_object *w3 = ouro_weakref_new(h, w1, cb_log, "w3");
    CHECK(ouro_weakref_peek(w3) == w1);
    ouro_decref(t);
    CHECK_STR(cblog, "w1;");
    ouro_decref(w1); /* w1 dies: w3's callback */
    CHECK_STR(cblog, "w1;w3;");
    ouro_decref(w3);
    tl_heap_done(h);
}

/* w2's callback, run while w1 is being deallocated, kills w1's referent.
 * w1's own count is zero, so it gets no callback (CPython's
 * PyObject_ClearWeakRefs skips it): a callback would see a half-destroyed
 * weak reference, and holding w1 alive for it freed w1 twice. */
static void cb_drop_victim(ouro_heap *h, ouro_object *wr, void *arg)
{
    cb_log(h, wr, arg);
    ouro_clear(&victim);
}

TEST(dying_weakref_gets_no_callback)
{
    ouro_heap *h = wheap();
    victim = tn_new(h);
    ouro_object *w1 = ouro_weakref_new(h, victim, cb_log, "w1");
    ouro_object *w2 = ouro_weakref_new(h, w1, cb_drop_victim, "w2");
    ouro_decref(w1); /* w1 dies; w2's callback drops victim */
    CHECK(victim == NULL);
    CHECK_STR(cblog, "w2;");
    CHECK(ouro_weakref_get(w2) == NULL);
    ouro_decref(w2);
    tl_heap_done(h);
}

/* A weak reference that is itself part of the trash gets no callback; a
 * reachable one does, and is cleared before any finalizer runs. */
TEST(callbacks_in_cyclic_trash)
{
    ouro_heap *h = wheap();
    ouro_object *b = tn_new(h), *c = tn_new(h);
    tn_link(b, c);
    tn_link(c, b);
    ouro_object *inner = ouro_weakref_new(h, b, cb_log, "inner");
    tn_link(c, inner);
    ouro_decref(inner);
    ouro_object *outer = ouro_weakref_new(h, b, cb_log, "outer");
    ouro_decref(b);
    ouro_decref(c);
    /* b, c and inner are trash: 3 */
    CHECK_EQ(ouro_gc_collect(h, 2), 3);
    CHECK_STR(cblog, "outer;");
    CHECK(ouro_weakref_get(outer) == NULL);
    ouro_decref(outer);
    tl_heap_done(h);
}

static void cb_drop_self(ouro_heap *h, ouro_object *wr, void *arg)
{
    (void)h;
    (void)wr;
    (void)arg;
    ouro_clear(&victim);
}

/* A reachable weak reference freed right after its callback counts in
 * gc.collect()'s result (CPython's handle_weakrefs). */
TEST(weakref_freed_after_callback_counts)
{
    ouro_heap *h = wheap();
    ouro_object *a = tn_plain(h);
    tn_link(a, a);
    victim = ouro_weakref_new(h, a, cb_drop_self, NULL);
    ouro_decref(a);
    CHECK_EQ(ouro_gc_collect(h, 2), 2); /* a, and the weakref */
    CHECK(victim == NULL);
    tl_heap_done(h);
}

static ouro_object *revived;
static ouro_object *revive_wr;
static void fin_revive(ouro_heap *h, ouro_object *self)
{
    (void)h;
    (void)self;
    /* in a collection every weak reference to the trash is already cleared */
    revived = ouro_weakref_get(revive_wr);
}

TEST(finalizer_cannot_reach_trash_through_weakrefs)
{
    ouro_heap *h = wheap();
    static ouro_type t;
    t = tplain_type;
    t.id = 0;
    t.name = "reviver";
    t.finalize = fin_revive;
    ouro_object *a = ouro_new(h, &t);
    tn_link(a, a);
    revive_wr = ouro_weakref_new(h, a, NULL, NULL);
    ouro_decref(a);
    revived = (ouro_object *)1;
    CHECK_EQ(ouro_gc_collect(h, 2), 1);
    CHECK(revived == NULL);
    ouro_decref(revive_wr);
    tl_heap_done(h);
}

TEST(many_weakrefs_table_growth)
{
    ouro_heap *h = wheap();
    ouro_object *t[300], *w[300];
    for (int i = 0; i < 300; i++) {
        t[i] = tn_new(h);
        w[i] = ouro_weakref_new(h, t[i], NULL, NULL);
    }
    CHECK_EQ(ouro_heap_check(h), 0);
    for (int i = 0; i < 300; i += 2)
        ouro_decref(t[i]);
    for (int i = 0; i < 300; i++)
        CHECK((ouro_weakref_peek(w[i]) != NULL) == (i % 2 == 1));
    CHECK_EQ(ouro_heap_check(h), 0);
    for (int i = 1; i < 300; i += 2)
        ouro_decref(t[i]);
    for (int i = 0; i < 300; i++)
        ouro_decref(w[i]);
    tl_heap_done(h);
}
