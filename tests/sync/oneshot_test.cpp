// corio::oneshot: one value, once. Receiving (co_await rx / rx.recv()), a sender dropped
// without sending (channel_closed), a send after the receiver is gone (value given back),
// try_recv, values destroyed exactly once, what cancellation does to a receive (the value
// stays for a later receive), and a bounded stress run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

using corio::testing::run_seeded;

namespace {

// Counts the values it carries (a move transfers one, a copy adds one) and its instances.
struct counted {
    static inline std::atomic<long> live{0};
    static inline std::atomic<long> values{0};
    int value;
    bool moved_from = false;
    explicit counted(int v) : value(v) {
        ++live;
        ++values;
    }
    counted(const counted& o) : value(o.value), moved_from(o.moved_from) {
        ++live;
        if (!moved_from) ++values;
    }
    counted(counted&& o) noexcept : value(o.value), moved_from(o.moved_from) {
        o.value = -1;
        o.moved_from = true;
        ++live;
    }
    counted& operator=(const counted&) = delete;
    counted& operator=(counted&&) = delete;
    ~counted() {
        --live;
        if (!moved_from) --values;
    }
};

class oneshot : public ::testing::Test {
protected:
    oneshot() {
        counted::live = 0;
        counted::values = 0;
    }
    ~oneshot() override {
        EXPECT_EQ(counted::live.load(), 0) << "a value was leaked or destroyed twice";
    }
};

struct live_guard {
    static inline std::atomic<int> count{0};
    live_guard() { ++count; }
    ~live_guard() { --count; }
};

}  // namespace

// ---------------------------------------------------------------- normal path

TEST_F(oneshot, value_sent_is_received_by_awaiting_the_receiver) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::oneshot::channel<counted>();
        EXPECT_TRUE(tx.send(counted(42)));
        counted v = co_await rx;
        EXPECT_EQ(v.value, 42);
    }());
}

TEST_F(oneshot, parked_receiver_is_woken_by_a_send_from_another_task) {
    run_mt([]() -> corio::task<> {
        auto [tx, rx] = corio::oneshot::channel<std::string>();
        auto h = corio::spawn([](corio::oneshot::sender<std::string> s) -> corio::task<> {
            co_await corio::yield_now();
            auto r = s.send("hello");
            EXPECT_TRUE(r);
        }(std::move(tx)));
        std::string v = co_await rx.recv();
        EXPECT_EQ(v, "hello");
        co_await h;
    }());
}

TEST_F(oneshot, send_from_a_plain_thread_wakes_the_receiver) {
    run_mt([]() -> corio::task<> {
        auto [tx, rx] = corio::oneshot::channel<int>();
        std::thread t([s = std::move(tx)]() mutable { EXPECT_TRUE(s.send(7)); });
        int v = co_await rx;
        t.join();
        EXPECT_EQ(v, 7);
    }());
}

TEST_F(oneshot, sender_dropped_without_sending_makes_the_receive_throw_channel_closed) {
    run_ct([]() -> corio::task<> {
        {
            auto [tx, rx] = corio::oneshot::channel<counted>();
            { auto gone = std::move(tx); }
            EXPECT_THROW(co_await rx, corio::channel_closed);
            EXPECT_EQ(rx.try_recv().status(), corio::try_status::closed);
        }
        {
            auto [tx, rx] = corio::oneshot::channel<counted>();
            bool threw = false;
            auto h =
                corio::spawn([](corio::oneshot::receiver<counted>* r, bool* out) -> corio::task<> {
                    try {
                        (void)co_await *r;
                    } catch (const corio::channel_closed&) {
                        *out = true;
                    }
                }(&rx, &threw));
            for (int i = 0; i < 5; ++i) co_await corio::yield_now();
            EXPECT_FALSE(h.is_finished());
            { auto gone = std::move(tx); }
            co_await h;
            EXPECT_TRUE(threw) << "a parked receiver must be woken when the sender goes";
        }
    }());
}

TEST_F(oneshot, send_after_the_receiver_is_gone_gives_the_value_back) {
    auto [tx, rx] = corio::oneshot::channel<counted>();
    EXPECT_FALSE(tx.is_closed());
    { auto gone = std::move(rx); }
    EXPECT_TRUE(tx.is_closed());
    auto r = tx.send(counted(3));
    EXPECT_FALSE(r);
    EXPECT_EQ(r.status(), corio::try_status::closed);
    EXPECT_EQ(r.value().value, 3);
}

