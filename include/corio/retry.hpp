// corio/retry.hpp — run an operation again when it fails, waiting longer each time.
//
//     auto v = co_await corio::retry(
//         corio::backoff::exponential(100ms).max_delay(5s).jitter(0.2).max_attempts(5),
//         [&] { return fetch(url); });
//
// retry(policy, fn) calls fn() — a callable returning task<T> — and awaits the task. On
// success its value is returned. On failure, if the policy allows another attempt, retry
// sleeps for the policy's next delay and calls fn() again, so every attempt is a fresh task.
// After the last allowed attempt the last exception is rethrown.
//
//  * corio::cancelled_error is never retried: it propagates at once.
//  * .retry_if(pred) chooses what is retried: pred(error) returning false rethrows that error
//    at once. By default every other exception is retried.
//  * .on_retry(fn) is called before each backoff sleep with (attempt that failed, its
//    exception, delay): for logging and metrics.
//  * An exception thrown by pred or fn itself (before it returns a task) is handled as
//    usual: pred's propagates out of retry; fn's counts as a failed attempt.
//
// Delays (backoff): exponential(base) waits base, base·f, base·f², ... (factor f = 2 unless
// .factor(f)), each capped at .max_delay(d); fixed(d) waits d every time. .jitter(j) then
// multiplies each delay by a random factor in [1 − j, 1 + j] (so a capped delay may reach
// max_delay·(1 + j)); .seed(s) makes that sequence reproducible. .max_attempts(n) counts
// every attempt, the first included (default 3; backoff::unlimited retries forever). The
// delay sequence is available without sleeping through backoff::delays().
//
// Per-attempt deadline: put the timeout inside the callable, so each attempt gets its own
// and a timed-out attempt (corio::timed_out) is retried like any other failure:
//
//     co_await corio::retry(policy, [&] { return corio::timeout(1s, fetch(url)); });
//
// An overall deadline wraps the whole retry instead: corio::timeout(10s, corio::retry(...)).
//
// The callable is stored by value in the retry's coroutine frame and lives until the retry
// completes; what it captures by reference must outlive the retry. On g++ 12, a lambda whose
// captures have destructors (a std::string, a shared_ptr) must not be a temporary inside the
// co_await expression — the callable, or one handed to retry_if/on_retry: name it (or the
// policy) first. GCC bug 100611 destroys such temporaries twice; see README. `[&]` captures
// and captureless lambdas are safe.
//
// Cancellation: a cancellation point. Cancelled during an attempt: the attempt sees it at its
// own awaits and retry rethrows its cancelled_error; cancelled during the backoff sleep: the
// sleep is withdrawn at once and cancelled_error propagates. A cancelled retry never starts
// another attempt.
//
// Cost: one coroutine frame for the retry (holding the policy and the callable), plus each
// attempt's task; the sleeps allocate nothing. A policy with retry_if/on_retry holds them in
// std::function.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "corio/detail/context.hpp"
#include "corio/error.hpp"
#include "corio/task.hpp"
#include "corio/time.hpp"

namespace corio {

namespace detail {
// splitmix64 (Steele, Lea, Flood 2014): a tiny, well-mixed generator; good enough for jitter.
inline std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
}  // namespace detail

// A retry policy: how many attempts, and how long to wait between them. Built with
// exponential() or fixed(), then refined with the chainable setters (invalid values throw
// std::invalid_argument).
class backoff {
public:
    using duration = clock::duration;
    using retry_predicate = std::function<bool(const std::exception_ptr&)>;
    using retry_observer =
        std::function<void(std::uint32_t attempt, const std::exception_ptr& error, duration delay)>;

    // max_attempts(unlimited): retry until success (or cancellation).
    static constexpr std::uint32_t unlimited = std::numeric_limits<std::uint32_t>::max();

    // base, base·2, base·4, ... (see factor, max_delay).
    template <class Rep, class Period>
    static backoff exponential(std::chrono::duration<Rep, Period> base) {
        return backoff(to_duration(base, "corio::backoff::exponential"), 2.0);
    }
    // The same delay between all attempts.
    template <class Rep, class Period>
    static backoff fixed(std::chrono::duration<Rep, Period> delay) {
        return backoff(to_duration(delay, "corio::backoff::fixed"), 1.0);
    }

