/*
 * fuzz_replay.c — libFuzzer target: any bytes, run as a heaptrace script
 * with ouro's heap checked after every operation.
 *
 * A crash, a sanitizer report, a failed heap check (abort) or a leak (objects
 * alive after the runner's teardown, which drops every root and collects)
 * is a finding.  Nothing is compared with CPython here: that is
 * tests/fuzz/diff_random.py's job, on scripts the oracle can run.
 *
 * Fault injection is part of the input, so that the fuzzer explores the
 * out-of-memory paths too: a first line
 *
 *     #fault alloc=N every=K page=P
 *
 * (any of the three, in any order) sets replay's fail_alloc_at,
 * fail_alloc_every and fail_page_at.  The line is a comment for the script
 * itself, and tests/fuzz/replay_corpus.sh turns it into the matching
 * `ouro replay` options, so every input replays the same way there.
 *
 * Speed: chain/ring macros may ask for a million nodes and the heap check
 * runs after every line, so inputs are capped at MAX_INPUT bytes and the
 * macros of one input at MACRO_BUDGET nodes together (a macro past it is
 * refused as `error nomem`; replay_corpus.sh replays with the same budget).
 * An input that hits either cap is rejected (return -1; libFuzzer 15 and
 * later keep such inputs out of the corpus, 14 ignores it).
 *
 * Mutation: libFuzzer's byte-level mutations find the words of the script
 * language (and the parser's corners) but seldom make a script that does
 * more: a new, well-formed line naming objects the script already has.  A
 * custom mutator therefore works on lines half of the time (insert a
 * generated operation, delete, duplicate or swap lines, swap in another
 * name, change the fault header) and leaves the rest to libFuzzer.
 */
#include "replay.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT 16384
#define MACRO_BUDGET 4096

/*
 * Reads "name=digits" options from the first line when its first word is
 * "#fault"; anything it does not understand is ignored.  Words are split on
 * blanks and tabs, a value is its leading digits (saturating, as strtoull),
 * and a first line with a NUL byte has no options: the rules by which
 * replay_corpus.sh reads the same line with the shell.
 */
static void parse_fault_line(const uint8_t *data, size_t size, replay_options *opt)
{
    static const char tag[] = "#fault";
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl)
        size = (size_t)(nl - data);
    if (size < sizeof tag - 1 || memcmp(data, tag, sizeof tag - 1) != 0 ||
        memchr(data, 0, size))
        return;
    size_t i = sizeof tag - 1;
    if (i < size && data[i] != ' ' && data[i] != '\t')
        return; /* "#faulty": another word */
    while (i < size) {
        while (i < size && (data[i] == ' ' || data[i] == '\t'))
            i++;
        size_t start = i;
        while (i < size && data[i] != '=' && data[i] != ' ' && data[i] != '\t')
            i++;
        size_t klen = i - start;
        if (i >= size || data[i] != '=') {
            while (i < size && data[i] != ' ' && data[i] != '\t')
                i++;
            continue;
        }
        i++;
        uint64_t v = 0;
        while (i < size && data[i] >= '0' && data[i] <= '9') {
            uint64_t d = (uint64_t)(data[i] - '0');
            v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
            i++;
        }
        const char *key = (const char *)data + start;
        if (klen == 5 && memcmp(key, "alloc", 5) == 0)
            opt->fail_alloc_at = v;
        else if (klen == 5 && memcmp(key, "every", 5) == 0)
            opt->fail_alloc_every = v;
        else if (klen == 4 && memcmp(key, "page", 4) == 0)
            opt->fail_page_at = v;
        while (i < size && data[i] != ' ' && data[i] != '\t')
            i++;
    }
}

/* libFuzzer has no way to ship a dictionary inside the target, and `make
 * fuzz` runs the target with the corpus only: when no -dict= is given and
 * PROGRAM.dict exists beside the program, pass it on. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    for (int i = 1; i < *argc; i++)
        if (strncmp((*argv)[i], "-dict=", 6) == 0)
            return 0;
    static char arg[4096 + 16];
    int n = snprintf(arg, sizeof arg, "-dict=%s.dict", (*argv)[0]);
    if (n <= 0 || (size_t)n >= sizeof arg)
        return 0;
    FILE *f = fopen(arg + 6, "r");
    if (!f)
        return 0;
    fclose(f);
    static char **args;
    args = malloc(((size_t)*argc + 2) * sizeof *args);
    if (!args)
        return 0;
    memcpy(args, *argv, (size_t)*argc * sizeof *args);
    args[*argc] = arg;
    args[*argc + 1] = NULL;
    (*argc)++;
    *argv = args;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    if (size > MAX_INPUT)
        return -1;
    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    replay_options opt;
    memset(&opt, 0, sizeof opt);
    opt.check_each = true;
    opt.debug = OURO_DEBUG_CHECKS;
    opt.macro_budget = MACRO_BUDGET;
    parse_fault_line(data, size, &opt);
    replay_stats st;
    int leaks = replay_run_stats((const char *)data, size, devnull, &opt, &st);
    if (leaks < 0 && opt.fail_page_at != 1) {
        /* Only the first page request is the heap's own mapping. */
        fprintf(stderr, "fuzz_replay: heap creation failed without a fault at it\n");
        abort();
    }
    if (leaks > 0) {
        fprintf(stderr, "fuzz_replay: %d objects alive after teardown (leak)\n", leaks);
        abort();
    }
    return st.over_budget ? -1 : 0;
}

