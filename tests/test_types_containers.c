/* Built-in containers: tuple, list, dict, set, array, records.  Expected
 * values are CPython 3.11's for the same operations. */
#include "testlib.h"
#include "ttypes.h"

#include <stdlib.h>
#include <string.h>

static ouro_object *I(ouro_heap *h, int64_t v) { return ouro_int_new(h, v); }

/* ------------------------------------------------------------ tuple */

TEST(tuple_build_get_and_immutability)
{
    ouro_heap *h = tl_heap();
    ouro_object *s = ouro_str_from(h, "x");
    ouro_object *t = ouro_tuple_pack(h, 3, I(h, 1), s, I(h, 3));
    CHECK_EQ(ouro_tuple_len(t), 3);
    CHECK(ouro_tuple_get(t, 1) == s);
    CHECK(ouro_tuple_get(t, -1) == I(h, 3));
    CHECK(ouro_tuple_get(t, 3) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ERANGE);
    CHECK(ouro_tuple_get(t, -4) == NULL);
    CHECK_EQ(ouro_refcount(s), 2);
    CHECK_EQ(ouro_sizeof(t), 24 + 3 * 8);
    CHECK_STR(tt_repr(t), "(1, 'x', 3)");
    ouro_incref(t);
    CHECK_EQ(ouro_tuple_set(t, 0, s), OURO_ETYPE); /* shared: immutable */
    ouro_decref(t);
    CHECK_EQ(ouro_tuple_set(t, 0, s), 0); /* still being built */
    CHECK_EQ(ouro_tuple_set(t, 5, s), OURO_ERANGE);
    CHECK(ouro_tuple_get(s, 0) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ETYPE);
    ouro_object *one = ouro_tuple_pack(h, 1, s);
    CHECK_STR(tt_repr(one), "('x',)");
    ouro_object *e = ouro_tuple_new(h, 0), *e2 = ouro_tuple_from(h, NULL, 0);
    CHECK(e == e2 && ouro_is_immortal(e) && !ouro_gc_is_tracked(e));
    CHECK_STR(tt_repr(e), "()");
    CHECK_EQ(ouro_sizeof(e), 24);
    ouro_decref(t);
    ouro_decref(one);
    ouro_decref(s);
    tl_heap_done(h);
}

TEST(tuple_hash_and_equality)
{
    ouro_heap *h = tl_heap();
    ouro_object *f = ouro_float_new(h, 2.0);
    ouro_object *a = ouro_tuple_pack(h, 2, I(h, 1), I(h, 2));
    ouro_object *b = ouro_tuple_pack(h, 2, I(h, 1), f); /* (1, 2.0) == (1, 2) */
    int64_t ha, hb;
    CHECK_EQ(ouro_hash(a, &ha), 0);
    CHECK_EQ(ouro_hash(b, &hb), 0);
    CHECK_EQ(ha, hb);
    CHECK_EQ(ouro_equal(a, b), 1);
    ouro_object *l = ouro_list_new(h);
    ouro_object *c = ouro_tuple_pack(h, 2, I(h, 1), l);
    CHECK_EQ(ouro_hash(c, &ha), OURO_ETYPE); /* holds an unhashable list */
    ouro_object *d = ouro_dict_new(h);
    CHECK_EQ(ouro_dict_set(d, c, l), OURO_ETYPE);
    ouro_decref(f);
    ouro_decref(a);
    ouro_decref(b);
    ouro_decref(c);
    ouro_decref(l);
    ouro_decref(d);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ list */

TEST(list_growth_follows_cpython)
{
    ouro_heap *h = tl_heap();
    /* allocated slots after 0..19 appends, from sys.getsizeof in 3.11 */
    static const int want[20] = {0, 4, 4, 4, 4, 8, 8, 8, 8, 16, 16, 16, 16, 16, 16, 16, 16, 24, 24, 24};
    ouro_object *l = ouro_list_new(h);
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(ouro_list_allocated(l), want[i]);
        CHECK_EQ(ouro_sizeof(l), 40 + 8 * want[i]);
        CHECK_EQ(ouro_list_append(l, I(h, i)), 0);
    }
    for (int i = 0; i < 100000; i++)
        ouro_list_append(l, I(h, i % 200));
    CHECK_EQ(ouro_list_len(l), 100020);
    CHECK(ouro_list_allocated(l) < 100020 + 100020 / 8 + 16);
    for (int i = 0; i < 100000; i++)
        ouro_decref(ouro_list_pop(l, -1));
    CHECK(ouro_list_allocated(l) < 64); /* shrinks as it empties */
    ouro_object *f = ouro_list_from(h, (ouro_object *[]){I(h, 1), I(h, 2), I(h, 3)}, 3);
    CHECK_EQ(ouro_list_allocated(f), 4); /* like [1, 2, 3]: 88 - 16 in CPython */
    CHECK_EQ(ouro_sizeof(f), 40 + 32);
    ouro_object *g = ouro_list_new(h);
    ouro_list_extend(g, f);
    CHECK_EQ(ouro_sizeof(g), 72);
    ouro_decref(g);
    ouro_decref(l);
    ouro_decref(f);
    tl_heap_done(h);
}

