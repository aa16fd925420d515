/*
 * w1_binarytrees.c — workload 1, binary-trees, for the malloc-style peers
 * and Boehm (Computer Language Benchmarks Game rules, single-threaded):
 *
 *   a stretch tree of depth N+1, built, checked and dropped;
 *   a long-lived tree of depth N, kept to the end;
 *   for d = 4, 6, ..., N: 2^(N-d+4) trees of depth d built, checked, dropped;
 *   the long-lived tree checked.
 *
 * "check" is the node count.  Trees are built bottom-up.  Dropping a tree is
 * a recursive free for the manual allocators; Boehm's trees are simply
 * forgotten and its collector reclaims them, which is the point of that peer.
 *
 * usage: w1_binarytrees_<peer> N
 */
#include "peer.h"
#include "tnode.h"

int main(int argc, char **argv)
{
    int n = (int)bench_arg_long(argc, argv, 1, 10);
    int min_depth = 4;
    int max_depth = n < min_depth + 2 ? min_depth + 2 : n;
    peer_init();
    double t0 = bench_now();

    int stretch = max_depth + 1;
    tnode *t = bottom_up(stretch);
    printf("stretch tree of depth %d\t check: %ld\n", stretch, check(t));
    drop(t);

    tnode *long_lived = bottom_up(max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + min_depth);
        long sum = 0;
        for (long i = 0; i < iterations; i++) {
            t = bottom_up(d);
            sum += check(t);
            drop(t);
        }
        printf("%ld\t trees of depth %d\t check: %ld\n", iterations, d, sum);
    }
    printf("long lived tree of depth %d\t check: %ld\n", max_depth, check(long_lived));
    drop(long_lived);

    bench_result("time_s", bench_now() - t0);
#if defined(PEER_BOEHM)
    bench_result("collections", (double)GC_get_gc_no());
#endif
    return 0;
}
