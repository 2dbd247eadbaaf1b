/* The ordering protocol over etcd (see order.h and docs/cluster.md). */
#include "order.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_LEN 64
#define HASH_MAX_LEN 64
/* "/parex/" + id + "/" + hex + "/" */
#define PREFIX_CAP (7 + NAME_MAX_LEN + 1 + 2 * HASH_MAX_LEN + 2)
#define KEY_CAP (PREFIX_CAP + 6 + NAME_MAX_LEN + 8)
#define HEIGHT_DIGITS 20

struct pxc_chain {
    node_etcd *e; /* the caller's thread */
    char *endpoints;
    long timeout_ms;
    char prefix[PREFIX_CAP];
    char chain_key[PREFIX_CAP];
    char name[NAME_MAX_LEN + 1];
    char *url;
    char hash_hex[2 * HASH_MAX_LEN + 1];
    int64_t ttl_s;

    /* Shared with the keepalive thread; under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t lease;       /* 0: none */
    int64_t term;        /* the leader key's create_revision we won; 0 */
    int64_t deadline_ms; /* monotonic: the lease is alive until then */
    bool lost;           /* etcd said the lease is gone */
    bool ka_running, ka_stop;
    pthread_t ka;

    char err[PXC_ERR_LEN];
};

const char *pxc_code_name(int rc)
{
    switch (rc) {
    case PXC_E_GENESIS: return "E_GENESIS";
    case PXC_E_FENCED: return "E_FENCED";
    case PXC_E_EXISTS: return "E_EXISTS";
    case PXC_E_GAP: return "E_GAP";
    case PXC_E_COMPACTED: return "E_COMPACTED";
    case PXC_E_TIMEOUT: return "E_TIMEOUT";
    case PXC_E_CORRUPT: return "E_CORRUPT";
    default: return node_etcd_code_name(rc);
    }
}

