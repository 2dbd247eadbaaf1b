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

typedef struct acc {
    uint8_t key[32];
    const uint8_t *pre, *cur;
    uint32_t pre_len, cur_len;
    uint8_t pre_present, cur_present;
} acc;

typedef struct wref {
    const px__bal_w *w;
    uint32_t tx;
} wref;

typedef struct ovent {
    const uint8_t *val;
    uint32_t len;
    uint8_t present;
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
    size_t acct;        /* the prelude's put: restored after rollback */
    const uint8_t *acct_val;
    uint32_t acct_len;
    unsigned puts;
} tctx;

struct balx {
    const px__exec_env *env;
    const px__bal *bal;     /* validate: the carried BAL */
    wref *wr;               /* validate: its writes by key, then tx */
    size_t n_wr;
    px__keymap ov;          /* record: key -> index into ove */
    ovent *ove;
    size_t n_ove, cap_ove;
    tres *res;
    tctx *ctx;              /* one per worker */
    /* validate: the state root's change from the BAL's final values,
     * computed by the workers beside the txs (exec/bal_validate.c) */
    struct bal_fin *fin;    /* each written key's final value */
    size_t n_fin, root_items;
    px__lthash *acc;        /* one per worker */
    atomic_int root_err;
};

/** Whether the tx changed a's key (value or presence). */
int px__bal_changed(const acc *a);
/** Runs tx j on t (validate: against the BAL's values; record: against
 *  the block overlay); its records end sorted by key. */
int px__bal_run_tx(balx *x, tctx *t, size_t j, px__outcome *out);
/** n contexts for x (PAREX_E_NOMEM); px__balx_free releases them and x's
 *  tables. */
int px__bal_ctxs_init(balx *x, unsigned n);
void px__balx_free(balx *x, unsigned n);

#endif /* PX_EXEC_BAL_IMPL_H */
