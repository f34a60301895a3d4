// The driver: the reactor and the timer wheel of one runtime, turned by whichever thread
// holds its lock (a worker with nothing else to do, or a worker's periodic check).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "corio/detail/io_registration.hpp"
#include "corio/detail/timer_entry.hpp"
#include "driver/io_driver.hpp"
#include "driver/timer_wheel.hpp"

namespace corio::detail {

class driver {
public:
    using clock = std::chrono::steady_clock;

    driver();
    ~driver();
    driver(const driver&) = delete;
    driver& operator=(const driver&) = delete;

    // ---- who turns the driver: one thread at a time
    bool try_acquire() noexcept { return m_turn_lock.try_lock(); }
    void acquire() noexcept { m_turn_lock.lock(); }
    void release() noexcept { m_turn_lock.unlock(); }

    // Holder only. Fires due timers, then waits for I/O up to `max_wait` (nullopt: until the
    // next timer or wake(); zero: no waiting), then fires timers again. Returns true if it
    // woke any task.
    bool turn(std::optional<std::chrono::nanoseconds> max_wait) noexcept;

    // Any thread: makes a blocked turn() return soon.
    void wake() noexcept { m_io->wake(); }

    // ---- time (any thread)
    clock::time_point start() const noexcept { return m_start; }
    // The first tick at or after `tp`: firing at that tick is never early.
    std::uint64_t deadline_tick(clock::time_point tp) const noexcept;
    // Queues `e` (its deadline_tick set). Returns false when it is already due.
    bool insert_timer(timer_entry& e) noexcept;
    // Unqueues `e`; false if it was not queued (fired, or never queued).
    bool remove_timer(timer_entry& e) noexcept;
    std::size_t pending_timers() const noexcept;

    // ---- I/O (any thread)
    // `optimistic`: treat the fd as readable and writable until a syscall says EAGAIN.
    io_registration* register_fd(int fd, bool optimistic = true);
    // Stops events and frees `reg` at the start of a later turn. The caller closes the fd.
    void deregister(io_registration* reg) noexcept;
    std::size_t io_registrations() const noexcept { return m_io->registrations(); }

private:
    static constexpr std::uint64_t kNotParked = 0;
    static constexpr std::uint64_t kParkedForever = ~std::uint64_t{0};

    std::uint64_t now_tick() const noexcept;
    bool fire_due_timers() noexcept;
    void free_disposed() noexcept;

    std::mutex m_turn_lock;
    std::unique_ptr<io_driver> m_io;
    const clock::time_point m_start;

    mutable std::mutex m_timer_mutex;
    timer_wheel m_wheel;                         // guarded by m_timer_mutex
    std::uint64_t m_park_deadline = kNotParked;  // guarded by m_timer_mutex

    std::mutex m_dispose_mutex;
    io_registration* m_disposed = nullptr;  // guarded by m_dispose_mutex
};

}  // namespace corio::detail
