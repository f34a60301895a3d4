// corio/runtime.hpp — the runtime: a scheduler, a reactor and a timer wheel.
//
//     corio::task<int> async_main() { co_await corio::sleep(10ms); co_return 0; }
//     int main() { return corio::run(async_main()); }       // multi-thread runtime
//
//     corio::runtime rt{{.workers = 4}};                      // work-stealing workers
//     int rc = rt.block_on(async_main());
//     auto single = corio::runtime::current_thread();         // everything on the caller
//
// Multi-thread flavour: one worker thread per core (by default). Each worker runs tasks
// from its own bounded queue, takes the task it just woke next (LIFO slot), steals half a
// busy worker's queue when idle, spins briefly and then parks; a parked worker drives the
// reactor and the timers. Current-thread flavour: tasks, reactor and timers all run on the
// thread calling block_on(), and only while it does.
//
// Two C++ traps to know from the start:
//  * A coroutine lambda's captures live in the lambda object, not in the coroutine frame.
//    `spawn([&x]() -> task<> { ... }())` is fine only while the lambda object lives, which
//    is until the end of the full expression. Use spawn(callable, args...), which keeps the
//    callable alive inside the task, or pass data as coroutine parameters (copied into the
//    frame).
//  * On the multi-thread runtime a task may resume on another thread after any co_await:
//    never hold a thread_local's address, a std::mutex lock or thread affinity across one.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <functional>
#include <memory>
#include <source_location>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "corio/detail/context.hpp"
#include "corio/detail/wait_info.hpp"
#include "corio/join_handle.hpp"
#include "corio/task.hpp"
#include "corio/trace.hpp"

namespace corio {

struct runtime_options {
    // Worker threads of a multi-thread runtime; 0 means one per core.
    unsigned workers = 0;
    // Prefix of worker thread names ("corio-worker-0", ...), as shown by top -H and gdb.
    std::string thread_name = "corio-worker";
    // Upper bound of the spawn_blocking pool (tokio's default is 512).
    unsigned max_blocking_threads = 512;
    // An idle blocking thread exits after this long (tokio's default is 10 s).
    std::chrono::milliseconds blocking_keep_alive{10'000};
    // Polls between two checks of the reactor/timers by a busy worker (61: tokio and Go).
    unsigned event_interval = 61;
    // Polls between two looks at the shared injection queue (61: Go's schedtick % 61).
    unsigned global_queue_interval = 61;
    // Test mode (as Seastar's SEASTAR_SHUFFLE_TASK_QUEUE): when nonzero, every task made
    // runnable is swapped with a random queued one, seeded by this value, and the LIFO slot
    // is off, so code that depends on an unspecified run order fails. On a current-thread
    // runtime a seed replays the same order. Costs a few ns per wake; for tests only.
    std::uint64_t shuffle_seed = 0;

    // ---- diagnostics (corio/trace.hpp)
    // A worker stuck in one poll longer than this is reported (0: off). 100 ms: a poll should
    // take microseconds; anything near this blocks every task queued behind it.
    std::chrono::milliseconds blocked_worker_threshold{100};
    // Receives blocked-worker reports (default: one line on stderr).
    std::function<void(const blocked_worker_report&)> on_blocked_worker{};
    // block_on throws corio::deadlock_error when every task waits on something no task, timer,
    // socket or blocking job can end, for this long (the grace guards against wakes from
    // threads outside the runtime that corio cannot see).
    bool detect_deadlocks = true;
    std::chrono::milliseconds deadlock_grace{500};
    // Runtime destruction lists the tasks still alive (on stderr) before cancelling them.
    bool report_leaked_tasks = true;
    // A signal (e.g. SIGQUIT, as Go does) that prints every runtime's task dump to stderr.
    // 0: none. The handler is installed when the first runtime asking for it starts.
    int dump_signal = 0;
    // Serve Prometheus metrics (and /dump, /dump.json) over HTTP on this address, e.g.
    // "127.0.0.1:9090", from a thread of the runtime's own. Empty: off.
    std::string metrics_address{};
    // Time every poll into runtime_metrics::poll_time_counts (two clock reads per poll).
    bool poll_time_histogram = false;
    // Observers of every task's life (each call costs a branch when unset).
    task_hooks hooks{};
};

struct spawn_options {
    // Shown in task dumps and metrics. Copied.
    std::string_view name{};
};

namespace detail {

class scheduler_core;

// The runtime serving this thread (worker, block_on caller, blocking thread), or throws
// std::logic_error naming `what` when called outside one.
scheduler_core* current_scheduler_or_throw(const char* what);

// Makes `coro` (whose promise is `t`) a root task of `core` and schedules it. Returns `t`
// with two references: the scheduler's and the returned handle's.
task_header* spawn_root(scheduler_core* core, task_header* t, std::coroutine_handle<> coro,
                        std::string_view name, const std::source_location& where);

// Runs `t` as a root task and returns once it has completed (running the scheduler on the
// calling thread for a current-thread runtime). Throws std::logic_error when called from a
// thread that is serving a runtime.
void block_on_root(scheduler_core* core, task_header* t, std::coroutine_handle<> coro,
                   const std::source_location& where);

template <class T>
struct task_value;
template <class T>
struct task_value<task<T>> {
    using type = T;
};

template <class F, class... Args>
using callable_task_value =
    typename task_value<std::remove_cvref_t<std::invoke_result_t<F&, Args&&...>>>::type;

// The frame of this coroutine owns the callable, so a lambda's captures live as long as the
// task it started. The arguments are moved on into the callable's coroutine, whose own
// parameters they become (and die with it, not with the join handle).
template <class R, class F, class... Args>
task<R> invoke_owned(F f, Args... args) {
    co_return co_await std::invoke(f, std::move(args)...);
}

template <class T>
T finish_block_on(task_header* t) {
    struct release_on_exit {
        task_header* t;
        ~release_on_exit() { release_task(t); }
    } guard{t};
    t->state.fetch_or(task_state::observed, std::memory_order_relaxed);  // block_on rethrows it
    return static_cast<task_promise<T>*>(static_cast<task_promise_base*>(t))->take_result();
}

}  // namespace detail

// A reference to a runtime that can spawn onto it from any thread. Valid while the runtime
// lives.
class runtime_handle {
public:
    explicit runtime_handle(detail::scheduler_core* core) noexcept : m_core(core) {}

