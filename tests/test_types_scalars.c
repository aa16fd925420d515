/* Built-in types: int, float, str, bytes, hashing, equality and repr.
 * Expected values are CPython 3.11's for the same values. */
#include "testlib.h"
#include "ttypes.h"

#include <math.h>
#include <string.h>

TEST(int_small_cache_is_shared_and_immortal)
{
    ouro_heap *h = tl_heap();
    ouro_object *a = ouro_int_new(h, 7), *b = ouro_int_new(h, 7);
    CHECK(a == b);
    CHECK(ouro_is_immortal(a));
    CHECK(ouro_int_new(h, -5) == ouro_int_new(h, -5));
    CHECK(ouro_int_new(h, 256) == ouro_int_new(h, 256));
    ouro_object *c = ouro_int_new(h, 257), *d = ouro_int_new(h, 257);
    CHECK(c != d); /* outside the cache, as in CPython */
    CHECK(!ouro_is_immortal(c));
    CHECK_EQ(ouro_int_value(c), 257);
    int64_t v;
    CHECK_EQ(ouro_int_get(d, &v), 0);
    CHECK_EQ(v, 257);
    CHECK_EQ(ouro_sizeof(c), 24);
    ouro_decref(a); /* no effect on immortal objects */
    ouro_decref(c);
    ouro_decref(d);
    ouro_object *m = ouro_int_new(h, INT64_MIN);
    CHECK_STR(tt_repr(m), "-9223372036854775808");
    ouro_decref(m);
    tl_heap_done(h);
}

TEST(int_float_accessors_and_wrong_types)
{
    ouro_heap *h = tl_heap();
    ouro_object *f = ouro_float_new(h, 2.5), *i = ouro_int_new(h, 3);
    int64_t v;
    double d;
    CHECK_EQ(ouro_int_get(f, &v), OURO_ETYPE);
    CHECK_EQ(ouro_float_get(f, &d), 0);
    CHECK(d == 2.5);
    CHECK_EQ(ouro_float_get(i, &d), 0); /* an int converts */
    CHECK(d == 3.0);
    ouro_object *s = ouro_str_from(h, "x");
    CHECK_EQ(ouro_float_get(s, &d), OURO_ETYPE);
    CHECK_EQ(ouro_int_value(s), 0);
    CHECK(ouro_float_check(f) && !ouro_float_check(i) && ouro_int_check(i));
    CHECK_EQ(ouro_sizeof(f), 24);
    CHECK_STR(ouro_type_name(f), "float");
    ouro_decref(f);
    ouro_decref(s);
    tl_heap_done(h);
}

TEST(number_hashes_match_python)
{
    ouro_heap *h = tl_heap();
    struct { double f; int64_t want; } fl[] = {
        {1.0, 1}, {0.5, 1152921504606846976LL}, {-0.5, -1152921504606846976LL},
        {1.5, 1152921504606846977LL}, {-1.0, -2}, {1e100, 1822893315824342674LL},
        {3.141592653589793, 326490430436040707LL}, {INFINITY, 314159}, {-INFINITY, -314159},
        {0.0, 0}, {-0.0, 0},
    };
    for (size_t k = 0; k < sizeof fl / sizeof fl[0]; k++) {
        ouro_object *o = ouro_float_new(h, fl[k].f);
        CHECK_EQ(tt_hash(o), fl[k].want);
        ouro_decref(o);
    }
    struct { int64_t i; int64_t want; } in[] = {
        {1, 1}, {-1, -2}, {-2, -2}, {(1LL << 61) - 1, 0}, {(1LL << 61), 1},
        {INT64_MAX, 3}, {INT64_MIN, -4}, {123456789, 123456789},
    };
    for (size_t k = 0; k < sizeof in / sizeof in[0]; k++) {
        ouro_object *o = ouro_int_new(h, in[k].i);
        CHECK_EQ(tt_hash(o), in[k].want);
        ouro_decref(o);
    }
    tl_heap_done(h);
}

TEST(numbers_compare_across_int_and_float)
{
    ouro_heap *h = tl_heap();
    ouro_object *one = ouro_int_new(h, 1), *onef = ouro_float_new(h, 1.0);
    ouro_object *big = ouro_int_new(h, (1LL << 53) + 1), *bigf = ouro_float_new(h, 9007199254740993.0);
    ouro_object *nan = ouro_float_new(h, NAN);
    CHECK_EQ(ouro_equal(one, onef), 1);
    CHECK_EQ(ouro_equal(onef, one), 1);
    CHECK_EQ(ouro_equal(big, bigf), 0); /* the float rounds to 2^53 */
    CHECK_EQ(ouro_equal(nan, nan), 1);  /* identity first, as containers do */
    ouro_object *nan2 = ouro_float_new(h, NAN);
    CHECK_EQ(ouro_equal(nan, nan2), 0);
    ouro_decref(onef);
    ouro_decref(big);
    ouro_decref(bigf);
    ouro_decref(nan);
    ouro_decref(nan2);
    tl_heap_done(h);
}