static int seterr(pxc_chain *c, int rc, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int seterr(pxc_chain *c, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    return rc;
}

/* An etcd failure: its message as ours, its code as ours. */
static int etcd_fail(pxc_chain *c, int rc, const char *what)
{
    return seterr(c, rc, "%s: %s", what, node_etcd_errmsg(c->e));
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool good_name(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    size_t i;

    if (n == 0 || n > NAME_MAX_LEN) {
        return false;
    }
    for (i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-')) {
            return false;
        }
    }
    return true;
}

/* P + suffix into out (KEY_CAP). Returns the length. */
static size_t key(const pxc_chain *c, char *out, const char *suffix)
{
    int n = snprintf(out, KEY_CAP, "%s%s", c->prefix, suffix);
    return n < 0 ? 0 : (size_t)n;
}

static void pad_height(char out[HEIGHT_DIGITS + 1], uint64_t h)
{
    snprintf(out, HEIGHT_DIGITS + 1, "%020" PRIu64, h);
}

static size_t block_key(const pxc_chain *c, char *out, uint64_t h)
{
    char suffix[6 + HEIGHT_DIGITS + 1];

    snprintf(suffix, sizeof suffix, "block/%020" PRIu64, h);
    return key(c, out, suffix);
}

/* Parse a padded height (exactly HEIGHT_DIGITS digits). */
static int parse_height(const uint8_t *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n != HEIGHT_DIGITS) {
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' ||
            v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return 0;
}

/* The height of a block key, or -1 if it is not one. */
static int block_key_height(const pxc_chain *c, const node_etcd_kv *kv,
                            uint64_t *h)
{
    size_t plen = strlen(c->prefix);

    if (kv->key_len != plen + 6 + HEIGHT_DIGITS ||
        memcmp(kv->key, c->prefix, plen) != 0 ||
        memcmp(kv->key + plen, "block/", 6) != 0) {
        return -1;
    }
    return parse_height(kv->key + plen + 6, HEIGHT_DIGITS, h);
}

/* ---- open / close ------------------------------------------------------- */

static void hex(char *out, const uint8_t *in, size_t n)
{
    static const char d[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int pxc_open(pxc_chain **out, const pxc_config *cfg, char *err)
{
    pxc_chain *c;
    char low_key[KEY_CAP], gen_key[KEY_CAP], low[HEIGHT_DIGITS + 1];
    node_etcd_cmp cmp[1];
    node_etcd_op succ[3], fail[2];
    node_etcd_kvs r;
    size_t first[3], cnt[3]; /* the larger branch */
    bool ok;
    int rc;

    *out = NULL;
    if (!good_name(cfg->chain_id)) {
        snprintf(err, PXC_ERR_LEN,
                 "cluster: chain id \"%s\" must be 1..%d characters of "
                 "[A-Za-z0-9._-]", cfg->chain_id ? cfg->chain_id : "",
                 NAME_MAX_LEN);
        return PXC_E_INVALID;
    }
    if (!good_name(cfg->node_name)) {
        snprintf(err, PXC_ERR_LEN,
                 "cluster: node name \"%s\" must be 1..%d characters of "
                 "[A-Za-z0-9._-]", cfg->node_name ? cfg->node_name : "",
                 NAME_MAX_LEN);
        return PXC_E_INVALID;
    }
    if (cfg->genesis_hash == NULL || cfg->genesis_hash_len == 0 ||
        cfg->genesis_hash_len > HASH_MAX_LEN) {
        snprintf(err, PXC_ERR_LEN,
                 "cluster: the genesis hash must be 1..%d bytes (got %zu)",
                 HASH_MAX_LEN, cfg->genesis_hash_len);
        return PXC_E_INVALID;
    }
    if (cfg->lease_ttl_s < 0 || cfg->lease_ttl_s > 3600 ||
        cfg->timeout_ms < 0) {
        snprintf(err, PXC_ERR_LEN,
                 "cluster: lease TTL %lld s must be 1..3600 (0: default) "
                 "and the timeout %ld ms not negative",
                 (long long)cfg->lease_ttl_s, cfg->timeout_ms);
        return PXC_E_INVALID;
    }
    if (cfg->advertise_url != NULL && strlen(cfg->advertise_url) >= 256) {
        snprintf(err, PXC_ERR_LEN,
                 "cluster: the advertised URL is longer than 255 bytes");
        return PXC_E_INVALID;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL) {
        snprintf(err, PXC_ERR_LEN, "cluster: out of memory");
        return PXC_E_NOMEM;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : PXC_DEFAULT_TIMEOUT_MS;
    c->ttl_s = cfg->lease_ttl_s ? cfg->lease_ttl_s : PXC_DEFAULT_TTL_S;
    snprintf(c->name, sizeof c->name, "%s", cfg->node_name);
    hex(c->hash_hex, cfg->genesis_hash, cfg->genesis_hash_len);
    snprintf(c->prefix, sizeof c->prefix, "/parex/%s/%s/", cfg->chain_id,
             c->hash_hex);
    snprintf(c->chain_key, sizeof c->chain_key, "/parex/%s/genesis",
             cfg->chain_id);
    c->endpoints = strdup(cfg->endpoints ? cfg->endpoints : "");
    c->url = cfg->advertise_url ? strdup(cfg->advertise_url) : NULL;
    if (c->endpoints == NULL || (cfg->advertise_url && c->url == NULL)) {
        snprintf(err, PXC_ERR_LEN, "cluster: out of memory");
        rc = PXC_E_NOMEM;
        goto err_free;
    }
    rc = node_etcd_create(&c->e, cfg->endpoints, c->timeout_ms, err);
    if (rc != NODE_ETCD_OK) {
        goto err_free;
    }

    /* One txn: the first joiner creates the chain; others see who did. */
    key(c, low_key, "low");
    key(c, gen_key, "genesis");
    pad_height(low, 1);
    cmp[0] = (node_etcd_cmp){ .key = c->chain_key,
                              .key_len = strlen(c->chain_key),
                              .target = NODE_ETCD_CREATE,
                              .result = NODE_ETCD_EQUAL, .number = 0 };
    succ[0] = (node_etcd_op){ .type = NODE_ETCD_OP_PUT, .key = c->chain_key,
                              .key_len = strlen(c->chain_key),
                              .value = c->hash_hex,
                              .value_len = strlen(c->hash_hex) };
    succ[1] = (node_etcd_op){ .type = NODE_ETCD_OP_PUT, .key = gen_key,
                              .key_len = strlen(gen_key),
                              .value = cfg->genesis ? cfg->genesis : "",
                              .value_len = cfg->genesis_len };
    succ[2] = (node_etcd_op){ .type = NODE_ETCD_OP_PUT, .key = low_key,
                              .key_len = strlen(low_key), .value = low,
                              .value_len = HEIGHT_DIGITS };
    fail[0] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = c->chain_key,
                              .key_len = strlen(c->chain_key) };
    fail[1] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = gen_key,
                              .key_len = strlen(gen_key) };
    /* Without genesis bytes this node can only join an existing chain: an
     * empty success branch makes the txn a read. */
    rc = node_etcd_txn(c->e, cmp, 1, succ, cfg->genesis ? 3 : 0, fail, 2, &ok,
                       &r, first, cnt, NULL);
    if (rc != NODE_ETCD_OK) {
        snprintf(err, PXC_ERR_LEN, "cluster: joining chain \"%s\": %s",
                 cfg->chain_id, node_etcd_errmsg(c->e));
        goto err_free;
    }
    if (ok) {
        if (cfg->genesis == NULL) {
            snprintf(err, PXC_ERR_LEN,
                     "cluster: chain \"%s\" does not exist in etcd (no %s) "
                     "and this node has no genesis to create it with",
                     cfg->chain_id, c->chain_key);
            node_etcd_kvs_release(&r);
            rc = PXC_E_GENESIS;
            goto err_free;
        }
    } else {
        const node_etcd_kv *ck = cnt[0] ? &r.kv[first[0]] : NULL;
        const node_etcd_kv *gk = cnt[1] ? &r.kv[first[1]] : NULL;

        if (ck == NULL || ck->value_len != strlen(c->hash_hex) ||
            memcmp(ck->value, c->hash_hex, ck->value_len) != 0) {
            int vlen = ck ? (int)(ck->value_len > 128 ? 128 : ck->value_len)
                          : 9;
            snprintf(err, PXC_ERR_LEN,
                     "cluster: chain \"%s\" in etcd has genesis %.*s; this "
                     "node's genesis is %s: refusing to join (another chain "
                     "id, or this chain's genesis, is needed)",
                     cfg->chain_id, vlen,
                     ck ? (const char *)ck->value : "(deleted)", c->hash_hex);
            node_etcd_kvs_release(&r);
            rc = PXC_E_GENESIS;
            goto err_free;
        }
        if (gk == NULL) {
            snprintf(err, PXC_ERR_LEN,
                     "cluster: chain \"%s\" names genesis %s but %sgenesis "
                     "is missing from etcd", cfg->chain_id, c->hash_hex,
                     c->prefix);
            node_etcd_kvs_release(&r);
            rc = PXC_E_CORRUPT;
            goto err_free;
        }
        if (cfg->genesis != NULL &&
            (gk->value_len != cfg->genesis_len ||
             memcmp(gk->value, cfg->genesis, cfg->genesis_len) != 0)) {
            snprintf(err, PXC_ERR_LEN,
                     "cluster: chain \"%s\": genesis %s in etcd (%zu bytes) "
                     "differs from this node's genesis bytes (%zu bytes) "
                     "with the same hash %s: refusing to join",
                     cfg->chain_id, c->hash_hex, gk->value_len,
                     cfg->genesis_len, c->hash_hex);
            node_etcd_kvs_release(&r);
            rc = PXC_E_GENESIS;
            goto err_free;
        }
    }
    node_etcd_kvs_release(&r);
    *out = c;
    return PXC_OK;

err_free:
    node_etcd_destroy(c->e);
    free(c->endpoints);
    free(c->url);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
    return rc;
}

void pxc_close(pxc_chain *c)
{
    if (c == NULL) {
        return;
    }
    pxc_keepalive_stop(c);
    if (c->lease != 0) {
        (void)pxc_resign(c);
    }
    node_etcd_destroy(c->e);
    free(c->endpoints);
    free(c->url);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

const char *pxc_errmsg(const pxc_chain *c)
{
    return c->err;
}

const char *pxc_prefix(const pxc_chain *c)
{
    return c->prefix;
}

int pxc_genesis(pxc_chain *c, uint8_t **bytes, size_t *len)
{
    char k[KEY_CAP];
    node_etcd_kv kv;
    size_t klen = key(c, k, "genesis");
    int rc = node_etcd_get(c->e, k, klen, &kv);

    *bytes = NULL;
    *len = 0;
    if (rc == NODE_ETCD_E_NOTFOUND) {
        return seterr(c, PXC_E_CORRUPT, "cluster: %s is missing from etcd",
                      k);
    }
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: reading the genesis");
    }
    *bytes = kv.value;
    *len = kv.value_len;
    kv.value = NULL;
    node_etcd_kv_release(&kv);
    return PXC_OK;
}

/* ---- leadership --------------------------------------------------------- */

static void leader_from_kv(pxc_leader *out, const node_etcd_kv *kv)
{
    memset(out, 0, sizeof *out);
    if (kv == NULL) {
        return;
    }
    out->held = true;
    snprintf(out->name, sizeof out->name, "%.*s",
             (int)(kv->value_len > 64 ? 64 : kv->value_len),
             (const char *)kv->value);
    out->term = kv->create_revision;
    out->lease = kv->lease;
}

/* Fill out->url from P node/<name> (best effort). */
static void leader_url(pxc_chain *c, pxc_leader *out)
{
    char suffix[6 + NAME_MAX_LEN + 8], k[KEY_CAP];
    node_etcd_kv kv;
    size_t klen;

    if (!out->held || out->name[0] == '\0') {
        return;
    }
    snprintf(suffix, sizeof suffix, "node/%s", out->name);
    klen = key(c, k, suffix);
    if (node_etcd_get(c->e, k, klen, &kv) == NODE_ETCD_OK) {
        snprintf(out->url, sizeof out->url, "%.*s",
                 (int)(kv.value_len > 255 ? 255 : kv.value_len),
                 (const char *)kv.value);
        node_etcd_kv_release(&kv);
    }
}

int pxc_leader_get(pxc_chain *c, pxc_leader *out)
{
    char k[KEY_CAP];
    size_t klen = key(c, k, "leader");
    node_etcd_kv kv;
    int rc = node_etcd_get(c->e, k, klen, &kv);

    memset(out, 0, sizeof *out);
    if (rc == NODE_ETCD_E_NOTFOUND) {
        return PXC_OK;
    }
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: reading the leader key");
    }
    leader_from_kv(out, &kv);
    node_etcd_kv_release(&kv);
    leader_url(c, out);
    return PXC_OK;
}

int pxc_peers(pxc_chain *c, pxc_peer **peers, size_t *n)
{
    char pre[KEY_CAP], endk[KEY_CAP];
    size_t plen = key(c, pre, "node/"), endlen, i, m = 0;
    node_etcd_range_opts o = { .limit = PXC_MAX_PEERS };
    node_etcd_kvs r;
    pxc_peer *out;
    int rc;

    *peers = NULL;
    *n = 0;
    node_etcd_prefix_end((uint8_t *)endk, &endlen, pre, plen);
    rc = node_etcd_range(c->e, pre, plen, endk, endlen, &o, &r);
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: listing the nodes");
    }
    out = calloc(r.n + 1, sizeof *out);
    if (out == NULL) {
        node_etcd_kvs_release(&r);
        return seterr(c, PXC_E_NOMEM, "cluster: peers: out of memory");
    }
    for (i = 0; i < r.n; i++) {
        const node_etcd_kv *kv = &r.kv[i];
        size_t nl = kv->key_len - plen;

        if (kv->key_len <= plen || nl >= sizeof out[m].name ||
            kv->value_len == 0 || kv->value_len >= sizeof out[m].url) {
            continue; /* not a node key of this layout: skip it */
        }
        memcpy(out[m].name, kv->key + plen, nl);
        out[m].name[nl] = '\0';
        memcpy(out[m].url, kv->value, kv->value_len);
        out[m].url[kv->value_len] = '\0';
        m++;
    }
    node_etcd_kvs_release(&r);
    if (m == 0) {
        free(out);
        out = NULL;
    }
    *peers = out;
    *n = m;
    return PXC_OK;
}

