#!/usr/bin/env python3
"""The `ouro report` page, rendered the way a person sees it.

Runs `ouro report --demo` (a small leaky program that writes two snapshots),
renders the page in headless Chromium, and checks from the DOM that every
chart was drawn (the page's script sets data-drawn="1" on each canvas once
Chart.js has painted it), that the flame graph and the Graphviz picture are
there, that the page loads nothing from the network, and from a screenshot
that the page is not blank.  Also: the report from snapshot files given on
the command line, and a corrupt snapshot refused with a message.

    python3 tests/report_check.py [BUILD_DIR]      (default: build)

Installs chromium and graphviz with tools/deps_inspect.sh when missing.
Ends with the line "N passed, N failed".
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checklib import check, summary  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))




def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def browser_args(extra):
    # As root in a container Chromium needs --no-sandbox; no GPU here.
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
            "--hide-scrollbars", "--no-first-run", "--disable-extensions",
            "--virtual-time-budget=5000"] + extra


def decode_png(data):
    """Width, height and rows of RGB(A) pixels of an 8-bit PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, [], 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("unsupported PNG kind %d/%d" % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    ouro = os.path.join(build, "ouro")
    if not os.path.exists(ouro):
        print("report_check: %s not found (build first)" % ouro)
        print("0 passed, 1 failed")
        return 1
    if not chromium() or not shutil.which("dot"):
        subprocess.call(["sh", os.path.join(ROOT, "tools", "deps_inspect.sh")])
    tmp = tempfile.mkdtemp(prefix="ouro_report_")
    try:
        page = os.path.join(tmp, "report.html")
        r = subprocess.run([ouro, "report", "--demo", page, "--keep", tmp],
                           capture_output=True, text=True, timeout=120)
        check("demo writes snapshots and a page", r.returncode == 0 and os.path.exists(page),
              r.stderr.strip())
        a, b = os.path.join(tmp, "demo-a.json"), os.path.join(tmp, "demo-b.json")
        check("demo leaves no leak report", "leak" not in r.stderr, r.stderr[:300])

        page2 = os.path.join(tmp, "files.html")
        r = subprocess.run([ouro, "report", a, b, "-o", page2], capture_output=True,
                           text=True, timeout=120)
        check("report from snapshot files", r.returncode == 0 and os.path.getsize(page2) > 1000,
              r.stderr.strip())

        bad = os.path.join(tmp, "bad.json")
        with open(b, "rb") as f:
            text = f.read()
        with open(bad, "wb") as f:
            f.write(text[:len(text) // 2])
        r = subprocess.run([ouro, "report", bad, "-o", os.path.join(tmp, "bad.html")],
                           capture_output=True, text=True, timeout=60)
        check("corrupt snapshot refused with a message",
              r.returncode == 1 and "bad.json" in r.stderr and "not valid JSON" in r.stderr,
              r.stderr.strip())

        with open(page, encoding="utf-8") as f:
            html = f.read()
        external = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(?:https?:)?//',
                              html)
        check("page is self-contained (nothing loaded from the network)", not external,
              str(external[:3]))
        check("Chart.js is inlined", "* Chart.js v" in html)

        if not chromium():
            check("chromium available", False, "install chromium (tools/deps_inspect.sh)")
            return 1
        url = "file://" + page
        r = subprocess.run(browser_args(["--dump-dom", url]), capture_output=True, text=True,
                           timeout=120)
        dom = r.stdout
        check("chromium renders the page", r.returncode == 0 and "<body" in dom,
              r.stderr[-300:])
        m = re.search(r'<body[^>]*data-charts-drawn="(\d+)"', dom)
        check("the page's script drew 4 charts", m is not None and m.group(1) == "4",
              m.group(0) if m else "no data-charts-drawn on <body>")
        for cid in ("mem", "types", "sites", "growth"):
            tag = re.search(r'<canvas[^>]*id="%s"[^>]*>' % cid, dom)
            check("chart %s drawn" % cid, tag is not None and 'data-drawn="1"' in tag.group(0),
                  tag.group(0) if tag else "no canvas")
        flame = re.search(r'<svg id="flame".*?</svg>', dom, re.S)
        nrect = len(re.findall(r"<rect", flame.group(0))) if flame else 0
        check("flame graph has frames", nrect >= 10, "%d rects" % nrect)
        graph = re.search(r'<div id="graph"[^>]*>(.*?)</div>', dom, re.S)
        nnodes = len(re.findall(r'class="node"', graph.group(1))) if graph else 0
        check("graph of the leak suspects drawn by Graphviz", nnodes >= 3,
              "%d nodes" % nnodes)
        check("leak table names the leaking type",
              re.search(r"<td>\d+</td><td>CacheEntry</td>", dom) is not None)

        # The tools' own memory (the demo traces 8 frames, so naming them
        # loads DWARF: megabytes) is a figure of its own, and the memory
        # chart draws the program's RSS without it.
        over = [int(b) for b in re.findall(r'<td class="overhead" data-bytes="(\d+)"', dom)]
        check("profiler overhead reported per snapshot",
              len(over) == 2 and over[-1] > 1 << 20, str(over))
        check("memory chart separates the overhead",
              "profiler overhead MiB" in html and "RSS MiB (program)" in html)
        with open(b) as f:
            snap = json.load(f)
        pts = snap["series"]["points"]
        check("series points carry the overhead", all(len(p) == 7 for p in pts) and
              pts[-1][6] > 1 << 20 and pts[-1][3] > pts[-1][6], str(pts[-1]))

        # The object graph zooms and pans: #graph-test drives the page's
        # wheel, drag and fit handlers with synthetic events.
        r = subprocess.run(browser_args(["--dump-dom", url + "#graph-test"]),
                           capture_output=True, text=True, timeout=120)
        tag = re.search(r'<div id="graph"[^>]*>', r.stdout)
        tag = tag.group(0) if tag else ""
        attr = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))
        check("graph zoom controls present", 'id="graph-zoom"' in r.stdout and
              attr.get("ready") == "1", tag)
        check("wheel zooms the graph in", attr.get("wheel-zoom") == "1.250", tag)
        check("drag pans the graph", float(attr.get("pan-dx", "0")) > 10, tag)
        check("fit returns to the whole graph", attr.get("fit-zoom") == "1.000", tag)

        shot = os.path.join(tmp, "shot.png")
        r = subprocess.run(browser_args(["--window-size=1280,2400", "--screenshot=" + shot,
                                         url]), capture_output=True, text=True, timeout=120)
        check("screenshot taken", r.returncode == 0 and os.path.exists(shot), r.stderr[-300:])
        if os.path.exists(shot):
            with open(shot, "rb") as f:
                w, h, bpp, rows = decode_png(f.read())
            colors, ink, total = set(), 0, 0
            for y in range(0, h, 3):
                row = rows[y]
                for x in range(0, w * bpp, bpp * 3):
                    px = bytes(row[x:x + 3])
                    colors.add(px)
                    total += 1
                    if px != b"\xff\xff\xff":
                        ink += 1
            check("screenshot is not blank", len(colors) > 50 and ink > total * 0.05,
                  "%d colors, %.1f%% non-white" % (len(colors), 100.0 * ink / max(total, 1)))
            # The memory chart's canvas area holds the lines: colored pixels
            # in the band where the first chart sits (below the tables).
            blue = sum(1 for y in range(0, h, 2) for x in range(0, w * bpp, bpp)
                       if rows[y][x + 2] > 150 and rows[y][x] < 90)
            check("chart lines are painted (blue RSS line found)", blue > 100,
                  "%d blue pixels" % blue)
    finally:
        if os.environ.get("OURO_KEEP_REPORT"):
            print("kept " + tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    rc = main()
    sys.exit(summary(rc))
