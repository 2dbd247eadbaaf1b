/* Block access lists: random blocks run normally record a BAL (the same
 * bytes at 1..4 threads, on every executor choice); validating the block
 * that carries it at 1..4 threads gives the reference's state, receipts
 * and roots; every tampering class (changed value, missing, extra or
 * reordered entry, wrong read list, fee credit, entry count, non-canonical
 * order) is rejected with the same error at every thread count, the store
 * untouched. Prints its seed; rerun with --seed=N; PAREX_TEST_ITERS
 * scales it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "blockgen.h"
#include "testutil.h"

static uint64_t g_seed;

/* [0] reference (sequential), runs the BAL block ignoring its BAL;
 * [1..4] record at 1..4 threads (the plain block; 1 thread: the BAL
 * recorder, 2..4: the engine's own narrow-or-parallel decision), then
 * validate the BAL block at 1..4 threads is done by [5..8]; [9] the
 * parallel executor (2 threads, every block parallel) ignoring the BAL;
 * [10..12] record at 2..4 threads with every block parallel (the
 * parallel recorder, random and wrong declarations: re-executions). */
#define N_ENG 13
#define REF 0
#define REC(t) (t)
#define VAL(t) (4 + (t))
#define PAR 9
#define PREC(t) (8 + (t))

typedef struct world {
    char *dir[N_ENG];
    parex_db *db[N_ENG];
    parex_engine *e[N_ENG];
} world;

static void open_world(world *w, bg_world *bw)
{
    parex_kv *kvs;
    size_t n, i;

    bg_genesis(bw, &kvs, &n, 1000000000000ULL);
    for (i = 0; i < N_ENG; i++) {
        parex_engine_options o = PAREX_ENGINE_OPTIONS_INIT;
        parex_db_options dbo = PAREX_DB_OPTIONS_INIT;
        dbo.sync = PAREX_SYNC_NONE;
        w->dir[i] = tu_tmpdir();
        assert_int_equal(parex_db_open(&w->db[i], NULL, w->dir[i], &dbo),
            PAREX_OK);
        assert_int_equal(parex_db_genesis(w->db[i], NULL, kvs, n,
                             bw->fee_recipient), PAREX_OK);
        parex_engine_options_default(&o);
        o.sequential = i == REF;
        o.threads = i == REF ? 1 : i == PAR ? 2
            : i >= PREC(2) ? (unsigned)(i - 8)
                           : (unsigned)((i - 1) % 4 + 1);
        o.min_batch_width = i == PAR || i >= PREC(2) ? 1 : 0;
        o.profile = i % 2;
        assert_int_equal(parex_engine_create(&w->e[i], w->db[i], &o),
            PAREX_OK);
        assert_int_equal(bg_register(w->e[i]), PAREX_OK);
    }
    bg_genesis_free(kvs, n);
}

static void close_world(world *w)
{
    tu_close_engines(w->e, w->db, w->dir, N_ENG);
}

static void compare_dumps(world *w)
{
    tu_assert_same_state(w->db, N_ENG, (unsigned long long)g_seed);
}

/* ---- a BAL, parsed on the test's side (independent of the engine's
 * decoder) so that it can be mutated and written back ---- */

typedef struct twrite {
    uint8_t key[32];
    int del;
    uint8_t *val;
    uint32_t len;
} twrite;

typedef struct tentry {
    twrite *w;
    uint32_t nw;
    uint8_t (*r)[32];
    uint32_t nr;
} tentry;

typedef struct tbal {
    tentry *tx;
    uint32_t n;
    int has_fee;
    uint8_t fee_key[32];
    uint8_t *fee_val;
    uint32_t fee_len;
} tbal;

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint8_t *dupb(const uint8_t *p, size_t n)
{
    uint8_t *c = malloc(n > 0 ? n : 1);
    assert_non_null(c);
    if (n > 0) {
        memcpy(c, p, n);
    }
    return c;
}

/* The txs' declared sets of a block, which a BAL's key references name:
 * tx j's read set, then its write set. */
typedef struct tdecl {
    parex_tx *tx;
    size_t n;
} tdecl;

static void tdecl_of(tdecl *d, const uint8_t *blk, size_t len)
{
    size_t off = PAREX_HEADER_BYTES + 4, j;

    assert_true(len >= off);
    d->n = ld32(blk + PAREX_HEADER_BYTES);
    d->tx = calloc(d->n + 1, sizeof(*d->tx));
    assert_non_null(d->tx);
    for (j = 0; j < d->n; j++) {
        uint32_t tl = ld32(blk + off);
        assert_int_equal(parex_tx_decode(&d->tx[j], NULL, blk + off + 4, tl,
                             NULL), PAREX_OK);
        off += 4 + tl;
    }
}

static void tdecl_free(tdecl *d)
{
    free(d->tx);
}

static uint32_t get_var(const uint8_t *p, size_t *off)
{
    uint32_t v = 0;
    unsigned sh = 0;

    for (;;) {
        uint8_t b = p[(*off)++];
        v |= (uint32_t)(b & 0x7f) << sh;
        if ((b & 0x80) == 0) {
            return v;
        }
        sh += 7;
    }
}

