// corio::broadcast: every receiver sees every value in order, subscribers see values sent
// from then on, end of stream, send with no receiver, lagging receivers (lagged, then the
// oldest kept value), values destroyed exactly once, what cancellation does to a recv (the
// receiver's position is unchanged), and a bounded stress run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

using corio::testing::run_seeded;
using corio::testing::yield_until;

namespace {

struct counted {
    static inline std::atomic<long> live{0};
    int value = 0;
    explicit counted(int v) : value(v) { ++live; }
    counted(const counted& o) : value(o.value) { ++live; }
    counted& operator=(const counted& o) {
        value = o.value;
        return *this;
    }
    ~counted() { --live; }
};

template <class T>
corio::task<std::vector<int>> drain(corio::broadcast::receiver<T>& rx) {
    std::vector<int> out;
    for (;;) {
        auto v = co_await rx.recv();
        if (!v) break;
        if constexpr (std::is_same_v<T, int>)
            out.push_back(*v);
        else
            out.push_back(v->value);
    }
    co_return out;
}

}  // namespace

// ---------------------------------------------------------------- normal path

TEST(broadcast, every_receiver_sees_every_value_in_order) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx1] = corio::broadcast::channel<int>(8);
        auto rx2 = tx.subscribe();
        EXPECT_EQ(tx.receiver_count(), 2u);
        for (int i = 1; i <= 5; ++i) EXPECT_TRUE(tx.send(int(i)));
        { auto gone = std::move(tx); }
        auto a = co_await drain(rx1);
        auto b = co_await drain(rx2);
        EXPECT_EQ(a, (std::vector<int>{1, 2, 3, 4, 5}));
        EXPECT_EQ(b, (std::vector<int>{1, 2, 3, 4, 5}));
    }());
}

TEST(broadcast, a_subscriber_sees_only_values_sent_after_it_subscribed) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx1] = corio::broadcast::channel<int>(8);
        EXPECT_TRUE(tx.send(1));
        auto rx2 = tx.subscribe();
        EXPECT_TRUE(tx.send(2));
        auto rx3 = rx1.resubscribe();
        EXPECT_TRUE(tx.send(3));
        { auto gone = std::move(tx); }
        // (co_await inside EXPECT_EQ trips g++ 12: await first.)
        auto a = co_await drain(rx1);
        auto b = co_await drain(rx2);
        auto c = co_await drain(rx3);
        EXPECT_EQ(a, (std::vector<int>{1, 2, 3}));
        EXPECT_EQ(b, (std::vector<int>{2, 3}));
        EXPECT_EQ(c, (std::vector<int>{3}));
    }());
}

TEST(broadcast, recv_returns_nullopt_only_after_every_sender_copy_is_gone) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::broadcast::channel<int>(4);
        auto tx2 = tx;
        EXPECT_TRUE(tx.send(1));
        { auto gone = std::move(tx); }
        bool ended = false;
        auto h = corio::spawn([](corio::broadcast::receiver<int>* r, bool* out) -> corio::task<> {
            auto first = co_await r->recv();
            EXPECT_EQ(first, std::optional<int>(1));
            auto second = co_await r->recv();
            *out = !second.has_value();
        }(&rx, &ended));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_FALSE(h.is_finished()) << "a sender copy is still alive";
        { auto gone = std::move(tx2); }
        co_await h;
        EXPECT_TRUE(ended);
        EXPECT_EQ(rx.try_recv().status(), corio::try_status::closed);
    }());
}

TEST(broadcast, send_with_no_receiver_gives_the_value_back) {
    counted::live = 0;
    {
        auto [tx, rx] = corio::broadcast::channel<counted>(4);
        { auto gone = std::move(rx); }
        EXPECT_EQ(tx.receiver_count(), 0u);
        auto r = tx.send(counted(7));
        EXPECT_FALSE(r);
        EXPECT_EQ(r.status(), corio::try_status::closed);
        EXPECT_EQ(r.value().value, 7);
        auto late = tx.subscribe();  // a new receiver reopens the channel for later sends
        EXPECT_TRUE(tx.send(counted(8)));
        auto v = late.try_recv();
        ASSERT_TRUE(v);
        EXPECT_EQ(v->value, 8);
    }
    EXPECT_EQ(counted::live.load(), 0);
}

TEST(broadcast, capacity_zero_is_rejected) {
    EXPECT_THROW(corio::broadcast::channel<int>(0), std::invalid_argument);
}

