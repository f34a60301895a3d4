// spawn_blocking: values and exceptions, the threads it runs on, parallelism, abort before
// start, and shutdown with a queued job.
#include <gtest/gtest.h>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <corio/corio.hpp>

#include "runtime/scheduler_core.hpp"  // white-box: the blocking pool's queue length
#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;
using corio::testing::watchdog;

namespace {

std::string this_thread_name() {
    char buf[32] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    return buf;
}

// Yields (bounded) until `flag` is set.
corio::task<bool> yield_until(const std::atomic<bool>& flag) {
    for (long i = 0; i < 50'000'000 && !flag.load(); ++i) co_await corio::yield_now();
    co_return flag.load();
}

}  // namespace

TEST(blocking, spawn_blocking_returns_the_value) {
    EXPECT_EQ(run_mt([]() -> corio::task<int> {
                  co_return co_await corio::spawn_blocking([] { return 6 * 7; });
              }()),
              42);
    EXPECT_EQ(run_ct([]() -> corio::task<std::string> {
                  std::string captured(100, 'c');  // moved into the job: capture by value
                  // Not `co_await spawn_blocking([captured] {...})`: g++ 12 destroys a
                  // capturing lambda temporary twice when it appears in a co_await
                  // expression (a compiler bug, reproduced without corio).
                  auto job = corio::spawn_blocking([captured] { return captured + "!"; });
                  co_return co_await job;
              }()),
              std::string(100, 'c') + "!");
}

TEST(blocking, spawn_blocking_returns_a_move_only_value_and_void) {
    auto p = run_mt([]() -> corio::task<std::unique_ptr<int>> {
        co_return co_await corio::spawn_blocking([] { return std::make_unique<int>(3); });
    }());
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 3);
    std::atomic<int> hits{0};
    run_mt([](std::atomic<int>& h) -> corio::task<> {
        co_await corio::spawn_blocking([&h] { ++h; });
    }(hits));
    EXPECT_EQ(hits.load(), 1);
}

TEST(blocking, spawn_blocking_propagates_the_exception) {
    auto what = run_mt([]() -> corio::task<std::string> {
        try {
            co_await corio::spawn_blocking([]() -> int { throw std::domain_error("blocking"); });
        } catch (const std::domain_error& e) {
            co_return e.what();
        }
        co_return "no exception";
    }());
    EXPECT_EQ(what, "blocking");
    EXPECT_THROW(run_ct([]() -> corio::task<> {
                     co_await corio::spawn_blocking([] { throw std::length_error("x"); });
                 }()),
                 std::length_error);
}

TEST(blocking, spawn_blocking_runs_on_a_blocking_thread_not_a_worker) {
    struct seen {
        std::string task_name, job_name;
        std::thread::id task_thread, job_thread;
    };
    auto s = run_mt([]() -> corio::task<seen> {
        seen r;
        r.task_name = this_thread_name();
        r.task_thread = std::this_thread::get_id();
        auto [name, id] = co_await corio::spawn_blocking([] {
            return std::pair{this_thread_name(), std::this_thread::get_id()};
        });
        r.job_name = name;
        r.job_thread = id;
        co_return r;
    }());
    EXPECT_EQ(s.task_name.rfind("corio-worker-", 0), 0u) << s.task_name;
    EXPECT_EQ(s.job_name, "corio-blocking");
    EXPECT_NE(s.job_thread, s.task_thread);

    auto caller = std::this_thread::get_id();
    auto ct = run_ct([]() -> corio::task<std::pair<std::string, std::thread::id>> {
        co_return co_await corio::spawn_blocking([] {
            return std::pair{this_thread_name(), std::this_thread::get_id()};
        });
    }());
    EXPECT_EQ(ct.first, "corio-blocking");
    EXPECT_NE(ct.second, caller) << "a blocking job must not run on the block_on thread";
}

