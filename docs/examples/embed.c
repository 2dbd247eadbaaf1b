/* A minimal embedder: open a state directory, write a genesis with one
 * funded account, register a program of its own, execute and commit a
 * block of two signed transactions, and read the result back: copied
 * values, then in one read transaction the head, two values, the stored
 * block and a receipt, all of one height.
 *
 * Build against an installed libparex:
 *   cc embed.c $(pkg-config --cflags --libs parex) -o embed
 * Run: ./embed STATE_DIR   (an existing, empty directory) */
#include <parex/parex.h>

#include <stdio.h>
#include <string.h>

/* Program 1000: stores the tx's args under key SHA-256("note"). */
static int note_program(parex_ctx *ctx, void *user)
{
    const parex_tx *tx = parex_ctx_tx(ctx);
    uint8_t key[32];

    (void)user;
    parex_sha256(key, "note", 4);
    return parex_ctx_put(ctx, key, tx->args, tx->args_len);
}

int main(int argc, char **argv)
{
    parex_db *db = NULL;
    parex_engine *e = NULL;
    parex_error_info err;
    parex_header genesis, head;
    parex_kv kv;
    parex_tx txs[2];
    parex_receipt receipts[2];
    uint8_t alice_sec[32], alice[32], bob_sec[32], bob[32];
    uint8_t acct_val[16], transfer[40], note_key[32], block[4096];
    uint8_t buf[64];
    size_t len = sizeof(block), vlen = sizeof(buf);
    int rc, status = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: %s STATE_DIR\n", argv[0]);
        return 2;
    }
    if (parex_key_from_seed(alice_sec, alice, (const uint8_t *)"alice", 5) ||
        parex_key_from_seed(bob_sec, bob, (const uint8_t *)"bob", 3)) {
        return 1;
    }
    rc = parex_db_open(&db, &err, argv[1], NULL);
    if (rc != PAREX_OK) {
        fprintf(stderr, "open: %s\n", err.message);
        return 1;
    }
    parex_account_key(kv.key, alice);
    parex_account_encode(acct_val, 1000, 0);
    kv.value = acct_val;
    kv.value_len = sizeof(acct_val);
    /* Chain id 1, recorded in the store: a later open can require it
     * (parex_db_options.chain_id) and an engine of another chain is
     * refused. */
    if (parex_db_genesis_chain(db, &genesis, 1, &kv, 1, bob) != PAREX_OK ||
        parex_engine_create(&e, db, NULL) != PAREX_OK ||
        parex_engine_register(e, 1000, note_program, NULL) != PAREX_OK) {
        goto out;
    }

    /* tx 0: alice pays bob 250 (fee 1); tx 1: alice writes a note. */
    memset(txs, 0, sizeof(txs));
    parex_transfer_args(transfer, bob, 250);
    txs[0].chain_id = 1;
    txs[0].nonce = 0;
    txs[0].fee = 1;
    txs[0].program = PAREX_PROGRAM_TRANSFER;
    txs[0].args = transfer;
    txs[0].args_len = sizeof(transfer);
    txs[1].chain_id = 1;
    txs[1].nonce = 1;
    txs[1].fee = 1;
    txs[1].program = 1000;
    txs[1].args = (const uint8_t *)"hello";
    txs[1].args_len = 5;
    if (parex_tx_sign(&txs[0], alice_sec) != PAREX_OK ||
        parex_tx_sign(&txs[1], alice_sec) != PAREX_OK) {
        goto out;
    }
    memset(&head, 0, sizeof(head));
    head.height = 1;
    parex_header_hash(head.parent, &genesis);
    memcpy(head.fee_recipient, bob, 32);
    if (parex_block_encode(block, &len, &head, txs, 2) != PAREX_OK) {
        goto out;
    }
    rc = parex_engine_execute(e, &head, receipts, 2, NULL, &err, block, len,
        PAREX_EXEC_COMMIT);
    if (rc != PAREX_OK) {
        fprintf(stderr, "execute: %s\n", err.message);
        goto out;
    }
    parex_sha256(note_key, "note", 4);
    if (parex_db_get(db, buf, &vlen, note_key) != PAREX_OK || vlen != 5 ||
        memcmp(buf, "hello", 5) != 0) {
        fprintf(stderr, "note not stored\n");
        goto out;
    }
    {
        uint64_t bal, nonce;
        uint8_t k[32];
        vlen = sizeof(buf);
        parex_account_key(k, bob);
        if (parex_db_get(db, buf, &vlen, k) != PAREX_OK ||
            parex_account_decode(&bal, &nonce, buf, vlen) != PAREX_OK ||
            bal != 252) { /* 250 received + 2 in fees */
            fprintf(stderr, "bob's balance is wrong\n");
            goto out;
        }
    }
    /* A read transaction: one snapshot. The values are borrowed from
     * LMDB's map, valid until parex_read_end(); no copy, no buffer size
     * to guess. Blocks committed meanwhile (by another thread) would not
     * show: the head, the values, the block and the receipt below are
     * all of one height. */
    {
        parex_read *r = NULL;
        parex_header h;
        parex_receipt rc1;
        const uint8_t *note, *stored;
        size_t note_len, stored_len, ntx;
        uint64_t at = 0;
        uint32_t index = 0;
        uint8_t txid[32];
        int ok;

        if (parex_read_begin(&r, db) != PAREX_OK) {
            goto out;
        }
        ok = parex_read_head(r, &h) == PAREX_OK && h.height == 1 &&
            parex_read_get(r, &note, &note_len, note_key) == PAREX_OK &&
            note_len == 5 && memcmp(note, "hello", 5) == 0 &&
            parex_read_block(r, &stored, &stored_len, h.height) == PAREX_OK &&
            parex_block_peek(&head, &ntx, NULL, stored, stored_len, NULL) ==
                PAREX_OK && ntx == 2 &&
            parex_tx_id(txid, &txs[1]) == PAREX_OK &&
            parex_read_receipt(r, &rc1, &at, &index, txid) == PAREX_OK &&
            at == 1 && index == 1 && rc1.status == PAREX_TX_SUCCESS;
        parex_read_end(r); /* note and stored die here */
        if (!ok) {
            fprintf(stderr, "read transaction: unexpected contents\n");
            goto out;
        }
    }
    printf("height %llu, statuses %u %u, bob 252, state verifies: %s\n",
        (unsigned long long)head.height, receipts[0].status,
        receipts[1].status,
        parex_db_verify(db, NULL) == PAREX_OK ? "yes" : "no");
    status = receipts[0].status == PAREX_TX_SUCCESS &&
            receipts[1].status == PAREX_TX_SUCCESS
        ? 0 : 1;
out:
    parex_engine_destroy(e);
    parex_db_close(db);
    return status;
}
