// corio/sync/channel_error.hpp — what channel operations report.
//
// Nothing is lost: a send that cannot deliver gives the value back, inside the exception
// (send_error<T>::value()) or the result (try_send_result<T>::value()).
#pragma once

#include <optional>
#include <stdexcept>
#include <utility>

namespace corio {

// The other side of a channel is gone (or the channel was closed).
class channel_closed : public std::runtime_error {
public:
    channel_closed() : std::runtime_error("corio: channel closed") {}
    explicit channel_closed(const char* what) : std::runtime_error(what) {}
};

// Thrown by `co_await tx.send(v)` when the receiver is gone or closed: carries `v` back.
template <class T>
class send_error : public channel_closed {
public:
    explicit send_error(T value)
        : channel_closed("corio: send on a closed channel"), m_value(std::move(value)) {}
    T& value() & noexcept { return m_value; }
    T&& value() && noexcept { return std::move(m_value); }

private:
    T m_value;
};

enum class try_status : unsigned char {
    ok,      // done
    full,    // try_send: no room now (bounded channel)
    empty,   // try_recv: nothing queued now
    closed,  // the other side is gone or the channel was closed
};

// try_send's answer: ok, or the reason and the value given back.
template <class T>
class [[nodiscard]] try_send_result {
public:
    static try_send_result sent() noexcept { return try_send_result(try_status::ok, std::nullopt); }
    static try_send_result refused(try_status why, T v) {
        return try_send_result(why, std::optional<T>(std::move(v)));
    }
    explicit operator bool() const noexcept { return m_status == try_status::ok; }
    try_status status() const noexcept { return m_status; }
    // The value that was not sent (only when !ok()).
    T& value() & { return *m_value; }
    T&& value() && { return std::move(*m_value); }

private:
    try_send_result(try_status s, std::optional<T> v) : m_status(s), m_value(std::move(v)) {}
    try_status m_status;
    std::optional<T> m_value;
};

// try_recv's answer: a value, or why there is none.
template <class T>
class [[nodiscard]] try_recv_result {
public:
    static try_recv_result received(T v) { return try_recv_result(try_status::ok, std::move(v)); }
    static try_recv_result none(try_status why) { return try_recv_result(why, std::nullopt); }
    explicit operator bool() const noexcept { return m_status == try_status::ok; }
    try_status status() const noexcept { return m_status; }
    T& operator*() & { return *m_value; }
    T&& operator*() && { return std::move(*m_value); }
    T* operator->() { return &*m_value; }

private:
    try_recv_result(try_status s, std::optional<T> v) : m_status(s), m_value(std::move(v)) {}
    try_status m_status;
    std::optional<T> m_value;
};

}  // namespace corio
