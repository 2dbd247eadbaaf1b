/* `parex state dump|get|verify|snapshot|fetch`: read a state directory,
 * copy it, or fetch a copy from a running node. */
#include "cli.h"
#include "daemon/snapshot.h"

#include <stdlib.h>
#include <string.h>

void node_help_state(FILE *f)
{
    fputs(
"usage: parex state dump --db DIR\n"
"       parex state get --db DIR KEYHEX\n"
"       parex state verify --db DIR\n"
"       parex state snapshot DIR OUT     (or --db DIR OUT)\n"
"       parex state fetch URL DIR [--chain-id N] [--genesis-hash HEX]\n"
"                   [--timeout S] [--max-bytes N]\n"
"\n"
"Read a state directory written by `parex replay --db` (opened read-only).\n"
"  dump     every pair as JSON Lines {\"key\": hex, \"value\": hex}, sorted\n"
"           by key\n"
"  get      the value of one 32-byte key (64 hex digits) as hex\n"
"  verify   recompute the state root from every pair and compare it with\n"
"           the stored root; prints the height, root and ok or MISMATCH\n"
"  snapshot copy the store (state, blocks, receipts, chain id, genesis) as\n"
"           of one committed block into OUT, a new or empty directory\n"
"           (never overwritten), from one read transaction: DIR may be a\n"
"           running node's. The copy is verified (root recomputed) before\n"
"           success; prints \"height H root HEX\". OUT opens as a store:\n"
"           `parex node --db OUT` continues the chain from it.\n"
"  fetch    download a snapshot from the node at URL (http://HOST:PORT;\n"
"           its GET /snapshot) into a temporary directory beside DIR,\n"
"           check it against the node's headers and DIR's store if any\n"
"           (same chain id and genesis, not behind it, no writer on it)\n"
"           and --chain-id / --genesis-hash, recompute its root, then\n"
"           rename it into place: a failed fetch leaves DIR as it was.\n"
"           Prints \"height H root HEX bytes N\". --timeout bounds the\n"
"           transfer (default none; a stalled one fails after 30 s),\n"
"           --max-bytes its size (default 64 GiB).\n"
"\n"
"exit status: 0 ok; 1 key not found (get) or root MISMATCH (verify,\n"
"snapshot: the copy is removed; fetch: the copy does not verify or is of\n"
"another chain); 2 usage error; 3 bad KEYHEX or --genesis-hash; 4 the\n"
"store cannot be opened or read, OUT cannot be written (or is not empty),\n"
"or the fetch failed (message says why).\n", f);
}

static parex_db *open_ro(const char *dir)
{
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_error_info ei;
    parex_db *db = NULL;
    int rc;

    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    memset(&ei, 0, sizeof(ei));
    o.read_only = 1;
    rc = parex_db_open(&db, &ei, dir, &o);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot open state: %s (%s)", dir,
            ei.message, parex_errname(rc));
    }
    return db;
}

static int dump_one(const uint8_t key[32], const uint8_t *val, size_t len,
    void *user)
{
    char k[65];
    char *v = node_malloc(2 * len + 1);

    (void)user;
    node_hex(k, key, 32);
    node_hex(v, val, len);
    {
        json_t *o = json_pack("{s:s, s:s}", "key", k, "value", v);
        char *line = o != NULL ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;
        if (line == NULL) {
            node_die(NODE_EXIT_RUNTIME, "state dump: out of memory");
        }
        puts(line);
        free(line);
        json_decref(o);
    }
    free(v);
    return 0;
}

/* `parex state snapshot DIR OUT`: copy, then verify the copy itself (its
 * recomputed root against the root the copy reports) before saying so. */
