/* The block-access-list executor's shared state, split by job:
 *   exec/bal_ctx.c       the ctx a tx runs on (per-key pre and current
 *                        values), running one tx, the contexts
 *   exec/bal_validate.c  validating a block that carries a BAL
 *   exec/bal.c           recording a block's BAL in block order
 * Internal to those three files. */
#ifndef PX_EXEC_BAL_IMPL_H
#define PX_EXEC_BAL_IMPL_H

#include "engine_int.h"
#include "bal/bal.h"
#include "exec/conflict.h"

typedef struct acc {
    uint8_t key[32];
    const uint8_t *pre, *cur;
    uint32_t pre_len, cur_len;
    uint8_t pre_present, cur_present;
    uint8_t touched;    /* a record at a fixed place is in use */
    uint32_t ov;        /* recording: its entry in the overlay (ove) */
} acc;

/* validate: the carried BAL's writes indexed by key (exec/bal_validate.c).
 * The keys are split into parts by key range (first 16 bits), one part
 * per worker, each built and finalised by one worker; a part is a flat
 * open-addressing table of its written keys, and each key's writes lie
 * contiguous in tx order. */
typedef struct wkey {
    uint8_t key[32];
    uint32_t first, n;      /* its writes: the part's wl[first, first + n) */
} wkey;

typedef struct wlw {
    uint32_t tx;            /* the writing tx */
    uint32_t w;             /* the write: bal->w[w] */
} wlw;

/* A part's write before grouping: the key's hash, then its key index. */
typedef struct pw {
    uint64_t h;
    uint32_t tx, w;
} pw;

/* A part's arrays are kept by the engine (px__balws) and grown only. */
typedef struct wpart {
    uint64_t *slot;         /* mask + 1 slots: 0 empty, else the hash's
                               high half << 32 | key index + 1 */
    size_t mask, cap_slot;
    pw *tmp;                /* the part's writes before grouping */
    size_t cap_tmp;
    size_t cap;             /* entries of k, wl and chg allocated */
    wkey *k;                /* nk written keys */
    size_t nk;
    wlw *wl;                /* their writes, by key, then tx */
    size_t nwl;
    px__change *chg;        /* the state after the block: each key's last
                               write (copies in the worker's arena), sorted
                               by key; nk entries */
    int rc;
    /* Parts are one array, each built by one worker that writes nk per
     * key: a line of padding between neighbours. */
    char pad_end[64];
} wpart;

/* record: a key's value before the next tx (the last write of the block
 * so far, else the snapshot's, which its first touch loaded). */
typedef struct ovent {
    const uint8_t *val;
    uint32_t len;
    uint8_t present;
    uint8_t written;        /* by a tx of the block: in the change set */
} ovent;

/* Outcome of one tx under validation. */
typedef struct tres {
    px__outcome out;
    int rc;
    int kind;           /* PX__BAL_OK or the mismatch */
    uint8_t key[32];
} tres;

typedef struct balx balx;

typedef struct tctx {
    parex_ctx base;
    balx *x;
    px__snap *snap;
    px__arena *arena;
    size_t j;
    px__keymap km;      /* key -> index into a */
    acc *a;
    size_t n, cap;
    size_t nl;          /* validating: records [0, nl) are tx j's listed
                           keys, writes then reads, in its BAL order */
    size_t nt;          /* distinct keys touched (the access limit) */
    size_t nd;          /* recording: records [0, nd) are the tx's
                           declared keys at their places (read set, then
                           write set); the others come after, through the
                           key map */
    uint32_t *ord;      /* recording: the touched records by key, n_ord */
    size_t n_ord, cap_ord;
    uint32_t hw, hr;    /* one past the write and read found last:
                           validating, in tx j's entry (listed_at);
                           recording, in its declared sets */
    size_t acct;        /* the prelude's put: restored after rollback */
    const uint8_t *acct_val;
    uint32_t acct_len;
    unsigned puts;
    /* The contexts are one array, one per worker, and each is written on
     * every ctx call (base.calls, km, n, puts): without a line between
     * them the neighbours' fields share one (216 bytes each, so ctx[0]'s
     * puts and ctx[1]'s calls did). A full line of padding keeps them
     * apart whatever the array's alignment. */
    char pad_end[64];
} tctx;

