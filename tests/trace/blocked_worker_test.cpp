// The blocked-worker watchdog: a task that holds its worker in one poll for longer than
// runtime_options::blocked_worker_threshold is reported once per stuck poll, with its id,
// name, spawn site, last await and the worker's index; tasks that await or use
// spawn_blocking are not; threshold 0 turns it off; the default report is one stderr line.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
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

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// Reports delivered to on_blocked_worker (from the diagnostics thread).
struct report_log {
    std::mutex m;
    std::vector<corio::blocked_worker_report> reports;
    std::function<void(const corio::blocked_worker_report&)> callback() {
        return [this](const corio::blocked_worker_report& r) {
            std::lock_guard g(m);
            reports.push_back(r);
        };
    }
    std::vector<corio::blocked_worker_report> get() {
        std::lock_guard g(m);
        return reports;
    }
    // Waits (bounded) until at least `n` reports arrived.
    bool wait_for(std::size_t n, std::chrono::milliseconds limit = 5s) {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            if (get().size() >= n) return true;
            std::this_thread::sleep_for(5ms);
        }
        return get().size() >= n;
    }
};

corio::runtime_options watched(report_log& log, unsigned workers = 2) {
    corio::runtime_options o;
    o.workers = workers;
    o.blocked_worker_threshold = 100ms;
    o.on_blocked_worker = log.callback();
    return o;
}

// The index in this worker thread's name ("corio-worker-1" -> 1), or -1.
int worker_index() {
    char buf[32] = {};
    pthread_getname_np(pthread_self(), buf, sizeof buf);
    std::string name = buf;
    auto dash = name.rfind('-');
    if (!name.starts_with("corio-worker-") || dash == std::string::npos) return -1;
    return std::stoi(name.substr(dash + 1));
}

struct stuck_facts {
    std::atomic<int> worker{-1};
    std::atomic<unsigned> resumed_line{0};
};

// Blocks its worker for 300 ms in one poll, after resuming from a yield at a known line.
corio::task<> blocks_the_worker(stuck_facts* facts) {
    facts->resumed_line.store(__LINE__); co_await corio::yield_now();
    facts->worker.store(worker_index());
    std::this_thread::sleep_for(300ms);  // the mistake under test: blocking inside a task
}

// Two stuck polls separated by an await.
corio::task<> blocks_twice() {
    std::this_thread::sleep_for(300ms);
    co_await corio::yield_now();
    std::this_thread::sleep_for(300ms);
}

corio::task<> sleeps_properly() { co_await corio::sleep(300ms); }

corio::task<> offloads_to_spawn_blocking() {
    co_await corio::spawn_blocking([] { std::this_thread::sleep_for(300ms); });
}

template <class T>
corio::task<> join(corio::join_handle<T> h) {
    co_await h;
}

TEST(blocked_worker, a_task_sleeping_in_a_poll_is_reported_with_its_id_name_spawn_site_and_worker) {
    watchdog wd(60s);
    report_log log;
    stuck_facts facts;
    std::uint64_t id = 0;
    unsigned spawn_line = 0;
    {
        corio::runtime rt{watched(log)};
        spawn_line = __LINE__; auto h = rt.spawn(blocks_the_worker(&facts), {.name = "sleepy-handler"});
        id = h.id();
        rt.block_on(join(std::move(h)));
        log.wait_for(1);
    }
    auto reports = log.get();
    ASSERT_EQ(reports.size(), 1u) << "exactly one report for one stuck poll";
    const auto& r = reports[0];
    EXPECT_EQ(r.task_id, id);
    EXPECT_EQ(r.task_name, "sleepy-handler");
    EXPECT_EQ(r.spawned_at.file, kThisFile);
    EXPECT_EQ(r.spawned_at.line, spawn_line);
    EXPECT_EQ(int(r.worker), facts.worker.load()) << "the worker whose thread ran the task";
    EXPECT_GE(r.stuck_for, 100ms);
    EXPECT_LT(r.stuck_for, 300ms) << "reported while stuck, not after";
    EXPECT_EQ(r.last_await.file, kThisFile);
    EXPECT_EQ(r.last_await.line, facts.resumed_line.load());
    // The text form.
    std::string text = r.to_string();
    EXPECT_TRUE(text.starts_with("corio: worker " + std::to_string(r.worker) + " is blocked: task " +
                                 std::to_string(id) + " \"sleepy-handler\" has not returned to the scheduler for "))
        << text;
    EXPECT_TRUE(contains(text, "spawned at " + kThisFile + ":" + std::to_string(spawn_line))) << text;
    EXPECT_TRUE(contains(text, "use spawn_blocking")) << text;
}

