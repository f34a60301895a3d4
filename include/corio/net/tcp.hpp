// corio/net/tcp.hpp — TCP listeners and streams.
//
//     auto listener = co_await corio::net::tcp_listener::bind("127.0.0.1:8080");
//     for (;;) {
//         auto [stream, peer] = co_await listener.accept();
//         corio::spawn(serve, std::move(stream));
//     }
//
//     auto s = co_await corio::net::tcp_stream::connect("localhost:8080");
//     co_await s.write_all("ping");
//     std::array<std::byte, 4096> buf;
//     std::size_t n = co_await s.read(buf);      // 0: the peer closed its side
//
// Sockets are non-blocking and registered once with the runtime's reactor (edge-triggered);
// an operation tries the syscall first and parks only on EAGAIN. They must be created and
// used inside a runtime, and one socket belongs to one runtime.
//
// Errors: std::system_error with the errno and a message naming the operation and the
// address ("connect 127.0.0.1:1: Connection refused", "bind 127.0.0.1:80: Address already in
// use", "write 127.0.0.1:40000: Broken pipe"). Unparsable addresses: std::invalid_argument.
// Writes never raise SIGPIPE.
//
// Cancellation: every operation is a cancellation point. A cancelled read or write has
// transferred nothing; a cancelled write_all may have written a prefix (written() tells how
// much); a cancelled accept leaves the pending connection in the backlog; a cancelled
// connect closes the half-open socket.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "corio/detail/io_await.hpp"
#include "corio/error.hpp"
#include "corio/net/socket_address.hpp"
#include "corio/task.hpp"

namespace corio::net {

class tcp_stream;

namespace detail {

// An fd registered with a runtime's reactor: closes and deregisters on destruction.
class registered_fd {
public:
    registered_fd() noexcept = default;
    // Registers `fd` (takes ownership) with the reactor of the runtime running the caller.
    // `optimistic`: try I/O before the reactor reports readiness (new sockets are).
    registered_fd(int fd, bool optimistic);
    registered_fd(registered_fd&& o) noexcept
        : m_fd(std::exchange(o.m_fd, -1)), m_reg(std::exchange(o.m_reg, nullptr)) {}
    registered_fd& operator=(registered_fd&& o) noexcept;
    ~registered_fd() { close(); }

    int fd() const noexcept { return m_fd; }
    corio::detail::io_registration* reg() const noexcept { return m_reg; }
    explicit operator bool() const noexcept { return m_fd >= 0; }
    void close() noexcept;

private:
    int m_fd = -1;
    corio::detail::io_registration* m_reg = nullptr;
};

[[noreturn]] void throw_io_error(int err, const char* op, const socket_address& addr);

}  // namespace detail

enum class shutdown_mode { read, write, both };

class tcp_stream {
public:
    tcp_stream() noexcept = default;
    tcp_stream(tcp_stream&&) noexcept = default;
    tcp_stream& operator=(tcp_stream&&) noexcept = default;

    // Connects to "host:port" ("127.0.0.1:80", "[::1]:80", "localhost:80"), resolving host
    // names on the blocking pool and trying each address in turn.
    static task<tcp_stream> connect(std::string host_port);
    static task<tcp_stream> connect(socket_address addr);

    class [[nodiscard]] read_awaiter : public corio::detail::io_await {
    public:
        read_awaiter(tcp_stream& s, std::span<std::byte> buf) noexcept
            : io_await(s.m_fd.reg(), corio::detail::io_direction::read, &attempt_read, "tcp read"),
              m_stream(s),
              m_buf(buf) {
            want = buf.size();
        }
        bool await_ready() noexcept { return ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return suspend(h); }
        std::size_t await_resume() const;

    private:
        static std::ptrdiff_t attempt_read(io_await& self) noexcept;
        tcp_stream& m_stream;
        std::span<std::byte> m_buf;
    };

