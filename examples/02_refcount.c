/*
 * 02_refcount — the reference count walks up and down with every name and
 * container slot, and the object's finalizer (__del__) runs the moment it
 * reaches zero.  sys.getrefcount(r) says one more than ouro_refcount(r):
 * its own argument is a reference too.
 */
#include "example.h"

typedef struct resource {
    OURO_HEAD;
} resource;

static void resource_finalize(ouro_heap *h, ouro_object *self)
{
    (void)h;
    (void)self;
    ex_out("Resource freed");
}

static ouro_type resource_type = {
    .name = "Resource",
    .basic_size = sizeof(resource),
    .finalize = resource_finalize,
};

static void show_count(ouro_object *r)
{
    ex_step("print(sys.getrefcount(r))", "refcount %u (+1 for getrefcount's argument)",
            ouro_refcount(r));
    ex_out("%u", ouro_refcount(r) + 1);
}

static int example_02_refcount(void)
{
    ex_title("02_refcount", "the reference count walks to zero",
             "   Every name and every container slot holding the object counts; at zero\n"
             "   the object is finalized and freed at once, not at some later collection.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ex_src("import sys");
    ex_src("");
    ex_src("class Resource:");
    ex_src("    def __del__(self):");
    ex_src("        print(\"Resource freed\")");
    ex_src("");
    ouro_object *r = ouro_new(h, &resource_type);
    ex_step("r = Resource()", "new Resource, refcount %u", ouro_refcount(r));
    show_count(r);
    ouro_object *alias = r;
    ouro_incref(alias);
    ex_step("alias = r", "refcount %u", ouro_refcount(r));
    show_count(r);
    ouro_object *holders = ouro_list_from(h, (ouro_object *[]){r, r}, 2);
    ex_step("holders = [r, r]", "two list slots: refcount %u", ouro_refcount(r));
    show_count(r);
    ouro_clear(&alias);
    ex_step("del alias", "refcount %u", ouro_refcount(r));
    show_count(r);
    ouro_list_clear(holders);
    ex_step("holders.clear()", "refcount %u", ouro_refcount(r));
    show_count(r);
    ex_step("del r", "refcount 0: the finalizer runs now, then the block is freed");
    ouro_clear(&r);
    ex_step("print(\"done\")", "%zu objects alive (the empty list)", ex_live(h));
    ex_out("done");
    ouro_decref(holders);
    return ex_finish(h);
}

EX_MAIN(example_02_refcount)
