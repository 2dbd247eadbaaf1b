/* The etcd v3 JSON-gateway client (see etcd.h). Field names are those of
 * etcd's rpc.proto as the grpc-gateway renders them (snake_case, int64 as
 * strings, bytes as base64, zero values omitted). */
#include "etcd.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#define MAX_ENDPOINTS 16
/* A reply bigger than this is refused (etcd's own request limit is 1.5 MiB
 * by default; a range of many blocks can be larger, but not unboundedly). */
#define MAX_REPLY ((size_t)256 << 20)
/* Pause between two rounds over all members, so that a call against a
 * cluster whose members all refuse connections does not spin. */
#define ROUND_PAUSE_MS 50
/* The shortest attempt worth making. */
#define MIN_ATTEMPT_MS 100

struct node_etcd {
    char *ep[MAX_ENDPOINTS];
    size_t n;
    size_t cur;
    long timeout_ms;
    CURL *curl;
    struct curl_slist *hdrs;
    char *body; /* reply being received */
    size_t body_len, body_cap;
    bool body_too_big;
    /* Long base64 strings of the last reply, decoded before the JSON parse
     * (lift_reply): the parsed reply holds "\u0000<index>" instead. */
    struct lifted {
        uint8_t *p;
        size_t len;
    } *lift;
    size_t nlift, lift_cap;
    char err[NODE_ETCD_ERR_LEN];
};

static void lift_clear(node_etcd *e);

const char *node_etcd_code_name(int rc)
{
    switch (rc) {
    case NODE_ETCD_OK: return "OK";
    case NODE_ETCD_E_INVALID: return "E_INVALID";
    case NODE_ETCD_E_NOMEM: return "E_NOMEM";
    case NODE_ETCD_E_UNAVAILABLE: return "E_UNAVAILABLE";
    case NODE_ETCD_E_SERVER: return "E_SERVER";
    case NODE_ETCD_E_PROTOCOL: return "E_PROTOCOL";
    case NODE_ETCD_E_NOTFOUND: return "E_NOTFOUND";
    case NODE_ETCD_E_LEASE: return "E_LEASE";
    default: return "E_UNKNOWN";
    }
}

static int seterr(node_etcd *e, int rc, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int seterr(node_etcd *e, int rc, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->err, sizeof e->err, fmt, ap);
    va_end(ap);
    return rc;
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- base64 (RFC 4648, standard alphabet, padded: Go's StdEncoding) ---- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const void *data, size_t n)
{
    const uint8_t *p = data;
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    size_t i;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = b64[(v >> 6) & 63];
        *o++ = b64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)p[i + 1] << 8;
        }
        *o++ = b64[v >> 18];
        *o++ = b64[(v >> 12) & 63];
        *o++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int b64_val(char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* Decode s (length n) into a malloc'd buffer NUL-terminated one past *out_len.
 * Returns 0, -1 on a malformed string, -2 on allocation failure. */
static int b64_decode(uint8_t **out, size_t *out_len, const char *s, size_t n)
{
    uint8_t *buf;
    size_t i, o = 0;

    *out = NULL;
    *out_len = 0;
    if (n % 4 != 0) {
        return -1;
    }
    buf = malloc(n / 4 * 3 + 1);
    if (buf == NULL) {
        return -2;
    }
    for (i = 0; i < n; i += 4) {
        int a = b64_val(s[i]), b = b64_val(s[i + 1]);
        int c = s[i + 2] == '=' ? -2 : b64_val(s[i + 2]);
        int d = s[i + 3] == '=' ? -2 : b64_val(s[i + 3]);
        bool last = i + 4 == n;
        if (a < 0 || b < 0 || c == -1 || d == -1 || (c == -2 && d != -2) ||
            ((c == -2 || d == -2) && !last)) {
            free(buf);
            return -1;
        }
        buf[o++] = (uint8_t)(a << 2 | b >> 4);
        if (c >= 0) {
            buf[o++] = (uint8_t)((b & 15) << 4 | c >> 2);
        }
        if (d >= 0) {
            buf[o++] = (uint8_t)((c & 3) << 6 | d);
        }
    }
    buf[o] = 0;
    *out = buf;
    *out_len = o;
    return 0;
}

/* ---- JSON helpers ------------------------------------------------------ */

/* An int64 field: the gateway writes them as strings; accept numbers too.
 * Absent = 0 (proto3 omits zero values). Returns 0 or -1 if malformed. */
static int json_i64(const json_t *obj, const char *name, int64_t *out)
{
    const json_t *v = json_object_get(obj, name);
    const char *s;
    char *end;
    long long x;

    *out = 0;
    if (v == NULL || json_is_null(v)) {
        return 0;
    }
    if (json_is_integer(v)) {
        *out = (int64_t)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v)) {
        return -1;
    }
    s = json_string_value(v);
    errno = 0;
    x = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') {
        return -1;
    }
    *out = (int64_t)x;
    return 0;
}

static int set_bytes(json_t *obj, const char *name, const void *p, size_t n)
{
    char *s = b64_encode(p, n);
    int rc;

    if (s == NULL) {
        return -1;
    }
    /* base64 is ASCII: skip jansson's UTF-8 scan (a block is ~0.5 MB). */
    rc = json_object_set_new(obj, name,
                             json_stringn_nocheck(s, 4 * ((n + 2) / 3)));
    free(s);
    return rc;
}

static int set_i64(json_t *obj, const char *name, int64_t v)
{
    char s[32];

    snprintf(s, sizeof s, "%lld", (long long)v);
    return json_object_set_new(obj, name, json_string(s));
}

/* Decode a bytes field (absent = empty); a field lift_reply decoded
 * already is handed over (it is taken once). */
