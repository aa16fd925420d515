/*
 * test_safety.c — misuse the API promises to survive: objects of another
 * heap, a heap handed from thread to thread, NULL arguments, and the
 * errno-style last error.  The misuses that a debug heap turns into an
 * abort are in tests/death_debug.c; here the heaps are release heaps
 * (cfg.debug OFF), where the same misuse is a clear error code.
 */
#include "testlib.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A release heap (no debug checks), leak policy FAIL. */
static ouro_heap *release_heap(void)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_OFF;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    return ouro_heap_new(&cfg);
}

static const char *const pt_fields[] = {"x", "y"};
static ouro_record_type Point = OURO_RECORD_TYPE("Point", pt_fields, 2);

static ouro_object *lru_echo(ouro_heap *h, ouro_object *key, void *ctx)
{
    (void)h, (void)ctx;
    ouro_incref(key);
    return key;
}

static ouro_object *lru_foreign(ouro_heap *h, ouro_object *key, void *ctx)
{
    (void)h, (void)key;
    return ouro_str_from((ouro_heap *)ctx, "from another heap");
}

static void fin_fn(ouro_heap *h, void *ctx, ouro_object *arg) { (void)h, (void)ctx, (void)arg; }

/* Every store of the library refuses an object of another heap with
 * OURO_EINVAL in a release heap, and leaves the container as it was: after
 * heap B is freed, heap A's objects still print and check. */
TEST(foreign_object_refused_by_every_store)
{
    ouro_heap *a = release_heap(), *b = release_heap();
    ouro_object *sb = ouro_str_from(b, "from heap B");
    ouro_object *rb = ouro_record_new(b, &Point); /* weakly referenceable */
    ouro_object *lb = ouro_list_new(b);
    ouro_object *sa = ouro_str_from(a, "a");
    CHECK(sb && rb && lb && sa);

    ouro_object *l = ouro_list_new(a);
    CHECK_EQ(ouro_list_append(l, sb), OURO_EINVAL);
    CHECK_EQ(ouro_list_insert(l, 0, sb), OURO_EINVAL);
    CHECK_EQ(ouro_list_append(l, sa), 0);
    CHECK_EQ(ouro_list_set(l, 0, sb), OURO_EINVAL);
    CHECK_EQ(ouro_list_extend(l, lb), OURO_EINVAL);
    CHECK_EQ(ouro_list_len(l), 1);
    CHECK(ouro_list_get(l, 0) == sa);

    ouro_object *items[2] = {sa, sb};
    ouro_heap_clear_error(a);
    CHECK(ouro_list_from(a, items, 2) == NULL);
    CHECK_EQ(ouro_heap_last_error(a), OURO_EINVAL);
    CHECK(ouro_tuple_from(a, items, 2) == NULL);
    CHECK(ouro_tuple_pack(a, 2, sa, sb) == NULL);
    ouro_object *t = ouro_tuple_new(a, 1);
    CHECK_EQ(ouro_tuple_set(t, 0, sb), OURO_EINVAL);
    CHECK_EQ(ouro_tuple_set(t, 0, sa), 0);

    ouro_object *d = ouro_dict_new(a);
    CHECK_EQ(ouro_dict_set(d, sa, sb), OURO_EINVAL);
    CHECK_EQ(ouro_dict_set(d, sb, sa), OURO_EINVAL);
    CHECK_EQ(ouro_dict_set_str(d, "k", sb), OURO_EINVAL);
    CHECK_EQ(ouro_dict_len(d), 0);
    ouro_object *s = ouro_set_new(a);
    CHECK_EQ(ouro_set_add(s, sb), OURO_EINVAL);
    CHECK_EQ(ouro_set_len(s), 0);

    ouro_object *r = ouro_record_new(a, &Point);
    CHECK_EQ(ouro_record_set(r, 0, sb), OURO_EINVAL);
    CHECK_EQ(ouro_record_setattr(r, "y", sb), OURO_EINVAL);
    ouro_object *vals[2] = {sb, NULL};
    CHECK(ouro_record_make(a, &Point, vals) == NULL);

    CHECK(ouro_iter(a, lb) == NULL);
    CHECK(ouro_map_new(a, NULL, NULL, lb) == NULL);
    CHECK(ouro_list_from_iter(a, lb) == NULL);
    ouro_object *db = ouro_dict_new(b);
    CHECK(ouro_dict_iter(a, db, OURO_DICT_KEYS) == NULL);
    CHECK(ouro_str_concat(a, sb, ouro_str_from(a, "")) == NULL);

    ouro_object *lru = ouro_lru_new(a, 4, lru_echo, NULL);
    CHECK(ouro_lru_call(lru, sb) == NULL);
    ouro_object *lru2 = ouro_lru_new(a, 4, lru_foreign, b);
    ouro_heap_clear_error(a);
    CHECK(ouro_lru_call(lru2, sa) == NULL);
    CHECK_EQ(ouro_heap_last_error(a), OURO_EINVAL);

    CHECK(ouro_weakref_new(a, rb, NULL, NULL) == NULL);
    CHECK(ouro_finalize_new(a, rb, fin_fn, NULL, NULL) == NULL);
    ouro_object *wv = ouro_wvdict_new(a), *wk = ouro_wkdict_new(a), *ws = ouro_wset_new(a);
    CHECK_EQ(ouro_wvdict_set(wv, "k", 1, rb), OURO_EINVAL);
    CHECK_EQ(ouro_wkdict_set(wk, rb, sa), OURO_EINVAL);
    CHECK_EQ(ouro_wset_add(ws, rb), OURO_EINVAL);
    ouro_incref(sb);
    CHECK(ouro_scope_add(a, sb) == NULL); /* refused and released, like OOM */

    /* Heap B goes away; everything in A is intact. */
    ouro_decref(sb);
    ouro_decref(rb);
    ouro_decref(lb);
    ouro_decref(db);
    CHECK_EQ(ouro_heap_free(b), 0);
    char buf[64];
    ouro_repr(l, buf, sizeof buf);
    CHECK_STR(buf, "['a']");
    CHECK_EQ(ouro_heap_check(a), 0);
    ouro_object *all[] = {l, t, d, s, r, lru, lru2, wv, wk, ws, sa};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        ouro_decref(all[i]);
    CHECK_EQ(ouro_heap_free(a), 0);
}

