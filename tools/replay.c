/*
 * replay.c — run a heaptrace script (../shared/heaptrace/SPEC.md) on ouro
 * and print the canonical event log.
 *
 * The runner mirrors cpython_oracle.py operation by operation, including
 * when it holds temporary strong references (the oracle's local variables),
 * because those decide when objects die and therefore what finalizers and
 * callbacks observe.  Objects are named through basic weak references held
 * in a registry, exactly as the oracle does, so "dead" means the same thing
 * in both: the object died, or the collector cleared its weak references.
 */
#include "replay.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 8
#define MAX_MACRO 1000000

/* ------------------------------------------------------------ string map */

typedef struct smap_entry {
    char *key; /* NULL empty, TOMB deleted */
    void *val;
} smap_entry;

typedef struct smap {
    smap_entry *t;
    size_t cap, count, tomb;
} smap;

static char tomb_key;
#define TOMB (&tomb_key)

static size_t str_hash(const char *s)
{
    size_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static smap_entry *smap_find(smap *m, const char *key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = str_hash(key) & mask;; i = (i + 1) & mask) {
        smap_entry *e = &m->t[i];
        if (!e->key)
            return NULL;
        if (e->key != TOMB && strcmp(e->key, key) == 0)
            return e;
    }
}

static int smap_grow(smap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    smap_entry *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        smap_entry *e = &m->t[i];
        if (e->key && e->key != TOMB) {
            size_t j = str_hash(e->key) & (cap - 1);
            while (t[j].key)
                j = (j + 1) & (cap - 1);
            t[j] = *e;
        }
    }
    free(m->t);
    m->t = t;
    m->cap = cap;
    m->tomb = 0;
    return 0;
}

/* Insert a new key (must not be present); the map owns `key`. */
static smap_entry *smap_insert(smap *m, char *key, void *val)
{
    if ((m->count + m->tomb + 1) * 2 > m->cap && smap_grow(m) < 0)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = str_hash(key) & mask;
    while (m->t[i].key && m->t[i].key != TOMB)
        i = (i + 1) & mask;
    if (m->t[i].key == TOMB)
        m->tomb--;
    m->t[i].key = key;
    m->t[i].val = val;
    m->count++;
    return &m->t[i];
}

static void smap_delete(smap *m, smap_entry *e)
{
    free(e->key);
    e->key = TOMB;
    e->val = NULL;
    m->count--;
    m->tomb++;
}

/* ------------------------------------------------------------ actions */

enum act_kind { ACT_NONE = 0, ACT_LOG, ACT_RESURRECT, ACT_CLEAR, ACT_COLLECT, ACT_DEL, ACT_REVIVE };

typedef struct action {
    int kind;
    char *arg; /* VAR of del:, W of revive: */
} action;

static bool is_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_') || (unsigned char)*s >= 128)
        return false;
    for (s++; *s; s++)
        if (!((isalnum((unsigned char)*s) && (unsigned char)*s < 128) || *s == '_'))
            return false;
    return true;
}

/* Returns false when the option text is not valid. */
static bool parse_action(const char *text, const char *prefix, action *out)
{
    size_t n = strlen(prefix);
    out->kind = ACT_NONE;
    out->arg = NULL;
    if (strcmp(text, prefix) == 0) {
        out->kind = ACT_LOG;
        return true;
    }
    if (strncmp(text, prefix, n) != 0 || text[n] != '=')
        return false;
    const char *rest = text + n + 1;
    bool fin = strcmp(prefix, "fin") == 0;
    if (strcmp(rest, "collect") == 0) {
        out->kind = ACT_COLLECT;
        return true;
    }
    if (fin && strcmp(rest, "resurrect") == 0) {
        out->kind = ACT_RESURRECT;
        return true;
    }
    if (fin && strcmp(rest, "clear") == 0) {
        out->kind = ACT_CLEAR;
        return true;
    }
    if (strncmp(rest, "del:", 4) == 0 && is_name(rest + 4)) {
        out->kind = ACT_DEL;
        out->arg = strdup(rest + 4);
        return out->arg != NULL;
    }
    if (strncmp(rest, "revive:", 7) == 0 && is_name(rest + 7)) {
        out->kind = ACT_REVIVE;
        out->arg = strdup(rest + 7);
        return out->arg != NULL;
    }
    return false;
}

/* ------------------------------------------------------------ runner */

typedef struct entry {
    char *name;
    ouro_object *ref; /* basic weak reference (strong ref held here) */
    bool weak;        /* the object is a named weak reference */
    action act;       /* fin of a node, cb of a weak reference */
} entry;

typedef struct node {
    OURO_HEAD;
    ouro_object *slot[SLOTS];
    entry *e;
} node;

typedef struct runner {
    ouro_heap *h;
    FILE *out;
    const replay_options *opt;
    smap registry; /* name -> entry* */
    smap vars;     /* name -> ouro_object* (strong) */
    ouro_object **saved;
    size_t nsaved, capsaved;
    char **events;
    size_t nevents, capevents;
    long line;
    bool callbacks_on;
    bool oom; /* the current operation ran out of memory */
    uint64_t macro_budget; /* 0 or replay_options.macro_budget */
    uint64_t macro_nodes; /* nodes made by chain/ring so far */
    bool over_budget;     /* a macro was refused for opt->macro_budget */
} runner;

