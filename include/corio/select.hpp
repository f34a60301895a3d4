// corio/select.hpp — wait for the first of several operations; cancel the rest.
//
//     auto r = co_await corio::select(rx.recv(), corio::sleep(1s));
//     if (r.index() == 1) std::puts("no message within 1s");
//     else if (auto& msg = std::get<0>(r)) use(*msg);
//
// Each argument is a corio await (recv, send, sleep, acquire, lock, accept, read,
// token.cancelled(), ...), a task<T>, or a join_handle<T> (passed with std::move).
//  * corio awaits run inside the calling task, as tokio's select! does: they are polled
//    together, the first to complete wins, and the others are withdrawn before they could
//    complete — so a losing recv() takes no message, a losing acquire() holds no permit.
//  * a task<T> runs as a child task; if it loses it is cancelled (join_handle::abort) and
//    awaited before select returns, so no child outlives the select.
//  * a join_handle<T> waits for its task; if it loses, the task runs on, detached.
// When several are ready at once, the winner is the first ready one from a rotating start,
// so no branch starves.
//
// The result is a std::variant of the branches' results (void → std::monostate), with
// index() saying which won. An exception from the winning branch propagates.
//
// Cancellation: select is a cancellation point. A cancelled select withdraws every await,
// cancels and awaits every child task, then throws corio::cancelled_error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "corio/detail/context.hpp"
#include "corio/detail/wait_info.hpp"
#include "corio/detail/wait_slot.hpp"
#include "corio/join_handle.hpp"
#include "corio/runtime.hpp"
#include "corio/task.hpp"

