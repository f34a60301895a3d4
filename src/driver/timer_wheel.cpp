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
        // Above level 0 a slot is processed the moment elapsed enters it, so the current
        // slot holds only the top level's clamped entries, a full rotation ahead: it comes
        // last. (Searching from it would hide earlier slots behind a later deadline.)
        const unsigned first = level == 0 ? now_slot : (now_slot + 1) % kSlots;
        const unsigned zeros = unsigned(std::countr_zero(std::rotr(l.occupied, int(first))));
        const unsigned slot = (zeros + first) % kSlots;
        const std::uint64_t level_start = m_elapsed & ~(level_range - 1);
        std::uint64_t deadline = level_start + slot * slot_range;
        // A slot that starts before `elapsed` (or at it, above level 0, where a slot is
        // processed the moment `elapsed` reaches its start) lies one rotation ahead. Above
        // level 0 this happens only at the top level, to entries clamped to the wheel's span:
        // the top level works as a ring (as tokio's wheel does).
        if (level == 0 ? deadline < m_elapsed : deadline <= m_elapsed) deadline += level_range;
        return expiration{level, slot, deadline};
    }
    return std::nullopt;
}

std::optional<std::uint64_t> timer_wheel::next_expiration() const noexcept {
    auto e = next_slot();
    if (!e) return std::nullopt;
    return e->deadline;
}

timer_entry* timer_wheel::take_level(unsigned level) noexcept {
    timer_entry* all = nullptr;
    while (m_levels[level].occupied) {
        unsigned slot = unsigned(std::countr_zero(m_levels[level].occupied));
        timer_entry* list = take_slot(level, slot);
        while (list) {
            timer_entry* e = list;
            list = e->next;
            e->next = all;
            all = e;
        }
    }
    return all;
}

bool timer_wheel::crosses_rotation(std::uint64_t now_tick) const noexcept {
    constexpr unsigned kRotationBits = kSlotBits * kLevels;
    return m_levels[kLevels - 1].occupied &&
           (m_elapsed >> kRotationBits) != (now_tick >> kRotationBits);
}

timer_entry* timer_wheel::take_slot(unsigned level, unsigned slot) noexcept {
    level_state& l = m_levels[level];
    timer_entry* list = l.heads[slot];
    l.heads[slot] = nullptr;
    l.occupied &= ~(std::uint64_t{1} << slot);
    return list;
}

}  // namespace corio::detail
