/* HTTP glue of the reference node (libmicrohttpd): POST / carries JSON-RPC
 * to node_rpc_handle(), GET /metrics the Prometheus text page, GET
 * /snapshot a consistent copy of the store (snapshot_reply()). */
#include "daemon.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

/* Threads answering requests; the engine has its own pool. */
#define SERVER_THREADS 4

struct conn_rec;

struct node_server {
    struct MHD_Daemon *d;
    node_ctx *c;
    uint64_t deadline_ns;        /* total per request; 0: none */
    _Atomic size_t in_flight;    /* body bytes reserved */
    _Atomic size_t resp_in_flight; /* response bytes not yet sent */
    _Atomic uint64_t last_log_ns, log_suppressed;
    pthread_mutex_t rlock;       /* guards conns, nconns, stopping */
    pthread_cond_t rwake;
    struct conn_rec *conns;
    size_t nconns, max_conns;
    int stopping, has_reaper;
    pthread_t reaper;
    const char *snapshot_dir;    /* NULL: no GET /snapshot */
    uint64_t snapshot_ns;        /* a snapshot response's deadline */
    atomic_int snapshot_busy;    /* one GET /snapshot at a time */
};

typedef struct request {
    node_buf body;
    size_t reserved;             /* of the body budget */
    int too_big, busy;
} request;

static void stop_reaper(node_server *s)
{
    pthread_mutex_lock(&s->rlock);
    s->stopping = 1;
    pthread_cond_broadcast(&s->rwake);
    pthread_mutex_unlock(&s->rlock);
    if (s->has_reaper) {
        pthread_join(s->reaper, NULL);
        s->has_reaper = 0;
    }
}

static const char *const stage_names[NODE_STAGES] = {"decode", "verify",
    "analysis", "exec", "validate", "apply", "root", "commit"};

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

static void head(node_buf *b, const char *name, const char *type,
    const char *help)
{
    put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metric(node_buf *b, const char *name, const char *type,
    const char *help, double v)
{
    head(b, name, type, help);
    put(b, "%s %.17g\n", name, v);
}

/* One histogram's series; labels is "" or `method="x",`. */
static void hist(node_buf *b, const char *name, const char *labels,
    const node_hist *h)
{
    uint64_t cum = 0;
    unsigned i;

    for (i = 0; i < NODE_HIST_BUCKETS; i++) {
        cum += h->b[i];
        put(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels,
            node_hist_le[i], (unsigned long long)cum);
    }
    cum += h->b[NODE_HIST_BUCKETS];
    put(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
        (unsigned long long)cum);
    if (labels[0] != '\0') {
        char l[96];
        snprintf(l, sizeof(l), "%s", labels);
        l[strlen(l) - 1] = '\0';   /* the trailing comma */
        put(b, "%s_sum{%s} %.9f\n%s_count{%s} %llu\n", name, l, h->sum,
            name, l, (unsigned long long)h->count);
    } else {
        put(b, "%s_sum %.9f\n%s_count %llu\n", name, h->sum, name,
            (unsigned long long)h->count);
    }
}

/* process_* metrics of the Prometheus client conventions, from /proc. */
static void process_metrics(node_buf *b, uint64_t start_ns)
{
    char buf[2048];
    FILE *f;
    unsigned long long utime = 0, stime = 0, vsize = 0;
    long long rss = 0;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    struct timespec rt, mt;
    double started;

    f = fopen("/proc/self/stat", "r");
    if (f != NULL) {
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        char *p;
        buf[n] = '\0';
        fclose(f);
        /* Fields after the command (which may hold spaces): state is
         * field 3; utime 14, stime 15, vsize 23, rss 24. */
        p = strrchr(buf, ')');
        if (p != NULL && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u "
                "%*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %*u %llu "
                "%lld", &utime, &stime, &vsize, &rss) == 4) {
            metric(b, "process_cpu_seconds_total", "counter", "User and "
                "system CPU time spent, seconds.", (double)(utime + stime) /
                (double)(tick > 0 ? tick : 100));
            metric(b, "process_resident_memory_bytes", "gauge", "Resident "
                "memory size, bytes.", (double)rss * (double)page);
            metric(b, "process_virtual_memory_bytes", "gauge", "Virtual "
                "memory size, bytes.", (double)vsize);
        }
    }
    clock_gettime(CLOCK_REALTIME, &rt);
    clock_gettime(CLOCK_MONOTONIC, &mt);
    started = (double)rt.tv_sec + (double)rt.tv_nsec / 1e9 -
        ((double)mt.tv_sec + (double)mt.tv_nsec / 1e9 -
         (double)start_ns / 1e9);
    metric(b, "process_start_time_seconds", "gauge", "Start time of the "
        "process since the Unix epoch, seconds.", started);
}

static const char *const method_label[NODE_METHODS + 1] = {
    "submitTransaction", "getAccount", "getValue", "getBlock",
    "getBlockByHash", "getReceipt", "getTransaction", "getStateRoot",
    "status", "other", "unknown"};