TEST(broadcast, try_recv_reports_empty_a_value_and_closed) {
    auto [tx, rx] = corio::broadcast::channel<int>(2);
    EXPECT_EQ(rx.try_recv().status(), corio::try_status::empty);
    EXPECT_TRUE(tx.send(4));
    auto v = rx.try_recv();
    ASSERT_TRUE(v);
    EXPECT_EQ(*v, 4);
    EXPECT_EQ(rx.try_recv().status(), corio::try_status::empty);
    { auto gone = std::move(tx); }
    EXPECT_EQ(rx.try_recv().status(), corio::try_status::closed);
}

TEST(broadcast, lagging_receiver_is_told_how_many_it_missed_then_continues_with_the_oldest_kept) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::broadcast::channel<int>(2);
        auto fast = tx.subscribe();
        for (int i = 0; i < 5; ++i) {
            EXPECT_TRUE(tx.send(int(i)));
            auto v = co_await fast.recv();  // keeps up: never lags
            EXPECT_EQ(v, std::optional<int>(i));
        }
        std::uint64_t missed = 0;
        try {
            (void)co_await rx.recv();
            ADD_FAILURE() << "a receiver 5 values behind a 2-value channel must lag";
        } catch (const corio::broadcast::lagged& e) {
            missed = e.missed();
        }
        EXPECT_EQ(missed, 3u);
        auto a = co_await rx.recv();
        auto b = co_await rx.recv();
        EXPECT_EQ(a, std::optional<int>(3));
        EXPECT_EQ(b, std::optional<int>(4));
        EXPECT_EQ(rx.try_recv().status(), corio::try_status::empty);
    }());
}

TEST(broadcast, one_send_wakes_every_parked_receiver) {
    run_mt([]() -> corio::task<> {
        auto [tx, rx] = corio::broadcast::channel<int>(4);
        std::vector<corio::broadcast::receiver<int>> rxs;
        for (int i = 0; i < 7; ++i) rxs.push_back(tx.subscribe());
        rxs.push_back(std::move(rx));
        std::atomic<int> got{0};
        std::vector<corio::join_handle<void>> hs;
        for (auto& r : rxs) {
            hs.push_back(corio::spawn(
                [](corio::broadcast::receiver<int>* rr, std::atomic<int>* g) -> corio::task<> {
                    auto v = co_await rr->recv();
                    if (v == std::optional<int>(99)) ++*g;
                }(&r, &got)));
        }
        for (int i = 0; i < 20; ++i) co_await corio::yield_now();
        EXPECT_TRUE(tx.send(99));
        for (auto& h : hs) co_await h;
        EXPECT_EQ(got.load(), 8);
    }());
}

TEST(broadcast, every_copy_is_destroyed_exactly_once) {
    counted::live = 0;
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::broadcast::channel<counted>(3);
        auto rx2 = tx.subscribe();
        for (int i = 0; i < 10; ++i) EXPECT_TRUE(tx.send(counted(i)));  // overwrites the oldest
        EXPECT_EQ(counted::live.load(), 3) << "the channel keeps only the last 3 values";
        try {
            (void)co_await rx.recv();
        } catch (const corio::broadcast::lagged&) {
        }
        auto v = co_await rx.recv();
        EXPECT_EQ(v->value, 7);
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

// ---------------------------------------------------------------- cancellation

TEST(broadcast, aborted_recv_leaves_the_receiver_position_unchanged) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::broadcast::channel<int>(4);
        auto h = corio::spawn([](corio::broadcast::receiver<int>* r) -> corio::task<> {
            auto v = co_await r->recv();
            (void)v;
            ADD_FAILURE() << "the aborted recv got a value";
        }(&rx));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_TRUE(tx.send(1));
        EXPECT_TRUE(tx.send(2));
        auto a = co_await rx.recv();
        auto b = co_await rx.recv();
        EXPECT_EQ(a, std::optional<int>(1));
        EXPECT_EQ(b, std::optional<int>(2));
    }());
}

TEST(broadcast, timed_out_recv_leaves_the_receiver_position_unchanged) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::broadcast::channel<int>(4);
        EXPECT_THROW(co_await corio::timeout(15ms, rx.recv()), corio::timed_out);
        EXPECT_TRUE(tx.send(5));
        auto v = co_await corio::timeout(5s, rx.recv());
        EXPECT_EQ(v, std::optional<int>(5));
    }());
}

