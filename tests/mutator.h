/*
 * mutator.h — a randomized mutator for the incremental cycle collector
 * (ouro_gc_step), shared by tests/test_incremental.c (seeded PRNG) and
 * tests/fuzz/fuzz_incremental.c (libFuzzer bytes).  Static functions only.
 *
 * The program under test is a graph of `mnode`s (MUT_K reference slots
 * each) held from MUT_ROOTS root slots (strong references the test holds),
 * plus weak references with callbacks held by the test.  The operations
 * mutate the graph between increments of a cycle, including moving a
 * reference from one slot to another with no count changing (the classic
 * lost-object scenario of incremental collectors).
 *
 * The model.  Every node has an id (stored in the node, and the index of
 * the test-side arrays); the test records its finalizer calls and its death
 * (dealloc hook), and keeps a pointer -> id table of the live nodes, so that
 * the graph is walked over the real objects' slots without ever reading a
 * freed one: a slot holding a pointer that is not a live node's is a
 * reachable object freed.
 *
 * The checks (any violation calls MUT_ABORT with a description, the seed,
 * the operation number and the last operations):
 *   - ouro_heap_check() == 0 after every operation;
 *   - nothing reachable from the roots has died (BFS after every
 *     operation, and at every cycle boundary);
 *   - completeness: the set G of nodes alive but unreachable when a cycle
 *     starts (seen through gc callbacks: an increment's "start" with phase
 *     0, or a young collection's "stop" with phase 0 under the incremental
 *     schedule, which starts cycles silently after it) must be dead when
 *     that cycle ends (an increment's "stop" after which the generation-2
 *     collection count grew), except the nodes reachable, at the time, from
 *     a node handed back to the program (a weak reference's get, or a
 *     finalizer's resurrection);
 *   - after ouro_gc_collect(h, 2): every node alive is reachable;
 *   - PEP 442: a finalizer runs at most once per node;
 *   - weak references: a callback runs at most once, only for a referent
 *     that died or that a finalizer's resurrection in the same operation
 *     brought back (CPython clears the weak references to all the trash
 *     before finalizers run); a dead referent's weak reference had its
 *     callback and peeks NULL; a live one's with no callback peeks it;
 *   - ouro_gc_step's result agrees with ouro_gc_cycle_phase.
 */
#ifndef OURO_TEST_MUTATOR_H
#define OURO_TEST_MUTATOR_H

#include "ouro.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef MUT_ABORT
#define MUT_ABORT(msg)                                                     \
    do {                                                                   \
        fprintf(stderr, "%s\n", (msg));                                    \
        abort();                                                           \
    } while (0)
#endif

#define MUT_K 4
#define MUT_ROOTS 64
#define MUT_WEAKS 32
#define MUT_LOG 24

typedef struct mnode {
    OURO_HEAD;
    ouro_object *slot[MUT_K];
    uint32_t id;
    uint32_t resurrect; /* the finalizer stores it into a free root slot */
} mnode;

typedef struct mut_weak {
    ouro_object *wr;   /* held by the test, or NULL */
    uint32_t target;   /* node id */
    int calls;         /* callback calls, ever */
    int calls_op;      /* in the current operation */
} mut_weak;

/* Operation weights (relative). */
enum {
    MOP_NEW,
    MOP_RING,
    MOP_CHAIN,
    MOP_STORE,
    MOP_STORE_ROOT,
    MOP_CLEAR_SLOT,
    MOP_DROP_ROOT,
    MOP_STEAL,        /* slot -> slot, no count change */
    MOP_STEAL_TO_ROOT,
    MOP_STEAL_FROM_ROOT,
    MOP_WEAK_NEW,
    MOP_WEAK_GET,
    MOP_WEAK_DROP,
    MOP_COLLECT,
    MOP_STEP,
    MOP_STEP_BIG,     /* steps until the cycle ends (bounded) */
    MOP_COUNT
};

typedef struct mut_profile {
    int w[MOP_COUNT];
    int resurrect_pct; /* of new nodes, with the finalizer type */
    int plain_pct;     /* of new nodes, of the type without finalizer */
    int max_ring;      /* rings and chains: 1..max_ring nodes */
    int roots;         /* root slots used (<= MUT_ROOTS) */
} mut_profile;