/* Make sure this node has a live lease with (nearly) its whole TTL ahead:
 * renew the one it has, or grant a new one if there is none or etcd says it
 * is gone. Renewing first matters: a node that campaigned and lost long ago
 * would otherwise win on a lease with little time left and lose it again
 * before its first keepalive. */
static int ensure_lease(pxc_chain *c)
{
    int64_t id, granted, t0, lease;
    bool lost;
    int rc;

    pthread_mutex_lock(&c->mu);
    lease = c->lease;
    lost = c->lost;
    pthread_mutex_unlock(&c->mu);
    if (lease != 0 && !lost) {
        rc = pxc_keepalive(c);
        if (rc != PXC_E_FENCED) {
            return rc; /* renewed, or etcd is unavailable */
        }
    }
    t0 = now_ms();
    rc = node_etcd_lease_grant(c->e, c->ttl_s, &id, &granted);
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: campaign");
    }
    pthread_mutex_lock(&c->mu);
    c->lease = id;
    c->term = 0;
    c->lost = false;
    c->deadline_ms = t0 + granted * 1000;
    pthread_mutex_unlock(&c->mu);
    return PXC_OK;
}

int pxc_campaign(pxc_chain *c, bool *won, pxc_leader *leader)
{
    char k[KEY_CAP], nk[KEY_CAP], suffix[6 + NAME_MAX_LEN + 8];
    size_t klen = key(c, k, "leader"), nklen;
    node_etcd_cmp cmp;
    node_etcd_op put, get;
    node_etcd_kvs r;
    pxc_leader l;
    int64_t lease, rev = 0;
    bool ok;
    int rc, tries;

    *won = false;
    if (leader != NULL) {
        memset(leader, 0, sizeof *leader);
    }
    snprintf(suffix, sizeof suffix, "node/%s", c->name);
    nklen = key(c, nk, suffix);
    for (tries = 0;; tries++) {
        rc = ensure_lease(c);
        if (rc != PXC_OK) {
            return rc;
        }
        pthread_mutex_lock(&c->mu);
        lease = c->lease;
        pthread_mutex_unlock(&c->mu);
        rc = NODE_ETCD_OK;
        if (c->url != NULL) {
            rc = node_etcd_put(c->e, nk, nklen, c->url, strlen(c->url), lease,
                               NULL);
        }
        if (rc == NODE_ETCD_E_LEASE && tries == 0) {
            pthread_mutex_lock(&c->mu);
            c->lost = true; /* expired under us: take a new one */
            pthread_mutex_unlock(&c->mu);
            continue;
        }
        if (rc != NODE_ETCD_OK) {
            return etcd_fail(c, rc, "cluster: publishing this node's URL");
        }
        break;
    }
    cmp = (node_etcd_cmp){ .key = k, .key_len = klen,
                           .target = NODE_ETCD_CREATE,
                           .result = NODE_ETCD_EQUAL, .number = 0 };
    put = (node_etcd_op){ .type = NODE_ETCD_OP_PUT, .key = k, .key_len = klen,
                          .value = c->name, .value_len = strlen(c->name),
                          .lease = lease };
    get = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = k,
                          .key_len = klen };
    rc = node_etcd_txn(c->e, &cmp, 1, &put, 1, &get, 1, &ok, &r, NULL, NULL,
                       &rev);
    if (rc == NODE_ETCD_E_LEASE) {
        pthread_mutex_lock(&c->mu);
        c->lost = true;
        pthread_mutex_unlock(&c->mu);
        return seterr(c, PXC_E_FENCED,
                      "cluster: campaign: this node's lease %lld expired "
                      "before the leader key was written; campaign again",
                      (long long)lease);
    }
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: campaign");
    }
    if (ok) {
        /* The put ran at the txn's revision: that is the key's
         * create_revision, our term. */
        memset(&l, 0, sizeof l);
        l.held = true;
        snprintf(l.name, sizeof l.name, "%s", c->name);
        l.term = rev;
        l.lease = lease;
        if (c->url != NULL) {
            snprintf(l.url, sizeof l.url, "%s", c->url);
        }
    } else {
        leader_from_kv(&l, r.n ? &r.kv[0] : NULL);
        leader_url(c, &l);
    }
    node_etcd_kvs_release(&r);
    /* A retried txn whose first attempt won reads its own key here. */
    *won = l.held && l.lease == lease && strcmp(l.name, c->name) == 0;
    pthread_mutex_lock(&c->mu);
    c->term = *won ? l.term : 0;
    pthread_mutex_unlock(&c->mu);
    if (leader != NULL) {
        *leader = l;
    }
    return PXC_OK;
}

