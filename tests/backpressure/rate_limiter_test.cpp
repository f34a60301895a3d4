// Tests of corio/rate_limiter.hpp: quota arithmetic, the GCRA decisions of try_acquire,
// until_ready's pacing (burst, then one cell per interval; the long-run rate on the
// multi-thread runtime), cancellation and select/timeout taking no cell, the poll budget.
//
// Timing assertions: a cell is never allowed early (a lower bound, exact up to the clock),
// and lateness gets generous upper bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <corio/corio.hpp>
#include <corio/rate_limiter.hpp>

#include "runtime/scheduler_core.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using corio::clock;
using corio::quota;
using corio::rate_limiter;
using corio::task;
using corio::testing::run_ct;
using corio::testing::run_mt;

std::chrono::milliseconds ms_since(clock::time_point t0) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0);
}

std::size_t pending_timers() {
    return corio::current_runtime().core()->io().pending_timers();
}

}  // namespace

// ------------------------------------------------------------------ quota

TEST(quota, per_second_minute_hour_set_interval_and_burst) {
    EXPECT_EQ(quota::per_second(100).replenish_interval(), 10ms);
    EXPECT_EQ(quota::per_second(100).burst_size(), 100u);
    EXPECT_EQ(quota::per_minute(60).replenish_interval(), 1s);
    EXPECT_EQ(quota::per_minute(60).burst_size(), 60u);
    EXPECT_EQ(quota::per_hour(2).replenish_interval(), 30min);
    auto q = quota::per_second(100).burst(10);
    EXPECT_EQ(q.replenish_interval(), 10ms);
    EXPECT_EQ(q.burst_size(), 10u);
}

TEST(quota, with_period_is_one_cell_per_period_burst_one) {
    auto q = quota::with_period(250ms);
    EXPECT_EQ(q.replenish_interval(), 250ms);
    EXPECT_EQ(q.burst_size(), 1u);
    EXPECT_EQ(quota::with_period(std::chrono::duration<double>(0.5)).replenish_interval(), 500ms);
}

TEST(quota, invalid_values_throw_invalid_argument) {
    EXPECT_THROW((void)quota::per_second(0), std::invalid_argument);
    EXPECT_THROW((void)quota::per_second(100).burst(0), std::invalid_argument);
    EXPECT_THROW((void)quota::with_period(0ms), std::invalid_argument);
    EXPECT_THROW((void)quota::with_period(-5ms), std::invalid_argument);
    EXPECT_THROW((void)quota::with_period(std::chrono::hours(24 * 365)).burst(1000),
                 std::invalid_argument);  // the burst window would overflow int64 ns
}

// ------------------------------------------------------------------ try_acquire (GCRA)

TEST(rate_limiter, try_acquire_allows_the_burst_then_refuses) {
    rate_limiter limiter{quota::with_period(1h).burst(3)};
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_FALSE(limiter.try_acquire());
    EXPECT_FALSE(limiter.try_acquire());
}

TEST(rate_limiter, try_acquire_succeeds_again_after_one_interval) {
    rate_limiter limiter{quota::with_period(30ms).burst(2)};
    auto t0 = clock::now();
    ASSERT_TRUE(limiter.try_acquire());
    ASSERT_TRUE(limiter.try_acquire());
    EXPECT_FALSE(limiter.try_acquire());
    std::this_thread::sleep_until(t0 + 35ms);
    EXPECT_TRUE(limiter.try_acquire()) << "one cell is replenished per interval";
    EXPECT_FALSE(limiter.try_acquire()) << "only one";
}

TEST(rate_limiter, try_acquire_n_takes_weighted_cells_all_or_nothing) {
    rate_limiter limiter{quota::with_period(1h).burst(4)};
    EXPECT_TRUE(limiter.try_acquire(3));
    EXPECT_FALSE(limiter.try_acquire(2)) << "only one cell left";
    EXPECT_TRUE(limiter.try_acquire(1)) << "the refused request took nothing";
    EXPECT_FALSE(limiter.try_acquire(1));
    EXPECT_TRUE(limiter.try_acquire(0));
}

