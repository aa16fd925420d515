/* Built-in types: the LRU cache, iterators, range, map, deep size, free
 * lists, untracking, each container inside cycles, and out of memory. */
#include "testlib.h"
#include "ttypes.h"

#include <string.h>

static ouro_object *I(ouro_heap *h, int64_t v) { return ouro_int_new(h, v); }

static ouro_heap *quiet_heap(void)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    return h;
}

/* ------------------------------------------------------------ lru_cache */

static int fib_calls;
static ouro_object *fib(ouro_heap *h, ouro_object *key, void *ctx)
{
    ouro_object *cache = ctx;
    int64_t n = ouro_int_value(key);
    fib_calls++;
    if (n < 2)
        return I(h, n);
    ouro_object *k1 = I(h, n - 1), *k2 = I(h, n - 2);
    ouro_object *a = ouro_lru_call(cache, k1), *b = ouro_lru_call(cache, k2);
    ouro_object *r = I(h, ouro_int_value(a) + ouro_int_value(b));
    ouro_decref(k1);
    ouro_decref(k2);
    ouro_decref(a);
    ouro_decref(b);
    return r;
}

static ouro_object *g_cache;
static ouro_object *fib2(ouro_heap *h, ouro_object *key, void *ctx)
{
    (void)ctx;
    return fib(h, key, g_cache);
}

TEST(lru_fib_hits_and_misses)
{
    ouro_heap *h = quiet_heap();
    fib_calls = 0;
    g_cache = ouro_lru_new(h, -1, fib2, NULL);
    ouro_object *k = I(h, 30);
    ouro_object *r = ouro_lru_call(g_cache, k);
    CHECK_EQ(ouro_int_value(r), 832040);
    CHECK_EQ(fib_calls, 31); /* each n computed once */
    ouro_lru_info info;
    CHECK_EQ(ouro_lru_cache_info(g_cache, &info), 0);
    /* CPython: CacheInfo(hits=28, misses=31, maxsize=None, currsize=31) */
    CHECK_EQ(info.hits, 28);
    CHECK_EQ(info.misses, 31);
    CHECK_EQ(info.maxsize, -1);
    CHECK_EQ(info.currsize, 31);
    ouro_decref(r);
    r = ouro_lru_call(g_cache, k);
    ouro_lru_cache_info(g_cache, &info);
    CHECK_EQ(info.hits, 29);
    CHECK_EQ(ouro_lru_cache_clear(g_cache), 0);
    ouro_lru_cache_info(g_cache, &info);
    CHECK(info.hits == 0 && info.misses == 0 && info.currsize == 0);
    ouro_decref(r);
    ouro_decref(k);
    ouro_decref(g_cache);
    tl_heap_done(h);
}

static ouro_object *square(ouro_heap *h, ouro_object *key, void *ctx)
{
    (*(int *)ctx)++;
    int64_t n = ouro_int_value(key);
    return I(h, n * n);
}

