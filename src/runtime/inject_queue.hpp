// The shared queue for tasks woken or spawned from outside a worker, and for local overflow.
//
// A mutex around an intrusive list (through task_header::queue_next): no allocation per
// push. An uncontended lock+unlock costs about one RMW here (FLOORS.md: 7 ns), and workers
// check `len` without the lock, so an empty queue costs a load.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>

#include "corio/detail/task_header.hpp"

namespace corio::detail {

class inject_queue {
public:
    void push(task_header* t) noexcept {
        t->queue_next = nullptr;
        push_batch(t, t, 1);
    }

    // Pushes the list first..last (linked through queue_next, last->queue_next == nullptr).
    void push_batch(task_header* first, task_header* last, std::size_t n) noexcept {
        std::lock_guard lock(m_mutex);
        if (m_tail)
            m_tail->queue_next = first;
        else
            m_head = first;
        m_tail = last;
        m_len.store(m_len.load(std::memory_order_relaxed) + n, std::memory_order_release);
    }

    task_header* pop() noexcept {
        if (empty()) return nullptr;
        std::lock_guard lock(m_mutex);
        task_header* t = m_head;
        if (!t) return nullptr;
        m_head = t->queue_next;
        if (!m_head) m_tail = nullptr;
        m_len.store(m_len.load(std::memory_order_relaxed) - 1, std::memory_order_release);
        t->queue_next = nullptr;
        return t;
    }

    // Pops up to `max` tasks as a list; returns the count and sets first.
    std::size_t pop_batch(std::size_t max, task_header*& first) noexcept {
        first = nullptr;
        if (empty() || max == 0) return 0;
        std::lock_guard lock(m_mutex);
        std::size_t n = 0;
        task_header* last = nullptr;
        while (m_head && n < max) {
            task_header* t = m_head;
            m_head = t->queue_next;
            if (last)
                last->queue_next = t;
            else
                first = t;
            last = t;
            ++n;
        }
        if (last) last->queue_next = nullptr;
        if (!m_head) m_tail = nullptr;
        m_len.store(m_len.load(std::memory_order_relaxed) - n, std::memory_order_release);
        return n;
    }

    bool empty() const noexcept { return m_len.load(std::memory_order_acquire) == 0; }
    std::size_t size() const noexcept { return m_len.load(std::memory_order_acquire); }

private:
    std::mutex m_mutex;
    task_header* m_head = nullptr;
    task_header* m_tail = nullptr;
    std::atomic<std::size_t> m_len{0};
};

}  // namespace corio::detail
