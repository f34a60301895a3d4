#include "driver/driver.hpp"

#include <algorithm>
#include <utility>

#include "driver/epoll_driver.hpp"

namespace corio::detail {

using namespace std::chrono;

driver::driver() : m_io(std::make_unique<epoll_driver>()), m_start(clock::now()) {}

driver::~driver() {
    free_disposed();
}

std::uint64_t driver::now_tick() const noexcept {
    return std::uint64_t(duration_cast<milliseconds>(clock::now() - m_start).count());
}

std::uint64_t driver::deadline_tick(clock::time_point tp) const noexcept {
    if (tp <= m_start) return 0;
    auto ns = duration_cast<nanoseconds>(tp - m_start).count();
    return std::uint64_t((ns + 999'999) / 1'000'000);
}

bool driver::insert_timer(timer_entry& e) noexcept {
    bool wake_driver;
    {
        std::lock_guard lock(m_timer_mutex);
        if (e.deadline_tick <= m_wheel.elapsed()) return false;
        m_wheel.insert(e);
        wake_driver = m_park_deadline != kNotParked && e.deadline_tick < m_park_deadline;
    }
    if (wake_driver) m_io->wake();
    return true;
}

bool driver::remove_timer(timer_entry& e) noexcept {
    std::lock_guard lock(m_timer_mutex);
    return m_wheel.remove(e);
}

std::size_t driver::pending_timers() const noexcept {
    std::lock_guard lock(m_timer_mutex);
    return m_wheel.size();
}

bool driver::fire_due_timers() noexcept {
    bool fired = false;
    std::uint64_t now = now_tick();
    std::lock_guard lock(m_timer_mutex);
    // Waking under the timer lock keeps each entry alive until its wake is delivered: a
    // sleeper that withdraws (cancellation) takes this lock first.
    m_wheel.advance(now, [&](timer_entry& e) {
        e.slot.fire();
        fired = true;
    });
    return fired;
}

bool driver::turn(std::optional<nanoseconds> max_wait) noexcept {
    free_disposed();
    bool woke = fire_due_timers();
    std::optional<nanoseconds> timeout = max_wait;
    if (woke) {
        timeout = nanoseconds(0);
    } else if (!timeout || *timeout > nanoseconds(0)) {
        std::lock_guard lock(m_timer_mutex);
        auto next = m_wheel.next_expiration();
        if (next) {
            auto until = (m_start + milliseconds(*next)) - clock::now();
            if (until < nanoseconds(0)) until = nanoseconds(0);
            if (!timeout || until < *timeout) timeout = duration_cast<nanoseconds>(until);
        }
        m_park_deadline = next ? std::max<std::uint64_t>(*next, 1) : kParkedForever;
    }
    int events = m_io->poll(timeout);
    {
        std::lock_guard lock(m_timer_mutex);
        m_park_deadline = kNotParked;
    }
    woke |= fire_due_timers();
    return woke || events > 0;
}

io_registration* driver::register_fd(int fd, bool optimistic) {
    auto reg = std::make_unique<io_registration>();
    reg->fd = fd;
    if (!optimistic) reg->state.store(0, std::memory_order_relaxed);
    reg->owner = this;
    m_io->add(*reg);
    return reg.release();
}

void driver::deregister(io_registration* reg) noexcept {
    m_io->remove(*reg);
    std::lock_guard lock(m_dispose_mutex);
    reg->dispose_next = m_disposed;
    m_disposed = reg;
}

void driver::free_disposed() noexcept {
    io_registration* list;
    {
        std::lock_guard lock(m_dispose_mutex);
        list = std::exchange(m_disposed, nullptr);
    }
    while (list) {
        io_registration* next = list->dispose_next;
        delete list;
        list = next;
    }
}

}  // namespace corio::detail
