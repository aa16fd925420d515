/*
 * fuzz_replay.c — libFuzzer target: any bytes, run as a heaptrace script
 * with ouro's heap checked after every operation.
 *
 * A crash, a sanitizer report, a failed heap check (abort) or a leak (objects
 * alive after the runner's teardown, which drops every root and collects)
 * is a finding.  Nothing is compared with CPython here: that is
 * tests/fuzz/diff_random.py's job, on scripts the oracle can run.
 *
 * Fault injection is part of the input, so that the fuzzer explores the
 * out-of-memory paths too: a first line
 *
 *     #fault alloc=N every=K page=P
 *
 * (any of the three, in any order) sets replay's fail_alloc_at,
 * fail_alloc_every and fail_page_at.  The line is a comment for the script
 * itself, and tests/fuzz/replay_corpus.sh turns it into the matching
 * `ouro replay` options, so every input replays the same way there.
 *
 * Speed: chain/ring macros may ask for a million nodes and the heap check
 * runs after every line, so inputs are capped at MAX_INPUT bytes and the
 * macros of one input at MACRO_BUDGET nodes together.  An input that hits
 * either cap is rejected (return -1: libFuzzer keeps it out of the corpus),
 * which also keeps the corpus fast to replay without the cap.
 */
#include "replay.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT 16384
#define MACRO_BUDGET 4096

/* Reads "name=digits" options from the first line when it starts with
 * "#fault"; anything it does not understand is ignored. */
static void parse_fault_line(const uint8_t *data, size_t size, replay_options *opt)
{
    static const char tag[] = "#fault";
    if (size < sizeof tag - 1 || memcmp(data, tag, sizeof tag - 1) != 0)
        return;
    size_t i = sizeof tag - 1;
    while (i < size && data[i] != '\n') {
        while (i < size && (data[i] == ' ' || data[i] == '\t'))
            i++;
        size_t start = i;
        while (i < size && data[i] != '=' && data[i] != ' ' && data[i] != '\n')
            i++;
        size_t klen = i - start;
        if (i >= size || data[i] != '=') {
            while (i < size && data[i] != ' ' && data[i] != '\n')
                i++;
            continue;
        }
        i++;
        uint64_t v = 0;
        while (i < size && data[i] >= '0' && data[i] <= '9') {
            if (v < 100000000)
                v = v * 10 + (uint64_t)(data[i] - '0');
            i++;
        }
        const char *key = (const char *)data + start;
        if (klen == 5 && memcmp(key, "alloc", 5) == 0)
            opt->fail_alloc_at = v;
        else if (klen == 5 && memcmp(key, "every", 5) == 0)
            opt->fail_alloc_every = v;
        else if (klen == 4 && memcmp(key, "page", 4) == 0)
            opt->fail_page_at = v;
        while (i < size && data[i] != ' ' && data[i] != '\n')
            i++;
    }
}

/* libFuzzer has no way to ship a dictionary inside the target, and `make
 * fuzz` runs the target with the corpus only: when no -dict= is given and
 * PROGRAM.dict exists beside the program, pass it on. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (int i = 1; i < *argc; i++)
        if (strncmp((*argv)[i], "-dict=", 6) == 0)
            return 0;
    static char arg[4096 + 16];
    int n = snprintf(arg, sizeof arg, "-dict=%s.dict", (*argv)[0]);
    if (n <= 0 || (size_t)n >= sizeof arg)
        return 0;
    FILE *f = fopen(arg + 6, "r");
    if (!f)
        return 0;
    fclose(f);
    static char **args;
    args = malloc(((size_t)*argc + 2) * sizeof *args);
    if (!args)
        return 0;
    memcpy(args, *argv, (size_t)*argc * sizeof *args);
    args[*argc] = arg;
    args[*argc + 1] = NULL;
    (*argc)++;
    *argv = args;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (size > MAX_INPUT)
        return -1;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    replay_options opt;
    memset(&opt, 0, sizeof opt);
    opt.check_each = true;
    opt.debug = OURO_DEBUG_CHECKS;
    opt.macro_budget = MACRO_BUDGET;
    parse_fault_line(data, size, &opt);
    replay_stats st;
    int leaks = replay_run_stats((const char *)data, size, devnull, &opt, &st);
    if (leaks < 0 && opt.fail_page_at != 1) {
        /* Only the first page request is the heap's own mapping. */
        fprintf(stderr, "fuzz_replay: heap creation failed without a fault at it\n");
        abort();
    }
    if (leaks > 0) {
        fprintf(stderr, "fuzz_replay: %d objects alive after teardown (leak)\n", leaks);
        abort();
    }
    return st.over_budget ? -1 : 0;
}
