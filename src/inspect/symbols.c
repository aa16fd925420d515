/*
 * symbols.c — naming native frames, and telling ouro's code from the
 * program's.
 *
 * A symbolizer maps a return address to function, file and line: libdw
 * (DWARF line tables, works for static executables) when built with it,
 * else dladdr (exported symbols only).  Results are cached per address
 * and their strings interned.  The resident set that loading debug
 * information makes grow is counted process-wide (ouro__ins_tools_rss),
 * so the profilers can leave their own memory out of the program's.
 *
 * Owns: ins_sym (ouro__ins_sym_*), ouro__ins_lib_file, ouro__ins_tools_rss.
 * Calls only util.c (string pool, RSS).
 */
#define _GNU_SOURCE /* dladdr and Dl_info when libdw is absent */
#include "inspect.h"

#include <fcntl.h>
#include <unistd.h>

#include <dlfcn.h>
#include <link.h>
#if defined(OURO_HAVE_LIBDW)
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#endif

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
