// corio/detail/context.hpp — the per-thread state every corio await consults.
//
// One constinit thread_local struct, so reading it is one TLS load with no init guard.
// It names the root task being polled on this thread (cancellation, budget, parking),
// the runtime the thread serves, and the trampoline slot used when the compiler does not
// guarantee that symmetric transfer is a tail call.
#pragma once

#include <coroutine>

#include "corio/detail/task_header.hpp"

namespace corio::detail {

// Operations a task may complete without suspending before a corio await yields anyway, so
// one busy task cannot starve the others. 128 is tokio's value (task/coop/mod.rs); tokio's
// blog measured tail latency "reduced by almost 3x" with it.
inline constexpr int kPollBudget = 128;

struct context {
    task_header* current = nullptr;      // root task being polled on this thread
    scheduler_core* scheduler = nullptr; // runtime this thread belongs to (while it serves it)
    void* worker = nullptr;              // scheduler-specific state of this thread
    std::coroutine_handle<> next{};      // trampoline: resume this after the current resume returns
    int budget = kPollBudget;
};

inline thread_local constinit context tls_context{};

inline task_header* current_task() noexcept { return tls_context.current; }

// True when the root task polled on this thread has been cancelled.
inline bool cancel_requested() noexcept {
    task_header* t = tls_context.current;
    return t && t->is_cancelled();
}

// Spends one unit of the poll budget; false means "yield before completing this await".
inline bool consume_budget() noexcept { return --tls_context.budget > 0 || !tls_context.current; }

// GCC 12 makes symmetric transfer a tail call only at -O2 without sanitizers; elsewhere a
// 1,000,000-deep await chain overflows the stack (libcoro#273). There corio transfers through
// a trampoline in the poll loop instead: same semantics, bounded stack, one extra return.
#if defined(CORIO_FORCE_TRAMPOLINE)
inline constexpr bool kSymmetricTransfer = false;
#elif defined(__clang__)
inline constexpr bool kSymmetricTransfer = true;
#elif defined(__OPTIMIZE__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
inline constexpr bool kSymmetricTransfer = true;
#else
inline constexpr bool kSymmetricTransfer = false;
#endif

inline std::coroutine_handle<> transfer_to(std::coroutine_handle<> h) noexcept {
    if constexpr (kSymmetricTransfer) {
        return h;
    } else {
        tls_context.next = h;
        return std::noop_coroutine();
    }
}

// Parks the current root task in `ap`, with `h` (the coroutine suspended in the await, which
// may be nested deep inside the root) to resume: the scheduler calls ap.poll first.
inline void park(await_point& ap, std::coroutine_handle<> h) noexcept {
    task_header* t = tls_context.current;
    t->awaiting = &ap;
    t->resume_at = h;
}

// Like park(), and requeues the task at once (a yield): used by yield_now and by any await
// whose budget ran out. ap.poll decides at the next poll.
inline void park_yield(await_point& ap, std::coroutine_handle<> h) noexcept {
    park(ap, h);
    tls_context.current->flags |= task_flag::yielded;
}

}  // namespace corio::detail
