/*
 * hooks.c — process-wide hooks run on every new heap.
 *
 * The core never calls an upper layer by name: the profiling layer, which
 * applies OURO_TRACEMALLOC and OURO_REPORT to every heap a program creates,
 * installs a hook here at run time and ouro_heap_new runs it.  This is the
 * one process-wide table in ouro; it holds functions, not heap state, so
 * two heaps still never interfere through it.
 *
 * Invariant: every entry is read and written under g_lock; ouro_heap_new
 * copies the table under the lock and calls the hooks after releasing it,
 * so a hook may add or remove hooks, or create a heap, without deadlock.
 * A removed entry is cleared and its slot reused by the next add.
 *
 * Why a lock, not atomics: an entry is a pair (fn, arg).  Read as two
 * atomic loads, a slot removed and reused between them by another thread
 * gives the old fn with the new arg, a hook called with another hook's
 * argument.  The lock costs one uncontended lock/unlock per heap
 * creation, which maps memory anyway.  A hook removed while a heap is
 * being created may still be called once for that heap (it was copied
 * before the removal): its argument must outlive that.
 */
#include "internal.h"

#include <pthread.h>

#define MAX_HOOKS 8

typedef struct hook_entry {
    ouro_heap_hook fn;
    void *arg;
} hook_entry;

static hook_entry g_hooks[MAX_HOOKS];
static int g_n; /* entries [0, g_n) used or cleared */
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
    hook_entry copy[MAX_HOOKS];
    pthread_mutex_lock(&g_lock);
    int n = g_n;
    memcpy(copy, g_hooks, (size_t)n * sizeof copy[0]);
    pthread_mutex_unlock(&g_lock);
    for (int i = 0; i < n; i++)
        if (copy[i].fn)
            copy[i].fn(h, copy[i].arg);
}