TEST(blocked_worker, a_stuck_poll_on_a_current_thread_runtime_is_reported_for_worker_0) {
    watchdog wd(60s);
    report_log log;
    stuck_facts facts;
    std::uint64_t id = 0;
    {
        auto rt = corio::runtime::current_thread(watched(log, 1));
        rt.block_on([](stuck_facts* f, std::uint64_t* out) -> corio::task<> {
            auto h = corio::spawn(blocks_the_worker(f), {.name = "ct-sleeper"});
            *out = h.id();
            co_await h;
        }(&facts, &id));
        log.wait_for(1);
    }
    auto reports = log.get();
    ASSERT_EQ(reports.size(), 1u);
    EXPECT_EQ(reports[0].worker, 0u);
    EXPECT_EQ(reports[0].task_id, id);
    EXPECT_EQ(reports[0].task_name, "ct-sleeper");
}

TEST(blocked_worker, each_stuck_poll_is_reported_exactly_once) {
    watchdog wd(60s);
    report_log log;
    std::uint64_t id = 0;
    {
        corio::runtime rt{watched(log)};
        auto h = rt.spawn(blocks_twice(), {.name = "twice"});
        id = h.id();
        rt.block_on(join(std::move(h)));
        log.wait_for(2);
        std::this_thread::sleep_for(200ms);  // time for a duplicate to show up, if there were one
    }
    auto reports = log.get();
    ASSERT_EQ(reports.size(), 2u) << "two stuck polls, two reports";
    for (const auto& r : reports) {
        EXPECT_EQ(r.task_id, id);
        EXPECT_EQ(r.task_name, "twice");
    }
}

TEST(blocked_worker, a_task_that_awaits_a_sleep_is_not_reported) {
    watchdog wd(60s);
    report_log log;
    {
        corio::runtime rt{watched(log)};
        rt.block_on(join(rt.spawn(sleeps_properly(), {.name = "good"})));
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(log.get().empty()) << log.get()[0].to_string();
}

TEST(blocked_worker, a_task_that_uses_spawn_blocking_is_not_reported) {
    watchdog wd(60s);
    report_log log;
    {
        corio::runtime rt{watched(log)};
        rt.block_on(join(rt.spawn(offloads_to_spawn_blocking(), {.name = "good"})));
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(log.get().empty()) << log.get()[0].to_string();
}

TEST(blocked_worker, threshold_zero_turns_the_watchdog_off) {
    watchdog wd(60s);
    report_log log;
    stuck_facts facts;
    {
        corio::runtime_options o = watched(log);
        o.blocked_worker_threshold = 0ms;
        corio::runtime rt{o};
        rt.block_on(join(rt.spawn(blocks_the_worker(&facts), {.name = "unwatched"})));
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(log.get().empty()) << log.get()[0].to_string();
}

// Everything written to stderr so far while it is captured (gtest redirects fd 2 to a file).
std::string captured_so_far() {
    int fd = ::open("/proc/self/fd/2", O_RDONLY);
    if (fd < 0) return {};
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, std::size_t(n));
    ::close(fd);
    return out;
}

TEST(blocked_worker, the_default_report_is_one_line_on_stderr) {
    watchdog wd(60s);
    stuck_facts facts;
    std::uint64_t id = 0;
    ::testing::internal::CaptureStderr();
    {
        corio::runtime_options o;
        o.workers = 2;
        o.blocked_worker_threshold = 100ms;
        corio::runtime rt{o};
        auto h = rt.spawn(blocks_the_worker(&facts), {.name = "default-report"});
        id = h.id();
        rt.block_on(join(std::move(h)));
        for (int i = 0; i < 500 && !contains(captured_so_far(), "\n"); ++i) std::this_thread::sleep_for(10ms);
    }
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(err.starts_with("corio: worker " + std::to_string(facts.worker.load()) + " is blocked: task " +
                                std::to_string(id) + " \"default-report\" has not returned"))
        << err;
    EXPECT_TRUE(err.ends_with("\n")) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
}

}  // namespace
