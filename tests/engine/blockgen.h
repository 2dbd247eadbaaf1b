/* Random block generator for engine tests: signed transfers and "kv"
 * transactions over a small key universe, with exact, missing, extra and
 * wrong declarations. Deterministic for a seed. */
#ifndef PX_BLOCKGEN_H
#define PX_BLOCKGEN_H

#include <stddef.h>
#include <stdint.h>

#include "parex/parex.h"
#include "testutil.h"

/* Test program id of the kv program (registered by bg_register). */
#define BG_PROGRAM_KV 300

typedef struct bg_world {
    size_t n_senders;
    uint8_t (*sec)[32];
    uint8_t (*pub)[32];
    uint64_t *nonce;        /* next nonce per sender, as committed */
    size_t n_keys;          /* kv key universe size */
    uint8_t fee_recipient[32];
    uint32_t chain_id;
} bg_world;

/* Block-level corruption to inject. */
enum {
    BG_VALID = 0,
    BG_BAD_NONCE,
    BG_BAD_SIG,
    BG_FEE,
    BG_CHAIN,
    BG_KINDS
};

void bg_world_init(bg_world *w, size_t n_senders, size_t n_keys);
void bg_world_finish(bg_world *w);
/** Genesis pairs: every sender funded with `balance`. Caller frees *kvs
 *  and the values with bg_genesis_free. */
void bg_genesis(const bg_world *w, parex_kv **kvs, size_t *n,
    uint64_t balance);
void bg_genesis_free(parex_kv *kvs, size_t n);
/** Key i of the kv universe. */
void bg_key(uint8_t out[32], size_t i);

/** Build a random block on top of parent (height+1). `contention` in
 *  [0,1]: probability a key is drawn from a tiny hot subset. `decl`:
 *  probability of wrong declarations per tx. `bad`: BG_* corruption.
 *  On return *nonces_used tells how many txs each sender got (to advance
 *  w->nonce if the block commits). Returns a malloc'd encoding. */
uint8_t *bg_block(bg_world *w, tu_rng *rng, const parex_header *parent,
    size_t n_txs, double contention, double decl, int bad, size_t *len,
    uint64_t *nonces_used, int64_t *bad_index);

/** Register the kv program on an engine. */
int bg_register(parex_engine *e);

#endif
