#!/bin/sh
# Load run through the reference node (a benchmark, not a test): a fresh
# node on a free loopback port, `parex load` with TXS transfers from
# SENDERS senders, then SIGTERM. Prints parex load's report.
# usage: load_bench.sh PAREX [TXS] [SENDERS] [BATCH] [NODE ARGS...]
set -eu
parex=$1
txs=${2:-20000}
senders=${3:-100}
batch=${4:-200}
shift $(( $# < 4 ? $# : 4 ))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parex-load-XXXXXX")
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
"$parex" load --write-genesis "$tmp/genesis.json" --senders "$senders"
mkfifo "$tmp/out"
"$parex" node --db "$tmp/state" --listen 127.0.0.1:0 \
    --genesis "$tmp/genesis.json" "$@" >"$tmp/out" 2>"$tmp/err" &
pid=$!
read -r line <"$tmp/out"
cat "$tmp/out" >/dev/null &
url=$(echo "$line" | sed -n 's/.*listening on \(http:[^ ]*\) .*/\1/p')
[ -n "$url" ] || { echo "node did not start: $line" >&2; cat "$tmp/err" >&2; exit 1; }
echo "# node: $line ($*)"
# PAREX_LOAD_ARGS (e.g. --json): more arguments of parex load.
# shellcheck disable=SC2086
"$parex" load --url "$url" --senders "$senders" --txs "$txs" --batch "$batch" \
    ${PAREX_LOAD_ARGS:-}
kill -TERM "$pid"
wait "$pid"
pid=
"$parex" state verify --db "$tmp/state"
