// corio/sync/mpsc.hpp — multi-producer, single-consumer channels (Go's chan, tokio::sync::mpsc).
//
//     auto [tx, rx] = corio::mpsc::channel<std::string>(16);   // bounded: send waits when full
//     corio::spawn(producer, tx);                              // senders are copyable
//     while (auto msg = co_await rx.recv()) use(*msg);         // nullopt: every sender is gone
//
//     auto [utx, urx] = corio::mpsc::unbounded_channel<int>(); // send never waits
//
// Semantics:
//  * recv() returns std::nullopt once every sender is destroyed (or rx.close() was called)
//    and the queue is drained; queued values are always delivered first.
//  * A send to a closed channel (receiver destroyed or closed) throws send_error<T>, which
//    carries the value back; try_send gives it back in its result.
//  * rx.close() stops senders; values already queued can still be received.
//  * Every value is destroyed exactly once: received, given back, or dropped with the
//    channel when the last handle goes.
//
// Cost: the bounded channel is a lock-free ring (one CAS per send, none per receive) with a
// fence per operation to meet a parked peer; the unbounded channel is a spinlock around a
// deque. Waiting allocates nothing.
//
// Cancellation (both are cancellation points):
//  * recv(): a cancelled recv takes nothing; the message stays in the channel for the next
//    recv. Safe in select().
//  * send(): a cancelled send has not sent; its value is destroyed with the awaiter. A
//    waiting sender loses its place in the queue of senders; a wake it had received is
//    passed to the next sender.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "corio/detail/context.hpp"
#include "corio/detail/fence.hpp"
#include "corio/detail/spinlock.hpp"
#include "corio/detail/wait_info.hpp"
#include "corio/detail/waiter_list.hpp"
#include "corio/error.hpp"
#include "corio/sync/channel_error.hpp"

namespace corio::mpsc {

namespace detail {

using corio::detail::await_op;
using corio::detail::await_point;
using corio::detail::task_header;

enum class push_result : std::uint8_t { pushed, full, closed };

// A bounded lock-free MPSC ring (the stamped-slot design of crossbeam's ArrayQueue, written
// from its description). A slot's stamp says whose turn it is: `pos` (free for the producer
// at pos) or `pos + 1` (holds the value for the consumer at pos). Positions encode a lap
// above the index so any capacity works without a division.
//
// Closing sets a mark bit in the tail (crossbeam's disconnect bit): a producer claims a slot
// with a CAS that fails once the mark is set, so every push either happened before the close
// (and will be received) or is refused. A push between its claim and its stamp is still in
// flight: the consumer does not call the ring drained until head reaches the marked tail.
template <class T>
class bounded_ring {
public:
    explicit bounded_ring(std::size_t cap)
        : m_cap(cap), m_one_lap(std::bit_ceil(std::uint64_t(cap) + 1)), m_slots(new slot[cap]) {
        for (std::size_t i = 0; i < cap; ++i) m_slots[i].stamp.store(i, std::memory_order_relaxed);
    }
    ~bounded_ring() {
        std::optional<T> out;
        while (try_pop_into(out)) out.reset();
    }
    bounded_ring(const bounded_ring&) = delete;
    bounded_ring& operator=(const bounded_ring&) = delete;

    // Moves from `v` when pushed; leaves it alone when full or closed.
    push_result try_push(T& v) {
        std::uint64_t tail = m_tail.load(std::memory_order_relaxed);
        for (;;) {
            if (tail & kClosedMark) return push_result::closed;
            const std::uint64_t index = tail & (m_one_lap - 1);
            const std::uint64_t lap = tail & ~(m_one_lap - 1);
            const std::uint64_t next = index + 1 < m_cap ? tail + 1 : lap + m_one_lap;
            slot& s = m_slots[index];
            const std::uint64_t stamp = s.stamp.load(std::memory_order_acquire);
            if (stamp == tail) {
                if (!m_tail.compare_exchange_weak(tail, next, std::memory_order_relaxed,
                                                  std::memory_order_relaxed))
                    continue;
                ::new (static_cast<void*>(s.storage)) T(std::move(v));
                s.stamp.store(tail + 1, std::memory_order_release);
                return push_result::pushed;
            }
            if (stamp + m_one_lap == tail + 1) {  // the slot still holds last lap's value
                corio::detail::full_fence();
                if (m_head.load(std::memory_order_relaxed) + m_one_lap == tail)
                    return push_result::full;
            }
            tail = m_tail.load(std::memory_order_relaxed);
        }
    }

