/* node_snapshot_fetch: GET /snapshot from a peer into a temporary
 * directory beside the target, verified, then renamed into place
 * (snapshot.h). libcurl (https://curl.se/libcurl/c/) for the transfer;
 * the checks go through the public API (parex_db_open, parex_db_verify).
 */
/* renameat2(2) and RENAME_EXCHANGE (glibc >= 2.28, Linux >= 3.15), the
 * only atomic way to replace a non-empty directory; flock(2). */
#define _GNU_SOURCE 1

#include "daemon.h"
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#define DEFAULT_MAX ((uint64_t)64 << 30)

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return code;
}

static int all_zero(const uint8_t *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (p[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* ---- the transfer ------------------------------------------------------ */

typedef struct xfer {
    int fd;                   /* DIR.tmp/data.mdb */
    uint64_t got, max;
    int too_big, write_failed, write_errno;
    long status;              /* seen on the first body byte */
    node_buf body;            /* a non-200 answer's text (bounded) */
    /* Headers of the answer. */
    int have_height, have_root, have_chain, have_genesis;
    uint64_t height, length;
    int have_length;
    uint8_t root[32], genesis[32];
    uint32_t chain_id;
    char retry_after[16];
    /* The identity required: checked on the first body byte, so a
     * snapshot of another chain is refused before it is downloaded. */
    uint32_t want_chain;
    uint8_t want_genesis[32];
    int mismatch;
    int bad_header;
    char bad_name[32];
} xfer;

/* "Name: value\r\n" -> value without the line end, when name matches. */
static int header_is(const char *line, size_t n, const char *name,
    char *val, size_t vcap)
{
    size_t k = strlen(name), m;

    if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':') {
        return 0;
    }
    line += k + 1;
    n -= k + 1;
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
                        line[n - 1] == ' ')) {
        n--;
    }
    m = n < vcap - 1 ? n : vcap - 1;
    memcpy(val, line, m);
    val[m] = '\0';
    return 1;
}

static size_t on_header(char *p, size_t size, size_t n, void *user)
{
    xfer *x = user;
    size_t len = size * n;
    char v[128];
    uint64_t u;

    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* A new answer (after a redirect or 100): forget the last's. */
        x->have_height = x->have_root = x->have_chain = 0;
        x->have_genesis = x->have_length = 0;
        return len;
    }
    if (header_is(p, len, "X-Parex-Height", v, sizeof(v))) {
        x->have_height = node_parse_u64(&x->height, v) == 0;
        if (!x->have_height) {
            x->bad_header = 1;
            snprintf(x->bad_name, sizeof(x->bad_name), "X-Parex-Height");
        }
    } else if (header_is(p, len, "X-Parex-State-Root", v, sizeof(v))) {
        x->have_root = strlen(v) == 64 && node_unhex(x->root, v, 64) == 32;
        if (!x->have_root) {
            x->bad_header = 1;
            snprintf(x->bad_name, sizeof(x->bad_name), "X-Parex-State-Root");
        }
    } else if (header_is(p, len, "X-Parex-Genesis", v, sizeof(v))) {
        x->have_genesis = strlen(v) == 64 &&
            node_unhex(x->genesis, v, 64) == 32;
        if (!x->have_genesis) {
            x->bad_header = 1;
            snprintf(x->bad_name, sizeof(x->bad_name), "X-Parex-Genesis");
        }
    } else if (header_is(p, len, "X-Parex-Chain-Id", v, sizeof(v))) {
        x->have_chain = node_parse_u64(&u, v) == 0 && u <= UINT32_MAX;
        x->chain_id = (uint32_t)u;
        if (!x->have_chain) {
            x->bad_header = 1;
            snprintf(x->bad_name, sizeof(x->bad_name), "X-Parex-Chain-Id");
        }
    } else if (header_is(p, len, "Content-Length", v, sizeof(v))) {
        x->have_length = node_parse_u64(&x->length, v) == 0;
    } else if (header_is(p, len, "Retry-After", v, sizeof(v))) {
        snprintf(x->retry_after, sizeof(x->retry_after), "%.15s", v);
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    xfer *x = user;
    size_t len = size * n, off = 0;

    if (x->status != 200) {
        if (x->body.len < 400) {
            node_buf_put(&x->body, p, len < 400 ? len : 400);
        }
        return len;
    }
    if (x->got + len > x->max) {
        x->too_big = 1;
        return 0; /* curl stops: CURLE_WRITE_ERROR */
    }
    while (off < len) {
        ssize_t w = write(x->fd, p + off, len - off);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            x->write_failed = 1;
            x->write_errno = w < 0 ? errno : ENOSPC;
            return 0;
        }
        off += (size_t)w;
    }
    x->got += len;
    return len;
}

