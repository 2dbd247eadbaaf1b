/* `parex trace import`: a trace file as a block, binary or JSON. */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void node_help_trace(FILE *f)
{
    fputs(
"usage: parex trace import FILE.jsonl [--declare MODE] [--chain-id N]\n"
"                          [--out FILE] [--json] [--bal]\n"
"\n"
"Turn a real-chain trace (JSON Lines, ../shared/data/README.md) into a\n"
"block on an empty genesis: height 1, parent = hash of the genesis header,\n"
"roots all zero (not claimed), fee recipient the key of seed\n"
"\"parex-trace-fee-recipient\". Line i becomes a `trace` program tx (id 2)\n"
"signed by signer i = parex_key_from_seed(\"parex-trace-signer\" || u64le i),\n"
"nonce 0, fee 0, args = u32le len || id || u32le nR || R || u32le nW || W\n"
"with every key SHA-256 of its string (docs/formats.md).\n"
"\n"
"options:\n"
"  --declare MODE   exact (default), none, drop:P:SEED, add:P:SEED (see\n"
"                   parex replay --help and docs/formats.md)\n"
"  --chain-id N     chain id of the txs (default 1)\n"
"  --json           write the JSON block form instead of the binary one\n"
"  --bal            execute the block on a scratch store and seal it with\n"
"                   its block access list (the binary trailer, or the JSON\n"
"                   form's \"bal\" field; docs/formats.md)\n"
"  --out FILE       write to FILE instead of stdout (binary output is not\n"
"                   written to a terminal)\n"
"\n"
"Errors name the line and field, e.g.\n"
"  t.jsonl:3: field 'w' must be an array of strings\n"
"exit status: 0 ok; 2 usage error; 3 the trace cannot be read or decoded;\n"
"4 library or I/O error.\n", f);
}

static int write_all(FILE *f, const void *p, size_t n)
{
    return fwrite(p, 1, n, f) == n ? 0 : -1;
}

