// The runtime: block_on, corio::run, both flavours, spawning from inside and outside,
// yield_now, misuse (block_on inside a task, spawn outside a runtime), worker count and
// worker thread names.
#include <gtest/gtest.h>

#include <pthread.h>

#include <dirent.h>
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;
using corio::testing::watchdog;

namespace {

corio::task<int> add(int a, int b) {
    co_await corio::yield_now();
    co_return a + b;
}

corio::task<int> fail() {
    co_await corio::yield_now();
    throw std::out_of_range("fail");
}

std::string this_thread_name() {
    char buf[32] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    return buf;
}

}  // namespace

// ---------------------------------------------------------------- block_on and run

TEST(runtime, block_on_returns_the_value_multi_thread) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    EXPECT_EQ(rt.block_on(add(2, 3)), 5);
    EXPECT_EQ(rt.block_on(add(4, 5)), 9) << "a runtime runs several block_on calls in turn";
}

TEST(runtime, block_on_returns_the_value_current_thread) {
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    EXPECT_EQ(rt.block_on(add(2, 3)), 5);
    EXPECT_EQ(rt.block_on(add(4, 5)), 9);
}

TEST(runtime, block_on_rethrows_the_tasks_exception) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    EXPECT_THROW(rt.block_on(fail()), std::out_of_range);
    auto ct = corio::runtime::current_thread();
    EXPECT_THROW(ct.block_on(fail()), std::out_of_range);
    // The runtimes are still usable afterwards.
    EXPECT_EQ(rt.block_on(add(1, 1)), 2);
    EXPECT_EQ(ct.block_on(add(1, 1)), 2);
}

TEST(runtime, block_on_a_void_task) {
    int hits = 0;
    run_mt([](int& h) -> corio::task<> {
        co_await corio::yield_now();
        ++h;
    }(hits));
    EXPECT_EQ(hits, 1);
}

TEST(runtime, run_returns_the_value_on_a_fresh_multi_thread_runtime) {
    watchdog wd(60s);
    EXPECT_EQ(corio::run(add(20, 22)), 42);
    EXPECT_EQ(corio::run(add(1, 2), {.workers = 3}), 3);
    EXPECT_THROW(corio::run(fail(), {.workers = 1}), std::out_of_range);
}

TEST(runtime, block_on_runs_the_root_on_the_calling_thread_for_current_thread) {
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    auto caller = std::this_thread::get_id();
    auto ran_on = rt.block_on([]() -> corio::task<std::thread::id> {
        auto h = corio::spawn([]() -> corio::task<std::thread::id> {
            co_await corio::yield_now();
            co_return std::this_thread::get_id();
        });
        co_return co_await h;
    }());
    EXPECT_EQ(ran_on, caller);
}

TEST(runtime, block_on_runs_tasks_on_workers_for_multi_thread) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    auto caller = std::this_thread::get_id();
    auto ran_on = rt.block_on(
        []() -> corio::task<std::thread::id> { co_return std::this_thread::get_id(); }());
    EXPECT_NE(ran_on, caller);
}

// ---------------------------------------------------------------- spawning

TEST(runtime, spawn_from_inside_a_task_multi_thread) {
    int sum = run_mt([]() -> corio::task<int> {
        std::vector<corio::join_handle<int>> hs;
        for (int i = 0; i < 100; ++i) hs.push_back(corio::spawn(add(i, 1)));
        int s = 0;
        for (auto& h : hs) s += co_await h;
        co_return s;
    }());
    EXPECT_EQ(sum, 100 * 99 / 2 + 100);
}

TEST(runtime, spawn_from_inside_a_task_current_thread) {
    int sum = run_ct([]() -> corio::task<int> {
        std::vector<corio::join_handle<int>> hs;
        for (int i = 0; i < 100; ++i) hs.push_back(corio::spawn(add(i, 1)));
        int s = 0;
        for (auto& h : hs) s += co_await h;
        co_return s;
    }());
    EXPECT_EQ(sum, 100 * 99 / 2 + 100);
}

TEST(runtime, current_runtime_spawns_on_the_same_runtime) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    auto* core = rt.handle().core();
    bool same = rt.block_on([](corio::detail::scheduler_core* c) -> corio::task<bool> {
        auto h = corio::current_runtime();
        auto jh = h.spawn(add(1, 2));
        EXPECT_EQ(co_await jh, 3);
        co_return h.core() == c;
    }(core));
    EXPECT_TRUE(same);
}

