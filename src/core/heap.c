/*
 * heap.c — heap lifecycle, settings, statistics, the heap checker, leak
 * reports, raw memory and scopes.
 *
 * A heap is one mapping from its page source: the ouro_heap structure (whose
 * first bytes hold the collector's list heads, arena index 0) followed by the
 * arena table.  Nothing is global except the type table (object.c).
 */
#include "internal.h"

#include <stdlib.h>

const char *ouro_version(void) { return OURO_VERSION_STRING; }
int ouro_version_number(void) { return OURO_VERSION_NUMBER; }

const char *ouro_strerror(int code)
{
    switch (code) {
    case OURO_OK: return "success";
    case OURO_ENOMEM: return "out of memory";
    case OURO_EINVAL: return "invalid argument";
    case OURO_ETYPE: return "operation not supported by the object's type";
    case OURO_EBUSY: return "not allowed while a collection runs";
    case OURO_ELEAK: return "live objects at heap free";
    case OURO_ELIMIT: return "internal table full";
    case OURO_ENOTFOUND: return "not found";
    case OURO_ERANGE: return "out of range";
    default: return "unknown error";
    }
}

OURO__HIDDEN void ouro__default_pages(ouro_page_source *ps);

static void stderr_sink(void *ctx, const char *text)
{
    (void)ctx;
    fputs(text, stderr);
}

void ouro_config_init(ouro_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    ouro__default_pages(&cfg->pages);
#ifdef OURO_DEBUG_REFS
    cfg->debug = OURO_DEBUG_CHECKS; /* a debug build checks by default */
#else
    cfg->debug = OURO_DEBUG_OFF;
#endif
    cfg->leak_policy = OURO_LEAKS_WARN;
    cfg->sink = stderr_sink;
    cfg->dealloc_depth = 50;
    cfg->decay_bytes = (uint64_t)256 << 20;
    cfg->decay_ms = 10000;
}

static size_t align_up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

/* OURO_DEBUG=0|1|2 (or off|checks|full): the debug level a heap gets at
 * least, so that a program can be checked without changing it.  Only the
 * core's own variable is read here; the profiling layer's (OURO_TRACEMALLOC,
 * OURO_REPORT) are applied by the hook it installs (hooks.c). */
static int env_debug(void)
{
    const char *v = getenv("OURO_DEBUG");
    if (!v || !*v)
        return OURO_DEBUG_OFF;
    if (strcmp(v, "full") == 0 || strcmp(v, "2") == 0)
        return OURO_DEBUG_FULL;
    if (strcmp(v, "checks") == 0 || strcmp(v, "1") == 0)
        return OURO_DEBUG_CHECKS;
    return OURO_DEBUG_OFF;
}

ouro_heap *ouro_heap_new(const ouro_config *cfg)
{
    ouro_config c;
    ouro_config_init(&c);
    if (cfg) {
        size_t n = cfg->struct_size && cfg->struct_size < sizeof c ? cfg->struct_size : sizeof c;
        memcpy(&c, cfg, n);
        c.struct_size = sizeof c;
        if (!c.pages.alloc || !c.pages.free)
            ouro__default_pages(&c.pages);
        if (!c.sink)
            c.sink = stderr_sink;
        if (!c.dealloc_depth)
            c.dealloc_depth = 50;
    }
    size_t off_base = align_up(sizeof(ouro_heap), 64);
    size_t off_arenas = off_base + OURO__MAX_ARENAS * sizeof(uint8_t *);
    size_t off_free = off_arenas + OURO__MAX_ARENAS * sizeof(ouro__arena);
    size_t total = align_up(off_free + OURO__MAX_ARENAS * sizeof(uint32_t), 4096);

    /* The heap's own mapping counts as page request number 1 for fault
     * injection, so "fail the first page request" fails heap creation. */
    uint64_t requests = 1;
    if (c.fail_page_at && (requests == c.fail_page_at))
        return NULL;
    uint8_t *mem = c.pages.alloc(c.pages.ctx, total);
    if (!mem)
        return NULL;
    if ((uintptr_t)mem & (OURO__POOL_SIZE - 1)) {
        c.pages.free(c.pages.ctx, mem, total);
        return NULL;
    }
    ouro_heap *h = (ouro_heap *)mem;
    memset(h, 0, sizeof *h);
    if (c.debug < env_debug())
        c.debug = env_debug();
    h->cfg = c;
    ouro__trace_fields_off(h);
    h->page_requests = requests;
    h->map_size = total;
    h->slot_base = (uint8_t **)(mem + off_base);
    h->arenas = (ouro__arena *)(mem + off_arenas);
    h->slot_free = (uint32_t *)(mem + off_free);
    h->slot_base[0] = mem; /* index 0: the list heads */
    h->slot_top = 1;
    h->st.struct_size = sizeof h->st;
    h->st.mapped_bytes = h->st.peak_mapped_bytes = total;
    h->userdata = c.userdata;
    ouro__pool_init(h);
    ouro__gc_init(h);
    ouro__heap_hooks_run(h);
    return h;
}

