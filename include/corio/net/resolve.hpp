// corio/net/resolve.hpp — turn "host:port" into socket addresses, off the workers.
//
//     auto addrs = co_await corio::net::resolve("localhost:8080");
//
// Numeric addresses ("127.0.0.1:80", "[::1]:80") are parsed in place; "localhost" and
// "*.localhost" are 127.0.0.1 then ::1 (RFC 6761, without /etc/hosts or DNS); other host
// names are looked up with getaddrinfo on the blocking pool, so a slow DNS server never
// stalls a worker.
//
// Errors: std::invalid_argument when the text is not "host:port"; std::system_error
// (category net::resolve_category(), the getaddrinfo code) naming the host when the lookup
// fails. Cancellation: a cancellation point; a lookup already running on the pool finishes
// there and its result is dropped.
#pragma once

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "corio/net/socket_address.hpp"
#include "corio/task.hpp"

namespace corio::net {

// The error category of getaddrinfo's EAI_* codes.
const std::error_category& resolve_category() noexcept;

// Splits "host:port" / "[v6]:port". Throws std::invalid_argument naming `text`.
std::pair<std::string, std::uint16_t> split_host_port(std::string_view text);

// Every address `host_port` resolves to (TCP), in getaddrinfo's order (for localhost
// names: 127.0.0.1, then ::1).
task<std::vector<socket_address>> resolve(std::string host_port);

}  // namespace corio::net
