/*
 * report.c — the HTML memory report: one self-contained page from
 * snapshots (ouro_report_write; `ouro report` in tools/report.c, and
 * OURO_REPORT=path.html at heap free, src/inspect/env.c).
 *
 * The page needs no network: Chart.js (Debian's libjs-chart.js, or the file
 * named by $OURO_CHARTJS) is copied into it, the flame graph is SVG drawn
 * here, and the object graph is Graphviz's SVG, inlined.  Every number the
 * page shows comes from the snapshots through the public API, so the page
 * is a thin layer over data a program can read itself.
 *
 * Sections: memory over time (the sampler's series, with marks as shaded
 * regions), top types, top allocation sites, growth between the first and
 * the last snapshot, an allocation flame graph (the traceback tree, widths
 * proportional to bytes) and the graph around the largest leak suspects.
 * After drawing, the page's script sets data-drawn="1" on each chart's
 * canvas and data-charts-drawn on <body>: tests/report_check.py reads them.
 *
 * Owns: ouro_report_write, the page's sections, tables, data, style and
 * script, and the graph picture (Graphviz's SVG, zoom and pan).  Calls
 * flame.c (the flame graph), html.c (escaping, sizes, frame labels),
 * trace_stats.c (top sites, growth by site), census.c (growth by type),
 * graph.c (DOT and its rendering) and util.c.
 */
#include "inspect.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_CHARTJS "/usr/share/javascript/chart.js/chart.min.js"

/* ------------------------------------------------------------ escaping */

/* A JSON string safe inside <script>: "<" is written as \u003c so no
 * "</script>" or "<!--" can appear. */
static void jstr(FILE *o, const char *s)
{
    if (!s) {
        fputs("null", o);
        return;
    }
    fputc('"', o);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(o, "\\%c", *p);
        else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
            fprintf(o, "\\u%04x", *p);
        else
            fputc(*p, o);
    }
    fputc('"', o);
}

/* ------------------------------------------------------------ graph picture */

static int graph_svg(FILE *o, const ouro_snapshot *s)
{
    if (!s->graph.nnodes)
        return 0;
    char dot[] = "/tmp/ouro_report_XXXXXX";
    int fd = mkstemp(dot);
    if (fd < 0)
        return 0;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        remove(dot);
        return 0;
    }
    ouro_graph_write_dot(&s->graph, f);
    fclose(f);
    char svg[64];
    snprintf(svg, sizeof svg, "%s.svg", dot);
    int rc = ouro_dot_render(dot, svg, "svg");
    int ok = 0;
    if (rc == 0 && (f = fopen(svg, "r")) != NULL) {
        /* Inline the <svg> element, without the XML prolog and doctype. */
        char line[4096];
        int in = 0;
        fputs("<div class=\"zoombar\" id=\"graph-zoom\"><button type=\"button\" data-z=\"in\">"
              "+</button><button type=\"button\" data-z=\"out\">&minus;</button><button "
              "type=\"button\" data-z=\"fit\">fit</button> <span class=\"note\">wheel: zoom "
              "at the pointer; drag: pan</span></div>\n<div id=\"graph\">\n",
              o);
        while (fgets(line, sizeof line, f)) {
            if (!in && strstr(line, "<svg"))
                in = 1;
            if (in)
                fputs(line, o);
        }
        fputs("</div>\n", o);
        fclose(f);
        ok = 1;
    } else {
        /* No Graphviz: show the DOT text, which says the same. */
        fputs("<p class=\"note\">Graphviz <code>dot</code> is not installed; the graph in DOT "
              "form:</p><pre>",
              o);
        if ((f = fopen(dot, "r")) != NULL) {
            char line[4096];
            while (fgets(line, sizeof line, f))
                ouro__ins_html(o, line);
            fclose(f);
        }
        fputs("</pre>\n", o);
    }
    remove(dot);
    remove(svg);
    return ok;
}

/* ------------------------------------------------------------ page */

static const char *snap_name(const ouro_snapshot *s, size_t i, char *buf, size_t n)
{
    if (s->label)
        return s->label;
    snprintf(buf, n, "snapshot %zu", i + 1);
    return buf;
}

