/*
 * flame.c — the allocation flame graph of the HTML report: the traceback
 * tree of a snapshot's live bytes, outermost frame at the bottom, drawn as
 * SVG rectangles (a few per tree node; no library needed).
 *
 * The tree is malloc'd for one drawing and freed after; a tree node's
 * width is its bytes over the snapshot's total, and nodes narrower than
 * half a pixel are not drawn.
 *
 * Owns: ouro__ins_flame_graph.  Calls html.c (escaping, sizes, labels).
 */
#include "inspect.h"

typedef struct fnode {
    char *label;
    size_t bytes;
    struct fnode **kids;
    size_t nkids, capkids;
} fnode;

static fnode *fchild(fnode *p, const char *label)
{
    for (size_t i = 0; i < p->nkids; i++)
        if (strcmp(p->kids[i]->label, label) == 0)
            return p->kids[i];
    if (p->nkids == p->capkids) {
        size_t cap = p->capkids ? p->capkids * 2 : 4;
        fnode **k = realloc(p->kids, cap * sizeof *k);
        if (!k)
            return NULL;
        p->kids = k;
        p->capkids = cap;
    }
    fnode *c = calloc(1, sizeof *c);
    if (!c || !(c->label = strdup(label))) {
        free(c);
        return NULL;
    }
    p->kids[p->nkids++] = c;
    return c;
}

static void ffree(fnode *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        ffree(n->kids[i]);
    free(n->kids);
    free(n->label);
    free(n);
}

static int fdepth(const fnode *n)
{
    int d = 0;
    for (size_t i = 0; i < n->nkids; i++) {
        int k = fdepth(n->kids[i]);
        if (k > d)
            d = k;
    }
    return d + 1;
}

static int cmp_kids(const void *a, const void *b)
{
    const fnode *x = *(fnode *const *)a, *y = *(fnode *const *)b;
    return strcmp(x->label, y->label);
}

static unsigned color_of(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

#define FLAME_W 1160.0
#define FLAME_ROW 18

/* Roots at the bottom (outermost frame), allocation sites on top, as in
 * Brendan Gregg's flame graphs; children sorted by name so that the same
 * program draws the same picture. */
static void fdraw(FILE *o, fnode *n, double x, int depth, int maxdepth, double scale,
                  size_t *rects)
{
    double w = n->bytes * scale;
    if (w < 0.5)
        return;
    double y = (maxdepth - depth - 1) * FLAME_ROW;
    unsigned c = color_of(n->label);
    char sz[32];
    ouro__ins_human(sz, sizeof sz, (double)n->bytes);
    fprintf(o, "<g><title>");
    ouro__ins_html(o, n->label);
    fprintf(o, " — %s</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" "
               "fill=\"rgb(%u,%u,%u)\" rx=\"2\"/>",
            sz, x, y, w, FLAME_ROW - 1, 205 + (c % 50), 80 + (c >> 8) % 110, 40 + (c >> 16) % 50);
    if (w > 40) {
        int chars = (int)(w / 6.5);
        char text[256];
        snprintf(text, sizeof text, "%s", n->label);
        if ((int)strlen(text) > chars && chars > 2) {
            text[chars - 2] = 0;
            strcat(text, "..");
        }
        fprintf(o, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + 13);
        ouro__ins_html(o, text);
        fputs("</text>", o);
    }
    fputs("</g>\n", o);
    (*rects)++;
    if (n->nkids)
        qsort(n->kids, n->nkids, sizeof *n->kids, cmp_kids);
    double cx = x;
    for (size_t i = 0; i < n->nkids; i++) {
        fdraw(o, n->kids[i], cx, depth + 1, maxdepth, scale, rects);
        cx += n->kids[i]->bytes * scale;
    }
}

void ouro__ins_flame_graph(FILE *o, const ouro_snapshot *s)
{
    fnode *root = calloc(1, sizeof *root);
    if (!root || !(root->label = strdup("all"))) {
        free(root);
        return;
    }
    for (size_t i = 0; i < s->ntraces; i++) {
        const ouro_trace *t = &s->traces[i];
        size_t bytes = t->size * t->count;
        root->bytes += bytes;
        fnode *n = root;
        /* Outermost frame first: frames[0] is the allocation site. */
        for (int k = t->nframes - 1; k >= 0 && n; k--) {
            char label[512];
            ouro__ins_site_label(label, sizeof label, &t->frames[k]);
            n = fchild(n, label);
            if (n)
                n->bytes += bytes;
        }
    }
    if (!root->bytes) {
        fputs("<p class=\"note\">No traces in the last snapshot (tracing was off).</p>\n", o);
        ffree(root);
        return;
    }
    int depth = fdepth(root);
    size_t rects = 0;
    fprintf(o, "<svg id=\"flame\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
               "height=\"%d\" font-family=\"sans-serif\" font-size=\"11\">\n",
            FLAME_W, depth * FLAME_ROW);
    fdraw(o, root, 0, 0, depth, FLAME_W / (double)root->bytes, &rects);
    fprintf(o, "</svg>\n<p class=\"note\" id=\"flame-info\" data-rects=\"%zu\">%zu frames, "
               "%d levels; hover a box for its bytes.</p>\n",
            rects, rects, depth);
    ffree(root);
}
