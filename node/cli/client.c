/* Clients of the reference node: `parex keygen`, `parex tx transfer`,
 * `parex submit` and the load generator `parex load`. */
#include "cli.h"
#include "daemon/daemon.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void node_help_keygen(FILE *f)
{
    fputs(
"usage: parex keygen [--seed STR] [--count N]\n"
"\n"
"Print BIP-340 keypairs as JSON lines {\"seed\", \"secret\", \"pubkey\",\n"
"\"account_key\"}. With --seed the key is parex_key_from_seed(STR)\n"
"(deterministic: for tests and examples, not for real funds); with --count N\n"
"the seeds are STR-0 .. STR-(N-1). Without --seed the seed is 32 random\n"
"bytes from /dev/urandom.\n", f);
}

void node_help_tx(FILE *f)
{
    fputs(
"usage: parex tx transfer (--seed STR | --secret HEX) --to PUBKEY\n"
"                 --amount N --nonce N [--fee N] [--chain-id N]\n"
"                 [--count K]\n"
"\n"
"Build and sign transfer transactions; print each as hex, one per line\n"
"(what submitTransaction takes). The write set declares the recipient's\n"
"account; the sender's is implicit. --count K prints K transactions with\n"
"nonces N .. N+K-1. Defaults: fee 1, chain id 1, count 1.\n", f);
}

void node_help_submit(FILE *f)
{
    fputs(
"usage: parex submit --url http://HOST:PORT [--timeout S] [TXHEX...]\n"
"\n"
"Submit signed transactions (hex; from stdin, one per line, when none are\n"
"given) with submitTransaction. Prints the tx id of each accepted one, or\n"
"the node's error. Each request must be answered within --timeout S\n"
"seconds (default 30).\n"
"\n"
"exit status: 0 all accepted; 1 some rejected; 2 usage; 4 no connection\n"
"or no answer in time.\n",
        f);
}

void node_help_load(FILE *f)
{
    fputs(
"usage: parex load --write-genesis FILE [--senders N] [--seed STR]\n"
"                  [--balance N] [--chain-id N]\n"
"       parex load --url http://HOST:PORT [--senders N] [--seed STR]\n"
"                  [--txs N] [--batch N] [--fee N] [--chain-id N]\n"
"                  [--timeout S] [--json]\n"
"\n"
"A load run through a node. --write-genesis writes a genesis file (for\n"
"parex node --genesis) funding N senders (seeds STR-0 .., default STR\n"
"\"load\", N 100, balance 10^12). With --url: sign --txs transfers (default\n"
"20000) round-robin over the senders (sender i pays 1 to its own recipient,\n"
"seed STR-to-i, fee 1: txs of different senders do not conflict), starting at each sender's current nonce; submit them in JSON-RPC\n"
"batches of --batch (default 200) over one keep-alive connection, retrying\n"
"while the mempool is full; wait until every sender's nonce shows all of\n"
"them committed. Prints the submission rate and the end-to-end committed\n"
"tx/s (first submission to last commit). --timeout S (default 300)\n"
"bounds the whole run and each request to the node.\n", f);
}

/* ---- helpers ------------------------------------------------------------ */

static double now_s(void)
{
    return (double)node_now_ns() / 1e9;
}

static void key_of(uint8_t sec[32], uint8_t pub[32], const char *seed,
    const char *secret_hex)
{
    int rc;

    if (secret_hex != NULL) {
        if (strlen(secret_hex) != 64 ||
            node_unhex(sec, secret_hex, 64) != 32) {
            node_die(NODE_EXIT_USAGE, "--secret: expected 64 hex digits");
        }
        rc = parex_key_pubkey(pub, sec);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_USAGE, "--secret: not a valid secret key");
        }
        return;
    }
    node_key_from_str(sec, pub, seed);
}

