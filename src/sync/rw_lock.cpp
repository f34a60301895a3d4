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
        m_writer_task = current_task_id();
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
    m_writer_task = current_task_id();
    return true;
}

void rw_lock_core::grant_waiters_locked() noexcept {
    while (waiter_node* n = m_waiters.front()) {
        if (n->value == kWrite) {
            if (m_readers || m_writer) return;
            m_writer = true;
            task_header* next = n->slot.parked_task();
            m_writer_task = next ? next->id() : 0;
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
    m_writer_task = 0;
    grant_waiters_locked();
}

}  // namespace corio::detail

namespace corio::detail {

void rw_lock_core::inspect_locked(wait_info& w, std::uint32_t mode) const noexcept {
    w.kind = wait_kind::lock;
    w.object = this;
    const char* what = mode == kWrite ? "rw_lock write" : "rw_lock read";
    if (m_writer && m_writer_task) {
        w.add_holder(m_writer_task);
        w.holders_known = true;
        w.describe("%s (rw_lock %p, written by task %llu)", what, static_cast<const void*>(this),
                   static_cast<unsigned long long>(m_writer_task));
    } else {
        w.describe("%s (rw_lock %p, %zu readers, %zu waiting)", what,
                   static_cast<const void*>(this), m_readers, m_waiters.size());
    }
}

}  // namespace corio::detail