/* A user type stores with ouro_setref, which the library cannot see:
 * ouro_heap_check finds the cross-heap reference, in a tracked object and
 * in an untracked one (a non-GC type with a traverse). */
typedef struct node {
    OURO_HEAD;
    ouro_object *next;
} node;

static int node_traverse(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    node *n = (node *)o;
    return n->next ? visit(n->next, arg) : 0;
}

static void node_clear(ouro_heap *h, ouro_object *o)
{
    (void)h;
    ouro_clear(&((node *)o)->next);
}

static ouro_type gc_node = {.name = "GcNode", .basic_size = sizeof(node),
                            .flags = OURO_TYPE_GC, .traverse = node_traverse,
                            .clear = node_clear};
static ouro_type plain_node = {.name = "PlainNode", .basic_size = sizeof(node),
                               .traverse = node_traverse, .clear = node_clear};

typedef struct sink_buf {
    char text[1024];
} sink_buf;

static void capture(void *ctx, const char *text)
{
    sink_buf *sb = ctx;
    strncat(sb->text, text, sizeof sb->text - strlen(sb->text) - 1);
}

TEST(heap_check_finds_cross_heap_reference)
{
    ouro_type *types[] = {&gc_node, &plain_node};
    for (int k = 0; k < 2; k++) {
        sink_buf out = {{0}};
        ouro_config cfg;
        ouro_config_init(&cfg);
        cfg.debug = OURO_DEBUG_OFF;
        cfg.sink = capture;
        cfg.sink_ctx = &out;
        ouro_heap *a = ouro_heap_new(&cfg), *b = release_heap();
        ouro_object *n = ouro_new(a, types[k]);
        ouro_object *x = ouro_list_new(b);
        CHECK_EQ(ouro_heap_check(a), 0);
        ouro_setref(&((node *)n)->next, x);
        CHECK_EQ(ouro_heap_check(a), OURO_EINVAL);
        CHECK(strstr(out.text, "another heap") != NULL);
        CHECK(strstr(out.text, types[k]->name) != NULL);
        /* A reference within the heap is fine. */
        ouro_object *y = ouro_list_new(a);
        ouro_setref(&((node *)n)->next, y);
        CHECK_EQ(ouro_heap_check(a), 0);
        ouro_decref(y);
        ouro_decref(x);
        ouro_decref(n);
        CHECK_EQ(ouro_heap_free(b), 0);
        CHECK_EQ(ouro_heap_free(a), 0);
    }
}

