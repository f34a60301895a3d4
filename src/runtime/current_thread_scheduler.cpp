#include "runtime/current_thread_scheduler.hpp"

#include <stdexcept>

#include "corio/detail/context.hpp"

namespace corio::detail {

current_thread_scheduler::current_thread_scheduler(runtime_options opts)
    : scheduler_core(std::move(opts)), m_shuffle(options().shuffle_seed) {}

current_thread_scheduler::~current_thread_scheduler() { shutdown(); }

bool current_thread_scheduler::on_driving_thread() const noexcept {
    return tls_context.scheduler == this && tls_context.worker == this;
}

void current_thread_scheduler::schedule(task_header* t, bool /*lifo*/) noexcept {
    if (on_driving_thread()) {
        try {
            m_queue.push_back(t);
            if (m_shuffle) {
                m_shuffle ^= m_shuffle << 13;
                m_shuffle ^= m_shuffle >> 7;
                m_shuffle ^= m_shuffle << 17;
                m_queue.swap_newest(m_shuffle);
            }
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
            if (poll_task(t) == poll_outcome::requeue) schedule(t, false);  // shuffled too
            if (tick % event_interval == 0) io().turn(std::chrono::nanoseconds(0));
            continue;
        }
        io().turn(std::nullopt);  // nothing to run: wait for I/O, a timer or a remote wake
    }
    tls_context = saved;
    m_driving.store(false, std::memory_order_release);
}

task_header* current_thread_scheduler::take_queued() noexcept {
    if (task_header* t = m_queue.pop_front()) return t;
    return m_inject.pop();
}

}  // namespace corio::detail
