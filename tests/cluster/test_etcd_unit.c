/* node/cluster/etcd.c without etcd: argument checks, the JSON it sends, the
 * replies it accepts or refuses, and member failover, against small fake
 * HTTP servers on loopback (one thread each). The real etcd is exercised by
 * test_cluster.py. */
#include "cluster/etcd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

/* ---- a fake member -------------------------------------------------------- */

typedef struct fake {
    int lfd;
    int port;
    pthread_t th;
    bool blackhole; /* accept, read, never answer */
    int status;
    const char *reply;
    char last_body[8192]; /* the last request's body */
    char last_path[256];
    int requests;
    pthread_mutex_t mu;
    bool stop; /* under mu */
} fake;

static void *fake_main(void *arg)
{
    fake *f = arg;
    int held[64];
    int nheld = 0, i;

    for (;;) {
        char buf[16384];
        size_t len = 0;
        char *hdr_end = NULL, *cl;
        long clen = 0;
        bool stop;
        int fd = accept(f->lfd, NULL, NULL);

        pthread_mutex_lock(&f->mu);
        stop = f->stop;
        pthread_mutex_unlock(&f->mu);
        if (fd < 0 || stop) {
            if (fd >= 0) {
                close(fd);
            }
            break;
        }
        while (len < sizeof buf - 1) {
            ssize_t n = read(fd, buf + len, sizeof buf - 1 - len);
            if (n <= 0) {
                break;
            }
            len += (size_t)n;
            buf[len] = '\0';
            hdr_end = strstr(buf, "\r\n\r\n");
            if (hdr_end != NULL) {
                cl = strstr(buf, "Content-Length:");
                clen = cl ? atol(cl + 15) : 0;
                if ((long)(len - (size_t)(hdr_end + 4 - buf)) >= clen) {
                    break;
                }
            }
        }
        pthread_mutex_lock(&f->mu);
        f->requests++;
        if (hdr_end != NULL) {
            char *sp = strchr(buf, ' ');
            snprintf(f->last_body, sizeof f->last_body, "%.*s", (int)clen,
                     hdr_end + 4);
            if (sp != NULL) {
                snprintf(f->last_path, sizeof f->last_path, "%.*s",
                         (int)strcspn(sp + 1, " "), sp + 1);
            }
        }
        pthread_mutex_unlock(&f->mu);
        if (f->blackhole) {
            if (nheld < 64) {
                held[nheld++] = fd;
            } else {
                close(fd);
            }
            continue;
        }
        {
            char out[16384];
            int n = snprintf(out, sizeof out,
                             "HTTP/1.1 %d X\r\nContent-Type: application/json"
                             "\r\nContent-Length: %zu\r\nConnection: close"
                             "\r\n\r\n%s", f->status, strlen(f->reply),
                             f->reply);
            ssize_t w = write(fd, out, (size_t)n);
            (void)w;
        }
        close(fd);
    }
    for (i = 0; i < nheld; i++) {
        close(held[i]);
    }
    return NULL;
}

static void fake_start(fake *f, int status, const char *reply, bool blackhole)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;

    memset(f, 0, sizeof *f);
    pthread_mutex_init(&f->mu, NULL);
    f->status = status;
    f->reply = reply;
    f->blackhole = blackhole;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(f->lfd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(f->lfd, 16), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &alen), 0);
    f->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(fake *f)
{
    pthread_mutex_lock(&f->mu);
    f->stop = true;
    pthread_mutex_unlock(&f->mu);
    shutdown(f->lfd, SHUT_RDWR);
    close(f->lfd);
    pthread_join(f->th, NULL);
    pthread_mutex_destroy(&f->mu);
}

static void url(char *out, size_t n, int port)
{
    snprintf(out, n, "http://127.0.0.1:%d", port);
}

