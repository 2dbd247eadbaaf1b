#!/bin/sh
# Session 5 idle-machine benchmarks at main's HEAD (release build in /work/main/build-rel).
O=/work/notes/s5bench; mkdir -p $O
P=/work/main/build-rel/node/parex; T=/work/shared/data/traces
step() { echo "== $1 $(date +%T) $(uptime)" >> $O/log; }
# gate: measured at 07:24, s5bench-gate-first.jsonl
step p2p; $P bench --workload p2p --accounts 100000 --block-size 10000 --blocks 6 --threads 2 --reps 3 --no-profile --json > $O/p2p.jsonl 2>$O/p2p.err
step p2p-nopipe; $P bench --workload p2p --accounts 100000 --block-size 10000 --blocks 6 --threads 2 --reps 3 --no-profile --json --no-pipeline > $O/p2p-nopipe.jsonl 2>$O/p2p-nopipe.err
step hot; $P bench --workload hot --block-size 10000 --blocks 3 --threads 2 --reps 3 --no-profile --json > $O/hot.jsonl 2>$O/hot.err
step p2p2; $P bench --workload p2p --accounts 2 --block-size 10000 --blocks 3 --threads 2 --reps 3 --no-profile --json > $O/p2p2.jsonl 2>$O/p2p2.err
step traces; $P bench --workload trace --threads 2 --no-profile $T > $O/traces.txt 2>&1; $P bench --workload trace --threads 2 --no-profile --json $T > $O/traces.jsonl 2>/dev/null
step traces-w20; $P bench --workload trace --threads 2 --no-profile --tx-work 20 --json $T > $O/traces-w20.jsonl 2>/dev/null
step bal-traces; $P bench --bal --workload trace --threads 2 --no-profile $T > $O/bal-traces.txt 2>&1
step bal-traces-w20; $P bench --bal --workload trace --threads 2 --no-profile --tx-work 20 $T > $O/bal-traces-w20.txt 2>&1
step bal-p2p; $P bench --bal --threads 2 --accounts 100,100000 --block-size 10000 --no-profile > $O/bal-p2p.txt 2>&1
step nodeload; /work/main/docs/bench-data/session4/nodeload.sh /work/base/build-rel/node/parex $P $O/nodeload.jsonl 3 20000
step cluster; (cd /work/main && tests/cluster/bench_cluster.sh $P 50000 200 --threads 2) > $O/cluster.txt 2>&1
step done
