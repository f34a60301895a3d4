// corio/detail/waiter_list.hpp — the FIFO of parked waiters inside a sync primitive.
//
// Each waiter's node lives in its awaiter (in the waiting task's frame): parking allocates
// nothing, and leaving the queue on cancellation is O(1). The primitive guards the list with
// its own lock and wakes a node with node.slot.fire() while still holding that lock, so a
// waiter that takes the lock to withdraw either finds itself queued (and leaves) or finds
// its wake already delivered.
#pragma once

#include <cstddef>
#include <cstdint>

#include "corio/detail/wait_slot.hpp"

namespace corio::detail {

struct waiter_node {
    waiter_node* prev = nullptr;
    waiter_node* next = nullptr;
    wait_slot slot;
    // Two small fields each primitive uses as it needs (permits wanted, read or write, the
    // outcome), packed with `queued` so a node stays 32 bytes.
    std::uint32_t value = 0;
    std::uint8_t outcome = 0;
    bool queued = false;
};

class waiter_list {
public:
    bool empty() const noexcept { return m_head == nullptr; }
    std::size_t size() const noexcept { return m_size; }
    waiter_node* front() const noexcept { return m_head; }

    void push_back(waiter_node& n) noexcept {
        n.prev = m_tail;
        n.next = nullptr;
        if (m_tail)
            m_tail->next = &n;
        else
            m_head = &n;
        m_tail = &n;
        n.queued = true;
        ++m_size;
    }

    void remove(waiter_node& n) noexcept {
        if (n.prev)
            n.prev->next = n.next;
        else
            m_head = n.next;
        if (n.next)
            n.next->prev = n.prev;
        else
            m_tail = n.prev;
        n.prev = n.next = nullptr;
        n.queued = false;
        --m_size;
    }

    waiter_node* pop_front() noexcept {
        waiter_node* n = m_head;
        if (n) remove(*n);
        return n;
    }

private:
    waiter_node* m_head = nullptr;
    waiter_node* m_tail = nullptr;
    std::size_t m_size = 0;
};

}  // namespace corio::detail
