// corio/detail/io_await.hpp — the await behind every socket operation.
//
// An io_await tries its syscall while the registration's readiness says it may succeed; on
// EAGAIN it clears that readiness and parks in the registration's reader or writer slot.
// The reactor's wake makes the scheduler call on_poll, which retries the syscall on the
// scheduler thread: the coroutine is resumed only with a result in hand (or cancelled).
//
// Cancellation: the syscall either happened (its result is delivered; the cancellation is
// seen at the next await) or it did not (nothing was read or written; the await throws
// corio::cancelled_error). No data is lost in between.
#pragma once

#include <cerrno>
#include <cstddef>

#include "corio/detail/context.hpp"
#include "corio/detail/io_registration.hpp"

namespace corio::detail {

struct io_await : await_point {
    // Performs the operation once: >= 0 done, -errno failed (-EAGAIN: would block).
    using attempt_fn = std::ptrdiff_t (*)(io_await& self) noexcept;

    io_await(io_registration* registration, io_direction direction, attempt_fn fn,
             const char* op_name) noexcept
        : reg(registration), dir(direction), attempt(fn), name(op_name) {}

    io_registration* reg;
    io_direction dir;
    attempt_fn attempt;
    const char* name;  // "tcp read", ... (task dumps)
    // Bytes a read asked for: a read that returns fewer has drained the socket, so its
    // readiness is cleared and the next read parks without a syscall that would only say
    // EAGAIN (as tokio does). 0: not a read of a byte stream.
    std::size_t want = 0;
    std::ptrdiff_t result = 0;
    bool cancelled = false;

    // await_ready: cancellation point, budget, then one optimistic attempt.
    bool ready() noexcept;
    // await_suspend: parks until the attempt completes; false means "resume now".
    bool suspend(std::coroutine_handle<> h) noexcept;
    // The errno of a failed attempt (0 on success).
    int error() const noexcept { return result < 0 ? int(-result) : 0; }

private:
    bool try_once() noexcept;
    static bool on_poll(await_point& self, task_header& task, await_op op) noexcept;
};

}  // namespace corio::detail
