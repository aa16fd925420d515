/*
 * leaks.c — leak reports: every live object grouped by type and allocation
 * site, largest groups first, with the shortest back-reference chain from
 * a root to one example of each of the largest groups.
 *
 * A report is one heap walk (type, site and block size of each object,
 * the site from the tracer when tracing is on), a sort that brings each
 * group together, and, only when chains or a graph are asked for, one
 * object graph (graph.c) searched from the examples.  Its memory is malloc
 * and a string pool of its own, freed by ouro_leak_report_free.
 *
 * Owns: ouro_leak_report_take, _free, _print, and ouro__ins_leak_take (the
 * same with the subgraph around the suspects, for snapshots).  Calls
 * graph.c (the graph and its chains), trace.c (a block's allocation site)
 * and util.c.
 */
#include "inspect.h"


typedef struct leak_rec {
    uint16_t type_id;
    const char *file, *func;
    int line;
    size_t bytes;
    ouro_object *obj;
} leak_rec;

typedef struct leak_walk {
    ouro_heap *h;
    ins_arr recs;
    int err;
} leak_walk;

static int leak_visit(ouro_object *o, void *arg)
{
    leak_walk *w = arg;
    if (ouro_is_immortal(o))
        return 0;
    leak_rec *r = ouro__ins_arr_push(&w->recs);
    if (!r) {
        w->err = OURO_ENOMEM;
        return 1;
    }
    ouro_frame site;
    ouro__ins_trace_site(w->h, o, &site);
    *r = (leak_rec){o->type_id, site.file, site.func, site.line, ouro__block_size(o), o};
    return 0;
}

/* Sites compare by content: two translation units may hold the same file
 * name at different addresses. */
static int strcmp0(const char *a, const char *b)
{
    if (a == b)
        return 0;
    if (!a || !b)
        return a ? 1 : -1;
    return strcmp(a, b);
}

static int same_group(const leak_rec *x, const leak_rec *y)
{
    return x->type_id == y->type_id && x->line == y->line && strcmp0(x->file, y->file) == 0 &&
           strcmp0(x->func, y->func) == 0;
}

static int cmp_rec(const void *a, const void *b)
{
    const leak_rec *x = a, *y = b;
    if (x->type_id != y->type_id)
        return x->type_id < y->type_id ? -1 : 1;
    int c = strcmp0(x->file, y->file);
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    c = strcmp0(x->func, y->func);
    if (c)
        return c;
    return (uintptr_t)x->obj < (uintptr_t)y->obj ? -1 : (uintptr_t)x->obj > (uintptr_t)y->obj;
}

static int cmp_group(const void *a, const void *b)
{
    const ouro_leak_group *x = a, *y = b;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return x->example < y->example ? -1 : x->example > y->example;
}

typedef struct leak_priv {
    ins_strpool pool;
} leak_priv;

