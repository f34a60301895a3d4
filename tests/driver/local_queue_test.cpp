// Unit tests of a worker's bounded run queue (src/runtime/local_queue.hpp) and its overflow
// into the injection queue (src/runtime/inject_queue.hpp), without a runtime. The "tasks"
// are plain task_header objects that are never polled: the queues only move pointers (and
// link overflow batches through queue_next).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "runtime/inject_queue.hpp"
#include "runtime/local_queue.hpp"
#include "test_support.hpp"

namespace {

using corio::detail::inject_queue;
using corio::detail::local_queue;
using corio::detail::task_header;

struct fake_tasks {
    explicit fake_tasks(std::size_t n) : items(new task_header[n]), count(n) {}
    task_header* operator[](std::size_t i) const { return &items[i]; }
    std::size_t index_of(const task_header* t) const {
        return static_cast<std::size_t>(t - items.get());
    }
    std::unique_ptr<task_header[]> items;
    std::size_t count;
};

std::vector<std::size_t> drain(local_queue& q, const fake_tasks& tasks) {
    std::vector<std::size_t> out;
    while (task_header* t = q.pop()) out.push_back(tasks.index_of(t));
    return out;
}

std::vector<std::size_t> drain(inject_queue& q, const fake_tasks& tasks) {
    std::vector<std::size_t> out;
    while (task_header* t = q.pop()) out.push_back(tasks.index_of(t));
    return out;
}

std::vector<std::size_t> iota(std::size_t from, std::size_t to) {
    std::vector<std::size_t> v;
    for (std::size_t i = from; i < to; ++i) v.push_back(i);
    return v;
}

TEST(local_queue, new_queue_is_empty_and_pop_returns_null) {
    local_queue q;
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.size(), 0u);
    EXPECT_EQ(q.pop(), nullptr);
}

TEST(local_queue, pop_returns_pushed_tasks_in_fifo_order) {
    fake_tasks tasks(200);
    local_queue q;
    inject_queue inject;
    for (std::size_t i = 0; i < 200; ++i) q.push_back(tasks[i], inject);
    EXPECT_EQ(q.size(), 200u);
    EXPECT_TRUE(inject.empty());
    EXPECT_EQ(drain(q, tasks), iota(0, 200));
    EXPECT_TRUE(q.empty());
    EXPECT_EQ(q.pop(), nullptr);
}

TEST(local_queue, fifo_order_holds_across_many_wraparounds_of_the_ring) {
    fake_tasks tasks(local_queue::kCapacity);
    local_queue q;
    inject_queue inject;
    std::size_t next_push = 0;
    std::size_t next_pop = 0;
    // 1000 rounds of "push 5, pop 3" with a drain every 100 rounds: indices wrap the ring
    // (and its 32-bit counters advance) many times.
    for (int round = 0; round < 1000; ++round) {
        for (int k = 0; k < 5; ++k) q.push_back(tasks[next_push++ % tasks.count], inject);
        for (int k = 0; k < 3; ++k) {
            task_header* t = q.pop();
            ASSERT_NE(t, nullptr);
            ASSERT_EQ(tasks.index_of(t), next_pop++ % tasks.count);
        }
        if (round % 100 == 99) {
            while (task_header* t = q.pop()) ASSERT_EQ(tasks.index_of(t), next_pop++ % tasks.count);
        }
        ASSERT_EQ(q.size(), next_push - next_pop);
    }
    EXPECT_TRUE(inject.empty()) << "never more than 256 queued: no overflow expected";
}

TEST(local_queue, holds_exactly_capacity_tasks_without_overflowing) {
    fake_tasks tasks(local_queue::kCapacity);
    local_queue q;
    inject_queue inject;
    for (std::size_t i = 0; i < local_queue::kCapacity; ++i) q.push_back(tasks[i], inject);
    EXPECT_EQ(q.size(), local_queue::kCapacity);
    EXPECT_TRUE(inject.empty());
    EXPECT_EQ(drain(q, tasks), iota(0, local_queue::kCapacity));
}

