/* The canonical encodings and their decoders (docs/formats.md): malformed
 * input of every kind is rejected with the right code and field, valid
 * values round-trip field by field, signatures cover every field, and the
 * error/reject name tables cover every code.
 *
 * Hashes that the format defines (tx id, account key, key derivation) are
 * recomputed here from the definition with parex_sha256 alone.
 *
 * Prints its seed; rerun with --seed=N. PAREX_TEST_ITERS scales it. */
/* The misuse tests pass NULL where the API says not to, on purpose: like
 * the library itself, build without the nonnull attributes so that those
 * calls are defined behaviour (and UBSan's nonnull-attribute check quiet). */
#define PAREX_BUILD 1

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parex/parex.h"
#include "testutil.h"

static uint64_t g_seed;

/* A NULL the compiler cannot see, for PAREX_ARG_NONNULL parameters. */
static void *volatile g_null;

/* ---- helpers ------------------------------------------------------------ */

static void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

/* TH(tag, a || b) = SHA-256(SHA-256(tag) || SHA-256(tag) || a || b). */
static void tagged(uint8_t out[32], const char *tag, const uint8_t *a,
    size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t *buf = malloc(64 + alen + blen + 1);
    assert_non_null(buf);
    parex_sha256(buf, tag, strlen(tag));
    memcpy(buf + 32, buf, 32);
    if (alen > 0) {
        memcpy(buf + 64, a, alen);
    }
    if (blen > 0) {
        memcpy(buf + 64 + alen, b, blen);
    }
    parex_sha256(out, buf, 64 + alen + blen);
    free(buf);
}

static int cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

static void rand_bytes(tu_rng *rng, uint8_t *p, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        p[i] = (uint8_t)tu_rng_next(rng);
    }
}

/* Storage behind a built tx. */
typedef struct txmem {
    uint8_t args[256];
    uint8_t rs[32 * 16];
    uint8_t ws[32 * 16];
} txmem;

/* A random canonical tx: sets sorted, unique and disjoint. */
static void rand_tx(tu_rng *rng, parex_tx *tx, txmem *m)
{
    uint8_t keys[32 * 32];
    uint32_t nk = (uint32_t)tu_rng_below(rng, 17), i, nr;

    memset(tx, 0, sizeof(*tx));
    tx->chain_id = (uint32_t)tu_rng_next(rng);
    rand_bytes(rng, tx->sender, 32);
    tx->nonce = tu_rng_next(rng);
    tx->fee = tu_rng_next(rng);
    tx->program = (uint32_t)tu_rng_next(rng);
    tx->args_len = (uint32_t)tu_rng_below(rng, sizeof(m->args) + 1);
    rand_bytes(rng, m->args, tx->args_len);
    tx->args = tx->args_len > 0 ? m->args : NULL;
    rand_bytes(rng, keys, 32 * (size_t)nk);
    qsort(keys, nk, 32, cmp32);
    /* Random keys are distinct with overwhelming probability; split them
     * between the sets by a random mask. */
    nr = 0;
    for (i = 0; i < nk; i++) {
        if (tu_rng_below(rng, 2) == 0) {
            memcpy(m->rs + 32 * nr++, keys + 32 * i, 32);
        } else {
            memcpy(m->ws + 32 * tx->n_write++, keys + 32 * i, 32);
        }
    }
    tx->n_read = nr;
    tx->read_set = nr > 0 ? m->rs : NULL;
    tx->write_set = tx->n_write > 0 ? m->ws : NULL;
    rand_bytes(rng, tx->sig, 64);
}

/* A fixed tx: 5 bytes of args, reads {1, 3}, writes {2, 4}. */
static void sample_tx(parex_tx *tx, txmem *m)
{
    uint32_t i;

    memset(tx, 0, sizeof(*tx));
    memset(m, 0, sizeof(*m));
    tx->chain_id = 7;
    memset(tx->sender, 0x55, 32);
    tx->nonce = 3;
    tx->fee = 9;
    tx->program = 1000;
    memcpy(m->args, "hello", 5);
    tx->args = m->args;
    tx->args_len = 5;
    for (i = 0; i < 2; i++) {
        memset(m->rs + 32 * i, (int)(1 + 2 * i), 32);
        memset(m->ws + 32 * i, (int)(2 + 2 * i), 32);
    }
    tx->read_set = m->rs;
    tx->n_read = 2;
    tx->write_set = m->ws;
    tx->n_write = 2;
    memset(tx->sig, 0xa5, 64);
}

/* Offsets in the sample tx's encoding. */
#define S_ARGS_LEN 57
#define S_NREAD (61 + 5)
#define S_READ0 (S_NREAD + 4)
#define S_NWRITE (S_READ0 + 64)
#define S_WRITE0 (S_NWRITE + 4)
#define S_LEN (133 + 5 + 4 * 32)

static uint8_t *encode_tx(const parex_tx *tx, size_t *len)
{
    uint8_t *buf;
    *len = parex_tx_encoded_len(tx);
    buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(parex_tx_encode(buf, len, tx), PAREX_OK);
    assert_int_equal(*len, parex_tx_encoded_len(tx));
    return buf;
}

static void assert_tx_equal(const parex_tx *a, const parex_tx *b)
{
    assert_int_equal(a->chain_id, b->chain_id);
    assert_memory_equal(a->sender, b->sender, 32);
    assert_true(a->nonce == b->nonce);
    assert_true(a->fee == b->fee);
    assert_int_equal(a->program, b->program);
    assert_int_equal(a->args_len, b->args_len);
    if (a->args_len > 0) {
        assert_memory_equal(a->args, b->args, a->args_len);
    } else {
        assert_null(a->args);
        assert_null(b->args);
    }
    assert_int_equal(a->n_read, b->n_read);
    if (a->n_read > 0) {
        assert_memory_equal(a->read_set, b->read_set, 32 * (size_t)a->n_read);
    } else {
        assert_null(b->read_set);
    }
    assert_int_equal(a->n_write, b->n_write);
    if (a->n_write > 0) {
        assert_memory_equal(a->write_set, b->write_set,
            32 * (size_t)a->n_write);
    } else {
        assert_null(b->write_set);
    }
    assert_memory_equal(a->sig, b->sig, 64);
}

/* Decodes len bytes copied to an exactly sized heap buffer, so that a read
 * past the end is caught by ASan/valgrind; on success *out borrows from in
 * instead. Returns the code; checks that err agrees with it. */
