// The task state machine: wake, poll, complete, release. See task_header.hpp for the rules.
#include "corio/detail/task_header.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "corio/detail/context.hpp"
#include "corio/detail/wait_info.hpp"
#include "corio/join_handle.hpp"
#include "corio/runtime.hpp"
#include "corio/task.hpp"
#include "runtime/scheduler_core.hpp"

namespace corio::detail {

namespace {

void wake_impl(task_header* t, bool lifo) noexcept {
    using namespace task_state;
    std::uint64_t s = t->state.load(std::memory_order_relaxed);
    for (;;) {
        if (s & complete) return;
        std::uint64_t next;
        if (s & running)
            next = s | notified;
        else if (s & scheduled)
            next = s;  // already queued; the RMW still orders our writes before its poll
        else
            next = s | scheduled;
        if (t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                           std::memory_order_relaxed)) {
            if (!(s & (running | scheduled))) t->owner->schedule(t, lifo);
            return;
        }
    }
}

void run_coroutine(std::coroutine_handle<> h) noexcept {
    h.resume();
    // Trampoline for builds where symmetric transfer is not a guaranteed tail call.
    while (tls_context.next) {
        std::coroutine_handle<> next = std::exchange(tls_context.next, {});
        next.resume();
    }
}

}  // namespace

void wake(task_header* t) noexcept {
    wake_impl(t, false);
}
void wake_lifo(task_header* t) noexcept {
    wake_impl(t, true);
}

void release_task(task_header* t) noexcept {
    using namespace task_state;
    std::uint64_t prev = t->state.fetch_sub(ref_one, std::memory_order_acq_rel);
    if ((prev & ~flags_mask) != ref_one) return;
    if (t->owner)
        t->owner->destroy(t);
    else
        t->frame().destroy();  // orphaned by a runtime that is gone (shutdown rule 4)
}

void abort_task(task_header* t) noexcept {
    std::uint64_t prev = t->state.fetch_or(task_state::cancelled, std::memory_order_acq_rel);
    if (!(prev & task_state::complete)) wake(t);
}

void complete_root(task_header& t) noexcept {
    if (t.owner->instrumented()) t.owner->on_complete(t);
    t.flags |= task_flag::finished;
    t.state.fetch_or(task_state::complete, std::memory_order_acq_rel);
    wait_slot_ref(t.join_slot()).fire(/*lifo=*/true);
}

poll_outcome poll_task(task_header* t) noexcept {
    using namespace task_state;
    std::uint64_t s;
    if (t->flags & task_flag::yielded) {
        t->flags &= std::uint8_t(~task_flag::yielded);  // still RUNNING from the last poll
        s = t->state.load(std::memory_order_acquire);
    } else {
        // SCHEDULED -> RUNNING, waiting out a dump that is reading the parked task (rule 8).
        s = t->state.load(std::memory_order_relaxed);
        for (;;) {
            if (s & inspecting) {
                std::this_thread::yield();
                s = t->state.load(std::memory_order_relaxed);
                continue;
            }
            if (t->state.compare_exchange_weak(s, s - scheduled + running,
                                               std::memory_order_acq_rel,
                                               std::memory_order_relaxed)) {
                s = s - scheduled + running;
                break;
            }
        }
    }

    context& cx = tls_context;
    task_header* outer = cx.current;
    cx.current = t;
    cx.budget = kPollBudget;
    poller_stats* stats = cx.stats;
    if (stats) {
        poller_stats::add(stats->polls);
        stats->current.store(t, std::memory_order_relaxed);
    }
    scheduler_core* owner = t->owner;
    const bool instrumented = owner->instrumented();
    std::chrono::steady_clock::time_point started_at{};
    if (instrumented) started_at = owner->on_poll_begin(t);

    std::coroutine_handle<> to_resume{};
    if (!(t->flags & task_flag::started)) {
        t->flags |= task_flag::started;
        if (s & cancelled) {  // aborted before it ever ran: the body never starts
            static_cast<task_promise_base*>(t)->exception =
                std::make_exception_ptr(cancelled_error());
            complete_root(*t);
        } else {
            to_resume = t->frame();
        }
    } else if (t->awaiting && t->awaiting->poll(*t->awaiting, *t, await_op::poll)) {
        t->awaiting = nullptr;
        to_resume = t->resume_at;
    }
    if (to_resume) run_coroutine(to_resume);
    cx.current = outer;
    if (stats) stats->current.store(nullptr, std::memory_order_relaxed);
    if (instrumented) owner->on_poll_end(t, started_at, stats);

    if (t->flags & task_flag::finished) {
        release_task(t);  // the scheduler's lifecycle reference
        return poll_outcome::completed;
    }
    if (t->flags & task_flag::yielded) return poll_outcome::requeue;

    s = t->state.load(std::memory_order_relaxed);
    for (;;) {
        std::uint64_t next =
            (s & notified) ? ((s & ~(running | notified)) | scheduled) : (s & ~running);
        if (t->state.compare_exchange_weak(s, next, std::memory_order_acq_rel,
                                           std::memory_order_relaxed))
            return (next & scheduled) ? poll_outcome::requeue : poll_outcome::parked;
    }
}

bool join_await::poll_join(await_point& ap, task_header& self, await_op op) noexcept {
    auto& j = static_cast<join_await&>(ap);
    if (op == await_op::inspect) {
        wait_info& w = *tls_wait_info;
        w.object = j.target;
        if (j.target->is_blocking_job()) {
            w.kind = wait_kind::blocking;
            w.external = true;  // a running job finishes on its own
            w.describe("join spawn_blocking job (task %llu)",
                       static_cast<unsigned long long>(j.target->id()));
        } else {
            w.kind = wait_kind::join;
            w.add_holder(j.target->id());
            w.holders_known = true;
            w.describe("join task %llu", static_cast<unsigned long long>(j.target->id()));
        }
        return false;
    }
    wait_slot_ref slot(j.target->join_slot());
    if (op == await_op::cancel) {
        slot.disarm();  // the result stays in the task, for a later await of the handle
        j.cancelled = true;
        return true;
    }
    // The yield path never armed: the task had finished, though its completing worker may
    // not have fired the slot yet. Waiting for that fire would park with nobody to wake us.
    if (!j.armed) return true;
    if (slot.fired()) return true;
    if (!j.shielded && self.is_cancelled()) {
        if (!slot.disarm()) j.cancelled = true;  // withdrawn before the task finished
        return true;
    }
    return false;
}

scheduler_core* current_scheduler_or_throw(const char* what) {
    if (tls_context.scheduler) return tls_context.scheduler;
    throw std::logic_error(std::string(what) +
                           " called outside a corio runtime (use runtime::spawn or a "
                           "runtime_handle from other threads)");
}

task_header* spawn_root(scheduler_core* core, task_header* t, std::coroutine_handle<> coro,
                        std::string_view name, const std::source_location& where) {
    core->adopt(t, coro, name, where, /*blocking=*/false);
    core->schedule(t, /*lifo=*/false);
    return t;
}

void block_on_root(scheduler_core* core, task_header* t, std::coroutine_handle<> coro,
                   const std::source_location& where) {
    if (tls_context.runs_tasks) {
        coro.destroy();
        throw std::logic_error(
            "corio: block_on called from a thread that is running tasks (a worker, or inside "
            "another block_on): it would block the thread the task needs; co_await it instead");
    }
    core->adopt(t, coro, "block_on", where, /*blocking=*/false);
    core->block_on(t);
}

}  // namespace corio::detail
