// pipeline — three stages over bounded channels: generate → square → sum.
// A full channel makes the stage before it wait (backpressure); closing flows downstream:
// when a stage's sender is destroyed, the next stage's recv() returns std::nullopt.
#include <corio/corio.hpp>

#include <cstdint>
#include <cstdio>

using corio::mpsc::receiver;
using corio::mpsc::sender;

corio::task<> generate(sender<std::uint64_t> out, std::uint64_t n) {
    for (std::uint64_t i = 1; i <= n; ++i) co_await out.send(i);
}  // `out` is destroyed here: the channel closes

corio::task<> square(receiver<std::uint64_t> in, sender<std::uint64_t> out) {
    while (auto v = co_await in.recv()) co_await out.send(*v * *v);
}

corio::task<std::uint64_t> sum(receiver<std::uint64_t> in) {
    std::uint64_t total = 0;
    while (auto v = co_await in.recv()) total += *v;
    co_return total;
}

corio::task<> async_main() {
    constexpr std::uint64_t n = 100'000;
    auto [tx1, rx1] = corio::mpsc::channel<std::uint64_t>(64);
    auto [tx2, rx2] = corio::mpsc::channel<std::uint64_t>(64);
    corio::spawn(generate(std::move(tx1), n));
    corio::spawn(square(std::move(rx1), std::move(tx2)));
    std::uint64_t total = co_await corio::spawn(sum(std::move(rx2)));
    std::printf("sum of squares 1..%llu = %llu (expected %llu)\n",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(n * (n + 1) * (2 * n + 1) / 6));
}

int main() {
    corio::run(async_main());
}
