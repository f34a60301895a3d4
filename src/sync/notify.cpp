#include "corio/sync/notify.hpp"

#include <cassert>
#include <mutex>

namespace corio {

notify::~notify() {
    assert(m_waiters.empty() && "corio: notify destroyed while tasks wait on it");
}

bool notify::notified_awaiter::try_grant(detail::waiter_node& n) noexcept {
    if (!m_notify.m_permit) return false;
    m_notify.m_permit = false;
    n.outcome = kByOne;
    return true;
}

void notify::notified_awaiter::give_back(detail::waiter_node& n) noexcept {
    if (n.outcome == kByOne) m_notify.notify_one();  // pass it on
}

void notify::notify_one() noexcept {
    std::lock_guard guard(m_lock);
    if (detail::waiter_node* n = m_waiters.pop_front()) {
        n->outcome = kByOne;
        n->slot.fire(/*lifo=*/true);
    } else {
        m_permit = true;
    }
}

void notify::notify_waiters() noexcept {
    std::lock_guard guard(m_lock);
    while (detail::waiter_node* n = m_waiters.pop_front()) {
        n->outcome = kByAll;
        n->slot.fire();
    }
}

std::size_t notify::waiters() const noexcept {
    std::lock_guard guard(m_lock);
    return m_waiters.size();
}

}  // namespace corio
