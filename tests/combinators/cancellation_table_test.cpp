// The table of docs/cancellation.md: for every corio await, what cancellation does to the
// data and to the waiter's place in a queue. One test per row, named in the table; each
// exercises the cancellation paths that apply to its await:
//  * join_handle::abort() while the task is parked in the await,
//  * the await losing a select (its cancel op must give back what it was handed),
//  * a timeout expiring while the await is pending.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <corio/corio.hpp>
#include <corio/gen/async_generator.hpp>
#include <corio/rate_limiter.hpp>
#include <corio/retry.hpp>

#include "test_support.hpp"

using namespace std::chrono_literals;
using corio::testing::run_ct;
using corio::testing::run_mt;

using corio::testing::yield_until;

namespace {

// A current-thread runtime whose blocking pool has a single thread, so a job can be held
// queued behind another.
template <class T>
T run_ct_one_blocking_thread(corio::task<T> t) {
    corio::testing::watchdog w(std::chrono::seconds(60));
    corio::runtime_options opts;
    opts.max_blocking_threads = 1;
    auto rt = corio::runtime::current_thread(opts);
    return rt.block_on(std::move(t));
}

// Lets every other runnable task of a current-thread runtime run up to its next await.
corio::task<> settle() {
    for (int i = 0; i < 5; ++i) co_await corio::yield_now();
}

// Aborts `h` and checks it ends with cancelled_error.
template <class T>
corio::task<> abort_and_expect_cancelled(corio::join_handle<T>& h) {
    h.abort();
    bool cancelled = false;
    try {
        co_await h;
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    EXPECT_TRUE(cancelled) << "the aborted task did not end with cancelled_error";
}

struct set_on_exit {
    std::atomic<bool>* flag;
    ~set_on_exit() { flag->store(true); }
};

// Spins (on a blocking-pool thread) until `release` is set, at most 30 s.
void hold_until(const std::atomic<bool>& release) {
    auto until = std::chrono::steady_clock::now() + 30s;
    while (!release.load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
}

int open_fds() {
    int n = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
        while (readdir(d)) ++n;
        closedir(d);
    }
    return n;
}

std::filesystem::path temp_path(const char* name) {
    return std::filesystem::temp_directory_path() /
           (std::string("corio_cancel_") + name + "_" + std::to_string(::getpid()));
}

}  // namespace

// ======================================================================== time

TEST(cancellation, sleep_cancelled_withdraws_its_timer) {
    run_ct([]() -> corio::task<> {
        // abort while parked
        std::atomic<bool> unwound{false};
        auto h = corio::spawn([](std::atomic<bool>* u) -> corio::task<> {
            set_on_exit g{u};
            co_await corio::sleep(10s);
        }(&unwound));
        co_await settle();
        auto t0 = corio::clock::now();
        co_await abort_and_expect_cancelled(h);
        EXPECT_TRUE(unwound.load());
        EXPECT_LT(corio::clock::now() - t0, 5s);
        // losing a select
        corio::notify n;
        n.notify_one();
        auto r = co_await corio::select(corio::sleep(10s), n.notified());
        EXPECT_EQ(r.index(), 1u);
    }());
}

TEST(cancellation, sleep_until_cancelled_withdraws_its_timer) {
    run_ct([]() -> corio::task<> {
        auto h = corio::spawn(
            []() -> corio::task<> { co_await corio::sleep_until(corio::clock::now() + 10s); }());
        co_await settle();
        auto t0 = corio::clock::now();
        co_await abort_and_expect_cancelled(h);
        EXPECT_LT(corio::clock::now() - t0, 5s);
        EXPECT_THROW(co_await corio::timeout(5ms, corio::sleep_until(corio::clock::now() + 10s)),
                     corio::timed_out);
    }());
}

TEST(cancellation, interval_tick_cancelled_does_not_consume_the_tick) {
    run_ct([]() -> corio::task<> {
        auto start = corio::clock::now() + 60ms;
        corio::interval every{start, 1h};
        auto h = corio::spawn(
            [](corio::interval* iv) -> corio::task<> { (void)co_await iv->tick(); }(&every));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        // losing a select and a timeout: the tick is still not consumed
        corio::notify n;
        n.notify_one();
        auto r = co_await corio::select(every.tick(), n.notified());
        EXPECT_EQ(r.index(), 1u);
        EXPECT_THROW((void)co_await corio::timeout(5ms, every.tick()), corio::timed_out);
        // the next tick is still the first one, not one hour later
        auto t0 = corio::clock::now();
        corio::clock::time_point scheduled = co_await every.tick();
        EXPECT_EQ(scheduled, start) << "a cancelled tick advanced the schedule";
        EXPECT_LT(corio::clock::now() - t0, 5s);
    }());
}

// ======================================================================== tasks

TEST(cancellation, yield_now_cancelled_throws_at_once) {
    run_ct([]() -> corio::task<> {
        std::atomic<long> spins{0};
        auto h = corio::spawn([](std::atomic<long>* s) -> corio::task<> {
            for (long i = 0; i < 100'000'000; ++i) {
                ++*s;
                co_await corio::yield_now();
            }
        }(&spins));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        long at_abort = spins.load();
        co_await settle();
        EXPECT_EQ(spins.load(), at_abort);
    }());
}

TEST(cancellation, task_await_in_a_cancelled_task_never_starts_the_child) {
    run_ct([]() -> corio::task<> {
        std::atomic<bool> child_ran{false};
        corio::notify never;
        auto h = corio::spawn([](corio::notify* n, std::atomic<bool>* ran) -> corio::task<> {
            try {
                co_await n->notified();
            } catch (const corio::cancelled_error&) {
            }
            co_await [](std::atomic<bool>* r) -> corio::task<> {
                r->store(true);
                co_return;
            }(ran);
        }(&never, &child_ran));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_FALSE(child_ran.load());
    }());
}

TEST(cancellation,
     join_handle_await_cancelled_leaves_the_task_running_and_its_result_in_the_handle) {
    run_ct([]() -> corio::task<> {
        corio::notify gate;
        auto target = corio::spawn([](corio::notify* g) -> corio::task<int> {
            co_await g->notified();
            co_return 5;
        }(&gate));
        // abort while parked
        auto joiner = corio::spawn(
            [](corio::join_handle<int>* t) -> corio::task<> { (void)co_await *t; }(&target));
        co_await settle();
        co_await abort_and_expect_cancelled(joiner);
        EXPECT_FALSE(target.is_finished()) << "cancelling the joiner must not cancel the task";
        // losing a select, timing out
        auto r = co_await corio::select(target.operator co_await(), corio::sleep(2ms));
        EXPECT_EQ(r.index(), 1u);
        EXPECT_THROW((void)co_await corio::timeout(2ms, target.operator co_await()),
                     corio::timed_out);
        gate.notify_one();
        int v = co_await target;
        EXPECT_EQ(v, 5) << "the result stays for a later await of the handle";
    }());
}

TEST(cancellation, spawn_blocking_join_cancelled_lets_the_job_finish_and_abort_stops_a_queued_job) {
    run_ct_one_blocking_thread([]() -> corio::task<> {
        std::atomic<bool> release{false}, first_done{false}, second_ran{false};
        auto first = corio::spawn_blocking([&release, &first_done] {
            hold_until(release);
            first_done = true;
            return 7;
        });
        auto second = corio::spawn_blocking([&second_ran] {
            second_ran = true;
            return 8;
        });
        // the joiner is cancelled; the running job is not
        auto joiner = corio::spawn(
            [](corio::join_handle<int>* t) -> corio::task<> { (void)co_await *t; }(&first));
        co_await settle();
        co_await abort_and_expect_cancelled(joiner);
        // abort() stops a job that has not started
        second.abort();
        release = true;
        int v = co_await first;
        EXPECT_EQ(v, 7);
        EXPECT_TRUE(first_done.load()) << "a running blocking job runs to its end";
        EXPECT_THROW(co_await second, corio::cancelled_error);
        EXPECT_FALSE(second_ran.load()) << "an aborted job that had not started must never run";
    }());
}

// ======================================================================== files

TEST(cancellation, fs_call_cancelled_before_it_starts_does_nothing_and_once_running_completes) {
    const auto never_written = temp_path("never");
    const auto written = temp_path("written");
    std::filesystem::remove(never_written);
    std::filesystem::remove(written);
    run_ct_one_blocking_thread([](std::filesystem::path p_never,
                                  std::filesystem::path p_written) -> corio::task<> {
        // Checked at the start: a cancelled task's fs call does nothing.
        corio::notify never;
        bool threw = false;
        auto h =
            corio::spawn([](corio::notify* n, std::filesystem::path p, bool* t) -> corio::task<> {
                try {
                    co_await n->notified();
                } catch (const corio::cancelled_error&) {
                }
                try {
                    co_await corio::fs::write(p, "should not be written");
                } catch (const corio::cancelled_error&) {
                    *t = true;
                }
            }(&never, p_never, &threw));
        co_await settle();
        h.abort();
        co_await h;
        EXPECT_TRUE(threw);
        EXPECT_FALSE(std::filesystem::exists(p_never)) << "a cancelled fs::write touched the file";

        // Once the job is on the pool it is awaited to the end; the cancellation is seen at
        // the next await.
        std::atomic<bool> release{false};
        auto blocker = corio::spawn_blocking([&release] { hold_until(release); });
        bool returned = false, passed = false;
        auto w = corio::spawn([](std::filesystem::path p, bool* ret, bool* pass) -> corio::task<> {
            co_await corio::fs::write(p, "complete contents");
            *ret = true;
            co_await corio::yield_now();
            *pass = true;
        }(p_written, &returned, &passed));
        co_await settle();
        w.abort();
        release = true;
        co_await blocker;
        EXPECT_THROW(co_await w, corio::cancelled_error);
        EXPECT_TRUE(returned) << "fs::write already on the pool must complete and return";
        EXPECT_FALSE(passed);
        std::string contents = co_await corio::fs::read_to_string(p_written);
        EXPECT_EQ(contents, "complete contents");
    }(never_written, written));
    std::filesystem::remove(never_written);
    std::filesystem::remove(written);
}

// ======================================================================== TCP

namespace {

struct tcp_pair {
    corio::net::tcp_listener listener;
    corio::net::tcp_stream client;
    corio::net::tcp_stream server;
};

corio::task<tcp_pair> connected_pair() {
    tcp_pair p;
    p.listener = corio::net::tcp_listener::bind(corio::net::socket_address::loopback_v4(0));
    p.client = co_await corio::net::tcp_stream::connect(p.listener.local_address());
    auto accepted = co_await p.listener.accept();
    p.server = std::move(accepted.first);
    co_return p;
}

void shrink_buffers(int fd) {
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
}

// Fills `fd`'s send path with raw non-blocking sends until EAGAIN; returns the bytes sent.
std::size_t fill_send_buffer(int fd) {
    std::vector<char> chunk(4096, 'r');
    std::size_t total = 0;
    for (int i = 0; i < 100'000; ++i) {
        ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n <= 0) break;
        total += std::size_t(n);
    }
    return total;
}

// Reads until `want` bytes arrived or the peer closed; returns the count.
corio::task<std::size_t> read_all(corio::net::tcp_stream& s, std::size_t want = SIZE_MAX) {
    std::vector<char> buf(65536);
    std::size_t total = 0;
    while (total < want) {
        std::size_t n = co_await s.read(std::span<char>(buf));
        if (n == 0) break;
        total += n;
    }
    co_return total;
}

}  // namespace

