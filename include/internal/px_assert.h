/* Internal invariant checks for engine/, state/ and crypto/. Not installed,
 * not API: include/parex/ is the only public header folder.
 *
 * Three forms, after libsecp256k1's VERIFY_CHECK and SQLite's
 * assert()/ALWAYS()/NEVER() (sqliteInt.h):
 *
 *   PAREX_ASSERT(c)  c holds here, always. Checked when PAREX_VERIFY is
 *                    defined or NDEBUG is not (debug, debugoptimized, test
 *                    and sanitizer builds); compiled out of release builds
 *                    (b_ndebug=if-release), so c must have no side effects.
 *   PAREX_ALWAYS(c)  c should hold, but the code after it also handles the
 *                    case where it does not (a defensive branch). Checked
 *                    builds abort when c is false; release builds evaluate
 *                    c and yield its truth value.
 *   PAREX_NEVER(c)   the opposite: c should never hold; release builds
 *                    yield its truth value so the caller can bail out.
 *
 * A failed check is a bug in parex, never bad input: the library rejects
 * bad data with PAREX_E_* codes and never aborts on it. A failure prints
 * the file, line and expression to stderr and aborts, so that tests and
 * fuzzers see it at once.
 */
#ifndef PX_ASSERT_H
#define PX_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#if defined(PAREX_VERIFY) || !defined(NDEBUG)
#define PAREX_CHECKED 1
#else
#define PAREX_CHECKED 0
#endif

#if PAREX_CHECKED
static inline void px__assert_fail(const char *expr, const char *file,
    int line)
{
    fprintf(stderr, "parex: invariant failed: %s (%s:%d)\n", expr, file,
        line);
    abort();
}
#define PAREX_ASSERT(c) \
    ((c) ? (void)0 : px__assert_fail(#c, __FILE__, __LINE__))
#define PAREX_ALWAYS(c) \
    ((c) ? 1 : (px__assert_fail(#c, __FILE__, __LINE__), 0))
#define PAREX_NEVER(c) \
    ((c) ? (px__assert_fail("!(" #c ")", __FILE__, __LINE__), 1) : 0)
#else
#define PAREX_ASSERT(c) ((void)0)
#define PAREX_ALWAYS(c) (!!(c))
#define PAREX_NEVER(c) (!!(c))
#endif

#endif
