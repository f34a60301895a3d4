// corio::notify: notify_one (wake the first waiter or store one permit), notify_waiters (wake
// everyone waiting now, store nothing), FIFO order of notify_one, and what cancellation does
// to a waiter: it consumes nothing while queued; a notification handed to a select branch
// that loses is passed on.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
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

corio::task<> wait_and_record(corio::notify& n, int id, std::vector<int>& arrivals,
                              std::vector<int>& woken) {
    arrivals.push_back(id);
    co_await n.notified();
    woken.push_back(id);
}

// True if a stored permit lets notified() complete now: a task that waits is aborted.
corio::task<bool> permit_is_stored(corio::notify& n) {
    bool done = false;
    auto h = corio::spawn([&]() -> corio::task<> {
        co_await n.notified();
        done = true;
    });
    for (int i = 0; i < 5; ++i) co_await corio::yield_now();
    if (!done) {
        h.abort();
        try {
            co_await h;
        } catch (const corio::cancelled_error&) {
        }
    } else {
        co_await h;
    }
    co_return done;
}

corio::task<> notify_one_order(int waiters) {
    corio::notify n;
    std::vector<int> arrivals, woken;
    std::vector<corio::join_handle<void>> hs;
    for (int i = 0; i < waiters; ++i)
        hs.push_back(corio::spawn(wait_and_record(n, i, arrivals, woken)));
    EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == std::size_t(waiters); }));
    for (int k = 1; k <= waiters; ++k) {
        n.notify_one();
        EXPECT_TRUE(co_await yield_until([&] { return woken.size() == std::size_t(k); }));
    }
    for (auto& h : hs) co_await h;
    EXPECT_EQ(woken, arrivals) << "notify_one must wake waiters in arrival order";
}

}  // namespace

// ---------------------------------------------------------------- normal path

TEST(notify, notify_one_wakes_a_waiting_task) {
    run_mt([]() -> corio::task<> {
        corio::notify n;
        std::atomic<bool> woke{false};
        auto h = corio::spawn([&]() -> corio::task<> {
            co_await n.notified();
            woke = true;
        });
        while (n.waiters() == 0) co_await corio::yield_now();
        EXPECT_FALSE(woke.load());
        n.notify_one();
        co_await h;
        EXPECT_TRUE(woke.load());
    }());
}

TEST(notify, notify_one_from_a_thread_outside_the_runtime_wakes_the_task) {
    run_mt([]() -> corio::task<> {
        corio::notify n;
        std::atomic<bool> parked{false};
        std::thread t([&] {
            while (n.waiters() == 0) std::this_thread::yield();
            parked = true;
            n.notify_one();
        });
        co_await n.notified();
        t.join();
        EXPECT_TRUE(parked.load());
    }());
}

TEST(notify, notify_one_without_a_waiter_stores_one_permit_and_permits_do_not_accumulate) {
    run_ct([]() -> corio::task<> {
        corio::notify n;
        n.notify_one();
        n.notify_one();
        n.notify_one();
        co_await n.notified();  // the stored permit: completes at once
        EXPECT_FALSE(co_await permit_is_stored(n))
            << "three notify_one() stored more than one permit";
        EXPECT_EQ(n.waiters(), 0u);
    }());
}

TEST(notify, notify_waiters_wakes_every_current_waiter_and_stores_nothing) {
    run_ct([]() -> corio::task<> {
        corio::notify n;
        std::vector<int> arrivals, woken;
        std::vector<corio::join_handle<void>> hs;
        for (int i = 0; i < 5; ++i)
            hs.push_back(corio::spawn(wait_and_record(n, i, arrivals, woken)));
        EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == 5; }));
        n.notify_waiters();
        EXPECT_EQ(n.waiters(), 0u);
        for (auto& h : hs) co_await h;
        EXPECT_EQ(woken.size(), 5u);
        EXPECT_FALSE(co_await permit_is_stored(n)) << "notify_waiters must not store a permit";
        n.notify_waiters();  // nobody waits: no effect
        EXPECT_FALSE(co_await permit_is_stored(n));
    }());
}

// ---------------------------------------------------------------- FIFO

