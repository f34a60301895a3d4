// corio/sync/semaphore.hpp — a counting semaphore with FIFO-fair, weighted acquisition.
//
//     corio::semaphore sem{20};                  // at most 20 jobs at once
//     auto permit = co_await sem.acquire();      // released when `permit` dies
//
// Waiters are served strictly in arrival order: a waiter asking for 5 permits at the head
// of the queue holds back a later waiter asking for 1. release()/add_permits() hands
// permits to waiters directly, so a woken waiter never has to compete again.
//
// Cost: an uncontended acquire/release is one spinlock round trip; waiting allocates
// nothing (the queue node lives in the awaiter).
//
// Cancellation: acquire() is a cancellation point. A waiter cancelled while queued leaves
// the queue and holds nothing; its place in the queue is lost. If permits were handed to it
// before the cancellation was seen, the acquire completes normally (the permit is returned
// to the semaphore when it is dropped) and the cancellation is seen at the next await.
//
// close(): every queued and future acquire throws corio::semaphore_closed; permits already
// held stay valid, and releasing them is harmless.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <utility>

#include "corio/detail/queued_await.hpp"
#include "corio/error.hpp"

namespace corio {

class semaphore_closed : public std::runtime_error {
public:
    semaphore_closed() : std::runtime_error("corio: semaphore closed") {}
};

class semaphore;

// Permits held from a semaphore; returned when destroyed (unless forgotten).
class [[nodiscard]] semaphore_permit {
public:
    semaphore_permit() noexcept = default;
    semaphore_permit(semaphore_permit&& o) noexcept
        : m_sem(std::exchange(o.m_sem, nullptr)), m_count(std::exchange(o.m_count, 0)) {}
    semaphore_permit& operator=(semaphore_permit&& o) noexcept {
        if (this != &o) {
            release();
            m_sem = std::exchange(o.m_sem, nullptr);
            m_count = std::exchange(o.m_count, 0);
        }
        return *this;
    }
    ~semaphore_permit() { release(); }

    std::size_t count() const noexcept { return m_count; }
    // Keeps the permits out of the semaphore for good.
    void forget() noexcept {
        m_sem = nullptr;
        m_count = 0;
    }
    // Returns the permits now.
    void release() noexcept;

private:
    friend class semaphore;
    semaphore_permit(semaphore* s, std::size_t n) noexcept : m_sem(s), m_count(n) {}
    semaphore* m_sem = nullptr;
    std::size_t m_count = 0;
};

class semaphore {
public:
    explicit semaphore(std::size_t permits) noexcept : m_permits(permits) {}
    semaphore(const semaphore&) = delete;
    semaphore& operator=(const semaphore&) = delete;
    ~semaphore();

    class [[nodiscard]] acquire_awaiter : public detail::queued_await<acquire_awaiter> {
    public:
        acquire_awaiter(semaphore& s, std::uint32_t n) noexcept : m_sem(s) { m_node.value = n; }
        acquire_awaiter(acquire_awaiter&& o) noexcept
            : queued_await(std::move(o)), m_sem(o.m_sem) {}

    private:
        friend class detail::queued_await<acquire_awaiter>;
        detail::spinlock& lock() noexcept { return m_sem.m_lock; }
        detail::waiter_list& waiters() noexcept { return m_sem.m_waiters; }
        bool try_grant(detail::waiter_node& n) noexcept { return m_sem.try_grant_locked(n); }
        void on_withdrawn_locked() noexcept { m_sem.grant_waiters_locked(); }
        void give_back(detail::waiter_node& n) noexcept {
            if (n.outcome == detail::queued::granted) m_sem.release(n.value);
        }
        void inspect(detail::wait_info& w) const noexcept {
            w.kind = detail::wait_kind::semaphore;
            w.object = &m_sem;
            w.describe("semaphore acquire %u (semaphore %p, %zu available, %zu waiting)",
                       m_node.value, static_cast<const void*>(&m_sem), m_sem.m_permits,
                       m_sem.m_waiters.size());
        }
        semaphore_permit result(std::uint8_t outcome) {
            if (outcome == detail::queued::closed) throw semaphore_closed();
            return semaphore_permit(&m_sem, m_node.value);
        }
        semaphore& m_sem;
    };

    // Waits for `n` permits (FIFO). Throws semaphore_closed, cancelled_error.
    acquire_awaiter acquire(std::uint32_t n = 1) noexcept { return {*this, n}; }

    // Takes `n` permits if available now and nobody is queued; never waits.
    std::optional<semaphore_permit> try_acquire(std::size_t n = 1) noexcept;

    // Adds `n` permits, handing them to queued waiters in order.
    void release(std::size_t n = 1) noexcept;
    void add_permits(std::size_t n) noexcept { release(n); }

    // Fails every queued and future acquire with semaphore_closed.
    void close() noexcept;
    bool is_closed() const noexcept;

    std::size_t available_permits() const noexcept;
    std::size_t waiters() const noexcept;

private:
    bool try_grant_locked(detail::waiter_node& n) noexcept;
    void grant_waiters_locked() noexcept;  // hands permits to the queue's head, in order

    mutable detail::spinlock m_lock;
    std::size_t m_permits;
    bool m_closed = false;
    detail::waiter_list m_waiters;
};

}  // namespace corio