static int get_bytes(node_etcd *e, const json_t *obj, const char *name,
                     uint8_t **out, size_t *len)
{
    const json_t *v = json_object_get(obj, name);
    size_t k = 0, i, n;
    const char *s;

    if (v == NULL) {
        *out = calloc(1, 1);
        *len = 0;
        return *out == NULL ? -2 : 0;
    }
    if (!json_is_string(v)) {
        *out = NULL;
        *len = 0;
        return -1;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n >= 2 && s[0] == '\0') {
        /* A placeholder: no base64 string starts with NUL. */
        for (i = 1; i < n && s[i] >= '0' && s[i] <= '9' && k < e->nlift;
             i++) {
            k = k * 10 + (size_t)(s[i] - '0');
        }
        if (i != n || k >= e->nlift || e->lift[k].p == NULL) {
            *out = NULL;
            *len = 0;
            return -1;
        }
        *out = e->lift[k].p;
        *len = e->lift[k].len;
        e->lift[k].p = NULL;
        return 0;
    }
    return b64_decode(out, len, s, n);
}

void node_etcd_kv_release(node_etcd_kv *kv)
{
    if (kv != NULL) {
        free(kv->key);
        free(kv->value);
        memset(kv, 0, sizeof *kv);
    }
}

void node_etcd_kvs_release(node_etcd_kvs *r)
{
    size_t i;

    if (r == NULL) {
        return;
    }
    for (i = 0; i < r->n; i++) {
        node_etcd_kv_release(&r->kv[i]);
    }
    free(r->kv);
    memset(r, 0, sizeof *r);
}

/* Append the "kvs" of a RangeResponse to r. */
static int parse_kvs(node_etcd *e, const char *op, const json_t *resp,
                     node_etcd_kvs *r)
{
    const json_t *kvs = json_object_get(resp, "kvs");
    size_t i, n;
    node_etcd_kv *grown;

    if (kvs == NULL) {
        return NODE_ETCD_OK;
    }
    if (!json_is_array(kvs)) {
        return seterr(e, NODE_ETCD_E_PROTOCOL,
                      "etcd %s: reply from %s has a non-array \"kvs\"", op,
                      e->ep[e->cur]);
    }
    n = json_array_size(kvs);
    grown = realloc(r->kv, (r->n + n + 1) * sizeof *grown);
    if (grown == NULL) {
        return seterr(e, NODE_ETCD_E_NOMEM, "etcd %s: out of memory", op);
    }
    r->kv = grown;
    for (i = 0; i < n; i++) {
        const json_t *o = json_array_get(kvs, i);
        node_etcd_kv *kv = &r->kv[r->n];
        int brc;

        memset(kv, 0, sizeof *kv);
        if (!json_is_object(o)) {
            return seterr(e, NODE_ETCD_E_PROTOCOL,
                          "etcd %s: reply from %s: kvs[%zu] is not an object",
                          op, e->ep[e->cur], i);
        }
        brc = get_bytes(e, o, "key", &kv->key, &kv->key_len);
        if (brc == 0) {
            brc = get_bytes(e, o, "value", &kv->value, &kv->value_len);
        }
        if (brc != 0 || json_i64(o, "create_revision", &kv->create_revision) ||
            json_i64(o, "mod_revision", &kv->mod_revision) ||
            json_i64(o, "version", &kv->version) ||
            json_i64(o, "lease", &kv->lease)) {
            node_etcd_kv_release(kv);
            if (brc == -2) {
                return seterr(e, NODE_ETCD_E_NOMEM, "etcd %s: out of memory",
                              op);
            }
            return seterr(e, NODE_ETCD_E_PROTOCOL,
                          "etcd %s: reply from %s: kvs[%zu] has a malformed "
                          "field", op, e->ep[e->cur], i);
        }
        r->n++;
    }
    return NODE_ETCD_OK;
}

/* ---- handle ------------------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    node_etcd *e = ud;
    size_t n = size * nmemb;

    if (e->body_len + n + 1 > MAX_REPLY) {
        e->body_too_big = true;
        return 0;
    }
    if (e->body_len + n + 1 > e->body_cap) {
        size_t cap = e->body_cap ? e->body_cap : 4096;
        char *b;
        while (cap < e->body_len + n + 1) {
            cap *= 2;
        }
        b = realloc(e->body, cap);
        if (b == NULL) {
            return 0;
        }
        e->body = b;
        e->body_cap = cap;
    }
    memcpy(e->body + e->body_len, p, n);
    e->body_len += n;
    e->body[e->body_len] = '\0';
    return n;
}

int node_etcd_create(node_etcd **out, const char *endpoints, long timeout_ms,
                     char *err)
{
    node_etcd *e;
    const char *p = endpoints;

    *out = NULL;
    if (endpoints == NULL || timeout_ms <= 0) {
        snprintf(err, NODE_ETCD_ERR_LEN, "etcd: %s",
                 endpoints == NULL ? "no endpoints given"
                                   : "the timeout must be positive");
        return NODE_ETCD_E_INVALID;
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, NODE_ETCD_ERR_LEN, "etcd: libcurl failed to start: %s",
                 curl_easy_strerror(curl_init_rc));
        return NODE_ETCD_E_NOMEM;
    }
    e = calloc(1, sizeof *e);
    if (e == NULL) {
        snprintf(err, NODE_ETCD_ERR_LEN, "etcd: out of memory");
        return NODE_ETCD_E_NOMEM;
    }
    e->timeout_ms = timeout_ms;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char *url;

        while (len > 0 && p[len - 1] == '/') {
            len--; /* "http://h:2379/" */
        }
        if (e->n == MAX_ENDPOINTS) {
            snprintf(err, NODE_ETCD_ERR_LEN,
                     "etcd: more than %d endpoints in \"%s\"", MAX_ENDPOINTS,
                     endpoints);
            goto err_free;
        }
        if (!((len > 7 && strncmp(p, "http://", 7) == 0) ||
              (len > 8 && strncmp(p, "https://", 8) == 0))) {
            snprintf(err, NODE_ETCD_ERR_LEN,
                     "etcd: endpoint %zu of \"%s\" (\"%.*s\") is not an "
                     "http:// or https:// URL", e->n + 1, endpoints,
                     (int)len, p);
            goto err_free;
        }
        url = malloc(len + 1);
        if (url == NULL) {
            snprintf(err, NODE_ETCD_ERR_LEN, "etcd: out of memory");
            goto err_free;
        }
        memcpy(url, p, len);
        url[len] = '\0';
        e->ep[e->n++] = url;
        if (comma == NULL) {
            break;
        }
        p = comma + 1;
    }
    e->curl = curl_easy_init();
    e->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    /* No "Expect: 100-continue" (libcurl adds it to POSTs over 1 KiB and
     * waits for the 100 before sending the body): one round trip less per
     * append. */
    if (e->hdrs != NULL) {
        struct curl_slist *h = curl_slist_append(e->hdrs, "Expect:");
        if (h == NULL) {
            curl_slist_free_all(e->hdrs);
        }
        e->hdrs = h;
    }
    if (e->curl == NULL || e->hdrs == NULL) {
        snprintf(err, NODE_ETCD_ERR_LEN, "etcd: out of memory (libcurl)");
        node_etcd_destroy(e);
        return NODE_ETCD_E_NOMEM;
    }
    *out = e;
    return NODE_ETCD_OK;

