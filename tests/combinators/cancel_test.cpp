// corio::cancellation_token: cancel is permanent and idempotent; copies share state; a child
// is cancelled by its parent transitively and never cancels its parent; on_cancel callbacks
// run once (at once when registered after the cancel) and not after deregistration;
// cancelled() wakes every waiter, is not consumed, and makes select(token.cancelled(),
// sleep(10s)) return promptly when another thread cancels.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

using corio::testing::yield_until;

namespace {}  // namespace

// ---------------------------------------------------------------- state

TEST(cancellation_token, cancel_is_permanent_idempotent_and_shared_by_copies) {
    corio::cancellation_token a;
    corio::cancellation_token copy = a;
    corio::cancellation_token other;
    EXPECT_FALSE(a.is_cancelled());
    EXPECT_TRUE(a == copy);
    EXPECT_FALSE(a == other);
    copy.cancel();
    EXPECT_TRUE(a.is_cancelled());
    a.cancel();
    EXPECT_TRUE(a.is_cancelled());
    EXPECT_FALSE(other.is_cancelled());
    EXPECT_TRUE(a.stop_token().stop_requested());
}

TEST(cancellation_token, parent_cancels_children_transitively_through_three_levels) {
    corio::cancellation_token root;
    auto child = root.child_token();
    auto grandchild = child.child_token();
    auto great = grandchild.child_token();
    auto sibling = root.child_token();
    EXPECT_FALSE(great.is_cancelled());
    root.cancel();
    EXPECT_TRUE(child.is_cancelled());
    EXPECT_TRUE(grandchild.is_cancelled());
    EXPECT_TRUE(great.is_cancelled());
    EXPECT_TRUE(sibling.is_cancelled());
}

TEST(cancellation_token, a_child_never_cancels_its_parent_or_siblings) {
    corio::cancellation_token root;
    auto child = root.child_token();
    auto sibling = root.child_token();
    auto grandchild = child.child_token();
    grandchild.cancel();
    EXPECT_FALSE(child.is_cancelled());
    EXPECT_FALSE(root.is_cancelled());
    child.cancel();
    EXPECT_TRUE(grandchild.is_cancelled());
    EXPECT_FALSE(root.is_cancelled());
    EXPECT_FALSE(sibling.is_cancelled());
}

TEST(cancellation_token, a_child_of_a_cancelled_token_is_cancelled_at_once) {
    corio::cancellation_token root;
    root.cancel();
    auto child = root.child_token();
    EXPECT_TRUE(child.is_cancelled());
    EXPECT_TRUE(child.child_token().is_cancelled());
}

TEST(cancellation_token, a_child_outliving_every_handle_of_its_parent_still_works) {
    corio::cancellation_token orphan = [] {
        corio::cancellation_token parent;
        return parent.child_token();
    }();
    EXPECT_FALSE(orphan.is_cancelled());
    orphan.cancel();
    EXPECT_TRUE(orphan.is_cancelled());

    corio::cancellation_token keep;
    corio::cancellation_token child = [&keep] {
        corio::cancellation_token copy = keep;
        return copy.child_token();
    }();
    keep.cancel();
    EXPECT_TRUE(child.is_cancelled());
}

// ---------------------------------------------------------------- callbacks

TEST(cancellation_token, callback_runs_once_on_the_cancelling_thread) {
    corio::cancellation_token t;
    std::atomic<int> runs{0};
    std::thread::id ran_on;
    auto reg = t.on_cancel([&] {
        ++runs;
        ran_on = std::this_thread::get_id();
    });
    EXPECT_EQ(runs.load(), 0);
    std::thread canceller([&] {
        t.cancel();
        t.cancel();
    });
    std::thread::id canceller_id = canceller.get_id();
    canceller.join();
    EXPECT_EQ(runs.load(), 1);
    EXPECT_EQ(ran_on, canceller_id);
}

TEST(cancellation_token, callback_registered_after_the_cancel_runs_at_once_on_this_thread) {
    corio::cancellation_token t;
    t.cancel();
    int runs = 0;
    std::thread::id ran_on;
    auto reg = t.on_cancel([&] {
        ++runs;
        ran_on = std::this_thread::get_id();
    });
    EXPECT_EQ(runs, 1) << "the callback must have run inside on_cancel";
    EXPECT_EQ(ran_on, std::this_thread::get_id());
    t.cancel();
    EXPECT_EQ(runs, 1);
}

TEST(cancellation_token, a_deregistered_callback_does_not_run) {
    corio::cancellation_token t;
    int runs = 0, other_runs = 0;
    {
        auto reg = t.on_cancel([&] { ++runs; });
    }
    auto kept = t.on_cancel([&] { ++other_runs; });
    t.cancel();
    EXPECT_EQ(runs, 0);
    EXPECT_EQ(other_runs, 1);
}