/* Key reference s of tx t: 1 + its place among the declared keys, 0 for
 * a key in full. */
static uint32_t ref_of(const parex_tx *t, const uint8_t *key)
{
    uint32_t i;

    for (i = 0; t != NULL && i < t->n_read + t->n_write; i++) {
        const uint8_t *k = i < t->n_read
            ? t->read_set + 32 * (size_t)i
            : t->write_set + 32 * (size_t)(i - t->n_read);
        if (memcmp(k, key, 32) == 0) {
            return i + 1;
        }
    }
    return 0;
}

static void get_key(const uint8_t *p, size_t *off, const parex_tx *t,
    uint8_t *out)
{
    uint32_t s = get_var(p, off);

    if (s == 0) {
        memcpy(out, p + *off, 32);
        *off += 32;
    } else {
        assert_non_null(t);
        assert_true(s <= t->n_read + t->n_write);
        memcpy(out, s <= t->n_read ? t->read_set + 32 * (size_t)(s - 1)
                                   : t->write_set +
                    32 * (size_t)(s - 1 - t->n_read), 32);
    }
}

/* The encoding is docs/formats.md's; the input is a valid BAL of the
 * block whose declared sets d holds. */
static void tbal_parse(tbal *b, const uint8_t *p, size_t len,
    const tdecl *d)
{
    size_t off = 5, j;
    uint32_t i;

    memset(b, 0, sizeof(*b));
    assert_true(len >= 6 && p[0] == 2);
    b->n = ld32(p + 1);
    b->tx = calloc(b->n + 1, sizeof(*b->tx));
    for (j = 0; j < b->n; j++) {
        tentry *t = &b->tx[j];
        const parex_tx *tx = j < d->n ? &d->tx[j] : NULL;
        t->nw = get_var(p, &off);
        t->w = calloc(t->nw + 1, sizeof(*t->w));
        for (i = 0; i < t->nw; i++) {
            uint32_t m;
            get_key(p, &off, tx, t->w[i].key);
            m = get_var(p, &off);
            t->w[i].del = m == 0;
            if (!t->w[i].del) {
                t->w[i].len = m - 1;
                t->w[i].val = dupb(p + off, t->w[i].len);
                off += t->w[i].len;
            }
        }
        t->nr = get_var(p, &off);
        t->r = calloc(t->nr + 1, 32);
        for (i = 0; i < t->nr; i++) {
            get_key(p, &off, tx, t->r[i]);
        }
    }
    b->has_fee = p[off++];
    if (b->has_fee) {
        memcpy(b->fee_key, p + off, 32);
        b->fee_len = ld32(p + off + 32);
        b->fee_val = dupb(p + off + 36, b->fee_len);
        off += 36 + b->fee_len;
    }
    assert_int_equal(off, len);
}

/* b encoded for the block whose declared sets d holds: the entry at place
 * j names tx j's declared keys by reference (so an entry moved to another
 * place is written for that tx). */
static uint8_t *tbal_write(const tbal *b, const tdecl *d, size_t *len)
{
    size_t cap = 64, off = 0, j;
    uint8_t *p = malloc(cap);
    uint32_t i;

#define NEED(n)                                                               \
    do {                                                                      \
        while (off + (n) > cap) {                                             \
            cap *= 2;                                                         \
            p = realloc(p, cap);                                              \
            assert_non_null(p);                                               \
        }                                                                     \
    } while (0)
#define PUTV(v)                                                               \
    do {                                                                      \
        uint32_t v_ = (v);                                                    \
        NEED(5);                                                              \
        while (v_ >= 0x80) {                                                  \
            p[off++] = (uint8_t)(v_ | 0x80);                                  \
            v_ >>= 7;                                                         \
        }                                                                     \
        p[off++] = (uint8_t)v_;                                               \
    } while (0)
#define PUTK(tx, key)                                                         \
    do {                                                                      \
        uint32_t s_ = ref_of((tx), (key));                                    \
        PUTV(s_);                                                             \
        if (s_ == 0) {                                                        \
            NEED(32);                                                         \
            memcpy(p + off, (key), 32);                                       \
            off += 32;                                                        \
        }                                                                     \
    } while (0)
    NEED(5);
    p[0] = 2;
    st32(p + 1, b->n);
    off = 5;
    for (j = 0; j < b->n; j++) {
        const tentry *t = &b->tx[j];
        const parex_tx *tx = j < d->n ? &d->tx[j] : NULL;
        PUTV(t->nw);
        for (i = 0; i < t->nw; i++) {
            PUTK(tx, t->w[i].key);
            PUTV(t->w[i].del ? 0 : t->w[i].len + 1);
            if (!t->w[i].del) {
                NEED(t->w[i].len);
                memcpy(p + off, t->w[i].val, t->w[i].len);
                off += t->w[i].len;
            }
        }
        PUTV(t->nr);
        for (i = 0; i < t->nr; i++) {
            PUTK(tx, t->r[i]);
        }
    }
    NEED(37 + (size_t)b->fee_len);
    p[off++] = (uint8_t)b->has_fee;
    if (b->has_fee) {
        memcpy(p + off, b->fee_key, 32);
        st32(p + off + 32, b->fee_len);
        memcpy(p + off + 36, b->fee_val, b->fee_len);
        off += 36 + b->fee_len;
    }
#undef PUTK
#undef PUTV
#undef NEED
    *len = off;
    return p;
}

