/*
 * w8_perobj_ouro.c — workload 8, memory per object, with ouro: N tracked
 * two-reference nodes (32 bytes each: a 16-byte header, CPython's is 32)
 * made into a chain, automatic collection on; the growth of the resident
 * set divided by N.  The heap's own accounting (bytes in use, bytes
 * mapped) is reported as well.
 *
 * usage: w8_perobj_ouro N
 */
#include "onode.h"

int main(int argc, char **argv)
{
    long n = bench_arg_long(argc, argv, 1, 5000000);
    ouro_heap *h = bench_ouro_heap();
    ouro_object *head = &onode_new(h, NULL, NULL)->ob_base;
    size_t rss0 = bench_rss_now();
    double t0 = bench_now();
    for (long i = 0; i < n; i++)
        head = &onode_new(h, head, NULL)->ob_base;
    double t = bench_now() - t0;
    size_t rss1 = bench_rss_now();
    ouro_heap_stats st = {.struct_size = sizeof st};
    ouro_heap_get_stats(h, &st);
    bench_result("bytes_per_obj", (double)(rss1 - rss0) / (double)n);
    bench_result("heap_bytes_per_obj", (double)st.bytes_in_use / (double)st.objects);
    bench_result("mapped_bytes_per_obj", (double)st.mapped_bytes / (double)st.objects);
    bench_result("time_s", t);
    bench_check("live %ld", (long)st.objects - 1);
    ouro_decref(head);
    ouro_heap_free(h);
    return 0;
}
