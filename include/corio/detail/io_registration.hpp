// corio/detail/io_registration.hpp — one file descriptor registered with the reactor.
//
// Registered once, edge-triggered, for both directions. The reactor never calls back into
// I/O code: it records readiness here and wakes the task parked in `reader` or `writer`.
// An I/O await tries the syscall while readiness says it may succeed, clears the bit when
// the kernel answers EAGAIN, and parks otherwise.
//
// Rules:
//  1. `readiness` packs flag bits (low byte) and an event counter (upper bits). The reactor
//     adds to the counter on every event; a waiter clears a bit only if the counter is the
//     one it saw before its syscall, so an edge that arrives during the syscall is kept.
//  2. A registration is freed by the driver only at the start of a driver turn after it
//     was deregistered, so events already returned by epoll_wait never point to freed memory.
#pragma once

#include <atomic>
#include <cstdint>

#include "corio/detail/wait_slot.hpp"

namespace corio::detail {

class driver;

namespace readiness {
inline constexpr std::uint32_t readable = 1u << 0;
inline constexpr std::uint32_t writable = 1u << 1;
inline constexpr std::uint32_t read_closed = 1u << 2;
inline constexpr std::uint32_t write_closed = 1u << 3;
inline constexpr std::uint32_t error = 1u << 4;
inline constexpr std::uint32_t flags_mask = 0xff;
inline constexpr std::uint32_t tick_one = 0x100;
inline constexpr std::uint32_t read_mask = readable | read_closed | error;
inline constexpr std::uint32_t write_mask = writable | write_closed | error;
}  // namespace readiness

enum class io_direction : std::uint8_t { read, write };

struct io_registration {
    int fd = -1;
    driver* owner = nullptr;
    // Optimistic: a new socket is tried before the reactor has reported anything.
    std::atomic<std::uint32_t> state{readiness::readable | readiness::writable};
    wait_slot reader;
    wait_slot writer;
    io_registration* dispose_next = nullptr;

    wait_slot& slot(io_direction d) noexcept { return d == io_direction::read ? reader : writer; }

    static std::uint32_t mask(io_direction d) noexcept {
        return d == io_direction::read ? readiness::read_mask : readiness::write_mask;
    }

    // Clears `bit` unless an event arrived since `observed` was read.
    void clear(std::uint32_t observed, std::uint32_t bit) noexcept {
        state.compare_exchange_strong(observed, observed & ~bit, std::memory_order_acq_rel,
                                      std::memory_order_relaxed);
    }
};

}  // namespace corio::detail
