/*
 * raw.c — raw memory: untyped blocks from the heap's pools (kept apart from
 * object pools, so that a heap walk never reads raw memory as an object
 * header).
 *
 * The common allocation is the pool fast path and one compare for tracing;
 * the common free is the pool fast path behind one flag (slow_free) that
 * debug checks, full tracing and teardown set.
 */
#include "internal.h"

/* Everything but the common case: fault injection, tracing, large blocks,
 * a class without a free block.  Out of line, so that the common case is a
 * leaf function that saves no registers. */
static __attribute__((noinline)) void *raw_alloc_slow(ouro_heap *h, size_t size, const char *file,
                                                      int line, const char *func)
{
    if (ouro__alloc_fails(h))
        return NULL;
    void *p = ouro__block_alloc_fast(h, size ? size : 1, 1);
    if (!p)
        h->last_error = OURO_ENOMEM;
    else if (OURO__UNLIKELY(h->tracer != NULL))
        return ouro__trace_alloc(h, p, 1, file, line, func);
    return p;
}

void *ouro_raw_alloc_at(ouro_heap *h, size_t size, const char *file, int line, const char *func)
{
    if (!h)
        return NULL;
    if (OURO__LIKELY(!h->alloc_slow)) {
        void *p = ouro__block_alloc_try(h, size, 1);
        if (OURO__LIKELY(p != NULL)) {
            return ouro__trace_alloc(h, p, 1, file, line, func);
        }
    }
    if (h->shared)
        return ouro__shared_raw_alloc(h, size, file, line, func);
    return raw_alloc_slow(h, size, file, line, func);
}

#undef ouro_raw_alloc
void *ouro_raw_alloc(ouro_heap *h, size_t size)
{
    return ouro_raw_alloc_at(h, size, NULL, 0, NULL);
}

static __attribute__((noinline)) void raw_free_slow(ouro_heap *h, void *p)
{
    if (OURO__UNLIKELY(h->teardown))
        return; /* the pools must not change under the teardown's walks */
    if (h->shared) {
        ouro__shared_raw_free(h, p);
        return;
    }
    ouro__chunk *ch = (ouro__chunk *)ouro__pool_of(p);
    if (h->cfg.debug >= OURO_DEBUG_CHECKS) {
        ouro__check_owner(h);
        if (ch->heap != h)
            ouro__fatalf(h, "raw block %p freed with heap %p, belongs to heap %p (wrong heap)", p,
                         (void *)h, (void *)ch->heap);
        if (ouro__block_is_free(p))
            ouro__fatalf(h, "raw block %p freed twice (double free)", p);
    }
    if (OURO__UNLIKELY(h->tracer != NULL))
        ouro__trace_free(h, p, 1);
    ouro__block_free_fast(h, p);
}

void ouro_raw_free(ouro_heap *h, void *p)
{
    if (!p || !h)
        return;
    /* No debug checks, not every block traced, and the block's pool holds
     * no sample (see slow_free): the pool fast path. */
    if (OURO__LIKELY(!h->slow_free) && OURO__LIKELY(ouro__block_free_try(h, p)))
        return;
    if (h->shared && !h->teardown) {
        ouro__shared_raw_free(h, p); /* one call, not two */
        return;
    }
    raw_free_slow(h, p);
}

void *ouro_raw_realloc_at(ouro_heap *h, void *p, size_t size, const char *file, int line,
                          const char *func)
{
    if (!h)
        return NULL;
    if (!p)
        return ouro_raw_alloc_at(h, size, file, line, func);
    size_t old = ouro__block_size(p);
    if (size <= old && size > old / 2)
        return p;
    void *q = ouro_raw_alloc_at(h, size, file, line, func);
    if (!q)
        return NULL; /* the old block is untouched */
    memcpy(q, p, old < size ? old : size);
    ouro_raw_free(h, p);
    return q;
}

#undef ouro_raw_realloc
void *ouro_raw_realloc(ouro_heap *h, void *p, size_t size)
{
    return ouro_raw_realloc_at(h, p, size, NULL, 0, NULL);
}