/* A loopback port nobody listens on (bound, then released). */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_create_rejects_bad_endpoints(void **state)
{
    char err[NODE_ETCD_ERR_LEN];
    node_etcd *e = (node_etcd *)1;
    char many[2048] = "";
    int i;

    (void)state;
    assert_int_equal(node_etcd_create(&e, "127.0.0.1:2379", 1000, err),
                     NODE_ETCD_E_INVALID);
    assert_null(e);
    assert_non_null(strstr(err, "\"127.0.0.1:2379\""));
    assert_non_null(strstr(err, "not an http://"));
    assert_int_equal(node_etcd_create(&e, "http://a:1,ftp://b:2", 1000, err),
                     NODE_ETCD_E_INVALID);
    assert_non_null(strstr(err, "endpoint 2"));
    assert_int_equal(node_etcd_create(&e, "", 1000, err),
                     NODE_ETCD_E_INVALID);
    assert_int_equal(node_etcd_create(&e, "http://a:1", 0, err),
                     NODE_ETCD_E_INVALID);
    assert_non_null(strstr(err, "timeout"));
    for (i = 0; i < 17; i++) {
        strcat(many, i ? ",http://h:1" : "http://h:1");
    }
    assert_int_equal(node_etcd_create(&e, many, 1000, err),
                     NODE_ETCD_E_INVALID);
    assert_non_null(strstr(err, "more than 16"));
    assert_int_equal(node_etcd_create(&e, "http://a:1/,https://b:2", 1000,
                                      err), NODE_ETCD_OK);
    assert_string_equal(node_etcd_endpoint(e), "http://a:1");
    node_etcd_destroy(e);
    node_etcd_destroy(NULL);
}

static void test_no_member_reachable(void **state)
{
    char err[NODE_ETCD_ERR_LEN], eps[128], u1[64], u2[64];
    node_etcd *e;
    node_etcd_kv kv;

    (void)state;
    url(u1, sizeof u1, closed_port());
    url(u2, sizeof u2, closed_port());
    snprintf(eps, sizeof eps, "%s,%s", u1, u2);
    assert_int_equal(node_etcd_create(&e, eps, 300, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_get(e, "k", 1, &kv), NODE_ETCD_E_UNAVAILABLE);
    assert_null(kv.key);
    assert_non_null(strstr(node_etcd_errmsg(e), "no member answered within "
                                                "300 ms"));
    assert_non_null(strstr(node_etcd_errmsg(e), u1));
    assert_non_null(strstr(node_etcd_errmsg(e), u2));
    assert_int_equal(node_etcd_put(e, "", 0, "v", 1, 0, NULL),
                     NODE_ETCD_E_INVALID);
    assert_non_null(strstr(node_etcd_errmsg(e), "empty key"));
    node_etcd_destroy(e);
}

/* A member that accepts but never answers (frozen) costs only its share of
 * the budget: the call moves on and succeeds on the next one. */
static void test_failover_past_a_frozen_member(void **state)
{
    fake hole, good;
    char err[NODE_ETCD_ERR_LEN], eps[128], u1[64], u2[64];
    node_etcd *e;
    int64_t rev = 0;

    (void)state;
    fake_start(&hole, 0, NULL, true);
    fake_start(&good, 200, "{\"header\":{\"revision\":\"42\"}}", false);
    url(u1, sizeof u1, hole.port);
    url(u2, sizeof u2, good.port);
    snprintf(eps, sizeof eps, "%s,%s", u1, u2);
    assert_int_equal(node_etcd_create(&e, eps, 1000, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_put(e, "key", 3, "\x00\xff", 2, 123, &rev),
                     NODE_ETCD_OK);
    assert_int_equal(rev, 42);
    pthread_mutex_lock(&hole.mu);
    assert_int_equal(hole.requests, 1);
    pthread_mutex_unlock(&hole.mu);
    pthread_mutex_lock(&good.mu);
    assert_int_equal(good.requests, 1);
    assert_string_equal(node_etcd_endpoint(e), u2); /* sticks to it */
    assert_string_equal(good.last_path, "/v3/kv/put");
    {
        json_error_t je;
        json_t *j = json_loads(good.last_body, 0, &je);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "key")),
                            "a2V5");
        assert_string_equal(json_string_value(json_object_get(j, "value")),
                            "AP8=");
        assert_string_equal(json_string_value(json_object_get(j, "lease")),
                            "123");
        json_decref(j);
    }
    pthread_mutex_unlock(&good.mu);
    /* The frozen member alone: the call ends at the deadline. */
    node_etcd_destroy(e);
    assert_int_equal(node_etcd_create(&e, u1, 300, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_put(e, "k", 1, "v", 1, 0, NULL),
                     NODE_ETCD_E_UNAVAILABLE);
    assert_non_null(strstr(node_etcd_errmsg(e), "imed out"));
    node_etcd_destroy(e);
    fake_stop(&hole);
    fake_stop(&good);
}

