// corio/sync/mutex.hpp — an async mutex that owns the data it protects.
//
//     corio::mutex<std::vector<int>> m;
//     {
//         auto g = co_await m.lock();      // FIFO: waiters get the lock in arrival order
//         g->push_back(1);                 // the guard gives access to the value
//     }                                    // unlocked here
//
// Unlike std::mutex, a corio::mutex may be held across co_await (the task may even resume
// on another thread), and waiting parks the task, not the thread. Unlocking hands the lock
// directly to the first waiter, so a stream of newcomers cannot starve it.
//
// Cost: an uncontended lock/unlock is one spinlock round trip each; waiting allocates nothing.
// Cancellation: lock() is a cancellation point. A waiter cancelled while queued leaves the
// queue (losing its place) and holds nothing. If the lock was handed to it before it saw the
// cancellation, the lock() completes and the cancellation is seen at the next await; a
// select() that cancels a lock() it had already been handed unlocks it for the next waiter.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>

#include "corio/detail/queued_await.hpp"

namespace corio {

namespace detail {
// The lock state, independent of T (compiled once).
class mutex_core {
public:
    mutex_core() noexcept = default;
    mutex_core(const mutex_core&) = delete;
    mutex_core& operator=(const mutex_core&) = delete;
    ~mutex_core();

    bool try_lock() noexcept;
    void unlock() noexcept;  // hands the lock to the first waiter, if any
    bool is_locked() const noexcept;
    std::size_t waiters() const noexcept;

    bool try_grant_locked(waiter_node& n) noexcept;
    spinlock& lock_for_waiters() noexcept { return m_lock; }
    waiter_list& waiter_queue() noexcept { return m_waiters; }
    void inspect_locked(wait_info& w) const noexcept;

private:
    mutable spinlock m_lock;
    bool m_locked = false;
    std::uint64_t m_holder = 0;  // task holding the lock (0: none, or locked outside a task)
    waiter_list m_waiters;
};
}  // namespace detail

template <class T>
class mutex;

// Access to a mutex's value while it is locked; unlocks when destroyed.
template <class T>
class [[nodiscard]] mutex_guard {
public:
    mutex_guard(mutex_guard&& o) noexcept : m_mutex(std::exchange(o.m_mutex, nullptr)) {}
    mutex_guard& operator=(mutex_guard&& o) noexcept {
        if (this != &o) {
            unlock();
            m_mutex = std::exchange(o.m_mutex, nullptr);
        }
        return *this;
    }
    mutex_guard(const mutex_guard&) = delete;
    mutex_guard& operator=(const mutex_guard&) = delete;
    ~mutex_guard() { unlock(); }

    T& operator*() const noexcept { return m_mutex->m_value; }
    T* operator->() const noexcept { return &m_mutex->m_value; }
    // Unlocks now (the guard no longer gives access).
    void unlock() noexcept {
        if (m_mutex) std::exchange(m_mutex, nullptr)->m_core.unlock();
    }

private:
    friend class mutex<T>;
    explicit mutex_guard(mutex<T>* m) noexcept : m_mutex(m) {}
    mutex<T>* m_mutex;
};

template <class T>
class mutex {
public:
    template <class... Args>
    explicit mutex(Args&&... args) : m_value(std::forward<Args>(args)...) {}

    class [[nodiscard]] lock_awaiter : public detail::queued_await<lock_awaiter> {
    public:
        explicit lock_awaiter(mutex& m) noexcept : m_mutex(m) {}
        lock_awaiter(lock_awaiter&& o) noexcept
            : detail::queued_await<lock_awaiter>(std::move(o)), m_mutex(o.m_mutex) {}

    private:
        friend class detail::queued_await<lock_awaiter>;
        detail::spinlock& lock() noexcept { return m_mutex.m_core.lock_for_waiters(); }
        detail::waiter_list& waiters() noexcept { return m_mutex.m_core.waiter_queue(); }
        bool try_grant(detail::waiter_node& n) noexcept {
            return m_mutex.m_core.try_grant_locked(n);
        }
        void give_back(detail::waiter_node& n) noexcept {
            if (n.outcome == detail::queued::granted) m_mutex.m_core.unlock();
        }
        mutex_guard<T> result(std::uint8_t) noexcept { return mutex_guard<T>(&m_mutex); }
        void inspect(detail::wait_info& w) const noexcept { m_mutex.m_core.inspect_locked(w); }
        mutex& m_mutex;
    };

    // Waits for the lock (FIFO). A cancellation point.
    lock_awaiter lock() noexcept { return lock_awaiter(*this); }
    // The lock if it is free now and nobody waits.
    std::optional<mutex_guard<T>> try_lock() noexcept {
        if (!m_core.try_lock()) return std::nullopt;
        return mutex_guard<T>(this);
    }
    bool is_locked() const noexcept { return m_core.is_locked(); }
    // The value, for use when no task can hold the lock (e.g. after all tasks are done).
    T& get_mut() noexcept { return m_value; }

private:
    friend class mutex_guard<T>;
    detail::mutex_core m_core;
    T m_value;
};

}  // namespace corio
