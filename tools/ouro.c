/*
 * ouro — the command-line program.
 *
 *   ouro replay [--check] [--fail-alloc N] SCRIPT|-   run a heaptrace script, print its log
 *   ouro demo                                         the reference-counting tour
 *   ouro report SNAPSHOT... -o REPORT.html            an HTML memory report (report.c)
 *   ouro version
 */
#include "ouro_inspect.h"
#include "replay.h"

#include <stdlib.h>
#include <string.h>

int ouro_demo_main(int argc, char **argv);
int ouro_report_main(int argc, char **argv);

static char *read_all(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (n < cap)
            break;
        cap *= 2;
        char *nb = realloc(buf, cap);
        if (!nb) {
            free(buf);
            buf = NULL;
        }
        buf = nb;
    }
    if (f != stdin)
        fclose(f);
    *len = n;
    return buf;
}

static int usage(void)
{
    fputs("usage: ouro replay [--check] [--shared] [--fail-alloc N] [--fail-every K] SCRIPT|-\n"
          "       ouro demo\n"
          "       ouro version\n",
          stderr);
    return 2;
}

static int cmd_replay(int argc, char **argv)
{
    replay_options opt;
    memset(&opt, 0, sizeof opt);
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0) {
            opt.check_each = true;
            opt.debug = OURO_DEBUG_CHECKS;
        } else if (strcmp(argv[i], "--shared") == 0) {
            opt.shared = true; /* a shared heap, driven by this one thread */
        } else if (strcmp(argv[i], "--fail-alloc") == 0 && i + 1 < argc) {
            opt.fail_alloc_at = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--fail-every") == 0 && i + 1 < argc) {
            opt.fail_alloc_every = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--fail-page") == 0 && i + 1 < argc) {
            opt.fail_page_at = strtoull(argv[++i], NULL, 10);
        } else if (!path) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if (!path)
        return usage();
    size_t len;
    char *text = read_all(path, &len);
    if (!text) {
        fprintf(stderr, "ouro replay: cannot read %s\n", path);
        return 1;
    }
    int leaks = replay_run(text, len, stdout, &opt);
    free(text);
    if (leaks < 0) {
        fprintf(stderr, "ouro replay: cannot create a heap\n");
        return 1;
    }
    if (leaks > 0) {
        fprintf(stderr, "ouro replay: %d objects alive after teardown\n", leaks);
        return 3;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    if (strcmp(argv[1], "replay") == 0)
        return cmd_replay(argc - 1, argv + 1);
    if (strcmp(argv[1], "demo") == 0)
        return ouro_demo_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "report") == 0)
        return ouro_report_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "version") == 0) {
        printf("ouro %s\n", ouro_version());
        return 0;
    }
    return usage();
}