char *node_metrics_text(node_ctx *c)
{
    node_metrics *m = node_malloc(sizeof(*m));
    parex_header h;
    node_buf b = {0};
    size_t mp_n, mp_bytes, mp_senders;
    uint64_t rej = 0;
    char l[96];
    unsigned i;

    pthread_mutex_lock(&c->mlock);
    *m = c->m;
    pthread_mutex_unlock(&c->mlock);
    pthread_mutex_lock(&c->lock);
    mp_n = node_mempool_size(c->mp);
    mp_bytes = node_mempool_bytes(c->mp);
    mp_senders = node_mempool_senders(c->mp);
    pthread_mutex_unlock(&c->lock);
    if (parex_db_head(c->db, &h) != PAREX_OK) {
        h.height = 0;
    }
    head(&b, "parex_build_info", "gauge", "The build of this node: "
        "always 1, the version in a label.");
    put(&b, "parex_build_info{version=\"%s\"} 1\n", parex_version());
    metric(&b, "parex_node_height", "gauge",
        "Height of the last committed block.", (double)h.height);
    metric(&b, "parex_node_blocks_total", "counter",
        "Blocks produced since the node started.", (double)m->blocks);
    metric(&b, "parex_node_txs_total", "counter",
        "Transactions committed since the node started (rate() gives "
        "tx/s).", (double)m->txs);
    metric(&b, "parex_node_batches_total", "counter",
        "Batches of the conflict analysis, summed over blocks.",
        (double)m->batches);
    metric(&b, "parex_node_reexecutions_total", "counter",
        "Re-executions after failed validation, summed over blocks.",
        (double)m->reexecutions);
    metric(&b, "parex_node_sequential_blocks_total", "counter",
        "Blocks run on the sequential executor (any reason; see "
        "parex_node_fallback_blocks_total).", (double)m->fallback_blocks);
    metric(&b, "parex_node_parallel_blocks_total", "counter",
        "Blocks run on the parallel executor.", (double)m->parallel_blocks);
    metric(&b, "parex_node_parallel_txs_total", "counter",
        "Transactions of the blocks run on the parallel executor.",
        (double)m->parallel_txs);
    head(&b, "parex_node_fallback_blocks_total", "counter", "Blocks run on "
        "the sequential executor, by the engine's reason "
        "(parex_fallback_name: narrow, work bound, one thread, calibration).");
    for (i = 1; i < NODE_FALLBACK_REASONS; i++) {
        const char *why = parex_fallback_name(i);
        if (strcmp(why, "unknown") == 0 && i + 1 < NODE_FALLBACK_REASONS) {
            continue;
        }
        put(&b, "parex_node_fallback_blocks_total{reason=\"%s\"} %llu\n",
            why, (unsigned long long)m->fallback_by_reason[i]);
    }
    metric(&b, "parex_node_block_reruns_total", "counter",
        "Block executions repeated because the engine rejected a tx (at "
        "most one per block).", (double)m->reruns);
    metric(&b, "parex_node_verify_skipped_total", "counter",
        "Transactions whose signature the engine did not verify again "
        "(verified on entry: PAREX_EXEC_VERIFIED).",
        (double)m->verify_skipped);
    head(&b, "parex_node_stage_seconds_total", "counter", "Wall time per "
        "pipeline stage, summed over blocks (the stages add up to "
        "parex_node_block_seconds_sum).");
    for (i = 0; i < NODE_STAGES; i++) {
        put(&b, "parex_node_stage_seconds_total{stage=\"%s\"} %.9f\n",
            stage_names[i], (double)m->stage_ns[i] / 1e9);
    }
    head(&b, "parex_node_block_seconds", "histogram", "Time to execute "
        "and commit one block, seconds.");
    hist(&b, "parex_node_block_seconds", "", &m->block_time);
    metric(&b, "parex_node_mempool_txs", "gauge",
        "Transactions waiting in the mempool.", (double)mp_n);
    metric(&b, "parex_node_mempool_bytes", "gauge",
        "Encoded bytes waiting in the mempool.", (double)mp_bytes);
    metric(&b, "parex_node_mempool_senders", "gauge",
        "Senders with transactions in the mempool.", (double)mp_senders);
    head(&b, "parex_node_txs_dropped_total", "counter", "Pending "
        "transactions that left the mempool uncommitted, by reason.");
    for (i = 0; i < NODE_DROP_REASONS; i++) {
        put(&b, "parex_node_txs_dropped_total{reason=\"%s\"} %llu\n",
            node_drop_name((int)i), (unsigned long long)m->dropped[i]);
    }
    metric(&b, "parex_node_submissions_accepted_total", "counter",
        "submitTransaction calls that added a tx to the mempool.",
        (double)m->accepted);
    head(&b, "parex_node_submissions_rejected_total", "counter",
        "submitTransaction calls refused, by the rule that refused them "
        "(error data.reason).");
    for (i = 0; i < NODE_REJ_REASONS; i++) {
        rej += m->rejected[i];
        put(&b, "parex_node_submissions_rejected_total{reason=\"%s\"} "
            "%llu\n", node_rej_name((int)i),
            (unsigned long long)m->rejected[i]);
    }
    (void)rej;
    head(&b, "parex_node_rpc_requests_total", "counter", "JSON-RPC "
        "requests (batch entries count one each), by method.");
    for (i = 0; i <= NODE_METHODS; i++) {
        put(&b, "parex_node_rpc_requests_total{method=\"%s\"} %llu\n",
            method_label[i], (unsigned long long)m->rpc_calls[i]);
    }
    head(&b, "parex_node_rpc_seconds", "histogram", "Time to answer one "
        "JSON-RPC request, seconds, by method.");
    for (i = 0; i <= NODE_METHODS; i++) {
        snprintf(l, sizeof(l), "method=\"%s\",", method_label[i]);
        hist(&b, "parex_node_rpc_seconds", l, &m->rpc_time[i]);
    }
    head(&b, "parex_node_http_refused_total", "counter", "HTTP requests "
        "refused or cut off by a resource limit, by limit.");
    put(&b, "parex_node_http_refused_total{limit=\"body_budget\"} %llu\n"
        "parex_node_http_refused_total{limit=\"max_body\"} %llu\n"
        "parex_node_http_refused_total{limit=\"deadline\"} %llu\n"
        "parex_node_http_refused_total{limit=\"max_response\"} %llu\n"
        "parex_node_http_refused_total{limit=\"max_conns\"} %llu\n"
        "parex_node_http_refused_total{limit=\"response_budget\"} %llu\n",
        (unsigned long long)m->http_busy,
        (unsigned long long)m->http_too_large,
        (unsigned long long)m->http_deadline,
        (unsigned long long)m->batch_truncated,
        (unsigned long long)m->http_conn_limit,
        (unsigned long long)m->http_resp_busy);
    if (c->replica != NULL) {
        node_replica_status st;
        int r;
        node_replica_status_get(c->replica, &st);
        head(&b, "parex_node_cluster_role", "gauge", "--cluster: 1 for "
            "this node's role (starting, follower, producer, no-quorum, "
            "diverged), 0 for the others.");
        for (r = NODE_ROLE_STARTING; r <= NODE_ROLE_DIVERGED; r++) {
            put(&b, "parex_node_cluster_role{role=\"%s\"} %d\n",
                node_role_name(r), r == st.role);
        }
        metric(&b, "parex_node_cluster_term", "gauge", "--cluster: the "
            "producer's lease term (the leader key's etcd revision; 0 "
            "none known).", (double)st.term);
        metric(&b, "parex_node_cluster_applied_height", "gauge",
            "--cluster: the last block of the log applied here.",
            (double)st.applied);
        metric(&b, "parex_node_cluster_log_height", "gauge", "--cluster: "
            "the newest block in the log (etcd).", (double)st.log_head);
        metric(&b, "parex_node_cluster_lag", "gauge", "--cluster: blocks "
            "in the log not yet applied here.", (double)st.lag);
        metric(&b, "parex_node_cluster_appends_total", "counter",
            "--cluster: blocks this node appended to the log as producer.",
            (double)st.appends);
        metric(&b, "parex_node_cluster_append_seconds_total", "counter",
            "--cluster: time in those appends (the ordering round trip: "
            "one etcd txn, with retries); divided by the appends, the cost "
            "per block.", (double)st.append_ns / 1e9);
    }
    process_metrics(&b, c->start_ns);
    node_buf_u8(&b, 0);
    free(m);
    return (char *)b.p;
}

