// corio/join_handle.hpp — the handle spawn() returns.
//
//     auto h = corio::spawn(work(i));
//     int v = co_await h;          // the task's value, or its exception rethrown
//     h.abort();                   // cancel it at its next await
//
// Destroying a handle detaches the task: it keeps running and its result is dropped.
// Awaiting a handle is a cancellation point: if the awaiting task is cancelled, the await
// throws corio::cancelled_error and the spawned task keeps running (detached). An aborted
// task's handle rethrows corio::cancelled_error (unless the task had already finished).
// The result is moved out: await a handle once.
#pragma once

#include <cstdint>
#include <utility>

#include "corio/detail/context.hpp"
#include "corio/detail/task_header.hpp"
#include "corio/detail/wait_slot.hpp"
#include "corio/task.hpp"

namespace corio {

template <class T>
class join_handle;

namespace detail {

// Sets CANCELLED and wakes the task so the await it is parked in lets it go.
void abort_task(task_header* t) noexcept;

template <class T>
join_handle<T> make_join_handle(task_header* t) noexcept;
template <class T>
task_header* header_of(const join_handle<T>& h) noexcept;

struct join_await : await_point {
    task_header* target;
    bool cancelled = false;
    bool shielded = false;  // ignores the awaiting task's cancellation (internal use)
    bool armed = false;     // parked in the join slot (not the finished-but-yielding path)

    explicit join_await(task_header* t, bool shield = false) noexcept
        : target(t), shielded(shield) {}

    bool finished() const noexcept {
        return (target->state.load(std::memory_order_acquire) & task_state::complete) != 0;
    }
    bool ready() noexcept {
        if (!shielded && cancel_requested()) {
            cancelled = true;
            return true;
        }
        return finished() && consume_budget();
    }
    bool suspend(std::coroutine_handle<> h) noexcept {
        poll = &poll_join;
        if (finished()) {
            // Finished since ready() looked: resume now, unless the budget is spent (yield
            // first). select() shields the budget, so its branches always take the first way:
            // a yield there would leave the branch registered with nothing to wake it.
            if (tls_context.budget > 0) return false;
            park_yield(*this, h);
            return true;
        }
        if (!wait_slot_ref(target->join_slot()).arm(current_task())) return false;  // finished
        armed = true;
        park(*this, h);
        return true;
    }
    static bool poll_join(await_point& ap, task_header& self, await_op op) noexcept;
};

}  // namespace detail

template <class T>
class join_handle {
public:
    join_handle() noexcept = default;
    join_handle(join_handle&& o) noexcept : m_task(std::exchange(o.m_task, nullptr)) {}
    join_handle& operator=(join_handle&& o) noexcept {
        if (this != &o) {
            reset();
            m_task = std::exchange(o.m_task, nullptr);
        }
        return *this;
    }
    join_handle(const join_handle&) = delete;
    join_handle& operator=(const join_handle&) = delete;
    ~join_handle() { reset(); }

    // Lets the task run on without a handle.
    void detach() noexcept { reset(); }

    // Requests cancellation: the task resumes at its current or next await with
    // corio::cancelled_error. A task that has not started never runs. No effect once finished.
    void abort() noexcept {
        if (m_task) detail::abort_task(m_task);
    }

    // True once the task has completed (returned, thrown or been cancelled).
    bool is_finished() const noexcept {
        return m_task &&
               (m_task->state.load(std::memory_order_acquire) & detail::task_state::complete);
    }

    // The runtime-unique id of the task (shown in task dumps).
    std::uint64_t id() const noexcept { return m_task ? m_task->id() : 0; }

    explicit operator bool() const noexcept { return m_task != nullptr; }

    struct awaiter : detail::join_await {
        using detail::join_await::join_await;
        bool await_ready() noexcept { return ready(); }
        bool await_suspend(std::coroutine_handle<> h) noexcept { return suspend(h); }
        T await_resume() {
            if (cancelled) throw cancelled_error();
            target->state.fetch_or(detail::task_state::observed, std::memory_order_relaxed);
            return static_cast<detail::task_promise<T>*>(target)->take_result();
        }
    };

    awaiter operator co_await() & noexcept { return awaiter(m_task); }
    awaiter operator co_await() && noexcept { return awaiter(m_task); }

    // Awaits completion even if the awaiting task is cancelled meanwhile (the cancellation
    // is then seen at its next await). For operations that lend their own data to the task.
    awaiter join_uncancellable() noexcept { return awaiter(m_task, true); }

private:
    friend join_handle detail::make_join_handle<T>(detail::task_header*) noexcept;
    friend detail::task_header* detail::header_of<T>(const join_handle&) noexcept;
    explicit join_handle(detail::task_header* t) noexcept : m_task(t) {}

    void reset() noexcept {
        if (m_task) detail::release_task(std::exchange(m_task, nullptr));
    }

    detail::task_header* m_task = nullptr;
};

namespace detail {
template <class T>
join_handle<T> make_join_handle(task_header* t) noexcept {
    return join_handle<T>(t);
}
template <class T>
task_header* header_of(const join_handle<T>& h) noexcept {
    return h.m_task;
}
}  // namespace detail

}  // namespace corio