namespace corio {

namespace detail {

// A corio await that can be multiplexed by select: it parks through an await_point.
template <class A>
concept leaf_awaitable = std::derived_from<std::remove_cvref_t<A>, await_point> && requires(A& a) {
    { a.await_ready() } -> std::convertible_to<bool>;
    a.await_resume();
};

// One select argument, seen as a leaf await: the await itself, or a child task's join.
template <class B>
struct select_branch;

template <leaf_awaitable A>
struct select_branch<A> {
    using result = decltype(std::declval<A&>().await_resume());
    explicit select_branch(A&& a) : leaf(std::move(a)) {}
    A leaf;
    task_header* child() const noexcept { return nullptr; }
};

// A join_handle: waits for that task. Losing withdraws the join and lets the task run on,
// detached (as dropping a JoinHandle does in tokio's select!); abort it yourself if needed.
template <class T>
struct select_branch<join_handle<T>> {
    using result = T;
    explicit select_branch(join_handle<T>&& h)
        : handle(std::move(h)), leaf(handle.operator co_await()) {}
    join_handle<T> handle;
    typename join_handle<T>::awaiter leaf;
    task_header* child() const noexcept { return nullptr; }  // not ours to cancel
};

template <class T>
struct select_branch<task<T>> {
    using result = T;
    explicit select_branch(task<T>&& t)
        : handle(corio::spawn(std::move(t))), leaf(handle.operator co_await()) {}
    join_handle<T> handle;
    typename join_handle<T>::awaiter leaf;
    task_header* child() const noexcept { return leaf.target; }
};

inline std::uint32_t next_select_start() noexcept {
    thread_local std::uint32_t x = 0x9E3779B9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

// Calls f(std::integral_constant<size_t, I>) for the I == i.
template <std::size_t N, class F>
void visit_index(std::size_t i, F&& f) {
    [&]<std::size_t... Is>(std::index_sequence<Is...>) {
        ((i == Is ? (f(std::integral_constant<std::size_t, Is>{}), 0) : 0), ...);
    }
    (std::make_index_sequence<N>{});
}

// Keeps the budget out of the branches' way: select itself is one operation.
struct budget_shield {
    int saved;
    budget_shield() noexcept : saved(tls_context.budget) { tls_context.budget = 1 << 30; }
    ~budget_shield() { tls_context.budget = saved - 1; }
};

template <class... Bs>
class select_awaiter : public await_point {
    static constexpr std::size_t N = sizeof...(Bs);
    static constexpr std::size_t kNone = ~std::size_t{0};

public:
    using result_type = std::variant<void_to_monostate<typename select_branch<Bs>::result>...>;

    template <class... Args>
    requires(sizeof...(Args) == N) explicit select_awaiter(std::in_place_t, Args&&... args)
        : m_branches(std::forward<Args>(args)...) {}
    // Moves are for g++, which moves an awaiter into the frame before awaiting it.
    select_awaiter(select_awaiter&& o) noexcept(
        std::is_nothrow_move_constructible_v<std::tuple<select_branch<Bs>...>>)
        : m_branches(std::move(o.m_branches)) {}
    select_awaiter(const select_awaiter&) = delete;
    select_awaiter& operator=(const select_awaiter&) = delete;
    ~select_awaiter() {
        // Destroyed without completing (the frame died while parked): withdraw what is left.
        if (m_armed && m_winner == kNone) cancel_all_except(kNone);
    }

    bool await_ready() {
        m_start = next_select_start() % N;
        if (cancel_requested()) {
            m_task_cancelled = true;
            return !has_children();
        }
        budget_shield shield;
        for (std::size_t k = 0; k < N; ++k) {
            std::size_t i = (m_start + k) % N;
            bool ready = false;
            visit_index<N>(i, [&](auto I) { ready = std::get<I>(m_branches).leaf.await_ready(); });
            if (ready) {
                m_winner = i;
                return !has_children();
            }
        }
        return false;
    }

    bool await_suspend(std::coroutine_handle<> h) {
        poll = &on_poll;
        task_header* t = current_task();
        m_task = t;
        if (m_winner == kNone && !m_task_cancelled) {
            budget_shield shield;
            for (std::size_t k = 0; k < N && m_winner == kNone; ++k) {
                std::size_t i = (m_start + k) % N;
                visit_index<N>(i, [&](auto I) {
                    auto& leaf = std::get<I>(m_branches).leaf;
                    if (!leaf.await_suspend(h)) {
                        m_winner = i;  // completed while registering
                    } else {
                        m_registered |= std::uint64_t{1} << i;
                    }
                });
            }
            m_armed = true;
            t->flags &= std::uint8_t(~task_flag::yielded);
        }
        if (m_winner != kNone || m_task_cancelled) {
            cancel_all_except(m_winner);
            if (children_done(*t)) return false;
        }
        park(*this, h);
        return true;
    }

    result_type await_resume() {
        if (m_task_cancelled) throw cancelled_error();
        return resume_winner();
    }

private:
    static constexpr bool has_children() noexcept { return (... || !leaf_awaitable<Bs>); }

    // Withdraws every registered await except `keep`, and aborts every losing child task.
    void cancel_all_except(std::size_t keep) noexcept {
        for (std::size_t i = 0; i < N; ++i) {
            if (i == keep) continue;
            visit_index<N>(i, [&](auto I) {
                auto& b = std::get<I>(m_branches);
                if (m_registered & (std::uint64_t{1} << i)) {
                    b.leaf.poll(b.leaf, *m_task, await_op::cancel);
                    m_registered &= ~(std::uint64_t{1} << i);
                }
                if (task_header* c = b.child()) abort_task(c);
            });
        }
        m_armed = false;
    }

    // True when every losing child task has finished; otherwise arms their join slots.
    bool children_done(task_header& self) noexcept {
        bool done = true;
        for (std::size_t i = 0; i < N; ++i) {
            if (i == m_winner) continue;
            visit_index<N>(i, [&](auto I) {
                task_header* c = std::get<I>(m_branches).child();
                if (!c) return;
                wait_slot_ref slot(c->join_slot());
                if (slot.fired()) return;
                // Armed by us already, or armed now: it finishes later and wakes us. (If the
                // arm fails, it fired in between: finished.)
                if (c->join_slot().load(std::memory_order_acquire) ==
                        reinterpret_cast<std::uintptr_t>(&self) ||
                    slot.arm(&self))
                    done = false;
            });
        }
        return done;
    }

    static bool on_poll(await_point& ap, task_header& t, await_op op) noexcept {
        auto& self = static_cast<select_awaiter&>(ap);
        if (op == await_op::inspect) {
            self.inspect(t);
            return false;
        }
        self.m_task = &t;
        if (op == await_op::cancel) {  // a select inside a select lost: children are detached
            self.cancel_all_except(kNone);
            self.m_task_cancelled = true;
            return true;
        }
        if (self.m_winner == kNone && !self.m_task_cancelled) {
            if (t.is_cancelled()) {
                self.m_task_cancelled = true;
            } else {
                for (std::size_t k = 0; k < N && self.m_winner == kNone; ++k) {
                    std::size_t i = (self.m_start + k) % N;
                    if (!(self.m_registered & (std::uint64_t{1} << i))) continue;
                    visit_index<N>(i, [&](auto I) {
                        auto& leaf = std::get<I>(self.m_branches).leaf;
                        if (leaf.poll(leaf, t, await_op::poll)) {
                            self.m_winner = i;
                            self.m_registered &= ~(std::uint64_t{1} << i);
                        }
                    });
                }
                if (self.m_winner == kNone) return false;
            }
            self.cancel_all_except(self.m_winner);
        }
        return self.children_done(t);
    }

    // A select waits on the union of its branches: "select: mpsc::recv (...) | sleep until ...".
    void inspect(task_header& t) noexcept {
        wait_info& out = *tls_wait_info;
        wait_info whole;
        whole.kind = wait_kind::group;
        whole.object = this;
        whole.holders_known = true;
        int len = std::snprintf(whole.text, sizeof whole.text, "select:");
        for (std::size_t i = 0; i < N; ++i) {
            if (!(m_registered & (std::uint64_t{1} << i))) continue;
            visit_index<N>(i, [&](auto I) {
                auto& leaf = std::get<I>(m_branches).leaf;
                wait_info branch;
                tls_wait_info = &branch;
                leaf.poll(leaf, t, await_op::inspect);
                whole.external |= branch.external;
                whole.holders_known &= branch.holders_known;
                for (std::uint8_t h = 0; h < branch.holder_count; ++h)
                    whole.add_holder(branch.holders[h]);
                if (len > 0 && std::size_t(len) < sizeof whole.text)
                    len += std::snprintf(whole.text + len, sizeof whole.text - std::size_t(len),
                                         " %s%s", i ? "| " : "", branch.text);
            });
        }
        if (m_winner != kNone || m_task_cancelled) {
            whole.kind = wait_kind::join;
            whole.describe("select: cancelled branches finishing");
        }
        out = whole;
        tls_wait_info = &out;
    }

    result_type resume_winner() {
        std::optional<result_type> out;  // the results need not be default-constructible
        visit_index<N>(m_winner, [&](auto I) {
            auto& leaf = std::get<I>(m_branches).leaf;
            using R = decltype(leaf.await_resume());
            if constexpr (std::is_void_v<R>) {
                leaf.await_resume();
                out.emplace(std::in_place_index<I>);
            } else {
                out.emplace(std::in_place_index<I>, leaf.await_resume());
            }
        });
        return std::move(*out);
    }

    std::tuple<select_branch<Bs>...> m_branches;
    std::size_t m_winner = kNone;
    std::size_t m_start = 0;
    std::uint64_t m_registered = 0;
    task_header* m_task = nullptr;
    bool m_task_cancelled = false;
    bool m_armed = false;
};

}  // namespace detail

// Waits for the first of `branches` (corio awaits or task<T>s, passed as temporaries or
// std::move'd; see above).
template <class... Bs>
requires(sizeof...(Bs) >= 1 && sizeof...(Bs) <= 64 &&
         (... && !std::is_lvalue_reference_v<Bs>)) auto select(Bs&&... branches) {
    return detail::select_awaiter<std::remove_cvref_t<Bs>...>(std::in_place,
                                                              std::move(branches)...);
}

}  // namespace corio