TEST_F(oneshot, receiver_close_refuses_a_later_send) {
    auto [tx, rx] = corio::oneshot::channel<counted>();
    rx.close();
    EXPECT_TRUE(tx.is_closed());
    auto r = tx.send(counted(4));
    EXPECT_EQ(r.status(), corio::try_status::closed);
    EXPECT_EQ(r.value().value, 4);
}

TEST_F(oneshot, a_used_sender_refuses_a_second_send) {
    auto [tx, rx] = corio::oneshot::channel<counted>();
    EXPECT_TRUE(tx.send(counted(1)));
    auto again = tx.send(counted(2));
    EXPECT_EQ(again.status(), corio::try_status::closed);
    EXPECT_EQ(again.value().value, 2);
    auto got = rx.try_recv();
    EXPECT_TRUE(got);
    EXPECT_EQ(got->value, 1);
}

TEST_F(oneshot, try_recv_reports_empty_then_the_value_then_nothing) {
    auto [tx, rx] = corio::oneshot::channel<counted>();
    EXPECT_EQ(rx.try_recv().status(), corio::try_status::empty);
    EXPECT_TRUE(tx.send(counted(9)));
    auto v = rx.try_recv();
    ASSERT_TRUE(v);
    EXPECT_EQ(v->value, 9);
    EXPECT_EQ(rx.try_recv().status(), corio::try_status::closed) << "the value is taken only once";
}

TEST_F(oneshot, a_value_never_received_is_destroyed_exactly_once) {
    {
        auto [tx, rx] = corio::oneshot::channel<counted>();
        EXPECT_TRUE(tx.send(counted(1)));
        EXPECT_EQ(counted::values.load(), 1);
    }
    EXPECT_EQ(counted::values.load(), 0);
    {
        auto [tx, rx] = corio::oneshot::channel<counted>();
        EXPECT_TRUE(tx.send(counted(1)));
        rx.close();  // "a value already sent is dropped"
    }
    EXPECT_EQ(counted::values.load(), 0);
    {
        auto [tx, rx] = corio::oneshot::channel<counted>();
        { auto gone = std::move(rx); }  // receiver first, then the sender sends
        auto r = tx.send(counted(2));
        EXPECT_FALSE(r);
    }
    EXPECT_EQ(counted::values.load(), 0);
}

// ---------------------------------------------------------------- cancellation

TEST_F(oneshot, aborted_receive_takes_nothing_and_the_value_stays_for_a_later_receive) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::oneshot::channel<counted>();
        auto h = corio::spawn([](corio::oneshot::receiver<counted>* r) -> corio::task<> {
            counted v = co_await r->recv();
            ADD_FAILURE() << "the aborted receive got " << v.value;
        }(&rx));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_TRUE(tx.send(counted(5)));
        counted v = co_await rx;
        EXPECT_EQ(v.value, 5);
    }());
}

TEST_F(oneshot, timed_out_receive_takes_nothing) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::oneshot::channel<int>();
        EXPECT_THROW(co_await corio::timeout(15ms, rx.recv()), corio::timed_out);
        EXPECT_TRUE(tx.send(6));
        int v = co_await corio::timeout(5s, rx.recv());
        EXPECT_EQ(v, 6);
    }());
}

#if CORIO_SELECT_NON_DEFAULT_RESULTS
TEST_F(oneshot, timeout_accepts_a_receive_of_a_type_without_a_default_constructor) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::oneshot::channel<counted>();
        EXPECT_THROW(co_await corio::timeout(15ms, rx.recv()), corio::timed_out);
        EXPECT_TRUE(tx.send(counted(6)));
        counted v = co_await corio::timeout(5s, rx.recv());
        EXPECT_EQ(v.value, 6);
    }());
}
#else
TEST_F(oneshot, timeout_accepts_a_receive_of_a_type_without_a_default_constructor) {
    FAIL()
        << "does not compile: corio::timeout()/select() over an await whose result has no default "
           "constructor (select.hpp resume_winner default-constructs the result variant)";
}
#endif

