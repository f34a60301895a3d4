// Runtime shutdown: destroying a runtime with live tasks (parked in long sleeps, on a
// semaphore nobody releases, detached, queued and never started, blocked joining another
// task) finishes promptly and destroys every task's locals exactly once.
//
// Each task owns a `tracked` guard with its own slot in a `ledger`; the ledger counts every
// construction and destruction per slot, so "exactly once" is checked per task. The ASan
// build runs the same tests (use-after-free, leaks of frames).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::watchdog;

namespace {

struct ledger {
    explicit ledger(std::size_t n) : built(n), destroyed(n) {
        for (auto& b : built) b = 0;
        for (auto& d : destroyed) d = 0;
    }
    std::vector<std::atomic<int>> built;
    std::vector<std::atomic<int>> destroyed;
    std::atomic<int> started{0};  // tasks that reached their await
    std::atomic<int> passed{0};   // tasks that got past an await they must never pass
    std::atomic<int> caught{0};   // cancelled_error caught by the task
    std::atomic<int> body_ran{0};

    int total_built() const {
        int n = 0;
        for (auto& b : built) n += b.load();
        return n;
    }
    // Every slot built at most once and destroyed exactly as often as built.
    void expect_each_destroyed_exactly_once(int expected_built) const {
        EXPECT_EQ(total_built(), expected_built);
        for (std::size_t i = 0; i < built.size(); ++i) {
            EXPECT_LE(built[i].load(), 1) << "slot " << i;
            EXPECT_EQ(destroyed[i].load(), built[i].load())
                << "task " << i << ": locals destroyed " << destroyed[i].load() << " times, built "
                << built[i].load();
        }
    }
};

struct tracked {
    ledger& l;
    std::size_t slot;
    tracked(ledger& lg, std::size_t s) : l(lg), slot(s) { ++l.built[slot]; }
    tracked(const tracked&) = delete;
    tracked& operator=(const tracked&) = delete;
    ~tracked() { ++l.destroyed[slot]; }
};

// A parameter whose copies are counted (the frame's copy must be destroyed too).
struct param_probe {
    std::atomic<int>* alive;
    explicit param_probe(std::atomic<int>& a) : alive(&a) { ++*alive; }
    param_probe(const param_probe& o) : alive(o.alive) { ++*alive; }
    param_probe& operator=(const param_probe&) = delete;
    ~param_probe() { --*alive; }
};

corio::task<> sleeps_an_hour(ledger& l, std::size_t slot) {
    tracked t(l, slot);
    ++l.started;
    co_await corio::sleep(1h);
    ++l.passed;
}

corio::task<> waits_on(ledger& l, std::size_t slot, corio::semaphore& never) {
    tracked t(l, slot);
    ++l.started;
    auto permit = co_await never.acquire();
    ++l.passed;
}

// Waits (bounded) until `n` tasks have reached their await, from a plain thread.
void wait_started(const ledger& l, int n) {
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (l.started.load() < n && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    ASSERT_EQ(l.started.load(), n) << "tasks did not start";
}

template <class F>
std::chrono::steady_clock::duration time_it(F&& f) {
    auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::steady_clock::now() - start;
}

constexpr auto kPrompt = 5s;  // generous: shutdown involves no waiting on timers at all
// A shutdown that hangs fails the test (the watchdog aborts) without waiting a minute.
constexpr auto kWatchdog = 20s;

}  // namespace

TEST(shutdown, tasks_parked_in_a_one_hour_sleep_are_cancelled_and_destroyed_promptly) {
    constexpr int kTasks = 200;
    watchdog wd(kWatchdog);
    ledger l(kTasks);
    auto rt = std::make_unique<corio::runtime>(corio::runtime_options{.workers = 2});
    for (int i = 0; i < kTasks; ++i) rt->spawn(sleeps_an_hour(l, std::size_t(i))).detach();
    wait_started(l, kTasks);
    auto took = time_it([&] { rt.reset(); });
    EXPECT_LT(took, kPrompt);
    EXPECT_EQ(l.passed.load(), 0);
    l.expect_each_destroyed_exactly_once(kTasks);
}

TEST(shutdown, tasks_parked_on_a_semaphore_that_is_never_released) {
    constexpr int kTasks = 100;
    watchdog wd(kWatchdog);
    ledger l(kTasks);
    corio::semaphore never{0};  // outlives the runtime
    {
        corio::runtime rt{{.workers = 2}};
        for (int i = 0; i < kTasks; ++i) rt.spawn(waits_on(l, std::size_t(i), never)).detach();
        wait_started(l, kTasks);
        auto deadline = std::chrono::steady_clock::now() + 20s;
        while (never.waiters() < kTasks && std::chrono::steady_clock::now() < deadline)
            std::this_thread::yield();
        EXPECT_EQ(never.waiters(), std::size_t(kTasks));
        auto start = std::chrono::steady_clock::now();
        { corio::runtime gone = std::move(rt); }
        EXPECT_LT(std::chrono::steady_clock::now() - start, kPrompt);
    }
    EXPECT_EQ(l.passed.load(), 0);
    EXPECT_EQ(never.waiters(), 0u) << "cancelled waiters must leave the semaphore's queue";
    EXPECT_EQ(never.available_permits(), 0u);
    l.expect_each_destroyed_exactly_once(kTasks);
}

TEST(shutdown, detached_tasks_spawned_from_inside_a_task_are_cancelled) {
    constexpr int kTasks = 100;
    watchdog wd(kWatchdog);
    ledger l(2 * kTasks);
    corio::semaphore never{0};
    {
        corio::runtime rt{{.workers = 2}};
        rt.block_on([](ledger& lg, corio::semaphore& nv) -> corio::task<> {
            for (int i = 0; i < kTasks; ++i) {
                corio::spawn(sleeps_an_hour(lg, std::size_t(i))).detach();
                corio::spawn(waits_on(lg, std::size_t(kTasks + i), nv));  // handle dropped
            }
            co_return;
        }(l, never));
        wait_started(l, 2 * kTasks);
        auto took = time_it([&] { corio::runtime gone = std::move(rt); });
        EXPECT_LT(took, kPrompt);
    }
    EXPECT_EQ(l.passed.load(), 0);
    EXPECT_EQ(never.waiters(), 0u);
    l.expect_each_destroyed_exactly_once(2 * kTasks);
}

TEST(shutdown, parked_tasks_on_a_current_thread_runtime_are_cancelled_and_destroyed) {
    constexpr int kTasks = 100;
    watchdog wd(kWatchdog);
    ledger l(2 * kTasks);
    corio::semaphore never{0};
    {
        auto rt = corio::runtime::current_thread();
        rt.block_on([](ledger& lg, corio::semaphore& nv) -> corio::task<> {
            for (int i = 0; i < kTasks; ++i) {
                corio::spawn(sleeps_an_hour(lg, std::size_t(i))).detach();
                corio::spawn(waits_on(lg, std::size_t(kTasks + i), nv)).detach();
            }
            co_await corio::yield_now();  // FIFO: every spawned task runs up to its await
        }(l, never));
        EXPECT_EQ(l.started.load(), 2 * kTasks);
        auto took = time_it([&] { auto gone = std::move(rt); });
        EXPECT_LT(took, kPrompt);
    }
    EXPECT_EQ(l.passed.load(), 0);
    EXPECT_EQ(never.waiters(), 0u);
    l.expect_each_destroyed_exactly_once(2 * kTasks);
}

namespace {
corio::task<> queued_body(ledger& l, std::size_t slot, param_probe) {
    ++l.body_ran;
    tracked t(l, slot);
    co_await corio::sleep(1h);
    ++l.passed;
}
}  // namespace

TEST(shutdown, tasks_queued_but_never_started_are_destroyed_with_their_parameters) {
    constexpr int kTasks = 100;
    watchdog wd(kWatchdog);
    ledger l(kTasks);
    std::atomic<int> params_alive{0};
    {
        auto rt = corio::runtime::current_thread();
        // Spawned from outside and never driven by block_on: queued, never started.
        for (int i = 0; i < kTasks; ++i)
            rt.spawn(queued_body(l, std::size_t(i), param_probe(params_alive))).detach();
        EXPECT_EQ(params_alive.load(), kTasks);
        auto took = time_it([&] { auto gone = std::move(rt); });
        EXPECT_LT(took, kPrompt);
    }
    EXPECT_EQ(params_alive.load(), 0) << "every frame's parameter copy must be destroyed";
    EXPECT_EQ(l.passed.load(), 0);
    l.expect_each_destroyed_exactly_once(l.total_built());
}

TEST(shutdown, tasks_queued_but_never_started_do_not_start_during_shutdown) {
    // Shutdown cancels every task, and a cancelled task that never started never runs
    // (join_handle::abort's contract): its body must not run during shutdown either.
    constexpr int kTasks = 20;
    watchdog wd(kWatchdog);
    ledger l(kTasks);
    std::atomic<int> params_alive{0};
    {
        auto rt = corio::runtime::current_thread();
        for (int i = 0; i < kTasks; ++i)
            rt.spawn(queued_body(l, std::size_t(i), param_probe(params_alive))).detach();
    }
    EXPECT_EQ(l.body_ran.load(), 0) << "never-started tasks ran their body during shutdown";
    EXPECT_EQ(params_alive.load(), 0);
}

TEST(shutdown, tasks_spawned_just_before_shutdown_on_one_worker_are_destroyed) {
    // A root on the only worker spawns tasks (into that worker's queue) and returns: some or
    // all of them may not have started when the runtime is destroyed.
    constexpr int kTasks = 200;
    watchdog wd(kWatchdog);
    ledger l(kTasks);
    std::atomic<int> params_alive{0};
    {
        corio::runtime rt{{.workers = 1}};
        rt.block_on([](ledger& lg, std::atomic<int>& pa) -> corio::task<> {
            for (int i = 0; i < kTasks; ++i)
                corio::spawn(queued_body(lg, std::size_t(i), param_probe(pa))).detach();
            co_return;
        }(l, params_alive));
        auto took = time_it([&] { corio::runtime gone = std::move(rt); });
        EXPECT_LT(took, kPrompt);
    }
    EXPECT_EQ(params_alive.load(), 0);
    EXPECT_EQ(l.passed.load(), 0);
    l.expect_each_destroyed_exactly_once(l.total_built());
}

namespace {
corio::task<> joins(ledger& l, std::size_t slot, corio::join_handle<void> target) {
    tracked t(l, slot);
    ++l.started;
    co_await target;
    ++l.passed;
}

corio::task<> spawns_and_joins(ledger& l, std::size_t slot, corio::semaphore& never) {
    tracked t(l, slot);
    auto child = corio::spawn(waits_on(l, slot + 1, never));  // newer than this task
    ++l.started;
    co_await child;
    ++l.passed;
}
}  // namespace

TEST(shutdown, a_task_blocked_joining_an_older_parked_task) {
    constexpr int kPairs = 50;
    watchdog wd(kWatchdog);
    ledger l(2 * kPairs);
    {
        corio::runtime rt{{.workers = 2}};
        for (int i = 0; i < kPairs; ++i) {
            auto target = rt.spawn(sleeps_an_hour(l, std::size_t(2 * i)));
            rt.spawn(joins(l, std::size_t(2 * i + 1), std::move(target))).detach();
        }
        wait_started(l, 2 * kPairs);
        auto took = time_it([&] { corio::runtime gone = std::move(rt); });
        EXPECT_LT(took, kPrompt);
    }
    EXPECT_EQ(l.passed.load(), 0);
    l.expect_each_destroyed_exactly_once(2 * kPairs);
}

TEST(shutdown, a_task_blocked_joining_a_newer_parked_task) {
    constexpr int kPairs = 50;
    watchdog wd(kWatchdog);
    ledger l(2 * kPairs);
    corio::semaphore never{0};
    {
        corio::runtime rt{{.workers = 2}};
        for (int i = 0; i < kPairs; ++i)
            rt.spawn(spawns_and_joins(l, std::size_t(2 * i), never)).detach();
        wait_started(l, 2 * kPairs);
        auto took = time_it([&] { corio::runtime gone = std::move(rt); });
        EXPECT_LT(took, kPrompt);
    }
    EXPECT_EQ(l.passed.load(), 0);
    EXPECT_EQ(never.waiters(), 0u);
    l.expect_each_destroyed_exactly_once(2 * kPairs);
}

TEST(shutdown, a_task_blocked_joining_on_a_current_thread_runtime) {
    constexpr int kPairs = 20;
    watchdog wd(kWatchdog);
    ledger l(2 * kPairs);
    corio::semaphore never{0};
    {
        auto rt = corio::runtime::current_thread();
        rt.block_on([](ledger& lg, corio::semaphore& nv) -> corio::task<> {
            for (int i = 0; i < kPairs; ++i)
                corio::spawn(spawns_and_joins(lg, std::size_t(2 * i), nv)).detach();
            for (int i = 0; i < 3; ++i) co_await corio::yield_now();
        }(l, never));
        EXPECT_EQ(l.started.load(), 2 * kPairs);
    }
    EXPECT_EQ(l.passed.load(), 0);
    EXPECT_EQ(never.waiters(), 0u);
    l.expect_each_destroyed_exactly_once(2 * kPairs);
}

namespace {
corio::task<> catches_once_then_returns(ledger& l, std::size_t slot) {
    tracked t(l, slot);
    ++l.started;
    try {
        co_await corio::sleep(1h);
        ++l.passed;
    } catch (const corio::cancelled_error&) {
        ++l.caught;
    }
    // Cancellation is sticky: any further await throws again (and that ends the task).
    bool threw_again = false;
    try {
        co_await corio::yield_now();
    } catch (const corio::cancelled_error&) {
        threw_again = true;
    }
    if (!threw_again) ++l.passed;
    co_return;
}
}  // namespace

TEST(shutdown, a_task_that_catches_cancellation_once_and_returns_is_fine) {
    constexpr int kTasks = 50;
    watchdog wd(kWatchdog);
    ledger l(kTasks);
    {
        corio::runtime rt{{.workers = 2}};
        for (int i = 0; i < kTasks; ++i)
            rt.spawn(catches_once_then_returns(l, std::size_t(i))).detach();
        wait_started(l, kTasks);
        auto took = time_it([&] { corio::runtime gone = std::move(rt); });
        EXPECT_LT(took, kPrompt);
    }
    EXPECT_EQ(l.caught.load(), kTasks);
    EXPECT_EQ(l.passed.load(), 0);
    l.expect_each_destroyed_exactly_once(kTasks);
}

namespace {
corio::task<> spawns_on_cancellation(ledger& l, std::size_t slot) {
    tracked t(l, slot);
    ++l.started;
    try {
        co_await corio::sleep(1h);
    } catch (const corio::cancelled_error&) {
        ++l.caught;
        // Spawning during shutdown: the new task is cancelled in a later round.
        corio::spawn(sleeps_an_hour(l, slot + 1)).detach();
        throw;
    }
}
}  // namespace

TEST(shutdown, a_task_spawned_while_shutting_down_is_cancelled_too) {
    constexpr int kTasks = 20;
    watchdog wd(kWatchdog);
    ledger l(2 * kTasks);
    {
        corio::runtime rt{{.workers = 2}};
        for (int i = 0; i < kTasks; ++i)
            rt.spawn(spawns_on_cancellation(l, std::size_t(2 * i))).detach();
        wait_started(l, kTasks);
        auto took = time_it([&] { corio::runtime gone = std::move(rt); });
        EXPECT_LT(took, kPrompt);
    }
    EXPECT_EQ(l.caught.load(), kTasks);
    EXPECT_EQ(l.passed.load(), 0);
    l.expect_each_destroyed_exactly_once(2 * kTasks);
}

TEST(shutdown, join_handles_outliving_the_runtime_can_be_inspected_and_destroyed) {
    // Rule 4 of the shutdown protocol: frames held only by join handles are freed when the
    // handles are destroyed, after the runtime is gone.
    constexpr int kTasks = 20;
    watchdog wd(kWatchdog);
    ledger l(kTasks);
    std::vector<corio::join_handle<void>> handles;
    {
        corio::runtime rt{{.workers = 2}};
        for (int i = 0; i < kTasks; ++i)
            handles.push_back(rt.spawn(sleeps_an_hour(l, std::size_t(i))));
        wait_started(l, kTasks);
    }
    l.expect_each_destroyed_exactly_once(kTasks);
    for (auto& h : handles) {
        EXPECT_TRUE(h.is_finished()) << "shutdown completes every task";
        h.abort();  // no effect on a finished task, and must not touch the dead runtime
    }
    handles.clear();  // frees the frames
    SUCCEED();
}

TEST(shutdown, join_handles_outliving_a_current_thread_runtime_can_be_destroyed) {
    constexpr int kTasks = 5;
    watchdog wd(kWatchdog);
    ledger l(kTasks);
    std::vector<corio::join_handle<void>> handles;
    {
        auto rt = corio::runtime::current_thread();
        rt.block_on([](ledger& lg, std::vector<corio::join_handle<void>>& hs) -> corio::task<> {
            for (int i = 0; i < kTasks; ++i)
                hs.push_back(corio::spawn(sleeps_an_hour(lg, std::size_t(i))));
            co_await corio::yield_now();
        }(l, handles));
        EXPECT_EQ(l.started.load(), kTasks);
    }
    l.expect_each_destroyed_exactly_once(kTasks);
    for (auto& h : handles) EXPECT_TRUE(h.is_finished());
    handles.clear();  // frees the frames: must not touch the destroyed runtime
    SUCCEED();
}

TEST(shutdown, a_mix_of_every_kind_of_live_task_on_both_flavours) {
    watchdog wd(kWatchdog);
    for (int flavour = 0; flavour < 2; ++flavour) {
        constexpr int kEach = 30;
        ledger l(5 * kEach);
        corio::semaphore never{0};
        std::atomic<int> params_alive{0};
        {
            corio::runtime rt =
                flavour == 0 ? corio::runtime{{.workers = 2}} : corio::runtime::current_thread();
            rt.block_on([](ledger& lg, corio::semaphore& nv,
                           std::atomic<int>& pa) -> corio::task<> {
                for (int i = 0; i < kEach; ++i) {
                    corio::spawn(sleeps_an_hour(lg, std::size_t(i))).detach();
                    corio::spawn(waits_on(lg, std::size_t(kEach + i), nv)).detach();
                    corio::spawn(spawns_and_joins(lg, std::size_t(2 * kEach + 2 * i), nv)).detach();
                    corio::spawn(catches_once_then_returns(lg, std::size_t(4 * kEach + i)))
                        .detach();
                }
                co_await corio::sleep(1ms);
                // Last, and never given a chance to start on the current-thread flavour.
                for (int i = 0; i < kEach; ++i)
                    corio::spawn([](std::atomic<int>&, param_probe) -> corio::task<> {
                        co_await corio::sleep(1h);
                    }(pa, param_probe(pa)))
                        .detach();
            }(l, never, params_alive));
            auto took = time_it([&] { corio::runtime gone = std::move(rt); });
            EXPECT_LT(took, kPrompt) << "flavour " << flavour;
        }
        EXPECT_EQ(l.passed.load(), 0) << "flavour " << flavour;
        EXPECT_EQ(never.waiters(), 0u) << "flavour " << flavour;
        EXPECT_EQ(params_alive.load(), 0) << "flavour " << flavour;
        l.expect_each_destroyed_exactly_once(l.total_built());
    }
}
