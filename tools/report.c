/*
 * report.c — `ouro report`: one self-contained HTML page from snapshots
 * (the page itself is written by the library: src/inspect/report.c).
 *
 *   ouro report FILE... -o report.html     snapshots (oldest first) to a page
 *   ouro report --demo report.html [--keep DIR]
 *                                          run a small leaky program, take its
 *                                          snapshots, write the page
 */
#include "ouro_inspect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ouro_report_main(int argc, char **argv);

/* ------------------------------------------------------------ the demo */

typedef struct dnode {
    OURO_HEAD;
    ouro_object *ref[3];
} dnode;

static int dn_traverse(ouro_object *self, ouro_visit_fn visit, void *arg)
{
    dnode *n = (dnode *)self;
    for (int i = 0; i < 3; i++)
        if (n->ref[i] && visit(n->ref[i], arg))
            return 1;
    return 0;
}

static void dn_clear(ouro_heap *h, ouro_object *self)
{
    (void)h;
    dnode *n = (dnode *)self;
    for (int i = 0; i < 3; i++)
        ouro_clear(&n->ref[i]);
}

#define DTYPE(var, nm)                                                                 \
    static ouro_type var = {.name = nm, .basic_size = sizeof(dnode),                   \
                            .flags = OURO_TYPE_GC, .traverse = dn_traverse, .clear = dn_clear}
DTYPE(config_type, "Config");
DTYPE(session_type, "Session");
DTYPE(cache_type, "CacheEntry");
DTYPE(request_type, "Request");

/* A macro, so that each caller is its own allocation site. */
#define dn_new(h, t, a, b) dn_init(ouro_new((h), (t)), (a), (b))
static ouro_object *dn_init(ouro_object *o, ouro_object *a, ouro_object *b)
{
    if (o) {
        ouro_setref(&((dnode *)o)->ref[0], a);
        ouro_setref(&((dnode *)o)->ref[1], b);
    }
    return o;
}

__attribute__((noinline)) static ouro_object *load_config(ouro_heap *h)
{
    ouro_object *cfg = NULL;
    for (int i = 0; i < 200; i++) {
        ouro_object *n = dn_new(h, &config_type, cfg, NULL);
        ouro_xdecref(cfg);
        cfg = n;
    }
    return cfg;
}

/* The leak: every request's session is remembered in a cache that nobody
 * trims. */
__attribute__((noinline)) static void remember(ouro_heap *h, ouro_object *cache,
                                               ouro_object *session)
{
    ouro_object *e = dn_new(h, &cache_type, session, ((dnode *)cache)->ref[2]);
    ouro_setref(&((dnode *)cache)->ref[2], e);
    ouro_decref(e);
}

__attribute__((noinline)) static void handle_request(ouro_heap *h, ouro_object *cache, int i)
{
    ouro_object *req = dn_new(h, &request_type, NULL, NULL);
    void *body = ouro_raw_alloc(h, 256 + (i % 7) * 64);
    ouro_object *session = dn_new(h, &session_type, req, NULL);
    ((dnode *)req)->ref[2] = session; /* a cycle the collector frees */
    ouro_incref(session);
    if (i % 4 == 0)
        remember(h, cache, session);
    ouro_raw_free(h, body);
    ouro_decref(session);
    ouro_decref(req);
}

__attribute__((noinline)) static void serve(ouro_heap *h, ouro_object *cache, int n,
                                            ouro_sampler *smp)
{
    for (int i = 0; i < n; i++) {
        handle_request(h, cache, i);
        if (i % 500 == 0)
            ouro_sampler_sample(smp);
    }
}