/* Sign one transfer; returns the encoding (malloc'd hex). */
static char *sign_transfer(const uint8_t sec[32], const uint8_t pub[32],
    const uint8_t to[32], uint64_t amount, uint64_t nonce, uint64_t fee,
    uint32_t chain_id, uint8_t txid[32])
{
    uint8_t args[PAREX_TRANSFER_ARGS_BYTES], wkey[32], buf[512];
    size_t len = sizeof(buf);
    parex_tx tx;
    char *hex;
    int rc;

    memset(&tx, 0, sizeof(tx));
    tx.chain_id = chain_id;
    memcpy(tx.sender, pub, 32);
    tx.nonce = nonce;
    tx.fee = fee;
    tx.program = PAREX_PROGRAM_TRANSFER;
    parex_transfer_args(args, to, amount);
    tx.args = args;
    tx.args_len = sizeof(args);
    if (memcmp(to, pub, 32) != 0) {
        parex_account_key(wkey, to);
        tx.write_set = wkey;
        tx.n_write = 1;
    }
    rc = parex_tx_sign(&tx, sec);
    if (rc == PAREX_OK) {
        rc = parex_tx_encode(buf, &len, &tx);
    }
    if (rc == PAREX_OK && txid != NULL) {
        rc = parex_tx_id(txid, &tx);
    }
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "cannot sign a transfer: %s",
            parex_strerror(rc));
    }
    hex = node_malloc(2 * len + 1);
    node_hex(hex, buf, len);
    return hex;
}

/* One JSON-RPC call: the result (new reference), or NULL with err (the
 * node's error message, or a transport error; *code the JSON-RPC code or
 * 0 for transport). */
static json_t *rpc(node_http *h, char *err, int *code, const char *method,
    json_t *params)
{
    json_t *req = json_pack("{s:s, s:s, s:o, s:i}", "jsonrpc", "2.0",
        "method", method, "params", params, "id", 1);
    char *body = json_dumps(req, JSON_COMPACT), *resp = NULL;
    json_t *r = NULL, *res = NULL, *e;
    size_t rl;
    int st;

    json_decref(req);
    *code = 0;
    st = node_http_post(h, err, body, strlen(body), &resp, &rl);
    free(body);
    if (st < 0) {
        return NULL;
    }
    r = json_loadb(resp, rl, 0, NULL);
    if (r == NULL) {
        node_err(err, "HTTP %d: not JSON: %.200s", st, resp);
    } else if ((e = json_object_get(r, "error")) != NULL) {
        *code = (int)json_integer_value(json_object_get(e, "code"));
        node_err(err, "%s", json_string_value(json_object_get(e,
            "message")));
    } else {
        res = json_incref(json_object_get(r, "result"));
        if (res == NULL) {
            node_err(err, "response without result: %.200s", resp);
        }
    }
    json_decref(r);
    free(resp);
    return res;
}

/* ---- keygen, tx, submit ------------------------------------------------- */

int node_cmd_keygen(int argc, char **argv)
{
    const char *seed = NULL, *val;
    uint64_t count = 1, i;
    uint8_t sec[32], pub[32], key[32], rnd[32];
    char s1[65], s2[65], s3[65], sbuf[300];
    int k;

    if (node_wants_help(argc, argv)) {
        node_help_keygen(stdout);
        return NODE_EXIT_OK;
    }
    for (k = 1; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--seed", &val)) {
            seed = val;
        } else if (node_opt_value(argc, argv, &k, "--count", &val)) {
            count = node_opt_u64("--count", val, 10000000);
        } else {
            node_die(NODE_EXIT_USAGE, "keygen: unknown argument '%s'",
                argv[k]);
        }
    }
    if (seed != NULL && strlen(seed) > 256) {
        node_die(NODE_EXIT_USAGE, "--seed: at most 256 characters");
    }
    for (i = 0; i < count; i++) {
        if (seed == NULL) {
            FILE *f = fopen("/dev/urandom", "rb");
            if (f == NULL || fread(rnd, 1, sizeof(rnd), f) != sizeof(rnd)) {
                node_die(NODE_EXIT_RUNTIME, "/dev/urandom: cannot read");
            }
            fclose(f);
            if (parex_key_from_seed(sec, pub, rnd, sizeof(rnd)) != PAREX_OK) {
                node_die(NODE_EXIT_RUNTIME, "key derivation failed");
            }
            memset(rnd, 0, sizeof(rnd));
            snprintf(sbuf, sizeof(sbuf), "(random)");
        } else {
            if (count == 1) {
                snprintf(sbuf, sizeof(sbuf), "%s", seed);
            } else {
                snprintf(sbuf, sizeof(sbuf), "%s-%llu", seed,
                    (unsigned long long)i);
            }
            node_key_from_str(sec, pub, sbuf);
        }
        parex_account_key(key, pub);
        node_hex(s1, sec, 32);
        node_hex(s2, pub, 32);
        node_hex(s3, key, 32);
        {
            /* jansson escapes the seed (any string the user gave). */
            json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "seed", sbuf,
                "secret", s1, "pubkey", s2, "account_key", s3);
            char *line = o != NULL ? json_dumps(o, JSON_PRESERVE_ORDER |
                JSON_ENSURE_ASCII) : NULL;
            if (line == NULL) {
                node_die(NODE_EXIT_RUNTIME, "keygen: out of memory");
            }
            puts(line);
            memset(line, 0, strlen(line));
            free(line);
            json_decref(o);
        }
        memset(sec, 0, sizeof(sec));
        memset(s1, 0, sizeof(s1));
    }
    return NODE_EXIT_OK;
}