/* ------------------------------------------------------------ threads */

typedef struct handoff {
    ouro_heap *h;
    ouro_object *list;
    int claim; /* 1: the thread calls ouro_heap_set_owner itself */
    int ok;
} handoff;

static void *worker(void *arg)
{
    handoff *w = arg;
    if (w->claim)
        ouro_heap_set_owner(w->h);
    ouro_object *v = ouro_int_new(w->h, 1000);
    w->ok = v && ouro_list_append(w->list, v) == 0 && ouro_gc_collect(w->h, 0) >= 0;
    ouro_decref(v);
    /* hand it back: the main thread takes it at its next call */
    ouro_heap_disown(w->h);
    return NULL;
}

/* A debug heap passed between threads, both ways of handing it over: the
 * receiver claims it, or the giver disowns it and the next user takes it.
 * (Using it without either is the death test wrong-thread.) */
TEST(heap_handed_between_threads)
{
    ouro_heap *h = tl_heap();
    ouro_object *l = ouro_list_new(h);
    for (int claim = 0; claim < 2; claim++) {
        handoff w = {h, l, claim, 0};
        if (!claim)
            ouro_heap_disown(h);
        pthread_t t;
        CHECK_EQ(pthread_create(&t, NULL, worker, &w), 0);
        pthread_join(t, NULL); /* the synchronization of the hand-over */
        CHECK(w.ok);
        /* the worker disowned it: this thread takes it back by using it */
        CHECK_EQ(ouro_list_len(l), (size_t)claim + 1);
        ouro_object *v = ouro_int_new(h, 2000);
        ouro_decref(v);
    }
    CHECK_EQ(ouro_heap_set_owner(h), 0);
    ouro_decref(l);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ NULL */

static void cb_fn(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)h, (void)phase, (void)info, (void)arg;
}
static int visit_none(ouro_object *o, void *arg) { (void)o, (void)arg; return 0; }

/* Each entry calls one public function with a NULL heap (or a NULL object
 * where one is plausible) and says whether the result is that function's
 * error convention; the test is that none crashes. */
typedef struct null_case {
    const char *name;
    int (*fn)(void);
} null_case;

#define NC(name, expr) static int nc_##name(void) { return (expr); }
static int out3[3];
static ouro_gc_gen_stats st3[3];
NC(new, ouro_new(NULL, &gc_node) == NULL)
NC(new_sized, ouro_new_sized(NULL, &gc_node, 64) == NULL)
NC(heap_free, ouro_heap_free(NULL) == 0)
NC(heap_userdata, (ouro_heap_set_userdata(NULL, out3), ouro_heap_userdata(NULL) == NULL))
NC(heap_last_error, (ouro_heap_clear_error(NULL), ouro_heap_last_error(NULL) == OURO_EINVAL))
NC(heap_owner, ouro_heap_set_owner(NULL) == OURO_EINVAL && ouro_heap_disown(NULL) == OURO_EINVAL)
NC(heap_check, ouro_heap_check(NULL) == OURO_EINVAL)
NC(heap_walk, ouro_heap_walk(NULL, visit_none, NULL) == OURO_EINVAL)
NC(heap_get_stats, ({ ouro_heap_stats s; s.struct_size = sizeof s;
                      ouro_heap_get_stats(NULL, &s) == OURO_EINVAL; }))
NC(heap_stats_text, ({ char b[8] = "x"; ouro_heap_stats_text(NULL, b, sizeof b) == 0 && !b[0]; }))
NC(raw, ouro_raw_alloc(NULL, 16) == NULL && ouro_raw_realloc(NULL, NULL, 16) == NULL &&
            (ouro_raw_free(NULL, out3), 1))
NC(scope, ({ ouro_scope s = ouro_scope_begin(NULL); ouro_scope_end(&s);
             ouro_scope_end(NULL); ouro_scope_add(NULL, NULL) == NULL; }))
