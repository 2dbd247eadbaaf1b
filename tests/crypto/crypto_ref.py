#!/usr/bin/env python3
"""Independent reference values for tests/crypto/test_crypto.c.

Uses only Python's hashlib (SHA-256) and a ChaCha20 written here from RFC
8439 (checked against the RFC's section 2.4.2 test vector on every run),
not parex code or OpenSSL, so the values hard-coded in the test cross-check
crypto/lthash.c and crypto/hash.c against a second implementation.
Run: python3 tests/crypto/crypto_ref.py
"""
import hashlib
import struct


def tagged(tag, data):
    """BIP-340 tagged hash: SHA-256(SHA-256(tag) || SHA-256(tag) || data)."""
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + data).digest()


def _rotl(x, n):
    return ((x << n) | (x >> (32 - n))) & 0xffffffff


def _quarter(s, a, b, c, d):
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & 0xffffffff; s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & 0xffffffff; s[b] = _rotl(s[b] ^ s[c], 7)


def chacha20_block(key, counter, nonce):
    """RFC 8439 section 2.3: one 64-byte keystream block."""
    init = ([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]
            + list(struct.unpack("<8I", key)) + [counter]
            + list(struct.unpack("<3I", nonce)))
    s = list(init)
    for _ in range(10):
        _quarter(s, 0, 4, 8, 12); _quarter(s, 1, 5, 9, 13)
        _quarter(s, 2, 6, 10, 14); _quarter(s, 3, 7, 11, 15)
        _quarter(s, 0, 5, 10, 15); _quarter(s, 1, 6, 11, 12)
        _quarter(s, 2, 7, 8, 13); _quarter(s, 3, 4, 9, 14)
    return struct.pack("<16I", *[(x + y) & 0xffffffff for x, y in zip(s, init)])


def chacha20_stream(key, nonce, n, counter=0):
    out = b""
    while len(out) < n:
        out += chacha20_block(key, counter, nonce)
        counter += 1
    return out[:n]


def _check_rfc8439():
    """RFC 8439 section 2.4.2: the sunscreen plaintext's ciphertext."""
    key = bytes(range(32))
    nonce = bytes.fromhex("000000000000004a00000000")
    pt = (b"Ladies and Gentlemen of the class of '99: If I could offer you "
          b"only one tip for the future, sunscreen would be it.")
    ct = bytes(a ^ b for a, b in zip(pt, chacha20_stream(key, nonce, len(pt), 1)))
    assert ct.hex().startswith("6e2e359a2568f98041ba0728dd0d6981"), ct.hex()
    assert ct.hex().endswith("5af90bbf74a35be6b40b8eedf2785e42874d"), ct.hex()


def element(key, val):
    """LtHash element of (key, val): the first 2048 bytes (1024
    little-endian u16 lanes) of the ChaCha20 keystream, counter 0, nonce 0,
    under TaggedHash("parex/lthash", key || u32le(len(val)) || val)."""
    k = tagged("parex/lthash", key + struct.pack("<I", len(val)) + val)
    return chacha20_stream(k, bytes(12), 2048)


def main():
    _check_rfc8439()
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