int pxc_keepalive(pxc_chain *c)
{
    int64_t lease, ttl, t0;
    int rc;

    pthread_mutex_lock(&c->mu);
    lease = c->lease;
    pthread_mutex_unlock(&c->mu);
    if (lease == 0) {
        return seterr(c, PXC_E_INVALID,
                      "cluster: keepalive: this node holds no lease");
    }
    t0 = now_ms();
    rc = node_etcd_lease_keepalive(c->e, lease, &ttl);
    pthread_mutex_lock(&c->mu);
    if (c->lease == lease) {
        if (rc == NODE_ETCD_OK) {
            c->deadline_ms = t0 + ttl * 1000;
        } else if (rc == NODE_ETCD_E_LEASE) {
            c->lost = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (rc == NODE_ETCD_E_LEASE) {
        return seterr(c, PXC_E_FENCED,
                      "cluster: this node's lease %lld has expired: it is no "
                      "longer the leader", (long long)lease);
    }
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: keepalive");
    }
    return PXC_OK;
}

static void *ka_main(void *arg)
{
    pxc_chain *c = arg;
    long interval = (long)(c->ttl_s * 1000 / 3);
    node_etcd *e = NULL;
    char err[NODE_ETCD_ERR_LEN];

    if (interval < 100) {
        interval = 100;
    }
    /* Each renewal must end well within the TTL, so that a slow member does
     * not make us miss the next one. */
    if (node_etcd_create(&e, c->endpoints, interval, err) != NODE_ETCD_OK) {
        return NULL;
    }
    pthread_mutex_lock(&c->mu);
    while (!c->ka_stop) {
        struct timespec ts;
        int64_t lease, t0, ttl;
        int rc;

        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += interval / 1000;
        ts.tv_nsec += (interval % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c->cv, &c->mu, &ts);
        if (c->ka_stop) {
            break;
        }
        if (c->lease == 0 || c->lost) {
            continue;
        }
        lease = c->lease;
        pthread_mutex_unlock(&c->mu);
        t0 = now_ms();
        rc = node_etcd_lease_keepalive(e, lease, &ttl);
        pthread_mutex_lock(&c->mu);
        if (c->lease == lease) {
            if (rc == NODE_ETCD_OK) {
                c->deadline_ms = t0 + ttl * 1000;
            } else if (rc == NODE_ETCD_E_LEASE) {
                c->lost = true;
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    node_etcd_destroy(e);
    return NULL;
}

int pxc_keepalive_start(pxc_chain *c)
{
    int rc = PXC_OK;

    pthread_mutex_lock(&c->mu);
    if (!c->ka_running) {
        c->ka_stop = false;
        if (pthread_create(&c->ka, NULL, ka_main, c) != 0) {
            rc = seterr(c, PXC_E_NOMEM,
                        "cluster: cannot start the keepalive thread");
        } else {
            c->ka_running = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return rc;
}

void pxc_keepalive_stop(pxc_chain *c)
{
    bool join;

    pthread_mutex_lock(&c->mu);
    join = c->ka_running;
    c->ka_stop = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    if (join) {
        pthread_join(c->ka, NULL);
        pthread_mutex_lock(&c->mu);
        c->ka_running = false;
        pthread_mutex_unlock(&c->mu);
    }
}

bool pxc_is_leader(const pxc_chain *c)
{
    pxc_chain *m = (pxc_chain *)c; /* the mutex only */
    bool yes;

    pthread_mutex_lock(&m->mu);
    yes = c->term != 0 && c->lease != 0 && !c->lost &&
          now_ms() < c->deadline_ms;
    pthread_mutex_unlock(&m->mu);
    return yes;
}

int64_t pxc_term(const pxc_chain *c)
{
    pxc_chain *m = (pxc_chain *)c;
    int64_t t;

    pthread_mutex_lock(&m->mu);
    t = c->term;
    pthread_mutex_unlock(&m->mu);
    return t;
}

int pxc_resign(pxc_chain *c)
{
    int64_t lease;
    int rc;

    pthread_mutex_lock(&c->mu);
    lease = c->lease;
    c->lease = 0;
    c->term = 0;
    c->lost = false;
    pthread_mutex_unlock(&c->mu);
    if (lease == 0) {
        return PXC_OK;
    }
    rc = node_etcd_lease_revoke(c->e, lease);
    if (rc == NODE_ETCD_E_LEASE) {
        return PXC_OK; /* expired already */
    }
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: resigning");
    }
    return PXC_OK;
}

/* ---- the log ------------------------------------------------------------ */

int pxc_append(pxc_chain *c, uint64_t h, const void *block, size_t len)
{
    char lk[KEY_CAP], bk[KEY_CAP], pk[KEY_CAP];
    size_t lklen = key(c, lk, "leader"), bklen, pklen = 0;
    char hk[KEY_CAP], pad[HEIGHT_DIGITS + 1];
    size_t hklen = key(c, hk, "head");
    node_etcd_cmp cmp[5];
    node_etcd_op put[2], get[3];
    node_etcd_kvs r;
    size_t first[3], cnt[3], ncmp = 4, nget = 2;
    int64_t lease, term;
    bool ok;
    int rc;

    if (h == 0) {
        return seterr(c, PXC_E_INVALID,
                      "cluster: append: heights start at 1 (0 is the "
                      "genesis)");
    }
    pthread_mutex_lock(&c->mu);
    lease = c->lease;
    term = c->term;
    pthread_mutex_unlock(&c->mu);
    /* No local shortcut when this node never won (lease or term 0): etcd
     * refuses that too (a held key has a non-zero lease and another
     * create_revision; an absent key fails the VALUE compare), and its
     * failure branch names the holder. */
    bklen = block_key(c, bk, h);
    cmp[0] = (node_etcd_cmp){ .key = lk, .key_len = lklen,
                              .target = NODE_ETCD_LEASE,
                              .result = NODE_ETCD_EQUAL, .number = lease };
    cmp[1] = (node_etcd_cmp){ .key = lk, .key_len = lklen,
                              .target = NODE_ETCD_VALUE,
                              .result = NODE_ETCD_EQUAL, .value = c->name,
                              .value_len = strlen(c->name) };
    cmp[2] = (node_etcd_cmp){ .key = lk, .key_len = lklen,
                              .target = NODE_ETCD_CREATE,
                              .result = NODE_ETCD_EQUAL, .number = term };
    cmp[3] = (node_etcd_cmp){ .key = bk, .key_len = bklen,
                              .target = NODE_ETCD_CREATE,
                              .result = NODE_ETCD_EQUAL, .number = 0 };
    get[0] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = lk,
                             .key_len = lklen };
    get[1] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = bk,
                             .key_len = bklen };
    if (h > 1) {
        pklen = block_key(c, pk, h - 1);
        cmp[ncmp++] = (node_etcd_cmp){ .key = pk, .key_len = pklen,
                                       .target = NODE_ETCD_CREATE,
                                       .result = NODE_ETCD_GREATER,
                                       .number = 0 };
        get[nget++] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = pk,
                                      .key_len = pklen, .keys_only = true };
    }
    put[0] = (node_etcd_op){ .type = NODE_ETCD_OP_PUT, .key = bk,
                             .key_len = bklen, .value = len ? block : "",
                             .value_len = len };
    /* P head: a small key that changes with every append, for waiters to
     * watch (a watch on the block keys would carry every block's bytes to
     * every waiter, and they read the block anyway). A hint, never the
     * source of truth: heads are read from the block keys. */
    pad_height(pad, h);
    put[1] = (node_etcd_op){ .type = NODE_ETCD_OP_PUT, .key = hk,
                             .key_len = hklen, .value = pad,
                             .value_len = HEIGHT_DIGITS };
    rc = node_etcd_txn(c->e, cmp, ncmp, put, 2, get, nget, &ok, &r, first,
                       cnt, NULL);
    if (rc != NODE_ETCD_OK) {
        char what[96];
        snprintf(what, sizeof what,
                 "cluster: append of block %" PRIu64 " (outcome unknown)", h);
        return etcd_fail(c, rc, what);
    }
    if (ok) {
        return PXC_OK;
    }
    {
        const node_etcd_kv *lkv = cnt[0] ? &r.kv[first[0]] : NULL;
        const node_etcd_kv *bkv = cnt[1] ? &r.kv[first[1]] : NULL;
        bool prev = h == 1 || cnt[2] > 0;
        bool mine = lkv != NULL && lkv->lease == lease &&
                    lkv->create_revision == term &&
                    lkv->value_len == strlen(c->name) &&
                    memcmp(lkv->value, c->name, lkv->value_len) == 0;

        if (!mine) {
            if (lkv == NULL) {
                rc = seterr(c, PXC_E_FENCED,
                            "cluster: append of block %" PRIu64 " refused "
                            "(fenced): this node (%s, lease %lld, term %lld) "
                            "no longer holds the leader key; nobody does "
                            "(its lease expired)", h, c->name,
                            (long long)lease, (long long)term);
            } else {
                rc = seterr(c, PXC_E_FENCED,
                            "cluster: append of block %" PRIu64 " refused "
                            "(fenced): this node (%s, lease %lld, term %lld) "
                            "does not hold the leader key; %.*s does (lease "
                            "%lld, term %lld)", h, c->name, (long long)lease,
                            (long long)term,
                            (int)(lkv->value_len > 64 ? 64 : lkv->value_len),
                            (const char *)lkv->value, (long long)lkv->lease,
                            (long long)lkv->create_revision);
            }
            pthread_mutex_lock(&c->mu);
            if (c->lease == lease) {
                c->term = 0; /* etcd says so: step down */
            }
            pthread_mutex_unlock(&c->mu);
        } else if (bkv != NULL) {
            if (bkv->value_len == len &&
                (len == 0 || memcmp(bkv->value, block, len) == 0)) {
                rc = PXC_OK; /* our own earlier attempt */
            } else {
                rc = seterr(c, PXC_E_EXISTS,
                            "cluster: append of block %" PRIu64 " refused: "
                            "block %" PRIu64 " is already in the log (%zu "
                            "bytes, revision %lld) with other bytes", h, h,
                            bkv->value_len, (long long)bkv->mod_revision);
            }
        } else if (!prev) {
            rc = seterr(c, PXC_E_GAP,
                        "cluster: append of block %" PRIu64 " refused: block "
                        "%" PRIu64 " is not in the log", h, h - 1);
        } else {
            rc = seterr(c, PXC_E_PROTOCOL,
                        "cluster: append of block %" PRIu64 " refused by "
                        "etcd although every condition reads true", h);
        }
    }
    node_etcd_kvs_release(&r);
    return rc;
}

void pxc_blocks_free(pxc_block *b, size_t n)
{
    size_t i;

    if (b == NULL) {
        return;
    }
    for (i = 0; i < n; i++) {
        free(b[i].bytes);
    }
    free(b);
}

/* Read low (and, with nkeys, the number of block keys) in one txn; with
 * max > 0 also the blocks from `from`. */
static int snapshot(pxc_chain *c, uint64_t from, size_t max, int64_t *nkeys,
                    node_etcd_kvs *r, size_t first[3], size_t cnt[3],
                    uint64_t *low)
{
    char lowk[KEY_CAP], bk[KEY_CAP], endk[KEY_CAP], bprefix[KEY_CAP];
    size_t lowklen = key(c, lowk, "low"), bplen = key(c, bprefix, "block/");
    size_t endlen, nops = 0;
    node_etcd_op ops[3];
    const node_etcd_kv *lkv;
    bool ok;
    int rc;

    node_etcd_prefix_end((uint8_t *)endk, &endlen, bprefix, bplen);
    ops[nops++] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = lowk,
                                  .key_len = lowklen };
    if (nkeys != NULL) {
        /* A count, not the newest key: etcd answers a descending range
         * (even limit 1, keys only) by reading and decoding every block in
         * the range before it sorts, a cost that grew with the log (about
         * 20 ms of etcd CPU per read at 40 blocks of 800 KB, measured); a
         * count comes from its in-memory index. */
        ops[nops++] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE,
                                      .key = bprefix, .key_len = bplen,
                                      .range_end = endk,
                                      .range_end_len = endlen,
                                      .count_only = true, .count = nkeys };
    }
    if (max > 0) {
        size_t bklen = block_key(c, bk, from);
        ops[nops++] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = bk,
                                      .key_len = bklen, .range_end = endk,
                                      .range_end_len = endlen,
                                      .limit = (int64_t)max };
    }
    /* No compares: the success branch always runs, all of it at one
     * revision. */
    rc = node_etcd_txn(c->e, NULL, 0, ops, nops, NULL, 0, &ok, r, first, cnt,
                       NULL);
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: reading the log");
    }
    lkv = cnt[0] ? &r->kv[first[0]] : NULL;
    if (lkv == NULL || parse_height(lkv->value, lkv->value_len, low) != 0) {
        node_etcd_kvs_release(r);
        return seterr(c, PXC_E_CORRUPT, "cluster: %s is %s", lowk,
                      lkv ? "not a 20-digit height" : "missing from etcd");
    }
    return PXC_OK;
}

