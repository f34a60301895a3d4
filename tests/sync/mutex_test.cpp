// corio::mutex<T>: access through the guard, try_lock, holding across awaits, FIFO hand-off,
// what cancellation does to a waiter (abort while queued, abort after the hand-off, losing a
// select, timeout), shutdown with parked waiters, and a bounded stress run on a non-atomic
// counter.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
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

struct live {
    static inline std::atomic<int> count{0};
    live() { ++count; }
    live(const live&) { ++count; }
    ~live() { --count; }
};

// Records its arrival, takes the lock, records the acquisition, holds it across an await.
corio::task<> lock_and_record(corio::mutex<std::vector<int>>& m, int id, std::vector<int>& arrivals,
                              int& waiting) {
    arrivals.push_back(id);
    ++waiting;
    auto g = co_await m.lock();
    --waiting;
    g->push_back(id);
    co_await corio::yield_now();
}

corio::task<> fifo_round(int tasks) {
    corio::mutex<std::vector<int>> m;
    std::vector<int> arrivals;
    int waiting = 0;
    std::vector<corio::join_handle<void>> hs;
    {
        auto g = co_await m.lock();
        for (int i = 0; i < tasks; ++i)
            hs.push_back(corio::spawn(lock_and_record(m, i, arrivals, waiting)));
        EXPECT_TRUE(co_await yield_until([&] { return waiting == tasks; }));
    }
    for (auto& h : hs) co_await h;
    EXPECT_EQ(m.get_mut(), arrivals) << "the lock must be handed over in arrival order";
    EXPECT_FALSE(m.is_locked());
}

}  // namespace

// ---------------------------------------------------------------- normal path

TEST(mutex, guard_gives_access_to_the_value_and_unlocks_when_destroyed) {
    run_ct([]() -> corio::task<> {
        corio::mutex<std::string> m{"a"};
        {
            auto g = co_await m.lock();
            EXPECT_TRUE(m.is_locked());
            g->append("b");
            *g += "c";
        }
        EXPECT_FALSE(m.is_locked());
        auto g = co_await m.lock();
        EXPECT_EQ(*g, "abc");
    }());
}

TEST(mutex, try_lock_fails_while_locked_and_succeeds_when_free) {
    corio::mutex<int> m{5};
    auto g = m.try_lock();
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(**g, 5);
    EXPECT_FALSE(m.try_lock().has_value());
    g->unlock();
    EXPECT_FALSE(m.is_locked());
    g->unlock();  // harmless: the guard no longer owns the lock
    EXPECT_FALSE(m.is_locked());
    auto again = m.try_lock();
    EXPECT_TRUE(again.has_value());
}

TEST(mutex, moved_guard_keeps_the_lock_and_move_assignment_unlocks_the_old_one) {
    corio::mutex<int> a{1}, b{2};
    auto ga = a.try_lock();
    auto gb = b.try_lock();
    ASSERT_TRUE(ga && gb);
    corio::mutex_guard<int> g(std::move(*ga));
    EXPECT_TRUE(a.is_locked());
    ga.reset();
    EXPECT_TRUE(a.is_locked()) << "the moved-from guard must not unlock";
    g = std::move(*gb);
    EXPECT_FALSE(a.is_locked());
    EXPECT_TRUE(b.is_locked());
    EXPECT_EQ(*g, 2);
    gb.reset();
    EXPECT_TRUE(b.is_locked());
}

TEST(mutex, lock_is_held_across_awaits_and_the_task_may_resume_on_another_thread) {
    run_mt([]() -> corio::task<> {
        corio::mutex<std::vector<std::thread::id>> m;
        std::vector<corio::join_handle<void>> hs;
        for (int i = 0; i < 8; ++i) {
            hs.push_back(corio::spawn([&]() -> corio::task<> {
                for (int k = 0; k < 50; ++k) {
                    auto g = co_await m.lock();
                    std::size_t before = g->size();
                    co_await corio::yield_now();
                    g->push_back(std::this_thread::get_id());
                    EXPECT_EQ(g->size(), before + 1)
                        << "someone else got in while the lock was held";
                }
            }));
        }
        for (auto& h : hs) co_await h;
        EXPECT_EQ(m.get_mut().size(), 400u);
    }());
}

