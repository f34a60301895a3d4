// Shared helpers for corio's tests.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <corio/corio.hpp>

namespace corio::testing {

// Aborts the process if the enclosing scope takes longer than `limit`: a hang becomes a
// failure with a message instead of a CI timeout.
class watchdog {
public:
    explicit watchdog(std::chrono::seconds limit, const char* what = "test")
        : m_thread([this, limit, what] {
              std::unique_lock lock(m_mutex);
              if (!m_cv.wait_for(lock, limit, [this] { return m_done; })) {
                  std::fprintf(stderr, "watchdog: %s did not finish within %llds\n", what,
                               static_cast<long long>(limit.count()));
                  std::abort();
              }
          }) {}
    ~watchdog() {
        {
            std::lock_guard lock(m_mutex);
            m_done = true;
        }
        m_cv.notify_all();
        m_thread.join();
    }

private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    bool m_done = false;
    std::thread m_thread;
};

// Runs `t` on a fresh multi-thread runtime (2 workers) under a 60 s watchdog.
template <class T>
T run_mt(task<T> t, unsigned workers = 2) {
    watchdog w(std::chrono::seconds(60));
    runtime rt{{.workers = workers}};
    return rt.block_on(std::move(t));
}

// Runs `t` on a fresh current-thread runtime under a 60 s watchdog.
template <class T>
T run_ct(task<T> t) {
    watchdog w(std::chrono::seconds(60));
    auto rt = runtime::current_thread();
    return rt.block_on(std::move(t));
}

// Runs `t` on a current-thread runtime in shuffle mode with `seed` (deterministic order).
template <class T>
T run_seeded(task<T> t, std::uint64_t seed) {
    watchdog w(std::chrono::seconds(60));
    runtime_options opts;
    opts.shuffle_seed = seed;
    auto rt = runtime::current_thread(opts);
    return rt.block_on(std::move(t));
}

// Yields until `pred()` holds (at most `max` times); returns whether it held.
template <class P>
task<bool> yield_until(P pred, int max = 100'000) {
    for (int i = 0; i < max; ++i) {
        if (pred()) co_return true;
        co_await yield_now();
    }
    co_return pred();
}

}  // namespace corio::testing
