#!/bin/sh
# The parex CLI: help, usage errors, state commands, trace import, and
# mismatch reports naming block, tx and field.
# usage: cli.sh PAREX FIXTURES_DIR
parex=$1
fx=$2
. "$(dirname "$0")/tap.sh"

run "$parex" --help
check "parex --help exits 0" "$rc" "$err"
for word in replay "trace import" "state" "fixtures generate" "drop:P:SEED" \
    "exit status"; do
    printf '%s' "$out" | grep -q -- "$word"
    check "parex --help mentions '$word'" $? "$out"
done
for c in replay trace state fixtures; do
    run "$parex" $c --help
    check "parex $c --help exits 0" "$rc" "$err"
    printf '%s' "$out" | grep -q "exit status"
    check "parex $c --help describes exit codes" $? "$out"
    run "$parex" help $c
    check "parex help $c exits 0" "$rc" "$err"
done
run "$parex" replay --help
for word in exact none "drop:P:SEED" "add:P:SEED" "--check" "--db" \
    "--threads" "--sync" "tx/s"; do
    printf '%s' "$out" | grep -q -- "$word"
    check "replay --help mentions '$word'" $? "$out"
done

run "$parex"
expect_fail "no command: usage error" 2 "usage: parex"
run "$parex" frobnicate
expect_fail "unknown command" 2 "unknown command 'frobnicate'"
run "$parex" replay --bogus "$fx"
expect_fail "unknown replay option" 2 "unknown option '--bogus'"
run "$parex" replay --declare drop:2:1 "$fx"
expect_fail "declare P out of range" 2 "P must be a number in \[0, 1\]"
run "$parex" replay --declare sometimes "$fx"
expect_fail "unknown declare mode" 2 "unknown declare mode 'sometimes'"
run "$parex" replay --threads many "$fx"
expect_fail "bad --threads" 2 "option --threads"
run "$parex" replay --sync maybe "$fx"
expect_fail "bad --sync" 2 "option --sync"
run "$parex" replay
expect_fail "replay without PATH" 2 "no PATH"

