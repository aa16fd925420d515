/*
 * fuzz_incremental.c — libFuzzer target: the mutator of tests/mutator.h
 * (the randomized test tests/test_incremental.c uses the same one) driven
 * by the input's bytes instead of a PRNG.  Each operation takes its choice
 * and its operands from the next bytes; the run ends when they run out.
 *
 * The first byte chooses the heap's mode:
 *   bits 0-1  0, 3: automatic collection disabled (only steps and collects)
 *             1: the adaptive schedule, threshold 20 (young collections)
 *             2: the incremental schedule, threshold 8 (automatic
 *                increments, cycles started after young collections)
 *   bits 2-4  the share of new nodes whose finalizer resurrects them
 *             (0-35%)
 *   bit 5     a shared heap (cfg.shared) driven by this thread: every
 *             step, young collection and collection stops the world
 *
 * A finding is an abort with "mutator violation: ..." (something reachable
 * freed, garbage present at a cycle's start alive at its end, a weak
 * reference callback for a live object, a failed heap check, ...) followed
 * by the last operations, or any sanitizer report.
 *
 *   tests/fuzz_build.sh && ./build-fuzz/fuzz_incremental -max_total_time=60
 */
#include "../mutator.h"

#include <stddef.h>
#include <stdint.h>

enum { MAX_INPUT = 4096, MAX_NODES = 4000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static mut m;
    if (size < 1)
        return 0;
    if (size > MAX_INPUT)
        return -1;
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.debug = OURO_DEBUG_CHECKS;
    cfg.leak_policy = OURO_LEAKS_FAIL;
    cfg.shared = (data[0] >> 5) & 1;
    ouro_heap *h = ouro_heap_new(&cfg);
    if (!h)
        abort();
    int mode = data[0] & 3;
    if (mode == 1) {
        ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_ADAPTIVE);
        ouro_gc_set_threshold(h, 20, 3, 3);
    } else if (mode == 2) {
        ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_INCREMENTAL);
        ouro_gc_set_threshold(h, 8, 10, 10);
    } else {
        ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311);
        ouro_gc_disable(h);
    }
    mut_profile p;
    memset(&p, 0, sizeof p);
    p.w[MOP_NEW] = 6;
    p.w[MOP_RING] = 3;
    p.w[MOP_CHAIN] = 2;
    p.w[MOP_STORE] = 10;
    p.w[MOP_STORE_ROOT] = 4;
    p.w[MOP_CLEAR_SLOT] = 4;
    p.w[MOP_DROP_ROOT] = 6;
    p.w[MOP_STEAL] = 12;
    p.w[MOP_STEAL_TO_ROOT] = 3;
    p.w[MOP_STEAL_FROM_ROOT] = 3;
    p.w[MOP_WEAK_NEW] = 4;
    p.w[MOP_WEAK_GET] = 4;
    p.w[MOP_WEAK_DROP] = 1;
    p.w[MOP_COLLECT] = 2;
    p.w[MOP_STEP] = 24;
    p.w[MOP_STEP_BIG] = 2;
    p.resurrect_pct = ((data[0] >> 2) & 7) * 5;
    p.plain_pct = 30;
    p.max_ring = 120;
    p.roots = 16;
    mut_init(&m, h, MAX_NODES, &p, 0, data + 1, size - 1);
    while (mut_op(&m))
        ;
    for (int i = 0; i < 100000 && ouro_gc_cycle_phase(h) != 0; i++)
        mut_step(&m, 64);
    mut_check(&m, 0);
    mut_teardown(&m);
    mut_free(&m);
    if (ouro_heap_free(h) != 0) {
        fprintf(stderr, "fuzz_incremental: objects alive after the teardown\n");
        abort();
    }
    return 0;
}
