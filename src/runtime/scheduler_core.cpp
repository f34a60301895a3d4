#include "runtime/scheduler_core.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>

#include "corio/detail/context.hpp"
#include "corio/task.hpp"
#include "trace/diagnostics.hpp"
#include "trace/metrics_server.hpp"

namespace corio::detail {

scheduler_core::scheduler_core(runtime_options opts)
    : m_options(std::move(opts)),
      m_instrumented(m_options.poll_time_histogram || m_options.hooks.on_poll_begin ||
                     m_options.hooks.on_poll_end || m_options.hooks.on_complete),
      m_blocking(*this, std::max(1u, m_options.max_blocking_threads),
                 m_options.blocking_keep_alive) {}

scheduler_core::~scheduler_core() = default;

void scheduler_core::start_diagnostics() {
    if (!m_options.metrics_address.empty())
        m_metrics_server = std::make_unique<metrics_server>(*this, m_options.metrics_address);
    if (m_options.dump_signal) diagnostics::instance().install_signal(m_options.dump_signal);
    if (m_options.blocked_worker_threshold.count() > 0 || m_options.detect_deadlocks ||
        m_options.dump_signal) {
        diagnostics::instance().add(this);
        m_diagnostics = true;
    }
}

void scheduler_core::stop_diagnostics() noexcept {
    if (m_diagnostics) diagnostics::instance().remove(this);
    m_diagnostics = false;
    m_metrics_server.reset();
}

std::string scheduler_core::metrics_address() const {
    return m_metrics_server ? m_metrics_server->address() : std::string();
}

void scheduler_core::add_block_on_wait(block_on_wait* w) {
    std::lock_guard lock(m_block_on_mutex);
    w->next = m_block_on_waits;
    m_block_on_waits = w;
}

void scheduler_core::remove_block_on_wait(block_on_wait* w) noexcept {
    std::lock_guard lock(m_block_on_mutex);
    for (block_on_wait** p = &m_block_on_waits; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            return;
        }
    }
}

bool scheduler_core::has_block_on_waits() const noexcept {
    std::lock_guard lock(m_block_on_mutex);
    return m_block_on_waits != nullptr;
}

bool scheduler_core::deliver_deadlock(const deadlock_report& report) {
    std::lock_guard lock(m_block_on_mutex);
    for (block_on_wait* w = m_block_on_waits; w; w = w->next) {
        w->deadlock = report;
        w->waiter->notify();
    }
    return m_block_on_waits != nullptr;
}

void scheduler_core::adopt(task_header* t, std::coroutine_handle<> coro, std::string_view name,
                           const std::source_location& where, bool blocking) {
    if (coro.address() != t->frame().address()) {
        std::fprintf(stderr,
                     "corio: coroutine frame layout not supported by this compiler "
                     "(promise not %zu bytes into the frame)\n",
                     kPromiseOffset);
        std::abort();
    }
    t->owner = this;
    t->set_id(m_next_id.fetch_add(1, std::memory_order_relaxed));
    t->spawned_at = where;
    t->flags = task_flag::root;
    t->frame_tag = blocking ? kFrameTagBlocking : kFrameTag;
    t->link.store(0, std::memory_order_relaxed);
    t->state.store(task_state::scheduled | 2 * task_state::ref_one, std::memory_order_relaxed);
    if (!name.empty()) {
        m_registry.set_name(t, name);
        t->flags |= task_flag::named;
    }
#if CORIO_TRACE
    m_registry.add(t);
#endif
    if (m_options.hooks.on_spawn) m_options.hooks.on_spawn(t->id(), location_of(where));
}

void scheduler_core::destroy(task_header* t) noexcept {
    report_unobserved_exception(t);
#if CORIO_TRACE
    m_registry.remove(t);
#endif
    if (t->flags & task_flag::named) m_registry.erase_name(t);
    t->frame().destroy();
}

