/*
 * snapshot.c — the snapshot structure: allocating, copying into and
 * freeing an ouro_snapshot.
 *
 * A snapshot owns all its memory through one string pool (inspect.h,
 * ins_snap_priv): its arrays and every string live in the pool's chunks,
 * so freeing is one walk over the chunks, a loaded snapshot looks exactly
 * like a taken one, and a snapshot outlives the heap and the program's
 * string literals it was taken from.  Whoever fills a section (trace.c,
 * snapshot_take.c, snapshot_json.c, sampler.c, trace_stats.c) allocates
 * it with ouro__ins_pool_alloc from ouro__ins_snap_pool(s) and interns its
 * strings there.
 *
 * Owns: ouro__ins_snap_alloc, ouro__ins_snap_pool, ouro_snapshot_free, and
 * the copies of a leak group or a graph into a snapshot's pool.  Calls
 * only util.c (the string pool).
 */
#include "inspect.h"

ouro_snapshot *ouro__ins_snap_alloc(void)
{
    ouro_snapshot *s = calloc(1, sizeof *s);
    ins_snap_priv *p = calloc(1, sizeof *p);
    if (!s || !p) {
        free(s);
        free(p);
        return NULL;
    }
    s->struct_size = sizeof *s;
    s->priv = p;
    return s;
}

ins_strpool *ouro__ins_snap_pool(ouro_snapshot *s) { return &((ins_snap_priv *)s->priv)->pool; }

void ouro_snapshot_free(ouro_snapshot *s)
{
    if (!s)
        return;
    ins_snap_priv *p = s->priv;
    if (p) {
        ouro__ins_strpool_fini(&p->pool);
        free(p);
    }
    free(s);
}

/* ------------------------------------------------------------ copies into a pool */

int ouro__ins_copy_leak_group(ins_strpool *p, ouro_leak_group *dst, const ouro_leak_group *src)
{
    *dst = *src;
    dst->type = ouro__ins_intern(p, src->type);
    dst->site.file = ouro__ins_intern(p, src->site.file);
    dst->site.func = ouro__ins_intern(p, src->site.func);
    if (src->nchain) {
        dst->chain = ouro__ins_pool_alloc(p, src->nchain * sizeof *dst->chain);
        if (!dst->chain)
            return OURO_ENOMEM;
        for (size_t k = 0; k < src->nchain; k++) {
            dst->chain[k] = src->chain[k];
            dst->chain[k].type = ouro__ins_intern(p, src->chain[k].type);
        }
    }
    return 0;
}

void ouro__ins_copy_graph(ins_strpool *p, ouro_graph *dst, const ouro_graph *src)
{
    for (size_t i = 0; i < src->nnodes; i++) {
        dst->nodes[i] = src->nodes[i];
        dst->nodes[i].type = ouro__ins_intern(p, src->nodes[i].type);
    }
    if (src->nedges)
        memcpy(dst->edges, src->edges, src->nedges * sizeof *src->edges);
}