static int node_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    node *n = (node *)self;
    for (int i = 0; i < SLOTS; i++) {
        if (n->slot[i]) {
            int r = visit(n->slot[i], arg);
            if (r)
                return r;
        }
    }
    return 0;
}

static void node_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    node *n = (node *)self;
    for (int i = 0; i < SLOTS; i++)
        ouro_clear(&n->slot[i]);
}

static void node_finalize(ouro_heap *h, ouro_object *self);

static ouro_type node_type = {
    .name = "Node",
    .basic_size = sizeof(node),
    .flags = OURO_TYPE_GC | OURO_TYPE_WEAKREFABLE,
    .traverse = node_traverse,
    .clear = node_clear,
    .finalize = node_finalize,
};

static bool is_node(ouro_object *o) { return ouro_type_of(o) == &node_type; }

static void event(runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(runner *r, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s;
    if (n >= (int)sizeof buf) {
        s = malloc((size_t)n + 1);
        if (!s)
            abort();
        va_start(ap, fmt);
        vsnprintf(s, (size_t)n + 1, fmt, ap);
        va_end(ap);
    } else {
        s = strdup(buf);
    }
    if (!s)
        abort();
    if (r->nevents == r->capevents) {
        r->capevents = r->capevents ? r->capevents * 2 : 64;
        r->events = realloc(r->events, r->capevents * sizeof *r->events);
        if (!r->events)
            abort();
    }
    r->events[r->nevents++] = s;
}

/* A growing text buffer for "alive ..." style events. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->len, s, n + 1);
    b->len += n;
}

static const char *obj_name(ouro_object *o)
{
    entry *e = is_node(o) ? ((node *)o)->e : ouro_weakref_arg(o);
    return e ? e->name : "?";
}

/* The live object called `name` as a new reference, or NULL after logging
 * why not (the oracle's resolve()). */
static ouro_object *resolve(runner *r, const char *name)
{
    smap_entry *se = smap_find(&r->registry, name);
    if (!se) {
        event(r, "error unknown %s", name);
        return NULL;
    }
    entry *e = se->val;
    ouro_object *o = e->ref ? ouro_weakref_get(e->ref) : NULL;
    if (!o)
        event(r, "error dead %s", name);
    return o;
}

static bool is_weak_obj(runner *r, ouro_object *o)
{
    (void)r;
    return ouro_is_weakref(o) && ouro_weakref_arg(o) != NULL;
}

/* vars[name] = obj (obj borrowed; the map takes a new reference). */
static void var_set(runner *r, const char *name, ouro_object *obj)
{
    smap_entry *se = smap_find(&r->vars, name);
    ouro_incref(obj);
    if (se) {
        ouro_object *old = se->val;
        se->val = obj;
        ouro_decref(old);
        return;
    }
    char *k = strdup(name);
    if (!k || !smap_insert(&r->vars, k, obj)) {
        free(k);
        ouro_decref(obj);
        r->oom = true;
    }
}

/* vars.pop(name, None) / del vars[name]; returns false when unbound. */
static bool var_del(runner *r, const char *name)
{
    smap_entry *se = smap_find(&r->vars, name);
    if (!se)
        return false;
    ouro_object *old = se->val;
    smap_delete(&r->vars, se);
    ouro_decref(old);
    return true;
}

static void saved_append(runner *r, ouro_object *o)
{
    if (r->nsaved == r->capsaved) {
        r->capsaved = r->capsaved ? r->capsaved * 2 : 16;
        r->saved = realloc(r->saved, r->capsaved * sizeof *r->saved);
        if (!r->saved)
            abort();
    }
    ouro_incref(o);
    r->saved[r->nsaved++] = o;
}

static void act(runner *r, const action *a, ouro_object *self)
{
    switch (a->kind) {
    case ACT_RESURRECT:
        saved_append(r, self);
        break;
    case ACT_CLEAR: {
        node *n = (node *)self;
        for (int i = 0; i < SLOTS; i++)
            ouro_clear(&n->slot[i]);
        break;
    }
    case ACT_COLLECT:
        event(r, "collect %ld", ouro_gc_collect(r->h, 2));
        break;
    case ACT_DEL:
        var_del(r, a->arg);
        break;
    case ACT_REVIVE: {
        smap_entry *se = smap_find(&r->registry, a->arg);
        if (!se)
            break;
        entry *e = se->val;
        ouro_object *w = ouro_weakref_get(e->ref);
        if (w && is_weak_obj(r, w)) {
            ouro_object *target = ouro_weakref_get(w);
            if (target) {
                var_set(r, obj_name(target), target);
                ouro_decref(w);
                w = NULL;
                ouro_decref(target);
            }
        }
        if (w)
            ouro_decref(w);
        break;
    }
    default:
        break;
    }
}

static void node_finalize(ouro_heap *h, ouro_object *self)
{
    runner *r = ouro_heap_userdata(h);
    node *n = (node *)self;
    /* A node without an entry is one that make_node could not finish: it
     * never existed for the script, so it has nothing to log or do. */
    if (!n->e || n->e->act.kind == ACT_NONE)
        return;
    event(r, "fin %s", n->e->name);
    act(r, &n->e->act, self);
}

static void weak_callback(ouro_heap *h, ouro_object *wr, void *arg)
{
    runner *r = ouro_heap_userdata(h);
    entry *e = arg;
    /* Weak references are made with a callback only when they have an
     * action, so ACT_NONE here means the teardown silenced it. */
    if (e->act.kind == ACT_NONE)
        return;
    event(r, "cb %s", e->name);
    act(r, &e->act, NULL);
}

static void gc_event(ouro_heap *h, const char *phase, const ouro_gc_info *info, void *arg)
{
    (void)h;
    runner *r = arg;
    if (strcmp(phase, "start") == 0)
        event(r, "gc start %d", info->generation);
    else
        event(r, "gc stop %d %ld %ld", info->generation, info->collected, info->uncollectable);
}

static void free_action(action *a) { free(a->arg); }

static void free_entry(entry *e)
{
    free(e->name);
    free_action(&e->act);
    free(e);
}

/* A new entry, not registered yet; it owns a copy of `act_`. */
static entry *new_entry(const char *name, bool weak, const action *act_)
{
    entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->name = strdup(name);
    e->weak = weak;
    e->act = *act_;
    e->act.arg = NULL;
    if (!e->name || (act_->arg && !(e->act.arg = strdup(act_->arg)))) {
        free_entry(e);
        return NULL;
    }
    return e;
}

static bool register_entry(runner *r, entry *e)
{
    char *k = strdup(e->name);
    if (!k || !smap_insert(&r->registry, k, e)) {
        free(k);
        return false;
    }
    return true;
}

/* Forget a registered entry whose object is gone (its name becomes free
 * again, as if it had never been used). */
static void unregister_entry(runner *r, entry *e)
{
    smap_entry *se = smap_find(&r->registry, e->name);
    if (se && se->val == e)
        smap_delete(&r->registry, se);
    if (e->ref)
        ouro_clear(&e->ref);
    free_entry(e);
}

/*
 * The oracle's make_node: create, register, bind; NULL when out of memory.
 * Every allocation comes first, in the oracle's order (the node, then its
 * registry reference: the order of the collector's lists is observable),
 * and the entry is attached only when both succeeded, so that a failure
 * leaves no trace: the half-made node dies without running its finalizer
 * and its name stays free (SPEC: a refused operation changes nothing).
 */
static entry *make_node(runner *r, const char *name, const action *fin)
{
    node *n = (node *)ouro_new(r->h, &node_type);
    if (!n)
        return NULL;
    ouro_object *ref = ouro_weakref_basic(r->h, OURO_OBJ(n));
    entry *e = ref ? new_entry(name, false, fin) : NULL;
    if (!e || !register_entry(r, e)) {
        if (e)
            free_entry(e);
        if (ref)
            ouro_decref(ref);
        ouro_decref(OURO_OBJ(n));
        return NULL;
    }
    e->ref = ref;
    n->e = e;
    var_set(r, name, OURO_OBJ(n));
    ouro_decref(OURO_OBJ(n));
    return e;
}

/* Undo a successful make_node of a macro that could not finish.  The node
 * is held by its variable alone (macros link nodes only once all exist), so
 * unbinding it frees it; its finalizer is disabled first, since for the
 * script the node never existed. */
static void unmake_node(runner *r, entry *e)
{
    action saved_act = e->act;
    e->act.kind = ACT_NONE;
    ouro_object *o = ouro_weakref_get(e->ref);
    if (o) {
        smap_entry *se = smap_find(&r->vars, e->name);
        if (se && se->val == o)
            var_del(r, e->name);
        ouro_decref(o);
    }
    if (ouro_weakref_peek(e->ref)) {
        /* Still referenced from somewhere unexpected: keep it as made. */
        e->act = saved_act;
        return;
    }
    unregister_entry(r, e);
}

/* fresh(): a valid new name never used before. */
static bool fresh(runner *r, const char *name)
{
    if (!is_name(name)) {
        event(r, "error syntax");
        return false;
    }
    if (smap_find(&r->registry, name)) {
        event(r, "error exists %s", name);
        return false;
    }
    return true;
}

#define SYNTAX() do { event(r, "error syntax"); return; } while (0)

static void op_new(runner *r, int argc, char **argv)
{
    if (argc != 1 && argc != 2)
        SYNTAX();
    action fin = {ACT_NONE, NULL};
    if (argc == 2 && !parse_action(argv[1], "fin", &fin))
        SYNTAX();
    if (fresh(r, argv[0]) && !make_node(r, argv[0], &fin))
        r->oom = true;
    free(fin.arg);
}

static void op_weak(runner *r, int argc, char **argv)
{
    if (argc != 2 && argc != 3)
        SYNTAX();
    action cb = {ACT_NONE, NULL};
    if (argc == 3 && !parse_action(argv[2], "cb", &cb))
        SYNTAX();
    if (!fresh(r, argv[0])) {
        free(cb.arg);
        return;
    }
    ouro_object *target = resolve(r, argv[1]);
    if (!target) {
        free(cb.arg);
        return;
    }
    /* As make_node: allocate everything, then register.  A weak reference
     * that dies before it is registered runs no callback (it is not the
     * referent that dies). */
    entry *e = new_entry(argv[0], true, &cb);
    free(cb.arg);
    ouro_object *w = NULL, *ref = NULL;
    if (e)
        w = ouro_weakref_new(r->h, target, cb.kind != ACT_NONE ? weak_callback : NULL, e);
    if (w)
        ref = ouro_weakref_basic(r->h, w);
    if (ref && register_entry(r, e)) {
        e->ref = ref;
        var_set(r, argv[0], w);
    } else {
        r->oom = true;
        if (ref)
            ouro_decref(ref);
        if (w)
            ouro_clear(&w);
        if (e)
            free_entry(e);
    }
    ouro_decref(target);
    if (w)
        ouro_decref(w);
}

static void op_link(runner *r, int argc, char **argv)
{
    if (argc != 2)
        SYNTAX();
    ouro_object *a = resolve(r, argv[0]);
    if (!a)
        return;
    ouro_object *b = resolve(r, argv[1]);
    if (!b) {
        ouro_decref(a);
        return;
    }
    if (!is_node(a)) {
        event(r, "error notnode %s", argv[0]);
    } else {
        node *n = (node *)a;
        int i;
        for (i = 0; i < SLOTS && n->slot[i]; i++)
            ;
        if (i == SLOTS)
            event(r, "error full %s", argv[0]);
        else
            ouro_setref(&n->slot[i], b);
    }
    ouro_decref(a);
    ouro_decref(b);
}

static void op_unlink(runner *r, int argc, char **argv)
{
    if (argc != 2)
        SYNTAX();
    ouro_object *a = resolve(r, argv[0]);
    if (!a)
        return;
    ouro_object *b = resolve(r, argv[1]);
    if (!b) {
        ouro_decref(a);
        return;
    }
    if (!is_node(a)) {
        event(r, "error notnode %s", argv[0]);
        ouro_decref(a);
        ouro_decref(b);
        return;
    }
    node *n = (node *)a;
    int i;
    for (i = 0; i < SLOTS && n->slot[i] != b; i++)
        ;
    /* the oracle drops its local `b` before emptying the slot */
    ouro_decref(b);
    if (i == SLOTS)
        event(r, "error nolink %s %s", argv[0], argv[1]);
    else
        ouro_clear(&n->slot[i]);
    ouro_decref(a);
}

static void op_set(runner *r, int argc, char **argv)
{
    if (argc != 2 || !is_name(argv[0]))
        SYNTAX();
    ouro_object *o = resolve(r, argv[1]);
    if (o) {
        var_set(r, argv[0], o);
        ouro_decref(o);
    }
}

static void op_del(runner *r, int argc, char **argv)
{
    if (argc != 1 || !is_name(argv[0]))
        SYNTAX();
    if (!var_del(r, argv[0]))
        event(r, "error unbound %s", argv[0]);
}

static void op_unsave(runner *r, int argc, char **argv)
{
    if (argc != 1)
        SYNTAX();
    ouro_object *o = resolve(r, argv[0]);
    if (!o)
        return;
    for (size_t i = 0; i < r->nsaved; i++) {
        if (r->saved[i] == o) {
            ouro_decref(o);
            ouro_object *kept = r->saved[i];
            memmove(&r->saved[i], &r->saved[i + 1], (r->nsaved - i - 1) * sizeof *r->saved);
            r->nsaved--;
            ouro_decref(kept);
            return;
        }
    }
    event(r, "error notsaved %s", argv[0]);
    ouro_decref(o);
}

static void op_clearsaved(runner *r, int argc, char **argv)
{
    (void)argv;
    if (argc)
        SYNTAX();
    ouro_object **items = r->saved;
    size_t n = r->nsaved;
    r->saved = NULL;
    r->nsaved = r->capsaved = 0;
    while (n)
        ouro_decref(items[--n]);
    free(items);
}

static void op_deref(runner *r, int argc, char **argv)
{
    if (argc != 1)
        SYNTAX();
    ouro_object *w = resolve(r, argv[0]);
    if (!w)
        return;
    if (!is_weak_obj(r, w)) {
        event(r, "error notweak %s", argv[0]);
    } else {
        ouro_object *t = ouro_weakref_get(w);
        event(r, "deref %s %s", argv[0], t ? obj_name(t) : "none");
        if (t)
            ouro_decref(t);
    }
    ouro_decref(w);
}

static void op_refcount(runner *r, int argc, char **argv)
{
    if (argc != 1)
        SYNTAX();
    ouro_object *o = resolve(r, argv[0]);
    if (o) {
        event(r, "refcount %s %u", argv[0], ouro_refcount(o) - 1);
        ouro_decref(o);
    }
}

static void op_collect(runner *r, int argc, char **argv)
{
    if (argc > 1 || (argc == 1 && strcmp(argv[0], "0") && strcmp(argv[0], "1") &&
                     strcmp(argv[0], "2")))
        SYNTAX();
    int g = argc ? argv[0][0] - '0' : 2;
    event(r, "collect %ld", ouro_gc_collect(r->h, g));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void op_probe(runner *r, int argc, char **argv)
{
    (void)argv;
    if (argc)
        SYNTAX();
    char **names = malloc((r->registry.count + 1) * sizeof *names);
    if (!names)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < r->registry.cap; i++) {
        smap_entry *se = &r->registry.t[i];
        if (se->key && se->key != TOMB) {
            entry *e = se->val;
            if (e->ref && ouro_weakref_peek(e->ref))
                names[n++] = e->name;
        }
    }
    if (n > 1)
        qsort(names, n, sizeof *names, cmp_str);
    sbuf b = {0};
    sb_add(&b, "alive");
    for (size_t i = 0; i < n; i++) {
        sb_add(&b, " ");
        sb_add(&b, names[i]);
    }
    event(r, "%s", b.p);
    free(b.p);
    free(names);
}

typedef struct namelist {
    const char **v;
    size_t n, cap;
} namelist;

static void nl_add(namelist *l, const char *s)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n++] = s;
}