    // Refuses every later push; pushes already claimed complete.
    void close() noexcept { m_tail.fetch_or(kClosedMark, std::memory_order_seq_cst); }

    // Consumer: closed, and every push claimed before the close has been received.
    bool drained() const noexcept {
        const std::uint64_t tail = m_tail.load(std::memory_order_seq_cst);
        return (tail & kClosedMark) &&
               m_head.load(std::memory_order_relaxed) == (tail & ~kClosedMark);
    }

    // Single consumer.
    bool try_pop_into(std::optional<T>& out) {
        const std::uint64_t head = m_head.load(std::memory_order_relaxed);
        const std::uint64_t index = head & (m_one_lap - 1);
        slot& s = m_slots[index];
        if (s.stamp.load(std::memory_order_acquire) != head + 1) return false;
        const std::uint64_t lap = head & ~(m_one_lap - 1);
        T* p = std::launder(reinterpret_cast<T*>(s.storage));
        out.emplace(std::move(*p));
        p->~T();
        m_head.store(index + 1 < m_cap ? head + 1 : lap + m_one_lap, std::memory_order_release);
        s.stamp.store(head + m_one_lap, std::memory_order_release);
        return true;
    }

    // Consumer, after arming its wait slot: is a value visible at the head?
    bool has_value() const noexcept {
        const std::uint64_t head = m_head.load(std::memory_order_relaxed);
        return m_slots[head & (m_one_lap - 1)].stamp.load(std::memory_order_seq_cst) == head + 1;
    }

    std::size_t size() const noexcept {
        std::uint64_t h = m_head.load(std::memory_order_acquire);
        std::uint64_t t = m_tail.load(std::memory_order_acquire) & ~kClosedMark;
        auto pos = [&](std::uint64_t p) { return (p / m_one_lap) * m_cap + (p & (m_one_lap - 1)); };
        return t >= h ? std::size_t(pos(t) - pos(h)) : 0;
    }
    std::size_t capacity() const noexcept { return m_cap; }

private:
    static constexpr std::uint64_t kClosedMark = std::uint64_t{1} << 63;
    struct slot {
        std::atomic<std::uint64_t> stamp;
        alignas(T) unsigned char storage[sizeof(T)];
    };
    const std::uint64_t m_cap;
    const std::uint64_t m_one_lap;
    std::unique_ptr<slot[]> m_slots;
    alignas(64) std::atomic<std::uint64_t> m_head{0};
    alignas(64) std::atomic<std::uint64_t> m_tail{0};
};

// The unbounded queue: a spinlock around a deque (send never waits, so it is not the path
// the benchmarks measure; a block list can replace it behind the same four calls).
template <class T>
class unbounded_queue {
public:
    push_result try_push(T& v) {
        std::lock_guard lock(m_lock);
        if (m_closed) return push_result::closed;
        m_items.push_back(std::move(v));
        m_size.store(m_items.size(), std::memory_order_relaxed);
        return push_result::pushed;
    }
    void close() noexcept {
        std::lock_guard lock(m_lock);
        m_closed = true;
    }
    bool drained() const noexcept {
        std::lock_guard lock(m_lock);
        return m_closed && m_items.empty();
    }
    bool try_pop_into(std::optional<T>& out) {
        std::lock_guard lock(m_lock);
        if (m_items.empty()) return false;
        out.emplace(std::move(m_items.front()));
        m_items.pop_front();
        m_size.store(m_items.size(), std::memory_order_relaxed);
        return true;
    }
    bool has_value() const noexcept {
        std::lock_guard lock(m_lock);
        return !m_items.empty();
    }
    std::size_t size() const noexcept { return m_size.load(std::memory_order_relaxed); }
    std::size_t capacity() const noexcept { return SIZE_MAX; }

private:
    mutable corio::detail::spinlock m_lock;
    std::deque<T> m_items;
    bool m_closed = false;  // guarded by m_lock
    std::atomic<std::size_t> m_size{0};
};

// The state both ends share.
//
// Rules:
//  1. A sender that queued a value fences and wakes the receiver if its slot is armed; the
//     receiver arms (seq_cst) and then re-checks the queue. So a value is never left behind
//     a sleeping receiver.
//  2. A sender that finds the ring full registers in `tx_waiters` and bumps `tx_waiting`
//     under `tx_lock`, fences, then tries again; the receiver fences after each receive
//     and wakes one registered sender. So a sender never sleeps on free space.
//  3. `senders` reaching zero and `rx_closed` being set are each followed by a fence and a
//     wake of the other side.
template <class T, class Queue>
class chan {
public:
    explicit chan(Queue&& q) : queue(std::move(q)) {}
    template <class... A>
    explicit chan(std::in_place_t, A&&... a) : queue(std::forward<A>(a)...) {}

