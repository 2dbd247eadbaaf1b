#!/bin/sh
# Every shared trace sealed with its block access list (replay --bal) under
# every declare mode at 1 and 2 threads, validated in BAL mode with --check:
# exit 0, every block line says BAL mode, and the state roots equal plain
# replay's (exact, 1 thread). Then --bal --no-bal: the ordinary executors
# on the sealed blocks, same roots; and the fixtures under --bal.
# usage: replay_traces_bal.sh PAREX FIXTURES  (PAREX_TRACES names the folder)
parex=$1
fixtures=$2
traces=${PAREX_TRACES:-../shared/data/traces}
. "$(dirname "$0")/tap.sh"

run "$parex" replay --bal --check --threads 2 --sync none "$fixtures"
check "fixtures sealed with a BAL, 2 threads, --check: exit 0" "$rc" \
    "$(printf '%s\n%s\n' "$err" "$out" | grep -m5 MISMATCH)"
# Blocks whose header claims a tx root without a BAL cannot be sealed (the
# tx root commits to the BAL): those run as they are.
nbal=$(printf '%s\n' "$out" | grep -c 'BAL mode')
[ "$nbal" -ge 200 ]
check "fixture blocks ran in BAL mode ($nbal)" $? ""

# fixtures generate --bal: every accepted block sealed; BAL mode replays.
run "$parex" fixtures generate --bal --out "$work/fxb"
check "fixtures generate --bal: exit 0" "$rc" "$err"
run "$parex" replay --check --threads 2 --sync none "$work/fxb"
check "sealed fixtures replay, --check: exit 0" "$rc" \
    "$(printf '%s\n' "$err" | head -5)"
nbal=$(printf '%s\n' "$out" | grep -c 'BAL mode')
[ "$nbal" -ge 250 ]
check "sealed fixtures: blocks in BAL mode ($nbal)" $? ""
run "$parex" replay --no-bal --threads 2 --sync none "$work/fxb"
check "sealed fixtures, --no-bal: exit 0" "$rc" "$(printf '%s\n' "$err" | head -5)"
printf '%s\n' "$out" | grep -q 'BAL mode'
check "--no-bal: no block in BAL mode" $((1 - $?)) ""
# A BAL whose bytes are not canonical is a load error naming the field; a
# changed value is a BAL_MISMATCH of its block.
sed 's/"bal": "02/"bal": "01/' "$work/fxb/fee-recipient.json" >"$work/bad1.json"
run "$parex" replay --sync none "$work/bad1.json"
expect_fail "fixture with a non-canonical bal: load error" 3 "field 'bal'"
if command -v python3 >/dev/null; then
    python3 - "$work/fxb/fee-recipient.json" "$work/bad2.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
b = next(b for b in f["blocks"] if "bal" in b and b["txs"])
h = bytearray.fromhex(b["bal"])
h[-1] ^= 1           # the fee credit's last value byte
b["bal"] = h.hex()
json.dump(f, open(sys.argv[2], "w"))
PY
    run "$parex" replay --sync none "$work/bad2.json"
    printf '%s\n' "$out" | grep -q 'MISMATCH block rejected: BAL_MISMATCH'
    check "fixture with a changed bal value: BAL_MISMATCH" $? \
        "$(printf '%s\n' "$out" | grep MISMATCH | head -3)"
fi

# The declaration audit: the wrong-declarations fixture has both kinds.
run "$parex" audit "$fixtures/wrong-declarations.json"
check "audit of a fixture: exit 0" "$rc" "$err"
printf '%s\n' "$out" | grep -q 'summary: txs [1-9][0-9]*, declared untouched [1-9][0-9]*, undeclared [1-9]'
check "audit: declared-untouched and undeclared keys found" $? \
    "$(printf '%s\n' "$out" | tail -2)"
run "$parex" audit --json "$fixtures/wrong-declarations.json"
printf '%s\n' "$out" | grep -q '"batches_actual"'
check "audit --json: per-block batch counts" $? "$(printf '%s\n' "$out" | head -5)"

