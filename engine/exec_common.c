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
    a->chunk_size = chunk_size ? chunk_size : (size_t)1 << 20;
}

void *px__arena_alloc(px__arena *a, size_t n)
{
    px__chunk *c = a->head;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (c == NULL || c->size - c->used < n) {
        size_t size = n > a->chunk_size ? n : a->chunk_size;
        c = malloc(sizeof(*c) + size);
        if (c == NULL) {
            return NULL;
        }
        c->size = size;
        c->used = 0;
        c->next = a->head;
        a->head = c;
    }
    p = c->data + c->used;
    c->used += n;
    return p;
}

void px__arena_reset(px__arena *a)
{
    px__chunk *c = a->head, *keep = NULL;

    /* Keep the first chunk of the default size so steady-state blocks
     * allocate nothing from malloc for small arenas. */
    while (c != NULL) {
        px__chunk *next = c->next;
        if (keep == NULL && c->size == a->chunk_size) {
            keep = c;
            keep->used = 0;
            keep->next = NULL;
        } else {
            free(c);
        }
        c = next;
    }
    a->head = keep;
}

void px__arena_finish(px__arena *a)
{
    px__chunk *c = a->head;
    while (c != NULL) {
        px__chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
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
    px__arena_finish(&r->arena);
    px__result_init(r);
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
    c->val = del ? NULL : val;
    c->len = del ? 0 : len;
    c->del = (uint8_t)(del != 0);
    return PAREX_OK;
}

static int cmp_change(const void *a, const void *b)
{
    return memcmp(((const px__change *)a)->key, ((const px__change *)b)->key,
        32);
}

void px__result_sort(px__result *r)
{
    if (r->n_changes > 1) {
        qsort(r->changes, r->n_changes, sizeof(*r->changes), cmp_change);
    }
}
