// corio/cancel.hpp — cancellation tokens (tokio_util's CancellationToken, Go's context).
//
//     corio::cancellation_token token;
//     auto child = token.child_token();
//     auto h = corio::spawn(watch_for(child));   // select(child.cancelled(), sleep(10s))
//     token.cancel();                            // cancels every child, transitively
//     co_await h;
//
// A token is a cheap, copyable handle to shared state: copies observe and cancel the same
// state. Cancelling a token cancels its children, theirs, and so on; a child never cancels
// its parent. Cancellation is permanent.
//
// A token does not stop a task by itself: a task observes it (is_cancelled(),
// co_await cancelled(), on_cancel callbacks) and returns, or hands it to select/timeout.
// To stop a task from outside regardless of what it awaits, use join_handle::abort().
//
// Built on std::stop_source: registering and running callbacks is thread-safe, and
// destroying a registration while its callback runs on another thread waits for it.
#pragma once

#include <coroutine>
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <utility>

#include "corio/detail/context.hpp"
#include "corio/detail/wait_info.hpp"
#include "corio/detail/wait_slot.hpp"
#include "corio/error.hpp"

namespace corio {

class cancellation_token {
    struct state;

public:
    // A new, uncancelled token with no parent.
    cancellation_token() : m_state(std::make_shared<state>()) {}

    // Cancels this token and every token derived from it. Runs the registered callbacks on
    // the calling thread and wakes every task awaiting cancelled(). Idempotent.
    void cancel() const noexcept { m_state->source.request_stop(); }

    bool is_cancelled() const noexcept { return m_state->source.stop_requested(); }

    // A token cancelled when this one is (or at once, if this one already is), which can also
    // be cancelled on its own without affecting this one.
    cancellation_token child_token() const {
        cancellation_token child;
        child.m_state->parent = m_state;  // keeps the link's target alive as long as the child
        child.m_state->link.emplace(m_state->source.get_token(),
                                    forward_cancel{child.m_state->source});
        return child;
    }

    // Runs `f()` once when the token is cancelled (at once, on this thread, if it already
    // is). The returned registration unregisters when destroyed; if `f` is running on
    // another thread at that moment, the destructor waits for it to return.
    template <class F>
    [[nodiscard]] std::stop_callback<std::decay_t<F>> on_cancel(F&& f) const {
        return std::stop_callback<std::decay_t<F>>(m_state->source.get_token(), std::forward<F>(f));
    }

    // The underlying std::stop_token (for APIs that take one).
    std::stop_token stop_token() const noexcept { return m_state->source.get_token(); }

    class [[nodiscard]] cancelled_awaiter : public detail::await_point {
    public:
        explicit cancelled_awaiter(std::stop_token token) noexcept : m_token(std::move(token)) {}
        // Moves are for handing the awaiter to select() before it is awaited.
        cancelled_awaiter(cancelled_awaiter&& o) noexcept : m_token(std::move(o.m_token)) {}
        cancelled_awaiter(const cancelled_awaiter&) = delete;
        cancelled_awaiter& operator=(const cancelled_awaiter&) = delete;

        bool await_ready() noexcept {
            if (detail::cancel_requested()) return finish(task_cancelled);
            if (m_token.stop_requested()) return finish(done);
            return false;
        }
        bool await_suspend(std::coroutine_handle<> h) {
            poll = &on_poll;
            m_slot.arm(detail::current_task());
            // Runs fire() at once if the token is already cancelled.
            m_callback.emplace(m_token, fire_slot{&m_slot});
            detail::park(*this, h);
            return true;
        }
        void await_resume() const {
            if (m_outcome == task_cancelled) throw cancelled_error();
        }

    private:
        enum outcome : unsigned char { pending, done, task_cancelled };
        struct fire_slot {
            detail::wait_slot* slot;
            void operator()() const noexcept { slot->fire(); }
        };
        bool finish(outcome o) noexcept {
            m_outcome = o;
            return true;
        }
        static bool on_poll(await_point& ap, detail::task_header& t, detail::await_op op) noexcept {
            auto& self = static_cast<cancelled_awaiter&>(ap);
            if (op == detail::await_op::inspect) {
                detail::tls_wait_info->kind = detail::wait_kind::token;
                detail::tls_wait_info->describe("cancellation_token::cancelled");
                return false;
            }
            if (self.m_slot.fired()) {
                self.m_callback.reset();
                return self.finish(done);
            }
            if (op == detail::await_op::cancel || t.is_cancelled()) {
                self.m_callback.reset();  // waits for a callback running elsewhere
                self.m_slot
                    .disarm();  // a token's cancellation is not consumed: nothing to give back
                return self.finish(task_cancelled);
            }
            return false;
        }

        std::stop_token m_token;
        detail::wait_slot m_slot;
        std::optional<std::stop_callback<fire_slot>> m_callback;
        outcome m_outcome = pending;
    };

    // Completes when the token is cancelled. A cancellation point of the awaiting task
    // (which is a different thing: that throws corio::cancelled_error).
    cancelled_awaiter cancelled() const noexcept {
        return cancelled_awaiter(m_state->source.get_token());
    }

    friend bool operator==(const cancellation_token& a, const cancellation_token& b) noexcept {
        return a.m_state == b.m_state;
    }

private:
    struct forward_cancel {
        std::stop_source target;
        void operator()() const noexcept { target.request_stop(); }
    };
    struct state {
        std::stop_source source;
        std::shared_ptr<state> parent;
        std::optional<std::stop_callback<forward_cancel>> link;  // parent → this
        ~state() { link.reset(); }  // unregister from the parent before the parent may go
    };

    std::shared_ptr<state> m_state;
};

}  // namespace corio