static void write_js_data(FILE *o, ouro_snapshot *const *snaps, size_t nsnaps)
{
    const ouro_snapshot *last = snaps[nsnaps - 1], *first = snaps[0];
    /* The series: the snapshot with the most points. */
    const ouro_snapshot *ser = NULL;
    for (size_t i = 0; i < nsnaps; i++)
        if (snaps[i]->nseries && (!ser || snaps[i]->nseries > ser->nseries))
            ser = snaps[i];
    fputs("{\"series\":[", o);
    for (size_t i = 0; ser && i < ser->nseries; i++) {
        const ouro_series_point *p = &ser->series[i];
        /* RSS is the program's: the tools' own memory is its own series. */
        size_t tools = p->tools_bytes < p->rss_bytes ? p->tools_bytes : p->rss_bytes;
        fprintf(o, "%s[%.6f,%zu,%zu,%zu,%zu,%zu]", i ? "," : "", p->t, p->heap_bytes,
                p->rss_bytes - tools, p->traced_bytes, p->objects, tools);
    }
    fputs("],\"marks\":[", o);
    for (size_t i = 0; ser && i < ser->nmarks; i++) {
        fputs(i ? ",[" : "[", o);
        jstr(o, ser->marks[i].name);
        fprintf(o, ",%.6f,%.6f,%d]", ser->marks[i].begin, ser->marks[i].end, ser->marks[i].depth);
    }
    /* Top types by heap bytes. */
    fputs("],\"types\":[", o);
    ouro_type_count *tc = malloc((last->ncensus + 1) * sizeof *tc);
    size_t ntc = 0;
    if (tc) {
        if (last->ncensus)
            memcpy(tc, last->census, last->ncensus * sizeof *tc);
        ntc = last->ncensus;
        for (size_t i = 1; i < ntc; i++) /* insertion sort by block bytes */
            for (size_t j = i; j > 0 && tc[j].block_bytes > tc[j - 1].block_bytes; j--) {
                ouro_type_count t = tc[j];
                tc[j] = tc[j - 1];
                tc[j - 1] = t;
            }
    }
    for (size_t i = 0; i < ntc && i < 15; i++) {
        fputs(i ? ",[" : "[", o);
        jstr(o, tc[i].name);
        fprintf(o, ",%zu,%zu]", tc[i].block_bytes, tc[i].count);
    }
    free(tc);
    fputs("],\"sites\":[", o);
    size_t n = 0;
    ouro_trace_stat *st = ouro_snapshot_statistics(last, OURO_STAT_LINE, 0, &n);
    for (size_t i = 0; st && i < n && i < 15; i++) {
        char label[512];
        ouro__ins_site_label(label, sizeof label, &st[i].frames[0]);
        fputs(i ? ",[" : "[", o);
        jstr(o, label);
        fprintf(o, ",%zu,%zu]", st[i].size, st[i].count);
    }
    ouro_inspect_free(st);
    fputs("],\"growth\":[", o);
    if (nsnaps > 1) {
        ouro_type_diff *d =
            ouro_census_diff(last->census, last->ncensus, first->census, first->ncensus, &n);
        for (size_t i = 0; d && i < n && i < 15; i++) {
            fputs(i ? ",[" : "[", o);
            jstr(o, d[i].name);
            fprintf(o, ",%lld,%lld]", d[i].size_diff, d[i].count_diff);
        }
        ouro_inspect_free(d);
    }
    fputs("]}", o);
}

