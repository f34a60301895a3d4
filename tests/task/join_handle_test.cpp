// join_handle<T>: awaiting, detaching, abort() in every state, is_finished(), id(), and
// spawn(callable[, args...]) keeping the callable and its arguments alive.
//
// State shared between tasks (semaphores, probes) is declared outside the runtime so it
// outlives every task: a task that releases a semaphore may still be inside release() when
// the task it woke finishes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

namespace {

// What one task did: how many RAII guards it built and destroyed, and whether it ran code
// it must not reach.
struct probe {
    std::atomic<int> constructed{0};
    std::atomic<int> destroyed{0};
    std::atomic<int> body_ran{0};
    std::atomic<int> passed_await{0};
};

struct raii {
    probe& p;
    explicit raii(probe& q) : p(q) { ++p.constructed; }
    raii(const raii&) = delete;
    raii& operator=(const raii&) = delete;
    ~raii() { ++p.destroyed; }
};

// A parameter type whose copies are counted.
struct counted_param {
    static inline std::atomic<int> alive{0};
    counted_param() { ++alive; }
    counted_param(const counted_param&) { ++alive; }
    counted_param(counted_param&&) noexcept { ++alive; }
    ~counted_param() { --alive; }
};

corio::task<int> value_after_yield(int v) {
    co_await corio::yield_now();
    co_return v;
}

corio::task<int> throw_after_yield() {
    co_await corio::yield_now();
    throw std::runtime_error("from the spawned task");
}

// Parks in a one-hour sleep after announcing it is about to.
corio::task<int> sleeper(probe& p, corio::semaphore& parked) {
    raii guard(p);
    ++p.body_ran;
    parked.release();
    co_await corio::sleep(1h);
    ++p.passed_await;
    co_return 1;
}

// Parks on a semaphore nobody releases.
corio::task<int> acquirer(probe& p, corio::semaphore& parked, corio::semaphore& never) {
    raii guard(p);
    ++p.body_ran;
    parked.release();
    auto permit = co_await never.acquire();
    ++p.passed_await;
    co_return 1;
}

// Lets `n` yields happen so other tasks (and workers) make progress.
corio::task<> yield_times(int n) {
    for (int i = 0; i < n; ++i) co_await corio::yield_now();
}

}  // namespace

// ---------------------------------------------------------------- await

TEST(join_handle, await_gives_the_tasks_value_multi_thread) {
    int v = run_mt([]() -> corio::task<int> {
        auto h = corio::spawn(value_after_yield(17));
        co_return co_await h;
    }());
    EXPECT_EQ(v, 17);
}

TEST(join_handle, await_gives_the_tasks_value_current_thread) {
    int v = run_ct([]() -> corio::task<int> {
        auto a = corio::spawn(value_after_yield(1));
        auto b = corio::spawn(value_after_yield(2));
        int rb = co_await b;  // out of spawn order
        int ra = co_await a;
        co_return ra * 10 + rb;
    }());
    EXPECT_EQ(v, 12);
}

TEST(join_handle, await_gives_a_move_only_value) {
    auto p = run_mt([]() -> corio::task<std::unique_ptr<int>> {
        auto h = corio::spawn([]() -> corio::task<std::unique_ptr<int>> {
            co_await corio::yield_now();
            co_return std::make_unique<int>(5);
        });
        co_return co_await h;
    }());
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 5);
}

