/*
 * inspect.h — shared machinery of the introspection modules (src/inspect).
 *
 * THE ONE RULE: measuring never changes what is measured.
 *
 *   - Every byte used here comes from malloc, never from the heap being
 *     inspected, so the heap's statistics (bytes, objects, arenas, class
 *     counts) read the same before and after any inspect call.
 *   - Nothing here allocates objects, changes a reference count, or calls
 *     into the collector except to read its lists; so no call triggers a
 *     collection, finalizer or weak-reference callback.
 *   - Objects are visited with ouro_heap_walk and their type's traverse
 *     hook, which must not change anything (the collector relies on that
 *     too).
 *
 * Names: `ouro__ins_*` are internal (hidden) functions shared by the files
 * of this directory; everything else is static.
 *
 * THE FILES, bottom up.  Each file calls only files above it in this list,
 * never one below (tests/layers_check.py fails on any circle), and says at
 * its top what it owns and what it calls.  The sections below follow the
 * same order.
 *
 *   util.c           containers (map, arrays, string pool, text buffer),
 *                    clocks, RSS                 calls no file of src/inspect
 *   symbols.c        native frames named; ouro's code told from the program's
 *                                                util
 *   snapshot.c       the snapshot structure: alloc, pool, copies, free
 *                                                util
 *   census.c         census, diffs, growth, type tracker
 *                                                util
 *   graph.c          the object graph, its queries, DOT
 *                                                util
 *   trace.c          the tracer: hooks, tables, tracebacks, sampling, stop,
 *                    getters, a snapshot's traces
 *                                                util symbols snapshot
 *   trace_stats.c    statistics, compare, format, filters over snapshots
 *                                                util snapshot
 *   leaks.c          leak reports                util graph trace
 *   trace_start.c    ouro_trace_start*, with the heap-free leak report
 *                                                trace leaks
 *   snapshot_take.c  taking a snapshot           util snapshot census graph
 *                                                trace leaks
 *   snapshot_json.c  snapshots written and loaded as JSON
 *                                                util snapshot
 *   sampler.c        memory over time, its snapshot and mprof output
 *                                                util snapshot trace
 *                                                snapshot_take snapshot_json
 *   html.c           the report's text: escaping, sizes, frame labels
 *                                                calls no file of src/inspect
 *   flame.c          the report's flame graph    html
 *   report.c         the HTML report             util html flame census graph
 *                                                trace_stats
 *   env.c            OURO_TRACEMALLOC, OURO_REPORT
 *                                                trace trace_start sampler
 *                                                snapshot snapshot_take report
 */
#ifndef OURO_INSPECT_INSPECT_H
#define OURO_INSPECT_INSPECT_H

#include "../types/types.h"
#include "ouro_inspect.h"

#include <stdarg.h>
#include <stdlib.h>

/* ================================================================ util.c */

/* ----- pointer map: open addressing, linear probing, key 0 = empty.
 * Invariant: len <= cap / 2, cap a power of two (or 0). */
typedef struct ins_map {
    uintptr_t *keys;
    size_t *vals;
    size_t cap, len;
} ins_map;

OURO__HIDDEN int ouro__ins_map_init(ins_map *m, size_t expect);
OURO__HIDDEN void ouro__ins_map_fini(ins_map *m);
/* Insert or overwrite; OURO_ENOMEM when growing fails. */
OURO__HIDDEN int ouro__ins_map_put(ins_map *m, uintptr_t key, size_t val);
/* The value slot for key, or NULL. */
OURO__HIDDEN size_t *ouro__ins_map_get(const ins_map *m, uintptr_t key);

static inline size_t ouro__ins_hash(uintptr_t k)
{
    uint64_t x = (uint64_t)k * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29));
}

/* ----- growable arrays of any element size */
typedef struct ins_arr {
    void *p;
    size_t len, cap, elem;
} ins_arr;
#define INS_ARR(type) ((ins_arr){NULL, 0, 0, sizeof(type)})
/* Append one zeroed element; NULL on out of memory. */
OURO__HIDDEN void *ouro__ins_arr_push(ins_arr *a);
#define INS_AT(a, type, i) (((type *)(a)->p)[i])

