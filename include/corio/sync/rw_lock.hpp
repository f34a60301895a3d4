// corio/sync/rw_lock.hpp — many readers or one writer, owning the data it protects.
//
//     corio::rw_lock<config> cfg;
//     { auto r = co_await cfg.read();  use(r->port); }          // shared
//     { auto w = co_await cfg.write(); w->port = 8080; }        // exclusive
//
// Fair (FIFO): a reader that arrives after a queued writer waits behind it, so writers are
// not starved by a stream of readers; when a writer leaves, the readers queued before the
// next writer all enter together.
//
// Cancellation: read() and write() are cancellation points with mutex semantics: a waiter
// cancelled while queued leaves the queue and holds nothing; a grant received before the
// cancellation was seen wins (or is given back when a select cancels it).
#pragma once

#include <cstddef>
#include <optional>
#include <utility>

#include "corio/detail/queued_await.hpp"

namespace corio {

namespace detail {
class rw_lock_core {
public:
    static constexpr std::uint32_t kRead = 0;
    static constexpr std::uint32_t kWrite = 1;

    rw_lock_core() noexcept = default;
    rw_lock_core(const rw_lock_core&) = delete;
    rw_lock_core& operator=(const rw_lock_core&) = delete;
    ~rw_lock_core();

    bool try_grant_locked(waiter_node& n) noexcept;  // n.value: kRead or kWrite
    bool try_read() noexcept;
    bool try_write() noexcept;
    void unlock_read() noexcept;
    void unlock_write() noexcept;
    spinlock& lock_for_waiters() noexcept { return m_lock; }
    waiter_list& waiter_queue() noexcept { return m_waiters; }
    void inspect_locked(wait_info& w, std::uint32_t mode) const noexcept;
    void
    grant_waiters_locked() noexcept;  // lock held: admit the queue's head (and readers after it)

private:
    spinlock m_lock;
    std::size_t m_readers = 0;
    bool m_writer = false;
    std::uint64_t m_writer_task = 0;
    waiter_list m_waiters;
};
}  // namespace detail

template <class T>
class rw_lock;

// Shared access while held.
template <class T>
class [[nodiscard]] read_guard {
public:
    read_guard(read_guard&& o) noexcept : m_lock(std::exchange(o.m_lock, nullptr)) {}
    read_guard(const read_guard&) = delete;
    read_guard& operator=(const read_guard&) = delete;
    ~read_guard() { unlock(); }
    const T& operator*() const noexcept { return m_lock->m_value; }
    const T* operator->() const noexcept { return &m_lock->m_value; }
    void unlock() noexcept {
        if (m_lock) std::exchange(m_lock, nullptr)->m_core.unlock_read();
    }

private:
    friend class rw_lock<T>;
    explicit read_guard(rw_lock<T>* l) noexcept : m_lock(l) {}
    rw_lock<T>* m_lock;
};

// Exclusive access while held.
template <class T>
class [[nodiscard]] write_guard {
public:
    write_guard(write_guard&& o) noexcept : m_lock(std::exchange(o.m_lock, nullptr)) {}
    write_guard(const write_guard&) = delete;
    write_guard& operator=(const write_guard&) = delete;
    ~write_guard() { unlock(); }
    T& operator*() const noexcept { return m_lock->m_value; }
    T* operator->() const noexcept { return &m_lock->m_value; }
    void unlock() noexcept {
        if (m_lock) std::exchange(m_lock, nullptr)->m_core.unlock_write();
    }

private:
    friend class rw_lock<T>;
    explicit write_guard(rw_lock<T>* l) noexcept : m_lock(l) {}
    rw_lock<T>* m_lock;
};

template <class T>
class rw_lock {
public:
    template <class... Args>
    explicit rw_lock(Args&&... args) : m_value(std::forward<Args>(args)...) {}

    template <class Guard, std::uint32_t Mode>
    class [[nodiscard]] lock_awaiter : public detail::queued_await<lock_awaiter<Guard, Mode>> {
        using base = detail::queued_await<lock_awaiter<Guard, Mode>>;

    public:
        explicit lock_awaiter(rw_lock& l) noexcept : m_rw(l) { this->m_node.value = Mode; }
        lock_awaiter(lock_awaiter&& o) noexcept : base(std::move(o)), m_rw(o.m_rw) {}

    private:
        friend base;
        detail::spinlock& lock() noexcept { return m_rw.m_core.lock_for_waiters(); }
        detail::waiter_list& waiters() noexcept { return m_rw.m_core.waiter_queue(); }
        bool try_grant(detail::waiter_node& n) noexcept { return m_rw.m_core.try_grant_locked(n); }
        void on_withdrawn_locked() noexcept { m_rw.m_core.grant_waiters_locked(); }
        void give_back(detail::waiter_node& n) noexcept {
            if (n.outcome != detail::queued::granted) return;
            if constexpr (Mode == detail::rw_lock_core::kWrite)
                m_rw.m_core.unlock_write();
            else
                m_rw.m_core.unlock_read();
        }
        Guard result(std::uint8_t) noexcept { return Guard(&m_rw); }
        void inspect(detail::wait_info& w) const noexcept { m_rw.m_core.inspect_locked(w, Mode); }
        rw_lock& m_rw;
    };
    using read_awaiter = lock_awaiter<read_guard<T>, detail::rw_lock_core::kRead>;
    using write_awaiter = lock_awaiter<write_guard<T>, detail::rw_lock_core::kWrite>;

    // Shared access (FIFO with writers). A cancellation point.
    read_awaiter read() noexcept { return read_awaiter(*this); }
    // Exclusive access (FIFO). A cancellation point.
    write_awaiter write() noexcept { return write_awaiter(*this); }

    std::optional<read_guard<T>> try_read() noexcept {
        if (!m_core.try_read()) return std::nullopt;
        return read_guard<T>(this);
    }
    std::optional<write_guard<T>> try_write() noexcept {
        if (!m_core.try_write()) return std::nullopt;
        return write_guard<T>(this);
    }

private:
    friend class read_guard<T>;
    friend class write_guard<T>;
    template <class G, std::uint32_t M>
    friend class lock_awaiter;
    detail::rw_lock_core m_core;
    T m_value;
};

}  // namespace corio
