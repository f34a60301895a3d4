// Per-thread size-class recycler for coroutine frames. See frame_allocator.hpp.
//
// Rules:
//  1. A thread allocates from and frees into its own cache only; no atomics on that path.
//  2. When a class list exceeds kMaxCached, kBatch objects move to the depot (one lock).
//  3. An empty list refills with one batch from the depot, else carves a fresh slab.
//  4. Slabs are never returned to the OS; they stay reachable from the depot's slab list.
//  5. A thread's cache is flushed to the depot when the thread exits.
#include "corio/detail/frame_allocator.hpp"

#include <array>
#include <cstdlib>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define CORIO_FRAME_PASSTHROUGH 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CORIO_FRAME_PASSTHROUGH 1
#endif
#endif

namespace corio::detail {
namespace {

constexpr std::size_t kGranule = 16;
constexpr std::size_t kClasses = 64;  // classes up to 1 KiB; larger → operator new
constexpr std::size_t kMaxSize = kGranule * kClasses;
constexpr std::size_t kSlabSize = 64 * 1024;  // picked: 1 mmap-free malloc per ~400 frames
constexpr std::size_t kBatch = 64;            // picked; tcmalloc moves similar batches
constexpr std::size_t kMaxCached = 4 * kBatch;

struct free_node {
    free_node* next;
};

struct batch {
    free_node* head;
    std::size_t count;
};

class depot {
public:
    static depot& instance() {
        static depot* d = new depot;  // never destroyed: thread caches flush into it at exit
        return *d;
    }
    bool take(std::size_t cls, batch& out) {
        std::lock_guard lock(m_mutex);
        auto& v = m_batches[cls];
        if (v.empty()) return false;
        out = v.back();
        v.pop_back();
        return true;
    }
    void give(std::size_t cls, batch b) {
        std::lock_guard lock(m_mutex);
        m_batches[cls].push_back(b);
    }
    void* new_slab() {
        void* p = std::malloc(kSlabSize);
        if (!p) throw std::bad_alloc();
        std::lock_guard lock(m_mutex);
        m_slabs.push_back(p);
        return p;
    }

private:
    std::mutex m_mutex;
    std::array<std::vector<batch>, kClasses> m_batches;
    std::vector<void*> m_slabs;
};

class thread_cache {
public:
    ~thread_cache() {
        for (std::size_t c = 0; c < kClasses; ++c)
            if (m_lists[c].count) depot::instance().give(c, m_lists[c]);
        // The unused tail of m_slab is abandoned: at most 64 KiB per exited thread.
    }
    void* allocate(std::size_t cls) {
        batch& l = m_lists[cls];
        if (!l.head && !depot::instance().take(cls, l)) return carve(cls);
        free_node* n = l.head;
        l.head = n->next;
        --l.count;
        return n;
    }
    void deallocate(void* p, std::size_t cls) noexcept {
        batch& l = m_lists[cls];
        auto* n = static_cast<free_node*>(p);
        n->next = l.head;
        l.head = n;
        if (++l.count > kMaxCached) spill(cls);
    }

private:
    void* carve(std::size_t cls) {
        std::size_t size = (cls + 1) * kGranule;
        if (m_slab_left < size) {
            m_slab = static_cast<char*>(depot::instance().new_slab());
            m_slab_left = kSlabSize;
        }
        void* p = m_slab;
        m_slab += size;
        m_slab_left -= size;
        return p;
    }
    void spill(std::size_t cls) noexcept {
        batch& l = m_lists[cls];
        batch out{l.head, kBatch};
        free_node* last = l.head;
        for (std::size_t i = 1; i < kBatch; ++i) last = last->next;
        l.head = last->next;
        l.count -= kBatch;
        last->next = nullptr;
        try {
            depot::instance().give(cls, out);
        } catch (...) {
            // Out of memory for the depot's vector: keep the batch here rather than lose it.
            last->next = l.head;
            l.head = out.head;
            l.count += kBatch;
        }
    }

    std::array<batch, kClasses> m_lists{};
    char* m_slab = nullptr;
    std::size_t m_slab_left = 0;
};

thread_local thread_cache t_cache;

inline std::size_t class_of(std::size_t size) {
    return (size - 1) / kGranule;
}

}  // namespace

void* allocate_frame(std::size_t size) {
#ifdef CORIO_FRAME_PASSTHROUGH
    return ::operator new(size);
#else
    if (size > kMaxSize || size == 0) return ::operator new(size);
    return t_cache.allocate(class_of(size));
#endif
}

void deallocate_frame(void* p, std::size_t size) noexcept {
#ifdef CORIO_FRAME_PASSTHROUGH
    ::operator delete(p, size);
#else
    if (size > kMaxSize || size == 0) return ::operator delete(p, size);
    t_cache.deallocate(p, class_of(size));
#endif
}

}  // namespace corio::detail
