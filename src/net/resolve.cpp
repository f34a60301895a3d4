#include "corio/net/resolve.hpp"

#include <charconv>
#include <memory>
#include <stdexcept>
#include <string_view>

#include <netdb.h>

#include "corio/blocking.hpp"

namespace corio::net {

namespace {

class resolve_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "getaddrinfo"; }
    std::string message(int code) const override { return ::gai_strerror(code); }
};

// RFC 6761 section 6.3: "localhost" and names under ".localhost" are the loopback
// addresses, answered here rather than by /etc/hosts or DNS (as curl and browsers do): a
// minimal system may have no hosts entry, and such a name must never reach a DNS server.
// IPv4 first, so a connect reaches a server bound to 127.0.0.1 at the first try.
bool is_localhost_name(std::string_view host) noexcept {
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    auto lower_equal = [](std::string_view a, std::string_view b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            char c = a[i];
            if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
            if (c != b[i]) return false;
        }
        return true;
    };
    constexpr std::string_view name = "localhost";
    if (lower_equal(host, name)) return true;
    return host.size() > name.size() + 1 && host[host.size() - name.size() - 1] == '.' &&
           lower_equal(host.substr(host.size() - name.size()), name);
}

std::vector<socket_address> lookup(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc == EAI_SYSTEM) throw std::system_error(errno, std::system_category(), "resolve " + host);
    if (rc != 0) throw std::system_error(rc, resolve_category(), "resolve " + host);
    std::unique_ptr<addrinfo, void (*)(addrinfo*)> guard(res, ::freeaddrinfo);
    std::vector<socket_address> out;
    for (addrinfo* ai = res; ai; ai = ai->ai_next)
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            out.push_back(socket_address::from_native(ai->ai_addr, socklen_t(ai->ai_addrlen)));
    return out;
}

}  // namespace

const std::error_category& resolve_category() noexcept {
    static const resolve_category_impl instance;
    return instance;
}

std::pair<std::string, std::uint16_t> split_host_port(std::string_view text) {
    auto bad = [&](const char* why) {
        return std::invalid_argument("corio: cannot parse address \"" + std::string(text) +
                                     "\": " + why + " (expected host:port or [v6]:port)");
    };
    std::string_view host;
    std::string_view port;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos) throw bad("missing ']'");
        if (close + 1 >= text.size() || text[close + 1] != ':') throw bad("missing port");
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) throw bad("missing port");
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) throw bad("IPv6 addresses need brackets");
    }
    if (host.empty()) throw bad("empty host");
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535)
        throw bad("invalid port");
    return {std::string(host), std::uint16_t(value)};
}

task<std::vector<socket_address>> resolve(std::string host_port) {
    auto parts = split_host_port(host_port);
    if (auto numeric = socket_address::from_ip(parts.first, parts.second))
        co_return std::vector{*numeric};
    if (is_localhost_name(parts.first))
        co_return std::vector{socket_address::loopback_v4(parts.second),
                              socket_address::loopback_v6(parts.second)};
    // Named before the await: g++ 12 destroys a lambda temporary inside a co_await
    // expression twice (GCC bug 100611).
    auto job =
        spawn_blocking([parts = std::move(parts)] { return lookup(parts.first, parts.second); });
    co_return co_await job;
}

}  // namespace corio::net
