// task<T>: laziness, results (value, T&, void, move-only), ownership, exceptions, deep
// async recursion.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

namespace {

// Counts live instances and every destruction, so a test can tell "destroyed exactly once".
struct counted {
    static inline std::atomic<int> constructed{0};
    static inline std::atomic<int> destroyed{0};
    static void reset() {
        constructed = 0;
        destroyed = 0;
    }
    static int alive() { return constructed.load() - destroyed.load(); }

    int value = 0;
    bool moved_from = false;
    explicit counted(int v = 0) : value(v) { ++constructed; }
    counted(const counted& o) : value(o.value) { ++constructed; }
    counted(counted&& o) noexcept : value(o.value) {
        o.moved_from = true;
        ++constructed;
    }
    counted& operator=(const counted&) = default;
    ~counted() { ++destroyed; }
};

corio::task<int> answer() {
    co_return 42;
}
corio::task<int> twice() {
    int a = co_await answer();
    co_return a * 2;
}

}  // namespace

// ---------------------------------------------------------------- laziness

TEST(task, body_does_not_run_until_awaited) {
    bool ran = false;
    auto body = [](bool& flag) -> corio::task<int> {
        flag = true;
        co_return 1;
    };
    auto t = body(ran);
    EXPECT_FALSE(ran) << "creating a task must not run its body";
    int v = run_ct([](corio::task<int> child, bool& flag) -> corio::task<int> {
        EXPECT_FALSE(flag) << "the body must not run before the co_await";
        co_return co_await child;
    }(std::move(t), ran));
    EXPECT_TRUE(ran);
    EXPECT_EQ(v, 1);
}

TEST(task, body_does_not_run_until_spawned) {
    std::atomic<bool> ran{false};
    auto body = [](std::atomic<bool>& flag) -> corio::task<> {
        flag = true;
        co_return;
    };
    run_mt([](std::atomic<bool>& flag, auto make) -> corio::task<> {
        auto t = make(flag);
        // Give the workers every chance to (wrongly) run it.
        for (int i = 0; i < 100; ++i) co_await corio::yield_now();
        EXPECT_FALSE(flag.load());
        auto h = corio::spawn(std::move(t));
        co_await h;
        EXPECT_TRUE(flag.load());
    }(ran, body));
    EXPECT_TRUE(ran.load());
}

// ---------------------------------------------------------------- results

TEST(task, value_through_await_multi_thread) {
    corio::runtime rt{{.workers = 2}};
    EXPECT_EQ(rt.block_on(twice()), 84);
}

TEST(task, value_through_await_current_thread) {
    auto rt = corio::runtime::current_thread();
    EXPECT_EQ(rt.block_on(twice()), 84);
}

TEST(task, reference_result_refers_to_the_same_object) {
    int target = 5;
    auto ref_to = [](int& x) -> corio::task<int&> { co_return x; };
    int* seen = run_ct([](int& x, auto f) -> corio::task<int*> {
        int& r = co_await f(x);
        r = 7;  // writes through to the caller's object
        co_return &r;
    }(target, ref_to));
    EXPECT_EQ(seen, &target);
    EXPECT_EQ(target, 7);
}

TEST(task, void_task_runs_to_completion) {
    int steps = 0;
    run_ct([](int& s) -> corio::task<> {
        auto step = [](int& x) -> corio::task<> {
            ++x;
            co_return;
        };
        co_await step(s);
        co_await step(s);
        co_await step(s);
    }(steps));
    EXPECT_EQ(steps, 3);
}

TEST(task, move_only_result_is_moved_out) {
    auto make = []() -> corio::task<std::unique_ptr<std::string>> {
        co_return std::make_unique<std::string>("moved");
    };
    auto p = run_mt([](auto f) -> corio::task<std::unique_ptr<std::string>> {
        auto r = co_await f();
        co_return r;
    }(make));
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, "moved");
}

TEST(task, result_object_is_destroyed_exactly_once) {
    counted::reset();
    {
        auto make = []() -> corio::task<counted> { co_return counted{9}; };
        int v = run_ct([](auto f) -> corio::task<int> {
            counted c = co_await f();
            co_return c.value;
        }(make));
        EXPECT_EQ(v, 9);
    }
    EXPECT_GT(counted::constructed.load(), 0);
    EXPECT_EQ(counted::alive(), 0) << "every result object (and its moves) must be destroyed";
}

// ---------------------------------------------------------------- ownership

TEST(task, is_move_only) {
    static_assert(!std::is_copy_constructible_v<corio::task<int>>);
    static_assert(!std::is_copy_assignable_v<corio::task<int>>);
    static_assert(std::is_nothrow_move_constructible_v<corio::task<int>>);
    static_assert(std::is_nothrow_move_assignable_v<corio::task<int>>);

    corio::task<int> a = answer();
    EXPECT_TRUE(a);
    corio::task<int> b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    EXPECT_TRUE(b);
    EXPECT_EQ(run_ct(std::move(b)), 42);
    corio::task<int> empty;
    EXPECT_FALSE(empty);
}

