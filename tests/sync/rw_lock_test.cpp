// corio::rw_lock<T>: shared readers, exclusive writers, FIFO fairness (a reader behind a
// queued writer waits; readers queued before the next writer enter together; writers are not
// starved), what cancellation does to a waiter, and a bounded stress run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;

// ASSERT_* returns; inside a coroutine it must co_return.
#define CO_ASSERT_TRUE(c)                          \
    do {                                           \
        if (!(c)) {                                \
            ADD_FAILURE() << "expected true: " #c; \
            co_return;                             \
        }                                          \
    } while (0)

using corio::testing::run_mt;
using corio::testing::run_seeded;
using corio::testing::yield_until;

namespace {

enum class mode { read, write };

// Shared state of a scripted scenario on a current-thread runtime: every participant logs
// when it queues and when it enters, and leaves only when the test opens its gate.
struct scene {
    corio::rw_lock<int> lock{0};
    std::vector<int> entered;
    std::vector<char> gate = std::vector<char>(32, 0);
    int queued = 0;
    int readers_inside = 0;
    int writers_inside = 0;
};

corio::task<> participant(scene& s, mode m, int id) {
    ++s.queued;
    if (m == mode::read) {
        auto g = co_await s.lock.read();
        --s.queued;
        s.entered.push_back(id);
        ++s.readers_inside;
        EXPECT_EQ(s.writers_inside, 0) << "reader " << id << " entered while a writer is inside";
        while (!s.gate[std::size_t(id)]) co_await corio::yield_now();
        --s.readers_inside;
    } else {
        auto g = co_await s.lock.write();
        --s.queued;
        s.entered.push_back(id);
        ++s.writers_inside;
        EXPECT_EQ(s.writers_inside, 1) << "two writers inside";
        EXPECT_EQ(s.readers_inside, 0) << "writer " << id << " entered while readers are inside";
        ++*g;
        while (!s.gate[std::size_t(id)]) co_await corio::yield_now();
        --s.writers_inside;
    }
}

// Spawns a participant and lets it run up to its await (it enters or queues).
corio::task<corio::join_handle<void>> arrive(scene& s, mode m, int id) {
    auto h = corio::spawn(participant(s, m, id));
    std::size_t before = s.entered.size();
    int queued_before = s.queued;
    EXPECT_TRUE(co_await yield_until(
        [&] { return s.entered.size() > before || s.queued > queued_before; }));
    co_return h;
}

}  // namespace

// ---------------------------------------------------------------- normal path

TEST(rw_lock, many_readers_hold_the_lock_together) {
    run_ct([]() -> corio::task<> {
        corio::rw_lock<int> l{7};
        auto a = co_await l.read();
        auto b = co_await l.read();
        auto c = l.try_read();
        CO_ASSERT_TRUE(c.has_value());
        EXPECT_EQ(*a + *b + **c, 21);
        EXPECT_FALSE(l.try_write().has_value());
    }());
}

TEST(rw_lock, writer_is_exclusive) {
    run_ct([]() -> corio::task<> {
        corio::rw_lock<int> l{0};
        {
            auto w = co_await l.write();
            *w = 5;
            EXPECT_FALSE(l.try_read().has_value());
            EXPECT_FALSE(l.try_write().has_value());
        }
        auto r = l.try_read();
        CO_ASSERT_TRUE(r.has_value());
        EXPECT_EQ(**r, 5);
        EXPECT_FALSE(l.try_write().has_value());
        r.reset();
        EXPECT_TRUE(l.try_write().has_value());
    }());
}

TEST(rw_lock, guard_unlock_releases_early) {
    corio::rw_lock<int> l{0};
    auto w = l.try_write();
    ASSERT_TRUE(w);
    w->unlock();
    auto r = l.try_read();
    ASSERT_TRUE(r);
    r->unlock();
    r->unlock();  // harmless
    EXPECT_TRUE(l.try_write().has_value());
}

// ---------------------------------------------------------------- fairness

TEST(rw_lock, reader_arriving_after_a_queued_writer_waits_behind_it) {
    run_ct([]() -> corio::task<> {
        scene s;
        auto r1 = co_await arrive(s, mode::read, 1);
        auto w2 = co_await arrive(s, mode::write, 2);
        auto r3 = co_await arrive(s, mode::read, 3);
        EXPECT_EQ(s.entered, (std::vector<int>{1})) << "the reader must queue behind the writer";
        EXPECT_FALSE(s.lock.try_read().has_value()) << "try_read must not overtake a queued writer";

        s.gate[1] = 1;
        EXPECT_TRUE(co_await yield_until([&] { return s.entered.size() == 2; }));
        EXPECT_EQ(s.entered, (std::vector<int>{1, 2}));
        s.gate[2] = 1;
        EXPECT_TRUE(co_await yield_until([&] { return s.entered.size() == 3; }));
        s.gate[3] = 1;
        co_await r1;
        co_await w2;
        co_await r3;
        EXPECT_EQ(s.entered, (std::vector<int>{1, 2, 3}));
    }());
}

