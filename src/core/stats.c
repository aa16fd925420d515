/*
 * stats.c — the heap's statistics, as a structure and as text.
 *
 * The figures are kept by the pools (internal.h, "statistics"): counters
 * written on the allocation and free paths, and blocks per class counted
 * from the pool headers only when asked for (ouro__stats_sync), so that
 * the hot paths pay two stores and no more.
 */
#include "internal.h"

#include <stdio.h>

int ouro_heap_get_stats(ouro_heap *h, ouro_heap_stats *out)
{
    if (!h || !out || out->struct_size == 0)
        return OURO_EINVAL;
    /* A shared heap's threads count their own blocks: stop them to add up
     * (their counters are written without atomics). */
    if (h->shared && ouro__stw_enter(h, "ouro_heap_get_stats") < 0)
        return OURO_ETHREAD;
    ouro__lock(h);
    ouro__stats_sync(h, out->struct_size > offsetof(ouro_heap_stats, class_blocks));
    ouro_heap_stats s = h->st;
    ouro__unlock(h);
    if (h->shared)
        ouro__stw_leave(h);
    s.num_classes = OURO_NUM_CLASSES;
    for (int c = 0; c < OURO_NUM_CLASSES; c++)
        s.class_size[c] = ouro__class_size(c);
    size_t n = out->struct_size < sizeof s ? out->struct_size : sizeof s;
    s.struct_size = n;
    memcpy(out, &s, n);
    return 0;
}

size_t ouro_heap_stats_text(ouro_heap *h, char *buf, size_t size)
{
    if (!h || !buf) {
        if (buf && size)
            buf[0] = 0;
        return 0;
    }
    ouro_heap_stats s;
    s.struct_size = sizeof s;
    ouro_heap_get_stats(h, &s);
    char tmp[8192];
    size_t n = 0;
#define OUT(...) n += (size_t)snprintf(tmp + n, n < sizeof tmp ? sizeof tmp - n : 0, __VA_ARGS__)
    OUT("bytes in use      %zu (peak %zu)\n", s.bytes_in_use, s.peak_bytes_in_use);
    OUT("objects           %zu\n", s.objects);
    OUT("arenas            %zu held, %zu peak, %zu allocated, %zu released\n", s.arenas,
        s.peak_arenas, s.arenas_allocated, s.arenas_released);
    OUT("empty arenas      %zu kept until their decay (ouro_heap_trim returns them)\n",
        s.empty_arenas);
    OUT("large blocks      %zu (%zu bytes)\n", s.large_blocks, s.large_bytes);
    OUT("kept large blocks %zu (%zu bytes mapped) until their decay\n", s.large_kept,
        s.large_kept_bytes);
    OUT("mapped            %zu bytes (peak %zu)\n", s.mapped_bytes, s.peak_mapped_bytes);
    OUT("class  size  blocks  pools\n");
    for (unsigned c = 0; c < s.num_classes; c++) {
        if (s.class_blocks[c] || s.class_pools[c])
            OUT("%5u %5zu %7zu %6zu\n", c, s.class_size[c], s.class_blocks[c], s.class_pools[c]);
    }
#undef OUT
    if (size) {
        size_t k = n < size - 1 ? n : size - 1;
        if (k > sizeof tmp - 1)
            k = sizeof tmp - 1;
        memcpy(buf, tmp, k);
        buf[k] = 0;
    }
    return n;
}
