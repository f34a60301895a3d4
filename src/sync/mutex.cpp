#include "corio/sync/mutex.hpp"

#include <cassert>
#include <mutex>

namespace corio::detail {

mutex_core::~mutex_core() {
    assert(m_waiters.empty() && "corio: mutex destroyed while tasks wait on it");
}

bool mutex_core::try_grant_locked(waiter_node& n) noexcept {
    if (m_locked) return false;  // free implies no waiters: unlock hands over directly
    m_locked = true;
    m_holder = current_task_id();
    n.outcome = queued::granted;
    return true;
}

bool mutex_core::try_lock() noexcept {
    std::lock_guard guard(m_lock);
    if (m_locked) return false;
    m_locked = true;
    m_holder = current_task_id();
    return true;
}

void mutex_core::unlock() noexcept {
    std::lock_guard guard(m_lock);
    if (waiter_node* n = m_waiters.pop_front()) {
        task_header* next = n->slot.parked_task();
        m_holder = next ? next->id() : 0;
        n->outcome = queued::granted;  // stays locked: ownership moves to the waiter
        n->slot.fire(/*lifo=*/true);
    } else {
        m_locked = false;
        m_holder = 0;
    }
}

void mutex_core::inspect_locked(wait_info& w) const noexcept {
    w.kind = wait_kind::lock;
    w.object = this;
    if (m_holder) {
        w.add_holder(m_holder);
        w.holders_known = true;
        w.describe("mutex lock (mutex %p, held by task %llu, %zu waiting)",
                   static_cast<const void*>(this), static_cast<unsigned long long>(m_holder),
                   m_waiters.size());
    } else {
        w.external = m_locked;  // locked outside any task: a thread may unlock it
        w.describe("mutex lock (mutex %p, %s, %zu waiting)", static_cast<const void*>(this),
                   m_locked ? "held outside any task" : "being handed over", m_waiters.size());
    }
}

bool mutex_core::is_locked() const noexcept {
    std::lock_guard guard(m_lock);
    return m_locked;
}

std::size_t mutex_core::waiters() const noexcept {
    std::lock_guard guard(m_lock);
    return m_waiters.size();
}

}  // namespace corio::detail