static void tbal_free(tbal *b)
{
    size_t j;
    uint32_t i;
    for (j = 0; j < b->n; j++) {
        for (i = 0; i < b->tx[j].nw; i++) {
            free(b->tx[j].w[i].val);
        }
        free(b->tx[j].w);
        free(b->tx[j].r);
    }
    free(b->tx);
    free(b->fee_val);
}

/* ---- tampering ---- */

enum {
    T_VALUE,        /* a write's value changed */
    T_DEL,          /* a write turned into a deletion */
    T_MISSING_W,    /* a write removed */
    T_EXTRA_W,      /* a write of a fresh key added */
    T_SWAP_TX,      /* two tx entries swapped */
    T_MISSING_R,    /* a read removed */
    T_EXTRA_R,      /* a read of a fresh key added */
    T_READ_AS_W,    /* a read turned into a write of its value */
    T_FEE,          /* the fee credit changed */
    T_COUNT,        /* an entry dropped: the count no longer matches */
    T_UNSORTED,     /* two writes of an entry swapped: not canonical */
    T_KINDS
};

static const char *const t_names[] = { "value", "del", "missing write",
    "extra write", "swap txs", "missing read", "extra read",
    "read as write", "fee", "count", "unsorted" };

/* What the engine's message must say for each class of a well-formed
 * BAL (NULL: it depends on the block), so that the verdict's kind is
 * checked, not only agreed on across thread counts. */
static const char *const t_says[] = {
    "a write's value differs from the BAL's",
    "a write's value differs from the BAL's",
    "a write is missing from the BAL",
    "the BAL lists a write the tx did not make",
    NULL,
    "a read is missing from the BAL",
    "the BAL lists a read the tx did not make",
    "the BAL lists a write the tx did not make",
    "the block-end fee credit differs from the BAL's",
    NULL,
    NULL };

/* Applies tampering kind to b; returns the tx index the engine must name
 * (-1 for block-level), or -2 when b has nothing to tamper with. */
static int64_t tamper(tbal *b, int kind, tu_rng *rng, int *malformed)
{
    uint32_t j, i, tries;

    *malformed = 0;
    if (b->n == 0) {
        return -2;
    }
    for (tries = 0; tries < 64; tries++) {
        tentry *t;
        j = (uint32_t)tu_rng_below(rng, b->n);
        t = &b->tx[j];
        switch (kind) {
        case T_VALUE:
            for (i = 0; i < t->nw; i++) {
                if (!t->w[i].del && t->w[i].len > 0) {
                    t->w[i].val[tu_rng_below(rng, t->w[i].len)] ^=
                        (uint8_t)(1 + tu_rng_below(rng, 255));
                    return j;
                }
            }
            break;
        case T_DEL:
            i = (uint32_t)tu_rng_below(rng, t->nw ? t->nw : 1);
            if (t->nw > 0 && !t->w[i].del) {
                t->w[i].del = 1;
                free(t->w[i].val);
                t->w[i].val = NULL;
                t->w[i].len = 0;
                return j;
            }
            break;
        case T_MISSING_W:
            if (t->nw > 0) {
                i = (uint32_t)tu_rng_below(rng, t->nw);
                free(t->w[i].val);
                memmove(&t->w[i], &t->w[i + 1],
                    (t->nw - i - 1) * sizeof(*t->w));
                t->nw--;
                return j;
            }
            break;
        case T_EXTRA_W: {
            /* 0xff.. sorts last: a key no tx touches. */
            twrite *nw = realloc(t->w, (t->nw + 1) * sizeof(*nw));
            assert_non_null(nw);
            t->w = nw;
            memset(&t->w[t->nw], 0, sizeof(*t->w));
            memset(t->w[t->nw].key, 0xff, 32);
            t->w[t->nw].val = dupb((const uint8_t *)"x", 1);
            t->w[t->nw].len = 1;
            t->nw++;
            return j;
        }
        case T_SWAP_TX:
            if (j + 1 < b->n) {
                tentry tmp = b->tx[j];
                b->tx[j] = b->tx[j + 1];
                b->tx[j + 1] = tmp;
                return j;
            }
            break;
        case T_MISSING_R:
            if (t->nr > 0) {
                i = (uint32_t)tu_rng_below(rng, t->nr);
                memmove(t->r[i], t->r[i + 1], 32 * (size_t)(t->nr - i - 1));
                t->nr--;
                return j;
            }
            break;
        case T_EXTRA_R: {
            uint8_t(*nr)[32] = realloc(t->r, 32 * (size_t)(t->nr + 1));
            assert_non_null(nr);
            t->r = nr;
            memset(t->r[t->nr], 0xfe, 32);
            t->nr++;
            return j;
        }
        case T_READ_AS_W:
            if (t->nr > 0) {
                /* The read key becomes a write (of an empty value), kept
                 * sorted; the tx did not change it. */
                uint8_t key[32];
                twrite *nw;
                uint32_t at = 0;
                i = (uint32_t)tu_rng_below(rng, t->nr);
                memcpy(key, t->r[i], 32);
                memmove(t->r[i], t->r[i + 1], 32 * (size_t)(t->nr - i - 1));
                t->nr--;
                nw = realloc(t->w, (t->nw + 1) * sizeof(*nw));
                assert_non_null(nw);
                t->w = nw;
                while (at < t->nw && memcmp(t->w[at].key, key, 32) < 0) {
                    at++;
                }
                memmove(&t->w[at + 1], &t->w[at],
                    (t->nw - at) * sizeof(*t->w));
                memset(&t->w[at], 0, sizeof(*t->w));
                memcpy(t->w[at].key, key, 32);
                t->w[at].val = dupb((const uint8_t *)"", 0);
                t->nw++;
                return j;
            }
            break;
        case T_FEE:
            if (b->has_fee && b->fee_len > 0) {
                b->fee_val[0] ^= 1;
                return -1;
            }
            return -2;
        case T_COUNT:
            /* Drop the last entry. */
            b->n--;
            for (i = 0; i < b->tx[b->n].nw; i++) {
                free(b->tx[b->n].w[i].val);
            }
            free(b->tx[b->n].w);
            free(b->tx[b->n].r);
            *malformed = 1;
            return -1;
        case T_UNSORTED:
            if (t->nw > 1) {
                twrite tmp = t->w[0];
                t->w[0] = t->w[1];
                t->w[1] = tmp;
                *malformed = 1;
                return j;
            }
            break;
        default:
            break;
        }
    }
    return -2;
}

