/* LtHash (Lewi et al. 2019, n = 1024 lanes, d = 16 bits): the state root
 * is a sum over all (key, value) pairs of element(key, value), so a block
 * updates it with one subtraction and one addition per written key instead
 * of rehashing the state.
 *
 * element(key, val) = SHAKE128("parex/lthash" || key || u32le(len) || val)
 * squeezed to 2048 bytes and read as 1024 little-endian u16 lanes.
 *
 * px__lthash_mix is called twice per written key, so it allocates nothing
 * in steady state: each thread keeps one SHAKE128 EVP_MD_CTX (pthread key,
 * freed at thread exit) and re-initialises it per call, which OpenSSL does
 * in place when the digest is unchanged. The squeeze (14 Keccak-f[1600]
 * permutations) dominates the cost; the lane arithmetic vectorises.
 *
 * As in hash.c, OpenSSL can fail here only on allocation failure or a
 * broken installation, and a wrong element would silently corrupt the state
 * root, so those paths abort (the functions return void).
 */
#include "crypto_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ELEM_BYTES (2 * PX_LTHASH_LANES)

static const char lthash_domain[] = "parex/lthash";

static pthread_once_t shake_once = PTHREAD_ONCE_INIT;
static EVP_MD *shake_md; /* NULL if set-up failed */
static pthread_key_t shake_key;

_Noreturn static void crypto_fail(void)
{
    abort();
}

static void shake_ctx_free(void *p)
{
    EVP_MD_CTX_free(p);
}

static void shake_init(void)
{
    EVP_MD *md = EVP_MD_fetch(NULL, "SHAKE128", NULL);

    if (md == NULL) {
        return;
    }
    if (pthread_key_create(&shake_key, shake_ctx_free) != 0) {
        EVP_MD_free(md);
        return;
    }
    shake_md = md;
}

/* The calling thread's SHAKE128 context; aborts if none can be had. */
static EVP_MD_CTX *shake_ctx(void)
{
    EVP_MD_CTX *c;

    pthread_once(&shake_once, shake_init);
    if (shake_md == NULL) {
        crypto_fail();
    }
    c = pthread_getspecific(shake_key);
    if (c == NULL) {
        c = EVP_MD_CTX_new();
        if (c == NULL || pthread_setspecific(shake_key, c) != 0) {
            crypto_fail();
        }
    }
    return c;
}

static void element(uint8_t out[ELEM_BYTES], const uint8_t key[32],
    const uint8_t *val, size_t len)
{
    EVP_MD_CTX *c = shake_ctx();
    uint8_t lenle[4];

    /* Values are bounded far below 4 GiB by parex_limits.max_value_bytes;
     * the length field only has to make the encoding prefix-free. */
    lenle[0] = (uint8_t)len;
    lenle[1] = (uint8_t)(len >> 8);
    lenle[2] = (uint8_t)(len >> 16);
    lenle[3] = (uint8_t)(len >> 24);
    if (EVP_DigestInit_ex2(c, shake_md, NULL) != 1 ||
        EVP_DigestUpdate(c, lthash_domain, sizeof lthash_domain - 1) != 1 ||
        EVP_DigestUpdate(c, key, 32) != 1 ||
        EVP_DigestUpdate(c, lenle, sizeof lenle) != 1 ||
        EVP_DigestUpdate(c, val, len) != 1 ||
        EVP_DigestFinalXOF(c, out, ELEM_BYTES) != 1) {
        crypto_fail();
    }
}

void px__lthash_zero(px__lthash *h)
{
    memset(h->lanes, 0, sizeof h->lanes);
}

void px__lthash_mix(px__lthash *acc, const uint8_t key[32],
    const uint8_t *val, size_t len, int sign)
{
    uint8_t e[ELEM_BYTES];
    size_t i;

    if (sign == 0) {
        return;
    }
    element(e, key, val, len);
    /* Lanes are u16 and C arithmetic on them is mod 2^16 after the cast,
     * which is exactly the group operation. */
    if (sign > 0) {
        for (i = 0; i < PX_LTHASH_LANES; i++) {
            uint16_t v = (uint16_t)(e[2 * i] | (e[2 * i + 1] << 8));
            acc->lanes[i] = (uint16_t)(acc->lanes[i] + v);
        }
    } else {
        for (i = 0; i < PX_LTHASH_LANES; i++) {
            uint16_t v = (uint16_t)(e[2 * i] | (e[2 * i + 1] << 8));
            acc->lanes[i] = (uint16_t)(acc->lanes[i] - v);
        }
    }
}

void px__lthash_add(px__lthash *acc, const px__lthash *other)
{
    size_t i;

    for (i = 0; i < PX_LTHASH_LANES; i++) {
        acc->lanes[i] = (uint16_t)(acc->lanes[i] + other->lanes[i]);
    }
}

void px__lthash_store(uint8_t out[2 * PX_LTHASH_LANES], const px__lthash *h)
{
    size_t i;

    for (i = 0; i < PX_LTHASH_LANES; i++) {
        out[2 * i] = (uint8_t)h->lanes[i];
        out[2 * i + 1] = (uint8_t)(h->lanes[i] >> 8);
    }
}

void px__lthash_load(px__lthash *h, const uint8_t in[2 * PX_LTHASH_LANES])
{
    size_t i;

    for (i = 0; i < PX_LTHASH_LANES; i++) {
        h->lanes[i] = (uint16_t)(in[2 * i] | (in[2 * i + 1] << 8));
    }
}

void px__lthash_root(uint8_t out[32], const px__lthash *h)
{
    uint8_t buf[ELEM_BYTES];

    px__lthash_store(buf, h);
    px__tagged_hash(out, "parex/stateroot", buf, sizeof buf, NULL, 0);
}
