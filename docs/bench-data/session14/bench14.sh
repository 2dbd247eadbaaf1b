#!/bin/sh
# Session 14's side-by-side run: main (this session's last engine commit) against the
# session's starting commit 8173adb (B = its release build), alternating, 2 rounds; the
# traces with --reps 9 (blocks of 0.1-0.3 ms vary by +-10% between single reps on this
# VM); then --tx-work 20 on main. Run on an idle machine with nothing else running; the
# log has the load.
O=${O:-/work/notes/s14bench}; mkdir -p $O
P=${P:-/work/main/build-rel/node/parex}; B=${B:-/work/base13/build-rel/node/parex}
T=/work/shared/data/traces
echo "start $(date +%T) $(uptime) main=$(cd /work/main && git rev-parse --short HEAD)" > $O/log
for r in 1 2; do
  for v in main base; do
    x=$P; [ $v = base ] && x=$B
    $x bench --workload trace --threads 2 --reps 9 --no-profile $T > $O/traces.$v.$r.txt 2>&1
    $x bench --bal --workload trace --threads 2 --reps 9 --no-profile $T > $O/bal.$v.$r.txt 2>&1
    $x bench --workload p2p --accounts 100000 --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/p2p.$v.$r.jsonl 2>/dev/null
    $x bench --workload p2p --accounts 2 --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/p2p2.$v.$r.jsonl 2>/dev/null
    $x bench --workload hot --block-size 10000 --blocks 4 --threads 2 --reps 5 --no-profile --json > $O/hot.$v.$r.jsonl 2>/dev/null
    echo "$v $r done $(date +%T) $(uptime)" >> $O/log
  done
done
$P bench --workload trace --tx-work 20 --threads 2 --no-profile $T > $O/traces-tw20.main.txt 2>&1
$P bench --bal --workload trace --tx-work 20 --threads 2 --no-profile $T > $O/bal-tw20.main.txt 2>&1
echo "end $(date +%T) $(uptime)" >> $O/log
