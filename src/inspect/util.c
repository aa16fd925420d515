/*
 * util.c — the small containers of src/inspect (all on malloc, see
 * inspect.h), the native-frame symbolizer, clocks and RSS.
 */
#define _GNU_SOURCE /* dladdr and Dl_info when libdw is absent */
#include "inspect.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <dlfcn.h>
#include <link.h>
#if defined(OURO_HAVE_LIBDW)
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#endif

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

/* ------------------------------------------------------------ ouro's code
 *
 * The tools name the program's lines, so they must tell ouro's code from
 * the program's, and never by function names (a program may well have a
 * function called `record`).  Two facts do it:
 *
 *   - ouro's sources are the files under the `src/` directory this file is
 *     in: a site (a __FILE__ the allocation macros captured) is ouro's when
 *     it starts with the same directory as this file's own __FILE__, the
 *     two being spelled by the same build.
 *   - ouro's machine code: when ouro is a shared library (libouro.so), its
 *     executable segments, found from the address of a function of ours
 *     (dladdr, dl_iterate_phdr); when it is linked statically, its code
 *     lies among the program's in one executable, and a native frame is
 *     ouro's when the compilation unit holding it (DWARF, libdw) is one of
 *     ouro's sources, by the rule above.
 *
 * Limits: a static build without libdw, or without debug information,
 * cannot tell (ouro__ins_sym_is_lib answers -1, and the tracer falls back
 * to the site's function name); a program whose own sources are compiled
 * from under ouro's src/ directory would be taken for ouro. */

static size_t lib_root_len(void)
{
    const char *f = __FILE__, *root = NULL;
    for (const char *p = f; (p = strstr(p, "src/")) != NULL; p++)
        if (p == f || p[-1] == '/')
            root = p;
    return root ? (size_t)(root - f) + 4 : 0;
}

int ouro__ins_lib_file(const char *file)
{
    size_t n = lib_root_len();
    return file && n && strncmp(file, __FILE__, n) == 0;
}

/* ------------------------------------------------------------ symbolizer */

/* The resident set that symbolizers made grow, process-wide because the
 * resident set is: a sampler of one heap must leave out the DWARF another
 * heap's tracer loaded. */
static _Atomic size_t g_tools_rss;

size_t ouro__ins_tools_rss(void) { return g_tools_rss; }

typedef struct sym_ent {
    ouro_frame f;
    int lib; /* ouro__ins_sym_is_lib's answer */
} sym_ent;

struct ins_sym {
    ins_strpool pool;
    ins_map cache; /* ip -> index into frames */
    ins_arr frames; /* sym_ent */
    /* libouro.so's executable segments, when ouro is a shared library */
    uintptr_t text_lo[4], text_hi[4];
    int ntext;
    size_t rss; /* resident set growth while symbolizing (g_tools_rss) */
#if defined(OURO_HAVE_LIBDW)
    Dwfl *dwfl;
    int dwfl_failed;
#endif
};

typedef struct text_find {
    uintptr_t addr;
    ins_sym *s;
} text_find;

/* dl_iterate_phdr's visitor: the object holding `addr`, if its file is
 * libouro, gives its executable PT_LOAD segments. */
static int text_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    text_find *tf = arg;
    int holds = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && tf->addr >= lo && tf->addr < lo + ph->p_memsz)
            holds = 1;
    }
    if (!holds)
        return 0;
    const char *name = info->dlpi_name ? strrchr(info->dlpi_name, '/') : NULL;
    name = name ? name + 1 : info->dlpi_name;
    if (!name || strncmp(name, "libouro", 7) != 0)
        return 1; /* ouro is inside another object: linked statically */
    for (int i = 0; i < info->dlpi_phnum && tf->s->ntext < 4; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            tf->s->text_lo[tf->s->ntext] = info->dlpi_addr + ph->p_vaddr;
            tf->s->text_hi[tf->s->ntext++] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        }
    }
    return 1;
}

ins_sym *ouro__ins_sym_new(void)
{
    ins_sym *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->frames = INS_ARR(sym_ent);
    if (ouro__ins_map_init(&s->cache, 64) < 0) {
        free(s);
        return NULL;
    }
    text_find tf = {(uintptr_t)&ouro__ins_sym_new, s};
    dl_iterate_phdr(text_visit, &tf);
    return s;
}

void ouro__ins_sym_free(ins_sym *s)
{
    if (!s)
        return;
#if defined(OURO_HAVE_LIBDW)
    if (s->dwfl)
        dwfl_end(s->dwfl);
#endif
    g_tools_rss -= s->rss;
    ouro__ins_map_fini(&s->cache);
    free(s->frames.p);
    ouro__ins_strpool_fini(&s->pool);
    free(s);
}