/* The status is known once the headers are in: before the first body
 * byte libcurl has parsed it, so the body callback can ask. */
typedef struct xfer_ctx {
    CURL *c;
    xfer *x;
} xfer_ctx;

static size_t on_body_ctx(char *p, size_t size, size_t n, void *user)
{
    xfer_ctx *xc = user;

    if (xc->x->status == 0) {
        curl_easy_getinfo(xc->c, CURLINFO_RESPONSE_CODE, &xc->x->status);
        if (xc->x->status == 200 && xc->x->have_length &&
            xc->x->length > xc->x->max) {
            xc->x->too_big = 1;
            return 0;
        }
        if (xc->x->status == 200 && xc->x->have_chain &&
            xc->x->have_genesis &&
            ((xc->x->want_chain != 0 &&
              xc->x->chain_id != xc->x->want_chain) ||
             (!all_zero(xc->x->want_genesis, 32) &&
              memcmp(xc->x->genesis, xc->x->want_genesis, 32) != 0))) {
            xc->x->mismatch = 1;
            return 0;
        }
    }
    return on_body(p, size, n, xc->x);
}

/* ---- the target ---------------------------------------------------------- */

/* What dir holds now. */
typedef struct target {
    int exists;               /* dir exists (a directory) */
    int store;                /* it holds data.mdb */
    int lock_fd;              /* its writer.lock, flock'd; -1 */
    int lock_created;         /* this fetch made writer.lock */
    int has_chain;            /* the store has a genesis */
    uint32_t chain_id;
    uint8_t genesis[32];
    uint64_t height;
} target;

static int dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int empty = 1;

    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            empty = 0;
            break;
        }
    }
    closedir(d);
    return empty;
}

