/* A program that uses the installed profiling tools: a type census of a
 * heap holding three lists. */
#include <ouro_inspect.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    ouro_heap *h = ouro_heap_new(NULL);
    ouro_object *l[3];
    for (int k = 0; k < 3; k++)
        l[k] = ouro_list_new(h);
    size_t n = 0;
    ouro_type_count *c = ouro_census(h, &n);
    size_t lists = 0;
    for (size_t k = 0; c && k < n; k++)
        if (strcmp(c[k].name, "list") == 0)
            lists = c[k].count;
    ouro_inspect_free(c);
    for (int k = 0; k < 3; k++)
        ouro_decref(l[k]);
    printf("consumer-inspect: %zu lists\n", lists);
    return lists == 3 && ouro_heap_free(h) == 0 ? 0 : 1;
}
