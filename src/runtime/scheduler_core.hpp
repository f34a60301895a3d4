// What both scheduler flavours share: the driver, the blocking pool, the registry of live
// tasks, task ids, and the shutdown protocol.
//
// Shutdown protocol (rules):
//  1. begin_shutdown() stops the flavour's threads from polling tasks; when it returns, no
//     thread polls a task of this runtime except the one running the shutdown.
//  2. The blocking pool is shut down next: jobs that have not started complete as cancelled,
//     running ones are waited for.
//  3. Every live task is then cancelled, newest first (a child usually refers to state of
//     the task that spawned it), and polled on the shutting-down thread until it completes;
//     its awaits throw corio::cancelled_error, so its destructors run and its registrations
//     (timers, sockets, waiter queues) are withdrawn.
//  4. Frames still alive after that are held only by join handles; they are freed when the
//     handles are destroyed. A task that refuses to finish (catches cancellation and awaits
//     something other than a corio await) is destroyed in place after a bounded number of
//     rounds.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <source_location>
#include <string>
#include <string_view>
#include <vector>

#include "corio/detail/wait_slot.hpp"
#include "corio/runtime.hpp"
#include "corio/trace.hpp"
#include "driver/driver.hpp"
#include "runtime/blocking_pool.hpp"
#include "task/registry.hpp"

namespace corio::detail {

class scheduler_core {
public:
    explicit scheduler_core(runtime_options opts);
    virtual ~scheduler_core();
    scheduler_core(const scheduler_core&) = delete;
    scheduler_core& operator=(const scheduler_core&) = delete;

    // Queues `t`, whose SCHEDULED bit the caller has just set. `lifo`: run it next on this
    // worker if the caller is one (a wake from a running task).
    virtual void schedule(task_header* t, bool lifo) noexcept = 0;
    // Runs root task `t` until complete; see block_on_root().
    virtual void block_on(task_header* t) = 0;
    virtual std::size_t worker_count() const noexcept = 0;

    // Makes `t` a root task of this runtime (ids, registry, refs) without scheduling it.
    void adopt(task_header* t, std::coroutine_handle<> coro, std::string_view name,
               const std::source_location& where, bool blocking);
    // Frees a finished frame: called when the last reference is dropped.
    void destroy(task_header* t) noexcept;

    const runtime_options& options() const noexcept { return m_options; }
    driver& io() noexcept { return m_driver; }
    blocking_pool& blocking() noexcept { return m_blocking; }
    task_registry& registry() noexcept { return m_registry; }

    // Called once by the flavour's destructor: runs the shutdown protocol above.
    void shutdown() noexcept;

    // ---- observability (src/trace/)
    // Hooks or the poll-time histogram are on: poll_task calls the on_* below.
    bool instrumented() const noexcept { return m_instrumented; }
    std::chrono::steady_clock::time_point on_poll_begin(task_header* t) noexcept;
    void on_poll_end(task_header* t, std::chrono::steady_clock::time_point started,
                     poller_stats* stats) noexcept;
    void on_complete(task_header& t) noexcept;

    // Every live task (pins each parked one while it reads it).
    std::vector<task_info> collect_tasks(bool include_internal = false);
    runtime_metrics metrics();
    // The poller slots (workers, or the block_on thread) for the watchdog and metrics.
    virtual std::size_t poller_count() const noexcept = 0;
    virtual const poller_stats& poller(std::size_t i) const noexcept = 0;
    virtual std::size_t local_queue_depth(std::size_t i) const noexcept = 0;
    virtual std::size_t injection_queue_depth() const noexcept = 0;
    // True when no task is runnable and every poller is parked (deadlock detection).
    virtual bool quiescent() const noexcept = 0;
    // Deadlock analysis: the cycle (or summary) and the dump, if every task waits on
    // something only another waiting task could end.
    struct deadlock_report {
        std::string cycle;
        std::string dump;
    };
    std::optional<deadlock_report> find_deadlock();
    // Sum of all pollers' poll counts: unchanged between two looks means nothing ran.
    std::uint64_t total_polls() const noexcept;
    // The task-leak report written at shutdown (empty if none).
    std::string leak_report();
    std::string metrics_address() const;

    // A thread blocked in block_on on a multi-thread runtime, which the diagnostics thread
    // wakes with a deadlock report (see diagnostics.cpp).
    struct block_on_wait {
        thread_waiter* waiter = nullptr;
        std::optional<deadlock_report> deadlock;
        block_on_wait* next = nullptr;
    };
    void add_block_on_wait(block_on_wait* w);
    void remove_block_on_wait(block_on_wait* w) noexcept;
    // Diagnostics thread: report a deadlock to every block_on caller; false if none waits.
    bool deliver_deadlock(const deadlock_report& report);
    bool has_block_on_waits() const noexcept;

protected:
    // Flavour hook for rule 1.
    virtual void stop_threads() noexcept = 0;
    // Flavour hook: the queued tasks, drained for rule 3 (they are polled by shutdown()).
    virtual task_header* take_queued() noexcept = 0;
    // Flavours call these once their pollers exist, and before they stop them.
    void start_diagnostics();
    void stop_diagnostics() noexcept;

private:
    void cancel_all_tasks() noexcept;
    void orphan_remaining_tasks() noexcept;
    void report_unobserved_exception(task_header* t) noexcept;

    runtime_options m_options;
    bool m_instrumented = false;
    driver m_driver;
    task_registry m_registry;
    blocking_pool m_blocking;
    std::atomic<std::uint64_t> m_next_id{1};
    std::unique_ptr<class metrics_server> m_metrics_server;
    mutable std::mutex m_block_on_mutex;
    block_on_wait* m_block_on_waits = nullptr;  // guarded by m_block_on_mutex
    bool m_diagnostics = false;
    bool m_shut_down = false;
};

// A std::source_location as shown in dumps and reports (src/trace/dump.cpp).
code_location location_of(const std::source_location& l);

// Dump formatting (src/trace/dump.cpp).
std::string format_dump(const std::vector<task_info>& tasks, std::size_t workers);
std::string format_dump_json(const std::vector<task_info>& tasks, std::size_t workers);

// Result of one poll of a root task.
enum class poll_outcome { parked, requeue, completed };

// Polls `t` (which the caller popped from a queue, SCHEDULED or yielded): runs its await
// point's poll hook, resumes the coroutine if allowed, and settles the state word.
// `requeue`: the caller must queue it again (it yielded or was woken meanwhile).
poll_outcome poll_task(task_header* t) noexcept;

}  // namespace corio::detail
