/* BIP-340 Schnorr signatures on libsecp256k1 (>= 0.2).
 *
 * The only file that includes libsecp256k1's headers; no secp256k1_* type
 * leaves it. One context, created once, serves every thread: libsecp256k1
 * functions take it const, and only secp256k1_context_randomize (never
 * called here) would write to it.
 */
#include "crypto_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static secp256k1_context *ctx; /* NULL if creation failed */

/* explicit_bzero is not in POSIX.1-2008. A memset reached through a
 * volatile function pointer cannot be proved dead by the compiler, so the
 * store survives even though the buffer is never read again. */
static void *(*const volatile wipe_fn)(void *, int, size_t) = memset;

static void wipe(void *p, size_t n)
{
    wipe_fn(p, 0, n);
}

static void ctx_init(void)
{
    /* SECP256K1_CONTEXT_NONE gives a context for signing and verification
     * (the sign/verify flags are deprecated aliases of it since 0.2). */
    ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
}

static const secp256k1_context *get_ctx(void)
{
    pthread_once(&ctx_once, ctx_init);
    return ctx;
}

/* Parsed x-only keys, per thread. Parsing lifts x to a curve point: a
 * square root mod p, about 7% of a verification (perf, session 6), paid
 * again for every tx of a sender that signs many. The parsed form is a
 * pure function of the 32 bytes (libsecp256k1 documents
 * secp256k1_xonly_pubkey as safe to copy), so a cached one verifies
 * exactly as a fresh parse: every signature is still checked in full.
 * One cache per thread (the engine's verify workers and the node's
 * request threads live long): no lock on the verify path. Bounded:
 * PK_SETS sets of PK_WAYS keys, least recently used out; keys that fail
 * to parse are not cached (they cost a parse each time, as before). The
 * set is picked by the key's first bytes: keys are chosen by their
 * owners, so a crafted set of colliding keys can only make its own
 * lookups miss, which costs what no cache costs. */
#define PK_SETS PX_SCHNORR_CACHE_SETS
#define PK_WAYS PX_SCHNORR_CACHE_WAYS

typedef struct pk_entry {
    uint8_t key[32];
    secp256k1_xonly_pubkey pk;
} pk_entry;

typedef struct pk_cache {
    pk_entry e[PK_SETS][PK_WAYS];
    uint8_t used[PK_SETS]; /* ways filled in each set, 0..PK_WAYS */
    uint64_t hits, misses;
} pk_cache;

static pthread_once_t pk_once = PTHREAD_ONCE_INIT;
static pthread_key_t pk_key;
static int pk_key_ok;

static void pk_init(void)
{
    pk_key_ok = pthread_key_create(&pk_key, free) == 0;
}

/* The calling thread's cache, or NULL when none can be had (then every
 * verification parses, as without a cache). */
static pk_cache *pk_cache_get(void)
{
    pk_cache *pc;

    pthread_once(&pk_once, pk_init);
    if (!pk_key_ok) {
        return NULL;
    }
    pc = pthread_getspecific(pk_key);
    if (pc == NULL) {
        pc = calloc(1, sizeof *pc);
        if (pc == NULL) {
            return NULL;
        }
        if (pthread_setspecific(pk_key, pc) != 0) {
            free(pc);
            return NULL;
        }
    }
    return pc;
}

/* Parses pub into *pk through the cache. Returns 1, or 0 if pub is not a
 * valid x-only key. */
static int pk_parse(const secp256k1_context *c, secp256k1_xonly_pubkey *pk,
    const uint8_t pub[32])
{
    pk_cache *pc = pk_cache_get();
    pk_entry *set, hit;
    unsigned s, i, n;

    if (pc == NULL) {
        return secp256k1_xonly_pubkey_parse(c, pk, pub);
    }
    s = ((unsigned)pub[0] | (unsigned)pub[1] << 8) % PK_SETS;
    set = pc->e[s];
    n = pc->used[s];
    for (i = 0; i < n; i++) {
        if (memcmp(set[i].key, pub, 32) == 0) {
            break;
        }
    }
    if (i < n) {
        pc->hits++;
        hit = set[i];
    } else {
        pc->misses++;
        if (!secp256k1_xonly_pubkey_parse(c, &hit.pk, pub)) {
            return 0;
        }
        memcpy(hit.key, pub, 32);
        if (n < PK_WAYS) {
            pc->used[s] = (uint8_t)++n;
        }
        i = n - 1; /* the last way: a free one, or the least recent */
    }
    /* Most recent first: ways 0..i-1 move down one. */
    memmove(&set[1], &set[0], i * sizeof set[0]);
    set[0] = hit;
    *pk = hit.pk;
    return 1;
}

void px__schnorr_cache_stats(uint64_t *hits, uint64_t *misses)
{
    pk_cache *pc = pk_cache_get();

    *hits = pc != NULL ? pc->hits : 0;
    *misses = pc != NULL ? pc->misses : 0;
}

int px__schnorr_verify(const uint8_t sig[64], const uint8_t msg[32],
    const uint8_t pub[32])
{
    const secp256k1_context *c = get_ctx();
    secp256k1_xonly_pubkey pk;

    if (c == NULL) {
        return 0;
    }
    /* An x coordinate that is >= p or not on the curve fails to parse:
     * BIP-340 calls that a failed verification, not an error. */
    if (!pk_parse(c, &pk, pub)) {
        return 0;
    }
    return secp256k1_schnorrsig_verify(c, sig, msg, 32, &pk) == 1;
}

int px__schnorr_sign(uint8_t sig[64], uint8_t pub[32], const uint8_t msg[32],
    const uint8_t seckey[32])
{
    const secp256k1_context *c = get_ctx();
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    int ret = -1;

    if (c == NULL) {
        return -1;
    }
    if (!secp256k1_keypair_create(c, &kp, seckey)) {
        goto err_wipe;
    }
    /* aux_rand32 = NULL is treated as 32 zero bytes: signatures are a
     * deterministic function of (key, msg), which block builders and tests
     * rely on. libsecp256k1 does not re-verify the signature (BIP-340's
     * fault-attack counter-measure); signing is off the consensus path. */
    if (!secp256k1_schnorrsig_sign32(c, sig, msg, &kp, NULL)) {
        goto err_wipe;
    }
    if (pub != NULL) {
        if (!secp256k1_keypair_xonly_pub(c, &xpk, NULL, &kp) ||
            !secp256k1_xonly_pubkey_serialize(c, pub, &xpk)) {
            goto err_wipe;
        }
    }
    ret = 0;

err_wipe:
    wipe(&kp, sizeof kp);
    return ret;
}

int px__pubkey(uint8_t pub[32], const uint8_t seckey[32])
{
    const secp256k1_context *c = get_ctx();
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    int ret = -1;

    if (c == NULL) {
        return -1;
    }
    if (!secp256k1_keypair_create(c, &kp, seckey)) {
        goto err_wipe;
    }
    if (!secp256k1_keypair_xonly_pub(c, &xpk, NULL, &kp) ||
        !secp256k1_xonly_pubkey_serialize(c, pub, &xpk)) {
        goto err_wipe;
    }
    ret = 0;

err_wipe:
    wipe(&kp, sizeof kp);
    return ret;
}

int px__seckey_valid(const uint8_t seckey[32])
{
    const secp256k1_context *c = get_ctx();

    if (c == NULL) {
        return 0;
    }
    return secp256k1_ec_seckey_verify(c, seckey) == 1;
}
