#define _XOPEN_SOURCE 700
#include "testutil.h"

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p;
    size_t n;

    if (base == NULL || base[0] == '\0') {
        base = "/tmp";
    }
    n = strlen(base) + 32;
    p = malloc(n);
    if (p == NULL) {
        abort();
    }
    snprintf(p, n, "%s/parex-test-XXXXXX", base);
    if (mkdtemp(p) == NULL) {
        abort();
    }
    return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmdir(char *path)
{
    if (path == NULL) {
        return;
    }
    nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(path);
}

uint64_t tu_seed(int argc, char **argv)
{
    uint64_t seed = 0;
    int have = 0;
    int i;
    const char *env = getenv("PAREX_TEST_SEED");

    for (i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--seed=", 7) == 0) {
            seed = strtoull(argv[i] + 7, NULL, 0);
            have = 1;
        }
    }
    if (!have && env != NULL && env[0] != '\0') {
        seed = strtoull(env, NULL, 0);
        have = 1;
    }
    if (!have) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^
            ((uint64_t)getpid() << 32);
    }
    printf("# seed: %llu (rerun with --seed=%llu or PAREX_TEST_SEED)\n",
        (unsigned long long)seed, (unsigned long long)seed);
    fflush(stdout);
    return seed;
}

unsigned tu_iters(unsigned def)
{
    const char *env = getenv("PAREX_TEST_ITERS");
    if (env != NULL && env[0] != '\0') {
        long v = strtol(env, NULL, 10);
        if (v > 0) {
            return (unsigned)v;
        }
    }
    return def;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void tu_rng_seed(tu_rng *r, uint64_t seed)
{
    int i;
    memset(r, 0, sizeof(*r));
    for (i = 0; i < 4; i++) {
        r->s[i] = splitmix(&seed);
    }
}

void tu_rng_bytes(tu_rng *r, const uint8_t *data, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->data = data;
    r->len = len;
}

/* The next nbytes (<= 8) of the stream as a little-endian number. */
static uint64_t stream_take(tu_rng *r, unsigned nbytes)
{
    uint64_t v = 0;
    unsigned i;
    for (i = 0; i < nbytes && r->pos < r->len; i++) {
        v |= (uint64_t)r->data[r->pos++] << (8 * i);
    }
    return v;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t tu_rng_next(tu_rng *r)
{
    uint64_t *s = r->s, result, t;
    if (r->data != NULL) {
        return stream_take(r, 8);
    }
    result = rotl(s[1] * 5, 7) * 9;
    t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t tu_rng_below(tu_rng *r, uint64_t n)
{
    if (r->data != NULL) {
        unsigned nbytes = 1;
        while (nbytes < 8 && ((n - 1) >> (8 * nbytes)) != 0) {
            nbytes++;
        }
        return stream_take(r, nbytes) % n;
    }
    return tu_rng_next(r) % n;
}

unsigned char *tu_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

void tu_write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

int tu_dump_kv(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user)
{
    tu_dump *d = user;
    size_t need = d->len + 32 + 8 + len;

    if (need > d->cap) {
        d->cap = need * 2;
        d->buf = realloc(d->buf, d->cap);
        if (d->buf == NULL) {
            abort();
        }
    }
    memcpy(d->buf + d->len, key, 32);
    memcpy(d->buf + d->len + 32, &len, 8);
    if (len > 0) {
        memcpy(d->buf + d->len + 40, val, len);
    }
    d->len = need;
    return 0;
}

void tu_assert_same_state(parex_db *const *db, size_t n,
    unsigned long long seed)
{
    tu_dump *d = calloc(n, sizeof(*d));
    size_t i;

    assert_non_null(d);
    for (i = 0; i < n; i++) {
        assert_int_equal(parex_db_foreach(db[i], tu_dump_kv, &d[i]),
            PAREX_OK);
        assert_int_equal(parex_db_verify(db[i], NULL), PAREX_OK);
    }
    for (i = 1; i < n; i++) {
        if (d[i].len != d[0].len ||
            memcmp(d[i].buf, d[0].buf, d[0].len) != 0) {
            fail_msg("state of engine %zu differs from the sequential "
                "reference's (seed %llu)", i, seed);
        }
    }
    for (i = 0; i < n; i++) {
        free(d[i].buf);
    }
    free(d);
}

void tu_close_engines(parex_engine **e, parex_db **db, char **dir,
    size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        parex_engine_destroy(e[i]);
        parex_db_close(db[i]);
        tu_rmdir(dir[i]);
    }
}