static void emit_sorted(runner *r, const char *head, namelist *l, bool unique)
{
    if (l->n > 1)
        qsort(l->v, l->n, sizeof *l->v, cmp_str);
    sbuf b = {0};
    sb_add(&b, head);
    for (size_t i = 0; i < l->n; i++) {
        if (unique && i && strcmp(l->v[i], l->v[i - 1]) == 0)
            continue;
        sb_add(&b, " ");
        sb_add(&b, l->v[i]);
    }
    event(r, "%s", b.p);
    free(b.p);
    free(l->v);
}

static int referrer_visit(ouro_object *o, void *arg)
{
    if (is_node(o) && ((node *)o)->e)
        nl_add(arg, ((node *)o)->e->name);
    return 0;
}

static void op_referrers(runner *r, int argc, char **argv)
{
    if (argc != 1)
        SYNTAX();
    ouro_object *o = resolve(r, argv[0]);
    if (!o)
        return;
    namelist l = {0};
    ouro_gc_get_referrers(r->h, o, referrer_visit, &l);
    /* the name can be of any length */
    sbuf head = {0};
    sb_add(&head, "referrers ");
    sb_add(&head, argv[0]);
    emit_sorted(r, head.p, &l, true);
    free(head.p);
    ouro_decref(o);
}