TEST(blocking, many_concurrent_blocking_jobs_run_in_parallel) {
    constexpr int kJobs = 64;
    struct stats {
        std::atomic<int> running{0};
        std::atomic<int> peak{0};
        std::chrono::steady_clock::duration took{};
    } st;
    int done = run_mt([](stats& s) -> corio::task<int> {
        auto start = std::chrono::steady_clock::now();
        std::vector<corio::join_handle<int>> hs;
        for (int i = 0; i < kJobs; ++i)
            hs.push_back(corio::spawn_blocking([&s] {
                int now = ++s.running;
                for (int p = s.peak.load(); now > p && !s.peak.compare_exchange_weak(p, now);) {
                }
                std::this_thread::sleep_for(20ms);  // the blocking work itself
                --s.running;
                return 1;
            }));
        int n = 0;
        for (auto& h : hs) n += co_await h;
        s.took = std::chrono::steady_clock::now() - start;
        co_return n;
    }(st));
    EXPECT_EQ(done, kJobs);
    // Run one after the other they would take 64 * 20 ms = 1.28 s.
    EXPECT_LT(st.took, 1s) << "64 jobs of 20 ms each took "
                           << std::chrono::duration_cast<std::chrono::milliseconds>(st.took).count()
                           << " ms: the pool did not run them concurrently";
    EXPECT_GE(st.peak.load(), 16) << "at most " << st.peak.load() << " jobs ever ran at once";
}

TEST(blocking, a_blocking_job_does_not_stall_the_workers) {
    // One worker: while a blocking job waits for a latch, tasks still run on the worker and
    // are the ones that release it.
    std::latch release{1};
    int v = run_mt(
        [](std::latch& rel) -> corio::task<int> {
            auto job = corio::spawn_blocking([&rel] {
                rel.wait();
                return 5;
            });
            auto helper = corio::spawn([](std::latch& r) -> corio::task<> {
                co_await corio::yield_now();
                r.count_down();
            }(rel));
            co_await helper;
            co_return co_await job;
        }(release),
        1);
    EXPECT_EQ(v, 5);
}

TEST(blocking, abort_before_start_prevents_the_job_from_running) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2, .max_blocking_threads = 1}};
    std::latch release_first{1};
    std::atomic<bool> first_running{false};
    std::atomic<bool> second_ran{false};
    struct outcome {
        int first = 0;
        bool second_cancelled = false;
        bool second_finished = false;
    };
    auto o = rt.block_on(
        [](std::latch& rel, std::atomic<bool>& fr, std::atomic<bool>& sr) -> corio::task<outcome> {
            outcome r;
            auto first = corio::spawn_blocking([&rel, &fr] {
                fr = true;
                rel.wait();  // occupies the pool's only thread
                return 1;
            });
            EXPECT_TRUE(co_await yield_until(fr));
            auto second = corio::spawn_blocking([&sr] {
                sr = true;
                return 2;
            });
            second.abort();  // still queued: the only thread is busy
            rel.count_down();
            r.first = co_await first;
            try {
                co_await second;
            } catch (const corio::cancelled_error&) {
                r.second_cancelled = true;
            }
            r.second_finished = second.is_finished();
            co_return r;
        }(release_first, first_running, second_ran));
    EXPECT_EQ(o.first, 1);
    EXPECT_TRUE(o.second_cancelled) << "an aborted, never-started job's handle must throw";
    EXPECT_TRUE(o.second_finished);
    EXPECT_FALSE(second_ran.load()) << "an aborted job that had not started must never run";
}

TEST(blocking, abort_of_a_running_job_lets_it_run_to_the_end) {
    watchdog wd(60s);
    std::latch release{1};
    std::atomic<bool> running{false};
    std::atomic<bool> finished{false};
    run_mt([](std::latch& rel, std::atomic<bool>& run, std::atomic<bool>& fin) -> corio::task<> {
        auto job = corio::spawn_blocking([&] {
            run = true;
            rel.wait();
            fin = true;
            return 9;
        });
        EXPECT_TRUE(co_await yield_until(run));
        job.abort();  // cannot interrupt blocking code
        rel.count_down();
        try {
            (void)co_await job;
        } catch (const corio::cancelled_error&) {
        }
        EXPECT_TRUE(job.is_finished());
    }(release, running, finished));
    EXPECT_TRUE(finished.load()) << "a running blocking job runs to the end";
}

