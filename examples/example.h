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

#include "ouro.h"

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

/* A Python source line and what ouro's heap did for it. */
static inline void ex_step(const char *py, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void ex_step(const char *py, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    ex_vstep(py, fmt, ap);
    va_end(ap);
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

static inline ouro_heap *ex_heap(void)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_WARN;
    return ouro_heap_new(&cfg);
}

/* Check and free the heap; 0 if it ended empty. */
static inline int ex_finish(ouro_heap *h)
{
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
