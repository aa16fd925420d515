/*
 * 03_cycle — two objects that refer to each other keep each other's count
 * at one after every name is gone: reference counting alone never frees
 * them.  The cycle collector finds them unreachable and frees both.
 */
#include "example.h"

static const char *const a_fields[] = {"b"};
static const char *const b_fields[] = {"a"};
static ouro_record_type A = OURO_RECORD_TYPE("A", a_fields, 1);
static ouro_record_type B = OURO_RECORD_TYPE("B", b_fields, 1);

static int example_03_cycle(void)
{
    ex_title("03_cycle", "class A and B referencing each other; gc.collect()",
             "   a.b = b and b.a = a make a cycle.  After del a, del b nothing outside\n"
             "   refers to them, but each still holds the other: counts stay at 1.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ouro_gc_disable(h); /* only the explicit collection below runs */
    ex_src("import gc");
    ex_src("");
    ex_src("class A:");
    ex_src("    pass");
    ex_src("");
    ex_src("class B:");
    ex_src("    pass");
    ex_src("");
    ouro_object *a = ouro_record_new(h, &A);
    ex_step("a = A()", "A at %#lx, refcount 1", (unsigned long)ouro_id(a));
    ouro_object *b = ouro_record_new(h, &B);
    ex_step("b = B()", "B at %#lx, refcount 1", (unsigned long)ouro_id(b));
    ouro_record_set(a, 0, b);
    ex_step("a.b = b", "refcount(b) %u", ouro_refcount(b));
    ouro_record_set(b, 0, a);
    ex_step("b.a = a", "refcount(a) %u: a cycle", ouro_refcount(a));
    ouro_object *pa = a, *pb = b; /* kept only to show their counts */
    ouro_clear(&a);
    ex_step("del a", "refcount(a) %u: b still refers to it", ouro_refcount(pa));
    ouro_clear(&b);
    ex_step("del b", "refcount(b) %u: unreachable, yet %zu objects alive", ouro_refcount(pb),
            ex_live(h));
    long n = ouro_gc_collect(h, 2);
    ex_step("print(gc.collect())", "the collector found %ld unreachable objects and freed them",
            n);
    ex_more("%zu objects alive", ex_live(h));
    ex_out("%ld", n);
    return ex_finish(h);
}

EX_MAIN(example_03_cycle)
