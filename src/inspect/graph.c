/*
 * graph.c — the object graph: objgraph's leaking objects, back-reference
 * chains and DOT pictures, roots.
 *
 * ROOTS
 *
 *   The collector decides reachability inside a generation by subtracting,
 *   from each object's reference count, the references that other objects
 *   of that generation hold (gc_refs); what is left over comes from outside.
 *   We do the same over the whole heap, without touching the headers: an
 *   object whose count exceeds the references heap objects hold to it is
 *   held by the program (a local variable, a global, a scope, the garbage
 *   list) and is a root.  Immortal objects are roots too.  An object no
 *   root reaches is cyclic garbage the next full collection will free.
 *
 * The graph is built once per query (inspect.h, ins_graph): one heap walk to
 * number the objects, one traverse per object to list the edges, then the
 * reverse edges by counting sort.  O(objects + references) time and about
 * 40 bytes per object plus 12 per reference, all malloc.
 *
 * Owns: ins_graph (ouro__ins_graph_build, _chain, ouro__ins_subgraph...)
 * and the public graph queries, ouro_graph_write_dot and ouro_dot_render.
 * Calls only util.c (maps, arrays); leaks.c and the report build on it.
 */
#include "inspect.h"

#include <errno.h>
#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

/* ------------------------------------------------------------ building */

typedef struct build_state {
    ins_graph *g;
    ins_arr objs;  /* ouro_object * */
    ins_arr edges; /* uint32_t pairs: src, dst */
    uint32_t src;
    int err;
} build_state;

static int collect_visit(ouro_object *o, void *arg)
{
    build_state *b = arg;
    ouro_object **slot = ouro__ins_arr_push(&b->objs);
    if (!slot) {
        b->err = OURO_ENOMEM;
        return 1;
    }
    *slot = o;
    return 0;
}

static int edge_visit(ouro_object *target, void *arg)
{
    build_state *b = arg;
    long j = target ? ouro__ins_graph_find(b->g, target) : -1;
    if (j < 0)
        return 0; /* not an object of this heap */
    uint32_t *e = ouro__ins_arr_push(&b->edges);
    if (!e) {
        b->err = OURO_ENOMEM;
        return 1;
    }
    e[0] = b->src;
    e[1] = (uint32_t)j;
    return 0;
}

void ouro__ins_graph_free(ins_graph *g)
{
    free(g->obj);
    ouro__ins_map_fini(&g->index);
    free(g->fstart);
    free(g->fwd);
    free(g->bstart);
    free(g->back);
    free(g->external);
    ouro_heap *held = g->held;
    memset(g, 0, sizeof *g);
    if (held)
        ouro__stw_leave(held);
}

int ouro__ins_graph_build(ouro_heap *h, ins_graph *g)
{
    memset(g, 0, sizeof *g);
    if (ouro_heap_is_shared(h)) {
        /* the graph reads its objects after the walk: on a shared heap the
         * world stays stopped until ouro__ins_graph_free */
        if (ouro__stw_enter(h, "an object graph") < 0)
            return OURO_ETHREAD;
        g->held = h;
    }
    build_state b = {g, INS_ARR(ouro_object *), {NULL, 0, 0, 2 * sizeof(uint32_t)}, 0, 0};
    ouro_heap_walk(h, collect_visit, &b);
    if (b.err || b.objs.len >= UINT32_MAX)
        goto fail;
    g->n = b.objs.len;
    g->obj = b.objs.p;
    b.objs.p = NULL;
    if (ouro__ins_map_init(&g->index, g->n) < 0)
        goto fail;
    for (size_t i = 0; i < g->n; i++)
        ouro__ins_map_put(&g->index, (uintptr_t)g->obj[i], i); /* cannot grow: sized */
    for (size_t i = 0; i < g->n && !b.err; i++) {
        ouro_type *t = ouro__type(g->obj[i]);
        if (!t->traverse)
            continue;
        b.src = (uint32_t)i;
        t->traverse(g->obj[i], edge_visit, &b);
    }
    if (b.err)
        goto fail;
    size_t ne = b.edges.len;
    uint32_t *ed = b.edges.p;
    g->nedges = ne;
    g->fstart = calloc(g->n + 1, sizeof *g->fstart);
    g->bstart = calloc(g->n + 1, sizeof *g->bstart);
    g->fwd = malloc((ne ? ne : 1) * sizeof *g->fwd);
    g->back = malloc((ne ? ne : 1) * sizeof *g->back);
    g->external = malloc((g->n ? g->n : 1) * sizeof *g->external);
    if (!g->fstart || !g->bstart || !g->fwd || !g->back || !g->external)
        goto fail;
    /* Edges were produced grouped by source in order: forward rows are
     * their order; backward rows come from a counting sort on targets. */
    for (size_t e = 0; e < ne; e++) {
        g->fstart[ed[2 * e] + 1]++;
        g->bstart[ed[2 * e + 1] + 1]++;
    }
    for (size_t i = 0; i < g->n; i++) {
        g->fstart[i + 1] += g->fstart[i];
        g->bstart[i + 1] += g->bstart[i];
    }
    uint32_t *fill = calloc(g->n + 1, sizeof *fill);
    if (!fill)
        goto fail;
    for (size_t e = 0; e < ne; e++) {
        g->fwd[e] = ed[2 * e + 1];
        uint32_t dst = ed[2 * e + 1];
        g->back[g->bstart[dst] + fill[dst]++] = ed[2 * e];
    }
    free(fill);
    for (size_t i = 0; i < g->n; i++) {
        ouro_object *o = g->obj[i];
        uint32_t incoming = g->bstart[i + 1] - g->bstart[i];
        if (ouro_is_immortal(o))
            g->external[i] = 1;
        else
            g->external[i] = o->refcnt > incoming ? o->refcnt - incoming : 0;
    }
    free(b.edges.p);
    return 0;
fail:
    free(b.objs.p);
    free(b.edges.p);
    ouro__ins_graph_free(g);
    return OURO_ENOMEM;
}

