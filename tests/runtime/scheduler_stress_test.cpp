// Scheduler stress: wakes racing with suspends are never lost, a task is never polled on two
// threads at once, a million spawns complete, and idle workers steal.
//
// Every loop is bounded; a lost wake shows up as a hang, which the watchdog in run_mt turns
// into an abort with a message.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <semaphore>
#include <set>
#include <thread>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

namespace {

#if defined(__SANITIZE_THREAD__)
constexpr int kSlow = 4;  // ThreadSanitizer runs everything ~10x slower: fewer rounds
#else
constexpr int kSlow = 1;
#endif

// Detects two threads inside the same task at once: set when the task's code starts
// running after a resume, cleared just before each of its awaits.
struct exclusive_section {
    std::atomic<bool> inside{false};
    std::atomic<int>* violations;
    void enter() {
        if (inside.exchange(true, std::memory_order_acq_rel)) violations->fetch_add(1);
    }
    void leave() { inside.store(false, std::memory_order_release); }
};

struct contention_state {
    explicit contention_state(std::size_t n) : sem(n), permits(int(n)) {}
    corio::semaphore sem;
    const int permits;
    std::atomic<int> holders{0};
    std::atomic<int> over_permit{0};
    std::atomic<int> violations{0};
    std::atomic<long> entries{0};
};

// Spins for about `d` (bounded by the clock): work that keeps a worker busy, so the other
// workers steal and wakes cross threads.
void busy_for(std::chrono::nanoseconds d) {
    auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
    }
}

corio::task<> contend(contention_state& st, exclusive_section& ex, int iterations,
                      std::chrono::nanoseconds hold = {}) {
    ex.enter();
    for (int i = 0; i < iterations; ++i) {
        ex.leave();
        auto permit = co_await st.sem.acquire();
        ex.enter();
        st.entries.fetch_add(1, std::memory_order_relaxed);
        if (st.holders.fetch_add(1) + 1 > st.permits) st.over_permit.fetch_add(1);
        if (hold.count() != 0) busy_for(hold);
        if (i % 3 == 0) {  // hold the permit across a suspension now and then
            ex.leave();
            co_await corio::yield_now();
            ex.enter();
        }
        st.holders.fetch_sub(1);
        permit.release();
        if (i % 7 == 0) {
            ex.leave();
            co_await corio::yield_now();
            ex.enter();
        }
    }
    ex.leave();
}

void run_contention(unsigned workers, int tasks, int iterations, std::size_t permits,
                    std::chrono::nanoseconds hold = {}) {
    contention_state st(permits);
    std::vector<std::unique_ptr<exclusive_section>> sections;
    for (int i = 0; i < tasks; ++i) {
        sections.push_back(std::make_unique<exclusive_section>());
        sections.back()->violations = &st.violations;
    }
    run_mt(
        [](contention_state& s, std::vector<std::unique_ptr<exclusive_section>>& secs, int iters,
           std::chrono::nanoseconds hd) -> corio::task<> {
            std::vector<corio::join_handle<void>> hs;
            for (auto& sec : secs) hs.push_back(corio::spawn(contend(s, *sec, iters, hd)));
            for (auto& h : hs) co_await h;
        }(st, sections, iterations, hold),
        workers);
    EXPECT_EQ(st.violations.load(), 0) << "a task ran on two threads at once";
    EXPECT_EQ(st.over_permit.load(), 0) << "more holders than permits";
    EXPECT_EQ(st.entries.load(), long(tasks) * iterations);
    EXPECT_EQ(st.sem.available_permits(), permits);
    EXPECT_EQ(st.sem.waiters(), 0u);
}

}  // namespace

TEST(scheduler_stress, semaphore_contention_never_loses_a_wake_nor_runs_a_task_twice_2_workers) {
    run_contention(2, 64, 5000 / kSlow, 3);
}

TEST(scheduler_stress, semaphore_contention_never_loses_a_wake_nor_runs_a_task_twice_4_workers) {
    run_contention(4, 128, 2000 / kSlow, 1);
}

TEST(scheduler_stress, contention_with_busy_permit_holders_across_4_workers) {
    // Holders spin ~2 µs with the permit: the queue of waiters is long, workers steal, and
    // most hand-offs wake a task parked by another worker.
    run_contention(4, 32, 2000 / kSlow, 2, std::chrono::microseconds(2));
}