struct balx {
    const px__exec_env *env;
    px__balws *ws;          /* where the arrays below live */
    const px__bal *bal;     /* validate: the carried BAL */
    wpart *part;            /* validate: its writes by key, n_part parts */
    unsigned n_part;
    uint64_t s0, s1;        /* validate: the parts' hash seed */
    size_t n_wr, n_txi;     /* validate: writes; tx items */
    size_t n_big;           /* validate: items of TX_CHUNK txs, then one
                               tx an item */
    atomic_uint parts_done; /* validate: parts of the index built */
    atomic_int index_rc;    /* validate: a part's failure, else PAREX_OK */
    uint64_t index_ns;      /* validate: when the last part was built */
    /* validate, when stage 1 resolved them (px__bal_preindex): per BAL
     * write (by its index in bal->w) and per BAL read (tx j's from
     * r_off[j]), where the tx's pre-value comes from: 0 the snapshot,
     * else 1 + the index in bal->w of the last write of the key by an
     * earlier tx. NULL otherwise (every first touch then looks the key up
     * in the parts). */
    const uint32_t *src_w, *src_r, *r_off;
    size_t n_ove;           /* record: entries of ws->ove in use */
    tres *res;
    tctx *ctx;              /* one per worker */
};

struct px__balws {
    tctx *ctx;              /* n_ctx contexts, their key maps warm */
    unsigned n_ctx;
    tres *res;              /* validate: per-tx outcomes */
    size_t cap_res;
    wpart *part;            /* validate: the index's parts */
    unsigned cap_part;
    /* Stage 1 built the index of the block in execution
     * (px__bal_preindex): its parts and the plan they were built by. */
    int pre_valid;
    unsigned pre_n_part;
    uint64_t pre_s0, pre_s1;
    size_t pre_n_wr;
    uint64_t pre_ns;        /* its thread time */
    uint32_t *src_w, *src_r, *r_off;    /* its resolved sources (balx) */
    size_t cap_src_w, cap_src_r, cap_r_off;
    px__keymap ov;          /* record: key -> index into ove */
    size_t ov_keys;         /* record: keys of the last recorded block */
    ovent *ove;
    size_t cap_ove;
};

/** The part of x->part holding key: its first 16 bits scaled to n_part,
 *  so the parts are key ranges in key order. */
static inline unsigned px__bal_part_of_top(uint16_t top, unsigned n_part)
{
    return (unsigned)(((uint64_t)top * n_part) >> 16);
}

static inline unsigned px__bal_part_of(const uint8_t *key, unsigned n_part)
{
    return px__bal_part_of_top((uint16_t)((unsigned)key[0] << 8 | key[1]),
        n_part);
}

/** The written key key in part pt (h: its seeded hash), or NULL. */
static inline const wkey *px__bal_wkey_find(const wpart *pt,
    const uint8_t *key, uint64_t h)
{
    size_t i;

    if (pt->nk == 0) {
        return NULL;
    }
    for (i = (size_t)h & pt->mask;; i = (i + 1) & pt->mask) {
        uint64_t s = pt->slot[i];
        if (s == 0) {
            return NULL;
        }
        if ((uint32_t)(s >> 32) == (uint32_t)(h >> 32) &&
            px__keymap_eq(pt->k[(uint32_t)s - 1].key, key)) {
            return &pt->k[(uint32_t)s - 1];
        }
    }
}

/** Whether the tx changed a's key (value or presence). */
static inline int px__bal_changed(const acc *a)
{
    return a->pre_present != a->cur_present ||
        (a->cur_present && (a->pre_len != a->cur_len ||
                               !px__bal_bytes_eq(a->pre, a->cur, a->cur_len)));
}
/** The last write of key by a tx below j in the carried BAL (x->bal,
 *  indexed in x->part), or NULL. */
const px__bal_w *px__bal_before(const balx *x, const uint8_t *key, size_t j);
/** Runs tx j on t (validate: against the BAL's values; record: against
 *  the block overlay). Recording, t->ord ends listing its touched
 *  records by key;
 *  validating, each key tx j's BAL entry lists has its record at its
 *  place there and any other key one after those. */
int px__bal_run_tx(balx *x, tctx *t, size_t j, px__outcome *out);
/** Validating: whether t's records match tx j's entry bt exactly (what
 *  the merge of px__bal_records_sort's order with the entry would find),
 *  without sorting: every listed key touched and no other, the writes
 *  changed to the BAL's values, the reads unchanged. */
int px__bal_listed_match(const tctx *t, const px__bal_tx *bt);
/** Validating: t's touched records, sorted by key, for the merge that
 *  names a mismatch. */
void px__bal_records_sort(tctx *t);
/** x on env, with n contexts from env's px__balws (PAREX_E_NOMEM). */
int px__balx_init(balx *x, const px__exec_env *env, unsigned n);

#endif /* PX_EXEC_BAL_IMPL_H */
