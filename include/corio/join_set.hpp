// corio/join_set.hpp — a set of spawned tasks, joined in the order they finish.
//
//     corio::join_set<std::size_t> set;
//     for (auto& url : urls) set.spawn(fetch_len(url));
//     while (auto r = co_await set.join_next()) total += *r;    // completion order
//
// join_next() gives the result of the next task to finish (rethrowing its exception), or
// std::nullopt when the set is empty. abort_all() cancels every task in the set; they stay
// in the set until joined (a cancelled task's join_next() rethrows corio::cancelled_error).
// Destroying the set aborts its tasks and drops their handles: none outlives the set
// unobserved (each frees itself when it reaches its next await).
//
// For task<void>, join_next() gives std::optional<std::monostate>.
//
// Cancellation: join_next() is a cancellation point; a cancelled join_next() takes nothing
// (the finished task stays in the set for the next call).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>

#include "corio/detail/queued_await.hpp"
#include "corio/detail/wait_slot.hpp"
#include "corio/join_handle.hpp"
#include "corio/runtime.hpp"
#include "corio/task.hpp"

namespace corio {

namespace detail {
// Where finished members announce themselves, in finishing order. Each member's join slot
// is armed with a member_node callback, so a member announces itself even if it was
// aborted before it ever ran.
struct join_set_shared {
    spinlock lock;
    std::deque<std::uint64_t> finished;  // guarded by lock: ids, in finishing order
    waiter_list waiters;                 // a join_next() waiting
    std::size_t members = 0;             // guarded by lock: spawned, not yet joined

    void announce(std::uint64_t id) noexcept {
        std::lock_guard guard(lock);
        try {
            finished.push_back(id);
        } catch (...) {
            std::terminate();  // out of memory with nowhere to report: like a failed new
        }
        if (waiter_node* n = waiters.pop_front()) {
            n->outcome = queued::granted;
            n->slot.fire(/*lifo=*/true);
        }
    }
};

struct join_set_member_node : slot_callback {
    join_set_shared* shared;
    std::uint64_t id;
    join_set_member_node(join_set_shared* s, std::uint64_t i) noexcept
        : slot_callback{&on_fire}, shared(s), id(i) {}
    static void on_fire(slot_callback* self) noexcept {
        auto* n = static_cast<join_set_member_node*>(self);
        n->shared->announce(n->id);
    }
};
}  // namespace detail

template <class T>
class join_set {
public:
    using value_type = detail::void_to_monostate<T>;

    join_set() : m_shared(std::make_unique<detail::join_set_shared>()) {}
    join_set(join_set&&) noexcept = default;
    join_set& operator=(join_set&&) noexcept = default;
    join_set(const join_set&) = delete;
    join_set& operator=(const join_set&) = delete;
    ~join_set() {
        abort_all();
        // Withdraw every callback before the nodes go (disarm waits for one being run).
        for (auto& [id, m] : m_members)
            detail::wait_slot_ref(detail::header_of(m.handle)->join_slot()).disarm();
    }

    // Spawns `t` on the caller's runtime as a member of the set; returns its task id.
    // Not thread-safe: one task owns a join_set (spawn, join_next, abort_all).
    std::uint64_t spawn(task<T> t, spawn_options opts = {},
                        std::source_location where = std::source_location::current()) {
        auto h = corio::spawn(std::move(t), opts, where);
        std::uint64_t id = h.id();
        auto [it, inserted] = m_members.try_emplace(id, std::move(h), m_shared.get(), id);
        {
            std::lock_guard guard(m_shared->lock);
            ++m_shared->members;
        }
        // If it already finished, arming fails: announce it ourselves.
        if (!detail::wait_slot_ref(detail::header_of(it->second.handle)->join_slot())
                 .arm(&it->second.node))
            m_shared->announce(id);
        return id;
    }

    class [[nodiscard]] next_awaiter : public detail::queued_await<next_awaiter> {
    public:
        explicit next_awaiter(join_set& s) noexcept : m_set(s) {}
        next_awaiter(next_awaiter&& o) noexcept
            : detail::queued_await<next_awaiter>(std::move(o)), m_set(o.m_set) {}

    private:
        friend class detail::queued_await<next_awaiter>;
        detail::spinlock& lock() noexcept { return m_set.m_shared->lock; }
        detail::waiter_list& waiters() noexcept { return m_set.m_shared->waiters; }
        bool try_grant(detail::waiter_node& n) noexcept {
            if (m_set.m_shared->finished.empty() && m_set.m_shared->members != 0) return false;
            n.outcome = detail::queued::granted;
            return true;
        }
        void give_back(detail::waiter_node&) const noexcept {}  // nothing was taken
        // The value itself is taken by join_next's coroutine (it may still have to wait the
        // few instructions between a member's announcement and its completion).
        void result(std::uint8_t) const noexcept {}
        void inspect(detail::wait_info& w) const noexcept {
            w.kind = detail::wait_kind::join;
            w.object = &m_set;
            std::size_t n = 0;
            for (auto& [id, m] : m_set.m_members) {
                if (n++ < 4) w.add_holder(id);
            }
            w.holders_known = n <= 4;
            w.describe("join_set::join_next (%zu members running)", m_set.m_shared->members);
        }
        join_set& m_set;
    };

    // The next finished task's result (or its exception), or nullopt if the set is empty.
    task<std::optional<value_type>> join_next() {
        co_await next_awaiter(*this);
        std::uint64_t id;
        {
            std::lock_guard guard(m_shared->lock);
            if (m_shared->finished.empty()) co_return std::nullopt;  // empty set
            id = m_shared->finished.front();
            m_shared->finished.pop_front();
            --m_shared->members;
        }
        auto node = m_members.extract(id);
        // Finished already: the join completes at once, even if we are being cancelled.
        if constexpr (std::is_void_v<T>) {
            co_await node.mapped().handle.join_uncancellable();
            co_return std::monostate{};
        } else {
            co_return co_await node.mapped().handle.join_uncancellable();
        }
    }

    // Cancels every task in the set (they are still joined by join_next()).
    void abort_all() noexcept {
        for (auto& [id, m] : m_members) m.handle.abort();
    }

    std::size_t size() const noexcept { return m_members.size(); }
    bool empty() const noexcept { return m_members.empty(); }

private:
    struct member {
        member(join_handle<T>&& h, detail::join_set_shared* s, std::uint64_t id) noexcept
            : handle(std::move(h)), node(s, id) {}
        join_handle<T> handle;
        detail::join_set_member_node node;  // its address is armed in the task's join slot
    };
    std::unique_ptr<detail::join_set_shared> m_shared;
    std::unordered_map<std::uint64_t, member> m_members;  // node-based: members never move
};

}  // namespace corio