TEST(rate_limiter, more_cells_than_the_burst_throw_invalid_argument) {
    rate_limiter limiter{quota::per_second(10).burst(5)};
    EXPECT_THROW((void)limiter.try_acquire(6), std::invalid_argument);
    EXPECT_THROW((void)limiter.until_n_ready(6), std::invalid_argument);
    EXPECT_TRUE(limiter.try_acquire(5)) << "the refused calls took nothing";
}

TEST(rate_limiter, idle_time_accumulates_only_up_to_the_burst) {
    rate_limiter limiter{quota::with_period(5ms).burst(2)};
    std::this_thread::sleep_for(40ms);  // 8 intervals idle
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_TRUE(limiter.try_acquire());
    EXPECT_FALSE(limiter.try_acquire());
}

// ------------------------------------------------------------------ until_ready pacing

TEST(rate_limiter, until_ready_allows_the_burst_at_once_then_one_cell_per_interval) {
    static constexpr auto T = 20ms;
    static constexpr int kBurst = 3;
    static constexpr int kCells = 8;
    auto stamps = run_ct([]() -> task<std::vector<clock::duration>> {
        rate_limiter limiter{quota::with_period(T).burst(kBurst)};
        std::vector<clock::duration> out;
        auto start = clock::now();
        for (int i = 0; i < kCells; ++i) {
            co_await limiter.until_ready();
            out.push_back(clock::now() - start);
        }
        co_return out;
    }());
    ASSERT_EQ(stamps.size(), std::size_t(kCells));
    for (int i = 0; i < kBurst; ++i) EXPECT_LT(stamps[i], 10ms) << "burst cell " << i;
    for (int i = kBurst; i < kCells; ++i) {
        auto due = (i - kBurst + 1) * T;
        EXPECT_GE(stamps[i], due) << "cell " << i << " allowed early";
        EXPECT_LT(stamps[i], due + 60ms) << "cell " << i << " far too late";
    }
}

TEST(rate_limiter, until_n_ready_waits_for_all_n_cells) {
    run_ct([]() -> task<> {
        rate_limiter limiter{quota::with_period(10ms).burst(4)};
        auto t0 = clock::now();
        co_await limiter.until_n_ready(4);
        EXPECT_LT(ms_since(t0), 10ms) << "a full bucket gives 4 at once";
        co_await limiter.until_n_ready(2);
        EXPECT_GE(clock::now() - t0, 20ms) << "2 cells take two intervals to come back";
        EXPECT_LT(ms_since(t0), 80ms);
        co_await limiter.until_n_ready(0);  // completes at once
    }());
}

TEST(rate_limiter, long_run_rate_on_the_multi_thread_runtime_is_within_ten_percent) {
    // 200 cells/s, burst 10, taken by 4 tasks on 2 workers: N cells take (N - burst) / rate.
    constexpr int kRate = 200;
    constexpr int kBurst = 10;
    constexpr int kCells = kBurst + kRate;  // ~1 s
    constexpr int kTasks = 4;
    struct shared {
        rate_limiter limiter{quota::per_second(kRate).burst(kBurst)};
        std::atomic<int> taken{0};
        std::atomic<std::int64_t> done_at_ns{0};
        clock::time_point start;
    } s;
    std::vector<int> per_task = run_mt([](shared& sh) -> task<std::vector<int>> {
        auto worker = [](shared& st) -> task<int> {
            int mine = 0;
            for (;;) {
                co_await st.limiter.until_ready();
                int k = ++st.taken;
                if (k > kCells) break;
                ++mine;
                if (k == kCells)
                    st.done_at_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        clock::now() - st.start)
                                        .count();
            }
            co_return mine;
        };
        sh.start = clock::now();
        std::vector<corio::join_handle<int>> hs;
        for (int i = 0; i < kTasks; ++i) hs.push_back(corio::spawn(worker(sh)));
        std::vector<int> counts;
        for (auto& h : hs) counts.push_back(co_await h);
        co_return counts;
    }(s));
    double elapsed = double(s.done_at_ns.load()) / 1e9;
    double expected = double(kCells - kBurst) / kRate;
    EXPECT_GE(elapsed, expected * 0.9) << "the limiter let cells through too fast";
    EXPECT_LE(elapsed, expected * 1.1) << "the limiter paced too slowly";
    EXPECT_GE(elapsed, expected - 0.001) << "never early: GCRA's bound is exact";
    int total = 0;
    for (int c : per_task) {
        total += c;
        EXPECT_GE(c, kCells / kTasks / 4) << "a waiter got far less than its share";
    }
    EXPECT_EQ(total, kCells);
}