// ---------------------------------------------------------------- FIFO

TEST(mutex, waiters_get_the_lock_in_arrival_order) {
    run_ct(fifo_round(20));
}

TEST(mutex, waiters_get_the_lock_in_arrival_order_under_shuffled_scheduling) {
    for (std::uint64_t seed : {1ull, 5ull, 77ull, 0xfeedull}) {
        SCOPED_TRACE(seed);
        run_seeded(fifo_round(20), seed);
    }
}

TEST(mutex, unlock_hands_the_lock_to_the_first_waiter_so_a_newcomer_cannot_barge) {
    run_ct([]() -> corio::task<> {
        corio::mutex<std::vector<int>> m;
        std::vector<int> arrivals;
        int waiting = 0;
        auto g = co_await m.lock();
        auto h = corio::spawn(lock_and_record(m, 1, arrivals, waiting));
        EXPECT_TRUE(co_await yield_until([&] { return waiting == 1; }));
        g.unlock();
        EXPECT_TRUE(m.is_locked()) << "ownership moves to the waiter at unlock";
        EXPECT_FALSE(m.try_lock().has_value());
        co_await h;
        EXPECT_FALSE(m.is_locked());
        EXPECT_EQ(m.get_mut(), (std::vector<int>{1}));
    }());
}

// ---------------------------------------------------------------- cancellation

TEST(mutex, aborted_waiter_leaves_the_queue_and_never_gets_the_lock) {
    run_ct([]() -> corio::task<> {
        corio::mutex<std::vector<int>> m;
        std::vector<int> arrivals;
        int waiting = 0;
        std::vector<corio::join_handle<void>> hs;
        {
            auto g = co_await m.lock();
            for (int i = 0; i < 4; ++i)
                hs.push_back(corio::spawn(lock_and_record(m, i, arrivals, waiting)));
            EXPECT_TRUE(co_await yield_until([&] { return waiting == 4; }));
            hs[1].abort();
            EXPECT_THROW(co_await hs[1], corio::cancelled_error);
        }
        co_await hs[0];
        co_await hs[2];
        co_await hs[3];
        EXPECT_EQ(m.get_mut(), (std::vector<int>{0, 2, 3}));
        EXPECT_FALSE(m.is_locked());
    }());
}

TEST(mutex, lock_handed_over_before_the_abort_wins_and_is_unlocked_on_unwind) {
    run_ct([]() -> corio::task<> {
        corio::mutex<int> m{0};
        bool got = false, passed = false, next_got = false;
        auto g = co_await m.lock();
        auto a = corio::spawn([&]() -> corio::task<> {
            auto mine = co_await m.lock();
            got = true;
            *mine = 1;
            co_await corio::yield_now();  // cancellation seen here; the guard unlocks
            passed = true;
        });
        EXPECT_TRUE(co_await yield_until([&] { return m.is_locked() && !a.is_finished(); }));
        for (int i = 0; i < 3; ++i) co_await corio::yield_now();  // `a` is parked in lock()
        auto b = corio::spawn([&]() -> corio::task<> {
            auto mine = co_await m.lock();
            next_got = true;
            EXPECT_EQ(*mine, 1);
        });
        for (int i = 0; i < 3; ++i) co_await corio::yield_now();
        g.unlock();  // handed to `a`, which has not run yet
        a.abort();
        EXPECT_THROW(co_await a, corio::cancelled_error);
        EXPECT_TRUE(got) << "the hand-off before the cancellation must win";
        EXPECT_FALSE(passed);
        co_await b;
        EXPECT_TRUE(next_got) << "the aborted owner's guard must pass the lock on";
        EXPECT_FALSE(m.is_locked());
    }());
}

#if CORIO_SELECT_NON_DEFAULT_RESULTS
TEST(mutex, timed_out_lock_leaves_the_queue) {
    run_ct([]() -> corio::task<> {
        corio::mutex<int> m{0};
        auto g = co_await m.lock();
        EXPECT_THROW((void)co_await corio::timeout(20ms, m.lock()), corio::timed_out);
        g.unlock();
        EXPECT_FALSE(m.is_locked()) << "a timed-out waiter must not be handed the lock";
        auto again = m.try_lock();
        EXPECT_TRUE(again.has_value());
    }());
}
#else
TEST(mutex, timed_out_lock_leaves_the_queue) {
    FAIL()
        << "does not compile: corio::select()/timeout() over an await whose result has no "
           "default constructor (select.hpp resume_winner default-constructs the result variant)";
}
#endif

