/* LtHash (Lewi et al. 2019, n = 1024 lanes, d = 16 bits): the state root
 * is a sum over all (key, value) pairs of element(key, value), so a block
 * updates it with one subtraction and one addition per written key instead
 * of rehashing the state.
 *
 * element(key, val) = the first 2048 bytes of the ChaCha20 keystream (RFC
 * 8439: block counter 0, nonce 0) under the key
 * TaggedHash("parex/lthash", key || u32le(len) || val), read as 1024
 * little-endian u16 lanes.
 *
 * Why not an extendable-output hash such as SHAKE128: LtHash needs its
 * element expansion to behave as a random oracle, and a 256-bit hash
 * feeding a PRF with a fixed input is the standard construction; ChaCha20
 * produces the 2048 bytes about four times faster than SHAKE128's 13
 * Keccak permutations, and px__lthash_mix runs twice per written key, so
 * it dominated the state-root stage.
 *
 * It allocates nothing in steady state: each thread keeps one
 * EVP_CIPHER_CTX (pthread key, freed at thread exit), set up for ChaCha20
 * once and given only the new key and IV per call: a re-init that names
 * the cipher again sets the whole context up anew, 130-190 ns of the
 * 500-820 ns an element costs (this 2-core VM), twice per written key.
 *
 * As in hash.c, OpenSSL can fail here only on allocation failure or a
 * broken installation. A wrong element would silently corrupt the state
 * root and the library must not abort, so px__lthash_mix reports the
 * failure and its callers fail the operation (PAREX_E_NOMEM, nothing
 * committed).
 */
#include "crypto_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define ELEM_BYTES (2 * PX_LTHASH_LANES)
/* One ChaCha20 keystream of whole 64-byte blocks fills every u16 lane. */
_Static_assert(ELEM_BYTES % 64 == 0, "lanes fill whole ChaCha20 blocks");

static pthread_once_t chacha_once = PTHREAD_ONCE_INIT;
static EVP_CIPHER *chacha; /* NULL if set-up failed */
static pthread_key_t chacha_key;
static const uint8_t zeros[ELEM_BYTES];

static void chacha_ctx_free(void *p)
{
    EVP_CIPHER_CTX_free(p);
}

static void chacha_init(void)
{
    EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);

    if (c == NULL) {
        return;
    }
    if (pthread_key_create(&chacha_key, chacha_ctx_free) != 0) {
        EVP_CIPHER_free(c);
        return;
    }
    chacha = c;
}

/* The calling thread's ChaCha20 context, or NULL if none can be had. */
static EVP_CIPHER_CTX *chacha_ctx(void)
{
    EVP_CIPHER_CTX *c;

    pthread_once(&chacha_once, chacha_init);
    if (chacha == NULL || px__crypto_test_failing()) {
        return NULL;
    }
    c = pthread_getspecific(chacha_key);
    if (c == NULL) {
        c = EVP_CIPHER_CTX_new();
        if (c == NULL) {
            return NULL;
        }
        if (EVP_EncryptInit_ex2(c, chacha, NULL, NULL, NULL) != 1 ||
            pthread_setspecific(chacha_key, c) != 0) {
            EVP_CIPHER_CTX_free(c);
            return NULL;
        }
    }
    return c;
}

static int element(uint8_t out[ELEM_BYTES], const uint8_t key[32],
    const uint8_t *val, size_t len)
{
    EVP_CIPHER_CTX *c = chacha_ctx();
    /* OpenSSL's ChaCha20 IV: u32le block counter || 96-bit nonce. */
    static const uint8_t iv[16];
    uint8_t head[36], k[32];
    int n = 0;

    if (c == NULL) {
        return -1;
    }
    /* Values are bounded far below 4 GiB by parex_limits.max_value_bytes;
     * the length field only has to make the encoding prefix-free. */
    PAREX_ASSERT(len <= UINT32_MAX && (len == 0 || val != NULL));
    memcpy(head, key, 32);
    head[32] = (uint8_t)len;
    head[33] = (uint8_t)(len >> 8);
    head[34] = (uint8_t)(len >> 16);
    head[35] = (uint8_t)(len >> 24);
    px__tagged_hash(k, "parex/lthash", head, sizeof head, val, len);
    if (EVP_EncryptInit_ex2(c, NULL, k, iv, NULL) != 1 ||
        EVP_EncryptUpdate(c, out, &n, zeros, ELEM_BYTES) != 1 ||
        PAREX_NEVER(n != ELEM_BYTES)) {
        return -1;
    }
    return 0;
}

void px__lthash_zero(px__lthash *h)
{
    memset(h->lanes, 0, sizeof h->lanes);
}

int px__lthash_mix(px__lthash *acc, const uint8_t key[32],
    const uint8_t *val, size_t len, int sign)
{
    /* The element is ChaCha20's keystream, written straight into u16
     * lanes: on a little-endian machine its bytes are the lanes already,
     * and the adds below are plain vector adds (assembling each lane from
     * two bytes made them unpacks and shifts: session 13). */
    uint16_t e[PX_LTHASH_LANES];
    size_t i;

    PAREX_ASSERT(sign >= -1 && sign <= 1);
    if (sign == 0) {
        return 0;
    }
    if (element((uint8_t *)e, key, val, len) != 0) {
        return -1;
    }
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
    for (i = 0; i < PX_LTHASH_LANES; i++) {
        const uint8_t *b = (const uint8_t *)&e[i];
        e[i] = (uint16_t)(b[0] | (b[1] << 8));
    }
#endif
    /* Lanes are u16 and C arithmetic on them is mod 2^16 after the cast,
     * which is exactly the group operation. */
    if (sign > 0) {
        for (i = 0; i < PX_LTHASH_LANES; i++) {
            acc->lanes[i] = (uint16_t)(acc->lanes[i] + e[i]);
        }
    } else {
        for (i = 0; i < PX_LTHASH_LANES; i++) {
            acc->lanes[i] = (uint16_t)(acc->lanes[i] - e[i]);
        }
    }
    return 0;
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