typedef struct mut {
    ouro_heap *h;
    /* randomness: PRNG, or bytes (fuzzer) */
    uint64_t rng;
    const uint8_t *data;
    size_t size, pos;
    int exhausted;
    uint64_t seed;
    mut_profile p;
    /* model */
    uint32_t n, cap;          /* node ids used, capacity */
    mnode **ptr;              /* live node by id (NULL once dead) */
    unsigned char *dead;
    unsigned char *fin;       /* finalizer calls */
    ouro_object *roots[MUT_ROOTS];
    mut_weak weak[MUT_WEAKS];
    /* pointer -> id of live nodes (open addressing, linear probing) */
    uintptr_t *mkey;
    uint32_t *mval;
    size_t mmask;
    /* BFS scratch */
    uint32_t *stamp, epoch;
    uint32_t *queue;
    uint32_t *reach;          /* reachable from the roots after the last op */
    uint32_t nreach;
    uint32_t reach_epoch;     /* the marks of that walk */
    /* cycle tracking */
    unsigned char *inG, *inC; /* garbage at the cycle's start; candidate */
    uint32_t *G, nG, *C, nC;
    int active;               /* a cycle is in progress and G describes it */
    int cand_valid;
    int cand_inc;             /* the candidate was taken at an increment start */
    size_t gen2_before;       /* generation-2 collections at an increment start */
    uint32_t *res;            /* nodes resurrected in this operation */
    uint32_t nres;
    int in_cb;
    int lite;                 /* no per-operation walk (big graphs) */
    int schedule_incr;        /* young collections may start cycles */
    /* statistics */
    unsigned long ops, steps, cycles, cycles_nonempty, verified, handbacks,
        resurrections, collects, moves, callbacks, abandoned, exempted;
    /* log of the last operations */
    char log[MUT_LOG][96];
    unsigned long opno;
    char failbuf[4096];
} mut;

/* ------------------------------------------------------------ failure */

static void mut_fail(mut *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mut_fail(mut *m, const char *fmt, ...)
{
    char *b = m->failbuf;
    size_t sz = sizeof m->failbuf, len = 0;
    va_list ap;
    len += (size_t)snprintf(b + len, sz - len, "mutator violation: ");
    va_start(ap, fmt);
    len += (size_t)vsnprintf(b + len, sz - len, fmt, ap);
    va_end(ap);
    if (len < sz)
        len += (size_t)snprintf(b + len, sz - len,
                                "\n  seed %llu, operation #%lu, phase %d, nodes %u; last operations:",
                                (unsigned long long)m->seed, m->opno,
                                ouro_gc_cycle_phase(m->h), m->n);
    unsigned long first = m->opno >= MUT_LOG ? m->opno - MUT_LOG + 1 : 0;
    for (unsigned long i = first; i <= m->opno && len < sz; i++)
        len += (size_t)snprintf(b + len, sz - len, "\n    #%lu %s", i, m->log[i % MUT_LOG]);
    MUT_ABORT(m->failbuf);
}

static void mut_logf(mut *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mut_logf(mut *m, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->log[m->opno % MUT_LOG], sizeof m->log[0], fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ randomness */

static uint64_t mut_next64(mut *m)
{
    /* xorshift64* */
    uint64_t x = m->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* A number in [0, n), n >= 1. */
static uint32_t mut_rand(mut *m, uint32_t n)
{
    if (n <= 1)
        return 0;
    if (!m->data)
        return (uint32_t)((mut_next64(m) >> 11) % n);
    uint32_t v = 0;
    int bytes = n <= 256 ? 1 : n <= 65536 ? 2 : 3;
    for (int i = 0; i < bytes; i++) {
        if (m->pos >= m->size) {
            m->exhausted = 1;
            return 0;
        }
        v = (v << 8) | m->data[m->pos++];
    }
    return v % n;
}

/* ------------------------------------------------------------ id table */

static size_t mut_hash(uintptr_t k) { return (size_t)((k >> 4) * 0x9E3779B97F4A7C15ULL); }

static void mut_map_put(mut *m, void *p, uint32_t id)
{
    size_t i = mut_hash((uintptr_t)p) & m->mmask;
    while (m->mkey[i])
        i = (i + 1) & m->mmask;
    m->mkey[i] = (uintptr_t)p;
    m->mval[i] = id;
}

/* The id of the live node at p, or UINT32_MAX. */
static uint32_t mut_map_get(const mut *m, const void *p)
{
    size_t i = mut_hash((uintptr_t)p) & m->mmask;
    while (m->mkey[i]) {
        if (m->mkey[i] == (uintptr_t)p)
            return m->mval[i];
        i = (i + 1) & m->mmask;
    }
    return UINT32_MAX;
}

static void mut_map_del(mut *m, const void *p)
{
    size_t i = mut_hash((uintptr_t)p) & m->mmask;
    while (m->mkey[i] && m->mkey[i] != (uintptr_t)p)
        i = (i + 1) & m->mmask;
    if (!m->mkey[i])
        return;
    m->mkey[i] = 0;
    /* backward-shift deletion */
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mmask;
        if (!m->mkey[j])
            break;
        size_t home = mut_hash(m->mkey[j]) & m->mmask;
        /* move j to i if home is not cyclically in (i, j] */
        if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
            m->mkey[i] = m->mkey[j];
            m->mval[i] = m->mval[j];
            m->mkey[j] = 0;
            i = j;
        }
    }
}

/* The node id of a reference found in a slot or root, failing when it is
 * not a live node (a reachable object was freed). */
static uint32_t mut_id_of(mut *m, const ouro_object *o, const char *where)
{
    uint32_t id = mut_map_get(m, o);
    if (id == UINT32_MAX || id >= m->n || m->dead[id] || (const void *)m->ptr[id] != (const void *)o)
        mut_fail(m, "%s: reachable reference %p is not a live node (freed while reachable)",
                 where, (const void *)o);
    return id;
}

/* ------------------------------------------------------------ hooks */

static int mnode_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    mnode *n = (mnode *)self;
    for (int i = 0; i < MUT_K; i++)
        if (n->slot[i] && visit(n->slot[i], arg))
            return 1;
    return 0;
}

static void mnode_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    mnode *n = (mnode *)self;
    for (int i = 0; i < MUT_K; i++)
        ouro_clear(&n->slot[i]);
}

