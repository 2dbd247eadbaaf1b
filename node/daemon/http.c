/* The HTTP client of the node's clients (`parex submit`, `parex load`):
 * libcurl (https://curl.se/libcurl/c/), one easy handle per node_http so
 * that its connection is kept alive between posts, with a total timeout
 * per request so that a server that never answers cannot hang a client. */
#include "daemon.h"

#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

int node_http_parse_url(node_http *h, char *err, const char *url)
{
    const char *p = url, *colon, *slash;
    uint64_t port;
    char num[8], host[256];
    size_t n;

    memset(h, 0, sizeof(*h));
    if (strncmp(p, "http://", 7) == 0) {
        p += 7;
    }
    slash = strchr(p, '/');
    /* [v6]:port, or host:port. */
    colon = p[0] == '[' ? strstr(p, "]:") : strchr(p, ':');
    if (colon != NULL && p[0] == '[') {
        colon++;
    }
    if (colon == NULL || (slash != NULL && colon > slash) || colon == p ||
        (size_t)(colon - p) >= sizeof(host)) {
        return node_err(err, "url '%s': expected http://HOST:PORT[/PATH]",
            url);
    }
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = '\0';
    n = slash == NULL ? strlen(colon + 1) : (size_t)(slash - colon - 1);
    if (n == 0 || n >= sizeof(num)) {
        return node_err(err, "url '%s': bad port", url);
    }
    memcpy(num, colon + 1, n);
    num[n] = '\0';
    if (node_parse_u64(&port, num) != 0 || port == 0 || port > 65535) {
        return node_err(err, "url '%s': bad port", url);
    }
    snprintf(h->url, sizeof(h->url), "http://%s:%u%s", host,
        (unsigned)port, slash == NULL ? "/" : slash);
    h->timeout_ms = 30000;
    return 0;
}

void node_http_set_timeout(node_http *h, uint64_t ms)
{
    h->timeout_ms = ms;
}

static size_t on_data(char *p, size_t size, size_t n, void *user)
{
    node_buf_put(user, p, size * n);
    return size * n;
}

int node_http_post(node_http *h, char *err, const char *body, size_t len,
    char **resp, size_t *resp_len)
{
    struct curl_slist *hdr = NULL;
    node_buf b = {0};
    CURL *c;
    CURLcode rc;
    long status = 0;

    *resp = NULL;
    *resp_len = 0;
    if (h->curl == NULL) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
            (h->curl = curl_easy_init()) == NULL) {
            return node_err(err, "%s: cannot set up libcurl", h->url);
        }
    }
    c = h->curl;
    hdr = curl_slist_append(hdr, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, h->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)h->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(h->timeout_ms <
        10000 ? h->timeout_ms : 10000));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
    /* No "Expect: 100-continue" round trip for large bodies. */
    hdr = curl_slist_append(hdr, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
    rc = curl_easy_perform(c);
    curl_slist_free_all(hdr);
    if (rc != CURLE_OK) {
        node_buf_release(&b);
        if (rc == CURLE_OPERATION_TIMEDOUT) {
            return node_err(err, "%s: no complete answer within %llu ms "
                "(--timeout)", h->url, (unsigned long long)h->timeout_ms);
        }
        return node_err(err, "%s: %s", h->url, curl_easy_strerror(rc));
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    node_buf_u8(&b, 0);
    *resp_len = b.len - 1;
    *resp = (char *)b.p;
    return (int)status;
}

void node_http_close(node_http *h)
{
    if (h->curl != NULL) {
        curl_easy_cleanup(h->curl);
        h->curl = NULL;
    }
}
