#!/bin/sh
# `parex bench` on tiny workloads: the JSON lines carry every field, --zipf
# is deterministic, the dependency-graph bound, the fallback reason,
# --tx-work leaves every root as it was, the table and its summary, the
# RSS and scaling reports, --plot, the progress line stays off stdout, and
# bad options name what is wrong. No timing assertions: only counts,
# roots, identities of the bound and the presence of the figures.
# usage: bench.sh PAREX JSON_GET
parex=$1
jget=$2
. "$(dirname "$0")/tap.sh"

tiny="--accounts 10 --block-size 40 --blocks 2 --reps 1 --sync none"
fields="workload name accounts block_size blocks zipf threads sync pipeline engine_state
seq_page_faults par_page_faults reps inner min_time_ms seed
txs failed_txs batches reexecutions fallback_blocks fallback sequential_block
tx_work_us tx_work_hashes dag_bound speedup_over_bound dag_depth
seq_exec_s par_exec_s
seq_exec_min_s seq_exec_max_s par_exec_min_s par_exec_max_s seq_total_s
par_total_s exec_speedup exec_speedup_min e2e_speedup ideal_speedup tps_e2e tps_exec
seq_tps_e2e verify_us sig_bound_tps sig_bound_ratio tps_e2e_unpipelined
sig_bound_ratio_unpipelined sig_bound_tps_unpipelined projected_speedup
projected_ideal peak_rss_bytes stage_ns.decode stage_ns.verify
stage_ns.analysis stage_ns.exec stage_ns.validate stage_ns.apply
stage_ns.root stage_ns.commit bal bal_bytes bal_bytes_per_tx
prod_off_total_s prod_on_total_s prod_bal_ratio prod_bal_ratio_min
prod_bal_ratio_medians prod_pairs
state_root roots_match"

run "$parex" bench --help
check "bench --help exits 0" "$rc" "$err"
for word in --zipf --plot --rss-blocks --scaling --sync --progress \
    --tx-work --bal --details --no-pipeline --cold --min-time "signature bound" "makespan" "dependency graph" \
    "fallback" "exit status"; do
    printf '%s' "$out" | grep -q -- "$word"
    check "bench --help mentions '$word'" $? "$out"
done

# Block pipelining (the default) and --no-pipeline: the JSON says which,
# both reach the same root and failed-tx count.
run "$parex" bench $tiny --threads 2 --json --no-profile
check "bench (pipelined) exits 0" "$rc" "$err"
printf '%s\n' "$out" | "$jget" pipeline state_root failed_txs roots_match \
    >"$work/pipe-on" 2>&1
printf '%s\n' "$out" | "$jget" engine_state >"$work/warm-state" 2>&1
run "$parex" bench $tiny --threads 2 --json --no-profile --no-pipeline
check "bench --no-pipeline exits 0" "$rc" "$err"
printf '%s\n' "$out" | "$jget" pipeline state_root failed_txs roots_match \
    >"$work/pipe-off" 2>&1
grep -q '^true' "$work/pipe-on" && grep -q '^false' "$work/pipe-off"
check "bench JSON: pipeline true by default, false with --no-pipeline" $? \
    "$(cat "$work/pipe-on" "$work/pipe-off")"
[ "$(cut -f2- "$work/pipe-on")" = "$(cut -f2- "$work/pipe-off")" ] &&
    grep -q 'true$' "$work/pipe-on"
check "bench: pipelined and unpipelined runs reach the same root" $? \
    "$(cat "$work/pipe-on" "$work/pipe-off")"

# Steady state (the default) and --cold: the JSON names the method, both
# reach the same root (the warm-up is aborted, nothing of it is written).
run "$parex" bench $tiny --threads 2 --json --no-profile --cold
check "bench --cold exits 0" "$rc" "$err"
printf '%s\n' "$out" | "$jget" engine_state state_root failed_txs \
    >"$work/cold" 2>&1
grep -q '^cold' "$work/cold" && grep -q '^warm' "$work/warm-state"
check "bench JSON: engine_state warm by default, cold with --cold" $? \
    "$(cat "$work/cold" "$work/warm-state")"
