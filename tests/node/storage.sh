#!/bin/sh
# Storage failures through the CLI: a full map, missing, foreign, damaged
# and unwritable state directories, and --resume misuse. Each must exit 4
# (or 1 for a store of another file) with a message naming the store and
# the PAREX_E_* code, and leave what was committed as it was.
# usage: storage.sh PAREX FIXTURES_DIR
parex=$1
fx=$2
. "$(dirname "$0")/tap.sh"

chain="$fx/chain-many-blocks.json"
name=chain-many-blocks.json

# A map too small for the whole chain: the commit that does not fit fails
# with PAREX_E_MAPFULL, the store keeps every block before it, and
# --resume with a larger map finishes the chain with the reference roots.
run "$parex" replay --sync none --db "$work/ref" "$chain"
check "reference run exits 0" "$rc" "$err"
final=$(printf '%s\n' "$out" | awk '/ block / && / root / {r = $13} END {print r}')
run "$parex" replay --sync none --map-size 200000 --db "$work/small" "$chain"
expect_fail "a full map exits 4 naming PAREX_E_MAPFULL" 4 \
    "block [0-9]*: execution failed: state store map is full (PAREX_E_MAPFULL"
expect_fail "the map-full message says what to do" 4 \
    "larger --map-size and --resume"
last=$(printf '%s\n' "$out" | awk '/ block / && / root / {h = $5; r = $13}
    END {sub(/:$/, "", h); print h, r}')
run "$parex" state verify --db "$work/small/0000-$name"
check "after map full the store verifies" "$rc" "$out $err"
[ "$(printf '%s' "$out" | awk '{print $2, $4}')" = "$last" ]
check "after map full the head is the last block reported committed" $? \
    "verify: $out; last reported: $last"
run "$parex" replay --sync none --map-size 200000 --resume --db "$work/small" \
    "$chain"
expect_fail "resuming with the same small map fails the same way" 4 \
    "PAREX_E_MAPFULL"
run "$parex" state verify --db "$work/small/0000-$name"
[ "$(printf '%s' "$out" | awk '{print $2, $4}')" = "$last" ]
check "a second map-full failure changes nothing" $? "$out"
run "$parex" replay --sync none --resume --db "$work/small" "$chain"
check "--resume with the default map finishes the chain" "$rc" "$err"
printf '%s\n' "$out" | grep -q "skipped .* committed before"
check "--resume skips the committed blocks" $? "$out"
run "$parex" state verify --db "$work/small/0000-$name"
printf '%s' "$out" | grep -q "root $final ok"
check "the resumed store ends at the reference root" $? "$out (want $final)"

# --resume checks that the store holds this file's chain.
mkdir -p "$work/other"
cp -R "$work/small/0000-$name" "$work/other/0000-chain-multi-block.json"
run "$parex" replay --resume --sync none --db "$work/other" \
    "$fx/chain-multi-block.json"
check "--resume on another file's store exits 1" "$([ $rc -eq 1 ]; echo $?)" \
    "exit $rc: $err"
printf '%s' "$out$err" | grep -q "genesis stored in .* is not this file's"
check "--resume names the genesis mismatch" $? "$out $err"
run "$parex" replay --resume "$chain"
expect_fail "--resume without --db is a usage error" 2 "--resume needs --db"
run "$parex" replay --resume --check --db "$work/x" "$chain"
expect_fail "--resume with --check is a usage error" 2 "cannot be combined"
run "$parex" replay --map-size lots "$chain"
expect_fail "bad --map-size" 2 "option --map-size"

# Missing and foreign state directories.
run "$parex" state verify --db "$work/does-not-exist"
expect_fail "a missing directory exits 4 with PAREX_E_IO" 4 \
    "does-not-exist.*No such file or directory.*PAREX_E_IO"
mkdir "$work/foreign"
head -c 20000 "$chain" >"$work/foreign/data.mdb"
cp "$work/foreign/data.mdb" "$work/foreign.bak"
run "$parex" state verify --db "$work/foreign"
expect_fail "a foreign data.mdb exits 4 with PAREX_E_CORRUPT" 4 \
    "foreign.*PAREX_E_CORRUPT"
mkdir -p "$work/foreign-parent/0000-$name"
cp "$work/foreign.bak" "$work/foreign-parent/0000-$name/data.mdb"
run "$parex" replay --resume --sync none --db "$work/foreign-parent" "$chain"
expect_fail "replay --resume on a foreign data.mdb exits 4" 4 \
    "PAREX_E_CORRUPT"
cmp -s "$work/foreign.bak" "$work/foreign/data.mdb" &&
    cmp -s "$work/foreign.bak" "$work/foreign-parent/0000-$name/data.mdb"
check "a foreign data.mdb is left byte for byte as it was" $? ""

# A truncated data.mdb: refused before LMDB could read past its end
# (which would be SIGBUS), and left as it was.
mkdir "$work/trunc"
head -c 16384 "$work/ref/0000-$name/data.mdb" >"$work/trunc/data.mdb"
cp "$work/trunc/data.mdb" "$work/trunc.bak"
run "$parex" state verify --db "$work/trunc"
expect_fail "a truncated data.mdb exits 4 with PAREX_E_CORRUPT" 4 \
    "data.mdb is truncated.*PAREX_E_CORRUPT"
cmp -s "$work/trunc.bak" "$work/trunc/data.mdb"
check "a truncated data.mdb is left as it was" $? ""

# A store in a directory we may not write. Root ignores permissions, so
# as root the commands run as nobody (setpriv, util-linux).
cp -R "$work/ref/0000-$name" "$work/ro"
chmod 0555 "$work/ro"
chmod 0444 "$work/ro/data.mdb"
chmod 0755 "$work"
cp "$work/ro/data.mdb" "$work/ro.bak"
as=""
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null 2>&1 &&
        setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
        as="setpriv --reuid=65534 --regid=65534 --clear-groups"
    else
        as=skip
    fi
fi
if [ "$as" = skip ]; then
    ok "# SKIP unwritable store: running as root without setpriv"
else
    run $as "$parex" state verify --db "$work/ro"
    expect_fail "verify on an unwritable directory exits 4 with PAREX_E_IO" 4 \
        "ro.*Permission denied.*PAREX_E_IO"
    mkdir -p "$work/roparent"
    chmod 0755 "$work/roparent"
    mv "$work/ro" "$work/roparent/0000-$name"
    run $as "$parex" replay --resume --sync none --db "$work/roparent" "$chain"
    expect_fail "replay --resume on an unwritable store exits 4" 4 \
        "Permission denied.*PAREX_E_IO"
    cmp -s "$work/ro.bak" "$work/roparent/0000-$name/data.mdb"
    check "an unwritable store is left as it was" $? ""
    chmod -R u+w "$work/roparent"
fi
finish
