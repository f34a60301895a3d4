#include "corio/net/tcp.hpp"

#include <cerrno>
#include <system_error>

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "corio/net/resolve.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio::net {

namespace detail {

registered_fd::registered_fd(int fd, bool optimistic) : m_fd(fd) {
    try {
        auto* core = corio::detail::current_scheduler_or_throw("corio::net socket creation");
        m_reg = core->io().register_fd(fd, optimistic);
    } catch (...) {
        ::close(fd);
        m_fd = -1;
        throw;
    }
}

registered_fd& registered_fd::operator=(registered_fd&& o) noexcept {
    if (this != &o) {
        close();
        m_fd = std::exchange(o.m_fd, -1);
        m_reg = std::exchange(o.m_reg, nullptr);
    }
    return *this;
}

void registered_fd::close() noexcept {
    if (m_reg) m_reg->owner->deregister(std::exchange(m_reg, nullptr));
    if (m_fd >= 0) ::close(std::exchange(m_fd, -1));
}

void throw_io_error(int err, const char* op, const socket_address& addr) {
    throw std::system_error(err, std::system_category(), std::string(op) + " " + addr.to_string());
}

}  // namespace detail

namespace {

std::ptrdiff_t neg_errno() noexcept {
    return -std::ptrdiff_t(errno);
}

// Waits for a non-blocking connect to finish and reports SO_ERROR.
class connect_awaiter : corio::detail::io_await {
public:
    explicit connect_awaiter(corio::detail::io_registration* r) noexcept
        : io_await(r, corio::detail::io_direction::write, &attempt, "tcp connect") {}
    bool await_ready() noexcept { return ready(); }
    bool await_suspend(std::coroutine_handle<> h) noexcept { return suspend(h); }
    int await_resume() const {
        if (cancelled) throw cancelled_error();
        return error();
    }

private:
    static std::ptrdiff_t attempt(io_await& self) noexcept {
        int err = 0;
        socklen_t len = sizeof err;
        if (::getsockopt(self.reg->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return neg_errno();
        return -std::ptrdiff_t(err);
    }
};

int open_socket(const socket_address& addr) {
    int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) detail::throw_io_error(errno, "socket", addr);
    return fd;
}

}  // namespace

// ---------------------------------------------------------------- tcp_stream

task<tcp_stream> tcp_stream::connect(socket_address addr) {
    int fd = open_socket(addr);
    int rc = ::connect(fd, addr.native(), addr.native_size());
    if (rc < 0 && errno != EINPROGRESS) {
        int err = errno;
        ::close(fd);
        detail::throw_io_error(err, "connect", addr);
    }
    detail::registered_fd rfd(fd, /*optimistic=*/rc == 0);
    if (rc != 0) {
        int err = co_await connect_awaiter(rfd.reg());
        if (err) detail::throw_io_error(err, "connect", addr);
        rfd.reg()->state.fetch_or(corio::detail::readiness::readable, std::memory_order_relaxed);
    }
    co_return tcp_stream(std::move(rfd), addr);
}

task<tcp_stream> tcp_stream::connect(std::string host_port) {
    std::vector<socket_address> addrs = co_await resolve(host_port);
    std::exception_ptr last;
    for (const socket_address& a : addrs) {
        try {
            co_return co_await connect(a);
        } catch (const std::system_error&) {
            last = std::current_exception();  // try the next address
        }
    }
    if (last) std::rethrow_exception(last);
    throw std::system_error(EADDRNOTAVAIL, std::system_category(),
                            "connect " + host_port + ": no address");
}

std::size_t tcp_stream::read_awaiter::await_resume() const {
    if (cancelled) throw cancelled_error();
    if (result < 0) detail::throw_io_error(error(), "read", m_stream.m_peer);
    return std::size_t(result);
}

std::ptrdiff_t tcp_stream::read_awaiter::attempt_read(io_await& base) noexcept {
    auto& self = static_cast<read_awaiter&>(base);
    ssize_t n = ::recv(self.reg->fd, self.m_buf.data(), self.m_buf.size(), 0);
    return n >= 0 ? n : neg_errno();
}

std::size_t tcp_stream::write_awaiter::await_resume() const {
    if (cancelled) throw cancelled_error();
    if (result < 0) detail::throw_io_error(error(), "write", m_stream.m_peer);
    return std::size_t(result);
}

std::ptrdiff_t tcp_stream::write_awaiter::attempt_write(io_await& base) noexcept {
    auto& self = static_cast<write_awaiter&>(base);
    do {
        ssize_t n = ::send(self.reg->fd, self.m_buf.data() + self.m_done,
                           self.m_buf.size() - self.m_done, MSG_NOSIGNAL);
        if (n < 0) return neg_errno();  // -EAGAIN keeps m_done: write_all resumes from there
        self.m_done += std::size_t(n);
        if (!self.m_all) return n;
    } while (self.m_done < self.m_buf.size());
    return std::ptrdiff_t(self.m_done);
}

void tcp_stream::shutdown(shutdown_mode how) {
    int h = how == shutdown_mode::read    ? SHUT_RD
            : how == shutdown_mode::write ? SHUT_WR
                                          : SHUT_RDWR;
    if (::shutdown(m_fd.fd(), h) < 0) detail::throw_io_error(errno, "shutdown", m_peer);
}

socket_address tcp_stream::local_address() const {
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(m_fd.fd(), reinterpret_cast<sockaddr*>(&ss), &len) < 0)
        detail::throw_io_error(errno, "getsockname", m_peer);
    return socket_address::from_native(reinterpret_cast<sockaddr*>(&ss), len);
}

