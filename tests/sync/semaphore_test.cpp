// corio::semaphore: permits, weighted FIFO acquisition, direct hand-off, close(), what
// cancellation does to a waiter (abort while queued, abort after the grant, losing a select,
// timeout), shutdown with parked waiters, and a bounded stress run that checks the permit
// count is never exceeded.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;

using corio::testing::run_mt;
using corio::testing::run_seeded;
using corio::testing::yield_until;

namespace {

// Yields until `pred()` holds, at most `max` times. For current-thread tests, where a yield
// lets every other runnable task run up to its next await.
// Counts live instances: a task's locals are destroyed when this returns to zero.
struct live {
    static inline std::atomic<int> count{0};
    live() { ++count; }
    live(const live&) { ++count; }
    ~live() { --count; }
};

corio::task<> acquire_and_record(corio::semaphore& sem, std::uint32_t n, int id,
                                 std::vector<int>& arrivals, std::vector<int>& order) {
    arrivals.push_back(id);
    auto permit = co_await sem.acquire(n);
    order.push_back(id);
    co_await corio::yield_now();  // hold the permits across an await
}  // permits returned here, handing them to the next waiter

corio::task<> fifo_round(std::size_t waiters) {
    corio::semaphore sem{0};
    std::vector<int> arrivals, order;
    std::vector<corio::join_handle<void>> hs;
    for (std::size_t i = 0; i < waiters; ++i)
        hs.push_back(corio::spawn(acquire_and_record(sem, 1, int(i), arrivals, order)));
    EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == waiters; }));
    sem.release(1);  // one permit travels down the queue
    for (auto& h : hs) co_await h;
    EXPECT_EQ(order, arrivals) << "permits must be granted in arrival order";
    EXPECT_EQ(sem.available_permits(), 1u);
}

}  // namespace

// ---------------------------------------------------------------- normal path

TEST(semaphore, acquire_takes_a_permit_and_dropping_it_returns_it) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{2};
        {
            auto p = co_await sem.acquire();
            EXPECT_EQ(p.count(), 1u);
            EXPECT_EQ(sem.available_permits(), 1u);
            auto q = co_await sem.acquire();
            EXPECT_EQ(sem.available_permits(), 0u);
        }
        EXPECT_EQ(sem.available_permits(), 2u);
    }());
}

TEST(semaphore, weighted_acquire_takes_n_permits_at_once) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{5};
        auto p = co_await sem.acquire(3);
        EXPECT_EQ(p.count(), 3u);
        EXPECT_EQ(sem.available_permits(), 2u);
        p.release();
        EXPECT_EQ(p.count(), 0u);
        EXPECT_EQ(sem.available_permits(), 5u);
        p.release();  // releasing twice is harmless
        EXPECT_EQ(sem.available_permits(), 5u);
    }());
}

TEST(semaphore, try_acquire_takes_permits_only_when_enough_are_free) {
    corio::semaphore sem{2};
    auto a = sem.try_acquire(2);
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->count(), 2u);
    EXPECT_FALSE(sem.try_acquire().has_value());
    a.reset();
    EXPECT_EQ(sem.available_permits(), 2u);
    EXPECT_FALSE(sem.try_acquire(3).has_value());
    EXPECT_EQ(sem.available_permits(), 2u);
}

TEST(semaphore, forgotten_permits_stay_out_of_the_semaphore) {
    corio::semaphore sem{3};
    {
        auto p = sem.try_acquire(2);
        ASSERT_TRUE(p);
        p->forget();
        EXPECT_EQ(p->count(), 0u);
    }
    EXPECT_EQ(sem.available_permits(), 1u);
    sem.add_permits(2);
    EXPECT_EQ(sem.available_permits(), 3u);
}

TEST(semaphore, moving_a_permit_transfers_it_and_move_assignment_releases_the_old_one) {
    corio::semaphore sem{3};
    auto a = sem.try_acquire(1);
    auto b = sem.try_acquire(2);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(sem.available_permits(), 0u);
    corio::semaphore_permit moved(std::move(*a));
    EXPECT_EQ(a->count(), 0u);
    EXPECT_EQ(moved.count(), 1u);
    moved = std::move(*b);  // releases the 1 it held
    EXPECT_EQ(sem.available_permits(), 1u);
    EXPECT_EQ(moved.count(), 2u);
    a.reset();
    b.reset();
    EXPECT_EQ(sem.available_permits(), 1u);
    moved.release();
    EXPECT_EQ(sem.available_permits(), 3u);
}

