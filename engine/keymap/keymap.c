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

    free(m->slot);
    free(m->spare);
    px__keymap_init(m, min);
}

/* The next generation; on wrap-around every slot is made stale by hand. */
static void next_gen(px__keymap *m)
{
    if (++m->gen == 0) {
        if (m->slot != NULL) {
            memset(m->slot, 0, m->cap * sizeof(*m->slot));
        }
        if (m->spare != NULL) {
            memset(m->spare, 0, m->spare_cap * sizeof(*m->spare));
        }
        m->gen = 1;
    }
}

void px__keymap_clear(px__keymap *m)
{
    next_gen(m);
    m->n = 0;
    m->probes = 0;
    /* Back to the smallest table: a small block after a big one works in
     * a compact region of the warm buffer. Stale slots read as empty. */
    m->mask = m->slot != NULL
        ? (m->cap < m->min_slots ? m->cap : m->min_slots) - 1 : 0;
    reseed(m);
}

int px__keymap_reserve(px__keymap *m, size_t n)
{
    size_t cap = pow2_at_least(m->min_slots > 2 * n ? m->min_slots : 2 * n);
    size_t i, tcap;
    uint32_t old_gen = m->gen;
    px__keyslot *t;

    if (m->slot != NULL && m->mask + 1 >= cap) {
        return 0;
    }
    /* Slots keep 32 bits of the hash, enough for the home of any table
     * up to 2^32 slots. */
    if (cap > ((size_t)1 << 31) || cap > SIZE_MAX / sizeof(*t)) {
        return -1;
    }
    if (m->slot == NULL && m->spare == NULL) {
        /* First table: fresh zeroed storage, any generation >= 1 is new. */
        t = calloc(cap, sizeof(*t));
        if (t == NULL) {
            return -1;
        }
        m->slot = t;
        m->cap = cap;
        m->mask = cap - 1;
        return 0;
    }
    if (m->slot != NULL && m->cap >= cap && m->n == 0) {
        /* Empty and the buffer is big enough: widen in place. */
        m->mask = cap - 1;
        return 0;
    }
    if (m->spare_cap < cap) {
        t = calloc(cap, sizeof(*t));
        if (t == NULL) {
            return -1;
        }
        free(m->spare);
        m->spare = t;
        m->spare_cap = cap;
    }
    /* Rehash into the spare under a new generation: the spare's old
     * contents and the table left behind both become stale. */
    t = m->spare;
    if (++m->gen == 0) {
        /* Wrapped: no generation is unused, so start over at 1 on a
         * cleared spare; the old table is cleared once copied. */
        memset(t, 0, m->spare_cap * sizeof(*t));
        m->gen = 1;
    }
    for (i = 0; m->slot != NULL && i <= m->mask; i++) {
        const px__keyslot *s = &m->slot[i];
        size_t h;
        if (s->gen != old_gen) {
            continue;
        }
        h = s->hash & (cap - 1);
        while (t[h].gen == m->gen) {
            h = (h + 1) & (cap - 1);
        }
        t[h] = *s;
        t[h].gen = m->gen;
    }
    if (m->gen == 1) {
        memset(m->slot, 0, m->cap * sizeof(*m->slot));
    }
    tcap = m->spare_cap;
    m->spare = m->slot;
    m->spare_cap = m->cap;
    m->slot = t;
    m->cap = tcap;
    m->mask = cap - 1;
    return 0;
}

int px__keymap_delete(px__keymap *m, const uint8_t key[32])
{
    px__keyslot *s = px__keymap_find(m, key);
    size_t i, j;

    if (s == NULL) {
        return 0;
    }
    /* Backward shift: pull later members of the run into the hole when
     * their home slot is not inside (hole, their slot]. */
    i = (size_t)(s - m->slot);
    j = i;
    for (;;) {
        size_t home;
        j = (j + 1) & m->mask;
        if (m->slot[j].gen != m->gen) {
            break;
        }
        home = m->slot[j].hash & m->mask;
        if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
            m->slot[i] = m->slot[j];
            i = j;
        }
    }
    m->slot[i].gen = m->gen - 1;
    m->n--;
    return 1;
}