static int decode_exact(parex_tx *out, parex_error_info *err,
    const uint8_t *in, size_t len, const parex_limits *lim)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    int rc;

    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, in, len);
    }
    memset(err, 0xee, sizeof(*err));
    rc = parex_tx_decode(out, err, copy, len, lim);
    if (rc == PAREX_OK) {
        /* The decoded pointers borrow from copy: move them to in. */
        if (out->args != NULL) {
            out->args = in + (out->args - copy);
        }
        if (out->read_set != NULL) {
            out->read_set = in + (out->read_set - copy);
        }
        if (out->write_set != NULL) {
            out->write_set = in + (out->write_set - copy);
        }
    }
    free(copy);
    assert_int_equal(err->code, rc);
    assert_true(memchr(err->field, 0, sizeof(err->field)) != NULL);
    assert_true(memchr(err->message, 0, sizeof(err->message)) != NULL);
    if (rc == PAREX_OK) {
        assert_int_equal(err->reject, PAREX_REJECT_NONE);
        assert_int_equal(err->tx_index, -1);
        assert_string_equal(err->field, "");
    } else {
        assert_int_equal(err->tx_index, -1);
        assert_true(err->message[0] != '\0');
    }
    return rc;
}

/* Expects decoding to fail with code and the named field. */
static void expect_decode_error(const uint8_t *in, size_t len,
    const parex_limits *lim, int code, const char *field)
{
    parex_tx tx;
    parex_error_info err;
    int rc = decode_exact(&tx, &err, in, len, lim);

    if (rc != code || strcmp(err.field, field) != 0) {
        fail_msg("decode of %zu bytes: got %s field '%s' (%s), expected %s "
            "field '%s'", len, parex_errname(rc), err.field, err.message,
            parex_errname(code), field);
    }
    assert_int_equal(err.reject, code == PAREX_E_LIMIT
            ? PAREX_REJECT_LIMIT : PAREX_REJECT_MALFORMED);
}

/* ---- transaction decoding --------------------------------------------- */

static void test_tx_round_trip_random(void **state)
{
    tu_rng rng;
    unsigned i, n = tu_iters(500);

    (void)state;
    tu_rng_seed(&rng, g_seed);
    for (i = 0; i < n; i++) {
        parex_tx tx, dec;
        txmem m;
        parex_error_info err;
        uint8_t *buf;
        size_t len;

        rand_tx(&rng, &tx, &m);
        buf = encode_tx(&tx, &len);
        assert_int_equal(len, PAREX_TX_MIN_BYTES + tx.args_len +
            32 * ((size_t)tx.n_read + tx.n_write));
        assert_int_equal(buf[0], PAREX_TX_VERSION);
        assert_int_equal(ld32(buf + 1), tx.chain_id);
        memset(&dec, 0xcc, sizeof(dec));
        assert_int_equal(parex_tx_decode(&dec, &err, buf, len, NULL),
            PAREX_OK);
        assert_tx_equal(&tx, &dec);
        /* The decoded pointers borrow from the input buffer. */
        if (dec.args_len > 0) {
            assert_ptr_equal(dec.args, buf + 61);
        }
        if (dec.n_read > 0) {
            assert_ptr_equal(dec.read_set, buf + 65 + dec.args_len);
        }
        /* Re-encoding the decoded tx gives the same bytes. */
        {
            size_t len2;
            uint8_t *buf2 = encode_tx(&dec, &len2);
            assert_int_equal(len2, len);
            assert_memory_equal(buf2, buf, len);
            free(buf2);
        }
        free(buf);
    }
}

static void test_tx_decode_truncated_at_every_length_fails(void **state)
{
    parex_tx tx, dec;
    txmem m;
    parex_error_info err;
    uint8_t *buf;
    size_t len, cut;

    (void)state;
    sample_tx(&tx, &m);
    buf = encode_tx(&tx, &len);
    assert_int_equal(len, S_LEN);
    assert_int_equal(decode_exact(&dec, &err, buf, len, NULL), PAREX_OK);
    for (cut = 0; cut < len; cut++) {
        int rc = decode_exact(&dec, &err, buf, cut, NULL);
        if (rc != PAREX_E_INVALID || err.field[0] == '\0' ||
            err.reject != PAREX_REJECT_MALFORMED) {
            fail_msg("truncated to %zu of %zu bytes: %s field '%s'", cut,
                len, parex_errname(rc), err.field);
        }
        /* The field named is the first one that no longer fits: the
         * sample has 5 bytes of args, 2 read and 2 write keys. */
        if (cut < PAREX_TX_MIN_BYTES) {
            assert_string_equal(err.field, "length");
        } else if (cut < PAREX_TX_MIN_BYTES + 5) {
            assert_string_equal(err.field, "args");
        } else if (cut < PAREX_TX_MIN_BYTES + 5 + 64) {
            assert_string_equal(err.field, "read_set");
        } else {
            assert_string_equal(err.field, "write_set");
        }
    }
    free(buf);
}

static void test_tx_decode_wrong_version_names_version(void **state)
{
    parex_tx tx;
    txmem m;
    uint8_t *buf;
    size_t len;
    unsigned v;

    (void)state;
    sample_tx(&tx, &m);
    buf = encode_tx(&tx, &len);
    for (v = 0; v < 256; v++) {
        if (v == PAREX_TX_VERSION) {
            continue;
        }
        buf[0] = (uint8_t)v;
        expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "version");
    }
    free(buf);
}

static void test_tx_decode_trailing_byte_names_sig(void **state)
{
    parex_tx tx;
    txmem m;
    uint8_t *buf, *big;
    size_t len;

    (void)state;
    sample_tx(&tx, &m);
    buf = encode_tx(&tx, &len);
    big = calloc(1, len + 8);
    assert_non_null(big);
    memcpy(big, buf, len);
    expect_decode_error(big, len + 1, NULL, PAREX_E_INVALID, "sig");
    expect_decode_error(big, len + 8, NULL, PAREX_E_INVALID, "sig");
    free(big);
    free(buf);
}

static void test_tx_decode_args_length_past_end_names_args(void **state)
{
    parex_tx tx;
    txmem m;
    uint8_t *buf;
    size_t len;
    uint32_t bad[] = { 5 + 4 * 32 + 1, 5 + 4 * 32 + 8, 1000, 1u << 20 };
    size_t i;

    (void)state;
    sample_tx(&tx, &m);
    buf = encode_tx(&tx, &len);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        st32(buf + S_ARGS_LEN, bad[i]);
        expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "args");
    }
    /* An args length that still fits but misplaces everything after it
     * is caught later, never read out of bounds. */
    st32(buf + S_ARGS_LEN, 6);
    {
        parex_tx dec;
        parex_error_info err;
        assert_int_not_equal(decode_exact(&dec, &err, buf, len, NULL),
            PAREX_OK);
    }
    free(buf);
}