static int inspect(target *t, const char *dir, char *err, size_t errlen)
{
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_error_info ei;
    parex_header h;
    parex_db *db;
    struct stat st;
    char path[4096];
    int rc, e;

    memset(t, 0, sizeof(*t));
    t->lock_fd = -1;
    if (stat(dir, &st) != 0) {
        if (errno == ENOENT) {
            return 0;
        }
        return fail(err, errlen, PAREX_E_IO, "%s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return fail(err, errlen, PAREX_E_EXISTS, "%s exists and is not a "
            "directory; not replaced", dir);
    }
    t->exists = 1;
    /* A fixed buffer: "/writer.lock" is the longest name joined below. */
    if (strlen(dir) + sizeof("/writer.lock") > sizeof(path)) {
        return fail(err, errlen, PAREX_E_INVALID, "%s: path too long", dir);
    }
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    t->store = stat(path, &st) == 0;
    if (!t->store) {
        e = dir_empty(dir);
        if (e == 1) {
            return 0;
        }
        return fail(err, errlen, e < 0 ? PAREX_E_IO : PAREX_E_EXISTS,
            "%s holds files but no state store; not replaced", dir);
    }
    /* The writer lock for the whole fetch: a running node holds it (we
     * must not swap its store), and holding it keeps a node from starting
     * on dir until the new store is in place. */
    snprintf(path, sizeof(path), "%s/writer.lock", dir);
    t->lock_fd = open(path, O_RDWR | O_CLOEXEC);
    if (t->lock_fd < 0 && errno == ENOENT) {
        /* A store never opened read-write (a fresh copy): made here, and
         * removed again if the fetch fails, so dir stays as it was. */
        t->lock_fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
            0644);
        t->lock_created = t->lock_fd >= 0;
    }
    if (t->lock_fd < 0) {
        return fail(err, errlen, PAREX_E_IO, "%s/writer.lock: %s", dir,
            strerror(errno));
    }
    if (flock(t->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[24] = "";
        ssize_t k = pread(t->lock_fd, pid, sizeof(pid) - 1, 0);
        pid[k > 0 ? k : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(t->lock_fd);
        t->lock_fd = -1;
        return fail(err, errlen, PAREX_E_LOCKED, "%s is in use by a writer "
            "(pid %s): stop it before fetching a snapshot into it", dir,
            pid[0] != '\0' ? pid : "unknown");
    }
    o.read_only = 1;
    o.no_create = 1;
    rc = parex_db_open(&db, &ei, dir, &o);
    if (rc != PAREX_OK) {
        return fail(err, errlen, rc, "%s: cannot open the existing store: "
            "%s", dir, ei.message);
    }
    rc = parex_db_chain(db, &t->chain_id, t->genesis);
    if (rc == PAREX_OK) {
        rc = parex_db_head(db, &h);
        t->height = h.height;
        t->has_chain = rc == PAREX_OK;
    }
    parex_db_close(db);
    if (rc != PAREX_OK && rc != PAREX_E_NOTFOUND) {
        return fail(err, errlen, rc, "%s: cannot read the existing store's "
            "chain: %s", dir, parex_strerror(rc));
    }
    return 0;
}

/* ---- checks of the downloaded copy -------------------------------------- */

static int check_identity(const char *what, uint32_t chain_id,
    const uint8_t genesis[32], uint32_t want_chain,
    const uint8_t want_genesis[32], const char *want_what, char *err,
    size_t errlen)
{
    char a[65], b[65];

    if (want_chain != 0 && chain_id != want_chain) {
        return fail(err, errlen, PAREX_E_MISMATCH, "%s is of chain id %u, "
            "%s is of chain id %u", what, (unsigned)chain_id, want_what,
            (unsigned)want_chain);
    }
    if (!all_zero(want_genesis, 32) && memcmp(genesis, want_genesis, 32)) {
        node_hex(a, genesis, 32);
        node_hex(b, want_genesis, 32);
        return fail(err, errlen, PAREX_E_MISMATCH, "%s has genesis %s, %s "
            "has genesis %s", what, a, want_what, b);
    }
    return 0;
}

/* Open the copy in tmp, compare it with the peer's headers, recompute its
 * root. */
static int check_copy(const char *tmp, const char *url, const xfer *x,
    node_snapshot_info *info, char *err, size_t errlen)
{
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_error_info ei;
    parex_header h;
    parex_db *db;
    uint8_t root[32];
    char a[65], b[65];
    int rc;

    o.read_only = 1;
    o.no_create = 1;
    rc = parex_db_open(&db, &ei, tmp, &o);
    if (rc != PAREX_OK) {
        return fail(err, errlen, PAREX_E_CORRUPT, "%s: the downloaded "
            "snapshot does not open as a state store: %s", url, ei.message);
    }
    rc = parex_db_head(db, &h);
    if (rc == PAREX_OK) {
        rc = parex_db_chain(db, &info->chain_id, info->genesis);
    }
    if (rc != PAREX_OK) {
        parex_db_close(db);
        return fail(err, errlen, PAREX_E_CORRUPT, "%s: the downloaded "
            "snapshot has no readable head or chain: %s", url,
            parex_strerror(rc));
    }
    if (h.height != x->height || memcmp(h.state_root, x->root, 32) != 0) {
        node_hex(a, h.state_root, 32);
        node_hex(b, x->root, 32);
        parex_db_close(db);
        return fail(err, errlen, PAREX_E_CORRUPT, "%s: the downloaded "
            "snapshot is at height %llu root %s, the peer announced height "
            "%llu root %s", url, (unsigned long long)h.height, a,
            (unsigned long long)x->height, b);
    }
    rc = check_identity("the downloaded snapshot", info->chain_id,
        info->genesis, x->chain_id, x->genesis, "the peer's header", err,
        errlen);
    if (rc != 0) {
        parex_db_close(db);
        return PAREX_E_CORRUPT;
    }
    rc = parex_db_verify(db, root);
    parex_db_close(db);
    if (rc != PAREX_OK) {
        node_hex(a, root, 32);
        node_hex(b, h.state_root, 32);
        return fail(err, errlen, PAREX_E_CORRUPT, "%s: the downloaded "
            "snapshot at height %llu does not verify: %s (recomputed root "
            "%s, header root %s)", url, (unsigned long long)h.height,
            parex_strerror(rc), rc == PAREX_E_CORRUPT ? a : "-", b);
    }
    info->height = h.height;
    memcpy(info->state_root, root, 32);
    return 0;
}

/* ---- the fetch ------------------------------------------------------------ */

static int fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC), rc;

    if (fd < 0) {
        return -1;
    }
    rc = fsync(fd);
    close(fd);
    return rc;
}

