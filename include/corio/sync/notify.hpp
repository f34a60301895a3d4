// corio/sync/notify.hpp — wake one task, or all waiting tasks (tokio::sync::Notify).
//
//     corio::notify ready;
//     // consumer                         // producer
//     co_await ready.notified();          ready.notify_one();
//
// notify_one() wakes the first waiter, or, if nobody waits, stores one permit so that the
// next notified() completes at once (permits do not accumulate beyond one). notify_waiters()
// wakes every task waiting now and stores nothing.
//
// Cancellation: notified() is a cancellation point. A waiter cancelled while queued leaves
// and consumes nothing. A notify_one() delivered to a waiter that a select then cancels is
// passed on (to the next waiter, or stored as the permit), so no notification is lost.
#pragma once

#include <cstddef>

#include "corio/detail/queued_await.hpp"

namespace corio {

class notify {
public:
    notify() noexcept = default;
    notify(const notify&) = delete;
    notify& operator=(const notify&) = delete;
    ~notify();

    class [[nodiscard]] notified_awaiter : public detail::queued_await<notified_awaiter> {
    public:
        explicit notified_awaiter(notify& n) noexcept : m_notify(n) {}
        notified_awaiter(notified_awaiter&& o) noexcept
            : queued_await(std::move(o)), m_notify(o.m_notify) {}

    private:
        friend class detail::queued_await<notified_awaiter>;
        detail::spinlock& lock() noexcept { return m_notify.m_lock; }
        detail::waiter_list& waiters() noexcept { return m_notify.m_waiters; }
        bool try_grant(detail::waiter_node& n) noexcept;
        void give_back(detail::waiter_node& n) noexcept;
        void result(std::uint8_t) const noexcept {}
        void inspect(detail::wait_info& w) const noexcept {
            w.kind = detail::wait_kind::notify;
            w.object = &m_notify;
            w.describe("notify (notify %p, %zu waiting)", static_cast<const void*>(&m_notify),
                       m_notify.m_waiters.size());
        }
        notify& m_notify;
    };

    // Completes on the next notify_one() / notify_waiters() (or a stored permit).
    notified_awaiter notified() noexcept { return notified_awaiter(*this); }

    // Wakes the first waiter, or stores a permit if none waits.
    void notify_one() noexcept;
    // Wakes every current waiter; stores no permit.
    void notify_waiters() noexcept;

    std::size_t waiters() const noexcept;

private:
    static constexpr std::uint8_t kByOne = detail::queued::granted;
    static constexpr std::uint8_t kByAll = detail::queued::first_custom;

    mutable detail::spinlock m_lock;
    bool m_permit = false;
    detail::waiter_list m_waiters;
};

}  // namespace corio
