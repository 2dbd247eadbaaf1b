#!/usr/bin/env python3
"""The ordering protocol of node/cluster against a real 3-member etcd cluster.

Run under etcd-cluster.sh (which starts the members and exports
PXC_ENDPOINTS and PXC_ETCD_DIR):

    etcd-cluster.sh python3 test_cluster.py PXC_DRIVER

Each check prints a TAP line; the exit status is 0 only if all passed.
Every driver process is killed at the end, whatever happened.
"""
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
import urllib.request

DRIVER = sys.argv[1]
ENDPOINTS = os.environ["PXC_ENDPOINTS"]
ETCD_DIR = os.environ["PXC_ETCD_DIR"]
N_MEMBERS = int(os.environ.get("PXC_ETCD_N", "3"))
TTL = 2            # leader lease, seconds
TIMEOUT_MS = 2000  # bound of every etcd call
CHAIN = "test-chain"
GENESIS = bytes(range(256)) * 2
GHASH = "ab" * 32
OTHER_GHASH = "cd" * 32

drivers = []
failures = 0
count = 0


def tap(ok, name, detail="", show=False):
    global failures, count
    count += 1
    if not ok:
        failures += 1
    print(("ok" if ok else "not ok") + f" {count} - {name}", flush=True)
    if (show or not ok) and detail:
        for line in str(detail).splitlines():
            print("#   " + line, flush=True)
    return ok


