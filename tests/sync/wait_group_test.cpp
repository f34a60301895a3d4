// corio::wait_group: wait() completes when the counter reaches zero (at once if it is zero),
// done() below zero throws, every waiter is woken, a cancelled waiter just leaves, and a
// bounded stress run with many jobs.
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

}  // namespace

TEST(wait_group, wait_on_a_zero_counter_completes_at_once) {
    run_ct([]() -> corio::task<> {
        corio::wait_group wg;
        EXPECT_EQ(wg.count(), 0u);
        co_await wg.wait();
        wg.add(2);
        wg.done();
        wg.done();
        co_await wg.wait();
    }());
}

TEST(wait_group, done_below_zero_throws_logic_error) {
    corio::wait_group wg;
    EXPECT_THROW(wg.done(), std::logic_error);
    wg.add(1);
    wg.done();
    EXPECT_THROW(wg.done(), std::logic_error);
    EXPECT_EQ(wg.count(), 0u);
}

TEST(wait_group, wait_completes_only_after_the_last_done) {
    run_ct([]() -> corio::task<> {
        corio::wait_group wg;
        wg.add(3);
        bool finished = false;
        auto h = corio::spawn([&]() -> corio::task<> {
            co_await wg.wait();
            finished = true;
        });
        for (int i = 0; i < 3; ++i) {
            for (int k = 0; k < 5; ++k) co_await corio::yield_now();
            EXPECT_FALSE(finished) << "woken with " << wg.count() << " jobs left";
            wg.done();
        }
        co_await h;
        EXPECT_TRUE(finished);
        EXPECT_EQ(wg.count(), 0u);
    }());
}

TEST(wait_group, every_waiter_is_woken) {
    run_ct([]() -> corio::task<> {
        corio::wait_group wg;
        wg.add(1);
        int woken = 0;
        std::vector<corio::join_handle<void>> hs;
        for (int i = 0; i < 6; ++i) {
            hs.push_back(corio::spawn([&]() -> corio::task<> {
                co_await wg.wait();
                ++woken;
            }));
        }
        for (int k = 0; k < 5; ++k) co_await corio::yield_now();
        EXPECT_EQ(woken, 0);
        wg.done();
        for (auto& h : hs) co_await h;
        EXPECT_EQ(woken, 6);
    }());
}

TEST(wait_group, can_be_reused_after_reaching_zero) {
    run_ct([]() -> corio::task<> {
        corio::wait_group wg;
        for (int round = 0; round < 3; ++round) {
            wg.add(2);
            auto a = corio::spawn([&]() -> corio::task<> {
                co_await corio::yield_now();
                wg.done();
            });
            auto b = corio::spawn([&]() -> corio::task<> {
                wg.done();
                co_return;
            });
            co_await wg.wait();
            EXPECT_EQ(wg.count(), 0u);
            co_await a;
            co_await b;
        }
    }());
}

// ---------------------------------------------------------------- cancellation

TEST(wait_group, aborted_waiter_just_leaves) {
    run_ct([]() -> corio::task<> {
        corio::wait_group wg;
        wg.add(1);
        bool other_woken = false;
        auto a = corio::spawn([&]() -> corio::task<> { co_await wg.wait(); });
        auto b = corio::spawn([&]() -> corio::task<> {
            co_await wg.wait();
            other_woken = true;
        });
        for (int k = 0; k < 5; ++k) co_await corio::yield_now();
        a.abort();
        EXPECT_THROW(co_await a, corio::cancelled_error);
        EXPECT_EQ(wg.count(), 1u) << "a cancelled wait must not touch the counter";
        wg.done();
        co_await b;
        EXPECT_TRUE(other_woken);
    }());
}

TEST(wait_group, timed_out_wait_leaves_and_the_counter_is_untouched) {
    run_ct([]() -> corio::task<> {
        corio::wait_group wg;
        wg.add(1);
        EXPECT_THROW(co_await corio::timeout(15ms, wg.wait()), corio::timed_out);
        EXPECT_EQ(wg.count(), 1u);
        wg.done();
        EXPECT_NO_THROW(co_await corio::timeout(5s, wg.wait()));
    }());
}

TEST(wait_group, runtime_shutdown_with_waiting_tasks_frees_them) {
    live::count = 0;
    corio::wait_group wg;
    wg.add(1);
    {
        corio::testing::watchdog w(30s, "wait_group shutdown");
        auto rt = corio::runtime::current_thread();
        rt.block_on([](corio::wait_group& g) -> corio::task<> {
            for (int i = 0; i < 10; ++i) {
                corio::spawn([&g]() -> corio::task<> {
                    live guard;
                    co_await g.wait();
                    ADD_FAILURE() << "the counter never reaches zero";
                }).detach();
            }
            for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        }(wg));
        EXPECT_EQ(live::count.load(), 10);
    }
    EXPECT_EQ(live::count.load(), 0);
    wg.done();  // nobody left to wake
}

// ---------------------------------------------------------------- stress

namespace {

corio::task<> jobs_stress(int jobs) {
    corio::wait_group wg;
    std::atomic<int> finished{0};
    for (int i = 0; i < jobs; ++i) {
        wg.add(1);
        corio::spawn([&]() -> corio::task<> {
            co_await corio::yield_now();
            ++finished;
            wg.done();
        }).detach();
    }
    co_await wg.wait();
    EXPECT_EQ(finished.load(), jobs) << "wait() returned before every job was done";
    EXPECT_EQ(wg.count(), 0u);
}

}  // namespace

TEST(wait_group, stress_wait_returns_after_every_job_on_two_workers) {
    run_mt(jobs_stress(20'000), 2);
}

TEST(wait_group, stress_wait_returns_after_every_job_on_four_workers) {
    run_mt(jobs_stress(20'000), 4);
}

TEST(wait_group, stress_wait_returns_after_every_job_under_shuffled_scheduling) {
    for (std::uint64_t seed : {5ull, 55ull, 555ull}) {
        SCOPED_TRACE(seed);
        run_seeded(jobs_stress(5'000), seed);
    }
}
