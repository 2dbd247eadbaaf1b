/* SHA-256 (FIPS 180-4) and BIP-340 tagged hashes on OpenSSL 3 EVP.
 *
 * Hashing sits on the hot path (tx ids, signature hashes, account keys), so
 * the per-call cost is kept small:
 *  - the EVP_MD is fetched once (EVP_MD_fetch is a locked provider lookup);
 *  - every known tag has a SHA-256 state with SHA-256(tag) || SHA-256(tag)
 *    already absorbed, prepared once and read-only afterwards. A tagged
 *    hash copies that state, a plain struct on the stack, and finishes it
 *    with OpenSSL's low-level SHA256_Update/Final (the same assembly as
 *    EVP's): EVP_MD_CTX_copy_ex duplicates the provider's context with a
 *    malloc and frees the old one with a cleanse on every call, 110-145 ns
 *    against 63-72 ns for the struct (52 bytes hashed, this 2-core VM),
 *    and tagged hashes run several times per tx (account keys, LtHash
 *    elements, tx ids, signature hashes);
 *  - each thread reuses one scratch EVP_MD_CTX (pthread key, freed at
 *    thread exit), so px__sha256_once allocates nothing in steady state;
 *  - each thread also keeps one incremental context (a second key): an
 *    init takes it, a final or discard gives it back, so the incremental
 *    hash (the trace program's, once per tx) allocates nothing in steady
 *    state either (EVP_MD_CTX_new and _free cost about 170 ns, more with
 *    two cores allocating, against ~140 ns for the reset).
 *
 * OpenSSL can fail here only on allocation failure or a broken
 * installation, never because of the data hashed. The library must not
 * abort, and a made-up digest would silently corrupt consensus state, so:
 *  - tagged hashes use only OpenSSL's low-level SHA256_Init/Update/Final,
 *    which work on a struct on the stack, allocate nothing and cannot
 *    fail; the one-shot hash (void too: it sits under void public
 *    functions such as parex_sha256 and parex_header_hash) falls back to
 *    them when EVP fails; the digest is the same (tests/crypto checks
 *    it);
 *  - the incremental hash reports failure from px__sha256_final.
 * Nothing is slower on the normal path: one relaxed atomic load of the
 * test hook per call.
 */
/* SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP,
 * but still built and maintained; they are the allocation-free path. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto_int.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
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
static SHA256_CTX tag_sha[N_TAGS];  /* read-only after hash_init() */
static pthread_key_t scratch_key;
static int scratch_key_ok;
static pthread_key_t incr_key;  /* the thread's spare incremental context */
static int incr_key_ok;

static atomic_int evp_fail;

void px__crypto_test_fail(int on)
{
    atomic_store(&evp_fail, on);
}

int px__crypto_test_failing(void)
{
    return atomic_load_explicit(&evp_fail, memory_order_relaxed);
}

