// corio::watch: the latest value, watched by many. changed() completes when a newer version
// exists (intermediate values are skipped), borrow/borrow_and_update, send_modify, the end
// when the sender goes, every watcher woken, what cancellation does to changed() (the seen
// version is unchanged), and a bounded stress run where every watcher ends on the last value.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

using corio::testing::run_seeded;

namespace {

struct counted {
    static inline std::atomic<long> live{0};
    int value = 0;
    explicit counted(int v) : value(v) { ++live; }
    counted(const counted& o) : value(o.value) { ++live; }
    counted(counted&& o) noexcept : value(o.value) { ++live; }
    counted& operator=(const counted& o) = default;
    counted& operator=(counted&& o) noexcept = default;
    ~counted() { --live; }
};

}  // namespace

// ---------------------------------------------------------------- normal path

TEST(watch, receiver_starts_with_the_initial_value_marked_seen) {
    auto [tx, rx] = corio::watch::channel<std::string>("init");
    EXPECT_EQ(rx.borrow(), "init");
    EXPECT_EQ(tx.borrow(), "init");
    EXPECT_FALSE(rx.has_changed());
    EXPECT_EQ(tx.receiver_count(), 1u);
}

TEST(watch, send_marks_a_change_and_borrow_and_update_marks_it_seen) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        tx.send(5);
        EXPECT_TRUE(rx.has_changed());
        EXPECT_EQ(rx.borrow(), 5);
        EXPECT_TRUE(rx.has_changed()) << "borrow() does not mark the value seen";
        EXPECT_EQ(rx.borrow_and_update(), 5);
        EXPECT_FALSE(rx.has_changed());
        tx.send(6);
        bool changed = co_await rx.changed();
        EXPECT_TRUE(changed);
        EXPECT_FALSE(rx.has_changed()) << "changed() marks the new version seen";
        EXPECT_EQ(rx.borrow(), 6);
    }());
}

TEST(watch, intermediate_values_are_skipped) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        for (int i = 1; i <= 10; ++i) tx.send(int(i));
        EXPECT_TRUE(co_await rx.changed());
        EXPECT_EQ(rx.borrow(), 10);
        EXPECT_FALSE(rx.has_changed())
            << "ten sends are one change for a receiver that was not looking";
    }());
}

TEST(watch, send_modify_changes_the_value_in_place_and_notifies) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<std::vector<int>>(std::vector<int>{1});
        tx.send_modify([](std::vector<int>& v) { v.push_back(2); });
        EXPECT_TRUE(co_await rx.changed());
        EXPECT_EQ(rx.borrow(), (std::vector<int>{1, 2}));
    }());
}

TEST(watch, changed_returns_false_once_the_sender_is_gone_and_nothing_is_new) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        tx.send(1);
        { auto gone = std::move(tx); }
        EXPECT_TRUE(co_await rx.changed()) << "the last value sent is still new to this receiver";
        EXPECT_EQ(rx.borrow(), 1);
        EXPECT_FALSE(co_await rx.changed());
        EXPECT_FALSE(co_await rx.changed());
    }());
}

TEST(watch, a_parked_watcher_is_woken_with_false_when_the_sender_goes) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        int result = -1;
        auto h = corio::spawn([](corio::watch::receiver<int>* r, int* out) -> corio::task<> {
            *out = co_await r->changed() ? 1 : 0;
        }(&rx, &result));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        EXPECT_FALSE(h.is_finished());
        { auto gone = std::move(tx); }
        co_await h;
        EXPECT_EQ(result, 0);
    }());
}

TEST(watch, one_send_wakes_every_watcher) {
    run_mt([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        std::vector<corio::watch::receiver<int>> rxs;
        for (int i = 0; i < 4; ++i) rxs.push_back(tx.subscribe());
        for (int i = 0; i < 3; ++i) rxs.push_back(rx);  // copies watch too
        rxs.push_back(std::move(rx));
        EXPECT_EQ(tx.receiver_count(), 8u);
        std::atomic<int> saw{0};
        std::vector<corio::join_handle<void>> hs;
        for (auto& r : rxs) {
            hs.push_back(corio::spawn(
                [](corio::watch::receiver<int>* rr, std::atomic<int>* s) -> corio::task<> {
                    bool changed = co_await rr->changed();
                    if (changed && rr->borrow() == 42) ++*s;
                }(&r, &saw)));
        }
        for (int i = 0; i < 20; ++i) co_await corio::yield_now();
        tx.send(42);
        for (auto& h : hs) co_await h;
        EXPECT_EQ(saw.load(), 8);
    }());
}

TEST(watch, a_copied_receiver_keeps_its_own_seen_version) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        tx.send(1);
        auto copy = rx;  // both have not seen version 1
        EXPECT_TRUE(co_await rx.changed());
        EXPECT_TRUE(copy.has_changed()) << "the copy's seen version is its own";
        EXPECT_TRUE(co_await copy.changed());
        EXPECT_FALSE(rx.has_changed());
    }());
}

TEST(watch, values_are_destroyed_exactly_once) {
    counted::live = 0;
    {
        auto [tx, rx] = corio::watch::channel<counted>(counted(0));
        for (int i = 1; i < 5; ++i) tx.send(counted(i));
        EXPECT_EQ(rx.borrow().value, 4);
        EXPECT_EQ(counted::live.load(), 1);
    }
    EXPECT_EQ(counted::live.load(), 0);
}

