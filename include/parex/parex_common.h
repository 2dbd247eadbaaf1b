/* parex — parallel transaction execution engine.
 * Common definitions: visibility macros, error codes, limits.
 *
 * Invariants stated once for the whole API:
 *  - Unless explicitly stated, all pointer arguments must not be NULL.
 *  - Functions that can fail return int: PAREX_OK (0) or a negative
 *    PAREX_E_* code. Codes are never renumbered; callers must accept codes
 *    added in later versions (parex_strerror() names every one).
 *  - All integers in encodings are little-endian; keys are 32 bytes.
 */
#ifndef PAREX_COMMON_H
#define PAREX_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define PAREX_API __attribute__((visibility("default")))
#define PAREX_WARN_UNUSED_RESULT __attribute__((warn_unused_result))
#if defined(PAREX_BUILD)
/* Inside the library the NULL checks must not be optimised away. */
#define PAREX_ARG_NONNULL(...)
#else
#define PAREX_ARG_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#endif
#else
#define PAREX_API
#define PAREX_WARN_UNUSED_RESULT
#define PAREX_ARG_NONNULL(...)
#endif

/* PAREX_VERSION_MAJOR, _MINOR, _PATCH and PAREX_VERSION_STRING, generated
 * from the meson project version (include/parex/parex_version.h.in). */
#include "parex/parex_version.h"

/* Sized structs (ABI). A struct the caller allocates and that may grow in
 * later versions — parex_db_options, parex_engine_options,
 * parex_block_stats — starts with `size_t size`, which the caller sets to
 * sizeof the struct as its headers define it, e.g.
 *
 *     parex_block_stats st = PAREX_BLOCK_STATS_INIT;
 *
 * Such structs only grow, by appending fields. The library checks size on
 * every call: an input struct from an older caller (smaller size) has its
 * missing fields take their defaults; one from a newer caller (larger) is
 * accepted if every field this library does not know is zero; an output
 * struct gets at most size bytes written, never more, and its size member
 * is left as the caller set it. A size that is not plausible (0, not a
 * multiple of 4, over 4096: e.g. a 0.1 struct, which had no size member,
 * or uninitialised memory) is refused with PAREX_E_MISUSE and nothing is
 * written. Other structs (parex_tx, parex_header, parex_receipt,
 * parex_kv, parex_limits, parex_error_info, parex_tx_profile) are frozen
 * for the life of a soname: new fields come in new structs. */
#ifdef __cplusplus
#define PAREX_SIZED_INIT(type) { sizeof(type) }
#else
#define PAREX_SIZED_INIT(type) { .size = sizeof(type) }
#endif

/** Length of a state key, a hash, a tx id and a BIP-340 public key. */
#define PAREX_KEY_LEN 32
/** Length of a BIP-340 Schnorr signature. */
#define PAREX_SIG_LEN 64

/* X-macro list of every error code: XX(NAME, value, message).
 * New codes are appended; values are never reused. */
#define PAREX_ERRNO_MAP(XX)                                                   \
    XX(INVALID, -1, "invalid or malformed input")                             \
    XX(NOMEM, -2, "out of memory")                                            \
    XX(STORAGE, -3, "state store failure")                                    \
    XX(MISUSE, -4, "API misuse (NULL handle, wrong state or argument)")       \
    XX(BLOCK, -5, "block rejected")                                           \
    XX(NOTFOUND, -6, "not found")                                             \
    XX(LIMIT, -7, "limit exceeded")                                           \
    XX(BUFFER, -8, "output buffer too small")                                 \
    XX(MAPFULL, -9, "state store map is full")                                \
    XX(CORRUPT, -10, "state store is corrupt, foreign or inconsistent")       \
    XX(IO, -11, "I/O error")                                                  \
    XX(EXISTS, -12, "already exists")                                         \
    XX(ABORTED, -13, "speculative execution aborted (unused since 0.2.0)")    \
    XX(READONLY, -14, "read-only state store")                                \
    XX(PENDING, -15, "an executed block is pending commit or abort")        \
    XX(LOCKED, -16, "the state store is in use by another writer")          \
    XX(MISMATCH, -17, "the state store is of another chain or genesis")

/** Result of a walk (parex_read_foreach() and friends, parex_db_foreach())
 *  whose callback stopped it by returning a positive value: not an error,
 *  and distinct from PAREX_OK, which means every pair was visited.
 *  Since: 0.2.0 */
