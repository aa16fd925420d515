/* What interpreter authors need first: None, True and False, accepted by
 * every container as Python accepts them; weak containers keyed by any
 * hashable object; weakref.getweakrefs.  Expected values are CPython
 * 3.11.7's, from the Python snippet quoted beside each check. */
#include "testlib.h"
#include "ttypes.h"

#include <string.h>

static ouro_object *S(ouro_heap *h, const char *s) { return ouro_str_from(h, s); }

/* ------------------------------------------------------ None, True, False */

TEST(none_true_false_are_immortal_singletons_per_heap)
{
    ouro_heap *h = tl_heap(), *h2 = tl_heap();
    ouro_object *n = ouro_none(h), *t = ouro_true(h), *f = ouro_false(h);
    CHECK(n && t && f);
    CHECK(ouro_none(h) == n && ouro_true(h) == t && ouro_false(h) == f);
    CHECK(ouro_bool(h, 7) == t && ouro_bool(h, 0) == f);
    CHECK(ouro_is_immortal(n) && ouro_is_immortal(t) && ouro_is_immortal(f));
    CHECK(!ouro_gc_is_tracked(n)); /* gc.is_tracked(None) -> False */
    ouro_decref(n); /* harmless: immortal */
    CHECK(ouro_none(h2) != n); /* each heap has its own */
    CHECK(ouro_is_none(n) && ouro_is_none(ouro_none(h2)) && !ouro_is_none(f));
    CHECK(ouro_bool_check(t) && ouro_bool_check(f) && !ouro_bool_check(n));
    CHECK(!ouro_bool_check(ouro_int_new(h, 1)));
    CHECK_STR(ouro_type_name(n), "NoneType"); /* type(None).__name__ */
    CHECK_STR(ouro_type_name(t), "bool");
    CHECK(ouro_is_builtin(n) && ouro_is_builtin(t));
    /* sys.getsizeof(None) -> 16 (the same in ouro: a bare header);
     * sys.getsizeof(True) -> 28, ouro 24 as for every int. */
    CHECK_EQ(ouro_sizeof(n), 16);
    CHECK_EQ(ouro_sizeof(t), 24);
    CHECK_STR(tt_repr(n), "None");
    CHECK_STR(tt_repr(t), "True");
    CHECK_STR(tt_repr(f), "False");
    tl_heap_done(h2);
    tl_heap_done(h);
}

TEST(bool_is_an_int)
{
    ouro_heap *h = tl_heap();
    ouro_object *t = ouro_true(h), *f = ouro_false(h), *one = ouro_int_new(h, 1);
    /* hash(True), hash(False) -> 1 0 */
    CHECK_EQ(tt_hash(t), 1);
    CHECK_EQ(tt_hash(f), 0);
    CHECK_EQ(tt_hash(t), tt_hash(one));
    /* True == 1, True == 1.0, False == 0 -> True True True */
    ouro_object *onef = ouro_float_new(h, 1.0);
    CHECK_EQ(ouro_equal(t, one), 1);
    CHECK_EQ(ouro_equal(onef, t), 1);
    CHECK_EQ(ouro_equal(f, ouro_int_new(h, 0)), 1);
    CHECK_EQ(ouro_equal(t, f), 0);
    /* isinstance(True, int), int(True) -> True 1 */
    int64_t v = -1;
    CHECK(ouro_int_check(t));
    CHECK_EQ(ouro_int_get(t, &v), 0);
    CHECK_EQ(v, 1);
    CHECK_EQ(ouro_int_value(f), 0);
    double d = 0;
    CHECK_EQ(ouro_float_get(t, &d), 0);
    CHECK(d == 1.0);
    /* {1: 'a', True: 'b'} -> {1: 'b'} */
    ouro_object *dct = ouro_dict_new(h), *a = S(h, "a"), *b = S(h, "b");
    CHECK_EQ(ouro_dict_set(dct, one, a), 0);
    CHECK_EQ(ouro_dict_set(dct, t, b), 0);
    CHECK_EQ(ouro_dict_len(dct), 1);
    CHECK_STR(tt_repr(dct), "{1: 'b'}");
    /* {True, 1, 1.0} -> {True} */
    ouro_object *s = ouro_set_new(h);
    CHECK_EQ(ouro_set_add(s, t), 1);
    CHECK_EQ(ouro_set_add(s, one), 0);
    CHECK_EQ(ouro_set_add(s, onef), 0);
    CHECK_STR(tt_repr(s), "{True}");
    /* sorted([True, False, 2, -1]) -> [-1, False, True, 2] */
    ouro_object *items[] = {t, f, ouro_int_new(h, 2), ouro_int_new(h, -1)};
    ouro_object *l = ouro_list_from(h, items, 4);
    CHECK_EQ(ouro_list_sort(l), 0);
    CHECK_STR(tt_repr(l), "[-1, False, True, 2]");
    /* array('i', [True, False]) -> array('i', [1, 0]) */
    ouro_object *arr = ouro_array_new(h, 'i');
    CHECK_EQ(ouro_array_append(arr, t), 0);
    CHECK_EQ(ouro_array_append(arr, f), 0);
    CHECK_STR(tt_repr(arr), "array('i', [1, 0])");
    ouro_decref(arr);
    ouro_decref(l);
    ouro_decref(s);
    ouro_decref(dct);
    ouro_decref(a);
    ouro_decref(b);
    ouro_decref(onef);
    tl_heap_done(h);
}

