// The cooperative budget: a task whose awaits are all ready at once must still let the
// other tasks run (after about kPollBudget of them), or a single-threaded runtime starves.
//
// Each test runs a loop of always-ready awaits that stops when another task sets a flag.
// Without the budget that task never runs while the loop does; the loop is bounded, so the
// failure is "the flag was not seen in time", not a hang.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

namespace {

constexpr long kBound = 100'000;                              // the loop gives up after this many
constexpr long kSeenWithin = 4 * corio::detail::kPollBudget;  // well before the bound

corio::task<> set_flag(std::atomic<bool>& flag) {
    flag = true;
    co_return;
}

// Result of a starvation probe: iterations until the flag was seen (or kBound).
struct probe_result {
    long iterations = 0;
    bool seen = false;
};

void expect_not_starved(const probe_result& r) {
    EXPECT_TRUE(r.seen) << "the other task never ran during " << r.iterations
                        << " always-ready awaits: the budget did not force a yield";
    EXPECT_LE(r.iterations, kSeenWithin);
}

corio::task<probe_result> spin_on_semaphore(corio::semaphore& sem) {
    std::atomic<bool> flag{false};
    auto other = corio::spawn(set_flag(flag));
    probe_result r;
    while (!flag.load() && r.iterations < kBound) {
        auto permit = co_await sem.acquire();  // plenty of permits: always ready
        EXPECT_EQ(permit.count(), 1u);
        ++r.iterations;
    }
    r.seen = flag.load();
    co_await other;
    co_return r;
}

corio::task<probe_result> spin_on_past_deadline() {
    std::atomic<bool> flag{false};
    auto other = corio::spawn(set_flag(flag));
    probe_result r;
    auto past = corio::clock::now() - 1s;
    while (!flag.load() && r.iterations < kBound) {
        co_await corio::sleep_until(past);
        ++r.iterations;
    }
    r.seen = flag.load();
    co_await other;
    co_return r;
}

corio::task<probe_result> spin_on_zero_sleep() {
    std::atomic<bool> flag{false};
    auto other = corio::spawn(set_flag(flag));
    probe_result r;
    while (!flag.load() && r.iterations < kBound) {
        co_await corio::sleep(0ms);
        ++r.iterations;
    }
    r.seen = flag.load();
    co_await other;
    co_return r;
}

// Awaits handles of tasks that have all finished already. Each handle is awaited once, so
// the loop is bounded by the number of handles.
corio::task<probe_result> spin_on_finished_join_handles(corio::semaphore& gate) {
    constexpr long kHandles = 20'000;
    std::vector<corio::join_handle<int>> done;
    done.reserve(kHandles);
    for (long i = 0; i < kHandles; ++i)
        done.push_back(corio::spawn([]() -> corio::task<int> { co_return 1; }()));
    std::atomic<bool> flag{false};
    // Parked on the gate until the loop starts, so it cannot set the flag early.
    auto other = corio::spawn([](corio::semaphore& g, std::atomic<bool>& f) -> corio::task<> {
        (co_await g.acquire()).forget();
        f = true;
    }(gate, flag));
    // Let every spawned task run to completion (FIFO on the current-thread flavour).
    for (int i = 0; i < 1000; ++i) {
        bool all = true;
        for (auto& h : done) all = all && h.is_finished();
        if (all) break;
        co_await corio::yield_now();
    }
    for (auto& h : done) EXPECT_TRUE(h.is_finished());
    EXPECT_FALSE(flag.load());
    gate.release();  // the other task is runnable from now on
    probe_result r;
    int sum = 0;
    for (auto& h : done) {
        if (flag.load()) break;
        sum += co_await h;  // ready at once
        ++r.iterations;
    }
    r.seen = flag.load();
    EXPECT_EQ(sum, r.iterations);
    co_await other;
    co_return r;
}

}  // namespace

TEST(budget, always_ready_semaphore_acquires_still_let_another_task_run_current_thread) {
    corio::semaphore sem{1'000'000};
    auto r = run_ct(spin_on_semaphore(sem));
    expect_not_starved(r);
    EXPECT_EQ(sem.available_permits(), 1'000'000u) << "every permit came back";
}

TEST(budget, always_ready_semaphore_acquires_still_let_another_task_run_single_worker) {
    corio::semaphore sem{1'000'000};
    auto r = run_mt(spin_on_semaphore(sem), /*workers=*/1);
    expect_not_starved(r);
}

TEST(budget, sleep_until_a_past_deadline_still_lets_another_task_run_current_thread) {
    expect_not_starved(run_ct(spin_on_past_deadline()));
}

TEST(budget, sleep_until_a_past_deadline_still_lets_another_task_run_single_worker) {
    expect_not_starved(run_mt(spin_on_past_deadline(), 1));
}

TEST(budget, zero_length_sleeps_still_let_another_task_run_current_thread) {
    expect_not_starved(run_ct(spin_on_zero_sleep()));
}

TEST(budget, awaiting_already_finished_join_handles_still_lets_another_task_run_current_thread) {
    corio::semaphore gate{0};
    expect_not_starved(run_ct(spin_on_finished_join_handles(gate)));
}

TEST(budget, a_budget_forced_yield_still_completes_the_await_normally) {
    // Past the budget an always-ready await yields first; it must still complete with its
    // normal result (a permit, a finished sleep), never lose it or throw.
    corio::semaphore sem{1};
    auto n = run_ct([](corio::semaphore& s) -> corio::task<long> {
        long ok = 0;
        for (long i = 0; i < 10 * corio::detail::kPollBudget; ++i) {
            auto permit = co_await s.acquire();
            if (permit.count() == 1 && s.available_permits() == 0) ++ok;
            co_await corio::sleep_until(corio::clock::now() - 1ms);
        }
        co_return ok;
    }(sem));
    EXPECT_EQ(n, 10 * corio::detail::kPollBudget);
    EXPECT_EQ(sem.available_permits(), 1u);
}