/* ----- string pool: interned copies with stable addresses.  A snapshot
 * owns one, so it is independent of the program's string literals. */
typedef struct ins_chunk ins_chunk;
typedef struct ins_strpool {
    ins_chunk *chunks;
    const char **slots; /* open addressing table of interned strings */
    size_t cap, len;
    size_t bytes;       /* malloc'd bytes, for ouro_trace_get_tracer_memory */
} ins_strpool;
OURO__HIDDEN const char *ouro__ins_intern(ins_strpool *p, const char *s);
OURO__HIDDEN const char *ouro__ins_intern_n(ins_strpool *p, const char *s, size_t n);
/* Raw storage from the pool's chunks (aligned to 16), for arrays a
 * snapshot owns; freed with the pool. */
OURO__HIDDEN void *ouro__ins_pool_alloc(ins_strpool *p, size_t size);
OURO__HIDDEN void ouro__ins_strpool_fini(ins_strpool *p);

/* ----- text buffer */
typedef struct ins_buf {
    char *p;
    size_t len, cap;
    int oom;
} ins_buf;
OURO__HIDDEN void ouro__ins_buf_printf(ins_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
OURO__HIDDEN void ouro__ins_buf_put(ins_buf *b, const char *s, size_t n);

/* ----- clocks and the process's resident set */
OURO__HIDDEN double ouro__ins_now(void);      /* CLOCK_REALTIME seconds */
OURO__HIDDEN double ouro__ins_mono(void);     /* CLOCK_MONOTONIC seconds */
OURO__HIDDEN size_t ouro__ins_rss(void);

/* ================================================================ symbols.c */

/* ----- symbolizer: native return address -> function, file, line.  Uses
 * libdw (DWARF line tables, works for static executables) when built with
 * it, else dladdr (exported symbols only).  Results are cached per address
 * and the strings interned in `pool`. */
typedef struct ins_sym ins_sym;
OURO__HIDDEN ins_sym *ouro__ins_sym_new(void);
OURO__HIDDEN void ouro__ins_sym_free(ins_sym *s);
OURO__HIDDEN void ouro__ins_sym_lookup(ins_sym *s, uintptr_t ip, ouro_frame *out);
OURO__HIDDEN size_t ouro__ins_sym_memory(const ins_sym *s);
/* Whether the code at return address `ip` is ouro's (1) or the program's
 * (0); -1 when it cannot be told (symbols.c, "ouro's code", says how). */
OURO__HIDDEN int ouro__ins_sym_is_lib(ins_sym *s, uintptr_t ip);
/* Resident set grown by every symbolizer alive in the process. */
OURO__HIDDEN size_t ouro__ins_tools_rss(void);
/* Whether `file`, a __FILE__ the allocation macros captured, is one of
 * ouro's own sources. */
OURO__HIDDEN int ouro__ins_lib_file(const char *file);

/* ================================================================ snapshot.c */

/* A snapshot's private part: the pool that owns all its memory. */
typedef struct ins_snap_priv {
    ins_strpool pool;
} ins_snap_priv;
OURO__HIDDEN ouro_snapshot *ouro__ins_snap_alloc(void);
OURO__HIDDEN ins_strpool *ouro__ins_snap_pool(ouro_snapshot *s);
/* Copies into storage owned by `p`, strings interned there: a leak group
 * with its chain (OURO_ENOMEM when the chain's array cannot be had), and a
 * graph's nodes and edges into `dst`'s arrays, already sized for `src`. */
OURO__HIDDEN int ouro__ins_copy_leak_group(ins_strpool *p, ouro_leak_group *dst,
                                           const ouro_leak_group *src);
OURO__HIDDEN void ouro__ins_copy_graph(ins_strpool *p, ouro_graph *dst, const ouro_graph *src);

/* ================================================================ graph.c */

/* ----- the object graph of the whole heap, built once per query.
 *
 * Objects are numbered 0..n-1 in heap-walk order; fwd/back are the edges
 * in compressed-row form (fwd[fstart[i] .. fstart[i+1]) are the objects
 * object i refers to, back[...] the objects that refer to it; an edge is
 * listed once per reference, so two slots holding the same target count
 * twice, as the collector counts them).  external[i] = refcnt - incoming
 * references, clamped at 0: the collector's gc_refs over the whole heap. */
typedef struct ins_graph {
    size_t n;
    ouro_object **obj;
    ins_map index; /* object address -> number */
    uint32_t *fstart, *fwd;
    uint32_t *bstart, *back;
    uint32_t *external;
    size_t nedges;
    ouro_heap *held; /* a shared heap held stopped from build to free: the
                        graph's objects cannot die or change meanwhile */
} ins_graph;
OURO__HIDDEN int ouro__ins_graph_build(ouro_heap *h, ins_graph *g);
OURO__HIDDEN void ouro__ins_graph_free(ins_graph *g);
static inline long ouro__ins_graph_find(const ins_graph *g, const ouro_object *o)
{
    size_t *v = ouro__ins_map_get(&g->index, (uintptr_t)o);
    return v ? (long)*v : -1;
}
OURO__HIDDEN int ouro__ins_is_root(const ins_graph *g, size_t i);
/* Shortest chain root -> i by breadth-first search over back edges: writes
 * up to `max` object numbers (root first) into out and returns the chain's
 * length, 0 when no root reaches i. */
OURO__HIDDEN size_t ouro__ins_graph_chain(const ins_graph *g, size_t i, uint32_t *out,
                                          size_t max);
/* A subgraph of the objects numbered in `seeds`, grown max_depth steps
 * along forward (dir 1), backward (dir -1) or both (dir 0) edges; dir 2
 * grows backward and adds only what the seeds themselves refer to. */
OURO__HIDDEN ouro_graph *ouro__ins_subgraph(const ins_graph *g, const uint32_t *seeds,
                                            size_t nseeds, const unsigned *seed_flags,
                                            int dir, int max_depth, size_t max_nodes);
OURO__HIDDEN void ouro__ins_node_of(const ins_graph *g, size_t i, ouro_graph_node *n);

/* ================================================================ trace.c */

/* Start tracing h (ouro_trace_start_sampled's contract; trace_start.c);
 * at_heap_free becomes the tracer's on_heap_free hook, which must end by
 * stopping the tracing. */
OURO__HIDDEN int ouro__ins_trace_begin(ouro_heap *h, int nframes, size_t sample_bytes,
                                       void (*at_heap_free)(ouro_heap *h));
OURO__HIDDEN int ouro__ins_trace_site(ouro_heap *h, const void *block, ouro_frame *site);
/* fn(h, arg) runs first thing when tracing of h stops (ouro_trace_stop,
 * or ouro_heap_free), with the tracer still on; OURO_ENOTFOUND when h is
 * not traced. */
OURO__HIDDEN int ouro__ins_trace_on_stop(ouro_heap *h, void (*fn)(ouro_heap *h, void *arg),
                                         void *arg);

/* Fill the snapshot's traces and tracing fields from the tracer (0, or
 * OURO_ENOMEM); nothing when h is not traced. */
OURO__HIDDEN int ouro__ins_snap_traces(ouro_heap *h, ouro_snapshot *s);

/* ================================================================ leaks.c */

/* ouro_leak_report_take(h, chains), and when `graph` is given also the
 * subgraph around the examples of the `chains` largest groups (NULL and
 * h->last_error on out of memory). */
OURO__HIDDEN ouro_leak_report *ouro__ins_leak_take(ouro_heap *h, size_t chains,
                                                   ouro_graph **graph);

/* ================================================================ html.c, flame.c */

/* Write s with <, >, & and " escaped for HTML text and attributes. */
OURO__HIDDEN void ouro__ins_html(FILE *o, const char *s);
/* b bytes as "12 B", "1.5 KiB"... (negative for a decrease). */
OURO__HIDDEN void ouro__ins_human(char *buf, size_t n, double b);
/* The last component of a path; "<unknown>" for NULL. */
OURO__HIDDEN const char *ouro__ins_basename(const char *path);
/* "func (file.c:12)", "file.c:12" or "<unknown>". */
OURO__HIDDEN void ouro__ins_site_label(char *buf, size_t n, const ouro_frame *f);
/* The flame graph of s's traces as an <svg id="flame">, or a note when
 * s has none. */
OURO__HIDDEN void ouro__ins_flame_graph(FILE *o, const ouro_snapshot *s);

#endif