static void mnode_dealloc(ouro_heap *h, ouro_object *self)
{
    mut *m = ouro_heap_userdata(h);
    mnode *n = (mnode *)self;
    if (!m)
        return;
    uint32_t id = n->id;
    if (id >= m->n || m->ptr[id] != n)
        mut_fail(m, "dealloc of node %u at %p that the model does not know", id, (void *)n);
    if (m->dead[id])
        mut_fail(m, "node %u deallocated twice", id);
    m->dead[id] = 1;
    m->ptr[id] = NULL;
    mut_map_del(m, n);
}

static void mnode_finalize(ouro_heap *h, ouro_object *self)
{
    mut *m = ouro_heap_userdata(h);
    mnode *n = (mnode *)self;
    if (!m)
        return;
    uint32_t id = n->id;
    if (id >= m->n || m->ptr[id] != n || m->dead[id])
        mut_fail(m, "finalizer of node %u that the model does not know", id);
    if (++m->fin[id] > 1)
        mut_fail(m, "finalizer of node %u ran twice (PEP 442: at most once)", id);
    if (!n->resurrect)
        return;
    for (int r = 0; r < m->p.roots; r++) {
        if (!m->roots[r]) {
            ouro_incref(self);
            m->roots[r] = self;
            m->res[m->nres++] = id; /* at most one finalizer call per node */
            m->resurrections++;
            return;
        }
    }
}

static ouro_type mnode_fin_type = {
    .name = "mnode",
    .basic_size = sizeof(mnode),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = mnode_traverse,
    .clear = mnode_clear,
    .finalize = mnode_finalize,
    .dealloc = mnode_dealloc,
};

static ouro_type mnode_plain_type = {
    .name = "mnode_plain",
    .basic_size = sizeof(mnode),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = mnode_traverse,
    .clear = mnode_clear,
    .dealloc = mnode_dealloc,
};

static void mut_weak_cb(ouro_heap *h, ouro_object *wr, void *arg)
{
    mut *m = ouro_heap_userdata(h);
    mut_weak *w = arg;
    if (!m)
        return;
    m->callbacks++;
    if (w->wr != wr)
        mut_fail(m, "weakref callback for %p with the record of %p", (void *)wr, (void *)w->wr);
    w->calls++;
    w->calls_op++;
    if (w->calls > 1)
        mut_fail(m, "weakref %d (to node %u): callback called %d times", (int)(w - m->weak),
                 w->target, w->calls);
}

/* ------------------------------------------------------------ walks */

/* BFS from the roots (and from `extra` when given, instead of the roots)
 * over the live nodes; marks with a new epoch; fills m->reach when
 * from_roots.  Returns the number of nodes reached. */
