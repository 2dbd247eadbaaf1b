#!/usr/bin/env python3
"""Independent reference values for tests/crypto/test_crypto.c.

Uses only Python's hashlib (SHAKE128, SHA-256), not parex code, so the
values hard-coded in the test cross-check crypto/lthash.c and crypto/hash.c
against a second implementation. Run: python3 tests/crypto/crypto_ref.py
"""
import hashlib
import struct


def tagged(tag, data):
    """BIP-340 tagged hash: SHA-256(SHA-256(tag) || SHA-256(tag) || data)."""
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + data).digest()


def element(key, val):
    """LtHash element of (key, val): SHAKE128 over
    "parex/lthash" || key || u32le(len(val)) || val, squeezed to 2048 bytes
    (1024 little-endian u16 lanes)."""
    return hashlib.shake_128(b"parex/lthash" + key + struct.pack("<I", len(val))
                             + val).digest(2048)


def main():
    key = bytes(range(32))
    val = b"hello parex"
    elem = element(key, val)
    lanes = struct.unpack("<1024H", elem)
    neg = struct.pack("<1024H", *[(-x) % 65536 for x in lanes])
    print("zero_root          ", tagged("parex/stateroot", bytes(2048)).hex())
    print("elem lanes[0..7]   ", ", ".join("0x%04x" % x for x in lanes[:8]))
    print("elem lanes[1023]   ", "0x%04x" % lanes[1023])
    print("sha256(+elem)      ", hashlib.sha256(elem).hexdigest())
    print("sha256(-elem)      ", hashlib.sha256(neg).hexdigest())
    print("root(+elem)        ", tagged("parex/stateroot", elem).hex())
    print("root(+elem(key,'')) ",
          tagged("parex/stateroot", element(key, b"")).hex())
    print("tagged parex/txid abc|def ",
          tagged("parex/txid", b"abc" + b"def").hex())
    print("tagged BIP0340/challenge abc ",
          tagged("BIP0340/challenge", b"abc").hex())


if __name__ == "__main__":
    main()
