// corio::barrier: n arrivals release a round with exactly one leader; rounds repeat; a
// cancelled waiter withdraws its arrival; a completed round stands even for a task cancelled
// before it ran; a bounded multi-round stress run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
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

struct live {
    static inline std::atomic<int> count{0};
    live() { ++count; }
    live(const live&) { ++count; }
    ~live() { --count; }
};

struct outcome {
    int released = 0;
    int leaders = 0;
};

corio::task<> arrive(corio::barrier& b, outcome& o) {
    bool leader = co_await b.arrive_and_wait();
    ++o.released;
    if (leader) ++o.leaders;
}

}  // namespace

TEST(barrier, zero_parties_is_rejected) {
    EXPECT_THROW(corio::barrier{0}, std::invalid_argument);
}

TEST(barrier, one_party_barrier_releases_every_arrival_at_once_as_leader) {
    run_ct([]() -> corio::task<> {
        corio::barrier b{1};
        EXPECT_EQ(b.parties(), 1u);
        for (int i = 0; i < 3; ++i) {
            bool leader = co_await b.arrive_and_wait();
            EXPECT_TRUE(leader);
        }
        EXPECT_EQ(b.waiting(), 0u);
    }());
}

TEST(barrier, nobody_leaves_before_the_last_arrival_and_exactly_one_leads) {
    run_ct([]() -> corio::task<> {
        corio::barrier b{4};
        outcome o;
        std::vector<corio::join_handle<void>> hs;
        for (int i = 0; i < 3; ++i) hs.push_back(corio::spawn(arrive(b, o)));
        EXPECT_TRUE(co_await yield_until([&] { return b.waiting() == 3; }));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_EQ(o.released, 0) << "released before the round was complete";
        bool leader = co_await b.arrive_and_wait();  // the 4th arrival completes the round
        EXPECT_TRUE(leader) << "the last arrival is the leader";
        for (auto& h : hs) co_await h;
        EXPECT_EQ(o.released, 3);
        EXPECT_EQ(o.leaders, 0);
        EXPECT_EQ(b.waiting(), 0u);
    }());
}

TEST(barrier, is_reusable_for_the_next_round) {
    run_ct([]() -> corio::task<> {
        corio::barrier b{2};
        outcome o;
        for (int round = 0; round < 3; ++round) {
            auto h = corio::spawn(arrive(b, o));
            EXPECT_TRUE(co_await yield_until([&] { return b.waiting() == 1; }));
            EXPECT_TRUE(co_await b.arrive_and_wait());
            co_await h;
            EXPECT_EQ(o.released, round + 1);
        }
        EXPECT_EQ(o.leaders, 0);
    }());
}

// ---------------------------------------------------------------- cancellation

TEST(barrier, aborted_waiter_withdraws_its_arrival) {
    run_ct([]() -> corio::task<> {
        corio::barrier b{3};
        outcome o;
        auto a = corio::spawn(arrive(b, o));
        auto c = corio::spawn(arrive(b, o));
        EXPECT_TRUE(co_await yield_until([&] { return b.waiting() == 2; }));
        a.abort();
        EXPECT_THROW(co_await a, corio::cancelled_error);
        EXPECT_EQ(b.waiting(), 1u) << "the cancelled arrival must be withdrawn";
        auto d = corio::spawn(arrive(b, o));
        EXPECT_TRUE(co_await yield_until([&] { return b.waiting() == 2; }));
        EXPECT_EQ(o.released, 0) << "the round must still need three live arrivals";
        EXPECT_TRUE(co_await b.arrive_and_wait());
        co_await c;
        co_await d;
        EXPECT_EQ(o.released, 2);
    }());
}

