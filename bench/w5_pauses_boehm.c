/*
 * w5_pauses_boehm.c — workload 5 for Boehm GC: the same growing chain of N
 * two-reference nodes, with each collection timed between the collector's
 * GC_EVENT_START and GC_EVENT_END events (stop-the-world, non-incremental:
 * Boehm's default).
 *
 * usage: w5_pauses_boehm N
 */
#include "peer.h"

typedef struct bnode {
    struct bnode *left, *right;
} bnode;

static double started, total, longest;
static long collections;
static bnode *head; /* a global root, scanned by Boehm */

static void on_event(GC_EventType e)
{
    if (e == GC_EVENT_START) {
        started = bench_now();
    } else if (e == GC_EVENT_END) {
        double d = bench_now() - started;
        total += d;
        if (d > longest)
            longest = d;
        collections++;
    }
}

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 5000000);
    peer_init();
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
    long live = 0;
    for (bnode *b = head; b; b = b->left)
        live++;
    bench_result("time_s", total);
    bench_result("pause_max_s", longest);
    bench_result("total_s", t);
    bench_result("gc_fraction", t > 0 ? total / t : 0);
    bench_result("collections", (double)collections);
    bench_check("live %ld", live);
    return 0;
}