static int one_reply(int status, const char *reply, int (*op)(node_etcd *),
                     char *msg, size_t msglen)
{
    fake f;
    char err[NODE_ETCD_ERR_LEN], u[64];
    node_etcd *e;
    int rc;

    fake_start(&f, status, reply, false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    rc = op(e);
    snprintf(msg, msglen, "%s", node_etcd_errmsg(e));
    node_etcd_destroy(e);
    fake_stop(&f);
    return rc;
}

static int op_put_lease(node_etcd *e)
{
    return node_etcd_put(e, "k", 1, "v", 1, 99, NULL);
}

static int op_keepalive(node_etcd *e)
{
    int64_t ttl = -1;
    int rc = node_etcd_lease_keepalive(e, 7, &ttl);
    if (rc == NODE_ETCD_OK) {
        assert_int_equal(ttl, 3);
    }
    return rc;
}

static void test_error_replies(void **state)
{
    char msg[NODE_ETCD_ERR_LEN];

    (void)state;
    assert_int_equal(
        one_reply(404, "{\"error\":\"etcdserver: requested lease not "
                       "found\",\"message\":\"etcdserver: requested lease "
                       "not found\",\"code\":5}", op_put_lease, msg,
                  sizeof msg), NODE_ETCD_E_LEASE);
    assert_non_null(strstr(msg, "requested lease not found"));
    assert_int_equal(
        one_reply(400, "{\"error\":\"etcdserver: request is too large\","
                       "\"message\":\"etcdserver: request is too large\","
                       "\"code\":3}", op_put_lease, msg, sizeof msg),
        NODE_ETCD_E_SERVER);
    assert_non_null(strstr(msg, "request is too large"));
    assert_non_null(strstr(msg, "gRPC code 3"));
    /* "No leader" on the only member: retried until the deadline. */
    assert_int_equal(
        one_reply(503, "{\"error\":\"etcdserver: no leader\",\"message\":"
                       "\"etcdserver: no leader\",\"code\":14}", op_put_lease,
                  msg, sizeof msg), NODE_ETCD_E_UNAVAILABLE);
    assert_non_null(strstr(msg, "no leader"));
    assert_int_equal(one_reply(200, "<html>hello</html>", op_put_lease, msg,
                               sizeof msg), NODE_ETCD_E_PROTOCOL);
    assert_non_null(strstr(msg, "not JSON"));
    assert_int_equal(one_reply(200, "{\"result\":{\"ID\":\"7\",\"TTL\":\"3\"}}",
                               op_keepalive, msg, sizeof msg), NODE_ETCD_OK);
    /* etcd answers a keepalive of an unknown lease with TTL 0 (omitted). */
    assert_int_equal(one_reply(200, "{\"result\":{\"ID\":\"7\"}}",
                               op_keepalive, msg, sizeof msg),
                     NODE_ETCD_E_LEASE);
    assert_non_null(strstr(msg, "lease 7 has expired"));
}

static void test_range_reply_parsing(void **state)
{
    fake f;
    char err[NODE_ETCD_ERR_LEN], u[64];
    node_etcd *e;
    node_etcd_kvs r;

    (void)state;
    /* key "\x00k\xff", value "" (omitted), create_revision as a string. */
    fake_start(&f, 200,
               "{\"header\":{\"revision\":\"9\"},\"count\":\"2\","
               "\"more\":true,\"kvs\":[{\"key\":\"AGv/\","
               "\"create_revision\":\"5\",\"mod_revision\":\"6\","
               "\"version\":\"2\",\"lease\":\"77\"}]}", false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_range(e, "a", 1, "b", 1, NULL, &r),
                     NODE_ETCD_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.kv[0].key_len, 3);
    assert_memory_equal(r.kv[0].key, "\x00k\xff", 3);
    assert_int_equal(r.kv[0].value_len, 0);
    assert_int_equal(r.kv[0].create_revision, 5);
    assert_int_equal(r.kv[0].mod_revision, 6);
    assert_int_equal(r.kv[0].version, 2);
    assert_int_equal(r.kv[0].lease, 77);
    assert_int_equal(r.count, 2);
    assert_true(r.more);
    assert_int_equal(r.revision, 9);
    node_etcd_kvs_release(&r);
    node_etcd_destroy(e);
    fake_stop(&f);

    /* Malformed base64 is a protocol error, not garbage bytes. */
    fake_start(&f, 200, "{\"kvs\":[{\"key\":\"a=b=\"}]}", false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_range(e, "a", 1, NULL, 0, NULL, &r),
                     NODE_ETCD_E_PROTOCOL);
    assert_int_equal(r.n, 0);
    assert_non_null(strstr(node_etcd_errmsg(e), "kvs[0]"));
    node_etcd_destroy(e);
    fake_stop(&f);
}

/* Base64 in standard alphabet (the test's own encoder, to build replies). */
static void b64(char *out, const uint8_t *p, size_t n)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;

    for (i = 0; i + 2 < n; i += 3) {
        *out++ = t[p[i] >> 2];
        *out++ = t[(p[i] & 3) << 4 | p[i + 1] >> 4];
        *out++ = t[(p[i + 1] & 15) << 2 | p[i + 2] >> 6];
        *out++ = t[p[i + 2] & 63];
    }
    if (n - i == 1) {
        *out++ = t[p[i] >> 2];
        *out++ = t[(p[i] & 3) << 4];
        *out++ = '=';
        *out++ = '=';
    } else if (n - i == 2) {
        *out++ = t[p[i] >> 2];
        *out++ = t[(p[i] & 3) << 4 | p[i + 1] >> 4];
        *out++ = t[(p[i + 1] & 15) << 2];
        *out++ = '=';
    }
    *out = '\0';
}

