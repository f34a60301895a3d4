// The reactor interface. epoll is the implementation today; an io_uring driver plugs in
// behind the same calls (readiness registrations, a blocking poll with a timeout, a wake
// from any thread).
#pragma once

#include <chrono>
#include <optional>

#include "corio/detail/io_registration.hpp"

namespace corio::detail {

class io_driver {
public:
    virtual ~io_driver() = default;

    // Registers `reg->fd` for edge-triggered read and write readiness. Throws system_error.
    virtual void add(io_registration& reg) = 0;
    // Stops events for `reg->fd`; call before closing the fd.
    virtual void remove(io_registration& reg) noexcept = 0;
    // Waits up to `timeout` (nullopt: no limit; zero: do not block) for events, records
    // readiness and wakes parked tasks. Returns the number of events handled.
    virtual int poll(std::optional<std::chrono::nanoseconds> timeout) noexcept = 0;
    // Makes a concurrent or the next poll() return. Any thread; coalesced.
    virtual void wake() noexcept = 0;
    // Number of registered descriptors.
    virtual std::size_t registrations() const noexcept = 0;
};

}  // namespace corio::detail
