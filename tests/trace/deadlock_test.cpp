// Deadlock detection: block_on throws corio::deadlock_error when every task waits on
// something only another waiting task could end (the Go "<-ch" example, a sender held by a
// parked task, a mutex cycle, a channel/mutex cycle), on both runtime flavours; it names the
// cycle and carries the dump; the runtime is then destroyed cleanly. It stays quiet while a
// timer, a socket, a blocking job or a handle held outside the tasks could still end a wait,
// and when detect_deadlocks is off.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <ostream>
#include <regex>
#include <source_location>
#include <string>
#include <thread>

#include <corio/corio.hpp>

#include "test_support.hpp"

// These tests assert source lines (spawn and await sites): formatting must not move them.
// clang-format off

using namespace std::chrono_literals;
using corio::testing::watchdog;

namespace {

const std::string kThisFile = std::source_location::current().file_name();

enum class flavour { multi_thread, current_thread };

const char* to_string(flavour f) { return f == flavour::multi_thread ? "multi_thread" : "current_thread"; }
std::string flavour_name(const ::testing::TestParamInfo<flavour>& p) { return to_string(p.param); }
void PrintTo(flavour f, std::ostream* os) { *os << to_string(f); }

corio::runtime_options detecting() {
    corio::runtime_options o;
    o.workers = 2;
    o.deadlock_grace = 100ms;
    o.report_leaked_tasks = false;  // deadlocked tasks are left to the runtime's shutdown
    return o;
}

corio::runtime make_runtime(flavour f, corio::runtime_options o = detecting()) {
    if (f == flavour::current_thread) return corio::runtime::current_thread(std::move(o));
    return corio::runtime(std::move(o));
}

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

std::atomic<unsigned> g_await_line{0};
void mark(unsigned line) { g_await_line.store(line); }

// Objects living in the frames of deadlocked tasks: each must be destroyed exactly once.
struct tracked {
    static inline std::mutex lock;
    static inline int next = 0;
    static inline std::map<int, int> destroyed;  // id -> times destroyed
    int id;
    tracked() {
        std::lock_guard g(lock);
        id = ++next;
        destroyed[id] = 0;
    }
    tracked(const tracked&) = delete;
    tracked& operator=(const tracked&) = delete;
    ~tracked() {
        std::lock_guard g(lock);
        ++destroyed[id];
    }
    static void reset() {
        std::lock_guard g(lock);
        destroyed.clear();
    }
    static std::map<int, int> snapshot() {
        std::lock_guard g(lock);
        return destroyed;
    }
};

struct ids {
    std::atomic<std::uint64_t> a{0}, b{0};
};

// ---------------------------------------------------------------- the deadlocks

corio::task<int> receive(corio::mpsc::receiver<int>& rx) {
    tracked t;
    mark(__LINE__); auto v = co_await rx.recv();  // the only sender is ours: nobody will send
    co_return v ? *v : -1;
}

// The documents' Go example: ch := make(chan int); <-ch
corio::task<> go_example() {
    tracked t;
    auto [tx, rx] = corio::mpsc::channel<int>(1);
    co_await receive(rx);
}

corio::task<> keeps_sender_and_waits(corio::mpsc::sender<int> tx, corio::notify& never) {
    auto mine = std::move(tx);
    co_await never.notified();
}

corio::task<> waits_for_a_sender_held_by_a_parked_task(ids* out) {
    corio::notify never;
    auto [tx, rx] = corio::mpsc::channel<int>(1);
    auto holder = corio::spawn(keeps_sender_and_waits(std::move(tx), never), {.name = "holder"});
    out->a = holder.id();
    co_await rx.recv();
}

corio::task<> lock_in_order(corio::mutex<int>& first, corio::mutex<int>& second, corio::barrier& both_hold_one) {
    tracked t;
    auto a = co_await first.lock();
    co_await both_hold_one.arrive_and_wait();
    auto b = co_await second.lock();
}

corio::task<> mutex_cycle(ids* out) {
    tracked t;
    corio::mutex<int> x(0), y(0);
    corio::barrier both_hold_one(2);
    auto t1 = corio::spawn(lock_in_order(x, y, both_hold_one), {.name = "x-then-y"});
    auto t2 = corio::spawn(lock_in_order(y, x, both_hold_one), {.name = "y-then-x"});
    out->a = t1.id();
    out->b = t2.id();
    co_await t1;
    co_await t2;
}

corio::task<> locks_then_receives(corio::mutex<int>& m, corio::mpsc::receiver<int> rx, corio::barrier& ready) {
    tracked t;
    auto g = co_await m.lock();
    co_await ready.arrive_and_wait();
    co_await rx.recv();  // the only sender is held by the other task
}

corio::task<> holds_sender_then_locks(corio::mutex<int>& m, corio::mpsc::sender<int> tx, corio::barrier& ready) {
    tracked t;
    auto mine = std::move(tx);
    co_await ready.arrive_and_wait();
    auto g = co_await m.lock();  // held by the other task
    co_await mine.send(1);
}

corio::task<> channel_mutex_cycle(ids* out) {
    corio::mutex<int> m(0);
    corio::barrier ready(2);
    auto [tx, rx] = corio::mpsc::channel<int>(1);
    auto a = corio::spawn(locks_then_receives(m, std::move(rx), ready), {.name = "locker"});
    auto b = corio::spawn(holds_sender_then_locks(m, std::move(tx), ready), {.name = "sender"});
    out->a = a.id();
    out->b = b.id();
    co_await a;
    co_await b;
}

class deadlock : public ::testing::TestWithParam<flavour> {};

INSTANTIATE_TEST_SUITE_P(flavours, deadlock, ::testing::Values(flavour::multi_thread, flavour::current_thread),
                         flavour_name);

// Runs block_on(t) expecting deadlock_error; returns it (message, cycle, dump) and how long
// block_on took.
struct caught {
    bool thrown = false;
    std::string what, cycle, dump;
    std::chrono::milliseconds took{0};
};
caught expect_deadlock(corio::runtime& rt, corio::task<> t) {
    caught c;
    auto start = std::chrono::steady_clock::now();
    try {
        rt.block_on(std::move(t));
    } catch (const corio::deadlock_error& e) {
        c.thrown = true;
        c.what = e.what();
        c.cycle = e.cycle();
        c.dump = e.dump();
    }
    c.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    return c;
}

TEST_P(deadlock, recv_on_a_channel_whose_only_sender_the_waiting_task_holds_throws_after_the_grace) {
    watchdog wd(60s);
    auto rt = make_runtime(GetParam());
    caught c = expect_deadlock(rt, go_example());
    ASSERT_TRUE(c.thrown) << "block_on returned instead of reporting the deadlock";
    EXPECT_TRUE(c.what.starts_with("corio: deadlock: every task is waiting and nothing can wake one")) << c.what;
    EXPECT_GE(c.took, 100ms) << "reported before deadlock_grace had passed";
    EXPECT_LT(c.took, 20s);
    // "task 1 waits on mpsc::recv (channel 0x..., 0 queued, 1 sender, held by task 1) at file:line in ..."
    std::regex cycle(R"(task (\d+) waits on mpsc::recv \(channel 0x[0-9a-f]+, 0 queued, 1 sender, held by task \1\) at )" +
                     std::regex_replace(kThisFile, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + ":" +
                     std::to_string(g_await_line.load()) + " in .*receive.*");
    EXPECT_TRUE(std::regex_match(c.cycle, cycle)) << c.cycle;
    EXPECT_TRUE(contains(c.what, c.cycle)) << "the message names the cycle:\n" << c.what;
    EXPECT_TRUE(contains(c.dump, "corio runtime: 1 live task")) << c.dump;
    EXPECT_TRUE(contains(c.dump, "\"block_on\" [waiting]")) << c.dump;
    EXPECT_TRUE(contains(c.dump, "waiting on: mpsc::recv (channel 0x")) << c.dump;
}

TEST_P(deadlock, recv_whose_only_sender_is_held_by_another_parked_task_throws_and_names_both) {
    watchdog wd(60s);
    auto rt = make_runtime(GetParam());
    ids id;
    caught c = expect_deadlock(rt, waits_for_a_sender_held_by_a_parked_task(&id));
    ASSERT_TRUE(c.thrown) << "block_on returned instead of reporting the deadlock";
    const std::string holder = std::to_string(id.a.load());
    EXPECT_TRUE(contains(c.cycle, "held by task " + holder + ")")) << c.cycle;
    EXPECT_TRUE(contains(c.cycle, "task " + holder + " waits on notify (")) << c.cycle;
    EXPECT_TRUE(contains(c.dump, "corio runtime: 2 live tasks")) << c.dump;
    EXPECT_TRUE(contains(c.dump, "task " + holder + " \"holder\" [waiting]")) << c.dump;
    EXPECT_TRUE(contains(c.dump, "\"block_on\" [waiting]")) << c.dump;
}

TEST_P(deadlock, a_mutex_cycle_throws_and_the_cycle_names_both_tasks) {
    watchdog wd(60s);
    auto rt = make_runtime(GetParam());
    ids id;
    caught c = expect_deadlock(rt, mutex_cycle(&id));
    ASSERT_TRUE(c.thrown) << "block_on returned instead of reporting the deadlock";
    const std::string a = std::to_string(id.a.load()), b = std::to_string(id.b.load());
    EXPECT_TRUE(std::regex_search(c.cycle, std::regex("task " + a + R"( waits on mutex lock \(mutex 0x[0-9a-f]+, held by task )" + b)))
        << c.cycle;
    EXPECT_TRUE(std::regex_search(c.cycle, std::regex("task " + b + R"( waits on mutex lock \(mutex 0x[0-9a-f]+, held by task )" + a)))
        << c.cycle;
    EXPECT_TRUE(contains(c.cycle, kThisFile)) << "each wait's site is named:\n" << c.cycle;
    EXPECT_TRUE(contains(c.dump, "corio runtime: 3 live tasks")) << c.dump;
    EXPECT_TRUE(contains(c.dump, "task " + a + " \"x-then-y\" [waiting]")) << c.dump;
    EXPECT_TRUE(contains(c.dump, "task " + b + " \"y-then-x\" [waiting]")) << c.dump;
    EXPECT_TRUE(contains(c.dump, "waiting on: join task " + a)) << "the root joins the first:\n" << c.dump;
}

TEST_P(deadlock, a_channel_and_mutex_cycle_throws_and_the_cycle_names_both_tasks) {
    watchdog wd(60s);
    auto rt = make_runtime(GetParam());
    ids id;
    caught c = expect_deadlock(rt, channel_mutex_cycle(&id));
    ASSERT_TRUE(c.thrown) << "block_on returned instead of reporting the deadlock";
    const std::string a = std::to_string(id.a.load()), b = std::to_string(id.b.load());
    EXPECT_TRUE(std::regex_search(
        c.cycle, std::regex("task " + a + R"( waits on mpsc::recv \(channel 0x[0-9a-f]+, 0 queued, 1 sender, held by task )" + b + R"(\))")))
        << c.cycle;
    EXPECT_TRUE(std::regex_search(c.cycle, std::regex("task " + b + R"( waits on mutex lock \(mutex 0x[0-9a-f]+, held by task )" + a)))
        << c.cycle;
    EXPECT_TRUE(contains(c.dump, "task " + a + " \"locker\" [waiting]")) << c.dump;
    EXPECT_TRUE(contains(c.dump, "task " + b + " \"sender\" [waiting]")) << c.dump;
}

TEST_P(deadlock, after_the_error_the_runtime_is_destroyed_and_each_deadlocked_frame_destroyed_exactly_once) {
    watchdog wd(60s);
    tracked::reset();
    {
        auto rt = make_runtime(GetParam());
        ids id;
        caught c = expect_deadlock(rt, mutex_cycle(&id));
        ASSERT_TRUE(c.thrown);
        auto before = tracked::snapshot();
        EXPECT_EQ(before.size(), 3u) << "the root and both lockers";
        for (auto& [obj, n] : before) EXPECT_EQ(n, 0) << "object " << obj << " destroyed while its task is parked";
        caught go = expect_deadlock(rt, go_example());
        ASSERT_TRUE(go.thrown) << "a second block_on on the same runtime deadlocks again";
    }
    auto after = tracked::snapshot();
    EXPECT_EQ(after.size(), 5u) << "+ go_example and receive";
    for (auto& [obj, n] : after) EXPECT_EQ(n, 1) << "object " << obj << " destroyed " << n << " times";
}

// ---------------------------------------------------------------- what is not a deadlock

corio::task<> sleeps_then_sends(corio::mpsc::sender<int> tx) {
    co_await corio::sleep(300ms);
    co_await tx.send(7);
}

corio::task<int> receive_from_a_sleeper() {
    auto [tx, rx] = corio::mpsc::channel<int>(1);
    auto h = corio::spawn(sleeps_then_sends(std::move(tx)));
    auto v = co_await rx.recv();
    co_await h;
    co_return v.value_or(-1);
}

TEST_P(deadlock, not_reported_while_a_timer_will_wake_a_task) {
    watchdog wd(60s);
    auto rt = make_runtime(GetParam());
    EXPECT_EQ(rt.block_on(receive_from_a_sleeper()), 7);
}

corio::task<int> accept_one(std::atomic<int>* port) {
    auto listener = co_await corio::net::tcp_listener::bind("127.0.0.1:0");
    port->store(listener.local_address().port());
    auto [stream, peer] = co_await listener.accept();
    co_return 1;
}

TEST_P(deadlock, not_reported_while_a_task_waits_on_a_socket_another_thread_connects_to_later) {
    watchdog wd(60s);
    auto rt = make_runtime(GetParam());
    std::atomic<int> port{0};
    std::atomic<bool> connected{false};
    std::thread peer([&] {
        for (int i = 0; i < 10'000 && port.load() == 0; ++i) std::this_thread::sleep_for(1ms);
        std::this_thread::sleep_for(300ms);  // longer than the grace
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port.load()));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
    });
    int r = -1;
    EXPECT_NO_THROW(r = rt.block_on(accept_one(&port)));
    peer.join();
    EXPECT_TRUE(connected.load());
    EXPECT_EQ(r, 1);
}

corio::task<> sends_after_a_blocking_job(corio::mpsc::sender<int> tx) {
    co_await corio::spawn_blocking([] { std::this_thread::sleep_for(300ms); });
    co_await tx.send(9);
}

corio::task<int> receive_after_a_blocking_job() {
    auto [tx, rx] = corio::mpsc::channel<int>(1);
    auto h = corio::spawn(sends_after_a_blocking_job(std::move(tx)));
    auto v = co_await rx.recv();
    co_await h;
    co_return v.value_or(-1);
}

TEST_P(deadlock, not_reported_while_a_blocking_job_runs) {
    watchdog wd(60s);
    auto rt = make_runtime(GetParam());
    int r = -1;
    EXPECT_NO_THROW(r = rt.block_on(receive_after_a_blocking_job()));
    EXPECT_EQ(r, 9);
}

corio::task<int> receive_one(corio::mpsc::receiver<int> rx) {
    auto v = co_await rx.recv();
    co_return v.value_or(-1);
}

TEST_P(deadlock, not_reported_while_a_sender_is_held_outside_any_task) {
    watchdog wd(60s);
    auto rt = make_runtime(GetParam());
    auto [tx, rx] = corio::mpsc::channel<int>(1);  // created here, outside every task
    std::thread outside([&tx] {
        std::this_thread::sleep_for(300ms);  // longer than the grace
        (void)tx.try_send(11);
    });
    int r = -1;
    EXPECT_NO_THROW(r = rt.block_on(receive_one(std::move(rx))));
    outside.join();
    EXPECT_EQ(r, 11);
}

// The Go example, with the channel's sender published so the test can end the wait itself.
corio::task<int> go_example_exposed(std::atomic<corio::mpsc::sender<int>*>* exposed) {
    auto [tx, rx] = corio::mpsc::channel<int>(1);
    exposed->store(&tx);
    auto v = co_await rx.recv();
    exposed->store(nullptr);
    co_return v.value_or(-1);
}

corio::task<> send_through(corio::mpsc::sender<int>* tx) { co_await tx->send(5); }

TEST_P(deadlock, not_reported_when_detect_deadlocks_is_off) {
    watchdog wd(60s);
    corio::runtime_options o = detecting();
    o.detect_deadlocks = false;
    auto rt = make_runtime(GetParam(), o);
    std::atomic<corio::mpsc::sender<int>*> exposed{nullptr};
    std::atomic<bool> returned{false};
    std::atomic<bool> threw{false};
    int r = -1;
    std::thread driver([&] {
        try {
            r = rt.block_on(go_example_exposed(&exposed));
        } catch (...) {
            threw = true;
        }
        returned = true;
    });
    for (int i = 0; i < 10'000 && !exposed.load(); ++i) std::this_thread::sleep_for(1ms);
    ASSERT_NE(exposed.load(), nullptr);
    std::this_thread::sleep_for(1s);  // ten times the grace
    EXPECT_FALSE(returned.load()) << "block_on returned (threw: " << threw.load() << ") though detection is off";
    // End the wait from outside: a task spawned onto the runtime sends through the exposed
    // sender (it stays alive while the receiving task is parked).
    auto h = rt.spawn(send_through(exposed.load()));
    driver.join();
    EXPECT_FALSE(threw.load());
    EXPECT_EQ(r, 5);
}

}  // namespace
