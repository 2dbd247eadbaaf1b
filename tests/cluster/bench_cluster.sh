#!/bin/sh
# Issue 14's throughput target, a benchmark (not a test; run it on an idle
# machine): the same `parex load` against one plain `parex node` and
# against a 3-node cluster (3 etcd members + 3 `parex node --cluster` on
# this machine, loopback), side by side, with the ordering round trip per
# block from the producer's /metrics.
#
# usage: tests/cluster/bench_cluster.sh PAREX [TXS] [SENDERS] [NODE ARGS...]
#   e.g. tests/cluster/bench_cluster.sh build-release/node/parex 50000 200
# TXS default 20000, SENDERS default 100; NODE ARGS go to every node (both
# runs), e.g. --threads 4 --block-interval 50. Each node gets
# --sync full (the default) and its own fresh directory.
# Prints, per run, `parex load`'s report, then one summary:
#   single    tx/s X
#   cluster   tx/s Y   (Y/X = R; issue 14's target R >= 0.7)
#   ordering  N appends, M ms per block (pxc_append round trip)
#   cpu       etcd and nodes CPU time per block over the cluster's load,
#             and the nodes' split into the producer and the two followers
#   etcd      requests per block by gRPC method (from the members' /metrics)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ "${1:-}" = "--cluster-phase" ]; then
    # Under etcd-cluster.sh: PXC_ENDPOINTS set. Args: PAREX TXS SENDERS TMP
    # NODE ARGS...
    shift
    parex=$1 txs=$2 senders=$3 tmp=$4
    shift 4
    pids=""
    cleanup() {
        for p in $pids; do kill "$p" 2>/dev/null || true; done
        for p in $pids; do wait "$p" 2>/dev/null || true; done
    }
    trap cleanup EXIT INT TERM
    ports=$(python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
for x in s:
    x.close()')
    i=1
    for port in $ports; do
        "$parex" node --db "$tmp/c$i" --listen "127.0.0.1:$port" \
            --genesis "$tmp/genesis.json" --cluster "$PXC_ENDPOINTS" \
            --node-name "n$i" "$@" >"$tmp/c$i.out" 2>"$tmp/c$i.err" &
        pids="$pids $!"
        echo "http://127.0.0.1:$port" >"$tmp/c$i.url"
        i=$((i + 1))
    done
    # The producer: the node whose status says so.
    prod=""
    tries=0
    while [ -z "$prod" ] && [ $tries -lt 100 ]; do
        for i in 1 2 3; do
            u=$(cat "$tmp/c$i.url")
            r=$(curl -s -m 1 "$u" -d '{"jsonrpc":"2.0","method":"status","id":1}' || true)
            case "$r" in *'"role":"producer"'*) prod=$u ;; esac
        done
        [ -n "$prod" ] || sleep 0.1
        tries=$((tries + 1))
    done
    [ -n "$prod" ] || { echo "no producer elected; logs:" >&2; tail -n 5 "$tmp"/c*.err >&2; exit 1; }
    echo "# cluster: producer $prod (3 nodes: $*)"
    # CPU seconds (user + system, from /proc) of the etcd members and of
    # the nodes over the load: a cost that other processes' load on the
    # machine does not inflate as much as wall time.
    cpu() {
        t=0
        for p in "$@"; do
            v=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)
            t=$((t + v))
        done
        echo "$t"
    }
    epids=$(cat "$PXC_ETCD_DIR"/m*.pid)
    e0=$(cpu $epids)
    n0=$(cpu $pids)
    # Per role as well: the producer's CPU (submissions on entry, execute,
    # append) and the followers' (wait, read, re-execute) differ in kind.
    ppid="" fpids=""
    i=1
    for p in $pids; do
        if [ "$(cat "$tmp/c$i.url")" = "$prod" ]; then ppid=$p; else fpids="$fpids $p"; fi
        i=$((i + 1))
    done
    p0=$(cpu $ppid)
    f0=$(cpu $fpids)
    # etcd's requests by gRPC method (the gateway's calls land there),
    # summed over the members: what each block costs etcd, in requests.
    grpc() {
        for u in $(echo "$PXC_ENDPOINTS" | tr , ' '); do
            curl -s -m 5 "$u/metrics" || true
        done | awk '/^grpc_server_started_total/ {
            m = $0; sub(/.*grpc_method="/, "", m); sub(/".*/, "", m)
            n[m] += $NF } END { for (k in n) print k, n[k] }' | sort
    }
    grpc >"$tmp/grpc0.txt"
    "$parex" load --url "$prod" --senders "$senders" --txs "$txs" \
        --batch 200 --json \
        >"$tmp/cluster.json"
    cat "$tmp/cluster.json"
    curl -s -m 5 "$prod/metrics" | grep '^parex_node_cluster_append' \
        >"$tmp/ordering.txt"
    hz=$(getconf CLK_TCK)
    echo "etcd_cpu_seconds $(( $(cpu $epids) - e0 )) $hz" >>"$tmp/ordering.txt"
    echo "nodes_cpu_seconds $(( $(cpu $pids) - n0 )) $hz" >>"$tmp/ordering.txt"
    grpc >"$tmp/grpc1.txt"
    join -a 2 "$tmp/grpc0.txt" "$tmp/grpc1.txt" | awk '{
        d = NF == 3 ? $3 - $2 : $2; if (d > 0) print "etcd_requests", $1, d }' \
        >>"$tmp/ordering.txt"
    echo "producer_cpu_seconds $(( $(cpu $ppid) - p0 )) $hz" >>"$tmp/ordering.txt"
    echo "followers_cpu_seconds $(( $(cpu $fpids) - f0 )) $hz" >>"$tmp/ordering.txt"
    exit 0