TEST(semaphore, release_wakes_a_parked_waiter_on_another_thread) {
    run_mt([]() -> corio::task<> {
        corio::semaphore sem{0};
        std::atomic<bool> got{false};
        auto h = corio::spawn([&]() -> corio::task<> {
            auto p = co_await sem.acquire();
            got = true;
        });
        while (sem.waiters() == 0 && !h.is_finished()) co_await corio::yield_now();
        EXPECT_FALSE(got.load());
        sem.add_permits(1);
        co_await h;
        EXPECT_TRUE(got.load());
        EXPECT_EQ(sem.available_permits(), 1u);
    }());
}

// ---------------------------------------------------------------- FIFO

TEST(semaphore, waiters_are_granted_in_arrival_order) {
    run_ct(fifo_round(20));
}

TEST(semaphore, waiters_are_granted_in_arrival_order_under_shuffled_scheduling) {
    for (std::uint64_t seed : {1ull, 7ull, 42ull, 0xdeadbeefull}) {
        SCOPED_TRACE(seed);
        run_seeded(fifo_round(20), seed);
    }
}

TEST(semaphore, large_waiter_at_the_head_holds_back_a_smaller_later_waiter) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{0};
        std::vector<int> arrivals, order;
        auto big = corio::spawn(acquire_and_record(sem, 5, 5, arrivals, order));
        EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == 1; }));
        auto small = corio::spawn(acquire_and_record(sem, 1, 1, arrivals, order));
        EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == 2; }));

        sem.release(1);  // enough for `small`, but `big` is first
        for (int i = 0; i < 10; ++i) co_await corio::yield_now();
        EXPECT_TRUE(order.empty()) << "the 1-permit waiter overtook the 5-permit waiter";
        EXPECT_EQ(sem.available_permits(), 1u);
        EXPECT_FALSE(sem.try_acquire(1).has_value()) << "try_acquire must not overtake waiters";

        sem.release(4);  // now `big` gets 5; `small` waits for them
        co_await big;
        co_await small;
        EXPECT_EQ(order, (std::vector<int>{5, 1}));
        EXPECT_EQ(sem.available_permits(), 5u);
    }());
}

TEST(semaphore, release_hands_the_permit_to_the_waiter_so_newcomers_cannot_take_it) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{0};
        std::vector<int> arrivals, order;
        auto h = corio::spawn(acquire_and_record(sem, 1, 0, arrivals, order));
        EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == 1; }));
        sem.release(1);
        // The waiter has not run yet, but the permit is already its own.
        EXPECT_EQ(sem.available_permits(), 0u);
        EXPECT_EQ(sem.waiters(), 0u);
        EXPECT_FALSE(sem.try_acquire().has_value());
        co_await h;
        EXPECT_EQ(order, (std::vector<int>{0}));
        EXPECT_EQ(sem.available_permits(), 1u);
    }());
}

// ---------------------------------------------------------------- close

TEST(semaphore, close_fails_queued_and_future_acquires_and_held_permits_stay_valid) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{1};
        auto held = co_await sem.acquire();
        std::atomic<int> closed_seen{0};
        auto waiter = [&]() -> corio::task<> {
            try {
                auto p = co_await sem.acquire();
                ADD_FAILURE() << "acquire succeeded on a closed semaphore";
            } catch (const corio::semaphore_closed&) {
                ++closed_seen;
            }
        };
        auto a = corio::spawn(waiter);
        auto b = corio::spawn(waiter);
        EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == 2; }));
        sem.close();
        EXPECT_TRUE(sem.is_closed());
        co_await a;
        co_await b;
        EXPECT_EQ(closed_seen.load(), 2);
        EXPECT_EQ(sem.waiters(), 0u);

        EXPECT_THROW((void)co_await sem.acquire(), corio::semaphore_closed);
        EXPECT_FALSE(sem.try_acquire().has_value());

        EXPECT_EQ(held.count(), 1u);
        held.release();  // harmless after close
        EXPECT_EQ(sem.available_permits(), 1u);
        EXPECT_THROW((void)co_await sem.acquire(), corio::semaphore_closed);
    }());
}

// ---------------------------------------------------------------- cancellation

TEST(semaphore, aborted_waiter_leaves_the_queue_holding_nothing) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{0};
        std::vector<int> arrivals, order;
        auto first = corio::spawn(acquire_and_record(sem, 1, 0, arrivals, order));
        auto second = corio::spawn(acquire_and_record(sem, 1, 1, arrivals, order));
        EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == 2; }));
        first.abort();
        EXPECT_THROW(co_await first, corio::cancelled_error);
        EXPECT_EQ(sem.waiters(), 1u);
        EXPECT_EQ(sem.available_permits(), 0u);
        sem.release(1);
        co_await second;
        EXPECT_EQ(order, (std::vector<int>{1}));
        EXPECT_EQ(sem.available_permits(), 1u);
    }());
}

