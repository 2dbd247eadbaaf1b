# TAP helpers for the node CLI tests (sourced by the test scripts).
# run CMD...: runs it, keeps stdout in $out, stderr in $err, status in $rc.
n=0
failed=0
work=$(mktemp -d "${TMPDIR:-/tmp}/parex-node-test-XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT INT TERM
run() {
    "$@" >"$work/out" 2>"$work/err"
    rc=$?
    out=$(cat "$work/out")
    err=$(cat "$work/err")
}
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    printf '%s\n' "$2" | sed 's/^/# /' | head -20
}
# check NAME COND-RESULT DIAG: COND-RESULT is 0 for success
check() {
    if [ "$2" -eq 0 ]; then ok "$1"; else not_ok "$1" "$3"; fi
}
# expect_fail NAME RC PATTERN: last run exited RC and stderr matches PATTERN
expect_fail() {
    if [ "$rc" -eq "$2" ] && printf '%s' "$err" | grep -q -- "$3"; then
        ok "$1"
    else
        not_ok "$1" "exit $rc (want $2); stderr: $err; want /$3/"
    fi
}
finish() {
    echo "1..$n"
    [ "$failed" -eq 0 ]
    exit $?
}
