// The spawn_blocking pool: threads that run blocking jobs so workers never do.
//
// Elastic: a job goes to an idle thread if there is one, else a new thread is started, up
// to max_threads; past that, jobs queue. An idle thread exits after keep_alive. Each job is
// a root task (its frame runs the callable in one poll), so it is awaited, aborted and
// listed like any task.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>

#include "corio/detail/task_header.hpp"

namespace corio::detail {

class scheduler_core;

class blocking_pool {
public:
    blocking_pool(scheduler_core& owner, std::size_t max_threads,
                  std::chrono::milliseconds keep_alive);
    ~blocking_pool();

    // Queues a job. After shutdown the job completes as cancelled without running.
    void submit(task_header* t) noexcept;

    // Stops taking jobs, cancels queued ones, waits for running ones and for the threads.
    void shutdown() noexcept;

    std::size_t threads() const noexcept;
    std::size_t idle_threads() const noexcept;
    std::size_t queued() const noexcept;

private:
    void thread_main() noexcept;

    scheduler_core& m_owner;
    const std::size_t m_max_threads;
    const std::chrono::milliseconds m_keep_alive;

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<task_header*> m_queue;
    std::size_t m_live = 0;
    std::size_t m_idle = 0;
    std::size_t m_notified = 0;
    bool m_shutdown = false;
};

}  // namespace corio::detail