int node_cmd_tx(int argc, char **argv)
{
    const char *seed = NULL, *secret = NULL, *to_hex = NULL, *val;
    uint64_t amount = 0, nonce = 0, fee = 1, chain = 1, count = 1, i;
    int have_amount = 0, have_nonce = 0, k;
    uint8_t sec[32], pub[32], to[32];

    if (argc < 2 || node_wants_help(argc, argv)) {
        node_help_tx(argc < 2 ? stderr : stdout);
        return argc < 2 ? NODE_EXIT_USAGE : NODE_EXIT_OK;
    }
    if (strcmp(argv[1], "transfer") != 0) {
        node_die(NODE_EXIT_USAGE, "tx: unknown kind '%s' (only transfer)",
            argv[1]);
    }
    for (k = 2; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--seed", &val)) {
            seed = val;
        } else if (node_opt_value(argc, argv, &k, "--secret", &val)) {
            secret = val;
        } else if (node_opt_value(argc, argv, &k, "--to", &val)) {
            to_hex = val;
        } else if (node_opt_value(argc, argv, &k, "--amount", &val)) {
            amount = node_opt_u64("--amount", val, UINT64_MAX);
            have_amount = 1;
        } else if (node_opt_value(argc, argv, &k, "--nonce", &val)) {
            nonce = node_opt_u64("--nonce", val, UINT64_MAX);
            have_nonce = 1;
        } else if (node_opt_value(argc, argv, &k, "--fee", &val)) {
            fee = node_opt_u64("--fee", val, UINT64_MAX);
        } else if (node_opt_value(argc, argv, &k, "--chain-id", &val)) {
            chain = node_opt_u64("--chain-id", val, UINT32_MAX);
        } else if (node_opt_value(argc, argv, &k, "--count", &val)) {
            count = node_opt_u64("--count", val, 10000000);
        } else {
            node_die(NODE_EXIT_USAGE, "tx: unknown argument '%s'", argv[k]);
        }
    }
    if ((seed == NULL) == (secret == NULL) || to_hex == NULL ||
        !have_amount || !have_nonce) {
        node_die(NODE_EXIT_USAGE, "tx transfer: needs one of --seed and "
            "--secret, and --to, --amount, --nonce (see parex tx --help)");
    }
    if (strlen(to_hex) != 64 || node_unhex(to, to_hex, 64) != 32) {
        node_die(NODE_EXIT_USAGE, "--to: expected a 64-hex-digit public key");
    }
    if (count > 0 && nonce > UINT64_MAX - (count - 1)) {
        node_die(NODE_EXIT_USAGE, "--nonce + --count overflows u64");
    }
    key_of(sec, pub, seed, secret);
    for (i = 0; i < count; i++) {
        char *hex = sign_transfer(sec, pub, to, amount, nonce + i, fee,
            (uint32_t)chain, NULL);
        puts(hex);
        free(hex);
    }
    memset(sec, 0, sizeof(sec));
    return NODE_EXIT_OK;
}

