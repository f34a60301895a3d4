// corio/rate_limiter.hpp — at most N operations per period, with bursts (GCRA).
//
//     corio::rate_limiter limiter{corio::quota::per_second(100).burst(10)};
//     co_await limiter.until_ready();             // waits for one cell and takes it
//     if (!limiter.try_acquire()) shed_load();    // never waits
//
// The limiter implements GCRA, the generic cell rate algorithm, as Rust's `governor` crate
// does. A quota gives an emission interval T (one cell every T: per_second(100) is 10 ms)
// and a burst b (cells that may go at once after a quiet spell). The whole state is the
// theoretical arrival time `tat`, one std::atomic<int64_t> of nanoseconds on corio::clock;
// taking n cells at time `now` is allowed iff
//
//     max(tat, now) + n·T  <=  now + b·T
//
// and then sets tat to the left side (one compare-and-swap). An idle limiter therefore
// allows b cells at once, then one every T; over a long run it lets through b + elapsed/T
// cells, never more. Unused capacity accumulates only up to the burst.
//
// Waiting: until_ready() takes a cell at once when allowed; otherwise it sleeps on the
// runtime's timer wheel until the earliest time the cell can be allowed and tries again.
// Nothing is reserved while sleeping, so waiters are NOT served in arrival order (as with
// governor): when a cell becomes free, the waiters due at that time race for it and the
// losers sleep until the next one. To keep that race fair enough, a woken waiter yields
// (requeues itself) a few times before trying: zero or one time, at random, if it has
// already lost a race during this wait, two or three times if not (a fresh waiter, or the
// task that just won and came back). So a waiter that keeps losing moves ahead, in practice
// none starves, and no timer time is added (a yield costs microseconds). It is not FIFO:
// put a semaphore in front of the limiter when order matters. With k waiters, each cell
// costs up to k wakes (the race).
//
// Timer resolution: timers fire on 1 ms ticks and never early, so a wait ends up to about a
// millisecond late. With burst 1 that lateness is lost from the schedule each time; with a
// burst b ≥ 2 a lateness below (b−1)·T is absorbed and the long-run rate stays exact. At
// high rates (T of a few ms) give the quota a burst of a few cells.
//
// Cost: try_acquire and a ready until_ready are one clock read and one CAS (a retry per
// concurrent taker); no lock, no allocation. A wait allocates nothing (the timer entry lives
// in the awaiter). Like every corio await, a ready until_ready yields first once the task's
// poll budget is spent, so a loop over a generous limiter does not starve other tasks.
//
// Observability: a task dump shows the wait as "rate_limiter::until_ready (limiter 0x...,
// n cells, next try in N ms)". It is a timer wait: deadlock detection never counts it.
//
// Cancellation: until_ready() / until_n_ready() are cancellation points. A task cancelled
// while waiting withdraws its timer and takes nothing: the cell stays for the next caller.
// A cell taken before the cancellation was seen is kept, and the cancellation is seen at the
// next await. In a select (or timeout) a losing until_ready takes nothing.
//
// Thread safety: every member may be called from any thread and any task. The limiter must
// outlive the awaits on it.
#pragma once

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

#include "corio/detail/context.hpp"
#include "corio/detail/timer_entry.hpp"
#include "corio/error.hpp"
#include "corio/time.hpp"

namespace corio {

// How many cells a rate_limiter lets through: one every replenish_interval(), and up to
// burst_size() at once. Invalid values (zero cells, a zero period, a burst whose window
// overflows 292 years) throw std::invalid_argument.
class quota {
public:
    // n cells per second, burst n (as governor's Quota::per_second).
    static constexpr quota per_second(std::uint32_t n) { return per(std::chrono::seconds(1), n); }
    // n cells per minute, burst n.
    static constexpr quota per_minute(std::uint32_t n) { return per(std::chrono::minutes(1), n); }
    // n cells per hour, burst n.
    static constexpr quota per_hour(std::uint32_t n) { return per(std::chrono::hours(1), n); }
    // One cell every `period`, burst 1.
    template <class Rep, class Period>
    static constexpr quota with_period(std::chrono::duration<Rep, Period> period) {
        auto ns = std::chrono::ceil<std::chrono::nanoseconds>(period).count();
        if (!(ns > 0))
            throw std::invalid_argument("corio::quota::with_period: the period must be positive");
        return quota(static_cast<std::int64_t>(ns), 1);
    }

    // The same rate with up to `b` cells at once (b >= 1).
    constexpr quota burst(std::uint32_t b) const {
        if (b == 0)
            throw std::invalid_argument("corio::quota::burst: the burst must be at least 1");
        if (m_interval_ns > std::numeric_limits<std::int64_t>::max() / b)
            throw std::invalid_argument("corio::quota::burst: burst x period overflows");
        return quota(m_interval_ns, b);
    }

    // One cell is replenished every replenish_interval().
    constexpr std::chrono::nanoseconds replenish_interval() const noexcept {
        return std::chrono::nanoseconds(m_interval_ns);
    }
    // Cells an idle limiter allows at once.
    constexpr std::uint32_t burst_size() const noexcept { return m_burst; }

private:
    constexpr quota(std::int64_t interval_ns, std::uint32_t burst) noexcept
        : m_interval_ns(interval_ns), m_burst(burst) {}

