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

bool semaphore::try_grant_locked(detail::waiter_node& n) noexcept {
    if (m_closed) {
        n.outcome = detail::queued::closed;
        return true;
    }
    if (m_waiters.empty() && m_permits >= n.value) {
        m_permits -= n.value;
        n.outcome = detail::queued::granted;
        return true;
    }
    return false;
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
    grant_waiters_locked();
}

void semaphore::grant_waiters_locked() noexcept {
    while (detail::waiter_node* front = m_waiters.front()) {
        if (m_permits < front->value) break;
        m_permits -= front->value;
        m_waiters.pop_front();
        front->outcome = detail::queued::granted;
        front->slot.fire(/*lifo=*/true);
    }
}

void semaphore::close() noexcept {
    std::lock_guard lock(m_lock);
    m_closed = true;
    while (detail::waiter_node* n = m_waiters.pop_front()) {
        n->outcome = detail::queued::closed;
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

}  // namespace corio