NC(gc_enable, (ouro_gc_enable(NULL), ouro_gc_disable(NULL), ouro_gc_is_enabled(NULL) == 0))
NC(gc_collect, ouro_gc_collect(NULL, 2) == OURO_EINVAL)
NC(gc_threshold, (ouro_gc_get_threshold(NULL, out3), out3[0] == 0) &&
                     ouro_gc_set_threshold(NULL, 1, 1, 1) == OURO_EINVAL)
NC(gc_count, (ouro_gc_get_count(NULL, out3), out3[0] == 0))
NC(gc_young_growth, ouro_gc_set_young_growth(NULL, 2) == OURO_EINVAL &&
                        ouro_gc_get_young_growth(NULL) == 0)
NC(decay, ouro_heap_set_decay(NULL, 0, 0) == OURO_EINVAL && ouro_heap_trim(NULL) == 0)
NC(gc_schedule, ouro_gc_set_schedule(NULL, OURO_GC_SCHEDULE_CPYTHON311) == OURO_EINVAL &&
                    ouro_gc_get_schedule(NULL) == OURO_EINVAL &&
                    ouro_gc_get_young_trigger(NULL) == OURO_EINVAL)
NC(gc_stats, (ouro_gc_get_stats(NULL, st3), st3[0].collections == 0))
NC(gc_get_objects, ouro_gc_get_objects(NULL, -1, visit_none, NULL) == OURO_EINVAL)
NC(gc_get_referrers, ouro_gc_get_referrers(NULL, NULL, visit_none, NULL) == OURO_EINVAL)
NC(gc_get_referents, ouro_gc_get_referents(NULL, visit_none, NULL) == OURO_EINVAL)
NC(gc_objects, ouro_gc_is_tracked(NULL) == 0 && ouro_gc_is_finalized(NULL) == 0 &&
                   ouro_gc_track(NULL) == OURO_EINVAL && ouro_gc_untrack(NULL) == OURO_EINVAL)
NC(gc_freeze, (ouro_gc_freeze(NULL), ouro_gc_unfreeze(NULL), ouro_gc_get_freeze_count(NULL) == 0))
NC(gc_debug, (ouro_gc_set_debug(NULL, 1), ouro_gc_get_debug(NULL) == 0))
NC(gc_callback, ouro_gc_callback_add(NULL, cb_fn, NULL) == OURO_EINVAL &&
                    ouro_gc_callback_remove(NULL, cb_fn, NULL) == OURO_EINVAL)
NC(gc_garbage, ouro_gc_garbage_count(NULL) == 0 && ouro_gc_garbage_get(NULL, 0) == NULL &&
                   (ouro_gc_garbage_clear(NULL), 1))
NC(weakref, ouro_weakref_new(NULL, NULL, NULL, NULL) == NULL &&
                ouro_weakref_basic(NULL, NULL) == NULL && ouro_weakref_get(NULL) == NULL &&
                ouro_weakref_peek(NULL) == NULL && ouro_weakref_count(NULL) == 0 &&
                ouro_is_weakref(NULL) == 0 && ouro_weakref_arg(NULL) == NULL)
NC(finalize, ouro_finalize_new(NULL, NULL, fin_fn, NULL, NULL) == NULL &&
                 ouro_finalize_call(NULL) == OURO_EINVAL && ouro_finalize_alive(NULL) == 0 &&
                 ouro_finalize_detach(NULL, NULL) == OURO_EINVAL &&
                 ouro_finalize_peek(NULL, NULL) == OURO_EINVAL &&
                 ouro_finalize_get_atexit(NULL) == 0 && (ouro_finalize_set_atexit(NULL, 1), 1))
NC(weak_containers, ouro_wvdict_new(NULL) == NULL && ouro_wkdict_new(NULL) == NULL &&
                        ouro_wset_new(NULL) == NULL &&
                        ouro_wvdict_set(NULL, "k", 1, NULL) == OURO_EINVAL &&
                        ouro_wkdict_set(NULL, NULL, NULL) == OURO_EINVAL &&
                        ouro_wset_add(NULL, NULL) == OURO_EINVAL && ouro_wset_len(NULL) == 0)