namespace {
// Two tasks hand a token back and forth through two semaphores. Every hand-off is a wake
// that races with the other side suspending.
corio::task<> ping(corio::semaphore& out, corio::semaphore& in, exclusive_section& ex, int rounds) {
    ex.enter();
    for (int r = 0; r < rounds; ++r) {
        out.release();
        ex.leave();
        (co_await in.acquire()).forget();
        ex.enter();
        if (r % 16 == 0) {  // back of the queue: lets another worker steal this task
            ex.leave();
            co_await corio::yield_now();
            ex.enter();
        }
    }
    ex.leave();
}
corio::task<> pong(corio::semaphore& in, corio::semaphore& out, exclusive_section& ex, int rounds) {
    ex.enter();
    for (int r = 0; r < rounds; ++r) {
        ex.leave();
        (co_await in.acquire()).forget();
        ex.enter();
        out.release();
    }
    ex.leave();
}

struct pair_state {
    corio::semaphore a{0};
    corio::semaphore b{0};
    exclusive_section ex_ping;
    exclusive_section ex_pong;
};
}  // namespace

TEST(scheduler_stress, ping_pong_pairs_never_lose_a_wake) {
    constexpr int kPairs = 32;
    const int rounds = 10'000 / kSlow;
    std::atomic<int> violations{0};
    std::vector<std::unique_ptr<pair_state>> pairs;
    for (int i = 0; i < kPairs; ++i) {
        pairs.push_back(std::make_unique<pair_state>());
        pairs.back()->ex_ping.violations = &violations;
        pairs.back()->ex_pong.violations = &violations;
    }
    run_mt(
        [](std::vector<std::unique_ptr<pair_state>>& ps, int n) -> corio::task<> {
            std::vector<corio::join_handle<void>> hs;
            for (auto& p : ps) {
                hs.push_back(corio::spawn(ping(p->a, p->b, p->ex_ping, n)));
                hs.push_back(corio::spawn(pong(p->a, p->b, p->ex_pong, n)));
            }
            for (auto& h : hs) co_await h;
        }(pairs, rounds),
        4);
    EXPECT_EQ(violations.load(), 0);
    for (auto& p : pairs) {
        EXPECT_EQ(p->a.available_permits(), 0u);
        EXPECT_EQ(p->b.available_permits(), 0u);
    }
}

namespace {
// A plain thread and a task hand a token back and forth: the task is woken from outside
// the runtime (injection queue + unpark / eventfd) while it is suspending.
void ping_pong_with_outside_thread(corio::runtime& rt, int rounds) {
    corio::semaphore to_task{0};
    std::binary_semaphore to_thread{0};
    std::atomic<int> violations{0};
    exclusive_section ex;
    ex.violations = &violations;
    std::thread outsider([&] {
        for (int r = 0; r < rounds; ++r) {
            to_task.release();
            to_thread.acquire();
        }
    });
    rt.block_on([](corio::semaphore& in, std::binary_semaphore& out, exclusive_section& e,
                   int n) -> corio::task<> {
        e.enter();
        for (int r = 0; r < n; ++r) {
            e.leave();
            (co_await in.acquire()).forget();
            e.enter();
            out.release();
        }
        e.leave();
    }(to_task, to_thread, ex, rounds));
    outsider.join();
    EXPECT_EQ(violations.load(), 0);
    EXPECT_EQ(to_task.available_permits(), 0u);
}
}  // namespace

TEST(scheduler_stress, wakes_from_a_thread_outside_the_runtime_are_never_lost_multi_thread) {
    corio::testing::watchdog wd(60s);
    corio::runtime rt{{.workers = 2}};
    ping_pong_with_outside_thread(rt, 5000 / kSlow);
}

TEST(scheduler_stress, wakes_from_a_thread_outside_the_runtime_are_never_lost_current_thread) {
    corio::testing::watchdog wd(60s);
    auto rt = corio::runtime::current_thread();
    ping_pong_with_outside_thread(rt, 5000 / kSlow);
}

namespace {
corio::task<std::int64_t> chain_link(corio::join_handle<std::int64_t> prev_param) {
    // Moved into a local so the previous task is released when this one completes. Kept
    // as a parameter, each frame would hold the previous frame until it is itself freed,
    // and freeing the last link would free the whole chain recursively (one stack frame
    // per link: a 20,000-link chain overflows a worker's stack under ASan).
    auto prev = std::move(prev_param);
    std::int64_t v = co_await prev;
    co_return v + 1;
}
}  // namespace

TEST(scheduler_stress, long_join_chain_completes_each_join_racing_its_targets_completion) {
    const int links = 20'000 / kSlow;
    auto v = run_mt(
        [](int n) -> corio::task<std::int64_t> {
            auto h = corio::spawn([]() -> corio::task<std::int64_t> {
                co_await corio::yield_now();
                co_return 0;
            });
            for (int i = 0; i < n; ++i) h = corio::spawn(chain_link(std::move(h)));
            co_return co_await h;
        }(links),
        4);
    EXPECT_EQ(v, links);
}

