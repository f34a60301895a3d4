// corio/trace.hpp — seeing into a running runtime: task dumps, metrics, diagnostics.
//
//     std::cout << rt.dump();        // every live task: id, name, spawn site, state, what it
//                                    // waits on and where, its async backtrace
//     auto m = rt.metrics();         // per-worker polls, steals, parks, busy time; totals
//     std::cout << rt.metrics_prometheus();
//
// Diagnostics (runtime_options): a worker stuck in one poll longer than
// blocked_worker_threshold is reported (default: a line on stderr); block_on throws
// corio::deadlock_error when every task waits and nothing can ever wake one; a runtime
// destroyed with live tasks lists them; an opt-in signal (dump_signal = SIGQUIT, as Go)
// prints every runtime's dump to stderr; metrics_address serves Prometheus text.
//
// Safe from any thread while the runtime runs. A dump briefly pins each parked task (its
// next poll waits a few microseconds); running tasks, and tasks that yielded and wait in a
// run queue (a yield takes no atomic RMW, so they cannot be pinned), are listed without
// their details.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace corio {

// A code location (std::source_location, copied).
struct code_location {
    std::string file;
    unsigned line = 0;
    std::string function;
    std::string to_string() const;  // "file:line in function"
};

enum class task_status {
    running,    // being polled by a worker now
    scheduled,  // in a run queue
    waiting,    // parked in an await
    done,       // finished; kept alive by a join_handle
};
const char* to_string(task_status s) noexcept;

struct task_info {
    std::uint64_t id = 0;
    std::string name;  // spawn_options::name, or ""
    code_location spawned_at;
    task_status status = task_status::scheduled;
    bool blocking_job = false;  // a spawn_blocking job
    // For a waiting task:
    std::string waiting_on;                   // "mpsc::recv (channel 0x..., 0 queued, 2 senders)"
    std::string wait_kind;                    // "channel", "timer", "io", "lock", ...
    std::vector<std::uint64_t> wait_holders;  // tasks that could end the wait, when known
    bool wait_external = false;  // a timer, the kernel or code outside tasks can end it
    // Where it waits: the chain of corio frames, outermost (the spawned task) first.
    std::vector<code_location> backtrace;
};

struct worker_metrics {
    std::uint64_t polls = 0;         // task polls
    std::uint64_t steals = 0;        // successful steals from other workers
    std::uint64_t stolen_tasks = 0;  // tasks taken by those steals
    std::uint64_t parks = 0;         // times the worker went to sleep
    std::uint64_t busy_ns = 0;       // time spent awake (not parked)
    std::uint64_t local_queue_depth = 0;
};

struct runtime_metrics {
    std::vector<worker_metrics> workers;
    std::uint64_t injection_queue_depth = 0;
    std::uint64_t live_tasks = 0;
    std::uint64_t spawned_tasks = 0;  // since the runtime started
    std::uint64_t blocking_threads = 0;
    std::uint64_t blocking_idle_threads = 0;
    std::uint64_t blocking_queue_depth = 0;
    std::uint64_t pending_timers = 0;
    std::uint64_t io_registrations = 0;
    // Poll durations (runtime_options::poll_time_histogram): bucket i counts polls shorter
    // than poll_time_bounds_ns[i]; the last bucket counts the rest.
    std::vector<std::uint64_t> poll_time_bounds_ns;
    std::vector<std::uint64_t> poll_time_counts;
};

// Prometheus text exposition format (version 0.0.4) of `m`.
std::string to_prometheus(const runtime_metrics& m);

// What the blocked-worker watchdog saw.
struct blocked_worker_report {
    std::size_t worker = 0;
    std::chrono::milliseconds stuck_for{0};
    std::uint64_t task_id = 0;
    std::string task_name;
    code_location spawned_at;
    code_location last_await;  // where the task last resumed from
    std::string to_string() const;
};

// Observers of every task's life, for users plugging in their own tracing. Each runs on the
// thread doing the work (a worker), so keep them short and never block in them.
struct task_hooks {
    std::function<void(std::uint64_t id, const code_location& spawned_at)> on_spawn{};
    std::function<void(std::uint64_t id)> on_poll_begin{};
    std::function<void(std::uint64_t id)> on_poll_end{};
    std::function<void(std::uint64_t id)> on_complete{};
};

// Thrown by block_on when every task is waiting and nothing can ever wake one of them.
class deadlock_error : public std::runtime_error {
public:
    deadlock_error(const std::string& cycle, std::string dump)
        : std::runtime_error("corio: deadlock: every task is waiting and nothing can wake one" +
                             (cycle.empty() ? std::string() : "\n" + cycle)),
          m_cycle(cycle),
          m_dump(std::move(dump)) {}
    // "task 3 waits on mutex lock (...) held by task 4; task 4 waits on ..." (may be empty).
    const std::string& cycle() const noexcept { return m_cycle; }
    // The task dump at the moment of detection.
    const std::string& dump() const noexcept { return m_dump; }

private:
    std::string m_cycle;
    std::string m_dump;
};

}  // namespace corio
