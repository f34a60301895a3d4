// corio::mpsc: bounded and unbounded channels. Order, end of stream (nullopt after the last
// sender is gone and the queue is drained), sends that fail give the value back (send_error,
// try_send), rx.close(), capacity edges, every value destroyed exactly once however the
// channel ends, what cancellation does to recv (the message stays) and send (not sent, the
// value destroyed, the wake passed on), FIFO of parked senders, and bounded stress runs.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;

using corio::testing::run_mt;
using corio::testing::run_seeded;
using corio::testing::yield_until;

namespace {

// A value that counts its live instances (moved-from shells included: each is destroyed
// too) and, separately, the values it carries (a move transfers one, a copy adds one).
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

struct reset_live {
    reset_live() {
        counted::live = 0;
        counted::values = 0;
    }
};

// Both channel flavours, for the tests that hold for each.
struct bounded_flavour {
    static auto make(std::size_t cap = 4) { return corio::mpsc::channel<counted>(cap); }
};
struct unbounded_flavour {
    static auto make(std::size_t = 0) { return corio::mpsc::unbounded_channel<counted>(); }
};

template <class F>
class mpsc_both : public ::testing::Test, reset_live {};
using flavours = ::testing::Types<bounded_flavour, unbounded_flavour>;
TYPED_TEST_SUITE(mpsc_both, flavours);

// A coroutine's parameters live in its frame until the frame is freed, which a join_handle
// still held by someone delays past the end of the body. A sender handed to a task is moved
// into a local with this, so it is dropped (ending the stream) when the body ends.
template <class S>
S owned(S& param) {
    return std::move(param);
}

template <class Rx>
corio::task<std::vector<int>> drain(Rx& rx) {
    std::vector<int> out;
    for (;;) {
        auto v = co_await rx.recv();
        if (!v) break;
        out.push_back(v->value);
    }
    co_return out;
}

}  // namespace

// ---------------------------------------------------------------- normal path and ends

TYPED_TEST(mpsc_both, values_arrive_in_send_order) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = TypeParam::make(3);
        auto producer = corio::spawn([](auto param) -> corio::task<> {
            auto t = owned(param);
            for (int i = 0; i < 20; ++i) co_await t.send(counted(i));
        }(std::move(tx)));
        std::vector<int> got = co_await drain(rx);
        co_await producer;
        std::vector<int> want;
        for (int i = 0; i < 20; ++i) want.push_back(i);
        EXPECT_EQ(got, want);
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

TYPED_TEST(mpsc_both, recv_returns_nullopt_once_the_last_sender_is_gone_and_the_queue_is_drained) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = TypeParam::make(4);
        {
            auto tx2 = tx;  // a copy is a second sender
            co_await tx.send(counted(1));
            co_await tx2.send(counted(2));
            auto moved = std::move(tx);
            co_await moved.send(counted(3));
        }
        EXPECT_TRUE(rx.is_closed());
        std::vector<int> got = co_await drain(rx);
        EXPECT_EQ(got, (std::vector<int>{1, 2, 3})) << "queued values come before the end";
        auto again = co_await rx.recv();
        EXPECT_FALSE(again.has_value());
        auto t = rx.try_recv();
        EXPECT_EQ(t.status(), corio::try_status::closed);
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

TYPED_TEST(mpsc_both, parked_receiver_is_woken_with_nullopt_when_the_last_sender_is_dropped) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = TypeParam::make(4);
        bool ended = false;
        auto h = corio::spawn([&]() -> corio::task<> {
            auto v = co_await rx.recv();
            ended = !v.has_value();
        });
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_FALSE(h.is_finished());
        auto copy = tx;
        { auto gone = std::move(tx); }
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_FALSE(h.is_finished()) << "one sender (the copy) is still alive";
        { auto gone = std::move(copy); }
        co_await h;
        EXPECT_TRUE(ended);
    }());
}