static uint32_t mut_walk(mut *m, const uint32_t *extra, uint32_t nextra, const char *why)
{
    uint32_t e = ++m->epoch, head = 0, tail = 0;
    if (!extra) {
        for (int r = 0; r < MUT_ROOTS; r++) {
            if (!m->roots[r])
                continue;
            uint32_t id = mut_id_of(m, m->roots[r], why);
            if (m->stamp[id] != e) {
                m->stamp[id] = e;
                m->queue[tail++] = id;
            }
        }
    } else {
        for (uint32_t i = 0; i < nextra; i++) {
            uint32_t id = extra[i];
            if (m->dead[id])
                continue; /* resurrected, then died again in the same operation */
            if (m->stamp[id] != e) {
                m->stamp[id] = e;
                m->queue[tail++] = id;
            }
        }
    }
    while (head < tail) {
        uint32_t id = m->queue[head++];
        mnode *n = m->ptr[id];
        for (int k = 0; k < MUT_K; k++) {
            if (!n->slot[k])
                continue;
            uint32_t c = mut_id_of(m, n->slot[k], why);
            if (m->stamp[c] != e) {
                m->stamp[c] = e;
                m->queue[tail++] = c;
            }
        }
    }
    if (!extra) {
        memcpy(m->reach, m->queue, tail * sizeof *m->reach);
        m->nreach = tail;
        m->reach_epoch = e;
    }
    return tail;
}

static void mut_set_clear(unsigned char *in, uint32_t *list, uint32_t *n)
{
    for (uint32_t i = 0; i < *n; i++)
        in[list[i]] = 0;
    *n = 0;
}

/* The candidate G: every live node not reachable from the roots now. */
static void mut_take_candidate(mut *m, int at_increment)
{
    mut_set_clear(m->inC, m->C, &m->nC);
    uint32_t e = (mut_walk(m, NULL, 0, "cycle start walk"), m->epoch);
    for (uint32_t id = 0; id < m->n; id++) {
        if (!m->dead[id] && m->stamp[id] != e) {
            m->inC[id] = 1;
            m->C[m->nC++] = id;
        }
    }
    m->cand_valid = 1;
    m->cand_inc = at_increment;
}

static void mut_adopt_candidate(mut *m)
{
    mut_set_clear(m->inG, m->G, &m->nG);
    if (m->cand_valid) {
        memcpy(m->G, m->C, m->nC * sizeof *m->G);
        m->nG = m->nC;
        for (uint32_t i = 0; i < m->nG; i++)
            m->inG[m->G[i]] = m->inC[m->G[i]];
    }
    m->active = 1;
    m->cand_valid = 0;
}

/* Handed back to the program: `ids` and everything reachable from them
 * are no longer garbage the current (or next) cycle must free. */
static void mut_exempt(mut *m, const uint32_t *ids, uint32_t nids)
{
    if (!nids)
        return;
    uint32_t k = mut_walk(m, ids, nids, "hand-back walk");
    for (uint32_t i = 0; i < k; i++) {
        uint32_t id = m->queue[i];
        if (m->inG[id])
            m->exempted++;
        m->inG[id] = 0;
        m->inC[id] = 0;
    }
}

static void mut_verify_cycle_end(mut *m)
{
    mut_exempt(m, m->res, m->nres);
    m->cycles++;
    uint32_t garbage = 0;
    for (uint32_t i = 0; i < m->nG; i++) {
        uint32_t id = m->G[i];
        if (!m->inG[id])
            continue;
        garbage++;
        if (!m->dead[id]) {
            /* Is it reachable now?  (Only through a hand-back the model
             * missed, which would be a bug of the test.) */
            uint32_t e = (mut_walk(m, NULL, 0, "cycle end walk"), m->epoch);
            mut_fail(m,
                     "node %u (finalized %d, resurrecting %u) was garbage when the cycle started "
                     "and is alive after the cycle ended (%s from the roots now); %u nodes were "
                     "garbage at the start",
                     id, m->fin[id], m->ptr[id]->resurrect,
                     m->stamp[id] == e ? "reachable" : "unreachable", m->nG);
        }
    }
    m->verified += garbage;
    if (garbage)
        m->cycles_nonempty++;
    mut_set_clear(m->inG, m->G, &m->nG);
    m->active = 0;
}

