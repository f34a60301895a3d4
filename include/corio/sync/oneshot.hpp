// corio/sync/oneshot.hpp — one value, sent once, from one task to another.
//
//     auto [tx, rx] = corio::oneshot::channel<int>();
//     corio::spawn(compute, std::move(tx));      // compute calls tx.send(42)
//     int v = co_await rx;                        // or co_await rx.recv()
//
// send() never waits. Receiving throws corio::channel_closed if the sender was destroyed
// without sending. A send after the receiver is gone gives the value back.
//
// Cancellation: receiving is a cancellation point; a cancelled receive takes nothing and
// the value stays for a later receive.
#pragma once

#include <atomic>
#include <coroutine>
#include <mutex>
#include <optional>
#include <utility>

#include "corio/detail/context.hpp"
#include "corio/detail/fence.hpp"
#include "corio/detail/spinlock.hpp"
#include "corio/detail/wait_info.hpp"
#include "corio/detail/wait_slot.hpp"
#include "corio/error.hpp"
#include "corio/sync/channel_error.hpp"

namespace corio::oneshot {

namespace detail {
template <class T>
struct state {
    corio::detail::spinlock lock;
    std::optional<T> value;      // guarded by lock
    bool sender_gone = false;    // guarded by lock
    bool receiver_gone = false;  // guarded by lock
    corio::detail::wait_slot slot;
    std::atomic<int> refs{2};
    // The task holding the sender (0: code outside any task), for dumps and deadlocks.
    std::atomic<std::uint64_t> sender_owner{corio::detail::current_task_id()};

    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    // Under lock: something to report (a value, or the sender's absence).
    bool decided() const noexcept { return value.has_value() || sender_gone; }
};
}  // namespace detail

template <class T>
class receiver;

template <class T>
class sender {
public:
    sender(sender&& o) noexcept : m_state(std::exchange(o.m_state, nullptr)) { note_owner(); }
    sender& operator=(sender&& o) noexcept {
        if (this != &o) {
            reset();
            m_state = std::exchange(o.m_state, nullptr);
            note_owner();
        }
        return *this;
    }
    sender(const sender&) = delete;
    sender& operator=(const sender&) = delete;
    ~sender() { reset(); }

    // Delivers `v` (the sender is used up). If the receiver is gone, gives `v` back.
    try_send_result<T> send(T v) {
        auto* s = std::exchange(m_state, nullptr);
        if (!s) return try_send_result<T>::refused(try_status::closed, std::move(v));
        bool delivered;
        {
            std::lock_guard guard(s->lock);
            delivered = !s->receiver_gone;
            if (delivered) s->value.emplace(std::move(v));
            s->sender_gone = true;
        }
        s->slot.fire(/*lifo=*/true);
        s->release();
        if (!delivered) return try_send_result<T>::refused(try_status::closed, std::move(v));
        return try_send_result<T>::sent();
    }
    // True once the receiver is gone.
    bool is_closed() const noexcept {
        std::lock_guard guard(m_state->lock);
        return m_state->receiver_gone;
    }

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel();
    explicit sender(detail::state<T>* s) noexcept : m_state(s) {}
    void note_owner() noexcept {
        if (m_state)
            m_state->sender_owner.store(corio::detail::current_task_id(),
                                        std::memory_order_relaxed);
    }
    void reset() noexcept {
        auto* s = std::exchange(m_state, nullptr);
        if (!s) return;
        {
            std::lock_guard guard(s->lock);
            s->sender_gone = true;
        }
        s->slot.fire();
        s->release();
    }
    detail::state<T>* m_state;
};

template <class T>
class receiver {
public:
    receiver(receiver&& o) noexcept : m_state(std::exchange(o.m_state, nullptr)) {}
    receiver& operator=(receiver&& o) noexcept {
        if (this != &o) {
            reset();
            m_state = std::exchange(o.m_state, nullptr);
        }
        return *this;
    }
    receiver(const receiver&) = delete;
    receiver& operator=(const receiver&) = delete;
    ~receiver() { reset(); }

