/* Block access lists, decoded (engine/bal/bal.c) and the executor that
 * records and validates them (engine/exec/bal.c). docs/formats.md has the
 * encoding, docs/architecture.md the validation argument.
 *
 * Invariants of a decoded px__bal: per tx, writes strictly increasing by
 * key, reads strictly increasing, the two disjoint; pointers borrow from
 * the encoding. */
#ifndef PX_BAL_H
#define PX_BAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parex/parex.h"

/** One write: the key's value after the tx, or its deletion. */
typedef struct px__bal_w {
    const uint8_t *key;     /* 32 bytes */
    const uint8_t *val;     /* NULL when deleted */
    uint32_t len;
    uint8_t del;
    uint16_t top;           /* key[0] << 8 | key[1]: the validator's index
                               picks a write's part by it without loading
                               the key (in the padding) */
} px__bal_w;

typedef struct px__bal_tx {
    const px__bal_w *w;     /* nw writes */
    uint32_t nw;
    const uint8_t *r;       /* nr * 32 bytes, the read keys */
    uint32_t nr;
    const uint8_t *enc;     /* the entry's encoding, enc_len bytes */
    size_t enc_len;
    size_t w_at, r_at;      /* where w and r start in px__bal's arrays */
} px__bal_tx;

typedef struct px__bal {
    size_t n;
    px__bal_tx *tx;         /* malloc'd, n entries (cap_tx kept) */
    px__bal_w *w;           /* malloc'd, every write (cap_w kept) */
    uint8_t (*rk)[32];      /* malloc'd, every read's key (cap_r kept):
                               copied, since a read may refer to a key of
                               the tx's declared sets */
    size_t cap_tx, cap_w, cap_r;
    size_t nw_all;          /* writes in w */
    int has_fee;
    const uint8_t *fee_key; /* the fee recipient's account key */
    const uint8_t *fee_val;
    uint32_t fee_len;
} px__bal;

/** Decodes a canonical BAL of block blk (whose txs' declared keys its
 *  key references name; in may be blk's trailer or any other BAL) into
 *  out, which is zeroed or holds an earlier decode: its arrays are reused
 *  (grown only), so a warm px__bal decodes without allocating;
 *  px__bal_release frees them, whatever the result. Write keys borrow
 *  from in or from blk's txs. Returns PAREX_OK, PAREX_E_INVALID,
 *  PAREX_E_LIMIT (err: tx_index, field), PAREX_E_NOMEM. */
struct px__block;
int px__bal_decode(px__bal *out, parex_error_info *err, const uint8_t *in,
    size_t len, const struct px__block *blk, const parex_limits *lim);

/** p (*cap elements of sz bytes, may be NULL) grown to at least n
 *  elements (one at least), by doubling, contents kept: the BAL's arrays,
 *  kept from block to block. Returns the array (p itself when it was
 *  large enough), or NULL when memory cannot be had (then p stays valid
 *  and *cap unchanged). */
void *px__bal_grow(void *p, size_t *cap, size_t n, size_t sz);

/** Bytes of v as a minimal unsigned LEB128 (the BAL's counts, key
 *  references and value lengths). */
static inline size_t px__var_len(uint32_t v)
{
    return v < (1u << 7) ? 1 : v < (1u << 14) ? 2 : v < (1u << 21) ? 3
        : v < (1u << 28) ? 4 : 5;
}

/** Writes v as a minimal unsigned LEB128 at p; returns the byte after. */
static inline uint8_t *px__var_put(uint8_t *p, uint32_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}
void px__bal_release(px__bal *b);

/** memcmp(a, b, 32)'s sign for 32-byte keys, inline: no call when their
 *  first 8 bytes differ, as they do for hashed keys (the per-tx sorts of
 *  the recorders, the decode's order checks, validation's merges). */
static inline int px__bal_key_cmp(const uint8_t *a, const uint8_t *b)
{
    uint64_t x, y;

    memcpy(&x, a, 8);
    memcpy(&y, b, 8);
    if (x != y) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        x = __builtin_bswap64(x);
        y = __builtin_bswap64(y);
#endif
        return x < y ? -1 : 1;
    }
    return memcmp(a, b, 32);
}