TEST(barrier, completed_round_stands_for_a_waiter_aborted_before_it_ran) {
    run_ct([]() -> corio::task<> {
        corio::barrier b{2};
        bool released = false, passed = false;
        auto a = corio::spawn([&]() -> corio::task<> {
            co_await b.arrive_and_wait();
            released = true;
            co_await corio::yield_now();
            passed = true;
        });
        EXPECT_TRUE(co_await yield_until([&] { return b.waiting() == 1; }));
        EXPECT_TRUE(co_await b.arrive_and_wait());  // completes the round: `a` is released
        a.abort();
        EXPECT_THROW(co_await a, corio::cancelled_error);
        EXPECT_TRUE(released) << "a completed round stands";
        EXPECT_FALSE(passed);
        EXPECT_EQ(b.waiting(), 0u);
    }());
}

TEST(barrier, timed_out_arrival_is_withdrawn) {
    run_ct([]() -> corio::task<> {
        corio::barrier b{2};
        EXPECT_THROW(co_await corio::timeout(15ms, b.arrive_and_wait()), corio::timed_out);
        EXPECT_EQ(b.waiting(), 0u);
        outcome o;
        auto h = corio::spawn(arrive(b, o));
        EXPECT_TRUE(co_await yield_until([&] { return b.waiting() == 1; }));
        EXPECT_EQ(o.released, 0) << "the timed-out arrival must not count";
        EXPECT_TRUE(co_await b.arrive_and_wait());
        co_await h;
    }());
}

TEST(barrier, runtime_shutdown_with_waiting_tasks_frees_them) {
    live::count = 0;
    corio::barrier b{100};
    {
        corio::testing::watchdog w(30s, "barrier shutdown");
        auto rt = corio::runtime::current_thread();
        rt.block_on([](corio::barrier& bb) -> corio::task<> {
            for (int i = 0; i < 10; ++i) {
                corio::spawn([&bb]() -> corio::task<> {
                    live guard;
                    co_await bb.arrive_and_wait();
                    ADD_FAILURE() << "the round never completes";
                }).detach();
            }
            for (int i = 0; i < 5; ++i) co_await corio::yield_now();
            EXPECT_EQ(bb.waiting(), 10u);
        }(b));
    }
    EXPECT_EQ(live::count.load(), 0);
    EXPECT_EQ(b.waiting(), 0u);
}

// ---------------------------------------------------------------- stress

namespace {

// `tasks` tasks go through `rounds` rounds. Before its arrival in round r a task bumps
// arrived[r]; after the round it checks all `tasks` arrivals of round r happened, and the
// leader count of every round is exactly one.
corio::task<> rounds_stress(int tasks, int rounds) {
    corio::barrier b{std::size_t(tasks)};
    std::vector<std::atomic<int>> arrived(static_cast<std::size_t>(rounds));
    std::vector<std::atomic<int>> leaders(static_cast<std::size_t>(rounds));
    std::vector<corio::join_handle<void>> hs;
    for (int t = 0; t < tasks; ++t) {
        hs.push_back(corio::spawn([&]() -> corio::task<> {
            for (int r = 0; r < rounds; ++r) {
                ++arrived[std::size_t(r)];
                bool leader = co_await b.arrive_and_wait();
                if (leader) ++leaders[std::size_t(r)];
                EXPECT_EQ(arrived[std::size_t(r)].load(), tasks) << "left round " << r << " early";
            }
        }));
    }
    for (auto& h : hs) co_await h;
    for (int r = 0; r < rounds; ++r) EXPECT_EQ(leaders[std::size_t(r)].load(), 1) << "round " << r;
    EXPECT_EQ(b.waiting(), 0u);
}

}  // namespace

TEST(barrier, stress_rounds_release_together_with_one_leader_on_two_workers) {
    run_mt(rounds_stress(16, 300), 2);
}

TEST(barrier, stress_rounds_release_together_with_one_leader_on_four_workers) {
    run_mt(rounds_stress(16, 300), 4);
}

TEST(barrier, stress_rounds_release_together_with_one_leader_under_shuffled_scheduling) {
    for (std::uint64_t seed : {8ull, 88ull, 888ull}) {
        SCOPED_TRACE(seed);
        run_seeded(rounds_stress(10, 100), seed);
    }
}