int ouro__ins_is_root(const ins_graph *g, size_t i) { return g->external[i] > 0; }

size_t ouro__ins_graph_chain(const ins_graph *g, size_t target, uint32_t *out, size_t max)
{
    if (ouro__ins_is_root(g, target)) {
        if (max)
            out[0] = (uint32_t)target;
        return 1;
    }
    /* Breadth-first from the target along back edges: the first root met
     * is the nearest, and next[] leads from it back to the target. */
    uint32_t *next = malloc(g->n * sizeof *next);
    uint32_t *queue = malloc(g->n * sizeof *queue);
    size_t len = 0;
    if (!next || !queue)
        goto out;
    memset(next, 0xff, g->n * sizeof *next);
    size_t qh = 0, qt = 0;
    queue[qt++] = (uint32_t)target;
    next[target] = (uint32_t)target;
    long found = -1;
    while (qh < qt && found < 0) {
        uint32_t v = queue[qh++];
        for (uint32_t k = g->bstart[v]; k < g->bstart[v + 1]; k++) {
            uint32_t u = g->back[k];
            if (next[u] != UINT32_MAX)
                continue;
            next[u] = v;
            if (ouro__ins_is_root(g, u)) {
                found = u;
                break;
            }
            queue[qt++] = u;
        }
    }
    if (found >= 0) {
        for (uint32_t v = (uint32_t)found;; v = next[v]) {
            if (len < max)
                out[len] = v;
            len++;
            if (v == target)
                break;
        }
    }
out:
    free(next);
    free(queue);
    return len;
}

void ouro__ins_node_of(const ins_graph *g, size_t i, ouro_graph_node *n)
{
    ouro_object *o = g->obj[i];
    n->id = ouro_id(o);
    n->type = ouro_type_name(o);
    n->size = ouro_sizeof(o);
    n->refcnt = o->refcnt;
    n->external = g->external[i];
    n->flags = ouro__ins_is_root(g, i) ? OURO_NODE_ROOT : 0;
}