/* A response body in flight: its bytes count against the response budget
 * until libmicrohttpd is done with it (sent, or the connection gone). */
typedef struct out_body {
    node_server *s;
    char *text;
    size_t len;
} out_body;

static void out_free(void *cls)
{
    out_body *o = cls;

    atomic_fetch_sub(&o->s->resp_in_flight, o->len);
    free(o->text);
    free(o);
}

static enum MHD_Result reply_h(node_server *s, struct MHD_Connection *conn,
    unsigned status, char *text, const char *type, int64_t height);

static enum MHD_Result reply(node_server *s, struct MHD_Connection *conn,
    unsigned status, char *text, const char *type)
{
    return reply_h(s, conn, status, text, type, -1);
}

/* height >= 0: sent as X-Parex-Height (--cluster: the height a reply
 * reflects, docs/cluster.md). */
static enum MHD_Result reply_h(node_server *s, struct MHD_Connection *conn,
    unsigned status, char *text, const char *type, int64_t height)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    out_body *o;
    size_t len, cur;

    if (text == NULL) {
        r = MHD_create_response_from_buffer(0, (void *)"",
            MHD_RESPMEM_PERSISTENT);
        goto queue;
    }
    len = strlen(text);
    /* Responses waiting to be read by their clients (a slow reader holds
     * one) share --response-budget; past it a request is answered busy. */
    cur = atomic_load(&s->resp_in_flight);
    do {
        if (len > s->c->resp_budget || cur > s->c->resp_budget - len) {
            char msg[200];
            free(text);
            pthread_mutex_lock(&s->c->mlock);
            s->c->m.http_resp_busy++;
            pthread_mutex_unlock(&s->c->mlock);
            snprintf(msg, sizeof(msg), "server busy: responses waiting to "
                "be read are at the %zu-byte budget (--response-budget): "
                "try again shortly", s->c->resp_budget);
            text = node_rpc_error_text(NODE_RPC_BUSY, msg);
            len = strlen(text);
            status = MHD_HTTP_SERVICE_UNAVAILABLE;
            type = "application/json";
            atomic_fetch_add(&s->resp_in_flight, len);
            break;
        }
    } while (!atomic_compare_exchange_weak(&s->resp_in_flight, &cur,
                 cur + len));
    o = node_malloc(sizeof(*o));
    o->s = s;
    o->text = text;
    o->len = len;
    r = MHD_create_response_from_buffer_with_free_callback_cls(len, text,
        out_free, o);
    if (r == NULL) {
        out_free(o);
        return MHD_NO;
    }