TYPED_TEST(mpsc_both, send_after_the_receiver_is_gone_throws_send_error_carrying_the_value) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = TypeParam::make(4);
        { auto gone = std::move(rx); }
        EXPECT_TRUE(tx.is_closed());
        int carried = 0;
        try {
            co_await tx.send(counted(7));
            ADD_FAILURE() << "send on a closed channel succeeded";
        } catch (corio::send_error<counted>& e) {
            carried = e.value().value;
            counted back = std::move(e).value();
            EXPECT_EQ(back.value, 7);
        }
        EXPECT_EQ(carried, 7);
        auto r = tx.try_send(counted(8));
        EXPECT_FALSE(r);
        EXPECT_EQ(r.status(), corio::try_status::closed);
        EXPECT_EQ(r.value().value, 8);
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

TYPED_TEST(mpsc_both, rx_close_stops_senders_but_queued_values_are_still_received) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = TypeParam::make(4);
        co_await tx.send(counted(1));
        co_await tx.send(counted(2));
        rx.close();
        EXPECT_TRUE(tx.is_closed());
        EXPECT_TRUE(rx.is_closed());
        try {
            co_await tx.send(counted(3));
            ADD_FAILURE() << "send after close succeeded";
        } catch (corio::send_error<counted>& e) {
            EXPECT_EQ(e.value().value, 3);
        }
        auto r = tx.try_send(counted(4));
        EXPECT_EQ(r.status(), corio::try_status::closed);
        EXPECT_EQ(r.value().value, 4);
        std::vector<int> got = co_await drain(rx);  // ends although `tx` is alive
        EXPECT_EQ(got, (std::vector<int>{1, 2}));
        rx.close();  // idempotent
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

TYPED_TEST(mpsc_both, try_recv_reports_empty_then_a_value_then_closed) {
    auto [tx, rx] = TypeParam::make(2);
    auto e = rx.try_recv();
    EXPECT_EQ(e.status(), corio::try_status::empty);
    EXPECT_TRUE(tx.try_send(counted(5)));
    EXPECT_EQ(rx.size(), 1u);
    auto v = rx.try_recv();
    ASSERT_TRUE(v);
    EXPECT_EQ(v->value, 5);
    { auto gone = std::move(tx); }
    EXPECT_EQ(rx.try_recv().status(), corio::try_status::closed);
}

TYPED_TEST(mpsc_both, values_left_in_the_channel_are_destroyed_exactly_once_when_it_goes) {
    {
        auto [tx, rx] = TypeParam::make(8);
        for (int i = 0; i < 5; ++i) EXPECT_TRUE(tx.try_send(counted(i)));
        EXPECT_EQ(counted::values.load(), 5);
    }  // rx goes first (reverse order of declaration), then tx frees the queue
    EXPECT_EQ(counted::live.load(), 0);
    {
        auto [tx, rx] = TypeParam::make(8);
        for (int i = 0; i < 5; ++i) EXPECT_TRUE(tx.try_send(counted(i)));
        { auto gone = std::move(tx); }  // the sender goes first this time
        auto one = rx.try_recv();
        EXPECT_TRUE(one);
    }
    EXPECT_EQ(counted::live.load(), 0);
    {
        auto [tx, rx] = TypeParam::make(8);
        for (int i = 0; i < 3; ++i) EXPECT_TRUE(tx.try_send(counted(i)));
        rx.close();
    }
    EXPECT_EQ(counted::live.load(), 0) << "values queued before close() leaked";
}

