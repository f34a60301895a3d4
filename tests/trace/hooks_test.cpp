// Task hooks (runtime_options::hooks): on_spawn with the task's id and spawn site,
// on_poll_begin / on_poll_end balanced around every poll on the polling thread, and
// on_complete exactly once per task — for spawned tasks, the block_on root, spawn_blocking
// jobs, tasks aborted before they ran and tasks cancelled by the runtime's shutdown.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include <corio/corio.hpp>

#include "test_support.hpp"

// These tests assert source lines (spawn and await sites): formatting must not move them.
// clang-format off

using namespace std::chrono_literals;
using corio::testing::watchdog;

namespace {

const std::string kThisFile = std::source_location::current().file_name();

enum class kind { spawn, begin, end, complete };

struct event {
    kind what;
    std::uint64_t id;
    std::thread::id thread;
    corio::code_location where;  // on_spawn only
};

// Every hook call, in order, from whichever thread made it.
struct recorder {
    std::mutex m;
    std::vector<event> events;

    void add(kind k, std::uint64_t id, corio::code_location where = {}) {
        std::lock_guard g(m);
        events.push_back({k, id, std::this_thread::get_id(), std::move(where)});
    }
    corio::task_hooks hooks() {
        corio::task_hooks h;
        h.on_spawn = [this](std::uint64_t id, const corio::code_location& at) { add(kind::spawn, id, at); };
        h.on_poll_begin = [this](std::uint64_t id) { add(kind::begin, id); };
        h.on_poll_end = [this](std::uint64_t id) { add(kind::end, id); };
        h.on_complete = [this](std::uint64_t id) { add(kind::complete, id); };
        return h;
    }
    std::vector<event> get() {
        std::lock_guard g(m);
        return events;
    }
    std::size_t count(kind k, std::uint64_t id) {
        std::size_t n = 0;
        for (const auto& e : get())
            if (e.what == k && e.id == id) ++n;
        return n;
    }
    // Waits (bounded) until every begun poll has ended: the last poll of a block_on root
    // may still be ending on a worker when block_on returns.
    bool settle(std::chrono::milliseconds limit = 10s) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        for (;;) {
            std::size_t begins = 0, ends = 0;
            for (const auto& e : get()) {
                begins += e.what == kind::begin;
                ends += e.what == kind::end;
            }
            if (begins == ends) return true;
            if (std::chrono::steady_clock::now() > deadline) return false;
            std::this_thread::sleep_for(1ms);
        }
    }
};

// Checks the protocol over the whole log: on each thread, polls do not nest (begin(x) is
// followed by end(x) before the next begin); on_complete comes inside a poll of the same
// task on the same thread (or, for a task that never ran, inside its only poll); every
// task is spawned once before any poll and completes exactly once.
void expect_well_formed(const std::vector<event>& log, const std::set<std::uint64_t>& ids) {
    std::map<std::thread::id, std::uint64_t> polling;  // thread -> task in a poll (0: none)
    std::set<std::uint64_t> spawned;
    std::map<std::uint64_t, int> completes, polls;
    for (const auto& e : log) {
        switch (e.what) {
            case kind::spawn:
                EXPECT_TRUE(spawned.insert(e.id).second) << "task " << e.id << " spawned twice";
                break;
            case kind::begin:
                EXPECT_TRUE(spawned.count(e.id)) << "task " << e.id << " polled before on_spawn";
                EXPECT_EQ(polling[e.thread], 0u) << "poll of " << e.id << " begins inside a poll of " << polling[e.thread];
                polling[e.thread] = e.id;
                ++polls[e.id];
                break;
            case kind::end:
                EXPECT_EQ(polling[e.thread], e.id) << "on_poll_end(" << e.id << ") without its on_poll_begin";
                polling[e.thread] = 0;
                break;
            case kind::complete:
                EXPECT_EQ(polling[e.thread], e.id) << "task " << e.id << " completed outside its own poll";
                ++completes[e.id];
                break;
        }
    }
    for (auto& [thread, id] : polling) EXPECT_EQ(id, 0u) << "a poll of " << id << " never ended";
    EXPECT_EQ(spawned, ids) << "on_spawn saw exactly the tasks spawned";
    for (std::uint64_t id : ids) {
        EXPECT_EQ(completes[id], 1) << "task " << id << " completed " << completes[id] << " times";
        EXPECT_GE(polls[id], 1) << "task " << id << " never polled";
    }
}

corio::task<int> yields_twice(int v) {
    co_await corio::yield_now();
    co_await corio::yield_now();
    co_return v;
}

struct spawned_ids {
    std::vector<std::uint64_t> tasks;
    std::vector<unsigned> lines;
    std::uint64_t job = 0;
    unsigned job_line = 0;
};

corio::task<int> spawns_three_and_a_job(spawned_ids* out) {
    std::vector<corio::join_handle<int>> hs;
    for (int i = 0; i < 3; ++i) {
        out->lines.push_back(__LINE__); hs.push_back(corio::spawn(yields_twice(i), {.name = "worker"}));
        out->tasks.push_back(hs.back().id());
    }
    out->job_line = __LINE__; auto job = corio::spawn_blocking([] { return 10; });
    out->job = job.id();
    int sum = co_await job;
    for (auto& h : hs) sum += co_await h;
    co_return sum;
}