err_free:
    node_etcd_destroy(e);
    return NODE_ETCD_E_INVALID;
}

void node_etcd_destroy(node_etcd *e)
{
    size_t i;

    if (e == NULL) {
        return;
    }
    for (i = 0; i < e->n; i++) {
        free(e->ep[i]);
    }
    if (e->curl != NULL) {
        curl_easy_cleanup(e->curl);
    }
    curl_slist_free_all(e->hdrs);
    free(e->body);
    lift_clear(e);
    free(e->lift);
    free(e);
}

const char *node_etcd_errmsg(const node_etcd *e)
{
    return e->err;
}

const char *node_etcd_endpoint(const node_etcd *e)
{
    return e->ep[e->cur];
}

void node_etcd_set_timeout(node_etcd *e, long timeout_ms)
{
    if (timeout_ms > 0) {
        e->timeout_ms = timeout_ms;
    }
}

/* ---- one call ----------------------------------------------------------- */

/* Append "; <member>: <why>" to the list of reasons of this round. */
static void why_add(char *why, size_t cap, const char *ep, const char *fmt,
                    ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void why_add(char *why, size_t cap, const char *ep, const char *fmt,
                    ...)
{
    size_t len = strlen(why);
    va_list ap;

    if (len + 4 >= cap) {
        return;
    }
    len += (size_t)snprintf(why + len, cap - len, "%s%s: ", len ? "; " : "",
                            ep);
    if (len >= cap) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(why + len, cap - len, fmt, ap);
    va_end(ap);
}

/* gRPC status codes that mean "try another member" (google.golang.org/grpc
 * codes): DeadlineExceeded 4, Unavailable 14 (etcd's "no leader", "request
 * timed out", "leader changed", "not capable" come as 14). */
static bool grpc_retryable(int64_t code)
{
    return code == 4 || code == 14;
}

/* Strings at least this long that are all base64 are decoded by
 * lift_reply, not by jansson. */
#define LIFT_MIN 1024

static void lift_clear(node_etcd *e)
{
    size_t i;

    for (i = 0; i < e->nlift; i++) {
        free(e->lift[i].p);
    }
    e->nlift = 0;
}

/* Before the JSON parse of a reply (body, *n bytes, rewritten in place and
 * shortened): decode each string of >= LIFT_MIN base64 characters (a
 * block's bytes in a range reply) into e->lift and put "\u0000<index>" in
 * its place, so jansson scans a few bytes, not the whole block (its string
 * scan and copies cost about 10% of a follower's CPU per block).
 * get_bytes takes the decoded bytes. A string that does not decode (not
 * base64, bad padding) is left for jansson and b64_decode to judge. Only
 * string contents change, into another string: the JSON stays valid and
 * means the same but for the lifted values. 0, or -2 (no memory). */
static int lift_reply(node_etcd *e, char *body, size_t *n)
{
    size_t i = 0, j, w = 0, len, t;
    uint8_t *p;
    char tag[24];
    int rc;

    lift_clear(e);
    while (i < *n) {
        const char *q = memchr(body + i, '"', *n - i);
        if (q == NULL) {
            break;
        }
        j = (size_t)(q - body) + 1;      /* the string's first byte */
        memmove(body + w, body + i, j - i);
        w += j - i;
        i = j;
        q = memchr(body + i, '"', *n - i);
        if (q == NULL) {
            break;
        }
        j = (size_t)(q - body);          /* its closing quote, if no escape */
        if (memchr(body + i, '\\', j - i) != NULL) {
            /* Escapes: not base64; find the real end, copy it as it is. */
            for (j = i; j < *n && body[j] != '"'; j++) {
                if (body[j] == '\\') {
                    j++;
                }
            }
            if (j >= *n) {
                break;
            }
        } else if (j - i >= LIFT_MIN) {
            rc = b64_decode(&p, &len, body + i, j - i);
            if (rc == -2) {
                return -2;
            }
            if (rc == 0) {
                if (e->nlift == e->lift_cap) {
                    size_t cap = e->lift_cap ? 2 * e->lift_cap : 8;
                    struct lifted *g = realloc(e->lift, cap * sizeof *g);
                    if (g == NULL) {
                        free(p);
                        return -2;
                    }
                    e->lift = g;
                    e->lift_cap = cap;
                }
                e->lift[e->nlift].p = p;
                e->lift[e->nlift].len = len;
                t = (size_t)snprintf(tag, sizeof tag, "\\u0000%zu",
                                     e->nlift);
                e->nlift++;
                memcpy(body + w, tag, t);   /* t < LIFT_MIN <= j - i */
                w += t;
                body[w++] = '"';
                i = j + 1;
                continue;
            }
        }
        memmove(body + w, body + i, j + 1 - i);   /* with its quote */
        w += j + 1 - i;
        i = j + 1;
    }
    memmove(body + w, body + i, *n - i);
    w += *n - i;
    body[w] = '\0';
    *n = w;
    return 0;
}

/* POST req (JSON) to path; on NODE_ETCD_OK *reply is the decoded JSON
 * object (caller decrefs; for a streaming endpoint its "result"). */
static int call(node_etcd *e, const char *op, const char *path, json_t *req,
                json_t **reply)
{
    char *payload = json_dumps(req, JSON_COMPACT);
    int64_t deadline = now_ms() + e->timeout_ms;
    char why[NODE_ETCD_ERR_LEN - 160];
    int rc = NODE_ETCD_E_UNAVAILABLE;
    int rounds = 0;

    *reply = NULL;
    e->err[0] = '\0';
    if (payload == NULL) {
        return seterr(e, NODE_ETCD_E_NOMEM, "etcd %s: out of memory", op);
    }
    for (;;) {
        size_t tried;

        why[0] = '\0';
        rounds++;
        for (tried = 0; tried < e->n; tried++) {
            const char *ep = e->ep[e->cur];
            int64_t left = deadline - now_ms();
            long attempt, status = 0;
            char url[512];
            char cerr[CURL_ERROR_SIZE];
            CURLcode cc;
            json_t *j;
            json_error_t jerr;
            int64_t code = 0;

            if (left <= 0) {
                break;
            }
            /* Share what is left among the members not yet tried this
             * round, so that one member that accepts connections but never
             * answers (SIGSTOPped, cut off) cannot eat the whole budget. */
            attempt = (long)(left / (int64_t)(e->n - tried));
            if (attempt < MIN_ATTEMPT_MS) {
                attempt = left < MIN_ATTEMPT_MS ? (long)left : MIN_ATTEMPT_MS;
            }
            snprintf(url, sizeof url, "%s%s", ep, path);
            e->body_len = 0;
            e->body_too_big = false;
            if (e->body != NULL) {
                e->body[0] = '\0';
            }
            cerr[0] = '\0';
            curl_easy_reset(e->curl);
            curl_easy_setopt(e->curl, CURLOPT_URL, url);
            curl_easy_setopt(e->curl, CURLOPT_POST, 1L);
            curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, payload);
            curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE,
                             (long)strlen(payload));
            curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->hdrs);
            curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_body);
            curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, e);
            curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, attempt);
            curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, attempt);
            curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, cerr);
            curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https");
            cc = curl_easy_perform(e->curl);
            if (cc == CURLE_OK) {
                curl_easy_getinfo(e->curl, CURLINFO_RESPONSE_CODE, &status);
            }
            if (cc != CURLE_OK) {
                if (e->body_too_big) {
                    rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                                "etcd %s: the reply from %s is larger than "
                                "%zu MiB", op, ep, MAX_REPLY >> 20);
                    goto out;
                }
                why_add(why, sizeof why, ep, "%s",
                        cerr[0] ? cerr : curl_easy_strerror(cc));
                e->cur = (e->cur + 1) % e->n;
                continue;
            }
            if (e->body != NULL &&
                lift_reply(e, e->body, &e->body_len) != 0) {
                rc = seterr(e, NODE_ETCD_E_NOMEM, "etcd %s: out of memory",
                            op);
                goto out;
            }
            j = json_loadb(e->body ? e->body : "", e->body_len,
                           JSON_ALLOW_NUL, &jerr);
            if (j != NULL && json_is_object(j) &&
                json_object_get(j, "error") != NULL &&
                json_object_get(j, "result") == NULL) {
                /* {"error": "...", "message": "...", "code": N} or, from a
                 * streaming endpoint, {"error": {"grpc_code": N, ...}}. */
                const json_t *er = json_object_get(j, "error");
                const json_t *src = json_is_object(er) ? er : j;
                const char *msg = json_string_value(
                    json_object_get(src, "message"));
                if (json_i64(src, "code", &code) != 0 || code == 0) {
                    json_i64(src, "grpc_code", &code);
                }
                if (msg == NULL) {
                    msg = json_string_value(er);
                }
                if (msg == NULL) {
                    msg = "(no message)";
                }
                if (grpc_retryable(code)) {
                    why_add(why, sizeof why, ep, "%s", msg);
                    json_decref(j);
                    e->cur = (e->cur + 1) % e->n;
                    continue;
                }
                rc = seterr(e,
                            strstr(msg, "lease not found") != NULL
                                ? NODE_ETCD_E_LEASE
                                : NODE_ETCD_E_SERVER,
                            "etcd %s: %s refused it: %s (gRPC code %lld, "
                            "HTTP %ld)", op, ep, msg, (long long)code, status);
                json_decref(j);
                goto out;
            }
            if (status != 200 || j == NULL || !json_is_object(j)) {
                if (status >= 500) {
                    why_add(why, sizeof why, ep, "HTTP %ld", status);
                    json_decref(j);
                    e->cur = (e->cur + 1) % e->n;
                    continue;
                }
                rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                            "etcd %s: %s answered HTTP %ld with %s (is it an "
                            "etcd >= 3.4 client URL?)", op, ep, status,
                            j == NULL ? "a body that is not JSON"
                                      : "JSON that is not an object");
                json_decref(j);
                goto out;
            }
            if (json_is_object(json_object_get(j, "result"))) {
                json_t *res = json_incref(json_object_get(j, "result"));
                json_decref(j);
                j = res;
            }
            *reply = j;
            rc = NODE_ETCD_OK;
            goto out;
        }
        if (deadline - now_ms() <= ROUND_PAUSE_MS) {
            break;
        }
        sleep_ms(ROUND_PAUSE_MS);
    }
    rc = seterr(e, NODE_ETCD_E_UNAVAILABLE,
                "etcd %s: no member answered within %ld ms (%d round%s over "
                "%zu member%s; last round: %s)", op, e->timeout_ms, rounds,
                rounds == 1 ? "" : "s", e->n, e->n == 1 ? "" : "s",
                why[0] ? why : "out of time");