TEST(none_hash_equality_and_truth)
{
    ouro_heap *h = tl_heap();
    ouro_object *n = ouro_none(h), *zero = ouro_int_new(h, 0), *f = ouro_false(h);
    /* hash(None) is id-based in 3.11: only its stability is checked. */
    CHECK_EQ(tt_hash(n), tt_hash(ouro_none(h)));
    /* None == None, None == 0, False == None -> True False False */
    CHECK_EQ(ouro_equal(n, n), 1);
    CHECK_EQ(ouro_equal(n, zero), 0);
    CHECK_EQ(ouro_equal(f, n), 0);
    CHECK_EQ(ouro_len(n), OURO_ETYPE); /* len(None): TypeError */
    /* bool(None), bool(0.0), bool(''), bool(()), bool([0]), bool(range(0))
     * -> False False False False True False */
    ouro_object *z = ouro_float_new(h, 0.0), *e = S(h, ""), *tu = ouro_tuple_new(h, 0);
    ouro_object *l = ouro_list_from(h, &zero, 1), *r = ouro_range_new(h, 0, 0, 1);
    CHECK_EQ(ouro_truth(n), 0);
    CHECK_EQ(ouro_truth(z), 0);
    CHECK_EQ(ouro_truth(e), 0);
    CHECK_EQ(ouro_truth(tu), 0);
    CHECK_EQ(ouro_truth(l), 1);
    CHECK_EQ(ouro_truth(r), 0);
    /* bool(True), bool(False), bool(-3), bool({}), bool(object()) ->
     * True False True False True */
    ouro_object *m3 = ouro_int_new(h, -3), *dct = ouro_dict_new(h), *obj = tn_plain(h);
    CHECK_EQ(ouro_truth(ouro_true(h)), 1);
    CHECK_EQ(ouro_truth(f), 0);
    CHECK_EQ(ouro_truth(m3), 1);
    CHECK_EQ(ouro_truth(dct), 0);
    CHECK_EQ(ouro_truth(obj), 1);
    CHECK_EQ(ouro_truth(NULL), OURO_EINVAL);
    ouro_decref(obj);
    ouro_decref(dct);
    ouro_decref(r);
    ouro_decref(l);
    ouro_decref(e);
    ouro_decref(z);
    tl_heap_done(h);
}

/* ------------------------------------------------ containers accept None */

