#!/bin/sh
# After ab-calib.sh (CALIB_MIN_TXS 1024, the build then had an unused env-gated debug
# line): the final build (CALIB_MIN_TXS 256) against old (7d97bb4) again, alternating:
# the p2p grid at 2 threads, then p2p 100k and hot. traces.main256.jsonl: the traces at
# 9 reps on the 256 build (21:53).
O=${O:-/work/notes/s17ab}; P=${P:-/work/main/build-rel/node/parex}; B=${B:-/work/old17/build-rel/node/parex}
echo "final start $(date +%T) $(uptime)" >> $O/log
for v in main old; do
  x=$P; [ $v = old ] && x=$B
  $x bench --workload p2p --accounts 2,10,100,1000,10000,100000 --block-size 1000,10000 --threads 2 --reps 3 --no-profile --json > $O/grid.$v.final.jsonl 2>/dev/null
  $x bench --workload p2p --accounts 100000 --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/p2p.$v.final.jsonl 2>/dev/null
  $x bench --workload hot --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/hot.$v.final.jsonl 2>/dev/null
  echo "$v final done $(date +%T) $(uptime)" >> $O/log
done
