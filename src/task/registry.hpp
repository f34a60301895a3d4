// The live tasks of one runtime: for task dumps, metrics and shutdown.
//
// Sharded intrusive lists (through task_header::reg_prev/reg_next), a spinlock per shard.
// A task is linked at spawn and unlinked when its frame is destroyed, on whatever thread.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "corio/detail/spinlock.hpp"
#include "corio/detail/task_header.hpp"

namespace corio::detail {

class task_registry {
public:
    // 16 shards: picked so two to a few dozen workers rarely meet on one lock.
    static constexpr std::size_t kShards = 16;

    void add(task_header* t) noexcept;
    void remove(task_header* t) noexcept;
    std::size_t size() const noexcept;

    // Calls f(task_header*) for each live task, one shard locked at a time.
    template <class F>
    void for_each(F&& f) {
        for (auto& s : m_shards) {
            std::lock_guard<spinlock> lock(s.lock);
            for (task_header* t = s.head; t; t = t->reg_next) f(t);
        }
    }

    // Calls f(task_header*, const std::string* name_or_null) for each live task, one shard
    // locked at a time (so no task of that shard can be destroyed meanwhile).
    template <class F>
    void for_each_named(F&& f) {
        for (auto& s : m_shards) {
            std::lock_guard<spinlock> lock(s.lock);
            for (task_header* t = s.head; t; t = t->reg_next) {
                const std::string* name = nullptr;
                if (auto it = s.names.find(t); it != s.names.end()) name = &it->second;
                f(t, name);
            }
        }
    }

    // Snapshot of live tasks (for shutdown, which must not hold a shard lock while tasks run).
    std::vector<task_header*> snapshot();

    // Names are rare: they live here, keyed by task, rather than in every task's header.
    void set_name(task_header* t, std::string_view name);
    void erase_name(task_header* t) noexcept;
    std::string name_of(const task_header* t) const;

private:
    struct alignas(64) shard {
        spinlock lock;
        task_header* head = nullptr;
        std::size_t count = 0;
        std::unordered_map<const task_header*, std::string> names;
    };
    // By address, not by id: a thread's frames come from its own slabs, so the task linked
    // before this one is usually that thread's previous spawn, still in its cache. Sharding
    // by id made each spawn write the header of a task another worker had just run: a
    // cross-core miss per spawn (+100 ns/task in W2 when the two cores share no cache).
    static std::size_t shard_index(const task_header* t) noexcept {
        return (reinterpret_cast<std::uintptr_t>(t) >> 16) % kShards;
    }
    shard& shard_of(const task_header* t) noexcept { return m_shards[shard_index(t)]; }
    const shard& shard_of(const task_header* t) const noexcept { return m_shards[shard_index(t)]; }

    std::array<shard, kShards> m_shards;
};

}  // namespace corio::detail
