#!/bin/sh
# Install what the build and tests need, from Debian packages, if missing.
need=""
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v python3 >/dev/null 2>&1 || need="$need python3"
command -v valgrind >/dev/null 2>&1 || need="$need valgrind"
command -v pkg-config >/dev/null 2>&1 || need="$need pkg-config"
[ -f /usr/include/valgrind/memcheck.h ] || need="$need valgrind"
if [ -n "$need" ]; then
    echo "deps: installing$need"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
# the profiling tools' packages (jansson, libunwind, libdw, Chart.js,
# graphviz, chromium)
[ -x "$(dirname "$0")/deps_inspect.sh" ] && "$(dirname "$0")/deps_inspect.sh"
exit 0
