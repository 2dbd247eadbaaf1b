/* The libFuzzer entry point every target in tests/fuzz defines.
 *
 * A target is one file fuzz_<name>.c defining LLVMFuzzerTestOneInput. It
 * must be deterministic (same bytes, same path), keep no state between
 * inputs except caches that do not change behaviour, free what it
 * allocates, and call abort() (through FUZZ_CHECK) when an invariant the
 * code under test promises does not hold. It returns 0. */
#ifndef PX_FUZZ_H
#define PX_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test: on failure, print where and abort
 * so libFuzzer (or the regression driver) reports the input. */
#define FUZZ_CHECK(cond)                                                    \
    do {                                                                    \
        if (!(cond)) {                                                      \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,      \
                __LINE__, #cond);                                           \
            abort();                                                        \
        }                                                                   \
    } while (0)

#endif