namespace {
// Spawns from a plain std::thread via rt.spawn and rt.handle().spawn, then awaits every
// handle in block_on.
void spawn_from_another_thread(corio::runtime& rt) {
    constexpr int kEach = 200;
    std::vector<corio::join_handle<int>> hs;
    std::thread outsider([&] {
        auto handle = rt.handle();
        for (int i = 0; i < kEach; ++i) {
            hs.push_back(rt.spawn(add(i, 0)));
            hs.push_back(handle.spawn(add(0, i)));
        }
    });
    outsider.join();
    int sum = rt.block_on([](std::vector<corio::join_handle<int>> v) -> corio::task<int> {
        int s = 0;
        for (auto& h : v) s += co_await h;
        co_return s;
    }(std::move(hs)));
    EXPECT_EQ(sum, 2 * (kEach * (kEach - 1) / 2));
}
}  // namespace

TEST(runtime, spawn_via_runtime_and_handle_from_another_thread_multi_thread) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    spawn_from_another_thread(rt);
}

TEST(runtime, spawn_via_runtime_and_handle_from_another_thread_current_thread) {
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    spawn_from_another_thread(rt);
}

TEST(runtime, spawn_from_another_thread_while_block_on_waits_current_thread) {
    // The block_on thread sleeps in the reactor; a remote spawn must wake it.
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    corio::semaphore signal{0};
    std::atomic<bool> block_on_started{false};
    std::thread outsider([&] {
        while (!block_on_started.load()) std::this_thread::yield();
        rt.handle().spawn([](corio::semaphore& s) -> corio::task<> {
            s.release();
            co_return;
        }(signal));
    });
    rt.block_on([](corio::semaphore& s, std::atomic<bool>& started) -> corio::task<> {
        started = true;
        auto permit = co_await s.acquire();
    }(signal, block_on_started));
    outsider.join();
    SUCCEED();
}

TEST(runtime, tasks_spawned_from_outside_run_on_a_multi_thread_runtime_without_block_on) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    std::atomic<int> ran{0};
    std::vector<corio::join_handle<void>> hs;
    for (int i = 0; i < 50; ++i)
        hs.push_back(rt.spawn([](std::atomic<int>& r) -> corio::task<> {
            ++r;
            co_return;
        }(ran)));
    // No block_on: the workers run them on their own. Bounded wait.
    auto deadline = std::chrono::steady_clock::now() + 20s;
    while (ran.load() < 50 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::yield();
    EXPECT_EQ(ran.load(), 50);
}

// ---------------------------------------------------------------- misuse

TEST(runtime, spawn_outside_a_runtime_throws_logic_error) {
    int ran = 0;
    auto body = [](int& r) -> corio::task<> {
        ++r;
        co_return;
    };
    EXPECT_THROW(corio::spawn(body(ran)), std::logic_error);
    EXPECT_THROW(corio::spawn([]() -> corio::task<> { co_return; }), std::logic_error);
    EXPECT_THROW(corio::spawn([](int) -> corio::task<> { co_return; }, 1), std::logic_error);
    EXPECT_THROW(corio::current_runtime(), std::logic_error);
    EXPECT_THROW(corio::spawn_blocking([] { return 1; }), std::logic_error);
    EXPECT_EQ(ran, 0) << "the refused task must not run";
}

TEST(runtime, spawn_from_a_plain_thread_after_block_on_returned_throws_logic_error) {
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    EXPECT_EQ(rt.block_on(add(1, 1)), 2);
    // block_on restored the thread's context: this thread no longer serves a runtime.
    EXPECT_THROW(corio::spawn(add(1, 1)), std::logic_error);
    corio::runtime mt{{.workers = 1}};
    EXPECT_EQ(mt.block_on(add(1, 1)), 2);
    EXPECT_THROW(corio::spawn(add(1, 1)), std::logic_error);
}

TEST(runtime, block_on_from_inside_a_task_on_a_worker_throws_logic_error) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    int inner_ran = 0;
    bool threw = rt.block_on([](corio::runtime& r, int& ir) -> corio::task<bool> {
        try {
            r.block_on([](int& x) -> corio::task<int> {
                ++x;
                co_return 1;
            }(ir));
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    }(rt, inner_ran));
    EXPECT_TRUE(threw);
    EXPECT_EQ(inner_ran, 0);
}

