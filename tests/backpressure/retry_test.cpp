// Tests of corio/retry.hpp: the backoff delay sequences (exact without jitter, bounded and
// reproducible with it), retry's attempt counting and error choice, cancellation (never
// retried; abort during the backoff sleep), and composition with timeout.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <corio/corio.hpp>
#include <corio/retry.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using corio::backoff;
using corio::clock;
using corio::task;
using corio::testing::run_ct;
using corio::testing::run_mt;

std::vector<clock::duration> all_delays(const backoff& policy, std::size_t limit = 1000) {
    std::vector<clock::duration> out;
    auto seq = policy.delays();
    while (out.size() < limit) {
        auto d = seq.next();
        if (!d) break;
        out.push_back(*d);
    }
    return out;
}

// Fails (throws std::runtime_error("attempt N")) until `calls` exceeds `failures`.
task<int> flaky(std::atomic<int>& calls, int failures) {
    int n = ++calls;
    if (n <= failures) throw std::runtime_error("attempt " + std::to_string(n));
    co_return n * 10;
}

}  // namespace

// ------------------------------------------------------------------ backoff delays

TEST(backoff, exponential_doubles_from_base_capped_at_max_delay) {
    auto d = all_delays(backoff::exponential(10ms).max_delay(50ms).max_attempts(7));
    std::vector<clock::duration> want{10ms, 20ms, 40ms, 50ms, 50ms, 50ms};
    EXPECT_EQ(d, want) << "max_attempts(7) means 6 delays between 7 attempts";
}

TEST(backoff, factor_changes_the_growth) {
    auto d = all_delays(backoff::exponential(1ms).factor(3).max_attempts(5));
    std::vector<clock::duration> want{1ms, 3ms, 9ms, 27ms};
    EXPECT_EQ(d, want);
    auto half = all_delays(backoff::exponential(2ms).factor(1.5).max_attempts(4));
    std::vector<clock::duration> want_half{2ms, 3ms, 4500us};
    EXPECT_EQ(half, want_half);
}

TEST(backoff, fixed_repeats_the_same_delay) {
    auto d = all_delays(backoff::fixed(5ms).max_attempts(4));
    std::vector<clock::duration> want{5ms, 5ms, 5ms};
    EXPECT_EQ(d, want);
}

TEST(backoff, default_is_three_attempts_and_unlimited_never_ends) {
    EXPECT_EQ(all_delays(backoff::exponential(1ms)).size(), 2u);
    auto d =
        all_delays(backoff::exponential(1ms).max_delay(1s).max_attempts(backoff::unlimited), 500);
    ASSERT_EQ(d.size(), 500u);
    EXPECT_EQ(d.back(), 1s) << "capped, and no overflow after hundreds of doublings";
    auto uncapped = all_delays(backoff::exponential(1ms).max_attempts(backoff::unlimited), 200);
    ASSERT_EQ(uncapped.size(), 200u);
    for (std::size_t i = 1; i < uncapped.size(); ++i)
        EXPECT_GE(uncapped[i], uncapped[i - 1]) << "no overflow to negative at " << i;
}

TEST(backoff, one_attempt_means_no_delay_at_all) {
    auto seq = backoff::exponential(1ms).max_attempts(1).delays();
    EXPECT_EQ(seq.next(), std::nullopt);
    EXPECT_EQ(seq.next(), std::nullopt);
}

TEST(backoff, jitter_stays_within_the_fraction_of_each_delay) {
    auto policy = backoff::exponential(10ms).max_delay(80ms).jitter(0.25).max_attempts(200);
    auto plain = all_delays(backoff::exponential(10ms).max_delay(80ms).max_attempts(200));
    auto jittered = all_delays(policy);
    ASSERT_EQ(jittered.size(), plain.size());
    int differ = 0;
    for (std::size_t i = 0; i < plain.size(); ++i) {
        auto lo = std::chrono::duration_cast<clock::duration>(plain[i] * 0.75);
        auto hi = std::chrono::duration_cast<clock::duration>(plain[i] * 1.25);
        EXPECT_GE(jittered[i], lo) << "delay " << i;
        EXPECT_LE(jittered[i], hi) << "delay " << i;
        differ += jittered[i] != plain[i];
    }
    EXPECT_GT(differ, 150) << "jitter was not applied";
}

