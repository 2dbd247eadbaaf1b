/* Deterministic signers: keypairs derived from seeds, cached per process. */
#include "node.h"

#include <stdlib.h>
#include <string.h>

typedef struct signer {
    uint8_t sec[32];
    uint8_t pub[32];
} signer;

/* Signer i of trace import is the same for every file, so deriving each
 * key once serves every trace of a run. Only the main thread calls this. */
static signer *cache;
static size_t cache_n;

void node_key_from_str(uint8_t sec[32], uint8_t pub[32], const char *seed)
{
    int rc = parex_key_from_seed(sec, pub, (const uint8_t *)seed,
        strlen(seed));

    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "parex_key_from_seed(\"%s\"): %s", seed,
            parex_strerror(rc));
    }
}

void node_trace_signer(const uint8_t **sec, const uint8_t **pub, uint64_t i)
{
    static const char tag[] = "parex-trace-signer";

    if (i >= cache_n) {
        size_t n = cache_n == 0 ? 1024 : cache_n;
        size_t j;
        while (n <= i) {
            n *= 2;
        }
        cache = node_realloc(cache, n * sizeof(*cache));
        for (j = cache_n; j < n; j++) {
            uint8_t seed[sizeof(tag) - 1 + 8];
            int rc;
            memcpy(seed, tag, sizeof(tag) - 1);
            node_put_u64le(seed + sizeof(tag) - 1, (uint64_t)j);
            rc = parex_key_from_seed(cache[j].sec, cache[j].pub, seed,
                sizeof(seed));
            if (rc != PAREX_OK) {
                node_die(NODE_EXIT_RUNTIME, "parex_key_from_seed(signer "
                    "%zu): %s", j, parex_strerror(rc));
            }
        }
        cache_n = n;
    }
    *sec = cache[i].sec;
    *pub = cache[i].pub;
}

void node_trace_fee_recipient(uint8_t pub[32])
{
    uint8_t sec[32];

    node_key_from_str(sec, pub, "parex-trace-fee-recipient");
    memset(sec, 0, sizeof(sec));
}