TEST(runtime, block_on_from_inside_a_task_of_a_current_thread_runtime_throws_logic_error) {
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    auto other = corio::runtime::current_thread();
    bool threw_same = false;
    bool threw_other = false;
    rt.block_on([](corio::runtime& same, corio::runtime& oth, bool& ts, bool& to) -> corio::task<> {
        try {
            same.block_on(add(1, 1));
        } catch (const std::logic_error&) {
            ts = true;
        }
        try {
            oth.block_on(add(1, 1));  // another runtime: still blocks this runtime's thread
        } catch (const std::logic_error&) {
            to = true;
        }
        co_return;
    }(rt, other, threw_same, threw_other));
    EXPECT_TRUE(threw_same);
    EXPECT_TRUE(threw_other);
}

TEST(runtime, block_on_from_a_spawned_task_on_a_worker_throws_logic_error) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    auto h = rt.spawn([](corio::runtime& r) -> corio::task<bool> {
        try {
            r.block_on(add(1, 1));
        } catch (const std::logic_error&) {
            co_return true;
        }
        co_return false;
    }(rt));
    EXPECT_TRUE(rt.block_on([](corio::join_handle<bool> j) -> corio::task<bool> {
        co_return co_await j;
    }(std::move(h))));
}

// ---------------------------------------------------------------- workers

TEST(runtime, worker_count_matches_the_options) {
    watchdog wd(60s);
    {
        corio::runtime rt{{.workers = 3}};
        EXPECT_EQ(rt.worker_count(), 3u);
    }
    {
        corio::runtime rt{{.workers = 1}};
        EXPECT_EQ(rt.worker_count(), 1u);
    }
    {
        corio::runtime rt;  // one per core
        EXPECT_EQ(rt.worker_count(), std::max(1u, std::thread::hardware_concurrency()));
    }
    {
        auto rt = corio::runtime::current_thread();
        EXPECT_EQ(rt.worker_count(), 1u);
    }
}

namespace {
// Runs one task per worker at once (each spins until all have started, bounded), so every
// worker thread runs one of them; returns the thread names they saw.
std::set<std::string> names_seen_by_all_workers(corio::runtime& rt, unsigned workers) {
    std::atomic<unsigned> arrived{0};
    std::mutex m;
    std::set<std::string> names;
    std::set<std::thread::id> threads;
    rt.block_on([](unsigned n, std::atomic<unsigned>& arr, std::mutex& mu,
                   std::set<std::string>& nm, std::set<std::thread::id>& th) -> corio::task<> {
        std::vector<corio::join_handle<void>> hs;
        for (unsigned i = 0; i < n; ++i)
            hs.push_back(corio::spawn([](unsigned n2, std::atomic<unsigned>& a, std::mutex& mx,
                                         std::set<std::string>& names2,
                                         std::set<std::thread::id>& th2) -> corio::task<> {
                {
                    std::lock_guard lock(mx);
                    names2.insert(this_thread_name());
                    th2.insert(std::this_thread::get_id());
                }
                ++a;
                // Hold this worker until every task has started elsewhere (bounded).
                auto deadline = std::chrono::steady_clock::now() + 10s;
                while (a.load() < n2 && std::chrono::steady_clock::now() < deadline)
                    std::this_thread::yield();
                co_return;
            }(n, arr, mu, nm, th)));
        for (auto& h : hs) co_await h;
    }(workers, arrived, m, names, threads));
    EXPECT_EQ(arrived.load(), workers);
    EXPECT_EQ(threads.size(), workers) << "every worker should have run one of the tasks";
    return names;
}

std::set<std::string> thread_names_in_proc() {
    std::set<std::string> out;
    DIR* d = opendir("/proc/self/task");
    if (!d) return out;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') continue;
        std::ifstream f(std::string("/proc/self/task/") + e->d_name + "/comm");
        std::string name;
        if (std::getline(f, name)) out.insert(name);
    }
    closedir(d);
    return out;
}
}  // namespace