TEST(rw_lock, readers_queued_before_the_next_writer_enter_together) {
    run_ct([]() -> corio::task<> {
        scene s;
        auto w0 = co_await arrive(s, mode::write, 0);
        auto r1 = co_await arrive(s, mode::read, 1);
        auto r2 = co_await arrive(s, mode::read, 2);
        auto w3 = co_await arrive(s, mode::write, 3);
        auto r4 = co_await arrive(s, mode::read, 4);
        EXPECT_EQ(s.entered, (std::vector<int>{0}));

        s.gate[0] = 1;  // the writer leaves: readers 1 and 2 enter together, not 4
        EXPECT_TRUE(co_await yield_until([&] { return s.readers_inside == 2; }));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_EQ(s.entered, (std::vector<int>{0, 1, 2}));
        EXPECT_EQ(s.readers_inside, 2);

        s.gate[1] = 1;
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_EQ(s.entered, (std::vector<int>{0, 1, 2})) << "the writer waits for every reader";
        s.gate[2] = 1;
        EXPECT_TRUE(co_await yield_until([&] { return s.entered.size() == 4; }));
        EXPECT_EQ(s.entered.back(), 3);
        s.gate[3] = 1;
        s.gate[4] = 1;
        co_await w0;
        co_await r1;
        co_await r2;
        co_await w3;
        co_await r4;
        EXPECT_EQ(s.entered, (std::vector<int>{0, 1, 2, 3, 4}));
        EXPECT_EQ(s.lock.try_write().has_value(), true);
    }());
}

TEST(rw_lock, waiters_enter_in_arrival_order_under_shuffled_scheduling) {
    for (std::uint64_t seed : {2ull, 19ull, 1234ull}) {
        SCOPED_TRACE(seed);
        run_seeded(
            []() -> corio::task<> {
                scene s;
                std::vector<corio::join_handle<void>> hs;
                const mode pattern[] = {mode::write, mode::read, mode::write, mode::write,
                                        mode::read,  mode::read, mode::write, mode::read};
                std::vector<int> arrivals;
                for (int i = 0; i < 8; ++i) {
                    hs.push_back(co_await arrive(s, pattern[i], i));
                    arrivals.push_back(i);
                }
                for (int i = 0; i < 8; ++i) s.gate[std::size_t(i)] = 1;
                for (auto& h : hs) co_await h;
                // Readers admitted together may log in either order; writers split the log.
                EXPECT_EQ(s.entered.size(), 8u);
                EXPECT_EQ(s.entered[0], 0);
                EXPECT_EQ(s.entered[1], 1);
                EXPECT_EQ(s.entered[2], 2);
                EXPECT_EQ(s.entered[3], 3);
                EXPECT_TRUE((s.entered[4] == 4 && s.entered[5] == 5) ||
                            (s.entered[4] == 5 && s.entered[5] == 4));
                EXPECT_EQ(s.entered[6], 6);
                EXPECT_EQ(s.entered[7], 7);
                EXPECT_EQ(s.lock.try_read().has_value(), true);
            }(),
            seed);
    }
}

TEST(rw_lock, writer_is_not_starved_by_a_stream_of_readers) {
    run_mt([]() -> corio::task<> {
        corio::rw_lock<long> l{0};
        std::atomic<bool> stop{false};
        std::atomic<long> reads{0};
        std::vector<corio::join_handle<void>> readers;
        for (int i = 0; i < 6; ++i) {
            readers.push_back(corio::spawn([&]() -> corio::task<> {
                while (!stop.load()) {
                    auto g = co_await l.read();
                    ++reads;
                    co_await corio::yield_now();  // readers overlap all the time
                }
            }));
        }
        while (reads.load() < 100) co_await corio::yield_now();
        auto writer = corio::spawn([&]() -> corio::task<> {
            for (int k = 0; k < 50; ++k) {
                auto g = co_await l.write();
                ++*g;
            }
        });
        EXPECT_NO_THROW(co_await corio::timeout(
            20s, [](corio::join_handle<void>& h) -> corio::task<> { co_await h; }(writer)));
        stop = true;
        for (auto& h : readers) co_await h;
        auto r = l.try_read();
        CO_ASSERT_TRUE(r.has_value());
        EXPECT_EQ(**r, 50);
    }());
}