TEST(backoff, seed_makes_the_jitter_reproducible) {
    auto a = all_delays(backoff::exponential(10ms).jitter(0.5).seed(42).max_attempts(20));
    auto b = all_delays(backoff::exponential(10ms).jitter(0.5).seed(42).max_attempts(20));
    auto c = all_delays(backoff::exponential(10ms).jitter(0.5).seed(43).max_attempts(20));
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    auto unseeded1 = all_delays(backoff::exponential(10ms).jitter(0.5).max_attempts(20));
    auto unseeded2 = all_delays(backoff::exponential(10ms).jitter(0.5).max_attempts(20));
    EXPECT_NE(unseeded1, unseeded2) << "without a seed each retry draws its own jitter";
}

TEST(backoff, invalid_settings_throw_invalid_argument) {
    EXPECT_THROW((void)backoff::exponential(-1ms), std::invalid_argument);
    EXPECT_THROW((void)backoff::fixed(1ms).jitter(1.5), std::invalid_argument);
    EXPECT_THROW((void)backoff::fixed(1ms).jitter(-0.1), std::invalid_argument);
    EXPECT_THROW((void)backoff::exponential(1ms).factor(0.5), std::invalid_argument);
    EXPECT_THROW((void)backoff::exponential(1ms).max_attempts(0), std::invalid_argument);
    EXPECT_THROW((void)backoff::exponential(1ms).max_delay(-1s), std::invalid_argument);
}

TEST(backoff, setters_on_a_named_policy_chain_in_place) {
    auto policy = backoff::fixed(3ms);
    policy.max_attempts(2).jitter(0);
    EXPECT_EQ(policy.attempts_allowed(), 2u);
    EXPECT_EQ(all_delays(policy), std::vector<clock::duration>{3ms});
}

// ------------------------------------------------------------------ retry

TEST(retry, succeeds_after_k_failures_with_k_plus_one_calls) {
    std::atomic<int> calls{0};
    int v = run_ct([](std::atomic<int>& c) -> task<int> {
        co_return co_await corio::retry(backoff::fixed(1ms).max_attempts(5),
                                        [&c] { return flaky(c, 2); });
    }(calls));
    EXPECT_EQ(v, 30);
    EXPECT_EQ(calls.load(), 3);
}

TEST(retry, first_success_needs_no_sleep) {
    std::atomic<int> calls{0};
    auto t0 = clock::now();
    int v = run_ct([](std::atomic<int>& c) -> task<int> {
        co_return co_await corio::retry(backoff::fixed(1h), [&c] { return flaky(c, 0); });
    }(calls));
    EXPECT_EQ(v, 10);
    EXPECT_EQ(calls.load(), 1);
    EXPECT_LT(clock::now() - t0, 1s);
}

TEST(retry, stops_after_max_attempts_and_rethrows_the_last_exception) {
    std::atomic<int> calls{0};
    std::string what;
    run_ct([](std::atomic<int>& c, std::string& w) -> task<> {
        try {
            co_await corio::retry(backoff::exponential(1ms).max_attempts(4),
                                  [&c] { return flaky(c, 100); });
            ADD_FAILURE() << "retry succeeded";
        } catch (const std::runtime_error& e) {
            w = e.what();
        }
    }(calls, what));
    EXPECT_EQ(calls.load(), 4);
    EXPECT_EQ(what, "attempt 4");
}

TEST(retry, sleeps_the_backoff_delays_between_attempts) {
    std::atomic<int> calls{0};
    auto t0 = clock::now();
    run_mt([](std::atomic<int>& c) -> task<> {
        co_await corio::retry(backoff::exponential(10ms).max_attempts(4),
                              [&c] { return flaky(c, 3); });  // sleeps 10 + 20 + 40 ms
    }(calls));
    auto elapsed = clock::now() - t0;
    EXPECT_EQ(calls.load(), 4);
    EXPECT_GE(elapsed, 70ms);
    EXPECT_LT(elapsed, 1s);
}