TEST(runtime, worker_threads_are_named_corio_worker_n) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    auto names = names_seen_by_all_workers(rt, 2);
    EXPECT_EQ(names, (std::set<std::string>{"corio-worker-0", "corio-worker-1"}));
    // The kernel sees the same names.
    auto proc = thread_names_in_proc();
    EXPECT_EQ(proc.count("corio-worker-0"), 1u);
    EXPECT_EQ(proc.count("corio-worker-1"), 1u);
}

TEST(runtime, worker_thread_names_use_the_configured_prefix) {
    watchdog wd(60s);
    corio::runtime rt{{.workers = 2, .thread_name = "mypool"}};
    auto names = names_seen_by_all_workers(rt, 2);
    EXPECT_EQ(names, (std::set<std::string>{"mypool-0", "mypool-1"}));
}

TEST(runtime, current_thread_runtime_does_not_rename_the_caller) {
    watchdog wd(60s);
    auto before = this_thread_name();
    auto inside = run_ct([]() -> corio::task<std::string> { co_return this_thread_name(); }());
    EXPECT_EQ(inside, before);
}

// ---------------------------------------------------------------- yield_now

TEST(runtime, yield_now_interleaves_two_tasks_on_current_thread) {
    auto order = run_ct([]() -> corio::task<std::string> {
        std::string log;
        auto worker = [](std::string& l, char c) -> corio::task<> {
            for (int i = 0; i < 5; ++i) {
                l.push_back(c);
                co_await corio::yield_now();
            }
        };
        auto a = corio::spawn(worker(log, 'a'));
        auto b = corio::spawn(worker(log, 'b'));
        co_await a;
        co_await b;
        co_return log;
    }());
    EXPECT_EQ(order, "ababababab");
}

TEST(runtime, yield_now_lets_another_task_run_on_a_single_worker) {
    std::atomic<bool> flag{false};
    auto yields = run_mt(
        [](std::atomic<bool>& f) -> corio::task<int> {
            auto setter = corio::spawn([](std::atomic<bool>& f2) -> corio::task<> {
                f2 = true;
                co_return;
            }(f));
            int n = 0;
            // Without yield_now the setter could never run on the only worker.
            while (!f.load() && n < 100'000) {
                co_await corio::yield_now();
                ++n;
            }
            co_await setter;
            co_return n;
        }(flag),
        /*workers=*/1);
    EXPECT_TRUE(flag.load());
    EXPECT_LT(yields, 100) << "the other task should run after very few yields";
}

TEST(runtime, yield_now_lets_another_task_run_current_thread) {
    std::atomic<bool> flag{false};
    auto yields = run_ct([](std::atomic<bool>& f) -> corio::task<int> {
        auto setter = corio::spawn([](std::atomic<bool>& f2) -> corio::task<> {
            f2 = true;
            co_return;
        }(f));
        int n = 0;
        while (!f.load() && n < 100'000) {
            co_await corio::yield_now();
            ++n;
        }
        co_await setter;
        co_return n;
    }(flag));
    EXPECT_TRUE(flag.load());
    EXPECT_EQ(yields, 1);
}

// ---------------------------------------------------------------- bookkeeping

TEST(runtime, live_tasks_drops_to_zero_after_handles_are_released) {
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    EXPECT_EQ(rt.live_tasks(), 0u);
    std::vector<corio::join_handle<int>> hs;
    for (int i = 0; i < 10; ++i) hs.push_back(rt.spawn(add(i, i)));
    EXPECT_EQ(rt.live_tasks(), 10u);
    int s = rt.block_on([](std::vector<corio::join_handle<int>>& v) -> corio::task<int> {
        int sum = 0;
        for (auto& h : v) sum += co_await h;
        co_return sum;
    }(hs));
    EXPECT_EQ(s, 90);
    EXPECT_EQ(rt.live_tasks(), 10u) << "finished frames are held by their handles";
    hs.clear();
    EXPECT_EQ(rt.live_tasks(), 0u);
}

TEST(runtime, a_moved_runtime_keeps_working) {
    watchdog wd(60s);
    corio::runtime a{{.workers = 2}};
    corio::runtime b = std::move(a);
    EXPECT_EQ(b.block_on(add(3, 4)), 7);
    EXPECT_EQ(b.worker_count(), 2u);
    auto c = corio::runtime::current_thread();
    c = std::move(b);
    EXPECT_EQ(c.block_on(add(5, 6)), 11);
}
