/*
 * record.c — record types: fixed fields described from C.
 *
 * The counterpart of collections.namedtuple and of classes with
 * __slots__: the field names live once, in the type; an instance is the
 * 16-byte header and one pointer per field, with no per-instance dict.  A
 * Python object with a __dict__ pays for the dict (a hundred bytes and
 * more) on top of the object; a namedtuple of two fields is 56 bytes in
 * CPython, a record of two fields 32 here.
 *
 * A field holds None (the heap's singleton) until it is set, so a new
 * record compares, prints and iterates as Python's namedtuple of Nones;
 * NULL stored through the API means None too.  Only the collector's clear
 * leaves NULL behind, and the getters read that as None as well.
 *
 * Invariants: an instance of rt has exactly rt->nfields pointer slots
 * after its header, each a reference (None when unset) or, after
 * ouro_record_clear, NULL.
 */
#include "types.h"

static ouro_object **fields_of(ouro_object *r) { return (ouro_object **)(r + 1); }
static size_t nfields_of(const ouro_object *r)
{
    return ((const ouro_record_type *)ouro_type_of(r))->nfields;
}

int ouro_record_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    ouro_object **f = fields_of(self);
    for (size_t i = 0, n = nfields_of(self); i < n; i++)
        if (f[i] && visit(f[i], arg))
            return 1;
    return 0;
}

void ouro_record_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    if (!IS_RECORD(self))
        return;
    ouro_object **f = fields_of(self);
    for (size_t i = 0, n = nfields_of(self); i < n; i++)
        ouro_clear(&f[i]);
}

ouro_object *ouro_record_new(ouro_heap *h, ouro_record_type *rt)
{
    if (!h)
        return NULL;
    if (!rt || rt->base.traverse != ouro_record_traverse ||
        rt->base.basic_size != sizeof(ouro_object) + rt->nfields * sizeof(ouro_object *))
        return ouro__fail(h, OURO_EINVAL);
    ouro_object *none = ouro__none(h);
    if (!none)
        return NULL;
    ouro_object *r = ouro__tnew(h, &rt->base, rt->base.basic_size);
    if (r) {
        /* None is immortal: storing it needs no reference counting. */
        ouro_object **f = fields_of(r);
        for (size_t i = 0; i < rt->nfields; i++)
            f[i] = none;
    }
    return r;
}

/* What a getter returns for a slot: NULL (cleared) reads as None. */
static ouro_object *field_value(ouro_object *r, size_t i)
{
    ouro_object *v = fields_of(r)[i];
    return v ? v : ouro__none(HEAP(r));
}

/* Store v (NULL: None) in slot i. */
static int field_store(ouro_object *r, size_t i, ouro_object *v)
{
    if (!v && !(v = ouro__none(HEAP(r))))
        return OURO_ENOMEM;
    ouro_setref(&fields_of(r)[i], v);
    return 0;
}

ouro_object *ouro_record_make(ouro_heap *h, ouro_record_type *rt, ouro_object *const *values)
{
    for (size_t i = 0; h && rt && values && i < rt->nfields; i++)
        if (ouro__check_same_heap(h, values[i], "ouro_record_make") < 0)
            return ouro__fail(h, OURO_EINVAL);
    ouro_object *r = ouro_record_new(h, rt);
    if (!r)
        return NULL;
    ouro_object **f = fields_of(r);
    for (size_t i = 0; values && i < rt->nfields; i++) {
        if (values[i]) { /* the None already there stands for NULL */
            ouro_incref(values[i]);
            f[i] = values[i];
        }
    }
    return r;
}

int ouro_record_check(const ouro_object *o) { return IS_RECORD(o); }

ouro_object *ouro_record_get(ouro_object *r, size_t i)
{
    if (!IS_RECORD(r))
        return r ? ouro__fail(HEAP(r), OURO_ETYPE) : NULL;
    if (i >= nfields_of(r))
        return ouro__fail(HEAP(r), OURO_ERANGE);
    return field_value(r, i);
}

int ouro_record_set(ouro_object *r, size_t i, ouro_object *v)
{
    if (!IS_RECORD(r))
        return OURO_ETYPE;
    if (i >= nfields_of(r))
        return OURO_ERANGE;
    if (ouro__check_same_heap(HEAP(r), v, "ouro_record_set") < 0)
        return OURO_EINVAL;
    return field_store(r, i, v);
}

int ouro_record_index(const ouro_record_type *rt, const char *field)
{
    if (!rt || !field)
        return OURO_EINVAL;
    for (size_t i = 0; i < rt->nfields; i++)
        if (strcmp(rt->fields[i], field) == 0)
            return (int)i;
    return OURO_ENOTFOUND;
}

ouro_object *ouro_record_getattr(ouro_object *r, const char *field)
{
    if (!IS_RECORD(r))
        return r ? ouro__fail(HEAP(r), OURO_ETYPE) : NULL;
    int i = ouro_record_index((const ouro_record_type *)ouro_type_of(r), field);
    if (i < 0)
        return ouro__fail(HEAP(r), i);
    return field_value(r, (size_t)i);
}

int ouro_record_setattr(ouro_object *r, const char *field, ouro_object *v)
{
    if (!IS_RECORD(r))
        return OURO_ETYPE;
    int i = ouro_record_index((const ouro_record_type *)ouro_type_of(r), field);
    if (i < 0)
        return i;
    if (ouro__check_same_heap(HEAP(r), v, "ouro_record_setattr") < 0)
        return OURO_EINVAL;
    return field_store(r, (size_t)i, v);
}
