/*
 * 10_globals — a module-level container lives as long as the program: it
 * keeps everything put in it alive, long after the code that made the
 * objects has returned.  Emptying it frees them all, at once.
 */
#include "example.h"

static long freed;

static void item_finalize(ouro_heap *h, ouro_object *self)
{
    (void)h;
    (void)self;
    freed++;
}

static ouro_type Item = {
    .name = "Item",
    .basic_size = sizeof(ouro_object),
    .finalize = item_finalize,
};

static ouro_object *cache; /* the global */

static void handle_request(ouro_heap *h, int i)
{
    (void)i;
    ouro_object *item = ouro_new(h, &Item);
    ouro_list_append(cache, item);
    ouro_decref(item); /* the function's own reference ends here */
}

static int example_10_globals(void)
{
    ex_title("10_globals", "a global variable keeps objects alive",
             "   handle_request returns, but the global list still holds every Item.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    freed = 0;
    ex_step("freed = 0", "a C global, counting finalizer runs");
    ex_src("");
    ex_src("class Item:");
    ex_src("    def __del__(self):");
    ex_src("        global freed");
    ex_src("        freed += 1");
    ex_src("");
    cache = ouro_list_new(h);
    ex_step("cache = []", "a list that lives as long as the module");
    ex_src("");
    ex_src("def handle_request(i):");
    ex_src("    cache.append(Item())");
    ex_src("");
    for (int i = 0; i < 1000; i++)
        handle_request(h, i);
    ex_src("for i in range(1000):");
    ex_step("    handle_request(i)", "%zu objects alive after 1000 requests", ex_live(h));
    ex_step("print(len(cache), freed)", "list size %zu bytes, deep %zu", ouro_sizeof(cache),
            ouro_deep_sizeof(h, cache, -1));
    ex_out("%zu %ld", ouro_list_len(cache), freed);
    ouro_list_clear(cache);
    ex_step("cache.clear()", "1000 counts reach zero: %zu objects alive", ex_live(h));
    ex_step("print(len(cache), freed)", "list size now %zu bytes", ouro_sizeof(cache));
    ex_out("%zu %ld", ouro_list_len(cache), freed);
    ouro_clear(&cache);
    return ex_finish(h);
}

EX_MAIN(example_10_globals)
