// corio::join_set: results in completion order, nullopt when empty, exceptions through
// join_next, abort_all (cancelled_error from join_next, finished members keep their value),
// destroying a set aborts its live members and the runtime still shuts down promptly, a
// cancelled join_next takes nothing, and a bounded stress run.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

using corio::testing::run_seeded;
using corio::testing::yield_until;

namespace {

struct set_on_exit {
    std::atomic<bool>* flag;
    ~set_on_exit() { flag->store(true); }
};

struct live {
    static inline std::atomic<int> count{0};
    live() { ++count; }
    ~live() { --count; }
};

// Waits for its gate, then opens the next one and returns its id: a chain of gates fixes the
// completion order.
corio::task<int> chained(int id, corio::notify* gate, corio::notify* next) {
    co_await gate->notified();
    if (next) next->notify_one();
    co_return id;
}

corio::task<int> sleeper_with_guard(std::atomic<int>* destroyed) {
    struct count_on_exit {
        std::atomic<int>* n;
        ~count_on_exit() { ++*n; }
    } guard{destroyed};
    live l;
    co_await corio::sleep(10s);
    co_return -1;
}

}  // namespace

TEST(join_set, join_next_gives_results_in_completion_order) {
    run_ct([]() -> corio::task<> {
        corio::join_set<int> set;
        corio::notify g0, g1, g2, g3;
        // Spawned in the order 0 1 2 3; they finish in the order 2 0 3 1.
        set.spawn(chained(0, &g0, &g3));
        set.spawn(chained(1, &g1, nullptr));
        set.spawn(chained(2, &g2, &g0));
        set.spawn(chained(3, &g3, &g1));
        EXPECT_EQ(set.size(), 4u);
        g2.notify_one();
        std::vector<int> order;
        for (;;) {
            auto r = co_await set.join_next();
            if (!r) break;
            order.push_back(*r);
        }
        EXPECT_EQ(order, (std::vector<int>{2, 0, 3, 1}));
        EXPECT_TRUE(set.empty());
    }());
}

TEST(join_set, join_next_on_an_empty_set_returns_nullopt) {
    run_ct([]() -> corio::task<> {
        corio::join_set<int> set;
        auto r = co_await set.join_next();
        EXPECT_FALSE(r.has_value());
        set.spawn([]() -> corio::task<int> { co_return 1; }());
        auto one = co_await set.join_next();
        EXPECT_EQ(one, std::optional<int>(1));
        auto none = co_await set.join_next();
        EXPECT_FALSE(none.has_value());
    }());
}

TEST(join_set, void_tasks_give_monostate) {
    run_mt([]() -> corio::task<> {
        corio::join_set<void> set;
        std::atomic<int> ran{0};
        for (int i = 0; i < 10; ++i) {
            set.spawn([](std::atomic<int>* r) -> corio::task<> {
                ++*r;
                co_return;
            }(&ran));
        }
        int joined = 0;
        for (;;) {
            std::optional<std::monostate> r = co_await set.join_next();
            if (!r) break;
            ++joined;
        }
        EXPECT_EQ(joined, 10);
        EXPECT_EQ(ran.load(), 10);
    }());
}

