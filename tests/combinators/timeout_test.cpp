// corio::timeout / corio::timeout_at: the value when the operation is fast, timed_out when it
// is slow (never early), a slow task branch is cancelled and awaited, a timed-out recv takes
// no message (also when the message races the deadline), exceptions propagate, and a
// cancelled caller gets cancelled_error, not timed_out.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

namespace {

struct set_on_exit {
    std::atomic<bool>* flag;
    ~set_on_exit() { flag->store(true); }
};

corio::task<int> value_now(int v) {
    co_return v;
}

corio::task<> nothing() {
    co_return;
}

corio::task<int> long_sleeper(std::atomic<bool>* started, std::atomic<bool>* destroyed) {
    set_on_exit guard{destroyed};
    started->store(true);
    co_await corio::sleep(10s);
    co_return -1;
}

corio::task<int> throws_now() {
    throw std::invalid_argument("bad input");
    co_return 0;
}

}  // namespace

TEST(timeout, returns_the_value_when_the_task_is_fast) {
    run_mt([]() -> corio::task<> {
        int v = co_await corio::timeout(5s, value_now(7));
        EXPECT_EQ(v, 7);
        co_await corio::timeout(5s, nothing());
    }());
}

TEST(timeout, returns_the_value_when_the_await_is_fast) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(2);
        co_await tx.send(8);
        auto v = co_await corio::timeout(5s, rx.recv());
        EXPECT_EQ(v, std::optional<int>(8));
    }());
}

TEST(timeout, throws_timed_out_when_slow_and_never_early) {
    run_ct([]() -> corio::task<> {
        corio::notify never;
        auto t0 = corio::clock::now();
        EXPECT_THROW(co_await corio::timeout(30ms, never.notified()), corio::timed_out);
        auto took = corio::clock::now() - t0;
        EXPECT_GE(took, 30ms) << "the deadline fired early";
        EXPECT_LT(took, 5s);
        EXPECT_EQ(never.waiters(), 0u);
    }());
}

TEST(timeout, slow_task_branch_is_cancelled_and_awaited_before_timed_out_is_thrown) {
    run_mt([]() -> corio::task<> {
        std::atomic<bool> started{false}, destroyed{false};
        auto t0 = corio::clock::now();
        bool timed_out = false;
        try {
            (void)co_await corio::timeout(30ms, long_sleeper(&started, &destroyed));
        } catch (const corio::timed_out&) {
            timed_out = true;
        }
        EXPECT_TRUE(timed_out);
        EXPECT_TRUE(started.load());
        EXPECT_TRUE(destroyed.load()) << "the slow task outlived the timeout";
        EXPECT_LT(corio::clock::now() - t0, 5s);
    }());
}

TEST(timeout, timed_out_recv_takes_no_message) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(2);
        EXPECT_THROW(co_await corio::timeout(10ms, rx.recv()), corio::timed_out);
        co_await tx.send(1);
        auto v = rx.try_recv();
        EXPECT_TRUE(v);
        if (v) {
            EXPECT_EQ(*v, 1);
        }
    }());
}

// A message sent right around the deadline is received exactly once: by the timed recv or,
// if that timed out, by the next recv.
TEST(timeout, recv_racing_its_deadline_never_loses_or_duplicates_a_message) {
    run_mt([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(1024);
        constexpr int n = 300;
        std::atomic<bool> producer_done{false};
        std::thread producer([&sender = tx, &producer_done] {
            for (int i = 0; i < n; ++i) {
                auto until = std::chrono::steady_clock::now() +
                             std::chrono::microseconds(100 + (i * 37) % 900);
                while (std::chrono::steady_clock::now() < until) {
                }
                EXPECT_TRUE(sender.try_send(int(i)));
            }
            producer_done = true;
        });
        std::vector<int> got;
        while (int(got.size()) < n) {
            try {
                auto v = co_await corio::timeout(std::chrono::microseconds(700), rx.recv());
                if (!v) break;
                got.push_back(*v);
            } catch (const corio::timed_out&) {
                if (producer_done.load() && rx.size() == 0) break;  // nothing more can come
            }
        }
        producer.join();
        EXPECT_EQ(int(got.size()), n);
        for (int i = 0; i < int(got.size()); ++i) EXPECT_EQ(got[std::size_t(i)], i);
        EXPECT_EQ(rx.try_recv().status(), corio::try_status::empty);
    }());
}

TEST(timeout, exception_of_the_operation_propagates) {
    run_mt([]() -> corio::task<> {
        EXPECT_THROW((void)co_await corio::timeout(5s, throws_now()), std::invalid_argument);
    }());
}

TEST(timeout, timeout_at_a_passed_deadline_times_out_a_pending_operation_at_once) {
    run_ct([]() -> corio::task<> {
        corio::notify never;
        auto t0 = corio::clock::now();
        EXPECT_THROW(co_await corio::timeout_at(t0 - 1s, never.notified()), corio::timed_out);
        EXPECT_LT(corio::clock::now() - t0, 1s);
    }());
}

TEST(timeout, aborted_caller_gets_cancelled_error_and_the_task_branch_is_cancelled) {
    run_mt([]() -> corio::task<> {
        std::atomic<bool> started{false}, destroyed{false};
        auto h = corio::spawn([](std::atomic<bool>* s, std::atomic<bool>* d) -> corio::task<> {
            (void)co_await corio::timeout(10s, long_sleeper(s, d));
        }(&started, &destroyed));
        while (!started.load()) co_await corio::yield_now();
        auto t0 = corio::clock::now();
        h.abort();
        bool cancelled = false;
        try {
            co_await h;
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        } catch (const corio::timed_out&) {
            ADD_FAILURE() << "a cancelled timeout must throw cancelled_error, not timed_out";
        }
        EXPECT_TRUE(cancelled);
        EXPECT_TRUE(destroyed.load());
        EXPECT_LT(corio::clock::now() - t0, 5s);
    }());
}