static void op_saveall(runner *r, int argc, char **argv)
{
    if (argc != 1 || (strcmp(argv[0], "on") && strcmp(argv[0], "off")))
        SYNTAX();
    ouro_gc_set_debug(r->h, strcmp(argv[0], "on") == 0 ? OURO_GC_DEBUG_SAVEALL : 0);
}

static void op_garbage(runner *r, int argc, char **argv)
{
    (void)argv;
    if (argc)
        SYNTAX();
    namelist l = {0};
    size_t n = ouro_gc_garbage_count(r->h);
    for (size_t i = 0; i < n; i++) {
        ouro_object *o = ouro_gc_garbage_get(r->h, i);
        if (is_node(o) || is_weak_obj(r, o))
            nl_add(&l, obj_name(o));
    }
    emit_sorted(r, "garbage", &l, false);
}

static void op_cleargarbage(runner *r, int argc, char **argv)
{
    (void)argv;
    if (argc)
        SYNTAX();
    ouro_gc_garbage_clear(r->h);
}

static void op_callbacks(runner *r, int argc, char **argv)
{
    if (argc != 1 || (strcmp(argv[0], "on") && strcmp(argv[0], "off")))
        SYNTAX();
    while (ouro_gc_callback_remove(r->h, gc_event, r) == 0)
        ;
    if (strcmp(argv[0], "on") == 0 && ouro_gc_callback_add(r->h, gc_event, r) < 0)
        r->oom = true;
}

