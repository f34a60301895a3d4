#include "corio/detail/io_await.hpp"

#include "corio/detail/wait_info.hpp"

namespace corio::detail {

bool io_await::try_once() noexcept {
    const std::uint32_t mask = io_registration::mask(dir);
    for (;;) {
        std::uint32_t observed = reg->state.load(std::memory_order_acquire);
        if (!(observed & mask)) return false;
        std::ptrdiff_t r = attempt(*this);
        if (r == -EAGAIN || r == -EWOULDBLOCK) {
            reg->clear(observed,
                       dir == io_direction::read ? readiness::readable : readiness::writable);
            continue;  // an edge may have arrived during the syscall: look again
        }
        if (r == -EINTR) continue;
        if (r > 0 && std::size_t(r) < want) reg->clear(observed, readiness::readable);
        result = r;
        return true;
    }
}

bool io_await::ready() noexcept {
    if (cancel_requested()) {
        cancelled = true;
        return true;
    }
    if (!consume_budget()) return false;  // suspend() yields first
    return try_once();
}

// Arms the slot, then re-checks readiness, so an edge between the attempt and the arm is
// never missed (wait_slot.hpp rule 3). Returns true when parked, false when completed.
static bool arm_or_complete(io_await& a, task_header* t, bool (*try_once)(io_await&)) noexcept {
    wait_slot& slot = a.reg->slot(a.dir);
    const std::uint32_t mask = io_registration::mask(a.dir);
    for (;;) {
        slot.reset();
        slot.arm(t);
        if (!(a.reg->state.load(std::memory_order_seq_cst) & mask)) return true;
        slot.disarm();
        slot.reset();
        if (try_once(a)) return false;
    }
}

bool io_await::suspend(std::coroutine_handle<> h) noexcept {
    poll = &on_poll;
    task_header* t = current_task();
    if (tls_context.budget <= 0) {  // out of budget: yield; on_poll does the work
        park_yield(*this, h);
        return true;
    }
    if (!arm_or_complete(*this, t, [](io_await& a) { return a.try_once(); })) return false;
    park(*this, h);
    return true;
}

bool io_await::on_poll(await_point& ap, task_header& t, await_op op) noexcept {
    auto& self = static_cast<io_await&>(ap);
    if (op == await_op::inspect) {
        wait_info& w = *tls_wait_info;
        w.kind = wait_kind::io;
        w.external = true;
        w.object = self.reg;
        w.describe("%s fd %d", self.name, self.reg->fd);
        return false;
    }
    wait_slot& slot = self.reg->slot(self.dir);
    slot.disarm();  // woken (fired) or spurious (still armed): either way, withdraw
    slot.reset();
    if (op == await_op::cancel || t.is_cancelled()) {  // no syscall happened: nothing to give back
        self.cancelled = true;
        return true;
    }
    if (self.try_once()) return true;
    return !arm_or_complete(self, &t, [](io_await& a) { return a.try_once(); });
}

}  // namespace corio::detail