TEST(retry, predicate_rethrows_non_matching_errors_at_once) {
    std::atomic<int> calls{0};
    auto only_runtime_errors = [](const std::exception_ptr& e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::logic_error&) {
            return false;
        } catch (...) {
            return true;
        }
    };
    run_ct([](std::atomic<int>& c, backoff::retry_predicate pred) -> task<> {
        auto op = [&c]() -> task<int> {
            int n = ++c;
            if (n == 1) throw std::runtime_error("transient");
            throw std::invalid_argument("permanent");  // a logic_error
            co_return 0;
        };
        auto policy = backoff::fixed(1ms).max_attempts(10).retry_if(std::move(pred));
        EXPECT_THROW(co_await corio::retry(std::move(policy), op), std::invalid_argument);
    }(calls, only_runtime_errors));
    EXPECT_EQ(calls.load(), 2) << "retried the runtime_error, not the logic_error";
}

TEST(retry, cancelled_error_is_never_retried) {
    std::atomic<int> calls{0};
    run_ct([](std::atomic<int>& c) -> task<> {
        auto op = [&c]() -> task<> {
            ++c;
            throw corio::cancelled_error();
            co_return;
        };
        auto policy = backoff::fixed(1ms).max_attempts(10).retry_if(
            [](const std::exception_ptr&) { return true; });
        EXPECT_THROW(co_await corio::retry(std::move(policy), op), corio::cancelled_error);
    }(calls));
    EXPECT_EQ(calls.load(), 1);
}

TEST(retry, on_retry_reports_each_failed_attempt_and_its_delay) {
    struct event {
        std::uint32_t attempt;
        std::string what;
        clock::duration delay;
    };
    std::vector<event> events;
    std::atomic<int> calls{0};
    run_ct([](std::atomic<int>& c, std::vector<event>& ev) -> task<> {
        auto policy = backoff::exponential(1ms).max_attempts(5).on_retry(
            [&ev](std::uint32_t attempt, const std::exception_ptr& e, clock::duration d) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    ev.push_back({attempt, x.what(), d});
                }
            });
        auto op = [&c] { return flaky(c, 3); };
        int v = co_await corio::retry(std::move(policy), op);
        EXPECT_EQ(v, 40);
    }(calls, events));
    ASSERT_EQ(events.size(), 3u);
    for (std::uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(events[i].attempt, i + 1);
        EXPECT_EQ(events[i].what, "attempt " + std::to_string(i + 1));
        EXPECT_EQ(events[i].delay, 1ms * (1 << i));
    }
}

TEST(retry, a_callable_that_throws_before_returning_a_task_counts_as_a_failed_attempt) {
    std::atomic<int> calls{0};
    int v = run_ct([](std::atomic<int>& c) -> task<int> {
        auto make = [&c]() -> task<int> {
            if (++c < 3) throw std::runtime_error("could not even start");
            return flaky(c, 0);
        };
        co_return co_await corio::retry(backoff::fixed(1ms), make);
    }(calls));
    EXPECT_EQ(calls.load(), 4);  // 2 throwing calls, then make's own ++ and flaky's ++
    EXPECT_EQ(v, 40);
}

TEST(retry, void_tasks_are_retried_too) {
    std::atomic<int> calls{0};
    run_ct([](std::atomic<int>& c) -> task<> {
        auto op = [&c]() -> task<> {
            if (++c < 2) throw std::runtime_error("once");
            co_return;
        };
        co_await corio::retry(backoff::fixed(1ms), op);
    }(calls));
    EXPECT_EQ(calls.load(), 2);
}