TEST(blocking, shutdown_with_a_queued_blocking_job_completes_it_as_cancelled) {
    watchdog wd(60s);
    std::latch release_first{1};
    std::atomic<bool> first_running{false};
    std::atomic<bool> second_ran{false};
    std::atomic<int> second_outcome{0};  // 1 value, 2 cancelled (finished), 3 cancelled (not)
    {
        corio::runtime rt{{.workers = 2, .max_blocking_threads = 1}};
        auto* core = rt.handle().core();
        rt.block_on([](std::latch& rel, std::atomic<bool>& fr, std::atomic<bool>& sr,
                       std::atomic<int>& out) -> corio::task<> {
            auto first = corio::spawn_blocking([&rel, &fr] {
                fr = true;
                rel.wait();
                return 1;
            });
            EXPECT_TRUE(co_await yield_until(fr));
            auto second = corio::spawn_blocking([&sr] {
                sr = true;
                return 2;
            });
            // A task waits for the queued job's outcome and records it.
            corio::spawn([](corio::join_handle<int> h, std::atomic<int>& o) -> corio::task<> {
                try {
                    co_await h.join_uncancellable();
                    o = 1;
                } catch (const corio::cancelled_error&) {
                    o = h.is_finished() ? 2 : 3;
                }
            }(std::move(second), out))
                .detach();
            first.detach();
        }(release_first, first_running, second_ran, second_outcome));
        ASSERT_EQ(core->blocking().queued(), 1u);
        // Release the first job only once shutdown has taken the queue (the second job can
        // then no longer start): the pool's queue empties only that way, since its one
        // thread is held by the first job.
        std::thread releaser([&] {
            auto deadline = std::chrono::steady_clock::now() + 30s;
            while (core->blocking().queued() != 0 && std::chrono::steady_clock::now() < deadline)
                std::this_thread::yield();
            release_first.count_down();
        });
        auto start = std::chrono::steady_clock::now();
        { corio::runtime gone = std::move(rt); }
        releaser.join();
        EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    }
    EXPECT_FALSE(second_ran.load()) << "a queued job must not run during shutdown";
    EXPECT_EQ(second_outcome.load(), 2)
        << "the queued job must complete as cancelled (1: it returned a value, 3: the waiter "
           "was cancelled before the job completed, 0: the waiter never resumed)";
}

TEST(blocking, shutdown_waits_for_a_running_blocking_job) {
    watchdog wd(60s);
    std::atomic<bool> finished{false};
    {
        corio::runtime rt{{.workers = 2}};
        std::atomic<bool> started{false};
        rt.block_on([](std::atomic<bool>& st, std::atomic<bool>& fin) -> corio::task<> {
            corio::spawn_blocking([&st, &fin] {
                st = true;
                std::this_thread::sleep_for(50ms);  // the blocking work itself
                fin = true;
            }).detach();
            EXPECT_TRUE(co_await yield_until(st));
        }(started, finished));
    }
    EXPECT_TRUE(finished.load()) << "shutdown must wait for running blocking jobs";
}

namespace {
corio::task<int> spawn_from_a_blocking_job() {
    // A blocking thread serves its runtime: corio::spawn works there.
    auto inner = co_await corio::spawn_blocking([] {
        return corio::spawn([]() -> corio::task<int> {
            co_await corio::yield_now();
            co_return 11;
        });
    });
    co_return co_await inner;
}
}  // namespace

TEST(blocking, a_blocking_job_can_spawn_onto_its_runtime) {
    EXPECT_EQ(run_mt(spawn_from_a_blocking_job()), 11);
    EXPECT_EQ(run_ct(spawn_from_a_blocking_job()), 11);
}

TEST(blocking, blocking_jobs_from_many_tasks_all_complete_with_a_small_pool) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2, .max_blocking_threads = 2}};
    int sum = rt.block_on([]() -> corio::task<int> {
        std::vector<corio::join_handle<int>> hs;
        for (int i = 0; i < 100; ++i)
            hs.push_back(corio::spawn([](int k) -> corio::task<int> {
                co_return co_await corio::spawn_blocking([k] { return k; });
            }(i)));
        int s = 0;
        for (auto& h : hs) s += co_await h;
        co_return s;
    }());
    EXPECT_EQ(sum, 100 * 99 / 2);
}
