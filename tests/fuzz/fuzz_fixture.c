/* Fuzz target: fixture loading (node/formats/fixture.c), the JSON form that
 * `parex replay` reads.
 *
 * A rejected fixture gets one error sentence that names the file. An
 * accepted one yields blocks whose encodings the library can walk: every
 * block node_block_encode builds from it is either accepted by
 * parex_block_peek with the fixture's tx count, or rejected as invalid or
 * over a limit (fixtures may hold deliberately malformed "raw" txs). */
#include <string.h>

#include "fuzz.h"
#include "formats/node.h"

#define FILE_NAME "fuzz.json"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    node_fixture f;
    char err[NODE_ERR_LEN];
    size_t i;

    err[0] = '\0';
    if (node_fixture_parse(&f, err, FILE_NAME, (const char *)data, size) !=
        0) {
        FUZZ_CHECK(strncmp(err, FILE_NAME, strlen(FILE_NAME)) == 0);
        node_fixture_release(&f);
        return 0;
    }
    for (i = 0; i < f.nblocks; i++) {
        const node_fx_block *b = &f.blocks[i];
        node_buf blk = { 0 };
        parex_header h;
        parex_error_info e;
        size_t n;
        int rc;

        node_block_encode(&blk, &b->header, b->txs, b->ntx);
        rc = parex_block_peek(&h, &n, &e, blk.p, blk.len, NULL);
        if (rc == PAREX_OK) {
            FUZZ_CHECK(n == b->ntx);
            FUZZ_CHECK(h.height == b->header.height);
        } else {
            FUZZ_CHECK(rc == PAREX_E_INVALID || rc == PAREX_E_LIMIT);
        }
        node_buf_release(&blk);
    }
    node_fixture_release(&f);
    return 0;
}
