#include "corio/net/socket_address.hpp"

#include <charconv>
#include <cstring>

#include <arpa/inet.h>

namespace corio::net {

socket_address::socket_address() noexcept {
    m_storage.ss_family = AF_UNSPEC;
}

std::optional<socket_address> socket_address::from_ip(std::string_view ip,
                                                      std::uint16_t port) noexcept {
    char buf[INET6_ADDRSTRLEN + 1];
    if (ip.empty() || ip.size() >= sizeof buf) return std::nullopt;
    std::memcpy(buf, ip.data(), ip.size());
    buf[ip.size()] = '\0';
    socket_address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.m_storage);
    if (::inet_pton(AF_INET, buf, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.m_len = sizeof(sockaddr_in);
        return a;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.m_storage);
    if (::inet_pton(AF_INET6, buf, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.m_len = sizeof(sockaddr_in6);
        return a;
    }
    return std::nullopt;
}

std::optional<socket_address> socket_address::parse(std::string_view text) noexcept {
    std::string_view host;
    std::string_view port;
    bool bracketed = false;
    if (!text.empty() && text.front() == '[') {
        bracketed = true;
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;  // bare v6 needs []
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
        return std::nullopt;
    auto addr = from_ip(host, std::uint16_t(value));
    if (addr && bracketed != addr->is_v6()) return std::nullopt;  // brackets are for IPv6 only
    return addr;
}

socket_address socket_address::from_native(const sockaddr* sa, socklen_t len) noexcept {
    socket_address a;
    if (len > sizeof a.m_storage) len = sizeof a.m_storage;
    std::memcpy(&a.m_storage, sa, len);
    a.m_len = len;
    return a;
}

socket_address socket_address::loopback_v4(std::uint16_t port) noexcept {
    return *from_ip("127.0.0.1", port);
}
socket_address socket_address::loopback_v6(std::uint16_t port) noexcept {
    return *from_ip("::1", port);
}

std::uint16_t socket_address::port() const noexcept {
    if (is_v4()) return ntohs(reinterpret_cast<const sockaddr_in*>(&m_storage)->sin_port);
    if (is_v6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&m_storage)->sin6_port);
    return 0;
}

void socket_address::set_port(std::uint16_t port) noexcept {
    if (is_v4()) reinterpret_cast<sockaddr_in*>(&m_storage)->sin_port = htons(port);
    if (is_v6()) reinterpret_cast<sockaddr_in6*>(&m_storage)->sin6_port = htons(port);
}

std::string socket_address::ip_string() const {
    char buf[INET6_ADDRSTRLEN] = {};
    if (is_v4())
        ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&m_storage)->sin_addr, buf,
                    sizeof buf);
    else if (is_v6())
        ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&m_storage)->sin6_addr, buf,
                    sizeof buf);
    else
        return "<unspecified>";
    return buf;
}

std::string socket_address::to_string() const {
    if (!is_v4() && !is_v6()) return "<unspecified>";
    // Built by append: g++ 12 -O3 warns (-Wrestrict, GCC bug 105329) on "[" + s + "]:".
    std::string out;
    out.reserve(INET6_ADDRSTRLEN + 8);
    if (is_v6()) out.push_back('[');
    out.append(ip_string());
    if (is_v6()) out.push_back(']');
    out.push_back(':');
    out.append(std::to_string(port()));
    return out;
}

bool operator==(const socket_address& a, const socket_address& b) noexcept {
    return a.m_len == b.m_len && std::memcmp(&a.m_storage, &b.m_storage, a.m_len) == 0;
}

}  // namespace corio::net
