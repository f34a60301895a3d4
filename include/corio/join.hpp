// corio/join.hpp — run several operations concurrently and wait for all of them.
//
//     auto [a, b] = co_await corio::join(task1(), task2());      // tokio::join!
//     std::vector<int> sizes = co_await corio::join(std::move(fetches));  // a range of tasks
//     auto [x, y] = co_await corio::try_join(load(a), load(b));  // first failure cancels the rest
//
// Each branch (a task<T>, or a corio await such as rx.recv() or sleep(d)) runs as a child
// task of the caller, concurrently and possibly in parallel on other workers; join waits
// for all of them. Results come back in argument order; a void result is std::monostate.
//
// join: every branch runs to the end; if some threw, the exception of the first failing
// branch in argument order is rethrown once all have finished.
// try_join: the first branch to throw (in time) cancels all the others; once they have
// finished, its exception is rethrown.
//
// Cancellation: a cancellation point. Cancelling the caller cancels every branch and waits
// for them (no child outlives the join), then throws corio::cancelled_error.
// Cost: one allocation for the group, plus two frames (the branch and its wrapper) and one
// spawn per branch.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <exception>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "corio/detail/context.hpp"
#include "corio/detail/fence.hpp"
#include "corio/detail/wait_info.hpp"
#include "corio/detail/wait_slot.hpp"
#include "corio/join_handle.hpp"
#include "corio/runtime.hpp"
#include "corio/select.hpp"
#include "corio/task.hpp"

namespace corio {

namespace detail {

// Children count themselves out here; the parent waits for "all done" or "one failed".
// Refcounted: a child may still be touching it after the parent has seen the last count.
class completion_group {
public:
    static completion_group* create(std::size_t children) { return new completion_group(children); }