// ---------------------------------------------------------------- cancellation

TEST(rw_lock, aborted_queued_reader_leaves_and_the_writer_behind_it_gets_the_lock) {
    run_ct([]() -> corio::task<> {
        scene s;
        auto w0 = co_await arrive(s, mode::write, 0);
        auto r1 = co_await arrive(s, mode::read, 1);
        auto w2 = co_await arrive(s, mode::write, 2);
        r1.abort();
        EXPECT_THROW(co_await r1, corio::cancelled_error);
        s.gate[0] = 1;
        EXPECT_TRUE(co_await yield_until([&] { return s.entered.size() == 2; }));
        EXPECT_EQ(s.entered, (std::vector<int>{0, 2}));
        s.gate[2] = 1;
        co_await w0;
        co_await w2;
        EXPECT_TRUE(s.lock.try_write().has_value());
    }());
}

// A reader waits only because a writer is queued ahead of it. When that writer is cancelled,
// nothing stands between the reader and the readers already inside: it must enter.
TEST(rw_lock, cancelled_queued_writer_lets_the_readers_behind_it_join_the_current_readers) {
    run_ct([]() -> corio::task<> {
        scene s;
        auto r0 = co_await arrive(s, mode::read, 0);
        auto w1 = co_await arrive(s, mode::write, 1);
        auto r2 = co_await arrive(s, mode::read, 2);
        EXPECT_EQ(s.entered, (std::vector<int>{0}));
        w1.abort();
        EXPECT_THROW(co_await w1, corio::cancelled_error);
        bool joined = co_await yield_until([&] { return s.entered.size() == 2; }, 1000);
        EXPECT_TRUE(joined) << "reader 2 still waits although only reader 0 holds the lock and "
                               "the writer it queued behind is gone";
        s.gate[0] = 1;  // if it did not join, reader 0 leaving lets it in
        s.gate[2] = 1;
        co_await r0;
        co_await r2;
        EXPECT_EQ(s.entered, (std::vector<int>{0, 2}));
        EXPECT_TRUE(s.lock.try_write().has_value());
    }());
}

TEST(rw_lock, write_lock_handed_over_before_the_abort_wins_and_unlocks_on_unwind) {
    run_ct([]() -> corio::task<> {
        corio::rw_lock<int> l{0};
        bool got = false, passed = false;
        auto r = co_await l.read();
        auto w = corio::spawn([&]() -> corio::task<> {
            auto g = co_await l.write();
            got = true;
            co_await corio::yield_now();
            passed = true;
        });
        for (int i = 0; i < 3; ++i) co_await corio::yield_now();
        EXPECT_FALSE(l.try_read().has_value());  // the writer is queued
        r.unlock();                              // hands the write lock over
        w.abort();
        EXPECT_THROW(co_await w, corio::cancelled_error);
        EXPECT_TRUE(got);
        EXPECT_FALSE(passed);
        EXPECT_TRUE(l.try_write().has_value()) << "the aborted writer's guard must unlock";
    }());
}

#if CORIO_SELECT_NON_DEFAULT_RESULTS
TEST(rw_lock, timed_out_read_and_write_leave_the_queue) {
    run_ct([]() -> corio::task<> {
        corio::rw_lock<int> l{0};
        {
            auto w = co_await l.write();
            EXPECT_THROW((void)co_await corio::timeout(15ms, l.read()), corio::timed_out);
            EXPECT_THROW((void)co_await corio::timeout(15ms, l.write()), corio::timed_out);
        }
        EXPECT_TRUE(l.try_write().has_value()) << "no timed-out waiter may hold the lock";
        auto r = co_await l.read();
        EXPECT_THROW((void)co_await corio::timeout(15ms, l.write()), corio::timed_out);
        EXPECT_TRUE(l.try_read().has_value());
    }());
}
#else
TEST(rw_lock, timed_out_read_and_write_leave_the_queue) {
    FAIL()
        << "does not compile: corio::select()/timeout() over an await whose result has no "
           "default constructor (select.hpp resume_winner default-constructs the result variant)";
}
#endif

