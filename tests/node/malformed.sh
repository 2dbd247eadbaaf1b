#!/bin/sh
# Malformed fixtures and traces: the loaders reject them with exit 3 and an
# error naming the file, the line or block/tx, and the field.
# usage: malformed.sh PAREX
parex=$1
. "$(dirname "$0")/tap.sh"
K=0101010101010101010101010101010101010101010101010101010101010101
S=$(printf '%0128d' 0)

# A fixture with one block of one tx; variables replace pieces of it.
fixture() {
    if [ -z "${TX:-}" ]; then
        TX="{\"sender\": \"${SENDER:-$K}\", \"nonce\": ${NONCE:-0}, \"fee\": 0,
             \"program\": ${PROG:-\"transfer\"}, \"args\": \"${ARGS:-}\",
             \"read_set\": ${RS:-[]}, \"write_set\": [], \"sig\": \"$S\"}"
    fi
    if [ -z "${EXPECT:-}" ]; then
        EXPECT="{\"state_root\": \"$K\", \"receipts\": [{\"status\":
                 \"${STATUS:-success}\", \"code\": 0, \"fee\": 0}]}"
    fi
    cat <<JSON
{"format": "parex-fixture-1", "description": "t", "chain_id": ${CHAIN:-1},
 "genesis": {"fee_recipient": "${FEE:-$K}",
             "accounts": [{"pubkey": "$K", "balance": ${BAL:-5}, "nonce": 0}],
             "state": []},
 "blocks": [{"header": {"height": ${HEIGHT:-1}},
             "txs": [$TX],
             "expect": $EXPECT}]}
JSON
}

# mk 'ASSIGNMENTS': write the fixture with those variables to bad.json.
mk() {
    (eval "$1"; fixture) >"$work/bad.json"
}

fx_case() { # NAME PATTERN: replay bad.json, expect exit 3 and PATTERN
    run "$parex" replay --sync none "$work/bad.json"
    expect_fail "fixture: $1" 3 "$2"
}

printf '{"format": ' >"$work/bad.json"
fx_case "truncated JSON" "bad.json:1:.*invalid JSON"
printf '[1, 2]' >"$work/bad.json"
fx_case "not an object" "bad.json: a fixture must be a JSON object"
fixture | sed 's/parex-fixture-1/parex-fixture-9/' >"$work/bad.json"
fx_case "wrong format" "bad.json: field 'format'"
fixture | sed 's/"description"/"descripton"/' >"$work/bad.json"
fx_case "unknown top-level field" "bad.json: unknown field 'descripton'"
mk "CHAIN='\"one\"'"
fx_case "chain_id a string" "bad.json: field 'chain_id' must be a decimal u64"
mk "CHAIN=-1"
fx_case "chain_id negative" "field 'chain_id' must not be negative"
mk "CHAIN=4294967296"
fx_case "chain_id over 32 bits" "field 'chain_id' must fit in 32 bits"
mk "FEE=zz01010101010101010101010101010101010101010101010101010101010101"
fx_case "bad hex" "genesis: field 'fee_recipient' is not valid hex"
mk "FEE=0101"
fx_case "short key" "genesis: field 'fee_recipient' must be 64 hex digits"
mk "BAL=-3"
fx_case "negative balance" "genesis: account 0: field 'balance' must not be negative"
mk "BAL=9007199254740993"
fx_case "number above 2^53" "field 'balance' is above 2^53"
mk "SENDER=0101"
fx_case "tx sender too short" "bad.json: block 0: tx 0: field 'sender' must be 64 hex digits"
mk "NONCE='\"x\"'"
fx_case "tx nonce not a number" "block 0: tx 0: field 'nonce'"
mk "PROG='\"teleport\"'"
fx_case "unknown program name" "block 0: tx 0: field 'program'"
mk "ARGS=abc"
fx_case "odd-length args" "block 0: tx 0: field 'args' has an odd number"
mk "RS='[\"$K\", \"$K\"]'"
fx_case "duplicate read_set key" "block 0: tx 0: field 'read_set\[1\]' must be strictly increasing"
mk "RS='\"x\"'"
fx_case "read_set not an array" "block 0: tx 0: field 'read_set' must be an array"
mk "TX='{\"raw\": \"0g\"}'"
fx_case "raw not hex" "block 0: tx 0: field 'raw' is not valid hex"
mk "TX='{\"raw\": \"00\", \"x\": 1}'"
fx_case "raw with extra field" "block 0: tx 0: unknown field 'x'"
mk "TX='{\"nonce\": 0}'"
fx_case "tx missing sender" "block 0: tx 0: field 'sender' is missing"
mk "STATUS=fine"
fx_case "bad receipt status" "block 0: expect: receipt 0: field 'status'"
mk "EXPECT='{\"receipts\": []}'"
fx_case "missing state_root" "block 0: expect: field 'state_root' is missing"
mk "EXPECT='{\"state_root\": \"$K\", \"receipts\": []}'"
fx_case "receipt count" "block 0: expect: field 'receipts' has 0 entries but the block has 1 txs"
mk "EXPECT='{\"reject\": {\"reason\": \"BAD_LUCK\", \"tx_index\": 0}}'"
fx_case "unknown reject reason" "block 0: expect.reject: field 'reason'"
mk "EXPECT='{\"reject\": {\"reason\": \"BAD_NONCE\", \"tx_index\": 7}}'"
fx_case "reject tx_index out of range" "field 'tx_index' is 7 but the block has 1 txs"
mk "HEIGHT='\"h\"'"
fx_case "header height a string" "block 0: field 'header.height'"

