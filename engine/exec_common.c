/* Arena allocation and the change-set result both executors produce. */
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

struct px__chunk {
    px__chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void px__arena_init(px__arena *a, size_t chunk_size)
{
    a->head = NULL;
    a->spare = NULL;
    a->spare_bytes = 0;
    a->chunk_size = chunk_size ? chunk_size : (size_t)1 << 20;
}

void *px__arena_alloc(px__arena *a, size_t n)
{
    px__chunk *c = a->head;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (c == NULL || c->size - c->used < n) {
        size_t size = n > a->chunk_size ? n : a->chunk_size;
        px__chunk **sp = &a->spare;

        /* A kept chunk that fits (its pages are already faulted in);
         * the list is short (PX__ARENA_KEEP / chunk_size at most). */
        while (*sp != NULL && (*sp)->size < n) {
            sp = &(*sp)->next;
        }
        if (*sp != NULL) {
            c = *sp;
            *sp = c->next;
            a->spare_bytes -= c->size;
        } else {
            c = malloc(sizeof(*c) + size);
            if (c == NULL) {
                return NULL;
            }
            c->size = size;
        }
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += n;
    PAREX_ASSERT(c->used <= c->size && ((uintptr_t)p & 15) == 0);
    return p;
}

void *px__arena_copy(px__arena *a, const void *p, size_t n)
{
    void *c = px__arena_alloc(a, n ? n : 1);

    if (c != NULL && n > 0) {
        memcpy(c, p, n);
    }
    return c;
}

void px__arena_reset(px__arena *a)
{
    px__chunk *c = a->head;

    /* Every chunk goes to the spare list while it stays under the bound,
     * so that the next block of the same size reuses the same pages. */
    while (c != NULL) {
        px__chunk *next = c->next;
        if (a->spare_bytes + c->size <= PX__ARENA_KEEP) {
            c->next = a->spare;
            a->spare = c;
            a->spare_bytes += c->size;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = NULL;
}

static void chunks_free(px__chunk *c)
{
    while (c != NULL) {
        px__chunk *next = c->next;
        free(c);
        c = next;
    }
}

void px__arena_finish(px__arena *a)
{
    chunks_free(a->head);
    chunks_free(a->spare);
    a->head = NULL;
    a->spare = NULL;
    a->spare_bytes = 0;
}

void px__result_init(px__result *r)
{
    memset(r, 0, sizeof(*r));
    r->reject_tx = -1;
    px__arena_init(&r->arena, (size_t)1 << 16);
}

void px__result_release(px__result *r)
{
    free(r->changes);
    free(r->sort_buf);
    px__arena_finish(&r->arena);
    px__result_init(r);
}

void px__result_reset(px__result *r)
{
    px__result keep = *r;

    px__arena_reset(&keep.arena);
    memset(r, 0, sizeof(*r));
    r->reject_tx = -1;
    r->arena = keep.arena;
    r->changes = keep.changes;
    r->cap_changes = keep.cap_changes;
    r->sort_buf = keep.sort_buf;
    r->sort_cap = keep.sort_cap;
}

int px__result_push(px__result *r, const uint8_t *key, const uint8_t *val,
    uint32_t len, int del)
{
    px__change *c;

    if (r->n_changes == r->cap_changes) {
        size_t cap = r->cap_changes ? 2 * r->cap_changes : 1024;
        px__change *nv = realloc(r->changes, cap * sizeof(*nv));
        if (nv == NULL) {
            return PAREX_E_NOMEM;
        }
        r->changes = nv;
        r->cap_changes = cap;
    }
    c = &r->changes[r->n_changes++];
    c->key = key;
    c->top = key != NULL ? px__key_top(key) : 0;   /* NULL: set later */
    c->val = del ? NULL : val;
    c->len = del ? 0 : len;
    c->del = (uint8_t)(del != 0);
    return PAREX_OK;
}

/* Whether change a's key sorts before b's: on the tops, and on the whole
 * keys only when they tie. */
static int change_lt(const px__change *a, const px__change *b)
{
    return a->top != b->top ? a->top < b->top
                            : memcmp(a->key, b->key, 32) < 0;
}

static int cmp_change(const void *a, const void *b)
{
    const px__change *x = a, *y = b;

    return change_lt(x, y) ? -1 : change_lt(y, x) ? 1 : 0;
}

/* Bucket index of a key: its top `bits` bits. */
static size_t top_bits(const px__change *c, unsigned bits)
{
    return (size_t)(c->top >> (64 - bits));
}

static void sort_small(px__change *v, size_t n)
{
    size_t i, j;

    if (n > 16) {
        qsort(v, n, sizeof(*v), cmp_change);
        return;
    }
    for (i = 1; i < n; i++) {
        px__change x = v[i];
        for (j = i; j > 0 && change_lt(&x, &v[j - 1]); j--) {
            v[j] = v[j - 1];
        }
        v[j] = x;
    }
}

/* State keys are hash outputs, so a counting sort on their top bits leaves
 * buckets of one or two: linear time where qsort's comparisons were a
 * large part of applying a big block's writes. Crafted keys that share
 * their top bits only land in one bucket, sorted by qsort: never worse
 * than O(n log n). If the buffers cannot be had, plain qsort. */
/* The change set is sorted by key and every key is in it once: what the
 * state root, the fee credit's binary search and the commit rely on. */
static void check_sorted(const px__result *r)
{
#if PAREX_CHECKED
    size_t i;
    for (i = 1; i < r->n_changes; i++) {
        PAREX_ASSERT(memcmp(r->changes[i - 1].key, r->changes[i].key, 32) <
            0);
        PAREX_ASSERT(r->changes[i].top == px__key_top(r->changes[i].key));
    }
#else
    (void)r;
#endif
}

static void result_sort(px__result *r);

/* Change sets of at least this many keys are bucket sorted. */
#define SORT_BUCKETS_MIN 64

void px__result_sort(px__result *r)
{
    result_sort(r);
    check_sorted(r);
}

void px__result_check_sorted(const px__result *r)
{
    check_sorted(r);
}

/* Sorting needs at least this many bits of buckets: one or two keys a
 * bucket for hashed keys. */
static unsigned sort_bits(size_t n)
{
    unsigned bits = 8;

    while (bits < 16 && ((size_t)1 << bits) < n / 2) {
        bits++;
    }
    return bits;
}

/* The counting sort of in's n changes on their top `bits` bits into out,
 * each bucket then sorted; cnt: 2^bits + 1 counters, any contents. */
static void bucket_sort(const px__change *in, size_t n, px__change *out,
    uint32_t *cnt, unsigned bits)
{
    size_t i, nb = (size_t)1 << bits;

    memset(cnt, 0, (nb + 1) * sizeof(*cnt));
    for (i = 0; i < n; i++) {
        cnt[top_bits(&in[i], bits) + 1]++;
    }
    for (i = 0; i < nb; i++) {
        cnt[i + 1] += cnt[i];
    }
    for (i = 0; i < n; i++) {
        out[cnt[top_bits(&in[i], bits)]++] = in[i];
    }
    /* cnt[b] is now the end of bucket b, the start of bucket b + 1. */
    for (i = 0; i < nb; i++) {
        size_t b = i == 0 ? 0 : cnt[i - 1];
        if (cnt[i] - b > 1) {
            sort_small(out + b, cnt[i] - b);
        }
    }
}

void px__sortbuf_free(px__sortbuf *sb)
{
    free(sb->buf);
    free(sb->cnt);
    memset(sb, 0, sizeof(*sb));
}

/* The bucket sort of result_sort() into sb->buf, then copied back: v is
 * a caller's array (a range of a change set, a part of the BAL index). */
void px__changes_sort(px__change *v, size_t n, px__sortbuf *sb)
{
    unsigned bits;
    size_t nb;

    if (n < SORT_BUCKETS_MIN) {
        sort_small(v, n);
        return;
    }
    bits = sort_bits(n);
    nb = (size_t)1 << bits;
    if (sb->cap < n) {
        free(sb->buf);
        sb->buf = malloc(n * sizeof(*sb->buf));
        sb->cap = sb->buf != NULL ? n : 0;
    }
    if (sb->cap_cnt < nb + 1) {
        free(sb->cnt);
        sb->cnt = malloc((nb + 1) * sizeof(*sb->cnt));
        sb->cap_cnt = sb->cnt != NULL ? nb + 1 : 0;
    }
    if (sb->buf == NULL || sb->cnt == NULL) {
        qsort(v, n, sizeof(*v), cmp_change);
        return;
    }
    bucket_sort(v, n, sb->buf, sb->cnt, bits);
    memcpy(v, sb->buf, n * sizeof(*v));
}

static void result_sort(px__result *r)
{
    size_t n = r->n_changes, cap;
    unsigned bits;
    uint32_t *cnt = NULL;
    px__change *out = NULL;

    /* Below this, qsort's calls into memcmp still cost more than the
     * buckets' counting (measured: a 800-key change set took 520k Ir
     * under qsort). */
    if (n < SORT_BUCKETS_MIN) {
        sort_small(r->changes, n);
        return;
    }
    bits = sort_bits(n);
    cnt = malloc((((size_t)1 << bits) + 1) * sizeof(*cnt));
    if (r->sort_cap < n) {
        free(r->sort_buf);
        r->sort_buf = malloc(n * sizeof(*out));
        r->sort_cap = r->sort_buf != NULL ? n : 0;
    }
    out = r->sort_buf;
    if (cnt == NULL || out == NULL) {
        qsort(r->changes, n, sizeof(*r->changes), cmp_change);
        goto out;
    }
    bucket_sort(r->changes, n, out, cnt, bits);
    /* The two buffers swap: both stay with r for the next block. */
    cap = r->sort_cap;
    r->sort_buf = r->changes;
    r->sort_cap = r->cap_changes;
    r->changes = out;
    r->cap_changes = cap;
out:
    free(cnt);
}