static void head_of(parex_db *db, parex_header *h)
{
    assert_int_equal(parex_db_head(db, h), PAREX_OK);
}

static uint8_t *attach(const uint8_t *blk, size_t len, const uint8_t *bal,
    size_t bal_len, size_t *out_len)
{
    uint8_t *out;
    size_t n = 0;
    assert_int_equal(parex_block_attach_bal(NULL, &n, blk, len, bal,
                         bal_len), PAREX_E_BUFFER);
    out = malloc(n);
    assert_non_null(out);
    assert_int_equal(parex_block_attach_bal(out, &n, blk, len, bal, bal_len),
        PAREX_OK);
    *out_len = n;
    return out;
}

/* Every tampering class on one block's BAL, on the validators: the same
 * error at every thread count, nothing written. */
static void try_tampering(world *w, tu_rng *rng, const uint8_t *blk,
    size_t len, const uint8_t *bal, size_t bal_len, size_t max_txs,
    uint64_t *count)
{
    int kind;
    parex_receipt *rcpt = calloc(max_txs + 1, sizeof(*rcpt));
    tdecl d;

    tdecl_of(&d, blk, len);
    for (kind = 0; kind < T_KINDS; kind++) {
        tbal tb;
        int malformed;
        int64_t want;
        uint8_t *nb, *tblk;
        size_t nb_len, tlen;
        unsigned t;
        parex_error_info err0;

        tbal_parse(&tb, bal, bal_len, &d);
        want = tamper(&tb, kind, rng, &malformed);
        if (want == -2) {
            tbal_free(&tb);
            continue;
        }
        nb = tbal_write(&tb, &d, &nb_len);
        tbal_free(&tb);
        if (nb_len == bal_len && memcmp(nb, bal, bal_len) == 0) {
            free(nb); /* swapped two equal entries */
            continue;
        }
        tblk = attach(blk, len, nb, nb_len, &tlen);
        for (t = 1; t <= 4; t++) {
            parex_header before, after;
            parex_error_info err;
            int rc;
            head_of(w->db[VAL(t)], &before);
            rc = parex_engine_execute(w->e[VAL(t)], NULL, rcpt, max_txs + 1,
                NULL, &err, tblk, tlen, PAREX_EXEC_COMMIT);
            head_of(w->db[VAL(t)], &after);
            assert_memory_equal(&before, &after, sizeof(before));
            if (rc != PAREX_E_BLOCK ||
                err.reject != (malformed ? PAREX_REJECT_MALFORMED
                                         : PAREX_REJECT_BAL_MISMATCH) ||
                err.tx_index != want) {
                fail_msg("tampering '%s' at tx %lld, %u threads: %s %s tx "
                    "%lld: %s (seed %llu)", t_names[kind], (long long)want, t,
                    parex_errname(rc), parex_reject_name(err.reject),
                    (long long)err.tx_index, err.message,
                    (unsigned long long)g_seed);
            }
            if (t_says[kind] != NULL && strstr(err.message, t_says[kind]) ==
                NULL) {
                fail_msg("tampering '%s', %u threads: '%s' does not say "
                    "'%s'", t_names[kind], t, err.message, t_says[kind]);
            }
            if (t == 1) {
                err0 = err;
            } else if (strcmp(err.message, err0.message) != 0 ||
                strcmp(err.field, err0.field) != 0) {
                fail_msg("tampering '%s': %u threads say '%s', 1 thread "
                    "'%s'", t_names[kind], t, err.message, err0.message);
            }
        }
        (*count)++;
        free(tblk);
        free(nb);
    }
    tdecl_free(&d);
    free(rcpt);
}