static void test_tx_decode_set_counts_past_end_name_the_set(void **state)
{
    parex_tx tx;
    txmem m;
    uint8_t *buf;
    size_t len;

    (void)state;
    sample_tx(&tx, &m);
    buf = encode_tx(&tx, &len);
    /* The read set may take at most the 2 read + 2 write keys' room minus
     * the write count: 4 keys still reach into the sig, 5 run past. */
    st32(buf + S_NREAD, 5);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "read_set");
    st32(buf + S_NREAD, 4096);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "read_set");
    st32(buf + S_NREAD, 2);
    st32(buf + S_NWRITE, 3);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "write_set");
    st32(buf + S_NWRITE, 4096);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "write_set");
    free(buf);
}

static void test_tx_decode_noncanonical_sets_name_the_set(void **state)
{
    parex_tx tx;
    txmem m;
    uint8_t *buf;
    size_t len;

    (void)state;
    sample_tx(&tx, &m);
    buf = encode_tx(&tx, &len);

    /* Unsorted read set: swap the two read keys. */
    memset(buf + S_READ0, 3, 32);
    memset(buf + S_READ0 + 32, 1, 32);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "read_set");
    /* Duplicate key in the read set. */
    memset(buf + S_READ0, 3, 32);
    memset(buf + S_READ0 + 32, 3, 32);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "read_set");
    memset(buf + S_READ0, 1, 32);

    /* Unsorted write set. */
    memset(buf + S_WRITE0, 4, 32);
    memset(buf + S_WRITE0 + 32, 2, 32);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "write_set");
    /* Duplicate key in the write set. */
    memset(buf + S_WRITE0, 2, 32);
    memset(buf + S_WRITE0 + 32, 2, 32);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "write_set");
    /* Keys equal in their first 31 bytes: only the last byte orders them;
     * the first is the larger. */
    memset(buf + S_WRITE0, 4, 32);
    buf[S_WRITE0 + 31] = 5;
    memset(buf + S_WRITE0 + 32, 4, 32);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "write_set");
    /* The other way round it is canonical. */
    buf[S_WRITE0 + 31] = 4;
    buf[S_WRITE0 + 63] = 5;
    {
        parex_tx dec;
        parex_error_info err;
        assert_int_equal(decode_exact(&dec, &err, buf, len, NULL), PAREX_OK);
    }
    memset(buf + S_WRITE0, 2, 32);
    memset(buf + S_WRITE0 + 32, 4, 32);

    /* A key in both sets (each set sorted on its own). */
    memset(buf + S_WRITE0 + 32, 3, 32);
    expect_decode_error(buf, len, NULL, PAREX_E_INVALID, "read_set");
    memset(buf + S_WRITE0 + 32, 4, 32);

    /* Restored: decodes again. */
    {
        parex_tx dec;
        parex_error_info err;
        assert_int_equal(decode_exact(&dec, &err, buf, len, NULL), PAREX_OK);
        assert_tx_equal(&tx, &dec);
    }
    free(buf);
}

static void test_tx_decode_over_limits_is_limit_error(void **state)
{
    parex_tx tx, dec;
    txmem m;
    parex_limits lim;
    parex_error_info err;
    uint8_t *buf;
    size_t len;

    (void)state;
    sample_tx(&tx, &m);
    buf = encode_tx(&tx, &len);
    parex_limits_default(&lim);

    /* Exactly at each limit: accepted. */
    lim.max_args_bytes = 5;
    lim.max_keys_per_set = 2;
    assert_int_equal(decode_exact(&dec, &err, buf, len, &lim), PAREX_OK);

    lim.max_args_bytes = 4;
    expect_decode_error(buf, len, &lim, PAREX_E_LIMIT, "args");
    lim.max_args_bytes = 0;
    expect_decode_error(buf, len, &lim, PAREX_E_LIMIT, "args");
    lim.max_args_bytes = 5;

    lim.max_keys_per_set = 1;
    expect_decode_error(buf, len, &lim, PAREX_E_LIMIT, "read_set");
    /* With one read key the write set (2 keys) is over the limit. */
    {
        parex_tx t2 = tx;
        uint8_t *b2;
        size_t l2;
        t2.n_read = 1;
        b2 = encode_tx(&t2, &l2);
        expect_decode_error(b2, l2, &lim, PAREX_E_LIMIT, "write_set");
        lim.max_keys_per_set = 2;
        assert_int_equal(decode_exact(&dec, &err, b2, l2, &lim), PAREX_OK);
        free(b2);
    }

    /* The default limits: args over 1 MiB is a limit error even when the
     * length would also run past the end. */
    st32(buf + S_ARGS_LEN, (1u << 20) + 1);
    expect_decode_error(buf, len, NULL, PAREX_E_LIMIT, "args");
    st32(buf + S_ARGS_LEN, 5);
    st32(buf + S_NREAD, 4097);
    expect_decode_error(buf, len, NULL, PAREX_E_LIMIT, "read_set");
    st32(buf + S_NREAD, 2);
    st32(buf + S_NWRITE, 4097);
    expect_decode_error(buf, len, NULL, PAREX_E_LIMIT, "write_set");
    free(buf);
}

static void test_tx_decode_random_garbage_never_crashes(void **state)
{
    tu_rng rng;
    unsigned i, n = tu_iters(2000);
    parex_tx tx;
    txmem m;
    uint8_t *valid;
    size_t vlen;

    (void)state;
    tu_rng_seed(&rng, g_seed ^ 0x9a5b);
    sample_tx(&tx, &m);
    valid = encode_tx(&tx, &vlen);
    for (i = 0; i < n; i++) {
        uint8_t buf[S_LEN + 16];
        size_t len = (size_t)tu_rng_below(&rng, sizeof(buf) + 1), j;
        parex_tx dec;
        parex_error_info err;
        int rc;

        /* Start from the valid encoding and flip a few bytes, so that the
         * decoder gets deep into the structure. */
        memcpy(buf, valid, vlen);
        rand_bytes(&rng, buf + vlen, sizeof(buf) - vlen);
        for (j = 0; j < 1 + tu_rng_below(&rng, 4); j++) {
            buf[tu_rng_below(&rng, sizeof(buf))] = (uint8_t)tu_rng_next(&rng);
        }
        rc = decode_exact(&dec, &err, buf, len, NULL);
        assert_true(rc == PAREX_OK || rc == PAREX_E_INVALID ||
            rc == PAREX_E_LIMIT);
        if (rc == PAREX_OK) {
            /* Whatever decodes re-encodes to the same bytes. */
            size_t l2;
            uint8_t *b2 = encode_tx(&dec, &l2);
            assert_int_equal(l2, len);
            assert_memory_equal(b2, buf, len);
            free(b2);
        } else {
            assert_true(err.field[0] != '\0');
        }
    }
    free(valid);
}

