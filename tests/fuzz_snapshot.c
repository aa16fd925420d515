/* fuzz_snapshot.c — libFuzzer target for the snapshot loader.
 *
 * Any input must be either refused with a message or accepted as a
 * snapshot whose statistics, comparison and re-written text can be
 * computed; never a crash, a leak or undefined behaviour.  Build it like
 * tests/fuzz/fuzz_replay.c (clang -fsanitize=fuzzer,address,undefined with
 * every src/ object and -ljansson -lm, plus -lunwind -ldw when present);
 * seed it with files from `ouro report --demo r.html --keep DIR`. */
#include "ouro_inspect.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char err[256];
    ouro_snapshot *s = ouro_snapshot_parse((const char *)data, size, err, sizeof err);
    if (!s) {
        if (!err[0])
            abort(); /* a refusal must say why */
        return 0;
    }
    size_t n;
    for (int key = OURO_STAT_LINE; key <= OURO_STAT_TRACEBACK; key++) {
        ouro_inspect_free(ouro_snapshot_statistics(s, key, 0, &n));
        ouro_inspect_free(ouro_snapshot_compare(s, s, key, 0, &n));
    }
    ouro_inspect_free(ouro_snapshot_statistics(s, OURO_STAT_LINE, 1, &n));
    ouro_inspect_free(ouro_census_diff(s->census, s->ncensus, s->census, s->ncensus, &n));
    ouro_trace_filter f = {1, "*.c", 0, 1, -1};
    ouro_snapshot_free(ouro_snapshot_filter_traces(s, &f, 1));
    FILE *out = fopen("/dev/null", "w");
    if (out) {
        ouro_snapshot_write(s, out);
        fclose(out);
    }
    ouro_snapshot_free(s);
    return 0;
}
