// corio/task.hpp — task<T>, the lazy coroutine every corio program is made of.
//
//     corio::task<int> answer() { co_return 42; }
//     corio::task<> main_task() { int v = co_await answer(); ... }
//
// A task<T> does nothing until it is awaited (it then runs inside the awaiting task, with no
// queue trip and no allocation besides its own frame) or spawned (it then runs on its own on
// the runtime; see runtime.hpp). Awaiting transfers control symmetrically to the child and,
// on completion, back to the parent, so await chains and async recursion of any depth use
// no stack. An exception escaping the child is rethrown in the parent at the co_await.
//
// Cost: one frame allocation from a per-thread recycler (frame_allocator.hpp).
// Cancellation: awaiting a task is a cancellation point: a cancelled task throws
// corio::cancelled_error before the child starts; a child already running sees the
// cancellation at its own next await.
//
// task<T> is move-only; destroying a task that was never awaited or spawned destroys its
// frame without running it.
#pragma once

#include <cassert>
#include <coroutine>
#include <exception>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>

#include "corio/detail/config.hpp"
#include "corio/detail/context.hpp"
#include "corio/detail/frame_allocator.hpp"
#include "corio/detail/task_header.hpp"
#include "corio/error.hpp"

namespace corio {

template <class T = void>
class task;

namespace detail {

// Completes a root task: publishes the result (COMPLETE) and wakes its joiner.
void complete_root(task_header& t) noexcept;

// What await_transform hands back for an awaiter: a pointer to it. g++ 12 materializes
// await_transform's result in the frame whatever it is (a moved-to or copied awaiter when it
// returns the awaiter itself); a pointer-sized forwarder keeps that to 8 bytes.
template <class A>
struct await_forwarder {
    A* awaiter;
    bool await_ready() { return awaiter->await_ready(); }
    template <class H>
    auto await_suspend(H h) -> decltype(awaiter->await_suspend(h)) {
        return awaiter->await_suspend(h);
    }
    decltype(auto) await_resume() { return awaiter->await_resume(); }
};

template <class A>
concept has_member_co_await = requires(A&& a) {
    static_cast<A&&>(a).operator co_await();
};

struct task_promise_base : task_header {
    std::exception_ptr exception{};

    void set_continuation(std::coroutine_handle<> h) noexcept {
        link.store(reinterpret_cast<std::uintptr_t>(h.address()), std::memory_order_relaxed);
    }
    std::coroutine_handle<> continuation() const noexcept {
        return std::coroutine_handle<>::from_address(
            reinterpret_cast<void*>(link.load(std::memory_order_relaxed)));
    }

    static void* operator new(std::size_t size) { return allocate_frame(size); }
    static void operator delete(void* p, std::size_t size) noexcept { deallocate_frame(p, size); }

    std::suspend_always initial_suspend() noexcept { return {}; }

    struct final_awaiter {
        bool await_ready() noexcept { return false; }
        template <class P>
        std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) noexcept {
            task_promise_base& p = h.promise();
            if (p.flags & task_flag::root) {
                complete_root(p);
                return std::noop_coroutine();
            }
            return transfer_to(p.continuation());
        }
        void await_resume() noexcept {}
    };
    final_awaiter final_suspend() noexcept { return {}; }

    void unhandled_exception() noexcept { exception = std::current_exception(); }

    // Every co_await in a corio task records where it is (for task dumps and backtraces).
    template <class A>
    auto await_transform(A&& a, std::source_location where = std::source_location::current()) {
#if CORIO_TRACE
        set_await_site(where);
#else
        (void)where;
#endif
        if constexpr (has_member_co_await<A>)
            return static_cast<A&&>(a).operator co_await();
        else
            return await_forwarder<std::remove_reference_t<A>>{std::addressof(a)};
    }

    void rethrow_if_exception() {
        if (exception) std::rethrow_exception(exception);
    }
};

template <class T>
struct task_promise : task_promise_base {
    ~task_promise() {
        if (m_has_value) std::destroy_at(std::launder(reinterpret_cast<T*>(&m_storage)));
    }
    template <class U>
    requires std::is_convertible_v<U&&, T>
    void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
        ::new (static_cast<void*>(&m_storage)) T(std::forward<U>(v));
        m_has_value = true;
    }
    T take_result() {
        rethrow_if_exception();
        assert(m_has_value && "corio: task result taken twice");
        return std::move(*std::launder(reinterpret_cast<T*>(&m_storage)));
    }

private:
    alignas(T) unsigned char m_storage[sizeof(T)];
    bool m_has_value = false;
};

template <class T>
struct task_promise<T&> : task_promise_base {
    void return_value(T& v) noexcept { m_value = std::addressof(v); }
    T& take_result() {
        rethrow_if_exception();
        return *m_value;
    }

private:
    T* m_value = nullptr;
};

template <>
struct task_promise<void> : task_promise_base {
    void return_void() noexcept {}
    void take_result() { rethrow_if_exception(); }
};

template <class T>
using void_to_monostate = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<task<T>> : std::true_type {};

}  // namespace detail

template <class T>
class [[nodiscard]] task {
public:
    using value_type = T;

    struct promise_type : detail::task_promise<T> {
        task get_return_object() noexcept {
            return task(std::coroutine_handle<promise_type>::from_promise(*this));
        }
    };
    using handle_type = std::coroutine_handle<promise_type>;

    task() noexcept = default;
    task(task&& other) noexcept : m_handle(std::exchange(other.m_handle, {})) {}
    task& operator=(task&& other) noexcept {
        if (this != &other) {
            if (m_handle) m_handle.destroy();
            m_handle = std::exchange(other.m_handle, {});
        }
        return *this;
    }
    task(const task&) = delete;
    task& operator=(const task&) = delete;
    ~task() {
        if (m_handle) m_handle.destroy();
    }

    explicit operator bool() const noexcept { return static_cast<bool>(m_handle); }

    struct awaiter {
        handle_type child;
        bool await_ready() noexcept {
            m_cancelled =
                detail::cancel_requested();  // a cancellation point: the child never starts
            return m_cancelled;
        }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) noexcept {
            child.promise().set_continuation(parent);
            return detail::transfer_to(child);
        }
        T await_resume() {
            if (m_cancelled) throw cancelled_error();
            return child.promise().take_result();
        }
        bool m_cancelled = false;
    };

    awaiter operator co_await() & noexcept {
        assert(m_handle && "corio: awaiting an empty task");
        return awaiter{m_handle};
    }
    awaiter operator co_await() && noexcept {
        assert(m_handle && "corio: awaiting an empty task");
        return awaiter{m_handle};
    }

    // Gives up ownership of the frame (used by spawn).
    handle_type release() noexcept { return std::exchange(m_handle, {}); }

private:
    explicit task(handle_type h) noexcept : m_handle(h) {}
    handle_type m_handle{};
};

}  // namespace corio