    void acquire_ref() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    void release_ref() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
    }

    void add_sender() noexcept {
        senders.fetch_add(1, std::memory_order_relaxed);
        acquire_ref();
    }
    void drop_sender() noexcept {
        if (senders.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            corio::detail::full_fence();
            rx_slot.wake_if_armed();
        }
        release_ref();
    }
    void close_rx() noexcept {
        if (rx_closed.exchange(true, std::memory_order_seq_cst)) return;
        queue.close();
        std::lock_guard lock(tx_lock);
        while (corio::detail::waiter_node* n = tx_waiters.pop_front()) {
            tx_waiting.fetch_sub(1, std::memory_order_relaxed);
            n->slot.fire();
        }
    }

    bool closed_for_senders() const noexcept { return rx_closed.load(std::memory_order_acquire); }
    // The receiver closed, or every sender is gone: values may still be queued.
    bool closed() const noexcept {
        return senders.load(std::memory_order_acquire) == 0 ||
               rx_closed.load(std::memory_order_acquire);
    }
    // No value can arrive any more (checked by the receiver when the queue is empty). After
    // close_rx(), a send that claimed its slot before the close may still be writing it: the
    // queue is not drained until it has, and the receiver waits for it.
    bool closed_for_receiver() const noexcept {
        return senders.load(std::memory_order_seq_cst) == 0 || queue.drained();
    }

    // After a value is queued (rule 1).
    void notify_receiver() noexcept {
        corio::detail::full_fence();
        if (rx_slot.armed()) rx_slot.wake_if_armed();
    }
    // After a value is received (rule 2).
    void notify_sender() noexcept {
        corio::detail::full_fence();
        if (tx_waiting.load(std::memory_order_relaxed) == 0) return;
        std::lock_guard lock(tx_lock);
        if (corio::detail::waiter_node* n = tx_waiters.pop_front()) {
            tx_waiting.fetch_sub(1, std::memory_order_relaxed);
            n->slot.fire(/*lifo=*/true);
        }
    }

    bool try_recv_into(std::optional<T>& out) {
        if (!queue.try_pop_into(out)) return false;
        notify_sender();
        return true;
    }

    // Who holds the handles, for task dumps and deadlock detection: the task that last
    // created, moved or used a handle (0: code outside any task, which could still send).
    void sender_owner_changed(std::uint64_t from, std::uint64_t to) noexcept {
        if (from == 0) external_senders.fetch_sub(1, std::memory_order_relaxed);
        if (to == 0) external_senders.fetch_add(1, std::memory_order_relaxed);
        last_sender_owner.store(to, std::memory_order_relaxed);
    }
    void inspect(corio::detail::wait_info& w, bool sending) const noexcept {
        w.kind = corio::detail::wait_kind::channel;
        w.object = this;
        std::size_t n = senders.load(std::memory_order_relaxed);
        if (sending) {
            std::uint64_t rx = receiver_owner.load(std::memory_order_relaxed);
            if (rx) {
                w.add_holder(rx);
                w.holders_known = true;
            } else {
                w.external = true;
            }
            w.describe("mpsc::send (channel %p, full: %zu queued, receiver held by %s%llu)",
                       static_cast<const void*>(this), queue.size(),
                       rx ? "task " : "code outside tasks", static_cast<unsigned long long>(rx));
            return;
        }
        w.external = external_senders.load(std::memory_order_relaxed) != 0;
        std::uint64_t owner = last_sender_owner.load(std::memory_order_relaxed);
        if (n == 1 && owner) {
            w.add_holder(owner);
            w.holders_known = true;
            w.describe("mpsc::recv (channel %p, %zu queued, 1 sender, held by task %llu)",
                       static_cast<const void*>(this), queue.size(),
                       static_cast<unsigned long long>(owner));
        } else {
            w.describe("mpsc::recv (channel %p, %zu queued, %zu senders)",
                       static_cast<const void*>(this), queue.size(), n);
        }
    }