/* The head from low and the number of block keys. The block keys are
 * low .. head, contiguous: appends are write-once without gaps (the
 * fenced txn) and compaction deletes exactly the blocks below the new low
 * in the txn that sets it. So the count gives the head. A log broken by
 * hand (a gap, a stray key under block/) shows in pxc_read, which checks
 * every height. */
static int head_of(pxc_chain *c, int64_t nkeys, uint64_t lo, uint64_t *head)
{
    if (nkeys < 0 || (nkeys > 0 && lo == 0)) {
        return seterr(c, PXC_E_CORRUPT,
                      "cluster: %sblock/ holds %" PRId64 " keys with low %"
                      PRIu64, c->prefix, nkeys, lo);
    }
    *head = nkeys > 0 ? lo + (uint64_t)nkeys - 1 : 0;
    return PXC_OK;
}

/* The head, low and the store revision they were read at. */
static int head_at(pxc_chain *c, uint64_t *head, uint64_t *low, int64_t *rev)
{
    node_etcd_kvs r;
    size_t first[3], cnt[3];
    uint64_t lo = 0, h = 0;
    int64_t nkeys = 0;
    int rc = snapshot(c, 0, 0, &nkeys, &r, first, cnt, &lo);

    *head = 0;
    if (low != NULL) {
        *low = 0;
    }
    if (rc != PXC_OK) {
        return rc;
    }
    rc = head_of(c, nkeys, lo, &h);
    if (rc != PXC_OK) {
        node_etcd_kvs_release(&r);
        return rc;
    }
    if (rev != NULL) {
        *rev = r.revision;
    }
    node_etcd_kvs_release(&r);
    *head = h;
    if (low != NULL) {
        *low = lo;
    }
    return PXC_OK;
}

