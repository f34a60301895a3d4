// corio/detail/task_header.hpp — what every task carries, and the protocol of its state word.
//
// A spawned task is one coroutine frame. Its promise derives from task_header, so the frame
// is the task: no second allocation for a control block. Nested tasks (co_await child())
// carry the same header but use only the awaiting link; the rest is filled in by spawn.
//
// Invariants of the state word (the numbered rules the scheduler and wakers rely on):
//  1. SCHEDULED: the task sits in exactly one run queue (or is about to be pushed by the
//     thread that set the bit). Only the thread that sets SCHEDULED pushes the task.
//  2. RUNNING: exactly one thread is polling the task. SCHEDULED and RUNNING are never both
//     set, so a task is never polled twice at once.
//  3. NOTIFIED: a wake arrived while RUNNING. The poller clears RUNNING|NOTIFIED and sets
//     SCHEDULED in one CAS at the end of the poll and requeues the task: no wake is lost.
//  4. Every wake is an atomic read-modify-write of the state word, even when it changes
//     nothing, so that data published before the wake is visible to the next poll.
//  5. COMPLETE is set once, after the result is stored; afterwards the frame is only read.
//  6. CANCELLED is sticky. The poll hook of the await the task is parked in sees it and
//     resumes the task with cancelled_error; every later corio await throws at once.
//  7. The refcount (upper bits) counts the scheduler's "lifecycle" reference, held from spawn
//     to completion, and one per join_handle. The frame is destroyed when it reaches zero.
//  8. INSPECTING is set (by CAS) only on a task that is not RUNNING and not COMPLETE, by a
//     dump holding the task's registry shard lock; a poll does not start while it is set.
//     So a dump may read a parked task's frames and await point while the runtime runs.
//
// Wakes are not precise: a task may be polled while the event it waits for has not happened
// (a coalesced or stale wake, an abort). That is why a parked task is resumed only through
// the poll hook of the await_point it is parked in: the hook re-checks its condition (and
// cancellation) and says whether the coroutine may continue — as a Rust future's poll does.
#pragma once

#include <atomic>
#include <bit>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <source_location>
#include <type_traits>

