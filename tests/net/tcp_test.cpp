// Tests of corio/net/tcp.hpp and resolve.hpp over real sockets on the loopback interface.
//
// Synchronisation is by join handles, semaphores and the data itself; nothing sleeps.
// Every test body is a coroutine run by run_mt()/run_ct() (60 s watchdog each).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <corio/corio.hpp>
#include <corio/net/resolve.hpp>
#include <corio/net/tcp.hpp>

#include "test_support.hpp"

namespace {

using namespace std::chrono_literals;
using corio::task;
using corio::net::shutdown_mode;
using corio::net::socket_address;
using corio::net::tcp_listener;
using corio::net::tcp_stream;
using corio::testing::run_ct;
using corio::testing::run_mt;

// Runs `body()` as two tests, one per runtime flavour.
#define TCP_TEST_BOTH_FLAVOURS(name, body) \
    TEST(tcp, name##_multi_thread) {       \
        run_mt(body());                    \
    }                                      \
    TEST(tcp, name##_current_thread) {     \
        run_ct(body());                    \
    }

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}

// ------------------------------------------------------------------ helpers

task<std::string> read_exactly(tcp_stream& s, std::size_t n) {
    std::string out;
    std::array<char, 16 * 1024> buf;
    while (out.size() < n) {
        std::size_t want = std::min(buf.size(), n - out.size());
        std::size_t k = co_await s.read(std::span<char>(buf.data(), want));
        if (k == 0) break;
        out.append(buf.data(), k);
    }
    co_return out;
}

task<std::string> read_to_eof(tcp_stream& s) {
    std::string out;
    std::array<char, 16 * 1024> buf;
    for (;;) {
        std::size_t k = co_await s.read(buf);
        if (k == 0) break;
        out.append(buf.data(), k);
    }
    co_return out;
}

task<> echo_connection(tcp_stream s) {
    std::array<char, 4096> buf;
    for (;;) {
        std::size_t n = co_await s.read(buf);
        if (n == 0) break;
        co_await s.write_all(std::string_view(buf.data(), n));
    }
}

// Accepts one connection, echoes it to EOF, returns the peer address accept() reported.
task<socket_address> accept_and_echo(tcp_listener* l) {
    auto [s, peer] = co_await l->accept();
    EXPECT_EQ(s.peer_address(), peer);
    co_await echo_connection(std::move(s));
    co_return peer;
}

task<tcp_stream> accept_stream(tcp_listener* l) {
    auto [s, peer] = co_await l->accept();
    co_return std::move(s);
}

// One echo round trip over a fresh connection to `l` (which must have nobody accepting).
task<> round_trip_via(tcp_listener* l, std::string msg) {
    auto server = corio::spawn(accept_and_echo(l));
    auto c = co_await tcp_stream::connect(l->local_address());
    co_await c.write_all(msg);
    EXPECT_EQ(co_await read_exactly(c, msg.size()), msg);
    c.shutdown(shutdown_mode::write);
    EXPECT_EQ(co_await read_to_eof(c), "");
    co_await server;
}

template <class T>
task<std::optional<std::system_error>> system_error_of(task<T> t) {
    try {
        co_await std::move(t);
    } catch (const std::system_error& e) {
        co_return e;
    }
    co_return std::nullopt;
}

template <class T>
task<std::optional<std::string>> invalid_argument_of(task<T> t) {
    try {
        co_await std::move(t);
    } catch (const std::invalid_argument& e) {
        co_return std::string(e.what());
    }
    co_return std::nullopt;
}

// A loopback port with nothing listening (bound, then closed again).
task<std::uint16_t> closed_port() {
    auto l = tcp_listener::bind(socket_address::loopback_v4(0));
    std::uint16_t port = l.local_address().port();
    l.close();
    co_return port;
}