// ------------------------------------------------------------------ cancellation

TEST(rate_limiter, a_waiter_aborted_while_waiting_takes_no_cell) {
    run_mt([]() -> task<> {
        rate_limiter limiter{quota::with_period(50ms)};
        auto t0 = clock::now();
        EXPECT_TRUE(limiter.try_acquire());  // the next cell is due at t0 + 50ms
        auto waiter = [](rate_limiter& l) -> task<> { co_await l.until_ready(); };
        auto h = corio::spawn(waiter(limiter));
        co_await corio::sleep(10ms);
        EXPECT_FALSE(h.is_finished());
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_LT(ms_since(t0), 45ms) << "abort must end the wait promptly";
        EXPECT_EQ(pending_timers(), 0u) << "the aborted waiter left its timer queued";
        EXPECT_FALSE(limiter.try_acquire()) << "the cell is not due yet";
        co_await limiter.until_ready();
        auto got = clock::now() - t0;
        EXPECT_GE(got, 50ms) << "never early";
        EXPECT_LT(got, 90ms) << "the aborted waiter took the cell (the next one is at 100ms)";
    }());
}

TEST(rate_limiter, timeout_around_until_ready_takes_no_cell) {
    run_ct([]() -> task<> {
        rate_limiter limiter{quota::with_period(40ms)};
        auto t0 = clock::now();
        co_await limiter.until_ready();  // the full bucket: at once
        EXPECT_THROW(co_await corio::timeout(10ms, limiter.until_ready()), corio::timed_out);
        EXPECT_EQ(pending_timers(), 0u);
        co_await limiter.until_ready();
        auto got = clock::now() - t0;
        EXPECT_GE(got, 40ms);
        EXPECT_LT(got, 75ms) << "the timed-out wait must not have taken the cell";
    }());
}

TEST(rate_limiter, select_between_two_limiters_takes_only_from_the_winner) {
    run_ct([]() -> task<> {
        rate_limiter slow{quota::with_period(1h)};
        rate_limiter fast{quota::with_period(1h)};
        EXPECT_TRUE(slow.try_acquire());  // slow is empty for an hour; fast is full
        auto r = co_await corio::select(slow.until_ready(), fast.until_ready());
        EXPECT_EQ(r.index(), 1u);
        EXPECT_FALSE(fast.try_acquire()) << "the winner took its cell";

        rate_limiter a{quota::with_period(15ms)};
        rate_limiter b{quota::with_period(1h)};
        EXPECT_TRUE(a.try_acquire());
        EXPECT_TRUE(b.try_acquire());
        auto t0 = clock::now();
        auto r2 = co_await corio::select(b.until_ready(), a.until_ready());  // both wait
        EXPECT_EQ(r2.index(), 1u);
        EXPECT_GE(clock::now() - t0, 10ms);
        EXPECT_EQ(pending_timers(), 0u) << "the loser withdrew its timer";
    }());
}

TEST(rate_limiter, a_cancelled_task_takes_nothing_at_its_next_until_ready) {
    run_mt([]() -> task<> {
        rate_limiter limiter{quota::with_period(1h).burst(2)};
        auto body = [](rate_limiter& l) -> task<> {
            try {
                co_await corio::sleep(10s);
            } catch (const corio::cancelled_error&) {
            }
            co_await l.until_ready();  // cancellation is sticky: throws, takes nothing
            ADD_FAILURE() << "until_ready completed in a cancelled task";
        };
        auto h = corio::spawn(body(limiter));
        co_await corio::sleep(5ms);
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_TRUE(limiter.try_acquire(2)) << "both cells are still there";
    }());
}