int node_cmd_trace(int argc, char **argv)
{
    const char *file = NULL;
    const char *out = NULL;
    const char *declare = "exact";
    const char *val;
    uint32_t chain_id = 1;
    int as_json = 0, with_bal = 0;
    uint8_t *bal = NULL;
    size_t bal_len = 0;
    node_declare d;
    node_trace t;
    node_txbytes *txs;
    parex_tx *views;
    parex_header g, h;
    node_buf mine = {0};
    uint8_t *bin;
    size_t len = 0;
    char err[NODE_ERR_LEN];
    FILE *f;
    size_t i;
    int k, rc;

    if (argc < 2 || node_wants_help(argc, argv)) {
        node_help_trace(argc < 2 ? stderr : stdout);
        return argc < 2 ? NODE_EXIT_USAGE : NODE_EXIT_OK;
    }
    if (strcmp(argv[1], "import") != 0) {
        node_die(NODE_EXIT_USAGE, "trace: unknown subcommand '%s' (see parex "
            "trace --help)", argv[1]);
    }
    for (k = 2; k < argc; k++) {
        if (node_opt_value(argc, argv, &k, "--declare", &val)) {
            declare = val;
        } else if (node_opt_value(argc, argv, &k, "--out", &val)) {
            out = val;
        } else if (node_opt_value(argc, argv, &k, "--chain-id", &val)) {
            chain_id = (uint32_t)node_opt_u64("--chain-id", val, UINT32_MAX);
        } else if (strcmp(argv[k], "--json") == 0) {
            as_json = 1;
        } else if (strcmp(argv[k], "--bal") == 0) {
            with_bal = 1;
        } else if (argv[k][0] == '-' && argv[k][1] != '\0') {
            node_die(NODE_EXIT_USAGE, "trace import: unknown option '%s'",
                argv[k]);
        } else if (file == NULL) {
            file = argv[k];
        } else {
            node_die(NODE_EXIT_USAGE, "trace import: one FILE only");
        }
    }
    if (file == NULL) {
        node_die(NODE_EXIT_USAGE, "trace import: FILE.jsonl is required");
    }
    if (node_declare_parse(&d, err, declare) != 0) {
        node_die(NODE_EXIT_USAGE, "trace import: %s", err);
    }
    if (node_trace_load(&t, err, file) != 0) {
        node_die(NODE_EXIT_INPUT, "%s", err);
    }
    if (node_trace_txs(&txs, err, file, &t, &d, chain_id) != 0) {
        node_die(NODE_EXIT_RUNTIME, "%s", err);
    }
    node_trace_genesis_header(&g);
    node_trace_header(&h, &g);

    /* Decoded views for parex_block_encode and the JSON form. */
    views = node_calloc(t.n, sizeof(*views));
    for (i = 0; i < t.n; i++) {
        parex_error_info ei;
        rc = parex_tx_decode(&views[i], &ei, txs[i].p, txs[i].len, NULL);
        if (rc != PAREX_OK) {
            node_die(NODE_EXIT_INPUT, "%s: tx %zu: over a default limit or "
                "malformed: field '%s': %s", file, i, ei.field, ei.message);
        }
    }
    rc = parex_block_encode(NULL, &len, &h, views, t.n);
    if (rc != PAREX_E_BUFFER && rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: parex_block_encode: %s", file,
            parex_strerror(rc));
    }
    bin = node_malloc(len);
    rc = parex_block_encode(bin, &len, &h, views, t.n);
    if (rc != PAREX_OK) {
        node_die(NODE_EXIT_RUNTIME, "%s: parex_block_encode: %s", file,
            parex_strerror(rc));
    }
    /* replay builds the same bytes without the library's encoder. */
    node_block_encode(&mine, &h, txs, t.n);
    if (mine.len != len || memcmp(mine.p, bin, len) != 0) {
        node_die(NODE_EXIT_RUNTIME, "%s: parex_block_encode and node's block "
            "encoding differ", file);
    }
    if (with_bal) {
        uint8_t fee[32];
        node_trace_fee_recipient(fee);
        if (node_bal_record(&bal, &bal_len, err, bin, len, NULL, 0, fee,
                chain_id, 1) != 0) {
            node_die(NODE_EXIT_RUNTIME, "%s: %s", file, err);
        }
        node_block_attach_bal(&mine, bin, len, bal, bal_len);
        free(bin);
        bin = node_malloc(mine.len);
        memcpy(bin, mine.p, mine.len);
        len = mine.len;
    }
    if (!as_json && out == NULL && isatty(STDOUT_FILENO)) {
        node_die(NODE_EXIT_USAGE, "trace import: refusing to write binary "
            "to a terminal; use --out FILE or --json");
    }
    f = out == NULL ? stdout : fopen(out, "wb");
    if (f == NULL) {
        node_die(NODE_EXIT_RUNTIME, "%s: %s", out, strerror(errno));
    }
    if (as_json) {
        json_t *o = json_object();
        json_t *a = json_array();
        json_object_set_new(o, "header", node_header_to_json(&h, 1));
        for (i = 0; i < t.n; i++) {
            json_array_append_new(a, node_tx_to_json(&views[i]));
        }
        json_object_set_new(o, "txs", a);
        if (bal != NULL) {
            char *hx = node_malloc(2 * bal_len + 1);
            node_hex(hx, bal, bal_len);
            json_object_set_new(o, "bal", json_string(hx));
            free(hx);
        }
        rc = json_dumpf(o, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        if (rc == 0 && fputc('\n', f) == EOF) {
            rc = -1;
        }
        json_decref(o);
    } else {
        rc = write_all(f, bin, len);
    }
    if ((out != NULL ? fclose(f) : fflush(f)) != 0) {
        rc = -1;
    }
    if (rc != 0) {
        node_die(NODE_EXIT_RUNTIME, "%s: write failed: %s",
            out == NULL ? "stdout" : out, strerror(errno));
    }
    free(bin);
    free(bal);
    free(views);
    node_buf_release(&mine);
    node_txs_free(txs, t.n);
    node_trace_release(&t);
    return NODE_EXIT_OK;
}
