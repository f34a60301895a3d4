#include "driver/timer_wheel.hpp"

#include <bit>

namespace corio::detail {
namespace {

constexpr unsigned kSlotBits = 6;
constexpr std::uint64_t kSlotMask = timer_wheel::kSlots - 1;
// Deadlines farther than the wheel spans are parked at the top level and cascade again.
constexpr std::uint64_t kMaxDuration = (std::uint64_t{1} << (kSlotBits * timer_wheel::kLevels)) - 1;

unsigned level_for(std::uint64_t elapsed, std::uint64_t when) noexcept {
    std::uint64_t masked = (elapsed ^ when) | kSlotMask;
    if (masked >= kMaxDuration) masked = kMaxDuration - 1;
    unsigned significant = 63 - unsigned(std::countl_zero(masked));
    return significant / kSlotBits;
}

unsigned slot_for(std::uint64_t when, unsigned level) noexcept {
    return unsigned((when >> (level * kSlotBits)) & kSlotMask);
}

}  // namespace

void timer_wheel::insert(timer_entry& e) noexcept {
    std::uint64_t when = e.deadline_tick;
    if (when - m_elapsed > kMaxDuration - 1) when = m_elapsed + kMaxDuration - 1;
    unsigned level = level_for(m_elapsed, when);
    unsigned slot = slot_for(when, level);
    level_state& l = m_levels[level];
    e.prev = nullptr;
    e.next = l.heads[slot];
    if (e.next) e.next->prev = &e;
    l.heads[slot] = &e;
    l.occupied |= std::uint64_t{1} << slot;
    e.level = std::uint8_t(level);
    e.slot_index = std::uint8_t(slot);
    ++m_size;
}

bool timer_wheel::remove(timer_entry& e) noexcept {
    if (e.level == timer_entry::kNotQueued) return false;
    level_state& l = m_levels[e.level];
    if (e.prev)
        e.prev->next = e.next;
    else
        l.heads[e.slot_index] = e.next;
    if (e.next) e.next->prev = e.prev;
    if (!l.heads[e.slot_index]) l.occupied &= ~(std::uint64_t{1} << e.slot_index);
    e.prev = e.next = nullptr;
    e.level = timer_entry::kNotQueued;
    --m_size;
    return true;
}

std::optional<timer_wheel::expiration> timer_wheel::next_slot() const noexcept {
    for (unsigned level = 0; level < kLevels; ++level) {
        const level_state& l = m_levels[level];
        if (!l.occupied) continue;
        const unsigned shift = level * kSlotBits;
        const std::uint64_t slot_range = std::uint64_t{1} << shift;
        const std::uint64_t level_range = slot_range << kSlotBits;
        const unsigned now_slot = unsigned((m_elapsed >> shift) & kSlotMask);
        const unsigned zeros = unsigned(std::countr_zero(std::rotr(l.occupied, int(now_slot))));
        const unsigned slot = (zeros + now_slot) % kSlots;
        const std::uint64_t level_start = m_elapsed & ~(level_range - 1);
        std::uint64_t deadline = level_start + slot * slot_range;
        if (deadline < (m_elapsed & ~(slot_range - 1))) deadline += level_range;
        // A slot's deadline is the start of its range; level-0 entries are due exactly then.
        if (deadline < m_elapsed) deadline = m_elapsed;
        return expiration{level, slot, deadline};
    }
    return std::nullopt;
}

std::optional<std::uint64_t> timer_wheel::next_expiration() const noexcept {
    auto e = next_slot();
    if (!e) return std::nullopt;
    return e->deadline;
}

timer_entry* timer_wheel::take_slot(unsigned level, unsigned slot) noexcept {
    level_state& l = m_levels[level];
    timer_entry* list = l.heads[slot];
    l.heads[slot] = nullptr;
    l.occupied &= ~(std::uint64_t{1} << slot);
    return list;
}

}  // namespace corio::detail
