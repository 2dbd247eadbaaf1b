/* The mempool: pending transactions by tx id and, per sender, by nonce.
 * A pure data structure (no locks, no state reads): the node wraps it in
 * one mutex and passes the committed nonces in through a callback. */
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

typedef struct sender {
    uint8_t pub[32];
    node_mp_tx **txs;          /* strictly increasing nonces */
    size_t n, cap;
    struct sender *prev, *next; /* in the order senders became pending */
} sender;

struct node_mempool {
    size_t max_txs, max_bytes;
    size_t n, bytes, nsenders;
    uint64_t seq;
    node_keymap by_id;         /* txid -> node_mp_tx * */
    node_keymap by_sender;     /* sender -> sender * */
    sender *head, *tail;
};

node_mempool *node_mempool_create(size_t max_txs, size_t max_bytes)
{
    node_mempool *mp = node_calloc(1, sizeof(*mp));

    mp->max_txs = max_txs;
    mp->max_bytes = max_bytes;
    return mp;
}

static void free_tx(node_mp_tx *t)
{
    free(t->bytes);
    free(t);
}

void node_mempool_destroy(node_mempool *mp)
{
    sender *s, *next;
    size_t i;

    if (mp == NULL) {
        return;
    }
    for (s = mp->head; s != NULL; s = next) {
        next = s->next;
        for (i = 0; i < s->n; i++) {
            free_tx(s->txs[i]);
        }
        free(s->txs);
        free(s);
    }
    node_keymap_release(&mp->by_id);
    node_keymap_release(&mp->by_sender);
    free(mp);
}

static sender *sender_get(const node_mempool *mp, const uint8_t pub[32])
{
    uint64_t v;

    if (!node_keymap_get(&mp->by_sender, pub, &v)) {
        return NULL;
    }
    return (sender *)(uintptr_t)v;
}

/* Index of the first tx of s with nonce >= nonce. */
static size_t lower_bound(const sender *s, uint64_t nonce)
{
    size_t lo = 0, hi = s->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->txs[mid]->nonce < nonce) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int node_mempool_add(node_mempool *mp, const uint8_t txid[32],
    const uint8_t sender_pub[32], uint64_t nonce, const uint8_t *bytes,
    size_t len)
{
    sender *s;
    node_mp_tx *t;
    size_t at;

    if (node_keymap_get(&mp->by_id, txid, NULL)) {
        return NODE_MP_DUP;
    }
    s = sender_get(mp, sender_pub);
    if (s != NULL) {
        at = lower_bound(s, nonce);
        if (at < s->n && s->txs[at]->nonce == nonce) {
            return NODE_MP_NONCE_TAKEN;
        }
    }
    if (mp->n >= mp->max_txs || len > mp->max_bytes - mp->bytes) {
        return NODE_MP_FULL;
    }
    if (s == NULL) {
        s = node_calloc(1, sizeof(*s));
        memcpy(s->pub, sender_pub, 32);
        s->prev = mp->tail;
        if (mp->tail != NULL) {
            mp->tail->next = s;
        } else {
            mp->head = s;
        }
        mp->tail = s;
        node_keymap_put(&mp->by_sender, sender_pub, (uint64_t)(uintptr_t)s);
        mp->nsenders++;
        at = 0;
    }
    t = node_calloc(1, sizeof(*t));
    memcpy(t->txid, txid, 32);
    memcpy(t->sender, sender_pub, 32);
    t->nonce = nonce;
    t->seq = mp->seq++;
    t->bytes = node_malloc(len);
    memcpy(t->bytes, bytes, len);
    t->len = len;
    if (s->n == s->cap) {
        s->cap = s->cap == 0 ? 4 : s->cap * 2;
        s->txs = node_realloc(s->txs, s->cap * sizeof(*s->txs));
    }
    memmove(s->txs + at + 1, s->txs + at, (s->n - at) * sizeof(*s->txs));
    s->txs[at] = t;
    s->n++;
    node_keymap_put(&mp->by_id, txid, (uint64_t)(uintptr_t)t);
    mp->n++;
    mp->bytes += len;
    return NODE_MP_OK;
}

size_t node_mempool_size(const node_mempool *mp)
{
    return mp->n;
}

size_t node_mempool_bytes(const node_mempool *mp)
{
    return mp->bytes;
}

size_t node_mempool_senders(const node_mempool *mp)
{
    return mp->nsenders;
}

int node_mempool_contains(const node_mempool *mp, const uint8_t txid[32])
{
    return node_keymap_get(&mp->by_id, txid, NULL);
}

size_t node_mempool_sender_count(const node_mempool *mp,
    const uint8_t pub[32])
{
    const sender *s = sender_get(mp, pub);

    return s == NULL ? 0 : s->n;
}

static void sender_unlink(node_mempool *mp, sender *s)
{
    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        mp->head = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    } else {
        mp->tail = s->prev;
    }
    node_keymap_del(&mp->by_sender, s->pub, NULL);
    mp->nsenders--;
    free(s->txs);
    free(s);
}

/* Remove s->txs[at] from every index and free it; frees s when it empties
 * (the caller must not use s afterwards then). */
static void remove_at(node_mempool *mp, sender *s, size_t at)
{
    node_mp_tx *t = s->txs[at];

    memmove(s->txs + at, s->txs + at + 1, (s->n - at - 1) * sizeof(*s->txs));
    s->n--;
    node_keymap_del(&mp->by_id, t->txid, NULL);
    mp->n--;
    mp->bytes -= t->len;
    free_tx(t);
    if (s->n == 0) {
        sender_unlink(mp, s);
    }
}

int node_mempool_remove(node_mempool *mp, const uint8_t txid[32])
{
    uint64_t v;
    node_mp_tx *t;
    sender *s;
    size_t at;

    if (!node_keymap_get(&mp->by_id, txid, &v)) {
        return 0;
    }
    t = (node_mp_tx *)(uintptr_t)v;
    s = sender_get(mp, t->sender);
    at = lower_bound(s, t->nonce);
    remove_at(mp, s, at);
    return 1;
}

size_t node_mempool_select(node_mempool *mp, node_mp_tx **out, size_t max,
    node_nonce_fn nonce_of, node_drop_fn drop, void *user)
{
    sender *s, *next;
    size_t n = 0, i;
    uint64_t want;
    int gone;

    for (s = mp->head; s != NULL && n < max; s = next) {
        next = s->next;
        if (nonce_of(&want, s->pub, user) != 0) {
            continue;
        }
        /* Nonces below the committed one can never be included again. */
        gone = 0;
        while (!gone && s->txs[0]->nonce < want) {
            gone = s->n == 1;
            if (drop != NULL) {
                drop(s->txs[0], want, user);
            }
            remove_at(mp, s, 0);  /* frees s with its last tx */
        }
        if (gone) {
            continue;
        }
        for (i = 0; i < s->n && n < max; i++) {
            if (s->txs[i]->nonce != want + i) {
                break;
            }
            out[n++] = s->txs[i];
        }
    }
    return n;
}