// A task whose exception nobody will ever see (its handle was dropped): say so on stderr,
// as tokio's default panic hook does, rather than lose it. Cancellation is not reported.
void scheduler_core::report_unobserved_exception(task_header* t) noexcept {
    auto& ex = static_cast<task_promise_base*>(t)->exception;
    if (!ex || (t->state.load(std::memory_order_acquire) & task_state::observed)) return;
    try {
        std::rethrow_exception(ex);
    } catch (const cancelled_error&) {
        return;
    } catch (const std::exception& e) {
        std::fprintf(
            stderr,
            "corio: task %llu (spawned at %s:%u) ended with an exception nobody joined: %s\n",
            static_cast<unsigned long long>(t->id()), t->spawned_at.file_name(),
            unsigned(t->spawned_at.line()), e.what());
    } catch (...) {
        std::fprintf(
            stderr,
            "corio: task %llu (spawned at %s:%u) ended with a non-std exception nobody joined\n",
            static_cast<unsigned long long>(t->id()), t->spawned_at.file_name(),
            unsigned(t->spawned_at.line()));
    }
}

void scheduler_core::shutdown() noexcept {
    if (m_shut_down) return;
    m_shut_down = true;
    stop_diagnostics();
    stop_threads();
    if (m_options.report_leaked_tasks) {
        std::string leaks = leak_report();
        if (!leaks.empty()) std::fprintf(stderr, "%s", leaks.c_str());
    }
    m_blocking.shutdown();
    cancel_all_tasks();
}

// Frames still alive now are finished tasks held by join handles (shutdown rule 4). They
// leave the registry and their owner: a handle destroyed after the runtime frees the frame
// on its own (release_task sees no owner).
void scheduler_core::orphan_remaining_tasks() noexcept {
    for (task_header* t : m_registry.snapshot()) {
        t->state.fetch_add(task_state::ref_one, std::memory_order_acq_rel);
        m_registry.remove(t);
        if (t->flags & task_flag::named) m_registry.erase_name(t);
        t->owner = nullptr;
        release_task(t);  // publishes owner == nullptr to whoever drops the last reference
    }
}

void scheduler_core::cancel_all_tasks() noexcept {
    context saved = tls_context;
    tls_context = context{};
    tls_context.scheduler = this;
    tls_context.runs_tasks = true;  // block_on from here is refused; wakes go to injection

    std::deque<task_header*> ready;
    auto refill = [&] {
        while (task_header* t = take_queued()) ready.push_back(t);
    };
    // Bounds a task that keeps catching cancellation and yielding: picked, generous.
    constexpr std::size_t kMaxPollsPerRound = 1'000'000;
    auto drain = [&] {
        refill();
        for (std::size_t polls = 0; !ready.empty() && polls < kMaxPollsPerRound; ++polls) {
            task_header* t = ready.front();
            ready.pop_front();
            if (poll_task(t) == poll_outcome::requeue) ready.push_back(t);
            refill();
        }
    };

    constexpr int kMaxRounds =
        8;  // a cancelled task may spawn new ones; they are cancelled next round
    bool stuck = false;
    for (int round = 0; round < kMaxRounds; ++round) {
        // Mark every task cancelled before polling any: a task that never started must not
        // start now (it completes as cancelled without entering its body).
        m_registry.for_each([](task_header* t) {
            t->state.fetch_or(task_state::cancelled, std::memory_order_acq_rel);
        });
        drain();
        std::vector<task_header*> tasks = m_registry.snapshot();
        for (task_header* t : tasks)
            t->state.fetch_add(task_state::ref_one, std::memory_order_relaxed);
        std::sort(tasks.begin(), tasks.end(),
                  [](task_header* a, task_header* b) { return a->id() > b->id(); });
        bool live = false;
        for (task_header* t : tasks) {
            if (t->state.load(std::memory_order_acquire) & task_state::complete) continue;
            live = true;
            abort_task(t);
            drain();
        }
        stuck = false;
        for (task_header* t : tasks) {
            if (!(t->state.load(std::memory_order_acquire) & task_state::complete)) stuck = true;
            release_task(t);
        }
        if (!live) break;
    }
    orphan_remaining_tasks();
    if (stuck || !ready.empty()) {
        std::fprintf(stderr,
                     "corio: runtime shutdown: some tasks did not finish after cancellation "
                     "(they catch corio::cancelled_error and keep running); their frames are "
                     "leaked\n");
    }
    tls_context = saved;
}

}  // namespace corio::detail