int node_cmd_submit(int argc, char **argv)
{
    const char *url = NULL, *val;
    char err[NODE_ERR_LEN];
    node_http h;
    uint64_t timeout = 30;
    int k, code, ret = NODE_EXIT_OK, from_stdin = 1;
    char line[65536];

    if (node_wants_help(argc, argv)) {
        node_help_submit(stdout);
        return NODE_EXIT_OK;
    }
    for (k = 1; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--url", &val)) {
            url = val;
        } else if (node_opt_value(argc, argv, &k, "--timeout", &val)) {
            timeout = node_opt_u64("--timeout", val, 86400);
            if (timeout == 0) {
                node_die(NODE_EXIT_USAGE, "submit: --timeout at least 1");
            }
        } else if (argv[k][0] == '-') {
            node_die(NODE_EXIT_USAGE, "submit: unknown option '%s'", argv[k]);
        } else {
            from_stdin = 0;
        }
    }
    if (url == NULL) {
        node_die(NODE_EXIT_USAGE, "submit: --url is required");
    }
    if (node_http_parse_url(&h, err, url) != 0) {
        node_die(NODE_EXIT_USAGE, "%s", err);
    }
    node_http_set_timeout(&h, timeout * 1000);
    for (k = 1;;) {
        const char *tx;
        json_t *res;
        if (from_stdin) {
            size_t n;
            if (fgets(line, sizeof(line), stdin) == NULL) {
                break;
            }
            n = strlen(line);
            while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
                                line[n - 1] == ' ')) {
                line[--n] = '\0';
            }
            if (n == 0) {
                continue;
            }
            tx = line;
        } else {
            if (k >= argc) {
                break;
            }
            if (strcmp(argv[k], "--url") == 0) {
                k += 2;
                continue;
            }
            if (strncmp(argv[k], "--url=", 6) == 0) {
                k++;
                continue;
            }
            tx = argv[k++];
        }
        res = rpc(&h, err, &code, "submitTransaction", json_pack("[s]", tx));
        if (res == NULL && code == 0) {
            node_die(NODE_EXIT_RUNTIME, "submit: %s", err);
        }
        if (res == NULL) {
            printf("error %d: %s\n", code, err);
            ret = NODE_EXIT_MISMATCH;
        } else {
            printf("%s\n", json_string_value(json_object_get(res, "txid")));
            json_decref(res);
        }
        fflush(stdout);
    }
    node_http_close(&h);
    return ret;
}

/* ---- load --------------------------------------------------------------- */

static int write_genesis(const char *file, const char *seed, uint64_t n,
    uint64_t balance, uint64_t chain)
{
    json_t *accts = json_array(), *root;
    uint8_t sec[32], pub[32], fee_pub[32];
    char sbuf[300];
    uint64_t i;
    int rc;

    for (i = 0; i < n; i++) {
        snprintf(sbuf, sizeof(sbuf), "%s-%llu", seed, (unsigned long long)i);
        node_key_from_str(sec, pub, sbuf);
        json_array_append_new(accts, json_pack("{s:o, s:o, s:i}", "pubkey",
            node_json_from_hex(pub, 32), "balance",
            node_json_from_u64(balance), "nonce", 0));
    }
    snprintf(sbuf, sizeof(sbuf), "%s-fee-recipient", seed);
    node_key_from_str(sec, fee_pub, sbuf);
    memset(sec, 0, sizeof(sec));
    root = json_pack("{s:s, s:s, s:I, s:{s:o, s:o}, s:[]}", "format",
        "parex-fixture-1", "description", "parex load genesis", "chain_id",
        (json_int_t)chain, "genesis", "fee_recipient",
        node_json_from_hex(fee_pub, 32), "accounts", accts, "blocks");
    rc = node_json_write(file, root);
    json_decref(root);
    if (rc != 0) {
        node_die(NODE_EXIT_RUNTIME, "%s: cannot write: %s", file,
            strerror(errno));
    }
    return NODE_EXIT_OK;
}

typedef struct load_sender {
    uint8_t sec[32], pub[32], to[32];
    uint64_t nonce0, sent;
} load_sender;