printf '%s\n' "$out" | "$jget" state_root failed_txs >"$work/cold-root" 2>&1
run "$parex" bench $tiny --threads 2 --json --no-profile
printf '%s\n' "$out" | "$jget" state_root failed_txs >"$work/warm-root" 2>&1
cmp -s "$work/cold-root" "$work/warm-root" && [ -s "$work/warm-root" ]
check "bench: warm and cold runs reach the same root" $? \
    "$(cat "$work/cold-root" "$work/warm-root")"

# --min-time: how often each block runs per run, from the warm-up's
# sequential time; the repeated executions are aborted, so the root is the
# single execution's. Blocks of 40 txs take far less than 1 s: the cap.
run "$parex" bench $tiny --threads 2 --json --no-profile --min-time 0
check "bench --min-time 0 exits 0" "$rc" "$err"
printf '%s\n' "$out" | "$jget" inner state_root failed_txs \
    >"$work/inner-off" 2>&1
run "$parex" bench $tiny --threads 2 --json --no-profile --min-time 1000
check "bench --min-time 1000 exits 0" "$rc" "$err"
printf '%s\n' "$out" | "$jget" inner state_root failed_txs \
    >"$work/inner-on" 2>&1
grep -q '^1	' "$work/inner-off" && grep -q '^64	' "$work/inner-on" &&
    [ "$(cut -f2- "$work/inner-off")" = "$(cut -f2- "$work/inner-on")" ]
check "bench --min-time: inner 1 at 0, the cap 64 at 1 s, the same root" $? \
    "$(cat "$work/inner-off" "$work/inner-on")"

# --json: one object per run with every field; --progress goes to stderr.
run "$parex" bench $tiny --threads 1,2 --json --progress
check "bench --json exits 0" "$rc" "$err"
printf '%s\n' "$out" >"$work/runs.jsonl"
[ "$(printf '%s\n' "$out" | wc -l)" -eq 2 ]
check "bench --json: one line per thread count" $? "$out"
printf '%s\n' "$out" | "$jget" $fields >"$work/fields" 2>"$work/jerr"
check "bench --json: every line has every field" $? "$(cat "$work/jerr")"
printf '%s\n' "$out" | "$jget" workload threads txs sync roots_match \
    >"$work/v"
printf 'p2p\t1\t80\tnone\ttrue\np2p\t2\t80\tnone\ttrue\n' | cmp -s - "$work/v"
check "bench --json: workload, threads, txs, sync, roots" $? \
    "$(cat "$work/v")"
printf '%s' "$err" | grep -q '\[2/2\] p2p accounts=10 block=40, 2 thr'
check "bench --progress reports on stderr" $? "$err"
printf '%s\n' "$out" | grep -qv '^{'
[ $? -ne 0 ]
check "bench --progress keeps stdout JSON only" $? "$out"
printf '%s\n' "$out" | "$jget" verify_us sig_bound_tps | awk -F'\t' \
    '$1 <= 0 || $2 <= 0 { bad = 1 } END { exit bad }'
check "bench --json: signature bound measured" $? "$out"
# The bounds' cores: pipelined, every CPU verifies (the preparing threads
# take the CPUs the engine leaves); unpipelined, the engine's threads.
cpus=$(nproc)
printf '%s\n' "$out" | "$jget" threads pipeline verify_us sig_bound_tps \
    sig_bound_tps_unpipelined | awk -F'\t' -v cpus="$cpus" '
    function near(a, b) { return (a - b) ^ 2 <= (1e-6 * b) ^ 2 }
    { c = $1 < cpus ? $1 : cpus; p = $2 == "true" ? cpus : c
      if (!near($4 * $3 / 1e6, p) || !near($5 * $3 / 1e6, c)) bad = 1 }
    END { exit bad }'
check "bench --json: the pipelined bound counts every CPU, the unpipelined the engine's" \
    $? "$out"
