/*
 * trace_start.c — starting allocation tracing: ouro_trace_start and
 * ouro_trace_start_sampled.
 *
 * The recorder is trace.c; this file only adds what tracing does when the
 * heap is freed while traced, which needs a layer above the recorder: the
 * leak report (leaks.c), whose sites come from the recorder itself.  So
 * the start functions live here and hand that farewell to the recorder as
 * a function pointer (ouro__ins_trace_begin), and trace.c never calls
 * leaks.c.
 *
 * Owns: ouro_trace_start, ouro_trace_start_sampled.  Calls trace.c
 * (ouro__ins_trace_begin, ouro_trace_stop) and leaks.c.
 */
#include "inspect.h"

/* ouro_heap_free with tracing on: under a leak policy that reports, live
 * objects are reported grouped by type and allocation site (with the
 * shortest back-reference chain for the three largest groups), through the
 * heap's sink; then tracing stops so the tracer's memory goes back. */
static void trace_heap_free(ouro_heap *h)
{
    if (h->cfg.leak_policy != OURO_LEAKS_IGNORE) {
        ouro_leak_report *r = ouro_leak_report_take(h, 3);
        if (r && r->objects) {
            char *text = NULL;
            size_t len = 0;
            FILE *mem = open_memstream(&text, &len);
            if (mem) {
                ouro_leak_report_print(r, 10, mem);
                fclose(mem);
                if (text && h->cfg.sink)
                    h->cfg.sink(h->cfg.sink_ctx, text);
                free(text);
            }
        }
        ouro_leak_report_free(r);
    }
    ouro_trace_stop(h);
}

int ouro_trace_start_sampled(ouro_heap *h, int nframes, size_t sample_bytes)
{
    return ouro__ins_trace_begin(h, nframes, sample_bytes, trace_heap_free);
}

int ouro_trace_start(ouro_heap *h, int nframes)
{
    return ouro_trace_start_sampled(h, nframes, 0);
}
