/* BIP-340 Schnorr signatures on libsecp256k1 (>= 0.2).
 *
 * The only file that includes libsecp256k1's headers; no secp256k1_* type
 * leaves it. One context, created once, serves every thread: libsecp256k1
 * functions take it const, and only secp256k1_context_randomize (never
 * called here) would write to it.
 */
#include "crypto_int.h"

#include <pthread.h>
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
    if (!secp256k1_xonly_pubkey_parse(c, &pk, pub)) {
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
