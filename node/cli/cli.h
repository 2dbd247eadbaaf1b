/* node/cli/: the commands of the `parex` program (one file per command;
 * main.c dispatches) and their command-line helpers (opt.c). Built on
 * node/formats/ and, for `bench`, node/bench/; `node` on node/daemon/
 * (left out with -Ddaemon=false).
 */
#ifndef PX_NODE_CLI_H
#define PX_NODE_CLI_H

#include "formats/node.h"

#include <stdio.h>

/* ---- the commands --------------------------------------------------- */

int node_cmd_replay(int argc, char **argv);
int node_cmd_audit(int argc, char **argv);
int node_cmd_trace(int argc, char **argv);
int node_cmd_state(int argc, char **argv);
int node_cmd_fixtures(int argc, char **argv);
int node_cmd_bench(int argc, char **argv);
int node_cmd_node(int argc, char **argv);
int node_cmd_keygen(int argc, char **argv);
int node_cmd_tx(int argc, char **argv);
int node_cmd_submit(int argc, char **argv);
int node_cmd_load(int argc, char **argv);

void node_help_main(FILE *f);
void node_help_replay(FILE *f);
void node_help_audit(FILE *f);
void node_help_trace(FILE *f);
void node_help_state(FILE *f);
void node_help_fixtures(FILE *f);
void node_help_bench(FILE *f);
void node_help_node(FILE *f);
void node_help_keygen(FILE *f);
void node_help_tx(FILE *f);
void node_help_submit(FILE *f);
void node_help_load(FILE *f);

/** Long option with a value: matches "--name VALUE" (advancing *i) and
 *  "--name=VALUE". Returns 1 and sets *val on a match; dies with a usage
 *  error when the value is missing. */
int node_opt_value(int argc, char **argv, int *i, const char *name,
    const char **val);
/** Parse an unsigned option value or die with a usage error. */
uint64_t node_opt_u64(const char *name, const char *val, uint64_t max);
/** Parse "full", "meta" or "none" or die with a usage error. */
parex_sync node_opt_sync(const char *val);

/** 1 if argv[1..] contains -h or --help. */
int node_wants_help(int argc, char **argv);

#endif /* PX_NODE_CLI_H */