/** Whether 32-byte key a sorts before key b in memcmp order. */
static inline int px__bal_key_lt(const uint8_t *a, const uint8_t *b)
{
    return px__bal_key_cmp(a, b) < 0;
}

/** Whether len bytes at a and b are equal: values are mostly 32 bytes
 *  (hashes, the trace program's writes) or an account's 16, compared
 *  inline rather than by a call to memcmp (the recorders' and the
 *  validator's value compares). */
static inline int px__bal_bytes_eq(const uint8_t *a, const uint8_t *b,
    uint32_t len)
{
    uint64_t x[4], y[4];

    if (len == 32) {
        memcpy(x, a, 32);
        memcpy(y, b, 32);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
                   (x[3] ^ y[3])) == 0;
    }
    if (len == 16) {
        memcpy(x, a, 16);
        memcpy(y, b, 16);
        return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
    }
    return len == 0 || memcmp(a, b, len) == 0;
}

/** Sorts v[0, m) (elements of type T, m a size_t or narrower) by LESS(a,
 *  b), a macro or inline function on two T: insertion sort for the few
 *  keys of a typical tx, a Shell sort (Ciura's gaps, extended) past 16.
 *  The per-tx sorts of the recorders: comparisons inline where qsort made
 *  a call per comparison, and no allocation. */
#define PX__BAL_SORT(T, v, m, LESS)                                           \
    do {                                                                      \
        static const size_t px__gaps_[] = { 40412, 17961, 7983, 3548, 1577,   \
            701, 301, 132, 57, 23, 10, 4, 1 };                                \
        const size_t px__ng_ = sizeof(px__gaps_) / sizeof(px__gaps_[0]);      \
        size_t px__g_, px__i_, px__k_, px__m_ = (m);                          \
        for (px__g_ = px__m_ > 16 ? 0 : px__ng_ - 1; px__g_ < px__ng_;        \
             px__g_++) {                                                      \
            size_t px__h_ = px__gaps_[px__g_];                                \
            for (px__i_ = px__h_; px__i_ < px__m_; px__i_++) {                \
                T px__x_ = (v)[px__i_];                                       \
                for (px__k_ = px__i_;                                         \
                     px__k_ >= px__h_ && LESS(px__x_, (v)[px__k_ - px__h_]);  \
                     px__k_ -= px__h_) {                                      \
                    (v)[px__k_] = (v)[px__k_ - px__h_];                       \
                }                                                             \
                (v)[px__k_] = px__x_;                                         \
            }                                                                 \
        }                                                                     \
    } while (0)

/** A growable byte buffer (the recorded BAL). */
typedef struct px__buf {
    uint8_t *p;
    size_t len, cap;
    int oom;                /* an append failed: the contents are void */
} px__buf;

/** Grows b by n bytes and returns where they start, for the caller to
 *  fill; NULL (b->oom set) when memory cannot be had. */
uint8_t *px__buf_append(px__buf *b, size_t n);
void px__buf_put(px__buf *b, const void *p, size_t n);
void px__buf_u32(px__buf *b, uint32_t v);
void px__buf_free(px__buf *b);

/** How a tx's records differ from its BAL entry (PX__BAL_OK: they do
 *  not). */
enum {
    PX__BAL_OK = 0,
    PX__BAL_VALUE,
    PX__BAL_MISSING_WRITE,
    PX__BAL_EXTRA_WRITE,
    PX__BAL_MISSING_READ,
    PX__BAL_EXTRA_READ,
    PX__BAL_FEE,            /* the block-end fee credit differs */
    PX__BAL_BYTES           /* recorded and carried BALs differ (ignore
                               mode) */
};

typedef struct px__bal_verdict {
    int64_t tx;             /* the lowest mismatching tx, or -1 */
    int kind;
    uint8_t key[32];
} px__bal_verdict;

#endif /* PX_BAL_H */
