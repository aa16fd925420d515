/*
 * death_debug.c — misuse that a debug build must catch.  Compiled with
 * OURO_DEBUG_REFS (checked reference operations); each mode makes one
 * mistake and must die with a message naming the object and its type.
 * tests/death_check.py runs every mode and checks the message.
 *
 *   death_debug MODE     MODE: uaf, double-decref, underflow, wrong-heap,
 *                              raw-double-free, raw-wrong-heap, pool-uaf,
 *                              foreign-store, foreign-cycle, wrong-thread,
 *                              gc-stress-traverse
 *
 * Some modes must *not* die (death_check.py's SURVIVE list): the same
 * program as a death mode with the bug fixed, or without the debug
 * setting that reveals it.
 */
#include "ouro_inspect.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct victim {
    OURO_HEAD;
    long payload[4];
} victim;

static void self_decref(ouro_heap *h, ouro_object *self)
{
    (void)h;
    ouro_decref(self); /* releases a reference the finalizer does not own */
}

/* A cell owns `ref`; `peer` is a borrowed pointer (no count of its own).
 * The bug of gc-stress-traverse: BadCell's traverse reports `peer` too, a
 * reference it does not own, so the collector believes the peer's count is
 * explained by the heap and, when the BadCell is garbage, clears the peer
 * although C code still holds it: what the peer owns is freed under that
 * code's feet.  Nothing shows until a collection runs; under
 * OURO_DEBUG_GC_STRESS one runs at the very next tracked allocation. */
typedef struct cell {
    OURO_HEAD;
    ouro_object *ref;
    ouro_object *peer;
} cell;

static int cell_traverse(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    cell *c = (cell *)o;
    return c->ref ? visit(c->ref, arg) : 0;
}

static int bad_cell_traverse(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    cell *c = (cell *)o;
    if (c->ref && visit(c->ref, arg))
        return 1;
    return c->peer ? visit(c->peer, arg) : 0; /* the bug: not owned */
}

static void cell_clear(ouro_heap *h, ouro_object *o)
{
    (void)h;
    ouro_clear(&((cell *)o)->ref);
}

static ouro_type cell_type = {.name = "Cell", .basic_size = sizeof(cell), .flags = OURO_TYPE_GC,
                              .traverse = cell_traverse, .clear = cell_clear};
static ouro_type bad_cell_type = {.name = "BadCell", .basic_size = sizeof(cell),
                                  .flags = OURO_TYPE_GC, .traverse = bad_cell_traverse,
                                  .clear = cell_clear};

/* x owns a child only x refers to; a garbage cycle g1 <-> g2 where g1
 * points at x without owning it.  Then one tracked allocation, and the
 * child (borrowed through x, as C code does) is used. */
static int traverse_bug(int debug, ouro_type *g1_type)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = debug;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    ouro_heap *h = ouro_heap_new(&cfg);
    cell *x = (cell *)ouro_new(h, &cell_type);
    x->ref = ouro_new(h, &cell_type);
    cell *g1 = (cell *)ouro_new(h, g1_type);
    cell *g2 = (cell *)ouro_new(h, &cell_type);
    ouro_setref(&g1->ref, OURO_OBJ(g2));
    ouro_setref(&g2->ref, OURO_OBJ(g1));
    g1->peer = OURO_OBJ(x); /* borrowed */
    ouro_decref(OURO_OBJ(g1));
    ouro_decref(OURO_OBJ(g2));
    ouro_object *child = x->ref; /* borrowed through x */
    ouro_object *y = ouro_new(h, &cell_type); /* the first tracked allocation */
    ouro_incref(child);                       /* x still owns it, or so we think */
    ouro_decref(child);
    ouro_decref(y);
    ouro_gc_collect(h, 2); /* the garbage cycle, once x is no longer in it */
    ouro_decref(OURO_OBJ(x));
    return ouro_heap_free(h) == 0 ? 0 : 1;
}

static ouro_type victim_type = {.name = "Victim", .basic_size = sizeof(victim),
                                .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE};
