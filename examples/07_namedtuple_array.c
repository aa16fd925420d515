/*
 * 07_namedtuple_array — fixed fields instead of a dict, unboxed numbers
 * instead of a list of int objects.  A record keeps its field names in its
 * type, so an instance is the header and one pointer per field; an array
 * stores 4-byte C ints instead of pointers to 24-byte int objects.
 */
#include "example.h"

static const char *const point_fields[] = {"x", "y"};
static ouro_record_type Point = OURO_RECORD_TYPE("Point", point_fields, 2);

static int64_t sum_of(ouro_heap *h, ouro_object *iterable)
{
    int64_t s = 0;
    ouro_object *it = ouro_iter(h, iterable), *v;
    while (it && (v = ouro_iter_next(it)) != NULL) {
        s += ouro_int_value(v);
        ouro_decref(v);
    }
    ouro_xdecref(it);
    return s;
}

static int example_07_namedtuple_array(void)
{
    ex_title("07_namedtuple_array", "namedtuple and array against dict and list",
             "   Same data, less memory: compare sizes (and deep sizes, which count the\n"
             "   objects referred to as well).");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ouro_object *one = ouro_int_new(h, 1), *two = ouro_int_new(h, 2);
    ex_src("import array");
    ex_src("import sys");
    ex_src("from collections import namedtuple");
    ex_src("");
    ex_step("Point = namedtuple(\"Point\", [\"x\", \"y\"])", "a record type: 2 fields, names in the type");
    ouro_object *p = ouro_record_make(h, &Point, (ouro_object *[]){one, two});
    ex_step("p = Point(1, 2)", "record: %zu bytes", ouro_sizeof(p));
    ouro_object *d = ouro_dict_new(h);
    ouro_dict_set_str(d, "x", one);
    ouro_dict_set_str(d, "y", two);
    ex_step("d = {\"x\": 1, \"y\": 2}", "dict: %zu bytes + 2 key strs", ouro_sizeof(d));
    char pr[128];
    ouro_repr(p, pr, sizeof pr);
    ex_step("print(p, d)", "%s %s", pr, ex_repr(d));
    ex_out("%s %s", pr, ex_repr(d));
    ex_step("print(sys.getsizeof(p), sys.getsizeof(d))", "deep: record %zu, dict %zu",
            ouro_deep_sizeof(h, p, -1), ouro_deep_sizeof(h, d, -1));
    ex_out("%zu %zu", ouro_sizeof(p), ouro_sizeof(d));
    ex_step("print(sys.getsizeof(p) < sys.getsizeof(d))", "%zu < %zu", ouro_sizeof(p),
            ouro_sizeof(d));
    ex_out("%s", ex_bool(ouro_sizeof(p) < ouro_sizeof(d)));
    ouro_object *r = ouro_range_new(h, 0, 1000, 1);
    ouro_object *numbers = ouro_list_from_iter(h, r);
    ex_step("numbers = list(range(1000))", "list of 1000 pointers to int objects");
    ouro_object *packed = ouro_array_new(h, 'i');
    for (int i = 0; i < 1000; i++)
        ouro_array_append_int(packed, i);
    ex_step("packed = array.array(\"i\", range(1000))", "1000 C ints, 4 bytes each");
    int64_t s1 = sum_of(h, numbers), s2 = sum_of(h, packed);
    ex_step("print(sum(numbers) == sum(packed))", "both sum to %lld", (long long)s1);
    ex_out("%s", ex_bool(s1 == s2));
    ex_step("print(sys.getsizeof(numbers), sys.getsizeof(packed))",
            "deep: list %zu (with its ints), array %zu", ouro_deep_sizeof(h, numbers, -1),
            ouro_deep_sizeof(h, packed, -1));
    ex_out("%zu %zu", ouro_sizeof(numbers), ouro_sizeof(packed));
    ex_step("print(sys.getsizeof(packed) < sys.getsizeof(numbers))", "%zu < %zu",
            ouro_sizeof(packed), ouro_sizeof(numbers));
    ex_out("%s", ex_bool(ouro_sizeof(packed) < ouro_sizeof(numbers)));
    ouro_decref(packed);
    ouro_decref(numbers);
    ouro_decref(r);
    ouro_decref(d);
    ouro_decref(p);
    return ex_finish(h);
}

EX_MAIN(example_07_namedtuple_array)