bool has_ipv6_loopback() {
    int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

// ------------------------------------------------------------------ echo

task<> echo_round_trip_v4() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    EXPECT_TRUE(l.local_address().is_v4());
    EXPECT_EQ(l.local_address().ip_string(), "127.0.0.1");
    EXPECT_NE(l.local_address().port(), 0) << "local_address() lacks the port picked by the OS";
    auto server = corio::spawn(accept_and_echo(&l));

    auto c = co_await tcp_stream::connect(l.local_address());
    EXPECT_TRUE(static_cast<bool>(c));
    EXPECT_EQ(c.peer_address(), l.local_address());
    EXPECT_EQ(c.local_address().ip_string(), "127.0.0.1");
    for (std::string msg :
         {std::string("hello, corio"), std::string(100'000, 'z'), std::string("x")}) {
        EXPECT_EQ(co_await c.write_all(msg), msg.size());
        EXPECT_EQ(co_await read_exactly(c, msg.size()), msg);
    }
    c.shutdown(shutdown_mode::write);
    EXPECT_EQ(co_await read_to_eof(c), "") << "server closed without echoing everything";
    socket_address seen_by_server = co_await server;
    EXPECT_EQ(seen_by_server, c.local_address());
}
TCP_TEST_BOTH_FLAVOURS(echo_round_trip_over_ipv4_loopback, echo_round_trip_v4)

task<> echo_round_trip_v6() {
    auto l = co_await tcp_listener::bind("[::1]:0");
    EXPECT_TRUE(l.local_address().is_v6());
    EXPECT_NE(l.local_address().port(), 0);
    EXPECT_EQ(l.local_address().to_string(), "[::1]:" + std::to_string(l.local_address().port()));
    auto server = corio::spawn(accept_and_echo(&l));
    auto c = co_await tcp_stream::connect("[::1]:" + std::to_string(l.local_address().port()));
    EXPECT_TRUE(c.peer_address().is_v6());
    co_await c.write_all("over v6");
    EXPECT_EQ(co_await read_exactly(c, 7), "over v6");
    c.shutdown(shutdown_mode::write);
    EXPECT_EQ(co_await read_to_eof(c), "");
    co_await server;
}

TEST(tcp, echo_round_trip_over_ipv6_loopback_multi_thread) {
    if (!has_ipv6_loopback()) GTEST_SKIP() << "no ::1 on this machine";
    run_mt(echo_round_trip_v6());
}
TEST(tcp, echo_round_trip_over_ipv6_loopback_current_thread) {
    if (!has_ipv6_loopback()) GTEST_SKIP() << "no ::1 on this machine";
    run_ct(echo_round_trip_v6());
}

// ------------------------------------------------------------------ errors

task<> connect_closed_port() {
    std::uint16_t port = co_await closed_port();
    const std::string where = "connect 127.0.0.1:" + std::to_string(port);
    auto e1 = co_await system_error_of(tcp_stream::connect(socket_address::loopback_v4(port)));
    EXPECT_TRUE(e1.has_value()) << "connect to a closed port succeeded";
    if (e1) {
        EXPECT_EQ(e1->code(), std::error_code(ECONNREFUSED, std::system_category())) << e1->what();
        EXPECT_TRUE(contains(e1->what(), where)) << e1->what();
    }
    auto e2 = co_await system_error_of(tcp_stream::connect("127.0.0.1:" + std::to_string(port)));
    EXPECT_TRUE(e2.has_value());
    if (e2) {
        EXPECT_EQ(e2->code().value(), ECONNREFUSED) << e2->what();
        EXPECT_TRUE(contains(e2->what(), where)) << e2->what();
    }
}
TCP_TEST_BOTH_FLAVOURS(connect_to_closed_port_throws_econnrefused_naming_the_address,
                       connect_closed_port)

task<> bind_in_use() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    const socket_address addr = l.local_address();
    const std::string where = "bind " + addr.to_string();
    try {
        auto again = tcp_listener::bind(addr);
        ADD_FAILURE() << "second bind to " << addr << " succeeded";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::error_code(EADDRINUSE, std::system_category())) << e.what();
        EXPECT_TRUE(contains(e.what(), where)) << e.what();
    }
    auto e2 = co_await system_error_of(tcp_listener::bind(addr.to_string()));
    EXPECT_TRUE(e2.has_value());
    if (e2) {
        EXPECT_EQ(e2->code().value(), EADDRINUSE) << e2->what();
        EXPECT_TRUE(contains(e2->what(), where)) << e2->what();
    }
    // The original listener is unaffected.
    co_await round_trip_via(&l, "still listening");
}
TCP_TEST_BOTH_FLAVOURS(bind_to_an_address_in_use_throws_eaddrinuse_naming_the_address, bind_in_use)

