// retry_timeout — retry a flaky operation with exponential backoff and a timeout per attempt,
// then pace a burst of 20 jobs with a rate limiter (50/s after a burst of 5).
#include <corio/corio.hpp>
#include <corio/rate_limiter.hpp>
#include <corio/retry.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using std::chrono::duration_cast, std::chrono::milliseconds;

int attempts = 0;

corio::task<std::string> flaky_fetch() {  // hangs once, fails twice, then answers
    int n = ++attempts;
    if (n == 1) co_await corio::sleep(10s);  // cut off by the 100 ms timeout
    if (n <= 3) throw std::runtime_error("connection reset");
    co_return "200 OK";
}

const char* what(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown error";
    }
}

corio::task<> demo() {
    const auto start = corio::clock::now();
    auto ms = [start] {
        return (long long)duration_cast<milliseconds>(corio::clock::now() - start).count();
    };

    auto policy = corio::backoff::exponential(50ms).max_delay(1s).max_attempts(5).on_retry(
        [](std::uint32_t attempt, const std::exception_ptr& e, corio::clock::duration delay) {
            std::printf("attempt %u failed (%s); retrying in %lld ms\n", attempt, what(e),
                        (long long)duration_cast<milliseconds>(delay).count());
        });
    auto attempt = [] { return corio::timeout(100ms, flaky_fetch()); };  // a deadline per attempt
    std::string reply = co_await corio::retry(std::move(policy), attempt);
    std::printf("attempt %d succeeded: %s at %lld ms\n", attempts, reply.c_str(), ms());

    corio::rate_limiter limiter{corio::quota::per_second(50).burst(5)};
    const auto paced = ms();
    for (int job = 1; job <= 20; ++job) {
        co_await limiter.until_ready();  // 5 at once, then one every 20 ms
        std::printf("job %2d starts at +%lld ms\n", job, ms() - paced);
    }
}

int main() {
    corio::run(demo());
}
