#include "ttypes.h"
#include "testlib.h"

#include <string.h>

int tn_finalized, tn_freed, tn_nsaved;
ouro_object *tn_saved[64];

static int tn_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    tnode *n = (tnode *)self;
    for (int i = 0; i < 4; i++)
        if (n->slot[i] && visit(n->slot[i], arg))
            return 1;
    return 0;
}

static void tn_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    tnode *n = (tnode *)self;
    for (int i = 0; i < 4; i++)
        ouro_clear(&n->slot[i]);
}

static void tn_finalize(ouro_heap *h, ouro_object *self)
{
    (void)h;
    tn_finalized++;
    if (((tnode *)self)->resurrect && tn_nsaved < 64) {
        ouro_incref(self);
        tn_saved[tn_nsaved++] = self;
    }
}

static void tn_dealloc(ouro_heap *h, ouro_object *self)
{
    (void)h;
    (void)self;
    tn_freed++;
}

ouro_type tnode_type = {
    .name = "tnode",
    .basic_size = sizeof(tnode),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = tn_traverse,
    .clear = tn_clear,
    .finalize = tn_finalize,
    .dealloc = tn_dealloc,
};

ouro_type tplain_type = {
    .name = "tplain",
    .basic_size = sizeof(tnode),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = tn_traverse,
    .clear = tn_clear,
    .dealloc = tn_dealloc,
};

ouro_type tleaf_type = {
    .name = "tleaf",
    .basic_size = 32,
    .flags = OURO_TYPE_WEAKREFABLE,
    .dealloc = tn_dealloc,
};

static void legacy_del(ouro_heap *h, ouro_object *self)
{
    (void)h;
    (void)self;
    tn_finalized++;
}

ouro_type tlegacy_type = {
    .name = "tlegacy",
    .basic_size = sizeof(tnode),
    .flags = OURO_TYPE_GC | OURO_TYPE_LEGACY_DEL,
    .traverse = tn_traverse,
    .clear = tn_clear,
    .finalize = legacy_del,
    .dealloc = tn_dealloc,
};

void tn_reset(void)
{
    tn_finalized = tn_freed = tn_nsaved = 0;
    memset(tn_saved, 0, sizeof tn_saved);
}

ouro_object *tn_new(ouro_heap *h) { return ouro_new(h, &tnode_type); }
ouro_object *tn_plain(ouro_heap *h) { return ouro_new(h, &tplain_type); }

void tn_link(ouro_object *a, ouro_object *b)
{
    tnode *n = (tnode *)a;
    for (int i = 0; i < 4; i++) {
        if (!n->slot[i]) {
            ouro_setref(&n->slot[i], b);
            return;
        }
    }
}

void tn_release_saved(void)
{
    while (tn_nsaved)
        ouro_clear(&tn_saved[--tn_nsaved]);
}

const char *tt_repr(ouro_object *o)
{
    static char buf[1024];
    ouro_repr(o, buf, sizeof buf);
    return buf;
}

int64_t tt_hash(ouro_object *o)
{
    int64_t x = 0;
    if (ouro_hash(o, &x) != 0)
        tl_fail(__FILE__, __LINE__, "unhashable");
    return x;
}