// ---------------------------------------------------------------- cancellation

TEST(watch, aborted_changed_leaves_the_seen_version_unchanged) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        auto h = corio::spawn([](corio::watch::receiver<int>* r) -> corio::task<> {
            (void)co_await r->changed();
            ADD_FAILURE() << "the aborted changed() completed";
        }(&rx));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_FALSE(rx.has_changed());
        tx.send(3);
        EXPECT_TRUE(rx.has_changed());
        EXPECT_TRUE(co_await rx.changed());
        EXPECT_EQ(rx.borrow(), 3);
    }());
}

TEST(watch, timed_out_changed_leaves_the_seen_version_unchanged) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        EXPECT_THROW(co_await corio::timeout(15ms, rx.changed()), corio::timed_out);
        tx.send(1);
        EXPECT_TRUE(co_await corio::timeout(5s, rx.changed()));
    }());
}

TEST(watch, select_loser_changed_leaves_a_change_made_at_the_same_moment_unseen) {
    run_ct([]() -> corio::task<> {
        int changed_won = 0, other_won = 0;
        for (int iter = 0; iter < 200; ++iter) {
            auto [tx, rx] = corio::watch::channel<int>(0);
            corio::notify other;
            auto h = corio::spawn(
                [](corio::watch::receiver<int>* r, corio::notify* o) -> corio::task<std::size_t> {
                    auto res = co_await corio::select(r->changed(), o->notified());
                    co_return res.index();
                }(&rx, &other));
            for (int i = 0; i < 3; ++i) co_await corio::yield_now();
            tx.send(int(iter + 1));
            other.notify_one();
            std::size_t winner = co_await h;
            if (winner == 1) {
                ++other_won;
                EXPECT_TRUE(rx.has_changed())
                    << "iteration " << iter << ": the losing changed() consumed the change";
            } else {
                ++changed_won;
                EXPECT_FALSE(rx.has_changed());
            }
        }
        EXPECT_GT(changed_won, 0);
        EXPECT_GT(other_won, 0);
    }());
}

TEST(watch, runtime_shutdown_with_parked_watchers_frees_them) {
    counted::live = 0;
    static std::atomic<int> tasks_alive{0};
    tasks_alive = 0;
    {
        auto [tx, rx] = corio::watch::channel<counted>(counted(0));
        {
            corio::testing::watchdog w(std::chrono::seconds(30), "watch shutdown");
            auto rt = corio::runtime::current_thread();
            rt.block_on([](corio::watch::sender<counted>& s) -> corio::task<> {
                for (int i = 0; i < 5; ++i) {
                    corio::spawn([](corio::watch::receiver<counted> r) -> corio::task<> {
                        struct guard {
                            guard() { ++tasks_alive; }
                            ~guard() { --tasks_alive; }
                        } g;
                        (void)co_await r.changed();
                        ADD_FAILURE() << "nothing changes";
                    }(s.subscribe()))
                        .detach();
                }
                for (int i = 0; i < 5; ++i) co_await corio::yield_now();
                EXPECT_EQ(tasks_alive.load(), 5);
            }(tx));
        }
        EXPECT_EQ(tasks_alive.load(), 0);
        EXPECT_EQ(tx.receiver_count(), 1u);
    }
    EXPECT_EQ(counted::live.load(), 0);
}

// ---------------------------------------------------------------- stress

namespace {

corio::task<> watchers_end_on_the_last_value(int watchers, int sends) {
    auto [tx, rx] = corio::watch::channel<int>(0);
    std::vector<corio::watch::receiver<int>> rxs;
    for (int i = 1; i < watchers; ++i) rxs.push_back(tx.subscribe());
    rxs.push_back(std::move(rx));
    std::vector<corio::join_handle<int>> hs;
    for (auto& r : rxs) {
        hs.push_back(corio::spawn([](corio::watch::receiver<int>* rr) -> corio::task<int> {
            int last = rr->borrow_and_update();
            for (;;) {
                bool changed = co_await rr->changed();
                if (!changed) break;
                int v = rr->borrow_and_update();
                EXPECT_GE(v, last) << "values go back in time";
                last = v;
            }
            co_return last;
        }(&r)));
    }
    auto sender = corio::spawn([](corio::watch::sender<int> param, int n) -> corio::task<> {
        auto s = std::move(param);  // dropped when the body ends: the watchers then finish
        for (int i = 1; i <= n; ++i) {
            s.send(int(i));
            if (i % 8 == 0) co_await corio::yield_now();
        }
    }(std::move(tx), sends));
    co_await sender;
    for (auto& h : hs) {
        int last = co_await h;
        EXPECT_EQ(last, sends) << "a watcher did not end on the last value";
    }
}

}  // namespace

TEST(watch, stress_every_watcher_ends_with_the_last_value_on_two_workers) {
    run_mt(watchers_end_on_the_last_value(6, 20'000), 2);
}

TEST(watch, stress_every_watcher_ends_with_the_last_value_on_four_workers) {
    run_mt(watchers_end_on_the_last_value(6, 20'000), 4);
}

TEST(watch, stress_every_watcher_ends_with_the_last_value_under_shuffled_scheduling) {
    for (std::uint64_t seed : {14ull, 140ull, 1400ull}) {
        SCOPED_TRACE(seed);
        run_seeded(watchers_end_on_the_last_value(6, 2'000), seed);
    }
}
