/*
 * snapshot_take.c — taking a snapshot of a heap: its statistics and the
 * sections asked for (traces, census, leak report, graph), copied into
 * the snapshot's own pool so it outlives the heap.
 *
 * Each section comes from the file that knows it: the traces from the
 * tracer (trace.c, ouro__ins_snap_traces, which needs the tracer's
 * tables), the census from ouro_census (census.c), the leak groups and the
 * graph around the largest suspects from ouro__ins_leak_take (leaks.c).
 * Taking a snapshot changes nothing the heap counts (inspect.h).
 *
 * Owns: ouro_snapshot_take, ouro_trace_take_snapshot.  Calls snapshot.c,
 * trace.c, census.c, leaks.c, graph.c (ouro_graph_free) and util.c.
 */
#include "inspect.h"

/* ------------------------------------------------------------ sections */

static int snap_census(ouro_heap *h, ouro_snapshot *s)
{
    size_t n;
    ouro_type_count *c = ouro_census(h, &n);
    if (!c)
        return OURO_ENOMEM;
    ins_strpool *pool = ouro__ins_snap_pool(s);
    s->census = ouro__ins_pool_alloc(pool, (n ? n : 1) * sizeof *c);
    if (!s->census) {
        free(c);
        return OURO_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        s->census[i] = c[i];
        s->census[i].name = ouro__ins_intern(pool, c[i].name);
    }
    s->ncensus = n;
    free(c);
    return 0;
}

static int snap_leaks(ouro_heap *h, ouro_snapshot *s, int with_graph)
{
    ouro_graph *graph = NULL;
    ouro_leak_report *r = ouro__ins_leak_take(h, 5, with_graph ? &graph : NULL);
    if (!r)
        return OURO_ENOMEM;
    ins_strpool *pool = ouro__ins_snap_pool(s);
    int rc = 0;
    size_t keep = r->ngroups < 100 ? r->ngroups : 100;
    s->leaks = ouro__ins_pool_alloc(pool, (keep ? keep : 1) * sizeof *s->leaks);
    if (!s->leaks) {
        rc = OURO_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < keep; i++) {
        rc = ouro__ins_copy_leak_group(pool, &s->leaks[i], &r->groups[i]);
        if (rc < 0)
            goto out;
    }
    s->nleaks = keep;
    if (graph) {
        s->graph.nodes = ouro__ins_pool_alloc(
            pool, (graph->nnodes ? graph->nnodes : 1) * sizeof *graph->nodes);
        s->graph.edges = ouro__ins_pool_alloc(
            pool, (graph->nedges ? graph->nedges : 1) * sizeof *graph->edges);
        if (!s->graph.nodes || !s->graph.edges) {
            rc = OURO_ENOMEM;
            goto out;
        }
        ouro__ins_copy_graph(pool, &s->graph, graph);
        s->graph.nnodes = graph->nnodes;
        s->graph.nedges = graph->nedges;
        s->graph.truncated = graph->truncated;
    }
out:
    ouro_graph_free(graph);
    ouro_leak_report_free(r);
    return rc;
}

/* ------------------------------------------------------------ taking */

static ouro_snapshot *snapshot_take(ouro_heap *h, unsigned what, const char *label);

/* On a shared heap the whole snapshot is taken with the world stopped:
 * statistics, traces, census and leaks of one instant, and no object the
 * leak report reads can die meanwhile. */
ouro_snapshot *ouro_snapshot_take(ouro_heap *h, unsigned what, const char *label)
{
    if (!h)
        return NULL;
    if (!ouro_heap_is_shared(h))
        return snapshot_take(h, what, label);
    if (ouro__stw_enter(h, "ouro_snapshot_take") < 0)
        return NULL;
    ouro_snapshot *s = snapshot_take(h, what, label);
    ouro__stw_leave(h);
    return s;
}

static ouro_snapshot *snapshot_take(ouro_heap *h, unsigned what, const char *label)
{
    ouro_snapshot *s = ouro__ins_snap_alloc();
    if (!s) {
        ouro__set_error(h, OURO_ENOMEM);
        return NULL;
    }
    int rc = 0;
    s->label = ouro__ins_intern(ouro__ins_snap_pool(s), label);
    s->time = ouro__ins_now();
    s->has_heap = 1;
    s->heap.struct_size = sizeof s->heap;
    ouro_heap_get_stats(h, &s->heap);
    s->heap.num_classes = 0;
    memset(s->heap.class_size, 0, sizeof s->heap.class_size);
    memset(s->heap.class_blocks, 0, sizeof s->heap.class_blocks);
    memset(s->heap.class_pools, 0, sizeof s->heap.class_pools);
    if ((label && !s->label))
        rc = OURO_ENOMEM;
    if (!rc && (what & OURO_SNAP_TRACES))
        rc = ouro__ins_snap_traces(h, s);
    if (!rc && (what & OURO_SNAP_CENSUS))
        rc = snap_census(h, s);
    if (!rc && (what & (OURO_SNAP_LEAKS | OURO_SNAP_GRAPH)))
        rc = snap_leaks(h, s, (what & OURO_SNAP_GRAPH) != 0);
    if (rc) {
        ouro_snapshot_free(s);
        ouro__set_error(h, rc);
        return NULL;
    }
    s->tools_bytes = ouro_inspect_overhead(h); /* after symbolizing the traces */
    return s;
}

ouro_snapshot *ouro_trace_take_snapshot(ouro_heap *h)
{
    if (!h)
        return NULL;
    if (!ouro_trace_is_tracing(h)) {
        ouro__set_error(h, OURO_ENOTFOUND);
        return NULL;
    }
    return ouro_snapshot_take(h, OURO_SNAP_TRACES, NULL);
}
