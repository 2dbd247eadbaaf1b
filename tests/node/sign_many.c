/* sign-many SEED FIRST N NONCE COUNT AMOUNT FEE CHAIN [ARGS_BYTES]:
 * print, one per line, the hex of signed transfers from the senders of
 * seeds SEED-FIRST .. SEED-(FIRST+N-1) (parex_key_from_seed, as `parex
 * keygen --seed` and `parex load` name them), COUNT for each with nonces
 * NONCE .. NONCE+COUNT-1, each paying AMOUNT to the account of seed
 * "SEED-to" with fee FEE. With ARGS_BYTES the args
 * are that many bytes instead of the 40 of a transfer (the tx still
 * decodes and is included; the transfer program fails it as bad args):
 * large txs for the response-size test. One process signs thousands of
 * txs for tests/node/hostile.py, which `parex tx transfer` would need a
 * process per sender for.
 *
 * With PAREX_SIGN_DISTINCT_TO=1 in the environment each tx pays its own
 * fresh account (seed "SEED-to-I-NONCE"): every tx adds a state entry, to
 * fill a small store.
 *
 * sign-many --txid HEX: print the tx id of a signed tx.
 * Exit 2 on usage errors. */
#include "formats/node.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_tx(const uint8_t sec[32], const uint8_t wkey[32],
    const uint8_t *args, uint64_t args_bytes, uint64_t nonce, uint64_t fee,
    uint64_t chain, uint8_t *buf, size_t cap)
{
    parex_tx tx;
    size_t len = cap;
    char *hex;

    memset(&tx, 0, sizeof(tx));
    tx.chain_id = (uint32_t)chain;
    tx.nonce = nonce;
    tx.fee = fee;
    tx.program = PAREX_PROGRAM_TRANSFER;
    tx.args = args;
    tx.args_len = (uint32_t)args_bytes;
    tx.write_set = wkey;
    tx.n_write = 1;
    if (parex_tx_sign(&tx, sec) != PAREX_OK ||
        parex_tx_encode(buf, &len, &tx) != PAREX_OK) {
        return -1;
    }
    hex = node_malloc(2 * len + 1);
    node_hex(hex, buf, len);
    puts(hex);
    free(hex);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t first, n, nonce, count, amount, fee, chain, args_bytes = 40;
    uint64_t i, j;
    uint8_t sec[32], pub[32], tsec[32], tpub[32], wkey[32];
    uint8_t *args, *buf;
    char seed[300];
    size_t cap;
    const char *dv = getenv("PAREX_SIGN_DISTINCT_TO");
    int distinct = dv != NULL && strcmp(dv, "1") == 0;

    if (argc == 3 && strcmp(argv[1], "--txid") == 0) {
        size_t hl = strlen(argv[2]);
        uint8_t id[32];
        char hex[65];
        parex_tx tx;
        buf = node_malloc(hl / 2 + 1);
        if (node_unhex(buf, argv[2], hl) < 0 ||
            parex_tx_decode(&tx, NULL, buf, hl / 2, NULL) != PAREX_OK ||
            parex_tx_id(id, &tx) != PAREX_OK) {
            fprintf(stderr, "sign-many: not a tx\n");
            return 1;
        }
        node_hex(hex, id, 32);
        puts(hex);
        free(buf);
        return 0;
    }
    if (argc < 9 || argc > 10 || strlen(argv[1]) > 200 ||
        node_parse_u64(&first, argv[2]) != 0 ||
        node_parse_u64(&n, argv[3]) != 0 ||
        node_parse_u64(&nonce, argv[4]) != 0 ||
        node_parse_u64(&count, argv[5]) != 0 ||
        node_parse_u64(&amount, argv[6]) != 0 ||
        node_parse_u64(&fee, argv[7]) != 0 ||
        node_parse_u64(&chain, argv[8]) != 0 || chain > UINT32_MAX ||
        (argc == 10 && (node_parse_u64(&args_bytes, argv[9]) != 0 ||
                        args_bytes < 40 || args_bytes > (1u << 20)))) {
        fprintf(stderr, "usage: sign-many SEED FIRST N NONCE COUNT AMOUNT "
            "FEE CHAIN [ARGS_BYTES 40..1048576]\n");
        return 2;
    }
    snprintf(seed, sizeof(seed), "%s-to", argv[1]);
    node_key_from_str(tsec, tpub, seed);
    parex_account_key(wkey, tpub);
    args = node_calloc(1, (size_t)args_bytes);
    parex_transfer_args(args, tpub, amount);
    cap = PAREX_TX_MIN_BYTES + (size_t)args_bytes + 64;
    buf = node_malloc(cap);
    for (i = first; i < first + n; i++) {
        snprintf(seed, sizeof(seed), "%s-%llu", argv[1],
            (unsigned long long)i);
        node_key_from_str(sec, pub, seed);
        for (j = 0; j < count; j++) {
            if (distinct) {
                char ts[300];
                snprintf(ts, sizeof(ts), "%s-to-%llu-%llu", argv[1],
                    (unsigned long long)i, (unsigned long long)(nonce + j));
                node_key_from_str(tsec, tpub, ts);
                parex_account_key(wkey, tpub);
                parex_transfer_args(args, tpub, amount);
            }
            if (print_tx(sec, wkey, args, args_bytes, nonce + j, fee,
                    chain, buf, cap) != 0) {
                fprintf(stderr, "sign-many: cannot sign for %s\n", seed);
                return 1;
            }
        }
    }
    free(args);
    free(buf);
    return 0;
}