void *ouro_heap_userdata(ouro_heap *h) { return h->userdata; }
void ouro_heap_set_userdata(ouro_heap *h, void *u) { h->userdata = u; }
int ouro_heap_last_error(const ouro_heap *h) { return h ? h->last_error : OURO_EINVAL; }

/* ------------------------------------------------------------ leaks */

typedef struct leak_state {
    ouro_heap *h;
    size_t count;
    size_t listed;
} leak_state;

static int leak_visit(ouro_object *o, void *arg)
{
    leak_state *ls = arg;
    if (ouro_is_immortal(o))
        return 0;
    ls->count++;
    if (ls->listed < 50) {
        ls->listed++;
        ouro__report(ls->h, "ouro: leak: %s object at %p, refcount %u\n", ouro_type_name(o),
                     (void *)o, o->refcnt);
    }
    return 0;
}

static int count_visit(ouro_object *o, void *arg)
{
    if (!ouro_is_immortal(o))
        (*(size_t *)arg)++;
    return 0;
}

/* ------------------------------------------------------------ teardown */

/*
 * The last step of ouro_heap_free, once the leak reports have seen what is
 * left: every object still alive gets its clear hook, then its dealloc hook,
 * so that what it holds outside the heap (file handles, buffers) is
 * released.  Objects alive at this point may refer to each other in any
 * shape (cycles, containers, long chains) and to nothing but each other, so
 * the usual way out, counts dropping to zero one object at a time, would
 * either miss objects held by a cycle or reach objects already torn down.
 * Instead reference counting is switched off: first every object is made
 * immortal, which turns every reference drop a clear hook makes into a
 * no-op; then every clear hook runs, then every dealloc hook, in address
 * order, three walks over the pools.  No object is freed and no raw block
 * either (ouro_raw_free does nothing during teardown; pool_fini unmaps it
 * all), so the pools do not change under the walks and no hook can reach
 * a block that is gone; each hook runs exactly once because each object is
 * visited once per walk.  Nothing else runs: finalizers and weak-reference
 * callbacks run only when an object dies, and nothing dies here (a weak
 * reference's own clear hook unlinks it from its referent, silently).
 * Allocation fails with OURO_EBUSY, and collections are refused.  Cost:
 * three sequential walks, O(objects), and no memory.
 */
static int teardown_immortal(ouro_object *o, void *arg)
{
    (void)arg;
    o->refcnt = OURO_IMMORTAL_REFCNT;
    return 0;
}

static int teardown_clear(ouro_object *o, void *arg)
{
    ouro_type *t = ouro__type(o);
    if (t->clear)
        t->clear((ouro_heap *)arg, o);
    return 0;
}

static int teardown_dealloc(ouro_object *o, void *arg)
{
    ouro_type *t = ouro__type(o);
    if (t->dealloc)
        t->dealloc((ouro_heap *)arg, o);
    return 0;
}

static void heap_teardown(ouro_heap *h)
{
    h->teardown = true;
    h->collecting = true;             /* ouro_gc_collect returns 0 */
    h->cfg.fail_alloc_at = UINT64_MAX; /* every allocation asks ouro__alloc_fails */
    h->slow_free = true;              /* every raw free reaches raw_free_slow */
    ouro_heap_walk(h, teardown_immortal, NULL);
    ouro_heap_walk(h, teardown_clear, h);
    ouro_heap_walk(h, teardown_dealloc, h);
}

