/* parex — block access lists (BAL, after EIP-7928): per transaction, in
 * block order, every key whose value it changed with the post-value (or
 * deletion) and every other key it read; then the block-end fee credit.
 * docs/formats.md specifies the canonical encoding; docs/architecture.md
 * how the engine produces and validates it.
 *
 * A block carries a BAL as a trailer after its last tx
 * (parex_block_attach_bal()); its header commits to it through tx_root,
 * which then hashes the tx ids and the BAL's root (a block without a BAL
 * keeps the tx root, header bytes and hash it always had).
 *
 * Every function here is pure and thread-safe.
 */
#ifndef PAREX_BAL_H
#define PAREX_BAL_H

#include "parex_common.h"
#include "parex_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Encoding version byte of a BAL. */
#define PAREX_BAL_VERSION 2

/** Execute flag: record the BAL of the block (parex_engine_bal()); the
 *  new header's tx_root commits to it, and the committed block is stored
 *  sealed with it (parex_read_block() returns the block with the BAL
 *  trailer). With a block that carries a BAL the recorded one is the
 *  carried one, once validated. Cheapest with PAREX_EXEC_COMMIT in the
 *  same call on 2 or more threads: the BAL is then recorded and hashed on
 *  a worker while the commit writes the state (a header claiming a wrong
 *  tx_root is then rejected at the commit, as PAREX_E_BLOCK /
 *  PAREX_REJECT_ROOT_MISMATCH with nothing stored, as before it).
 *  Since: 0.2.0 */
#define PAREX_EXEC_RECORD_BAL 4u
/** Execute flag: run a block that carries a BAL on the ordinary executors,
 *  as if it carried none (its tx_root still commits to the carried BAL).
 *  With PAREX_EXEC_RECORD_BAL too, the BAL is recorded and must equal the
 *  carried one byte for byte. Since: 0.2.0 */
#define PAREX_EXEC_IGNORE_BAL 8u

/** Check that the BAL an encoded block carries (its trailer, after the
 *  last tx) is one canonical BAL of that block within lim: version, one
 *  entry per tx, key references within each tx's declared sets (a
 *  declared key always by reference, docs/formats.md), strictly
 *  increasing and disjoint write and read keys per tx, minimal varints,
 *  no trailing bytes, counts within max_block_txs, max_tx_accesses and
 *  max_value_bytes. The block's framing and txs are decoded too (not
 *  their signatures).
 *
 *  Returns: PAREX_OK; PAREX_E_INVALID (malformed, or no BAL) or
 *           PAREX_E_LIMIT; err (may be NULL) then names the tx entry
 *           (tx_index) and the field; PAREX_E_NOMEM; PAREX_E_MISUSE
 *           (block NULL).
 *  Out:     n_txs: may be NULL; the number of tx entries.
 *  In:      block: len bytes, as parex_block_attach_bal() writes it; lim:
 *           NULL for parex_limits_default().
 *  Thread-safety: reentrant; reads only its arguments.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_bal_check(size_t *n_txs,
    parex_error_info *err, const uint8_t *block, size_t len,
    const parex_limits *lim);

/** Root of a BAL: tagged hash, tag "parex/bal", of its encoding.
 *  Since: 0.2.0 */
PAREX_API void parex_bal_root(uint8_t out[32], const uint8_t *bal, size_t len)
    PAREX_ARG_NONNULL(1);

/** The BAL an encoded block carries, if any (no validation of the BAL).
 *
 *  Returns: PAREX_OK (*bal, *bal_len: the trailer, borrowed from block;
 *           NULL/0 when the block carries none); PAREX_E_INVALID or
 *           PAREX_E_LIMIT (the block's framing; err says where).
 *  In:      block: len bytes; lim: NULL for defaults.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_block_bal(const uint8_t **bal,
    size_t *bal_len, parex_error_info *err, const uint8_t *block, size_t len,
    const parex_limits *lim) PAREX_ARG_NONNULL(1, 2, 4);

/** Append bal as the trailer of an encoded block that carries none:
 *  u32le 0 || u32le bal_len || bal after the last tx (a zero length,
 *  which no tx has, marks the trailer).
 *
 *  Returns: PAREX_OK; PAREX_E_BUFFER (*out_len set to the size needed);
 *           PAREX_E_INVALID (block malformed or already carrying a BAL,
 *           bal empty or over 4 GiB; bal is not otherwise checked).
 *  Out:     out: caller buffer of *out_len bytes (may be NULL when
 *           *out_len is 0 to query the size); must not overlap block.
 *  In/Out:  out_len: capacity in, bytes written (or needed) out.
 *  In:      block: len bytes; bal: bal_len bytes.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_block_attach_bal(uint8_t *out,
    size_t *out_len, const uint8_t *block, size_t len, const uint8_t *bal,
    size_t bal_len) PAREX_ARG_NONNULL(2, 3, 5);

/** The BAL of the last block parex_engine_execute() ran with
 *  PAREX_EXEC_RECORD_BAL and accepted (pending or committed): the bytes to
 *  attach to the block (parex_block_attach_bal()). The block is recorded
 *  on the executor it would run on without recording: the parallel one
 *  reads each tx's entry off its final records and versions (in parallel
 *  parts on large blocks), the sequential one and every fallback run the
 *  BAL recorder in block order; the bytes are the same on either executor
 *  and for every thread count.
 *
 *  Returns: PAREX_OK (*len bytes copied); PAREX_E_BUFFER (*len set to the
 *           size needed, nothing copied); PAREX_E_NOTFOUND (the last
 *           execute did not record one, or failed; *len = 0);
 *           PAREX_E_MISUSE (NULL e or len).
 *  Out:     out: caller buffer of *len bytes; may be NULL to query.
 *  In/Out:  len: capacity in, length out.
 *  Thread-safety: not with a concurrent execute on the same engine.
 *  Since: 0.2.0
 */
PAREX_API PAREX_WARN_UNUSED_RESULT int parex_engine_bal(const parex_engine *e,
    uint8_t *out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif /* PAREX_BAL_H */
