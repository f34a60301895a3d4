#!/usr/bin/env bash
# Runs corio beside tokio, Go and Boost.Asio on the anchors' workloads in one interleaved
# invocation, and writes docs/BENCHMARKS.md with medians and ratios.
#
#   bench/compare.sh                      # everything (ROUNDS=5, HTTP_ROUNDS=3)
#   ROUNDS=3 ONLY="yield pingpong" bench/compare.sh
#
# corio runs as several builds in the same rotation: g++ (the default), clang-19, and g++
# without observability (-DCORIO_TRACE=0, to measure what the registry and await sites cost).
# The peers are built by ../shared/anchors/run.sh (BUILD_ONLY=1) from their own sources.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
ANCHORS=${ANCHORS:-$HERE/../shared/anchors}
OUT=${ANCHORS_OUT:-/tmp/corio-anchors}
ROUNDS=${ROUNDS:-5}
HTTP_ROUNDS=${HTTP_ROUNDS:-3}
HTTP_SECS=${HTTP_SECS:-5}
ONLY=${ONLY:-"spawn_park spawn_join yield pingpong chan_1p1c chan_4p1c timers http"}

[ -n "${SKIP_BUILD:-}" ] || {
    ANCHORS_OUT=$OUT BUILD_ONLY=1 "$ANCHORS/run.sh"
    DEBIAN_FRONTEND=noninteractive scripts/install-deps.sh clang-19
    for v in gcc:g++:1 clang:clang++-19:1 notrace:g++:0; do
        IFS=: read -r name cxx trace <<< "$v"
        cmake -S . -B "build/bench-$name" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$cxx" \
            -DCORIO_BUILD_TESTS=OFF -DCORIO_BUILD_EXAMPLES=OFF -DCMAKE_CXX_FLAGS="-DCORIO_TRACE=$trace" >/dev/null
        cmake --build "build/bench-$name" --target corio-bench
    done
}
B=$OUT/build
declare -A BIN=([tokio]=$B/anchor-tokio [go]=$B/anchor-go [asio]=$B/anchor-asio [floor]=$B/anchor-floor
                [corio]=$HERE/build/bench-gcc/bench/corio-bench [corio-clang]=$HERE/build/bench-clang/bench/corio-bench
                [corio-notrace]=$HERE/build/bench-notrace/bench/corio-bench)
declare -A N=([spawn_park]=1000000 [spawn_join]=1000000 [yield]=10000000 [pingpong]=1000000
              [chan_1p1c]=10000000 [chan_4p1c]=10000000 [timers]=100000)

RAW=$OUT/results/corio-compare-$(date -u +%Y%m%dT%H%M%SZ).txt
mkdir -p "$(dirname "$RAW")"
{
    echo "# $(date -u) cores=$(nproc) kernel=$(uname -r)"
    echo "# $(g++ --version | head -1) | $(clang++-19 --version | head -1)"
} > "$RAW"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

run_one() { # <round> <label> <binary> <args...>
    local round=$1 label=$2 bin=$3
    shift 3
    if ! /usr/bin/time -f '%M' -o "$TMP/time" "$bin" "$@" > "$TMP/out" 2> "$TMP/err"; then
        echo "FAILED label=$label args=$* round=$round: $(tail -2 "$TMP/err" | tr '\n' ' ')" | tee -a "$RAW"
        return 0
    fi
    grep '^RESULT' "$TMP/out" | sed "s/runtime=[^ ]*/runtime=$label/; s/\$/ round=$round/" | tee -a "$RAW"
}

http_one() { # <round> <label> <binary> <threads> <port>
    local round=$1 label=$2 bin=$3 threads=$4 port=$5
    local srv=() cli=()
    if [ "$threads" = 1 ]; then srv=(taskset -c 0); cli=(taskset -c 1); fi
    local mode=http
    [ "$label" = go-raw ] && mode=httpraw
    "${srv[@]}" "$bin" "$mode" "$threads" "$port" > "$TMP/srv" 2>&1 &
    local pid=$!
    for _ in $(seq 1 100); do grep -q LISTENING "$TMP/srv" 2>/dev/null && break; sleep 0.05; done
    "${cli[@]}" wrk -t1 -c64 -d1s "http://127.0.0.1:$port/" > /dev/null 2>&1 || true
    "${cli[@]}" wrk -t1 -c64 -d"${HTTP_SECS}s" --latency "http://127.0.0.1:$port/" > "$TMP/wrk" 2>&1 || true
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local rps p99
    rps=$(awk '/^Requests\/sec:/{print $2}' "$TMP/wrk")
    p99=$(awk '$1=="99%"{v=$2; n=v+0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n*1000; else print n*1e6}' "$TMP/wrk")
    echo "RESULT workload=http_hello runtime=$label server_threads=$threads rps=${rps:-NA} p99_us=${p99:-NA} round=$round" | tee -a "$RAW"
}

for wl in $ONLY; do
    echo "== $wl"
    if [ "$wl" = http ]; then
        labels=(tokio go go-raw asio corio corio-clang)
        port=18400
        for ((r = 1; r <= HTTP_ROUNDS; r++)); do
            for threads in 1 2; do
                for ((j = 0; j < ${#labels[@]}; j++)); do
                    l=${labels[$(((j + r - 1) % ${#labels[@]}))]}
                    b=${BIN[${l%-raw}]}
                    port=$((port + 1))
                    http_one "$r" "$l" "$b" "$threads" "$port"
                done
            done
        done
        continue
    fi
    labels=(tokio go asio floor corio corio-clang corio-notrace)
    for ((r = 1; r <= ROUNDS; r++)); do
        for ((j = 0; j < ${#labels[@]}; j++)); do
            l=${labels[$(((j + r - 1) % ${#labels[@]}))]}
            run_one "$r" "$l" "${BIN[$l]}" "$wl" "${N[$wl]}"
        done
    done
done

python3 bench/summarize.py "$RAW" > docs/BENCHMARKS.md
echo "== wrote docs/BENCHMARKS.md from $RAW"
