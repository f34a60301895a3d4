#include "task/registry.hpp"

#include <mutex>

namespace corio::detail {

void task_registry::add(task_header* t) noexcept {
    shard& s = shard_of(t);
    std::lock_guard<spinlock> lock(s.lock);
    t->reg_prev = nullptr;
    t->reg_next = s.head;
    if (s.head) s.head->reg_prev = t;
    s.head = t;
    ++s.count;
}

void task_registry::remove(task_header* t) noexcept {
    shard& s = shard_of(t);
    std::lock_guard<spinlock> lock(s.lock);
    if (t->reg_prev)
        t->reg_prev->reg_next = t->reg_next;
    else
        s.head = t->reg_next;
    if (t->reg_next) t->reg_next->reg_prev = t->reg_prev;
    t->reg_prev = t->reg_next = nullptr;
    --s.count;
}

std::size_t task_registry::size() const noexcept {
    std::size_t n = 0;
    for (auto& s : m_shards) {
        auto& lock = const_cast<spinlock&>(s.lock);
        std::lock_guard<spinlock> guard(lock);
        n += s.count;
    }
    return n;
}

void task_registry::set_name(task_header* t, std::string_view name) {
    shard& s = shard_of(t);
    std::lock_guard<spinlock> lock(s.lock);
    s.names.insert_or_assign(t, std::string(name));
}

void task_registry::erase_name(task_header* t) noexcept {
    shard& s = shard_of(t);
    std::lock_guard<spinlock> lock(s.lock);
    s.names.erase(t);
}

std::string task_registry::name_of(const task_header* t) const {
    const shard& s = shard_of(t);
    std::lock_guard<spinlock> lock(const_cast<spinlock&>(s.lock));
    auto it = s.names.find(t);
    return it == s.names.end() ? std::string() : it->second;
}

std::vector<task_header*> task_registry::snapshot() {
    std::vector<task_header*> out;
    for_each([&](task_header* t) { out.push_back(t); });
    return out;
}

}  // namespace corio::detail