task<> unparsable_addresses() {
    for (const char* text : {"nonsense", "127.0.0.1:99999", "127.0.0.1", "::1:80", "[::1]", ""}) {
        auto c = co_await invalid_argument_of(tcp_stream::connect(text));
        EXPECT_TRUE(c.has_value()) << "connect(\"" << text << "\") did not throw invalid_argument";
        if (c) {
            EXPECT_TRUE(contains(*c, text)) << *c;
        }
        auto b = co_await invalid_argument_of(tcp_listener::bind(text));
        EXPECT_TRUE(b.has_value()) << "bind(\"" << text << "\") did not throw invalid_argument";
        auto r = co_await invalid_argument_of(corio::net::resolve(text));
        EXPECT_TRUE(r.has_value()) << "resolve(\"" << text << "\") did not throw invalid_argument";
    }
}
TCP_TEST_BOTH_FLAVOURS(unparsable_addresses_throw_invalid_argument, unparsable_addresses)

TEST(tcp, creating_a_socket_outside_a_runtime_throws_logic_error) {
    EXPECT_THROW((void)tcp_listener::bind(socket_address::loopback_v4(0)), std::logic_error);
}

// ------------------------------------------------------------------ peer reset

struct write_outcome {
    int complete_writes = 0;
    std::optional<std::system_error> error;
};

task<write_outcome> write_until_error(tcp_listener* l) {
    auto [s, peer] = co_await l->accept();
    std::vector<std::byte> big(64u << 20, std::byte{'x'});
    write_outcome r;
    try {
        for (int i = 0; i < 16; ++i) {
            co_await s.write_all(big);
            ++r.complete_writes;
        }
    } catch (const std::system_error& e) {
        r.error = e;
    }
    co_return r;
}

task<> peer_reset_mid_write() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    auto server = corio::spawn(write_until_error(&l));
    {
        auto c = co_await tcp_stream::connect(l.local_address());
        // Once data arrives the server is inside write_all; stop reading so it parks on a
        // full socket buffer, then reset the connection.
        std::array<char, 4096> buf;
        std::size_t n = co_await c.read(buf);
        EXPECT_GT(n, 0u);
        ::linger lg{1, 0};
        EXPECT_EQ(::setsockopt(c.native_handle(), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
        c.close();  // RST
    }
    write_outcome r = co_await server;
    EXPECT_EQ(r.complete_writes, 0)
        << "a 64 MiB write_all completed to a peer that stopped reading";
    EXPECT_TRUE(r.error.has_value()) << "writing to a reset connection did not throw";
    if (r.error) {
        int code = r.error->code().value();
        EXPECT_TRUE(code == EPIPE || code == ECONNRESET) << r.error->what();
        EXPECT_TRUE(r.error->code().category() == std::system_category());
        EXPECT_TRUE(contains(r.error->what(), "write")) << r.error->what();
    }
    // The runtime (and the listener) keep serving.
    co_await round_trip_via(&l, "after the reset");
}
TCP_TEST_BOTH_FLAVOURS(
    peer_reset_during_write_all_throws_epipe_or_econnreset_and_runtime_keeps_serving,
    peer_reset_mid_write)

// ------------------------------------------------------------------ EOF, large writes

task<std::string> read_all_then_reply(tcp_listener* l) {
    auto [s, peer] = co_await l->accept();
    std::string got = co_await read_to_eof(s);
    // EOF is sticky: another read returns 0 too.
    std::array<char, 16> buf;
    EXPECT_EQ(co_await s.read(buf), 0u);
    co_await s.write_all("bye");  // half-closed: this direction still works
    co_return got;
}

task<> read_returns_zero_at_eof() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    auto server = corio::spawn(read_all_then_reply(&l));
    auto c = co_await tcp_stream::connect(l.local_address());
    co_await c.write_all("abc");
    co_await c.write_all("def");
    c.shutdown(shutdown_mode::write);
    EXPECT_EQ(co_await server, "abcdef");
    EXPECT_EQ(co_await read_to_eof(c), "bye");
}
TCP_TEST_BOTH_FLAVOURS(read_returns_zero_at_eof_after_peer_shutdown_write, read_returns_zero_at_eof)