namespace corio::detail {

class scheduler_core;
struct task_header;

namespace task_state {
inline constexpr std::uint64_t scheduled = 1u << 0;
inline constexpr std::uint64_t running = 1u << 1;
inline constexpr std::uint64_t notified = 1u << 2;
inline constexpr std::uint64_t complete = 1u << 3;
inline constexpr std::uint64_t cancelled = 1u << 4;
// A dump is reading the parked task: the next poll waits until it is cleared (rule 8).
inline constexpr std::uint64_t inspecting = 1u << 5;
// A joiner took the result or exception (set by the joiner, on another thread).
inline constexpr std::uint64_t observed = 1u << 6;
inline constexpr std::uint64_t ref_one = std::uint64_t{1} << 16;
inline constexpr std::uint64_t flags_mask = ref_one - 1;
}  // namespace task_state

// Flags owned by whichever thread is polling the task (plain, not atomic).
namespace task_flag {
inline constexpr std::uint8_t root = 1u << 0;     // spawned: has an owner and a registry entry
inline constexpr std::uint8_t started = 1u << 1;  // the coroutine body has been entered
inline constexpr std::uint8_t yielded = 1u
                                        << 2;  // suspended by a yield: requeue, state stays RUNNING
inline constexpr std::uint8_t finished = 1u << 3;  // reached final_suspend in this poll
inline constexpr std::uint8_t named = 1u << 4;     // has an entry in the registry's names
}  // namespace task_flag

static_assert(sizeof(std::source_location) == sizeof(std::uint64_t) &&
                  std::is_trivially_copyable_v<std::source_location>,
              "corio keeps a std::source_location in one atomic word");

// GCC and Clang lay a coroutine frame out as {resume fn, destroy fn, promise, ...}: for a
// promise aligned to at most 16 bytes the promise starts 16 bytes into the frame. A root
// task's frame is found from its header that way (checked at every spawn), which saves a
// pointer per task.
inline constexpr std::size_t kPromiseOffset = 2 * sizeof(void*);

// What the scheduler (or a select) asks of an await point.
enum class await_op : std::uint8_t {
    // The task was woken, or polled spuriously: complete the operation if it can, and return
    // true when the coroutine may resume. If the task is cancelled and the operation has not
    // happened, withdraw and return true (await_resume then throws cancelled_error). If the
    // event already happened, it wins: the await completes and the cancellation is seen at
    // the next await.
    poll,
    // The await will never complete (it lost a select): withdraw its registration and give
    // back anything it was already handed (permits, a lock, a notification), so nothing is
    // lost. Never called after poll returned true.
    cancel,
    // Describe the wait into *tls_wait_info (wait_info.hpp) without changing anything.
    // Called by a task dump on a pinned (INSPECTING) task, from any thread.
    inspect,
};

// An await a root task can park in. `poll` runs on a scheduler thread whenever the parked
// task is polled (see await_op); awaiters set it in await_suspend.
struct await_point {
    using fn_type = bool (*)(await_point& self, task_header& task, await_op op) noexcept;
    fn_type poll = nullptr;
};

// frame_tag: marks a corio task frame (backtrace walks check it) and, for root tasks, its
// kind. Set before the task is published and never changed, so any thread may read it.
inline constexpr std::uint8_t kFrameTag = 0xC7;
inline constexpr std::uint8_t kFrameTagBlocking = 0xC8;  // a spawn_blocking job
inline constexpr std::uint8_t kFrameTagInternal = 0xC9;  // the runtime's own (not dumped)
inline bool is_corio_frame_tag(std::uint8_t t) noexcept {
    return t >= kFrameTag && t <= kFrameTagInternal;
}

// 88 bytes on x86-64; every field earns its place in the 1M-parked-tasks benchmark (W1).
struct task_header {
    std::atomic<std::uint64_t> state{0};
    task_header* queue_next = nullptr;  // intrusive link for the injection queue and lists
    await_point* awaiting = nullptr;    // set while parked in a corio await
    std::coroutine_handle<> resume_at;  // the (possibly nested) coroutine parked there
    // Root task: the wait_slot word of its (single) joiner. Nested task: the address of the
    // awaiting parent's frame. A task is one or the other for its whole life.
    std::atomic<std::uintptr_t> link{0};
    scheduler_core* owner = nullptr;
    std::uint32_t id_low = 0;  // id split so flags stay a separate memory location
    std::uint16_t id_high = 0;
    std::uint8_t flags = 0;              // task_flag bits, owned by the polling thread
    std::uint8_t frame_tag = kFrameTag;  // see kFrameTag
    std::source_location spawned_at{};
    // Where this frame last co_awaited: a std::source_location kept as an atomic word so a
    // watchdog on another thread may read it while the task runs.
    std::atomic<std::uint64_t> await_site_bits{0};
    task_header* reg_prev = nullptr;  // registry of live tasks (dumps, shutdown)
    task_header* reg_next = nullptr;

    bool is_cancelled() const noexcept {
        return (state.load(std::memory_order_acquire) & task_state::cancelled) != 0;
    }
    bool is_blocking_job() const noexcept { return frame_tag == kFrameTagBlocking; }

    void set_await_site(const std::source_location& where) noexcept {
        await_site_bits.store(std::bit_cast<std::uint64_t>(where), std::memory_order_relaxed);
    }
    std::source_location await_site() const noexcept {
        return std::bit_cast<std::source_location>(await_site_bits.load(std::memory_order_relaxed));
    }
    // Runtime-unique, 48 bits.
    std::uint64_t id() const noexcept { return (std::uint64_t(id_high) << 32) | id_low; }
    void set_id(std::uint64_t v) noexcept {
        id_low = std::uint32_t(v);
        id_high = std::uint16_t(v >> 32);
    }
    std::atomic<std::uintptr_t>& join_slot() noexcept { return link; }
    // The frame of a root task.
    std::coroutine_handle<> frame() const noexcept {
        return std::coroutine_handle<>::from_address(
            const_cast<char*>(reinterpret_cast<const char*>(this)) - kPromiseOffset);
    }
};

// Wakes `t`: schedules it if idle, marks it NOTIFIED if running, no-op if complete.
void wake(task_header* t) noexcept;

// Like wake(), but a hint that `t` should run next on this worker (message passing).
void wake_lifo(task_header* t) noexcept;

// Drops one reference; destroys the frame when it was the last.
void release_task(task_header* t) noexcept;

}  // namespace corio::detail
