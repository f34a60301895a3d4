// corio/detail/queued_await.hpp — the await shared by corio's lock-based primitives
// (semaphore, mutex, rw_lock, notify, barrier, wait_group).
//
// The primitive owns a spinlock and a FIFO waiter_list. An await first tries to be granted
// at once (under the lock); otherwise it queues its node, arms it with the current task and
// parks. Whoever grants it (an unlock, a release, a notify) pops the node, writes the
// outcome into it and fires its slot, all under the primitive's lock.
//
// Rules (on top of waiter_list.hpp's):
//  1. node.outcome is written only under the primitive's lock; the waiter reads it under the
//     lock, or after seeing its slot fired (which orders the write before the read).
//  2. A waiter that leaves (cancelled) takes the lock: if its node is still queued it removes
//     it and holds nothing; if it was already granted, a task cancellation lets the grant
//     win (the await completes; the next await sees the cancellation), while a select's
//     cancel gives the grant back through Derived::give_back — nothing is ever lost.
//
// Derived (CRTP) provides, all called with the lock held unless noted:
//   spinlock& lock(); waiter_list& waiters();
//   bool try_grant(waiter_node&)  — grant at once if possible: set node.outcome, return true
//   void give_back(waiter_node&)  — called WITHOUT the lock: undo a grant (release, unlock...)
//   R    result(std::uint8_t outcome) — await_resume's value; throw for failure outcomes
//   void inspect(wait_info&) const — describe the wait for a task dump
//   void on_withdrawn_locked()  — optional: a queued waiter left; grant those behind it that
//                                 it was holding back (a semaphore's head asking for more)
#pragma once

#include <coroutine>
#include <cstdint>
#include <mutex>

#include "corio/detail/context.hpp"
#include "corio/detail/spinlock.hpp"
#include "corio/detail/wait_info.hpp"
#include "corio/detail/waiter_list.hpp"
#include "corio/error.hpp"

namespace corio::detail {

namespace queued {
inline constexpr std::uint8_t pending = 0;
inline constexpr std::uint8_t granted = 1;
inline constexpr std::uint8_t closed = 2;
inline constexpr std::uint8_t cancelled = 3;
// Primitives may define their own outcomes from here on.
inline constexpr std::uint8_t first_custom = 4;
}  // namespace queued

template <class Derived>
class queued_await : public await_point {
public:
    queued_await() noexcept = default;
    // Moves are for handing the awaiter to select() before it is awaited.
    queued_await(queued_await&& o) noexcept { m_node.value = o.m_node.value; }
    queued_await(const queued_await&) = delete;
    queued_await& operator=(const queued_await&) = delete;
    ~queued_await() {
        if (m_node.slot.armed()) {  // the frame is destroyed while parked here
            std::lock_guard guard(self().lock());
            if (m_node.queued) withdraw_locked();
        }
    }

    bool await_ready() noexcept {
        if (cancel_requested()) {
            m_node.outcome = queued::cancelled;
            return true;
        }
        if (!consume_budget()) return false;
        std::lock_guard guard(self().lock());
        return self().try_grant(m_node);
    }

    bool await_suspend(std::coroutine_handle<> h) noexcept {
        poll = &on_poll;
        {
            std::lock_guard guard(self().lock());
            if (!self().try_grant(m_node)) {
                self().waiters().push_back(m_node);
                m_node.slot.arm(current_task());
                park(*this, h);
                return true;
            }
        }
        if (tls_context.budget > 0) return false;
        park_yield(*this, h);  // granted, but the budget is spent: yield first
        return true;
    }

    decltype(auto) await_resume() {
        if (m_node.outcome == queued::cancelled) throw cancelled_error();
        return self().result(m_node.outcome);
    }

protected:
    waiter_node m_node;
    void on_withdrawn_locked() noexcept {}  // default: leaving holds nobody back

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
    // Leaves the queue (lock held) and lets the primitive grant whoever this node held back.
    void withdraw_locked() noexcept {
        self().waiters().remove(m_node);
        self().on_withdrawn_locked();
    }

    static bool on_poll(await_point& ap, task_header& t, await_op op) noexcept {
        auto& me = static_cast<Derived&>(static_cast<queued_await&>(ap));
        waiter_node& n = static_cast<queued_await&>(ap).m_node;
        if (op == await_op::inspect) {
            std::lock_guard guard(me.lock());
            me.inspect(*tls_wait_info);
            return false;
        }
        if (op == await_op::cancel) {
            bool give_back = false;
            {
                std::lock_guard guard(me.lock());
                if (n.queued)
                    static_cast<queued_await&>(ap).withdraw_locked();
                else
                    give_back = n.outcome != queued::pending && n.outcome != queued::cancelled;
            }
            n.slot.fired();  // a wake still being delivered finishes before we move on
            if (give_back) me.give_back(n);
            n.outcome = queued::cancelled;
            return true;
        }
        if (n.slot.empty()) return true;  // never queued: decided before a yield
        if (n.slot.fired()) return true;  // granted (or closed) under the lock
        if (!t.is_cancelled()) return false;
        std::lock_guard guard(me.lock());
        if (n.queued) {
            static_cast<queued_await&>(ap).withdraw_locked();
            n.outcome = queued::cancelled;
        }
        // Not queued: the grant happened under this lock and wins (rule 2).
        return true;
    }
};

}  // namespace corio::detail
