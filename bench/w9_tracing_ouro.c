/*
 * w9_tracing_ouro.c — workload 9, the cost of allocation-site tracing.
 *
 *   trees N MODE        binary-trees of maximum depth N, workload 1's
 *                       program (collector-tracked nodes, automatic
 *                       collection on, CLBG rules)
 *   pairs SIZE N MODE   N alloc+free pairs of SIZE-byte raw blocks,
 *                       workload 6's first case
 *
 * MODE is `traced` (every allocation traced with one frame, what
 * tracemalloc.start(1) does) or `sampled` (one sample per 512 KiB
 * allocated on average).  Each run does the workload ROUNDS times without
 * tracing and ROUNDS times with it, alternating (which goes first swaps
 * from round to round), each on a fresh heap, and reports
 *
 *   @slowdown   median time traced / median time untraced (the W9 figure)
 *   @off_s      median time untraced
 *   @on_s       median time traced
 *   @check      the workload's result, the same in both modes (the sum of
 *               binary-trees' check values; the number of pairs)
 *
 * usage: w9_tracing_ouro trees N MODE | pairs SIZE N MODE
 */
#include "ouro_inspect.h"
#include "onode.h"

enum { ROUNDS = 3 };

/* Workload 1 without its printing: the sum of every check value. */
static long trees(ouro_heap *h, int n)
{
    int min_depth = 4, max_depth = n < min_depth + 2 ? min_depth + 2 : n;
    long sum = 0;
    ouro_object *t = onode_bottom_up(h, max_depth + 1);
    sum += onode_check(t);
    ouro_decref(t);
    ouro_object *long_lived = onode_bottom_up(h, max_depth);
    for (int d = min_depth; d <= max_depth; d += 2) {
        long iterations = 1L << (max_depth - d + min_depth);
        for (long i = 0; i < iterations; i++) {
            t = onode_bottom_up(h, d);
            sum += onode_check(t);
            ouro_decref(t);
        }
    }
    sum += onode_check(long_lived);
    ouro_decref(long_lived);
    return sum;
}

static long pairs(ouro_heap *h, size_t size, long n)
{
    for (long i = 0; i < n; i++) {
        unsigned char *p = ouro_raw_alloc(h, size);
        if (!p)
            bench_die("ouro_raw_alloc: out of memory");
        p[0] = 1;
        bench_escape(p);
        ouro_raw_free(h, p);
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc < 4)
        bench_die("usage: w9_tracing_ouro trees N MODE | pairs SIZE N MODE");
    int is_trees = !strcmp(argv[1], "trees");
    if (!is_trees && strcmp(argv[1], "pairs"))
        bench_die("workload must be trees or pairs");
    const char *mode = argv[is_trees ? 3 : 4];
    if (!mode)
        bench_die("missing MODE");
    int sampled = !strcmp(mode, "sampled");
    if (!sampled && strcmp(mode, "traced"))
        bench_die("MODE must be traced or sampled");
    long a = bench_arg_long(argc, argv, 2, 0), n = is_trees ? 0 : bench_arg_long(argc, argv, 3, 0);
    if (is_trees ? a < 4 || a > 24 : a < 1 || a > 2048 || n < 1)
        bench_die("size out of range");
    printf("@peer ouro %s\n", ouro_version());

    double t[2][ROUNDS];
    long result[2] = {0, 0};
    for (int round = 0; round < ROUNDS; round++) {
        /* Untraced first in even rounds, traced first in odd ones. */
        for (int k = 0; k <= 1; k++) {
            int on = k ^ (round & 1);
            ouro_heap *h = ouro_heap_new(NULL);
            if (!h)
                bench_die("ouro_heap_new failed");
            int rc = !on ? 0
                     : sampled ? ouro_trace_start_sampled(h, 1, 512 * 1024)
                               : ouro_trace_start(h, 1);
            if (rc != 0)
                bench_die("ouro_trace_start failed");
            double t0 = bench_now();
            long r = is_trees ? trees(h, (int)a) : pairs(h, (size_t)a, n);
            t[on][round] = bench_now() - t0;
            if (on) {
                /* Tracing saw the work: everything freed, so nothing is
                 * traced now, and something was at the peak: always when
                 * every allocation is traced; when sampling, once the
                 * workload allocated 30 sampling distances or more (each
                 * binary-trees node is a 32-byte block, and check values
                 * count nodes), which misses with probability e^-30. */
                size_t cur, peak;
                ouro_trace_get_traced_memory(h, &cur, &peak);
                double bytes = is_trees ? 32.0 * (double)r : (double)a * (double)n;
                if (cur != 0 || (peak == 0 && (!sampled || bytes >= 30.0 * 512 * 1024)))
                    bench_die("tracing did not account for the workload");
                ouro_trace_stop(h);
            }
            ouro_heap_free(h);
            if (round > 0 && r != result[on])
                bench_die("rounds disagree");
            result[on] = r;
        }
    }
    if (result[0] != result[1])
        bench_die("tracing changed the workload's result");
    bench_slowdown(t[0], t[1], ROUNDS);
    if (is_trees)
        bench_check("trees %ld %ld", a, result[0]);
    else
        bench_check("pairs %ld %ld", a, result[0]);
    return 0;
}