/* The transfer into tmp/data.mdb; 0 or a code with err. */
static int download(const char *url, const char *tmp,
    const node_snapshot_opts *o, xfer *x, char *err, size_t errlen)
{
    size_t n = strlen(tmp) + 16;
    char *file = node_malloc(n);
    xfer_ctx xc;
    CURLcode cc;
    CURL *c;
    int rc = 0;

    snprintf(file, n, "%s/data.mdb", tmp);
    x->fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (x->fd < 0) {
        rc = fail(err, errlen, PAREX_E_IO, "%s: %s", file, strerror(errno));
        free(file);
        return rc;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        (c = curl_easy_init()) == NULL) {
        close(x->fd);
        free(file);
        return fail(err, errlen, PAREX_E_NOMEM, "%s: cannot set up libcurl",
            url);
    }
    xc.c = c;
    xc.x = x;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body_ctx);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &xc);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
    if (o->timeout_ms > 0) {
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->timeout_ms);
    }
    cc = curl_easy_perform(c);
    if (x->status == 0) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status);
    }
    curl_easy_cleanup(c);
    while (x->body.len > 0 && (x->body.p[x->body.len - 1] == '\n' ||
                                  x->body.p[x->body.len - 1] == '\r')) {
        x->body.len--;
    }
    if (x->mismatch) {
        rc = 1; /* the caller's check_identity names both */
    } else if (x->too_big) {
        rc = fail(err, errlen, PAREX_E_LIMIT, "%s: the snapshot is over "
            "the %llu-byte limit (%llu bytes announced)", url,
            (unsigned long long)x->max, (unsigned long long)x->length);
    } else if (x->write_failed) {
        rc = fail(err, errlen, PAREX_E_IO, "%s: %s", file,
            strerror(x->write_errno));
    } else if (cc != CURLE_OK) {
        if (x->have_length && x->status == 200) {
            rc = fail(err, errlen, PAREX_E_IO, "%s: the transfer was cut "
                "short: %llu of %llu bytes (%s)", url,
                (unsigned long long)x->got, (unsigned long long)x->length,
                curl_easy_strerror(cc));
        } else {
            rc = fail(err, errlen, PAREX_E_IO, "%s: %s", url,
                curl_easy_strerror(cc));
        }
    } else if (x->status == 503) {
        rc = fail(err, errlen, PAREX_E_LIMIT, "%s: HTTP 503: the peer is "
            "busy (another snapshot is being sent); retry after %s s", url,
            x->retry_after[0] != '\0' ? x->retry_after : "a few");
    } else if (x->status == 404) {
        rc = fail(err, errlen, PAREX_E_NOTFOUND, "%s: HTTP 404: the peer "
            "serves no snapshots (%.*s)", url, (int)x->body.len,
            x->body.p != NULL ? (const char *)x->body.p : "");
    } else if (x->status != 200) {
        rc = fail(err, errlen, PAREX_E_IO, "%s: HTTP %ld: %.*s", url,
            x->status, (int)x->body.len,
            x->body.p != NULL ? (const char *)x->body.p : "");
    } else if (x->bad_header) {
        rc = fail(err, errlen, PAREX_E_INVALID, "%s: malformed %s header",
            url, x->bad_name);
    } else if (!x->have_height || !x->have_root || !x->have_chain ||
               !x->have_genesis) {
        rc = fail(err, errlen, PAREX_E_INVALID, "%s: the answer lacks the "
            "X-Parex-Height, -State-Root, -Chain-Id and -Genesis headers "
            "(not a parex node?)", url);
    } else if (!x->have_length || x->got != x->length) {
        rc = fail(err, errlen, PAREX_E_IO, "%s: the transfer was cut short: "
            "%llu of %s%llu bytes", url, (unsigned long long)x->got,
            x->have_length ? "" : "an unannounced size, not ",
            (unsigned long long)x->length);
    } else if (fsync(x->fd) != 0) {
        rc = fail(err, errlen, PAREX_E_IO, "%s: fsync: %s", file,
            strerror(errno));
    }
    close(x->fd);
    x->fd = -1;
    free(file);
    return rc;
}

