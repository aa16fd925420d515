/* replay.h — the heaptrace runner, shared by `ouro replay` and the fuzzer. */
#ifndef OURO_REPLAY_H
#define OURO_REPLAY_H

#include "ouro_inspect.h"
#include <stdbool.h>
#include <stdio.h>

typedef struct replay_options {
    bool check_each;   /* ouro_heap_check after every operation (abort if bad) */
    bool fast_exit;    /* skip the orderly teardown */
    int debug;         /* OURO_DEBUG_* for the heap */
    bool shared;       /* a shared heap (cfg.shared), driven by one thread */
    uint64_t fail_alloc_at, fail_alloc_every;
    uint64_t fail_page_at, fail_page_every;
    /* Fuzzing: the most nodes that all chain/ring macros of one run may
     * create together (0 = no limit beyond SPEC's 1,000,000 per macro).  A
     * macro that would go past it is refused as `error nomem`, like one
     * that ran out of memory, so that a few short lines cannot make a
     * fuzzing run take seconds.  When 0, the environment variable
     * OURO_REPLAY_MACRO_BUDGET gives it, so that `ouro replay` can replay
     * fuzzer inputs exactly as the fuzzer ran them. */
    uint64_t macro_budget;
} replay_options;

/* What a run did, for the fuzzer. */
typedef struct replay_stats {
    uint64_t lines;        /* script lines run */
    uint64_t macro_nodes;  /* nodes made by chain/ring */
    bool over_budget;      /* a macro was refused for opt->macro_budget */
} replay_stats;

/* Runs the script, writing the event log to `out`.  Returns the number of
 * objects still alive after the teardown (0 unless ouro leaks), or -1 when
 * the heap could not be created. */
int replay_run(const char *text, size_t len, FILE *out, const replay_options *opt);
/* As replay_run, and fills *stats (when not NULL). */
int replay_run_stats(const char *text, size_t len, FILE *out, const replay_options *opt,
                     replay_stats *stats);

#endif