TEST(containers_accept_none_and_print_it)
{
    ouro_heap *h = tl_heap();
    ouro_object *n = ouro_none(h), *t = ouro_true(h), *one = ouro_int_new(h, 1);
    /* tt_repr([None, True, 1]) -> '[None, True, 1]' */
    ouro_object *l = ouro_list_new(h);
    CHECK_EQ(ouro_list_append(l, n), 0);
    CHECK_EQ(ouro_list_append(l, t), 0);
    CHECK_EQ(ouro_list_append(l, one), 0);
    CHECK_STR(tt_repr(l), "[None, True, 1]");
    /* l.index(None), None in l, l.count... -> 0 True */
    CHECK_EQ(ouro_list_index(l, n), 0);
    CHECK_EQ(ouro_list_contains(l, n), 1);
    /* NULL is not None: still refused */
    CHECK_EQ(ouro_list_append(l, NULL), OURO_EINVAL);
    /* gc.is_tracked([None]) -> True; gc.is_tracked({None: None}) -> False */
    CHECK(ouro_gc_is_tracked(l));
    ouro_object *d = ouro_dict_new(h);
    CHECK_EQ(ouro_dict_set(d, n, n), 0);
    CHECK(!ouro_gc_is_tracked(d));
    /* d = {None: False, True: None}; tt_repr(d), d[None] -> '{None: False,
     * True: None}' False */
    CHECK_EQ(ouro_dict_set(d, n, ouro_false(h)), 0);
    CHECK_EQ(ouro_dict_set(d, t, n), 0);
    CHECK_STR(tt_repr(d), "{None: False, True: None}");
    CHECK(ouro_dict_get(d, n) == ouro_false(h));
    CHECK(ouro_dict_get(d, one) == n); /* d[1] finds the key True */
    /* tt_repr((None,)), tt_repr({None}) -> '(None,)' '{None}' */
    ouro_object *tu = ouro_tuple_from(h, &n, 1);
    CHECK_STR(tt_repr(tu), "(None,)");
    ouro_object *s = ouro_set_new(h);
    CHECK_EQ(ouro_set_add(s, n), 1);
    CHECK_EQ(ouro_set_add(s, n), 0);
    CHECK_EQ(ouro_set_contains(s, n), 1);
    CHECK_STR(tt_repr(s), "{None}");
    /* {(None,): 1}[(None,)] -> 1: a tuple holding None is hashable */
    ouro_object *tu2 = ouro_tuple_from(h, &n, 1);
    CHECK_EQ(ouro_dict_set(d, tu, one), 0);
    CHECK(ouro_dict_get(d, tu2) == one);
    CHECK_EQ(ouro_set_discard(s, n), 1);
    CHECK_STR(tt_repr(s), "set()");
    ouro_object *p = ouro_list_pop(l, 0);
    CHECK(p == n);
    ouro_decref(p);
    ouro_decref(tu2);
    ouro_decref(tu);
    ouro_decref(s);
    ouro_decref(d);
    ouro_decref(l);
    tl_heap_done(h);
}

static const char *const point_fields[] = {"x", "y"};
static ouro_record_type Point = OURO_RECORD_TYPE("P", point_fields, 2);

TEST(record_fields_are_none_until_set)
{
    ouro_heap *h = tl_heap();
    ouro_object *n = ouro_none(h);
    /* P = namedtuple('P', 'x y'); tt_repr(P(None, True)) -> 'P(x=None, y=True)' */
    ouro_object *p = ouro_record_new(h, &Point);
    CHECK(ouro_record_get(p, 0) == n); /* unset: the None singleton */
    CHECK(ouro_record_getattr(p, "y") == n);
    CHECK_EQ(ouro_record_set(p, 1, ouro_true(h)), 0);
    CHECK_STR(tt_repr(p), "P(x=None, y=True)");
    /* Storing NULL stores None; a record made with NULLs equals one made
     * with None: P(None, None) == P(None, None) -> True */
    CHECK_EQ(ouro_record_set(p, 1, NULL), 0);
    CHECK(ouro_record_get(p, 1) == n);
    ouro_object *nulls[2] = {NULL, NULL}, *nones[2] = {n, n};
    ouro_object *q = ouro_record_make(h, &Point, nulls), *r = ouro_record_make(h, &Point, nones);
    CHECK(ouro_record_get(q, 0) == n);
    CHECK_EQ(ouro_equal(q, r), 1);
    CHECK_EQ(ouro_equal(p, q), 1);
    /* list(P(None, 1)) -> [None, 1] */
    CHECK_EQ(ouro_record_setattr(r, "y", ouro_int_new(h, 1)), 0);
    ouro_object *lst = ouro_list_from_iter(h, r);
    CHECK_STR(tt_repr(lst), "[None, 1]");
    ouro_decref(lst);
    ouro_decref(r);
    ouro_decref(q);
    ouro_decref(p);
    tl_heap_done(h);
}