TEST(scheduler_stress, many_short_timers_on_many_tasks_all_fire) {
    const int tasks = 1000 / kSlow;
    auto fired = run_mt([](int n) -> corio::task<int> {
        std::vector<corio::join_handle<int>> hs;
        for (int i = 0; i < n; ++i)
            hs.push_back(corio::spawn([](int k) -> corio::task<int> {
                for (int r = 0; r < 3; ++r)
                    co_await corio::sleep(std::chrono::milliseconds(1 + k % 3));
                co_return 1;
            }(i)));
        int s = 0;
        for (auto& h : hs) s += co_await h;
        co_return s;
    }(tasks));
    EXPECT_EQ(fired, tasks);
}

TEST(scheduler_stress, one_million_spawns_across_workers_sum_their_results) {
    constexpr std::int64_t kTotal = 1'000'000;
    constexpr std::int64_t kBatch = 100'000;
    auto sum = run_mt([]() -> corio::task<std::int64_t> {
        std::int64_t s = 0;
        std::vector<corio::join_handle<std::int64_t>> hs;
        hs.reserve(kBatch);
        for (std::int64_t base = 0; base < kTotal; base += kBatch) {
            for (std::int64_t i = base; i < base + kBatch; ++i)
                hs.push_back(corio::spawn(
                    [](std::int64_t x) -> corio::task<std::int64_t> { co_return x; }(i)));
            for (auto& h : hs) s += co_await h;
            hs.clear();
        }
        co_return s;
    }());
    EXPECT_EQ(sum, kTotal * (kTotal - 1) / 2);
}

TEST(scheduler_stress, one_million_spawns_from_outside_the_runtime_all_complete) {
    // The outside thread feeds the injection queue; the workers drain it.
    constexpr std::int64_t kTotal = 1'000'000 / kSlow;
    corio::testing::watchdog wd(120s);
    corio::runtime rt{{.workers = 2}};
    std::atomic<std::int64_t> done{0};
    for (std::int64_t i = 0; i < kTotal; ++i)
        rt.spawn([](std::atomic<std::int64_t>& d) -> corio::task<> {
              d.fetch_add(1, std::memory_order_relaxed);
              co_return;
          }(done))
            .detach();
    // Wait through the runtime rather than by polling: a last task after all the others.
    rt.block_on([](std::atomic<std::int64_t>& d, std::int64_t total) -> corio::task<> {
        for (long spins = 0; d.load() < total && spins < 100'000'000; ++spins)
            co_await corio::yield_now();
    }(done, kTotal));
    EXPECT_EQ(done.load(), kTotal);
}

TEST(scheduler_stress, an_idle_worker_steals_from_a_busy_one) {
    // 128 tasks (fits one local queue, so they are not spilled to the shared queue) of ~100 µs
    // of spinning each, spawned from one task: the other worker can only get them by stealing.
    constexpr int kTasks = 128;
    std::mutex m;
    std::set<std::thread::id> threads;
    auto root_thread = run_mt(
        [](std::mutex& mu, std::set<std::thread::id>& th) -> corio::task<std::thread::id> {
            std::vector<corio::join_handle<void>> hs;
            for (int i = 0; i < kTasks; ++i)
                hs.push_back(
                    corio::spawn([](std::mutex& mx, std::set<std::thread::id>& t) -> corio::task<> {
                        {
                            std::lock_guard lock(mx);
                            t.insert(std::this_thread::get_id());
                        }
                        auto until = std::chrono::steady_clock::now() + 100us;
                        while (std::chrono::steady_clock::now() < until) {
                        }
                        co_return;
                    }(mu, th)));
            auto me = std::this_thread::get_id();
            for (auto& h : hs) co_await h;
            co_return me;
        }(m, threads),
        2);
    (void)root_thread;
    EXPECT_GT(threads.size(), 1u) << "all " << kTasks << " tasks ran on one worker: no steal";
}

TEST(scheduler_stress, mixed_spawn_yield_and_wake_on_current_thread) {
    // The same contention on the current-thread flavour (one thread, FIFO queue).
    contention_state st(2);
    std::vector<std::unique_ptr<exclusive_section>> sections;
    for (int i = 0; i < 32; ++i) {
        sections.push_back(std::make_unique<exclusive_section>());
        sections.back()->violations = &st.violations;
    }
    run_ct([](contention_state& s,
              std::vector<std::unique_ptr<exclusive_section>>& secs) -> corio::task<> {
        std::vector<corio::join_handle<void>> hs;
        for (auto& sec : secs) hs.push_back(corio::spawn(contend(s, *sec, 300)));
        for (auto& h : hs) co_await h;
    }(st, sections));
    EXPECT_EQ(st.violations.load(), 0);
    EXPECT_EQ(st.over_permit.load(), 0);
    EXPECT_EQ(st.entries.load(), 32L * 300);
}
