#include "corio/runtime.hpp"

#include "runtime/current_thread_scheduler.hpp"
#include "runtime/multi_thread_scheduler.hpp"

namespace corio {

runtime::runtime(runtime_options opts)
    : m_core(std::make_unique<detail::multi_thread_scheduler>(std::move(opts))) {}

runtime::runtime(std::unique_ptr<detail::scheduler_core> core) noexcept : m_core(std::move(core)) {}

runtime runtime::current_thread(runtime_options opts) {
    return runtime(std::make_unique<detail::current_thread_scheduler>(std::move(opts)));
}

runtime::runtime(runtime&&) noexcept = default;
runtime& runtime::operator=(runtime&&) noexcept = default;
runtime::~runtime() = default;

std::size_t runtime::worker_count() const noexcept {
    return m_core ? m_core->worker_count() : 0;
}

std::size_t runtime::live_tasks() const noexcept {
    return m_core ? m_core->registry().size() : 0;
}

}  // namespace corio
