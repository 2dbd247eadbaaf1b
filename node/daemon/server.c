/* HTTP glue of the reference node (libmicrohttpd): POST / carries JSON-RPC
 * to node_rpc_handle(), GET /metrics the Prometheus text page. */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

/* Threads answering requests; the engine has its own pool. */
#define SERVER_THREADS 4
/* tx/s on /metrics is measured over this window. */
#define RATE_WINDOW_NS 10000000000ULL

struct node_server {
    struct MHD_Daemon *d;
    node_ctx *c;
};

typedef struct request {
    node_buf body;
    int too_big;
} request;

static const char *const stage_names[NODE_STAGES] = {"decode", "verify",
    "analysis", "exec", "validate", "apply", "root", "commit", "total"};

static void put(node_buf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void put(node_buf *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    node_buf_put(b, line, n < 0 ? 0 : (size_t)n);
}

static void metric(node_buf *b, const char *name, const char *type,
    const char *help, double v)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type,
        name, v);
}

char *node_metrics_text(node_ctx *c)
{
    node_metrics m;
    parex_header h;
    node_buf b = {0};
    uint64_t now = node_now_ns(), win_txs = 0, span;
    size_t mp_n, mp_bytes;
    unsigned i;

    pthread_mutex_lock(&c->mlock);
    m = c->m;
    pthread_mutex_unlock(&c->mlock);
    pthread_mutex_lock(&c->lock);
    mp_n = node_mempool_size(c->mp);
    mp_bytes = node_mempool_bytes(c->mp);
    pthread_mutex_unlock(&c->lock);
    if (parex_db_head(c->db, &h) != PAREX_OK) {
        h.height = 0;
    }
    for (i = 0; i < m.ring_len; i++) {
        if (now - m.ring_t[i] <= RATE_WINDOW_NS) {
            win_txs += m.ring_n[i];
        }
    }
    span = now - c->start_ns;
    if (span > RATE_WINDOW_NS) {
        span = RATE_WINDOW_NS;
    }
    metric(&b, "parex_node_height", "gauge",
        "Height of the last committed block.", (double)h.height);
    metric(&b, "parex_node_blocks_total", "counter",
        "Blocks produced since the node started.", (double)m.blocks);
    metric(&b, "parex_node_txs_total", "counter",
        "Transactions committed since the node started.", (double)m.txs);
    metric(&b, "parex_node_tx_per_second", "gauge",
        "Transactions committed per second over the last 10 s.",
        span == 0 ? 0.0 : (double)win_txs * 1e9 / (double)span);
    metric(&b, "parex_node_batches_total", "counter",
        "Batches of the conflict analysis, summed over blocks.",
        (double)m.batches);
    metric(&b, "parex_node_reexecutions_total", "counter",
        "Re-executions after failed validation, summed over blocks.",
        (double)m.reexecutions);
    metric(&b, "parex_node_sequential_blocks_total", "counter",
        "Blocks run on the sequential executor (batches too narrow).",
        (double)m.fallback_blocks);
    metric(&b, "parex_node_verify_skipped_total", "counter",
        "Transactions whose signature the engine did not verify again "
        "(verified on entry: PAREX_EXEC_VERIFIED).",
        (double)m.verify_skipped);
    put(&b, "# HELP parex_node_stage_seconds_total Wall time per pipeline "
        "stage, summed over blocks.\n"
        "# TYPE parex_node_stage_seconds_total counter\n");
    for (i = 0; i < NODE_STAGES; i++) {
        put(&b, "parex_node_stage_seconds_total{stage=\"%s\"} %.9f\n",
            stage_names[i], (double)m.stage_ns[i] / 1e9);
    }
    metric(&b, "parex_node_mempool_txs", "gauge",
        "Transactions waiting in the mempool.", (double)mp_n);
    metric(&b, "parex_node_mempool_bytes", "gauge",
        "Encoded bytes waiting in the mempool.", (double)mp_bytes);
    metric(&b, "parex_node_txs_dropped_total", "counter",
        "Pending transactions dropped as invalid at block production.",
        (double)m.dropped);
    put(&b, "# HELP parex_node_submissions_total submitTransaction calls "
        "by outcome.\n# TYPE parex_node_submissions_total counter\n"
        "parex_node_submissions_total{result=\"accepted\"} %llu\n"
        "parex_node_submissions_total{result=\"rejected\"} %llu\n",
        (unsigned long long)m.accepted, (unsigned long long)m.rejected);
    node_buf_u8(&b, 0);
    return (char *)b.p;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
    char *text, const char *type)
{
    struct MHD_Response *r;
    enum MHD_Result ret;

    if (text == NULL) {
        r = MHD_create_response_from_buffer(0, (void *)"",
            MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_buffer_with_free_callback(strlen(text),
            text, free);
    }
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    if (type != NULL) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    }
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_size, void **con_cls)
{
    node_server *s = cls;
    request *q = *con_cls;
    char msg[128];
    char *resp;

    (void)version;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/metrics") == 0) {
        return reply(conn, MHD_HTTP_OK, node_metrics_text(s->c),
            "text/plain; version=0.0.4");
    }
    if (strcmp(method, "POST") != 0 || strcmp(url, "/") != 0) {
        return reply(conn, MHD_HTTP_NOT_FOUND, node_strdup("not found: "
            "JSON-RPC is POST /, metrics GET /metrics\n"), "text/plain");
    }
    if (q == NULL) {
        q = node_calloc(1, sizeof(*q));
        *con_cls = q;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        if (!q->too_big && q->body.len + *upload_size <= s->c->max_body) {
            node_buf_put(&q->body, upload, *upload_size);
        } else {
            q->too_big = 1;   /* read and discard the rest */
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->too_big) {
        snprintf(msg, sizeof(msg), "invalid request: body over %zu bytes",
            s->c->max_body);
        return reply(conn, MHD_HTTP_CONTENT_TOO_LARGE,
            node_rpc_error_text(NODE_RPC_INVALID_REQUEST, msg),
            "application/json");
    }
    resp = node_rpc_handle(s->c, q->body.len == 0 ? "" : (const char *)q->body.p,
        q->body.len);
    if (resp == NULL) {
        return reply(conn, MHD_HTTP_NO_CONTENT, NULL, NULL);
    }
    return reply(conn, MHD_HTTP_OK, resp, "application/json");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
    request *q = *con_cls;

    (void)cls;
    (void)conn;
    (void)why;
    if (q != NULL) {
        node_buf_release(&q->body);
        free(q);
        *con_cls = NULL;
    }
}

