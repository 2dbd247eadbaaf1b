#!/bin/sh
# Every shared trace under exact, drop:0.3:7 and none, at 1 and 2 threads,
# with --check: exit 0 and identical state roots everywhere.
# usage: replay_traces.sh PAREX  (PAREX_TRACES names the folder)
parex=$1
traces=${PAREX_TRACES:-../shared/data/traces}
if [ ! -d "$traces" ]; then
    echo "1..0 # SKIP traces absent ($traces)"
    exit 0
fi
. "$(dirname "$0")/tap.sh"
first=
for mode in exact drop:0.3:7 none; do
    for t in 1 2; do
        run "$parex" replay --threads $t --min-batch-width 1 --declare "$mode" --check \
            --sync none "$traces"
        check "traces, declare $mode, $t thread(s), --check: exit 0" "$rc" \
            "$(printf '%s\n' "$err" | head -5)"
        printf '%s\n' "$out" | awk '/ block /{print $1, $13}' \
            >"$work/roots-$mode-$t"
        if [ -z "$first" ]; then
            first="$work/roots-$mode-$t"
            [ -s "$first" ]
            check "trace roots printed" $? "$out"
        else
            cmp -s "$first" "$work/roots-$mode-$t"
            check "roots under $mode at $t thread(s) equal exact at 1" $? \
                "$(diff "$first" "$work/roots-$mode-$t" | head -5)"
        fi
    done
done
# The README's wrong-declarations example, as written (the engine's own
# sequential-or-parallel decision): some blocks run in parallel and show
# re-executions.
run "$parex" replay --threads 2 --declare drop:0.3:7 --check --sync none "$traces"
check "README example (drop:0.3:7 --check): exit 0" "$rc" "$(printf '%s\n' "$err" | head -5)"
printf '%s\n' "$out" | grep -q ' reexec [1-9]'
check "README example shows re-executions" $? "$(printf '%s\n' "$out" | head -5)"
# Without block pipelining: the same roots.
run "$parex" replay --threads 2 --min-batch-width 1 --no-pipeline --sync none "$traces"
check "traces, --no-pipeline: exit 0" "$rc" "$(printf '%s\n' "$err" | head -5)"
printf '%s\n' "$out" | awk '/ block /{print $1, $13}' >"$work/roots-nopipe"
cmp -s "$first" "$work/roots-nopipe"
check "roots without pipelining equal exact at 1" $? \
    "$(diff "$first" "$work/roots-nopipe" | head -5)"
finish
