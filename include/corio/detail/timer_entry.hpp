// corio/detail/timer_entry.hpp — a timer, living inside the awaiter that sleeps on it.
//
// The wheel links entries intrusively, so a sleep allocates nothing; inserting and removing
// are O(1). `slot` carries the parked task and the fired state (see wait_slot.hpp).
#pragma once

#include <cstdint>

#include "corio/detail/wait_slot.hpp"

namespace corio::detail {

struct timer_entry {
    static constexpr std::uint8_t kNotQueued = 0xff;

    timer_entry* prev = nullptr;
    timer_entry* next = nullptr;
    std::uint64_t deadline_tick = 0;  // fires once the wheel's elapsed tick reaches this
    wait_slot slot;
    std::uint8_t level = kNotQueued;  // position in the wheel, for O(1) removal
    std::uint8_t slot_index = 0;
};

}  // namespace corio::detail