size_t ouro__ins_sym_memory(const ins_sym *s)
{
    if (!s)
        return 0;
    return sizeof *s + s->pool.bytes + s->cache.cap * (sizeof(uintptr_t) + sizeof(size_t)) +
           s->frames.cap * s->frames.elem;
}

#if defined(OURO_HAVE_LIBDW)
/* Whether the compilation unit holding `at` is one of ouro's sources; -1
 * without debug information.  The unit's name is the path the compiler
 * was given, relative to its compilation directory when not absolute. */
static int cu_is_lib(Dwfl_Module *m, uintptr_t at)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(m, at, &bias);
    const char *name = cu ? dwarf_diename(cu) : NULL;
    if (!name)
        return -1;
    if (name[0] == '/' || ouro__ins_lib_file(name))
        return ouro__ins_lib_file(name);
    Dwarf_Attribute attr;
    const char *dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
    char path[4096];
    if (!dir || snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return ouro__ins_lib_file(name);
    return ouro__ins_lib_file(path);
}
#endif

static void resolve(ins_sym *s, uintptr_t ip, ouro_frame *f, int *lib)
{
    memset(f, 0, sizeof *f);
    *lib = -1;
    f->ip = ip;
    /* A return address points after the call; the call's line is at ip-1. */
    uintptr_t at = ip ? ip - 1 : ip;
    for (int i = 0; i < s->ntext; i++)
        if (at >= s->text_lo[i] && at < s->text_hi[i])
            *lib = 1;
    if (s->ntext && *lib < 0)
        *lib = 0;
#if defined(OURO_HAVE_LIBDW)
    if (!s->dwfl && !s->dwfl_failed) {
        static const Dwfl_Callbacks cb = {
            .find_elf = dwfl_linux_proc_find_elf,
            .find_debuginfo = dwfl_standard_find_debuginfo,
        };
        s->dwfl = dwfl_begin(&cb);
        if (!s->dwfl || dwfl_linux_proc_report(s->dwfl, getpid()) != 0 ||
            dwfl_report_end(s->dwfl, NULL, NULL) != 0) {
            if (s->dwfl)
                dwfl_end(s->dwfl);
            s->dwfl = NULL;
            s->dwfl_failed = 1;
        }
    }
    if (s->dwfl) {
        Dwfl_Module *m = dwfl_addrmodule(s->dwfl, at);
        if (m) {
            const char *name = dwfl_module_addrname(m, at);
            f->func = ouro__ins_intern(&s->pool, name);
            Dwfl_Line *l = dwfl_module_getsrc(m, at);
            int line = 0;
            const char *file = l ? dwfl_lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
            if (file) {
                f->file = ouro__ins_intern(&s->pool, file);
                f->line = line;
            } else {
                const char *mod = dwfl_module_info(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                f->file = ouro__ins_intern(&s->pool, mod);
            }
            if (*lib < 0)
                *lib = cu_is_lib(m, at);
        }
    }
#endif
#if !defined(OURO_HAVE_LIBDW)
    Dl_info info;
    if (dladdr((void *)at, &info)) {
        f->func = ouro__ins_intern(&s->pool, info.dli_sname);
        f->file = ouro__ins_intern(&s->pool, info.dli_fname);
    }
#endif
}

static int sym_get(ins_sym *s, uintptr_t ip, ouro_frame *out)
{
    size_t *v = ouro__ins_map_get(&s->cache, ip);
    if (v) {
        *out = INS_AT(&s->frames, sym_ent, *v).f;
        return INS_AT(&s->frames, sym_ent, *v).lib;
    }
    int lib;
    /* Naming a frame may load a module's DWARF (megabytes, once): the
     * growth of the resident set meanwhile is the tools' memory, not the
     * program's.  Two reads of /proc per distinct address. */
    size_t before = ouro__ins_rss();
    resolve(s, ip, out, &lib);
    size_t after = ouro__ins_rss();
    if (after > before) {
        s->rss += after - before;
        g_tools_rss += after - before;
    }
    sym_ent *slot = ouro__ins_arr_push(&s->frames);
    if (slot && ouro__ins_map_put(&s->cache, ip, s->frames.len - 1) == 0)
        *slot = (sym_ent){*out, lib};
    else if (slot)
        s->frames.len--;
    return lib;
}

void ouro__ins_sym_lookup(ins_sym *s, uintptr_t ip, ouro_frame *out) { sym_get(s, ip, out); }

int ouro__ins_sym_is_lib(ins_sym *s, uintptr_t ip)
{
    ouro_frame f;
    return sym_get(s, ip, &f);
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