# The projection: present, at most P at P threads, and never above the
# ideal min(P, txs / batches) by more than rounding.
printf '%s\n' "$out" | "$jget" projected_speedup.4 projected_speedup.64 \
    projected_ideal.4 projected_ideal.64 | awk -F'\t' \
    '!($1 > 0 && $1 <= 4 && $2 > 0 && $2 <= 64 && $1 <= $3 * 1.0001 &&
       $2 <= $4 * 1.0001) { bad = 1 } END { exit bad }'
check "bench --json: projected speedup within (0, ideal]" $? "$out"
printf '%s\n' "$out" | "$jget" projected_speedup projected_ideal | \
    sort -u | wc -l | grep -qx 1
check "bench --json: the projection is one per workload" $? "$out"

# The dependency-graph bound: exactly 1 at one thread (list scheduling on
# one worker is the sum), within [1, P] at P; the graph's longest chains
# are the engine's batches (the same conflict rule on the same sets).
printf '%s\n' "$out" | "$jget" threads dag_bound speedup_over_bound \
    exec_speedup dag_depth batches | awk -F'\t' '
    $1 == 1 && $2 != 1 { bad = 1 }
    $1 == 2 && !($2 >= 1 && $2 <= 2) { bad = 1 }
    $2 > 0 && ($3 - $4 / $2) ^ 2 > 1e-12 { bad = 1 }
    $5 != $6 { bad = 1 } END { exit bad }'
check "bench --json: dag_bound 1 at 1 thread, in [1, 2] at 2, depth = batches" \
    $? "$out"
# Fallback: the reason iff blocks fell back; at one thread the engine runs
# every block sequentially (parex_engine_options.min_batch_width).
printf '%s\n' "$out" | "$jget" threads fallback_blocks blocks fallback |
    awk -F'\t' '($2 == 0) != ($4 == "null") { bad = 1 }
    $1 == 1 && ($2 != $3 || $4 != "one thread") { bad = 1 }
    END { exit bad }'
check "bench --json: fallback names the reason of fallback blocks" $? "$out"
printf '%s\n' "$out" | "$jget" sequential_block tx_work_us tx_work_hashes |
    sort -u >"$work/v"
printf 'false\t0.0\t0\n' | cmp -s - "$work/v"
check "bench --json: no tx work, not a listed block" $? "$(cat "$work/v")"
# --no-profile: no projection, but the bound still (from one profiled
# pass): within [1, 2] at 2 threads, speedup / bound consistent, the
# depth the batches.
run "$parex" bench $tiny --threads 2 --json --no-profile
v=$(printf '%s\n' "$out" | "$jget" projected_speedup dag_bound \
    speedup_over_bound exec_speedup dag_depth batches)
[ "$rc" -eq 0 ] && printf '%s\n' "$v" | awk -F'\t' '
    $1 != "null" || !($2 >= 1 && $2 <= 2) { bad = 1 }
    ($3 - $4 / $2) ^ 2 > 1e-12 || $5 != $6 { bad = 1 } END { exit bad }'
check "bench --no-profile: the bound without the projection" $? "$v $err"

# --tx-work: the same state and failures with and without the extra work;
# the chain length is calibrated (positive) and reported.
wrun() {
    "$parex" bench --accounts 20 --block-size 50 --blocks 2 --reps 1 \
        --sync none --threads 1,2 --json "$@" |
        "$jget" threads txs failed_txs state_root roots_match
}
a=$(wrun)
b=$(wrun --tx-work 3)
[ -n "$a" ] && [ "$a" = "$b" ]
check "bench --tx-work 3: roots as without work" $? "$a / $b"
run "$parex" bench $tiny --threads 2 --json --no-profile --tx-work 2.5
v=$(printf '%s\n' "$out" | "$jget" tx_work_us tx_work_hashes roots_match)
[ "$rc" -eq 0 ] && printf '%s' "$v" | awk -F'\t' \
    '$1 != 2.5 || $2 < 1 || $3 != "true" { bad = 1 } END { exit bad }'
check "bench --tx-work 2.5: calibrated steps reported" $? "$v $err"
run "$parex" bench --workload hot --accounts 10 --block-size 30 --blocks 1 \
    --reps 1 --sync none --threads 2 --json --tx-work 1