TEST(join_handle, await_rethrows_the_tasks_exception) {
    std::string what = run_mt([]() -> corio::task<std::string> {
        auto h = corio::spawn(throw_after_yield());
        try {
            co_await h;
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    }());
    EXPECT_EQ(what, "from the spawned task");
}

// ---------------------------------------------------------------- detach

TEST(join_handle, destroying_the_handle_detaches_and_the_task_runs_to_completion) {
    corio::semaphore gate{0};
    corio::semaphore done{0};
    std::atomic<int> effect{0};
    run_mt([](corio::semaphore& g, corio::semaphore& d, std::atomic<int>& e) -> corio::task<> {
        {
            auto h = corio::spawn([](corio::semaphore& g2, corio::semaphore& d2,
                                     std::atomic<int>& e2) -> corio::task<> {
                { auto permit = co_await g2.acquire(); }
                e2 = 1;
                d2.release();
            }(g, d, e));
            EXPECT_FALSE(h.is_finished());  // it cannot pass the gate yet
        }                                   // the handle dies here: the task is detached
        g.release();
        auto permit = co_await d.acquire();
        EXPECT_EQ(e.load(), 1);
    }(gate, done, effect));
    EXPECT_EQ(effect.load(), 1);
}

TEST(join_handle, detach_leaves_an_empty_handle_and_the_task_keeps_running) {
    corio::semaphore gate{0};
    corio::semaphore done{0};
    std::atomic<int> effect{0};
    run_ct([](corio::semaphore& g, corio::semaphore& d, std::atomic<int>& e) -> corio::task<> {
        auto h = corio::spawn(
            [](corio::semaphore& g2, corio::semaphore& d2, std::atomic<int>& e2) -> corio::task<> {
                { auto permit = co_await g2.acquire(); }
                e2 = 2;
                d2.release();
            }(g, d, e));
        EXPECT_NE(h.id(), 0u);
        h.detach();
        EXPECT_FALSE(h);
        EXPECT_EQ(h.id(), 0u);
        EXPECT_FALSE(h.is_finished());
        g.release();
        auto permit = co_await d.acquire();
    }(gate, done, effect));
    EXPECT_EQ(effect.load(), 2);
}

// ---------------------------------------------------------------- abort

TEST(join_handle, abort_while_parked_in_sleep_throws_cancelled_and_runs_destructors) {
    probe p;
    corio::semaphore parked{0};
    auto start = std::chrono::steady_clock::now();
    // Current-thread: the root resumes only after the child has parked in its sleep.
    bool cancelled = run_ct([](probe& pr, corio::semaphore& pk) -> corio::task<bool> {
        auto h = corio::spawn(sleeper(pr, pk));
        auto permit = co_await pk.acquire();
        EXPECT_FALSE(h.is_finished());
        h.abort();
        try {
            co_await h;
        } catch (const corio::cancelled_error&) {
            EXPECT_TRUE(h.is_finished());
            co_return true;
        }
        co_return false;
    }(p, parked));
    EXPECT_TRUE(cancelled) << "awaiting an aborted task must throw corio::cancelled_error";
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_EQ(p.body_ran.load(), 1);
    EXPECT_EQ(p.passed_await.load(), 0) << "the sleep must not complete normally";
    EXPECT_EQ(p.constructed.load(), 1);
    EXPECT_EQ(p.destroyed.load(), 1) << "the task's locals must be destroyed exactly once";
}

TEST(join_handle, abort_while_parked_in_sleep_multi_thread) {
    probe p;
    corio::semaphore parked{0};
    bool cancelled = run_mt([](probe& pr, corio::semaphore& pk) -> corio::task<bool> {
        auto h = corio::spawn(sleeper(pr, pk));
        auto permit = co_await pk.acquire();
        co_await yield_times(20);  // most likely parked by now; either way it must cancel
        h.abort();
        try {
            co_await h;
        } catch (const corio::cancelled_error&) {
            co_return true;
        }
        co_return false;
    }(p, parked));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(p.passed_await.load(), 0);
    EXPECT_EQ(p.constructed.load(), 1);
    EXPECT_EQ(p.destroyed.load(), 1);
}

TEST(join_handle, abort_while_parked_in_semaphore_acquire_throws_cancelled_and_runs_destructors) {
    probe p;
    corio::semaphore parked{0};
    corio::semaphore never{0};
    bool cancelled =
        run_ct([](probe& pr, corio::semaphore& pk, corio::semaphore& nv) -> corio::task<bool> {
            auto h = corio::spawn(acquirer(pr, pk, nv));
            auto permit = co_await pk.acquire();
            EXPECT_EQ(nv.waiters(), 1u) << "the child should be queued on the semaphore";
            h.abort();
            try {
                co_await h;
            } catch (const corio::cancelled_error&) {
                co_return true;
            }
            co_return false;
        }(p, parked, never));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(p.passed_await.load(), 0);
    EXPECT_EQ(p.constructed.load(), 1);
    EXPECT_EQ(p.destroyed.load(), 1);
    EXPECT_EQ(never.waiters(), 0u) << "the cancelled waiter must leave the queue";
    never.release();
    EXPECT_EQ(never.available_permits(), 1u) << "no permit may go to the cancelled waiter";
}

TEST(join_handle, abort_while_parked_in_semaphore_acquire_multi_thread) {
    probe p;
    corio::semaphore parked{0};
    corio::semaphore never{0};
    bool cancelled =
        run_mt([](probe& pr, corio::semaphore& pk, corio::semaphore& nv) -> corio::task<bool> {
            auto h = corio::spawn(acquirer(pr, pk, nv));
            auto permit = co_await pk.acquire();
            co_await yield_times(20);
            h.abort();
            try {
                co_await h;
            } catch (const corio::cancelled_error&) {
                co_return true;
            }
            co_return false;
        }(p, parked, never));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(p.passed_await.load(), 0);
    EXPECT_EQ(p.constructed.load(), 1);
    EXPECT_EQ(p.destroyed.load(), 1);
    EXPECT_EQ(never.waiters(), 0u);
}

namespace {
corio::task<int> never_should_run(probe& p, counted_param) {
    raii guard(p);
    ++p.body_ran;
    co_return 1;
}
}  // namespace

TEST(join_handle, abort_before_the_task_started_means_its_body_never_runs_current_thread) {
    probe p;
    counted_param::alive = 0;
    bool cancelled = run_ct([](probe& pr) -> corio::task<bool> {
        auto h = corio::spawn(never_should_run(pr, counted_param{}));
        h.abort();  // the root has not suspended: the child cannot have started
        try {
            co_await h;
        } catch (const corio::cancelled_error&) {
            co_return true;
        }
        co_return false;
    }(p));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(p.body_ran.load(), 0) << "an aborted task that never started must not run";
    EXPECT_EQ(p.constructed.load(), 0);
    EXPECT_EQ(counted_param::alive.load(), 0) << "the frame's parameters must be destroyed";
}

TEST(join_handle, abort_before_the_task_started_means_its_body_never_runs_multi_thread) {
    probe p;
    counted_param::alive = 0;
    // One worker: it is busy running the root, so the spawned task cannot start before abort.
    bool cancelled = run_mt(
        [](probe& pr) -> corio::task<bool> {
            auto h = corio::spawn(never_should_run(pr, counted_param{}));
            h.abort();
            try {
                co_await h;
            } catch (const corio::cancelled_error&) {
                co_return true;
            }
            co_return false;
        }(p),
        /*workers=*/1);
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(p.body_ran.load(), 0);
    EXPECT_EQ(counted_param::alive.load(), 0);
}

TEST(join_handle, abort_before_start_from_outside_a_current_thread_runtime) {
    probe p;
    counted_param::alive = 0;
    corio::testing::watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    // Spawned from outside: queued until block_on runs the runtime.
    auto h = rt.spawn(never_should_run(p, counted_param{}));
    h.abort();
    bool cancelled = rt.block_on([](corio::join_handle<int> jh) -> corio::task<bool> {
        try {
            co_await jh;
        } catch (const corio::cancelled_error&) {
            co_return true;
        }
        co_return false;
    }(std::move(h)));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(p.body_ran.load(), 0);
    EXPECT_EQ(counted_param::alive.load(), 0);
}

TEST(join_handle, abort_from_a_thread_outside_the_runtime_cancels_a_parked_task) {
    probe p;
    corio::semaphore parked{0};
    corio::testing::watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    auto h = rt.spawn(sleeper(p, parked));
    // Wait (from this plain thread) until the task announced it is parking.
    while (!parked.try_acquire()) std::this_thread::yield();
    h.abort();
    bool cancelled = rt.block_on([](corio::join_handle<int> jh) -> corio::task<bool> {
        try {
            co_await jh;
        } catch (const corio::cancelled_error&) {
            co_return true;
        }
        co_return false;
    }(std::move(h)));
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(p.passed_await.load(), 0);
    EXPECT_EQ(p.destroyed.load(), 1);
}

TEST(join_handle, abort_after_completion_has_no_effect_and_the_value_is_returned) {
    auto body = []() -> corio::task<int> {
        auto h = corio::spawn(value_after_yield(7));
        for (int i = 0; i < 100'000 && !h.is_finished(); ++i) co_await corio::yield_now();
        EXPECT_TRUE(h.is_finished());
        h.abort();
        h.abort();  // twice: still nothing
        EXPECT_TRUE(h.is_finished());
        co_return co_await h;
    };
    EXPECT_EQ(run_ct(body()), 7);
    EXPECT_EQ(run_mt(body()), 7);
}

TEST(join_handle, abort_after_completion_keeps_the_exception) {
    bool got_runtime_error = run_mt([]() -> corio::task<bool> {
        auto h = corio::spawn(throw_after_yield());
        for (int i = 0; i < 100'000 && !h.is_finished(); ++i) co_await corio::yield_now();
        h.abort();
        try {
            co_await h;
        } catch (const corio::cancelled_error&) {
            co_return false;
        } catch (const std::runtime_error&) {
            co_return true;
        }
        co_return false;
    }());
    EXPECT_TRUE(got_runtime_error);
}

// ---------------------------------------------------------------- is_finished / id

TEST(join_handle, is_finished_is_false_until_the_task_completes) {
    corio::semaphore gate{0};
    int v = run_mt([](corio::semaphore& g) -> corio::task<int> {
        auto h = corio::spawn([](corio::semaphore& g2) -> corio::task<int> {
            { auto permit = co_await g2.acquire(); }
            co_return 3;
        }(g));
        co_await yield_times(50);
        EXPECT_FALSE(h.is_finished()) << "the task is blocked on the gate";
        g.release();
        for (int i = 0; i < 1'000'000 && !h.is_finished(); ++i) co_await corio::yield_now();
        EXPECT_TRUE(h.is_finished());
        co_return co_await h;
    }(gate));
    EXPECT_EQ(v, 3);
    corio::join_handle<int> empty;
    EXPECT_FALSE(empty.is_finished());
    EXPECT_FALSE(empty);
}

TEST(join_handle, is_finished_becomes_true_after_abort_of_a_parked_task) {
    probe p;
    corio::semaphore parked{0};
    run_mt([](probe& pr, corio::semaphore& pk) -> corio::task<> {
        auto h = corio::spawn(sleeper(pr, pk));
        auto permit = co_await pk.acquire();
        h.abort();
        for (int i = 0; i < 1'000'000 && !h.is_finished(); ++i) co_await corio::yield_now();
        EXPECT_TRUE(h.is_finished());
        EXPECT_THROW(co_await h, corio::cancelled_error);
    }(p, parked));
    EXPECT_EQ(p.destroyed.load(), 1);
}

TEST(join_handle, ids_are_nonzero_and_unique) {
    constexpr int kTasks = 2000;
    auto ids = run_mt([]() -> corio::task<std::vector<std::uint64_t>> {
        std::vector<corio::join_handle<int>> hs;
        std::vector<std::uint64_t> out;
        for (int i = 0; i < kTasks; ++i) {
            hs.push_back(corio::spawn(value_after_yield(i)));
            out.push_back(hs.back().id());
        }
        for (int i = 0; i < kTasks; ++i) {
            EXPECT_EQ(hs[i].id(), out[i]) << "an id must not change over the task's life";
            EXPECT_EQ(co_await hs[i], i);
        }
        co_return out;
    }());
    std::set<std::uint64_t> unique(ids.begin(), ids.end());
    EXPECT_EQ(unique.size(), ids.size()) << "ids must be unique";
    EXPECT_EQ(unique.count(0), 0u) << "ids must be nonzero";
    EXPECT_EQ(corio::join_handle<int>{}.id(), 0u);
}

TEST(join_handle, moving_a_handle_transfers_the_task) {
    int v = run_ct([]() -> corio::task<int> {
        auto a = corio::spawn(value_after_yield(4));
        auto id = a.id();
        corio::join_handle<int> b = std::move(a);
        EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move)
        EXPECT_EQ(b.id(), id);
        corio::join_handle<int> c;
        c = std::move(b);
        EXPECT_EQ(c.id(), id);
        co_return co_await c;
    }());
    EXPECT_EQ(v, 4);
}

// ---------------------------------------------------------------- awaiting and cancellation

TEST(join_handle, awaiting_from_a_cancelled_task_throws_and_the_target_keeps_running) {
    corio::semaphore gate{0};
    corio::semaphore done{0};
    corio::semaphore waiter_parked{0};
    std::atomic<int> effect{0};
    run_mt([](corio::semaphore& g, corio::semaphore& d, corio::semaphore& wp,
              std::atomic<int>& e) -> corio::task<> {
        auto target = corio::spawn(
            [](corio::semaphore& g2, corio::semaphore& d2, std::atomic<int>& e2) -> corio::task<> {
                { auto permit = co_await g2.acquire(); }
                e2 = 1;
                d2.release();
            }(g, d, e));
        auto waiter =
            corio::spawn([](corio::join_handle<void> t, corio::semaphore& wp2) -> corio::task<> {
                wp2.release();
                co_await t;  // parks: the target waits for the gate
            }(std::move(target), wp));
        auto permit = co_await wp.acquire();
        co_await yield_times(10);
        waiter.abort();
        EXPECT_THROW(co_await waiter, corio::cancelled_error);
        EXPECT_EQ(e.load(), 0);
        g.release();  // the target, now detached, still completes
        auto p2 = co_await d.acquire();
        EXPECT_EQ(e.load(), 1);
    }(gate, done, waiter_parked, effect));
    EXPECT_EQ(effect.load(), 1);
}

TEST(join_handle, awaiting_a_task_after_cancellation_throws_before_the_child_starts) {
    probe p;
    corio::semaphore parked{0};
    corio::semaphore never{0};
    std::atomic<bool> caught_first{false};
    std::atomic<bool> child_ran{false};
    run_ct([](probe& pr, corio::semaphore& pk, corio::semaphore& nv, std::atomic<bool>& cf,
              std::atomic<bool>& cr) -> corio::task<> {
        auto h = corio::spawn([](probe& pr2, corio::semaphore& pk2, corio::semaphore& nv2,
                                 std::atomic<bool>& cf2, std::atomic<bool>& cr2) -> corio::task<> {
            raii guard(pr2);
            try {
                pk2.release();
                auto permit = co_await nv2.acquire();
            } catch (const corio::cancelled_error&) {
                cf2 = true;
            }
            // Cancellation is sticky: awaiting a task now throws before the child runs.
            co_await [](std::atomic<bool>& flag) -> corio::task<> {
                flag = true;
                co_return;
            }(cr2);
            ++pr2.passed_await;
        }(pr, pk, nv, cf, cr));
        auto permit = co_await pk.acquire();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
    }(p, parked, never, caught_first, child_ran));
    EXPECT_TRUE(caught_first.load());
    EXPECT_FALSE(child_ran.load()) << "a cancelled task's child task must never start";
    EXPECT_EQ(p.passed_await.load(), 0);
    EXPECT_EQ(p.destroyed.load(), 1);
}

// ---------------------------------------------------------------- spawn(callable[, args])

TEST(join_handle, spawn_callable_keeps_the_lambdas_captures_alive) {
    std::weak_ptr<int> weak;
    auto v = run_ct([](std::weak_ptr<int>& w) -> corio::task<std::size_t> {
        corio::join_handle<std::size_t> h;
        {
            auto shared = std::make_shared<int>(41);
            w = shared;
            // The lambda is a temporary: it dies at the end of this full expression.
            h = corio::spawn([text = std::string(200, 'x'), shared]() -> corio::task<std::size_t> {
                co_await corio::sleep(5ms);  // the spawner's scope is long gone by now
                co_return text.size() + std::size_t(*shared);
            });
        }
        EXPECT_FALSE(w.expired()) << "the task must own the lambda (and its captures)";
        std::size_t r = co_await h;
        h = {};  // the last reference: the frame, the lambda and its captures go
        EXPECT_TRUE(w.expired()) << "the lambda must be destroyed with the task";
        co_return r;
    }(weak));
    EXPECT_EQ(v, 241u);
    EXPECT_TRUE(weak.expired());
}

TEST(join_handle, spawn_callable_keeps_captures_alive_multi_thread) {
    auto v = run_mt([]() -> corio::task<std::size_t> {
        std::vector<corio::join_handle<std::size_t>> hs;
        for (int i = 0; i < 64; ++i) {
            auto lambda = [text = std::string(100 + std::size_t(i), 'y'),
                           shared = std::make_shared<std::size_t>(
                               std::size_t(i))]() -> corio::task<std::size_t> {
                co_await corio::sleep(2ms);
                co_return text.size() + *shared;
            };
            hs.push_back(corio::spawn(lambda));  // an lvalue: copied into the task
        }                                        // every lambda object is gone
        std::size_t sum = 0;
        for (auto& h : hs) sum += co_await h;
        co_return sum;
    }());
    std::size_t expected = 0;
    for (std::size_t i = 0; i < 64; ++i) expected += 100 + 2 * i;
    EXPECT_EQ(v, expected);
}

TEST(join_handle, spawn_callable_with_args_stores_the_args_by_value) {
    auto ok = run_mt([]() -> corio::task<bool> {
        std::string s = "hello";
        int n = 5;
        auto h = corio::spawn(
            [](const std::string& str, int num, const std::string* original,
               std::string temp) -> corio::task<bool> {
                co_await corio::sleep(3ms);
                // `str` refers to the task's own copy, not to the caller's string.
                co_return str == "hello" && &str != original&& num == 5 &&
                    temp == std::string(300, 't');
            },
            s, n, &s, std::string(300, 't'));  // the last argument is a dying temporary
        s = "changed after spawn";
        n = 6;
        co_return co_await h;
    }());
    EXPECT_TRUE(ok);
}

TEST(join_handle, spawn_callable_with_args_keeps_shared_args_alive_until_the_task_ends) {
    std::weak_ptr<std::string> weak;
    auto len = run_ct([](std::weak_ptr<std::string>& w) -> corio::task<std::size_t> {
        corio::join_handle<std::size_t> h;
        {
            auto sp = std::make_shared<std::string>(64, 'z');
            w = sp;
            h = corio::spawn(
                [](std::shared_ptr<std::string> p) -> corio::task<std::size_t> {
                    co_await corio::sleep(2ms);
                    co_return p->size();
                },
                std::move(sp));
        }
        EXPECT_FALSE(w.expired());
        auto r = co_await h;
        h = {};
        EXPECT_TRUE(w.expired());
        co_return r;
    }(weak));
    EXPECT_EQ(len, 64u);
}

TEST(join_handle, runtime_spawn_callable_from_outside_keeps_captures_alive) {
    corio::testing::watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    corio::join_handle<std::size_t> h;
    {
        std::string text(150, 'q');
        h = rt.spawn([text]() -> corio::task<std::size_t> {
            co_await corio::sleep(2ms);
            co_return text.size();
        });
    }
    auto h2 = rt.handle().spawn(
        [](std::string s) -> corio::task<std::size_t> {
            co_await corio::yield_now();
            co_return s.size();
        },
        std::string(77, 'w'));
    auto total = rt.block_on([](corio::join_handle<std::size_t> a,
                                corio::join_handle<std::size_t> b) -> corio::task<std::size_t> {
        co_return co_await a + co_await b;
    }(std::move(h), std::move(h2)));
    EXPECT_EQ(total, 227u);
}
