#!/usr/bin/env python3
"""The reference node's smaller limits and conventions (issue 12, item 7
and the conventions list), TAP: client timeouts against a server that never
answers, an idle --block-interval 0 that does not spin, --threads and
--listen as the usage says, a full store and its growth path (--map-size),
`load --senders 100000`, SIGHUP, /health, valid keygen JSON.

CPU and time bounds are generous multiples of what the work needs (a
loaded 2-core machine passes); each check says its bound.

usage: node_misc.py PAREX SIGN_MANY
"""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import harness  # tests/node/harness.py, the shared harness

PAREX = sys.argv[1]
SIGN = sys.argv[2]
CHAIN = 5
n_ok = 0
procs = []


def Q(v):
    """A JSON-RPC u64 quantity ("0x..." hex) as an int."""
    return int(v, 16) if isinstance(v, str) else v


def ok(cond, what):
    global n_ok
    n_ok += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (n_ok, what))
    sys.stdout.flush()
    if not cond:
        raise SystemExit(1)


def skip(what):
    global n_ok
    n_ok += 1
    print("ok %d - # SKIP %s" % (n_ok, what))


def run(*argv, timeout=60):
    return subprocess.run([PAREX] + list(argv), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=timeout)


def pubkey(seed):
    return json.loads(run("keygen", "--seed", seed).stdout)["pubkey"]


def genesis(tmp, accounts):
    g = {"format": "parex-fixture-1", "description": "misc", "chain_id":
         CHAIN, "genesis": {"fee_recipient": pubkey("misc-fee"),
                            "accounts": [{"pubkey": p, "balance": b,
                                          "nonce": 0}
                                         for p, b in accounts]},
         "blocks": []}
    path = os.path.join(tmp, "genesis.json")
    with open(path, "w") as f:
        json.dump(g, f)
    return path


