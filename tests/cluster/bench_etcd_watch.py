# A benchmark of what etcd pays for the followers' watch (not a test):
#   tests/cluster/etcd-cluster.sh -t 400 python3 \
#       tests/cluster/bench_etcd_watch.py
# Under etcd-cluster.sh. Per mode (old: followers watch the block keys;
# new: they watch a small head key put in the same txn), alternating, 2
# reps: a producer appends N blocks of SIZE bytes (one txn each), two
# followers wait (watch from the revision after their read) and range the
# block. Reports etcd CPU (utime+stime of the 3 members) per block and the
# append's wall time.
import base64, json, os, sys, threading, time, statistics, urllib.request
eps = os.environ["PXC_ENDPOINTS"].split(",")
d = os.environ["PXC_ETCD_DIR"]
N, SIZE = 25, 800000
b64 = lambda b: base64.b64encode(b).decode()
def post(ep, path, obj):
    req = urllib.request.Request(ep + path, json.dumps(obj).encode(),
                                 {"Expect": ""})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())
def etcd_cpu():
    t = 0
    for i in (1, 2, 3):
        pid = open("%s/m%d.pid" % (d, i)).read().strip()
        f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
        t += int(f[11]) + int(f[12])
    return t / os.sysconf("SC_CLK_TCK")
def pfx_end(p):
    return p[:-1] + bytes([p[-1] + 1])
def run(mode, pre):
    bpre = pre + b"block/"
    hk = pre + b"head"
    def bk(h): return bpre + b"%020d" % h
    def follow(ep):
        for h in range(1, N + 1):
            while True:
                r = post(ep, "/v3/kv/range", {"key": b64(bk(h))})
                if r.get("kvs"):
                    break
                rev = int(r["header"]["revision"])
                if mode == "old":
                    cr = {"key": b64(bpre), "range_end": b64(pfx_end(bpre)),
                          "start_revision": rev + 1}
                else:
                    cr = {"key": b64(hk), "start_revision": rev + 1}
                req = urllib.request.Request(
                    ep + "/v3/watch",
                    json.dumps({"create_request": cr}).encode())
                with urllib.request.urlopen(req, timeout=30) as w:
                    while True:
                        ln = w.readline()
                        if not ln: break
                        j = json.loads(ln)
                        if j.get("result", {}).get("events"):
                            break
    ths = [threading.Thread(target=follow, args=(eps[i],)) for i in (1, 2)]
    for t in ths: t.start()
    time.sleep(0.3)
    c0 = etcd_cpu(); ts = []
    for h in range(1, N + 1):
        v = b64(os.urandom(SIZE))
        ops = [{"request_put": {"key": b64(bk(h)), "value": v}}]
        if mode == "new":
            ops.append({"request_put": {"key": b64(hk),
                                        "value": b64(b"%020d" % h)}})
        t = time.time()
        post(eps[0], "/v3/kv/txn", {
            "compare": [{"key": b64(bk(h)), "target": "CREATE",
                         "create_revision": "0", "result": "EQUAL"}],
            "success": ops})
        ts.append(time.time() - t)
    for t in ths: t.join()
    c1 = etcd_cpu()
    return statistics.median(ts) * 1000, (c1 - c0) / N * 1000
for rep in (1, 2):
    for mode in ("old", "new"):
        la = open("/proc/loadavg").read().split()[0]
        med, cpu = run(mode, b"/bench/%s%d/" % (mode.encode(), rep))
        print("%s rep %d: append (txn of %d bytes) median %.1f ms; etcd "
              "CPU %.1f ms per block (load %s)" % (mode, rep, SIZE, med, cpu,
                                                   la), flush=True)
