// corio/time.hpp — sleep, sleep_until, interval.
//
//     co_await corio::sleep(500ms);                        // parks the task, never the thread
//     co_await corio::sleep_until(deadline);
//     corio::interval every{100ms};
//     for (;;) { co_await every.tick(); poll_something(); }
//
// Timers live in the runtime's hierarchical wheel with 1 ms ticks; the timer entry lives
// inside the awaiter, so sleeping allocates nothing. A timer never fires early: it fires at
// the first driver turn at or after its deadline, rounded up to the next millisecond.
//
// Cancellation: every sleep is a cancellation point. A cancelled sleep withdraws its timer
// and throws corio::cancelled_error; nothing else is lost.
#pragma once

#include <chrono>
#include <coroutine>
#include <utility>

#include "corio/detail/context.hpp"
#include "corio/detail/timer_entry.hpp"
#include "corio/error.hpp"

namespace corio {

using clock = std::chrono::steady_clock;

namespace detail {
class driver;
}

// The awaitable returned by sleep() and sleep_until(). Await it once, right away.
class [[nodiscard]] sleep_awaiter : public detail::await_point {
public:
    explicit sleep_awaiter(clock::time_point deadline) noexcept : m_deadline(deadline) {}
    sleep_awaiter(const sleep_awaiter&) = delete;
    sleep_awaiter& operator=(const sleep_awaiter&) = delete;
    sleep_awaiter(sleep_awaiter&& o) noexcept : m_deadline(o.m_deadline) {}
    ~sleep_awaiter();

    bool await_ready() noexcept;
    bool await_suspend(std::coroutine_handle<>) noexcept;
    void await_resume() const {
        if (m_cancelled) throw cancelled_error();
    }

    clock::time_point deadline() const noexcept { return m_deadline; }

private:
    static bool on_poll(await_point& self, detail::task_header& task, detail::await_op op) noexcept;

    clock::time_point m_deadline;
    detail::timer_entry m_entry;
    detail::driver* m_driver = nullptr;  // set while the entry is queued in its wheel
    bool m_cancelled = false;
};

// Completes at or after `deadline`.
inline sleep_awaiter sleep_until(clock::time_point deadline) noexcept {
    return sleep_awaiter(deadline);
}

// Completes at or after now + `d`.
template <class Rep, class Period>
sleep_awaiter sleep(std::chrono::duration<Rep, Period> d) noexcept {
    return sleep_awaiter(clock::now() + std::chrono::ceil<clock::duration>(d));
}

// What interval::tick() does when ticks were missed (the task was busy past a deadline).
enum class missed_tick_behavior {
    burst,  // fire the missed ticks at once, then keep the original schedule (tokio's default)
    delay,  // the next tick is one period after now: the schedule shifts
    skip,   // drop the missed ticks; the next tick is the next one on the original schedule
};

// Ticks every `period`. The first tick completes at once (at `start` if given).
class interval {
public:
    explicit interval(clock::duration period,
                      missed_tick_behavior behavior = missed_tick_behavior::burst) noexcept
        : interval(clock::now(), period, behavior) {}
    interval(clock::time_point start, clock::duration period,
             missed_tick_behavior behavior = missed_tick_behavior::burst) noexcept
        : m_next(start), m_period(period), m_behavior(behavior) {}

    // A sleep until the next tick that returns the tick's scheduled time (a corio await:
    // usable in select()).
    class [[nodiscard]] tick_awaiter : public sleep_awaiter {
    public:
        explicit tick_awaiter(interval& owner) noexcept
            : sleep_awaiter(owner.m_next), m_owner(owner) {}
        tick_awaiter(tick_awaiter&& o) noexcept : sleep_awaiter(std::move(o)), m_owner(o.m_owner) {}
        // The scheduled time of this tick (not the time it completed).
        clock::time_point await_resume() {
            sleep_awaiter::await_resume();
            return m_owner.advance();
        }

    private:
        interval& m_owner;
    };

    // Completes at the next scheduled tick; a cancellation point.
    tick_awaiter tick() noexcept { return tick_awaiter(*this); }

    // Restarts the schedule: the next tick is one period from now.
    void reset() noexcept { m_next = clock::now() + m_period; }

    clock::duration period() const noexcept { return m_period; }
    missed_tick_behavior behavior() const noexcept { return m_behavior; }

private:
    clock::time_point advance() noexcept {
        clock::time_point scheduled = m_next;
        clock::time_point now = clock::now();
        switch (m_behavior) {
            case missed_tick_behavior::burst:
                m_next = scheduled + m_period;
                break;
            case missed_tick_behavior::delay:
                m_next = (now > scheduled + m_period ? now : scheduled) + m_period;
                break;
            case missed_tick_behavior::skip:
                m_next = scheduled + m_period;
                if (m_next <= now) m_next += ((now - m_next) / m_period + 1) * m_period;
                break;
        }
        return scheduled;
    }

    clock::time_point m_next;
    clock::duration m_period;
    missed_tick_behavior m_behavior;
};

}  // namespace corio
