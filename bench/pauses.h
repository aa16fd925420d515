/*
 * pauses.h — every collection's pause, for the pause workloads (W5 and
 * W10), in any program: ouro's gc callbacks, Boehm's collection events.
 *
 * The program calls bench_pauses_start() and bench_pauses_stop() at a
 * collection's start and end ("start"/"stop" callbacks); each pause's start
 * (seconds since bench_pauses_init) and length go into arrays allocated by
 * bench_pauses_init, so that measuring allocates nothing and touches no
 * memory the collector manages.  The arrays are large and only the entries
 * written become resident; a program with more collections than that dies
 * at the report rather than report a part of its pauses.
 *
 * bench_pauses_report() prints, in the result protocol (common.h):
 *
 *   @pauses         the number of collections timed
 *   @gc_s           their total (the collector time)
 *   @pause_p50_s    the median pause      (nearest rank: the ceil(p/100 n)-th
 *   @pause_p99_s    the 99th percentile    smallest, as bench/py/pauses.py)
 *   @pause_max_s    the longest
 *   @pause_timeline start:length,start:length,... in time order: every
 *                   pause, or the BENCH_TIMELINE_POINTS longest when there
 *                   are more (bench/run.py draws them)
 */
#ifndef BENCH_PAUSES_H
#define BENCH_PAUSES_H

#include "common.h"

#define BENCH_PAUSES_CAP (1L << 20)
#define BENCH_TIMELINE_POINTS 2000

typedef struct bench_pauses {
    double t0;       /* bench_pauses_init's time: the timeline's origin */
    double started;  /* the running collection's start, or -1 */
    double *at;      /* at[i]: pause i's start, seconds since t0 */
    double *len;     /* len[i]: pause i's length, seconds */
    long n;          /* pauses recorded (and counted past the capacity) */
} bench_pauses;

static inline void bench_pauses_init(bench_pauses *p)
{
    p->at = malloc(BENCH_PAUSES_CAP * sizeof *p->at);
    p->len = malloc(BENCH_PAUSES_CAP * sizeof *p->len);
    if (!p->at || !p->len)
        bench_die("pauses: out of memory");
    p->n = 0;
    p->started = -1;
    p->t0 = bench_now();
}

static inline void bench_pauses_start(bench_pauses *p)
{
    p->started = bench_now();
}

static inline void bench_pauses_stop(bench_pauses *p)
{
    double now = bench_now();
    if (p->started < 0)
        return; /* a stop without its start: attached mid-collection */
    if (p->n < BENCH_PAUSES_CAP) {
        p->at[p->n] = p->started - p->t0;
        p->len[p->n] = now - p->started;
    }
    p->n++;
    p->started = -1;
}

/* The figures as they stand; the report allocates (a sorted copy). */
static inline void bench_pauses_report(const bench_pauses *p)
{
    long n = p->n;
    if (n > BENCH_PAUSES_CAP)
        bench_die("pauses: more collections than BENCH_PAUSES_CAP");
    double *sorted = malloc((size_t)(n ? n : 1) * sizeof *sorted);
    if (!sorted)
        bench_die("pauses: out of memory");
    double total = 0;
    for (long i = 0; i < n; i++) {
        sorted[i] = p->len[i];
        total += p->len[i];
    }
    qsort(sorted, (size_t)n, sizeof *sorted, bench_cmp_double);
    /* nearest rank: the ceil(q n / 100)-th smallest */
#define BENCH_RANK(q) (n ? sorted[(n * (q) + 99) / 100 - 1] : 0.0)
    bench_result("pauses", (double)n);
    bench_result("gc_s", total);
    bench_result("pause_p50_s", BENCH_RANK(50));
    bench_result("pause_p99_s", BENCH_RANK(99));
    bench_result("pause_max_s", n ? sorted[n - 1] : 0.0);
#undef BENCH_RANK
    /* The timeline keeps the longest pauses: all those longer than the
     * cut, and as many equal to it as fit, in time order. */
    long keep = n < BENCH_TIMELINE_POINTS ? n : BENCH_TIMELINE_POINTS;
    double cut = keep ? sorted[n - keep] : 0.0;
    long above = 0;
    for (long i = n - keep; i < n; i++)
        above += sorted[i] > cut;
    long equal_left = keep - above;
    fputs("@pause_timeline ", stdout);
    const char *sep = "";
    for (long i = 0; i < n; i++) {
        if (p->len[i] > cut || (p->len[i] == cut && equal_left-- > 0)) {
            printf("%s%.7g:%.6g", sep, p->at[i], p->len[i]);
            sep = ",";
        }
    }
    fputc('\n', stdout);
    free(sorted);
}

static inline void bench_pauses_free(bench_pauses *p)
{
    free(p->at);
    free(p->len);
    p->at = p->len = NULL;
}

#endif
