// A worker's run queue: a bounded single-producer, multi-consumer ring.
//
// The owner pushes at the tail and pops at the head; thieves steal half from the head. The
// design is tokio's (runtime/scheduler/multi_thread/queue.rs), written from its description:
//  1. `head` packs two 32-bit indices: `steal` (where an in-progress steal started) and
//     `real` (the next task to hand out). steal == real when no thief is copying.
//  2. Only the owner writes `tail`, so a push is a plain store (release) with no RMW.
//  3. A thief first claims [real, real + n) by moving `real` (steal stays), copies the tasks,
//     then releases its claim by moving `steal` up to `real`. While a claim is open the owner
//     may still pop, but no second thief can steal and the owner will not overflow.
//  4. Capacity counts from `steal`, so slots being copied by a thief are never overwritten.
//  5. When full, the owner moves half of the ring plus the new task to the injection queue
//     in one batch, so other workers can pick them up.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "corio/detail/task_header.hpp"
#include "runtime/inject_queue.hpp"

namespace corio::detail {

class local_queue {
public:
    // 256: tokio's LOCAL_QUEUE_CAPACITY and Go's runq size.
    static constexpr std::uint32_t kCapacity = 256;
    static constexpr std::uint32_t kMask = kCapacity - 1;

    // Owner only. Overflows half the queue into `inject` when full.
    void push_back(task_header* t, inject_queue& inject) noexcept {
        for (;;) {
            std::uint64_t head = m_head.load(std::memory_order_acquire);
            std::uint32_t steal = unpack_steal(head);
            std::uint32_t real = unpack_real(head);
            std::uint32_t tail = m_tail.load(std::memory_order_relaxed);
            if (tail - steal < kCapacity) {
                m_buffer[tail & kMask].store(t, std::memory_order_relaxed);
                m_tail.store(tail + 1, std::memory_order_release);
                return;
            }
            if (steal != real) {
                // A thief is copying: it will free room soon; don't wait, use the shared queue.
                inject.push(t);
                return;
            }
            if (push_overflow(t, real, tail, inject)) return;
            // Lost a race with a thief that took tasks: room now, retry.
        }
    }

    // Owner only.
    task_header* pop() noexcept {
        std::uint64_t head = m_head.load(std::memory_order_acquire);
        for (;;) {
            std::uint32_t steal = unpack_steal(head);
            std::uint32_t real = unpack_real(head);
            std::uint32_t tail = m_tail.load(std::memory_order_relaxed);
            if (real == tail) return nullptr;
            std::uint32_t next_real = real + 1;
            std::uint64_t next =
                steal == real ? pack(next_real, next_real) : pack(steal, next_real);
            if (m_head.compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                             std::memory_order_acquire))
                return m_buffer[real & kMask].load(std::memory_order_relaxed);
        }
    }

    // Thief: moves about half of this queue into `dst` (which its caller owns and which must
    // be empty) and returns one of them to run at once, or nullptr.
    task_header* steal_into(local_queue& dst) noexcept {
        std::uint32_t dst_tail = dst.m_tail.load(std::memory_order_relaxed);
        std::uint32_t n = claim_half(dst_tail, dst);
        if (n == 0) return nullptr;
        --n;
        task_header* ret = dst.m_buffer[(dst_tail + n) & kMask].load(std::memory_order_relaxed);
        if (n) dst.m_tail.store(dst_tail + n, std::memory_order_release);
        return ret;
    }

    std::uint32_t size() const noexcept {
        std::uint64_t head = m_head.load(std::memory_order_acquire);
        std::uint32_t tail = m_tail.load(std::memory_order_acquire);
        return tail - unpack_real(head);
    }
    bool empty() const noexcept { return size() == 0; }

private:
    static std::uint32_t unpack_steal(std::uint64_t h) noexcept { return std::uint32_t(h >> 32); }
    static std::uint32_t unpack_real(std::uint64_t h) noexcept { return std::uint32_t(h); }
    static std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
        return (std::uint64_t(steal) << 32) | real;
    }

    bool push_overflow(task_header* t, std::uint32_t head, std::uint32_t tail,
                       inject_queue& inject) noexcept {
        constexpr std::uint32_t kHalf = kCapacity / 2;
        if (tail - head != kCapacity) return false;
        std::uint64_t prev = pack(head, head);
        if (!m_head.compare_exchange_strong(prev, pack(head + kHalf, head + kHalf),
                                            std::memory_order_release, std::memory_order_relaxed))
            return false;
        // The claimed half is ours: link it into a list through queue_next, then the new task.
        task_header* first = m_buffer[head & kMask].load(std::memory_order_relaxed);
        task_header* last = first;
        for (std::uint32_t i = 1; i < kHalf; ++i) {
            task_header* next = m_buffer[(head + i) & kMask].load(std::memory_order_relaxed);
            last->queue_next = next;
            last = next;
        }
        last->queue_next = t;
        t->queue_next = nullptr;
        inject.push_batch(first, t, kHalf + 1);
        return true;
    }

    std::uint32_t claim_half(std::uint32_t dst_tail, local_queue& dst) noexcept {
        std::uint64_t prev = m_head.load(std::memory_order_acquire);
        std::uint32_t n;
        std::uint64_t next;
        for (;;) {
            std::uint32_t steal = unpack_steal(prev);
            std::uint32_t real = unpack_real(prev);
            if (steal != real) return 0;  // another thief is copying
            std::uint32_t tail = m_tail.load(std::memory_order_acquire);
            n = tail - real;
            n -= n / 2;
            if (n == 0) return 0;
            if (n > kCapacity / 2) n = kCapacity / 2;
            next = pack(steal, real + n);
            if (m_head.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                             std::memory_order_acquire))
                break;
        }
        std::uint32_t first = unpack_steal(next);
        for (std::uint32_t i = 0; i < n; ++i) {
            task_header* t = m_buffer[(first + i) & kMask].load(std::memory_order_relaxed);
            dst.m_buffer[(dst_tail + i) & kMask].store(t, std::memory_order_relaxed);
        }
        // Release the claim: steal catches up with real.
        prev = next;
        for (;;) {
            std::uint32_t real = unpack_real(prev);
            if (m_head.compare_exchange_weak(prev, pack(real, real), std::memory_order_acq_rel,
                                             std::memory_order_acquire))
                return n;
        }
    }

    alignas(64) std::atomic<std::uint64_t> m_head{0};
    alignas(64) std::atomic<std::uint32_t> m_tail{0};
    alignas(64) std::array<std::atomic<task_header*>, kCapacity> m_buffer{};
};

}  // namespace corio::detail
