/* A minimal HTTP/1.1 client for the node's clients: POST with a
 * Content-Length body over one keep-alive connection, responses with a
 * Content-Length body (what libmicrohttpd sends for buffered responses). */
#include "daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Response headers larger than this are refused. */
#define MAX_HEAD 16384

int node_http_parse_url(node_http *h, char *err, const char *url)
{
    const char *p = url, *colon, *slash;
    uint64_t port;
    char num[8];

    memset(h, 0, sizeof(*h));
    h->fd = -1;
    if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    }
    slash = strchr(p, '/');
    colon = strchr(p, ':');
    if (colon == NULL || (slash != NULL && colon > slash) || colon == p ||
        (size_t)(colon - p) >= sizeof(h->host)) {
        return node_err(err, "url '%s': expected http://HOST:PORT[/PATH]",
            url);
    }
    memcpy(h->host, p, (size_t)(colon - p));
    h->host[colon - p] = '\0';
    {
        size_t n = slash == NULL ? strlen(colon + 1) :
            (size_t)(slash - colon - 1);
        if (n == 0 || n >= sizeof(num)) {
            return node_err(err, "url '%s': bad port", url);
        }
        memcpy(num, colon + 1, n);
        num[n] = '\0';
    }
    if (node_parse_u64(&port, num) != 0 || port == 0 || port > 65535) {
        return node_err(err, "url '%s': bad port", url);
    }
    h->port = (unsigned)port;
    snprintf(h->path, sizeof(h->path), "%s", slash == NULL ? "/" : slash);
    return 0;
}

static int connect_to(node_http *h, char *err)
{
    struct addrinfo hints, *ai = NULL;
    char port[8];
    int fd, one = 1, rc;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%u", h->port);
    rc = getaddrinfo(h->host, port, &hints, &ai);
    if (rc != 0) {
        return node_err(err, "%s: %s", h->host, gai_strerror(rc));
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        node_err(err, "cannot connect to %s:%u: %s", h->host, h->port,
            strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    /* Requests are small and answered at once: no Nagle delay. */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    h->fd = fd;
    return 0;
}

void node_http_close(node_http *h)
{
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One exchange on an open connection. Returns the status, -1 with err, or
 * -2 when the connection was closed before any response byte (a stale
 * keep-alive connection: the caller reconnects and retries). */
static int exchange(node_http *h, char *err, const char *body, size_t len,
    char **resp, size_t *resp_len)
{
    char head[512];
    node_buf b = {0};
    char *end, *cl;
    size_t hl, want;
    int n, status, ret = -1;

    n = snprintf(head, sizeof(head), "POST %s HTTP/1.1\r\nHost: %s:%u\r\n"
        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
        h->path, h->host, h->port, len);
    if (send_all(h->fd, head, (size_t)n) != 0 ||
        send_all(h->fd, body, len) != 0) {
        return -2;
    }
    for (;;) {
        char chunk[65536];
        ssize_t r = recv(h->fd, chunk, sizeof(chunk), 0);
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            if (b.len == 0) {
                ret = -2;
            } else {
                node_err(err, "%s:%u: connection closed mid-response",
                    h->host, h->port);
            }
            goto out;
        }
        node_buf_put(&b, chunk, (size_t)r);
        node_buf_u8(&b, 0);
        b.len--;
        end = strstr((char *)b.p, "\r\n\r\n");
        if (end == NULL) {
            if (b.len > MAX_HEAD) {
                node_err(err, "%s:%u: response headers too long", h->host,
                    h->port);
                goto out;
            }
            continue;
        }
        hl = (size_t)(end - (char *)b.p) + 4;
        if (sscanf((char *)b.p, "HTTP/1.%*d %d", &status) != 1) {
            node_err(err, "%s:%u: not an HTTP response", h->host, h->port);
            goto out;
        }
        want = 0;
        for (cl = (char *)b.p; cl < end; cl++) {
            if (strncasecmp(cl, "\r\nContent-Length:", 17) == 0) {
                want = (size_t)strtoull(cl + 17, NULL, 10);
                break;
            }
        }
        if (b.len - hl < want) {
            continue;
        }
        *resp = node_malloc(want + 1);
        memcpy(*resp, b.p + hl, want);
        (*resp)[want] = '\0';
        *resp_len = want;
        ret = status;
        goto out;
    }
out:
    node_buf_release(&b);
    return ret;
}

int node_http_post(node_http *h, char *err, const char *body, size_t len,
    char **resp, size_t *resp_len)
{
    int attempt, rc = -1;

    *resp = NULL;
    for (attempt = 0; attempt < 2; attempt++) {
        if (h->fd < 0 && connect_to(h, err) != 0) {
            return -1;
        }
        rc = exchange(h, err, body, len, resp, resp_len);
        if (rc != -2) {
            break;
        }
        node_http_close(h);
        node_err(err, "%s:%u: connection closed", h->host, h->port);
        rc = -1;
    }
    if (rc < 0) {
        node_http_close(h);
    }
    return rc;
}