TEST(local_queue, push_into_a_full_queue_moves_half_plus_the_new_task_to_the_inject_queue) {
    constexpr std::size_t cap = local_queue::kCapacity;
    fake_tasks tasks(cap + 1);
    local_queue q;
    inject_queue inject;
    for (std::size_t i = 0; i <= cap; ++i) q.push_back(tasks[i], inject);
    EXPECT_EQ(q.size(), cap / 2);
    EXPECT_EQ(inject.size(), cap / 2 + 1);
    // The oldest half went to the shared queue, followed by the new task; the newer half
    // stays local, in order.
    std::vector<std::size_t> shared = drain(inject, tasks);
    std::vector<std::size_t> expected_shared = iota(0, cap / 2);
    expected_shared.push_back(cap);
    EXPECT_EQ(shared, expected_shared);
    EXPECT_EQ(drain(q, tasks), iota(cap / 2, cap));
    EXPECT_TRUE(inject.empty());
}

TEST(local_queue, repeated_overflows_lose_and_duplicate_no_task) {
    constexpr std::size_t n = 10'000;
    fake_tasks tasks(n);
    local_queue q;
    inject_queue inject;
    std::vector<int> seen(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        q.push_back(tasks[i], inject);
        if (i % 7 == 0)  // some pops in between, so overflows happen at unaligned positions
            if (task_header* p = q.pop()) ++seen[tasks.index_of(p)];
    }
    EXPECT_LE(q.size(), local_queue::kCapacity);
    EXPECT_GT(inject.size(), 0u);
    EXPECT_EQ(q.size() + inject.size() + std::size_t(std::count(seen.begin(), seen.end(), 1)), n);
    for (std::size_t i : drain(q, tasks)) ++seen[i];
    for (std::size_t i : drain(inject, tasks)) ++seen[i];
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(seen[i], 1) << "task " << i;
}

TEST(local_queue, steal_into_moves_the_older_half_and_returns_one_of_them) {
    fake_tasks tasks(100);
    local_queue victim;
    local_queue thief;
    inject_queue inject;
    for (std::size_t i = 0; i < 100; ++i) victim.push_back(tasks[i], inject);
    task_header* got = victim.steal_into(thief);
    ASSERT_NE(got, nullptr);
    // 50 taken: one returned, 49 queued in the thief's queue.
    EXPECT_EQ(victim.size(), 50u);
    EXPECT_EQ(thief.size(), 49u);
    EXPECT_EQ(tasks.index_of(got), 49u);
    EXPECT_EQ(drain(thief, tasks), iota(0, 49));
    EXPECT_EQ(drain(victim, tasks), iota(50, 100));
}

TEST(local_queue, steal_into_takes_ceil_half_capped_at_half_the_capacity) {
    struct expectation {
        std::size_t queued;
        std::size_t stolen;
    };
    for (auto [queued, stolen] :
         {expectation{1, 1}, expectation{2, 1}, expectation{3, 2}, expectation{7, 4},
          expectation{255, 128}, expectation{256, 128}}) {
        SCOPED_TRACE(::testing::Message() << queued << " queued");
        fake_tasks tasks(queued);
        local_queue victim;
        local_queue thief;
        inject_queue inject;
        for (std::size_t i = 0; i < queued; ++i) victim.push_back(tasks[i], inject);
        task_header* got = victim.steal_into(thief);
        ASSERT_NE(got, nullptr);
        EXPECT_EQ(thief.size() + 1, stolen);
        EXPECT_EQ(victim.size(), queued - stolen);
        std::multiset<std::size_t> all;
        all.insert(tasks.index_of(got));
        for (std::size_t i : drain(thief, tasks)) all.insert(i);
        for (std::size_t i : drain(victim, tasks)) all.insert(i);
        std::multiset<std::size_t> expected;
        for (std::size_t i = 0; i < queued; ++i) expected.insert(i);
        EXPECT_EQ(all, expected);
    }
}

TEST(local_queue, steal_from_an_empty_queue_returns_null_and_moves_nothing) {
    local_queue victim;
    local_queue thief;
    EXPECT_EQ(victim.steal_into(thief), nullptr);
    EXPECT_TRUE(thief.empty());
}

TEST(local_queue, owner_can_keep_pushing_after_a_steal_up_to_full_capacity) {
    // After a steal, the freed slots are reusable: the owner fits kCapacity again.
    constexpr std::size_t cap = local_queue::kCapacity;
    fake_tasks tasks(2 * cap);
    local_queue victim;
    local_queue thief;
    inject_queue inject;
    for (std::size_t i = 0; i < cap; ++i) victim.push_back(tasks[i], inject);
    ASSERT_NE(victim.steal_into(thief), nullptr);
    for (std::size_t i = cap; i < cap + cap / 2; ++i) victim.push_back(tasks[i], inject);
    EXPECT_EQ(victim.size(), cap);
    EXPECT_TRUE(inject.empty());
    EXPECT_EQ(drain(victim, tasks), iota(cap / 2, cap + cap / 2));
    drain(thief, tasks);
}