# --db keeps one fresh store per file; state commands read it.
run "$parex" replay --db "$work/db" --sync none "$fx/chain-multi-block.json"
check "replay --db exits 0" "$rc" "$err"
store=$(ls -d "$work"/db/*chain-multi-block.json 2>/dev/null | head -1)
[ -n "$store" ]
check "replay --db kept the store" $? "$(ls -R "$work/db")"
run "$parex" state verify --db "$store"
check "state verify exits 0" "$rc" "$err"
last=$(awk '/ block 7 /{print $13}' "$work/out" 2>/dev/null)
root=$("$parex" replay --sync none "$fx/chain-multi-block.json" | awk '/ block 7 /{print $13}')
printf '%s' "$out" | grep -q "height 8 root $root ok"
check "state verify prints height, the last block's root and ok" $? "$out (want $root)"
run "$parex" state dump --db "$store"
check "state dump exits 0" "$rc" "$err"
printf '%s\n' "$out" >"$work/dump"
sort "$work/dump" | cmp -s - "$work/dump"
check "state dump is sorted by key" $? "$(head -3 "$work/dump")"
[ "$(wc -l <"$work/dump")" -eq 14 ]
check "state dump has 10 accounts, 3 genesis entries and the fee recipient" $? "$(wc -l <"$work/dump")"
line=$(head -1 "$work/dump")
key=$(printf '%s' "$line" | sed 's/.*"key": "\([0-9a-f]*\)".*/\1/')
val=$(printf '%s' "$line" | sed 's/.*"value": "\([0-9a-f]*\)".*/\1/')
run "$parex" state get --db "$store" "$key"
[ "$rc" -eq 0 ] && [ "$out" = "$val" ]
check "state get prints the dumped value" $? "$out vs $val ($err)"
run "$parex" state get --db "$store" 00000000000000000000000000000000000000000000000000000000000000ff
expect_fail "state get of an absent key exits 1" 1 "not found"
run "$parex" state get --db "$store" xyz
expect_fail "state get of bad hex exits 3" 3 "64 hex digits"
run "$parex" state dump
expect_fail "state dump without --db" 2 "--db DIR is required"

# state snapshot: a verified copy that opens as a store; never overwrites.
run "$parex" state snapshot "$store" "$work/snap"
check "state snapshot exits 0" "$rc" "$err"
[ "$out" = "height 8 root $root" ]
check "state snapshot prints the copy's height and root" $? "$out (want $root)"
run "$parex" state verify --db "$work/snap"
printf '%s' "$out" | grep -q "height 8 root $root ok"
check "the snapshot verifies" $? "$out $err"
"$parex" state dump --db "$work/snap" | cmp -s - "$work/dump"
check "the snapshot holds the same pairs" $? ""
ls "$work/snap" >"$work/snap-ls"
run "$parex" state snapshot --db "$store" "$work/snap"
expect_fail "state snapshot refuses a non-empty OUT" 4 "not empty; refusing to overwrite"
ls "$work/snap" | cmp -s - "$work/snap-ls"
check "the refused OUT is untouched" $? "$(ls "$work/snap")"
run "$parex" state snapshot "$store"
expect_fail "state snapshot without OUT" 2 "usage: parex state snapshot DIR OUT"
run "$parex" state snapshot "$work/no-store" "$work/snap2"
expect_fail "state snapshot of a missing store" 4 "cannot open state"
[ ! -e "$work/snap2" ]
check "no OUT is left after a failed snapshot" $? ""

# trace import: deterministic binary and JSON forms.
printf '{"i":0,"id":"t0","r":["a"],"w":["b"]}\n{"i":1,"r":["b"],"w":["c","a"]}\n{"i":2,"r":[],"w":[]}\n' \
    >"$work/t.jsonl"
run "$parex" trace import "$work/t.jsonl" --out "$work/t1.bin"
check "trace import --out exits 0" "$rc" "$err"
"$parex" trace import "$work/t.jsonl" --out "$work/t2.bin"
cmp -s "$work/t1.bin" "$work/t2.bin"
check "trace import is deterministic" $? ""
size=$(wc -c <"$work/t1.bin")
[ "$size" -gt 172 ]
check "binary block has header, count and txs ($size bytes)" $? ""
"$parex" trace import "$work/t.jsonl" --declare none --out "$work/t3.bin"
! cmp -s "$work/t1.bin" "$work/t3.bin"
check "declare none gives another block" $? ""
run "$parex" trace import "$work/t.jsonl" --json
check "trace import --json exits 0" "$rc" "$err"
printf '%s' "$out" | grep -q '"program": "trace"'
check "JSON block names the trace program" $? "$out"
[ "$(printf '%s' "$out" | grep -c '"sig"')" -eq 3 ]
check "JSON block has three signed txs" $? "$out"
run "$parex" replay --sync none --check --declare add:0.5:3 "$work/t.jsonl"
check "small trace replays under add:0.5:3 --check" "$rc" "$out $err"

# A wrong expectation is a mismatch naming block, tx and field.
sed 's/"status": "failed"/"status": "success"/' "$fx/fee-recipient.json" \
    >"$work/mm-status.json"
run "$parex" replay --sync none "$work/mm-status.json"
expect_fail "changed receipt status is a mismatch" 1 \
    "mm-status.json: block 1: MISMATCH receipt\[0\].status expected success got failed"
printf '%s' "$out" | grep -q "summary: .*mismatches 1"
check "summary counts the mismatch" $? "$out"
awk '/"state_root"/ && !done {sub(/"state_root": "[0-9a-f]/, "\"state_root\": \"x"); done=1} {print}' \
    "$fx/transfers-low-contention.json" | sed 's/"state_root": "x/"state_root": "0/' \
    >"$work/mm-root.json"
if cmp -s "$work/mm-root.json" "$fx/transfers-low-contention.json"; then
    sed 's/"state_root": "0/"state_root": "1/' "$work/mm-root.json" >"$work/x" &&
        mv "$work/x" "$work/mm-root.json"
fi
run "$parex" replay --sync none "$work/mm-root.json"
expect_fail "changed state root is a mismatch" 1 "block 0: MISMATCH state_root expected"
finish