out:
    free(payload);
    return rc;
}

/* ---- requests ----------------------------------------------------------- */

static int oom(node_etcd *e, const char *op)
{
    return seterr(e, NODE_ETCD_E_NOMEM, "etcd %s: out of memory", op);
}

static json_t *range_req(const void *key, size_t key_len,
                         const void *range_end, size_t range_end_len,
                         const node_etcd_range_opts *opts)
{
    json_t *r = json_object();

    if (r == NULL || set_bytes(r, "key", key, key_len) != 0 ||
        (range_end != NULL &&
         set_bytes(r, "range_end", range_end, range_end_len) != 0)) {
        json_decref(r);
        return NULL;
    }
    if (opts != NULL) {
        if ((opts->limit > 0 && set_i64(r, "limit", opts->limit) != 0) ||
            (opts->descending &&
             (json_object_set_new(r, "sort_order", json_string("DESCEND")) ||
              json_object_set_new(r, "sort_target", json_string("KEY")))) ||
            (opts->keys_only &&
             json_object_set_new(r, "keys_only", json_true()) != 0) ||
            (opts->count_only &&
             json_object_set_new(r, "count_only", json_true()) != 0)) {
            json_decref(r);
            return NULL;
        }
    }
    return r;
}

static json_t *put_req(const void *key, size_t key_len, const void *value,
                       size_t value_len, int64_t lease)
{
    json_t *r = json_object();

    if (r == NULL || set_bytes(r, "key", key, key_len) != 0 ||
        set_bytes(r, "value", value, value_len) != 0 ||
        (lease != 0 && set_i64(r, "lease", lease) != 0)) {
        json_decref(r);
        return NULL;
    }
    return r;
}