TEST(cancellation, tcp_read_cancelled_reads_nothing) {
    run_ct([]() -> corio::task<> {
        auto p = co_await connected_pair();
        std::size_t read_by_aborted = 0;
        auto h = corio::spawn([](corio::net::tcp_stream* s, std::size_t* got) -> corio::task<> {
            std::vector<char> buf(16);
            for (;;) *got += co_await s->read(std::span<char>(buf));
        }(&p.server, &read_by_aborted));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_EQ(read_by_aborted, 0u);
        // a read losing a select / timing out reads nothing either
        std::vector<char> buf(16);
        EXPECT_THROW((void)co_await corio::timeout(5ms, p.server.read(std::span<char>(buf))),
                     corio::timed_out);
        co_await p.client.write_all("abc");
        std::size_t n = co_await p.server.read(std::span<char>(buf));
        EXPECT_EQ(std::string(buf.data(), n), "abc") << "bytes were consumed by a cancelled read";
    }());
}

TEST(cancellation, tcp_write_cancelled_writes_nothing) {
    run_ct([]() -> corio::task<> {
        auto p = co_await connected_pair();
        shrink_buffers(p.client.native_handle());
        shrink_buffers(p.server.native_handle());
        std::size_t raw = fill_send_buffer(p.client.native_handle());
        std::size_t reported = 0;
        auto h = corio::spawn([](corio::net::tcp_stream* s, std::size_t* written) -> corio::task<> {
            std::string chunk(1000, 'w');
            for (;;) *written += co_await s->write(std::string_view(chunk));
        }(&p.client, &reported));
        co_await settle();
        EXPECT_FALSE(h.is_finished());
        co_await abort_and_expect_cancelled(h);
        std::string chunk(1000, 'x');
        EXPECT_THROW((void)co_await corio::timeout(5ms, p.client.write(std::string_view(chunk))),
                     corio::timed_out);
        p.client.close();
        std::size_t received = co_await read_all(p.server);
        EXPECT_EQ(received, raw + reported) << "a cancelled write transferred bytes";
    }());
}