NC(numbers, ouro_int_new(NULL, 1000) == NULL && ouro_float_new(NULL, 1.5) == NULL)
NC(strings, ouro_str_new(NULL, "x", 1) == NULL && ouro_str_from(NULL, "x") == NULL &&
                ouro_str_concat(NULL, NULL, NULL) == NULL &&
                ouro_str_intern(NULL, "x", 1) == NULL && ouro_str_interned_count(NULL) == 0 &&
                ouro_bytes_new(NULL, "x", 1) == NULL && ouro_intern(NULL) == OURO_EINVAL)
NC(tuples, ouro_tuple_new(NULL, 2) == NULL && ouro_tuple_from(NULL, NULL, 0) == NULL &&
               ouro_tuple_pack(NULL, 0) == NULL)
NC(containers, ouro_list_new(NULL) == NULL && ouro_list_from(NULL, NULL, 0) == NULL &&
                   ouro_dict_new(NULL) == NULL && ouro_set_new(NULL) == NULL &&
                   ouro_array_new(NULL, 'i') == NULL && ouro_list_append(NULL, NULL) < 0 &&
                   ouro_dict_set(NULL, NULL, NULL) < 0 && ouro_set_add(NULL, NULL) < 0)
NC(records, ouro_record_new(NULL, &Point) == NULL && ouro_record_make(NULL, &Point, NULL) == NULL &&
                (ouro_record_clear(NULL, NULL), 1) && ouro_record_set(NULL, 0, NULL) < 0)
NC(lru, ouro_lru_new(NULL, 4, lru_echo, NULL) == NULL && ouro_lru_call(NULL, NULL) == NULL)
NC(iters, ouro_iter(NULL, NULL) == NULL && ouro_dict_iter(NULL, NULL, 0) == NULL &&
              ouro_range_new(NULL, 0, 1, 1) == NULL && ouro_map_new(NULL, NULL, NULL, NULL) == NULL &&
              ouro_list_from_iter(NULL, NULL) == NULL && ouro_iter_next(NULL) == NULL)
NC(freelists, (ouro_types_freelist_stats(NULL, NULL, 0), 1) && ouro_types_clear_freelists(NULL) == 0)
NC(deep_sizeof, ouro_deep_sizeof(NULL, NULL, -1) == 0)
NC(objects, ouro_len(NULL) < 0 && ouro_is_builtin(NULL) == 0 && ouro_equal(NULL, NULL) >= 0 &&
                ({ int64_t x; ouro_hash(NULL, &x) < 0; }))
NC(trace, ouro_trace_start(NULL, 1) == OURO_EINVAL &&
              ouro_trace_start_sampled(NULL, 1, 4096) == OURO_EINVAL &&
              ouro_trace_stop(NULL) < 0 && ouro_trace_is_tracing(NULL) == 0 &&
              ouro_trace_get_traceback_limit(NULL) <= 1 && ouro_trace_get_sample_bytes(NULL) == 0 &&
              ({ size_t c = 1, p = 1; ouro_trace_get_traced_memory(NULL, &c, &p); c == 0 && p == 0; }) &&
              (ouro_trace_reset_peak(NULL), 1) && ouro_trace_get_tracer_memory(NULL) == 0 &&
              ouro_trace_get_count(NULL) == 0 && ouro_trace_get_lost(NULL) == 0 &&
              ouro_trace_get_traceback(NULL, NULL, NULL, 0) <= 0)
NC(snapshots, ouro_snapshot_take(NULL, OURO_SNAP_ALL, NULL) == NULL &&
                  ouro_trace_take_snapshot(NULL) == NULL)
NC(census, ({ size_t n = 7; ouro_census(NULL, &n) == NULL; }) &&
               ouro_census_count(NULL, "list") == 0 &&
               ouro_objects_of_type(NULL, "list", visit_none, NULL) == OURO_EINVAL)
NC(growth, ({ ouro_growth *g = ouro_growth_new(); size_t n = 7;
              ouro_type_diff *d = ouro_growth_step(g, NULL, &n);
              ouro_growth_free(g); d == NULL; }))
NC(tracker, ({ ouro_tracker *t = ouro_tracker_new();
               int rc = ouro_tracker_sample(t, NULL, "x"); ouro_tracker_free(t); rc == OURO_EINVAL; }))
