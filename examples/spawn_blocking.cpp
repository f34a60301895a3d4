// spawn_blocking — move CPU-heavy work off the workers so they stay responsive.
//
// The runtime below has a single worker. Counting primes runs on the blocking pool, so that
// worker is free the whole time: the ticker keeps ticking every 100 ms until the job is done.
// (Called directly in the task, count_primes would hold the only worker and no tick would run.)
#include <corio/corio.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>

using namespace std::chrono_literals;

// Deliberately slow: trial division of every number below `limit`.
std::uint32_t count_primes(std::uint32_t limit) {
    std::uint32_t count = 0;
    for (std::uint32_t n = 2; n < limit; ++n) {
        bool prime = true;
        for (std::uint32_t d = 2; d * d <= n && prime; ++d) prime = n % d != 0;
        count += prime;
    }
    return count;
}

corio::task<> async_main() {
    constexpr std::uint32_t limit = 3'000'000;
    const auto start = corio::clock::now();
    auto job = corio::spawn_blocking([] { return count_primes(limit); });

    corio::interval every{100ms};
    co_await every.tick();  // the first tick completes at once
    int ticks = 0;
    while (!job.is_finished()) {
        co_await every.tick();
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(corio::clock::now() - start);
        std::printf("tick %d at %lld ms\n", ++ticks, static_cast<long long>(ms.count()));
    }

    const std::uint32_t primes = co_await job;  // the callable's value (or its exception)
    std::printf("primes below %u: %u (the only worker ticked %d times meanwhile)\n", limit, primes,
                ticks);
}

int main() {
    corio::run(async_main(), {.workers = 1});
}
