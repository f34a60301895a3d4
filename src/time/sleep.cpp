#include "corio/time.hpp"

#include "corio/detail/wait_info.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio {

sleep_awaiter::~sleep_awaiter() {
    // Still queued: the frame is being destroyed while parked here. Withdraw the entry.
    if (m_driver) m_driver->remove_timer(m_entry);
}

bool sleep_awaiter::await_ready() noexcept {
    if (detail::cancel_requested()) {
        m_cancelled = true;
        return true;
    }
    return m_deadline <= clock::now() && detail::consume_budget();
}

bool sleep_awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    poll = &on_poll;
    detail::task_header* t = detail::current_task();
    if (m_deadline <= clock::now()) {
        // Due since await_ready() looked: complete now, unless the budget is spent (yield
        // first). Under select() the budget is shielded, so a branch never yields unarmed.
        if (detail::tls_context.budget > 0) return false;
        detail::park_yield(*this, h);
        return true;
    }
    detail::driver& drv = t->owner->io();
    m_entry.deadline_tick = drv.deadline_tick(m_deadline);
    m_entry.slot.arm(t);
    m_driver = &drv;
    if (!drv.insert_timer(m_entry)) {  // already due by the wheel's clock
        m_driver = nullptr;
        m_entry.slot.reset();
        return false;
    }
    detail::park(*this, h);
    return true;
}

bool sleep_awaiter::on_poll(await_point& ap, detail::task_header& t, detail::await_op op) noexcept {
    auto& self = static_cast<sleep_awaiter&>(ap);
    if (op == detail::await_op::inspect) {
        detail::wait_info& w = *detail::tls_wait_info;
        w.kind = detail::wait_kind::timer;
        w.external = true;
        w.object = &self.m_entry;
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(self.m_deadline - clock::now());
        w.describe("sleep until %+lld ms", static_cast<long long>(left.count()));
        return false;
    }
    if (op == detail::await_op::cancel) {
        if (self.m_driver) self.m_driver->remove_timer(self.m_entry);
        self.m_driver = nullptr;
        self.m_cancelled = true;
        return true;
    }
    if (!self.m_driver) {  // the yield case: the deadline had passed
        self.m_cancelled = t.is_cancelled();
        return true;
    }
    if (self.m_entry.slot.fired()) {
        self.m_driver = nullptr;
        return true;
    }
    if (t.is_cancelled()) {
        // Removed before it fired: cancelled. Not removed: it fired (under the wheel's
        // lock, so the wake is complete): the sleep simply completed.
        self.m_cancelled = self.m_driver->remove_timer(self.m_entry);
        self.m_driver = nullptr;
        return true;
    }
    return false;
}

}  // namespace corio
