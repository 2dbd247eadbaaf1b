#!/bin/sh
# Session 8 idle-machine benchmarks at main's HEAD (release build in /work/main/build-rel):
# issue 10, 13 and 14's targets; the cluster bench three times (its ratio's spread).
# With B=DIR (a release build of session 7's last commit, 35f6478), p2p, the traces and the
# BAL traces also run on it, alternating with main, so that session 8's changes show side by side.
O=${O:-/work/notes/s8bench}; mkdir -p $O
P=/work/main/build-rel/node/parex; T=/work/shared/data/traces
step() { echo "== $1 $(date +%T) $(uptime)" >> $O/log; }
for r in 1 2; do
  for v in main ${B:+base}; do
    x=$P; [ $v = base ] && x=$B/node/parex
    step "p2p $v $r"; $x bench --workload p2p --accounts 100000 --block-size 10000 --blocks 6 --threads 2 --reps 3 --no-profile --json > $O/p2p.$v.$r.jsonl 2>/dev/null
  done
done
step hot; $P bench --workload hot --block-size 10000 --blocks 3 --threads 2 --reps 5 --no-profile --json > $O/hot.jsonl 2>/dev/null
step p2p2; $P bench --workload p2p --accounts 2 --block-size 10000 --blocks 3 --threads 2 --reps 5 --no-profile --json > $O/p2p2.jsonl 2>/dev/null
for v in main ${B:+base}; do
  x=$P; [ $v = base ] && x=$B/node/parex
  step "traces $v"; $x bench --workload trace --threads 2 --no-profile $T > $O/traces.$v.txt 2>&1
  step "bal-traces $v"; $x bench --bal --workload trace --threads 2 --no-profile $T > $O/bal-traces.$v.txt 2>&1
done
for r in 1 2 3; do
  step "cluster $r"; (cd /work/main && tests/cluster/bench_cluster.sh $P 50000 200 --threads 2) > $O/cluster.$r.txt 2>&1
done
step done
