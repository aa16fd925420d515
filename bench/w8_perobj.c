/*
 * w8_perobj.c — workload 8, memory per object, for the malloc-style peers
 * and Boehm: N nodes holding two references (16 bytes of payload) made
 * into a chain, and the growth of the resident set divided by N.  What an
 * allocator adds per 16-byte block (headers, size-class rounding, arena
 * slack) shows up here; Boehm adds its heap growth policy.
 *
 *   bytes_per_obj   (RSS after - RSS before) / N
 *
 * usage: w8_perobj_<peer> N
 */
#include "peer.h"

typedef struct pnode {
    struct pnode *left, *right;
} pnode;

static pnode *head; /* a global root (Boehm scans it) */

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 5000000);
    peer_init();
    /* One allocation first, so that an allocator's one-time set-up is not
     * counted as per-object memory. */
    peer_alloc(sizeof(pnode));
    size_t rss0 = bench_rss_now();
    double t0 = bench_now();
    for (long i = 0; i < n; i++) {
        pnode *p = peer_alloc(sizeof *p);
        if (!p)
            bench_die("out of memory");
        p->left = head;
        p->right = NULL;
        head = p;
    }
    double t = bench_now() - t0;
    size_t rss1 = bench_rss_now();
    long live = 0;
    for (pnode *p = head; p; p = p->left)
        live++;
    bench_result("bytes_per_obj", (double)(rss1 - rss0) / (double)n);
    bench_result("time_s", t);
    bench_check("live %ld", live);
    return 0;
}