static void test_tx_decode_null_is_misuse(void **state)
{
    parex_tx tx;
    txmem m;
    parex_error_info err;
    uint8_t *buf;
    size_t len;

    (void)state;
    sample_tx(&tx, &m);
    buf = encode_tx(&tx, &len);
    assert_int_equal(parex_tx_decode(g_null, &err, buf, len, NULL),
        PAREX_E_MISUSE);
    assert_int_equal(err.code, PAREX_E_MISUSE);
    assert_int_equal(parex_tx_decode(&tx, &err, g_null, len, NULL),
        PAREX_E_MISUSE);
    /* err may be NULL. */
    assert_int_equal(parex_tx_decode(&tx, NULL, buf, len - 1, NULL),
        PAREX_E_INVALID);
    assert_int_equal(parex_tx_decode(&tx, NULL, buf, len, NULL), PAREX_OK);
    free(buf);
}

/* ---- transaction encoding --------------------------------------------- */

static void test_tx_encode_rejects_noncanonical(void **state)
{
    parex_tx tx, bad;
    txmem m;
    uint8_t out[S_LEN + 64];
    size_t len;
    uint8_t ws2[64];

    (void)state;
    sample_tx(&tx, &m);

    /* Unsorted read set. */
    bad = tx;
    memset(m.rs, 9, 32);
    len = sizeof(out);
    assert_int_equal(parex_tx_encode(out, &len, &bad), PAREX_E_INVALID);
    assert_int_equal(parex_tx_verify(&bad), PAREX_E_INVALID);
    memset(m.rs, 1, 32);

    /* Duplicate key in the write set. */
    bad = tx;
    memset(ws2, 2, 64);
    bad.write_set = ws2;
    len = sizeof(out);
    assert_int_equal(parex_tx_encode(out, &len, &bad), PAREX_E_INVALID);

    /* A key in both sets. */
    bad = tx;
    memset(ws2, 3, 32);
    memset(ws2 + 32, 4, 32);
    bad.write_set = ws2;
    len = sizeof(out);
    assert_int_equal(parex_tx_encode(out, &len, &bad), PAREX_E_INVALID);

    /* NULL arrays with non-zero lengths. */
    bad = tx;
    bad.args = NULL;
    len = sizeof(out);
    assert_int_equal(parex_tx_encode(out, &len, &bad), PAREX_E_INVALID);
    bad = tx;
    bad.read_set = NULL;
    len = sizeof(out);
    assert_int_equal(parex_tx_encode(out, &len, &bad), PAREX_E_INVALID);
    bad = tx;
    bad.write_set = NULL;
    len = sizeof(out);
    assert_int_equal(parex_tx_encode(out, &len, &bad), PAREX_E_INVALID);

    /* The same checks guard sign and id. */
    {
        uint8_t sk[32], id[32];
        assert_int_equal(parex_key_from_seed(sk, NULL, (const uint8_t *)"x",
                             1), PAREX_OK);
        bad = tx;
        bad.args = NULL;
        assert_int_equal(parex_tx_sign(&bad, sk), PAREX_E_INVALID);
        assert_int_equal(parex_tx_id(id, &bad), PAREX_E_INVALID);
    }

    /* Empty sets and no args are canonical. */
    bad = tx;
    bad.args = NULL;
    bad.args_len = 0;
    bad.read_set = NULL;
    bad.n_read = 0;
    bad.write_set = NULL;
    bad.n_write = 0;
    len = sizeof(out);
    assert_int_equal(parex_tx_encode(out, &len, &bad), PAREX_OK);
    assert_int_equal(len, PAREX_TX_MIN_BYTES);
}

static void test_tx_encode_small_buffer_reports_needed_size(void **state)
{
    parex_tx tx;
    txmem m;
    uint8_t out[S_LEN + 1];
    size_t len, cap;

    (void)state;
    sample_tx(&tx, &m);
    assert_int_equal(parex_tx_encoded_len(&tx), S_LEN);
    for (cap = 0; cap < S_LEN; cap += 7) {
        memset(out, 0x3c, sizeof(out));
        len = cap;
        assert_int_equal(parex_tx_encode(out, &len, &tx), PAREX_E_BUFFER);
        assert_int_equal(len, S_LEN);
        /* Nothing written. */
        assert_int_equal(out[0], 0x3c);
        assert_int_equal(out[S_LEN - 1], 0x3c);
    }
    len = S_LEN - 1;
    assert_int_equal(parex_tx_encode(out, &len, &tx), PAREX_E_BUFFER);
    assert_int_equal(len, S_LEN);
    /* A larger buffer: exactly S_LEN bytes written. */
    memset(out, 0x3c, sizeof(out));
    len = sizeof(out);
    assert_int_equal(parex_tx_encode(out, &len, &tx), PAREX_OK);
    assert_int_equal(len, S_LEN);
    assert_int_equal(out[S_LEN], 0x3c);
}

/* ---- blocks ------------------------------------------------------------- */

static void rand_header(tu_rng *rng, parex_header *h)
{
    h->height = tu_rng_next(rng);
    rand_bytes(rng, h->parent, 32);
    rand_bytes(rng, h->tx_root, 32);
    rand_bytes(rng, h->receipts_root, 32);
    rand_bytes(rng, h->state_root, 32);
    rand_bytes(rng, h->fee_recipient, 32);
}

static void assert_header_equal(const parex_header *a, const parex_header *b)
{
    assert_true(a->height == b->height);
    assert_memory_equal(a->parent, b->parent, 32);
    assert_memory_equal(a->tx_root, b->tx_root, 32);
    assert_memory_equal(a->receipts_root, b->receipts_root, 32);
    assert_memory_equal(a->state_root, b->state_root, 32);
    assert_memory_equal(a->fee_recipient, b->fee_recipient, 32);
}

/* Encodes a block; returns the malloc'd buffer. */
static uint8_t *encode_block(const parex_header *h, const parex_tx *txs,
    size_t n, size_t *len)
{
    uint8_t *buf;
    *len = 0;
    assert_int_equal(parex_block_encode(NULL, len, h, txs, n),
        PAREX_E_BUFFER);
    buf = malloc(*len);
    assert_non_null(buf);
    assert_int_equal(parex_block_encode(buf, len, h, txs, n), PAREX_OK);
    return buf;
}