static int cmd_snapshot(const char *dir, const char *out)
{
    parex_db_options o = PAREX_DB_OPTIONS_INIT;
    parex_error_info ei;
    parex_header h;
    parex_db *db, *cp = NULL;
    uint8_t root[32];
    char hex[65];
    int rc;

    db = open_ro(dir);
    rc = parex_db_snapshot(db, &h, &ei, out);
    parex_db_close(db);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "state snapshot: %s (%s)", ei.message,
            parex_errname(rc));
    }
    memset(&o, 0, sizeof(o));
    o.size = sizeof(o);
    o.read_only = 1;
    o.no_create = 1;
    rc = parex_db_open(&cp, &ei, out, &o);
    if (rc == PAREX_OK) {
        rc = parex_db_verify(cp, root);
        parex_db_close(cp);
    }
    if (rc == PAREX_OK && memcmp(root, h.state_root, 32) != 0) {
        rc = PAREX_E_CORRUPT;
    }
    if (rc != PAREX_OK) {
        (void)node_rmtree(out);
        node_warn("state snapshot: the copy %s at height %llu does not "
            "verify (%s); removed", out, (unsigned long long)h.height,
            parex_errname(rc));
        return NODE_EXIT_MISMATCH;
    }
    node_hex(hex, h.state_root, 32);
    printf("height %llu root %s\n", (unsigned long long)h.height, hex);
    return fflush(stdout) != 0 ? NODE_EXIT_RUNTIME : NODE_EXIT_OK;
}

/* `parex state fetch URL DIR`. */
static int cmd_fetch(int argc, char **argv)
{
    node_snapshot_opts o;
    node_snapshot_info info;
    const char *pos[2] = {NULL, NULL}, *val;
    char err[NODE_ERR_LEN], hex[65];
    int k, npos = 0, rc;

    memset(&o, 0, sizeof(o));
    for (k = 2; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--chain-id", &val)) {
            o.chain_id = (uint32_t)node_opt_u64("--chain-id", val,
                UINT32_MAX);
        } else if (node_opt_value(argc, argv, &k, "--genesis-hash", &val)) {
            if (strlen(val) != 64 || node_unhex(o.genesis, val, 64) != 32) {
                node_die(NODE_EXIT_INPUT, "state fetch: --genesis-hash "
                    "must be 64 hex digits");
            }
        } else if (node_opt_value(argc, argv, &k, "--timeout", &val)) {
            o.timeout_ms = node_opt_u64("--timeout", val, 86400 * 30) *
                1000;
        } else if (node_opt_value(argc, argv, &k, "--max-bytes", &val)) {
            o.max_bytes = node_opt_u64("--max-bytes", val, UINT64_MAX);
        } else if (argv[k][0] == '-' || npos == 2) {
            node_die(NODE_EXIT_USAGE, "state fetch: unexpected argument "
                "'%s'", argv[k]);
        } else {
            pos[npos++] = argv[k];
        }
    }
    if (npos != 2) {
        node_die(NODE_EXIT_USAGE, "state fetch: usage: parex state fetch "
            "URL DIR");
    }
    rc = node_snapshot_fetch_opts(pos[0], pos[1], &o, &info, err,
        sizeof(err));
    if (rc != 0) {
        node_warn("state fetch: %s (%s)", err, parex_errname(rc));
        return rc == PAREX_E_MISMATCH || rc == PAREX_E_CORRUPT ?
            NODE_EXIT_MISMATCH : rc == PAREX_E_INVALID &&
            strstr(err, "url") == err ? NODE_EXIT_USAGE : NODE_EXIT_RUNTIME;
    }
    node_hex(hex, info.state_root, 32);
    printf("height %llu root %s bytes %llu\n",
        (unsigned long long)info.height, hex,
        (unsigned long long)info.bytes);
    return fflush(stdout) != 0 ? NODE_EXIT_RUNTIME : NODE_EXIT_OK;
}

