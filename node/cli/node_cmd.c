/* `parex node`: the reference node. Owns a state directory, takes signed
 * transactions over JSON-RPC, produces blocks with the engine. */
#include "cli.h"
#include "daemon/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void node_help_node(FILE *f)
{
    fputs(
"usage: parex node --db DIR --listen HOST:PORT --genesis FILE\n"
"                  [--block-interval MS] [--max-block-txs N]\n"
"                  [--mempool N] [--max-nonce-gap N] [--max-body BYTES]\n"
"                  [--threads N] [--sync full|meta|none]\n"
"\n"
"Run the reference node: JSON-RPC 2.0 over HTTP on POST /, Prometheus\n"
"metrics on GET /metrics (docs/node.md). The node owns DIR: the LMDB store\n"
"of state, committed blocks and receipts (one writer: a second node or\n"
"`parex replay --db` on it is refused). DIR is created if missing; a new\n"
"or empty DIR gets the genesis of FILE (a fixture file, docs/formats.md,\n"
"with \"blocks\": []), which also gives the chain id and fee recipient; an\n"
"existing store must record that chain id and genesis. A DIR that holds\n"
"files but no store (deleted?) is refused, never started afresh.\n"
"\n"
"Blocks are produced every --block-interval MS (default 200) while ready\n"
"transactions wait, or at once when --max-block-txs (default 2000) are\n"
"pending. The first line on stdout is\n"
"  parex node: listening on http://HOST:PORT height H chain_id C\n"
"(PORT 0 picks a free port and prints it).\n"
"\n"
"options:\n"
"  --mempool N        pending transactions at most (default 100000)\n"
"  --max-nonce-gap N  accept nonces up to N above the sender's next\n"
"                     (default 1000)\n"
"  --max-body BYTES   HTTP request body limit (default 8388608)\n"
"  --threads N        engine threads including the producer (default: the\n"
"                     online CPUs)\n"
"  --sync MODE        LMDB durability per block (default full: a block is\n"
"                     on disk before its receipts are served; none\n"
"                     survives a process crash but not an OS crash)\n"
"\n"
"SIGINT or SIGTERM: stop taking requests, finish the block in progress,\n"
"exit 0. After a kill -9 a restart resumes at the last committed block.\n"
"\n"
"exit status: 0 stopped by a signal; 2 usage error; 3 the genesis file\n"
"cannot be read; 4 storage, engine or server error.\n", f);
}

static void split_listen(char *host, size_t cap, unsigned *port,
    const char *s)
{
    const char *colon = strrchr(s, ':');
    uint64_t p;

    if (colon == NULL || (size_t)(colon - s) >= cap || colon == s ||
        node_parse_u64(&p, colon + 1) != 0 || p > 65535) {
        node_die(NODE_EXIT_USAGE, "--listen: expected HOST:PORT (e.g. "
            "127.0.0.1:8545), got '%s'", s);
    }
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (unsigned)p;
}

/* Write the genesis into a store that has none; an existing store's chain
 * id and genesis were checked by parex_db_open (parex_db_options). */
static void genesis(parex_db *db, const node_fixture *g, const char *file,
    const char *dir)
{
    parex_header have;
    int rc = parex_db_head(db, &have);

    if (rc == PAREX_E_NOTFOUND) {
        rc = parex_db_genesis_chain(db, NULL, g->chain_id, g->kvs, g->nkv,
            g->fee_recipient);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_RUNTIME, "%s: cannot write the genesis of "
                "%s: %s", dir, file, parex_strerror(rc));
        }
        return;
    }
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot read the head: %s", dir,
            parex_strerror(rc));
    }
}