// The header: only the waiter at the head holds back later ones. When that head waiter is
// cancelled, a later waiter whose request fits the free permits must get them without
// waiting for another release.
TEST(semaphore, cancelled_head_waiter_lets_a_satisfiable_waiter_behind_it_proceed) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{3};
        std::vector<int> arrivals, order;
        auto big = corio::spawn(acquire_and_record(sem, 5, 5, arrivals, order));
        EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == 1; }));
        auto small = corio::spawn(acquire_and_record(sem, 1, 1, arrivals, order));
        EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == 2; }));
        EXPECT_TRUE(order.empty());

        big.abort();
        EXPECT_THROW(co_await big, corio::cancelled_error);
        bool proceeded = co_await yield_until([&] { return !order.empty(); }, 1000);
        EXPECT_TRUE(proceeded) << "3 permits are free and the only waiter wants 1, yet it is "
                                  "still parked (waiters() = "
                               << sem.waiters() << ", available = " << sem.available_permits()
                               << ")";
        if (!proceeded) sem.release(1);  // unblock it so the test can finish
        co_await small;
        EXPECT_EQ(order, (std::vector<int>{1}));
    }());
}

TEST(semaphore, grant_received_before_the_abort_wins_and_the_permit_is_returned_on_unwind) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{0};
        bool acquired = false, passed_next_await = false;
        auto h = corio::spawn([&]() -> corio::task<> {
            auto p = co_await sem.acquire();
            acquired = true;
            co_await corio::yield_now();  // the cancellation is seen here
            passed_next_await = true;
        });
        EXPECT_TRUE(co_await yield_until([&] { return sem.waiters() == 1; }));
        sem.release(1);  // granted: the task is woken, not yet run
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_TRUE(acquired) << "a grant received before the cancellation must win";
        EXPECT_FALSE(passed_next_await);
        EXPECT_EQ(sem.available_permits(), 1u) << "the permit must come back when it is dropped";
        EXPECT_EQ(sem.waiters(), 0u);
    }());
}

TEST(semaphore, timed_out_acquire_leaves_the_queue) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{0};
        EXPECT_THROW((void)co_await corio::timeout(20ms, sem.acquire()), corio::timed_out);
        EXPECT_EQ(sem.waiters(), 0u);
        sem.release(1);
        EXPECT_EQ(sem.available_permits(), 1u);
        auto p = co_await corio::timeout(1s, sem.acquire());
        EXPECT_EQ(p.count(), 1u);
    }());
}

// Both branches of the select are completed before the task runs: the permit is granted and
// the notification delivered. Whichever loses must give back what it got.
TEST(semaphore, select_loser_acquire_gives_back_a_permit_granted_at_the_same_moment) {
    run_ct([]() -> corio::task<> {
        int acquire_won = 0, notify_won = 0;
        for (int iter = 0; iter < 200; ++iter) {
            corio::semaphore sem{0};
            corio::notify n;
            auto h = corio::spawn([&]() -> corio::task<std::size_t> {
                auto r = co_await corio::select(sem.acquire(), n.notified());
                co_return r.index();  // a won permit is dropped here
            });
            EXPECT_TRUE(
                co_await yield_until([&] { return sem.waiters() == 1 && n.waiters() == 1; }));
            sem.release(1);
            n.notify_one();
            std::size_t winner = co_await h;
            EXPECT_EQ(sem.available_permits(), 1u) << "iteration " << iter << ": permit lost";
            EXPECT_EQ(sem.waiters(), 0u);
            if (winner == 0) {
                ++acquire_won;
                // The losing notified() passed its notification on: stored as the permit.
                EXPECT_NO_THROW(co_await corio::timeout(5s, n.notified()));
            } else {
                ++notify_won;
            }
        }
        EXPECT_GT(acquire_won, 0);
        EXPECT_GT(notify_won, 0) << "the acquire branch must lose sometimes (rotating start)";
    }());
}

// The sleep fires and the permit is granted before the task is polled (event_interval = 1:
// the timer wheel is turned after every poll).
TEST(semaphore, select_loser_acquire_gives_back_a_permit_granted_as_the_sleep_fires) {
    corio::testing::watchdog w(60s);
    corio::runtime_options opts;
    opts.event_interval = 1;  // turn the timer wheel after every poll
    auto rt = corio::runtime::current_thread(opts);
    rt.block_on([]() -> corio::task<> {
        int acquire_won = 0, sleep_won = 0;
        for (int iter = 0; iter < 60; ++iter) {
            corio::semaphore sem{0};
            auto deadline = corio::clock::now() + 1ms;
            auto h = corio::spawn([&]() -> corio::task<std::size_t> {
                auto r = co_await corio::select(sem.acquire(), corio::sleep_until(deadline));
                co_return r.index();
            });
            EXPECT_TRUE(
                co_await yield_until([&] { return sem.waiters() == 1 || h.is_finished(); }));
            std::this_thread::sleep_until(deadline + 3ms);  // let the timer come due
            sem.release(1);
            std::size_t winner = co_await h;
            (winner == 0 ? acquire_won : sleep_won)++;
            EXPECT_EQ(sem.available_permits(), 1u) << "iteration " << iter << ": permit lost";
            EXPECT_EQ(sem.waiters(), 0u);
        }
        EXPECT_EQ(acquire_won + sleep_won, 60);
    }());
}

