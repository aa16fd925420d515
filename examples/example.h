/*
 * example.h — what every seed example shares: the two-column display of
 * the Python original beside what happened in ouro's heap.
 *
 * An example prints, in order:
 *
 *     == 01_references: title
 *     # a paragraph saying what to look at
 *       x = [1, 2, 3]                          │ list at 0x…, refcount 1
 *     > [1, 2, 3]
 *
 * "  " lines are the Python source, line for line (examples/NAME.py is the
 * same text, which tests/examples_check.py verifies), with ouro's side
 * after the bar; "> " lines are what the Python program prints, computed
 * here by ouro; the check runs NAME.py with python3 and compares.  A
 * source line longer than the column gets its ouro side on the next line.
 *
 * Each example is a function `int example_NAME(void)` returning 0 when its
 * heap ended empty; compiled alone it gets a main() (the `ouro demo` tour
 * includes the files with OURO_TOUR defined and calls them in order).
 */
#ifndef OURO_EXAMPLE_H
#define OURO_EXAMPLE_H

#include "ouro_inspect.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define EX_COLUMN 44

static inline void ex_title(const char *name, const char *title, const char *about)
{
    printf("\n== %s: %s\n", name, title);
    /* The explanation, as comment lines: "# " never starts a source line. */
    while (about && *about) {
        while (*about == ' ')
            about++;
        const char *nl = strchr(about, '\n');
        int n = nl ? (int)(nl - about) : (int)strlen(about);
        printf("# %.*s\n", n, about);
        about = nl ? nl + 1 : about + n;
    }
}

/* A Python source line with nothing to show on ouro's side. */
static inline void ex_src(const char *py)
{
    printf("  %s\n", py);
}

static inline void ex_vstep(const char *py, const char *fmt, va_list ap)
{
    char right[512];
    vsnprintf(right, sizeof right, fmt, ap);
    int len = (int)strlen(py);
    if (len <= EX_COLUMN - 2)
        printf("  %-*s│ %s\n", EX_COLUMN - 2, py, right);
    else
        printf("  %s\n  %-*s│ %s\n", py, EX_COLUMN - 2, "", right);
}

#ifdef OURO_TOUR
static inline void ex_rec_step(void);
#endif

/* A Python source line and what ouro's heap did for it. */
static inline void ex_step(const char *py, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void ex_step(const char *py, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ex_vstep(py, fmt, ap);
    va_end(ap);
#ifdef OURO_TOUR
    ex_rec_step();
#endif
}

/* More of ouro's side for the line above. */
static inline void ex_more(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void ex_more(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char right[512];
    vsnprintf(right, sizeof right, fmt, ap);
    va_end(ap);
    printf("  %-*s│ %s\n", EX_COLUMN - 2, "", right);
}

/* A line the Python program prints (computed by ouro). */
static inline void ex_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void ex_out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("> ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

/* repr(o) into a static buffer (one at a time). */
static inline const char *ex_repr(ouro_object *o)
{
    static char buf[256];
    ouro_repr(o, buf, sizeof buf);
    return buf;
}

static inline const char *ex_bool(int b) { return b ? "True" : "False"; }

static inline int ex_count_visit(ouro_object *o, void *arg)
{
    if (!ouro_is_immortal(o))
        (*(size_t *)arg)++;
    return 0;
}

/* Objects alive in the heap (not counting the immortal small ints). */
static inline size_t ex_live(ouro_heap *h)
{
    size_t n = 0;
    ouro_heap_walk(h, ex_count_visit, &n);
    return n;
}

#ifdef OURO_TOUR
/*
 * `ouro demo --report FILE`: every example's heap is traced and sampled;
 * after each step the heap's figures go into a time series, and a snapshot
 * (census, traces, leak table, graph) is kept of the step with the most
 * live objects.  At the end of the example that snapshot, with the series,
 * is saved for `ouro report`.  Measuring changes nothing the example
 * prints: the tools' memory is malloc'd, not the heap's.
 */
typedef struct ex_recorder {
    const char *dir;  /* NULL: not recording */
    const char *name; /* the example running */
    ouro_heap *heap;
    ouro_sampler *sampler;
    ouro_snapshot *peak;
    size_t peak_live;
    int saved;
} ex_recorder;
static ex_recorder ex_rec;

static inline void ex_rec_step(void)
{
    if (!ex_rec.dir || !ex_rec.heap)
        return;
    ouro_sampler_sample(ex_rec.sampler);
    size_t live = ex_live(ex_rec.heap);
    if (live >= ex_rec.peak_live) {
        ouro_snapshot *snap = ouro_snapshot_take(ex_rec.heap, OURO_SNAP_ALL, ex_rec.name);
        if (snap) {
            if (ex_rec.peak)
                ouro_snapshot_free(ex_rec.peak);
            ex_rec.peak = snap;
            ex_rec.peak_live = live;
        }
    }
}

static inline void ex_rec_start(ouro_heap *h)
{
    if (!ex_rec.dir || !h)
        return;
    ex_rec.heap = h;
    ex_rec.peak = NULL;
    ex_rec.peak_live = 0;
    ouro_trace_start(h, 1);
    ex_rec.sampler = ouro_sampler_new(h, 0);
    if (ex_rec.sampler)
        ouro_sampler_begin(ex_rec.sampler, ex_rec.name);
}

static inline void ex_rec_finish(ouro_heap *h)
{
    if (!ex_rec.dir || h != ex_rec.heap)
        return;
    if (ex_rec.sampler) {
        ouro_sampler_sample(ex_rec.sampler);
        ouro_sampler_end(ex_rec.sampler, ex_rec.name);
    }
    if (ex_rec.peak) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.json", ex_rec.dir, ex_rec.name);
        if (ex_rec.sampler)
            ouro_snapshot_set_series(ex_rec.peak, ex_rec.sampler);
        if (ouro_snapshot_save(ex_rec.peak, path) == 0)
            ex_rec.saved++;
        ouro_snapshot_free(ex_rec.peak);
        ex_rec.peak = NULL;
    }
    if (ex_rec.sampler)
        ouro_sampler_free(ex_rec.sampler);
    ex_rec.sampler = NULL;
    ouro_trace_stop(h);
    ex_rec.heap = NULL;
}
#endif

static inline ouro_heap *ex_heap(void)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_WARN;
    ouro_heap *h = ouro_heap_new(&cfg);
#ifdef OURO_TOUR
    ex_rec_start(h);
#endif
    return h;
}

/* Check and free the heap; 0 if it ended empty. */
static inline int ex_finish(ouro_heap *h)
{
#ifdef OURO_TOUR
    ex_rec_finish(h);
#endif
    int bad = ouro_heap_check(h) != 0;
    size_t left = ex_live(h);
    int leaked = ouro_heap_free(h);
    printf("-- heap freed: %s\n", left || leaked || bad ? "OBJECTS LEFT (a bug)" : "nothing left");
    return left || leaked || bad;
}

#ifdef OURO_TOUR
#define EX_MAIN(fn)
#else
#define EX_MAIN(fn) \
    int main(void) { return fn(); }
#endif

#endif