#if CORIO_SELECT_NON_DEFAULT_RESULTS
TEST(rw_lock, select_loser_write_handed_over_at_the_same_moment_is_unlocked) {
    run_ct([]() -> corio::task<> {
        int write_won = 0, notify_won = 0;
        for (int iter = 0; iter < 200; ++iter) {
            corio::rw_lock<int> l{0};
            corio::notify n;
            auto r = co_await l.read();
            auto h = corio::spawn([&]() -> corio::task<std::size_t> {
                auto res = co_await corio::select(l.write(), n.notified());
                co_return res.index();
            });
            EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == 1; }));
            r.unlock();  // hands the write lock to the select's write branch
            n.notify_one();
            std::size_t winner = co_await h;
            (winner == 0 ? write_won : notify_won)++;
            EXPECT_TRUE(l.try_write().has_value()) << "iteration " << iter << ": the lock was lost";
        }
        EXPECT_GT(write_won, 0);
        EXPECT_GT(notify_won, 0);
    }());
}
#else
TEST(rw_lock, select_loser_write_handed_over_at_the_same_moment_is_unlocked) {
    FAIL()
        << "does not compile: corio::select()/timeout() over an await whose result has no "
           "default constructor (select.hpp resume_winner default-constructs the result variant)";
}
#endif

TEST(rw_lock, runtime_shutdown_with_parked_readers_and_writers_frees_them) {
    static std::atomic<int> live{0};
    live = 0;
    corio::rw_lock<int> l{0};
    auto held = l.try_write();  // never released while the runtime lives
    ASSERT_TRUE(held);
    {
        corio::testing::watchdog w(std::chrono::seconds(30), "rw_lock shutdown");
        auto rt = corio::runtime::current_thread();
        rt.block_on([](corio::rw_lock<int>& rw) -> corio::task<> {
            struct guard {
                guard() { ++live; }
                ~guard() { --live; }
            };
            for (int i = 0; i < 10; ++i) {
                if (i % 2)
                    corio::spawn([&rw]() -> corio::task<> {
                        guard g;
                        auto r = co_await rw.read();
                    }).detach();
                else
                    corio::spawn([&rw]() -> corio::task<> {
                        guard g;
                        auto x = co_await rw.write();
                    }).detach();
            }
            for (int i = 0; i < 5; ++i) co_await corio::yield_now();
            EXPECT_EQ(live.load(), 10);
        }(l));
    }
    EXPECT_EQ(live.load(), 0);
    held.reset();
    EXPECT_TRUE(l.try_write().has_value())
        << "a cancelled waiter was left in the queue or holds the lock";
}

// ---------------------------------------------------------------- stress

namespace {

corio::task<> rw_stress(int readers, int writers, int rounds) {
    struct data {
        long a = 0, b = 0;  // writers keep a == b; readers must never see them differ
    };
    corio::rw_lock<data> l;
    std::atomic<int> writers_inside{0}, readers_inside{0};
    std::atomic<long> reads{0};
    std::vector<corio::join_handle<void>> hs;
    for (int i = 0; i < readers; ++i) {
        hs.push_back(corio::spawn([&]() -> corio::task<> {
            for (int r = 0; r < rounds; ++r) {
                auto g = co_await l.read();
                ++readers_inside;
                EXPECT_EQ(writers_inside.load(), 0);
                EXPECT_EQ(g->a, g->b);
                co_await corio::yield_now();
                EXPECT_EQ(g->a, g->b);
                --readers_inside;
                ++reads;
            }
        }));
    }
    for (int i = 0; i < writers; ++i) {
        hs.push_back(corio::spawn([&]() -> corio::task<> {
            for (int r = 0; r < rounds; ++r) {
                auto g = co_await l.write();
                EXPECT_EQ(++writers_inside, 1);
                EXPECT_EQ(readers_inside.load(), 0);
                long v = g->a;
                g->a = v + 1;
                co_await corio::yield_now();
                g->b = v + 1;
                --writers_inside;
            }
        }));
    }
    for (auto& h : hs) co_await h;
    auto g = l.try_write();
    EXPECT_TRUE(g.has_value());
    if (g) {
        EXPECT_EQ((*g)->a, long(writers) * rounds);
        EXPECT_EQ((*g)->b, long(writers) * rounds);
    }
    EXPECT_EQ(reads.load(), long(readers) * rounds);
}

}  // namespace

TEST(rw_lock, stress_readers_never_see_a_half_written_value_on_two_workers) {
    run_mt(rw_stress(8, 4, 300), 2);
}

TEST(rw_lock, stress_readers_never_see_a_half_written_value_on_four_workers) {
    run_mt(rw_stress(8, 4, 300), 4);
}

TEST(rw_lock, stress_readers_never_see_a_half_written_value_under_shuffled_scheduling) {
    for (std::uint64_t seed : {4ull, 44ull, 444ull}) {
        SCOPED_TRACE(seed);
        run_seeded(rw_stress(6, 3, 100), seed);
    }
}