ouro_leak_report *ouro__ins_leak_take(ouro_heap *h, size_t chains, ouro_graph **graph)
{
    if (!h)
        return NULL;
    ouro_leak_report *r = calloc(1, sizeof *r);
    leak_priv *priv = calloc(1, sizeof *priv);
    leak_walk w = {h, {NULL, 0, 0, sizeof(leak_rec)}, 0};
    if (!r || !priv)
        goto fail;
    r->priv = priv;
    ouro_heap_walk(h, leak_visit, &w);
    if (w.err)
        goto fail;
    leak_rec *recs = w.recs.p;
    size_t n = w.recs.len;
    if (n)
        qsort(recs, n, sizeof *recs, cmp_rec);
    ins_arr groups = {NULL, 0, 0, sizeof(ouro_leak_group)};
    for (size_t i = 0; i < n;) {
        size_t j = i;
        ouro_leak_group *g = ouro__ins_arr_push(&groups);
        if (!g) {
            free(groups.p);
            goto fail;
        }
        ouro_type *t = ouro__type_by_id(recs[i].type_id);
        g->type = t && t->name ? t->name : "?";
        g->site = (ouro_frame){recs[i].file, recs[i].func, recs[i].line, 0};
        g->example = ouro_id(recs[i].obj);
        for (; j < n && same_group(&recs[i], &recs[j]); j++) {
            g->count++;
            g->bytes += recs[j].bytes;
        }
        r->objects += g->count;
        r->bytes += g->bytes;
        i = j;
    }
    r->groups = groups.p;
    r->ngroups = groups.len;
    if (r->ngroups)
        qsort(r->groups, r->ngroups, sizeof *r->groups, cmp_group);
    if (chains > r->ngroups)
        chains = r->ngroups;
    if (chains || graph) {
        ins_graph g;
        if (ouro__ins_graph_build(h, &g) < 0)
            goto fail;
        uint32_t *idx = malloc((g.n ? g.n : 1) * sizeof *idx);
        ins_arr seeds = {NULL, 0, 0, sizeof(uint32_t)};
        ins_arr sflags = {NULL, 0, 0, sizeof(unsigned)};
        int err = !idx;
        for (size_t k = 0; k < chains && !err; k++) {
            ouro_leak_group *lg = &r->groups[k];
            long t = ouro__ins_graph_find(&g, (ouro_object *)(uintptr_t)lg->example);
            size_t len = t >= 0 ? ouro__ins_graph_chain(&g, (size_t)t, idx, g.n) : 0;
            if (len) {
                lg->chain = ouro__ins_pool_alloc(&priv->pool, len * sizeof *lg->chain);
                if (!lg->chain) {
                    err = 1;
                    break;
                }
                for (size_t m = 0; m < len; m++)
                    ouro__ins_node_of(&g, idx[m], &lg->chain[m]);
                lg->chain[len - 1].flags |= OURO_NODE_SUSPECT;
                lg->nchain = len;
            }
            if (t >= 0) {
                uint32_t *sp = ouro__ins_arr_push(&seeds);
                unsigned *fp = ouro__ins_arr_push(&sflags);
                if (!sp || !fp) {
                    err = 1;
                    break;
                }
                *sp = (uint32_t)t;
                *fp = OURO_NODE_SUSPECT;
            }
        }
        if (!err && graph) {
            *graph = ouro__ins_subgraph(&g, seeds.p, seeds.len, sflags.p, 2, 4, 80);
            err = !*graph;
        }
        free(idx);
        free(seeds.p);
        free(sflags.p);
        ouro__ins_graph_free(&g);
        if (err)
            goto fail;
    }
    free(w.recs.p);
    return r;
fail:
    free(w.recs.p);
    ouro__set_error(h, OURO_ENOMEM);
    ouro_leak_report_free(r);
    if (!r)
        free(priv);
    return NULL;
}

ouro_leak_report *ouro_leak_report_take(ouro_heap *h, size_t chains)
{
    return ouro__ins_leak_take(h, chains, NULL);
}

void ouro_leak_report_free(ouro_leak_report *r)
{
    if (!r)
        return;
    leak_priv *p = r->priv;
    if (p) {
        ouro__ins_strpool_fini(&p->pool);
        free(p);
    }
    free(r->groups);
    free(r);
}

int ouro_leak_report_print(const ouro_leak_report *r, size_t max_groups, FILE *out)
{
    if (!r || !out)
        return OURO_EINVAL;
    fprintf(out, "ouro leak report: %zu live objects, %zu bytes, in %zu groups\n", r->objects,
            r->bytes, r->ngroups);
    for (size_t i = 0; i < r->ngroups && i < max_groups; i++) {
        const ouro_leak_group *g = &r->groups[i];
        fprintf(out, "  %6zu x %-20s %10zu B  ", g->count, g->type, g->bytes);
        if (g->site.file)
            fprintf(out, "at %s:%d (%s)\n", g->site.file, g->site.line,
                    g->site.func ? g->site.func : "?");
        else
            fputs("(site unknown: tracing was off)\n", out);
        if (g->nchain) {
            fputs("         held by: ", out);
            for (size_t k = 0; k < g->nchain; k++)
                fprintf(out, "%s%s@0x%llx", k ? " -> " : "", g->chain[k].type,
                        (unsigned long long)g->chain[k].id);
            fputs(g->nchain == 1 ? " (a root itself)\n" : "\n", out);
        }
    }
    if (r->ngroups > max_groups)
        fprintf(out, "  ... and %zu more groups\n", r->ngroups - max_groups);
    return ferror(out) ? OURO_EINVAL : 0;
}
