/* A hash map from 32-byte keys to u64 values (tx ids and public keys to
 * mempool entries and block positions). Linear probing with backward-shift
 * deletion (Knuth, TAOCP vol. 3, 6.4 Algorithm R), so there are no
 * tombstones and probe runs stay short at a load factor of at most 1/2. */
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

struct node_keymap_slot {
    uint8_t key[32];
    uint64_t val;
    int used;
};

/* Keys are hashes or curve x-coordinates, close to uniform, but a client
 * picks the tx bytes, so the 8 bytes are still mixed (splitmix64 finaliser)
 * to spread structured keys such as tests' small counters. */
static size_t slot_of(const node_keymap *m, const uint8_t key[32])
{
    uint64_t h = 0;
    int i;

    for (i = 0; i < 8; i++) {
        h |= (uint64_t)key[i] << (8 * i);
    }
    h ^= (uint64_t)key[31] << 32 ^ key[16];
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ULL;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return (size_t)(h & (m->cap - 1));
}

static void grow(node_keymap *m)
{
    node_keymap old = *m;
    size_t i;

    m->cap = old.cap == 0 ? 64 : old.cap * 2;
    m->s = node_calloc(m->cap, sizeof(*m->s));
    m->n = 0;
    for (i = 0; i < old.cap; i++) {
        if (old.s[i].used) {
            node_keymap_put(m, old.s[i].key, old.s[i].val);
        }
    }
    free(old.s);
}

int node_keymap_put(node_keymap *m, const uint8_t key[32], uint64_t val)
{
    size_t i;

    if ((m->n + 1) * 2 > m->cap) {
        grow(m);
    }
    for (i = slot_of(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (!m->s[i].used) {
            memcpy(m->s[i].key, key, 32);
            m->s[i].val = val;
            m->s[i].used = 1;
            m->n++;
            return 0;
        }
        if (memcmp(m->s[i].key, key, 32) == 0) {
            m->s[i].val = val;
            return 1;
        }
    }
}

static long find(const node_keymap *m, const uint8_t key[32])
{
    size_t i;

    if (m->cap == 0) {
        return -1;
    }
    for (i = slot_of(m, key); m->s[i].used; i = (i + 1) & (m->cap - 1)) {
        if (memcmp(m->s[i].key, key, 32) == 0) {
            return (long)i;
        }
    }
    return -1;
}

int node_keymap_get(const node_keymap *m, const uint8_t key[32],
    uint64_t *val)
{
    long i = find(m, key);

    if (i < 0) {
        return 0;
    }
    if (val != NULL) {
        *val = m->s[i].val;
    }
    return 1;
}

int node_keymap_del(node_keymap *m, const uint8_t key[32], uint64_t *val)
{
    long f = find(m, key);
    size_t i, j, home, mask;

    if (f < 0) {
        return 0;
    }
    if (val != NULL) {
        *val = m->s[f].val;
    }
    mask = m->cap - 1;
    i = (size_t)f;
    /* Move later entries of the probe run back into the hole unless their
     * home slot lies cyclically in (i, j]. */
    for (j = (i + 1) & mask; m->s[j].used; j = (j + 1) & mask) {
        home = slot_of(m, m->s[j].key);
        if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) {
            continue;
        }
        m->s[i] = m->s[j];
        i = j;
    }
    m->s[i].used = 0;
    m->n--;
    return 1;
}

void node_keymap_release(node_keymap *m)
{
    free(m->s);
    memset(m, 0, sizeof(*m));
}