int node_cmd_state(int argc, char **argv)
{
    const char *dir = NULL;
    const char *sub;
    const char *keyhex = NULL;
    const char *val;
    parex_db *db;
    int k, rc;
    int ret = NODE_EXIT_OK;

    if (argc < 2 || node_wants_help(argc, argv)) {
        node_help_state(argc < 2 ? stderr : stdout);
        return argc < 2 ? NODE_EXIT_USAGE : NODE_EXIT_OK;
    }
    sub = argv[1];
    if (strcmp(sub, "fetch") == 0) {
        return cmd_fetch(argc, argv);
    }
    if (strcmp(sub, "snapshot") == 0) {
        const char *pos[2] = {NULL, NULL};
        int npos = 0;

        for (k = 2; k < argc; k++) {
            if (node_opt_value(argc, argv, &k, "--db", &val)) {
                dir = val;
            } else if (argv[k][0] == '-' || npos == 2) {
                node_die(NODE_EXIT_USAGE, "state snapshot: unexpected "
                    "argument '%s'", argv[k]);
            } else {
                pos[npos++] = argv[k];
            }
        }
        if (dir == NULL && npos == 2) {
            dir = pos[0];
            pos[0] = pos[1];
            npos = 1;
        }
        if (dir == NULL || npos != 1) {
            node_die(NODE_EXIT_USAGE, "state snapshot: usage: parex state "
                "snapshot DIR OUT");
        }
        return cmd_snapshot(dir, pos[0]);
    }
    if (strcmp(sub, "dump") != 0 && strcmp(sub, "get") != 0 &&
        strcmp(sub, "verify") != 0) {
        node_die(NODE_EXIT_USAGE, "state: unknown subcommand '%s' (see "
            "parex state --help)", sub);
    }
    for (k = 2; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--db", &val)) {
            dir = val;
        } else if (argv[k][0] == '-') {
            node_die(NODE_EXIT_USAGE, "state %s: unknown option '%s'", sub,
                argv[k]);
        } else if (strcmp(sub, "get") == 0 && keyhex == NULL) {
            keyhex = argv[k];
        } else {
            node_die(NODE_EXIT_USAGE, "state %s: unexpected argument '%s'",
                sub, argv[k]);
        }
    }
    if (dir == NULL) {
        node_die(NODE_EXIT_USAGE, "state %s: --db DIR is required", sub);
    }
    if (strcmp(sub, "get") == 0 && keyhex == NULL) {
        node_die(NODE_EXIT_USAGE, "state get: KEYHEX is required");
    }
    if (strcmp(sub, "get") == 0) {
        uint8_t key[32];
        uint8_t *buf;
        size_t len = 0;
        char *hex;
        if (strlen(keyhex) != 64 || node_unhex(key, keyhex, 64) != 32) {
            node_die(NODE_EXIT_INPUT, "state get: KEYHEX must be 64 hex "
                "digits");
        }
        db = open_ro(dir);
        rc = parex_db_get(db, NULL, &len, key);
        if (rc == PAREX_E_BUFFER || rc == PAREX_OK) {
            buf = node_malloc(len);
            rc = parex_db_get(db, buf, &len, key);
            if (rc == PAREX_OK) {
                hex = node_malloc(2 * len + 1);
                node_hex(hex, buf, len);
                printf("%s\n", hex);
                free(hex);
            }
            free(buf);
        }
        if (rc == PAREX_E_NOTFOUND) {
            node_warn("state get: key %s not found", keyhex);
            ret = NODE_EXIT_MISMATCH;
        } else if (rc != PAREX_OK) {
            parex_db_close(db);
            node_die(NODE_EXIT_RUNTIME, "state get: %s", parex_strerror(rc));
        }
    } else if (strcmp(sub, "dump") == 0) {
        db = open_ro(dir);
        rc = parex_db_foreach(db, dump_one, NULL);
        if (rc != PAREX_OK) {
            parex_db_close(db);
            node_die(NODE_EXIT_RUNTIME, "state dump: %s", parex_strerror(rc));
        }
    } else {
        uint8_t root[32];
        parex_header h;
        char hex[65];
        db = open_ro(dir);
        rc = parex_db_head(db, &h);
        if (rc != PAREX_OK) {
            parex_db_close(db);
            node_die(NODE_EXIT_RUNTIME, "state verify: no head block: %s",
                parex_strerror(rc));
        }
        rc = parex_db_verify(db, root);
        if (rc != PAREX_OK && rc != PAREX_E_CORRUPT) {
            parex_db_close(db);
            node_die(NODE_EXIT_RUNTIME, "state verify: %s",
                parex_strerror(rc));
        }
        node_hex(hex, root, 32);
        if (rc == PAREX_OK) {
            printf("height %llu root %s ok\n", (unsigned long long)h.height,
                hex);
        } else {
            char stored[65];
            node_hex(stored, h.state_root, 32);
            printf("height %llu root %s MISMATCH (stored %s)\n",
                (unsigned long long)h.height, hex, stored);
            ret = NODE_EXIT_MISMATCH;
        }
    }
    if (fflush(stdout) != 0) {
        ret = NODE_EXIT_RUNTIME;
    }
    parex_db_close(db);
    return ret;
}