TEST(cancellation, tcp_write_all_cancelled_reports_the_prefix_written) {
    run_ct([]() -> corio::task<> {
        auto p = co_await connected_pair();
        shrink_buffers(p.client.native_handle());
        shrink_buffers(p.server.native_handle());
        std::size_t prefix = SIZE_MAX;
        std::vector<char> big(4 << 20, 'a');
        auto h = corio::spawn([](corio::net::tcp_stream* s, std::vector<char>* data,
                                 std::size_t* out) -> corio::task<> {
            auto aw = s->write_all(std::as_bytes(std::span<const char>(*data)));
            try {
                (void)co_await aw;
            } catch (const corio::cancelled_error&) {
                *out = aw.written();
                throw;
            }
        }(&p.client, &big, &prefix));
        co_await settle();
        EXPECT_FALSE(h.is_finished()) << "4 MiB fit in the socket buffers: nothing to cancel";
        co_await abort_and_expect_cancelled(h);
        EXPECT_LT(prefix, big.size());
        p.client.close();
        std::size_t received = co_await read_all(p.server);
        EXPECT_EQ(received, prefix) << "written() must tell exactly how much went out";
    }());
}

TEST(cancellation, tcp_accept_cancelled_leaves_the_connection_in_the_backlog) {
    run_ct([]() -> corio::task<> {
        auto listener = corio::net::tcp_listener::bind(corio::net::socket_address::loopback_v4(0));
        EXPECT_THROW((void)co_await corio::timeout(2ms, listener.accept()), corio::timed_out);
        auto h = corio::spawn([](corio::net::tcp_listener* l) -> corio::task<> {
            (void)co_await l->accept();
        }(&listener));
        co_await settle();
        // A connection arrives while the accept is parked (a blocking connect: the kernel
        // completes it without the runtime running); the accept is cancelled before it runs.
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(listener.local_address().port());
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        sockaddr_in local{};
        socklen_t len = sizeof local;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len);
        co_await abort_and_expect_cancelled(h);
        auto accepted = co_await corio::timeout(5s, listener.accept());
        EXPECT_EQ(accepted.second.port(), ntohs(local.sin_port))
            << "the pending connection was lost";
        ::close(fd);
    }());
}

