#!/bin/sh
# A/B main vs exp (narrow blocks always counted by the reference): hot and p2p-2, 3 interleaved rounds
for r in 1 2 3; do for lab in main exp; do
  case $lab in main) bin=/work/main/build-rel/node/parex;; exp) bin=/work/wt-exp/build-rel/node/parex;; esac
  for w in "hot" "p2p --accounts 2"; do
    $bin bench --workload $w --block-size 10000 --blocks 5 --threads 2 --reps 3 --json --no-profile 2>/dev/null | tail -1 | sed "s/^{/{\"bin\":\"$lab\",\"rep\":$r,/"
  done; done; done
