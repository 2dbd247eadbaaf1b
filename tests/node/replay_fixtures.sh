#!/bin/sh
# parex replay passes every bundled fixture at 1, 2 and 4 threads with the
# same roots, and under --check; both with the engine's default (narrow
# blocks run sequentially) and with the parallel path forced
# (--min-batch-width 1).
# usage: replay_fixtures.sh PAREX FIXTURES_DIR
parex=$1
fx=$2
. "$(dirname "$0")/tap.sh"
for w in 0 1; do
for t in 1 2 4; do
    run "$parex" replay --threads $t --min-batch-width $w --sync none "$fx"
    check "replay fixtures at $t thread(s), min batch width $w exits 0" "$rc" "$out
$err"
    printf '%s\n' "$out" | awk '/ block /{print $1, $3, $13}' >"$work/roots-$t"
    printf '%s\n' "$out" | grep -q "mismatches 0, load errors 0"
    check "summary at $t thread(s), min batch width $w reports no mismatch" $? "$out"
done
cmp -s "$work/roots-1" "$work/roots-2" && cmp -s "$work/roots-1" "$work/roots-4"
check "roots identical at 1, 2 and 4 threads (min batch width $w)" $? "$(diff "$work/roots-1" "$work/roots-4")"
done
[ "$(wc -l <"$work/roots-1")" -ge 50 ]
check "every fixture block printed a line" $? "$(cat "$work/roots-1")"
run "$parex" replay --threads 2 --check --sync none "$fx"
check "replay --check fixtures exits 0" "$rc" "$err"
printf '%s\n' "$out" | grep -q "rejected-as-expected"
check "rejections are reported as expected" $? "$out"
finish