static json_t *delete_req(const void *key, size_t key_len,
                          const void *range_end, size_t range_end_len)
{
    return range_req(key, key_len, range_end, range_end_len, NULL);
}

static int header_revision(const json_t *reply, int64_t *revision)
{
    int64_t rev = 0;
    int rc = json_i64(json_object_get(reply, "header"), "revision", &rev);

    if (revision != NULL) {
        *revision = rev;
    }
    return rc;
}

static int check_key(node_etcd *e, const char *op, const void *key,
                     size_t key_len)
{
    if (key == NULL || key_len == 0) {
        return seterr(e, NODE_ETCD_E_INVALID, "etcd %s: empty key", op);
    }
    return NODE_ETCD_OK;
}

int node_etcd_put(node_etcd *e, const void *key, size_t key_len,
                  const void *value, size_t value_len, int64_t lease,
                  int64_t *revision)
{
    json_t *req, *reply;
    int rc = check_key(e, "put", key, key_len);

    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    req = put_req(key, key_len, value, value_len, lease);
    if (req == NULL) {
        return oom(e, "put");
    }
    rc = call(e, "put", "/v3/kv/put", req, &reply);
    json_decref(req);
    if (rc == NODE_ETCD_OK) {
        if (header_revision(reply, revision) != 0) {
            rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                        "etcd put: malformed header from %s", e->ep[e->cur]);
        }
        json_decref(reply);
    }
    return rc;
}

int node_etcd_range(node_etcd *e, const void *key, size_t key_len,
                    const void *range_end, size_t range_end_len,
                    const node_etcd_range_opts *opts, node_etcd_kvs *out)
{
    json_t *req, *reply;
    int rc;

    memset(out, 0, sizeof *out);
    rc = check_key(e, "range", key, key_len);
    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    req = range_req(key, key_len, range_end, range_end_len, opts);
    if (req == NULL) {
        return oom(e, "range");
    }
    rc = call(e, "range", "/v3/kv/range", req, &reply);
    json_decref(req);
    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    rc = parse_kvs(e, "range", reply, out);
    if (rc == NODE_ETCD_OK &&
        (json_i64(reply, "count", &out->count) != 0 ||
         header_revision(reply, &out->revision) != 0)) {
        rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                    "etcd range: malformed count or header from %s",
                    e->ep[e->cur]);
    }
    out->more = json_is_true(json_object_get(reply, "more"));
    json_decref(reply);
    if (rc != NODE_ETCD_OK) {
        node_etcd_kvs_release(out);
    }
    return rc;
}

int node_etcd_get(node_etcd *e, const void *key, size_t key_len,
                  node_etcd_kv *out)
{
    node_etcd_kvs r;
    int rc = node_etcd_range(e, key, key_len, NULL, 0, NULL, &r);

    memset(out, 0, sizeof *out);
    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    if (r.n == 0) {
        node_etcd_kvs_release(&r);
        return seterr(e, NODE_ETCD_E_NOTFOUND, "etcd get: no key \"%.*s\"",
                      (int)(key_len > 200 ? 200 : key_len),
                      (const char *)key);
    }
    *out = r.kv[0];
    memset(&r.kv[0], 0, sizeof r.kv[0]);
    node_etcd_kvs_release(&r);
    return NODE_ETCD_OK;
}