int pxc_head(pxc_chain *c, uint64_t *head, uint64_t *low)
{
    return head_at(c, head, low, NULL);
}

/* The blocks of a read, kvs first .. first+cnt-1 of *r, which must be
 * heights from, from+1, ...; their values move into *blocks (no copy).
 * Releases *r. */
static int take_blocks(pxc_chain *c, node_etcd_kvs *r, size_t first,
                       size_t cnt, uint64_t from, pxc_block **blocks,
                       size_t *n)
{
    pxc_block *out = calloc(cnt + 1, sizeof *out);
    size_t i;

    if (out == NULL) {
        node_etcd_kvs_release(r);
        return seterr(c, PXC_E_NOMEM, "cluster: read: out of memory");
    }
    for (i = 0; i < cnt; i++) {
        node_etcd_kv *kv = &r->kv[first + i];
        uint64_t h;

        if (block_key_height(c, kv, &h) != 0 || h != from + i) {
            pxc_blocks_free(out, i);
            node_etcd_kvs_release(r);
            return seterr(c, PXC_E_CORRUPT,
                          "cluster: the log in etcd has a gap: expected "
                          "block %" PRIu64 ", found %s", from + i,
                          block_key_height(c, kv, &h) != 0
                              ? "a key that is not a block key"
                              : "a later block");
        }
        out[i].height = h;
        out[i].bytes = kv->value;
        out[i].len = kv->value_len;
        kv->value = NULL;
    }
    node_etcd_kvs_release(r);
    *blocks = out;
    *n = i;
    return PXC_OK;
}

