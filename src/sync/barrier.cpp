#include "corio/sync/barrier.hpp"

#include <cassert>
#include <mutex>

namespace corio {

barrier::barrier(std::size_t n) : m_parties(n) {
    if (n == 0) throw std::invalid_argument("corio::barrier: needs at least one party");
}

barrier::~barrier() {
    assert(m_waiters.empty() && "corio: barrier destroyed while tasks wait on it");
}

// A waiter that is withdrawn (cancelled) leaves m_waiters, so the arrival count of a round
// is simply the queue length.
bool barrier::arrive_locked(detail::waiter_node& n) noexcept {
    if (m_waiters.size() + 1 < m_parties) return false;  // not the last: queue and wait
    while (detail::waiter_node* w = m_waiters.pop_front()) {
        w->outcome = detail::queued::granted;
        w->slot.fire();
    }
    n.outcome = kLeader;
    return true;
}

std::size_t barrier::waiting() const noexcept {
    std::lock_guard guard(m_lock);
    return m_waiters.size();
}

}  // namespace corio
