/* A program that uses installed ouro built-in types: a list holding a str
 * and an int, printed as Python prints it, and a weakref.finalize on an array. */
#include <ouro_types.h>
#include <stdio.h>
#include <string.h>

static int ran;
static void on_finalize(ouro_heap *h, void *ctx, ouro_object *arg) { ran++; }

int main(void)
{
    ouro_heap *h = ouro_heap_new(NULL);
    ouro_object *l = ouro_list_new(h);
    ouro_object *s = ouro_str_new(h, "ab", 2), *i = ouro_int_new(h, 300);
    ouro_list_append(l, s);
    ouro_list_append(l, i);
    ouro_decref(s);
    ouro_decref(i);
    char buf[64];
    ouro_repr(l, buf, sizeof buf);
    /* An array, not the list: lists take no weak references, in Python
     * too. */
    ouro_object *st = ouro_array_new(h, 'i');
    ouro_object *f = ouro_finalize_new(h, st, on_finalize, NULL, NULL);
    if (!f)
        return 1;
    ouro_decref(f);
    ouro_decref(st); /* the finalizer runs now */
    ouro_decref(l);
    printf("consumer-types: %s, finalizer ran %d\n", buf, ran);
    /* python3 -c "print(repr(['ab', 300]))" */
    return strcmp(buf, "['ab', 300]") == 0 && ran == 1 && ouro_heap_free(h) == 0 ? 0 : 1;
}