int ouro_heap_free(ouro_heap *h)
{
    if (!h)
        return 0;
    /* The layer above first: weakref.finalize(atexit=True) objects run,
     * newest first, and the registry lets go of the others, before the
     * leak reports, since what the registry held (finalize objects, their
     * weak references, their arguments) is not the user's leak. */
    if (h->types_hooks)
        h->types_hooks->heap_free(h);
    h->freeing = true;
    /* Drop what the heap itself holds: scopes and the garbage list. */
    while (h->scope.len)
        ouro_decref(h->scope.items[--h->scope.len]);
    ouro_gc_garbage_clear(h);
    /* Allocation tracing reports leaks by site, then stops: it sees the
     * same objects as the report below. */
    if (h->tracer && h->tracer->on_heap_free)
        h->tracer->on_heap_free(h);
    int result = 0;
    size_t leaked = 0;
    if (h->cfg.leak_policy != OURO_LEAKS_IGNORE) {
        leak_state ls = {h, 0, 0};
        ouro_heap_walk(h, leak_visit, &ls);
        leaked = ls.count;
        if (leaked) {
            if (ls.listed < leaked)
                ouro__report(h, "ouro: leak: ... and %zu more\n", leaked - ls.listed);
            ouro__report(h, "ouro: leak: %zu object%s alive at ouro_heap_free\n", leaked,
                         leaked == 1 ? "" : "s");
        }
    } else {
        ouro_heap_walk(h, count_visit, &leaked);
    }
    result = h->cfg.leak_policy == OURO_LEAKS_FAIL && leaked ? OURO_ELEAK : (int)(leaked > 0x7fffffff ? 0x7fffffff : leaked);
    heap_teardown(h);
    ouro__gc_fini(h);
    ouro__weak_fini(h);
    free(h->scope.items);
    free(h->garbage.items);
    free(h->callbacks);
    ouro__pool_fini(h);
    ouro_page_source ps = h->cfg.pages;
    size_t size = h->map_size;
    ps.free(ps.ctx, h, size);
    return result;
}

/* ------------------------------------------------------------ statistics */

int ouro_heap_get_stats(ouro_heap *h, ouro_heap_stats *out)
{
    if (!h || !out || out->struct_size == 0)
        return OURO_EINVAL;
    ouro__stats_sync(h, out->struct_size > offsetof(ouro_heap_stats, class_blocks));
    ouro_heap_stats s = h->st;
    s.num_classes = OURO_NUM_CLASSES;
    OURO__HIDDEN size_t ouro__class_size(int c);
    for (int c = 0; c < OURO_NUM_CLASSES; c++)
        s.class_size[c] = ouro__class_size(c);
    size_t n = out->struct_size < sizeof s ? out->struct_size : sizeof s;
    s.struct_size = n;
    memcpy(out, &s, n);
    return 0;
}

size_t ouro_heap_stats_text(ouro_heap *h, char *buf, size_t size)
{
    ouro_heap_stats s;
    s.struct_size = sizeof s;
    ouro_heap_get_stats(h, &s);
    char tmp[8192];
    size_t n = 0;
#define OUT(...) n += (size_t)snprintf(tmp + n, n < sizeof tmp ? sizeof tmp - n : 0, __VA_ARGS__)
    OUT("bytes in use      %zu (peak %zu)\n", s.bytes_in_use, s.peak_bytes_in_use);
    OUT("objects           %zu\n", s.objects);
    OUT("arenas            %zu held, %zu peak, %zu allocated, %zu released\n", s.arenas,
        s.peak_arenas, s.arenas_allocated, s.arenas_released);
    OUT("large blocks      %zu (%zu bytes)\n", s.large_blocks, s.large_bytes);
    OUT("mapped            %zu bytes (peak %zu)\n", s.mapped_bytes, s.peak_mapped_bytes);
    OUT("class  size  blocks  pools\n");
    for (unsigned c = 0; c < s.num_classes; c++) {
        if (s.class_blocks[c] || s.class_pools[c])
            OUT("%5u %5zu %7zu %6zu\n", c, s.class_size[c], s.class_blocks[c], s.class_pools[c]);
    }
#undef OUT
    if (size) {
        size_t k = n < size - 1 ? n : size - 1;
        if (k > sizeof tmp - 1)
            k = sizeof tmp - 1;
        memcpy(buf, tmp, k);
        buf[k] = 0;
    }
    return n;
}

/* ------------------------------------------------------------ walk, check */

typedef struct walk_state {
    ouro_visit_fn fn;
    void *arg;
} walk_state;

static int walk_visit(void *block, void *arg)
{
    walk_state *ws = arg;
    ouro_object *o = block;
    if (!(o->flags & OURO__F_OBJECT))
        return 0;
    return ws->fn(o, ws->arg);
}

