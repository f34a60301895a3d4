// Tests of corio/net/socket_address.hpp and split_host_port (no runtime, no sockets).
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

#include <arpa/inet.h>

#include <corio/net/resolve.hpp>
#include <corio/net/socket_address.hpp>

namespace {

using corio::net::socket_address;

TEST(socket_address, parses_ipv4_with_port) {
    auto a = socket_address::parse("127.0.0.1:8080");
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(a->is_v4());
    EXPECT_FALSE(a->is_v6());
    EXPECT_EQ(a->family(), AF_INET);
    EXPECT_EQ(a->port(), 8080);
    EXPECT_EQ(a->ip_string(), "127.0.0.1");
    EXPECT_EQ(a->to_string(), "127.0.0.1:8080");
    EXPECT_EQ(a->native_size(), sizeof(sockaddr_in));
    auto* sin = reinterpret_cast<const sockaddr_in*>(a->native());
    EXPECT_EQ(sin->sin_family, AF_INET);
    EXPECT_EQ(ntohs(sin->sin_port), 8080);
    EXPECT_EQ(ntohl(sin->sin_addr.s_addr), 0x7f000001u);
}

TEST(socket_address, parses_bracketed_ipv6_with_port) {
    auto a = socket_address::parse("[::1]:443");
    ASSERT_TRUE(a.has_value());
    EXPECT_TRUE(a->is_v6());
    EXPECT_EQ(a->family(), AF_INET6);
    EXPECT_EQ(a->port(), 443);
    EXPECT_EQ(a->ip_string(), "::1");
    EXPECT_EQ(a->to_string(), "[::1]:443");
    EXPECT_EQ(a->native_size(), sizeof(sockaddr_in6));

    auto b = socket_address::parse("[2001:db8::1:2]:65535");
    ASSERT_TRUE(b.has_value());
    EXPECT_TRUE(b->is_v6());
    EXPECT_EQ(b->port(), 65535);
    EXPECT_EQ(b->to_string(), "[2001:db8::1:2]:65535");
}

TEST(socket_address, accepts_the_port_range_bounds) {
    auto zero = socket_address::parse("0.0.0.0:0");
    ASSERT_TRUE(zero.has_value());
    EXPECT_EQ(zero->port(), 0);
    auto max = socket_address::parse("255.255.255.255:65535");
    ASSERT_TRUE(max.has_value());
    EXPECT_EQ(max->port(), 65535);
    auto any6 = socket_address::parse("[::]:1");
    ASSERT_TRUE(any6.has_value());
    EXPECT_EQ(any6->to_string(), "[::]:1");
}

TEST(socket_address, rejects_malformed_text_with_nullopt) {
    const char* bad[] = {
        "",                      // empty
        "127.0.0.1",             // missing port
        "127.0.0.1:",            // empty port
        ":80",                   // empty host
        "127.0.0.1:65536",       // port > 65535
        "127.0.0.1:99999",       // port > 65535
        "127.0.0.1:4294967296",  // port overflowing 32 bits
        "127.0.0.1:-1",          // negative port
        "127.0.0.1:+80",         // sign
        "127.0.0.1: 80",         // space
        "127.0.0.1:80 ",         // trailing space
        "127.0.0.1:80x",         // trailing garbage
        "127.0.0.1:0x50",        // hex port
        "::1:80",                // bare IPv6 needs brackets
        "::1",                   // bare IPv6, no port
        "[::1]",                 // bracketed, no port
        "[::1]:",                // bracketed, empty port
        "[::1]80",               // missing colon after ]
        "[::1:80",               // missing ]
        "[::1]:99999",           // bracketed, port > 65535
        "[]:80",                 // empty brackets
        "256.0.0.1:80",          // octet out of range
        "1.2.3:80",              // too few octets
        "1.2.3.4.5:80",          // too many octets
        "localhost:80",          // host names are not parsed here
        "garbage",
        "[garbage]:80",
        "127.0.0.1:80:80",
    };
    for (const char* text : bad) {
        auto a = socket_address::parse(text);
        EXPECT_FALSE(a.has_value()) << "parse(\"" << text << "\") gave " << a->to_string();
    }
}

TEST(socket_address, rejects_an_ipv4_address_in_brackets) {
    // The documented forms are exactly "a.b.c.d:port" and "[v6]:port".
    auto a = socket_address::parse("[127.0.0.1]:80");
    EXPECT_FALSE(a.has_value()) << "parse(\"[127.0.0.1]:80\") gave " << a->to_string();
}

TEST(socket_address, to_string_round_trips_through_parse) {
    const char* texts[] = {
        "127.0.0.1:1", "10.1.2.3:65535", "0.0.0.0:0",          "[::1]:80",
        "[::]:0",      "[fe80::1]:8080", "[2001:db8::ff]:443", "[::ffff:127.0.0.1]:22"};
    for (const char* text : texts) {
        auto a = socket_address::parse(text);
        ASSERT_TRUE(a.has_value()) << text;
        EXPECT_EQ(a->to_string(), text);
        auto b = socket_address::parse(a->to_string());
        ASSERT_TRUE(b.has_value()) << text;
        EXPECT_EQ(*a, *b) << text;
    }
}

TEST(socket_address, ipv6_to_string_uses_the_canonical_form) {
    auto a = socket_address::parse("[2001:0db8:0000:0000:0000:0000:0000:0001]:9");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->to_string(), "[2001:db8::1]:9");
}