std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
    std::vector<std::byte> v(n);
    std::mt19937 rng(seed);
    for (auto& b : v) b = std::byte(rng() & 0xff);
    return v;
}

std::uint64_t fnv1a(const std::byte* p, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
    for (std::size_t i = 0; i < n; ++i) {
        h ^= std::uint64_t(p[i]);
        h *= 1099511628211ull;
    }
    return h;
}

task<std::size_t> write_big_then_close(tcp_listener* l, const std::vector<std::byte>* data) {
    auto [s, peer] = co_await l->accept();
    std::size_t n = co_await s.write_all(*data);
    s.shutdown(shutdown_mode::write);
    co_return n;
}

task<> slow_reader_gets_everything() {
    const std::size_t size = 8u << 20;
    const auto data = pattern(size, 2024);
    const std::uint64_t expected = fnv1a(data.data(), data.size());
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    auto server = corio::spawn(write_big_then_close(&l, &data));
    auto c = co_await tcp_stream::connect(l.local_address());
    std::uint64_t h = 1469598103934665603ull;
    std::size_t total = 0;
    std::array<std::byte, 1000> buf;
    for (;;) {
        std::size_t n = co_await c.read(buf);
        if (n == 0) break;
        EXPECT_LE(total + n, size);
        if (total + n > size) break;
        EXPECT_EQ(std::memcmp(buf.data(), data.data() + total, n), 0) << "at offset " << total;
        h = fnv1a(buf.data(), n, h);
        total += n;
        co_await corio::yield_now();  // a slow reader: the writer keeps hitting EAGAIN
    }
    EXPECT_EQ(total, size);
    EXPECT_EQ(h, expected);
    EXPECT_EQ(co_await server, size);
}
TCP_TEST_BOTH_FLAVOURS(write_all_of_8_mib_to_a_slow_reader_arrives_intact,
                       slow_reader_gets_everything)

// ------------------------------------------------------------------ cancellation

task<> accept_forever(tcp_listener* l, corio::semaphore* started) {
    started->release();
    auto [s, peer] = co_await l->accept();
    ADD_FAILURE() << "accept completed, but nobody connected";
}

task<> abort_parked_accept() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    corio::semaphore started{0};
    auto h = corio::spawn(accept_forever(&l, &started));
    (co_await started.acquire()).forget();
    for (int i = 0; i < 20; ++i) co_await corio::yield_now();  // let it reach the accept
    h.abort();
    bool cancelled = false;
    try {
        co_await h;
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    EXPECT_TRUE(cancelled) << "an aborted accept did not throw cancelled_error";
    // The listener still accepts: a connection made now is served.
    co_await round_trip_via(&l, "listener survived");
    // And a connection that arrives while nobody accepts waits in the backlog.
    auto c = co_await tcp_stream::connect(l.local_address());
    auto [s, peer] = co_await l.accept();
    EXPECT_EQ(peer, c.local_address());
}
TCP_TEST_BOTH_FLAVOURS(aborting_a_task_parked_in_accept_throws_cancelled_and_listener_stays_usable,
                       abort_parked_accept)

task<std::size_t> read_once(tcp_stream* s, corio::semaphore* started) {
    started->release();
    std::array<char, 64> buf;
    co_return co_await s->read(buf);
}

