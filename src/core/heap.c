/*
 * heap.c — heap lifecycle and settings: configuration, creation, and the
 * teardown with its leak report.  Statistics are in stats.c, the heap
 * checker in check.c, raw memory in raw.c, scopes in scope.c.
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
    case OURO_ENOTSUP: return "not supported by this kind of heap";
    case OURO_ETHREAD: return "the calling thread is not attached to the shared heap";
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
    ouro__alloc_slow_update(h);
    h->owner = pthread_self(); /* the creating thread owns the heap */
    h->owned = true;
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
    h->ta0.heap = h;
    h->ta0.state = OURO__TS_ATTACHED;
    h->tallocs[0] = &h->ta0;
    if (c.shared)
        ouro__shared_init(h);
    ouro__pool_init(h);
    ouro__gc_init(h);
    if (h->shared) {
        for (uint32_t i = 0; i < OURO__MAX_THREADS; i++)
            ouro__list_init(h, &h->young[i].head);
        /* The adaptive stop-the-world schedule by default: the
         * incremental one is available (ouro_gc_set_schedule), but each
         * of its many small young collections and increments stops every
         * thread (docs/design.md §10). */
        ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_ADAPTIVE);
    }
    ouro__heap_hooks_run(h);
    return h;
}

void *ouro_heap_userdata(ouro_heap *h) { return h ? h->userdata : NULL; }
void ouro_heap_set_userdata(ouro_heap *h, void *u)
{
    if (h)
        h->userdata = u;
}
int ouro_heap_last_error(const ouro_heap *h)
{
    if (!h)
        return OURO_EINVAL;
    if (h->shared) /* per thread */
        return ouro__shared_last_error((ouro_heap *)h);
    return h->last_error;
}
void ouro__set_error(ouro_heap *h, int code)
{
    if (h->shared) {
        ouro__talloc *ta = ouro__shared_self(h);
        if (ta)
            ta->last_error = code;
    } else {
        h->last_error = code;
    }
}

void ouro_heap_clear_error(ouro_heap *h)
{
    if (h && h->shared)
        ouro__shared_clear_error(h);
    else if (h)
        h->last_error = 0;
}

/* ------------------------------------------------------------ ownership */

int ouro_heap_set_owner(ouro_heap *h)
{
    if (!h)
        return OURO_EINVAL;
    h->owner = pthread_self();
    __atomic_store_n(&h->owned, true, __ATOMIC_RELEASE);
    return 0;
}

int ouro_heap_disown(ouro_heap *h)
{
    if (!h)
        return OURO_EINVAL;
    ouro__check_owner(h);
    __atomic_store_n(&h->owned, false, __ATOMIC_RELEASE);
    return 0;
}

/* A debug heap used by a thread that is not its owner: an unowned heap
 * (ouro_heap_disown) is taken by this thread, anything else is fatal.
 * The message says which thread owns the heap and which used it, because
 * the crash that follows a race is far from both. */
void ouro__owner_slow(ouro_heap *h)
{
    if (h->shared) {
        /* A shared heap has no owner: any attached thread may use it. */
        if (!ouro__shared_self(h))
            ouro__fatalf(h, "shared heap %p used from thread %#lx, which is not attached to it "
                         "(ouro_thread_attach first)", (void *)h, (unsigned long)pthread_self());
        return;
    }
    pthread_t self = pthread_self();
    bool expected = false;
    if (!__atomic_load_n(&h->owned, __ATOMIC_ACQUIRE) &&
        __atomic_compare_exchange_n(&h->owned, &expected, true, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        h->owner = self;
        return;
    }
    if (pthread_equal(h->owner, self))
        return;
    fprintf(stderr,
            "ouro: fatal: heap %p is owned by thread %#lx, used from %#lx (a heap is used by "
            "one thread at a time; hand it over with ouro_heap_set_owner)\n",
            (void *)h, (unsigned long)h->owner, (unsigned long)self);
    fflush(stderr);
    abort();
}

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
                     (void *)o, ouro_refcount(o));
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
    ouro__alloc_slow_update(h);       /* ... on the fast paths too */
    h->slow_free = true;              /* every raw free reaches raw_free_slow */
    ouro_heap_walk(h, teardown_immortal, NULL);
    ouro_heap_walk(h, teardown_clear, h);
    ouro_heap_walk(h, teardown_dealloc, h);
}

int ouro_heap_free(ouro_heap *h)
{
    if (!h)
        return 0;
    ouro__check_owner(h);
    if (h->shared) {
        int rc = ouro__shared_free_begin(h);
        if (rc < 0)
            return rc;
    }
    /* The layer above first: weakref.finalize(atexit=True) objects run,
     * newest first, and the registry lets go of the others, before the
     * leak reports, since what the registry held (finalize objects, their
     * weak references, their arguments) is not the user's leak. */
    if (h->types_hooks)
        h->types_hooks->heap_free(h);
    ouro__inc_abandon(h); /* its objects back on the generations */
    ouro__inc_release(h); /* every side table unmapped */
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
    ouro__weak_fini(h);
    free(h->scope.items);
    free(h->garbage.items);
    free(h->callbacks);
    if (h->shared)
        ouro__shared_fini(h);
    ouro__pool_fini(h);
    ouro_page_source ps = h->cfg.pages;
    size_t size = h->map_size;
    ps.free(ps.ctx, h, size);
    return result;
}
