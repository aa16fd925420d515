#!/bin/sh
# make install into a temporary prefix, then build consumers against it:
# one program a layer (core, types, inspect) with CMake's find_package and
# with pkg-config, a fully static link through `pkg-config --static`, and
# the run-time path: a pkg-config program runs with no LD_LIBRARY_PATH.
# Also: a debug build's ouro.pc passes -DOURO_DEBUG_REFS to its users.
set -e
BUILD=${1:-build}
PREFIX=$(mktemp -d)
trap 'rm -rf "$PREFIX"' EXIT
passed=0
ok() { echo "ok   install $1"; passed=$((passed + 1)); }
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
for h in ouro.h ouro_types.h ouro_inspect.h; do test -f "$PREFIX/include/$h"; done
PCDIR=$(dirname "$(find "$PREFIX" -name ouro.pc | head -1)")
for pc in ouro ouro-types ouro-inspect ouro-all; do test -f "$PCDIR/$pc.pc"; done
SRC=$(cd "$(dirname "$0")/consumer" && pwd)
cmake -S "$SRC" -B "$PREFIX/consumer-build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$PREFIX/consumer-build" >/dev/null
for c in core types inspect static; do "$PREFIX/consumer-build/consumer_$c"; done
ok "cmake find_package: core, types, inspect, inspect_static"
# The core alone needs no third-party library.
if ldd "$PREFIX/consumer-build/consumer_core" | grep -q 'jansson\|unwind\|libdw'; then
    echo "FAIL install: the core consumer links a profiling library"; exit 1
fi
ok "core links no third-party library"
export PKG_CONFIG_PATH="$PCDIR"
for layer in core:ouro types:ouro-types inspect:ouro-inspect; do
    src=${layer%%:*}; pc=${layer#*:}
    cc "$SRC/$src.c" -o "$PREFIX/pc-$src" $(pkg-config --cflags --libs $pc)
    env -u LD_LIBRARY_PATH "$PREFIX/pc-$src"
done
ok "pkg-config per layer, run with no LD_LIBRARY_PATH"
# Static: the archives only (the shared objects moved away), every
# private dependency named by pkg-config --static.
mkdir "$PREFIX/so"
mv "$(pkg-config --variable=libdir ouro)"/libouro*.so* "$PREFIX/so/"
cc "$SRC/inspect.c" -o "$PREFIX/pc-static" $(pkg-config --static --cflags --libs ouro-all)
if ldd "$PREFIX/pc-static" | grep -q libouro; then
    echo "FAIL install: the static consumer needs a libouro shared object"; exit 1
fi
"$PREFIX/pc-static"
ok "pkg-config --static ouro-all"
# A debug build's .pc file carries the reference-checking definition.
cmake -S "$(dirname "$0")/.." -B "$PREFIX/dbg" -DOURO_DEBUG=ON -DOURO_TESTS=OFF >/dev/null
grep -q '^Cflags:.*-DOURO_DEBUG_REFS' "$PREFIX/dbg/ouro.pc"
if grep -q 'DOURO_DEBUG_REFS' "$BUILD/ouro.pc"; then
    echo "FAIL install: a release ouro.pc asks for debug references"; exit 1
fi
ok "debug build's ouro.pc defines OURO_DEBUG_REFS"
echo "install: $passed passed, 0 failed"