h1=$(printf '%s\n' "$out" | "$jget" state_root roots_match dag_bound)
run "$parex" bench --workload hot --accounts 10 --block-size 30 --blocks 1 \
    --reps 1 --sync none --threads 2 --json
h0=$(printf '%s\n' "$out" | "$jget" state_root roots_match dag_bound)
[ -n "$h0" ] && [ "$h0" = "$h1" ] &&
    [ "$(printf '%s' "$h0" | cut -f3)" = "1.0" ]
check "bench hot --tx-work: same root; a chain's bound is 1" $? "$h0 / $h1"

# --zipf: the same seed gives the same blocks, hence the same batches and
# state root; another seed or no skew gives other blocks.
zrun() {
    "$parex" bench --accounts 50 --block-size 60 --blocks 2 --reps 1 \
        --sync none --threads 2 --json --no-profile "$@" |
        "$jget" txs batches state_root
}
a=$(zrun --zipf 1.2 --seed 7)
b=$(zrun --zipf 1.2 --seed 7)
c=$(zrun --zipf 1.2 --seed 8)
u=$(zrun --seed 7)
[ -n "$a" ] && [ "$a" = "$b" ]
check "bench --zipf is deterministic" $? "$a / $b"
[ -n "$c" ] && [ "$a" != "$c" ]
check "bench --zipf: another seed, other blocks" $? "$a / $c"
[ -n "$u" ] && [ "$a" != "$u" ]
check "bench --zipf: skewed differs from uniform" $? "$a / $u"
# Skew concentrates the txs on few accounts: more batches than uniform.
za=$(printf '%s' "$a" | cut -f2)
zu=$(printf '%s' "$u" | cut -f2)
[ "$za" -gt "$zu" ]
check "bench --zipf 1.2: more batches than uniform ($za > $zu)" $? "$a / $u"

# hot: every tx writes one key, so every tx is its own batch.
run "$parex" bench --workload hot --accounts 10 --block-size 30 --blocks 1 \
    --reps 1 --sync none --threads 2 --json --no-profile
v=$(printf '%s\n' "$out" | "$jget" txs batches ideal_speedup)
[ "$rc" -eq 0 ] && printf '%s' "$v" | awk -F'\t' \
    '$1 != 30 || $2 != 30 || $3 != 1 { bad = 1 } END { exit bad }'
check "bench hot: batches = txs, ideal 1" $? "$v $err"

# A hot block of 1,024+ txs goes to the reference on the sampled chain
# test (engine/exec/par/analysis_impl.h), before any whole-block estimate:
# roots still match, batches stay exact, the fallback says narrow.
run "$parex" bench --workload hot --accounts 10 --block-size 1100 --blocks 1 \
    --reps 1 --sync none --threads 2 --json --no-profile
v=$(printf '%s\n' "$out" | "$jget" txs batches fallback roots_match)
[ "$rc" -eq 0 ] && printf '%s' "$v" | awk -F'\t' \
    '$1 != 1100 || $2 != 1100 || $3 != "narrow" || $4 != "true" { bad = 1 }
     END { exit bad }'
check "bench hot 1100 txs: narrow early, batches = txs, roots match" $? \
    "$v $err"

# --rss-blocks: RSS after block 5 and after the last block.
run "$parex" bench --rss-blocks 12 --block-size 10 --accounts 20 \
    --threads 2 --sync none --json
check "bench --rss-blocks exits 0" "$rc" "$err"
v=$(printf '%s\n' "$out" | "$jget" mode blocks txs early_block \
    rss_early_bytes rss_last_bytes rss_growth rss_anon_early_bytes \
    rss_anon_last_bytes rss_file_early_bytes rss_file_last_bytes 2>&1)
printf '%s' "$v" | awk -F'\t' '$1 != "rss" || $2 != 12 || $3 != 120 ||
    $4 != 5 || $5 <= 0 || $6 <= 0 || $7 <= 0 || $8 <= 0 || $9 <= 0 ||
    $8 > $5 || $9 > $6 { bad = 1 } END { exit bad }'
check "bench --rss-blocks reports RSS after block 5 and 12" $? "$v"