#define PAREX_STOPPED 1

/** Error codes. PAREX_OK is 0; every error is negative. */
typedef enum parex_error {
    PAREX_OK = 0,
#define PAREX_XX_ENUM(name, value, msg) PAREX_E_##name = (value),
    PAREX_ERRNO_MAP(PAREX_XX_ENUM)
#undef PAREX_XX_ENUM
} parex_error;

/** Describe an error code.
 *
 *  Returns: a static, NUL-terminated English string; never NULL. Unknown
 *           codes give "unknown error".
 *  Args:    none; thread-safe.
 *  In:      code: any int, typically a return value of a parex_ function.
 *  Since: 0.1.0
 */
PAREX_API const char *parex_strerror(int code);

/** Name of an error code ("PAREX_E_INVALID"), or "PAREX_OK"; static string,
 *  "PAREX_E_UNKNOWN" for unknown codes. Thread-safe. Since: 0.1.0 */
PAREX_API const char *parex_errname(int code);

/** Library version string "MAJOR.MINOR.PATCH" of the library actually
 *  loaded (PAREX_VERSION_STRING is the headers'); static. Thread-safe.
 *  Since: 0.1.0 */
PAREX_API const char *parex_version(void);

/** Limits applied when decoding and executing blocks.
 *
 *  Every decoder and the engine reject input beyond these limits with
 *  PAREX_E_LIMIT (or a block rejection of reason PAREX_REJECT_LIMIT) and an
 *  error naming the field. parex_limits_default() gives the documented
 *  defaults (docs/formats.md); they accept every bundled real-chain trace.
 */
typedef struct parex_limits {
    uint32_t max_args_bytes;    /**< program args per tx, bytes */
    uint32_t max_keys_per_set;  /**< keys in one read set or write set */
    uint32_t max_value_bytes;   /**< one state value, bytes */
    uint32_t max_block_txs;     /**< transactions per block */
    uint64_t max_block_bytes;   /**< encoded block size, bytes */
    uint32_t max_tx_accesses;   /**< distinct keys one execution may touch */
} parex_limits;

/** Fill *out with the default limits. Thread-safe. Since: 0.1.0 */
PAREX_API void parex_limits_default(parex_limits *out) PAREX_ARG_NONNULL(1);

/** Why a block was rejected (parex_error_info.reject). */
#define PAREX_REJECT_MAP(XX)                                                  \
    XX(NONE, 0, "not rejected")                                               \
    XX(MALFORMED, 1, "malformed encoding")                                    \
    XX(LIMIT, 2, "over a limit")                                              \
    XX(BAD_SIGNATURE, 3, "bad signature")                                     \
    XX(CHAIN_ID, 4, "wrong chain id")                                         \
    XX(BAD_NONCE, 5, "nonce is not the sender's next nonce")                  \
    XX(FEE, 6, "sender cannot pay the fee")                                   \
    XX(HEIGHT, 7, "height is not the next height")                            \
    XX(PARENT, 8, "parent hash is not the head block's hash")                 \
    XX(ROOT_MISMATCH, 9, "header root differs from the computed root")        \
    XX(OVERFLOW, 10, "balance or fee total overflows u64")

typedef enum parex_reject {
#define PAREX_XX_ENUM(name, value, msg) PAREX_REJECT_##name = (value),
    PAREX_REJECT_MAP(PAREX_XX_ENUM)
#undef PAREX_XX_ENUM
} parex_reject;

/** Name of a rejection reason ("BAD_NONCE"); static string. Since: 0.1.0 */
PAREX_API const char *parex_reject_name(int reject);

/** Details of a failure: where in the input and why.
 *
 *  Filled by decoders and by block execution on error; zeroed (reject ==
 *  PAREX_REJECT_NONE, tx_index == -1) on success.
 */
typedef struct parex_error_info {
    int code;            /**< the PAREX_E_* code returned */
    int reject;          /**< parex_reject reason when code is PAREX_E_BLOCK */
    int64_t tx_index;    /**< index of the offending tx in its block, or -1 */
    char field[32];      /**< offending field ("nonce", "read_set"), or "" */
    char message[192];   /**< human-readable sentence, NUL-terminated */
} parex_error_info;

#ifdef __cplusplus
}
#endif

#endif /* PAREX_COMMON_H */
