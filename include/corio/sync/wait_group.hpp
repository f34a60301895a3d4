// corio/sync/wait_group.hpp — wait for a counted set of jobs (Go's sync.WaitGroup).
//
//     corio::wait_group wg;
//     for (auto& job : jobs) { wg.add(1); corio::spawn(run, std::ref(wg), job); }  // run calls
//     wg.done() co_await wg.wait();
//
// add(n) raises the counter, done() lowers it by one; wait() completes when it is zero (at
// once if it already is). done() below zero is a programming error: std::logic_error.
//
// Cancellation: wait() is a cancellation point; a cancelled waiter just leaves.
#pragma once

#include <cstddef>
#include <cstdint>

#include "corio/detail/queued_await.hpp"

namespace corio {

class wait_group {
public:
    wait_group() noexcept = default;
    wait_group(const wait_group&) = delete;
    wait_group& operator=(const wait_group&) = delete;
    ~wait_group();

    void add(std::size_t n = 1) noexcept;
    // Throws std::logic_error if the counter is already zero.
    void done();
    std::size_t count() const noexcept;

    class [[nodiscard]] wait_awaiter : public detail::queued_await<wait_awaiter> {
    public:
        explicit wait_awaiter(wait_group& g) noexcept : m_group(g) {}
        wait_awaiter(wait_awaiter&& o) noexcept : queued_await(std::move(o)), m_group(o.m_group) {}

    private:
        friend class detail::queued_await<wait_awaiter>;
        detail::spinlock& lock() noexcept { return m_group.m_lock; }
        detail::waiter_list& waiters() noexcept { return m_group.m_waiters; }
        bool try_grant(detail::waiter_node& n) noexcept {
            if (m_group.m_count) return false;
            n.outcome = detail::queued::granted;
            return true;
        }
        void give_back(detail::waiter_node&) const noexcept {}
        void result(std::uint8_t) const noexcept {}
        void inspect(detail::wait_info& w) const noexcept {
            w.kind = detail::wait_kind::wait_group;
            w.object = &m_group;
            w.describe("wait_group (wait_group %p, count %zu)", static_cast<const void*>(&m_group),
                       m_group.m_count);
        }
        wait_group& m_group;
    };

    // Completes when the counter is zero.
    wait_awaiter wait() noexcept { return wait_awaiter(*this); }

private:
    mutable detail::spinlock m_lock;
    std::size_t m_count = 0;
    detail::waiter_list m_waiters;
};

}  // namespace corio
