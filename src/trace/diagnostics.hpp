// The process's diagnostics thread: watches every live runtime for blocked workers and
// deadlocks, and prints task dumps when the dump signal arrives.
//
// One thread for all runtimes, started with the first one that asks and stopped with the
// last. It samples each poller's published poll count every few milliseconds: a poller whose
// count has not moved while it is inside a poll for longer than the threshold is stuck in
// that poll (the documents' "std::thread::sleep inside async").
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace corio::detail {

class scheduler_core;

class diagnostics {
public:
    static diagnostics& instance();

    void add(scheduler_core* rt);
    // Returns once the thread no longer touches `rt`.
    void remove(scheduler_core* rt) noexcept;
    // Installs the dump-signal handler (once per signal number).
    void install_signal(int signo);

private:
    struct watched {
        scheduler_core* rt;
        std::vector<std::uint64_t> last_polls;
        std::vector<unsigned> still;          // checks during which the poll count did not move
        std::vector<std::uint64_t> reported;  // poll count already reported as stuck
        bool quiet = false;
        std::uint64_t quiet_polls = 0;
        std::chrono::steady_clock::time_point quiet_since{};
    };

    diagnostics() = default;
    void run();
    void check_blocked(watched& w, std::chrono::milliseconds period);
    void check_deadlock(watched& w);
    void dump_all_on_signal();

    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::vector<watched> m_watched;  // guarded by m_mutex
    std::thread m_thread;
    bool m_running = false;
};

}  // namespace corio::detail