static void run_chain(unsigned blocks, size_t max_txs, double decl,
    uint64_t seed, int tampering)
{
    world w;
    bg_world bw;
    tu_rng rng;
    parex_header parent;
    uint64_t *used, tampered = 0, bal_bytes = 0, txs = 0;
    unsigned b;
    size_t i;
    parex_receipt *rc_buf[N_ENG];

    tu_rng_seed(&rng, seed);
    bg_world_init(&bw, 24, 64);
    used = calloc(bw.n_senders, sizeof(*used));
    open_world(&w, &bw);
    head_of(w.db[0], &parent);
    for (i = 0; i < N_ENG; i++) {
        rc_buf[i] = calloc(max_txs + 1, sizeof(parex_receipt));
    }
    for (b = 0; b < blocks; b++) {
        size_t n = (size_t)tu_rng_below(&rng, max_txs + 1), len, bal_len = 0,
               blen, l;
        double c = (double)tu_rng_below(&rng, 101) / 100;
        int64_t bad_index;
        uint8_t *blk, *bal = NULL, *bblk;
        parex_header hdr[N_ENG];
        parex_error_info err;
        unsigned t;

        blk = bg_block(&bw, &rng, &parent, n, c, decl, BG_VALID, &len, used,
            &bad_index);
        /* Record at 1..4 threads, and forced parallel at 2..4: the same
         * bytes. */
        for (t = 1; t <= 7; t++) {
            size_t k = t <= 4 ? REC(t) : PREC(t - 3);
            uint8_t *rb, *claim = NULL;
            if (t >= 2) {
                /* From 2 threads, recording with the commit in the same
                 * call leaves the BAL's hash (the parallel recorder: the
                 * recording too) and so the tx root to the commit: a
                 * header claiming the BAL recorder's tx root is
                 * accepted, one bit off it is rejected as at the root
                 * stage, the store untouched. */
                parex_header ch, h0, h1;
                claim = malloc(len);
                memcpy(claim, blk, len);
                assert_int_equal(parex_header_decode(&ch, claim,
                                     PAREX_HEADER_BYTES), PAREX_OK);
                memcpy(ch.tx_root, hdr[REC(1)].tx_root, 32);
                ch.tx_root[b % 32] ^= 0x10;
                parex_header_encode(claim, &ch);
                head_of(w.db[k], &h0);
                assert_int_equal(parex_engine_execute(w.e[k], NULL,
                                     rc_buf[k], max_txs + 1, NULL, &err,
                                     claim, len,
                                     PAREX_EXEC_COMMIT |
                                         PAREX_EXEC_RECORD_BAL),
                    PAREX_E_BLOCK);
                assert_int_equal(err.reject, PAREX_REJECT_ROOT_MISMATCH);
                assert_string_equal(err.field, "tx_root");
                l = 0;
                assert_int_equal(parex_engine_bal(w.e[k], NULL, &l),
                    PAREX_E_NOTFOUND);
                head_of(w.db[k], &h1);
                assert_memory_equal(&h0, &h1, sizeof(h0));
                ch.tx_root[b % 32] ^= 0x10;
                parex_header_encode(claim, &ch);
            }
            assert_int_equal(parex_engine_execute(w.e[k], &hdr[k],
                                 rc_buf[k], max_txs + 1, NULL, &err,
                                 claim != NULL ? claim : blk, len,
                                 PAREX_EXEC_COMMIT | PAREX_EXEC_RECORD_BAL),
                PAREX_OK);
            free(claim);
            l = 0;
            assert_int_equal(parex_engine_bal(w.e[k], NULL, &l),
                PAREX_E_BUFFER);
            rb = malloc(l);
            assert_int_equal(parex_engine_bal(w.e[k], rb, &l), PAREX_OK);
            {
                size_t sl;
                uint8_t *sb = attach(blk, len, rb, l, &sl);
                assert_int_equal(parex_bal_check(&i, &err, sb, sl, NULL),
                    PAREX_OK);
                assert_int_equal(i, n);
                free(sb);
            }
            if (t == 1) {
                bal = rb;
                bal_len = l;
            } else {
                if (l != bal_len || memcmp(rb, bal, l) != 0) {
                    fail_msg("block %u (%zu txs): engine %zu recorded a "
                        "different BAL (%zu bytes, the BAL recorder's %zu; "
                        "seed %llu)", b, n, k, l, bal_len,
                        (unsigned long long)g_seed);
                }
                assert_memory_equal(&hdr[k], &hdr[REC(1)],
                    sizeof(parex_header));
                free(rb);
            }
        }
        bal_bytes += bal_len;
        txs += n;
        bblk = attach(blk, len, bal, bal_len, &blen);
        if (tampering) {
            try_tampering(&w, &rng, blk, len, bal, bal_len, max_txs,
                &tampered);
        }
        /* Validate at 1..4 threads; the reference and the parallel
         * executor ignore the BAL. */
        for (t = 1; t <= 4; t++) {
            parex_block_stats st = PAREX_BLOCK_STATS_INIT;
            assert_int_equal(parex_engine_execute(w.e[VAL(t)], &hdr[VAL(t)],
                                 rc_buf[VAL(t)], max_txs + 1, &st, &err,
                                 bblk, blen, PAREX_EXEC_COMMIT),
                PAREX_OK);
            /* From 2 threads on, stage 1 builds the BAL's index beside the
             * signatures (px__bal_preindex); validation then builds
             * nothing. */
            if (n > 0) {
                assert_true(t >= 2 ? st.stage1_analysis_ns > 0
                                   : st.stage1_analysis_ns == 0);
            }
            /* Not recorded unless asked. */
            l = 0;
            assert_int_equal(parex_engine_bal(w.e[VAL(t)], NULL, &l),
                PAREX_E_NOTFOUND);
        }
        assert_int_equal(parex_engine_execute(w.e[REF], &hdr[REF],
                             rc_buf[REF], max_txs + 1, NULL, &err, bblk,
                             blen, PAREX_EXEC_COMMIT | PAREX_EXEC_IGNORE_BAL),
            PAREX_OK);
        assert_int_equal(parex_engine_execute(w.e[PAR], &hdr[PAR],
                             rc_buf[PAR], max_txs + 1, NULL, &err, bblk,
                             blen, PAREX_EXEC_COMMIT | PAREX_EXEC_IGNORE_BAL),
            PAREX_OK);
        for (i = 1; i < N_ENG; i++) {
            if (memcmp(&hdr[i], &hdr[REF], sizeof(parex_header)) != 0) {
                fail_msg("block %u (%zu txs): engine %zu's header differs "
                    "from the reference (seed %llu)", b, n, i,
                    (unsigned long long)g_seed);
            }
            assert_memory_equal(rc_buf[i], rc_buf[REF],
                n * sizeof(parex_receipt));
        }
        for (i = 0; i < bw.n_senders; i++) {
            bw.nonce[i] += used[i];
        }
        parent = hdr[REF];
        free(blk);
        free(bblk);
        free(bal);
        if (b % 25 == 24) {
            compare_dumps(&w);
        }
    }
    compare_dumps(&w);
    printf("# %u blocks, %llu txs: BAL %.1f bytes per tx, %llu tampered "
        "BALs rejected\n", blocks, (unsigned long long)txs,
        txs ? (double)bal_bytes / (double)txs : 0.0,
        (unsigned long long)tampered);
    for (i = 0; i < N_ENG; i++) {
        free(rc_buf[i]);
    }
    close_world(&w);
    free(used);
    bg_world_finish(&bw);
}

