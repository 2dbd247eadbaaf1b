/* Declaration modes of trace import: which keys a tx declares. */
#include "node.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int node_declare_parse(node_declare *out, char *err, const char *s)
{
    const char *rest;
    char *end;
    char *pstr;
    const char *colon;

    memset(out, 0, sizeof(*out));
    if (strcmp(s, "exact") == 0) {
        out->kind = NODE_DECLARE_EXACT;
        return 0;
    }
    if (strcmp(s, "none") == 0) {
        out->kind = NODE_DECLARE_NONE;
        return 0;
    }
    if (strncmp(s, "drop:", 5) == 0) {
        out->kind = NODE_DECLARE_DROP;
    } else if (strncmp(s, "add:", 4) == 0) {
        out->kind = NODE_DECLARE_ADD;
    } else {
        return node_err(err, "unknown declare mode '%s' (expected exact, "
            "none, drop:P:SEED or add:P:SEED)", s);
    }
    rest = strchr(s, ':') + 1;
    colon = strchr(rest, ':');
    if (colon == NULL) {
        return node_err(err, "declare mode '%s': expected %s:P:SEED", s,
            out->kind == NODE_DECLARE_DROP ? "drop" : "add");
    }
    pstr = node_malloc((size_t)(colon - rest) + 1);
    memcpy(pstr, rest, (size_t)(colon - rest));
    pstr[colon - rest] = '\0';
    out->p = strtod(pstr, &end);
    if (pstr[0] == '\0' || *end != '\0' || !(out->p >= 0.0 && out->p <= 1.0)) {
        free(pstr);
        return node_err(err, "declare mode '%s': P must be a number in "
            "[0, 1]", s);
    }
    free(pstr);
    if (node_parse_u64(&out->seed, colon + 1) != 0) {
        return node_err(err, "declare mode '%s': SEED must be an unsigned "
            "64-bit decimal", s);
    }
    return 0;
}

void node_rng_init(node_rng *r, uint64_t seed, uint64_t i)
{
    r->s = seed ^ (i * 0xD1B54A32D192ED03ULL);
}

/* splitmix64 (Steele, Lea, Flood 2014), as in java.util.SplittableRandom. */
uint64_t node_rng_next(node_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int node_rng_chance(node_rng *r, double p)
{
    /* 53 random bits against p * 2^53, exact for p in {0, 1}. */
    uint64_t x = node_rng_next(r) >> 11;

    return (double)x < ldexp(p, 53);
}

static int cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, PAREX_KEY_LEN);
}

size_t node_keys_sort_unique(uint8_t *keys, size_t n)
{
    size_t i, m;

    if (n == 0) {
        return 0;
    }
    qsort(keys, n, PAREX_KEY_LEN, cmp_key);
    m = 1;
    for (i = 1; i < n; i++) {
        if (memcmp(keys + (m - 1) * PAREX_KEY_LEN, keys + i * PAREX_KEY_LEN,
                PAREX_KEY_LEN) != 0) {
            memmove(keys + m * PAREX_KEY_LEN, keys + i * PAREX_KEY_LEN,
                PAREX_KEY_LEN);
            m++;
        }
    }
    return m;
}

static int in_sorted(const uint8_t *set, size_t n, const uint8_t *key)
{
    return n > 0 && bsearch(key, set, n, PAREX_KEY_LEN, cmp_key) != NULL;
}

