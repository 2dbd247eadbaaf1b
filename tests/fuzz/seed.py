#!/usr/bin/env python3
"""Writes the seed inputs of the fuzz corpora (fixtures/fuzz/<target>/).

usage: tests/fuzz/seed.py BUILD_DIR OUT_DIR [TRACES_DIR]

Seeds come from the real-chain traces (../shared/data/traces, cut to a
few lines each so inputs stay small), their `parex trace import` blocks,
the transactions inside those blocks, and the bundled fixtures (cut to
their first blocks). The committed corpora are these seeds plus what
fuzzing found, minimised with libFuzzer's -merge=1 (tests/fuzz/README.md).
Corpus files never end in .json or .jsonl: `parex replay fixtures` walks
fixtures/ for those.
"""
import json
import os
import random
import struct
import subprocess
import sys

HEADER = 168


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def split_block(blk):
    """The txs of an encoded block: header | u32le n | (u32le len | tx)*."""
    (n,) = struct.unpack_from("<I", blk, HEADER)
    off, txs = HEADER + 4, []
    for _ in range(n):
        (tl,) = struct.unpack_from("<I", blk, off)
        txs.append(blk[off + 4:off + 4 + tl])
        off += 4 + tl
    return txs


def block_bal(blk):
    """The BAL trailer of an encoded block: u32le 0 | u32le len | bal."""
    (n,) = struct.unpack_from("<I", blk, HEADER)
    off = HEADER + 4
    for _ in range(n):
        (tl,) = struct.unpack_from("<I", blk, off)
        off += 4 + tl
    zero, bl = struct.unpack_from("<II", blk, off)
    assert zero == 0 and off + 8 + bl == len(blk)
    return blk[off + 8:]


def main():
    build, out = sys.argv[1], sys.argv[2]
    traces = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
        os.path.dirname(__file__), "..", "..", "..", "shared", "data",
        "traces")
    parex = os.path.join(build, "node", "parex")
    tmp = os.path.join(out, ".seed.jsonl")
    picks = [("bitcoin/413567.jsonl", (1, 4)),
             ("ethereum/19426587.jsonl", (2,)),
             ("ethereum/19923400.jsonl", (3, 8)),
             ("ethereum/9069000.jsonl", (2,)),
             ("solana-mainnet/332254855.jsonl", (2, 6)),
             ("solana-testnet/356797362.jsonl", (2,))]
    for rel, counts in picks:
        path = os.path.join(traces, rel)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
        tag = rel.replace("/", "-").replace(".jsonl", "")
        for k in counts:
            text = b"\n".join(lines[:k]) + b"\n"
            write(out, "trace", "%s-%d" % (tag, k), text)
            with open(tmp, "wb") as f:
                f.write(text)
            for mode in ("exact", "drop:0.5:1", "add:0.5:2"):
                blk = subprocess.run([parex, "trace", "import", tmp,
                                      "--declare", mode, "--out",
                                      "/dev/stdout"], check=True,
                                     stdout=subprocess.PIPE).stdout
                m = mode.split(":")[0]
                write(out, "block", "%s-%d-%s" % (tag, k, m), blk)
                if mode == "exact":
                    for i, tx in enumerate(split_block(blk)[:2]):
                        write(out, "tx", "%s-%d-%d" % (tag, k, i), tx)
                    sealed = subprocess.run(
                        [parex, "trace", "import", tmp, "--bal", "--out",
                         "/dev/stdout"], check=True,
                        stdout=subprocess.PIPE).stdout
                    write(out, "block", "%s-%d-bal" % (tag, k), sealed)
                    # Byte 0 even: the decoder, on the sealed block (its
                    # key references name the txs' declared keys).
                    assert block_bal(sealed)
                    write(out, "bal", "decode-%s-%d" % (tag, k),
                          b"\x00" + sealed)
    os.remove(tmp)

    fixtures = os.path.join(os.path.dirname(__file__), "..", "..",
                            "fixtures")
    for name in sorted(os.listdir(fixtures)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(fixtures, name)) as f:
            fx = json.load(f)
        fx["blocks"] = fx["blocks"][:2]
        for b in fx["blocks"]:
            b["txs"] = b["txs"][:3]
            b.get("expect", {}).pop("receipts", None)
        fx["genesis"]["accounts"] = fx["genesis"]["accounts"][:4]
        fx["genesis"]["state"] = fx["genesis"]["state"][:2]
        text = json.dumps(fx, separators=(",", ":")).encode()
        if len(text) <= 16384:  # invalid-limits.json is all one huge tx
            write(out, "fixture", name[:-len(".json")], text)

    rng = random.Random(1)
    for n in (0, 8, 64, 512, 2048):
        write(out, "diff", "random-%d" % n,
              bytes(rng.randrange(256) for _ in range(n)))
    # Byte 0 odd: a random block's BAL, mutated, validated.
    rng = random.Random(2)
    for n in (0, 16, 64, 256):
        write(out, "bal", "validate-%d" % n,
              b"\x01" + bytes(rng.randrange(256) for _ in range(n)))


if __name__ == "__main__":
    main()
