// Tests of corio/gen/async_generator.hpp on both runtime flavours: values then nullopt,
// laziness, corio awaits inside the body (sleep, a task, a channel), exceptions from next(),
// copy/move of yielded values, destruction at a co_yield, cancellation of a consumer parked
// inside the generator, next() as a cancellation point, and depth (nested generators and
// long runs of ready values use no thread stack).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <corio/corio.hpp>
#include <corio/gen/async_generator.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::async_generator;
using corio::task;
using corio::testing::run_ct;
using corio::testing::run_mt;

namespace {

// Live instances and destructions, thread-safe (multi-thread runtime).
struct guard {
    static inline std::atomic<int> alive{0};
    static inline std::atomic<int> destroyed{0};
    guard() { ++alive; }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() {
        --alive;
        ++destroyed;
    }
    static void reset() {
        alive = 0;
        destroyed = 0;
    }
};

async_generator<int> range_of(int n) {
    for (int i = 0; i < n; ++i) co_yield i;
}

task<std::vector<int>> drain(async_generator<int> g) {
    std::vector<int> out;
    while (auto v = co_await g.next()) out.push_back(*v);
    co_return out;
}

// Yields until pred() holds; false if it did not within `limit`.
template <class Pred>
task<bool> yield_until(Pred pred, std::chrono::milliseconds limit = 10s) {
    auto deadline = corio::clock::now() + limit;
    while (!pred()) {
        if (corio::clock::now() > deadline) co_return false;
        co_await corio::yield_now();
    }
    co_return true;
}

}  // namespace

// ---------------------------------------------------------------- basics

