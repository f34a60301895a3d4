#include "runtime/multi_thread_scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <string>

#include <pthread.h>

#include "corio/detail/context.hpp"
#include "corio/detail/fence.hpp"
#include "corio/detail/wait_slot.hpp"

namespace corio::detail {

namespace {

// At most this many polls in a row from the LIFO slot before the local queue gets a turn:
// tokio's MAX_LIFO_POLLS_PER_TICK (PR #5712).
constexpr unsigned kMaxLifoPolls = 3;

// How long an idle worker spins looking for work before it parks. Waking a parked thread
// on the other core costs 50-90 µs on these machines (FLOORS.md item 5); a 20 µs spin
// brought a cross-core round trip to 166 ns there.
constexpr auto kSpin = std::chrono::microseconds(20);

// Most tasks a worker takes from the injection queue at once (half a local queue).
constexpr std::size_t kInjectBatch = local_queue::kCapacity / 2;

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

std::uint64_t xorshift(std::uint64_t& s) noexcept {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

}  // namespace

multi_thread_scheduler::multi_thread_scheduler(runtime_options opts)
    : scheduler_core(std::move(opts)) {
    unsigned n = options().workers;
    if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
    m_workers.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
        auto w = std::make_unique<worker>();
        w->index = i;
        w->rng = 0x9E3779B97F4A7C15ull * (i + 1) ^ options().shuffle_seed;
        m_workers.push_back(std::move(w));
    }
    m_sleepers.reserve(n);
    // Before the workers start: if it throws (the metrics address is in use), there is no
    // thread to stop.
    start_diagnostics();
    for (auto& w : m_workers) w->thread = std::thread([this, p = w.get()] { run(*p); });
}

multi_thread_scheduler::~multi_thread_scheduler() {
    shutdown();
}

void multi_thread_scheduler::schedule(task_header* t, bool lifo) noexcept {
    context& cx = tls_context;
    if (cx.scheduler == this && cx.worker) {
        worker& w = *static_cast<worker*>(cx.worker);
        if (lifo && !options().shuffle_seed) {
            task_header* prev = w.lifo;
            w.lifo = t;
            if (!prev) return;  // runs next here; nothing for others to pick up
            t = prev;
        }
        w.queue.push_back(t, m_inject);
    } else {
        m_inject.push(t);
    }
    notify_parked();
}

void multi_thread_scheduler::block_on(task_header* t) {
    thread_waiter waiter;
    wait_slot_ref slot(t->join_slot());
    bool armed = slot.arm(&waiter);
    block_on_wait deadlock_watch;
    deadlock_watch.waiter = &waiter;
    add_block_on_wait(&deadlock_watch);
    schedule(t, false);
    if (armed) waiter.wait();
    remove_block_on_wait(&deadlock_watch);
    // Woken by the diagnostics thread rather than by the task: withdraw from the task (it
    // stays parked; shutdown cancels it) and report. If it finished meanwhile, it wins.
    if (deadlock_watch.deadlock && !slot.disarm()) {
        release_task(t);
        throw deadlock_error(deadlock_watch.deadlock->cycle, deadlock_watch.deadlock->dump);
    }
}

bool multi_thread_scheduler::quiescent() const noexcept {
    if (m_idle.load(std::memory_order_acquire) != m_workers.size() || !m_inject.empty())
        return false;
    for (auto& w : m_workers)
        if (!w->queue.empty()) return false;
    return true;
}

void multi_thread_scheduler::run(worker& w) noexcept {
    std::string name = options().thread_name + "-" + std::to_string(w.index);
    if (name.size() > 15) name.resize(15);  // the kernel's limit for thread names
    pthread_setname_np(pthread_self(), name.c_str());
    tls_context = context{};
    tls_context.scheduler = this;
    tls_context.worker = &w;
    tls_context.runs_tasks = true;
    tls_context.stats = &w.stats;
    w.awake_since = std::chrono::steady_clock::now();

    while (!m_stopping.load(std::memory_order_relaxed)) {
        task_header* t = next_task(w);
        if (!t) t = steal(w);
        if (t) {
            if (w.searching.load(std::memory_order_relaxed)) transition_from_searching(w);
            run_task(w, t);
            continue;
        }
        maintenance(w);
        if (!w.queue.empty() || w.lifo) continue;  // the driver woke something here
        if (spin_for_work(w)) continue;
        park(w);
    }
    if (w.searching.load(std::memory_order_relaxed)) transition_from_searching(w);
    tls_context = context{};
}

task_header* multi_thread_scheduler::next_task(worker& w) noexcept {
    ++w.tick;
    if (w.tick % options().global_queue_interval == 0) {
        if (task_header* t = m_inject.pop()) return t;
    }
    if (w.lifo) {
        if (w.lifo_polls < kMaxLifoPolls) {
            ++w.lifo_polls;
            return std::exchange(w.lifo, nullptr);
        }
        w.queue.push_back(std::exchange(w.lifo, nullptr), m_inject);
    }
    w.lifo_polls = 0;
    if (task_header* t = w.queue.pop()) return t;
    return take_from_inject(w);
}

task_header* multi_thread_scheduler::take_from_inject(worker& w) noexcept {
    if (m_inject.empty()) return nullptr;
    std::size_t want = m_inject.size() / m_workers.size() + 1;
    task_header* first;
    std::size_t n = m_inject.pop_batch(std::min(want, kInjectBatch), first);
    if (n == 0) return nullptr;
    task_header* rest = first->queue_next;
    first->queue_next = nullptr;
    while (rest) {
        task_header* next = rest->queue_next;
        rest->queue_next = nullptr;
        w.queue.push_back(rest, m_inject);
        rest = next;
    }
    return first;
}

task_header* multi_thread_scheduler::steal(worker& w) noexcept {
    if (m_workers.size() > 1 && transition_to_searching(w)) {
        std::size_t n = m_workers.size();
        std::size_t start = std::size_t(xorshift(w.rng) % n);
        for (std::size_t i = 0; i < n; ++i) {
            worker& victim = *m_workers[(start + i) % n];
            if (&victim == &w) continue;
            std::uint32_t before = w.queue.size();
            if (task_header* t = victim.queue.steal_into(w.queue)) {
                poller_stats::add(w.stats.steals);
                poller_stats::add(w.stats.stolen_tasks, w.queue.size() - before + 1);
                return t;
            }
        }
    }
    return take_from_inject(w);
}

void multi_thread_scheduler::run_task(worker& w, task_header* t) noexcept {
    if (poll_task(t) == poll_outcome::requeue) w.queue.push_back(t, m_inject);
    if (w.tick % options().event_interval == 0) maintenance(w);
}

void multi_thread_scheduler::maintenance(worker& /*w*/) noexcept {
    if (!io().try_acquire()) return;
    io().turn(std::chrono::nanoseconds(0));
    io().release();
}

bool multi_thread_scheduler::has_work_anywhere() const noexcept {
    if (!m_inject.empty()) return true;
    for (auto& w : m_workers)
        if (!w->queue.empty()) return true;
    return false;
}

bool multi_thread_scheduler::spin_for_work(worker& w) noexcept {
    auto until = std::chrono::steady_clock::now() + kSpin;
    do {
        for (int i = 0; i < 64; ++i) cpu_relax();
        if (m_stopping.load(std::memory_order_relaxed)) return true;
        if (!m_inject.empty()) return true;
        if (m_workers.size() > 1) {
            for (auto& other : m_workers)
                if (other.get() != &w && !other->queue.empty()) return true;
        }
    } while (std::chrono::steady_clock::now() < until);
    return false;
}

bool multi_thread_scheduler::transition_to_searching(worker& w) noexcept {
    if (w.searching.load(std::memory_order_relaxed)) return true;
    // At most half the workers search at once (tokio idle.rs, Go proc.go).
    if (2 * m_searching.load(std::memory_order_seq_cst) >= m_workers.size()) return false;
    m_searching.fetch_add(1, std::memory_order_seq_cst);
    w.searching.store(true, std::memory_order_relaxed);
    return true;
}

void multi_thread_scheduler::transition_from_searching(worker& w) noexcept {
    w.searching.store(false, std::memory_order_relaxed);
    if (m_searching.fetch_sub(1, std::memory_order_seq_cst) == 1) notify_parked();
}

void multi_thread_scheduler::notify_parked() noexcept {
    full_fence();
    if (m_searching.load(std::memory_order_relaxed) != 0) return;
    if (m_idle.load(std::memory_order_relaxed) == 0) return;
    worker* w = nullptr;
    {
        std::lock_guard lock(m_sleepers_mutex);
        if (m_sleepers.empty()) return;
        w = m_sleepers.back();
        m_sleepers.pop_back();
        m_idle.fetch_sub(1, std::memory_order_seq_cst);
        m_searching.fetch_add(1, std::memory_order_seq_cst);
        w->searching.store(true, std::memory_order_relaxed);
    }
    unpark(*w);
}

void multi_thread_scheduler::unpark(worker& w) noexcept {
    w.wakeup.store(1, std::memory_order_release);
    if (tls_context.worker == &w) return;  // the driver on this very worker woke a task
    if (w.on_driver.load(std::memory_order_acquire))
        io().wake();
    else
        w.wakeup.notify_one();
}

bool multi_thread_scheduler::try_unregister_sleeper(worker& w) noexcept {
    std::lock_guard lock(m_sleepers_mutex);
    auto it = std::find(m_sleepers.begin(), m_sleepers.end(), &w);
    if (it == m_sleepers.end()) return false;  // someone is unparking us
    m_sleepers.erase(it);
    m_idle.fetch_sub(1, std::memory_order_seq_cst);
    return true;
}

void multi_thread_scheduler::park(worker& w) noexcept {
    if (w.searching.exchange(false, std::memory_order_relaxed))
        m_searching.fetch_sub(1, std::memory_order_seq_cst);
    {
        std::lock_guard lock(m_sleepers_mutex);
        m_sleepers.push_back(&w);
        m_idle.fetch_add(1, std::memory_order_seq_cst);
    }
    full_fence();
    if (has_work_anywhere() || m_stopping.load(std::memory_order_relaxed)) {
        if (try_unregister_sleeper(w)) return;
        // An unpark is on its way: take it, then carry on as a searcher.
    }
    sleep_until_unparked(w);
}

void multi_thread_scheduler::sleep_until_unparked(worker& w) noexcept {
    auto now = std::chrono::steady_clock::now();
    poller_stats::add(
        w.stats.busy_ns,
        std::uint64_t(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - w.awake_since).count()));
    poller_stats::add(w.stats.parks);
    struct wake_clock {
        worker& w;
        ~wake_clock() { w.awake_since = std::chrono::steady_clock::now(); }
    } stamp{w};
    if (io().try_acquire()) {
        w.on_driver.store(true, std::memory_order_seq_cst);
        while (w.wakeup.load(std::memory_order_acquire) == 0 &&
               !m_stopping.load(std::memory_order_relaxed)) {
            io().turn(std::nullopt);
            if ((!w.queue.empty() || w.lifo) && w.wakeup.load(std::memory_order_acquire) == 0) {
                // Timers or I/O woke tasks into this worker's queue: unpark ourselves.
                if (try_unregister_sleeper(w)) break;
            }
        }
        w.on_driver.store(false, std::memory_order_seq_cst);
        io().release();
        if (w.wakeup.load(std::memory_order_acquire) == 0 && !m_stopping.load()) return;
    } else {
        while (w.wakeup.load(std::memory_order_acquire) == 0) {
            if (m_stopping.load(std::memory_order_relaxed)) return;
            w.wakeup.wait(0, std::memory_order_acquire);
        }
    }
    w.wakeup.store(0, std::memory_order_relaxed);
}

void multi_thread_scheduler::stop_threads() noexcept {
    m_stopping.store(true, std::memory_order_seq_cst);
    for (auto& w : m_workers) {
        w->wakeup.store(1, std::memory_order_release);
        w->wakeup.notify_one();
    }
    io().wake();
    for (auto& w : m_workers)
        if (w->thread.joinable()) w->thread.join();
}

task_header* multi_thread_scheduler::take_queued() noexcept {
    for (auto& w : m_workers) {
        if (w->lifo) return std::exchange(w->lifo, nullptr);
        if (task_header* t = w->queue.pop()) return t;
    }
    return m_inject.pop();
}

}  // namespace corio::detail
