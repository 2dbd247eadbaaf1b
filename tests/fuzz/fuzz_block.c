/* Fuzz target: block decoding (the engine's px__block_decode and the
 * public parex_block_peek).
 *
 * Both walks must agree: peek accepts exactly what decode accepts and
 * reports the same header and tx count. An accepted block is canonical: it
 * re-encodes through parex_block_encode to exactly the input bytes. A
 * rejection is PAREX_E_BLOCK with reason MALFORMED or LIMIT. */
#include <string.h>

#include "engine_int.h"
#include "fuzz.h"
#include "parex/parex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    px__block blk;
    parex_error_info err, perr;
    parex_limits lim;
    parex_header h;
    parex_tx *txs = NULL;
    const parex_tx *tp;
    uint8_t *enc = NULL;
    size_t n = 0, len, i;
    int rc, prc;

    parex_limits_default(&lim);
    rc = px__block_decode(&blk, &err, data, size, &lim);
    prc = parex_block_peek(&h, &n, &perr, data, size, NULL);
    if (rc != PAREX_OK) {
        FUZZ_CHECK(rc == PAREX_E_BLOCK);
        FUZZ_CHECK(err.reject == PAREX_REJECT_MALFORMED ||
            err.reject == PAREX_REJECT_LIMIT);
        FUZZ_CHECK(err.field[0] != '\0');
        /* peek skips tx bodies, so it may accept a block whose txs are
         * bad; it must not reject one that decode accepts (checked
         * below) nor crash here. */
        FUZZ_CHECK(prc == PAREX_OK || prc == PAREX_E_INVALID ||
            prc == PAREX_E_LIMIT);
        return 0;
    }
    FUZZ_CHECK(prc == PAREX_OK);
    FUZZ_CHECK(n == blk.n);
    FUZZ_CHECK(h.height == blk.hdr.height);
    FUZZ_CHECK(memcmp(h.parent, blk.hdr.parent, 32) == 0);
    FUZZ_CHECK(memcmp(h.state_root, blk.hdr.state_root, 32) == 0);

    txs = calloc(blk.n ? blk.n : 1, sizeof(*txs));
    FUZZ_CHECK(txs != NULL);
    for (i = 0; i < blk.n; i++) {
        txs[i] = blk.txs[i].tx;
        FUZZ_CHECK(parex_tx_encoded_len(&txs[i]) == blk.txs[i].enc_len);
    }
    tp = blk.n > 0 ? txs : NULL;
    len = 0;
    FUZZ_CHECK(parex_block_encode(NULL, &len, &blk.hdr, tp, blk.n) ==
        PAREX_E_BUFFER);
    /* A BAL trailer (parex_bal.h) follows the txs: 8 bytes and the BAL. */
    FUZZ_CHECK(len + (blk.bal != NULL ? 8 + blk.bal_len : 0) == size);
    enc = malloc(size);
    FUZZ_CHECK(enc != NULL);
    FUZZ_CHECK(parex_block_encode(enc, &len, &blk.hdr, tp, blk.n) ==
        PAREX_OK);
    if (blk.bal != NULL) {
        size_t plain = len;
        len = size;
        FUZZ_CHECK(parex_block_attach_bal(enc, &len, data, plain, blk.bal,
                       blk.bal_len) == PAREX_OK);
    }
    FUZZ_CHECK(len == size && memcmp(enc, data, size) == 0);
    free(enc);
    free(txs);
    px__block_release(&blk);
    return 0;
}
