// async_recursion — a task that awaits itself a million levels deep.
//
// Awaiting a task transfers control to it symmetrically (and back when it completes), so a
// chain of nested awaits costs one heap frame per level (about 200 bytes) and no thread
// stack: the depth is bounded by memory, not by the thread's 8 MB stack.
#include <corio/corio.hpp>

#include <cstdint>
#include <iostream>

// 1 + 2 + ... + n, with one nested co_await per term. A million levels are a lot of work
// for one poll, so every 65536 levels the chain yields to let other tasks run (a task that
// holds its worker for more than 100 ms is reported by corio's blocked-worker watchdog).
corio::task<std::uint64_t> sum_to(std::uint64_t n) {
    if (n == 0) co_return 0;
    if (n % 65536 == 0) co_await corio::yield_now();
    co_return n + co_await sum_to(n - 1);
}

corio::task<int> async_main() {
    constexpr std::uint64_t depth = 1'000'000;
    const std::uint64_t sum = co_await sum_to(depth);
    const bool ok = sum == depth * (depth + 1) / 2;
    std::cout << "sum_to(" << depth << ") = " << sum << " through " << depth
              << " nested awaits: " << (ok ? "ok" : "WRONG") << '\n';
    co_return ok ? 0 : 1;
}

int main() {
    return corio::run(async_main());
}