if [ ! -d "$traces" ]; then
    echo "# traces absent ($traces): trace checks skipped"
    finish
fi
# trace import --bal: the same block with the BAL trailer; JSON "bal".
t1=$(find "$traces" -name '*.jsonl' | sort | head -1)
"$parex" trace import "$t1" --out "$work/plain.bin"
run "$parex" trace import "$t1" --bal --out "$work/sealed.bin"
check "trace import --bal: exit 0" "$rc" "$err"
plain=$(wc -c <"$work/plain.bin")
sealed=$(wc -c <"$work/sealed.bin")
[ "$sealed" -gt $((plain + 8)) ] &&
    cmp -s -n "$plain" "$work/plain.bin" "$work/sealed.bin"
check "trace import --bal: the plain block, then a BAL trailer" $? \
    "plain $plain bytes, sealed $sealed"
run "$parex" trace import "$t1" --bal --json
printf '%s\n' "$out" | grep -q '"bal": "02'
check "trace import --bal --json: a \"bal\" field (version 2)" $? \
    "$(printf '%s\n' "$out" | tail -3)"

run "$parex" audit "$traces"
check "audit of every trace (exact): exit 0" "$rc" "$err"
printf '%s\n' "$out" | grep -q 'declared untouched 0, undeclared 0, declared writes only read 0, re-executions 0$'
check "audit, exact declarations: nothing untouched, undeclared or re-executed" \
    $? "$(printf '%s\n' "$out" | tail -2)"
run "$parex" audit --declare none "$t1"
printf '%s\n' "$out" | grep -q 'undeclared [1-9]'
check "audit, declare none: undeclared keys found" $? \
    "$(printf '%s\n' "$out" | tail -2)"

run "$parex" replay --threads 1 --sync none "$traces"
check "traces, plain replay: exit 0" "$rc" "$(printf '%s\n' "$err" | head -5)"
printf '%s\n' "$out" | awk '/ block [0-9]+ height /{print $1, $13}' >"$work/roots-plain"
for mode in exact drop:0.3:7 add:0.3:7 none; do
    for t in 1 2; do
        run "$parex" replay --bal --threads $t --declare "$mode" --check \
            --sync none "$traces"
        check "traces --bal, declare $mode, $t thread(s), --check: exit 0" \
            "$rc" "$(printf '%s\n' "$err" | head -5)"
        printf '%s\n' "$out" | grep -E ' block [0-9]+ height ' | grep -qv 'BAL mode'
        check "traces --bal, $mode, $t: every block in BAL mode" \
            $((1 - $?)) "$(printf '%s\n' "$out" | grep -E ' block [0-9]+ height ' | head -3)"
        printf '%s\n' "$out" | awk '/ block [0-9]+ height /{print $1, $13}' \
            >"$work/roots-$mode-$t"
        cmp -s "$work/roots-plain" "$work/roots-$mode-$t"
        check "traces --bal, $mode, $t: roots equal plain replay's" $? \
            "$(diff "$work/roots-plain" "$work/roots-$mode-$t" | head -5)"
    done
done
run "$parex" replay --bal --no-bal --threads 2 --min-batch-width 1 --check \
    --sync none "$traces"
check "traces --bal --no-bal (ordinary executors), --check: exit 0" "$rc" \
    "$(printf '%s\n' "$err" | head -5)"
printf '%s\n' "$out" | grep -q 'BAL mode'
check "--no-bal: no block in BAL mode" $((1 - $?)) ""
printf '%s\n' "$out" | awk '/ block [0-9]+ height /{print $1, $13}' >"$work/roots-nobal"
cmp -s "$work/roots-plain" "$work/roots-nobal"
check "--no-bal: roots equal plain replay's" $? \
    "$(diff "$work/roots-plain" "$work/roots-nobal" | head -5)"
finish