    // Caps every delay (before jitter). Default: no cap.
    template <class Rep, class Period>
    backoff& max_delay(std::chrono::duration<Rep, Period> d) & {
        m_max_delay = to_duration(d, "corio::backoff::max_delay");
        return *this;
    }
    template <class Rep, class Period>
    backoff max_delay(std::chrono::duration<Rep, Period> d) && {
        return std::move(max_delay(d));
    }

    // Each delay is the previous one times `f` (f >= 1; exponential's default is 2).
    backoff& factor(double f) & {
        if (!(f >= 1.0) || !std::isfinite(f))
            throw std::invalid_argument(
                "corio::backoff::factor: the factor must be finite and >= 1");
        m_factor = f;
        return *this;
    }
    backoff factor(double f) && { return std::move(factor(f)); }

    // Spreads each delay uniformly over ±fraction of itself (0 <= fraction <= 1), so clients
    // that failed together do not retry together. Default 0.
    backoff& jitter(double fraction) & {
        if (!(fraction >= 0.0 && fraction <= 1.0))
            throw std::invalid_argument("corio::backoff::jitter: the fraction must be in [0, 1]");
        m_jitter = fraction;
        return *this;
    }
    backoff jitter(double fraction) && { return std::move(jitter(fraction)); }

    // Seeds the jitter: every retry (and delays()) with this policy draws the same sequence.
    // Default: a different seed for each retry.
    backoff& seed(std::uint64_t s) & {
        m_seed = s;
        m_seeded = true;
        return *this;
    }
    backoff seed(std::uint64_t s) && { return std::move(seed(s)); }

    // Attempts in all, the first included (n >= 1; default 3; `unlimited`).
    backoff& max_attempts(std::uint32_t n) & {
        if (n == 0)
            throw std::invalid_argument("corio::backoff::max_attempts: at least one attempt");
        m_max_attempts = n;
        return *this;
    }
    backoff max_attempts(std::uint32_t n) && { return std::move(max_attempts(n)); }

    // Retries only the errors for which pred(error) is true; others are rethrown at once.
    // (cancelled_error never reaches pred: it is never retried.)
    backoff& retry_if(retry_predicate pred) & {
        m_retry_if = std::move(pred);
        return *this;
    }
    backoff retry_if(retry_predicate pred) && { return std::move(retry_if(std::move(pred))); }

    // Called before each backoff sleep with (the attempt that failed, 1-based; its exception;
    // the delay about to be slept).
    backoff& on_retry(retry_observer fn) & {
        m_on_retry = std::move(fn);
        return *this;
    }
    backoff on_retry(retry_observer fn) && { return std::move(on_retry(std::move(fn))); }

    std::uint32_t attempts_allowed() const noexcept { return m_max_attempts; }

    // The delays between attempts, in order, as a retry would sleep them.
    class delay_sequence {
    public:
        // Records one more failed attempt and returns the delay before the next attempt, or
        // nullopt when that was the last attempt allowed.
        std::optional<duration> next() noexcept {
            if (m_max_attempts != unlimited) {
                if (m_failed >= m_max_attempts) return std::nullopt;
                if (++m_failed >= m_max_attempts) return std::nullopt;
            } else {
                ++m_failed;
            }
            double d = m_current;
            m_current = std::min(m_current * m_factor, m_cap);
            if (m_jitter > 0.0) {
                // u in [0, 1) from the top 53 bits.
                double u = double(detail::splitmix64(m_rng) >> 11) * 0x1.0p-53;
                d *= 1.0 + m_jitter * (2.0 * u - 1.0);
            }
            return duration(static_cast<duration::rep>(std::llround(std::max(d, 0.0))));
        }
        // Failed attempts recorded so far.
        std::uint64_t failed_attempts() const noexcept { return m_failed; }

    private:
        friend class backoff;
        double m_current = 0;  // ns, before jitter, <= m_cap
        double m_cap = 0;      // ns
        double m_factor = 1;
        double m_jitter = 0;
        std::uint64_t m_rng = 0;
        std::uint32_t m_max_attempts = 1;
        std::uint64_t m_failed = 0;
    };

