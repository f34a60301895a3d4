// corio/detail/context.hpp — the per-thread state every corio await consults.
//
// One constinit thread_local struct, so reading it is one TLS load with no init guard.
// It names the root task being polled on this thread (cancellation, budget, parking),
// the runtime the thread serves, and the trampoline slot used when the compiler does not
// guarantee that symmetric transfer is a tail call.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "corio/detail/task_header.hpp"

namespace corio::detail {

// Operations a task may complete without suspending before a corio await yields anyway, so
// one busy task cannot starve the others. 128 is tokio's value (task/coop/mod.rs); tokio's
// blog measured tail latency "reduced by almost 3x" with it.
inline constexpr int kPollBudget = 128;

// Published by a thread that polls tasks (a worker, a block_on thread) for the watchdog
// and metrics: a few relaxed stores per poll, plain increments on x86-64.
struct poller_stats {
    std::atomic<std::uint64_t> polls{0};
    std::atomic<const task_header*> current{nullptr};  // task in the poll now, or nullptr
    std::atomic<std::uint64_t> steals{0};
    std::atomic<std::uint64_t> stolen_tasks{0};
    std::atomic<std::uint64_t> parks{0};
    std::atomic<std::uint64_t> busy_ns{0};
    static constexpr std::size_t kBuckets = 22;  // < 1 us, < 2 us, ... < 1 s, rest
    std::atomic<std::uint64_t> poll_time[kBuckets] = {};

    static void add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
        c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

struct context {
    task_header* current = nullptr;       // root task being polled on this thread
    scheduler_core* scheduler = nullptr;  // runtime this thread belongs to (while it serves it)
    void* worker = nullptr;               // scheduler-specific state of this thread
    bool runs_tasks = false;         // a worker, a block_on thread, a shutdown: no block_on here
    std::coroutine_handle<> next{};  // trampoline: resume this after the current resume returns
    int budget = kPollBudget;
    poller_stats* stats = nullptr;  // this thread's counters, if it is a poller
};

inline thread_local constinit context tls_context{};

inline task_header* current_task() noexcept {
    return tls_context.current;
}

// The id of the task polled on this thread, or 0 outside a task.
inline std::uint64_t current_task_id() noexcept {
    task_header* t = tls_context.current;
    return t ? t->id() : 0;
}

// True when the root task polled on this thread has been cancelled.
inline bool cancel_requested() noexcept {
    task_header* t = tls_context.current;
    return t && t->is_cancelled();
}

// Spends one unit of the poll budget; false means "yield before completing this await".
inline bool consume_budget() noexcept {
    return --tls_context.budget > 0 || !tls_context.current;
}

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
