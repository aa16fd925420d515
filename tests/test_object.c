/* Objects: reference counting, destruction, immortals, scopes, leaks, OOM. */
#include "testlib.h"
#include "ttypes.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

TEST(header_is_16_bytes)
{
    CHECK_EQ(sizeof(ouro_object), 16);
    CHECK_STR(ouro_version(), OURO_VERSION_STRING);
    CHECK_EQ(ouro_version_number(), OURO_VERSION_NUMBER);
    CHECK_STR(ouro_strerror(OURO_ENOMEM), "out of memory");
}

/* The seed: x = [1, 2, 3]; y = x; del x; print(y); del y */
TEST(refcount_walk_to_zero)
{
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_object *x = tn_new(h);
    CHECK_EQ(ouro_refcount(x), 1);
    ouro_object *y = NULL;
    ouro_setref(&y, x);
    CHECK_EQ(ouro_refcount(x), 2);
    ouro_clear(&x);
    CHECK(x == NULL);
    CHECK_EQ(ouro_refcount(y), 1);
    CHECK_EQ(tn_finalized, 0);
    ouro_clear(&y);
    /* freed the moment the count reached zero */
    CHECK_EQ(tn_finalized, 1);
    CHECK_EQ(tn_freed, 1);
    tl_heap_done(h);
}

TEST(setref_releases_old_after_storing_new)
{
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_object *a = tn_new(h), *b = tn_new(h);
    ouro_object *slot = NULL;
    ouro_setref(&slot, a);
    ouro_setref(&slot, a); /* same object: must survive */
    CHECK_EQ(ouro_refcount(a), 2);
    ouro_setref(&slot, b);
    CHECK_EQ(ouro_refcount(a), 1);
    CHECK_EQ(ouro_refcount(b), 2);
    ouro_setref(&slot, NULL);
    CHECK_EQ(ouro_refcount(b), 1);
    ouro_decref(a);
    ouro_decref(b);
    CHECK_EQ(tn_freed, 2);
    tl_heap_done(h);
}

TEST(identity_size_type)
{
    ouro_heap *h = tl_heap();
    ouro_object *o = tn_new(h);
    CHECK_EQ(ouro_id(o), (uintptr_t)o);
    CHECK_EQ(ouro_sizeof(o), sizeof(tnode));
    CHECK_STR(ouro_type_name(o), "tnode");
    CHECK(ouro_type_of(o) == &tnode_type);
    CHECK(ouro_heap_of(o) == h);
    ouro_object *v = ouro_new_sized(h, &tplain_type, 1000);
    CHECK(v);
    ouro_decref(v);
    CHECK(ouro_new_sized(h, &tplain_type, 3) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    CHECK(ouro_new(h, NULL) == NULL);
    ouro_decref(o);
    tl_heap_done(h);
}

TEST(immortal_objects)
{
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_object *o = tn_new(h);
    CHECK(ouro_gc_is_tracked(o));
    ouro_make_immortal(o);
    CHECK(ouro_is_immortal(o));
    CHECK(!ouro_gc_is_tracked(o));
    uint32_t rc = ouro_refcount(o);
    for (int i = 0; i < 1000; i++)
        ouro_decref(o);
    ouro_incref(o);
    CHECK_EQ(ouro_refcount(o), rc);
    CHECK_EQ(tn_freed, 0);
    CHECK_EQ(ouro_gc_collect(h, 2), 0);
    /* immortal objects are not leaks: freed with the heap, which runs
     * their dealloc hook (and no finalizer) */
    tl_heap_done(h);
    CHECK_EQ(tn_freed, 1);
    CHECK_EQ(tn_finalized, 0);
}

TEST(refcount_saturates_to_immortal)
{
    ouro_heap *h = tl_heap();
    ouro_object *o = tn_new(h);
    o->refcnt = 0x7fffffffu;
    ouro_incref(o);
    CHECK(ouro_is_immortal(o));
    tl_heap_done(h);
}

TEST(resurrection_by_refcount_finalizer_runs_once)
{
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_object *o = tn_new(h);
    ((tnode *)o)->resurrect = 1;
    ouro_decref(o);
    CHECK_EQ(tn_finalized, 1);
    CHECK_EQ(tn_nsaved, 1);
    CHECK(tn_saved[0] == o);
    CHECK_EQ(ouro_refcount(o), 1);
    CHECK(ouro_gc_is_finalized(o));
    CHECK(ouro_gc_is_tracked(o)); /* re-tracked, in generation 0 */
    tn_release_saved();           /* second death: no finalizer */
    CHECK_EQ(tn_finalized, 1);
    CHECK_EQ(tn_freed, 1);
    tl_heap_done(h);
}

typedef struct chain_arg {
    ouro_heap *h;
    int n;
    int ok;
} chain_arg;

static void *free_chain(void *p)
{
    chain_arg *a = p;
    ouro_heap_set_owner(a->h); /* handed over by pthread_create */
    ouro_object *head = tn_plain(a->h), *cur = head;
    for (int i = 1; i < a->n; i++) {
        ouro_object *next = tn_plain(a->h);
        tn_link(cur, next);
        ouro_decref(next);
        cur = next;
    }
    ouro_decref(head); /* frees the whole chain */
    a->ok = 1;
    return NULL;
}

/* CPython's trashcan problem: a million-long chain freed with a bounded
 * stack.  The thread's stack is 64 KiB (256 KiB under sanitizers, whose
 * frames are several times larger). */
TEST(deep_chain_bounded_stack)
{
    tn_reset();
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_FAIL;
    ouro_heap *h = tl_heap_cfg(&cfg);
    chain_arg a = {h, 1000000, 0};
    pthread_attr_t attr;
    pthread_attr_init(&attr);
#if defined(__SANITIZE_ADDRESS__)
    size_t stack = 256 * 1024;
#else
    size_t stack = 64 * 1024;
#endif
    CHECK_EQ(pthread_attr_setstacksize(&attr, stack), 0);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, &attr, free_chain, &a), 0);
    pthread_join(t, NULL);
    ouro_heap_set_owner(h); /* and back, by pthread_join */
    CHECK(a.ok);
    CHECK_EQ(tn_freed, 1000000);
    tl_heap_done(h);
}