    Queue queue;
    std::atomic<std::size_t> refs{1};  // the receiver's; each sender adds one
    std::atomic<std::size_t> senders{0};
    std::atomic<std::size_t> external_senders{0};
    std::atomic<std::uint64_t> last_sender_owner{0};
    std::atomic<std::uint64_t> receiver_owner{0};
    std::atomic<bool> rx_closed{false};
    corio::detail::wait_slot rx_slot;
    corio::detail::spinlock tx_lock;
    corio::detail::waiter_list tx_waiters;  // guarded by tx_lock
    std::atomic<std::uint32_t> tx_waiting{0};
};

template <class T, class Queue>
class receiver_base;

template <class T, class Queue>
class sender_base {
public:
    sender_base() noexcept = default;
    sender_base(const sender_base& o) noexcept : m_chan(o.m_chan) {
        if (m_chan) {
            m_chan->add_sender();
            m_chan->sender_owner_changed(kNew, m_owner);
        }
    }
    sender_base(sender_base&& o) noexcept : m_chan(std::exchange(o.m_chan, nullptr)) {
        if (m_chan) m_chan->sender_owner_changed(o.m_owner, m_owner);
    }
    sender_base& operator=(sender_base o) noexcept {
        std::swap(m_chan, o.m_chan);
        std::swap(m_owner, o.m_owner);
        return *this;
    }
    ~sender_base() {
        if (!m_chan) return;
        if (m_owner == 0) m_chan->external_senders.fetch_sub(1, std::memory_order_relaxed);
        m_chan->drop_sender();
    }

