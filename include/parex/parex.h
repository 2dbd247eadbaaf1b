/* parex — umbrella header.
 *
 * Rules for the whole API:
 *  - Unless explicitly stated, pointer arguments must not be NULL; passing
 *    NULL for a handle returns PAREX_E_MISUSE.
 *  - Argument order: handle, outputs, in/outs, inputs; a length follows the
 *    array it sizes.
 *  - Caller-owned outputs; borrowed data states its validity window.
 *  - Functions taking a non-const handle need exclusive access to it;
 *    functions taking a const handle may run concurrently.
 *  - The library never prints, exits or aborts on bad input.
 */
#ifndef PAREX_H
#define PAREX_H

#include "parex_common.h"
#include "parex_tx.h"
#include "parex_engine.h"
#include "parex_bal.h"

#endif /* PAREX_H */
