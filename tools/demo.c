/*
 * demo.c — `ouro demo`: reference counting as the seed articles tell it.
 */
#include "ouro.h"

#include <stdio.h>
#include <string.h>

typedef struct pair {
    OURO_HEAD;
    ouro_object *a, *b;
    const char *label;
} pair;

static int pair_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    pair *p = (pair *)self;
    if (p->a && visit(p->a, arg))
        return 1;
    if (p->b && visit(p->b, arg))
        return 1;
    return 0;
}

static void pair_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    pair *p = (pair *)self;
    ouro_clear(&p->a);
    ouro_clear(&p->b);
}

static void pair_finalize(ouro_heap *h, ouro_object *self)
{
    (void)h;
    printf("    (finalizer of %s runs: its count reached zero or it was found in a cycle)\n",
           ((pair *)self)->label);
}

static ouro_type pair_type = {
    .name = "Pair",
    .basic_size = sizeof(pair),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = pair_traverse,
    .clear = pair_clear,
    .finalize = pair_finalize,
};

int ouro_demo_main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    ouro_heap *h = ouro_heap_new(NULL);
    if (!h) {
        fprintf(stderr, "ouro demo: out of memory\n");
        return 1;
    }
    printf("ouro %s — reference counting and the cycle collector\n\n", ouro_version());

    printf(">>> x = Pair()          # reference count 1\n");
    ouro_object *x = ouro_new(h, &pair_type);
    ((pair *)x)->label = "x";
    printf("    refcount(x) = %u\n", ouro_refcount(x));
    printf(">>> y = x               # a second name, count 2\n");
    ouro_object *y = x;
    ouro_incref(y);
    printf("    refcount(x) = %u\n", ouro_refcount(x));
    printf(">>> del x               # count 1, still alive\n");
    ouro_clear(&x);
    printf("    refcount(y) = %u\n", ouro_refcount(y));
    printf(">>> del y               # count 0: freed at once\n");
    ouro_clear(&y);

    printf("\n>>> a = A(); b = B(); a.b = b; b.a = a; del a; del b\n");
    ouro_object *a = ouro_new(h, &pair_type), *b = ouro_new(h, &pair_type);
    ((pair *)a)->label = "a";
    ((pair *)b)->label = "b";
    ouro_setref(&((pair *)a)->a, b);
    ouro_setref(&((pair *)b)->a, a);
    ouro_clear(&a);
    ouro_clear(&b);
    printf("    the cycle keeps both counts at 1; nothing is freed yet\n");
    printf(">>> gc.collect()\n");
    long n = ouro_gc_collect(h, 2);
    printf("    %ld\n", n);

    char buf[2048];
    ouro_heap_stats_text(h, buf, sizeof buf);
    printf("\nheap statistics:\n%s", buf);
    return ouro_heap_free(h) == 0 ? 0 : 1;
}