static ouro_object *key_is_none(ouro_heap *h, ouro_object *key, void *ctx)
{
    (*(int *)ctx)++;
    return ouro_bool(h, ouro_is_none(key));
}

TEST(lru_cache_keyed_by_none)
{
    /* f = lru_cache(maxsize=2)(lambda k: k is None); f(None); f(None);
     * f.cache_info() -> CacheInfo(hits=1, misses=1, maxsize=2, currsize=1) */
    ouro_heap *h = tl_heap();
    int calls = 0;
    ouro_object *c = ouro_lru_new(h, 2, key_is_none, &calls);
    ouro_object *r1 = ouro_lru_call(c, ouro_none(h)), *r2 = ouro_lru_call(c, ouro_none(h));
    CHECK(r1 == ouro_true(h) && r2 == ouro_true(h));
    ouro_lru_info info;
    CHECK_EQ(ouro_lru_cache_info(c, &info), 0);
    CHECK_EQ(info.hits, 1);
    CHECK_EQ(info.misses, 1);
    CHECK_EQ(info.currsize, 1);
    CHECK_EQ(calls, 1);
    ouro_decref(r1);
    ouro_decref(r2);
    ouro_decref(c);
    tl_heap_done(h);
}

TEST(deep_size_and_census_with_singletons)
{
    ouro_heap *h = tl_heap();
    ouro_object *n = ouro_none(h), *t = ouro_true(h);
    ouro_object *items[] = {n, n, t};
    ouro_object *l = ouro_list_from(h, items, 3);
    /* Each shared object counted once: the list, None (16), True (24). */
    CHECK_EQ(ouro_deep_sizeof(h, l, -1), ouro_sizeof(l) + 16 + 24);
    /* objgraph.count('NoneType'), objgraph.count('bool') -> 0 0: the
     * singletons are not collector objects (ouro: immortal, left out). */
    CHECK_EQ(ouro_census_count(h, "NoneType"), 0);
    CHECK_EQ(ouro_census_count(h, "bool"), 0);
    CHECK_EQ(ouro_census_count(h, "list"), 1);
    ouro_decref(l);
    tl_heap_done(h);
}

TEST(singletons_survive_running_out_of_memory)
{
    /* Failing any one of the three allocations leaves none made, and the
     * next call makes all three. */
    int made = 0;
    for (uint64_t k = 1; k < 10 && !made; k++) {
        ouro_config cfg;
        ouro_config_init(&cfg);
        cfg.debug = OURO_DEBUG_CHECKS;
        cfg.leak_policy = OURO_LEAKS_FAIL;
        cfg.fail_alloc_at = k;
        ouro_heap *h = tl_heap_cfg(&cfg);
        ouro_object *t = ouro_true(h);
        if (!t) {
            CHECK_EQ(ouro_heap_last_error(h), OURO_ENOMEM);
            CHECK_EQ(ouro_heap_check(h), 0);
            t = ouro_true(h); /* only the k-th allocation fails */
            CHECK(t != NULL);
        } else {
            made = 1;
        }
        CHECK(ouro_none(h) && ouro_false(h) && ouro_int_value(t) == 1);
        tl_heap_done(h);
    }
    CHECK(made);
}

/* ------------------------------------------- weak containers, getweakrefs */

static int collect_keys(ouro_object *key, ouro_object *value, void *arg)
{
    (void)value;
    return ouro_list_append((ouro_object *)arg, key);
}