    template <class T>
    join_handle<T> spawn(task<T> t, spawn_options opts = {},
                         std::source_location where = std::source_location::current()) const {
        auto h = t.release();
        return detail::make_join_handle<T>(
            detail::spawn_root(m_core, &h.promise(), h, opts.name, where));
    }

    // Spawns a task that owns the callable `f` (see the lambda-capture note above).
    template <class F>
    requires std::invocable < std::decay_t<F>
    & > auto spawn(F&& f, std::source_location where = std::source_location::current()) const {
        using R = detail::callable_task_value<std::decay_t<F>>;
        return spawn(detail::invoke_owned<R, std::decay_t<F>>(std::forward<F>(f)), {}, where);
    }

    // Spawns a task that owns `f` and `args`.
    template <class F, class... Args>
    requires(sizeof...(Args) > 0) &&
        std::invocable<std::decay_t<F>&, std::decay_t<Args>&&...> auto spawn(F&& f,
                                                                             Args&&... args) const {
        using R = detail::callable_task_value<std::decay_t<F>, std::decay_t<Args>...>;
        return spawn(detail::invoke_owned<R, std::decay_t<F>, std::decay_t<Args>...>(
            std::forward<F>(f), std::forward<Args>(args)...));
    }

    detail::scheduler_core* core() const noexcept { return m_core; }

    std::string dump() const;
    runtime_metrics metrics() const;

private:
    detail::scheduler_core* m_core;
};

class runtime {
public:
    // A multi-thread, work-stealing runtime; its workers start now.
    explicit runtime(runtime_options opts = {});
    // A runtime that runs everything on the thread calling block_on().
    static runtime current_thread(runtime_options opts = {});

    runtime(runtime&&) noexcept;
    runtime& operator=(runtime&&) noexcept;
    // Shuts down: stops the workers, cancels every task still alive (each resumes at its
    // await with corio::cancelled_error, so its destructors run) and frees every frame.
    ~runtime();

    // Runs `t` to completion and returns its value (or rethrows its exception). Throws
    // std::logic_error when called from inside a runtime's thread (it would block a worker).
    template <class T>
    T block_on(task<T> t, std::source_location where = std::source_location::current()) {
        auto h = t.release();
        detail::block_on_root(m_core.get(), &h.promise(), h, where);
        return detail::finish_block_on<T>(&h.promise());
    }

