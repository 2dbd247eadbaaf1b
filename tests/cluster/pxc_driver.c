/* A line-oriented driver of node/cluster for tests/cluster/test_cluster.py.
 *
 *   pxc-driver --endpoints URLS [--timeout MS]
 *              [--chain ID --genesis-hash HEX [--genesis HEX] --name NAME
 *               [--ttl S] [--url URL]]
 *
 * Reads one command per line on stdin and answers one line on stdout:
 * "ok ..." or "err <CODE> <message>". Bytes travel as hex ("-" = empty).
 * Without --chain only the raw etcd commands work.
 *
 *   kvput KEY HEX | kvget KEY | kvdel KEY
 *   campaign | leader | keepalive | kastart | kastop | isleader | resign
 *   append H HEX | head | read FROM MAX | wait H MS | compact BELOW
 *   genesis | quit
 *
 * If joining the chain fails the driver prints "err <CODE> <message>" and
 * exits 3.
 */
#include "cluster/order.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hexout(const uint8_t *p, size_t n)
{
    size_t i;

    if (n == 0) {
        fputc('-', stdout);
    }
    for (i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

/* Decode hex ("-" = empty) into a malloc'd buffer; NULL if malformed. */
static uint8_t *unhex(const char *s, size_t *n)
{
    size_t len = strlen(s), i;
    uint8_t *out;

    *n = 0;
    if (strcmp(s, "-") == 0) {
        return calloc(1, 1);
    }
    if (len % 2 != 0) {
        return NULL;
    }
    out = malloc(len / 2 + 1);
    for (i = 0; out != NULL && i < len / 2; i++) {
        unsigned v;
        if (sscanf(s + 2 * i, "%2x", &v) != 1) {
            free(out);
            return NULL;
        }
        out[i] = (uint8_t)v;
    }
    *n = len / 2;
    return out;
}

static int reply_err(int rc, const char *msg)
{
    printf("err %s %s\n", pxc_code_name(rc), msg);
    return rc;
}

int main(int argc, char **argv)
{
    pxc_config cfg;
    const char *endpoints = NULL, *ghash = NULL, *gen = NULL;
    uint8_t *hash = NULL, *genesis = NULL;
    size_t hash_len = 0, genesis_len = 0;
    pxc_chain *c = NULL;
    node_etcd *e = NULL;
    char err[PXC_ERR_LEN], line[1 << 16];
    int i, rc;

    memset(&cfg, 0, sizeof cfg);
    for (i = 1; i + 1 < argc; i += 2) {
        const char *a = argv[i], *v = argv[i + 1];
        if (strcmp(a, "--endpoints") == 0) {
            endpoints = v;
        } else if (strcmp(a, "--timeout") == 0) {
            cfg.timeout_ms = atol(v);
        } else if (strcmp(a, "--chain") == 0) {
            cfg.chain_id = v;
        } else if (strcmp(a, "--genesis-hash") == 0) {
            ghash = v;
        } else if (strcmp(a, "--genesis") == 0) {
            gen = v;
        } else if (strcmp(a, "--name") == 0) {
            cfg.node_name = v;
        } else if (strcmp(a, "--ttl") == 0) {
            cfg.lease_ttl_s = atoll(v);
        } else if (strcmp(a, "--url") == 0) {
            cfg.advertise_url = v;
        } else {
            fprintf(stderr, "pxc-driver: unknown option %s\n", a);
            return 2;
        }
    }
    if (i != argc || endpoints == NULL) {
        fprintf(stderr, "pxc-driver: usage: see the file's header\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    rc = node_etcd_create(&e, endpoints,
                          cfg.timeout_ms ? cfg.timeout_ms
                                         : PXC_DEFAULT_TIMEOUT_MS, err);
    if (rc != NODE_ETCD_OK) {
        reply_err(rc, err);
        return 3;
    }
    if (cfg.chain_id != NULL) {
        cfg.endpoints = endpoints;
        hash = ghash ? unhex(ghash, &hash_len) : NULL;
        genesis = gen ? unhex(gen, &genesis_len) : NULL;
        cfg.genesis_hash = hash;
        cfg.genesis_hash_len = hash_len;
        cfg.genesis = genesis;
        cfg.genesis_len = genesis_len;
        rc = pxc_open(&c, &cfg, err);
        if (rc != PXC_OK) {
            reply_err(rc, err);
            node_etcd_destroy(e);
            free(hash);
            free(genesis);
            return 3;
        }
        printf("ok joined %s\n", pxc_prefix(c));
    } else {
        printf("ok raw\n");
    }

    while (fgets(line, sizeof line, stdin) != NULL) {
        char cmd[32] = "", a1[1 << 15] = "", a2[1 << 15] = "";
        int nf;

        line[strcspn(line, "\r\n")] = '\0';
        nf = sscanf(line, "%31s %32767s %32767s", cmd, a1, a2);
        if (nf < 1) {
            continue;
        }
        if (strcmp(cmd, "quit") == 0) {
            printf("ok bye\n");
            break;
        }
        if (strncmp(cmd, "kv", 2) == 0) {
            if (nf < 2) {
                printf("err E_INVALID missing key\n");
            } else if (strcmp(cmd, "kvput") == 0) {
                size_t n;
                uint8_t *v = unhex(nf > 2 ? a2 : "-", &n);
                int64_t rev = 0;
                rc = v ? node_etcd_put(e, a1, strlen(a1), v, n, 0, &rev)
                       : NODE_ETCD_E_INVALID;
                if (rc == NODE_ETCD_OK) {
                    printf("ok rev=%lld\n", (long long)rev);
                } else {
                    reply_err(rc, v ? node_etcd_errmsg(e) : "bad hex");
                }
                free(v);
            } else if (strcmp(cmd, "kvget") == 0) {
                node_etcd_kv kv;
                rc = node_etcd_get(e, a1, strlen(a1), &kv);
                if (rc == NODE_ETCD_OK) {
                    printf("ok ");
                    hexout(kv.value, kv.value_len);
                    printf(" create=%lld\n", (long long)kv.create_revision);
                    node_etcd_kv_release(&kv);
                } else {
                    reply_err(rc, node_etcd_errmsg(e));
                }
            } else if (strcmp(cmd, "kvdel") == 0) {
                int64_t n = 0;
                rc = node_etcd_delete(e, a1, strlen(a1), NULL, 0, &n);
                if (rc == NODE_ETCD_OK) {
                    printf("ok deleted=%lld\n", (long long)n);
                } else {
                    reply_err(rc, node_etcd_errmsg(e));
                }
            } else {
                printf("err E_INVALID unknown command %s\n", cmd);
            }
            continue;
        }
        if (c == NULL) {
            printf("err E_INVALID %s needs --chain\n", cmd);
            continue;
        }
        if (strcmp(cmd, "campaign") == 0 || strcmp(cmd, "leader") == 0) {
            pxc_leader l;
            bool won = false;
            rc = cmd[0] == 'c' ? pxc_campaign(c, &won, &l)
                               : pxc_leader_get(c, &l);
            if (rc == PXC_OK) {
                printf("ok won=%d held=%d name=%s term=%lld url=%s\n", won,
                       l.held, l.held ? l.name : "-", (long long)l.term,
                       l.url[0] ? l.url : "-");
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else if (strcmp(cmd, "keepalive") == 0) {
            rc = pxc_keepalive(c);
            if (rc == PXC_OK) {
                printf("ok\n");
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else if (strcmp(cmd, "kastart") == 0) {
            rc = pxc_keepalive_start(c);
            if (rc == PXC_OK) {
                printf("ok\n");
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else if (strcmp(cmd, "kastop") == 0) {
            pxc_keepalive_stop(c);
            printf("ok\n");
        } else if (strcmp(cmd, "isleader") == 0) {
            printf("ok %d term=%lld\n", pxc_is_leader(c),
                   (long long)pxc_term(c));
        } else if (strcmp(cmd, "resign") == 0) {
            rc = pxc_resign(c);
            if (rc == PXC_OK) {
                printf("ok\n");
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else if (strcmp(cmd, "append") == 0 && nf == 3) {
            size_t n;
            uint8_t *v = unhex(a2, &n);
            rc = v ? pxc_append(c, strtoull(a1, NULL, 10), v, n)
                   : PXC_E_INVALID;
            if (rc == PXC_OK) {
                printf("ok\n");
            } else {
                reply_err(rc, v ? pxc_errmsg(c) : "bad hex");
            }
            free(v);
        } else if (strcmp(cmd, "head") == 0) {
            uint64_t h, lo;
            rc = pxc_head(c, &h, &lo);
            if (rc == PXC_OK) {
                printf("ok head=%" PRIu64 " low=%" PRIu64 "\n", h, lo);
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else if (strcmp(cmd, "read") == 0 && nf == 3) {
            pxc_block *b;
            size_t n, k;
            rc = pxc_read(c, strtoull(a1, NULL, 10),
                          (size_t)strtoull(a2, NULL, 10), &b, &n);
            if (rc == PXC_OK) {
                printf("ok n=%zu", n);
                for (k = 0; k < n; k++) {
                    printf(" %" PRIu64 ":", b[k].height);
                    hexout(b[k].bytes, b[k].len);
                }
                printf("\n");
                pxc_blocks_free(b, n);
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else if (strcmp(cmd, "wait") == 0 && nf == 3) {
            rc = pxc_wait(c, strtoull(a1, NULL, 10), atol(a2));
            if (rc == PXC_OK) {
                printf("ok\n");
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else if (strcmp(cmd, "compact") == 0 && nf == 2) {
            uint64_t lo;
            rc = pxc_compact(c, strtoull(a1, NULL, 10), &lo);
            if (rc == PXC_OK) {
                printf("ok low=%" PRIu64 "\n", lo);
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else if (strcmp(cmd, "genesis") == 0) {
            uint8_t *g;
            size_t n;
            rc = pxc_genesis(c, &g, &n);
            if (rc == PXC_OK) {
                printf("ok ");
                hexout(g, n);
                printf("\n");
                free(g);
            } else {
                reply_err(rc, pxc_errmsg(c));
            }
        } else {
            printf("err E_INVALID unknown command or arguments: %s\n", line);
        }
    }
    pxc_close(c);
    node_etcd_destroy(e);
    free(hash);
    free(genesis);
    return 0;
}