TEST(weak_value_dictionary_keyed_by_any_hashable_object)
{
    /* class C: pass
     * d = weakref.WeakValueDictionary(); a, b = C(), C()
     * d[None] = a; d[1] = b; d[(1, 'x')] = a; d['s'] = b; d[b'k'] = a
     * len(d), d[True] is b, d[1.0] is b, d[(1, 'x')] is a, None in d
     *   -> 5 True True True True
     * del a; len(d), None in d, sorted(map(repr, d.keys()))
     *   -> 2 False ["'s'", '1']
     * d[[1]] = b   -> TypeError: unhashable type: 'list'
     * d['n'] = None -> TypeError: cannot create weak reference to 'NoneType' */
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_object *d = ouro_wvdict_new(h);
    ouro_object *a = tn_new(h), *b = tn_new(h);
    ouro_object *one = ouro_int_new(h, 1), *x = S(h, "x"), *s = S(h, "s");
    ouro_object *tk = ouro_tuple_pack(h, 2, one, x), *tk2 = ouro_tuple_pack(h, 2, one, x);
    CHECK_EQ(ouro_wvdict_setitem(d, ouro_none(h), a), 0);
    CHECK_EQ(ouro_wvdict_setitem(d, one, b), 0);
    CHECK_EQ(ouro_wvdict_setitem(d, tk, a), 0);
    CHECK_EQ(ouro_wvdict_setitem(d, s, b), 0);
    CHECK_EQ(ouro_wvdict_set(d, "k", 1, a), 0); /* the byte-string shorthand */
    CHECK_EQ(ouro_wvdict_len(d), 5);
    CHECK_EQ(ouro_refcount(a), 1); /* values weakly held */
    ouro_object *g = ouro_wvdict_getitem(d, ouro_true(h));
    CHECK(g == b);
    ouro_decref(g);
    ouro_object *onef = ouro_float_new(h, 1.0);
    g = ouro_wvdict_getitem(d, onef);
    CHECK(g == b);
    ouro_decref(g);
    g = ouro_wvdict_getitem(d, tk2); /* an equal tuple, not the same one */
    CHECK(g == a);
    ouro_decref(g);
    ouro_object *kb = ouro_bytes_new(h, "k", 1);
    g = ouro_wvdict_getitem(d, kb); /* bytes object finds the shorthand's key */
    CHECK(g == a);
    ouro_decref(g);
    CHECK_EQ(ouro_wvdict_contains(d, ouro_none(h)), 1);
    ouro_decref(a); /* three entries go with it */
    CHECK_EQ(ouro_wvdict_len(d), 2);
    CHECK_EQ(ouro_wvdict_contains(d, ouro_none(h)), 0);
    CHECK(ouro_wvdict_getitem(d, tk2) == NULL);
    ouro_object *keys = ouro_list_new(h);
    CHECK_EQ(ouro_wvdict_items_obj(d, collect_keys, keys), 0);
    CHECK_EQ(ouro_list_len(keys), 2);
    CHECK_EQ(ouro_list_contains(keys, s), 1);
    CHECK_EQ(ouro_list_contains(keys, one), 1);
    ouro_object *lk = ouro_list_new(h);
    CHECK_EQ(ouro_wvdict_setitem(d, lk, b), OURO_ETYPE);
    CHECK_EQ(ouro_wvdict_setitem(d, x, ouro_none(h)), OURO_ETYPE);
    CHECK_EQ(ouro_wvdict_len(d), 2);
    /* del d[True] removes the key 1 -> len(d) 1 */
    CHECK_EQ(ouro_wvdict_delitem(d, ouro_true(h)), 1);
    CHECK_EQ(ouro_wvdict_delitem(d, ouro_true(h)), 0);
    CHECK_EQ(ouro_wvdict_len(d), 1);
    /* The dictionary holds its keys: s outlives our reference. */
    uint32_t before = ouro_refcount(s);
    ouro_decref(d);
    CHECK_EQ(ouro_refcount(s), before - 1);
    ouro_decref(lk);
    ouro_decref(keys);
    ouro_decref(kb);
    ouro_decref(onef);
    ouro_decref(tk2);
    ouro_decref(tk);
    ouro_decref(s);
    ouro_decref(x);
    ouro_decref(b);
    tl_heap_done(h);
}