static void test_block_encode_peek_round_trip(void **state)
{
    tu_rng rng;
    unsigned it, iters = tu_iters(50);

    (void)state;
    tu_rng_seed(&rng, g_seed ^ 0xb10c);
    for (it = 0; it < iters; it++) {
        size_t n = (size_t)tu_rng_below(&rng, 6), i, len, off, got;
        parex_tx txs[6];
        txmem mem[6];
        parex_header h, ph;
        parex_error_info err;
        uint8_t *buf;

        rand_header(&rng, &h);
        for (i = 0; i < n; i++) {
            rand_tx(&rng, &txs[i], &mem[i]);
        }
        buf = encode_block(&h, txs, n, &len);
        memset(&err, 0xee, sizeof(err));
        assert_int_equal(parex_block_peek(&ph, &got, &err, buf, len, NULL),
            PAREX_OK);
        assert_int_equal(err.code, PAREX_OK);
        assert_int_equal(err.tx_index, -1);
        assert_int_equal(got, n);
        assert_header_equal(&h, &ph);
        /* Framing: each tx's slice decodes to the tx. */
        assert_int_equal(ld32(buf + PAREX_HEADER_BYTES), n);
        off = PAREX_HEADER_BYTES + 4;
        for (i = 0; i < n; i++) {
            parex_tx dec;
            uint32_t tl = ld32(buf + off);
            assert_int_equal(tl, parex_tx_encoded_len(&txs[i]));
            assert_int_equal(parex_tx_decode(&dec, NULL, buf + off + 4, tl,
                                 NULL), PAREX_OK);
            assert_tx_equal(&txs[i], &dec);
            off += 4 + tl;
        }
        assert_int_equal(off, len);
        /* Too small a buffer: the size needed, nothing else. */
        {
            size_t small = len - 1;
            uint8_t *b2 = malloc(len);
            assert_non_null(b2);
            assert_int_equal(parex_block_encode(b2, &small, &h, txs, n),
                PAREX_E_BUFFER);
            assert_int_equal(small, len);
            free(b2);
        }
        free(buf);
    }
}

static void test_block_encode_rejects_noncanonical_tx(void **state)
{
    parex_tx txs[2];
    txmem m[2];
    parex_header h;
    uint8_t out[2048];
    size_t len = sizeof(out);

    (void)state;
    memset(&h, 0, sizeof(h));
    sample_tx(&txs[0], &m[0]);
    sample_tx(&txs[1], &m[1]);
    memset(m[1].ws + 32, 2, 32); /* duplicate write key in tx 1 */
    assert_int_equal(parex_block_encode(out, &len, &h, txs, 2),
        PAREX_E_INVALID);
    len = sizeof(out);
    assert_int_equal(parex_block_encode(out, &len, &h, txs, 1), PAREX_OK);
    /* An empty block: header and a zero count. */
    len = sizeof(out);
    assert_int_equal(parex_block_encode(out, &len, &h, g_null, 0), PAREX_OK);
    assert_int_equal(len, PAREX_HEADER_BYTES + 4);
}

static int peek_exact(parex_error_info *err, const uint8_t *in, size_t len,
    const parex_limits *lim, size_t *n)
{
    uint8_t *copy = malloc(len > 0 ? len : 1);
    parex_header h;
    int rc;

    assert_non_null(copy);
    if (len > 0) {
        memcpy(copy, in, len);
    }
    rc = parex_block_peek(&h, n, err, copy, len, lim);
    free(copy);
    assert_int_equal(err->code, rc);
    return rc;
}

static void test_block_peek_malformed(void **state)
{
    parex_tx txs[3];
    txmem m[3];
    parex_header h;
    parex_error_info err;
    parex_limits lim;
    uint8_t *buf, *big;
    size_t len, cut, n, i;

    (void)state;
    memset(&h, 0, sizeof(h));
    h.height = 5;
    for (i = 0; i < 3; i++) {
        sample_tx(&txs[i], &m[i]);
    }
    buf = encode_block(&h, txs, 3, &len);
    assert_int_equal(peek_exact(&err, buf, len, NULL, &n), PAREX_OK);
    assert_int_equal(n, 3);

    /* Truncated at every length. */
    for (cut = 0; cut < len; cut++) {
        int rc = peek_exact(&err, buf, cut, NULL, &n);
        if (rc != PAREX_E_INVALID || err.reject != PAREX_REJECT_MALFORMED ||
            err.field[0] == '\0') {
            fail_msg("block truncated to %zu of %zu: %s field '%s'", cut,
                len, parex_errname(rc), err.field);
        }
        if (cut < PAREX_HEADER_BYTES + 4) {
            assert_string_equal(err.field, "header");
        }
    }

    /* A trailing byte. */
    big = calloc(1, len + 1);
    assert_non_null(big);
    memcpy(big, buf, len);
    assert_int_equal(peek_exact(&err, big, len + 1, NULL, &n),
        PAREX_E_INVALID);
    assert_string_equal(err.field, "block");
    assert_int_equal(err.tx_index, -1);
    free(big);

    /* Tx 1's length runs past the end. */
    {
        size_t off1 = PAREX_HEADER_BYTES + 4 + 4 + S_LEN;
        uint32_t saved = ld32(buf + off1);
        st32(buf + off1, (uint32_t)(len - off1 - 4 + 1));
        assert_int_equal(peek_exact(&err, buf, len, NULL, &n),
            PAREX_E_INVALID);
        assert_string_equal(err.field, "length");
        assert_int_equal(err.tx_index, 1);
        st32(buf + off1, 0xffffffffu);
        assert_int_equal(peek_exact(&err, buf, len, NULL, &n),
            PAREX_E_INVALID);
        assert_int_equal(err.tx_index, 1);
        st32(buf + off1, saved);
    }

    /* More txs counted than present. */
    st32(buf + PAREX_HEADER_BYTES, 4);
    assert_int_equal(peek_exact(&err, buf, len, NULL, &n), PAREX_E_INVALID);
    assert_string_equal(err.field, "length");
    assert_int_equal(err.tx_index, 3);
    /* Fewer: the rest is trailing. */
    st32(buf + PAREX_HEADER_BYTES, 2);
    assert_int_equal(peek_exact(&err, buf, len, NULL, &n), PAREX_E_INVALID);
    assert_string_equal(err.field, "block");
    st32(buf + PAREX_HEADER_BYTES, 3);

    /* Tx count over the limit. */
    parex_limits_default(&lim);
    lim.max_block_txs = 3;
    assert_int_equal(peek_exact(&err, buf, len, &lim, &n), PAREX_OK);
    lim.max_block_txs = 2;
    assert_int_equal(peek_exact(&err, buf, len, &lim, &n), PAREX_E_LIMIT);
    assert_int_equal(err.reject, PAREX_REJECT_LIMIT);
    assert_string_equal(err.field, "txs");
    /* A huge count is a limit error under the defaults too. */
    st32(buf + PAREX_HEADER_BYTES, 1000001);
    assert_int_equal(peek_exact(&err, buf, len, NULL, &n), PAREX_E_LIMIT);
    assert_string_equal(err.field, "txs");
    st32(buf + PAREX_HEADER_BYTES, 3);

    /* Block bytes over the limit. */
    parex_limits_default(&lim);
    lim.max_block_bytes = len;
    assert_int_equal(peek_exact(&err, buf, len, &lim, &n), PAREX_OK);
    lim.max_block_bytes = len - 1;
    assert_int_equal(peek_exact(&err, buf, len, &lim, &n), PAREX_E_LIMIT);
    assert_string_equal(err.field, "block");

    /* NULL arguments. */
    assert_int_equal(parex_block_peek(&h, &n, &err, g_null, len, NULL),
        PAREX_E_MISUSE);
    free(buf);
}

