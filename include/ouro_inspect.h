/*
 * ouro_inspect.h — the profiling tools, on top of the built-in types
 * (ouro_types.h) and the core (ouro.h).
 *
 * Link with libouro-inspect (pkg-config ouro-inspect), which needs
 * libouro-types and libouro, and jansson (libunwind and libdw when the
 * build found them).
 */
#ifndef OURO_INSPECT_H
#define OURO_INSPECT_H

#include "ouro_types.h"

#ifdef __cplusplus
extern "C" {
#endif
/* ------------------------------------------------------ memory profiling */

/*
 * Memory profiling and introspection: ouro's tracemalloc, objgraph, Pympler
 * and mprof, leak reports and snapshots (docs/inspect.md).
 *
 * Conventions of this part of the API
 *   - Measuring never changes what is measured: no function here triggers a
 *     collection, and every byte these functions use comes from malloc, never
 *     from the heap, so ouro_heap_get_stats() reads the same before and
 *     after (tests/test_inspect_*.c check it).
 *   - Every function that prints or draws sits on one that returns data.
 *     Arrays returned by `ouro_*` functions here are malloc'd and released
 *     with ouro_inspect_free() unless a dedicated *_free is named.
 *   - Strings inside returned data (type names, file names) are borrowed:
 *     type names live as long as their ouro_type; everything inside a
 *     snapshot lives as long as the snapshot.
 *   - The same threading rule as the heap: one thread at a time per heap.
 */

/* Release an array returned by an inspect function. */
OURO_API void ouro_inspect_free(void *p);

/* The profiling tools' own memory, which the process's resident set
 * includes but the program did not ask for: the tracer's tables
 * (ouro_trace_get_tracer_memory) plus what naming native frames made
 * resident in the whole process (libdw loading DWARF: ~18 MiB for a
 * program with ouro's debug information), measured as the growth of the
 * resident set while symbolizing.  About, not exact: memory the
 * symbolizer freed may stay resident in malloc's arenas.  The sampler
 * records it with every point, snapshots when taken, and the report
 * draws it apart from the program's memory. */
OURO_API size_t ouro_inspect_overhead(ouro_heap *h);

/* ================================================ allocation tracing
 *
 * The C counterpart of tracemalloc.  While tracing is on, every block
 * ouro_new* / ouro_raw_* hands out is recorded with its traceback: frame 0
 * is the allocation site that the ouro_new / ouro_raw_alloc macros capture
 * (file, line, function); with nframes > 1 the native callers follow
 * (return addresses from libunwind, symbolized with libdw when a snapshot
 * or a traceback is taken).  Cost with one frame: a hash-table insert per
 * allocation and a delete per free (BENCHMARKS.md workload 9: at most 2x).
 *
 * Sampled tracing records about one allocation per `sample_bytes` bytes
 * (the distance between samples is drawn from an exponential distribution,
 * so every byte has the same chance 1/sample_bytes of being the one that
 * triggers a sample).  A sampled block of size s stands for
 * s / (1 - exp(-s / sample_bytes)) bytes, about sample_bytes for small
 * blocks, and all sizes and totals are scaled that way: estimates without
 * bias, for always-on use (target: at most 1.1x).
 */
enum { OURO_DOMAIN_OBJECT = 0, OURO_DOMAIN_RAW = 1 };
#define OURO_TRACE_MAX_FRAMES 64

typedef struct ouro_frame {
    const char *file; /* NULL when unknown ("<unknown>" in text) */
    const char *func; /* NULL when unknown */
    int line;         /* 0 when unknown */
    uintptr_t ip;     /* native frame: return address; 0 for the allocation site */
} ouro_frame;

/* tracemalloc.start(nframes): 1..OURO_TRACE_MAX_FRAMES.  Starting again
 * while tracing keeps the traces and changes nothing (as CPython). */
OURO_API int ouro_trace_start(ouro_heap *h, int nframes);
/* Sampled tracing; sample_bytes 0 means every allocation. */
OURO_API int ouro_trace_start_sampled(ouro_heap *h, int nframes, size_t sample_bytes);
/* tracemalloc.stop(): forgets every trace and frees the tracer.  There is
 * no need to call it before ouro_heap_free, which reports the objects
 * still alive by allocation site and then stops tracing itself: stopping
 * first loses the sites from that leak report. */
OURO_API int ouro_trace_stop(ouro_heap *h);
OURO_API int ouro_trace_is_tracing(ouro_heap *h);
OURO_API int ouro_trace_get_traceback_limit(ouro_heap *h);
OURO_API size_t ouro_trace_get_sample_bytes(ouro_heap *h);
/* Traced bytes now and at the peak (scaled estimates when sampling); 0, 0
 * when not tracing. */
OURO_API void ouro_trace_get_traced_memory(ouro_heap *h, size_t *current, size_t *peak);
/* Set the peak to the current value. */
OURO_API void ouro_trace_reset_peak(ouro_heap *h);
/* tracemalloc.get_tracemalloc_memory(): the tracer's own malloc'd bytes. */
OURO_API size_t ouro_trace_get_tracer_memory(ouro_heap *h);
/* Blocks currently traced (samples, when sampling), and allocations that
 * could not be recorded because malloc failed. */
OURO_API size_t ouro_trace_get_count(ouro_heap *h);
OURO_API size_t ouro_trace_get_lost(ouro_heap *h);
/* tracemalloc.get_object_traceback(): the frames of the allocation of
 * `block` (an object or a raw block), innermost first.  Returns the number
 * of frames written (at most max), 0 if the block is not traced, or a
 * negative error.  Strings stay valid until tracing stops. */
OURO_API int ouro_trace_get_traceback(ouro_heap *h, const void *block, ouro_frame *out, int max);

/* ================================================ snapshots
 *
 * A snapshot is plain data, independent of its heap once taken: traces
 * (grouped by traceback, domain and block size), a census of live objects
 * by type, the heap's statistics, optionally a time series from a sampler,
 * a leak report and the object graph around the largest leak suspects.
 * The same structure comes back from ouro_snapshot_load(), so the report
 * tool and a program read one thing.  Fields are read-only.
 */
typedef struct ouro_trace {
    int domain;               /* OURO_DOMAIN_* */
    int nframes;
    size_t size;              /* bytes each block stands for */
    size_t count;             /* blocks with this traceback, domain and size */
    const ouro_frame *frames; /* frames[0] is the allocation site */
} ouro_trace;

typedef struct ouro_type_count {
    const char *name;
    size_t count;       /* live objects of the type */
    size_t size;        /* sum of ouro_sizeof (sys.getsizeof) */
    size_t block_bytes; /* heap bytes their blocks hold (size rounded up to a class) */
} ouro_type_count;

typedef struct ouro_series_point {
    double t;             /* seconds since the sampler started */
    size_t heap_bytes;    /* ouro_heap_stats.bytes_in_use */
    size_t mapped_bytes;  /* ouro_heap_stats.mapped_bytes */
    size_t rss_bytes;     /* the process's resident set (/proc/self/statm) */
    size_t objects;       /* live objects */
    size_t traced_bytes;  /* traced memory now, 0 when not tracing */
    size_t tools_bytes;   /* the profiling tools' own memory inside rss_bytes
                             (ouro_inspect_overhead): the program's resident
                             set is rss_bytes - tools_bytes */
} ouro_series_point;

typedef struct ouro_mark {
    const char *name;
    double begin, end; /* seconds; end < 0 while the region is open */
    int depth;         /* nesting level, 0 outermost */
} ouro_mark;

enum { OURO_NODE_ROOT = 1, OURO_NODE_SUSPECT = 2, OURO_NODE_TARGET = 4 };
typedef struct ouro_graph_node {
    uint64_t id;       /* ouro_id() of the object */
    const char *type;
    size_t size;       /* ouro_sizeof */
    uint32_t refcnt;
    uint32_t external; /* references from outside the heap's objects */
    unsigned flags;    /* OURO_NODE_* */
} ouro_graph_node;

typedef struct ouro_graph_edge {
    size_t from, to; /* indices into the node array: `from` refers to `to` */
} ouro_graph_edge;

typedef struct ouro_graph {
    ouro_graph_node *nodes;
    size_t nnodes;
    ouro_graph_edge *edges;
    size_t nedges;
    int truncated; /* the node limit cut the graph short */
} ouro_graph;

typedef struct ouro_leak_group {
    const char *type;
    ouro_frame site;        /* allocation site; file NULL when not traced */
    size_t count;
    size_t bytes;           /* block bytes */
    uint64_t example;       /* ouro_id() of one object of the group */
    ouro_graph_node *chain; /* root ... example, or NULL */
    size_t nchain;
} ouro_leak_group;

typedef struct ouro_snapshot {
    size_t struct_size;    /* sizeof(ouro_snapshot) of the library */
    const char *label;     /* may be NULL */
    double time;           /* seconds since the epoch */
    int has_heap;
    ouro_heap_stats heap;  /* the main counters; classes are not kept */
    int tracing;           /* traces below are meaningful */
    int nframes;
    size_t sample_bytes;
    size_t traced_current, traced_peak;
    size_t tools_bytes;    /* ouro_inspect_overhead() when taken, this
                              snapshot's symbolization included */
    ouro_trace *traces;
    size_t ntraces;
    ouro_type_count *census;
    size_t ncensus;
    ouro_series_point *series;
    size_t nseries;
    ouro_mark *marks;
    size_t nmarks;
    ouro_leak_group *leaks;
    size_t nleaks;
    ouro_graph graph;
    void *priv;            /* the snapshot's own storage */
} ouro_snapshot;

enum {
    OURO_SNAP_TRACES = 1, /* needs tracing on */
    OURO_SNAP_CENSUS = 2,
    OURO_SNAP_LEAKS = 4,  /* leak report of every live object */
    OURO_SNAP_GRAPH = 8,  /* graph around the largest leak suspects */
    OURO_SNAP_ALL = 15
};

/* Take a snapshot of what `what` names (traces are skipped when tracing is
 * off).  NULL on out of memory (ouro_heap_last_error() says ENOMEM). */
OURO_API ouro_snapshot *ouro_snapshot_take(ouro_heap *h, unsigned what, const char *label);
/* tracemalloc.take_snapshot(): traces only; NULL with OURO_ENOTFOUND when
 * tracing is off. */
OURO_API ouro_snapshot *ouro_trace_take_snapshot(ouro_heap *h);
OURO_API void ouro_snapshot_free(ouro_snapshot *s);

/* Statistics grouped by the allocation site's line, file, or the whole
 * traceback (Snapshot.statistics), sorted by size, then count, largest
 * first.  `cumulative` counts a trace for every frame of its traceback
 * (once per distinct key), not only frame 0; not with TRACEBACK. */
enum { OURO_STAT_LINE = 0, OURO_STAT_FILE = 1, OURO_STAT_TRACEBACK = 2 };
typedef struct ouro_trace_stat {
    int nframes;
    const ouro_frame *frames; /* the key: LINE: 1 frame; FILE: 1 frame, line 0 */
    size_t size, count;
    long long size_diff, count_diff; /* ouro_snapshot_compare only */
} ouro_trace_stat;
OURO_API ouro_trace_stat *ouro_snapshot_statistics(const ouro_snapshot *s, int key,
                                                   int cumulative, size_t *n);
/* Snapshot.compare_to(old): every key of either snapshot, sorted by
 * |size_diff|, size, |count_diff|, count, largest first.  Strings point into
 * both snapshots. */
OURO_API ouro_trace_stat *ouro_snapshot_compare(const ouro_snapshot *now,
                                                const ouro_snapshot *old, int key,
                                                int cumulative, size_t *n);
/* One line of text, as tracemalloc prints a Statistic / StatisticDiff:
 * "file:line: size=4800 B, count=100, average=48 B".  Returns the length
 * the full text needs (snprintf). */
OURO_API int ouro_trace_stat_format(const ouro_trace_stat *st, int diff, char *buf,
                                    size_t len);

/* Filters (tracemalloc.Filter and DomainFilter in one): a trace is kept if
 * it matches at least one inclusive filter (when there are any) and every
 * exclusive filter lets it through. */
typedef struct ouro_trace_filter {
    int inclusive;            /* 1: keep matching traces; 0: drop them */
    const char *file_pattern; /* fnmatch(3) pattern; NULL matches any file */
    int line;                 /* 0: any line */
    int all_frames;           /* test every frame, not only the allocation site */
    int domain;               /* -1: any domain */
} ouro_trace_filter;
/* Snapshot.filter_traces: a new snapshot (census and the rest copied). */
OURO_API ouro_snapshot *ouro_snapshot_filter_traces(const ouro_snapshot *s,
                                                    const ouro_trace_filter *filters,
                                                    size_t nfilters);

/* Snapshots on disk: one JSON document (docs/inspect.md describes it).
 * Writing streams (no document is built in memory); loading uses jansson
 * and checks every field: a corrupt or hostile file gives NULL and a
 * message in err (e.g. "traces[3][3][0]: frame index 99 out of range"). */
OURO_API int ouro_snapshot_write(const ouro_snapshot *s, FILE *out);
OURO_API int ouro_snapshot_save(const ouro_snapshot *s, const char *path);
OURO_API ouro_snapshot *ouro_snapshot_parse(const char *text, size_t len, char *err,
                                            size_t errlen);
OURO_API ouro_snapshot *ouro_snapshot_load(const char *path, char *err, size_t errlen);
/* Files larger than this are refused by ouro_snapshot_load. */
#define OURO_SNAPSHOT_MAX_BYTES ((size_t)1 << 30)

/* ================================================ census (objgraph, Pympler)
 */

/* Live objects by type, most numerous first (objgraph.typestats /
 * most_common_types; Pympler's summary with `size`).  Immortal objects are
 * left out. */
OURO_API ouro_type_count *ouro_census(ouro_heap *h, size_t *n);
/* objgraph.count(typename). */
OURO_API size_t ouro_census_count(ouro_heap *h, const char *type_name);
/* objgraph.by_type: visit every live object whose type has this name. */
OURO_API int ouro_objects_of_type(ouro_heap *h, const char *type_name, ouro_visit_fn visit,
                                  void *arg);

typedef struct ouro_type_diff {
    const char *name;
    size_t count, size;              /* now */
    long long count_diff, size_diff; /* now minus before */
} ouro_type_diff;
/* Pympler's summary.get_diff: every type of either census, sorted by
 * |size_diff| then |count_diff|, largest first; unchanged types left out. */
OURO_API ouro_type_diff *ouro_census_diff(const ouro_type_count *now, size_t nnow,
                                          const ouro_type_count *before, size_t nbefore,
                                          size_t *n);

/* objgraph.growth: counts that went above their previous peak since the
 * last call, largest increase first.  The state is the caller's. */
typedef struct ouro_growth ouro_growth;
OURO_API ouro_growth *ouro_growth_new(void);
OURO_API ouro_type_diff *ouro_growth_step(ouro_growth *g, ouro_heap *h, size_t *n);
OURO_API void ouro_growth_free(ouro_growth *g);

/* Pympler's ClassTracker: record the instances of chosen types over time.
 * Each sample records, per type, the count and total size, and notes which
 * instances appeared and which disappeared (identity: the object's address,
 * so an address reused by a new instance between two samples looks like the
 * same instance). */
typedef struct ouro_tracker ouro_tracker;
typedef struct ouro_tracker_row {
    size_t sample;   /* index of the sample */
    const char *label;
    double t;        /* seconds since the tracker was created */
    const char *type;
    size_t count, size;
} ouro_tracker_row;
typedef struct ouro_tracked_instance {
    uint64_t id;
    const char *type;
    size_t born;  /* first sample that saw it */
    size_t died;  /* first sample that did not, SIZE_MAX while alive */
    size_t size;  /* ouro_sizeof at the last sample that saw it */
} ouro_tracked_instance;
OURO_API ouro_tracker *ouro_tracker_new(void);
OURO_API int ouro_tracker_track(ouro_tracker *t, const ouro_type *type);
OURO_API int ouro_tracker_sample(ouro_tracker *t, ouro_heap *h, const char *label);
OURO_API const ouro_tracker_row *ouro_tracker_rows(const ouro_tracker *t, size_t *n);
OURO_API const ouro_tracked_instance *ouro_tracker_instances(const ouro_tracker *t, size_t *n);
OURO_API void ouro_tracker_free(ouro_tracker *t);

/* ================================================ object graphs (objgraph)
 *
 * Roots are the objects the program holds from outside the heap: those
 * whose reference count exceeds the references other heap objects hold to
 * them (the collector's gc_refs, computed over the whole heap without
 * touching it).  Immortal objects are roots too.
 */

/* objgraph.get_leaking_objects: objects no other heap object refers to. */
OURO_API int ouro_get_leaking_objects(ouro_heap *h, ouro_visit_fn visit, void *arg);
/* Objects with references from outside the heap. */
OURO_API int ouro_get_roots(ouro_heap *h, ouro_visit_fn visit, void *arg);
/* objgraph.find_backref_chain: the shortest chain root -> ... -> target
 * (borrowed references, chain[len-1] == target); NULL with OURO_ENOTFOUND
 * if no root reaches it (e.g. cyclic garbage). */
OURO_API ouro_object **ouro_find_backref_chain(ouro_heap *h, ouro_object *target,
                                               size_t *len);

/* The objects reachable from `objs` (refs) or reaching them (backrefs)
 * within max_depth steps, at most max_nodes nodes (0: 200).  objs are
 * flagged OURO_NODE_TARGET. */
OURO_API ouro_graph *ouro_graph_refs(ouro_heap *h, ouro_object *const *objs, size_t n,
                                     int max_depth, size_t max_nodes);
OURO_API ouro_graph *ouro_graph_backrefs(ouro_heap *h, ouro_object *const *objs, size_t n,
                                         int max_depth, size_t max_nodes);
OURO_API void ouro_graph_free(ouro_graph *g);
/* Graphviz DOT text of a graph (objgraph.show_refs / show_backrefs). */
OURO_API int ouro_graph_write_dot(const ouro_graph *g, FILE *out);
/* Run Graphviz `dot -T<format>` (svg, png, ...) on a DOT file.  Returns 0,
 * OURO_ENOTFOUND when `dot` is not installed, OURO_EINVAL when it fails. */
OURO_API int ouro_dot_render(const char *dot_path, const char *out_path, const char *format);

/* ================================================ leak reports */

typedef struct ouro_leak_report {
    size_t objects, bytes; /* every live mortal object */
    ouro_leak_group *groups;
    size_t ngroups;
    void *priv;
} ouro_leak_report;
/* Live objects grouped by type and allocation site (the site needs
 * tracing on), largest groups first; the `chains` largest groups get the
 * shortest back-reference chain from a root to their example. */
OURO_API ouro_leak_report *ouro_leak_report_take(ouro_heap *h, size_t chains);
OURO_API int ouro_leak_report_print(const ouro_leak_report *r, size_t max_groups, FILE *out);
OURO_API void ouro_leak_report_free(ouro_leak_report *r);

/* ================================================ memory over time (mprof)
 *
 * A sampler records heap bytes, RSS, object counts and traced bytes.  It
 * samples when asked (ouro_sampler_sample), when ouro_sampler_tick finds the
 * interval passed, at every mark, and — through a collector callback — after
 * collections once the interval has passed, so a program that allocates is
 * sampled without being changed.  Marks name regions of code (the C
 * counterpart of memory_profiler's line-by-line).
 */
typedef struct ouro_sampler ouro_sampler;
/* interval in seconds (0: only explicit samples and marks).  Free the
 * sampler before its heap. */
OURO_API ouro_sampler *ouro_sampler_new(ouro_heap *h, double interval);
OURO_API int ouro_sampler_sample(ouro_sampler *s);
OURO_API int ouro_sampler_tick(ouro_sampler *s);
OURO_API int ouro_sampler_begin(ouro_sampler *s, const char *name);
/* Closes the innermost open region with this name (NULL: the innermost). */
OURO_API int ouro_sampler_end(ouro_sampler *s, const char *name);
OURO_API const ouro_series_point *ouro_sampler_points(const ouro_sampler *s, size_t *n);
OURO_API const ouro_mark *ouro_sampler_marks(const ouro_sampler *s, size_t *n);
/* Copy the series and marks into a snapshot (replacing what it had). */
OURO_API int ouro_snapshot_set_series(ouro_snapshot *snap, const ouro_sampler *s);
/* A snapshot file holding the series (and the heap's census at the end). */
OURO_API int ouro_sampler_save(const ouro_sampler *s, const char *path);
/* memory_profiler's mprof .dat format (MEM / FUNC lines), for `mprof plot`. */
OURO_API int ouro_sampler_write_mprof(const ouro_sampler *s, FILE *out);

/* ================================================ the HTML report
 *
 * One self-contained page from snapshots, oldest first (what `ouro report`
 * writes; docs/inspect.md).  names[i] labels snapshot i (a file name).
 * 0, OURO_EINVAL, or OURO_ENOTFOUND when the file cannot be written. */
OURO_API int ouro_report_write(const char *path, ouro_snapshot *const *snaps, size_t n,
                               const char *const *names);

/* ================================================ zero-code-change tracing
 *
 * As `PYTHONTRACEMALLOC=25 python app.py`: with the variables below set,
 * every heap the program creates is traced and reported with no change to
 * the program.
 *
 *   OURO_TRACEMALLOC=N    ouro_trace_start(h, N) on every new heap (N
 *                         frames, 1..OURO_TRACE_MAX_FRAMES; 0: off)
 *   OURO_REPORT=path.html trace (N frames, or 1), sample memory over time,
 *                         and write the HTML report when tracing ends (at
 *                         ouro_heap_free, or ouro_trace_stop); with
 *                         several heaps, the last to end writes the file
 *
 * ouro_inspect_env_init() installs the heap hook that reads them
 * (ouro_heap_hook_add); it runs by itself when the profiling layer is
 * loaded (a constructor), which is always the case with the shared
 * library.  A program linked with the static library has the profiling
 * code only if it uses it: call ouro_inspect_env_init() or link with
 * -Wl,-u,ouro_inspect_env_init.  Returns 0 or ouro_heap_hook_add's error. */
OURO_API int ouro_inspect_env_init(void);
OURO_API void ouro_sampler_free(ouro_sampler *s);

#ifdef __cplusplus
}
#endif
#endif /* OURO_INSPECT_H */