int node_etcd_delete(node_etcd *e, const void *key, size_t key_len,
                     const void *range_end, size_t range_end_len,
                     int64_t *deleted)
{
    json_t *req, *reply;
    int64_t n = 0;
    int rc = check_key(e, "delete", key, key_len);

    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    req = delete_req(key, key_len, range_end, range_end_len);
    if (req == NULL) {
        return oom(e, "delete");
    }
    rc = call(e, "delete", "/v3/kv/deleterange", req, &reply);
    json_decref(req);
    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    if (json_i64(reply, "deleted", &n) != 0) {
        rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                    "etcd delete: malformed \"deleted\" from %s",
                    e->ep[e->cur]);
    }
    json_decref(reply);
    if (deleted != NULL) {
        *deleted = n;
    }
    return rc;
}

void node_etcd_prefix_end(uint8_t *out, size_t *out_len, const void *key,
                          size_t key_len)
{
    const uint8_t *k = key;
    size_t i = key_len;

    while (i > 0 && k[i - 1] == 0xff) {
        i--;
    }
    if (i == 0) {
        out[0] = 0;
        *out_len = 1;
        return;
    }
    memcpy(out, k, i);
    out[i - 1]++;
    *out_len = i;
}

static const char *const target_names[] = { "CREATE", "MOD", "VERSION",
                                            "VALUE", "LEASE" };
static const char *const target_fields[] = { "create_revision",
                                             "mod_revision", "version",
                                             "value", "lease" };
static const char *const result_names[] = { "EQUAL", "GREATER", "LESS",
                                            "NOT_EQUAL" };

static json_t *ops_json(const node_etcd_op *ops, size_t n)
{
    json_t *arr = json_array();
    size_t i;

    for (i = 0; arr != NULL && i < n; i++) {
        const node_etcd_op *o = &ops[i];
        json_t *inner = NULL, *wrap = json_object();
        const char *name = NULL;

        switch (o->type) {
        case NODE_ETCD_OP_PUT:
            inner = put_req(o->key, o->key_len, o->value, o->value_len,
                            o->lease);
            name = "request_put";
            break;
        case NODE_ETCD_OP_RANGE: {
            node_etcd_range_opts ro = { .limit = o->limit,
                                        .descending = o->descending,
                                        .keys_only = o->keys_only,
                                        .count_only = o->count_only };
            inner = range_req(o->key, o->key_len, o->range_end,
                              o->range_end_len, &ro);
            name = "request_range";
            break;
        }
        case NODE_ETCD_OP_DELETE:
            inner = delete_req(o->key, o->key_len, o->range_end,
                               o->range_end_len);
            name = "request_delete_range";
            break;
        }
        if (inner == NULL || wrap == NULL ||
            json_object_set_new(wrap, name, inner) != 0 ||
            json_array_append_new(arr, wrap) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

int node_etcd_txn(node_etcd *e, const node_etcd_cmp *cmp, size_t ncmp,
                  const node_etcd_op *succ, size_t nsucc,
                  const node_etcd_op *fail, size_t nfail, bool *succeeded,
                  node_etcd_kvs *ranges, size_t *op_first, size_t *op_n,
                  int64_t *revision)
{
    json_t *req = json_object(), *carr = json_array(), *reply;
    json_t *sarr = ops_json(succ, nsucc), *farr = ops_json(fail, nfail);
    const json_t *resps;
    const node_etcd_op *taken;
    size_t i, ntaken;
    int64_t rev = 0;
    int rc;

    *succeeded = false;
    if (ranges != NULL) {
        memset(ranges, 0, sizeof *ranges);
    }
    if (req == NULL || carr == NULL || sarr == NULL || farr == NULL ||
        json_object_set_new(req, "compare", carr) != 0) {
        json_decref(req);
        json_decref(sarr);
        json_decref(farr);
        return oom(e, "txn");
    }
    if (json_object_set_new(req, "success", sarr) != 0 ||
        json_object_set_new(req, "failure", farr) != 0) {
        json_decref(req);
        return oom(e, "txn");
    }
    for (i = 0; i < ncmp; i++) {
        const node_etcd_cmp *c = &cmp[i];
        json_t *o = json_object();
        int bad;

        if ((unsigned)c->target > NODE_ETCD_LEASE ||
            (unsigned)c->result > NODE_ETCD_NOT_EQUAL || c->key_len == 0) {
            json_decref(o);
            json_decref(req);
            return seterr(e, NODE_ETCD_E_INVALID,
                          "etcd txn: compare %zu is malformed", i);
        }
        bad = o == NULL || set_bytes(o, "key", c->key, c->key_len) != 0 ||
              json_object_set_new(o, "target",
                                  json_string(target_names[c->target])) ||
              json_object_set_new(o, "result",
                                  json_string(result_names[c->result]));
        if (!bad) {
            bad = c->target == NODE_ETCD_VALUE
                      ? set_bytes(o, "value", c->value, c->value_len)
                      : set_i64(o, target_fields[c->target], c->number);
        }
        if (bad || json_array_append_new(carr, o) != 0) {
            json_decref(req);
            return oom(e, "txn");
        }
    }
    rc = call(e, "txn", "/v3/kv/txn", req, &reply);
    json_decref(req);
    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    *succeeded = json_is_true(json_object_get(reply, "succeeded"));
    taken = *succeeded ? succ : fail;
    ntaken = *succeeded ? nsucc : nfail;
    if (header_revision(reply, &rev) != 0) {
        rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                    "etcd txn: malformed header from %s", e->ep[e->cur]);
        goto out;
    }
    if (revision != NULL) {
        *revision = rev;
    }
    resps = json_object_get(reply, "responses");
    if (ntaken > 0 &&
        (!json_is_array(resps) || json_array_size(resps) != ntaken)) {
        rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                    "etcd txn: %s returned %zu responses for %zu requests",
                    e->ep[e->cur],
                    json_is_array(resps) ? json_array_size(resps) : 0,
                    ntaken);
        goto out;
    }
    for (i = 0; i < ntaken; i++) {
        size_t before = ranges != NULL ? ranges->n : 0;
        if (op_first != NULL && ranges != NULL) {
            op_first[i] = before;
        }
        if (taken[i].type == NODE_ETCD_OP_RANGE) {
            const json_t *rr = json_object_get(json_array_get(resps, i),
                                               "response_range");
            if (rr != NULL && ranges != NULL) {
                rc = parse_kvs(e, "txn", rr, ranges);
                if (rc != NODE_ETCD_OK) {
                    goto out;
                }
            }
            /* proto3 omits a zero count: absent reads as 0. */
            if (taken[i].count != NULL &&
                json_i64(rr, "count", taken[i].count) != 0) {
                rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                            "etcd txn: malformed count from %s",
                            e->ep[e->cur]);
                goto out;
            }
        }
        if (op_n != NULL && ranges != NULL) {
            op_n[i] = ranges->n - before;
        }
    }
    if (ranges != NULL) {
        ranges->revision = rev;
    }
out:
    json_decref(reply);
    if (rc != NODE_ETCD_OK && ranges != NULL) {
        node_etcd_kvs_release(ranges);
    }
    return rc;
}

