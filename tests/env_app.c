/* A program that knows nothing of the profiling tools, for
 * tests/env_check.py: OURO_TRACEMALLOC, OURO_REPORT and OURO_DEBUG must
 * change what happens without a change here.
 *
 *   env_app            leaks a list (its line printed) and frees the heap
 *   env_app wrongheap  an object of one heap added to another heap's scope:
 *                      a misuse that only a checking heap reports */
#include "ouro_inspect.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    ouro_heap *h = ouro_heap_new(NULL);
    if (!h)
        return 2;
    if (argc > 1 && strcmp(argv[1], "wrongheap") == 0) {
        ouro_heap *other = ouro_heap_new(NULL);
        ouro_object *o = ouro_list_new(h);
        ouro_scope s = ouro_scope_begin(other);
        ouro_incref(o);
        ouro_scope_add(other, o); /* aborts in a checking heap */
        ouro_scope_end(&s);
        ouro_decref(o);
        ouro_heap_free(other);
        return ouro_heap_free(h) == 0 ? 0 : 1;
    }
    ouro_object *d = ouro_dict_new(h);
    for (int i = 0; i < 100; i++) {
        ouro_object *k = ouro_int_new(h, 1000 + i);
        ouro_dict_set(d, k, k);
        ouro_decref(k);
    }
    int line = __LINE__ + 1;
    ouro_object *leaked = ouro_list_new(h);
    (void)leaked;
    ouro_decref(d);
    printf("leak_line=%d\n", line);
    fflush(stdout);
    ouro_heap_free(h); /* the list is reported as a leak */
    return 0;
}
