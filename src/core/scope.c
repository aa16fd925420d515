/*
 * scope.c — scopes: a stack of strong references that ouro_scope_end
 * releases down to a mark, newest first, so that C code can hand out new
 * references without naming every one of them again.
 */
#include "internal.h"

ouro_scope ouro_scope_begin(ouro_heap *h)
{
    ouro_scope s = {h, h->scope.len};
    return s;
}

ouro_object *ouro_scope_add(ouro_heap *h, ouro_object *o)
{
    if (!o)
        return NULL;
    if (h->cfg.debug >= OURO_DEBUG_CHECKS && ouro__heap_of(o) != h)
        ouro__fatal(o, "object used with a heap it does not belong to (wrong heap)");
    if (ouro__vec_push(&h->scope, o) < 0) {
        ouro_decref(o);
        h->last_error = OURO_ENOMEM;
        return NULL;
    }
    return o;
}

void ouro_scope_end(ouro_scope *s)
{
    ouro_heap *h = s->heap;
    while (h->scope.len > s->mark) {
        ouro_object *o = h->scope.items[--h->scope.len];
        ouro_decref(o);
    }
}
