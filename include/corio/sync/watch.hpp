// corio/sync/watch.hpp — the latest value, watched by many (tokio::sync::watch).
//
//     auto [tx, rx] = corio::watch::channel<config>(initial);
//     tx.send(new_config);                          // replaces the value, wakes the watchers
//     while (co_await rx.changed()) apply(rx.borrow_and_update());   // false: sender gone
//
// Receivers only ever see the latest value: intermediate ones are skipped. Each receiver
// remembers the version it last saw; changed() completes when a newer one exists.
//
// Cancellation: changed() is a cancellation point; a cancelled changed() leaves the
// receiver's seen version as it was.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <utility>

#include "corio/detail/queued_await.hpp"

namespace corio::watch {

namespace detail {
template <class T>
struct shared {
    template <class U>
    explicit shared(U&& v) : value(std::forward<U>(v)) {}
    corio::detail::spinlock lock;
    T value;
    std::uint64_t version = 0;
    bool sender_gone = false;
    std::size_t receivers = 1;
    corio::detail::waiter_list waiters;
    std::atomic<std::size_t> refs{2};

    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }
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
    sender(sender&& o) noexcept : m_shared(std::exchange(o.m_shared, nullptr)) {}
    sender& operator=(sender&& o) noexcept {
        if (this != &o) {
            reset();
            m_shared = std::exchange(o.m_shared, nullptr);
        }
        return *this;
    }
    sender(const sender&) = delete;
    sender& operator=(const sender&) = delete;
    ~sender() { reset(); }

    // Replaces the value and wakes every watcher.
    void send(T v) {
        send_modify([&](T& cur) { cur = std::move(v); });
    }
    // Changes the value in place (f runs under the channel's lock: keep it short, no awaits).
    template <class F>
    void send_modify(F&& f) {
        std::lock_guard guard(m_shared->lock);
        f(m_shared->value);
        ++m_shared->version;
        m_shared->wake_all_locked();
    }
    // A copy of the current value.
    T borrow() const {
        std::lock_guard guard(m_shared->lock);
        return m_shared->value;
    }
    receiver<T> subscribe() {
        std::lock_guard guard(m_shared->lock);
        ++m_shared->receivers;
        m_shared->refs.fetch_add(1, std::memory_order_relaxed);
        return receiver<T>(m_shared, m_shared->version);
    }
    std::size_t receiver_count() const noexcept {
        std::lock_guard guard(m_shared->lock);
        return m_shared->receivers;
    }

private:
    template <class U, class V>
    friend std::pair<sender<U>, receiver<U>> channel(V&&);
    explicit sender(detail::shared<T>* s) noexcept : m_shared(s) {}
    void reset() noexcept {
        auto* s = std::exchange(m_shared, nullptr);
        if (!s) return;
        {
            std::lock_guard guard(s->lock);
            s->sender_gone = true;
            s->wake_all_locked();
        }
        s->release();
    }
    detail::shared<T>* m_shared;
};

template <class T>
class receiver {
public:
    receiver(const receiver& o) : m_shared(o.m_shared), m_seen(o.m_seen) {
        std::lock_guard guard(m_shared->lock);
        ++m_shared->receivers;
        m_shared->refs.fetch_add(1, std::memory_order_relaxed);
    }
    receiver(receiver&& o) noexcept
        : m_shared(std::exchange(o.m_shared, nullptr)), m_seen(o.m_seen) {}
    receiver& operator=(receiver o) noexcept {
        std::swap(m_shared, o.m_shared);
        std::swap(m_seen, o.m_seen);
        return *this;
    }
    ~receiver() {
        if (!m_shared) return;
        {
            std::lock_guard guard(m_shared->lock);
            --m_shared->receivers;
        }
        m_shared->release();
    }

    class [[nodiscard]] changed_awaiter : public corio::detail::queued_await<changed_awaiter> {
    public:
        explicit changed_awaiter(receiver& r) noexcept : m_rx(r) {}
        changed_awaiter(changed_awaiter&& o) noexcept
            : corio::detail::queued_await<changed_awaiter>(std::move(o)), m_rx(o.m_rx) {}

    private:
        friend class corio::detail::queued_await<changed_awaiter>;
        corio::detail::spinlock& lock() noexcept { return m_rx.m_shared->lock; }
        corio::detail::waiter_list& waiters() noexcept { return m_rx.m_shared->waiters; }
        bool try_grant(corio::detail::waiter_node& n) noexcept {
            if (m_rx.m_shared->version != m_rx.m_seen || m_rx.m_shared->sender_gone) {
                n.outcome = corio::detail::queued::granted;
                return true;
            }
            return false;
        }
        void give_back(corio::detail::waiter_node&) const noexcept {}
        void inspect(corio::detail::wait_info& w) const noexcept {
            w.kind = corio::detail::wait_kind::channel;
            w.object = m_rx.m_shared;
            w.describe("watch::changed (channel %p, version %llu seen)",
                       static_cast<const void*>(m_rx.m_shared),
                       static_cast<unsigned long long>(m_rx.m_seen));
        }
        bool result(std::uint8_t) {
            std::lock_guard guard(m_rx.m_shared->lock);
            if (m_rx.m_shared->version == m_rx.m_seen) return false;  // sender gone, nothing new
            m_rx.m_seen = m_rx.m_shared->version;
            return true;
        }
        receiver& m_rx;
    };

    // True when a value newer than the last seen one exists (and marks it seen); false once
    // the sender is gone and nothing new is left.
    changed_awaiter changed() noexcept { return changed_awaiter(*this); }

    // A copy of the current value.
    T borrow() const {
        std::lock_guard guard(m_shared->lock);
        return m_shared->value;
    }
    // A copy of the current value, marked seen.
    T borrow_and_update() {
        std::lock_guard guard(m_shared->lock);
        m_seen = m_shared->version;
        return m_shared->value;
    }
    bool has_changed() const noexcept {
        std::lock_guard guard(m_shared->lock);
        return m_shared->version != m_seen;
    }

private:
    friend class sender<T>;
    template <class U, class V>
    friend std::pair<sender<U>, receiver<U>> channel(V&&);
    receiver(detail::shared<T>* s, std::uint64_t seen) noexcept : m_shared(s), m_seen(seen) {}
    detail::shared<T>* m_shared;
    std::uint64_t m_seen;
};

// A watch channel holding `initial`.
template <class T, class V>
std::pair<sender<T>, receiver<T>> channel(V&& initial) {
    auto* s = new detail::shared<T>(std::forward<V>(initial));
    return {sender<T>(s), receiver<T>(s, 0)};
}

}  // namespace corio::watch