TEST(semaphore, select_loser_acquire_racing_a_release_on_another_thread_never_loses_a_permit) {
    run_mt([]() -> corio::task<> {
        for (int iter = 0; iter < 300; ++iter) {
            corio::semaphore sem{0};
            auto deadline = corio::clock::now() + 200us;
            auto h = corio::spawn([&]() -> corio::task<std::size_t> {
                auto r = co_await corio::select(sem.acquire(), corio::sleep_until(deadline));
                co_return r.index();
            });
            while (corio::clock::now() < deadline + std::chrono::microseconds(iter % 1200)) {
            }
            sem.release(1);
            co_await h;
            EXPECT_EQ(sem.available_permits(), 1u) << "iteration " << iter;
            EXPECT_EQ(sem.waiters(), 0u);
        }
    }());
}

TEST(semaphore, runtime_shutdown_with_parked_waiters_is_prompt_and_frees_them) {
    live::count = 0;
    corio::semaphore sem{0};
    auto start = std::chrono::steady_clock::now();
    {
        corio::testing::watchdog w(20s, "semaphore shutdown (multi-thread)");
        corio::runtime_options opts;
        opts.workers = 2;
        corio::runtime rt{opts};
        rt.block_on([](corio::semaphore& s) -> corio::task<> {
            for (int i = 0; i < 50; ++i) {
                corio::spawn([&s]() -> corio::task<> {
                    live guard;
                    auto p = co_await s.acquire();
                    ADD_FAILURE() << "nobody releases: the acquire must not complete";
                }).detach();
            }
            for (int i = 0; i < 100'000 && s.waiters() < 50; ++i) co_await corio::yield_now();
            EXPECT_EQ(s.waiters(), 50u);
        }(sem));
        EXPECT_EQ(live::count.load(), 50);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_EQ(live::count.load(), 0) << "parked tasks' locals must be destroyed at shutdown";
    EXPECT_EQ(sem.waiters(), 0u) << "cancelled waiters must leave the queue";
    EXPECT_EQ(sem.available_permits(), 0u);
}

// ---------------------------------------------------------------- stress

namespace {

corio::task<> permit_stress(std::size_t permits, int tasks, int rounds) {
    corio::semaphore sem{permits};
    std::atomic<int> inside{0}, max_inside{0}, total{0};
    std::vector<corio::join_handle<void>> hs;
    for (int t = 0; t < tasks; ++t) {
        hs.push_back(corio::spawn([&, t]() -> corio::task<> {
            for (int r = 0; r < rounds; ++r) {
                auto p = co_await sem.acquire(1 + std::uint32_t((t + r) % 2));
                int now = inside.fetch_add(int(p.count())) + int(p.count());
                int prev = max_inside.load();
                while (now > prev && !max_inside.compare_exchange_weak(prev, now)) {
                }
                co_await corio::yield_now();
                inside.fetch_sub(int(p.count()));
                ++total;
            }
        }));
    }
    for (auto& h : hs) co_await h;
    EXPECT_LE(max_inside.load(), int(permits)) << "more permits in use than the semaphore has";
    EXPECT_GE(max_inside.load(), 2);
    EXPECT_EQ(total.load(), tasks * rounds);
    EXPECT_EQ(sem.available_permits(), permits);
    EXPECT_EQ(sem.waiters(), 0u);
}

}  // namespace

TEST(semaphore, stress_permits_in_use_never_exceed_the_limit_on_two_workers) {
    run_mt(permit_stress(3, 50, 200), 2);
}

TEST(semaphore, stress_permits_in_use_never_exceed_the_limit_on_four_workers) {
    run_mt(permit_stress(3, 50, 200), 4);
}

TEST(semaphore, stress_permits_in_use_never_exceed_the_limit_under_shuffled_scheduling) {
    for (std::uint64_t seed : {3ull, 99ull, 12345ull}) {
        SCOPED_TRACE(seed);
        run_seeded(permit_stress(3, 30, 100), seed);
    }
}