def start(tmp, gpath, *args, listen="127.0.0.1:0", db="state"):
    p = subprocess.Popen([PAREX, "node", "--db", os.path.join(tmp, db),
                          "--listen", listen, "--genesis", gpath,
                          "--threads", "2"] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    procs.append(p)
    line = p.stdout.readline()
    p.log = []
    harness.log_lines(p.stderr, p.log)
    harness.discard(p.stdout)
    return p, line.strip()


def url_of(line):
    return line.split()[4]


def post(url, body, timeout=30):
    host, port = url[len("http://"):].rsplit(":", 1)
    c = http.client.HTTPConnection(host.strip("[]"), int(port),
                                   timeout=timeout)
    try:
        c.request("POST", "/", body=body,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def rpc(url, method, *params):
    st, data = post(url, json.dumps({"jsonrpc": "2.0", "method": method,
                                     "params": list(params),
                                     "id": 1}).encode())
    r = json.loads(data)
    return r.get("result"), r.get("error")


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(cond, timeout, step=0.02):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if cond():
            return time.time() - t0
        time.sleep(step)
    return None


def silent_server():
    """A TCP server that accepts and reads but never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    conns = []

    def loop():
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            conns.append(c)
    threading.Thread(target=loop, daemon=True).start()
    return s, s.getsockname()[1]


def body(tmp):
    if os.environ.get("MISC_ONLY_MAP"):
        return body_map(tmp)
    # Client timeouts: a server that never answers.
    srv, port = silent_server()
    url = "http://127.0.0.1:%d" % port
    tx = subprocess.run([SIGN, "misc", "0", "1", "0", "1", "1", "1",
                         str(CHAIN)], stdout=subprocess.PIPE,
                        text=True).stdout.split()[0]
    t0 = time.time()
    p = run("submit", "--url", url, "--timeout", "2", tx, timeout=30)
    took = time.time() - t0
    ok(p.returncode == 4 and took < 10 and "2000 ms" in p.stderr,
       "submit --timeout 2 against a silent server: exit %d after %.1f s "
       "(bound 10 s): %s" % (p.returncode, took, p.stderr.strip()))
    t0 = time.time()
    p = run("load", "--url", url, "--timeout", "2", "--txs", "10",
            timeout=30)
    took = time.time() - t0
    ok(p.returncode == 4 and took < 10,
       "load --timeout 2 against a silent server: exit %d after %.1f s "
       "(bound 10 s): %s" % (p.returncode, took, p.stderr.strip()))
    srv.close()

    a = pubkey("misc-0")
    g = genesis(tmp, [(a, 10 ** 6)])

    # Usage errors: exit 2, the option named.
    for bad in (["--threads", "0"], ["--threads", "1024"],
                ["--threads", "4096"], ["--listen", "::1:0"],
                ["--max-response", "1000"]):
        argv = ["node", "--db", os.path.join(tmp, "u"), "--listen",
                "127.0.0.1:0", "--genesis", g] + bad
        p = run(*argv, timeout=30)
        ok(p.returncode == 2 and bad[0].lstrip("-") in p.stderr,
           "node %s: exit %d, %s" % (" ".join(bad), p.returncode,
                                     p.stderr.strip()[:100]))

    # --listen through getaddrinfo: a host name, IPv6.
    node, line = start(tmp, g, listen="localhost:0", db="l1")
    ok(line.startswith("parex node: listening on http://localhost:"),
       "--listen localhost:0: %s" % line)
    res, err = rpc(url_of(line), "status")
    ok(err is None and Q(res["height"]) == 0, "status over localhost")
    node.send_signal(signal.SIGTERM)
    node.wait(30)
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
        have6 = True
    except OSError:
        have6 = False
    if have6:
        node, line = start(tmp, g, listen="[::1]:0", db="l2")
        ok(line.startswith("parex node: listening on http://[::1]:"),
           "--listen [::1]:0: %s" % line)
        res, err = rpc(url_of(line), "status")
        ok(err is None, "status over [::1]")
        node.send_signal(signal.SIGTERM)
        node.wait(30)
    else:
        skip("no IPv6 loopback here")
        skip("no IPv6 loopback here")

    # --block-interval 0: idle does not spin; a tx still commits at once.
    node, line = start(tmp, g, "--block-interval", "0", db="i0")
    url = url_of(line)
    c0 = cpu_seconds(node.pid)
    time.sleep(2.0)
    used = cpu_seconds(node.pid) - c0
    ok(used < 0.3, "--block-interval 0, idle 2 s: %.2f s of CPU (bound "
       "0.3 s; spinning took 0.68 s)" % used)
    st, data = post(url, json.dumps({"jsonrpc": "2.0", "method":
                                     "submitTransaction", "params": [tx],
                                     "id": 1}).encode())
    ok(b'"result"' in data, "tx accepted")
    took = wait_for(lambda: Q(rpc(url, "getAccount", a)[0]["nonce"]) == 1, 10)
    ok(took is not None and took < 2, "committed after %s s (bound 2 s)" %
       ("%.2f" % took if took is not None else "never"))

    # SIGHUP: logged, the node runs on.
    node.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    ok(node.poll() is None and any("SIGHUP" in ln for ln in node.log),
       "SIGHUP: the node runs on and logs it (%s)" %
       [ln for ln in node.log if "SIGHUP" in ln][:1])
    # Log lines carry a timestamp and a level; one per block.
    stamped = [ln for ln in node.log if len(ln) > 24 and ln[4] == "-" and
               ln[10] == "T" and ln[23] == "Z"]
    ok(stamped and all(ln.split()[1] in ("debug", "info", "warn", "error")
                       for ln in stamped) and
       any(" block 1: " in ln for ln in stamped),
       "log lines with timestamps and levels, one per block: %s" %
       stamped[:2])
    # /health.
    host, port = url[len("http://"):].rsplit(":", 1)
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", "/health")
    r = c.getresponse()
    h = json.loads(r.read())
    ok(r.status == 200 and h["status"] == "ok" and h["height"] == "0x1",
       "GET /health: %d %s" % (r.status, h))
    c.close()
    # load --senders 100000: a clear answer, never a bare HTTP 413.
    p = run("load", "--url", url, "--senders", "100000", "--txs", "5",
            "--chain-id", str(CHAIN), "--timeout", "120", timeout=300)
    ok(p.returncode != 0 and "413" not in p.stderr and
       "INSUFFICIENT_BALANCE" not in p.stderr and "not payable" in
       p.stderr, "load --senders 100000 (unfunded): %s" %
       p.stderr.strip()[:160])
    node.send_signal(signal.SIGTERM)
    ok(node.wait(30) == 0, "SIGTERM: exit 0")

    body_map(tmp)

    # keygen writes JSON with jansson: any seed string stays valid JSON.
    p = run("keygen", "--seed", 'a"b\\c\n')
    try:
        k = json.loads(p.stdout)
        good = k["seed"] == 'a"b\\c\n'
    except ValueError:
        good = False
    ok(good, "keygen --seed 'a\"b\\c<newline>' prints valid JSON")


def body_map(tmp):
    # A full store and its growth path: 10 senders pay 500 fresh accounts
    # each (every tx adds a state entry) into a 1 MiB map.
    senders = [pubkey("mapf-%d" % i) for i in range(10)]
    g2 = genesis(tmp, [(p, 10 ** 9) for p in senders])
    node, line = start(tmp, g2, "--map-size", str(1 << 20),
                       "--block-interval", "100", db="m")
    url = url_of(line)
    env = dict(os.environ, PAREX_SIGN_DISTINCT_TO="1")
    txs = subprocess.run([SIGN, "mapf", "0", "10", "0", "500", "1", "1",
                          str(CHAIN)], stdout=subprocess.PIPE, text=True,
                         env=env).stdout.split()
    order = [txs[s * 500 + k] for k in range(500) for s in range(10)]

    def submit_all(u):
        for k in range(0, len(order), 500):
            try:
                post(u, json.dumps([{"jsonrpc": "2.0", "method":
                                     "submitTransaction", "params": [h],
                                     "id": i} for i, h in
                                    enumerate(order[k:k + 500])]).encode(),
                     30)
            except OSError:
                return
            time.sleep(0.05)
    submit_all(url)
    try:
        rc = node.wait(60)
    except subprocess.TimeoutExpired:
        rc = None
    ok(rc == 4 and any("--map-size" in ln for ln in node.log),
       "1 MiB map: the node stops (exit %s) naming --map-size: %s" %
       (rc, [ln for ln in node.log if "map" in ln][-1:] or
            [ln for ln in node.log if "#" in ln or "ERROR" in ln][:25]))
    p = run("state", "verify", "--db", os.path.join(tmp, "m"))
    ok(p.returncode == 0, "the full store verifies: %s" % p.stdout.strip())
    node, line = start(tmp, g2, "--map-size", str(64 << 20),
                       "--block-interval", "100", db="m")
    url = url_of(line)
    submit_all(url)
    took = wait_for(lambda: all(Q(rpc(url, "getAccount", s)[0]["nonce"]) ==
                                500 for s in senders), 60, 0.2)
    ok(took is not None, "restarted with --map-size 64 MiB: all 5,000 txs "
       "commit")
    node.send_signal(signal.SIGTERM)
    rc = node.wait(30)
    ok(rc == 0, "SIGTERM: exit %s %s" % (rc, node.log[-3:]))


def main():
    harness.in_tmp("parex-misc-", body, procs)
    print("1..%d" % n_ok)


if __name__ == "__main__":
    main()