TEST_F(oneshot, select_loser_receive_leaves_a_value_sent_at_the_same_moment) {
    run_ct([]() -> corio::task<> {
        int recv_won = 0, other_won = 0;
        for (int iter = 0; iter < 200; ++iter) {
            auto [tx, rx] = corio::oneshot::channel<int>();
            corio::notify other;
            auto h = corio::spawn(
                [](corio::oneshot::receiver<int>* r, corio::notify* o) -> corio::task<int> {
                    auto res = co_await corio::select(r->recv(), o->notified());
                    co_return res.index() == 0 ? std::get<0>(res) : -100;
                }(&rx, &other));
            for (int i = 0; i < 3; ++i) co_await corio::yield_now();
            EXPECT_TRUE(tx.send(int(iter)));
            other.notify_one();
            int got = co_await h;
            if (got == -100) {
                ++other_won;
                auto left = rx.try_recv();
                EXPECT_TRUE(left) << "iteration " << iter << ": the losing receive took the value";
                if (left) {
                    EXPECT_EQ(*left, iter);
                }
            } else {
                ++recv_won;
                EXPECT_EQ(got, iter);
            }
        }
        EXPECT_GT(recv_won, 0);
        EXPECT_GT(other_won, 0);
    }());
}

TEST_F(oneshot, runtime_shutdown_with_a_parked_receiver_frees_it) {
    live_guard::count = 0;
    auto [tx, rx] = corio::oneshot::channel<counted>();
    {
        corio::testing::watchdog w(30s, "oneshot shutdown");
        auto rt = corio::runtime::current_thread();
        rt.block_on([](corio::oneshot::receiver<counted>* r) -> corio::task<> {
            corio::spawn([](corio::oneshot::receiver<counted>* rr) -> corio::task<> {
                live_guard g;
                counted v = co_await *rr;
                ADD_FAILURE() << "nothing is sent";
            }(r))
                .detach();
            for (int i = 0; i < 5; ++i) co_await corio::yield_now();
            EXPECT_EQ(live_guard::count.load(), 1);
        }(&rx));
    }
    EXPECT_EQ(live_guard::count.load(), 0);
    EXPECT_TRUE(tx.send(counted(1))) << "the receiver is still alive: the value is accepted";
    auto v = rx.try_recv();
    EXPECT_TRUE(v);
}

// ---------------------------------------------------------------- stress

namespace {

corio::task<> many_oneshots(int n) {
    std::vector<corio::oneshot::receiver<int>> rxs;
    std::vector<corio::join_handle<void>> hs;
    rxs.reserve(std::size_t(n));
    for (int i = 0; i < n; ++i) {
        auto [tx, rx] = corio::oneshot::channel<int>();
        rxs.push_back(std::move(rx));
        hs.push_back(corio::spawn([](corio::oneshot::sender<int> s, int v) -> corio::task<> {
            if (v % 3 == 0) co_await corio::yield_now();
            if (v % 7 == 0) {
                auto gone = std::move(s);  // dropped without sending
                co_return;
            }
            EXPECT_TRUE(s.send(int(v)));
        }(std::move(tx), i)));
    }
    long long sum = 0;
    int closed = 0;
    for (int i = 0; i < n; ++i) {
        try {
            int v = co_await rxs[std::size_t(i)];
            EXPECT_EQ(v, i);
            sum += v;
        } catch (const corio::channel_closed&) {
            EXPECT_EQ(i % 7, 0);
            ++closed;
        }
    }
    for (auto& h : hs) co_await h;
    long long want = 0;
    int want_closed = 0;
    for (int i = 0; i < n; ++i) {
        if (i % 7)
            want += i;
        else
            ++want_closed;
    }
    EXPECT_EQ(sum, want);
    EXPECT_EQ(closed, want_closed);
}

}  // namespace

TEST_F(oneshot, stress_many_channels_on_two_workers) {
    run_mt(many_oneshots(20'000), 2);
}

TEST_F(oneshot, stress_many_channels_on_four_workers) {
    run_mt(many_oneshots(20'000), 4);
}

TEST_F(oneshot, stress_many_channels_under_shuffled_scheduling) {
    for (std::uint64_t seed : {10ull, 100ull, 1000ull}) {
        SCOPED_TRACE(seed);
        run_seeded(many_oneshots(3'000), seed);
    }
}
