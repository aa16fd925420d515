/*
 * peer.h — the allocator a peer program is built against, chosen at build
 * time with one PEER_* definition (bench/CMakeLists.txt builds each peer
 * program once per peer):
 *
 *   PEER_GLIBC     malloc/free from the C library
 *   PEER_MIMALLOC  mi_malloc/mi_free (called by name, so that the peer is
 *                  mimalloc even if the link order changed which malloc wins)
 *   PEER_JEMALLOC  malloc/free with libjemalloc linked: Debian's jemalloc
 *                  has no symbol prefix and replaces malloc; peer_init()
 *                  asks mallctl for its version, which proves it is linked
 *   PEER_BOEHM     GC_MALLOC; peer_free is GC_FREE, used only where a
 *                  workload frees explicitly (the allocator workload).
 *                  Programs that model garbage collection leave the memory
 *                  to the collector (PEER_COLLECTS).
 *   PEER_CPYTHON   PyObject_Malloc/PyObject_Free of an embedded CPython:
 *                  the pool allocator ouro's pools are modelled on
 *   PEER_OURO      ouro_raw_alloc/ouro_raw_free on one heap
 *
 * peer_init() prints "@peer <name> <version>" so that the results record
 * what actually ran.
 */
#ifndef BENCH_PEER_H
#define BENCH_PEER_H

#include "common.h"

#if defined(PEER_GLIBC)
#include <gnu/libc-version.h>
#include <malloc.h>
#define PEER_NAME "glibc"
static inline void peer_init(void) { printf("@peer glibc %s\n", gnu_get_libc_version()); }
static inline void *peer_alloc(size_t n) { return malloc(n); }
static inline void peer_free(void *p) { free(p); }
static inline void peer_trim(void) { malloc_trim(0); }

#elif defined(PEER_MIMALLOC)
#include <mimalloc.h>
#define PEER_NAME "mimalloc"
static inline void peer_init(void)
{
    int v = mi_version();
    printf("@peer mimalloc %d.%d.%d\n", v / 100, (v / 10) % 10, v % 10);
}
static inline void *peer_alloc(size_t n) { return mi_malloc(n); }
static inline void peer_free(void *p) { mi_free(p); }
static inline void peer_trim(void) { mi_collect(true); }

#elif defined(PEER_JEMALLOC)
#include <jemalloc/jemalloc.h>
#define PEER_NAME "jemalloc"
static inline void peer_init(void)
{
    const char *v = NULL;
    size_t len = sizeof v;
    if (mallctl("version", &v, &len, NULL, 0) != 0 || !v)
        bench_die("jemalloc is not the linked allocator");
    printf("@peer jemalloc %s\n", v);
}
static inline void *peer_alloc(size_t n) { return malloc(n); }
static inline void peer_free(void *p) { free(p); }
#define PEER_STR2(x) #x
#define PEER_STR(x) PEER_STR2(x)
static inline void peer_trim(void)
{
    mallctl("arena." PEER_STR(MALLCTL_ARENAS_ALL) ".purge", NULL, NULL, NULL, 0);
}

#elif defined(PEER_BOEHM)
#include <gc.h>
#define PEER_NAME "boehm"
#define PEER_COLLECTS 1
static inline void peer_init(void)
{
    GC_INIT();
    unsigned v = GC_get_version();
    printf("@peer boehm %u.%u.%u\n", v >> 16, (v >> 8) & 0xff, v & 0xff);
}
static inline void *peer_alloc(size_t n) { return GC_MALLOC(n); }
static inline void peer_free(void *p) { GC_FREE(p); }
static inline void peer_trim(void) { GC_gcollect_and_unmap(); }

#elif defined(PEER_CPYTHON)
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#define PEER_NAME "cpython"
static inline void peer_init(void)
{
    Py_InitializeEx(0);
    printf("@peer cpython %s\n", PY_VERSION);
}
static inline void *peer_alloc(size_t n) { return PyObject_Malloc(n); }
static inline void peer_free(void *p) { PyObject_Free(p); }
#define PEER_NO_TRIM 1 /* obmalloc has no trim; its arenas go back when empty */
static inline void peer_trim(void) {}

#elif defined(PEER_OURO)
#include "ouro.h"
#define PEER_NAME "ouro"
static ouro_heap *peer_heap;
static inline void peer_init(void)
{
    peer_heap = ouro_heap_new(NULL);
    if (!peer_heap)
        bench_die("ouro_heap_new failed");
    printf("@peer ouro %s\n", ouro_version());
}
static inline void *peer_alloc(size_t n) { return ouro_raw_alloc(peer_heap, n); }
static inline void peer_free(void *p) { ouro_raw_free(peer_heap, p); }
static inline void peer_trim(void) { ouro_heap_trim(peer_heap); }
#define PEER_HEAP peer_heap

#else
#error "define one PEER_* (see peer.h)"
#endif

#endif
