// corio/sync/broadcast.hpp — every receiver sees every value (tokio::sync::broadcast).
//
//     auto [tx, rx1] = corio::broadcast::channel<event>(64);
//     auto rx2 = tx.subscribe();                 // sees values sent from now on
//     tx.send(event{...});
//     while (auto e = co_await rx1.recv()) handle(*e);   // nullopt: every sender gone
//
// The channel keeps the last `capacity` values; send() never waits. A receiver that falls
// more than `capacity` values behind loses the oldest ones: its next recv() throws
// corio::broadcast::lagged saying how many it missed, and the one after continues with the
// oldest value still kept. Values are copied to each receiver (T must be copyable).
//
// Cancellation: recv() is a cancellation point; a cancelled recv takes nothing (the
// receiver's position is unchanged).
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "corio/detail/queued_await.hpp"
#include "corio/sync/channel_error.hpp"

namespace corio::broadcast {

// recv() fell behind: `missed()` values were overwritten before it read them.
class lagged : public std::runtime_error {
public:
    explicit lagged(std::uint64_t missed)
        : std::runtime_error("corio: broadcast receiver lagged behind by " +
                             std::to_string(missed) + " values"),
          m_missed(missed) {}
    std::uint64_t missed() const noexcept { return m_missed; }

private:
    std::uint64_t m_missed;
};

namespace detail {
template <class T>
struct shared {
    explicit shared(std::size_t cap) : ring(cap) {}
    corio::detail::spinlock lock;
    std::vector<std::optional<T>> ring;  // value of position p at ring[p % capacity]
    std::uint64_t tail = 0;              // next position to write
    std::size_t senders = 1;
    std::size_t receivers = 1;
    corio::detail::waiter_list waiters;  // receivers caught up, waiting for the next send
    std::atomic<std::size_t> refs{2};

    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
    std::uint64_t oldest() const noexcept { return tail > ring.size() ? tail - ring.size() : 0; }
    void wake_all_locked() noexcept {
        while (corio::detail::waiter_node* n = waiters.pop_front()) {
            n->outcome = corio::detail::queued::granted;
            n->slot.fire();
        }
    }
};
}  // namespace detail

template <class T>
class receiver;

template <class T>
class sender {
public:
    sender(const sender& o) noexcept : m_shared(o.m_shared) {
        std::lock_guard guard(m_shared->lock);
        ++m_shared->senders;
        m_shared->refs.fetch_add(1, std::memory_order_relaxed);
    }
    sender(sender&& o) noexcept : m_shared(std::exchange(o.m_shared, nullptr)) {}
    sender& operator=(sender o) noexcept {
        std::swap(m_shared, o.m_shared);
        return *this;
    }
    ~sender() {
        if (!m_shared) return;
        {
            std::lock_guard guard(m_shared->lock);
            if (--m_shared->senders == 0) m_shared->wake_all_locked();
        }
        m_shared->release();
    }

    // Queues `v` for every current receiver. With no receiver, gives it back (closed).
    try_send_result<T> send(T v) {
        std::lock_guard guard(m_shared->lock);
        if (m_shared->receivers == 0)
            return try_send_result<T>::refused(try_status::closed, std::move(v));
        m_shared->ring[m_shared->tail % m_shared->ring.size()].emplace(std::move(v));
        ++m_shared->tail;
        m_shared->wake_all_locked();
        return try_send_result<T>::sent();
    }

    // A receiver that sees the values sent from now on.
    receiver<T> subscribe() {
        std::lock_guard guard(m_shared->lock);
        ++m_shared->receivers;
        m_shared->refs.fetch_add(1, std::memory_order_relaxed);
        return receiver<T>(m_shared, m_shared->tail);
    }

    std::size_t receiver_count() const noexcept {
        std::lock_guard guard(m_shared->lock);
        return m_shared->receivers;
    }

private:
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
    explicit sender(detail::shared<T>* s) noexcept : m_shared(s) {}
    detail::shared<T>* m_shared;
};

template <class T>
class receiver {
public:
    receiver(receiver&& o) noexcept
        : m_shared(std::exchange(o.m_shared, nullptr)), m_next(o.m_next) {}
    receiver& operator=(receiver&& o) noexcept {
        if (this != &o) {
            reset();
            m_shared = std::exchange(o.m_shared, nullptr);
            m_next = o.m_next;
        }
        return *this;
    }
    receiver(const receiver&) = delete;
    receiver& operator=(const receiver&) = delete;
    ~receiver() { reset(); }