TEST(list_operations)
{
    ouro_heap *h = tl_heap();
    ouro_object *l = ouro_list_new(h);
    for (int i = 0; i < 5; i++)
        ouro_list_append(l, I(h, i));
    CHECK_EQ(ouro_list_insert(l, 0, I(h, -1)), 0);
    CHECK_EQ(ouro_list_insert(l, -1, I(h, 99)), 0);  /* before the last */
    CHECK_EQ(ouro_list_insert(l, 100, I(h, 100)), 0); /* clamps: appends */
    ouro_object *m100 = I(h, -100);
    CHECK_EQ(ouro_list_insert(l, -100, m100), 0);
    ouro_decref(m100);
    CHECK_STR(tt_repr(l), "[-100, -1, 0, 1, 2, 3, 99, 4, 100]");
    CHECK(ouro_list_get(l, -2) == I(h, 4));
    CHECK(ouro_list_get(l, 9) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ERANGE);
    CHECK_EQ(ouro_list_set(l, 0, I(h, 7)), 0);
    CHECK_EQ(ouro_list_set(l, 9, I(h, 7)), OURO_ERANGE);
    CHECK_EQ(ouro_list_del(l, 1), 0);
    CHECK_EQ(ouro_list_del(l, -20), OURO_ERANGE);
    ouro_object *p = ouro_list_pop(l, 0);
    CHECK(p == I(h, 7));
    CHECK(ouro_list_pop(l, 50) == NULL);
    CHECK_EQ(ouro_list_index(l, I(h, 99)), 4);
    CHECK_EQ(ouro_list_index(l, I(h, 55)), OURO_ENOTFOUND);
    ouro_object *two = ouro_float_new(h, 2.0);
    CHECK_EQ(ouro_list_contains(l, two), 1);
    CHECK_EQ(ouro_list_reverse(l), 0);
    CHECK_STR(tt_repr(l), "[100, 4, 99, 3, 2, 1, 0]");
    CHECK_EQ(ouro_list_extend(l, l), 0); /* l.extend(l) doubles it */
    CHECK_EQ(ouro_list_len(l), 14);
    CHECK_EQ(ouro_list_sort(l), 0);
    CHECK_STR(tt_repr(l), "[0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 99, 99, 100, 100]");
    CHECK_EQ(ouro_list_append(l, two), 0);
    CHECK_EQ(ouro_list_sort(l), 0); /* mixed int and float: by value, stable */
    CHECK(ouro_list_get(l, 4) == I(h, 2) && ouro_list_get(l, 6) == two);
    ouro_object *s = ouro_str_from(h, "x");
    CHECK_EQ(ouro_list_append(l, s), 0);
    ouro_object *before = ouro_list_from_iter(h, l);
    CHECK_EQ(ouro_list_sort(l), OURO_ETYPE); /* str and int: unchanged */
    CHECK_EQ(ouro_equal(l, before), 1);
    CHECK_EQ(ouro_list_clear(l), 0);
    CHECK_EQ(ouro_list_len(l), 0);
    CHECK_EQ(ouro_sizeof(l), 40);
    CHECK_EQ(ouro_list_append(s, s), OURO_ETYPE);
    CHECK_EQ(ouro_list_append(l, NULL), OURO_EINVAL);
    CHECK_EQ(ouro_list_len(NULL), 0);
    ouro_decref(before);
    ouro_decref(two);
    ouro_decref(s);
    ouro_decref(l);
    tl_heap_done(h);
}