static void mut_gc_cb(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    mut *m = arg;
    int ph = ouro_gc_cycle_phase(h);
    int start = phase[0] == 's' && phase[1] == 't' && phase[2] == 'a';
    m->in_cb++;
    if (start) {
        if (info->increment) {
            ouro_gc_gen_stats st[OURO_GC_GENERATIONS];
            ouro_gc_get_stats(h, st);
            m->gen2_before = st[OURO_GC_GENERATIONS - 1].collections;
            if (ph == 0) {
                if (m->active)
                    mut_fail(m, "cycle ended without an increment ending it");
                mut_take_candidate(m, 1); /* this increment starts a cycle */
            } else if (!m->active) {
                mut_adopt_candidate(m); /* started silently after a young collection */
            }
        } else {
            if (ph == 0 && m->active) {
                m->active = 0; /* ouro_gc_collect abandoned the cycle */
                m->abandoned++;
                mut_set_clear(m->inG, m->G, &m->nG);
            } else if (ph != 0 && !m->active) {
                mut_adopt_candidate(m);
            }
        }
    } else {
        if (info->increment) {
            ouro_gc_gen_stats st[OURO_GC_GENERATIONS];
            ouro_gc_get_stats(h, st);
            int ended = st[OURO_GC_GENERATIONS - 1].collections != m->gen2_before;
            if (ended != (ph == 0))
                mut_fail(m, "increment: phase %d after it, but the cycle %s", ph,
                         ended ? "ended" : "did not end");
            if (ph != 0 && !m->active)
                mut_adopt_candidate(m);
            else if (ended) {
                if (!m->active)
                    mut_adopt_candidate(m); /* started and ended in one increment */
                mut_verify_cycle_end(m);
            }
        } else if (ph == 0 && m->schedule_incr && info->generation == 0) {
            /* the schedule may start a cycle right after this */
            mut_take_candidate(m, 0);
        } else if (ph != 0 && !m->active) {
            mut_adopt_candidate(m);
        }
    }
    m->in_cb--;
}

/* ------------------------------------------------------------ setup */

static void mut_init(mut *m, ouro_heap *h, uint32_t cap, const mut_profile *p, uint64_t seed,
                     const uint8_t *data, size_t size)
{
    memset(m, 0, sizeof *m);
    m->h = h;
    m->seed = seed;
    m->rng = seed * 0x9E3779B97F4A7C15ULL + 0x1234567ULL;
    if (!m->rng)
        m->rng = 1;
    for (int i = 0; i < 8; i++)
        mut_next64(m);
    m->data = data;
    m->size = size;
    m->p = *p;
    if (m->p.roots < 2 || m->p.roots > MUT_ROOTS)
        m->p.roots = MUT_ROOTS;
    if (m->p.max_ring < 1)
        m->p.max_ring = 1;
    m->cap = cap;
    m->ptr = calloc(cap, sizeof *m->ptr);
    m->dead = calloc(cap, 1);
    m->fin = calloc(cap, 1);
    m->stamp = calloc(cap, sizeof *m->stamp);
    m->queue = calloc(cap, sizeof *m->queue);
    m->reach = calloc(cap, sizeof *m->reach);
    m->inG = calloc(cap, 1);
    m->inC = calloc(cap, 1);
    m->G = calloc(cap, sizeof *m->G);
    m->C = calloc(cap, sizeof *m->C);
    m->res = calloc(cap, sizeof *m->res);
    size_t msz = 16;
    while (msz < (size_t)cap * 2)
        msz <<= 1;
    m->mkey = calloc(msz, sizeof *m->mkey);
    m->mval = calloc(msz, sizeof *m->mval);
    m->mmask = msz - 1;
    if (!m->ptr || !m->dead || !m->fin || !m->stamp || !m->queue || !m->reach || !m->inG ||
        !m->inC || !m->G || !m->C || !m->res || !m->mkey || !m->mval)
        MUT_ABORT("mutator: out of memory");
    m->schedule_incr = ouro_gc_get_schedule(h) == OURO_GC_SCHEDULE_INCREMENTAL;
    ouro_heap_set_userdata(h, m);
    ouro_gc_callback_add(h, mut_gc_cb, m);
}

static void mut_free(mut *m)
{
    free(m->ptr);
    free(m->dead);
    free(m->fin);
    free(m->stamp);
    free(m->queue);
    free(m->reach);
    free(m->inG);
    free(m->inC);
    free(m->G);
    free(m->C);
    free(m->res);
    free(m->mkey);
    free(m->mval);
    m->ptr = NULL;
}

/* ------------------------------------------------------------ operations */

/* A new node: a new reference (NULL when the model is full). */
static mnode *mut_new_node(mut *m)
{
    if (m->n >= m->cap)
        return NULL;
    int plain = (int)mut_rand(m, 100) < m->p.plain_pct;
    int res = !plain && (int)mut_rand(m, 100) < m->p.resurrect_pct;
    mnode *n = (mnode *)ouro_new(m->h, plain ? &mnode_plain_type : &mnode_fin_type);
    if (!n)
        mut_fail(m, "ouro_new failed: %d", ouro_heap_last_error(m->h));
    if (m->n >= m->cap) /* a gc callback cannot allocate ids, but be safe */
        mut_fail(m, "model full");
    uint32_t id = m->n++;
    n->id = id;
    n->resurrect = (uint32_t)res;
    m->ptr[id] = n;
    mut_map_put(m, n, id);
    return n;
}