int node_etcd_lease_grant(node_etcd *e, int64_t ttl_s, int64_t *id,
                          int64_t *granted)
{
    json_t *req, *reply;
    int64_t ttl = 0;
    int rc;

    *id = 0;
    if (ttl_s <= 0) {
        return seterr(e, NODE_ETCD_E_INVALID,
                      "etcd lease grant: TTL %lld s is not positive",
                      (long long)ttl_s);
    }
    req = json_object();
    if (req == NULL || set_i64(req, "TTL", ttl_s) != 0) {
        json_decref(req);
        return oom(e, "lease grant");
    }
    rc = call(e, "lease grant", "/v3/lease/grant", req, &reply);
    json_decref(req);
    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    if (json_i64(reply, "ID", id) != 0 || json_i64(reply, "TTL", &ttl) != 0 ||
        *id == 0) {
        const char *er = json_string_value(json_object_get(reply, "error"));
        rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                    "etcd lease grant: %s returned no lease id%s%s",
                    e->ep[e->cur], er ? ": " : "", er ? er : "");
        *id = 0;
    }
    json_decref(reply);
    if (granted != NULL) {
        *granted = ttl;
    }
    return rc;
}

int node_etcd_lease_keepalive(node_etcd *e, int64_t id, int64_t *ttl_left)
{
    json_t *req = json_object(), *reply;
    int64_t ttl = 0;
    int rc;

    if (ttl_left != NULL) {
        *ttl_left = 0;
    }
    if (req == NULL || set_i64(req, "ID", id) != 0) {
        json_decref(req);
        return oom(e, "lease keepalive");
    }
    /* A streaming RPC; one request message on the POST body gives one
     * response message ({"result": ...}) and the stream ends. */
    rc = call(e, "lease keepalive", "/v3/lease/keepalive", req, &reply);
    json_decref(req);
    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    if (json_i64(reply, "TTL", &ttl) != 0) {
        rc = seterr(e, NODE_ETCD_E_PROTOCOL,
                    "etcd lease keepalive: malformed TTL from %s",
                    e->ep[e->cur]);
    } else if (ttl <= 0) {
        /* etcd answers an unknown lease with TTL 0 (omitted). */
        rc = seterr(e, NODE_ETCD_E_LEASE,
                    "etcd lease keepalive: lease %lld has expired or was "
                    "revoked (%s)", (long long)id, e->ep[e->cur]);
    }
    json_decref(reply);
    if (ttl_left != NULL) {
        *ttl_left = ttl;
    }
    return rc;
}

int node_etcd_lease_revoke(node_etcd *e, int64_t id)
{
    json_t *req = json_object(), *reply;
    int rc;

    if (req == NULL || set_i64(req, "ID", id) != 0) {
        json_decref(req);
        return oom(e, "lease revoke");
    }
    rc = call(e, "lease revoke", "/v3/lease/revoke", req, &reply);
    json_decref(req);
    if (rc == NODE_ETCD_OK) {
        json_decref(reply);
    }
    return rc;
}

/* ---- watch ------------------------------------------------------------- */

/* State of one streaming watch attempt. */
typedef struct watch_state {
    node_etcd *e;
    bool created;  /* the member accepted the watch */
    bool changed;  /* an event (or a cancel: re-read) arrived */
    bool failed;   /* an error message arrived */
    int64_t revision;
    int64_t started_ms, first_reply_ms; /* created must come by then */
    char msg[256];
    char *buf;
    size_t len, cap;
} watch_state;

/* One message of the stream: {"result": {...}} or {"error": {...}}. */
static void watch_message(watch_state *w, const char *line, size_t n)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, n, 0, &jerr), *res, *ev;

    if (j == NULL) {
        return; /* a partial or empty line: ignored */
    }
    res = json_object_get(j, "result");
    if (res == NULL) {
        const json_t *er = json_object_get(j, "error");
        const char *m = json_string_value(json_object_get(er, "message"));
        if (m == NULL) {
            m = json_string_value(er);
        }
        snprintf(w->msg, sizeof w->msg, "%s", m ? m : "malformed message");
        w->failed = true;
        json_decref(j);
        return;
    }
    if (json_is_true(json_object_get(res, "created"))) {
        w->created = true;
    }
    ev = json_object_get(res, "events");
    if ((json_is_array(ev) && json_array_size(ev) > 0) ||
        json_is_true(json_object_get(res, "canceled"))) {
        w->changed = true;
        json_i64(json_object_get(res, "header"), "revision", &w->revision);
    }
    json_decref(j);
}