int ouro_heap_walk(ouro_heap *h, ouro_visit_fn visit, void *arg)
{
    if (!h || !visit)
        return OURO_EINVAL;
    walk_state ws = {visit, arg};
    return ouro__pool_walk(h, false, walk_visit, &ws);
}

typedef struct check_state {
    ouro_heap *h;
    size_t objects;
    size_t tracked;
    size_t weak_flagged;
    int bad;
} check_state;

static int check_visit(ouro_object *o, void *arg)
{
    check_state *cs = arg;
    ouro_heap *h = cs->h;
    cs->objects++;
    if (o->type_id == 0 || !ouro__type_by_id(o->type_id)) {
        ouro__report(h, "ouro_heap_check: object %p: bad type id %u\n", (void *)o, o->type_id);
        cs->bad = 1;
        return 1;
    }
    ouro_type *t = ouro__type(o);
    /* A count of zero is legal only for an object being deallocated (a
     * check run from a finalizer or callback can meet one). */
    if ((o->refcnt == 0 && !(o->flags & OURO__F_DEALLOC)) || o->refcnt == OURO__FREED_REFCNT ||
        (o->flags & OURO__F_FREED)) {
        ouro__report(h, "ouro_heap_check: %s object %p: refcount %u\n", t->name, (void *)o,
                     o->refcnt);
        cs->bad = 1;
        return 1;
    }
    if (!h->collecting && (o->flags & (OURO__F_COLLECTING | OURO__F_UNREACHABLE))) {
        ouro__report(h, "ouro_heap_check: %s object %p: collector flags outside a collection\n",
                     t->name, (void *)o);
        cs->bad = 1;
        return 1;
    }
    if (o->gc_next) {
        cs->tracked++;
        if (!(t->flags & OURO_TYPE_GC)) {
            ouro__report(h, "ouro_heap_check: %s object %p: tracked but not a GC type\n",
                         t->name, (void *)o);
            cs->bad = 1;
            return 1;
        }
        ouro_object *next = ouro__obj_of(h, o->gc_next);
        if (!h->collecting && ouro__obj_of(h, next->gc_prev) != o) {
            ouro__report(h, "ouro_heap_check: %s object %p: broken collector list\n", t->name,
                         (void *)o);
            cs->bad = 1;
            return 1;
        }
    }
    if (o->flags & OURO__F_HASWEAK) {
        cs->weak_flagged++;
        if (!ouro__weak_head(h, o)) {
            ouro__report(h, "ouro_heap_check: %s object %p: weak flag without weak list\n",
                         t->name, (void *)o);
            cs->bad = 1;
            return 1;
        }
    }
    return 0;
}

OURO__HIDDEN size_t ouro__weak_table_count(ouro_heap *h);