TEST(notify, notify_one_wakes_waiters_in_arrival_order) {
    run_ct(notify_one_order(12));
}

TEST(notify, notify_one_wakes_waiters_in_arrival_order_under_shuffled_scheduling) {
    for (std::uint64_t seed : {9ull, 90ull, 900ull}) {
        SCOPED_TRACE(seed);
        run_seeded(notify_one_order(12), seed);
    }
}

// ---------------------------------------------------------------- cancellation

TEST(notify, aborted_waiter_consumes_nothing_and_the_next_waiter_gets_the_notification) {
    run_ct([]() -> corio::task<> {
        corio::notify n;
        std::vector<int> arrivals, woken;
        auto a = corio::spawn(wait_and_record(n, 0, arrivals, woken));
        auto b = corio::spawn(wait_and_record(n, 1, arrivals, woken));
        EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == 2; }));
        a.abort();
        EXPECT_THROW(co_await a, corio::cancelled_error);
        EXPECT_EQ(n.waiters(), 1u);
        n.notify_one();
        co_await b;
        EXPECT_EQ(woken, (std::vector<int>{1}));
    }());
}

TEST(notify, aborted_only_waiter_leaves_so_notify_one_stores_the_permit) {
    run_ct([]() -> corio::task<> {
        corio::notify n;
        std::vector<int> arrivals, woken;
        auto a = corio::spawn(wait_and_record(n, 0, arrivals, woken));
        EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == 1; }));
        a.abort();
        EXPECT_THROW(co_await a, corio::cancelled_error);
        n.notify_one();
        EXPECT_TRUE(co_await permit_is_stored(n)) << "the notification went to the departed waiter";
    }());
}

TEST(notify, notification_delivered_before_the_abort_is_consumed_by_that_waiter) {
    run_ct([]() -> corio::task<> {
        corio::notify n;
        bool woke = false, passed = false;
        auto a = corio::spawn([&]() -> corio::task<> {
            co_await n.notified();
            woke = true;
            co_await corio::yield_now();
            passed = true;
        });
        EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == 1; }));
        n.notify_one();  // delivered; `a` has not run yet
        a.abort();
        EXPECT_THROW(co_await a, corio::cancelled_error);
        EXPECT_TRUE(woke) << "the delivered notification must win over the later abort";
        EXPECT_FALSE(passed);
        EXPECT_FALSE(co_await permit_is_stored(n)) << "the notification was used once, not twice";
    }());
}

TEST(notify, timed_out_waiter_leaves_and_a_later_notify_one_is_stored) {
    run_ct([]() -> corio::task<> {
        corio::notify n;
        EXPECT_THROW(co_await corio::timeout(15ms, n.notified()), corio::timed_out);
        EXPECT_EQ(n.waiters(), 0u);
        n.notify_one();
        EXPECT_NO_THROW(co_await corio::timeout(5s, n.notified()));
    }());
}

// The select's notified() branch is handed a notify_one() at the same moment its other branch
// completes. If it loses, the notification must reach the next waiter.
TEST(notify, select_loser_passes_a_delivered_notification_to_the_next_waiter) {
    run_ct([]() -> corio::task<> {
        int notify_won = 0, other_won = 0;
        for (int iter = 0; iter < 200; ++iter) {
            corio::notify n;
            corio::semaphore other{0};
            std::vector<int> arrivals, woken;
            auto a = corio::spawn([&]() -> corio::task<std::size_t> {
                auto r = co_await corio::select(n.notified(), other.acquire());
                co_return r.index();
            });
            EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == 1; }));
            auto b = corio::spawn(wait_and_record(n, 1, arrivals, woken));
            EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == 2; }));
            n.notify_one();    // to `a`, the first waiter
            other.release(1);  // and `a`'s other branch completes too
            std::size_t winner = co_await a;
            if (winner == 0) {
                ++notify_won;
                EXPECT_EQ(other.available_permits(), 1u);
                n.notify_one();
            } else {
                ++other_won;
            }
            // Either way `b` is woken: by the passed-on notification, or by the one above.
            EXPECT_TRUE(co_await yield_until([&] { return woken.size() == 1; }, 100))
                << "iteration " << iter << ": a notification was lost (winner " << winner << ")";
            if (woken.empty()) n.notify_one();
            co_await b;
        }
        EXPECT_GT(notify_won, 0);
        EXPECT_GT(other_won, 0);
    }());
}

