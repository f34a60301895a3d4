// corio/detail/wait_info.hpp — what a parked await says about itself in a task dump.
//
// The dumper pins a parked task (task_state::inspecting), points tls_wait_info at a
// wait_info and calls the await point's poll function with await_op::inspect. The await
// fills in a description and, where it knows them, the tasks that could end the wait (a
// mutex's holder, a channel's only sender, a joined task); deadlock detection follows those
// edges to name a wait cycle. An inspect must not change any state.
#pragma once

#include <cstdarg>
#include <cstdint>
#include <cstdio>

namespace corio::detail {

enum class wait_kind : std::uint8_t {
    unknown,
    yield,     // requeued, runnable
    timer,     // ends by itself when the deadline passes
    io,        // ends when the kernel reports readiness (a peer can end it)
    join,      // waits for another task
    blocking,  // waits for a job on the blocking pool
    lock,      // mutex / rw_lock
    semaphore,
    notify,
    barrier,
    wait_group,
    channel,  // mpsc / oneshot / broadcast / watch
    token,    // cancellation_token::cancelled()
    group,    // join / try_join / select over several operations
};

struct wait_info {
    wait_kind kind = wait_kind::unknown;
    const void* object = nullptr;
    char text[200] = {};
    // Tasks that could end the wait. `holders_known`: the list is complete (e.g. the only
    // sender of a channel is held by these tasks); otherwise any task might.
    std::uint64_t holders[4] = {};
    std::uint8_t holder_count = 0;
    bool holders_known = false;
    // Something outside the tasks can end it: a timer, the kernel, a thread outside the
    // runtime holding a handle. Deadlock detection never fires on such a wait.
    bool external = false;

    void add_holder(std::uint64_t id) noexcept {
        if (id && holder_count < 4) holders[holder_count++] = id;
    }
    [[gnu::format(printf, 2, 3)]] void describe(const char* fmt, ...) noexcept {
        va_list ap;
        va_start(ap, fmt);
        std::vsnprintf(text, sizeof text, fmt, ap);
        va_end(ap);
    }
};

// Where an inspect op writes (set by the dumper on its own thread).
inline thread_local constinit wait_info* tls_wait_info = nullptr;

}  // namespace corio::detail
