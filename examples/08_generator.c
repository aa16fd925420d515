/*
 * 08_generator — a generator holds one item at a time; a list comprehension
 * holds them all.  The lazy range and the map object (the C counterpart of
 * a generator expression) produce x * x on demand.
 */
#include "example.h"

static ouro_object *square(ouro_heap *h, ouro_object *x, void *ctx)
{
    (void)ctx;
    int64_t v = ouro_int_value(x);
    return ouro_int_new(h, v * v);
}

/* sum(iterable); *peak is the most objects alive at once while summing. */
static int64_t sum_peak(ouro_heap *h, ouro_object *iterable, size_t *peak)
{
    int64_t s = 0;
    size_t base = ex_live(h), n = 0;
    *peak = 0;
    ouro_object *it = ouro_iter(h, iterable), *v;
    while (it && (v = ouro_iter_next(it)) != NULL) {
        if (n++ % 10000 == 0 && ex_live(h) - base > *peak)
            *peak = ex_live(h) - base;
        s += ouro_int_value(v);
        ouro_decref(v);
    }
    ouro_xdecref(it);
    return s;
}

static int example_08_generator(void)
{
    ex_title("08_generator", "a generator against a list",
             "   The list holds 100,000 results at once; the generator makes each one\n"
             "   when asked and lets it go.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ex_src("import sys");
    ex_src("");
    size_t before = ex_live(h);
    ouro_object *r1 = ouro_range_new(h, 0, 100000, 1);
    ouro_object *g1 = ouro_map_new(h, square, NULL, r1);
    ouro_object *squares_list = ouro_list_new(h);
    ouro_object *v;
    while ((v = ouro_iter_next(g1)) != NULL) { /* the comprehension appends */
        ouro_list_append(squares_list, v);
        ouro_decref(v);
    }
    ouro_decref(g1);
    ouro_decref(r1);
    ex_step("squares_list = [x * x for x in range(100000)]", "%zu objects made, deep size %zu",
            ex_live(h) - before, ouro_deep_sizeof(h, squares_list, -1));
    ouro_object *r2 = ouro_range_new(h, 0, 100000, 1);
    ouro_object *squares_gen = ouro_map_new(h, square, NULL, r2);
    ouro_decref(r2);
    ex_step("squares_gen = (x * x for x in range(100000))",
            "3 objects: generator, range iterator, range: deep size %zu",
            ouro_deep_sizeof(h, squares_gen, -1));
    ex_step("print(sys.getsizeof(squares_list), sys.getsizeof(squares_gen))",
            "%zu item slots against 3 pointers", ouro_list_allocated(squares_list));
    ex_out("%zu %zu", ouro_sizeof(squares_list), ouro_sizeof(squares_gen));
    ex_step("print(sys.getsizeof(squares_gen) < sys.getsizeof(squares_list))", "%zu < %zu",
            ouro_sizeof(squares_gen), ouro_sizeof(squares_list));
    ex_out("%s", ex_bool(ouro_sizeof(squares_gen) < ouro_sizeof(squares_list)));
    size_t peak_list, peak_gen;
    int64_t a = sum_peak(h, squares_list, &peak_list);
    int64_t b = sum_peak(h, squares_gen, &peak_gen);
    ex_step("print(sum(squares_list) == sum(squares_gen))", "both %lld", (long long)a);
    ex_more("summing the generator: at most %zu new objects alive at once", peak_gen);
    ex_out("%s", ex_bool(a == b));
    ouro_decref(squares_gen);
    ouro_decref(squares_list);
    return ex_finish(h);
}

EX_MAIN(example_08_generator)
