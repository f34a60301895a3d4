// corio/gen/async_generator.hpp — async_generator<T>: a coroutine that co_awaits and co_yields.
//
//     corio::async_generator<int> ticks(int n) {
//         for (int i = 0; i < n; ++i) {
//             co_await corio::sleep(100ms);       // any corio await: sleep, recv, read, a task...
//             co_yield i;
//         }
//     }
//     auto g = ticks(3);
//     while (auto v = co_await g.next()) std::printf("%d\n", *v);
//
// An async stream, pulled one value at a time:
//  * Lazy: the body starts at the first next() and runs up to each co_yield.
//  * next() gives std::optional<T>: the next value, or std::nullopt once the body has
//    returned. An exception escaping the body is rethrown from that next(); afterwards the
//    generator is finished (next() gives std::nullopt).
//  * It runs inside the task that calls next(), like a nested task<T>: next() transfers
//    control to the generator symmetrically and the generator transfers back at co_yield or
//    when it ends — no queue trip, no allocation, no thread stack. An await inside the body
//    parks the consuming task, exactly as if the task awaited it itself.
//  * co_yield of an lvalue copies it into the consumer's optional; of an rvalue, moves it.
//  * Move-only. Destroying a generator suspended at a co_yield (or never started) destroys
//    its frame: the locals' destructors run.
//
// Cost: one frame per generator, from corio's frame recycler; a next() that finds a value is
// two symmetric transfers and one move of T. next() does not spend the coop budget itself
// (the corio awaits inside the body do), so a stream that never waits — from(vector) — runs
// like a plain loop.
//
// Observability: the frame carries a task header, as a nested task's does (its link names
// the consumer's frame, and each co_await records its site), so a task dump's async
// backtrace of a task parked inside a generator shows the generator's frame between the
// await and the consumer.
//
// Cancellation: next() is a cancellation point. If the consuming task has been cancelled,
// next() throws corio::cancelled_error without resuming the generator (which stays at its
// co_yield and is destroyed with its owner). A task cancelled while parked in an await
// inside the generator resumes there with cancelled_error, as any await does: unless the
// body catches it, it propagates out of the body and is rethrown from next().
//
// Not for select()/timeout(): next() runs the generator's code in the caller, so it is not a
// leaf await that can be withdrawn. One next() at a time; don't share a generator between
// tasks running concurrently.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include <source_location>

#include "corio/detail/config.hpp"
#include "corio/detail/context.hpp"
#include "corio/detail/frame_allocator.hpp"
#include "corio/detail/task_header.hpp"
#include "corio/error.hpp"

namespace corio {

template <class T>
class [[nodiscard]] async_generator {
    static_assert(std::is_object_v<T> && !std::is_const_v<T>,
                  "corio::async_generator<T>: T must be a non-const object type");

public:
    using value_type = T;

    // Derives from task_header for task dumps only: `link` holds the consumer's frame address
    // while the generator runs (as a nested task's names its parent) and await_site the last
    // co_await; nothing else of the header is used.
    class promise_type : public detail::task_header {
    public:
        static void* operator new(std::size_t size) { return detail::allocate_frame(size); }
        static void operator delete(void* p, std::size_t size) noexcept {
            detail::deallocate_frame(p, size);
        }

        async_generator get_return_object() noexcept {
            return async_generator(std::coroutine_handle<promise_type>::from_promise(*this));
        }
        std::suspend_always initial_suspend() const noexcept { return {}; }

        // Hands control back to the task awaiting next() (at a co_yield or at the end).
        struct to_consumer {
            bool await_ready() const noexcept { return false; }
            std::coroutine_handle<> await_suspend(
                std::coroutine_handle<promise_type> h) const noexcept {
                return detail::transfer_to(h.promise().consumer());
            }
            void await_resume() const noexcept {}
        };
        to_consumer final_suspend() const noexcept { return {}; }

