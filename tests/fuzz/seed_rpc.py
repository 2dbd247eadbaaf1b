#!/usr/bin/env python3
"""Writes the seed inputs of the rpc fuzz corpus (fixtures/fuzz/rpc/):
valid requests of every method, batches, notifications and invalid ones.
Signed transactions come from `parex tx transfer` with the keys the target
funds (seeds fuzz-rpc-0 .. fuzz-rpc-2, chain id 1).

usage: tests/fuzz/seed_rpc.py BUILD_DIR OUT_DIR
"""
import json
import os
import subprocess
import sys


def main():
    build, out = sys.argv[1], sys.argv[2]
    parex = os.path.join(build, "node", "parex")
    d = os.path.join(out, "rpc")
    os.makedirs(d, exist_ok=True)

    def run(*a):
        return subprocess.run([parex] + list(a), check=True,
                              stdout=subprocess.PIPE, text=True).stdout

    keys = [json.loads(line) for line in
            run("keygen", "--seed", "fuzz-rpc", "--count", "3").splitlines()]
    pub = [k["pubkey"] for k in keys]
    tx0, tx1 = run("tx", "transfer", "--seed", "fuzz-rpc-0", "--to", pub[1],
                   "--amount", "5", "--nonce", "0", "--count", "2").split()
    bad_chain = run("tx", "transfer", "--seed", "fuzz-rpc-1", "--to", pub[0],
                    "--amount", "1", "--nonce", "0", "--chain-id",
                    "2").strip()
    replayed = run("tx", "transfer", "--seed", "fuzz-rpc-2", "--to", pub[0],
                   "--amount", "7", "--nonce", "0").strip()
    bad_sig = tx0[:-2] + ("00" if tx0[-2:] != "00" else "01")

    def req(method, params=None, id_=1):
        r = {"jsonrpc": "2.0", "method": method, "id": id_}
        if params is not None:
            r["params"] = params
        return r

    seeds = {
        "submit": req("submitTransaction", [tx0]),
        "submit-named": req("submitTransaction", {"tx": tx1}),
        "submit-chain-id": req("submitTransaction", [bad_chain]),
        "submit-bad-sig": req("submitTransaction", [bad_sig]),
        "submit-replayed": req("submitTransaction", [replayed]),
        "submit-truncated": req("submitTransaction", [tx0[:200]]),
        "account": req("getAccount", [pub[0]]),
        "value": req("getValue", {"key": keys[1]["account_key"]}),
        "block-latest": req("getBlock", ["latest", True]),
        "block-0": req("getBlock", [0]),
        "block-missing": req("getBlock", [5]),
        "receipt-missing": req("getReceipt", ["00" * 32]),
        "state-root": req("getStateRoot", [1], "a"),
        "status": req("status", None, None),
        "unknown-method": req("mine"),
        "bad-params": req("getAccount", [1, 2]),
        "batch": [req("submitTransaction", [tx0], 1),
                  req("submitTransaction", [tx1], 2),
                  req("getAccount", [pub[0]], 3), 5,
                  {"jsonrpc": "2.0", "method": "status"}],
        "notification": {"jsonrpc": "2.0", "method": "status"},
    }
    for name, body in seeds.items():
        with open(os.path.join(d, name), "w") as f:
            json.dump(body, f, separators=(",", ":"))
    raw = {"parse-error": '{"jsonrpc":"2.0",',
           "not-object": "42",
           "empty-batch": "[]",
           "dup-key": '{"jsonrpc":"2.0","method":"status","id":1,"id":2}'}
    for name, body in raw.items():
        with open(os.path.join(d, name), "w") as f:
            f.write(body)


if __name__ == "__main__":
    main()