    class [[nodiscard]] send_awaiter : public await_point {
    public:
        send_awaiter(chan<T, Queue>* c, T&& v) : m_chan(c), m_value(std::move(v)) {}
        // Moves are for handing the awaiter to select() before it is awaited.
        send_awaiter(send_awaiter&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
            : m_chan(o.m_chan), m_value(std::move(o.m_value)) {}
        send_awaiter(const send_awaiter&) = delete;
        send_awaiter& operator=(const send_awaiter&) = delete;
        ~send_awaiter() {
            if (m_node.slot.armed()) withdraw();  // frame destroyed while parked here
        }

        bool await_ready() {
            if (corio::detail::cancel_requested()) return finish(cancelled);
            if (!corio::detail::consume_budget()) return false;
            return try_send();
        }
        bool await_suspend(std::coroutine_handle<> h) {
            poll = &on_poll;
            if (corio::detail::tls_context.budget <= 0 && try_send()) {
                corio::detail::park_yield(*this, h);  // done, but the budget is spent
                return true;
            }
            if (register_or_send()) return false;
            corio::detail::park(*this, h);
            return true;
        }
        void await_resume() {
            if (m_outcome == cancelled) throw cancelled_error();
            if (m_outcome == closed) throw send_error<T>(std::move(m_value));
        }

    private:
        enum outcome : std::uint8_t { pending, sent, closed, cancelled };

        bool finish(outcome o) noexcept {
            m_outcome = o;
            return true;
        }
        // One attempt; true when the await is decided (sent or closed).
        bool try_send() {
            if (m_chan->closed_for_senders()) return finish(closed);
            switch (m_chan->queue.try_push(m_value)) {
                case push_result::full:
                    return false;
                case push_result::closed:
                    return finish(closed);
                case push_result::pushed:
                    break;
            }
            m_chan->notify_receiver();
            return finish(sent);
        }
        // Registers as a waiting sender, then tries once more (rule 2). True when decided.
        bool register_or_send() {
            {
                std::lock_guard lock(m_chan->tx_lock);
                if (m_chan->closed_for_senders()) return finish(closed);
                m_node.slot.reset();
                m_chan->tx_waiters.push_back(m_node);
                m_chan->tx_waiting.fetch_add(1, std::memory_order_relaxed);
                m_node.slot.arm(corio::detail::current_task());
            }
            corio::detail::full_fence();
            if (!try_send()) return false;  // still full: stay parked
            withdraw();  // decided after all: leave the queue (passing on a wake if we got one)
            return true;
        }
        // Leaves the waiter queue. Returns true if it was still queued; if a wake had been
        // delivered, passes it to the next sender.
        bool withdraw() noexcept {
            bool was_queued;
            {
                std::lock_guard lock(m_chan->tx_lock);
                was_queued = m_node.queued;
                if (was_queued) {
                    m_chan->tx_waiters.remove(m_node);
                    m_chan->tx_waiting.fetch_sub(1, std::memory_order_relaxed);
                }
            }
            if (!was_queued) {
                m_node.slot.fired();      // let an in-flight wake finish
                m_chan->notify_sender();  // and pass it on
            }
            m_node.slot.reset();
            return was_queued;
        }
        static bool on_poll(await_point& ap, task_header& t, await_op op) noexcept {
            auto& self = static_cast<send_awaiter&>(ap);
            if (op == await_op::inspect) {
                self.m_chan->inspect(*corio::detail::tls_wait_info, /*sending=*/true);
                return false;
            }
            if (op == await_op::cancel || t.is_cancelled()) {
                if (self.m_outcome == pending) {
                    self.withdraw();
                    self.m_outcome = cancelled;
                }
                return true;
            }
            if (self.m_outcome != pending) return true;  // decided before a yield
            if (!self.m_node.slot.fired()) return false;
            self.m_node.slot.reset();
            try {
                return self.try_send() || self.register_or_send();
            } catch (...) {
                return self.finish(closed), true;  // a throwing move: report as not sent
            }
        }

        chan<T, Queue>* m_chan;
        T m_value;
        corio::detail::waiter_node m_node;
        outcome m_outcome = pending;
    };

    // Sends `v`, waiting while the channel is full. Throws send_error<T> (with v) if the
    // receiver is gone or closed, cancelled_error if cancelled. A cancellation point.
    send_awaiter send(T v) {
        note_use();
        return send_awaiter(m_chan, std::move(v));
    }

    // Sends now if there is room; otherwise gives `v` back with the reason.
    try_send_result<T> try_send(T v) {
        note_use();
        if (m_chan->closed_for_senders())
            return try_send_result<T>::refused(try_status::closed, std::move(v));
        switch (m_chan->queue.try_push(v)) {
            case push_result::full:
                return try_send_result<T>::refused(try_status::full, std::move(v));
            case push_result::closed:
                return try_send_result<T>::refused(try_status::closed, std::move(v));
            case push_result::pushed:
                break;
        }
        m_chan->notify_receiver();
        return try_send_result<T>::sent();
    }

    // True once the receiver is gone or closed.
    bool is_closed() const noexcept { return m_chan->closed_for_senders(); }
    // Values queued now (a snapshot).
    std::size_t size() const noexcept { return m_chan->queue.size(); }
    std::size_t capacity() const noexcept { return m_chan->queue.capacity(); }
    explicit operator bool() const noexcept { return m_chan != nullptr; }

protected:
    template <class, class>
    friend class receiver_base;
    static constexpr std::uint64_t kNew = ~std::uint64_t{0};  // not counted anywhere yet
    explicit sender_base(chan<T, Queue>* c) noexcept : m_chan(c) {
        m_chan->add_sender();
        m_chan->sender_owner_changed(kNew, m_owner);
    }
    void note_use() noexcept {
        std::uint64_t now = corio::detail::current_task_id();
        if (now != m_owner) {
            m_chan->sender_owner_changed(m_owner, now);
            m_owner = now;
        }
    }
    chan<T, Queue>* m_chan = nullptr;
    std::uint64_t m_owner = corio::detail::current_task_id();
};

template <class T, class Queue>
class receiver_base {
public:
    receiver_base() noexcept = default;
    receiver_base(receiver_base&& o) noexcept : m_chan(std::exchange(o.m_chan, nullptr)) {
        if (m_chan)
            m_chan->receiver_owner.store(corio::detail::current_task_id(),
                                         std::memory_order_relaxed);
    }
    receiver_base& operator=(receiver_base&& o) noexcept {
        if (this != &o) {
            reset();
            m_chan = std::exchange(o.m_chan, nullptr);
        }
        return *this;
    }
    receiver_base(const receiver_base&) = delete;
    receiver_base& operator=(const receiver_base&) = delete;
    ~receiver_base() { reset(); }

