/*
 * 09_weakref — a child that points back at its parent through a weak
 * reference forms no cycle: the parent dies by reference counting the
 * moment its last name goes, and the weak reference then answers None.
 */
#include "example.h"

static const char *const node_fields[] = {"name", "parent", "children"};

static void node_finalize(ouro_heap *h, ouro_object *self)
{
    (void)h;
    ex_out("freeing %s", ouro_str_data(ouro_record_get(self, 0)));
}

static ouro_record_type Node = {
    .base = {.name = "Node",
             .basic_size = sizeof(ouro_object) + 3 * sizeof(ouro_object *),
             .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
             .traverse = ouro_record_traverse,
             .clear = ouro_record_clear,
             .finalize = node_finalize},
    .fields = node_fields,
    .nfields = 3,
};

static ouro_object *node_new(ouro_heap *h, const char *name)
{
    ouro_object *n = ouro_record_new(h, &Node);
    ouro_object *s = ouro_str_from(h, name), *children = ouro_list_new(h);
    ouro_record_set(n, 0, s);
    ouro_record_set(n, 2, children);
    ouro_decref(s);
    ouro_decref(children);
    return n;
}

static int example_09_weakref(void)
{
    ex_title("09_weakref", "a weak reference breaks the parent/child cycle",
             "   parent -> children -> child is strong; child -> parent is weak, so no\n"
             "   cycle: no collection is needed to free them.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ex_src("import gc");
    ex_src("import weakref");
    ex_src("");
    ex_src("class Node:");
    ex_src("    def __init__(self, name):");
    ex_src("        self.name = name");
    ex_src("        self.parent = None");
    ex_src("        self.children = []");
    ex_src("");
    ex_src("    def __del__(self):");
    ex_src("        print(\"freeing\", self.name)");
    ex_src("");
    ouro_gc_disable(h);
    ex_step("gc.disable()", "only reference counting from here on");
    ouro_object *parent = node_new(h, "parent");
    ex_step("parent = Node(\"parent\")", "refcount %u", ouro_refcount(parent));
    ouro_object *child = node_new(h, "child");
    ex_step("child = Node(\"child\")", "refcount %u", ouro_refcount(child));
    ouro_list_append(ouro_record_getattr(parent, "children"), child);
    ex_step("parent.children.append(child)", "refcount(child) %u", ouro_refcount(child));
    ouro_object *wr = ouro_weakref_new(h, parent, NULL, NULL);
    ouro_record_setattr(child, "parent", wr);
    ouro_decref(wr);
    ex_step("child.parent = weakref.ref(parent)", "refcount(parent) still %u",
            ouro_refcount(parent));
    ouro_object *back = ouro_weakref_get(ouro_record_getattr(child, "parent"));
    ex_step("print(child.parent() is parent)", "the weak reference resolves");
    ex_out("%s", ex_bool(back == parent));
    ouro_xdecref(back);
    ex_step("del parent", "refcount 0: freed now, its children list with it");
    ouro_clear(&parent);
    back = ouro_weakref_get(ouro_record_getattr(child, "parent"));
    ex_step("print(child.parent())", "the weak reference was cleared");
    ex_out("%s", back ? "<alive>" : "None");
    ouro_xdecref(back);
    ex_step("del child", "refcount %u -> 0", ouro_refcount(child));
    ouro_clear(&child);
    long n = ouro_gc_collect(h, 2);
    ex_step("print(gc.collect())", "no cycle was ever made: %zu objects alive", ex_live(h));
    ex_out("%ld", n);
    return ex_finish(h);
}

EX_MAIN(example_09_weakref)