/* Long values (blocks) are decoded before the JSON parse: the bytes must
 * be exactly the value's, each kv its own, padding included; a long value
 * that is not valid base64 and a forged placeholder are protocol errors. */
static void test_range_long_values(void **state)
{
    enum { N1 = 3001, N2 = 4000 };
    static uint8_t v1[N1], v2[N2];
    static char s1[N1 / 3 * 4 + 8], s2[N2 / 3 * 4 + 8];
    static char reply[2 * (N2 / 3 * 4 + 8) + 512];
    fake f;
    char err[NODE_ETCD_ERR_LEN], u[64];
    node_etcd *e;
    node_etcd_kvs r;
    size_t i;

    (void)state;
    for (i = 0; i < N1; i++) {
        v1[i] = (uint8_t)(i * 7 + 1);
    }
    for (i = 0; i < N2; i++) {
        v2[i] = (uint8_t)(i * 13 + 5);
    }
    b64(s1, v1, N1);
    b64(s2, v2, N2);
    snprintf(reply, sizeof reply,
             "{\"header\":{\"revision\":\"9\"},\"kvs\":["
             "{\"key\":\"YQ==\",\"value\":\"%s\",\"create_revision\":\"3\"},"
             "{\"key\":\"Yg==\",\"value\":\"%s\",\"create_revision\":\"4\"}"
             "],\"count\":\"2\"}", s1, s2);
    fake_start(&f, 200, reply, false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_range(e, "a", 1, "c", 1, NULL, &r),
                     NODE_ETCD_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.kv[0].key_len, 1);
    assert_memory_equal(r.kv[0].key, "a", 1);
    assert_int_equal(r.kv[0].value_len, N1);
    assert_memory_equal(r.kv[0].value, v1, N1);
    assert_int_equal(r.kv[0].create_revision, 3);
    assert_int_equal(r.kv[1].value_len, N2);
    assert_memory_equal(r.kv[1].value, v2, N2);
    assert_int_equal(r.kv[1].create_revision, 4);
    assert_int_equal(r.count, 2);
    node_etcd_kvs_release(&r);
    node_etcd_destroy(e);
    fake_stop(&f);

    /* Padding in the middle of a long value. */
    s1[100] = '=';
    snprintf(reply, sizeof reply, "{\"kvs\":[{\"key\":\"YQ==\","
             "\"value\":\"%s\"}]}", s1);
    fake_start(&f, 200, reply, false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_range(e, "a", 1, NULL, 0, NULL, &r),
                     NODE_ETCD_E_PROTOCOL);
    assert_int_equal(r.n, 0);
    node_etcd_destroy(e);
    fake_stop(&f);

    /* A reply that spells a placeholder itself is not trusted. */
    fake_start(&f, 200, "{\"kvs\":[{\"key\":\"YQ==\",\"value\":\"\\u00000\"}]}",
               false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_range(e, "a", 1, NULL, 0, NULL, &r),
                     NODE_ETCD_E_PROTOCOL);
    node_etcd_destroy(e);
    fake_stop(&f);
}

