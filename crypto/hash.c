/* SHA-256 (FIPS 180-4) and BIP-340 tagged hashes on OpenSSL 3 EVP.
 *
 * Hashing sits on the hot path (tx ids, signature hashes, account keys), so
 * the per-call cost is kept small:
 *  - the EVP_MD is fetched once (EVP_MD_fetch is a locked provider lookup);
 *  - every known tag has a context with SHA-256(tag) || SHA-256(tag)
 *    already absorbed, prepared once and read-only afterwards, so a tagged
 *    hash costs one EVP_MD_CTX_copy_ex instead of an extra compression;
 *  - each thread reuses one scratch EVP_MD_CTX (pthread key, freed at
 *    thread exit), so px__sha256_once allocates nothing in steady state.
 *
 * The void functions have no way to report failure. OpenSSL can fail here
 * only on allocation failure or a broken installation, never because of the
 * data hashed, and a made-up digest would silently corrupt consensus state,
 * so those paths end in crypto_fail() (abort).
 */
#include "crypto_int.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Tags with a prepared prefix context. Any other tag still works, it only
 * pays for hashing the tag on every call. */
static const char *const known_tags[] = {
    "parex/sighash", "parex/txid", "parex/account", "parex/block",
    "parex/stateroot", "parex/keygen", "parex/txroot", "parex/receiptsroot",
    "parex/lthash",
};
#define N_TAGS (sizeof(known_tags) / sizeof(known_tags[0]))

static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;           /* NULL if set-up failed */
static EVP_MD_CTX *tag_ctx[N_TAGS]; /* read-only after hash_init() */
static pthread_key_t scratch_key;
static int scratch_key_ok;

_Noreturn static void crypto_fail(void)
{
    abort();
}

static void scratch_free(void *p)
{
    EVP_MD_CTX_free(p);
}

/* SHA-256 of data with a context the caller owns; 0 or -1. */
static int digest_with(EVP_MD_CTX *c, uint8_t out[32], const void *data,
    size_t len)
{
    if (EVP_DigestInit_ex2(c, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(c, data, len) != 1 ||
        EVP_DigestFinal_ex(c, out, NULL) != 1) {
        return -1;
    }
    return 0;
}

static int prefix_ctx(EVP_MD_CTX *c, const char *tag)
{
    uint8_t th[32];

    if (digest_with(c, th, tag, strlen(tag)) != 0 ||
        EVP_DigestInit_ex2(c, sha256_md, NULL) != 1 ||
        EVP_DigestUpdate(c, th, sizeof th) != 1 ||
        EVP_DigestUpdate(c, th, sizeof th) != 1) {
        return -1;
    }
    return 0;
}

static void hash_init(void)
{
    size_t i;
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);

    if (md == NULL) {
        return;
    }
    sha256_md = md;
    for (i = 0; i < N_TAGS; i++) {
        tag_ctx[i] = EVP_MD_CTX_new();
        if (tag_ctx[i] == NULL || prefix_ctx(tag_ctx[i], known_tags[i]) != 0) {
            goto err_tags;
        }
    }
    if (pthread_key_create(&scratch_key, scratch_free) != 0) {
        goto err_tags;
    }
    scratch_key_ok = 1;
    return;

err_tags:
    for (i = 0; i < N_TAGS; i++) {
        EVP_MD_CTX_free(tag_ctx[i]);
        tag_ctx[i] = NULL;
    }
    EVP_MD_free(md);
    sha256_md = NULL;
}

/* The calling thread's scratch context, or NULL (set-up or allocation
 * failed). Not reentrant: callers finish with it before calling back in. */
static EVP_MD_CTX *scratch(void)
{
    EVP_MD_CTX *c;

    pthread_once(&hash_once, hash_init);
    if (!scratch_key_ok) {
        return NULL;
    }
    c = pthread_getspecific(scratch_key);
    if (c == NULL) {
        c = EVP_MD_CTX_new();
        if (c == NULL) {
            return NULL;
        }
        if (pthread_setspecific(scratch_key, c) != 0) {
            EVP_MD_CTX_free(c);
            return NULL;
        }
    }
    return c;
}

int px__sha256_init(px__sha256 *h)
{
    EVP_MD_CTX *c;

    h->md = NULL;
    pthread_once(&hash_once, hash_init);
    if (sha256_md == NULL) {
        return -1;
    }
    c = EVP_MD_CTX_new();
    if (c == NULL) {
        return -1;
    }
    if (EVP_DigestInit_ex2(c, sha256_md, NULL) != 1) {
        EVP_MD_CTX_free(c);
        return -1;
    }
    h->md = c;
    return 0;
}

void px__sha256_update(px__sha256 *h, const void *data, size_t len)
{
    /* SHA-256 update cannot fail on an initialised provider context. */
    if (EVP_DigestUpdate(h->md, data, len) != 1) {
        crypto_fail();
    }
}

void px__sha256_final(px__sha256 *h, uint8_t out[32])
{
    if (EVP_DigestFinal_ex(h->md, out, NULL) != 1) {
        crypto_fail();
    }
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
}

void px__sha256_discard(px__sha256 *h)
{
    EVP_MD_CTX_free(h->md);
    h->md = NULL;
}

void px__sha256_once(uint8_t out[32], const void *data, size_t len)
{
    EVP_MD_CTX *c = scratch();

    if (c == NULL || digest_with(c, out, data, len) != 0) {
        crypto_fail();
    }
}

void px__tagged_hash(uint8_t out[32], const char *tag, const void *a,
    size_t alen, const void *b, size_t blen)
{
    EVP_MD_CTX *c = scratch();
    size_t i;
    int ok;

    if (c == NULL) {
        crypto_fail();
    }
    for (i = 0; i < N_TAGS; i++) {
        if (strcmp(tag, known_tags[i]) == 0) {
            break;
        }
    }
    if (i < N_TAGS) {
        ok = EVP_MD_CTX_copy_ex(c, tag_ctx[i]) == 1;
    } else {
        ok = prefix_ctx(c, tag) == 0;
    }
    /* EVP_DigestUpdate with a zero count returns 1 without reading, so a
     * NULL b with blen 0 is fine. */
    if (!ok || EVP_DigestUpdate(c, a, alen) != 1 ||
        EVP_DigestUpdate(c, b, blen) != 1 ||
        EVP_DigestFinal_ex(c, out, NULL) != 1) {
        crypto_fail();
    }
}
