/* Error codes, rejection reasons, limits and version: the tables come from
 * the X-macro lists in parex_common.h so names and values cannot drift. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "engine_int.h"

PAREX_API const char *parex_strerror(int code)
{
    switch (code) {
    case PAREX_OK:
        return "success";
#define XX(name, value, msg) \
    case (value):            \
        return msg;
        PAREX_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

PAREX_API const char *parex_errname(int code)
{
    switch (code) {
    case PAREX_OK:
        return "PAREX_OK";
#define XX(name, value, msg) \
    case (value):            \
        return "PAREX_E_" #name;
        PAREX_ERRNO_MAP(XX)
#undef XX
    default:
        return "PAREX_E_UNKNOWN";
    }
}

PAREX_API const char *parex_reject_name(int reject)
{
    switch (reject) {
#define XX(name, value, msg) \
    case (value):            \
        return #name;
        PAREX_REJECT_MAP(XX)
#undef XX
    default:
        return "UNKNOWN";
    }
}

PAREX_API const char *parex_fallback_name(uint64_t reason)
{
    switch (reason) {
    case PAREX_FALLBACK_NONE:
        return "none";
    case PAREX_FALLBACK_NARROW:
        return "narrow";
    case PAREX_FALLBACK_WORK_BOUND:
        return "work bound";
    case PAREX_FALLBACK_ONE_THREAD:
        return "one thread";
    case PAREX_FALLBACK_CALIBRATE:
        return "calibration";
    default:
        return "unknown";
    }
}

PAREX_API const char *parex_version(void)
{
    return PAREX_VERSION_STRING;
}

/* Sizes above this are not a struct of ours: an older caller's struct
 * without a size member (its first field's value lands here), or
 * uninitialised memory. */
#define SIZED_MAX 4096

static int sized_plausible(size_t size)
{
    return size >= sizeof(size_t) && size <= SIZED_MAX &&
        size % sizeof(uint32_t) == 0;
}

int px__sized_in(void *def, size_t ours, const void *in)
{
    size_t size, i;

    memcpy(&size, in, sizeof(size));
    if (!sized_plausible(size)) {
        return PAREX_E_MISUSE;
    }
    for (i = ours; i < size; i++) {
        if (((const unsigned char *)in)[i] != 0) {
            return PAREX_E_MISUSE;
        }
    }
    memcpy((unsigned char *)def + sizeof(size_t),
        (const unsigned char *)in + sizeof(size_t),
        (size < ours ? size : ours) - sizeof(size_t));
    return PAREX_OK;
}

int px__sized_check(const void *out)
{
    size_t size;

    memcpy(&size, out, sizeof(size));
    return sized_plausible(size) ? PAREX_OK : PAREX_E_MISUSE;
}

void px__sized_out(void *out, const void *src, size_t ours)
{
    size_t size;

    memcpy(&size, out, sizeof(size));
    if (!sized_plausible(size)) {
        return;
    }
    memcpy((unsigned char *)out + sizeof(size_t),
        (const unsigned char *)src + sizeof(size_t),
        (size < ours ? size : ours) - sizeof(size_t));
}

PAREX_API void parex_limits_default(parex_limits *out)
{
    if (out == NULL) {
        return;
    }
    /* Defaults accept every bundled real-chain trace: the largest has
     * 1,312 written and 431 read keys (plus the account and keys added by
     * the add: declare mode), and args of about 56 KiB. */
    out->max_args_bytes = 1u << 20;
    out->max_keys_per_set = 4096;
    out->max_value_bytes = 65536;
    out->max_block_txs = 1000000;
    out->max_block_bytes = (uint64_t)512 << 20;
    out->max_tx_accesses = 65536;
}

void px__err_clear(parex_error_info *err)
{
    if (err != NULL) {
        memset(err, 0, sizeof(*err));
        err->tx_index = -1;
    }
}

int px__fail(parex_error_info *err, int code, int reject, int64_t tx_index,
    const char *field, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL) {
        return code;
    }
    err->code = code;
    err->reject = reject;
    err->tx_index = tx_index;
    snprintf(err->field, sizeof(err->field), "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return code;
}