TEST(cancellation_token, a_child_callback_runs_when_the_parent_is_cancelled) {
    corio::cancellation_token root;
    auto grandchild = root.child_token().child_token();
    int runs = 0;
    auto reg = grandchild.on_cancel([&] { ++runs; });
    root.cancel();
    EXPECT_EQ(runs, 1);
}

// ---------------------------------------------------------------- cancelled()

TEST(cancellation_token, cancelled_completes_at_once_when_already_cancelled_and_is_not_consumed) {
    run_ct([]() -> corio::task<> {
        corio::cancellation_token t;
        t.cancel();
        co_await t.cancelled();
        co_await t.cancelled();
        co_await t.child_token().cancelled();
    }());
}

TEST(cancellation_token, cancel_wakes_every_task_awaiting_cancelled) {
    run_mt([]() -> corio::task<> {
        corio::cancellation_token t;
        std::atomic<int> woken{0}, waiting{0};
        std::vector<corio::join_handle<void>> hs;
        for (int i = 0; i < 10; ++i) {
            auto tok = i % 2 ? t.child_token() : t;
            hs.push_back(corio::spawn([](corio::cancellation_token tk, std::atomic<int>* w,
                                         std::atomic<int>* ready) -> corio::task<> {
                ++*ready;
                co_await tk.cancelled();
                ++*w;
            }(tok, &woken, &waiting)));
        }
        while (waiting.load() < 10) co_await corio::yield_now();
        for (int i = 0; i < 20; ++i) co_await corio::yield_now();
        EXPECT_EQ(woken.load(), 0);
        t.cancel();
        for (auto& h : hs) co_await h;
        EXPECT_EQ(woken.load(), 10);
    }());
}

TEST(cancellation_token, select_on_cancelled_returns_promptly_when_another_thread_cancels) {
    run_mt([]() -> corio::task<> {
        corio::cancellation_token t;
        std::atomic<bool> about_to_wait{false};
        std::thread canceller([&] {
            while (!about_to_wait.load()) std::this_thread::yield();
            t.cancel();
        });
        auto t0 = corio::clock::now();
        about_to_wait = true;
        auto r = co_await corio::select(t.cancelled(), corio::sleep(10s));
        auto took = corio::clock::now() - t0;
        canceller.join();
        EXPECT_EQ(r.index(), 0u);
        EXPECT_LT(took, 5s);
    }());
}

TEST(cancellation_token,
     aborted_task_awaiting_cancelled_throws_cancelled_error_and_the_token_is_untouched) {
    run_ct([]() -> corio::task<> {
        corio::cancellation_token t;
        auto h = corio::spawn([](corio::cancellation_token tk) -> corio::task<> {
            co_await tk.cancelled();
            ADD_FAILURE() << "cancelled() completed although the token was not cancelled";
        }(t));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_FALSE(t.is_cancelled());
        t.cancel();  // must not touch the departed waiter
        co_await t.cancelled();
    }());
}

TEST(cancellation_token, cancelled_loses_a_select_and_a_later_cancel_is_still_seen) {
    run_ct([]() -> corio::task<> {
        corio::cancellation_token t;
        auto r = co_await corio::select(t.cancelled(), corio::sleep(5ms));
        EXPECT_EQ(r.index(), 1u);
        t.cancel();
        auto again = co_await corio::select(t.cancelled(), corio::sleep(10s));
        EXPECT_EQ(again.index(), 0u);
    }());
}

// ---------------------------------------------------------------- stress

TEST(cancellation_token, stress_children_created_while_another_thread_cancels_all_end_cancelled) {
    for (int round = 0; round < 50; ++round) {
        corio::cancellation_token root;
        std::vector<corio::cancellation_token> children;
        std::atomic<bool> go{false};
        std::atomic<int> callbacks{0};
        auto count = [&callbacks] { ++callbacks; };
        using registration = decltype(root.on_cancel(count));
        std::vector<std::unique_ptr<registration>> regs;
        std::thread canceller([&] {
            while (!go.load()) std::this_thread::yield();
            root.cancel();
        });
        for (int i = 0; i < 200; ++i) {
            if (i == 50) go = true;
            // Half hang off the root, half off the previous child (chains up to 100 deep).
            if (i % 2 == 0 || children.empty())
                children.push_back(root.child_token());
            else
                children.push_back(children.back().child_token());
            regs.push_back(
                std::unique_ptr<registration>(new registration(children.back().on_cancel(count))));
        }
        canceller.join();
        for (auto& c : children) EXPECT_TRUE(c.is_cancelled());
        EXPECT_EQ(callbacks.load(), 200) << "round " << round;
    }
}