static void test_txn_request_and_branches(void **state)
{
    fake f;
    char err[NODE_ETCD_ERR_LEN], u[64];
    node_etcd *e;
    node_etcd_kvs r;
    node_etcd_cmp cmp = { .key = "L", .key_len = 1,
                          .target = NODE_ETCD_CREATE,
                          .result = NODE_ETCD_EQUAL, .number = 0 };
    node_etcd_op put = { .type = NODE_ETCD_OP_PUT, .key = "L", .key_len = 1,
                         .value = "n1", .value_len = 2, .lease = 5 };
    node_etcd_op get[2] = {
        { .type = NODE_ETCD_OP_RANGE, .key = "L", .key_len = 1 },
        { .type = NODE_ETCD_OP_RANGE, .key = "B", .key_len = 1 }
    };
    size_t first[2], n[2];
    bool ok = true;
    json_t *j;
    json_error_t je;

    (void)state;
    /* The failure branch ran: succeeded omitted; first range 1 pair, the
     * second none. */
    fake_start(&f, 200,
               "{\"header\":{\"revision\":\"3\"},\"responses\":["
               "{\"response_range\":{\"kvs\":[{\"key\":\"TA==\","
               "\"value\":\"bjI=\",\"create_revision\":\"2\","
               "\"lease\":\"8\"}],\"count\":\"1\"}},"
               "{\"response_range\":{}}]}", false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_txn(e, &cmp, 1, &put, 1, get, 2, &ok, &r,
                                   first, n, NULL), NODE_ETCD_OK);
    assert_false(ok);
    assert_int_equal(r.n, 1);
    assert_int_equal(first[0], 0);
    assert_int_equal(n[0], 1);
    assert_int_equal(n[1], 0);
    assert_memory_equal(r.kv[0].value, "n2", 2);
    assert_int_equal(r.kv[0].lease, 8);
    node_etcd_kvs_release(&r);
    /* What went out: etcd's field names, int64 as strings. */
    pthread_mutex_lock(&f.mu);
    j = json_loads(f.last_body, 0, &je);
    assert_non_null(j);
    {
        json_t *c0 = json_array_get(json_object_get(j, "compare"), 0);
        json_t *s0 = json_array_get(json_object_get(j, "success"), 0);
        json_t *f1 = json_array_get(json_object_get(j, "failure"), 1);
        assert_string_equal(json_string_value(json_object_get(c0, "target")),
                            "CREATE");
        assert_string_equal(json_string_value(json_object_get(c0, "result")),
                            "EQUAL");
        assert_string_equal(
            json_string_value(json_object_get(c0, "create_revision")), "0");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(s0, "request_put"), "lease")),
                            "5");
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(f1, "request_range"), "key")),
                            "Qg==");
    }
    json_decref(j);
    assert_string_equal(f.last_path, "/v3/kv/txn");
    pthread_mutex_unlock(&f.mu);
    node_etcd_destroy(e);
    fake_stop(&f);

    /* A reply with fewer responses than requests is refused. */
    fake_start(&f, 200, "{\"succeeded\":true,\"responses\":[]}", false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_txn(e, &cmp, 1, &put, 1, get, 2, &ok, &r,
                                   NULL, NULL, NULL), NODE_ETCD_E_PROTOCOL);
    assert_non_null(strstr(node_etcd_errmsg(e), "0 responses for 1"));
    node_etcd_destroy(e);
    fake_stop(&f);
}

