#!/usr/bin/env bash
# The showcase: builds corio (release), runs every example, then prints the documents'
# performance table for corio (memory per task, context switch, spawn cost, timers).
#   scripts/showcase.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh

cmake --preset release >/dev/null
cmake --build --preset release

bin=build/release/examples
run() { echo; echo "\$ $*"; "$@"; }
run "$bin/hello_sleep"
run "$bin/fan_out"
run "$bin/async_recursion"
run "$bin/spawn_blocking"
run "$bin/read_file"
run "$bin/tcp_echo_server" 127.0.0.1:0 --self-test
run "$bin/channel_done"
run "$bin/join_sum"
run "$bin/fan_in_join_set"
run "$bin/select_cancel"
run "$bin/pipeline"
run "$bin/semaphore_jobs"
run "$bin/counter_generator"
run "$bin/retry_timeout"
run "$bin/cancel_safety"
run "$bin/unbounded_channel"
run "$bin/async_cleanup"
run "$bin/diagnose_blocking"
run "$bin/diagnose_deadlock"
run "$bin/metrics_endpoint" 127.0.0.1:0 --self-test
echo
build/release/bench/corio-bench table