static void op_freeze(runner *r, int argc, char **argv)
{
    (void)argv;
    if (argc)
        SYNTAX();
    ouro_gc_freeze(r->h);
}

static void op_unfreeze(runner *r, int argc, char **argv)
{
    (void)argv;
    if (argc)
        SYNTAX();
    ouro_gc_unfreeze(r->h);
}

/* The oracle takes a macro's count with int(), which accepts the decimal
 * digits of every script: Unicode category Nd (Unicode 14.0 in CPython
 * 3.11), which comes in runs of ten.  These are the runs' zeros.  (Other
 * characters that str.isdigit() accepts make int() fail, and the oracle
 * with it: no log to match.) */
static const uint32_t nd_zeros[] = {
    0x30,    0x660,   0x6f0,   0x7c0,   0x966,   0x9e6,   0xa66,   0xae6,   0xb66,
    0xbe6,   0xc66,   0xce6,   0xd66,   0xde6,   0xe50,   0xed0,   0xf20,   0x1040,
    0x1090,  0x17e0,  0x1810,  0x1946,  0x19d0,  0x1a80,  0x1a90,  0x1b50,  0x1bb0,
    0x1c40,  0x1c50,  0xa620,  0xa8d0,  0xa900,  0xa9d0,  0xa9f0,  0xaa50,  0xabf0,
    0xff10,  0x104a0, 0x10d30, 0x11066, 0x110f0, 0x11136, 0x111d0, 0x112f0, 0x11450,
    0x114d0, 0x11650, 0x116c0, 0x11730, 0x118e0, 0x11950, 0x11c50, 0x11d50, 0x11da0,
    0x16a60, 0x16ac0, 0x16b50, 0x1d7ce, 0x1d7d8, 0x1d7e2, 0x1d7ec, 0x1d7f6, 0x1e140,
    0x1e2f0, 0x1e950, 0x1fbf0,
};