/* Store the new reference `o` into root r, releasing the old one. */
static void mut_put_root(mut *m, int r, ouro_object *o)
{
    ouro_object *old = m->roots[r];
    m->roots[r] = o;
    if (old)
        ouro_decref(old);
}

static int mut_rand_root(mut *m) { return (int)mut_rand(m, (uint32_t)m->p.roots); }

/* A random node reachable from the roots (after the last walk), or NULL. */
static mnode *mut_rand_live(mut *m)
{
    if (!m->nreach)
        return NULL;
    uint32_t id = m->reach[mut_rand(m, m->nreach)];
    if (m->dead[id])
        return NULL; /* the walk is refreshed after every operation */
    return m->ptr[id];
}

/* A ring (ring=1) or a chain of len nodes, its head into root r. */
static void mut_build(mut *m, int r, uint32_t len, int ring)
{
    mnode *head = mut_new_node(m);
    if (!head)
        return;
    mut_put_root(m, r, &head->ob_base);
    mnode *prev = head;
    for (uint32_t i = 1; i < len; i++) {
        /* prev is held through the root: head -> ... -> prev */
        mnode *n = mut_new_node(m);
        if (!n)
            break;
        int k = (int)mut_rand(m, MUT_K);
        ouro_setref(&prev->slot[k], &n->ob_base); /* may release a node: fine */
        ouro_decref(&n->ob_base);
        prev = n;
        if (m->roots[r] != &head->ob_base)
            return; /* a finalizer cannot take the root; only the program does */
    }
    if (ring)
        ouro_setref(&prev->slot[mut_rand(m, MUT_K)], &head->ob_base);
}

static void mut_step(mut *m, long work)
{
    m->steps++;
    long rc = ouro_gc_step(m->h, work);
    int ph = ouro_gc_cycle_phase(m->h);
    if (rc < 0)
        mut_fail(m, "ouro_gc_step(%ld) returned %ld", work, rc);
    if (rc == 1 && ph != 0)
        mut_fail(m, "ouro_gc_step returned 1 (cycle ended) but the phase is %d", ph);
    if (rc == 0 && ph == 0)
        mut_fail(m, "ouro_gc_step returned 0 (work remains) but the phase is 0");
}

/* The checks after every operation (all but the cycle ends, which the gc
 * callback checks). */
static void mut_check(mut *m, int after_full_collect)
{
    if (ouro_heap_check(m->h) != 0)
        mut_fail(m, "ouro_heap_check failed");
    /* resurrections in this operation: what they reach is handed back */
    uint32_t ne = 0;
    if (m->nres) {
        mut_exempt(m, m->res, m->nres);
        ne = m->epoch;
    }
    /* weak references (before the walk below reuses the marks) */
    for (int i = 0; i < MUT_WEAKS; i++) {
        mut_weak *w = &m->weak[i];
        if (!w->wr) {
            w->calls_op = 0;
            continue;
        }
        uint32_t t = w->target;
        ouro_object *peek = ouro_weakref_peek(w->wr);
        if (m->dead[t]) {
            if (w->calls != 1)
                mut_fail(m, "weakref %d: node %u died, callback called %d times", i, t, w->calls);
            if (peek)
                mut_fail(m, "weakref %d: node %u died but the weakref peeks %p", i, t,
                         (void *)peek);
        } else if (w->calls == 0) {
            if (peek != &m->ptr[t]->ob_base)
                mut_fail(m, "weakref %d: node %u alive, no callback, but peek gives %p", i, t,
                         (void *)peek);
        } else {
            if (peek)
                mut_fail(m, "weakref %d: callback called but the weakref still peeks", i);
            if (w->calls_op && !(ne && m->stamp[t] == ne))
                mut_fail(m,
                         "weakref %d: callback called for node %u that is alive and was not "
                         "brought back by a finalizer in this operation",
                         i, t);
        }
        w->calls_op = 0;
    }
    m->nres = 0;
    if (m->lite)
        return;
    uint32_t e = (mut_walk(m, NULL, 0, "walk after the operation"), m->epoch);
    if (after_full_collect) {
        for (uint32_t id = 0; id < m->n; id++)
            if (!m->dead[id] && m->stamp[id] != e)
                mut_fail(m, "node %u alive and unreachable after ouro_gc_collect(h, 2)", id);
    }
}

static int mut_free_weak(mut *m)
{
    for (int i = 0; i < MUT_WEAKS; i++)
        if (!m->weak[i].wr)
            return i;
    return -1;
}

