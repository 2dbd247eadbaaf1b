#!/bin/sh
# libparex exports only parex_* symbols (px__ internals stay hidden).
lib="$1"
command -v nm >/dev/null 2>&1 || { echo "1..0 # SKIP nm not found"; exit 0; }
bad=$(nm -D --defined-only "$lib" | awk 'NF >= 3 {print $3}' | grep -v '^parex_')
echo "1..2"
if [ -z "$bad" ]; then echo "ok 1 - only parex_* symbols exported"; else
    echo "not ok 1 - exported non-parex symbols:"; echo "$bad" | sed 's/^/# /'; fi
n=$(nm -D --defined-only "$lib" | awk 'NF >= 3 {print $3}' | grep -c '^parex_')
if [ "$n" -gt 30 ]; then echo "ok 2 - $n parex_* symbols exported"; else
    echo "not ok 2 - only $n parex_* symbols exported"; fi
[ -z "$bad" ] && [ "$n" -gt 30 ]
