/* Fuzz target: trace import (node/formats/trace.c), the path of
 * `parex trace import`: parse JSON Lines, turn the lines into signed
 * trace-program transactions, encode the block.
 *
 * A rejected trace gets one error sentence that names the file. An
 * accepted one (up to 16 lines: every line costs a Schnorr signature)
 * becomes a block that the engine's decoder accepts, or rejects only
 * for a limit, under every declaration mode. */
#include <string.h>

#include "engine_int.h"
#include "fuzz.h"
#include "formats/node.h"

#define FILE_NAME "fuzz.jsonl"

static void import_one(const node_trace *t, const node_declare *d,
    const parex_header *genesis)
{
    node_txbytes *txs = NULL;
    node_buf blk = { 0 };
    parex_header h;
    parex_limits lim;
    parex_error_info e;
    px__block b;
    char err[NODE_ERR_LEN];
    int rc;

    err[0] = '\0';
    if (node_trace_txs(&txs, err, FILE_NAME, t, d, 1) != 0) {
        FUZZ_CHECK(strncmp(err, FILE_NAME, strlen(FILE_NAME)) == 0);
        return;
    }
    node_trace_header(&h, genesis);
    node_block_encode(&blk, &h, txs, t->n);
    parex_limits_default(&lim);
    rc = px__block_decode(&b, &e, blk.p, blk.len, &lim);
    if (rc == PAREX_OK) {
        FUZZ_CHECK(b.n == t->n);
        px__block_release(&b);
    } else {
        FUZZ_CHECK(rc == PAREX_E_BLOCK && e.reject == PAREX_REJECT_LIMIT);
    }
    node_buf_release(&blk);
    node_txs_free(txs, t->n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static parex_header genesis;
    static int have_genesis;
    node_trace t;
    node_declare d[3] = {
        { NODE_DECLARE_EXACT, 0, 0 },
        { NODE_DECLARE_DROP, 0.5, 7 },
        { NODE_DECLARE_ADD, 0.5, 9 },
    };
    char err[NODE_ERR_LEN];
    size_t i;

    if (!have_genesis) {
        node_trace_genesis_header(&genesis);
        have_genesis = 1;
    }
    err[0] = '\0';
    if (node_trace_parse(&t, err, FILE_NAME, (const char *)data, size) !=
        0) {
        FUZZ_CHECK(strncmp(err, FILE_NAME ":", strlen(FILE_NAME) + 1) == 0);
        return 0;
    }
    if (t.n <= 16) {
        for (i = 0; i < 3; i++) {
            import_one(&t, &d[i], &genesis);
        }
    }
    node_trace_release(&t);
    return 0;
}