/* ------------------------------------------------------------ mutator */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);

typedef struct rng {
    uint64_t s;
} rng;

static uint32_t rnd(rng *g, uint32_t n)
{
    /* xorshift64*: the mutator must be a function of libFuzzer's seed */
    g->s ^= g->s >> 12;
    g->s ^= g->s << 25;
    g->s ^= g->s >> 27;
    uint64_t x = g->s * 0x2545F4914F6CDD1Dull;
    return n ? (uint32_t)((x >> 32) % n) : 0;
}

#define MAX_LINES 4096
#define MAX_NAMES 256

typedef struct text {
    const char *p;
    size_t len;
} text;

typedef struct script {
    text line[MAX_LINES];
    size_t nlines;
    text name[MAX_NAMES]; /* identifiers the script uses as arguments */
    size_t nnames;
} script;

static bool ident_char(char c, bool first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && c >= '0' && c <= '9');
}

static void harvest_names(script *sc, const char *p, size_t len)
{
    size_t i = 0, word = 0;
    while (i < len) {
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        size_t start = i;
        while (i < len && p[i] != ' ' && p[i] != '\t')
            i++;
        if (i == start || word++ == 0 || p[0] == '#')
            continue; /* the operation's own word, or a comment */
        bool ok = ident_char(p[start], true);
        for (size_t k = start + 1; ok && k < i; k++)
            ok = ident_char(p[k], false);
        if (ok && sc->nnames < MAX_NAMES && !(i - start == 2 && !memcmp(p + start, "on", 2)) &&
            !(i - start == 3 && !memcmp(p + start, "off", 3))) {
            sc->name[sc->nnames].p = p + start;
            sc->name[sc->nnames].len = i - start;
            sc->nnames++;
        }
    }
}

static void split_script(script *sc, const char *p, size_t len)
{
    sc->nlines = sc->nnames = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len && sc->nlines < MAX_LINES; i++) {
        if (i == len || p[i] == '\n') {
            if (i == len && start == len)
                break;
            sc->line[sc->nlines].p = p + start;
            sc->line[sc->nlines].len = i - start;
            harvest_names(sc, p + start, i - start);
            sc->nlines++;
            start = i + 1;
        }
    }
}

typedef struct outbuf {
    char *p;
    size_t len, cap;
    bool overflow;
} outbuf;