static int bad_read(pxc_chain *c, uint64_t from, size_t max)
{
    return seterr(c, PXC_E_INVALID,
                  "cluster: read: heights start at 1 and max must be "
                  "positive (from %" PRIu64 ", max %zu)", from, max);
}

int pxc_read(pxc_chain *c, uint64_t from, size_t max, pxc_block **blocks,
             size_t *n)
{
    node_etcd_kvs r;
    size_t first[3], cnt[3];
    uint64_t lo = 0;
    int rc;

    *blocks = NULL;
    *n = 0;
    if (from == 0 || max == 0) {
        return bad_read(c, from, max);
    }
    rc = snapshot(c, from, max, NULL, &r, first, cnt, &lo);
    if (rc != PXC_OK) {
        return rc;
    }
    if (from < lo) {
        node_etcd_kvs_release(&r);
        return seterr(c, PXC_E_COMPACTED,
                      "cluster: block %" PRIu64 " was compacted from etcd "
                      "(the oldest block kept is %" PRIu64 "): catch up "
                      "from a state snapshot at height >= %" PRIu64,
                      from, lo, lo - 1);
    }
    return take_blocks(c, &r, first[1], cnt[1], from, blocks, n);
}

int pxc_read_head(pxc_chain *c, uint64_t from, size_t max,
                  pxc_block **blocks, size_t *n, uint64_t *head,
                  uint64_t *low, int64_t *rev)
{
    node_etcd_kvs r;
    size_t first[3], cnt[3];
    uint64_t lo = 0, h = 0;
    int64_t nkeys = 0;
    int rc;

    *blocks = NULL;
    *n = 0;
    *head = 0;
    *low = 0;
    *rev = 0;
    if (from == 0 || max == 0) {
        return bad_read(c, from, max);
    }
    rc = snapshot(c, from, max, &nkeys, &r, first, cnt, &lo);
    if (rc != PXC_OK) {
        return rc;
    }
    rc = head_of(c, nkeys, lo, &h);
    if (rc != PXC_OK) {
        node_etcd_kvs_release(&r);
        return rc;
    }
    *head = h;
    *low = lo;
    *rev = r.revision;
    if (from < lo) {
        /* The caller sees from < low; the range started at low. */
        node_etcd_kvs_release(&r);
        return PXC_OK;
    }
    return take_blocks(c, &r, first[2], cnt[2], from, blocks, n);
}

/* The least time pxc_wait still starts a watch with (ms). */
#define WAIT_MIN_MS 20

