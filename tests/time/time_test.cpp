// Tests of corio/time.hpp: sleep, sleep_until and interval, on both runtime flavours.
//
// Timing assertions are made only where the behaviour is about time: a timer never fires
// early (a lower bound, exact), interval spacing (a lower bound), and promptness of
// cancellation (a generous upper bound). Everything else synchronises with join handles,
// the runtime's pending-timer count and yields, never with sleeps.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include <corio/corio.hpp>

#include "runtime/scheduler_core.hpp"
#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using corio::clock;
using corio::task;
using corio::testing::run_ct;
using corio::testing::run_mt;

// run_mt()/run_ct() with a shorter watchdog, for tests whose failure mode is a hang.
template <class T>
T run_mt_within(std::chrono::seconds limit, task<T> t, const char* what) {
    corio::testing::watchdog wd(limit, what);
    corio::runtime_options opts;
    opts.workers = 2;
    corio::runtime rt{opts};
    return rt.block_on(std::move(t));
}

template <class T>
T run_ct_within(std::chrono::seconds limit, task<T> t, const char* what) {
    corio::testing::watchdog wd(limit, what);
    auto rt = corio::runtime::current_thread();
    return rt.block_on(std::move(t));
}

std::size_t pending_timers() {
    return corio::current_runtime().core()->io().pending_timers();
}

// Yields until pred() holds; false if it did not within `limit`.
template <class Pred>
task<bool> yield_until(Pred pred, std::chrono::milliseconds limit = 10s) {
    auto deadline = clock::now() + limit;
    while (!pred()) {
        if (clock::now() > deadline) co_return false;
        co_await corio::yield_now();
    }
    co_return true;
}

void atomic_min(std::atomic<std::int64_t>& a, std::int64_t v) {
    std::int64_t cur = a.load(std::memory_order_relaxed);
    while (v < cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
    }
}

// ------------------------------------------------------------------ never early

struct early_stats {
    std::atomic<int> early{0};
    std::atomic<int> sleeps{0};
    std::atomic<std::int64_t> min_slack_ns{INT64_MAX};  // elapsed - requested, smallest seen
};