TYPED_TEST(mpsc_both, try_send_from_a_plain_thread_wakes_a_parked_receiver) {
    run_mt([]() -> corio::task<> {
        auto [tx, rx] = TypeParam::make(4);
        std::thread t([sender = std::move(tx)]() mutable {
            for (int i = 0; i < 100; ++i) {
                while (true) {
                    auto r = sender.try_send(counted(i));
                    if (r) break;
                    EXPECT_EQ(r.status(), corio::try_status::full);
                    std::this_thread::yield();
                }
            }
        });
        std::vector<int> got = co_await drain(rx);
        t.join();
        EXPECT_EQ(got.size(), 100u);
        for (std::size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], int(i));
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

// ---------------------------------------------------------------- bounded: capacity

TEST(mpsc, capacity_zero_is_rejected) {
    EXPECT_THROW(corio::mpsc::channel<int>(0), std::invalid_argument);
}

TEST(mpsc, try_send_on_a_full_channel_gives_the_value_back) {
    counted::live = 0;
    counted::values = 0;
    {
        auto [tx, rx] = corio::mpsc::channel<counted>(2);
        EXPECT_EQ(tx.capacity(), 2u);
        EXPECT_TRUE(tx.try_send(counted(1)));
        EXPECT_TRUE(tx.try_send(counted(2)));
        auto r = tx.try_send(counted(3));
        EXPECT_FALSE(r);
        EXPECT_EQ(r.status(), corio::try_status::full);
        EXPECT_EQ(r.value().value, 3);
        EXPECT_EQ(tx.size(), 2u);
        auto first = rx.try_recv();
        ASSERT_TRUE(first);
        EXPECT_EQ(first->value, 1);
        EXPECT_TRUE(tx.try_send(std::move(r).value()));
        EXPECT_EQ(rx.try_recv()->value, 2);
        EXPECT_EQ(rx.try_recv()->value, 3);
    }
    EXPECT_EQ(counted::live.load(), 0);
}

TEST(mpsc, capacities_that_are_not_powers_of_two_wrap_correctly) {
    for (std::size_t cap : {1u, 3u, 5u, 7u, 100u}) {
        auto [tx, rx] = corio::mpsc::channel<int>(cap);
        int next_in = 0, next_out = 0;
        for (int lap = 0; lap < 7; ++lap) {
            while (tx.try_send(next_in)) ++next_in;
            EXPECT_EQ(tx.size(), cap) << "capacity " << cap;
            while (auto v = rx.try_recv()) EXPECT_EQ(*v, next_out++) << "capacity " << cap;
        }
        EXPECT_EQ(next_in, next_out);
        EXPECT_EQ(next_in, int(cap) * 7);
    }
}

TEST(mpsc, bounded_send_waits_while_full_and_completes_when_space_frees) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(1);
        co_await tx.send(1);
        auto h = corio::spawn([](corio::mpsc::sender<int> param) -> corio::task<> {
            auto t = owned(param);
            co_await t.send(2);
        }(tx));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_FALSE(h.is_finished()) << "send must wait while the channel is full";
        auto a = co_await rx.recv();
        co_await h;
        auto b = co_await rx.recv();
        EXPECT_EQ(*a, 1);
        EXPECT_EQ(*b, 2);
    }());
}

TEST(mpsc, parked_senders_send_in_arrival_order) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(1);
        co_await tx.send(-1);
        std::vector<corio::join_handle<void>> hs;
        for (int i = 0; i < 6; ++i) {
            hs.push_back(corio::spawn([](corio::mpsc::sender<int> param, int v) -> corio::task<> {
                auto t = owned(param);
                co_await t.send(int(v));
            }(tx, i)));
            for (int k = 0; k < 3; ++k)
                co_await corio::yield_now();  // it parks before the next one
        }
        { auto gone = std::move(tx); }
        std::vector<int> got;
        for (;;) {
            auto v = co_await rx.recv();
            if (!v) break;
            got.push_back(*v);
        }
        for (auto& h : hs) co_await h;
        EXPECT_EQ(got, (std::vector<int>{-1, 0, 1, 2, 3, 4, 5}));
    }());
}

