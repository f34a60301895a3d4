#include "driver/epoll_driver.hpp"

#include <cerrno>
#include <cstdint>
#include <system_error>

#include <sys/eventfd.h>
#include <unistd.h>

namespace corio::detail {
namespace {

[[noreturn]] void throw_errno(const char* what) {
    throw std::system_error(errno, std::system_category(), what);
}

}  // namespace

epoll_driver::epoll_driver() {
    m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
    if (m_epoll < 0) throw_errno("epoll_create1");
    m_eventfd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m_eventfd < 0) {
        int e = errno;
        ::close(m_epoll);
        throw std::system_error(e, std::system_category(), "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = nullptr;  // nullptr marks the eventfd
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_eventfd, &ev) < 0) {
        int e = errno;
        ::close(m_eventfd);
        ::close(m_epoll);
        throw std::system_error(e, std::system_category(), "epoll_ctl(eventfd)");
    }
}

epoll_driver::~epoll_driver() {
    ::close(m_eventfd);
    ::close(m_epoll);
}

void epoll_driver::add(io_registration& reg) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = &reg;
    if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, reg.fd, &ev) < 0) throw_errno("epoll_ctl(ADD)");
    m_registrations.fetch_add(1, std::memory_order_relaxed);
}

void epoll_driver::remove(io_registration& reg) noexcept {
    // ENOENT/EBADF here mean the fd was never added or is already gone: nothing to undo.
    if (::epoll_ctl(m_epoll, EPOLL_CTL_DEL, reg.fd, nullptr) == 0)
        m_registrations.fetch_sub(1, std::memory_order_relaxed);
}

int epoll_driver::poll(std::optional<std::chrono::nanoseconds> timeout) noexcept {
    int timeout_ms = -1;
    if (timeout) {
        auto ns = timeout->count();
        if (ns <= 0)
            timeout_ms = 0;
        else  // round up: waking early would only make the caller park again
            timeout_ms = int(std::min<std::int64_t>((ns + 999'999) / 1'000'000, 1 << 30));
    }
    int n = ::epoll_wait(m_epoll, m_events.data(), int(m_events.size()), timeout_ms);
    if (n < 0) return 0;  // EINTR: the caller re-evaluates and polls again
    for (int i = 0; i < n; ++i) {
        auto* reg = static_cast<io_registration*>(m_events[i].data.ptr);
        if (!reg) {
            std::uint64_t v;
            while (::read(m_eventfd, &v, sizeof v) > 0) {
            }
            m_wake_pending.store(false, std::memory_order_release);
            continue;
        }
        dispatch(*reg, m_events[i].events);
    }
    return n;
}

void epoll_driver::dispatch(io_registration& reg, std::uint32_t events) noexcept {
    std::uint32_t bits = 0;
    if (events & (EPOLLIN | EPOLLPRI)) bits |= readiness::readable;
    if (events & EPOLLOUT) bits |= readiness::writable;
    if (events & EPOLLRDHUP) bits |= readiness::read_closed;
    if (events & EPOLLHUP) bits |= readiness::read_closed | readiness::write_closed;
    if (events & EPOLLERR) bits |= readiness::error;
    std::uint32_t cur = reg.state.load(std::memory_order_relaxed);
    std::uint32_t next;
    do {
        next = ((cur + readiness::tick_one) & ~readiness::flags_mask) |
               (cur & readiness::flags_mask) | bits;
    } while (!reg.state.compare_exchange_weak(cur, next, std::memory_order_seq_cst,
                                              std::memory_order_relaxed));
    if (bits & readiness::read_mask) reg.reader.wake_if_armed();
    if (bits & readiness::write_mask) reg.writer.wake_if_armed();
}

void epoll_driver::wake() noexcept {
    if (m_wake_pending.exchange(true, std::memory_order_acq_rel)) return;
    std::uint64_t one = 1;
    // EAGAIN means the counter is saturated: a wake is pending anyway.
    [[maybe_unused]] auto r = ::write(m_eventfd, &one, sizeof one);
}

}  // namespace corio::detail
