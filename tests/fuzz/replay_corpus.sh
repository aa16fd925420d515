#!/bin/sh
# Replay every input of the fuzzing corpus (tests/fuzz/corpus) and every
# input that once crashed the fuzzer (tests/fuzz/crashes) through
# `ouro replay --check`: none may crash, fail a heap check or leak.
#
#   tests/fuzz/replay_corpus.sh BUILD_DIR|OURO_PROGRAM [--regressions]
#
# --regressions also replays tests/fuzz/regressions (reproductions of bugs
# reported in src/, which fail until those are fixed).
#
# An input whose first line is `#fault alloc=N every=K page=P` (the fuzz
# target's fault-injection header, see fuzz_replay.c) is replayed with
# --fail-alloc N --fail-every K --fail-page P.  Exit 0 is required, or, for
# `page=1` (the heap's own mapping fails), exit 1 with "cannot create a
# heap".  The last line is `N passed, N failed`; the exit code is 1 on any
# failure.
#
# Macros are held to the fuzz target's budget (OURO_REPLAY_MACRO_BUDGET, as
# MACRO_BUDGET in fuzz_replay.c), so that an input replays as it was fuzzed
# and one that asks for a million nodes stays fast.
set -u
: "${OURO_REPLAY_MACRO_BUDGET:=4096}"
export OURO_REPLAY_MACRO_BUDGET
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ]; then
    echo "usage: $0 BUILD_DIR|OURO_PROGRAM [--regressions]" >&2
    exit 2
fi
ouro=$1
[ -d "$ouro" ] && ouro=$ouro/ouro
if [ ! -x "$ouro" ]; then
    echo "replay_corpus.sh: $ouro is not a program" >&2
    exit 2
fi
dirs="$here/corpus $here/crashes"
[ "${2:-}" = "--regressions" ] && dirs="$dirs $here/regressions"
tmp=${TMPDIR:-/tmp}/replay_corpus.$$
trap 'rm -f "$tmp.out" "$tmp.err"' EXIT
passed=0
failed=0
for dir in $dirs; do
    [ -d "$dir" ] || continue
    for f in "$dir"/*; do
        [ -f "$f" ] || continue
        case $(basename "$f") in README*|*.md|*.log) continue ;; esac
        opts=""
        page1=no
        # The header rules of fuzz_replay.c's parse_fault_line(): first word
        # "#fault", NAME=DIGITS words split on blanks and tabs, the last of
        # a name wins, and a line with a NUL byte has no header.
        if [ "$(head -n 1 "$f" | tr -dc '\000' | wc -c)" -eq 0 ]; then
            first=$(head -n 1 "$f")
            set -f # the words are data, not patterns
            # shellcheck disable=SC2086
            set -- $first
            set +f
            if [ "${1:-}" = "#fault" ]; then
                shift
                for w in "$@"; do
                    v=$(printf '%s' "${w#*=}" | sed 's/[^0-9].*//')
                    case $w in
                    alloc=*) opts="$opts --fail-alloc ${v:-0}" ;;
                    every=*) opts="$opts --fail-every ${v:-0}" ;;
                    page=*) opts="$opts --fail-page ${v:-0}"
                            page1=no
                            [ "${v:-0}" -eq 1 ] 2>/dev/null && page1=yes ;;
                    esac
                done
            fi
        fi
        # shellcheck disable=SC2086
        timeout 120 "$ouro" replay --check $opts "$f" >"$tmp.out" 2>"$tmp.err"
        rc=$?
        if [ $rc = 0 ] || { [ $rc = 1 ] && [ $page1 = yes ] &&
                            grep -q "cannot create a heap" "$tmp.err"; }; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            case $rc in
            3) why="leak (objects alive after teardown)" ;;
            124) why="timed out" ;;
            134) why="aborted (heap check or debug check failed)" ;;
            *) why="exit code $rc" ;;
            esac
            echo "FAIL ${f#"$here"/}: ouro replay --check$opts: $why"
            head -n 5 "$tmp.err" | sed 's/^/    /'
        fi
    done
done
echo "$passed passed, $failed failed"
[ $failed = 0 ]
