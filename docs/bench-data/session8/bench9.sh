#!/bin/sh
# Session 8's side-by-side run, as run at 20:25 UTC (load 0.00 at start, nothing else running):
# the traces, the BAL traces and p2p 100k on main (3750f39) and on session 7's last
# commit (35f6478, B = its release build), main first. One round only (the session's time).
O=${O:-/work/notes/s8bench}; mkdir -p $O
P=/work/main/build-rel/node/parex; B=${B:-/work/base7/build-rel/node/parex}; T=/work/shared/data/traces
echo "start $(date +%T) $(uptime)" > $O/log
for v in main base; do
  x=$P; [ $v = base ] && x=$B
  $x bench --workload trace --threads 2 --no-profile $T > $O/traces.$v.txt 2>&1
  $x bench --bal --workload trace --threads 2 --no-profile $T > $O/bal.$v.txt 2>&1
  $x bench --workload p2p --accounts 100000 --block-size 10000 --blocks 4 --threads 2 --reps 2 --no-profile --json > $O/p2p.$v.jsonl 2>/dev/null
done
echo "end $(date +%T) $(uptime)" >> $O/log