# --scaling: the same txs in small and large blocks, time per tx of each.
run "$parex" bench --scaling --block-size 10,40 --accounts 20 --threads 2 \
    --reps 1 --sync none --json --no-profile
check "bench --scaling exits 0" "$rc" "$err"
v=$(printf '%s\n' "$out" | grep -v '"mode"' | "$jget" block_size blocks txs)
[ "$v" = "$(printf '10\t4\t40\n40\t1\t40')" ]
check "bench --scaling: equal txs at each block size" $? "$v"
v=$(printf '%s\n' "$out" | grep '"mode":"scaling"' | "$jget" \
    small_block_size large_block_size exec_ratio e2e_ratio 2>&1)
printf '%s' "$v" | awk -F'\t' '$1 != 10 || $2 != 40 || $3 <= 0 || $4 <= 0 {
    bad = 1 } END { exit bad }'
check "bench --scaling: a scaling line" $? "$v"

# --bal: BAL validation and production with recording on and off reach
# the root of the run without --bal; the BAL's size is exact for p2p
# (per tx: a 1-byte write count, two 16-byte account writes, both keys
# declared, of 1 (reference) + 1 (length) + 16 bytes, a 1-byte read count
# = 38; per block: version and count 5, the fee credit 1+32+4+16, the
# trailer's framing 8 = 66).
run "$parex" bench $tiny --threads 1,2 --json --no-profile --bal
check "bench --bal exits 0" "$rc" "$err"
printf '%s\n' "$out" | "$jget" $fields >/dev/null 2>"$work/jerr"
check "bench --bal: every line has every field" $? "$(cat "$work/jerr")"
v=$(printf '%s\n' "$out" | "$jget" bal roots_match failed_txs bal_bytes \
    state_root | sort -u)
r0=$("$parex" bench $tiny --threads 2 --json --no-profile | "$jget" \
    state_root)
[ "$v" = "$(printf 'true\ttrue\t0\t3172\t%s' "$r0")" ]
check "bench --bal: roots as without --bal, 38 bytes/tx + 66/block" $? \
    "$v / $r0"
printf '%s\n' "$out" | "$jget" bal_bytes_per_tx prod_off_total_s \
    prod_on_total_s prod_bal_ratio prod_bal_ratio_medians prod_pairs reps |
    awk -F'\t' '$1 != 39.65 || $2 <= 0 || $3 <= 0 || $4 <= 0 || $5 <= 0 ||
    $6 != 3 * $7 { bad = 1 } END { exit bad }'
check "bench --bal: bytes per tx, production times, 3 pairs per rep" $? \
    "$out"
printf '%s\n' "$out" | "$jget" prod_stage_ns.off.apply prod_stage_ns.on.apply \
    prod_stage_ns.off.commit prod_stage_ns.on.commit | awk -F'\t' '
    $1 <= 0 || $2 <= 0 || $3 <= 0 || $4 <= 0 { bad = 1 } END { exit bad }'
check "bench --bal: production's stages off and on" $? "$out"
run "$parex" bench $tiny --threads 2 --json --no-profile
printf '%s\n' "$out" | "$jget" bal bal_bytes prod_bal_ratio prod_stage_ns \
    >"$work/v"
printf 'false\tnull\tnull\tnull\n' | cmp -s - "$work/v"
check "bench without --bal: bal false, its figures null" $? \
    "$(cat "$work/v")"
a=$("$parex" bench --workload hot --accounts 10 --block-size 30 --blocks 1 \
    --reps 1 --sync none --threads 2 --json --no-profile --bal --tx-work 1 |
    "$jget" roots_match bal txs)
[ "$a" = "$(printf 'true\ttrue\t30')" ]
check "bench hot --bal --tx-work: roots match" $? "$a"
run "$parex" bench $tiny --threads 2 --no-profile --bal
printf '%s' "$out" | grep -q '^    bal: 39.6 bytes/tx (3172 bytes); production'
check "bench --bal table: the bal line under the row" $? "$out"
printf '%s' "$out" | grep -Eq '^p2p +2 +1 +80 +39.6 '
check "bench --bal table: the per-chain summary" $? "$out"
run "$parex" bench --bal --rss-blocks 5
expect_fail "bench --bal --rss-blocks" 2 "does not combine with --rss-blocks"

