/* Command-line helpers of the parex commands: option values, --sync,
 * --help. */
#include "cli.h"

#include <string.h>

int node_opt_value(int argc, char **argv, int *i, const char *name,
    const char **val)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0) {
        return 0;
    }
    if (a[n] == '=') {
        *val = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        node_die(NODE_EXIT_USAGE, "option %s needs a value", name);
    }
    *i += 1;
    *val = argv[*i];
    return 1;
}

uint64_t node_opt_u64(const char *name, const char *val, uint64_t max)
{
    uint64_t v;

    if (node_parse_u64(&v, val) != 0 || v > max) {
        node_die(NODE_EXIT_USAGE, "option %s: '%s' is not an unsigned "
            "integer <= %llu", name, val, (unsigned long long)max);
    }
    return v;
}

parex_sync node_opt_sync(const char *val)
{
    if (strcmp(val, "full") == 0) {
        return PAREX_SYNC_FULL;
    }
    if (strcmp(val, "meta") == 0) {
        return PAREX_SYNC_META;
    }
    if (strcmp(val, "none") == 0) {
        return PAREX_SYNC_NONE;
    }
    node_die(NODE_EXIT_USAGE, "option --sync: '%s' is not full, meta or "
        "none", val);
}

int node_wants_help(int argc, char **argv)
{
    int i;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            return 1;
        }
    }
    return 0;
}
