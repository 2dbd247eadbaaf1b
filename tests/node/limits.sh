#!/bin/sh
# Hostile input files for the parex program: a file over the input limit
# (a sparse file, so nothing is written or read), JSON nested past the
# parser's depth limit, and a trace line that does. Each is refused with
# exit 3 naming the file (and line and column for JSON), without reading
# or allocating the whole thing.
# usage: limits.sh PAREX
parex=$1
. "$(dirname "$0")/tap.sh"

if truncate -s 1025M "$work/huge.json" 2>/dev/null; then
    run "$parex" replay "$work/huge.json"
    expect_fail "a fixture over 1 GiB exits 3" 3 \
        "huge.json: cannot read: larger than the 1 GiB input limit"
    mv "$work/huge.json" "$work/huge.jsonl"
    run "$parex" replay "$work/huge.jsonl"
    expect_fail "a trace over 1 GiB exits 3" 3 \
        "huge.jsonl: cannot read: larger than the 1 GiB input limit"
    rm -f "$work/huge.jsonl"
else
    ok "# SKIP no truncate(1) for a sparse file"
fi

awk 'BEGIN { for (i = 0; i < 5000; i++) printf "["; for (i = 0; i < 5000; i++) printf "]"; print "" }' \
    >"$work/deep.json"
run "$parex" replay "$work/deep.json"
expect_fail "JSON nested 5000 deep exits 3 at the depth limit" 3 \
    "deep.json:1:2049: invalid JSON: maximum parsing depth reached"
{
    awk 'BEGIN { printf "{\"a\": "; for (i = 0; i < 3000; i++) printf "{\"a\": "; printf "1"; for (i = 0; i <= 3000; i++) printf "}"; print "" }'
} >"$work/deep.jsonl"
run "$parex" replay "$work/deep.jsonl"
expect_fail "a trace line nested 3000 deep exits 3" 3 \
    "deep.jsonl.*maximum parsing depth reached"
finish
