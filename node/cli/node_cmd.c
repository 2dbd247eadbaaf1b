/* `parex node`: the reference node. Owns a state directory, takes signed
 * transactions over JSON-RPC, produces blocks with the engine. */
#include "cli.h"
#include "daemon/daemon.h"
#include "daemon/snapshot.h"

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
"                  [--max-block-bytes N] [--mempool N]\n"
"                  [--max-sender-txs N] [--max-nonce-gap N]\n"
"                  [--mempool-ttl S] [--max-body BYTES]\n"
"                  [--body-budget BYTES] [--max-response BYTES]\n"
"                  [--response-budget BYTES]\n"
"                  [--max-conns N] [--max-conns-per-ip N]\n"
"                  [--idle-timeout S] [--request-deadline MS]\n"
"                  [--snapshot-timeout S]\n"
"                  [--map-size BYTES] [--threads N]\n"
"                  [--sync full|meta|none] [--log-level LEVEL]\n"
"                  [--cluster URL[,URL...] --node-name NAME\n"
"                   [--lease-ttl S] [--advertise URL] [--retention N]]\n"
"                  [--no-bal]\n"
"\n"
"Run the reference node: JSON-RPC 2.0 over HTTP on POST /, Prometheus\n"
"metrics on GET /metrics, GET /health (docs/node.md). The node owns DIR:\n"
"the LMDB store\n"
"of state, committed blocks and receipts (one writer: a second node or\n"
"`parex replay --db` on it is refused). DIR is created if missing; a new\n"
"or empty DIR gets the genesis of FILE (a fixture file, docs/formats.md,\n"
"with \"blocks\": []), which also gives the chain id and fee recipient; an\n"
"existing store must record that chain id and genesis. A DIR that holds\n"
"files but no store (deleted?) is refused, never started afresh.\n"
"HOST is a name or an address (getaddrinfo): 127.0.0.1, localhost, [::1].\n"
"\n"
"Blocks are produced every --block-interval MS (default 200; 0: as soon\n"
"as a transaction arrives) while ready transactions wait, or at once when\n"
"--max-block-txs (default 2000) are pending. The first line on stdout is\n"
"  parex node: listening on http://HOST:PORT height H chain_id C\n"
"(PORT 0 picks a free port and prints it).\n"
"\n"
"options (docs/node.md, \"Limits\", gives the reason for each default):\n"
"  --max-block-bytes N  encoded txs per block (default 8388608)\n"
"  --mempool N          pending transactions at most (default 100000)\n"
"  --mempool-bytes N    pending encoded bytes at most (default 268435456)\n"
"  --max-sender-txs N   pending transactions of one sender (default 1000)\n"
"  --max-nonce-gap N    accept nonces up to N above the sender's next\n"
"                       (default 1000)\n"
"  --mempool-ttl S      pending txs expire after S seconds (default 600;\n"
"                       0 never)\n"
"  --max-body BYTES     HTTP request body limit (default 8388608)\n"
"  --body-budget BYTES  request bodies in flight, all connections\n"
"                       (default 67108864)\n"
"  --max-response BYTES one JSON-RPC response or batch (default 33554432;\n"
"                       at least 2 x --max-block-bytes + 1 MiB)\n"
"  --response-budget BYTES responses not yet read by their clients, all\n"
"                       connections (default 268435456)\n"
"  --max-conns N        HTTP connections in all (default 512)\n"
"  --max-conns-per-ip N HTTP connections from one address (default 32)\n"
"  --idle-timeout S     close a connection silent this long (default 15)\n"
"  --request-deadline MS a request's headers and body must arrive, and its\n"
"                       response be sent, within MS (default 30000)\n"
"  --snapshot-timeout S a GET /snapshot (a consistent copy of the store,\n"
"                       one at a time; `parex state fetch`) must be sent\n"
"                       within S (default 600); 0: snapshots not served\n"
"  --map-size BYTES     LMDB map size (default 17179869184, 16 GiB); to\n"
"                       grow a full store restart with a larger one\n"
"  --threads N          engine threads including the producer (default: the\n"
"                       online CPUs; 1 to 256)\n"
"  --sync MODE          LMDB durability per block (default full: a block is\n"
"                       on disk before its receipts are served; none\n"
"                       survives a process crash but not an OS crash)\n"
"  --log-level LEVEL    debug, info (default), warn or error\n"
"  --no-bal             produce blocks without a block access list (default:\n"
"                       each block is sealed with its BAL, which getBlock\n"
"                       returns as \"bal\")\n"
"\n", f);
    fputs(
"A replicated chain (docs/cluster.md): --cluster names the etcd members'\n"
"client URLs; the node joins the chain of its genesis there (another\n"
"genesis under the same chain id is refused, naming both). Every node\n"
"campaigns for a leader lease; the holder produces, appending each block\n"
"to the log in etcd before committing it; every node commits only blocks\n"
"of the log, in height order, re-executing and checking their roots.\n"
"Submissions to a follower are forwarded to the producer. A node whose\n"
"head is behind the log's oldest block (--retention) fetches the\n"
"producer's snapshot (GET /snapshot) into DIR at start.\n"
"  --node-name NAME     unique among the chain's nodes ([A-Za-z0-9._-])\n"
"  --lease-ttl S        leader lease TTL (default 3; failover takes up to\n"
"                       about 2 TTLs)\n"
"  --advertise URL      how peers reach this node (default\n"
"                       http://HOST:PORT of --listen; required with port 0)\n"
"  --retention N        the producer deletes blocks older than N from etcd\n"
"                       (default 0: keep all)\n"
"\n"
"SIGINT or SIGTERM: stop taking requests, finish the block in progress,\n"
"exit 0. SIGHUP: log the node's state and limits (nothing else changes).\n"
"After a kill -9 a restart resumes at the last committed block.\n"
"\n"
"exit status: 0 stopped by a signal; 2 usage error; 3 the genesis file\n"
"cannot be read; 4 storage, engine or server error.\n", f);
}

