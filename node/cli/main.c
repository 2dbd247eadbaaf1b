/* The `parex` program: command dispatch and the top-level help. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void node_help_main(FILE *f)
{
    fputs(
"usage: parex COMMAND [ARGS]\n"
"\n"
"parex executes blocks of signed transactions in parallel on LMDB state,\n"
"with results identical to executing them one by one in block order.\n"
"\n"
"commands:\n"
"  replay PATH...          run fixtures (*.json) and real-chain traces\n"
"                          (*.jsonl) or directories of them, checking every\n"
"                          expectation; --check compares with the sequential\n"
"                          reference executor\n"
"  trace import FILE       turn a trace into a block (binary or JSON)\n"
"  audit PATH...           declared vs touched keys per tx, batches under\n"
"                          each (block access lists)\n"
"  state dump|get|verify|snapshot|fetch\n"
"                          read, copy or fetch a state directory\n"
"  fixtures generate       write the bundled fixtures (deterministic)\n"
"  bench [ARGS]            measure the parallel engine against the\n"
"                          sequential reference (p2p, hot, traces)\n"
"  node --db DIR --listen HOST:PORT --genesis FILE\n"
"                          run the reference node (JSON-RPC over HTTP,\n"
"                          block production, /metrics; docs/node.md)\n"
"  keygen, tx transfer, submit, load\n"
"                          the node's clients: keys, signed transfers,\n"
"                          submission, a load run\n"
"  help [COMMAND]          this text, or a command's\n"
"\n"
"declare modes (replay, trace import --declare): exact, none,\n"
"drop:P:SEED (each declared key dropped with probability P),\n"
"add:P:SEED (extra keys of the block added with probability P).\n"
"\n"
"exit status: 0 ok; 1 a verdict failed (replay mismatch, verify MISMATCH,\n"
"state get: not found); 2 usage error; 3 an input file cannot be read or\n"
"decoded; 4 storage, memory or unexpected library error.\n"
"\n"
"`parex COMMAND --help` describes each command; docs/formats.md specifies\n"
"every encoding, the fixture format and the limits.\n", f);
}

#ifndef PX_NODE_DAEMON
#define PX_NODE_DAEMON 1
#endif

#if !PX_NODE_DAEMON
/* -Ddaemon=false: the reference node and its clients are not built. */
static int no_daemon(const char *cmd)
{
    node_warn("%s: built without the daemon (meson -Ddaemon=false)", cmd);
    return NODE_EXIT_USAGE;
}
#define node_help_node(f) return no_daemon("node")
#define node_help_submit(f) return no_daemon("submit")
#define node_help_load(f) return no_daemon("load")
#define node_cmd_node(argc, argv) no_daemon("node")
#define node_cmd_submit(argc, argv) no_daemon("submit")
#define node_cmd_load(argc, argv) no_daemon("load")
#endif

static int help(int argc, char **argv)
{
    if (argc < 2) {
        node_help_main(stdout);
    } else if (strcmp(argv[1], "replay") == 0) {
        node_help_replay(stdout);
    } else if (strcmp(argv[1], "audit") == 0) {
        node_help_audit(stdout);
    } else if (strcmp(argv[1], "trace") == 0) {
        node_help_trace(stdout);
    } else if (strcmp(argv[1], "state") == 0) {
        node_help_state(stdout);
    } else if (strcmp(argv[1], "fixtures") == 0) {
        node_help_fixtures(stdout);
    } else if (strcmp(argv[1], "bench") == 0) {
        node_help_bench(stdout);
    } else if (strcmp(argv[1], "node") == 0) {
        node_help_node(stdout);
    } else if (strcmp(argv[1], "keygen") == 0) {
        node_help_keygen(stdout);
    } else if (strcmp(argv[1], "tx") == 0) {
        node_help_tx(stdout);
    } else if (strcmp(argv[1], "submit") == 0) {
        node_help_submit(stdout);
    } else if (strcmp(argv[1], "load") == 0) {
        node_help_load(stdout);
    } else {
        node_die(NODE_EXIT_USAGE, "help: unknown command '%s'", argv[1]);
    }
    return NODE_EXIT_OK;
}

/* glibc's malloc as a block pipeline needs it. LMDB mallocs the dirty
 * overflow pages of every large record at each commit and frees them
 * after it (a block record with its BAL is 0.3-3 MB), and the engine's
 * per-block buffers come and go the same way. By default glibc serves
 * allocations above a threshold that starts at 128 KiB from fresh
 * mappings and hands a freed heap top back to the kernel, so every block
 * faults in its large buffers anew: 224 faults, 0.7-0.9 ms per block for
 * solana-mainnet's 917 KB BAL on a 2-core VM (docs/benchmarks.md,
 * "Session 8"). Fixed thresholds keep up to PX_MALLOC_KEEP of such
 * buffers in the heap from block to block; larger ones (big JSON-RPC
 * replies, bodies past it) still get mappings of their own and go back
 * at free. The program's choice, not the library's: an embedder tunes
 * its own allocator. PAREX_MALLOC=default leaves glibc's defaults, for
 * comparison. */
#define PX_MALLOC_KEEP (8u << 20)
static void tune_malloc(void)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    const char *m = getenv("PAREX_MALLOC");

    if (m != NULL && strcmp(m, "default") == 0) {
        return;
    }
    (void)mallopt(M_MMAP_THRESHOLD, (int)PX_MALLOC_KEEP);
    (void)mallopt(M_TRIM_THRESHOLD, (int)(8 * PX_MALLOC_KEEP));
#endif
}

int main(int argc, char **argv)
{
    const char *cmd;

    tune_malloc();

    if (argc < 2) {
        node_help_main(stderr);
        return NODE_EXIT_USAGE;
    }
    cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        node_help_main(stdout);
        return NODE_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("parex %s\n", parex_version());
        return NODE_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0) {
        return help(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "replay") == 0) {
        return node_cmd_replay(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "audit") == 0) {
        return node_cmd_audit(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "trace") == 0) {
        return node_cmd_trace(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "state") == 0) {
        return node_cmd_state(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "fixtures") == 0) {
        return node_cmd_fixtures(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "bench") == 0) {
        return node_cmd_bench(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "node") == 0) {
        return node_cmd_node(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "keygen") == 0) {
        return node_cmd_keygen(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "tx") == 0) {
        return node_cmd_tx(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "submit") == 0) {
        return node_cmd_submit(argc - 1, argv + 1);
    }
    if (strcmp(cmd, "load") == 0) {
        return node_cmd_load(argc - 1, argv + 1);
    }
    node_die(NODE_EXIT_USAGE, "unknown command '%s' (see parex --help)", cmd);
}
