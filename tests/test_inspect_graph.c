/* Object graphs (objgraph), roots and leak reports. */
#include "testlib.h"
#include "ttypes.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct objs {
    ouro_object *o[64];
    int n;
} objs;

static int collect(ouro_object *o, void *arg)
{
    objs *s = arg;
    if (s->n < 64)
        s->o[s->n++] = o;
    return 0;
}

static int has(const objs *s, ouro_object *o)
{
    for (int i = 0; i < s->n; i++)
        if (s->o[i] == o)
            return 1;
    return 0;
}

static ouro_heap_stats stats(ouro_heap *h)
{
    ouro_heap_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    ouro_heap_get_stats(h, &s);
    return s;
}

/* a -> b -> c held by the test through `a` only; x <-> y a garbage cycle. */
typedef struct scene {
    ouro_object *a, *b, *c, *x, *y;
} scene;

static scene make_scene(ouro_heap *h)
{
    scene s;
    s.a = tn_plain(h);
    s.b = tn_plain(h);
    s.c = tn_plain(h);
    tn_link(s.a, s.b);
    tn_link(s.b, s.c);
    ouro_decref(s.b); /* now held by a only */
    ouro_decref(s.c); /* held by b only */
    s.x = tn_plain(h);
    s.y = tn_plain(h);
    tn_link(s.x, s.y);
    tn_link(s.y, s.x);
    ouro_decref(s.x);
    ouro_decref(s.y);
    return s;
}

TEST(leaking_objects_and_roots)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    scene s = make_scene(h);
    ouro_heap_stats before = stats(h);
    objs leak = {0}, roots = {0};
    CHECK_EQ(ouro_get_leaking_objects(h, collect, &leak), 0);
    CHECK_EQ(leak.n, 1); /* only a has no referrer */
    CHECK(has(&leak, s.a));
    CHECK_EQ(ouro_get_roots(h, collect, &roots), 0);
    CHECK_EQ(roots.n, 1); /* only a is held from outside the heap */
    CHECK(has(&roots, s.a));
    ouro_heap_stats after = stats(h);
    CHECK_EQ(before.bytes_in_use, after.bytes_in_use);
    CHECK_EQ(before.objects, after.objects);
    ouro_gc_gen_stats gs[3];
    ouro_gc_get_stats(h, gs);
    CHECK_EQ(gs[0].collections + gs[1].collections + gs[2].collections, 0);
    ouro_decref(s.a);
    CHECK_EQ(ouro_gc_collect(h, 2), 2);
    tl_heap_done(h);
}

TEST(backref_chain_from_a_root)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    scene s = make_scene(h);
    size_t len = 0;
    ouro_object **chain = ouro_find_backref_chain(h, s.c, &len);
    CHECK(chain != NULL);
    CHECK_EQ(len, 3);
    CHECK(chain[0] == s.a && chain[1] == s.b && chain[2] == s.c);
    ouro_inspect_free(chain);
    chain = ouro_find_backref_chain(h, s.a, &len);
    CHECK_EQ(len, 1); /* a root itself */
    ouro_inspect_free(chain);
    /* No root reaches the garbage cycle. */
    CHECK(ouro_find_backref_chain(h, s.x, &len) == NULL);
    CHECK_EQ(ouro_heap_last_error(h), OURO_ENOTFOUND);
    /* A second path: the chain stays the shortest.  d holds c directly. */
    ouro_object *d = tn_plain(h);
    tn_link(d, s.c);
    chain = ouro_find_backref_chain(h, s.c, &len);
    CHECK_EQ(len, 2);
    CHECK(chain[0] == d && chain[1] == s.c);
    ouro_inspect_free(chain);
    ouro_decref(d);
    ouro_decref(s.a);
    ouro_gc_collect(h, 2);
    tl_heap_done(h);
}

TEST(graph_refs_backrefs_and_dot)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    scene s = make_scene(h);
    ouro_graph *g = ouro_graph_refs(h, &s.a, 1, 5, 0);
    CHECK(g != NULL);
    CHECK_EQ(g->nnodes, 3);
    CHECK_EQ(g->nedges, 2);
    CHECK(g->nodes[0].id == ouro_id(s.a));
    CHECK(g->nodes[0].flags & OURO_NODE_TARGET);
    CHECK(g->nodes[0].flags & OURO_NODE_ROOT);
    CHECK_EQ(g->nodes[0].external, 1);
    CHECK_EQ(g->nodes[1].external, 0);
    CHECK_STR(g->nodes[1].type, "tplain");
    CHECK_EQ(g->nodes[1].size, sizeof(tnode));
    ouro_graph_free(g);

    g = ouro_graph_refs(h, &s.a, 1, 1, 0); /* depth 1: a and b */
    CHECK_EQ(g->nnodes, 2);
    CHECK_EQ(g->nedges, 1);
    ouro_graph_free(g);

    g = ouro_graph_refs(h, &s.a, 1, 5, 2); /* node limit */
    CHECK_EQ(g->nnodes, 2);
    CHECK(g->truncated);
    ouro_graph_free(g);

    g = ouro_graph_backrefs(h, &s.c, 1, 5, 0);
    CHECK_EQ(g->nnodes, 3);
    CHECK_EQ(g->nedges, 2);
    char path[] = "/tmp/ouro_graph_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "w+");
    CHECK_EQ(ouro_graph_write_dot(g, f), 0);
    fflush(f);
    rewind(f);
    char text[4096];
    size_t k = fread(text, 1, sizeof text - 1, f);
    text[k] = 0;
    fclose(f);
    CHECK(strstr(text, "digraph ouro") != NULL);
    CHECK(strstr(text, "n1 -> n0;") != NULL); /* b -> c */
    CHECK(strstr(text, "n2 -> n1;") != NULL); /* a -> b */
    CHECK(strstr(text, "(root)") != NULL);
    char svg[64];
    snprintf(svg, sizeof svg, "%s.svg", path);
    int rc = ouro_dot_render(path, svg, "svg");
    CHECK(rc == 0 || rc == OURO_ENOTFOUND);
    if (rc == 0) {
        FILE *sf = fopen(svg, "r");
        CHECK(sf != NULL);
        k = fread(text, 1, sizeof text - 1, sf);
        text[k] = 0;
        fclose(sf);
        CHECK(strstr(text, "<svg") != NULL);
        remove(svg);
    }
    CHECK_EQ(ouro_dot_render(path, svg, "svg;rm"), OURO_EINVAL);
    remove(path);
    ouro_graph_free(g);
    ouro_decref(s.a);
    ouro_gc_collect(h, 2);
    tl_heap_done(h);
}