TEST(task, destroying_an_unstarted_task_runs_nothing_and_destroys_its_parameters) {
    counted::reset();
    int ran = 0;
    {
        auto body = [](counted param, int& r) -> corio::task<int> {
            counted local{2};
            ++r;
            co_return param.value + local.value;
        };
        auto t = body(counted{1}, ran);
        EXPECT_GE(counted::alive(), 1) << "the parameter copy lives in the frame";
    }
    EXPECT_EQ(ran, 0) << "the body of a never-awaited task must not run";
    EXPECT_EQ(counted::alive(), 0) << "the frame's parameter copies must be destroyed";
    // Only the argument and its copy into the frame were built: no local was.
    EXPECT_EQ(counted::constructed.load(), counted::destroyed.load());
}

TEST(task, move_assigning_over_an_unstarted_task_destroys_it_without_running) {
    counted::reset();
    int ran = 0;
    auto body = [](counted param, int& r) -> corio::task<int> {
        ++r;
        co_return param.value;
    };
    {
        auto t = body(counted{1}, ran);
        int alive_with_one = counted::alive();
        t = body(counted{2}, ran);
        EXPECT_EQ(counted::alive(), alive_with_one) << "the overwritten frame was not destroyed";
        EXPECT_EQ(ran, 0);
        EXPECT_EQ(run_ct(std::move(t)), 2);
        EXPECT_EQ(ran, 1);
    }
    EXPECT_EQ(counted::alive(), 0);
}

TEST(task, locals_and_parameters_are_destroyed_once_after_completion) {
    counted::reset();
    auto body = [](counted param) -> corio::task<int> {
        counted local{param.value + 1};
        co_await corio::yield_now();
        co_return local.value;
    };
    EXPECT_EQ(run_mt([](auto f) -> corio::task<int> { co_return co_await f(counted{1}); }(body)),
              2);
    EXPECT_EQ(counted::alive(), 0);
}

// ---------------------------------------------------------------- exceptions

namespace {
struct custom_error : std::runtime_error {
    int code;
    explicit custom_error(int c) : std::runtime_error("custom"), code(c) {}
};

corio::task<int> throws_after_suspend(int code) {
    co_await corio::yield_now();
    throw custom_error(code);
}
corio::task<int> throws_at_once(int code) {
    throw custom_error(code);
    co_return 0;  // NOLINT: unreachable; makes this a coroutine returning int
}
corio::task<int> middle(int code) {
    int v = co_await throws_after_suspend(code);
    ADD_FAILURE() << "execution continued after the child threw";
    co_return v;
}
}  // namespace

TEST(task, exception_in_child_is_rethrown_at_the_parents_await) {
    int code = run_mt([]() -> corio::task<int> {
        try {
            co_await throws_at_once(3);
        } catch (const custom_error& e) {
            co_return e.code;
        }
        co_return -1;
    }());
    EXPECT_EQ(code, 3);
}

TEST(task, exception_propagates_through_nested_awaits_and_parent_continues) {
    auto r = run_ct([]() -> corio::task<std::pair<int, int>> {
        int caught = -1;
        try {
            co_await middle(11);
        } catch (const custom_error& e) {
            caught = e.code;
        }
        // The parent keeps working normally after catching.
        int after = co_await answer();
        co_return std::pair{caught, after};
    }());
    EXPECT_EQ(r.first, 11);
    EXPECT_EQ(r.second, 42);
}

TEST(task, exception_escaping_the_root_is_rethrown_by_block_on) {
    EXPECT_THROW(run_mt(middle(1)), custom_error);
    EXPECT_THROW(run_ct(middle(2)), custom_error);
}

TEST(task, exception_from_a_void_child_is_rethrown) {
    auto fails = []() -> corio::task<> {
        co_await corio::yield_now();
        throw std::logic_error("void child");
    };
    bool caught = run_ct([](auto f) -> corio::task<bool> {
        try {
            co_await f();
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    }(fails));
    EXPECT_TRUE(caught);
}

// ---------------------------------------------------------------- deep recursion

namespace {
corio::task<std::size_t> recurse(std::size_t depth) {
    if (depth == 0) co_return 0;
    std::size_t below = co_await recurse(depth - 1);
    co_return below + 1;
}

corio::task<std::size_t> recurse_with_suspend(std::size_t depth) {
    if (depth == 0) {
        co_await corio::yield_now();  // suspend the whole chain at the bottom
        co_return 0;
    }
    co_return 1 + co_await recurse_with_suspend(depth - 1);
}

corio::task<std::size_t> recurse_then_throw(std::size_t depth) {
    if (depth == 0) throw custom_error(int(depth));
    co_return 1 + co_await recurse_then_throw(depth - 1);
}

constexpr std::size_t kDeep = 1'000'000;
}  // namespace

TEST(task, async_recursion_one_million_deep_does_not_overflow_the_stack_current_thread) {
    EXPECT_EQ(run_ct(recurse(kDeep)), kDeep);
}

TEST(task, async_recursion_one_million_deep_does_not_overflow_the_stack_multi_thread) {
    EXPECT_EQ(run_mt(recurse(kDeep)), kDeep);
}

TEST(task, async_recursion_one_million_deep_with_suspension_at_the_bottom) {
    EXPECT_EQ(run_mt(recurse_with_suspend(kDeep)), kDeep);
}

TEST(task, exception_unwinds_a_deep_await_chain) {
    // Each level rethrows, so keep this shallower than the value test.
    EXPECT_THROW(run_ct(recurse_then_throw(10'000)), custom_error);
}
