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
    n.outcome = queued::granted;
    return true;
}

bool mutex_core::try_lock() noexcept {
    std::lock_guard guard(m_lock);
    if (m_locked) return false;
    m_locked = true;
    return true;
}

void mutex_core::unlock() noexcept {
    std::lock_guard guard(m_lock);
    if (waiter_node* n = m_waiters.pop_front()) {
        n->outcome = queued::granted;  // stays locked: ownership moves to the waiter
        n->slot.fire(/*lifo=*/true);
    } else {
        m_locked = false;
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
