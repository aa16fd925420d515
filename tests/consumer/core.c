/* A program that uses an installed ouro: a cycle, collected. */
#include <ouro.h>
#include <stdio.h>
#include <string.h>

typedef struct node {
    OURO_HEAD;
    ouro_object *next;
} node;

static int traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    node *n = (node *)self;
    return n->next ? visit(n->next, arg) : 0;
}

static void clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    ouro_clear(&((node *)self)->next);
}

static ouro_type node_type = {"node", sizeof(node), OURO_TYPE_GC, traverse, clear, 0, 0, 0, 0};

int main(void)
{
    if (strcmp(ouro_version(), OURO_VERSION_STRING) != 0)
        return 1;
    ouro_heap *h = ouro_heap_new(NULL);
    ouro_object *a = ouro_new(h, &node_type), *b = ouro_new(h, &node_type);
    ouro_setref(&((node *)a)->next, b);
    ouro_setref(&((node *)b)->next, a);
    ouro_decref(a);
    ouro_decref(b);
    long n = ouro_gc_collect(h, 2);
    printf("consumer: collected %ld\n", n);
    return n == 2 && ouro_heap_free(h) == 0 ? 0 : 1;
}