static int run_demo(const char *dir, char **paths)
{
    ouro_heap *h = ouro_heap_new(NULL);
    if (!h)
        return -1;
    ouro_trace_start(h, 8);
    ouro_sampler *smp = ouro_sampler_new(h, 0.0005);
    ouro_sampler_begin(smp, "load config");
    ouro_object *cfg = load_config(h);
    ouro_sampler_end(smp, "load config");
    ouro_object *cache = dn_new(h, &cache_type, cfg, NULL);
    ouro_sampler_begin(smp, "serve 4000 requests");
    serve(h, cache, 4000, smp);
    ouro_sampler_end(smp, NULL);
    ouro_snapshot *a = ouro_snapshot_take(h, OURO_SNAP_ALL, "after 4000 requests");
    ouro_sampler_begin(smp, "serve 12000 more");
    serve(h, cache, 12000, smp);
    ouro_sampler_end(smp, NULL);
    ouro_gc_collect(h, 2);
    ouro_sampler_sample(smp);
    ouro_snapshot *b = ouro_snapshot_take(h, OURO_SNAP_ALL, "after 16000 requests");
    int rc = a && b ? 0 : -1;
    if (!rc) {
        ouro_snapshot_set_series(a, smp);
        ouro_snapshot_set_series(b, smp);
        snprintf(paths[0], 4096, "%s/demo-a.json", dir);
        snprintf(paths[1], 4096, "%s/demo-b.json", dir);
        rc = ouro_snapshot_save(a, paths[0]) || ouro_snapshot_save(b, paths[1]) ? -1 : 0;
    }
    ouro_snapshot_free(a);
    ouro_snapshot_free(b);
    ouro_sampler_free(smp);
    ouro_decref(cache);
    ouro_decref(cfg);
    ouro_gc_collect(h, 2); /* the request/session cycles */
    ouro_trace_stop(h);
    ouro_heap_free(h);
    return rc;
}

/* ------------------------------------------------------------ main */

static int usage(void)
{
    fputs("usage: ouro report SNAPSHOT.json... -o REPORT.html\n"
          "       ouro report --demo REPORT.html [--keep DIR]\n",
          stderr);
    return 2;
}

int ouro_report_main(int argc, char **argv)
{
    const char *out = NULL, *keep = NULL;
    char **files = calloc((size_t)argc + 2, sizeof *files);
    size_t nfiles = 0;
    int demo = 0;
    if (!files)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--demo") == 0 && i + 1 < argc)
            demo = 1, out = argv[++i];
        else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
            keep = argv[++i];
        else if (argv[i][0] == '-') {
            free(files);
            return usage();
        } else
            files[nfiles++] = argv[i];
    }
    if (!out || (!demo && !nfiles) || (demo && nfiles)) {
        free(files);
        return usage();
    }
    char pa[4096], pb[4096], tmpdir[] = "/tmp/ouro_demo_XXXXXX";
    char *dpaths[2] = {pa, pb};
    if (demo) {
        const char *dir = keep ? keep : mkdtemp(tmpdir);
        if (!dir || run_demo(dir, dpaths) != 0) {
            fprintf(stderr, "ouro report: the demo could not write its snapshots\n");
            free(files);
            return 1;
        }
        files[0] = pa;
        files[1] = pb;
        nfiles = 2;
    }
    ouro_snapshot **snaps = calloc(nfiles, sizeof *snaps);
    int rc = snaps ? 0 : 1;
    for (size_t i = 0; !rc && i < nfiles; i++) {
        char err[512];
        snaps[i] = ouro_snapshot_load(files[i], err, sizeof err);
        if (!snaps[i]) {
            fprintf(stderr, "ouro report: %s\n", err);
            rc = 1;
        }
    }
    if (!rc) {
        if (ouro_report_write(out, snaps, nfiles, (const char *const *)files) != 0) {
            fprintf(stderr, "ouro report: cannot write %s\n", out);
            rc = 1;
        }
        if (!rc)
            printf("ouro report: wrote %s from %zu snapshot%s\n", out, nfiles,
                   nfiles == 1 ? "" : "s");
    }
    for (size_t i = 0; snaps && i < nfiles; i++)
        ouro_snapshot_free(snaps[i]);
    free(snaps);
    if (demo && !keep) {
        remove(pa);
        remove(pb);
        rmdir(tmpdir);
    }
    free(files);
    return rc;
}