NC(graphs, ouro_get_leaking_objects(NULL, visit_none, NULL) == OURO_EINVAL &&
               ouro_get_roots(NULL, visit_none, NULL) == OURO_EINVAL &&
               ({ size_t n; ouro_find_backref_chain(NULL, NULL, &n) == NULL; }) &&
               ouro_graph_refs(NULL, NULL, 0, 1, 0) == NULL &&
               ouro_graph_backrefs(NULL, NULL, 0, 1, 0) == NULL)
NC(leak_report, ouro_leak_report_take(NULL, 1) == NULL)
NC(sampler, ouro_sampler_new(NULL, 0) == NULL)
NC(accessors, ouro_refcount(NULL) == 0 && ouro_sizeof(NULL) == 0 && ouro_type_of(NULL) == NULL &&
                  strcmp(ouro_type_name(NULL), "NoneType") == 0 && ouro_heap_of(NULL) == NULL &&
                  (ouro_make_immortal(NULL), 1) && ouro_is_immortal(NULL) == 0)

#define ENTRY(name) {#name, nc_##name}
static const null_case null_cases[] = {
    ENTRY(new), ENTRY(new_sized), ENTRY(heap_free), ENTRY(heap_userdata),
    ENTRY(heap_last_error), ENTRY(heap_owner), ENTRY(heap_check), ENTRY(heap_walk),
    ENTRY(heap_get_stats), ENTRY(heap_stats_text), ENTRY(raw), ENTRY(scope),
    ENTRY(gc_enable), ENTRY(gc_collect), ENTRY(gc_threshold), ENTRY(gc_count),
    ENTRY(gc_young_growth), ENTRY(gc_schedule), ENTRY(decay), ENTRY(gc_stats), ENTRY(gc_get_objects), ENTRY(gc_get_referrers),
    ENTRY(gc_get_referents), ENTRY(gc_objects), ENTRY(gc_freeze), ENTRY(gc_debug),
    ENTRY(gc_callback), ENTRY(gc_garbage), ENTRY(weakref), ENTRY(finalize),
    ENTRY(weak_containers), ENTRY(numbers), ENTRY(strings), ENTRY(tuples),
    ENTRY(containers), ENTRY(records), ENTRY(lru), ENTRY(iters), ENTRY(freelists),
    ENTRY(deep_sizeof), ENTRY(objects), ENTRY(trace), ENTRY(snapshots), ENTRY(census),
    ENTRY(growth), ENTRY(tracker), ENTRY(graphs), ENTRY(leak_report), ENTRY(sampler),
    ENTRY(accessors),
};

/* Each case runs in a child process, so that one crash does not hide the
 * others: the failure lists every function that broke its promise. */
TEST(null_arguments_are_errors)
{
    int bad = 0;
    for (size_t i = 0; i < sizeof null_cases / sizeof null_cases[0]; i++) {
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0)
            _exit(null_cases[i].fn() ? 0 : 1);
        int status;
        waitpid(pid, &status, 0);
        if (WIFSIGNALED(status)) {
            fprintf(stderr, "  NULL case %s: crashed (signal %d)\n", null_cases[i].name,
                    WTERMSIG(status));
            bad++;
        } else if (WEXITSTATUS(status) != 0) {
            fprintf(stderr, "  NULL case %s: not the error convention\n", null_cases[i].name);
            bad++;
        }
    }
    CHECK_EQ(bad, 0);
}

/* ------------------------------------------------------------ last error */

TEST(last_error_is_errno_style)
{
    ouro_heap *h = tl_heap();
    CHECK_EQ(ouro_heap_last_error(h), 0);
    ouro_object *l = ouro_list_new(h);
    CHECK(ouro_list_get(l, 5) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ERANGE);
    /* a successful call leaves it alone ... */
    ouro_object *r = ouro_record_new(h, &Point);
    CHECK(r != NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ERANGE);
    /* ... so clearing first tells a failure from an earlier error: a
     * field never set reads as None, with no error */
    ouro_heap_clear_error(h);
    CHECK_EQ(ouro_heap_last_error(h), 0);
    CHECK(ouro_record_get(r, 0) == ouro_none(h));
    CHECK_EQ(ouro_heap_last_error(h), 0);
    CHECK(ouro_record_get(r, 9) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ERANGE);
    ouro_decref(r);
    ouro_decref(l);
    tl_heap_done(h);
}
