// Unit tests of the hierarchical timer wheel (src/driver/timer_wheel.hpp), without a runtime.
//
// Each entry's firing is recorded with wheel.elapsed() at the time fire() runs (the tick it
// fired at) and with the now_tick of the advance() call that fired it. The wheel's contract:
//  * every entry fires exactly once, never before its deadline_tick,
//  * at the first advance() whose now_tick >= deadline_tick,
//  * remove() before firing prevents it (true), after firing returns false,
//  * next_expiration() is <= the earliest pending deadline and > elapsed().
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "driver/timer_wheel.hpp"
#include "test_support.hpp"

namespace {

using corio::detail::timer_entry;
using corio::detail::timer_wheel;

constexpr std::uint64_t kNever = ~std::uint64_t{0};

// A set of entries plus what happened to each.
struct harness {
    explicit harness(std::size_t n)
        : entries(new timer_entry[n]),
          count(n),
          fired_at(n, kNever),
          fired_in_call(n, kNever),
          fire_count(n, 0) {}

    timer_wheel wheel;
    std::unique_ptr<timer_entry[]> entries;
    std::size_t count;
    std::vector<std::uint64_t> fired_at;       // wheel.elapsed() inside fire()
    std::vector<std::uint64_t> fired_in_call;  // now_tick of the advance() that fired it
    std::vector<int> fire_count;
    std::vector<std::size_t> order;  // firing order (indices)
    // The now_tick of the previous advance() call (the entries it did not fire were not due).
    std::uint64_t last_now = 0;

    std::size_t index_of(const timer_entry& e) const {
        return static_cast<std::size_t>(&e - entries.get());
    }

    void insert(std::size_t i, std::uint64_t deadline) {
        entries[i].deadline_tick = deadline;
        wheel.insert(entries[i]);
    }

