/*
 * 04_gc_control — the collector can be switched off (cycles then pile up)
 * and on again; gc.collect() runs a full collection at once.  Thresholds
 * are CPython's: a young collection after 700 net allocations.
 */
#include "example.h"

static const char *const pair_fields[] = {"other"};
static ouro_record_type PairNode = OURO_RECORD_TYPE("Node", pair_fields, 1);

static int example_04_gc_control(void)
{
    ex_title("04_gc_control", "gc.disable(), gc.enable(), gc.collect()",
             "   With the collector off, ten pairs of nodes that refer to each other\n"
             "   stay in memory when their names are rebound; gc.collect() frees them.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ex_src("import gc");
    ex_src("");
    ex_src("class Node:");
    ex_src("    pass");
    ex_src("");
    ouro_gc_disable(h);
    ex_step("gc.disable()", "automatic collection off");
    ex_step("print(gc.isenabled())", "is_enabled %d", ouro_gc_is_enabled(h));
    ex_out("%s", ex_bool(ouro_gc_is_enabled(h)));
    ouro_object *a = NULL, *b = NULL;
    for (int i = 0; i < 10; i++) {
        ouro_object *na = ouro_record_new(h, &PairNode), *nb = ouro_record_new(h, &PairNode);
        ouro_record_set(na, 0, nb);
        ouro_record_set(nb, 0, na);
        ouro_setref(&a, na); /* rebinding drops the previous pair's names */
        ouro_setref(&b, nb);
        ouro_decref(na);
        ouro_decref(nb);
    }
    ex_src("for i in range(10):");
    ex_src("    a = Node()");
    ex_src("    b = Node()");
    ex_src("    a.other = b");
    ex_step("    b.other = a", "10 pairs made; 9 of them already unreachable");
    ouro_clear(&a);
    ouro_clear(&b);
    ex_step("del a, b", "%zu objects alive: every pair holds itself", ex_live(h));
    ouro_gc_enable(h);
    ex_step("gc.enable()", "automatic collection on");
    ex_step("print(gc.isenabled())", "is_enabled %d", ouro_gc_is_enabled(h));
    ex_out("%s", ex_bool(ouro_gc_is_enabled(h)));
    int t[3];
    ouro_gc_get_threshold(h, t);
    ex_step("print(gc.get_threshold())", "thresholds %d %d %d", t[0], t[1], t[2]);
    ex_out("(%d, %d, %d)", t[0], t[1], t[2]);
    long n = ouro_gc_collect(h, 2);
    ex_step("print(gc.collect())", "freed %ld; %zu objects alive", n, ex_live(h));
    ex_out("%ld", n);
    n = ouro_gc_collect(h, 2);
    ex_step("print(gc.collect())", "nothing left to find");
    ex_out("%ld", n);
    return ex_finish(h);
}

EX_MAIN(example_04_gc_control)