TEST(cancellation, tcp_connect_cancelled_closes_the_half_open_socket) {
    // A listening socket whose accept queue is full: the kernel drops further SYNs, so a
    // connect waits (retransmitting) until cancelled. Set up outside the runtime (it blocks).
    int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(lfd, 1), 0);
    socklen_t len = sizeof addr;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::vector<int> fillers;
    bool full = false;
    for (int i = 0; i < 16 && !full; ++i) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        fillers.push_back(fd);
        ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        pollfd pfd{fd, POLLOUT, 0};
        full = ::poll(&pfd, 1, 200) == 0;  // not established within 200 ms: the queue is full
    }
    ASSERT_TRUE(full) << "could not fill the accept queue";
    const std::uint16_t port = ntohs(addr.sin_port);

    run_ct([](std::uint16_t p) -> corio::task<> {
        auto target = corio::net::socket_address::loopback_v4(p);
        int fds_before = open_fds();
        std::atomic<bool> finished_connect{false};
        auto h = corio::spawn(
            [](corio::net::socket_address a, std::atomic<bool>* done) -> corio::task<> {
                auto s = co_await corio::net::tcp_stream::connect(a);
                done->store(true);
            }(target, &finished_connect));
        co_await settle();
        EXPECT_FALSE(h.is_finished()) << "the connect did not wait";
        co_await abort_and_expect_cancelled(h);
        EXPECT_FALSE(finished_connect.load());
        EXPECT_EQ(open_fds(), fds_before) << "the cancelled connect left its socket open";
        EXPECT_THROW((void)co_await corio::timeout(20ms, corio::net::tcp_stream::connect(target)),
                     corio::timed_out);
        EXPECT_EQ(open_fds(), fds_before) << "the timed-out connect left its socket open";
    }(port));
    for (int fd : fillers) ::close(fd);
    ::close(lfd);
}

TEST(cancellation, resolve_cancelled_returns_at_once_while_the_lookup_finishes_on_the_pool) {
    run_ct_one_blocking_thread([]() -> corio::task<> {
        std::atomic<bool> release{false};
        auto blocker = corio::spawn_blocking([&release] { hold_until(release); });
        // "127.1" is not a dotted quad, so it goes to getaddrinfo on the pool, which reads it
        // as 127.0.0.1 without a hosts file or DNS. ("localhost" is answered in place.)
        auto h = corio::spawn(
            []() -> corio::task<> { (void)co_await corio::net::resolve("127.1:80"); }());
        co_await settle();
        EXPECT_FALSE(h.is_finished());
        auto t0 = corio::clock::now();
        co_await abort_and_expect_cancelled(h);
        EXPECT_LT(corio::clock::now() - t0, 5s) << "the cancelled resolve waited for the lookup";
        release = true;
        co_await blocker;
        auto addrs = co_await corio::net::resolve("127.0.0.1:80");  // numeric: parsed in place
        EXPECT_EQ(addrs.size(), 1u);
    }());
}

// ======================================================================== sync

TEST(cancellation, semaphore_acquire_cancelled_leaves_the_queue_and_gives_back_a_granted_permit) {
    run_ct([]() -> corio::task<> {
        corio::semaphore sem{0};
        // abort while queued: leaves the queue, holds nothing
        auto h = corio::spawn(
            [](corio::semaphore* s) -> corio::task<> { auto p = co_await s->acquire(); }(&sem));
        co_await settle();
        EXPECT_EQ(sem.waiters(), 1u);
        co_await abort_and_expect_cancelled(h);
        EXPECT_EQ(sem.waiters(), 0u);
        // timeout expiry: leaves the queue
        EXPECT_THROW((void)co_await corio::timeout(2ms, sem.acquire()), corio::timed_out);
        EXPECT_EQ(sem.waiters(), 0u);
        // losing a select after the permit was granted: the permit is given back
        int acquire_lost = 0;
        for (int i = 0; i < 100; ++i) {
            corio::notify n;
            auto s = corio::spawn(
                [](corio::semaphore* sm, corio::notify* nn) -> corio::task<std::size_t> {
                    auto r = co_await corio::select(sm->acquire(), nn->notified());
                    co_return r.index();
                }(&sem, &n));
            co_await settle();
            sem.release(1);
            n.notify_one();
            std::size_t winner = co_await s;
            if (winner == 1) ++acquire_lost;
            EXPECT_EQ(sem.available_permits(), 1u) << "a permit was lost";
            auto p = sem.try_acquire();
            p->forget();  // back to zero for the next round
        }
        EXPECT_GT(acquire_lost, 0);
    }());
}

TEST(cancellation, mutex_lock_cancelled_leaves_the_queue_and_unlocks_a_handed_over_lock) {
    run_ct([]() -> corio::task<> {
        corio::mutex<int> m{0};
        auto held = co_await m.lock();
        bool next_got = false;
        auto a = corio::spawn(
            [](corio::mutex<int>* mu) -> corio::task<> { auto g = co_await mu->lock(); }(&m));
        auto b = corio::spawn([](corio::mutex<int>* mu, bool* got) -> corio::task<> {
            auto g = co_await mu->lock();
            *got = true;
        }(&m, &next_got));
        co_await settle();
        co_await abort_and_expect_cancelled(a);  // queued: leaves, never gets the lock
        held.unlock();
        co_await b;
        EXPECT_TRUE(next_got);
        EXPECT_FALSE(m.is_locked());
#if CORIO_SELECT_NON_DEFAULT_RESULTS
        auto g = co_await m.lock();
        EXPECT_THROW((void)co_await corio::timeout(2ms, m.lock()), corio::timed_out);
        g.unlock();
        EXPECT_FALSE(m.is_locked()) << "a timed-out lock() was handed the lock";
        int lock_lost = 0;
        for (int i = 0; i < 100; ++i) {
            corio::notify n;
            auto again = co_await m.lock();
            auto s = corio::spawn(
                [](corio::mutex<int>* mu, corio::notify* nn) -> corio::task<std::size_t> {
                    auto r = co_await corio::select(mu->lock(), nn->notified());
                    co_return r.index();
                }(&m, &n));
            co_await settle();
            again.unlock();  // handed to the select's lock branch
            n.notify_one();
            std::size_t winner = co_await s;
            if (winner == 1) ++lock_lost;
            EXPECT_FALSE(m.is_locked()) << "the lock handed to a losing branch was kept";
        }
        EXPECT_GT(lock_lost, 0);
#else
        ADD_FAILURE()
            << "does not compile: select()/timeout() over mutex::lock() (its guard has no default "
               "constructor; select.hpp resume_winner default-constructs the result variant)";
#endif
    }());
}

