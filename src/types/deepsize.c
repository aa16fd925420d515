/*
 * deepsize.c — ouro_deep_sizeof, the counterpart of Pympler's asizeof.
 *
 * sys.getsizeof(list) is the list and its pointer array, not the objects
 * it holds; what a structure really costs is everything reachable from it.
 * This walks the references that the types' traverse hooks report
 * (weak references report none, so what is only weakly reachable is not
 * counted), breadth first so that with a depth limit each object is
 * reached at its smallest depth, and adds each object's ouro_sizeof once
 * however often it is shared.
 *
 * Measuring must not change what is measured: the visited set and the
 * queue come from malloc, never from the heap, so the heap's statistics,
 * fault injection and allocation counts are untouched.  Cost: O(objects +
 * references reached) time, 16 bytes of scratch per object.
 */
#include "types.h"

#include <stdlib.h>

typedef struct walk {
    /* visited: open addressing on the address, 2x the objects seen */
    const ouro_object **set;
    size_t cap, count;
    /* FIFO of (object, depth) */
    struct item {
        ouro_object *o;
        int depth;
    } *q;
    size_t qhead, qlen, qcap;
    int depth;  /* depth of the object being expanded */
    bool oom;
} walk;

static size_t slot_of(const ouro_object *o, size_t mask)
{
    uintptr_t x = (uintptr_t)o >> 4;
    x *= 0x9e3779b97f4a7c15u;
    return (size_t)(x >> 17) & mask;
}

/* Adds o to the visited set; false if it was there (or out of memory). */
static bool visit_once(walk *w, const ouro_object *o)
{
    if ((w->count + 1) * 2 > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 1024;
        const ouro_object **set = calloc(cap, sizeof *set);
        if (!set) {
            w->oom = true;
            return false;
        }
        for (size_t i = 0; i < w->cap; i++) {
            if (!w->set[i])
                continue;
            size_t j = slot_of(w->set[i], cap - 1);
            while (set[j])
                j = (j + 1) & (cap - 1);
            set[j] = w->set[i];
        }
        free(w->set);
        w->set = set;
        w->cap = cap;
    }
    size_t j = slot_of(o, w->cap - 1);
    while (w->set[j]) {
        if (w->set[j] == o)
            return false;
        j = (j + 1) & (w->cap - 1);
    }
    w->set[j] = o;
    w->count++;
    return true;
}

static int push(ouro_object *o, void *arg)
{
    walk *w = arg;
    if (!o || !visit_once(w, o))
        return w->oom;
    if (w->qhead + w->qlen == w->qcap) {
        if (w->qhead > w->qcap / 2) { /* slide the live part down */
            memmove(w->q, w->q + w->qhead, w->qlen * sizeof *w->q);
            w->qhead = 0;
        } else {
            size_t cap = w->qcap ? w->qcap * 2 : 256;
            struct item *q = realloc(w->q, cap * sizeof *q);
            if (!q) {
                w->oom = true;
                return 1;
            }
            w->q = q;
            w->qcap = cap;
        }
    }
    w->q[w->qhead + w->qlen++] = (struct item){o, w->depth + 1};
    return 0;
}

size_t ouro_deep_sizeof(ouro_heap *h, ouro_object *o, int limit)
{
    (void)h;
    if (!o)
        return 0;
    walk w;
    memset(&w, 0, sizeof w);
    w.depth = -1;
    push(o, &w);
    size_t total = 0;
    while (w.qlen && !w.oom) {
        struct item it = w.q[w.qhead++];
        w.qlen--;
        total += ouro_sizeof(it.o);
        if (limit >= 0 && it.depth >= limit)
            continue;
        w.depth = it.depth;
        ouro_gc_get_referents(it.o, push, &w);
    }
    free(w.set);
    free(w.q);
    return w.oom ? 0 : total;
}
