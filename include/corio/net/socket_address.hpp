// corio/net/socket_address.hpp — an IPv4 or IPv6 address with a port.
//
//     auto a = corio::net::socket_address::parse("127.0.0.1:8080");   // std::optional
//     auto b = corio::net::socket_address::parse("[::1]:8080");
//     std::cout << a->to_string();                                      // "127.0.0.1:8080"
//
// Only numeric addresses are parsed here; host names go through corio::net::resolve().
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <netinet/in.h>
#include <sys/socket.h>

namespace corio::net {

class socket_address {
public:
    socket_address() noexcept;

    // "a.b.c.d:port" or "[v6]:port". std::nullopt if it is not exactly that.
    static std::optional<socket_address> parse(std::string_view text) noexcept;
    // A numeric IP ("127.0.0.1", "::1") and a port.
    static std::optional<socket_address> from_ip(std::string_view ip, std::uint16_t port) noexcept;
    static socket_address from_native(const sockaddr* sa, socklen_t len) noexcept;
    static socket_address loopback_v4(std::uint16_t port) noexcept;
    static socket_address loopback_v6(std::uint16_t port) noexcept;

    bool is_v4() const noexcept { return family() == AF_INET; }
    bool is_v6() const noexcept { return family() == AF_INET6; }
    int family() const noexcept { return m_storage.ss_family; }
    std::uint16_t port() const noexcept;
    void set_port(std::uint16_t port) noexcept;

    // "127.0.0.1" / "::1"
    std::string ip_string() const;
    // "127.0.0.1:8080" / "[::1]:8080"
    std::string to_string() const;

    const sockaddr* native() const noexcept {
        return reinterpret_cast<const sockaddr*>(&m_storage);
    }
    socklen_t native_size() const noexcept { return m_len; }

    friend bool operator==(const socket_address& a, const socket_address& b) noexcept;
    friend std::ostream& operator<<(std::ostream& os, const socket_address& a) {
        return os << a.to_string();
    }

private:
    sockaddr_storage m_storage{};
    socklen_t m_len = 0;
};

}  // namespace corio::net