TEST(cancellation, rw_lock_cancelled_leaves_the_queue_and_releases_a_handed_over_lock) {
    run_ct([]() -> corio::task<> {
        corio::rw_lock<int> l{0};
        auto w = co_await l.write();
        auto reader = corio::spawn(
            [](corio::rw_lock<int>* rw) -> corio::task<> { auto g = co_await rw->read(); }(&l));
        auto writer = corio::spawn(
            [](corio::rw_lock<int>* rw) -> corio::task<> { auto g = co_await rw->write(); }(&l));
        co_await settle();
        co_await abort_and_expect_cancelled(reader);
        co_await abort_and_expect_cancelled(writer);
        w.unlock();
        EXPECT_TRUE(l.try_write().has_value()) << "a cancelled waiter holds the lock";
#if CORIO_SELECT_NON_DEFAULT_RESULTS
        auto r = co_await l.read();
        EXPECT_THROW((void)co_await corio::timeout(2ms, l.write()), corio::timed_out);
        r.unlock();
        EXPECT_TRUE(l.try_write().has_value());
        int write_lost = 0;
        for (int i = 0; i < 100; ++i) {
            corio::notify n;
            auto rg = co_await l.read();
            auto s = corio::spawn(
                [](corio::rw_lock<int>* rw, corio::notify* nn) -> corio::task<std::size_t> {
                    auto res = co_await corio::select(rw->write(), nn->notified());
                    co_return res.index();
                }(&l, &n));
            co_await settle();
            rg.unlock();
            n.notify_one();
            std::size_t winner = co_await s;
            if (winner == 1) ++write_lost;
            EXPECT_TRUE(l.try_write().has_value())
                << "the write lock handed to a losing branch was kept";
        }
        EXPECT_GT(write_lost, 0);
#else
        ADD_FAILURE() << "does not compile: select()/timeout() over rw_lock::read()/write() (their "
                         "guards have no "
                         "default constructor; select.hpp resume_winner default-constructs the "
                         "result variant)";
#endif
    }());
}

TEST(cancellation,
     notify_notified_cancelled_consumes_nothing_and_passes_on_a_delivered_notification) {
    run_ct([]() -> corio::task<> {
        corio::notify n;
        auto h =
            corio::spawn([](corio::notify* nn) -> corio::task<> { co_await nn->notified(); }(&n));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_EQ(n.waiters(), 0u);
        EXPECT_THROW(co_await corio::timeout(2ms, n.notified()), corio::timed_out);
        n.notify_one();  // nobody waits: stored, not swallowed by the departed waiters
        EXPECT_NO_THROW(co_await corio::timeout(5s, n.notified()));
        int lost = 0;
        for (int i = 0; i < 100; ++i) {
            corio::semaphore other{0};
            auto s = corio::spawn(
                [](corio::notify* nn, corio::semaphore* o) -> corio::task<std::size_t> {
                    auto r = co_await corio::select(nn->notified(), o->acquire());
                    co_return r.index();
                }(&n, &other));
            co_await settle();
            n.notify_one();
            other.release(1);
            std::size_t winner = co_await s;
            if (winner == 1) {
                ++lost;
                // passed on: stored as the permit
                EXPECT_NO_THROW(co_await corio::timeout(5s, n.notified()))
                    << "the notification was lost";
            }
        }
        EXPECT_GT(lost, 0);
    }());
}

TEST(cancellation, barrier_arrive_and_wait_cancelled_withdraws_the_arrival) {
    run_ct([]() -> corio::task<> {
        corio::barrier b{2};
        auto h = corio::spawn(
            [](corio::barrier* bb) -> corio::task<> { (void)co_await bb->arrive_and_wait(); }(&b));
        co_await settle();
        EXPECT_EQ(b.waiting(), 1u);
        co_await abort_and_expect_cancelled(h);
        EXPECT_EQ(b.waiting(), 0u);
        EXPECT_THROW((void)co_await corio::timeout(2ms, b.arrive_and_wait()), corio::timed_out);
        EXPECT_EQ(b.waiting(), 0u);
        auto r = co_await corio::select(b.arrive_and_wait(), corio::sleep(2ms));
        EXPECT_EQ(r.index(), 1u);
        EXPECT_EQ(b.waiting(), 0u) << "a losing arrival still counts";
    }());
}

TEST(cancellation, wait_group_wait_cancelled_just_leaves) {
    run_ct([]() -> corio::task<> {
        corio::wait_group wg;
        wg.add(1);
        auto h =
            corio::spawn([](corio::wait_group* g) -> corio::task<> { co_await g->wait(); }(&wg));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_THROW(co_await corio::timeout(2ms, wg.wait()), corio::timed_out);
        EXPECT_EQ(wg.count(), 1u);
        wg.done();
        EXPECT_NO_THROW(co_await corio::timeout(5s, wg.wait()));
    }());
}

// ======================================================================== channels