        // co_yield of an rvalue: the consumer moves from it (it lives until we are resumed).
        to_consumer yield_value(T&& v) noexcept {
            m_value = std::addressof(v);
            return {};
        }

        // co_yield of an lvalue: the consumer gets a copy.
        struct copy_to_consumer {
            T value;
            bool await_ready() const noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                h.promise().m_value = std::addressof(value);
                return detail::transfer_to(h.promise().consumer());
            }
            void await_resume() const noexcept {}
        };
        copy_to_consumer yield_value(const T& v) requires std::copy_constructible<T> {
            return copy_to_consumer{v};
        }

        void return_void() const noexcept {}
        void unhandled_exception() noexcept { m_exception = std::current_exception(); }

        // Records where the body co_awaits, as task<T> does (task dumps).
        template <class A>
        A&& await_transform(A&& a,
                            std::source_location where = std::source_location::current()) noexcept {
#if CORIO_TRACE
            set_await_site(where);
#else
            (void)where;
#endif
            return static_cast<A&&>(a);
        }

    private:
        friend class async_generator;
        // The coroutine suspended in next() (kept in `link`, where dumps look for the parent).
        std::coroutine_handle<> consumer() const noexcept {
            return std::coroutine_handle<>::from_address(
                reinterpret_cast<void*>(link.load(std::memory_order_relaxed)));
        }
        void set_consumer(std::coroutine_handle<> h) noexcept {
            link.store(reinterpret_cast<std::uintptr_t>(h.address()), std::memory_order_relaxed);
        }

        T* m_value = nullptr;  // set by a co_yield, taken by next()
        std::exception_ptr m_exception{};
    };
    using handle_type = std::coroutine_handle<promise_type>;

    async_generator() noexcept = default;
    async_generator(async_generator&& o) noexcept : m_handle(std::exchange(o.m_handle, {})) {}
    async_generator& operator=(async_generator&& o) noexcept {
        if (this != &o) {
            reset();
            m_handle = std::exchange(o.m_handle, {});
        }
        return *this;
    }
    async_generator(const async_generator&) = delete;
    async_generator& operator=(const async_generator&) = delete;
    ~async_generator() {
        reset();
    }

    // An empty (default-constructed or moved-from) generator is not valid.
    explicit operator bool() const noexcept {
        return static_cast<bool>(m_handle);
    }

    // True once the body has returned or thrown (next() then gives std::nullopt, after
    // rethrowing the exception once).
    bool is_finished() const noexcept {
        return !m_handle || m_handle.done();
    }

    class [[nodiscard]] next_awaiter {
    public:
        explicit next_awaiter(handle_type g) noexcept : m_gen(g) {}

        bool await_ready() noexcept {
            if (detail::cancel_requested()) return m_cancelled = true;
            return !m_gen || m_gen.done();
        }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> consumer) noexcept {
            promise_type& p = m_gen.promise();
            p.set_consumer(consumer);
            p.m_value = nullptr;
            return detail::transfer_to(m_gen);
        }
        std::optional<T> await_resume() {
            if (m_cancelled) throw cancelled_error();
            if (!m_gen) return std::nullopt;
            promise_type& p = m_gen.promise();
            if (m_gen.done()) {
                if (p.m_exception) std::rethrow_exception(std::exchange(p.m_exception, nullptr));
                return std::nullopt;
            }
            return std::optional<T>(std::move(*p.m_value));
        }

    private:
        handle_type m_gen;
        bool m_cancelled = false;
    };

    // Runs the generator to its next co_yield (or its end): the value, or std::nullopt at the
    // end. Rethrows an exception escaping the body. A cancellation point (see above).
    next_awaiter next() noexcept {
        return next_awaiter(m_handle);
    }

private:
    explicit async_generator(handle_type h) noexcept : m_handle(h) {}
    void reset() noexcept {
        if (m_handle) std::exchange(m_handle, {}).destroy();
    }

    handle_type m_handle{};
};

}  // namespace corio
