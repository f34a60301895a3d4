// Hierarchical timing wheel: 6 levels of 64 slots, 1 ms per level-0 slot (~2.2 years range).
//
// The layout follows tokio's runtime/time/wheel: an entry sits at the lowest level whose
// slot range separates its deadline from `elapsed`; a 64-bit occupancy mask per level finds
// the next non-empty slot with one count-trailing-zeros. When a higher-level slot comes due,
// its entries are re-inserted lower (cascade) until they reach level 0 and fire.
//
// Rules:
//  1. Every queued entry has deadline_tick > elapsed, or is in the slot being processed.
//  2. An entry fires only when elapsed >= deadline_tick: a timer never fires early.
//  3. Not thread-safe: the driver guards the wheel with its timer mutex.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "corio/detail/timer_entry.hpp"

namespace corio::detail {

class timer_wheel {
public:
    static constexpr unsigned kLevels = 6;
    static constexpr unsigned kSlots = 64;

    std::uint64_t elapsed() const noexcept { return m_elapsed; }
    std::size_t size() const noexcept { return m_size; }

    // Queues `e` (deadline_tick must be > elapsed()).
    void insert(timer_entry& e) noexcept;

    // Unqueues `e` if queued. Returns true if it was.
    bool remove(timer_entry& e) noexcept;

    // The earliest tick at which advance() has work (a firing or a cascade), if any.
    std::optional<std::uint64_t> next_expiration() const noexcept;

    // Moves time to `now_tick`, calling fire(entry) for every entry due. fire() must not
    // touch the wheel.
    template <class Fire>
    void advance(std::uint64_t now_tick, Fire&& fire) {
        for (;;) {
            auto exp = next_slot();
            if (!exp || exp->deadline > now_tick) break;
            timer_entry* list = take_slot(exp->level, exp->slot);
            m_elapsed = exp->deadline;
            while (list) {
                timer_entry* e = list;
                list = e->next;
                e->prev = e->next = nullptr;
                e->level = timer_entry::kNotQueued;
                if (e->deadline_tick <= m_elapsed) {
                    --m_size;
                    fire(*e);
                } else {
                    --m_size;
                    insert(*e);  // cascade to a lower level
                }
            }
        }
        if (now_tick <= m_elapsed) return;
        // The top level is a ring over the clamped far future: its slots are placed relative
        // to elapsed's rotation. A jump into another rotation re-places them (rare: it takes
        // ~795 days of ticks, or a test).
        timer_entry* top = crosses_rotation(now_tick) ? take_level(kLevels - 1) : nullptr;
        m_elapsed = now_tick;
        while (top) {
            timer_entry* e = top;
            top = e->next;
            e->prev = e->next = nullptr;
            e->level = timer_entry::kNotQueued;
            --m_size;
            if (e->deadline_tick <= m_elapsed)
                fire(*e);
            else
                insert(*e);
        }
    }

private:
    struct expiration {
        unsigned level;
        unsigned slot;
        std::uint64_t deadline;
    };
    struct level_state {
        std::uint64_t occupied = 0;
        std::array<timer_entry*, kSlots> heads{};
    };

    std::optional<expiration> next_slot() const noexcept;
    timer_entry* take_slot(unsigned level, unsigned slot) noexcept;
    // Every entry of `level`, as one list (through next).
    timer_entry* take_level(unsigned level) noexcept;
    bool crosses_rotation(std::uint64_t now_tick) const noexcept;

    std::array<level_state, kLevels> m_levels{};
    std::uint64_t m_elapsed = 0;
    std::size_t m_size = 0;
};

}  // namespace corio::detail