TEST(float_repr_is_pythons)
{
    ouro_heap *h = tl_heap();
    struct { double v; const char *want; } c[] = {
        {0.1, "0.1"}, {1.0, "1.0"}, {-0.0, "-0.0"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
        {1e-5, "1e-05"}, {0.0001, "0.0001"}, {123.456, "123.456"}, {1.0 / 3, "0.3333333333333333"},
        {2.5e-300, "2.5e-300"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
        {INFINITY, "inf"}, {-INFINITY, "-inf"}, {NAN, "nan"}, {100.0, "100.0"},
        {123456789012345678.0, "1.2345678901234568e+17"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        ouro_object *o = ouro_float_new(h, c[k].v);
        CHECK_STR(tt_repr(o), c[k].want);
        ouro_decref(o);
    }
    tl_heap_done(h);
}

TEST(str_utf8_lengths_and_sizes)
{
    ouro_heap *h = tl_heap();
    ouro_object *s = ouro_str_from(h, "h\xc3\xa9llo"); /* héllo */
    CHECK_EQ(ouro_str_len(s), 5);
    CHECK_EQ(ouro_str_nbytes(s), 6);
    CHECK_EQ(ouro_len(s), 5);
    CHECK_STR(ouro_str_data(s), "h\xc3\xa9llo");
    CHECK_EQ(ouro_sizeof(s), 41 + 6 + 1);
    ouro_object *e = ouro_str_new(h, "", 0), *e2 = ouro_str_from(h, "");
    CHECK(e == e2 && ouro_is_immortal(e)); /* one empty str per heap */
    CHECK_EQ(ouro_sizeof(e), 42);
    ouro_object *j = ouro_str_from(h, "\xe6\x97\xa5\xf0\x9f\x98\x80"); /* 日😀 */
    CHECK_EQ(ouro_str_len(j), 2);
    ouro_decref(j);
    ouro_decref(s);
    tl_heap_done(h);
}

TEST(str_rejects_invalid_utf8)
{
    ouro_heap *h = tl_heap();
    const char *bad[] = {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\x80"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK(ouro_str_from(h, bad[k]) == NULL);
        CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    }
    CHECK(ouro_str_new(h, NULL, 3) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    CHECK(ouro_str_data(NULL) == NULL || 1);
    tl_heap_done(h);
}

TEST(str_concat_equal_hash_repr)
{
    ouro_heap *h = tl_heap();
    ouro_object *a = ouro_str_from(h, "ab"), *b = ouro_str_from(h, "cd");
    ouro_object *ab = ouro_str_concat(h, a, b), *ab2 = ouro_str_from(h, "abcd");
    CHECK_STR(ouro_str_data(ab), "abcd");
    CHECK_EQ(ouro_equal(ab, ab2), 1);
    CHECK_EQ(tt_hash(ab), tt_hash(ab2));
    CHECK_EQ(ouro_equal(a, b), 0);
    ouro_object *one = ouro_int_new(h, 1);
    CHECK(ouro_str_concat(h, a, one) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ETYPE);
    ouro_object *q = ouro_str_from(h, "it's \"x\"\n\\");
    CHECK_STR(tt_repr(q), "'it\\'s \"x\"\\n\\\\'");
    ouro_object *q2 = ouro_str_from(h, "it's");
    CHECK_STR(tt_repr(q2), "\"it's\"");
    ouro_decref(a);
    ouro_decref(b);
    ouro_decref(ab);
    ouro_decref(ab2);
    ouro_decref(q);
    ouro_decref(q2);
    tl_heap_done(h);
}

TEST(interning_gives_one_object_and_forgets_the_dead)
{
    ouro_heap *h = tl_heap();
    ouro_object *a = ouro_str_intern(h, "status", 6);
    ouro_object *b = ouro_str_intern(h, "status", 6);
    CHECK(a == b);
    CHECK_EQ(ouro_refcount(a), 2); /* the table holds no reference */
    CHECK(ouro_str_is_interned(a));
    ouro_object *c = ouro_str_from(h, "status");
    CHECK(c != a && !ouro_str_is_interned(c));
    CHECK_EQ(ouro_intern(&c), 0); /* sys.intern(c) */
    CHECK(c == a);
    CHECK_EQ(ouro_str_interned_count(h), 1);
    ouro_object *d = ouro_str_from(h, "other");
    CHECK_EQ(ouro_intern(&d), 0); /* d itself becomes the interned one */
    CHECK(ouro_str_is_interned(d));
    CHECK_EQ(ouro_str_interned_count(h), 2);
    ouro_decref(a);
    ouro_decref(b);
    ouro_decref(c);
    CHECK_EQ(ouro_str_interned_count(h), 1); /* "status" died and left */
    ouro_object *e = ouro_str_intern(h, "status", 6);
    CHECK_EQ(ouro_refcount(e), 1);
    ouro_decref(e);
    ouro_decref(d);
    CHECK_EQ(ouro_str_interned_count(h), 0);
    /* many strings: the table grows and drops its tombstones */
    ouro_object *keep[300];
    char name[32];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "name%d", i);
        keep[i] = ouro_str_intern(h, name, strlen(name));
        CHECK(keep[i] != NULL);
    }
    for (int i = 0; i < 300; i += 2)
        ouro_decref(keep[i]);
    for (int i = 1; i < 300; i += 2) {
        snprintf(name, sizeof name, "name%d", i);
        ouro_object *again = ouro_str_intern(h, name, strlen(name));
        CHECK(again == keep[i]);
        ouro_decref(again);
        ouro_decref(keep[i]);
    }
    CHECK_EQ(ouro_str_interned_count(h), 0);
    CHECK_EQ(ouro_intern(NULL), OURO_EINVAL);
    ouro_object *n = ouro_int_new(h, 5);
    CHECK_EQ(ouro_intern(&n), OURO_ETYPE);
    tl_heap_done(h);
}

TEST(bytes_basics)
{
    ouro_heap *h = tl_heap();
    ouro_object *b = ouro_bytes_new(h, "a\x00\xff'", 4);
    CHECK_EQ(ouro_bytes_len(b), 4);
    CHECK_EQ(ouro_bytes_data(b)[2], 0xff);
    CHECK_EQ(ouro_sizeof(b), 32 + 4 + 1);
    CHECK_STR(tt_repr(b), "b\"a\\x00\\xff'\"");
    ouro_object *e = ouro_bytes_new(h, NULL, 0), *e2 = ouro_bytes_new(h, "", 0);
    CHECK(e == e2 && ouro_is_immortal(e));
    CHECK_STR(tt_repr(e), "b''");
    ouro_object *s = ouro_str_from(h, "a");
    ouro_object *ba = ouro_bytes_new(h, "a", 1);
    CHECK_EQ(ouro_equal(s, ba), 0); /* str and bytes never compare equal */
    CHECK(ouro_bytes_new(h, NULL, 2) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_EINVAL);
    ouro_decref(b);
    ouro_decref(s);
    ouro_decref(ba);
    tl_heap_done(h);
}

TEST(len_and_builtin_checks)
{
    ouro_heap *h = tl_heap();
    ouro_object *i = ouro_int_new(h, 1000);
    CHECK_EQ(ouro_len(i), OURO_ETYPE);
    CHECK(ouro_is_builtin(i));
    CHECK(!ouro_is_builtin(NULL));
    ouro_decref(i);
    tl_heap_done(h);
}

/* Every constructor, failing its Nth allocation for N = 1, 2, ... until it
 * succeeds: NULL and ENOMEM each time, and a consistent, empty heap. */
TEST(scalar_constructors_out_of_memory)
{
    for (int which = 0; which < 6; which++) {
        for (uint64_t n = 1; n < 50; n++) {
            ouro_config cfg;
            ouro_config_init(&cfg);
            cfg.debug = OURO_DEBUG_CHECKS;
            cfg.leak_policy = OURO_LEAKS_FAIL;
            cfg.fail_alloc_at = n;
            ouro_heap *h = tl_heap_cfg(&cfg);
            ouro_object *o = NULL, *p = NULL;
            switch (which) {
            case 0: o = ouro_int_new(h, 5); break;
            case 1: o = ouro_int_new(h, 5000); break;
            case 2: o = ouro_float_new(h, 1.5); break;
            case 3: o = ouro_str_from(h, "hello"); break;
            case 4: o = ouro_str_intern(h, "hello", 5); p = o ? ouro_str_intern(h, "hello", 5) : NULL; break;
            default: o = ouro_bytes_new(h, "", 0); break;
            }
            if (!o)
                CHECK_EQ(ouro_heap_last_error(h), OURO_ENOMEM);
            CHECK_EQ(ouro_heap_check(h), 0);
            if (p)
                ouro_decref(p);
            int done = o != NULL;
            if (o)
                ouro_decref(o);
            tl_heap_done(h);
            if (done)
                break;
        }
    }
}