/* A count_only RANGE op of a txn: count_only goes out, the reply's count
 * (a string, or absent for zero as proto3 omits it) comes back in *count,
 * no pairs. */
static void test_txn_count_only(void **state)
{
    fake f;
    char err[NODE_ETCD_ERR_LEN], u[64];
    node_etcd *e;
    node_etcd_kvs r;
    int64_t c1 = -1, c2 = -1;
    node_etcd_op get[2] = {
        { .type = NODE_ETCD_OP_RANGE, .key = "B", .key_len = 1,
          .range_end = "C", .range_end_len = 1, .count_only = true,
          .count = &c1 },
        { .type = NODE_ETCD_OP_RANGE, .key = "D", .key_len = 1,
          .count_only = true, .count = &c2 }
    };
    size_t first[2], n[2];
    bool ok = false;
    json_t *j, *r0;
    json_error_t je;

    (void)state;
    fake_start(&f, 200,
               "{\"header\":{\"revision\":\"7\"},\"succeeded\":true,"
               "\"responses\":[{\"response_range\":{\"header\":{},"
               "\"count\":\"41\"}},{\"response_range\":{\"header\":{}}}]}",
               false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_txn(e, NULL, 0, get, 2, NULL, 0, &ok, &r,
                                   first, n, NULL), NODE_ETCD_OK);
    assert_true(ok);
    assert_int_equal(c1, 41);
    assert_int_equal(c2, 0);
    assert_int_equal(r.n, 0);
    assert_int_equal(n[0], 0);
    node_etcd_kvs_release(&r);
    pthread_mutex_lock(&f.mu);
    j = json_loads(f.last_body, 0, &je);
    assert_non_null(j);
    r0 = json_object_get(json_array_get(json_object_get(j, "success"), 0),
                         "request_range");
    assert_true(json_is_true(json_object_get(r0, "count_only")));
    assert_null(json_object_get(r0, "sort_order"));
    json_decref(j);
    pthread_mutex_unlock(&f.mu);
    node_etcd_destroy(e);
    fake_stop(&f);

    /* A count that is not a number is refused. */
    fake_start(&f, 200,
               "{\"succeeded\":true,\"responses\":[{\"response_range\":"
               "{\"count\":\"x\"}},{\"response_range\":{}}]}", false);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    assert_int_equal(node_etcd_txn(e, NULL, 0, get, 2, NULL, 0, &ok, &r,
                                   NULL, NULL, NULL), NODE_ETCD_E_PROTOCOL);
    assert_non_null(strstr(node_etcd_errmsg(e), "malformed count"));
    node_etcd_destroy(e);
    fake_stop(&f);
}