static void test_recorded_bal_validates_identically(void **state)
{
    (void)state;
    run_chain(tu_iters(120), 40, 0.3, g_seed, 0);
}

static void test_tampered_bal_rejected_identically(void **state)
{
    (void)state;
    run_chain(tu_iters(40), 30, 0.3, g_seed + 1, 1);
}

static void test_large_blocks(void **state)
{
    (void)state;
    run_chain(tu_iters(8) / 2 + 1, 800, 0.2, g_seed + 2, 1);
}

/* A block of two unsigned txs (the check decodes, it does not verify):
 * tx 0 reads key 3..3 and writes key 1..1, tx 1 declares nothing. */
static uint8_t *two_tx_block(size_t *len, uint8_t keys[2][32])
{
    parex_tx tx[2];
    parex_header h;
    uint8_t *blk;

    memset(tx, 0, sizeof(tx));
    memset(&h, 0, sizeof(h));
    memset(keys[0], 3, 32);
    memset(keys[1], 1, 32);
    tx[0].chain_id = tx[1].chain_id = 1;
    tx[0].program = tx[1].program = 1;
    tx[1].nonce = 1;
    tx[0].read_set = keys[0];
    tx[0].n_read = 1;
    tx[0].write_set = keys[1];
    tx[0].n_write = 1;
    *len = 0;
    assert_int_equal(parex_block_encode(NULL, len, &h, tx, 2),
        PAREX_E_BUFFER);
    blk = malloc(*len);
    assert_non_null(blk);
    assert_int_equal(parex_block_encode(blk, len, &h, tx, 2), PAREX_OK);
    return blk;
}