queue:
    if (r == NULL) {
        return MHD_NO;
    }
    if (type != NULL) {
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    }
    if (height >= 0) {
        char hv[24];
        snprintf(hv, sizeof(hv), "%lld", (long long)height);
        MHD_add_response_header(r, "X-Parex-Height", hv);
    }
    ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* One TCP connection (MHD's socket context): when its current request
 * began to arrive, for the total header/body deadline. */
typedef struct conn_rec {
    struct conn_rec *prev, *next;
    int fd;
    int reading;          /* an exchange is on: its request arriving or
                             being answered, its response being sent */
    uint64_t since_ns;    /* when it began (or the last one ended) */
    uint64_t limit_ns;    /* this exchange's deadline; 0: the server's */
    int reaped;
} conn_rec;

static conn_rec *rec_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
        MHD_CONNECTION_INFO_SOCKET_CONTEXT);

    return ci == NULL ? NULL : ci->socket_context;
}

static void set_reading(node_server *s, struct MHD_Connection *conn,
    int reading)
{
    conn_rec *r = rec_of(conn);

    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&s->rlock);
    r->reading = reading;
    r->since_ns = node_now_ns();
    r->limit_ns = 0;
    pthread_mutex_unlock(&s->rlock);
}

/* Give the connection's current exchange its own deadline (0: none). */
static void set_limit(node_server *s, struct MHD_Connection *conn,
    uint64_t limit_ns)
{
    conn_rec *r = rec_of(conn);

    if (r == NULL) {
        return;
    }
    pthread_mutex_lock(&s->rlock);
    r->limit_ns = limit_ns;
    pthread_mutex_unlock(&s->rlock);
}

/* Over --max-conns: shut down the connection whose request has been
 * arriving longest (if for over a second: a fast request is never cut),
 * else the new one. libmicrohttpd's own limit is set higher, so that it
 * keeps accepting: were it to stop, new clients would queue in the
 * kernel's backlog behind every slow connection waiting there. Caller
 * holds rlock. */
static void make_way(node_server *s, conn_rec *fresh)
{
    uint64_t now = node_now_ns();
    conn_rec *r, *old = NULL;

    for (r = s->conns; r != NULL; r = r->next) {
        if (r != fresh && r->reading && !r->reaped && r->fd >= 0 &&
            now - r->since_ns > 1000000000ULL &&
            (old == NULL || r->since_ns < old->since_ns)) {
            old = r;
        }
    }
    if (old == NULL) {
        old = fresh;
    }
    if (old->fd >= 0) {
        shutdown(old->fd, SHUT_RDWR);
    }
    old->reaped = 1;
    pthread_mutex_lock(&s->c->mlock);
    s->c->m.http_conn_limit++;
    pthread_mutex_unlock(&s->c->mlock);
}

static void notify_conn(void *cls, struct MHD_Connection *conn,
    void **socket_context, enum MHD_ConnectionNotificationCode toe)
{
    node_server *s = cls;
    conn_rec *r;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn,
            MHD_CONNECTION_INFO_CONNECTION_FD);
        r = node_calloc(1, sizeof(*r));
        r->fd = ci != NULL ? (int)ci->connect_fd : -1;
        r->reading = 1;
        r->since_ns = node_now_ns();
        pthread_mutex_lock(&s->rlock);
        r->next = s->conns;
        if (s->conns != NULL) {
            s->conns->prev = r;
        }
        s->conns = r;
        s->nconns++;
        if (s->nconns > s->max_conns) {
            make_way(s, r);
        }
        pthread_mutex_unlock(&s->rlock);
        *socket_context = r;
        return;
    }
    r = *socket_context;
    if (r == NULL) {
        return;
    }
    /* MHD calls this before it closes the socket: once r is unlinked
     * (under rlock) the reaper cannot touch the fd any more. */
    pthread_mutex_lock(&s->rlock);
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        s->conns = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    s->nconns--;
    pthread_mutex_unlock(&s->rlock);
    free(r);
    *socket_context = NULL;
}