# Traces: one real-chain block, when the data is there.
tr=$(ls "${PAREX_TRACES:-/nonexistent}"/*/*.jsonl 2>/dev/null | head -1)
if [ -n "$tr" ]; then
    run "$parex" bench --workload trace --threads 2 --reps 1 --sync none \
        --json --no-profile "$tr"
    v=$(printf '%s\n' "$out" | "$jget" workload roots_match 2>&1)
    [ "$rc" -eq 0 ] && [ "$v" = "$(printf 'trace\ttrue')" ]
    check "bench trace: one block, roots match" $? "$v $err"
    # BAL validation of the trace block: the same root and failures.
    a=$("$parex" bench --workload trace --threads 2 --reps 1 --sync none \
        --json --no-profile "$tr" | "$jget" state_root failed_txs)
    b=$("$parex" bench --workload trace --threads 2 --reps 1 --sync none \
        --json --no-profile --bal "$tr" | "$jget" state_root failed_txs \
        roots_match)
    [ -n "$a" ] && [ "$b" = "$(printf '%s\ttrue' "$a")" ]
    check "bench trace --bal: same root and failures" $? "$a / $b"
    # The trace program under --tx-work: the same root.
    a=$("$parex" bench --workload trace --threads 2 --reps 1 --sync none \
        --json "$tr" | "$jget" state_root failed_txs dag_depth batches)
    b=$("$parex" bench --workload trace --threads 2 --reps 1 --sync none \
        --json --tx-work 2 "$tr" | "$jget" state_root failed_txs dag_depth \
        batches)
    [ -n "$a" ] && [ "$a" = "$b" ] &&
        [ "$(printf '%s' "$a" | cut -f3)" = "$(printf '%s' "$a" | cut -f4)" ]
    check "bench trace --tx-work: same root; graph depth = batches" $? \
        "$a / $b"
else
    ok "bench trace: skipped (no traces)"
    ok "bench trace --bal: skipped (no traces)"
    ok "bench trace --tx-work: skipped (no traces)"
fi
# One of the eight essentially sequential Ethereum blocks: flagged, and
# left out of the summary row without them.
sq="${PAREX_TRACES:-/nonexistent}/ethereum/5891667.jsonl"
if [ -f "$sq" ]; then
    run "$parex" bench --workload trace --threads 2 --reps 1 --sync none \
        --no-profile "$sq"
    printf '%s\n' "$out" | grep -q '^real blocks >= 100 txs  *2  *1 ' &&
        ! printf '%s\n' "$out" | grep -q '^  without the 8 sequential'
    check "bench: a sequential Ethereum block leaves the summary row" $? \
        "$out"
    run "$parex" bench --workload trace --threads 2 --reps 1 --sync none \
        --no-profile --json "$sq"
    [ "$(printf '%s\n' "$out" | "$jget" sequential_block)" = true ]
    check "bench --json: sequential_block for ethereum/5891667" $? "$out"
else
    ok "bench: sequential Ethereum block: skipped (no traces)"
    ok "bench --json: sequential_block: skipped (no traces)"
fi

# The table (no --json): the sync mode, one row per run with the bound
# and the fallback column, then one summary table; --details adds the
# stage split under each row.
run "$parex" bench $tiny --threads 1,2 --sync full
printf '%s' "$out" | grep -q 'sync=full' &&
    printf '%s' "$out" | grep -q 'signature bound' &&
    printf '%s' "$out" | grep -q '^workload .* bound  *spd/bnd fallback '
check "bench table names sync=full, the bound and the fallback column" $? \
    "$out"
[ "$(printf '%s\n' "$out" | grep -c '^p2p accounts=10 block=40 ')" -eq 2 ] &&
    printf '%s\n' "$out" | grep -q '^p2p accounts=10 block=40  *1 .* one thread ' &&
    [ "$(printf '%s\n' "$out" | grep -c '^# summary')" -eq 1 ] &&
    printf '%s\n' "$out" | grep -q '^p2p  *2  *1 ' &&
    ! printf '%s\n' "$out" | grep -q 'par stages'
check "bench table: a row per run, one summary table" $? "$out"
run "$parex" bench $tiny --threads 2 --details --no-profile
printf '%s' "$out" | grep -q 'par stages ms: decode'
check "bench --details: the stage split" $? "$out"

# --plot: a PNG when gnuplot is there; a clear error when it is not.
if command -v gnuplot >/dev/null 2>&1; then
    run "$parex" bench $tiny --threads 1,2 --no-profile --plot \
        "$work/b.png"
    head -c 4 "$work/b.png" 2>/dev/null | od -An -c | grep -q 'P   N   G'
    check "bench --plot writes a PNG" $? "$err"
    run "$parex" bench --replot "$work/runs.jsonl" --plot "$work/r.png"
    head -c 4 "$work/r.png" 2>/dev/null | od -An -c | grep -q 'P   N   G'
    check "bench --replot draws an earlier --json run" $? "$err"
else
    ok "bench --plot: skipped (no gnuplot)"
    ok "bench --replot: skipped (no gnuplot)"
fi
printf '{"workload":"p2p","name":"x","accounts":2}\n' >"$work/bad.jsonl"
run "$parex" bench --replot "$work/bad.jsonl" --plot "$work/x.png"
if command -v gnuplot >/dev/null 2>&1; then
    expect_fail "bench --replot names the file, line and field" 3 \
        "bad.jsonl:1: .*block_size"
else
    expect_fail "bench --replot without gnuplot" 4 "needs gnuplot"
fi
run "$parex" bench --replot "$work/runs.jsonl"
expect_fail "bench --replot without --plot" 2 "needs --plot"
run env PATH=/nonexistent "$parex" bench $tiny --plot "$work/c.png"
expect_fail "bench --plot without gnuplot" 4 "needs gnuplot"

# Usage errors name the option.
run "$parex" bench --zipf abc
expect_fail "bench --zipf abc" 2 "zipf: 'abc' is not a number in (0, 10\]"
run "$parex" bench --zipf 0
expect_fail "bench --zipf 0" 2 "zipf: '0'"
run "$parex" bench --zipf 11
expect_fail "bench --zipf 11" 2 "zipf: '11'"
run "$parex" bench --workload hot --zipf 1
expect_fail "bench hot --zipf" 2 "zipf is for the p2p workload"
run "$parex" bench --tx-work abc
expect_fail "bench --tx-work abc" 2 "tx-work: 'abc' is not a number"
run "$parex" bench --tx-work -1
expect_fail "bench --tx-work -1" 2 "tx-work: '-1'"
run "$parex" bench --min-time -1
expect_fail "bench --min-time -1" 2 "min-time: '-1' is not a number"
run "$parex" bench --threads 0
expect_fail "bench --threads 0" 2 "threads must be positive"
run "$parex" bench --accounts 1
expect_fail "bench --accounts 1" 2 "accounts must be at least 2"
run "$parex" bench --block-size 10,x
expect_fail "bench --block-size 10,x" 2 "option --block-size: 'x'"
run "$parex" bench --rss-blocks 0
expect_fail "bench --rss-blocks 0" 2 "rss-blocks must be positive"
run "$parex" bench --rss-blocks 5 --scaling
expect_fail "bench --rss-blocks --scaling" 2 "does not combine"
run "$parex" bench --scaling --accounts 10,20
expect_fail "bench --scaling two account counts" 2 "one --accounts value"
run "$parex" bench --workload trace --accounts 10
expect_fail "bench trace --accounts" 2 "for the p2p and hot workloads"
run "$parex" bench --workload frob
expect_fail "bench unknown workload" 2 "unknown workload 'frob'"
run "$parex" bench --frob
expect_fail "bench unknown option" 2 "unknown option '--frob'"
run "$parex" bench --sync maybe
expect_fail "bench bad --sync" 2 "option --sync"
run "$parex" bench --plot 'a"b.png'
expect_fail "bench --plot bad name" 2 "not a usable file name"
run "$parex" bench --workload p2p /nonexistent/x.jsonl
expect_fail "bench missing path" 3 "/nonexistent"

finish