/* The value of the decimal digit that starts at *pp, advancing past its
 * UTF-8 encoding, or -1 when there is none. */
static int decimal_digit(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint32_t cp;
    int len;
    if (p[0] < 0x80) {
        cp = p[0];
        len = 1;
    } else if ((p[0] & 0xE0) == 0xC0) {
        cp = p[0] & 0x1F;
        len = 2;
    } else if ((p[0] & 0xF0) == 0xE0) {
        cp = p[0] & 0x0F;
        len = 3;
    } else if ((p[0] & 0xF8) == 0xF0) {
        cp = p[0] & 0x07;
        len = 4;
    } else {
        return -1;
    }
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return -1; /* also stops at the terminating NUL */
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    for (size_t i = 0; i < sizeof nd_zeros / sizeof nd_zeros[0]; i++) {
        if (cp >= nd_zeros[i] && cp < nd_zeros[i] + 10) {
            *pp = p + len;
            return (int)(cp - nd_zeros[i]);
        }
    }
    return -1;
}

static void macro(runner *r, int argc, char **argv, bool ring)
{
    if (argc != 2 && argc != 3)
        SYNTAX();
    if (!is_name(argv[0]))
        SYNTAX();
    const unsigned char *digits = (const unsigned char *)argv[1];
    long count = 0;
    for (const unsigned char *p = digits; *p;) {
        int d = decimal_digit(&p);
        if (d < 0)
            SYNTAX();
        if (count <= MAX_MACRO)
            count = count * 10 + d;
    }
    if (count < 1 || count > MAX_MACRO)
        SYNTAX();
    action fin = {ACT_NONE, NULL};
    if (argc == 3 && !parse_action(argv[2], "fin", &fin))
        SYNTAX();
    /* The fuzzer's budget comes before the names are checked, which for a
     * million names would take longer than the fuzzer should wait. */
    if (r->macro_budget && r->macro_nodes + (uint64_t)count > r->macro_budget) {
        r->oom = true;
        r->over_budget = true;
        free(fin.arg);
        return;
    }
    size_t plen = strlen(argv[0]);
    char *name = malloc(plen + 16);
    if (!name)
        abort();
    for (long i = 0; i < count; i++) {
        snprintf(name, plen + 16, "%s%ld", argv[0], i);
        if (smap_find(&r->registry, name)) {
            event(r, "error exists %s", name);
            free(name);
            free(fin.arg);
            return;
        }
    }
    /* All nodes or none: when one cannot be made, those made so far are
     * unmade, newest first, before anything links them. */
    entry **made_e = malloc((size_t)count * sizeof *made_e);
    if (!made_e)
        abort();
    long made = 0;
    for (long i = 0; i < count; i++) {
        snprintf(name, plen + 16, "%s%ld", argv[0], i);
        if (!(made_e[made] = make_node(r, name, &fin)))
            break;
        made++;
    }
    if (made < count) {
        while (made)
            unmake_node(r, made_e[--made]);
        r->oom = true;
        free(made_e);
        free(name);
        free(fin.arg);
        return;
    }
    free(made_e);
    r->macro_nodes += (uint64_t)count;
    /* link each node to the next through vars, as the oracle does */
    char *name2 = malloc(plen + 16);
    if (!name2)
        abort();
    for (long i = 0; i + 1 < made; i++) {
        snprintf(name, plen + 16, "%s%ld", argv[0], i);
        snprintf(name2, plen + 16, "%s%ld", argv[0], i + 1);
        smap_entry *a = smap_find(&r->vars, name), *b = smap_find(&r->vars, name2);
        if (a && b)
            ouro_setref(&((node *)a->val)->slot[0], b->val);
    }
    if (ring) {
        snprintf(name, plen + 16, "%s%ld", argv[0], count - 1);
        snprintf(name2, plen + 16, "%s0", argv[0]);
        smap_entry *a = smap_find(&r->vars, name), *b = smap_find(&r->vars, name2);
        if (a && b)
            ouro_setref(&((node *)a->val)->slot[0], b->val);
    }
    for (long i = 1; i < made; i++) {
        snprintf(name, plen + 16, "%s%ld", argv[0], i);
        var_del(r, name);
    }
    free(name);
    free(name2);
    free(fin.arg);
}

