/*
 * death_debug.c — misuse that a debug build must catch.  Compiled with
 * OURO_DEBUG_REFS (checked reference operations); each mode makes one
 * mistake and must die with a message naming the object and its type.
 * tests/death_check.py runs every mode and checks the message.
 *
 *   death_debug MODE     MODE: uaf, double-decref, underflow, wrong-heap,
 *                              raw-double-free, raw-wrong-heap, pool-uaf,
 *                              foreign-store, foreign-cycle, wrong-thread
 */
#include "ouro.h"

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
