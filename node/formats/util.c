/* Diagnostics, memory, byte buffers, hex and small parsers. */
#include "node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

void node_die(int code, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("parex: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(code);
}

void node_warn(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("parex: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int node_log_level = NODE_LOG_INFO;

void node_log(int level, const char *fmt, ...)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    char line[1024];
    struct timespec ts;
    struct tm tm;
    va_list ap;
    size_t n;
    int k;

    if (level < node_log_level || level < 0 || level > NODE_LOG_ERROR) {
        return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s ",
        ts.tv_nsec / 1000000L, names[level]);
    n += k > 0 ? (size_t)k : 0;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    n = k < 0 ? n : n + (size_t)k >= sizeof(line) - 1 ? sizeof(line) - 2 :
        n + (size_t)k;
    line[n++] = '\n';
    fflush(stdout);
    if (write(2, line, n) < 0) {
        /* nowhere left to report it */
    }
}

int node_err(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, NODE_ERR_LEN, fmt, ap);
    va_end(ap);
    return -1;
}

void *node_malloc(size_t n)
{
    void *p = malloc(n == 0 ? 1 : n);

    if (p == NULL) {
        node_die(NODE_EXIT_RUNTIME, "out of memory (%zu bytes)", n);
    }
    return p;
}

void *node_calloc(size_t n, size_t size)
{
    void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

    if (p == NULL) {
        node_die(NODE_EXIT_RUNTIME, "out of memory (%zu x %zu bytes)", n,
            size);
    }
    return p;
}

void *node_realloc(void *p, size_t n)
{
    void *q = realloc(p, n == 0 ? 1 : n);

    if (q == NULL) {
        node_die(NODE_EXIT_RUNTIME, "out of memory (%zu bytes)", n);
    }
    return q;
}

char *node_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = node_malloc(n);

    memcpy(p, s, n);
    return p;
}

void node_buf_put(node_buf *b, const void *data, size_t n)
{
    if (n == 0) {
        return;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap == 0 ? 256 : b->cap;
        while (cap < b->len + n) {
            cap *= 2;
        }
        b->p = node_realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

void node_buf_u8(node_buf *b, uint8_t v)
{
    node_buf_put(b, &v, 1);
}

void node_put_u32le(uint8_t out[4], uint32_t v)
{
    int i;

    for (i = 0; i < 4; i++) {
        out[i] = (uint8_t)(v >> (8 * i));
    }
}

uint64_t node_get_u64le(const uint8_t in[8])
{
    uint64_t v = 0;
    int i;

    for (i = 7; i >= 0; i--) {
        v = v << 8 | in[i];
    }
    return v;
}

void node_put_u64le(uint8_t out[8], uint64_t v)
{
    int i;

    for (i = 0; i < 8; i++) {
        out[i] = (uint8_t)(v >> (8 * i));
    }
}

void node_buf_u32le(node_buf *b, uint32_t v)
{
    uint8_t t[4];

    node_put_u32le(t, v);
    node_buf_put(b, t, 4);
}

void node_buf_u64le(node_buf *b, uint64_t v)
{
    uint8_t t[8];

    node_put_u64le(t, v);
    node_buf_put(b, t, 8);
}

void node_buf_release(node_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void node_hex(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

int node_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

long node_unhex(uint8_t *out, const char *hex, size_t hexlen)
{
    size_t i;

    if (hexlen % 2 != 0) {
        return -1;
    }
    for (i = 0; i < hexlen / 2; i++) {
        int hi = node_hexval(hex[2 * i]);
        int lo = node_hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return -1;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(hexlen / 2);
}

int node_parse_u64(uint64_t *out, const char *s)
{
    uint64_t v = 0;

    if (*s == '\0') {
        return -1;
    }
    for (; *s != '\0'; s++) {
        unsigned d;
        if (*s < '0' || *s > '9') {
            return -1;
        }
        d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int node_read_file(char **out, size_t *len, const char *path)
{
    FILE *f = fopen(path, "rb");
    node_buf b = {0};
    char chunk[65536];
    size_t got;
    int saved;
    struct stat st;

    if (f == NULL) {
        return -1;
    }
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size > NODE_MAX_INPUT_BYTES) {
        fclose(f);
        errno = EFBIG;
        return -1;
    }
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        node_buf_put(&b, chunk, got);
    }
    if (ferror(f)) {
        saved = errno;
        fclose(f);
        node_buf_release(&b);
        errno = saved;
        return -1;
    }
    fclose(f);
    *len = b.len;
    node_buf_u8(&b, 0);
    *out = (char *)b.p;
    return 0;
}

uint64_t node_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

unsigned node_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n < 1 ? 1u : (unsigned)n;
}

const char *node_read_error(int err)
{
    return err == EFBIG ? "larger than the 1 GiB input limit" : strerror(err);
}
