// corio::join / corio::try_join: results in argument order whatever the completion order,
// branches run concurrently, join rethrows the first failure in argument order once all have
// finished, try_join rethrows the first failure in time and cancels the others, the vector
// forms (10k tasks), and cancellation of the caller (every branch cancelled and awaited).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

using corio::testing::run_seeded;

namespace {

struct set_on_exit {
    std::atomic<bool>* flag;
    ~set_on_exit() { flag->store(true); }
};

// Waits for `wait_for` (if any), records its id in `finished`, then fires `then` (if any).
corio::task<int> step(int id, corio::notify* wait_for, corio::notify* then,
                      std::vector<int>* finished) {
    if (wait_for) co_await wait_for->notified();
    finished->push_back(id);
    if (then) then->notify_one();
    co_return id * 10;
}

corio::task<int> fail_after(corio::notify* wait_for, corio::notify* then, const char* what) {
    if (wait_for) co_await wait_for->notified();
    if (then) then->notify_one();
    throw std::runtime_error(what);
    co_return 0;
}

corio::task<int> long_sleeper(std::atomic<bool>* started, std::atomic<bool>* destroyed) {
    set_on_exit guard{destroyed};
    started->store(true);
    co_await corio::sleep(10s);
    co_return -1;
}

corio::task<> void_task(std::atomic<int>* counter) {
    ++*counter;
    co_return;
}

}  // namespace

// ---------------------------------------------------------------- order and types

TEST(join, results_come_back_in_argument_order_not_completion_order) {
    run_ct([]() -> corio::task<> {
        corio::notify after2, after1;
        std::vector<int> finished;
        // Completion order is 2, 1, 0.
        auto [a, b, c] = co_await corio::join(step(0, &after1, nullptr, &finished),
                                              step(1, &after2, &after1, &finished),
                                              step(2, nullptr, &after2, &finished));
        EXPECT_EQ(finished, (std::vector<int>{2, 1, 0}));
        EXPECT_EQ(a, 0);
        EXPECT_EQ(b, 10);
        EXPECT_EQ(c, 20);
    }());
}

TEST(join, branches_run_concurrently) {
    run_ct([]() -> corio::task<> {
        // Each branch waits for the other: a join that ran them one after the other would hang.
        corio::barrier both{2};
        auto [x, y] = co_await corio::join(
            [](corio::barrier* b) -> corio::task<int> {
                co_await b->arrive_and_wait();
                co_return 1;
            }(&both),
            [](corio::barrier* b) -> corio::task<int> {
                co_await b->arrive_and_wait();
                co_return 2;
            }(&both));
        EXPECT_EQ(x + y, 3);
    }());
}

TEST(join, void_branches_and_corio_awaits_are_accepted) {
    run_ct([]() -> corio::task<> {
        std::atomic<int> counter{0};
        auto [tx, rx] = corio::mpsc::channel<int>(2);
        co_await tx.send(4);
        auto [v, s, m] = co_await corio::join(rx.recv(), corio::sleep(1ms), void_task(&counter));
        EXPECT_EQ(v, std::optional<int>(4));
        EXPECT_TRUE((std::is_same_v<decltype(s), std::monostate>));
        EXPECT_TRUE((std::is_same_v<decltype(m), std::monostate>));
        EXPECT_EQ(counter.load(), 1);
    }());
}

// ---------------------------------------------------------------- failures

