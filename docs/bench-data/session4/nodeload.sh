#!/bin/sh
# End-to-end tx/s of `parex node --threads 2` under the same `parex load`, two binaries
# interleaved: A (before) and B (after). Usage: nodeload.sh BIN_A BIN_B OUT.jsonl [REPS] [TXS]
A=$1; B=$2; OUT=$3; REPS=${4:-3}; TXS=${5:-20000}
: > "$OUT"; echo "start: $(uptime)" > "$OUT.load"
run() { # label bin rep
  d=$(mktemp -d); "$2" load --write-genesis "$d/genesis.json" --senders 100 >/dev/null || return 1
  "$2" node --db "$d/db" --listen 127.0.0.1:0 --genesis "$d/genesis.json" --threads 2 \
       > "$d/node.out" 2> "$d/node.err" &
  pid=$!
  for i in $(seq 1 100); do grep -q listening "$d/node.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$d/node.out" | head -1)
  "$2" load --url "$url" --senders 100 --txs "$TXS" --json 2>"$d/load.err" | tail -1 |
      sed "s/^{/{\"bin\":\"$1\",\"rep\":$3,/" >> "$OUT"
  curl -s "$url/metrics" > "$d/metrics.txt" 2>/dev/null; cp "$d/metrics.txt" "$OUT.$1.$3.metrics" 2>/dev/null
  kill -INT $pid; wait $pid; rm -rf "$d"
}
for r in $(seq 1 "$REPS"); do run A "$A" "$r"; run B "$B" "$r"; done
echo "end: $(uptime)" >> "$OUT.load"
