/*
 * 05_getsizeof — sys.getsizeof of a list: the list object and its array of
 * item pointers, not the items.  The array grows in steps (about 1/8 more
 * than needed), so most appends cost no allocation at all.  ouro's list is
 * 16 bytes smaller than CPython's at every step: its 16-byte object header
 * also holds the collector's links, which CPython keeps in a separate
 * 16-byte PyGC_Head in front of the object.
 */
#include "example.h"

static int example_05_getsizeof(void)
{
    ex_title("05_getsizeof", "sys.getsizeof of a list as it grows",
             "   The size steps at the same appends as CPython's (4, 8, 16, 24 slots...),\n"
             "   16 bytes below CPython's each time: no separate GC header.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ex_src("import sys");
    ex_src("");
    ouro_object *lit = ouro_tuple_pack(h, 3, ouro_int_new(h, 1), ouro_int_new(h, 2), ouro_int_new(h, 3));
    ouro_object *x = ouro_list_new(h);
    ouro_list_extend(x, lit); /* [1, 2, 3] is BUILD_LIST + LIST_EXTEND */
    ouro_decref(lit);
    ex_step("x = [1, 2, 3]", "list with room for %zu items", ouro_list_allocated(x));
    ex_step("print(sys.getsizeof(x))", "40-byte list + %zu pointers", ouro_list_allocated(x));
    ex_out("%zu", ouro_sizeof(x));
    ouro_object *items = ouro_list_new(h);
    ex_step("items = []", "no item array yet");
    ex_step("print(sys.getsizeof(items))", "just the 40-byte list object");
    ex_out("%zu", ouro_sizeof(items));
    ex_src("for i in range(10):");
    ex_src("    items.append(i)");
    size_t grew = 0, last = ouro_list_allocated(items);
    for (int i = 0; i < 10; i++) {
        ouro_list_append(items, ouro_int_new(h, i));
        if (ouro_list_allocated(items) != last) {
            grew++;
            last = ouro_list_allocated(items);
        }
    }
    ex_step("    print(len(items), sys.getsizeof(items))",
            "10 appends, %zu reallocations of the array", grew);
    ouro_list_clear(items);
    for (int i = 0; i < 10; i++) {
        ouro_list_append(items, ouro_int_new(h, i));
        ex_out("%zu %zu", ouro_list_len(items), ouro_sizeof(items));
    }
    ex_more("deep size of items with its ints: %zu bytes", ouro_deep_sizeof(h, items, -1));
    ouro_decref(items);
    ouro_decref(x);
    return ex_finish(h);
}

EX_MAIN(example_05_getsizeof)