static void test_header_encode_decode_round_trip(void **state)
{
    tu_rng rng;
    unsigned i;

    (void)state;
    tu_rng_seed(&rng, g_seed ^ 0x4ead);
    for (i = 0; i < 100; i++) {
        parex_header h, d;
        uint8_t enc[PAREX_HEADER_BYTES + 1];
        uint8_t hash[32], expect[32];

        rand_header(&rng, &h);
        parex_header_encode(enc, &h);
        /* Layout: u64le height, then the five fields in order. */
        assert_true(ld32(enc) == (uint32_t)h.height);
        assert_true(ld32(enc + 4) == (uint32_t)(h.height >> 32));
        assert_memory_equal(enc + 8, h.parent, 32);
        assert_memory_equal(enc + 136, h.fee_recipient, 32);
        memset(&d, 0, sizeof(d));
        assert_int_equal(parex_header_decode(&d, enc, PAREX_HEADER_BYTES),
            PAREX_OK);
        assert_header_equal(&h, &d);
        assert_int_equal(parex_header_decode(&d, enc, PAREX_HEADER_BYTES - 1),
            PAREX_E_INVALID);
        assert_int_equal(parex_header_decode(&d, enc, PAREX_HEADER_BYTES + 1),
            PAREX_E_INVALID);
        assert_int_equal(parex_header_decode(&d, enc, 0), PAREX_E_INVALID);
        /* Block hash = TH("parex/block", encoding). */
        parex_header_hash(hash, &h);
        tagged(expect, "parex/block", enc, PAREX_HEADER_BYTES, NULL, 0);
        assert_memory_equal(hash, expect, 32);
        /* Every field is hashed. */
        d = h;
        d.state_root[31] ^= 1;
        parex_header_hash(expect, &d);
        assert_memory_not_equal(hash, expect, 32);
        d = h;
        d.height ^= (uint64_t)1 << 63;
        parex_header_hash(expect, &d);
        assert_memory_not_equal(hash, expect, 32);
    }
}

/* ---- signatures, ids, keys -------------------------------------------- */

