/* Small builders for hand-made chains in engine tests: named keys, signed
 * transactions, blocks on top of a header, a store with one funded sender
 * per name, and a digest of the full committed state. */
#ifndef PX_TXB_H
#define PX_TXB_H

#include <stddef.h>
#include <stdint.h>

#include "parex/parex.h"

/* The "fill" test program: args u32le count || u32le size || u32le salt.
 * Writes count keys SHA-256("fill" || salt || i) with values of size
 * bytes, byte j of value i being (salt + i + j) & 0xff. */
#define TXB_PROGRAM_FILL 400

/** Secret and public key derived from a name. */
void txb_keys(uint8_t sec[32], uint8_t pub[32], const char *name);
/** SHA-256 of a name: a state key. */
void txb_named_key(uint8_t out[32], const char *name);
/** Sign tx with sec (sets tx->sender). Aborts the test on failure. */
void txb_sign(parex_tx *tx, const uint8_t sec[32]);
/** Encode a block of n txs at parent->height + 1 with parent's hash and
 *  fee recipient; *len is its size; free() the result. */
uint8_t *txb_block(size_t *len, const parex_header *parent,
    const parex_tx *txs, size_t n);
/** Register TXB_PROGRAM_FILL on e. */
int txb_register(parex_engine *e);
/** args for the fill program (12 bytes). */
void txb_fill_args(uint8_t out[12], uint32_t count, uint32_t size,
    uint32_t salt);
/** SHA-256 over every committed (key, u64le length, value) in key order. */
void txb_state_digest(uint8_t out[32], const parex_db *db);

#endif
