#!/bin/sh
# The ABI surface of libparex: it exports only parex_* symbols (px__
# internals stay hidden), exactly the set listed in tests/symbols.txt (so
# that adding or removing a public function is a deliberate edit of that
# list, and of docs/api.md and CHANGELOG.md with it), and its soname is
# libparex.so.MAJOR.MINOR of the project version (before 1.0 a minor
# release may change the ABI; docs/api.md, "Compatibility").
# usage: symbols.sh LIBPAREX SYMBOLS_TXT PROJECT_VERSION
lib="$1"
list="$2"
version="$3"
command -v nm >/dev/null 2>&1 || { echo "1..0 # SKIP nm not found"; exit 0; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parex-symbols-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk 'NF >= 3 {print $3}' | sort -u >"$tmp/got"
bad=$(grep -v '^parex_' "$tmp/got")
fail=0
echo "1..3"
if [ -z "$bad" ]; then echo "ok 1 - only parex_* symbols exported"; else
    echo "not ok 1 - exported non-parex symbols:"; echo "$bad" | sed 's/^/# /'
    fail=1; fi
sort -u "$list" >"$tmp/want"
if cmp -s "$tmp/got" "$tmp/want"; then
    echo "ok 2 - the $(wc -l <"$tmp/got") exported symbols are tests/symbols.txt"
else
    echo "not ok 2 - exported symbols differ from tests/symbols.txt (+ exported, - listed):"
    diff "$tmp/want" "$tmp/got" | sed -n 's/^> /# + /p; s/^< /# - /p'
    fail=1
fi
want_soname="libparex.so.$(echo "$version" | cut -d. -f1-2)"
if command -v readelf >/dev/null 2>&1; then
    soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')
    if [ "$soname" = "$want_soname" ]; then echo "ok 3 - soname $soname"; else
        echo "not ok 3 - soname '$soname', expected $want_soname"; fail=1; fi
else
    echo "ok 3 # SKIP readelf not found"
fi
exit $fail
