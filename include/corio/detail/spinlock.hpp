// corio/detail/spinlock.hpp — a test-and-test-and-set lock for short critical sections.
//
// Lock is one exchange, unlock one release store: cheaper than std::mutex (whose unlock is
// an RMW too) for the few-instruction sections of queues and waiter lists. Contended
// waiters yield the thread, so a preempted holder does not burn a core.
#pragma once

#include <atomic>
#include <thread>

namespace corio::detail {

class spinlock {
public:
    void lock() noexcept {
        while (m_flag.exchange(true, std::memory_order_acquire)) {
            while (m_flag.load(std::memory_order_relaxed)) std::this_thread::yield();
        }
    }
    bool try_lock() noexcept { return !m_flag.exchange(true, std::memory_order_acquire); }
    void unlock() noexcept { m_flag.store(false, std::memory_order_release); }

private:
    std::atomic<bool> m_flag{false};
};

}  // namespace corio::detail
