#include "blockgen.h"

#include <stdlib.h>
#include <string.h>

void bg_key(uint8_t out[32], size_t i)
{
    uint8_t b[9];
    b[0] = 'k';
    memcpy(b + 1, &i, sizeof(i) < 8 ? sizeof(i) : 8);
    parex_sha256(out, b, 9);
}

void bg_world_init(bg_world *w, size_t n_senders, size_t n_keys)
{
    size_t i;
    memset(w, 0, sizeof(*w));
    w->n_senders = n_senders;
    w->sec = calloc(n_senders, 32);
    w->pub = calloc(n_senders, 32);
    w->nonce = calloc(n_senders, sizeof(uint64_t));
    w->n_keys = n_keys;
    w->chain_id = 1;
    for (i = 0; i < n_senders; i++) {
        uint8_t seed[8];
        memcpy(seed, &i, sizeof(seed) < sizeof(i) ? sizeof(seed) : sizeof(i));
        if (parex_key_from_seed(w->sec[i], w->pub[i], seed, 8) != PAREX_OK) {
            abort();
        }
    }
    {
        uint8_t s[32];
        if (parex_key_from_seed(s, w->fee_recipient, (const uint8_t *)"fee",
                3) != PAREX_OK) {
            abort();
        }
    }
}

void bg_world_finish(bg_world *w)
{
    free(w->sec);
    free(w->pub);
    free(w->nonce);
}

void bg_genesis(const bg_world *w, parex_kv **kvs, size_t *n,
    uint64_t balance)
{
    size_t i;
    parex_kv *v = calloc(w->n_senders + 1, sizeof(*v));
    for (i = 0; i < w->n_senders; i++) {
        uint8_t *val = malloc(16);
        parex_account_key(v[i].key, w->pub[i]);
        parex_account_encode(val, balance, 0);
        v[i].value = val;
        v[i].value_len = 16;
    }
    /* One kv key starts present so reads see storage values too. */
    {
        uint8_t *val = malloc(5);
        memcpy(val, "hello", 5);
        bg_key(v[w->n_senders].key, 0);
        v[w->n_senders].value = val;
        v[w->n_senders].value_len = 5;
    }
    *kvs = v;
    *n = w->n_senders + 1;
}

void bg_genesis_free(parex_kv *kvs, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        free((void *)kvs[i].value);
    }
    free(kvs);
}

/* ---- the kv test program ----
 * args: a list of ops, each 3 bytes: op, key index (u16le).
 *   op 0: get: acc = SHA-256(acc || value or "-")
 *   op 1: put key = acc (32 bytes)
 *   op 2: delete key
 *   op 3: fail with code 7 if acc[0] < 64 (value-dependent failure)
 *   op 4: put key = acc[0..n] where n = acc[1] % 40 (varying lengths)
 * Control flow and written values depend on what was read, so a stale
 * read anywhere changes the outcome. */
static int prog_kv(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t acc[32] = { 0 }, buf[64 + 64];
    size_t i;
    int rc;

    (void)user;
    if (tx->args_len % 3 != 0) {
        return 9;
    }
    for (i = 0; i + 3 <= tx->args_len; i += 3) {
        uint8_t op = tx->args[i];
        size_t ki = (size_t)tx->args[i + 1] | (size_t)tx->args[i + 2] << 8;
        uint8_t key[32];
        const uint8_t *v;
        size_t len;

        bg_key(key, ki);
        switch (op) {
        case 0:
            rc = parex_ctx_get(ctx, &v, &len, key);
            if (rc == PAREX_E_NOTFOUND) {
                v = (const uint8_t *)"-";
                len = 1;
            } else if (rc != PAREX_OK) {
                return rc;
            }
            memcpy(buf, acc, 32);
            if (len > 64) {
                len = 64;
            }
            memcpy(buf + 32, v, len);
            parex_sha256(acc, buf, 32 + len);
            break;
        case 1:
            rc = parex_ctx_put(ctx, key, acc, 32);
            if (rc != PAREX_OK) {
                return rc;
            }
            break;
        case 2:
            rc = parex_ctx_del(ctx, key);
            if (rc != PAREX_OK) {
                return rc;
            }
            break;
        case 3:
            if (acc[0] < 64) {
                return 7;
            }
            break;
        default:
            rc = parex_ctx_put(ctx, key, acc, acc[1] % 33);
            if (rc != PAREX_OK) {
                return rc;
            }
            break;
        }
    }
    return 0;
}