/* Current nonces of every sender, in one batch request. Returns 0 or -1. */
/* One batch of getAccount for senders s[0..n); nonces into out. */
static int load_nonces_batch(node_http *h, char *err, load_sender *s,
    uint64_t n, uint64_t *out)
{
    json_t *batch = json_array(), *r;
    char *body, *resp = NULL, hex[65];
    size_t rl, i;
    int st, ret = -1;

    for (i = 0; i < n; i++) {
        node_hex(hex, s[i].pub, 32);
        json_array_append_new(batch, json_pack("{s:s, s:s, s:[s], s:I}",
            "jsonrpc", "2.0", "method", "getAccount", "params", hex, "id",
            (json_int_t)i));
    }
    body = json_dumps(batch, JSON_COMPACT);
    json_decref(batch);
    st = node_http_post(h, err, body, strlen(body), &resp, &rl);
    free(body);
    if (st != 200) {
        if (st > 0) {
            /* The node's JSON-RPC error says why (body too large...). */
            json_t *e = json_loadb(resp, rl, 0, NULL);
            const char *m = json_string_value(json_object_get(
                json_object_get(e, "error"), "message"));
            node_err(err, "getAccount batch of %llu: HTTP %d: %s",
                (unsigned long long)n, st, m != NULL ? m :
                "(no JSON-RPC error in the response)");
            json_decref(e);
        }
        free(resp);
        return -1;
    }
    r = json_loadb(resp, rl, 0, NULL);
    if (!json_is_array(r) || json_array_size(r) != n) {
        node_err(err, "getAccount batch: unexpected response %.200s", resp);
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_t *e = json_array_get(r, i);
        json_int_t id = json_integer_value(json_object_get(e, "id"));
        json_t *res = json_object_get(e, "result");
        if (id < 0 || (uint64_t)id >= n || res == NULL ||
            node_json_u64(&out[id], err, "getAccount", "nonce",
                json_object_get(res, "nonce")) != 0) {
            node_err(err, "getAccount batch: bad entry %.200s", resp);
            goto out;
        }
    }
    ret = 0;
out:
    json_decref(r);
    free(resp);
    return ret;
}

/* Senders per getAccount batch: about 110 bytes a request, so a batch
 * stays far below the node's default 8 MiB body limit. */
#define NONCE_BATCH 1000

static int load_nonces(node_http *h, char *err, load_sender *s, uint64_t n,
    uint64_t *out)
{
    uint64_t i;

    for (i = 0; i < n; i += NONCE_BATCH) {
        if (load_nonces_batch(h, err, s + i, n - i < NONCE_BATCH ? n - i :
                NONCE_BATCH, out + i) != 0) {
            return -1;
        }
    }
    return 0;
}