# A well-formed fixture with a wrong expectation is a mismatch (exit 1)
# naming block, tx and field.
fixture >"$work/ok.json"
run "$parex" replay --sync none "$work/ok.json"
expect_fail "wrong expectation: block rejected, not as expected" 1 "ok.json: block 0: MISMATCH"

trace_case() { # NAME PATTERN: bad.jsonl fails with exit 3 and PATTERN
    run "$parex" trace import --json "$work/bad.jsonl"
    expect_fail "trace import: $1" 3 "$2"
    run "$parex" replay --sync none "$work/bad.jsonl"
    expect_fail "replay trace: $1" 3 "$2"
}

good='{"i": 0, "id": "a", "r": ["x"], "w": ["y"]}'
printf '%s\n{"i": 1, "r": [\n' "$good" >"$work/bad.jsonl"
trace_case "invalid JSON" "bad.jsonl:2: invalid JSON"
printf '%s\n[1]\n' "$good" >"$work/bad.jsonl"
trace_case "line not an object" "bad.jsonl:2: a line must be a JSON object"
printf '{"i": 0, "r": [], "w": "y"}\n' >"$work/bad.jsonl"
trace_case "w not an array" "bad.jsonl:1: field 'w' must be an array of strings"
printf '{"i": 0, "r": [], "w": ["y", 3]}\n' >"$work/bad.jsonl"
trace_case "w element not a string" "bad.jsonl:1: field 'w' must be an array of strings"
printf '{"i": 0, "w": []}\n' >"$work/bad.jsonl"
trace_case "r missing" "bad.jsonl:1: field 'r' is missing"
printf '{"r": [], "w": []}\n' >"$work/bad.jsonl"
trace_case "i missing" "bad.jsonl:1: field 'i' is missing"
printf '{"i": "0", "r": [], "w": []}\n' >"$work/bad.jsonl"
trace_case "i a string" "bad.jsonl:1: field 'i' must be a non-negative integer"
printf '%s\n{"i": 2, "r": [], "w": []}\n' "$good" >"$work/bad.jsonl"
trace_case "i out of order" "bad.jsonl:2: field 'i' is 2 but this is transaction 1"
printf '{"i": 0, "id": 7, "r": [], "w": []}\n' >"$work/bad.jsonl"
trace_case "id not a string" "bad.jsonl:1: field 'id' must be a string"
printf '{"i": 0, "i": 0, "r": [], "w": []}\n' >"$work/bad.jsonl"
trace_case "duplicate field" "bad.jsonl:1: invalid JSON"

run "$parex" replay "$work/missing.jsonl"
expect_fail "missing input file" 3 "missing.jsonl"

# Blank lines (e.g. a trailing newline) are not transactions.
printf '%s\n\n{"i": 1, "r": ["y"], "w": ["x"]}\n\n' "$good" >"$work/blank.jsonl"
run "$parex" replay --sync none --check "$work/blank.jsonl"
check "blank lines are skipped" "$rc" "$out $err"
finish
