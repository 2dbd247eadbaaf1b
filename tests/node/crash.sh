#!/bin/sh
# Crash consistency of `parex replay` on LMDB. A run committing a chain of
# 240 small blocks (fixtures/chain-many-blocks.json) is killed with SIGKILL
# at a random moment, KILLS times, with varied timing, sync modes (full,
# meta, none) and thread counts (1, 2). Small blocks put most of a run's
# time into commits, so kills land inside them. After every kill:
#  - the store opens and `parex state verify` recomputes the stored root;
#  - its height is a committed block: the root is the one an uninterrupted
#    run recorded for that height (the genesis root for height 0);
#  - nothing the killed run reported as committed is lost: the height is
#    at least the last height it printed (it prints after each commit);
#  - `parex replay --resume`, on a copy, continues from there and ends at
#    the uninterrupted run's final height and root, every block as the
#    fixture expects.
# The store itself is kept and the next run resumes on it and is killed
# again, so kills also land in resumed runs; a run that finishes before
# its kill starts a fresh store.
# A run killed before it wrote its genesis may leave no store, an empty
# LMDB environment (killed between LMDB's file set-up and the first commit)
# or a store without genesis; then it must not have reported anything as
# committed, and --resume must still finish the chain from it.
#
# usage: crash.sh PAREX FIXTURE [KILLS]
# PAREX_TEST_SEED=N repeats the timings of a run (the seed is printed);
# PAREX_CRASH_KILLS=N overrides KILLS (default 50).
parex=$1
fx=$2
kills=${PAREX_CRASH_KILLS:-${3:-50}}
. "$(dirname "$0")/tap.sh"