namespace {

template <class Tx, class Rx>
corio::task<> recv_cancel_paths(Tx& tx, Rx& rx) {
    // abort while parked
    auto h = corio::spawn([](Rx* r) -> corio::task<> { (void)co_await r->recv(); }(&rx));
    co_await settle();
    co_await abort_and_expect_cancelled(h);
    // timeout expiry
    EXPECT_THROW((void)co_await corio::timeout(2ms, rx.recv()), corio::timed_out);
    co_await tx.send(1);
    auto v = rx.try_recv();
    EXPECT_TRUE(v) << "a cancelled recv took the message";
    // losing a select when the message arrives at the same moment
    int lost = 0;
    for (int i = 0; i < 100; ++i) {
        corio::notify n;
        auto s = corio::spawn([](Rx* r, corio::notify* nn) -> corio::task<std::size_t> {
            auto res = co_await corio::select(r->recv(), nn->notified());
            co_return res.index();
        }(&rx, &n));
        co_await settle();
        co_await tx.send(int(i));
        n.notify_one();
        std::size_t winner = co_await s;
        if (winner == 1) {
            ++lost;
            auto left = rx.try_recv();
            EXPECT_TRUE(left) << "a losing recv took the message";
        }
    }
    EXPECT_GT(lost, 0);
}

}  // namespace

TEST(cancellation, mpsc_recv_cancelled_leaves_the_message_in_the_channel) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(4);
        co_await recv_cancel_paths(tx, rx);
    }());
}

TEST(cancellation, mpsc_unbounded_recv_cancelled_leaves_the_message_in_the_channel) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::unbounded_channel<int>();
        co_await recv_cancel_paths(tx, rx);
    }());
}

TEST(cancellation, mpsc_send_cancelled_has_not_sent_and_passes_on_its_wake) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(1);
        co_await tx.send(0);
        // abort while parked on a full channel
        auto a = corio::spawn(
            [](corio::mpsc::sender<int> t) -> corio::task<> { co_await t.send(1); }(tx));
        co_await settle();
        co_await abort_and_expect_cancelled(a);
        // timeout expiry, losing a select
        EXPECT_THROW(co_await corio::timeout(2ms, tx.send(2)), corio::timed_out);
        auto r = co_await corio::select(tx.send(3), corio::sleep(2ms));
        EXPECT_EQ(r.index(), 1u);
        // a wake received by a sender cancelled before it ran is passed to the next sender
        auto s1 = corio::spawn(
            [](corio::mpsc::sender<int> t) -> corio::task<> { co_await t.send(4); }(tx));
        co_await settle();
        auto s2 = corio::spawn(
            [](corio::mpsc::sender<int> t) -> corio::task<> { co_await t.send(5); }(tx));
        co_await settle();
        auto first = rx.try_recv();  // wakes s1
        EXPECT_TRUE(first);
        co_await abort_and_expect_cancelled(s1);
        EXPECT_TRUE(co_await yield_until([&] { return s2.is_finished(); }, 1000))
            << "the wake was lost";
        std::vector<int> got;
        for (;;) {
            auto v = rx.try_recv();
            if (!v) break;
            got.push_back(*v);
        }
        EXPECT_EQ(got, (std::vector<int>{5})) << "only the uncancelled send may have sent";
        if (!s2.is_finished()) s2.abort();
        try {
            co_await s2;
        } catch (const corio::cancelled_error&) {
        }
    }());
}

TEST(cancellation, mpsc_unbounded_send_in_a_cancelled_task_has_not_sent) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::unbounded_channel<int>();
        corio::notify never;
        bool threw = false;
        auto h = corio::spawn([](corio::notify* n, corio::mpsc::unbounded_sender<int>* t,
                                 bool* out) -> corio::task<> {
            try {
                co_await n->notified();
            } catch (const corio::cancelled_error&) {
            }
            try {
                co_await t->send(9);  // never waits, but checks the cancellation first
            } catch (const corio::cancelled_error&) {
                *out = true;
            }
        }(&never, &tx, &threw));
        co_await settle();
        h.abort();
        co_await h;
        EXPECT_TRUE(threw);
        EXPECT_EQ(rx.try_recv().status(), corio::try_status::empty) << "a cancelled send sent";
    }());
}

TEST(cancellation, oneshot_recv_cancelled_leaves_the_value) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::oneshot::channel<int>();
        auto h = corio::spawn([](corio::oneshot::receiver<int>* r) -> corio::task<> {
            (void)co_await r->recv();
        }(&rx));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_THROW((void)co_await corio::timeout(2ms, rx.recv()), corio::timed_out);
        corio::notify n;
        n.notify_one();
        auto r = co_await corio::select(rx.recv(), n.notified());
        EXPECT_EQ(r.index(), 1u);
        EXPECT_TRUE(tx.send(3));
        int v = co_await rx;
        EXPECT_EQ(v, 3);
    }());
}

TEST(cancellation, broadcast_recv_cancelled_keeps_the_receiver_position) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::broadcast::channel<int>(8);
        auto h = corio::spawn([](corio::broadcast::receiver<int>* r) -> corio::task<> {
            (void)co_await r->recv();
        }(&rx));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_THROW((void)co_await corio::timeout(2ms, rx.recv()), corio::timed_out);
        int lost = 0;
        for (int i = 0; i < 100; ++i) {
            corio::notify n;
            auto s = corio::spawn([](corio::broadcast::receiver<int>* r,
                                     corio::notify* nn) -> corio::task<std::size_t> {
                auto res = co_await corio::select(r->recv(), nn->notified());
                co_return res.index();
            }(&rx, &n));
            co_await settle();
            EXPECT_TRUE(tx.send(int(i)));
            n.notify_one();
            std::size_t winner = co_await s;
            if (winner == 1) {
                ++lost;
                auto left = rx.try_recv();
                EXPECT_TRUE(left) << "a losing recv moved the receiver on";
                if (left) {
                    EXPECT_EQ(*left, i);
                }
            }
        }
        EXPECT_GT(lost, 0);
    }());
}