static int in_list(const uint8_t *set, size_t n, const uint8_t *key)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (memcmp(set + i * PAREX_KEY_LEN, key, PAREX_KEY_LEN) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Keep the keys whose keep[] flag is set. */
static size_t filter(uint8_t *set, size_t n, const unsigned char *keep)
{
    size_t i, m = 0;

    for (i = 0; i < n; i++) {
        if (keep[i]) {
            memmove(set + m * PAREX_KEY_LEN, set + i * PAREX_KEY_LEN,
                PAREX_KEY_LEN);
            m++;
        }
    }
    return m;
}

void node_declare_sets(uint8_t **rs, size_t *nrs, uint8_t **ws, size_t *nws,
    const node_declare *d, uint64_t i, const uint8_t *r, size_t nr,
    const uint8_t *w, size_t nw, const uint8_t account[32],
    const uint8_t *universe, size_t nu)
{
    uint8_t *rd, *wd;
    size_t nrd, nwd, k, m;
    node_rng rng;

    if (d->kind == NODE_DECLARE_NONE) {
        *rs = NULL;
        *ws = NULL;
        *nrs = 0;
        *nws = 0;
        return;
    }
    /* exact: W' = sort_unique(W) + account; R' = sort_unique(R) - W'. */
    wd = node_malloc((nw + 1) * PAREX_KEY_LEN);
    if (nw > 0) {
        memcpy(wd, w, nw * PAREX_KEY_LEN);
    }
    memcpy(wd + nw * PAREX_KEY_LEN, account, PAREX_KEY_LEN);
    nwd = node_keys_sort_unique(wd, nw + 1);
    rd = node_malloc((nr == 0 ? 1 : nr) * PAREX_KEY_LEN);
    if (nr > 0) {
        memcpy(rd, r, nr * PAREX_KEY_LEN);
    }
    nrd = node_keys_sort_unique(rd, nr);
    for (k = 0, m = 0; k < nrd; k++) {
        if (!in_sorted(wd, nwd, rd + k * PAREX_KEY_LEN)) {
            memmove(rd + m * PAREX_KEY_LEN, rd + k * PAREX_KEY_LEN,
                PAREX_KEY_LEN);
            m++;
        }
    }
    nrd = m;

    node_rng_init(&rng, d->seed, i);
    if (d->kind == NODE_DECLARE_DROP) {
        /* One draw per key: read set ascending, then write set ascending;
         * the account key is kept without a draw. */
        unsigned char *keep = node_malloc(nrd + nwd + 1);
        for (k = 0; k < nrd; k++) {
            keep[k] = !node_rng_chance(&rng, d->p);
        }
        for (k = 0; k < nwd; k++) {
            if (memcmp(wd + k * PAREX_KEY_LEN, account, PAREX_KEY_LEN) == 0) {
                keep[nrd + k] = 1;
            } else {
                keep[nrd + k] = !node_rng_chance(&rng, d->p);
            }
        }
        nwd = filter(wd, nwd, keep + nrd);
        nrd = filter(rd, nrd, keep);
        free(keep);
    } else if (d->kind == NODE_DECLARE_ADD && nu > 0) {
        /* Per declared key (read ascending, then write ascending, account
         * skipped): with probability p draw x = next() % nu and side =
         * next() & 1 (0 read, 1 write); add universe[x] to that side
         * unless it is already declared. */
        size_t n0r = nrd, n0w = nwd;
        uint8_t *addr = node_malloc((n0r + n0w) * PAREX_KEY_LEN + 1);
        uint8_t *addw = node_malloc((n0r + n0w) * PAREX_KEY_LEN + 1);
        size_t nar = 0, naw = 0;
        for (k = 0; k < n0r + n0w; k++) {
            const uint8_t *key = k < n0r ? rd + k * PAREX_KEY_LEN
                                         : wd + (k - n0r) * PAREX_KEY_LEN;
            const uint8_t *extra;
            uint64_t x, side;
            if (k >= n0r && memcmp(key, account, PAREX_KEY_LEN) == 0) {
                continue;
            }
            if (!node_rng_chance(&rng, d->p)) {
                continue;
            }
            x = node_rng_next(&rng) % nu;
            side = node_rng_next(&rng) & 1;
            extra = universe + x * PAREX_KEY_LEN;
            if (in_sorted(rd, n0r, extra) || in_sorted(wd, n0w, extra) ||
                in_list(addr, nar, extra) || in_list(addw, naw, extra)) {
                continue;
            }
            if (side == 0) {
                memcpy(addr + nar++ * PAREX_KEY_LEN, extra, PAREX_KEY_LEN);
            } else {
                memcpy(addw + naw++ * PAREX_KEY_LEN, extra, PAREX_KEY_LEN);
            }
        }
        rd = node_realloc(rd, (nrd + nar + 1) * PAREX_KEY_LEN);
        memcpy(rd + nrd * PAREX_KEY_LEN, addr, nar * PAREX_KEY_LEN);
        nrd = node_keys_sort_unique(rd, nrd + nar);
        wd = node_realloc(wd, (nwd + naw + 1) * PAREX_KEY_LEN);
        memcpy(wd + nwd * PAREX_KEY_LEN, addw, naw * PAREX_KEY_LEN);
        nwd = node_keys_sort_unique(wd, nwd + naw);
        free(addr);
        free(addw);
    }
    *rs = rd;
    *nrs = nrd;
    *ws = wd;
    *nws = nwd;
}
