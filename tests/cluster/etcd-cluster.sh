#!/bin/sh
# Runs a command against a throwaway etcd cluster on loopback:
#
#   etcd-cluster.sh [-n MEMBERS] [-t SECONDS] COMMAND [ARGS...]
#
# Starts MEMBERS (default 3) etcd members from $PAREX_ETCD (default
# /usr/bin/etcd, Debian package etcd-server) on free 127.0.0.1 ports with
# data directories in a fresh temporary directory, waits until every member
# reports healthy, then runs COMMAND (at most SECONDS, default 50) with
#
#   PXC_ENDPOINTS  the client URLs, comma-separated
#   PXC_ETCD_DIR   the directory: m<i>.pid (the live pid of member i, kept
#                  current by start-<i>), start-<i> (starts member i again,
#                  on its data directory: `sh $PXC_ETCD_DIR/start-2 &`),
#                  m<i>.url (its client URL), m<i>.log
#   PXC_ETCD_N     MEMBERS
#
# and exits with COMMAND's status. On any exit (also INT, TERM, HUP, or the
# time limit) every member still running is killed and the directory goes.
# Exits 77 (meson's "skipped") when etcd is not installed.
set -u
etcd=${PAREX_ETCD:-/usr/bin/etcd}
n=3
limit=50
while [ $# -gt 0 ]; do
    case "$1" in
    -n) n=$2; shift 2 ;;
    -t) limit=$2; shift 2 ;;
    *) break ;;
    esac
done
if [ $# -eq 0 ]; then
    echo "usage: etcd-cluster.sh [-n MEMBERS] [-t SECONDS] COMMAND [ARGS...]" >&2
    exit 2
fi
if [ ! -x "$etcd" ]; then
    echo "1..0 # SKIP $etcd is not installed (Debian package etcd-server)"
    exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/parex-etcd.XXXXXX") || exit 1
cleanup() {
    for f in "$dir"/m*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f")
        [ -n "$pid" ] && kill -CONT "$pid" 2>/dev/null
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
    done
    # Let the kernel reap them before their data directories go.
    sleep 0.2
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# 2n free ports, bound and released at once by the kernel's choice.
ports=$(python3 -c '
import socket, sys
s = [socket.socket() for _ in range(2 * int(sys.argv[1]))]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))
for x in s:
    x.close()' "$n") || exit 1

cluster=""
endpoints=""
i=1
for p in $ports; do
    if [ $i -le "$n" ]; then
        eval "client_$i=$p"
        endpoints="$endpoints${endpoints:+,}http://127.0.0.1:$p"
    else
        j=$((i - n))
        eval "peer_$j=$p"
        cluster="$cluster${cluster:+,}m$j=http://127.0.0.1:$p"
    fi
    i=$((i + 1))
done

i=1
while [ $i -le "$n" ]; do
    eval "c=\$client_$i; p=\$peer_$i"
    echo "http://127.0.0.1:$c" > "$dir/m$i.url"
    # Short heartbeat (50 ms) and election timeout (10 heartbeats, as etcd's
    # tuning guide advises): a new raft leader within a second on loopback.
    # Each start writes its pid before exec'ing etcd.
    cat > "$dir/start-$i" <<EOS
echo \$\$ > "$dir/m$i.pid"
exec "$etcd" --name m$i --data-dir "$dir/m$i" \\
  --listen-client-urls http://127.0.0.1:$c \\
  --advertise-client-urls http://127.0.0.1:$c \\
  --listen-peer-urls http://127.0.0.1:$p \\
  --initial-advertise-peer-urls http://127.0.0.1:$p \\
  --initial-cluster "$cluster" --initial-cluster-state new \\
  --initial-cluster-token parex-test-$$ \\
  --heartbeat-interval 50 --election-timeout 500 \\
  --log-level error >> "$dir/m$i.log" 2>&1
EOS
    sh "$dir/start-$i" &
    i=$((i + 1))
done

# Healthy = every member answers /health with "true" (a quorum exists).
python3 - "$endpoints" <<'EOPY' || { echo "etcd-cluster.sh: the members did not become healthy within 20 s; logs:" >&2; tail -n 20 "$dir"/m*.log >&2; exit 1; }
import json, sys, time, urllib.request
eps = sys.argv[1].split(",")
deadline = time.time() + 20
while time.time() < deadline:
    ok = 0
    for e in eps:
        try:
            with urllib.request.urlopen(e + "/health", timeout=1) as r:
                if json.load(r).get("health") == "true":
                    ok += 1
        except Exception:
            pass
    if ok == len(eps):
        sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
EOPY

PXC_ENDPOINTS=$endpoints
PXC_ETCD_DIR=$dir
PXC_ETCD_N=$n
export PXC_ENDPOINTS PXC_ETCD_DIR PXC_ETCD_N
if command -v timeout >/dev/null 2>&1; then
    timeout -k 5 "$limit" "$@"
else
    "$@"
fi
rc=$?
[ $rc -eq 124 ] && echo "etcd-cluster.sh: $* ran past $limit s" >&2
exit $rc
