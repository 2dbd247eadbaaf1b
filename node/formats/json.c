/* Typed access to jansson values; every error names where and the field. */
#include "node.h"

#include <stdlib.h>
#include <string.h>

/* 2^53: JSON numbers above it lose precision in common parsers, so larger
 * u64 values travel as decimal strings. */
#define NODE_JSON_MAX_EXACT 9007199254740992ULL

int node_json_u64(uint64_t *out, char *err, const char *where,
    const char *name, const json_t *v)
{
    if (v == NULL) {
        return node_err(err, "%s: field '%s' is missing", where, name);
    }
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0) {
            return node_err(err, "%s: field '%s' must not be negative",
                where, name);
        }
        if ((uint64_t)i > NODE_JSON_MAX_EXACT) {
            return node_err(err, "%s: field '%s' is above 2^53; write it "
                "as a decimal string", where, name);
        }
        *out = (uint64_t)i;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
            /* A JSON-RPC quantity: 0x and 1 to 16 hex digits. */
            size_t i, n = strlen(s + 2);
            uint64_t x = 0;
            for (i = 0; i < n && n <= 16; i++) {
                int d = node_hexval(s[2 + i]);
                if (d < 0) {
                    break;
                }
                x = x << 4 | (uint64_t)d;
            }
            if (n == 0 || n > 16 || i < n) {
                return node_err(err, "%s: field '%s' must be a u64 "
                    "quantity (0x and 1 to 16 hex digits), got \"%.40s\"",
                    where, name, s);
            }
            *out = x;
            return 0;
        }
        if (node_parse_u64(out, s) != 0) {
            return node_err(err, "%s: field '%s' must be a decimal u64 "
                "string or a 0x quantity, got \"%.40s\"", where, name, s);
        }
        return 0;
    }
    return node_err(err, "%s: field '%s' must be an unsigned integer "
        "(number, decimal string or 0x quantity)", where, name);
}

int node_json_u32(uint32_t *out, char *err, const char *where,
    const char *name, const json_t *v)
{
    uint64_t x;

    if (node_json_u64(&x, err, where, name, v) != 0) {
        return -1;
    }
    if (x > UINT32_MAX) {
        return node_err(err, "%s: field '%s' must fit in 32 bits", where,
            name);
    }
    *out = (uint32_t)x;
    return 0;
}

int node_json_hexn(uint8_t *out, size_t n, char *err, const char *where,
    const char *name, const json_t *v)
{
    const char *s;
    size_t len;

    if (v == NULL) {
        return node_err(err, "%s: field '%s' is missing", where, name);
    }
    if (!json_is_string(v)) {
        return node_err(err, "%s: field '%s' must be a hex string", where,
            name);
    }
    s = json_string_value(v);
    len = json_string_length(v);
    if (len != 2 * n) {
        return node_err(err, "%s: field '%s' must be %zu hex digits "
            "(%zu bytes), got %zu", where, name, 2 * n, n, len);
    }
    if (node_unhex(out, s, len) < 0) {
        return node_err(err, "%s: field '%s' is not valid hex", where, name);
    }
    return 0;
}

int node_json_hex(uint8_t **out, size_t *len, char *err, const char *where,
    const char *name, const json_t *v)
{
    const char *s;
    size_t n;
    uint8_t *p;

    if (v == NULL) {
        return node_err(err, "%s: field '%s' is missing", where, name);
    }
    if (!json_is_string(v)) {
        return node_err(err, "%s: field '%s' must be a hex string", where,
            name);
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n % 2 != 0) {
        return node_err(err, "%s: field '%s' has an odd number of hex "
            "digits", where, name);
    }
    p = n == 0 ? NULL : node_malloc(n / 2);
    if (n > 0 && node_unhex(p, s, n) < 0) {
        free(p);
        return node_err(err, "%s: field '%s' is not valid hex", where, name);
    }
    *out = p;
    *len = n / 2;
    return 0;
}

int node_json_only(char *err, const char *where, const json_t *o,
    const char *const *allowed)
{
    const char *key;
    json_t *val;

    json_object_foreach((json_t *)o, key, val) {
        const char *const *a;
        int ok = 0;
        (void)val;
        for (a = allowed; *a != NULL; a++) {
            if (strcmp(*a, key) == 0) {
                ok = 1;
                break;
            }
        }
        if (!ok) {
            return node_err(err, "%s: unknown field '%s'", where, key);
        }
    }
    return 0;
}

json_t *node_json_from_u64(uint64_t v)
{
    if (v <= NODE_JSON_MAX_EXACT) {
        return json_integer((json_int_t)v);
    } else {
        char s[24];
        snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
        return json_string(s);
    }
}

json_t *node_json_from_hex(const uint8_t *p, size_t n)
{
    char *s = node_malloc(2 * n + 1);
    json_t *j;

    node_hex(s, p, n);
    j = json_string(s);
    free(s);
    return j;
}

int node_json_write(const char *path, json_t *v)
{
    FILE *f = fopen(path, "wb");
    int rc;

    if (f == NULL) {
        return -1;
    }
    rc = json_dumpf(v, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    if (fputc('\n', f) == EOF) {
        rc = -1;
    }
    if (fclose(f) != 0) {
        rc = -1;
    }
    return rc;
}

json_t *node_json_quantity(uint64_t v)
{
    char b[24];

    snprintf(b, sizeof(b), "0x%llx", (unsigned long long)v);
    return json_string(b);
}

json_t *node_json_data(const uint8_t *p, size_t n)
{
    char *h = node_malloc(2 * n + 3);
    json_t *s;

    h[0] = '0';
    h[1] = 'x';
    node_hex(h + 2, p, n);
    s = json_stringn(h, 2 * n + 2);
    free(h);
    return s;
}
