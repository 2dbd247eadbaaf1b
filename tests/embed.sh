#!/bin/sh
# Installs libparex into a scratch prefix with `meson install`, builds
# docs/examples/embed.c against it through pkg-config, and runs it, so the
# example and the installed package never rot.
# usage: embed.sh BUILD_DIR SOURCE_ROOT
build="$1"
src="$2"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parex-embed-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
echo "1..4"
if DESTDIR="$tmp/inst" meson install -C "$build" --no-rebuild --quiet >"$tmp/log" 2>&1; then
    echo "ok 1 - meson install"
else
    echo "not ok 1 - meson install"; sed 's/^/# /' "$tmp/log"; exit 1
fi
pc=$(find "$tmp/inst" -name parex.pc | head -n 1)
# The package was installed under DESTDIR: point its prefix there.
prefix=${pc%%/lib/*}
flags=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config \
    --define-variable=prefix="$prefix" --cflags --libs parex 2>"$tmp/log")
# PAREX_EMBED_CC / PAREX_EMBED_CFLAGS: the build's compiler and its
# -fsanitize flags (set by tests/meson.build).
if [ -n "$pc" ] && ${PAREX_EMBED_CC:-cc} -std=c11 -Wall -Wextra -Werror \
        $PAREX_EMBED_CFLAGS "$src/docs/examples/embed.c" $flags \
        -o "$tmp/embed" >>"$tmp/log" 2>&1; then
    echo "ok 2 - example builds from the installed package via pkg-config ($flags)"
else
    echo "not ok 2 - example does not build"; sed 's/^/# /' "$tmp/log"; exit 1
fi
libdir=$(echo "$flags" | tr ' ' '\n' | sed -n 's/^-L//p' | head -n 1)
# One version source: the installed parex.pc, the installed
# parex/parex_version.h and the library all say meson's project version.
pcver=$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --modversion parex)
hdrver=$(sed -n 's/^#define PAREX_VERSION_STRING "\(.*\)"$/\1/p' \
    "$(find "$tmp/inst" -name parex_version.h | head -n 1)")
if [ -n "$PAREX_PROJECT_VERSION" ] && [ "$pcver" = "$PAREX_PROJECT_VERSION" ] &&
        [ "$hdrver" = "$PAREX_PROJECT_VERSION" ]; then
    echo "ok 3 - parex.pc and parex_version.h say $pcver"
else
    echo "not ok 3 - versions: meson '$PAREX_PROJECT_VERSION', parex.pc '$pcver', header '$hdrver'"
    exit 1
fi
mkdir "$tmp/state"
if out=$(LD_LIBRARY_PATH="$libdir" "$tmp/embed" "$tmp/state" 2>&1); then
    echo "ok 4 - example runs: $out"
else
    echo "not ok 4 - example failed"; echo "$out" | sed 's/^/# /'; exit 1
fi