task<> abort_parked_read() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    auto acc = corio::spawn(accept_stream(&l));
    auto c = co_await tcp_stream::connect(l.local_address());
    tcp_stream s = co_await acc;

    corio::semaphore started{0};
    auto reader = corio::spawn(read_once(&s, &started));
    (co_await started.acquire()).forget();
    for (int i = 0; i < 20; ++i) co_await corio::yield_now();  // let it park in read()
    reader.abort();
    bool cancelled = false;
    try {
        std::size_t n = co_await reader;
        ADD_FAILURE() << "the aborted read returned " << n;
    } catch (const corio::cancelled_error&) {
        cancelled = true;
    }
    EXPECT_TRUE(cancelled);
    // Data sent afterwards is not lost: this task reads it from the same stream.
    co_await c.write_all("after the abort");
    EXPECT_EQ(co_await read_exactly(s, 15), "after the abort");
    // And the stream still works both ways.
    co_await s.write_all("reply");
    EXPECT_EQ(co_await read_exactly(c, 5), "reply");
}
TCP_TEST_BOTH_FLAVOURS(aborting_a_task_parked_in_read_throws_cancelled_and_later_reads_get_the_data,
                       abort_parked_read)

// ------------------------------------------------------------------ options

task<> nodelay_round_trip() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    auto acc = corio::spawn(accept_stream(&l));
    auto c = co_await tcp_stream::connect(l.local_address());
    tcp_stream s = co_await acc;
    for (tcp_stream* st : {&c, &s}) {
        st->set_nodelay(true);
        EXPECT_TRUE(st->nodelay());
        st->set_nodelay(false);
        EXPECT_FALSE(st->nodelay());
        st->set_nodelay(true);
        EXPECT_TRUE(st->nodelay());
    }
}
TCP_TEST_BOTH_FLAVOURS(set_nodelay_round_trips_through_nodelay, nodelay_round_trip)

// ------------------------------------------------------------------ many connections

task<> serve_n(tcp_listener* l, int n) {
    std::vector<corio::join_handle<void>> hs;
    for (int i = 0; i < n; ++i) {
        auto [s, peer] = co_await l->accept();
        hs.push_back(corio::spawn(echo_connection(std::move(s))));
    }
    for (auto& h : hs) co_await h;
}

task<int> ping_client(socket_address addr, int id, int rounds) {
    auto c = co_await tcp_stream::connect(addr);
    c.set_nodelay(true);
    int ok = 0;
    for (int r = 0; r < rounds; ++r) {
        char msg[32];
        int len = std::snprintf(msg, sizeof msg, "c%05d-r%05d|", id, r);
        std::string_view m(msg, std::size_t(len));
        co_await c.write_all(m);
        std::string back = co_await read_exactly(c, m.size());
        if (back == m) ++ok;
    }
    c.shutdown(shutdown_mode::write);
    std::array<char, 8> buf;
    if (co_await c.read(buf) != 0) ok = -1;
    co_return ok;
}

constexpr int kClients = 200, kRounds = 100;

task<> many_connections() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    auto server = corio::spawn(serve_n(&l, kClients));
    std::vector<corio::join_handle<int>> clients;
    for (int i = 0; i < kClients; ++i)
        clients.push_back(corio::spawn(ping_client(l.local_address(), i, kRounds)));
    int total = 0;
    for (auto& h : clients) {
        int ok = co_await h;
        EXPECT_EQ(ok, kRounds);
        total += ok;
    }
    co_await server;
    EXPECT_EQ(total, kClients * kRounds);
}

TEST(tcp, many_concurrent_connections_all_complete_their_round_trips_multi_thread) {
    run_mt(many_connections());
}

TEST(tcp, many_concurrent_connections_all_complete_their_round_trips_current_thread) {
    run_ct(many_connections());
}

// ------------------------------------------------------------------ resolution

task<> connect_by_host_name() {
    auto l = co_await tcp_listener::bind("127.0.0.1:0");
    auto server = corio::spawn(accept_and_echo(&l));
    auto c = co_await tcp_stream::connect("localhost:" + std::to_string(l.local_address().port()));
    EXPECT_EQ(c.peer_address().port(), l.local_address().port());
    co_await c.write_all("by name");
    EXPECT_EQ(co_await read_exactly(c, 7), "by name");
    c.shutdown(shutdown_mode::write);
    EXPECT_EQ(co_await read_to_eof(c), "");
    co_await server;
}
TCP_TEST_BOTH_FLAVOURS(connect_to_localhost_by_name_resolves_and_connects, connect_by_host_name)

