// Tests of corio/gen/stream.hpp: from/collect, map, filter, take, chunks, the pipe syntax,
// buffer_unordered (bounded concurrency, completion order, errors, dropping), merge
// (interleaving, ending, errors, dropping, backpressure) and throttle (spacing).
//
// Ordering is forced with gates (semaphores with no permits that a test or a task opens),
// never with sleeps; sleeps appear only where time is the behaviour (throttle) or as "work"
// that must overlap (the concurrency bound), with generous bounds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <numeric>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include <corio/corio.hpp>
#include <corio/gen/async_generator.hpp>
#include <corio/gen/generator.hpp>
#include <corio/gen/stream.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::async_generator;
using corio::task;
using corio::testing::run_ct;
using corio::testing::run_mt;

namespace {

struct guard {
    static inline std::atomic<int> alive{0};
    guard() { ++alive; }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { --alive; }
};

using gate = std::shared_ptr<corio::semaphore>;
gate make_gate() {
    return std::make_shared<corio::semaphore>(0);
}

// 0, 1, ..., n-1; counts how many values were pulled out of it.
async_generator<int> counting(int n, std::shared_ptr<std::atomic<int>> pulls) {
    for (int i = 0; i < n; ++i) {
        ++*pulls;
        co_yield i;
    }
}

template <class Pred>
task<bool> yield_until(Pred pred, std::chrono::milliseconds limit = 10s) {
    auto deadline = corio::clock::now() + limit;
    while (!pred()) {
        if (corio::clock::now() > deadline) co_return false;
        co_await corio::yield_now();
    }
    co_return true;
}

std::vector<int> iota_vec(int from, int to) {
    std::vector<int> v;
    for (int i = from; i < to; ++i) v.push_back(i);
    return v;
}

template <class T>
std::vector<T> sorted(std::vector<T> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// A runtime the test can ask about live tasks, under a watchdog.
struct test_runtime {
    corio::testing::watchdog dog{std::chrono::seconds(60)};
    std::optional<corio::runtime> rt;
    explicit test_runtime(unsigned workers = 2) {
        corio::runtime_options opts;
        opts.workers = workers;
        rt.emplace(std::move(opts));
    }
    // Destroys the runtime and returns how long the shutdown took.
    std::chrono::steady_clock::duration shut_down() {
        auto start = std::chrono::steady_clock::now();
        rt.reset();
        return std::chrono::steady_clock::now() - start;
    }
};

}  // namespace

// ---------------------------------------------------------------- from, collect

TEST(stream, from_and_collect_round_trip) {
    std::vector<int> v{1, 2, 3};
    auto got = run_ct(corio::collect(corio::from(v)));
    EXPECT_EQ(got, v);
    EXPECT_EQ(v, (std::vector<int>{1, 2, 3})) << "from(lvalue) copies";
    EXPECT_EQ(run_ct(corio::collect(corio::from(std::views::all(v)))), v) << "a view borrows";

    auto strings = run_ct(corio::collect(corio::from(std::vector<std::string>{"a", "b"})));
    EXPECT_EQ(strings, (std::vector<std::string>{"a", "b"}));

    auto iota = run_ct(corio::collect(corio::from(std::views::iota(0, 4))));
    EXPECT_EQ(iota, (std::vector<int>{0, 1, 2, 3}));

    auto from_gen = run_ct(corio::collect(corio::from([]() -> corio::generator<int> {
        for (int i = 5; i < 8; ++i) co_yield i;
    }())));
    EXPECT_EQ(from_gen, (std::vector<int>{5, 6, 7}));

    EXPECT_TRUE(run_ct(corio::collect(corio::from(std::vector<int>{}))).empty());
}

TEST(stream, from_is_lazy) {
    auto pulls = std::make_shared<std::atomic<int>>(0);
    run_ct([](std::shared_ptr<std::atomic<int>> p) -> task<> {
        auto s = corio::from([](std::shared_ptr<std::atomic<int>> q) -> corio::generator<int> {
            for (int i = 0;; ++i) {
                ++*q;
                co_yield i;
            }
        }(p));
        EXPECT_EQ(p->load(), 0);
        EXPECT_EQ(*co_await s.next(), 0);
        EXPECT_EQ(*co_await s.next(), 1);
        EXPECT_EQ(p->load(), 2);
    }(pulls));
}

// ---------------------------------------------------------------- map, filter

TEST(stream, map_applies_f_to_each_value) {
    auto got = run_ct(corio::collect(
        corio::map(corio::from(std::vector<int>{1, 2, 3}), [](int x) { return x * 2; })));
    EXPECT_EQ(got, (std::vector<int>{2, 4, 6}));
}

TEST(stream, map_may_change_the_type) {
    auto got = run_ct(corio::collect(corio::map(corio::from(std::vector<int>{1, 22}),
                                                [](int x) { return std::to_string(x) + "!"; })));
    EXPECT_EQ(got, (std::vector<std::string>{"1!", "22!"}));
}

TEST(stream, map_exception_propagates_from_next) {
    EXPECT_THROW(run_ct(corio::collect(corio::map(corio::from(std::vector<int>{1, 2, 3}),
                                                  [](int x) {
                                                      if (x == 2) throw std::runtime_error("two");
                                                      return x;
                                                  }))),
                 std::runtime_error);
}

TEST(stream, filter_keeps_values_matching_the_predicate) {
    auto got = run_ct(corio::collect(corio::filter(corio::from(std::views::iota(0, 10)),
                                                   [](const int& x) { return x % 3 == 0; })));
    EXPECT_EQ(got, (std::vector<int>{0, 3, 6, 9}));
    auto none = run_ct(corio::collect(
        corio::filter(corio::from(std::views::iota(0, 10)), [](int) { return false; })));
    EXPECT_TRUE(none.empty());
}

// ---------------------------------------------------------------- take

TEST(stream, take_yields_the_first_n_and_pulls_no_more) {
    auto pulls = std::make_shared<std::atomic<int>>(0);
    auto got = run_ct(corio::collect(corio::take(counting(10, pulls), 3)));
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(pulls->load(), 3);
}

TEST(stream, take_zero_is_empty_and_never_pulls) {
    auto pulls = std::make_shared<std::atomic<int>>(0);
    auto got = run_ct(corio::collect(corio::take(counting(10, pulls), 0)));
    EXPECT_TRUE(got.empty());
    EXPECT_EQ(pulls->load(), 0);
}

TEST(stream, take_more_than_available_yields_everything) {
    auto pulls = std::make_shared<std::atomic<int>>(0);
    auto got = run_ct(corio::collect(corio::take(counting(2, pulls), 5)));
    EXPECT_EQ(got, (std::vector<int>{0, 1}));
}

TEST(stream, take_releases_the_input_once_the_last_value_is_out) {
    guard::alive = 0;
    run_ct([]() -> task<> {
        auto s = corio::take(
            []() -> async_generator<int> {
                guard g;
                for (int i = 0;; ++i) co_yield i;
            }(),
            2);
        EXPECT_EQ(*co_await s.next(), 0);
        EXPECT_EQ(guard::alive.load(), 1);
        EXPECT_EQ(*co_await s.next(), 1);
        EXPECT_EQ(guard::alive.load(), 0) << "the input must be destroyed with the n-th value out";
        EXPECT_FALSE(co_await s.next());
    }());
}

// ---------------------------------------------------------------- chunks

TEST(stream, chunks_with_a_remainder) {
    auto got = run_ct(corio::collect(corio::chunks(corio::from(std::views::iota(0, 7)), 3)));
    EXPECT_EQ(got, (std::vector<std::vector<int>>{{0, 1, 2}, {3, 4, 5}, {6}}));
}

TEST(stream, chunks_of_an_exact_multiple_has_no_empty_tail) {
    auto got = run_ct(corio::collect(corio::chunks(corio::from(std::views::iota(0, 6)), 3)));
    EXPECT_EQ(got, (std::vector<std::vector<int>>{{0, 1, 2}, {3, 4, 5}}));
    auto ones = run_ct(corio::collect(corio::chunks(corio::from(std::views::iota(0, 2)), 1)));
    EXPECT_EQ(ones, (std::vector<std::vector<int>>{{0}, {1}}));
}

TEST(stream, chunks_of_an_empty_stream_is_empty) {
    auto got = run_ct(corio::collect(corio::chunks(corio::from(std::vector<int>{}), 4)));
    EXPECT_TRUE(got.empty());
}

TEST(stream, chunks_of_size_zero_throws_at_the_call) {
    EXPECT_THROW((void)corio::chunks(corio::from(std::vector<int>{1}), 0), std::invalid_argument);
    EXPECT_THROW((void)corio::chunks(0), std::invalid_argument);
}

// ---------------------------------------------------------------- pipes

TEST(stream, pipe_syntax_chains_adapters) {
    auto got = run_ct(corio::from(std::views::iota(1, 100)) |
                      corio::filter([](int x) { return x % 2 == 1; }) |
                      corio::map([](int x) { return x * x; }) | corio::take(4) | corio::chunks(3) |
                      corio::collect());
    EXPECT_EQ(got, (std::vector<std::vector<int>>{{1, 9, 25}, {49}}));
}

// ---------------------------------------------------------------- buffer_unordered

namespace {

// Tasks that finish in the order `order` (a permutation of 0..n-1): task order[0] runs at
// once; each task, as it finishes, opens the gate of the next one in `order`.
async_generator<task<int>> gated_tasks(std::vector<int> order) {
    auto gates = std::make_shared<std::vector<gate>>();
    for (std::size_t i = 0; i < order.size(); ++i) gates->push_back(make_gate());
    std::vector<int> next_of(order.size(), -1);
    for (std::size_t k = 0; k + 1 < order.size(); ++k) next_of[order[k]] = order[k + 1];
    (*gates)[order[0]]->release();
    for (int i = 0; i < static_cast<int>(order.size()); ++i) {
        co_yield [](int id, int next, std::shared_ptr<std::vector<gate>> g) -> task<int> {
            auto permit = co_await (*g)[id]->acquire();
            co_await corio::yield_now();
            if (next >= 0) (*g)[next]->release();
            co_return id;
        }(i, next_of[i], gates);
    }
}

}  // namespace

TEST(stream, buffer_unordered_yields_in_completion_order_not_input_order) {
    const std::vector<int> order{3, 1, 4, 0, 2};
    for (bool mt : {false, true}) {
        auto body = [](std::vector<int> o) -> task<std::vector<int>> {
            co_return co_await corio::collect(corio::buffer_unordered(gated_tasks(o), 5));
        };
        auto got = mt ? run_mt(body(order)) : run_ct(body(order));
        EXPECT_EQ(got, order) << (mt ? "multi-thread" : "current-thread");
    }
}

TEST(stream, buffer_unordered_never_runs_more_than_n_at_once) {
    struct meter {
        std::atomic<int> running{0};
        std::atomic<int> max{0};
    };
    auto m = std::make_shared<meter>();
    constexpr std::size_t n = 4;
    auto got = run_mt(
        [](std::shared_ptr<meter> mt) -> task<std::vector<int>> {
            auto jobs =
                corio::from(std::views::iota(0, 40)) | corio::map([mt](int i) -> task<int> {
                    return [](int id, std::shared_ptr<meter> me) -> task<int> {
                        int now = ++me->running;
                        int seen = me->max.load();
                        while (now > seen && !me->max.compare_exchange_weak(seen, now)) {
                        }
                        co_await corio::sleep(2ms);  // the work: long enough that tasks overlap
                        --me->running;
                        co_return id;
                    }(i, mt);
                });
            co_return co_await corio::collect(corio::buffer_unordered(std::move(jobs), n));
        }(m),
        4);
    EXPECT_EQ(sorted(got), iota_vec(0, 40));
    EXPECT_LE(m->max.load(), static_cast<int>(n));
    EXPECT_GE(m->max.load(), 2) << "tasks were expected to overlap";
}

TEST(stream, buffer_unordered_does_not_hold_finished_results_behind_a_slow_input) {
    auto g = make_gate();
    run_mt([](gate input_gate) -> task<> {
        auto input = [](gate ig) -> async_generator<task<int>> {
            co_yield []() -> task<int> { co_return 1; }();
            auto permit = co_await ig->acquire();  // opened only once 1 came out
            co_yield []() -> task<int> { co_return 2; }();
        }(input_gate);
        auto s = corio::buffer_unordered(std::move(input), 4);
        EXPECT_EQ(*co_await s.next(), 1);
        input_gate->release();
        EXPECT_EQ(*co_await s.next(), 2);
        EXPECT_FALSE(co_await s.next());
    }(g));
}

TEST(stream, buffer_unordered_bounds_the_pulls_from_its_input) {
    auto pulls = std::make_shared<std::atomic<int>>(0);
    run_mt([](std::shared_ptr<std::atomic<int>> p) -> task<> {
        auto jobs = corio::map(counting(1000, p), [](int i) -> task<int> {
            return [](int x) -> task<int> { co_return x; }(i);
        });
        auto s = corio::buffer_unordered(std::move(jobs), 3);
        for (int k = 0; k < 5; ++k) EXPECT_TRUE(co_await s.next());
        auto settled = yield_until([&] { return false; }, 20ms);  // let the feeder run ahead
        (void)co_await settled;
        // 5 taken + at most 3 in flight or buffered + 1 being pulled.
        EXPECT_LE(p->load(), 5 + 3 + 1);
    }(pulls));
}

TEST(stream, buffer_unordered_with_void_tasks) {
    auto count = std::make_shared<std::atomic<int>>(0);
    auto got = run_mt([](std::shared_ptr<std::atomic<int>> c) -> task<std::size_t> {
        auto jobs = corio::map(corio::from(std::views::iota(0, 10)), [c](int) -> task<> {
            return [](std::shared_ptr<std::atomic<int>> cc) -> task<> {
                ++*cc;
                co_return;
            }(c);
        });
        auto done = co_await corio::collect(corio::buffer_unordered(std::move(jobs), 3));
        static_assert(std::is_same_v<decltype(done), std::vector<std::monostate>>);
        co_return done.size();
    }(count));
    EXPECT_EQ(got, 10u);
    EXPECT_EQ(count->load(), 10);
}

TEST(stream, buffer_unordered_zero_limit_throws_at_the_call) {
    EXPECT_THROW((void)corio::buffer_unordered(async_generator<task<int>>(), 0),
                 std::invalid_argument);
    EXPECT_THROW((void)corio::buffer_unordered(0), std::invalid_argument);
}

TEST(stream, buffer_unordered_task_exception_ends_the_stream_and_aborts_the_others) {
    guard::alive = 0;
    test_runtime t;
    t.rt->block_on([](corio::runtime* rt) -> task<> {
        auto input = []() -> async_generator<task<int>> {
            for (int i = 0; i < 3; ++i) {
                co_yield []() -> task<int> {
                    guard g;
                    co_await corio::sleep(1h);
                    co_return 0;
                }();
            }
            co_yield []() -> task<int> {
                co_await corio::yield_now();
                throw std::runtime_error("task failed");
            }();
        }();
        auto s = corio::buffer_unordered(std::move(input), 8);
        bool threw = false;
        try {
            (void)co_await s.next();
        } catch (const std::runtime_error&) {
            threw = true;
        }
        EXPECT_TRUE(threw);
        auto freed = yield_until([&] { return guard::alive.load() == 0 && rt->live_tasks() == 1; });
        EXPECT_TRUE(co_await freed)
            << "alive " << guard::alive.load() << ", tasks " << rt->live_tasks();
    }(&*t.rt));
    EXPECT_LT(t.shut_down(), 5s);
    EXPECT_EQ(guard::alive.load(), 0);
}

TEST(stream, dropping_buffer_unordered_aborts_the_tasks_in_flight) {
    guard::alive = 0;
    auto started = std::make_shared<std::atomic<int>>(0);
    test_runtime t;
    t.rt->block_on([](corio::runtime* rt, std::shared_ptr<std::atomic<int>> st) -> task<> {
        {
            auto jobs = corio::map(corio::from(std::views::iota(0, 10)), [st](int i) -> task<int> {
                return [](int id, std::shared_ptr<std::atomic<int>> s2) -> task<int> {
                    if (id == 0) co_return 0;  // the one result the consumer takes
                    guard g;
                    ++*s2;
                    co_await corio::sleep(1h);
                    co_return id;
                }(i, st);
            });
            auto s = corio::buffer_unordered(std::move(jobs), 4);
            EXPECT_EQ(*co_await s.next(), 0);
            auto busy = yield_until([&] { return st->load() >= 3; });
            EXPECT_TRUE(co_await busy);
            EXPECT_GE(guard::alive.load(), 3);
        }  // the stream is dropped here, with tasks in flight
        auto freed = yield_until([&] { return guard::alive.load() == 0 && rt->live_tasks() == 1; });
        EXPECT_TRUE(co_await freed)
            << "alive " << guard::alive.load() << ", tasks " << rt->live_tasks();
    }(&*t.rt, started));
    EXPECT_LE(started->load(), 4);
    EXPECT_LT(t.shut_down(), 5s);
    EXPECT_EQ(guard::alive.load(), 0);
}

TEST(stream, aborting_a_consumer_parked_in_buffer_unordered_frees_everything) {
    guard::alive = 0;
    test_runtime t;
    t.rt->block_on([](corio::runtime* rt) -> task<> {
        auto consumer = corio::spawn([]() -> task<> {
            auto jobs = corio::map(corio::from(std::views::iota(0, 5)), [](int) -> task<int> {
                return []() -> task<int> {
                    guard g;
                    co_await corio::sleep(1h);
                    co_return 0;
                }();
            });
            auto s = corio::buffer_unordered(std::move(jobs), 2);
            while (auto v = co_await s.next()) (void)v;
        });
        auto busy = yield_until([&] { return guard::alive.load() == 2; });
        EXPECT_TRUE(co_await busy);
        consumer.abort();
        try {
            co_await consumer;
        } catch (const corio::cancelled_error&) {
        }
        consumer.detach();  // its frame goes now: only this task is left
        auto freed = yield_until([&] { return guard::alive.load() == 0 && rt->live_tasks() == 1; });
        EXPECT_TRUE(co_await freed)
            << "alive " << guard::alive.load() << ", tasks " << rt->live_tasks();
    }(&*t.rt));
    EXPECT_LT(t.shut_down(), 5s);
}

// ---------------------------------------------------------------- merge

TEST(stream, merge_interleaves_values_as_they_arrive_and_ends_when_both_end) {
    auto ga = make_gate();
    auto gb = make_gate();
    run_mt([](gate a_gate, gate b_gate) -> task<> {
        auto a = [](gate g) -> async_generator<int> {
            co_yield 1;
            auto p = co_await g->acquire();
            co_yield 3;
        }(a_gate);
        auto b = [](gate g) -> async_generator<int> {
            auto p1 = co_await g->acquire();
            co_yield 2;
            auto p2 = co_await g->acquire();
            co_yield 4;
        }(b_gate);
        auto m = corio::merge(std::move(a), std::move(b));
        EXPECT_EQ(*co_await m.next(), 1);  // only a can produce
        b_gate->release();
        EXPECT_EQ(*co_await m.next(), 2);
        a_gate->release();
        EXPECT_EQ(*co_await m.next(), 3);  // a has now ended; b is still open
        b_gate->release();
        EXPECT_EQ(*co_await m.next(), 4);
        EXPECT_FALSE(co_await m.next());  // both ended
    }(ga, gb));
}

TEST(stream, merge_with_empty_inputs) {
    auto got = run_mt(corio::collect(
        corio::merge(corio::from(std::vector<int>{}), corio::from(std::vector<int>{7, 8}))));
    EXPECT_EQ(got, (std::vector<int>{7, 8}));
    auto none = run_ct(corio::collect(
        corio::merge(corio::from(std::vector<int>{}), corio::from(std::vector<int>{}))));
    EXPECT_TRUE(none.empty());
}

TEST(stream, merge_of_three_streams_yields_every_value) {
    auto got = run_mt(corio::collect(corio::merge(corio::from(std::views::iota(0, 100)),
                                                  corio::from(std::views::iota(100, 200)),
                                                  corio::from(std::views::iota(200, 300)))));
    ASSERT_EQ(got.size(), 300u);
    EXPECT_EQ(sorted(got), iota_vec(0, 300));
    // Each input's own order is kept.
    std::vector<int> last(3, -1);
    for (int v : got) {
        EXPECT_GT(v, last[v / 100]);
        last[v / 100] = v;
    }
}

TEST(stream, merge_rethrows_an_input_exception) {
    EXPECT_THROW(run_mt(corio::collect(corio::merge(corio::from(std::vector<int>{1}),
                                                    []() -> async_generator<int> {
                                                        co_yield 5;
                                                        throw std::logic_error("input failed");
                                                    }()))),
                 std::logic_error);
}

TEST(stream, merge_applies_backpressure_to_a_fast_input) {
    auto pulls = std::make_shared<std::atomic<int>>(0);
    run_mt([](std::shared_ptr<std::atomic<int>> p) -> task<> {
        auto m = corio::merge(counting(1'000'000, p), corio::from(std::vector<int>{}));
        for (int k = 0; k < 3; ++k) EXPECT_TRUE(co_await m.next());
        auto settled = yield_until([&] { return false; }, 20ms);  // let the forwarder run ahead
        (void)co_await settled;
        // 3 taken + 2 queued (capacity: one per input) + 1 held by the blocked forwarder.
        EXPECT_LE(p->load(), 3 + 2 + 1);
    }(pulls));
}

TEST(stream, dropping_merge_aborts_its_forwarding_tasks) {
    guard::alive = 0;
    test_runtime t;
    t.rt->block_on([](corio::runtime* rt) -> task<> {
        {
            auto slow = []() -> async_generator<int> {
                guard g;
                co_yield 1;
                co_await corio::sleep(1h);
                co_yield 2;
            };
            auto m = corio::merge(slow(), slow());
            EXPECT_EQ(*co_await m.next(), 1);
            auto both = yield_until([&] { return guard::alive.load() == 2; });
            EXPECT_TRUE(co_await both);
        }  // dropped with both inputs parked in a sleep
        auto freed = yield_until([&] { return guard::alive.load() == 0 && rt->live_tasks() == 1; });
        EXPECT_TRUE(co_await freed)
            << "alive " << guard::alive.load() << ", tasks " << rt->live_tasks();
    }(&*t.rt));
    EXPECT_LT(t.shut_down(), 5s);
    EXPECT_EQ(guard::alive.load(), 0);
}

// ---------------------------------------------------------------- throttle

namespace {
constexpr auto period = 30ms;
}  // namespace

TEST(stream, throttle_spaces_values_by_at_least_the_period) {
    for (bool mt : {false, true}) {
        auto body = []() -> task<std::vector<corio::clock::time_point>> {
            auto s = corio::from(std::views::iota(0, 5)) | corio::throttle(period);
            std::vector<corio::clock::time_point> at;
            int expect = 0;
            while (auto v = co_await s.next()) {
                at.push_back(corio::clock::now());
                EXPECT_EQ(*v, expect++);
            }
            EXPECT_EQ(expect, 5);
            co_return at;
        };
        auto at = mt ? run_mt(body()) : run_ct(body());
        ASSERT_EQ(at.size(), 5u);
        for (std::size_t i = 1; i < at.size(); ++i) {
            // The throttle measures from just before its yield; the consumer reads the clock
            // just after: allow that sliver.
            EXPECT_GE(at[i] - at[i - 1], period - 1ms)
                << "between values " << i - 1 << " and " << i;
        }
        EXPECT_GE(at.back() - at.front(), 4 * period - 1ms);
    }
}

TEST(stream, throttle_adds_no_delay_to_a_slower_input) {
    auto at = run_ct([]() -> task<corio::clock::duration> {
        auto slow = []() -> async_generator<int> {
            for (int i = 0; i < 3; ++i) {
                co_await corio::sleep(20ms);
                co_yield i;
            }
        };
        auto start = corio::clock::now();
        auto got = co_await corio::collect(corio::throttle(slow(), 5ms));
        EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
        co_return corio::clock::now() - start;
    }());
    EXPECT_GE(at, 60ms);
}
