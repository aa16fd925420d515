/* Census, summaries, growth and the type tracker (objgraph, Pympler).
 * tleaf: ouro_sizeof 32, block 32; tnode/tplain: ouro_sizeof 56, block 64. */
#include "testlib.h"
#include "ttypes.h"

#include <string.h>

static ouro_heap_stats stats(ouro_heap *h)
{
    ouro_heap_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    ouro_heap_get_stats(h, &s);
    return s;
}

TEST(census_counts_and_sizes)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_object *leaf[100], *node[10];
    for (int i = 0; i < 100; i++)
        leaf[i] = ouro_new(h, &tleaf_type);
    for (int i = 0; i < 10; i++)
        node[i] = tn_new(h);
    ouro_object *imm = ouro_new(h, &tleaf_type);
    ouro_make_immortal(imm); /* left out */
    ouro_heap_stats before = stats(h);
    size_t n;
    ouro_type_count *c = ouro_census(h, &n);
    CHECK(c != NULL);
    CHECK_EQ(n, 2);
    CHECK_STR(c[0].name, "tleaf"); /* most numerous first */
    CHECK_EQ(c[0].count, 100);
    CHECK_EQ(c[0].size, 100 * 32);
    CHECK_EQ(c[0].block_bytes, 100 * 32);
    CHECK_STR(c[1].name, "tnode");
    CHECK_EQ(c[1].count, 10);
    CHECK_EQ(c[1].size, 10 * sizeof(tnode));
    CHECK_EQ(c[1].block_bytes, 10 * 64);
    ouro_inspect_free(c);
    CHECK_EQ(ouro_census_count(h, "tleaf"), 100);
    CHECK_EQ(ouro_census_count(h, "tnode"), 10);
    CHECK_EQ(ouro_census_count(h, "nothing"), 0);
    ouro_heap_stats after = stats(h);
    CHECK_EQ(before.bytes_in_use, after.bytes_in_use);
    CHECK_EQ(before.objects, after.objects);
    CHECK_EQ(before.mapped_bytes, after.mapped_bytes);
    for (int i = 0; i < 100; i++)
        ouro_decref(leaf[i]);
    for (int i = 0; i < 10; i++)
        ouro_decref(node[i]);
    tl_heap_done(h);
}

static int count_visit(ouro_object *o, void *arg)
{
    (*(int *)arg)++;
    return 0;
}

TEST(objects_of_type)
{
    ouro_heap *h = tl_heap();
    ouro_object *n[7], *l = ouro_new(h, &tleaf_type);
    for (int i = 0; i < 7; i++)
        n[i] = tn_new(h);
    int seen = 0;
    CHECK_EQ(ouro_objects_of_type(h, "tnode", count_visit, &seen), 0);
    CHECK_EQ(seen, 7);
    CHECK_EQ(ouro_objects_of_type(h, "tnode", NULL, NULL), OURO_EINVAL);
    for (int i = 0; i < 7; i++)
        ouro_decref(n[i]);
    ouro_decref(l);
    tl_heap_done(h);
}

TEST(census_diff_is_the_summary_diff)
{
    ouro_type_count before[] = {{"a", 10, 320, 320}, {"b", 5, 280, 320}, {"gone", 1, 16, 16}};
    ouro_type_count now[] = {{"b", 5, 280, 320}, {"a", 30, 960, 960}, {"new", 2, 100, 128}};
    size_t n;
    ouro_type_diff *d = ouro_census_diff(now, 3, before, 3, &n);
    CHECK_EQ(n, 3); /* b unchanged: left out */
    CHECK_STR(d[0].name, "a");
    CHECK_EQ(d[0].count_diff, 20);
    CHECK_EQ(d[0].size_diff, 640);
    CHECK_STR(d[1].name, "new");
    CHECK_EQ(d[1].size_diff, 100);
    CHECK_STR(d[2].name, "gone");
    CHECK_EQ(d[2].count_diff, -1);
    CHECK_EQ(d[2].size_diff, -16);
    CHECK_EQ(d[2].count, 0);
    ouro_inspect_free(d);
}