task<> sleep_and_measure(early_stats* st, unsigned seed, int count) {
    std::mt19937 rng(seed);
    for (int k = 0; k < count; ++k) {
        // 0-30 ms, with sub-millisecond parts (deadlines between two ticks round up).
        auto d = std::chrono::microseconds(rng() % 30'001);
        auto t0 = clock::now();
        co_await corio::sleep(d);
        auto elapsed = clock::now() - t0;
        if (elapsed < d) st->early.fetch_add(1);
        atomic_min(st->min_slack_ns,
                   std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed - d).count());
        st->sleeps.fetch_add(1);

        auto deadline = clock::now() + std::chrono::microseconds(rng() % 30'001);
        co_await corio::sleep_until(deadline);
        auto now = clock::now();
        if (now < deadline) st->early.fetch_add(1);
        atomic_min(st->min_slack_ns,
                   std::chrono::duration_cast<std::chrono::nanoseconds>(now - deadline).count());
        st->sleeps.fetch_add(1);
    }
}

task<int> never_early_body(early_stats* st) {
    std::vector<corio::join_handle<void>> hs;
    for (unsigned i = 0; i < 100; ++i) hs.push_back(corio::spawn(sleep_and_measure(st, i + 1, 5)));
    co_await sleep_and_measure(st, 1000, 5);  // the root task sleeps too
    for (auto& h : hs) co_await h;
    co_return st->sleeps.load();
}

TEST(time, sleep_never_completes_early_on_the_multi_thread_runtime) {
    early_stats st;
    int sleeps = run_mt(never_early_body(&st));
    EXPECT_EQ(sleeps, 101 * 10);
    EXPECT_EQ(st.early.load(), 0) << "smallest slack " << st.min_slack_ns.load() << " ns";
    EXPECT_GE(st.min_slack_ns.load(), 0);
}

TEST(time, sleep_never_completes_early_on_the_current_thread_runtime) {
    early_stats st;
    int sleeps = run_ct(never_early_body(&st));
    EXPECT_EQ(sleeps, 101 * 10);
    EXPECT_EQ(st.early.load(), 0) << "smallest slack " << st.min_slack_ns.load() << " ns";
    EXPECT_GE(st.min_slack_ns.load(), 0);
}

task<> sequential_sleeps(early_stats* st) {
    // Exact whole milliseconds 0..30, one after the other, in the root task itself.
    for (int ms = 0; ms <= 30; ++ms) {
        auto t0 = clock::now();
        co_await corio::sleep(std::chrono::milliseconds(ms));
        auto elapsed = clock::now() - t0;
        if (elapsed < std::chrono::milliseconds(ms)) st->early.fetch_add(1);
        st->sleeps.fetch_add(1);
    }
}

TEST(time, sequential_whole_millisecond_sleeps_are_never_early_on_both_flavours) {
    early_stats a;
    run_mt(sequential_sleeps(&a));
    EXPECT_EQ(a.sleeps.load(), 31);
    EXPECT_EQ(a.early.load(), 0);
    early_stats b;
    run_ct(sequential_sleeps(&b));
    EXPECT_EQ(b.sleeps.load(), 31);
    EXPECT_EQ(b.early.load(), 0);
}

// ------------------------------------------------------------------ deadline order

struct order_log {
    std::mutex mutex;
    std::vector<int> completed;  // deadline offsets in ms, in completion order
    std::atomic<int> early{0};
};

task<> record_after(clock::time_point deadline, int offset_ms, order_log* log) {
    co_await corio::sleep_until(deadline);
    if (clock::now() < deadline) log->early.fetch_add(1);
    std::lock_guard lock(log->mutex);
    log->completed.push_back(offset_ms);
}

// Spawns `n` tasks with shuffled deadlines base + k ms (k in [0, 60): ties on purpose), and
// starts the clock only once every one of them is parked in the wheel.
task<bool> deadline_order_body(order_log* log, int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::vector<int> offsets(static_cast<std::size_t>(n));
    for (auto& k : offsets) k = int(rng() % 60);
    const auto base = clock::now() + 300ms;
    std::vector<corio::join_handle<void>> hs;
    for (int k : offsets)
        hs.push_back(corio::spawn(record_after(base + std::chrono::milliseconds(k), k, log)));
    bool all_parked = co_await yield_until([n] { return pending_timers() == std::size_t(n); });
    bool before_base = clock::now() < base;
    for (auto& h : hs) co_await h;
    co_return all_parked&& before_base;
}

void expect_completed_in_deadline_order(order_log& log, int n) {
    ASSERT_EQ(log.completed.size(), std::size_t(n));
    EXPECT_EQ(log.early.load(), 0);
    for (std::size_t i = 1; i < log.completed.size(); ++i)
        EXPECT_LE(log.completed[i - 1], log.completed[i])
            << "position " << i << ": a timer due at +" << log.completed[i - 1]
            << " ms completed before one due at +" << log.completed[i] << " ms";
}

TEST(time, timers_fire_in_deadline_order_on_the_current_thread_runtime) {
    order_log log;
    bool setup_ok = run_ct(deadline_order_body(&log, 300, 7));
    ASSERT_TRUE(setup_ok) << "the tasks were not all parked before the first deadline";
    expect_completed_in_deadline_order(log, 300);
}

TEST(time, timers_fire_in_deadline_order_on_a_one_worker_multi_thread_runtime) {
    order_log log;
    bool setup_ok = run_mt(deadline_order_body(&log, 300, 11), 1);
    ASSERT_TRUE(setup_ok) << "the tasks were not all parked before the first deadline";
    expect_completed_in_deadline_order(log, 300);
}

TEST(time, timers_with_shuffled_deadlines_all_complete_on_time_with_two_workers) {
    // With two workers a batch of timers woken together may run in parallel, so only
    // completion and never-early are asserted here.
    order_log log;
    bool setup_ok = run_mt(deadline_order_body(&log, 300, 13), 2);
    ASSERT_TRUE(setup_ok);
    EXPECT_EQ(log.completed.size(), 300u);
    EXPECT_EQ(log.early.load(), 0);
}

// ------------------------------------------------------------------ zero and past deadlines

task<> set_flag(bool* flag) {
    *flag = true;
    co_return;
}

// Returns true if another runnable task got to run during the zero/past sleeps.
task<bool> zero_sleeps_body(int rounds) {
    bool other_ran = false;
    auto h = corio::spawn(set_flag(&other_ran));
    for (int i = 0; i < rounds; ++i) {
        co_await corio::sleep(0ms);
        co_await corio::sleep(-5ms);
        co_await corio::sleep_until(clock::now() - 1s);
        co_await corio::sleep_until(clock::time_point{});
    }
    bool ran = other_ran;
    co_await h;
    co_return ran;
}

TEST(time, sleep_zero_and_sleep_until_past_complete_without_parking_current_thread) {
    // 20 rounds x 4 awaits stay under the 128-operation poll budget: none may suspend, so
    // the other task (queued behind this one) cannot have run.
    EXPECT_FALSE(run_ct(zero_sleeps_body(20)));
}

TEST(time, sleep_zero_and_sleep_until_past_complete_without_parking_multi_thread) {
    EXPECT_FALSE(run_mt(zero_sleeps_body(20), 1));
}

TEST(time, many_zero_sleeps_eventually_yield_to_other_tasks) {
    // Past the poll budget a ready sleep yields once, so a loop of sleep(0) cannot starve
    // the other tasks of its worker.
    EXPECT_TRUE(run_ct(zero_sleeps_body(500)));
    EXPECT_TRUE(run_mt(zero_sleeps_body(500), 1));
}

task<bool> zero_sleep_leaves_no_timer() {
    for (int i = 0; i < 10; ++i) co_await corio::sleep(0ms);
    co_return pending_timers() == 0;
}

TEST(time, sleep_zero_queues_no_timer) {
    EXPECT_TRUE(run_ct(zero_sleep_leaves_no_timer()));
    EXPECT_TRUE(run_mt(zero_sleep_leaves_no_timer()));
}

// ------------------------------------------------------------------ cancellation

struct drop_flag {
    std::atomic<bool>* flag;
    ~drop_flag() { flag->store(true); }
};

task<> sleep_for_long(clock::duration d, std::atomic<bool>* destroyed) {
    drop_flag guard{destroyed};
    co_await corio::sleep(d);
    ADD_FAILURE() << "a sleep that should have been cancelled completed";
}

task<> sleep_until_long(clock::time_point tp, std::atomic<bool>* destroyed) {
    drop_flag guard{destroyed};
    co_await corio::sleep_until(tp);
    ADD_FAILURE() << "a sleep that should have been cancelled completed";
}

struct abort_result {
    bool parked = false;
    bool threw_cancelled = false;
    bool other_exception = false;
    bool destructors_ran = false;
    std::size_t pending_after = 99;
    clock::duration abort_latency{};
};

task<abort_result> abort_parked_sleep(task<> sleeper, std::atomic<bool>* destroyed) {
    abort_result r;
    auto h = corio::spawn(std::move(sleeper));
    r.parked = co_await yield_until([] { return pending_timers() == 1; });
    auto t0 = clock::now();
    h.abort();
    try {
        co_await h;
    } catch (const corio::cancelled_error&) {
        r.threw_cancelled = true;
    } catch (...) {
        r.other_exception = true;
    }
    r.abort_latency = clock::now() - t0;
    r.destructors_ran = destroyed->load();
    r.pending_after = pending_timers();
    co_return r;
}

void expect_prompt_cancellation(const abort_result& r) {
    EXPECT_TRUE(r.parked) << "the sleeper never queued its timer";
    EXPECT_TRUE(r.threw_cancelled);
    EXPECT_FALSE(r.other_exception);
    EXPECT_TRUE(r.destructors_ran);
    EXPECT_EQ(r.pending_after, 0u) << "the cancelled sleep left its timer in the wheel";
    EXPECT_LT(r.abort_latency, 2s) << "cancellation was not prompt";
}

TEST(time, aborting_a_task_parked_in_a_one_hour_sleep_throws_cancelled_promptly_multi_thread) {
    std::atomic<bool> destroyed{false};
    auto r = run_mt(abort_parked_sleep(sleep_for_long(1h, &destroyed), &destroyed));
    expect_prompt_cancellation(r);
}

TEST(time, aborting_a_task_parked_in_a_one_hour_sleep_throws_cancelled_promptly_current_thread) {
    std::atomic<bool> destroyed{false};
    auto r = run_ct(abort_parked_sleep(sleep_for_long(1h, &destroyed), &destroyed));
    expect_prompt_cancellation(r);
}

TEST(time, aborting_a_sleep_until_five_seconds_ahead_is_prompt_on_both_flavours) {
    // 5 s is past the first two wheel levels (4.096 s): the entry sits at level 2.
    std::atomic<bool> d1{false};
    expect_prompt_cancellation(
        run_mt(abort_parked_sleep(sleep_until_long(clock::now() + 5s, &d1), &d1)));
    std::atomic<bool> d2{false};
    expect_prompt_cancellation(
        run_ct(abort_parked_sleep(sleep_until_long(clock::now() + 5s, &d2), &d2)));
}

TEST(time, aborting_sleeps_at_every_wheel_level_is_prompt) {
    // Levels span 64 ms, 4 s, 4.4 min, 4.7 h, 12.4 days and 2.2 years.
    for (auto d : {std::chrono::duration_cast<clock::duration>(100ms),
                   std::chrono::duration_cast<clock::duration>(10s),
                   std::chrono::duration_cast<clock::duration>(30min),
                   std::chrono::duration_cast<clock::duration>(48h),
                   std::chrono::duration_cast<clock::duration>(std::chrono::hours(24 * 300))}) {
        SCOPED_TRACE(::testing::Message()
                     << "sleep of "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(d).count() << " ms");
        std::atomic<bool> destroyed{false};
        expect_prompt_cancellation(
            run_mt(abort_parked_sleep(sleep_for_long(d, &destroyed), &destroyed)));
    }
}

// A sleep longer than the whole wheel (2^36 ms, ~2.2 years) is parked at the top level.
// The runtime must keep running other timers and cancel it promptly. (A hang here ends in
// the watchdog's abort.)
task<bool> far_sleep_does_not_block_near_timers(std::atomic<bool>* destroyed) {
    // Let the runtime's clock move past its first milliseconds, as in any real program.
    co_await corio::sleep(5ms);
    auto h = corio::spawn(sleep_for_long(std::chrono::hours(24 * 365 * 3), destroyed));
    bool parked = co_await yield_until([] { return pending_timers() == 1; });
    auto t0 = clock::now();
    co_await corio::sleep(20ms);
    auto near = clock::now() - t0;
    EXPECT_GE(near, 20ms);
    EXPECT_LT(near, 2s) << "a near timer was held up by a far one";
    h.abort();
    bool threw = false;
    try {
        co_await h;
    } catch (const corio::cancelled_error&) {
        threw = true;
    }
    EXPECT_EQ(pending_timers(), 0u);
    co_return parked&& threw;
}

TEST(time,
     sleep_longer_than_the_wheel_span_neither_blocks_other_timers_nor_cancellation_multi_thread) {
    std::atomic<bool> destroyed{false};
    EXPECT_TRUE(run_mt_within(std::chrono::seconds(10),
                              far_sleep_does_not_block_near_timers(&destroyed),
                              "a runtime with a sleep longer than the wheel span"));
    EXPECT_TRUE(destroyed.load());
}

TEST(time,
     sleep_longer_than_the_wheel_span_neither_blocks_other_timers_nor_cancellation_current_thread) {
    std::atomic<bool> destroyed{false};
    EXPECT_TRUE(run_ct_within(std::chrono::seconds(10),
                              far_sleep_does_not_block_near_timers(&destroyed),
                              "a runtime with a sleep longer than the wheel span"));
    EXPECT_TRUE(destroyed.load());
}

task<bool> spawn_long_sleepers(int n, std::atomic<bool>* destroyed) {
    for (int i = 0; i < n; ++i) corio::spawn(sleep_for_long(1h, destroyed)).detach();
    co_return co_await yield_until([n] { return pending_timers() == std::size_t(n); });
}

void expect_quick_shutdown_with_parked_sleepers(bool multi) {
    corio::testing::watchdog wd(std::chrono::seconds(10), "runtime shutdown with parked sleepers");
    std::atomic<bool> destroyed{false};
    auto t0 = clock::now();
    {
        corio::runtime_options opts;
        opts.workers = 2;
        auto rt = multi ? corio::runtime{opts} : corio::runtime::current_thread();
        EXPECT_TRUE(rt.block_on(spawn_long_sleepers(100, &destroyed)));
        // The 100 sleepers (plus, on the multi-thread runtime, perhaps the block_on task,
        // whose frame its worker frees just after block_on returns).
        EXPECT_GE(rt.live_tasks(), 100u);
        EXPECT_LE(rt.live_tasks(), 101u);
    }  // ~runtime: cancels the 100 parked tasks
    EXPECT_LT(clock::now() - t0, 5s);
    EXPECT_TRUE(destroyed.load()) << "shutdown did not unwind the sleeping tasks";
}

TEST(time, runtime_with_tasks_parked_in_long_sleeps_shuts_down_quickly_multi_thread) {
    expect_quick_shutdown_with_parked_sleepers(true);
}

TEST(time, runtime_with_tasks_parked_in_long_sleeps_shuts_down_quickly_current_thread) {
    expect_quick_shutdown_with_parked_sleepers(false);
}

task<> catch_cancellation_then_sleep_again(std::atomic<int>* thrown) {
    try {
        co_await corio::sleep(1h);
    } catch (const corio::cancelled_error&) {
        thrown->fetch_add(1);
    }
    try {
        co_await corio::sleep(0ms);
    } catch (const corio::cancelled_error&) {
        thrown->fetch_add(1);
    }
    try {
        co_await corio::sleep(1h);
    } catch (const corio::cancelled_error&) {
        thrown->fetch_add(1);
    }
}

task<bool> cancelled_task_sleep_throws_at_once(std::atomic<int>* thrown) {
    auto h = corio::spawn(catch_cancellation_then_sleep_again(thrown));
    bool parked = co_await yield_until([] { return pending_timers() == 1; });
    h.abort();
    try {
        co_await h;  // the task swallowed the cancellation: either outcome is fine here
    } catch (const corio::cancelled_error&) {
    }
    co_return parked&& pending_timers() == 0;
}

TEST(time, cancellation_is_sticky_for_later_sleeps_in_the_same_task) {
    // After an abort, the parked sleep throws, and so does every later sleep (even sleep(0)
    // and a sleep that would park): nothing waits an hour.
    std::atomic<int> a{0};
    EXPECT_TRUE(run_mt(cancelled_task_sleep_throws_at_once(&a)));
    EXPECT_EQ(a.load(), 3);
    std::atomic<int> b{0};
    EXPECT_TRUE(run_ct(cancelled_task_sleep_throws_at_once(&b)));
    EXPECT_EQ(b.load(), 3);
}

// ------------------------------------------------------------------ interval

struct tick_log {
    std::vector<clock::time_point> scheduled;  // what tick() returned
    std::vector<clock::time_point> completed;  // clock::now() right after
};

task<tick_log> ticks(corio::interval* iv, int n) {
    tick_log log;
    for (int i = 0; i < n; ++i) {
        log.scheduled.push_back(co_await iv->tick());
        log.completed.push_back(clock::now());
    }
    co_return log;
}

task<clock::duration> first_tick_latency(clock::duration period) {
    corio::interval iv{period};
    auto t0 = clock::now();
    co_await iv.tick();
    co_return clock::now() - t0;
}

TEST(time, interval_first_tick_completes_immediately) {
    EXPECT_LT(run_mt(first_tick_latency(10s)), 1s);
    EXPECT_LT(run_ct(first_tick_latency(10s)), 1s);
}

task<tick_log> interval_with_start(clock::time_point start, clock::duration period, int n) {
    corio::interval iv{start, period};
    co_return co_await ticks(&iv, n);
}

TEST(time, interval_first_tick_is_at_the_given_start) {
    auto start = clock::now() + 50ms;
    auto log = run_ct(interval_with_start(start, 20ms, 1));
    ASSERT_EQ(log.scheduled.size(), 1u);
    EXPECT_EQ(log.scheduled[0], start);
    EXPECT_GE(log.completed[0], start) << "the first tick completed before its start";
}

// An interval created inside the task (so runtime start-up does not make its first ticks
// late); returns its start too.
task<std::pair<clock::time_point, tick_log>> interval_from_now(clock::duration period, int n) {
    auto start = clock::now();
    corio::interval iv{start, period};
    co_return std::pair{start, co_await ticks(&iv, n)};
}

TEST(time, interval_ticks_are_spaced_by_at_least_the_period) {
    constexpr auto period = std::chrono::duration_cast<clock::duration>(15ms);
    for (bool multi : {true, false}) {
        SCOPED_TRACE(multi ? "multi-thread" : "current-thread");
        auto [start, log] =
            multi ? run_mt(interval_from_now(period, 8)) : run_ct(interval_from_now(period, 8));
        ASSERT_EQ(log.scheduled.size(), 8u);
        EXPECT_LT(log.completed[0] - start, period) << "the first tick was not immediate";
        for (std::size_t i = 0; i < log.scheduled.size(); ++i) {
            SCOPED_TRACE(::testing::Message() << "tick " << i);
            EXPECT_EQ(log.scheduled[i], start + period * static_cast<int>(i));
            // Tick i never completes before i periods after the first (scheduled) tick.
            EXPECT_GE(log.completed[i] - start, period * static_cast<int>(i))
                << "a tick came early";
            if (i > 0) {
                EXPECT_GE(log.scheduled[i] - log.scheduled[i - 1], period);
            }
        }
    }
}

TEST(time, interval_period_and_behavior_are_reported) {
    corio::interval a{25ms};
    EXPECT_EQ(a.period(), clock::duration(25ms));
    EXPECT_EQ(a.behavior(), corio::missed_tick_behavior::burst);
    corio::interval b{clock::now(), 7ms, corio::missed_tick_behavior::skip};
    EXPECT_EQ(b.behavior(), corio::missed_tick_behavior::skip);
}

// One on-time tick, then the task blocks its thread for 3.5 periods, then ticks `after`
// more times. `blocked_until` is the time the block ended.
struct missed_run {
    clock::time_point start;
    clock::time_point blocked_until;
    tick_log log;
};

constexpr auto kPeriod = std::chrono::duration_cast<clock::duration>(40ms);

task<missed_run> miss_ticks(corio::missed_tick_behavior behavior, int after) {
    missed_run run;
    run.start = clock::now();
    corio::interval iv{run.start, kPeriod, behavior};
    auto first = co_await iv.tick();
    EXPECT_EQ(first, run.start);
    std::this_thread::sleep_for(kPeriod * 7 / 2);  // busy past 3 deadlines
    run.blocked_until = clock::now();
    run.log = co_await ticks(&iv, after);
    co_return run;
}

TEST(time, interval_burst_fires_missed_ticks_at_once_then_keeps_the_schedule) {
    for (bool multi : {true, false}) {
        SCOPED_TRACE(multi ? "multi-thread" : "current-thread");
        auto run = multi ? run_mt(miss_ticks(corio::missed_tick_behavior::burst, 5))
                         : run_ct(miss_ticks(corio::missed_tick_behavior::burst, 5));
        const auto& s = run.log.scheduled;
        ASSERT_EQ(s.size(), 5u);
        // The ticks keep the original schedule: start + P, + 2P, + 3P (missed), + 4P, + 5P.
        for (int i = 0; i < 5; ++i) EXPECT_EQ(s[i], run.start + kPeriod * (i + 1)) << "tick " << i;
        // The three missed ticks complete at once (no waiting for anything).
        EXPECT_LT(run.log.completed[2] - run.blocked_until, 2 * kPeriod)
            << "missed ticks were not burst";
        // The others wait for their time.
        EXPECT_GE(run.log.completed[3], s[3]);
        EXPECT_GE(run.log.completed[4], s[4]);
    }
}

TEST(time, interval_delay_shifts_the_schedule_to_one_period_after_the_late_tick) {
    for (bool multi : {true, false}) {
        SCOPED_TRACE(multi ? "multi-thread" : "current-thread");
        auto run = multi ? run_mt(miss_ticks(corio::missed_tick_behavior::delay, 3))
                         : run_ct(miss_ticks(corio::missed_tick_behavior::delay, 3));
        const auto& s = run.log.scheduled;
        const auto& c = run.log.completed;
        ASSERT_EQ(s.size(), 3u);
        // The late tick completes at once and reports its original time.
        EXPECT_EQ(s[0], run.start + kPeriod);
        EXPECT_LT(c[0] - run.blocked_until, 2 * kPeriod);
        // The next is one period after the moment the late tick was taken, not on the old grid.
        EXPECT_GE(s[1], run.blocked_until + kPeriod);
        EXPECT_LE(s[1], c[0] + kPeriod);
        EXPECT_GE(c[1], s[1]);
        EXPECT_GE(s[2] - s[1], kPeriod);
        EXPECT_GE(c[2], s[2]);
    }
}

TEST(time, interval_skip_drops_missed_ticks_and_stays_on_the_original_grid) {
    for (bool multi : {true, false}) {
        SCOPED_TRACE(multi ? "multi-thread" : "current-thread");
        auto run = multi ? run_mt(miss_ticks(corio::missed_tick_behavior::skip, 3))
                         : run_ct(miss_ticks(corio::missed_tick_behavior::skip, 3));
        const auto& s = run.log.scheduled;
        const auto& c = run.log.completed;
        ASSERT_EQ(s.size(), 3u);
        // The late tick completes at once with its original time...
        EXPECT_EQ(s[0], run.start + kPeriod);
        EXPECT_LT(c[0] - run.blocked_until, 2 * kPeriod);
        // ...then the next one is the first grid point after the late tick (start + 4P when
        // the block lasted 3.5 P): the ones at 2P and 3P are dropped.
        auto since_start = s[1] - run.start;
        EXPECT_EQ(since_start % kPeriod, clock::duration::zero()) << "off the original grid";
        EXPECT_GE(s[1], run.start + kPeriod * 4);
        EXPECT_GT(s[1], run.blocked_until);
        EXPECT_LE(s[1], c[0] + kPeriod);
        EXPECT_GE(c[1], s[1]);
        // Then on the grid again (a loaded machine may skip once more, never go back).
        EXPECT_EQ((s[2] - run.start) % kPeriod, clock::duration::zero()) << "off the original grid";
        EXPECT_GE(s[2], s[1] + kPeriod);
        EXPECT_LE(s[2], c[1] + kPeriod);
        EXPECT_GE(c[2], s[2]);
    }
}

task<tick_log> reset_then_tick(clock::time_point* reset_at) {
    corio::interval iv{clock::now(), 30ms};
    co_await iv.tick();
    *reset_at = clock::now();
    iv.reset();
    co_return co_await ticks(&iv, 1);
}

TEST(time, interval_reset_makes_the_next_tick_one_period_from_now) {
    clock::time_point reset_at;
    auto log = run_ct(reset_then_tick(&reset_at));
    ASSERT_EQ(log.scheduled.size(), 1u);
    EXPECT_GE(log.scheduled[0], reset_at + 30ms);
    EXPECT_GE(log.completed[0], log.scheduled[0]);
}

task<bool> abort_interval_tick() {
    auto h = corio::spawn([]() -> task<> {
        corio::interval iv{1h};
        co_await iv.tick();  // immediate
        co_await iv.tick();  // an hour away
        ADD_FAILURE() << "the interval ticked";
    });
    bool parked = co_await yield_until([] { return pending_timers() == 1; });
    h.abort();
    bool threw = false;
    try {
        co_await h;
    } catch (const corio::cancelled_error&) {
        threw = true;
    }
    co_return parked&& threw&& pending_timers() == 0;
}

TEST(time, interval_tick_is_a_cancellation_point) {
    EXPECT_TRUE(run_mt(abort_interval_tick()));
    EXPECT_TRUE(run_ct(abort_interval_tick()));
}

// ------------------------------------------------------------------ many timers

task<> short_sleep(std::atomic<int>* done, std::atomic<int>* early, int ms) {
    auto t0 = clock::now();
    co_await corio::sleep(std::chrono::milliseconds(ms));
    if (clock::now() - t0 < std::chrono::milliseconds(ms)) early->fetch_add(1);
    done->fetch_add(1, std::memory_order_relaxed);
}

task<std::size_t> many_timers(int n, std::atomic<int>* done, std::atomic<int>* early) {
    std::vector<corio::join_handle<void>> hs;
    hs.reserve(std::size_t(n));
    std::mt19937 rng(99);
    for (int i = 0; i < n; ++i)
        hs.push_back(corio::spawn(short_sleep(done, early, 1 + int(rng() % 50))));
    for (auto& h : hs) co_await h;
    co_return pending_timers();
}

constexpr int kManyTimers = 100'000;

TEST(time, hundred_thousand_concurrent_sleeps_all_complete_multi_thread) {
    std::atomic<int> done{0};
    std::atomic<int> early{0};
    EXPECT_EQ(run_mt(many_timers(kManyTimers, &done, &early)), 0u);
    EXPECT_EQ(done.load(), kManyTimers);
    EXPECT_EQ(early.load(), 0);
}

TEST(time, hundred_thousand_concurrent_sleeps_all_complete_current_thread) {
    std::atomic<int> done{0};
    std::atomic<int> early{0};
    EXPECT_EQ(run_ct(many_timers(kManyTimers, &done, &early)), 0u);
    EXPECT_EQ(done.load(), kManyTimers);
    EXPECT_EQ(early.load(), 0);
}

}  // namespace
