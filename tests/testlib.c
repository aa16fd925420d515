#include "testlib.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct tl_test {
    const char *name;
    tl_fn fn;
} tl_test;

static tl_test tests[512];
static int ntests;
static jmp_buf jump;
static const char *current;

void tl_register(const char *name, tl_fn fn)
{
    if (ntests < 512)
        tests[ntests++] = (tl_test){name, fn};
}

void tl_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s: %s:%d: ", current, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    longjmp(jump, 1);
}

ouro_heap *tl_heap_cfg(ouro_config *cfg)
{
    ouro_heap *h = ouro_heap_new(cfg);
    if (!h)
        tl_fail(__FILE__, __LINE__, "ouro_heap_new failed");
    /* Tests expect collections where CPython's arithmetic puts them; the
     * adaptive schedule's tests ask for it themselves. */
    ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311);
    return h;
}

ouro_heap *tl_heap(void)
{
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    return tl_heap_cfg(&cfg);
}

static int count_mortal(ouro_object *o, void *arg)
{
    if (!ouro_is_immortal(o))
        (*(size_t *)arg)++;
    return 0;
}

void tl_heap_done(ouro_heap *h)
{
    if (ouro_heap_check(h) != 0)
        tl_fail(__FILE__, __LINE__, "ouro_heap_check failed at the end of the test");
    size_t live = 0;
    ouro_heap_walk(h, count_mortal, &live);
    int rc = ouro_heap_free(h);
    if (rc != 0 || live != 0)
        tl_fail(__FILE__, __LINE__, "heap not empty at the end: %zu objects (free returned %d)",
                live, rc);
}

size_t tl_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (size_t)rss * 4096;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0, ran = 0;
    for (int i = 0; i < ntests; i++) {
        if (argc > 1) {
            int match = 0;
            for (int k = 1; k < argc; k++)
                if (strcmp(argv[k], tests[i].name) == 0)
                    match = 1;
            if (!match)
                continue;
        }
        current = tests[i].name;
        ran++;
        if (setjmp(jump) == 0) {
            tests[i].fn();
            passed++;
            printf("ok   %s\n", tests[i].name);
        } else {
            failed++;
            printf("FAIL %s\n", tests[i].name);
        }
        fflush(stdout);
    }
    if (argc > 1 && ran == 0) {
        fprintf(stderr, "no test matches\n");
        return 2;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

static void *tl_pages_alloc(void *ctx, size_t size)
{
    tl_pages *tp = ctx;
    if (tp->fail)
        return NULL;
    if (tp->limit && tp->bytes + size > tp->limit) {
        tp->refused++;
        return NULL;
    }
    ouro_config def;
    ouro_config_init(&def);
    void *p = def.pages.alloc(NULL, size);
    if (p) {
        tp->allocs++;
        tp->bytes += size;
    }
    return p;
}

static void tl_pages_free(void *ctx, void *p, size_t size)
{
    tl_pages *tp = ctx;
    ouro_config def;
    ouro_config_init(&def);
    def.pages.free(NULL, p, size);
    tp->frees++;
    tp->bytes -= size;
}

void tl_pages_use(ouro_config *cfg, tl_pages *p)
{
    cfg->pages.alloc = tl_pages_alloc;
    cfg->pages.free = tl_pages_free;
    cfg->pages.ctx = p;
}