/* TH(tag, a || b), or plain SHA-256(a || b) when tag is NULL, without EVP. */
static void fallback_hash(uint8_t out[32], const char *tag, const void *a,
    size_t alen, const void *b, size_t blen)
{
    SHA256_CTX c;
    uint8_t th[32];

    if (tag != NULL) {
        SHA256_Init(&c);
        SHA256_Update(&c, tag, strlen(tag));
        SHA256_Final(th, &c);
    }
    SHA256_Init(&c);
    if (tag != NULL) {
        SHA256_Update(&c, th, sizeof th);
        SHA256_Update(&c, th, sizeof th);
    }
    if (alen > 0) {
        SHA256_Update(&c, a, alen);
    }
    if (blen > 0) {
        SHA256_Update(&c, b, blen);
    }
    SHA256_Final(out, &c);
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

/* c: SHA-256 with SHA-256(tag) || SHA-256(tag) absorbed (BIP-340's
 * tagged-hash prefix). Cannot fail. */
static void tag_prefix(SHA256_CTX *c, const char *tag)
{
    uint8_t th[32];

    SHA256_Init(c);
    SHA256_Update(c, tag, strlen(tag));
    SHA256_Final(th, c);
    SHA256_Init(c);
    SHA256_Update(c, th, sizeof th);
    SHA256_Update(c, th, sizeof th);
}

static void hash_init(void)
{
    size_t i;
    EVP_MD *md;

    /* The tag states first: tagged hashes need nothing else, so they
     * work even where EVP cannot be set up. */
    for (i = 0; i < N_TAGS; i++) {
        tag_prefix(&tag_sha[i], known_tags[i]);
    }
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (md == NULL) {
        return;
    }
    if (pthread_key_create(&scratch_key, scratch_free) != 0) {
        EVP_MD_free(md);
        return;
    }
    sha256_md = md;
    scratch_key_ok = 1;
    incr_key_ok = pthread_key_create(&incr_key, scratch_free) == 0;
}

/* The calling thread's scratch context, or NULL (set-up or allocation
 * failed). Not reentrant: callers finish with it before calling back in. */
static EVP_MD_CTX *scratch(void)
{
    EVP_MD_CTX *c;

    pthread_once(&hash_once, hash_init);
    if (!scratch_key_ok || px__crypto_test_failing()) {
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
    h->failed = 0;
    pthread_once(&hash_once, hash_init);
    if (sha256_md == NULL || px__crypto_test_failing()) {
        return -1;
    }
    c = incr_key_ok ? pthread_getspecific(incr_key) : NULL;
    if (c != NULL) {
        /* Taken: a nested init on this thread allocates its own. */
        (void)pthread_setspecific(incr_key, NULL);
    } else {
        c = EVP_MD_CTX_new();
        if (c == NULL) {
            return -1;
        }
    }
    if (EVP_DigestInit_ex2(c, sha256_md, NULL) != 1) {
        EVP_MD_CTX_free(c);
        return -1;
    }
    h->md = c;
    return 0;
}

/* Keeps c as the calling thread's spare context when it has none, else
 * frees it. */
static void incr_release(EVP_MD_CTX *c)
{
    if (c == NULL) {
        return;
    }
    if (incr_key_ok && pthread_getspecific(incr_key) == NULL &&
        pthread_setspecific(incr_key, c) == 0) {
        return;
    }
    EVP_MD_CTX_free(c);
}

void px__sha256_update(px__sha256 *h, const void *data, size_t len)
{
    /* Only between a successful init and final or discard. */
    PAREX_ASSERT(h->md != NULL || h->failed);
    PAREX_ASSERT(len == 0 || data != NULL);
    if (!h->failed && (px__crypto_test_failing() ||
                          EVP_DigestUpdate(h->md, data, len) != 1)) {
        h->failed = 1;
    }
}

int px__sha256_final(px__sha256 *h, uint8_t out[32])
{
    int rc = 0;

    PAREX_ASSERT(h->md != NULL || h->failed);

    if (h->failed || EVP_DigestFinal_ex(h->md, out, NULL) != 1) {
        rc = -1;
    }
    incr_release(h->md);
    h->md = NULL;
    return rc;
}

void px__sha256_discard(px__sha256 *h)
{
    incr_release(h->md);
    h->md = NULL;
}

void px__sha256_once(uint8_t out[32], const void *data, size_t len)
{
    EVP_MD_CTX *c = scratch();

    if (c == NULL || digest_with(c, out, data, len) != 0) {
        fallback_hash(out, NULL, data, len, NULL, 0);
    }
}

void px__tagged_hash(uint8_t out[32], const char *tag, const void *a,
    size_t alen, const void *b, size_t blen)
{
    SHA256_CTX c;
    size_t i;

    pthread_once(&hash_once, hash_init);
    for (i = 0; i < N_TAGS; i++) {
        /* Callers pass the literals themselves: the pointer test mostly
         * settles it before strcmp. */
        if (tag == known_tags[i] || strcmp(tag, known_tags[i]) == 0) {
            break;
        }
    }
    if (i == N_TAGS) {
        fallback_hash(out, tag, a, alen, b, blen);
        return;
    }
    c = tag_sha[i];
    if (alen > 0) {
        SHA256_Update(&c, a, alen);
    }
    if (blen > 0) {
        SHA256_Update(&c, b, blen);
    }
    SHA256_Final(out, &c);
}
