/* The block log: every committed block and its receipts, appended to one
 * file next to the state. The engine stores state and headers only, and
 * node/ may reach LMDB only through the public API, so blocks and receipts
 * live here (node/API-REQUESTS.md asks for them in the store's own commit).
 *
 * Record: "PXB1" | u32le payload_len | payload | SHA-256(payload), with
 * payload = u64le height | u32le block_len | block | u32le n |
 *           n x (txid[32] | u32le status | u32le code | u64le fee).
 *
 * Crash safety: the record of height h is written (and, unless the store
 * runs without sync, fdatasync'd) before the state commit of h. So after a
 * crash the log holds every committed height, and at most one record above
 * the state's head (or a torn tail), which open cuts off. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_MAGIC "PXB1"
#define REC_RECEIPT 48
/* Receipt index values pack height and tx index. */
#define INDEX_BITS 24

struct node_blocklog {
    int fd;
    int sync;
    pthread_rwlock_t lock;     /* guards offs, nh, ids, end */
    uint64_t *offs;            /* offs[h - 1]: record of height h */
    size_t nh, cap;
    node_keymap ids;           /* txid -> height << INDEX_BITS | index */
    uint64_t end;              /* end of the published records */
    uint64_t pend_end;         /* end after the appended record, or 0 */
    uint64_t pend_height;
    uint8_t *pend_ids;         /* txids of the appended record */
    size_t pend_n;
};

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
        (uint32_t)p[3] << 24;
}

static uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | (uint64_t)ld32(p + 4) << 32;
}

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;

    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return r == 0 ? 1 : -1;   /* 1: end of file */
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int write_at(int fd, const void *buf, size_t n, uint64_t off)
{
    const uint8_t *p = buf;

    while (n > 0) {
        ssize_t r = pwrite(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return -1;
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

/* Read and check the record at off: 0 and the payload (malloc'd), 1 when
 * it is missing, torn or fails its hash (a crash mid-write), -1 on I/O
 * error. */
static int read_record(int fd, uint64_t off, uint8_t **payload, size_t *len)
{
    uint8_t hdr[8], sum[32], want[32];
    uint8_t *p;
    uint32_t n;
    int rc;

    *payload = NULL;
    rc = read_at(fd, hdr, sizeof(hdr), off);
    if (rc != 0) {
        return rc;
    }
    n = ld32(hdr + 4);
    if (memcmp(hdr, REC_MAGIC, 4) != 0 || n < 16) {
        return 1;
    }
    p = node_malloc(n);
    rc = read_at(fd, p, n, off + 8);
    if (rc == 0) {
        rc = read_at(fd, sum, 32, off + 8 + n);
    }
    if (rc != 0) {
        free(p);
        return rc;
    }
    parex_sha256(want, p, n);
    if (memcmp(want, sum, 32) != 0) {
        free(p);
        return 1;
    }
    *payload = p;
    *len = n;
    return 0;
}

typedef struct record {
    uint64_t height;
    const uint8_t *block;
    size_t block_len;
    const uint8_t *receipts;   /* n x REC_RECEIPT bytes */
    size_t n;
} record;

static int parse_record(record *r, const uint8_t *p, size_t len)
{
    size_t rest;

    r->height = ld64(p);
    r->block_len = ld32(p + 8);
    if (r->block_len > len - 16) {
        return -1;
    }
    r->block = p + 12;
    rest = len - 12 - r->block_len;
    if (rest < 4) {
        return -1;
    }
    r->n = ld32(p + 12 + r->block_len);
    r->receipts = p + 16 + r->block_len;
    if ((rest - 4) / REC_RECEIPT < r->n || rest - 4 != r->n * REC_RECEIPT) {
        return -1;
    }
    return 0;
}

static void index_record(node_blocklog *bl, const record *r, uint64_t off)
{
    size_t i;

    if (bl->nh == bl->cap) {
        bl->cap = bl->cap == 0 ? 256 : bl->cap * 2;
        bl->offs = node_realloc(bl->offs, bl->cap * sizeof(*bl->offs));
    }
    bl->offs[bl->nh++] = off;
    for (i = 0; i < r->n; i++) {
        node_keymap_put(&bl->ids, r->receipts + i * REC_RECEIPT,
            r->height << INDEX_BITS | (uint64_t)i);
    }
}

static int same_header(const parex_header *a, const parex_header *b)
{
    uint8_t ea[PAREX_HEADER_BYTES], eb[PAREX_HEADER_BYTES];

    parex_header_encode(ea, a);
    parex_header_encode(eb, b);
    return memcmp(ea, eb, sizeof(ea)) == 0;
}

int node_blocklog_open(node_blocklog **out, char *err, const char *path,
    const parex_db *db, int sync)
{
    node_blocklog *bl = node_calloc(1, sizeof(*bl));
    parex_header head, h, stored;
    uint64_t off = 0;
    uint8_t *p = NULL;
    size_t len, n;
    record r;
    int rc, ret = -1;

    *out = NULL;
    bl->fd = -1;
    pthread_rwlock_init(&bl->lock, NULL);
    bl->sync = sync;
    rc = parex_db_head(db, &head);
    if (rc != PAREX_OK) {
        node_err(err, "%s: cannot read the state's head: %s", path,
            parex_strerror(rc));
        goto out;
    }
    bl->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (bl->fd < 0) {
        node_err(err, "%s: cannot open: %s", path, strerror(errno));
        goto out;
    }
    for (;;) {
        rc = read_record(bl->fd, off, &p, &len);
        if (rc < 0) {
            node_err(err, "%s: read error at offset %llu: %s", path,
                (unsigned long long)off, strerror(errno));
            goto out;
        }
        if (rc > 0) {
            break;   /* end, or a torn tail record */
        }
        if (parse_record(&r, p, len) != 0 ||
            parex_block_peek(&h, &n, NULL, r.block, r.block_len, NULL) !=
                PAREX_OK || n != r.n) {
            node_err(err, "%s: record at offset %llu is malformed", path,
                (unsigned long long)off);
            goto out;
        }
        if (r.height != bl->nh + 1 || h.height != r.height) {
            node_err(err, "%s: record at offset %llu has height %llu, "
                "expected %zu", path, (unsigned long long)off,
                (unsigned long long)r.height, bl->nh + 1);
            goto out;
        }
        if (r.height > head.height) {
            break;   /* written, but its state commit never happened */
        }
        if (parex_db_header(db, &stored, r.height) != PAREX_OK ||
            !same_header(&stored, &h)) {
            node_err(err, "%s: block %llu differs from the state's header "
                "of that height (log and state are from different chains)",
                path, (unsigned long long)r.height);
            goto out;
        }
        index_record(bl, &r, off);
        off += 8 + len + 32;
        free(p);
        p = NULL;
    }
    if (bl->nh != head.height) {
        node_err(err, "%s: holds blocks up to height %zu but the state is at "
            "height %llu (the log was lost or cut: it must be written with "
            "the state)", path, bl->nh, (unsigned long long)head.height);
        goto out;
    }
    if (ftruncate(bl->fd, (off_t)off) != 0 ||
        (sync && fdatasync(bl->fd) != 0)) {
        node_err(err, "%s: cannot cut the log at offset %llu: %s", path,
            (unsigned long long)off, strerror(errno));
        goto out;
    }
    bl->end = off;
    *out = bl;
    ret = 0;
out:
    free(p);
    if (ret != 0) {
        node_blocklog_close(bl);
    }
    return ret;
}

void node_blocklog_close(node_blocklog *bl)
{
    if (bl == NULL) {
        return;
    }
    if (bl->fd >= 0) {
        close(bl->fd);
    }
    pthread_rwlock_destroy(&bl->lock);
    free(bl->offs);
    free(bl->pend_ids);
    node_keymap_release(&bl->ids);
    free(bl);
}

int node_blocklog_append(node_blocklog *bl, char *err, const parex_header *h,
    const uint8_t *block, size_t len, const parex_receipt *r, size_t n)
{
    node_buf b = {0};
    uint8_t sum[32];
    size_t i;
    int ret = -1;

    if (bl->pend_end != 0) {
        return node_err(err, "blocks.log: a record is already pending");
    }
    node_buf_put(&b, REC_MAGIC, 4);
    node_buf_u32le(&b, 0);
    node_buf_u64le(&b, h->height);
    node_buf_u32le(&b, (uint32_t)len);
    node_buf_put(&b, block, len);
    node_buf_u32le(&b, (uint32_t)n);
    free(bl->pend_ids);
    bl->pend_ids = node_malloc(n * 32);
    for (i = 0; i < n; i++) {
        node_buf_put(&b, r[i].txid, 32);
        node_buf_u32le(&b, r[i].status);
        node_buf_u32le(&b, (uint32_t)r[i].code);
        node_buf_u64le(&b, r[i].fee);
        memcpy(bl->pend_ids + i * 32, r[i].txid, 32);
    }
    node_put_u32le(b.p + 4, (uint32_t)(b.len - 8));
    parex_sha256(sum, b.p + 8, b.len - 8);
    node_buf_put(&b, sum, 32);
    if (write_at(bl->fd, b.p, b.len, bl->end) != 0 ||
        (bl->sync && fdatasync(bl->fd) != 0)) {
        node_err(err, "blocks.log: cannot write block %llu: %s",
            (unsigned long long)h->height, strerror(errno));
        goto out;
    }
    bl->pend_end = bl->end + b.len;
    bl->pend_height = h->height;
    bl->pend_n = n;
    ret = 0;
out:
    node_buf_release(&b);
    return ret;
}

void node_blocklog_publish(node_blocklog *bl)
{
    size_t i;

    if (bl->pend_end == 0) {
        return;
    }
    pthread_rwlock_wrlock(&bl->lock);
    if (bl->nh == bl->cap) {
        bl->cap = bl->cap == 0 ? 256 : bl->cap * 2;
        bl->offs = node_realloc(bl->offs, bl->cap * sizeof(*bl->offs));
    }
    bl->offs[bl->nh++] = bl->end;
    for (i = 0; i < bl->pend_n; i++) {
        node_keymap_put(&bl->ids, bl->pend_ids + i * 32,
            bl->pend_height << INDEX_BITS | (uint64_t)i);
    }
    bl->end = bl->pend_end;
    pthread_rwlock_unlock(&bl->lock);
    bl->pend_end = 0;
}

int node_blocklog_unappend(node_blocklog *bl, char *err)
{
    if (bl->pend_end == 0) {
        return 0;
    }
    bl->pend_end = 0;
    if (ftruncate(bl->fd, (off_t)bl->end) != 0) {
        return node_err(err, "blocks.log: cannot cut the record of block "
            "%llu: %s", (unsigned long long)bl->pend_height,
            strerror(errno));
    }
    return 0;
}

uint64_t node_blocklog_height(node_blocklog *bl)
{
    uint64_t h;

    pthread_rwlock_rdlock(&bl->lock);
    h = bl->nh;
    pthread_rwlock_unlock(&bl->lock);
    return h;
}

static void receipt_from(parex_receipt *r, const uint8_t *p)
{
    memcpy(r->txid, p, 32);
    r->status = ld32(p + 32);
    r->code = (int32_t)ld32(p + 36);
    r->fee = ld64(p + 40);
}

int node_blocklog_find(node_blocklog *bl, char *err, const uint8_t txid[32],
    uint64_t *height, uint32_t *index, parex_receipt *r)
{
    uint64_t v, off = 0;
    uint8_t bl_len[4], rec[REC_RECEIPT];
    int found;

    pthread_rwlock_rdlock(&bl->lock);
    found = node_keymap_get(&bl->ids, txid, &v);
    if (found) {
        off = bl->offs[(v >> INDEX_BITS) - 1];
    }
    pthread_rwlock_unlock(&bl->lock);
    if (!found) {
        return 0;
    }
    *height = v >> INDEX_BITS;
    *index = (uint32_t)(v & ((1u << INDEX_BITS) - 1));
    /* Records are never rewritten once published: reading unlocked is
     * safe. */
    if (read_at(bl->fd, bl_len, 4, off + 16) != 0 ||
        read_at(bl->fd, rec, sizeof(rec), off + 8 + 12 + ld32(bl_len) + 4 +
            (uint64_t)*index * REC_RECEIPT) != 0) {
        return node_err(err, "blocks.log: cannot read block %llu",
            (unsigned long long)*height);
    }
    receipt_from(r, rec);
    return 1;
}

int node_blocklog_read(node_blocklog *bl, char *err, uint64_t height,
    uint8_t **block, size_t *len, parex_receipt **r, size_t *n)
{
    uint64_t off = 0;
    uint8_t *p = NULL;
    size_t plen, i;
    record rec;
    int found;

    *block = NULL;
    *r = NULL;
    pthread_rwlock_rdlock(&bl->lock);
    found = height >= 1 && height <= bl->nh;
    if (found) {
        off = bl->offs[height - 1];
    }
    pthread_rwlock_unlock(&bl->lock);
    if (!found) {
        return 0;
    }
    if (read_record(bl->fd, off, &p, &plen) != 0 ||
        parse_record(&rec, p, plen) != 0) {
        free(p);
        return node_err(err, "blocks.log: cannot read block %llu",
            (unsigned long long)height);
    }
    *block = node_malloc(rec.block_len);
    memcpy(*block, rec.block, rec.block_len);
    *len = rec.block_len;
    *r = node_calloc(rec.n, sizeof(**r));
    for (i = 0; i < rec.n; i++) {
        receipt_from(&(*r)[i], rec.receipts + i * REC_RECEIPT);
    }
    *n = rec.n;
    free(p);
    return 1;
}