TEST(join_set, a_member_exception_comes_out_of_join_next_and_the_others_stay) {
    run_ct([]() -> corio::task<> {
        corio::join_set<int> set;
        set.spawn([]() -> corio::task<int> {
            throw std::runtime_error("member failed");
            co_return 0;
        }());
        corio::notify later;
        set.spawn(chained(5, &later, nullptr));
        std::string caught;
        try {
            (void)co_await set.join_next();
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        EXPECT_EQ(caught, "member failed");
        EXPECT_EQ(set.size(), 1u);
        later.notify_one();
        auto r = co_await set.join_next();
        EXPECT_EQ(r, std::optional<int>(5));
    }());
}

TEST(join_set, spawn_returns_distinct_task_ids) {
    run_ct([]() -> corio::task<> {
        corio::join_set<int> set;
        std::set<std::uint64_t> ids;
        for (int i = 0; i < 50; ++i)
            ids.insert(set.spawn([](int v) -> corio::task<int> { co_return v; }(i)));
        EXPECT_EQ(ids.size(), 50u);
        EXPECT_EQ(ids.count(0), 0u);
        int n = 0;
        for (;;) {
            auto r = co_await set.join_next();
            if (!r) break;
            ++n;
        }
        EXPECT_EQ(n, 50);
    }());
}

// ---------------------------------------------------------------- abort and destruction

TEST(join_set, abort_all_makes_join_next_throw_cancelled_error_for_unfinished_members) {
    live::count = 0;
    run_ct([]() -> corio::task<> {
        std::atomic<int> destroyed{0};
        corio::join_set<int> set;
        set.spawn([]() -> corio::task<int> { co_return 42; }());
        for (int i = 0; i < 3; ++i) set.spawn(sleeper_with_guard(&destroyed));
        EXPECT_TRUE(co_await yield_until([&] { return live::count.load() == 3; }));
        set.abort_all();
        int cancelled = 0, values = 0;
        for (int i = 0; i < 4; ++i) {
            try {
                auto r = co_await set.join_next();
                EXPECT_EQ(r, std::optional<int>(42));
                ++values;
            } catch (const corio::cancelled_error&) {
                ++cancelled;
            }
        }
        EXPECT_EQ(cancelled, 3);
        EXPECT_EQ(values, 1) << "a member that had already finished keeps its value";
        EXPECT_EQ(destroyed.load(), 3);
        EXPECT_TRUE(set.empty());
    }());
}

TEST(join_set, destroying_the_set_aborts_its_live_members_and_the_runtime_shuts_down_promptly) {
    live::count = 0;
    std::atomic<int> destroyed{0};
    auto t0 = std::chrono::steady_clock::now();
    {
        corio::testing::watchdog w(30s, "join_set destruction");
        corio::runtime_options opts;
        opts.workers = 2;
        corio::runtime rt{opts};
        rt.block_on([](std::atomic<int>* d) -> corio::task<> {
            {
                corio::join_set<int> set;
                for (int i = 0; i < 20; ++i) set.spawn(sleeper_with_guard(d));
                while (live::count.load() < 20) co_await corio::yield_now();
            }  // destroyed with 20 live members
            // Each member unwinds at its next await: wait for them, bounded.
            for (int i = 0; i < 1'000'000 && d->load() < 20; ++i) co_await corio::yield_now();
            EXPECT_EQ(d->load(), 20) << "members of a destroyed set were not aborted";
        }(&destroyed));
    }
    EXPECT_EQ(live::count.load(), 0);
    EXPECT_EQ(destroyed.load(), 20);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

TEST(join_set, destroying_the_set_on_a_current_thread_runtime_aborts_members) {
    live::count = 0;
    std::atomic<int> destroyed{0};
    run_ct([](std::atomic<int>* d) -> corio::task<> {
        {
            corio::join_set<int> set;
            for (int i = 0; i < 5; ++i) set.spawn(sleeper_with_guard(d));
            for (int i = 0; i < 3; ++i) co_await corio::yield_now();
            EXPECT_EQ(live::count.load(), 5);
        }
        for (int i = 0; i < 3; ++i) co_await corio::yield_now();
        EXPECT_EQ(d->load(), 5);
    }(&destroyed));
    EXPECT_EQ(live::count.load(), 0);
}

// ---------------------------------------------------------------- cancellation

TEST(join_set, aborted_join_next_takes_nothing_and_the_result_stays_in_the_set) {
    run_ct([]() -> corio::task<> {
        corio::join_set<int> set;
        corio::notify gate;
        set.spawn(chained(9, &gate, nullptr));
        auto waiter = corio::spawn([](corio::join_set<int>* s) -> corio::task<> {
            auto r = co_await s->join_next();
            ADD_FAILURE() << "the aborted join_next returned " << (r ? *r : -2);
        }(&set));
        for (int i = 0; i < 5; ++i) co_await corio::yield_now();
        waiter.abort();
        EXPECT_THROW(co_await waiter, corio::cancelled_error);
        gate.notify_one();
        auto r = co_await set.join_next();
        EXPECT_EQ(r, std::optional<int>(9));
        EXPECT_TRUE(set.empty());
    }());
}

TEST(join_set, timed_out_join_next_takes_nothing) {
    run_ct([]() -> corio::task<> {
        corio::join_set<int> set;
        corio::notify gate;
        set.spawn(chained(3, &gate, nullptr));
        EXPECT_THROW((void)co_await corio::timeout(15ms, set.join_next()), corio::timed_out);
        EXPECT_EQ(set.size(), 1u);
        gate.notify_one();
        auto r = co_await set.join_next();
        EXPECT_EQ(r, std::optional<int>(3));
    }());
}

// ---------------------------------------------------------------- stress

namespace {

corio::task<> many_members(int n) {
    corio::join_set<int> set;
    for (int i = 0; i < n; ++i) {
        set.spawn([](int v) -> corio::task<int> {
            if (v % 3 == 0) co_await corio::yield_now();
            co_return v;
        }(i));
    }
    long long sum = 0;
    int count = 0;
    for (;;) {
        auto r = co_await set.join_next();
        if (!r) break;
        sum += *r;
        ++count;
    }
    EXPECT_EQ(count, n);
    EXPECT_EQ(sum, (long long)n * (n - 1) / 2);
}

}  // namespace

TEST(join_set, stress_many_members_are_each_joined_once_on_two_workers) {
    run_mt(many_members(20'000), 2);
}

TEST(join_set, stress_many_members_are_each_joined_once_on_four_workers) {
    run_mt(many_members(20'000), 4);
}

TEST(join_set, stress_many_members_are_each_joined_once_under_shuffled_scheduling) {
    for (std::uint64_t seed : {16ull, 160ull, 1600ull}) {
        SCOPED_TRACE(seed);
        run_seeded(many_members(3'000), seed);
    }
}
