#!/bin/sh
# Session 17's side-by-side run on a freshly booted, idle machine: main (00fc7a9, the
# last engine commit; sessions 15-16 left no results section) against 8173adb (B = its
# release build, session 14's starting commit), alternating, 2 rounds: round 1 the
# traces as text, round 2 as --json (the raw lines); the traces with --reps 9. Then on
# main: the real blocks at --tx-work 5, 20 and 100, BAL validation at --tx-work 20, and
# the p2p contention grid plus hot at 1 and 2 threads with a plot. The log has the load.
O=${O:-/work/notes/s17bench}; mkdir -p $O
P=${P:-/work/main/build-rel/node/parex}; B=${B:-/work/base13/build-rel/node/parex}
T=/work/shared/data/traces
echo "start $(date +%T) $(uptime) main=$(cd /work/main && git rev-parse --short HEAD)" > $O/log
for r in 1 2; do
  for v in main base; do
    x=$P; [ $v = base ] && x=$B
    if [ $r = 1 ]; then
      $x bench --workload trace --threads 2 --reps 9 --no-profile $T > $O/traces.$v.$r.txt 2>&1
      $x bench --bal --workload trace --threads 2 --reps 9 --no-profile $T > $O/bal.$v.$r.txt 2>&1
    else
      $x bench --workload trace --threads 2 --reps 9 --no-profile --json $T > $O/traces.$v.$r.jsonl 2>/dev/null
      $x bench --bal --workload trace --threads 2 --reps 9 --no-profile --json $T > $O/bal.$v.$r.jsonl 2>/dev/null
    fi
    $x bench --workload p2p --accounts 100000 --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/p2p.$v.$r.jsonl 2>/dev/null
    $x bench --workload p2p --accounts 2 --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/p2p2.$v.$r.jsonl 2>/dev/null
    $x bench --workload hot --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/hot.$v.$r.jsonl 2>/dev/null
    echo "$v $r done $(date +%T) $(uptime)" >> $O/log
  done
done
for w in 5 20 100; do
  $P bench --workload trace --tx-work $w --threads 2 --no-profile $T > $O/traces-tw$w.main.txt 2>&1
  echo "tw$w done $(date +%T) $(uptime)" >> $O/log
done
$P bench --bal --workload trace --tx-work 20 --threads 2 --no-profile $T > $O/bal-tw20.main.txt 2>&1
$P bench --workload p2p --accounts 2,10,100,1000,10000,100000 --block-size 1000,10000 --threads 1,2 --reps 3 --no-profile --json --plot $O/grid.png > $O/grid.jsonl 2>/dev/null
$P bench --workload hot --block-size 10000 --threads 1,2 --reps 3 --no-profile --json >> $O/grid.jsonl 2>/dev/null
$P bench --replot $O/grid.jsonl --plot $O/grid.png > /dev/null 2>&1
echo "end $(date +%T) $(uptime)" >> $O/log