int pxc_wait_after(pxc_chain *c, int64_t rev, long timeout_ms)
{
    char hk[KEY_CAP];
    size_t hklen = key(c, hk, "head");
    bool changed = false;
    int rc;

    /* As in pxc_wait: too little time left for a member to confirm. */
    if (timeout_ms < WAIT_MIN_MS) {
        return seterr(c, PXC_E_TIMEOUT, "cluster: no append after revision "
                      "%" PRId64 " within %ld ms", rev, timeout_ms);
    }
    rc = node_etcd_watch_wait(c->e, hk, hklen, NULL, 0, rev + 1, timeout_ms,
                              &changed, NULL);
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: waiting for a block");
    }
    if (!changed) {
        return seterr(c, PXC_E_TIMEOUT, "cluster: no append after revision "
                      "%" PRId64 " within %ld ms", rev, timeout_ms);
    }
    return PXC_OK;
}

int pxc_wait(pxc_chain *c, uint64_t h, long timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms, rev = 0;
    char hk[KEY_CAP];
    size_t hklen = key(c, hk, "head");
    uint64_t head;
    int rc;

    for (;;) {
        int64_t left;
        bool changed;

        /* Read, then watch from the revision after the read: no append
         * between the two can be missed. */
        rc = head_at(c, &head, NULL, &rev);
        if (rc != PXC_OK) {
            return rc;
        }
        if (head >= h) {
            return PXC_OK;
        }
        left = deadline - now_ms();
        /* A watch needs a member's answer to start: with only a few ms
         * left it would fail as "no member accepted it" (read as no
         * quorum) instead of timing out. */
        if (left < WAIT_MIN_MS) {
            return seterr(c, PXC_E_TIMEOUT,
                          "cluster: block %" PRIu64 " did not come within %ld "
                          "ms (head is %" PRIu64 ")", h, timeout_ms, head);
        }
        /* Every append also puts P head (small): watching it wakes us
         * without etcd sending the block's bytes here twice. A log written
         * without P head only makes this wait run to its timeout: the
         * caller polls. */
        rc = node_etcd_watch_wait(c->e, hk, hklen, NULL, 0, rev + 1,
                                  (long)left, &changed, NULL);
        if (rc != NODE_ETCD_OK) {
            return etcd_fail(c, rc, "cluster: waiting for a block");
        }
    }
}

int pxc_compact(pxc_chain *c, uint64_t below, uint64_t *low)
{
    char lowk[KEY_CAP], bk[KEY_CAP], startk[KEY_CAP], endk[KEY_CAP];
    char pad[HEIGHT_DIGITS + 1];
    size_t lowklen = key(c, lowk, "low"), bklen, startlen, endlen;
    node_etcd_cmp cmp[2];
    node_etcd_op succ[2], fail[2];
    node_etcd_kvs r;
    size_t first[2], cnt[2];
    uint64_t lo = 0;
    bool ok;
    int rc;

    if (low != NULL) {
        *low = 0;
    }
    if (below < 2) {
        return seterr(c, PXC_E_INVALID,
                      "cluster: compact: nothing is below height %" PRIu64,
                      below);
    }
    pad_height(pad, below);
    bklen = block_key(c, bk, below);
    startlen = block_key(c, startk, 0);
    endlen = block_key(c, endk, below);
    /* Padded heights compare as numbers; block `below` existing means
     * below <= head, so the head block is never deleted. */
    cmp[0] = (node_etcd_cmp){ .key = lowk, .key_len = lowklen,
                              .target = NODE_ETCD_VALUE,
                              .result = NODE_ETCD_LESS, .value = pad,
                              .value_len = HEIGHT_DIGITS };
    cmp[1] = (node_etcd_cmp){ .key = bk, .key_len = bklen,
                              .target = NODE_ETCD_CREATE,
                              .result = NODE_ETCD_GREATER, .number = 0 };
    succ[0] = (node_etcd_op){ .type = NODE_ETCD_OP_DELETE, .key = startk,
                              .key_len = startlen, .range_end = endk,
                              .range_end_len = endlen };
    succ[1] = (node_etcd_op){ .type = NODE_ETCD_OP_PUT, .key = lowk,
                              .key_len = lowklen, .value = pad,
                              .value_len = HEIGHT_DIGITS };
    fail[0] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = lowk,
                              .key_len = lowklen };
    fail[1] = (node_etcd_op){ .type = NODE_ETCD_OP_RANGE, .key = bk,
                              .key_len = bklen, .keys_only = true };
    rc = node_etcd_txn(c->e, cmp, 2, succ, 2, fail, 2, &ok, &r, first, cnt,
                       NULL);
    if (rc != NODE_ETCD_OK) {
        return etcd_fail(c, rc, "cluster: compact");
    }
    if (ok) {
        node_etcd_kvs_release(&r);
        if (low != NULL) {
            *low = below;
        }
        return PXC_OK;
    }
    if (cnt[0] == 0 ||
        parse_height(r.kv[first[0]].value, r.kv[first[0]].value_len, &lo)) {
        node_etcd_kvs_release(&r);
        return seterr(c, PXC_E_CORRUPT, "cluster: %s is %s", lowk,
                      cnt[0] ? "not a 20-digit height" : "missing from etcd");
    }
    if (lo < below && cnt[1] == 0) {
        node_etcd_kvs_release(&r);
        return seterr(c, PXC_E_INVALID,
                      "cluster: compact below %" PRIu64 " refused: block %"
                      PRIu64 " is not in the log yet (the head is never "
                      "compacted)", below, below);
    }
    node_etcd_kvs_release(&r);
    if (low != NULL) {
        *low = lo;
    }
    return PXC_OK; /* low >= below already */
}