TEST(weak_value_dictionary_key_cycle_is_collected)
{
    /* A key that refers back to the dictionary: d[(d,)] = v; del d;
     * gc.collect() frees the dictionary and the tuple (the keys are
     * strong references the collector must see). */
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_object *d = ouro_wvdict_new(h), *v = tn_new(h);
    ouro_object *k = ouro_tuple_pack(h, 1, d);
    CHECK_EQ(ouro_wvdict_setitem(d, k, v), 0);
    ouro_decref(k);
    ouro_decref(d);
    CHECK(ouro_gc_collect(h, 2) >= 2);
    ouro_decref(v);
    tl_heap_done(h);
}

static void no_cb(ouro_heap *h, ouro_object *wr, void *arg) { (void)h, (void)wr, (void)arg; }

TEST(getweakrefs_and_getweakrefcount)
{
    /* c = C(); r1 = ref(c, cb1); r2 = ref(c, cb2); r0 = ref(c)
     * [name of r for r in getweakrefs(c)] -> ['r0', 'r2', 'r1']
     * del r1; getweakrefcount(c) -> 2;  getweakrefs(object_without_refs)
     * -> [] */
    ouro_heap *h = tl_heap();
    ouro_object *c = tn_new(h);
    ouro_object *r1 = ouro_weakref_new(h, c, no_cb, NULL);
    ouro_object *r2 = ouro_weakref_new(h, c, no_cb, NULL);
    ouro_object *r0 = ouro_weakref_basic(h, c);
    ouro_object *l = ouro_weakref_getweakrefs(c);
    CHECK_EQ(ouro_list_len(l), 3);
    CHECK(ouro_list_get(l, 0) == r0);
    CHECK(ouro_list_get(l, 1) == r2);
    CHECK(ouro_list_get(l, 2) == r1);
    CHECK_EQ(ouro_refcount(r1), 2); /* the list holds them */
    ouro_object *arr[2];
    CHECK_EQ(ouro_weakref_list(c, arr, 2), 3); /* all counted, 2 stored */
    CHECK(arr[0] == r0 && arr[1] == r2);
    ouro_decref(l);
    ouro_decref(r1);
    CHECK_EQ(ouro_weakref_count(c), 2);
    ouro_object *other = tn_new(h);
    l = ouro_weakref_getweakrefs(other);
    CHECK_STR(tt_repr(l), "[]");
    ouro_decref(l);
    ouro_decref(other);
    ouro_decref(r0);
    ouro_decref(r2);
    ouro_decref(c);
    tl_heap_done(h);
}

static void count_cb(ouro_heap *h, ouro_object *wr, void *arg)
{
    (void)h, (void)wr;
    ++*(int *)arg;
}

TEST(sets_allow_weak_references_lists_and_dicts_do_not)
{
    /* fired = []; s = {1, 2}; r = weakref.ref(s, lambda r: fired.append(1))
     * r() is s -> True;  del s; r() is None, fired -> True [1]
     * weakref.ref([]), weakref.ref({}), weakref.ref((1,)), weakref.ref("x")
     * -> TypeError each */
    ouro_heap *h = tl_heap();
    ouro_object *s = ouro_set_new(h);
    CHECK_EQ(ouro_set_add(s, ouro_int_new(h, 1)), 1); /* 1: added */
    CHECK_EQ(ouro_set_add(s, ouro_int_new(h, 2)), 1);
    int fired = 0;
    ouro_object *r = ouro_weakref_new(h, s, count_cb, &fired);
    CHECK(r != NULL);
    ouro_object *got = ouro_weakref_get(r);
    CHECK(got == s);
    ouro_decref(got);
    ouro_decref(s);
    CHECK(ouro_weakref_peek(r) == NULL);
    CHECK_EQ(fired, 1);
    ouro_decref(r);
    ouro_object *refused[] = {ouro_list_new(h), ouro_dict_new(h),
                              ouro_tuple_pack(h, 1, ouro_int_new(h, 1)), S(h, "x")};
    for (int i = 0; i < 4; i++) {
        CHECK(refused[i] != NULL);
        CHECK(ouro_weakref_new(h, refused[i], no_cb, NULL) == NULL);
        CHECK_EQ(ouro_heap_last_error(h), OURO_ETYPE);
        ouro_decref(refused[i]);
    }
    tl_heap_done(h);
}

