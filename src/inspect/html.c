/*
 * html.c — the text pieces of the HTML report: escaping, human-readable
 * sizes, and a frame as a label ("func (file.c:12)").
 *
 * Owns: ouro__ins_html, ouro__ins_human, ouro__ins_basename,
 * ouro__ins_site_label.  Calls no other file of src/inspect; report.c and
 * flame.c use it.
 */
#include "inspect.h"

void ouro__ins_html(FILE *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", o); break;
        case '>': fputs("&gt;", o); break;
        case '&': fputs("&amp;", o); break;
        case '"': fputs("&quot;", o); break;
        default: fputc(*s, o);
        }
    }
}

const char *ouro__ins_basename(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "<unknown>";
}

void ouro__ins_site_label(char *buf, size_t n, const ouro_frame *f)
{
    if (!f || (!f->file && !f->func))
        snprintf(buf, n, "<unknown>");
    else if (f->func)
        snprintf(buf, n, "%s (%s:%d)", f->func, ouro__ins_basename(f->file), f->line);
    else
        snprintf(buf, n, "%s:%d", ouro__ins_basename(f->file), f->line);
}

void ouro__ins_human(char *buf, size_t n, double b)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    double a = b < 0 ? -b : b;
    while (a >= 1024 && i < 4) {
        a /= 1024;
        b /= 1024;
        i++;
    }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, u[i]);
}
