/*
 * common.h — what every benchmark program shares: a monotonic clock, the
 * result protocol, a compiler barrier, a deterministic random generator and
 * the process's resident set size.
 *
 * RESULT PROTOCOL.  A benchmark program writes its ordinary output (the
 * binary-trees text, for instance) to stdout as it likes, plus lines that
 * start with '@' for bench/run.py:
 *
 *     @time_s 0.123456789        the figure the ratio is computed from
 *     @<name> <number>           any other figure (ns_per_op, pause_max_s...)
 *     @check <text>              a value run.py compares with the expected
 *                                one, or across peers, so that a fast wrong
 *                                answer fails
 *     @peer <text>               the allocator actually linked (a version)
 *
 * Programs time only their workload, from inside: process start-up, dynamic
 * loading and the final teardown of a heap are not the memory manager's
 * steady-state work and would only add noise.  Peak RSS is taken by run.py
 * from the kernel (wait4), so it covers the whole process.
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#ifndef _GNU_SOURCE /* Python.h, included first by the CPython peers, defines it */
#define _GNU_SOURCE
#endif
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void bench_result(const char *name, double value)
{
    printf("@%s %.9g\n", name, value);
}

static inline void bench_check(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void bench_check(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("@check ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
}

/* Make the compiler believe `p` escapes and memory was read and written:
 * without it GCC is entitled to delete a malloc/free pair whose block is
 * never used, and would benchmark nothing. */
static inline void bench_escape(const void *p)
{
    __asm__ volatile("" : : "g"(p) : "memory");
}

static inline void bench_die(const char *what)
{
    fprintf(stderr, "bench: %s\n", what);
    exit(2);
}

/* xorshift64*: the same sequence for every peer, so that each allocator is
 * given exactly the same requests. */
typedef struct bench_rng {
    uint64_t s;
} bench_rng;

static inline uint64_t bench_rand(bench_rng *r)
{
    uint64_t x = r->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Workload 9's figures from `n` untraced and `n` traced times (both
 * sorted here): @slowdown (ratio of the medians), @off_s, @on_s. */
static inline void bench_slowdown(double *off, double *on, int n)
{
    qsort(off, (size_t)n, sizeof *off, bench_cmp_double);
    qsort(on, (size_t)n, sizeof *on, bench_cmp_double);
    bench_result("slowdown", on[n / 2] / off[n / 2]);
    bench_result("off_s", off[n / 2]);
    bench_result("on_s", on[n / 2]);
}

/* Resident set size now, in bytes (from /proc/self/statm). */
static inline size_t bench_rss_now(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long size = 0, resident = 0;
    if (fscanf(f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    fclose(f);
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

static inline long bench_arg_long(int argc, char **argv, int i, long dflt)
{
    if (i >= argc)
        return dflt;
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*end || end == argv[i])
        bench_die("bad numeric argument");
    return v;
}

#endif
