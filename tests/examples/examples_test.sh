#!/usr/bin/env bash
# Runs an example and checks how it ends.
#
#   examples_test.sh run <exit-code> <pattern>... -- <command> [args...]
#       Runs the command; passes if it exits with <exit-code> and each extended regular
#       expression matches a line of its output (stdout and stderr), in the given order.
#   examples_test.sh addr-in-use <tcp_echo_server>
#       Starts the server on 127.0.0.1:0, starts a second one on the port the first printed,
#       and passes if the second exits 1 with "Address already in use".
set -u

fail() { echo "FAIL: $*"; exit 1; }

# check_output <file> <pattern>...: each pattern matches a line after the previous match.
check_output() {
    local file=$1 line=0 pattern found
    shift
    for pattern in "$@"; do
        found=$(tail -n +$((line + 1)) "$file" | grep -n -m1 -E -- "$pattern" | cut -d: -f1)
        [[ -n $found ]] || fail "no line matching '$pattern' (in order) in the output above"
        line=$((line + found))
    done
}

run() {
    local expected=$1 patterns=() out rc
    shift
    while [[ $# -gt 0 && $1 != -- ]]; do patterns+=("$1"); shift; done
    [[ $# -gt 1 ]] || fail "usage: run <exit-code> <pattern>... -- <command> [args...]"
    shift
    out=$(mktemp) && trap "rm -f '$out'" EXIT
    timeout 60 "$@" >"$out" 2>&1
    rc=$?
    cat "$out"
    [[ $rc -eq $expected ]] || fail "exit code $rc, expected $expected"
    check_output "$out" "${patterns[@]}"
    echo "PASS"
}

addr_in_use() {
    local server=$1 log out address="" pid rc
    log=$(mktemp) && out=$(mktemp)
    timeout 60 "$server" 127.0.0.1:0 >"$log" 2>&1 &
    pid=$!
    trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f '$log' '$out'" EXIT
    for _ in $(seq 100); do
        address=$(sed -n 's/^listening on //p' "$log")
        [[ -n $address ]] && break
        kill -0 $pid 2>/dev/null || break
        sleep 0.1
    done
    [[ -n $address ]] || { cat "$log"; fail "the first server did not print 'listening on'"; }
    echo "first server: listening on $address"
    timeout 60 "$server" "$address" >"$out" 2>&1
    rc=$?
    cat "$out"
    [[ $rc -eq 1 ]] || fail "second server: exit code $rc, expected 1"
    check_output "$out" "Address already in use"
    echo "PASS"
}

case ${1:-} in
    run) shift; run "$@" ;;
    addr-in-use) shift; addr_in_use "$@" ;;
    *) fail "usage: $0 run|addr-in-use ..." ;;
esac
