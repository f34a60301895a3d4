// corio/blocking.hpp — run blocking or CPU-heavy code without stalling the workers.
//
//     auto digest = co_await corio::spawn_blocking([&] { return heavy_hash(data); });
//
// The callable runs on the runtime's blocking pool (a separate, elastic set of threads:
// up to runtime_options::max_blocking_threads, idle ones exit after blocking_keep_alive).
// The returned join_handle is awaited like a spawned task's: the callable's value, or its
// exception rethrown. abort() prevents a job that has not started from running; a running
// job cannot be interrupted (it is ordinary blocking code) and runs to the end.
//
// Capture by reference only what outlives the await; the callable itself is moved into the
// job, so capturing by value is always safe.
#pragma once

#include <functional>
#include <source_location>
#include <type_traits>
#include <utility>

#include "corio/join_handle.hpp"
#include "corio/runtime.hpp"
#include "corio/task.hpp"

namespace corio {

namespace detail {

task_header* spawn_blocking_root(scheduler_core* core, task_header* t, std::coroutine_handle<> coro,
                                 const std::source_location& where);

template <class R, class F>
task<R> blocking_body(F f) {
    co_return std::invoke(f);
}

template <class F>
auto spawn_blocking_on(scheduler_core* core, F&& f, const std::source_location& where) {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    auto h = blocking_body<R, std::decay_t<F>>(std::forward<F>(f)).release();
    return make_join_handle<R>(spawn_blocking_root(core, &h.promise(), h, where));
}

}  // namespace detail

// Runs `f()` on the blocking pool of the runtime running the caller.
// Throws std::logic_error when called outside a runtime.
template <class F>
requires std::invocable < std::decay_t<F>
& > auto spawn_blocking(F&& f, std::source_location where = std::source_location::current()) {
    return detail::spawn_blocking_on(detail::current_scheduler_or_throw("corio::spawn_blocking"),
                                     std::forward<F>(f), where);
}

}  // namespace corio