    void add_ref() noexcept { m_refs.fetch_add(1, std::memory_order_relaxed); }
    void release() noexcept {
        if (m_refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    // Called by child `index` as it finishes (after storing its result).
    void child_done(std::size_t index, bool failed) noexcept {
        if (failed) {
            std::size_t none = kNone;
            m_first_failure.compare_exchange_strong(none, index, std::memory_order_acq_rel);
        }
        m_remaining.fetch_sub(1, std::memory_order_acq_rel);
        full_fence();
        m_slot.wake_if_armed();
    }

    bool all_done() const noexcept { return m_remaining.load(std::memory_order_acquire) == 0; }
    bool any_failed() const noexcept { return first_failure() != kNone; }
    std::size_t first_failure() const noexcept {
        return m_first_failure.load(std::memory_order_acquire);
    }

    // Waits until every child is done, or (until_failure) one has failed. `shielded`: not a
    // cancellation point (used to reap children after a cancellation).
    class [[nodiscard]] waiter : public await_point {
    public:
        waiter(completion_group& g, bool until_failure, bool shielded) noexcept
            : m_group(g), m_until_failure(until_failure), m_shielded(shielded) {}
        bool await_ready() noexcept {
            if (!m_shielded && cancel_requested()) return m_cancelled = true;
            return done();
        }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            poll = &on_poll;
            if (arm_or_done(*current_task())) return false;
            park(*this, h);
            return true;
        }
        void await_resume() const {
            if (m_cancelled) throw cancelled_error();
        }

    private:
        bool done() const noexcept {
            return m_group.all_done() || (m_until_failure && m_group.any_failed());
        }
        bool arm_or_done(task_header& t) noexcept {
            m_group.m_slot.reset();
            m_group.m_slot.arm(&t);
            if (!done()) return false;
            m_group.m_slot.disarm();
            m_group.m_slot.reset();
            return true;
        }
        static bool on_poll(await_point& ap, task_header& t, await_op op) noexcept {
            auto& self = static_cast<waiter&>(ap);
            if (op == await_op::inspect) {
                tls_wait_info->kind = wait_kind::group;
                tls_wait_info->object = &self.m_group;
                tls_wait_info->describe("join of child tasks (%zu still running)",
                                        self.m_group.m_remaining.load(std::memory_order_relaxed));
                return false;
            }
            self.m_group.m_slot.disarm();
            self.m_group.m_slot.reset();
            if (op == await_op::cancel || (!self.m_shielded && t.is_cancelled()))
                return self.m_cancelled = true;
            return self.done() || self.arm_or_done(t);
        }
        completion_group& m_group;
        bool m_until_failure;
        bool m_shielded;
        bool m_cancelled = false;
    };

    waiter wait(bool until_failure, bool shielded = false) noexcept {
        return waiter(*this, until_failure, shielded);
    }

private:
    static constexpr std::size_t kNone = ~std::size_t{0};
    explicit completion_group(std::size_t children) : m_remaining(children) {}

    std::atomic<std::size_t> m_refs{1};
    std::atomic<std::size_t> m_remaining;
    std::atomic<std::size_t> m_first_failure{kNone};
    wait_slot m_slot;
};

// An owning reference to a group: a branch whose frame is destroyed without ever running
// (aborted before it started) still gives its reference back.
class group_ref {
public:
    explicit group_ref(completion_group* p) noexcept : m_g(p) {}
    group_ref(group_ref&& o) noexcept : m_g(std::exchange(o.m_g, nullptr)) {}
    group_ref(const group_ref&) = delete;
    group_ref& operator=(const group_ref&) = delete;
    ~group_ref() {
        if (m_g) m_g->release();
    }
    completion_group* operator->() const noexcept { return m_g; }
    completion_group& operator*() const noexcept { return *m_g; }
    // A new reference to the same group.
    group_ref share() const noexcept {
        m_g->add_ref();
        return group_ref(m_g);
    }

private:
    completion_group* m_g;
};

template <class T>
struct branch_result {
    using type = T;
};
template <leaf_awaitable A>
struct branch_result<A> {
    using type = decltype(std::declval<A&>().await_resume());
};
template <class T>
struct branch_result<task<T>> {
    using type = T;
};
template <class B>
using branch_result_t = typename branch_result<std::remove_cvref_t<B>>::type;

template <class A>
task<branch_result_t<A>> await_leaf(A a) {
    co_return co_await std::move(a);
}

template <class T>
task<T> as_task(task<T>&& t) {
    return std::move(t);
}
template <leaf_awaitable A>
auto as_task(A&& a) {
    return await_leaf<std::remove_cvref_t<A>>(std::move(a));
}

// Runs one branch, stores its value or exception in the parent's frame, counts itself out.
template <class T>
task<> run_branch(group_ref g, std::size_t index, task<T> t,
                  std::optional<void_to_monostate<T>>* out, std::exception_ptr* error) {
    bool failed = false;
    try {
        if constexpr (std::is_void_v<T>) {
            co_await std::move(t);
            out->emplace();
        } else {
            out->emplace(co_await std::move(t));
        }
    } catch (...) {
        *error = std::current_exception();
        failed = true;
    }
    g->child_done(index, failed);
}

// Waits for the group; on cancellation (or, in try mode, a failure) aborts the children
// and reaps them through their handles (a child aborted before it started never counts
// itself out) before returning. Returns normally only if no cancellation happened.
template <class Handles>
task<> wait_group_of(completion_group& g, Handles& handles, bool try_mode) {
    bool cancelled = false;
    try {
        co_await g.wait(try_mode);
    } catch (const cancelled_error&) {
        cancelled = true;
    }
    if (cancelled || !g.all_done()) {
        for (auto& h : handles) h.abort();
        for (auto& h : handles) {
            try {
                co_await h.join_uncancellable();
            } catch (...) {  // cancelled before it ran: nothing to keep
            }
        }
    }
    if (cancelled) throw cancelled_error();
}

template <class... Bs>
auto join_impl(bool try_mode, Bs... branches)
    -> task<std::tuple<void_to_monostate<branch_result_t<Bs>>...>> {
    constexpr std::size_t N = sizeof...(Bs);
    std::tuple<std::optional<void_to_monostate<branch_result_t<Bs>>>...> results;
    std::array<std::exception_ptr, N> errors;
    group_ref g(completion_group::create(N));
    std::array<join_handle<void>, N> handles;
    [&]<std::size_t... Is>(std::index_sequence<Is...>) {
        ((handles[Is] = corio::spawn(run_branch(g.share(), Is, as_task(std::move(branches)),
                                                &std::get<Is>(results), &errors[Is]))),
         ...);
    }
    (std::make_index_sequence<N>{});
    co_await wait_group_of(*g, handles, try_mode);
    if (g->any_failed()) {
        std::size_t first = try_mode ? g->first_failure() : N;
        if (!try_mode)
            for (std::size_t i = 0; i < N && first == N; ++i)
                if (errors[i]) first = i;
        std::rethrow_exception(errors[first]);
    }
    co_return [&]<std::size_t... Is>(std::index_sequence<Is...>) {
        return std::tuple<void_to_monostate<branch_result_t<Bs>>...>(
            std::move(*std::get<Is>(results))...);
    }
    (std::make_index_sequence<N>{});
}

template <class T>
auto join_range_impl(bool try_mode, std::vector<task<T>> tasks)
    -> task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> {
    const std::size_t n = tasks.size();
    std::vector<std::optional<void_to_monostate<T>>> results(n);
    std::vector<std::exception_ptr> errors(n);
    group_ref g(completion_group::create(n));
    std::vector<join_handle<void>> handles;
    handles.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        handles.push_back(
            corio::spawn(run_branch(g.share(), i, std::move(tasks[i]), &results[i], &errors[i])));
    co_await wait_group_of(*g, handles, try_mode);
    if (g->any_failed()) {
        std::size_t first = try_mode ? g->first_failure() : n;
        if (!try_mode)
            for (std::size_t i = 0; i < n && first == n; ++i)
                if (errors[i]) first = i;
        std::rethrow_exception(errors[first]);
    }
    if constexpr (!std::is_void_v<T>) {
        std::vector<T> out;
        out.reserve(n);
        for (auto& r : results) out.push_back(std::move(*r));
        co_return out;
    }
}

}  // namespace detail

// Runs every branch concurrently; the tuple of their results (see above).
template <class... Bs>
requires(sizeof...(Bs) >= 1 &&
         (... && !std::is_lvalue_reference_v<Bs>)) auto join(Bs&&... branches) {
    return detail::join_impl<std::remove_cvref_t<Bs>...>(false, std::move(branches)...);
}

// Like join, but the first failure cancels the other branches.
template <class... Bs>
requires(sizeof...(Bs) >= 1 &&
         (... && !std::is_lvalue_reference_v<Bs>)) auto try_join(Bs&&... branches) {
    return detail::join_impl<std::remove_cvref_t<Bs>...>(true, std::move(branches)...);
}

// Runs every task of the range concurrently; their results in order (void for task<>).
template <class T>
auto join(std::vector<task<T>> tasks) {
    return detail::join_range_impl<T>(false, std::move(tasks));
}

template <class T>
auto try_join(std::vector<task<T>> tasks) {
    return detail::join_range_impl<T>(true, std::move(tasks));
}

}  // namespace corio