ouro_graph *ouro__ins_subgraph(const ins_graph *g, const uint32_t *seeds, size_t nseeds,
                               const unsigned *seed_flags, int dir, int max_depth,
                               size_t max_nodes)
{
    if (!max_nodes)
        max_nodes = 200;
    ouro_graph *out = calloc(1, sizeof *out);
    ins_map pos; /* object number + 1 -> node index */
    uint32_t *queue = malloc((max_nodes + 1) * sizeof *queue);
    int *depth = malloc((max_nodes + 1) * sizeof *depth);
    if (!out || !queue || !depth || ouro__ins_map_init(&pos, max_nodes) < 0)
        goto oom_early;
    out->nodes = malloc(max_nodes * sizeof *out->nodes);
    if (!out->nodes)
        goto oom;
    size_t nq = 0;
    for (size_t s = 0; s < nseeds; s++) {
        size_t *have = ouro__ins_map_get(&pos, (uintptr_t)seeds[s] + 1);
        if (have) {
            out->nodes[*have].flags |= seed_flags ? seed_flags[s] : OURO_NODE_TARGET;
            continue;
        }
        if (nq == max_nodes) {
            out->truncated = 1;
            break;
        }
        ouro__ins_node_of(g, seeds[s], &out->nodes[nq]);
        out->nodes[nq].flags |= seed_flags ? seed_flags[s] : OURO_NODE_TARGET;
        if (ouro__ins_map_put(&pos, (uintptr_t)seeds[s] + 1, nq) < 0)
            goto oom;
        queue[nq] = seeds[s];
        depth[nq++] = 0;
    }
    for (size_t qh = 0; qh < nq; qh++) {
        uint32_t v = queue[qh];
        if (depth[qh] >= max_depth)
            continue;
        for (int pass = 0; pass < 2; pass++) {
            /* dir 2: back-references to max_depth, and what the seeds
             * themselves refer to (objgraph's picture of a leak). */
            int fwd_ok = dir == 0 || (dir == 1) || (dir == 2 && depth[qh] == 0);
            int back_ok = dir <= 0 || dir == 2;
            if ((pass == 0 && !fwd_ok) || (pass == 1 && !back_ok))
                continue;
            const uint32_t *st = pass == 0 ? g->fstart : g->bstart;
            const uint32_t *adj = pass == 0 ? g->fwd : g->back;
            for (uint32_t k = st[v]; k < st[v + 1]; k++) {
                uint32_t u = adj[k];
                if (ouro__ins_map_get(&pos, (uintptr_t)u + 1))
                    continue;
                if (nq == max_nodes) {
                    out->truncated = 1;
                    continue;
                }
                ouro__ins_node_of(g, u, &out->nodes[nq]);
                if (ouro__ins_map_put(&pos, (uintptr_t)u + 1, nq) < 0)
                    goto oom;
                queue[nq] = u;
                depth[nq++] = depth[qh] + 1;
            }
        }
    }
    out->nnodes = nq;
    /* Every reference between two chosen objects is drawn, once per
     * distinct pair. */
    ins_arr edges = {NULL, 0, 0, sizeof(ouro_graph_edge)};
    for (size_t i = 0; i < nq; i++) {
        uint32_t v = queue[i];
        for (uint32_t k = g->fstart[v]; k < g->fstart[v + 1]; k++) {
            size_t *j = ouro__ins_map_get(&pos, (uintptr_t)g->fwd[k] + 1);
            if (!j)
                continue;
            int dup = 0;
            for (uint32_t m = g->fstart[v]; m < k && !dup; m++)
                dup = g->fwd[m] == g->fwd[k];
            if (dup)
                continue;
            ouro_graph_edge *e = ouro__ins_arr_push(&edges);
            if (!e) {
                free(edges.p);
                goto oom;
            }
            e->from = i;
            e->to = *j;
        }
    }
    out->edges = edges.p;
    out->nedges = edges.len;
    ouro__ins_map_fini(&pos);
    free(queue);
    free(depth);
    return out;
oom:
    ouro__ins_map_fini(&pos);
oom_early:
    free(queue);
    free(depth);
    if (out)
        free(out->nodes);
    free(out);
    return NULL;
}

/* ------------------------------------------------------------ public queries */

typedef struct pick {
    ouro_visit_fn visit;
    void *arg;
} pick;

static int visit_where(ouro_heap *h, int roots, ouro_visit_fn visit, void *arg)
{
    if (!h || !visit)
        return OURO_EINVAL;
    ins_graph g;
    if (ouro__ins_graph_build(h, &g) < 0)
        return OURO_ENOMEM;
    int rc = 0;
    for (size_t i = 0; i < g.n && !rc; i++) {
        int yes = roots ? ouro__ins_is_root(&g, i) : g.bstart[i + 1] == g.bstart[i];
        if (yes && !ouro_is_immortal(g.obj[i]))
            rc = visit(g.obj[i], arg);
    }
    ouro__ins_graph_free(&g);
    return rc;
}

int ouro_get_leaking_objects(ouro_heap *h, ouro_visit_fn visit, void *arg)
{
    return visit_where(h, 0, visit, arg);
}

int ouro_get_roots(ouro_heap *h, ouro_visit_fn visit, void *arg)
{
    return visit_where(h, 1, visit, arg);
}

ouro_object **ouro_find_backref_chain(ouro_heap *h, ouro_object *target, size_t *len)
{
    if (!h || !target || !len)
        return NULL;
    ins_graph g;
    if (ouro__ins_graph_build(h, &g) < 0) {
        ouro__set_error(h, OURO_ENOMEM);
        return NULL;
    }
    ouro_object **chain = NULL;
    long t = ouro__ins_graph_find(&g, target);
    if (t < 0) {
        ouro__set_error(h, OURO_EINVAL);
        goto out;
    }
    uint32_t *idx = malloc(g.n * sizeof *idx);
    if (!idx) {
        ouro__set_error(h, OURO_ENOMEM);
        goto out;
    }
    size_t n = ouro__ins_graph_chain(&g, (size_t)t, idx, g.n);
    if (!n) {
        ouro__set_error(h, OURO_ENOTFOUND);
    } else if ((chain = malloc(n * sizeof *chain)) != NULL) {
        for (size_t i = 0; i < n; i++)
            chain[i] = g.obj[idx[i]];
        *len = n;
    } else {
        ouro__set_error(h, OURO_ENOMEM);
    }
    free(idx);
out:
    ouro__ins_graph_free(&g);
    return chain;
}

