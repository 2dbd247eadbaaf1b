#!/bin/sh
# Interleaved side by side: base (43dfbdf) vs final (main). JSON lines to $1.
OUT=$1; REPS=${REPS:-5}
: > "$OUT"
echo "start: $(uptime)" > "$OUT.load"
for r in $(seq 1 $REPS); do
  for lab in base final; do
    case $lab in base) bin=/work/base/build-rel/node/parex;; final) bin=/work/main/build-rel/node/parex;; esac
    for w in "p2p --accounts 100000" "hot"; do
      $bin bench --workload $w --block-size 10000 --blocks 3 --threads 2 --reps 1 --json --no-profile 2>/dev/null | sed "s/^{/{\"bin\":\"$lab\",\"rep\":$r,/" >> "$OUT"
    done
  done
done
echo "end: $(uptime)" >> "$OUT.load"
