#!/bin/sh
# What src/inspect and `ouro report` need, from Debian packages, if missing:
#   libjansson-dev   snapshot loader (required to build)
#   libunwind-dev    native stack frames for tracing (optional: backtrace())
#   libdw-dev        names and lines of native frames (optional: dladdr())
#   libjs-chart.js   the charts inlined into the report page
#   graphviz         `dot`, the picture of the object graph
#   chromium         headless rendering in tests/report_check.py
need=""
[ -f /usr/include/jansson.h ] || need="$need libjansson-dev"
[ -f /usr/include/x86_64-linux-gnu/libunwind.h ] || [ -f /usr/include/libunwind.h ] ||
    need="$need libunwind-dev"
[ -f /usr/include/elfutils/libdwfl.h ] || need="$need libdw-dev"
[ -f /usr/share/javascript/chart.js/chart.min.js ] || need="$need libjs-chart.js"
command -v dot >/dev/null 2>&1 || need="$need graphviz"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
if [ -n "$need" ]; then
    echo "deps_inspect: installing$need"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq &&
        $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
exit 0
