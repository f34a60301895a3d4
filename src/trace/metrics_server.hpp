// The opt-in HTTP endpoint of a runtime's observability: GET /metrics (Prometheus text),
// /dump (the task dump as text) and /dump.json. It runs on a thread of its own with a
// current-thread corio runtime, so it never appears among (or competes with) the tasks it
// reports on, and it keeps answering when every worker is blocked.
#pragma once

#include <string>
#include <thread>

#include "corio/cancel.hpp"

namespace corio::detail {

class scheduler_core;

class metrics_server {
public:
    // Binds `address` ("127.0.0.1:9090", port 0 for any) before returning; throws what the
    // bind throws (std::system_error, std::invalid_argument).
    metrics_server(scheduler_core& owner, const std::string& address);
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    const std::string& address() const noexcept { return m_address; }

private:
    scheduler_core& m_owner;
    std::string m_address;
    cancellation_token m_stop;
    std::thread m_thread;
};

}  // namespace corio::detail