    delay_sequence delays() const noexcept {
        delay_sequence s;
        // ~126 years: keeps every product and the jitter far from int64 overflow.
        constexpr double kCeiling = 4.0e18;
        s.m_cap = std::min(double(m_max_delay.count()), kCeiling);
        s.m_current = std::min(double(m_base.count()), s.m_cap);
        s.m_factor = m_factor;
        s.m_jitter = m_jitter;
        s.m_rng = m_seeded ? m_seed : fresh_seed();
        s.m_max_attempts = m_max_attempts;
        return s;
    }

    // Whether `error` (an attempt's exception) should be retried, by retry_if.
    bool should_retry(const std::exception_ptr& error) const {
        return !m_retry_if || m_retry_if(error);
    }
    void notify_retry(std::uint32_t attempt, const std::exception_ptr& error,
                      duration delay) const {
        if (m_on_retry) m_on_retry(attempt, error, delay);
    }

private:
    backoff(duration base, double factor) noexcept : m_base(base), m_factor(factor) {}

    template <class Rep, class Period>
    static duration to_duration(std::chrono::duration<Rep, Period> d, const char* what) {
        if (d < d.zero()) throw std::invalid_argument(std::string(what) + ": negative duration");
        if (std::chrono::duration<double>(d) >= std::chrono::duration<double>(duration::max()))
            return duration::max();  // saturate instead of overflowing
        return std::chrono::ceil<duration>(d);
    }

    static std::uint64_t fresh_seed() noexcept {
        static std::atomic<std::uint64_t> counter{0};
        std::uint64_t s = std::uint64_t(clock::now().time_since_epoch().count()) ^
                          (counter.fetch_add(1, std::memory_order_relaxed) << 32);
        return detail::splitmix64(s);
    }

    duration m_base;
    double m_factor;
    duration m_max_delay = duration::max();
    double m_jitter = 0.0;
    std::uint64_t m_seed = 0;
    bool m_seeded = false;
    std::uint32_t m_max_attempts = 3;
    retry_predicate m_retry_if;
    retry_observer m_on_retry;
};

namespace detail {

template <class R>
struct retry_task_value {
    static constexpr bool is_task = false;
};
template <class T>
struct retry_task_value<task<T>> {
    static constexpr bool is_task = true;
    using type = T;
};

// The frame owns the policy and the callable (by value), so both live until the retry ends.
template <class T, class F>
task<T> retry_loop(backoff policy, F fn) {
    backoff::delay_sequence delays = policy.delays();
    for (std::uint32_t attempt = 1;; ++attempt) {
        std::exception_ptr error;
        try {
            task<T> attempt_task = std::invoke(fn);  // named: no temporary in the co_await
            if constexpr (std::is_void_v<T>) {
                co_await std::move(attempt_task);
                co_return;
            } else {
                co_return co_await std::move(attempt_task);
            }
        } catch (const cancelled_error&) {
            throw;
        } catch (...) {
            error = std::current_exception();
        }
        if (cancel_requested()) throw cancelled_error();  // never start another attempt
        if (!policy.should_retry(error)) std::rethrow_exception(error);
        std::optional<clock::duration> delay = delays.next();
        if (!delay) std::rethrow_exception(error);
        policy.notify_retry(attempt, error, *delay);
        co_await sleep(*delay);
    }
}

}  // namespace detail

// Calls fn() (returning task<T>) until its task succeeds or `policy` gives up; see above.
// Returns task<T>: the value of the first successful attempt, or the last exception.
template <class F>
requires std::invocable < std::decay_t<F>
& > &&detail::retry_task_value<
        std::remove_cvref_t<std::invoke_result_t<std::decay_t<F>&>>>::is_task auto
    retry(backoff policy, F&& fn) {
    using T = typename detail::retry_task_value<
        std::remove_cvref_t<std::invoke_result_t<std::decay_t<F>&>>>::type;
    return detail::retry_loop<T, std::decay_t<F>>(std::move(policy), std::forward<F>(fn));
}

}  // namespace corio
