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
# Block pipelining (the default: block N+1's stateless stage prepared
# while block N runs) against --no-pipeline: every line the same but the
# rates, re-execution counts and the sequential-or-parallel note (these
# depend on timing: the decision uses the measured cost per tx), every
# stderr line the same (rejections name file, block, tx and field).
strip='s/ reexec [0-9]+//; s/[0-9]+ tx\/s \(exec [0-9]+ tx\/s//g; s/, sequential: [a-z -]+//'
for w in 0 1; do
    run "$parex" replay --threads 2 --min-batch-width $w --sync none "$fx"
    printf '%s\n' "$out" | sed -E "$strip" \
        >"$work/pipe-on"
    printf '%s\n' "$err" >"$work/pipe-on.err"
    run "$parex" replay --threads 2 --min-batch-width $w --sync none --no-pipeline "$fx"
    check "replay --no-pipeline (min batch width $w) exits 0" "$rc" "$err"
    printf '%s\n' "$out" | sed -E "$strip" \
        >"$work/pipe-off"
    printf '%s\n' "$err" >"$work/pipe-off.err"
    cmp -s "$work/pipe-on" "$work/pipe-off"
    check "pipelined replay prints what --no-pipeline prints (min batch width $w)" $? \
        "$(diff "$work/pipe-on" "$work/pipe-off" | head -5)"
    cmp -s "$work/pipe-on.err" "$work/pipe-off.err"
    check "pipelined replay's stderr equals --no-pipeline's (min batch width $w)" $? \
        "$(diff "$work/pipe-on.err" "$work/pipe-off.err" | head -5)"
done
grep -q "rejected-as-expected" "$work/pipe-on"
check "the pipelined runs include rejected blocks" $? "$(head -5 "$work/pipe-on")"
run "$parex" replay --threads 2 --check --sync none "$fx"
check "replay --check fixtures exits 0" "$rc" "$err"
printf '%s\n' "$out" | grep -q "rejected-as-expected"
check "rejections are reported as expected" $? "$out"
finish