/* The total deadline: MHD's timeout is per read (each byte resets it), so
 * a request trickling in one byte at a time would hold its connection for
 * ever. Every tick, connections whose request has been arriving for longer
 * than the deadline are shut down (MHD then sees the socket fail and
 * closes it in its own thread). */
static void *reaper_main(void *arg)
{
    node_server *s = arg;
    uint64_t tick_ms = (s->deadline_ns > 0 ? s->deadline_ns :
        s->snapshot_ns) / 4000000ULL;
    struct timespec ts;
    conn_rec *r;
    uint64_t now, n;

    if (tick_ms < 50) {
        tick_ms = 50;
    }
    if (tick_ms > 1000) {
        tick_ms = 1000;
    }
    pthread_mutex_lock(&s->rlock);
    while (!s->stopping) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += (time_t)(tick_ms / 1000);
        ts.tv_nsec += (long)(tick_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->rwake, &s->rlock, &ts);
        now = node_now_ns();
        n = 0;
        for (r = s->conns; r != NULL; r = r->next) {
            uint64_t lim = r->limit_ns != 0 ? r->limit_ns : s->deadline_ns;
            if (lim != 0 && r->reading && !r->reaped && r->fd >= 0 &&
                now - r->since_ns > lim) {
                shutdown(r->fd, SHUT_RDWR);
                r->reaped = 1;
                n++;
            }
        }
        if (n > 0) {
            pthread_mutex_lock(&s->c->mlock);
            s->c->m.http_deadline += n;
            pthread_mutex_unlock(&s->c->mlock);
        }
    }
    pthread_mutex_unlock(&s->rlock);
    return NULL;
}

/* Bodies up to this size may use the last eighth of the budget, which
 * large ones may not: small requests (queries, single txs) still get in
 * while large bodies hold the rest. */
#define SMALL_BODY 65536

/* Reserve n more bytes of the body budget for q: 0, or -1 (nothing
 * reserved). */
static int reserve(node_server *s, request *q, size_t n)
{
    size_t cur = atomic_load(&s->in_flight), cap = s->c->body_budget;

    if (q->reserved + n > SMALL_BODY) {
        cap -= cap / 8;
    }
    do {
        if (n > cap || cur > cap - n) {
            return -1;
        }
    } while (!atomic_compare_exchange_weak(&s->in_flight, &cur, cur + n));
    q->reserved += n;
    return 0;
}

static enum MHD_Result busy(node_server *s, struct MHD_Connection *conn)
{
    char msg[200];

    pthread_mutex_lock(&s->c->mlock);
    s->c->m.http_busy++;
    pthread_mutex_unlock(&s->c->mlock);
    snprintf(msg, sizeof(msg), "server busy: request bodies in flight are "
        "at the %zu-byte budget (--body-budget): try again shortly",
        s->c->body_budget);
    return reply(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
        node_rpc_error_text(NODE_RPC_BUSY, msg), "application/json");
}

static enum MHD_Result too_large(node_server *s, struct MHD_Connection *conn)
{
    char msg[128];

    pthread_mutex_lock(&s->c->mlock);
    s->c->m.http_too_large++;
    pthread_mutex_unlock(&s->c->mlock);
    snprintf(msg, sizeof(msg), "invalid request: body over %zu bytes "
        "(--max-body)", s->c->max_body);
    return reply(s, conn, MHD_HTTP_CONTENT_TOO_LARGE,
        node_rpc_error_text(NODE_RPC_INVALID_REQUEST, msg),
        "application/json");
}

/* *bad set when the node must not be used (--cluster: diverged, or no
 * etcd quorum). */
static char *health_text(node_ctx *c, int *bad)
{
    parex_header h;
    json_t *o;
    char *t;

    *bad = 0;
    if (parex_db_head(c->db, &h) != PAREX_OK) {
        return NULL;
    }
    o = json_pack("{s:s, s:o}", "status", "ok", "height",
        node_json_quantity(h.height));
    if (c->replica != NULL) {
        node_replica_status st;
        node_replica_status_get(c->replica, &st);
        *bad = st.role == NODE_ROLE_DIVERGED ||
            st.role == NODE_ROLE_NO_QUORUM;
        json_object_set_new(o, "status", json_string(*bad ?
            node_role_name(st.role) : "ok"));
        json_object_set_new(o, "role", json_string(node_role_name(st.role)));
        json_object_set_new(o, "term", json_integer(st.term));
        json_object_set_new(o, "log_height", node_json_quantity(st.log_head));
        json_object_set_new(o, "lag", node_json_quantity(st.lag));
        if (st.why[0] != '\0') {
            json_object_set_new(o, "reason", json_string(st.why));
        }
    }
    t = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return t;
}