static void op_chain(runner *r, int argc, char **argv) { macro(r, argc, argv, false); }
static void op_ring(runner *r, int argc, char **argv) { macro(r, argc, argv, true); }

typedef struct op_def {
    const char *name;
    void (*fn)(runner *, int, char **);
} op_def;

static const op_def ops[] = {
    {"new", op_new},           {"weak", op_weak},         {"link", op_link},
    {"unlink", op_unlink},     {"set", op_set},           {"del", op_del},
    {"unsave", op_unsave},     {"clearsaved", op_clearsaved}, {"deref", op_deref},
    {"refcount", op_refcount}, {"collect", op_collect},   {"probe", op_probe},
    {"referrers", op_referrers}, {"saveall", op_saveall}, {"garbage", op_garbage},
    {"cleargarbage", op_cleargarbage}, {"callbacks", op_callbacks},
    {"freeze", op_freeze},     {"unfreeze", op_unfreeze}, {"chain", op_chain},
    {"ring", op_ring},
};

/*
 * A script may hold NUL characters, which Python treats like any other
 * character that is not whitespace.  Lines are handled as C strings, so a
 * NUL is carried as NUL_MARK, a byte that valid UTF-8 never contains (the
 * oracle only reads valid UTF-8), and written back as NUL in the log.
 */
#define NUL_MARK 0xFF

static int cmp_event(const void *a, const void *b)
{
    const unsigned char *x = *(const unsigned char *const *)a;
    const unsigned char *y = *(const unsigned char *const *)b;
    for (;; x++, y++) {
        int cx = *x == NUL_MARK ? 0 : *x + 1, cy = *y == NUL_MARK ? 0 : *y + 1;
        if (!*x || !*y || cx != cy)
            return (*x ? cx : -1) - (*y ? cy : -1);
    }
}

static void flush(runner *r)
{
    if (r->nevents > 1) /* qsort must not see the NULL of an empty array */
        qsort(r->events, r->nevents, sizeof *r->events, cmp_event);
    for (size_t i = 0; i < r->nevents; i++) {
        const char *ev = r->events[i];
        if (!strchr(ev, NUL_MARK)) {
            fprintf(r->out, "%ld %s\n", r->line, ev);
        } else {
            fprintf(r->out, "%ld ", r->line);
            for (const char *p = ev; *p; p++)
                putc((unsigned char)*p == NUL_MARK ? 0 : *p, r->out);
            putc('\n', r->out);
        }
        free(r->events[i]);
    }
    r->nevents = 0;
}

/* The length of the str.split() whitespace character at p, 0 if there is
 * none: ASCII blanks and the UTF-8 encodings of U+0085, U+00A0, U+1680,
 * U+2000-U+200A, U+202F, U+205F and U+3000 (U+2028 and U+2029 end lines
 * before words are split).  `p` is NUL-terminated, so the look-ahead stops
 * at the end. */
static size_t space_len(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r') || (p[0] >= 0x1c && p[0] <= 0x1f))
        return 1;
    if (p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0))
        return 2;
    if ((p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) ||
        (p[0] == 0xE2 && p[1] == 0x80 && ((p[2] >= 0x80 && p[2] <= 0x8A) || p[2] == 0xAF)) ||
        (p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) ||
        (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80))
        return 3;
    return 0;
}

static void run_line(runner *r, char *text)
{
    char *hash = strchr(text, '#');
    if (hash)
        *hash = 0;
    char *words[64];
    int n = 0;
    bool too_many = false;
    for (char *p = text; *p;) {
        size_t k;
        while ((k = space_len(p)) != 0)
            p += k;
        if (!*p)
            break;
        char *start = p;
        while (*p && !(k = space_len(p)))
            p++;
        if (*p) {
            *p = 0;
            p += k;
        }
        if (n < 64)
            words[n++] = start;
        else
            too_many = true;
    }
    if (!n)
        return;
    const op_def *op = NULL;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(words[0], ops[i].name) == 0)
            op = &ops[i];
    r->oom = false;
    if (!op || too_many)
        event(r, "error syntax");
    else
        op->fn(r, n - 1, words + 1);
    if (r->oom)
        event(r, "error nomem");
    if (r->opt && r->opt->check_each && ouro_heap_check(r->h) != 0) {
        fprintf(stderr, "replay: heap check failed after line %ld\n", r->line);
        abort();
    }
    flush(r);
}

/* Python's str.splitlines() boundaries: \n, \r, \r\n, \v, \f, \x1c-\x1e,
 * and the UTF-8 encodings of U+0085, U+2028, U+2029. */