TEST(async_generator, yields_values_then_nullopt_current_thread) {
    auto got = run_ct(drain(range_of(4)));
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

TEST(async_generator, yields_values_then_nullopt_multi_thread) {
    auto got = run_mt(drain(range_of(4)));
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

TEST(async_generator, next_after_the_end_keeps_giving_nullopt) {
    run_ct([]() -> task<> {
        auto g = range_of(1);
        EXPECT_EQ(co_await g.next(), std::optional<int>(0));
        EXPECT_EQ(co_await g.next(), std::nullopt);
        EXPECT_TRUE(g.is_finished());
        EXPECT_EQ(co_await g.next(), std::nullopt);
        async_generator<int> empty;
        EXPECT_EQ(co_await empty.next(), std::nullopt);
    }());
}

TEST(async_generator, body_does_not_run_before_the_first_next_and_stops_at_each_yield) {
    run_ct([]() -> task<> {
        int steps = 0;
        auto make = [](int& s) -> async_generator<int> {
            ++s;
            co_yield 1;
            ++s;
            co_yield 2;
            ++s;
        };
        auto g = make(steps);
        co_await corio::yield_now();
        EXPECT_EQ(steps, 0);
        EXPECT_EQ(*co_await g.next(), 1);
        EXPECT_EQ(steps, 1);
        EXPECT_EQ(*co_await g.next(), 2);
        EXPECT_EQ(steps, 2);
        EXPECT_FALSE(co_await g.next());
        EXPECT_EQ(steps, 3);
    }());
}

// ---------------------------------------------------------------- awaits inside

TEST(async_generator, sleeps_inside_the_body_park_the_consumer) {
    for (bool mt : {false, true}) {
        auto body = []() -> task<> {
            auto ticks = []() -> async_generator<int> {
                for (int i = 0; i < 3; ++i) {
                    co_await corio::sleep(5ms);
                    co_yield i;
                }
            };
            auto start = corio::clock::now();
            auto g = ticks();
            std::vector<int> got;
            while (auto v = co_await g.next()) got.push_back(*v);
            EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
            EXPECT_GE(corio::clock::now() - start, 15ms);  // timers never fire early
        };
        if (mt)
            run_mt(body());
        else
            run_ct(body());
    }
}

TEST(async_generator, awaits_a_task_and_a_channel_inside_the_body) {
    auto got = run_mt([]() -> task<std::vector<int>> {
        auto ch = corio::mpsc::channel<int>(2);
        // The sender is moved into a local: the channel closes when the producer's body ends
        // (a parameter would live as long as the join_handle).
        auto producer = corio::spawn([](corio::mpsc::sender<int> tx_param) -> task<> {
            auto tx = std::move(tx_param);
            for (int i = 1; i <= 5; ++i) co_await tx.send(i * 10);
        }(std::move(ch.first)));
        auto doubled = [](corio::mpsc::receiver<int> rx) -> async_generator<int> {
            auto twice = [](int x) -> task<int> {
                co_await corio::yield_now();
                co_return 2 * x;
            };
            while (auto v = co_await rx.recv()) {
                auto t = twice(*v);
                co_yield co_await t;
            }
        };
        auto g = doubled(std::move(ch.second));
        std::vector<int> out;
        while (auto v = co_await g.next()) out.push_back(*v);
        co_await producer;
        co_return out;
    }());
    EXPECT_EQ(got, (std::vector<int>{20, 40, 60, 80, 100}));
}

TEST(async_generator, a_generator_can_consume_another_generator) {
    auto got = run_ct([]() -> task<std::vector<int>> {
        auto plus_ten = [](async_generator<int> in) -> async_generator<int> {
            while (auto v = co_await in.next()) co_yield *v + 10;
        };
        co_return co_await drain(plus_ten(range_of(3)));
    }());
    EXPECT_EQ(got, (std::vector<int>{10, 11, 12}));
}

// ---------------------------------------------------------------- exceptions

TEST(async_generator, exception_in_the_body_propagates_from_next_then_the_stream_ends) {
    run_ct([]() -> task<> {
        auto g = []() -> async_generator<int> {
            co_yield 1;
            co_await corio::yield_now();
            throw std::runtime_error("boom");
        }();
        EXPECT_EQ(*co_await g.next(), 1);
        bool threw = false;
        try {
            (void)co_await g.next();
        } catch (const std::runtime_error& e) {
            threw = std::string(e.what()) == "boom";
        }
        EXPECT_TRUE(threw);
        EXPECT_TRUE(g.is_finished());
        EXPECT_EQ(co_await g.next(), std::nullopt);
    }());
}

TEST(async_generator, exception_before_the_first_yield_propagates_from_the_first_next) {
    EXPECT_THROW(run_mt(drain([]() -> async_generator<int> {
                     throw std::logic_error("early");
                     co_return;
                 }())),
                 std::logic_error);
}

// ---------------------------------------------------------------- values

TEST(async_generator, yielding_an_lvalue_copies_and_an_rvalue_moves) {
    run_ct([]() -> task<> {
        std::string kept = "kept-intact-long-enough-to-be-heap-allocated";
        auto g = [](std::string& k) -> async_generator<std::string> {
            co_yield k;
            std::string moved = "moved-away-long-enough-to-be-heap-allocated";
            co_yield std::move(moved);
            EXPECT_TRUE(moved.empty());
            co_yield "literal";
        }(kept);
        std::vector<std::string> got;
        while (auto s = co_await g.next()) got.push_back(std::move(*s));
        EXPECT_EQ(kept, "kept-intact-long-enough-to-be-heap-allocated");
        EXPECT_EQ(got, (std::vector<std::string>{"kept-intact-long-enough-to-be-heap-allocated",
                                                 "moved-away-long-enough-to-be-heap-allocated",
                                                 "literal"}));
    }());
}

TEST(async_generator, move_only_values) {
    int sum = run_ct([]() -> task<int> {
        auto g = []() -> async_generator<std::unique_ptr<int>> {
            for (int i = 1; i <= 3; ++i) co_yield std::make_unique<int>(i);
        }();
        int s = 0;
        while (auto p = co_await g.next()) s += **p;
        co_return s;
    }());
    EXPECT_EQ(sum, 6);
}

// ---------------------------------------------------------------- ownership

TEST(async_generator, destroying_a_generator_suspended_at_a_yield_runs_its_destructors) {
    guard::reset();
    run_ct([]() -> task<> {
        {
            auto g = []() -> async_generator<int> {
                guard gd;
                for (int i = 0;; ++i) co_yield i;
            }();
            EXPECT_EQ(*co_await g.next(), 0);
            EXPECT_EQ(*co_await g.next(), 1);
            EXPECT_EQ(guard::alive.load(), 1);
        }
        EXPECT_EQ(guard::alive.load(), 0);
        EXPECT_EQ(guard::destroyed.load(), 1);
    }());
}

TEST(async_generator, destroying_a_never_started_generator_runs_no_body) {
    guard::reset();
    bool ran = false;
    run_ct([](bool& r) -> task<> {
        auto g = [](bool& flag) -> async_generator<int> {
            flag = true;
            guard gd;
            co_yield 1;
        }(r);
        co_return;
    }(ran));
    EXPECT_FALSE(ran);
    EXPECT_EQ(guard::destroyed.load(), 0);
}

// ---------------------------------------------------------------- cancellation

TEST(async_generator, aborting_a_consumer_parked_inside_the_generator_runs_its_destructors) {
    guard::reset();
    struct seen {
        std::atomic<int> parked{0};
        std::atomic<int> body_saw_cancel{0};
        std::atomic<int> consumer_saw_cancel{0};
    } s;
    run_mt([](seen& st) -> task<> {
        auto consumer = corio::spawn(
            [](seen& x) -> task<> {
                auto g = [](seen& y) -> async_generator<int> {
                    guard gd;
                    co_yield 1;
                    ++y.parked;
                    try {
                        co_await corio::sleep(1h);
                    } catch (const corio::cancelled_error&) {
                        ++y.body_saw_cancel;
                        throw;
                    }
                    co_yield 2;
                }(x);
                guard consumer_local;
                try {
                    while (auto v = co_await g.next()) (void)v;
                } catch (const corio::cancelled_error&) {
                    ++x.consumer_saw_cancel;
                    throw;
                }
            },
            std::ref(st));
        auto parked = yield_until([&] { return st.parked.load() == 1; });
        EXPECT_TRUE(co_await parked);
        EXPECT_EQ(guard::alive.load(), 2);
        consumer.abort();
        bool cancelled = false;
        try {
            co_await consumer;
        } catch (const corio::cancelled_error&) {
            cancelled = true;
        }
        EXPECT_TRUE(cancelled);
    }(s));
    EXPECT_EQ(s.body_saw_cancel.load(), 1);
    EXPECT_EQ(s.consumer_saw_cancel.load(), 1);
    EXPECT_EQ(guard::alive.load(), 0);
    EXPECT_EQ(guard::destroyed.load(), 2);
}

TEST(async_generator, next_is_a_cancellation_point_that_does_not_resume_the_generator) {
    guard::reset();
    std::atomic<int> resumed{0};
    std::atomic<bool> next_threw{false};
    run_mt([](std::atomic<int>& res, std::atomic<bool>& threw) -> task<> {
        auto consumer = corio::spawn(
            [](std::atomic<int>& r, std::atomic<bool>& t) -> task<> {
                auto g = [](std::atomic<int>& c) -> async_generator<int> {
                    guard gd;
                    for (int i = 0;; ++i) {
                        ++c;
                        co_yield i;
                    }
                }(r);
                (void)co_await g.next();  // started: parked at its first co_yield
                try {
                    co_await corio::sleep(1h);  // the abort lands here
                } catch (const corio::cancelled_error&) {
                }
                try {
                    (void)co_await g.next();  // must throw, without resuming g
                } catch (const corio::cancelled_error&) {
                    t = true;
                }
            },
            std::ref(res), std::ref(threw));
        auto started = yield_until([&] { return res.load() == 1; });
        EXPECT_TRUE(co_await started);
        consumer.abort();
        try {
            co_await consumer;
        } catch (const corio::cancelled_error&) {
        }
    }(resumed, next_threw));
    EXPECT_TRUE(next_threw.load());
    EXPECT_EQ(resumed.load(), 1) << "a cancelled next() must not resume the generator";
    EXPECT_EQ(guard::alive.load(), 0);
}

TEST(async_generator, runtime_shutdown_cancels_a_consumer_parked_in_a_generator) {
    for (bool mt : {false, true}) {
        guard::reset();
        {
            corio::testing::watchdog w(std::chrono::seconds(60));
            std::optional<corio::runtime> rt;
            if (mt) {
                corio::runtime_options opts;
                opts.workers = 2;
                rt.emplace(std::move(opts));
            } else {
                rt.emplace(corio::runtime::current_thread());
            }
            std::atomic<int> parked_count{0};
            rt->block_on([](std::atomic<int>& p) -> task<> {
                corio::spawn(
                    [](std::atomic<int>& q) -> task<> {
                        auto g = [](std::atomic<int>& r) -> async_generator<int> {
                            guard gd;
                            ++r;
                            co_await corio::sleep(1h);
                            co_yield 1;
                        }(q);
                        while (auto v = co_await g.next()) (void)v;
                    },
                    std::ref(p))
                    .detach();
                auto parked = yield_until([&] { return p.load() == 1; });
                EXPECT_TRUE(co_await parked);
            }(parked_count));
            EXPECT_EQ(guard::alive.load(), 1);
            auto start = std::chrono::steady_clock::now();
            rt.reset();  // shutdown: cancels the consumer, which unwinds through the generator
            EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
        }
        EXPECT_EQ(guard::alive.load(), 0) << (mt ? "multi-thread" : "current-thread");
    }
}

// ---------------------------------------------------------------- observability

namespace {
// The generator's await line, found in the dump's backtrace.
async_generator<int> parks_in_a_sleep(std::shared_ptr<std::atomic<int>> parked) {
    ++*parked;
    co_await corio::sleep(1h);  // dump_marker_line
    co_yield 1;
}
}  // namespace

TEST(async_generator, a_task_dump_shows_the_generator_frame_in_the_backtrace) {
    std::string dump = run_mt([]() -> task<std::string> {
        auto parked = std::make_shared<std::atomic<int>>(0);
        auto consumer = corio::spawn([](std::shared_ptr<std::atomic<int>> p) -> task<> {
            auto g = parks_in_a_sleep(std::move(p));
            while (auto v = co_await g.next()) (void)v;
        }(parked));
        std::string text;
        auto settled = yield_until([&] {
            if (parked->load() != 1) return false;
            text = corio::current_runtime().dump();
            return text.find("parks_in_a_sleep") != std::string::npos;
        });
        (void)co_await settled;
        consumer.abort();
        try {
            co_await consumer;
        } catch (const corio::cancelled_error&) {
        }
        co_return text;
    }());
    // The async backtrace runs from the consumer through the generator's frame.
    auto bt = dump.find("async backtrace");
    ASSERT_NE(bt, std::string::npos) << dump;
    auto consumer_line = dump.find("async_generator_test.cpp", bt);
    auto generator_line = dump.find("parks_in_a_sleep", bt);
    EXPECT_NE(consumer_line, std::string::npos) << dump;
    EXPECT_NE(generator_line, std::string::npos) << dump;
    EXPECT_LT(consumer_line, generator_line) << dump;
}

// ---------------------------------------------------------------- depth

TEST(async_generator, a_million_ready_values_use_no_thread_stack) {
    long long sum = run_ct([]() -> task<long long> {
        auto g = range_of(1'000'000);
        long long s = 0;
        while (auto v = co_await g.next()) s += *v;
        co_return s;
    }());
    EXPECT_EQ(sum, 999'999LL * 1'000'000 / 2);
}

namespace {
async_generator<int> relay(int depth) {
    if (depth == 0) {
        co_yield 1;
        co_yield 2;
        co_return;
    }
    auto inner = relay(depth - 1);
    while (auto v = co_await inner.next()) co_yield *v;
}
}  // namespace

TEST(async_generator, a_hundred_thousand_nested_generators_use_no_thread_stack) {
    auto got = run_mt(drain(relay(100'000)));
    EXPECT_EQ(got, (std::vector<int>{1, 2}));
}

TEST(async_generator, values_cross_threads_on_the_multi_thread_runtime) {
    // The generator sleeps and yields; the consumer may resume on another worker each time.
    auto got = run_mt(
        []() -> task<std::vector<int>> {
            auto g = []() -> async_generator<int> {
                std::vector<int> local;  // touched on whichever worker runs us
                for (int i = 0; i < 50; ++i) {
                    local.push_back(i);
                    if (i % 5 == 0)
                        co_await corio::sleep(1ms);
                    else
                        co_await corio::yield_now();
                    co_yield local.back();
                }
            }();
            std::vector<int> out;
            while (auto v = co_await g.next()) out.push_back(*v);
            co_return out;
        }(),
        4);
    ASSERT_EQ(got.size(), 50u);
    for (int i = 0; i < 50; ++i) EXPECT_EQ(got[i], i);
}
