/*
 * 06_lru_cache — functools.lru_cache: a bounded memo.  Recursive fib(30)
 * makes 1.6 million calls without a cache; with one, each n is computed
 * once (31 misses) and the rest are hits.  maxsize bounds the memory.
 */
#include "example.h"

static ouro_object *fib_cache;
static long fib_bodies;

static ouro_object *fib(ouro_heap *h, ouro_object *key, void *ctx)
{
    (void)ctx;
    int64_t n = ouro_int_value(key);
    fib_bodies++;
    if (n < 2)
        return ouro_int_new(h, n);
    ouro_object *k1 = ouro_int_new(h, n - 1), *k2 = ouro_int_new(h, n - 2);
    ouro_object *a = ouro_lru_call(fib_cache, k1);
    ouro_object *b = ouro_lru_call(fib_cache, k2);
    ouro_object *r = a && b ? ouro_int_new(h, ouro_int_value(a) + ouro_int_value(b)) : NULL;
    ouro_xdecref(a);
    ouro_xdecref(b);
    ouro_decref(k1);
    ouro_decref(k2);
    return r;
}

static void print_info(const char *py)
{
    ouro_lru_info i;
    ouro_lru_cache_info(fib_cache, &i);
    ex_step(py, "%zu entries held, deep size %zu bytes", i.currsize,
            ouro_deep_sizeof(ouro_heap_of(fib_cache), fib_cache, -1));
    ex_out("CacheInfo(hits=%zu, misses=%zu, maxsize=%td, currsize=%zu)", i.hits, i.misses,
           i.maxsize, i.currsize);
}

static int example_06_lru_cache(void)
{
    ex_title("06_lru_cache", "functools.lru_cache(maxsize=128)",
             "   Results are kept in a dict in recency order; a hit moves its entry to\n"
             "   the end, a miss past maxsize evicts the least recently used.");
    ouro_heap *h = ex_heap();
    if (!h)
        return 1;
    ex_src("from functools import lru_cache");
    ex_src("");
    fib_cache = ouro_lru_new(h, 128, fib, NULL);
    fib_bodies = 0;
    ex_step("@lru_cache(maxsize=128)", "an LRU cache object (%zu bytes)", ouro_sizeof(fib_cache));
    ex_src("def fib(n):");
    ex_src("    if n < 2:");
    ex_src("        return n");
    ex_src("    return fib(n - 1) + fib(n - 2)");
    ex_src("");
    ouro_object *k = ouro_int_new(h, 30);
    ouro_object *r = ouro_lru_call(fib_cache, k);
    ex_step("print(fib(30))", "fib's body ran %ld times (2,692,537 without the cache)",
            fib_bodies);
    ex_out("%s", ex_repr(r));
    ouro_decref(r);
    print_info("print(fib.cache_info())");
    ouro_lru_cache_clear(fib_cache);
    ex_step("fib.cache_clear()", "entries released: %zu objects alive", ex_live(h));
    print_info("print(fib.cache_info())");
    ouro_clear(&fib_cache);
    return ex_finish(h);
}

EX_MAIN(example_06_lru_cache)
