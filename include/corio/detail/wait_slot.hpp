// corio/detail/wait_slot.hpp — one parked waiter that one waker can wake exactly once.
//
// The word holds: 0 (empty), a task_header* (a parked task), a thread_waiter* | 1 (a thread
// blocked outside the runtime), a slot_callback* | 2 (code to run on the waker's thread),
// kWaking (a waker is delivering the wake) or kFired (the wake was delivered, or the event
// happened with nobody parked).
//
// Rules:
//  1. Only the waiter arms and disarms; a waker only moves armed → kWaking → kFired, or
//     empty → kFired.
//  2. A waker touches the parked task only between kWaking and kFired. A waiter that must
//     leave (cancellation, a different wake) and sees kWaking waits for kFired, so the task
//     cannot complete and free its frame under a waker's feet.
//  3. Arming is sequentially consistent, so a waiter that arms and then re-checks its
//     condition, and a waker that publishes the condition and then fires, cannot both miss.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "corio/detail/task_header.hpp"

namespace corio::detail {

// A thread outside the runtime waiting for one event (block_on on a multi-thread runtime).
struct thread_waiter {
    std::atomic<std::uint32_t> done{0};
    void wait() noexcept {
        while (done.load(std::memory_order_acquire) == 0) done.wait(0, std::memory_order_acquire);
    }
    void notify() noexcept {
        done.store(1, std::memory_order_release);
        done.notify_all();
    }
};

// Code run by the waker when the slot fires (it must be quick and must not block). Its
// owner keeps it alive until the slot has fired or the owner has disarmed it.
struct slot_callback {
    void (*fn)(slot_callback* self) noexcept;
};

class wait_slot_ref {
public:
    static constexpr std::uintptr_t kEmpty = 0;
    static constexpr std::uintptr_t kThreadTag = 1;
    static constexpr std::uintptr_t kCallbackTag = 2;
    static constexpr std::uintptr_t kTagMask = 3;
    static constexpr std::uintptr_t kWaking = 2;
    static constexpr std::uintptr_t kFired = 4;

    explicit wait_slot_ref(std::atomic<std::uintptr_t>& word) noexcept : m_word(word) {}

    // Waiter: parks `t`. Returns false if the slot already fired (do not park).
    bool arm(task_header* t) noexcept { return arm_value(reinterpret_cast<std::uintptr_t>(t)); }
    bool arm(thread_waiter* w) noexcept {
        return arm_value(reinterpret_cast<std::uintptr_t>(w) | kThreadTag);
    }
    bool arm(slot_callback* c) noexcept {
        return arm_value(reinterpret_cast<std::uintptr_t>(c) | kCallbackTag);
    }

    // Waker: wakes the parked waiter, or records the event if none. Returns true if this call
    // delivered the event (false if it had already fired).
    bool fire(bool lifo = false) noexcept {
        std::uintptr_t v = m_word.load(std::memory_order_acquire);
        for (;;) {
            if (v == kFired || v == kWaking) return false;
            if (v == kEmpty) {
                if (m_word.compare_exchange_weak(v, kFired, std::memory_order_acq_rel)) return true;
                continue;
            }
            if (m_word.compare_exchange_weak(v, kWaking, std::memory_order_acq_rel)) break;
        }
        if ((v & kTagMask) == kThreadTag) {
            auto* w = reinterpret_cast<thread_waiter*>(v & ~kTagMask);
            m_word.store(kFired, std::memory_order_release);  // w outlives the slot's owner
            w->notify();
        } else if ((v & kTagMask) == kCallbackTag) {
            auto* c = reinterpret_cast<slot_callback*>(v & ~kTagMask);
            c->fn(c);  // before kFired: its owner, disarming, waits for this call to return
            m_word.store(kFired, std::memory_order_release);
        } else {
            auto* t = reinterpret_cast<task_header*>(v);
            if (lifo)
                wake_lifo(t);
            else
                wake(t);
            m_word.store(kFired, std::memory_order_release);
        }
        return true;
    }

    // Waker that must not record an event when nobody is parked (a reactor edge is kept in
    // the registration's readiness instead). Wakes the parked waiter (a task) if there is one.
    void wake_if_armed() noexcept {
        std::uintptr_t v = m_word.load(std::memory_order_acquire);
        for (;;) {
            if (v == kEmpty || v == kFired || v == kWaking) return;
            if (m_word.compare_exchange_weak(v, kWaking, std::memory_order_acq_rel)) break;
        }
        wake(reinterpret_cast<task_header*>(v));
        m_word.store(kFired, std::memory_order_release);
    }

    // Waiter: withdraws. Returns true if the slot fired (the wake was, or is being, delivered;
    // the slot is then fired), false if the waiter was removed before any wake.
    bool disarm() noexcept {
        std::uintptr_t v = m_word.load(std::memory_order_acquire);
        for (;;) {
            if (v == kFired) return true;
            if (v == kWaking) {
                std::this_thread::yield();
                v = m_word.load(std::memory_order_acquire);
                continue;
            }
            if (v == kEmpty) return false;
            if (m_word.compare_exchange_weak(v, kEmpty, std::memory_order_acq_rel)) return false;
        }
    }

    // Waiter: true once the wake has been fully delivered (never true during kWaking).
    bool fired() const noexcept {
        std::uintptr_t v = m_word.load(std::memory_order_acquire);
        while (v == kWaking) {
            std::this_thread::yield();
            v = m_word.load(std::memory_order_acquire);
        }
        return v == kFired;
    }

    void reset() noexcept { m_word.store(kEmpty, std::memory_order_relaxed); }

private:
    bool arm_value(std::uintptr_t value) noexcept {
        std::uintptr_t expected = kEmpty;
        if (m_word.compare_exchange_strong(expected, value, std::memory_order_seq_cst)) return true;
        return false;  // fired (or being fired): the event already happened
    }

    std::atomic<std::uintptr_t>& m_word;
};

// A wait_slot that owns its word (timers, reactor registrations, sync primitives).
class wait_slot {
public:
    wait_slot_ref ref() noexcept { return wait_slot_ref(m_word); }
    bool arm(task_header* t) noexcept { return ref().arm(t); }
    bool fire(bool lifo = false) noexcept { return ref().fire(lifo); }
    void wake_if_armed() noexcept { ref().wake_if_armed(); }
    bool disarm() noexcept { return ref().disarm(); }
    bool fired() noexcept { return ref().fired(); }
    void reset() noexcept { ref().reset(); }
    bool empty() const noexcept { return m_word.load(std::memory_order_acquire) == 0; }
    // The task parked here, if a task is.
    task_header* parked_task() const noexcept {
        std::uintptr_t v = m_word.load(std::memory_order_acquire);
        if (v == wait_slot_ref::kEmpty || v == wait_slot_ref::kWaking ||
            v == wait_slot_ref::kFired || (v & wait_slot_ref::kTagMask))
            return nullptr;
        return reinterpret_cast<task_header*>(v);
    }
    // A waiter is parked (not empty, not being woken, not fired).
    bool armed() const noexcept {
        std::uintptr_t v = m_word.load(std::memory_order_acquire);
        return v != wait_slot_ref::kEmpty && v != wait_slot_ref::kWaking &&
               v != wait_slot_ref::kFired;
    }

private:
    std::atomic<std::uintptr_t> m_word{0};
};

}  // namespace corio::detail
