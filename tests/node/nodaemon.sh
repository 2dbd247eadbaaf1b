#!/bin/sh
# A parex built with -Ddaemon=false: the commands of the reference node
# and its HTTP clients say so and exit 2; the others still work.
# usage: nodaemon.sh PAREX
parex=$1
. "$(dirname "$0")/tap.sh"

for c in node submit load; do
    run "$parex" $c --url http://127.0.0.1:1
    expect_fail "parex $c: built without the daemon, exit 2" 2 \
        "built without the daemon"
    run "$parex" help $c
    expect_fail "parex help $c: built without the daemon, exit 2" 2 \
        "built without the daemon"
done
run "$parex" keygen --seed x
check "parex keygen still works" "$rc" "$err"
printf '%s' "$out" | grep -q '"pubkey"'
check "parex keygen prints a key" $? "$out"
finish
