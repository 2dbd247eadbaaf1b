/* Test helpers shared by the test executables. */
#ifndef PX_TESTUTIL_H
#define PX_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <parex/parex.h>

/** Create a fresh empty temporary directory; returns a malloc'd path. */
char *tu_tmpdir(void);
/** Remove a directory tree made by tu_tmpdir() and free the path. */
void tu_rmdir(char *path);
/** Whole file into a malloc'd buffer (one spare byte); fails the test on
 *  any error. *len: its size in bytes. */
unsigned char *tu_read_file(const char *path, size_t *len);
/** Replace a file's contents with n bytes of p; fails the test on error. */
void tu_write_file(const char *path, const void *p, size_t n);
/** Seed for randomised tests: --seed=N in argv or PAREX_TEST_SEED, else
 *  time-based; printed to stdout as "# seed: N". */
/* A whole state as bytes (key, u64 length, value per entry, in the walk's
 * key order), for comparing stores: pass tu_dump_kv and a zeroed tu_dump
 * to parex_db_foreach(); free buf. Aborts when memory runs out. */
typedef struct tu_dump {
    uint8_t *buf;
    size_t len, cap;
} tu_dump;
int tu_dump_kv(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user);
/** Fails the test unless stores db[1..n-1] hold exactly db[0]'s state
 *  (the reference's) and every store's root verifies; seed goes into the
 *  message. */
void tu_assert_same_state(parex_db *const *db, size_t n,
    unsigned long long seed);
/** Destroys e[i], closes db[i] and removes dir[i] (freed), i < n. */
void tu_close_engines(parex_engine **e, parex_db **db, char **dir,
    size_t n);

uint64_t tu_seed(int argc, char **argv);
/** Iteration scale: PAREX_TEST_ITERS or def. */
unsigned tu_iters(unsigned def);
/** xoshiro256** style deterministic PRNG, or a byte stream (fuzzing). */
typedef struct tu_rng {
    uint64_t s[4];
    const uint8_t *data;   /* non-NULL: draws come from these bytes */
    size_t len, pos;
} tu_rng;
void tu_rng_seed(tu_rng *r, uint64_t seed);
/** Draws read data[0..len-1] instead of a generator, so a fuzzer's input
 *  steers every choice of the code that draws: tu_rng_next takes 8 bytes
 *  (little-endian), tu_rng_below(n) only as many as n - 1 needs (one byte
 *  for n <= 256). Past the end every draw is 0. data is borrowed. */
void tu_rng_bytes(tu_rng *r, const uint8_t *data, size_t len);
uint64_t tu_rng_next(tu_rng *r);
/** Uniform in [0, n) (from a byte stream: the bytes' value mod n). n > 0. */
uint64_t tu_rng_below(tu_rng *r, uint64_t n);

#endif
