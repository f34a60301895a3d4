// The current-thread flavour: tasks, reactor and timers all run on the thread inside
// block_on(). Its run queue is a plain ring owned by that thread (no atomics); wakes from
// other threads go through the injection queue and an eventfd write.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "corio/detail/context.hpp"
#include "runtime/inject_queue.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio::detail {

// A growable FIFO ring of task pointers for one thread (a push or pop is a few instructions).
class local_ring {
public:
    local_ring() : m_buf(std::make_unique<task_header*[]>(kInitial)), m_mask(kInitial - 1) {}
    void push_back(task_header* t) {
        if (m_tail - m_head > m_mask) grow();
        m_buf[m_tail++ & m_mask] = t;
    }
    task_header* pop_front() noexcept {
        if (m_head == m_tail) return nullptr;
        return m_buf[m_head++ & m_mask];
    }
    bool empty() const noexcept { return m_head == m_tail; }
    std::size_t size() const noexcept { return m_tail - m_head; }
    // Swaps the newest entry with the one `r % size()` places from the front (shuffle mode).
    void swap_newest(std::uint64_t r) noexcept {
        std::size_t n = size();
        if (n < 2) return;
        std::swap(m_buf[(m_tail - 1) & m_mask], m_buf[(m_head + r % n) & m_mask]);
    }

private:
    static constexpr std::size_t kInitial = 256;  // as a worker's bounded queue; grows as needed
    void grow() {
        std::size_t cap = (m_mask + 1) * 2;
        auto bigger = std::make_unique<task_header*[]>(cap);
        for (std::size_t i = m_head; i < m_tail; ++i) bigger[i - m_head] = m_buf[i & m_mask];
        m_tail -= m_head;
        m_head = 0;
        m_buf = std::move(bigger);
        m_mask = cap - 1;
    }
    std::unique_ptr<task_header*[]> m_buf;
    std::size_t m_mask;
    std::size_t m_head = 0;
    std::size_t m_tail = 0;
};

class current_thread_scheduler final : public scheduler_core {
public:
    explicit current_thread_scheduler(runtime_options opts);
    ~current_thread_scheduler() override;

    void schedule(task_header* t, bool lifo) noexcept override;
    void block_on(task_header* t) override;
    std::size_t worker_count() const noexcept override { return 1; }
    std::size_t poller_count() const noexcept override { return 1; }
    const poller_stats& poller(std::size_t) const noexcept override { return m_stats; }
    std::size_t local_queue_depth(std::size_t) const noexcept override {
        return m_queue_size.load(std::memory_order_relaxed);
    }
    std::size_t injection_queue_depth() const noexcept override { return m_inject.size(); }
    bool quiescent() const noexcept override { return m_queue.empty() && m_inject.empty(); }

protected:
    void stop_threads() noexcept override {}
    task_header* take_queued() noexcept override;

private:
    bool on_driving_thread() const noexcept {
        return tls_context.scheduler == this && tls_context.worker == this;
    }
    // On the driving thread: queue `t` (shuffled in shuffle mode).
    void push_local(task_header* t);
    void drain_inject() noexcept;
    // Waits for I/O, a timer or a remote wake. With nothing that could ever come, checks
    // for a deadlock first (throws deadlock_error).
    void idle(task_header* root);

    local_ring m_queue;  // owned by the thread inside block_on
    inject_queue m_inject;
    std::uint64_t m_shuffle = 0;  // xorshift state; 0 = shuffle mode off
    poller_stats m_stats;
    std::chrono::steady_clock::time_point m_awake_since{};
    std::atomic<std::size_t> m_queue_size{0};  // published for metrics
    std::atomic<bool> m_driving{false};
};

}  // namespace corio::detail
