#!/bin/sh
# fixtures/ must be byte-identical to what the committed generator writes.
# usage: regen.sh PAREX SOURCE_ROOT
parex=$1
src=$2
. "$(dirname "$0")/tap.sh"
run "$parex" fixtures generate --out "$work/fx"
check "fixtures generate exits 0" "$rc" "$err"
# fixtures/fuzz/ holds fuzz corpora, not generated vectors.
d=$(diff -r -x fuzz "$src/fixtures" "$work/fx" 2>&1 | head -20)
[ -z "$d" ]
check "fixtures/ equals the generator's output byte for byte" $? \
    "$d (regenerate with: parex fixtures generate --out fixtures)"
run "$parex" fixtures generate --out "$work/fx2"
d=$(diff -r "$work/fx" "$work/fx2" 2>&1 | head -5)
[ -z "$d" ]
check "two generator runs write identical files" $? "$d"
finish