int node_server_start(node_server **out, char *err, node_ctx *c,
    const char *host, unsigned port, unsigned *port_out)
{
    node_server *s = node_calloc(1, sizeof(*s));
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = -1, one = 1;

    *out = NULL;
    s->c = c;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1) {
        node_err(err, "--listen: '%s' is not an IPv4 address", host);
        goto fail;
    }
    /* Bind here, not in libmicrohttpd, so port 0 works and the bound port
     * can be reported. */
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
                      sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        node_err(err, "cannot listen on %s:%u: %s", host, port,
            strerror(errno));
        goto fail;
    }
    *port_out = ntohs(a.sin_port);
    s->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC |
        MHD_USE_ERROR_LOG,
        0, NULL, NULL, handle, s,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SERVER_THREADS,
        MHD_OPTION_NOTIFY_COMPLETED, completed, (void *)NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_END);
    if (s->d == NULL) {
        node_err(err, "cannot start the HTTP server on %s:%u", host,
            *port_out);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (fd >= 0) {
        close(fd);
    }
    free(s);
    return -1;
}

void node_server_stop(node_server *s)
{
    MHD_socket fd;

    if (s == NULL) {
        return;
    }
    /* MHD_stop_daemon does not close a socket it was given. */
    fd = MHD_quiesce_daemon(s->d);
    MHD_stop_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
    }
    free(s);
}
