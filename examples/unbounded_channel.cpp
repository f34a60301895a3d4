// unbounded_channel — the documents' pitfall: a producer faster than its consumer fills an
// unbounded channel without limit. A bounded channel makes the producer wait instead
// (backpressure), so memory stays flat.
#include <corio/corio.hpp>

#include <algorithm>
#include <cstdio>

using namespace std::chrono_literals;

template <class Sender, class Receiver>
corio::task<std::size_t> run(Sender tx, Receiver rx) {
    std::size_t peak = 0;
    auto consumer = corio::spawn([](Receiver r) -> corio::task<> {
        while (co_await r.recv()) co_await corio::sleep(1ms);  // a slow consumer
    }(std::move(rx)));
    auto start = corio::clock::now();
    for (int i = 0; corio::clock::now() - start < 100ms; ++i) {
        co_await tx.send(i);  // unbounded: never waits
        peak = std::max(peak, tx.size());
        if (i % 64 == 0) co_await corio::yield_now();
    }
    { auto done = std::move(tx); }
    consumer.abort();  // stop draining; its recv withdraws, the rest is dropped with the channel
    try {
        co_await consumer;
    } catch (const corio::cancelled_error&) {
    }
    co_return peak;
}

corio::task<> async_main() {
    auto [utx, urx] = corio::mpsc::unbounded_channel<int>();
    std::printf("unbounded: up to %zu values queued after 100 ms\n",
                co_await run(std::move(utx), std::move(urx)));
    auto [btx, brx] = corio::mpsc::channel<int>(64);
    std::printf("bounded(64): up to %zu values queued after 100 ms\n",
                co_await run(std::move(btx), std::move(brx)));
}

int main() {
    corio::run(async_main(), {.workers = 1});
}