    class [[nodiscard]] write_awaiter : public corio::detail::io_await {
    public:
        // all: keep writing until every byte is out (write_all).
        write_awaiter(tcp_stream& s, std::span<const std::byte> buf, bool all) noexcept
            : io_await(s.m_fd.reg(), corio::detail::io_direction::write, &attempt_write,
                       all ? "tcp write_all" : "tcp write"),
              m_stream(s),
              m_buf(buf),
              m_all(all) {}
        bool await_ready() noexcept { return ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return suspend(h); }
        std::size_t await_resume() const;
        // Bytes written so far (meaningful after cancellation or an error of write_all).
        std::size_t written() const noexcept { return m_done; }

    private:
        static std::ptrdiff_t attempt_write(io_await& self) noexcept;
        tcp_stream& m_stream;
        std::span<const std::byte> m_buf;
        std::size_t m_done = 0;
        bool m_all;
    };

    // Reads what is available, at most buf.size() bytes; 0 means end of stream.
    read_awaiter read(std::span<std::byte> buf) noexcept { return {*this, buf}; }
    read_awaiter read(std::span<char> buf) noexcept { return {*this, std::as_writable_bytes(buf)}; }
    // Writes some bytes (at least one unless buf is empty); returns how many.
    write_awaiter write(std::span<const std::byte> buf) noexcept { return {*this, buf, false}; }
    write_awaiter write(std::string_view s) noexcept {
        return {*this, std::as_bytes(std::span(s.data(), s.size())), false};
    }
    // Writes every byte of buf; returns buf.size(). The buffer must outlive the await.
    write_awaiter write_all(std::span<const std::byte> buf) noexcept { return {*this, buf, true}; }
    write_awaiter write_all(std::string_view s) noexcept {
        return {*this, std::as_bytes(std::span(s.data(), s.size())), true};
    }

    // Shuts down one or both directions (shutdown(2)). Throws std::system_error.
    void shutdown(shutdown_mode how = shutdown_mode::write);
    // Closes the socket now (the destructor does it too).
    void close() noexcept { m_fd.close(); }

    const socket_address& peer_address() const noexcept { return m_peer; }
    socket_address local_address() const;
    void set_nodelay(bool on);
    bool nodelay() const;

    int native_handle() const noexcept { return m_fd.fd(); }
    explicit operator bool() const noexcept { return static_cast<bool>(m_fd); }

private:
    friend class tcp_listener;
    tcp_stream(detail::registered_fd fd, socket_address peer) noexcept
        : m_fd(std::move(fd)), m_peer(peer) {}

    detail::registered_fd m_fd;
    socket_address m_peer;
};

class tcp_listener {
public:
    tcp_listener() noexcept = default;
    tcp_listener(tcp_listener&&) noexcept = default;
    tcp_listener& operator=(tcp_listener&&) noexcept = default;

    // Binds and listens on "host:port" (port 0 picks a free port; see local_address()).
    // Host names are resolved on the blocking pool. SO_REUSEADDR is set; an address in use
    // by another listener still fails with EADDRINUSE.
    static task<tcp_listener> bind(std::string host_port, int backlog = 1024);
    // Binds a numeric address, synchronously.
    static tcp_listener bind(const socket_address& addr, int backlog = 1024);

    class [[nodiscard]] accept_awaiter : public corio::detail::io_await {
    public:
        explicit accept_awaiter(tcp_listener& l) noexcept
            : io_await(l.m_fd.reg(), corio::detail::io_direction::read, &attempt_accept,
                       "tcp accept"),
              m_listener(l) {}
        bool await_ready() noexcept { return ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return suspend(h); }
        std::pair<tcp_stream, socket_address> await_resume();

    private:
        static std::ptrdiff_t attempt_accept(io_await& self) noexcept;
        tcp_listener& m_listener;
        sockaddr_storage m_peer{};
        socklen_t m_peer_len = 0;
    };

    // The next connection and its peer's address.
    accept_awaiter accept() noexcept { return accept_awaiter(*this); }

    const socket_address& local_address() const noexcept { return m_local; }
    int native_handle() const noexcept { return m_fd.fd(); }
    void close() noexcept { m_fd.close(); }

private:
    detail::registered_fd m_fd;
    socket_address m_local;
};

}  // namespace corio::net