int node_cmd_node(int argc, char **argv)
{
    const char *dir = NULL, *listen_s = NULL, *gfile = NULL, *val;
    uint64_t interval = 200, max_txs = 2000, mempool = 100000;
    uint64_t gap = 1000, max_body = 8u << 20, threads = 0;
    parex_sync sync = PAREX_SYNC_FULL;
    char host[64], err[NODE_ERR_LEN];
    unsigned port, bound;
    node_fixture g;
    parex_db_options dbo = PAREX_DB_OPTIONS_INIT;
    parex_engine_options eo = PAREX_ENGINE_OPTIONS_INIT;
    parex_error_info ei;
    parex_engine *e = NULL;
    parex_header head;
    node_ctx c;
    node_server *srv = NULL;
    node_producer *prod = NULL;
    node_producer_opts po;
    sigset_t sigs;
    int k, rc, sig, status;

    if (node_wants_help(argc, argv)) {
        node_help_node(stdout);
        return NODE_EXIT_OK;
    }
    for (k = 1; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--db", &val)) {
            dir = val;
        } else if (node_opt_value(argc, argv, &k, "--listen", &val)) {
            listen_s = val;
        } else if (node_opt_value(argc, argv, &k, "--genesis", &val)) {
            gfile = val;
        } else if (node_opt_value(argc, argv, &k, "--block-interval", &val)) {
            interval = node_opt_u64("--block-interval", val, 3600000);
        } else if (node_opt_value(argc, argv, &k, "--max-block-txs", &val)) {
            max_txs = node_opt_u64("--max-block-txs", val, 1u << 20);
        } else if (node_opt_value(argc, argv, &k, "--mempool", &val)) {
            mempool = node_opt_u64("--mempool", val, 100000000);
        } else if (node_opt_value(argc, argv, &k, "--max-nonce-gap", &val)) {
            gap = node_opt_u64("--max-nonce-gap", val, UINT64_MAX);
        } else if (node_opt_value(argc, argv, &k, "--max-body", &val)) {
            max_body = node_opt_u64("--max-body", val, 1u << 30);
        } else if (node_opt_value(argc, argv, &k, "--threads", &val)) {
            threads = node_opt_u64("--threads", val, 4096);
        } else if (node_opt_value(argc, argv, &k, "--sync", &val)) {
            sync = node_opt_sync(val);
        } else {
            node_die(NODE_EXIT_USAGE, "node: unknown argument '%s' (see "
                "parex node --help)", argv[k]);
        }
    }
    if (dir == NULL || listen_s == NULL || gfile == NULL) {
        node_die(NODE_EXIT_USAGE, "node: --db, --listen and --genesis are "
            "required (see parex node --help)");
    }
    if (max_txs == 0 || mempool == 0 || max_body == 0) {
        node_die(NODE_EXIT_USAGE, "node: --max-block-txs, --mempool and "
            "--max-body must be at least 1");
    }
    split_listen(host, sizeof(host), &port, listen_s);
    if (node_fixture_load(&g, err, gfile) != 0) {
        node_die(NODE_EXIT_INPUT, "%s", err);
    }
    if (g.nblocks != 0) {
        node_die(NODE_EXIT_INPUT, "%s: a genesis file has \"blocks\": [] "
            "(it has %zu)", gfile, g.nblocks);
    }
    memset(&dbo, 0, sizeof(dbo));
    dbo.size = sizeof(dbo);
    dbo.sync = sync;
    /* A new store only in a new or empty DIR: one that holds files but no
     * store lost its store (deleted, or a wrong DIR), and starting a new
     * chain there would put it over whatever is left. */
    dbo.no_create = node_mkdir_fresh(dir) != 0;
    if (dbo.no_create && errno != EEXIST) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot create: %s", dir,
            strerror(errno));
    }
    /* The store records its chain: it must be this file's. */
    {
        parex_header gh;

        dbo.chain_id = g.chain_id;
        rc = parex_genesis_header(&gh, g.kvs, g.nkv, g.fee_recipient);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_INPUT, "%s: genesis: %s", gfile,
                parex_strerror(rc));
        }
        parex_header_hash(dbo.genesis, &gh);
    }
    memset(&ei, 0, sizeof(ei));
    memset(&c, 0, sizeof(c));
    rc = parex_db_open(&c.db, &ei, dir, &dbo);
    if (rc == PAREX_E_NOTFOUND) {
        node_die(NODE_EXIT_RUNTIME, "%s: holds files but no state store "
            "(no data.mdb): refusing to start a new chain over them; was the "
            "store deleted? Start with a new or empty directory", dir);
    }
    if (rc == PAREX_E_MISMATCH) {
        node_die(NODE_EXIT_USAGE, "%s: the state was created from another "
            "genesis than %s: %s", dir, gfile, ei.message);
    }
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot open state: %s (%s)", dir,
            ei.message, parex_errname(rc));
    }
    genesis(c.db, &g, gfile, dir);
    parex_engine_options_default(&eo);
    eo.threads = (unsigned)(threads == 0 ? node_cpus() : threads);
    eo.chain_id = g.chain_id;
    parex_limits_default(&eo.limits);
    if (max_txs > eo.limits.max_block_txs) {
        node_die(NODE_EXIT_USAGE, "--max-block-txs %llu is over the block "
            "limit %u", (unsigned long long)max_txs, eo.limits.max_block_txs);
    }
    rc = parex_engine_create(&e, c.db, &eo);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "cannot create the engine: %s",
            parex_strerror(rc));
    }
    c.chain_id = g.chain_id;
    c.limits = eo.limits;
    memcpy(c.fee_recipient, g.fee_recipient, 32);
    c.max_nonce_gap = gap;
    c.max_body = (size_t)max_body;
    c.max_block_txs = (size_t)max_txs;
    node_ctx_init(&c, (size_t)mempool, (size_t)mempool * 1024);
    node_fixture_release(&g);

    /* Signals go to sigwait below only: every thread created from here on
     * inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (node_server_start(&srv, err, &c, host, port, &bound) != 0) {
        node_die(NODE_EXIT_RUNTIME, "%s", err);
    }
    memset(&po, 0, sizeof(po));
    po.interval_ms = interval;
    if (node_producer_start(&prod, &c, e, &po) != 0) {
        node_die(NODE_EXIT_RUNTIME, "cannot start the block producer");
    }
    if (parex_db_head(c.db, &head) != PAREX_OK) {
        head.height = 0;
    }
    printf("parex node: listening on http://%s:%u height %llu chain_id %u\n",
        host, bound, (unsigned long long)head.height, c.chain_id);
    fflush(stdout);

    if (sigwait(&sigs, &sig) != 0) {
        sig = 0;
    }
    /* No new requests, then let the producer finish its block. */
    node_server_stop(srv);
    status = node_producer_stop(prod);
    if (parex_db_head(c.db, &head) != PAREX_OK) {
        head.height = 0;
    }
    printf("parex node: stopped (signal %d) at height %llu\n", sig,
        (unsigned long long)head.height);
    fflush(stdout);
    parex_engine_destroy(e);
    node_ctx_release(&c);
    parex_db_close(c.db);
    return status == 0 ? NODE_EXIT_OK : NODE_EXIT_RUNTIME;
}