seed=${PAREX_TEST_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "# seed: $seed (rerun with PAREX_TEST_SEED=$seed)"
name=$(basename "$fx")

now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# Heights and roots of the committed blocks in replay output, as
# "height root" lines: the genesis line and every accepted block.
roots_of() {
    awk '$2 == "genesis" && $3 == "height" { print 0, $6 }
         $2 == "block" && $4 == "height" && / root / {
             h = $5; sub(/:$/, "", h)
             for (i = 6; i < NF; i++) if ($i == "root") { print h, $(i + 1); break }
         }' "$1"
}

# Uninterrupted runs, one per sync mode: the reference roots, and how long
# a run takes, which bounds the kill delays.
for mode in none meta full; do
    t0=$(now_ms)
    "$parex" replay --sync $mode --db "$work/ref-$mode" "$fx" \
        >"$work/ref-$mode.out" 2>"$work/ref-$mode.err"
    rc=$?
    eval "dur_$mode=$(($(now_ms) - t0))"
    check "uninterrupted run, sync $mode, exits 0" "$rc" \
        "$(cat "$work/ref-$mode.err")"
    roots_of "$work/ref-$mode.out" >"$work/roots-$mode"
done
cp "$work/roots-none" "$work/roots"
cmp -s "$work/roots-none" "$work/roots-full" &&
    cmp -s "$work/roots-none" "$work/roots-meta"
check "every sync mode commits the same roots" $? ""
nroots=$(wc -l <"$work/roots")
[ "$nroots" -gt 200 ]
check "the reference committed genesis and more than 200 blocks" $? \
    "$nroots roots"
final=$(tail -n 1 "$work/roots")
echo "# runs take none ${dur_none} ms, meta ${dur_meta} ms, full ${dur_full} ms"

root_at() {
    awk -v h="$1" '$1 == h { print $2 }' "$work/roots"
}

# Kill delays come from a 31-bit LCG seeded with $seed (shell arithmetic,
# so every run of this script with one seed kills at the same moments).
rng=$((seed % 2147483648))
next_rand() {
    rng=$(((rng * 1103515245 + 12345) % 2147483648))
}

landed=0      # kills that hit a running process
attempts=0
bad=0         # kills after which some check failed
fresh=0       # stores started
store_dir=""
height=0      # height of the current store after the last kill
final_height=${final%% *}
while [ $landed -lt "$kills" ] && [ $attempts -lt $((3 * kills)) ]; do
    attempts=$((attempts + 1))
    if [ -z "$store_dir" ] || [ "$height" = none ] ||
        [ "$height" -gt $((final_height * 2 / 3)) ]; then
        fresh=$((fresh + 1))
        store_dir="$work/s$fresh"
        height=0
    fi
    case $((attempts % 3)) in
        0) mode=full; dur=$dur_full ;;
        1) mode=meta; dur=$dur_meta ;;
        *) mode=none; dur=$dur_none ;;
    esac
    threads=$((1 + (attempts / 3) % 2))
    # The delay in microseconds: one kill in eight within the first 20 ms
    # (start-up, genesis), the others anywhere in what is left of the run
    # (the blocks above the store's height), at most 300 ms in.
    w=$((dur * (final_height - height) / final_height))
    [ $w -le 300 ] || w=300
    [ $w -ge 20 ] || w=20
    next_rand
    [ $((rng % 8)) -ne 0 ] || w=20
    next_rand
    delay=$((rng % (w * 1000)))
    sec=$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))
    log="$work/run$attempts"
    "$parex" replay --resume --sync $mode --threads $threads \
        --db "$store_dir" "$fx" >"$log.out" 2>"$log.err" &
    pid=$!
    sleep "$sec"
    kill -KILL $pid 2>/dev/null
    # (The shell's "Killed" notice goes to the redirected stderr.)
    { wait $pid; } 2>/dev/null
    krc=$?
    if [ $krc -eq 0 ]; then
        # Finished before the kill: nothing to check but the end state.
        store_dir=""
        continue
    fi
    if [ $krc -ne 137 ]; then
        not_ok "run $attempts (sync $mode, $threads threads) failed by itself" \
            "exit $krc: $(cat "$log.err")"
        bad=$((bad + 1))
        store_dir=""
        continue
    fi
    landed=$((landed + 1))
    what="kill $landed (run $attempts, sync $mode, $threads threads, ${delay} us)"
    store="$store_dir/0000-$name"
    printed=$(roots_of "$log.out" | tail -n 1 | cut -d' ' -f1)
    problem=""
    if [ ! -f "$store/data.mdb" ]; then
        [ -z "$printed" ] || problem="no store, but height $printed was reported"
        height=none
    else
        "$parex" state verify --db "$store" >"$log.verify" 2>&1
        vrc=$?
        if [ $vrc -ne 0 ] && grep -q "no head block\|creation was interrupted" \
                "$log.verify"; then
            # Killed before the store's set-up or genesis committed.
            [ -z "$printed" ] || problem="no genesis, but height $printed was reported"
            height=none
        elif [ $vrc -ne 0 ]; then
            problem="state verify exits $vrc: $(cat "$log.verify")"
        else
            height=$(awk '{ print $2 }' "$log.verify")
            root=$(awk '{ print $4 }' "$log.verify")
            want=$(root_at "$height")
            if [ "$root" != "$want" ]; then
                problem="height $height has root $root, the reference ${want:-(none)}"
            elif [ -n "$printed" ] && [ "$height" -lt "$printed" ]; then
                problem="height $height, but the run reported $printed committed"
            fi
        fi
    fi
    if [ -z "$problem" ]; then
        # Replaying on from there, on a copy, reaches the reference's end.
        rm -rf "$work/copy"
        if [ -d "$store_dir" ]; then
            cp -R "$store_dir" "$work/copy"
        fi
        "$parex" replay --resume --sync none --db "$work/copy" "$fx" \
            >"$log.resume" 2>&1
        rrc=$?
        end=$(roots_of "$log.resume" | tail -n 1)
        if [ $rrc -ne 0 ]; then
            problem="replay --resume exits $rrc: $(grep -v ' ok$' "$log.resume" | tail -n 5)"
        elif [ "$end" != "$final" ]; then
            problem="replay --resume ends at '$end', the reference at '$final'"
        elif ! "$parex" state verify --db "$work/copy/0000-$name" \
                >"$log.verify2" 2>&1 ||
            [ "$(cut -d' ' -f2,4 "$log.verify2")" != "$final" ]; then
            problem="the resumed store does not verify at '$final': $(cat "$log.verify2")"
        fi
    fi
    if [ -n "$problem" ]; then
        not_ok "$what: $problem" "$(tail -n 3 "$log.out"; cat "$log.err")"
        bad=$((bad + 1))
        store_dir=""
    else
        ok "$what: store at height $height, resumed to the final root"
    fi
done
[ $landed -eq "$kills" ]
check "$landed of $kills kills landed in a running replay ($attempts runs, $fresh stores)" $? ""
[ $bad -eq 0 ]
check "no kill lost committed state or left an inconsistent store" $? "$bad bad"
finish
