/* ttypes.h — object types shared by the unit tests. */
#ifndef OURO_TTYPES_H
#define OURO_TTYPES_H

#include "ouro_inspect.h"

/* A collector-tracked node with four reference slots.  Its finalizer counts
 * calls, and resurrects the node into `tn_saved` when `resurrect` is set. */
typedef struct tnode {
    OURO_HEAD;
    ouro_object *slot[4];
    int resurrect;
    int id;
} tnode;

extern ouro_type tnode_type;       /* GC, weakrefable, finalizer */
extern ouro_type tplain_type;      /* GC, no finalizer */
extern ouro_type tleaf_type;       /* not GC, no references */
extern ouro_type tlegacy_type;     /* GC, legacy tp_del: uncollectable */
extern int tn_finalized;           /* finalizer calls */
extern int tn_freed;               /* dealloc hook calls */
extern ouro_object *tn_saved[64];  /* resurrected objects */
extern int tn_nsaved;

void tn_reset(void);
ouro_object *tn_new(ouro_heap *h);
ouro_object *tn_plain(ouro_heap *h);
void tn_link(ouro_object *a, ouro_object *b); /* first empty slot of a = b */
void tn_release_saved(void);

/* repr(o) into a static buffer (valid until the next call), and hash(o),
 * failing the test for an unhashable object: the built-in types' tests
 * compare both with what Python prints. */
const char *tt_repr(ouro_object *o);
int64_t tt_hash(ouro_object *o);

#endif