/* ---- GET /snapshot ----------------------------------------------------- */

/* Seconds a refused GET /snapshot is told to wait (Retry-After). */
#define SNAPSHOT_RETRY_S "5"
/* Bytes handed to libmicrohttpd per read of the copy. */
#define SNAPSHOT_BLOCK 65536

/* The copy being sent: its data.mdb, already unlinked (the descriptor
 * keeps it), so nothing is left on disk whatever happens to the
 * connection or the node. */
typedef struct snap_body {
    node_server *s;
    int fd;
} snap_body;

static ssize_t snap_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    snap_body *b = cls;
    ssize_t n = pread(b->fd, buf, max, (off_t)pos);

    if (n <= 0) {
        return MHD_CONTENT_READER_END_WITH_ERROR; /* size was fixed */
    }
    return n;
}

/* libmicrohttpd is done with the response: sent, or the client gone. */
static void snap_free(void *cls)
{
    snap_body *b = cls;

    close(b->fd);
    atomic_store(&b->s->snapshot_busy, 0);
    free(b);
}

static enum MHD_Result snapshot_fail(node_server *s,
    struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static enum MHD_Result snapshot_fail(node_server *s,
    struct MHD_Connection *conn, unsigned status, const char *fmt, ...)
{
    char msg[400];
    size_t n;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
    va_end(ap);
    n = strlen(msg);
    msg[n] = '\n';
    msg[n + 1] = '\0';
    if (status >= 500) {
        node_log(NODE_LOG_WARN, "GET /snapshot: %.*s", (int)n, msg);
    }
    return reply(s, conn, status, node_strdup(msg), "text/plain");
}

/* A consistent copy of the store (parex_db_snapshot: one read
 * transaction, so block production goes on) made in a temporary
 * directory of the store's DIR, then streamed as its data.mdb with the
 * height, root and identity it holds in the headers, which come before
 * the body: so the copy is made first. One at a time (a copy costs disk
 * and a reader slot pinning pages): others get 503 and Retry-After. The
 * connection limits apply as to any request, and the response has its
 * own deadline (--snapshot-timeout) so a slow reader cannot hold the one
 * slot for ever. */
static enum MHD_Result snapshot_reply(node_server *s,
    struct MHD_Connection *conn)
{
    struct MHD_Response *r;
    parex_error_info ei;
    parex_header h;
    snap_body *b;
    struct stat st;
    uint8_t genesis[32];
    uint32_t chain_id = 0;
    char *tmp, *file, hex[65], num[32];
    size_t n;
    int expect = 0, fd, rc;
    enum MHD_Result ret;

    if (s->snapshot_dir == NULL) {
        return snapshot_fail(s, conn, MHD_HTTP_NOT_FOUND, "snapshots are "
            "not served by this node (--snapshot-timeout 0)");
    }
    if (!atomic_compare_exchange_strong(&s->snapshot_busy, &expect, 1)) {
        r = MHD_create_response_from_buffer(sizeof("another snapshot is "
            "being sent; try again later\n") - 1, (void *)"another "
            "snapshot is being sent; try again later\n",
            MHD_RESPMEM_PERSISTENT);
        if (r == NULL) {
            return MHD_NO;
        }
        MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER,
            SNAPSHOT_RETRY_S);
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
            "text/plain");
        ret = MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, r);
        MHD_destroy_response(r);
        return ret;
    }
    /* From here the exchange has the snapshot deadline: the copy itself
     * may take longer than --request-deadline. */
    set_limit(s, conn, s->snapshot_ns);
    n = strlen(s->snapshot_dir) + 32;
    tmp = node_malloc(n);
    file = node_malloc(n + 16);
    snprintf(tmp, n, "%s/.snapshot-XXXXXX", s->snapshot_dir);
    if (mkdtemp(tmp) == NULL) {
        atomic_store(&s->snapshot_busy, 0);
        ret = snapshot_fail(s, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
            "cannot make a temporary directory in %s: %s", s->snapshot_dir,
            strerror(errno));
        goto out;
    }
    rc = parex_db_snapshot(s->c->db, &h, &ei, tmp);
    fd = -1;
    if (rc == PAREX_OK) {
        snprintf(file, n + 16, "%s/data.mdb", tmp);
        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            snprintf(ei.message, sizeof(ei.message), "%s: %s", file,
                strerror(errno));
            rc = PAREX_E_IO;
        }
    }
    if (rc == PAREX_OK) {
        rc = parex_db_chain(s->c->db, &chain_id, genesis);
        snprintf(ei.message, sizeof(ei.message), "cannot read the chain");
    }
    (void)node_rmtree(tmp); /* the open descriptor keeps the copy */
    if (rc != PAREX_OK) {
        if (fd >= 0) {
            close(fd);
        }
        atomic_store(&s->snapshot_busy, 0);
        ret = snapshot_fail(s, conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
            "cannot make a snapshot: %s (%s)", ei.message,
            parex_errname(rc));
        goto out;
    }
    b = node_malloc(sizeof(*b));
    b->s = s;
    b->fd = fd;
    r = MHD_create_response_from_callback((uint64_t)st.st_size,
        SNAPSHOT_BLOCK, snap_read, b, snap_free);
    if (r == NULL) {
        snap_free(b);
        ret = MHD_NO;
        goto out;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
        "application/octet-stream");
    snprintf(num, sizeof(num), "%llu", (unsigned long long)h.height);
    MHD_add_response_header(r, "X-Parex-Height", num);
    node_hex(hex, h.state_root, 32);
    MHD_add_response_header(r, "X-Parex-State-Root", hex);
    snprintf(num, sizeof(num), "%u", (unsigned)chain_id);
    MHD_add_response_header(r, "X-Parex-Chain-Id", num);
    node_hex(hex, genesis, 32);
    MHD_add_response_header(r, "X-Parex-Genesis", hex);
    MHD_add_response_header(r, "X-Parex-Format", "parex-state-2");
    node_log(NODE_LOG_INFO, "GET /snapshot: sending height %llu (%lld "
        "bytes)", (unsigned long long)h.height, (long long)st.st_size);
    ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