int node_cmd_load(int argc, char **argv)
{
    const char *url = NULL, *gfile = NULL, *seed = "load", *val;
    uint64_t nsend = 100, ntx = 20000, batch = 200, fee = 1, chain = 1;
    uint64_t balance = 1000000000000ULL, timeout = 300, i, j, done;
    uint64_t h0 = 0, h1 = 0, retries = 0;
    int json_out = 0, k, code, resend = 0;
    char err[NODE_ERR_LEN], sbuf[300];
    uint8_t rsec[32];
    load_sender *s;
    char **txs;
    uint64_t *nonces;
    node_http h;
    double t_sign, t0, t_sub, t1;
    json_t *res;

    if (node_wants_help(argc, argv)) {
        node_help_load(stdout);
        return NODE_EXIT_OK;
    }
    for (k = 1; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--url", &val)) {
            url = val;
        } else if (node_opt_value(argc, argv, &k, "--write-genesis", &val)) {
            gfile = val;
        } else if (node_opt_value(argc, argv, &k, "--seed", &val)) {
            seed = val;
        } else if (node_opt_value(argc, argv, &k, "--senders", &val)) {
            nsend = node_opt_u64("--senders", val, 100000);
        } else if (node_opt_value(argc, argv, &k, "--txs", &val)) {
            ntx = node_opt_u64("--txs", val, 100000000);
        } else if (node_opt_value(argc, argv, &k, "--batch", &val)) {
            batch = node_opt_u64("--batch", val, 10000);
        } else if (node_opt_value(argc, argv, &k, "--fee", &val)) {
            fee = node_opt_u64("--fee", val, 1000000);
        } else if (node_opt_value(argc, argv, &k, "--balance", &val)) {
            balance = node_opt_u64("--balance", val, UINT64_MAX);
        } else if (node_opt_value(argc, argv, &k, "--chain-id", &val)) {
            chain = node_opt_u64("--chain-id", val, UINT32_MAX);
        } else if (node_opt_value(argc, argv, &k, "--timeout", &val)) {
            timeout = node_opt_u64("--timeout", val, 86400);
        } else if (strcmp(argv[k], "--json") == 0) {
            json_out = 1;
        } else {
            node_die(NODE_EXIT_USAGE, "load: unknown argument '%s'", argv[k]);
        }
    }
    if (strlen(seed) > 200 || nsend < 2 || batch == 0) {
        node_die(NODE_EXIT_USAGE, "load: --seed at most 200 characters, "
            "--senders at least 2, --batch at least 1");
    }
    if (gfile != NULL) {
        return write_genesis(gfile, seed, nsend, balance, chain);
    }
    if (url == NULL) {
        node_die(NODE_EXIT_USAGE, "load: --url or --write-genesis is "
            "required (see parex load --help)");
    }
    if (node_http_parse_url(&h, err, url) != 0) {
        node_die(NODE_EXIT_USAGE, "%s", err);
    }
    /* No single request may take longer than the whole run may. */
    node_http_set_timeout(&h, (timeout > 0 ? timeout : 1) * 1000);
    s = node_calloc(nsend, sizeof(*s));
    nonces = node_calloc(nsend, sizeof(*nonces));
    for (i = 0; i < nsend; i++) {
        snprintf(sbuf, sizeof(sbuf), "%s-%llu", seed, (unsigned long long)i);
        node_key_from_str(s[i].sec, s[i].pub, sbuf);
        snprintf(sbuf, sizeof(sbuf), "%s-to-%llu", seed,
            (unsigned long long)i);
        node_key_from_str(rsec, s[i].to, sbuf);
    }
    memset(rsec, 0, sizeof(rsec));
    if (load_nonces(&h, err, s, nsend, nonces) != 0) {
        node_die(NODE_EXIT_RUNTIME, "load: %s", err);
    }
    res = rpc(&h, err, &code, "status", json_array());
    if (res == NULL) {
        node_die(NODE_EXIT_RUNTIME, "load: status: %s", err);
    }
    node_json_u64(&h0, err, "status", "height", json_object_get(res,
        "height"));
    json_decref(res);
    for (i = 0; i < nsend; i++) {
        s[i].nonce0 = nonces[i];
    }
    /* Sign everything first: the run measures the node, not signing. */
    t_sign = now_s();
    txs = node_calloc(ntx, sizeof(*txs));
    for (i = 0; i < ntx; i++) {
        load_sender *a = &s[i % nsend];
        txs[i] = sign_transfer(a->sec, a->pub, a->to, 1,
            a->nonce0 + a->sent++, fee, (uint32_t)chain, NULL);
    }
    t_sign = now_s() - t_sign;

    t0 = now_s();
    for (i = 0; i < ntx; i += batch) {
        uint64_t n = ntx - i < batch ? ntx - i : batch;
        node_buf body = {0};
        char *resp = NULL;
        size_t rl;
        json_t *r;
        int st;
        node_buf_put(&body, "[", 1);
        for (j = 0; j < n; j++) {
            char head[128];
            int hl = snprintf(head, sizeof(head), "%s{\"jsonrpc\":\"2.0\","
                "\"method\":\"submitTransaction\",\"id\":%llu,\"params\":"
                "[\"", j == 0 ? "" : ",", (unsigned long long)j);
            node_buf_put(&body, head, (size_t)hl);
            node_buf_put(&body, txs[i + j], strlen(txs[i + j]));
            node_buf_put(&body, "\"]}", 3);
        }
        node_buf_put(&body, "]", 1);
        st = node_http_post(&h, err, (const char *)body.p, body.len, &resp,
            &rl);
        node_buf_release(&body);
        if (st != 200) {
            node_die(NODE_EXIT_RUNTIME, "load: submit: %s",
                st < 0 ? err : "HTTP error");
        }
        r = json_loadb(resp, rl, 0, NULL);
        free(resp);
        if (!json_is_array(r) || json_array_size(r) != n) {
            node_die(NODE_EXIT_RUNTIME, "load: submit: unexpected response");
        }
        /* Txs refused because the mempool was full are sent again after
         * a pause; any other refusal ends the run. */
        {
            uint64_t first_full = n;
            for (j = 0; j < n; j++) {
                json_t *e = json_array_get(r, j);
                json_t *er = json_object_get(e, "error");
                json_int_t id = json_integer_value(json_object_get(e, "id"));
                if (er == NULL) {
                    continue;
                }
                if (resend && (json_integer_value(json_object_get(er,
                    "code")) == NODE_RPC_DUPLICATE ||
                    json_integer_value(json_object_get(er, "code")) ==
                        NODE_RPC_NONCE)) {
                    continue;   /* taken by the earlier try */
                }
                if (json_integer_value(json_object_get(er, "code")) ==
                    NODE_RPC_MEMPOOL_FULL) {
                    if ((uint64_t)id < first_full) {
                        first_full = (uint64_t)id;
                    }
                    continue;
                }
                node_die(NODE_EXIT_RUNTIME, "load: tx %llu refused: %s",
                    (unsigned long long)(i + (uint64_t)id),
                    json_string_value(json_object_get(er, "message")));
            }
            json_decref(r);
            if (first_full < n) {
                struct timespec ts = {0, 5000000};
                /* Later txs of a batch may have been taken after earlier
                 * ones were refused; resending them is harmless (they are
                 * refused as pending duplicates, then skipped below). */
                nanosleep(&ts, NULL);
                retries++;
                resend = 1;
                i = i + first_full - batch;
                continue;
            }
            resend = 0;
        }
    }
    t_sub = now_s() - t0;
    for (;;) {
        struct timespec ts = {0, 10000000};
        if (load_nonces(&h, err, s, nsend, nonces) != 0) {
            node_die(NODE_EXIT_RUNTIME, "load: %s", err);
        }
        for (i = 0, done = 0; i < nsend; i++) {
            done += nonces[i] - s[i].nonce0;
        }
        if (done >= ntx) {
            break;
        }
        if (now_s() - t0 > (double)timeout) {
            node_die(NODE_EXIT_RUNTIME, "load: timeout: %llu of %llu txs "
                "committed after %llu s", (unsigned long long)done,
                (unsigned long long)ntx, (unsigned long long)timeout);
        }
        nanosleep(&ts, NULL);
    }
    t1 = now_s() - t0;
    res = rpc(&h, err, &code, "status", json_array());
    if (res != NULL) {
        node_json_u64(&h1, err, "status", "height", json_object_get(res,
            "height"));
        json_decref(res);
    }
    if (json_out) {
        /* Seconds rounded to ms and rates to whole tx/s, as before. */
        json_t *o = json_pack("{s:I, s:I, s:I, s:f, s:f, s:f, s:I, s:I, "
            "s:I, s:I}", "txs", (json_int_t)ntx, "senders",
            (json_int_t)nsend, "batch", (json_int_t)batch, "sign_s",
            floor(t_sign * 1000 + 0.5) / 1000, "submit_s",
            floor(t_sub * 1000 + 0.5) / 1000, "total_s",
            floor(t1 * 1000 + 0.5) / 1000, "submit_tx_per_s",
            (json_int_t)floor((double)ntx / t_sub + 0.5), "tx_per_s",
            (json_int_t)floor((double)ntx / t1 + 0.5), "blocks",
            (json_int_t)(h1 - h0),
            "full_retries", (json_int_t)retries);
        char *line = o != NULL ? json_dumps(o, JSON_PRESERVE_ORDER |
            JSON_REAL_PRECISION(12)) : NULL;
        if (line == NULL) {
            node_die(NODE_EXIT_RUNTIME, "load: out of memory");
        }
        puts(line);
        free(line);
        json_decref(o);
    } else {
        printf("parex load: %llu txs from %llu senders in batches of %llu\n"
            "  signing (client)   %.3f s\n"
            "  submission         %.3f s  %.0f tx/s accepted\n"
            "  end to end         %.3f s  %.0f tx/s committed "
            "(%llu blocks, heights %llu..%llu)\n",
            (unsigned long long)ntx, (unsigned long long)nsend,
            (unsigned long long)batch, t_sign, t_sub, (double)ntx / t_sub,
            t1, (double)ntx / t1, (unsigned long long)(h1 - h0),
            (unsigned long long)h0 + 1, (unsigned long long)h1);
    }
    for (i = 0; i < ntx; i++) {
        free(txs[i]);
    }
    free(txs);
    for (i = 0; i < nsend; i++) {
        memset(s[i].sec, 0, 32);
    }
    free(s);
    free(nonces);
    node_http_close(&h);
    return NODE_EXIT_OK;
}
