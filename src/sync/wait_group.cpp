#include "corio/sync/wait_group.hpp"

#include <cassert>
#include <mutex>
#include <stdexcept>

namespace corio {

wait_group::~wait_group() {
    assert(m_waiters.empty() && "corio: wait_group destroyed while tasks wait on it");
}

void wait_group::add(std::size_t n) noexcept {
    std::lock_guard guard(m_lock);
    m_count += n;
}

void wait_group::done() {
    std::lock_guard guard(m_lock);
    if (m_count == 0) throw std::logic_error("corio::wait_group::done called more times than add");
    if (--m_count) return;
    while (detail::waiter_node* n = m_waiters.pop_front()) {
        n->outcome = detail::queued::granted;
        n->slot.fire();
    }
}

std::size_t wait_group::count() const noexcept {
    std::lock_guard guard(m_lock);
    return m_count;
}

}  // namespace corio