    // Returns the indices fired by this call, in firing order.
    std::vector<std::size_t> advance(std::uint64_t now) {
        std::vector<std::size_t> fired;
        wheel.advance(now, [&](timer_entry& e) {
            std::size_t i = index_of(e);
            fired_at[i] = wheel.elapsed();
            fired_in_call[i] = now;
            ++fire_count[i];
            order.push_back(i);
            fired.push_back(i);
        });
        last_now = std::max(last_now, now);
        return fired;
    }
};

// Checks an entry's firing against its deadline and the advance() calls made. `prev_now` is
// the now_tick of the last advance() before the one expected to fire it.
void expect_fired_on_time(const harness& h, std::size_t i, std::uint64_t deadline,
                          std::uint64_t expected_call) {
    SCOPED_TRACE(::testing::Message() << "entry " << i << " deadline " << deadline);
    EXPECT_EQ(h.fire_count[i], 1);
    EXPECT_NE(h.fired_at[i], kNever);
    EXPECT_GE(h.fired_at[i], deadline) << "fired early";
    EXPECT_EQ(h.fired_in_call[i], expected_call)
        << "did not fire at the first advance() reaching its deadline";
}

void expect_next_expiration_sane(const timer_wheel& w, std::uint64_t earliest_pending) {
    auto next = w.next_expiration();
    if (w.size() == 0) {
        EXPECT_FALSE(next.has_value());
        return;
    }
    ASSERT_TRUE(next.has_value());
    EXPECT_LE(*next, earliest_pending) << "next_expiration() is after a pending deadline";
    EXPECT_GT(*next, w.elapsed()) << "next_expiration() is not in the future";
}

const std::vector<std::uint64_t> kScaleDeadlines = {
    1,    2,      63,     64,     65,       127,      128,        4095,   4096,
    4097, 262143, 262144, 262145, 16777215, 16777216, 10'000'000, 999'999};

TEST(timer_wheel, new_wheel_is_empty_with_no_next_expiration) {
    timer_wheel w;
    EXPECT_EQ(w.size(), 0u);
    EXPECT_EQ(w.elapsed(), 0u);
    EXPECT_FALSE(w.next_expiration().has_value());
    int fired = 0;
    w.advance(1000, [&](timer_entry&) { ++fired; });
    EXPECT_EQ(fired, 0);
    EXPECT_EQ(w.elapsed(), 1000u);
}

TEST(timer_wheel, deadlines_at_every_scale_fire_exactly_at_their_tick_when_stepping_by_one) {
    corio::testing::watchdog wd(std::chrono::seconds(60));
    std::vector<std::uint64_t> deadlines;
    for (std::uint64_t d : kScaleDeadlines)
        if (d <= 10'000'000) deadlines.push_back(d);
    harness h(deadlines.size());
    std::uint64_t max_deadline = 0;
    for (std::size_t i = 0; i < deadlines.size(); ++i) {
        h.insert(i, deadlines[i]);
        max_deadline = std::max(max_deadline, deadlines[i]);
    }
    EXPECT_EQ(h.wheel.size(), deadlines.size());
    std::uint64_t earliest = *std::min_element(deadlines.begin(), deadlines.end());
    expect_next_expiration_sane(h.wheel, earliest);
    for (std::uint64_t now = 1; now <= max_deadline; ++now) {
        auto fired = h.advance(now);
        for (std::size_t i : fired) {
            // With one-tick steps, the first call reaching the deadline is advance(deadline).
            ASSERT_EQ(h.fired_at[i], deadlines[i]) << "entry " << i;
            ASSERT_EQ(now, deadlines[i]) << "entry " << i;
        }
        ASSERT_EQ(h.wheel.elapsed(), now);
    }
    for (std::size_t i = 0; i < deadlines.size(); ++i)
        expect_fired_on_time(h, i, deadlines[i], deadlines[i]);
    EXPECT_EQ(h.wheel.size(), 0u);
    EXPECT_FALSE(h.wheel.next_expiration().has_value());
}

// Large steps: each entry fires at the first advance() whose now_tick >= its deadline.
void run_fixed_steps(std::uint64_t step, std::uint64_t start_elapsed) {
    SCOPED_TRACE(::testing::Message() << "step " << step << " start " << start_elapsed);
    corio::testing::watchdog wd(std::chrono::seconds(60));
    harness h(kScaleDeadlines.size());
    if (start_elapsed) h.advance(start_elapsed);
    std::uint64_t max_deadline = 0;
    std::uint64_t earliest = kNever;
    for (std::size_t i = 0; i < kScaleDeadlines.size(); ++i) {
        std::uint64_t d = start_elapsed + kScaleDeadlines[i];
        h.insert(i, d);
        max_deadline = std::max(max_deadline, d);
        earliest = std::min(earliest, d);
    }
    expect_next_expiration_sane(h.wheel, earliest);
    std::uint64_t now = start_elapsed;
    while (now < max_deadline) {
        now += step;
        h.advance(now);
        EXPECT_EQ(h.wheel.elapsed(), now);
        std::uint64_t pending_min = kNever;
        for (std::size_t i = 0; i < kScaleDeadlines.size(); ++i)
            if (h.fire_count[i] == 0)
                pending_min = std::min(pending_min, start_elapsed + kScaleDeadlines[i]);
        expect_next_expiration_sane(h.wheel, pending_min);
    }
    for (std::size_t i = 0; i < kScaleDeadlines.size(); ++i) {
        std::uint64_t d = start_elapsed + kScaleDeadlines[i];
        // The first multiple of `step` past start_elapsed that reaches d.
        std::uint64_t expected_call =
            start_elapsed + ((d - start_elapsed + step - 1) / step) * step;
        expect_fired_on_time(h, i, d, expected_call);
    }
    EXPECT_EQ(h.wheel.size(), 0u);
}

TEST(timer_wheel, deadlines_at_every_scale_fire_at_the_first_advance_reaching_them_in_large_steps) {
    for (std::uint64_t step :
         {7ull, 64ull, 1000ull, 4096ull, 100'003ull, 1'000'000ull, 20'000'000ull})
        run_fixed_steps(step, 0);
}

TEST(timer_wheel, deadlines_fire_on_time_when_inserted_at_an_unaligned_elapsed) {
    for (std::uint64_t start : {5ull, 63ull, 100ull, 4095ull, 262'100ull, 123'456'789ull})
        for (std::uint64_t step : {1ull << 10, 99'991ull, 5'000'000ull})
            run_fixed_steps(step, start);
}

TEST(timer_wheel, single_advance_far_past_every_deadline_fires_all_in_deadline_order) {
    harness h(kScaleDeadlines.size());
    for (std::size_t i = 0; i < kScaleDeadlines.size(); ++i) h.insert(i, kScaleDeadlines[i]);
    h.advance(50'000'000);
    ASSERT_EQ(h.order.size(), kScaleDeadlines.size());
    for (std::size_t k = 1; k < h.order.size(); ++k)
        EXPECT_LE(kScaleDeadlines[h.order[k - 1]], kScaleDeadlines[h.order[k]])
            << "fired out of deadline order at position " << k;
    for (std::size_t i = 0; i < kScaleDeadlines.size(); ++i)
        expect_fired_on_time(h, i, kScaleDeadlines[i], 50'000'000);
    EXPECT_EQ(h.wheel.elapsed(), 50'000'000u);
}

TEST(timer_wheel, advance_to_one_tick_before_the_deadline_does_not_fire) {
    for (std::uint64_t d : kScaleDeadlines) {
        harness h(1);
        h.insert(0, d);
        if (d > 1) h.advance(d - 1);
        EXPECT_EQ(h.fire_count[0], 0) << "deadline " << d << " fired at " << h.fired_at[0];
        h.advance(d);
        EXPECT_EQ(h.fire_count[0], 1) << "deadline " << d;
        EXPECT_EQ(h.fired_at[0], d);
    }
}

// Beyond 2^36 ticks (the six levels' span) entries are parked at the top level and must
// cascade again; they still fire exactly once and never early.
void run_beyond_range(std::uint64_t start_elapsed) {
    SCOPED_TRACE(::testing::Message() << "inserted at elapsed " << start_elapsed);
    // A hang here is the failure mode of a top-level slot that never leaves the current slot.
    corio::testing::watchdog wd(std::chrono::seconds(10), "timer_wheel beyond-range advance");
    const std::uint64_t span = std::uint64_t{1} << 36;
    const std::vector<std::uint64_t> offsets = {
        span - 2, span - 1, span,         span + 1,
        span + 5, 2 * span, 3 * span + 7, std::uint64_t{1} << 40};
    harness h(offsets.size() + 1);
    if (start_elapsed) h.advance(start_elapsed);
    std::uint64_t earliest = kNever;
    for (std::size_t i = 0; i < offsets.size(); ++i) {
        h.insert(i, start_elapsed + offsets[i]);
        earliest = std::min(earliest, start_elapsed + offsets[i]);
    }
    // A near entry too, which must not be delayed by the far ones.
    h.insert(offsets.size(), start_elapsed + 10);
    expect_next_expiration_sane(h.wheel, start_elapsed + 10);

    h.advance(start_elapsed + 10);
    EXPECT_EQ(h.fire_count[offsets.size()], 1);
    for (std::size_t i = 0; i < offsets.size(); ++i) EXPECT_EQ(h.fire_count[i], 0) << "entry " << i;
    expect_next_expiration_sane(h.wheel, earliest);

    // Walk through each far deadline: one tick before (must not fire), then exactly at it.
    std::vector<std::size_t> idx(offsets.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::sort(idx.begin(), idx.end(), [&](auto a, auto b) { return offsets[a] < offsets[b]; });
    for (std::size_t i : idx) {
        std::uint64_t d = start_elapsed + offsets[i];
        if (d - 1 > h.wheel.elapsed()) h.advance(d - 1);
        EXPECT_EQ(h.fire_count[i], 0) << "entry " << i << " fired before " << d;
        h.advance(d);
        expect_fired_on_time(h, i, d, d);
        std::uint64_t pending_min = kNever;
        for (std::size_t j = 0; j < offsets.size(); ++j)
            if (h.fire_count[j] == 0)
                pending_min = std::min(pending_min, start_elapsed + offsets[j]);
        expect_next_expiration_sane(h.wheel, pending_min);
    }
    EXPECT_EQ(h.wheel.size(), 0u);
}

TEST(timer_wheel, deadlines_beyond_the_wheel_span_fire_once_and_never_early_from_elapsed_zero) {
    run_beyond_range(0);
}

TEST(timer_wheel,
     deadlines_beyond_the_wheel_span_fire_once_and_never_early_from_unaligned_elapsed) {
    run_beyond_range(5);
}

TEST(timer_wheel, deadline_beyond_the_wheel_span_leaves_next_expiration_in_the_future) {
    // Minimal form of the beyond-range case: one far timer queued once time has moved on.
    corio::testing::watchdog wd(std::chrono::seconds(10), "timer_wheel far-deadline advance");
    harness h(1);
    h.advance(5);
    h.insert(0, 5 + (std::uint64_t{1} << 37));
    auto next = h.wheel.next_expiration();
    ASSERT_TRUE(next.has_value());
    EXPECT_GT(*next, h.wheel.elapsed());
    h.advance(6);  // must return: nothing is due for ~4 years of ticks
    EXPECT_EQ(h.fire_count[0], 0);
    EXPECT_EQ(h.wheel.elapsed(), 6u);
}

TEST(timer_wheel, remove_before_firing_returns_true_and_prevents_firing) {
    harness h(kScaleDeadlines.size());
    for (std::size_t i = 0; i < kScaleDeadlines.size(); ++i) h.insert(i, kScaleDeadlines[i]);
    // Remove every other entry.
    std::size_t removed = 0;
    for (std::size_t i = 0; i < kScaleDeadlines.size(); i += 2) {
        EXPECT_TRUE(h.wheel.remove(h.entries[i])) << "entry " << i;
        EXPECT_FALSE(h.wheel.remove(h.entries[i])) << "second remove of entry " << i;
        ++removed;
    }
    EXPECT_EQ(h.wheel.size(), kScaleDeadlines.size() - removed);
    for (std::uint64_t now = 0; now <= 20'000'000; now += 997) h.advance(now);
    h.advance(20'000'000);
    for (std::size_t i = 0; i < kScaleDeadlines.size(); ++i) {
        if (i % 2 == 0)
            EXPECT_EQ(h.fire_count[i], 0) << "removed entry " << i << " fired";
        else
            EXPECT_EQ(h.fire_count[i], 1) << "entry " << i;
    }
    EXPECT_EQ(h.wheel.size(), 0u);
}

TEST(timer_wheel, remove_after_firing_returns_false) {
    harness h(3);
    h.insert(0, 1);
    h.insert(1, 100);
    h.insert(2, 5000);
    h.advance(6000);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(h.fire_count[i], 1);
        EXPECT_FALSE(h.wheel.remove(h.entries[i])) << "entry " << i;
    }
    EXPECT_EQ(h.wheel.size(), 0u);
}

TEST(timer_wheel, remove_of_a_never_inserted_entry_returns_false) {
    timer_wheel w;
    timer_entry e;
    e.deadline_tick = 10;
    EXPECT_FALSE(w.remove(e));
    EXPECT_EQ(w.size(), 0u);
}

TEST(timer_wheel, removed_entry_can_be_reinserted_and_fires_once) {
    harness h(1);
    h.insert(0, 300);
    EXPECT_TRUE(h.wheel.remove(h.entries[0]));
    h.advance(100);
    h.insert(0, 150);
    h.advance(149);
    EXPECT_EQ(h.fire_count[0], 0);
    h.advance(400);
    EXPECT_EQ(h.fire_count[0], 1);
    EXPECT_EQ(h.fired_at[0], 150u);
    EXPECT_EQ(h.fired_in_call[0], 400u);
}

TEST(timer_wheel, removing_one_of_many_entries_in_a_slot_keeps_the_others) {
    harness h(5);
    for (std::size_t i = 0; i < 5; ++i) h.insert(i, 42);  // all in one level-0 slot
    // The slot's list is 4,3,2,1,0 (pushed at the head): remove its tail, head and middle.
    EXPECT_TRUE(h.wheel.remove(h.entries[0]));
    EXPECT_TRUE(h.wheel.remove(h.entries[4]));
    EXPECT_TRUE(h.wheel.remove(h.entries[2]));
    EXPECT_EQ(h.wheel.size(), 2u);
    auto next = h.wheel.next_expiration();
    ASSERT_TRUE(next.has_value());
    EXPECT_EQ(*next, 42u);
    h.advance(42);
    EXPECT_EQ(h.fire_count[0], 0);
    EXPECT_EQ(h.fire_count[1], 1);
    EXPECT_EQ(h.fire_count[2], 0);
    EXPECT_EQ(h.fire_count[3], 1);
    EXPECT_EQ(h.fire_count[4], 0);
    EXPECT_FALSE(h.wheel.next_expiration().has_value());
}

TEST(timer_wheel, next_expiration_is_bounded_by_the_earliest_deadline_at_every_scale) {
    for (std::uint64_t start : {0ull, 1ull, 63ull, 64ull, 1000ull, 4095ull, 300'000ull}) {
        for (std::uint64_t off : kScaleDeadlines) {
            harness h(1);
            if (start) h.advance(start);
            h.insert(0, start + off);
            SCOPED_TRACE(::testing::Message() << "start " << start << " offset " << off);
            expect_next_expiration_sane(h.wheel, start + off);
            // Following next_expiration() leads to the firing without ever firing early.
            int guard = 0;
            while (h.fire_count[0] == 0 && guard++ < 100) {
                auto next = h.wheel.next_expiration();
                ASSERT_TRUE(next.has_value());
                h.advance(*next);
                if (h.fire_count[0] == 0) expect_next_expiration_sane(h.wheel, start + off);
            }
            EXPECT_EQ(h.fire_count[0], 1);
            EXPECT_EQ(h.fired_at[0], start + off);
        }
    }
}

// Randomized: the wheel against a std::multimap model, with a fixed seed.
void run_model(std::uint32_t seed, unsigned max_scale_bits, int steps) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed << " scale bits " << max_scale_bits);
    corio::testing::watchdog wd(std::chrono::seconds(20), "timer_wheel model test");
    constexpr std::size_t kEntries = 4096;
    harness h(kEntries);
    std::mt19937_64 rng(seed);
    std::multimap<std::uint64_t, std::size_t> model;  // deadline -> entry
    std::vector<std::uint64_t> deadline_of(kEntries, kNever);
    std::vector<bool> queued(kEntries, false);
    std::vector<std::size_t> free_list;
    for (std::size_t i = 0; i < kEntries; ++i) free_list.push_back(kEntries - 1 - i);
    std::uint64_t now = 0;
    std::size_t total_fired = 0;

    for (int step = 0; step < steps; ++step) {
        unsigned op = unsigned(rng() % 100);
        if (op < 55 && !free_list.empty()) {
            // Insert with a deadline at a random scale.
            std::size_t i = free_list.back();
            free_list.pop_back();
            unsigned bits = unsigned(rng() % (max_scale_bits + 1));
            std::uint64_t off = 1 + (bits ? rng() % (std::uint64_t{1} << bits) : 0);
            std::uint64_t d = h.wheel.elapsed() + off;
            h.fire_count[i] = 0;
            h.fired_at[i] = kNever;
            h.fired_in_call[i] = kNever;
            deadline_of[i] = d;
            queued[i] = true;
            h.insert(i, d);
            model.emplace(d, i);
        } else if (op < 70 && !model.empty()) {
            // Remove a random queued entry.
            auto it = model.begin();
            std::advance(it, std::ptrdiff_t(rng() % std::min<std::size_t>(model.size(), 64)));
            std::size_t i = it->second;
            model.erase(it);
            ASSERT_TRUE(h.wheel.remove(h.entries[i])) << "entry " << i;
            ASSERT_FALSE(h.wheel.remove(h.entries[i])) << "entry " << i;
            queued[i] = false;
            free_list.push_back(i);
        } else {
            // Advance: mostly small steps, sometimes large, rarely very large.
            unsigned kind = unsigned(rng() % 100);
            std::uint64_t delta;
            if (kind < 70)
                delta = rng() % 70;
            else if (kind < 95)
                delta = rng() % 100'000;
            else
                delta = rng() % (std::uint64_t{1} << std::min(max_scale_bits, 40u));
            std::uint64_t prev_now = now;
            now += delta;
            auto fired = h.advance(now);
            // Expected: everything in the model with deadline <= now, in deadline order.
            std::vector<std::size_t> due;
            while (!model.empty() && model.begin()->first <= now) {
                due.push_back(model.begin()->second);
                model.erase(model.begin());
            }
            ASSERT_EQ(fired.size(), due.size()) << "at step " << step << " now " << now;
            std::vector<std::size_t> a = fired, b = due;
            std::sort(a.begin(), a.end());
            std::sort(b.begin(), b.end());
            ASSERT_EQ(a, b) << "wrong set of entries fired at step " << step;
            for (std::size_t k = 0; k < fired.size(); ++k) {
                std::size_t i = fired[k];
                ASSERT_EQ(h.fire_count[i], 1) << "entry " << i;
                ASSERT_GE(h.fired_at[i], deadline_of[i]) << "entry " << i << " fired early";
                ASSERT_GT(deadline_of[i], prev_now)
                    << "entry " << i << " should have fired at an earlier advance()";
                if (k) {
                    ASSERT_LE(deadline_of[fired[k - 1]], deadline_of[i]) << "firing order";
                }
                queued[i] = false;
                free_list.push_back(i);
                ++total_fired;
            }
            ASSERT_EQ(h.wheel.elapsed(), now);
        }
        ASSERT_EQ(h.wheel.size(), model.size()) << "at step " << step;
        if (!model.empty()) {
            auto next = h.wheel.next_expiration();
            ASSERT_TRUE(next.has_value());
            ASSERT_LE(*next, model.begin()->first) << "at step " << step;
            ASSERT_GT(*next, h.wheel.elapsed()) << "at step " << step;
        } else {
            ASSERT_FALSE(h.wheel.next_expiration().has_value());
        }
    }
    // Drain: everything left fires by the last deadline.
    std::uint64_t last = model.empty() ? now : model.rbegin()->first;
    auto fired = h.advance(last);
    EXPECT_EQ(fired.size(), model.size());
    for (std::size_t i : fired) EXPECT_GE(h.fired_at[i], deadline_of[i]);
    EXPECT_EQ(h.wheel.size(), 0u);
    EXPECT_GT(total_fired, 1000u) << "the model test exercised too little";
}

TEST(timer_wheel, randomized_operations_match_a_multimap_model_within_the_wheel_span) {
    for (std::uint32_t seed : {1u, 42u, 20240601u}) run_model(seed, 34, 60'000);
}

TEST(timer_wheel, randomized_operations_match_a_multimap_model_with_deadlines_beyond_the_span) {
    run_model(7u, 39, 30'000);
}

}  // namespace
