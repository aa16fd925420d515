/*
 * w5_pauses_boehm.c — workload 5 for Boehm GC: the same growing chain of N
 * two-reference nodes, with each collection timed between the collector's
 * GC_EVENT_START and GC_EVENT_END events (stop-the-world, non-incremental:
 * Boehm's default) into pauses.h's arrays (plain malloc, which Boehm
 * neither scans nor collects; they hold no pointers).
 *
 * usage: w5_pauses_boehm N
 */
#include "peer.h"
#include "pauses.h"

typedef struct bnode {
    struct bnode *left, *right;
} bnode;

static bench_pauses pauses;
static bnode *head; /* a global root, scanned by Boehm */

static void on_event(GC_EventType e)
{
    if (e == GC_EVENT_START)
        bench_pauses_start(&pauses);
    else if (e == GC_EVENT_END)
        bench_pauses_stop(&pauses);
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 5000000);
    peer_init();
    bench_pauses_init(&pauses);
    GC_set_on_collection_event(on_event);
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        bnode *b = GC_MALLOC(sizeof *b);
        if (!b)
            bench_die("out of memory");
        b->left = head;
        head = b;
    }
    double t = bench_now() - t0;
    GC_set_on_collection_event(0);
    long live = 0;
    for (bnode *b = head; b; b = b->left)
        live++;
    double total = 0;
    for (long i = 0; i < pauses.n; i++)
        total += pauses.len[i];
    bench_result("time_s", total);
    bench_pauses_report(&pauses);
    bench_result("total_s", t);
    bench_result("gc_fraction", t > 0 ? total / t : 0);
    bench_result("collections", (double)pauses.n);
    bench_check("live %ld", live);
    return 0;
}
