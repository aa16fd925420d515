#!/usr/bin/env python3
"""layers_check.py — the layers' arrows point one way (STYLE.md habit 3).

    python3 tests/layers_check.py BUILD_DIR [-v]

Reads the object files of the three static libraries under
BUILD_DIR/CMakeFiles/ouro{,_types,_inspect}_static.dir/src/ with `nm` and,
for every object, matches its undefined symbols to the object that defines
them.  It fails (exit 1) when

  - an object of src/core refers to a symbol defined in src/types or
    src/inspect, or one of src/types to a symbol defined in src/inspect
    (the core reaches upward only through hook tables filled at run time,
    which `nm` does not see, as it should not);
  - the files of src/inspect call each other in a circle: the graph "file A
    uses a symbol file B defines" must have no cycle, so that the files can
    be read, tested and replaced bottom up.

With -v it prints src/inspect's files bottom up, each with the files it
uses.  Calls through function pointers and static inline functions of a
header are invisible to `nm`; they are the intended ways up.
"""
import glob
import os
import subprocess
import sys

LAYERS = [("core", "ouro_static"), ("types", "ouro_types_static"),
          ("inspect", "ouro_inspect_static")]


def name(obj):
    return os.path.basename(obj)[:-2]  # "trace.c.o" -> "trace.c"


SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")


def objects(build, layer, target):
    objs = sorted(glob.glob(os.path.join(build, "CMakeFiles", target + ".dir", "src", layer,
                                         "*.o")))
    if not objs:  # a build without the static libraries
        shared = target.replace("_static", "_shared")
        objs = sorted(glob.glob(os.path.join(build, "CMakeFiles", shared + ".dir", "src",
                                             layer, "*.o")))
    # The objects of sources that still exist: a build directory keeps the
    # object of a file since removed or renamed.
    return [o for o in objs if os.path.exists(os.path.join(SRC, layer, name(o)))]


def symbols(objs):
    """{object: (defined, undefined)}, from one `nm -A` over all of them."""
    out = subprocess.run(["nm", "-A"] + objs, capture_output=True, text=True,
                         check=True).stdout
    syms = {o: (set(), set()) for o in objs}
    for line in out.splitlines():
        obj, sep, rest = line.rpartition(".o:")
        if not sep:
            continue
        parts = rest.split()
        defined, undefined = syms[obj + ".o"]
        if len(parts) == 2 and parts[0] in ("U", "w", "v"):
            undefined.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBRGSVWC":
            defined.add(parts[2])
    return syms


def cycles(nodes, edges):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def bottom_up(nodes, edges):
    order, done = [], set()

    def visit(v):
        if v in done:
            return
        done.add(v)
        for w in sorted(edges.get(v, ())):
            visit(w)
        order.append(v)

    for v in sorted(nodes):
        visit(v)
    return order


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbose = "-v" in sys.argv[1:]
    build = args[0] if args else "build"
    defs = {}      # symbol -> (layer, file)
    uses = {}      # (layer, file) -> undefined symbols
    for layer, target in LAYERS:
        objs = objects(build, layer, target)
        if not objs:
            print("layers_check: no object files of src/%s under %s (build first)"
                  % (layer, build))
            return 1
        for obj, (d, u) in sorted(symbols(objs).items()):
            key = (layer, name(obj))
            uses[key] = u
            for s in d:
                defs[s] = key
    rank = {layer: i for i, (layer, _) in enumerate(LAYERS)}
    errors = []
    edges, why = {}, {}
    for key, und in sorted(uses.items()):
        for s in sorted(und):
            if s not in defs:
                continue
            to = defs[s]
            if rank[to[0]] > rank[key[0]]:
                errors.append("src/%s/%s uses %s, defined in src/%s/%s (a layer above)"
                              % (key[0], key[1], s, to[0], to[1]))
            if key[0] == "inspect" and to[0] == "inspect" and to != key:
                edges.setdefault(key[1], set()).add(to[1])
                why.setdefault((key[1], to[1]), []).append(s)
    files = [k[1] for k in uses if k[0] == "inspect"]
    for comp in cycles(files, edges):
        lines = ["a circle among src/inspect's files: " + ", ".join(comp)]
        for a in comp:
            for b in comp:
                if (a, b) in why:
                    lines.append("    %s -> %s: %s" % (a, b, " ".join(why[(a, b)][:4])))
        errors.append("\n".join(lines))
    if verbose or errors:
        print("src/inspect, bottom up (file: the files it uses)")
        for f in bottom_up(files, edges):
            print("  %-18s %s" % (f + ":", " ".join(sorted(edges.get(f, ()))) or "-"))
    for e in errors:
        print("layers_check: FAIL: " + e)
    if errors:
        return 1
    print("layers_check: ok: core <- types <- inspect, and no circle among the %d files of "
          "src/inspect" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