TEST(weak_set_and_key_dictionary_hash_their_items)
{
    /* f = lru_cache(maxsize=2)(g); s = weakref.WeakSet([f]); len(s), f in s
     * -> 1 True (a cached function is hashable);
     * k = WeakKeyDictionary(); x, y = C(), C(); k[x] = None; k[y] = True
     * len(k), k[x]; del x; len(k) -> 2 None 1 */
    ouro_heap *h = tl_heap();
    int calls = 0;
    ouro_object *f = ouro_lru_new(h, 2, key_is_none, &calls);
    int64_t hv;
    CHECK_EQ(ouro_hash(f, &hv), 0);
    ouro_object *s = ouro_wset_new(h);
    CHECK_EQ(ouro_wset_add(s, f), 0);
    CHECK_EQ(ouro_wset_len(s), 1);
    CHECK_EQ(ouro_wset_contains(s, f), 1);
    ouro_object *lk = ouro_list_new(h);
    CHECK_EQ(ouro_wset_contains(s, lk), OURO_ETYPE); /* [] in s: TypeError */
    ouro_decref(f);
    CHECK_EQ(ouro_wset_len(s), 0);
    ouro_object *k = ouro_wkdict_new(h), *x = tn_new(h), *y = tn_new(h);
    CHECK_EQ(ouro_wkdict_set(k, x, ouro_none(h)), 0);
    CHECK_EQ(ouro_wkdict_set(k, y, ouro_true(h)), 0);
    CHECK_EQ(ouro_wkdict_len(k), 2);
    ouro_object *g = ouro_wkdict_get(k, x);
    CHECK(g == ouro_none(h));
    ouro_decref(g);
    ouro_decref(x);
    CHECK_EQ(ouro_wkdict_len(k), 1);
    ouro_decref(y);
    ouro_decref(k);
    ouro_decref(lk);
    ouro_decref(s);
    tl_heap_done(h);
}

/* Every allocation of these operations failed in turn: each failure leaves
 * the heap consistent and nothing leaked (tl_heap_done checks). */
static int op_interp(ouro_heap *h)
{
    ouro_object *d = ouro_wvdict_new(h), *v = d ? tn_new(h) : NULL;
    ouro_object *k = v ? ouro_tuple_pack(h, 1, ouro_int_new(h, 5)) : NULL;
    int rc = k && ouro_none(h) ? 0 : -1;
    if (rc == 0)
        rc = ouro_wvdict_setitem(d, k, v);
    if (rc == 0)
        rc = ouro_wvdict_setitem(d, ouro_none(h), v);
    if (rc == 0)
        rc = ouro_wvdict_set(d, "abc", 3, v);
    ouro_object *l = rc == 0 ? ouro_weakref_getweakrefs(v) : NULL;
    if (rc == 0 && (!l || ouro_list_len(l) != 3))
        rc = -1;
    ouro_object *p = rc == 0 ? ouro_record_new(h, &Point) : NULL;
    if (rc == 0 && (!p || ouro_record_get(p, 0) != ouro_none(h)))
        rc = -1;
    ouro_xdecref(p);
    ouro_xdecref(l);
    ouro_xdecref(k);
    ouro_xdecref(v);
    ouro_xdecref(d);
    return rc;
}

TEST(interp_operations_survive_running_out_of_memory)
{
    int ok = 0;
    for (uint64_t n = 1; n < 200 && !ok; n++) {
        ouro_config cfg;
        ouro_config_init(&cfg);
        cfg.debug = OURO_DEBUG_CHECKS;
        cfg.leak_policy = OURO_LEAKS_FAIL;
        cfg.fail_alloc_at = n;
        ouro_heap *h = tl_heap_cfg(&cfg);
        ouro_gc_disable(h);
        ok = op_interp(h) == 0;
        CHECK_EQ(ouro_heap_check(h), 0);
        tl_heap_done(h);
    }
    CHECK(ok);
}