fi

parex=$1
txs=${2:-20000}
senders=${3:-100}
shift $(( $# < 3 ? $# : 3 ))
tmp=$(mktemp -d "${TMPDIR:-/tmp}/parex-bench-cluster-XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
"$parex" load --write-genesis "$tmp/genesis.json" --senders "$senders"

# 1. One node, no cluster (tests/node/load_bench.sh: a fresh node, the
# load, SIGTERM, state verify).
PAREX_LOAD_ARGS=--json sh "$here/../node/load_bench.sh" "$parex" "$txs" \
    "$senders" 200 "$@" | tee "$tmp/single.out"
grep '^{"txs"' "$tmp/single.out" >"$tmp/single.json"

# 2. The same load against the producer of a 3-node cluster.
sh "$here/etcd-cluster.sh" -t 900 sh "$here/bench_cluster.sh" \
    --cluster-phase "$parex" "$txs" "$senders" "$tmp" "$@"

python3 - "$tmp/single.json" "$tmp/cluster.json" "$tmp/ordering.txt" <<'EOPY'
import json, sys
def rate(path):
    with open(path) as f:
        d = json.loads(f.read().strip().splitlines()[-1])
    for k in ("tx_per_s",):
        if k in d:
            return float(d[k])
    raise SystemExit("no committed rate in %s: %r" % (path, d))
s, c = rate(sys.argv[1]), rate(sys.argv[2])
m, cpu, req = {}, {}, {}
for l in open(sys.argv[3]):
    w = l.split()
    if w and w[0] == "etcd_requests":
        req[w[1]] = float(w[2])
    elif len(w) == 2:
        m[w[0]] = w[1]
    elif len(w) == 3:
        cpu[w[0]] = float(w[1]) / float(w[2])
n = float(m.get("parex_node_cluster_appends_total", 0))
t = float(m.get("parex_node_cluster_append_seconds_total", 0))
print("single    tx/s %.0f" % s)
print("cluster   tx/s %.0f   (cluster/single = %.2f; issue 14's target "
      ">= 0.7)" % (c, c / s if s else 0))
print("ordering  %d appends, %.2f ms per block (pxc_append round trip)" %
      (n, 1000 * t / n if n else 0))
if n:
    print("cpu       etcd (3 members) %.1f ms per block, nodes (3) %.1f ms "
          "per block (user + system over the load)" %
          (1000 * cpu.get("etcd_cpu_seconds", 0) / n,
           1000 * cpu.get("nodes_cpu_seconds", 0) / n))
    print("cpu       producer %.1f ms per block, followers (2) %.1f ms per "
          "block" % (1000 * cpu.get("producer_cpu_seconds", 0) / n,
                     1000 * cpu.get("followers_cpu_seconds", 0) / n))
    # Per 1000 txs too: blocks grow or shrink with the machine's load, and
    # part of the cost is per tx, part per block.
    with open(sys.argv[2]) as f:
        ntx = float(json.loads(f.read().strip().splitlines()[-1])["txs"])
    print("cpu       per 1000 txs: etcd %.1f ms, producer %.1f ms, followers "
          "(2) %.1f ms" % tuple(1e6 * cpu.get(k, 0) / ntx for k in
                                ("etcd_cpu_seconds", "producer_cpu_seconds",
                                 "followers_cpu_seconds")))
    print("etcd      requests per block (3 members, by method): " +
          ", ".join("%s %.1f" % (k, v / n) for k, v in sorted(req.items())))
EOPY