TEST(join, rethrows_the_first_failure_in_argument_order_after_every_branch_has_finished) {
    run_ct([]() -> corio::task<> {
        corio::notify after1, after0;
        std::vector<int> finished;
        std::string caught;
        // Branch 1 fails first in time, branch 0 after it; branch 2 finishes last, normally.
        try {
            (void)co_await corio::join(fail_after(&after1, &after0, "zero"),
                                       fail_after(nullptr, &after1, "one"),
                                       step(2, &after0, nullptr, &finished));
            ADD_FAILURE() << "join did not throw";
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        EXPECT_EQ(caught, "zero") << "join reports the first failing branch in argument order";
        EXPECT_EQ(finished, (std::vector<int>{2})) << "join must let every branch run to its end";
    }());
}

TEST(try_join, returns_every_value_when_nothing_fails) {
    run_mt([]() -> corio::task<> {
        corio::notify n;
        std::vector<int> finished;
        auto [a, b] = co_await corio::try_join(
            step(0, nullptr, nullptr, &finished),
            [](corio::notify*) -> corio::task<std::string> { co_return "b"; }(&n));
        EXPECT_EQ(a, 0);
        EXPECT_EQ(b, "b");
    }());
}

TEST(try_join, first_failure_in_time_cancels_the_other_branches_promptly) {
    run_mt([]() -> corio::task<> {
        std::atomic<bool> started{false}, destroyed{false};
        std::string caught;
        auto t0 = corio::clock::now();
        try {
            (void)co_await corio::try_join(long_sleeper(&started, &destroyed),
                                           [](std::atomic<bool>* s) -> corio::task<int> {
                                               // Fail once the sibling is asleep, so it has
                                               // something to cancel.
                                               for (int i = 0; i < 1'000'000 && !s->load(); ++i)
                                                   co_await corio::yield_now();
                                               throw std::runtime_error("fast failure");
                                               co_return 0;
                                           }(&started));
            ADD_FAILURE() << "try_join did not throw";
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        auto took = corio::clock::now() - t0;
        EXPECT_EQ(caught, "fast failure");
        EXPECT_TRUE(destroyed.load())
            << "the sleeping sibling was not cancelled before try_join returned";
        EXPECT_LT(took, 5s) << "try_join waited for the 10 s sibling";
    }());
}

TEST(try_join, reports_the_first_failure_in_time_not_in_argument_order) {
    run_ct([]() -> corio::task<> {
        corio::notify never;
        std::string caught;
        try {
            (void)co_await corio::try_join(fail_after(&never, nullptr, "late"),
                                           fail_after(nullptr, nullptr, "early"));
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        EXPECT_EQ(caught, "early");
    }());
}

// ---------------------------------------------------------------- ranges

TEST(join, over_a_vector_of_ten_thousand_tasks_returns_results_in_order) {
    run_mt([]() -> corio::task<> {
        std::vector<corio::task<int>> tasks;
        tasks.reserve(10'000);
        for (int i = 0; i < 10'000; ++i) {
            tasks.push_back([](int v) -> corio::task<int> {
                if (v % 5 == 0) co_await corio::yield_now();
                co_return v * 2;
            }(i));
        }
        std::vector<int> out = co_await corio::join(std::move(tasks));
        EXPECT_EQ(out.size(), 10'000u);
        bool in_order = true;
        for (int i = 0; i < int(out.size()); ++i)
            in_order = in_order && out[std::size_t(i)] == 2 * i;
        EXPECT_TRUE(in_order);
    }());
}

TEST(join, over_a_vector_of_void_tasks_runs_them_all) {
    run_mt([]() -> corio::task<> {
        std::atomic<int> counter{0};
        std::vector<corio::task<>> tasks;
        for (int i = 0; i < 1000; ++i) tasks.push_back(void_task(&counter));
        co_await corio::join(std::move(tasks));
        EXPECT_EQ(counter.load(), 1000);
    }());
}

TEST(join, over_an_empty_vector_returns_an_empty_vector) {
    run_ct([]() -> corio::task<> {
        std::vector<int> out = co_await corio::join(std::vector<corio::task<int>>{});
        EXPECT_TRUE(out.empty());
    }());
}

TEST(join, over_a_vector_rethrows_the_first_failure_by_position) {
    run_ct([]() -> corio::task<> {
        std::vector<corio::task<int>> tasks;
        for (int i = 0; i < 20; ++i) {
            tasks.push_back([](int v) -> corio::task<int> {
                co_await corio::yield_now();
                if (v == 7 || v == 13) throw std::runtime_error(std::to_string(v));
                co_return v;
            }(i));
        }
        std::string caught;
        try {
            (void)co_await corio::join(std::move(tasks));
        } catch (const std::runtime_error& e) {
            caught = e.what();
        }
        EXPECT_EQ(caught, "7");
    }());
}

TEST(try_join, over_a_vector_cancels_the_rest_on_the_first_failure) {
    run_mt([]() -> corio::task<> {
        std::vector<std::atomic<bool>> started(50), destroyed(50);
        std::vector<corio::task<int>> tasks;
        for (int i = 0; i < 50; ++i)
            tasks.push_back(long_sleeper(&started[std::size_t(i)], &destroyed[std::size_t(i)]));
        tasks.push_back([](std::vector<std::atomic<bool>>* s) -> corio::task<int> {
            for (int i = 0; i < 1'000'000; ++i) {
                bool all = true;
                for (auto& f : *s) all = all && f.load();
                if (all) break;
                co_await corio::yield_now();
            }
            throw std::logic_error("stop");
            co_return 0;
        }(&started));
        auto t0 = corio::clock::now();
        EXPECT_THROW((void)co_await corio::try_join(std::move(tasks)), std::logic_error);
        EXPECT_LT(corio::clock::now() - t0, 5s);
        int unwound = 0;
        for (auto& d : destroyed) unwound += d.load() ? 1 : 0;
        EXPECT_EQ(unwound, 50) << "every sleeping branch must be cancelled before try_join returns";
    }());
}

// ---------------------------------------------------------------- cancellation

TEST(join, aborted_caller_cancels_and_awaits_every_branch_then_throws_cancelled_error) {
    run_mt([]() -> corio::task<> {
        std::atomic<bool> s0{false}, d0{false}, s1{false}, d1{false};
        auto h = corio::spawn([](std::atomic<bool>* a, std::atomic<bool>* b, std::atomic<bool>* c,
                                 std::atomic<bool>* d) -> corio::task<> {
            (void)co_await corio::join(long_sleeper(a, b), long_sleeper(c, d));
            ADD_FAILURE() << "join completed although its caller was aborted";
        }(&s0, &d0, &s1, &d1));
        while (!s0.load() || !s1.load()) co_await corio::yield_now();
        auto t0 = corio::clock::now();
        h.abort();
        EXPECT_THROW(co_await h, corio::cancelled_error);
        EXPECT_TRUE(d0.load() && d1.load()) << "a branch outlived the cancelled join";
        EXPECT_LT(corio::clock::now() - t0, 5s);
    }());
}

TEST(join, results_are_in_argument_order_under_shuffled_scheduling) {
    for (std::uint64_t seed : {15ull, 150ull, 1500ull}) {
        SCOPED_TRACE(seed);
        run_seeded(
            []() -> corio::task<> {
                std::vector<corio::task<int>> tasks;
                for (int i = 0; i < 200; ++i) {
                    tasks.push_back([](int v) -> corio::task<int> {
                        for (int k = 0; k < v % 4; ++k) co_await corio::yield_now();
                        co_return v;
                    }(i));
                }
                std::vector<int> out = co_await corio::join(std::move(tasks));
                for (int i = 0; i < 200; ++i) EXPECT_EQ(out[std::size_t(i)], i);
            }(),
            seed);
    }
}