static void flip(uint8_t *p, size_t bit)
{
    p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static void expect_verify_fails(const parex_tx *tx, const char *what,
    size_t bit)
{
    if (parex_tx_verify(tx) == PAREX_OK) {
        fail_msg("flipping bit %zu of %s leaves the signature valid", bit,
            what);
    }
}

static void test_sign_verify_any_bit_flip_fails(void **state)
{
    parex_tx tx, t;
    txmem m, mm;
    uint8_t sk[32], pk[32], sig1[64];
    size_t b;

    (void)state;
    assert_int_equal(parex_key_from_seed(sk, pk, (const uint8_t *)"alice",
                         5), PAREX_OK);
    sample_tx(&tx, &m);
    assert_int_equal(parex_tx_sign(&tx, sk), PAREX_OK);
    assert_memory_equal(tx.sender, pk, 32);
    assert_int_equal(parex_tx_verify(&tx), PAREX_OK);
    /* Deterministic signing. */
    memcpy(sig1, tx.sig, 64);
    assert_int_equal(parex_tx_sign(&tx, sk), PAREX_OK);
    assert_memory_equal(sig1, tx.sig, 64);

    /* The decoded tx verifies as well. */
    {
        uint8_t *buf;
        size_t len;
        parex_tx dec;
        buf = encode_tx(&tx, &len);
        assert_int_equal(parex_tx_decode(&dec, NULL, buf, len, NULL),
            PAREX_OK);
        assert_int_equal(parex_tx_verify(&dec), PAREX_OK);
        free(buf);
    }

    for (b = 0; b < 32; b++) {
        t = tx;
        t.chain_id ^= (uint32_t)1 << b;
        expect_verify_fails(&t, "chain_id", b);
        t = tx;
        t.program ^= (uint32_t)1 << b;
        expect_verify_fails(&t, "program", b);
    }
    for (b = 0; b < 64; b++) {
        t = tx;
        t.nonce ^= (uint64_t)1 << b;
        expect_verify_fails(&t, "nonce", b);
        t = tx;
        t.fee ^= (uint64_t)1 << b;
        expect_verify_fails(&t, "fee", b);
    }
    for (b = 0; b < 256; b++) {
        t = tx;
        flip(t.sender, b);
        expect_verify_fails(&t, "sender", b);
    }
    for (b = 0; b < 512; b++) {
        t = tx;
        flip(t.sig, b);
        expect_verify_fails(&t, "sig", b);
    }
    for (b = 0; b < 8 * (size_t)tx.args_len; b++) {
        mm = m;
        t = tx;
        t.args = mm.args;
        flip(mm.args, b);
        expect_verify_fails(&t, "args", b);
    }
    for (b = 0; b < 8 * 32 * (size_t)tx.n_read; b++) {
        mm = m;
        t = tx;
        t.read_set = mm.rs;
        flip(mm.rs, b);
        expect_verify_fails(&t, "read_set", b);
    }
    for (b = 0; b < 8 * 32 * (size_t)tx.n_write; b++) {
        mm = m;
        t = tx;
        t.write_set = mm.ws;
        flip(mm.ws, b);
        expect_verify_fails(&t, "write_set", b);
    }
    /* Lengths are signed too: dropping args, a read key or a write key. */
    t = tx;
    t.args_len--;
    expect_verify_fails(&t, "args_len", 0);
    t = tx;
    t.n_read--;
    expect_verify_fails(&t, "n_read", 0);
    t = tx;
    t.n_write--;
    expect_verify_fails(&t, "n_write", 0);
    /* Moving a key from one set to the other keeps the bytes' multiset but
     * not the encoding. */
    t = tx;
    t.read_set = m.rs;
    t.n_read = 1;
    {
        uint8_t ws3[96];
        memcpy(ws3, m.ws, 32);
        memcpy(ws3 + 32, m.rs + 32, 32);
        memcpy(ws3 + 64, m.ws + 32, 32);
        t.write_set = ws3;
        t.n_write = 3;
        expect_verify_fails(&t, "set membership", 0);
    }

    /* Signed by another key but claiming this sender. */
    {
        uint8_t sk2[32];
        assert_int_equal(parex_key_from_seed(sk2, NULL,
                             (const uint8_t *)"bob", 3), PAREX_OK);
        t = tx;
        assert_int_equal(parex_tx_sign(&t, sk2), PAREX_OK);
        assert_int_equal(parex_tx_verify(&t), PAREX_OK);
        memcpy(t.sender, pk, 32);
        assert_int_equal(parex_tx_verify(&t), PAREX_E_INVALID);
    }
    /* An invalid secret key (zero, or the group order) cannot sign. */
    {
        static const uint8_t order[32] = {
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
            0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b,
            0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41 };
        uint8_t zero[32] = { 0 }, pko[32];
        t = tx;
        assert_int_equal(parex_tx_sign(&t, zero), PAREX_E_INVALID);
        assert_int_equal(parex_tx_sign(&t, order), PAREX_E_INVALID);
        assert_int_equal(parex_key_pubkey(pko, zero), PAREX_E_INVALID);
        assert_int_equal(parex_key_pubkey(pko, order), PAREX_E_INVALID);
    }
}

static void test_tx_id_is_tagged_hash_and_covers_signature(void **state)
{
    parex_tx tx, t;
    txmem m;
    uint8_t sk[32], id[32], id2[32], expect[32];
    uint8_t *buf;
    size_t len, b;

    (void)state;
    assert_int_equal(parex_key_from_seed(sk, NULL, (const uint8_t *)"carol",
                         5), PAREX_OK);
    sample_tx(&tx, &m);
    assert_int_equal(parex_tx_sign(&tx, sk), PAREX_OK);
    assert_int_equal(parex_tx_id(id, &tx), PAREX_OK);
    buf = encode_tx(&tx, &len);
    tagged(expect, "parex/txid", buf, len, NULL, 0);
    assert_memory_equal(id, expect, 32);
    free(buf);

    /* The id changes with every bit of the signature (which verification
     * alone does not reveal: a different sig is a different tx). */
    for (b = 0; b < 512; b += 7) {
        t = tx;
        flip(t.sig, b);
        assert_int_equal(parex_tx_id(id2, &t), PAREX_OK);
        assert_memory_not_equal(id, id2, 32);
    }
    /* Re-signing with another key changes sender, sig and id. */
    {
        uint8_t sk2[32];
        assert_int_equal(parex_key_from_seed(sk2, NULL,
                             (const uint8_t *)"dave", 4), PAREX_OK);
        t = tx;
        assert_int_equal(parex_tx_sign(&t, sk2), PAREX_OK);
        assert_int_equal(parex_tx_id(id2, &t), PAREX_OK);
        assert_memory_not_equal(id, id2, 32);
    }
    /* Same tx, same id. */
    assert_int_equal(parex_tx_id(id2, &tx), PAREX_OK);
    assert_memory_equal(id, id2, 32);
}

static void test_key_from_seed_is_deterministic(void **state)
{
    uint8_t sk1[32], pk1[32], sk2[32], pk2[32], pk3[32], expect[32];
    uint8_t ctr[4] = { 0, 0, 0, 0 };
    static const uint8_t seed[] = "parex-seed";

    (void)state;
    assert_int_equal(parex_key_from_seed(sk1, pk1, seed, sizeof(seed) - 1),
        PAREX_OK);
    assert_int_equal(parex_key_from_seed(sk2, pk2, seed, sizeof(seed) - 1),
        PAREX_OK);
    assert_memory_equal(sk1, sk2, 32);
    assert_memory_equal(pk1, pk2, 32);
    /* pubkey may be NULL; the secret key is the same. */
    assert_int_equal(parex_key_from_seed(sk2, NULL, seed, sizeof(seed) - 1),
        PAREX_OK);
    assert_memory_equal(sk1, sk2, 32);
    assert_int_equal(parex_key_pubkey(pk3, sk1), PAREX_OK);
    assert_memory_equal(pk1, pk3, 32);
    /* docs/formats.md: counter 0 gives a valid key for virtually every
     * seed: TH("parex/keygen", u32le(0) || seed). */
    tagged(expect, "parex/keygen", ctr, 4, seed, sizeof(seed) - 1);
    assert_memory_equal(sk1, expect, 32);
    /* Another seed, another key; one more byte matters. */
    assert_int_equal(parex_key_from_seed(sk2, pk2, seed, sizeof(seed)),
        PAREX_OK);
    assert_memory_not_equal(sk1, sk2, 32);
    assert_memory_not_equal(pk1, pk2, 32);
    /* The empty seed is allowed, with NULL. */
    assert_int_equal(parex_key_from_seed(sk2, pk2, g_null, 0), PAREX_OK);
    tagged(expect, "parex/keygen", ctr, 4, NULL, 0);
    assert_memory_equal(sk2, expect, 32);
    assert_int_equal(parex_key_from_seed(sk2, pk2, g_null, 1),
        PAREX_E_MISUSE);
}

static void test_account_encode_decode(void **state)
{
    uint8_t v[PAREX_ACCOUNT_BYTES + 1], pk[32], key[32], expect[32];
    uint64_t bal = 0, nonce = 0;
    static const uint64_t cases[][2] = {
        { 0, 0 }, { 1, 2 }, { UINT64_MAX, UINT64_MAX },
        { 0x0102030405060708ULL, 0x1112131415161718ULL } };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parex_account_encode(v, cases[i][0], cases[i][1]);
        assert_int_equal(parex_account_decode(&bal, &nonce, v,
                             PAREX_ACCOUNT_BYTES), PAREX_OK);
        assert_true(bal == cases[i][0]);
        assert_true(nonce == cases[i][1]);
    }
    /* Little-endian balance then nonce. */
    assert_int_equal(v[0], 0x08);
    assert_int_equal(v[7], 0x01);
    assert_int_equal(v[8], 0x18);
    assert_int_equal(v[15], 0x11);
    assert_int_equal(parex_account_decode(&bal, &nonce, v, 15),
        PAREX_E_INVALID);
    assert_int_equal(parex_account_decode(&bal, &nonce, v, 17),
        PAREX_E_INVALID);
    assert_int_equal(parex_account_decode(&bal, &nonce, v, 0),
        PAREX_E_INVALID);
    /* Account key = TH("parex/account", pubkey). */
    memset(pk, 0x42, 32);
    parex_account_key(key, pk);
    tagged(expect, "parex/account", pk, 32, NULL, 0);
    assert_memory_equal(key, expect, 32);
    /* Transfer args: recipient || u64le amount. */
    {
        uint8_t args[PAREX_TRANSFER_ARGS_BYTES];
        parex_transfer_args(args, pk, 0x0a0b0c0d0e0f1011ULL);
        assert_memory_equal(args, pk, 32);
        assert_int_equal(args[32], 0x11);
        assert_int_equal(args[39], 0x0a);
    }
}

