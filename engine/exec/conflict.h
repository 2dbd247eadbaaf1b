/* The conflict rules, in one place: which keys a tx accesses, which of
 * them it writes, and the batch a tx falls in. Used by the parallel
 * executor's conflict analysis (engine/exec/par/analysis_impl.h) and by
 * the reference executor when it counts batches itself (one thread,
 * engine/exec/seq.c), so the two cannot drift.
 *
 * A tx's access slots are its read set, then its write set, then its
 * sender's account when neither set declares it. Slot i writes when it is
 * in the write set or is the account: the prelude writes the account, so
 * it is an implicit write. A tx's batch is one more than the highest
 * batch of every earlier tx it conflicts with: a write conflicts with
 * earlier reads and writes (write-after-read, write-write), a read with
 * earlier writes (read-after-write).
 *
 * Declared sets are strictly sorted and disjoint (engine/codec.c rejects
 * anything else), so a key is found by binary search. */
#ifndef PX_CONFLICT_H
#define PX_CONFLICT_H

#include <stdint.h>
#include <string.h>

#include "engine_int.h"

/* What the analysis keeps per key: the highest batch that wrote it and
 * the highest that read it; -1 for none. */
typedef struct px__conflict {
    int32_t wbatch, rbatch;
} px__conflict;

static inline void px__conflict_init(px__conflict *c)
{
    c->wbatch = -1;
    c->rbatch = -1;
}

static inline uint64_t px__ld_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return __builtin_bswap64(v);
#else
    return (uint64_t)p[0] << 56 | (uint64_t)p[1] << 48 |
        (uint64_t)p[2] << 40 | (uint64_t)p[3] << 32 |
        (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 |
        (uint64_t)p[6] << 8 | (uint64_t)p[7];
#endif
}

/* memcmp order of two keys, inline: every declared-set lookup of a ctx
 * access and of the analysis goes through here. */
static inline int px__key_cmp(const uint8_t *a, const uint8_t *b)
{
    int i;
    for (i = 0; i < 32; i += 8) {
        uint64_t x = px__ld_be64(a + i), y = px__ld_be64(b + i);
        if (x != y) {
            return x < y ? -1 : 1;
        }
    }
    return 0;
}

/** The executors try the place of the key a tx found last in a sorted
 *  set, and the one after it, before a binary search (the parallel
 *  executor's find_rec, BAL validation's listed_at), only in sets of more
 *  than this many keys: below it the search is a compare or two itself,
 *  and on solana-testnet (a few keys a tx) the tries cost the parallel
 *  executor 5-10 % of its execution (bench, session 12). */
#define PX__HINT_MIN 4

/** Where key lies in a sorted set of n keys if it is at *hint - 1 or
 *  *hint (*hint: one past the place found last, moved on a hit), else -1;
 *  always -1 when n <= PX__HINT_MIN. */
static inline int px__key_near(const uint8_t *set, uint32_t n,
    const uint8_t *key, uint32_t *hint)
{
    uint32_t h;

    for (h = *hint > 0 ? *hint - 1 : 0;
         n > PX__HINT_MIN && h <= *hint && h < n; h++) {
        if (px__keymap_eq(set + 32 * (size_t)h, key)) {
            *hint = h + 1;
            return (int)h;
        }
    }
    return -1;
}

/** Index of key in a sorted set of n keys, or -1. */
static inline int px__key_bsearch(const uint8_t *set, uint32_t n,
    const uint8_t *key)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int c = px__key_cmp(set + 32 * (size_t)mid, key);
        if (c == 0) {
            return (int)mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return -1;
}

/** Where key lies among tx's declared keys: read-set key i as i,
 *  write-set key i as n_read + i, or -1 (the sets are disjoint). The
 *  place after each set's last hit is tried first (*hr, *hw: one past
 *  it, moved on a hit; px__key_near), then binary searches: a tx mostly
 *  reads a key before it writes it, and walks keys in order where it
 *  walks many (the trace program walks them sorted). The parallel
 *  executor's records and the BAL recorder's are at these places. */
static inline int px__tx_declared_at(const parex_tx *tx, const uint8_t *key,
    uint32_t *hr, uint32_t *hw)
{
    int i;

    if ((i = px__key_near(tx->write_set, tx->n_write, key, hw)) >= 0) {
        return (int)tx->n_read + i;
    }
    if ((i = px__key_near(tx->read_set, tx->n_read, key, hr)) >= 0) {
        return i;
    }
    if ((i = px__key_bsearch(tx->write_set, tx->n_write, key)) >= 0) {
        *hw = (uint32_t)i + 1;
        return (int)tx->n_read + i;
    }
    if ((i = px__key_bsearch(tx->read_set, tx->n_read, key)) >= 0) {
        *hr = (uint32_t)i + 1;
        return i;
    }
    return -1;
}