task<> resolve_localhost() {
    auto addrs = co_await corio::net::resolve("localhost:80");
    EXPECT_GE(addrs.size(), 1u);
    for (const auto& a : addrs) {
        EXPECT_EQ(a.port(), 80) << a;
        EXPECT_TRUE(a.to_string().rfind("127.", 0) == 0 || a.ip_string() == "::1") << a;
    }
    // RFC 6761: localhost names are loopback without /etc/hosts or DNS, IPv4 first.
    const std::vector<socket_address> loopback81{socket_address::loopback_v4(81),
                                                 socket_address::loopback_v6(81)};
    EXPECT_EQ(addrs,
              (std::vector{socket_address::loopback_v4(80), socket_address::loopback_v6(80)}));
    EXPECT_EQ(co_await corio::net::resolve("LocalHost.:81"), loopback81);
    EXPECT_EQ(co_await corio::net::resolve("api.localhost:81"), loopback81);
    // Numeric addresses are parsed in place, giving exactly that address.
    auto numeric = co_await corio::net::resolve("127.0.0.1:8080");
    EXPECT_EQ(numeric, std::vector{socket_address::loopback_v4(8080)});
    auto numeric6 = co_await corio::net::resolve("[::1]:9");
    EXPECT_EQ(numeric6, std::vector{socket_address::loopback_v6(9)});
}
TCP_TEST_BOTH_FLAVOURS(resolve_localhost_returns_loopback_addresses_with_the_port,
                       resolve_localhost)

// getaddrinfo("nonexistent.invalid") straight from a plain thread, bounded: the sandbox
// may have a resolver that hangs. nullopt on timeout.
std::optional<int> probe_getaddrinfo(const char* host, std::chrono::seconds limit) {
    struct state {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        int rc = 0;
    };
    auto st = std::make_shared<state>();
    std::thread([st, h = std::string(host)] {
        addrinfo hints{};
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_ADDRCONFIG;
        addrinfo* res = nullptr;
        int rc = ::getaddrinfo(h.c_str(), "80", &hints, &res);
        if (res) ::freeaddrinfo(res);
        std::lock_guard lock(st->m);
        st->rc = rc;
        st->done = true;
        st->cv.notify_all();
    }).detach();
    std::unique_lock lock(st->m);
    if (!st->cv.wait_for(lock, limit, [&] { return st->done; })) return std::nullopt;
    return st->rc;
}

task<std::optional<std::system_error>> resolve_error(std::string text) {
    co_return co_await system_error_of(corio::net::resolve(text));
}

TEST(tcp, resolve_of_a_nonexistent_name_throws_system_error_in_the_resolve_category) {
    auto probe = probe_getaddrinfo("nonexistent.invalid", 20s);
    if (!probe) GTEST_SKIP() << "getaddrinfo hangs in this sandbox";
    if (*probe == 0) GTEST_SKIP() << "this resolver answers for .invalid names";
    for (bool multi : {true, false}) {
        SCOPED_TRACE(multi ? "multi-thread" : "current-thread");
        auto e = multi ? run_mt(resolve_error("nonexistent.invalid:80"))
                       : run_ct(resolve_error("nonexistent.invalid:80"));
        ASSERT_TRUE(e.has_value()) << "resolving nonexistent.invalid succeeded";
        if (*probe == EAI_SYSTEM) {
            EXPECT_TRUE(e->code().category() == std::system_category()) << e->what();
        } else {
            EXPECT_TRUE(e->code().category() == corio::net::resolve_category()) << e->what();
            EXPECT_EQ(e->code().value(), *probe) << e->what();
        }
        EXPECT_TRUE(contains(e->what(), "nonexistent.invalid")) << e->what();
    }
    // And connect() reports the lookup failure the same way.
    auto c = run_mt([]() -> task<std::optional<std::system_error>> {
        co_return co_await system_error_of(tcp_stream::connect("nonexistent.invalid:80"));
    }());
    ASSERT_TRUE(c.has_value());
    EXPECT_TRUE(contains(c->what(), "nonexistent.invalid")) << c->what();
}

}  // namespace