/* ---- error tables --------------------------------------------------------- */

static void test_error_names_cover_every_code(void **state)
{
    static const struct {
        int code;
        const char *name, *msg;
    } codes[] = {
#define XX(name, value, msg) { (value), "PAREX_E_" #name, msg },
        PAREX_ERRNO_MAP(XX)
#undef XX
    };
    static const struct {
        int code;
        const char *name;
    } rejects[] = {
#define XX(name, value, msg) { (value), #name },
        PAREX_REJECT_MAP(XX)
#undef XX
    };
    static const int unknown[] = { 1, 2, 100, -18, -100, -1000,
        (int)0x80000000u, 0x7fffffff };
    size_t i, j;

    (void)state;
    assert_string_equal(parex_strerror(PAREX_OK), "success");
    assert_string_equal(parex_errname(PAREX_OK), "PAREX_OK");
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        assert_true(codes[i].code < 0);
        assert_string_equal(parex_strerror(codes[i].code), codes[i].msg);
        assert_string_equal(parex_errname(codes[i].code), codes[i].name);
        assert_string_not_equal(parex_strerror(codes[i].code),
            "unknown error");
        for (j = 0; j < i; j++) {
            assert_int_not_equal(codes[i].code, codes[j].code);
        }
    }
    /* The enum values are the list's. */
    assert_int_equal(PAREX_E_INVALID, -1);
    assert_int_equal(PAREX_E_PENDING, -15);
    assert_int_equal(PAREX_E_MISMATCH, -17);
    assert_int_equal(sizeof(codes) / sizeof(codes[0]), 17);
    for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_string_equal(parex_strerror(unknown[i]), "unknown error");
        assert_string_equal(parex_errname(unknown[i]), "PAREX_E_UNKNOWN");
    }
    for (i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
        assert_int_equal(rejects[i].code, (int)i);
        assert_string_equal(parex_reject_name(rejects[i].code),
            rejects[i].name);
    }
    assert_string_equal(parex_reject_name(PAREX_REJECT_BAD_NONCE),
        "BAD_NONCE");
    assert_string_equal(parex_reject_name(11), "UNKNOWN");
    assert_string_equal(parex_reject_name(-1), "UNKNOWN");
    assert_string_equal(parex_reject_name(1000), "UNKNOWN");
    assert_string_equal(parex_reject_name((int)0x80000000u), "UNKNOWN");
    /* One version source: meson's project version, through the generated
     * header, is what the library reports. */
    assert_string_equal(parex_version(), PAREX_VERSION_STRING);
    assert_non_null(getenv("PAREX_PROJECT_VERSION"));
    assert_string_equal(parex_version(), getenv("PAREX_PROJECT_VERSION"));
    {
        char v[32];
        snprintf(v, sizeof v, "%d.%d.%d", PAREX_VERSION_MAJOR,
            PAREX_VERSION_MINOR, PAREX_VERSION_PATCH);
        assert_string_equal(v, PAREX_VERSION_STRING);
    }
}

static void test_limits_default_match_the_documentation(void **state)
{
    parex_limits l;

    (void)state;
    memset(&l, 0, sizeof(l));
    parex_limits_default(&l);
    assert_int_equal(l.max_args_bytes, 1048576);
    assert_int_equal(l.max_keys_per_set, 4096);
    assert_int_equal(l.max_value_bytes, 65536);
    assert_int_equal(l.max_block_txs, 1000000);
    assert_true(l.max_block_bytes == 536870912ULL);
    assert_int_equal(l.max_tx_accesses, 65536);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tx_round_trip_random),
        cmocka_unit_test(test_tx_decode_truncated_at_every_length_fails),
        cmocka_unit_test(test_tx_decode_wrong_version_names_version),
        cmocka_unit_test(test_tx_decode_trailing_byte_names_sig),
        cmocka_unit_test(test_tx_decode_args_length_past_end_names_args),
        cmocka_unit_test(test_tx_decode_set_counts_past_end_name_the_set),
        cmocka_unit_test(test_tx_decode_noncanonical_sets_name_the_set),
        cmocka_unit_test(test_tx_decode_over_limits_is_limit_error),
        cmocka_unit_test(test_tx_decode_random_garbage_never_crashes),
        cmocka_unit_test(test_tx_decode_null_is_misuse),
        cmocka_unit_test(test_tx_encode_rejects_noncanonical),
        cmocka_unit_test(test_tx_encode_small_buffer_reports_needed_size),
        cmocka_unit_test(test_block_encode_peek_round_trip),
        cmocka_unit_test(test_block_encode_rejects_noncanonical_tx),
        cmocka_unit_test(test_block_peek_malformed),
        cmocka_unit_test(test_header_encode_decode_round_trip),
        cmocka_unit_test(test_sign_verify_any_bit_flip_fails),
        cmocka_unit_test(test_tx_id_is_tagged_hash_and_covers_signature),
        cmocka_unit_test(test_key_from_seed_is_deterministic),
        cmocka_unit_test(test_account_encode_decode),
        cmocka_unit_test(test_error_names_cover_every_code),
        cmocka_unit_test(test_limits_default_match_the_documentation),
    };
    g_seed = tu_seed(argc, argv);
    return cmocka_run_group_tests_name("codec", tests, NULL, NULL);
}