static void tables(FILE *o, ouro_snapshot *const *snaps, size_t nsnaps)
{
    const ouro_snapshot *last = snaps[nsnaps - 1], *first = snaps[0];
    char a[32], b[32], c[32], nb[64];
    fputs("<h2>Snapshots</h2>\n<table><tr><th>snapshot</th><th>heap bytes</th><th>objects"
          "</th><th>mapped</th><th>traced (peak)</th><th>leak groups</th>"
          "<th>profiler overhead</th></tr>\n",
          o);
    for (size_t i = 0; i < nsnaps; i++) {
        const ouro_snapshot *s = snaps[i];
        ouro__ins_human(a, sizeof a, (double)s->heap.bytes_in_use);
        ouro__ins_human(b, sizeof b, (double)s->heap.mapped_bytes);
        ouro__ins_human(c, sizeof c, (double)s->traced_current);
        fputs("<tr><td>", o);
        ouro__ins_html(o, snap_name(s, i, nb, sizeof nb));
        fprintf(o, "</td><td>%s</td><td>%zu</td><td>%s</td><td>", a, s->heap.objects, b);
        if (s->tracing) {
            ouro__ins_human(a, sizeof a, (double)s->traced_peak);
            fprintf(o, "%s (%s)%s", c, a, s->sample_bytes ? " sampled" : "");
        } else {
            fputs("off", o);
        }
        ouro__ins_human(a, sizeof a, (double)s->tools_bytes);
        fprintf(o, "</td><td>%zu</td><td class=\"overhead\" data-bytes=\"%zu\">%s</td></tr>\n",
                s->nleaks, s->tools_bytes, a);
    }
    fputs("</table>\n<p class=\"note\" id=\"overhead-note\">Profiler overhead: the tools' "
          "own memory (the tracer's tables, and the DWARF debug information loaded to name "
          "native frames), which the process's resident set holds but the program did not "
          "ask for.  The memory chart draws it apart from the program's RSS.</p>\n",
          o);
    if (nsnaps > 1) {
        size_t n;
        ouro_trace_stat *d = ouro_snapshot_compare(last, first, OURO_STAT_LINE, 0, &n);
        if (d && n) {
            fputs("<h3>Allocation sites that changed most (last vs first)</h3>\n<table>"
                  "<tr><th>site</th><th>size</th><th>change</th><th>count</th><th>change</th>"
                  "</tr>\n",
                  o);
            for (size_t i = 0; i < n && i < 12; i++) {
                char label[512];
                ouro__ins_site_label(label, sizeof label, &d[i].frames[0]);
                ouro__ins_human(a, sizeof a, (double)d[i].size);
                ouro__ins_human(b, sizeof b, (double)d[i].size_diff);
                fputs("<tr><td>", o);
                ouro__ins_html(o, label);
                fprintf(o, "</td><td>%s</td><td>%s%s</td><td>%zu</td><td>%+lld</td></tr>\n", a,
                        d[i].size_diff > 0 ? "+" : "", b, d[i].count, d[i].count_diff);
            }
            fputs("</table>\n", o);
        }
        ouro_inspect_free(d);
    }
}

static void leak_table(FILE *o, const ouro_snapshot *s)
{
    if (!s->nleaks) {
        fputs("<p class=\"note\">The last snapshot has no leak report.</p>\n", o);
        return;
    }
    char a[32], label[512];
    fputs("<table><tr><th>objects</th><th>type</th><th>bytes</th><th>allocated at</th>"
          "<th>held by (shortest chain from a root)</th></tr>\n",
          o);
    for (size_t i = 0; i < s->nleaks && i < 10; i++) {
        const ouro_leak_group *g = &s->leaks[i];
        ouro__ins_human(a, sizeof a, (double)g->bytes);
        ouro__ins_site_label(label, sizeof label, &g->site);
        fprintf(o, "<tr><td>%zu</td><td>", g->count);
        ouro__ins_html(o, g->type);
        fprintf(o, "</td><td>%s</td><td>", a);
        ouro__ins_html(o, g->site.file || g->site.func ? label : "(tracing off)");
        fputs("</td><td>", o);
        /* A chain through a long list is shortened to its ends. */
        for (size_t k = 0; k < g->nchain; k++) {
            if (g->nchain > 8 && k == 3) {
                fprintf(o, " &rarr; &hellip; (%zu more) &hellip;", g->nchain - 6);
                k = g->nchain - 3;
            }
            if (k)
                fputs(" &rarr; ", o);
            ouro__ins_html(o, g->chain[k].type);
        }
        if (!g->nchain)
            fputs(i < 5 ? "no root reaches it: cyclic garbage" : "", o);
        fputs("</td></tr>\n", o);
    }
    fputs("</table>\n", o);
}

static const char *page_css =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1220px}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}"
    "h3{font-size:15px}table{border-collapse:collapse;font-size:13px;margin:8px 0}"
    "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left}th{background:#f4f4f4}"
    ".chart{position:relative;height:320px;width:1180px}.note{color:#666;font-size:13px}"
    "#flame text{pointer-events:none}#flame rect:hover{stroke:#000}"
    "#graph{width:1180px;height:640px;border:1px solid #ddd;overflow:hidden;cursor:grab}"
    "#graph svg{width:100%;height:100%;display:block}.zoombar button{min-width:32px}"
    "pre{font-size:11px;background:#f8f8f8}";

/* The page's script: draws the four charts from the embedded data and
 * marks each canvas once Chart.js has drawn it. */
