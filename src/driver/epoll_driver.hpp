#pragma once

#include <array>
#include <atomic>

#include <sys/epoll.h>

#include "driver/io_driver.hpp"

namespace corio::detail {

// Edge-triggered epoll with an eventfd for wake-ups.
class epoll_driver final : public io_driver {
public:
    epoll_driver();
    ~epoll_driver() override;
    epoll_driver(const epoll_driver&) = delete;
    epoll_driver& operator=(const epoll_driver&) = delete;

    void add(io_registration& reg) override;
    void remove(io_registration& reg) noexcept override;
    int poll(std::optional<std::chrono::nanoseconds> timeout) noexcept override;
    void wake() noexcept override;
    std::size_t registrations() const noexcept override {
        return m_registrations.load(std::memory_order_relaxed);
    }

private:
    void dispatch(io_registration& reg, std::uint32_t events) noexcept;

    int m_epoll = -1;
    int m_eventfd = -1;
    std::atomic<bool> m_wake_pending{false};
    std::atomic<std::size_t> m_registrations{0};
    // 256 events per epoll_wait: picked (mio's default is 1024; 256 fits 3 KiB on the stack).
    std::array<epoll_event, 256> m_events{};
};

}  // namespace corio::detail