TEST(lru_bounded_evicts_least_recently_used)
{
    ouro_heap *h = quiet_heap();
    int calls = 0;
    ouro_object *c = ouro_lru_new(h, 3, square, &calls);
    int64_t seq[] = {1, 2, 3, 1, 4, 2, 1, 3};
    /* Python: 1 2 3 miss; 1 hit (order 2 3 1); 4 miss evicts 2 (3 1 4);
     * 2 miss evicts 3 (1 4 2); 1 hit (4 2 1); 3 miss evicts 4. */
    for (int i = 0; i < 8; i++) {
        ouro_object *k = I(h, seq[i]);
        ouro_object *r = ouro_lru_call(c, k);
        CHECK_EQ(ouro_int_value(r), seq[i] * seq[i]);
        ouro_decref(r);
    }
    ouro_lru_info info;
    ouro_lru_cache_info(c, &info);
    CHECK_EQ(info.hits, 2);
    CHECK_EQ(info.misses, 6);
    CHECK_EQ(info.currsize, 3);
    CHECK_EQ(info.maxsize, 3);
    CHECK_EQ(calls, 6);
    /* many distinct keys: memory stays bounded */
    for (int i = 0; i < 10000; i++) {
        ouro_object *k = I(h, 1000 + i);
        ouro_decref(ouro_lru_call(c, k));
        ouro_decref(k);
    }
    ouro_lru_cache_info(c, &info);
    CHECK_EQ(info.currsize, 3);
    /* unhashable key */
    ouro_object *l = ouro_list_new(h);
    CHECK(ouro_lru_call(c, l) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ETYPE);
    CHECK(ouro_lru_call(l, l) == NULL);
    CHECK_EQ(ouro_lru_cache_info(l, &info), OURO_ETYPE);
    /* maxsize 0: no caching */
    ouro_object *z = ouro_lru_new(h, 0, square, &calls);
    ouro_object *k = I(h, 4);
    ouro_decref(ouro_lru_call(z, k));
    ouro_decref(ouro_lru_call(z, k));
    ouro_lru_cache_info(z, &info);
    CHECK(info.hits == 0 && info.misses == 2 && info.currsize == 0);
    CHECK(ouro_lru_new(h, 3, NULL, NULL) == NULL);
    ouro_decref(z);
    ouro_decref(l);
    ouro_decref(c);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ iterators */

static int drain(ouro_object *it, char *out, size_t size)
{
    int n = 0;
    out[0] = 0;
    ouro_object *v;
    while ((v = ouro_iter_next(it)) != NULL) {
        char one[128];
        ouro_repr(v, one, sizeof one);
        if (n++)
            strncat(out, " ", size - strlen(out) - 1);
        strncat(out, one, size - strlen(out) - 1);
        ouro_decref(v);
    }
    return n;
}

TEST(iterators_over_every_container)
{
    ouro_heap *h = quiet_heap();
    char got[512];
    ouro_object *l = ouro_list_from(h, (ouro_object *[]){I(h, 1), I(h, 2)}, 2);
    ouro_object *t = ouro_tuple_pack(h, 2, I(h, 3), I(h, 4));
    ouro_object *s = ouro_str_from(h, "h\xc3\xa9!");
    ouro_object *b = ouro_bytes_new(h, "AB", 2);
    ouro_object *d = ouro_dict_new(h);
    ouro_dict_set_str(d, "k", I(h, 5));
    ouro_dict_set_str(d, "m", I(h, 6));
    ouro_object *st = ouro_set_new(h);
    ouro_set_add(st, I(h, 7));
    ouro_object *a = ouro_array_new(h, 'h');
    ouro_array_append_int(a, -8);
    ouro_object *r = ouro_range_new(h, 10, 0, -3);
    struct { ouro_object *o; const char *want; const char *type; } c[] = {
        {l, "1 2", "list_iterator"}, {t, "3 4", "tuple_iterator"},
        {s, "'h' '\xc3\xa9' '!'", "str_iterator"}, {b, "65 66", "bytes_iterator"},
        {d, "'k' 'm'", "dict_keyiterator"}, {st, "7", "set_iterator"},
        {a, "-8", "arrayiterator"}, {r, "10 7 4 1", "range_iterator"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        ouro_object *it = ouro_iter(h, c[i].o);
        CHECK(it != NULL);
        CHECK(ouro_iter_check(it));
        CHECK_STR(ouro_type_name(it), c[i].type);
        drain(it, got, sizeof got);
        CHECK_STR(got, c[i].want);
        CHECK(ouro_iter_next(it) == NULL); /* stays exhausted */
        CHECK_EQ(ouro_heap_last_error(h), 0);
        ouro_object *same = ouro_iter(h, it);
        CHECK(same == it); /* iter(iterator) is the iterator */
        ouro_decref(same);
        ouro_decref(it);
    }
    ouro_object *vi = ouro_dict_iter(h, d, OURO_DICT_VALUES);
    drain(vi, got, sizeof got);
    CHECK_STR(got, "5 6");
    ouro_object *ii = ouro_dict_iter(h, d, OURO_DICT_ITEMS);
    drain(ii, got, sizeof got);
    CHECK_STR(got, "('k', 5) ('m', 6)");
    CHECK(ouro_dict_iter(h, d, 7) == NULL);
    CHECK(ouro_dict_iter(h, l, 0) == NULL);
    CHECK(ouro_iter(h, I(h, 5)) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ETYPE);
    ouro_object *objs[] = {l, t, s, b, d, st, a, r, vi, ii};
    for (size_t i = 0; i < sizeof objs / sizeof objs[0]; i++)
        ouro_decref(objs[i]);
    tl_heap_done(h);
}

TEST(exhausted_iterator_releases_its_container)
{
    ouro_heap *h = quiet_heap();
    ouro_object *l = ouro_list_from(h, (ouro_object *[]){I(h, 1)}, 1);
    ouro_object *it = ouro_iter(h, l);
    CHECK_EQ(ouro_refcount(l), 2);
    ouro_decref(ouro_iter_next(it));
    CHECK(ouro_iter_next(it) == NULL);
    CHECK_EQ(ouro_refcount(l), 1);
    CHECK_EQ(ouro_deep_sizeof(h, it, -1), ouro_sizeof(it));
    ouro_decref(it);
    ouro_decref(l);
    tl_heap_done(h);
}

TEST(dict_and_set_iterators_detect_size_changes)
{
    ouro_heap *h = quiet_heap();
    ouro_object *d = ouro_dict_new(h);
    ouro_dict_set(d, I(h, 1), I(h, 1));
    ouro_dict_set(d, I(h, 2), I(h, 2));
    ouro_object *it = ouro_iter(h, d);
    ouro_object *v = ouro_iter_next(it);
    CHECK(v == I(h, 1));
    ouro_dict_set(d, I(h, 3), I(h, 3));
    CHECK(ouro_iter_next(it) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    ouro_dict_del(d, I(h, 3));
    CHECK(ouro_iter_next(it) == NULL); /* sticky, as in CPython */
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    ouro_decref(it);
    ouro_object *s = ouro_set_new(h);
    ouro_set_add(s, I(h, 1));
    it = ouro_iter(h, s);
    ouro_set_add(s, I(h, 2));
    CHECK(ouro_iter_next(it) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    ouro_decref(it);
    /* a value replaced in place is fine */
    it = ouro_iter(h, d);
    ouro_dict_set(d, I(h, 1), I(h, 9));
    char got[64];
    CHECK_EQ(drain(it, got, sizeof got), 2);
    ouro_decref(it);
    ouro_decref(s);
    ouro_decref(d);
    tl_heap_done(h);
}

TEST(range_is_lazy_and_exact)
{
    ouro_heap *h = quiet_heap();
    ouro_object *r = ouro_range_new(h, 0, 1000000000, 1);
    CHECK_EQ(ouro_sizeof(r), 48);
    CHECK_EQ(ouro_range_len(r), 1000000000);
    CHECK_EQ(ouro_len(r), 1000000000);
    CHECK_STR(tt_repr(r), "range(0, 1000000000)");
    ouro_object *r2 = ouro_range_new(h, 0, 10, 3);
    CHECK_EQ(ouro_range_len(r2), 4);
    CHECK_STR(tt_repr(r2), "range(0, 10, 3)");
    ouro_object *r3 = ouro_range_new(h, 5, 5, 1);
    CHECK_EQ(ouro_range_len(r3), 0);
    ouro_object *r4 = ouro_range_new(h, INT64_MIN, INT64_MAX, INT64_MAX);
    CHECK_EQ(ouro_range_len(r4), 3);
    char got[256];
    ouro_object *it = ouro_iter(h, r4);
    CHECK_EQ(drain(it, got, sizeof got), 3);
    CHECK_STR(got, "-9223372036854775808 -1 9223372036854775806");
    ouro_decref(it);
    CHECK(ouro_range_new(h, 0, 1, 0) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    ouro_object *empty = ouro_range_new(h, 3, 3, 2);
    CHECK_EQ(ouro_equal(r3, empty), 1);
    ouro_decref(empty);
    ouro_decref(r);
    ouro_decref(r2);
    ouro_decref(r3);
    ouro_decref(r4);
    tl_heap_done(h);
}

static ouro_object *sq(ouro_heap *h, ouro_object *x, void *ctx)
{
    (void)ctx;
    int64_t v = ouro_int_value(x);
    return I(h, v * v);
}

static ouro_object *fail_at_3(ouro_heap *h, ouro_object *x, void *ctx)
{
    (void)ctx;
    if (ouro_int_value(x) == 3)
        return NULL;
    ouro_incref(x);
    return x;
}

TEST(map_is_a_lazy_generator)
{
    ouro_heap *h = quiet_heap();
    ouro_object *r = ouro_range_new(h, 0, 5, 1);
    ouro_object *g = ouro_map_new(h, sq, NULL, r);
    CHECK_STR(ouro_type_name(g), "generator");
    CHECK_EQ(ouro_sizeof(g), 40);
    ouro_object *l = ouro_list_from_iter(h, g);
    CHECK_STR(tt_repr(l), "[0, 1, 4, 9, 16]");
    CHECK(ouro_iter_next(g) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), 0);
    ouro_object *g2 = ouro_map_new(h, fail_at_3, NULL, r);
    ouro_object *l2 = ouro_list_new(h);
    CHECK_EQ(ouro_list_extend(l2, g2), OURO_EINVAL);
    CHECK_STR(tt_repr(l2), "[0, 1, 2]");
    ouro_object *g3 = ouro_map_new(h, NULL, NULL, l);
    /* the map, its list iterator, the list, five (cached) ints */
    CHECK_EQ(ouro_deep_sizeof(h, g3, -1), 40 + 40 + ouro_sizeof(l) + 5 * 24);
    ouro_decref(g3);
    ouro_decref(l2);
    ouro_decref(g2);
    ouro_decref(l);
    ouro_decref(g);
    ouro_decref(r);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ deep size */

TEST(deep_sizeof_counts_shared_objects_once)
{
    ouro_heap *h = quiet_heap();
    ouro_object *big = I(h, 100000);
    ouro_object *l = ouro_list_from(h, (ouro_object *[]){big, big, I(h, 1)}, 3);
    CHECK_EQ(ouro_deep_sizeof(h, l, -1), ouro_sizeof(l) + 24 + 24);
    CHECK_EQ(ouro_deep_sizeof(h, l, 0), ouro_sizeof(l));
    ouro_object *d = ouro_dict_new(h);
    ouro_dict_set_str(d, "list", l);
    ouro_dict_set_str(d, "again", l);
    size_t keys = (41 + 4 + 1) + (41 + 5 + 1); /* the strs "list" and "again" */
    CHECK_EQ(ouro_deep_sizeof(h, d, -1), ouro_sizeof(d) + keys + ouro_sizeof(l) + 48);
    CHECK_EQ(ouro_deep_sizeof(h, d, 1), ouro_sizeof(d) + keys + ouro_sizeof(l));
    ouro_list_append(l, l); /* a cycle: still finite */
    CHECK_EQ(ouro_deep_sizeof(h, l, -1), ouro_sizeof(l) + 48);
    CHECK_EQ(ouro_deep_sizeof(h, NULL, -1), 0);
    ouro_list_clear(l);
    ouro_decref(d);
    ouro_decref(l);
    ouro_decref(big);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ free lists */

static ouro_freelist_stats stat_of(ouro_heap *h, const char *name)
{
    ouro_freelist_stats st[32];
    size_t n = ouro_types_freelist_stats(h, st, 32);
    for (size_t i = 0; i < n; i++)
        if (strcmp(st[i].name, name) == 0)
            return st[i];
    tl_fail(__FILE__, __LINE__, "no free list %s", name);
}

TEST(free_lists_reuse_blocks_and_clear_on_full_collection)
{
    ouro_heap *h = quiet_heap();
    ouro_freelist_stats st[32];
    CHECK_EQ(ouro_types_freelist_stats(h, st, 32), 23);
    CHECK_STR(st[0].name, "float");
    CHECK_EQ(st[0].max, 100);
    ouro_object *f = ouro_float_new(h, 1.0);
    ouro_object *t = ouro_tuple_pack(h, 2, f, f);
    ouro_object *l = ouro_list_new(h);
    ouro_object *d = ouro_dict_new(h);
    ouro_dict_set(d, f, f);
    uintptr_t fid = ouro_id(f), tid = ouro_id(t), lid = ouro_id(l), did = ouro_id(d);
    ouro_decref(t);
    ouro_decref(f);
    ouro_decref(l);
    ouro_decref(d);
    CHECK_EQ(stat_of(h, "float").count, 1);
    CHECK_EQ(stat_of(h, "tuple[2]").count, 1);
    CHECK_EQ(stat_of(h, "list").count, 1);
    CHECK_EQ(stat_of(h, "dict").count, 1);
    CHECK_EQ(stat_of(h, "dict keys").count, 1);
    CHECK_EQ(ouro_heap_check(h), 0); /* kept blocks are not objects */
    /* the next objects of those kinds reuse the very blocks */
    ouro_object *f2 = ouro_float_new(h, 2.0);
    ouro_object *t2 = ouro_tuple_pack(h, 2, f2, f2);
    ouro_object *l2 = ouro_list_new(h);
    ouro_object *d2 = ouro_dict_new(h);
    CHECK(ouro_id(f2) == fid && ouro_id(t2) == tid && ouro_id(l2) == lid && ouro_id(d2) == did);
    CHECK(ouro_float_value(f2) == 2.0 && ouro_list_len(l2) == 0 && ouro_dict_len(d2) == 0);
    CHECK(!ouro_gc_is_tracked(d2) && ouro_gc_is_tracked(l2) && ouro_gc_is_tracked(t2));
    CHECK_EQ(stat_of(h, "float").reused, 1);
    CHECK_EQ(stat_of(h, "float").count, 0);
    ouro_decref(t2);
    ouro_decref(f2);
    ouro_decref(l2);
    ouro_decref(d2);
    /* bounded: 100 floats at most */
    ouro_object *many[150];
    for (int i = 0; i < 150; i++)
        many[i] = ouro_float_new(h, i);
    for (int i = 0; i < 150; i++)
        ouro_decref(many[i]);
    CHECK_EQ(stat_of(h, "float").count, 100);
    CHECK(stat_of(h, "float").released >= 50);
    /* a full collection empties them all, as in CPython */
    ouro_gc_collect(h, 1);
    CHECK_EQ(stat_of(h, "float").count, 100);
    ouro_gc_collect(h, 2);
    CHECK_EQ(stat_of(h, "float").count, 0);
    CHECK_EQ(stat_of(h, "tuple[2]").count, 0);
    ouro_decref(ouro_float_new(h, 1.0));
    CHECK_EQ(ouro_types_clear_freelists(h), 1);
    tl_heap_done(h);
}

TEST(untracking_tuples_and_dicts_in_collections)
{
    ouro_heap *h = quiet_heap();
    ouro_object *s = ouro_str_from(h, "x");
    ouro_object *atomic = ouro_tuple_pack(h, 2, I(h, 1), s);
    ouro_object *holder = ouro_tuple_pack(h, 1, atomic); /* after atomic in gen 0 */
    ouro_object *outer = ouro_tuple_new(h, 1); /* before its item in gen 0 */
    ouro_object *inner = ouro_tuple_pack(h, 1, I(h, 2));
    ouro_tuple_set(outer, 0, inner);
    ouro_decref(inner);
    ouro_object *l = ouro_list_new(h);
    ouro_object *mixed = ouro_tuple_pack(h, 1, l);
    ouro_object *d = ouro_dict_new(h);
    ouro_dict_set(d, s, atomic); /* a tracked tuple: the dict is tracked */
    CHECK(ouro_gc_is_tracked(atomic) && ouro_gc_is_tracked(d));
    ouro_gc_collect(h, 0);
    {
        CHECK(!ouro_gc_is_tracked(atomic));
        CHECK(!ouro_gc_is_tracked(holder)); /* later in the list: same pass */
        CHECK(!ouro_gc_is_tracked(inner));
        CHECK(ouro_gc_is_tracked(outer)); /* earlier: waits, as in CPython */
        CHECK(ouro_gc_is_tracked(mixed));
        CHECK(ouro_gc_is_tracked(d)); /* dicts: full collections only */
        ouro_gc_collect(h, 1); /* outer is in generation 1 now */
        CHECK(!ouro_gc_is_tracked(outer));
        ouro_gc_collect(h, 2);
        CHECK(!ouro_gc_is_tracked(d));
        CHECK(ouro_gc_is_tracked(mixed));
        ouro_dict_set(d, I(h, 1), l); /* a container: tracked again */
        CHECK(ouro_gc_is_tracked(d));
    }
    ouro_decref(atomic);
    ouro_decref(holder);
    ouro_decref(outer);
    ouro_decref(mixed);
    ouro_decref(l);
    ouro_decref(d);
    ouro_decref(s);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ cycles */

static const char *const node_fields[] = {"value", "next"};
static ouro_record_type Node = OURO_RECORD_TYPE("Node", node_fields, 2);

static int count_objects(ouro_object *o, void *arg)
{
    if (!ouro_is_immortal(o))
        (*(int *)arg)++;
    return 0;
}

static int live(ouro_heap *h)
{
    int n = 0;
    ouro_heap_walk(h, count_objects, &n);
    return n;
}

static ouro_object *ident(ouro_heap *h, ouro_object *k, void *ctx)
{
    (void)h;
    (void)ctx;
    ouro_incref(k);
    return k;
}

TEST(every_container_in_a_cycle_is_collected)
{
    for (int kind = 0; kind < 9; kind++) {
        ouro_heap *h = quiet_heap();
        ouro_object *n = ouro_record_new(h, &Node); /* the cycle's other end */
        ouro_object *c = NULL;
        switch (kind) {
        case 0: c = ouro_list_new(h); ouro_list_append(c, n); break;
        case 1: c = ouro_tuple_pack(h, 2, I(h, 1), n); break;
        case 2: c = ouro_dict_new(h); ouro_dict_set(c, I(h, 1), n); break;
        case 3: c = ouro_dict_new(h); ouro_dict_set(c, n, I(h, 1)); break;
        case 4: c = ouro_set_new(h); ouro_set_add(c, n); break;
        case 5: c = ouro_record_new(h, &Node); ouro_record_set(c, 1, n); break;
        case 6: { ouro_object *l = ouro_list_from(h, &n, 1); c = ouro_iter(h, l); ouro_decref(l); break; }
        case 7: { ouro_object *l = ouro_list_from(h, &n, 1); c = ouro_map_new(h, NULL, NULL, l); ouro_decref(l); break; }
        default: {
            c = ouro_lru_new(h, 10, ident, NULL);
            ouro_decref(ouro_lru_call(c, n)); /* the cache holds n */
            break;
        }
        }
        CHECK(c != NULL);
        ouro_record_set(n, 1, c); /* n.next = container: a cycle */
        int before = live(h);
        ouro_decref(c);
        ouro_decref(n);
        CHECK_EQ(live(h), before); /* reference counting alone cannot */
        long got = ouro_gc_collect(h, 2);
        CHECK(got >= 2);
        CHECK_EQ(live(h), 0);
        tl_heap_done(h);
    }
}

TEST(self_referencing_containers)
{
    ouro_heap *h = quiet_heap();
    ouro_object *l = ouro_list_new(h);
    ouro_list_append(l, l);
    CHECK_STR(tt_repr(l), "[[...]]");
    ouro_object *d = ouro_dict_new(h);
    ouro_dict_set_str(d, "me", d);
    CHECK_STR(tt_repr(d), "{'me': {...}}");
    CHECK(ouro_gc_is_tracked(d));
    ouro_decref(l);
    ouro_decref(d);
    CHECK_EQ(ouro_gc_collect(h, 2), 2); /* CPython: gc.collect() == 2 */
    tl_heap_done(h);
}

/* A container of atomic objects inside cyclic trash still counts, as in
 * CPython: gc.collect() returns 3 for a <-> b with a tuple hung on a. */
TEST(collect_counts_match_cpython_with_containers)
{
    ouro_heap *h = quiet_heap();
    ouro_object *a = ouro_record_new(h, &Node), *b = ouro_record_new(h, &Node);
    ouro_record_set(a, 1, b);
    ouro_record_set(b, 1, a);
    ouro_object *t = ouro_tuple_pack(h, 2, I(h, 1), I(h, 2));
    ouro_record_set(a, 0, t);
    ouro_decref(t);
    ouro_decref(a);
    ouro_decref(b);
    CHECK_EQ(ouro_gc_collect(h, 2), 3);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ out of memory */

typedef int (*op_fn)(ouro_heap *h);

static int op_list(ouro_heap *h)
{
    ouro_object *l = ouro_list_new(h);
    if (!l)
        return -1;
    int rc = 0;
    for (int i = 0; i < 50 && rc == 0; i++) {
        ouro_object *v = I(h, 1000 + i);
        rc = v ? ouro_list_append(l, v) : -1;
        ouro_xdecref(v);
    }
    if (rc == 0)
        rc = ouro_list_extend(l, l);
    if (rc == 0) {
        ouro_object *c = ouro_list_from_iter(h, l);
        rc = c && ouro_list_len(c) == 100 ? 0 : -1;
        ouro_xdecref(c);
    }
    if (rc == 0)
        rc = ouro_list_sort(l);
    ouro_decref(l);
    return rc;
}

static int op_dict(ouro_heap *h)
{
    ouro_object *d = ouro_dict_new(h);
    if (!d)
        return -1;
    int rc = 0;
    for (int i = 0; i < 40 && rc == 0; i++) {
        ouro_object *k = I(h, 1000 + i);
        rc = k ? ouro_dict_set(d, k, k) : -1;
        ouro_xdecref(k);
    }
    size_t n = ouro_dict_len(d);
    if (rc == 0) {
        ouro_object *c = ouro_dict_copy(d);
        rc = c && ouro_equal(c, d) == 1 ? 0 : -1;
        ouro_xdecref(c);
    }
    if (rc == 0) {
        ouro_object *it = ouro_dict_iter(h, d, OURO_DICT_ITEMS);
        ouro_object *l = it ? ouro_list_from_iter(h, it) : NULL;
        rc = l && ouro_list_len(l) == n ? 0 : -1;
        ouro_xdecref(l);
        ouro_xdecref(it);
    }
    if (rc == 0)
        rc = ouro_dict_set_str(d, "key", d);
    ouro_dict_clear(d);
    ouro_decref(d);
    return rc;
}

static int op_set(ouro_heap *h)
{
    ouro_object *s = ouro_set_new(h);
    if (!s)
        return -1;
    int rc = 0;
    for (int i = 0; i < 40 && rc >= 0; i++) {
        ouro_object *k = I(h, 1000 + i);
        rc = k ? ouro_set_add(s, k) : -1;
        ouro_xdecref(k);
    }
    ouro_decref(s);
    return rc < 0 ? rc : 0;
}

static int op_tuple_str_array(ouro_heap *h)
{
    ouro_object *a = ouro_str_from(h, "ab");
    ouro_object *b = a ? ouro_str_concat(h, a, a) : NULL;
    ouro_object *t = b ? ouro_tuple_pack(h, 2, a, b) : NULL;
    ouro_object *arr = t ? ouro_array_new(h, 'd') : NULL;
    int rc = arr ? 0 : -1;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = ouro_array_append_double(arr, i);
    ouro_object *x = rc == 0 ? ouro_array_get(arr, 5) : NULL;
    if (!x)
        rc = -1;
    ouro_object *r = NULL;
    if (rc == 0) {
        tt_repr(t);
        r = ouro_str_intern(h, "abab", 4);
        rc = r ? 0 : -1;
    }
    ouro_xdecref(r);
    ouro_xdecref(x);
    ouro_xdecref(arr);
    ouro_xdecref(t);
    ouro_xdecref(b);
    ouro_xdecref(a);
    return rc;
}

static int op_lru(ouro_heap *h)
{
    int calls = 0;
    ouro_object *c = ouro_lru_new(h, 8, square, &calls);
    if (!c)
        return -1;
    int rc = 0;
    for (int i = 0; i < 40 && rc == 0; i++) {
        ouro_object *k = I(h, 1000 + (i % 12));
        ouro_object *r = k ? ouro_lru_call(c, k) : NULL;
        rc = r ? 0 : -1;
        ouro_xdecref(r);
        ouro_xdecref(k);
    }
    ouro_decref(c);
    return rc;
}

static int op_iter(ouro_heap *h)
{
    ouro_object *r = ouro_range_new(h, 250, 300, 1);
    ouro_object *g = r ? ouro_map_new(h, sq, NULL, r) : NULL;
    ouro_object *l = g ? ouro_list_from_iter(h, g) : NULL;
    ouro_object *s = l ? ouro_set_new(h) : NULL;
    int rc = s ? ouro_list_extend(l, l) : -1;
    ouro_xdecref(s);
    ouro_xdecref(l);
    ouro_xdecref(g);
    ouro_xdecref(r);
    return rc;
}

TEST(every_operation_survives_running_out_of_memory)
{
    op_fn ops[] = {op_list, op_dict, op_set, op_tuple_str_array, op_lru, op_iter};
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        int ok = 0;
        for (uint64_t n = 1; n < 2000 && !ok; n++) {
            ouro_config cfg;
            ouro_config_init(&cfg);
            cfg.debug = OURO_DEBUG_CHECKS;
            cfg.leak_policy = OURO_LEAKS_FAIL;
            cfg.fail_alloc_at = n;
            ouro_heap *h = tl_heap_cfg(&cfg);
            ouro_gc_disable(h);
            ok = ops[k](h) == 0;
            if (ouro_heap_check(h) != 0)
                tl_fail(__FILE__, __LINE__, "op %zu failing allocation %llu: heap check", k,
                        (unsigned long long)n);
            ouro_gc_collect(h, 2);
            tl_heap_done(h);
        }
        CHECK(ok);
    }
}