/* One random operation.  Returns 0 when the input is exhausted (fuzzer). */
static int mut_op(mut *m)
{
    int total = 0;
    for (int i = 0; i < MOP_COUNT; i++)
        total += m->p.w[i];
    if (total <= 0)
        return 0;
    int pick = (int)mut_rand(m, (uint32_t)total), op = 0;
    while (pick >= m->p.w[op])
        pick -= m->p.w[op++];
    if (m->exhausted)
        return 0;
    m->opno = m->ops++;
    int full = 0;
    int r = mut_rand_root(m);
    switch (op) {
    case MOP_NEW: {
        mut_logf(m, "new -> root %d", r);
        mnode *n = mut_new_node(m);
        if (n)
            mut_put_root(m, r, &n->ob_base);
        break;
    }
    case MOP_RING:
    case MOP_CHAIN: {
        uint32_t len = 1 + mut_rand(m, (uint32_t)m->p.max_ring);
        if (mut_rand(m, 4) == 0)
            len = 1 + mut_rand(m, 3); /* self loops and 2-cycles often */
        mut_logf(m, "%s of %u -> root %d", op == MOP_RING ? "ring" : "chain", len, r);
        mut_build(m, r, len, op == MOP_RING);
        break;
    }
    case MOP_STORE: {
        mnode *a = mut_rand_live(m), *b = mut_rand_live(m);
        int k = (int)mut_rand(m, MUT_K);
        if (!a)
            break;
        if (mut_rand(m, 5) == 0)
            b = NULL;
        mut_logf(m, "store %u.%d = %d", a->id, k, b ? (int)b->id : -1);
        ouro_setref(&a->slot[k], b ? &b->ob_base : NULL);
        break;
    }
    case MOP_STORE_ROOT: {
        mnode *a = mut_rand_live(m);
        if (!a)
            break;
        mut_logf(m, "root %d = %u", r, a->id);
        ouro_incref(&a->ob_base);
        mut_put_root(m, r, &a->ob_base);
        break;
    }
    case MOP_CLEAR_SLOT: {
        mnode *a = mut_rand_live(m);
        int k = (int)mut_rand(m, MUT_K);
        if (!a)
            break;
        mut_logf(m, "clear %u.%d", a->id, k);
        ouro_clear(&a->slot[k]);
        break;
    }
    case MOP_DROP_ROOT:
        mut_logf(m, "drop root %d", r);
        ouro_clear(&m->roots[r]);
        break;
    case MOP_STEAL: {
        mnode *a = mut_rand_live(m), *b = mut_rand_live(m);
        int i = (int)mut_rand(m, MUT_K), j = (int)mut_rand(m, MUT_K);
        if (!a || !b || (a == b && i == j))
            break;
        /* b->f = a->g; a->g = NULL; with no count changing (the old value
         * of b->f released afterwards, as a program would) */
        mut_logf(m, "steal %u.%d -> %u.%d", a->id, i, b->id, j);
        m->moves++;
        ouro_object *old = b->slot[j];
        b->slot[j] = a->slot[i];
        a->slot[i] = NULL;
        if (old)
            ouro_decref(old);
        break;
    }
    case MOP_STEAL_TO_ROOT: {
        mnode *a = mut_rand_live(m);
        int i = (int)mut_rand(m, MUT_K);
        if (!a)
            break;
        mut_logf(m, "steal %u.%d -> root %d", a->id, i, r);
        m->moves++;
        ouro_object *old = m->roots[r];
        m->roots[r] = a->slot[i];
        a->slot[i] = NULL;
        if (old)
            ouro_decref(old);
        break;
    }
    case MOP_STEAL_FROM_ROOT: {
        mnode *a = mut_rand_live(m);
        int i = (int)mut_rand(m, MUT_K);
        if (!a)
            break;
        mut_logf(m, "steal root %d -> %u.%d", r, a->id, i);
        m->moves++;
        ouro_object *old = a->slot[i];
        a->slot[i] = m->roots[r];
        m->roots[r] = NULL;
        if (old)
            ouro_decref(old);
        break;
    }
    case MOP_WEAK_NEW: {
        mnode *a = mut_rand_live(m);
        int w = mut_free_weak(m);
        if (!a || w < 0)
            break;
        mut_logf(m, "weak %d -> %u", w, a->id);
        /* a is held (reachable from a root) while the weakref is allocated;
         * a collection that allocation runs cannot take it */
        mut_weak *rec = &m->weak[w];
        rec->target = a->id;
        rec->calls = rec->calls_op = 0;
        ouro_object *wr = ouro_weakref_new(m->h, &a->ob_base, mut_weak_cb, rec);
        if (!wr)
            mut_fail(m, "ouro_weakref_new failed: %d", ouro_heap_last_error(m->h));
        rec->wr = wr;
        break;
    }
    case MOP_WEAK_GET: {
        /* prefer a weak reference to garbage not yet collected: handing it
         * back during a cycle is what the cycle must cope with */
        int w = (int)mut_rand(m, MUT_WEAKS);
        for (int tries = 0; tries < 6; tries++) {
            mut_weak *c = &m->weak[w];
            if (c->wr && !m->dead[c->target] && m->stamp[c->target] != m->reach_epoch)
                break;
            w = (int)mut_rand(m, MUT_WEAKS);
        }
        mut_weak *rec = &m->weak[w];
        if (!rec->wr)
            break;
        ouro_object *got = ouro_weakref_get(rec->wr);
        mut_logf(m, "get weak %d (node %u) -> %s, root %d", w, rec->target, got ? "obj" : "NULL",
                 r);
        if (got) {
            uint32_t id = mut_id_of(m, got, "weakref get");
            if (id != rec->target)
                mut_fail(m, "weakref %d to node %u returned node %u", w, rec->target, id);
            m->handbacks++;
#ifndef MUT_SELFTEST_NO_EXEMPT
            mut_exempt(m, &id, 1);
#endif
            mut_put_root(m, r, got);
        }
        break;
    }
    case MOP_WEAK_DROP: {
        int w = (int)mut_rand(m, MUT_WEAKS);
        mut_weak *rec = &m->weak[w];
        if (!rec->wr)
            break;
        mut_logf(m, "drop weak %d", w);
        ouro_object *wr = rec->wr;
        rec->wr = NULL;
        ouro_decref(wr);
        break;
    }
    case MOP_COLLECT: {
        int g = mut_rand(m, 4) == 0 ? (int)mut_rand(m, 2) : 2;
        mut_logf(m, "collect %d (phase %d)", g, ouro_gc_cycle_phase(m->h));
        m->collects++;
        long rc = ouro_gc_collect(m->h, g);
        if (rc < 0)
            mut_fail(m, "ouro_gc_collect returned %ld", rc);
        if (ouro_gc_cycle_phase(m->h) != 0)
            mut_fail(m, "ouro_gc_collect left a cycle in progress");
        full = g == 2;
        break;
    }
    case MOP_STEP: {
        long work = 1 + (long)mut_rand(m, 50);
        if (mut_rand(m, 8) == 0)
            work = 1 + (long)mut_rand(m, 1000);
        mut_logf(m, "step %ld (phase %d)", work, ouro_gc_cycle_phase(m->h));
        mut_step(m, work);
        break;
    }
    case MOP_STEP_BIG: {
        long work = 1 + (long)mut_rand(m, 200);
        mut_logf(m, "steps of %ld to the end (phase %d)", work, ouro_gc_cycle_phase(m->h));
        for (int i = 0; i < 10000; i++) {
            mut_step(m, work);
            if (ouro_gc_cycle_phase(m->h) == 0)
                break;
        }
        break;
    }
    }
    mut_check(m, full);
    return !m->exhausted;
}