/* parex_bal_check of bal (bal_len bytes) as blk's trailer. */
static int check_on(const uint8_t *blk, size_t len, const uint8_t *bal,
    size_t bal_len, parex_error_info *err, const parex_limits *lim,
    size_t *n)
{
    size_t sl;
    uint8_t *sb = attach(blk, len, bal, bal_len, &sl);
    int rc = parex_bal_check(n, err, sb, sl, lim);
    free(sb);
    return rc;
}

/* The decoder rejects every truncation, a trailing byte, a wrong
 * version, a declared key given in full, a reference past the declared
 * keys and a non-minimal varint; a block's trailer must be exactly one
 * BAL. */
static void test_bal_decode_rejects_noncanonical(void **state)
{
    tbal tb;
    tentry e[2];
    twrite w[2];
    tdecl d;
    uint8_t rd[2][32], keys[2][32], *p, *blk, *bb, *q;
    size_t len, cut, blen, bblen, n;
    parex_error_info err;
    const uint8_t *got;

    (void)state;
    blk = two_tx_block(&blen, keys);
    tdecl_of(&d, blk, blen);
    memset(&tb, 0, sizeof(tb));
    memset(e, 0, sizeof(e));
    memset(w, 0, sizeof(w));
    memset(w[0].key, 1, 32);        /* declared: by reference */
    w[0].val = (uint8_t *)"ab";
    w[0].len = 2;
    memset(w[1].key, 2, 32);        /* undeclared: in full */
    w[1].del = 1;
    memset(rd[0], 3, 32);           /* declared */
    memset(rd[1], 4, 32);           /* undeclared */
    e[0].w = w;
    e[0].nw = 2;
    e[0].r = rd;
    e[0].nr = 2;
    tb.tx = e;
    tb.n = 2;
    p = tbal_write(&tb, &d, &len);
    /* version, n, entry 0: nw 2, ref 2 (the write set's key), m 3, "ab",
     * ref 0 + 32 bytes, m 0; nr 2, ref 1, ref 0 + 32 bytes; entry 1: 0 0;
     * no fee. */
    assert_int_equal(len, 5 + 1 + (1 + 1 + 2) + (1 + 32 + 1) + 1 + 1 +
        (1 + 32) + 2 + 1);
    assert_int_equal(p[6], 2);
    assert_int_equal(check_on(blk, blen, p, len, &err, NULL, &n), PAREX_OK);
    assert_int_equal(n, 2);
    for (cut = 1; cut < len; cut++) {
        int rc = check_on(blk, blen, p, cut, &err, NULL, NULL);
        assert_int_equal(rc, PAREX_E_INVALID);
        assert_true(strncmp(err.field, "bal", 3) == 0);
    }
    q = malloc(len + 40);
    assert_non_null(q);
    memcpy(q, p, len);
    q[len] = 0;
    assert_int_equal(check_on(blk, blen, q, len + 1, &err, NULL, NULL),
        PAREX_E_INVALID);
    q[0] = 1;
    assert_int_equal(check_on(blk, blen, q, len, &err, NULL, NULL),
        PAREX_E_INVALID);
    assert_string_equal(err.field, "bal.version");
    q[0] = 2;
    /* A reference past tx 0's two declared keys. */
    q[6] = 3;
    assert_int_equal(check_on(blk, blen, q, len, &err, NULL, NULL),
        PAREX_E_INVALID);
    assert_int_equal(err.tx_index, 0);
    assert_string_equal(err.field, "bal.writes");
    /* The same write count as a non-minimal varint (0x82 0x00). */
    memcpy(q, p, 5);
    q[5] = 0x82;
    q[6] = 0x00;
    memcpy(q + 7, p + 6, len - 6);
    assert_int_equal(check_on(blk, blen, q, len + 1, &err, NULL, NULL),
        PAREX_E_INVALID);
    assert_int_equal(err.tx_index, 0);
    assert_string_equal(err.field, "bal.writes");
    /* The declared write key in full instead of by reference. */
    memcpy(q, p, 6);
    q[6] = 0;
    memset(q + 7, 1, 32);
    memcpy(q + 39, p + 7, len - 7);
    assert_int_equal(check_on(blk, blen, q, len + 32, &err, NULL, NULL),
        PAREX_E_INVALID);
    assert_int_equal(err.tx_index, 0);
    assert_string_equal(err.field, "bal.writes");
    assert_non_null(strstr(err.message, "declared key given in full"));
    free(q);
    /* A read that is also a write; unsorted reads. */
    memset(rd[1], 2, 32);
    free(p);
    p = tbal_write(&tb, &d, &len);
    assert_int_equal(check_on(blk, blen, p, len, &err, NULL, NULL),
        PAREX_E_INVALID);
    assert_int_equal(err.tx_index, 0);
    assert_string_equal(err.field, "bal.reads");
    memset(rd[1], 0, 32);
    free(p);
    p = tbal_write(&tb, &d, &len);
    assert_int_equal(check_on(blk, blen, p, len, &err, NULL, NULL),
        PAREX_E_INVALID);
    assert_string_equal(err.field, "bal.reads");
    memset(rd[1], 4, 32);
    /* Over the access limit. */
    free(p);
    p = tbal_write(&tb, &d, &len);
    {
        parex_limits lim;
        parex_limits_default(&lim);
        lim.max_tx_accesses = 3;
        assert_int_equal(check_on(blk, blen, p, len, &err, &lim, NULL),
            PAREX_E_LIMIT);
        assert_int_equal(err.tx_index, 0);
    }
    /* One entry for two txs. */
    tb.n = 1;
    free(p);
    p = tbal_write(&tb, &d, &len);
    assert_int_equal(check_on(blk, blen, p, len, &err, NULL, NULL),
        PAREX_E_INVALID);
    assert_string_equal(err.field, "bal.txs");
    tb.n = 2;
    free(p);
    p = tbal_write(&tb, &d, &len);
    /* The block without a trailer: no BAL to check, none found. */
    assert_int_equal(parex_bal_check(NULL, &err, blk, blen, NULL),
        PAREX_E_INVALID);
    assert_int_equal(parex_block_bal(&got, &n, &err, blk, blen, NULL),
        PAREX_OK);
    assert_null(got);
    bb = attach(blk, blen, p, len, &bblen);
    assert_int_equal(parex_block_bal(&got, &n, &err, bb, bblen, NULL),
        PAREX_OK);
    assert_int_equal(n, len);
    assert_memory_equal(got, p, len);
    /* A second trailer is refused; a cut trailer is malformed. */
    n = 0;
    assert_int_equal(parex_block_attach_bal(NULL, &n, bb, bblen, p, len),
        PAREX_E_INVALID);
    assert_int_equal(parex_block_bal(&got, &n, &err, bb, bblen - 1, NULL),
        PAREX_E_INVALID);
    assert_string_equal(err.field, "bal");
    free(bb);
    free(blk);
    free(p);
    tdecl_free(&d);
}

