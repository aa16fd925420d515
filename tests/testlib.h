/*
 * testlib.h — a tiny test runner in the spirit of libuv's.
 *
 *   TEST(name) { ... }          defines and registers a test
 *   CHECK(cond), CHECK_EQ(a, b) fail the test with file:line and the values
 *   tl_heap() / tl_heap_done(h) a checked heap, and the proof that it ended
 *                               empty (heap check passes, nothing leaked)
 *
 * Run all tests with `./test_x`, one with `./test_x NAME` (easy under gdb or
 * valgrind).  Each test runs in-process; a failing CHECK longjmps out, so the
 * run goes on and ends with the line "N passed, N failed".
 */
#ifndef OURO_TESTLIB_H
#define OURO_TESTLIB_H

#include "ouro_inspect.h"
#include <inttypes.h>
#include <stdio.h>

typedef void (*tl_fn)(void);
void tl_register(const char *name, tl_fn fn);
void tl_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define TEST(name)                                                         \
    static void test_##name(void);                                         \
    __attribute__((constructor)) static void tl_reg_##name(void)           \
    {                                                                      \
        tl_register(#name, test_##name);                                   \
    }                                                                      \
    static void test_##name(void)

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond))                                                       \
            tl_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);               \
    } while (0)

#define CHECK_EQ(a, b)                                                     \
    do {                                                                   \
        long long tl_a = (long long)(a), tl_b = (long long)(b);            \
        if (tl_a != tl_b)                                                  \
            tl_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld != %lld",  \
                    #a, #b, tl_a, tl_b);                                   \
    } while (0)

#define CHECK_STR(a, b)                                                    \
    do {                                                                   \
        const char *tl_a = (a), *tl_b = (b);                               \
        if (strcmp(tl_a, tl_b) != 0)                                       \
            tl_fail(__FILE__, __LINE__, "CHECK_STR(%s, %s): \"%s\" != \"%s\"", \
                    #a, #b, tl_a, tl_b);                                   \
    } while (0)

/* A heap with debug checks and leak policy FAIL. */
ouro_heap *tl_heap(void);
ouro_heap *tl_heap_cfg(ouro_config *cfg);
/* Check the heap, free it and fail the test if anything was alive. */
void tl_heap_done(ouro_heap *h);
/* Current resident set size in bytes. */
size_t tl_rss(void);

/* A page source that counts what it hands out (through the default one)
 * and refuses every request while `fail` is set, and any that would take
 * it over `limit` bytes held when that is not 0 (a process near its
 * memory limit; `refused` counts those).  tl_pages_use points a
 * configuration at it. */
typedef struct tl_pages {
    int fail;
    size_t allocs, frees, bytes;
    size_t limit, refused;
} tl_pages;
void tl_pages_use(ouro_config *cfg, tl_pages *p);

#endif
