/* Test helpers shared by the test executables. */
#ifndef PX_TESTUTIL_H
#define PX_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/** Create a fresh empty temporary directory; returns a malloc'd path. */
char *tu_tmpdir(void);
/** Remove a directory tree made by tu_tmpdir() and free the path. */
void tu_rmdir(char *path);
/** Seed for randomised tests: --seed=N in argv or PAREX_TEST_SEED, else
 *  time-based; printed to stdout as "# seed: N". */
uint64_t tu_seed(int argc, char **argv);
/** Iteration scale: PAREX_TEST_ITERS or def. */
unsigned tu_iters(unsigned def);
/** xoshiro256** style deterministic PRNG. */
typedef struct tu_rng { uint64_t s[4]; } tu_rng;
void tu_rng_seed(tu_rng *r, uint64_t seed);
uint64_t tu_rng_next(tu_rng *r);
/** Uniform in [0, n). n > 0. */
uint64_t tu_rng_below(tu_rng *r, uint64_t n);

#endif
