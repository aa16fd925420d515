/*
 * tuple.c — tuples: a length and the items, inline in one block.
 *
 * A tuple is immutable once shared, which buys three savings CPython
 * relies on: the empty tuple is one immortal object per heap; tuples of
 * 1..19 items come from free lists (a function returning a pair makes and
 * drops one per call); and a tuple that holds only atomic objects (numbers,
 * strings, untracked tuples) cannot be part of a cycle, so a collection
 * that finds one among its survivors untracks it and no later collection
 * looks at it again (ouro__tuple_maybe_untrack, called from the
 * collector's hook in state.c).
 *
 * Invariants: items[0..n) are references once the tuple is built (NULL
 * only while its maker fills it with ouro_tuple_set, holding the only
 * reference); a tuple of length 0 is the heap's empty singleton.
 */
#include "types.h"

static int tuple_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    o_tuple *t = (o_tuple *)self;
    for (size_t i = 0; i < t->n; i++)
        if (t->items[i] && visit(t->items[i], arg))
            return 1;
    return 0;
}

static void tuple_clear(ouro_heap *h, ouro_object *self)
{
    o_tuple *t = (o_tuple *)self;
    for (size_t i = 0; i < t->n; i++)
        ouro_clear(&t->items[i]);
}

static size_t tuple_size_of(const ouro_object *self)
{
    return sizeof(o_tuple) + ((const o_tuple *)self)->n * sizeof(ouro_object *);
}

ouro_type ouro__tuple_type = {
    .name = "tuple",
    .basic_size = sizeof(o_tuple),
    .flags = OURO_TYPE_GC | OURO__TYPE_FREELIST,
    .traverse = tuple_traverse,
    .clear = tuple_clear,
    .size_of = tuple_size_of,
};

ouro_object *ouro_tuple_new(ouro_heap *h, size_t n)
{
    if (!h)
        return NULL;
    if (n > ((size_t)1 << 40))
        return ouro__fail(h, OURO_ENOMEM);
    if (n == 0) {
        ouro__types_state *ts = ouro__ts(h);
        if (!ts)
            return NULL;
        if (!ts->empty_tuple) {
            ouro_object *e = ouro__tnew(h, &ouro__tuple_type, sizeof(o_tuple));
            if (!e)
                return NULL;
            ouro_make_immortal(e); /* also untracks it */
            ts->empty_tuple = e;
        }
        return ts->empty_tuple;
    }
    ouro_object *o = ouro__tnew(h, &ouro__tuple_type, sizeof(o_tuple) + n * sizeof(ouro_object *));
    if (o)
        ((o_tuple *)o)->n = n;
    return o;
}

ouro_object *ouro_tuple_from(ouro_heap *h, ouro_object *const *items, size_t n)
{
    if (!h)
        return NULL;
    if (n && !items)
        return ouro__fail(h, OURO_EINVAL);
    for (size_t i = 0; i < n; i++)
        if (ouro__check_same_heap(h, items[i], "ouro_tuple_from") < 0)
            return ouro__fail(h, OURO_EINVAL);
    ouro_object *o = ouro_tuple_new(h, n);
    if (!o)
        return NULL;
    o_tuple *t = (o_tuple *)o;
    for (size_t i = 0; i < n; i++) {
        ouro_xincref(items[i]);
        t->items[i] = items[i];
    }
    return o;
}

/* ouro_tuple_pack's body, shared with its call-site variant (site.c):
 * every item is checked before the tuple is made. */
ouro_object *ouro__tuple_vpack(ouro_heap *h, size_t n, va_list ap)
{
    va_list check;
    va_copy(check, ap);
    for (size_t i = 0; i < n; i++) {
        if (ouro__check_same_heap(h, va_arg(check, ouro_object *), "ouro_tuple_pack") < 0) {
            va_end(check);
            return ouro__fail(h, OURO_EINVAL);
        }
    }
    va_end(check);
    ouro_object *o = ouro_tuple_new(h, n);
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        ouro_object *v = va_arg(ap, ouro_object *);
        ouro_xincref(v);
        ((o_tuple *)o)->items[i] = v;
    }
    return o;
}

ouro_object *ouro_tuple_pack(ouro_heap *h, size_t n, ...)
{
    if (!h)
        return NULL;
    va_list ap;
    va_start(ap, n);
    ouro_object *o = ouro__tuple_vpack(h, n, ap);
    va_end(ap);
    return o;
}

int ouro_tuple_check(const ouro_object *o) { return IS_TUPLE(o); }
size_t ouro_tuple_len(const ouro_object *o) { return IS_TUPLE(o) ? ((const o_tuple *)o)->n : 0; }

static bool norm_index(ptrdiff_t *i, size_t n)
{
    if (*i < 0)
        *i += (ptrdiff_t)n;
    return *i >= 0 && (size_t)*i < n;
}

ouro_object *ouro_tuple_get(ouro_object *t, ptrdiff_t i)
{
    if (!IS_TUPLE(t))
        return t ? ouro__fail(HEAP(t), OURO_ETYPE) : NULL;
    if (!norm_index(&i, ((o_tuple *)t)->n))
        return ouro__fail(HEAP(t), OURO_ERANGE);
    return ((o_tuple *)t)->items[i];
}

int ouro_tuple_set(ouro_object *t, ptrdiff_t i, ouro_object *v)
{
    if (!IS_TUPLE(t))
        return OURO_ETYPE;
    if (ouro_refcount(t) != 1)
        return OURO_ETYPE; /* shared, or the immortal empty tuple */
    if (!norm_index(&i, ((o_tuple *)t)->n))
        return OURO_ERANGE;
    if (ouro__check_same_heap(HEAP(t), v, "ouro_tuple_set") < 0)
        return OURO_EINVAL;
    ouro_setref(&((o_tuple *)t)->items[i], v);
    return 0;
}

bool ouro__tuple_maybe_untrack(ouro_heap *h, ouro_object *o)
{
    o_tuple *t = (o_tuple *)o;
    if (!o->gc_next)
        return false;
    for (size_t i = 0; i < t->n; i++) {
        ouro_object *e = t->items[i];
        /* An empty slot may still be filled with anything. */
        if (!e || ouro__may_be_tracked(e))
            return false;
    }
    ouro__gc_untrack(h, o);
    return true;
}