    template <class D>
    static constexpr quota per(D period, std::uint32_t n) {
        if (n == 0) throw std::invalid_argument("corio::quota: at least one cell per period");
        std::int64_t interval = std::chrono::nanoseconds(period).count() / n;
        if (interval == 0)
            throw std::invalid_argument("corio::quota: more than one cell per nanosecond");
        return quota(interval, n);
    }

    std::int64_t m_interval_ns;
    std::uint32_t m_burst;
};

class rate_limiter {
public:
    explicit rate_limiter(quota q) noexcept
        : m_interval_ns(q.replenish_interval().count()),
          m_tau_ns(q.replenish_interval().count() * q.burst_size()),
          m_burst(q.burst_size()) {}
    rate_limiter(const rate_limiter&) = delete;
    rate_limiter& operator=(const rate_limiter&) = delete;

    // The awaitable of until_ready() / until_n_ready(). Await it once, right away (or hand it
    // to select/timeout).
    class [[nodiscard]] ready_awaiter : public detail::await_point {
    public:
        ready_awaiter(rate_limiter& l, std::uint32_t n) noexcept : m_limiter(l), m_n(n) {}
        // Moves are for handing the awaiter to select() before it is awaited.
        ready_awaiter(ready_awaiter&& o) noexcept : m_limiter(o.m_limiter), m_n(o.m_n) {}
        ready_awaiter(const ready_awaiter&) = delete;
        ready_awaiter& operator=(const ready_awaiter&) = delete;
        ~ready_awaiter();

        bool await_ready() noexcept;
        bool await_suspend(std::coroutine_handle<> h) noexcept;
        void await_resume() const {
            if (m_cancelled) throw cancelled_error();
        }

    private:
        static bool on_poll(await_point& self, detail::task_header& task,
                            detail::await_op op) noexcept;
        bool try_take_or_arm(detail::task_header& t) noexcept;
        bool arm_timer(detail::task_header& t) noexcept;
        void withdraw() noexcept;

        rate_limiter& m_limiter;
        std::uint32_t m_n;
        bool m_cancelled = false;
        bool m_yielded = false;          // parked by a budget yield: no timer queued
        std::uint8_t m_losses = 0;       // races for a cell lost so far (saturating)
        std::uint8_t m_yields = 0;       // yields left before contending after a timer wake
        std::int64_t m_retry_at_ns = 0;  // when the cells may be allowed (corio::clock, ns)
        detail::timer_entry m_entry;
        detail::driver* m_driver = nullptr;  // set while the entry is queued in its wheel
    };

    // Waits until one cell is allowed and takes it. Throws cancelled_error.
    ready_awaiter until_ready() noexcept { return {*this, 1}; }

    // Waits until `n` cells are allowed at once and takes them. Throws std::invalid_argument
    // (at the call) when n > the quota's burst, which could never be allowed;
    // cancelled_error. n == 0 completes at once.
    ready_awaiter until_n_ready(std::uint32_t n) {
        check_n(n, "corio::rate_limiter::until_n_ready");
        return {*this, n};
    }

    // Takes `n` cells if allowed now; never waits. Throws std::invalid_argument when n > the
    // quota's burst.
    bool try_acquire(std::uint32_t n = 1) {
        check_n(n, "corio::rate_limiter::try_acquire");
        return take(n, now_ns()).taken;
    }

    std::chrono::nanoseconds replenish_interval() const noexcept {
        return std::chrono::nanoseconds(m_interval_ns);
    }
    std::uint32_t burst_size() const noexcept { return m_burst; }

private:
    struct take_result {
        bool taken;
        std::int64_t retry_at_ns;  // when not taken: the earliest time the cells may be allowed
    };

    static std::int64_t now_ns() noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch())
            .count();
    }

    void check_n(std::uint32_t n, const char* what) const {
        if (n > m_burst)
            throw std::invalid_argument(std::string(what) +
                                        ": more cells than the quota's burst can ever allow");
    }

    // The GCRA test-and-update (see the top of this file).
    take_result take(std::uint32_t n, std::int64_t now) noexcept {
        const std::int64_t need = std::int64_t(n) * m_interval_ns;  // <= tau: no overflow
        std::int64_t tat = m_tat.load(std::memory_order_relaxed);
        for (;;) {
            const std::int64_t next = (tat > now ? tat : now) + need;
            if (next - now > m_tau_ns) return {false, next - m_tau_ns};
            if (m_tat.compare_exchange_weak(tat, next, std::memory_order_relaxed)) return {true, 0};
        }
    }

    const std::int64_t m_interval_ns;  // T: one cell every T
    const std::int64_t m_tau_ns;       // b·T: how far ahead of now tat may run
    const std::uint32_t m_burst;       // b
    // The theoretical arrival time (corio::clock, ns); far in the past: a full burst.
    std::atomic<std::int64_t> m_tat{std::numeric_limits<std::int64_t>::min() / 2};
};

}  // namespace corio
