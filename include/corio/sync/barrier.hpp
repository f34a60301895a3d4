// corio/sync/barrier.hpp — wait until n tasks have arrived, then release them together.
//
//     corio::barrier b{3};
//     bool leader = co_await b.arrive_and_wait();   // true for exactly one task per round
//
// Reusable: once n tasks have arrived, they are all released and the next n arrivals form
// the next round.
//
// Cancellation: arrive_and_wait() is a cancellation point. A task cancelled while waiting
// withdraws its arrival (the round still needs n others). Once its round is complete the
// release stands: the await completes and the cancellation is seen at the next await.
#pragma once

#include <cstddef>
#include <stdexcept>

#include "corio/detail/queued_await.hpp"

namespace corio {

class barrier {
public:
    // n >= 1; throws std::invalid_argument otherwise.
    explicit barrier(std::size_t n);
    barrier(const barrier&) = delete;
    barrier& operator=(const barrier&) = delete;
    ~barrier();

    class [[nodiscard]] wait_awaiter : public detail::queued_await<wait_awaiter> {
    public:
        explicit wait_awaiter(barrier& b) noexcept : m_barrier(b) {}
        wait_awaiter(wait_awaiter&& o) noexcept
            : queued_await(std::move(o)), m_barrier(o.m_barrier) {}

    private:
        friend class detail::queued_await<wait_awaiter>;
        detail::spinlock& lock() noexcept { return m_barrier.m_lock; }
        detail::waiter_list& waiters() noexcept { return m_barrier.m_waiters; }
        bool try_grant(detail::waiter_node& n) noexcept { return m_barrier.arrive_locked(n); }
        void give_back(detail::waiter_node&) const noexcept {}  // a completed round stands
        bool result(std::uint8_t outcome) const noexcept { return outcome == kLeader; }
        void inspect(detail::wait_info& w) const noexcept {
            w.kind = detail::wait_kind::barrier;
            w.object = &m_barrier;
            w.describe("barrier (barrier %p, %zu of %zu arrived)",
                       static_cast<const void*>(&m_barrier), m_barrier.m_waiters.size(),
                       m_barrier.m_parties);
        }
        barrier& m_barrier;
    };

    // Arrives and waits for the round to complete; true for the round's last arrival.
    wait_awaiter arrive_and_wait() noexcept { return wait_awaiter(*this); }

    std::size_t parties() const noexcept { return m_parties; }
    // Tasks waiting in the current round.
    std::size_t waiting() const noexcept;

private:
    static constexpr std::uint8_t kLeader = detail::queued::first_custom;
    bool arrive_locked(detail::waiter_node& n) noexcept;

    mutable detail::spinlock m_lock;
    const std::size_t m_parties;
    detail::waiter_list m_waiters;  // the arrivals of the current round
};

}  // namespace corio
