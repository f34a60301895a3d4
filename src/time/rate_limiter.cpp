// The rate limiter's wait: a timer entry inside the awaiter, re-armed in place until the
// cells are taken.
//
// Rules:
//  1. Cells are taken only by a take() that succeeds, and the await then completes: in
//     await_ready returning true, await_suspend returning false, or on_poll returning true
//     with m_cancelled false. Every other path takes nothing.
//  2. m_driver is non-null exactly while m_entry may be queued in that driver's wheel. The
//     entry is withdrawn (remove_timer) before the awaiter is destroyed, cancelled, or
//     re-armed after a stale wake.
//  3. A fired entry has left the wheel (it fires under the wheel's lock, after unlinking), so
//     its slot may be reset and the entry queued again.
//  4. A fairness yield (m_yields > 0) happens with no timer queued: the task requeues itself
//     by waking itself while RUNNING (task_header.hpp rule 3) and its poll returns false.
#include "corio/rate_limiter.hpp"

#include "corio/detail/wait_info.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio {

namespace {
clock::time_point to_time_point(std::int64_t ns) noexcept {
    return clock::time_point(
        std::chrono::duration_cast<clock::duration>(std::chrono::nanoseconds(ns)));
}

// One random bit per call (xorshift32, per thread): breaks ties between woken waiters.
unsigned coin() noexcept {
    thread_local std::uint32_t x = 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x >> 31;
}

// Yields before contending for a cell after a timer wake (see the header: fairness). A
// waiter that has lost a race goes first: 0-1 yields against 2-3. Picked: enough to reorder
// the waiters woken by one tick across a worker's queue; revisit with data.
std::uint8_t yields_before_contending(std::uint8_t losses) noexcept {
    return std::uint8_t((losses == 0 ? 2 : 0) + coin());
}
}  // namespace

rate_limiter::ready_awaiter::~ready_awaiter() {
    // Still queued: the frame is being destroyed while parked here. Withdraw the entry.
    if (m_driver) m_driver->remove_timer(m_entry);
}

bool rate_limiter::ready_awaiter::await_ready() noexcept {
    if (detail::cancel_requested()) {
        m_cancelled = true;
        return true;
    }
    if (!detail::consume_budget()) {  // yield first; take (or wait) at the next poll
        m_yielded = true;
        return false;
    }
    take_result r = m_limiter.take(m_n, now_ns());
    if (r.taken) return true;
    m_retry_at_ns = r.retry_at_ns;
    return false;
}

bool rate_limiter::ready_awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    poll = &on_poll;
    if (m_yielded) {
        detail::park_yield(*this, h);
        return true;
    }
    if (!arm_timer(*detail::current_task())) return false;  // taken meanwhile
    detail::park(*this, h);
    return true;
}

// Queues the timer for m_retry_at_ns. When the wheel says that time has already come, takes
// the cells now instead. Returns true if the timer is queued, false if the cells were taken.
// Terminates: each failed take means another taker advanced tat, so the retry time moves
// forward by at least one interval and soon lies beyond the wheel's current tick.
bool rate_limiter::ready_awaiter::arm_timer(detail::task_header& t) noexcept {
    detail::driver& drv = t.owner->io();
    for (;;) {
        m_entry.slot.reset();
        m_entry.deadline_tick = drv.deadline_tick(to_time_point(m_retry_at_ns));
        m_entry.slot.arm(&t);
        m_driver = &drv;
        if (drv.insert_timer(m_entry)) return true;
        m_driver = nullptr;
        m_entry.slot.reset();
        take_result r = m_limiter.take(m_n, now_ns());
        if (r.taken) return false;
        m_retry_at_ns = r.retry_at_ns;
    }
}

// Takes the cells if allowed now, else (re-)arms the timer. True when taken.
bool rate_limiter::ready_awaiter::try_take_or_arm(detail::task_header& t) noexcept {
    take_result r = m_limiter.take(m_n, now_ns());
    if (r.taken) return true;
    if (m_losses < 255) ++m_losses;
    m_retry_at_ns = r.retry_at_ns;
    return !arm_timer(t);
}

void rate_limiter::ready_awaiter::withdraw() noexcept {
    // Whether the entry was removed or had already fired, no cell was taken (rule 1).
    if (m_driver) m_driver->remove_timer(m_entry);
    m_driver = nullptr;
}

bool rate_limiter::ready_awaiter::on_poll(await_point& ap, detail::task_header& t,
                                          detail::await_op op) noexcept {
    auto& self = static_cast<ready_awaiter&>(ap);
    if (op == detail::await_op::cancel) {  // lost a select: leave with nothing
        self.withdraw();
        self.m_cancelled = true;
        return true;
    }
    if (op == detail::await_op::inspect) {  // a task dump, from any thread: read only
        detail::wait_info& w = *detail::tls_wait_info;
        w.kind = detail::wait_kind::timer;
        w.external = true;  // time alone ends the wait: never part of a deadlock
        w.object = &self.m_limiter;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::nanoseconds(self.m_retry_at_ns - now_ns()));
        w.describe("rate_limiter::until_ready (limiter %p, %u cell%s, next try in %lld ms)",
                   static_cast<const void*>(&self.m_limiter), self.m_n, self.m_n == 1 ? "" : "s",
                   static_cast<long long>(left.count()));
        return false;
    }
    if (op != detail::await_op::poll) return false;  // other requests change nothing
    if (t.is_cancelled()) {                          // cancelled while waiting: nothing is taken
        self.withdraw();
        self.m_cancelled = true;
        return true;
    }
    self.m_yielded = false;  // back from a budget yield: nothing was queued
    if (self.m_driver) {
        if (!self.m_entry.slot.fired()) return false;  // a stale or spurious wake: keep waiting
        self.m_driver = nullptr;  // fired: the entry has left the wheel (rule 3)
        self.m_yields = yields_before_contending(self.m_losses);
    }
    if (self.m_yields > 0) {  // let other waiters woken by this tick go first
        --self.m_yields;
        detail::wake(&t);  // t is RUNNING: marks it NOTIFIED, so this poll requeues it
        return false;
    }
    return self.try_take_or_arm(t);
}

}  // namespace corio
