#include "corio/sync/rw_lock.hpp"

#include <cassert>
#include <mutex>

namespace corio::detail {

rw_lock_core::~rw_lock_core() {
    assert(m_waiters.empty() && "corio: rw_lock destroyed while tasks wait on it");
}

bool rw_lock_core::try_grant_locked(waiter_node& n) noexcept {
    // FIFO: nobody overtakes a queued waiter.
    if (!m_waiters.empty() || m_writer) return false;
    if (n.value == kWrite) {
        if (m_readers) return false;
        m_writer = true;
    } else {
        ++m_readers;
    }
    n.outcome = queued::granted;
    return true;
}

bool rw_lock_core::try_read() noexcept {
    std::lock_guard guard(m_lock);
    if (!m_waiters.empty() || m_writer) return false;
    ++m_readers;
    return true;
}

bool rw_lock_core::try_write() noexcept {
    std::lock_guard guard(m_lock);
    if (!m_waiters.empty() || m_writer || m_readers) return false;
    m_writer = true;
    return true;
}

void rw_lock_core::grant_waiters_locked() noexcept {
    while (waiter_node* n = m_waiters.front()) {
        if (n->value == kWrite) {
            if (m_readers || m_writer) return;
            m_writer = true;
        } else {
            if (m_writer) return;
            ++m_readers;
        }
        m_waiters.pop_front();
        n->outcome = queued::granted;
        n->slot.fire(/*lifo=*/true);
        if (m_writer) return;
    }
}

void rw_lock_core::unlock_read() noexcept {
    std::lock_guard guard(m_lock);
    if (--m_readers == 0) grant_waiters_locked();
}

void rw_lock_core::unlock_write() noexcept {
    std::lock_guard guard(m_lock);
    m_writer = false;
    grant_waiters_locked();
}

}  // namespace corio::detail
