/*
 * 11_with_scope — `with` releases resources at a known point, innermost
 * first.  ouro's scopes do the same for references: everything handed to a
 * scope is released when it ends, in reverse order.
 */
#include "example.h"

static void resource_close(ouro_heap *h, ouro_object *self)
{
    (void)h;
    ex_out("close %s", ouro_str_data(ouro_record_get(self, 0)));
}

static const char *const resource_fields[] = {"name"};
static ouro_record_type Resource = {
    .base = {.name = "Resource",
             .basic_size = sizeof(ouro_object) + sizeof(ouro_object *),
             .flags = OURO_TYPE_GC,
             .traverse = ouro_record_traverse,
             .clear = ouro_record_clear,
             .finalize = resource_close},
    .fields = resource_fields,
    .nfields = 1,
};

static ouro_object *open_resource(ouro_heap *h, const char *name)
{
    ouro_object *r = ouro_record_new(h, &Resource);
    ouro_object *s = ouro_str_from(h, name);
    ouro_record_set(r, 0, s);
    ouro_decref(s);
    ex_out("open %s", name);
    return r;
}

static int example_11_with_scope(void)
{
    ex_title("11_with_scope", "with-style scoped release",
             "   Leaving each block releases what it opened, innermost first.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ex_src("class Resource:");
    ex_src("    def __init__(self, name):");
    ex_src("        self.name = name");
    ex_src("        print(\"open\", name)");
    ex_src("");
    ex_src("    def __enter__(self):");
    ex_src("        return self");
    ex_src("");
    ex_src("    def __exit__(self, *exc):");
    ex_src("        print(\"close\", self.name)");
    ex_src("        return False");
    ex_src("");
    ouro_scope outer = ouro_scope_begin(h);
    ex_step("with Resource(\"a\") as a:", "scope begins");
    ouro_object *a = ouro_scope_add(h, open_resource(h, "a"));
    ouro_scope inner = ouro_scope_begin(h);
    ex_step("    with Resource(\"b\") as b:", "nested scope begins");
    ouro_object *b = ouro_scope_add(h, open_resource(h, "b"));
    ex_step("        print(\"using\", a.name, b.name)", "%zu objects alive", ex_live(h));
    ex_out("using %s %s", ouro_str_data(ouro_record_get(a, 0)), ouro_str_data(ouro_record_get(b, 0)));
    ouro_scope_end(&inner);
    ouro_scope_end(&outer);
    ex_step("print(\"done\")", "both scopes ended: %zu objects alive", ex_live(h));
    ex_out("done");
    return ex_finish(h);
}

EX_MAIN(example_11_with_scope)
