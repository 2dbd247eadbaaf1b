#!/bin/sh
# Issue 9's gate, interleaved: base (43dfbdf: a fresh engine per run, its only method) against
# main with --cold (the same method). The order alternates per round (base first in odd rounds,
# main first in even ones) so that a drift of the machine favours neither. JSON lines to $1.
OUT=$1; R=${R:-12}; : > "$OUT"; echo "start: $(uptime)" > "$OUT.load"
BASE=${BASE:-/work/base/build-rel/node/parex}; MAIN=${MAIN:-/work/main/build-rel/node/parex}
one() {
  case $1 in base) bin=$BASE; x="";; main) bin=$MAIN; x=--cold;; esac
  for w in "p2p --accounts 100000" "hot"; do
    $bin bench --workload $w --block-size 10000 --blocks 3 --threads 2 --reps 1 --json --no-profile $x 2>/dev/null | sed "s/^{/{\"bin\":\"$1\",\"rep\":$r,/" >> "$OUT"
  done
}
for r in $(seq 1 $R); do
  if [ $((r % 2)) -eq 1 ]; then one base; one main; else one main; one base; fi
done
echo "end: $(uptime)" >> "$OUT.load"