TEST(broadcast, select_loser_recv_leaves_a_value_sent_at_the_same_moment) {
    run_ct([]() -> corio::task<> {
        int recv_won = 0, other_won = 0;
        for (int iter = 0; iter < 200; ++iter) {
            auto [tx, rx] = corio::broadcast::channel<int>(4);
            corio::notify other;
            auto h = corio::spawn(
                [](corio::broadcast::receiver<int>* r, corio::notify* o) -> corio::task<int> {
                    auto res = co_await corio::select(r->recv(), o->notified());
                    co_return res.index() == 0 ? std::get<0>(res).value_or(-1) : -100;
                }(&rx, &other));
            for (int i = 0; i < 3; ++i) co_await corio::yield_now();
            EXPECT_TRUE(tx.send(int(iter)));
            other.notify_one();
            int got = co_await h;
            if (got == -100) {
                ++other_won;
                auto left = rx.try_recv();
                EXPECT_TRUE(left) << "iteration " << iter
                                  << ": the losing recv moved the receiver on";
            } else {
                ++recv_won;
                EXPECT_EQ(got, iter);
                EXPECT_EQ(rx.try_recv().status(), corio::try_status::empty);
            }
        }
        EXPECT_GT(recv_won, 0);
        EXPECT_GT(other_won, 0);
    }());
}

TEST(broadcast, runtime_shutdown_with_parked_receivers_frees_them_and_every_value) {
    counted::live = 0;
    static std::atomic<int> tasks_alive{0};
    tasks_alive = 0;
    {
        auto [tx, rx] = corio::broadcast::channel<counted>(4);
        EXPECT_TRUE(tx.send(counted(1)));
        {
            corio::testing::watchdog w(std::chrono::seconds(30), "broadcast shutdown");
            auto rt = corio::runtime::current_thread();
            rt.block_on([](corio::broadcast::sender<counted>& s) -> corio::task<> {
                for (int i = 0; i < 5; ++i) {
                    corio::spawn([](corio::broadcast::receiver<counted> r) -> corio::task<> {
                        struct guard {
                            guard() { ++tasks_alive; }
                            ~guard() { --tasks_alive; }
                        } g;
                        auto v = co_await r.recv();
                        ADD_FAILURE() << "nothing is sent after subscribing";
                    }(s.subscribe()))
                        .detach();
                }
                for (int i = 0; i < 5; ++i) co_await corio::yield_now();
                EXPECT_EQ(tasks_alive.load(), 5);
            }(tx));
        }
        EXPECT_EQ(tasks_alive.load(), 0);
        EXPECT_EQ(tx.receiver_count(), 1u) << "the parked tasks' receivers must be gone";
    }
    EXPECT_EQ(counted::live.load(), 0);
}

// ---------------------------------------------------------------- stress

namespace {

corio::task<> fan_out(int receivers, int values) {
    auto [tx, rx] = corio::broadcast::channel<int>(std::size_t(values));  // room for all: no lag
    std::vector<corio::broadcast::receiver<int>> rxs;
    for (int i = 1; i < receivers; ++i) rxs.push_back(tx.subscribe());
    rxs.push_back(std::move(rx));
    std::vector<corio::join_handle<void>> hs;
    std::atomic<int> complete{0};
    for (auto& r : rxs) {
        hs.push_back(corio::spawn([](corio::broadcast::receiver<int>* rr, int n,
                                     std::atomic<int>* done) -> corio::task<> {
            int expect = 0;
            for (;;) {
                std::optional<int> v;
                try {
                    v = co_await rr->recv();
                } catch (const corio::broadcast::lagged& e) {
                    ADD_FAILURE() << "lagged by " << e.missed()
                                  << " although the capacity suffices";
                    continue;
                }
                if (!v) break;
                if (*v != expect) {
                    ADD_FAILURE() << "got " << *v << ", expected " << expect;
                    expect = *v;
                }
                ++expect;
            }
            EXPECT_EQ(expect, n);
            ++*done;
        }(&r, values, &complete)));
    }
    auto sender = corio::spawn([](corio::broadcast::sender<int> param, int n) -> corio::task<> {
        auto s = std::move(param);
        for (int i = 0; i < n; ++i) {
            EXPECT_TRUE(s.send(int(i)));
            if (i % 16 == 0) co_await corio::yield_now();
        }
    }(std::move(tx), values));
    co_await sender;
    for (auto& h : hs) co_await h;
    EXPECT_EQ(complete.load(), receivers);
}

}  // namespace

TEST(broadcast, stress_all_receivers_see_all_values_in_order_on_two_workers) {
    run_mt(fan_out(4, 5000), 2);
}

TEST(broadcast, stress_all_receivers_see_all_values_in_order_on_four_workers) {
    run_mt(fan_out(4, 5000), 4);
}

TEST(broadcast, stress_all_receivers_see_all_values_in_order_under_shuffled_scheduling) {
    for (std::uint64_t seed : {12ull, 120ull, 1200ull}) {
        SCOPED_TRACE(seed);
        run_seeded(fan_out(4, 1000), seed);
    }
}
