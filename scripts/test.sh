#!/usr/bin/env bash
# The whole test suite: release, AddressSanitizer + UBSan, and the concurrency tests under
# ThreadSanitizer, each configured and built from scratch if needed, then ctest's summary.
#   scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh || exit 1

jobs=$(nproc)
status=0
summary=()

# ThreadSanitizer's runtime needs the address space layout of at most 28 random mmap bits;
# newer kernels default to more. Run the TSan tests with ASLR off (inherited by ctest's children).
no_aslr=()
if command -v setarch >/dev/null && setarch "$(uname -m)" -R true 2>/dev/null; then
    no_aslr=(setarch "$(uname -m)" -R)
fi

suite() { # <preset> [ctest args...]
    local preset=$1
    shift
    echo "==== $preset: configure + build"
    if ! cmake --preset "$preset" >/dev/null || ! cmake --build --preset "$preset" -j "$jobs"; then
        summary+=("$preset: BUILD FAILED")
        status=1
        return
    fi
    echo "==== $preset: ctest $*"
    local log
    log=$(mktemp)
    local runner=()
    [ "$preset" = tsan ] && runner=("${no_aslr[@]}")
    if "${runner[@]}" ctest --preset "$preset" -j "$jobs" "$@" 2>&1 | tee "$log"; then :; fi
    if grep -q "100% tests passed" "$log"; then
        summary+=("$preset: $(grep -E '^[0-9]+% tests passed' "$log")")
    else
        summary+=("$preset: $(grep -E 'tests passed|tests failed' "$log" | tail -1)")
        status=1
    fi
    rm -f "$log"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

suite release
suite asan-ubsan
suite tsan

echo
echo "==== summary"
for line in "${summary[@]}"; do echo "  $line"; done
exit $status