TEST(scope_releases_in_reverse)
{
    tn_reset();
    ouro_heap *h = tl_heap();
    ouro_scope outer = ouro_scope_begin(h);
    ouro_object *a = ouro_scope_add(h, tn_new(h));
    {
        ouro_scope inner = ouro_scope_begin(h);
        ouro_scope_add(h, tn_new(h));
        ouro_scope_add(h, tn_new(h));
        ouro_scope_end(&inner);
        CHECK_EQ(tn_freed, 2);
    }
    CHECK_EQ(ouro_refcount(a), 1);
    ouro_scope_end(&outer);
    CHECK_EQ(tn_freed, 3);
    CHECK(ouro_scope_add(h, NULL) == NULL);
    tl_heap_done(h);
}

TEST(auto_release)
{
    tn_reset();
    ouro_heap *h = tl_heap();
    {
        OURO_AUTO ouro_object *x = tn_new(h);
        OURO_AUTO ouro_object *none = NULL;
        (void)none;
        CHECK_EQ(ouro_refcount(x), 1);
    }
    CHECK_EQ(tn_freed, 1);
    tl_heap_done(h);
}

static char sink_buf[8192];
static size_t sink_len;
static void sink(void *ctx, const char *text)
{
    (void)ctx;
    size_t n = strlen(text);
    if (sink_len + n < sizeof sink_buf) {
        memcpy(sink_buf + sink_len, text, n + 1);
        sink_len += n;
    }
}

TEST(leak_report_fail_policy)
{
    sink_len = 0;
    sink_buf[0] = 0;
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_FAIL;
    cfg.sink = sink;
    ouro_heap *h = tl_heap_cfg(&cfg);
    ouro_object *o = tn_new(h);
    ouro_incref(o);
    ouro_new(h, &tleaf_type);
    CHECK_EQ(ouro_heap_free(h), OURO_ELEAK);
    CHECK(strstr(sink_buf, "tnode object at") != NULL);
    CHECK(strstr(sink_buf, "refcount 2") != NULL);
    CHECK(strstr(sink_buf, "tleaf object at") != NULL);
    CHECK(strstr(sink_buf, "2 objects alive") != NULL);
}

TEST(leak_report_warn_and_ignore)
{
    sink_len = 0;
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_WARN;
    cfg.sink = sink;
    ouro_heap *h = tl_heap_cfg(&cfg);
    tn_new(h);
    CHECK_EQ(ouro_heap_free(h), 1);
    CHECK(strstr(sink_buf, "1 object alive") != NULL);
    sink_len = 0;
    sink_buf[0] = 0;
    cfg.leak_policy = OURO_LEAKS_IGNORE;
    h = tl_heap_cfg(&cfg);
    tn_new(h);
    CHECK_EQ(ouro_heap_free(h), 1);
    CHECK_EQ(sink_len, 0);
}

/* Fail the Nth allocation for every N until an operation succeeds: the
 * heap stays consistent and nothing leaks at any N. */
TEST(allocation_failure_sweep)
{
    for (uint64_t n = 1; n <= 40; n++) {
        tn_reset();
        ouro_config cfg;
        ouro_config_init(&cfg);
        cfg.debug = OURO_DEBUG_CHECKS;
        cfg.leak_policy = OURO_LEAKS_FAIL;
        cfg.fail_alloc_at = n;
        ouro_heap *h = tl_heap_cfg(&cfg);
        ouro_object *objs[30] = {0};
        int made = 0;
        for (int i = 0; i < 30; i++) {
            objs[i] = tn_new(h);
            if (objs[i]) {
                made++;
                if (i)
                    tn_link(objs[i], objs[i - 1]);
            } else {
                CHECK_EQ(ouro_heap_last_error(h), OURO_ENOMEM);
            }
            CHECK_EQ(ouro_heap_check(h), 0);
        }
        CHECK_EQ(made, n <= 30 ? 29 : 30);
        for (int i = 0; i < 30; i++)
            if (objs[i])
                ouro_decref(objs[i]);
        tl_heap_done(h);
    }
}

TEST(many_types)
{
    ouro_heap *h = tl_heap();
    static ouro_type types[100];
    for (int i = 0; i < 100; i++) {
        types[i].name = "dyn";
        types[i].basic_size = 16 + (size_t)i * 8;
        ouro_object *o = ouro_new(h, &types[i]);
        CHECK(o);
        CHECK(ouro_type_of(o) == &types[i]);
        CHECK_EQ(ouro_sizeof(o), 16 + i * 8);
        ouro_decref(o);
    }
    tl_heap_done(h);
}