TEST(hooks, each_task_is_spawned_polled_in_balanced_pairs_and_completed_once_multi_thread) {
    watchdog wd(60s);
    recorder rec;
    spawned_ids ids;
    corio::runtime_options o;
    o.workers = 2;
    o.hooks = rec.hooks();
    corio::runtime rt{o};
    const unsigned block_on_line = __LINE__; int sum = rt.block_on(spawns_three_and_a_job(&ids));
    EXPECT_EQ(sum, 13);
    ASSERT_TRUE(rec.settle());
    auto log = rec.get();
    ASSERT_FALSE(log.empty());
    // The first spawn is the block_on root, at the block_on call.
    ASSERT_EQ(log.front().what, kind::spawn);
    const std::uint64_t root = log.front().id;
    EXPECT_EQ(log.front().where.file, kThisFile);
    EXPECT_EQ(log.front().where.line, block_on_line);
    std::set<std::uint64_t> all{root, ids.job};
    all.insert(ids.tasks.begin(), ids.tasks.end());
    ASSERT_EQ(all.size(), 5u);
    expect_well_formed(log, all);
    for (const auto& e : log) {
        if (e.what != kind::spawn) continue;
        for (std::size_t i = 0; i < ids.tasks.size(); ++i)
            if (e.id == ids.tasks[i]) {
                EXPECT_EQ(e.where.file, kThisFile);
                EXPECT_EQ(e.where.line, ids.lines[i]) << "spawn site of task " << e.id;
                EXPECT_TRUE(e.where.function.find("spawns_three_and_a_job") != std::string::npos) << e.where.function;
            }
        if (e.id == ids.job) {
            EXPECT_EQ(e.where.file, kThisFile);
            EXPECT_EQ(e.where.line, ids.job_line) << "spawn site of the blocking job";
        }
    }
    for (std::uint64_t id : ids.tasks) EXPECT_GE(rec.count(kind::begin, id), 3u) << "two yields: three polls";
}

TEST(hooks, each_task_is_spawned_polled_in_balanced_pairs_and_completed_once_current_thread) {
    watchdog wd(60s);
    recorder rec;
    spawned_ids ids;
    corio::runtime_options o;
    o.hooks = rec.hooks();
    auto rt = corio::runtime::current_thread(o);
    const unsigned block_on_line = __LINE__; int sum = rt.block_on(spawns_three_and_a_job(&ids));
    EXPECT_EQ(sum, 13);
    ASSERT_TRUE(rec.settle());
    auto log = rec.get();
    ASSERT_FALSE(log.empty());
    ASSERT_EQ(log.front().what, kind::spawn);
    EXPECT_EQ(log.front().where.line, block_on_line);
    std::set<std::uint64_t> all{log.front().id, ids.job};
    all.insert(ids.tasks.begin(), ids.tasks.end());
    expect_well_formed(log, all);
    // Everything but the blocking job is polled on this very thread.
    for (const auto& e : log) {
        if (e.what == kind::begin && e.id != ids.job) {
            EXPECT_EQ(e.thread, std::this_thread::get_id()) << e.id;
        }
    }
}

corio::task<> parks_forever() { co_await corio::sleep(1h); }

TEST(hooks, a_task_aborted_before_it_ran_completes_exactly_once) {
    watchdog wd(60s);
    recorder rec;
    corio::runtime_options o;
    o.hooks = rec.hooks();
    auto rt = corio::runtime::current_thread(o);  // nothing runs until block_on
    auto h = rt.spawn(parks_forever());
    const std::uint64_t id = h.id();
    h.abort();
    bool cancelled = false;
    try {
        rt.block_on([](corio::join_handle<void> j) -> corio::task<> { co_await j; }(std::move(h)));
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    ASSERT_TRUE(rec.settle());
    EXPECT_EQ(rec.count(kind::spawn, id), 1u);
    EXPECT_EQ(rec.count(kind::complete, id), 1u);
    EXPECT_EQ(rec.count(kind::begin, id), 1u) << "one poll: it completes without entering its body";
    EXPECT_EQ(rec.count(kind::end, id), 1u);
}

TEST(hooks, tasks_cancelled_by_the_runtimes_shutdown_complete_exactly_once) {
    watchdog wd(60s);
    recorder rec;
    std::set<std::uint64_t> ids;
    {
        corio::runtime_options o;
        o.workers = 2;
        o.report_leaked_tasks = false;
        o.hooks = rec.hooks();
        corio::runtime rt{o};
        for (int i = 0; i < 4; ++i) ids.insert(rt.spawn(parks_forever()).id());
        // Wait until all four are parked (polled once each).
        auto deadline = std::chrono::steady_clock::now() + 10s;
        auto parked = [&] {
            for (std::uint64_t id : ids)
                if (rec.count(kind::end, id) < 1) return false;
            return true;
        };
        while (!parked() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
        ASSERT_TRUE(parked());
        for (std::uint64_t id : ids) EXPECT_EQ(rec.count(kind::complete, id), 0u) << "parked, not complete";
    }
    expect_well_formed(rec.get(), ids);
}

TEST(hooks, on_spawn_alone_reports_every_spawned_id) {
    watchdog wd(60s);
    std::mutex m;
    std::vector<std::uint64_t> seen;
    corio::runtime_options o;
    o.workers = 2;
    o.hooks.on_spawn = [&](std::uint64_t id, const corio::code_location&) {
        std::lock_guard g(m);
        seen.push_back(id);
    };
    corio::runtime rt{o};
    std::vector<std::uint64_t> expected;
    for (int i = 0; i < 5; ++i) {
        auto h = rt.spawn(yields_twice(i));
        expected.push_back(h.id());
    }
    std::lock_guard g(m);
    EXPECT_EQ(seen, expected);
}

}  // namespace