TEST(retry, the_callable_is_kept_alive_by_value_in_the_retry) {
    // The lambda (and the string it owns) dies at the end of the declaration; the retry task
    // holds its own copy.
    std::string got = run_ct([]() -> task<std::string> {
        auto echo = [](std::string s) -> task<std::string> { co_return s; };
        auto t = corio::retry(backoff::fixed(1ms),
                              [echo, s = std::string(100, 'x')] { return echo(s); });
        co_return co_await std::move(t);
    }());
    EXPECT_EQ(got, std::string(100, 'x'));
}

// ------------------------------------------------------------------ cancellation

TEST(retry, abort_during_the_backoff_sleep_cancels_promptly) {
    std::atomic<int> calls{0};
    run_mt([](std::atomic<int>& c) -> task<> {
        auto job = [](std::atomic<int>& cc) -> task<int> {
            co_return co_await corio::retry(backoff::fixed(10s).max_attempts(5),
                                            [&cc] { return flaky(cc, 100); });
        };
        auto h = corio::spawn(job(c));
        while (c.load() < 1) co_await corio::sleep(1ms);
        co_await corio::sleep(10ms);  // now in the 10 s backoff sleep
        auto t0 = clock::now();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_LT(clock::now() - t0, 1s);
    }(calls));
    EXPECT_EQ(calls.load(), 1) << "no attempt after the abort";
}

TEST(retry, abort_during_an_attempt_is_not_retried) {
    std::atomic<int> calls{0};
    run_mt([](std::atomic<int>& c) -> task<> {
        auto job = [](std::atomic<int>& cc) -> task<> {
            auto slow = [&cc]() -> task<> {
                ++cc;
                co_await corio::sleep(10s);
            };
            co_await corio::retry(backoff::fixed(1ms).max_attempts(backoff::unlimited), slow);
        };
        auto h = corio::spawn(job(c));
        while (c.load() < 1) co_await corio::sleep(1ms);
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
    }(calls));
    EXPECT_EQ(calls.load(), 1);
}

// ------------------------------------------------------------------ with timeout

TEST(retry, a_timeout_per_attempt_retries_attempts_that_hang) {
    std::atomic<int> calls{0};
    std::vector<std::string> errors;
    auto t0 = clock::now();
    int v = run_mt([](std::atomic<int>& c, std::vector<std::string>& errs) -> task<int> {
        auto fetch = [](std::atomic<int>& cc) -> task<int> {
            int n = ++cc;
            if (n < 3) co_await corio::sleep(10s);  // hangs: only the timeout ends it
            co_return n;
        };
        auto policy = backoff::exponential(5ms).max_attempts(5).on_retry(
            [&errs](std::uint32_t, const std::exception_ptr& e, clock::duration) {
                try {
                    std::rethrow_exception(e);
                } catch (const std::exception& x) {
                    errs.push_back(x.what());
                }
            });
        // 200 ms, not less: the attempt runs as a child task, and under TSan on a loaded
        // 2-core machine a child can wait tens of milliseconds for its first poll.
        auto attempt = [&c, fetch] { return corio::timeout(200ms, fetch(c)); };
        co_return co_await corio::retry(std::move(policy), attempt);
    }(calls, errors));
    EXPECT_EQ(v, 3);
    EXPECT_EQ(calls.load(), 3);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0], corio::timed_out().what());
    EXPECT_LT(clock::now() - t0, 5s) << "the hung attempts were not cut off";
}

TEST(retry, a_timeout_around_the_whole_retry_bounds_it) {
    std::atomic<int> calls{0};
    auto t0 = clock::now();
    run_mt([](std::atomic<int>& c) -> task<> {
        auto forever = corio::retry(backoff::fixed(5ms).max_attempts(backoff::unlimited),
                                    [&c] { return flaky(c, 1'000'000); });
        EXPECT_THROW(co_await corio::timeout(60ms, std::move(forever)), corio::timed_out);
    }(calls));
    auto elapsed = clock::now() - t0;
    EXPECT_GE(calls.load(), 2);
    EXPECT_LT(elapsed, 2s);
    int after = calls.load();
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(calls.load(), after) << "the cancelled retry kept going";
}
