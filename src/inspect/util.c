/*
 * util.c — the small containers of src/inspect (all on malloc, see
 * inspect.h): pointer map, growable arrays, string pool, text buffer;
 * clocks and the process's RSS; ouro_inspect_free.
 *
 * The bottom of src/inspect: calls no other file of it, only libc.
 */
#include "inspect.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

void ouro_inspect_free(void *p) { free(p); }

/* ------------------------------------------------------------ pointer map */

int ouro__ins_map_init(ins_map *m, size_t expect)
{
    memset(m, 0, sizeof *m);
    size_t cap = 16;
    while (cap < expect * 2)
        cap *= 2;
    m->keys = calloc(cap, sizeof *m->keys);
    m->vals = malloc(cap * sizeof *m->vals);
    if (!m->keys || !m->vals) {
        free(m->keys);
        free(m->vals);
        m->keys = NULL;
        m->vals = NULL;
        return OURO_ENOMEM;
    }
    m->cap = cap;
    return 0;
}

void ouro__ins_map_fini(ins_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static int map_grow(ins_map *m)
{
    ins_map n;
    if (ouro__ins_map_init(&n, m->cap) < 0)
        return OURO_ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i])
            ouro__ins_map_put(&n, m->keys[i], m->vals[i]);
    ouro__ins_map_fini(m);
    *m = n;
    return 0;
}

int ouro__ins_map_put(ins_map *m, uintptr_t key, size_t val)
{
    if ((m->len + 1) * 2 > m->cap && map_grow(m) < 0)
        return OURO_ENOMEM;
    size_t mask = m->cap - 1, i = ouro__ins_hash(key) & mask;
    while (m->keys[i] && m->keys[i] != key)
        i = (i + 1) & mask;
    if (!m->keys[i]) {
        m->keys[i] = key;
        m->len++;
    }
    m->vals[i] = val;
    return 0;
}

size_t *ouro__ins_map_get(const ins_map *m, uintptr_t key)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1, i = ouro__ins_hash(key) & mask;
    while (m->keys[i]) {
        if (m->keys[i] == key)
            return &m->vals[i];
        i = (i + 1) & mask;
    }
    return NULL;
}

/* ------------------------------------------------------------ arrays */

void *ouro__ins_arr_push(ins_arr *a)
{
    if (a->len == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        void *p = realloc(a->p, cap * a->elem);
        if (!p)
            return NULL;
        a->p = p;
        a->cap = cap;
    }
    void *e = (char *)a->p + a->len++ * a->elem;
    memset(e, 0, a->elem);
    return e;
}

/* ------------------------------------------------------------ string pool */

/* Chunks are at least 64 KiB and never move, so interned strings and the
 * arrays a snapshot keeps in them have stable addresses. */
struct ins_chunk {
    ins_chunk *next;
    size_t used, size;
    _Alignas(16) char data[];
};

void *ouro__ins_pool_alloc(ins_strpool *p, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    ins_chunk *c = p->chunks;
    if (!c || c->size - c->used < size) {
        size_t want = size > 65536 ? size : 65536;
        c = malloc(sizeof *c + want);
        if (!c)
            return NULL;
        c->used = 0;
        c->size = want;
        p->bytes += sizeof *c + want;
        /* A big one-off request goes behind the current chunk so the rest
         * of the current chunk stays in use. */
        if (p->chunks && want == size) {
            c->next = p->chunks->next;
            p->chunks->next = c;
        } else {
            c->next = p->chunks;
            p->chunks = c;
        }
    }
    void *r = c->data + c->used;
    c->used += size;
    return r;
}

static size_t str_hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return (size_t)h;
}

const char *ouro__ins_intern_n(ins_strpool *p, const char *s, size_t n)
{
    if (!s)
        return NULL;
    if ((p->len + 1) * 2 > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        const char **slots = calloc(cap, sizeof *slots);
        if (!slots)
            return NULL;
        for (size_t i = 0; i < p->cap; i++) {
            if (!p->slots[i])
                continue;
            size_t j = str_hash(p->slots[i], strlen(p->slots[i])) & (cap - 1);
            while (slots[j])
                j = (j + 1) & (cap - 1);
            slots[j] = p->slots[i];
        }
        p->bytes += (cap - p->cap) * sizeof *slots;
        free(p->slots);
        p->slots = slots;
        p->cap = cap;
    }
    size_t mask = p->cap - 1, i = str_hash(s, n) & mask;
    while (p->slots[i]) {
        if (strncmp(p->slots[i], s, n) == 0 && p->slots[i][n] == 0)
            return p->slots[i];
        i = (i + 1) & mask;
    }
    char *copy = ouro__ins_pool_alloc(p, n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, n);
    copy[n] = 0;
    p->slots[i] = copy;
    p->len++;
    return copy;
}

const char *ouro__ins_intern(ins_strpool *p, const char *s)
{
    return s ? ouro__ins_intern_n(p, s, strlen(s)) : NULL;
}

void ouro__ins_strpool_fini(ins_strpool *p)
{
    while (p->chunks) {
        ins_chunk *c = p->chunks;
        p->chunks = c->next;
        free(c);
    }
    free(p->slots);
    memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------ text buffer */

void ouro__ins_buf_put(ins_buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void ouro__ins_buf_printf(ins_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        ouro__ins_buf_put(b, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->oom = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    ouro__ins_buf_put(b, big, (size_t)n);
    free(big);
}

/* ------------------------------------------------------------ clocks, RSS */

double ouro__ins_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double ouro__ins_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

size_t ouro__ins_rss(void)
{
    /* read(2) into a stack buffer rather than stdio: no allocation. */
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    char buf[128];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    unsigned long long size = 0, rss = 0;
    if (sscanf(buf, "%llu %llu", &size, &rss) != 2)
        return 0;
    long page = sysconf(_SC_PAGESIZE);
    return (size_t)rss * (size_t)(page > 0 ? page : 4096);
}
