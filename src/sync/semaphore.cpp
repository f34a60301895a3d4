#include "corio/sync/semaphore.hpp"

#include <cassert>
#include <mutex>

namespace corio {

void semaphore_permit::release() noexcept {
    if (m_sem && m_count) m_sem->release(m_count);
    m_sem = nullptr;
    m_count = 0;
}

semaphore::~semaphore() {
    assert(m_waiters.empty() && "corio: semaphore destroyed while tasks wait on it");
}

std::optional<semaphore_permit> semaphore::try_acquire(std::size_t n) noexcept {
    std::lock_guard lock(m_lock);
    if (m_closed || !m_waiters.empty() || m_permits < n) return std::nullopt;
    m_permits -= n;
    return semaphore_permit(this, n);
}

void semaphore::release(std::size_t n) noexcept {
    std::lock_guard lock(m_lock);
    m_permits += n;
    while (detail::waiter_node* front = m_waiters.front()) {
        if (m_permits < front->value) break;
        m_permits -= front->value;
        m_waiters.pop_front();
        front->outcome = acquire_awaiter::acquired;
        front->slot.fire(/*lifo=*/true);
    }
}

void semaphore::close() noexcept {
    std::lock_guard lock(m_lock);
    m_closed = true;
    while (detail::waiter_node* n = m_waiters.pop_front()) {
        n->outcome = acquire_awaiter::closed;
        n->slot.fire();
    }
}

bool semaphore::is_closed() const noexcept {
    std::lock_guard lock(m_lock);
    return m_closed;
}

std::size_t semaphore::available_permits() const noexcept {
    std::lock_guard lock(m_lock);
    return m_permits;
}

std::size_t semaphore::waiters() const noexcept {
    std::lock_guard lock(m_lock);
    return m_waiters.size();
}

// ---------------------------------------------------------------- acquire_awaiter

semaphore::acquire_awaiter::~acquire_awaiter() {
    if (m_node.slot.armed()) {  // the frame is destroyed while parked here
        std::lock_guard lock(m_sem.m_lock);
        if (m_node.queued) m_sem.m_waiters.remove(m_node);
    }
}

bool semaphore::acquire_awaiter::try_locked() noexcept {
    if (m_sem.m_closed) {
        m_node.outcome = closed;
        return true;
    }
    if (m_sem.m_waiters.empty() && m_sem.m_permits >= m_node.value) {
        m_sem.m_permits -= m_node.value;
        m_node.outcome = acquired;
        return true;
    }
    return false;
}

bool semaphore::acquire_awaiter::await_ready() noexcept {
    if (detail::cancel_requested()) {
        m_node.outcome = cancelled;
        return true;
    }
    if (!detail::consume_budget()) return false;
    std::lock_guard lock(m_sem.m_lock);
    return try_locked();
}

bool semaphore::acquire_awaiter::await_suspend(std::coroutine_handle<> h) noexcept {
    poll = &on_poll;
    {
        std::lock_guard lock(m_sem.m_lock);
        if (!try_locked()) {
            m_sem.m_waiters.push_back(m_node);
            m_node.slot.arm(detail::current_task());
            detail::park(*this, h);
            return true;
        }
    }
    if (detail::tls_context.budget > 0) return false;
    detail::park_yield(*this, h);  // acquired, but the budget is spent: yield first
    return true;
}

bool semaphore::acquire_awaiter::on_poll(await_point& ap, detail::task_header& t,
                                         detail::await_op op) noexcept {
    auto& self = static_cast<acquire_awaiter&>(ap);
    if (op == detail::await_op::cancel) {
        bool give_back = false;
        {
            std::lock_guard lock(self.m_sem.m_lock);
            if (self.m_node.queued)
                self.m_sem.m_waiters.remove(self.m_node);
            else
                give_back = self.m_node.outcome == acquired;  // handed over before we left
        }
        self.m_node.slot.fired();  // a wake in flight finishes before the node may die
        if (give_back) self.m_sem.release(self.m_node.value);
        self.m_node.outcome = cancelled;
        return true;
    }
    if (self.m_node.slot.empty()) return true;  // never queued: the yield case, decided already
    if (self.m_node.slot.fired()) return true;  // handed permits (or closed) under the lock
    if (!t.is_cancelled()) return false;
    std::lock_guard lock(self.m_sem.m_lock);
    if (self.m_node.queued) {
        self.m_sem.m_waiters.remove(self.m_node);
        self.m_node.outcome = cancelled;
    }
    // Not queued: permits (or the close) were handed over under this lock; keep them.
    return true;
}

semaphore_permit semaphore::acquire_awaiter::await_resume() {
    switch (m_node.outcome) {
        case cancelled:
            throw cancelled_error();
        case closed:
            throw semaphore_closed();
        default:
            return semaphore_permit(&m_sem, m_node.value);
    }
}

}  // namespace corio
