#include "runtime/blocking_pool.hpp"

#include <system_error>

#include <pthread.h>

#include "corio/detail/context.hpp"
#include "corio/task.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio::detail {

namespace {

// Completes a job that will never run: as cancelled, or with the error that stopped it.
void complete_without_running(task_header* t, std::exception_ptr error) noexcept {
    if (error) {
        t->flags |= task_flag::started;
        static_cast<task_promise_base*>(t)->exception = error;
        t->state.fetch_add(task_state::running - task_state::scheduled, std::memory_order_acq_rel);
        complete_root(*t);
        release_task(t);
        return;
    }
    t->state.fetch_or(task_state::cancelled, std::memory_order_acq_rel);
    poll_task(t);  // not started and cancelled: completes without entering the body
}

}  // namespace

blocking_pool::blocking_pool(scheduler_core& owner, std::size_t max_threads,
                             std::chrono::milliseconds keep_alive)
    : m_owner(owner), m_max_threads(max_threads), m_keep_alive(keep_alive) {}

blocking_pool::~blocking_pool() {
    shutdown();
}

void blocking_pool::submit(task_header* t) noexcept {
    std::unique_lock lock(m_mutex);
    if (m_shutdown) {
        lock.unlock();
        complete_without_running(t, nullptr);
        return;
    }
    m_queue.push_back(t);
    if (m_idle > m_notified) {
        ++m_notified;
        m_cv.notify_one();
        return;
    }
    if (m_live >= m_max_threads) return;  // queued until a thread is free
    ++m_live;
    try {
        std::thread(&blocking_pool::thread_main, this).detach();
    } catch (const std::system_error&) {
        --m_live;
        if (m_live == 0) {  // nobody will ever run it: fail the job rather than hang its joiner
            m_queue.pop_back();
            lock.unlock();
            complete_without_running(t, std::current_exception());
        }
    }
}

void blocking_pool::thread_main() noexcept {
    pthread_setname_np(pthread_self(), "corio-blocking");
    tls_context = context{};
    tls_context.scheduler = &m_owner;
    std::unique_lock lock(m_mutex);
    for (;;) {
        while (!m_queue.empty()) {
            task_header* t = m_queue.front();
            m_queue.pop_front();
            lock.unlock();
            poll_task(t);
            lock.lock();
        }
        if (m_shutdown) break;
        ++m_idle;
        bool woken =
            m_cv.wait_for(lock, m_keep_alive, [&] { return m_notified > 0 || m_shutdown; });
        --m_idle;
        if (woken && m_notified > 0) --m_notified;
        if (!woken && m_queue.empty()) break;  // idle for keep_alive: exit
    }
    --m_live;
    // Notify under the lock: once it is released this thread touches the pool no more.
    m_cv.notify_all();
}

void blocking_pool::shutdown() noexcept {
    std::deque<task_header*> pending;
    {
        std::unique_lock lock(m_mutex);
        if (m_shutdown && m_live == 0 && m_queue.empty()) return;
        m_shutdown = true;
        pending.swap(m_queue);
        m_cv.notify_all();
        m_cv.wait(lock, [&] { return m_live == 0; });
    }
    for (task_header* t : pending) complete_without_running(t, nullptr);
}

std::size_t blocking_pool::threads() const noexcept {
    std::lock_guard lock(m_mutex);
    return m_live;
}
std::size_t blocking_pool::idle_threads() const noexcept {
    std::lock_guard lock(m_mutex);
    return m_idle;
}
std::size_t blocking_pool::queued() const noexcept {
    std::lock_guard lock(m_mutex);
    return m_queue.size();
}

}  // namespace corio::detail

namespace corio::detail {

task_header* spawn_blocking_root(scheduler_core* core, task_header* t, std::coroutine_handle<> coro,
                                 const std::source_location& where) {
    core->adopt(t, coro, "spawn_blocking", where, /*blocking=*/true);
    core->blocking().submit(t);
    return t;
}

}  // namespace corio::detail