    class [[nodiscard]] recv_awaiter : public corio::detail::await_point {
    public:
        explicit recv_awaiter(detail::state<T>* s) noexcept : m_state(s) {}
        recv_awaiter(recv_awaiter&& o) noexcept : m_state(o.m_state) {}
        recv_awaiter(const recv_awaiter&) = delete;
        recv_awaiter& operator=(const recv_awaiter&) = delete;
        ~recv_awaiter() {
            if (m_state->slot.armed()) m_state->slot.disarm();
        }
        bool await_ready() noexcept {
            if (corio::detail::cancel_requested()) return m_cancelled = true;
            std::lock_guard guard(m_state->lock);
            return m_state->decided();
        }
        bool await_suspend(std::coroutine_handle<> h) noexcept {
            poll = &on_poll;
            if (!m_state->slot.arm(corio::detail::current_task())) return false;  // fired already
            {
                std::lock_guard guard(m_state->lock);
                if (m_state->decided()) {
                    m_state->slot.disarm();
                    return false;
                }
            }
            corio::detail::park(*this, h);
            return true;
        }
        T await_resume() {
            if (m_cancelled) throw cancelled_error();
            std::lock_guard guard(m_state->lock);
            if (!m_state->value)
                throw channel_closed("corio: oneshot sender dropped without sending");
            T v = std::move(*m_state->value);
            m_state->value.reset();
            return v;
        }

    private:
        static bool on_poll(corio::detail::await_point& ap, corio::detail::task_header& t,
                            corio::detail::await_op op) noexcept {
            auto& self = static_cast<recv_awaiter&>(ap);
            if (op == corio::detail::await_op::inspect) {
                corio::detail::wait_info& w = *corio::detail::tls_wait_info;
                w.kind = corio::detail::wait_kind::channel;
                w.object = self.m_state;
                std::uint64_t owner = self.m_state->sender_owner.load(std::memory_order_relaxed);
                if (owner) {
                    w.add_holder(owner);
                    w.holders_known = true;
                } else {
                    w.external = true;
                }
                w.describe("oneshot::recv (channel %p, sender held by %s%llu)",
                           static_cast<const void*>(self.m_state),
                           owner ? "task " : "code outside tasks",
                           static_cast<unsigned long long>(owner));
                return false;
            }
            if (op == corio::detail::await_op::poll && self.m_state->slot.fired()) return true;
            if (op == corio::detail::await_op::cancel || t.is_cancelled()) {
                self.m_state->slot.disarm();  // the value (if any) stays in the channel
                return self.m_cancelled = true;
            }
            return false;
        }
        detail::state<T>* m_state;
        bool m_cancelled = false;
    };

    // The value; throws channel_closed if the sender went away without sending.
    recv_awaiter recv() noexcept { return recv_awaiter(m_state); }
    recv_awaiter operator co_await() noexcept { return recv(); }

    // The value if it has been sent.
    try_recv_result<T> try_recv() {
        std::lock_guard guard(m_state->lock);
        if (m_state->value) {
            T v = std::move(*m_state->value);
            m_state->value.reset();
            return try_recv_result<T>::received(std::move(v));
        }
        return try_recv_result<T>::none(m_state->sender_gone ? try_status::closed
                                                             : try_status::empty);
    }

    // Refuses the value: a later send gives it back. A value already sent is dropped.
    void close() noexcept {
        std::lock_guard guard(m_state->lock);
        m_state->receiver_gone = true;
    }

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel();
    explicit receiver(detail::state<T>* s) noexcept : m_state(s) {}
    void reset() noexcept {
        auto* s = std::exchange(m_state, nullptr);
        if (!s) return;
        {
            std::lock_guard guard(s->lock);
            s->receiver_gone = true;
        }
        s->release();
    }
    detail::state<T>* m_state;
};

template <class T>
std::pair<sender<T>, receiver<T>> channel() {
    auto* s = new detail::state<T>();
    return {sender<T>(s), receiver<T>(s)};
}

}  // namespace corio::oneshot
