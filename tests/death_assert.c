/*
 * death_assert.c — ouro's internal assertions fire.  Linked with a core
 * built at OURO_ASSERT_LEVEL 2 (tests/CMakeLists.txt builds one when the
 * build's own level is lower), so that every build runs it.  Each death
 * mode breaks one collector invariant by hand, the way a bug in ouro would,
 * in a way nothing but the validation between the collector's steps
 * notices: the collection itself would run to the end and, for the link,
 * even repair it.  tests/death_check.py runs every mode and checks the
 * message names the list, the object and the failed expression.
 *
 *   death_assert MODE    MODE: assert-flag, assert-link (die),
 *                              assert-healthy (lives)
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

typedef struct node {
    OURO_HEAD;
    ouro_object *ref;
} node;

static int node_traverse(ouro_object *o, ouro_visit_fn visit, void *arg)
{
    node *n = (node *)o;
    return n->ref ? visit(n->ref, arg) : 0;
}

static void node_clear(ouro_heap *h, ouro_object *o)
{
    (void)h;
    ouro_clear(&((node *)o)->ref);
}

static int finalized;
static void node_finalize(ouro_heap *h, ouro_object *o)
{
    (void)h, (void)o;
    finalized++;
}

static ouro_type node_type = {.name = "Node", .basic_size = sizeof(node),
                              .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                              .traverse = node_traverse, .clear = node_clear};
static ouro_type fin_type = {.name = "FinNode", .basic_size = sizeof(node),
                             .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
                             .traverse = node_traverse, .clear = node_clear,
                             .finalize = node_finalize};

static int called;
static void on_dead(ouro_heap *h, ouro_object *wr, void *arg)
{
    (void)h, (void)wr, (void)arg;
    called++;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    const char *m = argv[1];
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_FAIL;
    ouro_heap *h = ouro_heap_new(&cfg);
    /* Held by C code: it survives, and stays in generation 0. */
    ouro_object *a = ouro_new(h, &node_type);
    ouro_object *b = ouro_new(h, &node_type);
    if (strcmp(m, "assert-flag") == 0) {
        /* A stray UNREACHABLE outside a collection.  Unchecked, the
         * collection keeps it (it only ever clears COLLECTING on a
         * survivor) and returns normally. */
        b->flags |= OURO__F_UNREACHABLE;
    } else if (strcmp(m, "assert-link") == 0) {
        /* b's link back skips a.  Unchecked, update_refs overwrites gc_prev
         * and move_unreachable rebuilds it: the collection heals it. */
        b->gc_prev = a->gc_prev;
    } else if (strcmp(m, "assert-healthy") != 0) {
        return 2;
    }
    /* Trash that takes every step: a cycle with a finalizer, weakly
     * referenced with a callback. */
    node *x = (node *)ouro_new(h, &fin_type);
    node *y = (node *)ouro_new(h, &node_type);
    ouro_setref(&x->ref, OURO_OBJ(y));
    ouro_setref(&y->ref, OURO_OBJ(x));
    ouro_object *wr = ouro_weakref_new(h, OURO_OBJ(y), on_dead, NULL);
    ouro_decref(OURO_OBJ(x));
    ouro_decref(OURO_OBJ(y));
    long n = ouro_gc_collect(h, 0);
    if (strcmp(m, "assert-healthy") != 0) {
        printf("not caught (collected %ld)\n", n);
        return 0;
    }
    ouro_decref(wr);
    ouro_decref(a);
    ouro_decref(b);
    if (n != 2 || finalized != 1 || called != 1) {
        fprintf(stderr, "collected %ld, finalized %d, called %d\n", n, finalized, called);
        return 1;
    }
    return ouro_heap_free(h) == 0 ? 0 : 1;
}