static ouro_graph *graph_around(ouro_heap *h, ouro_object *const *objs, size_t n, int dir,
                                int max_depth, size_t max_nodes)
{
    if (!h || (n && !objs) || max_depth < 0)
        return NULL;
    ins_graph g;
    if (ouro__ins_graph_build(h, &g) < 0)
        return NULL;
    uint32_t *seeds = malloc((n ? n : 1) * sizeof *seeds);
    ouro_graph *out = NULL;
    if (seeds) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            long j = ouro__ins_graph_find(&g, objs[i]);
            if (j >= 0)
                seeds[k++] = (uint32_t)j;
        }
        out = ouro__ins_subgraph(&g, seeds, k, NULL, dir, max_depth, max_nodes);
    }
    free(seeds);
    ouro__ins_graph_free(&g);
    return out;
}

ouro_graph *ouro_graph_refs(ouro_heap *h, ouro_object *const *objs, size_t n, int max_depth,
                            size_t max_nodes)
{
    return graph_around(h, objs, n, 1, max_depth, max_nodes);
}

ouro_graph *ouro_graph_backrefs(ouro_heap *h, ouro_object *const *objs, size_t n,
                                int max_depth, size_t max_nodes)
{
    return graph_around(h, objs, n, -1, max_depth, max_nodes);
}

void ouro_graph_free(ouro_graph *g)
{
    if (!g)
        return;
    free(g->nodes);
    free(g->edges);
    free(g);
}

/* ------------------------------------------------------------ DOT */

static void dot_escape(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        if ((unsigned char)*s >= 32)
            fputc(*s, out);
    }
}

int ouro_graph_write_dot(const ouro_graph *g, FILE *out)
{
    if (!g || !out)
        return OURO_EINVAL;
    fputs("digraph ouro {\n"
          "  graph [rankdir=TB, fontname=\"Helvetica\"];\n"
          "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\", "
          "fontname=\"Helvetica\", fontsize=10];\n"
          "  edge [color=\"#555555\"];\n",
          out);
    for (size_t i = 0; i < g->nnodes; i++) {
        const ouro_graph_node *n = &g->nodes[i];
        const char *fill = (n->flags & OURO_NODE_SUSPECT)  ? "#f4a6a6"
                           : (n->flags & OURO_NODE_TARGET) ? "#ffd59e"
                           : (n->flags & OURO_NODE_ROOT)   ? "#b9e3b0"
                                                           : "#ffffff";
        fprintf(out, "  n%zu [label=\"", i);
        dot_escape(out, n->type);
        fprintf(out, "\\n0x%llx\\n%zu B, refcnt %u%s\", fillcolor=\"%s\"];\n",
                (unsigned long long)n->id, n->size, n->refcnt,
                (n->flags & OURO_NODE_ROOT) ? "\\n(root)" : "", fill);
    }
    for (size_t e = 0; e < g->nedges; e++)
        fprintf(out, "  n%zu -> n%zu;\n", g->edges[e].from, g->edges[e].to);
    if (g->truncated)
        fputs("  truncated [shape=plaintext, label=\"(graph cut at the node limit)\"];\n", out);
    fputs("}\n", out);
    return ferror(out) ? OURO_EINVAL : 0;
}

int ouro_dot_render(const char *dot_path, const char *out_path, const char *format)
{
    if (!dot_path || !out_path || !format || !*format)
        return OURO_EINVAL;
    for (const char *p = format; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == ':'))
            return OURO_EINVAL;
    char tflag[64], oflag[4096];
    snprintf(tflag, sizeof tflag, "-T%s", format);
    if ((size_t)snprintf(oflag, sizeof oflag, "-o%s", out_path) >= sizeof oflag)
        return OURO_EINVAL;
    char *argv[] = {"dot", tflag, oflag, (char *)dot_path, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "dot", NULL, NULL, argv, environ);
    if (rc == ENOENT)
        return OURO_ENOTFOUND;
    if (rc != 0)
        return OURO_EINVAL;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return OURO_EINVAL;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return OURO_ENOTFOUND;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : OURO_EINVAL;
}