int node_snapshot_fetch_opts(const char *peer_url, const char *dir,
    const node_snapshot_opts *o, node_snapshot_info *info, char *err,
    size_t errlen)
{
    static const node_snapshot_opts none;
    node_snapshot_info got;
    node_http h;
    target t;
    xfer x;
    char ebuf[NODE_ERR_LEN], url[640], want_what[600];
    char *tmp = NULL, *copy, *slash, *parent;
    const char *base;
    uint32_t want_chain;
    uint8_t want_genesis[32];
    size_t n;
    int rc;

    if (err == NULL || errlen == 0) {
        return PAREX_E_MISUSE;
    }
    err[0] = '\0';
    if (peer_url == NULL || dir == NULL || dir[0] == '\0') {
        return fail(err, errlen, PAREX_E_MISUSE, "NULL or empty argument");
    }
    if (o == NULL) {
        o = &none;
    }
    memset(&got, 0, sizeof(got));
    memset(&x, 0, sizeof(x));
    x.fd = -1;
    x.max = o->max_bytes != 0 ? o->max_bytes : DEFAULT_MAX;
    if (node_http_parse_url(&h, ebuf, peer_url) != 0) {
        return fail(err, errlen, PAREX_E_INVALID, "%s", ebuf);
    }
    n = strlen(h.url);
    snprintf(url, sizeof(url), "%s%s", h.url,
        h.url[n - 1] == '/' ? "snapshot" : "");

    rc = inspect(&t, dir, err, errlen);
    if (rc != 0) {
        goto out;
    }
    /* The identity the snapshot must have: o's and the existing store's,
     * which must agree with each other first. */
    want_chain = o->chain_id;
    memcpy(want_genesis, o->genesis, 32);
    snprintf(want_what, sizeof(want_what), "the one required");
    if (t.has_chain) {
        rc = check_identity(dir, t.chain_id, t.genesis, o->chain_id,
            o->genesis, "the one required", err, errlen);
        if (rc != 0) {
            goto out;
        }
        want_chain = t.chain_id;
        memcpy(want_genesis, t.genesis, 32);
        snprintf(want_what, sizeof(want_what), "the store in %s", dir);
    }

    /* The temporary directory beside dir: same file system, so the final
     * rename is atomic. */
    copy = node_strdup(dir);
    n = strlen(copy);
    while (n > 1 && copy[n - 1] == '/') {
        copy[--n] = '\0';
    }
    slash = strrchr(copy, '/');
    if (slash == NULL) {
        parent = ".";
        base = copy;
    } else if (slash == copy) {
        parent = "/";
        base = copy + 1;
    } else {
        *slash = '\0';
        parent = copy;
        base = slash + 1;
    }
    n = strlen(parent) + strlen(base) + 32;
    tmp = node_malloc(n);
    snprintf(tmp, n, "%s/.%s.fetch-XXXXXX", parent, base);
    if (mkdtemp(tmp) == NULL) {
        rc = fail(err, errlen, PAREX_E_IO, "cannot make a temporary "
            "directory in %s: %s", parent, strerror(errno));
        free(copy);
        free(tmp);
        tmp = NULL;
        goto out;
    }

    x.want_chain = want_chain;
    memcpy(x.want_genesis, want_genesis, 32);
    rc = download(url, tmp, o, &x, err, errlen);
    if (rc == 0 || x.mismatch) {
        rc = check_identity("the peer's snapshot", x.chain_id, x.genesis,
            want_chain, want_genesis, want_what, err, errlen);
        if (rc == 0 && x.mismatch) {
            rc = fail(err, errlen, PAREX_E_MISMATCH, "the peer's snapshot "
                "is of another chain"); /* not reached: same test */
        }
    }
    if (rc == 0) {
        rc = check_copy(tmp, url, &x, &got, err, errlen);
    }
    if (rc == 0 && t.has_chain && got.height < t.height) {
        rc = fail(err, errlen, PAREX_E_EXISTS, "%s is at height %llu, "
            "ahead of the snapshot's %llu; not replaced", dir,
            (unsigned long long)t.height, (unsigned long long)got.height);
    }
    if (rc == 0) {
        /* Into place in one step. */
        if (!t.store) {
            if (rename(tmp, dir) != 0) {
                rc = fail(err, errlen, PAREX_E_IO, "cannot rename %s to "
                    "%s: %s", tmp, dir, strerror(errno));
            }
        } else if (renameat2(AT_FDCWD, tmp, AT_FDCWD, dir,
                       RENAME_EXCHANGE) != 0) {
            rc = fail(err, errlen, PAREX_E_IO, "cannot swap %s with %s "
                "(renameat2 RENAME_EXCHANGE): %s", tmp, dir,
                strerror(errno));
        }
        /* tmp now names the old store, or nothing. */
        if (rc == 0) {
            (void)fsync_path(parent, O_RDONLY | O_DIRECTORY);
            got.bytes = x.got;
        }
    }
    if (rc == 0 && !t.store) {
        free(tmp);
        tmp = NULL; /* renamed: nothing to remove */
    }
    free(copy);

out:
    if (tmp != NULL) {
        (void)node_rmtree(tmp);
        free(tmp);
    }
    if (t.lock_fd >= 0) {
        if (rc != 0 && t.lock_created) {
            size_t k = strlen(dir) + sizeof("/writer.lock");
            char *lp = node_malloc(k);

            snprintf(lp, k, "%s/writer.lock", dir);
            (void)unlink(lp); /* still ours: we hold its lock */
            free(lp);
        }
        close(t.lock_fd);
    }
    node_buf_release(&x.body);
    if (rc == 0) {
        if (info != NULL) {
            *info = got;
        }
        err[0] = '\0';
    }
    return rc;
}

int node_snapshot_fetch(const char *peer_url, const char *dir,
    uint64_t *height, char *err, size_t errlen)
{
    node_snapshot_info info;
    int rc = node_snapshot_fetch_opts(peer_url, dir, NULL, &info, err,
        errlen);

    if (rc == 0 && height != NULL) {
        *height = info.height;
    }
    return rc;
}