static const char *page_js =
    "(function(){\n"
    "var D=JSON.parse(document.getElementById('ouro-data').textContent);\n"
    "var drawn=0;\n"
    "function mark(c){c.canvas.dataset.drawn='1';drawn++;"
    "document.body.dataset.chartsDrawn=String(drawn);}\n"
    "function MiB(b){return b/1048576;}\n"
    "if(typeof Chart==='undefined'){document.body.dataset.chartsDrawn='0';"
    "document.getElementById('nochart').style.display='block';return;}\n"
    "Chart.defaults.animation=false;Chart.defaults.responsive=true;"
    "Chart.defaults.maintainAspectRatio=false;\n"
    "var done={id:'ouroDone',afterRender:function(c){if(!c.canvas.dataset.drawn)mark(c);}};\n"
    "var marks={id:'ouroMarks',beforeDatasetsDraw:function(c){var x=c.scales.x,a=c.chartArea,"
    "g=c.ctx;D.marks.forEach(function(m,i){var e=m[2]<0?x.max:m[2];var l=x.getPixelForValue(m[1]),"
    "r=x.getPixelForValue(e);g.save();g.fillStyle=['rgba(66,133,244,0.10)','rgba(244,180,0,0.14)',"
    "'rgba(15,157,88,0.12)'][m[3]%3];g.fillRect(l,a.top,Math.max(1,r-l),a.bottom-a.top);"
    "g.fillStyle='#555';g.font='11px sans-serif';g.fillText(m[0],l+3,a.top+12+12*m[3]);"
    "g.restore();});}};\n"
    "function chart(id,cfg){var el=document.getElementById(id);if(!el)return;"
    "cfg.plugins=(cfg.plugins||[]).concat([done]);new Chart(el,cfg);}\n"
    "if(D.series.length){chart('mem',{type:'line',plugins:[marks],data:{datasets:["
    "{label:'heap MiB',data:D.series.map(function(p){return {x:p[0],y:MiB(p[1])};}),"
    "borderColor:'#d9480f',pointRadius:0,borderWidth:2},"
    "{label:'RSS MiB (program)',data:D.series.map(function(p){return {x:p[0],y:MiB(p[2])};}),"
    "borderColor:'#1c7ed6',pointRadius:0,borderWidth:2},"
    "{label:'profiler overhead MiB',data:D.series.map(function(p){return {x:p[0],y:MiB(p[5])};}),"
    "borderColor:'#868e96',pointRadius:0,borderWidth:1,borderDash:[2,2]},"
    "{label:'traced MiB',data:D.series.map(function(p){return {x:p[0],y:MiB(p[3])};}),"
    "borderColor:'#2b8a3e',pointRadius:0,borderWidth:1,borderDash:[4,3]}]},"
    "options:{parsing:false,scales:{x:{type:'linear',title:{display:true,text:'seconds'}},"
    "y:{title:{display:true,text:'MiB'},beginAtZero:true}}}});}\n"
    "function bars(id,rows,label,color,fmt){if(!rows.length)return;chart(id,{type:'bar',"
    "data:{labels:rows.map(function(r){return r[0];}),datasets:[{label:label,"
    "data:rows.map(fmt),backgroundColor:color}]},options:{indexAxis:'y',"
    "plugins:{legend:{display:false}},scales:{x:{title:{display:true,text:label}}}}});}\n"
    "bars('types',D.types,'KiB held by live objects','#5c7cfa',function(r){return r[1]/1024;});\n"
    "bars('sites',D.sites,'KiB allocated and still alive','#f59f00',function(r){return r[1]/1024;});\n"
    "bars('growth',D.growth,'KiB more (or less) than in the first snapshot',"
    "D.growth.map(function(r){return r[1]>=0?'#e03131':'#2f9e44';}),"
    "function(r){return r[1]/1024;});\n"
    "document.body.dataset.chartsDrawn=String(drawn);\n"
    "})();\n"
    /* Zoom and pan of the object graph: the SVG keeps Graphviz's drawing
     * and only its viewBox changes, so a graph of hundreds of nodes fits
     * the page at first and any part of it can be read.  No library:
     * wheel zooms about the pointer, a drag pans, the buttons zoom about
     * the centre.  The page's test (tests/report_check.py) opens it with
     * #graph-test, which drives the same handlers with synthetic events
     * and writes what happened into data attributes. */
    "(function(){\n"
    "var box=document.getElementById('graph');if(!box)return;"
    "var svg=box.querySelector('svg');if(!svg)return;\n"
    "var v0=svg.viewBox.baseVal,w0=v0.width,h0=v0.height;"
    "if(!w0||!h0){var b=svg.getBBox();w0=b.width;h0=b.height;"
    "svg.setAttribute('viewBox',b.x+' '+b.y+' '+w0+' '+h0);}\n"
    "svg.removeAttribute('width');svg.removeAttribute('height');"
    "svg.setAttribute('preserveAspectRatio','xMidYMid meet');\n"
    "var home=[svg.viewBox.baseVal.x,svg.viewBox.baseVal.y,w0,h0];\n"
    "function vb(){var v=svg.viewBox.baseVal;return [v.x,v.y,v.width,v.height];}\n"
    "function set(v){svg.setAttribute('viewBox',v.join(' '));"
    "box.dataset.zoom=(home[2]/v[2]).toFixed(3);}\n"
    /* The point of the drawing under client position (cx, cy). */
    "function at(cx,cy){var r=svg.getBoundingClientRect(),v=vb();"
    "var s=Math.max(v[2]/r.width,v[3]/r.height);"
    "return [v[0]+v[2]/2+(cx-r.left-r.width/2)*s,v[1]+v[3]/2+(cy-r.top-r.height/2)*s];}\n"
    "function zoom(f,cx,cy){var v=vb(),p=at(cx,cy);var w=v[2]/f,h=v[3]/f;"
    "if(w<home[2]/64||w>home[2]*4)return;"
    "set([p[0]-(p[0]-v[0])/f,p[1]-(p[1]-v[1])/f,w,h]);}\n"
    "function centre(){var r=svg.getBoundingClientRect();"
    "return [r.left+r.width/2,r.top+r.height/2];}\n"
    "box.addEventListener('wheel',function(e){e.preventDefault();"
    "zoom(e.deltaY<0?1.25:0.8,e.clientX,e.clientY);},{passive:false});\n"
    "var drag=null;\n"
    "box.addEventListener('mousedown',function(e){drag=[e.clientX,e.clientY];"
    "box.style.cursor='grabbing';e.preventDefault();});\n"
    "window.addEventListener('mousemove',function(e){if(!drag)return;"
    "var r=svg.getBoundingClientRect(),v=vb(),s=Math.max(v[2]/r.width,v[3]/r.height);"
    "set([v[0]-(e.clientX-drag[0])*s,v[1]-(e.clientY-drag[1])*s,v[2],v[3]]);"
    "drag=[e.clientX,e.clientY];});\n"
    "window.addEventListener('mouseup',function(){drag=null;box.style.cursor='';});\n"
    "document.querySelectorAll('#graph-zoom button').forEach(function(b){"
    "b.addEventListener('click',function(){var c=centre();"
    "if(b.dataset.z==='in')zoom(1.25,c[0],c[1]);else if(b.dataset.z==='out')"
    "zoom(0.8,c[0],c[1]);else set(home.slice());});});\n"
    "set(home.slice());box.dataset.ready='1';\n"
    "if(location.hash==='#graph-test'){var c=centre();"
    "box.dispatchEvent(new WheelEvent('wheel',{deltaY:-100,clientX:c[0],clientY:c[1],"
    "bubbles:true,cancelable:true}));box.dataset.wheelZoom=box.dataset.zoom;"
    "var x0=vb()[0];"
    "box.dispatchEvent(new MouseEvent('mousedown',{clientX:c[0],clientY:c[1],bubbles:true}));"
    "window.dispatchEvent(new MouseEvent('mousemove',{clientX:c[0]-100,clientY:c[1],"
    "bubbles:true}));window.dispatchEvent(new MouseEvent('mouseup',{bubbles:true}));"
    "box.dataset.panDx=(vb()[0]-x0).toFixed(1);"
    "document.querySelector('#graph-zoom button[data-z=\"fit\"]').click();"
    "box.dataset.fitZoom=box.dataset.zoom;}\n"
    "})();\n";

