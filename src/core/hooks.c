/*
 * hooks.c — process-wide hooks run on every new heap.
 *
 * The core never calls an upper layer by name: the profiling layer, which
 * applies OURO_TRACEMALLOC and OURO_REPORT to every heap a program creates,
 * installs a hook here at run time and ouro_heap_new runs it.  This is the
 * one process-wide table in ouro; it holds functions, not heap state, so
 * two heaps still never interfere through it.
 *
 * Invariant: entries [0, g_n) are complete; an entry is written before
 * g_n is raised past it (release), and read after g_n is read (acquire),
 * so ouro_heap_new needs no lock.  A removed entry is cleared, not
 * compacted, so a heap being created while a hook is removed never calls
 * a half-moved entry.
 */
#include "internal.h"

#include <pthread.h>

#define MAX_HOOKS 8

static struct {
    ouro_heap_hook _Atomic fn;
    void *_Atomic arg;
} g_hooks[MAX_HOOKS];
static _Atomic int g_n;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

int ouro_heap_hook_add(ouro_heap_hook fn, void *arg)
{
    if (!fn)
        return OURO_EINVAL;
    pthread_mutex_lock(&g_lock);
    int n = g_n, rc = 0, free_slot = -1;
    for (int i = 0; i < n; i++) {
        if (g_hooks[i].fn == fn && g_hooks[i].arg == arg)
            goto out;
        if (!g_hooks[i].fn && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0 && n == MAX_HOOKS) {
        rc = OURO_ELIMIT;
        goto out;
    }
    int i = free_slot >= 0 ? free_slot : n;
    g_hooks[i].arg = arg;
    g_hooks[i].fn = fn;
    if (i == n)
        g_n = n + 1;
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int ouro_heap_hook_remove(ouro_heap_hook fn, void *arg)
{
    pthread_mutex_lock(&g_lock);
    int rc = OURO_ENOTFOUND;
    for (int i = 0; i < g_n; i++) {
        if (g_hooks[i].fn == fn && g_hooks[i].arg == arg) {
            g_hooks[i].fn = NULL;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

void ouro__heap_hooks_run(ouro_heap *h)
{
    int n = g_n;
    for (int i = 0; i < n; i++) {
        ouro_heap_hook fn = g_hooks[i].fn;
        if (fn)
            fn(h, g_hooks[i].arg);
    }
}
