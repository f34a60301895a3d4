// The multi-thread, work-stealing flavour.
//
// Each worker runs: its LIFO slot (at most 3 polls in a row), its local queue, a batch from
// the injection queue; then, as one of at most half the workers "searching", steals half of
// another worker's queue; then spins ~20 µs; then parks. A parking worker that can take the
// driver lock waits in the reactor (epoll_wait with the next timer as timeout); the others
// wait on a futex.
//
// Idle protocol (rules):
//  1. Whoever makes a task runnable calls notify_parked(): after a seq_cst fence, if no
//     worker is searching and some are parked, it unparks one, which starts as searching.
//  2. A parking worker first stops searching, then registers in `m_sleepers` (and m_idle),
//     then, after a seq_cst fence, re-checks every queue. With rule 1 this is Dekker's
//     pattern: the pusher sees the parker, or the parker sees the task.
//  3. A searching worker that finds work stops searching; if it was the last searcher it
//     calls notify_parked(), so a burst of work wakes workers one at a time, not all at once.
//  4. A parked worker is removed from `m_sleepers` by whoever unparks it (under the lock),
//     so each unpark is delivered to exactly one worker exactly once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "runtime/inject_queue.hpp"
#include "runtime/local_queue.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio::detail {

class multi_thread_scheduler final : public scheduler_core {
public:
    explicit multi_thread_scheduler(runtime_options opts);
    ~multi_thread_scheduler() override;

    void schedule(task_header* t, bool lifo) noexcept override;
    void block_on(task_header* t) override;
    std::size_t worker_count() const noexcept override { return m_workers.size(); }
    std::size_t poller_count() const noexcept override { return m_workers.size(); }
    const poller_stats& poller(std::size_t i) const noexcept override {
        return m_workers[i]->stats;
    }
    std::size_t local_queue_depth(std::size_t i) const noexcept override {
        return m_workers[i]->queue.size();
    }
    std::size_t injection_queue_depth() const noexcept override { return m_inject.size(); }
    bool quiescent() const noexcept override;

protected:
    void stop_threads() noexcept override;
    task_header* take_queued() noexcept override;

private:
    struct worker {
        std::size_t index = 0;
        local_queue queue;
        task_header* lifo = nullptr;
        unsigned lifo_polls = 0;
        std::uint32_t tick = 0;
        std::atomic<bool> searching{false};  // also written by the waker of a parked worker
        std::uint64_t rng = 0;
        std::atomic<std::uint32_t> wakeup{0};  // futex word: 1 = unparked
        std::atomic<bool> on_driver{false};    // parked inside the reactor
        // Its own cache line: written on every poll, while other workers write wakeup and
        // searching above when they unpark this one.
        alignas(64) poller_stats stats;
        std::chrono::steady_clock::time_point awake_since{};
        std::thread thread;
    };

    void run(worker& w) noexcept;
    task_header* next_task(worker& w) noexcept;
    task_header* take_from_inject(worker& w) noexcept;
    task_header* steal(worker& w) noexcept;
    void run_task(worker& w, task_header* t) noexcept;
    void maintenance(worker& w) noexcept;
    bool spin_for_work(worker& w) noexcept;
    void park(worker& w) noexcept;
    void sleep_until_unparked(worker& w) noexcept;
    bool try_unregister_sleeper(worker& w) noexcept;
    bool has_work_anywhere() const noexcept;
    bool transition_to_searching(worker& w) noexcept;
    void transition_from_searching(worker& w) noexcept;
    void notify_parked() noexcept;
    void unpark(worker& w) noexcept;

    std::vector<std::unique_ptr<worker>> m_workers;
    inject_queue m_inject;
    std::atomic<std::uint32_t> m_searching{0};
    std::atomic<std::uint32_t> m_idle{0};
    std::mutex m_sleepers_mutex;
    std::vector<worker*> m_sleepers;  // guarded by m_sleepers_mutex
    std::atomic<bool> m_stopping{false};
};

}  // namespace corio::detail