int bg_register(parex_engine *e)
{
    return parex_engine_register(e, BG_PROGRAM_KV, prog_kv, NULL);
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* Sorts and dedups n keys in place; returns the new count. */
static uint32_t sort_unique(uint8_t *k, uint32_t n)
{
    uint32_t i, m = 0;
    qsort(k, n, 32, cmp32);
    for (i = 0; i < n; i++) {
        if (m == 0 || memcmp(k + 32 * (m - 1), k + 32 * i, 32) != 0) {
            memmove(k + 32 * m, k + 32 * i, 32);
            m++;
        }
    }
    return m;
}

/* Removes from a the keys present in b (both sorted). */
static uint32_t subtract(uint8_t *a, uint32_t na, const uint8_t *b,
    uint32_t nb)
{
    uint32_t i, m = 0;
    for (i = 0; i < na; i++) {
        if (bsearch(a + 32 * i, b, nb, 32, cmp32) == NULL) {
            memmove(a + 32 * m, a + 32 * i, 32);
            m++;
        }
    }
    return m;
}

static size_t pick_key(bg_world *w, tu_rng *rng, double contention)
{
    if ((double)(tu_rng_next(rng) >> 11) / 9007199254740992.0 < contention) {
        return (size_t)tu_rng_below(rng, 3);
    }
    return (size_t)tu_rng_below(rng, w->n_keys);
}

static double unit(tu_rng *rng)
{
    return (double)(tu_rng_next(rng) >> 11) / 9007199254740992.0;
}

uint8_t *bg_block(bg_world *w, tu_rng *rng, const parex_header *parent,
    size_t n_txs, double contention, double decl, int bad, size_t *len,
    uint64_t *nonces_used, int64_t *bad_index)
{
    parex_tx *txs = calloc(n_txs ? n_txs : 1, sizeof(*txs));
    uint8_t **bufs = calloc(n_txs ? n_txs : 1, sizeof(*bufs));
    uint64_t *nonce = malloc(w->n_senders * sizeof(*nonce));
    parex_header h;
    size_t i, bi = n_txs ? (size_t)tu_rng_below(rng, n_txs) : 0;
    uint8_t *out;

    memcpy(nonce, w->nonce, w->n_senders * sizeof(*nonce));
    memset(nonces_used, 0, w->n_senders * sizeof(*nonces_used));
    memset(&h, 0, sizeof(h));
    h.height = parent->height + 1;
    parex_header_hash(h.parent, parent);
    memcpy(h.fee_recipient, w->fee_recipient, 32);
    *bad_index = bad != BG_VALID && n_txs > 0 ? (int64_t)bi : -1;

    for (i = 0; i < n_txs; i++) {
        parex_tx *t = &txs[i];
        size_t s = (size_t)tu_rng_below(rng, w->n_senders);
        /* room: args (<= 3*12), read + write sets (<= 40 keys each) */
        uint8_t *mem = calloc(1, 64 + 32 * 80 + 32 * 80);
        uint8_t *args = mem, *rs = mem + 64, *ws = mem + 64 + 32 * 80;
        uint32_t nr = 0, nw = 0;
        double kind = unit(rng);
        uint8_t acct[32];

        bufs[i] = mem;
        if (contention > 0.8 && unit(rng) < 0.7) {
            s = (size_t)tu_rng_below(rng, 2); /* hot senders */
        }
        parex_account_key(acct, w->pub[s]);
        t->chain_id = w->chain_id;
        t->nonce = nonce[s];
        t->fee = tu_rng_below(rng, 4);
        if (kind < 0.45) {
            size_t to = pick_key(w, rng, contention) % w->n_senders;
            uint64_t amount = unit(rng) < 0.1 ? (uint64_t)1 << 40
                                              : tu_rng_below(rng, 1000);
            t->program = PAREX_PROGRAM_TRANSFER;
            parex_transfer_args(args, w->pub[to], amount);
            t->args_len = 40;
            if (unit(rng) < 0.05) {
                t->args_len = 39; /* malformed args: a failing program */
            }
            parex_account_key(ws + 32 * nw++, w->pub[to]);
            memcpy(ws + 32 * nw++, acct, 32);
        } else if (kind < 0.95) {
            uint32_t nops = 1 + (uint32_t)tu_rng_below(rng, 12), o;
            t->program = BG_PROGRAM_KV;
            for (o = 0; o < nops; o++) {
                uint8_t op = (uint8_t)tu_rng_below(rng, 5);
                size_t k = pick_key(w, rng, contention);
                args[3 * o] = op;
                args[3 * o + 1] = (uint8_t)k;
                args[3 * o + 2] = (uint8_t)(k >> 8);
                if (op == 0) {
                    bg_key(rs + 32 * nr++, k);
                } else if (op != 3) {
                    bg_key(ws + 32 * nw++, k);
                }
            }
            t->args_len = 3 * nops;
        } else {
            t->program = 1000 + (uint32_t)tu_rng_below(rng, 3); /* unknown */
        }
        /* Wrong declarations: drop keys, add keys, or swap sets. */
        if (unit(rng) < decl) {
            double how = unit(rng);
            if (how < 0.3) {
                nr = 0;
                nw = 0;
            } else if (how < 0.6) {
                if (nr > 0) {
                    nr--;
                }
                if (nw > 0) {
                    nw = (uint32_t)tu_rng_below(rng, nw);
                }
            } else if (how < 0.8) {
                uint32_t extra = 1 + (uint32_t)tu_rng_below(rng, 4), x;
                for (x = 0; x < extra; x++) {
                    bg_key(unit(rng) < 0.5 ? rs + 32 * nr++ : ws + 32 * nw++,
                        pick_key(w, rng, contention));
                }
            } else {
                /* writes declared as reads only */
                memcpy(rs + 32 * nr, ws, 32 * (size_t)nw);
                nr += nw;
                nw = 0;
            }
        }
        nr = sort_unique(rs, nr);
        nw = sort_unique(ws, nw);
        nr = subtract(rs, nr, ws, nw);
        t->args = t->args_len ? args : NULL;
        t->read_set = nr ? rs : NULL;
        t->n_read = nr;
        t->write_set = nw ? ws : NULL;
        t->n_write = nw;
        if (bad != BG_VALID && i == bi) {
            if (bad == BG_BAD_NONCE) {
                t->nonce += 1 + tu_rng_below(rng, 2);
            } else if (bad == BG_FEE) {
                t->fee = (uint64_t)1 << 62;
            } else if (bad == BG_CHAIN) {
                t->chain_id = w->chain_id + 1;
            }
        }
        if (parex_tx_sign(t, w->sec[s]) != PAREX_OK) {
            abort();
        }
        if (bad == BG_BAD_SIG && i == bi) {
            t->sig[5] ^= 1;
        }
        nonce[s]++;
        nonces_used[s]++;
    }
    *len = 0;
    if (parex_block_encode(NULL, len, &h, txs, n_txs) != PAREX_E_BUFFER) {
        abort();
    }
    out = malloc(*len);
    if (parex_block_encode(out, len, &h, txs, n_txs) != PAREX_OK) {
        abort();
    }
    for (i = 0; i < n_txs; i++) {
        free(bufs[i]);
    }
    free(bufs);
    free(txs);
    free(nonce);
    return out;
}