/* A block with a bad signature and a malformed BAL: the BAL's verdict
 * comes first at every thread count and with trusted signatures, whether
 * stage 1 decodes the BAL beside the signatures (2 threads on) or the
 * engine does before them; the block alone is rejected for its
 * signature. Nothing is written. */
static void test_bal_verdict_before_signatures(void **state)
{
    world w;
    bg_world bw;
    tu_rng rng;
    parex_header parent, before, after;
    parex_receipt *rcpt;
    uint64_t *used;
    int64_t bad_index;
    uint8_t bal[5], *blk, *bblk;
    size_t len, blen, n = 40;
    unsigned t, f;

    (void)state;
    tu_rng_seed(&rng, g_seed + 3);
    bg_world_init(&bw, 24, 64);
    used = calloc(bw.n_senders, sizeof(*used));
    rcpt = calloc(n + 1, sizeof(*rcpt));
    open_world(&w, &bw);
    head_of(w.db[0], &parent);
    blk = bg_block(&bw, &rng, &parent, n, 0.3, 0.0, BG_BAD_SIG, &len, used,
        &bad_index);
    assert_true(bad_index >= 0);
    /* The version and a tx count, then nothing: truncated. */
    bal[0] = PAREX_BAL_VERSION;
    bal[1] = (uint8_t)n;
    bal[2] = bal[3] = bal[4] = 0;
    bblk = attach(blk, len, bal, sizeof(bal), &blen);
    for (t = 1; t <= 4; t++) {
        for (f = 0; f < 2; f++) {
            parex_error_info err;
            unsigned flags = PAREX_EXEC_COMMIT | (f ? PAREX_EXEC_VERIFIED : 0);
            head_of(w.db[VAL(t)], &before);
            assert_int_equal(parex_engine_execute(w.e[VAL(t)], NULL, rcpt,
                                 n + 1, NULL, &err, bblk, blen, flags),
                PAREX_E_BLOCK);
            assert_int_equal(err.reject, PAREX_REJECT_MALFORMED);
            assert_true(strncmp(err.field, "bal", 3) == 0);
            head_of(w.db[VAL(t)], &after);
            assert_memory_equal(&before, &after, sizeof(before));
        }
        {
            parex_error_info err;
            assert_int_equal(parex_engine_execute(w.e[VAL(t)], NULL, rcpt,
                                 n + 1, NULL, &err, blk, len,
                                 PAREX_EXEC_COMMIT),
                PAREX_E_BLOCK);
            assert_int_equal(err.reject, PAREX_REJECT_BAD_SIGNATURE);
            assert_int_equal(err.tx_index, bad_index);
        }
    }
    free(bblk);
    free(blk);
    free(rcpt);
    free(used);
    close_world(&w);
    bg_world_finish(&bw);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bal_decode_rejects_noncanonical),
        cmocka_unit_test(test_recorded_bal_validates_identically),
        cmocka_unit_test(test_tampered_bal_rejected_identically),
        cmocka_unit_test(test_large_blocks),
        cmocka_unit_test(test_bal_verdict_before_signatures),
    };
    g_seed = tu_seed(argc, argv);
    return cmocka_run_group_tests_name("bal", tests, NULL, NULL);
}