out:
    free(tmp);
    free(file);
    return ret;
}

/* Remove the temporary copies a node killed while copying left in DIR
 * (their directory is removed as soon as the copy is open, so only a
 * crash during the copy leaves one). This node holds DIR's writer lock:
 * no other node's copy can be in progress there. */
static void snapshot_sweep(const char *dir)
{
    struct dirent *de;
    DIR *d = opendir(dir);
    char path[4096];

    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, ".snapshot-", 10) == 0 &&
            (size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name)
                < sizeof(path)) {
            node_log(NODE_LOG_INFO, "removing %s, a snapshot copy left by "
                "an earlier run", path);
            (void)node_rmtree(path);
        }
    }
    closedir(d);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn,
    const char *url, const char *method, const char *version,
    const char *upload, size_t *upload_size, void **con_cls)
{
    node_server *s = cls;
    request *q = *con_cls;
    uint64_t t0;
    int64_t height;
    char *resp;

    (void)version;
    if (strcmp(method, "GET") == 0 && strcmp(url, "/metrics") == 0) {
        return reply(s, conn, MHD_HTTP_OK, node_metrics_text(s->c),
            "text/plain; version=0.0.4");
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/snapshot") == 0) {
        return snapshot_reply(s, conn);
    }
    if (strcmp(method, "GET") == 0 && strcmp(url, "/health") == 0) {
        int bad;
        resp = health_text(s->c, &bad);
        return resp == NULL ? reply(s, conn, MHD_HTTP_SERVICE_UNAVAILABLE,
            node_strdup("{\"status\":\"unavailable\"}"), "application/json")
            : reply(s, conn, bad ? MHD_HTTP_SERVICE_UNAVAILABLE :
            MHD_HTTP_OK, resp, "application/json");
    }
    if (strcmp(method, "POST") != 0 || strcmp(url, "/") != 0) {
        return reply(s, conn, MHD_HTTP_NOT_FOUND, node_strdup("not found: "
            "JSON-RPC is POST /, metrics GET /metrics, health GET "
            "/health, a state snapshot GET /snapshot\n"), "text/plain");
    }
    if (q == NULL) {
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
            MHD_HTTP_HEADER_CONTENT_LENGTH);
        uint64_t want = 0;
        q = node_calloc(1, sizeof(*q));
        *con_cls = q;
        /* Refuse before reading a byte of the body: too long, or no room
         * in the budget for it. */
        if (cl != NULL && node_parse_u64(&want, cl) == 0 &&
            want > s->c->max_body) {
                return too_large(s, conn);
        }
        if (reserve(s, q, (size_t)want) != 0) {
                return busy(s, conn);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t need = q->body.len + *upload_size;
        if (!q->too_big && !q->busy && need > s->c->max_body) {
            q->too_big = 1;   /* read and discard the rest */
        }
        if (!q->too_big && !q->busy && need > q->reserved &&
            reserve(s, q, need - q->reserved) != 0) {
            q->busy = 1;
        }
        if (!q->too_big && !q->busy) {
            node_buf_put(&q->body, upload, *upload_size);
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (q->too_big) {
        return too_large(s, conn);
    }
    if (q->busy) {
        return busy(s, conn);
    }
    t0 = node_now_ns();
    /* --cluster: the applied height as the request is taken; every read
     * in the reply sees this block or a later one. */
    height = -1;
    if (s->c->replica != NULL) {
        parex_header hh;
        height = parex_db_head(s->c->db, &hh) == PAREX_OK ?
            (int64_t)hh.height : 0;
    }
    resp = node_rpc_handle(s->c, q->body.len == 0 ? "" :
        (const char *)q->body.p, q->body.len);
    (void)t0;
    /* The body is not needed any more: give its budget back now. */
    node_buf_release(&q->body);
    atomic_fetch_sub(&s->in_flight, q->reserved);
    q->reserved = 0;
    if (resp == NULL) {
        return reply_h(s, conn, MHD_HTTP_NO_CONTENT, NULL, NULL, height);
    }
    return reply_h(s, conn, MHD_HTTP_OK, resp, "application/json", height);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode why)
{
    node_server *s = cls;
    request *q = *con_cls;

    (void)why;
    /* The next request on this keep-alive connection starts its clock. */
    set_reading(s, conn, 1);
    if (q != NULL) {
        atomic_fetch_sub(&s->in_flight, q->reserved);
        node_buf_release(&q->body);
        free(q);
        *con_cls = NULL;
    }
}

/* libmicrohttpd's messages (a refused connection over a limit, for one),
 * at most one line a second so that a flood cannot flood the log. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    node_server *s = cls;
    uint64_t now = node_now_ns(), last;
    char line[256];
    size_t n;

    last = atomic_load(&s->last_log_ns);
    if (now - last < 1000000000ULL ||
        !atomic_compare_exchange_strong(&s->last_log_ns, &last, now)) {
        atomic_fetch_add(&s->log_suppressed, 1);
        return;
    }
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') {
        line[--n] = '\0';
    }
    node_log(NODE_LOG_WARN, "http: %s (%llu similar lines suppressed)", line,
        (unsigned long long)atomic_exchange(&s->log_suppressed, 0));
}

int node_server_start(node_server **out, char *err, node_ctx *c,
    const node_server_opts *o, unsigned *port_out)
{
    node_server *s = node_calloc(1, sizeof(*s));
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_storage a;
    socklen_t alen = sizeof(a);
    char portstr[16];
    int fd = -1, one = 1, rc, saved = 0;

    *out = NULL;
    s->c = c;
    s->deadline_ns = o->deadline_ms * 1000000ULL;
    s->max_conns = o->max_conns;
    s->snapshot_dir = o->snapshot_dir;
    if (s->snapshot_dir != NULL) {
        snapshot_sweep(s->snapshot_dir);
    }
    s->snapshot_ns = o->snapshot_ms * 1000000ULL;
    atomic_init(&s->snapshot_busy, 0);
    atomic_init(&s->in_flight, 0);
    atomic_init(&s->resp_in_flight, 0);
    atomic_init(&s->last_log_ns, 0);
    atomic_init(&s->log_suppressed, 0);
    pthread_mutex_init(&s->rlock, NULL);
    {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->rwake, &ca);
        pthread_condattr_destroy(&ca);
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    snprintf(portstr, sizeof(portstr), "%u", o->port);
    rc = getaddrinfo(o->host, portstr, &hints, &res);
    if (rc != 0) {
        node_err(err, "--listen: cannot resolve '%s': %s", o->host,
            gai_strerror(rc));
        goto fail;
    }
    /* Bind here, not in libmicrohttpd, so port 0 works and the bound port
     * can be reported: the first address of the name that binds. */
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
            ai->ai_protocol);
        if (fd >= 0 && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
                sizeof(one)) == 0 &&
            bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, 1024) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &alen) == 0) {
            break;
        }
        saved = errno;
        if (fd >= 0) {
            close(fd);
        }
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        node_err(err, "cannot listen on %s:%u: %s", o->host, o->port,
            strerror(saved));
        goto fail;
    }
    *port_out = a.ss_family == AF_INET6 ?
        ntohs(((struct sockaddr_in6 *)&a)->sin6_port) :
        ntohs(((struct sockaddr_in *)&a)->sin_port);
    if ((s->deadline_ns > 0 || s->snapshot_ns > 0) &&
        pthread_create(&s->reaper, NULL, reaper_main, s) != 0) {
        node_err(err, "cannot start the HTTP deadline thread");
        goto fail;
    }
    s->has_reaper = s->deadline_ns > 0 || s->snapshot_ns > 0;
    s->d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC |
        MHD_USE_ERROR_LOG | (a.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, handle, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)SERVER_THREADS,
        MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, notify_conn, s,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->idle_timeout_s,
        MHD_OPTION_CONNECTION_LIMIT, o->max_conns + o->max_conns / 4 + 16,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)o->max_conns_per_ip,
        MHD_OPTION_END);
    if (s->d == NULL) {
        node_err(err, "cannot start the HTTP server on %s:%u", o->host,
            *port_out);
        goto fail;
    }
    *out = s;
    return 0;
fail:
    if (fd >= 0) {
        close(fd);
    }
    stop_reaper(s);
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
    stop_reaper(s);
    free(s);
}