class Driver:
    def __init__(self, name=None, ghash=GHASH, genesis=GENESIS, raw=False,
                 chain=CHAIN, ttl=TTL, endpoints=ENDPOINTS):
        args = [DRIVER, "--endpoints", endpoints,
                "--timeout", str(TIMEOUT_MS)]
        if not raw:
            args += ["--chain", chain, "--genesis-hash", ghash,
                     "--name", name, "--ttl", str(ttl),
                     "--url", f"http://{name}.invalid:8545"]
            if genesis is not None:
                args += ["--genesis", genesis.hex() if genesis else "-"]
        self.name = name
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        drivers.append(self)
        self.hello = self.read(10)

    def read(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            raise TimeoutError(f"driver {self.name}: no reply in {timeout} s")
        line = self.p.stdout.readline()
        if line == "":
            raise EOFError(f"driver {self.name} exited "
                           f"({self.p.wait(5)})")
        return line.rstrip("\n")

    def send(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def cmd(self, line, timeout=15):
        self.send(line)
        return self.read(timeout)

    def kv(self, reply):
        """'ok a=1 b=x' -> {'a': '1', 'b': 'x'}"""
        return dict(w.split("=", 1) for w in reply.split()[1:] if "=" in w)

    def quit(self):
        """Ask for a clean exit; True if it exited 0 (no leak, no race)."""
        r = self.cmd("quit")
        return r == "ok bye" and self.p.wait(10) == 0

    def stop(self):
        if self.p.poll() is None:
            try:
                os.kill(self.p.pid, signal.SIGCONT)
                self.p.kill()
            except ProcessLookupError:
                pass
        self.p.wait()


def member_pid(i):
    with open(os.path.join(ETCD_DIR, f"m{i}.pid")) as f:
        return int(f.read().strip())


def member_url(i):
    with open(os.path.join(ETCD_DIR, f"m{i}.url")) as f:
        return f.read().strip()


restarted = {}  # member -> Popen of the members this script restarted


def kill_member(i):
    pid = member_pid(i)
    os.kill(pid, signal.SIGKILL)
    if i in restarted:
        restarted.pop(i).wait(5)  # our child: reap it
        return
    # Until it is gone its port may still answer. (A zombie is gone.)
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
            time.sleep(0.05)
        except (FileNotFoundError, ProcessLookupError):
            return
    raise RuntimeError(f"etcd member {i} survived SIGKILL")


def start_member(i):
    restarted[i] = subprocess.Popen(["sh",
                                     os.path.join(ETCD_DIR, f"start-{i}")])


def raft_leader_member():
    """The index (1-based) of the member that is etcd's raft leader."""
    for i in range(1, N_MEMBERS + 1):
        try:
            req = urllib.request.Request(member_url(i) + "/v3/maintenance/status",
                                         data=b"{}", method="POST")
            with urllib.request.urlopen(req, timeout=2) as r:
                st = json.load(r)
            if st.get("leader") == st["header"]["member_id"]:
                return i
        except Exception:
            pass
    return None


def wait_healthy(i, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(member_url(i) + "/health",
                                        timeout=1) as r:
                if json.load(r).get("health") == "true":
                    return True
        except Exception:
            pass
        time.sleep(0.1)
    return False


def campaign_until_won(d, limit):
    """Campaign every 200 ms until d wins; returns (won, seconds, reply)."""
    t0 = time.time()
    while True:
        r = d.cmd("campaign")
        if r.startswith("ok") and d.kv(r).get("won") == "1":
            return True, time.time() - t0, r
        if time.time() - t0 > limit:
            return False, time.time() - t0, r
        time.sleep(0.2)


def append_retry(d, h, val, limit):
    """What a producer does: retry the same bytes on E_UNAVAILABLE,
    campaign again on E_FENCED. Returns (last reply, seconds, attempts)."""
    t0 = time.time()
    tries = 0
    r = ""
    while time.time() - t0 < limit:
        tries += 1
        r = d.cmd(f"append {h} {val}")
        if r == "ok":
            break
        if r.startswith("err E_FENCED"):
            campaign_until_won(d, 3 * TTL + 2)
        elif not r.startswith("err E_UNAVAILABLE"):
            break
        time.sleep(0.1)
    return r, time.time() - t0, tries


def blk(h, tag="a"):
    return (f"block {h} {tag} ".encode() + bytes([h % 256]) * 40).hex()


def chaos(kills=10, ttl=1):
    """SIGKILL the producer at varied moments, kills times, on a chain of its
    own with 3 nodes; after each kill one of the others (or the restarted
    one) must take over and append the next block. Checks that no acked
    append is lost, the log has no gap, and reports the failover times
    (kill -> next block appended by the new producer)."""
    chain = "chaos"
    rnd = random.Random(1414)
    names = ["c1", "c2", "c3"]
    nodes = {n: Driver(n, chain=chain, ttl=ttl) for n in names}
    acked = {}
    failovers = []
    elect_limit = 4 * ttl + 3

    def elect():
        t0 = time.time()
        while time.time() - t0 < elect_limit:
            for n in names:
                r = nodes[n].cmd("campaign")
                if nodes[n].kv(r).get("won") == "1":
                    nodes[n].cmd("kastart")
                    return nodes[n]
            time.sleep(0.05)
        return None

    def append_next(d, tag):
        """Append head+1; returns (reply, h)."""
        r = d.cmd("head")
        h = int(d.kv(r)["head"]) + 1
        val = (f"{tag} h{h} ".encode() + os.urandom(16)).hex()
        r = d.cmd(f"append {h} {val}")
        if r == "ok":
            acked[h] = val
        return r, h

    leader = elect()
    ok = leader is not None
    t_kill = None
    for k in range(kills + 1):
        if leader is None:
            ok = False
            break
        r, h = append_next(leader, f"{leader.name}-k{k}")
        if r != "ok":
            # It may have lost its lease to a slow campaign: elect again.
            leader = elect()
            continue
        if t_kill is not None:
            failovers.append(time.time() - t_kill)
        if k == kills:
            break
        for _ in range(rnd.randrange(0, 3)):
            append_next(leader, f"{leader.name}-k{k}")
        # The moment varies: idle, or with an append in flight (sent, not
        # answered) for 0..20 ms.
        if rnd.random() < 0.6:
            hd = int(leader.kv(leader.cmd("head"))["head"]) + 1
            leader.send(f"append {hd} " + f"inflight-{k}".encode().hex())
            time.sleep(rnd.uniform(0, 0.02))
        os.kill(leader.p.pid, signal.SIGKILL)
        t_kill = time.time()
        leader.p.wait()
        nodes[leader.name] = Driver(leader.name, chain=chain, ttl=ttl)
        leader = elect()
    tap(ok and len(failovers) == kills,
        f"chaos: {len(failovers)} of {kills} SIGKILLs of the producer "
        f"followed by a new producer appending")
    fo = sorted(failovers)
    if fo:
        print(f"# chaos: failover (kill -> next block appended), TTL {ttl} "
              f"s: median {fo[len(fo) // 2]:.2f} s, max {fo[-1]:.2f} s, "
              f"all {' '.join(f'{x:.2f}' for x in failovers)}", flush=True)
    tap(bool(fo) and fo[-1] < elect_limit,
        f"chaos: every failover within {elect_limit} s (not a benchmark)")
    d = next(iter(nodes.values()))
    head = int(d.kv(d.cmd("head"))["head"])
    r = d.cmd(f"read 1 {head + 10}")
    got = dict(w.split(":", 1) for w in r.split()[2:])
    tap(r.startswith(f"ok n={head} ") and
        sorted(int(x) for x in got) == list(range(1, head + 1)),
        f"chaos: the log is blocks 1..{head} without a gap", r[:200])
    lost = [h for h, v in acked.items() if got.get(str(h)) != v]
    tap(not lost, f"chaos: all {len(acked)} acknowledged appends are in the "
        "log with their bytes", f"lost or changed: {lost}")
    tap(all(nodes[n].quit() for n in names), "chaos: the nodes exit cleanly")


def main():
    # 1. The raw client: put/get round trip of every byte value.
    raw = Driver(raw=True)
    val = bytes(range(256))
    r1 = raw.cmd("kvput /t/raw " + val.hex())
    r2 = raw.cmd("kvget /t/raw")
    tap(r1.startswith("ok rev=") and r2.split()[:2] == ["ok", val.hex()],
        "etcd client: put/get round trip of all 256 byte values",
        f"{r1}\n{r2}")
    r = raw.cmd("kvget /t/absent")
    tap(r.startswith("err E_NOTFOUND"), "etcd client: get of an absent key "
        "says E_NOTFOUND", r)
    r = raw.cmd("kvdel /t/raw")
    tap(r == "ok deleted=1", "etcd client: delete", r)

    # 2. Joining: the first node stores the genesis, the second finds it.
    a = Driver("n1")
    b = Driver("n2", genesis=None)  # joins without genesis bytes
    tap(a.hello.startswith("ok joined /parex/test-chain/" + GHASH + "/") and
        b.hello.startswith("ok joined"), "two nodes join the chain",
        f"{a.hello}\n{b.hello}")
    r = b.cmd("genesis")
    tap(r == "ok " + GENESIS.hex(), "a joiner reads the genesis bytes from "
        "etcd", r[:120])

    # 3. Election between two contenders sent at the same time.
    a.send("campaign")
    b.send("campaign")
    ra, rb = a.read(15), b.read(15)
    wa, wb = a.kv(ra).get("won"), b.kv(rb).get("won")
    tap(sorted([wa, wb]) == ["0", "1"] and
        a.kv(ra).get("name") == b.kv(rb).get("name") and
        a.kv(ra).get("term") == b.kv(rb).get("term"),
        "two contenders campaign at once: exactly one wins, both see it",
        f"{ra}\n{rb}")
    leader, other = (a, b) if wa == "1" else (b, a)
    tap(leader.kv(ra if leader is a else rb).get("url") ==
        f"http://{leader.name}.invalid:8545",
        "the leader's advertised URL is visible", ra + "\n" + rb)
    r = other.cmd("campaign")
    tap(other.kv(r).get("won") == "0" and
        other.kv(r).get("name") == leader.name,
        "campaigning again while the lease is held does not win", r)
    leader.cmd("kastart")

    # 4. The lease holder appends 1, 2, 3; the other one is refused.
    rs = [leader.cmd(f"append {h} {blk(h)}") for h in (1, 2, 3)]
    tap(rs == ["ok"] * 3, "the lease holder appends blocks 1, 2, 3",
        "\n".join(rs))
    r = other.cmd(f"append 4 {blk(4, 'x')}")
    tap(r.startswith("err E_FENCED") and f"{leader.name} does" in r,
        "a contender that lost cannot append (etcd refuses, naming the "
        "holder)", r, show=True)

    # 5. The fencing rule's other half: no height twice, no gaps.
    r = leader.cmd(f"append 3 {blk(3, 'other')}")
    tap(r.startswith("err E_EXISTS") and "block 3 is already" in r,
        "appending an existing height with other bytes is refused", r)
    r = leader.cmd(f"append 3 {blk(3)}")
    tap(r == "ok", "appending the same bytes again (a retry) is accepted", r)
    r = leader.cmd(f"append 5 {blk(5)}")
    tap(r.startswith("err E_GAP") and "block 4 is not" in r,
        "appending past the head (a gap) is refused", r)

    # 6. The reader: blocks in order, bytes intact.
    r = other.cmd("read 1 10")
    want = "ok n=3 " + " ".join(f"{h}:{blk(h)}" for h in (1, 2, 3))
    tap(r == want, "a follower reads blocks 1..3 in order", r[:200])
    r = other.cmd("head")
    tap(r == "ok head=3 low=1", "head and low", r)

    # 7. Fencing: the holder stops renewing; after the TTL the other one
    #    wins and the old holder's append is refused by etcd.
    leader.cmd("kastop")
    won, secs, r = campaign_until_won(other, 3 * TTL + 2)
    tap(won, f"after the holder stops its keepalive the other node wins "
        f"(in {secs:.1f} s, TTL {TTL} s)", r)
    r = leader.cmd(f"append 4 {blk(4, 'stale')}")
    tap(r.startswith("err E_FENCED") and f"{other.name} does" in r,
        "the old holder's append is refused (fenced), naming the new "
        "leader", r, show=True)
    other.cmd("kastart")
    r = other.cmd(f"append 4 {blk(4)}")
    tap(r == "ok", "the new leader appends block 4", r)
    leader, other = other, leader

    # 8. The same with the holder process frozen (SIGSTOP past its TTL).
    os.kill(leader.p.pid, signal.SIGSTOP)
    won, secs, r = campaign_until_won(other, 3 * TTL + 2)
    tap(won, f"SIGSTOPped holder: the other node wins in {secs:.1f} s", r)
    tap(other.cmd(f"append 5 {blk(5)}") == "ok",
        "the new leader appends block 5")
    os.kill(leader.p.pid, signal.SIGCONT)
    r = leader.cmd(f"append 6 {blk(6, 'stale')}")
    tap(r.startswith("err E_FENCED"),
        "after SIGCONT the old holder's append is refused", r)
    r = leader.cmd("isleader")
    tap(r.startswith("ok 0"), "and it no longer believes it leads", r)
    leader, other = other, leader
    other.cmd("kastop")

    # 9. Lose one etcd member. A follower member first: nothing changes for
    #    etcd, the append must succeed at once (the client fails over if it
    #    was talking to it). Then the raft leader: etcd elects a new one
    #    (~1 election timeout), so the producer retries the same bytes, as
    #    it must on any E_UNAVAILABLE; it succeeds within a bound.
    rl = raft_leader_member() or 1
    follower = next(i for i in range(1, N_MEMBERS + 1) if i != rl)
    kill_member(follower)
    r = leader.cmd(f"append 6 {blk(6)}")
    tap(r == "ok", f"with etcd member {follower} (a raft follower) killed, "
        "append 6 succeeds at once", r)
    start_member(follower)
    tap(wait_healthy(follower), f"member {follower} comes back")
    # A frozen member (SIGSTOP: accepts connections, never answers) costs
    # a call at most its share of the timeout: each append still succeeds
    # in one call. (On a chain of its own, so the heights here stay.)
    frozen = next(i for i in range(1, N_MEMBERS + 1)
                  if i != (raft_leader_member() or rl))
    # The frozen member first in its list: the first append tries it.
    eps = [member_url(frozen)] + [member_url(i) for i in
                                  range(1, N_MEMBERS + 1) if i != frozen]
    fz = Driver("f1", chain="frozen", endpoints=",".join(eps))
    won = fz.kv(fz.cmd("campaign")).get("won") == "1"
    fz.cmd("kastart")
    os.kill(member_pid(frozen), signal.SIGSTOP)
    rs = [fz.cmd(f"append {h} {blk(h)}") for h in (1, 2, 3)]
    os.kill(member_pid(frozen), signal.SIGCONT)
    tap(won and rs == ["ok"] * 3, f"with etcd member {frozen} frozen "
        "(SIGSTOP) and first in the client's list, appends succeed, each in "
        "one call", "\n".join(rs))
    tap(fz.quit(), "that node exits cleanly")
    rl = raft_leader_member() or rl
    kill_member(rl)
    r, secs, tries = append_retry(leader, 7, blk(7), 15)
    tap(r == "ok", f"with etcd member {rl} (the raft leader) killed, append 7 "
        f"succeeds ({tries} attempt(s), {secs:.1f} s)", r)

    # 10. Lose a second one: no quorum. Appends fail with a clear error,
    #     within the timeout, and resume when the members return.
    second = next(i for i in range(1, N_MEMBERS + 1) if i != rl)
    kill_member(second)
    t0 = time.time()
    r = leader.cmd(f"append 8 {blk(8)}")
    secs = time.time() - t0
    tap(r.startswith("err E_UNAVAILABLE") and "no member answered" in r,
        "with 2 of 3 members gone an append fails with E_UNAVAILABLE", r,
        show=True)
    tap(secs < TIMEOUT_MS / 1000 + 2.0,
        f"and fails within the call's timeout ({secs:.1f} s, timeout "
        f"{TIMEOUT_MS} ms)")
    start_member(rl)
    start_member(second)
    healthy = wait_healthy(rl) and wait_healthy(second)
    tap(healthy, "the two members come back")
    r, secs, tries = append_retry(leader, 8, blk(8), 20)
    tap(r == "ok", f"appends resume ({tries} attempt(s), {secs:.1f} s after "
        "the members returned)", r)

    # 11. Nothing was lost or reordered.
    r = other.cmd("read 1 100")
    want = "ok n=8 " + " ".join(f"{h}:{blk(h)}" for h in range(1, 9))
    tap(r == want, "the log holds blocks 1..8, each as first appended",
        r[:300])

    # 12. Retention.
    r = leader.cmd("compact 5")
    tap(r == "ok low=5", "compact below 5", r)
    r = other.cmd("read 2 10")
    tap(r.startswith("err E_COMPACTED") and "oldest block kept is 5" in r,
        "reading a compacted height says so and names the oldest kept", r,
        show=True)
    r = other.cmd("read 5 10")
    tap(r == "ok n=4 " + " ".join(f"{h}:{blk(h)}" for h in range(5, 9)),
        "blocks 5..8 are still there", r[:200])
    r = other.cmd("compact 3")
    tap(r == "ok low=5", "compacting below an older height is a no-op", r)
    r = other.cmd("compact 9")
    tap(r.startswith("err E_INVALID"), "the head is never compacted", r)
    r = leader.cmd(f"append 9 {blk(9)}")
    tap(r == "ok", "appends continue after compaction", r)

    # The watch: a follower waiting for block 10 is woken by the append.
    other.send("wait 10 8000")
    time.sleep(0.3)
    t0 = time.time()
    r1 = leader.cmd(f"append 10 {blk(10)}")
    r2 = other.read(10)
    secs = time.time() - t0
    tap(r1 == "ok" and r2 == "ok" and secs < 4,
        f"a follower waiting for block 10 is woken by its append "
        f"({secs:.2f} s after it, the wait's limit being 8 s)", r2)
    # What it watches: P head, put by the append's txn (small, so the
    # watch stream does not carry the block's bytes).
    raw2 = Driver(raw=True)
    r = raw2.cmd(f"kvget /parex/{CHAIN}/{GHASH}/head")
    tap(r.split()[:2] == ["ok", ("%020d" % 10).encode().hex()],
        "the append of block 10 also put P head = 10 (what waiters watch)",
        r)
    r = other.cmd("wait 100 500")
    tap(r.startswith("err E_TIMEOUT") and "head is 10" in r,
        "waiting for a block that does not come times out, naming the head",
        r)

    # 13. A joiner with another genesis is refused, naming both hashes.
    c = Driver("n3", ghash=OTHER_GHASH, genesis=b"other genesis")
    tap(c.hello.startswith("err E_GENESIS") and GHASH in c.hello and
        OTHER_GHASH in c.hello and c.p.wait(5) == 3,
        "a joiner with another genesis is refused, naming both", c.hello,
        show=True)
    c = Driver("n4", genesis=b"same hash, other bytes")
    tap(c.hello.startswith("err E_GENESIS") and "differs" in c.hello,
        "a joiner with the same hash but other genesis bytes is refused",
        c.hello)
    # A joiner without genesis bytes cannot create a chain.
    c = Driver("n5", genesis=None, chain="no-such-chain")
    tap(c.hello.startswith("err E_GENESIS") and "does not exist" in c.hello,
        "joining a chain that does not exist without a genesis is refused",
        c.hello)

    # 14. Resigning hands over at once (the lease is revoked).
    r1 = leader.cmd("resign")
    r2 = other.cmd("leader")
    tap(r1 == "ok" and other.kv(r2).get("held") == "0",
        "resign revokes the lease: nobody holds the leader key", r2)

    # 15. Repeated SIGKILL of the producer.
    chaos()

    # A clean exit of every driver that joined (frees, revokes, joins).
    for d in drivers:
        if d.hello.startswith("ok") and d.p.poll() is None:
            tap(d.quit(), f"driver {d.name or 'raw'} exits cleanly")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a hung or dead driver: fail, don't hang
        tap(False, f"unexpected {type(e).__name__}", e)
    finally:
        for d in drivers:
            d.stop()
    print(f"1..{count}", flush=True)
    sys.exit(1 if failures else 0)