TEST(notify, select_loser_with_no_other_waiter_stores_the_notification_as_the_permit) {
    run_ct([]() -> corio::task<> {
        int losses = 0;
        for (int iter = 0; iter < 100; ++iter) {
            corio::notify n;
            corio::semaphore other{0};
            auto a = corio::spawn([&]() -> corio::task<std::size_t> {
                auto r = co_await corio::select(n.notified(), other.acquire());
                co_return r.index();
            });
            EXPECT_TRUE(co_await yield_until([&] { return n.waiters() == 1; }));
            n.notify_one();
            other.release(1);
            std::size_t winner = co_await a;
            if (winner == 1) {
                ++losses;
                EXPECT_TRUE(co_await permit_is_stored(n)) << "iteration " << iter;
            } else {
                EXPECT_FALSE(co_await permit_is_stored(n)) << "iteration " << iter;
            }
        }
        EXPECT_GT(losses, 0);
    }());
}

TEST(notify, runtime_shutdown_with_parked_waiters_frees_them) {
    live::count = 0;
    corio::notify n;
    {
        corio::testing::watchdog w(30s, "notify shutdown");
        auto rt = corio::runtime::current_thread();
        rt.block_on([](corio::notify& nn) -> corio::task<> {
            for (int i = 0; i < 10; ++i) {
                corio::spawn([&nn]() -> corio::task<> {
                    live guard;
                    co_await nn.notified();
                    ADD_FAILURE() << "nobody notifies";
                }).detach();
            }
            for (int i = 0; i < 5; ++i) co_await corio::yield_now();
            EXPECT_EQ(nn.waiters(), 10u);
        }(n));
        EXPECT_EQ(live::count.load(), 10);
    }
    EXPECT_EQ(live::count.load(), 0);
    EXPECT_EQ(n.waiters(), 0u);
}

// ---------------------------------------------------------------- stress

namespace {

corio::task<> ping_pong(int rounds) {
    corio::notify ping, pong;
    std::atomic<int> pings{0}, pongs{0};
    auto a = corio::spawn([&]() -> corio::task<> {
        for (int i = 0; i < rounds; ++i) {
            co_await ping.notified();
            ++pings;
            pong.notify_one();
        }
    });
    for (int i = 0; i < rounds; ++i) {
        ping.notify_one();
        co_await pong.notified();
        ++pongs;
    }
    co_await a;
    EXPECT_EQ(pings.load(), rounds);
    EXPECT_EQ(pongs.load(), rounds);
}

corio::task<> many_waiters_each_woken_once(int waiters) {
    corio::notify n;
    std::atomic<int> woken{0};
    std::vector<corio::join_handle<void>> hs;
    for (int i = 0; i < waiters; ++i) {
        hs.push_back(corio::spawn([&]() -> corio::task<> {
            co_await n.notified();
            ++woken;
        }));
    }
    // Keep notifying while anyone waits: every waiter is woken exactly once, none is lost.
    for (int spins = 0; woken.load() < waiters && spins < 5'000'000; ++spins) {
        if (n.waiters() > 0) n.notify_one();
        co_await corio::yield_now();
    }
    for (auto& h : hs) co_await h;
    EXPECT_EQ(woken.load(), waiters);
}

}  // namespace

TEST(notify, stress_ping_pong_on_two_workers) {
    run_mt(ping_pong(20'000), 2);
}

TEST(notify, stress_ping_pong_on_four_workers) {
    run_mt(ping_pong(20'000), 4);
}

TEST(notify, stress_ping_pong_under_shuffled_scheduling) {
    for (std::uint64_t seed : {6ull, 66ull, 666ull}) {
        SCOPED_TRACE(seed);
        run_seeded(ping_pong(5'000), seed);
    }
}

TEST(notify, stress_every_waiter_is_woken_on_four_workers) {
    run_mt(many_waiters_each_woken_once(500), 4);
}
