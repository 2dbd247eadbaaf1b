/* The key map's out-of-line part: storage, growth, clearing, deletion
 * (see keymap.h for the design). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "keymap.h"

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n) {
        c <<= 1;
    }
    return c;
}

static void reseed(px__keymap *m)
{
    struct timespec ts;
    uint64_t t;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    m->s0 = t * 0x9e3779b97f4a7c15ULL + (uint64_t)(uintptr_t)m;
    m->s1 = (t >> 17) ^ 0x5851f42d4c957f2dULL;
}

void px__keymap_init(px__keymap *m, size_t min_slots)
{
    memset(m, 0, sizeof(*m));
    m->min_slots = pow2_at_least(min_slots);
    m->gen = 1;
    reseed(m);
}

void px__keymap_free(px__keymap *m)
{
    size_t min = m->min_slots;

    free(m->idx);
    free(m->slot);
    px__keymap_init(m, min);
}

/* The next generation (16 bits); on wrap-around every bucket is made
 * stale by hand. */
static void next_gen(px__keymap *m)
{
    if (++m->gen > 0xffff) {
        if (m->idx != NULL) {
            memset(m->idx, 0, m->cap * sizeof(*m->idx));
        }
        m->gen = 1;
    }
}

void px__keymap_clear(px__keymap *m)
{
    next_gen(m);
    m->n = 0;
    m->probes = 0;
    /* Back to the smallest index: a small block after a big one works in
     * a compact region of the warm buffer. Stale buckets read as empty. */
    m->mask = m->idx != NULL
        ? (m->cap < m->min_slots ? m->cap : m->min_slots) - 1 : 0;
    reseed(m);
}

int px__keymap_reserve(px__keymap *m, size_t n)
{
    size_t cap = pow2_at_least(m->min_slots > 2 * n ? m->min_slots : 2 * n);
    size_t i;

    if (m->idx != NULL && m->mask + 1 >= cap) {
        return 0;
    }
    /* A bucket names its slot in 32 bits, and the index keeps at most
     * half as many slots as buckets. */
    if (cap > ((size_t)1 << 31) ||
        cap > SIZE_MAX / sizeof(*m->slot)) {
        return -1;
    }
    /* Room for the slots first: the map is unchanged if either fails. */
    if (m->slot_cap < cap / 2) {
        px__keyslot *ns = realloc(m->slot, cap / 2 * sizeof(*ns));
        if (ns == NULL) {
            return -1;
        }
        m->slot = ns;
        m->slot_cap = cap / 2;
    }
    if (m->cap < cap) {
        /* Zeroed: generation 0 is never the map's. */
        px__keybucket *ni = calloc(cap, sizeof(*ni));
        if (ni == NULL) {
            return -1;
        }
        free(m->idx);
        m->idx = ni;
        m->cap = cap;
    } else {
        /* The buffer is big enough: the old buckets go stale. */
        next_gen(m);
    }
    m->mask = cap - 1;
    /* Rebuild the index from the slots, whose hashes are kept. */
    for (i = 0; i < m->n; i++) {
        size_t h = (size_t)m->slot[i].hash & m->mask;
        while (PX__KEYMAP_GEN(m->idx[h]) == m->gen) {
            h = (h + 1) & m->mask;
        }
        m->idx[h] = (uint64_t)m->gen << 48 |
            PX__KEYMAP_TAG(m->slot[i].hash) | (uint64_t)i;
    }
    return 0;
}

/* The bucket that names slot pos (it must be in the map). */
static size_t bucket_of(const px__keymap *m, size_t pos)
{
    size_t i = (size_t)m->slot[pos].hash & m->mask;

    while ((uint32_t)m->idx[i] != (uint32_t)pos ||
        PX__KEYMAP_GEN(m->idx[i]) != m->gen) {
        i = (i + 1) & m->mask;
    }
    return i;
}

int px__keymap_delete(px__keymap *m, const uint8_t key[32])
{
    px__keyslot *s = px__keymap_find(m, key);
    size_t i, j, pos, last;

    if (s == NULL) {
        return 0;
    }
    pos = (size_t)(s - m->slot);
    i = bucket_of(m, pos);
    /* Backward shift: pull later members of the run into the hole when
     * their home bucket is not inside (hole, their bucket]. */
    j = i;
    for (;;) {
        size_t home;
        j = (j + 1) & m->mask;
        if (PX__KEYMAP_GEN(m->idx[j]) != m->gen) {
            break;
        }
        home = (size_t)m->slot[(uint32_t)m->idx[j]].hash & m->mask;
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            m->idx[i] = m->idx[j];
            i = j;
        }
    }
    m->idx[i] = 0;
    /* Keep the slots dense: the last one moves into the hole. */
    last = m->n - 1;
    if (pos != last) {
        size_t b = bucket_of(m, last);
        m->slot[pos] = m->slot[last];
        m->idx[b] = (m->idx[b] & ~(uint64_t)0xffffffffu) | (uint64_t)pos;
    }
    m->n--;
    return 1;
}
