/* The node's 32-byte-key map (tx ids and public keys to mempool entries
 * and block positions): a thin wrapper over parex's one key table,
 * engine/keymap (seeded, all 32 bytes hashed, backward-shift deletion), so
 * that a client choosing tx bytes cannot pile keys into one probe run. The
 * wrapper adds only what the daemon's callers rely on: a zeroed map is
 * empty, and running out of memory dies (node/ may die, the library may
 * not). */
#include "daemon.h"

#include <string.h>

#include "keymap.h"

static px__keymap *map_of(node_keymap *m)
{
    if (!m->init) {
        px__keymap_init(&m->m, 64);
        m->init = 1;
    }
    return &m->m;
}

int node_keymap_put(node_keymap *m, const uint8_t key[32], uint64_t val)
{
    int added = 0;
    px__keyslot *s = px__keymap_insert(map_of(m), key, &added);

    if (s == NULL) {
        node_die(NODE_EXIT_RUNTIME, "out of memory (key map)");
    }
    s->val.u64 = val;
    return !added;
}

int node_keymap_get(const node_keymap *m, const uint8_t key[32],
    uint64_t *val)
{
    px__keyslot *s;

    if (!m->init) {
        return 0;
    }
    /* find only counts probes; the map's contents do not change. */
    s = px__keymap_find((px__keymap *)&m->m, key);
    if (s == NULL) {
        return 0;
    }
    if (val != NULL) {
        *val = s->val.u64;
    }
    return 1;
}

int node_keymap_del(node_keymap *m, const uint8_t key[32], uint64_t *val)
{
    px__keyslot *s;

    if (!m->init || (s = px__keymap_find(&m->m, key)) == NULL) {
        return 0;
    }
    if (val != NULL) {
        *val = s->val.u64;
    }
    return px__keymap_delete(&m->m, key);
}

size_t node_keymap_count(const node_keymap *m)
{
    return m->init ? px__keymap_count(&m->m) : 0;
}

void node_keymap_release(node_keymap *m)
{
    if (m->init) {
        px__keymap_free(&m->m);
    }
    memset(m, 0, sizeof(*m));
}
