/*
 * w10_churn_ouro.c — workload 10, cyclic churn, with ouro objects.
 *
 * A program that keeps building and dropping cyclic structures while a
 * long-lived structure grows: what a collector's schedule must keep
 * bounded.  Every node is an onode (onode.h) used as a doubly linked list
 * cell, left = previous, right = next, so every list is a cycle that only
 * the collector can free.
 *
 *   lists   CPython PR #108038's review program, growing: a long-lived
 *           doubly linked list of 10,000 nodes; each round builds a list
 *           of 5,000 nodes whose head points at it, drops the previous
 *           round's list, and appends 25 nodes to the long-lived list.
 *   batches CPython's _test_gc_fast_cycles shape, growing: a 1,000-node
 *           base list; each round builds a 20-node list pointing at it and
 *           keeps it in a batch; every 20 rounds the batch is dropped and
 *           one node is appended to the base list.
 *
 * Automatic collection on.  SCHEDULE is "default" (the heap's default
 * schedule), "cpython" (ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311))
 * "incremental" (OURO_GC_SCHEDULE_INCREMENTAL, the default) or "adaptive"
 * (OURO_GC_SCHEDULE_ADAPTIVE).
 *
 *   time_s      the whole loop
 *   pause_*     every collection timed from its gc callback "start" to
 *               its "stop" (pauses.h): @pauses, @gc_s (collector time),
 *               @pause_p50_s, @pause_p99_s, @pause_max_s, @pause_timeline
 *   peak_alive  the most objects alive at once: live objects from
 *               ouro_heap_get_stats at the start of every collection and at
 *               the end.  Exact here: cyclic lists die only in
 *               collections, so the count can only fall inside one.
 *   check       the long-lived length, and the objects alive after a final
 *               full collection (long-lived + what the program still holds)
 *
 * usage: w10_churn_ouro lists|batches ROUNDS [default|cpython|incremental|adaptive]
 */
#include <stdbool.h>
#include <stddef.h>

#include "onode.h"
#include "pauses.h"

typedef struct churn_stats {
    bench_pauses pauses;
    size_t peak;
    long collections;
} churn_stats;

static size_t live_objects(ouro_heap *h)
{
    ouro_heap_stats st;
    st.struct_size = offsetof(ouro_heap_stats, class_size); /* totals only: O(1) */
    ouro_heap_get_stats(h, &st);
    return st.objects;
}

static void on_gc(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    churn_stats *s = arg;
    if (phase[2] == 'a') { /* "start" */
        size_t live = live_objects(h);
        if (live > s->peak)
            s->peak = live;
        s->collections++;
        bench_pauses_start(&s->pauses);
    } else {
        bench_pauses_stop(&s->pauses);
    }
}

/* A new doubly linked list of n nodes (a new reference to its head) whose
 * head's `left` points at `anchor`. */
static ouro_object *build_list(ouro_heap *h, long n, ouro_object *anchor)
{
    onode *head = onode_new(h, NULL, NULL);
    onode *tail = head;
    for (long i = 1; i < n; i++) {
        ouro_incref(&tail->ob_base);
        onode *x = onode_new(h, &tail->ob_base, NULL);
        tail->right = &x->ob_base; /* tail owns x */
        tail = x;
    }
    if (anchor)
        ouro_incref(anchor);
    head->left = anchor;
    return &head->ob_base;
}

/* Appends k nodes after *tail (a borrowed pointer to the last node). */
static void grow(ouro_heap *h, onode **tail, long k)
{
    for (long i = 0; i < k; i++) {
        ouro_incref(&(*tail)->ob_base);
        onode *x = onode_new(h, &(*tail)->ob_base, NULL);
        (*tail)->right = &x->ob_base;
        *tail = x;
    }
}

static long list_length(ouro_object *head)
{
    long n = 0;
    for (onode *x = (onode *)head; x; x = (onode *)x->right)
        n++;
    return n;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "lists";
    long rounds = bench_arg_long(argc, argv, 2, 100);
    const char *sched = argc > 3 ? argv[3] : "default";
    bool lists = strcmp(mode, "lists") == 0;
    if (!lists && strcmp(mode, "batches") != 0)
        bench_die("usage: w10_churn_ouro lists|batches ROUNDS [default|cpython|incremental|adaptive]");
    ouro_heap *h = bench_ouro_heap();
    if (strcmp(sched, "cpython") == 0)
        ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311);
    else if (strcmp(sched, "incremental") == 0)
        ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL);
    else if (strcmp(sched, "adaptive") == 0)
        ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_ADAPTIVE);
    else if (strcmp(sched, "default") != 0)
        bench_die("SCHEDULE is default, cpython, incremental or adaptive");
    bench_result("schedule", (double)ouro_gc_get_schedule(h));
    churn_stats s = {0};
    bench_pauses_init(&s.pauses);
    ouro_gc_callback_add(h, on_gc, &s);

    long base = lists ? 10000 : 1000;
    ouro_object *ll = build_list(h, base, NULL);
    onode *ll_tail = (onode *)ll;
    while (ll_tail->right)
        ll_tail = (onode *)ll_tail->right;
    ouro_object *batch[20] = {0};
    ouro_object *cur = NULL;

    double t0 = bench_now();
    for (long r = 0; r < rounds; r++) {
        if (lists) {
            ouro_object *next = build_list(h, 5000, ll);
            if (cur)
                ouro_decref(cur);
            cur = next;
            grow(h, &ll_tail, 25);
        } else {
            batch[r % 20] = build_list(h, 20, ll);
            if (r % 20 == 19) {
                for (int i = 0; i < 20; i++)
                    ouro_clear(&batch[i]);
                grow(h, &ll_tail, 1);
            }
        }
    }
    double t = bench_now() - t0;
    size_t live = live_objects(h);
    if (live > s.peak)
        s.peak = live;

    /* the final collection is not part of the figures */
    ouro_gc_callback_remove(h, on_gc, &s);
    ouro_gc_collect(h, 2);
    bench_result("time_s", t);
    bench_pauses_report(&s.pauses);
    bench_result("collections", (double)s.collections);
    bench_result("peak_alive", (double)s.peak);
    bench_check("long %ld alive %zu", list_length(ll), live_objects(h));
    if (cur)
        ouro_decref(cur);
    for (int i = 0; i < 20; i++)
        ouro_clear(&batch[i]);
    ouro_decref(ll);
    ouro_gc_collect(h, 2); /* every list is a cycle */
    ouro_heap_free(h);
    bench_pauses_free(&s.pauses);
    return 0;
}
