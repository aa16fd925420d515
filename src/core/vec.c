/*
 * vec.c — a growable array of strong references, for the garbage list
 * (gc.c) and the scope stack (scope.c).  Its memory is the C library's, not
 * the heap's: it holds the heap's objects and must not be one of them.
 */
#include "internal.h"

#include <stdlib.h>

int ouro__vec_push(ouro__vec *v, ouro_object *o)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        ouro_object **items = realloc(v->items, cap * sizeof *items);
        if (!items)
            return OURO_ENOMEM;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = o;
    return 0;
}
