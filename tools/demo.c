/*
 * demo.c — `ouro demo`: the seed tour.
 *
 * The examples of the two seed documents, in the order they tell them:
 * references and reference counts, cycles and the collector, sizes, then
 * the memory-saving techniques (lru_cache, namedtuple and array,
 * generators, weak references, globals, `with`).  Each shows its Python
 * source, line by line, beside what happened in ouro's heap, then what
 * the Python program prints — computed by ouro.  The same programs are
 * built alone from examples/ and checked against python3 by
 * tests/examples_check.py; here they are compiled in (OURO_TOUR drops
 * their main functions).
 */
#define OURO_TOUR 1
#include "../examples/example.h"

#include "../examples/01_references.c"
#include "../examples/02_refcount.c"
#include "../examples/03_cycle.c"
#include "../examples/04_gc_control.c"
#include "../examples/05_getsizeof.c"
#include "../examples/06_lru_cache.c"
#include "../examples/07_namedtuple_array.c"
#include "../examples/08_generator.c"
#include "../examples/09_weakref.c"
#include "../examples/10_globals.c"
#include "../examples/11_with_scope.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct tour_stop {
    const char *name;
    int (*run)(void);
} tour_stop;

static const tour_stop tour[] = {
    {"01_references", example_01_references},
    {"02_refcount", example_02_refcount},
    {"03_cycle", example_03_cycle},
    {"04_gc_control", example_04_gc_control},
    {"05_getsizeof", example_05_getsizeof},
    {"06_lru_cache", example_06_lru_cache},
    {"07_namedtuple_array", example_07_namedtuple_array},
    {"08_generator", example_08_generator},
    {"09_weakref", example_09_weakref},
    {"10_globals", example_10_globals},
    {"11_with_scope", example_11_with_scope},
};

static void usage_list(void)
{
    printf("examples:");
    for (size_t i = 0; i < sizeof tour / sizeof tour[0]; i++)
        printf(" %s", tour[i].name);
    printf("\n");
}

int ouro_report_main(int argc, char **argv);

int ouro_demo_main(int argc, char **argv)
{
    /* `ouro demo [--report FILE.html] [NAME...]` runs the stops (or those
     * whose names start with a NAME) and, with --report, renders what the
     * heaps did into an HTML report. */
    const char *report = NULL;
    char tmpdir[] = "/tmp/ouro_tour_XXXXXX";
    if (argc > 2 && strcmp(argv[1], "--report") == 0) {
        report = argv[2];
        argv[2] = argv[0];
        argv += 2;
        argc -= 2;
        ex_rec.dir = mkdtemp(tmpdir);
        if (!ex_rec.dir) {
            fprintf(stderr, "ouro demo: cannot make a directory for the snapshots\n");
            return 1;
        }
    }
    int only = argc > 1;
    if (only && strcmp(argv[1], "--list") == 0) {
        usage_list();
        return 0;
    }
    printf("ouro %s — the seed tour\n\n"
           "Python's memory management, example by example, on ouro's heap.\n"
           "Left: the Python original.  Right (after │): what ouro's heap did.\n"
           "Lines starting with > are what the Python program prints, computed by\n"
           "ouro.  Every example runs in a fresh heap, checked empty at the end.\n",
           ouro_version());
    int failed = 0, ran = 0;
    for (size_t i = 0; i < sizeof tour / sizeof tour[0]; i++) {
        int wanted = !only;
        for (int k = 1; k < argc; k++)
            if (strncmp(tour[i].name, argv[k], strlen(argv[k])) == 0)
                wanted = 1;
        if (!wanted)
            continue;
        ran++;
        ex_rec.name = tour[i].name;
        failed += tour[i].run() != 0;
    }
    if (ran == 0) {
        fprintf(stderr, "ouro demo: no example matches\n");
        usage_list();
        return 2;
    }
    printf("\n%d example%s, %s\n", ran, ran == 1 ? "" : "s",
           failed ? "SOME HEAPS NOT EMPTY" : "every heap ended empty");
    if (report) {
        /* One snapshot per example, in tour order, rendered as one page. */
        char *rargv[sizeof tour / sizeof tour[0] + 4];
        char paths[sizeof tour / sizeof tour[0]][4200];
        int n = 0;
        rargv[n++] = "report";
        for (size_t i = 0; i < sizeof tour / sizeof tour[0]; i++) {
            snprintf(paths[i], sizeof paths[i], "%s/%s.json", ex_rec.dir, tour[i].name);
            FILE *f = fopen(paths[i], "r");
            if (f) {
                fclose(f);
                rargv[n++] = paths[i];
            }
        }
        rargv[n++] = "-o";
        rargv[n++] = (char *)report;
        if (n == 3) {
            fprintf(stderr, "ouro demo: no snapshot was written\n");
            return 1;
        }
        int rc = ouro_report_main(n, rargv);
        for (size_t i = 0; i < sizeof tour / sizeof tour[0]; i++)
            remove(paths[i]);
        rmdir(ex_rec.dir);
        if (rc != 0)
            return rc;
        printf("the tour's report: %s\n", report);
    }
    return failed ? 1 : 0;
}