static void out_add(outbuf *o, const char *s, size_t n)
{
    if (o->len + n > o->cap) {
        o->overflow = true;
        return;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void out_str(outbuf *o, const char *s) { out_add(o, s, strlen(s)); }

/* An existing name, or now and then a new one (or a name that was never
 * made, for the error paths). */
static void out_name(outbuf *o, rng *g, const script *sc)
{
    if (sc->nnames && rnd(g, 8) != 0) {
        const text *t = &sc->name[rnd(g, (uint32_t)sc->nnames)];
        out_add(o, t->p, t->len);
        return;
    }
    char buf[16];
    snprintf(buf, sizeof buf, "z%u", rnd(g, 64));
    out_str(o, buf);
}

static void out_action(outbuf *o, rng *g, const script *sc, bool fin)
{
    static const char *const fins[] = {" fin", " fin=resurrect", " fin=clear", " fin=collect",
                                       " fin=del:", " fin=revive:"};
    static const char *const cbs[] = {" cb", " cb=collect", " cb=del:", " cb=revive:"};
    const char *a = fin ? fins[rnd(g, 6)] : cbs[rnd(g, 4)];
    out_str(o, a);
    if (a[strlen(a) - 1] == ':')
        out_name(o, g, sc);
}

/* One well-formed operation (well-formed in shape: the names it uses may
 * be dead, unknown or of the wrong kind, which the runner must refuse). */
static void out_operation(outbuf *o, rng *g, const script *sc)
{
    static const char *const one_name[] = {"del ", "deref ", "refcount ", "referrers ", "unsave "};
    static const char *const two_names[] = {"link ", "link ", "link ", "unlink ", "set "};
    static const char *const bare[] = {"collect", "collect 0", "collect 1", "probe", "garbage",
                                       "cleargarbage", "clearsaved", "freeze", "unfreeze",
                                       "saveall on", "saveall off", "callbacks on",
                                       "callbacks off"};
    char buf[32];
    switch (rnd(g, 8)) {
    case 0:
        out_str(o, "new ");
        out_name(o, g, sc);
        if (rnd(g, 2))
            out_action(o, g, sc, true);
        break;
    case 1:
        out_str(o, "weak ");
        out_name(o, g, sc);
        out_str(o, " ");
        out_name(o, g, sc);
        if (rnd(g, 3))
            out_action(o, g, sc, false);
        break;
    case 2:
    case 3:
        out_str(o, two_names[rnd(g, 5)]);
        out_name(o, g, sc);
        out_str(o, " ");
        out_name(o, g, sc);
        break;
    case 4:
        out_str(o, one_name[rnd(g, 5)]);
        out_name(o, g, sc);
        break;
    case 5:
        out_str(o, rnd(g, 2) ? "chain " : "ring ");
        out_name(o, g, sc);
        snprintf(buf, sizeof buf, " %u", 1 + rnd(g, rnd(g, 4) ? 8 : 200));
        out_str(o, buf);
        if (rnd(g, 2))
            out_action(o, g, sc, true);
        break;
    default:
        out_str(o, bare[rnd(g, 13)]);
        break;
    }
}

static void out_fault_header(outbuf *o, rng *g)
{
    char buf[64];
    switch (rnd(g, 4)) {
    case 0:
        snprintf(buf, sizeof buf, "#fault alloc=%u", 1 + rnd(g, 200));
        break;
    case 1:
        snprintf(buf, sizeof buf, "#fault alloc=%u every=%u", 1 + rnd(g, 100), 1 + rnd(g, 10));
        break;
    case 2:
        snprintf(buf, sizeof buf, "#fault page=%u", 1 + rnd(g, 4));
        break;
    default:
        buf[0] = 0; /* no faults */
        break;
    }
    out_str(o, buf);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed)
{
    rng g = {((uint64_t)seed << 1) | 1};
    uint32_t what = rnd(&g, 12);
    if (what >= 6 || size > MAX_INPUT)
        return LLVMFuzzerMutate(data, size, max_size);
    static script sc;
    char *copy = malloc(size + 1);
    outbuf o = {malloc(max_size + 1), 0, max_size, false};
    if (!copy || !o.p) {
        free(copy);
        free(o.p);
        return LLVMFuzzerMutate(data, size, max_size);
    }
    memcpy(copy, data, size);
    split_script(&sc, copy, size);
    size_t n = sc.nlines;
    /* the line the mutation is about, and a second one */
    size_t at = rnd(&g, (uint32_t)n + 1), other = n ? rnd(&g, (uint32_t)n) : 0;
    bool header = n && sc.line[0].len >= 6 && memcmp(sc.line[0].p, "#fault", 6) == 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == at && (what == 0 || what == 1)) {
            /* insert one generated operation (twice as likely) */
            out_operation(&o, &g, &sc);
            out_str(&o, "\n");
        }
        if (i == n)
            break;
        if (i == at && what == 2 && n > 1)
            continue; /* delete */
        if (i == 0 && what == 5) {
            /* a new, another or no fault header */
            size_t before = o.len;
            out_fault_header(&o, &g);
            if (o.len != before)
                out_str(&o, "\n");
            if (header)
                continue;
        }
        const text *t = &sc.line[i];
        if (what == 3 && i == at)
            t = &sc.line[other]; /* copy another line over this one */
        if (what == 4 && i == at && sc.nnames) {
            /* the line with one of its names replaced by another */
            const text *nm = &sc.name[rnd(&g, (uint32_t)sc.nnames)];
            const char *hit = NULL;
            for (size_t k = 0; k < sc.nnames && !hit; k++)
                if (sc.name[k].p >= t->p && sc.name[k].p < t->p + t->len)
                    hit = sc.name[k].p;
            if (hit) {
                size_t end = (size_t)(hit - t->p);
                while (end < t->len && t->p[end] != ' ' && t->p[end] != '\t')
                    end++;
                out_add(&o, t->p, (size_t)(hit - t->p));
                out_add(&o, nm->p, nm->len);
                out_add(&o, t->p + end, t->len - end);
                out_str(&o, "\n");
                continue;
            }
        }
        out_add(&o, t->p, t->len);
        out_str(&o, "\n");
    }
    size_t result;
    if (o.overflow || o.len == 0) {
        result = LLVMFuzzerMutate(data, size, max_size);
    } else {
        memcpy(data, o.p, o.len);
        result = o.len;
    }
    free(copy);
    free(o.p);
    return result;
}
