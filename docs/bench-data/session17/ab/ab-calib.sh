#!/bin/sh
# Session 17's A/B of the calibration change: main (the working tree's build, then with
# CALIB_MIN_TXS 1024) against old (7d97bb4 = 00fc7a9's engine), alternating; the p2p
# contention grid at 2 threads, hot, p2p 100k at 5 reps, the traces at 9 reps. The log has the load.
O=${O:-/work/notes/s17ab}; mkdir -p $O
P=${P:-/work/main/build-rel/node/parex}; B=${B:-/work/old17/build-rel/node/parex}
T=/work/shared/data/traces
echo "start $(date +%T) $(uptime)" > $O/log
for v in main old; do
  x=$P; [ $v = old ] && x=$B
  $x bench --workload p2p --accounts 2,10,100,1000,10000,100000 --block-size 1000,10000 --threads 2 --reps 3 --no-profile --json > $O/grid.$v.jsonl 2>/dev/null
  echo "$v grid done $(date +%T) $(uptime)" >> $O/log
done
for v in main old; do
  x=$P; [ $v = old ] && x=$B
  $x bench --workload p2p --accounts 100000 --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/p2p.$v.jsonl 2>/dev/null
  $x bench --workload hot --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/hot.$v.jsonl 2>/dev/null
  $x bench --workload trace --threads 2 --reps 9 --no-profile --json $T > $O/traces.$v.jsonl 2>/dev/null
  echo "$v p2p/hot/traces done $(date +%T) $(uptime)" >> $O/log
done
echo "end $(date +%T) $(uptime)" >> $O/log