TEST(list_sort_strings_and_large)
{
    ouro_heap *h = tl_heap();
    const char *words[] = {"pear", "apple", "fig", "banana", "apple", "cherry"};
    ouro_object *l = ouro_list_new(h);
    for (int i = 0; i < 6; i++) {
        ouro_object *w = ouro_str_from(h, words[i]);
        ouro_list_append(l, w);
        ouro_decref(w);
    }
    CHECK_EQ(ouro_list_sort(l), 0);
    CHECK_STR(tt_repr(l), "['apple', 'apple', 'banana', 'cherry', 'fig', 'pear']");
    ouro_list_clear(l);
    srand(7);
    for (int i = 0; i < 5000; i++) {
        ouro_object *v = I(h, rand() % 100000);
        ouro_list_append(l, v);
        ouro_decref(v);
    }
    CHECK_EQ(ouro_list_sort(l), 0);
    for (int i = 1; i < 5000; i++)
        CHECK(ouro_int_value(ouro_list_get(l, i - 1)) <= ouro_int_value(ouro_list_get(l, i)));
    ouro_decref(l);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ dict */

TEST(dict_basic_operations_and_order)
{
    ouro_heap *h = tl_heap();
    ouro_object *d = ouro_dict_new(h);
    CHECK_EQ(ouro_sizeof(d), 32); /* no table yet */
    CHECK_EQ(ouro_dict_set_str(d, "a", I(h, 1)), 0);
    CHECK_EQ(ouro_dict_set_str(d, "b", I(h, 2)), 0);
    CHECK_EQ(ouro_dict_set_str(d, "c", I(h, 3)), 0);
    CHECK_EQ(ouro_dict_set_str(d, "a", I(h, 10)), 0); /* replace keeps the position */
    CHECK_STR(tt_repr(d), "{'a': 10, 'b': 2, 'c': 3}");
    CHECK(ouro_dict_get_str(d, "b") == I(h, 2));
    CHECK(ouro_dict_get_str(d, "zz") == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ENOTFOUND);
    ouro_object *kb = ouro_str_from(h, "b");
    CHECK_EQ(ouro_dict_del(d, kb), 0);
    CHECK_EQ(ouro_dict_del(d, kb), OURO_ENOTFOUND);
    CHECK_EQ(ouro_dict_set(d, kb, I(h, 20)), 0); /* re-added: at the end */
    CHECK_STR(tt_repr(d), "{'a': 10, 'c': 3, 'b': 20}");
    CHECK_EQ(ouro_dict_len(d), 3);
    CHECK_EQ(ouro_len(d), 3);
    ouro_object *k = NULL, *v = NULL;
    CHECK_EQ(ouro_dict_popitem(d, &k, &v), 0); /* LIFO */
    CHECK(ouro_equal(k, kb) == 1 && v == I(h, 20));
    ouro_decref(k);
    ouro_object *ka = ouro_str_from(h, "a");
    ouro_object *pa = ouro_dict_pop(d, ka);
    CHECK(pa == I(h, 10));
    CHECK(ouro_dict_pop(d, ka) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ENOTFOUND);
    CHECK_EQ(ouro_dict_contains(d, ka), 0);
    ouro_object *one = I(h, 1), *onef = ouro_float_new(h, 1.0);
    CHECK_EQ(ouro_dict_set(d, one, ka), 0);
    CHECK(ouro_dict_get(d, onef) == ka); /* d[1.0] finds key 1 */
    CHECK_EQ(ouro_dict_set(d, onef, kb), 0);
    CHECK_EQ(ouro_dict_len(d), 2);
    CHECK_STR(tt_repr(d), "{'c': 3, 1: 'b'}"); /* the key stays 1 */
    ouro_object *l = ouro_list_new(h);
    CHECK_EQ(ouro_dict_set(d, l, l), OURO_ETYPE);
    CHECK(ouro_dict_get(d, l) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ETYPE);
    CHECK_EQ(ouro_dict_set(l, one, one), OURO_ETYPE);
    CHECK_EQ(ouro_dict_set(d, one, NULL), OURO_EINVAL);
    ouro_object *c = ouro_dict_copy(d);
    CHECK_EQ(ouro_equal(c, d), 1);
    CHECK_EQ(ouro_dict_clear(d), 0);
    CHECK_EQ(ouro_dict_len(d), 0);
    CHECK_EQ(ouro_dict_popitem(d, NULL, NULL), OURO_ENOTFOUND);
    CHECK_EQ(ouro_equal(c, d), 0);
    CHECK_STR(tt_repr(d), "{}");
    ouro_decref(c);
    ouro_decref(l);
    ouro_decref(onef);
    ouro_decref(ka);
    ouro_decref(kb);
    ouro_decref(d);
    tl_heap_done(h);
}

TEST(dict_many_keys_against_a_reference)
{
    ouro_heap *h = tl_heap();
    enum { N = 20000 };
    static char present[N];
    memset(present, 0, sizeof present);
    ouro_object *d = ouro_dict_new(h);
    srand(42);
    for (int step = 0; step < 100000; step++) {
        int k = rand() % N;
        ouro_object *key = I(h, k * 7919);
        int op = rand() % 3;
        if (op < 2) {
            CHECK_EQ(ouro_dict_set(d, key, key), 0);
            present[k] = 1;
        } else {
            CHECK_EQ(ouro_dict_del(d, key), present[k] ? 0 : OURO_ENOTFOUND);
            present[k] = 0;
        }
        ouro_decref(key);
    }
    size_t count = 0;
    for (int k = 0; k < N; k++) {
        ouro_object *key = I(h, k * 7919);
        CHECK_EQ(ouro_dict_contains(d, key), present[k]);
        count += present[k];
        ouro_decref(key);
    }
    CHECK_EQ(ouro_dict_len(d), count);
    /* walk: every key once */
    size_t pos = 0, seen = 0;
    ouro_object *k, *v;
    while (ouro_dict_next(d, &pos, &k, &v)) {
        CHECK_EQ(ouro_equal(k, v), 1);
        seen++;
    }
    CHECK_EQ(seen, count);
    ouro_decref(d);
    tl_heap_done(h);
}

TEST(dict_tracking_follows_contents)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_object *d = ouro_dict_new(h);
    CHECK(!ouro_gc_is_tracked(d)); /* {} is untracked in CPython */
    ouro_object *s = ouro_str_from(h, "k");
    ouro_dict_set(d, s, I(h, 1));
    CHECK(!ouro_gc_is_tracked(d)); /* atomic contents */
    ouro_object *t = ouro_tuple_pack(h, 1, I(h, 1));
    ouro_dict_set(d, I(h, 2), t); /* a tracked tuple may hold anything */
    CHECK(ouro_gc_is_tracked(d));
    ouro_object *d2 = ouro_dict_new(h), *l = ouro_list_new(h);
    ouro_dict_set(d2, s, l);
    CHECK(ouro_gc_is_tracked(d2));
    ouro_decref(d2);
    ouro_decref(l);
    ouro_decref(t);
    ouro_decref(s);
    ouro_decref(d);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ set */

TEST(set_operations)
{
    ouro_heap *h = tl_heap();
    ouro_object *s = ouro_set_new(h);
    CHECK_STR(tt_repr(s), "set()");
    CHECK_EQ(ouro_sizeof(s), 56);
    CHECK_EQ(ouro_set_add(s, I(h, 1)), 1);
    CHECK_EQ(ouro_set_add(s, I(h, 1)), 0);
    ouro_object *f = ouro_float_new(h, 1.0);
    CHECK_EQ(ouro_set_add(s, f), 0); /* 1.0 == 1 */
    CHECK_EQ(ouro_set_contains(s, f), 1);
    ouro_object *w = ouro_str_from(h, "w");
    CHECK_EQ(ouro_set_add(s, w), 1);
    CHECK_EQ(ouro_set_len(s), 2);
    CHECK_EQ(ouro_set_discard(s, w), 1);
    CHECK_EQ(ouro_set_discard(s, w), 0);
    CHECK_EQ(ouro_set_contains(s, w), 0);
    ouro_object *l = ouro_list_new(h);
    CHECK_EQ(ouro_set_add(s, l), OURO_ETYPE);
    CHECK_EQ(ouro_set_add(l, s), OURO_ETYPE);
    for (int i = 0; i < 10000; i++) {
        ouro_object *k = I(h, i * 31);
        CHECK_EQ(ouro_set_add(s, k), 1);
        ouro_decref(k);
    }
    for (int i = 0; i < 10000; i += 2) {
        ouro_object *k = I(h, i * 31);
        CHECK_EQ(ouro_set_discard(s, k), 1);
        ouro_decref(k);
    }
    CHECK_EQ(ouro_set_len(s), 5000 + 1);
    size_t n = 0;
    ouro_object *p;
    while ((p = ouro_set_pop(s)) != NULL) {
        ouro_decref(p);
        n++;
    }
    CHECK_EQ(ouro_heap_last_error(h), OURO_ENOTFOUND);
    CHECK_EQ(n, 5001);
    ouro_set_add(s, w);
    ouro_object *s2 = ouro_set_new(h);
    ouro_object *w2 = ouro_str_from(h, "w");
    ouro_set_add(s2, w2);
    CHECK_EQ(ouro_equal(s, s2), 1);
    CHECK_STR(tt_repr(s2), "{'w'}");
    CHECK_EQ(ouro_set_clear(s), 0);
    CHECK_EQ(ouro_set_len(s), 0);
    ouro_decref(w2);
    ouro_decref(s2);
    ouro_decref(l);
    ouro_decref(w);
    ouro_decref(f);
    ouro_decref(s);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ array */

TEST(array_typecodes_and_ranges)
{
    ouro_heap *h = tl_heap();
    const char *codes = "bBhHiIlLqQfd";
    const int sizes[] = {1, 1, 2, 2, 4, 4, 8, 8, 8, 8, 4, 8};
    for (int i = 0; codes[i]; i++) {
        ouro_object *a = ouro_array_new(h, codes[i]);
        CHECK(a != NULL);
        CHECK_EQ(ouro_array_itemsize(a), sizes[i]);
        CHECK_EQ(ouro_array_typecode(a), codes[i]);
        ouro_decref(a);
    }
    CHECK(ouro_array_new(h, 'x') == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    ouro_object *b = ouro_array_new(h, 'b');
    CHECK_EQ(ouro_array_append_int(b, 127), 0);
    CHECK_EQ(ouro_array_append_int(b, 128), OURO_ERANGE);
    CHECK_EQ(ouro_array_append_int(b, -128), 0);
    CHECK_EQ(ouro_array_append_double(b, 1.5), OURO_ETYPE);
    ouro_object *B = ouro_array_new(h, 'B');
    CHECK_EQ(ouro_array_append_int(B, -1), OURO_ERANGE);
    ouro_object *H = ouro_array_new(h, 'H');
    CHECK_EQ(ouro_array_append_int(H, 65536), OURO_ERANGE);
    ouro_object *ia = ouro_array_new(h, 'i');
    CHECK_EQ(ouro_array_append_int(ia, 2147483648LL), OURO_ERANGE);
    CHECK_EQ(ouro_array_append_int(ia, -2147483648LL), 0);
    ouro_object *d = ouro_array_new(h, 'd');
    CHECK_EQ(ouro_array_append_int(d, 3), 0); /* ints go into float arrays */
    CHECK_EQ(ouro_array_append_double(d, 0.5), 0);
    ouro_object *f = ouro_float_new(h, 2.25);
    CHECK_EQ(ouro_array_append(d, f), 0);
    CHECK_EQ(ouro_array_append(d, d), OURO_ETYPE);
    CHECK_STR(tt_repr(d), "array('d', [3.0, 0.5, 2.25])");
    CHECK_STR(tt_repr(b), "array('b', [127, -128])");
    int64_t iv;
    double dv;
    CHECK_EQ(ouro_array_get_int(b, -1, &iv), 0);
    CHECK_EQ(iv, -128);
    CHECK_EQ(ouro_array_get_int(b, 2, &iv), OURO_ERANGE);
    CHECK_EQ(ouro_array_get_int(d, 0, &iv), OURO_ETYPE);
    CHECK_EQ(ouro_array_get_double(b, 0, &dv), 0);
    CHECK(dv == 127.0);
    CHECK_EQ(ouro_array_set_int(b, 0, 5), 0);
    CHECK_EQ(ouro_array_set_int(b, 0, 500), OURO_ERANGE);
    CHECK_EQ(ouro_array_set_double(d, 1, 9.5), 0);
    CHECK_EQ(ouro_array_set_double(b, 0, 9.5), OURO_ETYPE);
    ouro_object *x = ouro_array_get(d, 1);
    CHECK(ouro_float_value(x) == 9.5);
    ouro_decref(x);
    x = ouro_array_get(b, 0);
    CHECK(x == I(h, 5)); /* boxed from the small-int cache */
    CHECK_EQ(ouro_array_pop(d, 0), 0);
    CHECK_EQ(ouro_array_len(d), 2);
    CHECK_EQ(ouro_array_pop(d, 7), OURO_ERANGE);
    ouro_object *q = ouro_array_new(h, 'q');
    for (int i = 0; i < 1000; i++)
        ouro_array_append_int(q, i);
    CHECK_EQ(ouro_array_len(q), 1000);
    CHECK(ouro_sizeof(q) >= 48 + 8000 && ouro_sizeof(q) < 48 + 8000 + 8 * 80);
    CHECK_EQ(ouro_array_set_int(ia, 0, 5), 0);
    ouro_object *ia2 = ouro_array_new(h, 'd');
    ouro_array_append_double(ia2, 5.0);
    CHECK_EQ(ouro_equal(ia, ia2), 1); /* array('i', [5]) == array('d', [5.0]) */
    ouro_decref(ia2);
    ouro_decref(q);
    ouro_decref(f);
    ouro_decref(b);
    ouro_decref(B);
    ouro_decref(H);
    ouro_decref(ia);
    ouro_decref(d);
    tl_heap_done(h);
}

/* ------------------------------------------------------------ records */

static const char *const point_fields[] = {"x", "y"};
static ouro_record_type Point = OURO_RECORD_TYPE("Point", point_fields, 2);

TEST(records_fields_and_names)
{
    ouro_heap *h = tl_heap();
    ouro_object *p = ouro_record_make(h, &Point, (ouro_object *[]){I(h, 1), I(h, 2)});
    CHECK_EQ(ouro_sizeof(p), 32);
    CHECK_STR(tt_repr(p), "Point(x=1, y=2)");
    CHECK(ouro_record_getattr(p, "y") == I(h, 2));
    CHECK(ouro_record_getattr(p, "z") == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ENOTFOUND);
    CHECK_EQ(ouro_record_setattr(p, "x", I(h, 10)), 0);
    CHECK(ouro_record_get(p, 0) == I(h, 10));
    CHECK(ouro_record_get(p, 2) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ERANGE);
    CHECK_EQ(ouro_record_set(p, 1, NULL), 0);
    CHECK_STR(tt_repr(p), "Point(x=10, y=None)");
    CHECK_EQ(ouro_record_index(&Point, "y"), 1);
    CHECK_EQ(ouro_record_setattr(p, "nope", NULL), OURO_ENOTFOUND);
    CHECK(ouro_record_check(p) && ouro_gc_is_tracked(p));
    CHECK_EQ(ouro_len(p), 2);
    ouro_object *q = ouro_record_new(h, &Point);
    ouro_record_set(q, 0, I(h, 10));
    CHECK_EQ(ouro_equal(p, q), 1);
    ouro_object *l = ouro_list_new(h);
    CHECK_EQ(ouro_record_set(l, 0, NULL), OURO_ETYPE);
    ouro_record_type bad = Point;
    bad.nfields = 3;
    CHECK(ouro_record_new(h, &bad) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    ouro_decref(l);
    ouro_decref(q);
    ouro_decref(p);
    tl_heap_done(h);
}