    class [[nodiscard]] recv_awaiter : public await_point {
    public:
        explicit recv_awaiter(chan<T, Queue>* c) noexcept : m_chan(c) {}
        // Moves are for handing the awaiter to select() before it is awaited.
        recv_awaiter(recv_awaiter&& o) noexcept : m_chan(o.m_chan) {}
        recv_awaiter(const recv_awaiter&) = delete;
        recv_awaiter& operator=(const recv_awaiter&) = delete;
        ~recv_awaiter() {
            if (m_chan->rx_slot.armed()) m_chan->rx_slot.disarm();
        }

        bool await_ready() {
            if (corio::detail::cancel_requested()) return finish(cancelled);
            if (!corio::detail::consume_budget()) return false;
            return try_recv();
        }
        bool await_suspend(std::coroutine_handle<> h) {
            poll = &on_poll;
            if (corio::detail::tls_context.budget <= 0 && try_recv()) {
                corio::detail::park_yield(*this, h);
                return true;
            }
            if (arm_or_recv(corio::detail::current_task())) return false;
            corio::detail::park(*this, h);
            return true;
        }
        std::optional<T> await_resume() {
            if (m_outcome == cancelled) throw cancelled_error();
            if (m_outcome == closed) return std::nullopt;
            return std::optional<T>(std::move(*m_value));
        }

    private:
        enum outcome : std::uint8_t { pending, received, closed, cancelled };

        bool finish(outcome o) noexcept {
            m_outcome = o;
            return true;
        }
        bool try_recv() {
            if (m_chan->try_recv_into(m_value)) return finish(received);
            if (m_chan->closed_for_receiver()) {
                // A value may have landed between the attempt and the check: look once more.
                if (m_chan->try_recv_into(m_value)) return finish(received);
                return finish(closed);
            }
            return false;
        }
        // Arms the receiver slot, then re-checks (rule 1). True when decided.
        bool arm_or_recv(task_header* t) {
            auto& slot = m_chan->rx_slot;
            for (;;) {
                slot.reset();
                slot.arm(t);
                if (!m_chan->queue.has_value() && !m_chan->closed_for_receiver()) return false;
                slot.disarm();
                slot.reset();
                if (try_recv()) return true;
            }
        }
        static bool on_poll(await_point& ap, task_header& t, await_op op) noexcept {
            auto& self = static_cast<recv_awaiter&>(ap);
            if (op == await_op::inspect) {
                self.m_chan->inspect(*corio::detail::tls_wait_info, /*sending=*/false);
                return false;
            }
            if (self.m_outcome != pending) return true;  // decided before a yield
            auto& slot = self.m_chan->rx_slot;
            slot.disarm();
            slot.reset();
            if (op == await_op::cancel || t.is_cancelled()) return self.finish(cancelled);
            try {
                return self.try_recv() || self.arm_or_recv(&t);
            } catch (...) {
                return self.finish(cancelled);  // a throwing move out of the queue
            }
        }

        chan<T, Queue>* m_chan;
        std::optional<T> m_value;
        outcome m_outcome = pending;
    };