void tcp_stream::set_nodelay(bool on) {
    int v = on ? 1 : 0;
    if (::setsockopt(m_fd.fd(), IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) < 0)
        detail::throw_io_error(errno, "setsockopt(TCP_NODELAY)", m_peer);
}

bool tcp_stream::nodelay() const {
    int v = 0;
    socklen_t len = sizeof v;
    if (::getsockopt(m_fd.fd(), IPPROTO_TCP, TCP_NODELAY, &v, &len) < 0)
        detail::throw_io_error(errno, "getsockopt(TCP_NODELAY)", m_peer);
    return v != 0;
}

// ---------------------------------------------------------------- tcp_listener

tcp_listener tcp_listener::bind(const socket_address& addr, int backlog) {
    int fd = open_socket(addr);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, addr.native(), addr.native_size()) < 0) {
        int err = errno;
        ::close(fd);
        detail::throw_io_error(err, "bind", addr);
    }
    if (::listen(fd, backlog) < 0) {
        int err = errno;
        ::close(fd);
        detail::throw_io_error(err, "listen", addr);
    }
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    tcp_listener l;
    l.m_fd = detail::registered_fd(fd, /*optimistic=*/true);
    l.m_local = socket_address::from_native(reinterpret_cast<sockaddr*>(&ss), len);
    return l;
}

task<tcp_listener> tcp_listener::bind(std::string host_port, int backlog) {
    std::vector<socket_address> addrs = co_await resolve(host_port);
    std::exception_ptr last;
    for (const socket_address& a : addrs) {
        try {
            co_return bind(a, backlog);
        } catch (const std::system_error&) {
            last = std::current_exception();
        }
    }
    if (last) std::rethrow_exception(last);
    throw std::system_error(EADDRNOTAVAIL, std::system_category(),
                            "bind " + host_port + ": no address");
}

std::ptrdiff_t tcp_listener::accept_awaiter::attempt_accept(io_await& base) noexcept {
    auto& self = static_cast<accept_awaiter&>(base);
    self.m_peer_len = sizeof self.m_peer;
    int fd = ::accept4(self.reg->fd, reinterpret_cast<sockaddr*>(&self.m_peer), &self.m_peer_len,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) return fd;
    // A connection reset before we took it: not our error, take the next one.
    if (errno == ECONNABORTED || errno == EPROTO) return -EINTR;
    return neg_errno();
}

std::pair<tcp_stream, socket_address> tcp_listener::accept_awaiter::await_resume() {
    if (cancelled) throw cancelled_error();
    if (result < 0) detail::throw_io_error(error(), "accept", m_listener.m_local);
    auto peer = socket_address::from_native(reinterpret_cast<sockaddr*>(&m_peer), m_peer_len);
    detail::registered_fd rfd(int(result), /*optimistic=*/true);
    return {tcp_stream(std::move(rfd), peer), peer};
}

}  // namespace corio::net
