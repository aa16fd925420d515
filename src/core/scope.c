/*
 * scope.c — scopes: a stack of strong references that ouro_scope_end
 * releases down to a mark, newest first, so that C code can hand out new
 * references without naming every one of them again.
 */
#include "internal.h"

ouro_scope ouro_scope_begin(ouro_heap *h)
{
    ouro_scope s = {h, h ? h->scope.len : 0};
    return s;
}

ouro_object *ouro_scope_add(ouro_heap *h, ouro_object *o)
{
    if (!o || !h)
        return NULL; /* o NULL: the failed call that made it set the error */
    if (ouro__check_same_heap(h, o, "ouro_scope_add") < 0) {
        ouro_decref(o); /* refused like an allocation failure: released */
        h->last_error = OURO_EINVAL;
        return NULL;
    }
    if (ouro__vec_push(&h->scope, o) < 0) {
        ouro_decref(o);
        h->last_error = OURO_ENOMEM;
        return NULL;
    }
    return o;
}

void ouro_scope_end(ouro_scope *s)
{
    if (!s || !s->heap)
        return;
    ouro_heap *h = s->heap;
    while (h->scope.len > s->mark) {
        ouro_object *o = h->scope.items[--h->scope.len];
        ouro_decref(o);
    }
}
