#!/bin/sh
# make install into a temporary prefix, then build a small consumer project
# against it twice: with CMake's find_package(ouro) and with pkg-config.
set -e
BUILD=${1:-build}
PREFIX=$(mktemp -d)
trap 'rm -rf "$PREFIX"' EXIT
cmake --install "$BUILD" --prefix "$PREFIX" >/dev/null
test -f "$PREFIX/include/ouro.h"
test -f "$PREFIX/lib/pkgconfig/ouro.pc" || test -f "$PREFIX/lib/x86_64-linux-gnu/pkgconfig/ouro.pc"
SRC=$(cd "$(dirname "$0")/consumer" && pwd)
cmake -S "$SRC" -B "$PREFIX/consumer-build" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$PREFIX/consumer-build" >/dev/null
"$PREFIX/consumer-build/consumer"
PCDIR=$(dirname "$(find "$PREFIX" -name ouro.pc | head -1)")
LIBDIR=$(PKG_CONFIG_PATH="$PCDIR" pkg-config --variable=libdir ouro)
cc "$SRC/main.c" -o "$PREFIX/consumer-pc" $(PKG_CONFIG_PATH="$PCDIR" pkg-config --cflags --libs ouro) -Wl,-rpath,"$LIBDIR"
"$PREFIX/consumer-pc"
echo "install: 2 passed, 0 failed"