/** The account's slot of tx b whose account key is acct; *n_slots gets
 *  the tx's slot count (its declared keys, plus one when the account is
 *  undeclared). */
static inline uint32_t px__tx_acct_slot_k(const px__btx *b,
    const uint8_t *acct, uint32_t *n_slots)
{
    uint32_t nr = b->tx.n_read, nw = b->tx.n_write;
    int ai = px__key_bsearch(b->tx.write_set, nw, acct);

    *n_slots = nr + nw;
    if (ai >= 0) {
        return nr + (uint32_t)ai;
    }
    ai = px__key_bsearch(b->tx.read_set, nr, acct);
    if (ai >= 0) {
        return (uint32_t)ai;
    }
    return (*n_slots)++;
}

/** The key of slot i of tx b whose account key is acct. */
static inline const uint8_t *px__tx_slot_key_k(const px__btx *b,
    const uint8_t *acct, uint32_t i)
{
    uint32_t nr = b->tx.n_read, nw = b->tx.n_write;
    return i < nr ? b->tx.read_set + 32 * (size_t)i
        : i < nr + nw ? b->tx.write_set + 32 * (size_t)(i - nr)
        : acct;
}

/** px__tx_acct_slot_k() with the tx's own account key (set by stage 1). */
static inline uint32_t px__tx_acct_slot(const px__btx *b, uint32_t *n_slots)
{
    return px__tx_acct_slot_k(b, b->acct, n_slots);
}

/** px__tx_slot_key_k() with the tx's own account key. */
static inline const uint8_t *px__tx_slot_key(const px__btx *b, uint32_t i)
{
    return px__tx_slot_key_k(b, b->acct, i);
}

/** Whether slot i of a tx with acct slot `acct` writes. */
static inline int px__tx_slot_writes(const px__btx *b, uint32_t i,
    uint32_t acct)
{
    return i >= b->tx.n_read || i == acct;
}

/** The lowest batch at or above bt that an access (w: a write) to a key
 *  with state c allows. */
static inline int32_t px__conflict_after(const px__conflict *c, int w,
    int32_t bt)
{
    if (c->wbatch + 1 > bt) {
        bt = c->wbatch + 1;
    }
    if (w && c->rbatch + 1 > bt) {
        bt = c->rbatch + 1;
    }
    return bt;
}

/** Records that a tx of batch bt accesses the key (w: writes it). */
static inline void px__conflict_mark(px__conflict *c, int w, int32_t bt)
{
    if (w) {
        c->wbatch = bt;
    } else if (c->rbatch < bt) {
        c->rbatch = bt;
    }
}

/** Whether env's block is narrow by a sample of it: the conflict rules on
 *  128 txs (64 in blocks under 1,024 txs) drawn one from each of as many
 *  equal strata of the block (cells of a hashed table, no allocation but
 *  the scratch's), their critical path weighted by each tx's slot count
 *  (a cheap chained tx weighs less than a costly free one) extrapolated to
 *  the block less an eighth, and px__exec_choose() narrow on a block of
 *  that shape. 0 for blocks under 256 txs, or when the scratch cannot
 *  grow. Lets the parallel executor send a block that is mostly one
 *  chain (most txs writing one key) to the reference without estimating
 *  most of it first; a
 *  heuristic for the decision only, never for the results. Defined in
 *  engine/exec/par/analysis_impl.h. */
int px__exec_sample_is_chain(const px__exec_env *env);
/** Whether the sample judges env's block wide by a margin (doubled path
 *  share plus an eighth of the block still parallel): such a block skips
 *  the whole-block estimate, and its exact analysis, while the txs run,
 *  sends it to the reference if it is narrow after all. 0 where
 *  px__exec_sample_is_chain() is 1 or the block is not sampled. */
int px__exec_sample_is_wide(const px__exec_env *env);
/** The sample's size for a block of n txs (0 under 256), and the index of
 *  its k-th tx (k below that size): fixed, so that tests can build blocks
 *  that the sample misjudges. */
size_t px__exec_sample_size(size_t n);
size_t px__exec_sample_place(size_t n, size_t k);

#endif /* PX_CONFLICT_H */