static void site_one(ouro_heap *h, ouro_object **o, int n)
{
    for (int i = 0; i < n; i++)
        o[i] = ouro_new(h, &tleaf_type);
}

static void site_two(ouro_heap *h, ouro_object **o, int n)
{
    for (int i = 0; i < n; i++)
        o[i] = ouro_new(h, &tleaf_type);
}

TEST(leak_report_groups_by_type_and_site)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_trace_start(h, 1);
    ouro_object *one[100], *two[20], *holder = tn_plain(h);
    site_one(h, one, 100);
    site_two(h, two, 20);
    tn_link(holder, one[0]); /* one[0] is held by holder as well */
    ouro_heap_stats before = stats(h);
    ouro_leak_report *r = ouro_leak_report_take(h, 3);
    CHECK(r != NULL);
    CHECK_EQ(r->objects, 121);
    CHECK_EQ(r->bytes, 120 * 32 + 64);
    CHECK_EQ(r->ngroups, 3);
    CHECK_STR(r->groups[0].type, "tleaf");
    CHECK_EQ(r->groups[0].count, 100);
    CHECK_EQ(r->groups[0].bytes, 3200);
    CHECK_STR(r->groups[0].site.func, "site_one");
    CHECK_STR(r->groups[1].site.func, "site_two");
    CHECK_EQ(r->groups[1].bytes, 640);
    CHECK_STR(r->groups[2].type, "tplain");
    CHECK_EQ(r->groups[2].bytes, 64);
    /* Every object here is held by the test: each example is a root. */
    CHECK_EQ(r->groups[1].nchain, 1);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK_EQ(ouro_leak_report_print(r, 2, f), 0);
    fclose(f);
    CHECK(strstr(buf, "121 live objects, 3904 bytes, in 3 groups") != NULL);
    CHECK(strstr(buf, "site_one") != NULL);
    CHECK(strstr(buf, "... and 1 more groups") != NULL);
    free(buf);
    ouro_leak_report_free(r);
    ouro_heap_stats after = stats(h);
    CHECK_EQ(before.bytes_in_use, after.bytes_in_use);
    CHECK_EQ(before.objects, after.objects);
    /* Without tracing the site is unknown and the groups are per type. */
    ouro_trace_stop(h);
    r = ouro_leak_report_take(h, 0);
    CHECK_EQ(r->ngroups, 2);
    CHECK(r->groups[0].site.file == NULL);
    CHECK_EQ(r->groups[0].count, 120);
    ouro_leak_report_free(r);
    for (int i = 0; i < 100; i++)
        ouro_decref(one[i]);
    for (int i = 0; i < 20; i++)
        ouro_decref(two[i]);
    ouro_decref(holder);
    tl_heap_done(h);
}

TEST(leak_report_chain_through_the_heap)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_object *root = tn_plain(h), *mid = tn_plain(h);
    tn_link(root, mid);
    ouro_decref(mid);
    ouro_object *leaves[40];
    site_one(h, leaves, 40);
    for (int i = 0; i < 40; i++) {
        /* mid holds the first 4 leaves; the rest hang off each other. */
        if (i < 4)
            tn_link(mid, leaves[i]);
        ouro_decref(leaves[i]);
    }
    ouro_leak_report *r = ouro_leak_report_take(h, 1);
    CHECK_EQ(r->ngroups, 2);
    CHECK_STR(r->groups[0].type, "tleaf");
    CHECK_EQ(r->groups[0].count, 4); /* the other 36 died */
    CHECK_EQ(r->groups[0].nchain, 3); /* root -> mid -> leaf */
    CHECK(r->groups[0].chain[0].id == ouro_id(root));
    CHECK(r->groups[0].chain[0].flags & OURO_NODE_ROOT);
    CHECK(r->groups[0].chain[2].flags & OURO_NODE_SUSPECT);
    ouro_leak_report_free(r);
    ouro_decref(root);
    tl_heap_done(h);
}

TEST(empty_heap_reports_nothing)
{
    ouro_heap *h = tl_heap();
    size_t n = 99;
    ouro_type_count *c = ouro_census(h, &n);
    CHECK(c != NULL);
    CHECK_EQ(n, 0);
    ouro_inspect_free(c);
    ouro_leak_report *r = ouro_leak_report_take(h, 5);
    CHECK(r != NULL);
    CHECK_EQ(r->ngroups, 0);
    CHECK_EQ(r->objects, 0);
    ouro_leak_report_free(r);
    ouro_snapshot *s = ouro_snapshot_take(h, OURO_SNAP_ALL, NULL);
    CHECK(s != NULL);
    CHECK_EQ(s->ncensus + s->nleaks + s->graph.nnodes + s->ntraces, 0);
    ouro_snapshot_free(s);
    objs none = {0};
    CHECK_EQ(ouro_get_roots(h, collect, &none), 0);
    CHECK_EQ(none.n, 0);
    tl_heap_done(h);
}