TEST(rate_limiter, runtime_shutdown_with_a_waiter_parked_withdraws_its_timer) {
    // Both flavours; ASan checks that no timer entry is left behind in a freed frame.
    auto limiter = std::make_unique<rate_limiter>(quota::with_period(1h));
    ASSERT_TRUE(limiter->try_acquire());
    auto waiter = [](rate_limiter& l) -> task<> { co_await l.until_ready(); };
    {
        corio::testing::watchdog w(std::chrono::seconds(60));
        auto rt = corio::runtime::current_thread();
        auto h = rt.spawn(waiter(*limiter));
        rt.block_on([]() -> task<> { co_await corio::sleep(20ms); }());
        EXPECT_FALSE(h.is_finished());
    }  // shutdown cancels the parked waiter
    {
        corio::testing::watchdog w(std::chrono::seconds(60));
        corio::runtime rt{{.workers = 2}};
        auto h = rt.spawn(waiter(*limiter));
        rt.block_on([]() -> task<> { co_await corio::sleep(20ms); }());
        EXPECT_FALSE(h.is_finished());
    }
    limiter.reset();
}

TEST(rate_limiter, a_long_wait_is_not_mistaken_for_a_deadlock) {
    // The only task waits 600 ms for a cell, past the deadlock detector's 500 ms grace: a
    // wait that ends by itself (a timer) must never make block_on throw deadlock_error.
    auto elapsed = run_ct([]() -> task<clock::duration> {
        rate_limiter limiter{quota::with_period(600ms)};
        EXPECT_TRUE(limiter.try_acquire());
        auto t0 = clock::now();
        co_await limiter.until_ready();
        co_return clock::now() - t0;
    }());
    EXPECT_GE(elapsed, 590ms);
}

TEST(rate_limiter, a_task_dump_describes_the_wait) {
    run_mt([]() -> task<> {
        rate_limiter limiter{quota::with_period(1h)};
        EXPECT_TRUE(limiter.try_acquire());
        auto waiter = [](rate_limiter& l) -> task<> { co_await l.until_n_ready(1); };
        auto h = corio::spawn(waiter(limiter));
        co_await corio::sleep(20ms);
        std::string dump = corio::current_runtime().dump();
        EXPECT_NE(dump.find("rate_limiter::until_ready (limiter "), std::string::npos) << dump;
        EXPECT_NE(dump.find("1 cell, next try in "), std::string::npos) << dump;
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
    }());
}

// ------------------------------------------------------------------ fairness, budget

TEST(rate_limiter, many_waiters_are_all_served_by_the_limit) {
    static constexpr int kWaiters = 20;
    run_mt([]() -> task<> {
        rate_limiter limiter{quota::with_period(2ms).burst(4)};
        std::atomic<int> served{0};
        auto waiter = [](rate_limiter& l, std::atomic<int>& n) -> task<> {
            co_await l.until_ready();
            ++n;
        };
        auto t0 = clock::now();
        std::vector<corio::join_handle<void>> hs;
        for (int i = 0; i < kWaiters; ++i) hs.push_back(corio::spawn(waiter(limiter, served)));
        for (auto& h : hs) co_await h;
        EXPECT_EQ(served.load(), kWaiters);
        EXPECT_GE(clock::now() - t0, (kWaiters - 4) * 2ms) << "never early";
    }());
}

TEST(rate_limiter, ready_cells_still_yield_to_other_tasks_after_the_poll_budget) {
    run_ct([]() -> task<> {
        rate_limiter limiter{quota::per_second(1'000'000'000)};  // effectively unlimited
        std::atomic<bool> other_ran{false};
        auto other = [](std::atomic<bool>& flag) -> task<> {
            flag = true;
            co_return;
        };
        auto h = corio::spawn(other(other_ran));
        int seen_at = -1;
        for (int i = 0; i < 1000 && seen_at < 0; ++i) {
            co_await limiter.until_ready();
            if (other_ran) seen_at = i;
        }
        EXPECT_GE(seen_at, 0) << "1000 ready until_ready calls never yielded";
        co_await h;
    }());
}