    template <class T>
    join_handle<T> spawn(task<T> t, spawn_options opts = {},
                         std::source_location where = std::source_location::current()) {
        return handle().spawn(std::move(t), opts, where);
    }
    template <class F>
    requires std::invocable < std::decay_t<F>
    & > auto spawn(F&& f, std::source_location where = std::source_location::current()) {
        return handle().spawn(std::forward<F>(f), where);
    }
    template <class F, class... Args>
    requires(sizeof...(Args) > 0) &&
        std::invocable<std::decay_t<F>&, std::decay_t<Args>&&...> auto spawn(F&& f,
                                                                             Args&&... args) {
        return handle().spawn(std::forward<F>(f), std::forward<Args>(args)...);
    }

    runtime_handle handle() const noexcept { return runtime_handle(m_core.get()); }

    // Worker threads (1 for a current-thread runtime).
    std::size_t worker_count() const noexcept;
    // Tasks spawned and not yet freed.
    std::size_t live_tasks() const noexcept;

    // ---- observability (corio/trace.hpp); any thread, while the runtime runs
    // Every live task (see task_info).
    std::vector<task_info> tasks() const;
    // The task dump as text, and as JSON.
    std::string dump() const;
    std::string dump_json() const;
    // A snapshot of the runtime's counters, and the same in Prometheus text format.
    runtime_metrics metrics() const;
    std::string metrics_prometheus() const;
    // The address the metrics server listens on ("" when off); useful with port 0.
    std::string metrics_address() const;

private:
    explicit runtime(std::unique_ptr<detail::scheduler_core> core) noexcept;
    std::unique_ptr<detail::scheduler_core> m_core;
};

// Runs `t` on a new multi-thread runtime and returns its value.
template <class T>
T run(task<T> t, runtime_options opts = {}) {
    runtime rt(std::move(opts));
    return rt.block_on(std::move(t));
}

// Spawns `t` on the runtime running the caller. Throws std::logic_error outside a runtime.
template <class T>
join_handle<T> spawn(task<T> t, spawn_options opts = {},
                     std::source_location where = std::source_location::current()) {
    return runtime_handle(detail::current_scheduler_or_throw("corio::spawn"))
        .spawn(std::move(t), opts, where);
}

// Spawns a task that owns the callable `f`: safe for coroutine lambdas with captures.
template <class F>
requires std::invocable < std::decay_t<F>
& > auto spawn(F&& f, std::source_location where = std::source_location::current()) {
    return runtime_handle(detail::current_scheduler_or_throw("corio::spawn"))
        .spawn(std::forward<F>(f), where);
}

// Spawns a task that owns `f` and `args` (each stored by value in the task).
template <class F, class... Args>
requires(sizeof...(Args) > 0) &&
    std::invocable<std::decay_t<F>&, std::decay_t<Args>&&...> auto spawn(F&& f, Args&&... args) {
    return runtime_handle(detail::current_scheduler_or_throw("corio::spawn"))
        .spawn(std::forward<F>(f), std::forward<Args>(args)...);
}

// The runtime running the caller. Throws std::logic_error outside a runtime.
inline runtime_handle current_runtime() {
    return runtime_handle(detail::current_scheduler_or_throw("corio::current_runtime"));
}

// Lets other tasks run, then resumes. A cancellation point.
class yield_now : public detail::await_point {
public:
    bool await_ready() noexcept {
        m_cancelled = detail::cancel_requested();
        return m_cancelled;
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        poll = &on_poll;
        detail::park_yield(*this, h);
    }
    void await_resume() const {
        if (m_cancelled) throw cancelled_error();
    }

private:
    static bool on_poll(await_point& ap, detail::task_header& t, detail::await_op op) noexcept {
        if (op == detail::await_op::inspect) {
            detail::tls_wait_info->kind = detail::wait_kind::yield;
            detail::tls_wait_info->describe("yield_now (runnable)");
            return false;
        }
        static_cast<yield_now&>(ap).m_cancelled =
            op == detail::await_op::cancel || t.is_cancelled();
        return true;
    }
    bool m_cancelled = false;
};

}  // namespace corio
