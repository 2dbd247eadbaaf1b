/* SHA-256 (FIPS 180-4) and BIP-340 tagged hashes on OpenSSL's low-level
 * SHA-256 (SHA256_Init/Update/Final: the same assembly as EVP's).
 *
 * Hashing sits on the hot path (tx ids, signature hashes, account keys,
 * the trace program's per-tx digest and per-write hashes), so nothing here
 * allocates or takes a lock after the one-time set-up:
 *  - every known tag has a SHA-256 state with SHA-256(tag) || SHA-256(tag)
 *    already absorbed, prepared once and read-only afterwards; a tagged
 *    hash copies that state, a plain struct on the stack (EVP's
 *    EVP_MD_CTX_copy_ex mallocs and frees the provider's context on every
 *    call: 110-145 ns against 63-72 ns, 52 bytes, session 8's VM);
 *  - the one-shot and the incremental hash keep their SHA256_CTX on the
 *    caller's stack too. On OpenSSL 3, EVP_DigestInit_ex2 on a reused
 *    context still allocates the provider's digest state and the final
 *    cleanses and frees it: one malloc and free per hash. Without EVP
 *    (session 10's VM): 112 -> 93 ns for 64 bytes; the parallel
 *    executor on bitcoin/413567 379 M -> 342 M instructions (callgrind);
 *    the 50 shared trace blocks' execution 9-12 % faster on both
 *    executors.
 *
 * The low-level functions cannot fail. The incremental hash keeps its
 * error reporting (px__sha256_final), which the tests drive through the
 * failure hook, so that callers keep a checked path should another
 * backend come back. Nothing is slower on the normal path: one relaxed
 * atomic load of the test hook per call.
 */
/* SHA256_Init and friends are deprecated in OpenSSL 3 in favour of EVP,
 * but still built and maintained; they are the allocation-free path. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "crypto_int.h"

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
static SHA256_CTX tag_sha[N_TAGS];  /* read-only after hash_init() */

_Static_assert(sizeof(SHA256_CTX) <= sizeof(((px__sha256 *)0)->st),
    "px__sha256.st holds a SHA256_CTX");

static atomic_int test_fail;

void px__crypto_test_fail(int on)
{
    atomic_store(&test_fail, on);
}

int px__crypto_test_failing(void)
{
    return atomic_load_explicit(&test_fail, memory_order_relaxed);
}

/* TH(tag, a || b), or plain SHA-256(a || b) when tag is NULL. */
static void sha256_parts(uint8_t out[32], const char *tag, const void *a,
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

    for (i = 0; i < N_TAGS; i++) {
        tag_prefix(&tag_sha[i], known_tags[i]);
    }
}

static SHA256_CTX *ctx_of(px__sha256 *h)
{
    return (SHA256_CTX *)(void *)h->st.b;
}

int px__sha256_init(px__sha256 *h)
{
    h->md = NULL;
    h->failed = 0;
    if (px__crypto_test_failing()) {
        return -1;
    }
    SHA256_Init(ctx_of(h));
    h->md = h->st.b;
    return 0;
}

void px__sha256_update(px__sha256 *h, const void *data, size_t len)
{
    /* Only between a successful init and final or discard. */
    PAREX_ASSERT(h->md != NULL || h->failed);
    PAREX_ASSERT(len == 0 || data != NULL);
    if (h->failed || px__crypto_test_failing()) {
        h->failed = 1;
        return;
    }
    if (len > 0) {
        SHA256_Update(ctx_of(h), data, len);
    }
}

int px__sha256_final(px__sha256 *h, uint8_t out[32])
{
    int rc = 0;

    PAREX_ASSERT(h->md != NULL || h->failed);
    if (h->failed || px__crypto_test_failing()) {
        rc = -1;
    } else {
        SHA256_Final(out, ctx_of(h));
    }
    h->md = NULL;
    return rc;
}

void px__sha256_discard(px__sha256 *h)
{
    h->md = NULL;
}

void px__sha256_once(uint8_t out[32], const void *data, size_t len)
{
    sha256_parts(out, NULL, data, len, NULL, 0);
}

void px__tagged_hash(uint8_t out[32], const char *tag, const void *a,
    size_t alen, const void *b, size_t blen)
{
    SHA256_CTX c;
    size_t i;

    pthread_once(&hash_once, hash_init);
    /* Callers pass literals, often the very pointer of known_tags (the
     * linker merges equal strings): a pass of pointer tests first, then
     * strcmp only where the byte after "parex/" agrees. One strcmp per
     * earlier tag was 2 % of the CPU of a block whose state root mixes
     * thousands of "parex/lthash" elements, the last tag (session 13). */
    for (i = 0; i < N_TAGS && tag != known_tags[i]; i++) {
    }
    if (i == N_TAGS && strncmp(tag, "parex/", 6) == 0) {
        for (i = 0; i < N_TAGS; i++) {
            if (tag[6] == known_tags[i][6] &&
                strcmp(tag, known_tags[i]) == 0) {
                break;
            }
        }
    }
    if (i == N_TAGS) {
        sha256_parts(out, tag, a, alen, b, blen);
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
