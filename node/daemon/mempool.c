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
    uint64_t fees;             /* sum of the pending txs' fees (saturated) */
    uint64_t hint;             /* its committed next nonce, last seen */
    struct sender *prev, *next; /* in the order senders became pending */
} sender;

struct node_mempool {
    size_t max_txs, max_bytes, max_per_sender;
    size_t n, bytes, nsenders;
    uint64_t seq;
    node_keymap by_id;         /* txid -> node_mp_tx * */
    node_keymap by_sender;     /* sender -> sender * */
    sender *head, *tail;
};

node_mempool *node_mempool_create(size_t max_txs, size_t max_bytes,
    size_t max_per_sender)
{
    node_mempool *mp = node_calloc(1, sizeof(*mp));

    mp->max_txs = max_txs;
    mp->max_bytes = max_bytes;
    mp->max_per_sender = max_per_sender == 0 ? SIZE_MAX : max_per_sender;
    return mp;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Fee per byte of a below that of b (exact: 128-bit cross products). */
__extension__ typedef unsigned __int128 u128;
static int worth_less(const node_mp_tx *a, uint64_t b_fee, size_t b_len)
{
    return (u128)a->fee * (u128)b_len < (u128)b_fee * (u128)a->len;
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

typedef struct victim {
    sender *s;
    node_mp_tx *t;
    int stuck;
} victim;

/* The last tx of s cannot run before a gap in s's nonces closes. */
static int last_stuck(const sender *s)
{
    return s->txs[s->n - 1]->nonce - s->hint != s->n - 1;
}

static int victim_cmp(const void *pa, const void *pb)
{
    const victim *va = pa, *vb = pb;
    const node_mp_tx *a = va->t, *b = vb->t;

    if (va->stuck != vb->stuck) {
        return va->stuck ? -1 : 1;   /* stuck ones go first */
    }
    if (worth_less(a, b->fee, b->len)) {
        return -1;
    }
    if (worth_less(b, a->fee, a->len)) {
        return 1;
    }
    /* Equal value: the newer goes first. */
    return a->seq > b->seq ? -1 : a->seq < b->seq;
}

static void remove_at(node_mempool *mp, sender *s, size_t at);

/* Make room for one tx of len bytes paying fee (ready: it can run once the
 * txs before it do, no gap) by evicting the last (highest-nonce) txs of
 * other senders: ones stuck behind a nonce gap when the new tx is ready,
 * or ones paying strictly less per byte; stuck first, then lowest value.
 * The pool keeps what can run and pays most, and a sender's remaining txs
 * stay a run of nonces. 0 when there is room (evicted ones reported), -1
 * when there is none (nothing changed). */
static int make_room(node_mempool *mp, const uint8_t *pub, uint64_t fee,
    size_t len, int ready, node_mp_gone_fn gone, void *user)
{
    victim *v;
    sender *s;
    size_t nv = 0, k, need_n, freed_n = 0, freed_b = 0, need_b;

    need_n = mp->n + 1 > mp->max_txs ? mp->n + 1 - mp->max_txs : 0;
    need_b = len > mp->max_bytes - mp->bytes ? len - (mp->max_bytes -
        mp->bytes) : 0;
    if (need_n == 0 && need_b == 0) {
        return 0;
    }
    if (len > mp->max_bytes) {
        return -1;
    }
    v = node_malloc((mp->nsenders + 1) * sizeof(*v));
    for (s = mp->head; s != NULL; s = s->next) {
        node_mp_tx *t = s->txs[s->n - 1];
        int stuck = last_stuck(s);
        if (memcmp(s->pub, pub, 32) != 0 &&
            ((ready && stuck) || worth_less(t, fee, len))) {
            v[nv].s = s;
            v[nv].t = t;
            v[nv].stuck = stuck;
            nv++;
        }
    }
    qsort(v, nv, sizeof(*v), victim_cmp);
    for (k = 0; k < nv && (freed_n < need_n || freed_b < need_b); k++) {
        freed_n++;
        freed_b += v[k].t->len;
    }
    if (freed_n < need_n || freed_b < need_b) {
        free(v);
        return -1;
    }
    nv = k;
    for (k = 0; k < nv; k++) {
        if (gone != NULL) {
            gone(v[k].t, NODE_DROP_EVICTED, user);
        }
        remove_at(mp, v[k].s, v[k].s->n - 1);
    }
    free(v);
    return 0;
}

int node_mempool_add(node_mempool *mp, const node_mp_in *in,
    node_mp_gone_fn gone, void *user)
{
    sender *s;
    node_mp_tx *t;
    size_t at;
    int ready;

    if (node_keymap_get(&mp->by_id, in->txid, NULL)) {
        return NODE_MP_DUP;
    }
    s = sender_get(mp, in->sender);
    at = 0;
    if (s != NULL) {
        at = lower_bound(s, in->nonce);
        if (at < s->n && s->txs[at]->nonce == in->nonce) {
            return NODE_MP_NONCE_TAKEN;
        }
        if (s->n >= mp->max_per_sender) {
            return NODE_MP_SENDER_FULL;
        }
        s->hint = in->next_nonce;
    }
    /* Ready: the nonces from the sender's next one up to this tx's are
     * all pending (at of them, none below next: stale ones are gone or
     * counted out here). */
    ready = in->nonce >= in->next_nonce &&
        in->nonce - in->next_nonce == (s == NULL ? 0 : at -
            lower_bound(s, in->next_nonce));
    if (make_room(mp, in->sender, in->fee, in->len, ready, gone, user) != 0) {
        return NODE_MP_FULL;
    }
    /* Eviction never takes this sender's txs: s and at still hold. */
    if (s == NULL) {
        s = node_calloc(1, sizeof(*s));
        memcpy(s->pub, in->sender, 32);
        s->prev = mp->tail;
        if (mp->tail != NULL) {
            mp->tail->next = s;
        } else {
            mp->head = s;
        }
        mp->tail = s;
        node_keymap_put(&mp->by_sender, in->sender, (uint64_t)(uintptr_t)s);
        mp->nsenders++;
        s->hint = in->next_nonce;
    }
    t = node_calloc(1, sizeof(*t));
    memcpy(t->txid, in->txid, 32);
    memcpy(t->sender, in->sender, 32);
    t->nonce = in->nonce;
    t->fee = in->fee;
    t->t_ns = in->t_ns;
    t->seq = mp->seq++;
    t->bytes = node_malloc(in->len);
    memcpy(t->bytes, in->bytes, in->len);
    t->len = in->len;
    if (s->n == s->cap) {
        s->cap = s->cap == 0 ? 4 : s->cap * 2;
        s->txs = node_realloc(s->txs, s->cap * sizeof(*s->txs));
    }
    memmove(s->txs + at + 1, s->txs + at, (s->n - at) * sizeof(*s->txs));
    s->txs[at] = t;
    s->n++;
    s->fees = sat_add(s->fees, t->fee);
    node_keymap_put(&mp->by_id, in->txid, (uint64_t)(uintptr_t)t);
    mp->n++;
    mp->bytes += in->len;
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

uint64_t node_mempool_sender_fees(const node_mempool *mp,
    const uint8_t pub[32])
{
    const sender *s = sender_get(mp, pub);

    return s == NULL ? 0 : s->fees;
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
    /* Recomputed when it saturated; exact otherwise. */
    if (s->fees == UINT64_MAX) {
        size_t i;
        s->fees = 0;
        for (i = 0; i < s->n; i++) {
            s->fees = sat_add(s->fees, s->txs[i]->fee);
        }
    } else {
        s->fees -= t->fee;
    }
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
    size_t max_bytes, node_nonce_fn nonce_of, node_drop_fn drop, void *user)
{
    sender *s, *next;
    size_t n = 0, i, bytes = 0;
    uint64_t want;
    int gone;

    for (s = mp->head; s != NULL && n < max; s = next) {
        next = s->next;
        if (nonce_of(&want, s->pub, user) != 0) {
            continue;
        }
        s->hint = want;
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
            if (s->txs[i]->nonce != want + i ||
                s->txs[i]->len > max_bytes - bytes) {
                break;
            }
            bytes += s->txs[i]->len;
            out[n++] = s->txs[i];
        }
    }
    return n;
}

size_t node_mempool_expire(node_mempool *mp, uint64_t cutoff_ns,
    node_mp_gone_fn gone, void *user)
{
    sender *s, *next;
    size_t i, n = 0;
    int last;

    for (s = mp->head; s != NULL; s = next) {
        next = s->next;
        for (i = s->n; i-- > 0;) {
            if (s->txs[i]->t_ns < cutoff_ns) {
                last = s->n == 1;
                if (gone != NULL) {
                    gone(s->txs[i], NODE_DROP_EXPIRED, user);
                }
                remove_at(mp, s, i);   /* frees s with its last tx */
                n++;
                if (last) {
                    break;
                }
            }
        }
    }
    return n;
}

int node_mempool_copy(const node_mempool *mp, const uint8_t txid[32],
    uint8_t **bytes, size_t *len)
{
    uint64_t v;
    const node_mp_tx *t;

    if (!node_keymap_get(&mp->by_id, txid, &v)) {
        return 0;
    }
    t = (const node_mp_tx *)(uintptr_t)v;
    *bytes = node_malloc(t->len > 0 ? t->len : 1);
    memcpy(*bytes, t->bytes, t->len);
    *len = t->len;
    return 1;
}