TEST(mpsc, parked_sender_gets_send_error_with_its_value_when_the_receiver_closes) {
    counted::live = 0;
    counted::values = 0;
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<counted>(1);
        co_await tx.send(counted(1));
        int given_back = 0;
        auto h = corio::spawn([](corio::mpsc::sender<counted> param, int* out) -> corio::task<> {
            auto t = owned(param);
            try {
                co_await t.send(counted(2));
            } catch (corio::send_error<counted>& e) {
                *out = e.value().value;
            }
        }(tx, &given_back));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_FALSE(h.is_finished());
        rx.close();
        co_await h;
        EXPECT_EQ(given_back, 2);
        auto v = co_await rx.recv();
        EXPECT_EQ(v->value, 1) << "the value queued before close() is still delivered";
        auto end = co_await rx.recv();
        EXPECT_FALSE(end.has_value());
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

TEST(mpsc, parked_sender_gets_send_error_when_the_receiver_is_dropped) {
    counted::live = 0;
    counted::values = 0;
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<counted>(1);
        co_await tx.send(counted(1));
        int given_back = 0;
        auto h = corio::spawn([](corio::mpsc::sender<counted> param, int* out) -> corio::task<> {
            auto t = owned(param);
            try {
                co_await t.send(counted(2));
            } catch (corio::send_error<counted>& e) {
                *out = e.value().value;
            }
        }(tx, &given_back));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        { auto gone = std::move(rx); }
        co_await h;
        EXPECT_EQ(given_back, 2);
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

// ---------------------------------------------------------------- cancellation

TEST(mpsc, aborted_recv_leaves_the_message_in_the_channel) {
    counted::live = 0;
    counted::values = 0;
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<counted>(4);
        auto h = corio::spawn([&]() -> corio::task<> {
            auto v = co_await rx.recv();
            ADD_FAILURE() << "the aborted recv got " << (v ? v->value : -2);
        });
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        co_await tx.send(counted(42));
        auto v = co_await rx.recv();
        EXPECT_EQ(v->value, 42);
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

TEST(mpsc, unbounded_aborted_recv_leaves_the_message_in_the_channel) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::unbounded_channel<int>();
        auto h = corio::spawn([&]() -> corio::task<> { (void)co_await rx.recv(); });
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        co_await tx.send(9);
        EXPECT_EQ(*co_await rx.recv(), 9);
    }());
}

TEST(mpsc, aborted_send_has_not_sent_and_its_value_is_destroyed) {
    counted::live = 0;
    counted::values = 0;
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<counted>(1);
        co_await tx.send(counted(1));
        auto h = corio::spawn([](corio::mpsc::sender<counted> param) -> corio::task<> {
            auto t = owned(param);
            co_await t.send(counted(2));
        }(tx));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_EQ(counted::values.load(), 2);
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_EQ(counted::values.load(), 1) << "the cancelled send's value must be destroyed";
        { auto gone = std::move(tx); }
        std::vector<int> got = co_await drain(rx);
        EXPECT_EQ(got, (std::vector<int>{1})) << "a cancelled send must not have sent";
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

// S1 and S2 wait on a full channel. A receive wakes S1; S1 is aborted before it runs: the
// wake must pass to S2, which then sends.
TEST(mpsc, aborted_sender_passes_a_received_wake_to_the_next_sender) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(1);
        co_await tx.send(0);
        auto sender = [](corio::mpsc::sender<int> param, int v) -> corio::task<> {
            auto t = owned(param);
            co_await t.send(int(v));
        };
        auto s1 = corio::spawn(sender(tx, 1));
        for (int i = 0; i < 3; ++i) co_await corio::yield_now();
        auto s2 = corio::spawn(sender(tx, 2));
        for (int i = 0; i < 3; ++i) co_await corio::yield_now();
        EXPECT_FALSE(s1.is_finished());
        EXPECT_FALSE(s2.is_finished());
        auto first = rx.try_recv();  // frees a slot and wakes s1
        EXPECT_EQ(first.status(), corio::try_status::ok);
        if (first) {
            EXPECT_EQ(*first, 0);
        }
        s1.abort();
        EXPECT_THROW(co_await s1, corio::cancelled_error);
        bool s2_sent = co_await yield_until([&] { return s2.is_finished(); }, 1000);
        EXPECT_TRUE(s2_sent) << "the wake received by the cancelled sender was lost";
        { auto gone = std::move(tx); }
        if (!s2_sent) (void)rx.try_recv();
        co_await s2;
        std::vector<int> got;
        for (;;) {
            auto v = co_await rx.recv();
            if (!v) break;
            got.push_back(*v);
        }
        EXPECT_EQ(got, (std::vector<int>{2}));
    }());
}

TEST(mpsc, timed_out_recv_takes_no_message) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(2);
        EXPECT_THROW(co_await corio::timeout(15ms, rx.recv()), corio::timed_out);
        co_await tx.send(5);
        auto v = co_await corio::timeout(5s, rx.recv());
        EXPECT_EQ(v, std::optional<int>(5));
    }());
}

