/* Fuzz target: transaction decoding (parex_tx_decode).
 *
 * Anything accepted must be canonical: it re-encodes to exactly the input
 * bytes, its id and signature check run on it, and a decode under tighter
 * limits either accepts it too or fails with PAREX_E_LIMIT. Anything
 * rejected must say so with an error code and a named field, never by
 * crashing or reading past the input. */
#include <string.h>

#include "fuzz.h"
#include "parex/parex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    parex_tx tx;
    parex_error_info err;
    parex_limits lim;
    uint8_t *enc = NULL, id[32];
    size_t len;
    int rc;

    rc = parex_tx_decode(&tx, &err, data, size, NULL);
    if (rc != PAREX_OK) {
        FUZZ_CHECK(rc == PAREX_E_INVALID || rc == PAREX_E_LIMIT);
        FUZZ_CHECK(err.code == rc);
        FUZZ_CHECK(err.field[0] != '\0');
        FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
        return 0;
    }
    len = parex_tx_encoded_len(&tx);
    FUZZ_CHECK(len == size);
    enc = malloc(len);
    FUZZ_CHECK(enc != NULL);
    FUZZ_CHECK(parex_tx_encode(enc, &len, &tx) == PAREX_OK);
    FUZZ_CHECK(len == size && memcmp(enc, data, size) == 0);
    FUZZ_CHECK(parex_tx_id(id, &tx) == PAREX_OK);
    rc = parex_tx_verify(&tx);
    FUZZ_CHECK(rc == PAREX_OK || rc == PAREX_E_INVALID);

    /* Limits only ever turn acceptance into PAREX_E_LIMIT. */
    parex_limits_default(&lim);
    lim.max_args_bytes = tx.args_len > 0 ? tx.args_len - 1 : 0;
    lim.max_keys_per_set = 1;
    rc = parex_tx_decode(&tx, &err, data, size, &lim);
    FUZZ_CHECK(rc == PAREX_OK || rc == PAREX_E_LIMIT);
    free(enc);
    return 0;
}
