// Task dumps: what runtime::tasks(), dump() and dump_json() say about a task parked in each
// kind of corio await (status, description, await site, spawn site, name, async backtrace),
// about running and finished tasks, dumps taken while tasks run, the leak report written when
// a runtime is destroyed with live tasks, and the dump printed on runtime_options::dump_signal.
//
// Pattern: tasks are spawned from the test's thread onto a 2-worker runtime; the test polls
// rt.tasks() (bounded) until the task of interest is parked, then reads what it says. Each
// parking coroutine publishes the line of its co_await (mark(__LINE__) on the same line), and
// each spawn records its own line, so the expected await and spawn sites come from __LINE__.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <latch>
#include <optional>
#include <regex>
#include <source_location>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <corio/corio.hpp>

#include "test_support.hpp"

// These tests assert source lines (spawn and await sites): formatting must not move them.
// clang-format off

using namespace std::chrono_literals;
using corio::task_info;
using corio::task_status;
using corio::testing::watchdog;

namespace {

const std::string kThisFile = std::source_location::current().file_name();

// ---------------------------------------------------------------- helpers

// The line of the co_await the task of interest parks at (set just before it awaits).
std::atomic<unsigned> g_await_line{0};
void mark(unsigned line) { g_await_line.store(line); }

corio::runtime_options quiet(unsigned workers = 2) {
    corio::runtime_options o;
    o.workers = workers;
    o.report_leaked_tasks = false;  // tests leave parked tasks to the runtime's shutdown
    return o;
}

std::optional<task_info> find_task(const std::vector<task_info>& tasks, std::uint64_t id) {
    for (const task_info& t : tasks)
        if (t.id == id) return t;
    return std::nullopt;
}

// Polls rt.tasks() from this thread until task `id` has `status` (at most `limit`).
std::optional<task_info> await_status(const corio::runtime& rt, std::uint64_t id, task_status status,
                                      std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    do {
        auto t = find_task(rt.tasks(), id);
        if (t && t->status == status) return t;
        std::this_thread::sleep_for(1ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
}

// Like await_status(waiting), for a task that calls mark() just before its last co_await:
// waits until it has marked and then parked, so it is parked at that await (and not at an
// earlier one, e.g. while binding a socket). Call reset_mark() before spawning it.
void reset_mark() { g_await_line.store(0); }
std::optional<task_info> await_marked(const corio::runtime& rt, std::uint64_t id, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    do {
        bool marked = g_await_line.load() != 0;  // read first: a later snapshot is past mark()
        auto t = find_task(rt.tasks(), id);
        if (marked && t && t->status == task_status::waiting) return t;
        std::this_thread::sleep_for(1ms);
    } while (std::chrono::steady_clock::now() < deadline);
    return std::nullopt;
}

std::string loc(const std::string& file, unsigned line) { return file + ":" + std::to_string(line); }

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

bool matches(const std::string& s, const std::string& re) { return std::regex_match(s, std::regex(re)); }

// What every parked task's entry says: waiting, its name, spawned at `spawn_line` of this
// file, parked at `await_line` of this file in `function`; and the text dump agrees.
void expect_parked_here(const corio::runtime& rt, const task_info& t, const std::string& name,
                        unsigned spawn_line, unsigned await_line, const std::string& function) {
    SCOPED_TRACE("task " + std::to_string(t.id) + " \"" + t.name + "\"");
    EXPECT_EQ(t.status, task_status::waiting);
    EXPECT_EQ(t.name, name);
    EXPECT_FALSE(t.blocking_job);
    EXPECT_EQ(t.spawned_at.file, kThisFile);
    EXPECT_EQ(t.spawned_at.line, spawn_line);
    ASSERT_FALSE(t.backtrace.empty());
    EXPECT_EQ(t.backtrace.back().file, kThisFile);
    EXPECT_EQ(t.backtrace.back().line, await_line);
    EXPECT_TRUE(contains(t.backtrace.back().function, function)) << t.backtrace.back().function;
    // The text dump has the same facts.
    std::string dump = rt.dump();
    std::string header = "task " + std::to_string(t.id) + " \"" + name + "\" [waiting] spawned at " +
                         loc(kThisFile, spawn_line);
    EXPECT_TRUE(contains(dump, header)) << "expected: " << header << "\n" << dump;
    EXPECT_TRUE(contains(dump, "    at " + loc(kThisFile, await_line) + " in ")) << dump;
    // (sleep descriptions change by the millisecond: compare what comes before the number)
    std::string stable = t.waiting_on.substr(0, t.waiting_on.find('+'));
    EXPECT_TRUE(contains(dump, "    waiting on: " + stable)) << stable << "\n" << dump;
}

// A task that keeps `handle` (a channel end, ...) in its frame, becoming its holder, until
// it is cancelled.
template <class H>
corio::task<> holds(H handle) {
    auto mine = std::move(handle);
    co_await corio::sleep(1h);
}

template <class M>
corio::task<> holds_lock(M& m) {
    auto guard = co_await m.lock();
    co_await corio::sleep(1h);
}

template <class L>
corio::task<> holds_write_lock(L& l) {
    auto guard = co_await l.write();
    co_await corio::sleep(1h);
}

template <class L>
corio::task<> holds_read_lock(L& l) {
    auto guard = co_await l.read();
    co_await corio::sleep(1h);
}

corio::task<> parks_forever() { co_await corio::sleep(1h); }

// Counts a latch down when the test leaves its scope, even on a failed ASSERT: a blocking
// job waiting on it must end before the runtime's shutdown waits for it.
struct open_on_exit {
    std::latch& gate;
    ~open_on_exit() { gate.count_down(); }
};

// ---------------------------------------------------------------- the parking tasks

corio::task<> sleeps_for_an_hour() {
    mark(__LINE__); co_await corio::sleep(1h);
}

corio::task<> receives(corio::mpsc::receiver<int> rx) {
    mark(__LINE__); auto v = co_await rx.recv();
    (void)v;
}

corio::task<> sends_to_a_full_channel(corio::mpsc::sender<int> tx) {
    (void)tx.try_send(1);  // fills the channel (capacity 1)
    mark(__LINE__); co_await tx.send(2);
}

corio::task<> receives_oneshot(corio::oneshot::receiver<int> rx) {
    mark(__LINE__); auto v = co_await rx.recv();
    (void)v;
}

corio::task<> receives_broadcast(corio::broadcast::receiver<int> rx) {
    mark(__LINE__); auto v = co_await rx.recv();
    (void)v;
}

corio::task<> waits_for_a_change(corio::watch::receiver<int> rx) {
    mark(__LINE__); bool changed = co_await rx.changed();
    (void)changed;
}

corio::task<> acquires_two(corio::semaphore& sem) {
    mark(__LINE__); auto permit = co_await sem.acquire(2);
}

corio::task<> locks(corio::mutex<int>& m) {
    mark(__LINE__); auto guard = co_await m.lock();
}

corio::task<> reads(corio::rw_lock<int>& l) {
    mark(__LINE__); auto guard = co_await l.read();
}

corio::task<> writes(corio::rw_lock<int>& l) {
    mark(__LINE__); auto guard = co_await l.write();
}

corio::task<> waits_for_notify(corio::notify& n) {
    mark(__LINE__); co_await n.notified();
}

corio::task<> arrives(corio::barrier& b) {
    mark(__LINE__); co_await b.arrive_and_wait();
}

corio::task<> waits_for_group(corio::wait_group& wg) {
    mark(__LINE__); co_await wg.wait();
}

corio::task<> joins(corio::join_handle<void> h) {
    mark(__LINE__); co_await h;
}

corio::task<> joins_a_blocking_job(std::latch* gate, std::atomic<std::uint64_t>* job_id) {
    auto job = corio::spawn_blocking([gate] { gate->wait(); });
    job_id->store(job.id());
    mark(__LINE__); co_await job;
}

corio::task<> accepts(std::atomic<int>* fd) {
    auto listener = co_await corio::net::tcp_listener::bind("127.0.0.1:0");
    fd->store(listener.native_handle());
    mark(__LINE__); auto conn = co_await listener.accept();
}

corio::task<> reads_a_quiet_socket(std::atomic<int>* fd) {
    auto listener = co_await corio::net::tcp_listener::bind("127.0.0.1:0");
    auto client = co_await corio::net::tcp_stream::connect(listener.local_address());
    auto server = co_await listener.accept();
    fd->store(client.native_handle());
    char buf[16];
    mark(__LINE__); std::size_t n = co_await client.read(std::span<char>(buf));
    (void)n;
}

corio::task<> selects(corio::mpsc::receiver<int> rx) {
    mark(__LINE__); auto r = co_await corio::select(rx.recv(), corio::sleep(1h));
    (void)r;
}

corio::task<> waits_for_cancellation(corio::cancellation_token token) {
    mark(__LINE__); co_await token.cancelled();
}

corio::task<> joins_next_of_a_set(std::atomic<std::uint64_t>* member) {
    corio::join_set<void> set;
    member->store(set.spawn(parks_forever()));
    mark(__LINE__); auto r = co_await set.join_next();
    (void)r;
}

// ---------------------------------------------------------------- one test per await kind

TEST(dump, a_task_in_sleep_waits_on_a_timer_at_its_await_site) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(sleeps_for_an_hour(), {.name = "sleeper"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "sleeper", spawn_line, g_await_line.load(), "sleeps_for_an_hour");
    std::smatch m;
    ASSERT_TRUE(std::regex_match(t->waiting_on, m, std::regex(R"(sleep until \+(\d+) ms)"))) << t->waiting_on;
    long left = std::stol(m[1]);
    EXPECT_GT(left, 3'500'000) << "an hour minus the time taken so far";
    EXPECT_LE(left, 3'600'000);
    EXPECT_EQ(t->wait_kind, "timer");
    EXPECT_TRUE(t->wait_external) << "a timer ends the wait by itself";
    EXPECT_EQ(t->backtrace.size(), 1u);
}

TEST(dump, a_task_in_mpsc_recv_names_the_channel_and_the_task_holding_its_only_sender) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    auto [tx, rx] = corio::mpsc::channel<int>(4);
    auto holder = rt.spawn(holds(std::move(tx)), {.name = "holder"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(receives(std::move(rx)), {.name = "receiver"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "receiver", spawn_line, g_await_line.load(), "receives");
    EXPECT_TRUE(matches(t->waiting_on, R"(mpsc::recv \(channel 0x[0-9a-f]+, 0 queued, 1 sender, held by task )" +
                                           std::to_string(holder.id()) + R"(\))"))
        << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "channel");
    EXPECT_EQ(t->wait_holders, std::vector<std::uint64_t>{holder.id()});
    EXPECT_FALSE(t->wait_external) << "the only sender is in a task";
}

TEST(dump, a_task_in_mpsc_send_on_a_full_channel_names_the_task_holding_the_receiver) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    auto [tx, rx] = corio::mpsc::channel<int>(1);
    auto holder = rt.spawn(holds(std::move(rx)), {.name = "holder"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(sends_to_a_full_channel(std::move(tx)), {.name = "sender"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "sender", spawn_line, g_await_line.load(), "sends_to_a_full_channel");
    EXPECT_TRUE(matches(t->waiting_on, R"(mpsc::send \(channel 0x[0-9a-f]+, full: 1 queued, receiver held by task )" +
                                           std::to_string(holder.id()) + R"(\))"))
        << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "channel");
    EXPECT_EQ(t->wait_holders, std::vector<std::uint64_t>{holder.id()});
}

TEST(dump, a_task_in_oneshot_recv_names_the_task_holding_the_sender) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    auto [tx, rx] = corio::oneshot::channel<int>();
    auto holder = rt.spawn(holds(std::move(tx)), {.name = "holder"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(receives_oneshot(std::move(rx)), {.name = "oneshot-rx"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "oneshot-rx", spawn_line, g_await_line.load(), "receives_oneshot");
    EXPECT_TRUE(matches(t->waiting_on, R"(oneshot::recv \(channel 0x[0-9a-f]+, sender held by task )" +
                                           std::to_string(holder.id()) + R"(\))"))
        << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "channel");
    EXPECT_EQ(t->wait_holders, std::vector<std::uint64_t>{holder.id()});
}

TEST(dump, a_task_in_broadcast_recv_says_how_many_senders_the_channel_has) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    auto [tx, rx] = corio::broadcast::channel<int>(4);
    auto holder = rt.spawn(holds(std::move(tx)), {.name = "holder"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(receives_broadcast(std::move(rx)), {.name = "subscriber"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "subscriber", spawn_line, g_await_line.load(), "receives_broadcast");
    EXPECT_TRUE(matches(t->waiting_on, R"(broadcast::recv \(channel 0x[0-9a-f]+, 1 senders?\))")) << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "channel");
}

TEST(dump, a_task_in_watch_changed_says_which_version_it_has_seen) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    auto [tx, rx] = corio::watch::channel<int>(0);
    auto holder = rt.spawn(holds(std::move(tx)), {.name = "holder"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(waits_for_a_change(std::move(rx)), {.name = "watcher"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "watcher", spawn_line, g_await_line.load(), "waits_for_a_change");
    EXPECT_TRUE(matches(t->waiting_on, R"(watch::changed \(channel 0x[0-9a-f]+, version \d+ seen\))")) << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "channel");
}

TEST(dump, a_task_in_semaphore_acquire_says_how_many_permits_it_wants_and_are_left) {
    watchdog wd(60s);
    corio::semaphore sem(1);
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(acquires_two(sem), {.name = "acquirer"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "acquirer", spawn_line, g_await_line.load(), "acquires_two");
    EXPECT_TRUE(matches(t->waiting_on, R"(semaphore acquire 2 \(semaphore 0x[0-9a-f]+, 1 available, 1 waiting\))"))
        << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "semaphore");
}

TEST(dump, a_task_in_mutex_lock_names_the_task_holding_the_mutex) {
    watchdog wd(60s);
    corio::mutex<int> m(0);
    corio::runtime rt{quiet()};
    auto holder = rt.spawn(holds_lock(m), {.name = "holder"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(locks(m), {.name = "locker"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "locker", spawn_line, g_await_line.load(), "locks");
    EXPECT_TRUE(matches(t->waiting_on, R"(mutex lock \(mutex 0x[0-9a-f]+, held by task )" +
                                           std::to_string(holder.id()) + R"(, 1 waiting\))"))
        << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "lock");
    EXPECT_EQ(t->wait_holders, std::vector<std::uint64_t>{holder.id()});
}

TEST(dump, a_task_in_rw_lock_read_names_the_task_writing) {
    watchdog wd(60s);
    corio::rw_lock<int> l(0);
    corio::runtime rt{quiet()};
    auto holder = rt.spawn(holds_write_lock(l), {.name = "writer"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(reads(l), {.name = "reader"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "reader", spawn_line, g_await_line.load(), "reads");
    EXPECT_TRUE(matches(t->waiting_on, R"(rw_lock read \(rw_lock 0x[0-9a-f]+, written by task )" +
                                           std::to_string(holder.id()) + R"(\))"))
        << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "lock");
    EXPECT_EQ(t->wait_holders, std::vector<std::uint64_t>{holder.id()});
}

TEST(dump, a_task_in_rw_lock_write_says_how_many_readers_hold_it) {
    watchdog wd(60s);
    corio::rw_lock<int> l(0);
    corio::runtime rt{quiet()};
    auto holder = rt.spawn(holds_read_lock(l), {.name = "reading"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(writes(l), {.name = "writer"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "writer", spawn_line, g_await_line.load(), "writes");
    EXPECT_TRUE(matches(t->waiting_on, R"(rw_lock write \(rw_lock 0x[0-9a-f]+, 1 readers, 1 waiting\))"))
        << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "lock");
}

TEST(dump, a_task_in_notified_says_how_many_wait) {
    watchdog wd(60s);
    corio::notify n;
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(waits_for_notify(n), {.name = "notified"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "notified", spawn_line, g_await_line.load(), "waits_for_notify");
    EXPECT_TRUE(matches(t->waiting_on, R"(notify \(notify 0x[0-9a-f]+, 1 waiting\))")) << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "notify");
}

TEST(dump, a_task_in_a_barrier_says_how_many_of_the_parties_arrived) {
    watchdog wd(60s);
    corio::barrier b(3);
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(arrives(b), {.name = "party"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "party", spawn_line, g_await_line.load(), "arrives");
    EXPECT_TRUE(matches(t->waiting_on, R"(barrier \(barrier 0x[0-9a-f]+, 1 of 3 arrived\))")) << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "barrier");
}

TEST(dump, a_task_in_wait_group_wait_shows_the_count) {
    watchdog wd(60s);
    corio::wait_group wg;
    wg.add(2);
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(waits_for_group(wg), {.name = "group-waiter"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "group-waiter", spawn_line, g_await_line.load(), "waits_for_group");
    EXPECT_TRUE(matches(t->waiting_on, R"(wait_group \(wait_group 0x[0-9a-f]+, count 2\))")) << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "wait_group");
    wg.done();
    wg.done();  // (the group must be at zero when destroyed)
}

TEST(dump, a_task_joining_another_names_it) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    auto target = rt.spawn(parks_forever(), {.name = "target"});
    const std::uint64_t target_id = target.id();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(joins(std::move(target)), {.name = "joiner"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "joiner", spawn_line, g_await_line.load(), "joins");
    EXPECT_EQ(t->waiting_on, "join task " + std::to_string(target_id));
    EXPECT_EQ(t->wait_kind, "join");
    EXPECT_EQ(t->wait_holders, std::vector<std::uint64_t>{target_id});
}

TEST(dump, a_task_joining_a_spawn_blocking_job_names_the_job_which_is_listed_as_a_running_blocking_job) {
    watchdog wd(60s);
    std::latch gate(1);
    std::atomic<std::uint64_t> job_id{0};
    corio::runtime rt{quiet()};
    open_on_exit release{gate};  // before the runtime's shutdown waits for the job
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(joins_a_blocking_job(&gate, &job_id), {.name = "joiner"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "joiner", spawn_line, g_await_line.load(), "joins_a_blocking_job");
    EXPECT_EQ(t->waiting_on, "join spawn_blocking job (task " + std::to_string(job_id.load()) + ")");
    EXPECT_EQ(t->wait_kind, "blocking");
    EXPECT_TRUE(t->wait_external) << "a running job ends by itself";
    auto job = await_status(rt, job_id.load(), task_status::running);
    ASSERT_TRUE(job) << rt.dump();
    EXPECT_TRUE(job->blocking_job);
    EXPECT_EQ(job->name, "spawn_blocking");
    EXPECT_TRUE(contains(rt.dump(), "task " + std::to_string(job_id.load()) + " \"spawn_blocking\" [running, blocking job]"))
        << rt.dump();
}

TEST(dump, a_task_in_accept_names_the_listening_fd) {
    watchdog wd(60s);
    std::atomic<int> fd{-1};
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(accepts(&fd), {.name = "acceptor"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "acceptor", spawn_line, g_await_line.load(), "accepts");
    EXPECT_EQ(t->waiting_on, "tcp accept fd " + std::to_string(fd.load()));
    EXPECT_EQ(t->wait_kind, "io");
    EXPECT_TRUE(t->wait_external) << "a peer can end it";
}

TEST(dump, a_task_in_read_names_the_socket_fd) {
    watchdog wd(60s);
    std::atomic<int> fd{-1};
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(reads_a_quiet_socket(&fd), {.name = "reader"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    ASSERT_TRUE(contains(t->waiting_on, "tcp read")) << "parked in bind/connect/accept instead:\n" << rt.dump();
    expect_parked_here(rt, *t, "reader", spawn_line, g_await_line.load(), "reads_a_quiet_socket");
    EXPECT_EQ(t->waiting_on, "tcp read fd " + std::to_string(fd.load()));
    EXPECT_EQ(t->wait_kind, "io");
    EXPECT_TRUE(t->wait_external);
}

TEST(dump, a_task_in_select_lists_every_branch) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    auto [tx, rx] = corio::mpsc::channel<int>(4);
    auto holder = rt.spawn(holds(std::move(tx)), {.name = "holder"});
    ASSERT_TRUE(await_status(rt, holder.id(), task_status::waiting)) << rt.dump();
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(selects(std::move(rx)), {.name = "selector"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "selector", spawn_line, g_await_line.load(), "selects");
    EXPECT_TRUE(matches(t->waiting_on, R"(select: mpsc::recv \(channel 0x[0-9a-f]+, 0 queued, 1 sender, held by task )" +
                                           std::to_string(holder.id()) + R"(\) \| sleep until \+\d+ ms)"))
        << t->waiting_on;
    EXPECT_EQ(t->wait_kind, "group");
    EXPECT_TRUE(t->wait_external) << "the sleep branch ends it";
}

TEST(dump, a_task_in_cancellation_token_cancelled_says_so) {
    watchdog wd(60s);
    corio::cancellation_token token;
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(waits_for_cancellation(token), {.name = "cancellable"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "cancellable", spawn_line, g_await_line.load(), "waits_for_cancellation");
    EXPECT_EQ(t->waiting_on, "cancellation_token::cancelled");
    EXPECT_EQ(t->wait_kind, "token");
}

TEST(dump, a_task_in_join_set_join_next_names_the_members_and_shows_the_join_next_frame) {
    watchdog wd(60s);
    std::atomic<std::uint64_t> member{0};
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(joins_next_of_a_set(&member), {.name = "set-owner"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    EXPECT_EQ(t->name, "set-owner");
    EXPECT_EQ(t->spawned_at.file, kThisFile);
    EXPECT_EQ(t->spawned_at.line, spawn_line);
    EXPECT_EQ(t->waiting_on, "join_set::join_next (1 members running)");
    EXPECT_EQ(t->wait_kind, "join");
    EXPECT_EQ(t->wait_holders, std::vector<std::uint64_t>{member.load()});
    // join_next() is a coroutine of its own: our frame awaits it, it awaits the set.
    ASSERT_EQ(t->backtrace.size(), 2u) << rt.dump();
    EXPECT_EQ(t->backtrace[0].file, kThisFile);
    EXPECT_EQ(t->backtrace[0].line, g_await_line.load());
    EXPECT_TRUE(contains(t->backtrace[0].function, "joins_next_of_a_set")) << t->backtrace[0].function;
    EXPECT_TRUE(contains(t->backtrace[1].file, "corio/join_set.hpp")) << t->backtrace[1].file;
    EXPECT_TRUE(contains(t->backtrace[1].function, "join_next")) << t->backtrace[1].function;
}

// yield_now parks the task in a run queue: it is runnable ("scheduled", per task_status) and
// described as runnable. A yielded task keeps RUNNING while queued (a yield takes no atomic
// RMW), so a dump cannot pin it: no frame details. On a current-thread runtime the order is fixed:
// the root spawns the yielder, yields, the yielder yields (queued behind the root), and the
// root's dump sees the yielder sitting in the queue.
corio::task<> yields_until(std::atomic<bool>* stop) {
    while (!stop->load()) {
        mark(__LINE__); co_await corio::yield_now();
    }
}

struct yield_probe {
    std::optional<task_info> seen;
    std::string dump;
    unsigned spawn_line = 0;
};

corio::task<> dumps_a_yielder(corio::runtime* rt, yield_probe* out) {
    std::atomic<bool> stop{false};
    out->spawn_line = __LINE__; auto h = corio::spawn(yields_until(&stop), {.name = "yielder"});
    co_await corio::yield_now();  // the yielder runs and yields: it is queued behind us
    out->seen = find_task(rt->tasks(), h.id());
    out->dump = rt->dump();
    stop.store(true);
    co_await h;
}

TEST(dump, a_task_in_yield_now_is_listed_as_scheduled_and_runnable) {
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread(quiet(1));
    yield_probe p;
    rt.block_on(dumps_a_yielder(&rt, &p));
    ASSERT_TRUE(p.seen) << p.dump;
    EXPECT_EQ(p.seen->status, task_status::scheduled) << "a yielded task sits in a run queue; nothing polls it\n"
                                                      << p.dump;
    EXPECT_TRUE(contains(p.seen->waiting_on, "runnable")) << p.dump;
    EXPECT_EQ(p.seen->wait_kind, "yield");
    EXPECT_EQ(p.seen->name, "yielder");
    EXPECT_EQ(p.seen->spawned_at.line, p.spawn_line);
}

// ---------------------------------------------------------------- nested awaits

std::atomic<unsigned> g_nest_lines[3];

corio::task<> innermost() {
    g_nest_lines[2].store(__LINE__); mark(__LINE__); co_await corio::sleep(1h);
}
corio::task<> middle() {
    g_nest_lines[1].store(__LINE__); co_await innermost();
}
corio::task<> outermost() {
    g_nest_lines[0].store(__LINE__); co_await middle();
}

TEST(dump, the_async_backtrace_of_nested_awaits_lists_the_frames_outermost_first) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    reset_mark();
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(outermost(), {.name = "nested"});
    auto t = await_marked(rt, h.id());
    ASSERT_TRUE(t) << rt.dump();
    expect_parked_here(rt, *t, "nested", spawn_line, g_nest_lines[2].load(), "innermost");
    ASSERT_EQ(t->backtrace.size(), 3u) << rt.dump();
    const char* functions[] = {"outermost", "middle", "innermost"};
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(t->backtrace[i].file, kThisFile);
        EXPECT_EQ(t->backtrace[i].line, g_nest_lines[i].load());
        EXPECT_TRUE(contains(t->backtrace[i].function, functions[i])) << t->backtrace[i].function;
    }
    // The text form lists the same frames in the same order.
    std::string dump = rt.dump();
    auto at = dump.find("async backtrace (outermost first):\n");
    ASSERT_NE(at, std::string::npos) << dump;
    std::size_t prev = at;
    for (int i = 0; i < 3; ++i) {
        auto next = dump.find("      " + loc(kThisFile, g_nest_lines[i].load()) + " in ", prev);
        ASSERT_NE(next, std::string::npos) << "frame " << i << "\n" << dump;
        EXPECT_GT(next, prev);
        prev = next;
    }
}

// ---------------------------------------------------------------- running and done tasks

corio::task<> spins_until(std::atomic<bool>* started, std::atomic<bool>* release) {
    co_await corio::yield_now();
    started->store(true);
    while (!release->load()) {
    }  // inside one poll: the worker is busy with us
}

TEST(dump, a_task_being_polled_is_listed_as_running_without_wait_details) {
    watchdog wd(60s);
    corio::runtime_options o = quiet();
    o.blocked_worker_threshold = 0ms;  // the spin is on purpose
    std::atomic<bool> started{false}, release{false};
    corio::runtime rt{o};
    struct release_on_exit {
        std::atomic<bool>& r;
        ~release_on_exit() { r.store(true); }
    } guard{release};
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(spins_until(&started, &release), {.name = "spinner"});
    for (int i = 0; i < 10'000 && !started.load(); ++i) std::this_thread::sleep_for(1ms);
    ASSERT_TRUE(started.load());
    auto t = find_task(rt.tasks(), h.id());
    ASSERT_TRUE(t);
    EXPECT_EQ(t->status, task_status::running);
    EXPECT_EQ(t->name, "spinner");
    EXPECT_EQ(t->spawned_at.line, spawn_line);
    EXPECT_TRUE(t->waiting_on.empty()) << t->waiting_on;
    EXPECT_TRUE(t->backtrace.empty());
    std::string dump = rt.dump();
    EXPECT_TRUE(contains(dump, "task " + std::to_string(h.id()) + " \"spinner\" [running] spawned at " +
                                   loc(kThisFile, spawn_line)))
        << dump;
    release.store(true);
    EXPECT_TRUE(await_status(rt, h.id(), task_status::done)) << rt.dump();
}

corio::task<int> returns_42() { co_return 42; }
corio::task<int> joins_int(corio::join_handle<int> h) { co_return co_await h; }

TEST(dump, a_finished_task_held_by_its_join_handle_is_listed_as_done) {
    watchdog wd(60s);
    corio::runtime rt{quiet()};
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(returns_42(), {.name = "finished"});
    auto t = await_status(rt, h.id(), task_status::done);
    ASSERT_TRUE(t) << rt.dump();
    EXPECT_EQ(t->name, "finished");
    EXPECT_EQ(t->spawned_at.line, spawn_line);
    EXPECT_TRUE(t->waiting_on.empty()) << t->waiting_on;
    EXPECT_TRUE(t->backtrace.empty());
    EXPECT_TRUE(contains(rt.dump(), "task " + std::to_string(h.id()) + " \"finished\" [done]")) << rt.dump();
    // Still joinable: the dump did not consume anything.
    int v = rt.block_on(joins_int(std::move(h)));
    EXPECT_EQ(v, 42);
}

struct self_probe {
    std::vector<task_info> tasks;
    std::uint64_t root = 0;
    std::uint64_t sleeper = 0;
};

corio::task<> dumps_itself(corio::runtime* rt, self_probe* out) {
    auto h = corio::spawn(sleeps_for_an_hour(), {.name = "sleeper"});
    co_await corio::yield_now();  // the sleeper parks
    out->sleeper = h.id();
    out->tasks = rt->tasks();
    for (auto& t : out->tasks)
        if (t.status == task_status::running) out->root = t.id;
    h.abort();
    try {
        co_await h;
    } catch (const corio::cancelled_error&) {
    }
}

TEST(dump, a_dump_taken_inside_a_task_lists_the_caller_as_running_on_a_current_thread_runtime) {
    watchdog wd(60s);
    auto rt = corio::runtime::current_thread(quiet(1));
    self_probe p;
    rt.block_on(dumps_itself(&rt, &p));
    ASSERT_EQ(p.tasks.size(), 2u);
    auto r = find_task(p.tasks, p.root);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->name, "block_on");
    EXPECT_EQ(r->status, task_status::running);
    auto s = find_task(p.tasks, p.sleeper);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->status, task_status::waiting);
    EXPECT_TRUE(s->waiting_on.starts_with("sleep until +")) << s->waiting_on;
}

// ---------------------------------------------------------------- JSON

TEST(dump_json, parses_and_lists_the_same_tasks_as_tasks) {
    watchdog wd(60s);
    corio::mutex<int> m(0);
    corio::runtime rt{quiet()};
    auto [tx, rx] = corio::mpsc::channel<int>(4);
    // A name that needs escaping in JSON.
    const std::string odd_name = "quote\" backslash\\ newline\n tab\t bell\x07 end";
    std::vector<corio::join_handle<void>> handles;
    handles.push_back(rt.spawn(holds(std::move(tx)), {.name = "holder"}));
    ASSERT_TRUE(await_status(rt, handles.back().id(), task_status::waiting));
    handles.push_back(rt.spawn(holds_lock(m), {.name = odd_name}));
    ASSERT_TRUE(await_status(rt, handles.back().id(), task_status::waiting));
    handles.push_back(rt.spawn(locks(m)));  // unnamed
    ASSERT_TRUE(await_status(rt, handles.back().id(), task_status::waiting));
    handles.push_back(rt.spawn(receives(std::move(rx)), {.name = "receiver"}));
    ASSERT_TRUE(await_status(rt, handles.back().id(), task_status::waiting));
    handles.push_back(rt.spawn(outermost(), {.name = "nested"}));
    ASSERT_TRUE(await_status(rt, handles.back().id(), task_status::waiting));
    auto finished = rt.spawn(returns_42(), {.name = "finished"});
    ASSERT_TRUE(await_status(rt, finished.id(), task_status::done));

    // Everything is parked (or done): both snapshots see the same state.
    std::vector<task_info> tasks = rt.tasks();
    std::string text = rt.dump_json();
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(text)) << text;
    EXPECT_EQ(j.at("workers").get<int>(), 2);
    const auto& arr = j.at("tasks");
    ASSERT_TRUE(arr.is_array());
    ASSERT_EQ(arr.size(), tasks.size()) << text;
    ASSERT_EQ(tasks.size(), 6u);
    for (std::size_t i = 0; i < tasks.size(); ++i) {
        const task_info& t = tasks[i];
        const auto& o = arr[i];
        SCOPED_TRACE("task " + std::to_string(t.id));
        EXPECT_EQ(o.at("id").get<std::uint64_t>(), t.id);
        EXPECT_EQ(o.at("name").get<std::string>(), t.name);
        EXPECT_EQ(o.at("status").get<std::string>(), corio::to_string(t.status));
        EXPECT_EQ(o.at("blocking_job").get<bool>(), t.blocking_job);
        EXPECT_EQ(o.at("spawned_at").at("file").get<std::string>(), t.spawned_at.file);
        EXPECT_EQ(o.at("spawned_at").at("line").get<unsigned>(), t.spawned_at.line);
        EXPECT_EQ(o.at("spawned_at").at("function").get<std::string>(), t.spawned_at.function);
        // (sleep texts change by the millisecond between the two snapshots)
        std::string jw = o.at("waiting_on").get<std::string>();
        EXPECT_EQ(jw.substr(0, jw.find('+')), t.waiting_on.substr(0, t.waiting_on.find('+')));
        EXPECT_EQ(o.at("wait_kind").get<std::string>(), t.wait_kind);
        EXPECT_EQ(o.at("wait_external").get<bool>(), t.wait_external);
        EXPECT_EQ(o.at("wait_holders").get<std::vector<std::uint64_t>>(), t.wait_holders);
        const auto& bt = o.at("backtrace");
        ASSERT_EQ(bt.size(), t.backtrace.size());
        for (std::size_t k = 0; k < bt.size(); ++k) {
            EXPECT_EQ(bt[k].at("file").get<std::string>(), t.backtrace[k].file);
            EXPECT_EQ(bt[k].at("line").get<unsigned>(), t.backtrace[k].line);
            EXPECT_EQ(bt[k].at("function").get<std::string>(), t.backtrace[k].function);
        }
    }
    // The escaped name comes back intact, and the statuses are the expected ones.
    auto odd = find_task(tasks, handles[1].id());
    ASSERT_TRUE(odd);
    EXPECT_EQ(odd->name, odd_name);
    bool found_odd = false;
    for (const auto& o : arr)
        if (o.at("name").get<std::string>() == odd_name) found_odd = true;
    EXPECT_TRUE(found_odd) << text;
    EXPECT_EQ(find_task(tasks, finished.id())->status, task_status::done);
    for (auto& h : handles) EXPECT_EQ(find_task(tasks, h.id())->status, task_status::waiting);
    EXPECT_EQ(find_task(tasks, handles[4].id())->backtrace.size(), 3u);
}

// ---------------------------------------------------------------- dumps while tasks run

corio::task<> churns(corio::mutex<long>& m, corio::mpsc::receiver<int>& in, corio::mpsc::sender<int> out,
                     int rounds) {
    for (int i = 0; i < rounds; ++i) {
        {
            auto g = co_await m.lock();
            ++*g;
        }
        co_await corio::yield_now();
        co_await out.send(i);
        auto v = co_await in.recv();
        if (!v) co_return;
        if (i % 16 == 0) co_await corio::sleep(std::chrono::microseconds(50));
    }
}

TEST(dump, dump_is_safe_from_another_thread_while_tasks_run_and_park) {
    watchdog wd(120s);
    corio::runtime_options o = quiet();
    o.blocked_worker_threshold = 0ms;  // sanitizer builds are slow; not what this test checks
    corio::mutex<long> counter(0L);
    corio::runtime rt{o};
    std::atomic<bool> done{false};
    std::atomic<long> dumps{0};
    std::atomic<bool> bad{false};
    std::string bad_text;
    std::thread dumper([&] {
        while (!done.load()) {
            std::string text = rt.dump();
            std::string json = rt.dump_json();
            std::vector<task_info> tasks = rt.tasks();
            bool ok = text.starts_with("corio runtime: ") && nlohmann::json::accept(json);
            for (const task_info& t : tasks)
                if (t.id == 0 || (t.status == task_status::waiting && t.waiting_on.empty())) ok = false;
            if (!ok && !bad.exchange(true)) bad_text = text + "\n" + json;
            dumps.fetch_add(1);
        }
    });
    constexpr int kPairs = 4, kRounds = 2000;
    rt.block_on([](corio::mutex<long>& m) -> corio::task<> {
        std::vector<corio::join_handle<void>> hs;
        std::vector<corio::mpsc::receiver<int>> rxs;
        rxs.reserve(2 * kPairs);
        for (int p = 0; p < kPairs; ++p) {
            auto [atx, arx] = corio::mpsc::channel<int>(1);
            auto [btx, brx] = corio::mpsc::channel<int>(1);
            rxs.push_back(std::move(arx));
            rxs.push_back(std::move(brx));
            hs.push_back(corio::spawn(churns(m, rxs[rxs.size() - 1], std::move(atx), kRounds), {.name = "ping"}));
            hs.push_back(corio::spawn(churns(m, rxs[rxs.size() - 2], std::move(btx), kRounds), {.name = "pong"}));
        }
        for (auto& h : hs) co_await h;
    }(counter));
    const long during = dumps.load();
    // Let the dumper also see the runtime idle, then stop it.
    long seen = dumps.load();
    for (int i = 0; i < 10'000 && dumps.load() < seen + 3; ++i) std::this_thread::sleep_for(1ms);
    done.store(true);
    dumper.join();
    EXPECT_FALSE(bad.load()) << bad_text;
    EXPECT_GT(during, 0) << "no dump overlapped the workload";
    EXPECT_GT(dumps.load(), during);
    EXPECT_EQ(counter.get_mut(), long(2 * kPairs * kRounds)) << "every task ran every round";
}

// ---------------------------------------------------------------- leak report

TEST(leak_report, destroying_a_runtime_with_a_parked_task_lists_it_on_stderr) {
    watchdog wd(60s);
    unsigned spawn_line = 0;
    std::uint64_t id = 0;
    ::testing::internal::CaptureStderr();
    {
        corio::runtime rt{{.workers = 2}};
        spawn_line = __LINE__; auto h = rt.spawn(sleeps_for_an_hour(), {.name = "leaky"});
        id = h.id();
        bool parked = await_status(rt, id, task_status::waiting).has_value();
        if (!parked) ADD_FAILURE() << rt.dump();
    }
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(err, "corio: runtime destroyed with 1 live task (cancelling them):\n")) << err;
    EXPECT_TRUE(contains(err, "  task " + std::to_string(id) + " \"leaky\" spawned at " + loc(kThisFile, spawn_line) +
                                  " in "))
        << err;
    EXPECT_TRUE(contains(err, ", waiting on sleep until +")) << err;
}

TEST(leak_report, says_nothing_when_report_leaked_tasks_is_off) {
    watchdog wd(60s);
    ::testing::internal::CaptureStderr();
    {
        corio::runtime_options o;
        o.workers = 2;
        o.report_leaked_tasks = false;
        corio::runtime rt{o};
        auto h = rt.spawn(sleeps_for_an_hour(), {.name = "leaky"});
        bool parked = await_status(rt, h.id(), task_status::waiting).has_value();
        if (!parked) ADD_FAILURE() << rt.dump();
    }
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_FALSE(contains(err, "runtime destroyed")) << err;
    EXPECT_FALSE(contains(err, "leaky")) << err;
}

TEST(leak_report, says_nothing_when_every_task_finished_even_if_a_handle_holds_one) {
    watchdog wd(60s);
    ::testing::internal::CaptureStderr();
    {
        corio::join_handle<int> kept;  // outlives the runtime: a done task, not a leak
        corio::runtime rt{{.workers = 2}};
        rt.block_on([]() -> corio::task<> {
            auto h = corio::spawn(sleeps_for_an_hour());
            h.abort();
            try {
                co_await h;
            } catch (const corio::cancelled_error&) {
            }
        }());
        kept = rt.spawn(returns_42(), {.name = "finished"});
        bool done = await_status(rt, kept.id(), task_status::done).has_value();
        if (!done) ADD_FAILURE() << rt.dump();
        auto ct = corio::runtime::current_thread();
        (void)ct.block_on(returns_42());
    }
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(err, "");
}

// ---------------------------------------------------------------- dump_signal

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

TEST(dump_signal, raising_the_signal_prints_every_task_to_stderr) {
    watchdog wd(60s);
    corio::runtime_options o = quiet();
    o.dump_signal = SIGUSR2;  // not SIGQUIT: the test process must survive without a handler
    corio::runtime rt{o};
    const unsigned spawn_line = __LINE__; auto h = rt.spawn(sleeps_for_an_hour(), {.name = "signalled-sleeper"});
    ASSERT_TRUE(await_status(rt, h.id(), task_status::waiting)) << rt.dump();
    ::testing::internal::CaptureStderr();
    std::raise(SIGUSR2);
    std::string so_far;
    auto deadline = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < deadline && !contains(so_far = captured_so_far(), "signalled-sleeper"))
        std::this_thread::sleep_for(10ms);
    std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_TRUE(contains(err, "corio runtime: 1 live task, 2 workers")) << err;
    EXPECT_TRUE(contains(err, "task " + std::to_string(h.id()) + " \"signalled-sleeper\" [waiting] spawned at " +
                                  loc(kThisFile, spawn_line)))
        << "within 1 s of the signal:\n" << err;
    EXPECT_TRUE(contains(err, "waiting on: sleep until +")) << err;
}

}  // namespace