static ouro_type bad_fin_type = {.name = "BadFinalizer", .basic_size = sizeof(victim),
                                 .flags = OURO_TYPE_GC, .finalize = self_decref};

/* A node whose field is set with ouro_setref, which no library check sees. */
typedef struct node {
    OURO_HEAD;
    ouro_object *next;
} node;
static int node_traverse(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    return ((node *)o)->next ? visit(((node *)o)->next, arg) : 0;
}
static ouro_type node_type = {.name = "Node", .basic_size = sizeof(node),
                              .flags = OURO_TYPE_GC, .traverse = node_traverse};

static void *use_heap(void *h)
{
    ouro_new((ouro_heap *)h, &victim_type); /* not the owner: dies here */
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *m = argv[1];
    if (strcmp(m, "gc-stress-traverse") == 0) {
        traverse_bug(OURO_DEBUG_GC_STRESS, &bad_cell_type);
        printf("not caught\n");
        return 0;
    }
    if (strcmp(m, "gc-stress-traverse-fixed") == 0) /* must survive */
        return traverse_bug(OURO_DEBUG_GC_STRESS, &cell_type);
    if (strcmp(m, "gc-stress-traverse-latent") == 0) /* survives: no collection ran */
        return traverse_bug(OURO_DEBUG_CHECKS, &bad_cell_type);
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    ouro_heap *h = ouro_heap_new(&cfg);
    ouro_object *o = ouro_new(h, &victim_type);
    /* a neighbour keeps the pool (and its arena) mapped after o is freed */
    ouro_object *neighbour = ouro_new(h, &victim_type);
    (void)neighbour;
    if (strcmp(m, "uaf") == 0) {
        ouro_decref(o);
        ouro_incref(o);
    } else if (strcmp(m, "double-decref") == 0) {
        ouro_decref(o);
        ouro_decref(o);
    } else if (strcmp(m, "underflow") == 0) {
        ouro_object *b = ouro_new(h, &bad_fin_type);
        ouro_decref(b);
    } else if (strcmp(m, "wrong-heap") == 0) {
        ouro_heap *h2 = ouro_heap_new(&cfg);
        ouro_weakref_new(h2, o, NULL, NULL);
    } else if (strcmp(m, "raw-double-free") == 0) {
        void *p = ouro_raw_alloc(h, 40);
        void *q = ouro_raw_alloc(h, 40);
        ouro_raw_free(h, p);
        ouro_raw_free(h, p);
        (void)q;
    } else if (strcmp(m, "raw-wrong-heap") == 0) {
        ouro_heap *h2 = ouro_heap_new(&cfg);
        void *p = ouro_raw_alloc(h, 40);
        ouro_raw_free(h2, p);
    } else if (strcmp(m, "foreign-store") == 0) {
        /* a list of heap A given a str of heap B */
        ouro_heap *h2 = ouro_heap_new(&cfg);
        ouro_object *l = ouro_list_new(h);
        ouro_list_append(l, ouro_str_from(h2, "of heap B"));
    } else if (strcmp(m, "foreign-cycle") == 0) {
        /* a cycle across two heaps, made with ouro_setref: the collector
         * finds it before computing reference counts */
        ouro_heap *h2 = ouro_heap_new(&cfg);
        ouro_object *a = ouro_new(h, &node_type), *b = ouro_new(h2, &node_type);
        ouro_setref(&((node *)a)->next, b);
        ouro_setref(&((node *)b)->next, a);
        ouro_gc_collect(h, 2);
    } else if (strcmp(m, "wrong-thread") == 0) {
        /* the heap belongs to the main thread; a second thread allocates */
        pthread_t t;
        pthread_create(&t, NULL, use_heap, h);
        pthread_join(t, NULL);
    } else if (strcmp(m, "pool-uaf") == 0) {
        /* a write into a freed object's payload: caught by ASan or
         * Valgrind, which know the block is free */
        victim *v = (victim *)o;
        ouro_decref(o);
        v->payload[1] = 42;
        printf("not caught\n");
        return 0;
    } else {
        return 2;
    }
    printf("not caught\n");
    return 0;
}
