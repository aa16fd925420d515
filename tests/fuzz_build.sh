#!/bin/sh
# Build the libFuzzer targets build-fuzz/fuzz_replay (and fuzz_snapshot,
# fuzz_incremental, below): the heaptrace runner
# (tools/replay.c) and ouro's sources (every .c under src/) compiled
# directly, with clang's
# libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer, and with
# checked reference operations (OURO_DEBUG_REFS).
#
#   tests/fuzz_build.sh [OUTDIR]        default OUTDIR: build-fuzz
#   CC=clang-15 tests/fuzz_build.sh     another clang
#
# Then: ./build-fuzz/fuzz_replay -max_total_time=60 tests/fuzz/corpus
#       ./build-fuzz/fuzz_incremental -max_total_time=60
set -eu
cd "$(dirname "$0")/.."
out=${1:-build-fuzz}
cc=${CC:-}
if [ -z "$cc" ]; then
    for c in clang clang-14 clang-15 clang-16; do
        if command -v "$c" >/dev/null 2>&1; then cc=$c; break; fi
    done
fi
if [ -z "$cc" ]; then
    echo "fuzz_build.sh: no clang found (apt-get install clang libclang-rt-14-dev)" >&2
    exit 1
fi
mkdir -p "$out/obj"
# The optional libraries the library uses when present, found as
# CMakeLists.txt finds them: a program that includes the header and links.
have() { # HEADER LIB
    printf '#include <%s>\nint main(void) { return 0; }\n' "$1" |
        "$cc" -x c - "-l$2" -o "$out/obj/have" >/dev/null 2>&1
}
defs=""
libs="-ljansson -lm -lpthread"
if have libunwind.h unwind; then defs="$defs -DOURO_HAVE_LIBUNWIND"; libs="$libs -lunwind"; fi
if have elfutils/libdwfl.h dw; then defs="$defs -DOURO_HAVE_LIBDW"; libs="$libs -ldw"; fi
rm -f "$out/obj/have"
# -fno-sanitize-recover: a UBSan report must stop the fuzzer like a crash.
common="-g -O1 -std=gnu11 -fno-omit-frame-pointer -fsanitize=address,undefined
    -fno-sanitize-recover=undefined -DOURO_DEBUG_REFS -Wall -Wextra
    -Wno-unused-parameter -Iinclude -Isrc -Itools"
# The library gets edge coverage but no comparison tracing: the heap check
# after every operation walks the whole heap, and tracing its comparisons
# made each run several times slower.  The runner keeps the tracing, which
# is what lets the fuzzer find the words of the script language.
objs=""
for src in $(find src -name '*.c' | sort); do
    obj="$out/obj/$(echo "${src#src/}" | tr / _ | sed 's/\.c$/.o/')"
    # shellcheck disable=SC2086
    "$cc" $common $defs -fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp \
        -c "$src" -o "$obj"
    objs="$objs $obj"
done
# shellcheck disable=SC2086
"$cc" $common -fsanitize=fuzzer tests/fuzz/fuzz_replay.c tools/replay.c $objs \
    $libs -o "$out/fuzz_replay"
# The target passes PROGRAM.dict to libFuzzer when no -dict= is given.
cp tests/fuzz/heaptrace.dict "$out/fuzz_replay.dict"
# The second file format ouro reads: JSON snapshots (src/inspect/snapshot_json.c).
# shellcheck disable=SC2086
"$cc" $common -fsanitize=fuzzer tests/fuzz_snapshot.c $objs $libs -o "$out/fuzz_snapshot"
# The incremental cycle collector under a mutator driven by the input's
# bytes (tests/mutator.h, shared with tests/test_incremental.c).
# shellcheck disable=SC2086
"$cc" $common -Itests -fsanitize=fuzzer tests/fuzz/fuzz_incremental.c $objs $libs \
    -o "$out/fuzz_incremental"
echo "fuzz_build.sh: built $out/fuzz_replay, $out/fuzz_snapshot and $out/fuzz_incremental"