static int watch_with(int status, const char *reply, bool blackhole,
                      bool *changed, int64_t *rev, char *msg, size_t msglen)
{
    fake f;
    char err[NODE_ETCD_ERR_LEN], u[64];
    node_etcd *e;
    int rc;

    fake_start(&f, status, reply, blackhole);
    url(u, sizeof u, f.port);
    assert_int_equal(node_etcd_create(&e, u, 500, err), NODE_ETCD_OK);
    rc = node_etcd_watch_wait(e, "b/", 2, "b0", 2, 7, 400, changed, rev);
    snprintf(msg, msglen, "%s", node_etcd_errmsg(e));
    node_etcd_destroy(e);
    pthread_mutex_lock(&f.mu);
    if (!blackhole) {
        json_error_t je;
        json_t *j = json_loads(f.last_body, 0, &je);
        json_t *cr = json_object_get(j, "create_request");
        assert_string_equal(f.last_path, "/v3/watch");
        assert_string_equal(json_string_value(json_object_get(cr, "key")),
                            "Yi8=");
        assert_string_equal(
            json_string_value(json_object_get(cr, "start_revision")), "7");
        json_decref(j);
    }
    pthread_mutex_unlock(&f.mu);
    fake_stop(&f);
    return rc;
}

static void test_watch(void **state)
{
    char msg[NODE_ETCD_ERR_LEN];
    bool changed;
    int64_t rev;

    (void)state;
    /* The stream: "created", then an event (newline-delimited). */
    assert_int_equal(
        watch_with(200,
                   "{\"result\":{\"header\":{\"revision\":\"6\"},"
                   "\"created\":true}}\n{\"result\":{\"header\":{"
                   "\"revision\":\"8\"},\"events\":[{\"kv\":{\"key\":"
                   "\"Yi8x\"}}]}}\n", false, &changed, &rev, msg,
                   sizeof msg), NODE_ETCD_OK);
    assert_true(changed);
    assert_int_equal(rev, 8);
    /* Cancelled because start_revision was compacted: re-read. */
    assert_int_equal(
        watch_with(200,
                   "{\"result\":{\"created\":true}}\n{\"result\":{"
                   "\"canceled\":true,\"compact_revision\":\"9\"}}\n",
                   false, &changed, &rev, msg, sizeof msg), NODE_ETCD_OK);
    assert_true(changed);
    /* Created, then the member closed the stream: nothing seen. */
    assert_int_equal(watch_with(200, "{\"result\":{\"created\":true}}\n",
                                false, &changed, &rev, msg, sizeof msg),
                     NODE_ETCD_OK);
    assert_false(changed);
    /* An error message on the stream. */
    assert_int_equal(
        watch_with(200, "{\"error\":{\"grpc_code\":3,\"message\":"
                        "\"bad range\"}}\n", false, &changed, &rev, msg,
                   sizeof msg), NODE_ETCD_E_SERVER);
    assert_non_null(strstr(msg, "bad range"));
    /* A frozen member never confirms: unavailable, saying so. */
    assert_int_equal(watch_with(0, NULL, true, &changed, &rev, msg,
                                sizeof msg), NODE_ETCD_E_UNAVAILABLE);
    assert_false(changed);
    assert_non_null(strstr(msg, "no member accepted it within 400 ms"));
}

static void test_prefix_end(void **state)
{
    uint8_t out[8];
    size_t n;

    (void)state;
    node_etcd_prefix_end(out, &n, "abc", 3);
    assert_int_equal(n, 3);
    assert_memory_equal(out, "abd", 3);
    node_etcd_prefix_end(out, &n, "a\xff\xff", 3);
    assert_int_equal(n, 1);
    assert_memory_equal(out, "b", 1);
    node_etcd_prefix_end(out, &n, "\xff\xff", 2);
    assert_int_equal(n, 1);
    assert_int_equal(out[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_bad_endpoints),
        cmocka_unit_test(test_no_member_reachable),
        cmocka_unit_test(test_failover_past_a_frozen_member),
        cmocka_unit_test(test_error_replies),
        cmocka_unit_test(test_range_reply_parsing),
        cmocka_unit_test(test_range_long_values),
        cmocka_unit_test(test_txn_request_and_branches),
        cmocka_unit_test(test_txn_count_only),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_prefix_end),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
