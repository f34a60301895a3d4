#include "runtime/current_thread_scheduler.hpp"

#include <stdexcept>

#include "corio/detail/context.hpp"

namespace corio::detail {

current_thread_scheduler::current_thread_scheduler(runtime_options opts)
    : scheduler_core(std::move(opts)), m_shuffle(options().shuffle_seed) {
    start_diagnostics();
}

current_thread_scheduler::~current_thread_scheduler() {
    shutdown();
}

void current_thread_scheduler::push_local(task_header* t) {
    m_queue.push_back(t);
    if (m_shuffle) {
        m_shuffle ^= m_shuffle << 13;
        m_shuffle ^= m_shuffle >> 7;
        m_shuffle ^= m_shuffle << 17;
        m_queue.swap_newest(m_shuffle);
    }
}

void current_thread_scheduler::schedule(task_header* t, bool /*lifo*/) noexcept {
    if (on_driving_thread()) {
        try {
            push_local(t);
            return;
        } catch (...) {
            // Out of memory growing the ring: the intrusive injection queue cannot fail.
        }
    }
    m_inject.push(t);
    io().wake();
}

void current_thread_scheduler::drain_inject() noexcept {
    while (!m_inject.empty()) {
        task_header* t = m_inject.pop();
        if (!t) break;
        try {
            m_queue.push_back(t);
        } catch (...) {
            m_inject.push(t);
            break;
        }
    }
}

void current_thread_scheduler::block_on(task_header* root) {
    if (m_driving.exchange(true, std::memory_order_acq_rel)) {
        root->frame().destroy();
        throw std::logic_error(
            "corio: block_on is already running on this current-thread runtime in another "
            "thread");
    }
    context saved = tls_context;
    tls_context = context{};
    tls_context.scheduler = this;
    tls_context.worker = this;
    tls_context.runs_tasks = true;
    tls_context.stats = &m_stats;
    m_awake_since = std::chrono::steady_clock::now();
    struct restore_on_exit {
        current_thread_scheduler& self;
        context saved;
        ~restore_on_exit() {
            tls_context = saved;
            self.m_driving.store(false, std::memory_order_release);
        }
    } restore{*this, saved};

    const unsigned event_interval = options().event_interval;
    const unsigned inject_interval = options().global_queue_interval;
    unsigned tick = 0;
    schedule(root, false);
    while (!(root->state.load(std::memory_order_acquire) & task_state::complete)) {
        ++tick;
        if (tick % inject_interval == 0) drain_inject();
        task_header* t = m_queue.pop_front();
        if (!t) {
            drain_inject();
            t = m_queue.pop_front();
        }
        if (t) {
            if (poll_task(t) == poll_outcome::requeue) schedule(t, false);
            if (tick % event_interval == 0) {
                io().turn(std::chrono::nanoseconds(0));
                m_queue_size.store(m_queue.size(), std::memory_order_relaxed);
            }
            continue;
        }
        idle(root);
    }
}

void current_thread_scheduler::idle(task_header* root) {
    using namespace std::chrono;
    auto now = steady_clock::now();
    poller_stats::add(m_stats.busy_ns,
                      std::uint64_t(duration_cast<nanoseconds>(now - m_awake_since).count()));
    poller_stats::add(m_stats.parks);
    m_queue_size.store(0, std::memory_order_relaxed);
    const bool watch = options().detect_deadlocks && io().pending_timers() == 0;
    // Not watching: sleep until something happens. Watching: sleep at most the grace, then,
    // if nothing at all happened, look for a deadlock (a thread outside the runtime could
    // still wake us, which is what the grace is for).
    bool woke =
        io().turn(watch ? std::optional<nanoseconds>(options().deadlock_grace) : std::nullopt);
    m_awake_since = steady_clock::now();
    if (!watch || woke || !m_inject.empty() || !m_queue.empty() || io().pending_timers()) return;
    if (auto report = find_deadlock()) {
        release_task(root);
        throw deadlock_error(report->cycle, report->dump);
    }
}

task_header* current_thread_scheduler::take_queued() noexcept {
    if (task_header* t = m_queue.pop_front()) return t;
    return m_inject.pop();
}

}  // namespace corio::detail