/* Drop everything the test holds and collect until nothing is left;
 * every node must be dead then. */
static void mut_teardown(mut *m)
{
    m->opno = m->ops++;
    mut_logf(m, "teardown");
    for (int i = 0; i < MUT_WEAKS; i++) {
        ouro_object *wr = m->weak[i].wr;
        m->weak[i].wr = NULL;
        if (wr)
            ouro_decref(wr);
    }
    /* each round lets the finalizers resurrect once more: a chain of k
     * resurrecting nodes needs k + 1 rounds (a finalizer runs once) */
    for (uint32_t round = 0; round <= m->n + 1; round++) {
        int any = 0;
        for (int r = 0; r < MUT_ROOTS; r++)
            ouro_clear(&m->roots[r]);
        ouro_gc_collect(m->h, 2); /* its finalizers may resurrect */
        m->nres = 0;
        for (int r = 0; r < MUT_ROOTS; r++)
            any |= m->roots[r] != NULL;
        if (!any)
            break;
    }
    for (int r = 0; r < MUT_ROOTS; r++)
        if (m->roots[r])
            mut_fail(m, "teardown: root %d still set", r);
    for (uint32_t id = 0; id < m->n; id++)
        if (!m->dead[id])
            mut_fail(m, "teardown: node %u alive with no root after ouro_gc_collect", id);
    if (ouro_heap_check(m->h) != 0)
        mut_fail(m, "ouro_heap_check failed at teardown");
    ouro_gc_callback_remove(m->h, mut_gc_cb, m);
    ouro_heap_set_userdata(m->h, NULL);
}

#endif