TEST(growth_since_last_call)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_growth *g = ouro_growth_new();
    ouro_object *o[20];
    for (int i = 0; i < 10; i++)
        o[i] = tn_new(h);
    size_t n;
    ouro_type_diff *d = ouro_growth_step(g, h, &n);
    CHECK_EQ(n, 1);
    CHECK_STR(d[0].name, "tnode");
    CHECK_EQ(d[0].count, 10);
    CHECK_EQ(d[0].count_diff, 10);
    ouro_inspect_free(d);
    d = ouro_growth_step(g, h, &n); /* nothing new */
    CHECK_EQ(n, 0);
    ouro_inspect_free(d);
    for (int i = 10; i < 15; i++)
        o[i] = tn_new(h);
    ouro_object *l = ouro_new(h, &tleaf_type);
    d = ouro_growth_step(g, h, &n);
    CHECK_EQ(n, 2);
    CHECK_STR(d[0].name, "tnode"); /* +5 before +1 */
    CHECK_EQ(d[0].count_diff, 5);
    CHECK_STR(d[1].name, "tleaf");
    CHECK_EQ(d[1].count_diff, 1);
    ouro_inspect_free(d);
    /* Drop 10, add 3: still under the peak of 15, so no growth. */
    for (int i = 0; i < 10; i++)
        ouro_decref(o[i]);
    for (int i = 15; i < 18; i++)
        o[i] = tn_new(h);
    d = ouro_growth_step(g, h, &n);
    CHECK_EQ(n, 0);
    ouro_inspect_free(d);
    ouro_growth_free(g);
    for (int i = 10; i < 18; i++)
        ouro_decref(o[i]);
    ouro_decref(l);
    tl_heap_done(h);
}

TEST(type_tracker_records_instances_over_time)
{
    ouro_heap *h = tl_heap();
    ouro_gc_disable(h);
    ouro_tracker *t = ouro_tracker_new();
    CHECK_EQ(ouro_tracker_track(t, &tnode_type), 0);
    CHECK_EQ(ouro_tracker_track(t, &tnode_type), 0); /* once */
    ouro_object *a = tn_new(h), *b = tn_new(h), *l = ouro_new(h, &tleaf_type);
    CHECK_EQ(ouro_tracker_sample(t, h, "two"), 0);
    ouro_object *c = tn_new(h);
    ouro_decref(a);
    CHECK_EQ(ouro_tracker_sample(t, h, "a gone, c born"), 0);
    ouro_decref(b);
    ouro_decref(c);
    CHECK_EQ(ouro_tracker_sample(t, h, "none"), 0);
    size_t n;
    const ouro_tracker_row *r = ouro_tracker_rows(t, &n);
    CHECK_EQ(n, 3);
    CHECK_EQ(r[0].count, 2);
    CHECK_EQ(r[0].size, 2 * sizeof(tnode));
    CHECK_STR(r[0].label, "two");
    CHECK_EQ(r[1].count, 2);
    CHECK_EQ(r[2].count, 0);
    CHECK_EQ(r[2].sample, 2);
    CHECK(r[2].t >= r[0].t);
    const ouro_tracked_instance *in = ouro_tracker_instances(t, &n);
    CHECK_EQ(n, 3);
    size_t died_at_1 = 0, died_at_2 = 0, born_at_1 = 0;
    for (size_t i = 0; i < n; i++) {
        died_at_1 += in[i].died == 1;
        died_at_2 += in[i].died == 2;
        born_at_1 += in[i].born == 1;
        CHECK_EQ(in[i].size, sizeof(tnode));
    }
    CHECK_EQ(died_at_1, 1); /* a */
    CHECK_EQ(died_at_2, 2); /* b and c */
    CHECK_EQ(born_at_1, 1); /* c */
    ouro_tracker_free(t);
    ouro_decref(l);
    tl_heap_done(h);
}