int ouro_heap_check(ouro_heap *h)
{
    if (!h)
        return OURO_EINVAL;
    int rc = ouro__pool_check(h);
    if (rc < 0)
        return rc;
    check_state cs = {h, 0, 0, 0, 0};
    ouro_heap_walk(h, check_visit, &cs);
    if (cs.bad)
        return OURO_EINVAL;
    if (cs.objects != ouro__live_objects(h)) {
        ouro__report(h, "ouro_heap_check: %zu objects found, stats say %zu\n", cs.objects,
                     ouro__live_objects(h));
        return OURO_EINVAL;
    }
    if (cs.weak_flagged != ouro__weak_table_count(h)) {
        ouro__report(h, "ouro_heap_check: %zu objects flagged with weak lists, table has %zu\n",
                     cs.weak_flagged, ouro__weak_table_count(h));
        return OURO_EINVAL;
    }
    rc = ouro__gc_check(h);
    if (rc < 0)
        return rc;
    size_t listed = 0;
    for (int i = OURO__LIST_GEN0; i <= OURO__LIST_PERMANENT; i++)
        listed += ouro__list_size(h, &h->lists[i]);
    if (!h->collecting && listed != cs.tracked) {
        ouro__report(h, "ouro_heap_check: %zu tracked objects, %zu on generation lists\n",
                     cs.tracked, listed);
        return OURO_EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------ raw memory */


/* Everything but the common case: fault injection, tracing, large blocks,
 * a class without a free block.  Out of line, so that the common case is a
 * leaf function that saves no registers. */
static __attribute__((noinline)) void *raw_alloc_slow(ouro_heap *h, size_t size, const char *file,
                                                      int line, const char *func)
{
    if (ouro__alloc_fails(h))
        return NULL;
    void *p = ouro__block_alloc_fast(h, size ? size : 1, 1);
    if (!p)
        h->last_error = OURO_ENOMEM;
    else if (OURO__UNLIKELY(h->tracer != NULL))
        return ouro__trace_alloc(h, p, 1, file, line, func);
    return p;
}

void *ouro_raw_alloc_at(ouro_heap *h, size_t size, const char *file, int line, const char *func)
{
    if (!h)
        return NULL;
    if (OURO__LIKELY(h->cfg.fail_alloc_at == 0)) {
        void *p = ouro__block_alloc_try(h, size, 1);
        if (OURO__LIKELY(p != NULL)) {
            return ouro__trace_alloc(h, p, 1, file, line, func);
        }
    }
    return raw_alloc_slow(h, size, file, line, func);
}

#undef ouro_raw_alloc
void *ouro_raw_alloc(ouro_heap *h, size_t size)
{
    return ouro_raw_alloc_at(h, size, NULL, 0, NULL);
}

static __attribute__((noinline)) void raw_free_slow(ouro_heap *h, void *p)
{
    if (OURO__UNLIKELY(h->teardown))
        return; /* the pools must not change under the teardown's walks */
    ouro__chunk *ch = (ouro__chunk *)ouro__pool_of(p);
    if (h->cfg.debug >= OURO_DEBUG_CHECKS) {
        OURO__HIDDEN bool ouro__block_is_free(void *p);
        if (ch->heap != h) {
            fprintf(stderr, "ouro: fatal: raw block %p freed with heap %p, belongs to heap %p "
                            "(wrong heap)\n", p, (void *)h, (void *)ch->heap);
            abort();
        }
        if (ouro__block_is_free(p)) {
            fprintf(stderr, "ouro: fatal: raw block %p freed twice (double free)\n", p);
            abort();
        }
    }
    if (OURO__UNLIKELY(h->tracer != NULL))
        ouro__trace_free(h, p, 1);
    ouro__block_free_fast(h, p);
}

void ouro_raw_free(ouro_heap *h, void *p)
{
    if (!p)
        return;
    /* No debug checks, not every block traced, and the block's pool holds
     * no sample (see slow_free): the pool fast path. */
    if (OURO__LIKELY(!h->slow_free) && OURO__LIKELY(ouro__block_free_try(h, p)))
        return;
    raw_free_slow(h, p);
}

void *ouro_raw_realloc_at(ouro_heap *h, void *p, size_t size, const char *file, int line,
                          const char *func)
{
    if (!p)
        return ouro_raw_alloc_at(h, size, file, line, func);
    size_t old = ouro__block_size(p);
    if (size <= old && size > old / 2)
        return p;
    void *q = ouro_raw_alloc_at(h, size, file, line, func);
    if (!q)
        return NULL; /* the old block is untouched */
    memcpy(q, p, old < size ? old : size);
    ouro_raw_free(h, p);
    return q;
}

#undef ouro_raw_realloc
void *ouro_raw_realloc(ouro_heap *h, void *p, size_t size)
{
    return ouro_raw_realloc_at(h, p, size, NULL, 0, NULL);
}

/* ------------------------------------------------------------ scopes */

int ouro__vec_push(ouro__vec *v, ouro_object *o)
{
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        ouro_object **items = realloc(v->items, cap * sizeof *items);
        if (!items)
            return OURO_ENOMEM;
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = o;
    return 0;
}

ouro_scope ouro_scope_begin(ouro_heap *h)
{
    ouro_scope s = {h, h->scope.len};
    return s;
}

ouro_object *ouro_scope_add(ouro_heap *h, ouro_object *o)
{
    if (!o)
        return NULL;
    if (h->cfg.debug >= OURO_DEBUG_CHECKS && ouro__heap_of(o) != h)
        ouro__fatal(o, "object used with a heap it does not belong to (wrong heap)");
    if (ouro__vec_push(&h->scope, o) < 0) {
        ouro_decref(o);
        h->last_error = OURO_ENOMEM;
        return NULL;
    }
    return o;
}

void ouro_scope_end(ouro_scope *s)
{
    ouro_heap *h = s->heap;
    while (h->scope.len > s->mark) {
        ouro_object *o = h->scope.items[--h->scope.len];
        ouro_decref(o);
    }
}