    class [[nodiscard]] recv_awaiter : public corio::detail::queued_await<recv_awaiter> {
    public:
        explicit recv_awaiter(receiver& r) noexcept : m_rx(r) {}
        recv_awaiter(recv_awaiter&& o) noexcept
            : corio::detail::queued_await<recv_awaiter>(std::move(o)), m_rx(o.m_rx) {}

    private:
        friend class corio::detail::queued_await<recv_awaiter>;
        corio::detail::spinlock& lock() noexcept { return m_rx.m_shared->lock; }
        corio::detail::waiter_list& waiters() noexcept { return m_rx.m_shared->waiters; }
        bool try_grant(corio::detail::waiter_node& n) noexcept {
            auto* s = m_rx.m_shared;
            if (m_rx.m_next < s->tail || s->senders == 0) {
                n.outcome = corio::detail::queued::granted;
                return true;
            }
            return false;
        }
        void give_back(corio::detail::waiter_node&) const noexcept {}  // nothing was taken
        std::optional<T> result(std::uint8_t) { return m_rx.take(); }
        void inspect(corio::detail::wait_info& w) const noexcept {
            w.kind = corio::detail::wait_kind::channel;
            w.object = m_rx.m_shared;
            w.describe("broadcast::recv (channel %p, %zu senders)",
                       static_cast<const void*>(m_rx.m_shared), m_rx.m_shared->senders);
        }
        receiver& m_rx;
    };

    // The next value; nullopt once every sender is gone and this receiver has caught up.
    // Throws lagged if values were overwritten before this receiver read them.
    recv_awaiter recv() noexcept { return recv_awaiter(*this); }

    // The next value if there is one now.
    try_recv_result<T> try_recv() {
        std::optional<T> v;
        {
            std::lock_guard guard(m_shared->lock);
            if (m_next >= m_shared->tail)
                return try_recv_result<T>::none(m_shared->senders ? try_status::empty
                                                                  : try_status::closed);
        }
        v = take();
        return try_recv_result<T>::received(std::move(*v));
    }

    // A new receiver at the current end of the channel.
    receiver resubscribe() const {
        std::lock_guard guard(m_shared->lock);
        ++m_shared->receivers;
        m_shared->refs.fetch_add(1, std::memory_order_relaxed);
        return receiver(m_shared, m_shared->tail);
    }

private:
    friend class sender<T>;
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(std::size_t);
    receiver(detail::shared<T>* s, std::uint64_t next) noexcept : m_shared(s), m_next(next) {}

    // Copies the value at m_next (throwing lagged if it was overwritten).
    std::optional<T> take() {
        std::lock_guard guard(m_shared->lock);
        std::uint64_t oldest = m_shared->oldest();
        if (m_next < oldest) {
            std::uint64_t missed = oldest - m_next;
            m_next = oldest;
            throw lagged(missed);
        }
        if (m_next >= m_shared->tail) return std::nullopt;  // closed and caught up
        return *m_shared->ring[m_next++ % m_shared->ring.size()];
    }
    void reset() noexcept {
        if (!m_shared) return;
        {
            std::lock_guard guard(m_shared->lock);
            --m_shared->receivers;
        }
        std::exchange(m_shared, nullptr)->release();
    }

    detail::shared<T>* m_shared;
    std::uint64_t m_next;
};

// A channel keeping the last `capacity` (>= 1) values. Throws std::invalid_argument for 0.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
    static_assert(std::is_copy_constructible_v<T>,
                  "corio::broadcast: values are copied to each receiver");
    if (capacity == 0)
        throw std::invalid_argument("corio::broadcast::channel: capacity must be >= 1");
    auto* s = new detail::shared<T>(capacity);
    return {sender<T>(s), receiver<T>(s, 0)};
}

}  // namespace corio::broadcast
