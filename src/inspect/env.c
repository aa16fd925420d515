/*
 * env.c — zero-code-change tracing: OURO_TRACEMALLOC and OURO_REPORT.
 *
 * As PYTHONTRACEMALLOC does for Python, these variables turn the tools on
 * for a program that does not call them.  The core reads only its own
 * variable (OURO_DEBUG, in ouro_heap_new); this layer installs a heap
 * hook (ouro_heap_hook_add, src/hooks.c) that ouro_heap_new runs on every
 * new heap, and the hook starts tracing and, for OURO_REPORT, a sampler,
 * whose snapshot and page are written when tracing ends (the tracer's
 * on_stop callback, run by ouro_trace_stop, which ouro_heap_free calls).
 *
 * The hook is installed by a constructor when this layer is loaded, the
 * one piece of run-at-load code in ouro: without it a program would have
 * to change to be traced, which is what the variables exist to avoid.  It
 * only registers a function pointer; the variables are read when a heap is
 * created, so a program that sets them with setenv() before creating its
 * heap is traced too.  With the static library this file is linked only
 * when something refers to it (see ouro_inspect_env_init in ouro.h).
 *
 * The top of src/inspect: owns ouro_inspect_env_init, and calls the public
 * tools it sets up (trace_start.c, sampler.c, snapshot_take.c, snapshot.c,
 * report.c) and ouro__ins_trace_on_stop (trace.c).  Nothing calls it.
 */
#include "inspect.h"

#include <errno.h>

/* One heap's OURO_REPORT run: freed when tracing ends. */
typedef struct env_run {
    char *path;
    ouro_sampler *smp;
} env_run;

static void say(ouro_heap *h, const char *fmt, const char *a, const char *b)
{
    char msg[512];
    snprintf(msg, sizeof msg, fmt, a, b);
    if (h->cfg.sink)
        h->cfg.sink(h->cfg.sink_ctx, msg);
}

/* Tracing of the heap ends: the page from one snapshot of everything, with
 * the memory series the sampler took meanwhile. */
static void env_report(ouro_heap *h, void *arg)
{
    env_run *r = arg;
    ouro_sampler_sample(r->smp);
    ouro_snapshot *s = ouro_snapshot_take(h, OURO_SNAP_ALL, "when tracing ended");
    if (s && r->smp)
        ouro_snapshot_set_series(s, r->smp);
    const char *name = "OURO_REPORT";
    if (!s || ouro_report_write(r->path, &s, 1, &name) != 0)
        say(h, "ouro: OURO_REPORT=%s: cannot write the report (%s)\n", r->path,
            s ? strerror(errno) : "out of memory");
    ouro_snapshot_free(s);
    ouro_sampler_free(r->smp);
    free(r->path);
    free(r);
}

static void env_heap_new(ouro_heap *h, void *arg)
{
    (void)arg;
    const char *tm = getenv("OURO_TRACEMALLOC"), *rep = getenv("OURO_REPORT");
    int nframes = 0;
    if (tm && *tm) {
        char *end;
        long n = strtol(tm, &end, 10);
        if (*end || n < 0 || n > OURO_TRACE_MAX_FRAMES)
            say(h, "ouro: OURO_TRACEMALLOC=%s: %s\n", tm,
                "expected a number of frames, 0 to OURO_TRACE_MAX_FRAMES; not tracing");
        else
            nframes = (int)n;
    }
    if (rep && *rep && nframes == 0)
        nframes = 1;
    if (nframes == 0 || ouro_trace_start(h, nframes) != 0)
        return;
    if (!rep || !*rep)
        return;
    env_run *r = calloc(1, sizeof *r);
    if (r)
        r->path = strdup(rep);
    if (r && r->path)
        r->smp = ouro_sampler_new(h, 0.01);
    if (!r || !r->path || !r->smp || ouro__ins_trace_on_stop(h, env_report, r) != 0) {
        say(h, "ouro: OURO_REPORT=%s: %s\n", rep, "out of memory, no report");
        if (r) {
            ouro_sampler_free(r->smp);
            free(r->path);
            free(r);
        }
        return;
    }
    ouro_sampler_sample(r->smp);
}

int ouro_inspect_env_init(void) { return ouro_heap_hook_add(env_heap_new, NULL); }

__attribute__((constructor)) static void env_load(void) { ouro_inspect_env_init(); }
