#!/bin/sh
# Session 7 idle-machine benchmarks at main's HEAD (release build in /work/main/build-rel):
# issue 9's gate (base 43dfbdf vs main --cold, interleaved), then issue 10, 13 and 14's targets.
O=${O:-/work/notes/s7bench}; mkdir -p $O
P=/work/main/build-rel/node/parex; T=/work/shared/data/traces
step() { echo "== $1 $(date +%T) $(uptime)" >> $O/log; }
step gate; R=${R:-12} /work/main/docs/bench-data/session7/gate.sh $O/gate-cold.jsonl
step p2p; $P bench --workload p2p --accounts 100000 --block-size 10000 --blocks 6 --threads 2 --reps 3 --no-profile --json > $O/p2p.jsonl 2>/dev/null
step hot; $P bench --workload hot --block-size 10000 --blocks 3 --threads 2 --reps 5 --no-profile --json > $O/hot.jsonl 2>/dev/null
step p2p2; $P bench --workload p2p --accounts 2 --block-size 10000 --blocks 3 --threads 2 --reps 5 --no-profile --json > $O/p2p2.jsonl 2>/dev/null
step traces; $P bench --workload trace --threads 2 --no-profile $T > $O/traces.txt 2>&1
step bal-traces; $P bench --bal --workload trace --threads 2 --no-profile $T > $O/bal-traces.txt 2>&1
step cluster; (cd /work/main && tests/cluster/bench_cluster.sh $P 50000 200 --threads 2) > $O/cluster.txt 2>&1
step done