TEST(socket_address, loopback_helpers_build_the_loopback_addresses) {
    auto v4 = socket_address::loopback_v4(8080);
    EXPECT_TRUE(v4.is_v4());
    EXPECT_EQ(v4.to_string(), "127.0.0.1:8080");
    EXPECT_EQ(v4, *socket_address::parse("127.0.0.1:8080"));
    auto v6 = socket_address::loopback_v6(53);
    EXPECT_TRUE(v6.is_v6());
    EXPECT_EQ(v6.to_string(), "[::1]:53");
    EXPECT_EQ(v6, *socket_address::parse("[::1]:53"));
}

TEST(socket_address, from_ip_takes_numeric_addresses_only) {
    auto v4 = socket_address::from_ip("192.168.0.1", 7);
    ASSERT_TRUE(v4.has_value());
    EXPECT_EQ(v4->to_string(), "192.168.0.1:7");
    auto v6 = socket_address::from_ip("::1", 7);
    ASSERT_TRUE(v6.has_value());
    EXPECT_EQ(v6->to_string(), "[::1]:7");
    EXPECT_FALSE(socket_address::from_ip("", 7).has_value());
    EXPECT_FALSE(socket_address::from_ip("localhost", 7).has_value());
    EXPECT_FALSE(socket_address::from_ip("[::1]", 7).has_value());
    EXPECT_FALSE(socket_address::from_ip("1.2.3.4:5", 7).has_value());
    EXPECT_FALSE(socket_address::from_ip(std::string(200, '1'), 7).has_value());
}

TEST(socket_address, set_port_changes_the_port_only) {
    auto a = *socket_address::parse("10.0.0.1:1");
    a.set_port(4242);
    EXPECT_EQ(a.port(), 4242);
    EXPECT_EQ(a.to_string(), "10.0.0.1:4242");
    auto b = *socket_address::parse("[::1]:1");
    b.set_port(65535);
    EXPECT_EQ(b.to_string(), "[::1]:65535");
}

TEST(socket_address, default_constructed_is_unspecified) {
    socket_address a;
    EXPECT_FALSE(a.is_v4());
    EXPECT_FALSE(a.is_v6());
    EXPECT_EQ(a.family(), AF_UNSPEC);
    EXPECT_EQ(a.port(), 0);
    EXPECT_EQ(a.to_string(), "<unspecified>");
    a.set_port(5);  // no effect, no crash
    EXPECT_EQ(a.port(), 0);
}

TEST(socket_address, from_native_copies_a_sockaddr) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(1234);
    sin.sin_addr.s_addr = htonl(0x0a000002);
    auto a = socket_address::from_native(reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    EXPECT_EQ(a.to_string(), "10.0.0.2:1234");
    EXPECT_EQ(a, *socket_address::parse("10.0.0.2:1234"));

    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(80);
    sin6.sin6_addr = in6addr_loopback;
    auto b = socket_address::from_native(reinterpret_cast<sockaddr*>(&sin6), sizeof sin6);
    EXPECT_EQ(b.to_string(), "[::1]:80");
}

TEST(socket_address, equality_compares_family_address_and_port) {
    auto a = *socket_address::parse("127.0.0.1:80");
    EXPECT_EQ(a, *socket_address::parse("127.0.0.1:80"));
    EXPECT_NE(a, *socket_address::parse("127.0.0.1:81"));
    EXPECT_NE(a, *socket_address::parse("127.0.0.2:80"));
    EXPECT_NE(a, *socket_address::parse("[::1]:80"));
    EXPECT_NE(a, socket_address{});
}

TEST(socket_address, streams_as_its_string_form) {
    std::ostringstream os;
    os << *socket_address::parse("[::1]:8080") << " " << socket_address::loopback_v4(1);
    EXPECT_EQ(os.str(), "[::1]:8080 127.0.0.1:1");
}

TEST(split_host_port, splits_host_names_ipv4_and_bracketed_ipv6) {
    auto [h1, p1] = corio::net::split_host_port("localhost:80");
    EXPECT_EQ(h1, "localhost");
    EXPECT_EQ(p1, 80);
    auto [h2, p2] = corio::net::split_host_port("127.0.0.1:0");
    EXPECT_EQ(h2, "127.0.0.1");
    EXPECT_EQ(p2, 0);
    auto [h3, p3] = corio::net::split_host_port("[::1]:65535");
    EXPECT_EQ(h3, "::1");
    EXPECT_EQ(p3, 65535);
    auto [h4, p4] = corio::net::split_host_port("example.com:443");
    EXPECT_EQ(h4, "example.com");
    EXPECT_EQ(p4, 443);
}

TEST(split_host_port, throws_invalid_argument_naming_the_text) {
    const char* bad[] = {
        "localhost", "localhost:", "localhost:99999", "localhost:65536", "localhost:http",
        ":80",       "::1:80",     "[::1]",           "[::1]80",         "[::1:80",
        "",          "host:-1",    "nonsense",        "127.0.0.1:99999"};
    for (const char* text : bad) {
        try {
            corio::net::split_host_port(text);
            ADD_FAILURE() << "split_host_port(\"" << text << "\") did not throw";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find("\"" + std::string(text) + "\""),
                      std::string::npos)
                << "message does not name \"" << text << "\": " << e.what();
        }
    }
}

}  // namespace
