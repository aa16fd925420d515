/*
 * 01_references — names are references: `y = x` copies a reference, not the
 * list; `del x` removes a name, not the object.  The list lives as long as
 * some reference to it does.
 */
#include "example.h"

static int example_01_references(void)
{
    ex_title("01_references", "x = [1, 2, 3]; y = x; del x; print(y)",
             "   Assignment binds a second name to the same object; del removes a name.\n"
             "   The object is freed only when its reference count reaches zero.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ouro_object *items[3] = {ouro_int_new(h, 1), ouro_int_new(h, 2), ouro_int_new(h, 3)};
    ouro_object *x = ouro_list_from(h, items, 3);
    ex_step("x = [1, 2, 3]", "new list at %#lx, refcount %u", (unsigned long)ouro_id(x),
            ouro_refcount(x));
    ouro_object *y = x;
    ouro_incref(y);
    ex_step("y = x", "same object, refcount %u", ouro_refcount(x));
    ouro_clear(&x);
    ex_step("del x", "name gone, refcount %u: still alive", ouro_refcount(y));
    ex_step("print(y)", "%s", ex_repr(y));
    ex_out("%s", ex_repr(y));
    ouro_clear(&y);
    ex_more("(end: y released, refcount 0, list freed; %zu objects left)", ex_live(h));
    return ex_finish(h);
}

EX_MAIN(example_01_references)