TEST(cancellation, watch_changed_cancelled_keeps_the_seen_version) {
    run_ct([]() -> corio::task<> {
        auto [tx, rx] = corio::watch::channel<int>(0);
        auto h = corio::spawn([](corio::watch::receiver<int>* r) -> corio::task<> {
            (void)co_await r->changed();
        }(&rx));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_THROW((void)co_await corio::timeout(2ms, rx.changed()), corio::timed_out);
        int lost = 0;
        for (int i = 0; i < 100; ++i) {
            corio::notify n;
            auto s = corio::spawn(
                [](corio::watch::receiver<int>* r, corio::notify* nn) -> corio::task<std::size_t> {
                    auto res = co_await corio::select(r->changed(), nn->notified());
                    co_return res.index();
                }(&rx, &n));
            co_await settle();
            tx.send(int(i + 1));
            n.notify_one();
            std::size_t winner = co_await s;
            if (winner == 1) {
                ++lost;
                EXPECT_TRUE(rx.has_changed()) << "a losing changed() marked the version seen";
            }
            (void)rx.borrow_and_update();
        }
        EXPECT_GT(lost, 0);
    }());
}

// ======================================================================== combinators

TEST(cancellation, select_cancelled_withdraws_every_branch_and_awaits_its_tasks) {
    run_mt([]() -> corio::task<> {
        corio::semaphore sem{0};
        auto [tx, rx] = corio::mpsc::channel<int>(2);
        std::atomic<bool> started{false}, unwound{false};
        auto h = corio::spawn([](corio::semaphore* s, corio::mpsc::receiver<int>* r,
                                 std::atomic<bool>* st, std::atomic<bool>* u) -> corio::task<> {
            (void)co_await corio::select(
                s->acquire(), r->recv(),
                [](std::atomic<bool>* st2, std::atomic<bool>* u2) -> corio::task<> {
                    set_on_exit g{u2};
                    st2->store(true);
                    co_await corio::sleep(10s);
                }(st, u));
        }(&sem, &rx, &started, &unwound));
        while (!started.load() || sem.waiters() == 0) co_await corio::yield_now();
        co_await abort_and_expect_cancelled(h);
        EXPECT_TRUE(unwound.load()) << "the select's task branch outlived it";
        EXPECT_EQ(sem.waiters(), 0u);
        sem.release(1);
        EXPECT_EQ(sem.available_permits(), 1u);
        co_await tx.send(1);
        EXPECT_TRUE(rx.try_recv()) << "the cancelled select's recv took the message";
    }());
}

TEST(cancellation, join_cancelled_cancels_and_awaits_every_branch) {
    run_mt([]() -> corio::task<> {
        std::atomic<bool> s0{false}, u0{false}, s1{false}, u1{false};
        auto sleeper = [](std::atomic<bool>* st, std::atomic<bool>* u) -> corio::task<int> {
            set_on_exit g{u};
            st->store(true);
            co_await corio::sleep(10s);
            co_return 1;
        };
        auto j = corio::spawn([](corio::task<int> a, corio::task<int> b) -> corio::task<> {
            (void)co_await corio::join(std::move(a), std::move(b));
        }(sleeper(&s0, &u0), sleeper(&s1, &u1)));
        while (!s0.load() || !s1.load()) co_await corio::yield_now();
        co_await abort_and_expect_cancelled(j);
        EXPECT_TRUE(u0.load() && u1.load()) << "a join branch outlived the cancelled join";

        std::atomic<bool> s2{false}, u2{false}, s3{false}, u3{false};
        auto t = corio::spawn([](corio::task<int> a, corio::task<int> b) -> corio::task<> {
            (void)co_await corio::try_join(std::move(a), std::move(b));
        }(sleeper(&s2, &u2), sleeper(&s3, &u3)));
        while (!s2.load() || !s3.load()) co_await corio::yield_now();
        co_await abort_and_expect_cancelled(t);
        EXPECT_TRUE(u2.load() && u3.load()) << "a try_join branch outlived the cancelled try_join";
    }());
}

TEST(cancellation, timeout_cancelled_throws_cancelled_error_and_expiry_withdraws_the_operation) {
    run_mt([]() -> corio::task<> {
        auto [tx, rx] = corio::mpsc::channel<int>(2);
        // expiry: the recv is withdrawn
        EXPECT_THROW((void)co_await corio::timeout(2ms, rx.recv()), corio::timed_out);
        co_await tx.send(1);
        EXPECT_TRUE(rx.try_recv());
        // cancelled: cancelled_error (not timed_out), the task branch cancelled and awaited
        std::atomic<bool> started{false}, unwound{false};
        auto h = corio::spawn([](std::atomic<bool>* st, std::atomic<bool>* u) -> corio::task<> {
            (void)co_await corio::timeout(
                10s, [](std::atomic<bool>* st2, std::atomic<bool>* u2) -> corio::task<> {
                    set_on_exit g{u2};
                    st2->store(true);
                    co_await corio::sleep(1h);
                }(st, u));
        }(&started, &unwound));
        while (!started.load()) co_await corio::yield_now();
        co_await abort_and_expect_cancelled(h);
        EXPECT_TRUE(unwound.load());
    }());
}