    // The next value, or std::nullopt once every sender is gone (or close() was called) and
    // the queue is empty. A cancellation point; a cancelled recv takes nothing.
    recv_awaiter recv() noexcept {
        // Written only when it changes: a store per recv would pull the channel's shared
        // line away from the senders' cores on every message (W5b 4 -> 1: 24M -> 27M
        // msgs/s, and 5M -> 10M when the two cores share no cache).
        std::uint64_t me = corio::detail::current_task_id();
        if (m_chan->receiver_owner.load(std::memory_order_relaxed) != me)
            m_chan->receiver_owner.store(me, std::memory_order_relaxed);
        return recv_awaiter(m_chan);
    }

    // A value if one is queued now.
    try_recv_result<T> try_recv() {
        std::optional<T> v;
        if (m_chan->try_recv_into(v)) return try_recv_result<T>::received(std::move(*v));
        if (m_chan->closed_for_receiver()) {
            if (m_chan->try_recv_into(v)) return try_recv_result<T>::received(std::move(*v));
            return try_recv_result<T>::none(try_status::closed);
        }
        return try_recv_result<T>::none(try_status::empty);
    }

    // Stops senders (their sends fail and give the value back); queued values stay readable.
    void close() noexcept { m_chan->close_rx(); }
    // True once close() was called or every sender is gone (values may still be queued).
    bool is_closed() const noexcept { return m_chan->closed(); }
    std::size_t size() const noexcept { return m_chan->queue.size(); }
    explicit operator bool() const noexcept { return m_chan != nullptr; }

protected:
    explicit receiver_base(chan<T, Queue>* c) noexcept : m_chan(c) {
        m_chan->receiver_owner.store(corio::detail::current_task_id(), std::memory_order_relaxed);
    }
    void reset() noexcept {
        if (!m_chan) return;
        m_chan->close_rx();
        std::exchange(m_chan, nullptr)->release_ref();
    }
    chan<T, Queue>* m_chan = nullptr;
};

}  // namespace detail

template <class T>
class receiver;
template <class T>
class unbounded_receiver;

// The sending half of a bounded channel. Copy it to add a sender.
template <class T>
class sender : public detail::sender_base<T, detail::bounded_ring<T>> {
    using base = detail::sender_base<T, detail::bounded_ring<T>>;
    using base::base;
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(std::size_t capacity);
};

// The receiving half of a bounded channel. Move-only.
template <class T>
class receiver : public detail::receiver_base<T, detail::bounded_ring<T>> {
    using base = detail::receiver_base<T, detail::bounded_ring<T>>;
    using base::base;
    template <class U>
    friend std::pair<sender<U>, receiver<U>> channel(std::size_t capacity);
};

template <class T>
class unbounded_sender : public detail::sender_base<T, detail::unbounded_queue<T>> {
    using base = detail::sender_base<T, detail::unbounded_queue<T>>;
    using base::base;
    template <class U>
    friend std::pair<unbounded_sender<U>, unbounded_receiver<U>> unbounded_channel();
};

template <class T>
class unbounded_receiver : public detail::receiver_base<T, detail::unbounded_queue<T>> {
    using base = detail::receiver_base<T, detail::unbounded_queue<T>>;
    using base::base;
    template <class U>
    friend std::pair<unbounded_sender<U>, unbounded_receiver<U>> unbounded_channel();
};

// A channel holding at most `capacity` (>= 1) values. Throws std::invalid_argument for 0.
template <class T>
std::pair<sender<T>, receiver<T>> channel(std::size_t capacity) {
    static_assert(std::is_move_constructible_v<T>, "corio::mpsc: T must be move-constructible");
    if (capacity == 0) throw std::invalid_argument("corio::mpsc::channel: capacity must be >= 1");
    auto* c = new detail::chan<T, detail::bounded_ring<T>>(std::in_place, capacity);
    return {sender<T>(c), receiver<T>(c)};
}

// A channel without a bound: send never waits (memory is the limit; see docs/pitfalls.md).
template <class T>
std::pair<unbounded_sender<T>, unbounded_receiver<T>> unbounded_channel() {
    static_assert(std::is_move_constructible_v<T>, "corio::mpsc: T must be move-constructible");
    auto* c = new detail::chan<T, detail::unbounded_queue<T>>(std::in_place);
    return {unbounded_sender<T>(c), unbounded_receiver<T>(c)};
}

}  // namespace corio::mpsc
