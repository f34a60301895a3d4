// cancel_safety — what select does to the operation that loses. A losing recv takes no
// message (it is still in the channel for the next recv); a losing acquire holds no permit.
#include <corio/corio.hpp>

#include <cstdio>

using namespace std::chrono_literals;

corio::task<> async_main() {
    auto [tx, rx] = corio::mpsc::channel<int>(4);
    corio::semaphore permits{0};

    // Nothing arrives in time: the timer wins, the recv is withdrawn.
    auto r = co_await corio::select(rx.recv(), corio::sleep(20ms));
    std::printf("first select: branch %zu won (the sleep)\n", r.index());

    // The message arrives after that select gave up: it was not lost.
    co_await tx.send(42);
    auto msg = co_await rx.recv();
    std::printf("the next recv still gets %d\n", *msg);

    // A losing acquire holds nothing: a permit released afterwards is there for the taking.
    auto s = co_await corio::select(permits.acquire(), corio::sleep(10ms));
    permits.release();
    std::printf("acquire lost (branch %zu): %zu permit available afterwards\n", s.index(),
                permits.available_permits());
}

int main() {
    corio::run(async_main());
}