TEST(mpsc, timed_out_send_has_not_sent) {
    counted::live = 0;
    counted::values = 0;
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<counted>(1);
        co_await tx.send(counted(1));
        EXPECT_THROW(co_await corio::timeout(15ms, tx.send(counted(2))), corio::timed_out);
        EXPECT_EQ(counted::values.load(), 1);
        { auto gone = std::move(tx); }
        std::vector<int> got = co_await drain(rx);
        EXPECT_EQ(got, (std::vector<int>{1}));
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

TEST(mpsc, runtime_shutdown_with_parked_senders_and_receiver_destroys_every_value_once) {
    counted::live = 0;
    counted::values = 0;
    {
        corio::testing::watchdog w(30s, "mpsc shutdown");
        auto [tx, rx] = corio::mpsc::channel<counted>(2);
        auto [utx, urx] = corio::mpsc::unbounded_channel<counted>();
        {
            auto rt = corio::runtime::current_thread();
            rt.block_on([](corio::mpsc::sender<counted>& t,
                           corio::mpsc::unbounded_receiver<counted>& ur) -> corio::task<> {
                for (int i = 0; i < 2; ++i) co_await t.send(counted(i));
                for (int i = 0; i < 4; ++i) {
                    corio::spawn([](corio::mpsc::sender<counted> s, int v) -> corio::task<> {
                        co_await s.send(counted(v));
                    }(t, 10 + i))
                        .detach();
                }
                corio::spawn([&ur]() -> corio::task<> {
                    auto v = co_await ur.recv();
                    ADD_FAILURE() << "nothing is sent on the unbounded channel";
                }).detach();
                for (int i = 0; i < 5; ++i) co_await corio::yield_now();
            }(tx, urx));
            EXPECT_EQ(counted::values.load(), 6);  // 2 queued, 4 held by parked senders
        }
        EXPECT_EQ(counted::values.load(), 2) << "the parked senders' values must be destroyed";
        EXPECT_EQ(counted::live.load(), 2);
        std::vector<int> left;
        while (auto v = rx.try_recv()) left.push_back(v->value);
        EXPECT_EQ(left, (std::vector<int>{0, 1}));
    }
    EXPECT_EQ(counted::live.load(), 0);
}

// ---------------------------------------------------------------- stress

namespace {

template <class Make>
corio::task<> producers_stress(Make make, int producers, int per_producer) {
    auto [tx, rx] = make();
    std::vector<corio::join_handle<void>> hs;
    for (int p = 0; p < producers; ++p) {
        hs.push_back(corio::spawn([](auto param, int id, int n) -> corio::task<> {
            auto t = owned(param);
            for (int i = 0; i < n; ++i) co_await t.send(std::pair<int, int>(id, i));
        }(tx, p, per_producer)));
    }
    { auto gone = std::move(tx); }
    std::vector<int> next(static_cast<std::size_t>(producers), 0);
    long long count = 0, sum = 0;
    for (;;) {
        auto v = co_await rx.recv();
        if (!v) break;
        auto [id, i] = *v;
        if (next[std::size_t(id)] != i) {
            ADD_FAILURE() << "producer " << id << ": got " << i << ", expected "
                          << next[std::size_t(id)];
            next[std::size_t(id)] = i;
        }
        ++next[std::size_t(id)];
        ++count;
        sum += i;
    }
    for (auto& h : hs) co_await h;
    EXPECT_EQ(count, (long long)producers * per_producer);
    EXPECT_EQ(sum, (long long)producers * per_producer * (per_producer - 1) / 2);
}

auto bounded64() {
    return corio::mpsc::channel<std::pair<int, int>>(64);
}
auto bounded1() {
    return corio::mpsc::channel<std::pair<int, int>>(1);
}
auto unbounded() {
    return corio::mpsc::unbounded_channel<std::pair<int, int>>();
}

}  // namespace

TEST(mpsc, stress_four_producers_bounded_on_two_workers) {
    run_mt(producers_stress(bounded64, 4, 100'000), 2);
}

TEST(mpsc, stress_four_producers_bounded_on_four_workers) {
    run_mt(producers_stress(bounded64, 4, 100'000), 4);
}

TEST(mpsc, stress_four_producers_capacity_one_on_two_workers) {
    run_mt(producers_stress(bounded1, 4, 20'000), 2);
}

TEST(mpsc, stress_four_producers_unbounded_on_two_workers) {
    run_mt(producers_stress(unbounded, 4, 100'000), 2);
}

TEST(mpsc, stress_four_producers_under_shuffled_scheduling) {
    for (std::uint64_t seed : {13ull, 130ull, 1300ull}) {
        SCOPED_TRACE(seed);
        run_seeded(producers_stress(bounded64, 4, 10'000), seed);
        run_seeded(producers_stress(bounded1, 4, 2'000), seed);
        run_seeded(producers_stress(unbounded, 4, 10'000), seed);
    }
}

// A send racing rx.close() is either refused (the value comes back) or received: never
// reported sent and then dropped. The race window is a sender between its closed check and
// its slot claim, so the receiver closes at once while two senders on other workers send.
TYPED_TEST(mpsc_both, stress_a_send_racing_close_is_refused_or_received_never_lost) {
    run_mt([]() -> corio::task<> {
        for (int round = 0; round < 2'000; ++round) {
            auto [tx, rx] = TypeParam::make(64);
            using sender_type = std::remove_cvref_t<decltype(tx)>;
            std::atomic<int> sent{0};
            std::vector<corio::join_handle<void>> hs;
            for (int p = 0; p < 2; ++p) {
                hs.push_back(
                    corio::spawn([](sender_type param, std::atomic<int>* ok) -> corio::task<> {
                        auto t = owned(param);
                        for (int i = 0; i < 16; ++i) {
                            if (i % 2) {
                                if (t.try_send(counted(i))) ++*ok;
                                continue;
                            }
                            try {
                                co_await t.send(counted(i));
                                ++*ok;
                            } catch (corio::send_error<counted>&) {
                            }
                        }
                    }(tx, &sent)));
            }
            { auto gone = std::move(tx); }
            if (round % 2) co_await corio::yield_now();
            rx.close();
            int received = 0;
            while (co_await rx.recv()) ++received;
            for (auto& h : hs) co_await h;
            EXPECT_EQ(received, sent.load()) << "round " << round;
            if (received != sent.load()) co_return;
        }
    }());
    EXPECT_EQ(counted::live.load(), 0);
}

TEST(mpsc, stress_every_value_destroyed_once_when_receiver_closes_mid_stream) {
    counted::live = 0;
    counted::values = 0;
    run_mt([]() -> corio::task<> {
        for (int round = 0; round < 50; ++round) {
            auto [tx, rx] = corio::mpsc::channel<counted>(8);
            std::atomic<int> sent{0}, refused{0};
            std::vector<corio::join_handle<void>> hs;
            for (int p = 0; p < 3; ++p) {
                hs.push_back(
                    corio::spawn([](corio::mpsc::sender<counted> param, std::atomic<int>* ok,
                                    std::atomic<int>* refused_out) -> corio::task<> {
                        auto t = owned(param);
                        for (int i = 0; i < 200; ++i) {
                            try {
                                co_await t.send(counted(i));
                                ++*ok;
                            } catch (corio::send_error<counted>& e) {
                                EXPECT_EQ(e.value().value, i);
                                ++*refused_out;
                            }
                        }
                    }(tx, &sent, &refused)));
            }
            { auto gone = std::move(tx); }
            int received = 0;
            for (int i = 0; i < round * 5; ++i) {
                auto v = co_await rx.recv();
                if (!v) break;
                ++received;
            }
            rx.close();
            for (;;) {
                auto v = co_await rx.recv();
                if (!v) break;
                ++received;
            }
            for (auto& h : hs) co_await h;
            EXPECT_EQ(sent.load() + refused.load(), 600);
            EXPECT_EQ(received, sent.load()) << "every value sent is received exactly once";
        }
    }());
    EXPECT_EQ(counted::live.load(), 0);
}