static size_t on_watch(char *p, size_t size, size_t nmemb, void *ud)
{
    watch_state *w = ud;
    size_t n = size * nmemb, start = 0, i;

    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 4096;
        char *b;
        while (cap < w->len + n + 1) {
            cap *= 2;
        }
        if (cap > MAX_REPLY || (b = realloc(w->buf, cap)) == NULL) {
            w->failed = true;
            snprintf(w->msg, sizeof w->msg, "watch message too large");
            return 0;
        }
        w->buf = b;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    for (i = 0; i < w->len; i++) {
        if (w->buf[i] == '\n') {
            watch_message(w, w->buf + start, i - start);
            start = i + 1;
        }
    }
    memmove(w->buf, w->buf + start, w->len - start);
    w->len -= start;
    /* Stop the transfer as soon as there is something to report. */
    return w->changed || w->failed ? 0 : n;
}

static int on_watch_progress(void *ud, curl_off_t dt, curl_off_t dn,
                             curl_off_t ut, curl_off_t un)
{
    watch_state *w = ud;

    (void)dt;
    (void)dn;
    (void)ut;
    (void)un;
    /* A member that accepted the connection but does not confirm the watch
     * in its share of the time is frozen or cut off: try the next one. */
    return !w->created && now_ms() > w->first_reply_ms;
}

int node_etcd_watch_wait(node_etcd *e, const void *key, size_t key_len,
                         const void *range_end, size_t range_end_len,
                         int64_t start_revision, long timeout_ms,
                         bool *changed, int64_t *revision)
{
    json_t *req = NULL, *cr;
    char *payload = NULL;
    int64_t deadline = now_ms() + timeout_ms;
    char why[NODE_ETCD_ERR_LEN - 160];
    watch_state w;
    bool any_created = false;
    int rc = NODE_ETCD_E_UNAVAILABLE;
    size_t tried = 0;

    *changed = false;
    if (revision != NULL) {
        *revision = 0;
    }
    e->err[0] = '\0';
    why[0] = '\0';
    memset(&w, 0, sizeof w);
    rc = check_key(e, "watch", key, key_len);
    if (rc != NODE_ETCD_OK) {
        return rc;
    }
    req = json_object();
    cr = range_req(key, key_len, range_end, range_end_len, NULL);
    if (req == NULL || cr == NULL ||
        (start_revision > 0 && set_i64(cr, "start_revision", start_revision)) ||
        json_object_set_new(req, "create_request", cr) != 0 ||
        (payload = json_dumps(req, JSON_COMPACT)) == NULL) {
        json_decref(req);
        return oom(e, "watch");
    }
    json_decref(req);
    for (;;) {
        const char *ep = e->ep[e->cur];
        int64_t left = deadline - now_ms();
        long share;
        char url[512], cerr[CURL_ERROR_SIZE];
        CURLcode cc;

        if (left <= 0) {
            break;
        }
        share = (long)(left / (int64_t)(e->n - tried % e->n));
        if (share < MIN_ATTEMPT_MS) {
            share = MIN_ATTEMPT_MS;
        }
        free(w.buf);
        memset(&w, 0, sizeof w);
        w.e = e;
        w.started_ms = now_ms();
        w.first_reply_ms = w.started_ms + share;
        snprintf(url, sizeof url, "%s/v3/watch", ep);
        cerr[0] = '\0';
        curl_easy_reset(e->curl);
        curl_easy_setopt(e->curl, CURLOPT_URL, url);
        curl_easy_setopt(e->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(e->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
        curl_easy_setopt(e->curl, CURLOPT_HTTPHEADER, e->hdrs);
        curl_easy_setopt(e->curl, CURLOPT_WRITEFUNCTION, on_watch);
        curl_easy_setopt(e->curl, CURLOPT_WRITEDATA, &w);
        curl_easy_setopt(e->curl, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(e->curl, CURLOPT_XFERINFOFUNCTION, on_watch_progress);
        curl_easy_setopt(e->curl, CURLOPT_XFERINFODATA, &w);
        curl_easy_setopt(e->curl, CURLOPT_TIMEOUT_MS, (long)left);
        curl_easy_setopt(e->curl, CURLOPT_CONNECTTIMEOUT_MS, share);
        curl_easy_setopt(e->curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e->curl, CURLOPT_ERRORBUFFER, cerr);
        curl_easy_setopt(e->curl, CURLOPT_PROTOCOLS_STR, "http,https");
        cc = curl_easy_perform(e->curl);
        any_created |= w.created;
        if (w.changed) {
            *changed = true;
            if (revision != NULL) {
                *revision = w.revision;
            }
            rc = NODE_ETCD_OK;
            goto out;
        }
        if (w.failed) {
            rc = seterr(e, NODE_ETCD_E_SERVER, "etcd watch: %s refused it: %s",
                        ep, w.msg);
            goto out;
        }
        if (w.created) {
            /* It ran to the deadline (or the member closed the stream):
             * nothing changed that we saw. The caller re-reads. */
            rc = NODE_ETCD_OK;
            goto out;
        }
        why_add(why, sizeof why, ep, "%s",
                cc == CURLE_ABORTED_BY_CALLBACK
                    ? "accepted the connection but did not confirm the watch"
                    : (cerr[0] ? cerr : curl_easy_strerror(cc)));
        e->cur = (e->cur + 1) % e->n;
        if (++tried % e->n == 0) {
            if (deadline - now_ms() <= ROUND_PAUSE_MS) {
                break;
            }
            sleep_ms(ROUND_PAUSE_MS);
            why[0] = '\0';
        }
    }
    rc = any_created ? NODE_ETCD_OK
                     : seterr(e, NODE_ETCD_E_UNAVAILABLE,
                              "etcd watch: no member accepted it within %ld "
                              "ms (%s)", timeout_ms,
                              why[0] ? why : "out of time");
out:
    free(w.buf);
    free(payload);
    return rc;
}