// One owner pushing and popping (overflowing into the inject queue), thieves stealing into
// their own queues and draining them: every task is taken exactly once.
void stress(unsigned thieves, std::size_t n) {
    corio::testing::watchdog wd(std::chrono::seconds(120), "local_queue stress");
    fake_tasks tasks(n);
    std::unique_ptr<std::atomic<std::uint8_t>[]> taken(new std::atomic<std::uint8_t>[n]);
    for (std::size_t i = 0; i < n; ++i) taken[i].store(0, std::memory_order_relaxed);
    local_queue owner_queue;
    inject_queue inject;
    std::atomic<bool> done{false};
    std::atomic<std::size_t> stolen_total{0};

    auto take = [&](task_header* t) {
        std::size_t i = tasks.index_of(t);
        ASSERT_LT(i, n);
        taken[i].fetch_add(1, std::memory_order_relaxed);
    };

    std::vector<std::thread> threads;
    for (unsigned k = 0; k < thieves; ++k) {
        threads.emplace_back([&] {
            local_queue mine;
            std::size_t stolen = 0;
            for (;;) {
                bool finished = done.load(std::memory_order_acquire);
                task_header* t = owner_queue.steal_into(mine);
                if (t) {
                    take(t);
                    ++stolen;
                    while (task_header* u = mine.pop()) {
                        take(u);
                        ++stolen;
                    }
                } else if (finished) {
                    break;
                } else {
                    std::this_thread::yield();
                }
            }
            stolen_total.fetch_add(stolen, std::memory_order_relaxed);
        });
    }

    std::size_t owner_taken = 0;
    std::size_t from_inject = 0;  // overflowed into the inject queue
    std::size_t rounds = 0;
    std::mt19937 rng(12345);
    std::size_t next = 0;
    while (next < n) {
        // Mostly small bursts (the thieves find something to steal), sometimes one past the
        // capacity (overflow into the inject queue, possibly while a thief is copying).
        std::size_t burst = rng() % 16 == 0 ? 1 + rng() % 300 : 1 + rng() % 64;
        for (std::size_t k = 0; k < burst && next < n; ++k)
            owner_queue.push_back(tasks[next++], inject);
        if (++rounds % 64 == 0) std::this_thread::yield();  // 2 cores: let the thieves in
        std::size_t pops = rng() % 72;
        for (std::size_t k = 0; k < pops; ++k) {
            task_header* t = owner_queue.pop();
            if (!t) break;
            take(t);
            ++owner_taken;
        }
        if (rng() % 8 == 0) {
            while (task_header* t = inject.pop()) {
                take(t);
                ++owner_taken;
                ++from_inject;
            }
        }
    }
    while (task_header* t = owner_queue.pop()) {
        take(t);
        ++owner_taken;
    }
    // The owner's queue is empty now (anything left was claimed by a thief, which drains
    // its own queue before looking at `done` again).
    done.store(true, std::memory_order_release);
    for (auto& th : threads) th.join();
    while (task_header* t = inject.pop()) {
        take(t);
        ++owner_taken;
        ++from_inject;
    }

    std::size_t missing = 0;
    std::size_t duplicated = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint8_t c = taken[i].load(std::memory_order_relaxed);
        if (c == 0) ++missing;
        if (c > 1) ++duplicated;
    }
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(duplicated, 0u);
    std::printf("owner took %zu (%zu via the inject queue), thieves stole %zu\n", owner_taken,
                from_inject, stolen_total.load());
    EXPECT_EQ(owner_taken + stolen_total.load(), n);
    EXPECT_TRUE(owner_queue.empty());
    if (thieves > 0) {
        EXPECT_GT(stolen_total.load(), 0u) << "the thieves never stole anything";
    }
}

constexpr std::size_t kStressItems = 2'000'000;

TEST(local_queue, one_thief_stealing_concurrently_takes_every_task_exactly_once) {
    stress(1, kStressItems);
}

TEST(local_queue, two_thieves_stealing_concurrently_take_every_task_exactly_once) {
    stress(2, kStressItems);
}

}  // namespace