static size_t line_end(const char *s, size_t i, size_t len, size_t *next)
{
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e)) {
            *next = i + 1;
            return i;
        }
        if (c == '\r') {
            *next = (i + 1 < len && s[i + 1] == '\n') ? i + 2 : i + 1;
            return i;
        }
        if (c == 0xC2 && i + 1 < len && (unsigned char)s[i + 1] == 0x85) {
            *next = i + 2;
            return i;
        }
        if (c == 0xE2 && i + 2 < len && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0xA8 || (unsigned char)s[i + 2] == 0xA9)) {
            *next = i + 3;
            return i;
        }
    }
    *next = len;
    return len;
}

int replay_run(const char *text, size_t len, FILE *out, const replay_options *opt)
{
    return replay_run_stats(text, len, out, opt, NULL);
}

int replay_run_stats(const char *text, size_t len, FILE *out, const replay_options *opt,
                     replay_stats *stats)
{
    if (stats)
        memset(stats, 0, sizeof *stats);
    ouro_config cfg;
    ouro_config_init(&cfg);
    cfg.leak_policy = OURO_LEAKS_IGNORE;
    if (opt) {
        cfg.fail_alloc_at = opt->fail_alloc_at;
        cfg.fail_alloc_every = opt->fail_alloc_every;
        cfg.fail_page_at = opt->fail_page_at;
        cfg.fail_page_every = opt->fail_page_every;
        cfg.debug = opt->debug;
        cfg.shared = opt->shared;
    }
    ouro_heap *h = ouro_heap_new(&cfg);
    if (!h)
        return -1;
    /* The logs are compared with CPython 3.11's line by line: automatic
     * collections must happen where CPython's happen. */
    ouro_gc_set_schedule(h, OURO_GC_SCHEDULE_CPYTHON311);
    runner r;
    memset(&r, 0, sizeof r);
    r.h = h;
    r.out = out;
    r.opt = opt;
    r.macro_budget = opt ? opt->macro_budget : 0;
    if (!r.macro_budget) {
        const char *env = getenv("OURO_REPLAY_MACRO_BUDGET");
        if (env)
            r.macro_budget = strtoull(env, NULL, 10);
    }
    ouro_heap_set_userdata(h, &r);
    /* Automatic collection is off for the whole script. */
    ouro_gc_disable(h);

    char *buf = malloc(len + 1);
    if (!buf)
        abort();
    size_t i = 0;
    r.line = 0;
    while (i < len) {
        size_t next;
        size_t end = line_end(text, i, len, &next);
        r.line++;
        memcpy(buf, text + i, end - i);
        buf[end - i] = 0;
        for (size_t k = 0; k < end - i; k++)
            if (!buf[k])
                buf[k] = (char)NUL_MARK;
        run_line(&r, buf);
        i = next;
    }
    free(buf);
    fflush(out);

    /* Tear down: drop every root, collect, and free the heap. */
    int leaks = 0;
    if (!opt || !opt->fast_exit) {
        ouro_gc_set_debug(h, 0);
        while (ouro_gc_callback_remove(h, gc_event, &r) == 0)
            ;
        /* Finalizers and callbacks must not log or act any more. */
        for (size_t k = 0; k < r.registry.cap; k++) {
            smap_entry *se = &r.registry.t[k];
            if (se->key && se->key != TOMB) {
                entry *e = se->val;
                e->act.kind = ACT_NONE;
            }
        }
        op_clearsaved(&r, 0, NULL);
        for (size_t k = 0; k < r.vars.cap; k++) {
            smap_entry *se = &r.vars.t[k];
            if (se->key && se->key != TOMB) {
                ouro_object *o = se->val;
                smap_delete(&r.vars, se);
                ouro_decref(o);
            }
        }
        ouro_gc_garbage_clear(h);
        ouro_gc_unfreeze(h);
        ouro_gc_collect(h, 2);
        ouro_gc_garbage_clear(h);
        for (size_t k = 0; k < r.registry.cap; k++) {
            smap_entry *se = &r.registry.t[k];
            if (se->key && se->key != TOMB) {
                entry *e = se->val;
                if (e->ref)
                    ouro_clear(&e->ref);
            }
        }
        ouro_gc_collect(h, 2);
        if (opt && opt->check_each && ouro_heap_check(h) != 0)
            abort();
        ouro_heap_stats st;
        st.struct_size = sizeof st;
        ouro_heap_get_stats(h, &st);
        leaks = (int)st.objects;
    }
    ouro_heap_free(h);
    if (stats) {
        stats->lines = (uint64_t)r.line;
        stats->macro_nodes = r.macro_nodes;
        stats->over_budget = r.over_budget;
    }
    for (size_t k = 0; k < r.registry.cap; k++) {
        smap_entry *se = &r.registry.t[k];
        if (se->key && se->key != TOMB) {
            free_entry(se->val);
            free(se->key);
        }
    }
    free(r.registry.t);
    for (size_t k = 0; k < r.vars.cap; k++) {
        smap_entry *se = &r.vars.t[k];
        if (se->key && se->key != TOMB)
            free(se->key);
    }
    free(r.vars.t);
    free(r.saved);
    /* Nothing logs during the teardown, but should something have, its
     * events are not part of the log. */
    while (r.nevents)
        free(r.events[--r.nevents]);
    free(r.events);
    return leaks;
}