TEST(cancellation, join_set_join_next_cancelled_takes_nothing) {
    run_ct([]() -> corio::task<> {
        corio::join_set<int> set;
        corio::notify gate;
        set.spawn([](corio::notify* g) -> corio::task<int> {
            co_await g->notified();
            co_return 4;
        }(&gate));
        auto h = corio::spawn(
            [](corio::join_set<int>* s) -> corio::task<> { (void)co_await s->join_next(); }(&set));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_THROW((void)co_await corio::timeout(2ms, set.join_next()), corio::timed_out);
        EXPECT_EQ(set.size(), 1u);
        gate.notify_one();
        auto r = co_await set.join_next();
        EXPECT_EQ(r, std::optional<int>(4));
    }());
}

TEST(cancellation, token_cancelled_await_cancelled_leaves_the_token_untouched) {
    run_ct([]() -> corio::task<> {
        corio::cancellation_token token;
        auto h = corio::spawn(
            [](corio::cancellation_token t) -> corio::task<> { co_await t.cancelled(); }(token));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_FALSE(token.is_cancelled());
        EXPECT_THROW(co_await corio::timeout(2ms, token.cancelled()), corio::timed_out);
        auto r = co_await corio::select(token.cancelled(), corio::sleep(2ms));
        EXPECT_EQ(r.index(), 1u);
        token.cancel();
        co_await token.cancelled();  // not consumed by anyone
        co_await token.cancelled();
    }());
}

// ======================================================================== other awaits

TEST(cancellation, rate_limiter_until_ready_cancelled_takes_no_cell) {
    run_ct([]() -> corio::task<> {
        corio::rate_limiter limiter{corio::quota::with_period(400ms)};
        auto t0 = corio::clock::now();
        EXPECT_TRUE(limiter.try_acquire());  // the only cell for 400 ms
        auto h = corio::spawn(
            [](corio::rate_limiter* l) -> corio::task<> { co_await l->until_ready(); }(&limiter));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_THROW(co_await corio::timeout(2ms, limiter.until_ready()), corio::timed_out);
        auto r = co_await corio::select(limiter.until_ready(), corio::sleep(2ms));
        EXPECT_EQ(r.index(), 1u);
        co_await limiter.until_ready();  // the next cell, due at t0 + 400 ms, is still free
        EXPECT_LT(corio::clock::now() - t0, 700ms) << "a cancelled until_ready took the next cell";
        EXPECT_FALSE(limiter.try_acquire());
    }());
}

TEST(cancellation, retry_cancelled_during_backoff_starts_no_new_attempt) {
    run_ct([]() -> corio::task<> {
        std::atomic<int> attempts{0};
        auto h = corio::spawn([](std::atomic<int>* a) -> corio::task<> {
            (void)co_await corio::retry(corio::backoff::fixed(10s).max_attempts(5),
                                        [a]() -> corio::task<int> {
                                            ++*a;
                                            throw std::runtime_error("fails");
                                            co_return 0;
                                        });
        }(&attempts));
        co_await settle();
        EXPECT_EQ(attempts.load(), 1);
        auto t0 = corio::clock::now();
        co_await abort_and_expect_cancelled(h);
        EXPECT_LT(corio::clock::now() - t0, 5s) << "the backoff sleep was not withdrawn";
        co_await settle();
        EXPECT_EQ(attempts.load(), 1) << "a cancelled retry started another attempt";
    }());
}

namespace {

corio::async_generator<int> numbers_waiting_on(corio::notify* n, std::atomic<bool>* unwound,
                                               int* resumed) {
    set_on_exit g{unwound};
    for (int i = 0;; ++i) {
        ++*resumed;
        co_await n->notified();
        co_yield i;
    }
}

}  // namespace

TEST(cancellation, async_generator_next_cancelled_does_not_resume_the_generator) {
    run_ct([]() -> corio::task<> {
        // Parked in an await inside the generator: cancelled_error comes out of next().
        corio::notify n;
        std::atomic<bool> unwound{false};
        int resumed = 0;
        auto h = corio::spawn([](corio::notify* nn, std::atomic<bool>* u, int* r) -> corio::task<> {
            auto g = numbers_waiting_on(nn, u, r);
            (void)co_await g.next();
        }(&n, &unwound, &resumed));
        co_await settle();
        co_await abort_and_expect_cancelled(h);
        EXPECT_TRUE(unwound.load());
        EXPECT_EQ(n.waiters(), 0u);

        // next() in a cancelled task: throws without resuming the generator, which stays at
        // its co_yield.
        std::atomic<bool> unwound2{false};
        int resumed2 = 0;
        corio::notify never;
        auto h2 = corio::spawn([](corio::notify* gate, corio::notify* nv, std::atomic<bool>* u,
                                  int* r) -> corio::task<> {
            auto g = numbers_waiting_on(gate, u, r);
            auto first = co_await g.next();
            EXPECT_EQ(first, std::optional<int>(0));
            try {
                co_await nv->notified();
            } catch (const corio::cancelled_error&) {
            }
            int before = *r;
            try {
                (void)co_await g.next();
                ADD_FAILURE() << "next() in a cancelled task returned";
            } catch (const corio::cancelled_error&) {
            }
            EXPECT_EQ(*r, before) << "next() resumed the generator in a cancelled task";
            EXPECT_FALSE(u->load()) << "the generator must stay at its co_yield";
        }(&n, &never, &unwound2, &resumed2));
        n.notify_one();
        co_await settle();
        h2.abort();
        co_await h2;
        EXPECT_TRUE(unwound2.load()) << "the generator's frame is destroyed with its owner";
    }());
}
