/* Block access lists on the node's side: recording one on a scratch
 * store (trace import --bal) and attaching it to a block. */
#include "node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int node_bal_record(uint8_t **bal, size_t *bal_len, char *err,
    const uint8_t *block, size_t len, const parex_kv *kvs, size_t nkv,
    const uint8_t fee_recipient[32], uint32_t chain_id, unsigned threads)
{
    char *dir = node_tmpdir("bal");
    parex_db *db = NULL;
    parex_engine *e = NULL;
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_error_info ei;
    parex_header h;
    parex_receipt *rc_buf = NULL;
    size_t n = 0;
    int rc, ret = -1;

    memset(&ei, 0, sizeof(ei));
    *bal = NULL;
    *bal_len = 0;
    rc = parex_db_open(&db, &ei, dir, NULL);
    if (rc == PAREX_OK) {
        rc = parex_db_genesis(db, NULL, kvs, nkv, fee_recipient);
    }
    if (rc == PAREX_OK) {
        parex_engine_options_default(&eo);
        eo.chain_id = chain_id;
        eo.threads = threads;
        rc = parex_engine_create(&e, db, &eo);
    }
    if (rc == PAREX_OK) {
        rc = parex_block_peek(&h, &n, &ei, block, len, NULL);
    }
    if (rc != PAREX_OK) {
        node_err(err, "recording the BAL: %s", parex_strerror(rc));
        goto out;
    }
    rc_buf = node_calloc(n > 0 ? n : 1, sizeof(*rc_buf));
    rc = parex_engine_execute(e, NULL, rc_buf, n, NULL, &ei, block, len,
        PAREX_EXEC_RECORD_BAL);
    if (rc != PAREX_OK) {
        node_err(err, "recording the BAL: the block is rejected: %s (%s at "
            "tx %lld)", ei.message, parex_reject_name(ei.reject),
            (long long)ei.tx_index);
        goto out;
    }
    rc = parex_engine_bal(e, NULL, bal_len);
    if (rc == PAREX_E_BUFFER) {
        *bal = node_malloc(*bal_len);
        rc = parex_engine_bal(e, *bal, bal_len);
    }
    if (rc != PAREX_OK) {
        free(*bal);
        *bal = NULL;
        node_err(err, "recording the BAL: %s", parex_strerror(rc));
        goto out;
    }
    parex_engine_abort(e);
    ret = 0;
out:
    free(rc_buf);
    parex_engine_destroy(e);
    parex_db_close(db);
    if (node_rmtree(dir) != 0) {
        node_warn("%s: cannot remove", dir);
    }
    free(dir);
    return ret;
}

void node_block_attach_bal(node_buf *out, const uint8_t *block, size_t len,
    const uint8_t *bal, size_t bal_len)
{
    out->len = 0;
    node_buf_put(out, block, len);
    node_buf_u32le(out, 0);
    node_buf_u32le(out, (uint32_t)bal_len);
    node_buf_put(out, bal, bal_len);
}