static int copy_file(FILE *o, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char buf[65536];
    size_t n;
    /* Defensive: a "</script" inside the library would end the element. */
    while ((n = fread(buf, 1, sizeof buf - 1, f)) > 0) {
        buf[n] = 0;
        char *p = buf, *q;
        while ((q = strstr(p, "</script")) != NULL) {
            fwrite(p, 1, (size_t)(q - p), o);
            fputs("<\\/script", o);
            p = q + 8;
        }
        fwrite(p, 1, strlen(p), o);
    }
    fclose(f);
    return 0;
}

static int write_page(FILE *o, ouro_snapshot *const *snaps, size_t nsnaps,
                      const char *const *names)
{
    const ouro_snapshot *last = snaps[nsnaps - 1];
    const char *chartjs = getenv("OURO_CHARTJS") ? getenv("OURO_CHARTJS") : DEFAULT_CHARTJS;
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
          "<title>ouro memory report</title>\n<style>",
          o);
    fputs(page_css, o);
    fputs("</style>\n<script>\n", o);
    int have_chart = copy_file(o, chartjs) == 0;
    fputs("\n</script>\n</head>\n<body data-charts-drawn=\"0\">\n<h1>ouro memory report</h1>\n"
          "<p class=\"note\">From ",
          o);
    for (size_t i = 0; i < nsnaps; i++) {
        if (i)
            fputs(", ", o);
        ouro__ins_html(o, ouro__ins_basename(names[i]));
    }
    fprintf(o, " (ouro %s).</p>\n", ouro_version());
    fprintf(o, "<p class=\"note\" id=\"nochart\" style=\"display:none\">Chart.js was not found "
               "(%s): charts are missing, the tables below still hold every number.</p>\n",
            have_chart ? "present" : "install libjs-chart.js or set OURO_CHARTJS");

    tables(o, snaps, nsnaps);

    fputs("<h2>Memory over time</h2>\n", o);
    int has_series = 0;
    for (size_t i = 0; i < nsnaps; i++)
        has_series |= snaps[i]->nseries > 0;
    if (has_series)
        fputs("<div class=\"chart\"><canvas id=\"mem\"></canvas></div>\n"
              "<p class=\"note\">Shaded regions are the program's marks "
              "(ouro_sampler_begin / end).</p>\n",
              o);
    else
        fputs("<p class=\"note\">No time series in these snapshots (take one with "
              "ouro_sampler_new and ouro_snapshot_set_series).</p>\n",
              o);

    fputs("<h2>Top types (last snapshot)</h2>\n", o);
    if (last->ncensus)
        fputs("<div class=\"chart\"><canvas id=\"types\"></canvas></div>\n", o);
    else
        fputs("<p class=\"note\">No census in the last snapshot.</p>\n", o);

    fputs("<h2>Top allocation sites (last snapshot)</h2>\n", o);
    if (last->ntraces)
        fputs("<div class=\"chart\"><canvas id=\"sites\"></canvas></div>\n", o);
    else
        fputs("<p class=\"note\">No traces in the last snapshot (tracing was off).</p>\n", o);

    fputs("<h2>Growth between the first and the last snapshot</h2>\n", o);
    if (nsnaps > 1)
        fputs("<div class=\"chart\"><canvas id=\"growth\"></canvas></div>\n", o);
    else
        fputs("<p class=\"note\">Give two snapshots or more to see growth.</p>\n", o);

    fputs("<h2>Allocation flame graph (live bytes by traceback, last snapshot)</h2>\n", o);
    ouro__ins_flame_graph(o, last);

    fputs("<h2>Largest leak suspects and the graph around them</h2>\n", o);
    leak_table(o, last);
    if (!graph_svg(o, last) && !last->graph.nnodes)
        fputs("<p class=\"note\">The last snapshot holds no object graph "
              "(take it with OURO_SNAP_GRAPH).</p>\n",
              o);
    fputs("<p class=\"note\">Green: roots (held from outside the heap); red: the example "
          "object of a large group; arrows are references.</p>\n",
          o);

    fputs("<script type=\"application/json\" id=\"ouro-data\">", o);
    write_js_data(o, snaps, nsnaps);
    fputs("</script>\n<script>\n", o);
    fputs(page_js, o);
    fputs("</script>\n</body></html>\n", o);
    return ferror(o) ? -1 : 0;
}

int ouro_report_write(const char *path, ouro_snapshot *const *snaps, size_t n,
                      const char *const *names)
{
    if (!path || !snaps || !n || !names)
        return OURO_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!snaps[i])
            return OURO_EINVAL;
    FILE *o = fopen(path, "w");
    if (!o)
        return OURO_ENOTFOUND;
    int rc = write_page(o, snaps, n, names);
    if (fclose(o) != 0)
        rc = -1;
    return rc < 0 ? OURO_ENOTFOUND : 0;
}
