// corio/detail/fence.hpp — the sequentially consistent fence corio's wake protocols use.
//
// A waiter that arms and re-checks, and a waker that publishes and then checks for a
// waiter, each need a StoreLoad barrier (Dekker's pattern). clang emits mfence for
// std::atomic_thread_fence(seq_cst) (14 ns on the reference machine) where g++ emits a
// locked or on the stack (7 ns, FLOORS.md item 8); both are full barriers on x86-64, so
// corio uses the cheaper one there. ThreadSanitizer builds keep the standard fence, which
// it understands.
#pragma once

#include <atomic>

#if defined(__x86_64__) && defined(__clang__)
#if !__has_feature(thread_sanitizer)
#define CORIO_LOCKED_OR_FENCE 1
#endif
#endif

namespace corio::detail {

inline void full_fence() noexcept {
#ifdef CORIO_LOCKED_OR_FENCE
    asm volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

}  // namespace corio::detail