/* HOST:PORT, [V6ADDR]:PORT. */
static void split_listen(char *host, size_t cap, unsigned *port,
    const char *s)
{
    const char *colon = strrchr(s, ':'), *h = s;
    size_t hl;
    uint64_t p;

    if (colon == NULL || colon == s ||
        node_parse_u64(&p, colon + 1) != 0 || p > 65535) {
        goto bad;
    }
    hl = (size_t)(colon - s);
    if (s[0] == '[') {
        if (hl < 3 || s[hl - 1] != ']') {
            goto bad;
        }
        h = s + 1;
        hl -= 2;
    } else if (memchr(s, ':', hl) != NULL) {
        goto bad;   /* an IPv6 address needs its brackets */
    }
    if (hl >= cap) {
        goto bad;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (unsigned)p;
    return;
bad:
    node_die(NODE_EXIT_USAGE, "--listen: expected HOST:PORT or "
        "[IPV6]:PORT (e.g. 127.0.0.1:8545, localhost:0, [::1]:8545), got "
        "'%s'", s);
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
    uint64_t block_bytes = 8u << 20, mempool_bytes = 256u << 20;
    uint64_t sender_txs = 1000, ttl = 600, budget = 64u << 20;
    uint64_t max_resp = 32u << 20, max_conns = 512, per_ip = 32;
    uint64_t resp_budget = 256u << 20;
    uint64_t idle = 15, deadline = 30000, map_size = 0, snap_s = 600;
    parex_sync sync = PAREX_SYNC_FULL;
    node_server_opts so;
    char host[256], err[NODE_ERR_LEN];
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
    const char *cl_urls = NULL, *cl_name = NULL, *cl_adv = NULL;
    uint64_t cl_ttl = 0, cl_keep = 0;
    uint8_t ghash[32], genc[PAREX_HEADER_BYTES];
    char advbuf[300];
    node_replica *rep = NULL;
    node_replica_opts ro;
    sigset_t sigs;
    int k, rc, sig, status, no_bal = 0;

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
        } else if (strcmp(argv[k], "--no-bal") == 0) {
            no_bal = 1;
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
        } else if (node_opt_value(argc, argv, &k, "--max-block-bytes",
                       &val)) {
            block_bytes = node_opt_u64("--max-block-bytes", val, 1u << 30);
        } else if (node_opt_value(argc, argv, &k, "--mempool-bytes", &val)) {
            mempool_bytes = node_opt_u64("--mempool-bytes", val,
                (uint64_t)64 << 30);
        } else if (node_opt_value(argc, argv, &k, "--max-sender-txs",
                       &val)) {
            sender_txs = node_opt_u64("--max-sender-txs", val, 100000000);
        } else if (node_opt_value(argc, argv, &k, "--mempool-ttl", &val)) {
            ttl = node_opt_u64("--mempool-ttl", val, 365 * 86400);
        } else if (node_opt_value(argc, argv, &k, "--body-budget", &val)) {
            budget = node_opt_u64("--body-budget", val, (uint64_t)64 << 30);
        } else if (node_opt_value(argc, argv, &k, "--max-response", &val)) {
            max_resp = node_opt_u64("--max-response", val,
                (uint64_t)16 << 30);
        } else if (node_opt_value(argc, argv, &k, "--response-budget",
                       &val)) {
            resp_budget = node_opt_u64("--response-budget", val,
                (uint64_t)64 << 30);
        } else if (node_opt_value(argc, argv, &k, "--max-conns", &val)) {
            max_conns = node_opt_u64("--max-conns", val, 100000);
        } else if (node_opt_value(argc, argv, &k, "--max-conns-per-ip",
                       &val)) {
            per_ip = node_opt_u64("--max-conns-per-ip", val, 100000);
        } else if (node_opt_value(argc, argv, &k, "--idle-timeout", &val)) {
            idle = node_opt_u64("--idle-timeout", val, 86400);
        } else if (node_opt_value(argc, argv, &k, "--request-deadline",
                       &val)) {
            deadline = node_opt_u64("--request-deadline", val, 86400000);
        } else if (node_opt_value(argc, argv, &k, "--snapshot-timeout",
                       &val)) {
            snap_s = node_opt_u64("--snapshot-timeout", val, 86400);
        } else if (node_opt_value(argc, argv, &k, "--map-size", &val)) {
            map_size = node_opt_u64("--map-size", val, (uint64_t)1 << 44);
        } else if (node_opt_value(argc, argv, &k, "--log-level", &val)) {
            static const char *const lv[] = {"debug", "info", "warn",
                "error"};
            int l;
            for (l = 0; l < 4 && strcmp(val, lv[l]) != 0; l++) {
            }
            if (l == 4) {
                node_die(NODE_EXIT_USAGE, "--log-level: expected debug, "
                    "info, warn or error, got '%s'", val);
            }
            node_log_level = l;
        } else if (node_opt_value(argc, argv, &k, "--threads", &val)) {
            threads = node_opt_u64("--threads", val, 256);
            if (threads == 0) {
                node_die(NODE_EXIT_USAGE, "option --threads: at least 1 "
                    "(omit it for the online CPUs)");
            }
        } else if (node_opt_value(argc, argv, &k, "--cluster", &val)) {
            cl_urls = val;
        } else if (node_opt_value(argc, argv, &k, "--node-name", &val)) {
            cl_name = val;
        } else if (node_opt_value(argc, argv, &k, "--advertise", &val)) {
            cl_adv = val;
        } else if (node_opt_value(argc, argv, &k, "--lease-ttl", &val)) {
            cl_ttl = node_opt_u64("--lease-ttl", val, 3600);
            if (cl_ttl == 0) {
                node_die(NODE_EXIT_USAGE, "option --lease-ttl: at least 1 "
                    "second");
            }
        } else if (node_opt_value(argc, argv, &k, "--retention", &val)) {
            cl_keep = node_opt_u64("--retention", val, UINT64_MAX / 2);
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
    if ((cl_urls == NULL) != (cl_name == NULL)) {
        node_die(NODE_EXIT_USAGE, "node: --cluster and --node-name go "
            "together (see parex node --help)");
    }
    if (cl_urls == NULL && (cl_adv != NULL || cl_ttl != 0 || cl_keep != 0)) {
        node_die(NODE_EXIT_USAGE, "node: --lease-ttl, --advertise and "
            "--retention need --cluster");
    }
    if (max_txs == 0 || mempool == 0 || max_body == 0 || block_bytes == 0 ||
        mempool_bytes == 0 || max_conns == 0 || per_ip == 0 ||
        budget == 0 || idle == 0) {
        node_die(NODE_EXIT_USAGE, "node: --max-block-txs, --max-block-bytes, "
            "--mempool, --mempool-bytes, --max-body, --body-budget, "
            "--max-conns, --max-conns-per-ip and --idle-timeout must be at "
            "least 1");
    }
    if (max_resp < 2 * block_bytes + (1u << 20)) {
        node_die(NODE_EXIT_USAGE, "--max-response %llu is below 2 x "
            "--max-block-bytes + 1 MiB (%llu): the largest block would not "
            "fit in a getBlock response", (unsigned long long)max_resp,
            (unsigned long long)(2 * block_bytes + (1u << 20)));
    }
    if (resp_budget < max_resp) {
        node_die(NODE_EXIT_USAGE, "--response-budget %llu is below "
            "--max-response %llu: the largest response could never be sent",
            (unsigned long long)resp_budget, (unsigned long long)max_resp);
    }
    if (budget < max_body) {
        node_die(NODE_EXIT_USAGE, "--body-budget %llu is below --max-body "
            "%llu: no request of the largest size could be read",
            (unsigned long long)budget, (unsigned long long)max_body);
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
    dbo.map_size = map_size;
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
        memcpy(ghash, dbo.genesis, 32);
        parex_header_encode(genc, &gh);
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
    if (cl_urls != NULL) {
        uint64_t lhead, llow;
        char peer[256];

        if (cl_adv == NULL && port == 0) {
            node_die(NODE_EXIT_USAGE, "node: --cluster with --listen port 0 "
                "needs --advertise URL (peers forward submissions there)");
        }
        if (cl_adv == NULL) {
            snprintf(advbuf, sizeof(advbuf), "http://%s%s%s:%u",
                strchr(host, ':') != NULL ? "[" : "", host,
                strchr(host, ':') != NULL ? "]" : "", port);
            cl_adv = advbuf;
        }
        memset(&ro, 0, sizeof(ro));
        ro.endpoints = cl_urls;
        ro.node_name = cl_name;
        ro.advertise_url = cl_adv;
        ro.lease_ttl_s = (int64_t)cl_ttl;
        ro.retention = cl_keep;
        ro.interval_ms = interval;
        ro.genesis_hash = ghash;
        ro.genesis = genc;
        ro.genesis_len = sizeof(genc);
        /* Catch-up starts from the local head: the log must still hold
         * the block after it. */
        rc = node_replica_probe(&ro, g.chain_id, &lhead, &llow, peer,
            sizeof(peer), err);
        if (rc != 0) {
            node_die(rc == -2 ? NODE_EXIT_USAGE : NODE_EXIT_RUNTIME, "%s",
                err);
        }
        if (parex_db_head(c.db, &head) != PAREX_OK) {
            head.height = 0;
        }
        if (head.height + 1 < llow) {
            node_snapshot_info sni;
            char src[400];

            /* Behind the retention window: a healthy peer's store (the
             * producer's as the fallback), copied from one read
             * transaction (GET /snapshot), replaces ours; the log goes on
             * from its height. */
            (void)peer;
            parex_db_close(c.db);
            c.db = NULL;
            if (node_replica_snapshot(&ro, g.chain_id, head.height, llow,
                    dir, &sni, src, sizeof(src), err) != 0) {
                node_die(NODE_EXIT_RUNTIME, "%s: %s; start again, or "
                    "replace %s with `parex state fetch URL %s` from a peer",
                    dir, err, dir, dir);
            }
            dbo.no_create = 1;
            memset(&ei, 0, sizeof(ei));
            rc = parex_db_open(&c.db, &ei, dir, &dbo);
            if (rc != PAREX_OK) {
                node_die(NODE_EXIT_RUNTIME, "%s: cannot open the fetched "
                    "snapshot: %s (%s)", dir, ei.message, parex_errname(rc));
            }
            node_log(NODE_LOG_INFO, "cluster: installed a snapshot of %s at "
                "height %llu (%llu bytes); replaying the log from %llu",
                src, (unsigned long long)sni.height,
                (unsigned long long)sni.bytes,
                (unsigned long long)sni.height + 1);
        }
    }
    parex_engine_options_default(&eo);
    eo.threads = (unsigned)(threads == 0 ? node_cpus() : threads);
    eo.chain_id = g.chain_id;
    parex_limits_default(&eo.limits);
    if (block_bytes + PAREX_HEADER_BYTES + 4 + 4 * max_txs >
        eo.limits.max_block_bytes) {
        node_die(NODE_EXIT_USAGE, "--max-block-bytes %llu is over the "
            "engine's block limit %llu (with the framing of %llu txs)",
            (unsigned long long)block_bytes,
            (unsigned long long)eo.limits.max_block_bytes,
            (unsigned long long)max_txs);
    }
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
    c.body_budget = (size_t)budget;
    c.max_response = (size_t)max_resp;
    c.resp_budget = (size_t)resp_budget;
    c.max_block_txs = (size_t)max_txs;
    c.no_bal = no_bal;
    c.max_block_bytes = (size_t)block_bytes;
    c.mempool_ttl_ns = ttl * 1000000000ULL;
    c.wake_on_add = interval == 0;
    node_ctx_init(&c, (size_t)mempool, (size_t)mempool_bytes,
        (size_t)sender_txs);
    node_fixture_release(&g);

    /* Signals go to sigwait below only: every thread created from here on
     * inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Before the server: its threads read c.replica. */
    if (cl_urls != NULL) {
        rc = node_replica_open(&rep, err, &c, &ro);
        if (rc != 0) {
            node_die(rc == -2 ? NODE_EXIT_USAGE : NODE_EXIT_RUNTIME, "%s",
                err);
        }
    }
    memset(&so, 0, sizeof(so));
    so.host = host;
    so.port = port;
    so.max_conns = (unsigned)max_conns;
    so.max_conns_per_ip = (unsigned)per_ip;
    so.idle_timeout_s = (unsigned)idle;
    so.deadline_ms = deadline;
    so.snapshot_dir = snap_s > 0 ? dir : NULL;
    so.snapshot_ms = snap_s * 1000;
    if (node_server_start(&srv, err, &c, &so, &bound) != 0) {
        node_die(NODE_EXIT_RUNTIME, "%s", err);
    }
    memset(&po, 0, sizeof(po));
    po.interval_ms = interval;
    if (rep != NULL) {
        if (node_replica_start(rep, e) != 0) {
            node_die(NODE_EXIT_RUNTIME, "cannot start the replica thread");
        }
    } else if (node_producer_start(&prod, &c, e, &po) != 0) {
        node_die(NODE_EXIT_RUNTIME, "cannot start the block producer");
    }
    if (parex_db_head(c.db, &head) != PAREX_OK) {
        head.height = 0;
    }
    printf("parex node: listening on http://%s%s%s:%u height %llu "
        "chain_id %u\n", strchr(host, ':') != NULL ? "[" : "", host,
        strchr(host, ':') != NULL ? "]" : "", bound,
        (unsigned long long)head.height, c.chain_id);
    fflush(stdout);
    node_log(NODE_LOG_INFO, "started at height %llu (chain id %u, %s)",
        (unsigned long long)head.height, c.chain_id, head.height > 0 ?
        "resumed from the stored state" : "from genesis");

    for (;;) {
        if (sigwait(&sigs, &sig) != 0) {
            sig = 0;
            break;
        }
        if (sig != SIGHUP) {
            break;
        }
        /* SIGHUP: there is nothing to reload (no config file, logs go to
         * stderr); report where the node stands instead of dying, which
         * is what the default action would do. */
        pthread_mutex_lock(&c.lock);
        k = (int)node_mempool_size(c.mp);
        pthread_mutex_unlock(&c.lock);
        if (parex_db_head(c.db, &head) != PAREX_OK) {
            head.height = 0;
        }
        node_log(NODE_LOG_INFO, "SIGHUP: height %llu, %d txs pending; "
            "nothing to reload", (unsigned long long)head.height, k);
    }
    /* No new requests, then let the producer finish its block. */
    node_server_stop(srv);
    if (rep != NULL) {
        status = node_replica_stop(rep);
        node_replica_free(rep);   /* revokes the lease: a fast handover */
    } else {
        status = node_producer_stop(prod);
    }
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