#if CORIO_SELECT_NON_DEFAULT_RESULTS
TEST(mutex, select_loser_lock_handed_over_at_the_same_moment_is_unlocked) {
    run_ct([]() -> corio::task<> {
        int lock_won = 0, notify_won = 0;
        for (int iter = 0; iter < 200; ++iter) {
            corio::mutex<int> m{0};
            corio::notify n;
            auto g = co_await m.lock();
            bool parked = false;
            auto h = corio::spawn([&]() -> corio::task<std::size_t> {
                parked = true;
                auto r = co_await corio::select(m.lock(), n.notified());
                co_return r.index();  // a won guard unlocks here
            });
            EXPECT_TRUE(co_await yield_until([&] { return parked && n.waiters() == 1; }));
            g.unlock();  // handed to the select's lock branch
            n.notify_one();
            std::size_t winner = co_await h;
            (winner == 0 ? lock_won : notify_won)++;
            EXPECT_FALSE(m.is_locked()) << "iteration " << iter << ": the lock was lost";
            EXPECT_TRUE(m.try_lock().has_value());
        }
        EXPECT_GT(lock_won, 0);
        EXPECT_GT(notify_won, 0);
    }());
}
#else
TEST(mutex, select_loser_lock_handed_over_at_the_same_moment_is_unlocked) {
    FAIL()
        << "does not compile: corio::select()/timeout() over an await whose result has no "
           "default constructor (select.hpp resume_winner default-constructs the result variant)";
}
#endif

TEST(mutex, runtime_shutdown_with_parked_waiters_is_prompt_and_frees_them) {
    live::count = 0;
    corio::mutex<int> m{0};
    auto start = std::chrono::steady_clock::now();
    {
        corio::testing::watchdog w(30s, "mutex shutdown");
        auto rt = corio::runtime::current_thread();
        auto held = m.try_lock();  // never released while the runtime lives
        ASSERT_TRUE(held);
        rt.block_on([](corio::mutex<int>& mu) -> corio::task<> {
            for (int i = 0; i < 20; ++i) {
                corio::spawn([&mu]() -> corio::task<> {
                    live guard;
                    auto g = co_await mu.lock();
                    ADD_FAILURE() << "nobody unlocks: lock() must not complete";
                }).detach();
            }
            for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        }(m));
        EXPECT_EQ(live::count.load(), 20);
        rt = corio::runtime::current_thread();  // destroys the old runtime now
        EXPECT_EQ(live::count.load(), 0);
        held.reset();
        EXPECT_FALSE(m.is_locked()) << "cancelled waiters must have left the queue";
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

// ---------------------------------------------------------------- stress

namespace {

struct plain_counter {
    long value = 0;  // not atomic: only the mutex protects it
};

corio::task<> counter_stress(int tasks, int increments) {
    corio::mutex<plain_counter> m;
    std::vector<corio::join_handle<void>> hs;
    hs.reserve(std::size_t(tasks));
    for (int t = 0; t < tasks; ++t) {
        hs.push_back(corio::spawn([&]() -> corio::task<> {
            for (int i = 0; i < increments; ++i) {
                auto g = co_await m.lock();
                long v = g->value;
                co_await corio::yield_now();  // inside the critical section
                g->value = v + 1;
            }
        }));
    }
    for (auto& h : hs) co_await h;
    EXPECT_EQ(m.get_mut().value, long(tasks) * increments);
    EXPECT_FALSE(m.is_locked());
}

}  // namespace

TEST(mutex, stress_protects_a_plain_counter_on_two_workers) {
    run_mt(counter_stress(100, 1000), 2);
}

TEST(mutex, stress_protects_a_plain_counter_on_four_workers) {
    run_mt(counter_stress(100, 300), 4);
}

TEST(mutex, stress_protects_a_plain_counter_under_shuffled_scheduling) {
    for (std::uint64_t seed : {11ull, 2024ull, 31337ull}) {
        SCOPED_TRACE(seed);
        run_seeded(counter_stress(50, 200), seed);
    }
}
